/* ---------------------------------------------------------------------------
 * test_date.c: strict ISO dates and day arithmetic
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "th_date.h"
#include "th_error.h"

static void
test_valid(void **state)
{
    assert_true(th_date_valid("2018-12-31"));
    assert_true(th_date_valid("2020-02-29"));
    assert_true(th_date_valid("2000-02-29"));
    assert_false(th_date_valid("1900-02-29"));
    assert_false(th_date_valid("2021-02-29"));
    assert_false(th_date_valid("2021-04-31"));
    assert_false(th_date_valid("2021-13-01"));
    assert_false(th_date_valid("2021-00-10"));
    assert_false(th_date_valid("2021-7-1"));
    assert_false(th_date_valid("01.07.2021"));
    assert_false(th_date_valid("2021-07-01 "));
    assert_false(th_date_valid("1899-12-31"));
    assert_false(th_date_valid(""));
    assert_false(th_date_valid(NULL));
}

static void
test_add_days(void **state)
{
    char out[TH_DATE_LEN + 1];
    assert_int_equal(th_date_add_days("2021-07-01", -1, out), 0);
    assert_string_equal(out, "2021-06-30");
    assert_int_equal(th_date_add_days("2020-02-28", 1, out), 0);
    assert_string_equal(out, "2020-02-29");
    assert_int_equal(th_date_add_days("2018-12-31", 1, out), 0);
    assert_string_equal(out, "2019-01-01");
    assert_int_equal(th_date_add_days("2019-01-01", 365, out), 0);
    assert_string_equal(out, "2020-01-01");
    assert_int_equal(th_date_add_days("1900-01-01", -1, out), TH_EINVAL);
    assert_int_equal(th_date_add_days("2021-02-30", 1, out), TH_EINVAL);
}

static void
test_today_is_a_date(void **state)
{
    char out[TH_DATE_LEN + 1];
    th_date_today(out);
    assert_true(th_date_valid(out));
    assert_true(strcmp(out, "2024-01-01") > 0);
}

static void
test_date_in_germany(void **state)
{
    char out[TH_DATE_LEN + 1];
    /* 2021-06-30 22:30 UTC is 00:30 on 1 July in Berlin (summer time). */
    th_date_of_time((time_t) 1625092200, out);
    assert_string_equal(out, "2021-07-01");
    /* 2021-06-30 21:59:59 UTC is still 30 June (23:59:59 CEST). */
    th_date_of_time((time_t) 1625090399, out);
    assert_string_equal(out, "2021-06-30");
    /* Winter: 2021-12-31 23:00 UTC is midnight of the new year (CET). */
    th_date_of_time((time_t) 1640991600, out);
    assert_string_equal(out, "2022-01-01");
    th_date_of_time((time_t) 1640991599, out);
    assert_string_equal(out, "2021-12-31");
    /* Around the switches of 2024 (31 March, 27 October, 01:00 UTC). */
    th_date_of_time((time_t) 1711846800 - 1, out); /* 00:59:59 UTC, 01:59:59 CET */
    assert_string_equal(out, "2024-03-31");
    th_date_of_time((time_t) 1711753200, out); /* 2024-03-29 23:00 UTC = 00:00 CET */
    assert_string_equal(out, "2024-03-30");
    th_date_of_time((time_t) 1729990800 + 3600 * 22 + 59 * 60, out); /* 27 Oct 23:59 UTC */
    assert_string_equal(out, "2024-10-28");                          /* 00:59 CET */
    /* 2024-03-31 22:30 UTC: summer time has begun, 00:30 on 1 April. */
    th_date_of_time((time_t) 1711924200, out);
    assert_string_equal(out, "2024-04-01");
    /* 2024-10-26 22:30 UTC: still summer time, 00:30 on 27 October ... */
    th_date_of_time((time_t) 1729981800, out);
    assert_string_equal(out, "2024-10-27");
    /* ... 2024-10-27 22:30 UTC: winter time again, 23:30 on 27 October. */
    th_date_of_time((time_t) 1730068200, out);
    assert_string_equal(out, "2024-10-27");
}

static void
test_zone_must_exist(void **state)
{
    /* Without the zone file no German date can be told: said, not guessed. */
    setenv("TZDIR", "/nonexistent-zoneinfo", 1);
    assert_int_equal(th_date_init(), TH_ENOTFOUND);
    unsetenv("TZDIR");
    assert_int_equal(th_date_init(), 0);
}

static void
test_parts(void **state)
{
    int y, m, d;
    char out[TH_DATE_LEN + 1];
    assert_int_equal(th_date_parse("2024-02-29", &y, &m, &d), 0);
    assert_int_equal(y * 10000 + m * 100 + d, 20240229);
    assert_int_equal(th_date_parse("2023-02-29", &y, &m, &d), TH_EINVAL);
    th_date_format(2021, 7, 1, out);
    assert_string_equal(out, "2021-07-01");
    assert_int_equal(th_date_days_in_month(2024, 2), 29);
    assert_int_equal(th_date_days_in_month(2100, 2), 28);
    assert_int_equal(th_date_days_in_month(2024, 13), 0);
}

int
main(void)
{
    /* German dates need the zone (as every program sets it up in main). */
    if (th_date_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_add_days),
        cmocka_unit_test(test_today_is_a_date),
        cmocka_unit_test(test_date_in_germany),
        cmocka_unit_test(test_zone_must_exist),
        cmocka_unit_test(test_parts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
