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
 *
 * Strings: protobuf-c hands a string field to C NUL-terminated, so a field
 * that holds "16068\0' OR 1=1" on the wire would reach the code as "16068".
 * Every unpack therefore first walks the raw bytes (th_wire_check_strings)
 * and refuses a string field that holds a NUL byte or is not UTF-8, naming
 * the field, before protobuf-c sees the bytes.
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
/* A RequestHeader as the broker forwards it to a worker: the client's (at
 * most TH_WIRE_HEADER_MAX) with the caller's principal written in, so a
 * header the broker accepted is never too large for the worker. */
#define TH_WIRE_FORWARDED_HEADER_MAX (2 * TH_WIRE_HEADER_MAX)
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
/* Metadata keys starting with this are teilhabe's own: the broker removes
 * them from what clients send, but for TH_WIRE_ON_BEHALF_OF from a caller
 * of role service (docs/PROTOCOL.md, section 6). */
#define TH_WIRE_RESERVED_PREFIX "teilhabe-"
/* The principal id a service calls for (th_call_invoke sends it; the
 * callee's audit row records it) */
#define TH_WIRE_ON_BEHALF_OF "teilhabe-on-behalf-of"
#define TH_WIRE_DEPTH_MAX 32   /* messages nested in messages, at most */
/* String, bytes and message values in one request, at most (a million
 * empty submessages fit in a few megabytes on the wire but decode into
 * about a hundred times that). */
#define TH_WIRE_ELEMENTS_MAX 100000
#define TH_WIRE_PATH_MAX 256   /* a field path in a fault, longer ones are cut */

typedef Teilhabe__Rpc__V1__RequestHeader th_request_header_t;
typedef Teilhabe__Rpc__V1__ResponseHeader th_response_header_t;
typedef Teilhabe__Rpc__V1__Principal th_principal_t;

/* Packs msg into a new frame. The caller owns the frame. NULL when out of
 * memory. */
zframe_t *th_wire_pack(const ProtobufCMessage *msg);

/* What th_wire_check_strings found wrong, and where. */
typedef struct {
    /* The field, as "ags", "filter.ags" or "items[2].name" (the index counts
     * the field's occurrences on the wire); "" for the message as a whole. */
    char path[TH_WIRE_PATH_MAX];
    /* Static text that follows the path in a message: "contains a NUL
     * byte", "is not valid UTF-8", ... */
    const char *problem;
} th_wire_fault_t;

/* Walks the protobuf encoding data (len bytes) of a message of type desc
 * without decoding it, guided by desc: varint, fixed and length-delimited
 * fields are stepped over, unknown fields skipped, string fields checked
 * (no NUL byte, valid UTF-8), and nested messages (also repeated ones and
 * oneof members) walked the same way, at most TH_WIRE_DEPTH_MAX deep and
 * with at most TH_WIRE_ELEMENTS_MAX string, bytes and message values in all.
 * Returns 0; TH_EINVAL when a string field is bad; TH_ETOOBIG when there are
 * too many values; TH_EPROTO when data is
 * not a valid encoding (truncated, a group or unknown wire type, a string
 * or message field with another wire type) or nests too deep. fault (may
 * be NULL) says where and what. */
int th_wire_check_strings(const ProtobufCMessageDescriptor *desc, const uint8_t *data,
                          size_t len, th_wire_fault_t *fault);

/* Unpacks frame as a message of type desc. TH_ETOOBIG when the frame is
 * larger than max_size (checked first), TH_EINVAL when a string field holds
 * a NUL byte or is not UTF-8, TH_EPROTO when it is not a valid encoding
 * (th_wire_check_strings runs before protobuf-c). On success *out belongs to
 * the caller (free with protobuf_c_message_free_unpacked(*out, NULL)); on
 * failure *out is NULL. */
int th_wire_unpack(const ProtobufCMessageDescriptor *desc, const zframe_t *frame,
                   size_t max_size, ProtobufCMessage **out);

/* th_wire_unpack that also says what was wrong: fault (may be NULL) is
 * filled on TH_EINVAL and TH_EPROTO. */
int th_wire_unpack_fault(const ProtobufCMessageDescriptor *desc, const zframe_t *frame,
                         size_t max_size, ProtobufCMessage **out, th_wire_fault_t *fault);

/* What a worker does with a request body before any handler runs: the
 * size check against max_size, then th_wire_unpack_fault as a message of
 * type input. Pure (no I/O, no logging), so the fuzzers run exactly this.
 * Returns TH_OK with *out (free it with protobuf_c_message_free_unpacked),
 * or the status code to answer, RESOURCE_EXHAUSTED or INVALID_ARGUMENT,
 * with *out NULL and a message for the caller in errbuf (valid UTF-8).
 * fault (must not be NULL) names the field to blame when fault->path is not
 * empty: the caller reports it as a field violation. */
int th_wire_decode_request(const ProtobufCMessageDescriptor *input, const zframe_t *body,
                           size_t max_size, ProtobufCMessage **out, th_wire_fault_t *fault,
                           char *errbuf, size_t errlen);

/* The call_id (field 1) of the RequestHeader encoded in frame, read from the
 * raw bytes, so a header refused as a whole can still be answered to the
 * caller's call. 0 when it is absent or cannot be read. */
uint64_t th_wire_peek_call_id(const zframe_t *frame);

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
 * nothing above U+10FFFF), as utf8proc decodes it. A NUL byte is valid
 * UTF-8; th_wire_check_strings refuses it separately. */
bool th_wire_utf8_valid(const char *s, size_t len);

/* Replaces, in place, every byte of s that does not belong to a well-formed
 * UTF-8 sequence with '?', so text cut with "%.32s" in the middle of a
 * character can still be sent (a peer refuses strings that are not UTF-8). */
void th_wire_utf8_repair(char *s);

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
