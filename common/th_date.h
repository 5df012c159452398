/* ---------------------------------------------------------------------------
 * th_date.h: ISO calendar dates (YYYY-MM-DD) as teilhabe exchanges them.
 *
 * Dates travel as strings; these helpers check them strictly (exactly ten
 * characters, a real calendar day, years 1900-2199) so that nothing the
 * database would read differently ("2021-7-1", "01.07.2021") gets through.
 * Valid dates compare correctly with strcmp.
 * ---------------------------------------------------------------------------
 */
#ifndef TH_DATE_H
#define TH_DATE_H

#include <stdbool.h>
#include <time.h>

#define TH_DATE_LEN 10 /* "YYYY-MM-DD" without the terminating NUL */

/* True when s is a valid date "YYYY-MM-DD". */
bool th_date_valid(const char *s);

/* Writes the date days after s (negative: before) into out (11 bytes).
 * 0, or TH_EINVAL when s is not a valid date or the result leaves the
 * supported years. */
int th_date_add_days(const char *s, int days, char out[TH_DATE_LEN + 1]);

/* Writes the date in Germany (Europe/Berlin: UTC+1, UTC+2 during EU summer
 * time, last Sunday of March 01:00 UTC to last Sunday of October 01:00 UTC)
 * at time t into out (11 bytes). Territorial facts and assignments are
 * German calendar dates, so "today" must not flip at midnight UTC. */
void th_date_of_time(time_t t, char out[TH_DATE_LEN + 1]);

/* th_date_of_time(now). */
void th_date_today(char out[TH_DATE_LEN + 1]);

#endif /* TH_DATE_H */
