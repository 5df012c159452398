/* ---------------------------------------------------------------------------
 * broker.c: routing calls from clients to workers, with deadlines and
 * heartbeats
 *
 * Everything lives in one thread, so nothing here is locked. The objects:
 *   service_t  a service name ("teilhabe.registry.v1.Registry"), the methods
 *              its workers announced, its live workers and a FIFO of calls
 *              waiting for a free worker. A service nobody has registered
 *              yet exists only while calls for it wait out the grace period.
 *   worker_t   one worker connection (keyed by its ROUTER routing id): its
 *              capacity, calls in flight and liveness expiry.
 *   call_t     one client call from arrival to its reply; keyed by the
 *              broker's own request id (the client's call ids are only
 *              unique per client). Every live call sits in a min-heap
 *              ordered by the moment it must be answered (deadline, or end
 *              of the grace period), which gives the poll timeout directly.
 * Nothing read from a socket is asserted; every malformed input is either
 * answered or dropped as docs/PROTOCOL.md says.
 * ---------------------------------------------------------------------------
 */
#include "broker.h"

#include "principals.h"
#include "th_error.h"
#include "th_log.h"
#include "th_status.h"
#include "th_wire.h"
#include "zap.h"

#include "teilhabe/v1/broker.pb-c.h"
#include "teilhabe/v1/health.pb-c.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define HEALTH_SERVICE "teilhabe.health.v1.Health"
#define BROKER_SERVICE "teilhabe.broker.v1.Broker"
#define HEALTH_CHECK HEALTH_SERVICE "/Check"
#define LIST_SERVICES BROKER_SERVICE "/ListServices"
#define RESERVED_METADATA_PREFIX "teilhabe-"

#define HEALTH_SERVING TEILHABE__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
#define HEALTH_NOT_SERVING                                                                 \
    TEILHABE__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING
#define HEALTH_SERVICE_UNKNOWN                                                             \
    TEILHABE__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN

#define READY_MAX (256 * 1024)    /* a WorkerReady frame */
#define CAPACITY_MAX 10000        /* per worker; larger announcements are clamped */
#define WORKER_SERVICES_MAX 64    /* services one worker may serve */
#define PENDING_SERVICES_MAX 1024 /* never-registered names with calls waiting */
#define INSECURE_WARN_MS 60000
#define RECV_BATCH 64 /* messages taken from one socket per wake-up */
#define QUEUE_FULL_RETRY_MS 250
#define DROP_LOG_MS 1000

typedef struct service_t service_t;
typedef struct worker_t worker_t;
typedef struct call_t call_t;

struct call_t {
    uint64_t id;      /* the broker's request id, key of broker->calls */
    uint64_t call_id; /* the client's, restored in the reply */
    zframe_t *client; /* routing id of the client connection */
    zframe_t *header; /* packed RequestHeader to forward (principal set) */
    zframe_t *body;
    service_t *service;
    worker_t *worker; /* handling it; NULL while queued */
    void *handle;     /* in service->queue or worker->calls */
    int64_t deadline;
    int64_t expires; /* heap key: deadline, or the end of the grace period */
    size_t heap_index;
    size_t queued_bytes; /* counted in broker->queued_bytes while queued */
    bool grace;  /* expires is the end of the grace period */
    bool waited; /* was queued: timeout_ms in header is stale */
};

struct worker_t {
    zframe_t *identity;
    char label[24]; /* routing id in hex, for logs */
    char *instance;
    uint32_t capacity;
    uint32_t in_flight;
    int64_t expires; /* dead when silent past this */
    uint64_t last_used;
    size_t n_services;
    service_t *services[WORKER_SERVICES_MAX];
    void *service_handles[WORKER_SERVICES_MAX];
    zlistx_t *calls; /* call_t * in flight (not owned) */
};

struct service_t {
    char *name;
    bool registered;   /* some worker has announced it */
    bool any_method;   /* a worker announced no method list: forward all */
    zhashx_t *methods; /* method names announced (set) */
    zlistx_t *workers; /* live worker_t * (not owned) */
    zlistx_t *queue;   /* call_t * waiting (not owned) */
};

struct broker_t {
    broker_config_t config;
    principals_t *principals;
    zap_t *zap;
    zsock_t *frontend;
    zsock_t *backend;
    zhashx_t *services; /* name -> service_t (owned) */
    zhashx_t *workers;  /* identity frame -> worker_t (owned, freed by hand) */
    zhashx_t *calls;    /* &call->id -> call_t (owned, freed by hand) */
    call_t **heap;
    size_t heap_size;
    size_t heap_cap;
    size_t pending_services;
    size_t services_down; /* registered services without a live worker */
    size_t queued_bytes;  /* header + body bytes of all queued calls */
    uint64_t next_id;
    uint64_t use_counter;
    int64_t next_heartbeat;
    int64_t next_insecure_warn;
    int64_t drop_log_at;
    size_t dropped;
    int64_t unauth_log_at;
    size_t unauth_unlogged;
    th_principal_t insecure_principal;
};

/* --- hashing of binary keys ------------------------------------------------ */

static size_t
s_frame_hash(const void *key)
{
    zframe_t *frame = (zframe_t *) key;
    const byte *data = zframe_data(frame);
    size_t size = zframe_size(frame);
    uint64_t hash = 14695981039346656037ULL;
    for (size_t i = 0; i < size; i++) {
        hash ^= data[i];
        hash *= 1099511628211ULL;
    }
    return (size_t) hash;
}

static int
s_frame_compare(const void *a, const void *b)
{
    zframe_t *fa = (zframe_t *) a;
    zframe_t *fb = (zframe_t *) b;
    size_t sa = zframe_size(fa);
    size_t sb = zframe_size(fb);
    if (sa != sb)
        return sa < sb ? -1 : 1;
    return memcmp(zframe_data(fa), zframe_data(fb), sa);
}

static size_t
s_id_hash(const void *key)
{
    uint64_t id = *(const uint64_t *) key;
    return (size_t) (id ^ (id >> 32));
}

static int
s_id_compare(const void *a, const void *b)
{
    uint64_t ia = *(const uint64_t *) a;
    uint64_t ib = *(const uint64_t *) b;
    return ia < ib ? -1 : ia > ib ? 1 : 0;
}

/* --- the expiry heap ------------------------------------------------------- */

static void
s_heap_set(broker_t *self, size_t index, call_t *call)
{
    self->heap[index] = call;
    call->heap_index = index;
}

static void
s_heap_up(broker_t *self, size_t index)
{
    call_t *call = self->heap[index];
    while (index > 0) {
        size_t parent = (index - 1) / 2;
        if (self->heap[parent]->expires <= call->expires)
            break;
        s_heap_set(self, index, self->heap[parent]);
        index = parent;
    }
    s_heap_set(self, index, call);
}

static void
s_heap_down(broker_t *self, size_t index)
{
    call_t *call = self->heap[index];
    while (true) {
        size_t child = 2 * index + 1;
        if (child >= self->heap_size)
            break;
        if (child + 1 < self->heap_size &&
            self->heap[child + 1]->expires < self->heap[child]->expires)
            child++;
        if (self->heap[child]->expires >= call->expires)
            break;
        s_heap_set(self, index, self->heap[child]);
        index = child;
    }
    s_heap_set(self, index, call);
}

static int
s_heap_push(broker_t *self, call_t *call)
{
    if (self->heap_size == self->heap_cap) {
        size_t cap = self->heap_cap > 0 ? self->heap_cap * 2 : 1024;
        call_t **heap = realloc(self->heap, cap * sizeof *heap);
        if (heap == NULL)
            return TH_ENOMEM;
        self->heap = heap;
        self->heap_cap = cap;
    }
    s_heap_set(self, self->heap_size++, call);
    s_heap_up(self, call->heap_index);
    return 0;
}

static void
s_heap_remove(broker_t *self, call_t *call)
{
    size_t index = call->heap_index;
    call_t *last = self->heap[--self->heap_size];
    if (index == self->heap_size)
        return;
    s_heap_set(self, index, last);
    s_heap_up(self, index);
    s_heap_down(self, last->heap_index);
}

static void
s_heap_update(broker_t *self, call_t *call)
{
    s_heap_up(self, call->heap_index);
    s_heap_down(self, call->heap_index);
}

/* --- sending ----------------------------------------------------------------- */

/* Sends [identity | parts...] on a ROUTER. Never blocks (SNDTIMEO is 0): a
 * peer that is gone (EHOSTUNREACH, ROUTER_MANDATORY) or not reading (EAGAIN)
 * makes the first part fail, and then nothing was sent. */
static int
s_send_identity(zsock_t *socket, zframe_t *identity)
{
    return zmq_send(zsock_resolve(socket), zframe_data(identity), zframe_size(identity),
                    ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0
               ? TH_EIO
               : 0;
}

/* Sends a reply [client | "THC01" | ResponseHeader | body] built here. body
 * may be NULL. The client frame is borrowed. */
static void
s_send_reply(broker_t *self, zframe_t *client, uint64_t call_id, int code,
             const char *message, uint32_t retry_after_ms, const void *body,
             size_t body_size)
{
    th_response_header_t header = TEILHABE__RPC__V1__RESPONSE_HEADER__INIT;
    header.call_id = call_id;
    header.code = (Teilhabe__Rpc__V1__StatusCode) code;
    header.message = (char *) (message != NULL ? message : "");
    header.retry_after_ms = retry_after_ms;
    uint8_t stack[1024];
    size_t size = protobuf_c_message_get_packed_size(&header.base);
    uint8_t *packed = size <= sizeof stack ? stack : malloc(size);
    if (packed == NULL)
        return;
    protobuf_c_message_pack(&header.base, packed);
    if (s_send_identity(self->frontend, client) != 0) {
        th_log_debug(call_id, "reply dropped: client gone or not reading", "code=%s",
                     th_status_name(code));
    } else {
        void *socket = zsock_resolve(self->frontend);
        zmq_send(socket, TH_WIRE_CLIENT_SIG, TH_WIRE_SIG_LEN, ZMQ_SNDMORE);
        zmq_send(socket, packed, size, ZMQ_SNDMORE);
        zmq_send(socket, body, body_size, 0);
    }
    if (packed != stack)
        free(packed);
}

static void
s_send_command(broker_t *self, zframe_t *identity, byte command)
{
    if (s_send_identity(self->backend, identity) != 0)
        return;
    void *socket = zsock_resolve(self->backend);
    zmq_send(socket, TH_WIRE_WORKER_SIG, TH_WIRE_SIG_LEN, ZMQ_SNDMORE);
    zmq_send(socket, &command, 1, 0);
}

/* Counts input that cannot be answered and logs it at most once a second,
 * so a port scanner cannot flood the log. */
static void
s_note_drop(broker_t *self, const char *socket, const char *why)
{
    self->dropped++;
    int64_t now = zclock_mono();
    if (now >= self->drop_log_at) {
        th_log_warn(0, "dropped message",
                    "socket=%s reason=\"%s\" dropped_since_last_log=%zu", socket, why,
                    self->dropped);
        self->dropped = 0;
        self->drop_log_at = now + DROP_LOG_MS;
    }
}

/* --- services, calls ---------------------------------------------------------- */

static void
s_service_free(void **item_p)
{
    service_t *service = *item_p;
    if (service == NULL)
        return;
    zhashx_destroy(&service->methods);
    zlistx_destroy(&service->workers);
    zlistx_destroy(&service->queue);
    free(service->name);
    free(service);
    *item_p = NULL;
}

static service_t *
s_service_get(broker_t *self, const char *name, bool create)
{
    service_t *service = zhashx_lookup(self->services, name);
    if (service != NULL || !create)
        return service;
    service = calloc(1, sizeof *service);
    if (service == NULL)
        return NULL;
    service->name = strdup(name);
    service->methods = zhashx_new();
    service->workers = zlistx_new();
    service->queue = zlistx_new();
    if (service->name == NULL || service->methods == NULL || service->workers == NULL ||
        service->queue == NULL || zhashx_insert(self->services, name, service) != 0) {
        void *item = service;
        s_service_free(&item);
        return NULL;
    }
    self->pending_services++;
    return service;
}

/* A never-registered service disappears with its last waiting call. */
static void
s_service_release(broker_t *self, service_t *service)
{
    if (service->registered || zlistx_size(service->queue) > 0 ||
        zlistx_size(service->workers) > 0)
        return;
    self->pending_services--;
    zhashx_delete(self->services, service->name);
}

static void
s_call_free(call_t *call)
{
    zframe_destroy(&call->client);
    zframe_destroy(&call->header);
    zframe_destroy(&call->body);
    free(call);
}

/* Removes a call from every structure and frees it. The caller answered
 * the client (or decided not to). Does not dispatch: the caller does that
 * when a worker got free. */
static void
s_call_finish(broker_t *self, call_t *call)
{
    s_heap_remove(self, call);
    zhashx_delete(self->calls, &call->id);
    if (call->worker != NULL) {
        zlistx_delete(call->worker->calls, call->handle);
        call->worker->in_flight--;
    } else if (call->handle != NULL) {
        zlistx_delete(call->service->queue, call->handle);
        self->queued_bytes -= call->queued_bytes;
    }
    service_t *service = call->service;
    s_call_free(call);
    s_service_release(self, service);
}

static void
s_fail_call(broker_t *self, call_t *call, int code, uint32_t retry_after_ms,
            const char *message)
{
    th_log_info(
        call->call_id, "call failed", "request=%llu service=%s code=%s reason=\"%s\"",
        (unsigned long long) call->id, call->service->name, th_status_name(code), message);
    s_send_reply(self, call->client, call->call_id, code, message, retry_after_ms, NULL, 0);
    s_call_finish(self, call);
}

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

/* --- workers --------------------------------------------------------------- */

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
    if (s_send_identity(self->backend, worker->identity) != 0)
        return TH_EIO;
    void *socket = zsock_resolve(self->backend);
    const byte command = TH_CMD_REQUEST;
    byte id[8];
    uint64_t value = call->id;
    for (int i = 7; i >= 0; i--) {
        id[i] = (byte) (value & 0xff);
        value >>= 8;
    }
    zmq_send(socket, TH_WIRE_WORKER_SIG, TH_WIRE_SIG_LEN, ZMQ_SNDMORE);
    zmq_send(socket, &command, 1, ZMQ_SNDMORE);
    zmq_send(socket, id, sizeof id, ZMQ_SNDMORE);
    /* Once the first part went out, libzmq takes the rest of the message
     * (the high-water mark is checked per message, not per part). */
    if (zframe_send(&call->header, socket, ZFRAME_MORE) != 0)
        zframe_destroy(&call->header);
    if (zframe_send(&call->body, socket, 0) != 0)
        zframe_destroy(&call->body);
    call->worker = worker;
    call->handle = zlistx_add_end(worker->calls, call);
    worker->in_flight++;
    worker->last_used = ++self->use_counter;
    call->grace = false;
    if (call->expires != call->deadline) {
        call->expires = call->deadline;
        s_heap_update(self, call);
    }
    th_log_debug(call->call_id, "call dispatched", "request=%llu worker=%s service=%s",
                 (unsigned long long) call->id, worker->label, call->service->name);
    return 0;
}

static void s_worker_remove(broker_t *self, worker_t *worker, const char *reason,
                            bool say_disconnect);

/* Hands queued calls of service to free workers, oldest first. */
static void
s_dispatch(broker_t *self, service_t *service)
{
    int64_t now = zclock_mono();
    while (zlistx_size(service->queue) > 0) {
        worker_t *worker = s_pick_worker(service);
        if (worker == NULL)
            break;
        call_t *call = zlistx_first(service->queue);
        void *handle = call->handle;
        call->handle = NULL;
        if (s_send_request(self, worker, call, now) != 0) {
            call->handle = handle;
            s_worker_remove(self, worker, "worker unreachable", false);
            continue;
        }
        zlistx_delete(service->queue, handle);
        self->queued_bytes -= call->queued_bytes;
        call->queued_bytes = 0;
    }
}

/* After a worker got free capacity: serve what waits for its services. */
static void
s_worker_dispatch(broker_t *self, worker_t *worker)
{
    /* Dispatching may remove workers (an unreachable one), even this one:
     * work on a copy of its service list. Registered services are never
     * freed, so the pointers stay valid. */
    service_t *services[WORKER_SERVICES_MAX];
    size_t n = worker->n_services;
    memcpy(services, worker->services, n * sizeof *services);
    for (size_t i = 0; i < n; i++)
        if (zlistx_size(services[i]->queue) > 0)
            s_dispatch(self, services[i]);
}

static void
s_worker_free(worker_t *worker)
{
    zframe_destroy(&worker->identity);
    zlistx_destroy(&worker->calls);
    free(worker->instance);
    free(worker);
}

/* Removes worker: its calls in flight fail with UNAVAILABLE (the client may
 * retry), and calls waiting for one of its services start their grace
 * period when it was the service's last worker. */
static void
s_worker_remove(broker_t *self, worker_t *worker, const char *reason, bool say_disconnect)
{
    char instance[TH_LOG_QUOTE_SIZE];
    th_log_info(0, "worker removed", "worker=%s instance=%s reason=\"%s\" in_flight=%u",
                worker->label, th_log_quote(instance, sizeof instance, worker->instance),
                reason, worker->in_flight);
    zhashx_delete(self->workers, worker->identity);
    call_t *call;
    while ((call = zlistx_first(worker->calls)) != NULL)
        s_fail_call(self, call, TH_UNAVAILABLE, (uint32_t) self->config.heartbeat_ms,
                    "the worker handling this call stopped; it is safe to retry");
    int64_t now = zclock_mono();
    for (size_t i = 0; i < worker->n_services; i++) {
        service_t *service = worker->services[i];
        zlistx_delete(service->workers, worker->service_handles[i]);
        if (zlistx_size(service->workers) > 0)
            continue;
        self->services_down++;
        int64_t grace_end = now + self->config.grace_ms;
        for (call_t *queued = zlistx_first(service->queue); queued != NULL;
             queued = zlistx_next(service->queue)) {
            if (grace_end < queued->deadline) {
                queued->grace = true;
                queued->expires = grace_end;
                s_heap_update(self, queued);
            }
        }
    }
    if (say_disconnect)
        s_send_command(self, worker->identity, TH_CMD_DISCONNECT);
    s_worker_free(worker);
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

/* Removes metadata entries with the reserved prefix: only teilhabe itself
 * may speak under that name. */
static void
s_strip_metadata(th_request_header_t *header)
{
    size_t kept = 0;
    for (size_t i = 0; i < header->n_metadata; i++) {
        Teilhabe__Rpc__V1__MetadataEntry *entry = header->metadata[i];
        if (entry->key != NULL && strncasecmp(entry->key, RESERVED_METADATA_PREFIX,
                                              strlen(RESERVED_METADATA_PREFIX)) == 0)
            protobuf_c_message_free_unpacked(&entry->base, NULL);
        else
            header->metadata[kept++] = entry;
    }
    header->n_metadata = kept;
}

static void
s_health_check(broker_t *self, zframe_t *client, uint64_t call_id, zframe_t *body)
{
    ProtobufCMessage *unpacked = NULL;
    if (th_wire_unpack(&teilhabe__health__v1__health_check_request__descriptor, body,
                       self->config.max_message_size, &unpacked) != 0) {
        s_send_reply(self, client, call_id, TH_INVALID_ARGUMENT,
                     "request body is not a valid teilhabe.health.v1.HealthCheckRequest", 0,
                     NULL, 0);
        return;
    }
    const Teilhabe__Health__V1__HealthCheckRequest *request =
        (const Teilhabe__Health__V1__HealthCheckRequest *) unpacked;
    Teilhabe__Health__V1__HealthCheckResponse response =
        TEILHABE__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    const char *name = request->service != NULL ? request->service : "";
    if (name[0] == '\0') {
        response.status = self->services_down == 0 ? HEALTH_SERVING : HEALTH_NOT_SERVING;
    } else if (strcmp(name, HEALTH_SERVICE) == 0 || strcmp(name, BROKER_SERVICE) == 0) {
        response.status = HEALTH_SERVING;
    } else {
        const service_t *service = zhashx_lookup(self->services, name);
        if (service == NULL || !service->registered)
            response.status = HEALTH_SERVICE_UNKNOWN;
        else if (zlistx_size(service->workers) == 0)
            response.status = HEALTH_NOT_SERVING;
        else
            response.status = HEALTH_SERVING;
    }
    uint8_t packed[16];
    size_t size = protobuf_c_message_pack(&response.base, packed);
    s_send_reply(self, client, call_id, TH_OK, "", 0, packed, size);
    protobuf_c_message_free_unpacked(unpacked, NULL);
}

static int
s_compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static int
s_compare_infos(const void *a, const void *b)
{
    const Teilhabe__Broker__V1__ServiceInfo *ia =
        *(Teilhabe__Broker__V1__ServiceInfo *const *) a;
    const Teilhabe__Broker__V1__ServiceInfo *ib =
        *(Teilhabe__Broker__V1__ServiceInfo *const *) b;
    return strcmp(ia->name, ib->name);
}

static void
s_list_services(broker_t *self, zframe_t *client, uint64_t call_id, zframe_t *body)
{
    ProtobufCMessage *unpacked = NULL;
    Teilhabe__Broker__V1__ServiceInfo *infos = NULL;
    Teilhabe__Broker__V1__ServiceInfo **info_ptrs = NULL;
    char **methods = NULL;
    uint8_t *packed = NULL;
    if (th_wire_unpack(&teilhabe__broker__v1__list_services_request__descriptor, body,
                       self->config.max_message_size, &unpacked) != 0) {
        s_send_reply(self, client, call_id, TH_INVALID_ARGUMENT,
                     "request body is not a valid teilhabe.broker.v1.ListServicesRequest",
                     0, NULL, 0);
        goto cleanup;
    }
    size_t n_services = 0;
    size_t n_methods = 0;
    for (service_t *service = zhashx_first(self->services); service != NULL;
         service = zhashx_next(self->services))
        if (service->registered) {
            n_services++;
            n_methods += zhashx_size(service->methods);
        }
    infos = calloc(n_services + 1, sizeof *infos);
    info_ptrs = calloc(n_services + 1, sizeof *info_ptrs);
    methods = calloc(n_methods + 1, sizeof *methods);
    if (infos == NULL || info_ptrs == NULL || methods == NULL) {
        s_send_reply(self, client, call_id, TH_RESOURCE_EXHAUSTED, "broker out of memory",
                     1000, NULL, 0);
        goto cleanup;
    }
    size_t s = 0;
    size_t m = 0;
    for (service_t *service = zhashx_first(self->services); service != NULL;
         service = zhashx_next(self->services)) {
        if (!service->registered)
            continue;
        Teilhabe__Broker__V1__ServiceInfo *info = &infos[s];
        teilhabe__broker__v1__service_info__init(info);
        info->name = service->name;
        info->methods = &methods[m];
        for (void *it = zhashx_first(service->methods); it != NULL;
             it = zhashx_next(service->methods))
            methods[m++] = (char *) zhashx_cursor(service->methods);
        info->n_methods = (size_t) (&methods[m] - info->methods);
        qsort(info->methods, info->n_methods, sizeof *info->methods, s_compare_strings);
        for (worker_t *worker = zlistx_first(service->workers); worker != NULL;
             worker = zlistx_next(service->workers)) {
            info->workers++;
            info->capacity += worker->capacity;
            info->in_flight += worker->in_flight;
        }
        info_ptrs[s] = info;
        s++;
    }
    qsort(info_ptrs, n_services, sizeof *info_ptrs, s_compare_infos);
    Teilhabe__Broker__V1__ListServicesResponse response =
        TEILHABE__BROKER__V1__LIST_SERVICES_RESPONSE__INIT;
    response.n_services = n_services;
    response.services = info_ptrs;
    size_t size = protobuf_c_message_get_packed_size(&response.base);
    packed = malloc(size + 1);
    if (packed == NULL) {
        s_send_reply(self, client, call_id, TH_RESOURCE_EXHAUSTED, "broker out of memory",
                     1000, NULL, 0);
        goto cleanup;
    }
    protobuf_c_message_pack(&response.base, packed);
    s_send_reply(self, client, call_id, TH_OK, "", 0, packed, size);
cleanup:
    free(packed);
    free(methods);
    free(info_ptrs);
    free(infos);
    if (unpacked != NULL)
        protobuf_c_message_free_unpacked(unpacked, NULL);
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
    if (strcmp(name, HEALTH_SERVICE) == 0 || strcmp(name, BROKER_SERVICE) == 0 ||
        (service != NULL && service->registered && !service->any_method &&
         zhashx_lookup(service->methods, method) == NULL)) {
        snprintf(message, sizeof message, "method %s is not implemented by service %s",
                 method, name);
        s_send_reply(self, client, call_id, TH_UNIMPLEMENTED, message, 0, NULL, 0);
        return;
    }
    if (service == NULL && self->pending_services >= PENDING_SERVICES_MAX) {
        snprintf(message, sizeof message, "unknown service %s: no worker has registered it",
                 name);
        s_send_reply(self, client, call_id, TH_UNIMPLEMENTED, message, 0, NULL, 0);
        return;
    }
    if (service != NULL && zlistx_size(service->queue) >= self->config.queue_max) {
        snprintf(message, sizeof message,
                 "too many calls waiting for service %s (%zu); try again later", name,
                 zlistx_size(service->queue));
        s_send_reply(self, client, call_id, TH_RESOURCE_EXHAUSTED, message,
                     QUEUE_FULL_RETRY_MS, NULL, 0);
        return;
    }
    call_t *call = calloc(1, sizeof *call);
    if (call == NULL) {
        s_send_reply(self, client, call_id, TH_RESOURCE_EXHAUSTED, "broker out of memory",
                     1000, NULL, 0);
        return;
    }
    service = s_service_get(self, name, true);
    int64_t now = zclock_mono();
    uint32_t timeout = header->timeout_ms > 0 ? header->timeout_ms
                                              : (uint32_t) self->config.default_timeout_ms;
    /* A call may hold a queue slot and its body for at most max_timeout_ms,
     * whatever the client asked for (timeout_ms goes up to 49 days). */
    if (timeout > (uint32_t) self->config.max_timeout_ms)
        timeout = (uint32_t) self->config.max_timeout_ms;
    s_strip_metadata(header);
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
    if (service == NULL || call->header == NULL || s_heap_push(self, call) != 0) {
        s_send_reply(self, client, call_id, TH_RESOURCE_EXHAUSTED, "broker out of memory",
                     1000, NULL, 0);
        zframe_destroy(&call->header);
        free(call);
        if (service != NULL)
            s_service_release(self, service);
        return;
    }
    call->client = client;
    *client_p = NULL;
    call->body = *body_p;
    *body_p = NULL;
    zhashx_insert(self->calls, &call->id, call);

    if (zlistx_size(service->queue) == 0) {
        worker_t *worker;
        while ((worker = s_pick_worker(service)) != NULL) {
            if (s_send_request(self, worker, call, now) == 0)
                return;
            s_worker_remove(self, worker, "worker unreachable", false);
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
        s_fail_call(self, call, TH_RESOURCE_EXHAUSTED, QUEUE_FULL_RETRY_MS, message);
        return;
    }
    call->waited = true;
    call->handle = zlistx_add_end(service->queue, call);
    call->queued_bytes = bytes;
    self->queued_bytes += bytes;
    if (zlistx_size(service->workers) == 0) {
        int64_t grace_end = now + self->config.grace_ms;
        if (grace_end < call->deadline) {
            call->grace = true;
            call->expires = grace_end;
            s_heap_update(self, call);
        }
    }
    th_log_debug(call_id, "call queued", "request=%llu service=%s queued=%zu",
                 (unsigned long long) call->id, service->name, zlistx_size(service->queue));
}

/* One message from the frontend. Answers or drops as docs/PROTOCOL.md
 * ("Malformed messages") says. */
static void
s_frontend_message(broker_t *self, zmsg_t *msg)
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
        s_note_drop(self, "frontend", "first frame is not a teilhabe client signature");
        goto cleanup;
    }
    if (!th_wire_is_sig(sig, TH_WIRE_CLIENT_SIG)) {
        s_send_reply(self, client, 0, TH_UNIMPLEMENTED,
                     "unsupported protocol version: this broker speaks THC01", 0, NULL, 0);
        goto cleanup;
    }
    zframe_t *head = zmsg_next(msg);
    if (head == NULL) {
        snprintf(
            errbuf, sizeof errbuf,
            "a request has 3 frames (signature, RequestHeader, body); this one has %zu",
            parts);
        s_send_reply(self, client, 0, TH_INVALID_ARGUMENT, errbuf, 0, NULL, 0);
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
        s_send_reply(self, client, th_wire_peek_call_id(head), TH_INVALID_ARGUMENT, errbuf, 0,
                     NULL, 0);
        goto cleanup;
    }
    if (rc == TH_ETOOBIG) {
        snprintf(errbuf, sizeof errbuf, "request header is %zu bytes; at most %d allowed",
                 zframe_size(head), TH_WIRE_HEADER_MAX);
        s_send_reply(self, client, 0, TH_INVALID_ARGUMENT, errbuf, 0, NULL, 0);
        goto cleanup;
    }
    if (rc != 0) {
        s_send_reply(self, client, 0, TH_INVALID_ARGUMENT,
                     "request header is not a valid teilhabe.rpc.v1.RequestHeader", 0, NULL,
                     0);
        goto cleanup;
    }
    th_request_header_t *header = (th_request_header_t *) unpacked;
    uint64_t call_id = header->call_id;
    if (parts != 3) {
        snprintf(
            errbuf, sizeof errbuf,
            "a request has 3 frames (signature, RequestHeader, body); this one has %zu",
            parts);
        s_send_reply(self, client, call_id, TH_INVALID_ARGUMENT, errbuf, 0, NULL, 0);
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
        s_send_reply(
            self, client, call_id, TH_UNAUTHENTICATED,
            "your key is not (or no longer) registered; ask the administrator for a "
            "certificate",
            0, NULL, 0);
        goto cleanup;
    }
    int code = th_wire_check_request_header(header, errbuf, sizeof errbuf);
    if (code != TH_OK) {
        s_send_reply(self, client, call_id, code, errbuf, 0, NULL, 0);
        goto cleanup;
    }
    zframe_t *body = zmsg_next(msg);
    if (zframe_size(body) > self->config.max_message_size) {
        snprintf(errbuf, sizeof errbuf, "request body is %zu bytes; at most %zu allowed",
                 zframe_size(body), self->config.max_message_size);
        s_send_reply(self, client, call_id, TH_RESOURCE_EXHAUSTED, errbuf, 0, NULL, 0);
        goto cleanup;
    }
    if (strcmp(header->method, HEALTH_CHECK) == 0) {
        s_health_check(self, client, call_id, body);
        goto cleanup;
    }
    if (strcmp(header->method, LIST_SERVICES) == 0) {
        s_list_services(self, client, call_id, body);
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

/* --- the worker side ---------------------------------------------------------- */

static bool
s_worker_authorized(broker_t *self, zframe_t *frame)
{
    if (self->config.insecure)
        return true;
    const th_principal_t *principal =
        principals_lookup(self->principals, zframe_meta(frame, "User-Id"));
    return principal != NULL && strcmp(principal->role, "worker") == 0;
}

/* A worker broke the protocol: tell it to go away and forget it. */
static void
s_violation(broker_t *self, zframe_t *identity, worker_t *worker, const char *reason)
{
    if (worker != NULL) {
        s_worker_remove(self, worker, reason, true);
    } else {
        s_note_drop(self, "backend", reason);
        s_send_command(self, identity, TH_CMD_DISCONNECT);
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

static bool
s_service_name_valid(const char *name)
{
    char method[TH_WIRE_METHOD_MAX + 3];
    char service[TH_WIRE_METHOD_MAX + 1];
    if (name == NULL || strlen(name) + 2 > TH_WIRE_METHOD_MAX)
        return false;
    snprintf(method, sizeof method, "%s/M", name);
    return th_wire_split_method(method, service, sizeof service) == 0;
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
        if (!s_service_name_valid(info->name))
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

static void
s_worker_ready(broker_t *self, zframe_t **identity_p, worker_t *existing, zmsg_t *msg)
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
        s_worker_remove(self, existing, "worker sent READY again", false);
    worker = calloc(1, sizeof *worker);
    if (worker == NULL || (worker->calls = zlistx_new()) == NULL)
        goto cleanup;
    worker->identity = *identity_p;
    *identity_p = NULL;
    char *hex = zframe_strhex(worker->identity);
    snprintf(worker->label, sizeof worker->label, "%s", hex != NULL ? hex : "?");
    free(hex);
    worker->instance = strdup(ready->instance != NULL ? ready->instance : "");
    worker->capacity = ready->capacity > CAPACITY_MAX ? CAPACITY_MAX : ready->capacity;
    worker->expires =
        zclock_mono() + (int64_t) self->config.heartbeat_ms * self->config.liveness;
    for (size_t i = 0; i < ready->n_services; i++) {
        const Teilhabe__Broker__V1__ServiceInfo *info = ready->services[i];
        service_t *service = s_service_get(self, info->name, true);
        if (service == NULL)
            continue;
        bool duplicate = false;
        for (size_t k = 0; k < worker->n_services; k++)
            duplicate |= worker->services[k] == service;
        if (duplicate)
            continue;
        if (!service->registered) {
            service->registered = true;
            self->pending_services--;
        } else if (zlistx_size(service->workers) == 0) {
            self->services_down--;
        }
        if (info->n_methods == 0)
            service->any_method = true;
        for (size_t k = 0; k < info->n_methods; k++)
            zhashx_insert(service->methods, info->methods[k], (void *) "");
        worker->services[worker->n_services] = service;
        worker->service_handles[worker->n_services] =
            zlistx_add_end(service->workers, worker);
        worker->n_services++;
        /* Calls waiting out a grace period now wait for this worker instead. */
        for (call_t *queued = zlistx_first(service->queue); queued != NULL;
             queued = zlistx_next(service->queue)) {
            if (queued->grace) {
                queued->grace = false;
                queued->expires = queued->deadline;
                s_heap_update(self, queued);
            }
        }
    }
    zhashx_insert(self->workers, worker->identity, worker);
    char instance[TH_LOG_QUOTE_SIZE];
    th_log_info(0, "worker ready", "worker=%s instance=%s capacity=%u services=%zu",
                worker->label, th_log_quote(instance, sizeof instance, worker->instance),
                worker->capacity, worker->n_services);
    worker_t *ready_worker = worker;
    worker = NULL;
    s_worker_dispatch(self, ready_worker);
cleanup:
    if (worker != NULL)
        s_worker_free(worker);
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
        s_fail_call(self, call, TH_INTERNAL, 0,
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
            s_fail_call(self, call, TH_INTERNAL, 0, "broker out of memory");
            s_worker_dispatch(self, worker);
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
    if (s_send_identity(self->frontend, call->client) == 0) {
        void *socket = zsock_resolve(self->frontend);
        zmq_send(socket, TH_WIRE_CLIENT_SIG, TH_WIRE_SIG_LEN, ZMQ_SNDMORE);
        if (zframe_send(&head, socket, ZFRAME_MORE) != 0)
            zframe_destroy(&head);
        if (zframe_send(&body, socket, 0) != 0)
            zframe_destroy(&body);
    } else {
        th_log_debug(call->call_id, "reply dropped: client gone or not reading", NULL);
        zframe_destroy(&head);
        zframe_destroy(&body);
    }
    th_log_debug(call->call_id, "call answered", "request=%llu worker=%s code=%s",
                 (unsigned long long) id, worker->label, th_status_name(header->code));
    s_call_finish(self, call);
    s_worker_dispatch(self, worker);
cleanup:
    if (unpacked != NULL)
        protobuf_c_message_free_unpacked(unpacked, NULL);
}

static void
s_backend_message(broker_t *self, zmsg_t *msg)
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
            s_note_drop(self, "backend", "first frame is not a teilhabe worker signature");
        goto cleanup;
    }
    if (command == NULL || zframe_size(command) != 1) {
        s_violation(self, identity, worker, "command frame must be exactly one byte");
        goto cleanup;
    }
    if (!s_worker_authorized(self, sig)) {
        char key[TH_LOG_QUOTE_SIZE];
        th_log_warn(0, "worker key no longer registered as a worker", "key=%s",
                    th_log_quote(key, sizeof key, zframe_meta(sig, "User-Id")));
        if (worker != NULL)
            s_worker_remove(self, worker, "key no longer registered", true);
        else
            s_send_command(self, identity, TH_CMD_DISCONNECT);
        goto cleanup;
    }
    byte cmd = zframe_data(command)[0];
    if (worker == NULL && cmd != TH_CMD_READY) {
        /* A worker the broker does not know (it restarted, or the worker
         * was declared dead): make it reconnect and register again. */
        if (cmd != TH_CMD_DISCONNECT)
            s_send_command(self, identity, TH_CMD_DISCONNECT);
        goto cleanup;
    }
    if (worker != NULL)
        worker->expires =
            zclock_mono() + (int64_t) self->config.heartbeat_ms * self->config.liveness;
    switch (cmd) {
    case TH_CMD_READY: s_worker_ready(self, &identity, worker, msg); break;
    case TH_CMD_REPLY: s_worker_reply(self, identity, worker, msg); break;
    case TH_CMD_HEARTBEAT: break;
    case TH_CMD_DISCONNECT:
        s_worker_remove(self, worker, "worker said DISCONNECT", false);
        break;
    default: s_violation(self, identity, worker, "unknown or misdirected command"); break;
    }
cleanup:
    zframe_destroy(&identity);
    zmsg_destroy(&msg);
}

/* --- timers ---------------------------------------------------------------- */

/* Answers every call whose time is up. */
static void
s_expire(broker_t *self, int64_t now)
{
    char message[TH_WIRE_METHOD_MAX + 160];
    while (self->heap_size > 0 && self->heap[0]->expires <= now) {
        call_t *call = self->heap[0];
        worker_t *worker = call->worker;
        service_t *service = call->service;
        if (worker != NULL) {
            s_fail_call(self, call, TH_DEADLINE_EXCEEDED, 0,
                        "deadline exceeded while a worker was handling the call");
            s_worker_dispatch(self, worker);
        } else if (!call->grace || now >= call->deadline) {
            snprintf(message, sizeof message,
                     "deadline exceeded while waiting for a free worker of %s",
                     service->name);
            s_fail_call(self, call, TH_DEADLINE_EXCEEDED, 0, message);
        } else if (service->registered) {
            snprintf(message, sizeof message,
                     "no live worker for service %s; try again later", service->name);
            s_fail_call(self, call, TH_UNAVAILABLE, (uint32_t) self->config.heartbeat_ms,
                        message);
        } else {
            snprintf(message, sizeof message,
                     "unknown service %s: no worker has registered it", service->name);
            s_fail_call(self, call, TH_UNIMPLEMENTED, 0, message);
        }
    }
}

/* Sends heartbeats and buries workers that fell silent. */
static void
s_heartbeat(broker_t *self, int64_t now)
{
    zlistx_t *dead = zlistx_new();
    for (worker_t *worker = zhashx_first(self->workers); worker != NULL;
         worker = zhashx_next(self->workers)) {
        if (now >= worker->expires) {
            if (dead != NULL)
                zlistx_add_end(dead, worker);
        } else {
            s_send_command(self, worker->identity, TH_CMD_HEARTBEAT);
        }
    }
    for (worker_t *worker = dead != NULL ? zlistx_first(dead) : NULL; worker != NULL;
         worker = zlistx_next(dead))
        s_worker_remove(self, worker, "no heartbeat within the liveness interval", true);
    zlistx_destroy(&dead);
    self->next_heartbeat = now + self->config.heartbeat_ms;
}

static void
s_warn_insecure(broker_t *self)
{
    th_log_warn(0, "INSECURE MODE: no encryption, no authentication; every client is admin",
                "frontend=%s backend=%s", self->config.frontend_endpoint,
                self->config.backend_endpoint);
}

/* --- set-up -------------------------------------------------------------------- */

static zsock_t *
s_router_new(const broker_config_t *config, zcert_t *cert, const char *domain,
             const char *endpoint, int sndhwm, char *errbuf, size_t errlen)
{
    zsock_t *socket = zsock_new(ZMQ_ROUTER);
    if (socket == NULL) {
        snprintf(errbuf, errlen, "could not create a ROUTER socket");
        return NULL;
    }
    zsock_set_router_mandatory(socket, 1);
    zsock_set_maxmsgsize(socket, (int) config->hard_max_message_size);
    zsock_set_sndtimeo(socket, 0);
    zsock_set_sndhwm(socket, sndhwm);
    zsock_set_linger(socket, 0);
    if (cert != NULL) {
        zcert_apply(cert, socket);
        zsock_set_curve_server(socket, 1);
        zsock_set_zap_domain(socket, domain);
        zsock_set_zap_enforce_domain(socket, 1);
    }
    if (zsock_bind(socket, "%s", endpoint) < 0) {
        snprintf(errbuf, errlen, "could not bind %s socket to \"%s\": %s", domain, endpoint,
                 zmq_strerror(zmq_errno()));
        zsock_destroy(&socket);
    }
    return socket;
}

broker_t *
broker_new(const broker_config_t *config, char *errbuf, size_t errlen)
{
    zcert_t *cert = NULL;
    broker_t *self = calloc(1, sizeof *self);
    if (self == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    self->config = *config;
    teilhabe__rpc__v1__principal__init(&self->insecure_principal);
    self->insecure_principal.id = (char *) "insecure";
    self->insecure_principal.name = (char *) "insecure mode (no authentication)";
    self->insecure_principal.role = (char *) "admin";

    self->services = zhashx_new();
    self->workers = zhashx_new();
    self->calls = zhashx_new();
    if (self->services == NULL || self->workers == NULL || self->calls == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        goto fail;
    }
    zhashx_set_destructor(self->services, s_service_free);
    zhashx_set_key_duplicator(self->workers, NULL);
    zhashx_set_key_destructor(self->workers, NULL);
    zhashx_set_key_hasher(self->workers, s_frame_hash);
    zhashx_set_key_comparator(self->workers, s_frame_compare);
    zhashx_set_key_duplicator(self->calls, NULL);
    zhashx_set_key_destructor(self->calls, NULL);
    zhashx_set_key_hasher(self->calls, s_id_hash);
    zhashx_set_key_comparator(self->calls, s_id_compare);

    if (!config->insecure) {
        cert = zcert_load(config->broker_cert);
        if (cert == NULL) {
            snprintf(errbuf, errlen, "could not load broker certificate \"%s\"",
                     config->broker_cert);
            goto fail;
        }
        static const byte zero[32] = {0};
        if (memcmp(zcert_secret_key(cert), zero, sizeof zero) == 0) {
            snprintf(errbuf, errlen,
                     "broker certificate \"%s\" has no secret key; give the path of the "
                     "secret certificate file (NAME.cert_secret)",
                     config->broker_cert);
            goto fail;
        }
        self->principals =
            principals_new(config->certs_dir, config->db_url, 10000, errbuf, errlen);
        if (self->principals == NULL)
            goto fail;
        /* The ZAP handler must exist before the first CURVE socket: libzmq
         * would otherwise accept every handshake. */
        self->zap = zap_new(self->principals);
        if (self->zap == NULL) {
            snprintf(errbuf, errlen, "could not bind the ZAP handler at %s", ZAP_ENDPOINT);
            goto fail;
        }
    }
    /* A client that does not read its replies has 1000 waiting before
     * the broker drops more; a worker may have up to CAPACITY_MAX calls in
     * flight plus heartbeats, which must never be refused for lack of
     * room (that would count the worker as gone). */
    self->frontend = s_router_new(config, cert, ZAP_DOMAIN_FRONTEND,
                                  config->frontend_endpoint, 1000, errbuf, errlen);
    if (self->frontend == NULL)
        goto fail;
    self->backend = s_router_new(config, cert, ZAP_DOMAIN_BACKEND, config->backend_endpoint,
                                 2 * CAPACITY_MAX, errbuf, errlen);
    if (self->backend == NULL)
        goto fail;
    zcert_destroy(&cert);
    return self;
fail:
    zcert_destroy(&cert);
    broker_destroy(&self);
    return NULL;
}

void
broker_destroy(broker_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    broker_t *self = *self_p;
    if (self->workers != NULL) {
        zlistx_t *all = zlistx_new();
        for (worker_t *worker = zhashx_first(self->workers); worker != NULL;
             worker = zhashx_next(self->workers))
            zlistx_add_end(all, worker);
        zhashx_purge(self->workers);
        for (worker_t *worker = zlistx_first(all); worker != NULL;
             worker = zlistx_next(all))
            s_worker_free(worker);
        zlistx_destroy(&all);
    }
    for (size_t i = 0; i < self->heap_size; i++)
        s_call_free(self->heap[i]);
    free(self->heap);
    zhashx_destroy(&self->calls);
    zhashx_destroy(&self->workers);
    zhashx_destroy(&self->services);
    zsock_destroy(&self->frontend);
    zsock_destroy(&self->backend);
    zap_destroy(&self->zap);
    principals_destroy(&self->principals);
    free(self);
    *self_p = NULL;
}

int
broker_run(broker_t *self)
{
    zmq_pollitem_t items[4] = {
        {zsock_resolve(self->frontend), 0, ZMQ_POLLIN, 0},
        {zsock_resolve(self->backend), 0, ZMQ_POLLIN, 0},
        {self->zap != NULL ? zap_socket(self->zap) : NULL, 0, ZMQ_POLLIN, 0},
        {self->principals != NULL ? principals_socket(self->principals) : NULL, 0,
         ZMQ_POLLIN, 0},
    };
    int n_items = self->zap != NULL ? 4 : 2;
    int64_t now = zclock_mono();
    self->next_heartbeat = now + self->config.heartbeat_ms;
    if (self->config.insecure) {
        s_warn_insecure(self);
        self->next_insecure_warn = now + INSECURE_WARN_MS;
    }
    th_log_info(
        0, "broker running",
        "frontend=%s backend=%s heartbeat_ms=%d liveness=%d grace_ms=%d principals=%zu",
        self->config.frontend_endpoint, self->config.backend_endpoint,
        self->config.heartbeat_ms, self->config.liveness, self->config.grace_ms,
        self->principals != NULL ? principals_size(self->principals) : 0);
    int result = 0;
    while (!zsys_interrupted) {
        now = zclock_mono();
        int64_t next = self->next_heartbeat;
        if (self->heap_size > 0 && self->heap[0]->expires < next)
            next = self->heap[0]->expires;
        if (self->config.insecure && self->next_insecure_warn < next)
            next = self->next_insecure_warn;
        long timeout = next > now ? (long) (next - now) : 0;
        int rc = zmq_poll(items, n_items, timeout);
        if (rc < 0) {
            if (zmq_errno() == EINTR)
                continue;
            th_log_error(0, "could not poll the broker's sockets", "error=\"%s\"",
                         zmq_strerror(zmq_errno()));
            result = TH_EIO;
            break;
        }
        if (n_items > 2 && (items[2].revents & ZMQ_POLLIN))
            for (int i = 0;
                 i < RECV_BATCH && (zsock_events(zap_socket(self->zap)) & ZMQ_POLLIN); i++)
                zap_handle(self->zap);
        if (n_items > 3 && (items[3].revents & ZMQ_POLLIN))
            principals_update(self->principals);
        if (items[1].revents & ZMQ_POLLIN)
            for (int i = 0; i < RECV_BATCH && (zsock_events(self->backend) & ZMQ_POLLIN);
                 i++) {
                zmsg_t *msg = zmsg_recv(self->backend);
                if (msg == NULL)
                    break;
                s_backend_message(self, msg);
            }
        if (items[0].revents & ZMQ_POLLIN)
            for (int i = 0; i < RECV_BATCH && (zsock_events(self->frontend) & ZMQ_POLLIN);
                 i++) {
                zmsg_t *msg = zmsg_recv(self->frontend);
                if (msg == NULL)
                    break;
                s_frontend_message(self, msg);
            }
        now = zclock_mono();
        s_expire(self, now);
        if (now >= self->next_heartbeat)
            s_heartbeat(self, now);
        if (self->config.insecure && now >= self->next_insecure_warn) {
            s_warn_insecure(self);
            self->next_insecure_warn = now + INSECURE_WARN_MS;
        }
    }
    th_log_info(0, "broker stopping", "workers=%zu calls=%zu", zhashx_size(self->workers),
                zhashx_size(self->calls));
    /* Tell workers so they re-register at once with the next broker instead
     * of waiting out the heartbeat. */
    for (worker_t *worker = zhashx_first(self->workers); worker != NULL;
         worker = zhashx_next(self->workers))
        s_send_command(self, worker->identity, TH_CMD_DISCONNECT);
    /* Let those DISCONNECTs leave before the socket closes (bounded). */
    zsock_set_linger(self->backend, 500);
    return result;
}
