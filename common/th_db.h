/* ---------------------------------------------------------------------------
 * th_db.h: PostgreSQL access for teilhabe (libpq).
 *
 * A th_db_t is one connection, used by one thread. It reconnects when the
 * server went away (between transactions, never inside one). All statements
 * are parameterized. Errors from the server are mapped to status codes by
 * th_db_status so handlers can answer clients accurately.
 *
 * Also here: the migrations runner, and (th_db_write.c) the audit trail,
 * the idempotency store and the transactional outbox, which all work inside
 * the caller's transaction, with prepared statements, in as few round trips
 * as they can.
 * ---------------------------------------------------------------------------
 */
#ifndef TH_DB_H
#define TH_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct th_db_t th_db_t;

/* Connects to conninfo (libpq keyword/value string or URI). Returns NULL and
 * a message in errbuf when the first connection fails. */
th_db_t *th_db_new(const char *conninfo, char *errbuf, size_t errlen);

/* Accepts NULL; sets *self_p to NULL. Rolls back an open transaction. */
void th_db_destroy(th_db_t **self_p);

/* The live connection, reconnecting first if it was lost and no transaction
 * is open. NULL when the server cannot be reached. Borrowed. */
PGconn *th_db_conn(th_db_t *self);

/* BEGIN; SET LOCAL statement_timeout = timeout_ms (0 = none).
 * 0, TH_EDB, or TH_ESTATE when a transaction is already open. */
int th_db_begin(th_db_t *self, int64_t timeout_ms);
int th_db_commit(th_db_t *self);

/* Outside a transaction: makes the session's statement_timeout at most
 * timeout_ms (and not far below it), so a plain read cannot outlive its
 * call's deadline. Sends nothing itself: when the current value is out of
 * that band, the next statement run outside a transaction carries the new
 * value in its own round trip (a pipeline of set_config and the
 * statement), so a read never pays a round trip for its deadline. Inside a
 * transaction it does nothing (th_db_begin set it). 0 or TH_EINVAL. */
int th_db_set_statement_timeout(th_db_t *self, int64_t timeout_ms);
/* Rolls back if a transaction is open; otherwise does nothing. */
int th_db_rollback(th_db_t *self);
bool th_db_in_transaction(const th_db_t *self);

/* Runs a parameterized statement (text parameters, NULL = SQL NULL). Returns
 * the result (caller PQclears it) when the status is COMMAND_OK or
 * TUPLES_OK; otherwise NULL, and the error is kept for th_db_status /
 * th_db_error. */
PGresult *th_db_exec(th_db_t *self, const char *sql, int nparams,
                     const char *const *params);

/* Same, with binary-capable parameters (lengths and formats as PQexecParams). */
PGresult *th_db_exec_bin(th_db_t *self, const char *sql, int nparams,
                         const char *const *values, const int *lengths,
                         const int *formats, int result_format);

/* A statement that is prepared on first use on each connection and run by
 * name after that: a constant of the caller's code, e.g.
 *   static const th_db_stmt_t s_get = {"registry_get_district", "SELECT ...", 1};
 * name is unique in the program (lowercase, < 64 bytes; NULL = run as
 * text every time). */
typedef struct {
    const char *name;
    const char *sql;
    int nparams;
} th_db_stmt_t;

/* Runs stmt (PQexecPrepared once it is prepared on this connection; the
 * preparing goes in the same round trip as its first run) with parameters
 * as for th_db_exec_bin, with the same result and error rules as
 * th_db_exec. Inside a transaction too. */
PGresult *th_db_exec_stmt(th_db_t *self, const th_db_stmt_t *stmt, const char *const *values,
                          const int *lengths, const int *formats, int result_format);

/* Runs sql, a `COPY ... FROM STDIN` (text format) without parameters, and
 * sends it the len bytes of data (whole lines of COPY text), in one round
 * trip and a stream of data. Inside a transaction too. 0, or TH_EDB with
 * the failure recorded as for th_db_exec (a row the table refuses, a
 * connection lost, the statement_timeout). */
int th_db_copy_in(th_db_t *self, const char *sql, const char *data, size_t len);

/* Runs the statement prepared on this connection as name (PQexecPrepared),
 * with the same result and error rules as th_db_exec. A name the connection
 * does not know (new or reconnected connection) fails with SQLSTATE 26000;
 * th_db_prepare then makes it. Nothing is ever run twice here: the caller
 * decides what deserves another try. */
PGresult *th_db_exec_prepared(th_db_t *self, const char *name, int nparams,
                              const char *const *params);

/* Prepares sql as name on this connection (PQprepare). 0, or TH_EDB with the
 * error kept as for th_db_exec. */
int th_db_prepare(th_db_t *self, const char *name, const char *sql, int nparams);

/* How many round trips this handle has made to the server: every query,
 * prepare, BEGIN, COMMIT and ROLLBACK it sent alone counts one, and so does
 * a pipeline of several sent at once (a statement with the session's new
 * statement_timeout, th_db_write_begin, ...). Subtract two readings to see
 * what a piece of work cost, e.g. in a debug log line. */
uint64_t th_db_statements(const th_db_t *self);

/* The status code that describes the last failure: UNAVAILABLE (connection),
 * DEADLINE_EXCEEDED (57014 query_canceled by statement_timeout),
 * ALREADY_EXISTS (23505), FAILED_PRECONDITION (23503, 23514), ABORTED
 * (40001, 40P01), INVALID_ARGUMENT (22xxx data exceptions), INTERNAL else. */
int th_db_status(const th_db_t *self);
/* The last error's SQLSTATE ("" when none) and message (borrowed). */
const char *th_db_sqlstate(const th_db_t *self);
const char *th_db_error(const th_db_t *self);

/* --- migrations ---------------------------------------------------------- */

/* Applies the numbered SQL files NNNN_name.sql in dir for service (e.g.
 * "registry") that are not yet recorded in public.teilhabe_migrations, in
 * order, each in its own transaction, all under a session advisory lock so
 * concurrent starters apply each once. Refuses (TH_ESTATE, message in errbuf)
 * when the database holds a version of service newer than the newest file.
 * *applied (may be NULL) receives the number of files applied now. */
int th_db_migrate(th_db_t *self, const char *service, const char *dir, int *applied,
                  char *errbuf, size_t errlen);

/* The directory with the common migrations (audit schema, idempotency). */
#define TH_COMMON_MIGRATIONS_DIR TH_SOURCE_DIR "/common/migrations"

/* --- audit, idempotency, outbox (inside the caller's transaction) -------- */

typedef struct {
    const char *principal_id;
    const char *principal_role;
    uint64_t call_id;
    const char *method;
    const char *resource;    /* e.g. "districts/16056" */
    const char *before_json; /* NULL when created */
    const char *after_json;  /* NULL when deleted */
    /* The principal a service made this call for (its caller's caller,
     * th_call_on_behalf_of); NULL or "" = none */
    const char *on_behalf_of;
} th_audit_entry_t;

/* Inserts one row into audit.log. Requires an open transaction (TH_ESTATE). */
int th_db_audit(th_db_t *self, const th_audit_entry_t *entry);

/* An idempotency key and the request it stands for. */
typedef struct {
    const char *principal_id;
    const char *key;
    const char *method;
    const char *request_hash;
} th_db_idem_t;

/* A write's start in one round trip: BEGIN, SET LOCAL statement_timeout =
 * timeout_ms (0 = none), and with idem the key's transaction-scoped lock and
 * its lookup (as th_db_idem_lookup: *found, *reply, TH_EINVAL for a key used
 * for another request; the transaction stays open then, for the caller to
 * roll back). idem NULL: found, reply and reply_len may be NULL. 0, TH_EDB
 * (the error recorded, no transaction open), TH_ESTATE when one is open
 * already. */
int th_db_write_begin(th_db_t *self, int64_t timeout_ms, const th_db_idem_t *idem, bool *found,
                      uint8_t **reply, size_t *reply_len);

/* The audit row (NULL: none) and the event (schema NULL: none) of a write,
 * in one round trip inside the open transaction; the event's sequence in
 * *sequence (may be NULL). schema must be a fixed identifier from code. */
int th_db_write_record(th_db_t *self, const th_audit_entry_t *audit, const char *schema,
                       const char *topic, const char *resource, const uint8_t *payload,
                       size_t len, int64_t *sequence);

/* The write's end in one round trip: the reply stored under idem (NULL:
 * none) and COMMIT. On failure the transaction is rolled back (or was lost
 * with the connection: UNAVAILABLE, the outcome unknown) and the error
 * recorded. 0 or TH_EDB. */
int th_db_write_commit(th_db_t *self, const th_db_idem_t *idem, const uint8_t *reply,
                       size_t reply_len);

/* Looks up (principal_id, key) in audit.idempotency after taking a
 * transaction-scoped advisory lock on it. Returns 0 and *found = false when
 * unused; 0 and *found = true with *reply (malloc'ed, caller frees) and
 * *reply_len when used for the same method and request_hash; TH_EINVAL when
 * used for a different method or request. */
int th_db_idem_lookup(th_db_t *self, const char *principal_id, const char *key,
                      const char *method, const char *request_hash, bool *found,
                      uint8_t **reply, size_t *reply_len);

/* Stores the packed reply under (principal_id, key). */
int th_db_idem_store(th_db_t *self, const char *principal_id, const char *key,
                     const char *method, const char *request_hash, const uint8_t *reply,
                     size_t reply_len);

/* Deletes at most limit keys older than older_than_ms of methods starting
 * with method_prefix (e.g. "teilhabe.registry.v1.Registry/"), outside a
 * transaction; *deleted (may be NULL) says how many. The caller repeats it
 * while it deletes limit, so no pass holds the connection long. 0 or
 * TH_EDB. */
int th_db_idem_prune(th_db_t *self, const char *method_prefix, int64_t older_than_ms, int limit,
                     int *deleted);

/* Inserts into <schema>.events (sequence bigserial, topic, resource, payload
 * bytea, created_at) and returns the new sequence in *sequence (may be
 * NULL). schema must be a fixed identifier from code. */
int th_db_outbox_append(th_db_t *self, const char *schema, const char *topic,
                        const char *resource, const uint8_t *payload, size_t len,
                        int64_t *sequence);

#endif /* TH_DB_H */
