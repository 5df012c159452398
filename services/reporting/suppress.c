/* ---------------------------------------------------------------------------
 * suppress.c: statistical disclosure control of counts of people
 * (render.h, report_suppress; docs/reporting.md).
 *
 * A relation is a set of cells of which one is the sum of the others: a
 * TOTAL row's cell with the cells of the DATA rows above it (back to the
 * previous TOTAL row) in the same column, or a sum_of column's cell with
 * its parts in the same row. Only PEOPLE cells take part: nothing else is
 * ever suppressed, so nothing else can give a suppressed count away.
 *
 * The relations are walked in place, without a list of them, so the
 * function needs no memory and cannot fail.
 * ---------------------------------------------------------------------------
 */
#include "render.h"

#include <stdbool.h>
#include <string.h>

#define PEOPLE TEILHABE__REPORTING__V1__VALUE_TYPE__VALUE_TYPE_PEOPLE
#define TOTAL TEILHABE__REPORTING__V1__ROW_KIND__ROW_KIND_TOTAL

/* One relation: rows first..last of column col (last is the TOTAL row),
 * or, when parts is set, column col and its parts in row first. */
typedef struct {
    size_t first, last;
    size_t col;
    bool parts;
} s_relation_t;

/* The PEOPLE cell at row, col; NULL when the row is short of cells or the
 * column counts no people. */
static report_cell_t *
s_people_cell(const report_table_t *t, size_t row, size_t col)
{
    if (row >= t->n_rows || col >= t->n_columns || t->columns[col]->type != PEOPLE)
        return NULL;
    const Teilhabe__Reporting__V1__Row *r = t->rows[row];
    return col < r->n_cells ? r->cells[col] : NULL;
}

/* The index of the column with id, or n_columns. */
static size_t
s_column_index(const report_table_t *t, const char *id)
{
    size_t c = 0;
    while (c < t->n_columns && strcmp(t->columns[c]->id, id) != 0)
        c++;
    return c;
}

static size_t
s_relation_size(const report_table_t *t, const s_relation_t *rel)
{
    return rel->parts ? 1 + t->columns[rel->col]->n_sum_of : rel->last - rel->first + 1;
}

/* The k-th member of rel (row and column into *row, *col); NULL when it
 * is no PEOPLE cell (a part that names no column, say). */
static report_cell_t *
s_member(const report_table_t *t, const s_relation_t *rel, size_t k, size_t *row,
         size_t *col)
{
    if (rel->parts) {
        *row = rel->first;
        *col = k == 0 ? rel->col : s_column_index(t, t->columns[rel->col]->sum_of[k - 1]);
    } else {
        *row = rel->first + k;
        *col = rel->col;
    }
    return s_people_cell(t, *row, *col);
}

static void
s_hide(report_cell_t *cell)
{
    cell->suppressed = true;
    cell->number = 0;
    /* Cells live in the caller's memory (call memory in the service): a
     * static string replaces the text without freeing anything. */
    cell->text = (char *) ".";
}

/* When exactly one cell of rel is suppressed, suppresses the smallest
 * other that shows a value (the lowest row, then the leftmost column, on
 * a tie). Returns whether it suppressed one. */
static bool
s_settle(report_table_t *t, const s_relation_t *rel)
{
    const size_t n = s_relation_size(t, rel);
    int hidden = 0;
    report_cell_t *best = NULL;
    size_t best_row = 0, best_col = 0;
    for (size_t k = 0; k < n; k++) {
        size_t row, col;
        report_cell_t *cell = s_member(t, rel, k, &row, &col);
        if (cell == NULL)
            continue;
        if (cell->suppressed) {
            hidden++;
            continue;
        }
        if (cell->empty)
            continue;
        if (best == NULL || cell->number < best->number ||
            (cell->number == best->number &&
             (row < best_row || (row == best_row && col < best_col)))) {
            best = cell;
            best_row = row;
            best_col = col;
        }
    }
    if (hidden != 1 || best == NULL)
        return false;
    s_hide(best);
    return true;
}

/* One pass over every relation; the number of cells it suppressed. */
static int
s_pass(report_table_t *t)
{
    int count = 0;
    size_t first = 0;
    for (size_t i = 0; i < t->n_rows; i++) {
        if (t->rows[i]->kind != TOTAL)
            continue;
        /* A total of no rows relates nothing. */
        for (size_t c = 0; i > first && c < t->n_columns; c++) {
            const s_relation_t rel = {.first = first, .last = i, .col = c, .parts = false};
            count += s_settle(t, &rel);
        }
        first = i + 1;
    }
    for (size_t c = 0; c < t->n_columns; c++) {
        if (t->columns[c]->n_sum_of == 0 || t->columns[c]->type != PEOPLE)
            continue;
        for (size_t i = 0; i < t->n_rows; i++) {
            const s_relation_t rel = {.first = i, .last = i, .col = c, .parts = true};
            count += s_settle(t, &rel);
        }
    }
    return count;
}

int
report_suppress(report_table_t *table, int threshold)
{
    int count = 0;
    for (size_t i = 0; i < table->n_rows; i++)
        for (size_t c = 0; c < table->n_columns; c++) {
            report_cell_t *cell = s_people_cell(table, i, c);
            if (cell != NULL && !cell->suppressed && !cell->empty && cell->number >= 1 &&
                cell->number < threshold) {
                s_hide(cell);
                count++;
            }
        }
    /* Each pass that suppressed something may have left another relation
     * with one suppressed cell; a pass that suppressed nothing is the end
     * (at the latest when every PEOPLE cell is suppressed). */
    for (int more = s_pass(table); more > 0; more = s_pass(table))
        count += more;
    return count;
}
