/* ---------------------------------------------------------------------------
 * bench_measures.c: the measures service's two goals of issue 8, each path
 * next to its reference measured in the same run (bench_table.h):
 *
 *   ImportValues  100,000 indicator values from CSV through the broker and
 *                 the service (chunks of 512 KiB, checks, the registry asked
 *                 once per district, COPY into the staging table, one
 *                 INSERT ... ON CONFLICT, audit and events), next to a COPY
 *                 of the same rows into measures.indicator_values on one
 *                 libpq connection (the table empty before each, as for the
 *                 import). Goal: >= 50% of COPY's values per second.
 *   CreateMeasure through the broker (authorization, checks, the registry
 *                 asked whether the district exists, audit row, outbox event,
 *                 idempotency record, one transaction), next to a bare
 *                 libpq single-row INSERT into measures.measures with
 *                 synchronous_commit on; 1 client and 8 concurrent clients,
 *                 p50/p99. Goal: >= 50% of the INSERT's calls per second.
 *
 * Starts its own stack (measures_env.h: fresh database on
 * TEILHABE_TEST_DB_URL's server, broker, registry, measures with 4 handler
 * threads). Misses are reported, not failed; errors exit 1.
 *
 * Usage: bench_measures [--calls N] [--values N]
 * ---------------------------------------------------------------------------
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <czmq.h>

#include "../integration/measures_csv.h"
#include "../integration/measures_env.h"
#include "bench_table.h"
#include "th_period.h"

#define S_THREADS 8

typedef struct {
    measures_env_t *env;
    bool reference; /* libpq INSERT instead of CreateMeasure */
    int calls;
    int64_t *latencies_us;
    int failures;
} s_job_t;

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
    th_client_t *client = NULL;
    PGconn *conn = NULL;
    if (job->reference) {
        conn = PQconnectdb(job->env->reg.db_url);
        if (PQstatus(conn) != CONNECTION_OK) {
            job->failures = job->calls;
            PQfinish(conn);
            return NULL;
        }
        PQclear(PQexec(conn, "SET synchronous_commit = on"));
    } else {
        client = meas_client(job->env, "ministry-th");
        if (client == NULL) {
            job->failures = job->calls;
            return NULL;
        }
    }
    for (int i = 0; i < job->calls; i++) {
        const int64_t start = zclock_usecs();
        bool ok;
        if (job->reference) {
            const char *params[] = {"16068", "Sprachcafé"};
            PGresult *r = PQexecParams(
                conn,
                "INSERT INTO measures.measures (ags, title, field, target_group, status, "
                "created_by, updated_by) VALUES ($1, $2, 'language', 'all_residents', "
                "'planned', 'bench', 'bench') RETURNING id",
                2, NULL, params, NULL, NULL, 0);
            ok = PQresultStatus(r) == PGRES_TUPLES_OK;
            PQclear(r);
        } else {
            Teilhabe__Measures__V1__Measure m = TEILHABE__MEASURES__V1__MEASURE__INIT;
            m.ags = "16068";
            m.title = "Sprachcafé";
            m.field = TEILHABE__COMMON__V1__FIELD_OF_ACTION__FIELD_OF_ACTION_LANGUAGE;
            m.target_group = TEILHABE__MEASURES__V1__TARGET_GROUP__TARGET_GROUP_ALL_RESIDENTS;
            Teilhabe__Measures__V1__CreateMeasureRequest req =
                TEILHABE__MEASURES__V1__CREATE_MEASURE_REQUEST__INIT;
            req.measure = &m;
            th_result_t r;
            ok = meas_call(client, MEAS_METHOD("CreateMeasure"), &req.base,
                           &teilhabe__measures__v1__measure__descriptor, 5000, &r) == TH_OK;
            th_result_clear(&r);
        }
        job->latencies_us[i] = zclock_usecs() - start;
        job->failures += !ok;
    }
    th_client_destroy(&client);
    PQfinish(conn);
    return NULL;
}

static int
s_measure(measures_env_t *env, const char *name, bool reference, int threads, int calls,
          bench_line_t *out)
{
    s_job_t jobs[S_THREADS];
    pthread_t tids[S_THREADS];
    int64_t *all = calloc((size_t) threads * (size_t) calls, sizeof *all);
    if (all == NULL)
        return -1;
    const int64_t start = zclock_usecs();
    for (int t = 0; t < threads; t++) {
        jobs[t] = (s_job_t){.env = env,
                            .reference = reference,
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
    *out = (bench_line_t){.name = name,
                          .calls_per_s = (double) n / seconds,
                          .p50_us = (double) all[n / 2],
                          .p99_us = (double) all[(n * 99) / 100],
                          .failures = failures};
    free(all);
    return 0;
}

/* The same n values as COPY text for measures.indicator_values. */
static char *
s_copy_text(size_t n, size_t *len)
{
    const size_t cap = n * 128;
    char *buf = malloc(cap);
    if (buf == NULL)
        return NULL;
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        const char *ags, *code, *dis;
        char period[16];
        long long num, den;
        meas_csv_value(i, 0, &ags, &code, period, &dis, &num, &den);
        th_period_t p;
        char first[TH_DATE_LEN + 1], last[TH_DATE_LEN + 1];
        th_period_parse(period, &p);
        th_period_first_day(&p, first);
        th_period_last_day(&p, last);
        pos += (size_t) snprintf(buf + pos, cap - pos,
                                 "%s\t%s\t%s\t%s\t%s\t%s\t%lld\t%lld\tTestdaten\t\tbench\n", ags,
                                 code, period, dis, first, last, num, den);
    }
    *len = pos;
    return buf;
}

/* One COPY of text into the values (emptied first). */
static int
s_copy(measures_env_t *env, const char *text, size_t len, size_t n, bench_line_t *out)
{
    free(reg_sql_value(env->reg.db_url, "DELETE FROM measures.indicator_values"));
    PGconn *conn = PQconnectdb(env->reg.db_url);
    int rc = -1;
    const int64_t start = zclock_usecs();
    PGresult *r = PQexec(conn, "COPY measures.indicator_values (ags, indicator_code, period, "
                               "disaggregation, period_start, period_end, numerator, "
                               "denominator, source, note, updated_by) FROM STDIN");
    if (PQresultStatus(r) == PGRES_COPY_IN) {
        PQclear(r);
        if (PQputCopyData(conn, text, (int) len) == 1 && PQputCopyEnd(conn, NULL) == 1) {
            r = PQgetResult(conn);
            rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
            if (rc != 0)
                fprintf(stderr, "bench_measures: COPY: %s", PQerrorMessage(conn));
            PQclear(r);
            while ((r = PQgetResult(conn)) != NULL)
                PQclear(r);
        }
    } else {
        fprintf(stderr, "bench_measures: COPY: %s", PQerrorMessage(conn));
        PQclear(r);
    }
    const double us = (double) (zclock_usecs() - start);
    PQfinish(conn);
    *out = (bench_line_t){.name = "COPY (libpq, owner)",
                          .calls_per_s = (double) n / (us / 1e6),
                          .p50_us = us,
                          .p99_us = us,
                          .failures = rc != 0};
    return rc;
}

/* One import of text through the service (the values emptied first). */
static int
s_import(measures_env_t *env, th_client_t *client, const char *text, size_t len, size_t n,
         bench_line_t *out)
{
    free(reg_sql_value(env->reg.db_url, "DELETE FROM measures.indicator_values"));
    th_result_t r;
    const int64_t start = zclock_usecs();
    const int code = meas_import(client, text, len, false, 300000, &r);
    const double us = (double) (zclock_usecs() - start);
    const bool ok = code == TH_OK &&
                    ((const Teilhabe__Measures__V1__ImportValuesResponse *) r.response)
                            ->created == (int64_t) n;
    if (!ok)
        fprintf(stderr, "bench_measures: import: %s %s\n", th_status_name(code), r.message);
    th_result_clear(&r);
    *out = (bench_line_t){.name = "ImportValues (via broker)",
                          .calls_per_s = (double) n / (us / 1e6),
                          .p50_us = us,
                          .p99_us = us,
                          .failures = !ok};
    return ok ? 0 : -1;
}

static void
s_goal(const char *what, const bench_line_t *path, const bench_line_t *ref)
{
    const double ratio = bench_ratio(path, ref);
    printf("goal, %s: >= 50%% of the reference %s (%.1f%%)\n", what,
           ratio >= 0.5 ? "met" : "NOT met", 100.0 * ratio);
}

int
main(int argc, char **argv)
{
    int calls = 2000;
    size_t values = 100000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--calls") == 0)
            calls = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--values") == 0)
            values = (size_t) atol(argv[i + 1]);
    }
    if (calls < S_THREADS || values < 1 || values > 500000) {
        fprintf(stderr, "usage: bench_measures [--calls N >= 8] [--values 1..500000]\n");
        return 2;
    }
    measures_env_t env;
    int rc = 1;
    th_client_t *client = NULL;
    size_t csv_len = 0, copy_len = 0;
    char *csv = meas_csv_values(values, 0, &csv_len);
    char *copy = s_copy_text(values, &copy_len);
    if (csv == NULL || copy == NULL || measures_env_start(&env, "benchmeas") != 0) {
        fprintf(stderr, "bench_measures: the stack did not start\n");
        goto cleanup;
    }
    client = meas_client(&env, "ministry-th");
    bench_line_t warm, copy1, imp1, copy2, imp2, ins1, cre1, ins8, cre8;
    if (client == NULL || s_import(&env, client, csv, csv_len, values, &warm) != 0 ||
        s_copy(&env, copy, copy_len, values, &copy1) != 0 ||
        s_import(&env, client, csv, csv_len, values, &imp1) != 0 ||
        s_copy(&env, copy, copy_len, values, &copy2) != 0 ||
        s_import(&env, client, csv, csv_len, values, &imp2) != 0 ||
        s_measure(&env, "warm", false, 1, 100, &warm) != 0 ||
        s_measure(&env, "warm", true, 1, 100, &warm) != 0 ||
        s_measure(&env, "INSERT (libpq), 1 client", true, 1, calls, &ins1) != 0 ||
        s_measure(&env, "CreateMeasure, 1 client", false, 1, calls, &cre1) != 0 ||
        s_measure(&env, "INSERT (libpq), 8 clients", true, S_THREADS, calls / S_THREADS,
                  &ins8) != 0 ||
        s_measure(&env, "CreateMeasure, 8 clients", false, S_THREADS, calls / S_THREADS,
                  &cre8) != 0)
        goto cleanup;
    printf("bench_measures: %zu values per import (%.1f MB of CSV; values/s, p50 = the whole "
           "import in us), %d calls per CreateMeasure line; loopback, CURVE on\n",
           values, (double) csv_len / 1e6, calls);
    bench_table_head();
    bench_table_line(&imp1, &copy1);
    bench_table_line(&imp2, &copy2);
    bench_table_line(&cre1, &ins1);
    bench_table_line(&cre8, &ins8);
    s_goal("ImportValues of 100,000 (1st)", &imp1, &copy1);
    s_goal("ImportValues of 100,000 (2nd)", &imp2, &copy2);
    s_goal("CreateMeasure, 1 client", &cre1, &ins1);
    s_goal("CreateMeasure, 8 clients", &cre8, &ins8);
    rc = cre1.failures || ins1.failures || cre8.failures || ins8.failures ? 1 : 0;
cleanup:
    th_client_destroy(&client);
    free(csv);
    free(copy);
    if (env.reg.tmp != NULL && !measures_env_stop(&env))
        rc = 1;
    return rc;
}
