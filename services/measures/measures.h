/* ---------------------------------------------------------------------------
 * measures.h: what the handler files of the Measures service share: its
 * limits, the audit-and-event record of a write, and every method's
 * handler.
 *
 * Everything else a handler needs is the service kit in common/: the field
 * checks (th_field.h), the answers (th_answer.h), the rights and read rules
 * (th_auth.h), paging (th_page.h), ListEvents (th_events.h), the write
 * transaction (th_call.h).
 *
 * One file per resource: events.c (ListEvents); main.c holds the table of
 * every method.
 * ---------------------------------------------------------------------------
 */
#ifndef MEASURES_H
#define MEASURES_H

#include <protobuf-c/protobuf-c.h>

#include "th_call.h"
#include "th_worker.h"

/* The schema of the service's outbox (a fixed identifier, never input). */
#define MEASURES_SCHEMA "measures"

/* --- the handlers (th_method_fn) ------------------------------------------ */

#define MEASURES_HANDLER(name)                                                             \
    int name(th_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **response)

/* events.c */
MEASURES_HANDLER(measures_events_list);

#endif /* MEASURES_H */
