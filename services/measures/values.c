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
#include "th_text.h"

#define S_TOTAL TEILHABE__MEASURES__V1__DISAGGREGATION__DISAGGREGATION_TOTAL

const char *
measures_value_problem(const value_t *v, const char **field, char *why, size_t len,
                       char first[TH_DATE_LEN + 1], char last[TH_DATE_LEN + 1])
{
    const ProtobufCEnumDescriptor *dis = &teilhabe__measures__v1__disaggregation__descriptor;
    th_period_t period;
    char tokens[512];
    /* The words are those of the kit's field checks (th_field.c), so a
     * value says the same in PutValues and in an import. */
    if (v->ags == NULL || v->ags[0] == '\0') {
        *field = "ags";
        snprintf(why, len, "an AGS (5 digits, e.g. 16068) is required");
    } else if (!th_check_ags(v->ags)) {
        *field = "ags";
        snprintf(why, len, "\"%.32s\" is not an AGS of 5 digits", v->ags);
    } else if (!measures_indicator_code_valid(v->indicator_code)) {
        *field = "indicator_code";
        snprintf(why, len, "\"%.64s\" is not an indicator code (2 to 64 of a-z, 0-9 and _)",
                 v->indicator_code);
    } else if (v->period == NULL || v->period[0] == '\0') {
        *field = "period";
        snprintf(why, len, "a period is required (2024, 2024S1, 2024Q3 or 2024-05)");
    } else if (th_period_parse(v->period, &period) != 0) {
        *field = "period";
        snprintf(why, len,
                 "\"%.32s\" is not a period: a year (2024), half (2024S1), quarter (2024Q3) "
                 "or month (2024-05)",
                 v->period);
    } else if (!th_enum_valid(dis, (int) v->disaggregation, false)) {
        *field = "disaggregation";
        th_enum_tokens(dis, tokens, sizeof tokens);
        if (v->disaggregation == 0)
            snprintf(why, len, "is required: one of %s", tokens);
        else
            snprintf(why, len, "%d is not a %s; one of %s", (int) v->disaggregation,
                     dis->short_name, tokens);
    } else if (v->numerator < 0 || v->denominator < 0) {
        *field = v->numerator < 0 ? "numerator" : "denominator";
        snprintf(why, len, "%" PRId64 " is outside 0 to %" PRId64,
                 v->numerator < 0 ? v->numerator : v->denominator, INT64_MAX);
    } else if (!th_text_is_line(v->source != NULL ? v->source : "", 0, 200)) {
        *field = "source";
        snprintf(why, len, "must be 0 to 200 characters on one line");
    } else if (!th_text_is_paragraphs(v->note != NULL ? v->note : "", 0, 1000)) {
        *field = "note";
        snprintf(why, len,
                 "must be 0 to 1000 characters without control characters (newlines and "
                 "tabs are fine)");
    } else {
        th_period_first_day(&period, first);
        th_period_last_day(&period, last);
        return NULL;
    }
    return why;
}

const char *
measures_value_against(const value_t *v, const indicator_t *ind, const char **field,
                       char *why, size_t len)
{
    bool supported = false;
    for (size_t k = 0; k < ind->n_disaggregations; k++)
        supported = supported || ind->disaggregations[k] == v->disaggregation;
    char token[TH_ENUM_TEXT_SIZE];
    if (!supported) {
        *field = "disaggregation";
        snprintf(why, len, "indicator %s has no values %s (only total%s)", ind->code,
                 th_enum_token(&teilhabe__measures__v1__disaggregation__descriptor,
                               (int) v->disaggregation, token, sizeof token),
                 ind->n_disaggregations > 1 ? " and by migration history" : "");
        return why;
    }
    *field = "denominator";
    if (ind->denominator[0] != '\0' && v->denominator == 0) {
        snprintf(why, len,
                 "must be above 0: indicator %s is a rate (%s), and a rate of 0 cannot be "
                 "computed",
                 ind->code, ind->denominator);
        return why;
    }
    if (ind->denominator[0] == '\0' && v->denominator != 0) {
        snprintf(why, len,
                 "must be 0: indicator %s is a plain count (its value is the numerator)",
                 ind->code);
        return why;
    }
    return NULL;
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
        char first[TH_DATE_LEN + 1], last[TH_DATE_LEN + 1], why[600];
        const char *field;
        if (measures_value_problem(v, &field, why, sizeof why, first, last) != NULL) {
            rc = th_answer_invalid(call, th_call_printf(call, "values[%zu].%s", i, field),
                                   "%s", why);
            break;
        }
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
        const char *field;
        char why[600];
        if (measures_value_against(req->values[i], ind, &field, why, sizeof why) != NULL)
            return th_answer_invalid(
                call, th_call_printf(call, "values[%zu].%s", i, field), "%s", why);
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
    if ((rc = measures_check_unlocked(call, rows.ags, rows.period_start, rows.period_end, n)) !=
        TH_OK)
        return rc;
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
