/* ---------------------------------------------------------------------------
 * bench_eligibility.c: the eligibility service's goals of issue 9, each path
 * next to its reference measured in the same run (bench_table.h):
 *
 *   EvaluateBatch  every shipped programme over every district in Germany
 *                  (state "all"), facts gathered over the broker from the
 *                  registry and the measures service, every decision stored
 *                  with its facts, audit row, events, one transaction per
 *                  programme. Reported: decisions per second and the time of
 *                  the whole federal batch (all programmes), p50 over the
 *                  rounds. Goal: the federal batch under 1 s (250 ms
 *                  excellent). Reference: the same decision rows (as
 *                  stored, facts included) inserted with bare libpq, one
 *                  prepared INSERT per row in one transaction: the floor of
 *                  storing them.
 *   Evaluate       one district (05111 under nrw-ki), 1 client, p50/p99,
 *                  next to GetProgramme through the same broker and
 *                  service (one hop, one small read): what gathering the
 *                  facts and deciding add to a call.
 *
 * Starts its own stack (eligibility_env.h, the re-check job off). Facts:
 * the seeded registry, a concept and an application for a few NRW
 * districts, protection seekers for every BW district. Misses are reported,
 * not failed; errors exit 1.
 *
 * Usage: bench_eligibility [--rounds N] [--calls N]
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <czmq.h>

#include "../integration/eligibility_env.h"
#include "bench_table.h"

static const char *const s_programmes[] = {"bw-integration-management", "nrw-ki",
                                           "th-integration-management"};
#define S_PROGRAMMES 3

static int
s_cmp(const void *a, const void *b)
{
    const int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return (x > y) - (x < y);
}

/* Facts worth deciding: NRW concepts and applications, BW weights. */
static int
s_facts(eligibility_env_t *env)
{
    const char *sql[] = {
        "INSERT INTO registry.concepts (ags, title, adopted_on, orientation, fields, "
        "version, "
        "is_current, created_by) SELECT ags, 'Konzept', DATE '2024-03-01', "
        "'participation', "
        "'{language}', 1, true, 'bench' FROM registry.districts WHERE state_code = '05' "
        "AND valid_to IS NULL AND ags < '05300'",
        "INSERT INTO eligibility.applications (programme_code, ags, council_decision, "
        "work_plan, updated_by) SELECT 'nrw-ki', ags, DATE '2024-04-01', true, 'bench' "
        "FROM registry.districts WHERE state_code = '05' AND valid_to IS NULL",
        "INSERT INTO measures.indicator_values (ags, indicator_code, period, "
        "disaggregation, "
        "period_start, period_end, numerator, denominator, source, note, updated_by) "
        "SELECT ags, 'protection_seekers', '2024', 'total', DATE '2024-01-01', "
        "DATE '2024-12-31', 1000 + substr(ags, 3, 3)::int * 37, 0, 'bench', '', 'bench' "
        "FROM registry.districts WHERE state_code = '08' AND valid_to IS NULL",
    };
    PGconn *conn = PQconnectdb(env->meas.reg.db_url);
    int rc = PQstatus(conn) == CONNECTION_OK ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < sizeof sql / sizeof *sql; i++) {
        PGresult *r = PQexec(conn, sql[i]);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            fprintf(stderr, "bench_eligibility: facts: %s", PQerrorMessage(conn));
            rc = -1;
        }
        PQclear(r);
    }
    PQfinish(conn);
    return rc;
}

/* One federal batch: every programme, state "all". *decisions counted;
 * the run ids into runs. Microseconds, or -1. */
static int64_t
s_batch(th_client_t *client, int *decisions, char runs[S_PROGRAMMES][40])
{
    const int64_t start = zclock_usecs();
    *decisions = 0;
    for (int p = 0; p < S_PROGRAMMES; p++) {
        Teilhabe__Eligibility__V1__EvaluateBatchRequest req =
            TEILHABE__ELIGIBILITY__V1__EVALUATE_BATCH_REQUEST__INIT;
        req.programme_code = (char *) s_programmes[p];
        req.state_code = (char *) "all";
        req.as_of = (char *) "2025-06-30";
        req.page_size = 500;
        th_result_t r;
        if (meas_call(client, ELIG_METHOD("EvaluateBatch"), &req.base,
                      &teilhabe__eligibility__v1__evaluate_batch_response__descriptor,
                      60000, &r) != TH_OK) {
            fprintf(stderr, "bench_eligibility: EvaluateBatch %s: %s\n", s_programmes[p],
                    r.message);
            th_result_clear(&r);
            return -1;
        }
        const Teilhabe__Eligibility__V1__EvaluateBatchResponse *b =
            (const void *) r.response;
        *decisions += b->districts;
        snprintf(runs[p], 40, "%s", b->run_id);
        th_result_clear(&r);
    }
    return zclock_usecs() - start;
}

/* The reference: the rows of runs inserted again with bare libpq, one
 * prepared INSERT per row, one transaction. Microseconds, or -1. */
static int64_t
s_reference(eligibility_env_t *env, char runs[S_PROGRAMMES][40], int *rows)
{
    PGconn *conn = PQconnectdb(env->meas.reg.db_url);
    if (PQstatus(conn) != CONNECTION_OK) {
        PQfinish(conn);
        return -1;
    }
    const char *params[] = {runs[0], runs[1], runs[2]};
    PGresult *all = PQexecParams(
        conn,
        "SELECT programme_code, rule_version::text, rule_hash, ags, district_name, "
        "as_of::text, outcome, entitlement_cents::text, illustrative::text, "
        "attainable::text, "
        "summary_de, summary_en, facts::text, trigger, run_id, changed::text, decided_by "
        "FROM eligibility.decisions WHERE run_id IN ($1, $2, $3)",
        3, NULL, params, NULL, NULL, 0);
    int64_t us = -1;
    PGresult *prep = PQprepare(
        conn, "ref_insert",
        "INSERT INTO eligibility.decisions (programme_code, rule_version, rule_hash, ags, "
        "district_name, as_of, outcome, entitlement_cents, illustrative, attainable, "
        "summary_de, summary_en, facts, trigger, run_id, changed, decided_by) VALUES ($1, "
        "$2::int, $3, $4, $5, $6::date, $7, $8::bigint, $9::boolean, $10::boolean, $11, "
        "$12, "
        "$13::bytea, $14, $15 || '-ref', $16::boolean, $17) RETURNING id",
        17, NULL);
    if (PQresultStatus(all) == PGRES_TUPLES_OK &&
        PQresultStatus(prep) == PGRES_COMMAND_OK) {
        *rows = PQntuples(all);
        const int64_t start = zclock_usecs();
        PQclear(PQexec(conn, "BEGIN"));
        bool ok = true;
        for (int i = 0; ok && i < *rows; i++) {
            const char *v[17];
            for (int c = 0; c < 17; c++)
                v[c] = PQgetvalue(all, i, c);
            PGresult *r = PQexecPrepared(conn, "ref_insert", 17, v, NULL, NULL, 0);
            ok = PQresultStatus(r) == PGRES_TUPLES_OK;
            if (!ok)
                fprintf(stderr, "bench_eligibility: reference: %s", PQerrorMessage(conn));
            PQclear(r);
        }
        PGresult *c = PQexec(conn, ok ? "COMMIT" : "ROLLBACK");
        ok = ok && PQresultStatus(c) == PGRES_COMMAND_OK;
        PQclear(c);
        if (ok)
            us = zclock_usecs() - start;
    }
    PQclear(all);
    PQclear(prep);
    PQfinish(conn);
    return us;
}

/* calls of method with req, 1 client; the line. */
static int
s_calls(th_client_t *client, const char *name, const char *method,
        const ProtobufCMessage *req, const ProtobufCMessageDescriptor *desc, int calls,
        bench_line_t *out)
{
    int64_t *lat = calloc((size_t) calls, sizeof *lat);
    if (lat == NULL)
        return -1;
    int failures = 0;
    const int64_t start = zclock_usecs();
    for (int i = 0; i < calls; i++) {
        th_result_t r;
        const int64_t t0 = zclock_usecs();
        failures += meas_call(client, method, req, desc, 10000, &r) != TH_OK;
        lat[i] = zclock_usecs() - t0;
        th_result_clear(&r);
    }
    const double seconds = (double) (zclock_usecs() - start) / 1e6;
    qsort(lat, (size_t) calls, sizeof *lat, s_cmp);
    *out = (bench_line_t){.name = name,
                          .calls_per_s = calls / seconds,
                          .p50_us = (double) lat[calls / 2],
                          .p99_us = (double) lat[(calls * 99) / 100],
                          .failures = failures};
    free(lat);
    return failures == 0 ? 0 : -1;
}

int
main(int argc, char **argv)
{
    int rounds = 5, calls = 200;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--rounds") == 0)
            rounds = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--calls") == 0)
            calls = atoi(argv[i + 1]);
    }
    if (rounds < 1 || rounds > 100 || calls < 10 || calls > 100000) {
        fprintf(stderr,
                "usage: bench_eligibility [--rounds 1..100] [--calls 10..100000]\n");
        return 2;
    }
    eligibility_env_t env;
    memset(&env, 0, sizeof env);
    int rc = 1;
    th_client_t *admin = NULL, *ministry = NULL;
    int64_t *batch = calloc((size_t) rounds, sizeof *batch);
    int64_t *ref = calloc((size_t) rounds, sizeof *ref);
    if (batch == NULL || ref == NULL ||
        eligibility_env_start(&env, "benchelig", "0") != 0 || s_facts(&env) != 0) {
        fprintf(stderr, "bench_eligibility: the stack did not start\n");
        goto cleanup;
    }
    admin = elig_client(&env, "admin");
    ministry = elig_client(&env, "ministry-nw");
    if (admin == NULL || ministry == NULL)
        goto cleanup;
    int decisions = 0, rows = 0;
    char runs[S_PROGRAMMES][40];
    /* One round to warm the connections and caches, not counted. */
    if (s_batch(admin, &decisions, runs) < 0)
        goto cleanup;
    for (int i = 0; i < rounds; i++) {
        batch[i] = s_batch(admin, &decisions, runs);
        ref[i] = s_reference(&env, runs, &rows);
        if (batch[i] < 0 || ref[i] < 0 || rows != decisions)
            goto cleanup;
    }
    qsort(batch, (size_t) rounds, sizeof *batch, s_cmp);
    qsort(ref, (size_t) rounds, sizeof *ref, s_cmp);
    const double b50 = (double) batch[rounds / 2], r50 = (double) ref[rounds / 2];
    bench_table_head();
    const bench_line_t path = {.name = "EvaluateBatch federal (3 prog.)",
                               .calls_per_s = decisions / (b50 / 1e6),
                               .p50_us = b50,
                               .p99_us = (double) batch[rounds - 1]};
    const bench_line_t store = {.name = "libpq INSERT same rows",
                                .calls_per_s = rows / (r50 / 1e6),
                                .p50_us = r50,
                                .p99_us = (double) ref[rounds - 1]};
    bench_table_line(&path, &store);
    printf(
        "  (calls/s = decisions per second; p50/p99 = time of the whole federal batch of "
        "%d decisions over %d rounds, max as p99)\n",
        decisions, rounds);
    printf("goal, federal batch under 1 s: %s (%.0f ms; 250 ms would be excellent)\n",
           b50 < 1e6 ? "met" : "NOT met", b50 / 1000.0);

    Teilhabe__Eligibility__V1__EvaluateRequest ev =
        TEILHABE__ELIGIBILITY__V1__EVALUATE_REQUEST__INIT;
    ev.programme_code = (char *) "nrw-ki";
    ev.ags = (char *) "05111";
    ev.as_of = (char *) "2025-06-30";
    Teilhabe__Eligibility__V1__GetProgrammeRequest gp =
        TEILHABE__ELIGIBILITY__V1__GET_PROGRAMME_REQUEST__INIT;
    gp.code = (char *) "nrw-ki";
    bench_line_t eval, get;
    if (s_calls(ministry, "Evaluate (via broker)", ELIG_METHOD("Evaluate"), &ev.base,
                &teilhabe__eligibility__v1__decision__descriptor, calls, &eval) != 0 ||
        s_calls(ministry, "GetProgramme (via broker)", ELIG_METHOD("GetProgramme"),
                &gp.base, &teilhabe__eligibility__v1__programme__descriptor, calls,
                &get) != 0)
        goto cleanup;
    bench_table_line(&eval, &get);
    rc = 0;
cleanup:
    th_client_destroy(&admin);
    th_client_destroy(&ministry);
    if (!eligibility_env_stop(&env))
        rc = 1;
    free(batch);
    free(ref);
    return rc;
}
