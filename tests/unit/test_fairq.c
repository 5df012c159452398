/* ---------------------------------------------------------------------------
 * test_fairq.c: the broker's fair queue (services/broker/fairq.c): FIFO per
 * lane, round-robin between lanes, removal by handle, iteration
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fairq.h"

#include <string.h>

static int items[16];

/* One flooding lane and two quiet ones: the quiet ones do not wait behind
 * the flood, each lane keeps its own order. */
static void
test_round_robin_between_lanes(void **state)
{
    (void) state;
    fairq_t *q = fairq_new();
    assert_non_null(q);
    assert_null(fairq_peek(q));
    assert_null(fairq_pop(q));
    for (int i = 0; i < 6; i++)
        assert_non_null(fairq_push(q, "flooder", &items[i]));
    assert_non_null(fairq_push(q, "victim", &items[10]));
    assert_non_null(fairq_push(q, "victim", &items[11]));
    assert_non_null(fairq_push(q, "third", &items[12]));
    assert_int_equal(fairq_size(q), 9);
    assert_int_equal(fairq_lanes(q), 3);
    assert_int_equal(fairq_lane_size(q, "flooder"), 6);
    assert_int_equal(fairq_lane_size(q, "nobody"), 0);

    int *expect[] = {&items[0], &items[10], &items[12], &items[1], &items[11],
                     &items[2], &items[3],  &items[4],  &items[5]};
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) {
        assert_ptr_equal(fairq_peek(q), expect[i]);
        assert_ptr_equal(fairq_pop(q), expect[i]);
    }
    assert_int_equal(fairq_size(q), 0);
    assert_int_equal(fairq_lanes(q), 0);
    assert_null(fairq_pop(q));
    fairq_destroy(&q);
    assert_null(q);
    fairq_destroy(&q);
}

/* A lane that empties loses its place; coming back, it queues at the back
 * of the turn order. */
static void
test_returning_lane_joins_at_the_back(void **state)
{
    (void) state;
    fairq_t *q = fairq_new();
    assert_non_null(fairq_push(q, "a", &items[0]));
    assert_non_null(fairq_push(q, "b", &items[1]));
    assert_non_null(fairq_push(q, "b", &items[2]));
    assert_ptr_equal(fairq_pop(q), &items[0]); /* a leaves */
    assert_non_null(fairq_push(q, "a", &items[3]));
    assert_ptr_equal(fairq_pop(q), &items[1]);
    assert_ptr_equal(fairq_pop(q), &items[3]);
    assert_ptr_equal(fairq_pop(q), &items[2]);
    fairq_destroy(&q);
}

/* Items leave by handle from anywhere (a deadline); an emptied lane goes. */
static void
test_remove_by_handle_and_iterate(void **state)
{
    (void) state;
    fairq_t *q = fairq_new();
    void *h0 = fairq_push(q, "a", &items[0]);
    void *h1 = fairq_push(q, "a", &items[1]);
    void *h2 = fairq_push(q, "b", &items[2]);
    void *h3 = fairq_push(q, "c", &items[3]);
    assert_non_null(h0);
    assert_non_null(h3);
    int seen = 0;
    for (int *item = fairq_first(q); item != NULL; item = fairq_next(q)) {
        assert_true(item >= &items[0] && item <= &items[3]);
        seen++;
    }
    assert_int_equal(seen, 4);
    fairq_remove(q, h1);
    fairq_remove(q, h2);
    assert_int_equal(fairq_size(q), 2);
    assert_int_equal(fairq_lanes(q), 2);
    assert_int_equal(fairq_lane_size(q, "b"), 0);
    assert_ptr_equal(fairq_pop(q), &items[0]);
    assert_ptr_equal(fairq_pop(q), &items[3]);
    assert_null(fairq_first(q));
    fairq_remove(q, NULL);
    /* Destroyed with items in it: the nodes go, the items are the caller's. */
    assert_non_null(fairq_push(q, "x", &items[4]));
    fairq_destroy(&q);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_robin_between_lanes),
        cmocka_unit_test(test_returning_lane_joins_at_the_back),
        cmocka_unit_test(test_remove_by_handle_and_iterate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
