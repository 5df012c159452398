/* ---------------------------------------------------------------------------
 * render.h: a report (reporting.proto's Report) as a file, and the rules
 * every rendering shares: numbers and dates in the language of the report,
 * and statistical disclosure control of counts of people.
 *
 * Pure functions of the message: no database, no broker, no clock (the
 * report carries its own generated_at). The service fills a Report, calls
 * report_suppress on each table, builds its charts from the suppressed
 * tables, then report_render for the format asked.
 * ---------------------------------------------------------------------------
 */
#ifndef REPORTING_RENDER_H
#define REPORTING_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "teilhabe/v1/reporting.pb-c.h"

typedef Teilhabe__Reporting__V1__Report report_t;
typedef Teilhabe__Reporting__V1__Table report_table_t;
typedef Teilhabe__Reporting__V1__Cell report_cell_t;

/* --- numbers and dates ------------------------------------------------------ */

/* "de": 1.234.567 / 1.234,5 / 12,5 % / 1.234,56 € / 31.12.2024
 * "en": 1,234,567 / 1,234.5 / 12.5% / €1,234.56 / 31 Dec 2024
 * value in the unit of type (reporting.proto, ValueType), decimals for
 * DECIMAL and PERCENT (rounded half away from zero). Writes at most size
 * bytes with the NUL; returns the length it needed (as snprintf). */
size_t report_format_number(int64_t value, Teilhabe__Reporting__V1__ValueType type,
                            int decimals, const char *lang, char *out, size_t size);

/* An ISO date (YYYY-MM-DD) as the language writes it; anything else is
 * copied as it is. */
size_t report_format_date(const char *iso, const char *lang, char *out, size_t size);

/* A cell as a person reads it in lang: "." when suppressed, "–" when empty,
 * else the number or date formatted, or the text. */
size_t report_format_cell(const report_cell_t *cell,
                          const Teilhabe__Reporting__V1__Column *column, const char *lang,
                          char *out, size_t size);

/* --- statistical disclosure control ----------------------------------------- */

/* Suppresses the PEOPLE cells of table with 1 <= number < threshold
 * (primary), then as many further PEOPLE cells as it takes that no
 * relation reveals one (secondary): a TOTAL row is the sum of the DATA
 * rows above it up to the previous TOTAL row, and a column with sum_of is
 * the sum of those columns in its row; wherever exactly one cell of a
 * relation is suppressed, the smallest other cell of it (the lowest row,
 * then the leftmost column, on a tie) is suppressed too, until none is.
 * A suppressed cell gets suppressed = true, number 0 and text ".".
 * Returns how many cells it suppressed. */
int report_suppress(report_table_t *table, int threshold);

/* --- files ------------------------------------------------------------------ */

/* report in format (HTML, CSV or JSON) into a malloc'ed buffer *out of *len
 * bytes (NUL-terminated besides), with its media type (static string).
 *   HTML  one self-contained page (inline CSS, inline SVG charts, no
 *         script, no request of anything), in report->state->lang; A4
 *         when printed. Example data and illustrative amounts are marked
 *         where they show and in a banner; every note as a footnote.
 *   CSV   RFC 4180: UTF-8, CRLF, a header row of the column labels; one
 *         table: the section with id section, or the first with a table
 *         when section is NULL or "". Numbers plain for machines (1234.5,
 *         cents as euros 1234.56), dates ISO, suppressed ".", empty "".
 *   JSON  the Report message (field names of the .proto, enums by name,
 *         64-bit numbers as JSON numbers), content left out.
 * 0; TH_EINVAL with errbuf saying why (no such section, no table, a format
 * that is not one of the three); TH_ENOMEM. */
int report_render(const report_t *report, Teilhabe__Reporting__V1__Format format,
                  const char *section, char **out, size_t *len, const char **media_type,
                  char *errbuf, size_t errlen);

#endif /* REPORTING_RENDER_H */
