/* ---------------------------------------------------------------------------
 * pbjson.h: a protobuf-c message as JSON text, for audit rows (before /
 * after). Keys are the .proto field names, enums their value names (the
 * mapping of th_format_message_json).
 * ---------------------------------------------------------------------------
 */
#ifndef REGISTRY_PBJSON_H
#define REGISTRY_PBJSON_H

#include <protobuf-c/protobuf-c.h>

#include "th_worker.h"

/* The compact JSON text of msg, malloc'ed (the caller frees it); NULL when
 * msg is NULL or memory ran out. For seeding, which has no call. */
char *registry_pbjson_text(const ProtobufCMessage *msg);

/* The compact JSON text of msg in call memory; NULL when msg is NULL. */
const char *registry_pbjson(th_call_t *call, const ProtobufCMessage *msg);

#endif /* REGISTRY_PBJSON_H */
