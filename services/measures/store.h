/* ---------------------------------------------------------------------------
 * store.h: every SQL statement of the measures service, in one place.
 *
 * The handlers validate and authorize; the store reads and writes the
 * measures schema with parameterized statements only. Its columns are named
 * after the fields of the messages they fill (th_row.h maps them).
 * Functions that build messages for a reply take the call and allocate from
 * its memory (th_call_alloc), so nothing they return needs freeing.
 *
 * Files: store.c (the event filter), store_measures.c,
 * store_indicators.c (the catalogue and the values), store_import.c,
 * store_periods.c (self-assessment, reach, submissions, the lock).
 *
 * Returns: 0; TH_ENOTFOUND when the row does not exist; TH_ESTATE when a
 * conditional write found the row changed (stale version); TH_EDB when the
 * database failed (th_db_status then says how).
 * ---------------------------------------------------------------------------
 */
#ifndef MEASURES_STORE_H
#define MEASURES_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "teilhabe/v1/measures.pb-c.h"
#include "th_call.h"
#include "th_events.h"

typedef Teilhabe__Measures__V1__Measure measure_t;
typedef Teilhabe__Measures__V1__Indicator indicator_t;
typedef Teilhabe__Measures__V1__IndicatorValue value_t;
typedef Teilhabe__Measures__V1__Submission submission_t;
typedef Teilhabe__Measures__V1__Assessment assessment_t;
typedef Teilhabe__Measures__V1__AssessmentAnswer answer_t;
typedef Teilhabe__Measures__V1__AssessmentQuestion question_t;
typedef Teilhabe__Measures__V1__Reach reach_t;

/* --- measures ----------------------------------------------------------- */

/* Inserts m (status planned, version 1) as created by `by`. */
int measures_store_create(th_call_t *call, const measure_t *m, const char *by,
                          measure_t **out);

/* The measure id; for_update locks its row. TH_ENOTFOUND when unknown. */
int measures_store_get(th_call_t *call, const char *id, bool for_update, measure_t **out);

typedef struct {
    const char *ags;          /* NULL = any */
    const char *state_code;   /* NULL = any */
    const char *field;        /* token; NULL = any */
    const char *target_group; /* token; NULL = any */
    const char *status;       /* token; NULL = any */
    const char *after_ags;    /* the page key (ags, id); NULL = from the start */
    const char *after_id;
    int limit;
} measures_filter_t;

/* The measures that pass filter, by ags and id. */
int measures_store_list(th_call_t *call, const measures_filter_t *filter, measure_t ***out,
                        size_t *n);

/* Writes every writable field of m when the stored version is version.
 * TH_ESTATE when it is not (a concurrent writer won). */
int measures_store_update(th_call_t *call, const measure_t *m, int64_t version,
                          const char *by, measure_t **out);

/* Sets the status (token) when the stored version is version. TH_ESTATE
 * when it is not. */
int measures_store_set_status(th_call_t *call, const char *id, int64_t version,
                              const char *status, const char *by, measure_t **out);

/* Deletes the measure when it is at version and still planned. TH_ESTATE
 * when it is not. */
int measures_store_delete(th_call_t *call, const char *id, int64_t version);

/* --- indicators --------------------------------------------------------- */

/* Seeding (before any call; the caller holds the transaction): inserts
 * ind as created by "seed" unless its code exists. *inserted says which;
 * when it did, create_time (RFC 3339, 40 bytes) is the row's. */
int measures_store_seed_indicator(th_db_t *db, const indicator_t *ind, bool *inserted,
                                  char create_time[40]);

/* Inserts ind as created by `by`. TH_ESTATE when its code exists. */
int measures_store_create_indicator(th_call_t *call, const indicator_t *ind, const char *by,
                                    indicator_t **out);

/* TH_ENOTFOUND when no indicator has code. */
int measures_store_get_indicator(th_call_t *call, const char *code, indicator_t **out);

/* Indicators of field (token; NULL = any) after the code after (NULL = from
 * the start), by code. */
int measures_store_list_indicators(th_call_t *call, const char *field, const char *after,
                                   int limit, indicator_t ***out, size_t *n);

/* The indicators whose codes are among codes (n of them), in any order. */
int measures_store_indicators_named(th_call_t *call, char *const *codes, size_t n,
                                    indicator_t ***out, size_t *n_out);

/* --- indicator values ------------------------------------------------------ */

/* The keys of n values (district, indicator, period, disaggregation token)
 * and what a write stores with them, as parallel arrays. */
typedef struct {
    char **ags;
    char **code;
    char **period;
    char **period_start; /* first day of the period */
    char **period_end;   /* last day */
    char **disaggregation;
    char **numerator; /* decimal text */
    char **denominator;
    char **source;
    char **note;
    size_t n;
} measures_value_rows_t;

/* The stored values with the keys of rows that exist, locked (FOR UPDATE),
 * by key. */
int measures_store_lock_values(th_call_t *call, const measures_value_rows_t *rows,
                               value_t ***out, size_t *n);

/* Inserts the values of rows, and replaces those that exist and differ,
 * as written by `by`. changed[i] is 1 for a value inserted, 2 for one
 * replaced, 0 for one that was stored as it is (call memory). */
int measures_store_put_values(th_call_t *call, const measures_value_rows_t *rows,
                              const char *by, int **changed);

/* The stored values with the keys of rows, in the order of rows. */
int measures_store_read_values(th_call_t *call, const measures_value_rows_t *rows,
                               value_t ***out, size_t *n);

typedef struct {
    const char *ags;            /* NULL = any */
    const char *state_code;     /* NULL = any */
    const char *code;           /* NULL = any */
    const char *disaggregation; /* token; NULL = any */
    const char *from_day;       /* the first day of the first period; NULL = open */
    const char *to_day;         /* the last day of the last period; NULL = open */
    /* The page key: the last value's ags, code, period start and end,
     * disaggregation; NULL = from the start. */
    const char *after_ags, *after_code, *after_start, *after_end, *after_disaggregation;
    int limit;
} measures_value_filter_t;

/* The values that pass filter, in the order of ListValues. */
int measures_store_list_values(th_call_t *call, const measures_value_filter_t *filter,
                               value_t ***out, size_t *n);

/* --- bulk import (store_import.c) ------------------------------------------ */

/* Deletes the chunks staged more than an hour ago. */
int measures_store_import_purge(th_call_t *call);

/* How many chunks of import_id principal `by` staged within the hour, their
 * bytes, and the highest chunk number (-1 = none). */
int measures_store_import_staged(th_call_t *call, const char *by, const char *import_id,
                                 int *n_chunks, int64_t *bytes, int *max_chunk);

/* Stages chunk number chunk of import_id (len bytes; replaces one staged
 * under that number). */
int measures_store_import_stage(th_call_t *call, const char *by, const char *import_id,
                                int chunk, const uint8_t *data, size_t len);

/* The staged chunks of import_id joined in the order of their numbers in
 * *out (malloc'ed and NUL-terminated; the caller frees it), *len bytes.
 * TH_ENOMEM when they do not fit in memory. */
int measures_store_import_read(th_call_t *call, const char *by, const char *import_id,
                               char **out, size_t *len);

/* Deletes the staged chunks of import_id. */
int measures_store_import_drop(th_call_t *call, const char *by, const char *import_id);

/* COPYs len bytes of COPY text (whole lines: import_id, line, ags,
 * indicator_code, period, disaggregation, period_start, period_end,
 * numerator, denominator, source, note) into measures.import_rows. */
int measures_store_import_copy(th_call_t *call, const char *rows, size_t len);

/* What a district's values of an import do. */
typedef struct {
    char ags[6];
    int64_t created;
    int64_t updated; /* unchanged: the district's lines less these two */
} measures_import_count_t;

/* Writes the rows of import_id from measures.import_rows into the values
 * as written by `by` (dry_run: only counts what that would do), then
 * deletes them from import_rows. *out (call memory): per district, by AGS,
 * the values created and updated. */
int measures_store_import_apply(th_call_t *call, const char *import_id, const char *by,
                                bool dry_run, measures_import_count_t **out, size_t *n);

/* --- periods (store_periods.c) -------------------------------------------- */

/* Takes the period lock of each district ags[i] (i < n) shared, for the
 * rest of the transaction, then reads the approved submissions of district
 * ags[i] whose period overlaps first[i] to last[i] (dates); *approved: the
 * first of them (call memory), NULL when none is. */
int measures_store_lock_periods(th_call_t *call, char *const *ags, char *const *first,
                                char *const *last, size_t n, submission_t **approved);

/* The same for the lines of import import_id in measures.import_rows. */
int measures_store_import_lock(th_call_t *call, const char *import_id,
                               submission_t **approved);

/* Takes the period lock of district ags exclusively, for the rest of the
 * transaction: an Approve waits for every write of the district's figures
 * that began before it, and those that begin after it wait for it. */
int measures_store_lock_district(th_call_t *call, const char *ags);

/* The questions of the self-assessment, by position. */
int measures_store_questions(th_call_t *call, question_t ***out, size_t *n);

/* The district's self-assessment of period with its answers (by question
 * position); for_update locks it. TH_ENOTFOUND when none is stored. */
int measures_store_get_assessment(th_call_t *call, const char *ags, const char *period,
                                  bool for_update, assessment_t **out);

/* A self-assessment as a write stores it: its answers as parallel arrays. */
typedef struct {
    const char *ags, *period;
    const char *first, *last; /* the period's first and last day */
    int64_t version;          /* the version it is stored with */
    char **codes;
    char **ratings; /* decimal text */
    char **comments;
    size_t n;
} measures_assessment_rows_t;

/* Stores rows as the district's self-assessment of the period, replacing
 * the answers stored before, when the stored one is at rows->version - 1
 * (or there is none). TH_ESTATE when another writer got there first. */
int measures_store_set_assessment(th_call_t *call, const measures_assessment_rows_t *rows,
                                  const char *by);

/* The reach of measure_id in period; for_update locks it. TH_ENOTFOUND. */
int measures_store_get_reach(th_call_t *call, const char *measure_id, const char *period,
                             bool for_update, reach_t **out);

/* Stores the counts of in (first / last: its period's days) with version,
 * when the stored figures are at version - 1 (or there are none).
 * TH_ESTATE when another writer got there first. */
int measures_store_set_reach(th_call_t *call, const reach_t *in, const char *first,
                             const char *last, int64_t version, const char *by,
                             reach_t **out);

/* Reach figures of measure_id, or of every measure of district ags, in
 * period (each NULL = any), by measure and period; at most limit. */
int measures_store_list_reach(th_call_t *call, const char *measure_id, const char *ags,
                              const char *period, int limit, reach_t ***out, size_t *n);

/* The district's submission of period; for_update locks it. TH_ENOTFOUND
 * for a draft (no row). */
int measures_store_get_submission(th_call_t *call, const char *ags, const char *period,
                                  bool for_update, submission_t **out);

/* One move of a submission. */
typedef struct {
    const char *ags, *period;
    const char *first, *last; /* the period's first and last day */
    const char *status;       /* the token moved to */
    const char *reason;       /* "" unless returned or reopened */
    const char *by;
    int64_t version; /* the version read: 0 = a draft, no row */
} measures_move_t;

/* Writes the move: a new row for a draft, else the row at mv->version.
 * TH_ESTATE when the row is no longer at that version. */
int measures_store_move_submission(th_call_t *call, const measures_move_t *mv,
                                   submission_t **out);

/* The submissions stored for Land state_code and period, by AGS (drafts
 * have none). */
int measures_store_list_submissions(th_call_t *call, const char *state_code,
                                    const char *period, submission_t ***out, size_t *n);

/* --- events ------------------------------------------------------------- */

/* The condition ListEvents reads the outbox with (th_events.h): events
 * about the catalogue (resource "indicators/...") for everyone; events
 * about a district's measures and its submissions (topics measure.*,
 * submission.*, resource "districts/<ags>/...") of every Land when
 * records_all, else of records_land (NULL = none); events about its
 * aggregates (topics values.*, assessment.*, reach.*) likewise with
 * aggregates_all and aggregates_land. */
void measures_store_event_filter(bool records_all, const char *records_land,
                                 bool aggregates_all, const char *aggregates_land,
                                 th_events_filter_t *out);

#endif /* MEASURES_STORE_H */
