/* ---------------------------------------------------------------------------
 * test_report_suppress.c: statistical disclosure control of counts of
 * people (services/reporting/render.h, report_suppress): primary
 * suppression at the threshold's edges, secondary suppression in a total
 * row's column and in a sum_of column's row, the chain from one to the
 * other over several passes, and what is never suppressed (zero, empty
 * cells, counts of things that are not people).
 *
 * Tables are written as pictures: a row per line, "." for a suppressed
 * cell, "-" for an empty one.
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "render.h"

#define VT(name) TEILHABE__REPORTING__V1__VALUE_TYPE__VALUE_TYPE_##name
#define S_ROWS 8
#define S_COLS 5
#define E INT64_MIN /* an empty cell in a picture */

typedef Teilhabe__Reporting__V1__Column column_t;
typedef Teilhabe__Reporting__V1__Row row_t;

/* A table in one block of memory (cmocka's test state is not needed). */
typedef struct {
    column_t columns[S_COLS];
    column_t *column_ptrs[S_COLS];
    row_t rows[S_ROWS];
    row_t *row_ptrs[S_ROWS];
    report_cell_t cells[S_ROWS][S_COLS];
    report_cell_t *cell_ptrs[S_ROWS][S_COLS];
    report_table_t table;
} s_table_t;

static const char *const s_ids[S_COLS] = {"c0", "c1", "c2", "c3", "c4"};

/* n_cols columns of types (NULL: all PEOPLE), named c0, c1, ...; n_rows
 * rows of values (E: empty), totals[i] for a TOTAL row. */
static report_table_t *
s_table(s_table_t *t, size_t n_cols, const Teilhabe__Reporting__V1__ValueType *types,
        size_t n_rows, const int64_t *values, const bool *totals)
{
    memset(t, 0, sizeof *t);
    teilhabe__reporting__v1__table__init(&t->table);
    for (size_t c = 0; c < n_cols; c++) {
        teilhabe__reporting__v1__column__init(&t->columns[c]);
        t->columns[c].id = (char *) s_ids[c];
        t->columns[c].label = (char *) s_ids[c];
        t->columns[c].type = types != NULL ? types[c] : VT(PEOPLE);
        t->column_ptrs[c] = &t->columns[c];
    }
    for (size_t i = 0; i < n_rows; i++) {
        row_t *r = &t->rows[i];
        teilhabe__reporting__v1__row__init(r);
        r->key = (char *) "";
        r->kind = totals[i] ? TEILHABE__REPORTING__V1__ROW_KIND__ROW_KIND_TOTAL
                            : TEILHABE__REPORTING__V1__ROW_KIND__ROW_KIND_DATA;
        for (size_t c = 0; c < n_cols; c++) {
            report_cell_t *cell = &t->cells[i][c];
            teilhabe__reporting__v1__cell__init(cell);
            const int64_t v = values[i * n_cols + c];
            cell->empty = v == E;
            cell->number = v == E ? 0 : v;
            t->cell_ptrs[i][c] = cell;
        }
        r->cells = t->cell_ptrs[i];
        r->n_cells = n_cols;
        t->row_ptrs[i] = r;
    }
    t->table.columns = t->column_ptrs;
    t->table.n_columns = n_cols;
    t->table.rows = t->row_ptrs;
    t->table.n_rows = n_rows;
    return &t->table;
}

/* Column c is the sum of the columns named (NULL-terminated). */
static void
s_sum_of(s_table_t *t, size_t c, char **ids)
{
    size_t n = 0;
    while (ids[n] != NULL)
        n++;
    t->columns[c].sum_of = ids;
    t->columns[c].n_sum_of = n;
}

/* The table as a picture: "12 . -|20 5 15"; checks on the way that each
 * suppressed cell has number 0 and text ".". */
static const char *
s_picture(const report_table_t *t, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < t->n_rows; i++)
        for (size_t c = 0; c < t->n_columns; c++) {
            const report_cell_t *cell = t->rows[i]->cells[c];
            const char *sep = c > 0 ? " " : i > 0 ? "|" : "";
            if (cell->suppressed) {
                assert_int_equal(cell->number, 0);
                assert_string_equal(cell->text, ".");
                assert_false(cell->empty);
                used += (size_t) snprintf(buf + used, size - used, "%s.", sep);
            } else if (cell->empty) {
                used += (size_t) snprintf(buf + used, size - used, "%s-", sep);
            } else {
                used += (size_t) snprintf(buf + used, size - used, "%s%lld", sep,
                                          (long long) cell->number);
            }
        }
    return buf;
}

/* One small count in a column with a total: the smallest other count of
 * that column goes too, so the total does not give it away. */
static void
test_total_row_needs_a_second_cell(void **state)
{
    (void) state;
    s_table_t t;
    const int64_t v[] = {10, 2, 5, 8, 25};
    const bool totals[] = {false, false, false, false, true};
    report_table_t *table = s_table(&t, 1, NULL, 5, v, totals);
    char pic[256];
    assert_int_equal(report_suppress(table, 3), 2);
    assert_string_equal(s_picture(table, pic, sizeof pic), "10|.|.|8|25");
    /* Once stable, again changes nothing. */
    assert_int_equal(report_suppress(table, 3), 0);
    assert_string_equal(s_picture(table, pic, sizeof pic), "10|.|.|8|25");
}

/* A total relates the data rows back to the previous total only. */
static void
test_total_rows_close_blocks(void **state)
{
    (void) state;
    s_table_t t;
    const int64_t v[] = {1, 10, 11, 20, 30, 50};
    const bool totals[] = {false, false, true, false, false, true};
    report_table_t *table = s_table(&t, 1, NULL, 6, v, totals);
    char pic[256];
    assert_int_equal(report_suppress(table, 3), 2);
    assert_string_equal(s_picture(table, pic, sizeof pic), ".|.|11|20|30|50");
}

/* A sum_of column and its parts in one row. */
static void
test_sum_of_columns(void **state)
{
    (void) state;
    s_table_t t;
    const int64_t v[] = {9, 2, 7, 20, 12, 8};
    const bool totals[] = {false, false};
    report_table_t *table = s_table(&t, 3, NULL, 2, v, totals);
    char *parts[] = {"c1", "c2", NULL};
    s_sum_of(&t, 0, parts);
    char pic[256];
    assert_int_equal(report_suppress(table, 3), 2);
    assert_string_equal(s_picture(table, pic, sizeof pic), "9 . .|20 12 8");
}

/* The chain: c1 of row 0 is small; its column takes row 1's c1, the rows
 * take their smallest other parts (c2 in row 0, c3 in row 1), which leave
 * c2 and c3 with one suppressed cell each, so the next pass takes row 1's
 * c2 and row 0's c3. The totals stay. */
static void
test_rows_and_columns_until_stable(void **state)
{
    (void) state;
    s_table_t t;
    const int64_t v[] = {
        62,  2, 10, 50, /* */
        53,  5, 40, 8,  /* */
        115, 7, 50, 58, /* total */
    };
    const bool totals[] = {false, false, true};
    report_table_t *table = s_table(&t, 4, NULL, 3, v, totals);
    char *parts[] = {"c1", "c2", "c3", NULL};
    s_sum_of(&t, 0, parts);
    char pic[256];
    assert_int_equal(report_suppress(table, 3), 6);
    assert_string_equal(s_picture(table, pic, sizeof pic), "62 . . .|53 . . .|115 7 50 58");
}

/* docs/reporting.md's example: reach by field, threshold 3. Language's 2
 * (1 with, 1 without migration history) is suppressed; education, the
 * smallest other row, goes too, so the total 49 does not give 2 away. */
static void
test_reach_by_field(void **state)
{
    (void) state;
    s_table_t t;
    const int64_t v[] = {
        2,  1,  1,  /* language */
        7,  3,  4,  /* education */
        40, 20, 20, /* work and training */
        49, 24, 25, /* total */
    };
    const bool totals[] = {false, false, false, true};
    report_table_t *table = s_table(&t, 3, NULL, 4, v, totals);
    char *parts[] = {"c1", "c2", NULL};
    s_sum_of(&t, 0, parts);
    char pic[256];
    assert_int_equal(report_suppress(table, 3), 6);
    assert_string_equal(s_picture(table, pic, sizeof pic), ". . .|. . .|40 20 20|49 24 25");
}

/* Primary suppression is 1 <= n < threshold. */
static void
test_threshold_edges(void **state)
{
    (void) state;
    static const struct {
        int threshold, count;
        const char *picture;
    } cases[] = {
        {0, 0, "1|2|3|4|10"}, {1, 0, "1|2|3|4|10"}, {2, 2, ".|.|3|4|10"},
        {3, 2, ".|.|3|4|10"}, {4, 3, ".|.|.|4|10"}, {5, 4, ".|.|.|.|10"},
        {11, 5, ".|.|.|.|."},
    };
    const int64_t v[] = {1, 2, 3, 4, 10};
    const bool totals[] = {false, false, false, false, true};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        s_table_t t;
        report_table_t *table = s_table(&t, 1, NULL, 5, v, totals);
        char pic[256];
        assert_int_equal(report_suppress(table, cases[i].threshold), cases[i].count);
        assert_string_equal(s_picture(table, pic, sizeof pic), cases[i].picture);
    }
}

/* No small count, nothing suppressed: zero reveals no one. */
static void
test_nothing_small(void **state)
{
    (void) state;
    s_table_t t;
    const int64_t v[] = {0, 0, 3, 3, E, E, 10, 10, 13, 13};
    const bool totals[] = {false, false, false, false, true};
    report_table_t *table = s_table(&t, 2, NULL, 5, v, totals);
    char pic[256];
    assert_int_equal(report_suppress(table, 3), 0);
    assert_string_equal(s_picture(table, pic, sizeof pic), "0 0|3 3|- -|10 10|13 13");
}

/* An empty cell hides nothing: never the second cell. */
static void
test_empty_cells_are_never_chosen(void **state)
{
    (void) state;
    s_table_t t;
    const int64_t v[] = {1, E, 9, 10};
    const bool totals[] = {false, false, false, true};
    report_table_t *table = s_table(&t, 1, NULL, 4, v, totals);
    char pic[256];
    assert_int_equal(report_suppress(table, 3), 2);
    assert_string_equal(s_picture(table, pic, sizeof pic), ".|-|.|10");
}

/* Ties: the lowest row, then the leftmost column. */
static void
test_ties(void **state)
{
    (void) state;
    s_table_t t;
    const int64_t v[] = {2, 6, 6, 6, 20};
    const bool totals[] = {false, false, false, false, true};
    report_table_t *table = s_table(&t, 1, NULL, 5, v, totals);
    char pic[256];
    assert_int_equal(report_suppress(table, 3), 2);
    assert_string_equal(s_picture(table, pic, sizeof pic), ".|.|6|6|20");

    const int64_t w[] = {14, 2, 4, 4, 4};
    const bool none[] = {false};
    table = s_table(&t, 5, NULL, 1, w, none);
    char *parts[] = {"c1", "c2", "c3", "c4", NULL};
    s_sum_of(&t, 0, parts);
    assert_int_equal(report_suppress(table, 3), 2);
    assert_string_equal(s_picture(table, pic, sizeof pic), "14 . . 4 4");
}

/* Only counts of people: a small count of districts or an amount is
 * shown, and never taken as a second cell. */
static void
test_only_people(void **state)
{
    (void) state;
    s_table_t t;
    const Teilhabe__Reporting__V1__ValueType types[] = {VT(TEXT), VT(INTEGER), VT(PEOPLE),
                                                        VT(MONEY)};
    const int64_t v[] = {
        0, 1,  1,  1, /* */
        0, 2,  8,  2, /* */
        0, 9,  20, 3, /* */
        0, 12, 29, 6, /* total */
    };
    const bool totals[] = {false, false, false, true};
    report_table_t *table = s_table(&t, 4, types, 4, v, totals);
    char pic[256];
    assert_int_equal(report_suppress(table, 3), 2);
    assert_string_equal(s_picture(table, pic, sizeof pic),
                        "0 1 . 1|0 2 . 2|0 9 20 3|0 12 29 6");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_total_row_needs_a_second_cell),
        cmocka_unit_test(test_total_rows_close_blocks),
        cmocka_unit_test(test_sum_of_columns),
        cmocka_unit_test(test_rows_and_columns_until_stable),
        cmocka_unit_test(test_reach_by_field),
        cmocka_unit_test(test_threshold_edges),
        cmocka_unit_test(test_nothing_small),
        cmocka_unit_test(test_empty_cells_are_never_chosen),
        cmocka_unit_test(test_ties),
        cmocka_unit_test(test_only_people),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
