/* ---------------------------------------------------------------------------
 * test_auth.c: role and scope questions about a principal
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "th_auth.h"

static void
test_roles(void **state)
{
    assert_true(th_auth_role_valid("admin"));
    assert_true(th_auth_role_valid("service"));
    assert_false(th_auth_role_valid("worker"));
    assert_false(th_auth_role_valid(""));
    assert_false(th_auth_role_valid(NULL));

    th_principal_t p = TEILHABE__RPC__V1__PRINCIPAL__INIT;
    assert_false(th_auth_authenticated(&p));
    p.id = "thueringen";
    p.role = "ministry";
    p.state_scope = "16";
    assert_true(th_auth_authenticated(&p));
    assert_true(th_auth_has_role(&p, "ministry"));
    assert_false(th_auth_has_role(&p, "admin"));
    p.role = "worker";
    assert_false(th_auth_authenticated(&p));
}

static void
test_scopes(void **state)
{
    char *districts[] = {"16068", "16063"};
    th_principal_t p = TEILHABE__RPC__V1__PRINCIPAL__INIT;
    p.id = "m1";
    p.role = "manager";
    p.state_scope = "16";
    p.district_scope = districts;
    p.n_district_scope = 2;
    assert_true(th_auth_covers_state(&p, "16"));
    assert_false(th_auth_covers_state(&p, "15"));
    assert_true(th_auth_has_district(&p, "16063"));
    assert_false(th_auth_has_district(&p, "16056"));
    p.state_scope = "";
    assert_true(th_auth_covers_state(&p, "09"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roles),
        cmocka_unit_test(test_scopes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
