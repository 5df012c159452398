/* ---------------------------------------------------------------------------
 * th_money.h: amounts of money in euro cents.
 *
 * Budgets and entitlements are int64 euro cents, never floating point: a
 * cent is never lost to rounding, and sums are exact. People type and read
 * euros; these convert.
 * ---------------------------------------------------------------------------
 */
#ifndef TH_MONEY_H
#define TH_MONEY_H

#include <stddef.h>
#include <stdint.h>

/* The most euro cents teilhabe accepts in one amount (10^15 cents, ten
 * thousand billion euros): far above any budget, far below INT64_MAX, so
 * sums of many amounts cannot overflow. */
#define TH_MONEY_MAX_CENTS 1000000000000000LL

/* Parses euros as typed by a person into cents: digits, optionally a
 * decimal point or comma and one or two decimals ("1500", "1500.5",
 * "57000,00"), optionally a leading '-'. No thousands separators (is
 * "1.500" one and a half or fifteen hundred?) and no currency sign. 0, or
 * TH_EINVAL when text is not such an amount or above TH_MONEY_MAX_CENTS. */
int th_money_parse_eur(const char *text, int64_t *cents);

/* Formats cents as euros with two decimals and no separators
 * ("57000.00", "-0.05"): what CSV and JSON consumers parse. */
void th_money_format_eur(int64_t cents, char *out, size_t size);

#endif /* TH_MONEY_H */
