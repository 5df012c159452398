/* ---------------------------------------------------------------------------
 * th_handler.c: the worker runtime's handler threads
 *
 * Each of a worker's `capacity` handler threads owns its own connection to
 * the broker (th_worker_link.c, registered with capacity 1) and its own
 * database connection, and handles every call where it arrives: no other
 * thread relays it. For each call it decodes the header and checks the body
 * on the raw bytes (a string with a NUL byte or bad UTF-8 is refused naming
 * the field), finds the method, unpacks, checks the deadline, runs the
 * handler, finishes the write transaction and sends the REPLY itself.
 * While idle it heartbeats; while a handler runs, th_worker_run's thread
 * does that on its behalf (th_worker_slot_t.lock).
 * ---------------------------------------------------------------------------
 */
#include "th_worker_int.h"

#include "th_error.h"
#include "th_log.h"
#include "th_methods.h"
#include "th_status.h"

#include <czmq.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Without a deadline in the header a call still ends some day. */
#define S_NO_DEADLINE_MS (24LL * 3600 * 1000)
/* Pruning of idempotency keys: the first pass this long after the start
 * (once the start-up work is done), then one every so often. */
#define S_PRUNE_FIRST_MS 1000
#define S_PRUNE_EVERY_MS (10 * 60 * 1000)

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
    /* A write without a key could not be retried safely: refused before
     * anything runs (docs/PROTOCOL.md 5.3). A read's key is ignored. */
    if (th_method_kind(method) == TH_METHOD_WRITE && th_call_idempotency_key(call)[0] == '\0') {
        th_call_violation(call, "idempotency_key", "is required for a write");
        return th_call_error(call, TH_INVALID_ARGUMENT,
                             "%s writes and needs an idempotency key: a new unique key per "
                             "change, the same key when the change is sent again",
                             method);
    }

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

/* Handles one request [id | header | body] that arrived at start. Consumes
 * *msg_p; returns the reply frames (NULL only when out of memory). */
static zmsg_t *
s_handle(th_worker_thread_t *thread, zmsg_t **msg_p, int64_t start)
{
    zmsg_t *msg = *msg_p;
    *msg_p = NULL;
    zframe_t *id = zmsg_pop(msg);
    zframe_t *head = zmsg_pop(msg);
    zframe_t *body = zmsg_pop(msg);
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
        reply = th_worker__reply_frames(&id, th_wire_peek_call_id(head), TH_INVALID_ARGUMENT,
                                        message, 0, NULL, NULL);
        goto cleanup;
    }
    th_request_header_t *header = (th_request_header_t *) unpacked;
    th_call_t call = {
        .thread = thread,
        .header = header,
        .body = body,
    };
    call.violations_tail = &call.violations;
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
    return reply;
}

/* Answers a request at once without running it (while starting or
 * draining). A reply that cannot be sent leaves the call to the broker's
 * deadline (and the failed send has planned a reconnect). */
static void
s_refuse(th_worker_link_t *link, zmsg_t *msg, int code, const char *message,
         uint32_t retry_after_ms)
{
    zframe_t *id = zmsg_pop(msg);
    uint64_t call_id = th_wire_peek_call_id(zmsg_first(msg));
    zmsg_t *reply =
        th_worker__reply_frames(&id, call_id, code, message, retry_after_ms, NULL, NULL);
    if (reply != NULL)
        (void) th_worker__link_send(link, TH_CMD_REPLY, &reply);
}

/* Runs a call. The link is the keeper's to heartbeat while the handler
 * runs (th_worker_slot_t.lock), and the reply goes out on it afterwards,
 * unless it broke meanwhile: then the broker has failed the call already. */
static void
s_run(th_worker_slot_t *slot, th_worker_thread_t *thread, zmsg_t **msg_p)
{
    int64_t start = zclock_mono();
    atomic_store(&slot->busy, true);
    pthread_mutex_unlock(&slot->lock);
    zmsg_t *reply = s_handle(thread, msg_p, start);
    pthread_mutex_lock(&slot->lock);
    atomic_store(&slot->busy, false);
    if (reply == NULL)
        th_log_error(0, "out of memory building a reply", "slot=%u", (unsigned) slot->index);
    else if (slot->link.socket == NULL)
        zmsg_destroy(&reply);
    else if (th_worker__link_send(&slot->link, TH_CMD_REPLY, &reply) != 0)
        th_log_warn(0, "could not send a reply to the broker", "slot=%u",
                    (unsigned) slot->index);
}

/* One message from the broker. */
static void
s_on_message(th_worker_slot_t *slot, th_worker_thread_t *thread)
{
    th_worker_link_t *link = &slot->link;
    th_worker_t *worker = slot->worker;
    zmsg_t *msg = zmsg_recv(link->socket);
    if (msg == NULL)
        return;
    th_worker__link_heard(link);
    zframe_t *sig = zmsg_pop(msg);
    zframe_t *cmd = zmsg_pop(msg);
    if (!th_wire_is_sig(sig, TH_WIRE_WORKER_SIG) || cmd == NULL || zframe_size(cmd) != 1) {
        th_log_debug(0, "dropping a malformed message from the broker", NULL);
        goto cleanup;
    }
    switch (zframe_data(cmd)[0]) {
    case TH_CMD_REQUEST:
        if (zmsg_size(msg) != 3 || zframe_size(zmsg_first(msg)) != 8) {
            th_log_debug(0, "dropping a malformed REQUEST", "frames=%zu", zmsg_size(msg));
            break;
        }
        if (atomic_load(&worker->draining)) {
            s_refuse(link, msg, TH_UNAVAILABLE, "this worker is shutting down; try again", 0);
            break;
        }
        if (!atomic_load(&worker->prepared)) {
            /* Registered, but the start-up work (migrations, reference
             * data) has not succeeded yet: the client retries in its budget */
            int retry = atomic_load(&worker->prepare_retry_ms);
            s_refuse(link, msg, TH_UNAVAILABLE,
                     atomic_load(&worker->prepare_failed)
                         ? "the service is starting: its database is not reachable yet; try "
                           "again shortly"
                         : "the service is starting: it is preparing its database; try again "
                           "shortly",
                     (uint32_t) (retry > 1000 ? 1000 : retry));
            break;
        }
        s_run(slot, thread, &msg);
        break;
    case TH_CMD_HEARTBEAT:
        break;
    case TH_CMD_DISCONNECT:
        if (!atomic_load(&worker->draining)) {
            /* The broker does not know this connection (it restarted, or
             * it dropped us): register again at once. */
            th_log(slot->index == 0 ? TH_LOG_INFO : TH_LOG_DEBUG, 0,
                   "the broker sent DISCONNECT; registering again", "slot=%u",
                   (unsigned) slot->index);
            zsock_destroy(&link->socket);
            link->reconnect_at = zclock_mono();
        }
        break;
    default:
        th_log_debug(0, "dropping an unknown command from the broker", "command=%d",
                     (int) zframe_data(cmd)[0]);
        break;
    }
cleanup:
    zframe_destroy(&sig);
    zframe_destroy(&cmd);
    zmsg_destroy(&msg);
}

/* Stopping: what already arrived is answered (UNAVAILABLE: the client
 * retries elsewhere), then the broker hears DISCONNECT. A call the broker
 * sends after that it fails itself, as never handled. */
static void
s_drain(th_worker_slot_t *slot, th_worker_thread_t *thread)
{
    th_worker_link_t *link = &slot->link;
    /* Bounded: the broker sends a capacity-1 connection one call at a time */
    for (int i = 0; i < 64 && link->socket != NULL &&
                    (zsock_events(link->socket) & ZMQ_POLLIN);
         i++)
        s_on_message(slot, thread);
    th_worker__link_close(link);
}

void *
th_worker__handler_thread(void *args)
{
    th_worker_slot_t *slot = args;
    th_worker_t *worker = slot->worker;
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    int err = pthread_sigmask(SIG_BLOCK, &mask, NULL);
    if (err != 0) /* then a signal may cut a handler's wait short: say so */
        th_log_warn(0, "could not block signals in a handler thread", "error=\"%s\"",
                    strerror(err));
    th_worker_thread_t thread = {.worker = worker, .slot = slot, .db_url = worker->db_url};
    /* The first thread prunes the idempotency keys now and then, between
     * calls: first soon after the start, then every S_PRUNE_EVERY_MS. */
    if (slot->index == 0 && worker->db_url != NULL && worker->idempotency_keep_ms > 0)
        thread.prune_at = zclock_mono() + S_PRUNE_FIRST_MS;
    th_worker_link_t *link = &slot->link;
    pthread_mutex_lock(&slot->lock);
    /* Bounded by the stop pipe: th_worker_run makes it readable to end us */
    while (!atomic_load(&worker->draining)) {
        int64_t now = zclock_mono();
        if (thread.prune_at > 0 && now >= thread.prune_at) {
            if (atomic_load(&worker->prepared)) { /* the tables exist only then */
                th_call__prune_keys(&thread);
                now = zclock_mono();
                thread.prune_at = now + S_PRUNE_EVERY_MS;
            } else {
                thread.prune_at = now + S_PRUNE_FIRST_MS;
            }
        }
        int64_t timeout = th_worker__link_tick(link, now);
        if (thread.prune_at > 0 && thread.prune_at - now < timeout)
            timeout = thread.prune_at > now ? thread.prune_at - now : 0;
        zmq_pollitem_t items[2] = {
            {NULL, worker->stop_fd, ZMQ_POLLIN, 0},
            {link->socket != NULL ? zsock_resolve(link->socket) : NULL, 0, ZMQ_POLLIN, 0},
        };
        int n = link->socket != NULL ? 2 : 1;
        int ready = zmq_poll(items, n, (long) timeout);
        if (ready < 0) {
            if (zmq_errno() == EINTR)
                continue;
            th_log_error(0, "polling failed in a handler thread", "slot=%u error=\"%s\"",
                         (unsigned) slot->index, zmq_strerror(zmq_errno()));
            zclock_sleep(100); /* then try again: the stop pipe still ends us */
            continue;
        }
        if (n == 2 && (items[1].revents & ZMQ_POLLIN))
            s_on_message(slot, &thread);
        else if (th_worker__link_overdue(link, zclock_mono()))
            /* Also the way out after a refused handshake that broke no send */
            th_worker__link_reconnect(link, "the broker stopped answering");
    }
    s_drain(slot, &thread);
    pthread_mutex_unlock(&slot->lock);
    th_db_destroy(&thread.db);
    th_client_destroy(&thread.client);
    atomic_store(&slot->done, true);
    return NULL;
}
