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

static th_principal_t
s_who(const char *id, const char *role, const char *land)
{
    th_principal_t p = TEILHABE__RPC__V1__PRINCIPAL__INIT;
    p.id = (char *) id;
    p.role = (char *) role;
    p.state_scope = (char *) land;
    return p;
}

/* The table of DESIGN.md, "Who reads what". */
static void
test_read_rules(void **state)
{
    const th_principal_t admin = s_who("admin", "admin", "");
    const th_principal_t ministry = s_who("m-th", "ministry", "16");
    const th_principal_t manager = s_who("erika", "manager", "16");
    const th_principal_t analyst = s_who("a", "analyst", "");
    const th_principal_t analyst_th = s_who("a-th", "analyst", "16");
    const th_principal_t service = s_who("svc", "service", "");
    const th_principal_t service_th = s_who("svc-th", "service", "16");
    const th_principal_t nobody = s_who("", "", "");

    /* records of a Land */
    assert_true(th_auth_reads_records(&admin, "09"));
    assert_true(th_auth_reads_records(&ministry, "16"));
    assert_false(th_auth_reads_records(&ministry, "09"));
    assert_false(th_auth_reads_records(&ministry, NULL));
    assert_true(th_auth_reads_records(&manager, "16"));
    assert_false(th_auth_reads_records(&analyst, "16"));
    assert_true(th_auth_reads_records(&service, NULL));
    assert_false(th_auth_reads_records(&service_th, "09"));
    assert_false(th_auth_reads_records(&nobody, "16"));

    /* aggregates */
    assert_true(th_auth_reads_aggregates(&ministry, ""));
    assert_true(th_auth_reads_aggregates(&ministry, "16"));
    assert_false(th_auth_reads_aggregates(&ministry, "09"));
    assert_true(th_auth_reads_aggregates(&analyst, "09"));
    assert_true(th_auth_reads_aggregates(&analyst_th, "16"));
    assert_false(th_auth_reads_aggregates(&analyst_th, "09"));
    assert_false(th_auth_reads_aggregates(&analyst_th, NULL));
    assert_false(th_auth_reads_aggregates(&manager, ""));
    assert_false(th_auth_reads_aggregates(&nobody, ""));

    /* personal data */
    assert_int_equal(th_auth_reads_personal(&admin, "09", "x"), TH_AUTH_FULL);
    assert_int_equal(th_auth_reads_personal(&ministry, "16", "x"), TH_AUTH_FULL);
    assert_int_equal(th_auth_reads_personal(&ministry, "09", "x"), TH_AUTH_DENIED);
    assert_int_equal(th_auth_reads_personal(&manager, "16", "x"), TH_AUTH_WITHHELD);
    assert_int_equal(th_auth_reads_personal(&manager, "16", "erika"), TH_AUTH_FULL);
    assert_int_equal(th_auth_reads_personal(&manager, "09", "erika"), TH_AUTH_FULL);
    assert_int_equal(th_auth_reads_personal(&manager, "09", "x"), TH_AUTH_DENIED);
    assert_int_equal(th_auth_reads_personal(&analyst, "16", "a"), TH_AUTH_DENIED);
    assert_int_equal(th_auth_reads_personal(&service, NULL, NULL), TH_AUTH_WITHHELD);
    assert_int_equal(th_auth_reads_personal(&service_th, NULL, NULL), TH_AUTH_DENIED);
    assert_int_equal(th_auth_reads_personal(&service_th, "16", NULL), TH_AUTH_WITHHELD);
    assert_false(th_auth_reads_any_personal(&analyst_th));
    assert_true(th_auth_reads_any_personal(&service_th));

    /* writes for a district */
    char *scope[] = {"16069"};
    th_principal_t scoped = s_who("m2", "manager", "16");
    scoped.district_scope = scope;
    scoped.n_district_scope = 1;
    assert_true(th_auth_writes_district(&ministry, "16", "16068", false));
    assert_false(th_auth_writes_district(&ministry, "09", "09162", false));
    assert_false(th_auth_writes_district(&manager, "16", "16068", false));
    assert_true(th_auth_writes_district(&manager, "16", "16068", true));
    assert_true(th_auth_writes_district(&scoped, "16", "16069", false));
    assert_false(th_auth_writes_district(&admin, "16", "16068", true));
    assert_false(th_auth_writes_district(&analyst, "16", "16068", true));
    /* a service of the Land writes there; a federal one nowhere */
    assert_true(th_auth_writes_district(&service_th, "16", "16068", false));
    assert_false(th_auth_writes_district(&service_th, "09", "09162", false));
    assert_false(th_auth_writes_district(&service, "16", "16068", true));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roles),
        cmocka_unit_test(test_scopes),
        cmocka_unit_test(test_read_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
