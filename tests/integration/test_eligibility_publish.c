/* ---------------------------------------------------------------------------
 * test_eligibility_publish.c: rule sets through the eligibility service
 * against the real stack: ValidateRuleSet with the line of an error,
 * PublishRuleSet refused while invalid, for another Land, twice, or
 * overlapping; a new version succeeding the one in force from a date on;
 * a published programme deciding at once; and the registry down
 * (UNAVAILABLE, nothing stored, the service's own reads still answer).
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "eligibility_env.h"

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
        cmocka_unit_test(test_registry_down),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
