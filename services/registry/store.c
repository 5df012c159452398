/* ---------------------------------------------------------------------------
 * store.c: what the registry's store files share, the counts for the
 * start-up log, and the outbox filter of ListEvents (parameterized
 * statements only; see store.h for the files)
 * ---------------------------------------------------------------------------
 */
/* The SQL is laid out by hand (string pieces joined with column macros),
 * which clang-format would break apart. */
/* clang-format off */
#include "store.h"

#include "store_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "th_error.h"
#include "th_row.h"

int64_t
registry_store__i64(const PGresult *r, int row, int col)
{
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* The hot reads (GetDistrict, ListDistricts, ListStates, search) as named
 * prepared statements: parsing and planning the district query costs more
 * than executing it. Only outside a transaction, so a failed EXECUTE cannot
 * abort a write.
 *
 * Another try is made for one reason only: the statement itself is missing
 * or stale, so nothing ran. A connection that does not know it yet (new, or
 * reconnected) answers 26000 and the store prepares it; after a migration
 * changed a table's columns PostgreSQL answers 0A000 "cached plan must not
 * change result type" and the store prepares it afresh. Every other failure
 * is the answer, above all 57014: the statement was cancelled because the
 * call's deadline passed, and running it again would run past that
 * deadline. */
static bool
s_plan_stale(th_db_t *db)
{
    return strcmp(th_db_sqlstate(db), "0A000") == 0 &&
           strncmp(th_db_error(db), "cached plan must not change result type", 39) == 0;
}

PGresult *
registry_store__exec_hot(th_call_t *call, const char *name, const char *sql, int nparams,
           const char *const *params)
{
    th_db_t *db = th_call_db(call);
    if (db == NULL || th_db_in_transaction(db))
        return th_row_exec(call, sql, nparams, params);
    for (int attempt = 0;; attempt++) {
        PGresult *r = th_db_exec_prepared(db, name, nparams, params);
        if (r != NULL)
            return r;
        const bool unknown = strcmp(th_db_sqlstate(db), "26000") == 0;
        const bool stale = s_plan_stale(db);
        if ((!unknown && !stale) || attempt > 0)
            return NULL;
        if (stale) {
            /* name is a fixed identifier from this file. */
            char sql_deallocate[96];
            snprintf(sql_deallocate, sizeof sql_deallocate, "DEALLOCATE %s", name);
            PGresult *done = th_db_exec(db, sql_deallocate, 0, NULL);
            if (done == NULL)
                return NULL;
            PQclear(done);
        }
        if (th_db_prepare(db, name, sql, nparams) != 0)
            return NULL;
    }
}

int
registry_store_earliest_date(th_db_t *db, char out[11])
{
    PGresult *r = th_db_exec(
        db, "SELECT coalesce(" S_DATE("min(valid_from)") ", '') FROM registry.districts", 0,
        NULL);
    if (r == NULL)
        return TH_EDB;
    const char *v = PQgetvalue(r, 0, 0);
    const int rc = v[0] == '\0' ? TH_ENOTFOUND : 0;
    snprintf(out, 11, "%s", v);
    PQclear(r);
    return rc;
}

int
registry_store_counts(th_db_t *db, int64_t *states, int64_t *districts, int64_t *changes)
{
    PGresult *r = th_db_exec(db,
                             "SELECT (SELECT count(*) FROM registry.states), "
                             "(SELECT count(*) FROM registry.districts), "
                             "(SELECT count(*) FROM registry.territorial_changes)",
                             0, NULL);
    if (r == NULL)
        return TH_EDB;
    *states = registry_store__i64(r, 0, 0);
    *districts = registry_store__i64(r, 0, 1);
    *changes = registry_store__i64(r, 0, 2);
    PQclear(r);
    return 0;
}

void
registry_store_event_filter(bool principals, bool managers_all, const char *managers_land,
                            th_events_filter_t *out)
{
    /* A manager event's Land is its manager's (resource "managers/<id>"; a
     * manager never changes Land). */
    out->sql = "($3::boolean OR e.topic NOT LIKE 'principal.%') "
               "AND ($4::boolean OR e.topic NOT LIKE 'manager.%' OR EXISTS ("
               "SELECT 1 FROM registry.managers m WHERE e.resource LIKE 'managers/%' "
               "AND m.id = substr(e.resource, 10) AND m.state_code = $5::text))";
    out->params[0] = principals ? "true" : "false";
    out->params[1] = managers_all ? "true" : "false";
    out->params[2] = managers_land;
    out->n_params = 3;
}
