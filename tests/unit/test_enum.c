/* ---------------------------------------------------------------------------
 * test_enum.c: enum values as tokens and labels, from the descriptors
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "teilhabe/v1/fields.pb-c.h"
#include "teilhabe/v1/health.pb-c.h"
#include "teilhabe/v1/registry.pb-c.h"
#include "th_enum.h"

static void
test_tokens(void **state)
{
    char buf[TH_ENUM_TEXT_SIZE];
    const ProtobufCEnumDescriptor *kinds = &teilhabe__registry__v1__district_kind__descriptor;
    assert_string_equal(th_enum_token(kinds, 1, buf, sizeof buf), "landkreis");
    assert_string_equal(th_enum_token(kinds, 2, buf, sizeof buf), "kreisfreie_stadt");
    assert_null(th_enum_token(kinds, 0, buf, sizeof buf)); /* UNSPECIFIED */
    assert_null(th_enum_token(kinds, 7, buf, sizeof buf));
    assert_null(th_enum_token(kinds, 2, buf, 5)); /* too small */
    const ProtobufCEnumDescriptor *fields = &teilhabe__common__v1__field_of_action__descriptor;
    assert_string_equal(th_enum_token(fields, 1, buf, sizeof buf), "work_and_training");
    assert_int_equal(th_enum_from_token(fields, "work_and_training"), 1);
    assert_int_equal(th_enum_from_token(fields, "Work-And-Training"), 1);
    assert_int_equal(th_enum_from_token(fields, "work"), 0);
    assert_int_equal(th_enum_from_token(fields, "unspecified"), 0);
    assert_int_equal(th_enum_from_token(fields, NULL), 0);
    assert_int_equal(th_enum_from_token(&teilhabe__registry__v1__settlement_type__descriptor,
                                        "laendlicher_kreis_verdichtung"),
                     3);
    /* An enum without UNSPECIFIED: the common prefix (none here). */
    const ProtobufCEnumDescriptor *serving =
        &teilhabe__health__v1__health_check_response__serving_status__descriptor;
    assert_string_equal(th_enum_token(serving, 1, buf, sizeof buf), "serving");
    assert_int_equal(th_enum_from_token(serving, "not_serving"), 2);
}

static void
test_labels_and_lists(void **state)
{
    char buf[TH_ENUM_TEXT_SIZE];
    const ProtobufCEnumDescriptor *kinds = &teilhabe__registry__v1__district_kind__descriptor;
    assert_string_equal(th_enum_label(kinds, 1, buf, sizeof buf), "Landkreis");
    assert_string_equal(th_enum_label(kinds, 2, buf, sizeof buf), "Kreisfreie stadt");
    assert_string_equal(th_enum_label(kinds, 0, buf, sizeof buf), "");
    assert_string_equal(th_enum_label(kinds, 9, buf, sizeof buf), "9");
    char list[256];
    assert_string_equal(th_enum_tokens(kinds, list, sizeof list),
                        "landkreis, kreisfreie_stadt");
    assert_string_equal(th_enum_tokens(&teilhabe__registry__v1__orientation__descriptor, list,
                                       sizeof list),
                        "participation, newcomers, unclear");
    assert_true(th_enum_valid(kinds, 2, false));
    assert_false(th_enum_valid(kinds, 0, false));
    assert_true(th_enum_valid(kinds, 0, true));
    assert_false(th_enum_valid(kinds, 3, true));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_labels_and_lists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
