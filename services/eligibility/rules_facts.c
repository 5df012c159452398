/* ---------------------------------------------------------------------------
 * rules_facts.c: the facts of one district (a sorted set of keyed values),
 * the fact catalogue every rule set is checked against, and the small
 * number and date helpers the engine shares.
 * ---------------------------------------------------------------------------
 */
#include "rules_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "th_date.h"
#include "th_error.h"

struct rules_facts_t {
    rules_fact_t *facts; /* sorted by key */
    size_t n;
    size_t cap;
};

/* --- the catalogue ----------------------------------------------------------- */

static const char *const s_kinds[] = {"landkreis", "kreisfreie_stadt", NULL};
static const char *const s_settlement[] = {"kreisfreie_grossstadt", "staedtischer_kreis",
                                           "laendlicher_kreis_verdichtung",
                                           "duenn_besiedelt", NULL};
static const char *const s_orientation[] = {"participation", "newcomers", "unclear", NULL};
static const char *const s_fields[] = {"work_and_training",
                                       "education",
                                       "language",
                                       "housing",
                                       "health",
                                       "political_participation",
                                       "culture_sports_leisure",
                                       "intercultural_opening",
                                       "anti_discrimination",
                                       "neighbourhood_life",
                                       NULL};
static const char *const s_targets[] = {"all_residents", "newcomers", "group", NULL};
static const char *const s_disaggregations[] = {"total", "with_migration_history",
                                                "without_migration_history", NULL};

static const rules_fact_def_t s_catalogue[] = {
    {"district.exists", RULES_BOOL, RULES_FROM_DISTRICTS, false, 0, 0, NULL},
    {"district.state", RULES_TEXT, RULES_FROM_DISTRICTS, false, 0, 0, NULL},
    {"district.kind", RULES_TEXT, RULES_FROM_DISTRICTS, false, 0, 0, s_kinds},
    {"district.population", RULES_NUMBER, RULES_FROM_DISTRICTS, false, 0, 0, NULL},
    {"district.settlement_type", RULES_TEXT, RULES_FROM_DISTRICTS, false, 0, 0,
     s_settlement},
    {"concept.adopted", RULES_BOOL, RULES_FROM_CONCEPTS, true, 0, 0, NULL},
    {"concept.adopted_on", RULES_DATE, RULES_FROM_CONCEPTS, true, 0, 0, NULL},
    {"concept.age_years", RULES_NUMBER, RULES_FROM_CONCEPTS, true, 0, 0, NULL},
    {"concept.orientation", RULES_TEXT, RULES_FROM_CONCEPTS, true, 0, 0, s_orientation},
    {"concept.fields", RULES_LIST, RULES_FROM_CONCEPTS, true, 0, 0, s_fields},
    {"managers.count", RULES_NUMBER, RULES_FROM_MANAGERS, true, 0, 0, NULL},
    {"measures.count", RULES_NUMBER, RULES_FROM_MEASURES, true,
     RULES_ARG_FIELD | RULES_ARG_TARGET, 0, NULL},
    {"measures.open_to_all_share", RULES_NUMBER, RULES_FROM_MEASURES, true, RULES_ARG_FIELD,
     0, NULL},
    {"indicator.", RULES_NUMBER, RULES_FROM_VALUES, true,
     RULES_ARG_PERIOD | RULES_ARG_DISAGGREGATION, RULES_ARG_PERIOD, NULL},
    {"submission.approved", RULES_BOOL, RULES_FROM_SUBMISSIONS, true, RULES_ARG_PERIOD,
     RULES_ARG_PERIOD, NULL},
    {"application.council_decision", RULES_DATE, RULES_FROM_APPLICATIONS, true, 0, 0, NULL},
    {"application.work_plan", RULES_BOOL, RULES_FROM_APPLICATIONS, true, 0, 0, NULL},
};

/* indicator.<code>: code is [a-z][a-z0-9_]{1,63}, as the measures
 * catalogue spells indicator codes. */
static bool
s_indicator_code(const char *code)
{
    size_t n = strlen(code);
    if (n < 2 || n > 64 || code[0] < 'a' || code[0] > 'z')
        return false;
    for (size_t i = 1; i < n; i++) {
        const char c = code[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

const rules_fact_def_t *
rules__fact_def(const char *name)
{
    if (name == NULL)
        return NULL;
    if (strncmp(name, "indicator.", 10) == 0) {
        if (!s_indicator_code(name + 10))
            return NULL;
        for (size_t i = 0; i < sizeof s_catalogue / sizeof s_catalogue[0]; i++)
            if (strcmp(s_catalogue[i].name, "indicator.") == 0)
                return &s_catalogue[i];
    }
    for (size_t i = 0; i < sizeof s_catalogue / sizeof s_catalogue[0]; i++)
        if (strcmp(s_catalogue[i].name, name) == 0 && strcmp(name, "indicator.") != 0)
            return &s_catalogue[i];
    return NULL;
}

const char *const *
rules__arg_values(unsigned arg)
{
    switch (arg) {
    case RULES_ARG_FIELD: return s_fields;
    case RULES_ARG_TARGET: return s_targets;
    case RULES_ARG_DISAGGREGATION: return s_disaggregations;
    default: return NULL;
    }
}

bool
rules__one_of(const char *s, const char *const *values)
{
    for (size_t i = 0; values[i] != NULL; i++)
        if (strcmp(s, values[i]) == 0)
            return true;
    return false;
}

int
rules_fact_type(const char *key, rules_type_t *type)
{
    if (key == NULL)
        return TH_EINVAL;
    char name[128];
    const size_t n = strcspn(key, "{");
    if (n >= sizeof name)
        return TH_EINVAL;
    memcpy(name, key, n);
    name[n] = '\0';
    const rules_fact_def_t *def = rules__fact_def(name);
    if (def == NULL)
        return TH_EINVAL;
    *type = def->type;
    return 0;
}

/* --- numbers and dates --------------------------------------------------------- */

int
rules_parse_micro(const char *text, int64_t *micro)
{
    if (text == NULL)
        return TH_EINVAL;
    const char *p = text;
    const bool negative = *p == '-';
    if (negative)
        p++;
    /* 10^12 in whole units keeps micro far inside int64 and every product
     * of two of them inside __int128. */
    int64_t whole = 0;
    size_t digits = 0;
    for (; *p >= '0' && *p <= '9'; p++, digits++) {
        if (digits == 13)
            return TH_EINVAL;
        whole = whole * 10 + (*p - '0');
    }
    if (digits == 0)
        return TH_EINVAL;
    int64_t fraction = 0;
    size_t decimals = 0;
    if (*p == '.') {
        p++;
        for (; *p >= '0' && *p <= '9'; p++, decimals++) {
            if (decimals == 6)
                return TH_ETOOBIG; /* more precision than the engine keeps */
            fraction = fraction * 10 + (*p - '0');
        }
        if (decimals == 0)
            return TH_EINVAL;
    }
    if (*p != '\0')
        return TH_EINVAL;
    for (; decimals < 6; decimals++)
        fraction *= 10;
    const int64_t value = whole * RULES_MICRO + fraction;
    *micro = negative ? -value : value;
    return 0;
}

void
rules__format_micro(int64_t micro, char *out, size_t size)
{
    const uint64_t m = micro < 0 ? (uint64_t) 0 - (uint64_t) micro : (uint64_t) micro;
    const uint64_t whole = m / RULES_MICRO;
    uint64_t fraction = m % RULES_MICRO;
    if (fraction == 0) {
        snprintf(out, size, "%s%" PRIu64, micro < 0 ? "-" : "", whole);
        return;
    }
    int width = 6;
    while (fraction % 10 == 0) {
        fraction /= 10;
        width--;
    }
    snprintf(out, size, "%s%" PRIu64 ".%0*" PRIu64, micro < 0 ? "-" : "", whole, width,
             fraction);
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm), so
 * distances between dates are one subtraction. */
static long
s_days(int y, int m, int d)
{
    y -= m <= 2;
    const long era = (y >= 0 ? y : y - 399) / 400;
    const long yoe = y - era * 400;
    const long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The anniversary of (m, d) in year y: 29 Feb is 28 Feb in a common year
 * (a period that would end on a day the month lacks ends on its last day,
 * as § 188 (3) BGB counts). */
static long
s_anniversary(int y, int m, int d)
{
    const int last = th_date_days_in_month(y, m);
    return s_days(y, m, d > last ? last : d);
}

int
rules__date_add_years(const char *date, int years, char out[11])
{
    int y, m, d;
    if (th_date_parse(date, &y, &m, &d) != 0)
        return TH_EINVAL;
    y += years;
    if (y < TH_DATE_YEAR_MIN || y > TH_DATE_YEAR_MAX)
        return TH_EINVAL;
    const int last = th_date_days_in_month(y, m);
    th_date_format(y, m, d > last ? last : d, out);
    return 0;
}

int
rules_age_years(const char *from, const char *to, int64_t *micro)
{
    int fy, fm, fd, ty, tm, td;
    if (th_date_parse(from, &fy, &fm, &fd) != 0 || th_date_parse(to, &ty, &tm, &td) != 0)
        return TH_EINVAL;
    const long start = s_days(fy, fm, fd), end = s_days(ty, tm, td);
    if (end < start)
        return TH_EINVAL;
    int years = ty - fy;
    if (s_anniversary(fy + years, fm, fd) > end)
        years--;
    const long last = s_anniversary(fy + years, fm, fd);
    const long next = s_anniversary(fy + years + 1, fm, fd);
    /* Floor, so a concept is never younger on paper than it is. */
    *micro = (int64_t) years * RULES_MICRO +
             (int64_t) (end - last) * RULES_MICRO / (next - last);
    return 0;
}

/* --- values ---------------------------------------------------------------------- */

void
rules__value_clear(rules_value_t *v)
{
    free(v->text);
    for (size_t i = 0; i < v->n_items; i++)
        free(v->items[i]);
    free(v->items);
    memset(v, 0, sizeof *v);
}

char *
rules__value_text(const rules_value_t *v)
{
    char buf[64];
    switch (v->type) {
    case RULES_ABSENT: return strdup("");
    case RULES_BOOL: return strdup(v->b ? "true" : "false");
    case RULES_NUMBER: rules__format_micro(v->micro, buf, sizeof buf); return strdup(buf);
    case RULES_DATE:
    case RULES_TEXT: return strdup(v->text ? v->text : "");
    case RULES_LIST: break;
    }
    size_t len = 3;
    for (size_t i = 0; i < v->n_items; i++)
        len += strlen(v->items[i]) + 2;
    char *s = malloc(len);
    if (s == NULL)
        return NULL;
    char *p = s;
    *p++ = '[';
    for (size_t i = 0; i < v->n_items; i++) {
        const size_t n = strlen(v->items[i]);
        if (i > 0) {
            *p++ = ',';
            *p++ = ' ';
        }
        memcpy(p, v->items[i], n);
        p += n;
    }
    *p++ = ']';
    *p = '\0';
    return s;
}

/* --- the facts of a district ------------------------------------------------------ */

rules_facts_t *
rules_facts_new(void)
{
    return calloc(1, sizeof(rules_facts_t));
}

void
rules_facts_destroy(rules_facts_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    rules_facts_t *self = *self_p;
    for (size_t i = 0; i < self->n; i++) {
        free(self->facts[i].key);
        free(self->facts[i].source);
        rules__value_clear(&self->facts[i].value);
    }
    free(self->facts);
    free(self);
    *self_p = NULL;
}

/* Takes value (its owned parts) into the fact key, replacing what was
 * there; on failure value's parts are freed. */
static int
s_put(rules_facts_t *self, const char *key, rules_value_t *value, const char *source)
{
    char *src = strdup(source ? source : "");
    if (src == NULL) {
        rules__value_clear(value);
        return TH_ENOMEM;
    }
    size_t lo = 0, hi = self->n;
    while (lo < hi) {
        const size_t mid = (lo + hi) / 2;
        const int c = strcmp(self->facts[mid].key, key);
        if (c == 0) {
            rules__value_clear(&self->facts[mid].value);
            free(self->facts[mid].source);
            self->facts[mid].value = *value;
            self->facts[mid].source = src;
            return 0;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    char *k = strdup(key);
    if (k == NULL)
        goto fail;
    if (self->n == self->cap) {
        const size_t cap = self->cap ? self->cap * 2 : 16;
        rules_fact_t *grown = realloc(self->facts, cap * sizeof *grown);
        if (grown == NULL) {
            free(k);
            goto fail;
        }
        self->facts = grown;
        self->cap = cap;
    }
    memmove(&self->facts[lo + 1], &self->facts[lo], (self->n - lo) * sizeof self->facts[0]);
    self->facts[lo] = (rules_fact_t){.key = k, .value = *value, .source = src};
    self->n++;
    return 0;
fail:
    free(src);
    rules__value_clear(value);
    return TH_ENOMEM;
}

int
rules_facts_set_bool(rules_facts_t *self, const char *key, bool b, const char *source)
{
    rules_value_t v = {.type = RULES_BOOL, .b = b};
    return s_put(self, key, &v, source);
}

int
rules_facts_set_number(rules_facts_t *self, const char *key, int64_t micro,
                       const char *source)
{
    rules_value_t v = {.type = RULES_NUMBER, .micro = micro};
    return s_put(self, key, &v, source);
}

static int
s_set_text(rules_facts_t *self, const char *key, rules_type_t type, const char *text,
           const char *source)
{
    rules_value_t v = {.type = type, .text = strdup(text ? text : "")};
    if (v.text == NULL)
        return TH_ENOMEM;
    return s_put(self, key, &v, source);
}

int
rules_facts_set_date(rules_facts_t *self, const char *key, const char *date,
                     const char *source)
{
    return s_set_text(self, key, RULES_DATE, date, source);
}

int
rules_facts_set_text(rules_facts_t *self, const char *key, const char *text,
                     const char *source)
{
    return s_set_text(self, key, RULES_TEXT, text, source);
}

int
rules_facts_set_list(rules_facts_t *self, const char *key, const char *const *items,
                     size_t n, const char *source)
{
    rules_value_t v = {.type = RULES_LIST};
    if (n > 0) {
        v.items = calloc(n, sizeof *v.items);
        if (v.items == NULL)
            return TH_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        v.items[i] = strdup(items[i]);
        if (v.items[i] == NULL) {
            rules__value_clear(&v);
            return TH_ENOMEM;
        }
        v.n_items = i + 1;
    }
    return s_put(self, key, &v, source);
}

int
rules_facts_set_absent(rules_facts_t *self, const char *key, const char *source)
{
    rules_value_t v = {.type = RULES_ABSENT};
    return s_put(self, key, &v, source);
}

size_t
rules_facts_count(const rules_facts_t *self)
{
    return self ? self->n : 0;
}

const rules_fact_t *
rules_facts_at(const rules_facts_t *self, size_t i)
{
    return self && i < self->n ? &self->facts[i] : NULL;
}

const rules_fact_t *
rules_facts_find(const rules_facts_t *self, const char *key)
{
    if (self == NULL || key == NULL)
        return NULL;
    size_t lo = 0, hi = self->n;
    while (lo < hi) {
        const size_t mid = (lo + hi) / 2;
        const int c = strcmp(self->facts[mid].key, key);
        if (c == 0)
            return &self->facts[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}
