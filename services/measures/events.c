/* ---------------------------------------------------------------------------
 * events.c: ListEvents, the measures service's outbox as each caller may
 * read it (th_events.h does the reading; this file says what the events
 * are and who reads which).
 *
 * A caller reads the events of what it may read (docs/measures.md, "Who
 * reads what"): events about a district's measures and submissions those
 * who read that Land's records (th_auth_reads_records), events about its
 * indicator values, self-assessment and reach those who read its
 * aggregates (th_auth_reads_aggregates), events about the indicator
 * catalogue everyone.
 * ---------------------------------------------------------------------------
 */
#include "measures.h"

#include <string.h>

#include "store.h"
#include "th_auth.h"
#include "th_events.h"
#include "th_status.h"

static const th_events_type_t s_payload_types[] = {
    {"measure.", "teilhabe.measures.v1.Measure"},
    {"indicator.", "teilhabe.measures.v1.Indicator"},
    {"values.", "teilhabe.measures.v1.DistrictValues"},
    {"assessment.", "teilhabe.measures.v1.Assessment"},
    {"reach.", "teilhabe.measures.v1.Reach"},
    {"submission.", "teilhabe.measures.v1.Submission"},
    {NULL, NULL},
};

/* Which events the caller may read, from the same rules as the reads. */
static int
s_filter(th_call_t *call, void *arg, th_events_filter_t *out)
{
    (void) arg;
    const th_principal_t *p = th_call_principal(call);
    const char *land = th_auth_land(p);
    const bool records_all = th_auth_reads_records(p, NULL);
    const bool records_own =
        !records_all && land[0] != '\0' && th_auth_reads_records(p, land);
    /* th_auth_reads_aggregates(p, NULL) asks for federal aggregates, which
     * a ministry reads too; the values of every Land's districts are read
     * only by a caller without a Land who reads aggregates at all. */
    const bool aggregates_all = land[0] == '\0' && th_auth_reads_aggregates(p, NULL);
    const bool aggregates_own =
        !aggregates_all && land[0] != '\0' && th_auth_reads_aggregates(p, land);
    measures_store_event_filter(records_all, records_own ? land : NULL, aggregates_all,
                                aggregates_own ? land : NULL, out);
    return TH_OK;
}

static const th_events_source_t s_source = {
    .schema = MEASURES_SCHEMA,
    .filter = s_filter,
    .payload_types = s_payload_types,
    .rewrite = NULL,
    .arg = NULL,
};

MEASURES_HANDLER(measures_events_list)
{
    return th_events_list(call, &s_source, request, response);
}
