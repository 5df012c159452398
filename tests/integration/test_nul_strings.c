/* ---------------------------------------------------------------------------
 * test_nul_strings.c: a NUL byte in a string field, through the real stack
 * (PostgreSQL, teilhabe-broker with CURVE, teilhabe-registry)
 *
 * protobuf-c hands strings to C NUL-terminated, so "16068\0' OR 1=1" on the
 * wire used to reach the registry as "16068": an admin's
 * RecordTerritorialChange with such an AGS really merged Sömmerda into the
 * Wartburgkreis. The C client cannot send such bytes (it packs C strings),
 * so each request here is built field by field and sent as raw frames. Every
 * case must end in INVALID_ARGUMENT naming the field, before any handler
 * runs, and change nothing.
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "registry_env.h"
#include "th_test_wire.h"

typedef struct {
    registry_env_t env;
    th_client_t *admin;
    char admin_cert[1200];
} s_fixture_t;

static int
s_setup(void **state)
{
    s_fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    *state = f;
    if (registry_env_start(&f->env, "nultest") != 0)
        return -1;
    f->admin = reg_client(&f->env, "admin");
    snprintf(f->admin_cert, sizeof f->admin_cert, "%s/private/admin.cert_secret", f->env.keys);
    return f->admin != NULL ? 0 : -1;
}

static int
s_teardown(void **state)
{
    s_fixture_t *f = *state;
    th_client_destroy(&f->admin);
    const int status = registry_env_stop(&f->env);
    free(f);
    return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* Appends a RequestHeader for method (NULL: none) with call id 77; a test
 * appends raw fields after it. */
static void
s_header(th_test_pb_t *pb, const char *method)
{
    th_request_header_t header = TEILHABE__RPC__V1__REQUEST_HEADER__INIT;
    header.call_id = 77;
    header.method = (char *) (method != NULL ? method : "");
    header.timeout_ms = 5000;
    header.idempotency_key = "nul-test";
    th_test_pb_message(pb, &header.base);
}

/* Sends header and body as admin; fails the test when nothing comes back.
 * Expects INVALID_ARGUMENT for call 77 with a message naming field. */
static void
s_expect_refused(s_fixture_t *f, const th_test_pb_t *header, const th_test_pb_t *body,
                 const char *field)
{
    th_response_header_t *reply =
        th_test_raw_call(f->env.broker.frontend, f->env.broker_key, f->admin_cert, header->data,
                         header->len, body->data, body->len, 5000);
    if (reply == NULL)
        fail_msg("no reply for the request with a NUL in %s", field);
    if (reply->code != TEILHABE__RPC__V1__STATUS_CODE__INVALID_ARGUMENT)
        fail_msg("a NUL in %s: got %s \"%s\", expected INVALID_ARGUMENT", field,
                 th_status_name((int) reply->code), reply->message);
    assert_int_equal(reply->call_id, 77);
    char named[128];
    snprintf(named, sizeof named, "field %s ", field);
    if (strstr(reply->message, named) == NULL || strstr(reply->message, "NUL") == NULL)
        fail_msg("message \"%s\" does not name field %s and the NUL", reply->message, field);
    protobuf_c_message_free_unpacked(&reply->base, NULL);
}

static void
test_nul_in_get_district(void **state)
{
    s_fixture_t *f = *state;
    th_test_pb_t header = {0}, body = {0};
    s_header(&header, REG_METHOD("GetDistrict"));
    th_test_pb_bytes(&body, 1, "16068\0' OR 1=1", 15); /* ags */
    s_expect_refused(f, &header, &body, "ags");
    th_test_pb_free(&body);

    th_test_pb_bytes(&body, 1, "16068", 5);
    th_test_pb_bytes(&body, 2, "2024-01-01\0garbage", 18); /* as_of */
    s_expect_refused(f, &header, &body, "as_of");
    th_test_pb_free(&body);

    /* The violation names the field too, for programs */
    th_test_pb_bytes(&body, 1, "16068\0", 6);
    th_response_header_t *reply =
        th_test_raw_call(f->env.broker.frontend, f->env.broker_key, f->admin_cert, header.data,
                         header.len, body.data, body.len, 5000);
    assert_non_null(reply);
    assert_int_equal(reply->n_violations, 1);
    assert_string_equal(reply->violations[0]->field, "ags");
    protobuf_c_message_free_unpacked(&reply->base, NULL);
    th_test_pb_free(&body);
    th_test_pb_free(&header);
}

static void
test_nul_in_list_districts(void **state)
{
    s_fixture_t *f = *state;
    th_test_pb_t header = {0}, body = {0};
    s_header(&header, REG_METHOD("ListDistricts"));
    th_test_pb_bytes(&body, 1, "16\0xx", 5); /* state_code */
    s_expect_refused(f, &header, &body, "state_code");
    th_test_pb_free(&body);

    /* a page token: a real one with a NUL and more behind it */
    Teilhabe__Registry__V1__ListDistrictsRequest req =
        TEILHABE__REGISTRY__V1__LIST_DISTRICTS_REQUEST__INIT;
    req.state_code = "16";
    req.page_size = 5;
    th_result_t r;
    reg_call(f->admin, REG_METHOD("ListDistricts"), &req.base,
             &teilhabe__registry__v1__list_districts_response__descriptor, &r);
    assert_int_equal(r.code, TH_OK);
    const char *token =
        ((const Teilhabe__Registry__V1__ListDistrictsResponse *) r.response)->next_page_token;
    assert_true(token[0] != '\0');
    char bad_token[256];
    size_t len = strlen(token);
    assert_true(len + 8 < sizeof bad_token);
    memcpy(bad_token, token, len);
    memcpy(bad_token + len, "\0AAAAAAA", 8);
    th_result_clear(&r);
    th_test_pb_bytes(&body, 1, "16", 2);
    th_test_pb_varint(&body, 5, 5);
    th_test_pb_bytes(&body, 6, bad_token, len + 8); /* page_token */
    s_expect_refused(f, &header, &body, "page_token");
    th_test_pb_free(&body);
    th_test_pb_free(&header);
}

static void
test_nul_in_territorial_change_merges_nothing(void **state)
{
    s_fixture_t *f = *state;
    th_test_pb_t header = {0}, body = {0};
    s_header(&header, REG_METHOD("RecordTerritorialChange"));
    th_test_pb_bytes(&body, 1, "2030-01-01", 10); /* effective */
    th_test_pb_varint(&body, 2, TEILHABE__REGISTRY__V1__TERRITORIAL_CHANGE_KIND__TERRITORIAL_CHANGE_KIND_MERGE);
    th_test_pb_bytes(&body, 3, "16068\0' OR 1=1", 15); /* ags: Sömmerda ... */
    th_test_pb_bytes(&body, 4, "16063", 5);            /* ... into the Wartburgkreis */
    s_expect_refused(f, &header, &body, "ags");
    th_test_pb_free(&body);
    th_test_pb_free(&header);

    /* Nothing was merged: Sömmerda still exists in 2030, no change and no
     * audit row was written */
    assert_int_equal(reg_sql_count(f->env.db_url, "SELECT count(*) FROM "
                                                  "registry.territorial_changes WHERE ags = "
                                                  "'16068'"),
                     0);
    assert_int_equal(reg_sql_count(f->env.db_url, "SELECT count(*) FROM audit.log WHERE "
                                                  "resource = 'districts/16068' AND "
                                                  "method <> 'seed'"),
                     0);
    Teilhabe__Registry__V1__GetDistrictRequest get =
        TEILHABE__REGISTRY__V1__GET_DISTRICT_REQUEST__INIT;
    get.ags = "16068";
    get.as_of = "2030-01-01";
    th_result_t r;
    reg_call(f->admin, REG_METHOD("GetDistrict"), &get.base,
             &teilhabe__registry__v1__district__descriptor, &r);
    assert_int_equal(r.code, TH_OK);
    assert_string_equal(((const Teilhabe__Registry__V1__District *) r.response)->valid_to, "");
    th_result_clear(&r);
}

static void
test_nul_in_header_fields(void **state)
{
    s_fixture_t *f = *state;
    th_test_pb_t header = {0}, body = {0};
    /* A method name with a NUL and bytes after it: the broker refuses it
     * (it used to route it as GetDistrict) */
    s_header(&header, NULL);
    th_test_pb_bytes(&header, 2, REG_METHOD("GetDistrict") "\0/Revoke", 49);
    th_test_pb_bytes(&body, 1, "16068", 5);
    s_expect_refused(f, &header, &body, "method");
    th_test_pb_free(&header);

    /* a metadata value, and the idempotency key */
    s_header(&header, REG_METHOD("GetDistrict"));
    th_test_pb_t entry = {0};
    th_test_pb_bytes(&entry, 1, "x-trace", 7);
    th_test_pb_bytes(&entry, 2, "t\0-1", 4);
    th_test_pb_bytes(&header, 4, entry.data, entry.len);
    s_expect_refused(f, &header, &body, "metadata[0].value");
    th_test_pb_free(&header);
    s_header(&header, REG_METHOD("GetDistrict"));
    th_test_pb_bytes(&header, 5, "key\0other", 9);
    s_expect_refused(f, &header, &body, "idempotency_key");

    /* The same request without the NUL is served: the refusals were about
     * the NUL, not about raw frames */
    th_test_pb_free(&header);
    s_header(&header, REG_METHOD("GetDistrict"));
    th_response_header_t *reply =
        th_test_raw_call(f->env.broker.frontend, f->env.broker_key, f->admin_cert, header.data,
                         header.len, body.data, body.len, 5000);
    assert_non_null(reply);
    assert_int_equal(reply->code, TEILHABE__RPC__V1__STATUS_CODE__OK);
    protobuf_c_message_free_unpacked(&reply->base, NULL);
    th_test_pb_free(&entry);
    th_test_pb_free(&body);
    th_test_pb_free(&header);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nul_in_get_district),
        cmocka_unit_test(test_nul_in_list_districts),
        cmocka_unit_test(test_nul_in_territorial_change_merges_nothing),
        cmocka_unit_test(test_nul_in_header_fields),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
