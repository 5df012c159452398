/* ---------------------------------------------------------------------------
 * bench_registry.c: GetDistrict through the broker next to a bare libpq
 * primary-key lookup against the same database, in one run.
 *
 * Starts its own stack (fresh database on TEILHABE_TEST_DB_URL's server,
 * teilhabe-broker with CURVE, teilhabe-registry with 4 handler threads) and
 * measures, on loopback:
 *   libpq     SELECT of one district by AGS (the same columns and join the
 *             registry uses) on one connection per client with PQexecParams,
 *             and (1 client) as a prepared statement, which the registry
 *             itself uses for its hot reads;
 *   registry  teilhabe.registry.v1.Registry/GetDistrict through the broker;
 * each with 1 client sequentially and 8 concurrent clients, as calls/s and
 * p50/p99, and the ratio registry/libpq. Then ListDistricts of all 401
 * districts (as of 2018-12-31) sequentially: p50/p99.
 * Goals (issue 3): sequential GetDistrict >= 50% of bare libpq; ListDistricts
 * p50 < 5 ms. Misses are reported, not failed; errors exit 1.
 *
 * Usage: bench_registry [--calls N]
 * ---------------------------------------------------------------------------
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <czmq.h>

#include "../integration/registry_env.h"

#define S_THREADS 8
/* The registry's GetDistrict query (store.c): the district with its figures
 * of the date asked for ($2). */
#define S_DISTRICT_SQL                                                                     \
    "SELECT d.ags, d.name, d.official_kind, d.kind, d.state_code, s.name, d.nuts3, "       \
    "f.area_km2::text, f.population, f.population_male, f.population_female, "             \
    "to_char(f.population_date, 'YYYY-MM-DD'), f.population_per_km2, "                     \
    "registry.settlement_type(d.kind, f.population, f.population_per_km2), "               \
    "to_char(d.valid_from, 'YYYY-MM-DD'), coalesce(to_char(d.valid_to, 'YYYY-MM-DD'), "    \
    "''), coalesce(d.successor_ags, ''), to_char(f.valid_from, 'YYYY-MM-DD') "             \
    "FROM registry.districts d JOIN registry.states s ON s.code = d.state_code "           \
    "JOIN LATERAL (SELECT * FROM registry.district_figures x WHERE x.ags = d.ags AND "     \
    "x.valid_from <= greatest(coalesce($2::date, 'infinity'), d.valid_from) "              \
    "ORDER BY x.valid_from DESC LIMIT 1) f ON true WHERE d.ags = $1"

typedef struct {
    int kind; /* 0 libpq, 1 GetDistrict, 2 ListDistricts, 3 libpq prepared */
    registry_env_t *env;
    const char *const *ags;
    size_t n_ags;
    int calls;
    int64_t *latencies_us;
    int failures;
} s_job_t;

typedef struct {
    double per_s;
    double p50_us;
    double p99_us;
    int failures;
} s_result_t;

static int
s_cmp(const void *a, const void *b)
{
    const int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return (x > y) - (x < y);
}

static void *
s_run(void *arg)
{
    s_job_t *job = arg;
    PGconn *conn = NULL;
    th_client_t *client = NULL;
    if (job->kind == 0 || job->kind == 3) {
        conn = PQconnectdb(job->env->db_url);
        PGresult *prepared =
            job->kind == 3 ? PQprepare(conn, "district", S_DISTRICT_SQL, 2, NULL) : NULL;
        const bool ok = PQstatus(conn) == CONNECTION_OK &&
                        (prepared == NULL || PQresultStatus(prepared) == PGRES_COMMAND_OK);
        PQclear(prepared);
        if (!ok) {
            job->failures = job->calls;
            PQfinish(conn);
            return NULL;
        }
    } else {
        client = reg_client(job->env, "analyst");
        if (client == NULL) {
            job->failures = job->calls;
            return NULL;
        }
    }
    for (int i = 0; i < job->calls; i++) {
        const char *ags = job->ags[(size_t) i % job->n_ags];
        const int64_t start = zclock_usecs();
        bool ok = false;
        if (job->kind == 0) {
            const char *params[] = {ags, "2018-12-31"};
            PGresult *r =
                PQexecParams(conn, S_DISTRICT_SQL, 2, NULL, params, NULL, NULL, 0);
            ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
            PQclear(r);
        } else if (job->kind == 3) {
            const char *params[] = {ags, "2018-12-31"};
            PGresult *r = PQexecPrepared(conn, "district", 2, params, NULL, NULL, 0);
            ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
            PQclear(r);
        } else if (job->kind == 1) {
            Teilhabe__Registry__V1__GetDistrictRequest req =
                TEILHABE__REGISTRY__V1__GET_DISTRICT_REQUEST__INIT;
            req.ags = (char *) ags;
            req.as_of = "2018-12-31";
            th_result_t r;
            memset(&r, 0, sizeof r);
            th_client_call(client, REG_METHOD("GetDistrict"), &req.base,
                           &teilhabe__registry__v1__district__descriptor, 5000, NULL, &r);
            ok = r.code == TH_OK;
            th_result_clear(&r);
        } else {
            Teilhabe__Registry__V1__ListDistrictsRequest req =
                TEILHABE__REGISTRY__V1__LIST_DISTRICTS_REQUEST__INIT;
            req.as_of = "2018-12-31";
            req.page_size = 500;
            th_result_t r;
            memset(&r, 0, sizeof r);
            th_client_call(client, REG_METHOD("ListDistricts"), &req.base,
                           &teilhabe__registry__v1__list_districts_response__descriptor,
                           5000, NULL, &r);
            ok = r.code == TH_OK &&
                 ((const Teilhabe__Registry__V1__ListDistrictsResponse *) r.response)
                         ->n_districts == 401;
            th_result_clear(&r);
        }
        job->latencies_us[i] = zclock_usecs() - start;
        job->failures += !ok;
    }
    PQfinish(conn);
    th_client_destroy(&client);
    return NULL;
}

/* Runs kind with threads clients of calls each; fills *out. */
static int
s_measure(registry_env_t *env, int kind, int threads, int calls, const char *const *ags,
          size_t n_ags, s_result_t *out)
{
    s_job_t jobs[S_THREADS];
    pthread_t tids[S_THREADS];
    int64_t *all = calloc((size_t) threads * (size_t) calls, sizeof *all);
    if (all == NULL)
        return -1;
    const int64_t start = zclock_usecs();
    for (int t = 0; t < threads; t++) {
        jobs[t] = (s_job_t){.kind = kind,
                            .env = env,
                            .ags = ags + (size_t) t % n_ags,
                            .n_ags = n_ags - (size_t) t % n_ags,
                            .calls = calls,
                            .latencies_us = all + (size_t) t * (size_t) calls};
        if (pthread_create(&tids[t], NULL, s_run, &jobs[t]) != 0) {
            free(all);
            return -1;
        }
    }
    int failures = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(tids[t], NULL);
        failures += jobs[t].failures;
    }
    const double seconds = (double) (zclock_usecs() - start) / 1e6;
    const size_t n = (size_t) threads * (size_t) calls;
    qsort(all, n, sizeof *all, s_cmp);
    out->per_s = (double) n / seconds;
    out->p50_us = (double) all[n / 2];
    out->p99_us = (double) all[(n * 99) / 100];
    out->failures = failures;
    free(all);
    return 0;
}

static void
s_print(const char *name, const s_result_t *r)
{
    printf("  %-34s %10.0f calls/s   p50 %8.1f us   p99 %8.1f us%s\n", name, r->per_s,
           r->p50_us, r->p99_us, r->failures ? "   FAILURES" : "");
}

int
main(int argc, char **argv)
{
    int calls = 4000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--calls") == 0 && i + 1 < argc)
            calls = atoi(argv[++i]);
    }
    if (calls < 100)
        calls = 100;
    if (th_test_db_url() == NULL) {
        fprintf(
            stderr,
            "bench_registry: TEILHABE_TEST_DB_URL is not set (run it with ops/bench)\n");
        return 1;
    }
    registry_env_t env;
    int rc = 1;
    if (registry_env_start(&env, "benchreg") != 0) {
        fprintf(stderr, "bench_registry: could not start the stack\n");
        registry_env_stop(&env);
        return 1;
    }
    /* Every AGS of the reference date, so lookups spread over the table. */
    static char ags_store[401][6];
    const char *ags[401];
    size_t n_ags = 0;
    PGconn *conn = PQconnectdb(env.db_url);
    PGresult *r = PQexec(conn, "SELECT ags FROM registry.districts ORDER BY ags");
    for (int i = 0; PQresultStatus(r) == PGRES_TUPLES_OK && i < PQntuples(r) && n_ags < 401;
         i++) {
        snprintf(ags_store[n_ags], sizeof ags_store[n_ags], "%s", PQgetvalue(r, i, 0));
        ags[n_ags] = ags_store[n_ags];
        n_ags++;
    }
    PQclear(r);
    PQfinish(conn);
    if (n_ags != 401) {
        fprintf(stderr, "bench_registry: expected 401 districts, found %zu\n", n_ags);
        goto cleanup;
    }

    s_result_t pq1, pq8, prep1, reg1, reg8, list1, warm;
    /* Warm-up: connections, plans, caches. */
    if (s_measure(&env, 1, 1, 200, ags, n_ags, &warm) != 0 ||
        s_measure(&env, 0, 1, 200, ags, n_ags, &warm) != 0 ||
        s_measure(&env, 0, 1, calls, ags, n_ags, &pq1) != 0 ||
        s_measure(&env, 3, 1, calls, ags, n_ags, &prep1) != 0 ||
        s_measure(&env, 1, 1, calls, ags, n_ags, &reg1) != 0 ||
        s_measure(&env, 0, S_THREADS, calls / S_THREADS, ags, n_ags, &pq8) != 0 ||
        s_measure(&env, 1, S_THREADS, calls / S_THREADS, ags, n_ags, &reg8) != 0 ||
        s_measure(&env, 2, 1, 200, ags, n_ags, &list1) != 0)
        goto cleanup;

    printf("bench_registry: %d calls per measurement, loopback, CURVE on\n", calls);
    printf("GetDistrict by AGS:\n");
    s_print("bare libpq, 1 client", &pq1);
    s_print("bare libpq prepared, 1 client", &prep1);
    s_print("registry via broker, 1 client", &reg1);
    s_print("bare libpq, 8 clients", &pq8);
    s_print("registry via broker, 8 clients", &reg8);
    const double ratio1 = reg1.per_s / pq1.per_s, ratio8 = reg8.per_s / pq8.per_s;
    printf(
        "  ratio registry/libpq: sequential %.0f%% (goal >= 50%%: %s), 8 clients %.0f%%\n",
        100.0 * ratio1, ratio1 >= 0.5 ? "met" : "MISSED", 100.0 * ratio8);
    printf("  (the registry prepares its hot reads; against the prepared bare loop the "
           "sequential ratio is %.0f%%)\n",
           100.0 * reg1.per_s / prep1.per_s);
    printf("ListDistricts, all 401:\n");
    s_print("registry via broker, 1 client", &list1);
    printf("  p50 %.2f ms (goal < 5 ms: %s)\n", list1.p50_us / 1000.0,
           list1.p50_us < 5000.0 ? "met" : "MISSED");
    rc = pq1.failures || prep1.failures || pq8.failures || reg1.failures || reg8.failures ||
                 list1.failures
             ? 1
             : 0;
    if (rc != 0)
        fprintf(stderr, "bench_registry: some calls failed (logs in %s)\n", env.tmp);

cleanup:
    registry_env_stop(&env);
    return rc;
}
