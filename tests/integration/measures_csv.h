/* ---------------------------------------------------------------------------
 * measures_csv.h: CSV files of indicator values for the import tests and
 * the import benchmark, and a client-side import in chunks (header-only).
 *
 * meas_csv_values makes n distinct values of the 22 districts Thüringen has
 * had since 1 Jul 2021, the 8 indicators of the starter set and periods of
 * 2025 backwards (every district's latest period lies in 2025, a day on
 * which the registry knows it), as ImportValues reads them.
 * ---------------------------------------------------------------------------
 */
#ifndef MEASURES_CSV_H
#define MEASURES_CSV_H

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "teilhabe/v1/measures.pb-c.h"
#include "th_client.h"
#include "th_status.h"

#define MEAS_CSV_HEADER "ags,indicator_code,period,disaggregation,numerator,denominator,source,note\n"
#define MEAS_CHUNK (512 * 1024)

static const char *const meas_csv_districts[22] = {
    "16051", "16052", "16053", "16054", "16055", "16061", "16062", "16063",
    "16064", "16065", "16066", "16067", "16068", "16069", "16070", "16071",
    "16072", "16073", "16074", "16075", "16076", "16077"};

/* The 20 indicator x disaggregation pairs of the starter set (a plain
 * count has a denominator of 0). */
static const struct {
    const char *code;
    const char *dis;
    bool rate;
} meas_csv_pairs[20] = {
    {"school_leavers_no_certificate", "total", true},
    {"school_leavers_no_certificate", "with_migration_history", true},
    {"school_leavers_no_certificate", "without_migration_history", true},
    {"employment_rate", "total", true},
    {"employment_rate", "with_migration_history", true},
    {"employment_rate", "without_migration_history", true},
    {"unemployment_rate", "total", true},
    {"unemployment_rate", "with_migration_history", true},
    {"unemployment_rate", "without_migration_history", true},
    {"sgb2_share", "total", true},
    {"sgb2_share", "with_migration_history", true},
    {"sgb2_share", "without_migration_history", true},
    {"childcare_under_6", "total", true},
    {"childcare_under_6", "with_migration_history", true},
    {"childcare_under_6", "without_migration_history", true},
    {"youth_welfare_cases", "total", true},
    {"youth_welfare_cases", "with_migration_history", true},
    {"youth_welfare_cases", "without_migration_history", true},
    {"naturalisations", "total", true},
    {"language_course_participants", "total", false},
};

/* The i-th period counting back from 2025: 2025, 2025S1, 2025S2,
 * 2025Q1..Q4, 2025-01..12, then 2024 the same way. */
static inline void
meas_csv_period(size_t i, char out[16])
{
    /* Years 2025 back to 1900 (the generator never asks for more). */
    const int year = 2025 - (int) ((i / 19) % 126);
    const int k = (int) (i % 19);
    if (k == 0)
        snprintf(out, 16, "%d", year);
    else if (k <= 2)
        snprintf(out, 16, "%dS%d", year, k);
    else if (k <= 6)
        snprintf(out, 16, "%dQ%d", year, k - 2);
    else
        snprintf(out, 16, "%d-%02d", year, k - 6);
}

/* Value i's fields: district, indicator, period, disaggregation and
 * numbers (numerator 40 + i % 50 + shift). */
static inline void
meas_csv_value(size_t i, int shift, const char **ags, const char **code, char period[16],
               const char **dis, long long *num, long long *den)
{
    const size_t combo = i / 22;
    *ags = meas_csv_districts[i % 22];
    *code = meas_csv_pairs[combo % 20].code;
    *dis = meas_csv_pairs[combo % 20].dis;
    meas_csv_period(combo / 20, period);
    *num = 40 + (long long) (i % 50) + shift;
    *den = meas_csv_pairs[combo % 20].rate ? 1000 : 0;
}

/* A file of the header and n values (at most 58,520 per year back to
 * 2000: enough for 100,000 and more). malloc'ed, its length in *len. */
static inline char *
meas_csv_values(size_t n, int shift, size_t *len)
{
    const size_t cap = 128 + n * 96;
    char *buf = malloc(cap);
    if (buf == NULL)
        return NULL;
    size_t pos = (size_t) snprintf(buf, cap, "%s", MEAS_CSV_HEADER);
    for (size_t i = 0; i < n; i++) {
        const char *ags, *code, *dis;
        char period[16];
        long long num, den;
        meas_csv_value(i, shift, &ags, &code, period, &dis, &num, &den);
        pos += (size_t) snprintf(buf + pos, cap - pos, "%s,%s,%s,%s,%lld,%lld,Testdaten,\n",
                                 ags, code, period, dis, num, den);
    }
    *len = pos;
    return buf;
}

/* Imports len bytes of text through ImportValues in chunks of 512 KiB
 * under a new import id; *out is the last call's result (the report when
 * OK). Returns its status code. */
static inline int
meas_import(th_client_t *client, const char *text, size_t len, bool dry_run, int timeout_ms,
            th_result_t *out)
{
    zuuid_t *uuid = zuuid_new();
    char id[37];
    snprintf(id, sizeof id, "%s", zuuid_str_canonical(uuid));
    zuuid_destroy(&uuid);
    memset(out, 0, sizeof *out);
    size_t pos = 0;
    for (int chunk = 0;; chunk++) {
        const size_t n = len - pos < MEAS_CHUNK ? len - pos : MEAS_CHUNK;
        Teilhabe__Measures__V1__ImportValuesRequest req =
            TEILHABE__MEASURES__V1__IMPORT_VALUES_REQUEST__INIT;
        req.import_id = id;
        req.chunk = chunk;
        req.csv.data = (uint8_t *) text + pos;
        req.csv.len = n;
        req.last = pos + n >= len;
        req.dry_run = dry_run;
        th_result_clear(out);
        th_client_call(client, "teilhabe.measures.v1.Measures/ImportValues", &req.base,
                       &teilhabe__measures__v1__import_values_response__descriptor,
                       timeout_ms, NULL, out);
        pos += n;
        if (out->code != TH_OK || req.last)
            return out->code;
    }
}

#endif /* MEASURES_CSV_H */
