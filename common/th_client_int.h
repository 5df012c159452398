/* ---------------------------------------------------------------------------
 * th_client_int.h: what the client library's two parts share (th_client.c:
 * calls, retries and the public API; th_client_link.c: the socket to the
 * broker and the receive side). Not for callers: they see th_client.h.
 * ---------------------------------------------------------------------------
 */
#ifndef TH_CLIENT_INT_H
#define TH_CLIENT_INT_H

#include "th_client.h"
#include "th_wire.h"

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A call until its outcome is collected */
typedef struct {
    uint64_t id;
    char *method;
    zframe_t *body;          /* packed request, kept for retries */
    char **metadata;         /* key, value, ... (n_metadata pairs) */
    size_t n_metadata;
    char *idempotency_key;
    int timeout_ms;
    int64_t deadline;        /* zclock_mono */
    int64_t sent_deadline;   /* the deadline the last attempt was sent with */
    int64_t attempt_deadline;
    int64_t resend_at;       /* > 0: backoff running, send again then */
    uint64_t sent_generation;
    int attempts;
    bool no_retry;
    bool failover;           /* the pending resend moves to the next endpoint */
    /* A reply that arrived and was not yet looked at */
    th_response_header_t *reply_header;
    zframe_t *reply_body;
} th_client_call_t;

struct th_client_t {
    char **endpoints;
    size_t n_endpoints;
    size_t current;
    char *broker_public_key;
    zcert_t *cert;
    int default_timeout_ms;
    int attempt_timeout_ms;
    int retry_reserve_ms;    /* 0: none */
    size_t max_message_size;

    zsock_t *socket;
    zsock_t *monitor;        /* PAIR receiving the socket's monitor events */
    bool connected;
    bool auth_refused;       /* the broker's ZAP handler refused our key */
    size_t refusals;         /* endpoints in a row that refused our key */
    uint64_t generation;     /* bumped on every disconnect and new socket */

    zlistx_t *calls;         /* th_client_call_t *, owned */
    uint64_t next_call_id;
    uint8_t key_base[16];    /* random; idempotency keys = this + a counter */
    uint64_t next_key;
    unsigned int seed;       /* rand_r state for jitter */
};

/* The call with call id id, or NULL. */
th_client_call_t *th_client__call_find(th_client_t *self, uint64_t id);

/* Opens a socket (and its monitor) to the current endpoint, closing the
 * one before. 0 or TH_EIO. */
int th_client__socket_open(th_client_t *self);

/* Closes the socket and its monitor; the calls sent on it count as lost. */
void th_client__socket_close(th_client_t *self);

/* Waits up to timeout_ms for the socket or its monitor, then takes at most
 * one message from each: a reply is filed with its call, an event updates
 * the connection state. */
void th_client__poll(th_client_t *self, int64_t timeout_ms);

#endif /* TH_CLIENT_INT_H */
