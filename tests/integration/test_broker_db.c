/* ---------------------------------------------------------------------------
 * test_broker_db.c: principals from registry.principals (PostgreSQL)
 *
 * The table here is made by the test, without the registry's trigger that
 * announces its changes (migration 0005), so the broker reads it every 2 s,
 * as it does against a registry without that migration (the registry's own
 * tests cover the announced changes). This test makes its own
 * database (so the registry's real migrations elsewhere are not disturbed),
 * starts the broker before the table exists, creates it, and checks that a
 * key from the table is admitted with its row's attributes, that revoking
 * the row refuses the open connection, and that the broker keeps the last
 * known principals while the database is gone. Needs TEILHABE_TEST_DB_URL in
 * keyword form ("host=... port=... user=... dbname=..."); the broker reads
 * as teilhabe_broker, granted what the registry's migrations grant it.
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_broker_peers.h"

#include <libpq-fe.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* The last lines of a log, on stderr: what a process said before a
 * failure the test saw (an ASan report, an error line). */
static void
s_print_file_tail(const char *path, int lines)
{
    FILE *in = fopen(path, "r");
    if (in == NULL)
        return;
    char ring[64][1024];
    int n = 0;
    while (fgets(ring[n % 64], sizeof ring[0], in) != NULL)
        n++;
    fclose(in);
    const int first = n > lines ? n - lines : 0;
    for (int k = first < n - 64 ? n - 64 : first; k < n; k++)
        fprintf(stderr, "%s: %s", path, ring[k % 64]);
}

static const int s_serving =
    TEILHABE__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;

static void
s_exec(PGconn *conn, const char *sql, const char *const *params, int n_params)
{
    PGresult *res = PQexecParams(conn, sql, n_params, NULL, params, NULL, NULL, 0);
    ExecStatusType status = PQresultStatus(res);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
        fail_msg("SQL failed: %s: %s", sql, PQerrorMessage(conn));
    PQclear(res);
}

static char *
s_public_key(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/private/%s.cert_secret", dir, name);
    zcert_t *cert = zcert_load(path);
    assert_non_null(cert);
    char *key = strdup(zcert_public_txt(cert));
    zcert_destroy(&cert);
    /* Only the database may know this principal. */
    snprintf(path, sizeof path, "%s/public/%s.cert", dir, name);
    unlink(path);
    return key;
}

/* Health of the broker's own service over a fresh connection with name's
 * key, retried until want or timeout_ms. The last status seen. */
static int
s_wait_health(const char *endpoint, const char *dir, const char *name, int want,
              int timeout_ms)
{
    int status = -2;
    int64_t until = zclock_mono() + timeout_ms;
    for (uint64_t id = 1; zclock_mono() < until; id++) {
        zsock_t *client = peer_connect(endpoint, dir, name, NULL);
        assert_non_null(client);
        status = client_health(client, id, "teilhabe.health.v1.Health", 600);
        zsock_destroy(&client);
        if (status == want)
            break;
    }
    return status;
}

/* How often needle occurs in the file at path (0 when unreadable). */
static int
s_count_in_file(const char *path, const char *needle)
{
    FILE *file = fopen(path, "r");
    if (file == NULL)
        return 0;
    int count = 0;
    char line[8192];
    while (fgets(line, sizeof line, file) != NULL)
        if (strstr(line, needle) != NULL)
            count++;
    fclose(file);
    return count;
}

/* The ids of registry.principals in the order PostgreSQL returns them
 * without ORDER BY (physical order), comma-separated; caller frees. */
static char *
s_physical_order(PGconn *conn)
{
    PGresult *res = PQexec(conn, "SELECT string_agg(id, ',') FROM "
                                 "(SELECT id FROM registry.principals) AS t");
    char *ids = NULL;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        ids = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return ids;
}

/* The broker runs as its own role, teilhabe_broker, as in production: the
 * conninfo of TEILHABE_TEST_DB_URL for that role and database dbname. */
static void
s_broker_url(const char *dbname, char *out, size_t outlen)
{
    char *as_broker = th_test_db_url_as("teilhabe_broker");
    assert_non_null(as_broker);
    assert_int_equal(th_test_conninfo_set(as_broker, "dbname", dbname, out, outlen), 0);
    free(as_broker);
}

/* What the registry's migration 0002 grants the broker, for the table this
 * test makes itself. */
static void
s_grant_broker(PGconn *conn)
{
    s_exec(conn, "GRANT USAGE ON SCHEMA registry TO teilhabe_broker", NULL, 0);
    s_exec(conn, "GRANT SELECT ON registry.principals TO teilhabe_broker", NULL, 0);
}

/* Everything the test creates, so that the teardown cleans up even when an
 * assertion failed half-way. */
typedef struct {
    PGconn *admin;
    PGconn *conn;
    char dbname[64];
    char *dir;
    char *dbuser_key;
    char *keeper_key;
    char *third_key;
    PGconn *locker;
    th_test_broker_t broker;
} fixture_t;

static int
s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    if (fx == NULL)
        return -1;
    snprintf(fx->dbname, sizeof fx->dbname, "th_broker_test_%d", (int) getpid());
    *state = fx;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *fx = *state;
    th_proc_stop(&fx->broker.proc, SIGKILL, 2000);
    PQfinish(fx->locker);
    PQfinish(fx->conn);
    if (fx->admin != NULL && PQstatus(fx->admin) == CONNECTION_OK) {
        char sql[128];
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", fx->dbname);
        PQclear(PQexec(fx->admin, sql));
    }
    PQfinish(fx->admin);
    if (getenv("TH_TEST_KEEP") == NULL)
        th_test_rmtree(fx->dir);
    free(fx->dir);
    free(fx->dbuser_key);
    free(fx->keeper_key);
    free(fx->third_key);
    free(fx);
    return 0;
}

static void
test_principals_from_database(void **state)
{
    fixture_t *fx = *state;
    const char *url = th_test_require_db_url();
    if (strncmp(url, "postgres", 8) == 0)
        fail_msg("TEILHABE_TEST_DB_URL must be in keyword form (host=... dbname=...) for "
                 "this test: it appends its own dbname");
    const char *dbname = fx->dbname;
    fx->admin = PQconnectdb(url);
    PGconn *admin = fx->admin;
    assert_int_equal(PQstatus(admin), CONNECTION_OK);
    char sql[256];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", dbname);
    s_exec(admin, sql, NULL, 0);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", dbname);
    s_exec(admin, sql, NULL, 0);
    char db_url[1024], broker_url[1024];
    snprintf(db_url, sizeof db_url, "%s dbname=%s", url, dbname);
    s_broker_url(dbname, broker_url, sizeof broker_url);

    fx->dir = th_test_tmpdir("th-broker-db");
    const char *dir = fx->dir;
    assert_non_null(dir);
    assert_int_equal(th_test_keys_init(dir), 0);
    assert_int_equal(th_test_keys_client(dir, "dbuser", "manager", "", ""), 0);
    assert_int_equal(th_test_keys_client(dir, "keeper", "analyst", "", ""), 0);
    assert_int_equal(th_test_keys_worker(dir, "dbworker", ECHO_SERVICE), 0);
    fx->dbuser_key = s_public_key(dir, "dbuser");
    fx->keeper_key = s_public_key(dir, "keeper");
    const char *dbuser_key = fx->dbuser_key;
    const char *keeper_key = fx->keeper_key;

    th_test_broker_t *broker = &fx->broker;
    th_test_broker_opts_t opts = {.keys_dir = dir, .db_url = broker_url};
    assert_int_equal(th_test_broker_start(&opts, dir, broker), 0);
    /* No table yet: nobody from the database gets in. */
    assert_int_equal(s_wait_health(broker->frontend, dir, "dbuser", s_serving, 1000), -1);

    fx->conn = PQconnectdb(db_url);
    PGconn *conn = fx->conn;
    assert_int_equal(PQstatus(conn), CONNECTION_OK);
    s_exec(conn, "CREATE SCHEMA registry", NULL, 0);
    s_exec(
        conn,
        "CREATE TABLE registry.principals (id text PRIMARY KEY, "
        "name text NOT NULL, role text NOT NULL, state_scope text, district_scope text[], "
        "public_key text NOT NULL, revoked_at timestamptz)",
        NULL, 0);
    s_grant_broker(conn);
    const char *row1[] = {"db-1",          "Integrationsmanagerin Gotha",
                          "manager",       "16",
                          "{16067,16068}", dbuser_key};
    s_exec(conn,
           "INSERT INTO registry.principals (id, name, role, state_scope, district_scope, "
           "public_key) VALUES ($1, $2, $3, $4, $5, $6)",
           row1, 6);
    const char *row2[] = {"db-2", "Analyst", "analyst", "", "{}", keeper_key};
    s_exec(conn,
           "INSERT INTO registry.principals (id, name, role, state_scope, district_scope, "
           "public_key) VALUES ($1, $2, $3, $4, $5, $6)",
           row2, 6);
    assert_int_equal(s_wait_health(broker->frontend, dir, "dbuser", s_serving, 5000),
                     s_serving);

    /* The worker sees the row's attributes as the principal. */
    peer_worker_t worker;
    assert_int_equal(
        worker_start(&worker, broker->backend, dir, "dbworker", ECHO_SERVICE, "Echo", 1),
        0);
    worker_idle(&worker, 300);
    zsock_t *client = peer_connect(broker->frontend, dir, "dbuser", NULL);
    assert_non_null(client);
    Teilhabe__Testing__V1__EchoRequest request = TEILHABE__TESTING__V1__ECHO_REQUEST__INIT;
    assert_int_equal(
        client_send(client, 5, ECHO_METHOD, 3000, &request.base, NULL, 0, NULL, NULL), 0);
    peer_request_t got;
    assert_true(worker_recv_request(&worker, 3000, &got));
    assert_string_equal(got.header->principal->id, "db-1");
    assert_string_equal(got.header->principal->name, "Integrationsmanagerin Gotha");
    assert_string_equal(got.header->principal->role, "manager");
    assert_string_equal(got.header->principal->state_scope, "16");
    assert_int_equal(got.header->principal->n_district_scope, 2);
    assert_string_equal(got.header->principal->district_scope[0], "16067");
    assert_string_equal(got.header->principal->district_scope[1], "16068");
    assert_string_equal(got.header->principal->public_key, dbuser_key);
    assert_int_equal(worker_echo(&worker, &got, "w"), 0);
    request_clear(&got);
    peer_reply_t reply;
    client_recv(client, 3000, &reply);
    assert_int_equal(reply.code, 0);
    reply_clear(&reply);
    worker_stop(&worker, true);

    /* Revoked in the table: the open connection is refused within seconds. */
    const char *revoke[] = {"db-1"};
    s_exec(conn, "UPDATE registry.principals SET revoked_at = now() WHERE id = $1", revoke,
           1);
    int code = -1;
    int64_t until = zclock_mono() + 6000;
    for (uint64_t id = 10; zclock_mono() < until && code != TH_UNAUTHENTICATED; id++) {
        Teilhabe__Health__V1__HealthCheckRequest health =
            TEILHABE__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
        assert_int_equal(client_send(client, id, "teilhabe.health.v1.Health/Check", 1000,
                                     &health.base, NULL, 0, NULL, NULL),
                         0);
        client_recv(client, 1000, &reply);
        code = reply.code;
        reply_clear(&reply);
        if (code != TH_UNAUTHENTICATED)
            zclock_sleep(200);
    }
    assert_int_equal(code, TH_UNAUTHENTICATED);
    zsock_destroy(&client);

    /* The database disappears: the last known principals stay valid. */
    PQfinish(conn);
    fx->conn = NULL;
    snprintf(sql, sizeof sql, "DROP DATABASE %s WITH (FORCE)", dbname);
    s_exec(admin, sql, NULL, 0);
    zclock_sleep(2500);
    assert_int_equal(s_wait_health(broker->frontend, dir, "keeper", s_serving, 3000),
                     s_serving);

    int status = th_test_broker_stop(broker);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* Two properties of the database poll. (1) A row that PostgreSQL moves
 * (any UPDATE does) but whose content is unchanged does not reload the
 * principals: the query sorts by key. (2) A database that hangs (here: the
 * table locked) neither blocks the poll forever (the broker's statement
 * timeout ends the query and the broker logs it) nor delays the broker's
 * shutdown (a stop request ends the wait at once). */
static void
test_stable_signature_and_hung_database(void **state)
{
    fixture_t *fx = *state;
    const char *url = th_test_require_db_url();
    if (strncmp(url, "postgres", 8) == 0)
        fail_msg("TEILHABE_TEST_DB_URL must be in keyword form (host=... dbname=...) for "
                 "this test: it appends its own dbname");
    fx->admin = PQconnectdb(url);
    assert_int_equal(PQstatus(fx->admin), CONNECTION_OK);
    char sql[256];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", fx->dbname);
    s_exec(fx->admin, sql, NULL, 0);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", fx->dbname);
    s_exec(fx->admin, sql, NULL, 0);
    char db_url[1024], broker_url[1024];
    snprintf(db_url, sizeof db_url, "%s dbname=%s", url, fx->dbname);
    s_broker_url(fx->dbname, broker_url, sizeof broker_url);

    fx->dir = th_test_tmpdir("th-broker-db2");
    const char *dir = fx->dir;
    assert_non_null(dir);
    assert_int_equal(th_test_keys_init(dir), 0);
    assert_int_equal(th_test_keys_client(dir, "dbuser", "manager", "", ""), 0);
    assert_int_equal(th_test_keys_client(dir, "keeper", "analyst", "", ""), 0);
    assert_int_equal(th_test_keys_client(dir, "third", "analyst", "", ""), 0);
    fx->dbuser_key = s_public_key(dir, "dbuser");
    fx->keeper_key = s_public_key(dir, "keeper");
    fx->third_key = s_public_key(dir, "third");

    fx->conn = PQconnectdb(db_url);
    PGconn *conn = fx->conn;
    assert_int_equal(PQstatus(conn), CONNECTION_OK);
    s_exec(conn, "CREATE SCHEMA registry", NULL, 0);
    s_exec(
        conn,
        "CREATE TABLE registry.principals (id text PRIMARY KEY, "
        "name text NOT NULL, role text NOT NULL, state_scope text, district_scope text[], "
        "public_key text NOT NULL, revoked_at timestamptz)",
        NULL, 0);
    s_grant_broker(conn);
    const char *keys[] = {fx->dbuser_key, fx->keeper_key, fx->third_key};
    const char *ids[] = {"db-a", "db-b", "db-c"};
    for (int i = 0; i < 3; i++) {
        const char *row[] = {ids[i], ids[i], i == 0 ? "manager" : "analyst", keys[i]};
        s_exec(conn,
               "INSERT INTO registry.principals (id, name, role, public_key) "
               "VALUES ($1, $2, $3, $4)",
               row, 4);
    }

    th_test_broker_t *broker = &fx->broker;
    th_test_broker_opts_t opts = {.keys_dir = dir, .db_url = broker_url};
    assert_int_equal(th_test_broker_start(&opts, dir, broker), 0);
    assert_int_equal(s_wait_health(broker->frontend, dir, "dbuser", s_serving, 5000),
                     s_serving);
    const char *loaded = "msg=\"principals loaded from the database\"";
    int loads = s_count_in_file(broker->log_path, loaded);
    assert_int_equal(loads, 1);

    /* (1) The same content in another physical order. */
    char *before = s_physical_order(conn);
    assert_non_null(before);
    s_exec(conn, "UPDATE registry.principals SET name = name WHERE id = 'db-a'", NULL, 0);
    char *after = s_physical_order(conn);
    assert_non_null(after);
    /* Without this the test would prove nothing. */
    assert_string_not_equal(before, after);
    free(before);
    free(after);
    zclock_sleep(4500); /* two polls */
    assert_int_equal(s_count_in_file(broker->log_path, loaded), loads);

    /* (2) The table locked by another transaction: the poll's SELECT waits
     * for the lock until the broker's statement_timeout (2 s) ends it. */
    fx->locker = PQconnectdb(db_url);
    assert_int_equal(PQstatus(fx->locker), CONNECTION_OK);
    s_exec(fx->locker, "BEGIN", NULL, 0);
    s_exec(fx->locker, "LOCK TABLE registry.principals IN ACCESS EXCLUSIVE MODE", NULL, 0);
    const char *timed_out = "statement timeout";
    int64_t until = zclock_mono() + 8000;
    while (zclock_mono() < until && s_count_in_file(broker->log_path, timed_out) == 0)
        zclock_sleep(100);
    assert_true(s_count_in_file(broker->log_path, timed_out) >= 1);
    int64_t logged = zclock_mono();
    /* The known principals stay valid meanwhile. */
    assert_int_equal(s_wait_health(broker->frontend, dir, "keeper", s_serving, 2000),
                     s_serving);
    /* The next poll starts 2 s after the last one ended and waits for the
     * lock again; stop the broker in the middle of that wait. It must not
     * wait for the statement timeout. */
    int64_t wait = logged + 2500 - zclock_mono();
    if (wait > 0)
        zclock_sleep((int) wait);
    int64_t start = zclock_mono();
    int status = th_test_broker_stop(broker);
    int64_t elapsed = zclock_mono() - start;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        s_print_file_tail(broker->log_path, 60);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_true(elapsed < 1000);
    s_exec(fx->locker, "ROLLBACK", NULL, 0);
}

/* Issue 6, section 9: a principal revoked in registry.principals whose key
 * also has a certificate file in certs_dir kept the file's role. The
 * revocation wins: the open connection is refused within seconds and a
 * new one is refused outright, although the file stays where it was. */
static void
test_revoked_in_database_beats_file(void **state)
{
    fixture_t *fx = *state;
    const char *url = th_test_require_db_url();
    if (strncmp(url, "postgres", 8) == 0)
        fail_msg("TEILHABE_TEST_DB_URL must be in keyword form (host=... dbname=...) for "
                 "this test: it appends its own dbname");
    fx->admin = PQconnectdb(url);
    assert_int_equal(PQstatus(fx->admin), CONNECTION_OK);
    char sql[256];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", fx->dbname);
    s_exec(fx->admin, sql, NULL, 0);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", fx->dbname);
    s_exec(fx->admin, sql, NULL, 0);
    char db_url[1024];
    snprintf(db_url, sizeof db_url, "%s dbname=%s", url, fx->dbname);
    fx->conn = PQconnectdb(db_url);
    PGconn *conn = fx->conn;
    assert_int_equal(PQstatus(conn), CONNECTION_OK);
    s_exec(conn, "CREATE SCHEMA registry", NULL, 0);
    s_exec(
        conn,
        "CREATE TABLE registry.principals (id text PRIMARY KEY, "
        "name text NOT NULL, role text NOT NULL, state_scope text, district_scope text[], "
        "public_key text NOT NULL, revoked_at timestamptz)",
        NULL, 0);

    fx->dir = th_test_tmpdir("th-broker-db3");
    const char *dir = fx->dir;
    assert_non_null(dir);
    assert_int_equal(th_test_keys_init(dir), 0);
    assert_int_equal(th_test_keys_client(dir, "filed", "analyst", "", ""), 0);
    char path[1024];
    snprintf(path, sizeof path, "%s/private/filed.cert_secret", dir);
    zcert_t *cert = zcert_load(path);
    assert_non_null(cert);
    fx->keeper_key = strdup(zcert_public_txt(cert));
    zcert_destroy(&cert);

    th_test_broker_t *broker = &fx->broker;
    th_test_broker_opts_t opts = {.keys_dir = dir, .db_url = db_url};
    assert_int_equal(th_test_broker_start(&opts, dir, broker), 0);
    /* From the file alone, then with a row of its own in the table. */
    assert_int_equal(s_wait_health(broker->frontend, dir, "filed", s_serving, 5000),
                     s_serving);
    const char *row[] = {"db-filed", "Analyst", "analyst", fx->keeper_key};
    s_exec(conn,
           "INSERT INTO registry.principals (id, name, role, public_key) "
           "VALUES ($1, $2, $3, $4)",
           row, 4);
    zsock_t *client = peer_connect(broker->frontend, dir, "filed", NULL);
    assert_non_null(client);
    assert_int_equal(client_health(client, 1, "teilhabe.health.v1.Health", 3000),
                     s_serving);

    const char *revoke[] = {"db-filed"};
    s_exec(conn, "UPDATE registry.principals SET revoked_at = now() WHERE id = $1", revoke,
           1);
    int code = -1;
    int64_t until = zclock_mono() + 6000;
    for (uint64_t id = 10; zclock_mono() < until && code != TH_UNAUTHENTICATED; id++) {
        Teilhabe__Health__V1__HealthCheckRequest health =
            TEILHABE__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
        assert_int_equal(client_send(client, id, "teilhabe.health.v1.Health/Check", 1000,
                                     &health.base, NULL, 0, NULL, NULL),
                         0);
        peer_reply_t reply;
        client_recv(client, 1000, &reply);
        code = reply.code;
        reply_clear(&reply);
        if (code != TH_UNAUTHENTICATED)
            zclock_sleep(200);
    }
    assert_int_equal(code, TH_UNAUTHENTICATED);
    zsock_destroy(&client);
    /* The file is still there, and counts for nothing. */
    snprintf(path, sizeof path, "%s/public/filed.cert", dir);
    assert_int_equal(access(path, F_OK), 0);
    assert_int_equal(s_wait_health(broker->frontend, dir, "filed", s_serving, 1500), -1);
    assert_true(s_count_in_file(broker->log_path,
                                "its key is revoked in registry.principals") >= 1);
    int status = th_test_broker_stop(broker);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_principals_from_database, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_stable_signature_and_hung_database, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_revoked_in_database_beats_file, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
