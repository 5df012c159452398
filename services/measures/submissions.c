/* ---------------------------------------------------------------------------
 * submissions.c: the submission and approval of a district's period:
 * Submit, Approve, ReturnSubmission, Reopen (one move each, from the
 * version last read), GetSubmission and ListSubmissions.
 *
 *   draft -> submitted -> approved
 *   submitted -> returned (with a reason) -> submitted
 *   approved -> reopened -> submitted
 *
 * Submit: the ministry of the Land or a manager of the district (asked of
 * the registry, like every write of the district's figures); Approve,
 * ReturnSubmission and Reopen: the ministry of the Land only. While a
 * period is approved its figures are locked (periods.c). A draft is no
 * row: GetSubmission answers it with version 0, and ListSubmissions asks
 * the registry for the Land's districts so that the districts without a
 * submission show as drafts.
 * ---------------------------------------------------------------------------
 */
#include "measures.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "teilhabe/v1/measures.pb-c.h"
#include "teilhabe/v1/registry.pb-c.h"
#include "th_answer.h"
#include "th_auth.h"
#include "th_enum.h"
#include "th_error.h"
#include "th_field.h"
#include "th_status.h"

#define S_DRAFT TEILHABE__MEASURES__V1__SUBMISSION_STATUS__SUBMISSION_STATUS_DRAFT
#define S_SUBMITTED TEILHABE__MEASURES__V1__SUBMISSION_STATUS__SUBMISSION_STATUS_SUBMITTED
#define S_APPROVED TEILHABE__MEASURES__V1__SUBMISSION_STATUS__SUBMISSION_STATUS_APPROVED
#define S_RETURNED TEILHABE__MEASURES__V1__SUBMISSION_STATUS__SUBMISSION_STATUS_RETURNED
#define S_REOPENED TEILHABE__MEASURES__V1__SUBMISSION_STATUS__SUBMISSION_STATUS_REOPENED

#define S_MOVES                                                                            \
    "draft -> submitted (Submit), submitted -> approved (Approve), submitted -> returned " \
    "(ReturnSubmission), returned -> submitted (Submit), approved -> reopened (Reopen), "  \
    "reopened -> submitted (Submit)"

/* One move: the method, the status it leads to and those it leads from. */
typedef struct {
    const char *name;  /* for messages: "submitting" */
    int to;            /* the status moved to */
    int from[3];       /* the statuses it moves from (0 ends the list) */
    bool ministry;     /* only the ministry of the Land */
    int reason;        /* 0 = none allowed, 1 = optional, 2 = required */
} s_move_t;

static const s_move_t s_submit = {"submitting", S_SUBMITTED, {S_DRAFT, S_RETURNED, S_REOPENED},
                                  false, 0};
static const s_move_t s_approve = {"approving", S_APPROVED, {S_SUBMITTED, 0, 0}, true, 0};
static const s_move_t s_return = {"returning", S_RETURNED, {S_SUBMITTED, 0, 0}, true, 2};
static const s_move_t s_reopen = {"reopening", S_REOPENED, {S_APPROVED, 0, 0}, true, 1};

static const char *
s_token(th_call_t *call, int status)
{
    char token[TH_ENUM_TEXT_SIZE];
    return th_call_strdup(call,
                          th_enum_token(&teilhabe__measures__v1__submission_status__descriptor,
                                        status, token, sizeof token));
}

/* A draft: what a district and period without a row is. */
static submission_t *
s_draft(th_call_t *call, const char *ags, const char *period)
{
    submission_t *s = th_call_alloc(call, sizeof *s);
    teilhabe__measures__v1__submission__init(s);
    s->ags = (char *) ags;
    s->state_code = th_call_printf(call, "%.2s", ags);
    s->period = (char *) period;
    s->status = S_DRAFT;
    return s;
}

static int
s_move(th_call_t *call, const Teilhabe__Measures__V1__SubmissionMoveRequest *req,
       const s_move_t *move, ProtobufCMessage **response)
{
    const char *right = th_call_printf(call, "%s the period %s of district %s", move->name,
                                       req->period, req->ags);
    char first[TH_DATE_LEN + 1], last[TH_DATE_LEN + 1], land[3];
    int rc;
    if ((rc = measures_need_writer(call, right)) != TH_OK ||
        (rc = measures_check_period(call, "ags", req->ags, "period", req->period, first,
                                    last)) != TH_OK ||
        (rc = th_field_range(call, "version", req->version, 0, INT64_MAX)) != TH_OK)
        return rc;
    if (move->reason == 0 && req->reason[0] != '\0')
        return th_answer_invalid(call, "reason",
                                 "only ReturnSubmission and Reopen take a reason");
    if (move->reason > 0 &&
        (rc = th_field_paragraphs(call, "reason", req->reason, move->reason == 2 ? 1 : 0,
                                  MEASURES_COMMENT_MAX)) != TH_OK)
        return rc;
    snprintf(land, sizeof land, "%.2s", req->ags);
    if (move->ministry)
        rc = th_auth_need_ministry_of(call, land, right);
    else
        rc = measures_check_write(call, "ags", req->ags, last, right);
    if (rc != TH_OK)
        return rc;

    TH_CALL_BEGIN_WRITE(call);
    submission_t *before = NULL, *after = NULL;
    rc = measures_store_get_submission(call, req->ags, req->period, true, &before);
    if (rc == TH_ENOTFOUND)
        before = NULL;
    else if (rc != 0)
        return th_answer_db_failure(call, "read the submission");
    const int64_t version = before != NULL ? before->version : 0;
    const int status = before != NULL ? (int) before->status : S_DRAFT;
    if (version != req->version)
        return th_call_error(call, TH_FAILED_PRECONDITION,
                             "the submission of district %s for %s is at version %" PRId64
                             ", not %" PRId64 "; read it again (GetSubmission) and retry",
                             req->ags, req->period, version, req->version);
    bool allowed = false;
    for (size_t i = 0; i < 3 && move->from[i] != 0; i++)
        allowed = allowed || move->from[i] == status;
    if (!allowed)
        return th_call_error(call, TH_FAILED_PRECONDITION,
                             "the period %s of district %s is %s and cannot move to %s; the "
                             "moves are: " S_MOVES,
                             req->period, req->ags, s_token(call, status),
                             s_token(call, move->to));
    const measures_move_t mv = {
        .ags = req->ags,
        .period = req->period,
        .first = first,
        .last = last,
        .status = s_token(call, move->to),
        .reason = move->reason > 0 ? req->reason : "",
        .by = th_call_principal(call)->id,
        .version = version,
    };
    rc = measures_store_move_submission(call, &mv, &after);
    if (rc == TH_ESTATE)
        return th_call_error(call, TH_FAILED_PRECONDITION,
                             "the submission of district %s for %s changed meanwhile; read it "
                             "again (GetSubmission) and retry",
                             req->ags, req->period);
    if (rc != 0)
        return th_answer_db_failure(call, "write the submission");
    if ((rc = th_call_record(
             call, th_call_printf(call, "districts/%s/submissions/%s", req->ags, req->period),
             before != NULL ? &before->base : NULL, &after->base,
             th_call_printf(call, "submission.%s", mv.status), &after->base)) != TH_OK)
        return rc;
    *response = &after->base;
    return TH_OK;
}

MEASURES_HANDLER(measures_submission_submit)
{
    return s_move(call, (const void *) request, &s_submit, response);
}

MEASURES_HANDLER(measures_submission_approve)
{
    return s_move(call, (const void *) request, &s_approve, response);
}

MEASURES_HANDLER(measures_submission_return)
{
    return s_move(call, (const void *) request, &s_return, response);
}

MEASURES_HANDLER(measures_submission_reopen)
{
    return s_move(call, (const void *) request, &s_reopen, response);
}

MEASURES_HANDLER(measures_submission_get)
{
    const Teilhabe__Measures__V1__GetSubmissionRequest *req = (const void *) request;
    char first[TH_DATE_LEN + 1], last[TH_DATE_LEN + 1];
    int rc;
    if ((rc = th_auth_need_principal(call)) != TH_OK ||
        (rc = measures_check_period(call, "ags", req->ags, "period", req->period, first,
                                    last)) != TH_OK ||
        (rc = measures_need_reader(call, req->ags, true, "the submissions")) != TH_OK)
        return rc;
    submission_t *s = NULL;
    rc = measures_store_get_submission(call, req->ags, req->period, false, &s);
    if (rc == TH_ENOTFOUND)
        s = s_draft(call, req->ags, req->period);
    else if (rc != 0)
        return th_answer_db_failure(call, "read the submission");
    *response = &s->base;
    return TH_OK;
}

/* The districts of Land state_code that exist on day, asked of the
 * registry (all fit one page of ListDistricts). */
static int
s_districts(th_call_t *call, const char *state_code, const char *day,
            const Teilhabe__Registry__V1__ListDistrictsResponse **out)
{
    Teilhabe__Registry__V1__ListDistrictsRequest req =
        TEILHABE__REGISTRY__V1__LIST_DISTRICTS_REQUEST__INIT;
    req.state_code = (char *) state_code;
    req.as_of = (char *) day;
    req.page_size = 500;
    const th_result_t *r = NULL;
    int rc = th_call_invoke(call, "teilhabe.registry.v1.Registry/ListDistricts", &req.base,
                            &teilhabe__registry__v1__list_districts_response__descriptor, &r);
    if (rc != TH_OK)
        return rc;
    *out = (const void *) r->response;
    return TH_OK;
}

MEASURES_HANDLER(measures_submission_list)
{
    const Teilhabe__Measures__V1__ListSubmissionsRequest *req = (const void *) request;
    const ProtobufCEnumDescriptor *st = &teilhabe__measures__v1__submission_status__descriptor;
    char first[TH_DATE_LEN + 1], last[TH_DATE_LEN + 1];
    int rc;
    if ((rc = th_auth_need_principal(call)) != TH_OK ||
        (rc = th_field_land(call, "state_code", req->state_code, false)) != TH_OK ||
        (rc = measures_check_period(call, NULL, NULL, "period", req->period, first, last)) !=
            TH_OK ||
        (rc = th_field_enum(call, "status", st, (int) req->status, false)) != TH_OK)
        return rc;
    const th_principal_t *p = th_call_principal(call);
    if (!th_auth_reads_records(p, req->state_code))
        return th_auth_deny(
            call, th_call_printf(call, "reading the submissions of Land %s", req->state_code),
            th_call_printf(call, "role admin, or ministry, manager or service of Land %s",
                           req->state_code));
    submission_t **stored = NULL;
    size_t n_stored = 0;
    if (measures_store_list_submissions(call, req->state_code, req->period, &stored,
                                        &n_stored) != 0)
        return th_answer_db_failure(call, "list the submissions");
    const Teilhabe__Registry__V1__ListDistrictsResponse *d = NULL;
    if ((rc = s_districts(call, req->state_code, last, &d)) != TH_OK)
        return rc;
    /* Both are ordered by AGS: merged, every district once. */
    Teilhabe__Measures__V1__ListSubmissionsResponse *resp = th_call_alloc(call, sizeof *resp);
    teilhabe__measures__v1__list_submissions_response__init(resp);
    resp->submissions = th_call_alloc(call, (d->n_districts + n_stored + 1) * sizeof(void *));
    size_t i = 0, k = 0;
    while (i < d->n_districts || k < n_stored) {
        int cmp = i >= d->n_districts ? 1
                  : k >= n_stored     ? -1
                                      : strcmp(d->districts[i]->ags, stored[k]->ags);
        submission_t *s = cmp < 0 ? s_draft(call, d->districts[i]->ags, req->period) : stored[k];
        if (cmp <= 0)
            s->district_name = th_call_strdup(call, d->districts[i]->name);
        i += cmp <= 0;
        k += cmp >= 0;
        switch ((int) s->status) {
        case S_DRAFT: resp->drafts++; break;
        case S_SUBMITTED: resp->submitted++; break;
        case S_APPROVED: resp->approved++; break;
        case S_RETURNED: resp->returned++; break;
        case S_REOPENED: resp->reopened++; break;
        default: break;
        }
        if (req->status == 0 || (int) req->status == (int) s->status)
            resp->submissions[resp->n_submissions++] = s;
    }
    *response = &resp->base;
    return TH_OK;
}
