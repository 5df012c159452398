/* ---------------------------------------------------------------------------
 * checks.c: what the measures handlers share: the id check, who may write
 * for a district (with the registry's answers)
 * ---------------------------------------------------------------------------
 */
#include "measures.h"

#include <stdio.h>
#include <string.h>

#include "registry_ask.h"
#include "th_answer.h"
#include "th_auth.h"
#include "th_check.h"
#include "th_date.h"
#include "th_status.h"

int
measures_check_id(th_call_t *call, const char *field, const char *id)
{
    if (id == NULL || id[0] == '\0')
        return th_answer_invalid(call, field, "a measure id is required");
    const bool ok = th_check_uuid(id);
    if (!ok)
        return th_answer_invalid(call, field,
                                 "\"%.40s\" is not a measure id (a UUID such as "
                                 "3f2a9c4e-0b1d-4e8a-9c7f-2d5e6a7b8c9d)",
                                 id);
    return TH_OK;
}

int
measures_need_writer(th_call_t *call, const char *right)
{
    int rc = th_auth_need_principal(call);
    if (rc != TH_OK)
        return rc;
    const th_principal_t *p = th_call_principal(call);
    if (th_auth_has_role(p, "ministry") || th_auth_has_role(p, "manager"))
        return TH_OK;
    return th_auth_deny(call, right, "role ministry or manager");
}

int
measures_check_write(th_call_t *call, const char *field, const char *ags,
                     const char *exists_on, const char *right)
{
    const th_principal_t *p = th_call_principal(call);
    char land[3];
    snprintf(land, sizeof land, "%.2s", ags);
    char today[TH_DATE_LEN + 1];
    th_date_today(today);
    /* What the key says decides, unless only the registry knows: whether a
     * manager of the Land is assigned to the district today. */
    bool ask_assignment = false;
    bool allowed = false;
    if (th_auth_has_role(p, "manager") && th_auth_of_land(p, land)) {
        allowed = th_auth_has_district(p, ags);
        ask_assignment = !allowed;
    } else {
        allowed = th_auth_writes_district(p, land, ags, false);
    }
    if (!allowed && !ask_assignment)
        goto denied;
    if (exists_on != NULL || ask_assignment) {
        const measures_registry_question_t q = {
            .ags = ags,
            .field = field,
            .exists_on = exists_on,
            .manager_id = ask_assignment ? p->id : NULL,
            .assigned_on = today,
        };
        bool assigned = false;
        int rc = measures_registry_ask(call, &q, &assigned);
        if (rc != TH_OK)
            return rc;
        if (ask_assignment)
            allowed = th_auth_writes_district(p, land, ags, assigned);
    }
    if (allowed)
        return TH_OK;
denied:;
    char who[160];
    snprintf(who, sizeof who, "role ministry of Land %s or a manager assigned to %s on %s",
             land, ags, today);
    return th_auth_deny(call, right, who);
}
