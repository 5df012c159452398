/* ---------------------------------------------------------------------------
 * events.h: ListEvents, the registry's outbox as each caller may read it.
 * ---------------------------------------------------------------------------
 */
#ifndef REGISTRY_EVENTS_H
#define REGISTRY_EVENTS_H

#include <protobuf-c/protobuf-c.h>

#include "th_worker.h"

/* The handler (th_method_fn). */
int registry_events_list(th_call_t *call, const ProtobufCMessage *request,
                         ProtobufCMessage **response);

#endif /* REGISTRY_EVENTS_H */
