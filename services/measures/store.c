/* ---------------------------------------------------------------------------
 * store.c: the outbox filter of ListEvents (see store.h); the store files
 * run their statements with th_row_exec and read rows with th_row_take_*
 * (th_row.h)
 * ---------------------------------------------------------------------------
 */
/* The SQL is laid out by hand, which clang-format would break apart. */
/* clang-format off */
#include "store.h"

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
