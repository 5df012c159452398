/* ---------------------------------------------------------------------------
 * th_events.h: ListEvents, the same for every service.
 *
 * A service's outbox (<schema>.events: sequence, topic, resource, payload,
 * created_at; common/migrations, th_call_emit) read in sequence order, a
 * page of `limit` events after `after_sequence`
 * (teilhabe.events.v1.ListEventsRequest, proto/teilhabe/v1/events.proto).
 * The service says three things about its own events:
 *   - which a caller may read: a condition on the outbox row `e`, fixed SQL
 *     text from the service's store with its parameters, evaluated in the
 *     query (so a page holds `limit` readable events whenever that many
 *     follow, and an empty page means "caught up");
 *   - the payload type of each topic;
 *   - optionally, a rewrite of each event on its way out (withholding
 *     personal data a payload was once written with).
 * The handler of a service is then one line:
 *     return th_events_list(call, &s_source, request, response);
 * ---------------------------------------------------------------------------
 */
#ifndef TH_EVENTS_H
#define TH_EVENTS_H

#include <protobuf-c/protobuf-c.h>

#include "teilhabe/v1/events.pb-c.h"
#include "th_call.h"

#define TH_EVENTS_DEFAULT 100
#define TH_EVENTS_MAX 1000
#define TH_EVENTS_MAX_PARAMS 6

typedef Teilhabe__Events__V1__Event th_event_t;

/* Which events a caller may read. */
typedef struct {
    /* A condition on the outbox row e, fixed text from the service's code
     * (never input), its parameters numbered from $3; NULL = every event. */
    const char *sql;
    const char *params[TH_EVENTS_MAX_PARAMS]; /* text; NULL = SQL NULL */
    int n_params;
} th_events_filter_t;

/* A topic and the full name of its payload's type. A topic ending in "."
 * is a prefix ("measure." for measure.created, .updated, ...), any other
 * is matched whole; the first entry that matches wins, so an exact topic
 * goes before the prefix it shares ("manager.assigned" before "manager."). */
typedef struct {
    const char *topic;
    const char *type;
} th_events_type_t;

/* The type of topic by table (ends with {NULL, NULL}); "" when none. */
const char *th_events_payload_type(const th_events_type_t *table, const char *topic);

typedef struct {
    const char *schema; /* "registry": the outbox is registry.events */
    /* Fills *out for the call's principal. TH_OK, or a status already
     * recorded on the call (PERMISSION_DENIED, ...). NULL: every event. */
    int (*filter)(th_call_t *call, void *arg, th_events_filter_t *out);
    /* The payload types of the topics (NULL: "" for every event). */
    const th_events_type_t *payload_types;
    /* May change an event before it goes out (NULL: none). */
    void (*rewrite)(th_call_t *call, void *arg, th_event_t *event);
    void *arg;
} th_events_source_t;

/* The ListEvents handler body: needs an authenticated caller, checks
 * after_sequence (0 or more) and limit (0 = TH_EVENTS_DEFAULT, at most
 * TH_EVENTS_MAX; INVALID_ARGUMENT naming the field), reads the page and
 * answers a ListEventsResponse. */
int th_events_list(th_call_t *call, const th_events_source_t *source,
                   const ProtobufCMessage *request, ProtobufCMessage **response);

#endif /* TH_EVENTS_H */
