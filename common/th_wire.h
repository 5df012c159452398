/* ---------------------------------------------------------------------------
 * th_wire.h: frames of the teilhabe wire protocol (docs/PROTOCOL.md).
 *
 * Client <-> broker (client DEALER, broker ROUTER "frontend"):
 *   request  [ "THC01" | RequestHeader | request body ]
 *   reply    [ "THC01" | ResponseHeader | response body (empty unless OK) ]
 * Worker <-> broker (worker DEALER, broker ROUTER "backend"):
 *   [ "THW01" | command (1 byte) | command frames ... ]
 *   READY      W->B  [ WorkerReady ]
 *   REQUEST    B->W  [ request id (8 bytes, big-endian) | RequestHeader | body ]
 *   REPLY      W->B  [ request id (8 bytes, big-endian) | ResponseHeader | body ]
 *   HEARTBEAT  both  [ ]
 *   DISCONNECT both  [ ]
 * Nothing here asserts on received data: every parser validates and returns
 * an error.
 * ---------------------------------------------------------------------------
 */
#ifndef TH_WIRE_H
#define TH_WIRE_H

#include <czmq.h>
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "teilhabe/v1/rpc.pb-c.h"

#define TH_WIRE_CLIENT_SIG "THC01"
#define TH_WIRE_WORKER_SIG "THW01"
#define TH_WIRE_SIG_LEN 5

typedef enum {
    TH_CMD_READY = 0x01,
    TH_CMD_REQUEST = 0x02,
    TH_CMD_REPLY = 0x03,
    TH_CMD_HEARTBEAT = 0x04,
    TH_CMD_DISCONNECT = 0x05,
} th_wire_cmd_t;

/* Default limits (configurable; documented in docs/PROTOCOL.md). */
#define TH_WIRE_SOFT_MAX_DEFAULT (1024 * 1024)        /* body, answered RESOURCE_EXHAUSTED */
#define TH_WIRE_HARD_MAX_DEFAULT (16 * 1024 * 1024)   /* ZMQ_MAXMSGSIZE: connection dropped */
#define TH_WIRE_HEADER_MAX 16384                      /* a header frame */
/* libzmq checks ZMQ_MAXMSGSIZE against a message part as it comes off the
 * wire, which under CURVE is the encrypted MESSAGE command wrapping the
 * part: "\x07MESSAGE" (8 bytes), the nonce (8), the MAC (16) and a flags
 * byte, 33 bytes more than the part itself. A CURVE socket adds this to its
 * ZMQ_MAXMSGSIZE, so that every part up to the documented hard cap arrives
 * and can be answered. */
#define TH_WIRE_CURVE_OVERHEAD 33
#define TH_WIRE_METHOD_MAX 256
#define TH_WIRE_METADATA_MAX 32
#define TH_WIRE_METADATA_KEY_MAX 64
#define TH_WIRE_METADATA_VALUE_MAX 1024
#define TH_WIRE_IDEMPOTENCY_KEY_MAX 128

typedef Teilhabe__Rpc__V1__RequestHeader th_request_header_t;
typedef Teilhabe__Rpc__V1__ResponseHeader th_response_header_t;
typedef Teilhabe__Rpc__V1__Principal th_principal_t;

/* Packs msg into a new frame. The caller owns the frame. NULL when out of
 * memory. */
zframe_t *th_wire_pack(const ProtobufCMessage *msg);

/* Unpacks frame as a message of type desc. TH_ETOOBIG when the frame is
 * larger than max_size (checked before unpacking), TH_EPROTO when it is not a
 * valid encoding. On success *out belongs to the caller (free with
 * protobuf_c_message_free_unpacked(*out, NULL)). */
int th_wire_unpack(const ProtobufCMessageDescriptor *desc, const zframe_t *frame,
                   size_t max_size, ProtobufCMessage **out);

/* True when frame holds exactly the signature sig. */
bool th_wire_is_sig(const zframe_t *frame, const char *sig);

/* Encodes / decodes the 8-byte big-endian request id frame. Decode returns
 * TH_EPROTO when the frame is not 8 bytes. */
zframe_t *th_wire_id_frame(uint64_t id);
int th_wire_id_decode(const zframe_t *frame, uint64_t *id);

/* Checks that method has the form "pkg.name.v1.Service/Method" (at most
 * TH_WIRE_METHOD_MAX bytes, ASCII letters, digits, '_' and '.'), and copies
 * the service part into service (size service_size). 0 or TH_EINVAL. */
int th_wire_split_method(const char *method, char *service, size_t service_size);

/* True when name is a full service name "pkg.name.v1.Service": the service
 * part of a method th_wire_split_method accepts. What a worker's READY and
 * a worker key's services list name. */
bool th_wire_service_name_valid(const char *name);

/* True when s (len bytes) is well-formed UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF). */
bool th_wire_utf8_valid(const char *s, size_t len);

/* Checks the strings of a decoded RequestHeader against the limits above
 * (method form, metadata count and sizes, key length, UTF-8). Returns 0 or a
 * status code (INVALID_ARGUMENT) with a message in errbuf. */
int th_wire_check_request_header(const th_request_header_t *header, char *errbuf,
                                 size_t errlen);

/* Builds a complete client reply [sig | ResponseHeader | body]. body may be
 * NULL (an empty frame is sent). The message is copied. NULL when out of
 * memory. */
zmsg_t *th_wire_client_reply(uint64_t call_id, int code, const char *message,
                             uint32_t retry_after_ms, zframe_t **body_p);

#endif /* TH_WIRE_H */
