/* ---------------------------------------------------------------------------
 * test_report_render.c: a small report as files (services/reporting/
 * render.h, report_render): CSV byte for byte (header, CRLF, quoting,
 * suppressed ".", empty ""), the sections CSV refuses, JSON without its
 * content, and the HTML page: language, state, banners only when they
 * apply, escaping, charts with their gaps, nothing fetched or run.
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "th_error.h"

#define VT(name) TEILHABE__REPORTING__V1__VALUE_TYPE__VALUE_TYPE_##name
#define FMT(name) TEILHABE__REPORTING__V1__FORMAT__FORMAT_##name
#define S_COLS 7
#define S_ROWS 4
#define E INT64_MIN

typedef Teilhabe__Reporting__V1__Column column_t;
typedef Teilhabe__Reporting__V1__Row row_t;
typedef Teilhabe__Reporting__V1__Section section_t;
typedef Teilhabe__Reporting__V1__Chart chart_t;
typedef Teilhabe__Reporting__V1__Series series_t;
typedef Teilhabe__Reporting__V1__Note note_t;

/* The report and everything it points to, in one block. */
typedef struct {
    report_t report;
    Teilhabe__Reporting__V1__ReportState state;
    char *open[2];
    section_t sections[3];
    section_t *section_ptrs[3];
    report_table_t table;
    column_t columns[S_COLS];
    column_t *column_ptrs[S_COLS];
    row_t rows[S_ROWS];
    row_t *row_ptrs[S_ROWS];
    report_cell_t cells[S_ROWS][S_COLS];
    report_cell_t *cell_ptrs[S_ROWS][S_COLS];
    char *row_marks[1];
    char *cell_marks[1];
    chart_t bars, lines;
    series_t bar_series, line_series[2];
    series_t *bar_series_ptrs[1], *line_series_ptrs[2];
    int64_t bar_values[3], line_values[2][4];
    protobuf_c_boolean bar_missing[3], line_missing[2][4];
    char *bar_categories[3], *line_categories[4];
    note_t notes[2];
    note_t *note_ptrs[2];
} s_report_t;

static const struct {
    const char *id, *label;
    Teilhabe__Reporting__V1__ValueType type;
    int decimals;
} s_columns[S_COLS] = {
    {"ags", "AGS", VT(TEXT), 0},
    {"name", "Name", VT(TEXT), 0},
    {"participations", "Teilnahmen", VT(PEOPLE), 0},
    {"share", "Anteil", VT(PERCENT), 1},
    {"budget", "Budget", VT(MONEY), 0},
    {"rate", "Quote", VT(DECIMAL), 1},
    {"adopted", "Beschlossen", VT(DATE), 0},
};

/* Texts of the cells (NULL: a number), numbers (E: empty). */
static const char *const s_texts[S_ROWS][S_COLS] = {
    {"16051", "Erfurt", NULL, NULL, NULL, NULL, "2024-12-31"},
    {"16067", "Gotha, \"Land\"", NULL, NULL, NULL, NULL, ""},
    {"16099", "<b>Neu</b>\nZeile", NULL, NULL, NULL, NULL, "2025-01-01"},
    {"", "Summe", NULL, NULL, NULL, NULL, ""},
};
static const int64_t s_numbers[S_ROWS][S_COLS] = {
    {0, 0, 1234, 12500000, 123456, 1234500000, 0},
    {0, 0, 0, E, -5, E, 0},
    {0, 0, 5, 0, 0, 0, 0},
    {0, 0, 1240, E, E, E, 0},
};

static void
s_table(s_report_t *r)
{
    report_table_t *t = &r->table;
    teilhabe__reporting__v1__table__init(t);
    for (size_t c = 0; c < S_COLS; c++) {
        column_t *col = &r->columns[c];
        teilhabe__reporting__v1__column__init(col);
        col->id = (char *) s_columns[c].id;
        col->label = (char *) s_columns[c].label;
        col->type = s_columns[c].type;
        col->decimals = s_columns[c].decimals;
        r->column_ptrs[c] = col;
    }
    for (size_t i = 0; i < S_ROWS; i++) {
        row_t *row = &r->rows[i];
        teilhabe__reporting__v1__row__init(row);
        row->key = (char *) s_texts[i][0];
        row->kind = i == S_ROWS - 1 ? TEILHABE__REPORTING__V1__ROW_KIND__ROW_KIND_TOTAL
                                    : TEILHABE__REPORTING__V1__ROW_KIND__ROW_KIND_DATA;
        for (size_t c = 0; c < S_COLS; c++) {
            report_cell_t *cell = &r->cells[i][c];
            teilhabe__reporting__v1__cell__init(cell);
            if (s_texts[i][c] != NULL) {
                cell->text = (char *) s_texts[i][c];
                cell->empty = s_texts[i][c][0] == '\0';
            } else {
                cell->empty = s_numbers[i][c] == E;
                cell->number = cell->empty ? 0 : s_numbers[i][c];
            }
            r->cell_ptrs[i][c] = cell;
        }
        row->cells = r->cell_ptrs[i];
        row->n_cells = S_COLS;
        r->row_ptrs[i] = row;
    }
    /* Gotha's count is suppressed, its row is example data. */
    r->cells[1][2].suppressed = true;
    r->cells[1][2].text = (char *) ".";
    r->cell_marks[0] = (char *) "suppressed";
    r->cells[1][2].marks = r->cell_marks;
    r->cells[1][2].n_marks = 1;
    r->row_marks[0] = (char *) "example";
    r->rows[1].marks = r->row_marks;
    r->rows[1].n_marks = 1;
    t->columns = r->column_ptrs;
    t->n_columns = S_COLS;
    t->rows = r->row_ptrs;
    t->n_rows = S_ROWS;
}

static void
s_charts(s_report_t *r)
{
    static const char *const districts[] = {"Erfurt", "Gotha", "Neu"};
    static const char *const years[] = {"2021", "2022", "2023", "2024"};
    teilhabe__reporting__v1__chart__init(&r->bars);
    r->bars.kind = TEILHABE__REPORTING__V1__CHART_KIND__CHART_KIND_BAR;
    r->bars.title = "Teilnahmen je Kreis";
    r->bars.caption = "Teilnahmen 2025; Gotha geheimgehalten";
    r->bars.value_type = VT(PEOPLE);
    for (size_t k = 0; k < 3; k++) {
        r->bar_categories[k] = (char *) districts[k];
        r->bar_values[k] = r->cells[k][2].number;
        r->bar_missing[k] = r->cells[k][2].suppressed;
    }
    r->bars.categories = r->bar_categories;
    r->bars.n_categories = 3;
    teilhabe__reporting__v1__series__init(&r->bar_series);
    r->bar_series.name = "Teilnahmen";
    r->bar_series.values = r->bar_values;
    r->bar_series.n_values = 3;
    r->bar_series.missing = r->bar_missing;
    r->bar_series.n_missing = 3;
    r->bar_series_ptrs[0] = &r->bar_series;
    r->bars.series = r->bar_series_ptrs;
    r->bars.n_series = 1;

    teilhabe__reporting__v1__chart__init(&r->lines);
    r->lines.kind = TEILHABE__REPORTING__V1__CHART_KIND__CHART_KIND_LINE;
    r->lines.title = "Quote";
    r->lines.caption = "Quote je Jahr";
    r->lines.value_type = VT(PERCENT);
    for (size_t k = 0; k < 4; k++)
        r->line_categories[k] = (char *) years[k];
    r->lines.categories = r->line_categories;
    r->lines.n_categories = 4;
    for (size_t i = 0; i < 2; i++) {
        series_t *s = &r->line_series[i];
        teilhabe__reporting__v1__series__init(s);
        s->name = i == 0 ? "Thüringen" : "Erfurt";
        for (size_t k = 0; k < 4; k++) {
            r->line_values[i][k] = (int64_t) (10 + 5 * k + i) * 1000000;
            /* Erfurt has no value for 2022: a gap in its line. */
            r->line_missing[i][k] = i == 1 && k == 1;
        }
        s->values = r->line_values[i];
        s->n_values = 4;
        s->missing = r->line_missing[i];
        s->n_missing = 4;
        r->line_series_ptrs[i] = s;
    }
    r->lines.series = r->line_series_ptrs;
    r->lines.n_series = 2;
}

/* A Land overview of three districts: a section of text only, one with the
 * table and a bar chart, one with a line chart and no table. */
static report_t *
s_report(s_report_t *r, const char *lang, bool example)
{
    memset(r, 0, sizeof *r);
    report_t *rep = &r->report;
    teilhabe__reporting__v1__report__init(rep);
    rep->kind = "land_overview";
    rep->title = "Landesübersicht";
    rep->subtitle = "Thüringen";
    Teilhabe__Reporting__V1__ReportState *st = &r->state;
    teilhabe__reporting__v1__report_state__init(st);
    st->scope = "16";
    st->as_of = "2026-01-15";
    st->period_from = st->period_to = "2025";
    st->data_state = TEILHABE__REPORTING__V1__DATA_STATE__DATA_STATE_PROVISIONAL;
    r->open[0] = "16067";
    r->open[1] = "16099";
    st->open_districts = r->open;
    st->n_open_districts = 2;
    st->generated_at = "2026-01-15T09:30:00Z";
    st->version = "0.9.0";
    st->lang = (char *) lang;
    st->example_data = example;
    st->suppression_threshold = 3;
    st->suppressed_cells = 1;
    rep->state = st;

    s_table(r);
    s_charts(r);
    static const char *const ids[] = {"summary", "districts", "trend"};
    for (size_t s = 0; s < 3; s++) {
        teilhabe__reporting__v1__section__init(&r->sections[s]);
        r->sections[s].id = (char *) ids[s];
        r->sections[s].title = (char *) ids[s];
        r->section_ptrs[s] = &r->sections[s];
    }
    r->sections[0].text = "Erster Absatz.\n\nZweiter Absatz.";
    r->sections[1].table = &r->table;
    r->sections[1].chart = &r->bars;
    r->sections[2].chart = &r->lines;
    rep->sections = r->section_ptrs;
    rep->n_sections = 3;

    static const char *const note[2][3] = {
        {"suppressed", ".", "Geheimhaltung: Fallzahlen unter 3."},
        {"example", "B", "Beispieldaten: erfunden."},
    };
    const size_t n_notes = example ? 2 : 1;
    for (size_t i = 0; i < n_notes; i++) {
        teilhabe__reporting__v1__note__init(&r->notes[i]);
        r->notes[i].id = (char *) note[i][0];
        r->notes[i].symbol = (char *) note[i][1];
        r->notes[i].text = (char *) note[i][2];
        r->note_ptrs[i] = &r->notes[i];
    }
    rep->notes = r->note_ptrs;
    rep->n_notes = n_notes;
    return rep;
}

/* report_render into *out; checks the media type and the length. */
static int
s_render(const report_t *rep, Teilhabe__Reporting__V1__Format format, const char *section,
         char **out, char *err, size_t errlen)
{
    size_t len = 0;
    const char *media = NULL;
    const int rc = report_render(rep, format, section, out, &len, &media, err, errlen);
    if (rc != 0) {
        assert_null(*out);
        return rc;
    }
    assert_non_null(*out);
    assert_int_equal(strlen(*out), len);
    assert_non_null(media);
    return 0;
}

static const char s_csv_expected[] =
    "AGS,Name,Teilnahmen,Anteil,Budget,Quote,Beschlossen\r\n"
    "16051,Erfurt,1234,12.5,1234.56,1234.5,2024-12-31\r\n"
    "16067,\"Gotha, \"\"Land\"\"\",.,,-0.05,,\r\n"
    "16099,\"<b>Neu</b>\nZeile\",5,0.0,0.00,0.0,2025-01-01\r\n"
    ",Summe,1240,,,,\r\n";

static void
test_csv_bytes(void **state)
{
    (void) state;
    s_report_t r;
    const report_t *rep = s_report(&r, "en", false);
    char *out = NULL;
    char err[256];
    assert_int_equal(s_render(rep, FMT(CSV), "districts", &out, err, sizeof err), 0);
    assert_string_equal(out, s_csv_expected);
    free(out);
    /* No section: the first with a table, in any language. */
    rep = s_report(&r, "de", false);
    assert_int_equal(s_render(rep, FMT(CSV), NULL, &out, err, sizeof err), 0);
    assert_string_equal(out, s_csv_expected);
    free(out);
    assert_int_equal(s_render(rep, FMT(CSV), "", &out, err, sizeof err), 0);
    assert_string_equal(out, s_csv_expected);
    free(out);
}

static void
test_csv_refusals(void **state)
{
    (void) state;
    s_report_t r;
    const report_t *rep = s_report(&r, "de", false);
    char *out = (char *) "not touched";
    char err[256];
    assert_int_equal(s_render(rep, FMT(CSV), "nosuch", &out, err, sizeof err), TH_EINVAL);
    assert_string_equal(err,
                        "this report has no section \"nosuch\"; sections with a table: "
                        "districts");
    assert_int_equal(s_render(rep, FMT(CSV), "trend", &out, err, sizeof err), TH_EINVAL);
    assert_string_equal(err, "section \"trend\" of this report has no table; sections with "
                             "a table: districts");
    assert_int_equal(
        s_render(rep, (Teilhabe__Reporting__V1__Format) 9, NULL, &out, err, sizeof err),
        TH_EINVAL);
    assert_non_null(strstr(err, "9 is not a format"));
    assert_int_equal(s_render(rep, FMT(NONE), NULL, &out, err, sizeof err), TH_EINVAL);
    /* An errbuf of size 0 is never written. */
    err[0] = 'x';
    assert_int_equal(s_render(rep, FMT(CSV), "nosuch", &out, err, 0), TH_EINVAL);
    assert_int_equal(err[0], 'x');
    /* A report without a table at all. */
    r.sections[1].table = NULL;
    assert_int_equal(s_render(rep, FMT(CSV), NULL, &out, err, sizeof err), TH_EINVAL);
    assert_string_equal(err, "this report has no table to write as CSV");
}

static void
test_json(void **state)
{
    (void) state;
    s_report_t r;
    report_t *rep = s_report(&r, "de", true);
    static uint8_t file[] = "<html>...";
    rep->content.data = file;
    rep->content.len = sizeof file - 1;
    char *out = NULL;
    char err[256];
    size_t len = 0;
    const char *media = NULL;
    assert_int_equal(
        report_render(rep, FMT(JSON), NULL, &out, &len, &media, err, sizeof err), 0);
    assert_string_equal(media, "application/json");
    /* The caller's report is as it was. */
    assert_ptr_equal(rep->content.data, file);
    assert_int_equal(rep->content.len, sizeof file - 1);

    json_error_t jerr;
    json_t *j = json_loadb(out, len, 0, &jerr);
    free(out);
    assert_non_null(j);
    assert_null(json_object_get(j, "content"));
    assert_string_equal(json_string_value(json_object_get(j, "kind")), "land_overview");
    assert_string_equal(json_string_value(json_object_get(j, "title")), "Landesübersicht");
    const json_t *st = json_object_get(j, "state");
    assert_string_equal(json_string_value(json_object_get(st, "data_state")),
                        "DATA_STATE_PROVISIONAL");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(st, "open_districts"), 1)),
        "16099");
    assert_true(json_is_true(json_object_get(st, "example_data")));
    const json_t *table =
        json_object_get(json_array_get(json_object_get(j, "sections"), 1), "table");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(table, "columns"), 2), "type")),
                        "VALUE_TYPE_PEOPLE");
    const json_t *row0 = json_array_get(json_object_get(table, "rows"), 0);
    const json_t *cell = json_array_get(json_object_get(row0, "cells"), 4);
    assert_true(json_is_integer(json_object_get(cell, "number"))); /* 64-bit: a number */
    assert_int_equal(json_integer_value(json_object_get(cell, "number")), 123456);
    const json_t *total = json_array_get(json_object_get(table, "rows"), 3);
    assert_string_equal(json_string_value(json_object_get(total, "kind")),
                        "ROW_KIND_TOTAL");
    json_decref(j);
}

static size_t
s_count(const char *haystack, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(haystack, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* The number of subpaths ("M") of the first line drawn after from. */
static size_t
s_subpaths(const char *html, const char *from)
{
    const char *p = strstr(html, from);
    assert_non_null(p);
    p = strstr(p, " d=\"");
    assert_non_null(p);
    size_t n = 0;
    for (p += 4; *p != '"'; p++)
        n += *p == 'M';
    return n;
}

static void
test_html_german(void **state)
{
    (void) state;
    s_report_t r;
    const report_t *rep = s_report(&r, "de", true);
    char *html = NULL;
    char err[256];
    size_t len = 0;
    const char *media = NULL;
    assert_int_equal(
        report_render(rep, FMT(HTML), NULL, &html, &len, &media, err, sizeof err), 0);
    assert_string_equal(media, "text/html; charset=utf-8");
    assert_memory_equal(html, "<!DOCTYPE html>\n<html lang=\"de\">", 31);
    assert_non_null(strstr(html, "<meta charset=\"utf-8\">"));
    assert_non_null(strstr(html, "@page{size:A4;margin:15mm}"));
    assert_non_null(strstr(html, "thead{display:table-header-group}"));
    /* Nothing run, nothing fetched. */
    assert_null(strstr(html, "<script"));
    assert_null(strstr(html, "http"));
    assert_null(strstr(html, "@import"));
    /* The state. */
    assert_non_null(strstr(html, "<dt>Stichtag</dt><dd>15.01.2026</dd>"));
    assert_non_null(strstr(html, "<dt>Zeitraum</dt><dd>2025</dd>"));
    assert_non_null(strstr(html,
                           "<strong>vorläufig</strong> (noch nicht freigegeben: 16067, "
                           "16099)"));
    assert_non_null(strstr(html, "<dd>15.01.2026, 09:30 UTC</dd>"));
    assert_non_null(strstr(html, "teilhabe 0.9.0"));
    assert_non_null(strstr(html, "class=\"banner\" role=\"note\"><strong>Beispieldaten"));
    assert_null(strstr(html, "Illustrative Beträge"));
    /* The table: formatted, total bold, suppressed ".", marks linked. */
    assert_non_null(strstr(html, "<td class=\"num\">1.234</td>"));
    assert_non_null(strstr(html, "<td class=\"num\">12,5 %</td>"));
    assert_non_null(strstr(html, "<td class=\"num\">1.234,56 €</td>"));
    assert_non_null(strstr(html, "<td class=\"date\">31.12.2024</td>"));
    assert_non_null(strstr(html,
                           "<td class=\"num\">.<sup><a href=\"#note-suppressed\">.</a>"
                           "</sup></td>"));
    assert_non_null(
        strstr(html, "<td>16067<sup><a href=\"#note-example\">B</a></sup></td>"));
    assert_non_null(strstr(html, "<tr class=\"total\">"));
    assert_non_null(strstr(html, "<li id=\"note-example\"><span class=\"sym\">B</span> "
                                 "Beispieldaten: erfunden.</li>"));
    /* Escaped where it shows. */
    assert_null(strstr(html, "<b>"));
    assert_non_null(strstr(html, "&lt;b&gt;Neu&lt;/b&gt;"));
    assert_non_null(strstr(html, "Gotha, &quot;Land&quot;"));
    assert_non_null(strstr(html, "<p>Erster Absatz.</p>\n<p>Zweiter Absatz.</p>"));
    /* Two charts, accessible; Gotha's bar is absent (two bars and the
     * legend's swatch), Erfurt's line has a gap (two subpaths). */
    assert_int_equal(s_count(html, "<svg "), 2);
    assert_int_equal(s_count(html, "role=\"img\""), 2);
    assert_non_null(strstr(html, "aria-label=\"Teilnahmen je Kreis\""));
    assert_non_null(strstr(html, "<title id=\"c1-t\">Teilnahmen je Kreis</title>"));
    assert_int_equal(s_count(html, "fill=\"url(#c1-p0)\""), 3);
    assert_non_null(strstr(html, ">20 %</text>")); /* an axis tick in German */
    assert_int_equal(s_subpaths(html, "<path fill=\"none\" stroke=\"#0072B2\""), 1);
    assert_int_equal(s_subpaths(html, "<path fill=\"none\" stroke=\"#E69F00\""), 2);
    assert_non_null(strstr(html, "stroke-dasharray=\"7 4\""));
    free(html);
}

static void
test_html_english_without_example(void **state)
{
    (void) state;
    s_report_t r;
    report_t *rep = s_report(&r, "en", false);
    r.state.illustrative = true;
    r.state.data_state = TEILHABE__REPORTING__V1__DATA_STATE__DATA_STATE_FINAL;
    char *html = NULL;
    char err[256];
    assert_int_equal(s_render(rep, FMT(HTML), NULL, &html, err, sizeof err), 0);
    assert_non_null(strstr(html, "<html lang=\"en\">"));
    assert_non_null(strstr(html, "<dt>As of</dt><dd>15 Jan 2026</dd>"));
    assert_non_null(
        strstr(html, "<dt>Data state</dt><dd>final: every period approved</dd>"));
    assert_non_null(strstr(html, "<dd>15 Jan 2026, 09:30 UTC</dd>"));
    assert_non_null(strstr(html, "<td class=\"num\">€1,234.56</td>"));
    assert_non_null(strstr(html, "<strong>Illustrative amounts</strong>"));
    assert_null(strstr(html, "Beispieldaten"));
    assert_null(strstr(html, "Example data"));
    assert_null(strstr(html, "class=\"banner\" role=\"note\"><strong>Example"));
    assert_non_null(strstr(html, ">20%</text>"));
    /* A mark without a note shows its id, links nowhere. */
    assert_non_null(strstr(html, "<td>16067<sup>example</sup></td>"));
    free(html);

    /* An unknown language is German. */
    r.state.lang = "";
    assert_int_equal(s_render(rep, FMT(HTML), NULL, &html, err, sizeof err), 0);
    assert_non_null(strstr(html, "<html lang=\"de\">"));
    free(html);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_bytes),
        cmocka_unit_test(test_csv_refusals),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_html_german),
        cmocka_unit_test(test_html_english_without_example),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
