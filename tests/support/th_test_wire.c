/* ---------------------------------------------------------------------------
 * th_test_wire.c: hand-made protobuf bytes and raw calls, for tests
 * ---------------------------------------------------------------------------
 */
#include "th_test_wire.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

static void
s_reserve(th_test_pb_t *pb, size_t more)
{
    if (pb->len + more <= pb->cap)
        return;
    size_t cap = pb->cap > 0 ? pb->cap : 64;
    while (cap < pb->len + more)
        cap *= 2;
    uint8_t *grown = realloc(pb->data, cap);
    if (grown == NULL)
        abort();
    pb->data = grown;
    pb->cap = cap;
}

static void
s_varint(th_test_pb_t *pb, uint64_t value)
{
    s_reserve(pb, 10);
    do {
        uint8_t b = (uint8_t) (value & 0x7f);
        value >>= 7;
        pb->data[pb->len++] = value != 0 ? (uint8_t) (b | 0x80) : b;
    } while (value != 0);
}

void
th_test_pb_varint(th_test_pb_t *pb, uint32_t number, uint64_t value)
{
    s_varint(pb, (uint64_t) number << 3);
    s_varint(pb, value);
}

void
th_test_pb_bytes(th_test_pb_t *pb, uint32_t number, const void *data, size_t len)
{
    s_varint(pb, ((uint64_t) number << 3) | 2);
    s_varint(pb, len);
    th_test_pb_raw(pb, data, len);
}

void
th_test_pb_raw(th_test_pb_t *pb, const void *data, size_t len)
{
    s_reserve(pb, len);
    if (len > 0)
        memcpy(pb->data + pb->len, data, len);
    pb->len += len;
}

void
th_test_pb_message(th_test_pb_t *pb, const ProtobufCMessage *msg)
{
    size_t size = protobuf_c_message_get_packed_size(msg);
    s_reserve(pb, size);
    pb->len += protobuf_c_message_pack(msg, pb->data + pb->len);
}

void
th_test_pb_free(th_test_pb_t *pb)
{
    free(pb->data);
    memset(pb, 0, sizeof *pb);
}

th_response_header_t *
th_test_raw_call(const char *endpoint, const char *broker_key, const char *cert_path,
                 const void *header, size_t header_len, const void *body, size_t body_len,
                 int timeout_ms)
{
    th_response_header_t *reply = NULL;
    zcert_t *cert = cert_path != NULL ? zcert_load(cert_path) : NULL;
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    zpoller_t *poller = NULL;
    zmsg_t *msg = zmsg_new();
    if (sock == NULL || msg == NULL || (cert_path != NULL && cert == NULL))
        goto cleanup;
    zsock_set_linger(sock, 0);
    zsock_set_sndtimeo(sock, timeout_ms);
    if (cert != NULL) {
        zcert_apply(cert, sock);
        zsock_set_curve_serverkey(sock, broker_key);
    }
    if (zsock_connect(sock, "%s", endpoint) != 0)
        goto cleanup;
    if (zmsg_addstr(msg, TH_WIRE_CLIENT_SIG) != 0 || zmsg_addmem(msg, header, header_len) != 0 ||
        zmsg_addmem(msg, body, body_len) != 0 || zmsg_send(&msg, sock) != 0)
        goto cleanup;
    poller = zpoller_new(sock, NULL);
    if (poller == NULL || zpoller_wait(poller, timeout_ms) != sock)
        goto cleanup;
    zmsg_t *in = zmsg_recv(sock);
    if (in != NULL && zmsg_size(in) == 3) {
        ProtobufCMessage *unpacked = NULL;
        zmsg_first(in);
        if (th_wire_unpack(&teilhabe__rpc__v1__response_header__descriptor, zmsg_next(in),
                           TH_WIRE_HEADER_MAX, &unpacked) == 0)
            reply = (th_response_header_t *) unpacked;
    }
    zmsg_destroy(&in);
cleanup:
    zmsg_destroy(&msg);
    zpoller_destroy(&poller);
    zsock_destroy(&sock);
    zcert_destroy(&cert);
    return reply;
}
