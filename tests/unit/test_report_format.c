/* ---------------------------------------------------------------------------
 * test_report_format.c: numbers, dates and cells as a report writes them
 * (services/reporting/render.h): both languages, every value type,
 * rounding half away from zero, negatives that round to zero, the largest
 * numbers, and buffers too small or of size 0 (the length needed, as
 * snprintf).
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "render.h"

#define VT(name) TEILHABE__REPORTING__V1__VALUE_TYPE__VALUE_TYPE_##name

typedef struct {
    int64_t value;
    Teilhabe__Reporting__V1__ValueType type;
    int decimals;
    const char *de, *en;
} s_case_t;

static const s_case_t s_cases[] = {
    {0, VT(INTEGER), 0, "0", "0"},
    {7, VT(PEOPLE), 0, "7", "7"},
    {999, VT(INTEGER), 0, "999", "999"},
    {1000, VT(INTEGER), 0, "1.000", "1,000"},
    {1234567, VT(INTEGER), 0, "1.234.567", "1,234,567"},
    {-1234567, VT(PEOPLE), 0, "-1.234.567", "-1,234,567"},
    {INT64_MAX, VT(INTEGER), 0, "9.223.372.036.854.775.807", "9,223,372,036,854,775,807"},
    {INT64_MIN, VT(INTEGER), 0, "-9.223.372.036.854.775.808", "-9,223,372,036,854,775,808"},
    /* decimals are ignored where the type has none */
    {42, VT(INTEGER), 2, "42", "42"},
    /* DECIMAL: millionths */
    {1234500000, VT(DECIMAL), 1, "1.234,5", "1,234.5"},
    {1234500000, VT(DECIMAL), 0, "1.235", "1,235"}, /* .5 away from zero */
    {-1234500000, VT(DECIMAL), 0, "-1.235", "-1,235"},
    {1234449999, VT(DECIMAL), 1, "1.234,4", "1,234.4"},
    {1234450000, VT(DECIMAL), 1, "1.234,5", "1,234.5"},
    {-1234450000, VT(DECIMAL), 1, "-1.234,5", "-1,234.5"},
    {-400000, VT(DECIMAL), 0, "0", "0"}, /* -0.4: no "-0" */
    {-500000, VT(DECIMAL), 0, "-1", "-1"},
    {-40000, VT(DECIMAL), 1, "0,0", "0.0"},
    {2500000, VT(DECIMAL), 2, "2,50", "2.50"},
    {1, VT(DECIMAL), 6, "0,000001", "0.000001"},
    {1, VT(DECIMAL), 9, "0,000001", "0.000001"}, /* at most six */
    {999999, VT(DECIMAL), 0, "1", "1"},
    {0, VT(DECIMAL), 1, "0,0", "0.0"},
    /* PERCENT: millionths of a percent */
    {12500000, VT(PERCENT), 1, "12,5 %", "12.5%"},
    {12500000, VT(PERCENT), 0, "13 %", "13%"},
    {100000000, VT(PERCENT), 1, "100,0 %", "100.0%"},
    {-250000, VT(PERCENT), 0, "0 %", "0%"},
    {-12340000, VT(PERCENT), 2, "-12,34 %", "-12.34%"},
    /* MONEY: cents, always two decimals */
    {123456, VT(MONEY), 0, "1.234,56 €", "€1,234.56"},
    {-123456, VT(MONEY), 0, "-1.234,56 €", "-€1,234.56"},
    {5, VT(MONEY), 0, "0,05 €", "€0.05"},
    {0, VT(MONEY), 0, "0,00 €", "€0.00"},
    {100000000000000, VT(MONEY), 0, "1.000.000.000.000,00 €", "€1,000,000,000,000.00"},
};

static void
test_numbers_in_both_languages(void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof s_cases / sizeof s_cases[0]; i++) {
        const s_case_t *c = &s_cases[i];
        char out[64];
        size_t n =
            report_format_number(c->value, c->type, c->decimals, "de", out, sizeof out);
        if (strcmp(out, c->de) != 0)
            fail_msg("case %zu de: \"%s\", expected \"%s\"", i, out, c->de);
        assert_int_equal(n, strlen(c->de));
        n = report_format_number(c->value, c->type, c->decimals, "en", out, sizeof out);
        if (strcmp(out, c->en) != 0)
            fail_msg("case %zu en: \"%s\", expected \"%s\"", i, out, c->en);
        assert_int_equal(n, strlen(c->en));
    }
}

/* German is the default: no language, or one it does not know. */
static void
test_german_by_default(void **state)
{
    (void) state;
    char out[32];
    report_format_number(1234500000, VT(DECIMAL), 1, NULL, out, sizeof out);
    assert_string_equal(out, "1.234,5");
    report_format_number(1234500000, VT(DECIMAL), 1, "", out, sizeof out);
    assert_string_equal(out, "1.234,5");
    report_format_date("2024-12-31", NULL, out, sizeof out);
    assert_string_equal(out, "31.12.2024");
}

/* As snprintf: the length needed, at most size bytes written with the
 * NUL, nothing at all with size 0. */
static void
test_small_buffers(void **state)
{
    (void) state;
    char out[8];
    memset(out, 'x', sizeof out);
    assert_int_equal(report_format_number(1234567, VT(INTEGER), 0, "de", out, 0), 9);
    assert_int_equal(out[0], 'x');
    assert_int_equal(report_format_number(1234567, VT(INTEGER), 0, "de", NULL, 0), 9);
    assert_int_equal(report_format_number(1234567, VT(INTEGER), 0, "de", out, 5), 9);
    assert_string_equal(out, "1.23");
    assert_int_equal(out[5], 'x');
    assert_int_equal(report_format_number(7, VT(INTEGER), 0, "de", out, 1), 1);
    assert_string_equal(out, "");
    assert_int_equal(report_format_date("2024-12-31", "en", out, sizeof out), 11);
    assert_string_equal(out, "31 Dec ");
    assert_int_equal(report_format_date("2024-12-31", "de", NULL, 0), 10);
}

static void
test_dates(void **state)
{
    (void) state;
    static const struct {
        const char *iso, *de, *en;
    } cases[] = {
        {"2024-12-31", "31.12.2024", "31 Dec 2024"},
        {"2026-01-05", "05.01.2026", "5 Jan 2026"},
        {"2024-02-29", "29.02.2024", "29 Feb 2024"},
        /* not a date: as it is */
        {"2023-02-29", "2023-02-29", "2023-02-29"},
        {"2024S1", "2024S1", "2024S1"},
        {"", "", ""},
        {"31.12.2024", "31.12.2024", "31.12.2024"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[32];
        assert_int_equal(report_format_date(cases[i].iso, "de", out, sizeof out),
                         strlen(cases[i].de));
        assert_string_equal(out, cases[i].de);
        assert_int_equal(report_format_date(cases[i].iso, "en", out, sizeof out),
                         strlen(cases[i].en));
        assert_string_equal(out, cases[i].en);
    }
}

static void
test_cells(void **state)
{
    (void) state;
    Teilhabe__Reporting__V1__Column col = TEILHABE__REPORTING__V1__COLUMN__INIT;
    report_cell_t cell = TEILHABE__REPORTING__V1__CELL__INIT;
    char out[32];

    col.type = VT(PEOPLE);
    cell.number = 1234;
    assert_int_equal(report_format_cell(&cell, &col, "de", out, sizeof out), 5);
    assert_string_equal(out, "1.234");
    cell.suppressed = true;
    cell.number = 0;
    cell.text = ".";
    report_format_cell(&cell, &col, "en", out, sizeof out);
    assert_string_equal(out, ".");
    cell.suppressed = false;
    cell.empty = true;
    cell.text = "";
    assert_int_equal(report_format_cell(&cell, &col, "de", out, sizeof out), 3);
    assert_string_equal(out, "\xe2\x80\x93"); /* – */

    cell.empty = false;
    col.type = VT(PERCENT);
    col.decimals = 1;
    cell.number = 42500000;
    report_format_cell(&cell, &col, "de", out, sizeof out);
    assert_string_equal(out, "42,5 %");

    col.type = VT(DATE);
    cell.text = "2021-07-01";
    report_format_cell(&cell, &col, "en", out, sizeof out);
    assert_string_equal(out, "1 Jul 2021");

    col.type = VT(TEXT);
    cell.text = "Sömmerda";
    assert_int_equal(report_format_cell(&cell, &col, "de", out, 4), strlen("Sömmerda"));
    assert_string_equal(out, "Sö"); /* three bytes and the NUL */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers_in_both_languages),
        cmocka_unit_test(test_german_by_default),
        cmocka_unit_test(test_small_buffers),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_cells),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
