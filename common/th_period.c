/* ---------------------------------------------------------------------------
 * th_period.c: reporting period ids (2024, 2024S1, 2024Q3, 2024-05)
 * ---------------------------------------------------------------------------
 */
#include "th_period.h"

#include <stdio.h>
#include <string.h>

#include "th_error.h"

static bool
s_digit(char c)
{
    return c >= '0' && c <= '9';
}

int
th_period_parse(const char *s, th_period_t *out)
{
    if (s == NULL)
        return TH_EINVAL;
    const size_t len = strlen(s);
    if (len < 4 || !s_digit(s[0]) || !s_digit(s[1]) || !s_digit(s[2]) || !s_digit(s[3]))
        return TH_EINVAL;
    th_period_t p = {
        .year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0'),
        .kind = TH_PERIOD_YEAR,
        .index = 0,
    };
    if (p.year < TH_DATE_YEAR_MIN || p.year > TH_DATE_YEAR_MAX)
        return TH_EINVAL;
    if (len == 4) {
        /* the year itself */
    } else if (len == 6 && s[4] == 'S' && (s[5] == '1' || s[5] == '2')) {
        p.kind = TH_PERIOD_HALF;
        p.index = s[5] - '0';
    } else if (len == 6 && s[4] == 'Q' && s[5] >= '1' && s[5] <= '4') {
        p.kind = TH_PERIOD_QUARTER;
        p.index = s[5] - '0';
    } else if (len == 7 && s[4] == '-' && s_digit(s[5]) && s_digit(s[6])) {
        p.kind = TH_PERIOD_MONTH;
        p.index = (s[5] - '0') * 10 + (s[6] - '0');
        if (p.index < 1 || p.index > 12)
            return TH_EINVAL;
    } else {
        return TH_EINVAL;
    }
    *out = p;
    return 0;
}

bool
th_period_valid(const char *s)
{
    th_period_t p;
    return th_period_parse(s, &p) == 0;
}

void
th_period_format(const th_period_t *p, char out[TH_PERIOD_LEN + 1])
{
    /* Unsigned and reduced, so the compiler sees every id fits. */
    const unsigned year = (unsigned) p->year % 10000u;
    const unsigned index = (unsigned) p->index % 100u;
    switch (p->kind) {
    case TH_PERIOD_HALF:
        snprintf(out, TH_PERIOD_LEN + 1, "%04uS%u", year, index % 10u);
        break;
    case TH_PERIOD_QUARTER:
        snprintf(out, TH_PERIOD_LEN + 1, "%04uQ%u", year, index % 10u);
        break;
    case TH_PERIOD_MONTH:
        snprintf(out, TH_PERIOD_LEN + 1, "%04u-%02u", year, index);
        break;
    case TH_PERIOD_YEAR:
    default:
        snprintf(out, TH_PERIOD_LEN + 1, "%04u", year);
        break;
    }
}

/* The months p spans, 1-12. */
static void
s_months(const th_period_t *p, int *first, int *last)
{
    switch (p->kind) {
    case TH_PERIOD_HALF:
        *first = (p->index - 1) * 6 + 1;
        *last = p->index * 6;
        break;
    case TH_PERIOD_QUARTER:
        *first = (p->index - 1) * 3 + 1;
        *last = p->index * 3;
        break;
    case TH_PERIOD_MONTH:
        *first = *last = p->index;
        break;
    case TH_PERIOD_YEAR:
    default:
        *first = 1;
        *last = 12;
        break;
    }
}

void
th_period_first_day(const th_period_t *p, char out[TH_DATE_LEN + 1])
{
    int first, last;
    s_months(p, &first, &last);
    th_date_format(p->year, first, 1, out);
}

void
th_period_last_day(const th_period_t *p, char out[TH_DATE_LEN + 1])
{
    int first, last;
    s_months(p, &first, &last);
    th_date_format(p->year, last, th_date_days_in_month(p->year, last), out);
}

/* Month number since year 0 of a period's first and last month. */
static void
s_span(const th_period_t *p, long *from, long *to)
{
    int first, last;
    s_months(p, &first, &last);
    *from = (long) p->year * 12 + first;
    *to = (long) p->year * 12 + last;
}

int
th_period_compare(const th_period_t *a, const th_period_t *b)
{
    long af, at, bf, bt;
    s_span(a, &af, &at);
    s_span(b, &bf, &bt);
    if (af != bf)
        return af < bf ? -1 : 1;
    if (at != bt)
        return at < bt ? -1 : 1;
    return 0;
}

bool
th_period_contains(const th_period_t *outer, const th_period_t *inner)
{
    long of, ot, in_f, in_t;
    s_span(outer, &of, &ot);
    s_span(inner, &in_f, &in_t);
    return of <= in_f && in_t <= ot;
}

int
th_period_of_date(const char *date, th_period_kind_t kind, th_period_t *out)
{
    int y, m, d;
    if (th_date_parse(date, &y, &m, &d) != 0)
        return TH_EINVAL;
    out->year = y;
    out->kind = kind;
    switch (kind) {
    case TH_PERIOD_HALF:
        out->index = (m - 1) / 6 + 1;
        break;
    case TH_PERIOD_QUARTER:
        out->index = (m - 1) / 3 + 1;
        break;
    case TH_PERIOD_MONTH:
        out->index = m;
        break;
    case TH_PERIOD_YEAR:
        out->index = 0;
        break;
    default:
        return TH_EINVAL;
    }
    return 0;
}

int
th_period_next(const th_period_t *p, th_period_t *out)
{
    const int per_year = p->kind == TH_PERIOD_HALF      ? 2
                         : p->kind == TH_PERIOD_QUARTER ? 4
                         : p->kind == TH_PERIOD_MONTH   ? 12
                                                        : 1;
    th_period_t next = *p;
    if (p->kind == TH_PERIOD_YEAR || p->index >= per_year) {
        next.year++;
        next.index = p->kind == TH_PERIOD_YEAR ? 0 : 1;
    } else {
        next.index++;
    }
    if (next.year > TH_DATE_YEAR_MAX)
        return TH_EINVAL;
    *out = next;
    return 0;
}
