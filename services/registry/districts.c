/* ---------------------------------------------------------------------------
 * districts.c: districts and Länder: GetDistrict, ListDistricts,
 * SearchDistricts, ListStates (read by everyone; the reference data of
 * every other service)
 * ---------------------------------------------------------------------------
 */
#include "registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "teilhabe/v1/registry.pb-c.h"
#include "th_answer.h"
#include "th_auth.h"
#include "th_check.h"
#include "th_field.h"
#include "th_page.h"
#include "th_row.h"
#include "th_status.h"
#include "th_text.h"

#define S_SEARCH_MAX 100
#define S_SEARCH_PAGE_DEFAULT 20
#define S_SEARCH_PAGE_MAX 100

REGISTRY_HANDLER(registry_get_district)
{
    const Teilhabe__Registry__V1__GetDistrictRequest *req = (const void *) request;
    char as_of[TH_DATE_LEN + 1];
    int rc;
    if ((rc = th_auth_need_principal(call)) != TH_OK ||
        (rc = th_field_ags(call, "ags", req->ags)) != TH_OK ||
        (rc = registry_as_of(call, "as_of", req->as_of, as_of)) != TH_OK)
        return rc;
    registry_district_t *d = NULL;
    if ((rc = registry_district_on(call, "ags", req->ags, as_of, &d)) != TH_OK)
        return rc;
    *response = &d->base;
    return TH_OK;
}

REGISTRY_HANDLER(registry_list_districts)
{
    const Teilhabe__Registry__V1__ListDistrictsRequest *req = (const void *) request;
    const ProtobufCEnumDescriptor *kinds = &teilhabe__registry__v1__district_kind__descriptor;
    const ProtobufCEnumDescriptor *types =
        &teilhabe__registry__v1__settlement_type__descriptor;
    char as_of[TH_DATE_LEN + 1];
    int rc;
    if ((rc = th_auth_need_principal(call)) != TH_OK ||
        (rc = registry_check_state(call, "state_code", req->state_code, true)) != TH_OK ||
        (rc = th_field_enum(call, "kind", kinds, (int) req->kind, false)) != TH_OK ||
        (rc = th_field_enum(call, "settlement_type", types, (int) req->settlement_type,
                            false)) != TH_OK)
        return rc;
    const char *kind = th_row_enum_param(call, kinds, (int) req->kind);
    const char *type = th_row_enum_param(call, types, (int) req->settlement_type);
    const char *filters[] = {req->state_code, kind != NULL ? kind : "", type != NULL ? type : "",
                             req->as_of};
    const th_page_request_t pr = {.list = "ListDistricts",
                                  .page_size = req->page_size,
                                  .default_size = REGISTRY_PAGE_DEFAULT,
                                  .max_size = REGISTRY_PAGE_MAX,
                                  .page_token = req->page_token,
                                  .filters = filters,
                                  .n_filters = 4,
                                  .n_keys = 1};
    th_page_t page;
    if ((rc = th_page_begin(call, &pr, &page)) != TH_OK)
        return rc;
    if (page.after[0] != NULL && !th_check_ags(page.after[0]))
        return th_page_invalid(call);
    if ((rc = registry_as_of(call, "as_of", req->as_of, as_of)) != TH_OK)
        return rc;
    const registry_district_filter_t filter = {
        .as_of = as_of,
        .state_code = req->state_code[0] != '\0' ? req->state_code : NULL,
        .kind = kind,
        .settlement_type = type,
        .after_ags = page.after[0],
        .limit = page.size + 1, /* one more tells whether another page follows */
    };
    Teilhabe__Registry__V1__ListDistrictsResponse *resp = th_call_alloc(call, sizeof *resp);
    teilhabe__registry__v1__list_districts_response__init(resp);
    int total = 0;
    if (registry_read_districts(call, &filter, &resp->districts, &resp->n_districts,
                                      &total) != 0)
        return th_answer_db_failure(call, "list the districts");
    if (resp->n_districts > (size_t) page.size) {
        resp->n_districts = (size_t) page.size;
        const char *last[] = {resp->districts[page.size - 1]->ags};
        resp->next_page_token = th_page_token(call, &page, last);
    }
    resp->total_size = total;
    *response = &resp->base;
    return TH_OK;
}

REGISTRY_HANDLER(registry_search_districts)
{
    const Teilhabe__Registry__V1__SearchDistrictsRequest *req = (const void *) request;
    char as_of[TH_DATE_LEN + 1];
    int rc;
    if ((rc = th_auth_need_principal(call)) != TH_OK ||
        (rc = th_field_line(call, "text", req->text, 1, S_SEARCH_MAX)) != TH_OK)
        return rc;
    /* A search answers one page, the best matches: no token. */
    th_page_t page;
    const th_page_request_t pr = {.list = "SearchDistricts",
                                  .page_size = req->page_size,
                                  .default_size = S_SEARCH_PAGE_DEFAULT,
                                  .max_size = S_SEARCH_PAGE_MAX,
                                  .page_token = ""};
    if ((rc = th_page_begin(call, &pr, &page)) != TH_OK ||
        (rc = registry_as_of(call, "as_of", req->as_of, as_of)) != TH_OK)
        return rc;
    char *folded = th_text_fold(req->text, false);
    if (folded == NULL)
        return th_answer_invalid(call, "text", "is not valid UTF-8");
    if (folded[0] == '\0') {
        free(folded);
        return th_answer_invalid(call, "text", "must contain a letter or digit");
    }
    char *key = th_call_strdup(call, folded);
    free(folded);
    Teilhabe__Registry__V1__SearchDistrictsResponse *resp =
        th_call_alloc(call, sizeof *resp);
    teilhabe__registry__v1__search_districts_response__init(resp);
    if (registry_read_search(call, key, as_of, req->include_ended, page.size,
                                        &resp->districts, &resp->n_districts) != 0)
        return th_answer_db_failure(call, "search the districts");
    *response = &resp->base;
    return TH_OK;
}

REGISTRY_HANDLER(registry_list_states)
{
    const Teilhabe__Registry__V1__ListStatesRequest *req = (const void *) request;
    char as_of[TH_DATE_LEN + 1];
    int rc;
    if ((rc = th_auth_need_principal(call)) != TH_OK ||
        (rc = registry_as_of(call, "as_of", req->as_of, as_of)) != TH_OK)
        return rc;
    Teilhabe__Registry__V1__ListStatesResponse *resp = th_call_alloc(call, sizeof *resp);
    teilhabe__registry__v1__list_states_response__init(resp);
    if (registry_read_states(call, as_of, &resp->states, &resp->n_states) != 0)
        return th_answer_db_failure(call, "list the Länder");
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
