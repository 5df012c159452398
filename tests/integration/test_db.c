/* ---------------------------------------------------------------------------
 * test_db.c: th_db against a real PostgreSQL 15 (TEILHABE_TEST_DB_URL):
 * connection and reconnection, transactions and deadlines, status mapping,
 * migrations, audit trail, idempotency store, outbox.
 *
 * Every run uses its own service names and schemas (suffix from time and
 * pid), so runs against one database do not see each other's rows.
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <czmq.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "th_db.h"
#include "th_error.h"
#include "th_status.h"
#include "th_test.h"

typedef struct {
    th_db_t *db;
    char suffix[48]; /* unique per run: lowercase letters, digits, underscores */
} fixture_t;

/* --- helpers ------------------------------------------------------------- */

/* Runs sql and copies the first value of the first row into out. */
static void
s_scalar(th_db_t *db, const char *sql, int nparams, const char *const *params, char *out,
         size_t size)
{
    PGresult *res = th_db_exec(db, sql, nparams, params);
    if (res == NULL)
        fail_msg("query failed: %s: %s", sql, th_db_error(db));
    assert_int_equal(PQntuples(res), 1);
    snprintf(out, size, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
}

static long
s_count(th_db_t *db, const char *sql, int nparams, const char *const *params)
{
    char text[32];
    s_scalar(db, sql, nparams, params, text, sizeof text);
    return strtol(text, NULL, 10);
}

static void
s_exec_ok(th_db_t *db, const char *sql)
{
    PGresult *res = th_db_exec(db, sql, 0, NULL);
    if (res == NULL)
        fail_msg("statement failed: %s: %s", sql, th_db_error(db));
    PQclear(res);
}

static char *
s_make_dir(void)
{
    char *dir = strdup("/tmp/th-test-db-XXXXXX");
    assert_non_null(dir);
    assert_non_null(mkdtemp(dir));
    return dir;
}

static void
s_write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    assert_int_equal(fputs(text, file) >= 0, 1);
    assert_int_equal(fclose(file), 0);
}

static void
s_remove_file(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(unlink(path), 0);
}

/* Removes dir and the plain files in it. */
static void
s_remove_dir(char *dir)
{
    DIR *handle = opendir(dir);
    assert_non_null(handle);
    struct dirent *entry;
    while ((entry = readdir(handle)) != NULL)
        if (entry->d_name[0] != '.')
            s_remove_file(dir, entry->d_name);
    closedir(handle);
    assert_int_equal(rmdir(dir), 0);
    free(dir);
}

static void
s_service(const fixture_t *fx, const char *what, char *out, size_t size)
{
    snprintf(out, size, "t%s_%s", fx->suffix, what);
}

static long
s_recorded(th_db_t *db, const char *service)
{
    const char *const params[] = {service};
    return s_count(db, "SELECT count(*) FROM public.teilhabe_migrations WHERE service = $1", 1,
                   params);
}

/* --- setup --------------------------------------------------------------- */

static int
s_group_setup(void **state)
{
    const char *url = th_test_db_url();
    if (url == NULL) {
        fprintf(stderr,
                "TEILHABE_TEST_DB_URL is not set: this test needs a real PostgreSQL 15. "
                "Run it through ops/test, or start one with `ops/pg start var/test-pg 55410` "
                "and export TEILHABE_TEST_DB_URL=\"$(ops/pg url var/test-pg 55410)\"\n");
        return -1;
    }
    fixture_t *fx = calloc(1, sizeof *fx);
    if (fx == NULL)
        return -1;
    snprintf(fx->suffix, sizeof fx->suffix, "%ld_%ld", (long) time(NULL), (long) getpid());
    char errbuf[512];
    fx->db = th_db_new(url, errbuf, sizeof errbuf);
    if (fx->db == NULL) {
        fprintf(stderr, "could not connect to TEILHABE_TEST_DB_URL: %s\n", errbuf);
        free(fx);
        return -1;
    }
    /* The shared tables the audit, idempotency and outbox tests use. */
    int applied = -1;
    if (th_db_migrate(fx->db, "common", TH_COMMON_MIGRATIONS_DIR, &applied, errbuf,
                      sizeof errbuf) != 0) {
        fprintf(stderr, "could not apply the common migrations: %s\n", errbuf);
        th_db_destroy(&fx->db);
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static int
s_group_teardown(void **state)
{
    fixture_t *fx = *state;
    if (fx == NULL)
        return 0;
    /* The audit rows stay (append-only); migration records and schemas of
     * this run go. */
    char pattern[64];
    snprintf(pattern, sizeof pattern, "t%s\\_%%", fx->suffix);
    const char *const params[] = {pattern};
    PGresult *res = th_db_exec(fx->db, "DELETE FROM public.teilhabe_migrations WHERE service LIKE $1",
                               1, params);
    PQclear(res);
    th_db_destroy(&fx->db);
    th_db_destroy(&fx->db); /* twice is allowed and a no-op */
    assert_null(fx->db);
    free(fx);
    return 0;
}

/* --- connection ---------------------------------------------------------- */

static void
test_connect(void **state)
{
    fixture_t *fx = *state;
    char value[64];
    s_scalar(fx->db, "SELECT 1 + 1", 0, NULL, value, sizeof value);
    assert_string_equal(value, "2");
    assert_non_null(th_db_conn(fx->db));
    assert_false(th_db_in_transaction(fx->db));

    /* Parameters travel separately from the SQL text. */
    const char *const params[] = {"it's; DROP TABLE x", NULL};
    s_scalar(fx->db, "SELECT $1::text || coalesce($2::text, '<null>')", 2, params, value,
             sizeof value);
    assert_string_equal(value, "it's; DROP TABLE x<null>");

    char errbuf[256] = "";
    th_db_t *bad = th_db_new("host=127.0.0.1 port=1 user=nobody connect_timeout=2", errbuf,
                             sizeof errbuf);
    assert_null(bad);
    assert_non_null(strstr(errbuf, "could not connect to database"));
    assert_null(strchr(errbuf, '\n'));
}

static void
test_reconnect_after_own_termination(void **state)
{
    fixture_t *fx = *state;
    char before[32];
    char after[32];
    s_scalar(fx->db, "SELECT pg_backend_pid()", 0, NULL, before, sizeof before);

    /* Our own backend killed under us: the statement fails as UNAVAILABLE. */
    PGresult *res = th_db_exec(fx->db, "SELECT pg_terminate_backend(pg_backend_pid())", 0, NULL);
    assert_null(res);
    assert_int_equal(th_db_status(fx->db), TH_UNAVAILABLE);

    /* Between transactions th_db reconnects. */
    assert_int_equal(th_db_begin(fx->db, 5000), 0);
    s_scalar(fx->db, "SELECT pg_backend_pid()", 0, NULL, after, sizeof after);
    assert_int_equal(th_db_commit(fx->db), 0);
    assert_string_not_equal(before, after);
}

static void
test_reconnect_after_termination_by_other(void **state)
{
    fixture_t *fx = *state;
    char pid[32];
    char after[32];
    s_scalar(fx->db, "SELECT pg_backend_pid()", 0, NULL, pid, sizeof pid);

    char errbuf[256];
    th_db_t *other = th_db_new(th_test_db_url(), errbuf, sizeof errbuf);
    assert_non_null(other);
    const char *const params[] = {pid};
    char killed[8];
    s_scalar(other, "SELECT pg_terminate_backend($1::int)", 1, params, killed, sizeof killed);
    assert_string_equal(killed, "t");
    /* Wait (bounded) until the backend is gone, so the test does not race
     * its exit. */
    long alive = 1;
    for (int i = 0; i < 100 && alive > 0; i++) {
        alive = s_count(other, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1::int", 1,
                        params);
        if (alive > 0)
            usleep(50 * 1000);
    }
    assert_int_equal(alive, 0);
    th_db_destroy(&other);

    /* Even a lone statement outside a transaction (which th_db never
     * retries: it might have run) goes to a new connection, because the
     * server's goodbye is read before anything is sent. */
    s_scalar(fx->db, "SELECT pg_backend_pid()", 0, NULL, after, sizeof after);
    assert_string_not_equal(pid, after);
}

static void
test_no_reconnect_inside_transaction(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(th_db_begin(fx->db, 5000), 0);
    assert_null(th_db_exec(fx->db, "SELECT pg_terminate_backend(pg_backend_pid())", 0, NULL));
    assert_int_equal(th_db_status(fx->db), TH_UNAVAILABLE);
    /* The transaction's work is gone: no silent reconnect for the rest. */
    assert_null(th_db_exec(fx->db, "SELECT 1", 0, NULL));
    assert_int_equal(th_db_status(fx->db), TH_UNAVAILABLE);
    assert_null(th_db_conn(fx->db));
    assert_int_equal(th_db_commit(fx->db), TH_EDB);
    assert_int_equal(th_db_status(fx->db), TH_UNAVAILABLE);
    assert_false(th_db_in_transaction(fx->db));
    /* After it, the connection is back. */
    char value[8];
    s_scalar(fx->db, "SELECT 1", 0, NULL, value, sizeof value);
    assert_string_equal(value, "1");
}

/* --- transactions and status --------------------------------------------- */

static void
test_transaction_state(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(th_db_commit(fx->db), TH_ESTATE);
    assert_int_equal(th_db_rollback(fx->db), 0); /* nothing open: nothing to do */
    assert_int_equal(th_db_begin(fx->db, 0), 0);
    assert_true(th_db_in_transaction(fx->db));
    assert_int_equal(th_db_begin(fx->db, 0), TH_ESTATE);
    assert_int_equal(th_db_rollback(fx->db), 0);
    assert_false(th_db_in_transaction(fx->db));
}

static void
test_deadline(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(th_db_begin(fx->db, 100), 0);
    char value[32];
    s_scalar(fx->db, "SHOW statement_timeout", 0, NULL, value, sizeof value);
    assert_string_equal(value, "100ms");
    assert_null(th_db_exec(fx->db, "SELECT pg_sleep(5)", 0, NULL));
    assert_int_equal(th_db_status(fx->db), TH_DEADLINE_EXCEEDED);
    assert_string_equal(th_db_sqlstate(fx->db), "57014");
    assert_int_equal(th_db_rollback(fx->db), 0);
    /* The rollback keeps the error for the handler to report. */
    assert_int_equal(th_db_status(fx->db), TH_DEADLINE_EXCEEDED);

    /* SET LOCAL: the deadline does not outlive its transaction. */
    s_scalar(fx->db, "SHOW statement_timeout", 0, NULL, value, sizeof value);
    assert_string_equal(value, "0");

    /* A deadline that passed already never starts a transaction. */
    assert_int_equal(th_db_begin(fx->db, -1), TH_EDB);
    assert_int_equal(th_db_status(fx->db), TH_DEADLINE_EXCEEDED);
    assert_false(th_db_in_transaction(fx->db));
}

/* Outside a transaction the deadline becomes the session's statement_timeout,
 * set a little below the time left and kept while later calls fit in it. */
static void
test_session_deadline(void **state)
{
    fixture_t *fx = *state;
    char value[32];
    assert_int_equal(th_db_set_statement_timeout(fx->db, 200), 0);
    s_scalar(fx->db, "SHOW statement_timeout", 0, NULL, value, sizeof value);
    assert_string_equal(value, "175ms"); /* 200 less the 25 ms slack */
    assert_null(th_db_exec(fx->db, "SELECT pg_sleep(5)", 0, NULL));
    assert_int_equal(th_db_status(fx->db), TH_DEADLINE_EXCEEDED);

    /* a little less time left: the value stays, no SET is sent */
    uint64_t sent = th_db_statements(fx->db);
    assert_int_equal(th_db_set_statement_timeout(fx->db, 190), 0);
    assert_int_equal(th_db_statements(fx->db), sent);
    s_scalar(fx->db, "SHOW statement_timeout", 0, NULL, value, sizeof value);
    assert_int_equal(th_db_statements(fx->db), sent + 1);
    assert_string_equal(value, "175ms");
    /* much less, or more, than the value: it follows, sent in the round
     * trip of the next statement, not in one of its own */
    sent = th_db_statements(fx->db);
    assert_int_equal(th_db_set_statement_timeout(fx->db, 100), 0);
    assert_int_equal(th_db_statements(fx->db), sent);
    s_scalar(fx->db, "SHOW statement_timeout", 0, NULL, value, sizeof value);
    assert_int_equal(th_db_statements(fx->db), sent + 1);
    assert_string_equal(value, "75ms");
    assert_int_equal(th_db_set_statement_timeout(fx->db, 5000), 0);
    s_scalar(fx->db, "SHOW statement_timeout", 0, NULL, value, sizeof value);
    assert_string_equal(value, "4750ms");

    /* inside a transaction SET LOCAL governs; the session value returns after */
    assert_int_equal(th_db_begin(fx->db, 1000), 0);
    assert_int_equal(th_db_set_statement_timeout(fx->db, 50), 0);
    s_scalar(fx->db, "SHOW statement_timeout", 0, NULL, value, sizeof value);
    assert_string_equal(value, "1s");
    assert_int_equal(th_db_rollback(fx->db), 0);
    s_scalar(fx->db, "SHOW statement_timeout", 0, NULL, value, sizeof value);
    assert_string_equal(value, "4750ms");
}

/* A lower deadline reaches the statement it was sent with: PostgreSQL
 * cancels that very statement at the new value, not at the session's old
 * one. A statement that fails takes the new value back with it (one
 * implicit transaction), and the next statement sends it again. */
static void
test_session_deadline_in_one_round_trip(void **state)
{
    fixture_t *fx = *state;
    char value[32];
    assert_int_equal(th_db_set_statement_timeout(fx->db, 5000), 0);
    s_scalar(fx->db, "SHOW statement_timeout", 0, NULL, value, sizeof value);
    assert_string_equal(value, "4750ms");

    uint64_t sent = th_db_statements(fx->db);
    assert_int_equal(th_db_set_statement_timeout(fx->db, 300), 0);
    int64_t start = zclock_mono();
    assert_null(th_db_exec(fx->db, "SELECT pg_sleep(3)", 0, NULL));
    int64_t elapsed = zclock_mono() - start;
    assert_int_equal(th_db_status(fx->db), TH_DEADLINE_EXCEEDED);
    assert_true(elapsed >= 250 && elapsed < 1500);
    assert_int_equal(th_db_statements(fx->db), sent + 1);

    /* the failure undid the SET; the next statement carries it again */
    s_scalar(fx->db, "SHOW statement_timeout", 0, NULL, value, sizeof value);
    assert_string_equal(value, "275ms");
    assert_int_equal(th_db_statements(fx->db), sent + 2);
    /* and then it stays */
    assert_int_equal(th_db_set_statement_timeout(fx->db, 290), 0);
    s_scalar(fx->db, "SHOW statement_timeout", 0, NULL, value, sizeof value);
    assert_int_equal(th_db_statements(fx->db), sent + 3);
    assert_int_equal(th_db_set_statement_timeout(fx->db, 5000), 0);
    s_scalar(fx->db, "SHOW statement_timeout", 0, NULL, value, sizeof value);
    assert_string_equal(value, "4750ms");
}

/* th_db_exec_stmt prepares a statement on its first run on a connection
 * (in the same round trip) and runs it by name after that; a new
 * connection prepares it again by itself. */
static void
test_prepared_statements(void **state)
{
    fixture_t *fx = *state;
    static const th_db_stmt_t stmt = {"test_db_add", "SELECT $1::int + $2::int", 2};
    static const th_db_stmt_t count = {
        "test_db_prepared", "SELECT count(*) FROM pg_prepared_statements WHERE name = $1", 1};
    const char *const params[] = {"40", "2"};
    const char *const name[] = {"test_db_add"};
    for (int round = 0; round < 2; round++) {
        uint64_t sent = th_db_statements(fx->db);
        PGresult *res = th_db_exec_stmt(fx->db, &stmt, params, NULL, NULL, 0);
        assert_non_null(res);
        assert_string_equal(PQgetvalue(res, 0, 0), "42");
        PQclear(res);
        assert_int_equal(th_db_statements(fx->db), sent + 1);
        res = th_db_exec_stmt(fx->db, &count, name, NULL, NULL, 0);
        assert_non_null(res);
        assert_string_equal(PQgetvalue(res, 0, 0), "1");
        PQclear(res);
        /* inside a transaction too */
        assert_int_equal(th_db_begin(fx->db, 5000), 0);
        res = th_db_exec_stmt(fx->db, &stmt, params, NULL, NULL, 0);
        assert_non_null(res);
        PQclear(res);
        assert_int_equal(th_db_commit(fx->db), 0);
        if (round == 0) {
            /* a new connection: the statement is made again on first use */
            res = th_db_exec(fx->db, "SELECT pg_terminate_backend(pg_backend_pid())", 0, NULL);
            assert_null(res);
        }
    }
    /* a failing run is an error like any other */
    const char *const bad[] = {"x", "2"};
    assert_null(th_db_exec_stmt(fx->db, &stmt, bad, NULL, NULL, 0));
    assert_int_equal(th_db_status(fx->db), TH_INVALID_ARGUMENT);
}

static void
test_status_mapping(void **state)
{
    fixture_t *fx = *state;
    assert_int_equal(th_db_begin(fx->db, 5000), 0);
    s_exec_ok(fx->db, "CREATE TEMP TABLE parent (id int PRIMARY KEY) ON COMMIT DROP");
    s_exec_ok(fx->db, "CREATE TEMP TABLE child (id int PRIMARY KEY REFERENCES parent,"
                      " n int CHECK (n > 0)) ON COMMIT DROP");
    s_exec_ok(fx->db, "INSERT INTO parent VALUES (1)");
    s_exec_ok(fx->db, "SAVEPOINT s");

    struct {
        const char *sql;
        int status;
        const char *sqlstate;
    } cases[] = {
        {"INSERT INTO parent VALUES (1)", TH_ALREADY_EXISTS, "23505"},
        {"INSERT INTO child VALUES (2, 1)", TH_FAILED_PRECONDITION, "23503"},
        {"INSERT INTO child VALUES (1, 0)", TH_FAILED_PRECONDITION, "23514"},
        {"SELECT 'x'::int", TH_INVALID_ARGUMENT, "22P02"},
        {"SELECT 1 / 0", TH_INVALID_ARGUMENT, "22012"},
        {"SELECT * FROM no_such_table", TH_INTERNAL, "42P01"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_null(th_db_exec(fx->db, cases[i].sql, 0, NULL));
        assert_int_equal(th_db_status(fx->db), cases[i].status);
        assert_string_equal(th_db_sqlstate(fx->db), cases[i].sqlstate);
        assert_true(strlen(th_db_error(fx->db)) > 0);
        s_exec_ok(fx->db, "ROLLBACK TO SAVEPOINT s");
        /* A successful statement clears the record. */
        assert_int_equal(th_db_status(fx->db), TH_OK);
        assert_string_equal(th_db_sqlstate(fx->db), "");
    }

    /* Commit after a failed statement rolls back and reports that failure. */
    assert_null(th_db_exec(fx->db, "INSERT INTO parent VALUES (1)", 0, NULL));
    assert_int_equal(th_db_commit(fx->db), TH_EDB);
    assert_int_equal(th_db_status(fx->db), TH_ALREADY_EXISTS);
    assert_false(th_db_in_transaction(fx->db));
}

static void
test_binary_parameters(void **state)
{
    fixture_t *fx = *state;
    const uint8_t bytes[] = {0x00, 0xff, 0x10, 0x00, 0x7f};
    const char *const values[] = {(const char *) bytes};
    const int lengths[] = {(int) sizeof bytes};
    const int formats[] = {1};
    PGresult *res = th_db_exec_bin(fx->db, "SELECT $1::bytea, length($1::bytea)", 1, values,
                                   lengths, formats, 1);
    assert_non_null(res);
    assert_int_equal(PQgetlength(res, 0, 0), sizeof bytes);
    assert_memory_equal(PQgetvalue(res, 0, 0), bytes, sizeof bytes);
    PQclear(res);
}

/* --- migrations ---------------------------------------------------------- */

static void
test_migrate_common_dir(void **state)
{
    fixture_t *fx = *state;
    char service[96];
    s_service(fx, "common", service, sizeof service);
    char errbuf[512] = "";
    int applied = -1;
    /* Under a fresh service name the common files apply again: their SQL
     * must be idempotent. */
    assert_int_equal(th_db_migrate(fx->db, service, TH_COMMON_MIGRATIONS_DIR, &applied, errbuf,
                                   sizeof errbuf),
                     0);
    assert_true(applied >= 1);
    const long recorded = s_recorded(fx->db, service);
    assert_int_equal(recorded, applied);
    assert_int_equal(th_db_migrate(fx->db, service, TH_COMMON_MIGRATIONS_DIR, &applied, errbuf,
                                   sizeof errbuf),
                     0);
    assert_int_equal(applied, 0);
    assert_int_equal(s_recorded(fx->db, service), recorded);
    assert_int_equal(s_count(fx->db,
                             "SELECT count(*) FROM information_schema.tables"
                             " WHERE table_schema = 'audit' AND table_name IN ('log', 'idempotency')",
                             0, NULL),
                     2);
}

static void
test_migrate_applies_once(void **state)
{
    fixture_t *fx = *state;
    char service[96];
    char sql[512];
    s_service(fx, "once", service, sizeof service);
    char *dir = s_make_dir();
    snprintf(sql, sizeof sql, "CREATE SCHEMA %s;\nCREATE TABLE %s.t (n int);\n", service,
             service);
    s_write_file(dir, "0001_schema.sql", sql);
    snprintf(sql, sizeof sql, "-- one row\nINSERT INTO %s.t VALUES (1);\n", service);
    s_write_file(dir, "0002_row.sql", sql);
    s_write_file(dir, "README", "not a migration\n");
    s_write_file(dir, "0003_draft.sql~", "editor backup, ignored\n");

    char errbuf[512] = "";
    int applied = -1;
    assert_int_equal(th_db_migrate(fx->db, service, dir, &applied, errbuf, sizeof errbuf), 0);
    assert_int_equal(applied, 2);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s.t", service);
    assert_int_equal(s_count(fx->db, sql, 0, NULL), 1);
    const char *const params[] = {service};
    char names[64];
    s_scalar(fx->db,
             "SELECT string_agg(version || ':' || name, ',' ORDER BY version)"
             " FROM public.teilhabe_migrations WHERE service = $1",
             1, params, names, sizeof names);
    assert_string_equal(names, "1:schema,2:row");

    /* A second run applies nothing and changes nothing. */
    assert_int_equal(th_db_migrate(fx->db, service, dir, &applied, errbuf, sizeof errbuf), 0);
    assert_int_equal(applied, 0);
    assert_int_equal(s_count(fx->db, sql, 0, NULL), 1);
    assert_int_equal(s_recorded(fx->db, service), 2);

    /* A new file applies alone. */
    char extra[256];
    snprintf(extra, sizeof extra, "INSERT INTO %s.t VALUES (3);", service);
    s_write_file(dir, "0003_more.sql", extra);
    assert_int_equal(th_db_migrate(fx->db, service, dir, &applied, errbuf, sizeof errbuf), 0);
    assert_int_equal(applied, 1);
    assert_int_equal(s_count(fx->db, sql, 0, NULL), 2);

    snprintf(sql, sizeof sql, "DROP SCHEMA %s CASCADE", service);
    s_exec_ok(fx->db, sql);
    s_remove_dir(dir);
}

static void
test_migrate_refuses_newer_database(void **state)
{
    fixture_t *fx = *state;
    char service[96];
    s_service(fx, "newer", service, sizeof service);
    char *dir = s_make_dir();
    s_write_file(dir, "0001_first.sql", "SELECT 1;\n");
    char errbuf[512] = "";
    int applied = -1;
    assert_int_equal(th_db_migrate(fx->db, service, dir, &applied, errbuf, sizeof errbuf), 0);
    assert_int_equal(applied, 1);

    /* A newer program has been here. */
    const char *const params[] = {service};
    PGresult *res = th_db_exec(fx->db,
                               "INSERT INTO public.teilhabe_migrations (service, version, name)"
                               " VALUES ($1, 7, 'future')",
                               1, params);
    assert_non_null(res);
    PQclear(res);
    s_write_file(dir, "0002_second.sql", "SELECT 2;\n");
    applied = -1;
    assert_int_equal(th_db_migrate(fx->db, service, dir, &applied, errbuf, sizeof errbuf),
                     TH_ESTATE);
    assert_int_equal(applied, 0);
    assert_non_null(strstr(errbuf, "newer than the newest migration"));
    assert_non_null(strstr(errbuf, service));
    assert_int_equal(s_recorded(fx->db, service), 2); /* 0002 was not applied */
    assert_false(th_db_in_transaction(fx->db));
    s_remove_dir(dir);
}

static void
test_migrate_rejects_bad_files(void **state)
{
    fixture_t *fx = *state;
    char service[96];
    s_service(fx, "bad", service, sizeof service);
    char errbuf[512] = "";
    int applied = -1;

    const char *const bad_names[] = {"1_short.sql", "0001-dash.sql", "0000_zero.sql",
                                     "0001_Upper.sql", "0001_.sql", "00001_five.sql"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        char *dir = s_make_dir();
        s_write_file(dir, bad_names[i], "SELECT 1;\n");
        errbuf[0] = '\0';
        assert_int_equal(th_db_migrate(fx->db, service, dir, &applied, errbuf, sizeof errbuf),
                         TH_EINVAL);
        assert_non_null(strstr(errbuf, "invalid migration file name"));
        assert_non_null(strstr(errbuf, bad_names[i]));
        s_remove_dir(dir);
    }

    char *dir = s_make_dir();
    s_write_file(dir, "0001_a.sql", "SELECT 1;\n");
    s_write_file(dir, "0001_b.sql", "SELECT 1;\n");
    assert_int_equal(th_db_migrate(fx->db, service, dir, &applied, errbuf, sizeof errbuf),
                     TH_EINVAL);
    assert_non_null(strstr(errbuf, "duplicate migration version 0001"));
    s_remove_dir(dir);

    assert_int_equal(th_db_migrate(fx->db, "Bad-Name", TH_COMMON_MIGRATIONS_DIR, &applied,
                                   errbuf, sizeof errbuf),
                     TH_EINVAL);
    assert_int_equal(th_db_migrate(fx->db, service, "/nonexistent/th-migrations", &applied,
                                   errbuf, sizeof errbuf),
                     TH_EIO);
    assert_non_null(strstr(errbuf, "could not open migrations directory"));
    assert_int_equal(s_recorded(fx->db, service), 0);
}

static void
test_migrate_failure_is_atomic(void **state)
{
    fixture_t *fx = *state;
    char service[96];
    char sql[512];
    s_service(fx, "atomic", service, sizeof service);
    char *dir = s_make_dir();
    snprintf(sql, sizeof sql, "CREATE SCHEMA %s;", service);
    s_write_file(dir, "0001_ok.sql", sql);
    snprintf(sql, sizeof sql, "CREATE TABLE %s.half (n int);\nSELECT no_such_function();\n",
             service);
    s_write_file(dir, "0002_broken.sql", sql);
    s_write_file(dir, "0003_later.sql", "SELECT 3;\n");
    char errbuf[512] = "";
    int applied = -1;
    assert_int_equal(th_db_migrate(fx->db, service, dir, &applied, errbuf, sizeof errbuf),
                     TH_EDB);
    assert_int_equal(applied, 1);
    assert_non_null(strstr(errbuf, "could not apply migration"));
    assert_non_null(strstr(errbuf, "0002_broken.sql"));
    assert_int_equal(s_recorded(fx->db, service), 1);
    /* Nothing of the broken file stayed. */
    const char *const params[] = {service};
    assert_int_equal(s_count(fx->db,
                             "SELECT count(*) FROM information_schema.tables"
                             " WHERE table_schema = $1 AND table_name = 'half'",
                             1, params),
                     0);

    /* A file that commits by itself would break that promise: refused. */
    s_remove_file(dir, "0002_broken.sql");
    s_write_file(dir, "0002_commits.sql", "SELECT 1; COMMIT;");
    assert_int_equal(th_db_migrate(fx->db, service, dir, &applied, errbuf, sizeof errbuf),
                     TH_EINVAL);
    assert_non_null(strstr(errbuf, "must not contain COMMIT"));
    assert_int_equal(s_recorded(fx->db, service), 1);

    snprintf(sql, sizeof sql, "DROP SCHEMA %s CASCADE", service);
    s_exec_ok(fx->db, sql);
    s_remove_dir(dir);
}

typedef struct {
    const char *service;
    const char *dir;
    int rc;
    int applied;
    char errbuf[256];
} migrator_t;

static void *
s_migrator(void *arg)
{
    migrator_t *m = arg;
    m->rc = TH_EDB;
    th_db_t *db = th_db_new(th_test_db_url(), m->errbuf, sizeof m->errbuf);
    if (db == NULL)
        return NULL;
    m->rc = th_db_migrate(db, m->service, m->dir, &m->applied, m->errbuf, sizeof m->errbuf);
    th_db_destroy(&db);
    return NULL;
}

static void
test_migrate_concurrent_starters(void **state)
{
    fixture_t *fx = *state;
    char service[96];
    char sql[512];
    s_service(fx, "race", service, sizeof service);
    char *dir = s_make_dir();
    /* Each file fails if it runs twice, and the second starter would also
     * collide on the migrations table's primary key without the lock. */
    snprintf(sql, sizeof sql, "CREATE SCHEMA %s; CREATE TABLE %s.a (n int);", service, service);
    s_write_file(dir, "0001_a.sql", sql);
    snprintf(sql, sizeof sql, "CREATE TABLE %s.b (n int); SELECT pg_sleep(0.05);", service);
    s_write_file(dir, "0002_b.sql", sql);
    snprintf(sql, sizeof sql, "CREATE TABLE %s.c (n int);", service);
    s_write_file(dir, "0003_c.sql", sql);

    migrator_t m[3];
    pthread_t threads[3];
    for (int i = 0; i < 3; i++) {
        m[i] = (migrator_t){.service = service, .dir = dir, .rc = -100, .applied = -1};
        assert_int_equal(pthread_create(&threads[i], NULL, s_migrator, &m[i]), 0);
    }
    int total = 0;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
        if (m[i].rc != 0)
            fail_msg("concurrent migrator %d failed: %s", i, m[i].errbuf);
        total += m[i].applied;
    }
    assert_int_equal(total, 3);
    assert_int_equal(s_recorded(fx->db, service), 3);

    snprintf(sql, sizeof sql, "DROP SCHEMA %s CASCADE", service);
    s_exec_ok(fx->db, sql);
    s_remove_dir(dir);
}

/* --- audit --------------------------------------------------------------- */

static long
s_audit_rows(th_db_t *db, const char *resource)
{
    const char *const params[] = {resource};
    return s_count(db, "SELECT count(*) FROM audit.log WHERE resource = $1", 1, params);
}

static void
test_audit_follows_transaction(void **state)
{
    fixture_t *fx = *state;
    char resource[96];
    snprintf(resource, sizeof resource, "districts/%s", fx->suffix);
    th_audit_entry_t entry = {
        .principal_id = "mgr-16056",
        .principal_role = "manager",
        .call_id = UINT64_MAX,
        .method = "teilhabe.registry.v1.Registry/UpdateDistrict",
        .resource = resource,
        .before_json = "{\"name\": \"Eisenach\"}",
        .after_json = NULL,
    };
    assert_int_equal(th_db_audit(fx->db, &entry), TH_ESTATE);

    assert_int_equal(th_db_begin(fx->db, 5000), 0);
    assert_int_equal(th_db_audit(fx->db, &entry), 0);
    assert_int_equal(th_db_rollback(fx->db), 0);
    assert_int_equal(s_audit_rows(fx->db, resource), 0);

    assert_int_equal(th_db_begin(fx->db, 5000), 0);
    assert_int_equal(th_db_audit(fx->db, &entry), 0);
    assert_int_equal(th_db_commit(fx->db), 0);
    assert_int_equal(s_audit_rows(fx->db, resource), 1);

    const char *const params[] = {resource};
    PGresult *res = th_db_exec(fx->db,
                               "SELECT principal_id, principal_role, call_id::text, method,"
                               " before->>'name', after IS NULL FROM audit.log WHERE resource = $1",
                               1, params);
    assert_non_null(res);
    assert_string_equal(PQgetvalue(res, 0, 0), "mgr-16056");
    assert_string_equal(PQgetvalue(res, 0, 1), "manager");
    assert_string_equal(PQgetvalue(res, 0, 2), "18446744073709551615");
    assert_string_equal(PQgetvalue(res, 0, 3), entry.method);
    assert_string_equal(PQgetvalue(res, 0, 4), "Eisenach");
    assert_string_equal(PQgetvalue(res, 0, 5), "t");
    PQclear(res);

    /* Bad JSON is the caller's input error. */
    entry.after_json = "{not json";
    assert_int_equal(th_db_begin(fx->db, 5000), 0);
    assert_int_equal(th_db_audit(fx->db, &entry), TH_EDB);
    assert_int_equal(th_db_status(fx->db), TH_INVALID_ARGUMENT);
    assert_int_equal(th_db_rollback(fx->db), 0);
}

static void
test_audit_is_append_only(void **state)
{
    fixture_t *fx = *state;
    char resource[96];
    snprintf(resource, sizeof resource, "measures/%s", fx->suffix);
    const th_audit_entry_t entry = {.principal_id = "admin", .principal_role = "admin",
                                    .call_id = 1, .method = "m", .resource = resource,
                                    .after_json = "{}"};
    assert_int_equal(th_db_begin(fx->db, 5000), 0);
    assert_int_equal(th_db_audit(fx->db, &entry), 0);
    assert_int_equal(th_db_commit(fx->db), 0);

    const char *const params[] = {resource};
    const char *const changes[] = {
        "UPDATE audit.log SET method = 'forged' WHERE resource = $1",
        "DELETE FROM audit.log WHERE resource = $1",
    };
    for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++) {
        assert_null(th_db_exec(fx->db, changes[i], 1, params));
        assert_non_null(strstr(th_db_error(fx->db), "append-only"));
    }
    /* TRUNCATE inside a transaction, so a broken trigger could not wipe the
     * trail of this database. */
    assert_int_equal(th_db_begin(fx->db, 5000), 0);
    assert_null(th_db_exec(fx->db, "TRUNCATE audit.log", 0, NULL));
    assert_non_null(strstr(th_db_error(fx->db), "append-only"));
    assert_int_equal(th_db_rollback(fx->db), 0);

    assert_int_equal(s_audit_rows(fx->db, resource), 1);
    char method[16];
    s_scalar(fx->db, "SELECT method FROM audit.log WHERE resource = $1", 1, params, method,
             sizeof method);
    assert_string_equal(method, "m");
}

/* --- idempotency --------------------------------------------------------- */

static void
test_idempotency(void **state)
{
    fixture_t *fx = *state;
    char key[96];
    snprintf(key, sizeof key, "key-%s", fx->suffix);
    const char *principal = "mgr-16063";
    const char *method = "teilhabe.measures.v1.Measures/CreateMeasure";
    const uint8_t packed[] = {0x0a, 0x00, 0x03, 0xff, 0x00};
    bool found = true;
    uint8_t *reply = NULL;
    size_t reply_len = 99;

    /* The lock is transaction-scoped: no transaction, no lookup. */
    assert_int_equal(th_db_idem_lookup(fx->db, principal, key, method, "h1", &found, &reply,
                                       &reply_len),
                     TH_ESTATE);
    assert_int_equal(th_db_idem_store(fx->db, principal, key, method, "h1", packed,
                                      sizeof packed),
                     TH_ESTATE);

    assert_int_equal(th_db_begin(fx->db, 5000), 0);
    assert_int_equal(th_db_idem_lookup(fx->db, principal, key, method, "h1", &found, &reply,
                                       &reply_len),
                     0);
    assert_false(found);
    assert_null(reply);
    assert_int_equal(reply_len, 0);
    assert_int_equal(th_db_idem_store(fx->db, principal, key, method, "h1", packed,
                                      sizeof packed),
                     0);
    assert_int_equal(th_db_commit(fx->db), 0);

    /* The retry gets the first reply, byte for byte. */
    assert_int_equal(th_db_begin(fx->db, 5000), 0);
    assert_int_equal(th_db_idem_lookup(fx->db, principal, key, method, "h1", &found, &reply,
                                       &reply_len),
                     0);
    assert_true(found);
    assert_int_equal(reply_len, sizeof packed);
    assert_memory_equal(reply, packed, sizeof packed);
    free(reply);
    reply = NULL;
    /* Storing twice is a conflict. */
    assert_int_equal(th_db_idem_store(fx->db, principal, key, method, "h1", packed,
                                      sizeof packed),
                     TH_EDB);
    assert_int_equal(th_db_status(fx->db), TH_ALREADY_EXISTS);
    assert_int_equal(th_db_rollback(fx->db), 0);

    /* The same key for another request or method is the client's error. */
    assert_int_equal(th_db_begin(fx->db, 5000), 0);
    assert_int_equal(th_db_idem_lookup(fx->db, principal, key, method, "h2", &found, &reply,
                                       &reply_len),
                     TH_EINVAL);
    assert_int_equal(th_db_status(fx->db), TH_INVALID_ARGUMENT);
    assert_false(found);
    assert_null(reply);
    assert_int_equal(th_db_idem_lookup(fx->db, principal, key,
                                       "teilhabe.measures.v1.Measures/DeleteMeasure", "h1",
                                       &found, &reply, &reply_len),
                     TH_EINVAL);
    assert_false(found);
    /* Keys belong to their principal. */
    assert_int_equal(th_db_idem_lookup(fx->db, "someone-else", key, method, "h2", &found, &reply,
                                       &reply_len),
                     0);
    assert_false(found);
    /* An empty reply round-trips as empty, not as "missing". */
    assert_int_equal(th_db_idem_store(fx->db, "someone-else", key, method, "h2", NULL, 0), 0);
    assert_int_equal(th_db_idem_lookup(fx->db, "someone-else", key, method, "h2", &found,
                                       &reply, &reply_len),
                     0);
    assert_true(found);
    assert_int_equal(reply_len, 0);
    assert_non_null(reply);
    free(reply);
    assert_int_equal(th_db_rollback(fx->db), 0);
}

/* A write's start, its audit row and event, and its end with the reply
 * stored: one round trip each, whatever the handler does in between. */
static void
test_write_round_trips(void **state)
{
    fixture_t *fx = *state;
    char key[96], resource[96];
    snprintf(key, sizeof key, "rt-%s", fx->suffix);
    snprintf(resource, sizeof resource, "rt/%s", fx->suffix);
    const th_db_idem_t idem = {"mgr-16068", key, "teilhabe.registry.v1.Registry/SetConcept",
                               "h1"};
    const th_audit_entry_t entry = {.principal_id = "mgr-16068", .principal_role = "manager",
                                    .call_id = 7, .method = idem.method, .resource = resource,
                                    .after_json = "{\"n\": 1}"};
    const uint8_t packed[] = {0x08, 0x01};
    bool found = true;
    uint8_t *reply = NULL;
    size_t reply_len = 9;

    uint64_t sent = th_db_statements(fx->db);
    assert_int_equal(th_db_write_begin(fx->db, 5000, &idem, &found, &reply, &reply_len), 0);
    assert_int_equal(th_db_statements(fx->db), sent + 1);
    assert_true(th_db_in_transaction(fx->db));
    assert_false(found);
    char value[32];
    s_scalar(fx->db, "SHOW statement_timeout", 0, NULL, value, sizeof value);
    assert_string_equal(value, "5s");
    sent = th_db_statements(fx->db);
    assert_int_equal(th_db_write_record(fx->db, &entry, NULL, NULL, NULL, NULL, 0, NULL), 0);
    assert_int_equal(th_db_statements(fx->db), sent + 1);
    sent = th_db_statements(fx->db);
    assert_int_equal(th_db_write_commit(fx->db, &idem, packed, sizeof packed), 0);
    assert_int_equal(th_db_statements(fx->db), sent + 1);
    assert_false(th_db_in_transaction(fx->db));
    assert_int_equal(s_audit_rows(fx->db, resource), 1);

    /* the retry finds the reply in the same first round trip */
    assert_int_equal(th_db_write_begin(fx->db, 5000, &idem, &found, &reply, &reply_len), 0);
    assert_true(found);
    assert_int_equal(reply_len, sizeof packed);
    assert_memory_equal(reply, packed, sizeof packed);
    free(reply);
    reply = NULL;
    assert_int_equal(th_db_rollback(fx->db), 0);

    /* another request under the key: refused, the transaction left open
     * for the caller to roll back */
    const th_db_idem_t other = {idem.principal_id, key, idem.method, "h2"};
    assert_int_equal(th_db_write_begin(fx->db, 5000, &other, &found, &reply, &reply_len),
                     TH_EINVAL);
    assert_int_equal(th_db_status(fx->db), TH_INVALID_ARGUMENT);
    assert_false(found);
    assert_int_equal(th_db_rollback(fx->db), 0);
    assert_false(th_db_in_transaction(fx->db));

    /* storing the key twice fails the commit, and nothing stays open */
    assert_int_equal(th_db_write_begin(fx->db, 5000, NULL, NULL, NULL, NULL), 0);
    assert_int_equal(th_db_write_record(fx->db, &entry, NULL, NULL, NULL, NULL, 0, NULL), 0);
    assert_int_equal(th_db_write_commit(fx->db, &idem, packed, sizeof packed), TH_EDB);
    assert_int_equal(th_db_status(fx->db), TH_ALREADY_EXISTS);
    assert_false(th_db_in_transaction(fx->db));
    assert_int_equal(s_audit_rows(fx->db, resource), 1);
    /* and the connection serves on */
    s_scalar(fx->db, "SELECT 1", 0, NULL, value, sizeof value);

    /* a deadline that passed never begins */
    assert_int_equal(th_db_write_begin(fx->db, -1, NULL, NULL, NULL, NULL), TH_EDB);
    assert_int_equal(th_db_status(fx->db), TH_DEADLINE_EXCEEDED);
    assert_false(th_db_in_transaction(fx->db));
}

/* --- outbox -------------------------------------------------------------- */

static void
test_outbox(void **state)
{
    fixture_t *fx = *state;
    char service[96];
    char schema[128];
    char sql[1024];
    s_service(fx, "outbox", service, sizeof service);
    /* A schema name that needs quoting proves the escaping. */
    snprintf(schema, sizeof schema, "Out\"box_%s", fx->suffix);
    char *dir = s_make_dir();
    snprintf(sql, sizeof sql,
             "CREATE SCHEMA \"Out\"\"box_%s\";\n"
             "CREATE TABLE \"Out\"\"box_%s\".events (\n"
             "  sequence bigserial PRIMARY KEY, topic text NOT NULL, resource text NOT NULL,\n"
             "  payload bytea NOT NULL, created_at timestamptz DEFAULT now());\n",
             fx->suffix, fx->suffix);
    s_write_file(dir, "0001_events.sql", sql);
    char errbuf[512] = "";
    int applied = -1;
    assert_int_equal(th_db_migrate(fx->db, service, dir, &applied, errbuf, sizeof errbuf), 0);
    assert_int_equal(applied, 1);

    const uint8_t payload[] = {0x08, 0x00, 0x96, 0x01};
    int64_t sequence = -1;
    assert_int_equal(th_db_outbox_append(fx->db, schema, "district.changed", "districts/16056",
                                         payload, sizeof payload, &sequence),
                     TH_ESTATE);

    assert_int_equal(th_db_begin(fx->db, 5000), 0);
    int64_t previous = 0;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(th_db_outbox_append(fx->db, schema, "district.changed",
                                             "districts/16056", payload, sizeof payload,
                                             &sequence),
                         0);
        assert_true(sequence > previous);
        previous = sequence;
    }
    assert_int_equal(th_db_outbox_append(fx->db, schema, "empty", "x", NULL, 0, NULL), 0);
    assert_int_equal(th_db_commit(fx->db), 0);

    snprintf(sql, sizeof sql,
             "SELECT payload FROM \"Out\"\"box_%s\".events WHERE topic = 'district.changed'"
             " ORDER BY sequence",
             fx->suffix);
    PGresult *res = th_db_exec_bin(fx->db, sql, 0, NULL, NULL, NULL, 1);
    assert_non_null(res);
    assert_int_equal(PQntuples(res), 3);
    assert_int_equal(PQgetlength(res, 2, 0), sizeof payload);
    assert_memory_equal(PQgetvalue(res, 2, 0), payload, sizeof payload);
    PQclear(res);

    /* A schema without an events table is an error, not a crash. */
    assert_int_equal(th_db_begin(fx->db, 5000), 0);
    assert_int_equal(th_db_outbox_append(fx->db, "no_such_schema", "t", "r", payload,
                                         sizeof payload, &sequence),
                     TH_EDB);
    assert_string_equal(th_db_sqlstate(fx->db), "42P01");
    assert_int_equal(th_db_rollback(fx->db), 0);

    snprintf(sql, sizeof sql, "DROP SCHEMA \"Out\"\"box_%s\" CASCADE", fx->suffix);
    s_exec_ok(fx->db, sql);
    s_remove_dir(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect),
        cmocka_unit_test(test_transaction_state),
        cmocka_unit_test(test_deadline),
        cmocka_unit_test(test_session_deadline),
        cmocka_unit_test(test_session_deadline_in_one_round_trip),
        cmocka_unit_test(test_prepared_statements),
        cmocka_unit_test(test_status_mapping),
        cmocka_unit_test(test_binary_parameters),
        cmocka_unit_test(test_migrate_common_dir),
        cmocka_unit_test(test_migrate_applies_once),
        cmocka_unit_test(test_migrate_refuses_newer_database),
        cmocka_unit_test(test_migrate_rejects_bad_files),
        cmocka_unit_test(test_migrate_failure_is_atomic),
        cmocka_unit_test(test_migrate_concurrent_starters),
        cmocka_unit_test(test_audit_follows_transaction),
        cmocka_unit_test(test_audit_is_append_only),
        cmocka_unit_test(test_idempotency),
        cmocka_unit_test(test_write_round_trips),
        cmocka_unit_test(test_outbox),
        cmocka_unit_test(test_reconnect_after_own_termination),
        cmocka_unit_test(test_reconnect_after_termination_by_other),
        cmocka_unit_test(test_no_reconnect_inside_transaction),
    };
    return cmocka_run_group_tests(tests, s_group_setup, s_group_teardown);
}
