/* ---------------------------------------------------------------------------
 * build.c: the report builder (reporting.h): sections, tables, rows and
 * cells of a Report in call memory, labels in the report's language.
 * ---------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reporting.h"

/* The chart specs waiting for report_finish, per section (by index). */
typedef struct {
    report_section_t *section;
    rb_chart_spec_t spec;
} s_pending_t;

/* Appends item to the call-memory array *arr of *n items: the capacity is
 * the next power of two, so the array is copied when n is one. */
static void
s_push(th_call_t *call, void ***arr, size_t *n, void *item)
{
    if (*n == 0 || (*n & (*n - 1)) == 0) {
        const size_t cap = *n == 0 ? 1 : *n * 2;
        void **grown = th_call_alloc(call, cap * sizeof *grown);
        if (*n > 0)
            memcpy(grown, *arr, *n * sizeof *grown);
        *arr = grown;
    }
    (*arr)[(*n)++] = item;
}

#define S_PUSH(call, arr, n, item) s_push((call), (void ***) &(arr), &(n), (item))

report_t *
rb_begin(rb_t *b, th_call_t *call, const char *kind, const char *lang, const char *title_de,
         const char *title_en)
{
    b->call = call;
    b->en = strcmp(lang, "en") == 0;
    report_t *r = th_call_alloc(call, sizeof *r);
    teilhabe__reporting__v1__report__init(r);
    r->kind = (char *) kind;
    r->title = (char *) rb_l(b, title_de, title_en);
    Teilhabe__Reporting__V1__ReportState *st = th_call_alloc(call, sizeof *st);
    teilhabe__reporting__v1__report_state__init(st);
    st->lang = (char *) (b->en ? "en" : "de");
    r->state = st;
    b->report = r;
    return r;
}

const char *
rb_l(const rb_t *b, const char *de, const char *en)
{
    return b->en ? en : de;
}

char *
rb_printf(const rb_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    const int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort(); /* out of memory, as th_call_alloc */
    char *out = th_call_strdup(b->call, s);
    free(s);
    return out;
}

report_section_t *
rb_section(rb_t *b, const char *id, const char *title_de, const char *title_en)
{
    report_section_t *s = th_call_alloc(b->call, sizeof *s);
    teilhabe__reporting__v1__section__init(s);
    s->id = (char *) id;
    s->title = (char *) rb_l(b, title_de, title_en);
    S_PUSH(b->call, b->report->sections, b->report->n_sections, s);
    return s;
}

void
rb_text(rb_t *b, report_section_t *s, const char *paragraph)
{
    s->text = s->text[0] == '\0' ? (char *) paragraph
                                 : rb_printf(b, "%s\n\n%s", s->text, paragraph);
}

report_table_t *
rb_table(rb_t *b, report_section_t *s)
{
    report_table_t *t = th_call_alloc(b->call, sizeof *t);
    teilhabe__reporting__v1__table__init(t);
    s->table = t;
    return t;
}

void
rb_column(rb_t *b, report_table_t *t, const char *id, const char *label_de,
          const char *label_en, Teilhabe__Reporting__V1__ValueType type, int decimals)
{
    Teilhabe__Reporting__V1__Column *c = th_call_alloc(b->call, sizeof *c);
    teilhabe__reporting__v1__column__init(c);
    c->id = (char *) id;
    c->label = (char *) rb_l(b, label_de, label_en);
    c->type = type;
    c->decimals = decimals;
    S_PUSH(b->call, t->columns, t->n_columns, c);
}

void
rb_sum_of(rb_t *b, report_table_t *t, const char *const *ids)
{
    Teilhabe__Reporting__V1__Column *c = t->columns[t->n_columns - 1];
    for (size_t i = 0; ids[i] != NULL; i++)
        S_PUSH(b->call, c->sum_of, c->n_sum_of, (void *) ids[i]);
}

report_row_t *
rb_row(rb_t *b, report_table_t *t, const char *key, bool total)
{
    report_row_t *r = th_call_alloc(b->call, sizeof *r);
    teilhabe__reporting__v1__row__init(r);
    r->key = (char *) key;
    r->kind = total ? TEILHABE__REPORTING__V1__ROW_KIND__ROW_KIND_TOTAL
                    : TEILHABE__REPORTING__V1__ROW_KIND__ROW_KIND_DATA;
    /* Room for every column: cells are appended in column order. */
    r->cells = th_call_alloc(b->call, (t->n_columns + 1) * sizeof *r->cells);
    S_PUSH(b->call, t->rows, t->n_rows, r);
    return r;
}

static report_cell_t *
s_cell(rb_t *b, report_row_t *r)
{
    report_cell_t *c = th_call_alloc(b->call, sizeof *c);
    teilhabe__reporting__v1__cell__init(c);
    r->cells[r->n_cells++] = c;
    return c;
}

report_cell_t *
rb_text_cell(rb_t *b, report_row_t *r, const char *text)
{
    report_cell_t *c = s_cell(b, r);
    c->text = (char *) (text != NULL ? text : "");
    c->empty = text == NULL || text[0] == '\0';
    return c;
}

report_cell_t *
rb_number(rb_t *b, report_row_t *r, int64_t number)
{
    report_cell_t *c = s_cell(b, r);
    c->number = number;
    return c;
}

report_cell_t *
rb_date(rb_t *b, report_row_t *r, const char *iso)
{
    return rb_text_cell(b, r, iso);
}

report_cell_t *
rb_empty(rb_t *b, report_row_t *r)
{
    report_cell_t *c = s_cell(b, r);
    c->empty = true;
    return c;
}

report_cell_t *
rb_share(rb_t *b, report_row_t *r, int64_t part, int64_t whole)
{
    if (whole <= 0)
        return rb_empty(b, r);
    /* part / whole * 100 in millionths: part * 10^8 / whole, half up. */
    const __int128 scaled = (__int128) part * 100000000;
    return rb_number(b, r, (int64_t) ((scaled + whole / 2) / whole));
}

report_cell_t *
rb_number_or_empty(rb_t *b, report_row_t *r, const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return rb_empty(b, r);
    return rb_number(b, r, strtoll(PQgetvalue(res, row, col), NULL, 10));
}

void
rb_cell_mark(rb_t *b, report_cell_t *c, const char *note_id)
{
    for (size_t i = 0; i < c->n_marks; i++)
        if (strcmp(c->marks[i], note_id) == 0)
            return;
    S_PUSH(b->call, c->marks, c->n_marks, (void *) note_id);
}

void
rb_row_mark(rb_t *b, report_row_t *r, const char *note_id)
{
    for (size_t i = 0; i < r->n_marks; i++)
        if (strcmp(r->marks[i], note_id) == 0)
            return;
    S_PUSH(b->call, r->marks, r->n_marks, (void *) note_id);
}

void
rb_note(rb_t *b, const char *id, const char *symbol, const char *text_de, const char *text_en)
{
    report_t *rep = b->report;
    for (size_t i = 0; i < rep->n_notes; i++)
        if (strcmp(rep->notes[i]->id, id) == 0)
            return;
    Teilhabe__Reporting__V1__Note *n = th_call_alloc(b->call, sizeof *n);
    teilhabe__reporting__v1__note__init(n);
    n->id = (char *) id;
    n->symbol = (char *) symbol;
    n->text = (char *) rb_l(b, text_de, text_en);
    S_PUSH(b->call, rep->notes, rep->n_notes, n);
}

/* The pending charts live in the section's chart field until finish: a
 * chart with kind set and no categories, its spec beside it. */
typedef struct {
    report_chart_t chart;
    rb_chart_spec_t spec;
} s_chart_t;

void
rb_chart(rb_t *b, report_section_t *s, const rb_chart_spec_t *spec)
{
    s_chart_t *c = th_call_alloc(b->call, sizeof *c);
    teilhabe__reporting__v1__chart__init(&c->chart);
    c->chart.kind = spec->kind;
    c->chart.title = (char *) spec->title;
    c->chart.caption = (char *) spec->caption;
    c->spec = *spec;
    s->chart = &c->chart;
}

static void
s_chart_by_columns(rb_t *b, report_chart_t *chart, const report_table_t *t,
                   const rb_chart_spec_t *spec)
{
    const size_t first = (size_t) spec->value_cols[0];
    if (first >= t->n_columns)
        return;
    chart->value_type = t->columns[first]->type;
    for (size_t col = first; col < t->n_columns; col++)
        S_PUSH(b->call, chart->categories, chart->n_categories, t->columns[col]->label);
    const Teilhabe__Reporting__V1__RowKind kind =
        spec->data_rows ? TEILHABE__REPORTING__V1__ROW_KIND__ROW_KIND_DATA
                        : TEILHABE__REPORTING__V1__ROW_KIND__ROW_KIND_TOTAL;
    for (size_t i = 0; i < t->n_rows && chart->n_series < 8; i++) {
        const report_row_t *r = t->rows[i];
        if (r->kind != kind || (size_t) spec->category_col >= r->n_cells)
            continue;
        report_series_t *series = th_call_alloc(b->call, sizeof *series);
        teilhabe__reporting__v1__series__init(series);
        series->name = r->cells[spec->category_col]->text;
        const size_t n = t->n_columns - first;
        series->values = th_call_alloc(b->call, n * sizeof *series->values);
        series->missing = th_call_alloc(b->call, n * sizeof *series->missing);
        for (size_t col = first; col < t->n_columns; col++) {
            const report_cell_t *cell = col < r->n_cells ? r->cells[col] : NULL;
            series->missing[col - first] = cell == NULL || cell->suppressed || cell->empty;
            series->values[col - first] = cell == NULL || cell->suppressed ? 0 : cell->number;
        }
        series->n_values = series->n_missing = n;
        S_PUSH(b->call, chart->series, chart->n_series, series);
    }
}

void
rb_chart_fill(rb_t *b, report_section_t *s)
{
    if (s->chart == NULL || s->table == NULL)
        return;
    s_chart_t *c = (s_chart_t *) s->chart;
    const report_table_t *t = s->table;
    const rb_chart_spec_t *spec = &c->spec;
    if (spec->by_columns) {
        s_chart_by_columns(b, &c->chart, t, spec);
        return;
    }
    /* The spec is the service's own: a column out of range is a bug, and
     * drawn as no chart rather than read out of bounds. */
    if ((size_t) spec->category_col >= t->n_columns)
        return;
    for (int k = 0; k < spec->n_values && k < 8; k++)
        if (spec->value_cols[k] < 0 || (size_t) spec->value_cols[k] >= t->n_columns)
            return;
    if (spec->n_values > 0)
        c->chart.value_type = t->columns[spec->value_cols[0]]->type;
    for (int k = 0; k < spec->n_values && k < 8; k++) {
        const int col = spec->value_cols[k];
        report_series_t *series = th_call_alloc(b->call, sizeof *series);
        teilhabe__reporting__v1__series__init(series);
        series->name = (char *) (spec->series_names[k] != NULL ? spec->series_names[k]
                                                                : t->columns[col]->label);
        series->values = th_call_alloc(b->call, (t->n_rows + 1) * sizeof *series->values);
        series->missing = th_call_alloc(b->call, (t->n_rows + 1) * sizeof *series->missing);
        for (size_t i = 0; i < t->n_rows; i++) {
            const report_row_t *r = t->rows[i];
            if (r->kind != TEILHABE__REPORTING__V1__ROW_KIND__ROW_KIND_DATA)
                continue;
            if ((size_t) col >= r->n_cells) { /* a short row: nothing to draw */
                series->missing[series->n_values] = true;
                series->values[series->n_values++] = 0;
                continue;
            }
            const report_cell_t *cell = r->cells[col];
            series->missing[series->n_values] = cell->suppressed || cell->empty;
            series->values[series->n_values] = cell->suppressed ? 0 : cell->number;
            series->n_values++;
        }
        series->n_missing = series->n_values;
        S_PUSH(b->call, c->chart.series, c->chart.n_series, series);
    }
    for (size_t i = 0; i < t->n_rows; i++) {
        const report_row_t *r = t->rows[i];
        if (r->kind == TEILHABE__REPORTING__V1__ROW_KIND__ROW_KIND_DATA)
            S_PUSH(b->call, c->chart.categories, c->chart.n_categories,
                   (size_t) spec->category_col < r->n_cells ? r->cells[spec->category_col]->text
                                                            : "");
    }
}
