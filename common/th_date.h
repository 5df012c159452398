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
#define TH_DATE_YEAR_MIN 1900
#define TH_DATE_YEAR_MAX 2199

/* True when s is a valid date "YYYY-MM-DD". */
bool th_date_valid(const char *s);

/* Splits a valid date into year, month (1-12) and day. 0, or TH_EINVAL. */
int th_date_parse(const char *s, int *year, int *month, int *day);

/* Writes year-month-day (a valid date) as "YYYY-MM-DD" into out. */
void th_date_format(int year, int month, int day, char out[TH_DATE_LEN + 1]);

/* The number of days of month (1-12) in year. */
int th_date_days_in_month(int year, int month);

/* Writes the date days after s (negative: before) into out (11 bytes).
 * 0, or TH_EINVAL when s is not a valid date or the result leaves the
 * supported years. */
int th_date_add_days(const char *s, int days, char out[TH_DATE_LEN + 1]);

/* Makes the process's local time Germany's: sets TZ to Europe/Berlin
 * (tzdata's rules, so every past and future change of them is the
 * system's, not ours) and calls tzset. Call it once in main, before any
 * thread starts: setenv is not thread-safe (th_service_main and the CLI
 * do). 0, or TH_ENOTFOUND when the zone file is missing (tzdata is not
 * installed): then no German date can be told, and the program should say
 * so and stop. */
int th_date_init(void);

/* Writes the date in Germany (Europe/Berlin) at time t into out (11 bytes),
 * through localtime_r. Territorial facts and assignments are German
 * calendar dates, so "today" must not flip at midnight UTC. Aborts when
 * th_date_init has not been called (a programmer's error: the date would
 * silently be the machine's). */
void th_date_of_time(time_t t, char out[TH_DATE_LEN + 1]);

/* th_date_of_time(now). */
void th_date_today(char out[TH_DATE_LEN + 1]);

#endif /* TH_DATE_H */
