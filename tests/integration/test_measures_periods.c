/* ---------------------------------------------------------------------------
 * test_measures_periods.c: the per-period records of the measures service
 * against the real stack (PostgreSQL, broker, registry, measures): the
 * process self-assessment, the reach of a measure, and the submission and
 * approval of a period with the lock it puts on the district's figures.
 *
 * Sömmerda (16068) is the district under test; its manager's key names it.
 * The tests run in order: the approval flow leaves 16068's 2024 reopened,
 * which the list test counts, and the last test stops the registry.
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "measures_csv.h"
#include "measures_env.h"

typedef Teilhabe__Measures__V1__Submission s_submission_t;
typedef Teilhabe__Measures__V1__Assessment s_assessment_t;
typedef Teilhabe__Measures__V1__Reach s_reach_t;

#define S_ST(x) TEILHABE__MEASURES__V1__SUBMISSION_STATUS__SUBMISSION_STATUS_##x

typedef struct {
    measures_env_t env;
    th_client_t *ministry;    /* Thüringen */
    th_client_t *ministry_by; /* Bayern */
    th_client_t *analyst;     /* federal */
    th_client_t *analyst_th;  /* of Thüringen */
    th_client_t *soemmerda;   /* manager-soemmerda: 16068 */
    th_client_t *gotha;       /* manager-gotha: 16067 */
    char measure[37];         /* a measure of 16068, from 2024-01-01 */
} s_fixture_t;

static int
s_setup(void **state)
{
    s_fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    *state = f;
    if (measures_env_start(&f->env, "measper") != 0)
        return -1;
    f->ministry = meas_client(&f->env, "ministry-th");
    f->ministry_by = meas_client(&f->env, "ministry-by");
    f->analyst = meas_client(&f->env, "analyst");
    f->analyst_th = meas_client(&f->env, "analyst-th");
    f->soemmerda = meas_client(&f->env, "manager-soemmerda");
    f->gotha = meas_client(&f->env, "manager-gotha");
    if (meas_seed_measure(&f->env, "16068", "Sprachcafé für alle", "language", "active",
                          f->measure) != 0)
        return -1;
    return f->ministry && f->ministry_by && f->analyst && f->analyst_th && f->soemmerda &&
                   f->gotha
               ? 0
               : -1;
}

static int
s_teardown(void **state)
{
    s_fixture_t *f = *state;
    th_client_t **clients[] = {&f->ministry,   &f->ministry_by, &f->analyst,
                               &f->analyst_th, &f->soemmerda,   &f->gotha};
    for (size_t i = 0; i < sizeof clients / sizeof clients[0]; i++)
        th_client_destroy(clients[i]);
    const bool clean = measures_env_stop(&f->env);
    free(f);
    return clean ? 0 : -1;
}

/* The call's status, printed with its message when it is not expected. */
static int
s_expect(int code, th_result_t *r, int expected)
{
    if (code != expected)
        fprintf(stderr, "expected %s, got %s: %s\n", th_status_name(expected),
                th_status_name(code), r->message != NULL ? r->message : "");
    return code;
}

/* The first violation names field. */
static void
s_violation(const th_result_t *r, const char *field)
{
    if (r->n_violations == 0 || strcmp(r->violations[0].field, field) != 0)
        fail_msg("expected a violation of %s; got %s (%s)", field,
                 r->n_violations > 0 ? r->violations[0].field : "none",
                 r->message != NULL ? r->message : "");
}

/* --- calls ----------------------------------------------------------------- */

static int
s_set_assessment(th_client_t *c, const char *ags, const char *period,
                 Teilhabe__Measures__V1__AssessmentAnswer **answers, size_t n, int64_t version,
                 th_result_t *r)
{
    Teilhabe__Measures__V1__SetAssessmentRequest req =
        TEILHABE__MEASURES__V1__SET_ASSESSMENT_REQUEST__INIT;
    req.ags = (char *) ags;
    req.period = (char *) period;
    req.answers = answers;
    req.n_answers = n;
    req.version = version;
    return meas_call(c, MEAS_METHOD("SetAssessment"), &req.base,
                     &teilhabe__measures__v1__assessment__descriptor, 5000, r);
}

static int
s_get_assessment(th_client_t *c, const char *ags, const char *period, th_result_t *r)
{
    Teilhabe__Measures__V1__GetAssessmentRequest req =
        TEILHABE__MEASURES__V1__GET_ASSESSMENT_REQUEST__INIT;
    req.ags = (char *) ags;
    req.period = (char *) period;
    return meas_call(c, MEAS_METHOD("GetAssessment"), &req.base,
                     &teilhabe__measures__v1__assessment__descriptor, 5000, r);
}

static int
s_set_reach(th_client_t *c, const char *measure, const char *period, int64_t total,
            int64_t with, int64_t without, int64_t version, th_result_t *r)
{
    s_reach_t reach = TEILHABE__MEASURES__V1__REACH__INIT;
    reach.measure_id = (char *) measure;
    reach.period = (char *) period;
    reach.participants_total = total;
    reach.with_migration_history = with;
    reach.without_migration_history = without;
    Teilhabe__Measures__V1__SetReachRequest req = TEILHABE__MEASURES__V1__SET_REACH_REQUEST__INIT;
    req.reach = &reach;
    req.version = version;
    return meas_call(c, MEAS_METHOD("SetReach"), &req.base,
                     &teilhabe__measures__v1__reach__descriptor, 5000, r);
}

static int
s_move(th_client_t *c, const char *method, const char *ags, const char *period,
       int64_t version, const char *reason, th_result_t *r)
{
    Teilhabe__Measures__V1__SubmissionMoveRequest req =
        TEILHABE__MEASURES__V1__SUBMISSION_MOVE_REQUEST__INIT;
    req.ags = (char *) ags;
    req.period = (char *) period;
    req.version = version;
    req.reason = (char *) (reason != NULL ? reason : "");
    return meas_call(c, method, &req.base, &teilhabe__measures__v1__submission__descriptor,
                     5000, r);
}

static int
s_get_submission(th_client_t *c, const char *ags, const char *period, th_result_t *r)
{
    Teilhabe__Measures__V1__GetSubmissionRequest req =
        TEILHABE__MEASURES__V1__GET_SUBMISSION_REQUEST__INIT;
    req.ags = (char *) ags;
    req.period = (char *) period;
    return meas_call(c, MEAS_METHOD("GetSubmission"), &req.base,
                     &teilhabe__measures__v1__submission__descriptor, 5000, r);
}

/* One indicator value (sgb2_share, total) of ags in period. */
static int
s_put_value(th_client_t *c, const char *ags, const char *period, int64_t numerator,
            th_result_t *r)
{
    Teilhabe__Measures__V1__IndicatorValue v = TEILHABE__MEASURES__V1__INDICATOR_VALUE__INIT;
    v.ags = (char *) ags;
    v.indicator_code = "sgb2_share";
    v.period = (char *) period;
    v.disaggregation = TEILHABE__MEASURES__V1__DISAGGREGATION__DISAGGREGATION_TOTAL;
    v.numerator = numerator;
    v.denominator = 56000;
    Teilhabe__Measures__V1__IndicatorValue *values[] = {&v};
    Teilhabe__Measures__V1__PutValuesRequest req = TEILHABE__MEASURES__V1__PUT_VALUES_REQUEST__INIT;
    req.values = values;
    req.n_values = 1;
    return meas_call(c, MEAS_METHOD("PutValues"), &req.base,
                     &teilhabe__measures__v1__put_values_response__descriptor, 5000, r);
}

/* --- self-assessment ------------------------------------------------------ */

static void
test_assessment(void **state)
{
    s_fixture_t *f = *state;
    th_result_t r;
    Teilhabe__Measures__V1__ListAssessmentQuestionsRequest lq =
        TEILHABE__MEASURES__V1__LIST_ASSESSMENT_QUESTIONS_REQUEST__INIT;
    assert_int_equal(
        meas_call(f->analyst, MEAS_METHOD("ListAssessmentQuestions"), &lq.base,
                  &teilhabe__measures__v1__list_assessment_questions_response__descriptor,
                  5000, &r),
        TH_OK);
    const Teilhabe__Measures__V1__ListAssessmentQuestionsResponse *q = (const void *) r.response;
    assert_int_equal(q->n_questions, 8);
    assert_string_equal(q->questions[0]->code, "shared_understanding");
    assert_int_equal(q->n_scale_de, 4);
    assert_int_equal(q->n_scale_en, 4);
    th_result_clear(&r);

    /* None yet: version 0, no answers. */
    assert_int_equal(s_get_assessment(f->analyst_th, "16068", "2024", &r), TH_OK);
    assert_int_equal(((const s_assessment_t *) r.response)->version, 0);
    assert_int_equal(((const s_assessment_t *) r.response)->n_answers, 0);
    th_result_clear(&r);

    Teilhabe__Measures__V1__AssessmentAnswer a1 = TEILHABE__MEASURES__V1__ASSESSMENT_ANSWER__INIT;
    Teilhabe__Measures__V1__AssessmentAnswer a2 = TEILHABE__MEASURES__V1__ASSESSMENT_ANSWER__INIT;
    a1.question_code = "no_competition";
    a1.rating = 2;
    a1.comment = "Konkurrenz um Wohnraum wird oft genannt.";
    a2.question_code = "shared_understanding";
    a2.rating = 3;
    Teilhabe__Measures__V1__AssessmentAnswer *answers[] = {&a1, &a2};
    assert_int_equal(s_set_assessment(f->soemmerda, "16068", "2024", answers, 2, 0, &r), TH_OK);
    assert_int_equal(((const s_assessment_t *) r.response)->version, 1);
    th_result_clear(&r);
    assert_int_equal(s_get_assessment(f->analyst_th, "16068", "2024", &r), TH_OK);
    const s_assessment_t *got = (const void *) r.response;
    assert_int_equal(got->n_answers, 2);
    /* In the order of the questions, not of the request. */
    assert_string_equal(got->answers[0]->question_code, "shared_understanding");
    assert_int_equal(got->answers[1]->rating, 2);
    assert_string_equal(got->answers[1]->comment, "Konkurrenz um Wohnraum wird oft genannt.");
    assert_non_null(strstr(got->updated_by, "soemmerda"));
    th_result_clear(&r);

    /* A stale version, bad answers, other districts and roles: refused,
     * nothing written. */
    const long long rows =
        meas_count(&f->env, "SELECT count(*) FROM measures.assessment_answers");
    assert_int_equal(s_expect(s_set_assessment(f->soemmerda, "16068", "2024", answers, 2, 0, &r),
                              &r, TH_FAILED_PRECONDITION),
                     TH_FAILED_PRECONDITION);
    assert_non_null(strstr(r.message, "version 1"));
    th_result_clear(&r);
    a1.question_code = "no_such_question";
    assert_int_equal(s_set_assessment(f->soemmerda, "16068", "2024", answers, 2, 1, &r),
                     TH_INVALID_ARGUMENT);
    s_violation(&r, "answers[0].question_code");
    assert_non_null(strstr(r.message, "services_accessible"));
    th_result_clear(&r);
    a1.question_code = "shared_understanding";
    assert_int_equal(s_set_assessment(f->soemmerda, "16068", "2024", answers, 2, 1, &r),
                     TH_INVALID_ARGUMENT);
    s_violation(&r, "answers[1].question_code");
    th_result_clear(&r);
    a1.question_code = "no_competition";
    a1.rating = 5;
    assert_int_equal(s_set_assessment(f->soemmerda, "16068", "2024", answers, 2, 1, &r),
                     TH_INVALID_ARGUMENT);
    s_violation(&r, "answers[0].rating");
    th_result_clear(&r);
    a1.rating = 0;
    assert_int_equal(s_set_assessment(f->soemmerda, "16068", "2024", answers, 2, 1, &r),
                     TH_INVALID_ARGUMENT);
    s_violation(&r, "answers[0].rating");
    th_result_clear(&r);
    a1.rating = 2;
    assert_int_equal(s_set_assessment(f->soemmerda, "16068", "2024Q5", answers, 2, 1, &r),
                     TH_INVALID_ARGUMENT);
    s_violation(&r, "period");
    th_result_clear(&r);
    assert_int_equal(s_set_assessment(f->soemmerda, "16068", "2024", answers, 0, 1, &r),
                     TH_INVALID_ARGUMENT);
    s_violation(&r, "answers");
    th_result_clear(&r);
    assert_int_equal(s_set_assessment(f->gotha, "16068", "2024", answers, 2, 1, &r),
                     TH_PERMISSION_DENIED);
    th_result_clear(&r);
    assert_int_equal(s_set_assessment(f->ministry_by, "16068", "2024", answers, 2, 1, &r),
                     TH_PERMISSION_DENIED);
    th_result_clear(&r);
    assert_int_equal(s_set_assessment(f->analyst_th, "16068", "2024", answers, 2, 1, &r),
                     TH_PERMISSION_DENIED);
    th_result_clear(&r);
    assert_int_equal(meas_count(&f->env, "SELECT count(*) FROM measures.assessment_answers"),
                     rows);
    /* Bayern's ministry reads no Thüringen district. */
    assert_int_equal(s_get_assessment(f->ministry_by, "16068", "2024", &r),
                     TH_PERMISSION_DENIED);
    th_result_clear(&r);

    /* The answers as stored, in another order: nothing written. */
    Teilhabe__Measures__V1__AssessmentAnswer *same[] = {&a2, &a1};
    assert_int_equal(s_set_assessment(f->soemmerda, "16068", "2024", same, 2, 1, &r), TH_OK);
    assert_int_equal(((const s_assessment_t *) r.response)->version, 1);
    th_result_clear(&r);
    /* The whole assessment is replaced: one answer left. */
    assert_int_equal(s_set_assessment(f->ministry, "16068", "2024", answers, 1, 1, &r), TH_OK);
    assert_int_equal(((const s_assessment_t *) r.response)->version, 2);
    assert_int_equal(((const s_assessment_t *) r.response)->n_answers, 1);
    th_result_clear(&r);
    assert_int_equal(meas_count(&f->env, "SELECT count(*) FROM measures.events WHERE topic = "
                                         "'assessment.set' AND resource = "
                                         "'districts/16068/assessments/2024'"),
                     2);
}

/* --- reach ---------------------------------------------------------------- */

static void
test_reach(void **state)
{
    s_fixture_t *f = *state;
    th_result_t r;
    assert_int_equal(s_set_reach(f->soemmerda, f->measure, "2024", 40, 25, 12, 0, &r), TH_OK);
    const s_reach_t *got = (const void *) r.response;
    assert_int_equal(got->version, 1);
    assert_string_equal(got->ags, "16068");
    assert_int_equal(got->participants_total, 40);
    th_result_clear(&r);

    /* The parts never above the total; counts never negative. */
    assert_int_equal(s_set_reach(f->soemmerda, f->measure, "2024", 40, 41, 0, 1, &r),
                     TH_INVALID_ARGUMENT);
    s_violation(&r, "reach.with_migration_history");
    th_result_clear(&r);
    assert_int_equal(s_set_reach(f->soemmerda, f->measure, "2024", 40, 30, 11, 1, &r),
                     TH_INVALID_ARGUMENT);
    s_violation(&r, "reach.without_migration_history");
    assert_non_null(strstr(r.message, "together"));
    th_result_clear(&r);
    assert_int_equal(s_set_reach(f->soemmerda, f->measure, "2024", -1, 0, 0, 1, &r),
                     TH_INVALID_ARGUMENT);
    s_violation(&r, "reach.participants_total");
    th_result_clear(&r);
    /* The measure began on 2024-01-01. */
    assert_int_equal(s_set_reach(f->soemmerda, f->measure, "2023S2", 4, 0, 0, 0, &r),
                     TH_INVALID_ARGUMENT);
    s_violation(&r, "reach.period");
    th_result_clear(&r);
    assert_int_equal(s_set_reach(f->soemmerda, f->measure, "2024", 40, 20, 20, 0, &r),
                     TH_FAILED_PRECONDITION);
    th_result_clear(&r);
    assert_int_equal(s_set_reach(f->gotha, f->measure, "2024", 40, 20, 20, 1, &r),
                     TH_PERMISSION_DENIED);
    th_result_clear(&r);
    assert_int_equal(s_set_reach(f->soemmerda, "3f2a9c4e-0b1d-4e8a-9c7f-2d5e6a7b8c9d", "2024",
                                 1, 0, 0, 0, &r),
                     TH_NOT_FOUND);
    th_result_clear(&r);
    assert_int_equal(s_set_reach(f->ministry, f->measure, "2024Q1", 10, 10, 0, 0, &r), TH_OK);
    th_result_clear(&r);
    /* Given again as stored: version 1 still, no second event. */
    assert_int_equal(s_set_reach(f->ministry, f->measure, "2024Q1", 10, 10, 0, 1, &r), TH_OK);
    assert_int_equal(((const s_reach_t *) r.response)->version, 1);
    th_result_clear(&r);
    assert_int_equal(meas_count(&f->env, "SELECT count(*) FROM measures.events WHERE topic = "
                                         "'reach.set' AND resource LIKE '%/reach/2024Q1'"),
                     1);
    /* A planned measure has reached nobody yet. */
    char planned[37];
    assert_int_equal(
        meas_seed_measure(&f->env, "16068", "Beratung geplant", "work_and_training", "planned",
                          planned),
        0);
    assert_int_equal(s_set_reach(f->soemmerda, planned, "2024", 1, 0, 0, 0, &r),
                     TH_FAILED_PRECONDITION);
    assert_non_null(strstr(r.message, "planned"));
    th_result_clear(&r);

    Teilhabe__Measures__V1__ListReachRequest lr = TEILHABE__MEASURES__V1__LIST_REACH_REQUEST__INIT;
    lr.measure_id = f->measure;
    assert_int_equal(meas_call(f->analyst_th, MEAS_METHOD("ListReach"), &lr.base,
                               &teilhabe__measures__v1__list_reach_response__descriptor, 5000,
                               &r),
                     TH_OK);
    const Teilhabe__Measures__V1__ListReachResponse *list = (const void *) r.response;
    assert_int_equal(list->n_reach, 2);
    assert_string_equal(list->reach[0]->period, "2024Q1"); /* by first day, the shorter first */
    assert_int_equal(list->reach[1]->with_migration_history, 25);
    th_result_clear(&r);
    lr.ags = "16068";
    assert_int_equal(meas_call(f->analyst_th, MEAS_METHOD("ListReach"), &lr.base,
                               &teilhabe__measures__v1__list_reach_response__descriptor, 5000,
                               &r),
                     TH_INVALID_ARGUMENT);
    th_result_clear(&r);
    lr.measure_id = "";
    lr.period = "2024";
    assert_int_equal(meas_call(f->analyst_th, MEAS_METHOD("ListReach"), &lr.base,
                               &teilhabe__measures__v1__list_reach_response__descriptor, 5000,
                               &r),
                     TH_OK);
    assert_int_equal(((const Teilhabe__Measures__V1__ListReachResponse *) r.response)->n_reach,
                     1);
    th_result_clear(&r);
    assert_int_equal(meas_call(f->ministry_by, MEAS_METHOD("ListReach"), &lr.base,
                               &teilhabe__measures__v1__list_reach_response__descriptor, 5000,
                               &r),
                     TH_PERMISSION_DENIED);
    th_result_clear(&r);
}

/* --- submission, approval, the lock ---------------------------------------- */

/* Every write of 16068's figures for period is locked (FAILED_PRECONDITION
 * naming the approval) when locked, else goes through. */
static void
s_expect_locked(s_fixture_t *f, const char *period, bool locked)
{
    th_result_t r;
    const int want = locked ? TH_FAILED_PRECONDITION : TH_OK;
    assert_int_equal(s_expect(s_put_value(f->soemmerda, "16068", period, 5000, &r), &r, want),
                     want);
    if (locked)
        assert_non_null(strstr(r.message, "approved by"));
    th_result_clear(&r);
    char csv[256];
    snprintf(csv, sizeof csv, MEAS_CSV_HEADER "16068,sgb2_share,%s,total,5100,56000,,\n",
             period);
    assert_int_equal(
        s_expect(meas_import(f->soemmerda, csv, strlen(csv), true, 10000, &r), &r, want), want);
    th_result_clear(&r);
    Teilhabe__Measures__V1__AssessmentAnswer a = TEILHABE__MEASURES__V1__ASSESSMENT_ANSWER__INIT;
    a.question_code = "concept_in_use";
    a.rating = 4;
    Teilhabe__Measures__V1__AssessmentAnswer *answers[] = {&a};
    assert_int_equal(s_get_assessment(f->soemmerda, "16068", period, &r), TH_OK);
    const int64_t version = ((const s_assessment_t *) r.response)->version;
    th_result_clear(&r);
    assert_int_equal(
        s_expect(s_set_assessment(f->soemmerda, "16068", period, answers, 1, version, &r), &r,
                 want),
        want);
    th_result_clear(&r);
}

static void
test_submission_and_approval(void **state)
{
    s_fixture_t *f = *state;
    th_result_t r;
    const char *by = NULL;
    assert_int_equal(s_get_submission(f->analyst_th, "16068", "2024", &r), TH_PERMISSION_DENIED);
    th_result_clear(&r);
    assert_int_equal(s_get_submission(f->soemmerda, "16068", "2024", &r), TH_OK);
    assert_int_equal(((const s_submission_t *) r.response)->status, S_ST(DRAFT));
    assert_int_equal(((const s_submission_t *) r.response)->version, 0);
    th_result_clear(&r);

    /* A draft cannot be approved; the message names the moves. */
    assert_int_equal(s_move(f->ministry, MEAS_METHOD("Approve"), "16068", "2024", 0, NULL, &r),
                     TH_FAILED_PRECONDITION);
    assert_non_null(strstr(r.message, "draft -> submitted"));
    th_result_clear(&r);
    assert_int_equal(s_move(f->gotha, MEAS_METHOD("Submit"), "16068", "2024", 0, NULL, &r),
                     TH_PERMISSION_DENIED);
    th_result_clear(&r);
    assert_int_equal(s_move(f->soemmerda, MEAS_METHOD("Submit"), "16068", "2024", 0, "x", &r),
                     TH_INVALID_ARGUMENT);
    s_violation(&r, "reason");
    th_result_clear(&r);
    assert_int_equal(s_move(f->soemmerda, MEAS_METHOD("Submit"), "16068", "2024", 0, NULL, &r),
                     TH_OK);
    assert_int_equal(((const s_submission_t *) r.response)->status, S_ST(SUBMITTED));
    assert_int_equal(((const s_submission_t *) r.response)->version, 1);
    assert_non_null(strstr(((const s_submission_t *) r.response)->submitted_by, "soemmerda"));
    th_result_clear(&r);
    /* Submitted: figures still open (only an approval locks). */
    s_expect_locked(f, "2024", false);
    assert_int_equal(s_move(f->soemmerda, MEAS_METHOD("Submit"), "16068", "2024", 1, NULL, &r),
                     TH_FAILED_PRECONDITION);
    th_result_clear(&r);
    /* Only the ministry of the Land decides. */
    assert_int_equal(s_move(f->soemmerda, MEAS_METHOD("Approve"), "16068", "2024", 1, NULL, &r),
                     TH_PERMISSION_DENIED);
    th_result_clear(&r);
    assert_int_equal(
        s_move(f->ministry_by, MEAS_METHOD("Approve"), "16068", "2024", 1, NULL, &r),
        TH_PERMISSION_DENIED);
    th_result_clear(&r);
    /* A return needs its reason. */
    assert_int_equal(
        s_move(f->ministry, MEAS_METHOD("ReturnSubmission"), "16068", "2024", 1, NULL, &r),
        TH_INVALID_ARGUMENT);
    s_violation(&r, "reason");
    th_result_clear(&r);
    assert_int_equal(s_move(f->ministry, MEAS_METHOD("ReturnSubmission"), "16068", "2024", 1,
                            "Die Reichweite für 2024 fehlt.", &r),
                     TH_OK);
    assert_int_equal(((const s_submission_t *) r.response)->status, S_ST(RETURNED));
    assert_string_equal(((const s_submission_t *) r.response)->reason,
                        "Die Reichweite für 2024 fehlt.");
    th_result_clear(&r);
    /* A stale version. */
    assert_int_equal(s_move(f->soemmerda, MEAS_METHOD("Submit"), "16068", "2024", 1, NULL, &r),
                     TH_FAILED_PRECONDITION);
    assert_non_null(strstr(r.message, "version 2"));
    th_result_clear(&r);
    assert_int_equal(s_move(f->soemmerda, MEAS_METHOD("Submit"), "16068", "2024", 2, NULL, &r),
                     TH_OK);
    assert_string_equal(((const s_submission_t *) r.response)->reason, "");
    th_result_clear(&r);
    assert_int_equal(s_move(f->ministry, MEAS_METHOD("Approve"), "16068", "2024", 3, NULL, &r),
                     TH_OK);
    const s_submission_t *s = (const void *) r.response;
    assert_int_equal(s->status, S_ST(APPROVED));
    assert_int_equal(s->version, 4);
    by = s->decided_by;
    assert_true(by[0] != '\0' && s->decide_time[0] != '\0');
    th_result_clear(&r);

    /* Approved: the year and every period within it are locked; other
     * years and other districts are not. */
    s_expect_locked(f, "2024", true);
    s_expect_locked(f, "2024Q3", true);
    s_expect_locked(f, "2024-05", true);
    s_expect_locked(f, "2023", false);
    assert_int_equal(s_set_reach(f->soemmerda, f->measure, "2024S2", 3, 1, 1, 0, &r),
                     TH_FAILED_PRECONDITION);
    th_result_clear(&r);
    assert_int_equal(s_put_value(f->ministry, "16067", "2024", 7000, &r), TH_OK);
    th_result_clear(&r);

    /* Reopened by the ministry only; then open again. */
    assert_int_equal(s_move(f->soemmerda, MEAS_METHOD("Reopen"), "16068", "2024", 4, NULL, &r),
                     TH_PERMISSION_DENIED);
    th_result_clear(&r);
    assert_int_equal(s_move(f->ministry, MEAS_METHOD("Reopen"), "16068", "2024", 4,
                            "Korrektur der SGB-II-Quote", &r),
                     TH_OK);
    assert_int_equal(((const s_submission_t *) r.response)->status, S_ST(REOPENED));
    th_result_clear(&r);
    s_expect_locked(f, "2024Q3", false);
    assert_int_equal(meas_count(&f->env, "SELECT count(*) FROM measures.events WHERE topic LIKE "
                                         "'submission.%' AND resource = "
                                         "'districts/16068/submissions/2024'"),
                     5);
    assert_int_equal(meas_count(&f->env, "SELECT count(*) FROM audit.log WHERE resource = "
                                         "'districts/16068/submissions/2024'"),
                     5);
}

static int
s_list(th_client_t *c, const char *state, const char *period, int status, th_result_t *r)
{
    Teilhabe__Measures__V1__ListSubmissionsRequest req =
        TEILHABE__MEASURES__V1__LIST_SUBMISSIONS_REQUEST__INIT;
    req.state_code = (char *) state;
    req.period = (char *) period;
    req.status = status;
    return meas_call(c, MEAS_METHOD("ListSubmissions"), &req.base,
                     &teilhabe__measures__v1__list_submissions_response__descriptor, 5000, r);
}

static void
test_list_submissions(void **state)
{
    s_fixture_t *f = *state;
    th_result_t r;
    /* Thüringen's 22 districts at the end of 2024: Sömmerda reopened. */
    assert_int_equal(s_list(f->ministry, "16", "2024", 0, &r), TH_OK);
    const Teilhabe__Measures__V1__ListSubmissionsResponse *l = (const void *) r.response;
    assert_int_equal(l->n_submissions, 22);
    assert_int_equal(l->drafts, 21);
    assert_int_equal(l->reopened, 1);
    assert_string_equal(l->submissions[0]->ags, "16051");
    assert_string_equal(l->submissions[0]->district_name, "Erfurt, Stadt");
    assert_int_equal(l->submissions[0]->status, S_ST(DRAFT));
    th_result_clear(&r);
    assert_int_equal(s_list(f->ministry, "16", "2024", S_ST(REOPENED), &r), TH_OK);
    l = (const void *) r.response;
    assert_int_equal(l->n_submissions, 1);
    assert_string_equal(l->submissions[0]->district_name, "Sömmerda");
    assert_int_equal(l->drafts, 21); /* the counts are the Land's, whatever the filter */
    th_result_clear(&r);
    /* In 2020 Eisenach (16056) was still a district of its own. */
    assert_int_equal(s_list(f->soemmerda, "16", "2020", 0, &r), TH_OK);
    assert_int_equal(((const Teilhabe__Measures__V1__ListSubmissionsResponse *) r.response)
                         ->n_submissions,
                     23);
    th_result_clear(&r);
    assert_int_equal(s_list(f->analyst, "16", "2024", 0, &r), TH_PERMISSION_DENIED);
    th_result_clear(&r);
    assert_int_equal(s_list(f->ministry_by, "16", "2024", 0, &r), TH_PERMISSION_DENIED);
    th_result_clear(&r);
    assert_int_equal(s_list(f->ministry, "", "2024", 0, &r), TH_INVALID_ARGUMENT);
    s_violation(&r, "state_code");
    th_result_clear(&r);
    assert_int_equal(s_list(f->ministry, "16", "", 0, &r), TH_INVALID_ARGUMENT);
    s_violation(&r, "period");
    th_result_clear(&r);
    assert_int_equal(s_list(f->ministry, "16", "2024", 9, &r), TH_INVALID_ARGUMENT);
    s_violation(&r, "status");
    th_result_clear(&r);
}

/* The registry stopped: what needs it is UNAVAILABLE, nothing is written;
 * the service's own reads still answer. */
static void
test_registry_down(void **state)
{
    s_fixture_t *f = *state;
    th_result_t r;
    assert_int_equal(th_proc_stop(&f->env.reg.registry, SIGTERM, 5000), 0);
    const long long before = meas_count(&f->env, "SELECT count(*) FROM measures.submissions");
    assert_int_equal(
        s_expect(s_move(f->soemmerda, MEAS_METHOD("Submit"), "16068", "2025", 0, NULL, &r), &r,
                 TH_UNAVAILABLE),
        TH_UNAVAILABLE);
    th_result_clear(&r);
    assert_int_equal(meas_count(&f->env, "SELECT count(*) FROM measures.submissions"), before);
    assert_int_equal(s_expect(s_list(f->ministry, "16", "2024", 0, &r), &r, TH_UNAVAILABLE),
                     TH_UNAVAILABLE);
    assert_non_null(strstr(r.message, "ListDistricts"));
    th_result_clear(&r);
    assert_int_equal(s_get_submission(f->ministry, "16068", "2024", &r), TH_OK);
    th_result_clear(&r);
    assert_int_equal(s_get_assessment(f->ministry, "16068", "2024", &r), TH_OK);
    th_result_clear(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_assessment),
        cmocka_unit_test(test_reach),
        cmocka_unit_test(test_submission_and_approval),
        cmocka_unit_test(test_list_submissions),
        cmocka_unit_test(test_registry_down),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
