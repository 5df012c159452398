/* ---------------------------------------------------------------------------
 * test_registry.c: districts, Länder, search and territorial history through
 * the real stack (PostgreSQL, teilhabe-broker with CURVE, teilhabe-registry)
 *
 * Counts around the Eisenach merger, the population sum, as-of rules, search
 * folding, paging, every bad input of the read methods, and recording a
 * territorial change (admin only, with its checks).
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "registry_env.h"

typedef Teilhabe__Registry__V1__ListStatesResponse s_states_t;
typedef Teilhabe__Registry__V1__ListDistrictsResponse s_districts_t;
typedef Teilhabe__Registry__V1__SearchDistrictsResponse s_search_t;
typedef Teilhabe__Registry__V1__District s_district_t;

typedef struct {
    registry_env_t env;
    th_client_t *admin;
    th_client_t *analyst;
    th_client_t *ministry;
} s_fixture_t;

static int
s_setup(void **state)
{
    s_fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    *state = f;
    if (registry_env_start(&f->env, "regtest") != 0)
        return -1;
    f->admin = reg_client(&f->env, "admin");
    f->analyst = reg_client(&f->env, "analyst");
    f->ministry = reg_client(&f->env, "ministry-th");
    return f->admin != NULL && f->analyst != NULL && f->ministry != NULL ? 0 : -1;
}

static int
s_teardown(void **state)
{
    s_fixture_t *f = *state;
    th_client_destroy(&f->admin);
    th_client_destroy(&f->analyst);
    th_client_destroy(&f->ministry);
    const int status = registry_env_stop(&f->env);
    free(f);
    /* The registry must stop cleanly on SIGTERM. */
    return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* ListStates as_of; fills the Thüringen count and the total. */
static int
s_states(th_client_t *c, const char *as_of, uint32_t *thueringen, uint32_t *total,
         th_result_t *r)
{
    Teilhabe__Registry__V1__ListStatesRequest req =
        TEILHABE__REGISTRY__V1__LIST_STATES_REQUEST__INIT;
    req.as_of = (char *) as_of;
    reg_call(c, REG_METHOD("ListStates"), &req.base,
             &teilhabe__registry__v1__list_states_response__descriptor, r);
    if (r->code != TH_OK)
        return r->code;
    const s_states_t *resp = (const s_states_t *) r->response;
    *total = resp->total_districts;
    for (size_t i = 0; i < resp->n_states; i++) {
        if (strcmp(resp->states[i]->code, "16") == 0)
            *thueringen = resp->states[i]->district_count;
    }
    return TH_OK;
}

static void
test_counts_around_eisenach_merger(void **state)
{
    s_fixture_t *f = *state;
    th_result_t r;
    uint32_t th = 0, total = 0;
    assert_int_equal(s_states(f->analyst, "2021-06-30", &th, &total, &r), TH_OK);
    assert_int_equal(th, 23);
    assert_int_equal(total, 401);
    const s_states_t *resp = (const s_states_t *) r.response;
    assert_int_equal(resp->n_states, 16);
    assert_string_equal(resp->as_of, "2021-06-30");
    th_result_clear(&r);

    assert_int_equal(s_states(f->analyst, "2021-07-01", &th, &total, &r), TH_OK);
    assert_int_equal(th, 22);
    assert_int_equal(total, 400);
    th_result_clear(&r);

    assert_int_equal(s_states(f->analyst, "2018-12-31", &th, &total, &r), TH_OK);
    assert_int_equal(th, 23);
    assert_int_equal(total, 401);
    th_result_clear(&r);

    /* Today (no as_of): after the merger. */
    assert_int_equal(s_states(f->analyst, "", &th, &total, &r), TH_OK);
    assert_int_equal(th, 22);
    assert_int_equal(total, 400);
    th_result_clear(&r);

    /* Before the oldest status the registry holds: OUT_OF_RANGE naming it. */
    assert_int_equal(s_states(f->analyst, "2018-12-30", &th, &total, &r), TH_OUT_OF_RANGE);
    assert_non_null(strstr(r.message, "2018-12-31"));
    assert_true(reg_has_violation(&r, "as_of"));
    th_result_clear(&r);

    assert_int_equal(s_states(f->analyst, "2021-02-30", &th, &total, &r),
                     TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "as_of"));
    th_result_clear(&r);
}

static int
s_list(th_client_t *c, const char *state_code, int kind, int settlement, const char *as_of,
       int page_size, const char *token, th_result_t *r)
{
    Teilhabe__Registry__V1__ListDistrictsRequest req =
        TEILHABE__REGISTRY__V1__LIST_DISTRICTS_REQUEST__INIT;
    req.state_code = (char *) state_code;
    req.kind = kind;
    req.settlement_type = settlement;
    req.as_of = (char *) as_of;
    req.page_size = page_size;
    req.page_token = (char *) token;
    reg_call(c, REG_METHOD("ListDistricts"), &req.base,
             &teilhabe__registry__v1__list_districts_response__descriptor, r);
    return r->code;
}

static void
test_population_sum_and_paging(void **state)
{
    s_fixture_t *f = *state;
    th_result_t r;
    /* All 401 on the reference date in one page. */
    assert_int_equal(s_list(f->analyst, "", 0, 0, "2018-12-31", 500, "", &r), TH_OK);
    const s_districts_t *all = (const s_districts_t *) r.response;
    assert_int_equal(all->n_districts, 401);
    assert_int_equal(all->total_size, 401);
    assert_string_equal(all->next_page_token, "");
    int64_t sum = 0;
    for (size_t i = 0; i < all->n_districts; i++)
        sum += all->districts[i]->population;
    assert_int_equal(sum, 83019213);
    th_result_clear(&r);

    /* Pages of 150 give the same 400 of today, in AGS order, no duplicates. */
    char token[128] = "";
    char last[6] = "";
    size_t seen = 0;
    for (int page = 0; page < 10; page++) {
        assert_int_equal(s_list(f->analyst, "", 0, 0, "", 150, token, &r), TH_OK);
        const s_districts_t *p = (const s_districts_t *) r.response;
        assert_int_equal(p->total_size, 400);
        for (size_t i = 0; i < p->n_districts; i++) {
            assert_true(strcmp(p->districts[i]->ags, last) > 0);
            snprintf(last, sizeof last, "%s", p->districts[i]->ags);
            assert_string_not_equal(p->districts[i]->ags, "16056");
            seen++;
        }
        snprintf(token, sizeof token, "%s", p->next_page_token);
        th_result_clear(&r);
        if (token[0] == '\0')
            break;
    }
    assert_int_equal(seen, 400);
}

static void
test_list_filters(void **state)
{
    s_fixture_t *f = *state;
    th_result_t r;
    /* Thüringen's kreisfreie Städte today: Erfurt, Gera, Jena, Suhl, Weimar. */
    assert_int_equal(
        s_list(f->analyst, "16",
               TEILHABE__REGISTRY__V1__DISTRICT_KIND__DISTRICT_KIND_KREISFREIE_STADT, 0, "",
               0, "", &r),
        TH_OK);
    const s_districts_t *p = (const s_districts_t *) r.response;
    assert_int_equal(p->n_districts, 5);
    assert_string_equal(p->districts[0]->ags, "16051");
    assert_string_equal(p->districts[0]->state_name, "Thüringen");
    th_result_clear(&r);
    /* ... and with Eisenach before the merger. */
    assert_int_equal(
        s_list(f->analyst, "16",
               TEILHABE__REGISTRY__V1__DISTRICT_KIND__DISTRICT_KIND_KREISFREIE_STADT, 0,
               "2021-06-30", 0, "", &r),
        TH_OK);
    assert_int_equal(((const s_districts_t *) r.response)->n_districts, 6);
    th_result_clear(&r);
    /* Settlement type filter: every returned district has it. */
    assert_int_equal(
        s_list(
            f->analyst, "", 0,
            TEILHABE__REGISTRY__V1__SETTLEMENT_TYPE__SETTLEMENT_TYPE_KREISFREIE_GROSSSTADT,
            "2018-12-31", 500, "", &r),
        TH_OK);
    p = (const s_districts_t *) r.response;
    assert_true(p->n_districts > 50 && p->n_districts < 80);
    for (size_t i = 0; i < p->n_districts; i++) {
        assert_int_equal(
            p->districts[i]->kind,
            TEILHABE__REGISTRY__V1__DISTRICT_KIND__DISTRICT_KIND_KREISFREIE_STADT);
        assert_true(p->districts[i]->population >= 100000);
    }
    th_result_clear(&r);

    /* Bad input, each naming its field. */
    assert_int_equal(s_list(f->analyst, "17", 0, 0, "", 0, "", &r), TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "state_code"));
    th_result_clear(&r);
    assert_int_equal(s_list(f->analyst, "1", 0, 0, "", 0, "", &r), TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "state_code"));
    th_result_clear(&r);
    assert_int_equal(s_list(f->analyst, "", 7, 0, "", 0, "", &r), TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "kind"));
    th_result_clear(&r);
    assert_int_equal(s_list(f->analyst, "", 0, 99, "", 0, "", &r), TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "settlement_type"));
    th_result_clear(&r);
    assert_int_equal(s_list(f->analyst, "", 0, 0, "", 501, "", &r), TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "page_size"));
    th_result_clear(&r);
    assert_int_equal(s_list(f->analyst, "", 0, 0, "", -1, "", &r), TH_INVALID_ARGUMENT);
    th_result_clear(&r);
    assert_int_equal(s_list(f->analyst, "", 0, 0, "", 0, "x:'; DROP TABLE", &r),
                     TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "page_token"));
    th_result_clear(&r);
    assert_int_equal(s_list(f->analyst, "", 0, 0, "2017-01-01", 0, "", &r),
                     TH_OUT_OF_RANGE);
    assert_non_null(strstr(r.message, "2018-12-31"));
    th_result_clear(&r);
}

/* A page size above a list method's maximum is INVALID_ARGUMENT naming
 * page_size (limit for ListEvents), on every list method: the one answer
 * PROTOCOL.md and docs/registry.md give. */
static void
test_page_size_above_maximum(void **state)
{
    s_fixture_t *f = *state;
    Teilhabe__Registry__V1__ListDistrictsRequest districts =
        TEILHABE__REGISTRY__V1__LIST_DISTRICTS_REQUEST__INIT;
    districts.page_size = 501;
    Teilhabe__Registry__V1__SearchDistrictsRequest search =
        TEILHABE__REGISTRY__V1__SEARCH_DISTRICTS_REQUEST__INIT;
    search.text = "erfurt";
    search.page_size = 101;
    Teilhabe__Registry__V1__ListConceptsRequest concepts =
        TEILHABE__REGISTRY__V1__LIST_CONCEPTS_REQUEST__INIT;
    concepts.page_size = 501;
    Teilhabe__Registry__V1__ListConceptVersionsRequest versions =
        TEILHABE__REGISTRY__V1__LIST_CONCEPT_VERSIONS_REQUEST__INIT;
    versions.ags = "16068";
    versions.page_size = 501;
    Teilhabe__Registry__V1__ListManagersRequest managers =
        TEILHABE__REGISTRY__V1__LIST_MANAGERS_REQUEST__INIT;
    managers.page_size = 501;
    Teilhabe__Registry__V1__ListPrincipalsRequest principals =
        TEILHABE__REGISTRY__V1__LIST_PRINCIPALS_REQUEST__INIT;
    principals.page_size = 501;
    Teilhabe__Events__V1__ListEventsRequest events =
        TEILHABE__EVENTS__V1__LIST_EVENTS_REQUEST__INIT;
    events.limit = 1001;
    const struct {
        const char *method;
        const ProtobufCMessage *req;
        const ProtobufCMessageDescriptor *desc;
        const char *field;
    } lists[] = {
        {REG_METHOD("ListDistricts"), &districts.base,
         &teilhabe__registry__v1__list_districts_response__descriptor, "page_size"},
        {REG_METHOD("SearchDistricts"), &search.base,
         &teilhabe__registry__v1__search_districts_response__descriptor, "page_size"},
        {REG_METHOD("ListConcepts"), &concepts.base,
         &teilhabe__registry__v1__list_concepts_response__descriptor, "page_size"},
        {REG_METHOD("ListConceptVersions"), &versions.base,
         &teilhabe__registry__v1__list_concept_versions_response__descriptor, "page_size"},
        {REG_METHOD("ListManagers"), &managers.base,
         &teilhabe__registry__v1__list_managers_response__descriptor, "page_size"},
        {REG_METHOD("ListPrincipals"), &principals.base,
         &teilhabe__registry__v1__list_principals_response__descriptor, "page_size"},
        {REG_METHOD("ListEvents"), &events.base,
         &teilhabe__events__v1__list_events_response__descriptor, "limit"},
    };
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        th_result_t r;
        reg_call(f->admin, lists[i].method, lists[i].req, lists[i].desc, &r);
        if (r.code != TH_INVALID_ARGUMENT || !reg_has_violation(&r, lists[i].field) ||
            strstr(r.message, lists[i].field) == NULL)
            fail_msg("%s with a page size above its maximum: %s \"%s\"", lists[i].method,
                     th_status_name(r.code), r.message);
        th_result_clear(&r);
    }
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

static void
test_get_district(void **state)
{
    s_fixture_t *f = *state;
    th_result_t r;
    assert_int_equal(s_get(f->analyst, "16068", "", &r), TH_OK);
    const s_district_t *d = (const s_district_t *) r.response;
    assert_string_equal(d->name, "Sömmerda");
    assert_string_equal(d->official_kind, "Landkreis");
    assert_int_equal(d->kind,
                     TEILHABE__REGISTRY__V1__DISTRICT_KIND__DISTRICT_KIND_LANDKREIS);
    assert_string_equal(d->state_code, "16");
    assert_string_equal(d->nuts3, "DEG0D");
    assert_int_equal(d->population, 69655);
    assert_int_equal(d->population_male + d->population_female, 69655);
    assert_string_equal(d->population_date, "2018-12-31");
    assert_true(d->area_km2 > 806.85 && d->area_km2 < 806.87);
    assert_int_equal(
        d->settlement_type,
        TEILHABE__REGISTRY__V1__SETTLEMENT_TYPE__SETTLEMENT_TYPE_DUENN_BESIEDELT);
    assert_string_equal(d->valid_from, "2018-12-31");
    assert_string_equal(d->valid_to, "");
    assert_string_equal(d->successor_ags, "");
    th_result_clear(&r);

    /* Eisenach: there on its last day, gone the day after, successor named. */
    assert_int_equal(s_get(f->analyst, "16056", "2021-06-30", &r), TH_OK);
    d = (const s_district_t *) r.response;
    assert_string_equal(d->valid_to, "2021-06-30");
    assert_string_equal(d->successor_ags, "16063");
    th_result_clear(&r);
    assert_int_equal(s_get(f->analyst, "16056", "2021-07-01", &r), TH_NOT_FOUND);
    assert_non_null(strstr(r.message, "16063"));
    assert_non_null(strstr(r.message, "Wartburgkreis"));
    th_result_clear(&r);
    assert_int_equal(s_get(f->analyst, "16056", "", &r), TH_NOT_FOUND);
    assert_non_null(strstr(r.message, "16063"));
    /* a violation names the field with NOT_FOUND too (PROTOCOL.md 4.2) */
    assert_true(reg_has_violation(&r, "ags"));
    th_result_clear(&r);

    /* Bad input. */
    const char *bad_ags[] = {"1606", "160688", "1606a", "", "16 68", "99999"};
    for (size_t i = 0; i < sizeof bad_ags / sizeof bad_ags[0]; i++) {
        assert_int_equal(s_get(f->analyst, bad_ags[i], "", &r), TH_INVALID_ARGUMENT);
        assert_true(reg_has_violation(&r, "ags"));
        th_result_clear(&r);
    }
    assert_int_equal(s_get(f->analyst, "16068", "2021/07/01", &r), TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "as_of"));
    th_result_clear(&r);
    assert_int_equal(s_get(f->analyst, "16068", "2018-06-01", &r), TH_OUT_OF_RANGE);
    assert_non_null(strstr(r.message, "2018-12-31"));
    th_result_clear(&r);
    /* Invalid UTF-8 in a string field is refused before the handler. */
    assert_int_equal(s_get(f->analyst, "16068", "2021-07-0\xc3", &r), TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "as_of"));
    th_result_clear(&r);
    /* Every role reads districts. */
    assert_int_equal(s_get(f->ministry, "09162", "", &r), TH_OK);
    th_result_clear(&r);
}

static int
s_search(th_client_t *c, const char *text, bool include_ended, th_result_t *r)
{
    Teilhabe__Registry__V1__SearchDistrictsRequest req =
        TEILHABE__REGISTRY__V1__SEARCH_DISTRICTS_REQUEST__INIT;
    req.text = (char *) text;
    req.include_ended = include_ended;
    reg_call(c, REG_METHOD("SearchDistricts"), &req.base,
             &teilhabe__registry__v1__search_districts_response__descriptor, r);
    return r->code;
}

static bool
s_found(const th_result_t *r, const char *ags)
{
    const s_search_t *s = (const s_search_t *) r->response;
    for (size_t i = 0; s != NULL && i < s->n_districts; i++) {
        if (strcmp(s->districts[i]->ags, ags) == 0)
            return true;
    }
    return false;
}

static void
test_search_folds_case_and_umlauts(void **state)
{
    s_fixture_t *f = *state;
    th_result_t r;
    const char *spellings[] = {"soemmerda", "Sommerda", "SÖMMERDA",
                               "Sömmerda",  "sömm",     "SOEMMERDA"};
    for (size_t i = 0; i < sizeof spellings / sizeof spellings[0]; i++) {
        assert_int_equal(s_search(f->analyst, spellings[i], false, &r), TH_OK);
        if (!s_found(&r, "16068"))
            fail_msg("search \"%s\" did not find Sömmerda 16068", spellings[i]);
        th_result_clear(&r);
    }
    assert_int_equal(s_search(f->analyst, "muenchen", false, &r), TH_OK);
    assert_true(s_found(&r, "09162"));
    assert_true(s_found(&r, "09184")); /* Landkreis München */
    th_result_clear(&r);
    assert_int_equal(s_search(f->analyst, "GIESSEN", false, &r), TH_OK);
    assert_true(s_found(&r, "06531"));
    th_result_clear(&r);
    /* Eisenach has ended: found only with include_ended. */
    assert_int_equal(s_search(f->analyst, "eisenach", false, &r), TH_OK);
    assert_false(s_found(&r, "16056"));
    th_result_clear(&r);
    assert_int_equal(s_search(f->analyst, "eisenach", true, &r), TH_OK);
    assert_true(s_found(&r, "16056"));
    th_result_clear(&r);
    /* AGS prefixes. */
    assert_int_equal(s_search(f->analyst, "16068", false, &r), TH_OK);
    assert_true(s_found(&r, "16068"));
    th_result_clear(&r);
    assert_int_equal(s_search(f->analyst, "xyzzy", false, &r), TH_OK);
    assert_int_equal(((const s_search_t *) r.response)->n_districts, 0);
    th_result_clear(&r);
    /* A LIKE wildcard is taken literally. */
    assert_int_equal(s_search(f->analyst, "%", false, &r), TH_OK);
    assert_int_equal(((const s_search_t *) r.response)->n_districts, 0);
    th_result_clear(&r);

    /* Bad input. */
    assert_int_equal(s_search(f->analyst, "", false, &r), TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "text"));
    th_result_clear(&r);
    assert_int_equal(s_search(f->analyst, "   ", false, &r), TH_INVALID_ARGUMENT);
    th_result_clear(&r);
    char long_text[202];
    memset(long_text, 'a', 201);
    long_text[201] = '\0';
    assert_int_equal(s_search(f->analyst, long_text, false, &r), TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "text"));
    th_result_clear(&r);
}

static void
test_territorial_history(void **state)
{
    s_fixture_t *f = *state;
    th_result_t r;
    Teilhabe__Registry__V1__GetTerritorialHistoryRequest req =
        TEILHABE__REGISTRY__V1__GET_TERRITORIAL_HISTORY_REQUEST__INIT;
    const char *both[] = {"16056", "16063"};
    for (size_t i = 0; i < 2; i++) {
        req.ags = (char *) both[i];
        reg_call(f->analyst, REG_METHOD("GetTerritorialHistory"), &req.base,
                 &teilhabe__registry__v1__get_territorial_history_response__descriptor, &r);
        assert_int_equal(r.code, TH_OK);
        const Teilhabe__Registry__V1__GetTerritorialHistoryResponse *h =
            (const void *) r.response;
        assert_non_null(h->district);
        assert_string_equal(h->district->ags, both[i]);
        assert_int_equal(h->n_changes, 1);
        assert_string_equal(h->changes[0]->effective, "2021-07-01");
        assert_string_equal(h->changes[0]->ags, "16056");
        assert_string_equal(h->changes[0]->successor_ags, "16063");
        assert_int_equal(
            h->changes[0]->kind,
            TEILHABE__REGISTRY__V1__TERRITORIAL_CHANGE_KIND__TERRITORIAL_CHANGE_KIND_MERGE);
        assert_string_equal(h->changes[0]->recorded_by, "seed");
        th_result_clear(&r);
    }
    req.ags = "16068";
    reg_call(f->analyst, REG_METHOD("GetTerritorialHistory"), &req.base,
             &teilhabe__registry__v1__get_territorial_history_response__descriptor, &r);
    assert_int_equal(r.code, TH_OK);
    assert_int_equal(
        ((const Teilhabe__Registry__V1__GetTerritorialHistoryResponse *) r.response)
            ->n_changes,
        0);
    th_result_clear(&r);
    req.ags = "00000";
    reg_call(f->analyst, REG_METHOD("GetTerritorialHistory"), &req.base,
             &teilhabe__registry__v1__get_territorial_history_response__descriptor, &r);
    assert_int_equal(r.code, TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "ags"));
    th_result_clear(&r);
}

static int
s_record(th_client_t *c, const char *effective, int kind, const char *ags, const char *succ,
         const char *note, th_result_t *r)
{
    Teilhabe__Registry__V1__RecordTerritorialChangeRequest req =
        TEILHABE__REGISTRY__V1__RECORD_TERRITORIAL_CHANGE_REQUEST__INIT;
    req.effective = (char *) effective;
    req.kind = kind;
    req.ags = (char *) ags;
    req.successor_ags = (char *) succ;
    req.note = (char *) note;
    reg_call(c, REG_METHOD("RecordTerritorialChange"), &req.base,
             &teilhabe__registry__v1__territorial_change__descriptor, r);
    return r->code;
}

static void
test_record_territorial_change(void **state)
{
    s_fixture_t *f = *state;
    const int merge =
        TEILHABE__REGISTRY__V1__TERRITORIAL_CHANGE_KIND__TERRITORIAL_CHANGE_KIND_MERGE;
    th_result_t r;
    /* Only admin. */
    assert_int_equal(s_record(f->ministry, "2030-01-01", merge, "16077", "16076", "", &r),
                     TH_PERMISSION_DENIED);
    assert_non_null(strstr(r.message, "admin"));
    th_result_clear(&r);
    assert_int_equal(s_record(f->analyst, "2030-01-01", merge, "16077", "16076", "", &r),
                     TH_PERMISSION_DENIED);
    th_result_clear(&r);
    /* Bad input. */
    assert_int_equal(s_record(f->admin, "2030-13-01", merge, "16077", "16076", "", &r),
                     TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "effective"));
    th_result_clear(&r);
    assert_int_equal(s_record(f->admin, "2030-01-01", 0, "16077", "16076", "", &r),
                     TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "kind"));
    th_result_clear(&r);
    assert_int_equal(s_record(f->admin, "2030-01-01", 5, "16077", "16076", "", &r),
                     TH_INVALID_ARGUMENT);
    th_result_clear(&r);
    assert_int_equal(s_record(f->admin, "2030-01-01", merge, "16077", "16077", "", &r),
                     TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "successor_ags"));
    th_result_clear(&r);
    assert_int_equal(s_record(f->admin, "2030-01-01", merge, "16077", "99999", "", &r),
                     TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "successor_ags"));
    th_result_clear(&r);
    assert_int_equal(s_record(f->admin, "2030-01-01", merge, "1607", "16076", "", &r),
                     TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "ags"));
    th_result_clear(&r);
    /* Dates that make no sense: before the district is known. */
    assert_int_equal(s_record(f->admin, "2018-12-31", merge, "16077", "16076", "", &r),
                     TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "effective"));
    th_result_clear(&r);
    /* Into a successor that has itself ended by then. */
    assert_int_equal(s_record(f->admin, "2030-01-01", merge, "16063", "16056", "", &r),
                     TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "successor_ags"));
    th_result_clear(&r);
    /* Across Länder. */
    assert_int_equal(s_record(f->admin, "2030-01-01", merge, "16077", "15081", "", &r),
                     TH_INVALID_ARGUMENT);
    th_result_clear(&r);
    /* Eisenach ended already. */
    assert_int_equal(s_record(f->admin, "2030-01-01", merge, "16056", "16063", "", &r),
                     TH_FAILED_PRECONDITION);
    assert_non_null(strstr(r.message, "2021-06-30"));
    th_result_clear(&r);
    char note[1100];
    memset(note, 'n', 1001);
    note[1001] = '\0';
    assert_int_equal(s_record(f->admin, "2030-01-01", merge, "16077", "16076", note, &r),
                     TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "note"));
    th_result_clear(&r);

    /* A real (fictional, future) merger: Altenburger Land into Greiz. */
    assert_int_equal(
        s_record(f->admin, "2030-01-01", merge, "16077", "16076", "test merger", &r),
        TH_OK);
    const Teilhabe__Registry__V1__TerritorialChange *c = (const void *) r.response;
    assert_string_equal(c->effective, "2030-01-01");
    assert_string_equal(c->recorded_by, "admin");
    th_result_clear(&r);
    uint32_t th = 0, total = 0;
    assert_int_equal(s_states(f->analyst, "2029-12-31", &th, &total, &r), TH_OK);
    assert_int_equal(th, 22);
    th_result_clear(&r);
    assert_int_equal(s_states(f->analyst, "2030-01-01", &th, &total, &r), TH_OK);
    assert_int_equal(th, 21);
    assert_int_equal(total, 399);
    th_result_clear(&r);
    assert_int_equal(s_get(f->analyst, "16077", "2030-01-01", &r), TH_NOT_FOUND);
    assert_non_null(strstr(r.message, "16076"));
    th_result_clear(&r);
    /* The counts around 2021 did not move. */
    assert_int_equal(s_states(f->analyst, "2021-06-30", &th, &total, &r), TH_OK);
    assert_int_equal(th, 23);
    th_result_clear(&r);
    /* Audit row and event were written with it. */
    assert_int_equal(reg_sql_count(f->env.db_url, "SELECT count(*) FROM audit.log WHERE "
                                                  "resource = 'districts/16077' AND "
                                                  "principal_id = 'admin'"),
                     1);
    assert_int_equal(reg_sql_count(f->env.db_url,
                                   "SELECT count(*) FROM registry.events WHERE "
                                   "resource = 'districts/16077' AND topic <> "
                                   "'district.created'"),
                     2);
}

static void
test_reads_survive_lost_connections(void **state)
{
    s_fixture_t *f = *state;
    th_result_t r;
    /* Warm the registry's connections (and their prepared statements). */
    for (int i = 0; i < 8; i++) {
        assert_int_equal(s_get(f->analyst, "16068", "", &r), TH_OK);
        th_result_clear(&r);
    }
    /* The server drops every connection of the registry ... (those of
     * ordinary roles only: an autovacuum worker may be in the database too,
     * and only a superuser may end that) */
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = "
             "'%s' AND pid <> pg_backend_pid() AND usesysid IN (SELECT oid FROM pg_roles "
             "WHERE NOT rolsuper)",
             f->env.dbname);
    assert_true(reg_sql_count(f->env.admin_url, sql) >= 1);
    /* ... and reads go on: reconnect, prepare again, answer. */
    for (int i = 0; i < 8; i++) {
        assert_int_equal(s_get(f->analyst, "16068", "2021-07-01", &r), TH_OK);
        assert_string_equal(((const s_district_t *) r.response)->name, "Sömmerda");
        th_result_clear(&r);
        uint32_t th = 0, total = 0;
        assert_int_equal(s_states(f->analyst, "2021-07-01", &th, &total, &r), TH_OK);
        assert_int_equal(total, 400);
        th_result_clear(&r);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_around_eisenach_merger),
        cmocka_unit_test(test_population_sum_and_paging),
        cmocka_unit_test(test_list_filters),
        cmocka_unit_test(test_page_size_above_maximum),
        cmocka_unit_test(test_get_district),
        cmocka_unit_test(test_search_folds_case_and_umlauts),
        cmocka_unit_test(test_territorial_history),
        cmocka_unit_test(test_reads_survive_lost_connections),
        cmocka_unit_test(test_record_territorial_change),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
