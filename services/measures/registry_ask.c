/* ---------------------------------------------------------------------------
 * registry_ask.c: the questions to the registry (see registry_ask.h), asked
 * over the broker with th_call_invoke: GetDistrict(ags, as_of) for whether
 * the district exists on a date, CheckAssignment(principal_id, ags, as_of)
 * for whether a manager is assigned to it.
 *
 * The registry's verdict on the district (INVALID_ARGUMENT for an AGS it
 * does not know, NOT_FOUND naming the successor of a district that ended)
 * is answered in the measures service's own words: the same status and
 * message, with the violation naming the field of *this* request
 * ("measure.ags"), not the registry's. Every other failure
 * (UNAVAILABLE, DEADLINE_EXCEEDED, ...) comes back as th_call_invoke
 * recorded it.
 * ---------------------------------------------------------------------------
 */
#include "registry_ask.h"

#include "th_answer.h"
#include "th_status.h"
#include "teilhabe/v1/registry.pb-c.h"

#define S_REGISTRY "teilhabe.registry.v1.Registry/"

/* The registry's verdict on q->ags, with the violation renamed to q->field. */
static int
s_verdict(th_call_t *call, const measures_registry_question_t *q, const th_result_t *r)
{
    const char *why = r->n_violations > 0 ? r->violations[0].description : r->message;
    return th_answer_field(call, r->code, q->field, why, "%s", r->message);
}

int
measures_registry_ask(th_call_t *call, const measures_registry_question_t *q,
                      bool *assigned)
{
    *assigned = false;
    const th_result_t *r = NULL;
    int rc;
    if (q->exists_on != NULL) {
        Teilhabe__Registry__V1__GetDistrictRequest req =
            TEILHABE__REGISTRY__V1__GET_DISTRICT_REQUEST__INIT;
        req.ags = (char *) q->ags;
        req.as_of = (char *) q->exists_on;
        rc = th_call_invoke(call, S_REGISTRY "GetDistrict", &req.base,
                            &teilhabe__registry__v1__district__descriptor, &r);
        if (rc == TH_INVALID_ARGUMENT || rc == TH_NOT_FOUND)
            return s_verdict(call, q, r);
        if (rc != TH_OK)
            return rc;
    }
    if (q->manager_id != NULL) {
        Teilhabe__Registry__V1__CheckAssignmentRequest req =
            TEILHABE__REGISTRY__V1__CHECK_ASSIGNMENT_REQUEST__INIT;
        req.principal_id = (char *) q->manager_id;
        req.ags = (char *) q->ags;
        req.as_of = (char *) (q->assigned_on != NULL ? q->assigned_on : "");
        rc = th_call_invoke(call, S_REGISTRY "CheckAssignment", &req.base,
                            &teilhabe__registry__v1__check_assignment_response__descriptor,
                            &r);
        if (rc == TH_INVALID_ARGUMENT && q->exists_on == NULL)
            return s_verdict(call, q, r);
        if (rc != TH_OK)
            return rc;
        const Teilhabe__Registry__V1__CheckAssignmentResponse *a =
            (const void *) r->response;
        *assigned = a->assigned;
    }
    return TH_OK;
}
