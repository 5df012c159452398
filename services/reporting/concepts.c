/* ---------------------------------------------------------------------------
 * concepts.c: ConceptMonitor, integration concepts per Land and settlement
 * type, the fields of action concepts name, and the Berlin-Institut's
 * published 2021 figures beside teilhabe's own (docs/reporting.md,
 * "Concept monitor").
 * ---------------------------------------------------------------------------
 */
#include <string.h>

#include "reporting.h"
#include "th_auth.h"
#include "th_field.h"
#include "th_status.h"

#define VT(x) TEILHABE__REPORTING__V1__VALUE_TYPE__VALUE_TYPE_##x

/* The Berlin-Institut für Bevölkerung und Entwicklung, "Alle sollen
 * teilhaben" (2021): its count of the 401 Kreise and kreisfreie Städte
 * (data/reference/README.md). */
#define S_BI_DISTRICTS 401
#define S_BI_CONCEPTS 221
#define S_BI_PARTICIPATION 149

/* Districts existing on $2 of Land $1 ("" = all) with the settlement type
 * of their figures on $2 and the concept in force on $2. */
#define S_SCOPE_CTE                                                                            \
    "WITH d AS (SELECT d.ags, d.state_code, f.settlement_type FROM reporting.districts d "     \
    "  JOIN reporting.district_figures f ON f.ags = d.ags AND f.valid_from <= $2::date "       \
    "  AND (f.valid_to IS NULL OR f.valid_to >= $2::date) "                                    \
    "  WHERE ($1 = '' OR d.state_code = $1) AND d.valid_from <= $2::date "                     \
    "  AND (d.valid_to IS NULL OR d.valid_to >= $2::date)), "                                  \
    "c AS (SELECT DISTINCT ON (ags) ags, orientation, fields, example "                         \
    "  FROM reporting.concepts WHERE adopted_on <= $2::date AND ($1 = '' OR state_code = $1) " \
    "  ORDER BY ags, version DESC) "

static const char s_by_type_sql[] =
    S_SCOPE_CTE
    "SELECT d.state_code, s.name, d.settlement_type, count(*), count(c.ags), "
    "count(c.ags) FILTER (WHERE c.orientation = 'participation'), "
    "coalesce(bool_or(c.example), false) "
    "FROM d JOIN reporting.states s ON s.code = d.state_code LEFT JOIN c USING (ags) "
    "GROUP BY d.state_code, s.name, d.settlement_type "
    "ORDER BY d.state_code, array_position(ARRAY['kreisfreie_grossstadt', "
    "'staedtischer_kreis', 'laendlicher_kreis_verdichtung', 'duenn_besiedelt'], "
    "d.settlement_type)";

static const char s_fields_sql[] =
    S_SCOPE_CTE "SELECT f, count(*), coalesce(bool_or(c.example), false) "
                "FROM d JOIN c USING (ags), unnest(c.fields) f GROUP BY f ORDER BY count(*) DESC, f";

static const char *const s_types[] = {"kreisfreie_grossstadt", "staedtischer_kreis",
                                      "laendlicher_kreis_verdichtung", "duenn_besiedelt"};

static void
s_columns(rb_t *b, report_table_t *t, bool with_land)
{
    if (with_land)
        rb_column(b, t, "state", "Land", "Land", VT(TEXT), 0);
    rb_column(b, t, "settlement_type", "Siedlungstyp", "Settlement type", VT(TEXT), 0);
    rb_column(b, t, "districts", "Kreise", "Districts", VT(INTEGER), 0);
    rb_column(b, t, "with_concept", "mit Konzept", "with a concept", VT(INTEGER), 0);
    rb_column(b, t, "with_concept_share", "Anteil", "Share", VT(PERCENT), 1);
    rb_column(b, t, "participation", "teilhabeorientiert", "participation-oriented",
              VT(INTEGER), 0);
    rb_column(b, t, "participation_share", "Anteil", "Share", VT(PERCENT), 1);
}

static void
s_cells(rb_t *b, report_row_t *row, const int64_t n[3])
{
    rb_number(b, row, n[0]);
    rb_number(b, row, n[1]);
    rb_share(b, row, n[1], n[0]);
    rb_number(b, row, n[2]);
    rb_share(b, row, n[2], n[0]);
}

/* Per settlement type over the whole scope, and per Land and type. */
static void
s_tables(rb_t *b, const PGresult *r, bool federal, int64_t total[3])
{
    report_section_t *s = rb_section(b, "settlement_types", "Nach Siedlungstyp",
                                     "By settlement type");
    rb_text(b, s,
            rb_l(b,
                 "Siedlungstypen nach den Kreistypen des BBSR, aus Art, Einwohnern und "
                 "Dichte des Kreises am Stichtag (docs/registry.md). Konzept: das am "
                 "Stichtag geltende Integrationskonzept.",
                 "Settlement types after the BBSR's district types, from the district's kind, "
                 "population and density on the as-of date (docs/registry.md). Concept: the "
                 "integration concept in force on the as-of date."));
    report_table_t *t = rb_table(b, s);
    s_columns(b, t, false);
    int64_t by_type[4][3] = {{0}};
    bool example = false;
    for (int i = 0; i < PQntuples(r); i++)
        for (int k = 0; k < 4; k++)
            if (strcmp(PQgetvalue(r, i, 2), s_types[k]) == 0) {
                for (int j = 0; j < 3; j++)
                    by_type[k][j] += report_int(r, i, 3 + j);
                example |= report_bool(r, i, 6);
            }
    for (int k = 0; k < 4; k++) {
        report_row_t *row = rb_row(b, t, s_types[k], false);
        rb_text_cell(b, row, report_term(b, s_types[k]));
        s_cells(b, row, by_type[k]);
        for (int j = 0; j < 3; j++)
            total[j] += by_type[k][j];
    }
    report_row_t *row = rb_row(b, t, "total", true);
    rb_text_cell(b, row, rb_l(b, "Insgesamt", "Total"));
    s_cells(b, row, total);
    if (example)
        rb_row_mark(b, row, "example");
    rb_chart(b, s,
             &(rb_chart_spec_t){
                 .kind = TEILHABE__REPORTING__V1__CHART_KIND__CHART_KIND_BAR,
                 .title = (char *) rb_l(b, "Kreise mit Integrationskonzept nach Siedlungstyp",
                                        "Districts with an integration concept by "
                                        "settlement type"),
                 .caption = (char *) rb_l(b,
                                          "Anteil der Kreise mit Konzept und mit "
                                          "teilhabeorientiertem Konzept je Siedlungstyp.",
                                          "Share of districts with a concept and with a "
                                          "participation-oriented one per settlement type."),
                 .category_col = 0,
                 .value_cols = {3, 5},
                 .series_names = {rb_l(b, "mit Konzept", "with a concept"),
                                  rb_l(b, "teilhabeorientiert", "participation-oriented")},
                 .n_values = 2,
             });

    s = rb_section(b, "lands", federal ? "Nach Land und Siedlungstyp" : "Nach Siedlungstyp im Land",
                   federal ? "By Land and settlement type" : "By settlement type in the Land");
    t = rb_table(b, s);
    s_columns(b, t, true);
    int64_t land[3] = {0, 0, 0};
    for (int i = 0; i < PQntuples(r); i++) {
        row = rb_row(b, t, rb_printf(b, "%s-%s", PQgetvalue(r, i, 0), PQgetvalue(r, i, 2)),
                     false);
        rb_text_cell(b, row, report_str(b, r, i, 1));
        rb_text_cell(b, row, report_term(b, PQgetvalue(r, i, 2)));
        const int64_t n[3] = {report_int(r, i, 3), report_int(r, i, 4), report_int(r, i, 5)};
        s_cells(b, row, n);
        if (report_bool(r, i, 6))
            rb_row_mark(b, row, "example");
        for (int j = 0; j < 3; j++)
            land[j] += n[j];
        if (i + 1 == PQntuples(r) || strcmp(PQgetvalue(r, i, 0), PQgetvalue(r, i + 1, 0)) != 0) {
            row = rb_row(b, t, report_str(b, r, i, 0), true);
            rb_text_cell(b, row, report_str(b, r, i, 1));
            rb_text_cell(b, row, rb_l(b, "zusammen", "together"));
            s_cells(b, row, land);
            land[0] = land[1] = land[2] = 0;
        }
    }
}

static int
s_fields(rb_t *b, const char *const *params, int64_t concepts)
{
    PGresult *r = report_query(b, s_fields_sql, 2, params);
    if (r == NULL)
        return report_fail(b, "the concepts' fields of action");
    report_section_t *s = rb_section(b, "fields", "Handlungsfelder in den Konzepten",
                                     "Fields of action named in the concepts");
    report_table_t *t = rb_table(b, s);
    rb_column(b, t, "field", "Handlungsfeld", "Field of action", VT(TEXT), 0);
    rb_column(b, t, "concepts", "Konzepte", "Concepts", VT(INTEGER), 0);
    rb_column(b, t, "share", "Anteil der Konzepte", "Share of the concepts", VT(PERCENT), 1);
    for (int i = 0; i < PQntuples(r); i++) {
        report_row_t *row = rb_row(b, t, report_str(b, r, i, 0), false);
        rb_text_cell(b, row, report_term(b, PQgetvalue(r, i, 0)));
        rb_number(b, row, report_int(r, i, 1));
        rb_share(b, row, report_int(r, i, 1), concepts);
        if (report_bool(r, i, 2))
            rb_row_mark(b, row, "example");
    }
    PQclear(r);
    return TH_OK;
}

/* The Berlin-Institut's figures beside teilhabe's. */
static void
s_reference(rb_t *b, bool federal, const int64_t total[3])
{
    report_section_t *s = rb_section(b, "reference", "Vergleich: Berlin-Institut 2021",
                                     "Reference: Berlin-Institut 2021");
    rb_text(b, s,
            rb_l(b,
                 "Das Berlin-Institut für Bevölkerung und Entwicklung hat 2021 für die Studie "
                 "»Alle sollen teilhaben« die Integrationskonzepte aller 401 Kreise und "
                 "kreisfreien Städte von Hand ausgewertet: 221 hatten ein Konzept, 149 davon "
                 "teilhabeorientiert; in Städten waren Konzepte die Regel, in ländlichen "
                 "Kreisen seltener. Die Zahlen sind die veröffentlichten der Studie, von "
                 "teilhabe nicht nachgezählt (data/reference/README.md).",
                 "For its 2021 study \"Alle sollen teilhaben\" the Berlin-Institut für "
                 "Bevölkerung und Entwicklung read the integration concepts of all 401 "
                 "districts by hand: 221 had a concept, 149 of them participation-oriented; "
                 "concepts were the rule in cities and rarer in rural districts. The figures "
                 "are the study's published ones, not recounted by teilhabe "
                 "(data/reference/README.md)."));
    if (!federal)
        rb_text(b, s,
                rb_l(b,
                     "Die Studie veröffentlicht bundesweite Zahlen; die Spalte teilhabe zeigt "
                     "hier nur das Land.",
                     "The study publishes federal figures; the column teilhabe shows only the "
                     "Land here."));
    report_table_t *t = rb_table(b, s);
    rb_column(b, t, "figure", "Kennzahl", "Figure", VT(TEXT), 0);
    rb_column(b, t, "berlin_institut_2021", "Berlin-Institut 2021", "Berlin-Institut 2021",
              VT(INTEGER), 0);
    rb_column(b, t, "teilhabe", "teilhabe (Stichtag)", "teilhabe (as of)", VT(INTEGER), 0);
    const struct {
        const char *key, *de, *en;
        int64_t bi, own;
    } lines[] = {
        {"districts", "Kreise und kreisfreie Städte", "Districts", S_BI_DISTRICTS, total[0]},
        {"with_concept", "mit Integrationskonzept", "with an integration concept",
         S_BI_CONCEPTS, total[1]},
        {"participation", "davon teilhabeorientiert", "of them participation-oriented",
         S_BI_PARTICIPATION, total[2]},
    };
    for (size_t i = 0; i < 3; i++) {
        report_row_t *row = rb_row(b, t, lines[i].key, false);
        rb_text_cell(b, row, rb_l(b, lines[i].de, lines[i].en));
        rb_cell_mark(b, rb_number(b, row, lines[i].bi), "source-bi");
        rb_number(b, row, lines[i].own);
    }
    rb_note(b, "source-bi", "Q",
            "Quelle: Berlin-Institut für Bevölkerung und Entwicklung (2021): Alle sollen "
            "teilhaben. Wie Kommunen die Integration von Zugewanderten verbessern können. "
            "Berlin. Veröffentlichte Zahlen, nicht nachgezählt.",
            "Source: Berlin-Institut für Bevölkerung und Entwicklung (2021): Alle sollen "
            "teilhaben. Berlin. Published figures, not recounted.");
}

REPORTING_HANDLER(reporting_concept_monitor)
{
    const Teilhabe__Reporting__V1__ConceptMonitorRequest *req = (const void *) request;
    int rc;
    if ((rc = th_auth_need_principal(call)) != TH_OK ||
        (rc = th_field_land(call, "state_code", req->state_code, true)) != TH_OK)
        return rc;
    const char *lang = report_check_options(call, req->render, &rc);
    if (lang == NULL)
        return rc;
    const char *as_of = report_as_of(call, req->as_of, &rc);
    if (as_of == NULL)
        return rc;
    if ((rc = report_need_aggregates(call, req->state_code, "the concept monitor")) != TH_OK)
        return rc;
    const bool federal = req->state_code[0] == '\0';
    rb_t b;
    report_t *rep = rb_begin(&b, call, "concept_monitor", lang, "Konzeptmonitor",
                             "Concept monitor");
    if ((rc = report_snapshot_begin(&b)) != TH_OK)
        return rc;
    if (federal) {
        rep->subtitle = (char *) rb_l(&b, "Deutschland", "Germany");
    } else {
        const char *name = report_land_name(&b, req->state_code, &rc);
        if (name == NULL)
            return rc;
        rep->subtitle = (char *) name;
    }
    const char *params[] = {req->state_code, as_of};
    PGresult *r = report_query(&b, s_by_type_sql, 2, params);
    if (r == NULL)
        return report_fail(&b, "the concepts");
    int64_t total[3] = {0, 0, 0};
    s_tables(&b, r, federal, total);
    PQclear(r);
    if ((rc = s_fields(&b, params, total[1])) != TH_OK)
        return rc;
    s_reference(&b, federal, total);
    return report_finish(&b, req->render, req->state_code, as_of,
                         federal ? rb_l(&b, "konzeptmonitor", "concept-monitor")
                                 : rb_printf(&b, "%s-%s",
                                             rb_l(&b, "konzeptmonitor", "concept-monitor"),
                                             req->state_code),
                         response);
}
