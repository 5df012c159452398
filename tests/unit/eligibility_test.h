/* ---------------------------------------------------------------------------
 * eligibility_test.h: what the engine's unit tests share
 * (test_eligibility_rules.c, test_eligibility_money.c): a small rule set
 * built around the criteria a test gives, parsing that must work or fail
 * on a given line, and the facts of an existing NRW Kreis.
 * ---------------------------------------------------------------------------
 */
#ifndef ELIGIBILITY_TEST_H
#define ELIGIBILITY_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"

/* Lines 1-13; criteria start on line 14. */
static const char s_head[] =
    "format: teilhabe-rules/1\n"
    "programme:\n"
    "  code: test\n"
    "  state: \"05\"\n"
    "  name: {de: Test, en: Test}\n"
    "  description: {de: Test, en: Test}\n"
    "version:\n"
    "  valid_from: 2021-01-01\n"
    "  source: test\n"
    "parameters:\n"
    "  amount: {value: \"1000.00\", kind: eur, source: s, "
    "illustrative: false}\n"
    "  half: {value: \"0.5\", kind: number, source: s, illustrative: "
    "true}\n"
    "criteria:\n";

static const char s_components[] =
    "entitlement:\n  components:\n    - {id: a, amount: amount}\n";

/* A rule set: s_head, then criteria, eligible_if and entitlement as
 * given. Freed by the caller. */
static inline char *
s_text(const char *criteria, const char *eligible_if, const char *entitlement)
{
    char *text = NULL;
    assert_true(asprintf(&text, "%s%seligible_if: %s\n%s", s_head, criteria, eligible_if,
                         entitlement ? entitlement : s_components) > 0);
    return text;
}

static inline rules_set_t *
s_parse(const char *text)
{
    rules_error_t errors[RULES_ERRORS_MAX];
    size_t n = 0;
    rules_set_t *set = rules_parse(text, strlen(text), errors, RULES_ERRORS_MAX, &n);
    for (size_t i = 0; set == NULL && i < n; i++)
        fprintf(stderr, "line %d col %d %s: %s\n", errors[i].line, errors[i].column,
                errors[i].field, errors[i].message);
    assert_non_null(set);
    assert_int_equal(n, 0);
    return set;
}

/* Asserts that text does not parse and that some error is on line with
 * a message containing needle. */
static inline void
s_fails(const char *text, int line, const char *needle)
{
    rules_error_t errors[RULES_ERRORS_MAX];
    size_t n = 0;
    rules_set_t *set = rules_parse(text, strlen(text), errors, RULES_ERRORS_MAX, &n);
    assert_null(set);
    assert_true(n >= 1 && n <= RULES_ERRORS_MAX);
    for (size_t i = 0; i < n; i++)
        if (errors[i].line == line && strstr(errors[i].message, needle) != NULL)
            return;
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "line %d col %d %s: %s\n", errors[i].line, errors[i].column,
                errors[i].field, errors[i].message);
    fail_msg("no error on line %d containing \"%s\"", line, needle);
}

static inline void
s_fails_criteria(const char *criteria, const char *eligible_if, int line,
                 const char *needle)
{
    char *text = s_text(criteria, eligible_if, NULL);
    s_fails(text, line, needle);
    free(text);
}

/* Facts of an existing Kreis in NRW. */
static inline rules_facts_t *
s_facts(void)
{
    rules_facts_t *f = rules_facts_new();
    assert_non_null(f);
    assert_int_equal(rules_facts_set_bool(f, "district.exists", true, "test"), 0);
    assert_int_equal(rules_facts_set_text(f, "district.state", "05", "test"), 0);
    assert_int_equal(rules_facts_set_text(f, "district.kind", "landkreis", "test"), 0);
    return f;
}

/* Whether the single criterion "leaf" (fact, op, value) passes with facts
 * (which it destroys). */
static inline bool
s_passes(const char *leaf, rules_facts_t *facts)
{
    char criteria[512];
    snprintf(criteria, sizeof criteria,
             "  - {id: c, text: {de: d, en: e}, source: s, %s}\n", leaf);
    char *text = s_text(criteria, "[c]", NULL);
    rules_set_t *set = s_parse(text);
    char err[256];
    rules_result_t *r =
        rules_evaluate(set, "05111", "2024-06-01", facts, "de", err, sizeof err);
    if (r == NULL)
        fail_msg("evaluate: %s", err);
    const bool passed = rules_result_outcome(r) == RULES_ELIGIBLE;
    if (!passed)
        assert_int_equal(rules_result_outcome(r), RULES_NOT_ELIGIBLE);
    rules_result_destroy(&r);
    rules_set_destroy(&set);
    rules_facts_destroy(&facts);
    free(text);
    return passed;
}

static inline rules_facts_t *
s_num(const char *key, int64_t micro)
{
    rules_facts_t *f = s_facts();
    assert_int_equal(rules_facts_set_number(f, key, micro, "test"), 0);
    return f;
}

static inline rules_facts_t *
s_absent(const char *key)
{
    rules_facts_t *f = s_facts();
    assert_int_equal(rules_facts_set_absent(f, key, "test"), 0);
    return f;
}

static inline rules_facts_t *
s_date(const char *key, const char *date)
{
    rules_facts_t *f = s_facts();
    assert_int_equal(rules_facts_set_date(f, key, date, "test"), 0);
    return f;
}

static inline rules_facts_t *
s_text_fact(const char *key, const char *text)
{
    rules_facts_t *f = s_facts();
    assert_int_equal(rules_facts_set_text(f, key, text, "test"), 0);
    return f;
}

#define M(x) ((int64_t) (x) *RULES_MICRO)

#endif /* ELIGIBILITY_TEST_H */
