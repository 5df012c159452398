/* ---------------------------------------------------------------------------
 * th_auth.c: role and scope questions about a principal
 * ---------------------------------------------------------------------------
 */
#include "th_auth.h"

#include <string.h>

static const char *const s_roles[] = {"admin", "ministry", "manager", "analyst", "service"};

bool
th_auth_role_valid(const char *role)
{
    if (role == NULL)
        return false;
    for (size_t i = 0; i < sizeof s_roles / sizeof s_roles[0]; i++) {
        if (strcmp(role, s_roles[i]) == 0)
            return true;
    }
    return false;
}

bool
th_auth_authenticated(const th_principal_t *principal)
{
    return principal != NULL && principal->id != NULL && principal->id[0] != '\0' &&
           th_auth_role_valid(principal->role);
}

bool
th_auth_has_role(const th_principal_t *principal, const char *role)
{
    return principal != NULL && principal->role != NULL && role != NULL &&
           strcmp(principal->role, role) == 0;
}

bool
th_auth_covers_state(const th_principal_t *principal, const char *state_code)
{
    if (principal == NULL || state_code == NULL)
        return false;
    const char *scope = principal->state_scope != NULL ? principal->state_scope : "";
    return scope[0] == '\0' || strcmp(scope, state_code) == 0;
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
