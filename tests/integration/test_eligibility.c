/* ---------------------------------------------------------------------------
 * test_eligibility.c: the eligibility service against the real stack
 * (PostgreSQL, broker, registry, measures, eligibility): the shipped
 * programmes, a district's decision with its trace and what-if, the
 * what-if applied, the date boundary of a concept's age, Eisenach before
 * and after its merger, stored decisions that reproduce, a batch over a
 * Land with pages, an allocation that shares its budget exactly,
 * a rule set tried before it is published, rights
 * (test_eligibility_publish.c publishes rule sets; test_eligibility_recheck.c
 * has the automated re-checks).
 *
 * The tests run in order: the NRW flow leaves the decisions and eligible
 * districts the later tests count.
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "eligibility_env.h"

typedef Teilhabe__Eligibility__V1__Decision s_decision_t;

#define S_OUT(x) TEILHABE__ELIGIBILITY__V1__OUTCOME__OUTCOME_##x

typedef struct {
    eligibility_env_t env;
    th_client_t *ministry_nw;
    th_client_t *manager_nw; /* 05111 */
    th_client_t *ministry_th;
    th_client_t *ministry_bw;
    th_client_t *analyst;
    th_client_t *admin;
    char decision[37]; /* an eligible decision of 05111 */
} s_fixture_t;

static int
s_setup(void **state)
{
    s_fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    *state = f;
    if (eligibility_env_start(&f->env, "elig", "0") != 0)
        return -1;
    f->ministry_nw = elig_client(&f->env, "ministry-nw");
    f->manager_nw = elig_client(&f->env, "manager-nw");
    f->ministry_th = elig_client(&f->env, "ministry-th");
    f->ministry_bw = elig_client(&f->env, "ministry-bw");
    f->analyst = elig_client(&f->env, "analyst");
    f->admin = elig_client(&f->env, "admin");
    return f->ministry_nw && f->manager_nw && f->ministry_th && f->ministry_bw &&
                   f->analyst && f->admin
               ? 0
               : -1;
}

static int
s_teardown(void **state)
{
    s_fixture_t *f = *state;
    th_client_t **clients[] = {&f->ministry_nw, &f->manager_nw, &f->ministry_th,
                               &f->ministry_bw, &f->analyst,    &f->admin};
    for (size_t i = 0; i < sizeof clients / sizeof clients[0]; i++)
        th_client_destroy(clients[i]);
    const bool clean = eligibility_env_stop(&f->env);
    free(f);
    return clean ? 0 : -1;
}

static int
s_set_concept(th_client_t *c, const char *ags, const char *adopted_on, int64_t version,
              th_result_t *r)
{
    Teilhabe__Registry__V1__Concept concept = TEILHABE__REGISTRY__V1__CONCEPT__INIT;
    Teilhabe__Common__V1__FieldOfAction fields[] = {
        TEILHABE__COMMON__V1__FIELD_OF_ACTION__FIELD_OF_ACTION_LANGUAGE};
    concept.ags = (char *) ags;
    concept.title = (char *) "Integrationskonzept";
    concept.adopted_on = (char *) adopted_on;
    concept.orientation = TEILHABE__REGISTRY__V1__ORIENTATION__ORIENTATION_PARTICIPATION;
    concept.fields = fields;
    concept.n_fields = 1;
    Teilhabe__Registry__V1__SetConceptRequest req =
        TEILHABE__REGISTRY__V1__SET_CONCEPT_REQUEST__INIT;
    req.concept = &concept;
    req.version = version;
    return meas_call(c, "teilhabe.registry.v1.Registry/SetConcept", &req.base,
                     &teilhabe__registry__v1__concept__descriptor, 10000, r);
}

static int
s_set_application(th_client_t *c, const char *programme, const char *ags,
                  const char *council, bool work_plan, int64_t version, th_result_t *r)
{
    Teilhabe__Eligibility__V1__Application a = TEILHABE__ELIGIBILITY__V1__APPLICATION__INIT;
    a.programme_code = (char *) programme;
    a.ags = (char *) ags;
    a.council_decision = (char *) council;
    a.work_plan = work_plan;
    Teilhabe__Eligibility__V1__SetApplicationFactsRequest req =
        TEILHABE__ELIGIBILITY__V1__SET_APPLICATION_FACTS_REQUEST__INIT;
    req.application = &a;
    req.version = version;
    return meas_call(c, ELIG_METHOD("SetApplicationFacts"), &req.base,
                     &teilhabe__eligibility__v1__application__descriptor, 10000, r);
}

/* --- programmes ---------------------------------------------------------------- */

static void
test_programmes(void **state)
{
    s_fixture_t *f = *state;
    th_result_t r;
    Teilhabe__Eligibility__V1__ListProgrammesRequest lreq =
        TEILHABE__ELIGIBILITY__V1__LIST_PROGRAMMES_REQUEST__INIT;
    assert_int_equal(
        meas_call(f->analyst, ELIG_METHOD("ListProgrammes"), &lreq.base,
                  &teilhabe__eligibility__v1__list_programmes_response__descriptor, 5000,
                  &r),
        TH_OK);
    const Teilhabe__Eligibility__V1__ListProgrammesResponse *list =
        (const void *) r.response;
    const char *codes[] = {"bw-integration-management", "nrw-ki",
                           "th-integration-management"};
    assert_int_equal(list->n_programmes, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(list->programmes[i]->code, codes[i]);
        assert_true(list->programmes[i]->name[0] != '\0');
        assert_int_equal(strlen(list->programmes[i]->valid_from), 10);
    }
    assert_string_equal(list->programmes[1]->state_code, "05");
    th_result_clear(&r);

    Teilhabe__Eligibility__V1__GetProgrammeRequest g =
        TEILHABE__ELIGIBILITY__V1__GET_PROGRAMME_REQUEST__INIT;
    g.code = (char *) "nrw-ki";
    g.include_text = true;
    g.lang = (char *) "en";
    assert_int_equal(meas_call(f->analyst, ELIG_METHOD("GetProgramme"), &g.base,
                               &teilhabe__eligibility__v1__programme__descriptor, 5000, &r),
                     TH_OK);
    const Teilhabe__Eligibility__V1__Programme *p = (const void *) r.response;
    assert_int_equal(p->n_versions, 1);
    assert_int_equal(p->versions[0]->version, 1);
    assert_string_equal(p->versions[0]->published_by, "seed");
    assert_int_equal(strlen(p->versions[0]->hash), 64);
    assert_non_null(strstr(p->versions[0]->text, "code: nrw-ki"));
    assert_non_null(strstr(p->versions[0]->source, "TIntG"));
    th_result_clear(&r);

    g.code = (char *) "no-such-programme";
    assert_int_equal(meas_call(f->analyst, ELIG_METHOD("GetProgramme"), &g.base,
                               &teilhabe__eligibility__v1__programme__descriptor, 5000, &r),
                     TH_NOT_FOUND);
    th_result_clear(&r);
    g.code = (char *) "Bad Code";
    assert_int_equal(meas_call(f->analyst, ELIG_METHOD("GetProgramme"), &g.base,
                               &teilhabe__eligibility__v1__programme__descriptor, 5000, &r),
                     TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "code"));
    th_result_clear(&r);
}

/* --- one district, its what-if applied ---------------------------------------------- */

static void
test_nrw_decision_and_whatif(void **state)
{
    s_fixture_t *f = *state;
    th_result_t r;
    /* Nothing recorded: not eligible, but attainable, with a what-if for
     * each failed criterion. */
    assert_int_equal(elig_expect(elig_evaluate(f->ministry_nw, "nrw-ki", "05111",
                                               "2026-07-01", "de", &r),
                                 &r, TH_OK),
                     TH_OK);
    const s_decision_t *d = (const void *) r.response;
    assert_int_equal(d->outcome, S_OUT(NOT_ELIGIBLE));
    assert_true(d->attainable);
    assert_int_equal(d->entitlement_cents, 0);
    assert_string_equal(d->district_name, "Düsseldorf, Stadt");
    assert_false(elig_line(d, "concept_adopted")->passed);
    assert_true(elig_line(d, "concept_adopted")->what_if[0] != '\0');
    assert_false(elig_line(d, "council_decision")->passed);
    assert_true(elig_line(d, "_state")->passed);
    assert_int_equal(strlen(d->id), 36);
    th_result_clear(&r);

    /* The concept, adopted on 2023-07-01, and the application. */
    assert_int_equal(
        elig_expect(s_set_concept(f->ministry_nw, "05111", "2023-07-01", 0, &r), &r, TH_OK),
        TH_OK);
    th_result_clear(&r);
    assert_int_equal(elig_expect(s_set_application(f->manager_nw, "nrw-ki", "05111",
                                                   "2023-08-01", true, 0, &r),
                                 &r, TH_OK),
                     TH_OK);
    assert_int_equal(((const Teilhabe__Eligibility__V1__Application *) r.response)->version,
                     1);
    th_result_clear(&r);
    /* A stale version changes nothing. */
    assert_int_equal(
        s_set_application(f->manager_nw, "nrw-ki", "05111", "2023-09-01", true, 0, &r),
        TH_FAILED_PRECONDITION);
    th_result_clear(&r);

    /* Exactly three years old on 2026-07-01: eligible, 5 specialist posts
     * of a kreisfreie Stadt, the half administrative post, the pool. */
    assert_int_equal(elig_expect(elig_evaluate(f->ministry_nw, "nrw-ki", "05111",
                                               "2026-07-01", "en", &r),
                                 &r, TH_OK),
                     TH_OK);
    d = (const void *) r.response;
    assert_int_equal(d->outcome, S_OUT(ELIGIBLE));
    assert_int_equal(d->entitlement_cents, (5LL * 57000 + 22500 + 50000) * 100);
    assert_false(d->illustrative);
    assert_true(d->n_parts >= 3);
    assert_true(d->changed);
    assert_int_equal(d->previous_outcome, S_OUT(NOT_ELIGIBLE));
    assert_string_equal(elig_line(d, "concept_recent")->value, "3");
    snprintf(f->decision, sizeof f->decision, "%s", d->id);
    th_result_clear(&r);

    /* A day later it is older than three years; the what-if names the
     * first adoption date that would do. */
    assert_int_equal(
        elig_evaluate(f->ministry_nw, "nrw-ki", "05111", "2026-07-02", "en", &r), TH_OK);
    d = (const void *) r.response;
    assert_int_equal(d->outcome, S_OUT(NOT_ELIGIBLE));
    assert_true(d->attainable);
    const Teilhabe__Eligibility__V1__TraceLine *recent = elig_line(d, "concept_recent");
    assert_false(recent->passed);
    assert_true(recent->fixable);
    assert_non_null(strstr(recent->what_if, "2023-07-02"));
    assert_non_null(strstr(d->summary, "not eligible"));
    th_result_clear(&r);

    /* The what-if applied: the concept adopted again on 2023-07-02. */
    assert_int_equal(
        elig_expect(s_set_concept(f->ministry_nw, "05111", "2023-07-02", 1, &r), &r, TH_OK),
        TH_OK);
    th_result_clear(&r);
    assert_int_equal(
        elig_evaluate(f->manager_nw, "nrw-ki", "05111", "2026-07-02", "de", &r), TH_OK);
    assert_int_equal(((const s_decision_t *) r.response)->outcome, S_OUT(ELIGIBLE));
    th_result_clear(&r);
    /* On 2026-07-01 too: the concept in force is the latest version
     * adopted on or before the day, version 2, three years less a day
     * old. */
    assert_int_equal(
        elig_evaluate(f->ministry_nw, "nrw-ki", "05111", "2026-07-01", "de", &r), TH_OK);
    assert_int_equal(((const s_decision_t *) r.response)->outcome, S_OUT(ELIGIBLE));
    th_result_clear(&r);

    /* A Kreis: six specialist posts. */
    assert_int_equal(s_set_concept(f->ministry_nw, "05158", "2024-03-01", 0, &r), TH_OK);
    th_result_clear(&r);
    assert_int_equal(
        s_set_application(f->ministry_nw, "nrw-ki", "05158", "2024-04-01", true, 0, &r),
        TH_OK);
    th_result_clear(&r);
    assert_int_equal(
        elig_evaluate(f->ministry_nw, "nrw-ki", "05158", "2025-01-01", "de", &r), TH_OK);
    d = (const void *) r.response;
    assert_int_equal(d->outcome, S_OUT(ELIGIBLE));
    assert_int_equal(d->entitlement_cents, (6LL * 57000 + 22500 + 50000) * 100);
    th_result_clear(&r);
}

/* A stored decision re-evaluated from its stored facts gives the same. */
static void
test_decision_reproduces(void **state)
{
    s_fixture_t *f = *state;
    th_result_t r;
    Teilhabe__Eligibility__V1__GetDecisionRequest g =
        TEILHABE__ELIGIBILITY__V1__GET_DECISION_REQUEST__INIT;
    g.id = f->decision;
    g.verify = true;
    g.lang = (char *) "de";
    assert_int_equal(
        elig_expect(meas_call(f->analyst, ELIG_METHOD("GetDecision"), &g.base,
                              &teilhabe__eligibility__v1__decision__descriptor, 5000, &r),
                    &r, TH_OK),
        TH_OK);
    const s_decision_t *d = (const void *) r.response;
    assert_true(d->verified);
    assert_int_equal(d->outcome, S_OUT(ELIGIBLE));
    assert_string_equal(d->as_of, "2026-07-01");
    assert_true(d->n_facts > 5);
    bool age = false;
    for (size_t i = 0; i < d->n_facts; i++)
        age |= strcmp(d->facts[i]->key, "concept.age_years") == 0 &&
               strcmp(d->facts[i]->value, "3") == 0;
    assert_true(age);
    assert_non_null(elig_line(d, "concept_recent"));
    th_result_clear(&r);

    /* The facts stored are what decides: changed in the database, the
     * decision no longer verifies. */
    char sql[256];
    snprintf(sql, sizeof sql,
             "WITH u AS (UPDATE eligibility.decisions SET entitlement_cents = 1 "
             "WHERE id = '%s' RETURNING 1) SELECT count(*) FROM u",
             f->decision);
    assert_int_equal(elig_count(&f->env, sql), 1);
    assert_int_equal(meas_call(f->analyst, ELIG_METHOD("GetDecision"), &g.base,
                               &teilhabe__eligibility__v1__decision__descriptor, 5000, &r),
                     TH_OK);
    assert_false(((const s_decision_t *) r.response)->verified);
    th_result_clear(&r);
    g.id = (char *) "not-an-id";
    assert_int_equal(meas_call(f->analyst, ELIG_METHOD("GetDecision"), &g.base,
                               &teilhabe__eligibility__v1__decision__descriptor, 5000, &r),
                     TH_INVALID_ARGUMENT);
    th_result_clear(&r);
    g.id = (char *) "00000000-0000-4000-8000-000000000000";
    assert_int_equal(meas_call(f->analyst, ELIG_METHOD("GetDecision"), &g.base,
                               &teilhabe__eligibility__v1__decision__descriptor, 5000, &r),
                     TH_NOT_FOUND);
    th_result_clear(&r);

    /* The list: newest first, and the changed ones. */
    Teilhabe__Eligibility__V1__ListDecisionsRequest l =
        TEILHABE__ELIGIBILITY__V1__LIST_DECISIONS_REQUEST__INIT;
    l.programme_code = (char *) "nrw-ki";
    l.ags = (char *) "05111";
    assert_int_equal(
        meas_call(f->ministry_nw, ELIG_METHOD("ListDecisions"), &l.base,
                  &teilhabe__eligibility__v1__list_decisions_response__descriptor, 5000,
                  &r),
        TH_OK);
    const Teilhabe__Eligibility__V1__ListDecisionsResponse *list =
        (const void *) r.response;
    assert_int_equal((long long) list->n_decisions,
                     elig_count(&f->env, "SELECT count(*) FROM eligibility.decisions "
                                         "WHERE ags = '05111'"));
    assert_true(strcmp(list->decisions[0]->decide_time, list->decisions[1]->decide_time) >=
                0);
    th_result_clear(&r);
    l.changed_only = true;
    l.page_size = 1;
    assert_int_equal(
        meas_call(f->ministry_nw, ELIG_METHOD("ListDecisions"), &l.base,
                  &teilhabe__eligibility__v1__list_decisions_response__descriptor, 5000,
                  &r),
        TH_OK);
    list = (const void *) r.response;
    assert_int_equal(list->n_decisions, 1);
    assert_true(list->decisions[0]->changed);
    assert_true(list->next_page_token[0] != '\0');
    th_result_clear(&r);
}

/* --- not applicable, bad input ------------------------------------------------------- */

static void
test_not_applicable_and_bad_input(void **state)
{
    s_fixture_t *f = *state;
    th_result_t r;
    /* Another Land. */
    assert_int_equal(
        elig_evaluate(f->ministry_nw, "nrw-ki", "16068", "2025-01-01", "en", &r), TH_OK);
    const s_decision_t *d = (const void *) r.response;
    assert_int_equal(d->outcome, S_OUT(NOT_APPLICABLE));
    assert_false(d->attainable);
    assert_false(elig_line(d, "_state")->passed);
    assert_false(elig_line(d, "_state")->fixable);
    th_result_clear(&r);
    /* Eisenach the day before it joined the Wartburgkreis, and the day it did. */
    assert_int_equal(elig_evaluate(f->ministry_th, "th-integration-management", "16056",
                                   "2021-06-30", "de", &r),
                     TH_OK);
    assert_int_equal(((const s_decision_t *) r.response)->outcome, S_OUT(NOT_ELIGIBLE));
    th_result_clear(&r);
    assert_int_equal(elig_evaluate(f->ministry_th, "th-integration-management", "16056",
                                   "2021-07-01", "de", &r),
                     TH_OK);
    d = (const void *) r.response;
    assert_int_equal(d->outcome, S_OUT(NOT_APPLICABLE));
    assert_false(elig_line(d, "_exists")->passed);
    th_result_clear(&r);

    struct {
        const char *programme, *ags, *as_of, *lang;
        int code;
        const char *field;
    } bad[] = {
        {"nrw-ki", "05111", "2019-01-01", "de", TH_FAILED_PRECONDITION, NULL},
        {"no-such", "05111", "", "de", TH_NOT_FOUND, NULL},
        {"nrw-ki", "0511", "", "de", TH_INVALID_ARGUMENT, "ags"},
        {"nrw-ki", "05999", "", "de", TH_INVALID_ARGUMENT, "ags"},
        {"nrw-ki", "05111", "2026-02-30", "de", TH_INVALID_ARGUMENT, "as_of"},
        {"nrw-ki", "05111", "", "fr", TH_INVALID_ARGUMENT, "lang"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const long long before =
            elig_count(&f->env, "SELECT count(*) FROM eligibility.decisions");
        assert_int_equal(
            elig_expect(elig_evaluate(f->ministry_nw, bad[i].programme, bad[i].ags,
                                      bad[i].as_of, bad[i].lang, &r),
                        &r, bad[i].code),
            bad[i].code);
        if (bad[i].field != NULL)
            assert_true(reg_has_violation(&r, bad[i].field));
        assert_true(r.message[0] != '\0');
        th_result_clear(&r);
        assert_int_equal(elig_count(&f->env, "SELECT count(*) FROM eligibility.decisions"),
                         before);
    }
}

/* --- rights ------------------------------------------------------------------------------
 */

static void
test_rights(void **state)
{
    s_fixture_t *f = *state;
    th_result_t r;
    assert_int_equal(elig_evaluate(f->analyst, "nrw-ki", "05111", "", "de", &r),
                     TH_PERMISSION_DENIED);
    th_result_clear(&r);
    /* The manager of 05111 is not assigned to Mettmann. */
    assert_int_equal(elig_evaluate(f->manager_nw, "nrw-ki", "05158", "", "de", &r),
                     TH_PERMISSION_DENIED);
    th_result_clear(&r);
    assert_int_equal(s_set_application(f->manager_nw, "nrw-ki", "05158", "", true, 1, &r),
                     TH_PERMISSION_DENIED);
    th_result_clear(&r);
    /* Thüringen's ministry decides no NRW programme. */
    assert_int_equal(elig_evaluate(f->ministry_th, "nrw-ki", "05111", "", "de", &r),
                     TH_PERMISSION_DENIED);
    th_result_clear(&r);
    /* An application for a programme of another Land. */
    assert_int_equal(s_set_application(f->ministry_th, "nrw-ki", "16068", "", true, 0, &r),
                     TH_FAILED_PRECONDITION);
    th_result_clear(&r);
    /* The analyst reads decisions. */
    Teilhabe__Eligibility__V1__ListDecisionsRequest l =
        TEILHABE__ELIGIBILITY__V1__LIST_DECISIONS_REQUEST__INIT;
    assert_int_equal(
        meas_call(f->analyst, ELIG_METHOD("ListDecisions"), &l.base,
                  &teilhabe__eligibility__v1__list_decisions_response__descriptor, 5000,
                  &r),
        TH_OK);
    assert_true(((const Teilhabe__Eligibility__V1__ListDecisionsResponse *) r.response)
                    ->n_decisions > 0);
    th_result_clear(&r);
    /* Thüringen's ministry reads NRW's decisions of a district: no. */
    l.ags = (char *) "05111";
    assert_int_equal(
        meas_call(f->ministry_th, ELIG_METHOD("ListDecisions"), &l.base,
                  &teilhabe__eligibility__v1__list_decisions_response__descriptor, 5000,
                  &r),
        TH_PERMISSION_DENIED);
    th_result_clear(&r);
}

/* --- batches
 * ------------------------------------------------------------------------------ */

static int
s_batch(th_client_t *c, const char *programme, const char *as_of, int page_size,
        const char *token, th_result_t *r)
{
    Teilhabe__Eligibility__V1__EvaluateBatchRequest req =
        TEILHABE__ELIGIBILITY__V1__EVALUATE_BATCH_REQUEST__INIT;
    req.programme_code = (char *) programme;
    req.as_of = (char *) as_of;
    req.page_size = page_size;
    req.page_token = (char *) (token != NULL ? token : "");
    return meas_call(c, ELIG_METHOD("EvaluateBatch"), &req.base,
                     &teilhabe__eligibility__v1__evaluate_batch_response__descriptor, 20000,
                     r);
}

static void
test_batch_pages(void **state)
{
    s_fixture_t *f = *state;
    th_result_t r;
    assert_int_equal(
        elig_expect(s_batch(f->ministry_nw, "nrw-ki", "2025-01-01", 20, NULL, &r), &r,
                    TH_OK),
        TH_OK);
    const Teilhabe__Eligibility__V1__EvaluateBatchResponse *b = (const void *) r.response;
    /* NRW's districts on that day, as the registry's own table counts them. */
    const long long districts = elig_count(
        &f->env, "SELECT count(*) FROM registry.districts WHERE state_code = '05' "
                 "AND valid_from <= '2025-01-01' "
                 "AND (valid_to IS NULL OR valid_to >= '2025-01-01')");
    assert_true(districts > 40);
    assert_int_equal(b->districts, districts);
    assert_int_equal(b->eligible, 2); /* 05111 and 05158 */
    assert_int_equal(b->not_eligible + b->eligible + b->not_applicable, b->districts);
    assert_int_equal(b->total_cents, (5LL * 57000 + 22500 + 50000) * 100 +
                                         (6LL * 57000 + 22500 + 50000) * 100);
    assert_int_equal(b->n_decisions, 20);
    char run[64], token[512];
    snprintf(run, sizeof run, "%s", b->run_id);
    snprintf(token, sizeof token, "%s", b->next_page_token);
    char last[6];
    snprintf(last, sizeof last, "%s", b->decisions[19]->ags);
    th_result_clear(&r);
    size_t seen = 20;
    while (token[0] != '\0') {
        assert_int_equal(s_batch(f->ministry_nw, "nrw-ki", "2025-01-01", 20, token, &r),
                         TH_OK);
        b = (const void *) r.response;
        assert_string_equal(b->run_id, run);
        assert_int_equal(b->districts, districts);
        assert_true(b->n_decisions > 0);
        assert_true(strcmp(b->decisions[0]->ags, last) > 0);
        snprintf(last, sizeof last, "%s", b->decisions[b->n_decisions - 1]->ags);
        seen += b->n_decisions;
        snprintf(token, sizeof token, "%s", b->next_page_token);
        th_result_clear(&r);
    }
    assert_int_equal(seen, (size_t) districts);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM eligibility.decisions WHERE run_id = '%s'", run);
    assert_int_equal(elig_count(&f->env, sql), districts);
    /* A ministry of another Land runs no NRW batch. */
    assert_int_equal(s_batch(f->ministry_bw, "nrw-ki", "2025-01-01", 20, NULL, &r),
                     TH_PERMISSION_DENIED);
    th_result_clear(&r);
}

static int
s_put_seekers(th_client_t *c, const char *ags, int64_t count, th_result_t *r)
{
    Teilhabe__Measures__V1__IndicatorValue v =
        TEILHABE__MEASURES__V1__INDICATOR_VALUE__INIT;
    v.ags = (char *) ags;
    v.indicator_code = (char *) "protection_seekers";
    v.period = (char *) "2024";
    v.disaggregation = TEILHABE__MEASURES__V1__DISAGGREGATION__DISAGGREGATION_TOTAL;
    v.numerator = count;
    v.source = (char *) "test figures";
    Teilhabe__Measures__V1__IndicatorValue *values[] = {&v};
    Teilhabe__Measures__V1__PutValuesRequest req =
        TEILHABE__MEASURES__V1__PUT_VALUES_REQUEST__INIT;
    req.values = values;
    req.n_values = 1;
    return meas_call(c, MEAS_METHOD("PutValues"), &req.base,
                     &teilhabe__measures__v1__put_values_response__descriptor, 10000, r);
}

/* The BW-style allocation: the whole budget, exactly, with the minimum. */
static void
test_allocation(void **state)
{
    s_fixture_t *f = *state;
    th_result_t r;
    const char *ags[] = {"08111", "08115", "08116"};
    const int64_t seekers[] = {1000, 3000, 2001};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(
            elig_expect(s_put_seekers(f->ministry_bw, ags[i], seekers[i], &r), &r, TH_OK),
            TH_OK);
        th_result_clear(&r);
    }
    assert_int_equal(elig_expect(s_batch(f->ministry_bw, "bw-integration-management",
                                         "2025-06-30", 100, NULL, &r),
                                 &r, TH_OK),
                     TH_OK);
    const Teilhabe__Eligibility__V1__EvaluateBatchResponse *b = (const void *) r.response;
    assert_int_equal(b->eligible, 3);
    assert_int_equal(b->total_cents, 58000000LL * 100);
    assert_true(b->illustrative);
    int64_t sum = 0;
    for (size_t i = 0; i < b->n_decisions; i++) {
        if (b->decisions[i]->outcome != S_OUT(ELIGIBLE))
            continue;
        assert_true(b->decisions[i]->entitlement_cents >= 51000LL * 100);
        sum += b->decisions[i]->entitlement_cents;
    }
    assert_int_equal(sum, 58000000LL * 100);
    th_result_clear(&r);

    /* One district's Evaluate decides the Land's run and verifies. */
    assert_int_equal(elig_evaluate(f->ministry_bw, "bw-integration-management", "08115",
                                   "2025-06-30", "de", &r),
                     TH_OK);
    const s_decision_t *d = (const void *) r.response;
    assert_int_equal(d->outcome, S_OUT(ELIGIBLE));
    assert_true(d->illustrative);
    char id[37];
    snprintf(id, sizeof id, "%s", d->id);
    const int64_t cents = d->entitlement_cents;
    th_result_clear(&r);
    Teilhabe__Eligibility__V1__GetDecisionRequest g =
        TEILHABE__ELIGIBILITY__V1__GET_DECISION_REQUEST__INIT;
    g.id = id;
    g.verify = true;
    assert_int_equal(meas_call(f->ministry_bw, ELIG_METHOD("GetDecision"), &g.base,
                               &teilhabe__eligibility__v1__decision__descriptor, 5000, &r),
                     TH_OK);
    assert_true(((const s_decision_t *) r.response)->verified);
    assert_int_equal(((const s_decision_t *) r.response)->entitlement_cents, cents);
    th_result_clear(&r);
}

/* A changed amount tried before it is published: every district's outcome
 * and amount next to the version in force; nothing stored. */
static void
test_dry_run(void **state)
{
    s_fixture_t *f = *state;
    th_result_t r;
    FILE *in = fopen(TH_SOURCE_DIR "/data/programmes/nrw-ki.yaml", "r");
    assert_non_null(in);
    static char text[64 * 1024];
    const size_t len = fread(text, 1, sizeof text - 1, in);
    fclose(in);
    text[len] = '\0';
    char *amount = strstr(text, "\"57000.00\"");
    assert_non_null(amount);
    memcpy(amount, "\"60000.00\"", 10);
    const long long before =
        elig_count(&f->env, "SELECT count(*) FROM eligibility.decisions");
    Teilhabe__Eligibility__V1__DryRunRuleSetRequest req =
        TEILHABE__ELIGIBILITY__V1__DRY_RUN_RULE_SET_REQUEST__INIT;
    req.text = text;
    req.as_of = (char *) "2025-01-01";
    assert_int_equal(
        elig_expect(
            meas_call(f->ministry_nw, ELIG_METHOD("DryRunRuleSet"), &req.base,
                      &teilhabe__eligibility__v1__dry_run_rule_set_response__descriptor,
                      20000, &r),
            &r, TH_OK),
        TH_OK);
    const Teilhabe__Eligibility__V1__DryRunRuleSetResponse *d = (const void *) r.response;
    assert_int_equal(d->current_version, 1);
    assert_int_equal(d->current_eligible, 2);
    assert_int_equal(d->new_eligible, 2);
    assert_int_equal(d->changed, 2);
    assert_int_equal(d->new_total_cents - d->current_total_cents, (5LL + 6) * 3000 * 100);
    th_result_clear(&r);
    assert_int_equal(elig_count(&f->env, "SELECT count(*) FROM eligibility.decisions"),
                     before);
    /* Not another Land's to try. */
    assert_int_equal(
        meas_call(f->ministry_th, ELIG_METHOD("DryRunRuleSet"), &req.base,
                  &teilhabe__eligibility__v1__dry_run_rule_set_response__descriptor, 20000,
                  &r),
        TH_PERMISSION_DENIED);
    th_result_clear(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_programmes),
        cmocka_unit_test(test_nrw_decision_and_whatif),
        cmocka_unit_test(test_decision_reproduces),
        cmocka_unit_test(test_not_applicable_and_bad_input),
        cmocka_unit_test(test_rights),
        cmocka_unit_test(test_batch_pages),
        cmocka_unit_test(test_allocation),
        cmocka_unit_test(test_dry_run),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
