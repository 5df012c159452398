/* ---------------------------------------------------------------------------
 * district.c: DistrictProfile, one district: its facts, its concept and
 * that concept's history, its managers (without names), its measures with
 * their reach, its indicators over the periods, its self-assessment and
 * its funding decisions (docs/reporting.md, "District profile").
 * ---------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include "reporting.h"
#include "th_answer.h"
#include "th_auth.h"
#include "th_field.h"
#include "th_period.h"
#include "th_status.h"

#define VT(x) TEILHABE__REPORTING__V1__VALUE_TYPE__VALUE_TYPE_##x

/* $1 ags, $2 as_of, $3 period ids of the range, $4 lang */

static const char s_facts_sql[] =
    "SELECT d.name, s.name, d.official_kind, f.settlement_type, f.population, "
    "round(f.area_km2 * 1000000), to_char(f.population_date, 'YYYY-MM-DD'), "
    "to_char(d.valid_from, 'YYYY-MM-DD'), to_char(d.valid_to, 'YYYY-MM-DD'), "
    "coalesce(d.successor_ags, '') "
    "FROM reporting.districts d JOIN reporting.states s ON s.code = d.state_code "
    "LEFT JOIN reporting.district_figures f ON f.ags = d.ags AND f.valid_from <= $2::date "
    "AND (f.valid_to IS NULL OR f.valid_to >= $2::date) WHERE d.ags = $1";

static void
s_fact(rb_t *b, report_table_t *t, const char *key, const char *de, const char *en,
       const char *value)
{
    report_row_t *row = rb_row(b, t, key, false);
    rb_text_cell(b, row, rb_l(b, de, en));
    rb_text_cell(b, row, value);
}

static const char *
s_num(rb_t *b, int64_t v, Teilhabe__Reporting__V1__ValueType type, int decimals)
{
    char buf[64];
    report_format_number(v, type, decimals, b->en ? "en" : "de", buf, sizeof buf);
    return rb_printf(b, "%s", buf);
}

static const char *
s_date(rb_t *b, const char *iso)
{
    char buf[64];
    report_format_date(iso, b->en ? "en" : "de", buf, sizeof buf);
    return rb_printf(b, "%s", buf);
}

static void
s_facts(rb_t *b, const PGresult *r)
{
    report_section_t *s = rb_section(b, "facts", "Der Kreis", "The district");
    report_table_t *t = rb_table(b, s);
    rb_column(b, t, "figure", "Merkmal", "Figure", VT(TEXT), 0);
    rb_column(b, t, "value", "Wert", "Value", VT(TEXT), 0);
    s_fact(b, t, "land", "Land", "Land", report_str(b, r, 0, 1));
    s_fact(b, t, "kind", "Art", "Kind", report_str(b, r, 0, 2));
    if (!PQgetisnull(r, 0, 3)) {
        s_fact(b, t, "settlement_type", "Siedlungstyp", "Settlement type",
               report_term(b, PQgetvalue(r, 0, 3)));
        s_fact(b, t, "population",
               rb_printf(b, "Einwohner (Stand %s)", s_date(b, PQgetvalue(r, 0, 6))),
               rb_printf(b, "Population (counted %s)", s_date(b, PQgetvalue(r, 0, 6))),
               s_num(b, report_int(r, 0, 4), VT(INTEGER), 0));
        s_fact(b, t, "area_km2", "Fläche (km²)", "Area (km²)",
               s_num(b, report_int(r, 0, 5), VT(DECIMAL), 2));
    }
    s_fact(b, t, "valid_from", "besteht seit", "exists since",
           s_date(b, PQgetvalue(r, 0, 7)));
    if (!PQgetisnull(r, 0, 8))
        s_fact(b, t, "valid_to", "bestand bis", "existed until",
               RB_PRINTF(b, "%s (aufgegangen in %s)", "%s (merged into %s)",
                         s_date(b, PQgetvalue(r, 0, 8)), PQgetvalue(r, 0, 9)));
}

static int
s_concepts(rb_t *b, const char *const *params)
{
    PGresult *r = report_query(
        b,
        "SELECT version, title, to_char(adopted_on, 'YYYY-MM-DD'), "
        "to_char(last_updated_on, 'YYYY-MM-DD'), orientation, array_to_string(fields, ','), "
        "example, version = (SELECT max(version) FROM reporting.concepts c2 "
        "  WHERE c2.ags = $1 AND c2.adopted_on <= $2::date) "
        "FROM reporting.concepts WHERE ags = $1 ORDER BY version",
        2, params);
    if (r == NULL)
        return report_fail(b, "the concepts");
    report_section_t *s = rb_section(b, "concepts", "Integrationskonzept und seine Fassungen",
                                     "Integration concept and its versions");
    report_table_t *t = rb_table(b, s);
    rb_column(b, t, "version", "Fassung", "Version", VT(INTEGER), 0);
    rb_column(b, t, "title", "Titel", "Title", VT(TEXT), 0);
    rb_column(b, t, "adopted_on", "beschlossen", "adopted", VT(DATE), 0);
    rb_column(b, t, "last_updated_on", "fortgeschrieben", "last updated", VT(DATE), 0);
    rb_column(b, t, "orientation", "Ausrichtung", "Orientation", VT(TEXT), 0);
    rb_column(b, t, "fields", "Handlungsfelder", "Fields of action", VT(TEXT), 0);
    rb_column(b, t, "in_force", "gilt am Stichtag", "in force on the as-of date", VT(TEXT), 0);
    for (int i = 0; i < PQntuples(r); i++) {
        report_row_t *row = rb_row(b, t, report_str(b, r, i, 0), false);
        rb_number(b, row, report_int(r, i, 0));
        rb_text_cell(b, row, report_str(b, r, i, 1));
        rb_date(b, row, report_str(b, r, i, 2));
        rb_date(b, row, report_str(b, r, i, 3));
        rb_text_cell(b, row, report_orientation(b, PQgetvalue(r, i, 4)));
        char *fields = rb_printf(b, "%s", "");
        char buf[512];
        snprintf(buf, sizeof buf, "%s", PQgetvalue(r, i, 5));
        char *save = NULL;
        for (char *tok = strtok_r(buf, ",", &save); tok != NULL;
             tok = strtok_r(NULL, ",", &save))
            fields = rb_printf(b, "%s%s%s", fields, fields[0] ? ", " : "", report_term(b, tok));
        rb_text_cell(b, row, fields);
        rb_text_cell(b, row, report_bool(r, i, 7) ? rb_l(b, "ja", "yes") : "");
        if (report_bool(r, i, 6))
            rb_row_mark(b, row, "example");
    }
    if (PQntuples(r) == 0)
        rb_text(b, s, rb_l(b, "Kein Integrationskonzept erfasst.",
                           "No integration concept recorded."));
    PQclear(r);
    return TH_OK;
}

static int
s_managers(rb_t *b, const char *const *params)
{
    PGresult *r = report_query(
        b,
        "SELECT to_char(valid_from, 'YYYY-MM-DD'), to_char(valid_to, 'YYYY-MM-DD'), "
        "valid_from <= $2::date AND (valid_to IS NULL OR valid_to >= $2::date) "
        "FROM reporting.manager_assignments WHERE ags = $1 ORDER BY valid_from, manager_id",
        2, params);
    if (r == NULL)
        return report_fail(b, "the managers");
    report_section_t *s = rb_section(b, "managers", "Integrationsmanagement",
                                     "Integration management");
    rb_text(b, s,
            rb_l(b,
                 "Die Zuordnungen von Integrationsmanagerinnen und -managern zum Kreis, ohne "
                 "Namen und Kontakte (personenbezogene Daten stehen nur im Register).",
                 "The assignments of integration managers to the district, without names or "
                 "contacts (personal data stays in the registry)."));
    report_table_t *t = rb_table(b, s);
    rb_column(b, t, "assignment", "Zuordnung", "Assignment", VT(TEXT), 0);
    rb_column(b, t, "valid_from", "von", "from", VT(DATE), 0);
    rb_column(b, t, "valid_to", "bis", "to", VT(DATE), 0);
    rb_column(b, t, "current", "am Stichtag", "on the as-of date", VT(TEXT), 0);
    for (int i = 0; i < PQntuples(r); i++) {
        report_row_t *row = rb_row(b, t, rb_printf(b, "%d", i + 1), false);
        rb_text_cell(b, row, rb_printf(b, "%s %d", rb_l(b, "Stelle", "Post"), i + 1));
        rb_date(b, row, report_str(b, r, i, 0));
        rb_date(b, row, report_str(b, r, i, 1));
        rb_text_cell(b, row, report_bool(r, i, 2) ? rb_l(b, "ja", "yes") : "");
    }
    PQclear(r);
    return TH_OK;
}

static int
s_measures(rb_t *b, const char *const *params)
{
    PGresult *r = report_query(
        b,
        "SELECT m.id, m.title, m.field, m.target_group, m.status, "
        "to_char(m.start_date, 'YYYY-MM-DD'), to_char(m.end_date, 'YYYY-MM-DD'), "
        "reporting.measure_runs(m.status, m.start_date, m.end_date, $2::date), "
        "(SELECT sum(participants_total) FROM reporting.reach x WHERE x.measure_id = m.id "
        "  AND x.period = ANY ($3::text[])), m.example "
        "FROM reporting.measures m WHERE m.ags = $1 ORDER BY m.field, m.title, m.id",
        3, params);
    if (r == NULL)
        return report_fail(b, "the measures");
    report_section_t *s = rb_section(b, "measures", "Maßnahmen", "Measures");
    report_table_t *t = rb_table(b, s);
    rb_column(b, t, "title", "Maßnahme", "Measure", VT(TEXT), 0);
    rb_column(b, t, "field", "Handlungsfeld", "Field of action", VT(TEXT), 0);
    rb_column(b, t, "target_group", "Zielgruppe", "Target group", VT(TEXT), 0);
    rb_column(b, t, "status", "Stand", "Status", VT(TEXT), 0);
    rb_column(b, t, "start_date", "Beginn", "Start", VT(DATE), 0);
    rb_column(b, t, "end_date", "Ende", "End", VT(DATE), 0);
    rb_column(b, t, "running", "läuft am Stichtag", "running on the as-of date", VT(TEXT), 0);
    rb_column(b, t, "participations", "Teilnahmen im Zeitraum", "Participations in the period",
              VT(PEOPLE), 0);
    int64_t sum = 0;
    bool any = false;
    for (int i = 0; i < PQntuples(r); i++) {
        report_row_t *row = rb_row(b, t, report_str(b, r, i, 0), false);
        rb_text_cell(b, row, report_str(b, r, i, 1));
        rb_text_cell(b, row, report_term(b, PQgetvalue(r, i, 2)));
        rb_text_cell(b, row, report_term(b, PQgetvalue(r, i, 3)));
        rb_text_cell(b, row, report_term(b, PQgetvalue(r, i, 4)));
        rb_date(b, row, report_str(b, r, i, 5));
        rb_date(b, row, report_str(b, r, i, 6));
        rb_text_cell(b, row, report_bool(r, i, 7) ? rb_l(b, "ja", "yes") : "");
        rb_number_or_empty(b, row, r, i, 8);
        any |= !PQgetisnull(r, i, 8);
        sum += report_int(r, i, 8);
        if (report_bool(r, i, 9))
            rb_row_mark(b, row, "example");
    }
    const int n = PQntuples(r);
    PQclear(r);
    if (n == 0) {
        rb_text(b, s, rb_l(b, "Keine Maßnahmen erfasst.", "No measures recorded."));
        return TH_OK;
    }
    report_row_t *row = rb_row(b, t, "total", true);
    rb_text_cell(b, row, rb_l(b, "Insgesamt", "Total"));
    for (int k = 0; k < 6; k++)
        rb_empty(b, row);
    if (any)
        rb_number(b, row, sum);
    else
        rb_empty(b, row);
    return TH_OK;
}

/* The indicators with a value (total) in the range: rates in one table,
 * counts (of people: suppressed when small) in another. */
static int
s_indicators(rb_t *b, const char *const *params, char ids[][TH_PERIOD_LEN + 1], int n_periods)
{
    PGresult *r = report_query(
        b,
        "SELECT i.code, CASE WHEN $3 = 'en' THEN i.name_en ELSE i.name_de END, "
        "i.denominator = '', i.factor, v.period, v.numerator, v.denominator, v.example "
        "FROM reporting.indicator_values v JOIN reporting.indicators i ON i.code = "
        "v.indicator_code WHERE v.ags = $1 AND v.period = ANY ($2::text[]) "
        "AND v.disaggregation = 'total' ORDER BY i.code",
        3, (const char *const[]){params[0], params[2], params[3]});
    if (r == NULL)
        return report_fail(b, "the indicator values");
    for (int pass = 0; pass < 2; pass++) {
        const bool counts = pass == 1;
        report_section_t *s =
            counts ? rb_section(b, "indicator_counts", "Indikatoren: Anzahlen",
                                "Indicators: counts")
                   : rb_section(b, "indicator_rates", "Indikatoren: Quoten", "Indicators: rates");
        if (!counts)
            rb_text(b, s,
                    rb_l(b,
                         "Jeder Wert aus Zähler und Nenner berechnet (Zähler / Nenner × "
                         "Faktor des Indikators; teilhabe indicator list nennt sie).",
                         "Each value computed from numerator and denominator (numerator / "
                         "denominator × the indicator's factor; teilhabe indicator list names "
                         "them)."));
        report_table_t *t = rb_table(b, s);
        rb_column(b, t, "indicator", "Indikator", "Indicator", VT(TEXT), 0);
        for (int p = 0; p < n_periods; p++) {
            /* ids lives on the handler's stack: the report outlives it */
            const char *id = th_call_strdup(b->call, ids[p]);
            rb_column(b, t, id, id, id, counts ? VT(PEOPLE) : VT(DECIMAL), counts ? 0 : 1);
        }
        for (int i = 0; i < PQntuples(r);) {
            const char *code = PQgetvalue(r, i, 0);
            if (report_bool(r, i, 2) != counts) {
                for (; i < PQntuples(r) && strcmp(PQgetvalue(r, i, 0), code) == 0; i++)
                    ;
                continue;
            }
            report_row_t *row = rb_row(b, t, report_str(b, r, i, 0), false);
            rb_text_cell(b, row, report_str(b, r, i, 1));
            report_cell_t *cells[64];
            for (int p = 0; p < n_periods; p++)
                cells[p] = rb_empty(b, row);
            for (; i < PQntuples(r) && strcmp(PQgetvalue(r, i, 0), code) == 0; i++) {
                for (int p = 0; p < n_periods; p++) {
                    if (strcmp(PQgetvalue(r, i, 4), ids[p]) != 0)
                        continue;
                    const int64_t num = report_int(r, i, 5), den = report_int(r, i, 6);
                    if (counts) {
                        cells[p]->number = num;
                        cells[p]->empty = false;
                    } else if (den > 0) {
                        const __int128 v = (__int128) num * report_int(r, i, 3) * 1000000;
                        cells[p]->number = (int64_t) ((v + den / 2) / den);
                        cells[p]->empty = false;
                    }
                }
                if (report_bool(r, i, 7))
                    rb_row_mark(b, row, "example");
            }
        }
        if (t->n_rows == 0)
            rb_text(b, s, rb_l(b, "Keine Werte im Zeitraum.", "No values in the period."));
        else if (!counts)
            rb_chart(b, s,
                     &(rb_chart_spec_t){
                         .kind = TEILHABE__REPORTING__V1__CHART_KIND__CHART_KIND_LINE,
                         .title = rb_l(b, "Quoten im Verlauf", "Rates over time"),
                         .caption = rb_l(b, "Je Indikator sein Wert je Zeitraum (bis zu acht).",
                                         "Each indicator's value per period (up to eight)."),
                         .category_col = 0,
                         .value_cols = {1},
                         .n_values = 1,
                         .by_columns = true,
                         .data_rows = true,
                     });
    }
    PQclear(r);
    return TH_OK;
}

static int
s_assessment(rb_t *b, const char *const *params)
{
    PGresult *r = report_query(
        b,
        "WITH last AS (SELECT period FROM reporting.assessment_answers WHERE ags = $1 "
        "  AND period = ANY ($2::text[]) ORDER BY period_start DESC, period_end LIMIT 1) "
        "SELECT q.code, CASE WHEN $3 = 'en' THEN q.text_en ELSE q.text_de END, a.rating, "
        "(SELECT period FROM last), coalesce(a.example, false) "
        "FROM reporting.assessment_questions q LEFT JOIN reporting.assessment_answers a "
        "ON a.question_code = q.code AND a.ags = $1 AND a.period = (SELECT period FROM last) "
        "ORDER BY q.position",
        3, (const char *const[]){params[0], params[2], params[3]});
    if (r == NULL)
        return report_fail(b, "the self-assessment");
    const bool any = PQntuples(r) > 0 && !PQgetisnull(r, 0, 3);
    report_section_t *s =
        rb_section(b, "assessment", "Prozess-Selbsteinschätzung", "Process self-assessment");
    rb_text(b, s,
            any ? RB_PRINTF(b, "Die jüngste Selbsteinschätzung im Zeitraum: %s. Bewertung "
                                    "von 1 (trifft nicht zu) bis 4 (trifft voll zu).", "The latest self-assessment in the range: %s. Rating from 1 "
                                 "(does not apply) to 4 (fully applies).",
                            PQgetvalue(r, 0, 3))
                : rb_l(b, "Keine Selbsteinschätzung im Zeitraum.",
                       "No self-assessment in the range."));
    if (any) {
        report_table_t *t = rb_table(b, s);
        rb_column(b, t, "question", "Frage", "Question", VT(TEXT), 0);
        rb_column(b, t, "rating", "Bewertung", "Rating", VT(INTEGER), 0);
        for (int i = 0; i < PQntuples(r); i++) {
            report_row_t *row = rb_row(b, t, report_str(b, r, i, 0), false);
            rb_text_cell(b, row, report_str(b, r, i, 1));
            rb_number_or_empty(b, row, r, i, 2);
            if (report_bool(r, i, 4))
                rb_row_mark(b, row, "example");
        }
    }
    PQclear(r);
    return TH_OK;
}

static int
s_decisions(rb_t *b, const char *const *params)
{
    PGresult *r = report_query(
        b,
        "SELECT DISTINCT ON (programme_code) programme_code, outcome, entitlement_cents, "
        "illustrative, CASE WHEN $3 = 'en' THEN summary_en ELSE summary_de END, "
        "to_char(as_of, 'YYYY-MM-DD'), example FROM reporting.decisions "
        "WHERE ags = $1 AND as_of <= $2::date "
        "ORDER BY programme_code, as_of DESC, decided_at DESC, id",
        3, (const char *const[]){params[0], params[1], params[3]});
    if (r == NULL)
        return report_fail(b, "the decisions");
    report_section_t *s = rb_section(b, "decisions", "Förderentscheidungen", "Funding decisions");
    report_table_t *t = rb_table(b, s);
    rb_column(b, t, "programme", "Programm", "Programme", VT(TEXT), 0);
    rb_column(b, t, "outcome", "Ergebnis", "Outcome", VT(TEXT), 0);
    rb_column(b, t, "entitlement", "Anspruch", "Entitlement", VT(MONEY), 0);
    rb_column(b, t, "reasons", "Begründung", "Reasons", VT(TEXT), 0);
    rb_column(b, t, "decided_for", "Stichtag", "Decided for", VT(DATE), 0);
    for (int i = 0; i < PQntuples(r); i++) {
        report_row_t *row = rb_row(b, t, report_str(b, r, i, 0), false);
        rb_text_cell(b, row, report_str(b, r, i, 0));
        rb_text_cell(b, row, report_term(b, PQgetvalue(r, i, 1)));
        report_cell_t *c = rb_number(b, row, report_int(r, i, 2));
        if (report_bool(r, i, 3)) {
            rb_cell_mark(b, c, "illustrative");
            report_note_illustrative(b);
        }
        rb_text_cell(b, row, report_str(b, r, i, 4));
        rb_date(b, row, report_str(b, r, i, 5));
        if (report_bool(r, i, 6))
            rb_row_mark(b, row, "example");
    }
    if (PQntuples(r) == 0)
        rb_text(b, s, rb_l(b, "Keine Entscheidung gespeichert.", "No decision stored."));
    PQclear(r);
    return TH_OK;
}

REPORTING_HANDLER(reporting_district_profile)
{
    const Teilhabe__Reporting__V1__DistrictProfileRequest *req = (const void *) request;
    int rc;
    if ((rc = th_auth_need_principal(call)) != TH_OK ||
        (rc = th_field_ags(call, "ags", req->ags)) != TH_OK)
        return rc;
    const char *lang = report_check_options(call, req->render, &rc);
    if (lang == NULL)
        return rc;
    const char *as_of = report_as_of(call, req->as_of, &rc);
    if (as_of == NULL)
        return rc;
    const char *to = req->period_to[0] != '\0' ? req->period_to
                                                : report_default_period(call, as_of);
    th_period_t first, last;
    if ((rc = th_field_period(call, "period_to", to, false, &last)) != TH_OK)
        return rc;
    if (req->period_from[0] != '\0') {
        if ((rc = th_field_period(call, "period_from", req->period_from, false, &first)) !=
            TH_OK)
            return rc;
    } else {
        first = last;
        first.year -= 4;
    }
    if (first.kind != last.kind || th_period_compare(&first, &last) > 0 ||
        last.year - first.year > 10)
        return th_answer_invalid(call, "period_from",
                                 "the range must run forward between periods of one kind "
                                 "(2021..2025, 2024Q1..2025Q4), over at most ten years");
    char land[3];
    snprintf(land, sizeof land, "%.2s", req->ags);
    if (!th_auth_reads_records(th_call_principal(call), land))
        return th_auth_deny(call, "a district profile",
                            "the ministry or a manager of the district's Land, or admin");
    char ids[64][TH_PERIOD_LEN + 1];
    int n = 0;
    for (th_period_t p = first; n < 64; n++) {
        th_period_format(&p, ids[n]);
        if (th_period_compare(&p, &last) == 0 || th_period_next(&p, &p) != 0)
            break;
    }
    n++;
    char *periods = th_call_strdup(call, "{");
    for (int i = 0; i < n; i++)
        periods = th_call_printf(call, "%s%s%s", periods, i > 0 ? "," : "", ids[i]);
    periods = th_call_printf(call, "%s}", periods);

    rb_t b;
    report_t *rep = rb_begin(&b, call, "district_profile", lang, "Kreisprofil",
                             "District profile");
    if ((rc = report_snapshot_begin(&b)) != TH_OK)
        return rc;
    const char *params[] = {req->ags, as_of, periods, lang};
    PGresult *r = report_query(&b, s_facts_sql, 2, params);
    if (r == NULL)
        return report_fail(&b, "the district");
    if (PQntuples(r) == 0) {
        PQclear(r);
        th_db_rollback(th_call_db(call));
        return th_answer_field(call, TH_NOT_FOUND, "ags", "no such district",
                               "no district with AGS %s (teilhabe district list shows them)",
                               req->ags);
    }
    rep->subtitle = rb_printf(&b, "%s %s", req->ags, PQgetvalue(r, 0, 0));
    s_facts(&b, r);
    PQclear(r);
    if ((rc = report_data_state(&b, req->ags, as_of, ids[0], ids[n - 1])) != TH_OK ||
        (rc = s_concepts(&b, params)) != TH_OK || (rc = s_managers(&b, params)) != TH_OK ||
        (rc = s_measures(&b, params)) != TH_OK ||
        (rc = s_indicators(&b, params, ids, n)) != TH_OK ||
        (rc = s_assessment(&b, params)) != TH_OK || (rc = s_decisions(&b, params)) != TH_OK)
        return rc;
    return report_finish(&b, req->render, req->ags, as_of,
                         rb_printf(&b, "%s-%s", rb_l(&b, "kreisprofil", "district-profile"),
                                   req->ags),
                         response);
}
