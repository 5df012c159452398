/* ---------------------------------------------------------------------------
 * th_auth.c: roles, scopes and the read rules of DESIGN.md
 * ---------------------------------------------------------------------------
 */
#include "th_auth.h"

#include <stdio.h>
#include <string.h>

#include "th_check.h"
#include "th_status.h"

/* --- the principal ------------------------------------------------------- */

bool
th_auth_role_valid(const char *role)
{
    return th_check_role(role);
}

bool
th_auth_authenticated(const th_principal_t *principal)
{
    return principal != NULL && principal->id != NULL && principal->id[0] != '\0' &&
           th_check_role(principal->role);
}

bool
th_auth_has_role(const th_principal_t *principal, const char *role)
{
    return principal != NULL && principal->role != NULL && role != NULL &&
           strcmp(principal->role, role) == 0;
}

const char *
th_auth_land(const th_principal_t *principal)
{
    return principal != NULL && principal->state_scope != NULL ? principal->state_scope : "";
}

bool
th_auth_covers_state(const th_principal_t *principal, const char *state_code)
{
    if (principal == NULL || state_code == NULL)
        return false;
    const char *scope = th_auth_land(principal);
    return scope[0] == '\0' || strcmp(scope, state_code) == 0;
}

bool
th_auth_of_land(const th_principal_t *principal, const char *state_code)
{
    const char *scope = th_auth_land(principal);
    return state_code != NULL && scope[0] != '\0' && strcmp(scope, state_code) == 0;
}

bool
th_auth_has_district(const th_principal_t *principal, const char *ags)
{
    if (principal == NULL || ags == NULL)
        return false;
    for (size_t i = 0; i < principal->n_district_scope; i++) {
        if (principal->district_scope[i] != NULL &&
            strcmp(principal->district_scope[i], ags) == 0)
            return true;
    }
    return false;
}

/* --- the read rules ------------------------------------------------------ */

bool
th_auth_reads_records(const th_principal_t *p, const char *state_code)
{
    if (!th_auth_authenticated(p) || th_auth_has_role(p, "analyst"))
        return false;
    if (th_auth_has_role(p, "admin"))
        return true;
    if (th_auth_has_role(p, "service") && th_auth_land(p)[0] == '\0')
        return true;
    return th_auth_of_land(p, state_code);
}

bool
th_auth_reads_aggregates(const th_principal_t *p, const char *state_code)
{
    if (!th_auth_authenticated(p))
        return false;
    const bool federal = state_code == NULL || state_code[0] == '\0';
    if (th_auth_has_role(p, "admin"))
        return true;
    if ((th_auth_has_role(p, "service") || th_auth_has_role(p, "analyst")) &&
        th_auth_land(p)[0] == '\0')
        return true;
    if (th_auth_has_role(p, "ministry") && federal)
        return true;
    return !federal && th_auth_of_land(p, state_code);
}

bool
th_auth_reads_any_personal(const th_principal_t *p)
{
    return th_auth_authenticated(p) && !th_auth_has_role(p, "analyst");
}

th_auth_read_t
th_auth_reads_personal(const th_principal_t *p, const char *state_code,
                       const char *principal_id)
{
    /* Analysts read aggregates only, and a person's record is one
     * person's, even without the name. */
    if (!th_auth_reads_any_personal(p))
        return TH_AUTH_DENIED;
    if (th_auth_has_role(p, "admin"))
        return TH_AUTH_FULL;
    /* The person itself sees its own record whole, whatever its key's role
     * and Land say. */
    if (principal_id != NULL && principal_id[0] != '\0' && strcmp(principal_id, p->id) == 0)
        return TH_AUTH_FULL;
    const bool own_land = th_auth_of_land(p, state_code);
    if (th_auth_has_role(p, "ministry"))
        return own_land ? TH_AUTH_FULL : TH_AUTH_DENIED;
    if (th_auth_has_role(p, "manager"))
        return own_land ? TH_AUTH_WITHHELD : TH_AUTH_DENIED;
    if (th_auth_has_role(p, "service"))
        return th_auth_land(p)[0] == '\0' || own_land ? TH_AUTH_WITHHELD : TH_AUTH_DENIED;
    return TH_AUTH_DENIED;
}

bool
th_auth_writes_district(const th_principal_t *p, const char *state_code, const char *ags,
                        bool assigned)
{
    if (!th_auth_authenticated(p))
        return false;
    if (th_auth_has_role(p, "ministry") || th_auth_has_role(p, "service"))
        return th_auth_of_land(p, state_code);
    if (th_auth_has_role(p, "manager"))
        return th_auth_has_district(p, ags) || assigned;
    return false;
}

/* --- inside a handler ---------------------------------------------------- */

int
th_auth_need_principal(th_call_t *call)
{
    if (!th_auth_authenticated(th_call_principal(call)))
        return th_call_error(call, TH_UNAUTHENTICATED,
                             "the call carries no authenticated principal; connect through "
                             "the broker with a registered key");
    return TH_OK;
}

int
th_auth_deny(th_call_t *call, const char *right, const char *who)
{
    const th_principal_t *p = th_call_principal(call);
    const char *land = th_auth_land(p);
    return th_call_error(call, TH_PERMISSION_DENIED,
                         "permission denied: %s needs %s; principal \"%s\" has role %s%s%s",
                         right, who, p->id, p->role, land[0] != '\0' ? " of Land " : "",
                         land);
}

int
th_auth_need_role(th_call_t *call, const char *role, const char *right)
{
    int rc = th_auth_need_principal(call);
    if (rc != TH_OK)
        return rc;
    if (!th_auth_has_role(th_call_principal(call), role)) {
        char who[64];
        snprintf(who, sizeof who, "role %s", role);
        return th_auth_deny(call, right, who);
    }
    return TH_OK;
}

int
th_auth_need_ministry_of(th_call_t *call, const char *state_code, const char *right)
{
    const th_principal_t *p = th_call_principal(call);
    if (th_auth_has_role(p, "ministry") && th_auth_of_land(p, state_code))
        return TH_OK;
    char who[64];
    snprintf(who, sizeof who, "role ministry of Land %s", state_code);
    return th_auth_deny(call, right, who);
}
