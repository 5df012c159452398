/* ---------------------------------------------------------------------------
 * measures.c: measures: CreateMeasure (the ministry of the Land, or a
 * manager of the district), GetMeasure and ListMeasures (the read rule for
 * records, th_auth_reads_records), and the check of a measure's fields.
 * ---------------------------------------------------------------------------
 */
#include "measures.h"

#include <stdio.h>
#include <string.h>

#include "teilhabe/v1/fields.pb-c.h"
#include "teilhabe/v1/measures.pb-c.h"
#include "th_answer.h"
#include "th_auth.h"
#include "th_check.h"
#include "th_date.h"
#include "th_error.h"
#include "th_field.h"
#include "th_page.h"
#include "th_row.h"
#include "th_status.h"

const char *
measures_resource(th_call_t *call, const measure_t *m)
{
    return th_call_printf(call, "districts/%s/measures/%s", m->ags, m->id);
}

int
measures_check_measure(th_call_t *call, const measure_t *m)
{
    int rc;
    if ((rc = th_field_ags(call, "measure.ags", m->ags)) != TH_OK ||
        (rc = th_field_line(call, "measure.title", m->title, 1, MEASURES_TITLE_MAX)) !=
            TH_OK ||
        (rc = th_field_paragraphs(call, "measure.description", m->description, 0,
                                  MEASURES_DESCRIPTION_MAX)) != TH_OK ||
        (rc = th_field_line(call, "measure.municipality", m->municipality, 0,
                            MEASURES_MUNICIPALITY_MAX)) != TH_OK ||
        (rc = th_field_municipality(call, "measure.municipality_key", m->municipality_key,
                                    m->ags, true)) != TH_OK ||
        (rc = th_field_enum(call, "measure.field",
                            &teilhabe__common__v1__field_of_action__descriptor,
                            (int) m->field, true)) != TH_OK ||
        (rc = th_field_enum(call, "measure.target_group",
                            &teilhabe__measures__v1__target_group__descriptor,
                            (int) m->target_group, true)) != TH_OK)
        return rc;
    if (m->target_group == TEILHABE__MEASURES__V1__TARGET_GROUP__TARGET_GROUP_GROUP) {
        if ((rc = th_field_line(call, "measure.target_group_name", m->target_group_name, 1,
                                MEASURES_GROUP_NAME_MAX)) != TH_OK)
            return rc;
    } else if (m->target_group_name[0] != '\0') {
        return th_answer_invalid(
            call, "measure.target_group_name",
            "names the group of target_group group only; leave it empty "
            "for all_residents and newcomers");
    }
    if ((rc = th_field_date(call, "measure.start_date", m->start_date, true)) != TH_OK ||
        (rc = th_field_date(call, "measure.end_date", m->end_date, true)) != TH_OK)
        return rc;
    if (m->end_date[0] != '\0' && m->start_date[0] == '\0')
        return th_answer_invalid(call, "measure.end_date",
                                 "an end date needs a start date; set start_date too");
    if ((rc = th_field_date_order(call, "measure.end_date", m->start_date, m->end_date)) !=
            TH_OK ||
        (rc = th_field_cents(call, "measure.budget_cents", m->budget_cents)) != TH_OK)
        return rc;
    return th_field_line(call, "measure.funding_source", m->funding_source, 0,
                         MEASURES_FUNDING_MAX);
}

MEASURES_HANDLER(measures_create)
{
    static const char right[] = "creating a measure";
    const Teilhabe__Measures__V1__CreateMeasureRequest *req = (const void *) request;
    int rc;
    if ((rc = measures_need_writer(call, right)) != TH_OK)
        return rc;
    if (req->measure == NULL)
        return th_answer_invalid(call, "measure", "is required");
    const measure_t *m = req->measure;
    if ((rc = measures_check_measure(call, m)) != TH_OK)
        return rc;
    /* The district must exist when the measure starts (today while no
     * start date is fixed): one question to the registry, with the right. */
    char today[TH_DATE_LEN + 1];
    th_date_today(today);
    const char *exists_on = m->start_date[0] != '\0' ? m->start_date : today;
    if ((rc = measures_check_write(
             call, "measure.ags", m->ags, exists_on,
             th_call_printf(call, "creating a measure in district %s", m->ags))) != TH_OK)
        return rc;

    TH_CALL_BEGIN_WRITE(call);
    measure_t *created = NULL;
    if (measures_store_create(call, m, th_call_principal(call)->id, &created) != 0)
        return th_answer_db_failure(call, "create the measure");
    if ((rc = th_call_record(call, measures_resource(call, created), NULL, &created->base,
                             "measure.created", &created->base)) != TH_OK)
        return rc;
    *response = &created->base;
    return TH_OK;
}

/* PERMISSION_DENIED for a read of the measures of Land state_code (NULL =
 * of every Land), naming who may. */
static int
s_read_denied(th_call_t *call, const char *state_code)
{
    const th_principal_t *p = th_call_principal(call);
    if (th_auth_has_role(p, "analyst"))
        return th_auth_deny(call, "reading measures (records of a district's work)",
                            "role admin, ministry, manager or service: role analyst reads "
                            "aggregates only");
    if (state_code == NULL)
        return th_auth_deny(call, "reading the measures of every Land",
                            "role admin or service without a Land; name a Land with "
                            "state_code or a district with ags");
    char right[64], who[128];
    snprintf(right, sizeof right, "reading the measures of Land %s", state_code);
    snprintf(who, sizeof who, "role admin, or ministry, manager or service of Land %s",
             state_code);
    return th_auth_deny(call, right, who);
}

/* False when p may read no measure whatever its Land (an analyst, or a
 * caller the broker did not authenticate): asked before anything is read,
 * so such a caller cannot even learn whether an id exists. */
static bool
s_reads_any(const th_principal_t *p)
{
    const char *land = th_auth_land(p);
    return th_auth_reads_records(p, NULL) ||
           (land[0] != '\0' && th_auth_reads_records(p, land));
}

MEASURES_HANDLER(measures_get)
{
    const Teilhabe__Measures__V1__GetMeasureRequest *req = (const void *) request;
    const th_principal_t *p = th_call_principal(call);
    int rc;
    if ((rc = th_auth_need_principal(call)) != TH_OK)
        return rc;
    if (!s_reads_any(p))
        return s_read_denied(call, NULL);
    if ((rc = measures_check_id(call, "id", req->id)) != TH_OK)
        return rc;
    measure_t *m = NULL;
    rc = measures_store_get(call, req->id, false, &m);
    if (rc == TH_ENOTFOUND)
        return th_call_error(call, TH_NOT_FOUND, "no measure has the id \"%s\"", req->id);
    if (rc != 0)
        return th_answer_db_failure(call, "read the measure");
    if (!th_auth_reads_records(p, m->state_code))
        return s_read_denied(call, m->state_code);
    *response = &m->base;
    return TH_OK;
}

MEASURES_HANDLER(measures_list)
{
    const Teilhabe__Measures__V1__ListMeasuresRequest *req = (const void *) request;
    const th_principal_t *p = th_call_principal(call);
    const ProtobufCEnumDescriptor *fields =
        &teilhabe__common__v1__field_of_action__descriptor;
    const ProtobufCEnumDescriptor *groups =
        &teilhabe__measures__v1__target_group__descriptor;
    const ProtobufCEnumDescriptor *statuses =
        &teilhabe__measures__v1__measure_status__descriptor;
    int rc;
    if ((rc = th_auth_need_principal(call)) != TH_OK)
        return rc;
    if (!s_reads_any(p))
        return s_read_denied(call, NULL);
    if ((req->ags[0] != '\0' && (rc = th_field_ags(call, "ags", req->ags)) != TH_OK) ||
        (rc = th_field_land(call, "state_code", req->state_code, true)) != TH_OK ||
        (rc = th_field_enum(call, "field", fields, (int) req->field, false)) != TH_OK ||
        (rc = th_field_enum(call, "target_group", groups, (int) req->target_group,
                            false)) != TH_OK ||
        (rc = th_field_enum(call, "status", statuses, (int) req->status, false)) != TH_OK)
        return rc;
    /* The Land whose measures are asked for: the district's, the one named,
     * or the caller's own (every Land for a caller without one). */
    char ags_land[3];
    const char *land = NULL;
    if (req->ags[0] != '\0') {
        snprintf(ags_land, sizeof ags_land, "%.2s", req->ags);
        land = ags_land;
    } else if (req->state_code[0] != '\0') {
        land = req->state_code;
    } else if (th_auth_land(p)[0] != '\0') {
        land = th_auth_land(p);
    }
    if (!th_auth_reads_records(p, land))
        return s_read_denied(call, land);
    const char *field = th_row_enum_param(call, fields, (int) req->field);
    const char *group = th_row_enum_param(call, groups, (int) req->target_group);
    const char *status = th_row_enum_param(call, statuses, (int) req->status);
    const char *filters[] = {req->ags, land != NULL ? land : "", field != NULL ? field : "",
                             group != NULL ? group : "", status != NULL ? status : ""};
    const th_page_request_t pr = {.list = "ListMeasures",
                                  .page_size = req->page_size,
                                  .default_size = MEASURES_PAGE_DEFAULT,
                                  .max_size = MEASURES_PAGE_MAX,
                                  .page_token = req->page_token,
                                  .filters = filters,
                                  .n_filters = 5,
                                  .n_keys = 2};
    th_page_t page;
    if ((rc = th_page_begin(call, &pr, &page)) != TH_OK)
        return rc;
    if (page.after[0] != NULL &&
        (!th_check_ags(page.after[0]) || strlen(page.after[1]) > 64))
        return th_page_invalid(call);
    Teilhabe__Measures__V1__ListMeasuresResponse *resp = th_call_alloc(call, sizeof *resp);
    teilhabe__measures__v1__list_measures_response__init(resp);
    const measures_filter_t filter = {
        .ags = req->ags[0] != '\0' ? req->ags : NULL,
        .state_code = land,
        .field = field,
        .target_group = group,
        .status = status,
        .after_ags = page.after[0],
        .after_id = page.after[1],
        .limit = page.size + 1,
    };
    if (measures_store_list(call, &filter, &resp->measures, &resp->n_measures) != 0)
        return th_answer_db_failure(call, "list the measures");
    if (resp->n_measures > (size_t) page.size) {
        resp->n_measures = (size_t) page.size;
        const measure_t *last = resp->measures[page.size - 1];
        const char *key[] = {last->ags, last->id};
        resp->next_page_token = th_page_token(call, &page, key);
    }
    *response = &resp->base;
    return TH_OK;
}
