/* ---------------------------------------------------------------------------
 * test_eligibility_rules.c: the eligibility engine (services/eligibility/
 * rules.h): parsing and its errors, every operator, what-if, concept ages
 * (test_eligibility_money.c: entitlements, rounding, allocation).
 *
 * The rule sets here are small texts built around one criterion, so each
 * test says exactly what it is about; the shipped programmes are tested by
 * test_eligibility_golden.c.
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eligibility_test.h"

static void
test_number_operators(void **state)
{
    const char *mc = "managers.count";
    assert_true(s_passes("fact: managers.count, op: eq, value: 2", s_num(mc, M(2))));
    assert_false(s_passes("fact: managers.count, op: eq, value: 2", s_num(mc, M(3))));
    assert_false(s_passes("fact: managers.count, op: eq, value: 2", s_absent(mc)));
    assert_true(s_passes("fact: managers.count, op: ne, value: 2", s_num(mc, M(3))));
    assert_false(s_passes("fact: managers.count, op: ne, value: 2", s_num(mc, M(2))));
    assert_false(s_passes("fact: managers.count, op: ne, value: 2", s_absent(mc)));
    assert_true(s_passes("fact: managers.count, op: lt, value: 2", s_num(mc, M(1))));
    assert_false(s_passes("fact: managers.count, op: lt, value: 2", s_num(mc, M(2))));
    assert_false(s_passes("fact: managers.count, op: lt, value: 2", s_absent(mc)));
    assert_true(s_passes("fact: managers.count, op: le, value: 2", s_num(mc, M(2))));
    assert_false(s_passes("fact: managers.count, op: le, value: 2", s_num(mc, M(2) + 1)));
    assert_false(s_passes("fact: managers.count, op: le, value: 2", s_absent(mc)));
    assert_true(s_passes("fact: managers.count, op: gt, value: 2", s_num(mc, M(2) + 1)));
    assert_false(s_passes("fact: managers.count, op: gt, value: 2", s_num(mc, M(2))));
    assert_false(s_passes("fact: managers.count, op: gt, value: 2", s_absent(mc)));
    assert_true(s_passes("fact: managers.count, op: ge, value: 2", s_num(mc, M(2))));
    assert_false(s_passes("fact: managers.count, op: ge, value: 2", s_num(mc, M(1))));
    assert_false(s_passes("fact: managers.count, op: ge, value: 2", s_absent(mc)));
    assert_true(
        s_passes("fact: managers.count, op: between, value: [1, 3]", s_num(mc, M(1))));
    assert_true(
        s_passes("fact: managers.count, op: between, value: [1, 3]", s_num(mc, M(3))));
    assert_false(
        s_passes("fact: managers.count, op: between, value: [1, 3]", s_num(mc, 0)));
    assert_false(
        s_passes("fact: managers.count, op: between, value: [1, 3]", s_num(mc, M(4))));
    assert_false(
        s_passes("fact: managers.count, op: between, value: [1, 3]", s_absent(mc)));
    assert_true(s_passes("fact: managers.count, op: in, value: [1, 3]", s_num(mc, M(3))));
    assert_false(s_passes("fact: managers.count, op: in, value: [1, 3]", s_num(mc, M(2))));
    assert_false(s_passes("fact: managers.count, op: in, value: [1, 3]", s_absent(mc)));
    /* Fractions are exact: 0.5 is 500000 micro, not a float. */
    const char *share = "measures.open_to_all_share{field=housing}";
    assert_true(
        s_passes("fact: measures.open_to_all_share, field: housing, op: ge, value: 0.5",
                 s_num(share, 500000)));
    assert_false(
        s_passes("fact: measures.open_to_all_share, field: housing, op: ge, value: 0.5",
                 s_num(share, 499999)));
}

static void
test_date_text_bool_list_operators(void **state)
{
    const char *cd = "application.council_decision";
    assert_true(s_passes("fact: application.council_decision, op: lt, value: 2024-01-01",
                         s_date(cd, "2023-12-31")));
    assert_false(s_passes("fact: application.council_decision, op: lt, value: 2024-01-01",
                          s_date(cd, "2024-01-01")));
    assert_true(s_passes("fact: application.council_decision, op: eq, value: 2024-01-01",
                         s_date(cd, "2024-01-01")));
    assert_true(
        s_passes("fact: application.council_decision, op: between, value: [2023-01-01, "
                 "2023-12-31]",
                 s_date(cd, "2023-06-30")));
    assert_true(s_passes("fact: application.council_decision, op: exists",
                         s_date(cd, "2024-01-01")));
    assert_false(s_passes("fact: application.council_decision, op: exists", s_absent(cd)));
    /* Texts. */
    assert_true(
        s_passes("fact: concept.orientation, op: in, value: [participation, newcomers]",
                 s_text_fact("concept.orientation", "newcomers")));
    assert_false(
        s_passes("fact: concept.orientation, op: in, value: [participation, newcomers]",
                 s_text_fact("concept.orientation", "unclear")));
    assert_false(s_passes("fact: concept.orientation, op: eq, value: participation",
                          s_absent("concept.orientation")));
    assert_true(s_passes("fact: concept.orientation, op: ne, value: unclear",
                         s_text_fact("concept.orientation", "participation")));
    /* Bools. */
    rules_facts_t *f = s_facts();
    assert_int_equal(rules_facts_set_bool(f, "application.work_plan", true, "t"), 0);
    assert_true(s_passes("fact: application.work_plan, op: eq, value: true", f));
    f = s_facts();
    assert_int_equal(rules_facts_set_bool(f, "application.work_plan", false, "t"), 0);
    assert_false(s_passes("fact: application.work_plan, op: eq, value: true", f));
    assert_false(s_passes("fact: application.work_plan, op: eq, value: false",
                          s_absent("application.work_plan")));
    /* Lists: contains means every listed item is there. */
    const char *const both[] = {"education", "language", "housing"};
    const char *const one[] = {"education"};
    f = s_facts();
    assert_int_equal(rules_facts_set_list(f, "concept.fields", both, 3, "t"), 0);
    assert_true(
        s_passes("fact: concept.fields, op: contains, value: [education, language]", f));
    f = s_facts();
    assert_int_equal(rules_facts_set_list(f, "concept.fields", one, 1, "t"), 0);
    assert_false(
        s_passes("fact: concept.fields, op: contains, value: [education, language]", f));
    assert_false(s_passes("fact: concept.fields, op: contains, value: [education]",
                          s_absent("concept.fields")));
    f = s_facts();
    assert_int_equal(rules_facts_set_list(f, "concept.fields", NULL, 0, "t"), 0);
    assert_true(s_passes("fact: concept.fields, op: exists", f)); /* empty, not absent */
}

/* not of a failing criterion passes; an absent fact fails all but exists,
 * so not(exists) of an absent fact passes. */
static void
test_combinators(void **state)
{
    static const char crit[] =
        "  - {id: none, text: {de: d, en: e}, source: s, not: decided}\n"
        "  - {id: decided, text: {de: d, en: e}, source: s, fact: "
        "application.council_decision, "
        "op: exists}\n"
        "  - {id: either, text: {de: d, en: e}, source: s, any: [none, many]}\n"
        "  - {id: many, text: {de: d, en: e}, source: s, fact: managers.count, op: ge, "
        "value: "
        "2}\n";
    char *text = s_text(crit, "[either]", NULL);
    rules_set_t *set = s_parse(text);
    rules_facts_t *f = s_absent("application.council_decision");
    assert_int_equal(rules_facts_set_number(f, "managers.count", 0, "t"), 0);
    char err[256];
    rules_result_t *r =
        rules_evaluate(set, "05111", "2024-06-01", f, "en", err, sizeof err);
    assert_non_null(r);
    assert_int_equal(rules_result_outcome(r), RULES_ELIGIBLE);
    /* _exists, _state, either, none, decided, many: depth first, every child. */
    assert_int_equal(rules_result_trace_count(r), 6);
    static const char *const ids[] = {"_exists", "_state",  "either",
                                      "none",    "decided", "many"};
    static const int depths[] = {0, 0, 0, 1, 2, 1};
    static const bool passed[] = {true, true, true, true, false, false};
    for (size_t i = 0; i < 6; i++) {
        const rules_trace_t *t = rules_result_trace(r, i);
        assert_string_equal(t->id, ids[i]);
        assert_int_equal(t->depth, depths[i]);
        assert_int_equal(t->passed, passed[i]);
    }
    assert_string_equal(rules_result_trace(r, 4)->value, "");
    assert_string_equal(rules_result_trace(r, 5)->value, "0");
    assert_string_equal(rules_result_trace(r, 5)->expected, ">= 2");
    assert_string_equal(rules_result_summary(r), "eligible");
    rules_result_destroy(&r);
    rules_result_destroy(&r); /* twice is fine */
    /* With a decision, none fails; many still fails: not eligible, but
     * fixable. */
    assert_int_equal(
        rules_facts_set_date(f, "application.council_decision", "2024-01-01", "t"), 0);
    r = rules_evaluate(set, "05111", "2024-06-01", f, "de", err, sizeof err);
    assert_non_null(r);
    assert_int_equal(rules_result_outcome(r), RULES_NOT_ELIGIBLE);
    assert_true(rules_result_attainable(r));
    assert_string_equal(rules_result_summary(r), "nicht förderfähig: d");
    assert_int_equal(rules_result_cents(r), 0);
    assert_int_equal(rules_result_part_count(r), 0);
    rules_result_destroy(&r);
    rules_facts_destroy(&f);
    rules_set_destroy(&set);
    free(text);
}

static void
test_not_applicable(void **state)
{
    char *text =
        s_text("  - {id: c, text: {de: d, en: e}, source: s, fact: managers.count, op: "
               "ge, value: 1}\n",
               "[c]", NULL);
    rules_set_t *set = s_parse(text);
    char err[256];
    /* Another Land: no other fact is needed. */
    rules_facts_t *f = rules_facts_new();
    assert_int_equal(rules_facts_set_bool(f, "district.exists", true, "t"), 0);
    assert_int_equal(rules_facts_set_text(f, "district.state", "09", "t"), 0);
    rules_result_t *r =
        rules_evaluate(set, "09162", "2024-06-01", f, "de", err, sizeof err);
    assert_non_null(r);
    assert_int_equal(rules_result_outcome(r), RULES_NOT_APPLICABLE);
    assert_false(rules_result_attainable(r));
    assert_int_equal(rules_result_trace_count(r), 2);
    assert_string_equal(rules_result_trace(r, 1)->id, "_state");
    assert_false(rules_result_trace(r, 1)->passed);
    assert_false(rules_result_trace(r, 1)->fixable);
    assert_string_equal(rules_result_summary(r),
                        "nicht anwendbar: Kreis 09162 liegt nicht im Land 05");
    rules_result_destroy(&r);
    /* A district that does not exist on the date. */
    assert_int_equal(rules_facts_set_bool(f, "district.exists", false, "t"), 0);
    assert_int_equal(rules_facts_set_text(f, "district.state", "05", "t"), 0);
    r = rules_evaluate(set, "05111", "2024-06-01", f, "en", err, sizeof err);
    assert_non_null(r);
    assert_int_equal(rules_result_outcome(r), RULES_NOT_APPLICABLE);
    assert_false(rules_result_trace(r, 0)->passed);
    assert_string_equal(rules_result_summary(r),
                        "not applicable: district 05111 does not exist on 2024-06-01");
    rules_result_destroy(&r);
    /* Applicable, but a needed fact missing: an error, not a failure. */
    assert_int_equal(rules_facts_set_bool(f, "district.exists", true, "t"), 0);
    assert_null(rules_evaluate(set, "05111", "2024-06-01", f, "en", err, sizeof err));
    assert_non_null(strstr(err, "managers.count"));
    /* The wrong type for a fact is the caller's mistake too. */
    assert_int_equal(rules_facts_set_text(f, "managers.count", "two", "t"), 0);
    assert_null(rules_evaluate(set, "05111", "2024-06-01", f, "en", err, sizeof err));
    assert_null(rules_evaluate(set, "05111", "2024-6-1", f, "en", err, sizeof err));
    rules_facts_destroy(&f);
    rules_set_destroy(&set);
    free(text);
}

/* text with the first needle's first skip bytes replaced by insert;
 * freed by the caller. */
static char *
s_splice(const char *text, const char *needle, size_t skip, const char *insert)
{
    const char *p = strstr(text, needle);
    assert_non_null(p);
    const size_t at = (size_t) (p - text);
    char *out = malloc(strlen(text) + strlen(insert) + 1);
    assert_non_null(out);
    memcpy(out, text, at);
    strcpy(out + at, insert);
    strcat(out, text + at + skip);
    return out;
}

static void
test_parse_errors(void **state)
{
    /* Syntax: an unclosed flow mapping. */
    s_fails_criteria("  - {id: c, text: {de: d, en: e}\n", "[c]", 15, "syntax error");
    s_fails_criteria(
        "  - {id: c, text: {de: d, en: e}, source: s, fact: managers.count, op: ge, "
        "value: 1, colour: red}\n",
        "[c]", 14, "unknown key \"colour\"");
    s_fails_criteria(
        "  - {id: c, text: {de: d, en: e}, source: s, fact: managers.cunt, op: ge, "
        "value: 1}\n",
        "[c]", 14, "unknown fact \"managers.cunt\"");
    s_fails_criteria(
        "  - {id: c, text: {de: d, en: e}, source: s, fact: managers.count, op: eq, "
        "value: many}\n",
        "[c]", 14, "is not a number");
    s_fails_criteria(
        "  - {id: c, text: {de: d, en: e}, source: s, fact: application.work_plan, "
        "op: eq, value: yes}\n",
        "[c]", 14, "true or false");
    s_fails_criteria(
        "  - {id: c, text: {de: d, en: e}, source: s, fact: district.kind, op: eq, "
        "value: stadtstaat}\n",
        "[c]", 14, "not a value the fact takes");
    s_fails_criteria(
        "  - {id: c, text: {de: d, en: e}, source: s, fact: district.kind, op: lt, "
        "value: landkreis}\n",
        "[c]", 14, "operator lt does not apply");
    s_fails_criteria(
        "  - {id: c, text: {de: d, en: e}, source: s, fact: concept.fields, op: eq, "
        "value: education}\n",
        "[c]", 14, "operator eq does not apply");
    s_fails_criteria(
        "  - {id: c, text: {de: d, en: e}, fact: managers.count, op: ge, value: 1}\n",
        "[c]", 14, "missing required key \"source\"");
    s_fails_criteria(
        "  - {id: c, text: {de: d}, source: s, fact: managers.count, op: ge, value: "
        "1}\n",
        "[c]", 14, "missing required key \"en\"");
    s_fails_criteria("  - {id: c, text: {de: d, en: e}, source: s, all: [c2]}\n", "[c]", 14,
                     "unknown criterion \"c2\"");
    s_fails_criteria(
        "  - {id: c, text: {de: d, en: e}, source: s, fact: managers.count, op: ge, "
        "value: 1}\n",
        "[x]", 15, "unknown criterion \"x\"");
    s_fails_criteria("  - {id: a, text: {de: d, en: e}, source: s, all: [b]}\n"
                     "  - {id: b, text: {de: d, en: e}, source: s, all: [a]}\n",
                     "[a]", 15, "cycle");
    s_fails_criteria("  - {id: c, text: {de: d, en: e}, source: s, all: []}\n", "[c]", 14,
                     "empty all");
    s_fails_criteria(
        "  - {id: c, text: {de: d, en: e}, source: s, fact: managers.count, op: ge, "
        "value: 1}\n"
        "  - {id: lonely, text: {de: d, en: e}, source: s, fact: managers.count, "
        "op: ge, value: 2}\n",
        "[c]", 15, "\"lonely\" is used neither");
    s_fails_criteria(
        "  - {id: c, text: {de: d, en: e}, source: s, fact: managers.count, op: ge, "
        "value: 1.1234567}\n",
        "[c]", 14, "more than 6 decimals");
    s_fails_criteria(
        "  - {id: c, text: {de: d, en: e}, source: s, fact: managers.count, op: ge, "
        "value: 1}\n"
        "  - {id: c, text: {de: d, en: e}, source: s, fact: managers.count, op: ge, "
        "value: 2}\n",
        "[c]", 15, "given twice");
    /* Arguments: missing, unknown, bad. */
    s_fails_criteria(
        "  - {id: c, text: {de: d, en: e}, source: s, fact: indicator.refugees, op: "
        "gt, value: 0}\n",
        "[c]", 14, "needs the argument period");
    s_fails_criteria(
        "  - {id: c, text: {de: d, en: e}, source: s, fact: managers.count, period: "
        "\"2024\", op: gt, value: 0}\n",
        "[c]", 14, "takes no argument period");
    s_fails_criteria(
        "  - {id: c, text: {de: d, en: e}, source: s, fact: indicator.refugees, "
        "period: 2024H1, op: gt, value: 0}\n",
        "[c]", 14, "not a valid period");
    s_fails_criteria(
        "  - {id: c, text: {de: d, en: e}, source: s, fact: measures.count, target: "
        "everybody, op: gt, value: 0}\n",
        "[c]", 14, "not a valid target");
    s_fails_criteria(
        "  - {id: c, text: {de: d, en: e}, source: s, fact: managers.count, op: "
        "exists, value: 1}\n",
        "[c]", 14, "exists takes no value");
    s_fails_criteria(
        "  - {id: c, text: {de: d, en: e}, source: s, fact: managers.count, op: "
        "between, value: [3, 1]}\n",
        "[c]", 14, "low is above");

    /* The header and the parameters. */
    static const char crit[] = "  - {id: c, text: {de: d, en: e}, source: s, fact: "
                               "managers.count, op: ge, value: 1}\n";
    char *text = s_text(crit, "[c]", NULL);
    char *bad = s_splice(text, "  source: test\n", 0, "  valid_to: 2020-12-31\n");
    s_fails(bad, 9, "before valid_from"); /* valid_to is line 9 now */
    free(bad);
    bad = s_splice(text, "source: s, illustrative: false", strlen("source: s, "), "");
    s_fails(bad, 11, "missing required key \"source\"");
    free(bad);
    bad = s_splice(text, "\"1000.00\"", strlen("\"1000.00\""), "\"1000.001\"");
    s_fails(bad, 11, "not an amount in euros");
    free(bad);
    /* An entitlement naming a parameter that is not there or of the wrong kind. */
    char *t2 =
        s_text(crit, "[c]", "entitlement:\n  components:\n    - {id: a, amount: nope}\n");
    s_fails(t2, 18, "unknown parameter \"nope\"");
    free(t2);
    t2 = s_text(crit, "[c]", "entitlement:\n  components:\n    - {id: a, amount: half}\n");
    s_fails(t2, 18, "of kind number");
    free(t2);
    s_fails("format: [\n", 2, "syntax error");
    s_fails("", 1, "empty");
    s_fails("format: teilhabe-rules/2\n", 1, "teilhabe-rules/1");
    free(text);
    /* Errors stop at max, and n says how many were written. */
    rules_error_t one[1];
    size_t n = 99;
    assert_null(rules_parse("a: 1\nb: 2\n", 10, one, 1, &n));
    assert_int_equal(n, 1);
}

static void
test_whatif(void **state)
{
    static const char crit[] =
        "  - {id: young, text: {de: jung, en: young}, source: s, fact: concept.age_years, "
        "op: le, "
        "value: 3}\n"
        "  - {id: adopted, text: {de: beschlossen, en: adopted}, source: s, fact: "
        "concept.adopted, op: eq, value: true}\n"
        "  - {id: decision, text: {de: Beschluss, en: decision}, source: s, fact: "
        "application.council_decision, op: exists}\n"
        "  - {id: plan, text: {de: Plan, en: plan}, source: s, fact: "
        "application.work_plan, op: "
        "eq, value: true}\n"
        "  - {id: staff, text: {de: Personal, en: staff}, source: s, fact: managers.count, "
        "op: "
        "ge, value: 1}\n"
        "  - {id: people, text: {de: Einwohner, en: people}, source: s, fact: "
        "district.population, op: ge, value: 100000}\n";
    char *text = s_text(crit, "[young, adopted, decision, plan, staff, people]", NULL);
    rules_set_t *set = s_parse(text);
    rules_facts_t *f = s_facts();
    assert_int_equal(rules_facts_set_number(f, "concept.age_years", 3002739, "t"), 0);
    assert_int_equal(rules_facts_set_bool(f, "concept.adopted", false, "t"), 0);
    assert_int_equal(rules_facts_set_absent(f, "application.council_decision", "t"), 0);
    assert_int_equal(rules_facts_set_bool(f, "application.work_plan", false, "t"), 0);
    assert_int_equal(rules_facts_set_number(f, "managers.count", 0, "t"), 0);
    assert_int_equal(rules_facts_set_number(f, "district.population", M(90000), "t"), 0);
    char err[256];
    rules_result_t *r =
        rules_evaluate(set, "05111", "2024-06-01", f, "de", err, sizeof err);
    assert_non_null(r);
    assert_int_equal(rules_result_trace_count(r), 8);
    assert_string_equal(
        rules_result_trace(r, 2)->whatif,
        "ein Integrationskonzept, vom Rat beschlossen am oder nach 2021-06-01");
    assert_string_equal(rules_result_trace(r, 2)->value, "3.002739");
    assert_string_equal(rules_result_trace(r, 3)->whatif,
                        "ein vom Rat beschlossenes Integrationskonzept");
    assert_string_equal(rules_result_trace(r, 4)->whatif,
                        "ein Ratsbeschluss (application set … --council-decision DATUM)");
    assert_non_null(strstr(rules_result_trace(r, 5)->whatif, "ein Arbeitsplan"));
    assert_string_equal(rules_result_trace(r, 6)->whatif,
                        "mindestens 1 zugeordnete:r Integrationsmanager:in (heute 0)");
    /* Population cannot be changed: no what-if, not attainable. */
    assert_string_equal(rules_result_trace(r, 7)->whatif, "");
    assert_false(rules_result_trace(r, 7)->fixable);
    assert_true(rules_result_trace(r, 6)->fixable);
    assert_false(rules_result_attainable(r));
    assert_string_equal(rules_result_summary(r), "nicht förderfähig: jung");
    rules_result_destroy(&r);
    r = rules_evaluate(set, "05111", "2024-06-01", f, "en", err, sizeof err);
    assert_non_null(r);
    assert_string_equal(
        rules_result_trace(r, 2)->whatif,
        "an integration concept adopted by the council on or after 2021-06-01");
    assert_string_equal(rules_result_summary(r), "not eligible: young");
    rules_result_destroy(&r);
    /* Enough people: everything left is fixable. */
    assert_int_equal(rules_facts_set_number(f, "district.population", M(100000), "t"), 0);
    r = rules_evaluate(set, "05111", "2024-06-01", f, "en", err, sizeof err);
    assert_non_null(r);
    assert_true(rules_result_attainable(r));
    assert_int_equal(rules_result_outcome(r), RULES_NOT_ELIGIBLE);
    rules_result_destroy(&r);
    rules_facts_destroy(&f);
    rules_set_destroy(&set);
    free(text);
}

static void
test_age_years(void **state)
{
    int64_t m;
    assert_int_equal(rules_age_years("2021-06-01", "2024-06-01", &m), 0);
    assert_int_equal(m, 3000000);
    assert_int_equal(rules_age_years("2021-06-01", "2024-06-02", &m), 0);
    assert_true(m > 3000000);
    assert_int_equal(m, 3000000 + 1000000 / 365);
    assert_int_equal(rules_age_years("2021-06-01", "2024-05-31", &m), 0);
    assert_true(m < 3000000);
    assert_int_equal(rules_age_years("2024-06-01", "2024-06-01", &m), 0);
    assert_int_equal(m, 0);
    /* 29 Feb: its anniversary in a common year is 28 Feb. */
    assert_int_equal(rules_age_years("2020-02-29", "2023-02-28", &m), 0);
    assert_int_equal(m, 3000000);
    assert_int_equal(rules_age_years("2020-02-29", "2023-02-27", &m), 0);
    assert_true(m < 3000000);
    assert_int_equal(rules_age_years("2020-02-29", "2024-02-29", &m), 0);
    assert_int_equal(m, 4000000);
    assert_int_equal(rules_age_years("2020-02-29", "2024-02-28", &m), 0);
    assert_true(m < 4000000 && m > 3000000);
    /* Half a leap year: 2024-01-01 + 183 of 366 days. */
    assert_int_equal(rules_age_years("2024-01-01", "2024-07-02", &m), 0);
    assert_int_equal(m, 500000);
    assert_int_equal(rules_age_years("2024-06-02", "2024-06-01", &m), -1);
    assert_int_equal(rules_age_years("2024-02-30", "2024-06-01", &m), -1);
}

static void
test_hash_needs_and_metadata(void **state)
{
    static const char crit[] =
        "  - {id: c, text: {de: d, en: e}, source: s, fact: indicator.refugees, period: "
        "2024Q3, "
        "op: gt, value: 0}\n"
        "  - {id: m, text: {de: d, en: e}, source: s, fact: measures.count, target: "
        "newcomers, "
        "field: housing, op: gt, value: 0}\n"
        "  - {id: both, text: {de: d, en: e}, source: s, all: [c, m]}\n";
    char *text = s_text(crit, "[both]", NULL);
    rules_set_t *a = s_parse(text), *b = s_parse(text);
    assert_int_equal(strlen(rules_hash(a)), 64);
    assert_string_equal(rules_hash(a), rules_hash(b));
    rules_set_destroy(&b);
    size_t n;
    const rules_need_t *needs = rules_needs(a, &n);
    assert_int_equal(n, 4);
    assert_string_equal(needs[0].key, "district.exists");
    assert_string_equal(needs[1].key, "district.state");
    assert_string_equal(needs[2].key,
                        "indicator.refugees{disaggregation=total,period=2024Q3}");
    assert_string_equal(needs[2].indicator, "refugees");
    assert_string_equal(needs[2].period, "2024Q3");
    assert_string_equal(needs[2].disaggregation, "total");
    assert_int_equal(needs[2].source, RULES_FROM_VALUES);
    assert_string_equal(needs[3].key, "measures.count{field=housing,target=newcomers}");
    assert_null(needs[3].indicator);
    assert_int_equal(needs[3].source, RULES_FROM_MEASURES);
    assert_string_equal(rules_programme_code(a), "test");
    assert_string_equal(rules_programme_state(a), "05");
    assert_string_equal(rules_valid_from(a), "2021-01-01");
    assert_string_equal(rules_valid_to(a), "");
    assert_false(rules_allocates(a));
    /* Another text, another hash. */
    char *other = s_text(crit, "[both]",
                         "entitlement:\n  components:\n    - {id: b, amount: amount}\n");
    b = s_parse(other);
    assert_string_not_equal(rules_hash(a), rules_hash(b));
    rules_set_destroy(&b);
    rules_set_destroy(&a);
    rules_set_destroy(&a);
    free(other);
    free(text);
    rules_type_t t;
    assert_int_equal(rules_fact_type("concept.fields", &t), 0);
    assert_int_equal(t, RULES_LIST);
    assert_int_equal(rules_fact_type("indicator.x_y{disaggregation=total,period=2024}", &t),
                     0);
    assert_int_equal(t, RULES_NUMBER);
    assert_int_equal(rules_fact_type("indicator.x", &t), -1); /* code too short */
    int64_t micro;
    assert_int_equal(rules_parse_micro("-1.25", &micro), 0);
    assert_int_equal(micro, -1250000);
    assert_int_equal(rules_parse_micro("1.", &micro), -1);
    assert_int_equal(rules_parse_micro("0.0000001", &micro), -8);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_number_operators),
        cmocka_unit_test(test_date_text_bool_list_operators),
        cmocka_unit_test(test_combinators),
        cmocka_unit_test(test_not_applicable),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_whatif),
        cmocka_unit_test(test_age_years),
        cmocka_unit_test(test_hash_needs_and_metadata),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
