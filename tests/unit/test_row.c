/* ---------------------------------------------------------------------------
 * test_row.c: PostgreSQL rows into protobuf messages (th_row.h), on
 * results built in memory (libpq can make them without a server)
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <string.h>

#include "teilhabe/v1/registry.pb-c.h"
#include "th_error.h"
#include "th_row.h"

/* A result with the given column names and one row of values (NULL = SQL
 * NULL). */
static PGresult *
s_result(const char *const *names, const char *const *values, int n)
{
    PGresult *r = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    assert_non_null(r);
    PGresAttDesc attrs[32];
    memset(attrs, 0, sizeof attrs);
    for (int i = 0; i < n; i++) {
        attrs[i].name = (char *) names[i];
        attrs[i].typid = 25; /* text */
        attrs[i].typlen = -1;
        attrs[i].atttypmod = -1;
    }
    assert_true(PQsetResultAttrs(r, n, attrs));
    for (int i = 0; i < n; i++)
        assert_true(PQsetvalue(r, 0, i, (char *) values[i], values[i] != NULL ? (int) strlen(values[i]) : -1));
    return r;
}

static void
test_fill_by_name(void **state)
{
    static const char *const names[] = {"ags", "name", "kind", "area_km2", "population",
                                        "settlement_type", "valid_to", "not_a_field"};
    static const char *const values[] = {"16063", "Wartburgkreis", "landkreis", "1411.61",
                                         "165395", "laendlicher_kreis_verdichtung", NULL, "x"};
    PGresult *r = s_result(names, values, 8);
    Teilhabe__Registry__V1__District d = TEILHABE__REGISTRY__V1__DISTRICT__INIT;
    th_row_fill(NULL, r, 0, 0, 0, &d.base);
    assert_string_equal(d.ags, "16063");
    assert_string_equal(d.name, "Wartburgkreis");
    assert_int_equal(d.kind, TEILHABE__REGISTRY__V1__DISTRICT_KIND__DISTRICT_KIND_LANDKREIS);
    assert_true(d.area_km2 > 1411.60 && d.area_km2 < 1411.62);
    assert_int_equal(d.population, 165395);
    assert_int_equal(d.settlement_type, 3);
    assert_string_equal(d.valid_to, ""); /* NULL */
    /* only the columns asked for: the first two */
    Teilhabe__Registry__V1__District e = TEILHABE__REGISTRY__V1__DISTRICT__INIT;
    th_row_fill(NULL, r, 0, 0, 2, &e.base);
    assert_string_equal(e.name, "Wartburgkreis");
    assert_int_equal(e.population, 0);
    PQclear(r);
}

static void
test_arrays(void **state)
{
    char buf[128];
    char *items[8];
    size_t n = 0;
    assert_int_equal(th_row_split_array("{work_and_training,language}", buf, items, 8, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(items[0], "work_and_training");
    assert_string_equal(items[1], "language");
    assert_int_equal(th_row_split_array("{\"a b\",\"c\\\"d\",NULL,\"NULL\"}", buf, items, 8, &n),
                     0);
    assert_int_equal(n, 3);
    assert_string_equal(items[0], "a b");
    assert_string_equal(items[1], "c\"d");
    assert_string_equal(items[2], "NULL"); /* quoted: the word, not SQL NULL */
    assert_int_equal(th_row_split_array("{}", buf, items, 8, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(th_row_split_array("a,b", buf, items, 8, &n), TH_EINVAL);
    assert_int_equal(th_row_split_array("{\"open}", buf, items, 8, &n), TH_EINVAL);
    assert_int_equal(th_row_split_array("{a,}", buf, items, 8, &n), TH_EINVAL);
    assert_int_equal(th_row_split_array("{a,b,c}", buf, items, 2, &n), TH_ETOOBIG);
}

/* The take helpers of a store: a failed statement (NULL) is TH_EDB; no
 * row is the caller's "none"; the result is cleared either way (ASan
 * would see it leak otherwise). Rows with values need a call's memory
 * and are covered by the services' integration tests. */
static void
test_take(void **state)
{
    (void) state;
    const ProtobufCMessageDescriptor *desc = &teilhabe__registry__v1__district__descriptor;
    void **all = (void **) &all;
    size_t n = 7;
    assert_int_equal(th_row_take_all(NULL, desc, NULL, &all, &n), TH_EDB);
    void *one = NULL;
    assert_int_equal(th_row_take_one(NULL, desc, NULL, TH_ENOTFOUND, &one), TH_EDB);
    PGresult *empty = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    assert_non_null(empty);
    assert_int_equal(th_row_take_one(NULL, desc, empty, TH_ENOTFOUND, &one), TH_ENOTFOUND);
    assert_null(one);
    empty = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    assert_int_equal(th_row_take_all(NULL, desc, empty, &all, &n), 0);
    assert_null(all);
    assert_int_equal(n, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fill_by_name),
        cmocka_unit_test(test_take),
        cmocka_unit_test(test_arrays),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
