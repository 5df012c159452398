/* ---------------------------------------------------------------------------
 * th_db.c: PostgreSQL access (connection and reconnection, transactions with
 * deadlines, parameterized statements and pipelines, SQLSTATE to status
 * mapping; the migrations runner is th_db_migrate.c, the audit trail, the
 * idempotency store and the outbox th_db_write.c)
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
#include <time.h>

#include "th_error.h"
#include "th_log.h"
#include "th_status.h"

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

void
th_db__set_error(th_db_t *self, int status, const char *sqlstate, const char *fmt, ...)
{
    char text[TH_DB_ERROR_MAX];
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
        th_db__set_error(self, status, state, "%s", primary);
    else if (res != NULL && result_status != PGRES_FATAL_ERROR &&
             result_status != PGRES_NONFATAL_ERROR)
        th_db__set_error(self, status, state, "unexpected result from database: %s",
                    PQresStatus(result_status));
    else if (self->conn != NULL && *PQerrorMessage(self->conn) != '\0')
        th_db__set_error(self, status, state, "%s", PQerrorMessage(self->conn));
    else
        th_db__set_error(self, status, state, "database statement failed");
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
        th_db__set_error(self, TH_UNAVAILABLE, "", "could not connect to database: out of memory");
        return TH_ENOMEM;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        th_db__set_error(self, TH_UNAVAILABLE, "08001", "could not connect to database: %s",
                    PQerrorMessage(conn));
        PQfinish(conn);
        return TH_EDB;
    }
    PQsetNoticeReceiver(conn, s_notice, self);
    self->conn = conn;
    self->closing = false;
    self->session_timeout_ms = -1;
    self->n_prepared = 0; /* prepared statements live and die with a connection */
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
     * below the remaining time lets the next few calls keep it without
     * sending it again, while no statement outlives its call's deadline. */
    int64_t slack = timeout_ms / 20 > 25 ? timeout_ms / 20 : 25;
    int64_t current = self->session_timeout_ms;
    if (current > 0 && current <= timeout_ms && current >= timeout_ms - 2 * slack) {
        self->pending_timeout_ms = 0;
        return 0;
    }
    /* Sent with the next statement, in the same round trip (th_db_exec) */
    self->pending_timeout_ms = timeout_ms - slack > 0 ? timeout_ms - slack : timeout_ms;
    return 0;
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
int
th_db__rollback(th_db_t *self)
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
    th_db__rollback(self);
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
        th_db__set_error(self, TH_UNAVAILABLE, "08003",
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
        th_db__set_error(self, TH_INTERNAL, "", "a transaction is already open");
        return TH_ESTATE;
    }
    s_clear_error(self);
    if (timeout_ms < 0) {
        th_db__set_error(self, TH_DEADLINE_EXCEEDED, "57014",
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
                th_db__rollback(self);
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
        th_db__set_error(self, TH_INTERNAL, "", "no transaction is open to commit");
        return TH_ESTATE;
    }
    if (self->conn == NULL || PQstatus(self->conn) != CONNECTION_OK) {
        self->in_tx = false;
        th_db__set_error(self, TH_UNAVAILABLE, "08003",
                    "connection to database was lost before commit");
        return TH_EDB;
    }
    if (PQtransactionStatus(self->conn) == PQTRANS_INERROR) {
        /* COMMIT of a failed transaction "succeeds" as ROLLBACK. Keep the
         * error that failed it: that is what the caller must report. */
        th_db__rollback(self);
        if (self->status == TH_OK)
            th_db__set_error(self, TH_ABORTED, "25P02",
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
        th_db__set_error(self, TH_ABORTED, "25P02", "transaction was rolled back instead of committed");
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
    return th_db__rollback(self);
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

/* The session's statement_timeout, as one statement of a pipeline */
static const th_db_stmt_t s_set_timeout = {
    "th_set_statement_timeout", "SELECT set_config('statement_timeout', $1, false)", 1};

/* Runs one statement: with a pending statement_timeout outside a
 * transaction, both in one pipeline (one round trip, SET first); else alone
 * (unnamed statements through PQexecParams, which libpq sends as one
 * message train too). */
static PGresult *
s_run(th_db_t *self, const th_db__item_t *item)
{
    th_db__set_error(self, TH_OK, "", "%s", "");
    const th_db_stmt_t *stmt = item->stmt;
    if (stmt == NULL || (stmt->sql == NULL && stmt->name == NULL) || stmt->nparams < 0 ||
        (stmt->nparams > 0 && item->values == NULL)) {
        th_db__set_error(self, TH_INTERNAL, "", "invalid statement or parameters");
        return NULL;
    }
    PGconn *conn = th_db_conn(self);
    if (conn == NULL)
        return NULL;
    PGresult *results[2] = {NULL, NULL};
    if (self->pending_timeout_ms > 0 && !self->in_tx) {
        char value[24];
        snprintf(value, sizeof value, "%" PRId64, self->pending_timeout_ms);
        const char *const values[] = {value};
        const th_db__item_t items[2] = {{.stmt = &s_set_timeout, .values = values}, *item};
        if (th_db__pipeline(self, items, 2, results) != 0) {
            /* The implicit transaction took the SET back with it */
            self->session_timeout_ms = -1;
            return NULL;
        }
        self->session_timeout_ms = self->pending_timeout_ms;
        self->pending_timeout_ms = 0;
        PQclear(results[0]);
        return results[1];
    }
    if (stmt->name != NULL && stmt->sql != NULL)
        return th_db__pipeline(self, item, 1, results) == 0 ? results[0] : NULL;
    self->statements++;
    PGresult *res =
        stmt->sql == NULL
            ? PQexecPrepared(conn, stmt->name, stmt->nparams, item->values, item->lengths,
                             item->formats, item->result_format)
            : PQexecParams(conn, stmt->sql, stmt->nparams, NULL, item->values, item->lengths,
                           item->formats, item->result_format);
    const ExecStatusType status = PQresultStatus(res);
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
        return res;
    s_record_failure(self, res);
    PQclear(res);
    s_leave_copy(conn, status);
    return NULL;
}

PGresult *
th_db_exec_bin(th_db_t *self, const char *sql, int nparams, const char *const *values,
               const int *lengths, const int *formats, int result_format)
{
    if (self == NULL)
        return NULL;
    const th_db_stmt_t stmt = {NULL, sql, nparams};
    const th_db__item_t item = {&stmt, values, lengths, formats, result_format};
    return s_run(self, &item);
}

PGresult *
th_db_exec_prepared(th_db_t *self, const char *name, int nparams, const char *const *params)
{
    if (self == NULL)
        return NULL;
    /* No text: the caller prepared it (th_db_prepare) */
    const th_db_stmt_t stmt = {name, NULL, nparams};
    const th_db__item_t item = {&stmt, params, NULL, NULL, 0};
    return s_run(self, &item);
}

PGresult *
th_db_exec_stmt(th_db_t *self, const th_db_stmt_t *stmt, const char *const *values,
                const int *lengths, const int *formats, int result_format)
{
    if (self == NULL)
        return NULL;
    const th_db__item_t item = {stmt, values, lengths, formats, result_format};
    return s_run(self, &item);
}

/* --- pipelines ------------------------------------------------------------ */

static bool
s_is_prepared(const th_db_t *self, const char *name)
{
    for (size_t i = 0; i < self->n_prepared; i++)
        if (strcmp(self->prepared[i], name) == 0)
            return true;
    return false;
}

static void
s_note_prepared(th_db_t *self, const char *name)
{
    if (self->n_prepared < TH_DB_PREPARED_MAX && strlen(name) < TH_DB_STMT_NAME_MAX)
        snprintf(self->prepared[self->n_prepared++], TH_DB_STMT_NAME_MAX, "%s", name);
}

/* Whether a named statement is (to be) run prepared: a name that fits and
 * a slot to remember it by; else it runs as unnamed text. */
static bool
s_preparable(const th_db_t *self, const th_db_stmt_t *stmt)
{
    return stmt->name != NULL && stmt->sql != NULL && strlen(stmt->name) < TH_DB_STMT_NAME_MAX &&
           (self->n_prepared < TH_DB_PREPARED_MAX || s_is_prepared(self, stmt->name));
}

/* The connection is in an unknown state (a send failed, the server went
 * away mid-pipeline): drop it. Inside a transaction that is the end of the
 * transaction, as th_db_conn then says. */
static void
s_drop_connection(th_db_t *self, const char *what)
{
    th_db__set_error(self, TH_UNAVAILABLE, "08006", "%s: %s", what,
                     self->conn != NULL ? PQerrorMessage(self->conn) : "no connection");
    if (self->conn != NULL)
        PQfinish(self->conn);
    self->conn = NULL;
    self->n_prepared = 0;
}

/* Reads what ends one query of a pipeline (libpq hands a NULL after each);
 * false when something else comes. */
static bool
s_end_of_query(PGconn *conn)
{
    PGresult *extra = PQgetResult(conn);
    if (extra == NULL)
        return true;
    PQclear(extra);
    return false;
}

int
th_db__pipeline(th_db_t *self, const th_db__item_t *items, size_t n, PGresult **results)
{
    for (size_t i = 0; i < n; i++)
        results[i] = NULL;
    th_db__set_error(self, TH_OK, "", "%s", "");
    if (n == 0 || n > TH_DB_PIPELINE_MAX) {
        th_db__set_error(self, TH_INTERNAL, "", "a pipeline holds 1 to %d statements",
                         TH_DB_PIPELINE_MAX);
        return TH_EDB;
    }
    PGconn *conn = th_db_conn(self);
    if (conn == NULL)
        return TH_EDB;
    if (PQenterPipelineMode(conn) != 1) {
        th_db__set_error(self, TH_INTERNAL, "", "could not enter pipeline mode: %s",
                         PQerrorMessage(conn));
        return TH_EDB;
    }
    self->statements++;
    bool prepare[TH_DB_PIPELINE_MAX] = {false};
    bool named[TH_DB_PIPELINE_MAX] = {false};
    bool sent = true;
    for (size_t i = 0; i < n && sent; i++) {
        const th_db_stmt_t *stmt = items[i].stmt;
        named[i] = stmt->sql == NULL || s_preparable(self, stmt);
        prepare[i] = stmt->sql != NULL && named[i] && !s_is_prepared(self, stmt->name);
        /* Two items of one pipeline with the same new name: prepare once */
        for (size_t k = 0; k < i && prepare[i]; k++)
            if (prepare[k] && strcmp(items[k].stmt->name, stmt->name) == 0)
                prepare[i] = false;
        if (prepare[i] && !PQsendPrepare(conn, stmt->name, stmt->sql, stmt->nparams, NULL))
            sent = false;
        else if (named[i])
            sent = PQsendQueryPrepared(conn, stmt->name, stmt->nparams, items[i].values,
                                       items[i].lengths, items[i].formats,
                                       items[i].result_format) == 1;
        else
            sent = PQsendQueryParams(conn, stmt->sql, stmt->nparams, NULL, items[i].values,
                                     items[i].lengths, items[i].formats,
                                     items[i].result_format) == 1;
    }
    if (!sent || !PQpipelineSync(conn)) {
        s_drop_connection(self, "could not send to the database");
        return TH_EDB;
    }
    int rc = 0;
    bool broken = false;
    for (size_t i = 0; i < n && !broken; i++) {
        if (prepare[i]) {
            PGresult *res = PQgetResult(conn);
            if (PQresultStatus(res) == PGRES_COMMAND_OK) {
                s_note_prepared(self, items[i].stmt->name);
            } else if (rc == 0) {
                s_record_failure(self, res);
                rc = TH_EDB;
            }
            broken = res == NULL;
            PQclear(res);
            if (broken || !s_end_of_query(conn))
                break;
        }
        PGresult *res = PQgetResult(conn);
        const ExecStatusType status = PQresultStatus(res);
        if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
            results[i] = res;
        } else {
            if (rc == 0) {
                s_record_failure(self, res);
                rc = TH_EDB;
            }
            broken = res == NULL;
            PQclear(res);
        }
        if (!broken && !s_end_of_query(conn))
            broken = true;
    }
    PGresult *sync = broken ? NULL : PQgetResult(conn);
    if (PQresultStatus(sync) != PGRES_PIPELINE_SYNC)
        broken = true;
    PQclear(sync);
    if (broken || PQexitPipelineMode(conn) != 1) {
        /* The connection is in no state to go on with. Keep the message of
         * the first failure when there was one: it says more. */
        if (rc == 0) {
            s_drop_connection(self, "the database connection broke in a pipeline");
        } else {
            PQfinish(self->conn);
            self->conn = NULL;
            self->n_prepared = 0;
            self->status = TH_UNAVAILABLE;
        }
        rc = TH_EDB;
    }
    if (rc != 0)
        for (size_t i = 0; i < n; i++) {
            PQclear(results[i]);
            results[i] = NULL;
        }
    return rc;
}

int
th_db_prepare(th_db_t *self, const char *name, const char *sql, int nparams)
{
    if (self == NULL)
        return TH_EINVAL;
    s_clear_error(self);
    if (name == NULL || sql == NULL || nparams < 0) {
        th_db__set_error(self, TH_INTERNAL, "", "invalid statement name or text");
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
th_db_copy_in(th_db_t *self, const char *sql, const char *data, size_t len)
{
    th_db__set_error(self, TH_OK, "", "%s", "");
    PGconn *conn = th_db_conn(self);
    if (conn == NULL)
        return TH_EDB;
    self->statements++;
    PGresult *res = PQexec(conn, sql);
    if (res == NULL || PQresultStatus(res) != PGRES_COPY_IN) {
        s_record_failure(self, res);
        if (res != NULL)
            s_leave_copy(conn, PQresultStatus(res));
        PQclear(res);
        return TH_EDB;
    }
    PQclear(res);
    /* In pieces of 1 MiB: libpq buffers what it cannot send at once, and
     * a piece that size keeps that buffer small. */
    const size_t piece = (size_t) 1 << 20;
    int ok = 1;
    for (size_t pos = 0; pos < len && ok == 1; pos += piece) {
        const size_t n = len - pos < piece ? len - pos : piece;
        ok = PQputCopyData(conn, data + pos, (int) n);
    }
    if (ok == 1)
        ok = PQputCopyEnd(conn, NULL);
    else
        PQputCopyEnd(conn, "the data could not be sent");
    int rc = 0;
    while ((res = PQgetResult(conn)) != NULL) {
        if (rc == 0 && PQresultStatus(res) != PGRES_COMMAND_OK) {
            s_record_failure(self, res);
            rc = TH_EDB;
        }
        PQclear(res);
    }
    if (rc == 0 && ok != 1) {
        s_record_failure(self, NULL);
        rc = TH_EDB;
    }
    return rc;
}
