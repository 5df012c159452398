/* ---------------------------------------------------------------------------
 * th_db_int.h: what th_db.c and th_db_migrate.c share (the handle's
 * fields and the failure bookkeeping). Not for other modules: they see
 * th_db.h.
 * ---------------------------------------------------------------------------
 */
#ifndef TH_DB_INT_H
#define TH_DB_INT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "th_db.h"

#define S_ERROR_MAX 1024

struct th_db_t {
    char *conninfo;
    PGconn *conn;
    bool in_tx;
    /* The session's statement_timeout as last set by
     * th_db_set_statement_timeout, -1 when unknown (new connection). */
    int64_t session_timeout_ms;
    /* The server announced that it closes this connection. */
    bool closing;
    /* Statements sent to the server on this handle (th_db_statements). */
    uint64_t statements;
    /* The last failure: status code (TH_OK when none), SQLSTATE, message. */
    int status;
    char sqlstate[6];
    char error[S_ERROR_MAX];
};

/* Records why res (NULL when libpq could not build a result) failed. */
void th_db__record_failure(th_db_t *self, const PGresult *res);

/* Leaves COPY mode, so the connection stays usable. */
void th_db__leave_copy(PGconn *conn, ExecStatusType status);

/* Ends the open transaction, if any, keeping the recorded error. */
int th_db__rollback(th_db_t *self);

#endif /* TH_DB_INT_H */
