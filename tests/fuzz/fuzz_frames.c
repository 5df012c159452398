/* ---------------------------------------------------------------------------
 * fuzz_frames.c: the frame and header decoding of every message that crosses
 * a socket, as the broker and the worker runtime do it (docs/PROTOCOL.md).
 *
 * The input is a list of frames (th_fuzz_split: 2-byte big-endian length,
 * then the bytes). The same frames are taken as
 *   - a client message at the broker's frontend: signature, RequestHeader
 *     (th_wire_unpack_fault, th_wire_peek_call_id for the answer to a bad
 *     one, th_wire_check_request_header), the header the broker forwards to
 *     a worker, and the bodies the broker answers itself;
 *   - a worker message at the broker's backend: signature, command byte,
 *     WorkerReady of a READY, request id and ResponseHeader of a REPLY;
 *   - a broker message at a worker: the REQUEST's id and header.
 * The steps follow services/broker/broker.c (s_frontend_message,
 * s_backend_message, s_worker_ready, s_worker_reply) and common/th_worker.c
 * (s_on_broker_message, s_handle). Every answer that would be sent is built
 * and decoded again, as its receiver would.
 * ---------------------------------------------------------------------------
 */
#include "th_fuzz.h"

#include "th_error.h"
#include "th_status.h"

#include "teilhabe/v1/broker.pb-c.h"
#include "teilhabe/v1/health.pb-c.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* As in services/broker/broker.c */
#define S_READY_MAX (256 * 1024)
#define S_HEALTH_CHECK "teilhabe.health.v1.Health/Check"
#define S_LIST_SERVICES "teilhabe.broker.v1.Broker/ListServices"
#define S_RESERVED_METADATA_PREFIX "teilhabe-"

/* Every result th_wire_unpack_fault may give, and what it promises. */
static void
s_check_unpack(int rc, const ProtobufCMessage *out, const th_wire_fault_t *fault,
               const char *what)
{
    th_fuzz_require(rc == 0 || rc == TH_EINVAL || rc == TH_EPROTO || rc == TH_ETOOBIG,
                    "%s: unpack returned %d", what, rc);
    th_fuzz_require((rc == 0) == (out != NULL), "%s: unpack returned %d with out %s", what, rc,
                    out != NULL ? "set" : "NULL");
    if (fault != NULL)
        th_fuzz_require(th_fuzz_utf8(fault->path) && th_fuzz_utf8(fault->problem),
                        "%s: a fault that is not UTF-8", what);
    if (out != NULL)
        th_fuzz_round_trip(out);
}

/* What a client receives for an answer the broker builds: it must decode,
 * so the message must be UTF-8 (s_send_reply -> th_wire_client_reply). */
static void
s_client_reply(uint64_t call_id, int code, const char *message)
{
    th_fuzz_require(code >= 0 && code <= TH_STATUS_MAX, "reply with status %d", code);
    th_fuzz_require(th_fuzz_utf8(message), "reply message is not UTF-8: \"%s\"", message);
    zmsg_t *reply = th_wire_client_reply(call_id, code, message, 0, NULL);
    th_fuzz_require(reply != NULL && zmsg_size(reply) == 3, "client reply not built");
    th_fuzz_require(th_wire_is_sig(zmsg_first(reply), TH_WIRE_CLIENT_SIG),
                    "client reply without its signature");
    ProtobufCMessage *out = NULL;
    int rc = th_wire_unpack(&teilhabe__rpc__v1__response_header__descriptor, zmsg_next(reply),
                            TH_WIRE_HEADER_MAX, &out);
    th_fuzz_require(rc == 0, "the client cannot decode the broker's answer (%d)", rc);
    const th_response_header_t *header = (const th_response_header_t *) out;
    th_fuzz_require(header->call_id == call_id && (int) header->code == code,
                    "answer says call %llu code %d, not call %llu code %d",
                    (unsigned long long) header->call_id, (int) header->code,
                    (unsigned long long) call_id, code);
    protobuf_c_message_free_unpacked(out, NULL);
    zmsg_destroy(&reply);
}

/* The worker runtime's side of a REQUEST header (th_worker.c s_handle):
 * decoded, or answered INVALID_ARGUMENT with the peeked call id. Returns
 * true when it decoded. */
static bool
s_worker_takes_header(const zframe_t *head)
{
    ProtobufCMessage *out = NULL;
    th_wire_fault_t fault;
    int rc = th_wire_unpack_fault(&teilhabe__rpc__v1__request_header__descriptor, head,
                                  TH_WIRE_FORWARDED_HEADER_MAX, &out, &fault);
    s_check_unpack(rc, out, &fault, "worker: RequestHeader");
    if (rc != 0) {
        char message[TH_WIRE_PATH_MAX + 128];
        snprintf(message, sizeof message, "field %s of the request header %s", fault.path,
                 fault.problem);
        s_client_reply(th_wire_peek_call_id(head), TH_INVALID_ARGUMENT, message);
        return false;
    }
    /* s_dispatch: the method names a service, or the call is refused */
    const th_request_header_t *header = (const th_request_header_t *) out;
    char service[TH_WIRE_METHOD_MAX + 1];
    if (th_wire_split_method(header->method, service, sizeof service) == 0)
        th_fuzz_require(strchr(header->method, '/') != NULL &&
                            strncmp(header->method, service, strlen(service)) == 0,
                        "split_method accepted \"%s\" as service \"%s\"", header->method,
                        service);
    protobuf_c_message_free_unpacked(out, NULL);
    return true;
}

/* What the broker forwards for an accepted header (s_route): reserved
 * metadata stripped, the caller's principal and the timeout written in,
 * packed again. The worker must accept what the broker accepted. */
static void
s_forward(th_request_header_t *header)
{
    size_t kept = 0;
    for (size_t i = 0; i < header->n_metadata; i++) {
        Teilhabe__Rpc__V1__MetadataEntry *entry = header->metadata[i];
        if (entry->key != NULL &&
            strncasecmp(entry->key, S_RESERVED_METADATA_PREFIX,
                        strlen(S_RESERVED_METADATA_PREFIX)) == 0)
            protobuf_c_message_free_unpacked(&entry->base, NULL);
        else
            header->metadata[kept++] = entry;
    }
    header->n_metadata = kept;
    /* A caller as the broker's principal store has it */
    char *districts[] = {"16068", "16063"};
    th_principal_t principal = TEILHABE__RPC__V1__PRINCIPAL__INIT;
    principal.id = "manager-th-1";
    principal.name = "Integrationsmanagerin Sömmerda";
    principal.role = "manager";
    principal.state_scope = "16";
    principal.n_district_scope = 2;
    principal.district_scope = districts;
    principal.public_key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
    th_principal_t *claimed = header->principal;
    header->principal = &principal;
    uint32_t timeout = header->timeout_ms;
    header->timeout_ms = timeout > 0 && timeout < 300000 ? timeout : 300000;
    zframe_t *forwarded = th_wire_pack(&header->base);
    header->principal = claimed;
    header->timeout_ms = timeout;
    th_fuzz_require(forwarded != NULL, "broker: forwarded header not packed");
    th_fuzz_require(s_worker_takes_header(forwarded),
                    "a header the broker accepted (%zu bytes forwarded) is refused by the "
                    "worker",
                    zframe_size(forwarded));
    zframe_destroy(&forwarded);
}

/* A body the broker answers itself (s_health_check, s_list_services). */
static void
s_broker_body(const ProtobufCMessageDescriptor *desc, const zframe_t *body)
{
    ProtobufCMessage *out = NULL;
    int rc = th_wire_unpack(desc, body, TH_WIRE_SOFT_MAX_DEFAULT, &out);
    s_check_unpack(rc, out, NULL, desc->name);
    if (out != NULL)
        protobuf_c_message_free_unpacked(out, NULL);
}

/* services/broker/broker.c s_frontend_message */
static void
s_client_message(zframe_t **frames, size_t n)
{
    char errbuf[512];
    if (n == 0)
        return;
    zframe_t *sig = frames[0];
    if (zframe_size(sig) < 3 || memcmp(zframe_data(sig), "THC", 3) != 0)
        return; /* dropped: not our protocol */
    if (!th_wire_is_sig(sig, TH_WIRE_CLIENT_SIG)) {
        s_client_reply(0, TH_UNIMPLEMENTED,
                       "unsupported protocol version: this broker speaks THC01");
        return;
    }
    if (n < 2) {
        snprintf(errbuf, sizeof errbuf,
                 "a request has 3 frames (signature, RequestHeader, body); this one has %zu",
                 n);
        s_client_reply(0, TH_INVALID_ARGUMENT, errbuf);
        return;
    }
    zframe_t *head = frames[1];
    ProtobufCMessage *unpacked = NULL;
    th_wire_fault_t fault;
    int rc = th_wire_unpack_fault(&teilhabe__rpc__v1__request_header__descriptor, head,
                                  TH_WIRE_HEADER_MAX, &unpacked, &fault);
    s_check_unpack(rc, unpacked, &fault, "broker: RequestHeader");
    if (rc == TH_EINVAL) {
        snprintf(errbuf, sizeof errbuf, "field %s of the request header %s", fault.path,
                 fault.problem);
        s_client_reply(th_wire_peek_call_id(head), TH_INVALID_ARGUMENT, errbuf);
        return;
    }
    if (rc == TH_ETOOBIG) {
        snprintf(errbuf, sizeof errbuf, "request header is %zu bytes; at most %d allowed",
                 zframe_size(head), TH_WIRE_HEADER_MAX);
        s_client_reply(0, TH_INVALID_ARGUMENT, errbuf);
        return;
    }
    if (rc != 0) {
        s_client_reply(0, TH_INVALID_ARGUMENT,
                       "request header is not a valid teilhabe.rpc.v1.RequestHeader");
        return;
    }
    th_request_header_t *header = (th_request_header_t *) unpacked;
    /* The call id read from the raw bytes is the one protobuf-c decoded, so
     * an answer to a refused header reaches the caller's call. */
    uint64_t peeked = th_wire_peek_call_id(head);
    th_fuzz_require(peeked == header->call_id,
                    "th_wire_peek_call_id says %llu, protobuf-c decoded call_id %llu",
                    (unsigned long long) peeked, (unsigned long long) header->call_id);
    if (n != 3) {
        snprintf(errbuf, sizeof errbuf,
                 "a request has 3 frames (signature, RequestHeader, body); this one has %zu",
                 n);
        s_client_reply(header->call_id, TH_INVALID_ARGUMENT, errbuf);
        goto cleanup;
    }
    int code = th_wire_check_request_header(header, errbuf, sizeof errbuf);
    th_fuzz_require(code == TH_OK || code == TH_INVALID_ARGUMENT,
                    "check_request_header returned %d", code);
    if (code != TH_OK) {
        s_client_reply(header->call_id, code, errbuf);
        goto cleanup;
    }
    zframe_t *body = frames[2];
    if (strcmp(header->method, S_HEALTH_CHECK) == 0)
        s_broker_body(&teilhabe__health__v1__health_check_request__descriptor, body);
    else if (strcmp(header->method, S_LIST_SERVICES) == 0)
        s_broker_body(&teilhabe__broker__v1__list_services_request__descriptor, body);
    else
        s_forward(header);
cleanup:
    protobuf_c_message_free_unpacked(unpacked, NULL);
}

/* The checks of services/broker/broker.c s_ready_problem that read strings:
 * whatever passed th_wire_check_strings is UTF-8 without a NUL. */
static void
s_ready(const zframe_t *payload)
{
    ProtobufCMessage *unpacked = NULL;
    th_wire_fault_t fault;
    int rc = th_wire_unpack_fault(&teilhabe__broker__v1__worker_ready__descriptor, payload,
                                  S_READY_MAX, &unpacked, &fault);
    s_check_unpack(rc, unpacked, &fault, "broker: WorkerReady");
    if (rc != 0)
        return;
    const Teilhabe__Broker__V1__WorkerReady *ready =
        (const Teilhabe__Broker__V1__WorkerReady *) unpacked;
    for (size_t i = 0; i < ready->n_services; i++) {
        const Teilhabe__Broker__V1__ServiceInfo *info = ready->services[i];
        th_fuzz_require(info != NULL && th_fuzz_utf8(info->name),
                        "READY service %zu: name missing or not UTF-8", i);
        char method[TH_WIRE_METHOD_MAX + 3];
        char service[TH_WIRE_METHOD_MAX + 1];
        if (strlen(info->name) + 2 <= TH_WIRE_METHOD_MAX) {
            snprintf(method, sizeof method, "%s/M", info->name);
            if (th_wire_split_method(method, service, sizeof service) == 0)
                th_fuzz_require(strcmp(service, info->name) == 0,
                                "service \"%s\" split as \"%s\"", info->name, service);
        }
        for (size_t k = 0; k < info->n_methods; k++)
            th_fuzz_require(th_fuzz_utf8(info->methods[k]),
                            "READY method %zu.%zu not UTF-8", i, k);
    }
    th_fuzz_require(th_fuzz_utf8(ready->instance), "READY instance not UTF-8");
    protobuf_c_message_free_unpacked(unpacked, NULL);
}

/* services/broker/broker.c s_worker_reply, after the call was found */
static void
s_reply(zframe_t **frames, size_t n)
{
    uint64_t id;
    if (n != 5 || th_wire_id_decode(frames[2], &id) != 0)
        return; /* a violation: the worker is told to go */
    th_fuzz_require(zframe_size(frames[2]) == 8, "an id frame of %zu bytes decoded",
                    zframe_size(frames[2]));
    ProtobufCMessage *unpacked = NULL;
    th_wire_fault_t fault;
    int rc = th_wire_unpack_fault(&teilhabe__rpc__v1__response_header__descriptor, frames[3],
                                  TH_WIRE_HEADER_MAX, &unpacked, &fault);
    s_check_unpack(rc, unpacked, &fault, "broker: ResponseHeader");
    if (rc != 0)
        return;
    th_response_header_t *header = (th_response_header_t *) unpacked;
    /* The broker passes the worker's header on unchanged, or rewrites the
     * call id and an unknown code; either way the client must decode it. */
    zframe_t *rewritten = NULL;
    const zframe_t *to_client = frames[3];
    uint64_t expected_call_id = id ^ 0x5a5a; /* a call id the worker may not know */
    if (header->call_id != expected_call_id || (uint32_t) header->code > TH_STATUS_MAX) {
        header->call_id = expected_call_id;
        if ((uint32_t) header->code > TH_STATUS_MAX)
            header->code = TEILHABE__RPC__V1__STATUS_CODE__UNKNOWN;
        rewritten = th_wire_pack(unpacked);
        th_fuzz_require(rewritten != NULL, "rewritten ResponseHeader not packed");
        to_client = rewritten;
    }
    ProtobufCMessage *at_client = NULL;
    rc = th_wire_unpack(&teilhabe__rpc__v1__response_header__descriptor, to_client,
                        TH_WIRE_HEADER_MAX, &at_client);
    th_fuzz_require(rc == 0, "the client cannot decode the ResponseHeader the broker sends");
    const th_response_header_t *seen = (const th_response_header_t *) at_client;
    th_fuzz_require(seen->call_id == expected_call_id &&
                        (uint32_t) seen->code <= TH_STATUS_MAX,
                    "client sees call %llu code %d", (unsigned long long) seen->call_id,
                    (int) seen->code);
    protobuf_c_message_free_unpacked(at_client, NULL);
    zframe_destroy(&rewritten);
    protobuf_c_message_free_unpacked(unpacked, NULL);
}

/* services/broker/broker.c s_backend_message */
static void
s_worker_message(zframe_t **frames, size_t n)
{
    if (n == 0 || !th_wire_is_sig(frames[0], TH_WIRE_WORKER_SIG))
        return; /* dropped, or the worker is told to go */
    if (n < 2 || zframe_size(frames[1]) != 1)
        return;
    switch (zframe_data(frames[1])[0]) {
    case TH_CMD_READY:
        if (n == 3)
            s_ready(frames[2]);
        break;
    case TH_CMD_REPLY: s_reply(frames, n); break;
    default: break; /* HEARTBEAT, DISCONNECT: no payload; others: a violation */
    }
}

/* common/th_worker.c s_on_broker_message: a REQUEST is [id(8) | header |
 * body]; anything else is dropped. */
static void
s_broker_message(zframe_t **frames, size_t n)
{
    if (n != 5 || !th_wire_is_sig(frames[0], TH_WIRE_WORKER_SIG) ||
        zframe_size(frames[1]) != 1 || zframe_data(frames[1])[0] != TH_CMD_REQUEST ||
        zframe_size(frames[2]) != 8)
        return;
    s_worker_takes_header(frames[3]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    zframe_t *frames[TH_FUZZ_FRAMES_MAX];
    size_t n = th_fuzz_split(data, size, frames, TH_FUZZ_FRAMES_MAX);
    s_client_message(frames, n);
    s_worker_message(frames, n);
    s_broker_message(frames, n);
    th_fuzz_frames_destroy(frames, n);
    return 0;
}
