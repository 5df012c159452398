/* ---------------------------------------------------------------------------
 * values.c: indicator values: PutValues (all or nothing; the ministry of
 * the Land or a manager of the district) and ListValues (the read rule for
 * aggregates, th_auth_reads_aggregates: analysts read them too).
 *
 * A value is numerator and denominator (0 for a plain count), never the
 * rate, which every read computes from them: a rate can never disagree
 * with its parts. PutValues checks every value before it writes one (a
 * violation names it: values[3].period), asks the registry about each
 * district once, and writes them all in one transaction of three
 * statements, with one audit row and one event per district whose values
 * changed.
 * ---------------------------------------------------------------------------
 */
#include "measures.h"

#include <czmq.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "teilhabe/v1/measures.pb-c.h"
#include "th_answer.h"
#include "th_auth.h"
#include "th_check.h"
#include "th_enum.h"
#include "th_error.h"
#include "th_field.h"
#include "th_page.h"
#include "th_period.h"
#include "th_row.h"
#include "th_status.h"

#define S_TOTAL TEILHABE__MEASURES__V1__DISAGGREGATION__DISAGGREGATION_TOTAL

/* The checks of one value that need nothing stored; its period's days
 * into first / last. */
static int
s_check_value(th_call_t *call, size_t i, const value_t *v, char first[TH_DATE_LEN + 1],
              char last[TH_DATE_LEN + 1])
{
    int rc;
    th_period_t period;
#define S_F(name) th_call_printf(call, "values[%zu]." name, i)
    if ((rc = th_field_ags(call, S_F("ags"), v->ags)) != TH_OK)
        return rc;
    if (!measures_indicator_code_valid(v->indicator_code))
        return th_answer_invalid(call, S_F("indicator_code"),
                                 "\"%.64s\" is not an indicator code (2 to 64 of a-z, 0-9 "
                                 "and _)",
                                 v->indicator_code);
    if ((rc = th_field_period(call, S_F("period"), v->period, false, &period)) != TH_OK ||
        (rc = th_field_enum(call, S_F("disaggregation"),
                            &teilhabe__measures__v1__disaggregation__descriptor,
                            (int) v->disaggregation, true)) != TH_OK ||
        (rc = th_field_range(call, S_F("numerator"), v->numerator, 0, INT64_MAX)) !=
            TH_OK ||
        (rc = th_field_range(call, S_F("denominator"), v->denominator, 0, INT64_MAX)) !=
            TH_OK ||
        (rc = th_field_line(call, S_F("source"), v->source, 0, 200)) != TH_OK ||
        (rc = th_field_paragraphs(call, S_F("note"), v->note, 0, 1000)) != TH_OK)
        return rc;
#undef S_F
    th_period_first_day(&period, first);
    th_period_last_day(&period, last);
    return TH_OK;
}

/* The checks of a value against its indicator. */
static int
s_check_against(th_call_t *call, size_t i, const value_t *v, const indicator_t *ind)
{
    bool supported = false;
    for (size_t k = 0; k < ind->n_disaggregations; k++)
        supported = supported || ind->disaggregations[k] == v->disaggregation;
    char token[TH_ENUM_TEXT_SIZE];
    if (!supported)
        return th_answer_invalid(
            call, th_call_printf(call, "values[%zu].disaggregation", i),
            "indicator %s has no values %s (only total%s)", ind->code,
            th_enum_token(&teilhabe__measures__v1__disaggregation__descriptor,
                          (int) v->disaggregation, token, sizeof token),
            ind->n_disaggregations > 1 ? " and by migration history" : "");
    const char *field = th_call_printf(call, "values[%zu].denominator", i);
    if (ind->denominator[0] != '\0' && v->denominator == 0)
        return th_answer_invalid(
            call, field,
            "must be above 0: indicator %s is a rate (%s), and a rate of "
            "0 cannot be computed",
            ind->code, ind->denominator);
    if (ind->denominator[0] == '\0' && v->denominator != 0)
        return th_answer_invalid(
            call, field,
            "must be 0: indicator %s is a plain count (its value is the "
            "numerator)",
            ind->code);
    return TH_OK;
}

MEASURES_HANDLER(measures_values_put)
{
    static const char right[] = "writing indicator values";
    const Teilhabe__Measures__V1__PutValuesRequest *req = (const void *) request;
    const size_t n = req->n_values;
    int rc;
    if ((rc = measures_need_writer(call, right)) != TH_OK)
        return rc;
    if (n == 0)
        return th_answer_invalid(call, "values", "name at least one value");
    if ((rc = th_field_list_size(call, "values", n, MEASURES_VALUES_MAX)) != TH_OK)
        return rc;
    measures_value_rows_t rows = {.n = n};
    char ***columns[] = {&rows.ags,          &rows.code,        &rows.period,
                         &rows.period_start, &rows.period_end,  &rows.disaggregation,
                         &rows.numerator,    &rows.denominator, &rows.source,
                         &rows.note};
    for (size_t c = 0; c < sizeof columns / sizeof columns[0]; c++)
        *columns[c] = th_call_alloc(call, n * sizeof(char *));
    /* Every value on its own, and no key twice. */
    zhashx_t *keys = zhashx_new();
    if (keys == NULL)
        return th_call_error(call, TH_INTERNAL, "out of memory");
    rc = TH_OK;
    for (size_t i = 0; i < n && rc == TH_OK; i++) {
        const value_t *v = req->values[i];
        char first[TH_DATE_LEN + 1], last[TH_DATE_LEN + 1];
        if ((rc = s_check_value(call, i, v, first, last)) != TH_OK)
            break;
        rows.ags[i] = v->ags;
        rows.code[i] = v->indicator_code;
        rows.period[i] = v->period;
        rows.period_start[i] = th_call_strdup(call, first);
        rows.period_end[i] = th_call_strdup(call, last);
        rows.disaggregation[i] = (char *) th_row_enum_param(
            call, &teilhabe__measures__v1__disaggregation__descriptor,
            (int) v->disaggregation);
        rows.numerator[i] = th_call_printf(call, "%" PRId64, v->numerator);
        rows.denominator[i] = th_call_printf(call, "%" PRId64, v->denominator);
        rows.source[i] = v->source;
        rows.note[i] = v->note;
        const char *key = th_call_printf(call, "%s|%s|%s|%s", v->ags, v->indicator_code,
                                         v->period, rows.disaggregation[i]);
        if (zhashx_insert(keys, key, (void *) key) != 0)
            rc = th_answer_invalid(
                call, th_call_printf(call, "values[%zu]", i),
                "gives district %s, indicator %s, period %s, %s a second "
                "time",
                v->ags, v->indicator_code, v->period, rows.disaggregation[i]);
    }
    zhashx_destroy(&keys);
    if (rc != TH_OK)
        return rc;

    /* The indicators they name, from the catalogue (one statement). */
    indicator_t **inds = NULL;
    size_t n_inds = 0;
    if (measures_store_indicators_named(call, rows.code, n, &inds, &n_inds) != 0)
        return th_answer_db_failure(call, "read the indicators");
    for (size_t i = 0; i < n; i++) {
        const indicator_t *ind = NULL;
        for (size_t k = 0; k < n_inds && ind == NULL; k++)
            if (strcmp(inds[k]->code, rows.code[i]) == 0)
                ind = inds[k];
        if (ind == NULL)
            return th_answer_invalid(
                call, th_call_printf(call, "values[%zu].indicator_code", i),
                "no indicator has the code \"%s\"; ListIndicators shows "
                "the catalogue",
                rows.code[i]);
        if ((rc = s_check_against(call, i, req->values[i], ind)) != TH_OK)
            return rc;
    }

    /* Each district once: the right to write there, and that it exists on
     * the last day of its latest period (what the registry answers). */
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++)
            seen = strcmp(rows.ags[k], rows.ags[i]) == 0;
        if (seen)
            continue;
        const char *latest = rows.period_end[i];
        for (size_t k = i + 1; k < n; k++)
            if (strcmp(rows.ags[k], rows.ags[i]) == 0 &&
                strcmp(rows.period_end[k], latest) > 0)
                latest = rows.period_end[k];
        if ((rc = measures_check_write(
                 call, th_call_printf(call, "values[%zu].ags", i), rows.ags[i], latest,
                 th_call_printf(call, "writing the indicator values of district %s",
                                rows.ags[i]))) != TH_OK)
            return rc;
    }

    TH_CALL_BEGIN_WRITE(call);
    value_t **before = NULL, **after = NULL;
    size_t n_before = 0, n_after = 0;
    int *changed = NULL;
    const char *by = th_call_principal(call)->id;
    if (measures_store_lock_values(call, &rows, &before, &n_before) != 0)
        return th_answer_db_failure(call, "read the values");
    if (measures_store_put_values(call, &rows, by, &changed) != 0)
        return th_answer_db_failure(call, "write the values");
    if (measures_store_read_values(call, &rows, &after, &n_after) != 0 || n_after != n)
        return th_answer_db_failure(call, "read the values written");
    Teilhabe__Measures__V1__PutValuesResponse *resp = th_call_alloc(call, sizeof *resp);
    teilhabe__measures__v1__put_values_response__init(resp);
    resp->values = after;
    resp->n_values = n_after;
    for (size_t i = 0; i < n; i++) {
        resp->created += changed[i] == 1;
        resp->updated += changed[i] == 2;
        resp->unchanged += changed[i] == 0;
    }
    /* One audit row and one event per district whose values changed:
     * before, the values replaced; after, every value written. */
    for (size_t i = 0; i < n; i++) {
        bool first = changed[i] != 0;
        for (size_t k = 0; k < i && first; k++)
            first = !(changed[k] != 0 && strcmp(rows.ags[k], rows.ags[i]) == 0);
        if (!first)
            continue;
        Teilhabe__Measures__V1__DistrictValues *was = th_call_alloc(call, sizeof *was);
        Teilhabe__Measures__V1__DistrictValues *now = th_call_alloc(call, sizeof *now);
        teilhabe__measures__v1__district_values__init(was);
        teilhabe__measures__v1__district_values__init(now);
        was->ags = now->ags = rows.ags[i];
        was->values = th_call_alloc(call, n * sizeof *was->values);
        now->values = th_call_alloc(call, n * sizeof *now->values);
        for (size_t k = i; k < n; k++) {
            if (changed[k] == 0 || strcmp(rows.ags[k], rows.ags[i]) != 0)
                continue;
            now->values[now->n_values++] = after[k];
            for (size_t b = 0; changed[k] == 2 && b < n_before; b++)
                if (strcmp(before[b]->ags, rows.ags[k]) == 0 &&
                    strcmp(before[b]->indicator_code, rows.code[k]) == 0 &&
                    strcmp(before[b]->period, rows.period[k]) == 0 &&
                    before[b]->disaggregation == after[k]->disaggregation)
                    was->values[was->n_values++] = before[b];
        }
        if ((rc = th_call_record(call,
                                 th_call_printf(call, "districts/%s/values", rows.ags[i]),
                                 was->n_values > 0 ? &was->base : NULL, &now->base,
                                 "values.put", &now->base)) != TH_OK)
            return rc;
    }
    *response = &resp->base;
    return TH_OK;
}

MEASURES_HANDLER(measures_values_list)
{
    const Teilhabe__Measures__V1__ListValuesRequest *req = (const void *) request;
    const th_principal_t *p = th_call_principal(call);
    const ProtobufCEnumDescriptor *dis =
        &teilhabe__measures__v1__disaggregation__descriptor;
    th_period_t from, to;
    int rc;
    if ((rc = th_auth_need_principal(call)) != TH_OK)
        return rc;
    if ((req->ags[0] != '\0' && (rc = th_field_ags(call, "ags", req->ags)) != TH_OK) ||
        (rc = th_field_land(call, "state_code", req->state_code, true)) != TH_OK ||
        (rc = th_field_enum(call, "disaggregation", dis, (int) req->disaggregation,
                            false)) != TH_OK ||
        (rc = th_field_period(call, "from_period", req->from_period, true, &from)) !=
            TH_OK ||
        (rc = th_field_period(call, "to_period", req->to_period, true, &to)) != TH_OK)
        return rc;
    if (req->indicator_code[0] != '\0' &&
        !measures_indicator_code_valid(req->indicator_code))
        return th_answer_invalid(call, "indicator_code",
                                 "\"%.64s\" is not an indicator code (2 to 64 of a-z, 0-9 "
                                 "and _)",
                                 req->indicator_code);
    char from_day[TH_DATE_LEN + 1] = "", to_day[TH_DATE_LEN + 1] = "";
    if (req->from_period[0] != '\0')
        th_period_first_day(&from, from_day);
    if (req->to_period[0] != '\0')
        th_period_last_day(&to, to_day);
    if (from_day[0] != '\0' && to_day[0] != '\0' && strcmp(to_day, from_day) < 0)
        return th_answer_invalid(call, "to_period", "%s ends before %s begins",
                                 req->to_period, req->from_period);
    /* The Land whose values are asked for: the district's, the one named,
     * or the caller's own; every Land only for a caller without one that
     * reads aggregates (admin, analysts and services without a Land). */
    char ags_land[3];
    const char *land = NULL;
    if (req->ags[0] != '\0') {
        snprintf(ags_land, sizeof ags_land, "%.2s", req->ags);
        land = ags_land;
    } else if (req->state_code[0] != '\0') {
        land = req->state_code;
    } else if (th_auth_land(p)[0] != '\0') {
        land = th_auth_land(p);
    }
    const bool allowed = land != NULL ? th_auth_reads_aggregates(p, land)
                                      : th_auth_reads_aggregates(p, NULL);
    if (!allowed) {
        if (land == NULL)
            return th_auth_deny(call, "reading the indicator values of every Land",
                                "role admin, or analyst or service without a Land; name a "
                                "Land with state_code or a district with ags");
        return th_auth_deny(
            call, th_call_printf(call, "reading the indicator values of Land %s", land),
            th_call_printf(call,
                           "role admin, or ministry, manager, analyst or "
                           "service of Land %s (or without a Land)",
                           land));
    }
    const char *disaggregation = th_row_enum_param(call, dis, (int) req->disaggregation);
    const char *filters[] = {req->ags,
                             land != NULL ? land : "",
                             req->indicator_code,
                             disaggregation != NULL ? disaggregation : "",
                             from_day,
                             to_day};
    const th_page_request_t pr = {.list = "ListValues",
                                  .page_size = req->page_size,
                                  .default_size = MEASURES_PAGE_DEFAULT,
                                  .max_size = MEASURES_VALUES_MAX,
                                  .page_token = req->page_token,
                                  .filters = filters,
                                  .n_filters = 6,
                                  .n_keys = 4};
    th_page_t page;
    if ((rc = th_page_begin(call, &pr, &page)) != TH_OK)
        return rc;
    char after_start[TH_DATE_LEN + 1] = "", after_end[TH_DATE_LEN + 1] = "";
    if (page.after[0] != NULL) {
        th_period_t key;
        if (!th_check_ags(page.after[0]) || !measures_indicator_code_valid(page.after[1]) ||
            th_period_parse(page.after[2], &key) != 0 ||
            th_enum_from_token(dis, page.after[3]) == 0)
            return th_page_invalid(call);
        th_period_first_day(&key, after_start);
        th_period_last_day(&key, after_end);
    }
    Teilhabe__Measures__V1__ListValuesResponse *resp = th_call_alloc(call, sizeof *resp);
    teilhabe__measures__v1__list_values_response__init(resp);
    /* A manager of the Land reads its Land's values (aggregates); the
     * reading is not limited to its own districts. */
    const measures_value_filter_t filter = {
        .ags = req->ags[0] != '\0' ? req->ags : NULL,
        .state_code = land,
        .code = req->indicator_code[0] != '\0' ? req->indicator_code : NULL,
        .disaggregation = disaggregation,
        .from_day = from_day[0] != '\0' ? from_day : NULL,
        .to_day = to_day[0] != '\0' ? to_day : NULL,
        .after_ags = page.after[0],
        .after_code = page.after[1],
        .after_start = page.after[0] != NULL ? after_start : NULL,
        .after_end = page.after[0] != NULL ? after_end : NULL,
        .after_disaggregation = page.after[3],
        .limit = page.size + 1,
    };
    if (measures_store_list_values(call, &filter, &resp->values, &resp->n_values) != 0)
        return th_answer_db_failure(call, "list the values");
    if (resp->n_values > (size_t) page.size) {
        resp->n_values = (size_t) page.size;
        const value_t *last = resp->values[page.size - 1];
        char token[TH_ENUM_TEXT_SIZE];
        const char *key[] = {
            last->ags, last->indicator_code, last->period,
            th_call_strdup(
                call, th_enum_token(dis, (int) last->disaggregation, token, sizeof token))};
        resp->next_page_token = th_page_token(call, &page, key);
    }
    *response = &resp->base;
    return TH_OK;
}
