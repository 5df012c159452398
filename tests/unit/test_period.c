/* ---------------------------------------------------------------------------
 * test_period.c: period ids (th_period.h) and euro cents (th_money.h)
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "th_error.h"
#include "th_money.h"
#include "th_period.h"

static th_period_t
s_p(const char *id)
{
    th_period_t p;
    assert_int_equal(th_period_parse(id, &p), 0);
    return p;
}

static void
test_parse_and_format(void **state)
{
    static const char *const good[] = {"2024", "2024S1", "2024S2", "2024Q1", "2024Q4",
                                       "2024-01", "2024-12", "1900", "2199-12"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char back[TH_PERIOD_LEN + 1];
        th_period_t p = s_p(good[i]);
        th_period_format(&p, back);
        assert_string_equal(back, good[i]);
    }
    static const char *const bad[] = {"24",     "2024S3", "2024Q0", "2024Q5", "2024-13",
                                      "2024-00", "2024-5", "2024s1", "2024q3", "2024H1",
                                      "1899",   "2200",   "2024 ",  "",       "2024-05-01"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(th_period_valid(bad[i]));
    assert_false(th_period_valid(NULL));
    th_period_t p = s_p("2024Q3");
    assert_int_equal(p.year, 2024);
    assert_int_equal(p.kind, TH_PERIOD_QUARTER);
    assert_int_equal(p.index, 3);
}

static void
test_days(void **state)
{
    char first[TH_DATE_LEN + 1], last[TH_DATE_LEN + 1];
    th_period_t p = s_p("2024Q3");
    th_period_first_day(&p, first);
    th_period_last_day(&p, last);
    assert_string_equal(first, "2024-07-01");
    assert_string_equal(last, "2024-09-30");
    p = s_p("2024-02");
    th_period_last_day(&p, last);
    assert_string_equal(last, "2024-02-29"); /* a leap year */
    p = s_p("2023-02");
    th_period_last_day(&p, last);
    assert_string_equal(last, "2023-02-28");
    p = s_p("2024S2");
    th_period_first_day(&p, first);
    th_period_last_day(&p, last);
    assert_string_equal(first, "2024-07-01");
    assert_string_equal(last, "2024-12-31");
    p = s_p("2024");
    th_period_first_day(&p, first);
    th_period_last_day(&p, last);
    assert_string_equal(first, "2024-01-01");
    assert_string_equal(last, "2024-12-31");
}

static void
test_compare_and_contain(void **state)
{
    const th_period_t m1 = s_p("2024-01"), q1 = s_p("2024Q1"), s1 = s_p("2024S1"),
                      y = s_p("2024"), m2 = s_p("2024-02"), q3 = s_p("2024Q3"),
                      s2 = s_p("2024S2"), y23 = s_p("2023");
    assert_true(th_period_compare(&m1, &q1) < 0);
    assert_true(th_period_compare(&q1, &s1) < 0);
    assert_true(th_period_compare(&s1, &y) < 0);
    assert_true(th_period_compare(&y, &m2) < 0);
    assert_true(th_period_compare(&y23, &m1) < 0);
    assert_int_equal(th_period_compare(&q3, &q3), 0);
    assert_true(th_period_contains(&s2, &q3));
    assert_true(th_period_contains(&y, &q3));
    assert_false(th_period_contains(&s1, &q3));
    assert_false(th_period_contains(&q3, &y));
    assert_true(th_period_contains(&q3, &q3));
    const th_period_t may = s_p("2024-05"), q2 = s_p("2024Q2");
    assert_true(th_period_contains(&q2, &may));
}

static void
test_of_date_and_next(void **state)
{
    th_period_t p, n;
    char id[TH_PERIOD_LEN + 1];
    assert_int_equal(th_period_of_date("2024-05-17", TH_PERIOD_QUARTER, &p), 0);
    th_period_format(&p, id);
    assert_string_equal(id, "2024Q2");
    assert_int_equal(th_period_of_date("2024-07-01", TH_PERIOD_HALF, &p), 0);
    th_period_format(&p, id);
    assert_string_equal(id, "2024S2");
    assert_int_equal(th_period_of_date("2024-02-30", TH_PERIOD_MONTH, &p), TH_EINVAL);
    p = s_p("2024Q4");
    assert_int_equal(th_period_next(&p, &n), 0);
    th_period_format(&n, id);
    assert_string_equal(id, "2025Q1");
    p = s_p("2024-11");
    assert_int_equal(th_period_next(&p, &n), 0);
    th_period_format(&n, id);
    assert_string_equal(id, "2024-12");
    p = s_p("2199");
    assert_int_equal(th_period_next(&p, &n), TH_EINVAL);
}

static void
test_money(void **state)
{
    int64_t c = 0;
    char text[32];
    assert_int_equal(th_money_parse_eur("57000", &c), 0);
    assert_int_equal(c, 5700000);
    assert_int_equal(th_money_parse_eur("22500,5", &c), 0);
    assert_int_equal(c, 2250050);
    assert_int_equal(th_money_parse_eur("0.05", &c), 0);
    assert_int_equal(c, 5);
    assert_int_equal(th_money_parse_eur("-1.5", &c), 0);
    assert_int_equal(c, -150);
    assert_int_equal(th_money_parse_eur("1.500,00", &c), TH_EINVAL);
    assert_int_equal(th_money_parse_eur("1.234", &c), TH_EINVAL);
    assert_int_equal(th_money_parse_eur("12.", &c), TH_EINVAL);
    assert_int_equal(th_money_parse_eur("EUR 5", &c), TH_EINVAL);
    assert_int_equal(th_money_parse_eur("", &c), TH_EINVAL);
    assert_int_equal(th_money_parse_eur("99999999999999999999", &c), TH_EINVAL);
    th_money_format_eur(5700000, text, sizeof text);
    assert_string_equal(text, "57000.00");
    th_money_format_eur(-5, text, sizeof text);
    assert_string_equal(text, "-0.05");
    th_money_format_eur(INT64_MIN, text, sizeof text);
    assert_string_equal(text, "-92233720368547758.08");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_and_format),
        cmocka_unit_test(test_days),
        cmocka_unit_test(test_compare_and_contain),
        cmocka_unit_test(test_of_date_and_next),
        cmocka_unit_test(test_money),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
