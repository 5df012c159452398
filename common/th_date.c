/* ---------------------------------------------------------------------------
 * th_date.c: strict ISO date checks and day arithmetic
 * ---------------------------------------------------------------------------
 */
#include "th_date.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "th_error.h"

/* The TZ value th_date_init sets: ':' makes glibc read the zone file. */
#define S_TZ ":Europe/Berlin"
#define S_ZONE "Europe/Berlin"

static bool
s_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int
th_date_days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12)
        return 0;
    return m == 2 && s_leap(y) ? 29 : days[m - 1];
}

/* Writes y-m-d (already in range) as "YYYY-MM-DD". */
static void
s_format(int y, int m, int d, char out[TH_DATE_LEN + 1])
{
    out[0] = (char) ('0' + y / 1000 % 10);
    out[1] = (char) ('0' + y / 100 % 10);
    out[2] = (char) ('0' + y / 10 % 10);
    out[3] = (char) ('0' + y % 10);
    out[4] = '-';
    out[5] = (char) ('0' + m / 10);
    out[6] = (char) ('0' + m % 10);
    out[7] = '-';
    out[8] = (char) ('0' + d / 10);
    out[9] = (char) ('0' + d % 10);
    out[10] = '\0';
}

static bool
s_parse(const char *s, int *y, int *m, int *d)
{
    if (s == NULL || strlen(s) != TH_DATE_LEN || s[4] != '-' || s[7] != '-')
        return false;
    for (int i = 0; i < TH_DATE_LEN; i++) {
        if (i == 4 || i == 7)
            continue;
        if (s[i] < '0' || s[i] > '9')
            return false;
    }
    *y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    *m = (s[5] - '0') * 10 + (s[6] - '0');
    *d = (s[8] - '0') * 10 + (s[9] - '0');
    if (*y < TH_DATE_YEAR_MIN || *y > TH_DATE_YEAR_MAX || *m < 1 || *m > 12)
        return false;
    return *d >= 1 && *d <= th_date_days_in_month(*y, *m);
}

bool
th_date_valid(const char *s)
{
    int y, m, d;
    return s_parse(s, &y, &m, &d);
}

int
th_date_parse(const char *s, int *year, int *month, int *day)
{
    return s_parse(s, year, month, day) ? 0 : TH_EINVAL;
}

void
th_date_format(int year, int month, int day, char out[TH_DATE_LEN + 1])
{
    s_format(year, month, day, out);
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm), so
 * adding days is plain integer arithmetic. */
static long
s_to_days(int y, int m, int d)
{
    y -= m <= 2;
    const long era = (y >= 0 ? y : y - 399) / 400;
    const long yoe = y - era * 400;
    const long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void
s_from_days(long z, int *y, int *m, int *d)
{
    z += 719468;
    const long era = (z >= 0 ? z : z - 146096) / 146097;
    const long doe = z - era * 146097;
    const long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const long mp = (5 * doy + 2) / 153;
    *d = (int) (doy - (153 * mp + 2) / 5 + 1);
    *m = (int) (mp < 10 ? mp + 3 : mp - 9);
    *y = (int) (yoe + era * 400 + (*m <= 2));
}

int
th_date_add_days(const char *s, int days, char out[TH_DATE_LEN + 1])
{
    int y, m, d;
    if (!s_parse(s, &y, &m, &d))
        return TH_EINVAL;
    s_from_days(s_to_days(y, m, d) + days, &y, &m, &d);
    if (y < TH_DATE_YEAR_MIN || y > TH_DATE_YEAR_MAX)
        return TH_EINVAL;
    s_format(y, m, d, out);
    return 0;
}

int
th_date_init(void)
{
    /* glibc silently falls back to UTC for a zone it cannot read, so look
     * for the file first. */
    const char *dir = getenv("TZDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/%s",
             dir != NULL && dir[0] != '\0' ? dir : "/usr/share/zoneinfo", S_ZONE);
    if (access(path, R_OK) != 0)
        return TH_ENOTFOUND;
    if (setenv("TZ", S_TZ, 1) != 0)
        return TH_ENOMEM;
    tzset();
    return 0;
}

void
th_date_of_time(time_t t, char out[TH_DATE_LEN + 1])
{
    const char *tz = getenv("TZ");
    if (tz == NULL || strcmp(tz, S_TZ) != 0) {
        fprintf(stderr, "th_date_of_time: th_date_init was not called\n");
        abort();
    }
    struct tm tm;
    if (localtime_r(&t, &tm) == NULL) {
        /* Only for times far outside the supported years. */
        snprintf(out, TH_DATE_LEN + 1, "%s", "1900-01-01");
        return;
    }
    s_format(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, out);
}

void
th_date_today(char out[TH_DATE_LEN + 1])
{
    th_date_of_time(time(NULL), out);
}
