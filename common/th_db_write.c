/* ---------------------------------------------------------------------------
 * th_db_write.c: the SQL the runtime runs itself around every write: the
 * audit trail, the idempotency store and the transactional outbox
 *
 * Each statement is prepared on first use on a connection and run by name
 * after that, and what can go together goes in one pipeline (one round
 * trip): BEGIN, the deadline, the key's lock and its lookup; the audit row
 * and the event; the idempotency record and COMMIT. A write of k statements
 * of its own so costs k + 3 round trips (it cost k + 7 with one statement
 * per round trip, unprepared).
 * ---------------------------------------------------------------------------
 */
#include "th_db.h"

#include "th_db_int.h"

#include "th_error.h"
#include "th_log.h"
#include "th_status.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The schema is escaped with PQescapeIdentifier before it is put in. */
#define S_OUTBOX_INSERT                                                                   \
    "INSERT INTO %s.events (topic, resource, payload) VALUES ($1, $2, $3) RETURNING sequence"
#define S_OUTBOX_NAME "th_outbox_%s"

static const th_db_stmt_t s_begin = {NULL, "BEGIN", 0};
static const th_db_stmt_t s_set_local_timeout = {
    "th_set_local_timeout", "SELECT set_config('statement_timeout', $1, true)", 1};
static const th_db_stmt_t s_commit = {NULL, "COMMIT", 0};
static const th_db_stmt_t s_audit_insert = {
    "th_audit_insert",
    "INSERT INTO audit.log (principal_id, principal_role, call_id, method, resource, before,"
    " after, on_behalf_of)"
    " VALUES ($1, $2, $3::numeric, $4, $5, $6::jsonb, $7::jsonb, $8)",
    8};
/* Serialises concurrent retries of one key until the first commits, so
 * exactly one of them does the work. Two-key form: its key space is apart
 * from the one-key locks (e.g. the migrations lock). */
static const th_db_stmt_t s_idem_lock = {
    "th_idem_lock",
    "SELECT pg_advisory_xact_lock(hashtext('teilhabe.idempotency'), hashtext($1 || $2))", 2};
/* Binary results: the reply is bytea, and text columns come back as their
 * bytes either way. */
static const th_db_stmt_t s_idem_select = {
    "th_idem_select",
    "SELECT method, request_hash, reply FROM audit.idempotency"
    " WHERE principal_id = $1 AND key = $2",
    2};
static const th_db_stmt_t s_idem_insert = {
    "th_idem_insert",
    "INSERT INTO audit.idempotency (principal_id, key, method, request_hash, reply)"
    " VALUES ($1, $2, $3, $4, $5)",
    5};
/* At most `limit` rows a time, so one pass never holds a handler long; the
 * index on created_at finds them. */
static const th_db_stmt_t s_idem_prune = {
    "th_idem_prune",
    "DELETE FROM audit.idempotency WHERE ctid = ANY (ARRAY("
    " SELECT ctid FROM audit.idempotency"
    " WHERE created_at < now() - $1::bigint * interval '1 millisecond'"
    " AND left(method, length($2)) = $2 LIMIT $3))",
    3};

int
th_db__require_transaction(th_db_t *self, const char *what)
{
    if (self->in_tx)
        return 0;
    th_db__set_error(self, TH_INTERNAL, "", "%s requires an open transaction", what);
    return TH_ESTATE;
}

/* --- audit ------------------------------------------------------------------ */

/* The audit row's parameters; call_id is the caller's buffer. */
static int
s_audit_params(th_db_t *self, const th_audit_entry_t *entry, char call_id[24],
               const char *params[8])
{
    if (entry == NULL || entry->principal_id == NULL || entry->method == NULL ||
        entry->resource == NULL) {
        th_db__set_error(self, TH_INTERNAL, "", "audit entry lacks principal, method or resource");
        return TH_EINVAL;
    }
    snprintf(call_id, 24, "%" PRIu64, entry->call_id);
    params[0] = entry->principal_id;
    params[1] = entry->principal_role;
    params[2] = call_id;
    params[3] = entry->method;
    params[4] = entry->resource;
    params[5] = entry->before_json;
    params[6] = entry->after_json;
    params[7] = entry->on_behalf_of != NULL && entry->on_behalf_of[0] != '\0'
                    ? entry->on_behalf_of
                    : NULL;
    return 0;
}

int
th_db_audit(th_db_t *self, const th_audit_entry_t *entry)
{
    return th_db_write_record(self, entry, NULL, NULL, NULL, NULL, 0, NULL);
}

/* --- outbox ----------------------------------------------------------------- */

/* The outbox statement of schema: its name and text, escaped. */
typedef struct {
    char name[TH_DB_STMT_NAME_MAX];
    char *sql;
    th_db_stmt_t stmt;
} s_outbox_t;

/* A schema name fit for a statement name: then the insert is prepared
 * (th_outbox_<schema>); any other runs as text, escaped. */
static bool
s_schema_simple(const char *schema)
{
    size_t len = strlen(schema);
    if (len == 0 || len + sizeof S_OUTBOX_NAME > TH_DB_STMT_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((schema[i] >= 'a' && schema[i] <= 'z') || (schema[i] >= '0' && schema[i] <= '9') ||
              schema[i] == '_'))
            return false;
    return true;
}

static int
s_outbox_init(th_db_t *self, s_outbox_t *out, const char *schema)
{
    out->sql = NULL;
    PGconn *conn = th_db_conn(self);
    if (conn == NULL)
        return TH_EDB;
    char *ident = PQescapeIdentifier(conn, schema, strlen(schema));
    if (ident == NULL) {
        th_db__set_error(self, TH_INTERNAL, "", "invalid outbox schema name: %s",
                         PQerrorMessage(conn));
        return TH_EINVAL;
    }
    const size_t size = strlen(ident) + sizeof S_OUTBOX_INSERT;
    out->sql = malloc(size);
    if (out->sql == NULL) {
        PQfreemem(ident);
        th_db__set_error(self, TH_RESOURCE_EXHAUSTED, "", "out of memory");
        return TH_ENOMEM;
    }
    snprintf(out->sql, size, S_OUTBOX_INSERT, ident);
    PQfreemem(ident);
    snprintf(out->name, sizeof out->name, S_OUTBOX_NAME, schema);
    out->stmt = (th_db_stmt_t){s_schema_simple(schema) ? out->name : NULL, out->sql, 3};
    return 0;
}

static int
s_sequence(th_db_t *self, const PGresult *res, int64_t *sequence)
{
    char *end = NULL;
    errno = 0;
    const long long value = PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 0), &end, 10) : 0;
    if (PQntuples(res) != 1 || errno != 0 || end == NULL || *end != '\0' || value <= 0) {
        th_db__set_error(self, TH_INTERNAL, "", "outbox insert returned no sequence");
        return TH_EDB;
    }
    if (sequence != NULL)
        *sequence = value;
    return 0;
}

int
th_db_outbox_append(th_db_t *self, const char *schema, const char *topic, const char *resource,
                    const uint8_t *payload, size_t len, int64_t *sequence)
{
    return th_db_write_record(self, NULL, schema, topic, resource, payload, len, sequence);
}

int
th_db_write_record(th_db_t *self, const th_audit_entry_t *audit, const char *schema,
                   const char *topic, const char *resource, const uint8_t *payload, size_t len,
                   int64_t *sequence)
{
    if (sequence != NULL)
        *sequence = 0;
    if (self == NULL)
        return TH_EINVAL;
    th_db__item_t items[2];
    size_t n = 0;
    char call_id[24];
    const char *audit_params[8];
    if (audit != NULL) {
        int rc = s_audit_params(self, audit, call_id, audit_params);
        if (rc != 0)
            return rc;
        items[n++] = (th_db__item_t){.stmt = &s_audit_insert, .values = audit_params};
    }
    s_outbox_t outbox = {.sql = NULL};
    const char *outbox_values[3];
    const int outbox_lengths[3] = {0, 0, (int) len};
    const int outbox_formats[3] = {0, 0, 1};
    if (schema != NULL) {
        if (schema[0] == '\0' || topic == NULL || resource == NULL || (payload == NULL && len > 0)) {
            th_db__set_error(self, TH_INTERNAL, "",
                             "outbox event lacks schema, topic or resource");
            return TH_EINVAL;
        }
        if (len > INT_MAX) {
            th_db__set_error(self, TH_RESOURCE_EXHAUSTED, "", "outbox payload too large");
            return TH_ETOOBIG;
        }
    }
    int rc = th_db__require_transaction(self, schema != NULL ? "outbox event" : "audit row");
    if (rc != 0)
        return rc;
    if (schema != NULL) {
        if ((rc = s_outbox_init(self, &outbox, schema)) != 0)
            return rc;
        outbox_values[0] = topic;
        outbox_values[1] = resource;
        outbox_values[2] = payload != NULL ? (const char *) payload : "";
        items[n++] = (th_db__item_t){&outbox.stmt, outbox_values, outbox_lengths,
                                     outbox_formats, 0};
    }
    if (n == 0) {
        th_db__set_error(self, TH_INTERNAL, "", "nothing to record");
        return TH_EINVAL;
    }
    PGresult *results[2] = {NULL, NULL};
    rc = th_db__pipeline(self, items, n, results);
    if (rc == 0 && schema != NULL)
        rc = s_sequence(self, results[n - 1], sequence);
    for (size_t i = 0; i < n; i++)
        PQclear(results[i]);
    free(outbox.sql);
    return rc;
}

/* --- idempotency ------------------------------------------------------------- */

/* True when the binary (or text) value in column col of row 0 equals text. */
static bool
s_value_equals(const PGresult *res, int col, const char *text)
{
    const size_t len = (size_t) PQgetlength(res, 0, col);
    return !PQgetisnull(res, 0, col) && strlen(text) == len &&
           memcmp(PQgetvalue(res, 0, col), text, len) == 0;
}

static bool
s_idem_valid(th_db_t *self, const th_db_idem_t *idem)
{
    if (idem->principal_id != NULL && idem->key != NULL && idem->method != NULL &&
        idem->request_hash != NULL)
        return true;
    th_db__set_error(self, TH_INTERNAL, "", "idempotency record lacks an argument");
    return false;
}

/* The outcome of the key's lookup in res: 0 and *found false when unused,
 * 0 and *found true with a copy of the reply, TH_EINVAL when the key was
 * used for a different request. */
static int
s_lookup_result(th_db_t *self, const PGresult *res, const th_db_idem_t *idem, bool *found,
                uint8_t **reply, size_t *reply_len)
{
    if (PQntuples(res) == 0)
        return 0;
    if (PQnfields(res) != 3 || PQgetisnull(res, 0, 2)) {
        th_db__set_error(self, TH_INTERNAL, "", "unexpected idempotency record");
        return TH_EDB;
    }
    if (!s_value_equals(res, 0, idem->method) || !s_value_equals(res, 1, idem->request_hash)) {
        th_db__set_error(self, TH_INVALID_ARGUMENT, "",
                         "idempotency key was already used for a different request");
        return TH_EINVAL;
    }
    const size_t len = (size_t) PQgetlength(res, 0, 2);
    uint8_t *copy = malloc(len > 0 ? len : 1);
    if (copy == NULL) {
        th_db__set_error(self, TH_RESOURCE_EXHAUSTED, "", "out of memory");
        return TH_ENOMEM;
    }
    memcpy(copy, PQgetvalue(res, 0, 2), len);
    *reply = copy;
    *reply_len = len;
    *found = true;
    return 0;
}

int
th_db_idem_lookup(th_db_t *self, const char *principal_id, const char *key, const char *method,
                  const char *request_hash, bool *found, uint8_t **reply, size_t *reply_len)
{
    if (found != NULL)
        *found = false;
    if (reply != NULL)
        *reply = NULL;
    if (reply_len != NULL)
        *reply_len = 0;
    if (self == NULL)
        return TH_EINVAL;
    const th_db_idem_t idem = {principal_id, key, method, request_hash};
    if (!s_idem_valid(self, &idem) || found == NULL || reply == NULL || reply_len == NULL) {
        th_db__set_error(self, TH_INTERNAL, "", "idempotency lookup lacks an argument");
        return TH_EINVAL;
    }
    int rc = th_db__require_transaction(self, "idempotency lookup");
    if (rc != 0)
        return rc;
    const char *const params[] = {principal_id, key};
    const th_db__item_t items[2] = {{.stmt = &s_idem_lock, .values = params},
                                    {.stmt = &s_idem_select, .values = params, .result_format = 1}};
    PGresult *results[2];
    if (th_db__pipeline(self, items, 2, results) != 0)
        return TH_EDB;
    rc = s_lookup_result(self, results[1], &idem, found, reply, reply_len);
    PQclear(results[0]);
    PQclear(results[1]);
    return rc;
}

int
th_db_write_begin(th_db_t *self, int64_t timeout_ms, const th_db_idem_t *idem, bool *found,
                  uint8_t **reply, size_t *reply_len)
{
    if (found != NULL)
        *found = false;
    if (reply != NULL)
        *reply = NULL;
    if (reply_len != NULL)
        *reply_len = 0;
    if (self == NULL)
        return TH_EINVAL;
    if (idem != NULL && (!s_idem_valid(self, idem) || found == NULL || reply == NULL ||
                         reply_len == NULL))
        return TH_EINVAL;
    if (self->in_tx) {
        th_db__set_error(self, TH_INTERNAL, "", "a transaction is already open");
        return TH_ESTATE;
    }
    if (timeout_ms < 0) {
        th_db__set_error(self, TH_DEADLINE_EXCEEDED, "57014",
                         "deadline passed before the transaction began");
        return TH_EDB;
    }
    char timeout[24];
    snprintf(timeout, sizeof timeout, "%" PRId64,
             timeout_ms > INT_MAX ? (int64_t) INT_MAX : timeout_ms);
    const char *const timeout_params[] = {timeout};
    const char *key_params[2] = {NULL, NULL};
    th_db__item_t items[4];
    size_t n = 0;
    items[n++] = (th_db__item_t){.stmt = &s_begin};
    /* set_config(..., true) is SET LOCAL: it ends with the transaction, so a
     * connection never carries one call's deadline into the next. */
    if (timeout_ms > 0)
        items[n++] = (th_db__item_t){.stmt = &s_set_local_timeout, .values = timeout_params};
    if (idem != NULL) {
        key_params[0] = idem->principal_id;
        key_params[1] = idem->key;
        items[n++] = (th_db__item_t){.stmt = &s_idem_lock, .values = key_params};
        items[n++] = (th_db__item_t){.stmt = &s_idem_select, .values = key_params,
                                     .result_format = 1};
    }
    PGresult *results[4] = {NULL};
    /* A connection that died while idle may only show now. Nothing has run
     * then, so one more try on a fresh connection is safe. */
    int rc = TH_EDB;
    for (int attempt = 0; attempt < 2 && rc != 0; attempt++) {
        rc = th_db__pipeline(self, items, n, results);
        if (rc == 0)
            break;
        PGconn *conn = self->conn;
        if (conn != NULL && PQstatus(conn) == CONNECTION_OK) {
            /* BEGIN ran, a later statement failed: end what it began */
            if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
                self->in_tx = true;
                th_db__rollback(self);
            }
            return TH_EDB;
        }
    }
    if (rc != 0)
        return TH_EDB;
    self->in_tx = true;
    if (idem != NULL)
        rc = s_lookup_result(self, results[n - 1], idem, found, reply, reply_len);
    for (size_t i = 0; i < n; i++)
        PQclear(results[i]);
    return rc;
}

int
th_db_idem_store(th_db_t *self, const char *principal_id, const char *key, const char *method,
                 const char *request_hash, const uint8_t *reply, size_t reply_len)
{
    if (self == NULL)
        return TH_EINVAL;
    const th_db_idem_t idem = {principal_id, key, method, request_hash};
    if (!s_idem_valid(self, &idem) || (reply == NULL && reply_len > 0))
        return TH_EINVAL;
    if (reply_len > INT_MAX) {
        th_db__set_error(self, TH_RESOURCE_EXHAUSTED, "",
                         "reply too large for the idempotency store");
        return TH_ETOOBIG;
    }
    int rc = th_db__require_transaction(self, "idempotency record");
    if (rc != 0)
        return rc;
    const char *const values[] = {principal_id, key, method, request_hash,
                                  reply != NULL ? (const char *) reply : ""};
    const int lengths[] = {0, 0, 0, 0, (int) reply_len};
    const int formats[] = {0, 0, 0, 0, 1};
    PGresult *res = th_db_exec_stmt(self, &s_idem_insert, values, lengths, formats, 0);
    if (res == NULL)
        return TH_EDB;
    PQclear(res);
    return 0;
}

int
th_db_write_commit(th_db_t *self, const th_db_idem_t *idem, const uint8_t *reply,
                   size_t reply_len)
{
    if (self == NULL)
        return TH_EINVAL;
    if (idem == NULL)
        return th_db_commit(self);
    if (!s_idem_valid(self, idem) || (reply == NULL && reply_len > 0))
        return TH_EINVAL;
    if (reply_len > INT_MAX) {
        th_db__set_error(self, TH_RESOURCE_EXHAUSTED, "",
                         "reply too large for the idempotency store");
        return TH_ETOOBIG;
    }
    int rc = th_db__require_transaction(self, "commit");
    if (rc != 0)
        return rc;
    if (self->conn == NULL || PQstatus(self->conn) != CONNECTION_OK) {
        self->in_tx = false;
        th_db__set_error(self, TH_UNAVAILABLE, "08003",
                         "connection to database was lost before commit");
        return TH_EDB;
    }
    if (PQtransactionStatus(self->conn) == PQTRANS_INERROR)
        return th_db_commit(self); /* it rolls back and keeps the error */
    const char *const values[] = {idem->principal_id, idem->key, idem->method,
                                  idem->request_hash, reply != NULL ? (const char *) reply : ""};
    const int lengths[] = {0, 0, 0, 0, (int) reply_len};
    const int formats[] = {0, 0, 0, 0, 1};
    const th_db__item_t items[2] = {{&s_idem_insert, values, lengths, formats, 0},
                                    {.stmt = &s_commit}};
    PGresult *results[2];
    rc = th_db__pipeline(self, items, 2, results);
    if (rc != 0) {
        /* The record failed and COMMIT never ran, or COMMIT itself failed
         * (deferred constraints, serialization): whatever is still open
         * goes. When the connection broke, the outcome is unknown
         * (UNAVAILABLE). */
        th_db__rollback(self);
        self->in_tx = false;
        return TH_EDB;
    }
    self->in_tx = false;
    if (strcmp(PQcmdStatus(results[1]), "COMMIT") != 0) {
        th_db__set_error(self, TH_ABORTED, "25P02",
                         "transaction was rolled back instead of committed");
        rc = TH_EDB;
    }
    PQclear(results[0]);
    PQclear(results[1]);
    return rc;
}

int
th_db_idem_prune(th_db_t *self, const char *method_prefix, int64_t older_than_ms, int limit,
                 int *deleted)
{
    if (deleted != NULL)
        *deleted = 0;
    if (self == NULL || method_prefix == NULL || older_than_ms < 0 || limit < 1)
        return TH_EINVAL;
    if (self->in_tx) {
        th_db__set_error(self, TH_INTERNAL, "", "pruning runs outside a transaction");
        return TH_ESTATE;
    }
    char age[24], count[16];
    snprintf(age, sizeof age, "%" PRId64, older_than_ms);
    snprintf(count, sizeof count, "%d", limit);
    const char *const params[] = {age, method_prefix, count};
    PGresult *res = th_db_exec_stmt(self, &s_idem_prune, params, NULL, NULL, 0);
    if (res == NULL)
        return TH_EDB;
    if (deleted != NULL)
        *deleted = atoi(PQcmdTuples(res));
    PQclear(res);
    return 0;
}
