/* ---------------------------------------------------------------------------
 * th_pbjson.h: a protobuf-c message as compact JSON text, for audit rows
 * (before / after). Keys are the .proto field names, enums their value
 * names: the mapping of th_format_message_json, so the audit trail and
 * `teilhabe --format json` show a message the same way.
 * ---------------------------------------------------------------------------
 */
#ifndef TH_PBJSON_H
#define TH_PBJSON_H

#include <protobuf-c/protobuf-c.h>

/* The compact JSON text of msg with its keys sorted, malloc'ed (the caller
 * frees it); NULL when msg is NULL or memory ran out. */
char *th_pbjson_text(const ProtobufCMessage *msg);

#endif /* TH_PBJSON_H */
