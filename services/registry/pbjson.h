/* ---------------------------------------------------------------------------
 * pbjson.h: a protobuf-c message as JSON, for audit rows (before / after).
 *
 * Keys are the .proto field names, enums their value names, int64 numbers
 * JSON integers, bytes their length only (audit rows record what changed,
 * not payload blobs).
 * ---------------------------------------------------------------------------
 */
#ifndef REGISTRY_PBJSON_H
#define REGISTRY_PBJSON_H

#include <protobuf-c/protobuf-c.h>

#include "th_worker.h"

/* The JSON text of msg in call memory; NULL when msg is NULL. */
const char *registry_pbjson(th_call_t *call, const ProtobufCMessage *msg);

#endif /* REGISTRY_PBJSON_H */
