/* ---------------------------------------------------------------------------
 * th_client.c: the teilhabe client library (calls through a broker)
 *
 * One DEALER socket talks to the broker endpoint in use (th_client_link.c:
 * the socket, its monitor, the receive side). Calls are kept in a
 * list until their outcome is collected; a reply is matched to its call by
 * call id, so replies may arrive in any order and a reply for a call that is
 * not being waited on is kept for its own wait. Replies for calls that are
 * already finished are dropped.
 *
 * Retries: a call answered UNAVAILABLE is sent again after an exponential
 * backoff with full jitter (never sooner than the broker's retry hint) while
 * its deadline leaves S_ATTEMPT_MIN_MS after the backoff. The call's timeout
 * is its whole budget: each attempt is sent with a deadline that keeps part
 * of it back (a quarter of what is left, at most retry_reserve_ms), so an
 * attempt that ends
 * DEADLINE_EXCEEDED (a write that may have committed after all) can be sent
 * once more with the same idempotency key, and the service answers it with
 * the first reply it stored. A call that gets no answer within attempt_timeout_ms
 * on a connection that is not known to be up (or that went down after the
 * call was sent) moves to the next endpoint: the socket is destroyed, a new
 * one connects to the next endpoint, and every unanswered call is sent again
 * there. The call id and the idempotency key stay the same across attempts,
 * so the service applies a retried write once. Only writes carry a key
 * (th_methods.h): a read is retried as it is.
 *
 * The connection state comes from a libzmq socket monitor (handshake
 * succeeded / disconnected) plus ZMTP heartbeats, which turn a broker that
 * stopped answering into a disconnect. A call on a live connection is not
 * failed over: the broker is there and answers DEADLINE_EXCEEDED itself.
 *
 * Nothing blocks without a bound: the socket sends with ZMQ_SNDTIMEO 0 (a
 * send that cannot be queued means a dead link: the socket is closed and
 * the call goes out again on a new one), and receives only after a poll.
 * A socket whose handshake the broker refused is dead for good, because
 * libzmq 4.3 ends such a session without reconnecting (see th_worker.c):
 * the call then ends UNAUTHENTICATED at once, and the next call or retry
 * opens a new socket, so a key accepted again later works without a new
 * client.
 * ---------------------------------------------------------------------------
 */
#include "th_client.h"

#include "th_methods.h"

#include "th_client_int.h"
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
/* Budget kept back per attempt for a retry after DEADLINE_EXCEEDED: the
 * default, and the least worth keeping (a retry needs a round trip and the
 * service's look-up of the key). */
#define S_RETRY_RESERVE_DEFAULT_MS 1000
#define S_RETRY_RESERVE_MIN_MS 50
/* An attempt after UNAVAILABLE needs at least this long left once its
 * backoff is over; with less, its likely answer is DEADLINE_EXCEEDED
 * (the service has no time to do anything), which would hide the
 * UNAVAILABLE in hand, the status that says what is wrong. */
#define S_ATTEMPT_MIN_MS 200

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
    free(result->idempotency_key);
    if (result->response != NULL)
        protobuf_c_message_free_unpacked(result->response, NULL);
    memset(result, 0, sizeof *result);
}

/* strdup for what a result hands out: callers print these strings as they
 * are, so they are never NULL. Out of memory aborts, as CZMQ does (and this
 * library's calls go through CZMQ, which would abort a moment later). */
static char *
s_result_strdup(const char *s)
{
    char *copy = strdup(s != NULL ? s : "");
    if (copy == NULL)
        abort();
    return copy;
}

static void
s_result_local(th_result_t *out, const th_client_call_t *call, int code, const char *message)
{
    memset(out, 0, sizeof *out);
    out->code = code;
    out->message = s_result_strdup(message);
    out->attempts = call->attempts;
    out->idempotency_key = s_result_strdup(call->idempotency_key);
}

/* --- calls --------------------------------------------------------------- */

static void
s_call_drop_reply(th_client_call_t *call)
{
    if (call->reply_header != NULL)
        protobuf_c_message_free_unpacked(&call->reply_header->base, NULL);
    call->reply_header = NULL;
    zframe_destroy(&call->reply_body);
}

static void
s_call_destroy(th_client_call_t **call_p)
{
    th_client_call_t *call = *call_p;
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
    s_call_destroy((th_client_call_t **) item);
}

th_client_call_t *
th_client__call_find(th_client_t *self, uint64_t id)
{
    for (th_client_call_t *call = zlistx_first(self->calls); call != NULL;
         call = zlistx_next(self->calls))
        if (call->id == id)
            return call;
    return NULL;
}

static void
s_call_remove(th_client_t *self, th_client_call_t *call)
{
    void *handle = zlistx_find(self->calls, call);
    if (handle != NULL)
        zlistx_delete(self->calls, handle); /* the destructor frees it */
}

/* --- sending ------------------------------------------------------------- */

/* The deadline an attempt is sent with: what is left of the call's budget,
 * less a reserve for one more attempt after DEADLINE_EXCEEDED (a quarter
 * of what is left, at most retry_reserve_ms; none when that is too little
 * to be of use, or the call is never retried). */
static int64_t
s_attempt_ms(const th_client_t *self, const th_client_call_t *call, int64_t now)
{
    int64_t remaining = call->deadline - now;
    if (remaining < 1)
        return 1;
    int64_t reserve = remaining / 4;
    if (reserve > self->retry_reserve_ms)
        reserve = self->retry_reserve_ms;
    if (call->no_retry || reserve < S_RETRY_RESERVE_MIN_MS)
        return remaining;
    return remaining - reserve;
}

static int
s_send(th_client_t *self, th_client_call_t *call)
{
    /* A socket whose handshake was refused never connects again (libzmq
     * ends that session for good): this attempt needs a new one. */
    if ((self->socket == NULL || self->auth_refused) && th_client__socket_open(self) != 0)
        return TH_EIO;
    int64_t attempt_ms = s_attempt_ms(self, call, zclock_mono());
    th_request_header_t header = TEILHABE__RPC__V1__REQUEST_HEADER__INIT;
    header.call_id = call->id;
    header.method = call->method;
    header.timeout_ms = (uint32_t) (attempt_ms > UINT32_MAX ? UINT32_MAX : attempt_ms);
    header.idempotency_key = call->idempotency_key != NULL ? call->idempotency_key : (char *) "";
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
    if (zmsg_addstr(msg, TH_WIRE_CLIENT_SIG) != 0 || zmsg_append(msg, &head) != 0 ||
        zmsg_append(msg, &body) != 0) {
        zmsg_destroy(&msg);
        zframe_destroy(&head);
        zframe_destroy(&body);
        return TH_ENOMEM;
    }
    if (zmsg_send(&msg, self->socket) != 0) {
        /* Sends never wait (ZMQ_SNDTIMEO 0): no pipe to the broker, or a
         * full queue towards one that does not read. The link is dead;
         * the next attempt opens a new socket. */
        zmsg_destroy(&msg);
        th_log_debug(call->id, "could not send to the broker, closing the socket",
                     "endpoint=\"%s\"", th_client_endpoint(self));
        th_client__socket_close(self);
        return TH_EIO;
    }
    int64_t now = zclock_mono();
    call->attempts++;
    call->sent_generation = self->generation;
    call->resend_at = 0;
    call->sent_deadline = now + attempt_ms;
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
    th_client__socket_close(self);
    if (th_client__socket_open(self) != 0) {
        /* The waits try again at their next attempt time */
        th_log_warn(0, "could not open a socket to the broker endpoint", "endpoint=\"%s\"",
                    self->endpoints[self->current]);
        return;
    }
    int64_t now = zclock_mono();
    for (th_client_call_t *call = zlistx_first(self->calls); call != NULL;
         call = zlistx_next(self->calls)) {
        if (call->reply_header != NULL || call->resend_at > 0 || call->no_retry ||
            now >= call->deadline)
            continue;
        /* A call that could not be sent counts as sent and lost: its wait
         * fails it over again after its attempt time */
        if (s_send(self, call) != 0)
            call->attempt_deadline = now + self->attempt_timeout_ms;
    }
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
    self->retry_reserve_ms = config->retry_reserve_ms > 0   ? config->retry_reserve_ms
                             : config->retry_reserve_ms < 0 ? 0
                                                            : S_RETRY_RESERVE_DEFAULT_MS;
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

    if (th_client__socket_open(self) != 0) {
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
    th_client__socket_close(self);
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
    th_client_call_t *call = calloc(1, sizeof *call);
    if (call == NULL)
        return TH_ENOMEM;
    int rc = TH_ENOMEM;
    call->id = self->next_call_id++;
    call->method = strdup(method);
    call->body = th_wire_pack(request);
    call->timeout_ms = timeout_ms > 0 ? timeout_ms : self->default_timeout_ms;
    call->deadline = zclock_mono() + call->timeout_ms;
    call->no_retry = opts != NULL && opts->no_retry;
    /* A write gets a key (the caller's, or a new one) that every attempt
     * carries; a read gets none: its retries are harmless as they are, and
     * the service would ignore a key (docs/PROTOCOL.md 5.3). Which methods
     * write, the .proto files say (th_methods.h). */
    bool keyed = true;
    if (opts != NULL && opts->idempotency_key != NULL && opts->idempotency_key[0] != '\0') {
        call->idempotency_key = strdup(opts->idempotency_key);
    } else if (th_method_kind(method) != TH_METHOD_WRITE) {
        keyed = false;
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
    if (call->method == NULL || call->body == NULL || (keyed && call->idempotency_key == NULL))
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
        call->sent_deadline = call->deadline;
    }
    return 0;

failed:
    s_call_destroy(&call);
    return rc;
}

/* Fills out from the call's reply. Returns true when the call is finished,
 * false when it is to be retried. */
static bool
s_take_reply(th_client_t *self, th_client_call_t *call, const ProtobufCMessageDescriptor *response_desc,
             th_result_t *out)
{
    th_response_header_t *header = call->reply_header;
    int code = (int) header->code;
    if (code < 0 || code > TH_STATUS_MAX)
        code = TH_UNKNOWN;
    int64_t now = zclock_mono();
    if (code == TH_UNAVAILABLE && !call->no_retry) {
        int64_t wait = s_backoff_ms(self, call->attempts, header->retry_after_ms);
        if (now + wait + S_ATTEMPT_MIN_MS <= call->deadline) {
            call->resend_at = now + wait;
            th_log_debug(call->id, "retrying after UNAVAILABLE", "attempt=%d wait_ms=%lld",
                         call->attempts, (long long) wait);
            s_call_drop_reply(call);
            return false;
        }
    }
    if (code == TH_DEADLINE_EXCEEDED && !call->no_retry && call->sent_deadline < call->deadline) {
        /* This attempt's deadline passed, not the call's: a write may have
         * committed all the same (or be about to). The same idempotency
         * key makes the retry safe: the service answers it with the reply
         * it stored, or writes once if the first attempt never did. */
        int64_t left = call->deadline - now;
        int64_t wait = s_backoff_ms(self, call->attempts, header->retry_after_ms);
        if (wait > left / 8)
            wait = left / 8;
        if (left - wait >= S_RETRY_RESERVE_MIN_MS) {
            call->resend_at = now + wait;
            th_log_debug(call->id, "retrying after DEADLINE_EXCEEDED with the same key",
                         "attempt=%d wait_ms=%lld left_ms=%lld", call->attempts,
                         (long long) wait, (long long) left);
            s_call_drop_reply(call);
            return false;
        }
    }
    memset(out, 0, sizeof *out);
    out->code = code;
    out->attempts = call->attempts;
    out->retry_after_ms = header->retry_after_ms;
    out->message = s_result_strdup(header->message);
    out->idempotency_key = s_result_strdup(call->idempotency_key);
    if (header->n_violations > 0) {
        out->violations = calloc(header->n_violations, sizeof *out->violations);
        if (out->violations == NULL)
            abort(); /* as s_result_strdup */
        for (size_t i = 0; i < header->n_violations; i++) {
            const Teilhabe__Rpc__V1__FieldViolation *v = header->violations[i];
            out->violations[i].field = s_result_strdup(v != NULL ? v->field : NULL);
            out->violations[i].description = s_result_strdup(v != NULL ? v->description : NULL);
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
        out->message = s_result_strdup("");
    return true;
}

int
th_client_wait(th_client_t *self, uint64_t call_id,
               const ProtobufCMessageDescriptor *response_desc, th_result_t *out)
{
    if (self == NULL || out == NULL)
        return TH_EINVAL;
    memset(out, 0, sizeof *out);
    th_client_call_t *call = th_client__call_find(self, call_id);
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
            s_result_local(out, call, TH_UNAUTHENTICATED, message);
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
            s_result_local(out, call, TH_DEADLINE_EXCEEDED, message);
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
        th_client__poll(self, until - now);
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
