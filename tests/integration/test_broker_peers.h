/* ---------------------------------------------------------------------------
 * test_broker_peers.h: hand-written protocol peers for the broker tests.
 *
 * A "client" is a raw DEALER speaking the client protocol frame by frame and
 * a "worker" a raw DEALER speaking the worker protocol (READY, REQUEST,
 * REPLY, HEARTBEAT) by hand, both exactly as docs/PROTOCOL.md describes, so
 * the broker is tested against the document and not against teilhabe's own
 * client library. Every wait is bounded.
 * ---------------------------------------------------------------------------
 */
#ifndef TH_TEST_BROKER_PEERS_H
#define TH_TEST_BROKER_PEERS_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "teilhabe/v1/broker.pb-c.h"
#include "teilhabe/v1/health.pb-c.h"
#include "teilhabe/v1/rpc.pb-c.h"
#include "teilhabe/v1/testing.pb-c.h"
#include "th_test.h"
#include "th_status.h"
#include "th_wire.h"

#define ECHO_SERVICE "teilhabe.testing.v1.Echo"
#define ECHO_METHOD ECHO_SERVICE "/Echo"

/* Sends msg; destroys it whether or not it went out (CZMQ keeps it on
 * failure). */
static inline int
peer_send(zmsg_t **msg_p, zsock_t *sock)
{
    int rc = zmsg_send(msg_p, sock);
    zmsg_destroy(msg_p);
    return rc;
}

/* A DEALER connected to endpoint; with keys_dir, a CURVE client using the
 * secret certificate keys_dir/private/NAME.cert_secret (or cert_path when
 * given) against the broker key in keys_dir. NULL on failure. */
static inline zsock_t *
peer_connect(const char *endpoint, const char *keys_dir, const char *name,
             const char *cert_path)
{
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    if (sock == NULL)
        return NULL;
    zsock_set_linger(sock, 0);
    zsock_set_rcvtimeo(sock, 3000);
    zsock_set_sndtimeo(sock, 3000);
    if (keys_dir != NULL) {
        char path[1024];
        char broker_key[41];
        if (cert_path == NULL) {
            snprintf(path, sizeof path, "%s/private/%s.cert_secret", keys_dir, name);
            cert_path = path;
        }
        zcert_t *cert = zcert_load(cert_path);
        if (cert == NULL || th_test_keys_broker_public(keys_dir, broker_key) != 0) {
            zcert_destroy(&cert);
            zsock_destroy(&sock);
            return NULL;
        }
        zcert_apply(cert, sock);
        zcert_destroy(&cert);
        zsock_set_curve_serverkey(sock, broker_key);
    }
    if (zsock_connect(sock, "%s", endpoint) != 0)
        zsock_destroy(&sock);
    return sock;
}

/* Receives one message within timeout_ms, or NULL. */
static inline zmsg_t *
peer_recv(zsock_t *sock, int timeout_ms)
{
    zmq_pollitem_t item = {zsock_resolve(sock), 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, timeout_ms) <= 0)
        return NULL;
    return zmsg_recv(sock);
}

/* --- client side ------------------------------------------------------------ */

typedef struct {
    const char *key;
    const char *value;
} peer_meta_t;

/* Sends a request. principal_claim, if not NULL, is put into the header as
 * a (to be discarded) claimed principal id. */
static inline int
client_send(zsock_t *sock, uint64_t call_id, const char *method, uint32_t timeout_ms,
            const ProtobufCMessage *body, const peer_meta_t *meta, size_t n_meta,
            const char *principal_claim, const char *idempotency_key)
{
    Teilhabe__Rpc__V1__RequestHeader header = TEILHABE__RPC__V1__REQUEST_HEADER__INIT;
    Teilhabe__Rpc__V1__Principal claim = TEILHABE__RPC__V1__PRINCIPAL__INIT;
    Teilhabe__Rpc__V1__MetadataEntry entries[8];
    Teilhabe__Rpc__V1__MetadataEntry *entry_ptrs[8];
    header.call_id = call_id;
    header.method = (char *) method;
    header.timeout_ms = timeout_ms;
    for (size_t i = 0; i < n_meta && i < 8; i++) {
        teilhabe__rpc__v1__metadata_entry__init(&entries[i]);
        entries[i].key = (char *) meta[i].key;
        entries[i].value = (char *) meta[i].value;
        entry_ptrs[i] = &entries[i];
    }
    header.n_metadata = n_meta;
    header.metadata = entry_ptrs;
    if (principal_claim != NULL) {
        claim.id = (char *) principal_claim;
        claim.role = (char *) "admin";
        header.principal = &claim;
    }
    if (idempotency_key != NULL)
        header.idempotency_key = (char *) idempotency_key;
    zmsg_t *msg = zmsg_new();
    zmsg_addstr(msg, TH_WIRE_CLIENT_SIG);
    zframe_t *head = th_wire_pack(&header.base);
    zmsg_append(msg, &head);
    if (body != NULL) {
        zframe_t *frame = th_wire_pack(body);
        zmsg_append(msg, &frame);
    } else {
        zmsg_addmem(msg, NULL, 0);
    }
    return peer_send(&msg, sock);
}

/* Sends the given raw frames as one message (sizes given; data may be NULL
 * for an empty frame). */
static inline int
client_send_raw(zsock_t *sock, size_t n, const void *const *data, const size_t *sizes)
{
    zmsg_t *msg = zmsg_new();
    for (size_t i = 0; i < n; i++)
        zmsg_addmem(msg, data[i], sizes[i]);
    return peer_send(&msg, sock);
}

typedef struct {
    bool received;
    bool well_formed; /* [ "THC01" | ResponseHeader | body ] */
    uint64_t call_id;
    int code;
    char message[512];
    uint32_t retry_after_ms;
    zframe_t *body; /* owned; destroy with reply_clear */
} peer_reply_t;

static inline void
reply_clear(peer_reply_t *reply)
{
    zframe_destroy(&reply->body);
    memset(reply, 0, sizeof *reply);
}

/* Waits up to timeout_ms for one reply and decodes it. */
static inline void
client_recv(zsock_t *sock, int timeout_ms, peer_reply_t *reply)
{
    memset(reply, 0, sizeof *reply);
    reply->code = -1;
    zmsg_t *msg = peer_recv(sock, timeout_ms);
    if (msg == NULL)
        return;
    reply->received = true;
    zframe_t *sig = zmsg_first(msg);
    zframe_t *head = zmsg_next(msg);
    if (zmsg_size(msg) == 3 && th_wire_is_sig(sig, TH_WIRE_CLIENT_SIG)) {
        ProtobufCMessage *unpacked = NULL;
        if (th_wire_unpack(&teilhabe__rpc__v1__response_header__descriptor, head, 65536,
                           &unpacked) == 0) {
            Teilhabe__Rpc__V1__ResponseHeader *header =
                (Teilhabe__Rpc__V1__ResponseHeader *) unpacked;
            reply->well_formed = true;
            reply->call_id = header->call_id;
            reply->code = (int) header->code;
            snprintf(reply->message, sizeof reply->message, "%s",
                     header->message != NULL ? header->message : "");
            reply->retry_after_ms = header->retry_after_ms;
            protobuf_c_message_free_unpacked(unpacked, NULL);
            zframe_t *body = zmsg_last(msg);
            zmsg_remove(msg, body);
            reply->body = body;
        }
    }
    zmsg_destroy(&msg);
}

/* Health/Check round trip: the serving status, or -1 when no OK reply. */
static inline int
client_health(zsock_t *sock, uint64_t call_id, const char *service, int timeout_ms)
{
    Teilhabe__Health__V1__HealthCheckRequest request =
        TEILHABE__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    request.service = (char *) service;
    if (client_send(sock, call_id, "teilhabe.health.v1.Health/Check", 2000, &request.base,
                    NULL, 0, NULL, NULL) != 0)
        return -1;
    peer_reply_t reply;
    client_recv(sock, timeout_ms, &reply);
    int status = -1;
    if (reply.well_formed && reply.code == 0 && reply.call_id == call_id) {
        ProtobufCMessage *unpacked = NULL;
        if (th_wire_unpack(&teilhabe__health__v1__health_check_response__descriptor,
                           reply.body, 65536, &unpacked) == 0) {
            status = ((Teilhabe__Health__V1__HealthCheckResponse *) unpacked)->status;
            protobuf_c_message_free_unpacked(unpacked, NULL);
        }
    }
    reply_clear(&reply);
    return status;
}

/* --- worker side ---------------------------------------------------------- */

typedef struct {
    zsock_t *sock;
    int64_t last_heartbeat;
    bool heartbeats; /* false: play dead (send nothing by itself) */
    int disconnects; /* DISCONNECT commands received */
} peer_worker_t;

static inline int
worker_send_command(peer_worker_t *worker, byte command, zframe_t **payload_p)
{
    zmsg_t *msg = zmsg_new();
    zmsg_addstr(msg, TH_WIRE_WORKER_SIG);
    zmsg_addmem(msg, &command, 1);
    if (payload_p != NULL && *payload_p != NULL)
        zmsg_append(msg, payload_p);
    return peer_send(&msg, worker->sock);
}

/* Connects and sends READY for the given services (comma-separated, at
 * most 64), each with the given method names (comma-separated, "" = none
 * listed). */
static inline int
worker_start(peer_worker_t *worker, const char *endpoint, const char *keys_dir,
             const char *name, const char *services, const char *methods, uint32_t capacity)
{
    memset(worker, 0, sizeof *worker);
    worker->heartbeats = true;
    worker->sock = peer_connect(endpoint, keys_dir, name, NULL);
    if (worker->sock == NULL)
        return -1;
    Teilhabe__Broker__V1__WorkerReady ready = TEILHABE__BROKER__V1__WORKER_READY__INIT;
    Teilhabe__Broker__V1__ServiceInfo infos[64];
    Teilhabe__Broker__V1__ServiceInfo *info_ptrs[64];
    char *method_list[16];
    size_t n_methods = 0;
    char methods_copy[512];
    snprintf(methods_copy, sizeof methods_copy, "%s", methods);
    char *save = NULL;
    for (char *tok = strtok_r(methods_copy, ",", &save); tok != NULL && n_methods < 16;
         tok = strtok_r(NULL, ",", &save))
        method_list[n_methods++] = tok;
    char services_copy[4096];
    snprintf(services_copy, sizeof services_copy, "%s", services);
    size_t n = 0;
    save = NULL;
    for (char *tok = strtok_r(services_copy, ",", &save); tok != NULL && n < 64;
         tok = strtok_r(NULL, ",", &save)) {
        teilhabe__broker__v1__service_info__init(&infos[n]);
        infos[n].name = tok;
        infos[n].methods = method_list;
        infos[n].n_methods = n_methods;
        info_ptrs[n] = &infos[n];
        n++;
    }
    ready.services = info_ptrs;
    ready.n_services = n;
    ready.capacity = capacity;
    ready.instance = (char *) name;
    zframe_t *payload = th_wire_pack(&ready.base);
    worker->last_heartbeat = zclock_mono();
    return worker_send_command(worker, TH_CMD_READY, &payload);
}

static inline void
worker_stop(peer_worker_t *worker, bool say_disconnect)
{
    if (worker->sock != NULL && say_disconnect)
        worker_send_command(worker, TH_CMD_DISCONNECT, NULL);
    zsock_destroy(&worker->sock);
}

static inline void
worker_maybe_heartbeat(peer_worker_t *worker)
{
    if (worker->heartbeats && zclock_mono() - worker->last_heartbeat >= 200) {
        worker_send_command(worker, TH_CMD_HEARTBEAT, NULL);
        worker->last_heartbeat = zclock_mono();
    }
}

typedef struct {
    uint64_t id;
    Teilhabe__Rpc__V1__RequestHeader *header; /* owned */
    zframe_t *body;                           /* owned */
} peer_request_t;

static inline void
request_clear(peer_request_t *request)
{
    if (request->header != NULL)
        protobuf_c_message_free_unpacked(&request->header->base, NULL);
    zframe_destroy(&request->body);
    memset(request, 0, sizeof *request);
}

/* Waits up to timeout_ms for a REQUEST (heartbeating meanwhile, answering
 * nothing else). true when one arrived and decoded. */
static inline bool
worker_recv_request(peer_worker_t *worker, int timeout_ms, peer_request_t *request)
{
    memset(request, 0, sizeof *request);
    int64_t until = zclock_mono() + timeout_ms;
    while (zclock_mono() < until) {
        worker_maybe_heartbeat(worker);
        int64_t left = until - zclock_mono();
        zmsg_t *msg =
            peer_recv(worker->sock, (int) (left < 50 ? (left > 0 ? left : 0) : 50));
        if (msg == NULL)
            continue;
        zframe_t *sig = zmsg_first(msg);
        zframe_t *cmd = zmsg_next(msg);
        bool ok = false;
        if (th_wire_is_sig(sig, TH_WIRE_WORKER_SIG) && cmd != NULL &&
            zframe_size(cmd) == 1) {
            byte command = zframe_data(cmd)[0];
            if (command == TH_CMD_DISCONNECT)
                worker->disconnects++;
            if (command == TH_CMD_REQUEST && zmsg_size(msg) == 5) {
                zframe_t *id = zmsg_next(msg);
                zframe_t *head = zmsg_next(msg);
                zframe_t *body = zmsg_next(msg);
                ProtobufCMessage *unpacked = NULL;
                if (th_wire_id_decode(id, &request->id) == 0 &&
                    th_wire_unpack(&teilhabe__rpc__v1__request_header__descriptor, head,
                                   65536, &unpacked) == 0) {
                    request->header = (Teilhabe__Rpc__V1__RequestHeader *) unpacked;
                    zmsg_remove(msg, body);
                    request->body = body;
                    ok = true;
                }
            }
        }
        zmsg_destroy(&msg);
        if (ok)
            return true;
    }
    return false;
}

/* Keeps the worker alive (heartbeats) for ms, collecting commands. Returns
 * the number of REQUESTs that arrived (they are dropped). */
static inline int
worker_idle(peer_worker_t *worker, int ms)
{
    int requests = 0;
    int64_t until = zclock_mono() + ms;
    while (zclock_mono() < until) {
        worker_maybe_heartbeat(worker);
        zmsg_t *msg = peer_recv(worker->sock, 20);
        if (msg == NULL)
            continue;
        zframe_t *sig = zmsg_first(msg);
        zframe_t *cmd = zmsg_next(msg);
        if (th_wire_is_sig(sig, TH_WIRE_WORKER_SIG) && cmd != NULL &&
            zframe_size(cmd) == 1) {
            if (zframe_data(cmd)[0] == TH_CMD_REQUEST)
                requests++;
            if (zframe_data(cmd)[0] == TH_CMD_DISCONNECT)
                worker->disconnects++;
        }
        zmsg_destroy(&msg);
    }
    return requests;
}

/* Sends REPLY for request id with the given status and body (may be NULL). */
static inline int
worker_reply(peer_worker_t *worker, uint64_t id, uint64_t call_id, int code,
             const char *message, const ProtobufCMessage *body)
{
    Teilhabe__Rpc__V1__ResponseHeader header = TEILHABE__RPC__V1__RESPONSE_HEADER__INIT;
    header.call_id = call_id;
    header.code = (Teilhabe__Rpc__V1__StatusCode) code;
    header.message = (char *) (message != NULL ? message : "");
    zmsg_t *msg = zmsg_new();
    zmsg_addstr(msg, TH_WIRE_WORKER_SIG);
    byte command = TH_CMD_REPLY;
    zmsg_addmem(msg, &command, 1);
    zframe_t *id_frame = th_wire_id_frame(id);
    zmsg_append(msg, &id_frame);
    zframe_t *head = th_wire_pack(&header.base);
    zmsg_append(msg, &head);
    if (body != NULL) {
        zframe_t *frame = th_wire_pack(body);
        zmsg_append(msg, &frame);
    } else {
        zmsg_addmem(msg, NULL, 0);
    }
    worker->last_heartbeat = zclock_mono();
    return peer_send(&msg, worker->sock);
}

/* Answers one Echo request with an EchoResponse carrying the text, the
 * principal the worker saw and instance. */
static inline int
worker_echo(peer_worker_t *worker, const peer_request_t *request, const char *instance)
{
    ProtobufCMessage *unpacked = NULL;
    if (th_wire_unpack(&teilhabe__testing__v1__echo_request__descriptor, request->body,
                       1 << 24, &unpacked) != 0)
        return worker_reply(worker, request->id, request->header->call_id, 3, "bad body",
                            NULL);
    Teilhabe__Testing__V1__EchoRequest *echo =
        (Teilhabe__Testing__V1__EchoRequest *) unpacked;
    Teilhabe__Testing__V1__EchoResponse response =
        TEILHABE__TESTING__V1__ECHO_RESPONSE__INIT;
    response.text = echo->text;
    response.principal = request->header->principal;
    response.instance = (char *) instance;
    response.timeout_ms = request->header->timeout_ms;
    int rc =
        worker_reply(worker, request->id, request->header->call_id, 0, "", &response.base);
    protobuf_c_message_free_unpacked(unpacked, NULL);
    return rc;
}

#endif /* TH_TEST_BROKER_PEERS_H */
