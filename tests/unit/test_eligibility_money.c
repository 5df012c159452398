/* ---------------------------------------------------------------------------
 * test_eligibility_money.c: the eligibility engine's amounts (rules.h):
 * components, posts by district kind, rounding half up, caps and floors,
 * the illustrative mark, and the allocation of a budget with a minimum
 * (largest remainder, ties by AGS, the sum exactly the budget).
 * ---------------------------------------------------------------------------
 */
#include "eligibility_test.h"

/* The entitlement of a landkreis (or kind) under the entitlement text. */
static rules_result_t *
s_entitled(const char *parameters, const char *entitlement, const char *kind)
{
    char *text = NULL;
    assert_true(
        asprintf(&text,
                 "%s%s"
                 "criteria:\n"
                 "  - {id: c, text: {de: d, en: e}, source: s, fact: managers.count, "
                 "op: ge, value: 0}\n"
                 "eligible_if: [c]\n%s",
                 s_head, parameters, entitlement) > 0);
    /* s_head ends with "criteria:\n": cut it, the parameters go before. */
    char *cut = strstr(text, "criteria:\n");
    memmove(cut, cut + strlen("criteria:\n"), strlen(cut + strlen("criteria:\n")) + 1);
    rules_set_t *set = s_parse(text);
    rules_facts_t *f = s_num("managers.count", 0);
    assert_int_equal(rules_facts_set_text(f, "district.kind", kind, "t"), 0);
    char err[256];
    rules_result_t *r =
        rules_evaluate(set, "05111", "2024-06-01", f, "en", err, sizeof err);
    if (r == NULL)
        fail_msg("evaluate: %s", err);
    assert_int_equal(rules_result_outcome(r), RULES_ELIGIBLE);
    /* The parts always add up to the whole. */
    int64_t sum = 0;
    for (size_t i = 0; i < rules_result_part_count(r); i++)
        sum += rules_result_part(r, i)->cents;
    assert_int_equal(sum, rules_result_cents(r));
    rules_facts_destroy(&f);
    rules_set_destroy(&set);
    free(text);
    return r;
}

static void
test_entitlement(void **state)
{
    static const char params[] =
        "  odd: {value: \"1000.01\", kind: eur, source: s, illustrative: false}\n"
        "  six: {value: \"6\", kind: number, source: s, illustrative: false}\n"
        "  five: {value: \"5\", kind: number, source: s, illustrative: false}\n"
        "  quarter: {value: \"0.25\", kind: number, source: s, illustrative: false}\n"
        "  small: {value: \"100.00\", kind: eur, source: s, illustrative: false}\n"
        "  big: {value: \"5000.00\", kind: eur, source: s, illustrative: true}\n";
    /* 100001 cents x 0.5 = 50000.5: half up to 50001; illustrative (half is). */
    rules_result_t *r = s_entitled(params,
                                   "entitlement:\n  components:\n"
                                   "    - {id: a, amount: odd, posts: half}\n",
                                   "landkreis");
    assert_int_equal(rules_result_cents(r), 50001);
    assert_true(rules_result_illustrative(r));
    assert_true(rules_result_part(r, 0)->illustrative);
    assert_string_equal(rules_result_part(r, 0)->how, "0.5 posts x 1000.01 EUR");
    rules_result_destroy(&r);
    /* 100001 x 0.25 = 25000.25: down to 25000. */
    r = s_entitled(
        params, "entitlement:\n  components:\n    - {id: a, amount: odd, posts: quarter}\n",
        "landkreis");
    assert_int_equal(rules_result_cents(r), 25000);
    assert_false(rules_result_illustrative(r));
    rules_result_destroy(&r);
    /* Posts by district kind. */
    static const char by_kind[] = "entitlement:\n  components:\n"
                                  "    - id: posts\n"
                                  "      text: {de: Stellen, en: posts}\n"
                                  "      amount: amount\n"
                                  "      posts: {landkreis: six, kreisfreie_stadt: five}\n"
                                  "    - {id: admin, amount: small}\n";
    r = s_entitled(params, by_kind, "landkreis");
    assert_int_equal(rules_result_cents(r), 600000 + 10000);
    assert_int_equal(rules_result_part_count(r), 2);
    assert_string_equal(rules_result_part(r, 0)->text, "posts");
    assert_string_equal(rules_result_part(r, 1)->text, "admin");
    rules_result_destroy(&r);
    r = s_entitled(params, by_kind, "kreisfreie_stadt");
    assert_int_equal(rules_result_cents(r), 500000 + 10000);
    rules_result_destroy(&r);
    /* A component's cap and floor. */
    r = s_entitled(params,
                   "entitlement:\n  components:\n"
                   "    - {id: a, amount: amount, posts: six, cap: big}\n"
                   "    - {id: b, amount: small, posts: quarter, floor: small}\n",
                   "landkreis");
    assert_int_equal(rules_result_part(r, 0)->cents, 500000);
    assert_non_null(strstr(rules_result_part(r, 0)->how, "capped at 5000.00 EUR"));
    assert_true(rules_result_part(r, 0)->illustrative); /* big is */
    assert_int_equal(rules_result_part(r, 1)->cents, 10000);
    assert_int_equal(rules_result_cents(r), 510000);
    rules_result_destroy(&r);
    /* The total's cap and floor are parts of their own. */
    r = s_entitled(params,
                   "entitlement:\n  components:\n"
                   "    - {id: a, amount: amount, posts: six}\n"
                   "  cap: big\n",
                   "landkreis");
    assert_int_equal(rules_result_cents(r), 500000);
    assert_int_equal(rules_result_part_count(r), 2);
    assert_string_equal(rules_result_part(r, 1)->id, "_cap");
    assert_int_equal(rules_result_part(r, 1)->cents, -100000);
    rules_result_destroy(&r);
    r = s_entitled(params,
                   "entitlement:\n  components:\n"
                   "    - {id: a, amount: small, posts: quarter}\n"
                   "  floor: small\n",
                   "landkreis");
    assert_int_equal(rules_result_cents(r), 10000);
    assert_string_equal(rules_result_part(r, 1)->id, "_floor");
    assert_int_equal(rules_result_part(r, 1)->cents, 7500);
    rules_result_destroy(&r);
}

/* An allocating rule set: budget and minimum in euros, weights from
 * indicator.refugees for 2024. */
static rules_set_t *
s_allocating(const char *budget, const char *minimum)
{
    char *text = NULL;
    assert_true(
        asprintf(&text,
                 "%s"
                 "  - {id: c, text: {de: d, en: e}, source: s, fact: managers.count, op: "
                 "ge, value: 1}\n"
                 "eligible_if: [c]\n"
                 "entitlement:\n"
                 "  allocation:\n"
                 "    budget: budget\n"
                 "    minimum: minimum\n"
                 "    indicator: {fact: indicator.refugees, period: \"2024\"}\n",
                 s_head) > 0);
    char *params = NULL;
    assert_true(
        asprintf(&params,
                 "parameters:\n"
                 "  budget: {value: \"%s\", kind: eur, source: s, illustrative: true}\n"
                 "  minimum: {value: \"%s\", kind: eur, source: s, illustrative: false}\n",
                 budget, minimum) > 0);
    /* Swap s_head's parameters for these. */
    char *from = strstr(text, "parameters:\n"), *to = strstr(text, "criteria:\n");
    char *whole = NULL;
    assert_true(asprintf(&whole, "%.*s%s%s", (int) (from - text), text, params, to) > 0);
    rules_set_t *set = s_parse(whole);
    assert_true(rules_allocates(set));
    free(whole);
    free(params);
    free(text);
    return set;
}

/* Evaluates n districts 08001.. with the weights (negative: not eligible)
 * and allocates; returns the sum of cents and writes each into cents. */
static int64_t
s_allocate(rules_set_t *set, const int64_t *weights, size_t n, int64_t *cents)
{
    rules_result_t *results[16];
    assert_true(n <= 16);
    for (size_t i = 0; i < n; i++) {
        rules_facts_t *f = s_facts();
        assert_int_equal(
            rules_facts_set_number(f, "managers.count", weights[i] < 0 ? 0 : M(1), "t"), 0);
        assert_int_equal(rules_facts_set_number(f,
                                                "indicator.refugees{disaggregation=total,"
                                                "period=2024}",
                                                weights[i] < 0 ? 0 : weights[i], "t"),
                         0);
        char ags[32], err[256];
        snprintf(ags, sizeof ags, "050%02zu", i + 1);
        results[i] = rules_evaluate(set, ags, "2024-06-01", f, "en", err, sizeof err);
        assert_non_null(results[i]);
        assert_int_equal(rules_result_cents(results[i]), 0); /* until allocated */
        rules_facts_destroy(&f);
    }
    char err[256];
    assert_int_equal(rules_allocate(set, results, n, err, sizeof err), 0);
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        cents[i] = rules_result_cents(results[i]);
        sum += cents[i];
        if (weights[i] < 0)
            assert_int_equal(rules_result_part_count(results[i]), 0);
        else
            assert_true(rules_result_illustrative(results[i])); /* the budget is */
        rules_result_destroy(&results[i]);
    }
    return sum;
}

static void
test_allocation(void **state)
{
    int64_t cents[16];
    /* 100.00 with a minimum of 10.00 among three equals: 30.00 + 70.00 / 3
     * = 23.333..: 2333 each, the leftover cent to the smallest AGS. */
    rules_set_t *set = s_allocating("100.00", "10.00");
    const int64_t equal[] = {M(5), M(5), M(5)};
    assert_int_equal(s_allocate(set, equal, 3, cents), 10000);
    assert_int_equal(cents[0], 3334);
    assert_int_equal(cents[1], 3333);
    assert_int_equal(cents[2], 3333);
    /* Weighted, one not eligible (keeps 0): 1000 + 8000 x 1/4 and x 3/4. */
    const int64_t weighted[] = {M(1), -1, M(3)};
    assert_int_equal(s_allocate(set, weighted, 3, cents), 10000);
    assert_int_equal(cents[0], 3000);
    assert_int_equal(cents[1], 0);
    assert_int_equal(cents[2], 7000);
    /* All weights zero: equal shares over the minimum. */
    const int64_t zero[] = {0, 0, 0, 0};
    assert_int_equal(s_allocate(set, zero, 4, cents), 10000);
    assert_int_equal(cents[3], 2500);
    /* Largest remainder: two minimums leave 8000 to share 1:2, 2666.67 and
     * 5333.33: the first has the larger remainder and gets the cent. */
    const int64_t thirds[] = {M(1), M(2)};
    assert_int_equal(s_allocate(set, thirds, 2, cents), 10000);
    assert_int_equal(cents[0], 1000 + 2667);
    assert_int_equal(cents[1], 1000 + 5333);
    rules_set_destroy(&set);
    /* The minimum does not fit (11 x 10.00 > 100.00): equal shares. */
    set = s_allocating("100.00", "10.00");
    const int64_t eleven[] = {M(1), M(2), M(3), M(4),  M(5), M(6),
                              M(7), M(8), M(9), M(10), M(11)};
    assert_int_equal(s_allocate(set, eleven, 11, cents), 10000);
    assert_int_equal(cents[0], 910); /* 909.09..: one of the ten leftover cents each */
    assert_int_equal(cents[10], 909);
    rules_set_destroy(&set);
    /* Awkward budgets and weights: the sum is always the budget. */
    set = s_allocating("58000000.00", "51000.00");
    for (int64_t seed = 1; seed < 40; seed++) {
        int64_t w[16];
        for (size_t i = 0; i < 16; i++)
            w[i] = (seed * 7919 + (int64_t) i * 104729) % 100003 * 1000 + (int64_t) i * 13;
        assert_int_equal(s_allocate(set, w, 16, cents), 5800000000LL);
        for (size_t i = 0; i < 16; i++)
            assert_true(cents[i] >= 5100000);
    }
    rules_set_destroy(&set);
}

static void
test_allocation_errors(void **state)
{
    rules_set_t *set = s_allocating("100.00", "10.00");
    rules_facts_t *f = s_num("managers.count", M(1));
    assert_int_equal(
        rules_facts_set_number(f, "indicator.refugees{disaggregation=total,period=2024}",
                               -1, "t"),
        0);
    char err[256];
    rules_result_t *r =
        rules_evaluate(set, "05001", "2024-06-01", f, "de", err, sizeof err);
    assert_non_null(r);
    assert_int_equal(rules_allocate(set, &r, 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "negative"));
    rules_result_destroy(&r);
    /* No eligible district: nothing to share, not an error. */
    assert_int_equal(rules_allocate(set, NULL, 0, err, sizeof err), 0);
    rules_facts_destroy(&f);
    rules_set_destroy(&set);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entitlement),
        cmocka_unit_test(test_allocation),
        cmocka_unit_test(test_allocation_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
