/* ---------------------------------------------------------------------------
 * import_read.c: a CSV file of indicator values into checked COPY text and
 * a list of rejected lines (see import.h)
 *
 * libcsv is fed one physical line at a time, as th_csv.c does, so the
 * reader knows which line a record begins on, even after blank lines and
 * quoted line breaks. Unlike th_csv (made for reference files, where the
 * first fault ends the reading) a fault here costs only its own line: the
 * parser is started afresh on the next one, and the report lists them all.
 * ---------------------------------------------------------------------------
 */
#include "import.h"

#include <csv.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "th_check.h"
#include "th_enum.h"
#include "th_error.h"
#include "th_wire.h"

#define S_COLUMNS 8
static const char *const s_header[S_COLUMNS] = {
    "ags", "indicator_code", "period", "disaggregation",
    "numerator", "denominator", "source", "note"};
#define S_HEADER_TEXT "ags,indicator_code,period,disaggregation,numerator,denominator,source,note"

/* The record being read: its fields' bytes one after the other, each
 * NUL-terminated, and where each begins. */
typedef struct {
    measures_import_t *imp;
    char *buf;
    size_t len, cap;
    size_t start[S_COLUMNS];
    size_t n_fields;    /* counted also beyond S_COLUMNS */
    int line;           /* the line being fed */
    int record_line;    /* the line the record began on; 0 = none yet */
    size_t record_bytes;
    int bad_line;       /* a line of the record that is not UTF-8; 0 = none */
    const char *bad_why;
    bool header_done;
    bool stop;          /* no more lines are read (bad header, too many lines) */
    bool nomem;
} s_reader_t;

/* Appends len bytes to the growing buffer *buf. false when out of memory. */
static bool
s_append(char **buf, size_t *len, size_t *cap, const char *data, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t cap2 = *cap != 0 ? *cap : 4096;
        while (*len + n + 1 > cap2)
            cap2 *= 2;
        char *b = realloc(*buf, cap2);
        if (b == NULL)
            return false;
        *buf = b;
        *cap = cap2;
    }
    memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[*len] = '\0';
    return true;
}

static void
s_reject(s_reader_t *r, int line, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
s_reject(s_reader_t *r, int line, const char *field, const char *fmt, ...)
{
    measures_import_t *imp = r->imp;
    imp->rejected++;
    if (imp->n_rejections >= MEASURES_IMPORT_REJECTIONS_MAX)
        return;
    char why[700];
    va_list args;
    va_start(args, fmt);
    vsnprintf(why, sizeof why, fmt, args);
    va_end(args);
    /* A reason may quote a cut piece of the line: keep it valid UTF-8. */
    th_wire_utf8_repair(why);
    measures_rejection_t *rej = th_call_alloc(imp->call, sizeof *rej);
    teilhabe__measures__v1__import_rejection__init(rej);
    rej->line = line;
    rej->field = (char *) field;
    rej->reason = th_call_strdup(imp->call, why);
    imp->rejections[imp->n_rejections++] = rej;
}

/* COPY text of s: backslash, tab, newline and carriage return escaped. */
static bool
s_copy_text(measures_import_t *imp, const char *s, char end)
{
    char tmp[2];
    for (const char *p = s; *p != '\0';) {
        const size_t plain = strcspn(p, "\\\t\n\r");
        if (plain > 0 && !s_append(&imp->copy, &imp->copy_len, &imp->copy_cap, p, plain))
            return false;
        p += plain;
        if (*p == '\0')
            break;
        tmp[0] = '\\';
        tmp[1] = *p == '\\' ? '\\' : *p == '\t' ? 't' : *p == '\n' ? 'n' : 'r';
        if (!s_append(&imp->copy, &imp->copy_len, &imp->copy_cap, tmp, 2))
            return false;
        p++;
    }
    return s_append(&imp->copy, &imp->copy_len, &imp->copy_cap, &end, 1);
}

/* A count of the file: "" is 0 when empty_is_zero; a leading minus is
 * read, so the shared check says what is wrong with a negative count. */
static bool
s_number(const char *s, bool empty_is_zero, int64_t *out)
{
    if (s[0] == '\0' && empty_is_zero) {
        *out = 0;
        return true;
    }
    const bool negative = s[0] == '-';
    int64_t v;
    if (!th_check_count(s + negative, 18, &v))
        return false;
    *out = negative ? -v : v;
    return true;
}

static const indicator_t *
s_indicator(const measures_import_t *imp, const char *code)
{
    for (size_t i = 0; i < imp->n_indicators; i++)
        if (strcmp(imp->indicators[i]->code, code) == 0)
            return imp->indicators[i];
    return NULL;
}

/* One data record, checked; when it passes, its COPY line. */
static void
s_data_record(s_reader_t *r, int line)
{
    measures_import_t *imp = r->imp;
    char *f[S_COLUMNS];
    for (size_t i = 0; i < S_COLUMNS; i++)
        f[i] = r->buf + r->start[i];
    value_t v = TEILHABE__MEASURES__V1__INDICATOR_VALUE__INIT;
    v.ags = f[0];
    v.indicator_code = f[1];
    v.period = f[2];
    v.source = f[6];
    v.note = f[7];
    const ProtobufCEnumDescriptor *dis = &teilhabe__measures__v1__disaggregation__descriptor;
    /* The short words of the command line too (total, with, without). */
    const char *token = strcmp(f[3], "with") == 0      ? "with_migration_history"
                        : strcmp(f[3], "without") == 0 ? "without_migration_history"
                                                       : f[3];
    if (f[3][0] == '\0') {
        s_reject(r, line, "disaggregation",
                 "is required: total, with_migration_history or without_migration_history");
        return;
    }
    const int d = th_enum_from_token(dis, token);
    if (d == 0) {
        s_reject(r, line, "disaggregation",
                 "\"%.32s\" is not a disaggregation: total, with_migration_history or "
                 "without_migration_history",
                 f[3]);
        return;
    }
    v.disaggregation = d;
    if (!s_number(f[4], false, &v.numerator)) {
        s_reject(r, line, "numerator", "\"%.32s\" is not a whole number of 1 to 18 digits",
                 f[4]);
        return;
    }
    if (!s_number(f[5], true, &v.denominator)) {
        s_reject(r, line, "denominator",
                 "\"%.32s\" is not a whole number of 1 to 18 digits (empty: 0, a plain count)",
                 f[5]);
        return;
    }
    const char *field;
    char why[600], first[TH_DATE_LEN + 1], last[TH_DATE_LEN + 1];
    if (measures_value_problem(&v, &field, why, sizeof why, first, last) != NULL) {
        s_reject(r, line, field, "%s", why);
        return;
    }
    const indicator_t *ind = s_indicator(imp, v.indicator_code);
    if (ind == NULL) {
        s_reject(r, line, "indicator_code",
                 "no indicator has the code \"%s\"; ListIndicators shows the catalogue",
                 v.indicator_code);
        return;
    }
    if (measures_value_against(&v, ind, &field, why, sizeof why) != NULL) {
        s_reject(r, line, field, "%s", why);
        return;
    }
    char dtoken[TH_ENUM_TEXT_SIZE];
    th_enum_token(dis, d, dtoken, sizeof dtoken);
    char key[96];
    snprintf(key, sizeof key, "%s|%s|%s|%s", v.ags, v.indicator_code, v.period, dtoken);
    const void *seen = zhashx_lookup(imp->keys, key);
    if (seen != NULL) {
        s_reject(r, line, "",
                 "gives district %s, indicator %s, period %s, %s a second time (first on "
                 "line %d)",
                 v.ags, v.indicator_code, v.period, dtoken, (int) (intptr_t) seen);
        return;
    }
    zhashx_insert(imp->keys, key, (void *) (intptr_t) line);
    measures_import_district_t *dist = zhashx_lookup(imp->districts, v.ags);
    if (dist == NULL) {
        dist = calloc(1, sizeof *dist);
        if (dist == NULL) {
            r->nomem = true;
            return;
        }
        snprintf(dist->ags, sizeof dist->ags, "%s", v.ags);
        dist->first_line = line;
        zhashx_insert(imp->districts, v.ags, dist);
    }
    dist->lines++;
    if (strcmp(last, dist->latest) > 0)
        snprintf(dist->latest, sizeof dist->latest, "%s", last);
    char head[256];
    const int n = snprintf(head, sizeof head,
                           "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%" PRId64 "\t%" PRId64 "\t",
                           imp->import_id, line, v.ags, v.indicator_code, v.period, dtoken,
                           first, last, v.numerator, v.denominator);
    if (n < 0 || (size_t) n >= sizeof head ||
        !s_append(&imp->copy, &imp->copy_len, &imp->copy_cap, head, (size_t) n) ||
        !s_copy_text(imp, v.source, '\t') || !s_copy_text(imp, v.note, '\n'))
        r->nomem = true;
}

static void
s_on_field(void *data, size_t len, void *ctx)
{
    s_reader_t *r = ctx;
    if (r->record_line == 0)
        r->record_line = r->line;
    if (r->n_fields < S_COLUMNS) {
        r->start[r->n_fields] = r->len;
        if (!s_append(&r->buf, &r->len, &r->cap, data, len) ||
            !s_append(&r->buf, &r->len, &r->cap, "", 1))
            r->nomem = true;
    }
    r->n_fields++;
}

static void
s_end_record(s_reader_t *r)
{
    r->len = 0;
    r->n_fields = 0;
    r->record_line = 0;
    r->record_bytes = 0;
    r->bad_line = 0;
}

static void
s_on_row(int terminator, void *ctx)
{
    (void) terminator;
    s_reader_t *r = ctx;
    measures_import_t *imp = r->imp;
    const int line = r->record_line != 0 ? r->record_line : r->line;
    if (r->stop || r->nomem) {
        s_end_record(r);
        return;
    }
    if (!r->header_done) {
        r->header_done = true;
        bool same = r->n_fields == S_COLUMNS && r->bad_line == 0;
        for (size_t i = 0; same && i < S_COLUMNS; i++)
            same = strcmp(r->buf + r->start[i], s_header[i]) == 0;
        if (!same) {
            s_reject(r, line, "",
                     "the first line must be the header " S_HEADER_TEXT
                     " (comma-separated, in this order); the lines after it were not read");
            r->stop = true;
        }
        s_end_record(r);
        return;
    }
    imp->lines++;
    if (imp->lines > MEASURES_IMPORT_LINES_MAX) {
        imp->lines--;
        s_reject(r, line, "",
                 "the file has more than %d lines of values; split it (this line and those "
                 "after it were not read)",
                 MEASURES_IMPORT_LINES_MAX);
        r->stop = true;
    } else if (r->bad_line != 0) {
        s_reject(r, r->bad_line, "", "%s", r->bad_why);
    } else if (r->n_fields != S_COLUMNS) {
        s_reject(r, line, "",
                 "has %zu fields, not the %d of the header " S_HEADER_TEXT
                 " (a comma in a text must be in double quotes)",
                 r->n_fields, S_COLUMNS);
    } else {
        s_data_record(r, line);
    }
    s_end_record(r);
}

static void
s_free_district(void **item)
{
    free(*item);
    *item = NULL;
}

/* Starts the parser afresh after a fault. */
static bool
s_restart(struct csv_parser *parser)
{
    csv_free(parser);
    if (csv_init(parser, CSV_STRICT | CSV_STRICT_FINI) != 0)
        return false;
    csv_set_delim(parser, ',');
    return true;
}

int
measures_import_read(measures_import_t *imp, const char *text, size_t len)
{
    imp->lines = imp->rejected = 0;
    imp->n_rejections = 0;
    imp->copy = NULL;
    imp->copy_len = imp->copy_cap = 0;
    imp->rejections =
        th_call_alloc(imp->call, MEASURES_IMPORT_REJECTIONS_MAX * sizeof *imp->rejections);
    imp->districts = zhashx_new();
    imp->keys = zhashx_new();
    if (imp->districts == NULL || imp->keys == NULL)
        return TH_ENOMEM;
    zhashx_set_destructor(imp->districts, s_free_district);
    s_reader_t r = {.imp = imp, .line = 1};
    struct csv_parser parser;
    if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI) != 0)
        return TH_ENOMEM;
    csv_set_delim(&parser, ',');
    size_t pos = 0;
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
        pos = 3; /* a byte-order mark some editors write */
    bool ok = true;
    while (pos < len && !r.stop && !r.nomem && ok) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        const size_t n = nl != NULL ? (size_t) (nl - (text + pos)) + 1 : len - pos;
        const bool blank = n == 1 || (n == 2 && text[pos] == '\r');
        if (r.record_line == 0)
            r.record_bytes = 0;
        if (r.record_line == 0 && !blank)
            r.record_line = r.line;
        /* The encoding, line by line, so the fault names its line; the
         * record goes on to the parser anyway, to find where it ends. */
        if (r.bad_line == 0 && memchr(text + pos, '\0', n) != NULL) {
            r.bad_line = r.line;
            r.bad_why = "contains a NUL byte (is this a text file?)";
        } else if (r.bad_line == 0 && !th_wire_utf8_valid(text + pos, n)) {
            r.bad_line = r.line;
            r.bad_why = "is not valid UTF-8 (save the file as UTF-8)";
        }
        r.record_bytes += n;
        const int line = r.record_line != 0 ? r.record_line : r.line;
        if (csv_parse(&parser, text + pos, n, s_on_field, s_on_row, &r) != n) {
            imp->lines += r.header_done;
            s_reject(&r, line, "", "is not well-formed CSV: %s (a double quote in a text "
                     "must be doubled, and the text quoted)",
                     csv_strerror(csv_error(&parser)));
            s_end_record(&r);
            ok = s_restart(&parser);
        } else if (r.record_line != 0 && r.record_bytes > MEASURES_IMPORT_RECORD_MAX) {
            s_reject(&r, line, "",
                     "begins a record of more than %d bytes (a double quote that is never "
                     "closed?); read on from line %d",
                     MEASURES_IMPORT_RECORD_MAX, r.line + 1);
            s_end_record(&r);
            ok = s_restart(&parser);
        }
        pos += n;
        if (nl != NULL)
            r.line++;
    }
    if (ok && !r.stop && !r.nomem &&
        csv_fini(&parser, s_on_field, s_on_row, &r) != 0) {
        s_reject(&r, r.record_line != 0 ? r.record_line : r.line, "",
                 "is not well-formed CSV: %s (a double quote that is never closed?)",
                 csv_strerror(csv_error(&parser)));
    }
    if (ok && !r.header_done && !r.stop)
        s_reject(&r, 1, "", "the file is empty: the first line must be the header "
                 S_HEADER_TEXT);
    csv_free(&parser);
    free(r.buf);
    return ok && !r.nomem ? 0 : TH_ENOMEM;
}

void
measures_import_clear(measures_import_t *imp)
{
    if (imp == NULL)
        return;
    free(imp->copy);
    imp->copy = NULL;
    zhashx_destroy(&imp->districts);
    zhashx_destroy(&imp->keys);
}
