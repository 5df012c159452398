/* ---------------------------------------------------------------------------
 * test_log.c: th_log_quote, the one way a peer-chosen value enters a log line
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "th_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
test_quote_plain_and_z85(void **state)
{
    (void) state;
    char buf[TH_LOG_QUOTE_SIZE];
    assert_string_equal(th_log_quote(buf, sizeof buf, "host:42"), "\"host:42\"");
    assert_string_equal(th_log_quote(buf, sizeof buf, ""), "\"\"");
    /* Z85 keys may contain '=' and other punctuation; quoted, they stay one
     * value. */
    assert_string_equal(th_log_quote(buf, sizeof buf, "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"),
                        "\"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\"");
    assert_string_equal(th_log_quote(buf, sizeof buf, "a=b c"), "\"a=b c\"");
}

static void
test_quote_escapes(void **state)
{
    (void) state;
    char buf[TH_LOG_QUOTE_SIZE];
    /* A forged field: the quote inside is escaped, so the value cannot end
     * early and "level=error" stays inside it. */
    assert_string_equal(th_log_quote(buf, sizeof buf, "w\" level=error x=\"y"),
                        "\"w\\\" level=error x=\\\"y\"");
    assert_string_equal(th_log_quote(buf, sizeof buf, "back\\slash"), "\"back\\\\slash\"");
    assert_string_equal(th_log_quote(buf, sizeof buf, "a\nb\rc\td"), "\"a\\nb\\rc\\td\"");
    assert_string_equal(th_log_quote(buf, sizeof buf, "bell\a del\x7f"),
                        "\"bell\\x07 del\\x7f\"");
    /* UTF-8 passes through unchanged. */
    assert_string_equal(th_log_quote(buf, sizeof buf, "Th\xc3\xbcringen"),
                        "\"Th\xc3\xbcringen\"");
}

static void
test_quote_truncates_without_splitting_escapes(void **state)
{
    (void) state;
    char buf[8];
    /* Room for 5 characters between the quotes. */
    assert_string_equal(th_log_quote(buf, sizeof buf, "abcdefgh"), "\"abcde\"");
    /* An escape that would not fit whole is left out, the quote closes. */
    assert_string_equal(th_log_quote(buf, sizeof buf, "abcd\"e"), "\"abcd\"");
    assert_string_equal(th_log_quote(buf, sizeof buf, "ab\x01"), "\"ab\"");
    char tiny[3];
    assert_string_equal(th_log_quote(tiny, sizeof tiny, "abc"), "\"\"");
    char two[2];
    assert_string_equal(th_log_quote(two, sizeof two, "abc"), "\"\"");
    assert_string_equal(th_log_quote(NULL, 0, "abc"), "\"\"");
    assert_string_equal(th_log_quote(buf, sizeof buf, NULL), "\"\"");
}

/* The quoted value inside a real log line: one line, and the forged pair
 * appears only escaped inside the quoted value. */
static void
test_quoted_value_in_log_line(void **state)
{
    (void) state;
    char path[] = "/tmp/th-test-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fd, STDERR_FILENO) >= 0);
    th_log_init("test", TH_LOG_INFO);
    char q[TH_LOG_QUOTE_SIZE];
    th_log_info(0, "worker ready", "instance=%s capacity=%u",
                th_log_quote(q, sizeof q, "x\" level=error\nts=forged"), 4u);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);

    char line[1024] = "";
    FILE *in = fdopen(fd, "r");
    assert_non_null(in);
    rewind(in);
    size_t n = fread(line, 1, sizeof line - 1, in);
    line[n] = '\0';
    fclose(in);
    unlink(path);
    char *newline = strchr(line, '\n');
    assert_non_null(newline);
    assert_int_equal(newline[1], '\0');
    assert_non_null(strstr(line, " level=info "));
    /* The forged pair is there once, right after an escaped quote, i.e.
     * inside the value. */
    const char *forged = strstr(line, " level=error");
    assert_non_null(forged);
    assert_true(forged - line >= 2 && forged[-1] == '"' && forged[-2] == '\\');
    assert_null(strstr(forged + 1, " level=error"));
    assert_non_null(
        strstr(line, " instance=\"x\\\" level=error\\nts=forged\" capacity=4\n"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quote_plain_and_z85),
        cmocka_unit_test(test_quote_escapes),
        cmocka_unit_test(test_quote_truncates_without_splitting_escapes),
        cmocka_unit_test(test_quoted_value_in_log_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
