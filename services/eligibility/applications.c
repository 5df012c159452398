/* ---------------------------------------------------------------------------
 * applications.c: SetApplicationFacts: what a district hands in for a
 * programme and neither the registry nor the measures service holds (the
 * council's decision, a work plan).
 *
 * Who may: the admin; the ministry of the district's Land; a manager
 * assigned to the district (its key's scope, or the registry's say today);
 * a service of that Land. The programme must exist and belong to the
 * district's Land; the district must be known to the registry and exist
 * today. Versions as everywhere: the version read (0 for the first); a
 * write that changes nothing stores nothing.
 * ---------------------------------------------------------------------------
 */
#include "eligibility.h"

#include <stdio.h>
#include <string.h>

#include "store.h"
#include "teilhabe/v1/registry.pb-c.h"
#include "th_answer.h"
#include "th_auth.h"
#include "th_error.h"
#include "th_field.h"
#include "th_status.h"

#define S_REGISTRY "teilhabe.registry.v1.Registry/"

/* Whether the caller may write for ags, asking the registry what only it
 * knows; and whether ags exists today. */
static int
s_check_district(th_call_t *call, const char *ags)
{
    const th_principal_t *p = th_call_principal(call);
    char land[3], today[TH_DATE_LEN + 1];
    snprintf(land, sizeof land, "%.2s", ags);
    th_date_today(today);
    Teilhabe__Registry__V1__GetDistrictRequest dreq =
        TEILHABE__REGISTRY__V1__GET_DISTRICT_REQUEST__INIT;
    dreq.ags = (char *) ags;
    dreq.as_of = today;
    const th_result_t *r = NULL;
    int rc = th_call_invoke(call, S_REGISTRY "GetDistrict", &dreq.base,
                            &teilhabe__registry__v1__district__descriptor, &r);
    if (rc == TH_INVALID_ARGUMENT || rc == TH_NOT_FOUND)
        return th_answer_field(call, rc, "application.ags", r->message, "%s", r->message);
    if (rc != TH_OK)
        return rc;
    bool assigned = false;
    if (th_auth_has_role(p, "manager") && th_auth_of_land(p, land) &&
        !th_auth_has_district(p, ags)) {
        Teilhabe__Registry__V1__CheckAssignmentRequest areq =
            TEILHABE__REGISTRY__V1__CHECK_ASSIGNMENT_REQUEST__INIT;
        areq.principal_id = (char *) p->id;
        areq.ags = (char *) ags;
        areq.as_of = today;
        rc = th_call_invoke(call, S_REGISTRY "CheckAssignment", &areq.base,
                            &teilhabe__registry__v1__check_assignment_response__descriptor,
                            &r);
        if (rc != TH_OK)
            return rc;
        assigned = ((const Teilhabe__Registry__V1__CheckAssignmentResponse *) r->response)
                       ->assigned;
    }
    if (!th_auth_writes_district(p, land, ags, assigned))
        return th_auth_deny(
            call, th_call_printf(call, "recording the application of district %s", ags),
            th_call_printf(call,
                           "role admin, ministry or service of Land %s, or a "
                           "manager assigned to %s",
                           land, ags));
    return TH_OK;
}

ELIGIBILITY_HANDLER(eligibility_set_application)
{
    const Teilhabe__Eligibility__V1__SetApplicationFactsRequest *req =
        (const void *) request;
    const th_principal_t *p = th_call_principal(call);
    int rc;
    if ((rc = th_auth_need_principal(call)) != TH_OK)
        return rc;
    if (!th_auth_has_role(p, "admin") && !th_auth_has_role(p, "ministry") &&
        !th_auth_has_role(p, "manager") && !th_auth_has_role(p, "service"))
        return th_auth_deny(call, "recording an application",
                            "role admin, ministry, manager or service");
    if (req->application == NULL)
        return th_answer_invalid(call, "application", "is required");
    const application_t *a = req->application;
    if ((rc = eligibility_check_code(call, "application.programme_code",
                                     a->programme_code)) != TH_OK ||
        (rc = th_field_ags(call, "application.ags", a->ags)) != TH_OK ||
        (rc = th_field_date(call, "application.council_decision", a->council_decision,
                            true)) != TH_OK ||
        (rc = th_field_range(call, "version", req->version, 0, INT64_MAX)) != TH_OK)
        return rc;
    char today[TH_DATE_LEN + 1];
    th_date_today(today);
    if (a->council_decision[0] != '\0' && strcmp(a->council_decision, today) > 0)
        return th_answer_invalid(
            call, "application.council_decision",
            "%s lies in the future: record a decision once the council "
            "has taken it",
            a->council_decision);
    programme_t *prog = NULL;
    rc = eligibility_store_programme(call, a->programme_code, "de", false, &prog);
    if (rc == TH_ENOTFOUND)
        return th_answer_field(call, TH_NOT_FOUND, "application.programme_code",
                               "no such programme", "no programme has the code \"%s\"",
                               a->programme_code);
    if (rc != 0)
        return th_answer_db_failure(call, "read the programme");
    if (strncmp(prog->state_code, a->ags, 2) != 0)
        return th_answer_field(
            call, TH_FAILED_PRECONDITION, "application.ags", "not in the programme's Land",
            "programme %s is a programme of Land %s; district %s lies in Land %.2s",
            a->programme_code, prog->state_code, a->ags, a->ags);
    if ((rc = s_check_district(call, a->ags)) != TH_OK)
        return rc;
    TH_CALL_BEGIN_WRITE(call);
    application_t *before = NULL;
    rc = eligibility_store_application(call, a->programme_code, a->ags, true, &before);
    if (rc != 0 && rc != TH_ENOTFOUND)
        return th_answer_db_failure(call, "read the application");
    const int64_t stored = before != NULL ? before->version : 0;
    if (stored != req->version)
        return th_call_error(
            call, TH_FAILED_PRECONDITION,
            "the application of %s for %s is at version %lld, not %lld: read "
            "it again and repeat the change",
            a->ags, a->programme_code, (long long) stored, (long long) req->version);
    if (before != NULL && strcmp(before->council_decision, a->council_decision) == 0 &&
        before->work_plan == a->work_plan) {
        *response = &before->base;
        return TH_OK;
    }
    application_t *after = NULL;
    rc = eligibility_store_set_application(call, a, req->version, p->id, &after);
    if (rc == TH_ESTATE)
        return th_call_error(
            call, TH_ABORTED,
            "the application of %s for %s was changed at the same time: read "
            "it again and repeat the change",
            a->ags, a->programme_code);
    if (rc != 0)
        return th_answer_db_failure(call, "store the application");
    if ((rc = th_call_record(call,
                             th_call_printf(call, "districts/%s/applications/%s", a->ags,
                                            a->programme_code),
                             before != NULL ? &before->base : NULL, &after->base,
                             "application.set", &after->base)) != TH_OK)
        return rc;
    *response = &after->base;
    return TH_OK;
}
