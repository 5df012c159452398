/* ---------------------------------------------------------------------------
 * assessment.c: the process self-assessment: ListAssessmentQuestions,
 * SetAssessment (the whole assessment of a district and period at once,
 * with the version last read), GetAssessment.
 *
 * A district rates its own integration work on the questions of
 * measures.assessment_questions (0005_periods.sql), each on the ordinal
 * scale 1 to 4 with a comment. Written and read like indicator values:
 * the ministry of the Land or a manager of the district writes; whoever
 * reads the district's aggregates reads it; an approved period locks it.
 * ---------------------------------------------------------------------------
 */
#include "measures.h"

#include <czmq.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "teilhabe/v1/measures.pb-c.h"
#include "th_answer.h"
#include "th_auth.h"
#include "th_error.h"
#include "th_field.h"
#include "th_status.h"

static char *s_scale_de[] = {"1 = trifft nicht zu", "2 = trifft eher nicht zu",
                             "3 = trifft eher zu", "4 = trifft voll zu"};
static char *s_scale_en[] = {"1 = not at all", "2 = rather not", "3 = largely",
                             "4 = fully"};

MEASURES_HANDLER(measures_assessment_questions)
{
    (void) request;
    int rc = th_auth_need_principal(call);
    if (rc != TH_OK)
        return rc;
    Teilhabe__Measures__V1__ListAssessmentQuestionsResponse *resp =
        th_call_alloc(call, sizeof *resp);
    teilhabe__measures__v1__list_assessment_questions_response__init(resp);
    if (measures_store_questions(call, &resp->questions, &resp->n_questions) != 0)
        return th_answer_db_failure(call, "read the questions");
    resp->scale_de = s_scale_de;
    resp->n_scale_de = 4;
    resp->scale_en = s_scale_en;
    resp->n_scale_en = 4;
    *response = &resp->base;
    return TH_OK;
}

/* The stored assessment, or an empty one (version 0) when there is none. */
static int
s_read(th_call_t *call, const char *ags, const char *period, bool for_update,
       assessment_t **out)
{
    int rc = measures_store_get_assessment(call, ags, period, for_update, out);
    if (rc == TH_ENOTFOUND) {
        assessment_t *a = th_call_alloc(call, sizeof *a);
        teilhabe__measures__v1__assessment__init(a);
        a->ags = (char *) ags;
        a->period = (char *) period;
        *out = a;
        return TH_OK;
    }
    if (rc != 0)
        return th_answer_db_failure(call, "read the self-assessment");
    return TH_OK;
}

MEASURES_HANDLER(measures_assessment_get)
{
    const Teilhabe__Measures__V1__GetAssessmentRequest *req = (const void *) request;
    char first[TH_DATE_LEN + 1], last[TH_DATE_LEN + 1];
    int rc;
    if ((rc = th_auth_need_principal(call)) != TH_OK ||
        (rc = measures_check_period(call, "ags", req->ags, "period", req->period, first,
                                    last)) != TH_OK ||
        (rc = measures_need_reader(call, req->ags, false, "the self-assessment")) != TH_OK)
        return rc;
    assessment_t *a = NULL;
    if ((rc = s_read(call, req->ags, req->period, false, &a)) != TH_OK)
        return rc;
    *response = &a->base;
    return TH_OK;
}

/* Every answer of req checked against the questions: a known code, once,
 * a rating of 1 to 4, a comment of at most MEASURES_COMMENT_MAX. Fills
 * rows' arrays. */
static int
s_check_answers(th_call_t *call, const Teilhabe__Measures__V1__SetAssessmentRequest *req,
                measures_assessment_rows_t *rows)
{
    question_t **questions = NULL;
    size_t n_questions = 0;
    if (measures_store_questions(call, &questions, &n_questions) != 0)
        return th_answer_db_failure(call, "read the questions");
    const size_t n = req->n_answers;
    int rc;
    if (n == 0)
        return th_answer_invalid(call, "answers",
                                 "rate at least one question (ListAssessmentQuestions "
                                 "shows them)");
    if ((rc = th_field_list_size(call, "answers", n, n_questions)) != TH_OK)
        return rc;
    rows->codes = th_call_alloc(call, n * sizeof(char *));
    rows->ratings = th_call_alloc(call, n * sizeof(char *));
    rows->comments = th_call_alloc(call, n * sizeof(char *));
    rows->n = n;
    for (size_t i = 0; i < n; i++) {
        const answer_t *a = req->answers[i];
        bool known = false;
        for (size_t q = 0; q < n_questions && !known; q++)
            known = strcmp(questions[q]->code, a->question_code) == 0;
        if (!known) {
            char codes[1024] = "";
            for (size_t q = 0; q < n_questions; q++)
                snprintf(codes + strlen(codes), sizeof codes - strlen(codes), "%s%s",
                         q > 0 ? ", " : "", questions[q]->code);
            return th_answer_invalid(
                call, th_call_printf(call, "answers[%zu].question_code", i),
                "\"%.64s\" is not a question of the self-assessment; one of %s",
                a->question_code, codes);
        }
        for (size_t k = 0; k < i; k++)
            if (strcmp(req->answers[k]->question_code, a->question_code) == 0)
                return th_answer_invalid(
                    call, th_call_printf(call, "answers[%zu].question_code", i),
                    "rates question %s a second time (answers[%zu] did)", a->question_code,
                    k);
        if ((rc = th_field_range(call, th_call_printf(call, "answers[%zu].rating", i),
                                 a->rating, 1, 4)) != TH_OK ||
            (rc = th_field_paragraphs(call, th_call_printf(call, "answers[%zu].comment", i),
                                      a->comment, 0, MEASURES_COMMENT_MAX)) != TH_OK)
            return rc;
        rows->codes[i] = a->question_code;
        rows->ratings[i] = th_call_printf(call, "%d", (int) a->rating);
        rows->comments[i] = a->comment;
    }
    return TH_OK;
}

/* True when req gives exactly the answers stored in a (in any order). */
static bool
s_same(const assessment_t *a, const Teilhabe__Measures__V1__SetAssessmentRequest *req)
{
    if (a->version == 0 || a->n_answers != req->n_answers)
        return false;
    for (size_t i = 0; i < req->n_answers; i++) {
        const answer_t *want = req->answers[i];
        bool found = false;
        for (size_t k = 0; k < a->n_answers && !found; k++)
            found = strcmp(a->answers[k]->question_code, want->question_code) == 0 &&
                    a->answers[k]->rating == want->rating &&
                    strcmp(a->answers[k]->comment, want->comment) == 0;
        if (!found)
            return false;
    }
    return true;
}

MEASURES_HANDLER(measures_assessment_set)
{
    const Teilhabe__Measures__V1__SetAssessmentRequest *req = (const void *) request;
    const char *right =
        th_call_printf(call, "rating the integration work of district %s", req->ags);
    char first[TH_DATE_LEN + 1], last[TH_DATE_LEN + 1];
    measures_assessment_rows_t rows = {.ags = req->ags, .period = req->period};
    int rc;
    if ((rc = measures_need_writer(call, right)) != TH_OK ||
        (rc = measures_check_period(call, "ags", req->ags, "period", req->period, first,
                                    last)) != TH_OK ||
        (rc = th_field_range(call, "version", req->version, 0, INT64_MAX)) != TH_OK ||
        (rc = s_check_answers(call, req, &rows)) != TH_OK ||
        (rc = measures_check_write(call, "ags", req->ags, last, right)) != TH_OK)
        return rc;

    TH_CALL_BEGIN_WRITE(call);
    char *ags[] = {req->ags}, *firsts[] = {first}, *lasts[] = {last};
    if ((rc = measures_check_unlocked(call, ags, firsts, lasts, 1)) != TH_OK)
        return rc;
    assessment_t *before = NULL, *after = NULL;
    if ((rc = s_read(call, req->ags, req->period, true, &before)) != TH_OK)
        return rc;
    if (before->version != req->version)
        return th_call_error(call, TH_FAILED_PRECONDITION,
                             "the self-assessment of district %s for %s is at version %" PRId64
                             ", not %" PRId64 "; read it again (GetAssessment) and retry",
                             req->ags, req->period, before->version, req->version);
    if (s_same(before, req)) {
        /* As stored: nothing to write, no new version, no event. */
        *response = &before->base;
        return TH_OK;
    }
    rows.first = first;
    rows.last = last;
    rows.version = before->version + 1;
    rc = measures_store_set_assessment(call, &rows, th_call_principal(call)->id);
    if (rc == TH_ESTATE)
        return th_call_error(call, TH_FAILED_PRECONDITION,
                             "the self-assessment of district %s for %s was written meanwhile; "
                             "read it again (GetAssessment) and retry",
                             req->ags, req->period);
    if (rc != 0)
        return th_answer_db_failure(call, "write the self-assessment");
    if ((rc = s_read(call, req->ags, req->period, false, &after)) != TH_OK)
        return rc;
    if ((rc = th_call_record(
             call, th_call_printf(call, "districts/%s/assessments/%s", req->ags, req->period),
             before->version > 0 ? &before->base : NULL, &after->base, "assessment.set",
             &after->base)) != TH_OK)
        return rc;
    *response = &after->base;
    return TH_OK;
}
