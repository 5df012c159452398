/* ---------------------------------------------------------------------------
 * th_client.h: the teilhabe client library.
 *
 * Connects to a list of brokers over CURVE, sends calls and matches replies by
 * call id, so several calls can be in flight at once. A call that gets
 * UNAVAILABLE (or no answer from a broker) is retried with exponential backoff
 * and jitter while its deadline allows, failing over to the next broker
 * endpoint. A call's timeout is its whole budget: each attempt is sent with
 * a deadline that keeps some of it back, so an attempt that ends
 * DEADLINE_EXCEEDED (a write that may have committed all the same) is sent
 * once more inside the budget. Every write (the .proto says which methods
 * write: th_methods.h) carries an idempotency key (generated unless the
 * caller gives one) that stays the same across retries, so retried writes
 * are applied once: a retry of a write that did commit gets the first
 * reply back. A read carries none (unless the caller gives one): sending it
 * again is harmless. A key the broker refused at the
 * handshake ends the call UNAUTHENTICATED at once; the next call tries again
 * on a new connection. Nothing in it blocks longer than a call's deadline.
 *
 * One th_client_t belongs to one thread.
 * ---------------------------------------------------------------------------
 */
#ifndef TH_CLIENT_H
#define TH_CLIENT_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct th_client_t th_client_t;

typedef struct {
    /* Comma-separated broker endpoints, e.g. "tcp://127.0.0.1:5555,tcp://10.0.0.2:5555" */
    const char *endpoints;
    /* Z85 public key of the broker(s) (40 chars). NULL or "" = plain, no
     * CURVE (only against a broker started with --insecure). */
    const char *broker_public_key;
    /* Path of this client's certificate with its secret key (zcert file
     * format, as written by ops/keys). Required with broker_public_key. */
    const char *client_cert_path;
    /* Default timeout per call in ms when a call passes 0 (default 5000). */
    int default_timeout_ms;
    /* Largest reply body accepted (default TH_WIRE_SOFT_MAX_DEFAULT). */
    size_t max_message_size;
    /* How long one attempt waits for a reply before failing over to the next
     * broker endpoint (ms, default 2000; bounded by the call's deadline). */
    int attempt_timeout_ms;
    /* Budget kept back from each attempt's deadline for a retry after
     * DEADLINE_EXCEEDED: a quarter of the time left, at most this (ms,
     * default 1000; negative = none, an attempt gets the whole budget). */
    int retry_reserve_ms;
} th_client_config_t;

typedef struct {
    char *field;
    char *description;
} th_violation_t;

/* The outcome of a call. Everything in it belongs to the result; release
 * with th_result_clear. */
typedef struct {
    int code;                     /* status code, TH_OK on success */
    char *message;                /* never NULL after a call ("" on OK) */
    th_violation_t *violations;   /* n_violations entries */
    size_t n_violations;
    uint32_t retry_after_ms;
    ProtobufCMessage *response;   /* unpacked reply when code == TH_OK, else NULL */
    int attempts;                 /* how many times the call was sent */
    char *idempotency_key;        /* the key every attempt carried ("" for a read);
                                   * send it again (th_call_opts_t) to repeat a
                                   * write that ended DEADLINE_EXCEEDED or
                                   * UNAVAILABLE at most once */
} th_result_t;

/* Per-call options; pass NULL for the defaults. */
typedef struct {
    const char *idempotency_key; /* NULL = a new UUID for a write, none for a read */
    const char *const *metadata; /* NULL-terminated key, value, key, value ... */
    bool no_retry;               /* send once with the whole budget, never retry */
} th_call_opts_t;

/* Releases what a result holds and zeroes it. Accepts NULL. */
void th_result_clear(th_result_t *result);

/* Creates a client. Returns NULL on failure and writes a message to errbuf
 * (a missing or unreadable certificate, a malformed key, no endpoints). */
th_client_t *th_client_new(const th_client_config_t *config, char *errbuf, size_t errlen);

/* Accepts NULL; sets *self_p to NULL. */
void th_client_destroy(th_client_t **self_p);

/* Calls method with request and waits for the reply, retrying as described
 * above. timeout_ms 0 = the default. Returns 0 when *out holds a status
 * (including non-OK statuses and locally decided DEADLINE_EXCEEDED /
 * UNAVAILABLE), or a negative th error for a programmer error (bad
 * arguments). The caller must th_result_clear(out). */
int th_client_call(th_client_t *self, const char *method, const ProtobufCMessage *request,
                   const ProtobufCMessageDescriptor *response_desc, int timeout_ms,
                   const th_call_opts_t *opts, th_result_t *out);

/* Asynchronous use: send now, collect later. th_client_send stores the
 * request so th_client_wait can retry it. *call_id identifies the call. */
int th_client_send(th_client_t *self, const char *method, const ProtobufCMessage *request,
                   int timeout_ms, const th_call_opts_t *opts, uint64_t *call_id);

/* Waits for the call's reply (replies to other calls that arrive meanwhile
 * are kept for their own wait). Same return and result rules as
 * th_client_call. */
int th_client_wait(th_client_t *self, uint64_t call_id,
                   const ProtobufCMessageDescriptor *response_desc, th_result_t *out);

/* The endpoint the client currently talks to (borrowed). */
const char *th_client_endpoint(const th_client_t *self);

#endif /* TH_CLIENT_H */
