/* ---------------------------------------------------------------------------
 * cache.h: the registry's territorial cache: the Länder, the districts with
 * their dated figures and the territorial changes, in memory, kept true
 * with PostgreSQL's LISTEN/NOTIFY.
 *
 * A thread of its own holds one connection that LISTENs on channel
 * registry_territory. Every transaction that changes the territory
 * (RecordTerritorialChange, seeding, or anyone's SQL) bumps
 * registry.territory_version and notifies that channel with the new
 * version, in the same transaction (migration 0004), so the notification
 * arrives when the change commits. The thread then loads the whole
 * territory again in one snapshot and swaps it in.
 *
 * The rule that keeps it true: a handler gets the snapshot only while the
 * listening connection is up and no version newer than the snapshot's has
 * been announced (by a notification, or by this instance's own write,
 * registry_cache_expect); otherwise it reads the database, as without a
 * cache. So an instance answers a committed change as soon as its
 * notification has arrived, and never from a snapshot it cannot vouch for:
 * while the connection is lost, and from when a notification arrives
 * until the new snapshot is in. When the connection is back the thread
 * LISTENs first and then compares the version: it loads again only when
 * the version moved meanwhile.
 *
 * Handlers never block each other: taking a reference is a read lock held
 * for one pointer copy and a counter increment, and the swap takes the
 * write lock for one pointer assignment (territory.h: snapshots are
 * immutable and freed with their last reference).
 * ---------------------------------------------------------------------------
 */
#ifndef REGISTRY_CACHE_H
#define REGISTRY_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "territory.h"

typedef struct registry_cache_t registry_cache_t;

/* The channel the territory's changes are announced on (migration 0004). */
#define REGISTRY_CACHE_CHANNEL "registry_territory"
/* The application_name of the cache's connection (pg_stat_activity). */
#define REGISTRY_CACHE_APPLICATION "teilhabe-registry-cache"

/* Starts the cache's thread, which connects to db_url (libpq conninfo),
 * LISTENs and loads the territory; until it has, every acquire says NULL.
 * NULL when the thread could not be started, with errbuf saying why. */
registry_cache_t *registry_cache_new(const char *db_url, char *errbuf, size_t errlen);

/* Stops the thread (at once, or after the statement under way, at most its
 * statement_timeout) and drops the cache's snapshot; snapshots handlers
 * still hold stay theirs. Accepts NULL; sets *self_p to NULL. */
void registry_cache_destroy(registry_cache_t **self_p);

/* The current snapshot with a reference for the caller (drop it with
 * registry_territory_unref), or NULL when it cannot be vouched for: not
 * loaded yet, the listening connection lost, or a newer version announced
 * and not yet loaded. NULL means: read the database. Any thread. */
const registry_territory_t *registry_cache_acquire(registry_cache_t *self);

/* A write of this instance changed the territory; committed, it will be
 * version (registry_store_territory_version in its transaction). Until a
 * snapshot of that version is in, acquire says NULL, so this instance
 * answers its own change from the moment its caller can know of it. Should
 * the write roll back, a second later the cache finds the version never
 * came and trusts its snapshot again. Accepts NULL. */
void registry_cache_expect(registry_cache_t *self, int64_t version);

#endif /* REGISTRY_CACHE_H */
