/* ---------------------------------------------------------------------------
 * test_measures_indicators.c: the indicator catalogue and indicator values
 * through the real stack: the starter set, ListIndicators / GetIndicator /
 * CreateIndicator with every right and bad input, PutValues all or nothing
 * (unknown indicator, malformed period, denominator 0, negative counts,
 * keys twice, too many: refused naming the value, nothing written), and
 * ListValues with rates computed on reading, period ranges, paging and the
 * read rule for aggregates.
 *
 * PutValues asks the registry whether each district exists on the last day
 * of its latest period (and, for a manager the key does not name it for,
 * whether it is assigned): a refusal for one district refuses the call,
 * nothing written. ListValues is tested on values the test inserts itself.
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "measures_env.h"

typedef Teilhabe__Measures__V1__Indicator s_indicator_t;
typedef Teilhabe__Measures__V1__IndicatorValue s_value_t;

#define S_TOTAL TEILHABE__MEASURES__V1__DISAGGREGATION__DISAGGREGATION_TOTAL
#define S_WITH TEILHABE__MEASURES__V1__DISAGGREGATION__DISAGGREGATION_WITH_MIGRATION_HISTORY
#define S_WITHOUT TEILHABE__MEASURES__V1__DISAGGREGATION__DISAGGREGATION_WITHOUT_MIGRATION_HISTORY

typedef struct {
    measures_env_t env;
    th_client_t *admin;
    th_client_t *ministry;    /* Thüringen */
    th_client_t *ministry_by; /* Bayern */
    th_client_t *analyst;     /* federal */
    th_client_t *analyst_th;  /* of Thüringen */
    th_client_t *manager;     /* manager-th */
    th_client_t *soemmerda;   /* manager-soemmerda */
} s_fixture_t;

static int
s_setup(void **state)
{
    s_fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    *state = f;
    if (measures_env_start(&f->env, "measind") != 0)
        return -1;
    f->admin = meas_client(&f->env, "admin");
    f->ministry = meas_client(&f->env, "ministry-th");
    f->ministry_by = meas_client(&f->env, "ministry-by");
    f->analyst = meas_client(&f->env, "analyst");
    f->analyst_th = meas_client(&f->env, "analyst-th");
    f->manager = meas_client(&f->env, "manager-th");
    f->soemmerda = meas_client(&f->env, "manager-soemmerda");
    return f->admin && f->ministry && f->ministry_by && f->analyst && f->analyst_th &&
                   f->manager && f->soemmerda
               ? 0
               : -1;
}

static int
s_teardown(void **state)
{
    s_fixture_t *f = *state;
    th_client_t **clients[] = {&f->admin,      &f->ministry, &f->ministry_by, &f->analyst,
                               &f->analyst_th, &f->manager,  &f->soemmerda};
    for (size_t i = 0; i < sizeof clients / sizeof clients[0]; i++)
        th_client_destroy(clients[i]);
    const bool clean = measures_env_stop(&f->env);
    free(f);
    return clean ? 0 : -1;
}

/* --- the catalogue ------------------------------------------------------------ */

static void
test_list_and_get_indicators(void **state)
{
    s_fixture_t *f = *state;
    th_result_t r;
    /* The starter set, by code, two a page, for every caller. */
    Teilhabe__Measures__V1__ListIndicatorsRequest list =
        TEILHABE__MEASURES__V1__LIST_INDICATORS_REQUEST__INIT;
    list.page_size = 3;
    char token[2048] = "", codes[2048] = "";
    int pages = 0;
    do {
        list.page_token = token;
        assert_int_equal(meas_call(f->analyst, MEAS_METHOD("ListIndicators"), &list.base,
                                   &teilhabe__measures__v1__list_indicators_response__descriptor,
                                   5000, &r),
                         TH_OK);
        const Teilhabe__Measures__V1__ListIndicatorsResponse *resp = (const void *) r.response;
        for (size_t i = 0; i < resp->n_indicators; i++) {
            strncat(codes, resp->indicators[i]->code, sizeof codes - strlen(codes) - 1);
            strncat(codes, ",", sizeof codes - strlen(codes) - 1);
        }
        snprintf(token, sizeof token, "%s", resp->next_page_token);
        th_result_clear(&r);
        pages++;
    } while (token[0] != '\0' && pages < 10);
    assert_int_equal(pages, 3);
    assert_string_equal(codes, "childcare_under_6,employment_rate,language_course_participants,"
                               "naturalisations,protection_seekers,"
                               "school_leavers_no_certificate,sgb2_share,"
                               "unemployment_rate,youth_welfare_cases,");
    /* By field of action. */
    list.page_size = 0;
    list.page_token = "";
    list.field = TEILHABE__COMMON__V1__FIELD_OF_ACTION__FIELD_OF_ACTION_LANGUAGE;
    assert_int_equal(meas_call(f->manager, MEAS_METHOD("ListIndicators"), &list.base,
                               &teilhabe__measures__v1__list_indicators_response__descriptor,
                               5000, &r),
                     TH_OK);
    assert_int_equal(
        ((const Teilhabe__Measures__V1__ListIndicatorsResponse *) r.response)->n_indicators, 1);
    th_result_clear(&r);
    list.field = 42;
    assert_int_equal(meas_call(f->manager, MEAS_METHOD("ListIndicators"), &list.base,
                               &teilhabe__measures__v1__list_indicators_response__descriptor,
                               5000, &r),
                     TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "field"));
    th_result_clear(&r);

    /* One, with its definition. */
    Teilhabe__Measures__V1__GetIndicatorRequest get =
        TEILHABE__MEASURES__V1__GET_INDICATOR_REQUEST__INIT;
    get.code = "sgb2_share";
    assert_int_equal(meas_call(f->analyst, MEAS_METHOD("GetIndicator"), &get.base,
                               &teilhabe__measures__v1__indicator__descriptor, 5000, &r),
                     TH_OK);
    const s_indicator_t *ind = (const s_indicator_t *) r.response;
    assert_string_equal(ind->name_de, "SGB-II-Quote");
    assert_int_equal(ind->factor, 100);
    assert_int_equal(ind->direction,
                     TEILHABE__MEASURES__V1__DIRECTION__DIRECTION_LOWER_IS_BETTER);
    assert_int_equal(ind->n_disaggregations, 3);
    assert_int_equal(ind->disaggregations[0], S_TOTAL);
    assert_true(ind->illustrative);
    assert_non_null(strstr(ind->source, "Bundesagentur für Arbeit"));
    assert_string_equal(ind->created_by, "seed");
    th_result_clear(&r);
    get.code = "no_such_indicator";
    assert_int_equal(meas_call(f->analyst, MEAS_METHOD("GetIndicator"), &get.base,
                               &teilhabe__measures__v1__indicator__descriptor, 5000, &r),
                     TH_NOT_FOUND);
    th_result_clear(&r);
    get.code = "Bad Code";
    assert_int_equal(meas_call(f->analyst, MEAS_METHOD("GetIndicator"), &get.base,
                               &teilhabe__measures__v1__indicator__descriptor, 5000, &r),
                     TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "code"));
    th_result_clear(&r);
}

typedef struct {
    Teilhabe__Measures__V1__CreateIndicatorRequest req;
    s_indicator_t ind;
    Teilhabe__Measures__V1__Disaggregation dis[4];
} s_create_t;

static void
s_create_init(s_create_t *c, const char *code)
{
    teilhabe__measures__v1__create_indicator_request__init(&c->req);
    teilhabe__measures__v1__indicator__init(&c->ind);
    c->req.indicator = &c->ind;
    c->ind.code = (char *) code;
    c->ind.name_de = "Ehrenamtsquote";
    c->ind.name_en = "Volunteering rate";
    c->ind.unit = "%";
    c->ind.field = TEILHABE__COMMON__V1__FIELD_OF_ACTION__FIELD_OF_ACTION_NEIGHBOURHOOD_LIFE;
    c->ind.numerator = "Residents doing voluntary work";
    c->ind.denominator = "Residents aged 14 and over";
    c->ind.factor = 100;
    c->ind.direction = TEILHABE__MEASURES__V1__DIRECTION__DIRECTION_HIGHER_IS_BETTER;
    c->dis[0] = S_TOTAL;
    c->dis[1] = S_WITH;
    c->ind.disaggregations = c->dis;
    c->ind.n_disaggregations = 2;
    c->ind.source = "Landesstatistik (illustrative)";
    c->ind.illustrative = true;
}

static int
s_create(th_client_t *c, s_create_t *req, th_result_t *r)
{
    return meas_call(c, MEAS_METHOD("CreateIndicator"), &req->req.base,
                     &teilhabe__measures__v1__indicator__descriptor, 5000, r);
}

static void
s_create_bad(s_fixture_t *f, s_create_t *c, const char *field)
{
    th_result_t r;
    const int code = s_create(f->ministry, c, &r);
    if (code != TH_INVALID_ARGUMENT || !reg_has_violation(&r, field))
        fail_msg("expected INVALID_ARGUMENT naming %s, got %d \"%s\"", field, code,
                 r.message != NULL ? r.message : "");
    th_result_clear(&r);
}

static void
test_create_indicator(void **state)
{
    s_fixture_t *f = *state;
    th_result_t r;
    s_create_t c;
    s_create_init(&c, "volunteering_rate");
    /* A ministry adds; nobody else does. */
    th_client_t *others[] = {f->admin, f->analyst, f->manager};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(s_create(others[i], &c, &r), TH_PERMISSION_DENIED);
        assert_non_null(strstr(r.message, "needs role ministry"));
        th_result_clear(&r);
    }
    /* Every bad input, nothing written. */
    s_create_init(&c, "Volunteering");
    s_create_bad(f, &c, "indicator.code");
    s_create_init(&c, "v");
    s_create_bad(f, &c, "indicator.code");
    s_create_init(&c, "volunteering_rate");
    c.ind.name_de = "";
    s_create_bad(f, &c, "indicator.name_de");
    s_create_init(&c, "volunteering_rate");
    c.ind.factor = 7;
    s_create_bad(f, &c, "indicator.factor");
    s_create_init(&c, "volunteering_rate");
    c.ind.denominator = ""; /* a plain count with factor 100 */
    s_create_bad(f, &c, "indicator.factor");
    s_create_init(&c, "volunteering_rate");
    c.ind.factor = 1; /* a rate with factor 1 */
    s_create_bad(f, &c, "indicator.factor");
    s_create_init(&c, "volunteering_rate");
    c.ind.direction = 0;
    s_create_bad(f, &c, "indicator.direction");
    s_create_init(&c, "volunteering_rate");
    c.dis[0] = S_WITH;
    c.dis[1] = S_WITHOUT;
    s_create_bad(f, &c, "indicator.disaggregations");
    s_create_init(&c, "volunteering_rate");
    c.dis[1] = S_TOTAL;
    s_create_bad(f, &c, "indicator.disaggregations");
    s_create_init(&c, "volunteering_rate");
    c.ind.source = "";
    s_create_bad(f, &c, "indicator.source");
    s_create_init(&c, "volunteering_rate");
    c.ind.field = 0;
    s_create_bad(f, &c, "indicator.field");
    assert_int_equal(meas_count(&f->env, "SELECT count(*) FROM measures.indicators"),
                     meas_file_rows(TH_SOURCE_DIR "/data/indicators.csv"));

    /* Created, with its audit row and event; the code cannot be taken twice. */
    s_create_init(&c, "volunteering_rate");
    assert_int_equal(s_create(f->ministry, &c, &r), TH_OK);
    const s_indicator_t *ind = (const s_indicator_t *) r.response;
    assert_string_equal(ind->code, "volunteering_rate");
    assert_string_equal(ind->created_by, "ministry-th");
    assert_int_equal(ind->n_disaggregations, 2);
    assert_int_equal(ind->disaggregations[1], S_WITH);
    th_result_clear(&r);
    assert_int_equal(s_create(f->ministry_by, &c, &r), TH_ALREADY_EXISTS);
    assert_true(reg_has_violation(&r, "indicator.code"));
    th_result_clear(&r);
    assert_int_equal(meas_count(&f->env, "SELECT count(*) FROM audit.log WHERE resource = "
                                         "'indicators/volunteering_rate' AND principal_id = "
                                         "'ministry-th'"),
                     1);
    assert_int_equal(meas_count(&f->env, "SELECT count(*) FROM measures.events WHERE resource "
                                         "= 'indicators/volunteering_rate'"),
                     1);
}

/* --- values ------------------------------------------------------------------- */

typedef struct {
    Teilhabe__Measures__V1__PutValuesRequest req;
    s_value_t values[4];
    s_value_t *list[1001];
} s_put_t;

/* Two valid values for Sömmerda: an SGB II share and a plain count. */
static void
s_put_init(s_put_t *p)
{
    teilhabe__measures__v1__put_values_request__init(&p->req);
    for (size_t i = 0; i < 4; i++) {
        teilhabe__measures__v1__indicator_value__init(&p->values[i]);
        p->list[i] = &p->values[i];
    }
    p->values[0].ags = "16068";
    p->values[0].indicator_code = "sgb2_share";
    p->values[0].period = "2024";
    p->values[0].disaggregation = S_TOTAL;
    p->values[0].numerator = 4200;
    p->values[0].denominator = 56000;
    p->values[1].ags = "16068";
    p->values[1].indicator_code = "language_course_participants";
    p->values[1].period = "2024Q3";
    p->values[1].disaggregation = S_TOTAL;
    p->values[1].numerator = 85;
    p->req.values = p->list;
    p->req.n_values = 2;
}

static int
s_put(th_client_t *c, s_put_t *p, int timeout_ms, th_result_t *r)
{
    return meas_call(c, MEAS_METHOD("PutValues"), &p->req.base,
                     &teilhabe__measures__v1__put_values_response__descriptor, timeout_ms, r);
}

static void
s_put_bad(s_fixture_t *f, s_put_t *p, const char *field)
{
    th_result_t r;
    const int code = s_put(f->ministry, p, 5000, &r);
    if (code != TH_INVALID_ARGUMENT || !reg_has_violation(&r, field))
        fail_msg("expected INVALID_ARGUMENT naming %s, got %d \"%s\"", field, code,
                 r.message != NULL ? r.message : "");
    th_result_clear(&r);
}

static void
test_put_values_all_or_nothing(void **state)
{
    s_fixture_t *f = *state;
    th_result_t r;
    s_put_t p;
    /* Every bad value names itself; the good one beside it is not written
     * either. */
    s_put_init(&p);
    p.values[1].indicator_code = "unknown_indicator";
    s_put_bad(f, &p, "values[1].indicator_code");
    s_put_init(&p);
    p.values[1].period = "2024Q5";
    s_put_bad(f, &p, "values[1].period");
    s_put_init(&p);
    p.values[0].period = "24";
    s_put_bad(f, &p, "values[0].period");
    s_put_init(&p);
    p.values[0].denominator = 0; /* a rate of nothing */
    s_put_bad(f, &p, "values[0].denominator");
    s_put_init(&p);
    p.values[1].denominator = 10; /* a plain count has none */
    s_put_bad(f, &p, "values[1].denominator");
    s_put_init(&p);
    p.values[0].numerator = -1;
    s_put_bad(f, &p, "values[0].numerator");
    s_put_init(&p);
    p.values[1].disaggregation = S_WITH; /* not supported by this indicator */
    s_put_bad(f, &p, "values[1].disaggregation");
    s_put_init(&p);
    p.values[1].disaggregation = 0;
    s_put_bad(f, &p, "values[1].disaggregation");
    s_put_init(&p);
    p.values[1].ags = "1606";
    s_put_bad(f, &p, "values[1].ags");
    s_put_init(&p);
    p.values[2] = p.values[0]; /* the same key twice */
    p.req.n_values = 3;
    s_put_bad(f, &p, "values[2]");
    s_put_init(&p);
    p.values[0].note = "zu \xff";
    s_put_bad(f, &p, "values[0].note");
    s_put_init(&p);
    p.req.n_values = 0;
    s_put_bad(f, &p, "values");
    s_put_init(&p);
    for (size_t i = 0; i < 1001; i++)
        p.list[i] = &p.values[0];
    p.req.n_values = 1001;
    s_put_bad(f, &p, "values");

    /* Rights: the role, and another Land's ministry, need no registry. */
    s_put_init(&p);
    th_client_t *refused[] = {f->admin, f->analyst, f->ministry_by};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(s_put(refused[i], &p, 5000, &r), TH_PERMISSION_DENIED);
        th_result_clear(&r);
    }
    /* The registry's answers: Eisenach (ended 2021-06-30) does not exist
     * on the last day of 2024Q3, so the whole call is refused, Sömmerda's
     * valid value with it; a manager of Sömmerda is not assigned to
     * Gotha. */
    p.values[1].ags = "16056";
    assert_int_equal(s_put(f->ministry, &p, 5000, &r), TH_NOT_FOUND);
    assert_non_null(strstr(r.message, "does not exist on 2024-09-30"));
    assert_non_null(strstr(r.message, "16063"));
    th_result_clear(&r);
    p.values[1].ags = "16067";
    assert_int_equal(s_put(f->soemmerda, &p, 5000, &r), TH_PERMISSION_DENIED);
    assert_non_null(strstr(r.message, "a manager assigned to 16067"));
    th_result_clear(&r);
    assert_int_equal(meas_count(&f->env, "SELECT count(*) FROM measures.indicator_values"), 0);
    assert_int_equal(meas_count(&f->env, "SELECT count(*) FROM measures.events WHERE topic = "
                                         "'values.put'"),
                     0);
}

/* A value as the test's own fixture (see measures_env.h). */
static void
s_seed_value(s_fixture_t *f, const char *ags, const char *code, const char *period,
             const char *start, const char *end, const char *dis, const char *num,
             const char *den)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "INSERT INTO measures.indicator_values (ags, indicator_code, period, period_start, "
             "period_end, disaggregation, numerator, denominator, updated_by) VALUES ('%s', '%s', "
             "'%s', '%s', '%s', '%s', %s, %s, 'fixture')",
             ags, code, period, start, end, dis, num, den);
    char *ok = reg_sql_value(f->env.reg.db_url, sql);
    assert_non_null(ok);
    free(ok);
}

/* The values of req, joined as "ags/code/period/dis=value;" into out. */
static int
s_list(th_client_t *c, Teilhabe__Measures__V1__ListValuesRequest *req, int page_size, char *out,
       size_t outlen)
{
    char token[4096] = "";
    out[0] = '\0';
    for (int pages = 0; pages < 50; pages++) {
        req->page_size = page_size;
        req->page_token = token;
        th_result_t r;
        const int code = meas_call(c, MEAS_METHOD("ListValues"), &req->base,
                                   &teilhabe__measures__v1__list_values_response__descriptor,
                                   5000, &r);
        if (code != TH_OK) {
            th_result_clear(&r);
            req->page_token = "";
            return code;
        }
        const Teilhabe__Measures__V1__ListValuesResponse *resp = (const void *) r.response;
        for (size_t i = 0; i < resp->n_values; i++) {
            const s_value_t *v = resp->values[i];
            char item[160];
            snprintf(item, sizeof item, "%s/%s/%s/%d=%.4f;", v->ags, v->indicator_code,
                     v->period, (int) v->disaggregation, v->value);
            strncat(out, item, outlen - strlen(out) - 1);
        }
        snprintf(token, sizeof token, "%s", resp->next_page_token);
        th_result_clear(&r);
        if (token[0] == '\0')
            break;
    }
    req->page_token = "";
    return TH_OK;
}

static void
test_list_values(void **state)
{
    s_fixture_t *f = *state;
    s_seed_value(f, "16068", "sgb2_share", "2024", "2024-01-01", "2024-12-31", "total", "4200",
                 "56000");
    s_seed_value(f, "16068", "sgb2_share", "2024", "2024-01-01", "2024-12-31",
                 "with_migration_history", "900", "4000");
    s_seed_value(f, "16068", "sgb2_share", "2023", "2023-01-01", "2023-12-31", "total", "4410",
                 "56500");
    s_seed_value(f, "16068", "language_course_participants", "2024Q3", "2024-07-01",
                 "2024-09-30", "total", "85", "0");
    s_seed_value(f, "16068", "language_course_participants", "2024-07", "2024-07-01",
                 "2024-07-31", "total", "30", "0");
    s_seed_value(f, "16068", "language_course_participants", "2024S2", "2024-07-01",
                 "2024-12-31", "total", "150", "0");
    s_seed_value(f, "16067", "naturalisations", "2024", "2024-01-01", "2024-12-31", "total",
                 "37", "8123");
    s_seed_value(f, "09162", "sgb2_share", "2024", "2024-01-01", "2024-12-31", "total", "1",
                 "3");
    char out[4096];
    Teilhabe__Measures__V1__ListValuesRequest req =
        TEILHABE__MEASURES__V1__LIST_VALUES_REQUEST__INIT;

    /* Sömmerda: rates computed on reading (4200 x 100 / 56000 = 7.5), plain
     * counts as they are; periods in order of their first day, the shorter
     * first (2024-07, 2024Q3, 2024S2); one value a page. */
    req.ags = "16068";
    assert_int_equal(s_list(f->manager, &req, 1, out, sizeof out), TH_OK);
    assert_string_equal(out, "16068/language_course_participants/2024-07/1=30.0000;"
                             "16068/language_course_participants/2024Q3/1=85.0000;"
                             "16068/language_course_participants/2024S2/1=150.0000;"
                             "16068/sgb2_share/2023/1=7.8053;"
                             "16068/sgb2_share/2024/1=7.5000;"
                             "16068/sgb2_share/2024/2=22.5000;");
    /* One indicator, one disaggregation, a range of periods. */
    req.indicator_code = "sgb2_share";
    req.from_period = "2024";
    req.to_period = "2024";
    assert_int_equal(s_list(f->analyst_th, &req, 100, out, sizeof out), TH_OK);
    assert_string_equal(out, "16068/sgb2_share/2024/1=7.5000;16068/sgb2_share/2024/2=22.5000;");
    req.disaggregation = S_WITH;
    assert_int_equal(s_list(f->analyst_th, &req, 100, out, sizeof out), TH_OK);
    assert_string_equal(out, "16068/sgb2_share/2024/2=22.5000;");
    req.disaggregation = 0;
    req.indicator_code = "";
    req.from_period = "2024S2";
    req.to_period = "2024Q3";
    assert_int_equal(s_list(f->analyst_th, &req, 100, out, sizeof out), TH_OK);
    assert_string_equal(out, "16068/language_course_participants/2024-07/1=30.0000;"
                             "16068/language_course_participants/2024Q3/1=85.0000;");
    req.from_period = "";
    req.to_period = "";

    /* The Land by default; every Land for the federal analyst; another
     * Land's ministry sees its own. */
    req.ags = "";
    assert_int_equal(s_list(f->ministry, &req, 3, out, sizeof out), TH_OK);
    assert_non_null(strstr(out, "16067/naturalisations/2024/1=4.5550;"));
    assert_null(strstr(out, "09162"));
    assert_int_equal(s_list(f->analyst, &req, 100, out, sizeof out), TH_OK);
    assert_non_null(strstr(out, "09162/sgb2_share/2024/1=33.3333;"));
    assert_non_null(strstr(out, "16068"));
    assert_int_equal(s_list(f->ministry_by, &req, 100, out, sizeof out), TH_OK);
    assert_string_equal(out, "09162/sgb2_share/2024/1=33.3333;");
    req.state_code = "16";
    assert_int_equal(s_list(f->ministry_by, &req, 100, out, sizeof out), TH_PERMISSION_DENIED);
    req.state_code = "";

    /* Bad input. */
    th_result_t r;
    const struct {
        const char *from, *to, *code, *field;
    } bad[] = {
        {"2024Q5", "", "", "from_period"},
        {"", "2024-13", "", "to_period"},
        {"2024", "2023", "", "to_period"}, /* ends before it begins */
        {"", "", "Bad", "indicator_code"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        req.from_period = (char *) bad[i].from;
        req.to_period = (char *) bad[i].to;
        req.indicator_code = (char *) bad[i].code;
        assert_int_equal(meas_call(f->ministry, MEAS_METHOD("ListValues"), &req.base,
                                   &teilhabe__measures__v1__list_values_response__descriptor,
                                   5000, &r),
                         TH_INVALID_ARGUMENT);
        assert_true(reg_has_violation(&r, bad[i].field));
        th_result_clear(&r);
    }
    req.from_period = "";
    req.to_period = "";
    req.indicator_code = "";
    req.page_size = 1001;
    assert_int_equal(meas_call(f->ministry, MEAS_METHOD("ListValues"), &req.base,
                               &teilhabe__measures__v1__list_values_response__descriptor, 5000,
                               &r),
                     TH_INVALID_ARGUMENT);
    th_result_clear(&r);
}

/* What PutValues stores: created, then given again (unchanged) and changed
 * (updated), the rates computed, one audit row and event per district a
 * call changed, the values replaced in the audit row's before. */
static void
test_put_values_when_the_registry_answers(void **state)
{
    s_fixture_t *f = *state;
    th_result_t r;
    s_put_t p;
    s_put_init(&p);
    p.values[0].period = "2022";
    p.values[1].period = "2022Q1";
    p.values[1].source = "BAMF";
    p.values[2] = p.values[0];
    p.values[2].ags = "16067";
    p.req.n_values = 3;
    assert_int_equal(s_put(f->ministry, &p, 5000, &r), TH_OK);
    const Teilhabe__Measures__V1__PutValuesResponse *resp = (const void *) r.response;
    assert_int_equal(resp->created, 3);
    assert_int_equal(resp->updated, 0);
    assert_int_equal(resp->unchanged, 0);
    assert_int_equal(resp->n_values, 3);
    assert_string_equal(resp->values[0]->ags, "16068");
    assert_true(resp->values[0]->value > 7.4999 && resp->values[0]->value < 7.5001);
    assert_true(resp->values[1]->value > 84.999 && resp->values[1]->value < 85.001);
    assert_string_equal(resp->values[1]->source, "BAMF");
    assert_string_equal(resp->values[2]->ags, "16067");
    assert_string_equal(resp->values[0]->updated_by, "ministry-th");
    th_result_clear(&r);
    /* Again, with one changed: one updated, two unchanged; only Sömmerda
     * changed, so one audit row and one event more. */
    p.values[1].numerator = 90;
    assert_int_equal(s_put(f->ministry, &p, 5000, &r), TH_OK);
    resp = (const void *) r.response;
    assert_int_equal(resp->created, 0);
    assert_int_equal(resp->updated, 1);
    assert_int_equal(resp->unchanged, 2);
    assert_true(resp->values[1]->value > 89.999 && resp->values[1]->value < 90.001);
    th_result_clear(&r);
    assert_int_equal(meas_count(&f->env, "SELECT count(*) FROM audit.log WHERE resource = "
                                         "'districts/16068/values'"),
                     2);
    assert_int_equal(meas_count(&f->env, "SELECT count(*) FROM audit.log WHERE resource = "
                                         "'districts/16067/values'"),
                     1);
    assert_int_equal(meas_count(&f->env, "SELECT count(*) FROM audit.log WHERE resource = "
                                         "'districts/16068/values' AND before IS NOT NULL AND "
                                         "before->'values'->0->>'numerator' IN ('85')"),
                     1);
    assert_int_equal(meas_count(&f->env, "SELECT count(*) FROM measures.events WHERE topic = "
                                         "'values.put'"),
                     3);
    /* Remove them again: test_list_values counts the values. */
    free(reg_sql_value(f->env.reg.db_url,
                       "DELETE FROM measures.indicator_values WHERE period LIKE '2022%'"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_and_get_indicators),
        cmocka_unit_test(test_create_indicator),
        cmocka_unit_test(test_put_values_all_or_nothing),
        cmocka_unit_test(test_put_values_when_the_registry_answers),
        cmocka_unit_test(test_list_values),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
