/* ---------------------------------------------------------------------------
 * test_registry_figures.c: area and population "as of" a date, through the
 * real stack (PostgreSQL, teilhabe-broker with CURVE, teilhabe-registry)
 *
 * A merger moves the predecessor's people and area into its successor: from
 * 2021-07-01 the Wartburgkreis (16063) holds Eisenach's 42,370 inhabitants
 * and 104.17 km², so Thüringen and Germany keep every inhabitant across the
 * merger, while before it 16063 still answers its own figures and Eisenach
 * exists. GetDistrict, ListDistricts and ListStates must agree; a merger
 * recorded with RecordTerritorialChange moves the figures the same way, also
 * when a later-recorded merger takes effect earlier.
 * ---------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "registry_env.h"

typedef Teilhabe__Registry__V1__District s_district_t;
typedef Teilhabe__Registry__V1__ListStatesResponse s_states_t;
typedef Teilhabe__Registry__V1__ListDistrictsResponse s_districts_t;

#define S_MERGE                                                                            \
    TEILHABE__REGISTRY__V1__TERRITORIAL_CHANGE_KIND__TERRITORIAL_CHANGE_KIND_MERGE
#define S_DUENN TEILHABE__REGISTRY__V1__SETTLEMENT_TYPE__SETTLEMENT_TYPE_DUENN_BESIEDELT
#define S_VERDICHTUNG                                                                      \
    TEILHABE__REGISTRY__V1__SETTLEMENT_TYPE__SETTLEMENT_TYPE_LAENDLICHER_KREIS_VERDICHTUNG

/* Germany and Thüringen on the 2018-12-31 count (data/README.md). */
#define S_GERMANY 83019213
#define S_THUERINGEN 2143145

typedef struct {
    registry_env_t env;
    th_client_t *admin;
    th_client_t *analyst;
} s_fixture_t;

static int
s_setup(void **state)
{
    s_fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    *state = f;
    if (registry_env_start(&f->env, "regfig") != 0)
        return -1;
    f->admin = reg_client(&f->env, "admin");
    f->analyst = reg_client(&f->env, "analyst");
    return f->admin != NULL && f->analyst != NULL ? 0 : -1;
}

static int
s_teardown(void **state)
{
    s_fixture_t *f = *state;
    th_client_destroy(&f->admin);
    th_client_destroy(&f->analyst);
    const int status = registry_env_stop(&f->env);
    free(f);
    return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* The figures a district answers with on one date. */
typedef struct {
    int64_t population, male, female, per_km2;
    double area_km2;
    int settlement;
} s_figures_t;

static void
s_expect_figures(const s_district_t *d, const s_figures_t *want, const char *as_of)
{
    if (d->population != want->population || d->population_male != want->male ||
        d->population_female != want->female || d->population_per_km2 != want->per_km2 ||
        d->area_km2 < want->area_km2 - 0.001 || d->area_km2 > want->area_km2 + 0.001 ||
        (int) d->settlement_type != want->settlement)
        fail_msg("district %s on %s: population %" PRId64 " (%" PRId64 " + %" PRId64
                 "), %" PRId64 "/km², %.2f km², settlement %d; expected %" PRId64
                 " (%" PRId64 " + %" PRId64 "), %" PRId64 "/km², %.2f km², settlement %d",
                 d->ags, as_of, d->population, d->population_male, d->population_female,
                 d->population_per_km2, d->area_km2, (int) d->settlement_type,
                 want->population, want->male, want->female, want->per_km2, want->area_km2,
                 want->settlement);
    /* The people were counted on the reference date, whatever the territory. */
    assert_string_equal(d->population_date, "2018-12-31");
}

static int
s_get(th_client_t *c, const char *ags, const char *as_of, th_result_t *r)
{
    Teilhabe__Registry__V1__GetDistrictRequest req =
        TEILHABE__REGISTRY__V1__GET_DISTRICT_REQUEST__INIT;
    req.ags = (char *) ags;
    req.as_of = (char *) as_of;
    reg_call(c, REG_METHOD("GetDistrict"), &req.base,
             &teilhabe__registry__v1__district__descriptor, r);
    return r->code;
}

/* GetDistrict ags on as_of has want. */
static void
s_expect_get(th_client_t *c, const char *ags, const char *as_of, const s_figures_t *want)
{
    th_result_t r;
    if (s_get(c, ags, as_of, &r) != TH_OK)
        fail_msg("GetDistrict %s on %s: %s \"%s\"", ags, as_of, th_status_name(r.code),
                 r.message);
    s_expect_figures((const s_district_t *) r.response, want, as_of);
    th_result_clear(&r);
}

/* ListDistricts of Land state on as_of (one page): the number of districts,
 * their population sum, and the figures of ags among them. */
static void
s_expect_list(th_client_t *c, const char *state, const char *as_of, size_t count,
              int64_t sum, const char *ags, const s_figures_t *want)
{
    Teilhabe__Registry__V1__ListDistrictsRequest req =
        TEILHABE__REGISTRY__V1__LIST_DISTRICTS_REQUEST__INIT;
    req.state_code = (char *) state;
    req.as_of = (char *) as_of;
    req.page_size = 500;
    th_result_t r;
    reg_call(c, REG_METHOD("ListDistricts"), &req.base,
             &teilhabe__registry__v1__list_districts_response__descriptor, &r);
    assert_int_equal(r.code, TH_OK);
    const s_districts_t *list = (const s_districts_t *) r.response;
    assert_int_equal(list->n_districts, count);
    int64_t total = 0;
    bool found = false;
    for (size_t i = 0; i < list->n_districts; i++) {
        total += list->districts[i]->population;
        if (strcmp(list->districts[i]->ags, ags) == 0) {
            s_expect_figures(list->districts[i], want, as_of);
            found = true;
        }
    }
    if (total != sum)
        fail_msg("ListDistricts state=%s on %s: population sum %" PRId64
                 ", expected %" PRId64,
                 state, as_of, total, sum);
    assert_true(found);
    th_result_clear(&r);
}

/* ListStates on as_of: Land state has count districts and population, and
 * the Länder together germany inhabitants. */
static void
s_expect_states(th_client_t *c, const char *as_of, const char *state, uint32_t count,
                int64_t population, int64_t germany)
{
    Teilhabe__Registry__V1__ListStatesRequest req =
        TEILHABE__REGISTRY__V1__LIST_STATES_REQUEST__INIT;
    req.as_of = (char *) as_of;
    th_result_t r;
    reg_call(c, REG_METHOD("ListStates"), &req.base,
             &teilhabe__registry__v1__list_states_response__descriptor, &r);
    assert_int_equal(r.code, TH_OK);
    const s_states_t *resp = (const s_states_t *) r.response;
    int64_t total = 0;
    bool found = false;
    for (size_t i = 0; i < resp->n_states; i++) {
        const Teilhabe__Registry__V1__State *s = resp->states[i];
        total += s->population;
        if (strcmp(s->code, state) != 0)
            continue;
        found = true;
        assert_string_equal(s->population_date, "2018-12-31");
        if (s->district_count != count || s->population != population)
            fail_msg("ListStates on %s: Land %s has %u districts and %" PRId64
                     " inhabitants, expected %u and %" PRId64,
                     as_of, state, s->district_count, s->population, count, population);
    }
    assert_true(found);
    /* Germany as the response states it, with its reference date. */
    assert_int_equal(resp->total_population, total);
    assert_string_equal(resp->population_date, "2018-12-31");
    if (total != germany)
        fail_msg("ListStates on %s: the Länder hold %" PRId64
                 " inhabitants, expected %" PRId64,
                 as_of, total, germany);
    th_result_clear(&r);
}

/* Wartburgkreis and Eisenach (data/districts-2018.csv), and the two merged. */
static const s_figures_t s_wartburgkreis = {123025, 61525, 61500, 94, 1307.44, S_DUENN};
static const s_figures_t s_eisenach = {
    42370,  20874,
    21496,  407,
    104.17, TEILHABE__REGISTRY__V1__SETTLEMENT_TYPE__SETTLEMENT_TYPE_STAEDTISCHER_KREIS};
/* 165,395 / 1,411.61 km² = 117.17, rounded to 117: ländlich mit Verdichtung. */
static const s_figures_t s_wartburgkreis_merged = {165395, 82399,   82996,
                                                   117,    1411.61, S_VERDICHTUNG};

static void
test_eisenach_merger_moves_figures(void **state)
{
    s_fixture_t *f = *state;
    th_client_t *c = f->analyst;
    /* Before the merger: both as they were counted. */
    s_expect_get(c, "16063", "2018-12-31", &s_wartburgkreis);
    s_expect_get(c, "16063", "2021-06-30", &s_wartburgkreis);
    s_expect_get(c, "16056", "2021-06-30", &s_eisenach);
    s_expect_list(c, "16", "2021-06-30", 23, S_THUERINGEN, "16063", &s_wartburgkreis);
    s_expect_list(c, "16", "2021-06-30", 23, S_THUERINGEN, "16056", &s_eisenach);
    s_expect_states(c, "2021-06-30", "16", 23, S_THUERINGEN, S_GERMANY);
    /* From the merger on, and today: Eisenach's people are in 16063. */
    s_expect_get(c, "16063", "2021-07-01", &s_wartburgkreis_merged);
    s_expect_get(c, "16063", "", &s_wartburgkreis_merged);
    s_expect_list(c, "16", "2021-07-01", 22, S_THUERINGEN, "16063",
                  &s_wartburgkreis_merged);
    s_expect_list(c, "16", "", 22, S_THUERINGEN, "16063", &s_wartburgkreis_merged);
    s_expect_states(c, "2021-07-01", "16", 22, S_THUERINGEN, S_GERMANY);
    s_expect_states(c, "", "16", 22, S_THUERINGEN, S_GERMANY);
    s_expect_states(c, "2018-12-31", "16", 23, S_THUERINGEN, S_GERMANY);

    /* Which territory the figures describe. */
    th_result_t r;
    assert_int_equal(s_get(c, "16063", "2021-06-30", &r), TH_OK);
    assert_string_equal(((const s_district_t *) r.response)->figures_valid_from,
                        "2018-12-31");
    th_result_clear(&r);
    assert_int_equal(s_get(c, "16063", "2021-07-01", &r), TH_OK);
    assert_string_equal(((const s_district_t *) r.response)->figures_valid_from,
                        "2021-07-01");
    th_result_clear(&r);
    /* Eisenach after it ended: NOT_FOUND naming the successor, as before. */
    assert_int_equal(s_get(c, "16056", "2021-07-01", &r), TH_NOT_FOUND);
    assert_non_null(strstr(r.message, "16063"));
    th_result_clear(&r);
    /* Its history: the district as recorded, with its last figures. */
    Teilhabe__Registry__V1__GetTerritorialHistoryRequest hreq =
        TEILHABE__REGISTRY__V1__GET_TERRITORIAL_HISTORY_REQUEST__INIT;
    hreq.ags = "16056";
    reg_call(c, REG_METHOD("GetTerritorialHistory"), &hreq.base,
             &teilhabe__registry__v1__get_territorial_history_response__descriptor, &r);
    assert_int_equal(r.code, TH_OK);
    s_expect_figures(
        ((const Teilhabe__Registry__V1__GetTerritorialHistoryResponse *) r.response)
            ->district,
        &s_eisenach, "its last day");
    th_result_clear(&r);
    /* Search answers with the figures of its date too (today). */
    Teilhabe__Registry__V1__SearchDistrictsRequest sreq =
        TEILHABE__REGISTRY__V1__SEARCH_DISTRICTS_REQUEST__INIT;
    sreq.text = "wartburg";
    reg_call(c, REG_METHOD("SearchDistricts"), &sreq.base,
             &teilhabe__registry__v1__search_districts_response__descriptor, &r);
    assert_int_equal(r.code, TH_OK);
    const Teilhabe__Registry__V1__SearchDistrictsResponse *found =
        (const void *) r.response;
    assert_int_equal(found->n_districts, 1);
    s_expect_figures(found->districts[0], &s_wartburgkreis_merged, "today");
    th_result_clear(&r);
}

static int
s_record(th_client_t *c, const char *effective, const char *ags, const char *succ,
         th_result_t *r)
{
    Teilhabe__Registry__V1__RecordTerritorialChangeRequest req =
        TEILHABE__REGISTRY__V1__RECORD_TERRITORIAL_CHANGE_REQUEST__INIT;
    req.effective = (char *) effective;
    req.kind = S_MERGE;
    req.ags = (char *) ags;
    req.successor_ags = (char *) succ;
    req.note = "test merger";
    reg_call(c, REG_METHOD("RecordTerritorialChange"), &req.base,
             &teilhabe__registry__v1__territorial_change__descriptor, r);
    return r->code;
}

/* Greiz (16076), Altenburger Land (16077) and Saale-Holzland-Kreis (16074). */
static const s_figures_t s_greiz = {98159, 48326, 49833, 116, 845.98, S_VERDICHTUNG};
static const s_figures_t s_altenburg = {
    90118,  44138,
    45980,  158,
    569.40, TEILHABE__REGISTRY__V1__SETTLEMENT_TYPE__SETTLEMENT_TYPE_STAEDTISCHER_KREIS};
/* 188,277 / 1,415.38 km² = 133.02 -> 133. */
static const s_figures_t s_greiz_altenburg = {188277, 92464,   95813,
                                              133,    1415.38, S_VERDICHTUNG};
/* + Saale-Holzland-Kreis (83,051; 41,360 + 41,691; 815.24 km²): 271,328 /
 * 2,230.62 km² = 121.64 -> 122. */
static const s_figures_t s_greiz_all = {271328, 133824,  137504,
                                        122,    2230.62, S_VERDICHTUNG};
/* Greiz with Saale-Holzland only: 181,210 / 1,661.22 km² = 109.08 -> 109. */
static const s_figures_t s_greiz_holzland = {181210, 89686,   91524,
                                             109,    1661.22, S_VERDICHTUNG};

static void
test_recorded_mergers_move_figures(void **state)
{
    s_fixture_t *f = *state;
    th_client_t *c = f->analyst;
    th_result_t r;
    /* Altenburger Land into Greiz on 2030-01-01 (fictional). */
    assert_int_equal(s_record(f->admin, "2030-01-01", "16077", "16076", &r), TH_OK);
    th_result_clear(&r);
    s_expect_get(c, "16076", "2029-12-31", &s_greiz);
    s_expect_get(c, "16077", "2029-12-31", &s_altenburg);
    s_expect_get(c, "16076", "2030-01-01", &s_greiz_altenburg);
    s_expect_list(c, "16", "2030-01-01", 21, S_THUERINGEN, "16076", &s_greiz_altenburg);
    s_expect_states(c, "2029-12-31", "16", 22, S_THUERINGEN, S_GERMANY);
    s_expect_states(c, "2030-01-01", "16", 21, S_THUERINGEN, S_GERMANY);
    /* Today is before 2030: Greiz as counted. */
    s_expect_get(c, "16076", "", &s_greiz);

    /* Recorded later, effective earlier: Saale-Holzland-Kreis into Greiz on
     * 2025-01-01. Greiz's figures from 2025 gain it, those from 2030 too. */
    assert_int_equal(s_record(f->admin, "2025-01-01", "16074", "16076", &r), TH_OK);
    th_result_clear(&r);
    s_expect_get(c, "16076", "2024-12-31", &s_greiz);
    s_expect_get(c, "16076", "2025-01-01", &s_greiz_holzland);
    s_expect_get(c, "16076", "2029-12-31", &s_greiz_holzland);
    s_expect_get(c, "16076", "2030-01-01", &s_greiz_all);
    s_expect_states(c, "2025-01-01", "16", 21, S_THUERINGEN, S_GERMANY);
    s_expect_states(c, "2030-01-01", "16", 20, S_THUERINGEN, S_GERMANY);
    /* The 2021 figures did not move. */
    s_expect_get(c, "16063", "2021-07-01", &s_wartburgkreis_merged);
    s_expect_states(c, "2021-06-30", "16", 23, S_THUERINGEN, S_GERMANY);

    /* Greiz absorbs Altenburger Land in 2030, so it cannot end before. */
    assert_int_equal(s_record(f->admin, "2028-01-01", "16076", "16075", &r),
                     TH_FAILED_PRECONDITION);
    assert_non_null(strstr(r.message, "16077"));
    assert_non_null(strstr(r.message, "2030-01-01"));
    th_result_clear(&r);
    s_expect_get(c, "16076", "2028-01-01", &s_greiz_holzland);

    /* Each merger left an audit row for both districts. */
    assert_int_equal(reg_sql_count(f->env.db_url, "SELECT count(*) FROM audit.log WHERE "
                                                  "resource = 'districts/16076' AND "
                                                  "principal_id = 'admin'"),
                     2);
    assert_int_equal(reg_sql_count(f->env.db_url,
                                   "SELECT count(*) FROM registry.events WHERE "
                                   "resource = 'districts/16076' AND "
                                   "topic = 'district.changed'"),
                     2);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eisenach_merger_moves_figures),
        cmocka_unit_test(test_recorded_mergers_move_figures),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
