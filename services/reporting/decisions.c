/* ---------------------------------------------------------------------------
 * decisions.c: EligibilityReport, one programme's latest decision per
 * district as of a date, with the reasons, the entitlement and what
 * changed since the decision before (docs/reporting.md, "Eligibility
 * report").
 * ---------------------------------------------------------------------------
 */
#include <string.h>

#include "reporting.h"
#include "th_answer.h"
#include "th_auth.h"
#include "th_field.h"
#include "th_status.h"

#define VT(x) TEILHABE__REPORTING__V1__VALUE_TYPE__VALUE_TYPE_##x

enum { E_AGS, E_NAME, E_OUTCOME, E_CENTS, E_ILLUSTRATIVE, E_SUMMARY, E_AS_OF, E_VERSION,
       E_PREV_OUTCOME, E_PREV_CENTS, E_EXAMPLE };

/* The districts of Land $2 existing on $3, each with the latest decision
 * of programme $1 for a date up to $3 and the one before it. */
static const char s_sql[] =
    "WITH d AS (SELECT ags, name FROM reporting.districts WHERE state_code = $2 "
    "  AND valid_from <= $3::date AND (valid_to IS NULL OR valid_to >= $3::date)), "
    "x AS (SELECT *, row_number() OVER (PARTITION BY ags ORDER BY as_of DESC, decided_at DESC, "
    "  id DESC) AS n FROM reporting.decisions WHERE programme_code = $1 AND state_code = $2 "
    "  AND as_of <= $3::date) "
    "SELECT d.ags, d.name, l.outcome, l.entitlement_cents, l.illustrative, "
    "  CASE WHEN $4 = 'en' THEN l.summary_en ELSE l.summary_de END, "
    "  to_char(l.as_of, 'YYYY-MM-DD'), l.rule_version, p.outcome, p.entitlement_cents, "
    "  coalesce(l.example, false) "
    "FROM d LEFT JOIN x l ON l.ags = d.ags AND l.n = 1 "
    "LEFT JOIN x p ON p.ags = d.ags AND p.n = 2 ORDER BY d.ags";

/* What changed between the decision before and the latest, or "". */
static const char *
s_change(rb_t *b, const PGresult *r, int i)
{
    if (PQgetisnull(r, i, E_PREV_OUTCOME))
        return PQgetisnull(r, i, E_OUTCOME) ? "" : rb_l(b, "erste Entscheidung", "first decision");
    if (strcmp(PQgetvalue(r, i, E_PREV_OUTCOME), PQgetvalue(r, i, E_OUTCOME)) != 0)
        return RB_PRINTF(b, "vorher %s", "before: %s",
                         report_term(b, PQgetvalue(r, i, E_PREV_OUTCOME)));
    if (report_int(r, i, E_PREV_CENTS) != report_int(r, i, E_CENTS)) {
        char amount[64];
        report_format_number(report_int(r, i, E_PREV_CENTS), VT(MONEY), 0,
                             b->en ? "en" : "de", amount, sizeof amount);
        return RB_PRINTF(b, "Anspruch vorher %s", "entitlement before: %s", amount);
    }
    return rb_l(b, "unverändert", "unchanged");
}

REPORTING_HANDLER(reporting_eligibility_report)
{
    const Teilhabe__Reporting__V1__EligibilityReportRequest *req = (const void *) request;
    int rc;
    if ((rc = th_auth_need_principal(call)) != TH_OK ||
        (rc = th_field_line(call, "programme_code", req->programme_code, 1, 40)) != TH_OK ||
        (rc = th_field_land(call, "state_code", req->state_code, true)) != TH_OK)
        return rc;
    const char *lang = report_check_options(call, req->render, &rc);
    if (lang == NULL)
        return rc;
    const char *as_of = report_as_of(call, req->as_of, &rc);
    if (as_of == NULL)
        return rc;
    rb_t b;
    report_t *rep = rb_begin(&b, call, "eligibility_report", lang, "Förderfähigkeit",
                             "Eligibility");
    if ((rc = report_snapshot_begin(&b)) != TH_OK)
        return rc;
    const char *pp[] = {req->programme_code, lang};
    PGresult *r = report_query(&b,
                               "SELECT state_code, CASE WHEN $2 = 'en' THEN name_en "
                               "ELSE name_de END FROM reporting.programmes WHERE code = $1",
                               2, pp);
    if (r == NULL)
        return report_fail(&b, "the programmes");
    if (PQntuples(r) == 0) {
        PQclear(r);
        th_db_rollback(th_call_db(call));
        return th_answer_field(call, TH_NOT_FOUND, "programme_code", "no such programme",
                               "no programme \"%s\" (teilhabe eligibility programmes lists "
                               "them)",
                               req->programme_code);
    }
    const char *land = req->state_code[0] != '\0' ? req->state_code : report_str(&b, r, 0, 0);
    rep->subtitle = rb_printf(&b, "%s (%s)", PQgetvalue(r, 0, 1), req->programme_code);
    PQclear(r);
    if ((rc = report_need_aggregates(call, land, "the eligibility report")) != TH_OK) {
        th_db_rollback(th_call_db(call));
        return rc;
    }
    const char *params[] = {req->programme_code, land, as_of, lang};
    r = report_query(&b, s_sql, 4, params);
    if (r == NULL)
        return report_fail(&b, "the decisions");
    report_section_t *s = rb_section(&b, "decisions", "Entscheidungen je Kreis",
                                     "Decisions per district");
    rb_text(&b, s,
            rb_l(&b,
                 "Je Kreis die letzte gespeicherte Entscheidung für einen Stichtag bis zum "
                 "Stichtag des Berichts, mit ihrer Begründung (nicht erfüllte Kriterien) und "
                 "der Änderung gegenüber der Entscheidung davor. teilhabe eligibility "
                 "decision ID zeigt den vollständigen Nachweis.",
                 "Per district the latest stored decision for a date up to the report's as-of "
                 "date, with its reasons (failed criteria) and the change since the decision "
                 "before it. teilhabe eligibility decision ID shows the full trace."));
    report_table_t *t = rb_table(&b, s);
    rb_column(&b, t, "ags", "AGS", "AGS", VT(TEXT), 0);
    rb_column(&b, t, "name", "Name", "Name", VT(TEXT), 0);
    rb_column(&b, t, "outcome", "Ergebnis", "Outcome", VT(TEXT), 0);
    rb_column(&b, t, "entitlement", "Anspruch", "Entitlement", VT(MONEY), 0);
    rb_column(&b, t, "reasons", "Begründung", "Reasons", VT(TEXT), 0);
    rb_column(&b, t, "decided_for", "Stichtag der Entscheidung", "Decided for", VT(DATE), 0);
    rb_column(&b, t, "rule_version", "Regelversion", "Rule version", VT(INTEGER), 0);
    rb_column(&b, t, "change", "Änderung", "Change", VT(TEXT), 0);
    int64_t cents = 0, eligible = 0, decided = 0;
    bool illustrative = false;
    for (int i = 0; i < PQntuples(r); i++) {
        report_row_t *row = rb_row(&b, t, report_str(&b, r, i, E_AGS), false);
        rb_text_cell(&b, row, report_str(&b, r, i, E_AGS));
        rb_text_cell(&b, row, report_str(&b, r, i, E_NAME));
        if (PQgetisnull(r, i, E_OUTCOME)) {
            rb_text_cell(&b, row, rb_l(&b, "nicht entschieden", "not decided"));
            for (int k = 0; k < 5; k++)
                rb_empty(&b, row);
            continue;
        }
        decided++;
        eligible += strcmp(PQgetvalue(r, i, E_OUTCOME), "eligible") == 0;
        cents += report_int(r, i, E_CENTS);
        rb_text_cell(&b, row, report_term(&b, PQgetvalue(r, i, E_OUTCOME)));
        report_cell_t *c = rb_number(&b, row, report_int(r, i, E_CENTS));
        if (report_bool(r, i, E_ILLUSTRATIVE)) {
            rb_cell_mark(&b, c, "illustrative");
            illustrative = true;
        }
        rb_text_cell(&b, row, report_str(&b, r, i, E_SUMMARY));
        rb_date(&b, row, report_str(&b, r, i, E_AS_OF));
        rb_number(&b, row, report_int(r, i, E_VERSION));
        rb_text_cell(&b, row, s_change(&b, r, i));
        if (report_bool(r, i, E_EXAMPLE))
            rb_row_mark(&b, row, "example");
    }
    PQclear(r);
    report_row_t *row = rb_row(&b, t, "total", true);
    rb_text_cell(&b, row, "");
    rb_text_cell(&b, row, rb_l(&b, "Insgesamt", "Total"));
    rb_text_cell(&b, row,
                 RB_PRINTF(&b, "%lld von %lld förderfähig", "%lld of %lld eligible",
                           (long long) eligible, (long long) decided));
    rb_number(&b, row, cents);
    for (int k = 0; k < 4; k++)
        rb_empty(&b, row);
    if (illustrative)
        report_note_illustrative(&b);
    rb_chart(&b, s,
             &(rb_chart_spec_t){
                 .kind = TEILHABE__REPORTING__V1__CHART_KIND__CHART_KIND_BAR,
                 .title = (char *) rb_l(&b, "Anspruch je Kreis", "Entitlement per district"),
                 .caption = (char *) rb_l(&b,
                                          "Der Anspruch der letzten Entscheidung je Kreis "
                                          "(0 bei nicht förderfähig).",
                                          "The entitlement of each district's latest "
                                          "decision (0 when not eligible)."),
                 .category_col = 1,
                 .value_cols = {3},
                 .n_values = 1,
             });
    return report_finish(&b, req->render, land, as_of,
                         rb_printf(&b, "%s-%s-%s", rb_l(&b, "foerderfaehigkeit", "eligibility"),
                                   req->programme_code, land),
                         response);
}
