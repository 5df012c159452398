/* ---------------------------------------------------------------------------
 * th_csv.c: CSV text into rows of fields through libcsv (see th_csv.h)
 *
 * The text is fed to libcsv one physical line at a time, so when a row
 * begins the parser knows which line it is on: quoted line breaks and
 * blank lines (which libcsv skips) leave the line numbers true.
 * ---------------------------------------------------------------------------
 */
#include "th_csv.h"

#include <csv.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "th_error.h"
#include "th_wire.h"

typedef struct {
    th_csv_rows_t *out;
    size_t cap_rows;
    char **pending;
    size_t n_pending;
    size_t max_fields;
    size_t max_rows;
    int line;       /* the line being fed */
    int row_line;   /* the line the pending row began on; 0 = none yet */
    int failed;     /* 0, TH_EINVAL (too many), TH_ENOMEM */
    int failed_line;
} s_parse_t;

static void
s_fail(s_parse_t *p, int rc)
{
    if (p->failed == 0) {
        p->failed = rc;
        p->failed_line = p->row_line != 0 ? p->row_line : p->line;
    }
}

static void
s_on_field(void *data, size_t len, void *ctx)
{
    s_parse_t *p = ctx;
    if (p->row_line == 0)
        p->row_line = p->line;
    if (p->failed != 0)
        return;
    if (p->n_pending >= p->max_fields) {
        s_fail(p, TH_EINVAL);
        return;
    }
    char *copy = malloc(len + 1);
    if (copy == NULL) {
        s_fail(p, TH_ENOMEM);
        return;
    }
    if (len > 0)
        memcpy(copy, data, len);
    copy[len] = '\0';
    p->pending[p->n_pending++] = copy;
}

static void
s_drop_pending(s_parse_t *p)
{
    for (size_t i = 0; i < p->n_pending; i++)
        free(p->pending[i]);
    p->n_pending = 0;
}

static void
s_on_row(int terminator, void *ctx)
{
    (void) terminator;
    s_parse_t *p = ctx;
    if (p->row_line == 0)
        p->row_line = p->line;
    th_csv_rows_t *out = p->out;
    if (p->failed == 0 && out->n_rows >= p->max_rows)
        s_fail(p, TH_EINVAL);
    if (p->failed == 0 && out->n_rows == p->cap_rows) {
        const size_t cap = p->cap_rows != 0 ? p->cap_rows * 2 : 64;
        th_csv_row_t *rows = realloc(out->rows, cap * sizeof *rows);
        if (rows == NULL)
            s_fail(p, TH_ENOMEM);
        else {
            out->rows = rows;
            p->cap_rows = cap;
        }
    }
    char **fields = NULL;
    if (p->failed == 0) {
        fields = malloc((p->n_pending > 0 ? p->n_pending : 1) * sizeof *fields);
        if (fields == NULL)
            s_fail(p, TH_ENOMEM);
    }
    if (p->failed != 0) {
        s_drop_pending(p);
        p->row_line = 0;
        return;
    }
    memcpy(fields, p->pending, p->n_pending * sizeof *fields);
    out->rows[out->n_rows++] =
        (th_csv_row_t){.fields = fields, .n_fields = p->n_pending, .line = p->row_line};
    p->n_pending = 0;
    p->row_line = 0;
}

void
th_csv_rows_clear(th_csv_rows_t *rows)
{
    if (rows == NULL)
        return;
    for (size_t i = 0; i < rows->n_rows; i++) {
        for (size_t f = 0; f < rows->rows[i].n_fields; f++)
            free(rows->rows[i].fields[f]);
        free(rows->rows[i].fields);
    }
    free(rows->rows);
    rows->rows = NULL;
    rows->n_rows = 0;
}

int
th_csv_parse(const char *text, size_t len, char delim, size_t max_fields, size_t max_rows,
             th_csv_rows_t *out, char *errbuf, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!th_wire_utf8_valid(text, len)) {
        snprintf(errbuf, errlen, "the text is not valid UTF-8 (save the file as UTF-8)");
        return TH_EINVAL;
    }
    size_t start = 0;
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
        start = 3; /* a byte-order mark some editors write */
    if (max_fields == 0)
        max_fields = 1;
    s_parse_t p = {.out = out, .max_fields = max_fields, .max_rows = max_rows, .line = 1};
    p.pending = calloc(max_fields, sizeof *p.pending);
    struct csv_parser parser;
    if (p.pending == NULL || csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI) != 0) {
        free(p.pending);
        snprintf(errbuf, errlen, "out of memory");
        return TH_ENOMEM;
    }
    csv_set_delim(&parser, (unsigned char) delim);
    int rc = 0;
    size_t pos = start;
    while (pos < len && p.failed == 0) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        const size_t chunk = nl != NULL ? (size_t) (nl - (text + pos)) + 1 : len - pos;
        /* Between rows, the next line that is not blank begins one. */
        const bool blank = chunk == 1 || (chunk == 2 && text[pos] == '\r');
        if (p.row_line == 0 && !blank)
            p.row_line = p.line;
        if (csv_parse(&parser, text + pos, chunk, s_on_field, s_on_row, &p) != chunk) {
            snprintf(errbuf, errlen, "line %d: %s", p.row_line != 0 ? p.row_line : p.line,
                     csv_strerror(csv_error(&parser)));
            rc = TH_EINVAL;
            break;
        }
        pos += chunk;
        if (nl != NULL)
            p.line++;
    }
    if (rc == 0 && p.failed == 0 && csv_fini(&parser, s_on_field, s_on_row, &p) != 0) {
        snprintf(errbuf, errlen, "line %d: %s", p.row_line != 0 ? p.row_line : p.line,
                 csv_strerror(csv_error(&parser)));
        rc = TH_EINVAL;
    }
    if (rc == 0 && p.failed != 0) {
        rc = p.failed;
        if (rc == TH_ENOMEM)
            snprintf(errbuf, errlen, "out of memory at line %d", p.failed_line);
        else if (out->n_rows >= max_rows)
            snprintf(errbuf, errlen, "line %d: more than %zu rows", p.failed_line, max_rows);
        else
            snprintf(errbuf, errlen, "line %d: more than %zu fields", p.failed_line,
                     max_fields);
    }
    s_drop_pending(&p);
    free(p.pending);
    csv_free(&parser);
    if (rc != 0)
        th_csv_rows_clear(out);
    return rc;
}

int
th_csv_read_file(const char *path, char delim, size_t max_bytes, size_t max_fields,
                 size_t max_rows, th_csv_rows_t *out, char *errbuf, size_t errlen)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(errbuf, errlen, "could not open \"%s\": %s", path, strerror(errno));
        return TH_EIO;
    }
    int rc = 0;
    char *buf = malloc(max_bytes + 1);
    if (buf == NULL) {
        snprintf(errbuf, errlen, "out of memory reading \"%s\"", path);
        rc = TH_ENOMEM;
        goto cleanup;
    }
    const size_t len = fread(buf, 1, max_bytes + 1, f);
    if (ferror(f)) {
        snprintf(errbuf, errlen, "could not read \"%s\"", path);
        rc = TH_EIO;
        goto cleanup;
    }
    if (len > max_bytes) {
        snprintf(errbuf, errlen, "\"%s\" is larger than %zu bytes", path, max_bytes);
        rc = TH_EINVAL;
        goto cleanup;
    }
    char err[256];
    rc = th_csv_parse(buf, len, delim, max_fields, max_rows, out, err, sizeof err);
    if (rc != 0)
        snprintf(errbuf, errlen, "%s: %s", path, err);
cleanup:
    free(buf);
    fclose(f);
    return rc;
}

int
th_csv_check_shape(const th_csv_rows_t *rows, const char *const *header, size_t n,
                   char *errbuf, size_t errlen)
{
    if (rows->n_rows == 0) {
        snprintf(errbuf, errlen, "line 1: no header row (expected %s, ...)", n > 0 ? header[0] : "");
        return TH_EINVAL;
    }
    const th_csv_row_t *first = &rows->rows[0];
    bool same = first->n_fields == n;
    for (size_t i = 0; same && i < n; i++)
        same = strcmp(first->fields[i], header[i]) == 0;
    if (!same) {
        char expected[512] = "";
        for (size_t i = 0; i < n; i++) {
            strncat(expected, i > 0 ? ";" : "", sizeof expected - strlen(expected) - 1);
            strncat(expected, header[i], sizeof expected - strlen(expected) - 1);
        }
        snprintf(errbuf, errlen, "line %d: the header is not the one expected: %s",
                 first->line, expected);
        return TH_EINVAL;
    }
    for (size_t r = 1; r < rows->n_rows; r++) {
        if (rows->rows[r].n_fields != n) {
            snprintf(errbuf, errlen, "line %d: expected %zu fields, found %zu",
                     rows->rows[r].line, n, rows->rows[r].n_fields);
            return TH_EINVAL;
        }
    }
    return 0;
}
