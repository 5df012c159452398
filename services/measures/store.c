/* ---------------------------------------------------------------------------
 * store.c: what the measures service's store files share, and the outbox
 * filter of ListEvents (parameterized statements only; see store.h)
 * ---------------------------------------------------------------------------
 */
/* The SQL is laid out by hand, which clang-format would break apart. */
/* clang-format off */
#include "store.h"

#include "store_int.h"

PGresult *
measures_store__exec(th_call_t *call, const char *sql, int nparams, const char *const *params)
{
    th_db_t *db = th_call_db(call);
    if (db == NULL)
        return NULL;
    return th_db_exec(db, sql, nparams, params);
}

PGresult *
measures_store__exec_stmt(th_call_t *call, const th_db_stmt_t *stmt, const char *const *params)
{
    th_db_t *db = th_call_db(call);
    if (db == NULL)
        return NULL;
    return th_db_exec_stmt(db, stmt, params, NULL, NULL, 0);
}

void
measures_store_event_filter(bool records_all, const char *records_land, bool aggregates_all,
                            const char *aggregates_land, th_events_filter_t *out)
{
    /* substr(resource, 11, 2) is the Land of "districts/16068/...". */
    out->sql = "(e.resource LIKE 'indicators/%' "
               "OR ((e.topic LIKE 'measure.%' OR e.topic LIKE 'submission.%') "
               "AND e.resource LIKE 'districts/%' "
               "AND ($3::boolean OR substr(e.resource, 11, 2) = $4::text)) "
               "OR ((e.topic LIKE 'values.%' OR e.topic LIKE 'assessment.%' "
               "OR e.topic LIKE 'reach.%') AND e.resource LIKE 'districts/%' "
               "AND ($5::boolean OR substr(e.resource, 11, 2) = $6::text)))";
    out->params[0] = records_all ? "true" : "false";
    out->params[1] = records_land;
    out->params[2] = aggregates_all ? "true" : "false";
    out->params[3] = aggregates_land;
    out->n_params = 4;
}
