/* ---------------------------------------------------------------------------
 * test_curve.c: the checks a client or worker makes on its CURVE identity
 * before it connects
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "th_check.h"
#include "th_curve.h"
#include "th_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void
test_key_validity(void **state)
{
    zcert_t *cert = zcert_new();
    assert_true(th_check_z85_key(zcert_public_txt(cert)));
    assert_false(th_check_z85_key(NULL));
    assert_false(th_check_z85_key(""));
    assert_false(th_check_z85_key("short"));
    char bad[41];
    memcpy(bad, zcert_public_txt(cert), 41);
    bad[5] = '"'; /* not in the Z85 alphabet */
    assert_false(th_check_z85_key(bad));
    zcert_destroy(&cert);
}

static void
test_load_identity(void **state)
{
    char *dir = th_test_tmpdir("th-curve");
    assert_non_null(dir);
    assert_int_equal(th_test_keys_init(dir), 0);
    assert_int_equal(th_test_keys_client(dir, "alice", "analyst", NULL, NULL), 0);
    char broker[41];
    assert_int_equal(th_test_keys_broker_public(dir, broker), 0);
    char secret[512], public_only[512], missing[512], err[512];
    snprintf(secret, sizeof secret, "%s/private/alice.cert_secret", dir);
    snprintf(public_only, sizeof public_only, "%s/public/alice.cert", dir);
    snprintf(missing, sizeof missing, "%s/private/nobody.cert_secret", dir);

    zcert_t *cert = th_curve_load_identity(broker, secret, "client", err, sizeof err);
    assert_non_null(cert);
    zcert_t *public_cert = zcert_load(public_only);
    assert_string_equal(zcert_public_txt(cert), zcert_public_txt(public_cert));
    zcert_destroy(&public_cert);
    zcert_destroy(&cert);

    assert_null(th_curve_load_identity("nope", secret, "client", err, sizeof err));
    assert_non_null(strstr(err, "not a 40-character Z85"));
    assert_null(th_curve_load_identity(broker, NULL, "worker", err, sizeof err));
    assert_non_null(strstr(err, "no worker certificate given"));
    assert_null(th_curve_load_identity(broker, missing, "client", err, sizeof err));
    assert_non_null(strstr(err, "could not read client certificate"));
    assert_non_null(strstr(err, "nobody.cert_secret"));
    /* the public half alone is refused, with what to give instead */
    assert_null(th_curve_load_identity(broker, public_only, "client", err, sizeof err));
    assert_non_null(strstr(err, "holds no secret key"));
    assert_non_null(strstr(err, ".cert_secret"));

    th_test_rmtree(dir);
    free(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_validity),
        cmocka_unit_test(test_load_identity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
