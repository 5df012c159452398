/* ---------------------------------------------------------------------------
 * th_db_int.h: what th_db.c (connection, statements, transactions,
 * pipelines) shares with th_db_write.c (the runtime's own SQL: audit trail,
 * idempotency store, outbox) and th_db_migrate.c (the migrations runner):
 * the handle's fields and the failure bookkeeping. Not for callers: they
 * see th_db.h.
 * ---------------------------------------------------------------------------
 */
#ifndef TH_DB_INT_H
#define TH_DB_INT_H

#include "th_db.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TH_DB_ERROR_MAX 1024
/* Named statements one connection remembers as prepared (th_db_stmt_t);
 * beyond that a statement runs unprepared. */
#define TH_DB_PREPARED_MAX 64
#define TH_DB_STMT_NAME_MAX 64
/* Statements in one pipeline, at most */
#define TH_DB_PIPELINE_MAX 8

struct th_db_t {
    char *conninfo;
    PGconn *conn;
    bool in_tx;
    /* The session's statement_timeout as last set, -1 when unknown (new
     * connection, or a pipeline that set it failed). */
    int64_t session_timeout_ms;
    /* > 0: the statement_timeout the next statement outside a transaction
     * must run with; sent in the same pipeline as that statement. */
    int64_t pending_timeout_ms;
    /* The server announced that it closes this connection. */
    bool closing;
    /* Round trips to the server on this handle (th_db_statements). */
    uint64_t statements;
    /* Named statements prepared on this connection (cleared on reconnect) */
    char prepared[TH_DB_PREPARED_MAX][TH_DB_STMT_NAME_MAX];
    size_t n_prepared;
    /* The last failure: status code (TH_OK when none), SQLSTATE, message. */
    int status;
    char sqlstate[6];
    char error[TH_DB_ERROR_MAX];
};

/* One statement of a pipeline: stmt (prepared on first use when it has a
 * name) with its parameters as for PQexecParams. */
typedef struct {
    const th_db_stmt_t *stmt;
    const char *const *values;
    const int *lengths; /* NULL: all text */
    const int *formats; /* NULL: all text */
    int result_format;
} th_db__item_t;

/* Sends items (1..TH_DB_PIPELINE_MAX) to the server in one round trip and
 * collects their results. Outside a transaction they run in one implicit
 * transaction (libpq pipeline mode), so a failure undoes them all. Returns
 * 0 with results[i] set for every item (the caller clears them), or TH_EDB
 * with the first failure recorded (th_db_status) and every results[i] NULL.
 * Does not send a pending statement_timeout: th_db_exec_stmt and the exec
 * functions do. */
int th_db__pipeline(th_db_t *self, const th_db__item_t *items, size_t n, PGresult **results);

void th_db__set_error(th_db_t *self, int status, const char *sqlstate, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* TH_ESTATE (recorded as an INTERNAL failure naming what) outside a
 * transaction, else 0. */
int th_db__require_transaction(th_db_t *self, const char *what);

/* Records why res (NULL when libpq could not build a result) failed. */
void th_db__record_failure(th_db_t *self, const PGresult *res);

/* Leaves COPY mode, so the connection stays usable. */
void th_db__leave_copy(PGconn *conn, ExecStatusType status);

/* Ends the open transaction, if any, without touching the recorded error. */
int th_db__rollback(th_db_t *self);

#endif /* TH_DB_INT_H */
