/* ---------------------------------------------------------------------------
 * th_events.c: ListEvents over a service's outbox (see th_events.h)
 * ---------------------------------------------------------------------------
 */
#include "th_events.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "th_answer.h"
#include "th_auth.h"
#include "th_db.h"
#include "th_page.h"
#include "th_row.h"
#include "th_status.h"

/* A schema name is a fixed identifier of the service's code; checked all
 * the same, since it becomes part of the statement. */
static bool
s_identifier(const char *s)
{
    if (s == NULL || s[0] == '\0' || strlen(s) > 63)
        return false;
    for (const char *p = s; *p != '\0'; p++) {
        if (!((*p >= 'a' && *p <= 'z') || *p == '_' || (p > s && *p >= '0' && *p <= '9')))
            return false;
    }
    return true;
}

const char *
th_events_payload_type(const th_events_type_t *table, const char *topic)
{
    for (size_t i = 0; table != NULL && table[i].topic != NULL; i++) {
        const size_t len = strlen(table[i].topic);
        const bool prefix = len > 0 && table[i].topic[len - 1] == '.';
        if (prefix ? strncmp(topic, table[i].topic, len) == 0
                   : strcmp(topic, table[i].topic) == 0)
            return table[i].type;
    }
    return "";
}

int
th_events_list(th_call_t *call, const th_events_source_t *source,
               const ProtobufCMessage *request, ProtobufCMessage **response)
{
    const Teilhabe__Events__V1__ListEventsRequest *req = (const void *) request;
    int rc;
    if ((rc = th_auth_need_principal(call)) != TH_OK)
        return rc;
    if (req->after_sequence < 0)
        return th_answer_invalid(call, "after_sequence", "must be 0 or a sequence number");
    /* A page of events is a keyset page whose key is after_sequence: no
     * token, since the sequence is the consumer's own checkpoint. */
    th_page_t page;
    const th_page_request_t pr = {.list = "ListEvents",
                                  .page_size = req->limit,
                                  .default_size = TH_EVENTS_DEFAULT,
                                  .max_size = TH_EVENTS_MAX,
                                  .size_field = "limit",
                                  .page_token = ""};
    if ((rc = th_page_begin(call, &pr, &page)) != TH_OK)
        return rc;
    th_events_filter_t filter = {.sql = NULL, .n_params = 0};
    if (source->filter != NULL && (rc = source->filter(call, source->arg, &filter)) != TH_OK)
        return rc;
    if (!s_identifier(source->schema) || filter.n_params < 0 ||
        filter.n_params > TH_EVENTS_MAX_PARAMS)
        return th_call_error(call, TH_INTERNAL, "the service's outbox is misconfigured");
    const char *sql = th_call_printf(
        call,
        "SELECT e.sequence, e.topic, e.resource, to_char(e.created_at AT TIME ZONE 'UTC', "
        "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS create_time, e.payload FROM %s.events e "
        "WHERE e.sequence > $1::bigint AND (%s) ORDER BY e.sequence LIMIT $2::int",
        source->schema, filter.sql != NULL ? filter.sql : "true");
    char after[24], limit[16];
    snprintf(after, sizeof after, "%" PRId64, req->after_sequence);
    snprintf(limit, sizeof limit, "%d", page.size);
    const char *params[2 + TH_EVENTS_MAX_PARAMS] = {after, limit};
    for (int i = 0; i < filter.n_params; i++)
        params[2 + i] = filter.params[i];
    th_db_t *db = th_call_db(call);
    PGresult *r = db != NULL ? th_db_exec(db, sql, 2 + filter.n_params, params) : NULL;
    if (r == NULL)
        return th_answer_db_failure(call, "list the events");
    Teilhabe__Events__V1__ListEventsResponse *resp = th_call_alloc(call, sizeof *resp);
    teilhabe__events__v1__list_events_response__init(resp);
    resp->events = (th_event_t **) th_row_all(call, &teilhabe__events__v1__event__descriptor, r,
                                              &resp->n_events);
    PQclear(r);
    resp->last_sequence = req->after_sequence;
    for (size_t i = 0; i < resp->n_events; i++) {
        th_event_t *e = resp->events[i];
        e->payload_type = (char *) th_events_payload_type(source->payload_types, e->topic);
        if (source->rewrite != NULL)
            source->rewrite(call, source->arg, e);
        resp->last_sequence = e->sequence;
    }
    *response = &resp->base;
    return TH_OK;
}
