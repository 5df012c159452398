/* ---------------------------------------------------------------------------
 * test_eligibility_publish.c: rule sets through the eligibility service
 * against the real stack: ValidateRuleSet with the line of an error,
 * PublishRuleSet refused while invalid, for another Land, twice, or
 * overlapping; a new version succeeding the one in force from a date on;
 * a published programme deciding at once; one re-check that both
 * follows an event and does the daily run, each decision with its own
 * trigger (the job is off here, so the test says when); and the registry down
 * (UNAVAILABLE, nothing stored, the service's own reads still answer).
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

typedef struct {
    eligibility_env_t env;
    th_client_t *ministry_nw;
    th_client_t *ministry_bw;
    th_client_t *analyst;
} s_fixture_t;

static int
s_setup(void **state)
{
    s_fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    *state = f;
    if (eligibility_env_start(&f->env, "eligpub", "0") != 0)
        return -1;
    f->ministry_nw = elig_client(&f->env, "ministry-nw");
    f->ministry_bw = elig_client(&f->env, "ministry-bw");
    f->analyst = elig_client(&f->env, "analyst");
    return f->ministry_nw && f->ministry_bw && f->analyst ? 0 : -1;
}

static int
s_teardown(void **state)
{
    s_fixture_t *f = *state;
    th_client_destroy(&f->ministry_nw);
    th_client_destroy(&f->ministry_bw);
    th_client_destroy(&f->analyst);
    const bool clean = eligibility_env_stop(&f->env);
    free(f);
    return clean ? 0 : -1;
}

/* --- rule sets ---------------------------------------------------------------------------
 */

static const char s_rules[] =
    "format: teilhabe-rules/1\n"
    "programme:\n"
    "  code: test-managers\n"
    "  state: \"05\"\n"
    "  name: {de: \"Testprogramm\", en: \"Test programme\"}\n"
    "  description: {de: \"Nur für Tests\", en: \"Tests only\"}\n"
    "version:\n"
    "  valid_from: 2024-01-01\n"
    "  valid_to: \"\"\n"
    "  source: \"test\"\n"
    "parameters:\n"
    "  per_post: {value: \"1000.00\", kind: eur, source: \"test\", illustrative: true}\n"
    "criteria:\n"
    "  - id: has_manager\n"
    "    text: {de: \"Integrationsmanager:in zugeordnet\", en: \"a manager assigned\"}\n"
    "    source: \"test\"\n"
    "    fact: managers.count\n"
    "    op: %s\n"
    "    value: 1\n"
    "eligible_if: [has_manager]\n"
    "entitlement:\n"
    "  components:\n"
    "    - id: post\n"
    "      amount: per_post\n";

static int
s_publish(th_client_t *c, const char *text, th_result_t *r)
{
    Teilhabe__Eligibility__V1__PublishRuleSetRequest req =
        TEILHABE__ELIGIBILITY__V1__PUBLISH_RULE_SET_REQUEST__INIT;
    req.text = (char *) text;
    return meas_call(c, ELIG_METHOD("PublishRuleSet"), &req.base,
                     &teilhabe__eligibility__v1__programme__descriptor, 10000, r);
}

static void
test_rule_sets(void **state)
{
    s_fixture_t *f = *state;
    th_result_t r;
    char text[2048];
    /* An operator that is none: the line says where. */
    snprintf(text, sizeof text, s_rules, "about");
    Teilhabe__Eligibility__V1__ValidateRuleSetRequest v =
        TEILHABE__ELIGIBILITY__V1__VALIDATE_RULE_SET_REQUEST__INIT;
    v.text = text;
    assert_int_equal(
        meas_call(f->analyst, ELIG_METHOD("ValidateRuleSet"), &v.base,
                  &teilhabe__eligibility__v1__validate_rule_set_response__descriptor, 5000,
                  &r),
        TH_OK);
    const Teilhabe__Eligibility__V1__ValidateRuleSetResponse *check =
        (const void *) r.response;
    assert_false(check->valid);
    assert_true(check->n_errors >= 1);
    assert_int_equal(check->errors[0]->line, 18);
    assert_non_null(strstr(check->errors[0]->field, "op"));
    th_result_clear(&r);
    assert_int_equal(s_publish(f->ministry_nw, text, &r), TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "text"));
    assert_non_null(strstr(r.message, "line 18"));
    th_result_clear(&r);
    assert_int_equal(elig_count(&f->env, "SELECT count(*) FROM eligibility.programmes "
                                         "WHERE code = 'test-managers'"),
                     0);

    snprintf(text, sizeof text, s_rules, "ge");
    v.text = text;
    assert_int_equal(
        meas_call(f->analyst, ELIG_METHOD("ValidateRuleSet"), &v.base,
                  &teilhabe__eligibility__v1__validate_rule_set_response__descriptor, 5000,
                  &r),
        TH_OK);
    check = (const void *) r.response;
    assert_true(check->valid);
    assert_string_equal(check->programme_code, "test-managers");
    bool managers = false;
    for (size_t i = 0; i < check->n_facts; i++)
        managers |= strcmp(check->facts[i], "managers.count") == 0;
    assert_true(managers);
    th_result_clear(&r);
    /* Another Land's ministry may not; NRW's may, once. */
    assert_int_equal(s_publish(f->ministry_bw, text, &r), TH_PERMISSION_DENIED);
    th_result_clear(&r);
    assert_int_equal(elig_expect(s_publish(f->ministry_nw, text, &r), &r, TH_OK), TH_OK);
    const Teilhabe__Eligibility__V1__Programme *p = (const void *) r.response;
    assert_string_equal(p->code, "test-managers");
    assert_int_equal(p->n_versions, 1);
    th_result_clear(&r);
    assert_int_equal(s_publish(f->ministry_nw, text, &r), TH_ALREADY_EXISTS);
    th_result_clear(&r);
    /* Another text for the same dates overlaps. */
    snprintf(text, sizeof text, s_rules, "gt");
    assert_int_equal(s_publish(f->ministry_nw, text, &r), TH_FAILED_PRECONDITION);
    assert_non_null(strstr(r.message, "overlap"));
    th_result_clear(&r);
    /* From 2026 on it succeeds version 1, which then ends on 2025-12-31;
     * decisions before that date still use version 1. */
    memcpy(strstr(text, "2024-01-01"), "2026-01-01", 10);
    assert_int_equal(elig_expect(s_publish(f->ministry_nw, text, &r), &r, TH_OK), TH_OK);
    p = (const void *) r.response;
    assert_int_equal(p->n_versions, 2);
    assert_string_equal(p->versions[0]->valid_to, "2025-12-31");
    assert_string_equal(p->versions[1]->valid_from, "2026-01-01");
    assert_string_equal(p->versions[1]->valid_to, "");
    th_result_clear(&r);
    assert_int_equal(
        elig_evaluate(f->ministry_nw, "test-managers", "05111", "2026-06-01", "en", &r),
        TH_OK);
    assert_int_equal(((const s_decision_t *) r.response)->rule_version, 2);
    th_result_clear(&r);
    /* Decided: no manager in Düsseldorf; an illustrative programme. */
    assert_int_equal(
        elig_evaluate(f->ministry_nw, "test-managers", "05111", "2025-01-01", "en", &r),
        TH_OK);
    const s_decision_t *d = (const void *) r.response;
    assert_int_equal(d->outcome, S_OUT(NOT_ELIGIBLE));
    assert_string_equal(elig_line(d, "has_manager")->value, "0");
    th_result_clear(&r);
}

/* --- one re-check: an event and the daily run ----------------------------------- */

/* ags's concept adopted days_ago days before today (a new version when
 * version > 0), and its application for nrw-ki (first time). */
static void
s_nrw_district(s_fixture_t *f, const char *ags, int days_ago, int64_t version, bool apply)
{
    char today[TH_DATE_LEN + 1], adopted[TH_DATE_LEN + 1];
    th_date_today(today);
    th_date_add_days(today, -days_ago, adopted);
    Teilhabe__Registry__V1__Concept concept = TEILHABE__REGISTRY__V1__CONCEPT__INIT;
    Teilhabe__Common__V1__FieldOfAction fields[] = {
        TEILHABE__COMMON__V1__FIELD_OF_ACTION__FIELD_OF_ACTION_EDUCATION};
    concept.ags = (char *) ags;
    concept.title = (char *) "Integrationskonzept";
    concept.adopted_on = adopted;
    concept.orientation = TEILHABE__REGISTRY__V1__ORIENTATION__ORIENTATION_PARTICIPATION;
    concept.fields = fields;
    concept.n_fields = 1;
    Teilhabe__Registry__V1__SetConceptRequest sc =
        TEILHABE__REGISTRY__V1__SET_CONCEPT_REQUEST__INIT;
    sc.concept = &concept;
    sc.version = version;
    th_result_t r;
    assert_int_equal(
        elig_expect(meas_call(f->ministry_nw, "teilhabe.registry.v1.Registry/SetConcept",
                              &sc.base, &teilhabe__registry__v1__concept__descriptor, 10000,
                              &r),
                    &r, TH_OK),
        TH_OK);
    th_result_clear(&r);
    if (!apply)
        return;
    Teilhabe__Eligibility__V1__Application a = TEILHABE__ELIGIBILITY__V1__APPLICATION__INIT;
    a.programme_code = (char *) "nrw-ki";
    a.ags = (char *) ags;
    a.council_decision = adopted;
    a.work_plan = true;
    Teilhabe__Eligibility__V1__SetApplicationFactsRequest sa =
        TEILHABE__ELIGIBILITY__V1__SET_APPLICATION_FACTS_REQUEST__INIT;
    sa.application = &a;
    assert_int_equal(meas_call(f->ministry_nw, ELIG_METHOD("SetApplicationFacts"), &sa.base,
                               &teilhabe__eligibility__v1__application__descriptor, 10000,
                               &r),
                     TH_OK);
    th_result_clear(&r);
    assert_int_equal(elig_evaluate(f->ministry_nw, "nrw-ki", ags, "", "de", &r), TH_OK);
    assert_int_equal(((const s_decision_t *) r.response)->outcome, S_OUT(ELIGIBLE));
    th_result_clear(&r);
}

static long long
s_count(s_fixture_t *f, const char *ags, const char *trigger)
{
    char sql[256];
    snprintf(
        sql, sizeof sql,
        "SELECT count(*) FROM eligibility.decisions WHERE ags = '%s' AND trigger = '%s' "
        "AND outcome = 'not_eligible' AND changed",
        ags, trigger);
    return elig_count(&f->env, sql);
}

/* Recheck as the admin as of as_of; true with the counts when it worked. */
static bool
s_recheck(s_fixture_t *f, const char *as_of, int *decisions, int *changed)
{
    th_client_t *admin = elig_client(&f->env, "admin");
    if (admin == NULL)
        return false;
    Teilhabe__Eligibility__V1__RecheckRequest req =
        TEILHABE__ELIGIBILITY__V1__RECHECK_REQUEST__INIT;
    req.as_of = (char *) as_of;
    th_result_t r;
    bool ok =
        elig_expect(meas_call(admin, ELIG_METHOD("Recheck"), &req.base,
                              &teilhabe__eligibility__v1__recheck_response__descriptor,
                              20000, &r),
                    &r, TH_OK) == TH_OK;
    if (ok) {
        const Teilhabe__Eligibility__V1__RecheckResponse *resp = (const void *) r.response;
        *decisions = resp->decisions;
        *changed = resp->changed;
        ok &= resp->daily;
    }
    th_result_clear(&r);
    th_client_destroy(&admin);
    return ok;
}

static void
test_recheck_event_and_daily(void **state)
{
    s_fixture_t *f = *state;
    assert_int_equal(th_date_init(), 0);
    /* Düsseldorf a year old, Mettmann ten days short of three years. */
    s_nrw_district(f, "05111", 365, 0, true);
    s_nrw_district(f, "05158", 3 * 365 - 10, 0, true);
    /* A first re-check today reads the events so far (nothing changes
     * today) and does today's daily run. */
    char today[TH_DATE_LEN + 1], later[TH_DATE_LEN + 1];
    th_date_today(today);
    th_date_add_days(today, 30, later);
    int decisions = -1, changed = -1;
    assert_true(s_recheck(f, today, &decisions, &changed));
    assert_int_equal(decisions, 0);
    /* Düsseldorf's council dates its concept four years back: an event. */
    s_nrw_district(f, "05111", 4 * 365 + 1, 1, false);
    /* A re-check a month on: the daily run is due again, and the event is
     * waiting. */
    assert_true(s_recheck(f, later, &decisions, &changed));
    assert_int_equal(decisions, 2);
    assert_int_equal(changed, 2);
    /* Each with the trigger that re-decided it. */
    assert_int_equal(s_count(f, "05111", "event"), 1);
    assert_int_equal(s_count(f, "05111", "schedule"), 0);
    assert_int_equal(s_count(f, "05158", "schedule"), 1);
    assert_int_equal(s_count(f, "05158", "event"), 0);
}

/* --- the registry down
 * ------------------------------------------------------------------------ */

static void
test_registry_down(void **state)
{
    s_fixture_t *f = *state;
    th_result_t r;
    assert_int_equal(th_proc_stop(&f->env.meas.reg.registry, SIGTERM, 5000), 0);
    const long long before =
        elig_count(&f->env, "SELECT count(*) FROM eligibility.decisions");
    assert_int_equal(elig_expect(elig_evaluate(f->ministry_nw, "nrw-ki", "05111",
                                               "2025-01-01", "de", &r),
                                 &r, TH_UNAVAILABLE),
                     TH_UNAVAILABLE);
    th_result_clear(&r);
    assert_int_equal(elig_count(&f->env, "SELECT count(*) FROM eligibility.decisions"),
                     before);
    /* What needs no other service still answers. */
    Teilhabe__Eligibility__V1__ListProgrammesRequest lreq =
        TEILHABE__ELIGIBILITY__V1__LIST_PROGRAMMES_REQUEST__INIT;
    assert_int_equal(
        meas_call(f->analyst, ELIG_METHOD("ListProgrammes"), &lreq.base,
                  &teilhabe__eligibility__v1__list_programmes_response__descriptor, 5000,
                  &r),
        TH_OK);
    th_result_clear(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule_sets),
        cmocka_unit_test(test_recheck_event_and_daily),
        cmocka_unit_test(test_registry_down),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
