/* ---------------------------------------------------------------------------
 * registry_ask.c: the questions to the registry (see registry_ask.h), not
 * wired yet: every question is answered UNAVAILABLE until the runtime can
 * call another service through the broker.
 *
 * When it can, this file is the one place that changes: GetDistrict(ags,
 * as_of = exists_on) answers whether the district exists then (NOT_FOUND
 * naming the successor, INVALID_ARGUMENT for an unknown AGS: passed on as
 * they come), and a question about a manager's assignment that a service
 * may ask (the registry's ListManagers withholds the principal ids from a
 * service, so it needs a method of its own) the other half.
 * ---------------------------------------------------------------------------
 */
#include "registry_ask.h"

#include "th_status.h"

int
measures_registry_ask(th_call_t *call, const measures_registry_question_t *q, bool *assigned)
{
    *assigned = false;
    const char *what;
    if (q->exists_on != NULL && q->manager_id != NULL)
        what = th_call_printf(call,
                              "whether district %s exists on %s and principal \"%s\" is "
                              "assigned to it on %s",
                              q->ags, q->exists_on, q->manager_id, q->assigned_on);
    else if (q->exists_on != NULL)
        what = th_call_printf(call, "whether district %s exists on %s", q->ags, q->exists_on);
    else
        what = th_call_printf(call, "whether principal \"%s\" is assigned to district %s on %s",
                              q->manager_id != NULL ? q->manager_id : "", q->ags,
                              q->assigned_on != NULL ? q->assigned_on : "");
    return th_call_error(call, TH_UNAVAILABLE,
                         "registry check not wired yet: the measures service cannot ask the "
                         "registry %s until calls between services are available; nothing "
                         "was written",
                         what);
}
