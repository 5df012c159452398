/* ---------------------------------------------------------------------------
 * th_test_wire.h: hand-made protobuf bytes and raw calls, for tests.
 *
 * The C client packs C strings, so it can never send what a hostile peer
 * can: a string field with a NUL byte in it ("16068\0' OR 1=1"), a method
 * name with bytes after a NUL. These helpers build such bytes field by field
 * (appending fields to a packed message is valid protobuf: the fields merge)
 * and send them to a real broker over CURVE as one request.
 * ---------------------------------------------------------------------------
 */
#ifndef TH_TEST_WIRE_H
#define TH_TEST_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "th_wire.h"

/* A growing byte buffer; zero-initialise it, free data when done. */
typedef struct {
    uint8_t *data;
    size_t len;
    size_t cap;
} th_test_pb_t;

/* Appends a varint field (wire type 0). Aborts on out-of-memory. */
void th_test_pb_varint(th_test_pb_t *pb, uint32_t number, uint64_t value);

/* Appends a length-delimited field (wire type 2) holding len bytes of data:
 * a string, bytes or a nested message. Aborts on out-of-memory. */
void th_test_pb_bytes(th_test_pb_t *pb, uint32_t number, const void *data, size_t len);

/* Appends raw bytes (a tag of another wire type, a packed message, ...). */
void th_test_pb_raw(th_test_pb_t *pb, const void *data, size_t len);

/* Appends msg packed with protobuf-c. */
void th_test_pb_message(th_test_pb_t *pb, const ProtobufCMessage *msg);

void th_test_pb_free(th_test_pb_t *pb);

/* Sends [THC01 | header | body] to the broker frontend endpoint as the
 * principal whose secret certificate is cert_path, and returns the reply's
 * ResponseHeader (free with protobuf_c_message_free_unpacked), or NULL when
 * nothing decodable came within timeout_ms. */
th_response_header_t *th_test_raw_call(const char *endpoint, const char *broker_key,
                                       const char *cert_path, const void *header,
                                       size_t header_len, const void *body, size_t body_len,
                                       int timeout_ms);

#endif /* TH_TEST_WIRE_H */
