/* ---------------------------------------------------------------------------
 * registry.h: what the Registry's handler files share: the service's state,
 * its limits, the checks that need the registry's own data (a Land that
 * exists, an as_of the data covers, a district that exists on a date), the
 * audit-and-event record of a write, and every method's handler.
 *
 * Everything else a handler needs is the service kit in common/: the field
 * checks (th_field.h), the answers (th_answer.h), the rights and read rules
 * (th_auth.h), paging (th_page.h), ListEvents (th_events.h).
 *
 * Order inside a handler: who is calling (UNAUTHENTICATED /
 * PERMISSION_DENIED for rights that need no data), what was asked
 * (INVALID_ARGUMENT), then the data (NOT_FOUND, OUT_OF_RANGE,
 * FAILED_PRECONDITION, rights that depend on the data). Writes open the
 * call's write transaction before reading what they change, so the checks
 * and the write see the same rows; a right that depends on the data is
 * checked on an unlocked read first, so a caller without it never takes a
 * lock (managers.c).
 *
 * One file per resource: districts.c (districts and Länder), changes.c
 * (territorial changes), concepts.c, managers.c, principals.c, events.c;
 * main.c holds the table of every method. Territorial data is read through
 * reads.c, which answers from the in-memory cache (cache.h, territory.h)
 * when it can.
 * ---------------------------------------------------------------------------
 */
#ifndef REGISTRY_H
#define REGISTRY_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stdint.h>

#include "store.h"
#include "th_call.h"
#include "th_date.h"
#include "th_worker.h"

/* The schema of the registry's outbox (a fixed identifier, never input). */
#define REGISTRY_SCHEMA "registry"

/* Limits shared by several resources (registry.proto, docs/registry.md). */
#define REGISTRY_NAME_MAX 200
#define REGISTRY_PAGE_DEFAULT 100
#define REGISTRY_PAGE_MAX 500

typedef struct registry_cache_t registry_cache_t;

/* Read-only state shared by the handler threads (th_call_state), set by
 * the start-up work before the first call. */
typedef struct {
    /* The oldest date the registry can answer for ("2018-12-31"), read once
     * at start-up after seeding; "" = not known then (empty database), so
     * every as_of check asks the database. */
    char earliest[TH_DATE_LEN + 1];
    /* The territorial cache (cache.h; itself safe for every thread); NULL =
     * none (--seed-only), every read goes to the database. */
    registry_cache_t *cache;
} registry_handlers_state_t;

/* --- territorial reads (reads.c) ------------------------------------------ */

/* The store's reads of the same names (store.h), answered from the
 * territorial cache when it can vouch for its snapshot, else by the
 * store: the same answers, the same returns (TH_ENOTFOUND, TH_EDB), in
 * call memory. A write that changes the territory reads through the store
 * in its transaction instead (changes.c). */
int registry_read_district(th_call_t *call, const char *ags, const char *as_of,
                           registry_district_t **out);
int registry_read_districts(th_call_t *call, const registry_district_filter_t *filter,
                            registry_district_t ***out, size_t *n, int *total);
int registry_read_search(th_call_t *call, const char *key, const char *as_of,
                         bool include_ended, int limit, registry_district_t ***out,
                         size_t *n);
int registry_read_states(th_call_t *call, const char *as_of, registry_state_t ***out,
                         size_t *n);
int registry_read_state_exists(th_call_t *call, const char *code, bool *exists);
int registry_read_changes(th_call_t *call, const char *ags, registry_change_t ***out,
                          size_t *n);

/* --- checks on the registry's own data ------------------------------------ */

/* A Land code (th_field_land) that the registry holds; "" is accepted when
 * allow_empty. */
int registry_check_state(th_call_t *call, const char *field, const char *code,
                         bool allow_empty);

/* Resolves as_of ("" = today) into out; OUT_OF_RANGE, naming that date,
 * before the oldest territorial status the registry holds. */
int registry_as_of(th_call_t *call, const char *field, const char *as_of,
                   char out[TH_DATE_LEN + 1]);

/* The district ags must be known (else INVALID_ARGUMENT) and exist on date
 * (else NOT_FOUND, naming the successor when it has one). */
int registry_district_on(th_call_t *call, const char *field, const char *ags,
                         const char *date, registry_district_t **out);

/* The district ags as recorded (any date); INVALID_ARGUMENT naming field
 * when no district has it. */
int registry_district_known(th_call_t *call, const char *field, const char *ags,
                            registry_district_t **out);

/* --- writes ------------------------------------------------------------- */

/* Writes go through th_call.h: TH_CALL_BEGIN_WRITE, then th_call_record
 * for the audit row (before and after, whole) and the outbox event, whose
 * payload is after itself or a copy without personal data (events carry
 * ids, not contacts). */

/* --- the handlers (th_method_fn) ------------------------------------------ */

#define REGISTRY_HANDLER(name)                                                             \
    int name(th_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **response)

/* districts.c */
REGISTRY_HANDLER(registry_get_district);
REGISTRY_HANDLER(registry_list_districts);
REGISTRY_HANDLER(registry_search_districts);
REGISTRY_HANDLER(registry_list_states);
/* changes.c */
REGISTRY_HANDLER(registry_get_history);
REGISTRY_HANDLER(registry_record_change);
/* concepts.c */
REGISTRY_HANDLER(registry_set_concept);
REGISTRY_HANDLER(registry_get_concept);
REGISTRY_HANDLER(registry_list_concepts);
REGISTRY_HANDLER(registry_list_concept_versions);
/* managers.c */
REGISTRY_HANDLER(registry_managers_create);
REGISTRY_HANDLER(registry_managers_update);
REGISTRY_HANDLER(registry_managers_get);
REGISTRY_HANDLER(registry_managers_assign);
REGISTRY_HANDLER(registry_managers_unassign);
REGISTRY_HANDLER(registry_managers_list);
REGISTRY_HANDLER(registry_managers_check_assignment);
/* principals.c */
REGISTRY_HANDLER(registry_principals_create);
REGISTRY_HANDLER(registry_principals_list);
REGISTRY_HANDLER(registry_principals_revoke);
/* events.c */
REGISTRY_HANDLER(registry_events_list);

/* managers.c: clears name, email, phone and principal_id of m (the
 * pointers are replaced, nothing is freed) and sets
 * personal_data_withheld (th_auth_reads_personal said WITHHELD, or the
 * record goes into an event). */
void registry_managers_withhold(registry_manager_t *m);

#endif /* REGISTRY_H */
