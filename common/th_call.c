/* ---------------------------------------------------------------------------
 * th_call.c: the call API of the worker runtime (th_call.h)
 *
 * Call-scoped memory, the status and violations a handler records, the
 * header's accessors, the handler thread's database connection with the
 * call's deadline handed to PostgreSQL, and the write transaction: BEGIN
 * with the deadline as statement_timeout, the idempotency key locked and
 * looked up (one round trip), audit row and outbox event, and at the end
 * the reply stored under the key and COMMIT (one round trip).
 * ---------------------------------------------------------------------------
 */
#include "th_call.h"

#include "th_worker_int.h"

#include "th_check.h"
#include "th_error.h"
#include "th_log.h"
#include "th_methods.h"
#include "th_pbjson.h"
#include "th_status.h"

#include <czmq.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The caller when the broker sent none (insecure broker): all strings "" */
static const th_principal_t s_no_principal = TEILHABE__RPC__V1__PRINCIPAL__INIT;

/* --- call-scoped helpers ------------------------------------------------- */

void *
th_call_alloc(th_call_t *call, size_t size)
{
    if (size > SIZE_MAX - sizeof(th_call_block_t))
        abort();
    th_call_block_t *block = calloc(1, sizeof *block + (size > 0 ? size : 1));
    if (block == NULL)
        abort(); /* as CZMQ does on out-of-memory */
    block->next = call->arena;
    call->arena = block;
    return block->data;
}

char *
th_call_strdup(th_call_t *call, const char *s)
{
    if (s == NULL)
        s = "";
    size_t len = strlen(s);
    char *copy = th_call_alloc(call, len + 1);
    memcpy(copy, s, len + 1);
    return copy;
}

static char *s_call_vprintf(th_call_t *call, const char *fmt, va_list args)
    __attribute__((format(printf, 2, 0)));

static char *
s_call_vprintf(th_call_t *call, const char *fmt, va_list args)
{
    va_list copy;
    va_copy(copy, args);
    int len = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (len < 0)
        return th_call_strdup(call, "");
    char *text = th_call_alloc(call, (size_t) len + 1);
    vsnprintf(text, (size_t) len + 1, fmt, args);
    /* Handlers quote input with "%.32s", which may cut a character in two;
     * the broker and clients refuse a reply whose strings are not UTF-8. */
    th_wire_utf8_repair(text);
    return text;
}

char *
th_call_printf(th_call_t *call, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    char *text = s_call_vprintf(call, fmt, args);
    va_end(args);
    return text;
}

int
th_call_error(th_call_t *call, int code, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    call->message = s_call_vprintf(call, fmt, args);
    va_end(args);
    return code;
}

void
th_call_violation(th_call_t *call, const char *field, const char *fmt, ...)
{
    th_call_violation_t *violation = th_call_alloc(call, sizeof *violation);
    violation->field = th_call_strdup(call, field);
    th_wire_utf8_repair(violation->field);
    va_list args;
    va_start(args, fmt);
    violation->description = s_call_vprintf(call, fmt, args);
    va_end(args);
    *call->violations_tail = violation;
    call->violations_tail = &violation->next;
    call->n_violations++;
}

uint64_t
th_call_id(const th_call_t *call)
{
    return call->header->call_id;
}

const char *
th_call_method(const th_call_t *call)
{
    return call->header->method;
}

const th_principal_t *
th_call_principal(const th_call_t *call)
{
    return call->header->principal != NULL ? call->header->principal : &s_no_principal;
}

const char *
th_call_idempotency_key(const th_call_t *call)
{
    return call->header->idempotency_key != NULL ? call->header->idempotency_key : "";
}

const char *
th_call_metadata(const th_call_t *call, const char *key)
{
    for (size_t i = 0; i < call->header->n_metadata; i++) {
        const Teilhabe__Rpc__V1__MetadataEntry *entry = call->header->metadata[i];
        if (entry != NULL && entry->key != NULL && strcmp(entry->key, key) == 0)
            return entry->value != NULL ? entry->value : "";
    }
    return NULL;
}

const char *
th_call_on_behalf_of(const th_call_t *call)
{
    const th_principal_t *principal = th_call_principal(call);
    if (principal->role == NULL || strcmp(principal->role, "service") != 0)
        return NULL;
    const char *id = th_call_metadata(call, TH_WIRE_ON_BEHALF_OF);
    return id != NULL && th_check_principal_id(id) ? id : NULL;
}

int64_t
th_call_remaining_ms(const th_call_t *call)
{
    return call->deadline - zclock_mono();
}

void *
th_call_state(const th_call_t *call)
{
    return call->service->state;
}

/* The thread's connection with the call's deadline handed to PostgreSQL:
 * outside a transaction as the session's statement_timeout (th_db sends a
 * new value now and then, in the round trip of the next statement), inside
 * one by th_db_write_begin's SET LOCAL. */
static th_db_t *
s_call_db_with_deadline(th_call_t *call)
{
    th_db_t *db = call->thread->db;
    if (db != NULL && !th_db_in_transaction(db) &&
        th_db_set_statement_timeout(db, th_call_remaining_ms(call)) != 0) {
        /* No statement may run without the call's deadline: this call
         * gets no connection (UNAVAILABLE); th_db reconnects for the next */
        char quoted[TH_LOG_QUOTE_SIZE];
        th_log_warn(th_call_id(call), "could not hand the deadline to the database", "error=%s",
                    th_log_quote(quoted, sizeof quoted, th_db_error(db)));
        return NULL;
    }
    return db;
}

/* Rolls back the call's transaction; when even that fails, the connection
 * goes (the server ends the transaction with it), so no later call of this
 * thread runs inside it. The thread's next call connects anew. */
static void
s_rollback(th_call_t *call)
{
    th_worker_thread_t *thread = call->thread;
    if (thread->db != NULL && th_db_rollback(thread->db) != 0)
        th_db_destroy(&thread->db);
}

/* The thread's connection, made on first use: a service starts even while
 * the database is down, and a thread that failed tries again at most once a
 * second. NULL without one. */
static th_db_t *
s_thread_db(th_worker_thread_t *thread, uint64_t call_id)
{
    if (thread->db != NULL || thread->db_url == NULL)
        return thread->db;
    int64_t now = zclock_mono();
    if (now < thread->db_retry_at)
        return NULL;
    char errbuf[512];
    thread->db = th_db_new(thread->db_url, errbuf, sizeof errbuf);
    if (thread->db == NULL) {
        thread->db_retry_at = now + 1000;
        char quoted[TH_LOG_QUOTE_SIZE];
        th_log_warn(call_id, "could not connect to the database", "error=%s",
                    th_log_quote(quoted, sizeof quoted, errbuf));
    }
    return thread->db;
}

th_db_t *
th_call_db(th_call_t *call)
{
    if (s_thread_db(call->thread, th_call_id(call)) == NULL)
        return NULL;
    return s_call_db_with_deadline(call);
}

/* Statements per service and pass, each deleting at most S_PRUNE_BATCH keys
 * within S_PRUNE_TIMEOUT_MS: a pass holds its thread briefly, and a backlog
 * goes over several passes. */
#define S_PRUNE_BATCH 1000
#define S_PRUNE_ROUNDS 10
#define S_PRUNE_TIMEOUT_MS 2000

void
th_call__prune_keys(th_worker_thread_t *thread)
{
    const th_worker_t *worker = thread->worker;
    th_db_t *db = s_thread_db(thread, 0);
    if (db == NULL || worker->idempotency_keep_ms <= 0)
        return;
    long total = 0;
    for (size_t i = 0; i < worker->n_services; i++) {
        char prefix[TH_WIRE_METHOD_MAX + 2];
        snprintf(prefix, sizeof prefix, "%s/", worker->services[i].desc->name);
        for (int round = 0; round < S_PRUNE_ROUNDS; round++) {
            int deleted = 0;
            th_db_set_statement_timeout(db, S_PRUNE_TIMEOUT_MS);
            if (th_db_idem_prune(db, prefix, worker->idempotency_keep_ms, S_PRUNE_BATCH,
                                 &deleted) != 0) {
                char quoted[TH_LOG_QUOTE_SIZE];
                th_log_warn(0, "could not prune idempotency keys; trying again later",
                            "service=%s error=%s", worker->services[i].desc->name,
                            th_log_quote(quoted, sizeof quoted, th_db_error(db)));
                return;
            }
            total += deleted;
            if (deleted < S_PRUNE_BATCH)
                break;
        }
    }
    th_log(total > 0 ? TH_LOG_INFO : TH_LOG_DEBUG, 0, "pruned idempotency keys",
           "deleted=%ld older_than_hours=%lld", total,
           (long long) (worker->idempotency_keep_ms / 3600000));
}

bool
th_call_is_replay(const th_call_t *call)
{
    return call->replay;
}

/* The idempotency record ties a key to one request: SHA-1 (zdigest) of the
 * method and the request bytes, hex. */
static void
s_request_hash(const th_call_t *call, char out[64])
{
    zdigest_t *digest = zdigest_new();
    if (digest == NULL) {
        snprintf(out, 64, "unhashed");
        return;
    }
    const char *method = call->header->method;
    zdigest_update(digest, (const byte *) method, strlen(method) + 1);
    size_t size = zframe_size((zframe_t *) call->body);
    if (size > 0)
        zdigest_update(digest, zframe_data((zframe_t *) call->body), size);
    snprintf(out, 64, "%s", zdigest_string(digest));
    zdigest_destroy(&digest);
}

int
th_call_begin_write(th_call_t *call)
{
    if (call->in_write)
        return th_call_error(call, TH_INTERNAL, "the write transaction was already started");
    if (th_method_kind(call->header->method) != TH_METHOD_WRITE) {
        /* Its clients send no idempotency key, so a retry would write twice:
         * the .proto must say "// write" on the method's line. */
        th_log_error(th_call_id(call), "a handler began a write in a method not declared a "
                     "write in its .proto", "method=%s", call->header->method);
        return th_call_error(call, TH_INTERNAL, "%s failed inside the service",
                             call->header->method);
    }
    if (call->thread->db_url == NULL)
        return th_call_error(call, TH_UNAVAILABLE, "this service runs without a database");
    th_db_t *db = th_call_db(call);
    if (db == NULL)
        return th_call_error(call, TH_UNAVAILABLE,
                             "the database is not reachable; try again later");
    int64_t remaining = th_call_remaining_ms(call);
    if (remaining <= 0)
        return th_call_error(call, TH_DEADLINE_EXCEEDED,
                             "the deadline passed before the write could start");
    /* BEGIN, the deadline, and the key's lock and lookup: one round trip */
    const char *key = th_call_idempotency_key(call);
    char hash[64];
    th_db_idem_t idem = {th_call_principal(call)->id, key, call->header->method, hash};
    if (key[0] != '\0')
        s_request_hash(call, hash);
    bool found = false;
    int rc = th_db_write_begin(db, remaining, key[0] != '\0' ? &idem : NULL, &found,
                               &call->replay_reply, &call->replay_len);
    if (rc == TH_EINVAL) {
        s_rollback(call);
        th_call_violation(call, "idempotency_key", "was used before for a different request");
        return th_call_error(call, TH_INVALID_ARGUMENT,
                             "idempotency key \"%s\" was already used for a different request; "
                             "use a new key for a new request",
                             key);
    }
    if (rc != 0) {
        int code = th_db_status(db);
        s_rollback(call);
        return th_call_error(call, code == TH_OK ? TH_INTERNAL : code,
                             "could not start the write transaction: %s", th_db_error(db));
    }
    call->in_write = true;
    if (found) {
        call->replay = true;
        return TH_CALL_REPLAY;
    }
    return TH_OK;
}

int
th_call_audit(th_call_t *call, const char *resource, const char *before_json,
              const char *after_json)
{
    if (!call->in_write || call->replay)
        return TH_ESTATE;
    const th_principal_t *principal = th_call_principal(call);
    th_audit_entry_t entry = {
        .principal_id = principal->id,
        .principal_role = principal->role,
        .call_id = th_call_id(call),
        .method = call->header->method,
        .resource = resource,
        .before_json = before_json,
        .after_json = after_json,
        .on_behalf_of = th_call_on_behalf_of(call),
    };
    return th_db_audit(call->thread->db, &entry);
}

/* The service's own schema: the second part of its package
 * ("teilhabe.registry.v1" -> "registry"). */
static bool
s_schema(const th_call_t *call, char *out, size_t size)
{
    const char *package = call->service != NULL ? call->service->desc->package : NULL;
    const char *start = package != NULL ? strchr(package, '.') : NULL;
    if (start == NULL)
        return false;
    start++;
    const char *end = strchr(start, '.');
    size_t len = end != NULL ? (size_t) (end - start) : strlen(start);
    if (len == 0 || len >= size)
        return false;
    memcpy(out, start, len);
    out[len] = '\0';
    return true;
}

int
th_call_record(th_call_t *call, const char *resource, const ProtobufCMessage *before,
               const ProtobufCMessage *after, const char *topic, const ProtobufCMessage *event)
{
    const char *method = call->header->method;
    char schema[64];
    if (!call->in_write || call->replay || resource == NULL ||
        (topic != NULL && !s_schema(call, schema, sizeof schema))) {
        th_log_error(th_call_id(call), "a change was recorded outside a write, or without a "
                     "resource or schema", "method=%s", method);
        return th_call_error(call, TH_INTERNAL, "%s failed inside the service", method);
    }
    int code = TH_OK;
    char *before_json = th_pbjson_text(before);
    char *after_json = th_pbjson_text(after);
    uint8_t *payload = NULL;
    size_t len = 0;
    if ((before != NULL && before_json == NULL) || (after != NULL && after_json == NULL)) {
        code = th_call_error(call, TH_INTERNAL, "out of memory writing the audit row of %s",
                             resource);
        goto cleanup;
    }
    if (topic != NULL && event != NULL) {
        len = protobuf_c_message_get_packed_size(event);
        payload = th_call_alloc(call, len);
        if (len > 0)
            protobuf_c_message_pack(event, payload);
    }
    const th_principal_t *principal = th_call_principal(call);
    const th_audit_entry_t entry = {
        .principal_id = principal->id,
        .principal_role = principal->role,
        .call_id = th_call_id(call),
        .method = method,
        .resource = resource,
        .before_json = before_json,
        .after_json = after_json,
        .on_behalf_of = th_call_on_behalf_of(call),
    };
    th_db_t *db = call->thread->db;
    if (th_db_write_record(db, &entry, topic != NULL ? schema : NULL, topic, resource, payload,
                           len, NULL) != 0) {
        code = th_db_status(db);
        if (code == TH_OK)
            code = TH_INTERNAL;
        /* A deadline that passed is the caller's budget running out: not a
         * failure of this service, so not logged as an error. */
        th_log(code == TH_DEADLINE_EXCEEDED ? TH_LOG_INFO : TH_LOG_ERROR, th_call_id(call),
               "could not record a change", "resource=%s sqlstate=%s code=%s", resource,
               th_db_sqlstate(db), th_status_name(code));
        th_call_error(call, code, "could not write the audit row and event of %s: %s", resource,
                      code == TH_UNAVAILABLE          ? "the database is unavailable, try again"
                      : code == TH_DEADLINE_EXCEEDED ? "the deadline passed"
                                                     : "a database error occurred");
    }
cleanup:
    free(before_json);
    free(after_json);
    return code;
}

int
th_call_emit(th_call_t *call, const char *schema, const char *topic, const char *resource,
             const ProtobufCMessage *payload)
{
    if (!call->in_write || call->replay)
        return TH_ESTATE;
    size_t len = payload != NULL ? protobuf_c_message_get_packed_size(payload) : 0;
    uint8_t *bytes = th_call_alloc(call, len);
    if (len > 0)
        protobuf_c_message_pack(payload, bytes);
    return th_db_outbox_append(call->thread->db, schema, topic, resource, bytes, len, NULL);
}

int
th_call__finish_write(th_call_t *call, int code, const zframe_t *reply)
{
    if (!call->in_write)
        return code;
    th_db_t *db = call->thread->db;
    call->in_write = false;
    if (code != TH_OK || call->replay) {
        s_rollback(call);
        return code;
    }
    /* The reply stored under the key and COMMIT: one round trip */
    const char *key = th_call_idempotency_key(call);
    char hash[64];
    th_db_idem_t idem = {th_call_principal(call)->id, key, call->header->method, hash};
    if (key[0] != '\0')
        s_request_hash(call, hash);
    if (th_db_write_commit(db, key[0] != '\0' ? &idem : NULL, zframe_data((zframe_t *) reply),
                           zframe_size((zframe_t *) reply)) != 0) {
        int status = th_db_status(db);
        th_call_error(call, status == TH_OK ? TH_INTERNAL : status,
                      "could not commit the write: %s", th_db_error(db));
        s_rollback(call);
        return status == TH_OK ? TH_INTERNAL : status;
    }
    return TH_OK;
}

void
th_call__release(th_call_t *call)
{
    free(call->replay_reply);
    call->replay_reply = NULL;
    for (th_call_result_t *held = call->results; held != NULL; held = held->next)
        th_result_clear(&held->result);
    call->results = NULL;
    while (call->arena != NULL) {
        th_call_block_t *next = call->arena->next;
        free(call->arena);
        call->arena = next;
    }
}
