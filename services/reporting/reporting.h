/* ---------------------------------------------------------------------------
 * reporting.h: teilhabe-reporting, the ministry's reports.
 *
 * A handler checks its request and the caller's rights, opens one snapshot
 * (report_snapshot_begin: REPEATABLE READ READ ONLY, so every query of the
 * report sees the same committed state), fills a Report with the builder
 * below from the views of schema reporting (migrations/0001), and hands it
 * to report_finish, which closes the snapshot, suppresses small counts of
 * people, builds the charts from what is left and renders the file asked.
 * The labels of every report come in German and English from the same
 * line (rb_l), the German being the default.
 * ---------------------------------------------------------------------------
 */
#ifndef REPORTING_H
#define REPORTING_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "render.h"
#include "th_call.h"
#include "th_worker.h"

typedef Teilhabe__Reporting__V1__Section report_section_t;
typedef Teilhabe__Reporting__V1__Row report_row_t;
typedef Teilhabe__Reporting__V1__Chart report_chart_t;
typedef Teilhabe__Reporting__V1__Series report_series_t;
typedef Teilhabe__Reporting__V1__RenderOptions report_options_t;

/* The service's state: its configuration, read once at start. */
typedef struct {
    int suppression_threshold; /* the least any report uses (key suppression_threshold) */
} reporting_state_t;

#define REPORTING_THRESHOLD_DEFAULT 3
#define REPORTING_INDICATOR_AGS_MAX 50

/* --- the builder (build.c) --------------------------------------------------- */

typedef struct {
    th_call_t *call;
    report_t *report;
    bool en; /* lang "en" */
} rb_t;

/* A report of kind with the title in both languages; lang "de" or "en". */
report_t *rb_begin(rb_t *b, th_call_t *call, const char *kind, const char *lang,
                   const char *title_de, const char *title_en);
/* The text of the report's language. */
const char *rb_l(const rb_t *b, const char *de, const char *en);
/* A string of call memory (printf). */
char *rb_printf(const rb_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* rb_printf with the format of the report's language (both checked). */
#define RB_PRINTF(b, fmt_de, fmt_en, ...)                                                        \
    ((b)->en ? rb_printf((b), fmt_en, __VA_ARGS__) : rb_printf((b), fmt_de, __VA_ARGS__))

report_section_t *rb_section(rb_t *b, const char *id, const char *title_de,
                             const char *title_en);
/* Adds a paragraph to the section's text (already in the report's language). */
void rb_text(rb_t *b, report_section_t *s, const char *paragraph);

report_table_t *rb_table(rb_t *b, report_section_t *s);
void rb_column(rb_t *b, report_table_t *t, const char *id, const char *label_de,
               const char *label_en, Teilhabe__Reporting__V1__ValueType type, int decimals);
/* The last column is the sum of the columns ids (NULL-terminated). */
void rb_sum_of(rb_t *b, report_table_t *t, const char *const *ids);

/* A row with room for every column; cells are added in column order. */
report_row_t *rb_row(rb_t *b, report_table_t *t, const char *key, bool total);
report_cell_t *rb_text_cell(rb_t *b, report_row_t *r, const char *text);
report_cell_t *rb_number(rb_t *b, report_row_t *r, int64_t number);
report_cell_t *rb_date(rb_t *b, report_row_t *r, const char *iso); /* "" = empty */
report_cell_t *rb_empty(rb_t *b, report_row_t *r);
/* A share of part in whole as a PERCENT cell (millionths of a percent,
 * half up); empty when whole is 0. */
report_cell_t *rb_share(rb_t *b, report_row_t *r, int64_t part, int64_t whole);
/* A PGresult value: number, or empty when SQL NULL. */
report_cell_t *rb_number_or_empty(rb_t *b, report_row_t *r, const PGresult *res, int row,
                                  int col);
void rb_cell_mark(rb_t *b, report_cell_t *c, const char *note_id);
void rb_row_mark(rb_t *b, report_row_t *r, const char *note_id);

/* A note (footnote) once per id; the texts in both languages. */
void rb_note(rb_t *b, const char *id, const char *symbol, const char *text_de,
             const char *text_en);

/* A chart of the section built at report_finish from its table, after
 * suppression: categories from column category_col of the DATA rows,
 * one series per column of value_cols (n_values of them), named by the
 * column's label; suppressed and empty cells are missing. */
typedef struct {
    Teilhabe__Reporting__V1__ChartKind kind;
    const char *title;
    const char *caption;
    int category_col;
    int value_cols[8];
    int n_values;
    /* Names of the series (NULL: the column's label), when labels that
     * read well in the table ("Anteil" twice) would not tell them apart. */
    const char *series_names[8];
    /* Transposed: the categories are the labels of the columns from
     * value_cols[0] to the last, one series per TOTAL row (its cell in
     * category_col names it): a Land's value over periods; with
     * data_rows, one series per DATA row instead (at most 8): each
     * indicator of a district over periods. */
    bool by_columns;
    bool data_rows;
} rb_chart_spec_t;
void rb_chart(rb_t *b, report_section_t *s, const rb_chart_spec_t *spec);
/* report_finish: fills the pending chart of s from its table. */
void rb_chart_fill(rb_t *b, report_section_t *s);

/* --- the snapshot and the end (report.c) -------------------------------------- */

/* Checks options (lang, format, section, threshold): the language ("de",
 * "en") or NULL with INVALID_ARGUMENT recorded in *rc. */
const char *report_check_options(th_call_t *call, const report_options_t *options, int *rc);

/* BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY with the call's deadline,
 * and the snapshot's time into the report's state. TH_OK or the answer. */
int report_snapshot_begin(rb_t *b);

/* Runs sql in the snapshot; NULL on a failure (answered by report_fail). */
PGresult *report_query(rb_t *b, const char *sql, int nparams, const char *const *params);

/* A value of a result: a copy in call memory ("" for SQL NULL), a number
 * (0 for NULL), a boolean ("t"). */
char *report_str(const rb_t *b, const PGresult *r, int row, int col);
int64_t report_int(const PGresult *r, int row, int col);
bool report_bool(const PGresult *r, int row, int col);

/* The note for amounts computed from illustrative parameters. */
void report_note_illustrative(rb_t *b);

/* The orientation of a concept in the report's language. */
const char *report_orientation(const rb_t *b, const char *orientation);

/* Rolls the snapshot back and answers the database failure ("could not
 * read <what>"). */
int report_fail(rb_t *b, const char *what);

/* The data state of period_from..period_to (ids; from may equal to) for
 * the districts of scope (a Land code, an AGS, or "" for every Land) that
 * exist on as_of: FINAL when each has every period of the range approved,
 * else PROVISIONAL with open_districts. TH_OK or the answer. */
int report_data_state(rb_t *b, const char *scope, const char *as_of, const char *period_from,
                      const char *period_to);

/* Ends the snapshot, sets the state (scope, as_of, version, lang,
 * threshold), suppresses, builds the charts, renders the format asked and
 * answers the report. TH_OK or the answer. */
int report_finish(rb_t *b, const report_options_t *options, const char *scope,
                  const char *as_of, const char *file_stem, ProtobufCMessage **response);

/* PERMISSION_DENIED unless the caller may read aggregates of Land
 * state_code ("" = federal) (th_auth_reads_aggregates). */
int report_need_aggregates(th_call_t *call, const char *state_code, const char *what);

/* Today's date if as_of is "", else as_of checked (INVALID_ARGUMENT). */
const char *report_as_of(th_call_t *call, const char *as_of, int *rc);

/* The German or English name of a field-of-action token, a target group,
 * an orientation, a settlement type, an outcome, a submission status. */
const char *report_term(const rb_t *b, const char *token);

/* The period a report reads by default: the year before as_of's year. */
const char *report_default_period(th_call_t *call, const char *as_of);

/* The Land's name in the snapshot; NULL with NOT_FOUND answered (and the
 * snapshot rolled back). */
const char *report_land_name(rb_t *b, const char *state_code, int *rc);

/* --- the reports ------------------------------------------------------------------ */

#define REPORTING_HANDLER(name)                                                            \
    int name(th_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **response)

REPORTING_HANDLER(reporting_land_overview);
/* The Land overview's two heaviest statements ($1 Land, $2 as-of date, $3
 * period), also run bare by the benchmark as its reference. */
extern const char land_districts_sql[];
extern const char land_fields_sql[];
REPORTING_HANDLER(reporting_district_profile);
REPORTING_HANDLER(reporting_concept_monitor);
REPORTING_HANDLER(reporting_indicator_report);
REPORTING_HANDLER(reporting_eligibility_report);

#endif /* REPORTING_H */
