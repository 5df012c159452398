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

#include "th_client.h"
#include "th_db.h"
#include "th_wire.h"

typedef struct th_call_t th_call_t;

/* --- inside a handler -------------------------------------------------- */

uint64_t th_call_id(const th_call_t *call);
const char *th_call_method(const th_call_t *call);
/* The caller as the broker authenticated it. Never NULL; fields are "" when
 * the broker runs insecure without a principal. */
const th_principal_t *th_call_principal(const th_call_t *call);
/* The principal id a service made this call for: the metadata
 * teilhabe-on-behalf-of, taken only when the caller has role service (the
 * broker passes it only from such callers, and the runtime ignores it from
 * anyone else, an insecure broker's callers included). NULL when the call
 * is made by its caller for itself. th_call_record writes it into the
 * audit row (audit.log.on_behalf_of); authorization stays the caller's. */
const char *th_call_on_behalf_of(const th_call_t *call);
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

/* Every write of every service goes the same way:
 *
 *   TH_CALL_BEGIN_WRITE(call);        BEGIN, deadline, idempotency key
 *   ... authorize, read, change, with th_call_db(call) ...
 *   rc = th_call_record(call, "districts/16068", &before->base, &after->base,
 *                       "district.changed", &after->base);
 *   if (rc != TH_OK)
 *       return rc;
 *   *response = &after->base;
 *   return TH_OK;                     the runtime stores the reply, COMMITs
 *
 * Any other status rolls the whole write back, audit row and event with it.
 * A replayed key returns at TH_CALL_BEGIN_WRITE with the first reply, and
 * nothing is changed twice. */

/* Returned by th_call_begin_write when the idempotency key was used before. */
#define TH_CALL_REPLAY 100

/* Starts the call's write transaction on th_call_db(call): BEGIN, SET LOCAL
 * statement_timeout to the remaining deadline, and, when the call carries an
 * idempotency key, locks that key (pg_advisory_xact_lock) and looks it up in
 * audit.idempotency, all in one round trip. Returns:
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
 * TH_CALL_BEGIN_WRITE below is the usual way to call it. */
int th_call_begin_write(th_call_t *call);

/* th_call_begin_write in a handler: returns from the handler on a replay
 * (TH_OK) or a failure (its status), else goes on. */
#define TH_CALL_BEGIN_WRITE(call)                                                          \
    do {                                                                                   \
        const int th_begin_rc_ = th_call_begin_write(call);                                \
        if (th_begin_rc_ == TH_CALL_REPLAY)                                                \
            return TH_OK;                                                                  \
        if (th_begin_rc_ != TH_OK)                                                         \
            return th_begin_rc_;                                                           \
    } while (0)

/* Records a change in the call's write transaction, in one round trip: the
 * audit row (who, on whose behalf, when, method, resource, before and after
 * as JSON made from the messages' descriptors, th_pbjson.h; before NULL for
 * a creation, after NULL for a deletion) and, when topic is not NULL, the
 * event topic with payload event (packed; NULL = empty) in the outbox of
 * the service's own schema: the second part of its package name
 * ("teilhabe.registry.v1" -> registry.events). Returns TH_OK, or a status
 * already recorded with th_call_error (the database's: UNAVAILABLE,
 * DEADLINE_EXCEEDED, ...; INTERNAL outside a write) for the handler to
 * return. */
int th_call_record(th_call_t *call, const char *resource, const ProtobufCMessage *before,
                   const ProtobufCMessage *after, const char *topic,
                   const ProtobufCMessage *event);

/* The two halves of th_call_record on their own, for a second event of one
 * change or a schema of another name. */

/* Writes the audit row (who, when, method, resource, before, after) in the
 * call's write transaction. before_json / after_json may be NULL. 0 or a
 * negative error (th_db_status of th_call_db(call) says more). */
int th_call_audit(th_call_t *call, const char *resource, const char *before_json,
                  const char *after_json);

/* Appends an event to <schema>.events in the call's write transaction.
 * schema is a fixed identifier from the service's code, never input. 0 or
 * a negative error. */
int th_call_emit(th_call_t *call, const char *schema, const char *topic,
                 const char *resource, const ProtobufCMessage *payload);

/* True after th_call_begin_write found a stored reply. */
bool th_call_is_replay(const th_call_t *call);

/* --- calls to other services (th_invoke.c) -------------------------------- */

/* Calls method ("teilhabe.registry.v1.Registry/GetDistrict") of another
 * service through the broker, from inside a handler, and waits for its
 * answer:
 *   - under this service's own client key (role service: th_worker_config_t
 *     frontend_endpoint and client_cert_path), so the callee authorizes the
 *     service, not the person behind it;
 *   - naming that person in the metadata teilhabe-on-behalf-of (the
 *     principal this call was made for: th_call_on_behalf_of, else the
 *     caller), which the callee writes into its audit rows;
 *   - with what is left of this call's deadline, less a reserve of a tenth
 *     (5 to 200 ms) to answer in;
 *   - a write with an idempotency key derived from this call's own key, so
 *     a retry of this call repeats the inner write with the same key.
 * *result (may be NULL) is the callee's answer (th_client.h), owned by the
 * call: valid until the call ends, then released by the runtime. On TH_OK
 * result->response is the unpacked reply of type response_desc (a handler
 * may return it, or part of it, as its own response). Returns TH_OK, or a
 * status already recorded on call with th_call_error, ready to be returned
 * by the handler:
 *   UNAVAILABLE, DEADLINE_EXCEEDED  the callee's own status and message
 *                                   (it is down, starting, or time ran out);
 *   UNAVAILABLE                     the callee never registered or lacks the
 *                                   method (result->code UNIMPLEMENTED);
 *   INTERNAL                        this service cannot call (no client
 *                                   key, its key refused, the callee failed
 *                                   INTERNAL): logged for the operator;
 *   anything else                   the callee's verdict on the request
 *                                   (NOT_FOUND, INVALID_ARGUMENT,
 *                                   PERMISSION_DENIED, ...), as "<method>:
 *                                   <its message>"; result->code and
 *                                   result->message let the handler answer
 *                                   in its own words instead (th_call_error
 *                                   again replaces the message).
 * Example, in a handler of the measures service (does district ags exist
 * on date?):
 *     Teilhabe__Registry__V1__GetDistrictRequest q =
 *         TEILHABE__REGISTRY__V1__GET_DISTRICT_REQUEST__INIT;
 *     q.ags = (char *) ags;
 *     q.date = (char *) date;
 *     const th_result_t *r;
 *     int rc = th_call_invoke(call, "teilhabe.registry.v1.Registry/GetDistrict", &q.base,
 *                             &teilhabe__registry__v1__district__descriptor, &r);
 *     if (rc == TH_NOT_FOUND)
 *         return th_answer_invalid(call, "measure.ags", "no district %s on %s", ags, date);
 *     if (rc != TH_OK)
 *         return rc;
 *     const Teilhabe__Registry__V1__District *d = (const void *) r->response; */
int th_call_invoke(th_call_t *call, const char *method, const ProtobufCMessage *request,
                   const ProtobufCMessageDescriptor *response_desc,
                   const th_result_t **result);

/* A page of a list another service answered (th_call_invoke_pages): TH_OK
 * to go on, or a status recorded on the call to stop with. */
typedef int (*th_call_page_fn)(th_call_t *call, const ProtobufCMessage *response, void *arg);

/* th_call_invoke of a List method, every page: request's page_token (a
 * string field of that name; the caller sets the page size) is set to
 * each response's next_page_token until it is "", and fn sees each page.
 * The request is left as it came. TH_OK, or the status of the call or of
 * fn, recorded on the call (INTERNAL when method is no paged list). */
int th_call_invoke_pages(th_call_t *call, const char *method, ProtobufCMessage *request,
                         const ProtobufCMessageDescriptor *response_desc, th_call_page_fn fn,
                         void *arg);

#endif /* TH_CALL_H */
