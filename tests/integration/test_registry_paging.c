/* ---------------------------------------------------------------------------
 * test_registry_paging.c: one keyset paging style for every list of the
 * registry, through the real stack (th_page.h, docs/registry.md "Paging")
 *
 * Every district in pages of 7 (58 pages, each AGS once, in order); a page
 * token is bound to the filters and the list it was made for (another Land,
 * another list: INVALID_ARGUMENT naming page_token), a token garbled,
 * edited or of the old "d:16068" kind is refused the same way, a token past
 * the last row gives an empty last page (OK, not OUT_OF_RANGE); managers
 * page by name and id without a row twice when a manager is added between
 * two pages (an OFFSET would repeat one), and no token carries a name.
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <czmq.h>

#include "registry_env.h"
#include "th_page.h"

typedef Teilhabe__Registry__V1__ListDistrictsResponse s_districts_t;

typedef struct {
    registry_env_t env;
    th_client_t *admin;
    th_client_t *ministry;
} s_fixture_t;

static int
s_setup(void **state)
{
    s_fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    *state = f;
    if (registry_env_start(&f->env, "regpage") != 0)
        return -1;
    f->admin = reg_client(&f->env, "admin");
    f->ministry = reg_client(&f->env, "ministry-th");
    return f->admin != NULL && f->ministry != NULL ? 0 : -1;
}

static int
s_teardown(void **state)
{
    s_fixture_t *f = *state;
    th_client_destroy(&f->admin);
    th_client_destroy(&f->ministry);
    const int status = registry_env_stop(&f->env);
    free(f);
    return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* One page of ListDistricts; the result belongs to the caller. */
static void
s_list(s_fixture_t *f, const char *state_code, const char *as_of, int size, const char *token,
       th_result_t *r)
{
    Teilhabe__Registry__V1__ListDistrictsRequest req =
        TEILHABE__REGISTRY__V1__LIST_DISTRICTS_REQUEST__INIT;
    req.state_code = (char *) state_code;
    req.as_of = (char *) as_of;
    req.page_size = size;
    req.page_token = (char *) token;
    assert_int_equal(reg_call(f->admin, REG_METHOD("ListDistricts"), &req.base,
                              &teilhabe__registry__v1__list_districts_response__descriptor, r),
                     0);
}

static void
s_expect_bad_token(const th_result_t *r)
{
    if (r->code != TH_INVALID_ARGUMENT || !reg_has_violation(r, "page_token"))
        fail_msg("expected INVALID_ARGUMENT naming page_token, got %s \"%s\"",
                 th_status_name(r->code), r->message);
}

static void
test_every_district_in_pages_of_seven(void **state)
{
    s_fixture_t *f = *state;
    char token[TH_PAGE_TOKEN_MAX + 1] = "";
    char last[6] = "";
    int pages = 0, total = 0;
    do {
        th_result_t r;
        s_list(f, "", "2021-06-30", 7, token, &r);
        if (r.code != TH_OK)
            fail_msg("page %d: %s \"%s\"", pages, th_status_name(r.code), r.message);
        const s_districts_t *resp = (const void *) r.response;
        assert_int_equal(resp->total_size, 401);
        assert_true(resp->n_districts <= 7);
        for (size_t i = 0; i < resp->n_districts; i++) {
            /* strictly increasing: no AGS twice, none skipped out of order */
            assert_true(strcmp(resp->districts[i]->ags, last) > 0);
            snprintf(last, sizeof last, "%s", resp->districts[i]->ags);
            total++;
        }
        assert_true(strlen(resp->next_page_token) <= TH_PAGE_TOKEN_MAX);
        snprintf(token, sizeof token, "%s", resp->next_page_token);
        pages++;
        th_result_clear(&r);
    } while (token[0] != '\0' && pages < 100);
    assert_int_equal(total, 401);
    assert_int_equal(pages, 58);
}

static void
test_token_bound_to_filters_and_list(void **state)
{
    s_fixture_t *f = *state;
    th_result_t r;
    s_list(f, "16", "", 5, "", &r);
    assert_int_equal(r.code, TH_OK);
    char token[TH_PAGE_TOKEN_MAX + 1];
    snprintf(token, sizeof token, "%s", ((const s_districts_t *) r.response)->next_page_token);
    th_result_clear(&r);
    assert_true(token[0] != '\0');

    /* the same filters: the next page */
    s_list(f, "16", "", 5, token, &r);
    assert_int_equal(r.code, TH_OK);
    assert_string_equal(((const s_districts_t *) r.response)->districts[0]->ags, "16061");
    th_result_clear(&r);
    /* another Land, another as_of: refused */
    s_list(f, "09", "", 5, token, &r);
    s_expect_bad_token(&r);
    assert_non_null(strstr(r.message, "other filters"));
    th_result_clear(&r);
    s_list(f, "16", "2021-06-30", 5, token, &r);
    s_expect_bad_token(&r);
    th_result_clear(&r);
    /* a page size of its own is fine */
    s_list(f, "16", "", 50, token, &r);
    assert_int_equal(r.code, TH_OK);
    th_result_clear(&r);

    /* another list */
    Teilhabe__Registry__V1__ListConceptsRequest concepts =
        TEILHABE__REGISTRY__V1__LIST_CONCEPTS_REQUEST__INIT;
    concepts.state_code = "16";
    concepts.page_token = token;
    reg_call(f->admin, REG_METHOD("ListConcepts"), &concepts.base,
             &teilhabe__registry__v1__list_concepts_response__descriptor, &r);
    s_expect_bad_token(&r);
    th_result_clear(&r);

    /* garbled, edited, the old kind, made up */
    char edited[TH_PAGE_TOKEN_MAX + 1];
    snprintf(edited, sizeof edited, "%s", token);
    edited[strlen(edited) - 1] = edited[strlen(edited) - 1] == 'A' ? 'B' : 'A';
    const char *bad[] = {edited, "d:16068", "abc", "!!!!", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s_list(f, "16", "", 5, bad[i], &r);
        s_expect_bad_token(&r);
        th_result_clear(&r);
    }
}

/* A token whose key lies past the last row (made the way the registry
 * makes them, for the same list and filters) is an empty last page. */
static void
test_token_past_the_end(void **state)
{
    s_fixture_t *f = *state;
    const char *filters[] = {"16", "", "", ""};
    uint8_t binding[TH_PAGE_DIGEST];
    th_page_bind("ListDistricts", filters, 4, binding);
    const char *key[] = {"16999"};
    char token[TH_PAGE_TOKEN_MAX + 1];
    assert_int_equal(th_page_encode(binding, key, 1, token), 0);
    th_result_t r;
    s_list(f, "16", "", 5, token, &r);
    if (r.code != TH_OK)
        fail_msg("past the end: %s \"%s\"", th_status_name(r.code), r.message);
    const s_districts_t *resp = (const void *) r.response;
    assert_int_equal(resp->n_districts, 0);
    assert_string_equal(resp->next_page_token, "");
    th_result_clear(&r);
}

static void
s_create_manager(s_fixture_t *f, const char *name)
{
    Teilhabe__Registry__V1__CreateManagerRequest req =
        TEILHABE__REGISTRY__V1__CREATE_MANAGER_REQUEST__INIT;
    Teilhabe__Registry__V1__Manager m = TEILHABE__REGISTRY__V1__MANAGER__INIT;
    m.state_code = "16";
    m.name = (char *) name;
    req.manager = &m;
    th_result_t r;
    reg_call(f->ministry, REG_METHOD("CreateManager"), &req.base,
             &teilhabe__registry__v1__manager__descriptor, &r);
    if (r.code != TH_OK)
        fail_msg("CreateManager %s: %s \"%s\"", name, th_status_name(r.code), r.message);
    th_result_clear(&r);
}

/* The names of one page of Land 16's managers into names (malloc'ed),
 * the next token into token. */
static size_t
s_manager_page(s_fixture_t *f, const char *in, char *token, char names[][64])
{
    Teilhabe__Registry__V1__ListManagersRequest req =
        TEILHABE__REGISTRY__V1__LIST_MANAGERS_REQUEST__INIT;
    req.state_code = "16";
    req.page_size = 2;
    req.page_token = (char *) in;
    th_result_t r;
    reg_call(f->ministry, REG_METHOD("ListManagers"), &req.base,
             &teilhabe__registry__v1__list_managers_response__descriptor, &r);
    if (r.code != TH_OK)
        fail_msg("ListManagers: %s \"%s\"", th_status_name(r.code), r.message);
    const Teilhabe__Registry__V1__ListManagersResponse *resp = (const void *) r.response;
    for (size_t i = 0; i < resp->n_managers; i++)
        snprintf(names[i], 64, "%s", resp->managers[i]->name);
    snprintf(token, TH_PAGE_TOKEN_MAX + 1, "%s", resp->next_page_token);
    const size_t n = resp->n_managers;
    th_result_clear(&r);
    return n;
}

static void
test_managers_keyset(void **state)
{
    s_fixture_t *f = *state;
    s_create_manager(f, "Paging Berta");
    s_create_manager(f, "Paging Dora");
    s_create_manager(f, "Paging Anton");
    s_create_manager(f, "Paging Emil");
    char token[TH_PAGE_TOKEN_MAX + 1];
    char names[2][64];
    assert_int_equal(s_manager_page(f, "", token, names), 2);
    assert_string_equal(names[0], "Paging Anton");
    assert_string_equal(names[1], "Paging Berta");

    /* A token is readable base64, so it must not carry a name (a manager
     * key of the Land reads the same list with the names withheld). */
    zarmour_t *armour = zarmour_new();
    zarmour_set_mode(armour, ZARMOUR_MODE_BASE64_URL);
    zarmour_set_pad(armour, false);
    zchunk_t *raw = zarmour_decode(armour, token);
    assert_non_null(raw);
    assert_null(memmem(zchunk_data(raw), zchunk_size(raw), "Berta", 5));
    zchunk_destroy(&raw);
    zarmour_destroy(&armour);

    /* A manager sorting before the page's position, added between two
     * pages: an offset would show Berta again. */
    s_create_manager(f, "Paging Anna");
    char next[TH_PAGE_TOKEN_MAX + 1];
    assert_int_equal(s_manager_page(f, token, next, names), 2);
    assert_string_equal(names[0], "Paging Dora");
    assert_string_equal(names[1], "Paging Emil");
    assert_string_equal(next, "");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_district_in_pages_of_seven),
        cmocka_unit_test(test_token_bound_to_filters_and_list),
        cmocka_unit_test(test_token_past_the_end),
        cmocka_unit_test(test_managers_keyset),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
