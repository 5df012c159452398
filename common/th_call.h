/* ---------------------------------------------------------------------------
 * th_call.h: what a handler of the worker runtime (th_worker.h) works with.
 *
 * A th_call_t is one call being handled: its header (method, principal,
 * metadata, idempotency key, deadline), call-scoped memory for the reply,
 * the status and violations it will end with, the handler thread's database
 * connection, and the write transaction in which the change, its audit row,
 * its outbox event and its idempotency record commit together. It lives in
 * one handler thread for the length of one call.
 * ---------------------------------------------------------------------------
 */
#ifndef TH_CALL_H
#define TH_CALL_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "th_db.h"
#include "th_wire.h"

typedef struct th_call_t th_call_t;

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

#endif /* TH_CALL_H */
