/* ---------------------------------------------------------------------------
 * test_measures_start.c: teilhabe-measures comes up on the real stack
 * (PostgreSQL, teilhabe-broker with CURVE, teilhabe-registry,
 * teilhabe-measures with its own worker key)
 *
 * - the broker's Health says SERVING for teilhabe.measures.v1.Measures;
 * - its migrations ran as the owner and are recorded; the schema belongs to
 *   the owner, and the service's own role teilhabe_measures may use the rows
 *   of its schema but not change the schema, nor read the registry's, and
 *   the registry's role may not read the measures schema;
 * - ListEvents answers (nothing yet) for every authenticated caller;
 * - the worker key of the registry may not serve the measures service (the
 *   broker refuses its READY), so a stolen key exposes one service only;
 * - SIGTERM stops it with exit status 0 (under ASan: without leaks).
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "measures_env.h"
#include "teilhabe/v1/health.pb-c.h"

typedef struct {
    measures_env_t env;
    th_client_t *admin;
    th_client_t *analyst;
} s_fixture_t;

static int
s_setup(void **state)
{
    s_fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    *state = f;
    if (measures_env_start(&f->env, "measstart") != 0)
        return -1;
    f->admin = meas_client(&f->env, "admin");
    f->analyst = meas_client(&f->env, "analyst");
    return f->admin != NULL && f->analyst != NULL ? 0 : -1;
}

static int
s_teardown(void **state)
{
    s_fixture_t *f = *state;
    th_client_destroy(&f->admin);
    th_client_destroy(&f->analyst);
    const bool clean = measures_env_stop(&f->env);
    free(f);
    return clean ? 0 : -1;
}

static void
test_health_serving(void **state)
{
    s_fixture_t *f = *state;
    Teilhabe__Health__V1__HealthCheckRequest req = TEILHABE__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    req.service = "teilhabe.measures.v1.Measures";
    th_result_t r;
    reg_call(f->analyst, "teilhabe.health.v1.Health/Check", &req.base,
             &teilhabe__health__v1__health_check_response__descriptor, &r);
    assert_int_equal(r.code, TH_OK);
    assert_int_equal(((const Teilhabe__Health__V1__HealthCheckResponse *) r.response)->status,
                     TEILHABE__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
    th_result_clear(&r);
}

static void
test_migrations_and_roles(void **state)
{
    s_fixture_t *f = *state;
    const char *owner = f->env.reg.db_url;
    assert_int_equal(reg_sql_count(owner, "SELECT max(version) FROM public.teilhabe_migrations "
                                          "WHERE service = 'measures'"),
                     5);
    char *schema_owner = reg_sql_value(
        owner, "SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'measures'");
    assert_non_null(schema_owner);
    assert_string_equal(schema_owner, "teilhabe_owner");
    free(schema_owner);

    PGconn *measures = PQconnectdb(f->env.measures_db_url);
    assert_int_equal(PQstatus(measures), CONNECTION_OK);
    PQsetNoticeProcessor(measures, reg_quiet_notice, NULL);
    /* Its own rows: yes. */
    PGresult *r = PQexec(measures, "SELECT count(*) FROM measures.measures");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    PQclear(r);
    /* The schema itself, the registry's data and the audit trail's rows: no. */
    const char *denied[] = {
        "CREATE TABLE measures.x (a int)",
        "DROP TABLE measures.measures",
        "SELECT count(*) FROM registry.districts",
        "SELECT count(*) FROM registry.manager_assignments",
        "DELETE FROM audit.log",
    };
    for (size_t i = 0; i < sizeof denied / sizeof denied[0]; i++) {
        r = PQexec(measures, denied[i]);
        const char *code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (code == NULL || strcmp(code, "42501") != 0)
            fail_msg("as teilhabe_measures, expected permission denied for: %s\ngot: %s",
                     denied[i], code != NULL ? code : "success");
        PQclear(r);
    }
    PQfinish(measures);

    /* The registry's role does not read the measures schema either. */
    PGconn *registry = PQconnectdb(f->env.reg.registry_db_url);
    assert_int_equal(PQstatus(registry), CONNECTION_OK);
    r = PQexec(registry, "SELECT count(*) FROM measures.measures");
    const char *code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    assert_non_null(code);
    assert_string_equal(code, "42501");
    PQclear(r);
    PQfinish(registry);
}

/* The catalogue's starter set was loaded at start-up, each indicator with
 * its audit row and event as principal "seed"; everyone reads those
 * events. A second start loads nothing again. */
static void
test_starter_set_and_its_events(void **state)
{
    s_fixture_t *f = *state;
    /* As many as the starter set's file has rows (its header aside). */
    const long long rows = meas_file_rows(TH_SOURCE_DIR "/data/indicators.csv");
    assert_true(rows >= 8);
    const long long indicators =
        meas_count(&f->env, "SELECT count(*) FROM measures.indicators");
    assert_int_equal(indicators, rows);
    assert_int_equal(meas_count(&f->env, "SELECT count(*) FROM measures.indicators WHERE "
                                         "created_by = 'seed' AND illustrative"),
                     rows);
    assert_int_equal(meas_count(&f->env, "SELECT count(*) FROM audit.log WHERE principal_id = "
                                         "'seed' AND resource LIKE 'indicators/%' AND after "
                                         "IS NOT NULL AND before IS NULL"),
                     rows);
    th_client_t *callers[] = {f->admin, f->analyst};
    for (size_t i = 0; i < 2; i++) {
        Teilhabe__Events__V1__ListEventsRequest req =
            TEILHABE__EVENTS__V1__LIST_EVENTS_REQUEST__INIT;
        th_result_t r;
        reg_call(callers[i], MEAS_METHOD("ListEvents"), &req.base,
                 &teilhabe__events__v1__list_events_response__descriptor, &r);
        assert_int_equal(r.code, TH_OK);
        const Teilhabe__Events__V1__ListEventsResponse *resp = (const void *) r.response;
        assert_int_equal(resp->n_events, rows);
        for (size_t e = 0; e < resp->n_events; e++) {
            assert_string_equal(resp->events[e]->topic, "indicator.created");
            assert_string_equal(resp->events[e]->payload_type, "teilhabe.measures.v1.Indicator");
            Teilhabe__Measures__V1__Indicator *ind = teilhabe__measures__v1__indicator__unpack(
                NULL, resp->events[e]->payload.len, resp->events[e]->payload.data);
            assert_non_null(ind);
            assert_string_equal(ind->created_by, "seed");
            teilhabe__measures__v1__indicator__free_unpacked(ind, NULL);
        }
        th_result_clear(&r);
    }
    /* Loading again (what every start does) adds nothing. */
    char log[1100];
    snprintf(log, sizeof log, "%s/seed-again.log", f->env.reg.tmp);
    const char *argv[] = {"teilhabe-measures", "--db-url", f->env.reg.db_url, "--seed-only",
                          NULL};
    th_proc_t *again = th_proc_start(TH_TEST_MEASURES_BIN, (char *const *) argv, log);
    assert_non_null(again);
    const int status = th_proc_wait(again, 30000);
    th_proc_stop(&again, SIGKILL, 1000);
    assert_true(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(th_test_count_in_file(log, "inserted=0"), 1);
    assert_int_equal(meas_count(&f->env, "SELECT count(*) FROM measures.events"),
                     meas_file_rows(TH_SOURCE_DIR "/data/indicators.csv"));

    /* Bad input is answered, not swallowed. */
    Teilhabe__Events__V1__ListEventsRequest req = TEILHABE__EVENTS__V1__LIST_EVENTS_REQUEST__INIT;
    req.limit = 1001;
    th_result_t r;
    reg_call(f->admin, MEAS_METHOD("ListEvents"), &req.base,
             &teilhabe__events__v1__list_events_response__descriptor, &r);
    assert_int_equal(r.code, TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "limit"));
    th_result_clear(&r);
}

/* The registry's worker key names only the registry: a second registry
 * process that tries to serve the measures service with it is refused, and
 * the measures service keeps answering from its own worker. */
static void
test_worker_key_serves_its_service_only(void **state)
{
    s_fixture_t *f = *state;
    registry_env_t *reg = &f->env.reg;
    char cert[1100], broker_cert[1100], log[1100];
    snprintf(cert, sizeof cert, "%s/private/registry.cert_secret", reg->keys);
    snprintf(broker_cert, sizeof broker_cert, "%s/broker.cert", reg->keys);
    snprintf(log, sizeof log, "%s/measures-with-registry-key.log", reg->tmp);
    const char *argv[] = {"teilhabe-measures", "--db-url", f->env.measures_db_url,
                          "--broker-endpoint", reg->broker.backend, "--broker-cert-public",
                          broker_cert, "--cert", cert, "--heartbeat-ms", "250", NULL};
    th_proc_t *impostor = th_proc_start(TH_TEST_MEASURES_BIN, (char *const *) argv, log);
    assert_non_null(impostor);
    bool refused = false;
    for (int i = 0; i < 50 && !refused; i++) {
        reg_sleep_ms(100);
        refused =
            th_test_count_in_file(reg->broker.log_path, "may not serve this service") > 0;
    }
    th_proc_stop(&impostor, SIGTERM, 5000);
    if (!refused)
        fail_msg("the broker did not log refusing the registry's key for the measures "
                 "service; see %s",
                 reg->broker.log_path);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_serving),
        cmocka_unit_test(test_migrations_and_roles),
        cmocka_unit_test(test_starter_set_and_its_events),
        cmocka_unit_test(test_worker_key_serves_its_service_only),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
