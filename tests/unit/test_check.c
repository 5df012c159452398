/* ---------------------------------------------------------------------------
 * test_check.c: checks of the values teilhabe exchanges (th_check.h)
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "th_check.h"
#include "th_error.h"

static void
test_codes(void **state)
{
    assert_true(th_check_ags("16068"));
    assert_false(th_check_ags("1606"));
    assert_false(th_check_ags("160680"));
    assert_false(th_check_ags("16a68"));
    assert_false(th_check_ags(""));
    assert_false(th_check_ags(NULL));
    assert_true(th_check_land("01"));
    assert_true(th_check_land("16"));
    assert_false(th_check_land("00"));
    assert_false(th_check_land("17"));
    assert_false(th_check_land("6"));
    assert_true(th_check_municipality("16068001"));
    assert_false(th_check_municipality("1606800"));
    assert_true(th_check_digits("", 0));
    assert_false(th_check_digits("12", 3));
}

static void
test_count(void **state)
{
    int64_t v = -1;
    assert_true(th_check_count("42370", 12, &v));
    assert_int_equal(v, 42370);
    assert_true(th_check_count("0", 12, &v));
    assert_int_equal(v, 0);
    assert_false(th_check_count("-1", 12, &v));
    assert_false(th_check_count("1 000", 12, &v));
    assert_false(th_check_count("1234567890123", 12, &v));
    assert_false(th_check_count("", 12, &v));
    assert_false(th_check_count("1", 19, &v)); /* more digits than an int64 holds */
}

static void
test_keys_and_roles(void **state)
{
    /* a real Z85 key (from the docs' throw-away certificate) */
    assert_true(th_check_z85_key("7!52rjX[G>Kl#Q{O=QGI-U[m4+mJIREcO..2e1Fy"));
    assert_false(th_check_z85_key("7!52rjX[G>Kl#Q{O=QGI-U[m4+mJIREcO..2e1F"));
    assert_false(th_check_z85_key("7!52rjX[G>Kl#Q{O=QGI-U[m4+mJIREcO..2e1F\""));
    assert_false(th_check_z85_key(NULL));
    for (size_t i = 0; th_check_roles[i] != NULL; i++)
        assert_true(th_check_role(th_check_roles[i]));
    assert_false(th_check_role("worker"));
    assert_false(th_check_role("Admin"));
    assert_false(th_check_role(NULL));
    assert_true(th_check_principal_id("ministry-th"));
    assert_true(th_check_principal_id("a.b_c-1"));
    assert_false(th_check_principal_id("-x"));
    assert_false(th_check_principal_id("Upper"));
    assert_false(th_check_principal_id(""));
    assert_false(th_check_principal_id("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

static void
test_email_and_link(void **state)
{
    assert_true(th_check_email("erika.muster@example.org", 254));
    assert_false(th_check_email("erika muster@example.org", 254));
    assert_false(th_check_email("@example.org", 254));
    assert_false(th_check_email("erika@", 254));
    assert_false(th_check_email("a@b@c", 254));
    assert_false(th_check_email("erika@example.org", 5));
    assert_null(th_check_link("", 2048));
    assert_null(th_check_link("https://www.soemmerda.de/integration", 2048));
    assert_null(th_check_link("http://example.org", 2048));
    assert_non_null(th_check_link("ftp://example.org", 2048));
    assert_non_null(th_check_link("https://", 2048));
    assert_non_null(th_check_link("https://a b", 2048));
    assert_non_null(th_check_link("https://example.org/x", 10));
}

static void
test_masks(void **state)
{
    static const char *const allowed[] = {"title", "link"};
    char *ok[] = {"link", "title"};
    char *unknown[] = {"title", "version"};
    char *twice[] = {"link", "link"};
    size_t bad = 99;
    assert_int_equal(th_check_mask(ok, 2, allowed, 2, &bad), 0);
    assert_int_equal(th_check_mask(unknown, 2, allowed, 2, &bad), TH_EINVAL);
    assert_int_equal(bad, 1);
    assert_int_equal(th_check_mask(twice, 2, allowed, 2, &bad), TH_ESTATE);
    assert_int_equal(bad, 1);
    assert_true(th_check_mask_has(NULL, 0, "title")); /* empty mask: every field */
    assert_true(th_check_mask_has(ok, 2, "title"));
    assert_false(th_check_mask_has(ok, 1, "title"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codes),
        cmocka_unit_test(test_count),
        cmocka_unit_test(test_keys_and_roles),
        cmocka_unit_test(test_email_and_link),
        cmocka_unit_test(test_masks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
