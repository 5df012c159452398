/* ---------------------------------------------------------------------------
 * render.c: a report as a file (render.h, report_render): the choice of
 * format, CSV and JSON here; the HTML page in render_html.c with its
 * charts from render_svg.c.
 *
 * Every format is written to a memory stream (open_memstream): the
 * renderers only print, and the one place that can run out of memory is
 * the stream, checked once at its end.
 * ---------------------------------------------------------------------------
 */
#include "render.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render_int.h"
#include "th_error.h"
#include "th_format.h"

#define VT(name) TEILHABE__REPORTING__V1__VALUE_TYPE__VALUE_TYPE_##name
#define FMT(name) TEILHABE__REPORTING__V1__FORMAT__FORMAT_##name

#define S_MEDIA_HTML "text/html; charset=utf-8"
#define S_MEDIA_CSV "text/csv; charset=utf-8"
#define S_MEDIA_JSON "application/json"

static void s_error(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
s_error(char *errbuf, size_t errlen, const char *fmt, ...)
{
    if (errbuf == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
}

/* --- CSV ---------------------------------------------------------------------- */

/* The ids of the sections that have a table, ", "-separated, into list. */
static void
s_table_ids(const report_t *report, char *list, size_t size)
{
    size_t used = 0;
    list[0] = '\0';
    for (size_t s = 0; s < report->n_sections && used < size; s++) {
        if (report->sections[s]->table == NULL)
            continue;
        const int n = snprintf(list + used, size - used, "%s%s", used > 0 ? ", " : "",
                               report->sections[s]->id);
        if (n < 0)
            break;
        used += (size_t) n;
    }
    if (list[0] == '\0')
        snprintf(list, size, "none");
}

/* The table CSV writes: the section with id section, or the first with a
 * table when section is NULL or "". NULL with errbuf saying why. */
static const report_table_t *
s_csv_table(const report_t *report, const char *section, char *errbuf, size_t errlen)
{
    char ids[512];
    s_table_ids(report, ids, sizeof ids);
    const bool first = section == NULL || section[0] == '\0';
    for (size_t s = 0; s < report->n_sections; s++) {
        const Teilhabe__Reporting__V1__Section *sec = report->sections[s];
        if (first && sec->table != NULL)
            return sec->table;
        if (!first && strcmp(sec->id, section) == 0) {
            if (sec->table == NULL)
                s_error(errbuf, errlen,
                        "section \"%s\" of this report has no table; sections with a "
                        "table: %s",
                        section, ids);
            return sec->table;
        }
    }
    if (first)
        s_error(errbuf, errlen, "this report has no table to write as CSV");
    else
        s_error(errbuf, errlen,
                "this report has no section \"%s\"; sections with a table: %s", section,
                ids);
    return NULL;
}

/* One cell as a machine reads it: numbers plain, dates ISO, "." when
 * suppressed, "" when empty. */
static void
s_csv_cell(FILE *out, const report_cell_t *cell, const Teilhabe__Reporting__V1__Column *col)
{
    if (cell == NULL || (cell->empty && !cell->suppressed))
        return;
    if (cell->suppressed) {
        fputc('.', out);
        return;
    }
    if (col->type == VT(TEXT) || col->type == VT(DATE)) {
        th_format_csv_field(out, cell->text != NULL ? cell->text : "");
        return;
    }
    char number[64];
    report__format_plain(cell->number, col->type, col->decimals, number, sizeof number);
    fputs(number, out);
}

static void
s_csv(const report_table_t *t, FILE *out)
{
    for (size_t c = 0; c < t->n_columns; c++) {
        if (c > 0)
            fputc(',', out);
        th_format_csv_field(out, t->columns[c]->label);
    }
    fputs("\r\n", out);
    for (size_t i = 0; i < t->n_rows; i++) {
        const Teilhabe__Reporting__V1__Row *row = t->rows[i];
        for (size_t c = 0; c < t->n_columns; c++) {
            if (c > 0)
                fputc(',', out);
            s_csv_cell(out, c < row->n_cells ? row->cells[c] : NULL, t->columns[c]);
        }
        fputs("\r\n", out);
    }
}

/* --- JSON --------------------------------------------------------------------- */

/* The report without its content (the file is this text itself), as
 * th_format_message_json maps every message of teilhabe. */
static int
s_json(const report_t *report, char **out, size_t *len)
{
    /* A shallow copy: the caller's report stays as it is. */
    report_t copy = *report;
    copy.content.data = NULL;
    copy.content.len = 0;
    if (copy.media_type == NULL || copy.media_type[0] == '\0')
        copy.media_type = (char *) S_MEDIA_JSON;
    json_t *json = th_format_message_json(&copy.base);
    if (json == NULL)
        return TH_ENOMEM;
    json_object_del(json, "content");
    char *text = json_dumps(json, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(json);
    if (text == NULL)
        return TH_ENOMEM;
    *out = text;
    *len = strlen(text);
    return 0;
}

/* --- the format --------------------------------------------------------------- */

int
report_render(const report_t *report, Teilhabe__Reporting__V1__Format format,
              const char *section, char **out, size_t *len, const char **media_type,
              char *errbuf, size_t errlen)
{
    *out = NULL;
    *len = 0;
    *media_type = NULL;
    s_error(errbuf, errlen, "%s", "");
    if (format == FMT(JSON)) {
        const int rc = s_json(report, out, len);
        if (rc != 0) {
            s_error(errbuf, errlen, "out of memory writing the report as JSON");
            return rc;
        }
        *media_type = S_MEDIA_JSON;
        return 0;
    }
    const report_table_t *table = NULL;
    if (format == FMT(CSV)) {
        table = s_csv_table(report, section, errbuf, errlen);
        if (table == NULL)
            return TH_EINVAL;
    } else if (format != FMT(HTML)) {
        s_error(errbuf, errlen,
                "%d is not a format of a file: FORMAT_HTML (1), FORMAT_CSV (2) or "
                "FORMAT_JSON (3)",
                (int) format);
        return TH_EINVAL;
    }

    char *buf = NULL;
    size_t size = 0;
    FILE *stream = open_memstream(&buf, &size);
    if (stream == NULL) {
        s_error(errbuf, errlen, "out of memory writing the report");
        return TH_ENOMEM;
    }
    if (table != NULL)
        s_csv(table, stream);
    else
        report__render_html(report, stream);
    const bool failed = ferror(stream) != 0;
    /* fclose writes the last of it and sets buf and size either way. */
    if (fclose(stream) != 0 || failed) {
        free(buf);
        s_error(errbuf, errlen, "out of memory writing the report");
        return TH_ENOMEM;
    }
    *out = buf;
    *len = size;
    *media_type = table != NULL ? S_MEDIA_CSV : S_MEDIA_HTML;
    return 0;
}
