/* ---------------------------------------------------------------------------
 * managers.c: integration managers: the methods that create, change,
 * assign and list them. Their names and contacts are personal data: who
 * reads them is the rule th_auth_reads_personal (DESIGN.md, "Who reads
 * what"; the table is in docs/registry.md), asked by every read of a
 * manager record (GetManager, ListManagers) and by ListEvents (events.c).
 *
 * The writes authorize on an unlocked read before their transaction starts,
 * so a caller without the right never takes, nor waits for, a lock on
 * another Land's rows; inside the transaction they lock the row and check
 * again what could have changed since (the version, and the Land the right
 * depends on).
 * ---------------------------------------------------------------------------
 */
#include "registry.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "teilhabe/v1/registry.pb-c.h"
#include "th_answer.h"
#include "th_auth.h"
#include "th_check.h"
#include "th_date.h"
#include "th_error.h"
#include "th_field.h"
#include "th_log.h"
#include "th_page.h"
#include "th_status.h"
#define S_EMAIL_MAX 254
#define S_PHONE_MAX 64
#define S_ORGANISATION_MAX 200
#define S_PROGRAMME_MAX 100

static const char *const s_manager_mask_fields[] = {
    "name", "email", "phone", "organisation", "funding_programme", "principal_id"};

/* --- the read rule ------------------------------------------------------ */

static const char *
s_scope(const th_principal_t *p)
{
    return th_auth_land(p);
}

void
registry_managers_withhold(registry_manager_t *m)
{
    m->name = (char *) "";
    m->email = (char *) "";
    m->phone = (char *) "";
    m->principal_id = (char *) "";
    m->personal_data_withheld = true;
}

/* PERMISSION_DENIED for a read of the manager records of Land state_code
 * (NULL = of every Land), naming who may. */
static int
s_read_denied(th_call_t *call, const char *state_code)
{
    const th_principal_t *p = th_call_principal(call);
    const char *scope = s_scope(p);
    const char *of_land = scope[0] != '\0' ? " of Land " : "";
    if (th_auth_has_role(p, "analyst"))
        return th_call_error(
            call, TH_PERMISSION_DENIED,
            "permission denied: integration manager records are personal "
            "data and role analyst reads aggregates only; principal \"%s\" "
            "has role analyst%s%s",
            p->id, of_land, scope);
    if (state_code == NULL)
        return th_call_error(call, TH_PERMISSION_DENIED,
                             "permission denied: reading the integration managers of every "
                             "Land needs role admin or service without a Land; principal "
                             "\"%s\" has role %s%s%s%s%s",
                             p->id, p->role, of_land, scope,
                             scope[0] != '\0' ? "; ask for state_code " : "", scope);
    return th_call_error(call, TH_PERMISSION_DENIED,
                         "permission denied: reading the integration managers of Land %s "
                         "needs role admin, or ministry, manager or service of Land %s; "
                         "principal \"%s\" has role %s%s%s",
                         state_code, state_code, p->id, p->role, of_land, scope);
}

/* A copy of m without personal data, for an event (call memory). */
static registry_manager_t *
s_withheld_copy(th_call_t *call, const registry_manager_t *m)
{
    registry_manager_t *copy = th_call_alloc(call, sizeof *copy);
    *copy = *m;
    copy->assignments = NULL;
    copy->n_assignments = 0;
    registry_managers_withhold(copy);
    return copy;
}

/* --- checks ------------------------------------------------------------- */

static int
s_check_manager(th_call_t *call, const registry_manager_t *m)
{
    int rc;
    if ((rc = th_field_line(call, "manager.name", m->name, 1, REGISTRY_NAME_MAX)) !=
            TH_OK ||
        (rc = th_field_line(call, "manager.email", m->email, 0, S_EMAIL_MAX)) != TH_OK ||
        (rc = th_field_line(call, "manager.phone", m->phone, 0, S_PHONE_MAX)) != TH_OK ||
        (rc = th_field_line(call, "manager.organisation", m->organisation, 0,
                            S_ORGANISATION_MAX)) != TH_OK ||
        (rc = th_field_line(call, "manager.funding_programme", m->funding_programme, 0,
                            S_PROGRAMME_MAX)) != TH_OK)
        return rc;
    if ((rc = th_field_email(call, "manager.email", m->email, S_EMAIL_MAX)) != TH_OK)
        return rc;
    return th_field_principal_id(call, "manager.principal_id", m->principal_id, true);
}

/* Loads the manager (locked for writes); NOT_FOUND names the id. */
static int
s_manager(th_call_t *call, const char *field, const char *id, bool for_update,
          registry_manager_t **out)
{
    if (id == NULL || id[0] == '\0')
        return th_answer_invalid(call, field, "a manager id is required");
    if (strlen(id) > 64)
        return th_answer_invalid(call, field, "is longer than 64 characters");
    int rc = registry_store_get_manager(call, id, for_update, out);
    if (rc == TH_ENOTFOUND)
        return th_call_error(call, TH_NOT_FOUND, "no integration manager has the id \"%s\"",
                             id);
    if (rc != 0)
        return th_answer_db_failure(call, "read the manager");
    return TH_OK;
}

/* Loads the manager a write changes, when the caller is the ministry of its
 * Land. Called twice by each write: unlocked before the transaction (the
 * refusal), then locked inside it (the right again, on the row as it is
 * now). */
static int
s_manager_to_write(th_call_t *call, const char *field, const char *id, bool for_update,
                   const char *right, registry_manager_t **out)
{
    int rc = s_manager(call, field, id, for_update, out);
    if (rc != TH_OK)
        return rc;
    return th_auth_need_ministry_of(call, (*out)->state_code, right);
}

/* --- writes ------------------------------------------------------------- */

int
registry_managers_create(th_call_t *call, const ProtobufCMessage *request,
                         ProtobufCMessage **response)
{
    const Teilhabe__Registry__V1__CreateManagerRequest *req = (const void *) request;
    int rc;
    if ((rc = th_auth_need_principal(call)) != TH_OK)
        return rc;
    if (req->manager == NULL)
        return th_answer_invalid(call, "manager", "is required");
    const registry_manager_t *m = req->manager;
    if ((rc = registry_check_state(call, "manager.state_code", m->state_code, false)) !=
            TH_OK ||
        (rc = th_auth_need_ministry_of(call, m->state_code,
                                       "creating an integration manager")) != TH_OK ||
        (rc = s_check_manager(call, m)) != TH_OK)
        return rc;
    TH_CALL_BEGIN_WRITE(call);
    registry_manager_t *created = NULL;
    if (registry_store_create_manager(call, m, &created) != 0)
        return th_answer_db_failure(call, "create the manager");
    const char *resource = th_call_printf(call, "managers/%s", created->id);
    if ((rc = th_call_record(call, resource, NULL, &created->base, "manager.created",
                             &s_withheld_copy(call, created)->base)) != TH_OK)
        return rc;
    *response = &created->base;
    return TH_OK;
}

int
registry_managers_update(th_call_t *call, const ProtobufCMessage *request,
                         ProtobufCMessage **response)
{
    static const char right[] = "updating an integration manager";
    const Teilhabe__Registry__V1__UpdateManagerRequest *req = (const void *) request;
    int rc;
    if ((rc = th_auth_need_principal(call)) != TH_OK)
        return rc;
    if (req->manager == NULL)
        return th_answer_invalid(call, "manager", "is required");
    const registry_manager_t *in = req->manager;
    if ((rc = th_field_mask(
             call, req->update_mask, req->n_update_mask, s_manager_mask_fields,
             sizeof s_manager_mask_fields / sizeof s_manager_mask_fields[0])) != TH_OK)
        return rc;
    if (req->version < 1)
        return th_answer_invalid(call, "version",
                                 "must be the version last read (1 or more)");
    registry_manager_t *current = NULL;
    if ((rc = s_manager_to_write(call, "manager.id", in->id, false, right, &current)) !=
        TH_OK)
        return rc;
    TH_CALL_BEGIN_WRITE(call);
    if ((rc = s_manager_to_write(call, "manager.id", in->id, true, right, &current)) !=
        TH_OK)
        return rc;
    if (current->version != req->version)
        return th_call_error(call, TH_FAILED_PRECONDITION,
                             "manager %s is at version %" PRId64 ", not %" PRId64
                             "; read it again and retry",
                             current->id, current->version, req->version);
    registry_manager_t *merged = th_call_alloc(call, sizeof *merged);
    *merged = *current;
    char *const *mask = req->update_mask;
    const size_t n = req->n_update_mask;
    if (th_check_mask_has(mask, n, "name"))
        merged->name = in->name;
    if (th_check_mask_has(mask, n, "email"))
        merged->email = in->email;
    if (th_check_mask_has(mask, n, "phone"))
        merged->phone = in->phone;
    if (th_check_mask_has(mask, n, "organisation"))
        merged->organisation = in->organisation;
    if (th_check_mask_has(mask, n, "funding_programme"))
        merged->funding_programme = in->funding_programme;
    if (th_check_mask_has(mask, n, "principal_id"))
        merged->principal_id = in->principal_id;
    if ((rc = s_check_manager(call, merged)) != TH_OK)
        return rc;
    registry_manager_t *updated = NULL;
    rc = registry_store_update_manager(call, merged, req->version, &updated);
    if (rc == TH_ESTATE)
        return th_call_error(call, TH_FAILED_PRECONDITION,
                             "manager %s changed meanwhile; read it again and retry",
                             current->id);
    if (rc != 0)
        return th_answer_db_failure(call, "update the manager");
    const char *resource = th_call_printf(call, "managers/%s", updated->id);
    if ((rc = th_call_record(call, resource, &current->base, &updated->base,
                             "manager.updated", &s_withheld_copy(call, updated)->base)) !=
        TH_OK)
        return rc;
    *response = &updated->base;
    return TH_OK;
}

int
registry_managers_assign(th_call_t *call, const ProtobufCMessage *request,
                         ProtobufCMessage **response)
{
    static const char right[] = "assigning an integration manager";
    const Teilhabe__Registry__V1__AssignManagerRequest *req = (const void *) request;
    int rc;
    if ((rc = th_auth_need_principal(call)) != TH_OK ||
        (rc = th_field_ags(call, "ags", req->ags)) != TH_OK ||
        (rc = th_field_date(call, "valid_from", req->valid_from, false)) != TH_OK ||
        (rc = th_field_date(call, "valid_to", req->valid_to, true)) != TH_OK)
        return rc;
    if ((rc = th_field_date_order(call, "valid_to", req->valid_from, req->valid_to)) !=
        TH_OK)
        return rc;
    registry_manager_t *m = NULL;
    if ((rc = s_manager_to_write(call, "manager_id", req->manager_id, false, right, &m)) !=
        TH_OK)
        return rc;
    TH_CALL_BEGIN_WRITE(call);
    /* The lock on the manager serializes its assignments, so the overlap
     * check below and the insert see the same rows. */
    if ((rc = s_manager_to_write(call, "manager_id", req->manager_id, true, right, &m)) !=
        TH_OK)
        return rc;
    char as_of[TH_DATE_LEN + 1];
    registry_district_t *d = NULL;
    if ((rc = registry_as_of(call, "valid_from", req->valid_from, as_of)) != TH_OK ||
        (rc = registry_district_on(call, "ags", req->ags, as_of, &d)) != TH_OK)
        return rc;
    if (strcmp(d->state_code, m->state_code) != 0)
        return th_answer_invalid(call, "ags",
                                 "district %s is in Land %s, the manager works for Land %s",
                                 d->ags, d->state_code, m->state_code);
    if (d->valid_to[0] != '\0' &&
        (req->valid_to[0] == '\0' || strcmp(req->valid_to, d->valid_to) > 0))
        return th_answer_invalid(call, "valid_to",
                                 "district %s ends on %s; an assignment must end by then",
                                 d->ags, d->valid_to);
    bool overlaps = false;
    if (registry_store_assignment_overlaps(call, m->id, d->ags, req->valid_from,
                                           req->valid_to[0] ? req->valid_to : NULL,
                                           &overlaps) != 0)
        return th_answer_db_failure(call, "read the assignments");
    if (overlaps)
        return th_call_error(call, TH_ALREADY_EXISTS,
                             "manager %s is already assigned to %s for part of that period",
                             m->id, d->ags);
    registry_assignment_t *a = NULL;
    if (registry_store_insert_assignment(call, m->id, d->ags, req->valid_from,
                                         req->valid_to[0] ? req->valid_to : NULL, &a) != 0)
        return th_answer_db_failure(call, "store the assignment");
    const char *resource = th_call_printf(call, "managers/%s", m->id);
    if ((rc = th_call_record(call, resource, NULL, &a->base, "manager.assigned",
                             &a->base)) != TH_OK)
        return rc;
    *response = &a->base;
    return TH_OK;
}

int
registry_managers_unassign(th_call_t *call, const ProtobufCMessage *request,
                           ProtobufCMessage **response)
{
    static const char right[] = "unassigning an integration manager";
    const Teilhabe__Registry__V1__UnassignManagerRequest *req = (const void *) request;
    int rc;
    if ((rc = th_auth_need_principal(call)) != TH_OK ||
        (rc = th_field_ags(call, "ags", req->ags)) != TH_OK ||
        (rc = th_field_date(call, "end_date", req->end_date, true)) != TH_OK)
        return rc;
    char end_date[TH_DATE_LEN + 1];
    if (req->end_date[0] == '\0')
        th_date_today(end_date);
    else
        snprintf(end_date, sizeof end_date, "%s", req->end_date);
    registry_manager_t *m = NULL;
    if ((rc = s_manager_to_write(call, "manager_id", req->manager_id, false, right, &m)) !=
        TH_OK)
        return rc;
    TH_CALL_BEGIN_WRITE(call);
    if ((rc = s_manager_to_write(call, "manager_id", req->manager_id, true, right, &m)) !=
        TH_OK)
        return rc;
    registry_assignment_t *before = NULL, *after = NULL;
    rc = registry_store_active_assignment(call, m->id, req->ags, end_date, &before);
    if (rc == TH_ENOTFOUND)
        return th_call_error(call, TH_NOT_FOUND,
                             "manager %s has no assignment to %s active on %s", m->id,
                             req->ags, end_date);
    if (rc != 0)
        return th_answer_db_failure(call, "read the assignment");
    if (registry_store_end_assignment(call, before->id, end_date, &after) != 0)
        return th_answer_db_failure(call, "end the assignment");
    const char *resource = th_call_printf(call, "managers/%s", m->id);
    if ((rc = th_call_record(call, resource, &before->base, &after->base,
                             "manager.unassigned", &after->base)) != TH_OK)
        return rc;
    *response = &after->base;
    return TH_OK;
}

/* --- reads -------------------------------------------------------------- */

int
registry_managers_get(th_call_t *call, const ProtobufCMessage *request,
                      ProtobufCMessage **response)
{
    const Teilhabe__Registry__V1__GetManagerRequest *req = (const void *) request;
    const th_principal_t *p = th_call_principal(call);
    int rc;
    if ((rc = th_auth_need_principal(call)) != TH_OK)
        return rc;
    if (!th_auth_reads_any_personal(p))
        return s_read_denied(call, NULL);
    registry_manager_t *m = NULL;
    if ((rc = s_manager(call, "id", req->id, false, &m)) != TH_OK)
        return rc;
    const th_auth_read_t access = th_auth_reads_personal(p, m->state_code, m->principal_id);
    if (access == TH_AUTH_DENIED)
        return s_read_denied(call, m->state_code);
    if (registry_store_list_assignments(call, m->id, NULL, &m->assignments,
                                        &m->n_assignments) != 0)
        return th_answer_db_failure(call, "read the assignments");
    if (access != TH_AUTH_FULL)
        registry_managers_withhold(m);
    *response = &m->base;
    return TH_OK;
}

int
registry_managers_list(th_call_t *call, const ProtobufCMessage *request,
                       ProtobufCMessage **response)
{
    const Teilhabe__Registry__V1__ListManagersRequest *req = (const void *) request;
    const th_principal_t *p = th_call_principal(call);
    /* What the listing costs in statements, for the debug log: one page of
     * managers with their assignments is one query, however long. */
    const uint64_t statements = th_db_statements(th_call_db(call));
    char as_of[TH_DATE_LEN + 1];
    int rc;
    if ((rc = th_auth_need_principal(call)) != TH_OK)
        return rc;
    if (!th_auth_reads_any_personal(p))
        return s_read_denied(call, NULL);
    if ((rc = registry_check_state(call, "state_code", req->state_code, true)) != TH_OK)
        return rc;
    if (req->ags[0] != '\0' && (rc = th_field_ags(call, "ags", req->ags)) != TH_OK)
        return rc;
    /* Ordered by name, then id. The key of a page is the last manager's
     * id alone (the store finds its name): a token is readable base64,
     * and a caller the name is withheld from must not find it there. */
    const char *filters[] = {req->state_code, req->ags, req->as_of};
    const th_page_request_t pr = {.list = "ListManagers",
                                  .page_size = req->page_size,
                                  .default_size = REGISTRY_PAGE_DEFAULT,
                                  .max_size = REGISTRY_PAGE_MAX,
                                  .page_token = req->page_token,
                                  .filters = filters,
                                  .n_filters = 3,
                                  .n_keys = 1};
    th_page_t page;
    if ((rc = th_page_begin(call, &pr, &page)) != TH_OK ||
        (rc = registry_as_of(call, "as_of", req->as_of, as_of)) != TH_OK)
        return rc;
    if (page.after[0] != NULL && (page.after[0][0] == '\0' || strlen(page.after[0]) > 64))
        return th_page_invalid(call);
    /* The Land whose records are asked for: the district's (assignments
     * stay in the manager's Land), the one named, or every Land. */
    const char *land = req->state_code[0] != '\0' ? req->state_code : NULL;
    if (req->ags[0] != '\0') {
        registry_district_t *d = NULL;
        if ((rc = registry_district_known(call, "ags", req->ags, &d)) != TH_OK)
            return rc;
        land = d->state_code;
    }
    if (th_auth_reads_personal(p, land, NULL) == TH_AUTH_DENIED)
        return s_read_denied(call, land);
    Teilhabe__Registry__V1__ListManagersResponse *resp = th_call_alloc(call, sizeof *resp);
    teilhabe__registry__v1__list_managers_response__init(resp);
    const registry_manager_filter_t filter = {
        .state_code = req->state_code[0] ? req->state_code : NULL,
        .ags = req->ags[0] ? req->ags : NULL,
        .as_of = as_of,
        .after_id = page.after[0],
        .limit = page.size + 1,
    };
    if (registry_store_list_managers(call, &filter, &resp->managers, &resp->n_managers) !=
        0)
        return th_answer_db_failure(call, "list the managers");
    if (resp->n_managers > (size_t) page.size) {
        resp->n_managers = (size_t) page.size;
        const registry_manager_t *last = resp->managers[page.size - 1];
        const char *key[] = {last->id};
        resp->next_page_token = th_page_token(call, &page, key);
    }
    for (size_t i = 0; i < resp->n_managers; i++) {
        registry_manager_t *m = resp->managers[i];
        /* Whole only for those who see this person (its own record among
         * others it may list); never DENIED here, since the Land was. */
        if (th_auth_reads_personal(p, m->state_code, m->principal_id) != TH_AUTH_FULL)
            registry_managers_withhold(m);
    }
    th_log_debug(th_call_id(call), "managers listed", "managers=%zu statements=%" PRIu64,
                 resp->n_managers, th_db_statements(th_call_db(call)) - statements);
    *response = &resp->base;
    return TH_OK;
}

int
registry_managers_check_assignment(th_call_t *call, const ProtobufCMessage *request,
                                   ProtobufCMessage **response)
{
    const Teilhabe__Registry__V1__CheckAssignmentRequest *req = (const void *) request;
    const th_principal_t *p = th_call_principal(call);
    char as_of[TH_DATE_LEN + 1];
    int rc;
    if ((rc = th_auth_need_principal(call)) != TH_OK)
        return rc;
    if ((rc = th_field_principal_id(call, "principal_id", req->principal_id, false)) !=
            TH_OK ||
        (rc = th_field_ags(call, "ags", req->ags)) != TH_OK ||
        (rc = registry_as_of(call, "as_of", req->as_of, as_of)) != TH_OK)
        return rc;
    registry_district_t *d = NULL;
    if ((rc = registry_district_known(call, "ags", req->ags, &d)) != TH_OK)
        return rc;
    /* Which login is assigned where is personal data: whole for those who
     * read the person whole, and for a service of the Land (which needs
     * it to decide a manager's writes); a manager of the Land reads
     * managers without their logins, so not this. */
    const th_auth_read_t access =
        th_auth_reads_personal(p, d->state_code, req->principal_id);
    if (access == TH_AUTH_DENIED ||
        (access == TH_AUTH_WITHHELD && !th_auth_has_role(p, "service"))) {
        const char *who = th_call_printf(call,
                                         "role admin, ministry or service of Land %s, or "
                                         "principal \"%s\" itself",
                                         d->state_code, req->principal_id);
        return th_auth_deny(call, "checking a manager's assignment", who);
    }
    bool assigned = false;
    if (registry_store_principal_covers(call, req->principal_id, req->ags, as_of,
                                        &assigned) != 0)
        return th_answer_db_failure(call, "read the assignments");
    Teilhabe__Registry__V1__CheckAssignmentResponse *resp =
        th_call_alloc(call, sizeof *resp);
    teilhabe__registry__v1__check_assignment_response__init(resp);
    resp->assigned = assigned;
    *response = &resp->base;
    return TH_OK;
}
