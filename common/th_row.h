/* ---------------------------------------------------------------------------
 * th_row.h: PostgreSQL rows into protobuf messages, by the message's
 * descriptor.
 *
 * A store names its columns after the fields of the message it answers
 * with (`SELECT d.ags, s.name AS state_name, ...`), and th_row puts each
 * column into the field of that name, converting by the field's type:
 *   string                  the text; SQL NULL = ""
 *   int32/64, uint32/64...  decimal text; NULL = 0
 *   float, double           decimal text (numeric, double precision)
 *   bool                    PostgreSQL's t / f
 *   enum                    the value's token ("landkreis", th_enum.h);
 *                           NULL or an unknown token = 0 (UNSPECIFIED)
 *   bytes                   bytea
 *   repeated string, enum   a one-dimensional array ('{a,b,"c d"}')
 * Columns that name no field are left to the store (it reads them itself,
 * e.g. the columns of a joined row), and so are fields of message type.
 *
 * One mapping for every service, so a store's code is its SQL, and a
 * column added to a query and a field added to the .proto meet by name.
 * ---------------------------------------------------------------------------
 */
#ifndef TH_ROW_H
#define TH_ROW_H

#include <libpq-fe.h>
#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

#include "th_call.h"
#include "th_db.h"

/* SQL fragments for the columns of a store: dates leave the database as
 * to_char(..., 'YYYY-MM-DD') and timestamps as RFC 3339 in UTC, so what a
 * message holds never depends on the session's DateStyle or TimeZone
 * (`TH_ROW_SQL_DATE("m.start_date") " AS start_date"`; SQL NULL = ""). */
#define TH_ROW_SQL_DATE(col) "to_char(" col ", 'YYYY-MM-DD')"
#define TH_ROW_SQL_TS(col)                                                                     \
    "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

/* Fills msg (initialised by the caller) from row of r, from the n_cols
 * columns starting at first_col (n_cols 0 = to the last column): a joined
 * row fills one message from its first columns and another from the rest,
 * even where both have a column "id". Strings,
 * arrays and bytes are copied into call memory. With call NULL (seeding,
 * before any call) strings point into r, valid until it is cleared, and
 * repeated and bytes fields stay empty. */
void th_row_fill(th_call_t *call, const PGresult *r, int row, int first_col, int n_cols,
                 ProtobufCMessage *msg);

/* A new message of desc from row of r (call memory). */
void *th_row_new(th_call_t *call, const ProtobufCMessageDescriptor *desc, const PGresult *r,
                 int row);

/* Every row of r as a new message of desc: an array in call memory (NULL
 * when r has no rows), *n its length. */
void **th_row_all(th_call_t *call, const ProtobufCMessageDescriptor *desc, const PGresult *r,
                  size_t *n);

/* --- a store's statements --------------------------------------------------- */

/* Runs sql with text parameters on the call's connection (th_call_db,
 * th_db_exec): the result, or NULL (the error stays on the connection;
 * NULL without a connection too). */
PGresult *th_row_exec(th_call_t *call, const char *sql, int nparams, const char *const *params);

/* The same for a statement prepared on each connection on first use
 * (th_db_exec_stmt): for the statements of the hot paths. */
PGresult *th_row_exec_stmt(th_call_t *call, const th_db_stmt_t *stmt, const char *const *params);

/* Every row of r as a message of desc (th_row_all) into *out and *n, and
 * clears r. 0, or TH_EDB when r is NULL (its statement failed). */
int th_row_take_all(th_call_t *call, const ProtobufCMessageDescriptor *desc, PGresult *r,
                    void ***out, size_t *n);

/* The first row of r as a message of desc into *out when r has exactly
 * one row, and clears r. 0; none (TH_ENOTFOUND, TH_ESTATE, ...) when it
 * has no row; TH_EDB when r is NULL. */
int th_row_take_one(th_call_t *call, const ProtobufCMessageDescriptor *desc, PGresult *r,
                    int none, void **out);

/* Splits the text form of a one-dimensional PostgreSQL array
 * ('{a,"b c",NULL}'; NULL elements are skipped) into items (at most max),
 * the strings written into buf (at least strlen(text) bytes). 0,
 * TH_EINVAL when text is no such array, TH_ETOOBIG above max items. */
int th_row_split_array(const char *text, char *buf, char **items, size_t max, size_t *n);

/* The elements of a one-dimensional PostgreSQL array in its text form
 * ('{a,"b c",NULL}'; NULL elements are skipped) as strings in call memory:
 * an array (NULL when empty) and *n. TH_EINVAL when text is no such array. */
int th_row_parse_array(th_call_t *call, const char *text, char ***items, size_t *n);

/* strings as a PostgreSQL array literal ({"a","b"}, every item quoted and
 * escaped), in call memory: to pass a list as one text parameter
 * ($1::text[]). */
char *th_row_array_literal(th_call_t *call, char *const *items, size_t n);

/* The token of an enum value as a statement parameter ("landkreis"), in
 * call memory; NULL (SQL NULL: "any" in a filter) for the zero value or a
 * value desc does not know. */
const char *th_row_enum_param(th_call_t *call, const ProtobufCEnumDescriptor *desc,
                              int value);

#endif /* TH_ROW_H */
