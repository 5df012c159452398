/* ---------------------------------------------------------------------------
 * principals.h: the broker's in-memory map from CURVE public key to principal.
 *
 * Two sources feed it: the public certificate files in certs_dir (metadata
 * id, name, role, state, districts, and services for a worker key) and,
 * when a database URL is given, the rows of registry.principals that are
 * not revoked. A background thread (a CZMQ actor) reads both: the directory
 * when its listing changed (looked at about every second), the table when
 * PostgreSQL announces a change (LISTEN registry_principals: the registry's
 * migration 0005; every 2 s against a registry without it), and sends the
 * merged set to the broker's thread whenever it changes; the broker's
 * thread owns the map and only ever reads memory on the request path. When the same key is in both sources, the database row
 * wins; a key revoked in the database is refused even when a certificate
 * file for it is still in certs_dir.
 * ---------------------------------------------------------------------------
 */
#ifndef TH_PRINCIPALS_H
#define TH_PRINCIPALS_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>

#include "th_wire.h"

typedef struct principals_t principals_t;

/* Starts the thread. certs_dir and db_url may be NULL (not both,
 * though nothing breaks: the map stays empty). Waits up to timeout_ms for
 * the first set (the directory and one database attempt) so that the broker
 * never starts with an empty map by accident. NULL on failure, with a
 * message in errbuf. */
principals_t *principals_new(const char *certs_dir, const char *db_url, int timeout_ms,
                             char *errbuf, size_t errlen);

/* Stops the thread and frees the map. Accepts NULL; sets *self_p to NULL. */
void principals_destroy(principals_t **self_p);

/* The socket to poll for updates (readable when a new set is waiting). */
void *principals_socket(principals_t *self);

/* Takes the waiting update (if any) and replaces the map. 0 or < 0. */
int principals_update(principals_t *self);

/* The principal with this Z85 public key, or NULL. Borrowed: valid until
 * the next principals_update. */
const th_principal_t *principals_lookup(const principals_t *self, const char *public_key);

/* Number of principals known. */
size_t principals_size(const principals_t *self);

/* True for the five roles that may call services (frontend); "worker" is
 * not one of them. */
bool principals_role_is_user(const char *role);

#endif /* TH_PRINCIPALS_H */
