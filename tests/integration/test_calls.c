/* ---------------------------------------------------------------------------
 * test_calls.c: calls between services (issue 7, section 2), on the real
 * stack: broker, registry and a teilhabe-testworker that serves
 * teilhabe.testing.v1.Relay, whose handlers call the registry through the
 * broker (th_call_invoke) under the worker's own client key, a service of
 * Thüringen ("relay-client").
 *
 * Proves: the answer comes back; a write made on behalf of a person is
 * audited with the service as principal and the person in on_behalf_of, and
 * a retried outer write is applied once; teilhabe-on-behalf-of is taken
 * only from role service (from anyone else the broker drops it, the audit
 * row stays without it) and must be a principal id; with the registry down
 * the caller gets UNAVAILABLE within its own deadline, also when that is
 * shorter than the broker's grace period, never INTERNAL.
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <czmq.h>

#include "registry_env.h"
#include "teilhabe/v1/testing.pb-c.h"
#include "th_wire.h"

#define RELAY(name) "teilhabe.testing.v1.Relay/" name
#define ECHO "teilhabe.testing.v1.Echo/Echo"
#define S_PARTICIPATION TEILHABE__REGISTRY__V1__ORIENTATION__ORIENTATION_PARTICIPATION
#define S_WORK TEILHABE__COMMON__V1__FIELD_OF_ACTION__FIELD_OF_ACTION_WORK_AND_TRAINING

typedef struct {
    registry_env_t env;
    th_proc_t *relay;
    char relay_log[1100];
    th_client_t *ministry; /* ministry-th */
    th_client_t *service;  /* relay-client: role service of Land 16 */
} s_fixture_t;

static void
s_start_relay(s_fixture_t *f)
{
    char cert[1100], client_cert[1100], broker_cert[1100];
    snprintf(cert, sizeof cert, "%s/private/relay.cert_secret", f->env.keys);
    snprintf(client_cert, sizeof client_cert, "%s/private/relay-client.cert_secret",
             f->env.keys);
    snprintf(broker_cert, sizeof broker_cert, "%s/broker.cert", f->env.keys);
    snprintf(f->relay_log, sizeof f->relay_log, "%s/relay.log", f->env.tmp);
    const char *argv[] = {"teilhabe-testworker",
                          "--broker-endpoint",
                          f->env.broker.backend,
                          "--broker-cert-public",
                          broker_cert,
                          "--cert",
                          cert,
                          "--frontend-endpoint",
                          f->env.broker.frontend,
                          "--client-cert",
                          client_cert,
                          "--capacity",
                          "2",
                          "--heartbeat-ms",
                          "250",
                          "--instance",
                          "relay",
                          NULL};
    f->relay = th_proc_start(TH_TEST_TESTWORKER_BIN, (char *const *) argv, f->relay_log);
    assert_non_null(f->relay);
}

/* One call with a timeout and options; the result is the caller's. */
static int
s_call(th_client_t *c, const char *method, const ProtobufCMessage *req,
       const ProtobufCMessageDescriptor *desc, int timeout_ms, const th_call_opts_t *opts,
       th_result_t *r)
{
    memset(r, 0, sizeof *r);
    assert_int_equal(th_client_call(c, method, req, desc, timeout_ms, opts, r), 0);
    return r->code;
}

static int
s_setup(void **state)
{
    s_fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    if (registry_env_start(&f->env, "th_calls") != 0)
        fail_msg("the stack did not start");
    s_start_relay(f);
    f->ministry = reg_client(&f->env, "ministry-th");
    f->service = reg_client(&f->env, "relay-client");
    assert_non_null(f->ministry);
    assert_non_null(f->service);
    /* until the relay answers, through the registry */
    for (int i = 0;; i++) {
        Teilhabe__Registry__V1__GetDistrictRequest req =
            TEILHABE__REGISTRY__V1__GET_DISTRICT_REQUEST__INIT;
        req.ags = "16068";
        th_result_t r;
        const int code =
            s_call(f->ministry, RELAY("GetDistrict"), &req.base,
                   &teilhabe__registry__v1__district__descriptor, 2000, NULL, &r);
        th_result_clear(&r);
        if (code == TH_OK)
            break;
        if (i == 50 || !th_proc_alive(f->relay))
            fail_msg("the relay did not answer (last %s), see %s", th_status_name(code),
                     f->relay_log);
        reg_sleep_ms(100);
    }
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    s_fixture_t *f = *state;
    th_client_destroy(&f->ministry);
    th_client_destroy(&f->service);
    /* Under ASan a leak in the relay makes its exit unclean: heard here.
     * The registry was stopped (and checked) by the last test. */
    const bool clean = th_proc_stop_clean(&f->relay, "the relay", f->relay_log);
    registry_env_stop(&f->env);
    free(f);
    return clean ? 0 : -1;
}

/* The registry's answer arrives through the relay, unchanged. */
static void
test_read_through_another_service(void **state)
{
    s_fixture_t *f = *state;
    Teilhabe__Registry__V1__GetDistrictRequest req =
        TEILHABE__REGISTRY__V1__GET_DISTRICT_REQUEST__INIT;
    req.ags = "16056";
    req.as_of = "2020-01-01";
    th_result_t r;
    assert_int_equal(s_call(f->ministry, RELAY("GetDistrict"), &req.base,
                            &teilhabe__registry__v1__district__descriptor, 5000, NULL, &r),
                     TH_OK);
    const Teilhabe__Registry__V1__District *d = (const void *) r.response;
    assert_string_equal(d->ags, "16056");
    assert_non_null(strstr(d->name, "Eisenach"));
    th_result_clear(&r);

    /* The callee's verdict on the request comes back as it is: Eisenach
     * ended in 2021 (NOT_FOUND, naming the successor) */
    req.as_of = "2022-01-01";
    assert_int_equal(s_call(f->ministry, RELAY("GetDistrict"), &req.base,
                            &teilhabe__registry__v1__district__descriptor, 5000, NULL, &r),
                     TH_NOT_FOUND);
    assert_non_null(strstr(r.message, "teilhabe.registry.v1.Registry/GetDistrict: "));
    assert_non_null(strstr(r.message, "16063"));
    th_result_clear(&r);
}

static void
s_concept_request(Teilhabe__Registry__V1__SetConceptRequest *req,
                  Teilhabe__Registry__V1__Concept *concept,
                  Teilhabe__Common__V1__FieldOfAction *field, const char *ags)
{
    teilhabe__registry__v1__set_concept_request__init(req);
    teilhabe__registry__v1__concept__init(concept);
    *field = S_WORK;
    concept->ags = (char *) ags;
    concept->title = "Konzept über den Relay";
    concept->adopted_on = "2020-02-02";
    concept->orientation = S_PARTICIPATION;
    concept->fields = field;
    concept->n_fields = 1;
    req->concept = concept;
}

/* A write made by the relay for ministry-th: the registry's audit row names
 * the service as principal and ministry-th in on_behalf_of. The same outer
 * write sent again (same key) repeats the inner one with the same derived
 * key: one change, one audit row, the first reply. */
static void
test_write_on_behalf_is_audited(void **state)
{
    s_fixture_t *f = *state;
    Teilhabe__Registry__V1__SetConceptRequest req;
    Teilhabe__Registry__V1__Concept concept;
    Teilhabe__Common__V1__FieldOfAction field;
    s_concept_request(&req, &concept, &field, "16068");
    const th_call_opts_t opts = {.idempotency_key = "relay-write-1"};
    th_result_t r;
    assert_int_equal(s_call(f->ministry, RELAY("SetConcept"), &req.base,
                            &teilhabe__registry__v1__concept__descriptor, 5000, &opts, &r),
                     TH_OK);
    const Teilhabe__Registry__V1__Concept *stored = (const void *) r.response;
    assert_int_equal(stored->version, 1);
    assert_string_equal(stored->updated_by, "relay-client");
    th_result_clear(&r);

    char *row = reg_sql_value(f->env.db_url,
                              "SELECT principal_id || '|' || principal_role || '|' ||"
                              " coalesce(on_behalf_of, '-') FROM audit.log"
                              " WHERE resource = 'concepts/16068'");
    assert_non_null(row);
    assert_string_equal(row, "relay-client|service|ministry-th");
    free(row);

    assert_int_equal(s_call(f->ministry, RELAY("SetConcept"), &req.base,
                            &teilhabe__registry__v1__concept__descriptor, 5000, &opts, &r),
                     TH_OK);
    assert_int_equal(((const Teilhabe__Registry__V1__Concept *) r.response)->version, 1);
    th_result_clear(&r);
    assert_int_equal(reg_sql_count(f->env.db_url, "SELECT count(*) FROM audit.log"
                                                  " WHERE resource = 'concepts/16068'"),
                     1);

    /* A service writes only in its own Land: Bayern's district is refused,
     * and the refusal comes back as what it is, not INTERNAL */
    s_concept_request(&req, &concept, &field, "09162");
    const th_call_opts_t other = {.idempotency_key = "relay-write-by"};
    assert_int_equal(s_call(f->ministry, RELAY("SetConcept"), &req.base,
                            &teilhabe__registry__v1__concept__descriptor, 5000, &other, &r),
                     TH_PERMISSION_DENIED);
    assert_non_null(strstr(r.message, "relay-client"));
    th_result_clear(&r);
}

/* teilhabe-on-behalf-of counts only from a caller of role service. */
static void
test_on_behalf_of_only_from_services(void **state)
{
    s_fixture_t *f = *state;
    Teilhabe__Testing__V1__EchoRequest echo = TEILHABE__TESTING__V1__ECHO_REQUEST__INIT;
    echo.text = "wer?";
    const char *const claim_admin[] = {TH_WIRE_ON_BEHALF_OF, "admin", NULL};
    const th_call_opts_t as_admin = {.metadata = claim_admin};
    th_result_t r;

    /* from a ministry: the broker drops it, the worker never sees it */
    assert_int_equal(s_call(f->ministry, ECHO, &echo.base,
                            &teilhabe__testing__v1__echo_response__descriptor, 5000,
                            &as_admin, &r),
                     TH_OK);
    const Teilhabe__Testing__V1__EchoResponse *reply = (const void *) r.response;
    assert_string_equal(reply->principal->id, "ministry-th");
    assert_string_equal(reply->on_behalf_of, "");
    th_result_clear(&r);

    /* ... so a write made with it is audited as the ministry's own */
    Teilhabe__Registry__V1__SetConceptRequest req;
    Teilhabe__Registry__V1__Concept concept;
    Teilhabe__Common__V1__FieldOfAction field;
    s_concept_request(&req, &concept, &field, "16061");
    assert_int_equal(s_call(f->ministry, REG_METHOD("SetConcept"), &req.base,
                            &teilhabe__registry__v1__concept__descriptor, 5000, &as_admin,
                            &r),
                     TH_OK);
    th_result_clear(&r);
    char *row = reg_sql_value(f->env.db_url,
                              "SELECT principal_id || '|' || coalesce(on_behalf_of, '-')"
                              " FROM audit.log WHERE resource = 'concepts/16061'");
    assert_non_null(row);
    assert_string_equal(row, "ministry-th|-");
    free(row);

    /* from a service: it reaches the worker */
    assert_int_equal(s_call(f->service, ECHO, &echo.base,
                            &teilhabe__testing__v1__echo_response__descriptor, 5000,
                            &as_admin, &r),
                     TH_OK);
    reply = (const void *) r.response;
    assert_string_equal(reply->principal->id, "relay-client");
    assert_string_equal(reply->on_behalf_of, "admin");
    th_result_clear(&r);

    /* ... and must be one principal id */
    const char *const bad[] = {TH_WIRE_ON_BEHALF_OF, "Not An Id!", NULL};
    const th_call_opts_t bad_opts = {.metadata = bad};
    assert_int_equal(s_call(f->service, ECHO, &echo.base,
                            &teilhabe__testing__v1__echo_response__descriptor, 5000,
                            &bad_opts, &r),
                     TH_INVALID_ARGUMENT);
    assert_non_null(strstr(r.message, TH_WIRE_ON_BEHALF_OF));
    th_result_clear(&r);
    const char *const twice[] = {TH_WIRE_ON_BEHALF_OF, "admin", TH_WIRE_ON_BEHALF_OF,
                                 "ministry-th", NULL};
    const th_call_opts_t twice_opts = {.metadata = twice};
    assert_int_equal(s_call(f->service, ECHO, &echo.base,
                            &teilhabe__testing__v1__echo_response__descriptor, 5000,
                            &twice_opts, &r),
                     TH_INVALID_ARGUMENT);
    th_result_clear(&r);
}

/* Runs a relayed GetDistrict with timeout_ms; returns the status and the
 * time it took in *took_ms. */
static int
s_relay_read(s_fixture_t *f, int timeout_ms, int64_t *took_ms, char **message)
{
    Teilhabe__Registry__V1__GetDistrictRequest req =
        TEILHABE__REGISTRY__V1__GET_DISTRICT_REQUEST__INIT;
    req.ags = "16068";
    const th_call_opts_t once = {.no_retry = true};
    th_result_t r;
    const int64_t start = zclock_mono();
    const int code =
        s_call(f->ministry, RELAY("GetDistrict"), &req.base,
               &teilhabe__registry__v1__district__descriptor, timeout_ms, &once, &r);
    *took_ms = zclock_mono() - start;
    *message = strdup(r.message != NULL ? r.message : "");
    th_result_clear(&r);
    return code;
}

/* The registry stops: the relay's callers get UNAVAILABLE (the registry's
 * own status: "no live worker") within their deadline, with a deadline
 * longer than the broker's grace period (500 ms here) and with a shorter
 * one. Last in the group: it stops the registry. */
static void
test_callee_down_is_unavailable(void **state)
{
    s_fixture_t *f = *state;
    assert_int_equal(th_proc_stop(&f->env.registry, SIGTERM, 5000), 0);
    const int budgets[] = {3000, 400};
    for (size_t i = 0; i < sizeof budgets / sizeof budgets[0]; i++) {
        int64_t took = 0;
        char *message = NULL;
        const int code = s_relay_read(f, budgets[i], &took, &message);
        print_message("timeout %d ms: %s after %lld ms: %s\n", budgets[i],
                      th_status_name(code), (long long) took, message);
        assert_int_equal(code, TH_UNAVAILABLE);
        assert_non_null(strstr(message, "no live worker for service teilhabe.registry.v1"));
        assert_true(took < budgets[i]);
        free(message);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_through_another_service),
        cmocka_unit_test(test_write_on_behalf_is_audited),
        cmocka_unit_test(test_on_behalf_of_only_from_services),
        cmocka_unit_test(test_callee_down_is_unavailable),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
