/* ---------------------------------------------------------------------------
 * eligibility_env.h: the real stack for the eligibility integration tests.
 *
 * Included by tests/integration/test_eligibility*.c (header-only, on top of
 * measures_env.h): a fresh database, the seeded registry, a broker with
 * CURVE keys, the registry, measures and eligibility workers (the last
 * migrates its schema and publishes the shipped rule sets of data/programmes
 * at start-up, then runs as teilhabe_eligibility and asks the registry and
 * the measures service under "eligibility-client", role service, federal).
 *
 * Principals: those of registry_env.h and measures_env.h, and
 *   ministry-nw   ministry of Land 05 (Nordrhein-Westfalen)
 *   manager-nw    manager of Land 05, district scope 05111 (Düsseldorf)
 *   ministry-bw   ministry of Land 08 (Baden-Württemberg)
 * ---------------------------------------------------------------------------
 */
#ifndef ELIGIBILITY_ENV_H
#define ELIGIBILITY_ENV_H

#include "measures_env.h"
#include "teilhabe/v1/eligibility.pb-c.h"

#define ELIG_METHOD(name) "teilhabe.eligibility.v1.Eligibility/" name

typedef struct {
    measures_env_t meas;
    char eligibility_db_url[2048];
    th_proc_t *eligibility;
    char eligibility_log[1100];
    /* The re-check job's interval (ms, as text): "0" (off, so the tests
     * of the methods see only their own decisions) unless a test sets it
     * before eligibility_env_start. */
    char job_interval_ms[16];
} eligibility_env_t;

static inline int
elig_start_eligibility(eligibility_env_t *env)
{
    /* debug: the re-check job says there why it deferred a round. */
    const char *extra[] = {"--job-interval-ms",
                           env->job_interval_ms[0] != '\0' ? env->job_interval_ms : "0",
                           "--log-level", "debug", NULL};
    return meas_start_worker(&env->meas, "eligibility", TH_TEST_ELIGIBILITY_BIN,
                             env->eligibility_db_url, extra, &env->eligibility,
                             env->eligibility_log, sizeof env->eligibility_log);
}

/* Waits until the eligibility service answers through the broker: its
 * migrations done and the shipped rule sets published. */
static inline bool
elig_wait_ready(eligibility_env_t *env, th_client_t *client)
{
    for (int i = 0; i < 150; i++) {
        Teilhabe__Eligibility__V1__ListProgrammesRequest req =
            TEILHABE__ELIGIBILITY__V1__LIST_PROGRAMMES_REQUEST__INIT;
        th_result_t r;
        reg_call(client, ELIG_METHOD("ListProgrammes"), &req.base,
                 &teilhabe__eligibility__v1__list_programmes_response__descriptor, &r);
        const bool ok = r.code == TH_OK;
        th_result_clear(&r);
        if (ok)
            return true;
        if (!th_proc_alive(env->eligibility))
            return false;
        reg_sleep_ms(200);
    }
    return false;
}

/* Starts the stack; job_interval_ms: of the re-check job ("0" = off). */
static inline int
eligibility_env_start(eligibility_env_t *env, const char *prefix,
                      const char *job_interval_ms)
{
    memset(env, 0, sizeof *env);
    snprintf(env->job_interval_ms, sizeof env->job_interval_ms, "%s", job_interval_ms);
    measures_env_t *m = &env->meas;
    registry_env_t *reg = &m->reg;
    reg->tmp = th_test_tmpdir(prefix);
    if (reg->tmp == NULL || reg_make_keys(reg) != 0 ||
        th_test_keys_worker(reg->keys, "measures", "teilhabe.measures.v1.Measures") != 0 ||
        th_test_keys_client(reg->keys, "measures-client", "service", NULL, NULL) != 0 ||
        th_test_keys_worker(reg->keys, "eligibility",
                            "teilhabe.eligibility.v1.Eligibility") != 0 ||
        th_test_keys_client(reg->keys, "eligibility-client", "service", NULL, NULL) != 0 ||
        th_test_keys_client(reg->keys, "ministry-nw", "ministry", "05", NULL) != 0 ||
        th_test_keys_client(reg->keys, "manager-nw", "manager", "05", "05111") != 0 ||
        th_test_keys_client(reg->keys, "ministry-bw", "ministry", "08", NULL) != 0 ||
        reg_create_db(reg, prefix) != 0 ||
        th_test_conninfo_set(reg->db_url, "user", "teilhabe_measures", m->measures_db_url,
                             sizeof m->measures_db_url) != 0 ||
        th_test_conninfo_set(reg->db_url, "user", "teilhabe_eligibility",
                             env->eligibility_db_url, sizeof env->eligibility_db_url) != 0)
        return -1;
    char seed_log[1100];
    snprintf(seed_log, sizeof seed_log, "%s/seed.log", reg->tmp);
    if (reg_seed_only(reg->db_url, TH_SOURCE_DIR "/data", seed_log) != 0) {
        fprintf(stderr, "seeding the registry failed, see %s\n", seed_log);
        return -1;
    }
    const th_test_broker_opts_t opts = {.keys_dir = reg->keys,
                                        .db_url = reg->broker_db_url};
    if (th_test_broker_start(&opts, reg->tmp, &reg->broker) != 0) {
        fprintf(stderr, "broker did not start, see %s\n", reg->broker.log_path);
        return -1;
    }
    if (reg_start_registry(reg) != 0 || meas_start_measures(m) != 0 ||
        elig_start_eligibility(env) != 0)
        return -1;
    th_client_t *admin = reg_client(reg, "admin");
    const bool ready = admin != NULL && reg_wait_ready(reg, admin) &&
                       meas_wait_ready(m, admin) && elig_wait_ready(env, admin);
    th_client_destroy(&admin);
    if (!ready)
        fprintf(stderr, "a service did not answer, see the logs in %s\n", reg->tmp);
    return ready ? 0 : -1;
}

/* Stops everything; true when every service exited 0 on SIGTERM. */
static inline bool
eligibility_env_stop(eligibility_env_t *env)
{
    const bool clean =
        th_proc_stop_clean(&env->eligibility, "teilhabe-eligibility", env->eligibility_log);
    return measures_env_stop(&env->meas) && clean;
}

static inline th_client_t *
elig_client(eligibility_env_t *env, const char *name)
{
    return reg_client(&env->meas.reg, name);
}

static inline long long
elig_count(eligibility_env_t *env, const char *sql)
{
    return reg_sql_count(env->meas.reg.db_url, sql);
}

/* The call's status, printed with its message when it is not expected. */
static inline int
elig_expect(int code, const th_result_t *r, int expected)
{
    if (code != expected)
        fprintf(stderr, "expected %s, got %s: %s\n", th_status_name(expected),
                th_status_name(code), r->message);
    return code;
}

/* Evaluate(programme, ags, as_of, lang) as c; the result in r. */
static inline int
elig_evaluate(th_client_t *c, const char *programme, const char *ags, const char *as_of,
              const char *lang, th_result_t *r)
{
    Teilhabe__Eligibility__V1__EvaluateRequest req =
        TEILHABE__ELIGIBILITY__V1__EVALUATE_REQUEST__INIT;
    req.programme_code = (char *) programme;
    req.ags = (char *) ags;
    req.as_of = (char *) as_of;
    req.lang = (char *) lang;
    return meas_call(c, ELIG_METHOD("Evaluate"), &req.base,
                     &teilhabe__eligibility__v1__decision__descriptor, 10000, r);
}

/* The trace line of criterion id in d, or NULL. */
static inline const Teilhabe__Eligibility__V1__TraceLine *
elig_line(const Teilhabe__Eligibility__V1__Decision *d, const char *id)
{
    for (size_t i = 0; i < d->n_trace; i++)
        if (strcmp(d->trace[i]->criterion, id) == 0)
            return d->trace[i];
    return NULL;
}

#endif /* ELIGIBILITY_ENV_H */
