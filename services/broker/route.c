/* ---------------------------------------------------------------------------
 * route.c: the client side of the broker: a request's checks in the order
 * of docs/PROTOCOL.md section 10, principal injection, routing to a
 * service, its queue and the dispatch to free workers
 * ---------------------------------------------------------------------------
 */
#include "broker_int.h"

#include "th_check.h"
#include "th_error.h"
#include "th_log.h"
#include "th_status.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* --- dispatch to workers ------------------------------------------------------ */

/* The header was packed with the full timeout; a call that waited in the
 * queue is re-packed with the time it has left. */
static void
s_call_refresh_timeout(call_t *call, int64_t now)
{
    ProtobufCMessage *unpacked = NULL;
    if (th_wire_unpack(&teilhabe__rpc__v1__request_header__descriptor, call->header,
                       SIZE_MAX, &unpacked) != 0)
        return;
    th_request_header_t *header = (th_request_header_t *) unpacked;
    int64_t remaining = call->deadline - now;
    header->timeout_ms = (uint32_t) (remaining > 0 ? remaining : 1);
    zframe_t *packed = th_wire_pack(unpacked);
    if (packed != NULL) {
        zframe_destroy(&call->header);
        call->header = packed;
    }
    protobuf_c_message_free_unpacked(unpacked, NULL);
}

/* The live worker of service with the most free capacity; among equals the
 * one used least recently, so idle workers take turns. NULL when all are
 * full or there are none. */
static worker_t *
s_pick_worker(service_t *service)
{
    worker_t *best = NULL;
    uint32_t best_free = 0;
    for (worker_t *worker = zlistx_first(service->workers); worker != NULL;
         worker = zlistx_next(service->workers)) {
        uint32_t free_slots = worker->capacity - worker->in_flight;
        if (worker->in_flight >= worker->capacity)
            continue;
        if (best == NULL || free_slots > best_free ||
            (free_slots == best_free && worker->last_used < best->last_used)) {
            best = worker;
            best_free = free_slots;
        }
    }
    return best;
}

/* Sends call to worker as [id | "THW01" | REQUEST | request id | header |
 * body]. TH_EIO when the worker cannot be reached; then nothing was sent and
 * the call is unchanged. */
static int
s_send_request(broker_t *self, worker_t *worker, call_t *call, int64_t now)
{
    if (call->waited)
        s_call_refresh_timeout(call, now);
    /* The call's place in the worker's list first: once the request is out,
     * the call must be found again when the worker answers or dies. */
    void *handle = zlistx_add_end(worker->calls, call);
    if (handle == NULL)
        return TH_ENOMEM;
    if (broker__send_identity(self->backend, worker->identity) != 0) {
        zlistx_delete(worker->calls, handle);
        return TH_EIO;
    }
    void *socket = zsock_resolve(self->backend);
    const byte command = TH_CMD_REQUEST;
    byte id[8];
    uint64_t value = call->id;
    for (int i = 7; i >= 0; i--) {
        id[i] = (byte) (value & 0xff);
        value >>= 8;
    }
    /* Once the first part went out, libzmq takes the rest of the message
     * (the high-water mark is checked per message, not per part): a failure
     * here is a broken socket, and the call runs into its deadline. */
    bool broken = zmq_send(socket, TH_WIRE_WORKER_SIG, TH_WIRE_SIG_LEN, ZMQ_SNDMORE) < 0 ||
                  zmq_send(socket, &command, 1, ZMQ_SNDMORE) < 0 ||
                  zmq_send(socket, id, sizeof id, ZMQ_SNDMORE) < 0;
    if (!broken && zframe_send(&call->header, socket, ZFRAME_MORE) != 0)
        broken = true;
    if (!broken && zframe_send(&call->body, socket, 0) != 0)
        broken = true;
    if (broken)
        th_log_error(call->call_id,
                     "request to a worker cut short: the backend socket failed",
                     "request=%llu worker=%s error=\"%s\"", (unsigned long long) call->id,
                     worker->label, zmq_strerror(zmq_errno()));
    zframe_destroy(&call->header);
    zframe_destroy(&call->body);
    call->worker = worker;
    call->handle = handle;
    worker->in_flight++;
    worker->last_used = ++self->use_counter;
    call->grace = false;
    if (call->expires != call->deadline) {
        call->expires = call->deadline;
        broker__heap_update(self, call);
    }
    th_log_debug(call->call_id, "call dispatched", "request=%llu worker=%s service=%s",
                 (unsigned long long) call->id, worker->label, call->service->name);
    return 0;
}

/* Hands queued calls of service to free workers: the oldest call of the
 * principal whose turn it is, principal after principal (fairq.h). */
void
broker__dispatch(broker_t *self, service_t *service)
{
    int64_t now = zclock_mono();
    while (fairq_size(service->queue) > 0) {
        worker_t *worker = s_pick_worker(service);
        if (worker == NULL)
            break;
        call_t *call = fairq_peek(service->queue);
        void *handle = call->handle;
        call->handle = NULL;
        int rc = s_send_request(self, worker, call, now);
        if (rc == TH_ENOMEM) {
            call->handle = handle; /* it waits; the next free slot tries again */
            break;
        }
        if (rc != 0) {
            call->handle = handle;
            broker__worker_remove(self, worker, "worker unreachable", false);
            continue;
        }
        /* The call just sent is the one fairq_pop takes; popping (not
         * removing) moves its principal to the back of the turns. */
        fairq_pop(service->queue);
        self->queued_bytes -= call->queued_bytes;
        call->queued_bytes = 0;
    }
}

/* After a worker got free capacity: serve what waits for its services. */
void
broker__worker_dispatch(broker_t *self, worker_t *worker)
{
    /* Dispatching may remove workers (an unreachable one), even this one:
     * work on a copy of its service list. Registered services are never
     * freed, so the pointers stay valid. */
    service_t *services[WORKER_SERVICES_MAX];
    size_t n = worker->n_services;
    memcpy(services, worker->services, n * sizeof *services);
    for (size_t i = 0; i < n; i++)
        if (fairq_size(services[i]->queue) > 0)
            broker__dispatch(self, services[i]);
}

/* --- the client side ------------------------------------------------------------ */

static const th_principal_t *
s_client_principal(broker_t *self, zframe_t *frame)
{
    if (self->config.insecure)
        return &self->insecure_principal;
    const th_principal_t *principal =
        principals_lookup(self->principals, zframe_meta(frame, "User-Id"));
    if (principal == NULL || !principals_role_is_user(principal->role))
        return NULL;
    return principal;
}

/* True when a caller of role service names the principal it calls for:
 * only then does the metadata teilhabe-on-behalf-of reach the worker. */
static bool
s_may_speak_for_others(const th_principal_t *principal)
{
    return principal->role != NULL && strcmp(principal->role, "service") == 0;
}

/* Removes metadata entries with the reserved prefix: only teilhabe itself
 * may speak under that name. The one exception is teilhabe-on-behalf-of
 * from a caller of role service (checked by s_check_on_behalf_of), which
 * the worker writes into its audit row; from anyone else it is removed
 * like the rest, so no client can make a write look like someone else's. */
static void
s_strip_metadata(th_request_header_t *header, const th_principal_t *principal)
{
    size_t kept = 0;
    const bool speaks_for_others = s_may_speak_for_others(principal);
    for (size_t i = 0; i < header->n_metadata; i++) {
        Teilhabe__Rpc__V1__MetadataEntry *entry = header->metadata[i];
        const bool reserved =
            entry->key != NULL && strncasecmp(entry->key, RESERVED_METADATA_PREFIX,
                                              strlen(RESERVED_METADATA_PREFIX)) == 0;
        if (reserved && !(speaks_for_others && strcmp(entry->key, TH_WIRE_ON_BEHALF_OF) == 0))
            protobuf_c_message_free_unpacked(&entry->base, NULL);
        else
            header->metadata[kept++] = entry;
    }
    header->n_metadata = kept;
}

/* A service's teilhabe-on-behalf-of must be one principal id: anything
 * else is a bug in that service, answered rather than passed on into an
 * audit row. TH_OK, or INVALID_ARGUMENT with errbuf saying why. */
static int
s_check_on_behalf_of(const th_request_header_t *header, const th_principal_t *principal,
                     char *errbuf, size_t errlen)
{
    if (!s_may_speak_for_others(principal))
        return TH_OK;
    size_t seen = 0;
    for (size_t i = 0; i < header->n_metadata; i++) {
        const Teilhabe__Rpc__V1__MetadataEntry *entry = header->metadata[i];
        if (entry->key == NULL || strcmp(entry->key, TH_WIRE_ON_BEHALF_OF) != 0)
            continue;
        if (++seen > 1 || !th_check_principal_id(entry->value)) {
            snprintf(errbuf, errlen,
                     "metadata %s must be given once, as a principal id ([a-z0-9], then "
                     "[a-z0-9._-], at most 64 characters)",
                     TH_WIRE_ON_BEHALF_OF);
            return TH_INVALID_ARGUMENT;
        }
    }
    return TH_OK;
}

/* Routes a checked request to its service: straight to a free worker, or
 * into the service's queue. Takes ownership of *client_p and *body_p. */
static void
s_route(broker_t *self, zframe_t **client_p, th_request_header_t *header,
        const th_principal_t *principal, zframe_t **body_p)
{
    zframe_t *client = *client_p;
    char name[TH_WIRE_METHOD_MAX + 1];
    char message[TH_WIRE_METHOD_MAX * 2 + 128];
    uint64_t call_id = header->call_id;
    if (th_wire_split_method(header->method, name, sizeof name) != 0)
        return; /* checked before; cannot happen */
    const char *method = strchr(header->method, '/') + 1;
    service_t *service = zhashx_lookup(self->services, name);
    /* The methods are those the live workers announced; with none live the
     * call waits for one, which answers for its own methods. */
    if (strcmp(name, HEALTH_SERVICE) == 0 || strcmp(name, BROKER_SERVICE) == 0 ||
        (service != NULL && zlistx_size(service->workers) > 0 && service->any_method == 0 &&
         zhashx_lookup(service->methods, method) == NULL)) {
        snprintf(message, sizeof message, "method %s is not implemented by service %s",
                 method, name);
        broker__send_reply(self, client, call_id, TH_UNIMPLEMENTED, message, 0, NULL, 0);
        return;
    }
    if (service == NULL && self->pending_services >= PENDING_SERVICES_MAX) {
        snprintf(message, sizeof message, "unknown service %s: no worker has registered it",
                 name);
        broker__send_reply(self, client, call_id, TH_UNIMPLEMENTED, message, 0, NULL, 0);
        return;
    }
    if (service != NULL && fairq_size(service->queue) >= self->config.queue_max) {
        snprintf(message, sizeof message,
                 "too many calls waiting for service %s (%zu); try again later", name,
                 fairq_size(service->queue));
        broker__send_reply(self, client, call_id, TH_RESOURCE_EXHAUSTED, message,
                           QUEUE_FULL_RETRY_MS, NULL, 0);
        return;
    }
    /* One principal's share of the queue is bounded (however many
     * connections it uses): a flooder is told to slow down, and the others
     * keep their turns. */
    size_t waiting = service != NULL ? fairq_lane_size(service->queue, principal->id) : 0;
    if (waiting >= self->config.queue_max_per_principal) {
        snprintf(message, sizeof message,
                 "you have too many calls waiting for service %s (%zu, at most %zu per "
                 "principal); try again later",
                 name, waiting, self->config.queue_max_per_principal);
        broker__send_reply(self, client, call_id, TH_RESOURCE_EXHAUSTED, message,
                           QUEUE_FULL_RETRY_MS, NULL, 0);
        return;
    }
    call_t *call = calloc(1, sizeof *call);
    if (call == NULL) {
        broker__send_reply(self, client, call_id, TH_RESOURCE_EXHAUSTED,
                           "broker out of memory", 1000, NULL, 0);
        return;
    }
    service = broker__service_get(self, name, true);
    int64_t now = zclock_mono();
    uint32_t timeout = header->timeout_ms > 0 ? header->timeout_ms
                                              : (uint32_t) self->config.default_timeout_ms;
    /* A call may hold a queue slot and its body for at most max_timeout_ms,
     * whatever the client asked for (timeout_ms goes up to 49 days). */
    if (timeout > (uint32_t) self->config.max_timeout_ms)
        timeout = (uint32_t) self->config.max_timeout_ms;
    s_strip_metadata(header, principal);
    if (header->principal != NULL)
        protobuf_c_message_free_unpacked(&header->principal->base, NULL);
    header->principal = (th_principal_t *) principal; /* borrowed: unset below */
    header->timeout_ms = timeout;
    call->header = th_wire_pack(&header->base);
    header->principal = NULL;
    call->id = ++self->next_id;
    call->call_id = call_id;
    call->deadline = now + timeout;
    call->expires = call->deadline;
    call->service = service;
    if (service == NULL || call->header == NULL || broker__heap_push(self, call) != 0) {
        broker__send_reply(self, client, call_id, TH_RESOURCE_EXHAUSTED,
                           "broker out of memory", 1000, NULL, 0);
        zframe_destroy(&call->header);
        free(call);
        if (service != NULL)
            broker__service_release(self, service);
        return;
    }
    call->client = client;
    *client_p = NULL;
    call->body = *body_p;
    *body_p = NULL;
    if (zhashx_insert(self->calls, &call->id, call) != 0) {
        broker__fail_call(self, call, TH_RESOURCE_EXHAUSTED, 1000, "broker out of memory");
        return;
    }

    if (fairq_size(service->queue) == 0) {
        worker_t *worker;
        while ((worker = s_pick_worker(service)) != NULL) {
            int rc = s_send_request(self, worker, call, now);
            if (rc == 0)
                return;
            if (rc == TH_ENOMEM)
                break; /* queue it: a later free slot tries again */
            broker__worker_remove(self, worker, "worker unreachable", false);
        }
    }
    /* Queued calls keep their request in the broker's memory; all of them
     * together may hold at most queue_max_bytes. */
    size_t bytes = zframe_size(call->header) + zframe_size(call->body);
    if (bytes > self->config.queue_max_bytes - self->queued_bytes) {
        snprintf(message, sizeof message,
                 "the broker holds too many waiting requests (%zu bytes queued); try again "
                 "later",
                 self->queued_bytes);
        broker__fail_call(self, call, TH_RESOURCE_EXHAUSTED, QUEUE_FULL_RETRY_MS, message);
        return;
    }
    call->waited = true;
    call->handle = fairq_push(service->queue, principal->id, call);
    if (call->handle == NULL) {
        broker__fail_call(self, call, TH_RESOURCE_EXHAUSTED, 1000, "broker out of memory");
        return;
    }
    call->queued_bytes = bytes;
    self->queued_bytes += bytes;
    if (zlistx_size(service->workers) == 0) {
        int64_t grace_end = now + self->config.grace_ms;
        if (grace_end < call->deadline) {
            call->grace = true;
            call->expires = grace_end;
            broker__heap_update(self, call);
        }
    }
    th_log_debug(call_id, "call queued", "request=%llu service=%s queued=%zu",
                 (unsigned long long) call->id, service->name, fairq_size(service->queue));
}

/* One message from the frontend. Answers or drops as docs/PROTOCOL.md
 * ("Malformed messages") says. */
void
broker__frontend_message(broker_t *self, zmsg_t *msg)
{
    char errbuf[512];
    ProtobufCMessage *unpacked = NULL;
    zframe_t *client = zmsg_pop(msg);
    size_t parts = zmsg_size(msg);
    zframe_t *sig = zmsg_first(msg);
    if (client == NULL || sig == NULL)
        goto cleanup;
    if (zframe_size(sig) < 3 || memcmp(zframe_data(sig), "THC", 3) != 0) {
        /* Not our protocol at all: answering could confuse whatever it
         * is, so drop it. */
        broker__note_drop(self, "frontend",
                          "first frame is not a teilhabe client signature");
        goto cleanup;
    }
    if (!th_wire_is_sig(sig, TH_WIRE_CLIENT_SIG)) {
        broker__send_reply(self, client, 0, TH_UNIMPLEMENTED,
                           "unsupported protocol version: this broker speaks THC01", 0,
                           NULL, 0);
        goto cleanup;
    }
    zframe_t *head = zmsg_next(msg);
    if (head == NULL) {
        snprintf(
            errbuf, sizeof errbuf,
            "a request has 3 frames (signature, RequestHeader, body); this one has %zu",
            parts);
        broker__send_reply(self, client, 0, TH_INVALID_ARGUMENT, errbuf, 0, NULL, 0);
        goto cleanup;
    }
    th_wire_fault_t fault;
    int rc = th_wire_unpack_fault(&teilhabe__rpc__v1__request_header__descriptor, head,
                                  TH_WIRE_HEADER_MAX, &unpacked, &fault);
    if (rc == TH_EINVAL) {
        /* A NUL or bad UTF-8 in a string field (th_wire checks the raw
         * bytes): name the field, and answer the caller's call id */
        snprintf(errbuf, sizeof errbuf, "field %s of the request header %s", fault.path,
                 fault.problem);
        broker__send_reply(self, client, th_wire_peek_call_id(head), TH_INVALID_ARGUMENT,
                           errbuf, 0, NULL, 0);
        goto cleanup;
    }
    if (rc == TH_ETOOBIG) {
        snprintf(errbuf, sizeof errbuf, "request header is %zu bytes; at most %d allowed",
                 zframe_size(head), TH_WIRE_HEADER_MAX);
        broker__send_reply(self, client, 0, TH_INVALID_ARGUMENT, errbuf, 0, NULL, 0);
        goto cleanup;
    }
    if (rc != 0) {
        broker__send_reply(self, client, 0, TH_INVALID_ARGUMENT,
                           "request header is not a valid teilhabe.rpc.v1.RequestHeader", 0,
                           NULL, 0);
        goto cleanup;
    }
    th_request_header_t *header = (th_request_header_t *) unpacked;
    uint64_t call_id = header->call_id;
    if (parts != 3) {
        snprintf(
            errbuf, sizeof errbuf,
            "a request has 3 frames (signature, RequestHeader, body); this one has %zu",
            parts);
        broker__send_reply(self, client, call_id, TH_INVALID_ARGUMENT, errbuf, 0, NULL, 0);
        goto cleanup;
    }
    const th_principal_t *principal = s_client_principal(self, sig);
    if (principal == NULL) {
        /* A refused client may retry in a tight loop: log once a second. */
        int64_t now = zclock_mono();
        if (now >= self->unauth_log_at) {
            char key[TH_LOG_QUOTE_SIZE];
            th_log_warn(call_id, "refused call: key not registered",
                        "key=%s refused_not_logged=%zu",
                        th_log_quote(key, sizeof key, zframe_meta(sig, "User-Id")),
                        self->unauth_unlogged);
            self->unauth_unlogged = 0;
            self->unauth_log_at = now + DROP_LOG_MS;
        } else {
            self->unauth_unlogged++;
        }
        broker__send_reply(
            self, client, call_id, TH_UNAUTHENTICATED,
            "your key is not (or no longer) registered; ask the administrator for a "
            "certificate",
            0, NULL, 0);
        goto cleanup;
    }
    int code = th_wire_check_request_header(header, errbuf, sizeof errbuf);
    if (code == TH_OK)
        code = s_check_on_behalf_of(header, principal, errbuf, sizeof errbuf);
    if (code != TH_OK) {
        broker__send_reply(self, client, call_id, code, errbuf, 0, NULL, 0);
        goto cleanup;
    }
    zframe_t *body = zmsg_next(msg);
    if (zframe_size(body) > self->config.max_message_size) {
        snprintf(errbuf, sizeof errbuf, "request body is %zu bytes; at most %zu allowed",
                 zframe_size(body), self->config.max_message_size);
        broker__send_reply(self, client, call_id, TH_RESOURCE_EXHAUSTED, errbuf, 0, NULL,
                           0);
        goto cleanup;
    }
    if (strcmp(header->method, HEALTH_CHECK) == 0) {
        broker__health_check(self, client, call_id, body);
        goto cleanup;
    }
    if (strcmp(header->method, LIST_SERVICES) == 0) {
        broker__list_services(self, client, call_id, body);
        goto cleanup;
    }
    zmsg_remove(msg, body);
    s_route(self, &client, header, principal, &body);
    zframe_destroy(&body);
cleanup:
    if (unpacked != NULL)
        protobuf_c_message_free_unpacked(unpacked, NULL);
    zframe_destroy(&client);
    zmsg_destroy(&msg);
}
