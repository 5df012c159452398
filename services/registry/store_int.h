/* ---------------------------------------------------------------------------
 * store_int.h: what the store files share (the SQL fragments for dates and
 * validity, and running a statement on the call's connection). Not for the
 * handlers: they see store.h.
 * ---------------------------------------------------------------------------
 */
#ifndef REGISTRY_STORE_INT_H
#define REGISTRY_STORE_INT_H

#include <libpq-fe.h>

#include "store.h"

/* Dates leave the database as to_char(..., 'YYYY-MM-DD') and timestamps as
 * RFC 3339 in UTC, so the output never depends on the session's DateStyle
 * or TimeZone. */
#define S_DATE(col) "to_char(" col ", 'YYYY-MM-DD')"
#define S_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
/* A row valid on the date in parameter p. */
#define S_VALID_ON(alias, p)                                                                   \
    "(" alias ".valid_from <= " p "::date AND (" alias ".valid_to IS NULL OR " alias           \
    ".valid_to >= " p "::date))"

/* Plain statements: th_row_exec (th_row.h). */

/* The same as the named prepared statement name (outside a transaction;
 * prepared on first use on each connection). */
PGresult *registry_store__exec_hot(th_call_t *call, const char *name, const char *sql,
                                   int nparams, const char *const *params);

/* An int64 of a result. */
int64_t registry_store__i64(const PGresult *r, int row, int col);

#endif /* REGISTRY_STORE_INT_H */
