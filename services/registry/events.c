/* ---------------------------------------------------------------------------
 * events.c: ListEvents, the outbox read by consumers that keep their
 * checkpoint (last_sequence) themselves.
 *
 * A caller reads the events of what it may read (docs/registry.md, "Who
 * reads what"): principal.* the admin only; manager.* those who may read
 * that Land's manager records (the read rule in managers.c); district,
 * territorial change and concept events everyone. Events carry ids, not
 * contacts: a Manager payload never holds a name, e-mail, phone or
 * principal id on the way out, also when it was written into the outbox
 * with them (before the registry withheld them at write time; the outbox is
 * never rewritten, since migrations are forward-only and payloads are
 * protobuf bytes).
 * ---------------------------------------------------------------------------
 */
#include "events.h"

#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include "checks.h"
#include "managers.h"
#include "store.h"
#include "teilhabe/v1/registry.pb-c.h"
#include "th_auth.h"
#include "th_log.h"
#include "th_status.h"

#define S_EVENTS_DEFAULT 100
#define S_EVENTS_MAX 1000

static const char *
s_payload_type(const char *topic)
{
    if (strncmp(topic, "state.", 6) == 0)
        return "teilhabe.registry.v1.State";
    if (strncmp(topic, "district.", 9) == 0)
        return "teilhabe.registry.v1.District";
    if (strncmp(topic, "territorial_change.", 19) == 0)
        return "teilhabe.registry.v1.TerritorialChange";
    if (strncmp(topic, "concept.", 8) == 0)
        return "teilhabe.registry.v1.Concept";
    if (strcmp(topic, "manager.assigned") == 0 || strcmp(topic, "manager.unassigned") == 0)
        return "teilhabe.registry.v1.Assignment";
    if (strncmp(topic, "manager.", 8) == 0)
        return "teilhabe.registry.v1.Manager";
    if (strncmp(topic, "principal.", 10) == 0)
        return "teilhabe.registry.v1.Principal";
    return "";
}

/* Which events the caller may read, from the same rules as the reads. */
static registry_event_filter_t
s_filter(const th_principal_t *p)
{
    registry_event_filter_t filter = {
        .principals = th_auth_has_role(p, "admin"),
        .managers_all = false,
        .managers_land = NULL,
    };
    const char *scope = p->state_scope != NULL ? p->state_scope : "";
    if (registry_managers_read(p, NULL, NULL) != REGISTRY_MANAGER_DENIED)
        filter.managers_all = true;
    else if (scope[0] != '\0' &&
             registry_managers_read(p, scope, NULL) != REGISTRY_MANAGER_DENIED)
        filter.managers_land = scope;
    return filter;
}

/* Rewrites the Manager payload of e without personal data (call memory). A
 * payload that does not parse cannot be vouched for and goes out empty. */
static void
s_withhold_payload(th_call_t *call, registry_event_t *e)
{
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

int
registry_events_list(th_call_t *call, const ProtobufCMessage *request,
                     ProtobufCMessage **response)
{
    const Teilhabe__Registry__V1__ListEventsRequest *req = (const void *) request;
    int limit = 0, rc;
    if ((rc = registry_need_principal(call)) != TH_OK)
        return rc;
    if (req->after_sequence < 0)
        return registry_invalid(call, "after_sequence", "must be 0 or a sequence number");
    if ((rc = registry_page_size(call, "limit", req->limit, S_EVENTS_DEFAULT, S_EVENTS_MAX,
                                 &limit)) != TH_OK)
        return rc;
    const registry_event_filter_t filter = s_filter(th_call_principal(call));
    Teilhabe__Registry__V1__ListEventsResponse *resp = th_call_alloc(call, sizeof *resp);
    teilhabe__registry__v1__list_events_response__init(resp);
    if (registry_store_list_events(call, req->after_sequence, limit, &filter, &resp->events,
                                   &resp->n_events) != 0)
        return registry_db_fail(call, "list the events");
    resp->last_sequence = req->after_sequence;
    for (size_t i = 0; i < resp->n_events; i++) {
        registry_event_t *e = resp->events[i];
        e->payload_type = (char *) s_payload_type(e->topic);
        if (strcmp(e->topic, "manager.created") == 0 ||
            strcmp(e->topic, "manager.updated") == 0)
            s_withhold_payload(call, e);
        resp->last_sequence = e->sequence;
    }
    *response = &resp->base;
    return TH_OK;
}
