/* ---------------------------------------------------------------------------
 * th_worker.c: the worker runtime (broker link, main loop, start-up work)
 *
 * Threads: the thread in th_worker_run owns the DEALER to the broker's
 * backend. It sends READY and heartbeats, watches the broker's liveness and
 * reconnects (with a new socket, so a restarted broker sees a fresh peer and
 * gets READY again). Each REQUEST goes to one of `capacity` handler threads
 * (th_handler.c; each owns its own database connection), which decodes,
 * checks and dispatches the call and returns the finished REPLY frames.
 *
 * Hand-off: the main thread binds one inproc ROUTER; every handler thread
 * connects a DEALER with a routing id naming its slot and blocks in a plain
 * receive on it. The main thread hands a call straight to an idle thread's
 * routing id and hears every reply on that one socket, so each pass of its
 * loop polls two sockets whatever the capacity (each socket polled costs
 * libzmq a system call or two), and a call wakes each thread once.
 *
 * No send or receive blocks: the broker DEALER sends with ZMQ_SNDTIMEO 0
 * and a send that fails counts as a broken link (new socket after backoff),
 * as does a broker silent for `liveness` heartbeats. That matters after a
 * refused CURVE handshake: libzmq 4.3 ends the session for good then
 * (src/session_base.cpp, session_base_t::engine_error: a protocol_error,
 * which src/stream_engine_base.cpp raises for a CURVE ERROR command, calls
 * terminate(), never reconnect()), so the DEALER has no pipe left and a
 * blocking send would wait forever. Only a new socket connects again.
 *
 * Start-up work (th_worker_set_prepare): migrations and seeding run on a
 * thread of their own, retried with backoff, while the worker is already
 * registered and answers every call UNAVAILABLE; so a service starts while
 * its database is still unreachable, and serves once it comes.
 *
 * Shutdown: SIGTERM/SIGINT (CZMQ's handler sets zsys_interrupted) or
 * th_worker_stop start draining: requests that still arrive are answered
 * UNAVAILABLE at once (the client retries elsewhere), the calls in flight
 * finish and their replies go out, then the worker says DISCONNECT, so the
 * broker never loses a reply of a call it already routed here. Nothing of
 * this waits on the broker: DISCONNECT is sent without blocking, and the
 * socket lingers S_LINGER_MS only while the broker was heard lately.
 * ---------------------------------------------------------------------------
 */
#include "th_worker.h"

#include "th_curve.h"
#include "th_worker_int.h"

#include "th_error.h"
#include "th_log.h"
#include "th_status.h"

#include "teilhabe/v1/broker.pb-c.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_MAX_CAPACITY 256
#define S_RECONNECT_MIN_MS 100
#define S_RECONNECT_MAX_MS 2000
/* Start-up work is tried again after this, doubling up to the maximum */
#define S_PREPARE_RETRY_MIN_MS 500
#define S_PREPARE_RETRY_MAX_MS 10000
/* How long the final replies and DISCONNECT may take to leave. */
#define S_LINGER_MS 1000
/* Requests waiting for a free handler thread, at most. */
#define S_MAX_QUEUED 1024

/* How long the handler threads may take to connect at start-up. */
#define S_HANDLER_START_MS 5000

/* --- the worker ---------------------------------------------------------- */

th_worker_t *
th_worker_new(const th_worker_config_t *config, char *errbuf, size_t errlen)
{
    if (config == NULL || config->broker_endpoint == NULL || config->broker_endpoint[0] == '\0') {
        snprintf(errbuf, errlen, "no broker endpoint given (broker_endpoint)");
        return NULL;
    }
    /* CZMQ's first zsys_init is not thread-safe: do it here, in the
     * caller's thread, before th_worker_run (often on a thread of its own)
     * and the caller's own sockets can race to it. */
    if (zsys_init() == NULL) {
        snprintf(errbuf, errlen, "could not create the ZeroMQ context");
        return NULL;
    }
    th_worker_t *self = calloc(1, sizeof *self);
    if (self == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    self->capacity = config->capacity > 0 ? config->capacity : 4;
    self->heartbeat_ms = config->heartbeat_ms > 0 ? config->heartbeat_ms : 1000;
    self->liveness = config->liveness > 0 ? config->liveness : 3;
    self->max_message_size =
        config->max_message_size > 0 ? config->max_message_size : TH_WIRE_SOFT_MAX_DEFAULT;
    atomic_init(&self->stop_requested, false);
    atomic_init(&self->prepared, true);
    atomic_init(&self->prepare_failed, false);
    if (self->capacity > S_MAX_CAPACITY) {
        snprintf(errbuf, errlen, "capacity %d is too large; at most %d handler threads",
                 self->capacity, S_MAX_CAPACITY);
        goto failed;
    }
    self->endpoint = strdup(config->broker_endpoint);
    if (config->instance != NULL && config->instance[0] != '\0') {
        self->instance = strdup(config->instance);
    } else {
        char host[256] = "localhost";
        if (gethostname(host, sizeof host - 1) != 0)
            snprintf(host, sizeof host, "localhost");
        host[sizeof host - 1] = '\0';
        if (asprintf(&self->instance, "%s:%d", host, (int) getpid()) < 0)
            self->instance = NULL;
    }
    if (config->db_url != NULL && config->db_url[0] != '\0')
        self->db_url = strdup(config->db_url);
    if (self->endpoint == NULL || self->instance == NULL ||
        (config->db_url != NULL && config->db_url[0] != '\0' && self->db_url == NULL)) {
        snprintf(errbuf, errlen, "out of memory");
        goto failed;
    }
    if (config->broker_public_key != NULL && config->broker_public_key[0] != '\0') {
        self->cert = th_curve_load_identity(config->broker_public_key, config->cert_path,
                                            "worker", errbuf, errlen);
        if (self->cert == NULL)
            goto failed;
        self->broker_public_key = strdup(config->broker_public_key);
        if (self->broker_public_key == NULL) {
            snprintf(errbuf, errlen, "out of memory");
            goto failed;
        }
    }
    return self;

failed:
    th_worker_destroy(&self);
    return NULL;
}

void
th_worker_destroy(th_worker_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    th_worker_t *self = *self_p;
    for (size_t i = 0; i < self->n_services; i++)
        free(self->services[i].handlers);
    free(self->endpoint);
    free(self->broker_public_key);
    free(self->db_url);
    free(self->instance);
    zcert_destroy(&self->cert);
    free(self);
    *self_p = NULL;
}

int
th_worker_add_service(th_worker_t *self, const ProtobufCServiceDescriptor *desc,
                      const th_method_fn *handlers, void *state)
{
    if (self == NULL || desc == NULL || handlers == NULL || desc->n_methods == 0 ||
        self->n_services >= TH_WORKER_MAX_SERVICES)
        return TH_EINVAL;
    for (size_t i = 0; i < self->n_services; i++)
        if (strcmp(self->services[i].desc->name, desc->name) == 0)
            return TH_EINVAL;
    th_method_fn *copy = calloc(desc->n_methods, sizeof *copy);
    if (copy == NULL)
        return TH_ENOMEM;
    memcpy(copy, handlers, desc->n_methods * sizeof *copy);
    self->services[self->n_services++] = (th_worker_service_t){desc, copy, state};
    return 0;
}

int
th_worker_set_prepare(th_worker_t *self, th_worker_prepare_fn fn, void *arg)
{
    if (self == NULL || fn == NULL)
        return TH_EINVAL;
    self->prepare = fn;
    self->prepare_arg = arg;
    atomic_store(&self->prepared, false);
    return 0;
}

void
th_worker_stop(th_worker_t *self)
{
    if (self != NULL)
        atomic_store(&self->stop_requested, true);
}

/* --- the main loop ------------------------------------------------------- */

typedef struct {
    th_worker_t *worker;
    zsock_t *socket;
    int64_t last_heard;  /* the broker's last message, or the connect */
    bool heard;          /* the broker has said something on this socket */
    int64_t next_heartbeat;
    int64_t reconnect_at; /* > 0: no socket, connect then */
    int reconnect_backoff;
    unsigned int seed;
    th_worker_slot_t *slots;
    int busy;
    zlist_t *queue; /* zmsg_t * waiting for a free thread */
    bool draining;
    zsock_t *handlers; /* ROUTER: one DEALER per handler thread */
    char handlers_endpoint[96];
    atomic_bool handlers_stop;
    pthread_t prepare_thread;
    bool prepare_started;
    atomic_bool prepare_stop;
    atomic_int prepare_retry_ms; /* the wait before the next attempt */
} s_loop_t;

static void s_schedule_reconnect(s_loop_t *loop, const char *why);

static int
s_send_command(s_loop_t *loop, th_wire_cmd_t cmd, zmsg_t **body_p)
{
    zmsg_t *msg = body_p != NULL && *body_p != NULL ? *body_p : zmsg_new();
    if (body_p != NULL)
        *body_p = NULL;
    if (msg == NULL)
        return TH_ENOMEM;
    if (loop->socket == NULL) {
        zmsg_destroy(&msg);
        return TH_ESTATE;
    }
    byte command = (byte) cmd;
    if (zmsg_pushmem(msg, &command, 1) != 0 || zmsg_pushstr(msg, TH_WIRE_WORKER_SIG) != 0) {
        zmsg_destroy(&msg);
        return TH_ENOMEM;
    }
    /* The socket sends with ZMQ_SNDTIMEO 0: a send that cannot be queued at
     * once means no pipe to the broker (a refused handshake ended it) or a
     * broker that does not read; either way the link is broken. */
    if (zmsg_send(&msg, loop->socket) != 0) {
        zmsg_destroy(&msg);
        s_schedule_reconnect(loop, "could not send to the broker");
        return TH_EIO;
    }
    return 0;
}

static int
s_send_ready(s_loop_t *loop)
{
    th_worker_t *self = loop->worker;
    Teilhabe__Broker__V1__WorkerReady ready = TEILHABE__BROKER__V1__WORKER_READY__INIT;
    Teilhabe__Broker__V1__ServiceInfo infos[TH_WORKER_MAX_SERVICES];
    Teilhabe__Broker__V1__ServiceInfo *info_ptrs[TH_WORKER_MAX_SERVICES];
    char **names[TH_WORKER_MAX_SERVICES] = {NULL};
    int rc = TH_ENOMEM;
    for (size_t i = 0; i < self->n_services; i++) {
        const ProtobufCServiceDescriptor *desc = self->services[i].desc;
        teilhabe__broker__v1__service_info__init(&infos[i]);
        infos[i].name = (char *) desc->name;
        names[i] = calloc(desc->n_methods, sizeof(char *));
        if (names[i] == NULL)
            goto cleanup;
        for (unsigned m = 0; m < desc->n_methods; m++)
            names[i][m] = (char *) desc->methods[m].name;
        infos[i].n_methods = desc->n_methods;
        infos[i].methods = names[i];
        info_ptrs[i] = &infos[i];
    }
    ready.n_services = self->n_services;
    ready.services = info_ptrs;
    ready.capacity = (uint32_t) self->capacity;
    ready.instance = self->instance;
    zframe_t *frame = th_wire_pack(&ready.base);
    zmsg_t *msg = zmsg_new();
    if (frame == NULL || msg == NULL) {
        zframe_destroy(&frame);
        zmsg_destroy(&msg);
        goto cleanup;
    }
    if (zmsg_append(msg, &frame) != 0) {
        zframe_destroy(&frame);
        zmsg_destroy(&msg);
        goto cleanup;
    }
    rc = s_send_command(loop, TH_CMD_READY, &msg);
cleanup:
    for (size_t i = 0; i < self->n_services; i++)
        free(names[i]);
    return rc;
}

static void
s_disconnect_socket(s_loop_t *loop)
{
    zsock_destroy(&loop->socket);
}

/* A new socket to the broker, then READY. A new socket (not a reconnect
 * of the old one) makes the broker see a new peer identity, so nothing of
 * the old registration lingers on either side. */
static int
s_connect(s_loop_t *loop)
{
    th_worker_t *self = loop->worker;
    s_disconnect_socket(loop);
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    if (sock == NULL)
        return TH_EIO;
    zsock_set_linger(sock, 0);
    zsock_set_sndhwm(sock, 10000);
    zsock_set_rcvhwm(sock, 10000);
    /* Never block on the broker (see the top of this file); receives only
     * follow a poll that said a message is there. */
    zsock_set_sndtimeo(sock, 0);
    zsock_set_rcvtimeo(sock, 0);
    zsock_set_reconnect_ivl(sock, 100);
    zsock_set_reconnect_ivl_max(sock, 1000);
    size_t hard = TH_WIRE_HARD_MAX_DEFAULT + TH_WIRE_CURVE_OVERHEAD;
    if (self->max_message_size + TH_WIRE_HEADER_MAX + 64 > hard)
        hard = self->max_message_size + TH_WIRE_HEADER_MAX + 64;
    zsock_set_maxmsgsize(sock, hard > INT32_MAX ? INT32_MAX : (int) hard);
    if (self->cert != NULL) {
        zcert_apply(self->cert, sock);
        zsock_set_curve_serverkey(sock, self->broker_public_key);
    }
    if (zsock_connect(sock, "%s", self->endpoint) != 0) {
        th_log_error(0, "could not connect to the broker", "endpoint=\"%s\"", self->endpoint);
        zsock_destroy(&sock);
        return TH_EIO;
    }
    loop->socket = sock;
    int64_t now = zclock_mono();
    loop->last_heard = now;
    loop->heard = false;
    loop->next_heartbeat = now + self->heartbeat_ms;
    loop->reconnect_at = 0;
    th_log_info(0, "registering with the broker", "endpoint=\"%s\" instance=\"%s\" capacity=%d",
                self->endpoint, self->instance, self->capacity);
    /* A READY that cannot be queued has scheduled the next attempt */
    int rc = s_send_ready(loop);
    return rc == TH_EIO ? 0 : rc;
}

static void
s_schedule_reconnect(s_loop_t *loop, const char *why)
{
    if (loop->draining) {
        /* Stopping: nothing to register with any more */
        th_log_info(0, "the link to the broker broke while stopping", "reason=\"%s\"", why);
        s_disconnect_socket(loop);
        loop->reconnect_at = 0;
        return;
    }
    th_log_warn(0, "reconnecting to the broker", "reason=\"%s\" endpoint=\"%s\"", why,
                loop->worker->endpoint);
    s_disconnect_socket(loop);
    int backoff = loop->reconnect_backoff;
    int wait = backoff / 2 + (int) (rand_r(&loop->seed) % (unsigned) (backoff / 2 + 1));
    loop->reconnect_at = zclock_mono() + wait;
    loop->reconnect_backoff = backoff * 2 > S_RECONNECT_MAX_MS ? S_RECONNECT_MAX_MS : backoff * 2;
}

/* Gives queued requests to free handler threads: the routing id in front
 * takes the call straight to that thread. */
static void
s_dispatch_queued(s_loop_t *loop)
{
    th_worker_t *self = loop->worker;
    for (int i = 0; i < self->capacity && zlist_size(loop->queue) > 0; i++) {
        if (loop->slots[i].busy)
            continue;
        zmsg_t *msg = zlist_pop(loop->queue);
        byte routing_id[TH_WORKER_SLOT_ID_LEN] = {TH_WORKER_SLOT_TAG};
        memcpy(routing_id + 1, &loop->slots[i].index, sizeof loop->slots[i].index);
        if (zmsg_pushmem(msg, routing_id, sizeof routing_id) != 0 ||
            zmsg_send(&msg, loop->handlers) != 0) {
            /* Unreachable thread (it never starts late: start-up waited for
             * every one); the broker's deadline answers this call. */
            th_log_error(0, "could not hand a call to a handler thread", "slot=%d", i);
            zmsg_destroy(&msg);
            continue;
        }
        loop->slots[i].busy = true;
        loop->busy++;
    }
}

/* Answers a request at once without running it (while starting or
 * draining). A reply that cannot be sent leaves the call to the broker's
 * deadline (and the failed send has scheduled a reconnect). */
static void
s_refuse(s_loop_t *loop, zframe_t **id_p, const zframe_t *head, int code, const char *message,
         uint32_t retry_after_ms)
{
    uint64_t call_id = th_wire_peek_call_id(head);
    zmsg_t *reply = th_worker__reply_frames(id_p, call_id, code, message, retry_after_ms, NULL, NULL);
    if (reply != NULL)
        (void) s_send_command(loop, TH_CMD_REPLY, &reply);
}

static void
s_on_broker_message(s_loop_t *loop)
{
    zmsg_t *msg = zmsg_recv(loop->socket);
    if (msg == NULL)
        return;
    loop->last_heard = zclock_mono();
    loop->heard = true;
    loop->reconnect_backoff = S_RECONNECT_MIN_MS;
    zframe_t *sig = zmsg_pop(msg);
    zframe_t *cmd = zmsg_pop(msg);
    if (!th_wire_is_sig(sig, TH_WIRE_WORKER_SIG) || cmd == NULL || zframe_size(cmd) != 1) {
        th_log_debug(0, "dropping a malformed message from the broker", NULL);
        goto cleanup;
    }
    switch (zframe_data(cmd)[0]) {
    case TH_CMD_REQUEST: {
        if (zmsg_size(msg) != 3 || zframe_size(zmsg_first(msg)) != 8) {
            th_log_debug(0, "dropping a malformed REQUEST", "frames=%zu", zmsg_size(msg));
            break;
        }
        if (loop->draining) {
            zframe_t *id = zmsg_pop(msg);
            s_refuse(loop, &id, zmsg_first(msg), TH_UNAVAILABLE,
                     "this worker is shutting down; try again", 0);
            break;
        }
        if (!atomic_load(&loop->worker->prepared)) {
            /* Registered, but the start-up work (migrations, reference
             * data) has not succeeded yet: the client retries in its budget */
            zframe_t *id = zmsg_pop(msg);
            int retry = atomic_load(&loop->prepare_retry_ms);
            s_refuse(loop, &id, zmsg_first(msg), TH_UNAVAILABLE,
                     atomic_load(&loop->worker->prepare_failed)
                         ? "the service is starting: its database is not reachable yet; try "
                           "again shortly"
                         : "the service is starting: it is preparing its database; try again "
                           "shortly",
                     (uint32_t) (retry > 1000 ? 1000 : retry));
            break;
        }
        if (zlist_size(loop->queue) >= S_MAX_QUEUED) {
            /* The broker sends at most `capacity` calls; one that sends
             * far more must not make this worker grow without bound. */
            zframe_t *id = zmsg_pop(msg);
            s_refuse(loop, &id, zmsg_first(msg), TH_RESOURCE_EXHAUSTED,
                     "this worker has too many calls waiting; try again later", 250);
            break;
        }
        /* The arrival time travels with the request, so time spent
         * waiting for a free thread counts against the deadline. */
        zframe_t *arrival = th_wire_id_frame((uint64_t) zclock_mono());
        if (arrival == NULL || zmsg_append(msg, &arrival) != 0) {
            zframe_destroy(&arrival);
            break; /* out of memory: the broker's deadline answers it */
        }
        if (zlist_append(loop->queue, msg) != 0)
            break;
        msg = NULL;
        s_dispatch_queued(loop);
        break;
    }
    case TH_CMD_HEARTBEAT:
        break;
    case TH_CMD_DISCONNECT:
        if (!loop->draining) {
            /* The broker does not know us (it restarted, or it dropped us):
             * register again at once. */
            th_log_info(0, "the broker sent DISCONNECT; registering again", NULL);
            loop->reconnect_at = zclock_mono();
            s_disconnect_socket(loop);
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

/* Which slot a message from the handlers' ROUTER came from, or NULL. */
static th_worker_slot_t *
s_slot_of(s_loop_t *loop, const zframe_t *routing_id)
{
    if (routing_id == NULL || zframe_size((zframe_t *) routing_id) != TH_WORKER_SLOT_ID_LEN)
        return NULL;
    const byte *data = zframe_data((zframe_t *) routing_id);
    uint32_t index;
    memcpy(&index, data + 1, sizeof index);
    if (data[0] != TH_WORKER_SLOT_TAG || index >= (uint32_t) loop->worker->capacity)
        return NULL;
    return &loop->slots[index];
}

static void
s_on_thread_reply(s_loop_t *loop)
{
    zmsg_t *reply = zmsg_recv(loop->handlers);
    if (reply == NULL)
        return;
    zframe_t *routing_id = zmsg_pop(reply);
    th_worker_slot_t *slot = s_slot_of(loop, routing_id);
    zframe_destroy(&routing_id);
    if (slot != NULL && slot->busy) {
        slot->busy = false;
        loop->busy--;
    }
    if (zmsg_size(reply) != 3) {
        zmsg_destroy(&reply); /* the thread could not build a reply */
    } else if (loop->socket == NULL) {
        /* The broker link is down: the broker has failed this call already */
        zmsg_destroy(&reply);
    } else if (s_send_command(loop, TH_CMD_REPLY, &reply) != 0) {
        /* The link broke (a reconnect is scheduled): the broker fails this
         * call with UNAVAILABLE when it loses this worker */
        th_log_warn(0, "could not send a reply to the broker", NULL);
    }
    s_dispatch_queued(loop);
}

/* Starts the handler threads and waits until each has connected to the
 * handlers' ROUTER (its hello), so a call can go to any of them at once. */
static int
s_start_handlers(s_loop_t *loop)
{
    th_worker_t *self = loop->worker;
    zuuid_t *uuid = zuuid_new();
    if (uuid == NULL)
        return TH_ENOMEM;
    /* A fresh name: libzmq closes sockets asynchronously, so a worker run
     * just ended in this process may still hold its name for a moment. */
    snprintf(loop->handlers_endpoint, sizeof loop->handlers_endpoint, "inproc://th-worker-%s",
             zuuid_str(uuid));
    zuuid_destroy(&uuid);
    loop->handlers = zsock_new(ZMQ_ROUTER);
    if (loop->handlers == NULL)
        return TH_EIO;
    zsock_set_router_mandatory(loop->handlers, 1);
    zsock_set_linger(loop->handlers, 0);
    zsock_set_sndtimeo(loop->handlers, 0);
    zsock_set_sndhwm(loop->handlers, 0);
    zsock_set_rcvhwm(loop->handlers, 0);
    if (zsock_bind(loop->handlers, "%s", loop->handlers_endpoint) != 0)
        return TH_EIO;
    for (int i = 0; i < self->capacity; i++) {
        th_worker_slot_t *slot = &loop->slots[i];
        slot->worker = self;
        slot->endpoint = loop->handlers_endpoint;
        slot->stop = &loop->handlers_stop;
        slot->index = (uint32_t) i;
        if (pthread_create(&slot->thread, NULL, th_worker__handler_thread, slot) != 0)
            return TH_EIO;
        slot->started = true;
    }
    zsock_set_rcvtimeo(loop->handlers, 100);
    int64_t until = zclock_mono() + S_HANDLER_START_MS;
    int hellos = 0;
    /* Bounded by the start-up time limit */
    while (hellos < self->capacity && zclock_mono() < until) {
        zmsg_t *msg = zmsg_recv(loop->handlers);
        if (msg == NULL)
            continue;
        if (zmsg_size(msg) == 2 && s_slot_of(loop, zmsg_first(msg)) != NULL)
            hellos++;
        zmsg_destroy(&msg);
    }
    /* From now on it receives only after a poll, and never waits to send */
    zsock_set_rcvtimeo(loop->handlers, 0);
    zsock_set_sndtimeo(loop->handlers, 0);
    return hellos == self->capacity ? 0 : TH_EIO;
}

/* Tells every handler thread to end and waits for it: a busy one first
 * finishes its call, an idle one sees the flag within TH_WORKER_HANDLER_IDLE_MS,
 * sooner when the nudge reaches it. */
static void
s_stop_handlers(s_loop_t *loop)
{
    atomic_store(&loop->handlers_stop, true);
    for (int i = 0; loop->slots != NULL && i < loop->worker->capacity; i++) {
        if (!loop->slots[i].started || loop->handlers == NULL)
            continue;
        byte routing_id[TH_WORKER_SLOT_ID_LEN] = {TH_WORKER_SLOT_TAG};
        memcpy(routing_id + 1, &loop->slots[i].index, sizeof loop->slots[i].index);
        zmsg_t *nudge = zmsg_new();
        if (nudge != NULL && (zmsg_addmem(nudge, routing_id, sizeof routing_id) != 0 ||
                              zmsg_addstr(nudge, "$TERM") != 0 ||
                              zmsg_send(&nudge, loop->handlers) != 0))
            zmsg_destroy(&nudge);
    }
    for (int i = 0; loop->slots != NULL && i < loop->worker->capacity; i++) {
        if (loop->slots[i].started && pthread_join(loop->slots[i].thread, NULL) != 0)
            th_log_error(0, "could not join a handler thread", "slot=%d", i);
        loop->slots[i].started = false;
    }
    zsock_destroy(&loop->handlers);
}

/* The start-up work: tried until it succeeds or the worker stops, with a
 * doubling wait between attempts that looks at the stop flag every 100 ms.
 * Signals go to the main thread. */
static void *
s_prepare_thread(void *args)
{
    s_loop_t *loop = args;
    th_worker_t *self = loop->worker;
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    int err = pthread_sigmask(SIG_BLOCK, &mask, NULL);
    if (err != 0)
        th_log_warn(0, "could not block signals in the start-up thread", "error=\"%s\"",
                    strerror(err));
    int wait = S_PREPARE_RETRY_MIN_MS;
    for (int attempt = 1; !atomic_load(&loop->prepare_stop); attempt++) {
        char errbuf[512] = "";
        int64_t start = zclock_mono();
        if (self->prepare(self->prepare_arg, errbuf, sizeof errbuf) == 0) {
            atomic_store(&self->prepared, true);
            th_log_info(0, "start-up work done: serving", "attempt=%d ms=%lld", attempt,
                        (long long) (zclock_mono() - start));
            break;
        }
        atomic_store(&self->prepare_failed, true);
        atomic_store(&loop->prepare_retry_ms, wait);
        char quoted[TH_LOG_QUOTE_SIZE];
        th_log_warn(0, "start-up work failed; calls are answered UNAVAILABLE until it succeeds",
                    "attempt=%d retry_ms=%d error=%s", attempt, wait,
                    th_log_quote(quoted, sizeof quoted, errbuf[0] != '\0' ? errbuf : "unknown"));
        for (int64_t until = zclock_mono() + wait;
             zclock_mono() < until && !atomic_load(&loop->prepare_stop);)
            zclock_sleep(100);
        wait = wait * 2 > S_PREPARE_RETRY_MAX_MS ? S_PREPARE_RETRY_MAX_MS : wait * 2;
    }
    return NULL;
}

static int
s_start_prepare(s_loop_t *loop)
{
    if (loop->worker->prepare == NULL)
        return 0;
    atomic_store(&loop->worker->prepared, false);
    atomic_store(&loop->worker->prepare_failed, false);
    if (pthread_create(&loop->prepare_thread, NULL, s_prepare_thread, loop) != 0)
        return TH_EIO;
    loop->prepare_started = true;
    return 0;
}

/* Waits for the start-up thread: it ends within 100 ms between attempts,
 * or when the attempt under way ends. */
static void
s_stop_prepare(s_loop_t *loop)
{
    if (!loop->prepare_started)
        return;
    atomic_store(&loop->prepare_stop, true);
    if (pthread_join(loop->prepare_thread, NULL) != 0)
        th_log_error(0, "could not join the start-up thread", NULL);
    loop->prepare_started = false;
}

int
th_worker_run(th_worker_t *self)
{
    if (self == NULL || self->n_services == 0)
        return TH_EINVAL;
    /* Installs CZMQ's SIGINT/SIGTERM handler (zsys_interrupted); done
     * already by th_worker_new, so this only fails with it */
    if (zsys_init() == NULL)
        return TH_EIO;
    int rc = 0;
    s_loop_t loop = {.worker = self, .reconnect_backoff = S_RECONNECT_MIN_MS};
    uint8_t seed[16];
    zuuid_t *uuid = zuuid_new();
    if (uuid != NULL) {
        memcpy(seed, zuuid_data(uuid), sizeof seed);
        memcpy(&loop.seed, seed, sizeof loop.seed);
        zuuid_destroy(&uuid);
    }
    atomic_init(&loop.handlers_stop, false);
    atomic_init(&loop.prepare_stop, false);
    atomic_init(&loop.prepare_retry_ms, S_PREPARE_RETRY_MIN_MS);
    loop.queue = zlist_new();
    loop.slots = calloc((size_t) self->capacity, sizeof *loop.slots);
    if (loop.queue == NULL || loop.slots == NULL) {
        rc = TH_ENOMEM;
        goto cleanup;
    }
    if (s_start_handlers(&loop) != 0) {
        th_log_error(0, "could not start the handler threads", "capacity=%d", self->capacity);
        rc = TH_EIO;
        goto cleanup;
    }
    if (s_start_prepare(&loop) != 0) {
        th_log_error(0, "could not start the start-up thread", NULL);
        rc = TH_EIO;
        goto cleanup;
    }
    if (s_connect(&loop) != 0) {
        rc = TH_EIO;
        goto cleanup;
    }

    /* Bounded by the stop flag: the loop wakes at least every 100 ms */
    while (true) {
        if (!loop.draining && (zsys_interrupted || atomic_load(&self->stop_requested))) {
            loop.draining = true;
            th_log_info(0, "stopping: finishing the calls in flight", "in_flight=%d queued=%zu",
                        loop.busy, zlist_size(loop.queue));
        }
        if (loop.draining && loop.busy == 0 && zlist_size(loop.queue) == 0)
            break;
        int64_t now = zclock_mono();
        if (loop.socket == NULL && loop.reconnect_at > 0 && now >= loop.reconnect_at) {
            if (loop.draining) {
                /* Nothing to hand back to a broker that is gone */
                loop.reconnect_at = 0;
            } else if (s_connect(&loop) != 0) {
                s_schedule_reconnect(&loop, "could not open a socket");
            }
        }
        if (loop.socket != NULL && now >= loop.next_heartbeat) {
            /* A failed send schedules the reconnect itself */
            loop.next_heartbeat = now + self->heartbeat_ms;
            (void) s_send_command(&loop, TH_CMD_HEARTBEAT, NULL);
        }
        /* Also the way out after a refused handshake that broke no send */
        if (loop.socket != NULL &&
            now - loop.last_heard > (int64_t) self->liveness * self->heartbeat_ms)
            s_schedule_reconnect(&loop, "the broker stopped answering");
        zmq_pollitem_t items[2] = {
            {zsock_resolve(loop.handlers), 0, ZMQ_POLLIN, 0},
            {loop.socket != NULL ? zsock_resolve(loop.socket) : NULL, 0, ZMQ_POLLIN, 0},
        };
        int n = loop.socket != NULL ? 2 : 1;
        long timeout = 100;
        if (loop.socket != NULL && loop.next_heartbeat - now < timeout)
            timeout = (long) (loop.next_heartbeat - now);
        if (timeout < 0)
            timeout = 0;
        int ready = zmq_poll(items, n, timeout);
        if (ready < 0) {
            if (zmq_errno() == EINTR)
                continue; /* a signal: the top of the loop looks at it */
            th_log_error(0, "polling failed", "error=\"%s\"", zmq_strerror(zmq_errno()));
            rc = TH_EIO;
            break;
        }
        /* One message per socket and pass: the next poll returns at once
         * while more are queued, and looks at both sockets in turn. */
        if (n == 2 && (items[1].revents & ZMQ_POLLIN) && loop.socket != NULL)
            s_on_broker_message(&loop);
        if (items[0].revents & ZMQ_POLLIN)
            s_on_thread_reply(&loop);
    }
    if (loop.socket != NULL &&
        s_send_command(&loop, TH_CMD_DISCONNECT, NULL) == 0 && loop.socket != NULL &&
        loop.heard &&
        zclock_mono() - loop.last_heard <= (int64_t) self->liveness * self->heartbeat_ms) {
        /* Let the last replies and DISCONNECT leave before the socket goes,
         * but only towards a broker that was heard lately: for one that is
         * gone or refuses us, nothing would leave, and the process would
         * wait out the linger at exit for nothing. */
        zsock_set_linger(loop.socket, S_LINGER_MS);
    }
    th_log_info(0, "stopped", "instance=\"%s\"", self->instance);

cleanup:
    s_disconnect_socket(&loop);
    s_stop_prepare(&loop);
    s_stop_handlers(&loop);
    while (loop.queue != NULL && zlist_size(loop.queue) > 0) {
        zmsg_t *msg = zlist_pop(loop.queue);
        zmsg_destroy(&msg);
    }
    zlist_destroy(&loop.queue);
    free(loop.slots);
    return rc;
}
