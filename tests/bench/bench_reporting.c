/* ---------------------------------------------------------------------------
 * bench_reporting.c: issue 10's goal for the reporting service: the Land
 * overview and the federal concept monitor under 300 ms at the largest of
 * three generated sizes, and how the time grows with the data.
 *
 * Sizes (generated as the schema owner, straight into the services' tables,
 * each size adding to the one before):
 *   1  100 districts,  25,000 measures,   500,000 indicator values
 *   2  200 districts,  50,000 measures, 1,000,000 indicator values
 *   3  400 districts, 100,000 measures, 2,000,000 indicator values
 * The districts are every fourth (then second, then every) current district
 * in AGS order, so every Land has some at every size; per district: a
 * concept, 250 measures (a tenth planned, the rest running, with their
 * reach in 2025), the 2025 submission (half approved), and every indicator
 * monthly from 2010 in its three disaggregations (9 x 185 x 3 values).
 *
 * Paths, each a call through the broker as a client makes it (1 client,
 * p50 and p99 over --calls calls, after one call not counted):
 *   LandOverview 09     Bayern (the Land with the most districts), the
 *                       protobuf message only, and once more as HTML
 *   ConceptMonitor      every Land, the protobuf message only
 * Reference, in the same run: the Land overview's two heaviest statements
 * (the per-district figures and the measures by field of action,
 * land_districts_sql and land_fields_sql) run bare with libpq in one
 * repeatable-read transaction: the floor of reading the data, without the
 * broker, the report's building, the disclosure control or rendering.
 *
 * The concept monitor reads none of what grows but the concepts: its line
 * stands next to the same reference, to show it stays flat.
 *
 * Starts its own stack (reporting_env.h). Errors exit 1; a missed goal is
 * reported, not failed.
 *
 * Usage: bench_reporting [--calls N]
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <czmq.h>

#include "../integration/reporting_env.h"
#include "bench_table.h"
#include "reporting.h"

#define S_AS_OF "2026-01-15"
#define S_PERIOD "2025"
#define S_LAND "09"
#define S_SIZES 3
#define S_GOAL_US 300000.0

/* The districts of a size: rn % 4 in the array ($1). */
#define S_DISTRICTS                                                                       \
    "WITH d AS (SELECT ags, rn FROM (SELECT ags, row_number() OVER (ORDER BY ags) AS rn "  \
    "FROM registry.districts WHERE valid_to IS NULL) x WHERE rn % 4 = ANY ($1::int[])) "

static const char *const s_generate[] = {
    S_DISTRICTS
    "INSERT INTO registry.concepts (ags, version, title, adopted_on, orientation, fields, "
    "is_current, created_by) SELECT ags, 1, 'Konzept ' || ags, DATE '2012-01-01' + "
    "(rn::int * 7) % 4000, CASE WHEN rn % 3 = 0 THEN 'newcomers' ELSE 'participation' END, "
    "'{language,education,housing}', true, 'bench' FROM d",
    S_DISTRICTS
    "INSERT INTO measures.measures (id, ags, title, field, target_group, target_group_name, "
    "status, start_date, created_by, updated_by) SELECT 'b' || d.ags || '-' || g, d.ags, "
    "'Maßnahme ' || g, (ARRAY['language', 'education', 'work_and_training', 'housing', "
    "'health', 'culture_sports_leisure'])[1 + g % 6], (ARRAY['all_residents', 'newcomers', "
    "'group'])[1 + g % 3], CASE WHEN g % 3 = 2 THEN 'Gruppe' ELSE '' END, CASE WHEN g % 10 = "
    "0 THEN 'planned' ELSE 'active' END, CASE WHEN g % 10 = 0 THEN NULL ELSE DATE "
    "'2020-01-01' END, 'bench', 'bench' FROM d, generate_series(1, 250) g",
    S_DISTRICTS
    "INSERT INTO measures.reach (measure_id, period, period_start, period_end, "
    "participants_total, with_migration_history, without_migration_history, version, "
    "updated_by) SELECT id, '2025', DATE '2025-01-01', DATE '2025-12-31', p, p / 2, p - p / "
    "2, 1, 'bench' FROM (SELECT m.id, 1 + abs(hashtext(m.id)) % 60 AS p FROM "
    "measures.measures m JOIN d USING (ags) WHERE m.status = 'active') x",
    S_DISTRICTS
    "INSERT INTO measures.indicator_values (ags, indicator_code, period, period_start, "
    "period_end, disaggregation, numerator, denominator, updated_by) SELECT d.ags, i.code, "
    "to_char(m, 'YYYY-MM'), m::date, (m + interval '1 month - 1 day')::date, x.dis, 100 + "
    "abs(hashtext(d.ags || i.code || m::text)) % 900, 1000, 'bench' FROM d, "
    "measures.indicators i, generate_series(timestamp '2010-01-01', timestamp '2025-05-01', "
    "interval '1 month') m, unnest(ARRAY['total', 'with_migration_history', "
    "'without_migration_history']) x(dis)",
    S_DISTRICTS
    "INSERT INTO measures.submissions (ags, period, period_start, period_end, status, version) "
    "SELECT ags, '2025', DATE '2025-01-01', DATE '2025-12-31', CASE WHEN rn % 2 = 0 THEN "
    "'approved' ELSE 'submitted' END, 1 FROM d",
    "ANALYZE registry.concepts, measures.measures, measures.reach, measures.indicator_values, "
    "measures.submissions",
};

/* The rn % 4 values each size adds. */
static const char *const s_size_rn[S_SIZES] = {"{0}", "{2}", "{1,3}"};

static int
s_cmp(const void *a, const void *b)
{
    const int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return (x > y) - (x < y);
}

static int
s_exec(PGconn *conn, const char *sql, const char *rn)
{
    const char *params[] = {rn};
    PGresult *r = PQexecParams(conn, sql, strstr(sql, "$1") != NULL ? 1 : 0, NULL, params,
                               NULL, NULL, 0);
    const int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
    if (rc != 0)
        fprintf(stderr, "bench_reporting: generating: %s", PQerrorMessage(conn));
    PQclear(r);
    return rc;
}

/* Adds size i's data; the counts it reached into *districts etc. */
static int
s_grow(PGconn *conn, int i, long long counts[3])
{
    for (size_t k = 0; k < sizeof s_generate / sizeof *s_generate; k++)
        if (s_exec(conn, s_generate[k], s_size_rn[i]) != 0)
            return -1;
    const char *sql[] = {"SELECT count(*) FROM registry.concepts WHERE created_by = 'bench'",
                         "SELECT count(*) FROM measures.measures",
                         "SELECT count(*) FROM measures.indicator_values"};
    for (int k = 0; k < 3; k++) {
        PGresult *r = PQexec(conn, sql[k]);
        counts[k] = PQresultStatus(r) == PGRES_TUPLES_OK ? atoll(PQgetvalue(r, 0, 0)) : -1;
        PQclear(r);
        if (counts[k] < 0)
            return -1;
    }
    return 0;
}

static void
s_line(const char *name, int64_t *lat, int calls, double seconds, int failures,
       bench_line_t *out)
{
    qsort(lat, (size_t) calls, sizeof *lat, s_cmp);
    *out = (bench_line_t){.name = name,
                          .calls_per_s = calls / seconds,
                          .p50_us = (double) lat[calls / 2],
                          .p99_us = (double) lat[(calls * 99) / 100],
                          .failures = failures};
}

/* calls of method with req through the broker. */
static int
s_calls(th_client_t *client, const char *name, const char *method,
        const ProtobufCMessage *req, int calls, bench_line_t *out)
{
    int64_t *lat = calloc((size_t) calls, sizeof *lat);
    if (lat == NULL)
        return -1;
    int failures = 0;
    th_result_t r;
    if (rep_call(client, method, req, &r) != TH_OK) { /* warm, not counted */
        fprintf(stderr, "bench_reporting: %s: %s\n", name, r.message);
        failures++;
    }
    th_result_clear(&r);
    const int64_t start = zclock_usecs();
    for (int i = 0; i < calls; i++) {
        const int64_t t0 = zclock_usecs();
        failures += rep_call(client, method, req, &r) != TH_OK;
        lat[i] = zclock_usecs() - t0;
        th_result_clear(&r);
    }
    s_line(name, lat, calls, (double) (zclock_usecs() - start) / 1e6, failures, out);
    free(lat);
    return failures == 0 ? 0 : -1;
}

/* The reference: the two statements bare, in one snapshot, calls times. */
static int
s_reference(PGconn *conn, int calls, bench_line_t *out)
{
    int64_t *lat = calloc((size_t) calls + 1, sizeof *lat);
    if (lat == NULL)
        return -1;
    const char *params[] = {S_LAND, S_AS_OF, S_PERIOD};
    int failures = 0;
    int64_t start = 0;
    for (int i = -1; i < calls; i++) { /* i = -1: warm, not counted */
        if (i == 0)
            start = zclock_usecs();
        const int64_t t0 = zclock_usecs();
        PQclear(PQexec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"));
        PGresult *a = PQexecParams(conn, land_districts_sql, 3, NULL, params, NULL, NULL, 0);
        PGresult *b = PQexecParams(conn, land_fields_sql, 2, NULL, params, NULL, NULL, 0);
        failures += PQresultStatus(a) != PGRES_TUPLES_OK || PQresultStatus(b) != PGRES_TUPLES_OK;
        if (PQresultStatus(a) != PGRES_TUPLES_OK || PQresultStatus(b) != PGRES_TUPLES_OK)
            fprintf(stderr, "bench_reporting: reference: %s", PQerrorMessage(conn));
        PQclear(a);
        PQclear(b);
        PQclear(PQexec(conn, "COMMIT"));
        if (i >= 0)
            lat[i] = zclock_usecs() - t0;
    }
    s_line("libpq: 2 statements bare", lat, calls, (double) (zclock_usecs() - start) / 1e6,
           failures, out);
    free(lat);
    return failures == 0 ? 0 : -1;
}

int
main(int argc, char **argv)
{
    int calls = 20;
    for (int i = 1; i + 1 < argc; i += 2)
        if (strcmp(argv[i], "--calls") == 0)
            calls = atoi(argv[i + 1]);
    if (calls < 5 || calls > 10000) {
        fprintf(stderr, "usage: bench_reporting [--calls 5..10000]\n");
        return 2;
    }
    reporting_env_t env;
    int rc = 1;
    th_client_t *ministry = NULL, *analyst = NULL;
    PGconn *conn = NULL;
    if (reporting_env_start(&env, "benchrep") != 0) {
        fprintf(stderr, "bench_reporting: the stack did not start\n");
        goto cleanup;
    }
    ministry = rep_client(&env, "ministry-by");
    analyst = rep_client(&env, "analyst");
    conn = PQconnectdb(env.elig.meas.reg.db_url);
    if (ministry == NULL || analyst == NULL || PQstatus(conn) != CONNECTION_OK)
        goto cleanup;

    Teilhabe__Reporting__V1__RenderOptions html = TEILHABE__REPORTING__V1__RENDER_OPTIONS__INIT;
    html.format = TEILHABE__REPORTING__V1__FORMAT__FORMAT_HTML;
    Teilhabe__Reporting__V1__LandOverviewRequest land =
        TEILHABE__REPORTING__V1__LAND_OVERVIEW_REQUEST__INIT;
    land.state_code = (char *) S_LAND;
    land.as_of = (char *) S_AS_OF;
    land.period = (char *) S_PERIOD;
    Teilhabe__Reporting__V1__LandOverviewRequest land_html = land;
    land_html.render = &html;
    Teilhabe__Reporting__V1__ConceptMonitorRequest monitor =
        TEILHABE__REPORTING__V1__CONCEPT_MONITOR_REQUEST__INIT;
    monitor.as_of = (char *) S_AS_OF;

    double first_land = 0, first_monitor = 0, last_land = 0, last_monitor = 0;
    for (int size = 0; size < S_SIZES; size++) {
        long long counts[3];
        const int64_t g0 = zclock_usecs();
        if (s_grow(conn, size, counts) != 0)
            goto cleanup;
        printf("\nsize %d: %lld districts with data, %lld measures, %lld indicator values "
               "(generated in %.1f s)\n",
               size + 1, counts[0], counts[1], counts[2],
               (double) (zclock_usecs() - g0) / 1e6);
        bench_table_head();
        bench_line_t ref, l_pb, l_html, mon;
        if (s_reference(conn, calls, &ref) != 0 ||
            s_calls(ministry, "LandOverview 09 (protobuf)", REP_METHOD("LandOverview"),
                    &land.base, calls, &l_pb) != 0 ||
            s_calls(ministry, "LandOverview 09 (HTML)", REP_METHOD("LandOverview"),
                    &land_html.base, calls, &l_html) != 0 ||
            s_calls(analyst, "ConceptMonitor federal", REP_METHOD("ConceptMonitor"),
                    &monitor.base, calls, &mon) != 0)
            goto cleanup;
        bench_table_line(&l_pb, &ref);
        bench_table_line(&l_html, &ref);
        bench_table_line(&mon, &ref);
        if (size == 0) {
            first_land = l_html.p50_us;
            first_monitor = mon.p50_us;
        }
        last_land = l_html.p50_us;
        last_monitor = mon.p50_us;
    }
    printf("\ngrowth from size 1 to size 3 (4x the data), p50: Land overview (HTML) x%.2f, "
           "concept monitor x%.2f\n",
           first_land > 0 ? last_land / first_land : 0.0,
           first_monitor > 0 ? last_monitor / first_monitor : 0.0);
    printf("goal, under 300 ms at the largest size (p50): Land overview %s (%.0f ms), "
           "concept monitor %s (%.0f ms)\n",
           last_land < S_GOAL_US ? "met" : "NOT met", last_land / 1000.0,
           last_monitor < S_GOAL_US ? "met" : "NOT met", last_monitor / 1000.0);
    rc = 0;
cleanup:
    if (conn != NULL)
        PQfinish(conn);
    th_client_destroy(&ministry);
    th_client_destroy(&analyst);
    if (!reporting_env_stop(&env))
        rc = 1;
    return rc;
}
