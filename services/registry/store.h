/* ---------------------------------------------------------------------------
 * store.h: every SQL statement of the registry, in one place.
 *
 * The handlers validate and authorize; the store reads and writes the
 * registry schema with parameterized statements only. Its columns are named
 * after the fields of the messages they fill (th_row.h maps them). Functions
 * that build messages for a reply take the call and allocate from its
 * memory (th_call_alloc), so nothing they return needs freeing. Seeding
 * runs before any call exists and takes the connection instead.
 *
 * Files: store.c (what they share, the counts, the event filter),
 * store_districts.c (districts, Länder, territorial changes, seeding),
 * store_concepts.c, store_managers.c, store_principals.c.
 *
 * Returns: 0; TH_ENOTFOUND when the row does not exist; TH_ESTATE when a
 * conditional write found the row changed (stale version, already ended,
 * already revoked); TH_EDB when the database failed (th_db_status(db) then
 * says how).
 * ---------------------------------------------------------------------------
 */
#ifndef REGISTRY_STORE_H
#define REGISTRY_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "teilhabe/v1/registry.pb-c.h"
#include "th_db.h"
#include "th_events.h"
#include "th_worker.h"

typedef Teilhabe__Registry__V1__State registry_state_t;
typedef Teilhabe__Registry__V1__District registry_district_t;
typedef Teilhabe__Registry__V1__TerritorialChange registry_change_t;
typedef Teilhabe__Registry__V1__Concept registry_concept_t;
typedef Teilhabe__Registry__V1__Manager registry_manager_t;
typedef Teilhabe__Registry__V1__Assignment registry_assignment_t;
typedef Teilhabe__Registry__V1__Principal registry_principal_t;

/* --- seeding (before any call; caller holds the transaction) ------------ */

typedef struct {
    const char *ags;
    const char *state_code;
    const char *name;
    const char *official_kind;
    const char *kind; /* "landkreis" | "kreisfreie_stadt" */
    const char *nuts3;
    const char *area_km2; /* decimal text, checked by the loader */
    int64_t population;
    int64_t population_male;
    int64_t population_female;
    int64_t population_per_km2;
    const char *population_date; /* "2018-12-31" */
    const char *valid_from;      /* also the first day of these figures */
    const char *search_key;
    const char *search_key_expanded;
} registry_seed_district_t;

/* Insert unless present (ON CONFLICT DO NOTHING); *inserted says which. A
 * district is inserted with its figures from valid_from on. */
int registry_store_seed_state(th_db_t *db, const char *code, const char *name,
                              bool *inserted);
int registry_store_seed_district(th_db_t *db, const registry_seed_district_t *d,
                                 bool *inserted);

/* The district ags with its figures on as_of (NULL = the latest) into out,
 * whose strings point into *result: the caller PQclears it when done with
 * out. TH_ENOTFOUND when ags is unknown (*result NULL then). */
int registry_store_seed_read_district(th_db_t *db, const char *ags, const char *as_of,
                                      registry_district_t *out, PGresult **result);

/* Records a merge from the shipped data unless that district already has a
 * recorded change: ends the district the day before effective and moves its
 * figures into the successor's. When it recorded the change, *result holds
 * the row out points into (the caller PQclears it); NULL when the change was
 * recorded before and nothing was written. */
int registry_store_seed_change(th_db_t *db, const char *effective, const char *kind,
                               const char *ags, const char *successor_ags, const char *note,
                               registry_change_t *out, PGresult **result);

/* The oldest date the registry can answer for (min valid_from) into out.
 * TH_ENOTFOUND when no district is loaded. */
int registry_store_earliest_date(th_db_t *db, char out[11]);

/* Number of districts / states / territorial changes (for seed logs). */
int registry_store_counts(th_db_t *db, int64_t *states, int64_t *districts,
                          int64_t *changes);

/* --- districts and states ----------------------------------------------- */

/* The district as recorded, whatever its validity, with its figures
 * (area, population, density, settlement type) of as_of: those valid then,
 * for a district that ended before as_of its last, for one that began after
 * it its first; as_of NULL = its latest. */
int registry_store_get_district(th_call_t *call, const char *ags, const char *as_of,
                                registry_district_t **out);

typedef struct {
    const char *as_of;           /* required */
    const char *state_code;      /* NULL = any */
    const char *kind;            /* NULL = any */
    const char *settlement_type; /* NULL = any */
    const char *after_ags;       /* NULL = from the start (page token) */
    int limit;
} registry_district_filter_t;

/* Districts existing on as_of with their figures of as_of, by AGS; *total
 * counts all pages. */
int registry_store_list_districts(th_call_t *call, const registry_district_filter_t *filter,
                                  registry_district_t ***out, size_t *n, int *total);

/* Districts whose folded name contains key (or whose AGS starts with it). */
int registry_store_search_districts(th_call_t *call, const char *key, const char *as_of,
                                    bool include_ended, int limit,
                                    registry_district_t ***out, size_t *n);

/* Every Land with its districts on as_of: their number, the sum of their
 * population and its reference date (the oldest of theirs; "" for none). */
int registry_store_list_states(th_call_t *call, const char *as_of, registry_state_t ***out,
                               size_t *n);
int registry_store_state_exists(th_call_t *call, const char *code, bool *exists);

/* Changes where ags ended or that merged into ags, by effective date. */
int registry_store_list_changes(th_call_t *call, const char *ags, registry_change_t ***out,
                                size_t *n);

/* Locks both districts (FOR UPDATE, in AGS order so two writers cannot
 * deadlock). TH_ENOTFOUND when either is missing. */
int registry_store_lock_districts(th_call_t *call, const char *a, const char *b);

/* Records a merge: ends ags on the day before effective with successor and
 * moves its area and population into the successor's figures from effective
 * on. TH_ESTATE when ags has already ended. */
int registry_store_record_change(th_call_t *call, const char *effective, const char *kind,
                                 const char *ags, const char *successor_ags,
                                 const char *note, const char *by, registry_change_t **out);

/* --- the territory, whole, for the cache (cache.c, territory.c) ---------- */

/* Everything territorial, read in one database snapshot. */
typedef struct {
    int64_t version;     /* registry.territory_version at that snapshot */
    PGresult *states;    /* code, name */
    PGresult *districts; /* one row per district and figures status: the
                          * columns of District (figures of that status),
                          * then figures_valid_to, search_key,
                          * search_key_expanded */
    PGresult *changes;   /* the columns of TerritorialChange */
} registry_territory_rows_t;

/* Reads rows in one REPEATABLE READ READ ONLY transaction on conn, which
 * belongs to the caller (blocking; its statement_timeout bounds each
 * statement). 0, or TH_EDB with the reason in errbuf (rows empty then,
 * the transaction rolled back). */
int registry_store_territory_load(PGconn *conn, registry_territory_rows_t *rows,
                                  char *errbuf, size_t errlen);

/* Clears the results of rows (accepts empty ones). */
void registry_store_territory_rows_clear(registry_territory_rows_t *rows);

/* The territory version as the call's write transaction sees it: after a
 * change of its own, the version that change will have once committed. */
int registry_store_territory_version(th_call_t *call, int64_t *version);

/* --- concepts ----------------------------------------------------------- */

/* version 0 = the current one. */
int registry_store_get_concept(th_call_t *call, const char *ags, int64_t version,
                               registry_concept_t **out);

/* Marks version of ags as no longer current. TH_ESTATE when it is not the
 * current version any more (a concurrent writer won). */
int registry_store_retire_concept(th_call_t *call, const char *ags, int64_t version);

/* Inserts c as the current version `version` of c->ags. TH_ESTATE when that
 * version exists (a concurrent creator won). */
int registry_store_insert_concept(th_call_t *call, const registry_concept_t *c,
                                  int64_t version, const char *by,
                                  registry_concept_t **out);

/* The current concepts (as_of NULL), or per district the concept in force
 * on as_of: the latest version adopted on or before it. By AGS. */
int registry_store_list_concepts(th_call_t *call, const char *state_code,
                                 const char *orientation, const char *as_of,
                                 const char *after_ags, int limit,
                                 registry_concept_t ***out, size_t *n);
/* Versions of ags below before_version (0 = all), newest first. */
int registry_store_list_concept_versions(th_call_t *call, const char *ags,
                                         int64_t before_version, int limit,
                                         registry_concept_t ***out, size_t *n);

/* --- managers ----------------------------------------------------------- */

int registry_store_create_manager(th_call_t *call, const registry_manager_t *m,
                                  registry_manager_t **out);
/* Without assignments; for_update locks the row. */
int registry_store_get_manager(th_call_t *call, const char *id, bool for_update,
                               registry_manager_t **out);
/* Writes m (all writable fields) when the stored version is version.
 * TH_ESTATE when it is not; TH_ENOTFOUND when the manager does not exist. */
int registry_store_update_manager(th_call_t *call, const registry_manager_t *m,
                                  int64_t version, registry_manager_t **out);
/* Assignments of manager_id active on as_of (NULL = all), by AGS, from. */
int registry_store_list_assignments(th_call_t *call, const char *manager_id,
                                    const char *as_of, registry_assignment_t ***out,
                                    size_t *n);
/* True when manager_id has an assignment to ags overlapping [from, to]
 * (to NULL = open). */
int registry_store_assignment_overlaps(th_call_t *call, const char *manager_id,
                                       const char *ags, const char *from, const char *to,
                                       bool *overlaps);
int registry_store_insert_assignment(th_call_t *call, const char *manager_id,
                                     const char *ags, const char *from, const char *to,
                                     registry_assignment_t **out);
/* The assignment of manager_id to ags active on date, locked. */
int registry_store_active_assignment(th_call_t *call, const char *manager_id,
                                     const char *ags, const char *date,
                                     registry_assignment_t **out);
int registry_store_end_assignment(th_call_t *call, int64_t id, const char *end_date,
                                  registry_assignment_t **out);
typedef struct {
    const char *state_code; /* NULL = every Land */
    const char *ags;        /* NULL = any; else managers assigned to ags on as_of */
    const char *as_of;      /* required */
    const char *after_id;   /* NULL = from the start; else after this manager (page key) */
    int limit;
} registry_manager_filter_t;

/* ags != NULL: managers assigned to ags on as_of; else managers of
 * state_code (NULL = all). Ordered by name, id, after the manager after_id
 * (by its name and id now). Each with its assignments active on as_of (by
 * AGS, from), all read in one statement. */
int registry_store_list_managers(th_call_t *call, const registry_manager_filter_t *filter,
                                 registry_manager_t ***out, size_t *n);
/* True when a manager linked to principal_id is assigned to ags on date. */
int registry_store_principal_covers(th_call_t *call, const char *principal_id,
                                    const char *ags, const char *date, bool *covers);

/* --- principals --------------------------------------------------------- */

/* *conflict receives "id", "public_key" or NULL. */
int registry_store_principal_conflict(th_call_t *call, const char *id,
                                      const char *public_key, const char **conflict);
int registry_store_create_principal(th_call_t *call, const registry_principal_t *p,
                                    registry_principal_t **out);
int registry_store_get_principal(th_call_t *call, const char *id,
                                 registry_principal_t **out);
int registry_store_list_principals(th_call_t *call, bool include_revoked, const char *role,
                                   const char *after_id, int limit,
                                   registry_principal_t ***out, size_t *n);
/* TH_ESTATE when already revoked; TH_ENOTFOUND when unknown. */
int registry_store_revoke_principal(th_call_t *call, const char *id,
                                    registry_principal_t **out);

/* --- events ------------------------------------------------------------- */

/* The condition ListEvents reads the outbox with (th_events.h): the
 * principal.* topics only when principals; the manager.* topics of every
 * Land when managers_all, else those of managers_land (NULL = none). */
void registry_store_event_filter(bool principals, bool managers_all,
                                 const char *managers_land, th_events_filter_t *out);

#endif /* REGISTRY_STORE_H */
