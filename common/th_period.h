/* ---------------------------------------------------------------------------
 * th_period.h: reporting periods as ISO-style ids.
 *
 *   "2024"     the year 2024
 *   "2024S1"   its first half (S2: July to December)
 *   "2024Q3"   its third quarter (Q1 to Q4)
 *   "2024-05"  May 2024
 *
 * Ids are strict (uppercase S and Q, two-digit months, years 1900-2199, as
 * for dates), so one period has exactly one id and a database key never
 * holds two spellings of it. Indicator values, self-assessments, reach and
 * submissions are kept per period; a range of periods is asked for by its
 * first and last.
 * ---------------------------------------------------------------------------
 */
#ifndef TH_PERIOD_H
#define TH_PERIOD_H

#include <stdbool.h>

#include "th_date.h"

#define TH_PERIOD_LEN 7 /* "2024-05", the longest id, without the NUL */

typedef enum {
    TH_PERIOD_YEAR = 1,
    TH_PERIOD_HALF = 2,
    TH_PERIOD_QUARTER = 3,
    TH_PERIOD_MONTH = 4,
} th_period_kind_t;

typedef struct {
    int year;              /* 1900-2199 */
    th_period_kind_t kind;
    int index;             /* 1-2 (half), 1-4 (quarter), 1-12 (month); 0 for a year */
} th_period_t;

/* Parses an id into out. 0, or TH_EINVAL when s is not a period id. */
int th_period_parse(const char *s, th_period_t *out);

/* True when s is a period id. */
bool th_period_valid(const char *s);

/* The id of p into out (TH_PERIOD_LEN + 1 bytes). */
void th_period_format(const th_period_t *p, char out[TH_PERIOD_LEN + 1]);

/* The first and the last day of p ("2024-07-01", "2024-09-30" for
 * 2024Q3) into out. */
void th_period_first_day(const th_period_t *p, char out[TH_DATE_LEN + 1]);
void th_period_last_day(const th_period_t *p, char out[TH_DATE_LEN + 1]);

/* Orders periods by their first day, and periods that begin on the same
 * day by their last (the shorter first): 2024-01 < 2024Q1 < 2024S1 < 2024
 * < 2024-02. Negative, 0 (the same period) or positive. */
int th_period_compare(const th_period_t *a, const th_period_t *b);

/* True when every day of inner lies in outer (2024Q3 in 2024S2 and in
 * 2024; 2024-05 in 2024Q2; every period contains itself). */
bool th_period_contains(const th_period_t *outer, const th_period_t *inner);

/* The period of kind that contains the date ("2024-05-17", QUARTER ->
 * 2024Q2). 0, or TH_EINVAL when date is not a valid date. */
int th_period_of_date(const char *date, th_period_kind_t kind, th_period_t *out);

/* The period of the same kind that follows p (2024Q4 -> 2025Q1), for
 * walking a range. 0, or TH_EINVAL past the year 2199. */
int th_period_next(const th_period_t *p, th_period_t *out);

#endif /* TH_PERIOD_H */
