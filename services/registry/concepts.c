/* ---------------------------------------------------------------------------
 * concepts.c: integration concepts: SetConcept (ministry of the Land, or a
 * manager of the district), GetConcept, ListConcepts, ListConceptVersions
 * (everyone). Every version is kept; SetConcept writes the next one.
 * ---------------------------------------------------------------------------
 */
#include "registry.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "teilhabe/v1/fields.pb-c.h"
#include "teilhabe/v1/registry.pb-c.h"
#include "th_answer.h"
#include "th_auth.h"
#include "th_check.h"
#include "th_enum.h"
#include "th_error.h"
#include "th_field.h"
#include "th_page.h"
#include "th_row.h"
#include "th_status.h"

/* Limits (documented in registry.proto and docs/registry.md). */
#define S_TITLE_MAX 200
#define S_LINK_MAX 2048

static const char *const s_concept_mask_fields[] = {
    "title", "adopted_on", "last_updated_on", "orientation", "fields", "link"};

static int
s_check_concept(th_call_t *call, const registry_concept_t *c)
{
    int rc;
    if ((rc = th_field_line(call, "concept.title", c->title, 1, S_TITLE_MAX)) !=
            TH_OK ||
        (rc = th_field_date(call, "concept.adopted_on", c->adopted_on, false)) !=
            TH_OK ||
        (rc = th_field_date(call, "concept.last_updated_on", c->last_updated_on,
                                  true)) != TH_OK)
        return rc;
    if (c->last_updated_on[0] != '\0' && strcmp(c->last_updated_on, c->adopted_on) < 0)
        return th_answer_invalid(call, "concept.last_updated_on",
                                "%s is before adopted_on %s", c->last_updated_on,
                                c->adopted_on);
    const ProtobufCEnumDescriptor *fields = &teilhabe__common__v1__field_of_action__descriptor;
    if ((rc = th_field_enum(call, "concept.orientation",
                            &teilhabe__registry__v1__orientation__descriptor,
                            (int) c->orientation, true)) != TH_OK)
        return rc;
    if (c->n_fields == 0 || c->n_fields > 10)
        return th_answer_invalid(call, "concept.fields",
                                 "must name 1 to 10 fields of action, got %zu", c->n_fields);
    for (size_t i = 0; i < c->n_fields; i++) {
        if ((rc = th_field_enum(call, "concept.fields", fields, (int) c->fields[i], true)) !=
            TH_OK)
            return rc;
        for (size_t k = 0; k < i; k++) {
            char token[TH_ENUM_TEXT_SIZE];
            if (c->fields[k] == c->fields[i])
                return th_answer_invalid(
                    call, "concept.fields", "%s is named twice",
                    th_enum_token(fields, (int) c->fields[i], token, sizeof token));
        }
    }
    return th_field_link(call, "concept.link", c->link, S_LINK_MAX);
}

/* Concepts of ags may be written by the ministry of its Land, and by a
 * manager who is assigned to it today (through a manager record linked to
 * the principal) or has it in the district scope of its key. */
static int
s_authorize_concept(th_call_t *call, const registry_district_t *d, const char *today)
{
    const th_principal_t *p = th_call_principal(call);
    /* Whether the manager is assigned is asked only when the rest of the
     * rule does not decide already. */
    bool assigned = false;
    if (th_auth_has_role(p, "manager") && !th_auth_has_district(p, d->ags) &&
        registry_store_principal_covers(call, p->id, d->ags, today, &assigned) != 0)
        return th_answer_db_failure(call, "read the manager assignments");
    if (th_auth_writes_district(p, d->state_code, d->ags, assigned))
        return TH_OK;
    char who[160];
    snprintf(who, sizeof who,
             "role ministry of Land %s, a service of Land %s or a manager assigned to %s on %s",
             d->state_code, d->state_code, d->ags, today);
    char right[64];
    snprintf(right, sizeof right, "writing the concept of district %s", d->ags);
    return th_auth_deny(call, right, who);
}

REGISTRY_HANDLER(registry_set_concept)
{
    const Teilhabe__Registry__V1__SetConceptRequest *req = (const void *) request;
    int rc;
    if ((rc = th_auth_need_principal(call)) != TH_OK)
        return rc;
    const th_principal_t *p = th_call_principal(call);
    if (!th_auth_has_role(p, "ministry") && !th_auth_has_role(p, "manager") &&
        !th_auth_has_role(p, "service"))
        return th_auth_deny(call, "writing concepts", "role ministry, manager or service");
    if (req->concept == NULL)
        return th_answer_invalid(call, "concept", "is required");
    const registry_concept_t *in = req->concept;
    if ((rc = th_field_ags(call, "concept.ags", in->ags)) != TH_OK)
        return rc;
    if (req->version < 0)
        return th_answer_invalid(call, "version",
                                "must be 0 (create) or the version last read");
    if ((rc = th_field_mask(
             call, req->update_mask, req->n_update_mask, s_concept_mask_fields,
             sizeof s_concept_mask_fields / sizeof s_concept_mask_fields[0])) != TH_OK)
        return rc;
    char today[TH_DATE_LEN + 1];
    th_date_today(today);

    TH_CALL_BEGIN_WRITE(call);
    registry_district_t *d = NULL;
    if ((rc = registry_district_on(call, "concept.ags", in->ags, today, &d)) != TH_OK ||
        (rc = s_authorize_concept(call, d, today)) != TH_OK)
        return rc;
    registry_concept_t *current = NULL;
    rc = registry_store_get_concept(call, in->ags, 0, &current);
    if (rc != 0 && rc != TH_ENOTFOUND)
        return th_answer_db_failure(call, "read the concept");
    registry_concept_t *merged = th_call_alloc(call, sizeof *merged);
    if (current == NULL) {
        if (req->version != 0)
            return th_call_error(call, TH_FAILED_PRECONDITION,
                                 "district %s has no concept yet, so version %" PRId64
                                 " is stale; create it with version 0",
                                 in->ags, req->version);
        *merged = *in;
    } else {
        if (req->version != current->version)
            return th_call_error(call, TH_FAILED_PRECONDITION,
                                 "the concept of district %s is at version %" PRId64
                                 ", not %" PRId64 "; read it again and retry",
                                 in->ags, current->version, req->version);
        *merged = *current;
        char *const *mask = req->update_mask;
        const size_t n = req->n_update_mask;
        if (th_check_mask_has(mask, n, "title"))
            merged->title = in->title;
        if (th_check_mask_has(mask, n, "adopted_on"))
            merged->adopted_on = in->adopted_on;
        if (th_check_mask_has(mask, n, "last_updated_on"))
            merged->last_updated_on = in->last_updated_on;
        if (th_check_mask_has(mask, n, "orientation"))
            merged->orientation = in->orientation;
        if (th_check_mask_has(mask, n, "fields")) {
            merged->fields = in->fields;
            merged->n_fields = in->n_fields;
        }
        if (th_check_mask_has(mask, n, "link"))
            merged->link = in->link;
    }
    merged->ags = d->ags;
    if ((rc = s_check_concept(call, merged)) != TH_OK)
        return rc;
    const int64_t next = current != NULL ? current->version + 1 : 1;
    if (current != NULL) {
        rc = registry_store_retire_concept(call, in->ags, current->version);
        if (rc == TH_ESTATE)
            return th_call_error(
                call, TH_FAILED_PRECONDITION,
                "the concept of district %s changed meanwhile (version %" PRId64
                " is stale); read it again and retry",
                in->ags, current->version);
        if (rc != 0)
            return th_answer_db_failure(call, "update the concept");
    }
    registry_concept_t *stored = NULL;
    rc = registry_store_insert_concept(call, merged, next, p->id, &stored);
    if (rc == TH_ESTATE)
        return th_call_error(
            call, TH_FAILED_PRECONDITION,
            "the concept of district %s was set meanwhile; read it again and "
            "retry",
            in->ags);
    if (rc != 0)
        return th_answer_db_failure(call, "store the concept");
    const char *resource = th_call_printf(call, "concepts/%s", in->ags);
    if ((rc = th_call_record(call, resource, current != NULL ? &current->base : NULL,
                             &stored->base, "concept.set", &stored->base)) != TH_OK)
        return rc;
    *response = &stored->base;
    return TH_OK;
}

REGISTRY_HANDLER(registry_get_concept)
{
    const Teilhabe__Registry__V1__GetConceptRequest *req = (const void *) request;
    int rc;
    if ((rc = th_auth_need_principal(call)) != TH_OK ||
        (rc = th_field_ags(call, "ags", req->ags)) != TH_OK)
        return rc;
    if (req->version < 0)
        return th_answer_invalid(call, "version", "must be 0 (current) or a version number");
    registry_district_t *d = NULL;
    rc = registry_read_district(call, req->ags, NULL, &d);
    if (rc == TH_ENOTFOUND)
        return th_answer_invalid(call, "ags", "no district with AGS %s is known", req->ags);
    if (rc != 0)
        return th_answer_db_failure(call, "read the district");
    registry_concept_t *c = NULL;
    rc = registry_store_get_concept(call, req->ags, req->version, &c);
    if (rc == TH_ENOTFOUND) {
        if (req->version == 0)
            return th_call_error(call, TH_NOT_FOUND,
                                 "district %s (%s) has no integration concept", d->ags,
                                 d->name);
        return th_call_error(call, TH_NOT_FOUND,
                             "the concept of district %s has no version %" PRId64, d->ags,
                             req->version);
    }
    if (rc != 0)
        return th_answer_db_failure(call, "read the concept");
    *response = &c->base;
    return TH_OK;
}

REGISTRY_HANDLER(registry_list_concepts)
{
    const Teilhabe__Registry__V1__ListConceptsRequest *req = (const void *) request;
    const ProtobufCEnumDescriptor *orientations =
        &teilhabe__registry__v1__orientation__descriptor;
    int rc;
    if ((rc = th_auth_need_principal(call)) != TH_OK ||
        (rc = registry_check_state(call, "state_code", req->state_code, true)) != TH_OK ||
        (rc = th_field_enum(call, "orientation", orientations, (int) req->orientation,
                            false)) != TH_OK ||
        (rc = th_field_date(call, "as_of", req->as_of, true)) != TH_OK)
        return rc;
    const char *orientation = th_row_enum_param(call, orientations, (int) req->orientation);
    const char *filters[] = {req->state_code, orientation != NULL ? orientation : "",
                             req->as_of};
    const th_page_request_t pr = {.list = "ListConcepts",
                                  .page_size = req->page_size,
                                  .default_size = REGISTRY_PAGE_DEFAULT,
                                  .max_size = REGISTRY_PAGE_MAX,
                                  .page_token = req->page_token,
                                  .filters = filters,
                                  .n_filters = 3,
                                  .n_keys = 1};
    th_page_t page;
    if ((rc = th_page_begin(call, &pr, &page)) != TH_OK)
        return rc;
    if (page.after[0] != NULL && !th_check_ags(page.after[0]))
        return th_page_invalid(call);
    Teilhabe__Registry__V1__ListConceptsResponse *resp = th_call_alloc(call, sizeof *resp);
    teilhabe__registry__v1__list_concepts_response__init(resp);
    if (registry_store_list_concepts(call, req->state_code[0] ? req->state_code : NULL,
                                     orientation, req->as_of[0] ? req->as_of : NULL,
                                     page.after[0], page.size + 1,
                                     &resp->concepts, &resp->n_concepts) != 0)
        return th_answer_db_failure(call, "list the concepts");
    if (resp->n_concepts > (size_t) page.size) {
        resp->n_concepts = (size_t) page.size;
        const char *last[] = {resp->concepts[page.size - 1]->ags};
        resp->next_page_token = th_page_token(call, &page, last);
    }
    *response = &resp->base;
    return TH_OK;
}

REGISTRY_HANDLER(registry_list_concept_versions)
{
    const Teilhabe__Registry__V1__ListConceptVersionsRequest *req = (const void *) request;
    int rc;
    if ((rc = th_auth_need_principal(call)) != TH_OK ||
        (rc = th_field_ags(call, "ags", req->ags)) != TH_OK)
        return rc;
    const char *filters[] = {req->ags};
    const th_page_request_t pr = {.list = "ListConceptVersions",
                                  .page_size = req->page_size,
                                  .default_size = REGISTRY_PAGE_DEFAULT,
                                  .max_size = REGISTRY_PAGE_MAX,
                                  .page_token = req->page_token,
                                  .filters = filters,
                                  .n_filters = 1,
                                  .n_keys = 1};
    th_page_t page;
    if ((rc = th_page_begin(call, &pr, &page)) != TH_OK)
        return rc;
    /* Newest first: the key is the version the next page stays below. */
    int64_t before_version = 0;
    if (page.after[0] != NULL &&
        (!th_check_count(page.after[0], 18, &before_version) || before_version < 1))
        return th_page_invalid(call);
    registry_district_t *d = NULL;
    if ((rc = registry_district_known(call, "ags", req->ags, &d)) != TH_OK)
        return rc;
    Teilhabe__Registry__V1__ListConceptVersionsResponse *resp =
        th_call_alloc(call, sizeof *resp);
    teilhabe__registry__v1__list_concept_versions_response__init(resp);
    if (registry_store_list_concept_versions(call, req->ags, before_version, page.size + 1,
                                             &resp->concepts, &resp->n_concepts) != 0)
        return th_answer_db_failure(call, "list the concept versions");
    if (resp->n_concepts > (size_t) page.size) {
        resp->n_concepts = (size_t) page.size;
        const char *last[] = {
            th_call_printf(call, "%" PRId64, resp->concepts[page.size - 1]->version)};
        resp->next_page_token = th_page_token(call, &page, last);
    }
    *response = &resp->base;
    return TH_OK;
}
