/* ---------------------------------------------------------------------------
 * events.c: ListEvents, the eligibility service's outbox as each caller may
 * read it: ruleset.published (programmes are public) for everyone;
 * decision.changed and application.set of a district for those who read
 * its Land's decisions (decisions.c's rule).
 * ---------------------------------------------------------------------------
 */
#include "eligibility.h"

#include "store.h"
#include "th_auth.h"
#include "th_events.h"
#include "th_status.h"

static const th_events_type_t s_payload_types[] = {
    {"ruleset.", "teilhabe.eligibility.v1.Programme"},
    {"decision.", "teilhabe.eligibility.v1.Decision"},
    {"application.", "teilhabe.eligibility.v1.Application"},
    {NULL, NULL},
};

static int
s_filter(th_call_t *call, void *arg, th_events_filter_t *out)
{
    (void) arg;
    const th_principal_t *p = th_call_principal(call);
    const char *land = th_auth_land(p);
    const bool analyst = th_auth_has_role(p, "analyst");
    const bool all = land[0] == '\0' && (th_auth_reads_records(p, NULL) ||
                                         (analyst && th_auth_reads_aggregates(p, NULL)));
    const bool own =
        !all && land[0] != '\0' &&
        (th_auth_reads_records(p, land) || (analyst && th_auth_reads_aggregates(p, land)));
    eligibility_store_event_filter(all, own ? land : NULL, out);
    return TH_OK;
}

static const th_events_source_t s_source = {
    .schema = ELIGIBILITY_SCHEMA,
    .filter = s_filter,
    .payload_types = s_payload_types,
    .rewrite = NULL,
    .arg = NULL,
};

ELIGIBILITY_HANDLER(eligibility_events_list)
{
    return th_events_list(call, &s_source, request, response);
}
