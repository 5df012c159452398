/* ---------------------------------------------------------------------------
 * test_date.c: strict ISO dates and day arithmetic
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_add_days),
        cmocka_unit_test(test_today_is_a_date),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
