/* ---------------------------------------------------------------------------
 * th_handler.c: the worker runtime's handler threads
 *
 * Each of a worker's `capacity` handler threads owns a DEALER on the main
 * thread's inproc ROUTER and its own database connection. For every call it
 * is given it decodes the header and checks the body on the raw bytes (a
 * string with a NUL byte or bad UTF-8 is refused naming the field), finds
 * the method, unpacks, checks the deadline, runs the handler, finishes the
 * write transaction and hands back the finished REPLY frames.
 * ---------------------------------------------------------------------------
 */
#include "th_worker_int.h"

#include "th_error.h"
#include "th_log.h"
#include "th_status.h"

#include <czmq.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Without a deadline in the header a call still ends some day. */
#define S_NO_DEADLINE_MS (24LL * 3600 * 1000)

/* Decodes, checks and runs the call. Returns its status; *reply_p receives
 * the packed response on OK. */
static int
s_dispatch(th_call_t *call, zframe_t **reply_p)
{
    const th_worker_t *worker = call->thread->worker;
    const char *method = call->header->method;
    char service_name[TH_WIRE_METHOD_MAX + 1];
    if (th_wire_split_method(method, service_name, sizeof service_name) != 0)
        return th_call_error(call, TH_INVALID_ARGUMENT, "\"%s\" is not a full method name",
                             method);
    const th_worker_service_t *service = NULL;
    for (size_t i = 0; i < worker->n_services; i++)
        if (strcmp(worker->services[i].desc->name, service_name) == 0)
            service = &worker->services[i];
    if (service == NULL)
        return th_call_error(call, TH_UNIMPLEMENTED, "service %s is not served here",
                             service_name);
    call->service = service;
    const ProtobufCServiceDescriptor *desc = service->desc;
    const ProtobufCMethodDescriptor *mdesc =
        protobuf_c_service_descriptor_get_method_by_name(desc, strchr(method, '/') + 1);
    /* protobuf-c only asserts on these; check them here */
    if (mdesc == NULL || mdesc < desc->methods || mdesc >= desc->methods + desc->n_methods)
        return th_call_error(call, TH_UNIMPLEMENTED, "method %s does not exist", method);
    size_t index = (size_t) (mdesc - desc->methods);
    th_method_fn handler = service->handlers[index];
    if (handler == NULL)
        return th_call_error(call, TH_UNIMPLEMENTED, "method %s is not implemented", method);
    call->method = mdesc;

    /* The one decode step the fuzzers run too (tests/fuzz/fuzz_requests.c) */
    ProtobufCMessage *request = NULL;
    th_wire_fault_t fault;
    char decode_message[TH_WIRE_PATH_MAX + 256];
    int code = th_wire_decode_request(mdesc->input, call->body, worker->max_message_size,
                                      &request, &fault, decode_message, sizeof decode_message);
    if (code != TH_OK) {
        if (fault.path[0] != '\0')
            th_call_violation(call, fault.path, "%s", fault.problem);
        return th_call_error(call, code, "%s", decode_message);
    }
    if (th_call_remaining_ms(call) <= 0) {
        code = th_call_error(call, TH_DEADLINE_EXCEEDED,
                             "the deadline passed before %s started", method);
        goto cleanup;
    }

    ProtobufCMessage *response = NULL;
    code = handler(call, request, &response);
    if (code < 0 || code > TH_STATUS_MAX) {
        th_log_error(th_call_id(call), "handler returned an invalid status",
                     "method=%s status=%d", method, code);
        code = th_call_error(call, TH_INTERNAL, "%s failed inside the service", method);
    } else if (code == TH_OK && call->replay) {
        *reply_p = zframe_new(call->replay_reply, call->replay_len);
    } else if (code == TH_OK && (response == NULL || response->descriptor != mdesc->output)) {
        th_log_error(th_call_id(call), "handler returned no response of the declared type",
                     "method=%s", method);
        code = th_call_error(call, TH_INTERNAL, "%s failed inside the service", method);
    } else if (code == TH_OK) {
        *reply_p = th_wire_pack(response);
    }
    if (code == TH_OK && *reply_p == NULL)
        code = th_call_error(call, TH_INTERNAL, "out of memory packing the reply");
    code = th_call__finish_write(call, code, *reply_p);
    if (code != TH_OK)
        zframe_destroy(reply_p);

cleanup:
    protobuf_c_message_free_unpacked(request, NULL);
    return code;
}

zmsg_t *
th_worker__reply_frames(zframe_t **id_p, uint64_t call_id, int code, const char *message,
               uint32_t retry_after_ms, th_call_t *call, zframe_t **body_p)
{
    th_response_header_t header = TEILHABE__RPC__V1__RESPONSE_HEADER__INIT;
    header.call_id = call_id;
    header.code = (Teilhabe__Rpc__V1__StatusCode) code;
    header.message = (char *) (message != NULL ? message : "");
    header.retry_after_ms = retry_after_ms;
    Teilhabe__Rpc__V1__FieldViolation **list = NULL;
    if (call != NULL && call->n_violations > 0) {
        list = th_call_alloc(call, call->n_violations * sizeof *list);
        size_t i = 0;
        for (th_call_violation_t *v = call->violations; v != NULL; v = v->next, i++) {
            list[i] = th_call_alloc(call, sizeof **list);
            teilhabe__rpc__v1__field_violation__init(list[i]);
            list[i]->field = v->field;
            list[i]->description = v->description;
        }
        header.n_violations = call->n_violations;
        header.violations = list;
    }
    zmsg_t *msg = zmsg_new();
    zframe_t *head = th_wire_pack(&header.base);
    zframe_t *body = body_p != NULL && *body_p != NULL ? *body_p : zframe_new_empty();
    if (body_p != NULL)
        *body_p = NULL;
    if (msg == NULL || head == NULL || body == NULL) {
        zmsg_destroy(&msg);
        zframe_destroy(&head);
        zframe_destroy(&body);
        zframe_destroy(id_p);
        return NULL;
    }
    if (zmsg_append(msg, id_p) != 0 || zmsg_append(msg, &head) != 0 ||
        zmsg_append(msg, &body) != 0) {
        zmsg_destroy(&msg);
        zframe_destroy(id_p);
        zframe_destroy(&head);
        zframe_destroy(&body);
        return NULL;
    }
    return msg;
}

static int64_t
s_decode_i64(const zframe_t *frame)
{
    uint64_t value = 0;
    if (th_wire_id_decode(frame, &value) != 0)
        return zclock_mono();
    return (int64_t) value;
}

/* Handles one request [id | header | body | arrival]. Consumes msg;
 * returns the reply frames (NULL only when out of memory). */
static zmsg_t *
s_handle(th_worker_thread_t *thread, zmsg_t **msg_p)
{
    zmsg_t *msg = *msg_p;
    *msg_p = NULL;
    zframe_t *id = zmsg_pop(msg);
    zframe_t *head = zmsg_pop(msg);
    zframe_t *body = zmsg_pop(msg);
    zframe_t *arrival = zmsg_pop(msg);
    zmsg_destroy(&msg);
    zmsg_t *reply = NULL;
    ProtobufCMessage *unpacked = NULL;
    th_wire_fault_t fault;
    int rc = th_wire_unpack_fault(&teilhabe__rpc__v1__request_header__descriptor, head,
                                  TH_WIRE_FORWARDED_HEADER_MAX, &unpacked, &fault);
    if (rc != 0) {
        /* The broker refuses such headers already; a worker checks for itself */
        char message[TH_WIRE_PATH_MAX + 128];
        if (rc == TH_EINVAL)
            snprintf(message, sizeof message, "field %s of the request header %s", fault.path,
                     fault.problem);
        else
            snprintf(message, sizeof message, "the request header could not be decoded");
        reply = th_worker__reply_frames(&id, th_wire_peek_call_id(head), TH_INVALID_ARGUMENT, message,
                               0, NULL, NULL);
        goto cleanup;
    }
    th_request_header_t *header = (th_request_header_t *) unpacked;
    th_call_t call = {
        .thread = thread,
        .header = header,
        .body = body,
    };
    call.violations_tail = &call.violations;
    int64_t start = s_decode_i64(arrival);
    call.deadline = start + (header->timeout_ms > 0 ? (int64_t) header->timeout_ms
                                                    : S_NO_DEADLINE_MS);
    zframe_t *response = NULL;
    int code = s_dispatch(&call, &response);
    /* A handler that wrote without finishing must not leave its
     * transaction open for the next call on this connection; when even the
     * ROLLBACK fails, the connection goes (the server then ends the
     * transaction) and the next call opens a new one. */
    if (thread->db != NULL && th_db_in_transaction(thread->db) &&
        th_db_rollback(thread->db) != 0)
        th_db_destroy(&thread->db);
    const char *message = code == TH_OK ? "" : call.message;
    if (code != TH_OK && (message == NULL || message[0] == '\0'))
        message = th_status_name(code);
    th_log(code == TH_OK ? TH_LOG_DEBUG : TH_LOG_INFO, header->call_id, "call done",
           "method=%s code=%s ms=%lld", header->method, th_status_name(code),
           (long long) (zclock_mono() - start));
    reply = th_worker__reply_frames(&id, header->call_id, code, message, 0, &call, &response);
    zframe_destroy(&response);
    th_call__release(&call);
cleanup:
    if (unpacked != NULL)
        protobuf_c_message_free_unpacked(unpacked, NULL);
    zframe_destroy(&id);
    zframe_destroy(&head);
    zframe_destroy(&body);
    zframe_destroy(&arrival);
    return reply;
}

void *
th_worker__handler_thread(void *args)
{
    th_worker_slot_t *slot = args;
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    int err = pthread_sigmask(SIG_BLOCK, &mask, NULL);
    if (err != 0) /* then a signal may cut a handler's wait short: say so */
        th_log_warn(0, "could not block signals in a handler thread", "error=\"%s\"",
                    strerror(err));
    th_worker_thread_t thread = {.worker = slot->worker, .db_url = slot->worker->db_url};
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    if (sock == NULL)
        return NULL;
    byte routing_id[TH_WORKER_SLOT_ID_LEN] = {TH_WORKER_SLOT_TAG};
    memcpy(routing_id + 1, &slot->index, sizeof slot->index);
    /* Without its routing id the main thread cannot reach this thread: it
     * then never says hello, and the worker does not start. */
    if (zmq_setsockopt(zsock_resolve(sock), ZMQ_ROUTING_ID, routing_id, sizeof routing_id) != 0)
        goto cleanup;
    zsock_set_linger(sock, 0);
    /* Bounded both ways: an idle thread looks at the stop flag every so
     * often, so it ends even if the main thread could not reach it, and a
     * reply never waits on the main thread (whose ROUTER queues without a
     * limit) longer than that either. */
    zsock_set_rcvtimeo(sock, TH_WORKER_HANDLER_IDLE_MS);
    zsock_set_sndtimeo(sock, TH_WORKER_HANDLER_IDLE_MS);
    if (zsock_connect(sock, "%s", slot->endpoint) != 0 || zstr_send(sock, "") != 0)
        goto cleanup;
    while (!atomic_load(slot->stop)) {
        zmsg_t *msg = zmsg_recv(sock);
        if (msg == NULL)
            continue; /* idle: look at the stop flag */
        if (zmsg_size(msg) != 4) {
            zmsg_destroy(&msg); /* the stop nudge, or nothing we know */
            continue;
        }
        zmsg_t *reply = s_handle(&thread, &msg);
        /* The main thread counts this thread busy until it hears back, so
         * it always hears something: an empty string when out of memory. */
        if ((reply != NULL && zmsg_send(&reply, sock) == 0) || zstr_send(sock, "") == 0)
            continue;
        zmsg_destroy(&reply);
        th_log_error(0, "a handler thread could not hand back its reply", "slot=%u",
                     slot->index);
    }
cleanup:
    zsock_destroy(&sock);
    th_db_destroy(&thread.db);
    return NULL;
}
