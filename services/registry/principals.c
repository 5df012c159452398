/* ---------------------------------------------------------------------------
 * principals.c: who may call teilhabe. Principal records (id, name, role,
 * scope, public key) are the admin's alone: every method here needs role
 * admin, and their events (principal.*) reach the admin only (events.c).
 * The broker reads registry.principals itself (docs/registry.md).
 * ---------------------------------------------------------------------------
 */
#include "registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seed.h"
#include "teilhabe/v1/registry.pb-c.h"
#include "th_answer.h"
#include "th_auth.h"
#include "th_check.h"
#include "th_error.h"
#include "th_field.h"
#include "th_log.h"
#include "th_page.h"
#include "th_status.h"
#include "th_text.h"

#define S_DISTRICT_SCOPE_MAX 64

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
    if ((rc = th_auth_need_role(call, "admin", "creating a principal")) != TH_OK)
        return rc;
    if (req->principal == NULL)
        return th_answer_invalid(call, "principal", "is required");
    registry_principal_t *p = th_call_alloc(call, sizeof *p);
    *p = *req->principal;
    if ((rc = th_field_line(call, "principal.name", p->name, 1, REGISTRY_NAME_MAX)) !=
        TH_OK)
        return rc;
    if (p->id[0] == '\0')
        p->id = s_id_from_name(call, p->name);
    if ((rc = th_field_principal_id(call, "principal.id", p->id, false)) != TH_OK)
        return rc;
    if (strcmp(p->id, REGISTRY_SEED_PRINCIPAL) == 0)
        return th_answer_invalid(call, "principal.id",
                                "\"%s\" is reserved: the registry's own seeding writes its "
                                "audit rows and events under that id",
                                REGISTRY_SEED_PRINCIPAL);
    if ((rc = th_field_role(call, "principal.role", p->role, false)) != TH_OK)
        return rc;
    if ((rc = registry_check_state(call, "principal.state_scope", p->state_scope, true)) !=
        TH_OK)
        return rc;
    if ((strcmp(p->role, "ministry") == 0 || strcmp(p->role, "manager") == 0) &&
        p->state_scope[0] == '\0')
        return th_answer_invalid(call, "principal.state_scope", "role %s needs a Land",
                                p->role);
    if ((rc = th_field_list_size(call, "principal.district_scope", p->n_district_scope,
                                 S_DISTRICT_SCOPE_MAX)) != TH_OK)
        return rc;
    if (p->n_district_scope > 0 && strcmp(p->role, "manager") != 0)
        return th_answer_invalid(call, "principal.district_scope",
                                "only role manager has districts");
    for (size_t i = 0; i < p->n_district_scope; i++) {
        const char *ags = p->district_scope[i];
        if ((rc = th_field_ags(call, "principal.district_scope", ags)) != TH_OK)
            return rc;
        for (size_t k = 0; k < i; k++) {
            if (strcmp(p->district_scope[k], ags) == 0)
                return th_answer_invalid(call, "principal.district_scope",
                                        "%s is named twice", ags);
        }
        registry_district_t *d = NULL;
        rc = registry_read_district(call, ags, NULL, &d);
        if (rc == TH_ENOTFOUND)
            return th_answer_invalid(call, "principal.district_scope",
                                    "no district with AGS %s is known", ags);
        if (rc != 0)
            return th_answer_db_failure(call, "read the district");
        if (strcmp(d->state_code, p->state_scope) != 0)
            return th_answer_invalid(call, "principal.district_scope",
                                    "district %s is not in Land %s", ags, p->state_scope);
    }
    if ((rc = th_field_z85_key(call, "principal.public_key", p->public_key)) != TH_OK)
        return rc;
    TH_CALL_BEGIN_WRITE(call);
    const char *conflict = NULL;
    if (registry_store_principal_conflict(call, p->id, p->public_key, &conflict) != 0)
        return th_answer_db_failure(call, "read the principals");
    if (conflict != NULL) {
        const bool id = strcmp(conflict, "id") == 0;
        return th_answer_field(call, TH_ALREADY_EXISTS,
                               id ? "principal.id" : "principal.public_key",
                               "already registered", "a principal with this %s exists already%s%s",
                               id ? "id" : "public key", id ? ": " : "", id ? p->id : "");
    }
    registry_principal_t *created = NULL;
    if (registry_store_create_principal(call, p, &created) != 0)
        return th_answer_db_failure(call, "create the principal");
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
    int rc;
    if ((rc = th_auth_need_role(call, "admin", "listing principals")) != TH_OK ||
        (rc = th_field_role(call, "role", req->role, true)) != TH_OK)
        return rc;
    const char *filters[] = {req->include_revoked ? "revoked" : "", req->role};
    const th_page_request_t pr = {.list = "ListPrincipals",
                                  .page_size = req->page_size,
                                  .default_size = REGISTRY_PAGE_DEFAULT,
                                  .max_size = REGISTRY_PAGE_MAX,
                                  .page_token = req->page_token,
                                  .filters = filters,
                                  .n_filters = 2,
                                  .n_keys = 1};
    th_page_t page;
    if ((rc = th_page_begin(call, &pr, &page)) != TH_OK)
        return rc;
    if (page.after[0] != NULL && !th_check_principal_id(page.after[0]))
        return th_page_invalid(call);
    Teilhabe__Registry__V1__ListPrincipalsResponse *resp =
        th_call_alloc(call, sizeof *resp);
    teilhabe__registry__v1__list_principals_response__init(resp);
    if (registry_store_list_principals(call, req->include_revoked,
                                       req->role[0] ? req->role : NULL, page.after[0],
                                       page.size + 1, &resp->principals,
                                       &resp->n_principals) != 0)
        return th_answer_db_failure(call, "list the principals");
    if (resp->n_principals > (size_t) page.size) {
        resp->n_principals = (size_t) page.size;
        const char *last[] = {resp->principals[page.size - 1]->id};
        resp->next_page_token = th_page_token(call, &page, last);
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
    if ((rc = th_auth_need_role(call, "admin", "revoking a principal")) != TH_OK)
        return rc;
    if ((rc = th_field_principal_id(call, "id", req->id, false)) != TH_OK)
        return rc;
    TH_CALL_BEGIN_WRITE(call);
    registry_principal_t *p = NULL;
    rc = registry_store_revoke_principal(call, req->id, &p);
    if (rc == TH_ENOTFOUND)
        return th_call_error(call, TH_NOT_FOUND, "no principal has the id \"%s\"", req->id);
    if (rc == TH_ESTATE)
        return th_call_error(call, TH_FAILED_PRECONDITION,
                             "principal \"%s\" was revoked at %s", req->id, p->revoke_time);
    if (rc != 0)
        return th_answer_db_failure(call, "revoke the principal");
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
