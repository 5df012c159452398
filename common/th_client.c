/* ---------------------------------------------------------------------------
 * th_client.c: the teilhabe client library (calls through a broker)
 *
 * One DEALER socket talks to the broker endpoint in use. Calls are kept in a
 * list until their outcome is collected; a reply is matched to its call by
 * call id, so replies may arrive in any order and a reply for a call that is
 * not being waited on is kept for its own wait. Replies for calls that are
 * already finished are dropped.
 *
 * Retries: a call answered UNAVAILABLE is sent again after an exponential
 * backoff with full jitter (never sooner than the broker's retry hint) while
 * its deadline allows. A call that gets no answer within attempt_timeout_ms
 * on a connection that is not known to be up (or that went down after the
 * call was sent) moves to the next endpoint: the socket is destroyed, a new
 * one connects to the next endpoint, and every unanswered call is sent again
 * there. The call id and the idempotency key stay the same across attempts,
 * so the service applies a retried write once.
 *
 * The connection state comes from a libzmq socket monitor (handshake
 * succeeded / disconnected) plus ZMTP heartbeats, which turn a broker that
 * stopped answering into a disconnect. A call on a live connection is not
 * failed over: the broker is there and answers DEADLINE_EXCEEDED itself.
 * ---------------------------------------------------------------------------
 */
#include "th_client.h"

#include "th_curve.h"

#include "th_error.h"
#include "th_log.h"
#include "th_status.h"
#include "th_wire.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uuid/uuid.h>

/* Backoff between attempts: base * 2^(attempt-1), capped, full jitter. */
#define S_BACKOFF_BASE_MS 50
#define S_BACKOFF_CAP_MS 2000
/* How long past the deadline the client still waits for the broker's own
 * DEADLINE_EXCEEDED, which says more than a local one. */
#define S_DEADLINE_GRACE_MS 100
/* ZMTP heartbeats: a broker silent this long counts as disconnected. */
#define S_ZMTP_HEARTBEAT_IVL_MS 1000
#define S_ZMTP_HEARTBEAT_TIMEOUT_MS 3000

typedef struct {
    uint64_t id;
    char *method;
    zframe_t *body;          /* packed request, kept for retries */
    char **metadata;         /* key, value, ... (n_metadata pairs) */
    size_t n_metadata;
    char *idempotency_key;
    int timeout_ms;
    int64_t deadline;        /* zclock_mono */
    int64_t attempt_deadline;
    int64_t resend_at;       /* > 0: backoff running, send again then */
    uint64_t sent_generation;
    int attempts;
    bool no_retry;
    bool failover;           /* the pending resend moves to the next endpoint */
    /* A reply that arrived and was not yet looked at */
    th_response_header_t *reply_header;
    zframe_t *reply_body;
} s_call_t;

struct th_client_t {
    char **endpoints;
    size_t n_endpoints;
    size_t current;
    char *broker_public_key;
    zcert_t *cert;
    int default_timeout_ms;
    int attempt_timeout_ms;
    size_t max_message_size;

    zsock_t *socket;
    zsock_t *monitor;        /* PAIR receiving the socket's monitor events */
    bool connected;
    bool auth_refused;       /* the broker's ZAP handler refused our key */
    size_t refusals;         /* endpoints in a row that refused our key */
    uint64_t generation;     /* bumped on every disconnect and new socket */

    zlistx_t *calls;         /* s_call_t *, owned */
    uint64_t next_call_id;
    uint8_t key_base[16];    /* random; idempotency keys = this + a counter */
    uint64_t next_key;
    unsigned int seed;       /* rand_r state for jitter */
};

/* --- results ------------------------------------------------------------ */

void
th_result_clear(th_result_t *result)
{
    if (result == NULL)
        return;
    free(result->message);
    for (size_t i = 0; i < result->n_violations; i++) {
        free(result->violations[i].field);
        free(result->violations[i].description);
    }
    free(result->violations);
    if (result->response != NULL)
        protobuf_c_message_free_unpacked(result->response, NULL);
    memset(result, 0, sizeof *result);
}

static void
s_result_local(th_result_t *out, int code, const char *message, int attempts)
{
    memset(out, 0, sizeof *out);
    out->code = code;
    out->message = strdup(message != NULL ? message : "");
    out->attempts = attempts;
}

/* --- calls --------------------------------------------------------------- */

static void
s_call_drop_reply(s_call_t *call)
{
    if (call->reply_header != NULL)
        protobuf_c_message_free_unpacked(&call->reply_header->base, NULL);
    call->reply_header = NULL;
    zframe_destroy(&call->reply_body);
}

static void
s_call_destroy(s_call_t **call_p)
{
    s_call_t *call = *call_p;
    if (call == NULL)
        return;
    free(call->method);
    zframe_destroy(&call->body);
    for (size_t i = 0; i < call->n_metadata * 2; i++)
        free(call->metadata[i]);
    free(call->metadata);
    free(call->idempotency_key);
    s_call_drop_reply(call);
    free(call);
    *call_p = NULL;
}

static void
s_call_destructor(void **item)
{
    s_call_destroy((s_call_t **) item);
}

static s_call_t *
s_call_find(th_client_t *self, uint64_t id)
{
    for (s_call_t *call = zlistx_first(self->calls); call != NULL;
         call = zlistx_next(self->calls))
        if (call->id == id)
            return call;
    return NULL;
}

static void
s_call_remove(th_client_t *self, s_call_t *call)
{
    void *handle = zlistx_find(self->calls, call);
    if (handle != NULL)
        zlistx_delete(self->calls, handle); /* the destructor frees it */
}

/* --- socket -------------------------------------------------------------- */

static void
s_socket_close(th_client_t *self)
{
    if (self->socket != NULL)
        zmq_socket_monitor(zsock_resolve(self->socket), NULL, 0);
    zsock_destroy(&self->monitor);
    zsock_destroy(&self->socket);
    self->connected = false;
    self->auth_refused = false;
    self->generation++;
}

/* Opens a socket to the current endpoint. 0 or TH_EIO. */
static int
s_socket_open(th_client_t *self)
{
    s_socket_close(self);
    const char *endpoint = self->endpoints[self->current];
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    if (sock == NULL)
        return TH_EIO;
    zsock_set_linger(sock, 0);
    zsock_set_sndhwm(sock, 10000);
    zsock_set_rcvhwm(sock, 10000);
    zsock_set_reconnect_ivl(sock, 100);
    zsock_set_reconnect_ivl_max(sock, 1000);
    zsock_set_heartbeat_ivl(sock, S_ZMTP_HEARTBEAT_IVL_MS);
    zsock_set_heartbeat_timeout(sock, S_ZMTP_HEARTBEAT_TIMEOUT_MS);
    size_t hard = TH_WIRE_HARD_MAX_DEFAULT + TH_WIRE_CURVE_OVERHEAD;
    if (self->max_message_size + TH_WIRE_HEADER_MAX + 64 > hard)
        hard = self->max_message_size + TH_WIRE_HEADER_MAX + 64;
    zsock_set_maxmsgsize(sock, hard > INT32_MAX ? INT32_MAX : (int) hard);
    if (self->cert != NULL) {
        zcert_apply(self->cert, sock);
        zsock_set_curve_serverkey(sock, self->broker_public_key);
    }

    /* A fresh name every time: libzmq closes sockets asynchronously, so a
     * name built from the client's address could still be bound by the
     * monitor of a client that was just destroyed at the same address. */
    uuid_t uuid;
    char uuid_text[37];
    uuid_generate_random(uuid);
    uuid_unparse_lower(uuid, uuid_text);
    char monitor_endpoint[96];
    snprintf(monitor_endpoint, sizeof monitor_endpoint, "inproc://th-client-monitor-%s",
             uuid_text);
    if (zmq_socket_monitor(zsock_resolve(sock), monitor_endpoint,
                           ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED |
                               ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0) {
        zsock_destroy(&sock);
        return TH_EIO;
    }
    zsock_t *monitor = zsock_new(ZMQ_PAIR);
    if (monitor == NULL || zsock_connect(monitor, "%s", monitor_endpoint) != 0) {
        zmq_socket_monitor(zsock_resolve(sock), NULL, 0);
        zsock_destroy(&monitor);
        zsock_destroy(&sock);
        return TH_EIO;
    }
    if (zsock_connect(sock, "%s", endpoint) != 0) {
        th_log_warn(0, "could not connect to broker endpoint", "endpoint=\"%s\"", endpoint);
        zmq_socket_monitor(zsock_resolve(sock), NULL, 0);
        zsock_destroy(&monitor);
        zsock_destroy(&sock);
        return TH_EIO;
    }
    self->socket = sock;
    self->monitor = monitor;
    self->connected = false;
    self->generation++;
    return 0;
}

/* Reads the monitor events that are waiting. */
static void
s_monitor_drain(th_client_t *self)
{
    while (self->monitor != NULL && (zsock_events(self->monitor) & ZMQ_POLLIN)) {
        zmsg_t *event = zmsg_recv(self->monitor);
        if (event == NULL)
            return;
        zframe_t *first = zmsg_first(event);
        if (first != NULL && zframe_size(first) >= 2) {
            uint16_t id;
            memcpy(&id, zframe_data(first), sizeof id);
            if (id == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
                self->connected = true;
                self->auth_refused = false;
                self->refusals = 0;
            } else if (id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
                self->auth_refused = true;
            } else if (id == ZMQ_EVENT_DISCONNECTED) {
                /* Whatever was sent on the old connection is lost */
                self->connected = false;
                self->generation++;
            }
        }
        zmsg_destroy(&event);
    }
}

/* --- sending ------------------------------------------------------------- */

static int
s_send(th_client_t *self, s_call_t *call)
{
    if (self->socket == NULL && s_socket_open(self) != 0)
        return TH_EIO;
    int64_t remaining = call->deadline - zclock_mono();
    if (remaining < 1)
        remaining = 1;
    th_request_header_t header = TEILHABE__RPC__V1__REQUEST_HEADER__INIT;
    header.call_id = call->id;
    header.method = call->method;
    header.timeout_ms = (uint32_t) remaining;
    header.idempotency_key = call->idempotency_key;
    Teilhabe__Rpc__V1__MetadataEntry entries[TH_WIRE_METADATA_MAX];
    Teilhabe__Rpc__V1__MetadataEntry *entry_ptrs[TH_WIRE_METADATA_MAX];
    for (size_t i = 0; i < call->n_metadata; i++) {
        teilhabe__rpc__v1__metadata_entry__init(&entries[i]);
        entries[i].key = call->metadata[2 * i];
        entries[i].value = call->metadata[2 * i + 1];
        entry_ptrs[i] = &entries[i];
    }
    header.n_metadata = call->n_metadata;
    header.metadata = entry_ptrs;

    zmsg_t *msg = zmsg_new();
    zframe_t *head = th_wire_pack(&header.base);
    zframe_t *body = zframe_dup(call->body);
    if (msg == NULL || head == NULL || body == NULL) {
        zmsg_destroy(&msg);
        zframe_destroy(&head);
        zframe_destroy(&body);
        return TH_ENOMEM;
    }
    zmsg_addstr(msg, TH_WIRE_CLIENT_SIG);
    zmsg_append(msg, &head);
    zmsg_append(msg, &body);
    if (zmsg_send(&msg, self->socket) != 0) {
        zmsg_destroy(&msg);
        return TH_EIO;
    }
    int64_t now = zclock_mono();
    call->attempts++;
    call->sent_generation = self->generation;
    call->resend_at = 0;
    call->attempt_deadline = now + self->attempt_timeout_ms;
    return 0;
}

static int64_t
s_backoff_ms(th_client_t *self, int attempts, uint32_t retry_after_ms)
{
    int64_t cap = S_BACKOFF_BASE_MS;
    for (int i = 1; i < attempts && cap < S_BACKOFF_CAP_MS; i++)
        cap *= 2;
    if (cap > S_BACKOFF_CAP_MS)
        cap = S_BACKOFF_CAP_MS;
    int64_t wait = (int64_t) (rand_r(&self->seed) % (cap + 1));
    if (wait < (int64_t) retry_after_ms)
        wait = retry_after_ms;
    return wait;
}

/* Moves to the next endpoint and sends every call that has no answer yet
 * again there (the replies to the old socket can no longer arrive). */
static void
s_failover(th_client_t *self)
{
    const char *from = self->endpoints[self->current];
    self->current = (self->current + 1) % self->n_endpoints;
    th_log_debug(0, "failing over to the next broker endpoint", "from=\"%s\" to=\"%s\"", from,
                 self->endpoints[self->current]);
    s_socket_close(self);
    if (s_socket_open(self) != 0)
        return;
    int64_t now = zclock_mono();
    for (s_call_t *call = zlistx_first(self->calls); call != NULL;
         call = zlistx_next(self->calls)) {
        if (call->reply_header != NULL || call->resend_at > 0 || call->no_retry ||
            now >= call->deadline)
            continue;
        s_send(self, call);
    }
}

/* --- receiving ----------------------------------------------------------- */

/* Takes one message off the socket and files it with its call. Anything
 * malformed is dropped: a broker or an impostor must not crash a client. */
static void
s_receive_one(th_client_t *self)
{
    zmsg_t *msg = zmsg_recv(self->socket);
    if (msg == NULL)
        return;
    th_response_header_t *header = NULL;
    if (zmsg_size(msg) != 3 || !th_wire_is_sig(zmsg_first(msg), TH_WIRE_CLIENT_SIG)) {
        th_log_debug(0, "dropping a malformed reply", "frames=%zu", zmsg_size(msg));
        goto cleanup;
    }
    ProtobufCMessage *unpacked = NULL;
    if (th_wire_unpack(&teilhabe__rpc__v1__response_header__descriptor, zmsg_next(msg),
                       TH_WIRE_HEADER_MAX, &unpacked) != 0) {
        th_log_debug(0, "dropping a reply with an undecodable header", NULL);
        goto cleanup;
    }
    header = (th_response_header_t *) unpacked;
    s_call_t *call = s_call_find(self, header->call_id);
    if (call == NULL || call->reply_header != NULL || call->resend_at > 0) {
        th_log_debug(header->call_id, "dropping a reply for no waiting call", NULL);
        goto cleanup;
    }
    call->reply_header = header;
    header = NULL;
    call->reply_body = zmsg_next(msg);
    zmsg_remove(msg, call->reply_body);
cleanup:
    if (header != NULL)
        protobuf_c_message_free_unpacked(&header->base, NULL);
    zmsg_destroy(&msg);
}

static void
s_poll(th_client_t *self, int64_t timeout_ms)
{
    if (timeout_ms < 0)
        timeout_ms = 0;
    if (self->socket == NULL || self->monitor == NULL) {
        zclock_sleep((int) timeout_ms);
        return;
    }
    zmq_pollitem_t items[2] = {
        {zsock_resolve(self->socket), 0, ZMQ_POLLIN, 0},
        {zsock_resolve(self->monitor), 0, ZMQ_POLLIN, 0},
    };
    if (zmq_poll(items, 2, (long) timeout_ms) <= 0)
        return;
    /* Only the sockets poll named, one message each: asking a socket
     * whether it has more costs libzmq a system call, and the caller's
     * next poll returns at once while anything is still queued. */
    if (items[1].revents & ZMQ_POLLIN)
        s_monitor_drain(self);
    if ((items[0].revents & ZMQ_POLLIN) && self->socket != NULL)
        s_receive_one(self);
}

/* --- public API ---------------------------------------------------------- */

static char *
s_trimmed_dup(const char *start, size_t len)
{
    while (len > 0 && (*start == ' ' || *start == '\t')) {
        start++;
        len--;
    }
    while (len > 0 && (start[len - 1] == ' ' || start[len - 1] == '\t'))
        len--;
    return len > 0 ? strndup(start, len) : NULL;
}

th_client_t *
th_client_new(const th_client_config_t *config, char *errbuf, size_t errlen)
{
    th_client_t *self = NULL;
    if (config == NULL || config->endpoints == NULL || config->endpoints[0] == '\0') {
        snprintf(errbuf, errlen, "no broker endpoint given (set endpoint, e.g. "
                                 "tcp://127.0.0.1:5555)");
        return NULL;
    }
    self = calloc(1, sizeof *self);
    if (self == NULL)
        goto nomem;
    self->default_timeout_ms = config->default_timeout_ms > 0 ? config->default_timeout_ms : 5000;
    self->attempt_timeout_ms = config->attempt_timeout_ms > 0 ? config->attempt_timeout_ms : 2000;
    self->max_message_size =
        config->max_message_size > 0 ? config->max_message_size : TH_WIRE_SOFT_MAX_DEFAULT;
    self->calls = zlistx_new();
    if (self->calls == NULL)
        goto nomem;
    zlistx_set_destructor(self->calls, s_call_destructor);

    /* Endpoints: a comma-separated list */
    const char *p = config->endpoints;
    while (*p != '\0') {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t) (comma - p) : strlen(p);
        char *endpoint = s_trimmed_dup(p, len);
        if (endpoint != NULL) {
            char **grown = realloc(self->endpoints, (self->n_endpoints + 1) * sizeof *grown);
            if (grown == NULL) {
                free(endpoint);
                goto nomem;
            }
            self->endpoints = grown;
            self->endpoints[self->n_endpoints++] = endpoint;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    if (self->n_endpoints == 0) {
        snprintf(errbuf, errlen, "no broker endpoint in \"%s\"", config->endpoints);
        goto failed;
    }

    if (config->broker_public_key != NULL && config->broker_public_key[0] != '\0') {
        self->cert = th_curve_load_identity(config->broker_public_key,
                                            config->client_cert_path, "client", errbuf,
                                            errlen);
        if (self->cert == NULL)
            goto failed;
        self->broker_public_key = strdup(config->broker_public_key);
        if (self->broker_public_key == NULL)
            goto nomem;
    }

    uuid_generate_random(self->key_base);
    uint8_t seed_bytes[16];
    uuid_generate(seed_bytes);
    memcpy(&self->seed, seed_bytes, sizeof self->seed);
    uint64_t start;
    memcpy(&start, seed_bytes + 4, sizeof start);
    /* Call ids start at a random point so two clients' ids rarely meet in
     * logs; the low bits stay small and readable. */
    self->next_call_id = (start & 0xffffff) + 1;

    if (s_socket_open(self) != 0) {
        snprintf(errbuf, errlen, "could not open a socket to broker endpoint \"%s\"",
                 self->endpoints[0]);
        goto failed;
    }
    return self;

nomem:
    snprintf(errbuf, errlen, "out of memory");
failed:
    th_client_destroy(&self);
    return NULL;
}

void
th_client_destroy(th_client_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    th_client_t *self = *self_p;
    s_socket_close(self);
    zlistx_destroy(&self->calls);
    for (size_t i = 0; i < self->n_endpoints; i++)
        free(self->endpoints[i]);
    free(self->endpoints);
    free(self->broker_public_key);
    zcert_destroy(&self->cert);
    free(self);
    *self_p = NULL;
}

const char *
th_client_endpoint(const th_client_t *self)
{
    return self->endpoints[self->current];
}

int
th_client_send(th_client_t *self, const char *method, const ProtobufCMessage *request,
               int timeout_ms, const th_call_opts_t *opts, uint64_t *call_id)
{
    if (self == NULL || method == NULL || request == NULL || call_id == NULL ||
        timeout_ms < 0)
        return TH_EINVAL;
    s_call_t *call = calloc(1, sizeof *call);
    if (call == NULL)
        return TH_ENOMEM;
    int rc = TH_ENOMEM;
    call->id = self->next_call_id++;
    call->method = strdup(method);
    call->body = th_wire_pack(request);
    call->timeout_ms = timeout_ms > 0 ? timeout_ms : self->default_timeout_ms;
    call->deadline = zclock_mono() + call->timeout_ms;
    call->no_retry = opts != NULL && opts->no_retry;
    if (opts != NULL && opts->idempotency_key != NULL && opts->idempotency_key[0] != '\0') {
        call->idempotency_key = strdup(opts->idempotency_key);
    } else {
        /* A version-4 UUID: the client's random base with a counter mixed
         * into its last bytes. Unique within the client by the counter and
         * across clients by the 122 random bits, without asking the kernel
         * for fresh randomness on every call. */
        uuid_t uuid;
        char text[37];
        memcpy(uuid, self->key_base, sizeof uuid);
        uint64_t counter = self->next_key++;
        for (size_t i = 0; i < 7; i++) /* bytes 9-15: 56 bits, clear of the variant */
            uuid[9 + i] ^= (uint8_t) (counter >> (8 * i));
        uuid[6] = (uint8_t) ((uuid[6] & 0x0f) | 0x40); /* version 4 */
        uuid[8] = (uint8_t) ((uuid[8] & 0x3f) | 0x80); /* RFC 4122 variant */
        uuid_unparse_lower(uuid, text);
        call->idempotency_key = strdup(text);
    }
    if (call->method == NULL || call->body == NULL || call->idempotency_key == NULL)
        goto failed;
    if (opts != NULL && opts->metadata != NULL) {
        size_t n = 0;
        while (opts->metadata[2 * n] != NULL && opts->metadata[2 * n + 1] != NULL)
            n++;
        if (n > TH_WIRE_METADATA_MAX) {
            rc = TH_EINVAL;
            goto failed;
        }
        call->metadata = calloc(2 * n + 1, sizeof *call->metadata);
        if (call->metadata == NULL)
            goto failed;
        call->n_metadata = n;
        for (size_t i = 0; i < 2 * n; i++)
            if ((call->metadata[i] = strdup(opts->metadata[i])) == NULL)
                goto failed;
    }
    if (zlistx_add_end(self->calls, call) == NULL)
        goto failed;
    *call_id = call->id;
    /* A failed send (no socket) is retried by the wait like a lost reply */
    if (s_send(self, call) != 0) {
        call->attempts++;
        call->attempt_deadline = zclock_mono();
    }
    return 0;

failed:
    s_call_destroy(&call);
    return rc;
}

/* Fills out from the call's reply. Returns true when the call is finished,
 * false when it is to be retried. */
static bool
s_take_reply(th_client_t *self, s_call_t *call, const ProtobufCMessageDescriptor *response_desc,
             th_result_t *out)
{
    th_response_header_t *header = call->reply_header;
    int code = (int) header->code;
    if (code < 0 || code > TH_STATUS_MAX)
        code = TH_UNKNOWN;
    int64_t now = zclock_mono();
    if (code == TH_UNAVAILABLE && !call->no_retry) {
        int64_t wait = s_backoff_ms(self, call->attempts, header->retry_after_ms);
        if (now + wait < call->deadline) {
            call->resend_at = now + wait;
            th_log_debug(call->id, "retrying after UNAVAILABLE", "attempt=%d wait_ms=%lld",
                         call->attempts, (long long) wait);
            s_call_drop_reply(call);
            return false;
        }
    }
    memset(out, 0, sizeof *out);
    out->code = code;
    out->attempts = call->attempts;
    out->retry_after_ms = header->retry_after_ms;
    out->message = strdup(header->message != NULL ? header->message : "");
    if (header->n_violations > 0) {
        out->violations = calloc(header->n_violations, sizeof *out->violations);
        for (size_t i = 0; out->violations != NULL && i < header->n_violations; i++) {
            const Teilhabe__Rpc__V1__FieldViolation *v = header->violations[i];
            out->violations[i].field = strdup(v != NULL && v->field ? v->field : "");
            out->violations[i].description =
                strdup(v != NULL && v->description ? v->description : "");
            out->n_violations = i + 1;
        }
    }
    if (code == TH_OK && response_desc != NULL) {
        ProtobufCMessage *response = NULL;
        int rc = th_wire_unpack(response_desc, call->reply_body, self->max_message_size,
                                &response);
        if (rc == TH_ETOOBIG) {
            free(out->message);
            out->code = TH_RESOURCE_EXHAUSTED;
            out->message = NULL;
            if (asprintf(&out->message,
                         "the reply to %s is %zu bytes, larger than this client's limit of "
                         "%zu bytes",
                         call->method, zframe_size(call->reply_body),
                         self->max_message_size) < 0)
                out->message = NULL;
        } else if (rc != 0) {
            free(out->message);
            out->code = TH_INTERNAL;
            out->message = NULL;
            if (asprintf(&out->message, "the reply to %s is not a valid %s message",
                         call->method, response_desc->name) < 0)
                out->message = NULL;
        } else {
            out->response = response;
        }
    }
    if (out->message == NULL)
        out->message = strdup("");
    return true;
}

int
th_client_wait(th_client_t *self, uint64_t call_id,
               const ProtobufCMessageDescriptor *response_desc, th_result_t *out)
{
    if (self == NULL || out == NULL)
        return TH_EINVAL;
    memset(out, 0, sizeof *out);
    s_call_t *call = s_call_find(self, call_id);
    if (call == NULL)
        return TH_EINVAL;
    /* Bounded: every pass either waits on the socket until the next event
     * time or changes the call's state, and the deadline ends it. */
    while (true) {
        int64_t now = zclock_mono();
        if (call->reply_header != NULL) {
            if (s_take_reply(self, call, response_desc, out))
                break;
            continue;
        }
        if (call->resend_at > 0 && now >= call->resend_at) {
            call->resend_at = 0;
            if (now >= call->deadline)
                continue; /* the deadline below ends it */
            if (call->failover) {
                call->failover = false;
                s_failover(self); /* sends this call again, too */
            } else if (s_send(self, call) != 0) {
                call->attempt_deadline = now;
            }
            if (call->attempt_deadline <= now) /* not sent: try again later */
                call->attempt_deadline = now + self->attempt_timeout_ms;
            continue;
        }
        if (self->auth_refused && !self->connected &&
            self->refusals + 1 < self->n_endpoints && now < call->deadline) {
            /* This broker will not talk to us, but the key may be known to
             * another one of the list (brokers need not share principals):
             * try the next endpoint at once, with every unanswered call. */
            th_log_debug(call->id, "the broker refused this client's key, trying the next",
                         "endpoint=\"%s\"", th_client_endpoint(self));
            self->refusals++;
            s_failover(self);
            continue;
        }
        if (self->auth_refused && !self->connected) {
            /* Waiting longer cannot help: no broker will talk to us */
            char message[512];
            if (self->n_endpoints > 1)
                snprintf(message, sizeof message,
                         "every broker endpoint (%zu, the last %s) refused this client's key; "
                         "its public certificate is not among their known principals",
                         self->n_endpoints, th_client_endpoint(self));
            else
                snprintf(message, sizeof message,
                         "the broker at %s refused this client's key; its public certificate "
                         "is not among the broker's known principals",
                         th_client_endpoint(self));
            s_result_local(out, TH_UNAUTHENTICATED, message, call->attempts);
            break;
        }
        int64_t end = call->deadline + S_DEADLINE_GRACE_MS;
        if (now >= end) {
            char message[512];
            if (self->connected && call->sent_generation == self->generation)
                snprintf(message, sizeof message,
                         "no reply to %s within %d ms; the broker at %s is reachable, so the "
                         "service is slow or overloaded (allow a longer timeout)",
                         call->method, call->timeout_ms, th_client_endpoint(self));
            else
                snprintf(message, sizeof message,
                         "no reply from the broker at %s within %d ms; is it running? "
                         "(teilhabe health)",
                         th_client_endpoint(self), call->timeout_ms);
            s_result_local(out, TH_DEADLINE_EXCEEDED, message, call->attempts);
            break;
        }
        if (call->resend_at == 0 && !call->no_retry && now >= call->attempt_deadline &&
            now < call->deadline) {
            bool alive = self->connected && call->sent_generation == self->generation;
            int64_t wait = s_backoff_ms(self, call->attempts, 0);
            if (alive || now + wait >= call->deadline) {
                /* Either the broker has the call and will answer (in the
                 * worst case DEADLINE_EXCEEDED: do not send it twice), or
                 * there is no time left for another attempt. */
                call->attempt_deadline = now + self->attempt_timeout_ms;
            } else {
                th_log_debug(call->id, "no reply from the broker, failing over",
                             "endpoint=\"%s\" attempt=%d", th_client_endpoint(self),
                             call->attempts);
                call->resend_at = now + wait;
                call->failover = true;
            }
            continue;
        }
        int64_t until = end;
        if (call->resend_at > 0 && call->resend_at < until)
            until = call->resend_at;
        if (call->resend_at == 0 && !call->no_retry && call->attempt_deadline < until)
            until = call->attempt_deadline;
        s_poll(self, until - now);
    }
    s_call_remove(self, call);
    return 0;
}

int
th_client_call(th_client_t *self, const char *method, const ProtobufCMessage *request,
               const ProtobufCMessageDescriptor *response_desc, int timeout_ms,
               const th_call_opts_t *opts, th_result_t *out)
{
    if (out == NULL)
        return TH_EINVAL;
    memset(out, 0, sizeof *out);
    uint64_t call_id = 0;
    int rc = th_client_send(self, method, request, timeout_ms, opts, &call_id);
    if (rc != 0)
        return rc;
    return th_client_wait(self, call_id, response_desc, out);
}
