/* ---------------------------------------------------------------------------
 * land.c: LandOverview, a Land at a glance (docs/reporting.md, "Land
 * overview"): key figures, one row per district, measures by field of
 * action x target group, reach, self-assessment, eligibility.
 * ---------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include "reporting.h"
#include "teilhabe/v1/fields.pb-c.h"
#include "th_answer.h"
#include "th_auth.h"
#include "th_enum.h"
#include "th_field.h"
#include "th_period.h"
#include "th_status.h"

#define VT(x) TEILHABE__REPORTING__V1__VALUE_TYPE__VALUE_TYPE_##x

/* Columns of the district query below. */
enum {
    D_AGS, D_NAME, D_KIND, D_ADOPTED, D_ORIENTATION, D_AGE, D_MANAGERS, D_MEASURES, D_OPEN,
    D_REACH, D_ASSESSMENT, D_STATUS, D_EXAMPLE
};

/* The districts of Land $1 that exist on $2, with their concept in force
 * on $2, managers assigned on $2, measures running on $2, and what they
 * recorded for period $3. */
const char land_fields_sql[] =
    "SELECT field, count(*) FILTER (WHERE target_group = 'all_residents'), "
    "count(*) FILTER (WHERE target_group = 'newcomers'), "
    "count(*) FILTER (WHERE target_group = 'group'), bool_or(example) "
    "FROM reporting.measures m WHERE state_code = $1 "
    "AND reporting.measure_runs(status, start_date, end_date, $2::date) "
    "AND EXISTS (SELECT 1 FROM reporting.districts d WHERE d.ags = m.ags "
    "  AND d.valid_from <= $2::date AND (d.valid_to IS NULL OR d.valid_to >= $2::date)) "
    "GROUP BY field";

const char land_districts_sql[] =
    "WITH d AS (SELECT ags, name, kind FROM reporting.districts WHERE state_code = $1 "
    "  AND valid_from <= $2::date AND (valid_to IS NULL OR valid_to >= $2::date)), "
    "c AS (SELECT DISTINCT ON (ags) ags, adopted_on, orientation, example "
    "  FROM reporting.concepts WHERE state_code = $1 AND adopted_on <= $2::date "
    "  ORDER BY ags, version DESC), "
    "g AS (SELECT ags, count(DISTINCT manager_id) AS n FROM reporting.manager_assignments "
    "  WHERE state_code = $1 AND valid_from <= $2::date "
    "  AND (valid_to IS NULL OR valid_to >= $2::date) GROUP BY ags), "
    "m AS (SELECT ags, count(*) AS n, count(*) FILTER (WHERE target_group = 'all_residents') "
    "  AS open, bool_or(example) AS ex FROM reporting.measures WHERE state_code = $1 "
    "  AND reporting.measure_runs(status, start_date, end_date, $2::date) GROUP BY ags), "
    "r AS (SELECT ags, sum(participants_total) AS p, bool_or(example) AS ex "
    "  FROM reporting.reach WHERE state_code = $1 AND period = $3 GROUP BY ags), "
    "a AS (SELECT ags, round(avg(rating) * 1000000) AS avg, bool_or(example) AS ex "
    "  FROM reporting.assessment_answers WHERE state_code = $1 AND period = $3 GROUP BY ags), "
    "s AS (SELECT ags, status, example FROM reporting.submissions "
    "  WHERE state_code = $1 AND period = $3) "
    "SELECT d.ags, d.name, d.kind, to_char(c.adopted_on, 'YYYY-MM-DD'), c.orientation, "
    "  round(($2::date - c.adopted_on)::numeric / 365.25 * 1000000), coalesce(g.n, 0), "
    "  coalesce(m.n, 0), coalesce(m.open, 0), r.p, a.avg, coalesce(s.status, 'draft'), "
    "  coalesce(c.example, false) OR coalesce(m.ex, false) OR coalesce(r.ex, false) "
    "  OR coalesce(a.ex, false) OR coalesce(s.example, false) "
    "FROM d LEFT JOIN c USING (ags) LEFT JOIN g USING (ags) LEFT JOIN m USING (ags) "
    "LEFT JOIN r USING (ags) LEFT JOIN a USING (ags) LEFT JOIN s USING (ags) ORDER BY d.ags";

/* A participation-oriented concept whose running measures are mostly
 * (more than half) not open to all residents: the gap the Berlin-Institut
 * found (docs/reporting.md). */
static bool
s_gap(const PGresult *r, int i)
{
    const int64_t n = report_int(r, i, D_MEASURES);
    return strcmp(PQgetvalue(r, i, D_ORIENTATION), "participation") == 0 && n > 0 &&
           report_int(r, i, D_OPEN) * 2 < n;
}

typedef struct {
    int districts, concepts, participation, covered, approved, gaps;
    int64_t measures, open;
} s_totals_t;

static void
s_district_table(rb_t *b, const PGresult *r, const char *period, int64_t managers,
                 s_totals_t *tot)
{
    report_section_t *s = rb_section(b, "districts", "Kreise und kreisfreie Städte",
                                     "Districts");
    rb_text(b, s,
            rb_l(b,
                 "Konzept: das am Stichtag geltende Integrationskonzept (zuletzt beschlossene "
                 "Fassung). Maßnahmen: am Stichtag laufende. Lücke: teilhabeorientiertes "
                 "Konzept, aber höchstens die Hälfte der laufenden Maßnahmen steht allen "
                 "Einwohnerinnen und Einwohnern offen.",
                 "Concept: the integration concept in force on the as-of date (the version "
                 "adopted last). Measures: those running on that date. Gap: a "
                 "participation-oriented concept, but at most half of the running measures "
                 "are open to all residents."));
    report_table_t *t = rb_table(b, s);
    rb_column(b, t, "ags", "AGS", "AGS", VT(TEXT), 0);
    rb_column(b, t, "name", "Name", "Name", VT(TEXT), 0);
    rb_column(b, t, "kind", "Art", "Kind", VT(TEXT), 0);
    rb_column(b, t, "concept_adopted", "Konzept beschlossen", "Concept adopted", VT(DATE), 0);
    rb_column(b, t, "orientation", "Ausrichtung", "Orientation", VT(TEXT), 0);
    rb_column(b, t, "concept_age_years", "Alter (Jahre)", "Age (years)", VT(DECIMAL), 1);
    rb_column(b, t, "managers", "Integrationsmanager", "Integration managers", VT(INTEGER), 0);
    rb_column(b, t, "measures", "Maßnahmen", "Measures", VT(INTEGER), 0);
    rb_column(b, t, "open_to_all_share", "Offen für alle", "Open to all", VT(PERCENT), 1);
    rb_column(b, t, "gap", "Lücke", "Gap", VT(TEXT), 0);
    rb_column(b, t, "participations", rb_printf(b, "Teilnahmen %s", period),
              rb_printf(b, "Participations %s", period), VT(PEOPLE), 0);
    rb_column(b, t, "self_assessment", "Selbsteinschätzung (Ø 1–4)",
              "Self-assessment (mean 1-4)", VT(DECIMAL), 1);
    rb_column(b, t, "submission", rb_printf(b, "Zeitraum %s", period),
              rb_printf(b, "Period %s", period), VT(TEXT), 0);
    int64_t reach = 0;
    bool any_reach = false;
    for (int i = 0; i < PQntuples(r); i++) {
        report_row_t *row = rb_row(b, t, report_str(b, r, i, D_AGS), false);
        const bool concept = !PQgetisnull(r, i, D_ADOPTED);
        const bool gap = s_gap(r, i);
        rb_text_cell(b, row, report_str(b, r, i, D_AGS));
        rb_text_cell(b, row, report_str(b, r, i, D_NAME));
        rb_text_cell(b, row, report_term(b, PQgetvalue(r, i, D_KIND)));
        rb_date(b, row, report_str(b, r, i, D_ADOPTED));
        rb_text_cell(b, row, concept ? report_orientation(b, PQgetvalue(r, i, D_ORIENTATION))
                                     : "");
        rb_number_or_empty(b, row, r, i, D_AGE);
        rb_number(b, row, report_int(r, i, D_MANAGERS));
        rb_number(b, row, report_int(r, i, D_MEASURES));
        rb_share(b, row, report_int(r, i, D_OPEN), report_int(r, i, D_MEASURES));
        rb_text_cell(b, row, gap ? rb_l(b, "ja", "yes") : "");
        rb_number_or_empty(b, row, r, i, D_REACH);
        rb_number_or_empty(b, row, r, i, D_ASSESSMENT);
        rb_text_cell(b, row, report_term(b, PQgetvalue(r, i, D_STATUS)));
        if (report_bool(r, i, D_EXAMPLE))
            rb_row_mark(b, row, "example");
        tot->districts++;
        tot->concepts += concept;
        tot->participation +=
            concept && strcmp(PQgetvalue(r, i, D_ORIENTATION), "participation") == 0;
        tot->covered += report_int(r, i, D_MANAGERS) > 0;
        tot->approved += strcmp(PQgetvalue(r, i, D_STATUS), "approved") == 0;
        tot->gaps += gap;
        tot->measures += report_int(r, i, D_MEASURES);
        tot->open += report_int(r, i, D_OPEN);
        any_reach |= !PQgetisnull(r, i, D_REACH);
        reach += report_int(r, i, D_REACH);
    }
    report_row_t *row = rb_row(b, t, "total", true);
    rb_text_cell(b, row, "");
    rb_text_cell(b, row, rb_l(b, "Insgesamt", "Total"));
    for (int k = 0; k < 4; k++)
        rb_empty(b, row);
    rb_number(b, row, managers);
    rb_number(b, row, tot->measures);
    rb_share(b, row, tot->open, tot->measures);
    rb_text_cell(b, row, tot->gaps > 0 ? rb_printf(b, "%d", tot->gaps) : "");
    if (any_reach)
        rb_number(b, row, reach);
    else
        rb_empty(b, row);
    rb_empty(b, row);
    rb_empty(b, row);
    rb_chart(b, s,
             &(rb_chart_spec_t){
                 .kind = TEILHABE__REPORTING__V1__CHART_KIND__CHART_KIND_BAR,
                 .title = (char *) rb_l(b, "Anteil der Maßnahmen, die allen offenstehen",
                                        "Share of measures open to all residents"),
                 .caption = (char *) rb_l(b,
                                          "Je Kreis der Anteil der am Stichtag laufenden "
                                          "Maßnahmen mit Zielgruppe alle Einwohner.",
                                          "Per district, the share of measures running on "
                                          "the as-of date that address all residents."),
                 .category_col = 1,
                 .value_cols = {8},
                 .n_values = 1,
             });
}

static void
s_summary(rb_t *b, report_section_t *s, const s_totals_t *tot, int64_t managers,
          const char *period)
{
    report_table_t *t = rb_table(b, s);
    rb_column(b, t, "figure", "Kennzahl", "Figure", VT(TEXT), 0);
    rb_column(b, t, "value", "Anzahl", "Count", VT(INTEGER), 0);
    rb_column(b, t, "share", "Anteil", "Share", VT(PERCENT), 1);
    const struct {
        const char *key, *de, *en;
        int64_t n, of;
    } lines[] = {
        {"districts", "Kreise und kreisfreie Städte", "Districts", tot->districts, 0},
        {"with_concept", "mit Integrationskonzept", "with an integration concept",
         tot->concepts, tot->districts},
        {"participation", "davon teilhabeorientiert", "of them participation-oriented",
         tot->participation, tot->concepts},
        {"gap", "davon mit Lücke (Maßnahmen überwiegend nicht für alle)",
         "of them with a gap (measures mostly not open to all)", tot->gaps,
         tot->participation},
        {"with_manager", "mit Integrationsmanagement", "with integration management",
         tot->covered, tot->districts},
        {"without_manager", "ohne Integrationsmanagement", "without integration management",
         tot->districts - tot->covered, tot->districts},
        {"managers", "Integrationsmanager (Personen)", "Integration managers (people)",
         managers, 0},
        {"measures", "laufende Maßnahmen", "running measures", tot->measures, 0},
        {"measures_open", "davon offen für alle", "of them open to all residents", tot->open,
         tot->measures},
        {"approved", "", "", tot->approved, tot->districts},
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        report_row_t *row = rb_row(b, t, lines[i].key, false);
        rb_text_cell(b, row,
                     lines[i].de[0] != '\0'
                         ? rb_l(b, lines[i].de, lines[i].en)
                         : RB_PRINTF(b, "Zeitraum %s freigegeben", "period %s approved",
                                     period));
        rb_number(b, row, lines[i].n);
        if (lines[i].of > 0)
            rb_share(b, row, lines[i].n, lines[i].of);
        else
            rb_empty(b, row);
    }
}

/* Running measures by field of action x target group. */
static int
s_fields(rb_t *b, const char *const *params)
{
    PGresult *r = report_query(b, land_fields_sql, 2, params);
    if (r == NULL)
        return report_fail(b, "the measures");
    report_section_t *s = rb_section(b, "fields", "Maßnahmen nach Handlungsfeld und Zielgruppe",
                                     "Measures by field of action and target group");
    report_table_t *t = rb_table(b, s);
    rb_column(b, t, "field", "Handlungsfeld", "Field of action", VT(TEXT), 0);
    rb_column(b, t, "all_residents", "Alle Einwohner", "All residents", VT(INTEGER), 0);
    rb_column(b, t, "newcomers", "Neuzugewanderte", "Newcomers", VT(INTEGER), 0);
    rb_column(b, t, "group", "Bestimmte Gruppe", "A specific group", VT(INTEGER), 0);
    rb_column(b, t, "total", "Insgesamt", "Total", VT(INTEGER), 0);
    rb_sum_of(b, t, (const char *const[]){"all_residents", "newcomers", "group", NULL});
    rb_column(b, t, "open_to_all_share", "Offen für alle", "Open to all", VT(PERCENT), 1);
    int64_t sum[3] = {0, 0, 0};
    const ProtobufCEnumDescriptor *fields = &teilhabe__common__v1__field_of_action__descriptor;
    for (unsigned v = 0; v < fields->n_values; v++) {
        char token[TH_ENUM_TEXT_SIZE];
        if (th_enum_token(fields, fields->values[v].value, token, sizeof token) == NULL)
            continue;
        int64_t n[3] = {0, 0, 0};
        bool example = false;
        for (int i = 0; i < PQntuples(r); i++)
            if (strcmp(PQgetvalue(r, i, 0), token) == 0) {
                for (int k = 0; k < 3; k++)
                    n[k] = report_int(r, i, 1 + k);
                example = report_bool(r, i, 4);
            }
        report_row_t *row = rb_row(b, t, th_call_strdup(b->call, token), false);
        rb_text_cell(b, row, report_term(b, token));
        for (int k = 0; k < 3; k++) {
            rb_number(b, row, n[k]);
            sum[k] += n[k];
        }
        rb_number(b, row, n[0] + n[1] + n[2]);
        rb_share(b, row, n[0], n[0] + n[1] + n[2]);
        if (example)
            rb_row_mark(b, row, "example");
    }
    PQclear(r);
    report_row_t *row = rb_row(b, t, "total", true);
    rb_text_cell(b, row, rb_l(b, "Insgesamt", "Total"));
    for (int k = 0; k < 3; k++)
        rb_number(b, row, sum[k]);
    rb_number(b, row, sum[0] + sum[1] + sum[2]);
    rb_share(b, row, sum[0], sum[0] + sum[1] + sum[2]);
    rb_chart(b, s,
             &(rb_chart_spec_t){
                 .kind = TEILHABE__REPORTING__V1__CHART_KIND__CHART_KIND_STACKED_BAR,
                 .title = (char *) rb_l(b, "Laufende Maßnahmen nach Zielgruppe",
                                        "Running measures by target group"),
                 .caption = (char *) rb_l(b,
                                          "Je Handlungsfeld die am Stichtag laufenden "
                                          "Maßnahmen, gestapelt nach Zielgruppe.",
                                          "Per field of action the measures running on the "
                                          "as-of date, stacked by target group."),
                 .category_col = 0,
                 .value_cols = {1, 2, 3},
                 .n_values = 3,
             });
    return TH_OK;
}

/* Participations of period $3 by field of action. */
static int
s_reach(rb_t *b, const char *const *params)
{
    PGresult *r = report_query(
        b,
        "SELECT field, sum(participants_total), sum(with_migration_history), "
        "sum(without_migration_history), bool_or(example) FROM reporting.reach "
        "WHERE state_code = $1 AND period = $2 GROUP BY field ORDER BY field",
        2, (const char *const[]){params[0], params[2]});
    if (r == NULL)
        return report_fail(b, "the reach");
    report_section_t *s = rb_section(b, "reach", "Erreichte Personen (Teilnahmen)",
                                     "People reached (participations)");
    rb_text(b, s,
            rb_printf(b, "%s",
                      rb_l(b,
                           "Teilnahmen an den Maßnahmen im Zeitraum, wie die Kreise sie "
                           "melden; wer an zwei Maßnahmen teilnimmt, zählt zweimal.",
                           "Participations in the measures in the period, as the districts "
                           "report them; a person in two measures counts twice.")));
    report_table_t *t = rb_table(b, s);
    rb_column(b, t, "field", "Handlungsfeld", "Field of action", VT(TEXT), 0);
    rb_column(b, t, "participants_total", "Teilnahmen", "Participations", VT(PEOPLE), 0);
    rb_column(b, t, "with_migration_history", "mit Einwanderungsgeschichte",
              "with migration history", VT(PEOPLE), 0);
    rb_column(b, t, "without_migration_history", "ohne Einwanderungsgeschichte",
              "without migration history", VT(PEOPLE), 0);
    int64_t sum[3] = {0, 0, 0};
    for (int i = 0; i < PQntuples(r); i++) {
        report_row_t *row = rb_row(b, t, report_str(b, r, i, 0), false);
        rb_text_cell(b, row, report_term(b, PQgetvalue(r, i, 0)));
        for (int k = 0; k < 3; k++) {
            rb_number(b, row, report_int(r, i, 1 + k));
            sum[k] += report_int(r, i, 1 + k);
        }
        if (report_bool(r, i, 4))
            rb_row_mark(b, row, "example");
    }
    const int n = PQntuples(r);
    PQclear(r);
    if (n == 0) {
        rb_text(b, s, rb_l(b, "Für den Zeitraum ist keine Reichweite gemeldet.",
                           "No reach is recorded for the period."));
        return TH_OK;
    }
    report_row_t *row = rb_row(b, t, "total", true);
    rb_text_cell(b, row, rb_l(b, "Insgesamt", "Total"));
    for (int k = 0; k < 3; k++)
        rb_number(b, row, sum[k]);
    return TH_OK;
}

/* The self-assessment of period $3: per question, how many districts
 * answered and their mean rating. */
static int
s_assessment(rb_t *b, const char *const *params)
{
    PGresult *r = report_query(
        b,
        "SELECT q.code, CASE WHEN $3 = 'en' THEN q.text_en ELSE q.text_de END, "
        "count(a.rating), round(avg(a.rating) * 1000000), coalesce(bool_or(a.example), false) "
        "FROM reporting.assessment_questions q LEFT JOIN reporting.assessment_answers a "
        "ON a.question_code = q.code AND a.state_code = $1 AND a.period = $2 "
        "GROUP BY q.code, q.text_de, q.text_en, q.position ORDER BY q.position",
        3, (const char *const[]){params[0], params[2], params[3]});
    if (r == NULL)
        return report_fail(b, "the self-assessments");
    report_section_t *s = rb_section(b, "assessment", "Prozess-Selbsteinschätzung",
                                     "Process self-assessment");
    rb_text(b, s,
            rb_l(b,
                 "Bewertung von 1 (trifft nicht zu) bis 4 (trifft voll zu), Mittel über die "
                 "Kreise, die den Zeitraum beantwortet haben.",
                 "Rating from 1 (does not apply) to 4 (fully applies), mean over the "
                 "districts that answered for the period."));
    report_table_t *t = rb_table(b, s);
    rb_column(b, t, "question", "Frage", "Question", VT(TEXT), 0);
    rb_column(b, t, "districts", "Kreise", "Districts", VT(INTEGER), 0);
    rb_column(b, t, "mean_rating", "Ø Bewertung", "Mean rating", VT(DECIMAL), 1);
    for (int i = 0; i < PQntuples(r); i++) {
        report_row_t *row = rb_row(b, t, report_str(b, r, i, 0), false);
        rb_text_cell(b, row, report_str(b, r, i, 1));
        rb_number(b, row, report_int(r, i, 2));
        rb_number_or_empty(b, row, r, i, 3);
        if (report_bool(r, i, 4))
            rb_row_mark(b, row, "example");
    }
    PQclear(r);
    return TH_OK;
}

/* Per programme of the Land: the latest decision of each district that
 * exists on $2, decided for a date up to $2. */
static int
s_eligibility(rb_t *b, const char *const *params)
{
    PGresult *r = report_query(
        b,
        "WITH last AS (SELECT DISTINCT ON (programme_code, ags) * FROM reporting.decisions "
        "  WHERE state_code = $1 AND as_of <= $2::date "
        "  ORDER BY programme_code, ags, as_of DESC, decided_at DESC, id) "
        "SELECT p.code, CASE WHEN $3 = 'en' THEN p.name_en ELSE p.name_de END, "
        "count(l.ags) FILTER (WHERE l.outcome = 'eligible'), "
        "count(l.ags) FILTER (WHERE l.outcome = 'not_eligible'), "
        "coalesce(sum(l.entitlement_cents), 0), coalesce(bool_or(l.illustrative), false), "
        "coalesce(bool_or(l.example), false), count(l.ags) "
        "FROM reporting.programmes p LEFT JOIN last l ON l.programme_code = p.code "
        "AND EXISTS (SELECT 1 FROM reporting.districts d WHERE d.ags = l.ags "
        "  AND d.valid_from <= $2::date AND (d.valid_to IS NULL OR d.valid_to >= $2::date)) "
        "WHERE p.state_code = $1 GROUP BY p.code, p.name_de, p.name_en ORDER BY p.code",
        3, (const char *const[]){params[0], params[1], params[3]});
    if (r == NULL)
        return report_fail(b, "the eligibility decisions");
    report_section_t *s = rb_section(b, "eligibility", "Förderprogramme",
                                     "Funding programmes");
    rb_text(b, s,
            rb_l(b,
                 "Je Kreis die letzte Entscheidung für einen Stichtag bis zum Stichtag des "
                 "Berichts (teilhabe report eligibility zeigt sie einzeln).",
                 "Per district the latest decision for a date up to the report's as-of date "
                 "(teilhabe report eligibility shows each)."));
    report_table_t *t = rb_table(b, s);
    rb_column(b, t, "programme", "Programm", "Programme", VT(TEXT), 0);
    rb_column(b, t, "name", "Name", "Name", VT(TEXT), 0);
    rb_column(b, t, "decided", "entschieden", "decided", VT(INTEGER), 0);
    rb_column(b, t, "eligible", "förderfähig", "eligible", VT(INTEGER), 0);
    rb_column(b, t, "not_eligible", "nicht förderfähig", "not eligible", VT(INTEGER), 0);
    rb_column(b, t, "entitlement", "Anspruch insgesamt", "Total entitlement", VT(MONEY), 0);
    for (int i = 0; i < PQntuples(r); i++) {
        report_row_t *row = rb_row(b, t, report_str(b, r, i, 0), false);
        rb_text_cell(b, row, report_str(b, r, i, 0));
        rb_text_cell(b, row, report_str(b, r, i, 1));
        rb_number(b, row, report_int(r, i, 7));
        rb_number(b, row, report_int(r, i, 2));
        rb_number(b, row, report_int(r, i, 3));
        report_cell_t *c = rb_number(b, row, report_int(r, i, 4));
        if (report_bool(r, i, 5)) {
            rb_cell_mark(b, c, "illustrative");
            report_note_illustrative(b);
        }
        if (report_bool(r, i, 6))
            rb_row_mark(b, row, "example");
    }
    if (PQntuples(r) == 0)
        rb_text(b, s, rb_l(b, "Für dieses Land ist kein Förderprogramm hinterlegt.",
                           "No funding programme is recorded for this Land."));
    PQclear(r);
    return TH_OK;
}

const char *
report_default_period(th_call_t *call, const char *as_of)
{
    int year = 0;
    sscanf(as_of, "%4d", &year);
    return th_call_printf(call, "%d", year - 1);
}

const char *
report_land_name(rb_t *b, const char *state_code, int *rc)
{
    const char *params[] = {state_code};
    PGresult *r = report_query(b, "SELECT name FROM reporting.states WHERE code = $1", 1,
                               params);
    if (r == NULL) {
        *rc = report_fail(b, "the Länder");
        return NULL;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        th_db_rollback(th_call_db(b->call));
        *rc = th_answer_field(b->call, TH_NOT_FOUND, "state_code", "no such Land",
                              "no Land with code \"%s\" (01 Schleswig-Holstein ... 16 "
                              "Thüringen)",
                              state_code);
        return NULL;
    }
    const char *name = report_str(b, r, 0, 0);
    PQclear(r);
    *rc = TH_OK;
    return name;
}

REPORTING_HANDLER(reporting_land_overview)
{
    const Teilhabe__Reporting__V1__LandOverviewRequest *req = (const void *) request;
    int rc;
    if ((rc = th_auth_need_principal(call)) != TH_OK ||
        (rc = th_field_land(call, "state_code", req->state_code, false)) != TH_OK)
        return rc;
    const char *lang = report_check_options(call, req->render, &rc);
    if (lang == NULL)
        return rc;
    const char *as_of = report_as_of(call, req->as_of, &rc);
    if (as_of == NULL)
        return rc;
    if ((rc = th_field_period(call, "period", req->period, true, NULL)) != TH_OK)
        return rc;
    const char *period = req->period[0] != '\0' ? req->period : report_default_period(call, as_of);
    if ((rc = report_need_aggregates(call, req->state_code, "the Land overview")) != TH_OK)
        return rc;

    rb_t b;
    report_t *rep = rb_begin(&b, call, "land_overview", lang, "Landesübersicht",
                             "Land overview");
    if ((rc = report_snapshot_begin(&b)) != TH_OK)
        return rc;
    const char *name = report_land_name(&b, req->state_code, &rc);
    if (name == NULL)
        return rc;
    rep->subtitle = (char *) name;
    if ((rc = report_data_state(&b, req->state_code, as_of, period, period)) != TH_OK)
        return rc;
    const char *params[] = {req->state_code, as_of, period, lang};
    PGresult *r = report_query(&b, land_districts_sql, 3, params);
    if (r == NULL)
        return report_fail(&b, "the districts");
    PGresult *m = report_query(&b,
                               "SELECT count(DISTINCT manager_id) FROM "
                               "reporting.manager_assignments WHERE state_code = $1 "
                               "AND valid_from <= $2::date "
                               "AND (valid_to IS NULL OR valid_to >= $2::date)",
                               2, params);
    if (m == NULL) {
        PQclear(r);
        return report_fail(&b, "the managers");
    }
    const int64_t managers = report_int(m, 0, 0);
    PQclear(m);
    report_section_t *summary = rb_section(&b, "summary", "Auf einen Blick", "At a glance");
    s_totals_t tot = {0};
    s_district_table(&b, r, period, managers, &tot);
    PQclear(r);
    s_summary(&b, summary, &tot, managers, period);
    if ((rc = s_fields(&b, params)) != TH_OK || (rc = s_reach(&b, params)) != TH_OK ||
        (rc = s_assessment(&b, params)) != TH_OK || (rc = s_eligibility(&b, params)) != TH_OK)
        return rc;
    return report_finish(&b, req->render, req->state_code, as_of,
                         rb_printf(&b, "%s-%s", rb_l(&b, "landesuebersicht", "land-overview"),
                                   req->state_code),
                         response);
}
