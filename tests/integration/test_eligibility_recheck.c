/* ---------------------------------------------------------------------------
 * test_eligibility_recheck.c: the automated re-checks against the real
 * stack, with the service's own job running every 300 ms: a concept that
 * changes re-decides the district (trigger event, a decision.changed event
 * saying what changed); a concept that changes while the eligibility
 * service is down is caught after its restart, once; the daily
 * re-evaluation catches a concept that grew older; only a service or the
 * admin may run a re-check.
 *
 * Düsseldorf (05111) under nrw-ki is the district under test.
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "eligibility_env.h"
#include "th_date.h"

typedef Teilhabe__Eligibility__V1__Decision s_decision_t;

#define S_OUT(x) TEILHABE__ELIGIBILITY__V1__OUTCOME__OUTCOME_##x
#define S_TRIGGER(x) TEILHABE__ELIGIBILITY__V1__TRIGGER__TRIGGER_##x

typedef struct {
    eligibility_env_t env;
    th_client_t *ministry_nw;
    th_client_t *admin;
    th_client_t *analyst;
    char today[TH_DATE_LEN + 1];
    int64_t concept_version;
} s_fixture_t;

static int
s_setup(void **state)
{
    s_fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL || th_date_init() != 0)
        return -1;
    *state = f;
    th_date_today(f->today);
    if (eligibility_env_start(&f->env, "eligre", "300") != 0)
        return -1;
    f->ministry_nw = elig_client(&f->env, "ministry-nw");
    f->admin = elig_client(&f->env, "admin");
    f->analyst = elig_client(&f->env, "analyst");
    return f->ministry_nw && f->admin && f->analyst ? 0 : -1;
}

static int
s_teardown(void **state)
{
    s_fixture_t *f = *state;
    th_client_destroy(&f->ministry_nw);
    th_client_destroy(&f->admin);
    th_client_destroy(&f->analyst);
    const bool clean = eligibility_env_stop(&f->env);
    free(f);
    return clean ? 0 : -1;
}

/* 05111's concept adopted days_ago days before today. */
static int
s_concept(s_fixture_t *f, int days_ago)
{
    char adopted[TH_DATE_LEN + 1];
    th_date_add_days(f->today, -days_ago, adopted);
    Teilhabe__Registry__V1__Concept concept = TEILHABE__REGISTRY__V1__CONCEPT__INIT;
    Teilhabe__Common__V1__FieldOfAction fields[] = {
        TEILHABE__COMMON__V1__FIELD_OF_ACTION__FIELD_OF_ACTION_HOUSING};
    concept.ags = (char *) "05111";
    concept.title = (char *) "Integrationskonzept Düsseldorf";
    concept.adopted_on = adopted;
    concept.orientation = TEILHABE__REGISTRY__V1__ORIENTATION__ORIENTATION_PARTICIPATION;
    concept.fields = fields;
    concept.n_fields = 1;
    Teilhabe__Registry__V1__SetConceptRequest req =
        TEILHABE__REGISTRY__V1__SET_CONCEPT_REQUEST__INIT;
    req.concept = &concept;
    req.version = f->concept_version;
    th_result_t r;
    const int code =
        meas_call(f->ministry_nw, "teilhabe.registry.v1.Registry/SetConcept", &req.base,
                  &teilhabe__registry__v1__concept__descriptor, 10000, &r);
    if (code == TH_OK)
        f->concept_version =
            ((const Teilhabe__Registry__V1__Concept *) r.response)->version;
    else
        fprintf(stderr, "SetConcept: %s\n", r.message);
    th_result_clear(&r);
    return code;
}

/* Decisions of 05111 under nrw-ki with that trigger (SQL, as the owner). */
static long long
s_count(s_fixture_t *f, const char *trigger, const char *outcome)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM eligibility.decisions WHERE ags = '05111' "
             "AND programme_code = 'nrw-ki' AND trigger = '%s' AND outcome = '%s'",
             trigger, outcome);
    return elig_count(&f->env, sql);
}

/* Waits (bounded: 30 s, for a loaded machine under ASan; the job runs
 * every 300 ms) until s_count reaches at least want. */
static bool
s_wait_count(s_fixture_t *f, const char *trigger, const char *outcome, long long want)
{
    for (int i = 0; i < 300; i++) {
        if (s_count(f, trigger, outcome) >= want)
            return true;
        reg_sleep_ms(100);
    }
    fprintf(stderr, "no %s decision with outcome %s after 30 s (have %lld, want %lld)\n",
            trigger, outcome, s_count(f, trigger, outcome), want);
    /* The job's own lines say why (its log goes with the test's folder). */
    FILE *log = fopen(f->env.eligibility_log, "r");
    char line[2048];
    while (log != NULL && fgets(line, sizeof line, log) != NULL)
        if (strstr(line, "re-check") != NULL || strstr(line, "level=warn") != NULL ||
            strstr(line, "level=error") != NULL)
            fprintf(stderr, "eligibility log: %s", line);
    if (log != NULL)
        fclose(log);
    return false;
}

static void
test_event_recheck(void **state)
{
    s_fixture_t *f = *state;
    th_result_t r;
    /* A concept a year old, the application: eligible today. */
    assert_int_equal(s_concept(f, 365), TH_OK);
    Teilhabe__Eligibility__V1__Application a = TEILHABE__ELIGIBILITY__V1__APPLICATION__INIT;
    char council[TH_DATE_LEN + 1];
    th_date_add_days(f->today, -300, council);
    a.programme_code = (char *) "nrw-ki";
    a.ags = (char *) "05111";
    a.council_decision = council;
    a.work_plan = true;
    Teilhabe__Eligibility__V1__SetApplicationFactsRequest sa =
        TEILHABE__ELIGIBILITY__V1__SET_APPLICATION_FACTS_REQUEST__INIT;
    sa.application = &a;
    assert_int_equal(meas_call(f->ministry_nw, ELIG_METHOD("SetApplicationFacts"), &sa.base,
                               &teilhabe__eligibility__v1__application__descriptor, 10000,
                               &r),
                     TH_OK);
    th_result_clear(&r);
    Teilhabe__Eligibility__V1__EvaluateRequest ev =
        TEILHABE__ELIGIBILITY__V1__EVALUATE_REQUEST__INIT;
    ev.programme_code = (char *) "nrw-ki";
    ev.ags = (char *) "05111";
    assert_int_equal(meas_call(f->ministry_nw, ELIG_METHOD("Evaluate"), &ev.base,
                               &teilhabe__eligibility__v1__decision__descriptor, 10000, &r),
                     TH_OK);
    assert_int_equal(((const s_decision_t *) r.response)->outcome, S_OUT(ELIGIBLE));
    th_result_clear(&r);

    /* The council adopts a version dated four years back: the job sees the
     * registry's concept.set and decides again, not eligible now. */
    assert_int_equal(s_concept(f, 4 * 365 + 1), TH_OK);
    assert_true(s_wait_count(f, "event", "not_eligible", 1));
    Teilhabe__Eligibility__V1__ListDecisionsRequest l =
        TEILHABE__ELIGIBILITY__V1__LIST_DECISIONS_REQUEST__INIT;
    l.ags = (char *) "05111";
    l.programme_code = (char *) "nrw-ki";
    l.page_size = 1;
    l.lang = (char *) "en";
    assert_int_equal(
        meas_call(f->analyst, ELIG_METHOD("ListDecisions"), &l.base,
                  &teilhabe__eligibility__v1__list_decisions_response__descriptor, 5000,
                  &r),
        TH_OK);
    const s_decision_t *d =
        ((const Teilhabe__Eligibility__V1__ListDecisionsResponse *) r.response)
            ->decisions[0];
    assert_int_equal(d->trigger, S_TRIGGER(EVENT));
    assert_int_equal(d->outcome, S_OUT(NOT_ELIGIBLE));
    assert_true(d->changed);
    assert_int_equal(d->previous_outcome, S_OUT(ELIGIBLE));
    assert_string_equal(d->decided_by, "eligibility-client");
    th_result_clear(&r);

    /* The change is an event of its own, saying what changed. */
    Teilhabe__Events__V1__ListEventsRequest le =
        TEILHABE__EVENTS__V1__LIST_EVENTS_REQUEST__INIT;
    le.limit = 1000;
    assert_int_equal(meas_call(f->analyst, ELIG_METHOD("ListEvents"), &le.base,
                               &teilhabe__events__v1__list_events_response__descriptor,
                               5000, &r),
                     TH_OK);
    const Teilhabe__Events__V1__ListEventsResponse *events = (const void *) r.response;
    bool found = false;
    for (size_t i = 0; i < events->n_events; i++) {
        const Teilhabe__Events__V1__Event *e = events->events[i];
        if (strcmp(e->topic, "decision.changed") != 0)
            continue;
        assert_string_equal(e->payload_type, "teilhabe.eligibility.v1.Decision");
        s_decision_t *p = teilhabe__eligibility__v1__decision__unpack(NULL, e->payload.len,
                                                                      e->payload.data);
        assert_non_null(p);
        if (p->trigger == S_TRIGGER(EVENT) &&
            strstr(p->change, "05111 no longer eligible for nrw-ki") != NULL)
            found = true;
        teilhabe__eligibility__v1__decision__free_unpacked(p, NULL);
    }
    assert_true(found);
    th_result_clear(&r);
}

/* While the eligibility service is down the concept changes back; after
 * the restart the job catches it, once. */
static void
test_recheck_after_downtime(void **state)
{
    s_fixture_t *f = *state;
    const long long eligible = s_count(f, "event", "eligible");
    assert_true(th_proc_stop_clean(&f->env.eligibility, "teilhabe-eligibility",
                                   f->env.eligibility_log));
    assert_int_equal(s_concept(f, 100), TH_OK);
    assert_int_equal(elig_start_eligibility(&f->env), 0);
    assert_true(s_wait_count(f, "event", "eligible", eligible + 1));
    /* More rounds of the job store nothing more. */
    reg_sleep_ms(1500);
    assert_int_equal(s_count(f, "event", "eligible"), eligible + 1);
}

/* The daily run: asked for a day four years on, the concept of 100 days
 * ago has grown older than three years; no event needed. */
static void
test_daily(void **state)
{
    s_fixture_t *f = *state;
    th_result_t r;
    Teilhabe__Eligibility__V1__RecheckRequest req =
        TEILHABE__ELIGIBILITY__V1__RECHECK_REQUEST__INIT;
    /* Only the service itself or the admin. */
    assert_int_equal(meas_call(f->ministry_nw, ELIG_METHOD("Recheck"), &req.base,
                               &teilhabe__eligibility__v1__recheck_response__descriptor,
                               20000, &r),
                     TH_PERMISSION_DENIED);
    th_result_clear(&r);
    char later[TH_DATE_LEN + 1];
    th_date_add_days(f->today, 4 * 365, later);
    req.as_of = later;
    req.daily = true;
    const long long before = s_count(f, "schedule", "not_eligible");
    /* The job may hold the checkpoints at the same moment: ABORTED, then
     * again. */
    int code = TH_ABORTED;
    for (int i = 0; i < 20 && code == TH_ABORTED; i++) {
        code =
            meas_call(f->admin, ELIG_METHOD("Recheck"), &req.base,
                      &teilhabe__eligibility__v1__recheck_response__descriptor, 20000, &r);
        if (code == TH_OK) {
            const Teilhabe__Eligibility__V1__RecheckResponse *resp =
                (const void *) r.response;
            assert_true(resp->daily);
            assert_true(resp->decisions >= 1);
        }
        th_result_clear(&r);
    }
    assert_int_equal(code, TH_OK);
    assert_int_equal(s_count(f, "schedule", "not_eligible"), before + 1);
    /* Again for the same day: nothing changed, so nothing is stored. */
    code = TH_ABORTED;
    for (int i = 0; i < 20 && code == TH_ABORTED; i++) {
        code =
            meas_call(f->admin, ELIG_METHOD("Recheck"), &req.base,
                      &teilhabe__eligibility__v1__recheck_response__descriptor, 20000, &r);
        if (code == TH_OK) {
            const Teilhabe__Eligibility__V1__RecheckResponse *resp =
                (const void *) r.response;
            assert_true(resp->daily);
            assert_int_equal(resp->decisions, 0);
        }
        th_result_clear(&r);
    }
    assert_int_equal(code, TH_OK);
    assert_int_equal(s_count(f, "schedule", "not_eligible"), before + 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_recheck),
        cmocka_unit_test(test_recheck_after_downtime),
        cmocka_unit_test(test_daily),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
