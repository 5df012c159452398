/* ---------------------------------------------------------------------------
 * test_csv.c: CSV text into rows (th_csv.h): fields, quoting, the line each
 * row begins on (after blank lines and quoted line breaks), a byte-order
 * mark, and every refusal: not UTF-8, malformed quoting, too many fields or
 * rows, a wrong header or field count.
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
#include <unistd.h>

#include "th_csv.h"
#include "th_error.h"

static int
s_parse(const char *text, size_t max_fields, size_t max_rows, th_csv_rows_t *rows, char *err)
{
    return th_csv_parse(text, strlen(text), ';', max_fields, max_rows, rows, err, 256);
}

static void
test_rows_and_lines(void **state)
{
    (void) state;
    th_csv_rows_t rows;
    char err[256];
    const char *text = "\xef\xbb\xbf"
                       "code;name\n"
                       "a;Sömmerda\n"
                       "\n"
                       "b;\"zwei\nZeilen\"\n"
                       "c;\"mit \"\"Anführung\"\";x\";\n"
                       "d;";
    assert_int_equal(s_parse(text, 4, 100, &rows, err), 0);
    assert_int_equal(rows.n_rows, 5);
    assert_string_equal(rows.rows[0].fields[0], "code"); /* the mark is not part of it */
    assert_int_equal(rows.rows[0].line, 1);
    assert_string_equal(rows.rows[1].fields[1], "Sömmerda");
    assert_int_equal(rows.rows[1].line, 2);
    assert_string_equal(rows.rows[2].fields[1], "zwei\nZeilen");
    assert_int_equal(rows.rows[2].line, 4); /* after the blank line 3 */
    assert_int_equal(rows.rows[3].line, 6); /* after the quoted line break */
    assert_int_equal(rows.rows[3].n_fields, 3);
    assert_string_equal(rows.rows[3].fields[1], "mit \"Anführung\";x");
    assert_string_equal(rows.rows[3].fields[2], "");
    assert_int_equal(rows.rows[4].line, 7); /* no final newline */
    assert_int_equal(rows.rows[4].n_fields, 2);
    const char *const header[] = {"code", "name"};
    assert_int_equal(th_csv_check_shape(&rows, header, 2, err, sizeof err), TH_EINVAL);
    assert_non_null(strstr(err, "line 6: expected 2 fields, found 3"));
    th_csv_rows_clear(&rows);
    th_csv_rows_clear(&rows); /* twice is harmless */
}

static void
test_refusals(void **state)
{
    (void) state;
    th_csv_rows_t rows;
    char err[256];
    assert_int_equal(s_parse("a;b\nc;\xff\n", 4, 100, &rows, err), TH_EINVAL);
    assert_non_null(strstr(err, "UTF-8"));
    assert_int_equal(s_parse("a;b\n\"c;d\n", 4, 100, &rows, err), TH_EINVAL);
    assert_non_null(strstr(err, "line 2"));
    assert_int_equal(s_parse("a;b\nc\"x\";d\n", 4, 100, &rows, err), TH_EINVAL);
    assert_non_null(strstr(err, "line 2"));
    assert_int_equal(s_parse("a;b\n1;2;3;4;5\n", 4, 100, &rows, err), TH_EINVAL);
    assert_non_null(strstr(err, "line 2: more than 4 fields"));
    assert_int_equal(rows.n_rows, 0);
    assert_int_equal(s_parse("a\nb\nc\nd\n", 4, 3, &rows, err), TH_EINVAL);
    assert_non_null(strstr(err, "line 4: more than 3 rows"));
    assert_int_equal(s_parse("x;y\n1;2\n", 4, 100, &rows, err), 0);
    const char *const header[] = {"code", "name"};
    assert_int_equal(th_csv_check_shape(&rows, header, 2, err, sizeof err), TH_EINVAL);
    assert_non_null(strstr(err, "line 1: the header is not the one expected: code;name"));
    th_csv_rows_clear(&rows);
    assert_int_equal(s_parse("", 4, 100, &rows, err), 0);
    assert_int_equal(rows.n_rows, 0);
    assert_int_equal(th_csv_check_shape(&rows, header, 2, err, sizeof err), TH_EINVAL);
    th_csv_rows_clear(&rows);
}

static void
test_read_file(void **state)
{
    (void) state;
    char path[] = "/tmp/th-csv-XXXXXX";
    const int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char text[] = "code;name\na;b\n";
    assert_int_equal(write(fd, text, sizeof text - 1), (ssize_t) (sizeof text - 1));
    close(fd);
    th_csv_rows_t rows;
    char err[256];
    assert_int_equal(th_csv_read_file(path, ';', 1024, 4, 100, &rows, err, sizeof err), 0);
    assert_int_equal(rows.n_rows, 2);
    th_csv_rows_clear(&rows);
    assert_int_equal(th_csv_read_file(path, ';', 8, 4, 100, &rows, err, sizeof err), TH_EINVAL);
    assert_non_null(strstr(err, "larger than 8 bytes"));
    unlink(path);
    assert_int_equal(th_csv_read_file(path, ';', 1024, 4, 100, &rows, err, sizeof err), TH_EIO);
    assert_non_null(strstr(err, "could not open"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_and_lines),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_read_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
