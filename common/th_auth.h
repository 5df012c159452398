/* ---------------------------------------------------------------------------
 * th_auth.h: roles and scopes of the caller, for handlers that authorize.
 *
 * The broker writes the authenticated principal into every request; a
 * handler asks these questions before it touches data. The roles are those
 * of DESIGN.md: admin, ministry (one Land), manager (its districts, reads its
 * Land), analyst (read-only, federal or one Land), service (automated).
 * ---------------------------------------------------------------------------
 */
#ifndef TH_AUTH_H
#define TH_AUTH_H

#include <stdbool.h>

#include "th_wire.h"

/* True when role is one of the five user roles. */
bool th_auth_role_valid(const char *role);

/* True when the principal carries a user role (the broker authenticated
 * it); false for an empty principal (insecure broker) or an unknown role. */
bool th_auth_authenticated(const th_principal_t *principal);

/* True when the principal's role is role. */
bool th_auth_has_role(const th_principal_t *principal, const char *role);

/* True when the principal's Land scope covers state_code: a federal scope
 * ("") covers every Land. */
bool th_auth_covers_state(const th_principal_t *principal, const char *state_code);

/* True when ags is in the principal's district scope. */
bool th_auth_has_district(const th_principal_t *principal, const char *ags);

#endif /* TH_AUTH_H */
