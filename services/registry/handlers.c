/* ---------------------------------------------------------------------------
 * handlers.c: validation, authorization and the flow of the Registry's
 * district and concept methods, and the table of every method's handler
 * (managers.c, principals.c and events.c hold the others).
 *
 * Order inside a handler: who is calling (UNAUTHENTICATED / PERMISSION_DENIED
 * for rights that need no data), what was asked (INVALID_ARGUMENT), then the
 * data (NOT_FOUND, OUT_OF_RANGE, FAILED_PRECONDITION, rights that depend on
 * the data). Writes open the call's write transaction before reading what
 * they change, so the checks and the write see the same rows; a right that
 * depends on the data is checked on an unlocked read first, so a caller
 * without it never takes a lock (managers.c).
 * ---------------------------------------------------------------------------
 */
#include "handlers.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "events.h"
#include "managers.h"
#include "model.h"
#include "principals.h"
#include "store.h"
#include "teilhabe/v1/registry.pb-c.h"
#include "th_auth.h"
#include "th_date.h"
#include "th_error.h"
#include "th_log.h"
#include "th_status.h"
#include "th_text.h"

/* Limits (documented in registry.proto and docs/registry.md). */
#define S_TITLE_MAX 200
#define S_NOTE_MAX 1000
#define S_LINK_MAX 2048
#define S_SEARCH_MAX 100
#define S_SEARCH_PAGE_DEFAULT 20
#define S_SEARCH_PAGE_MAX 100

/* --- districts ---------------------------------------------------------- */

static int
s_get_district(th_call_t *call, const ProtobufCMessage *request,
               ProtobufCMessage **response)
{
    const Teilhabe__Registry__V1__GetDistrictRequest *req = (const void *) request;
    char as_of[TH_DATE_LEN + 1];
    int rc;
    if ((rc = registry_need_principal(call)) != TH_OK ||
        (rc = registry_check_ags(call, "ags", req->ags)) != TH_OK ||
        (rc = registry_as_of(call, "as_of", req->as_of, as_of)) != TH_OK)
        return rc;
    registry_district_t *d = NULL;
    if ((rc = registry_district_on(call, "ags", req->ags, as_of, &d)) != TH_OK)
        return rc;
    *response = &d->base;
    return TH_OK;
}

static int
s_list_districts(th_call_t *call, const ProtobufCMessage *request,
                 ProtobufCMessage **response)
{
    const Teilhabe__Registry__V1__ListDistrictsRequest *req = (const void *) request;
    char as_of[TH_DATE_LEN + 1];
    int limit = 0, rc;
    char *after = NULL;
    if ((rc = registry_need_principal(call)) != TH_OK ||
        (rc = registry_check_state(call, "state_code", req->state_code, true)) != TH_OK)
        return rc;
    if (req->kind != 0 && registry_kind_text((int) req->kind) == NULL)
        return registry_invalid(call, "kind", "unknown DistrictKind %d", (int) req->kind);
    if (req->settlement_type != 0 &&
        registry_settlement_text((int) req->settlement_type) == NULL)
        return registry_invalid(call, "settlement_type", "unknown SettlementType %d",
                                (int) req->settlement_type);
    if ((rc = registry_page_size(call, "page_size", req->page_size, REGISTRY_PAGE_DEFAULT,
                                 REGISTRY_PAGE_MAX, &limit)) != TH_OK ||
        (rc = registry_token_decode(call, req->page_token, 'd', &after)) != TH_OK ||
        (rc = registry_as_of(call, "as_of", req->as_of, as_of)) != TH_OK)
        return rc;
    if (after != NULL && !registry_digits(after, 5))
        return registry_invalid(call, "page_token", "not a token this method returned");
    const registry_district_filter_t filter = {
        .as_of = as_of,
        .state_code = req->state_code[0] != '\0' ? req->state_code : NULL,
        .kind = registry_kind_text((int) req->kind),
        .settlement_type = registry_settlement_text((int) req->settlement_type),
        .after_ags = after,
        .limit = limit + 1, /* one more tells whether another page follows */
    };
    Teilhabe__Registry__V1__ListDistrictsResponse *resp = th_call_alloc(call, sizeof *resp);
    teilhabe__registry__v1__list_districts_response__init(resp);
    int total = 0;
    if (registry_store_list_districts(call, &filter, &resp->districts, &resp->n_districts,
                                      &total) != 0)
        return registry_db_fail(call, "list the districts");
    if (resp->n_districts > (size_t) limit) {
        resp->n_districts = (size_t) limit;
        resp->next_page_token = registry_token(call, 'd', resp->districts[limit - 1]->ags);
    }
    resp->total_size = total;
    *response = &resp->base;
    return TH_OK;
}

static int
s_search_districts(th_call_t *call, const ProtobufCMessage *request,
                   ProtobufCMessage **response)
{
    const Teilhabe__Registry__V1__SearchDistrictsRequest *req = (const void *) request;
    char as_of[TH_DATE_LEN + 1];
    int limit = 0, rc;
    if ((rc = registry_need_principal(call)) != TH_OK ||
        (rc = registry_check_line(call, "text", req->text, 1, S_SEARCH_MAX)) != TH_OK ||
        (rc = registry_page_size(call, "page_size", req->page_size, S_SEARCH_PAGE_DEFAULT,
                                 S_SEARCH_PAGE_MAX, &limit)) != TH_OK ||
        (rc = registry_as_of(call, "as_of", req->as_of, as_of)) != TH_OK)
        return rc;
    char *folded = th_text_fold(req->text, false);
    if (folded == NULL)
        return registry_invalid(call, "text", "is not valid UTF-8");
    if (folded[0] == '\0') {
        free(folded);
        return registry_invalid(call, "text", "must contain a letter or digit");
    }
    char *key = th_call_strdup(call, folded);
    free(folded);
    Teilhabe__Registry__V1__SearchDistrictsResponse *resp =
        th_call_alloc(call, sizeof *resp);
    teilhabe__registry__v1__search_districts_response__init(resp);
    if (registry_store_search_districts(call, key, as_of, req->include_ended, limit,
                                        &resp->districts, &resp->n_districts) != 0)
        return registry_db_fail(call, "search the districts");
    *response = &resp->base;
    return TH_OK;
}

static int
s_list_states(th_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **response)
{
    const Teilhabe__Registry__V1__ListStatesRequest *req = (const void *) request;
    char as_of[TH_DATE_LEN + 1];
    int rc;
    if ((rc = registry_need_principal(call)) != TH_OK ||
        (rc = registry_as_of(call, "as_of", req->as_of, as_of)) != TH_OK)
        return rc;
    Teilhabe__Registry__V1__ListStatesResponse *resp = th_call_alloc(call, sizeof *resp);
    teilhabe__registry__v1__list_states_response__init(resp);
    if (registry_store_list_states(call, as_of, &resp->states, &resp->n_states) != 0)
        return registry_db_fail(call, "list the Länder");
    resp->population_date = (char *) "";
    for (size_t i = 0; i < resp->n_states; i++) {
        const registry_state_t *st = resp->states[i];
        resp->total_districts += st->district_count;
        resp->total_population += st->population;
        /* The oldest reference date of any Land's population. */
        if (st->population_date[0] != '\0' &&
            (resp->population_date[0] == '\0' ||
             strcmp(st->population_date, resp->population_date) < 0))
            resp->population_date = st->population_date;
    }
    resp->as_of = th_call_strdup(call, as_of);
    *response = &resp->base;
    return TH_OK;
}

static int
s_get_history(th_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **response)
{
    const Teilhabe__Registry__V1__GetTerritorialHistoryRequest *req =
        (const void *) request;
    int rc;
    if ((rc = registry_need_principal(call)) != TH_OK ||
        (rc = registry_check_ags(call, "ags", req->ags)) != TH_OK)
        return rc;
    Teilhabe__Registry__V1__GetTerritorialHistoryResponse *resp =
        th_call_alloc(call, sizeof *resp);
    teilhabe__registry__v1__get_territorial_history_response__init(resp);
    rc = registry_store_get_district(call, req->ags, NULL, &resp->district);
    if (rc == TH_ENOTFOUND)
        return registry_invalid(call, "ags", "no district with AGS %s is known", req->ags);
    if (rc != 0)
        return registry_db_fail(call, "read the district");
    if (registry_store_list_changes(call, req->ags, &resp->changes, &resp->n_changes) != 0)
        return registry_db_fail(call, "read the territorial changes");
    *response = &resp->base;
    return TH_OK;
}

/* A district that absorbs another on or after effective cannot end before
 * it: that merger's people would go into a district that no longer exists. */
static int
s_check_absorbs_none_later(th_call_t *call, const registry_district_t *d,
                           const char *effective)
{
    registry_change_t **changes = NULL;
    size_t n = 0;
    if (registry_store_list_changes(call, d->ags, &changes, &n) != 0)
        return registry_db_fail(call, "read the territorial changes");
    for (size_t i = 0; i < n; i++) {
        const registry_change_t *c = changes[i];
        if (strcmp(c->successor_ags, d->ags) == 0 && strcmp(c->effective, effective) >= 0)
            return th_call_error(call, TH_FAILED_PRECONDITION,
                                 "district %s (%s) absorbs %s on %s, so it cannot end "
                                 "before; a district ends after every merger into it",
                                 d->ags, d->name, c->ags, c->effective);
    }
    return TH_OK;
}

static int
s_record_change(th_call_t *call, const ProtobufCMessage *request,
                ProtobufCMessage **response)
{
    const Teilhabe__Registry__V1__RecordTerritorialChangeRequest *req =
        (const void *) request;
    int rc;
    if ((rc = registry_need_admin(call, "recording a territorial change")) != TH_OK ||
        (rc = registry_check_date(call, "effective", req->effective, false)) != TH_OK)
        return rc;
    const char *kind = registry_change_kind_text((int) req->kind);
    if (kind == NULL)
        return registry_invalid(
            call, "kind", "must be TERRITORIAL_CHANGE_KIND_MERGE, got %d", (int) req->kind);
    if ((rc = registry_check_ags(call, "ags", req->ags)) != TH_OK ||
        (rc = registry_check_ags(call, "successor_ags", req->successor_ags)) != TH_OK ||
        (rc = registry_check_line(call, "note", req->note, 0, S_NOTE_MAX)) != TH_OK)
        return rc;
    if (strcmp(req->ags, req->successor_ags) == 0)
        return registry_invalid(call, "successor_ags", "must differ from ags");
    char last_day[TH_DATE_LEN + 1];
    if (th_date_add_days(req->effective, -1, last_day) != 0)
        return registry_invalid(call, "effective", "%s has no day before it in range",
                                req->effective);

    TH_CALL_BEGIN_WRITE(call);
    rc = registry_store_lock_districts(call, req->ags, req->successor_ags);
    if (rc == TH_EDB)
        return registry_db_fail(call, "lock the districts");
    registry_district_t *before = NULL, *succ = NULL;
    rc = registry_store_get_district(call, req->ags, NULL, &before);
    if (rc == TH_ENOTFOUND)
        return registry_invalid(call, "ags", "no district with AGS %s is known", req->ags);
    if (rc != 0)
        return registry_db_fail(call, "read the district");
    /* The successor with the figures the merger changes: those of the
     * effective date. */
    rc = registry_store_get_district(call, req->successor_ags, req->effective, &succ);
    if (rc == TH_ENOTFOUND)
        return registry_invalid(call, "successor_ags", "no district with AGS %s is known",
                                req->successor_ags);
    if (rc != 0)
        return registry_db_fail(call, "read the successor");
    if (before->valid_to[0] != '\0')
        return th_call_error(
            call, TH_FAILED_PRECONDITION,
            "district %s (%s) already ended on %s (successor %s); a district "
            "ends once",
            before->ags, before->name, before->valid_to, before->successor_ags);
    if (strcmp(last_day, before->valid_from) < 0)
        return registry_invalid(call, "effective",
                                "must be after %s, the first day the registry knows %s",
                                before->valid_from, before->ags);
    if (strcmp(last_day, succ->valid_from) < 0 ||
        (succ->valid_to[0] != '\0' && strcmp(succ->valid_to, req->effective) < 0))
        return registry_invalid(call, "successor_ags",
                                "district %s does not exist on both %s and %s", succ->ags,
                                last_day, req->effective);
    if (strcmp(before->state_code, succ->state_code) != 0)
        return registry_invalid(
            call, "successor_ags",
            "district %s is in Land %s, %s in Land %s; a merge stays in its Land",
            succ->ags, succ->state_code, before->ags, before->state_code);
    if ((rc = s_check_absorbs_none_later(call, before, req->effective)) != TH_OK)
        return rc;
    registry_change_t *change = NULL;
    rc = registry_store_record_change(call, req->effective, kind, req->ags,
                                      req->successor_ags, req->note,
                                      th_call_principal(call)->id, &change);
    if (rc == TH_ESTATE)
        return th_call_error(call, TH_ABORTED, "district %s changed meanwhile; try again",
                             req->ags);
    if (rc != 0)
        return registry_db_fail(call, "record the territorial change");
    registry_district_t *after = NULL, *succ_after = NULL;
    if (registry_store_get_district(call, req->ags, NULL, &after) != 0 ||
        registry_store_get_district(call, req->successor_ags, req->effective,
                                    &succ_after) != 0)
        return registry_db_fail(call, "read the districts");
    const char *resource = th_call_printf(call, "districts/%s", req->ags);
    if ((rc = th_call_record(call, resource, &before->base, &after->base,
                             "district.changed", &after->base)) != TH_OK)
        return rc;
    if (th_call_emit(call, REGISTRY_SCHEMA, "territorial_change.recorded", resource,
                     &change->base) != 0)
        return registry_db_fail(call, "write the event");
    /* The successor's area and population from effective on. */
    if ((rc = th_call_record(call, th_call_printf(call, "districts/%s", succ->ags),
                             &succ->base, &succ_after->base, "district.changed",
                             &succ_after->base)) != TH_OK)
        return rc;
    th_log_info(th_call_id(call), "territorial change recorded",
                "ags=%s successor=%s effective=%s", req->ags, req->successor_ags,
                req->effective);
    *response = &change->base;
    return TH_OK;
}

/* --- concepts ----------------------------------------------------------- */

static const char *const s_concept_mask_fields[] = {
    "title", "adopted_on", "last_updated_on", "orientation", "fields", "link"};

static int
s_check_link(th_call_t *call, const char *field, const char *link)
{
    if (link == NULL || link[0] == '\0')
        return TH_OK;
    const size_t len = strlen(link);
    if (len > S_LINK_MAX)
        return registry_invalid(call, field, "is %zu bytes long, at most %d allowed", len,
                                S_LINK_MAX);
    if (strncmp(link, "https://", 8) != 0 && strncmp(link, "http://", 7) != 0)
        return registry_invalid(call, field, "must start with https:// or http://");
    for (size_t i = 0; i < len; i++) {
        const unsigned char c = (unsigned char) link[i];
        if (c <= 0x20 || c == 0x7f)
            return registry_invalid(call, field,
                                    "must not contain spaces or control characters");
    }
    return TH_OK;
}

static int
s_check_concept(th_call_t *call, const registry_concept_t *c)
{
    int rc;
    if ((rc = registry_check_line(call, "concept.title", c->title, 1, S_TITLE_MAX)) !=
            TH_OK ||
        (rc = registry_check_date(call, "concept.adopted_on", c->adopted_on, false)) !=
            TH_OK ||
        (rc = registry_check_date(call, "concept.last_updated_on", c->last_updated_on,
                                  true)) != TH_OK)
        return rc;
    if (c->last_updated_on[0] != '\0' && strcmp(c->last_updated_on, c->adopted_on) < 0)
        return registry_invalid(call, "concept.last_updated_on",
                                "%s is before adopted_on %s", c->last_updated_on,
                                c->adopted_on);
    if (registry_orientation_text((int) c->orientation) == NULL)
        return registry_invalid(call, "concept.orientation",
                                "must be PARTICIPATION, NEWCOMERS or UNCLEAR, got %d",
                                (int) c->orientation);
    if (c->n_fields == 0 || c->n_fields > 10)
        return registry_invalid(call, "concept.fields",
                                "must name 1 to 10 fields of action, got %zu", c->n_fields);
    for (size_t i = 0; i < c->n_fields; i++) {
        if (registry_field_text((int) c->fields[i]) == NULL)
            return registry_invalid(call, "concept.fields", "unknown FieldOfAction %d",
                                    (int) c->fields[i]);
        for (size_t k = 0; k < i; k++) {
            if (c->fields[k] == c->fields[i])
                return registry_invalid(call, "concept.fields", "%s is named twice",
                                        registry_field_text((int) c->fields[i]));
        }
    }
    return s_check_link(call, "concept.link", c->link);
}

/* Concepts of ags may be written by the ministry of its Land, and by a
 * manager who is assigned to it today (through a manager record linked to
 * the principal) or has it in the district scope of its key. */
static int
s_authorize_concept(th_call_t *call, const registry_district_t *d, const char *today)
{
    const th_principal_t *p = th_call_principal(call);
    if (th_auth_has_role(p, "ministry") && p->state_scope[0] != '\0' &&
        strcmp(p->state_scope, d->state_code) == 0)
        return TH_OK;
    if (th_auth_has_role(p, "manager")) {
        if (th_auth_has_district(p, d->ags))
            return TH_OK;
        bool covers = false;
        if (registry_store_principal_covers(call, p->id, d->ags, today, &covers) != 0)
            return registry_db_fail(call, "read the manager assignments");
        if (covers)
            return TH_OK;
    }
    return th_call_error(call, TH_PERMISSION_DENIED,
                         "permission denied: writing the concept of district %s needs role "
                         "ministry of Land %s or a manager assigned to %s on %s; principal "
                         "\"%s\" has role %s",
                         d->ags, d->state_code, d->ags, today, p->id, p->role);
}

static int
s_set_concept(th_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **response)
{
    const Teilhabe__Registry__V1__SetConceptRequest *req = (const void *) request;
    int rc;
    if ((rc = registry_need_principal(call)) != TH_OK)
        return rc;
    const th_principal_t *p = th_call_principal(call);
    if (!th_auth_has_role(p, "ministry") && !th_auth_has_role(p, "manager"))
        return th_call_error(call, TH_PERMISSION_DENIED,
                             "permission denied: writing concepts needs role ministry or "
                             "manager; principal \"%s\" has role %s",
                             p->id, p->role);
    if (req->concept == NULL)
        return registry_invalid(call, "concept", "is required");
    const registry_concept_t *in = req->concept;
    if ((rc = registry_check_ags(call, "concept.ags", in->ags)) != TH_OK)
        return rc;
    if (req->version < 0)
        return registry_invalid(call, "version",
                                "must be 0 (create) or the version last read");
    if ((rc = registry_check_mask(
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
        return registry_db_fail(call, "read the concept");
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
        if (registry_in_mask(mask, n, "title"))
            merged->title = in->title;
        if (registry_in_mask(mask, n, "adopted_on"))
            merged->adopted_on = in->adopted_on;
        if (registry_in_mask(mask, n, "last_updated_on"))
            merged->last_updated_on = in->last_updated_on;
        if (registry_in_mask(mask, n, "orientation"))
            merged->orientation = in->orientation;
        if (registry_in_mask(mask, n, "fields")) {
            merged->fields = in->fields;
            merged->n_fields = in->n_fields;
        }
        if (registry_in_mask(mask, n, "link"))
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
            return registry_db_fail(call, "update the concept");
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
        return registry_db_fail(call, "store the concept");
    const char *resource = th_call_printf(call, "concepts/%s", in->ags);
    if ((rc = th_call_record(call, resource, current != NULL ? &current->base : NULL,
                             &stored->base, "concept.set", &stored->base)) != TH_OK)
        return rc;
    *response = &stored->base;
    return TH_OK;
}

static int
s_get_concept(th_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **response)
{
    const Teilhabe__Registry__V1__GetConceptRequest *req = (const void *) request;
    int rc;
    if ((rc = registry_need_principal(call)) != TH_OK ||
        (rc = registry_check_ags(call, "ags", req->ags)) != TH_OK)
        return rc;
    if (req->version < 0)
        return registry_invalid(call, "version", "must be 0 (current) or a version number");
    registry_district_t *d = NULL;
    rc = registry_store_get_district(call, req->ags, NULL, &d);
    if (rc == TH_ENOTFOUND)
        return registry_invalid(call, "ags", "no district with AGS %s is known", req->ags);
    if (rc != 0)
        return registry_db_fail(call, "read the district");
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
        return registry_db_fail(call, "read the concept");
    *response = &c->base;
    return TH_OK;
}

static int
s_list_concepts(th_call_t *call, const ProtobufCMessage *request,
                ProtobufCMessage **response)
{
    const Teilhabe__Registry__V1__ListConceptsRequest *req = (const void *) request;
    int limit = 0, rc;
    char *after = NULL;
    if ((rc = registry_need_principal(call)) != TH_OK ||
        (rc = registry_check_state(call, "state_code", req->state_code, true)) != TH_OK)
        return rc;
    if (req->orientation != 0 && registry_orientation_text((int) req->orientation) == NULL)
        return registry_invalid(call, "orientation", "unknown Orientation %d",
                                (int) req->orientation);
    if ((rc = registry_page_size(call, "page_size", req->page_size, REGISTRY_PAGE_DEFAULT,
                                 REGISTRY_PAGE_MAX, &limit)) != TH_OK ||
        (rc = registry_token_decode(call, req->page_token, 'c', &after)) != TH_OK)
        return rc;
    if (after != NULL && !registry_digits(after, 5))
        return registry_invalid(call, "page_token", "not a token this method returned");
    Teilhabe__Registry__V1__ListConceptsResponse *resp = th_call_alloc(call, sizeof *resp);
    teilhabe__registry__v1__list_concepts_response__init(resp);
    if (registry_store_list_concepts(call, req->state_code[0] ? req->state_code : NULL,
                                     registry_orientation_text((int) req->orientation),
                                     after, limit + 1, &resp->concepts,
                                     &resp->n_concepts) != 0)
        return registry_db_fail(call, "list the concepts");
    if (resp->n_concepts > (size_t) limit) {
        resp->n_concepts = (size_t) limit;
        resp->next_page_token = registry_token(call, 'c', resp->concepts[limit - 1]->ags);
    }
    *response = &resp->base;
    return TH_OK;
}

static int
s_list_concept_versions(th_call_t *call, const ProtobufCMessage *request,
                        ProtobufCMessage **response)
{
    const Teilhabe__Registry__V1__ListConceptVersionsRequest *req = (const void *) request;
    int limit = 0, rc;
    char *before = NULL;
    if ((rc = registry_need_principal(call)) != TH_OK ||
        (rc = registry_check_ags(call, "ags", req->ags)) != TH_OK ||
        (rc = registry_page_size(call, "page_size", req->page_size, REGISTRY_PAGE_DEFAULT,
                                 REGISTRY_PAGE_MAX, &limit)) != TH_OK ||
        (rc = registry_token_decode(call, req->page_token, 'v', &before)) != TH_OK)
        return rc;
    int64_t before_version = 0;
    if (before != NULL) {
        char *end = NULL;
        before_version = strtoll(before, &end, 10);
        if (end == before || *end != '\0' || before_version < 1)
            return registry_invalid(call, "page_token", "not a token this method returned");
    }
    registry_district_t *d = NULL;
    rc = registry_store_get_district(call, req->ags, NULL, &d);
    if (rc == TH_ENOTFOUND)
        return registry_invalid(call, "ags", "no district with AGS %s is known", req->ags);
    if (rc != 0)
        return registry_db_fail(call, "read the district");
    Teilhabe__Registry__V1__ListConceptVersionsResponse *resp =
        th_call_alloc(call, sizeof *resp);
    teilhabe__registry__v1__list_concept_versions_response__init(resp);
    if (registry_store_list_concept_versions(call, req->ags, before_version, limit + 1,
                                             &resp->concepts, &resp->n_concepts) != 0)
        return registry_db_fail(call, "list the concept versions");
    if (resp->n_concepts > (size_t) limit) {
        resp->n_concepts = (size_t) limit;
        resp->next_page_token =
            th_call_printf(call, "v:%" PRId64, resp->concepts[limit - 1]->version);
    }
    *response = &resp->base;
    return TH_OK;
}

/* --- the table ---------------------------------------------------------- */

static const struct {
    const char *name;
    th_method_fn fn;
} s_table[] = {
    {"GetDistrict", s_get_district},
    {"ListDistricts", s_list_districts},
    {"SearchDistricts", s_search_districts},
    {"ListStates", s_list_states},
    {"GetTerritorialHistory", s_get_history},
    {"RecordTerritorialChange", s_record_change},
    {"SetConcept", s_set_concept},
    {"GetConcept", s_get_concept},
    {"ListConcepts", s_list_concepts},
    {"ListConceptVersions", s_list_concept_versions},
    {"CreateManager", registry_managers_create},
    {"UpdateManager", registry_managers_update},
    {"GetManager", registry_managers_get},
    {"AssignManager", registry_managers_assign},
    {"UnassignManager", registry_managers_unassign},
    {"ListManagers", registry_managers_list},
    {"CreatePrincipal", registry_principals_create},
    {"ListPrincipals", registry_principals_list},
    {"RevokePrincipal", registry_principals_revoke},
    {"ListEvents", registry_events_list},
};

int
registry_handlers_fill(const ProtobufCServiceDescriptor *desc, th_method_fn *out)
{
    for (unsigned i = 0; i < desc->n_methods; i++) {
        out[i] = NULL;
        for (size_t k = 0; k < sizeof s_table / sizeof s_table[0]; k++) {
            if (strcmp(desc->methods[i].name, s_table[k].name) == 0)
                out[i] = s_table[k].fn;
        }
        if (out[i] == NULL)
            return TH_EINVAL;
    }
    return 0;
}
