/* ---------------------------------------------------------------------------
 * th_worker.h: the worker runtime every teilhabe service runs on.
 *
 * A service registers its protobuf services (protoc-c ProtobufCServiceDescriptor)
 * with one handler per method; the runtime connects to the broker, sends
 * READY, heartbeats, dispatches REQUESTs by method name to a pool of handler
 * threads (each with its own database connection), packs the replies, and
 * re-registers when the broker restarts. On SIGTERM/SIGINT it stops taking
 * work, finishes the calls in flight, says DISCONNECT and returns 0.
 *
 * Before a handler runs, the runtime has: checked the method exists and has
 * a handler (else UNIMPLEMENTED), checked the body size (RESOURCE_EXHAUSTED),
 * checked on the raw bytes that every string field of header and body is
 * valid UTF-8 without a NUL byte (INVALID_ARGUMENT naming the field, e.g.
 * "filter.ags": protobuf-c would cut the string at the NUL), unpacked the
 * body (INVALID_ARGUMENT when it is not a valid message), and checked the
 * deadline has not passed (DEADLINE_EXCEEDED).
 * ---------------------------------------------------------------------------
 */
#ifndef TH_WORKER_H
#define TH_WORKER_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "th_db.h"
#include "th_wire.h"

typedef struct th_worker_t th_worker_t;
typedef struct th_call_t th_call_t;

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
    int capacity;                  /* handler threads (default 4) */
    int heartbeat_ms;              /* default 1000 */
    int liveness;                  /* missed heartbeats before reconnect (default 3) */
    size_t max_message_size;       /* soft limit of a request body (default 1 MiB) */
    const char *instance;          /* name in logs; default host:pid */
} th_worker_config_t;

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

/* Runs until SIGTERM/SIGINT or th_worker_stop. 0 after a clean stop. */
int th_worker_run(th_worker_t *self);

/* Asks a running worker to stop (safe from another thread). */
void th_worker_stop(th_worker_t *self);

/* --- inside a handler -------------------------------------------------- */

uint64_t th_call_id(const th_call_t *call);
const char *th_call_method(const th_call_t *call);
/* The caller as the broker authenticated it. Never NULL; fields are "" when
 * the broker runs insecure without a principal. */
const th_principal_t *th_call_principal(const th_call_t *call);
/* "" when the call carries none. */
const char *th_call_idempotency_key(const th_call_t *call);
/* Metadata value for key, or NULL. */
const char *th_call_metadata(const th_call_t *call, const char *key);
/* Milliseconds left before the deadline (<= 0: passed). */
int64_t th_call_remaining_ms(const th_call_t *call);
/* The state pointer given to th_worker_add_service. */
void *th_call_state(const th_call_t *call);
/* The handler thread's database connection, or NULL without a database. */
th_db_t *th_call_db(th_call_t *call);

/* Call-scoped memory, released after the reply is sent. Never NULL (aborts
 * on out-of-memory, like the rest of CZMQ). */
void *th_call_alloc(th_call_t *call, size_t size);
char *th_call_strdup(th_call_t *call, const char *s);
char *th_call_printf(th_call_t *call, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Records a failure status with a message for the client and returns code,
 * so a handler can `return th_call_error(call, TH_NOT_FOUND, "...", ...)`. */
int th_call_error(th_call_t *call, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Adds a field violation (sent with the status). */
void th_call_violation(th_call_t *call, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* --- writes: one transaction with audit, outbox and idempotency ---------- */

/* Returned by th_call_begin_write when the idempotency key was used before. */
#define TH_CALL_REPLAY 100

/* Starts the call's write transaction on th_call_db(call): BEGIN, SET LOCAL
 * statement_timeout to the remaining deadline, and, when the call carries an
 * idempotency key, locks that key (pg_advisory_xact_lock) and looks it up in
 * audit.idempotency. Returns:
 *   TH_OK           go on and write; after the handler returns TH_OK the
 *                   runtime stores the packed reply under the key and
 *                   commits; after any other status it rolls back;
 *   TH_CALL_REPLAY  the key was used before for the same method and
 *                   request: the handler returns TH_OK at once with
 *                   *response NULL, and the runtime sends the first reply;
 *   a status code   on failure, already recorded with th_call_error
 *                   (UNAVAILABLE without a database, DEADLINE_EXCEEDED,
 *                   INVALID_ARGUMENT when the key was used for a different
 *                   request): the handler returns it.
 * Usage:
 *   int rc = th_call_begin_write(call);
 *   if (rc == TH_CALL_REPLAY) return TH_OK;
 *   if (rc != TH_OK) return rc;
 */
int th_call_begin_write(th_call_t *call);

/* Writes the audit row (who, when, method, resource, before, after) in the
 * call's write transaction. before_json / after_json may be NULL. */
int th_call_audit(th_call_t *call, const char *resource, const char *before_json,
                  const char *after_json);

/* Appends an event to <schema>.events in the call's write transaction.
 * schema is a fixed identifier from the service's code, never input. */
int th_call_emit(th_call_t *call, const char *schema, const char *topic,
                 const char *resource, const ProtobufCMessage *payload);

/* True after th_call_begin_write found a stored reply. */
bool th_call_is_replay(const th_call_t *call);

#endif /* TH_WORKER_H */
