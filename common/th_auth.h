/* ---------------------------------------------------------------------------
 * th_auth.h: who the caller is and what it may do, for handlers.
 *
 * The broker writes the authenticated principal into every request; a
 * handler asks these questions before it touches data. The roles are those
 * of DESIGN.md (one list: th_check_roles): admin, ministry (one Land),
 * manager (its districts, reads its Land), analyst (read-only, federal or
 * one Land, aggregates only), service (automated).
 *
 * Three layers:
 *   - questions about a principal (role, scope): pure;
 *   - the read rules of DESIGN.md ("Who reads what") as functions a handler
 *     asks about the data it is about to answer with: pure, one place for
 *     every service;
 *   - th_auth_need_*: the same inside a handler, recording UNAUTHENTICATED
 *     or PERMISSION_DENIED naming the missing right on the call and
 *     returning that status (TH_OK to go on):
 *         if ((rc = th_auth_need_role(call, "admin", "revoking a principal")) != TH_OK)
 *             return rc;
 * ---------------------------------------------------------------------------
 */
#ifndef TH_AUTH_H
#define TH_AUTH_H

#include <stdbool.h>

#include "th_call.h"
#include "th_wire.h"

/* --- the principal ------------------------------------------------------- */

/* True when role is one of the five user roles (th_check_role). */
bool th_auth_role_valid(const char *role);

/* True when the principal carries a user role (the broker authenticated
 * it); false for an empty principal (insecure broker) or an unknown role. */
bool th_auth_authenticated(const th_principal_t *principal);

/* True when the principal's role is role. */
bool th_auth_has_role(const th_principal_t *principal, const char *role);

/* The principal's Land ("" = federal; never NULL). */
const char *th_auth_land(const th_principal_t *principal);

/* True when the principal's Land scope covers state_code: a federal scope
 * ("") covers every Land. */
bool th_auth_covers_state(const th_principal_t *principal, const char *state_code);

/* True when the principal's scope is exactly Land state_code (a federal
 * scope is not). */
bool th_auth_of_land(const th_principal_t *principal, const char *state_code);

/* True when ags is in the principal's district scope. */
bool th_auth_has_district(const th_principal_t *principal, const char *ags);

/* --- the read rules ("Who reads what", DESIGN.md) ------------------------- */

/* What a caller may read of one record. */
typedef enum {
    TH_AUTH_DENIED = 0,   /* nothing: PERMISSION_DENIED */
    TH_AUTH_WITHHELD = 1, /* the record without its personal data */
    TH_AUTH_FULL = 2,     /* the whole record */
} th_auth_read_t;

/* Records of Land state_code (a measure, an indicator value, a submission,
 * a decision; NULL = of every Land, as a list without a Land asks):
 *   admin                                   every Land
 *   ministry, manager                       their Land
 *   service                                 without a Land every Land, else its own
 *   analyst                                 none (aggregates only)
 * Public reference data (districts, concepts) needs no rule: every
 * authenticated caller reads it. */
bool th_auth_reads_records(const th_principal_t *p, const char *state_code);

/* Aggregates (counts and sums over districts, suppressed below 3 persons
 * in reports) of Land state_code, or federal ones with "" or NULL:
 *   admin, service without a Land, analyst without a Land    all
 *   ministry                                  its Land and the federal ones
 *   manager, analyst of a Land, service of a Land   their Land */
bool th_auth_reads_aggregates(const th_principal_t *p, const char *state_code);

/* Personal data (names and contacts of a person, such as an integration
 * manager) in a record of Land state_code (NULL = of every Land, a list)
 * linked to the principal principal_id (NULL or "" = not about one
 * person: a list, in which the caller's own record may still be whole):
 *   unauthenticated, analyst                 DENIED (a person's record
 *                                            is no aggregate, even without
 *                                            the name)
 *   admin                                    FULL
 *   the person itself (principal_id = p)     FULL
 *   ministry of the Land                     FULL      (other Land: DENIED)
 *   manager of the Land                      WITHHELD  (other Land: DENIED)
 *   service without a Land, or of the Land   WITHHELD  (other Land: DENIED)
 * Events and reports carry ids, never contacts, whoever reads them. */
th_auth_read_t th_auth_reads_personal(const th_principal_t *p, const char *state_code,
                                      const char *principal_id);

/* False when p may read no record of a person whatever its Land
 * (unauthenticated, analyst): the part of th_auth_reads_personal that
 * needs no data, so a handler asks it before it reads anything (an analyst
 * cannot even learn whether an id exists). */
bool th_auth_reads_any_personal(const th_principal_t *p);

/* Writes for district ags of Land state_code: the ministry of the Land,
 * a service of the Land (an automated job of that Land, such as an import
 * from its own records, or a service writing on behalf of one of its
 * people: th_call_invoke; a federal service writes none), or a manager
 * whose key names ags or who is assigned to it on the date of the write
 * (assigned: the caller asked its data, or the registry). */
bool th_auth_writes_district(const th_principal_t *p, const char *state_code,
                             const char *ags, bool assigned);

/* --- inside a handler ------------------------------------------------------ */

/* UNAUTHENTICATED unless the broker authenticated the caller. */
int th_auth_need_principal(th_call_t *call);

/* UNAUTHENTICATED, or PERMISSION_DENIED naming right unless the caller has
 * role ("permission denied: revoking a principal needs role admin;
 * principal \"x\" has role ministry of Land 16"). */
int th_auth_need_role(th_call_t *call, const char *role, const char *right);

/* PERMISSION_DENIED naming right unless the caller is the ministry of Land
 * state_code. */
int th_auth_need_ministry_of(th_call_t *call, const char *state_code, const char *right);

/* Records PERMISSION_DENIED with "permission denied: <right> needs <who>;
 * principal \"<id>\" has role <role>[ of Land <land>]" and returns it. */
int th_auth_deny(th_call_t *call, const char *right, const char *who);

#endif /* TH_AUTH_H */
