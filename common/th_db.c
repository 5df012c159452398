/* ---------------------------------------------------------------------------
 * th_db.c: PostgreSQL access (connection and reconnection, transactions with
 * deadlines, parameterized statements, SQLSTATE to status mapping, the
 * audit trail, the idempotency store, the outbox; the migrations runner is
 * th_db_migrate.c)
 *
 * Errors: every function that talks to the server records the failure in the
 * handle (status, SQLSTATE, message) so that a handler can answer the client
 * with th_db_status / th_db_error after rolling back; a rollback never
 * overwrites that record.
 * ---------------------------------------------------------------------------
 */
#include "th_db.h"

#include "th_db_int.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <dirent.h>

#include "th_error.h"
#include "th_log.h"
#include "th_status.h"

/* The schema is escaped with PQescapeIdentifier before it is put in. */
#define S_OUTBOX_INSERT                                                                   \
    "INSERT INTO %s.events (topic, resource, payload) VALUES ($1, $2, $3) RETURNING sequence"


/* --- errors -------------------------------------------------------------- */

static void
s_clear_error(th_db_t *self)
{
    self->status = TH_OK;
    self->sqlstate[0] = '\0';
    self->error[0] = '\0';
}

/* Copies a server or libpq message into out as one line without the
 * trailing newline libpq leaves on its messages. */
static void
s_copy_line(char *out, size_t size, const char *text)
{
    if (size == 0)
        return;
    snprintf(out, size, "%s", text != NULL ? text : "");
    for (char *p = out; *p != '\0'; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    size_t len = strlen(out);
    while (len > 0 && out[len - 1] == ' ')
        out[--len] = '\0';
}

static void s_set_error(th_db_t *self, int status, const char *sqlstate, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
s_set_error(th_db_t *self, int status, const char *sqlstate, const char *fmt, ...)
{
    char text[S_ERROR_MAX];
    va_list args;
    va_start(args, fmt);
    vsnprintf(text, sizeof text, fmt, args);
    va_end(args);
    self->status = status;
    snprintf(self->sqlstate, sizeof self->sqlstate, "%s", sqlstate != NULL ? sqlstate : "");
    s_copy_line(self->error, sizeof self->error, text);
}

static void s_errbuf(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
s_errbuf(char *errbuf, size_t errlen, const char *fmt, ...)
{
    if (errbuf == NULL || errlen == 0)
        return;
    va_list args;
    va_start(args, fmt);
    vsnprintf(errbuf, errlen, fmt, args);
    va_end(args);
}

static bool
s_state_is(const char *state, const char *expected)
{
    return strcmp(state, expected) == 0;
}

/* The status a client should see for a server error (see th_db.h). */
static int
s_status_for_sqlstate(const char *state)
{
    if (state == NULL || strlen(state) != 5)
        return TH_INTERNAL;
    if (s_state_is(state, "57014"))
        return TH_DEADLINE_EXCEEDED;
    if (s_state_is(state, "23505"))
        return TH_ALREADY_EXISTS;
    if (s_state_is(state, "23503") || s_state_is(state, "23514"))
        return TH_FAILED_PRECONDITION;
    if (s_state_is(state, "40001") || s_state_is(state, "40P01"))
        return TH_ABORTED;
    if (strncmp(state, "22", 2) == 0)
        return TH_INVALID_ARGUMENT;
    /* Connection exceptions and the server shutting down or starting up:
     * the call may succeed on another try. */
    if (strncmp(state, "08", 2) == 0 || s_state_is(state, "57P01") ||
        s_state_is(state, "57P02") || s_state_is(state, "57P03"))
        return TH_UNAVAILABLE;
    return TH_INTERNAL;
}

/* Records why res (NULL when libpq could not even build a result) failed. */
static void
s_record_failure(th_db_t *self, const PGresult *res)
{
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const bool lost = self->conn == NULL || PQstatus(self->conn) == CONNECTION_BAD;
    const int status = lost ? TH_UNAVAILABLE : s_status_for_sqlstate(state);
    const ExecStatusType result_status = PQresultStatus(res);

    if (primary != NULL && *primary != '\0')
        s_set_error(self, status, state, "%s", primary);
    else if (res != NULL && result_status != PGRES_FATAL_ERROR &&
             result_status != PGRES_NONFATAL_ERROR)
        s_set_error(self, status, state, "unexpected result from database: %s",
                    PQresStatus(result_status));
    else if (self->conn != NULL && *PQerrorMessage(self->conn) != '\0')
        s_set_error(self, status, state, "%s", PQerrorMessage(self->conn));
    else
        s_set_error(self, status, state, "database statement failed");
}

/* Leaves COPY mode, which th_db_exec does not support, so the connection
 * stays usable for the next statement. */
static void
s_leave_copy(PGconn *conn, ExecStatusType status)
{
    if (status == PGRES_COPY_IN)
        PQputCopyEnd(conn, "COPY is not supported here");
    else if (status == PGRES_COPY_OUT) {
        char *row = NULL;
        while (PQgetCopyData(conn, &row, 0) > 0) {
            PQfreemem(row);
            row = NULL;
        }
    } else if (status != PGRES_COPY_BOTH)
        return;
    PGresult *res;
    while ((res = PQgetResult(conn)) != NULL)
        PQclear(res);
}

/* Server notices (e.g. "relation already exists, skipping") would go to
 * stderr unformatted; they belong in the log. An error that arrives while
 * we are idle is the server saying goodbye (pg_terminate_backend, shutdown):
 * remembered, so the next call reconnects before it sends anything. */
static void
s_notice(void *arg, const PGresult *res)
{
    th_db_t *self = arg;
    const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    const bool fatal = severity != NULL && (strcmp(severity, "FATAL") == 0 ||
                                            strcmp(severity, "PANIC") == 0);
    const bool serious = fatal || (severity != NULL && (strcmp(severity, "ERROR") == 0 ||
                                                        strcmp(severity, "WARNING") == 0));
    if (fatal)
        self->closing = true;
    char line[512];
    s_copy_line(line, sizeof line, PQresultErrorMessage(res));
    th_log(serious ? TH_LOG_WARN : TH_LOG_DEBUG, 0, line, NULL);
}

/* --- connection ---------------------------------------------------------- */

/* (Re)connects. The defaults come first so that the caller's conninfo,
 * expanded from "dbname", overrides them. */
static int
s_connect(th_db_t *self)
{
    if (self->conn != NULL) {
        PQfinish(self->conn);
        self->conn = NULL;
    }
    const char *const keywords[] = {"connect_timeout", "application_name", "client_encoding",
                                    "dbname", NULL};
    const char *const values[] = {"10", "teilhabe", "UTF8", self->conninfo, NULL};
    PGconn *conn = PQconnectdbParams(keywords, values, 1);
    if (conn == NULL) {
        s_set_error(self, TH_UNAVAILABLE, "", "could not connect to database: out of memory");
        return TH_ENOMEM;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        s_set_error(self, TH_UNAVAILABLE, "08001", "could not connect to database: %s",
                    PQerrorMessage(conn));
        PQfinish(conn);
        return TH_EDB;
    }
    PQsetNoticeReceiver(conn, s_notice, self);
    self->conn = conn;
    self->closing = false;
    self->session_timeout_ms = -1;
    return 0;
}

int
th_db_set_statement_timeout(th_db_t *self, int64_t timeout_ms)
{
    if (self == NULL)
        return TH_EINVAL;
    if (self->in_tx)
        return 0; /* th_db_begin's SET LOCAL governs the transaction */
    if (timeout_ms < 1)
        timeout_ms = 1;
    if (timeout_ms > INT_MAX)
        timeout_ms = INT_MAX;
    /* Calls arrive with a little less time each; setting a value a bit
     * below the remaining time lets the next few calls keep it without a
     * round trip, while no statement outlives its call's deadline. */
    int64_t slack = timeout_ms / 20 > 25 ? timeout_ms / 20 : 25;
    int64_t current = self->session_timeout_ms;
    if (current > 0 && current <= timeout_ms && current >= timeout_ms - 2 * slack)
        return 0;
    int64_t wanted = timeout_ms - slack > 0 ? timeout_ms - slack : timeout_ms;
    PGconn *conn = th_db_conn(self);
    if (conn == NULL)
        return TH_EDB;
    char sql[64];
    snprintf(sql, sizeof sql, "SET statement_timeout = %" PRId64, wanted);
    self->statements++;
    PGresult *res = PQexec(conn, sql);
    int rc = 0;
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        s_set_error(self, TH_UNAVAILABLE, "", "could not set the statement timeout: %s",
                    PQerrorMessage(conn));
        self->session_timeout_ms = -1;
        rc = TH_EDB;
    } else {
        self->session_timeout_ms = wanted;
    }
    PQclear(res);
    return rc;
}

th_db_t *
th_db_new(const char *conninfo, char *errbuf, size_t errlen)
{
    if (conninfo == NULL) {
        s_errbuf(errbuf, errlen, "no database connection string given");
        return NULL;
    }
    th_db_t *self = calloc(1, sizeof *self);
    if (self == NULL) {
        s_errbuf(errbuf, errlen, "out of memory");
        return NULL;
    }
    self->conninfo = strdup(conninfo);
    if (self->conninfo == NULL) {
        s_errbuf(errbuf, errlen, "out of memory");
        free(self);
        return NULL;
    }
    if (s_connect(self) != 0) {
        s_errbuf(errbuf, errlen, "%s", self->error);
        free(self->conninfo);
        free(self);
        return NULL;
    }
    return self;
}

/* Ends the open transaction, if any, without touching the recorded error:
 * that error is what the caller is about to report. */
static int
s_rollback(th_db_t *self)
{
    if (!self->in_tx)
        return 0;
    self->in_tx = false;
    /* The server rolls back by itself when the connection is gone; a
     * statement of the caller's may have ended the transaction already. */
    if (self->conn == NULL || PQstatus(self->conn) != CONNECTION_OK ||
        PQtransactionStatus(self->conn) == PQTRANS_IDLE)
        return 0;
    self->statements++;
    PGresult *res = PQexec(self->conn, "ROLLBACK");
    int rc = 0;
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        char line[512];
        snprintf(line, sizeof line, "could not roll back transaction: %s",
                 PQerrorMessage(self->conn));
        th_log_warn(0, line, NULL);
        rc = TH_EDB;
    }
    PQclear(res);
    return rc;
}

void
th_db_destroy(th_db_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    th_db_t *self = *self_p;
    s_rollback(self);
    if (self->conn != NULL)
        PQfinish(self->conn);
    free(self->conninfo);
    free(self);
    *self_p = NULL;
}

PGconn *
th_db_conn(th_db_t *self)
{
    if (self == NULL)
        return NULL;
    if (self->conn != NULL && !self->in_tx && PQstatus(self->conn) == CONNECTION_OK) {
        /* A connection the server closed while we were idle (restart,
         * pg_terminate_backend) shows only when we read from it. Reading
         * now (without blocking) delivers the server's goodbye to s_notice
         * or the end of the stream to libpq, so we reconnect before sending
         * rather than fail the caller's next statement. */
        if (PQconsumeInput(self->conn))
            (void) PQisBusy(self->conn); /* parses what arrived */
    }
    if (self->conn != NULL && PQstatus(self->conn) == CONNECTION_OK &&
        (!self->closing || self->in_tx))
        return self->conn;
    if (self->in_tx) {
        /* Never reconnect inside a transaction: its work is already gone. */
        s_set_error(self, TH_UNAVAILABLE, "08003",
                    "connection to database was lost during the transaction");
        return NULL;
    }
    if (self->conn != NULL)
        th_log_info(0, "reconnecting to database", NULL);
    if (s_connect(self) != 0)
        return NULL;
    return self->conn;
}

/* --- transactions -------------------------------------------------------- */

int
th_db_begin(th_db_t *self, int64_t timeout_ms)
{
    if (self == NULL)
        return TH_EINVAL;
    if (self->in_tx) {
        s_set_error(self, TH_INTERNAL, "", "a transaction is already open");
        return TH_ESTATE;
    }
    s_clear_error(self);
    if (timeout_ms < 0) {
        s_set_error(self, TH_DEADLINE_EXCEEDED, "57014",
                    "deadline passed before the transaction began");
        return TH_EDB;
    }
    /* SET LOCAL ends with the transaction, so a pooled connection never
     * carries one call's deadline into the next. The value is a number we
     * format ourselves; one round trip for both statements. */
    char sql[96];
    if (timeout_ms > 0)
        snprintf(sql, sizeof sql, "BEGIN; SET LOCAL statement_timeout = %" PRId64,
                 timeout_ms > INT_MAX ? (int64_t) INT_MAX : timeout_ms);
    else
        snprintf(sql, sizeof sql, "BEGIN");

    /* A connection that died while idle may only show now. Nothing has run
     * yet, so one more try on a fresh connection is safe. */
    for (int attempt = 0; attempt < 2; attempt++) {
        PGconn *conn = th_db_conn(self);
        if (conn == NULL)
            return TH_EDB;
        self->statements++;
        PGresult *res = PQexec(conn, sql);
        if (PQresultStatus(res) == PGRES_COMMAND_OK) {
            PQclear(res);
            self->in_tx = true;
            return 0;
        }
        s_record_failure(self, res);
        PQclear(res);
        const bool lost = PQstatus(conn) == CONNECTION_BAD;
        if (!lost) {
            if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
                self->in_tx = true;
                s_rollback(self);
            }
            return TH_EDB;
        }
    }
    return TH_EDB;
}

int
th_db_commit(th_db_t *self)
{
    if (self == NULL)
        return TH_EINVAL;
    if (!self->in_tx) {
        s_set_error(self, TH_INTERNAL, "", "no transaction is open to commit");
        return TH_ESTATE;
    }
    if (self->conn == NULL || PQstatus(self->conn) != CONNECTION_OK) {
        self->in_tx = false;
        s_set_error(self, TH_UNAVAILABLE, "08003",
                    "connection to database was lost before commit");
        return TH_EDB;
    }
    if (PQtransactionStatus(self->conn) == PQTRANS_INERROR) {
        /* COMMIT of a failed transaction "succeeds" as ROLLBACK. Keep the
         * error that failed it: that is what the caller must report. */
        s_rollback(self);
        if (self->status == TH_OK)
            s_set_error(self, TH_ABORTED, "25P02",
                        "transaction was rolled back after an earlier error");
        return TH_EDB;
    }
    s_clear_error(self);
    self->statements++;
    PGresult *res = PQexec(self->conn, "COMMIT");
    self->in_tx = false;
    int rc = 0;
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        /* Deferred constraints and serialization failures end up here; when
         * the connection broke, the outcome is unknown (UNAVAILABLE). */
        s_record_failure(self, res);
        rc = TH_EDB;
    } else if (strcmp(PQcmdStatus(res), "COMMIT") != 0) {
        s_set_error(self, TH_ABORTED, "25P02", "transaction was rolled back instead of committed");
        rc = TH_EDB;
    }
    PQclear(res);
    return rc;
}

int
th_db_rollback(th_db_t *self)
{
    if (self == NULL)
        return TH_EINVAL;
    return s_rollback(self);
}

bool
th_db_in_transaction(const th_db_t *self)
{
    return self != NULL && self->in_tx;
}

/* --- statements ---------------------------------------------------------- */

PGresult *
th_db_exec(th_db_t *self, const char *sql, int nparams, const char *const *params)
{
    return th_db_exec_bin(self, sql, nparams, params, NULL, NULL, 0);
}

PGresult *
th_db_exec_bin(th_db_t *self, const char *sql, int nparams, const char *const *values,
               const int *lengths, const int *formats, int result_format)
{
    if (self == NULL)
        return NULL;
    s_clear_error(self);
    if (sql == NULL || nparams < 0 || (nparams > 0 && values == NULL)) {
        s_set_error(self, TH_INTERNAL, "", "invalid statement or parameters");
        return NULL;
    }
    PGconn *conn = th_db_conn(self);
    if (conn == NULL)
        return NULL;
    self->statements++;
    PGresult *res =
        PQexecParams(conn, sql, nparams, NULL, values, lengths, formats, result_format);
    const ExecStatusType status = PQresultStatus(res);
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
        return res;
    s_record_failure(self, res);
    PQclear(res);
    s_leave_copy(conn, status);
    return NULL;
}

PGresult *
th_db_exec_prepared(th_db_t *self, const char *name, int nparams, const char *const *params)
{
    if (self == NULL)
        return NULL;
    s_clear_error(self);
    if (name == NULL || nparams < 0 || (nparams > 0 && params == NULL)) {
        s_set_error(self, TH_INTERNAL, "", "invalid statement name or parameters");
        return NULL;
    }
    PGconn *conn = th_db_conn(self);
    if (conn == NULL)
        return NULL;
    self->statements++;
    PGresult *res = PQexecPrepared(conn, name, nparams, params, NULL, NULL, 0);
    const ExecStatusType status = PQresultStatus(res);
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
        return res;
    s_record_failure(self, res);
    PQclear(res);
    s_leave_copy(conn, status);
    return NULL;
}

int
th_db_prepare(th_db_t *self, const char *name, const char *sql, int nparams)
{
    if (self == NULL)
        return TH_EINVAL;
    s_clear_error(self);
    if (name == NULL || sql == NULL || nparams < 0) {
        s_set_error(self, TH_INTERNAL, "", "invalid statement name or text");
        return TH_EDB;
    }
    PGconn *conn = th_db_conn(self);
    if (conn == NULL)
        return TH_EDB;
    self->statements++;
    PGresult *res = PQprepare(conn, name, sql, nparams, NULL);
    if (PQresultStatus(res) == PGRES_COMMAND_OK) {
        PQclear(res);
        return 0;
    }
    s_record_failure(self, res);
    PQclear(res);
    return TH_EDB;
}

uint64_t
th_db_statements(const th_db_t *self)
{
    return self != NULL ? self->statements : 0;
}

int
th_db_status(const th_db_t *self)
{
    return self != NULL ? self->status : TH_INTERNAL;
}

const char *
th_db_sqlstate(const th_db_t *self)
{
    return self != NULL ? self->sqlstate : "";
}

const char *
th_db_error(const th_db_t *self)
{
    return self != NULL ? self->error : "no database handle";
}

/* --- audit, idempotency, outbox ------------------------------------------ */

static int
s_require_transaction(th_db_t *self, const char *what)
{
    if (self->in_tx)
        return 0;
    s_set_error(self, TH_INTERNAL, "", "%s requires an open transaction", what);
    return TH_ESTATE;
}

int
th_db_audit(th_db_t *self, const th_audit_entry_t *entry)
{
    if (self == NULL)
        return TH_EINVAL;
    if (entry == NULL || entry->principal_id == NULL || entry->method == NULL ||
        entry->resource == NULL) {
        s_set_error(self, TH_INTERNAL, "", "audit entry lacks principal, method or resource");
        return TH_EINVAL;
    }
    int rc = s_require_transaction(self, "audit row");
    if (rc != 0)
        return rc;
    char call_id[24];
    snprintf(call_id, sizeof call_id, "%" PRIu64, entry->call_id);
    const char *const params[] = {entry->principal_id, entry->principal_role, call_id,
                                  entry->method,       entry->resource,       entry->before_json,
                                  entry->after_json};
    PGresult *res = th_db_exec(self,
                               "INSERT INTO audit.log (principal_id, principal_role, call_id,"
                               " method, resource, before, after)"
                               " VALUES ($1, $2, $3::numeric, $4, $5, $6::jsonb, $7::jsonb)",
                               7, params);
    if (res == NULL)
        return TH_EDB;
    PQclear(res);
    return 0;
}

/* True when the binary (or text) value in column col of row 0 equals text. */
static bool
s_value_equals(const PGresult *res, int col, const char *text)
{
    const size_t len = (size_t) PQgetlength(res, 0, col);
    return !PQgetisnull(res, 0, col) && strlen(text) == len &&
           memcmp(PQgetvalue(res, 0, col), text, len) == 0;
}

int
th_db_idem_lookup(th_db_t *self, const char *principal_id, const char *key, const char *method,
                  const char *request_hash, bool *found, uint8_t **reply, size_t *reply_len)
{
    int rc = 0;
    PGresult *res = NULL;
    if (found != NULL)
        *found = false;
    if (reply != NULL)
        *reply = NULL;
    if (reply_len != NULL)
        *reply_len = 0;
    if (self == NULL)
        return TH_EINVAL;
    if (principal_id == NULL || key == NULL || method == NULL || request_hash == NULL ||
        found == NULL || reply == NULL || reply_len == NULL) {
        s_set_error(self, TH_INTERNAL, "", "idempotency lookup lacks an argument");
        return TH_EINVAL;
    }
    rc = s_require_transaction(self, "idempotency lookup");
    if (rc != 0)
        return rc;
    /* Serialise concurrent retries of one key until the first commits, so
     * exactly one of them does the work. Two-key form: its key space is
     * apart from the one-key locks (e.g. the migrations lock). */
    const char *const params[] = {principal_id, key};
    res = th_db_exec(self,
                     "SELECT pg_advisory_xact_lock(hashtext('teilhabe.idempotency'),"
                     " hashtext($1 || $2))",
                     2, params);
    if (res == NULL) {
        rc = TH_EDB;
        goto cleanup;
    }
    PQclear(res);
    /* Binary results: the reply is bytea, and text columns come back as their
     * bytes either way. */
    res = th_db_exec_bin(self,
                         "SELECT method, request_hash, reply FROM audit.idempotency"
                         " WHERE principal_id = $1 AND key = $2",
                         2, params, NULL, NULL, 1);
    if (res == NULL) {
        rc = TH_EDB;
        goto cleanup;
    }
    if (PQntuples(res) == 0)
        goto cleanup;
    if (PQnfields(res) != 3 || PQgetisnull(res, 0, 2)) {
        s_set_error(self, TH_INTERNAL, "", "unexpected idempotency record");
        rc = TH_EDB;
        goto cleanup;
    }
    if (!s_value_equals(res, 0, method) || !s_value_equals(res, 1, request_hash)) {
        s_set_error(self, TH_INVALID_ARGUMENT, "",
                    "idempotency key was already used for a different request");
        rc = TH_EINVAL;
        goto cleanup;
    }
    const size_t len = (size_t) PQgetlength(res, 0, 2);
    uint8_t *copy = malloc(len > 0 ? len : 1);
    if (copy == NULL) {
        s_set_error(self, TH_RESOURCE_EXHAUSTED, "", "out of memory");
        rc = TH_ENOMEM;
        goto cleanup;
    }
    memcpy(copy, PQgetvalue(res, 0, 2), len);
    *reply = copy;
    *reply_len = len;
    *found = true;
cleanup:
    PQclear(res);
    return rc;
}

int
th_db_idem_store(th_db_t *self, const char *principal_id, const char *key, const char *method,
                 const char *request_hash, const uint8_t *reply, size_t reply_len)
{
    if (self == NULL)
        return TH_EINVAL;
    if (principal_id == NULL || key == NULL || method == NULL || request_hash == NULL ||
        (reply == NULL && reply_len > 0)) {
        s_set_error(self, TH_INTERNAL, "", "idempotency record lacks an argument");
        return TH_EINVAL;
    }
    if (reply_len > INT_MAX) {
        s_set_error(self, TH_RESOURCE_EXHAUSTED, "", "reply too large for the idempotency store");
        return TH_ETOOBIG;
    }
    int rc = s_require_transaction(self, "idempotency record");
    if (rc != 0)
        return rc;
    const char *const values[] = {principal_id, key, method, request_hash,
                                  reply != NULL ? (const char *) reply : ""};
    const int lengths[] = {0, 0, 0, 0, (int) reply_len};
    const int formats[] = {0, 0, 0, 0, 1};
    PGresult *res = th_db_exec_bin(self,
                                   "INSERT INTO audit.idempotency"
                                   " (principal_id, key, method, request_hash, reply)"
                                   " VALUES ($1, $2, $3, $4, $5)",
                                   5, values, lengths, formats, 0);
    if (res == NULL)
        return TH_EDB;
    PQclear(res);
    return 0;
}

int
th_db_outbox_append(th_db_t *self, const char *schema, const char *topic, const char *resource,
                    const uint8_t *payload, size_t len, int64_t *sequence)
{
    int rc = 0;
    char *ident = NULL;
    char *sql = NULL;
    PGresult *res = NULL;
    if (sequence != NULL)
        *sequence = 0;
    if (self == NULL)
        return TH_EINVAL;
    if (schema == NULL || *schema == '\0' || topic == NULL || resource == NULL ||
        (payload == NULL && len > 0)) {
        s_set_error(self, TH_INTERNAL, "", "outbox event lacks schema, topic or resource");
        return TH_EINVAL;
    }
    if (len > INT_MAX) {
        s_set_error(self, TH_RESOURCE_EXHAUSTED, "", "outbox payload too large");
        return TH_ETOOBIG;
    }
    rc = s_require_transaction(self, "outbox event");
    if (rc != 0)
        return rc;
    PGconn *conn = th_db_conn(self);
    if (conn == NULL)
        return TH_EDB;
    ident = PQescapeIdentifier(conn, schema, strlen(schema));
    if (ident == NULL) {
        s_set_error(self, TH_INTERNAL, "", "invalid outbox schema name: %s",
                    PQerrorMessage(conn));
        rc = TH_EINVAL;
        goto cleanup;
    }
    const size_t size = strlen(ident) + sizeof S_OUTBOX_INSERT;
    sql = malloc(size);
    if (sql == NULL) {
        s_set_error(self, TH_RESOURCE_EXHAUSTED, "", "out of memory");
        rc = TH_ENOMEM;
        goto cleanup;
    }
    snprintf(sql, size, S_OUTBOX_INSERT, ident);
    const char *const values[] = {topic, resource, payload != NULL ? (const char *) payload : ""};
    const int lengths[] = {0, 0, (int) len};
    const int formats[] = {0, 0, 1};
    res = th_db_exec_bin(self, sql, 3, values, lengths, formats, 0);
    if (res == NULL) {
        rc = TH_EDB;
        goto cleanup;
    }
    char *end = NULL;
    errno = 0;
    const long long value =
        PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 0), &end, 10) : 0;
    if (PQntuples(res) != 1 || errno != 0 || end == NULL || *end != '\0' || value <= 0) {
        s_set_error(self, TH_INTERNAL, "", "outbox insert returned no sequence");
        rc = TH_EDB;
        goto cleanup;
    }
    if (sequence != NULL)
        *sequence = value;
cleanup:
    PQclear(res);
    free(sql);
    PQfreemem(ident);
    return rc;
}

/* --- for th_db_migrate.c (th_db_int.h) ------------------------------------ */

void
th_db__record_failure(th_db_t *self, const PGresult *res)
{
    s_record_failure(self, res);
}

void
th_db__leave_copy(PGconn *conn, ExecStatusType status)
{
    s_leave_copy(conn, status);
}

int
th_db__rollback(th_db_t *self)
{
    return s_rollback(self);
}
