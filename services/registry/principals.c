/* ---------------------------------------------------------------------------
 * principals.c: who may call teilhabe. Principal records (id, name, role,
 * scope, public key) are the admin's alone: every method here needs role
 * admin, and their events (principal.*) reach the admin only (events.c).
 * The broker reads registry.principals itself (docs/registry.md).
 * ---------------------------------------------------------------------------
 */
#include "principals.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "seed.h"
#include "teilhabe/v1/registry.pb-c.h"
#include "th_auth.h"
#include "th_error.h"
#include "th_log.h"
#include "th_status.h"
#include "th_text.h"

#define S_DISTRICT_SCOPE_MAX 64

static bool
s_z85_key(const char *key)
{
    static const char alphabet[] =
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
        ".-:+=^!/*?&<>()[]{}@%$#";
    if (key == NULL || strlen(key) != 40)
        return false;
    for (size_t i = 0; i < 40; i++) {
        if (strchr(alphabet, key[i]) == NULL)
            return false;
    }
    return true;
}

/* A principal id from a display name: folded, ASCII letters and digits
 * kept, everything else one '-'. */
static char *
s_id_from_name(th_call_t *call, const char *name)
{
    char *folded = th_text_fold(name, true);
    if (folded == NULL)
        return th_call_strdup(call, "");
    char *id = th_call_alloc(call, 65);
    size_t o = 0;
    for (size_t i = 0; folded[i] != '\0' && o < 64; i++) {
        const char c = folded[i];
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
            id[o++] = c;
        else if (o > 0 && id[o - 1] != '-')
            id[o++] = '-';
    }
    while (o > 0 && id[o - 1] == '-')
        o--;
    id[o] = '\0';
    free(folded);
    return id;
}

int
registry_principals_create(th_call_t *call, const ProtobufCMessage *request,
                           ProtobufCMessage **response)
{
    const Teilhabe__Registry__V1__CreatePrincipalRequest *req = (const void *) request;
    int rc;
    if ((rc = registry_need_admin(call, "creating a principal")) != TH_OK)
        return rc;
    if (req->principal == NULL)
        return registry_invalid(call, "principal", "is required");
    registry_principal_t *p = th_call_alloc(call, sizeof *p);
    *p = *req->principal;
    if ((rc = registry_check_line(call, "principal.name", p->name, 1, REGISTRY_NAME_MAX)) !=
        TH_OK)
        return rc;
    if (p->id[0] == '\0')
        p->id = s_id_from_name(call, p->name);
    if (!registry_principal_id_valid(p->id))
        return registry_invalid(
            call, "principal.id",
            "\"%.64s\" must be 1 to 64 of a-z, 0-9, '.', '_', '-' starting with a "
            "letter or digit",
            p->id);
    if (strcmp(p->id, REGISTRY_SEED_PRINCIPAL) == 0)
        return registry_invalid(call, "principal.id",
                                "\"%s\" is reserved: the registry's own seeding writes its "
                                "audit rows and events under that id",
                                REGISTRY_SEED_PRINCIPAL);
    if (!th_auth_role_valid(p->role))
        return registry_invalid(
            call, "principal.role",
            "\"%.32s\" is not one of admin, ministry, manager, analyst, service", p->role);
    if ((rc = registry_check_state(call, "principal.state_scope", p->state_scope, true)) !=
        TH_OK)
        return rc;
    if ((strcmp(p->role, "ministry") == 0 || strcmp(p->role, "manager") == 0) &&
        p->state_scope[0] == '\0')
        return registry_invalid(call, "principal.state_scope", "role %s needs a Land",
                                p->role);
    if (p->n_district_scope > S_DISTRICT_SCOPE_MAX)
        return registry_invalid(call, "principal.district_scope",
                                "has %zu entries, at most %d allowed", p->n_district_scope,
                                S_DISTRICT_SCOPE_MAX);
    if (p->n_district_scope > 0 && strcmp(p->role, "manager") != 0)
        return registry_invalid(call, "principal.district_scope",
                                "only role manager has districts");
    for (size_t i = 0; i < p->n_district_scope; i++) {
        const char *ags = p->district_scope[i];
        if ((rc = registry_check_ags(call, "principal.district_scope", ags)) != TH_OK)
            return rc;
        for (size_t k = 0; k < i; k++) {
            if (strcmp(p->district_scope[k], ags) == 0)
                return registry_invalid(call, "principal.district_scope",
                                        "%s is named twice", ags);
        }
        registry_district_t *d = NULL;
        rc = registry_store_get_district(call, ags, NULL, &d);
        if (rc == TH_ENOTFOUND)
            return registry_invalid(call, "principal.district_scope",
                                    "no district with AGS %s is known", ags);
        if (rc != 0)
            return registry_db_fail(call, "read the district");
        if (strcmp(d->state_code, p->state_scope) != 0)
            return registry_invalid(call, "principal.district_scope",
                                    "district %s is not in Land %s", ags, p->state_scope);
    }
    if (!s_z85_key(p->public_key))
        return registry_invalid(call, "principal.public_key",
                                "must be a Z85-encoded CURVE public key of 40 characters");
    TH_CALL_BEGIN_WRITE(call);
    const char *conflict = NULL;
    if (registry_store_principal_conflict(call, p->id, p->public_key, &conflict) != 0)
        return registry_db_fail(call, "read the principals");
    if (conflict != NULL) {
        th_call_violation(
            call, strcmp(conflict, "id") == 0 ? "principal.id" : "principal.public_key",
            "already registered");
        return th_call_error(call, TH_ALREADY_EXISTS,
                             "a principal with this %s exists already%s%s",
                             strcmp(conflict, "id") == 0 ? "id" : "public key",
                             strcmp(conflict, "id") == 0 ? ": " : "",
                             strcmp(conflict, "id") == 0 ? p->id : "");
    }
    registry_principal_t *created = NULL;
    if (registry_store_create_principal(call, p, &created) != 0)
        return registry_db_fail(call, "create the principal");
    const char *resource = th_call_printf(call, "principals/%s", created->id);
    if ((rc = th_call_record(call, resource, NULL, &created->base, "principal.created",
                             &created->base)) != TH_OK)
        return rc;
    th_log_info(th_call_id(call), "principal created", "id=%s role=%s", created->id,
                created->role);
    *response = &created->base;
    return TH_OK;
}

int
registry_principals_list(th_call_t *call, const ProtobufCMessage *request,
                         ProtobufCMessage **response)
{
    const Teilhabe__Registry__V1__ListPrincipalsRequest *req = (const void *) request;
    int limit = 0, rc;
    char *after = NULL;
    if ((rc = registry_need_admin(call, "listing principals")) != TH_OK)
        return rc;
    if (req->role[0] != '\0' && !th_auth_role_valid(req->role))
        return registry_invalid(
            call, "role",
            "\"%.32s\" is not one of admin, ministry, manager, analyst, service",
            req->role);
    if ((rc = registry_page_size(call, "page_size", req->page_size, REGISTRY_PAGE_DEFAULT,
                                 REGISTRY_PAGE_MAX, &limit)) != TH_OK ||
        (rc = registry_token_decode(call, req->page_token, 'p', &after)) != TH_OK)
        return rc;
    Teilhabe__Registry__V1__ListPrincipalsResponse *resp =
        th_call_alloc(call, sizeof *resp);
    teilhabe__registry__v1__list_principals_response__init(resp);
    if (registry_store_list_principals(call, req->include_revoked,
                                       req->role[0] ? req->role : NULL, after, limit + 1,
                                       &resp->principals, &resp->n_principals) != 0)
        return registry_db_fail(call, "list the principals");
    if (resp->n_principals > (size_t) limit) {
        resp->n_principals = (size_t) limit;
        resp->next_page_token = registry_token(call, 'p', resp->principals[limit - 1]->id);
    }
    *response = &resp->base;
    return TH_OK;
}

int
registry_principals_revoke(th_call_t *call, const ProtobufCMessage *request,
                           ProtobufCMessage **response)
{
    const Teilhabe__Registry__V1__RevokePrincipalRequest *req = (const void *) request;
    int rc;
    if ((rc = registry_need_admin(call, "revoking a principal")) != TH_OK)
        return rc;
    if (!registry_principal_id_valid(req->id))
        return registry_invalid(call, "id", "\"%.64s\" is not a principal id", req->id);
    TH_CALL_BEGIN_WRITE(call);
    registry_principal_t *p = NULL;
    rc = registry_store_revoke_principal(call, req->id, &p);
    if (rc == TH_ENOTFOUND)
        return th_call_error(call, TH_NOT_FOUND, "no principal has the id \"%s\"", req->id);
    if (rc == TH_ESTATE)
        return th_call_error(call, TH_FAILED_PRECONDITION,
                             "principal \"%s\" was revoked at %s", req->id, p->revoke_time);
    if (rc != 0)
        return registry_db_fail(call, "revoke the principal");
    registry_principal_t before = *p;
    before.revoke_time = "";
    const char *resource = th_call_printf(call, "principals/%s", p->id);
    if ((rc = th_call_record(call, resource, &before.base, &p->base, "principal.revoked",
                             &p->base)) != TH_OK)
        return rc;
    th_log_info(th_call_id(call), "principal revoked", "id=%s", p->id);
    *response = &p->base;
    return TH_OK;
}
