/* ---------------------------------------------------------------------------
 * test_format.c: protobuf messages as JSON, CSV and tables
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "th_error.h"
#include "th_format.h"

#include "teilhabe/v1/broker.pb-c.h"
#include "teilhabe/v1/health.pb-c.h"
#include "teilhabe/v1/rpc.pb-c.h"
#include "teilhabe/v1/testing.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Runs a writer into memory and returns the text (caller frees). */
static char *
s_capture_list(th_format_t format, const ProtobufCMessageDescriptor *desc,
               const ProtobufCMessage *const *msgs, size_t n)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    assert_non_null(out);
    assert_int_equal(th_format_write_list(out, format, desc, msgs, n), 0);
    fclose(out);
    return text;
}

static void
test_parse(void **state)
{
    th_format_t f;
    assert_int_equal(th_format_parse("json", &f), 0);
    assert_int_equal(f, TH_FORMAT_JSON);
    assert_int_equal(th_format_parse("CSV", &f), 0);
    assert_int_equal(f, TH_FORMAT_CSV);
    assert_int_equal(th_format_parse("table", &f), 0);
    assert_int_equal(f, TH_FORMAT_TABLE);
    assert_int_equal(th_format_parse("xml", &f), TH_EINVAL);
    assert_int_equal(th_format_parse(NULL, &f), TH_EINVAL);
}

static void
test_json_keys_enums_repeated_nested_bytes(void **state)
{
    Teilhabe__Rpc__V1__Principal principal = TEILHABE__RPC__V1__PRINCIPAL__INIT;
    principal.id = "mgr-1";
    principal.role = "manager";
    char *districts[] = {"16056", "16063"};
    principal.n_district_scope = 2;
    principal.district_scope = districts;
    Teilhabe__Testing__V1__EchoResponse echo = TEILHABE__TESTING__V1__ECHO_RESPONSE__INIT;
    echo.text = "Grüße";
    echo.payload.data = (uint8_t *) "hi!";
    echo.payload.len = 3;
    echo.principal = &principal;
    echo.timeout_ms = 4999;

    json_t *json = th_format_message_json(&echo.base);
    assert_non_null(json);
    assert_string_equal(json_string_value(json_object_get(json, "text")), "Grüße");
    assert_string_equal(json_string_value(json_object_get(json, "payload")), "aGkh");
    assert_int_equal(json_integer_value(json_object_get(json, "timeout_ms")), 4999);
    json_t *nested = json_object_get(json, "principal");
    assert_true(json_is_object(nested));
    assert_string_equal(json_string_value(json_object_get(nested, "role")), "manager");
    json_t *scope = json_object_get(nested, "district_scope");
    assert_true(json_is_array(scope));
    assert_int_equal(json_array_size(scope), 2);
    assert_string_equal(json_string_value(json_array_get(scope, 1)), "16063");
    /* unset fields are there with their defaults: stable keys for scripts */
    assert_string_equal(json_string_value(json_object_get(json, "instance")), "");
    json_decref(json);

    /* an unset nested message is null */
    echo.principal = NULL;
    json = th_format_message_json(&echo.base);
    assert_true(json_is_null(json_object_get(json, "principal")));
    json_decref(json);

    Teilhabe__Health__V1__HealthCheckResponse health =
        TEILHABE__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    health.status = TEILHABE__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
    json = th_format_message_json(&health.base);
    assert_string_equal(json_string_value(json_object_get(json, "status")), "NOT_SERVING");
    json_decref(json);
    /* a number no enum value has stays a number */
    health.status = 77;
    json = th_format_message_json(&health.base);
    assert_int_equal(json_integer_value(json_object_get(json, "status")), 77);
    json_decref(json);
}

static void
test_json_list_parses_back(void **state)
{
    Teilhabe__Broker__V1__ServiceInfo a = TEILHABE__BROKER__V1__SERVICE_INFO__INIT;
    Teilhabe__Broker__V1__ServiceInfo b = TEILHABE__BROKER__V1__SERVICE_INFO__INIT;
    char *methods[] = {"Echo", "Sleep"};
    a.name = "teilhabe.testing.v1.Echo";
    a.n_methods = 2;
    a.methods = methods;
    a.workers = 2;
    b.name = "quote\"and\\backslash";
    const ProtobufCMessage *list[] = {&a.base, &b.base};
    char *text = s_capture_list(TH_FORMAT_JSON, &teilhabe__broker__v1__service_info__descriptor,
                                list, 2);
    json_error_t error;
    json_t *parsed = json_loads(text, 0, &error);
    assert_non_null(parsed);
    assert_true(json_is_array(parsed));
    assert_int_equal(json_array_size(parsed), 2);
    json_t *first = json_array_get(parsed, 0);
    assert_string_equal(json_string_value(json_object_get(first, "name")),
                        "teilhabe.testing.v1.Echo");
    assert_int_equal(json_array_size(json_object_get(first, "methods")), 2);
    assert_int_equal(json_integer_value(json_object_get(first, "workers")), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(parsed, 1), "name")),
                        "quote\"and\\backslash");
    json_decref(parsed);
    free(text);

    /* no messages: an empty array, still JSON */
    text = s_capture_list(TH_FORMAT_JSON, &teilhabe__broker__v1__service_info__descriptor, NULL,
                          0);
    parsed = json_loads(text, 0, &error);
    assert_non_null(parsed);
    assert_int_equal(json_array_size(parsed), 0);
    json_decref(parsed);
    free(text);
}

static void
test_csv_rfc4180(void **state)
{
    Teilhabe__Broker__V1__ServiceInfo a = TEILHABE__BROKER__V1__SERVICE_INFO__INIT;
    char *methods[] = {"Echo", "Sleep"};
    a.name = "say \"hi\", then\nleave";
    a.n_methods = 2;
    a.methods = methods;
    a.workers = 1;
    a.capacity = 4;
    const ProtobufCMessage *list[] = {&a.base};
    char *text =
        s_capture_list(TH_FORMAT_CSV, &teilhabe__broker__v1__service_info__descriptor, list, 1);
    assert_string_equal(text, "name,methods,workers,capacity,in_flight\r\n"
                              "\"say \"\"hi\"\", then\nleave\",Echo;Sleep,1,4,0\r\n");
    free(text);
}

static void
test_table_aligned(void **state)
{
    Teilhabe__Broker__V1__ServiceInfo a = TEILHABE__BROKER__V1__SERVICE_INFO__INIT;
    Teilhabe__Broker__V1__ServiceInfo b = TEILHABE__BROKER__V1__SERVICE_INFO__INIT;
    char *methods[] = {"Echo", "Sleep"};
    a.name = "teilhabe.testing.v1.Echo";
    a.n_methods = 2;
    a.methods = methods;
    a.workers = 12;
    b.name = "x.v1.Y";
    const ProtobufCMessage *list[] = {&a.base, &b.base};
    char *text = s_capture_list(TH_FORMAT_TABLE, &teilhabe__broker__v1__service_info__descriptor,
                                list, 2);
    assert_string_equal(text, "name                      methods      workers  capacity  in_flight\n"
                              "teilhabe.testing.v1.Echo  Echo, Sleep  12       0         0\n"
                              "x.v1.Y                                 0        0         0\n");
    free(text);
}

/* Cells of text: aligned under their header, the widest cut to the width. */
static void
test_cells(void **state)
{
    (void) state;
    const char *const header[] = {"criterion", "result"};
    const char *const cells[] = {"concept_ok", "fail", "  concept_adopted_long_name", "pass"};
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    assert_non_null(out);
    assert_int_equal(th_format_write_cells(out, header, 2, cells, 2, 0), 0);
    fclose(out);
    assert_string_equal(text, "criterion                    result\n"
                              "concept_ok                   fail\n"
                              "  concept_adopted_long_name  pass\n");
    free(text);
    out = open_memstream(&text, &size);
    assert_non_null(out);
    assert_int_equal(th_format_write_cells(out, header, 2, cells, 2, 20), 0);
    fclose(out);
    assert_non_null(strstr(text, "  concept_a\u2026  pass\n"));
    free(text);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_json_keys_enums_repeated_nested_bytes),
        cmocka_unit_test(test_json_list_parses_back),
        cmocka_unit_test(test_csv_rfc4180),
        cmocka_unit_test(test_table_aligned),
        cmocka_unit_test(test_cells),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
