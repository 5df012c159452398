/* ---------------------------------------------------------------------------
 * th_money.c: euros <-> euro cents
 * ---------------------------------------------------------------------------
 */
#include "th_money.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "th_error.h"

int
th_money_parse_eur(const char *text, int64_t *cents)
{
    if (text == NULL || text[0] == '\0')
        return TH_EINVAL;
    const char *p = text;
    const bool negative = *p == '-';
    if (negative)
        p++;
    int64_t euros = 0;
    size_t digits = 0;
    for (; *p >= '0' && *p <= '9'; p++, digits++) {
        if (euros > TH_MONEY_MAX_CENTS / 100)
            return TH_EINVAL;
        euros = euros * 10 + (*p - '0');
    }
    if (digits == 0)
        return TH_EINVAL;
    int64_t fraction = 0;
    if (*p == '.' || *p == ',') {
        p++;
        size_t decimals = 0;
        for (; *p >= '0' && *p <= '9'; p++, decimals++) {
            if (decimals == 2)
                return TH_EINVAL;
            fraction = fraction * 10 + (*p - '0');
        }
        if (decimals == 0)
            return TH_EINVAL;
        if (decimals == 1)
            fraction *= 10;
    }
    if (*p != '\0')
        return TH_EINVAL;
    const int64_t value = euros * 100 + fraction;
    if (value > TH_MONEY_MAX_CENTS)
        return TH_EINVAL;
    *cents = negative ? -value : value;
    return 0;
}

void
th_money_format_eur(int64_t cents, char *out, size_t size)
{
    /* Not -cents: INT64_MIN has no positive counterpart. */
    const uint64_t magnitude = cents < 0 ? (uint64_t) 0 - (uint64_t) cents : (uint64_t) cents;
    snprintf(out, size, "%s%" PRIu64 ".%02" PRIu64, cents < 0 ? "-" : "", magnitude / 100,
             magnitude % 100);
}
