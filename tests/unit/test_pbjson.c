/* ---------------------------------------------------------------------------
 * test_pbjson.c: a protobuf-c message as the JSON of an audit row
 * (th_pbjson.h): field names as keys, sorted; enums by their value names;
 * 64-bit numbers exact; repeated fields as arrays; NULL for no message.
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "teilhabe/v1/measures.pb-c.h"
#include "teilhabe/v1/registry.pb-c.h"
#include "th_pbjson.h"

static void
test_measure_as_json(void **state)
{
    (void) state;
    Teilhabe__Measures__V1__Measure m = TEILHABE__MEASURES__V1__MEASURE__INIT;
    m.id = "7c9e";
    m.ags = "16068";
    m.title = "Sprachcafé";
    m.field = TEILHABE__COMMON__V1__FIELD_OF_ACTION__FIELD_OF_ACTION_LANGUAGE;
    m.target_group = TEILHABE__MEASURES__V1__TARGET_GROUP__TARGET_GROUP_GROUP;
    m.target_group_name = "Frauen";
    m.budget_cents = 900000000000001LL; /* above 2^53: a double would round it */
    m.version = 3;
    char *text = th_pbjson_text(&m.base);
    assert_non_null(text);
    json_error_t err;
    json_t *obj = json_loads(text, 0, &err);
    if (obj == NULL)
        fail_msg("not JSON: %s: %s", err.text, text);
    assert_string_equal(json_string_value(json_object_get(obj, "title")), "Sprachcafé");
    assert_string_equal(json_string_value(json_object_get(obj, "field")),
                        "FIELD_OF_ACTION_LANGUAGE");
    assert_string_equal(json_string_value(json_object_get(obj, "target_group")),
                        "TARGET_GROUP_GROUP");
    const json_t *budget = json_object_get(obj, "budget_cents");
    assert_non_null(budget);
    if (json_is_integer(budget))
        assert_true(json_integer_value(budget) == 900000000000001LL);
    else
        assert_string_equal(json_string_value(budget), "900000000000001");
    /* Compact, keys sorted: "ags" comes before "budget_cents" before "title". */
    const char *ags = strstr(text, "\"ags\"");
    const char *cents = strstr(text, "\"budget_cents\"");
    const char *title = strstr(text, "\"title\"");
    assert_non_null(ags);
    assert_non_null(cents);
    assert_non_null(title);
    assert_true(ags < cents && cents < title);
    assert_null(strstr(text, "\n"));
    json_decref(obj);
    free(text);
}

static void
test_repeated_and_null(void **state)
{
    (void) state;
    Teilhabe__Registry__V1__Concept c = TEILHABE__REGISTRY__V1__CONCEPT__INIT;
    Teilhabe__Common__V1__FieldOfAction fields[] = {
        TEILHABE__COMMON__V1__FIELD_OF_ACTION__FIELD_OF_ACTION_WORK_AND_TRAINING,
        TEILHABE__COMMON__V1__FIELD_OF_ACTION__FIELD_OF_ACTION_HOUSING};
    c.ags = "16068";
    c.fields = fields;
    c.n_fields = 2;
    char *text = th_pbjson_text(&c.base);
    assert_non_null(text);
    json_t *obj = json_loads(text, 0, NULL);
    assert_non_null(obj);
    const json_t *list = json_object_get(obj, "fields");
    assert_true(json_is_array(list));
    assert_int_equal(json_array_size(list), 2);
    assert_string_equal(json_string_value(json_array_get(list, 1)), "FIELD_OF_ACTION_HOUSING");
    json_decref(obj);
    free(text);
    assert_null(th_pbjson_text(NULL));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_measure_as_json),
        cmocka_unit_test(test_repeated_and_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
