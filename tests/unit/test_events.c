/* ---------------------------------------------------------------------------
 * test_events.c: the payload types of outbox topics (th_events_payload_type):
 * prefixes, exact topics, the order of the table, the unknown.
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "th_events.h"

static const th_events_type_t s_table[] = {
    {"manager.assigned", "Assignment"},
    {"manager.", "Manager"},
    {"values.put", "DistrictValues"},
    {NULL, NULL},
};

static void
test_prefix_and_exact(void **state)
{
    (void) state;
    assert_string_equal(th_events_payload_type(s_table, "manager.assigned"), "Assignment");
    assert_string_equal(th_events_payload_type(s_table, "manager.created"), "Manager");
    /* An exact topic matches only itself; a prefix only with its dot. */
    assert_string_equal(th_events_payload_type(s_table, "values.put"), "DistrictValues");
    assert_string_equal(th_events_payload_type(s_table, "values.putx"), "");
    assert_string_equal(th_events_payload_type(s_table, "managerx.created"), "");
    assert_string_equal(th_events_payload_type(s_table, ""), "");
    assert_string_equal(th_events_payload_type(NULL, "manager.created"), "");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefix_and_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
