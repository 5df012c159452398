/* ---------------------------------------------------------------------------
 * test_db_roles.c: least privilege in PostgreSQL, against the real cluster
 * ops/pg made (TEILHABE_TEST_DB_URL: the owner role's conninfo).
 *
 * - Nobody gets in without a password: not over TCP without the passfile,
 *   not as the superuser over TCP, not as a teilhabe role over the socket;
 *   the socket's directory is 0700, the passfile 0600 in a 0700 directory.
 * - A process of another local user (the test forks and becomes "nobody")
 *   can neither connect over TCP nor reach the socket nor read the passfile.
 *   This needs root to switch users; without root that test is skipped and
 *   the program exits 77, which ctest reports as SKIPPED, never as passed.
 * - No teilhabe role is a superuser, creates roles or runs programs on the
 *   server (COPY ... TO PROGRAM); PUBLIC has no CONNECT or TEMP on database
 *   "teilhabe", which belongs to teilhabe_owner.
 * - On a database migrated by the owner (teilhabe-registry --seed-only): the
 *   registry's role appends to audit.log but never changes or removes a row,
 *   creates nothing (not in public, not a schema, not in registry) and
 *   cannot touch another service's schema; the broker's role reads
 *   registry.principals and nothing else, and writes nothing.
 * Each check fails against a cluster with trust authentication and a
 * superuser for everything (what ops/pg made before).
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "registry_env.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>

/* ctest's SKIP_RETURN_CODE for this program (tests/CMakeLists.txt). */
#define S_SKIPPED 77

static const char *const s_runtime_roles[] = {"teilhabe_broker", "teilhabe_registry",
                                              "teilhabe_measures", "teilhabe_eligibility",
                                              "teilhabe_reporting"};
#define S_RUNTIME_ROLES (sizeof s_runtime_roles / sizeof s_runtime_roles[0])

typedef struct {
    registry_env_t env; /* only its database: no broker, no worker */
    char host[256];     /* from the conninfo */
    char port[16];
    char passfile[1024];
    char socket_dir[1024];
} s_fixture_t;

/* The value of keyword in conninfo, into out ("" when absent). */
static void
s_conninfo_get(const char *conninfo, const char *keyword, char *out, size_t outlen)
{
    char *err = NULL;
    out[0] = '\0';
    PQconninfoOption *opts = PQconninfoParse(conninfo, &err);
    if (opts == NULL) {
        PQfreemem(err);
        return;
    }
    for (PQconninfoOption *opt = opts; opt->keyword != NULL; opt++)
        if (strcmp(opt->keyword, keyword) == 0 && opt->val != NULL)
            snprintf(out, outlen, "%s", opt->val);
    PQconninfoFree(opts);
}

static int
s_setup(void **state)
{
    s_fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    *state = f;
    const char *url = th_test_db_url();
    if (url == NULL) {
        fprintf(stderr,
                "TEILHABE_TEST_DB_URL is not set: run this test through ops/test\n");
        return -1;
    }
    s_conninfo_get(url, "host", f->host, sizeof f->host);
    s_conninfo_get(url, "port", f->port, sizeof f->port);
    s_conninfo_get(url, "passfile", f->passfile, sizeof f->passfile);
    /* ops/test names the directory with the socket; a cluster started by
     * hand keeps its default passfile there too. */
    const char *dir = getenv("TEILHABE_TEST_PG_SOCKET_DIR");
    if (dir != NULL && dir[0] != '\0') {
        snprintf(f->socket_dir, sizeof f->socket_dir, "%s", dir);
    } else if (f->passfile[0] != '\0') {
        char copy[1024];
        snprintf(copy, sizeof copy, "%s", f->passfile);
        snprintf(f->socket_dir, sizeof f->socket_dir, "%s", dirname(copy));
    }
    f->env.tmp = th_test_tmpdir("dbroles");
    if (f->env.tmp == NULL || reg_create_db(&f->env, "dbroles") != 0)
        return -1;
    return 0;
}

static int
s_teardown(void **state)
{
    s_fixture_t *f = *state;
    if (f->env.tmp != NULL)
        registry_env_stop(&f->env);
    free(f);
    return 0;
}

/* Connects to the test's database (or to dbname when not NULL) as role,
 * with the passfile of TEILHABE_TEST_DB_URL. The caller PQfinishes it. */
static PGconn *
s_connect_as(s_fixture_t *f, const char *role, const char *dbname)
{
    char with_db[2048], url[2048];
    assert_int_equal(th_test_conninfo_set(f->env.db_url, "dbname",
                                          dbname != NULL ? dbname : f->env.dbname, with_db,
                                          sizeof with_db),
                     0);
    assert_int_equal(th_test_conninfo_set(with_db, "user", role, url, sizeof url), 0);
    PGconn *conn = PQconnectdb(url);
    if (PQstatus(conn) != CONNECTION_OK)
        fail_msg("could not connect as %s: %s", role, PQerrorMessage(conn));
    PQsetNoticeProcessor(conn, reg_quiet_notice, NULL);
    return conn;
}

/* Runs sql; returns its SQLSTATE ("00000" on success) in state. */
static void
s_sqlstate(PGconn *conn, const char *sql, char state[6])
{
    PGresult *res = PQexec(conn, sql);
    const ExecStatusType status = PQresultStatus(res);
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
        snprintf(state, 6, "00000");
    } else {
        const char *code = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        snprintf(state, 6, "%s", code != NULL ? code : "?????");
    }
    PQclear(res);
}

/* sql must be refused for lack of a privilege (42501), not for any other
 * reason: a trigger or a missing table would prove nothing. */
static void
s_expect_denied(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    const char *code = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *message = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const bool denied = code != NULL && strcmp(code, "42501") == 0 && message != NULL &&
                        (strstr(message, "permission denied") != NULL ||
                         strstr(message, "must be") != NULL);
    if (!denied)
        fail_msg("as %s, expected permission denied for: %s\ngot: %s %s", PQuser(conn), sql,
                 code != NULL ? code : "success", message != NULL ? message : "");
    PQclear(res);
}

static void
s_expect_ok(PGconn *conn, const char *sql)
{
    char state[6];
    s_sqlstate(conn, sql, state);
    if (strcmp(state, "00000") != 0)
        fail_msg("as %s, expected success for: %s\ngot %s: %s", PQuser(conn), sql, state,
                 PQerrorMessage(conn));
}

/* One row, one column, as text; fails the test otherwise. */
static void
s_value(PGconn *conn, const char *sql, char *out, size_t outlen)
{
    PGresult *res = PQexec(conn, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        fail_msg("%s: %s", sql, PQerrorMessage(conn));
    snprintf(out, outlen, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
}

static int
s_mode(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int) (st.st_mode & 07777) : -1;
}

/* A connection with conninfo must fail; returns PQerrorMessage's first line
 * into why (for the failure message of the caller). */
static bool
s_refused(const char *conninfo, char *why, size_t whylen)
{
    PGconn *conn = PQconnectdb(conninfo);
    const bool refused = PQstatus(conn) != CONNECTION_OK;
    snprintf(why, whylen, "%s", refused ? PQerrorMessage(conn) : "connected");
    PQfinish(conn);
    return refused;
}

/* --- authentication -------------------------------------------------------- */

static void
test_no_way_in_without_a_password(void **state)
{
    s_fixture_t *f = *state;
    char conninfo[4096], why[512];
    assert_true(f->passfile[0] != '\0'); /* conninfo strings name a passfile */
    assert_null(strstr(th_test_db_url(), "password"));

    /* The passfile and the socket's directory are the server user's alone. */
    assert_int_equal(s_mode(f->passfile), 0600);
    char copy[1024];
    snprintf(copy, sizeof copy, "%s", f->passfile);
    assert_int_equal(s_mode(dirname(copy)) & 077, 0);
    assert_true(f->socket_dir[0] != '\0');
    assert_int_equal(s_mode(f->socket_dir), 0700);

    /* Over TCP, without the passfile: the server asks for a password. */
    char empty[1100];
    snprintf(empty, sizeof empty, "%s/empty-pgpass", f->env.tmp);
    const int fd = open(empty, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    assert_true(fd >= 0);
    close(fd);
    for (size_t i = 0; i < S_RUNTIME_ROLES + 1; i++) {
        const char *role = i < S_RUNTIME_ROLES ? s_runtime_roles[i] : "teilhabe_owner";
        snprintf(conninfo, sizeof conninfo,
                 "host=%s port=%s user=%s dbname=teilhabe passfile='%s' connect_timeout=5",
                 f->host, f->port, role, empty);
        if (!s_refused(conninfo, why, sizeof why))
            fail_msg("%s connected over TCP without a password", role);
    }
    /* The superuser, and the superuser of clusters made before, never over
     * TCP; the teilhabe roles never over the socket. */
    const struct passwd *me = getpwuid(geteuid());
    const char *const superusers[] = {"postgres", "teilhabe",
                                      me != NULL ? me->pw_name : "root"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(conninfo, sizeof conninfo,
                 "host=%s port=%s user=%s dbname=postgres passfile='%s' connect_timeout=5",
                 f->host, f->port, superusers[i], empty);
        if (!s_refused(conninfo, why, sizeof why))
            fail_msg("%s connected over TCP", superusers[i]);
    }
    snprintf(conninfo, sizeof conninfo,
             "host='%s' port=%s user=teilhabe_owner dbname=teilhabe passfile='%s' "
             "connect_timeout=5",
             f->socket_dir, f->port, f->passfile);
    if (!s_refused(conninfo, why, sizeof why))
        fail_msg("teilhabe_owner connected over the unix socket");
}

/* In the child: everything another local user might try. Returns a bit
 * mask of what unexpectedly worked (0 = shut out everywhere). */
static int
s_try_as_other_user(const s_fixture_t *f)
{
    int worked = 0;
    char conninfo[4096];
    /* Over TCP as every role, with the passfile it cannot read. */
    const char *const roles[] = {"teilhabe_owner", "teilhabe_registry", "teilhabe_broker",
                                 "postgres",       "teilhabe",          "nobody"};
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
        snprintf(conninfo, sizeof conninfo,
                 "host=%s port=%s user=%s dbname=teilhabe passfile='%s' connect_timeout=5",
                 f->host, f->port, roles[i], f->passfile);
        PGconn *conn = PQconnectdb(conninfo);
        if (PQstatus(conn) == CONNECTION_OK)
            worked |= 1;
        PQfinish(conn);
        /* The socket, as the superuser and as itself. */
        snprintf(conninfo, sizeof conninfo,
                 "host='%s' port=%s user=%s dbname=postgres connect_timeout=5",
                 f->socket_dir, f->port, roles[i]);
        conn = PQconnectdb(conninfo);
        if (PQstatus(conn) == CONNECTION_OK)
            worked |= 2;
        PQfinish(conn);
    }
    const int fd = open(f->passfile, O_RDONLY);
    if (fd >= 0) {
        worked |= 4;
        close(fd);
    }
    char socket_path[1100];
    snprintf(socket_path, sizeof socket_path, "%s/.s.PGSQL.%s", f->socket_dir, f->port);
    if (access(socket_path, F_OK) == 0 || errno != EACCES)
        worked |= 8; /* it could even see the socket */
    return worked;
}

static void
test_other_local_user_is_shut_out(void **state)
{
    s_fixture_t *f = *state;
    if (geteuid() != 0) {
        print_message("not root: cannot become another user; SKIPPED (CI runs as root)\n");
        skip();
    }
    const struct passwd *nobody = getpwnam("nobody");
    assert_non_null(nobody);
    const uid_t uid = nobody->pw_uid;
    const gid_t gid = nobody->pw_gid;
    fflush(NULL);
    const pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* No cmocka in the child: the exit status is the verdict. */
        unsetenv("PGPASSWORD");
        unsetenv("PGPASSFILE");
        setenv("HOME", "/nonexistent", 1);
        if (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
            _exit(100);
        if (setuid(0) == 0)
            _exit(101); /* could become root again: the test would prove nothing */
        _exit(s_try_as_other_user(f));
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    const int worked = WEXITSTATUS(status);
    if (worked != 0)
        fail_msg("user nobody got through (exit %d): %s%s%s%s", worked,
                 worked & 1 ? "connected over TCP; " : "",
                 worked & 2 ? "connected over the socket; " : "",
                 worked & 4 ? "read the passfile; " : "",
                 worked & 8 ? "saw the socket; " : "");
}

/* --- roles ------------------------------------------------------------------ */

static void
test_no_role_has_power(void **state)
{
    s_fixture_t *f = *state;
    PGconn *owner = s_connect_as(f, "teilhabe_owner", "teilhabe");
    char value[256];
    s_value(owner,
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'teilhabe'",
            value, sizeof value);
    assert_string_equal(value, "teilhabe_owner");
    /* PUBLIC has no privilege on the database at all (NULL would mean the
     * defaults: CONNECT and TEMP for everyone). */
    s_value(
        owner,
        "SELECT d.datacl IS NOT NULL AND NOT EXISTS (SELECT 1 FROM aclexplode(d.datacl) a "
        "WHERE a.grantee = 0) FROM pg_database d WHERE d.datname = 'teilhabe'",
        value, sizeof value);
    assert_string_equal(value, "t");
    s_value(
        owner,
        "SELECT rolsuper OR rolcreaterole OR rolreplication OR rolbypassrls FROM pg_roles "
        "WHERE rolname = current_user",
        value, sizeof value);
    assert_string_equal(value, "f");
    PQfinish(owner);

    char marker[1100], sql[1400];
    snprintf(marker, sizeof marker, "/tmp/th-copy-program-%d", (int) getpid());
    unlink(marker);
    for (size_t i = 0; i < S_RUNTIME_ROLES; i++) {
        PGconn *conn = s_connect_as(f, s_runtime_roles[i], "teilhabe");
        s_value(conn,
                "SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR "
                "rolbypassrls FROM pg_roles WHERE rolname = current_user",
                value, sizeof value);
        assert_string_equal(value, "f");
        s_value(conn,
                "SELECT pg_has_role(current_user, 'pg_execute_server_program', 'USAGE') OR "
                "pg_has_role(current_user, 'pg_read_server_files', 'USAGE') OR "
                "pg_has_role(current_user, 'pg_write_server_files', 'USAGE') OR "
                "has_database_privilege('teilhabe', 'TEMP') OR "
                "has_database_privilege('teilhabe', 'CREATE')",
                value, sizeof value);
        assert_string_equal(value, "f");
        snprintf(sql, sizeof sql, "COPY (SELECT 1) TO PROGRAM 'touch %s'", marker);
        s_expect_denied(conn, sql);
        s_expect_denied(conn, "COPY (SELECT 1) TO '/tmp/th-copy-file'");
        s_expect_denied(conn, "CREATE ROLE th_intruder LOGIN SUPERUSER");
        s_expect_denied(conn, "ALTER ROLE current_user SUPERUSER");
        s_expect_denied(conn, "CREATE DATABASE th_intruder");
        PQfinish(conn);
    }
    struct stat st;
    assert_int_not_equal(stat(marker, &st), 0); /* no program ran */
}

/* --- privileges on a migrated database --------------------------------------- */

static void
test_each_role_writes_only_its_own(void **state)
{
    s_fixture_t *f = *state;
    char log[1200];
    snprintf(log, sizeof log, "%s/seed.log", f->env.tmp);
    /* The owner migrates and seeds, as teilhabe-registry does at start-up. */
    assert_int_equal(reg_seed_only(f->env.db_url, "none", log), 0);
    PGconn *owner = s_connect_as(f, "teilhabe_owner", NULL);
    s_expect_ok(owner, "CREATE SCHEMA IF NOT EXISTS measures");
    s_expect_ok(owner, "CREATE TABLE IF NOT EXISTS measures.th_probe (a int)");
    s_expect_ok(owner,
                "INSERT INTO registry.states (code, name) VALUES ('16', 'Thüringen')");
    PQfinish(owner);

    PGconn *registry = s_connect_as(f, "teilhabe_registry", NULL);
    /* Its own schema: read and write rows. */
    s_expect_ok(registry, "BEGIN");
    s_expect_ok(registry, "SELECT count(*) FROM registry.principals");
    s_expect_ok(registry, "UPDATE registry.states SET name = name WHERE code = '16'");
    s_expect_ok(
        registry,
        "INSERT INTO registry.events (topic, resource, payload) VALUES ('t', 't', '')");
    s_expect_ok(registry, "DELETE FROM registry.events");
    /* The audit trail: append, and the idempotency store: read, add, and
     * prune (common/migrations/0003: each service prunes its own keys). */
    s_expect_ok(registry, "INSERT INTO audit.log (principal_id, method, resource) "
                          "VALUES ('test', 'test', 'test')");
    s_expect_ok(registry, "SELECT count(*) FROM audit.idempotency");
    s_expect_ok(registry, "INSERT INTO audit.idempotency (principal_id, key, method, "
                          "request_hash, reply) VALUES ('t', 't', 't', 't', '')");
    s_expect_ok(registry, "DELETE FROM audit.idempotency WHERE key = 't'");
    s_expect_ok(registry, "ROLLBACK");
    /* ... but never change or remove an audit row: by privilege, not only
     * by the trigger (whose message is "audit trail is append-only"). */
    s_expect_denied(registry, "UPDATE audit.log SET method = method");
    s_expect_denied(registry, "DELETE FROM audit.log");
    s_expect_denied(registry, "TRUNCATE audit.log");
    s_expect_denied(registry, "UPDATE audit.idempotency SET reply = reply");
    s_expect_denied(registry, "TRUNCATE audit.idempotency");
    /* Nothing new: not in public, no schema, not even in registry. */
    s_expect_denied(registry, "CREATE TABLE public.th_intruder (a int)");
    s_expect_denied(registry, "CREATE SCHEMA th_intruder");
    s_expect_denied(registry, "CREATE TABLE registry.th_intruder (a int)");
    s_expect_denied(registry, "DROP TABLE registry.events");
    s_expect_denied(registry, "ALTER TABLE registry.principals ADD COLUMN th_intruder int");
    /* Another service's schema: neither read nor write. */
    s_expect_denied(registry, "INSERT INTO measures.th_probe VALUES (1)");
    s_expect_denied(registry, "SELECT * FROM measures.th_probe");
    PQfinish(registry);

    PGconn *broker = s_connect_as(f, "teilhabe_broker", NULL);
    s_expect_ok(broker, "SELECT id, name, role, state_scope, district_scope, public_key "
                        "FROM registry.principals WHERE revoked_at IS NULL");
    s_expect_denied(
        broker, "INSERT INTO registry.principals (id, name, role, public_key) VALUES "
                "('intruder', 'x', 'admin', '0123456789012345678901234567890123456789')");
    s_expect_denied(broker, "UPDATE registry.principals SET revoked_at = NULL");
    s_expect_denied(broker, "DELETE FROM registry.principals");
    s_expect_denied(broker, "SELECT count(*) FROM registry.managers");
    s_expect_denied(broker, "INSERT INTO audit.log (principal_id, method, resource) "
                            "VALUES ('test', 'test', 'test')");
    s_expect_denied(broker, "SELECT * FROM measures.th_probe");
    PQfinish(broker);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_no_way_in_without_a_password, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_other_local_user_is_shut_out, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_no_role_has_power, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_each_role_writes_only_its_own, s_setup,
                                        s_teardown),
    };
    const int failed = cmocka_run_group_tests(tests, NULL, NULL);
    if (failed != 0)
        return failed;
    /* Everything else passed, but one test could not run: not a pass. */
    return geteuid() == 0 ? 0 : S_SKIPPED;
}
