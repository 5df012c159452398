/* ---------------------------------------------------------------------------
 * workers.c: the worker side of the broker: READY (registration), REPLY,
 * heartbeats and the removal of workers that left, died or broke the
 * protocol
 * ---------------------------------------------------------------------------
 */
#include "broker_int.h"

#include "th_error.h"
#include "th_log.h"
#include "th_status.h"

#include "teilhabe/v1/broker.pb-c.h"

#include <stdio.h>
#include <string.h>

/* --- worker table ------------------------------------------------------------- */

void
broker__worker_free(worker_t *worker)
{
    zframe_destroy(&worker->identity);
    zlistx_destroy(&worker->calls);
    if (worker->ready != NULL)
        protobuf_c_message_free_unpacked(&worker->ready->base, NULL);
    free(worker->instance);
    free(worker);
}

/* Tells a worker connection DISCONNECT. Whether the command leaves does
 * not matter: a peer it cannot reach is gone already, and the broker has
 * forgotten it either way. */
static void
s_disconnect(broker_t *self, zframe_t *identity)
{
    if (broker__send_command(self, identity, TH_CMD_DISCONNECT) != 0)
        th_log_debug(0, "DISCONNECT not sent: the connection is gone", NULL);
}

/* Counts the methods info announces into service (live workers per
 * method), or takes them out again (delta -1) when the worker leaves. */
static void
s_count_methods(service_t *service, const Teilhabe__Broker__V1__ServiceInfo *info,
                int delta)
{
    if (info->n_methods == 0) {
        service->any_method += delta > 0 ? 1 : -1;
        return;
    }
    for (size_t k = 0; k < info->n_methods; k++) {
        uintptr_t count = (uintptr_t) zhashx_lookup(service->methods, info->methods[k]);
        if (delta > 0 && count == 0) {
            /* Out of memory leaves the method unlisted: its calls get
             * UNIMPLEMENTED, nothing worse. */
            zhashx_insert(service->methods, info->methods[k], (void *) (uintptr_t) 1);
        } else if (delta > 0) {
            zhashx_update(service->methods, info->methods[k], (void *) (count + 1));
        } else if (count == 1) {
            zhashx_delete(service->methods, info->methods[k]);
        } else if (count > 1) {
            zhashx_update(service->methods, info->methods[k], (void *) (count - 1));
        }
    }
}

/* Removes worker: its calls in flight fail with UNAVAILABLE (the client may
 * retry), and calls waiting for one of its services start their grace
 * period when it was the service's last worker. */
void
broker__worker_remove(broker_t *self, worker_t *worker, const char *reason,
                      bool say_disconnect)
{
    char instance[TH_LOG_QUOTE_SIZE];
    th_log_info(0, "worker removed", "worker=%s instance=%s reason=\"%s\" in_flight=%u",
                worker->label, th_log_quote(instance, sizeof instance, worker->instance),
                reason, worker->in_flight);
    zhashx_delete(self->workers, worker->identity);
    call_t *call;
    while ((call = zlistx_first(worker->calls)) != NULL)
        broker__fail_call(self, call, TH_UNAVAILABLE, (uint32_t) self->config.heartbeat_ms,
                          "the worker handling this call stopped; it is safe to retry");
    int64_t now = zclock_mono();
    for (size_t i = 0; i < worker->n_services; i++) {
        service_t *service = worker->services[i];
        zlistx_delete(service->workers, worker->service_handles[i]);
        s_count_methods(service, worker->service_infos[i], -1);
        if (zlistx_size(service->workers) > 0)
            continue;
        self->services_down++;
        service->down_since = now;
        int64_t grace_end = now + self->config.grace_ms;
        for (call_t *queued = fairq_first(service->queue); queued != NULL;
             queued = fairq_next(service->queue)) {
            if (grace_end < queued->deadline) {
                queued->grace = true;
                queued->expires = grace_end;
                broker__heap_update(self, queued);
            }
        }
    }
    if (say_disconnect)
        s_disconnect(self, worker->identity);
    broker__worker_free(worker);
}

/* --- the worker side ---------------------------------------------------------- */

static bool
s_worker_authorized(broker_t *self, zframe_t *frame, const th_principal_t **principal)
{
    *principal = NULL;
    if (self->config.insecure)
        return true;
    *principal = principals_lookup(self->principals, zframe_meta(frame, "User-Id"));
    return *principal != NULL && strcmp((*principal)->role, "worker") == 0;
}

/* True when the worker key principal may serve service name. */
static bool
s_key_allows(const th_principal_t *principal, const char *name)
{
    for (size_t i = 0; i < principal->n_services; i++)
        if (strcmp(principal->services[i], name) == 0)
            return true;
    return false;
}

/* The first service of ready that the worker key may not serve, or NULL
 * when it may serve them all. Without a principal (insecure mode) any
 * worker serves anything. */
static const char *
s_ready_denied(const th_principal_t *principal,
               const Teilhabe__Broker__V1__WorkerReady *ready)
{
    if (principal == NULL)
        return NULL;
    for (size_t i = 0; i < ready->n_services; i++)
        if (!s_key_allows(principal, ready->services[i]->name))
            return ready->services[i]->name;
    return NULL;
}

/* Refuses a READY naming a service outside the key's list: DISCONNECT.
 * The worker runtime reconnects and tries again (with backoff), so this is
 * logged once per key, not per attempt. */
static void
s_refuse_ready(broker_t *self, zframe_t *identity, const th_principal_t *principal,
               const char *service)
{
    if (zhashx_lookup(self->refused_keys, principal->public_key) == NULL) {
        if (zhashx_size(self->refused_keys) >= REFUSED_KEYS_MAX)
            zhashx_purge(self->refused_keys);
        /* Should the insert fail (out of memory), the key is logged again
         * next time: no harm. */
        zhashx_insert(self->refused_keys, principal->public_key, (void *) "");
        char key[TH_LOG_QUOTE_SIZE], id[TH_LOG_QUOTE_SIZE], name[TH_LOG_QUOTE_SIZE];
        th_log_warn(0,
                    principal->n_services == 0
                        ? "refused READY: the worker key names no services it may serve"
                        : "refused READY: the worker key may not serve this service",
                    "key=%s principal=%s service=%s allowed=%zu (logged once per key)",
                    th_log_quote(key, sizeof key, principal->public_key),
                    th_log_quote(id, sizeof id, principal->id),
                    th_log_quote(name, sizeof name, service), principal->n_services);
    }
    s_disconnect(self, identity);
}

/* Why worker may no longer serve under its key, or NULL when it may. */
static const char *
s_worker_revoked(broker_t *self, const worker_t *worker)
{
    const th_principal_t *principal = principals_lookup(self->principals, worker->key);
    if (principal == NULL || strcmp(principal->role, "worker") != 0)
        return "key no longer registered as a worker key";
    for (size_t i = 0; i < worker->n_services; i++)
        if (!s_key_allows(principal, worker->services[i]->name))
            return "key no longer names one of the services the worker serves";
    return NULL;
}

/* A worker broke the protocol: tell it to go away and forget it. */
static void
s_violation(broker_t *self, zframe_t *identity, worker_t *worker, const char *reason)
{
    if (worker != NULL) {
        broker__worker_remove(self, worker, reason, true);
    } else {
        broker__note_drop(self, "backend", reason);
        s_disconnect(self, identity);
    }
}

static bool
s_identifier_valid(const char *s, size_t max)
{
    size_t len = s != NULL ? strlen(s) : 0;
    if (len == 0 || len > max ||
        !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

/* Checks a WorkerReady. NULL when valid, else the reason. */
static const char *
s_ready_problem(const Teilhabe__Broker__V1__WorkerReady *ready)
{
    if (ready->capacity == 0)
        return "READY with capacity 0";
    if (ready->n_services == 0 || ready->n_services > WORKER_SERVICES_MAX)
        return "READY must name 1 to 64 services";
    for (size_t i = 0; i < ready->n_services; i++) {
        const Teilhabe__Broker__V1__ServiceInfo *info = ready->services[i];
        if (!th_wire_service_name_valid(info->name))
            return "READY names a service that is not of the form pkg.v1.Service";
        if (strcmp(info->name, HEALTH_SERVICE) == 0 ||
            strcmp(info->name, BROKER_SERVICE) == 0)
            return "READY names a service the broker answers itself";
        for (size_t k = 0; k < info->n_methods; k++)
            if (!s_identifier_valid(info->methods[k], TH_WIRE_METHOD_MAX))
                return "READY names a method that is not an identifier";
    }
    if (ready->instance != NULL &&
        !th_wire_utf8_valid(ready->instance, strlen(ready->instance)))
        return "READY instance is not UTF-8";
    return NULL;
}

/* Checks that registering ready keeps the broker's tables within their
 * limits: at most max_services registered services, at most
 * max_methods_per_service methods announced by the live workers of one
 * service. NULL when it does, else the reason. */
static const char *
s_ready_over_limits(broker_t *self, const Teilhabe__Broker__V1__WorkerReady *ready)
{
    const char *problem = NULL;
    size_t new_services = 0;
    zhashx_t *seen = zhashx_new();
    if (seen == NULL)
        return "broker out of memory";
    for (size_t i = 0; i < ready->n_services && problem == NULL; i++) {
        const Teilhabe__Broker__V1__ServiceInfo *info = ready->services[i];
        if (zhashx_insert(seen, info->name, (void *) "") != 0)
            continue; /* named twice: only the first counts */
        const service_t *service = zhashx_lookup(self->services, info->name);
        if (service == NULL || !service->registered)
            new_services++;
        size_t methods = service != NULL ? zhashx_size(service->methods) : 0;
        for (size_t k = 0; k < info->n_methods && problem == NULL; k++)
            if ((service == NULL ||
                 zhashx_lookup(service->methods, info->methods[k]) == NULL) &&
                ++methods > self->config.max_methods_per_service)
                problem = "READY would give a service more methods than "
                          "max_methods_per_service";
        /* Methods named twice in one list are counted twice: harmless, the
         * limit is about memory, not about names. */
    }
    if (problem == NULL &&
        self->services_registered + new_services > self->config.max_services)
        problem = "READY would register more services than max_services";
    zhashx_destroy(&seen);
    return problem;
}

static void
s_worker_ready(broker_t *self, zframe_t **identity_p, worker_t *existing,
               const th_principal_t *principal, zmsg_t *msg)
{
    ProtobufCMessage *unpacked = NULL;
    worker_t *worker = NULL;
    zframe_t *payload = zmsg_next(msg);
    if (zmsg_size(msg) != 3 || payload == NULL) {
        s_violation(self, *identity_p, existing,
                    "READY must carry exactly one WorkerReady frame");
        goto cleanup;
    }
    if (th_wire_unpack(&teilhabe__broker__v1__worker_ready__descriptor, payload, READY_MAX,
                       &unpacked) != 0) {
        s_violation(self, *identity_p, existing,
                    "READY payload is not a valid WorkerReady");
        goto cleanup;
    }
    const Teilhabe__Broker__V1__WorkerReady *ready =
        (const Teilhabe__Broker__V1__WorkerReady *) unpacked;
    const char *problem = s_ready_problem(ready);
    if (problem != NULL) {
        s_violation(self, *identity_p, existing, problem);
        goto cleanup;
    }
    if (existing != NULL)
        broker__worker_remove(self, existing, "worker sent READY again", false);
    /* A worker key names the services it may serve; whoever holds one key
     * must not take the calls (principals, bodies) of another service. */
    const char *denied = s_ready_denied(principal, ready);
    if (denied != NULL) {
        s_refuse_ready(self, *identity_p, principal, denied);
        goto cleanup;
    }
    problem = s_ready_over_limits(self, ready);
    if (problem != NULL) {
        s_violation(self, *identity_p, NULL, problem);
        goto cleanup;
    }
    worker = calloc(1, sizeof *worker);
    if (worker == NULL || (worker->calls = zlistx_new()) == NULL)
        goto cleanup;
    worker->identity = *identity_p;
    *identity_p = NULL;
    /* The worker keeps its READY: its method lists are counted out of the
     * services again when it leaves. */
    worker->ready = (Teilhabe__Broker__V1__WorkerReady *) unpacked;
    unpacked = NULL;
    char *hex = zframe_strhex(worker->identity);
    snprintf(worker->label, sizeof worker->label, "%s", hex != NULL ? hex : "?");
    free(hex);
    worker->instance = strdup(ready->instance != NULL ? ready->instance : "");
    if (worker->instance == NULL) {
        s_disconnect(self, worker->identity); /* out of memory: let it try again */
        goto cleanup;
    }
    if (principal != NULL)
        snprintf(worker->key, sizeof worker->key, "%s", principal->public_key);
    /* The broker hands the worker with the most free slots the next call:
     * an announced capacity is capped, so no worker can draw every call. */
    worker->capacity = ready->capacity;
    if (worker->capacity > self->config.worker_capacity_max) {
        worker->capacity = self->config.worker_capacity_max;
        char instance[TH_LOG_QUOTE_SIZE];
        th_log_warn(0, "worker capacity capped",
                    "worker=%s instance=%s announced=%u capacity=%u", worker->label,
                    th_log_quote(instance, sizeof instance, worker->instance),
                    ready->capacity, worker->capacity);
    }
    worker->expires =
        zclock_mono() + (int64_t) self->config.heartbeat_ms * self->config.liveness;
    for (size_t i = 0; i < ready->n_services; i++) {
        const Teilhabe__Broker__V1__ServiceInfo *info = ready->services[i];
        service_t *service = broker__service_get(self, info->name, true);
        if (service == NULL)
            continue;
        bool duplicate = false;
        for (size_t k = 0; k < worker->n_services; k++)
            duplicate |= worker->services[k] == service;
        if (duplicate)
            continue;
        void *handle = zlistx_add_end(service->workers, worker);
        if (handle == NULL) {
            /* Out of memory: the worker serves its other services; a name
             * nobody else registered is forgotten again. */
            broker__service_release(self, service);
            continue;
        }
        if (!service->registered) {
            service->registered = true;
            self->pending_services--;
            self->services_registered++;
        } else if (zlistx_size(service->workers) == 1) {
            self->services_down--;
        }
        s_count_methods(service, info, +1);
        worker->service_infos[worker->n_services] = info;
        worker->services[worker->n_services] = service;
        worker->service_handles[worker->n_services] = handle;
        worker->n_services++;
        /* Calls waiting out a grace period now wait for this worker instead. */
        for (call_t *queued = fairq_first(service->queue); queued != NULL;
             queued = fairq_next(service->queue)) {
            if (queued->grace) {
                queued->grace = false;
                queued->expires = queued->deadline;
                broker__heap_update(self, queued);
            }
        }
    }
    if (zhashx_insert(self->workers, worker->identity, worker) != 0) {
        /* Out of memory: undo the registration, and let it try again. */
        broker__worker_remove(self, worker, "broker out of memory", true);
        worker = NULL;
        goto cleanup;
    }
    char instance[TH_LOG_QUOTE_SIZE];
    th_log_info(0, "worker ready", "worker=%s instance=%s capacity=%u services=%zu",
                worker->label, th_log_quote(instance, sizeof instance, worker->instance),
                worker->capacity, worker->n_services);
    worker_t *ready_worker = worker;
    worker = NULL;
    broker__worker_dispatch(self, ready_worker);
cleanup:
    if (worker != NULL)
        broker__worker_free(worker);
    if (unpacked != NULL)
        protobuf_c_message_free_unpacked(unpacked, NULL);
}

static void
s_worker_reply(broker_t *self, zframe_t *identity, worker_t *worker, zmsg_t *msg)
{
    ProtobufCMessage *unpacked = NULL;
    zframe_t *id_frame = zmsg_next(msg);
    zframe_t *head = zmsg_next(msg);
    zframe_t *body = zmsg_next(msg);
    uint64_t id = 0;
    if (zmsg_size(msg) != 5 || th_wire_id_decode(id_frame, &id) != 0) {
        s_violation(self, identity, worker,
                    "REPLY must be [request id | ResponseHeader | body]");
        goto cleanup;
    }
    call_t *call = zhashx_lookup(self->calls, &id);
    if (call == NULL || call->worker != worker) {
        /* Normal after a deadline: the client has had its answer. */
        th_log_debug(0, "late or unknown reply dropped", "request=%llu worker=%s",
                     (unsigned long long) id, worker->label);
        goto cleanup;
    }
    if (th_wire_unpack(&teilhabe__rpc__v1__response_header__descriptor, head,
                       TH_WIRE_HEADER_MAX, &unpacked) != 0) {
        broker__fail_call(
            self, call, TH_INTERNAL, 0,
            "the worker sent a malformed reply; the call may or may not have taken "
            "effect");
        s_violation(self, identity, worker, "REPLY header is not a valid ResponseHeader");
        goto cleanup;
    }
    th_response_header_t *header = (th_response_header_t *) unpacked;
    if (header->call_id != call->call_id || (uint32_t) header->code > TH_STATUS_MAX) {
        /* The client matches replies by its own call id, so that is what
         * it gets, whatever the worker wrote. */
        header->call_id = call->call_id;
        if ((uint32_t) header->code > TH_STATUS_MAX)
            header->code = TEILHABE__RPC__V1__STATUS_CODE__UNKNOWN;
        zframe_t *packed = th_wire_pack(unpacked);
        if (packed == NULL) {
            broker__fail_call(self, call, TH_INTERNAL, 0, "broker out of memory");
            broker__worker_dispatch(self, worker);
            goto cleanup;
        }
        zmsg_remove(msg, head);
        zframe_destroy(&head);
        head = packed;
    } else {
        zmsg_remove(msg, head);
    }
    zmsg_remove(msg, body);
    /* The body is the response message only when the code is OK; a worker
     * that sends one with an error must not leak partial data to the
     * client, which would not look at it anyway. */
    if (header->code != TEILHABE__RPC__V1__STATUS_CODE__OK && zframe_size(body) > 0) {
        th_log_debug(call->call_id, "body of a failed reply dropped",
                     "request=%llu worker=%s code=%s bytes=%zu", (unsigned long long) id,
                     worker->label, th_status_name(header->code), zframe_size(body));
        zframe_reset(body, "", 0);
    }
    if (broker__send_identity(self->frontend, call->client) == 0) {
        /* After the first part libzmq takes the rest; a failure is a broken
         * socket, and the client's own timer ends the call. */
        void *socket = zsock_resolve(self->frontend);
        if (zmq_send(socket, TH_WIRE_CLIENT_SIG, TH_WIRE_SIG_LEN, ZMQ_SNDMORE) < 0 ||
            zframe_send(&head, socket, ZFRAME_MORE) != 0 ||
            zframe_send(&body, socket, 0) != 0)
            th_log_warn(call->call_id, "reply lost: frontend socket failed",
                        "request=%llu error=\"%s\"", (unsigned long long) id,
                        zmq_strerror(zmq_errno()));
        zframe_destroy(&head);
        zframe_destroy(&body);
    } else {
        th_log_debug(call->call_id, "reply dropped: client gone or not reading", NULL);
        zframe_destroy(&head);
        zframe_destroy(&body);
    }
    th_log_debug(call->call_id, "call answered", "request=%llu worker=%s code=%s",
                 (unsigned long long) id, worker->label, th_status_name(header->code));
    broker__call_finish(self, call);
    broker__worker_dispatch(self, worker);
cleanup:
    if (unpacked != NULL)
        protobuf_c_message_free_unpacked(unpacked, NULL);
}

void
broker__backend_message(broker_t *self, zmsg_t *msg)
{
    zframe_t *identity = zmsg_pop(msg);
    zframe_t *sig = zmsg_first(msg);
    zframe_t *command = zmsg_next(msg);
    if (identity == NULL || sig == NULL)
        goto cleanup;
    worker_t *worker = zhashx_lookup(self->workers, identity);
    if (!th_wire_is_sig(sig, TH_WIRE_WORKER_SIG)) {
        if (zframe_size(sig) >= 3 && memcmp(zframe_data(sig), "THW", 3) == 0)
            s_violation(self, identity, worker, "unsupported worker protocol version");
        else if (worker != NULL)
            s_violation(self, identity, worker, "first frame is not the worker signature");
        else
            broker__note_drop(self, "backend",
                              "first frame is not a teilhabe worker signature");
        goto cleanup;
    }
    if (command == NULL || zframe_size(command) != 1) {
        s_violation(self, identity, worker, "command frame must be exactly one byte");
        goto cleanup;
    }
    const th_principal_t *principal = NULL;
    if (!s_worker_authorized(self, sig, &principal)) {
        char key[TH_LOG_QUOTE_SIZE];
        th_log_warn(0, "worker key no longer registered as a worker", "key=%s",
                    th_log_quote(key, sizeof key, zframe_meta(sig, "User-Id")));
        if (worker != NULL)
            broker__worker_remove(self, worker, "key no longer registered", true);
        else
            s_disconnect(self, identity);
        goto cleanup;
    }
    byte cmd = zframe_data(command)[0];
    if (worker == NULL && cmd != TH_CMD_READY) {
        /* A worker the broker does not know (it restarted, or the worker
         * was declared dead): make it reconnect and register again. */
        if (cmd != TH_CMD_DISCONNECT)
            s_disconnect(self, identity);
        goto cleanup;
    }
    if (worker != NULL)
        worker->expires =
            zclock_mono() + (int64_t) self->config.heartbeat_ms * self->config.liveness;
    switch (cmd) {
    case TH_CMD_READY: s_worker_ready(self, &identity, worker, principal, msg); break;
    case TH_CMD_REPLY: s_worker_reply(self, identity, worker, msg); break;
    case TH_CMD_HEARTBEAT: break;
    case TH_CMD_DISCONNECT:
        broker__worker_remove(self, worker, "worker said DISCONNECT", false);
        break;
    default: s_violation(self, identity, worker, "unknown or misdirected command"); break;
    }
cleanup:
    zframe_destroy(&identity);
    zmsg_destroy(&msg);
}

/* --- timers ---------------------------------------------------------------- */

/* Sends heartbeats and buries workers that fell silent. */
/* Heartbeats every worker; with check_liveness, removes those silent past
 * their liveness first. A worker a heartbeat cannot reach is gone (killed,
 * crashed, its connection closed): it is removed at once and its calls in
 * flight fail UNAVAILABLE now, not when its liveness runs out. */
static void
s_heartbeat_all(broker_t *self, int64_t now, bool check_liveness)
{
    zlistx_t *silent = zlistx_new();
    zlistx_t *unreachable = zlistx_new();
    if (silent == NULL || unreachable == NULL)
        goto cleanup; /* out of memory: the next tick tries again */
    for (worker_t *worker = zhashx_first(self->workers); worker != NULL;
         worker = zhashx_next(self->workers)) {
        if (check_liveness && now >= worker->expires) {
            if (zlistx_add_end(silent, worker) == NULL)
                break;
        } else if (broker__send_command(self, worker->identity, TH_CMD_HEARTBEAT) != 0) {
            if (zlistx_add_end(unreachable, worker) == NULL)
                break;
        }
    }
    for (worker_t *worker = zlistx_first(silent); worker != NULL;
         worker = zlistx_next(silent))
        broker__worker_remove(self, worker, "no heartbeat within the liveness interval",
                              true);
    for (worker_t *worker = zlistx_first(unreachable); worker != NULL;
         worker = zlistx_next(unreachable))
        broker__worker_remove(self, worker,
                              "could not send to the worker: its connection is gone or it "
                              "does not read",
                              false);
cleanup:
    zlistx_destroy(&silent);
    zlistx_destroy(&unreachable);
}

void
broker__heartbeat(broker_t *self, int64_t now)
{
    s_heartbeat_all(self, now, true);
    self->next_heartbeat = now + self->config.heartbeat_ms;
}

void
broker__probe_workers(broker_t *self)
{
    s_heartbeat_all(self, zclock_mono(), false);
}

/* After the principal map changed: a worker whose key is gone, is no
 * longer a worker key, or no longer names one of the worker's services is
 * told DISCONNECT and removed (its calls in flight fail UNAVAILABLE). */
void
broker__workers_recheck(broker_t *self)
{
    if (self->config.insecure)
        return;
    zlistx_t *gone = zlistx_new();
    if (gone == NULL)
        return;
    for (worker_t *worker = zhashx_first(self->workers); worker != NULL;
         worker = zhashx_next(self->workers))
        if (s_worker_revoked(self, worker) != NULL &&
            zlistx_add_end(gone, worker) == NULL) {
            /* Out of memory: the rest are checked again with the next
             * principal update; their role is checked on every message. */
            th_log_warn(0, "could not check every worker's key: out of memory", NULL);
            break;
        }
    for (worker_t *worker = zlistx_first(gone); worker != NULL; worker = zlistx_next(gone))
        broker__worker_remove(self, worker, s_worker_revoked(self, worker), true);
    zlistx_destroy(&gone);
}
