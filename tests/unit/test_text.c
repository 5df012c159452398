/* ---------------------------------------------------------------------------
 * test_text.c: search folding (umlauts, case, diacritics) and line checks
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "th_text.h"

static void
s_assert_fold(const char *in, bool expand, const char *want)
{
    char *got = th_text_fold(in, expand);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void
test_fold_soemmerda(void **state)
{
    /* The stored keys of "Sömmerda" and the folded spellings users type. */
    s_assert_fold("Sömmerda", false, "sommerda");
    s_assert_fold("Sömmerda", true, "soemmerda");
    s_assert_fold("SÖMMERDA", false, "sommerda");
    s_assert_fold("Sommerda", false, "sommerda");
    s_assert_fold("soemmerda", false, "soemmerda");
    /* Decomposed input (o + combining diaeresis) folds the same way. */
    s_assert_fold("So\xcc\x88mmerda", false, "sommerda");
    s_assert_fold("So\xcc\x88mmerda", true, "soemmerda");
}

static void
test_fold_eszett_and_separators(void **state)
{
    s_assert_fold("Gießen", false, "giessen");
    s_assert_fold("GROSS-GERAU", false, "gross gerau");
    s_assert_fold("  Halle   (Saale) ", false, "halle (saale)");
    s_assert_fold("Mühldorf a.Inn", true, "muehldorf a.inn");
    s_assert_fold("Bitburg-Prüm", true, "bitburg pruem");
    s_assert_fold("", false, "");
}

static void
test_fold_rejects_invalid_utf8(void **state)
{
    assert_null(th_text_fold("S\xc3", false));
    assert_null(th_text_fold("\xff", true));
    assert_null(th_text_fold(NULL, false));
}

static void
test_length_and_line(void **state)
{
    assert_int_equal(th_text_length("Thüringen"), 9);
    assert_int_equal(th_text_length(""), 0);
    assert_true(th_text_is_line("Thüringen", 1, 9));
    assert_false(th_text_is_line("Thüringen", 1, 8));
    assert_false(th_text_is_line("", 1, 200));
    assert_true(th_text_is_line("", 0, 200));
    assert_false(th_text_is_line("a\nb", 1, 200));
    assert_false(th_text_is_line("a\x7f", 1, 200));
    assert_false(th_text_is_line("a\xc2\x85", 1, 200)); /* C1 NEL */
    assert_false(th_text_is_line("\xc3\x28", 1, 200));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fold_soemmerda),
        cmocka_unit_test(test_fold_eszett_and_separators),
        cmocka_unit_test(test_fold_rejects_invalid_utf8),
        cmocka_unit_test(test_length_and_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
