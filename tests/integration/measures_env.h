/* ---------------------------------------------------------------------------
 * measures_env.h: the real stack for the measures integration tests.
 *
 * Included by tests/integration/test_measures*.c (header-only, like
 * registry_env.h, whose helpers it uses). Starts, in order: a fresh
 * database on the server of TEILHABE_TEST_DB_URL, `teilhabe-registry
 * --seed-only` on it, a teilhabe-broker with CURVE keys, a
 * teilhabe-registry worker and a teilhabe-measures worker (which migrates
 * its schema at start-up as the owner, then runs as teilhabe_measures);
 * and gives each test principal its own client. The measures worker asks
 * the registry over the broker under "measures-client" (role service,
 * federal), as ops/keys makes it. Everything is real;
 * everything is stopped and dropped in measures_env_stop.
 *
 * The principals are those of registry_env.h and, for the measures tests:
 *   manager-gotha     manager of Land 16, district scope 16067 (Gotha)
 *   manager-soemmerda manager of Land 16, district scope 16068 (Sömmerda)
 *   manager-soemmerda2 the same scope: a second manager of Sömmerda
 * ---------------------------------------------------------------------------
 */
#ifndef MEASURES_ENV_H
#define MEASURES_ENV_H

#include "registry_env.h"
#include "teilhabe/v1/measures.pb-c.h"

#define MEAS_METHOD(name) "teilhabe.measures.v1.Measures/" name

typedef struct {
    registry_env_t reg;
    char measures_db_url[2048]; /* this test's database as teilhabe_measures */
    th_proc_t *measures;
    char measures_log[1100];
} measures_env_t;

/* Starts the worker of service name (binary bin, database role URL db_url,
 * keys NAME and NAME-client of the key store) after the broker, with the
 * further arguments extra (NULL-terminated; may be NULL); its log into log
 * (len bytes). The measures and the eligibility worker start so. */
static inline int
meas_start_worker(measures_env_t *env, const char *name, const char *bin, const char *db_url,
                  const char *const *extra, th_proc_t **proc, char *log, size_t len)
{
    char cert[1100], client_cert[1100], broker_cert[1100], argv0[64];
    snprintf(cert, sizeof cert, "%s/private/%s.cert_secret", env->reg.keys, name);
    snprintf(client_cert, sizeof client_cert, "%s/private/%s-client.cert_secret",
             env->reg.keys, name);
    snprintf(broker_cert, sizeof broker_cert, "%s/broker.cert", env->reg.keys);
    snprintf(argv0, sizeof argv0, "teilhabe-%s", name);
    snprintf(log, len, "%s/%s.log", env->reg.tmp, name);
    const char *argv[40] = {argv0,
                          "--db-url",
                          db_url,
                          "--migrate-db-url",
                          env->reg.db_url,
                          "--broker-endpoint",
                          env->reg.broker.backend,
                          "--broker-cert-public",
                          broker_cert,
                          "--cert",
                          cert,
                          "--frontend-endpoint",
                          env->reg.broker.frontend,
                          "--client-cert",
                          client_cert,
                          "--heartbeat-ms",
                          "250",
                          "--capacity",
                          "4",
                          "--log-level",
                          "info",
                          NULL};
    size_t argc = 0;
    while (argv[argc] != NULL)
        argc++;
    for (size_t i = 0; extra != NULL && extra[i] != NULL && argc + 1 < 40; i++)
        argv[argc++] = extra[i];
    argv[argc] = NULL;
    *proc = th_proc_start(bin, (char *const *) argv, log);
    return *proc != NULL ? 0 : -1;
}

/* Starts the measures worker (after the broker). */
static inline int
meas_start_measures(measures_env_t *env)
{
    return meas_start_worker(env, "measures", TH_TEST_MEASURES_BIN, env->measures_db_url,
                             NULL, &env->measures, env->measures_log, sizeof env->measures_log);
}

/* Waits until the measures service answers through the broker (bounded):
 * its start-up work (the migrations) done. */
static inline bool
meas_wait_ready(measures_env_t *env, th_client_t *client)
{
    for (int i = 0; i < 150; i++) {
        Teilhabe__Events__V1__ListEventsRequest req = TEILHABE__EVENTS__V1__LIST_EVENTS_REQUEST__INIT;
        req.limit = 1;
        th_result_t r;
        reg_call(client, MEAS_METHOD("ListEvents"), &req.base,
                 &teilhabe__events__v1__list_events_response__descriptor, &r);
        const bool ok = r.code == TH_OK;
        th_result_clear(&r);
        if (ok)
            return true;
        if (!th_proc_alive(env->measures))
            return false;
        reg_sleep_ms(200);
    }
    return false;
}

/* The whole stack. 0 or -1 (logs in env->reg.tmp say why). */
static inline int
measures_env_start(measures_env_t *env, const char *prefix)
{
    memset(env, 0, sizeof *env);
    registry_env_t *reg = &env->reg;
    reg->tmp = th_test_tmpdir(prefix);
    if (reg->tmp == NULL || reg_make_keys(reg) != 0 ||
        th_test_keys_worker(reg->keys, "measures", "teilhabe.measures.v1.Measures") != 0 ||
        th_test_keys_client(reg->keys, "measures-client", "service", NULL, NULL) != 0 ||
        th_test_keys_client(reg->keys, "manager-gotha", "manager", "16", "16067") != 0 ||
        th_test_keys_client(reg->keys, "manager-soemmerda", "manager", "16", "16068") != 0 ||
        th_test_keys_client(reg->keys, "manager-soemmerda2", "manager", "16", "16068") != 0 ||
        reg_create_db(reg, prefix) != 0 ||
        th_test_conninfo_set(reg->db_url, "user", "teilhabe_measures", env->measures_db_url,
                             sizeof env->measures_db_url) != 0)
        return -1;
    char seed_log[1100];
    snprintf(seed_log, sizeof seed_log, "%s/seed.log", reg->tmp);
    if (reg_seed_only(reg->db_url, TH_SOURCE_DIR "/data", seed_log) != 0) {
        fprintf(stderr, "seeding the registry failed, see %s\n", seed_log);
        return -1;
    }
    const th_test_broker_opts_t opts = {.keys_dir = reg->keys, .db_url = reg->broker_db_url};
    if (th_test_broker_start(&opts, reg->tmp, &reg->broker) != 0) {
        fprintf(stderr, "broker did not start, see %s\n", reg->broker.log_path);
        return -1;
    }
    if (reg_start_registry(reg) != 0 || meas_start_measures(env) != 0)
        return -1;
    th_client_t *admin = reg_client(reg, "admin");
    const bool ready = admin != NULL && reg_wait_ready(reg, admin) && meas_wait_ready(env, admin);
    th_client_destroy(&admin);
    if (!ready)
        fprintf(stderr, "registry or measures did not answer, see %s, %s and %s\n",
                reg->registry_log, env->measures_log, reg->broker.log_path);
    return ready ? 0 : -1;
}

/* Stops everything; true when both services exited 0 on SIGTERM (under
 * ASan: without leaks). */
static inline bool
measures_env_stop(measures_env_t *env)
{
    bool clean = th_proc_stop_clean(&env->measures, "teilhabe-measures", env->measures_log);
    /* A test may have stopped the registry itself (and checked it). */
    const bool registry_running = env->reg.registry != NULL;
    const int status = registry_env_stop(&env->reg);
    return clean && (!registry_running ||
                     (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0));
}

/* A client of the principal name. */
static inline th_client_t *
meas_client(measures_env_t *env, const char *name)
{
    return reg_client(&env->reg, name);
}

/* One call with its own timeout (a write the registry must answer gets
 * UNAVAILABLE, which the client library retries until the deadline: a
 * short one keeps such a test quick). */
static inline int
meas_call(th_client_t *client, const char *method, const ProtobufCMessage *req,
          const ProtobufCMessageDescriptor *resp_desc, int timeout_ms, th_result_t *out)
{
    memset(out, 0, sizeof *out);
    th_client_call(client, method, req, resp_desc, timeout_ms, NULL, out);
    return out->code;
}

/* A measure as the test's own fixture, inserted as the owner: what
 * CreateMeasure would store, in any status, without a round of calls (the
 * tests of the reads and transitions need many). field and status are
 * tokens. The new id into id (37 bytes); 0 or -1. */
static inline int
meas_seed_measure(measures_env_t *env, const char *ags, const char *title, const char *field,
                  const char *status, char id[37])
{
    PGconn *conn = PQconnectdb(env->reg.db_url);
    int rc = -1;
    if (PQstatus(conn) == CONNECTION_OK) {
        const char *params[] = {ags, title, field, status};
        PGresult *r = PQexecParams(
            conn,
            "INSERT INTO measures.measures (ags, title, field, target_group, status, "
            "start_date, created_by, updated_by) VALUES ($1, $2, $3, 'all_residents', $4, "
            "'2024-01-01', 'fixture', 'fixture') RETURNING id",
            4, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
            snprintf(id, 37, "%s", PQgetvalue(r, 0, 0));
            rc = 0;
        } else {
            fprintf(stderr, "seeding a measure: %s", PQerrorMessage(conn));
        }
        PQclear(r);
    }
    PQfinish(conn);
    return rc;
}

/* The data rows of a reference file with a header row (its non-empty
 * lines less one); -1 when it cannot be read. */
static inline long long
meas_file_rows(const char *path)
{
    FILE *in = fopen(path, "r");
    if (in == NULL)
        return -1;
    long long lines = 0;
    char line[8192];
    while (fgets(line, sizeof line, in) != NULL)
        lines += line[0] != '\n';
    fclose(in);
    return lines - 1;
}

/* The number of rows sql counts in the test's database (owner). */
static inline long long
meas_count(measures_env_t *env, const char *sql)
{
    return reg_sql_count(env->reg.db_url, sql);
}

#endif /* MEASURES_ENV_H */
