/* ---------------------------------------------------------------------------
 * test_reporting.c: the reports of teilhabe-reporting against the real
 * stack, each number compared with SQL of the test's own over the
 * services' tables (not the reporting views): the Land overview (key
 * figures, the gap, the data state, suppression and secondary suppression
 * at the threshold), the concept monitor on both sides of the Eisenach
 * merger, the indicator report's rates from numerator and denominator, the
 * eligibility report after a real EvaluateBatch, the district profile; the
 * formats; the rights; bad input; and what the reporting role may read.
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>

#include "reporting_env.h"

#define S_FMT(x) TEILHABE__REPORTING__V1__FORMAT__FORMAT_##x
#define S_AS_OF "2026-01-15"

typedef struct {
    reporting_env_t env;
    th_client_t *ministry;
    th_client_t *ministry_by;
    th_client_t *analyst;
    th_client_t *manager;
} s_fixture_t;

/* The fixture: concepts (Eisenach's ended with the district), managers,
 * measures of Gotha (16067: a participation-oriented concept, measures
 * mostly for newcomers: the gap) and Erfurt (16051), reach of 2025 with
 * counts below 3, one approved period, indicator values. */
static const char s_fixture_sql[] =
    "INSERT INTO registry.concepts (ags, version, title, adopted_on, orientation, fields, "
    " is_current, created_by) VALUES "
    "('16051', 1, 'Erfurt integriert', '2020-03-01', 'participation', "
    " '{language,work_and_training}', true, 'fixture'), "
    "('16056', 1, 'Eisenach', '2019-05-01', 'participation', '{language}', true, 'fixture'), "
    "('16063', 1, 'Wartburgkreis', '2015-01-01', 'newcomers', '{housing}', false, 'fixture'), "
    "('16063', 2, 'Wartburgkreis 2', '2022-01-01', 'participation', '{housing,health}', true, "
    " 'fixture'), "
    "('16067', 1, 'Gotha', '2023-06-01', 'participation', '{language,education}', true, "
    " 'example-ministry-16');"
    "INSERT INTO registry.managers (id, state_code, name) VALUES "
    "('m1', '16', 'Test, Eins'), ('m2', '16', 'Test, Zwei');"
    "INSERT INTO registry.manager_assignments (manager_id, ags, valid_from, valid_to) VALUES "
    "('m1', '16051', '2020-01-01', NULL), ('m2', '16067', '2024-01-01', '2024-12-31'), "
    "('m2', '16068', '2025-01-01', NULL);"
    "INSERT INTO measures.measures (id, ags, title, field, target_group, status, start_date, "
    " created_by, updated_by) VALUES "
    "('g1', '16067', 'Sprachcafé', 'language', 'newcomers', 'active', '2024-01-01', 'f', 'f'), "
    "('g2', '16067', 'Kurs 2', 'language', 'newcomers', 'active', '2024-01-01', 'f', 'f'), "
    "('g3', '16067', 'Kurs 3', 'housing', 'newcomers', 'active', '2024-01-01', 'f', 'f'), "
    "('g4', '16067', 'Offen', 'health', 'all_residents', 'active', '2024-01-01', 'f', 'f'), "
    "('e1', '16051', 'Jobs', 'work_and_training', 'all_residents', 'active', '2023-01-01', 'f', "
    " 'f'), "
    "('e2', '16051', 'Schule', 'education', 'all_residents', 'active', '2023-01-01', 'f', 'f'), "
    "('e3', '16051', 'Geplant', 'education', 'all_residents', 'planned', NULL, 'f', 'f'), "
    "('e4', '16051', 'Abgebrochen', 'education', 'newcomers', 'cancelled', '2023-01-01', 'f', "
    " 'f');"
    "INSERT INTO measures.reach (measure_id, period, period_start, period_end, "
    " participants_total, with_migration_history, without_migration_history, version, "
    " updated_by) VALUES "
    "('g1', '2025', '2025-01-01', '2025-12-31', 2, 1, 1, 1, 'f'), "
    "('e1', '2025', '2025-01-01', '2025-12-31', 40, 10, 30, 1, 'f'), "
    "('e2', '2025', '2025-01-01', '2025-12-31', 7, 3, 4, 1, 'f');"
    "INSERT INTO measures.submissions (ags, period, period_start, period_end, status, "
    " version) VALUES ('16051', '2025', '2025-01-01', '2025-12-31', 'approved', 1);"
    "INSERT INTO measures.indicator_values (ags, indicator_code, period, period_start, "
    " period_end, disaggregation, numerator, denominator, updated_by) VALUES "
    "('16051', 'employment_rate', '2024', '2024-01-01', '2024-12-31', 'total', 500, 1000, 'f'), "
    "('16067', 'employment_rate', '2024', '2024-01-01', '2024-12-31', 'total', 1, 3, 'f'), "
    "('16051', 'employment_rate', '2025', '2025-01-01', '2025-12-31', 'total', 520, 1000, 'f');";

static int
s_setup(void **state)
{
    s_fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    *state = f;
    if (reporting_env_start(&f->env, "reporting") != 0 || rep_sql(&f->env, s_fixture_sql) != 0)
        return -1;
    f->ministry = rep_client(&f->env, "ministry-th");
    f->ministry_by = rep_client(&f->env, "ministry-by");
    f->analyst = rep_client(&f->env, "analyst");
    f->manager = rep_client(&f->env, "manager-gotha");
    return f->ministry && f->ministry_by && f->analyst && f->manager ? 0 : -1;
}

static int
s_teardown(void **state)
{
    s_fixture_t *f = *state;
    th_client_destroy(&f->ministry);
    th_client_destroy(&f->ministry_by);
    th_client_destroy(&f->analyst);
    th_client_destroy(&f->manager);
    const bool clean = reporting_env_stop(&f->env);
    free(f);
    return clean ? 0 : -1;
}

static int
s_land(th_client_t *c, const char *land, const char *as_of, const char *period,
       Teilhabe__Reporting__V1__RenderOptions *render, th_result_t *r)
{
    Teilhabe__Reporting__V1__LandOverviewRequest req =
        TEILHABE__REPORTING__V1__LAND_OVERVIEW_REQUEST__INIT;
    req.state_code = (char *) land;
    req.as_of = (char *) as_of;
    req.period = (char *) period;
    req.render = render;
    return rep_call(c, REP_METHOD("LandOverview"), &req.base, r);
}

/* Districts of Thüringen existing on S_AS_OF, counted from the registry. */
#define S_TH_DISTRICTS                                                                        \
    "SELECT count(*) FROM registry.districts WHERE state_code = '16' "                       \
    "AND valid_from <= DATE '" S_AS_OF "' AND (valid_to IS NULL OR valid_to >= DATE '" S_AS_OF \
    "')"

static void
test_land_overview_figures(void **state)
{
    s_fixture_t *f = *state;
    th_result_t r;
    assert_int_equal(s_land(f->ministry, "16", S_AS_OF, "2025", NULL, &r), TH_OK);
    const rep_report_t *rep = (const void *) r.response;
    assert_string_equal(rep->kind, "land_overview");
    assert_string_equal(rep->title, "Landesübersicht");
    assert_string_equal(rep->subtitle, "Thüringen");
    const long long districts = rep_count(&f->env, S_TH_DISTRICTS);
    assert_int_equal(districts, 22); /* Eisenach merged into the Wartburgkreis in 2021 */
    assert_int_equal(rep_number(rep, "summary", "districts", "value"), districts);
    /* Concepts in force: the latest version adopted by the date, of a
     * district that exists then (Eisenach's does not count). */
    const long long concepts = rep_count(
        &f->env, "SELECT count(DISTINCT c.ags) FROM registry.concepts c JOIN registry.districts "
                 "d USING (ags) WHERE d.state_code = '16' AND c.adopted_on <= DATE '" S_AS_OF
                 "' AND (d.valid_to IS NULL OR d.valid_to >= DATE '" S_AS_OF "')");
    assert_int_equal(concepts, 3);
    assert_int_equal(rep_number(rep, "summary", "with_concept", "value"), concepts);
    assert_int_equal(rep_number(rep, "summary", "participation", "value"), 3);
    /* Gotha: participation-oriented, 1 of 4 running measures open to all. */
    assert_int_equal(rep_number(rep, "summary", "gap", "value"), 1);
    const Teilhabe__Reporting__V1__Cell *gap = rep_cell(rep, "districts", "16067", "gap");
    assert_non_null(gap);
    assert_string_equal(gap->text, "ja");
    assert_int_equal(rep_number(rep, "districts", "16067", "open_to_all_share"), 25000000);
    /* Running measures: active or completed, started, not ended. */
    const long long running = rep_count(
        &f->env, "SELECT count(*) FROM measures.measures WHERE state_code = '16' AND status IN "
                 "('active', 'completed') AND start_date <= DATE '" S_AS_OF "'");
    assert_int_equal(running, 6);
    assert_int_equal(rep_number(rep, "summary", "measures", "value"), running);
    assert_int_equal(rep_number(rep, "fields", "total", "total"), running);
    assert_int_equal(rep_number(rep, "fields", "language", "newcomers"), 2);
    /* Managers assigned on the date: m1 (Erfurt) and m2 (Sömmerda; its
     * Gotha assignment ended). */
    assert_int_equal(rep_number(rep, "summary", "managers", "value"), 2);
    assert_int_equal(rep_number(rep, "districts", "16067", "managers"), 0);
    assert_int_equal(rep_number(rep, "summary", "without_manager", "value"), districts - 2);
    /* The data state: one district approved 2025, the others open. */
    assert_int_equal(rep->state->data_state,
                     TEILHABE__REPORTING__V1__DATA_STATE__DATA_STATE_PROVISIONAL);
    assert_int_equal(rep->state->n_open_districts, districts - 1);
    for (size_t i = 0; i < rep->state->n_open_districts; i++)
        assert_string_not_equal(rep->state->open_districts[i], "16051");
    assert_string_equal(rep->state->as_of, S_AS_OF);
    assert_string_equal(rep->state->period_from, "2025");
    assert_true(strlen(rep->state->generated_at) == 20);
    /* Gotha's concept was written by an example principal. */
    assert_true(rep->state->example_data);
    const Teilhabe__Reporting__V1__Row *gotha = rep_row(rep_section(rep, "districts"), "16067");
    assert_non_null(gotha);
    assert_int_equal(gotha->n_marks, 1);
    assert_string_equal(gotha->marks[0], "example");
    assert_int_equal(rep->content.len, 0); /* FORMAT_NONE */
    th_result_clear(&r);
}

/* Counts of people below 3 are suppressed, and as many others as it takes
 * that the totals do not give them away. */
static void
test_land_overview_suppression(void **state)
{
    s_fixture_t *f = *state;
    th_result_t r;
    assert_int_equal(s_land(f->ministry, "16", S_AS_OF, "2025", NULL, &r), TH_OK);
    const rep_report_t *rep = (const void *) r.response;
    /* reach by field: language 2 (1/1) primary; education 7 (3/4) the
     * smallest other cell of each column: secondary; work 40 and the total
     * 49 shown. */
    const char *cols[] = {"participants_total", "with_migration_history",
                          "without_migration_history"};
    for (int k = 0; k < 3; k++) {
        const Teilhabe__Reporting__V1__Cell *lang = rep_cell(rep, "reach", "language", cols[k]);
        const Teilhabe__Reporting__V1__Cell *edu = rep_cell(rep, "reach", "education", cols[k]);
        assert_non_null(lang);
        assert_non_null(edu);
        assert_true(lang->suppressed);
        assert_int_equal(lang->number, 0);
        assert_string_equal(lang->text, ".");
        assert_true(edu->suppressed);
        assert_false(rep_cell(rep, "reach", "work_and_training", cols[k])->suppressed);
        assert_false(rep_cell(rep, "reach", "total", cols[k])->suppressed);
    }
    const long long total =
        rep_count(&f->env, "SELECT sum(participants_total) FROM measures.reach r JOIN "
                           "measures.measures m ON m.id = r.measure_id WHERE m.state_code = "
                           "'16' AND r.period = '2025'");
    assert_int_equal(rep_number(rep, "reach", "total", "participants_total"), total);
    assert_int_equal(rep_number(rep, "reach", "work_and_training", "participants_total"), 40);
    /* Per district: Gotha's 2 primary, Erfurt's 47 secondary (the only
     * other count), the total shown. */
    assert_true(rep_cell(rep, "districts", "16067", "participations")->suppressed);
    assert_true(rep_cell(rep, "districts", "16051", "participations")->suppressed);
    assert_int_equal(rep_number(rep, "districts", "total", "participations"), total);
    assert_int_equal(rep->state->suppression_threshold, 3);
    assert_true(rep->state->suppressed_cells >= 8);
    th_result_clear(&r);

    /* Raised to 8: education's 7 and the 3 and 4 are primary now. */
    Teilhabe__Reporting__V1__RenderOptions opts = TEILHABE__REPORTING__V1__RENDER_OPTIONS__INIT;
    opts.suppression_threshold = 8;
    assert_int_equal(s_land(f->ministry, "16", S_AS_OF, "2025", &opts, &r), TH_OK);
    rep = (const void *) r.response;
    assert_int_equal(rep->state->suppression_threshold, 8);
    assert_true(rep_cell(rep, "reach", "education", "participants_total")->suppressed);
    th_result_clear(&r);

    /* Never lowered. */
    opts.suppression_threshold = 2;
    assert_int_equal(s_land(f->ministry, "16", S_AS_OF, "2025", &opts, &r),
                     TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "render.suppression_threshold"));
    th_result_clear(&r);
}

static void
test_land_overview_formats(void **state)
{
    s_fixture_t *f = *state;
    th_result_t r;
    Teilhabe__Reporting__V1__RenderOptions opts = TEILHABE__REPORTING__V1__RENDER_OPTIONS__INIT;
    opts.format = S_FMT(HTML);
    assert_int_equal(s_land(f->ministry, "16", S_AS_OF, "2025", &opts, &r), TH_OK);
    const rep_report_t *rep = (const void *) r.response;
    /* bytes on the wire: no NUL of their own */
    char *html = strndup((const char *) rep->content.data, rep->content.len);
    assert_non_null(html);
    assert_non_null(strstr(html, "<svg"));
    assert_non_null(strstr(html, "Landesübersicht"));
    assert_non_null(strstr(html, "Beispieldaten"));
    assert_non_null(strstr(html, "15.01.2026")); /* the as-of date, German */
    assert_null(strstr(html, "http://"));
    assert_null(strstr(html, "<script"));
    assert_string_equal(rep->media_type, "text/html; charset=utf-8");
    assert_string_equal(rep->file_name, "landesuebersicht-16-" S_AS_OF ".html");
    free(html);
    th_result_clear(&r);

    /* CSV of the districts: a header and one line per district and the total. */
    opts.format = S_FMT(CSV);
    opts.section = "districts";
    opts.lang = "en";
    assert_int_equal(s_land(f->ministry, "16", S_AS_OF, "2025", &opts, &r), TH_OK);
    rep = (const void *) r.response;
    size_t lines = 0;
    for (size_t i = 0; i < rep->content.len; i++)
        lines += rep->content.data[i] == '\n';
    assert_int_equal(lines, 1 + rep_count(&f->env, S_TH_DISTRICTS) + 1);
    assert_memory_equal(rep->content.data, "AGS,Name,Kind", 13);
    assert_string_equal(rep->title, "Land overview");
    th_result_clear(&r);

    /* A section that is not there: the ids it has, nothing else. */
    opts.section = "nosuch";
    assert_int_equal(s_land(f->ministry, "16", S_AS_OF, "2025", &opts, &r),
                     TH_INVALID_ARGUMENT);
    assert_non_null(strstr(r.message, "districts"));
    th_result_clear(&r);

    opts.format = S_FMT(JSON);
    opts.section = "";
    assert_int_equal(s_land(f->ministry, "16", S_AS_OF, "2025", &opts, &r), TH_OK);
    rep = (const void *) r.response;
    json_error_t err;
    json_t *j = json_loadb((const char *) rep->content.data, rep->content.len, 0, &err);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "kind")), "land_overview");
    assert_null(json_object_get(j, "content"));
    json_decref(j);
    th_result_clear(&r);
}

static void
test_rights_and_bad_input(void **state)
{
    s_fixture_t *f = *state;
    th_result_t r;
    /* Another Land's ministry; a manager of the Land reads aggregates. */
    assert_int_equal(s_land(f->ministry_by, "16", S_AS_OF, "", NULL, &r),
                     TH_PERMISSION_DENIED);
    th_result_clear(&r);
    assert_int_equal(s_land(f->manager, "16", S_AS_OF, "", NULL, &r), TH_OK);
    th_result_clear(&r);
    assert_int_equal(s_land(f->ministry, "1", S_AS_OF, "", NULL, &r), TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "state_code"));
    th_result_clear(&r);
    assert_int_equal(s_land(f->analyst, "17", S_AS_OF, "", NULL, &r), TH_INVALID_ARGUMENT);
    th_result_clear(&r);
    assert_int_equal(s_land(f->ministry, "16", "2026-02-30", "", NULL, &r),
                     TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "as_of"));
    th_result_clear(&r);
    assert_int_equal(s_land(f->ministry, "16", S_AS_OF, "2025Q5", NULL, &r),
                     TH_INVALID_ARGUMENT);
    th_result_clear(&r);
    Teilhabe__Reporting__V1__RenderOptions opts = TEILHABE__REPORTING__V1__RENDER_OPTIONS__INIT;
    opts.lang = "fr";
    assert_int_equal(s_land(f->ministry, "16", S_AS_OF, "", &opts, &r), TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "render.lang"));
    th_result_clear(&r);
    opts.lang = "";
    opts.format = 9;
    assert_int_equal(s_land(f->ministry, "16", S_AS_OF, "", &opts, &r), TH_INVALID_ARGUMENT);
    th_result_clear(&r);

    /* The district profile is records: not for an analyst, nor another Land. */
    Teilhabe__Reporting__V1__DistrictProfileRequest dp =
        TEILHABE__REPORTING__V1__DISTRICT_PROFILE_REQUEST__INIT;
    dp.ags = "16067";
    dp.as_of = S_AS_OF;
    assert_int_equal(rep_call(f->analyst, REP_METHOD("DistrictProfile"), &dp.base, &r),
                     TH_PERMISSION_DENIED);
    th_result_clear(&r);
    assert_int_equal(rep_call(f->ministry_by, REP_METHOD("DistrictProfile"), &dp.base, &r),
                     TH_PERMISSION_DENIED);
    th_result_clear(&r);
    dp.ags = "1606";
    assert_int_equal(rep_call(f->ministry, REP_METHOD("DistrictProfile"), &dp.base, &r),
                     TH_INVALID_ARGUMENT);
    th_result_clear(&r);
    dp.ags = "16999";
    assert_int_equal(rep_call(f->ministry, REP_METHOD("DistrictProfile"), &dp.base, &r),
                     TH_NOT_FOUND);
    th_result_clear(&r);
    /* The service still answers. */
    assert_int_equal(s_land(f->ministry, "16", S_AS_OF, "", NULL, &r), TH_OK);
    th_result_clear(&r);
}

static int
s_monitor(th_client_t *c, const char *land, const char *as_of, th_result_t *r)
{
    Teilhabe__Reporting__V1__ConceptMonitorRequest req =
        TEILHABE__REPORTING__V1__CONCEPT_MONITOR_REQUEST__INIT;
    req.state_code = (char *) land;
    req.as_of = (char *) as_of;
    return rep_call(c, REP_METHOD("ConceptMonitor"), &req.base, r);
}

/* Around the Eisenach merger: 2021-06-30 counts Eisenach and its concept,
 * 2021-07-01 neither. */
static void
test_concept_monitor_merger(void **state)
{
    s_fixture_t *f = *state;
    const char *dates[] = {"2021-06-30", "2021-07-01"};
    for (int i = 0; i < 2; i++) {
        char sql[1024];
        th_result_t r;
        assert_int_equal(s_monitor(f->analyst, "", dates[i], &r), TH_OK);
        const rep_report_t *rep = (const void *) r.response;
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM registry.districts WHERE valid_from <= DATE '%s' "
                 "AND (valid_to IS NULL OR valid_to >= DATE '%s')",
                 dates[i], dates[i]);
        const long long districts = rep_count(&f->env, sql);
        assert_int_equal(rep_number(rep, "settlement_types", "total", "districts"), districts);
        assert_int_equal(rep_number(rep, "reference", "districts", "teilhabe"), districts);
        assert_int_equal(rep_number(rep, "reference", "with_concept", "berlin_institut_2021"),
                         221);
        assert_int_equal(rep_number(rep, "reference", "participation", "berlin_institut_2021"),
                         149);
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM (SELECT DISTINCT ON (c.ags) c.orientation FROM "
                 "registry.concepts c JOIN registry.districts d USING (ags) "
                 "WHERE c.adopted_on <= DATE '%s' AND (d.valid_to IS NULL OR d.valid_to >= "
                 "DATE '%s') ORDER BY c.ags, c.version DESC) x",
                 dates[i], dates[i]);
        const long long concepts = rep_count(&f->env, sql);
        assert_int_equal(concepts, i == 0 ? 3 : 2); /* 16051, 16063 (+ 16056 before) */
        assert_int_equal(rep_number(rep, "settlement_types", "total", "with_concept"),
                         concepts);
        /* Thüringen's subtotal row in the table by Land. */
        assert_int_equal(rep_number(rep, "lands", "16", "with_concept"), concepts);
        assert_int_equal(rep_number(rep, "lands", "16", "districts"), i == 0 ? 23 : 22);
        assert_int_equal(rep->state->data_state,
                         TEILHABE__REPORTING__V1__DATA_STATE__DATA_STATE_NOT_PERIODIC);
        th_result_clear(&r);
    }
    /* Federal: a manager of a Land may not; the ministry may. */
    th_result_t r;
    assert_int_equal(s_monitor(f->manager, "", "", &r), TH_PERMISSION_DENIED);
    th_result_clear(&r);
    assert_int_equal(s_monitor(f->ministry, "", "", &r), TH_OK);
    /* The chart's two series say which share each is (both columns are
     * labelled "Anteil"). */
    const Teilhabe__Reporting__V1__Chart *chart =
        rep_section((const rep_report_t *) r.response, "settlement_types")->chart;
    assert_int_equal(chart->n_series, 2);
    assert_string_equal(chart->series[0]->name, "mit Konzept");
    assert_string_equal(chart->series[1]->name, "teilhabeorientiert");
    assert_int_equal(chart->n_categories, 4);
    th_result_clear(&r);
    assert_int_equal(s_monitor(f->manager, "16", "", &r), TH_OK);
    th_result_clear(&r);
}

static void
test_indicator_report(void **state)
{
    s_fixture_t *f = *state;
    Teilhabe__Reporting__V1__IndicatorReportRequest req =
        TEILHABE__REPORTING__V1__INDICATOR_REPORT_REQUEST__INIT;
    req.indicator_code = "employment_rate";
    req.state_code = "16";
    req.period_from = "2023";
    req.period_to = "2025";
    th_result_t r;
    assert_int_equal(rep_call(f->ministry, REP_METHOD("IndicatorReport"), &req.base, &r),
                     TH_OK);
    const rep_report_t *rep = (const void *) r.response;
    /* 500 / 1000 x 100 = 50 %, in millionths; 1 / 3 x 100 = 33.333333. */
    assert_int_equal(rep_number(rep, "values", "16051", "2024"), 50000000);
    assert_int_equal(rep_number(rep, "values", "16067", "2024"), 33333333);
    assert_true(rep_cell(rep, "values", "16067", "2025")->empty);
    /* The Land: the sums of numerators and denominators. */
    const long long land = rep_count(
        &f->env, "SELECT round(sum(numerator) * 100 * 1000000.0 / sum(denominator)) FROM "
                 "measures.indicator_values WHERE state_code = '16' AND indicator_code = "
                 "'employment_rate' AND period = '2024' AND disaggregation = 'total'");
    assert_int_equal(rep_number(rep, "values", "total", "2024"), land);
    assert_non_null(strstr(rep_section(rep, "values")->text, "/"));
    const Teilhabe__Reporting__V1__Chart *chart = rep_section(rep, "values")->chart;
    assert_non_null(chart);
    assert_int_equal(chart->n_categories, 3);
    assert_int_equal(chart->n_series, 1);
    th_result_clear(&r);

    req.indicator_code = "nosuch_indicator";
    assert_int_equal(rep_call(f->ministry, REP_METHOD("IndicatorReport"), &req.base, &r),
                     TH_NOT_FOUND);
    th_result_clear(&r);
    req.indicator_code = "employment_rate";
    req.period_from = "2023Q1";
    assert_int_equal(rep_call(f->ministry, REP_METHOD("IndicatorReport"), &req.base, &r),
                     TH_INVALID_ARGUMENT);
    th_result_clear(&r);
}

static void
test_eligibility_report(void **state)
{
    s_fixture_t *f = *state;
    /* A real batch run of the Thüringen programme, as of the report's date. */
    Teilhabe__Eligibility__V1__EvaluateBatchRequest batch =
        TEILHABE__ELIGIBILITY__V1__EVALUATE_BATCH_REQUEST__INIT;
    batch.programme_code = "th-integration-management";
    batch.as_of = S_AS_OF;
    th_result_t r;
    assert_int_equal(meas_call(f->ministry, ELIG_METHOD("EvaluateBatch"), &batch.base,
                               &teilhabe__eligibility__v1__evaluate_batch_response__descriptor,
                               30000, &r),
                     TH_OK);
    th_result_clear(&r);
    Teilhabe__Reporting__V1__EligibilityReportRequest req =
        TEILHABE__REPORTING__V1__ELIGIBILITY_REPORT_REQUEST__INIT;
    req.programme_code = "th-integration-management";
    req.as_of = S_AS_OF;
    assert_int_equal(rep_call(f->ministry, REP_METHOD("EligibilityReport"), &req.base, &r),
                     TH_OK);
    const rep_report_t *rep = (const void *) r.response;
    const long long cents = rep_count(
        &f->env, "SELECT coalesce(sum(entitlement_cents), 0) FROM (SELECT DISTINCT ON (ags) "
                 "entitlement_cents FROM eligibility.decisions WHERE programme_code = "
                 "'th-integration-management' AND as_of <= DATE '" S_AS_OF "' "
                 "ORDER BY ags, as_of DESC, decided_at DESC) x");
    assert_int_equal(rep_number(rep, "decisions", "total", "entitlement"), cents);
    const long long eligible = rep_count(
        &f->env, "SELECT count(*) FROM (SELECT DISTINCT ON (ags) outcome FROM "
                 "eligibility.decisions WHERE programme_code = 'th-integration-management' "
                 "ORDER BY ags, as_of DESC, decided_at DESC) x WHERE outcome = 'eligible'");
    const Teilhabe__Reporting__V1__Cell *sum = rep_cell(rep, "decisions", "total", "outcome");
    char want[64];
    snprintf(want, sizeof want, "%lld von %lld förderfähig", eligible,
             rep_count(&f->env, S_TH_DISTRICTS));
    assert_string_equal(sum->text, want);
    th_result_clear(&r);

    /* The same in the Land overview's programme table. */
    assert_int_equal(s_land(f->ministry, "16", S_AS_OF, "2025", NULL, &r), TH_OK);
    rep = (const void *) r.response;
    assert_int_equal(rep_number(rep, "eligibility", "th-integration-management", "eligible"),
                     eligible);
    assert_int_equal(rep_number(rep, "eligibility", "th-integration-management", "entitlement"),
                     cents);
    th_result_clear(&r);

    req.programme_code = "nosuch";
    assert_int_equal(rep_call(f->ministry, REP_METHOD("EligibilityReport"), &req.base, &r),
                     TH_NOT_FOUND);
    th_result_clear(&r);
}

static void
test_district_profile(void **state)
{
    s_fixture_t *f = *state;
    Teilhabe__Reporting__V1__DistrictProfileRequest req =
        TEILHABE__REPORTING__V1__DISTRICT_PROFILE_REQUEST__INIT;
    req.ags = "16063";
    req.as_of = S_AS_OF;
    req.period_from = "2023";
    req.period_to = "2025";
    th_result_t r;
    assert_int_equal(rep_call(f->ministry, REP_METHOD("DistrictProfile"), &req.base, &r),
                     TH_OK);
    const rep_report_t *rep = (const void *) r.response;
    /* Both versions of the concept, the second in force. */
    const Teilhabe__Reporting__V1__Section *c = rep_section(rep, "concepts");
    assert_non_null(c);
    assert_int_equal(c->table->n_rows, 2);
    assert_string_equal(rep_cell(rep, "concepts", "2", "in_force")->text, "ja");
    assert_string_equal(rep_cell(rep, "concepts", "1", "in_force")->text, "");
    th_result_clear(&r);

    /* Gotha, as its own manager: four measures, no manager on the date. */
    req.ags = "16067";
    assert_int_equal(rep_call(f->manager, REP_METHOD("DistrictProfile"), &req.base, &r), TH_OK);
    rep = (const void *) r.response;
    const long long measures =
        rep_count(&f->env, "SELECT count(*) FROM measures.measures WHERE ags = '16067'");
    assert_int_equal(rep_section(rep, "measures")->table->n_rows, measures + 1);
    assert_string_equal(rep_cell(rep, "managers", "1", "current")->text, "");
    assert_int_equal(rep_number(rep, "indicator_rates", "employment_rate", "2024"), 33333333);
    /* Its chart: one line per indicator over the periods, gaps where no value. */
    const Teilhabe__Reporting__V1__Chart *chart = rep_section(rep, "indicator_rates")->chart;
    assert_non_null(chart);
    assert_int_equal(chart->n_categories, 3);
    assert_string_equal(chart->categories[0], "2023");
    assert_int_equal(chart->n_series, 1);
    assert_int_equal(chart->series[0]->n_values, 3);
    assert_true(chart->series[0]->missing[0]);
    assert_false(chart->series[0]->missing[1]);
    assert_int_equal(chart->series[0]->values[1], 33333333);
    assert_true(rep->state->example_data);
    th_result_clear(&r);
}

/* teilhabe_reporting reads the views and nothing else. */
static void
test_reporting_role(void **state)
{
    s_fixture_t *f = *state;
    const char *url = f->env.reporting_db_url;
    char *v = reg_sql_value(url, "SELECT count(*) FROM reporting.measures");
    assert_non_null(v);
    assert_string_equal(v, "8");
    free(v);
    assert_null(reg_sql_value(url, "SELECT count(*) FROM registry.managers"));
    assert_null(reg_sql_value(url, "SELECT count(*) FROM measures.measures"));
    assert_null(reg_sql_value(url, "DELETE FROM reporting.measures"));
    /* No view carries a manager's name. */
    assert_int_equal(rep_count(&f->env, "SELECT count(*) FROM information_schema.columns "
                                        "WHERE table_schema = 'reporting' AND column_name IN "
                                        "('name', 'email', 'phone') AND table_name NOT IN "
                                        "('states', 'districts')"),
                     0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_land_overview_figures),
        cmocka_unit_test(test_land_overview_suppression),
        cmocka_unit_test(test_land_overview_formats),
        cmocka_unit_test(test_rights_and_bad_input),
        cmocka_unit_test(test_concept_monitor_merger),
        cmocka_unit_test(test_indicator_report),
        cmocka_unit_test(test_eligibility_report),
        cmocka_unit_test(test_district_profile),
        cmocka_unit_test(test_reporting_role),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
