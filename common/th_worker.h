/* ---------------------------------------------------------------------------
 * th_worker.h: the worker runtime every teilhabe service runs on.
 *
 * A service registers its protobuf services (protoc-c ProtobufCServiceDescriptor)
 * with one handler per method; the runtime starts `capacity` handler
 * threads, each with its own connection to the broker (READY with capacity
 * 1, so the broker counts `capacity` worker connections) and its own
 * database connection, and each handles the calls that arrive on its
 * connection itself: dispatch by method name, the handler, the reply. A
 * thread re-registers when the broker restarts or stops answering, with a
 * new socket each time (also after the broker refused its key). Nothing in
 * it blocks on the broker. On SIGTERM/SIGINT it stops taking work, finishes
 * the calls in flight, says DISCONNECT and returns 0: at once when none is
 * in flight, also while the broker is gone or refuses it.
 *
 * Before a handler runs, the runtime has: checked the method exists and has
 * a handler (else UNIMPLEMENTED), checked the body size (RESOURCE_EXHAUSTED),
 * checked on the raw bytes that every string field of header and body is
 * valid UTF-8 without a NUL byte (INVALID_ARGUMENT naming the field, e.g.
 * "filter.ags": protobuf-c would cut the string at the NUL), unpacked the
 * body (INVALID_ARGUMENT when it is not a valid message), and checked the
 * deadline has not passed (DEADLINE_EXCEEDED). What a handler then works
 * with (the call, its memory, its write transaction) is in th_call.h.
 * ---------------------------------------------------------------------------
 */
#ifndef TH_WORKER_H
#define TH_WORKER_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "th_call.h"
#include "th_db.h"
#include "th_wire.h"

typedef struct th_worker_t th_worker_t;

/* A method handler. It reads request, and on success sets *response to a
 * message it built with memory from th_call_alloc / th_call_strdup (the
 * runtime packs it and releases that memory after the reply is sent), and
 * returns TH_OK. On failure it returns th_call_error(...) (a status code
 * with a message) and leaves *response NULL. */
typedef int (*th_method_fn)(th_call_t *call, const ProtobufCMessage *request,
                            ProtobufCMessage **response);

typedef struct {
    const char *broker_endpoint;   /* backend endpoint, e.g. "tcp://127.0.0.1:5556" */
    const char *broker_public_key; /* Z85, NULL/"" = no CURVE (insecure broker) */
    const char *cert_path;         /* this worker's secret certificate (with CURVE) */
    const char *db_url;            /* libpq conninfo; NULL = no database */
    int capacity;                  /* handler threads = broker connections (default 4) */
    int heartbeat_ms;              /* default 1000 */
    int liveness;                  /* missed heartbeats before reconnect (default 3) */
    size_t max_message_size;       /* soft limit of a request body (default 1 MiB) */
    const char *instance;          /* name in logs; default host:pid */
    /* Idempotency keys of this worker's methods are kept this long, then
     * pruned by the worker itself, between calls (ms; 0 = the default of 7
     * days, < 0 = never: then the operator prunes). */
    int64_t idempotency_keep_ms;
    /* Calls to other services from inside handlers (th_call_invoke): the
     * broker's frontend ("tcp://127.0.0.1:5555"; a comma list fails over)
     * and this service's client certificate, a key of role service (not
     * the worker key: the frontend refuses those). NULL = the service
     * calls no other; with CURVE both are needed. */
    const char *frontend_endpoint;
    const char *client_cert_path;
} th_worker_config_t;

/* The default of th_worker_config_t.idempotency_keep_ms: a week, so a
 * person may repeat a change without a verdict with its key days later. */
#define TH_WORKER_IDEMPOTENCY_KEEP_MS (7LL * 24 * 3600 * 1000)

/* Creates a worker. NULL on failure with a message in errbuf. */
th_worker_t *th_worker_new(const th_worker_config_t *config, char *errbuf, size_t errlen);

/* Accepts NULL; sets *self_p to NULL. */
void th_worker_destroy(th_worker_t **self_p);

/* Registers a service. handlers has desc->n_methods entries in the order of
 * desc->methods (declaration order in the .proto); a NULL entry answers
 * UNIMPLEMENTED. state is handed to handlers via th_call_state. 0 or
 * TH_EINVAL. Call before th_worker_run. */
int th_worker_add_service(th_worker_t *self, const ProtobufCServiceDescriptor *desc,
                          const th_method_fn *handlers, void *state);

/* Start-up work, such as migrations and reference data: returns 0 when
 * done, or non-zero with a reason in errbuf (logged). It runs on a thread of
 * its own, so it must not touch what handlers use until it returns 0. */
typedef int (*th_worker_prepare_fn)(void *arg, char *errbuf, size_t errlen);

/* Makes th_worker_run register with the broker at once and answer every
 * call UNAVAILABLE ("the service is starting: ...", with a retry hint)
 * until fn has returned 0; fn is tried first at once and then again with
 * a doubling wait (0.5 s up to 10 s) while it fails, each failure logged.
 * So a service starts while its database is unreachable and serves once it
 * comes. A stop waits for the attempt under way. 0 or TH_EINVAL. Call
 * before th_worker_run. */
int th_worker_set_prepare(th_worker_t *self, th_worker_prepare_fn fn, void *arg);

/* Runs until SIGTERM/SIGINT or th_worker_stop. 0 after a clean stop. */
int th_worker_run(th_worker_t *self);

/* Asks a running worker to stop (safe from another thread). */
void th_worker_stop(th_worker_t *self);

#endif /* TH_WORKER_H */
