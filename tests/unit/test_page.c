/* ---------------------------------------------------------------------------
 * test_page.c: keyset page tokens (th_page.h): bound to their list and
 * filters, refused when garbled or edited
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <czmq.h>
#include <string.h>

#include "th_error.h"
#include "th_page.h"

static void
test_round_trip(void **state)
{
    uint8_t bind[TH_PAGE_DIGEST];
    const char *filters[] = {"16", "", "", ""};
    th_page_bind("ListDistricts", filters, 4, bind);
    const char *key[] = {"16068"};
    char token[TH_PAGE_TOKEN_MAX + 1];
    assert_int_equal(th_page_encode(bind, key, 1, token), 0);
    /* base64url: nothing a URL or a shell would need to quote */
    assert_int_equal(strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789-_"),
                     strlen(token));
    char buf[TH_PAGE_TOKEN_MAX];
    const char *out[1] = {NULL};
    assert_int_equal(th_page_decode(token, bind, 1, buf, out), 0);
    assert_string_equal(out[0], "16068");

    /* two fields, one of them UTF-8 and one empty */
    const char *key2[] = {"Müller, Erika", ""};
    assert_int_equal(th_page_encode(bind, key2, 2, token), 0);
    const char *out2[2] = {NULL, NULL};
    assert_int_equal(th_page_decode(token, bind, 2, buf, out2), 0);
    assert_string_equal(out2[0], "Müller, Erika");
    assert_string_equal(out2[1], "");
    /* the same token read as a one-field key: not this list's */
    assert_int_equal(th_page_decode(token, bind, 1, buf, out2), TH_EINVAL);
}

static void
test_bound_to_filters_and_list(void **state)
{
    uint8_t bind[TH_PAGE_DIGEST], other[TH_PAGE_DIGEST], list[TH_PAGE_DIGEST];
    const char *filters[] = {"16", ""};
    const char *filters2[] = {"09", ""};
    /* "1","6" and "16","" must not bind alike */
    const char *shifted[] = {"1", "6"};
    th_page_bind("ListConcepts", filters, 2, bind);
    th_page_bind("ListConcepts", filters2, 2, other);
    th_page_bind("ListDistricts", filters, 2, list);
    const char *key[] = {"16068"};
    char token[TH_PAGE_TOKEN_MAX + 1], buf[TH_PAGE_TOKEN_MAX];
    const char *out[1];
    assert_int_equal(th_page_encode(bind, key, 1, token), 0);
    assert_int_equal(th_page_decode(token, other, 1, buf, out), TH_ESTATE);
    assert_int_equal(th_page_decode(token, list, 1, buf, out), TH_ESTATE);
    th_page_bind("ListConcepts", shifted, 2, other);
    assert_int_equal(th_page_decode(token, other, 1, buf, out), TH_ESTATE);
}

static void
test_garbled_and_forged(void **state)
{
    uint8_t bind[TH_PAGE_DIGEST];
    const char *filters[] = {""};
    th_page_bind("ListPrincipals", filters, 1, bind);
    char buf[TH_PAGE_TOKEN_MAX];
    const char *out[1];
    static const char *const garbage[] = {"", "x", "d:16068", "o:100", "====", "a b c d e",
                                          "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"};
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++)
        assert_int_equal(th_page_decode(garbage[i], bind, 1, buf, out), TH_EINVAL);
    assert_int_equal(th_page_decode(NULL, bind, 1, buf, out), TH_EINVAL);

    /* An edited key: the bytes decoded, changed, encoded again. */
    const char *key[] = {"admin"};
    char token[TH_PAGE_TOKEN_MAX + 1];
    assert_int_equal(th_page_encode(bind, key, 1, token), 0);
    zarmour_t *armour = zarmour_new();
    zarmour_set_mode(armour, ZARMOUR_MODE_BASE64_URL);
    zarmour_set_pad(armour, false);
    zchunk_t *chunk = zarmour_decode(armour, token);
    assert_non_null(chunk);
    byte *raw = zchunk_data(chunk);
    const size_t len = 1 + 2 * TH_PAGE_DIGEST + 2 + 5;
    raw[len - 1] = 'x'; /* "admix" */
    char *forged = zarmour_encode(armour, raw, len);
    assert_non_null(forged);
    assert_int_equal(th_page_decode(forged, bind, 1, buf, out), TH_EINVAL);
    /* one character of the token changed */
    char flipped[TH_PAGE_TOKEN_MAX + 1];
    strcpy(flipped, token);
    flipped[strlen(flipped) - 2] = flipped[strlen(flipped) - 2] == 'A' ? 'B' : 'A';
    assert_int_equal(th_page_decode(flipped, bind, 1, buf, out), TH_EINVAL);
    zstr_free(&forged);
    zchunk_destroy(&chunk);
    zarmour_destroy(&armour);

    /* a key too long for a token */
    char big[3000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    const char *huge[] = {big};
    assert_int_equal(th_page_encode(bind, huge, 1, token), TH_ETOOBIG);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_bound_to_filters_and_list),
        cmocka_unit_test(test_garbled_and_forged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
