/* ---------------------------------------------------------------------------
 * broker.c: routing calls from clients to workers, with deadlines and
 * heartbeats: set-up, the poll loop, timers and the bookkeeping of calls
 *
 * Everything lives in one thread, so nothing here is locked. The objects
 * (service_t, worker_t, call_t) and the split into files are described in
 * broker_int.h. Nothing read from a socket is asserted; every malformed
 * input is either answered or dropped as docs/PROTOCOL.md says.
 * ---------------------------------------------------------------------------
 */
#include "broker_int.h"

#include "th_error.h"
#include "th_log.h"
#include "th_status.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

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

int
broker__heap_push(broker_t *self, call_t *call)
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

void
broker__heap_update(broker_t *self, call_t *call)
{
    s_heap_up(self, call->heap_index);
    s_heap_down(self, call->heap_index);
}

/* --- sending ----------------------------------------------------------------- */

/* Sends [identity | parts...] on a ROUTER. Never blocks (SNDTIMEO is 0): a
 * peer that is gone (EHOSTUNREACH, ROUTER_MANDATORY) or not reading (EAGAIN)
 * makes the first part fail, and then nothing was sent. */
int
broker__send_identity(zsock_t *socket, zframe_t *identity)
{
    return zmq_send(zsock_resolve(socket), zframe_data(identity), zframe_size(identity),
                    ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0
               ? TH_EIO
               : 0;
}

/* Sends [client | "THC01" | header | body]. The client frame is borrowed. */
static void
s_send_header(broker_t *self, zframe_t *client, const th_response_header_t *header,
              const void *body, size_t body_size)
{
    uint8_t stack[1024];
    size_t size = protobuf_c_message_get_packed_size(&header->base);
    uint8_t *packed = size <= sizeof stack ? stack : malloc(size);
    if (packed == NULL) {
        th_log_warn(header->call_id, "reply dropped: out of memory", "code=%s",
                    th_status_name(header->code));
        return;
    }
    protobuf_c_message_pack(&header->base, packed);
    if (broker__send_identity(self->frontend, client) != 0) {
        th_log_debug(header->call_id, "reply dropped: client gone or not reading",
                     "code=%s", th_status_name(header->code));
    } else {
        /* Once the first part is in, libzmq takes the rest of the message
         * (the high-water mark is checked per message): a failure here is
         * a broken socket. */
        void *socket = zsock_resolve(self->frontend);
        if (zmq_send(socket, TH_WIRE_CLIENT_SIG, TH_WIRE_SIG_LEN, ZMQ_SNDMORE) < 0 ||
            zmq_send(socket, packed, size, ZMQ_SNDMORE) < 0 ||
            zmq_send(socket, body, body_size, 0) < 0)
            th_log_warn(header->call_id, "reply lost: frontend socket failed",
                        "error=\"%s\"", zmq_strerror(zmq_errno()));
    }
    if (packed != stack)
        free(packed);
}

/* Sends a reply [client | "THC01" | ResponseHeader | body] built here. body
 * may be NULL. The client frame is borrowed. */
void
broker__send_reply(broker_t *self, zframe_t *client, uint64_t call_id, int code,
                   const char *message, uint32_t retry_after_ms, const void *body,
                   size_t body_size)
{
    th_response_header_t header = TEILHABE__RPC__V1__RESPONSE_HEADER__INIT;
    header.call_id = call_id;
    header.code = (Teilhabe__Rpc__V1__StatusCode) code;
    header.message = (char *) (message != NULL ? message : "");
    header.retry_after_ms = retry_after_ms;
    s_send_header(self, client, &header, body, body_size);
}

void
broker__send_invalid(broker_t *self, zframe_t *client, uint64_t call_id, const char *field,
                     const char *message)
{
    Teilhabe__Rpc__V1__FieldViolation violation = TEILHABE__RPC__V1__FIELD_VIOLATION__INIT;
    Teilhabe__Rpc__V1__FieldViolation *violations[] = {&violation};
    violation.field = (char *) field;
    violation.description = (char *) message;
    th_response_header_t header = TEILHABE__RPC__V1__RESPONSE_HEADER__INIT;
    header.call_id = call_id;
    header.code = TEILHABE__RPC__V1__STATUS_CODE__INVALID_ARGUMENT;
    header.message = (char *) message;
    header.n_violations = 1;
    header.violations = violations;
    s_send_header(self, client, &header, NULL, 0);
}

int
broker__send_command(broker_t *self, zframe_t *identity, byte command)
{
    if (broker__send_identity(self->backend, identity) != 0)
        return TH_EIO;
    void *socket = zsock_resolve(self->backend);
    if (zmq_send(socket, TH_WIRE_WORKER_SIG, TH_WIRE_SIG_LEN, ZMQ_SNDMORE) < 0 ||
        zmq_send(socket, &command, 1, 0) < 0)
        return TH_EIO; /* a broken socket: the first part went, the rest not */
    return 0;
}

/* Counts input that cannot be answered and logs it at most once a second,
 * so a port scanner cannot flood the log. */
void
broker__note_drop(broker_t *self, const char *socket, const char *why)
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
    fairq_destroy(&service->queue);
    free(service->name);
    free(service);
    *item_p = NULL;
}

service_t *
broker__service_get(broker_t *self, const char *name, bool create)
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
    service->queue = fairq_new();
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
void
broker__service_release(broker_t *self, service_t *service)
{
    if (service->registered || fairq_size(service->queue) > 0 ||
        zlistx_size(service->workers) > 0)
        return;
    self->pending_services--;
    zhashx_delete(self->services, service->name);
}

void
broker__services_forget(broker_t *self, int64_t now)
{
    if (self->services_down == 0)
        return;
    zlistx_t *gone = zlistx_new();
    if (gone == NULL)
        return;
    for (service_t *service = zhashx_first(self->services); service != NULL;
         service = zhashx_next(self->services))
        if (service->registered && zlistx_size(service->workers) == 0 &&
            fairq_size(service->queue) == 0 &&
            now - service->down_since >= self->config.service_forget_ms &&
            zlistx_add_end(gone, service) == NULL)
            break; /* out of memory: the rest at the next tick */
    for (service_t *service = zlistx_first(gone); service != NULL;
         service = zlistx_next(gone)) {
        th_log_info(0, "service forgotten: no worker since service_forget_ms",
                    "service=%s down_ms=%lld", service->name,
                    (long long) (now - service->down_since));
        self->services_down--;
        self->services_registered--;
        zhashx_delete(self->services, service->name);
    }
    zlistx_destroy(&gone);
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
void
broker__call_finish(broker_t *self, call_t *call)
{
    s_heap_remove(self, call);
    zhashx_delete(self->calls, &call->id);
    if (call->worker != NULL) {
        zlistx_delete(call->worker->calls, call->handle);
        call->worker->in_flight--;
    } else if (call->handle != NULL) {
        fairq_remove(call->service->queue, call->handle);
        self->queued_bytes -= call->queued_bytes;
    }
    service_t *service = call->service;
    s_call_free(call);
    broker__service_release(self, service);
}

void
broker__fail_call(broker_t *self, call_t *call, int code, uint32_t retry_after_ms,
                  const char *message)
{
    th_log_info(
        call->call_id, "call failed", "request=%llu service=%s code=%s reason=\"%s\"",
        (unsigned long long) call->id, call->service->name, th_status_name(code), message);
    broker__send_reply(self, call->client, call->call_id, code, message, retry_after_ms,
                       NULL, 0);
    broker__call_finish(self, call);
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
            broker__fail_call(self, call, TH_DEADLINE_EXCEEDED, 0,
                              "deadline exceeded while a worker was handling the call");
            broker__worker_dispatch(self, worker);
        } else if (zlistx_size(service->workers) > 0) {
            /* Its workers are there, all busy: the deadline is what ended it */
            snprintf(message, sizeof message,
                     "deadline exceeded while waiting for a free worker of %s",
                     service->name);
            broker__fail_call(self, call, TH_DEADLINE_EXCEEDED, 0, message);
        } else if (service->registered) {
            /* At the end of the grace period, or at the deadline when that
             * came first: the same answer either way (the call never reached
             * a worker, so it is safe to send again). */
            snprintf(message, sizeof message,
                     "no live worker for service %s; try again later", service->name);
            broker__fail_call(self, call, TH_UNAVAILABLE,
                              (uint32_t) self->config.heartbeat_ms, message);
        } else {
            snprintf(message, sizeof message,
                     "unknown service %s: no worker has registered it", service->name);
            broker__fail_call(self, call, TH_UNIMPLEMENTED, 0, message);
        }
    }
}

/* Probes the workers after a worker connection ended: now, and again
 * PROBE_AGAIN_MS later; probes at most every PROBE_MIN_MS, so a flood of
 * ended connections cannot make the broker do nothing else. */
static void
s_probe(broker_t *self, int64_t now)
{
    if (now - self->last_probe < PROBE_MIN_MS) {
        self->probe_at = self->last_probe + PROBE_MIN_MS;
        return;
    }
    self->last_probe = now;
    self->probe_at = self->probe_again ? now + PROBE_AGAIN_MS : 0;
    self->probe_again = false;
    broker__probe_workers(self);
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
    /* Under CURVE libzmq measures the encrypted part, TH_WIRE_CURVE_OVERHEAD
     * bytes larger: allow for it, or bodies just below the documented cap
     * would close the connection instead of being answered. */
    zsock_set_maxmsgsize(socket, (int) config->hard_max_message_size +
                                     (cert != NULL ? TH_WIRE_CURVE_OVERHEAD : 0));
    zsock_set_sndtimeo(socket, 0);
    zsock_set_sndhwm(socket, sndhwm);
    zsock_set_linger(socket, 0);
    /* A peer that connects and never finishes its handshake (or a port
     * scanner) holds a descriptor and a connection slot: libzmq closes it
     * after this long. */
    zsock_set_handshake_ivl(socket, config->handshake_timeout_ms);
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
    self->refused_keys = zhashx_new();
    if (self->services == NULL || self->workers == NULL || self->calls == NULL ||
        self->refused_keys == NULL) {
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
    self->frontend_conns =
        conns_new(self->frontend, "frontend", config->max_connections, errbuf, errlen);
    if (self->frontend_conns == NULL)
        goto fail;
    self->backend_conns =
        conns_new(self->backend, "backend", config->max_worker_connections, errbuf, errlen);
    if (self->backend_conns == NULL)
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
    /* The worker table's keys are the workers' own identity frames: take
     * each worker out before freeing it (no list needed, so no allocation
     * that could fail on the way out). */
    worker_t *worker;
    while (self->workers != NULL && (worker = zhashx_first(self->workers)) != NULL) {
        zhashx_delete(self->workers, worker->identity);
        broker__worker_free(worker);
    }
    for (size_t i = 0; i < self->heap_size; i++)
        s_call_free(self->heap[i]);
    free(self->heap);
    zhashx_destroy(&self->calls);
    zhashx_destroy(&self->workers);
    zhashx_destroy(&self->services);
    zhashx_destroy(&self->refused_keys);
    /* The monitors go first: they watch the sockets. */
    conns_destroy(&self->frontend_conns);
    conns_destroy(&self->backend_conns);
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
    enum {
        P_FRONTEND,
        P_BACKEND,
        P_FRONTEND_CONNS,
        P_BACKEND_CONNS,
        P_ZAP,
        P_PRINCIPALS
    };
    zmq_pollitem_t items[] = {
        [P_FRONTEND] = {zsock_resolve(self->frontend), 0, ZMQ_POLLIN, 0},
        [P_BACKEND] = {zsock_resolve(self->backend), 0, ZMQ_POLLIN, 0},
        [P_FRONTEND_CONNS] = {conns_socket(self->frontend_conns), 0, ZMQ_POLLIN, 0},
        [P_BACKEND_CONNS] = {conns_socket(self->backend_conns), 0, ZMQ_POLLIN, 0},
        [P_ZAP] = {self->zap != NULL ? zap_socket(self->zap) : NULL, 0, ZMQ_POLLIN, 0},
        [P_PRINCIPALS] = {self->principals != NULL ? principals_socket(self->principals)
                                                   : NULL,
                          0, ZMQ_POLLIN, 0},
    };
    /* Insecure mode has neither a ZAP handler nor principals to poll. */
    int n_items = self->zap != NULL ? P_PRINCIPALS + 1 : P_ZAP;
    int64_t now = zclock_mono();
    self->next_heartbeat = now + self->config.heartbeat_ms;
    if (self->config.insecure) {
        s_warn_insecure(self);
        self->next_insecure_warn = now + INSECURE_WARN_MS;
    }
    th_log_info(
        0, "broker running",
        "frontend=%s backend=%s heartbeat_ms=%d liveness=%d grace_ms=%d principals=%zu "
        "max_connections=%zu max_worker_connections=%zu handshake_timeout_ms=%d",
        self->config.frontend_endpoint, self->config.backend_endpoint,
        self->config.heartbeat_ms, self->config.liveness, self->config.grace_ms,
        self->principals != NULL ? principals_size(self->principals) : 0,
        self->config.max_connections, self->config.max_worker_connections,
        self->config.handshake_timeout_ms);
    int result = 0;
    while (!zsys_interrupted) {
        now = zclock_mono();
        int64_t next = self->next_heartbeat;
        if (self->heap_size > 0 && self->heap[0]->expires < next)
            next = self->heap[0]->expires;
        if (self->config.insecure && self->next_insecure_warn < next)
            next = self->next_insecure_warn;
        if (self->probe_at != 0 && self->probe_at < next)
            next = self->probe_at;
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
        /* Connections first: those over a cap are shut down before their
         * handshake even reaches the ZAP handler. */
        if (items[P_FRONTEND_CONNS].revents & ZMQ_POLLIN)
            conns_handle(self->frontend_conns);
        /* A worker connection that ended may be a worker that died (kill
         * -9, a crash, a pulled cable): probe the workers now, and once
         * more in a moment, in case libzmq tells the socket after the
         * monitor. A send that fails removes the worker at once. */
        if ((items[P_BACKEND_CONNS].revents & ZMQ_POLLIN) &&
            conns_handle(self->backend_conns) > 0) {
            self->probe_at = zclock_mono();
            self->probe_again = true;
        }
        if (n_items > P_ZAP && (items[P_ZAP].revents & ZMQ_POLLIN))
            for (int i = 0;
                 i < RECV_BATCH && (zsock_events(zap_socket(self->zap)) & ZMQ_POLLIN); i++)
                zap_handle(self->zap);
        if (n_items > P_PRINCIPALS && (items[P_PRINCIPALS].revents & ZMQ_POLLIN)) {
            int updated = principals_update(self->principals);
            if (updated == 0)
                broker__workers_recheck(self);
            else
                th_log_warn(0, "could not take the new principals; keeping the last ones",
                            "error=\"%s\"", th_strerror(updated));
        }
        if (items[P_BACKEND].revents & ZMQ_POLLIN)
            for (int i = 0; i < RECV_BATCH && (zsock_events(self->backend) & ZMQ_POLLIN);
                 i++) {
                zmsg_t *msg = zmsg_recv(self->backend);
                if (msg == NULL)
                    break;
                broker__backend_message(self, msg);
            }
        if (items[P_FRONTEND].revents & ZMQ_POLLIN)
            for (int i = 0; i < RECV_BATCH && (zsock_events(self->frontend) & ZMQ_POLLIN);
                 i++) {
                zmsg_t *msg = zmsg_recv(self->frontend);
                if (msg == NULL)
                    break;
                broker__frontend_message(self, msg);
            }
        now = zclock_mono();
        if (self->probe_at != 0 && now >= self->probe_at)
            s_probe(self, now);
        s_expire(self, now);
        if (now >= self->next_heartbeat) {
            broker__heartbeat(self, now);
            broker__services_forget(self, now);
        }
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
        if (broker__send_command(self, worker->identity, TH_CMD_DISCONNECT) != 0)
            th_log_debug(0, "DISCONNECT not sent: the worker is gone", "worker=%s",
                         worker->label);
    /* Let those DISCONNECTs leave before the socket closes (bounded). */
    zsock_set_linger(self->backend, 500);
    return result;
}
