/* ---------------------------------------------------------------------------
 * store_int.h: what the store files share. Not for the handlers: they see
 * store.h.
 * ---------------------------------------------------------------------------
 */
#ifndef MEASURES_STORE_INT_H
#define MEASURES_STORE_INT_H

#include <libpq-fe.h>

#include "store.h"

/* Runs sql on the call's connection and returns the result, or NULL (the
 * error stays on the connection; NULL without a connection too). */
PGresult *measures_store__exec(th_call_t *call, const char *sql, int nparams,
                               const char *const *params);

/* The same for a statement prepared on each connection on first use
 * (th_db_exec_stmt): for the statements of the hot paths. */
PGresult *measures_store__exec_stmt(th_call_t *call, const th_db_stmt_t *stmt,
                                    const char *const *params);

#endif /* MEASURES_STORE_INT_H */
