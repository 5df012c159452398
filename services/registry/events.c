/* ---------------------------------------------------------------------------
 * events.c: ListEvents, the registry's outbox as each caller may read it
 * (th_events.h does the reading; this file says what the registry's events
 * are and who reads which).
 *
 * A caller reads the events of what it may read (docs/registry.md, "Who
 * reads what"): principal.* the admin only; manager.* those who may read
 * that Land's manager records (th_auth_reads_personal); district,
 * territorial change and concept events everyone. Events carry ids, not
 * contacts: a Manager payload never holds a name, e-mail, phone or
 * principal id on the way out, also when it was written into the outbox
 * with them (before the registry withheld them at write time; the outbox is
 * never rewritten, since migrations are forward-only and payloads are
 * protobuf bytes).
 * ---------------------------------------------------------------------------
 */
#include "registry.h"

#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include "teilhabe/v1/registry.pb-c.h"
#include "th_auth.h"
#include "th_events.h"
#include "th_log.h"
#include "th_status.h"

/* manager.assigned / .unassigned carry an Assignment, the rest of
 * manager.* a Manager: the exact topics come first. */
static const th_events_type_t s_payload_types[] = {
    {"state.", "teilhabe.registry.v1.State"},
    {"district.", "teilhabe.registry.v1.District"},
    {"territorial_change.", "teilhabe.registry.v1.TerritorialChange"},
    {"concept.", "teilhabe.registry.v1.Concept"},
    {"manager.assigned", "teilhabe.registry.v1.Assignment"},
    {"manager.unassigned", "teilhabe.registry.v1.Assignment"},
    {"manager.", "teilhabe.registry.v1.Manager"},
    {"principal.", "teilhabe.registry.v1.Principal"},
    {NULL, NULL},
};

/* Which events the caller may read, from the same rules as the reads. */
static int
s_filter(th_call_t *call, void *arg, th_events_filter_t *out)
{
    (void) arg;
    const th_principal_t *p = th_call_principal(call);
    const char *land = th_auth_land(p);
    const bool all = th_auth_reads_personal(p, NULL, NULL) != TH_AUTH_DENIED;
    const bool own = !all && land[0] != '\0' &&
                     th_auth_reads_personal(p, land, NULL) != TH_AUTH_DENIED;
    registry_store_event_filter(th_auth_has_role(p, "admin"), all, own ? land : NULL, out);
    return TH_OK;
}

/* Rewrites the Manager payload of e without personal data (call memory). A
 * payload that does not parse cannot be vouched for and goes out empty. */
static void
s_rewrite(th_call_t *call, void *arg, th_event_t *e)
{
    (void) arg;
    if (strcmp(e->topic, "manager.created") != 0 && strcmp(e->topic, "manager.updated") != 0)
        return;
    Teilhabe__Registry__V1__Manager *m =
        teilhabe__registry__v1__manager__unpack(NULL, e->payload.len, e->payload.data);
    e->payload.data = NULL;
    e->payload.len = 0;
    if (m == NULL) {
        char topic[TH_LOG_QUOTE_SIZE];
        th_log_warn(th_call_id(call), "event payload does not parse; handed out empty",
                    "sequence=%" PRId64 " topic=%s", e->sequence,
                    th_log_quote(topic, sizeof topic, e->topic));
        return;
    }
    /* A shallow copy points into m, which is freed once the copy is packed. */
    registry_manager_t copy = *m;
    copy.assignments = NULL;
    copy.n_assignments = 0;
    registry_managers_withhold(&copy);
    const size_t len = teilhabe__registry__v1__manager__get_packed_size(&copy);
    if (len > 0) {
        e->payload.data = th_call_alloc(call, len);
        e->payload.len = teilhabe__registry__v1__manager__pack(&copy, e->payload.data);
    }
    teilhabe__registry__v1__manager__free_unpacked(m, NULL);
}

static const th_events_source_t s_source = {
    .schema = REGISTRY_SCHEMA,
    .filter = s_filter,
    .payload_types = s_payload_types,
    .rewrite = s_rewrite,
    .arg = NULL,
};

REGISTRY_HANDLER(registry_events_list)
{
    return th_events_list(call, &s_source, request, response);
}
