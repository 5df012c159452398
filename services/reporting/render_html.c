/* ---------------------------------------------------------------------------
 * render_html.c: a report as one self-contained HTML page (render.h):
 * inline CSS, inline SVG charts (render_svg.c), no script and nothing the
 * browser would fetch, so the file reads the same offline, archived, and
 * printed on A4 years later.
 *
 * Every text of the report is escaped where it is written: names come
 * from districts and people, not from us.
 * ---------------------------------------------------------------------------
 */
#include "render_int.h"

#include <string.h>

#define VT(name) TEILHABE__REPORTING__V1__VALUE_TYPE__VALUE_TYPE_##name
#define DS(name) TEILHABE__REPORTING__V1__DATA_STATE__DATA_STATE_##name

typedef Teilhabe__Reporting__V1__Column report_column_t;

/* The page's own words, in both languages. */
typedef struct {
    const char *lang;
    const char *as_of, *period, *data_state, *generated, *version;
    const char *final, *provisional, *open, *not_periodic;
    const char *notes;
    const char *example_title, *example_text;
    const char *illustrative_title, *illustrative_text;
} s_words_t;

static const s_words_t s_de = {
    .lang = "de",
    .as_of = "Stichtag",
    .period = "Zeitraum",
    .data_state = "Datenstand",
    .generated = "erstellt",
    .version = "Version",
    .final = "endgültig: alle Zeiträume freigegeben",
    .provisional = "vorläufig",
    .open = "noch nicht freigegeben",
    .not_periodic = "ohne Zeitraum (Stand am Stichtag)",
    .notes = "Anmerkungen",
    .example_title = "Beispieldaten",
    .example_text = "Dieser Bericht enthält erfundene Daten des Beispielszenarios, keine "
                    "amtlichen Angaben. Betroffene Zeilen und Werte sind gekennzeichnet.",
    .illustrative_title = "Illustrative Beträge",
    .illustrative_text = "Einige Beträge sind aus Parametern berechnet, deren Quelle nicht "
                         "bestätigt ist; sie sind keine zugesagten Beträge.",
};

static const s_words_t s_en = {
    .lang = "en",
    .as_of = "As of",
    .period = "Period",
    .data_state = "Data state",
    .generated = "generated",
    .version = "Version",
    .final = "final: every period approved",
    .provisional = "provisional",
    .open = "not yet approved",
    .not_periodic = "no period (as on the as-of date)",
    .notes = "Notes",
    .example_title = "Example data",
    .example_text =
        "This report contains made-up data of the example scenario, not official "
        "figures. The rows and values concerned are marked.",
    .illustrative_title = "Illustrative amounts",
    .illustrative_text = "Some amounts are computed from parameters whose source is not "
                         "confirmed; they are not committed amounts.",
};

/* Screen first, A4 when printed: tables shrink and wrap rather than run
 * off the page, their heads repeat on each page, charts never split. */
static const char s_css[] =
    "@page{size:A4;margin:15mm}"
    "html{-webkit-print-color-adjust:exact;print-color-adjust:exact}"
    "body{font-family:system-ui,\"Segoe UI\",\"Helvetica Neue\",Arial,sans-serif;"
    "color:#111;background:#fff;line-height:1.4;margin:0 auto;max-width:72rem;padding:1rem}"
    "h1{font-size:1.6rem;margin:0 0 .2rem}"
    "h2{font-size:1.2rem;margin:1.6rem 0 .4rem;break-after:avoid;page-break-after:avoid}"
    ".subtitle{font-size:1.1rem;margin:0 0 .8rem}"
    "dl.state{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem;"
    "margin:0 0 1rem;font-size:.9rem}"
    "dl.state dt{font-weight:bold}dl.state dd{margin:0}"
    ".banner{border:2px solid #111;background:#eee;padding:.5rem .75rem;margin:.5rem 0}"
    ".wrap{overflow-x:auto}"
    "table{border-collapse:collapse;width:100%;font-size:.8rem;margin:.4rem 0 1rem}"
    /* break-word, not anywhere: a name keeps its width and wraps at spaces;
     * column heads wrap, hyphenate (lang) or break anywhere, so that a
     * long head ("Integrationsmanager") does not widen a column of numbers */
    "th,td{border-bottom:1px solid #bbb;padding:.2rem .35rem;text-align:left;"
    "vertical-align:top;overflow-wrap:break-word}"
    "thead th{border-bottom:2px solid #333;vertical-align:bottom;hyphens:auto;"
    "-webkit-hyphens:auto;overflow-wrap:anywhere}"
    "thead th.num{white-space:normal}"
    ".num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}"
    ".date{white-space:nowrap}"
    "tr.total td{font-weight:bold;border-top:2px solid #333}"
    "sup a{text-decoration:none;color:inherit}"
    "figure.chart{margin:.5rem 0 1.2rem;break-inside:avoid;page-break-inside:avoid}"
    "figure.chart svg{display:block;width:100%;height:auto}"
    "figcaption{font-size:.85rem}"
    "ol.notes{list-style:none;padding:0;font-size:.85rem}"
    "ol.notes li{margin:.2rem 0}ol.notes .sym{display:inline-block;min-width:1.5em;"
    "font-weight:bold}"
    "@media print{body{max-width:none;padding:0;font-size:9.5pt}.wrap{overflow:visible}"
    "table{font-size:8.5pt}thead{display:table-header-group}"
    "tr{break-inside:avoid;page-break-inside:avoid}}";

void
report__html_escape(FILE *out, const char *s)
{
    for (const char *p = s != NULL ? s : ""; *p != '\0'; p++) {
        switch (*p) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&#39;", out); break;
        default: fputc(*p, out);
        }
    }
}

static const Teilhabe__Reporting__V1__Note *
s_note(const report_t *report, const char *id)
{
    for (size_t i = 0; i < report->n_notes; i++)
        if (strcmp(report->notes[i]->id, id) == 0)
            return report->notes[i];
    return NULL;
}

/* Marks as superscript symbols, each a link to its footnote; a mark with
 * no note shows its id, without a link to nowhere. */
static void
s_marks(FILE *out, const report_t *report, char *const *marks, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const Teilhabe__Reporting__V1__Note *note = s_note(report, marks[i]);
        fputs("<sup>", out);
        if (note != NULL) {
            fputs("<a href=\"#note-", out);
            report__html_escape(out, note->id);
            fputs("\">", out);
            report__html_escape(out, note->symbol);
            fputs("</a>", out);
        } else {
            report__html_escape(out, marks[i]);
        }
        fputs("</sup>", out);
    }
}

/* Text with its paragraphs (blank lines) and line breaks. */
static void
s_paragraphs(FILE *out, const char *text)
{
    if (text == NULL || text[0] == '\0')
        return;
    fputs("<p>", out);
    for (const char *p = text; *p != '\0'; p++) {
        if (p[0] == '\n' && p[1] == '\n') {
            fputs("</p>\n<p>", out);
            while (p[1] == '\n')
                p++;
        } else if (*p == '\n') {
            fputs("<br>", out);
        } else {
            char one[2] = {*p, '\0'};
            report__html_escape(out, one);
        }
    }
    fputs("</p>\n", out);
}

/* "2026-01-15T09:30:00Z" as "15.01.2026, 09:30 UTC" / "15 Jan 2026,
 * 09:30 UTC"; anything else as it is. */
static void
s_generated_at(FILE *out, const char *at, const char *lang)
{
    const size_t len = at != NULL ? strlen(at) : 0;
    char date[11];
    if (len >= 16 && at[10] == 'T' && at[13] == ':') {
        memcpy(date, at, 10);
        date[10] = '\0';
        char shown[32];
        report_format_date(date, lang, shown, sizeof shown);
        report__html_escape(out, shown);
        fprintf(out, ", %.5s UTC", at + 11);
        return;
    }
    report__html_escape(out, at);
}

static void
s_state(FILE *out, const report_t *report, const s_words_t *w)
{
    const Teilhabe__Reporting__V1__ReportState *st = report->state;
    if (st == NULL)
        return;
    char date[64];
    fputs("<dl class=\"state\">\n", out);
    if (st->as_of[0] != '\0') {
        report_format_date(st->as_of, w->lang, date, sizeof date);
        fprintf(out, "<dt>%s</dt><dd>", w->as_of);
        report__html_escape(out, date);
        fputs("</dd>\n", out);
    }
    if (st->period_from[0] != '\0' || st->period_to[0] != '\0') {
        fprintf(out, "<dt>%s</dt><dd>", w->period);
        report__html_escape(out, st->period_from);
        if (st->period_to[0] != '\0' && strcmp(st->period_to, st->period_from) != 0) {
            fputs(st->period_from[0] != '\0' ? " \xe2\x80\x93 " : "", out);
            report__html_escape(out, st->period_to);
        }
        fputs("</dd>\n", out);
    }
    if (st->data_state != DS(UNSPECIFIED)) {
        fprintf(out, "<dt>%s</dt><dd>", w->data_state);
        if (st->data_state == DS(FINAL))
            fputs(w->final, out);
        else if (st->data_state == DS(NOT_PERIODIC))
            fputs(w->not_periodic, out);
        else {
            fprintf(out, "<strong>%s</strong>", w->provisional);
            if (st->n_open_districts > 0)
                fprintf(out, " (%s: ", w->open);
            for (size_t i = 0; i < st->n_open_districts; i++) {
                fputs(i > 0 ? ", " : "", out);
                report__html_escape(out, st->open_districts[i]);
            }
            fputs(st->n_open_districts > 0 ? ")" : "", out);
        }
        fputs("</dd>\n", out);
    }
    if (st->generated_at[0] != '\0') {
        fprintf(out, "<dt>%s</dt><dd>", w->generated);
        s_generated_at(out, st->generated_at, w->lang);
        fputs("</dd>\n", out);
    }
    if (st->version[0] != '\0') {
        fprintf(out, "<dt>%s</dt><dd>teilhabe ", w->version);
        report__html_escape(out, st->version);
        fputs("</dd>\n", out);
    }
    fputs("</dl>\n", out);
}

static void
s_banner(FILE *out, const report_t *report, const char *note_id, const char *title,
         const char *text)
{
    fprintf(out, "<p class=\"banner\" role=\"note\"><strong>%s</strong> \xe2\x80\x93 %s",
            title, text);
    const Teilhabe__Reporting__V1__Note *note = s_note(report, note_id);
    if (note != NULL) {
        fputs(" (<a href=\"#note-", out);
        report__html_escape(out, note->id);
        fputs("\">", out);
        report__html_escape(out, note->symbol);
        fputs("</a>)", out);
    }
    fputs("</p>\n", out);
}

static const char *
s_cell_class(const report_column_t *col)
{
    if (col->type == VT(TEXT))
        return "";
    return col->type == VT(DATE) ? " class=\"date\"" : " class=\"num\"";
}

static void
s_table(FILE *out, const report_t *report, const report_table_t *t, const char *lang)
{
    fputs("<div class=\"wrap\"><table>\n<thead><tr>", out);
    for (size_t c = 0; c < t->n_columns; c++) {
        fprintf(out, "<th scope=\"col\"%s>", s_cell_class(t->columns[c]));
        report__html_escape(out, t->columns[c]->label);
        fputs("</th>", out);
    }
    fputs("</tr></thead>\n<tbody>\n", out);
    for (size_t i = 0; i < t->n_rows; i++) {
        const Teilhabe__Reporting__V1__Row *row = t->rows[i];
        const bool total = row->kind == TEILHABE__REPORTING__V1__ROW_KIND__ROW_KIND_TOTAL;
        fputs(total ? "<tr class=\"total\">" : "<tr>", out);
        for (size_t c = 0; c < t->n_columns; c++) {
            const report_cell_t *cell = c < row->n_cells ? row->cells[c] : NULL;
            fprintf(out, "<td%s>", s_cell_class(t->columns[c]));
            if (cell != NULL) {
                char text[256];
                const size_t need =
                    report_format_cell(cell, t->columns[c], lang, text, sizeof text);
                if (need < sizeof text) {
                    report__html_escape(out, text);
                } else {
                    /* A long text: formatting a TEXT cell is copying it. */
                    report__html_escape(out, cell->text);
                }
                s_marks(out, report, cell->marks, cell->n_marks);
            }
            if (c == 0)
                s_marks(out, report, row->marks, row->n_marks);
            fputs("</td>", out);
        }
        fputs("</tr>\n", out);
    }
    fputs("</tbody>\n</table></div>\n", out);
}

static void
s_section(FILE *out, const report_t *report, size_t index, const char *lang)
{
    const Teilhabe__Reporting__V1__Section *s = report->sections[index];
    fputs("<section id=\"section-", out);
    report__html_escape(out, s->id);
    fputs("\">\n<h2>", out);
    report__html_escape(out, s->title);
    fputs("</h2>\n", out);
    s_paragraphs(out, s->text);
    if (s->table != NULL)
        s_table(out, report, s->table, lang);
    const Teilhabe__Reporting__V1__Chart *chart = s->chart;
    if (chart != NULL && chart->n_categories > 0 && chart->n_series > 0) {
        fputs("<figure class=\"chart\">\n", out);
        report__svg_chart(out, chart, lang, index);
        fputs("<figcaption><strong>", out);
        report__html_escape(out, chart->title);
        fputs("</strong>", out);
        if (chart->caption[0] != '\0') {
            fputs(" \xe2\x80\x93 ", out);
            report__html_escape(out, chart->caption);
        }
        fputs("</figcaption>\n</figure>\n", out);
    }
    fputs("</section>\n", out);
}

void
report__render_html(const report_t *report, FILE *out)
{
    const char *lang = report->state != NULL ? report->state->lang : "de";
    const s_words_t *w = report__lang_en(lang) ? &s_en : &s_de;
    fprintf(out,
            "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            "<title>",
            w->lang);
    report__html_escape(out, report->title);
    if (report->subtitle[0] != '\0') {
        fputs(" \xe2\x80\x93 ", out);
        report__html_escape(out, report->subtitle);
    }
    fprintf(out, "</title>\n<style>%s</style>\n</head>\n<body>\n<header>\n<h1>", s_css);
    report__html_escape(out, report->title);
    fputs("</h1>\n", out);
    if (report->subtitle[0] != '\0') {
        fputs("<p class=\"subtitle\">", out);
        report__html_escape(out, report->subtitle);
        fputs("</p>\n", out);
    }
    s_state(out, report, w);
    if (report->state != NULL && report->state->example_data)
        s_banner(out, report, "example", w->example_title, w->example_text);
    if (report->state != NULL && report->state->illustrative)
        s_banner(out, report, "illustrative", w->illustrative_title, w->illustrative_text);
    fputs("</header>\n<main>\n", out);
    for (size_t i = 0; i < report->n_sections; i++)
        s_section(out, report, i, w->lang);
    fputs("</main>\n", out);
    if (report->n_notes > 0) {
        fprintf(out, "<footer>\n<h2>%s</h2>\n<ol class=\"notes\">\n", w->notes);
        for (size_t i = 0; i < report->n_notes; i++) {
            const Teilhabe__Reporting__V1__Note *note = report->notes[i];
            fputs("<li id=\"note-", out);
            report__html_escape(out, note->id);
            fputs("\"><span class=\"sym\">", out);
            report__html_escape(out, note->symbol);
            fputs("</span> ", out);
            report__html_escape(out, note->text);
            fputs("</li>\n", out);
        }
        fputs("</ol>\n</footer>\n", out);
    }
    fputs("</body>\n</html>\n", out);
}
