/* ---------------------------------------------------------------------------
 * changes.c: territorial history: GetTerritorialHistory (everyone) and
 * RecordTerritorialChange (admin): a merger ends a district the day before
 * its effective date and moves its area and population into the
 * successor's from that date on. The write reads the districts through
 * the store, in its transaction and under its locks, never from the cache.
 * ---------------------------------------------------------------------------
 */
#include "registry.h"

#include <stdio.h>
#include <string.h>

#include "cache.h"
#include "teilhabe/v1/registry.pb-c.h"
#include "th_answer.h"
#include "th_auth.h"
#include "th_date.h"
#include "th_error.h"
#include "th_field.h"
#include "th_log.h"
#include "th_row.h"
#include "th_status.h"

#define S_NOTE_MAX 1000

REGISTRY_HANDLER(registry_get_history)
{
    const Teilhabe__Registry__V1__GetTerritorialHistoryRequest *req =
        (const void *) request;
    int rc;
    if ((rc = th_auth_need_principal(call)) != TH_OK ||
        (rc = th_field_ags(call, "ags", req->ags)) != TH_OK)
        return rc;
    Teilhabe__Registry__V1__GetTerritorialHistoryResponse *resp =
        th_call_alloc(call, sizeof *resp);
    teilhabe__registry__v1__get_territorial_history_response__init(resp);
    rc = registry_read_district(call, req->ags, NULL, &resp->district);
    if (rc == TH_ENOTFOUND)
        return th_answer_invalid(call, "ags", "no district with AGS %s is known", req->ags);
    if (rc != 0)
        return th_answer_db_failure(call, "read the district");
    if (registry_read_changes(call, req->ags, &resp->changes, &resp->n_changes) != 0)
        return th_answer_db_failure(call, "read the territorial changes");
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
        return th_answer_db_failure(call, "read the territorial changes");
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

REGISTRY_HANDLER(registry_record_change)
{
    const Teilhabe__Registry__V1__RecordTerritorialChangeRequest *req =
        (const void *) request;
    int rc;
    if ((rc = th_auth_need_role(call, "admin", "recording a territorial change")) != TH_OK ||
        (rc = th_field_date(call, "effective", req->effective, false)) != TH_OK)
        return rc;
    if ((rc = th_field_enum(call, "kind", &teilhabe__registry__v1__territorial_change_kind__descriptor,
                            (int) req->kind, true)) != TH_OK)
        return rc;
    const char *kind = th_row_enum_param(
        call, &teilhabe__registry__v1__territorial_change_kind__descriptor, (int) req->kind);
    if ((rc = th_field_ags(call, "ags", req->ags)) != TH_OK ||
        (rc = th_field_ags(call, "successor_ags", req->successor_ags)) != TH_OK ||
        (rc = th_field_line(call, "note", req->note, 0, S_NOTE_MAX)) != TH_OK)
        return rc;
    if (strcmp(req->ags, req->successor_ags) == 0)
        return th_answer_invalid(call, "successor_ags", "must differ from ags");
    char last_day[TH_DATE_LEN + 1];
    if (th_date_add_days(req->effective, -1, last_day) != 0)
        return th_answer_invalid(call, "effective", "%s has no day before it in range",
                                req->effective);

    TH_CALL_BEGIN_WRITE(call);
    rc = registry_store_lock_districts(call, req->ags, req->successor_ags);
    if (rc == TH_EDB)
        return th_answer_db_failure(call, "lock the districts");
    registry_district_t *before = NULL, *succ = NULL;
    rc = registry_store_get_district(call, req->ags, NULL, &before);
    if (rc == TH_ENOTFOUND)
        return th_answer_invalid(call, "ags", "no district with AGS %s is known", req->ags);
    if (rc != 0)
        return th_answer_db_failure(call, "read the district");
    /* The successor with the figures the merger changes: those of the
     * effective date. */
    rc = registry_store_get_district(call, req->successor_ags, req->effective, &succ);
    if (rc == TH_ENOTFOUND)
        return th_answer_invalid(call, "successor_ags", "no district with AGS %s is known",
                                req->successor_ags);
    if (rc != 0)
        return th_answer_db_failure(call, "read the successor");
    if (before->valid_to[0] != '\0')
        return th_call_error(
            call, TH_FAILED_PRECONDITION,
            "district %s (%s) already ended on %s (successor %s); a district "
            "ends once",
            before->ags, before->name, before->valid_to, before->successor_ags);
    if (strcmp(last_day, before->valid_from) < 0)
        return th_answer_invalid(call, "effective",
                                "must be after %s, the first day the registry knows %s",
                                before->valid_from, before->ags);
    if (strcmp(last_day, succ->valid_from) < 0 ||
        (succ->valid_to[0] != '\0' && strcmp(succ->valid_to, req->effective) < 0))
        return th_answer_invalid(call, "successor_ags",
                                "district %s does not exist on both %s and %s", succ->ags,
                                last_day, req->effective);
    if (strcmp(before->state_code, succ->state_code) != 0)
        return th_answer_invalid(
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
        return th_answer_db_failure(call, "record the territorial change");
    registry_district_t *after = NULL, *succ_after = NULL;
    if (registry_store_get_district(call, req->ags, NULL, &after) != 0 ||
        registry_store_get_district(call, req->successor_ags, req->effective,
                                    &succ_after) != 0)
        return th_answer_db_failure(call, "read the districts");
    const char *resource = th_call_printf(call, "districts/%s", req->ags);
    if ((rc = th_call_record(call, resource, &before->base, &after->base,
                             "district.changed", &after->base)) != TH_OK)
        return rc;
    if (th_call_emit(call, REGISTRY_SCHEMA, "territorial_change.recorded", resource,
                     &change->base) != 0)
        return th_answer_db_failure(call, "write the event");
    /* The successor's area and population from effective on. */
    if ((rc = th_call_record(call, th_call_printf(call, "districts/%s", succ->ags),
                             &succ->base, &succ_after->base, "district.changed",
                             &succ_after->base)) != TH_OK)
        return rc;
    /* This instance answers from the database until its cache holds the
     * change (cache.h): its caller may ask it next. */
    int64_t version = 0;
    if (registry_store_territory_version(call, &version) != 0)
        return th_answer_db_failure(call, "read the territory version");
    const registry_handlers_state_t *state = th_call_state(call);
    if (state != NULL)
        registry_cache_expect(state->cache, version);
    th_log_info(th_call_id(call), "territorial change recorded",
                "ags=%s successor=%s effective=%s", req->ags, req->successor_ags,
                req->effective);
    *response = &change->base;
    return TH_OK;
}
