/* ---------------------------------------------------------------------------
 * principals.h: the principal methods of the Registry (admin only).
 * ---------------------------------------------------------------------------
 */
#ifndef REGISTRY_PRINCIPALS_H
#define REGISTRY_PRINCIPALS_H

#include <protobuf-c/protobuf-c.h>

#include "th_worker.h"

/* The handlers (th_method_fn). */
int registry_principals_create(th_call_t *call, const ProtobufCMessage *request,
                               ProtobufCMessage **response);
int registry_principals_list(th_call_t *call, const ProtobufCMessage *request,
                             ProtobufCMessage **response);
int registry_principals_revoke(th_call_t *call, const ProtobufCMessage *request,
                               ProtobufCMessage **response);

#endif /* REGISTRY_PRINCIPALS_H */
