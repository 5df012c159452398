/* ---------------------------------------------------------------------------
 * indicator.c: IndicatorReport, one indicator's values per district and
 * period, each computed from its numerator and denominator, and the
 * Land's value from the sums of both (docs/reporting.md, "Indicator
 * report").
 * ---------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include "reporting.h"
#include "th_answer.h"
#include "th_auth.h"
#include "th_check.h"
#include "th_field.h"
#include "th_period.h"
#include "th_status.h"

#define VT(x) TEILHABE__REPORTING__V1__VALUE_TYPE__VALUE_TYPE_##x
#define S_PERIODS_MAX 40

/* numerator * factor / denominator in millionths, half up; a plain count
 * (no denominator) is the numerator itself. */
static int64_t
s_value(int64_t num, int64_t den, int64_t factor, bool count)
{
    if (count)
        return num;
    const __int128 scaled = (__int128) num * factor * 1000000;
    return (int64_t) ((scaled + den / 2) / den);
}

/* The periods from..to (same kind) into ids; their number, or -1 with the
 * answer recorded in *rc. */
static int
s_periods(th_call_t *call, const char *from_id, const char *to_id, char ids[][TH_PERIOD_LEN + 1],
          int *rc)
{
    th_period_t from, to;
    if ((*rc = th_field_period(call, "period_to", to_id, false, &to)) != TH_OK ||
        (*rc = th_field_period(call, "period_from", from_id, false, &from)) != TH_OK)
        return -1;
    if (from.kind != to.kind) {
        *rc = th_answer_invalid(call, "period_from",
                                "\"%s\" and \"%s\" are periods of different kinds: a range "
                                "runs from a year to a year, a quarter to a quarter, ...",
                                from_id, to_id);
        return -1;
    }
    if (th_period_compare(&from, &to) > 0) {
        *rc = th_answer_invalid(call, "period_from", "\"%s\" comes after period_to \"%s\"",
                                from_id, to_id);
        return -1;
    }
    int n = 0;
    for (th_period_t p = from;; n++) {
        if (n == S_PERIODS_MAX) {
            *rc = th_answer_invalid(call, "period_from",
                                    "%s..%s holds more than %d periods: ask for a shorter "
                                    "range or longer periods",
                                    from_id, to_id, S_PERIODS_MAX);
            return -1;
        }
        th_period_format(&p, ids[n]);
        if (th_period_compare(&p, &to) == 0 || th_period_next(&p, &p) != 0)
            break;
    }
    return n + 1;
}

/* The default range: period_to the year before today's, period_from the
 * same period four years earlier (five periods). */
static void
s_default_range(th_call_t *call, const char *today, const char **from, const char **to)
{
    if ((*to)[0] == '\0')
        *to = report_default_period(call, today);
    if ((*from)[0] == '\0') {
        th_period_t p;
        if (th_period_parse(*to, &p) != 0)
            return; /* period_to is refused next */
        p.year -= 4;
        char id[TH_PERIOD_LEN + 1];
        th_period_format(&p, id);
        *from = th_call_strdup(call, id);
    }
}

REPORTING_HANDLER(reporting_indicator_report)
{
    const Teilhabe__Reporting__V1__IndicatorReportRequest *req = (const void *) request;
    int rc;
    if ((rc = th_auth_need_principal(call)) != TH_OK ||
        (rc = th_field_line(call, "indicator_code", req->indicator_code, 1, 64)) != TH_OK ||
        (rc = th_field_land(call, "state_code", req->state_code, true)) != TH_OK ||
        (rc = th_field_list_size(call, "ags", req->n_ags, REPORTING_INDICATOR_AGS_MAX)) !=
            TH_OK)
        return rc;
    if ((req->state_code[0] == '\0') == (req->n_ags == 0))
        return th_answer_invalid(call, "state_code",
                                 "name either a Land (state_code) or up to %d districts (ags), "
                                 "not both and not neither",
                                 REPORTING_INDICATOR_AGS_MAX);
    char land[3] = "";
    for (size_t i = 0; i < req->n_ags; i++) {
        if ((rc = th_field_ags(call, "ags", req->ags[i])) != TH_OK)
            return rc;
        if (i > 0 && strncmp(req->ags[i], land, 2) != 0)
            return th_answer_invalid(call, "ags",
                                     "%s and %s are of different Länder: one report compares "
                                     "districts of one Land",
                                     req->ags[0], req->ags[i]);
        snprintf(land, sizeof land, "%.2s", req->ags[i]);
    }
    if (req->state_code[0] != '\0')
        snprintf(land, sizeof land, "%s", req->state_code);
    const char *disaggregation =
        req->disaggregation[0] != '\0' ? req->disaggregation : "total";
    if (strcmp(disaggregation, "total") != 0 &&
        strcmp(disaggregation, "with_migration_history") != 0 &&
        strcmp(disaggregation, "without_migration_history") != 0)
        return th_answer_invalid(call, "disaggregation",
                                 "\"%.40s\" is not one: total, with_migration_history or "
                                 "without_migration_history",
                                 disaggregation);
    const char *lang = report_check_options(call, req->render, &rc);
    if (lang == NULL)
        return rc;
    const char *today = report_as_of(call, "", &rc);
    const char *from = req->period_from, *to = req->period_to;
    s_default_range(call, today, &from, &to);
    char ids[S_PERIODS_MAX][TH_PERIOD_LEN + 1];
    const int n_periods = s_periods(call, from, to, ids, &rc);
    if (n_periods < 0)
        return rc;
    if ((rc = report_need_aggregates(call, land, "the indicator report")) != TH_OK)
        return rc;

    rb_t b;
    report_t *rep = rb_begin(&b, call, "indicator_report", lang, "Indikatorbericht",
                             "Indicator report");
    if ((rc = report_snapshot_begin(&b)) != TH_OK)
        return rc;
    const char *ip[] = {req->indicator_code, lang};
    PGresult *ind = report_query(
        &b,
        "SELECT CASE WHEN $2 = 'en' THEN name_en ELSE name_de END, unit, numerator, "
        "denominator, factor, illustrative, source, $3 = ANY (disaggregations) "
        "FROM reporting.indicators WHERE code = $1",
        3, (const char *const[]){ip[0], ip[1], disaggregation});
    if (ind == NULL)
        return report_fail(&b, "the indicator");
    if (PQntuples(ind) == 0) {
        PQclear(ind);
        th_db_rollback(th_call_db(call));
        return th_answer_field(call, TH_NOT_FOUND, "indicator_code", "no such indicator",
                               "no indicator \"%s\" (teilhabe indicator list shows the "
                               "catalogue)",
                               req->indicator_code);
    }
    if (!report_bool(ind, 0, 7)) {
        PQclear(ind);
        th_db_rollback(th_call_db(call));
        return th_answer_invalid(call, "disaggregation",
                                 "indicator \"%s\" is not kept by \"%s\"", req->indicator_code,
                                 disaggregation);
    }
    const bool count = PQgetvalue(ind, 0, 3)[0] == '\0';
    const int64_t factor = report_int(ind, 0, 4);
    rep->subtitle = rb_printf(&b, "%s (%s)", PQgetvalue(ind, 0, 0), req->indicator_code);
    report_section_t *s = rb_section(&b, "values", "Werte je Kreis und Zeitraum",
                                     "Values per district and period");
    rb_text(&b, s,
            count ? RB_PRINTF(&b, "Wert = %s (Anzahl, %s). Quelle: %s.", "Value = %s (a count, %s). Source: %s.",
                              PQgetvalue(ind, 0, 2), PQgetvalue(ind, 0, 1),
                              PQgetvalue(ind, 0, 6))
                  : RB_PRINTF(&b, "Wert = %s / %s × %lld (%s), aus Zähler und Nenner "
                                   "berechnet; der Wert des Landes aus der Summe der Zähler "
                                   "und der Summe der Nenner der Kreise. Quelle: %s.", "Value = %s / %s × %lld (%s), computed from numerator and "
                                   "denominator; the Land's value from the sum of the "
                                   "districts' numerators and the sum of their denominators. "
                                   "Source: %s.",
                              PQgetvalue(ind, 0, 2), PQgetvalue(ind, 0, 3),
                              (long long) factor, PQgetvalue(ind, 0, 1), PQgetvalue(ind, 0, 6)));
    rb_text(&b, s, RB_PRINTF(&b, "Aufschlüsselung: %s.", "Disaggregation: %s.",
                             report_term(&b, disaggregation)));
    const bool illustrative = report_bool(ind, 0, 5);
    PQclear(ind);
    if ((rc = report_data_state(&b, req->n_ags == 1 ? req->ags[0] : land, today,
                                ids[0], ids[n_periods - 1])) != TH_OK)
        return rc;

    char *ags_array = rb_printf(&b, "{");
    for (size_t i = 0; i < req->n_ags; i++)
        ags_array = rb_printf(&b, "%s%s%s", ags_array, i > 0 ? "," : "", req->ags[i]);
    ags_array = rb_printf(&b, "%s}", ags_array);
    char *period_array = rb_printf(&b, "{");
    for (int i = 0; i < n_periods; i++)
        period_array = rb_printf(&b, "%s%s%s", period_array, i > 0 ? "," : "", ids[i]);
    period_array = rb_printf(&b, "%s}", period_array);
    const char *params[] = {req->indicator_code, land, ags_array, period_array, disaggregation};
    /* Districts of the Land (or those asked) that have a value in the range
     * or exist today; a district that ended keeps its row for its values. */
    PGresult *r = report_query(
        &b,
        "SELECT d.ags, d.name, v.period, v.numerator, v.denominator, v.example "
        "FROM reporting.districts d LEFT JOIN reporting.indicator_values v "
        "ON v.ags = d.ags AND v.indicator_code = $1 AND v.period = ANY ($4::text[]) "
        "AND v.disaggregation = $5 "
        "WHERE d.state_code = $2 AND (cardinality($3::text[]) = 0 OR d.ags = ANY ($3::text[])) "
        "AND (d.valid_to IS NULL OR v.ags IS NOT NULL) ORDER BY d.ags, v.period_start",
        5, params);
    if (r == NULL)
        return report_fail(&b, "the indicator values");
    report_table_t *t = rb_table(&b, s);
    rb_column(&b, t, "ags", "AGS", "AGS", VT(TEXT), 0);
    rb_column(&b, t, "name", "Name", "Name", VT(TEXT), 0);
    for (int p = 0; p < n_periods; p++) {
        /* ids lives on this stack: the report outlives it */
        const char *id = th_call_strdup(call, ids[p]);
        rb_column(&b, t, id, id, id, count ? VT(PEOPLE) : VT(DECIMAL), count ? 0 : 1);
    }
    int64_t num_sum[S_PERIODS_MAX] = {0}, den_sum[S_PERIODS_MAX] = {0};
    bool has[S_PERIODS_MAX] = {false};
    for (int i = 0; i < PQntuples(r);) {
        const char *ags = PQgetvalue(r, i, 0);
        report_row_t *row = rb_row(&b, t, report_str(&b, r, i, 0), false);
        rb_text_cell(&b, row, report_str(&b, r, i, 0));
        rb_text_cell(&b, row, report_str(&b, r, i, 1));
        report_cell_t *cells[S_PERIODS_MAX];
        for (int p = 0; p < n_periods; p++)
            cells[p] = rb_empty(&b, row);
        for (; i < PQntuples(r) && strcmp(PQgetvalue(r, i, 0), ags) == 0; i++) {
            if (PQgetisnull(r, i, 2))
                continue;
            for (int p = 0; p < n_periods; p++)
                if (strcmp(PQgetvalue(r, i, 2), ids[p]) == 0) {
                    const int64_t num = report_int(r, i, 3), den = report_int(r, i, 4);
                    if (!count && den == 0)
                        break; /* no rate without a denominator: stays empty */
                    cells[p]->empty = false;
                    cells[p]->number = s_value(num, den, factor, count);
                    if (illustrative)
                        rb_cell_mark(&b, cells[p], "illustrative-indicator");
                    num_sum[p] += num;
                    den_sum[p] += den;
                    has[p] = true;
                }
            if (report_bool(r, i, 5))
                rb_row_mark(&b, row, "example");
        }
    }
    PQclear(r);
    report_row_t *row = rb_row(&b, t, "total", true);
    rb_text_cell(&b, row, "");
    rb_text_cell(&b, row, req->n_ags > 0 ? rb_l(&b, "Auswahl", "Selection")
                                         : rb_l(&b, "Land", "Land"));
    for (int p = 0; p < n_periods; p++) {
        if (!has[p] || (!count && den_sum[p] == 0))
            rb_empty(&b, row);
        else
            rb_number(&b, row, s_value(num_sum[p], den_sum[p], factor, count));
    }
    if (illustrative)
        rb_note(&b, "illustrative-indicator", "I",
                "Illustrativer Indikator: Werte zur Veranschaulichung, keine amtliche "
                "Statistik.",
                "Illustrative indicator: values for illustration, not official statistics.");
    rb_chart(&b, s,
             &(rb_chart_spec_t){
                 .kind = TEILHABE__REPORTING__V1__CHART_KIND__CHART_KIND_LINE,
                 .title = (char *) rb_l(&b, "Verlauf", "Trend"),
                 .caption = (char *) rb_l(&b, "Der Wert des Landes bzw. der Auswahl je Zeitraum.",
                                          "The value of the Land or the selection per period."),
                 .category_col = 1,
                 .value_cols = {2},
                 .n_values = 1,
                 .by_columns = true,
             });
    return report_finish(&b, req->render, req->n_ags == 1 ? req->ags[0] : land,
                         today,
                         rb_printf(&b, "%s-%s-%s", rb_l(&b, "indikator", "indicator"),
                                   req->indicator_code, req->n_ags == 1 ? req->ags[0] : land),
                         response);
}
