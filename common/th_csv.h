/* ---------------------------------------------------------------------------
 * th_csv.h: CSV text into rows of fields (libcsv), with the physical line
 * each row begins on.
 *
 * For the files teilhabe reads: reference data at start-up, and later the
 * files people import. libcsv does the parsing (RFC 4180 quoting, strict);
 * this adds what every reader needs around it: the text must be UTF-8
 * (a byte-order mark is skipped), each row knows the line it starts on (so
 * a message names the line a person sees in an editor, also after blank
 * lines and quoted line breaks), and the number of rows and of fields per
 * row is bounded, so a file of garbage cannot take all memory.
 *
 *     th_csv_rows_t rows;
 *     char err[256];
 *     if (th_csv_read_file(path, ';', 4 << 20, 16, 10000, &rows, err, sizeof err) != 0)
 *         ... err says why ("indicators.csv: line 7: ...") ...
 *     for (size_t i = 0; i < rows.n_rows; i++)
 *         ... rows.rows[i].fields[0 .. n_fields - 1], rows.rows[i].line ...
 *     th_csv_rows_clear(&rows);
 * ---------------------------------------------------------------------------
 */
#ifndef TH_CSV_H
#define TH_CSV_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char **fields;   /* n_fields NUL-terminated strings */
    size_t n_fields;
    int line;        /* the physical line (from 1) the row begins on */
} th_csv_row_t;

typedef struct {
    th_csv_row_t *rows;
    size_t n_rows;
} th_csv_rows_t;

/* Parses len bytes of text separated by delim into out (cleared first;
 * clear it with th_csv_rows_clear in every case). Blank lines are skipped.
 * 0; TH_EINVAL when the text is not UTF-8 or not well-formed CSV, or a row
 * has more than max_fields fields, or there are more than max_rows rows;
 * TH_ENOMEM. errbuf says which and on which line. */
int th_csv_parse(const char *text, size_t len, char delim, size_t max_fields, size_t max_rows,
                 th_csv_rows_t *out, char *errbuf, size_t errlen);

/* Reads the file at path (at most max_bytes) and parses it as
 * th_csv_parse does; messages begin with the path. TH_EIO when it cannot be
 * read. */
int th_csv_read_file(const char *path, char delim, size_t max_bytes, size_t max_fields,
                     size_t max_rows, th_csv_rows_t *out, char *errbuf, size_t errlen);

void th_csv_rows_clear(th_csv_rows_t *rows);

/* Checks that the first row is exactly the header names (n of them) and
 * every row has n fields. 0, or TH_EINVAL naming the line. */
int th_csv_check_shape(const th_csv_rows_t *rows, const char *const *header, size_t n,
                       char *errbuf, size_t errlen);

#endif /* TH_CSV_H */
