/* ---------------------------------------------------------------------------
 * indicators.c: the indicator catalogue: ListIndicators and GetIndicator
 * (everyone), CreateIndicator (a ministry), the one check of an indicator
 * that CreateIndicator and the starter set share, and the loading of the
 * starter set (data/indicators.csv) at start-up.
 * ---------------------------------------------------------------------------
 */
#include "measures.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "teilhabe/v1/fields.pb-c.h"
#include "teilhabe/v1/measures.pb-c.h"
#include "th_answer.h"
#include "th_auth.h"
#include "th_check.h"
#include "th_csv.h"
#include "th_enum.h"
#include "th_error.h"
#include "th_field.h"
#include "th_log.h"
#include "th_page.h"
#include "th_pbjson.h"
#include "th_row.h"
#include "th_status.h"
#include "th_text.h"

bool
measures_indicator_code_valid(const char *code)
{
    const size_t len = code != NULL ? strlen(code) : 0;
    if (len < 2 || len > 64 || code[0] < 'a' || code[0] > 'z')
        return false;
    for (size_t i = 1; i < len; i++) {
        const char c = code[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

const char *
measures_indicator_problem(const indicator_t *ind, const char **field)
{
#define S_BAD(f, why)                                                                      \
    do {                                                                                   \
        *field = (f);                                                                      \
        return (why);                                                                      \
    } while (0)
    if (!measures_indicator_code_valid(ind->code))
        S_BAD("code", "must be 2 to 64 of a-z, 0-9 and _, beginning with a letter");
    if (!th_text_is_line(ind->name_de, 1, 200))
        S_BAD("name_de", "must be 1 to 200 characters on one line");
    if (!th_text_is_line(ind->name_en, 1, 200))
        S_BAD("name_en", "must be 1 to 200 characters on one line");
    if (!th_text_is_line(ind->unit, 1, 50))
        S_BAD("unit", "must be 1 to 50 characters on one line");
    if (!th_enum_valid(&teilhabe__common__v1__field_of_action__descriptor, (int) ind->field,
                       false))
        S_BAD("field", "must be a field of action (work_and_training, education, ...)");
    if (!th_text_is_line(ind->numerator, 1, 1000))
        S_BAD("numerator", "must say what is counted: 1 to 1000 characters on one line");
    if (!th_text_is_line(ind->denominator, 0, 1000))
        S_BAD("denominator", "must be at most 1000 characters on one line");
    if (ind->factor != 1 && ind->factor != 100 && ind->factor != 1000 &&
        ind->factor != 100000)
        S_BAD("factor", "must be 1, 100, 1000 or 100000");
    if ((ind->denominator[0] == '\0') != (ind->factor == 1))
        S_BAD("factor",
              ind->denominator[0] == '\0'
                  ? "must be 1 for a plain count (an indicator without denominator)"
                  : "must be 100, 1000 or 100000 for a rate (an indicator with a "
                    "denominator)");
    if (!th_enum_valid(&teilhabe__measures__v1__direction__descriptor, (int) ind->direction,
                       false))
        S_BAD("direction", "must be higher_is_better or lower_is_better");
    bool total = false;
    if (ind->n_disaggregations == 0 || ind->n_disaggregations > 3)
        S_BAD("disaggregations", "must name 1 to 3 of total, with_migration_history, "
                                 "without_migration_history");
    for (size_t i = 0; i < ind->n_disaggregations; i++) {
        if (!th_enum_valid(&teilhabe__measures__v1__disaggregation__descriptor,
                           (int) ind->disaggregations[i], false))
            S_BAD("disaggregations", "must name total, with_migration_history or "
                                     "without_migration_history");
        for (size_t k = 0; k < i; k++)
            if (ind->disaggregations[k] == ind->disaggregations[i])
                S_BAD("disaggregations", "must name each at most once");
        total = total || ind->disaggregations[i] ==
                             TEILHABE__MEASURES__V1__DISAGGREGATION__DISAGGREGATION_TOTAL;
    }
    if (!total)
        S_BAD("disaggregations", "must include total");
    if (!th_text_is_line(ind->source, 1, 1000))
        S_BAD("source", "must name the statistic the numbers come from: 1 to 1000 "
                        "characters on one line");
    return NULL;
#undef S_BAD
}

/* --- reads ----------------------------------------------------------------- */

MEASURES_HANDLER(measures_indicators_list)
{
    const Teilhabe__Measures__V1__ListIndicatorsRequest *req = (const void *) request;
    const ProtobufCEnumDescriptor *fields =
        &teilhabe__common__v1__field_of_action__descriptor;
    int rc;
    if ((rc = th_auth_need_principal(call)) != TH_OK ||
        (rc = th_field_enum(call, "field", fields, (int) req->field, false)) != TH_OK)
        return rc;
    const char *field = th_row_enum_param(call, fields, (int) req->field);
    const char *filters[] = {field != NULL ? field : ""};
    const th_page_request_t pr = {.list = "ListIndicators",
                                  .page_size = req->page_size,
                                  .default_size = MEASURES_PAGE_DEFAULT,
                                  .max_size = MEASURES_PAGE_MAX,
                                  .page_token = req->page_token,
                                  .filters = filters,
                                  .n_filters = 1,
                                  .n_keys = 1};
    th_page_t page;
    if ((rc = th_page_begin(call, &pr, &page)) != TH_OK)
        return rc;
    if (page.after[0] != NULL && !measures_indicator_code_valid(page.after[0]))
        return th_page_invalid(call);
    Teilhabe__Measures__V1__ListIndicatorsResponse *resp =
        th_call_alloc(call, sizeof *resp);
    teilhabe__measures__v1__list_indicators_response__init(resp);
    if (measures_store_list_indicators(call, field, page.after[0], page.size + 1,
                                       &resp->indicators, &resp->n_indicators) != 0)
        return th_answer_db_failure(call, "list the indicators");
    if (resp->n_indicators > (size_t) page.size) {
        resp->n_indicators = (size_t) page.size;
        const char *last[] = {resp->indicators[page.size - 1]->code};
        resp->next_page_token = th_page_token(call, &page, last);
    }
    *response = &resp->base;
    return TH_OK;
}

MEASURES_HANDLER(measures_indicators_get)
{
    const Teilhabe__Measures__V1__GetIndicatorRequest *req = (const void *) request;
    int rc;
    if ((rc = th_auth_need_principal(call)) != TH_OK)
        return rc;
    if (!measures_indicator_code_valid(req->code))
        return th_answer_invalid(call, "code",
                                 "\"%.64s\" is not an indicator code (2 to 64 of "
                                 "a-z, 0-9 and _)",
                                 req->code);
    indicator_t *ind = NULL;
    rc = measures_store_get_indicator(call, req->code, &ind);
    if (rc == TH_ENOTFOUND)
        return th_call_error(call, TH_NOT_FOUND,
                             "no indicator has the code \"%s\"; ListIndicators shows the "
                             "catalogue",
                             req->code);
    if (rc != 0)
        return th_answer_db_failure(call, "read the indicator");
    *response = &ind->base;
    return TH_OK;
}

/* --- CreateIndicator ----------------------------------------------------------- */

MEASURES_HANDLER(measures_indicators_create)
{
    const Teilhabe__Measures__V1__CreateIndicatorRequest *req = (const void *) request;
    int rc;
    if ((rc = th_auth_need_role(call, "ministry",
                                "adding an indicator to the catalogue")) != TH_OK)
        return rc;
    if (req->indicator == NULL)
        return th_answer_invalid(call, "indicator", "is required");
    const char *field = NULL;
    const char *why = measures_indicator_problem(req->indicator, &field);
    if (why != NULL)
        return th_answer_invalid(call, th_call_printf(call, "indicator.%s", field), "%s",
                                 why);

    TH_CALL_BEGIN_WRITE(call);
    indicator_t *created = NULL;
    rc = measures_store_create_indicator(call, req->indicator, th_call_principal(call)->id,
                                         &created);
    if (rc == TH_ESTATE)
        return th_answer_field(call, TH_ALREADY_EXISTS, "indicator.code", "is taken",
                               "an indicator with the code \"%s\" exists already; choose "
                               "another code",
                               req->indicator->code);
    if (rc != 0)
        return th_answer_db_failure(call, "create the indicator");
    if ((rc = th_call_record(call, th_call_printf(call, "indicators/%s", created->code),
                             NULL, &created->base, "indicator.created", &created->base)) !=
        TH_OK)
        return rc;
    *response = &created->base;
    return TH_OK;
}

/* --- the starter set ----------------------------------------------------------- */

static const char *const s_header[] = {
    "code",      "name_de",         "name_en",     "unit",
    "field",     "numerator",       "denominator", "factor",
    "direction", "disaggregations", "source",      "illustrative"};
#define S_COLUMNS (sizeof s_header / sizeof s_header[0])

/* One row of indicators.csv into ind (strings point into the row); NULL,
 * or why not with *field the column. */
static const char *
s_parse_row(const th_csv_row_t *row, indicator_t *ind,
            Teilhabe__Measures__V1__Disaggregation *dis, const char **field)
{
    char *const *f = row->fields;
    teilhabe__measures__v1__indicator__init(ind);
    ind->code = f[0];
    ind->name_de = f[1];
    ind->name_en = f[2];
    ind->unit = f[3];
    ind->field =
        th_enum_from_token(&teilhabe__common__v1__field_of_action__descriptor, f[4]);
    ind->numerator = f[5];
    ind->denominator = f[6];
    int64_t factor = 0;
    ind->factor = th_check_count(f[7], 6, &factor) ? factor : 0;
    ind->direction =
        th_enum_from_token(&teilhabe__measures__v1__direction__descriptor, f[8]);
    char list[128];
    snprintf(list, sizeof list, "%s", f[9]);
    ind->disaggregations = dis;
    ind->n_disaggregations = 0;
    char *save = NULL;
    for (char *t = strtok_r(list, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
        if (ind->n_disaggregations == 3) {
            *field = "disaggregations";
            return "must name 1 to 3 of total, with_migration_history, "
                   "without_migration_history";
        }
        dis[ind->n_disaggregations++] =
            th_enum_from_token(&teilhabe__measures__v1__disaggregation__descriptor, t);
    }
    ind->source = f[10];
    if (strcmp(f[11], "true") != 0 && strcmp(f[11], "false") != 0) {
        *field = "illustrative";
        return "must be true or false";
    }
    ind->illustrative = strcmp(f[11], "true") == 0;
    return measures_indicator_problem(ind, field);
}

int
measures_seed_indicators(th_db_t *db, const char *path, int *inserted, char *errbuf,
                         size_t errlen)
{
    char err[512];
    th_csv_rows_t rows;
    *inserted = 0;
    int rc =
        th_csv_read_file(path, ';', 1 << 20, S_COLUMNS + 1, 10000, &rows, err, sizeof err);
    if (rc != 0) {
        snprintf(errbuf, errlen, "%s", err);
        th_csv_rows_clear(&rows);
        return rc;
    }
    if ((rc = th_csv_check_shape(&rows, s_header, S_COLUMNS, err, sizeof err)) != 0) {
        snprintf(errbuf, errlen, "%s: %s", path, err);
        th_csv_rows_clear(&rows);
        return rc;
    }
    /* Every row is checked before anything is written: a bad file changes
     * nothing. */
    indicator_t *inds = calloc(rows.n_rows, sizeof *inds);
    Teilhabe__Measures__V1__Disaggregation(*dis)[3] = calloc(rows.n_rows, sizeof *dis);
    if (inds == NULL || dis == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        rc = TH_ENOMEM;
        goto cleanup;
    }
    for (size_t i = 1; i < rows.n_rows; i++) {
        const char *field = "";
        const char *why = s_parse_row(&rows.rows[i], &inds[i], dis[i], &field);
        for (size_t k = 1; why == NULL && k < i; k++)
            if (strcmp(inds[k].code, inds[i].code) == 0) {
                field = "code";
                why = "is given twice";
            }
        if (why != NULL) {
            snprintf(errbuf, errlen, "%s: line %d: %s \"%.64s\" %s", path,
                     rows.rows[i].line, field, rows.rows[i].fields[0], why);
            rc = TH_EINVAL;
            goto cleanup;
        }
    }
    /* One transaction: every indicator added, with its audit row and its
     * event, as principal "seed" (like the registry's seeding). */
    if (th_db_begin(db, 0) != 0) {
        snprintf(errbuf, errlen, "could not begin: %s", th_db_error(db));
        rc = TH_EDB;
        goto cleanup;
    }
    for (size_t i = 1; i < rows.n_rows; i++) {
        bool added = false;
        char create_time[40];
        if (measures_store_seed_indicator(db, &inds[i], &added, create_time) != 0) {
            snprintf(errbuf, errlen, "could not insert indicator \"%s\": %s", inds[i].code,
                     th_db_error(db));
            rc = TH_EDB;
            goto rollback;
        }
        if (!added)
            continue;
        inds[i].created_by = "seed";
        inds[i].create_time = create_time;
        char *json = th_pbjson_text(&inds[i].base);
        char resource[96];
        snprintf(resource, sizeof resource, "indicators/%s", inds[i].code);
        const th_audit_entry_t entry = {.principal_id = "seed",
                                        .principal_role = "system",
                                        .call_id = 0,
                                        .method = "seed",
                                        .resource = resource,
                                        .before_json = NULL,
                                        .after_json = json != NULL ? json : "{}"};
        const size_t len = teilhabe__measures__v1__indicator__get_packed_size(&inds[i]);
        uint8_t *payload = malloc(len > 0 ? len : 1);
        if (payload != NULL)
            teilhabe__measures__v1__indicator__pack(&inds[i], payload);
        const bool ok = payload != NULL && th_db_audit(db, &entry) == 0 &&
                        th_db_outbox_append(db, MEASURES_SCHEMA, "indicator.created",
                                            resource, payload, len, NULL) == 0;
        free(payload);
        free(json);
        inds[i].created_by = (char *) "";
        inds[i].create_time = (char *) "";
        if (!ok) {
            snprintf(errbuf, errlen, "could not record indicator \"%s\": %s", inds[i].code,
                     th_db_error(db));
            rc = TH_EDB;
            goto rollback;
        }
        (*inserted)++;
    }
    if (th_db_commit(db) != 0) {
        snprintf(errbuf, errlen, "could not commit: %s", th_db_error(db));
        rc = TH_EDB;
        goto rollback;
    }
    goto cleanup;
rollback:
    th_db_rollback(db);
    *inserted = 0;
cleanup:
    free(inds);
    free(dis);
    th_csv_rows_clear(&rows);
    return rc;
}
