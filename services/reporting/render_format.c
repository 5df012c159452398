/* ---------------------------------------------------------------------------
 * render_format.c: numbers and dates as the report's language writes them
 * (render.h), and plain for machines (render_int.h).
 *
 * Every number is an int64 in its unit (millionths, cents); it is rounded
 * and written with integer arithmetic only, so 0.5 rounds the same on
 * every machine and no float ever shows "0.30000000000000004".
 * ---------------------------------------------------------------------------
 */
#include "render.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "render_int.h"
#include "th_date.h"

#define VT(name) TEILHABE__REPORTING__V1__VALUE_TYPE__VALUE_TYPE_##name

/* Room for any int64 with separators, six decimals and a currency sign. */
#define S_NUMBER_MAX 64
/* DECIMAL and PERCENT are millionths: at most six digits to show. */
#define S_SCALE 6

static const uint64_t s_pow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000};

bool
report__lang_en(const char *lang)
{
    return lang != NULL && strcmp(lang, "en") == 0;
}

/* Copies text into out as snprintf would: at most size bytes with the NUL
 * (nothing when size is 0); returns the length of text. */
static size_t
s_copy(const char *text, char *out, size_t size)
{
    const size_t len = strlen(text);
    if (size > 0) {
        const size_t n = len < size ? len : size - 1;
        memcpy(out, text, n);
        out[n] = '\0';
    }
    return len;
}

/* The magnitude of value, a number of 10^-scale units, rounded half away
 * from zero to decimals digits, into digits (S_NUMBER_MAX bytes) with
 * group between thousands (NUL: none) and point before the decimals.
 * Returns whether the rounded number is negative: -0.4 shown without
 * decimals is "0", not "-0". */
static bool
s_fixed(int64_t value, int scale, int decimals, char group, char point, char *digits)
{
    if (decimals < 0)
        decimals = 0;
    if (decimals > scale)
        decimals = scale;
    /* Not -value: INT64_MIN has no positive counterpart. */
    const uint64_t magnitude =
        value < 0 ? (uint64_t) 0 - (uint64_t) value : (uint64_t) value;
    const uint64_t unit = s_pow10[scale - decimals];
    uint64_t q = magnitude / unit;
    const uint64_t rest = magnitude % unit;
    if (unit > 1 && rest >= unit - rest) /* rest >= unit / 2, without overflow */
        q++;
    const uint64_t whole = q / s_pow10[decimals];
    const uint64_t frac = q % s_pow10[decimals];

    /* The whole part backwards, a group separator every three digits. */
    char rev[S_NUMBER_MAX];
    size_t n = 0;
    uint64_t w = whole;
    int k = 0;
    do {
        if (k > 0 && k % 3 == 0 && group != '\0')
            rev[n++] = group;
        rev[n++] = (char) ('0' + w % 10);
        w /= 10;
        k++;
    } while (w > 0);
    size_t len = 0;
    while (n > 0)
        digits[len++] = rev[--n];
    if (decimals > 0) {
        digits[len++] = point;
        for (int d = decimals - 1; d >= 0; d--)
            digits[len++] = (char) ('0' + frac / s_pow10[d] % 10);
    }
    digits[len] = '\0';
    return value < 0 && q != 0;
}

/* The digits shown for type: how many units of 10^-scale value has. */
static int
s_scale(report_value_type_t type)
{
    switch (type) {
    case VT(DECIMAL):
    case VT(PERCENT): return S_SCALE;
    case VT(MONEY): return 2;
    default: return 0;
    }
}

size_t
report_format_number(int64_t value, Teilhabe__Reporting__V1__ValueType type, int decimals,
                     const char *lang, char *out, size_t size)
{
    const bool en = report__lang_en(lang);
    const int scale = s_scale(type);
    const int shown = type == VT(MONEY) ? 2 : decimals;
    char digits[S_NUMBER_MAX];
    const bool negative =
        s_fixed(value, scale, shown, en ? ',' : '.', en ? '.' : ',', digits);
    const char *sign = negative ? "-" : "";
    char text[S_NUMBER_MAX + 16];
    if (type == VT(PERCENT))
        snprintf(text, sizeof text, en ? "%s%s%%" : "%s%s %%", sign, digits);
    else if (type == VT(MONEY) && en)
        snprintf(text, sizeof text, "%s\xe2\x82\xac%s", sign, digits);
    else if (type == VT(MONEY))
        snprintf(text, sizeof text, "%s%s \xe2\x82\xac", sign, digits);
    else
        snprintf(text, sizeof text, "%s%s", sign, digits);
    return s_copy(text, out, size);
}

size_t
report__format_plain(int64_t value, report_value_type_t type, int decimals, char *out,
                     size_t size)
{
    const int shown = type == VT(MONEY) ? 2 : decimals;
    char digits[S_NUMBER_MAX];
    char text[S_NUMBER_MAX + 2];
    const bool negative = s_fixed(value, s_scale(type), shown, '\0', '.', digits);
    snprintf(text, sizeof text, "%s%s", negative ? "-" : "", digits);
    return s_copy(text, out, size);
}

size_t
report_format_date(const char *iso, const char *lang, char *out, size_t size)
{
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    if (iso == NULL)
        return s_copy("", out, size);
    int year, month, day;
    if (!th_date_valid(iso) || th_date_parse(iso, &year, &month, &day) != 0)
        return s_copy(iso, out, size);
    char text[32];
    if (report__lang_en(lang))
        snprintf(text, sizeof text, "%d %s %04d", day, months[month - 1], year);
    else
        snprintf(text, sizeof text, "%02d.%02d.%04d", day, month, year);
    return s_copy(text, out, size);
}

size_t
report_format_cell(const report_cell_t *cell, const Teilhabe__Reporting__V1__Column *column,
                   const char *lang, char *out, size_t size)
{
    if (cell->suppressed)
        return s_copy(".", out, size);
    if (cell->empty)
        return s_copy("\xe2\x80\x93", out, size); /* – */
    const report_value_type_t type = column != NULL ? column->type : VT(TEXT);
    if (type == VT(TEXT))
        return s_copy(cell->text != NULL ? cell->text : "", out, size);
    if (type == VT(DATE))
        return report_format_date(cell->text, lang, out, size);
    return report_format_number(cell->number, type, column->decimals, lang, out, size);
}
