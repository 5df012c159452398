/* ---------------------------------------------------------------------------
 * registry_env.h: the real stack for the registry integration tests.
 *
 * Included by tests/integration/test_registry*.c (header-only so the test
 * glob builds it into each program). Starts, in order: a fresh database on
 * the server of TEILHABE_TEST_DB_URL, `teilhabe-registry --seed-only` on it
 * (migrations and reference data), a teilhabe-broker with CURVE keys that
 * also reads registry.principals, and a teilhabe-registry worker; and gives
 * each test principal its own client. Everything is real; everything is
 * stopped and dropped in registry_env_stop.
 *
 * Least privilege as in production: the database belongs to the owner role
 * of TEILHABE_TEST_DB_URL, which seeds it; the broker runs as
 * teilhabe_broker and the registry worker as teilhabe_registry, with the
 * owner's conninfo as migrate_db_url. env->db_url stays the owner's, for
 * the tests' own checks.
 * ---------------------------------------------------------------------------
 */
#ifndef REGISTRY_ENV_H
#define REGISTRY_ENV_H

#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "teilhabe/v1/registry.pb-c.h"
#include "th_client.h"
#include "th_status.h"
#include "th_test.h"

#define REG_METHOD(name) "teilhabe.registry.v1.Registry/" name

typedef struct {
    char *tmp;
    char keys[1024];
    char admin_url[1024];       /* the server's URL as given */
    char db_url[2048];          /* conninfo of this test's own database (owner) */
    char registry_db_url[2048]; /* the same as teilhabe_registry */
    char broker_db_url[2048];   /* the same as teilhabe_broker */
    char dbname[64];
    char broker_key[41];
    th_test_broker_t broker;
    th_proc_t *registry;
    char registry_log[1100];
    const char *log_level;            /* the registry's; NULL = info */
    const char *const *registry_args; /* more flags of the registry worker, NULL-ended */
} registry_env_t;

/* Sleeps ms milliseconds. */
static inline void
reg_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long) (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static inline void
reg_quiet_notice(void *arg, const char *message)
{
    (void) arg;
    (void) message; /* "database ... does not exist, skipping" and the like */
}

/* Runs sql on conninfo; returns the first value of the first row (malloc'ed)
 * or NULL on failure / no rows. */
static inline char *
reg_sql_value(const char *conninfo, const char *sql)
{
    PGconn *conn = PQconnectdb(conninfo);
    char *value = NULL;
    PQsetNoticeProcessor(conn, reg_quiet_notice, NULL);
    if (PQstatus(conn) == CONNECTION_OK) {
        PGresult *r = PQexec(conn, sql);
        if ((PQresultStatus(r) == PGRES_TUPLES_OK) && PQntuples(r) > 0 && PQnfields(r) > 0)
            value = strdup(PQgetvalue(r, 0, 0));
        else if (PQresultStatus(r) == PGRES_COMMAND_OK)
            value = strdup("");
        else
            fprintf(stderr, "sql failed: %s: %s", sql, PQerrorMessage(conn));
        PQclear(r);
    } else {
        fprintf(stderr, "connect failed: %s", PQerrorMessage(conn));
    }
    PQfinish(conn);
    return value;
}

static inline long long
reg_sql_count(const char *conninfo, const char *sql)
{
    char *v = reg_sql_value(conninfo, sql);
    const long long n = v != NULL ? strtoll(v, NULL, 10) : -1;
    free(v);
    return n;
}

/* Conninfo of the same server with another database name (handles both
 * key=value strings and URIs via PQconninfoParse). */
static inline int
reg_conninfo_with_db(const char *url, const char *dbname, char *out, size_t outlen)
{
    return th_test_conninfo_set(url, "dbname", dbname, out, outlen);
}

/* Runs teilhabe-registry --seed-only (migrations + reference data) against
 * db_url with data_dir; returns the exit status (-1 when it did not end). */
static inline int
reg_seed_only(const char *db_url, const char *data_dir, const char *log_path)
{
    const char *argv[] = {"teilhabe-registry", "--db-url", db_url,
                          "--data-dir",        data_dir,   "--seed-only",
                          "--log-level",       "info",     NULL};
    th_proc_t *proc = th_proc_start(TH_TEST_REGISTRY_BIN, (char *const *) argv, log_path);
    if (proc == NULL)
        return -1;
    int status = th_proc_wait(proc, 60000);
    if (status == -1) {
        th_proc_stop(&proc, SIGKILL, 1000);
        return -1;
    }
    th_proc_stop(&proc, SIGTERM, 100);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* Creates a fresh database named after prefix and pid. */
static inline int
reg_create_db(registry_env_t *env, const char *prefix)
{
    const char *url = th_test_require_db_url();
    snprintf(env->admin_url, sizeof env->admin_url, "%s", url);
    snprintf(env->dbname, sizeof env->dbname, "%s_%d", prefix, (int) getpid());
    char sql[256];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", env->dbname);
    free(reg_sql_value(url, sql));
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", env->dbname);
    char *ok = reg_sql_value(url, sql);
    if (ok == NULL)
        return -1;
    free(ok);
    if (reg_conninfo_with_db(url, env->dbname, env->db_url, sizeof env->db_url) != 0 ||
        th_test_conninfo_set(env->db_url, "user", "teilhabe_registry", env->registry_db_url,
                             sizeof env->registry_db_url) != 0 ||
        th_test_conninfo_set(env->db_url, "user", "teilhabe_broker", env->broker_db_url,
                             sizeof env->broker_db_url) != 0)
        return -1;
    return 0;
}

static inline void
reg_drop_db(registry_env_t *env)
{
    if (env->dbname[0] == '\0')
        return;
    char sql[256];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", env->dbname);
    free(reg_sql_value(env->admin_url, sql));
    env->dbname[0] = '\0';
}

/* Starts the registry worker (after the broker). */
static inline int
reg_start_registry(registry_env_t *env)
{
    char cert[1100], broker_cert[1100];
    snprintf(cert, sizeof cert, "%s/private/registry.cert_secret", env->keys);
    snprintf(broker_cert, sizeof broker_cert, "%s/broker.cert", env->keys);
    snprintf(env->registry_log, sizeof env->registry_log, "%s/registry.log", env->tmp);
    const char *argv[40] = {"teilhabe-registry",
                            "--db-url",
                            env->registry_db_url,
                            "--migrate-db-url",
                            env->db_url,
                            "--broker-endpoint",
                            env->broker.backend,
                            "--broker-cert-public",
                            broker_cert,
                            "--cert",
                            cert,
                            "--heartbeat-ms",
                            "250",
                            "--capacity",
                            "4",
                            "--log-level",
                            env->log_level != NULL ? env->log_level : "info",
                            NULL};
    size_t argc = 0;
    while (argv[argc] != NULL)
        argc++;
    for (size_t i = 0; env->registry_args != NULL && env->registry_args[i] != NULL &&
                       argc + 1 < sizeof argv / sizeof *argv;
         i++)
        argv[argc++] = env->registry_args[i];
    argv[argc] = NULL;
    env->registry =
        th_proc_start(TH_TEST_REGISTRY_BIN, (char *const *) argv, env->registry_log);
    return env->registry != NULL ? 0 : -1;
}

/* A client with the certificate of principal name. */
static inline th_client_t *
reg_client_cert(registry_env_t *env, const char *cert_path)
{
    char err[512] = "";
    const th_client_config_t cfg = {
        .endpoints = env->broker.frontend,
        .broker_public_key = env->broker_key,
        .client_cert_path = cert_path,
        .default_timeout_ms = 5000,
        .attempt_timeout_ms = 2000,
    };
    th_client_t *client = th_client_new(&cfg, err, sizeof err);
    if (client == NULL)
        fprintf(stderr, "client for %s: %s\n", cert_path, err);
    return client;
}

static inline th_client_t *
reg_client(registry_env_t *env, const char *name)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/private/%s.cert_secret", env->keys, name);
    return reg_client_cert(env, path);
}

/* One call; the result belongs to the caller (th_result_clear). */
static inline int
reg_call(th_client_t *client, const char *method, const ProtobufCMessage *req,
         const ProtobufCMessageDescriptor *resp_desc, th_result_t *out)
{
    memset(out, 0, sizeof *out);
    return th_client_call(client, method, req, resp_desc, 10000, NULL, out);
}

/* True when the result carries a violation naming field. */
static inline bool
reg_has_violation(const th_result_t *r, const char *field)
{
    for (size_t i = 0; i < r->n_violations; i++) {
        if (strcmp(r->violations[i].field, field) == 0)
            return true;
    }
    return false;
}

/* The test principals every registry test may use. */
static inline int
reg_make_keys(registry_env_t *env)
{
    snprintf(env->keys, sizeof env->keys, "%s/keys", env->tmp);
    if (mkdir(env->keys, 0700) != 0 || th_test_keys_init(env->keys) != 0 ||
        th_test_keys_worker(env->keys, "registry", "teilhabe.registry.v1.Registry") != 0 ||
        th_test_keys_client(env->keys, "admin", "admin", NULL, NULL) != 0 ||
        th_test_keys_client(env->keys, "ministry-th", "ministry", "16", NULL) != 0 ||
        th_test_keys_client(env->keys, "ministry-by", "ministry", "09", NULL) != 0 ||
        th_test_keys_client(env->keys, "analyst", "analyst", NULL, NULL) != 0 ||
        th_test_keys_client(env->keys, "analyst-th", "analyst", "16", NULL) != 0 ||
        th_test_keys_client(env->keys, "service", "service", NULL, NULL) != 0 ||
        th_test_keys_client(env->keys, "manager-th", "manager", "16", NULL) != 0 ||
        th_test_keys_client(env->keys, "manager-by", "manager", "09", NULL) != 0 ||
        th_test_keys_client(env->keys, "manager-scoped", "manager", "16", "16069") != 0 ||
        /* the test worker that calls the registry (test_calls.c): its worker
         * key, and its client key for those calls, a service of Thüringen */
        th_test_keys_worker(env->keys, "relay",
                            "teilhabe.testing.v1.Echo,teilhabe.testing.v1.Relay") != 0 ||
        th_test_keys_client(env->keys, "relay-client", "service", "16", NULL) != 0)
        return -1;
    return th_test_keys_broker_public(env->keys, env->broker_key);
}

/* Waits until the registry answers through the broker (bounded). */
static inline bool
reg_wait_ready(registry_env_t *env, th_client_t *client)
{
    for (int i = 0; i < 100; i++) {
        Teilhabe__Registry__V1__ListStatesRequest req =
            TEILHABE__REGISTRY__V1__LIST_STATES_REQUEST__INIT;
        th_result_t r;
        reg_call(client, REG_METHOD("ListStates"), &req.base,
                 &teilhabe__registry__v1__list_states_response__descriptor, &r);
        const bool ok = r.code == TH_OK;
        th_result_clear(&r);
        if (ok)
            return true;
        if (!th_proc_alive(env->registry))
            return false;
        reg_sleep_ms(200);
    }
    return false;
}

/* The whole stack, the registry logging at log_level (NULL = info) and
 * started with the flags args besides (NULL-ended; NULL = none). 0 or -1
 * (logs in env->tmp say why). */
static inline int
registry_env_start_args(registry_env_t *env, const char *prefix, const char *log_level,
                        const char *const *args)
{
    memset(env, 0, sizeof *env);
    env->log_level = log_level;
    env->registry_args = args;
    env->tmp = th_test_tmpdir(prefix);
    if (env->tmp == NULL || reg_make_keys(env) != 0 || reg_create_db(env, prefix) != 0)
        return -1;
    char seed_log[1100];
    snprintf(seed_log, sizeof seed_log, "%s/seed.log", env->tmp);
    if (reg_seed_only(env->db_url, TH_SOURCE_DIR "/data", seed_log) != 0) {
        fprintf(stderr, "seeding failed, see %s\n", seed_log);
        return -1;
    }
    const th_test_broker_opts_t opts = {.keys_dir = env->keys,
                                        .db_url = env->broker_db_url};
    if (th_test_broker_start(&opts, env->tmp, &env->broker) != 0) {
        fprintf(stderr, "broker did not start, see %s\n", env->broker.log_path);
        return -1;
    }
    if (reg_start_registry(env) != 0)
        return -1;
    th_client_t *admin = reg_client(env, "admin");
    const bool ready = admin != NULL && reg_wait_ready(env, admin);
    th_client_destroy(&admin);
    if (!ready)
        fprintf(stderr, "registry did not answer, see %s and %s\n", env->registry_log,
                env->broker.log_path);
    return ready ? 0 : -1;
}

static inline int
registry_env_start_at(registry_env_t *env, const char *prefix, const char *log_level)
{
    return registry_env_start_args(env, prefix, log_level, NULL);
}

static inline int
registry_env_start(registry_env_t *env, const char *prefix)
{
    return registry_env_start_at(env, prefix, NULL);
}

/* Stops everything; returns the registry's exit status (0 = clean). */
static inline int
registry_env_stop(registry_env_t *env)
{
    int status = -1;
    if (env->registry != NULL)
        status = th_proc_stop(&env->registry, SIGTERM, 5000);
    if (env->broker.proc != NULL)
        th_test_broker_stop(&env->broker);
    reg_drop_db(env);
    if (env->tmp != NULL && getenv("TEILHABE_KEEP_TEST_DIRS") == NULL)
        th_test_rmtree(env->tmp);
    free(env->tmp);
    env->tmp = NULL;
    return status;
}

#endif /* REGISTRY_ENV_H */
