/* ---------------------------------------------------------------------------
 * decisions.c: ListDecisions and GetDecision.
 *
 * Who reads decisions: those who read the records of the district's Land
 * (admin, ministry, manager, service: th_auth_reads_records) and analysts
 * of that Land or federal ones (the "analyst reads decisions":
 * a decision carries no personal data).
 *
 * GetDecision computes the trace again from the stored facts and the stored
 * rule-set version, in the language asked; with verify it also compares
 * the outcome and the amount with what was stored (an allocation's amount
 * by allocating the stored run again) and says whether they agree.
 * ---------------------------------------------------------------------------
 */
#include "eligibility.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "th_answer.h"
#include "th_auth.h"
#include "th_check.h"
#include "th_error.h"
#include "th_field.h"
#include "th_log.h"
#include "th_page.h"
#include "th_status.h"

static bool
s_reads(const th_principal_t *p, const char *state_code)
{
    return th_auth_reads_records(p, state_code) ||
           (th_auth_has_role(p, "analyst") && th_auth_reads_aggregates(p, state_code));
}

static int
s_denied(th_call_t *call, const char *state_code)
{
    if (state_code == NULL)
        return th_auth_deny(call, "reading the decisions of every Land",
                            "role admin, or a federal service or analyst; name a district "
                            "with ags");
    return th_auth_deny(
        call, th_call_printf(call, "reading the decisions of Land %s", state_code),
        th_call_printf(call,
                       "role admin, or ministry, manager, service or analyst "
                       "of Land %s",
                       state_code));
}

ELIGIBILITY_HANDLER(eligibility_list_decisions)
{
    const Teilhabe__Eligibility__V1__ListDecisionsRequest *req = (const void *) request;
    const th_principal_t *p = th_call_principal(call);
    int rc;
    if ((rc = th_auth_need_principal(call)) != TH_OK)
        return rc;
    if ((req->programme_code[0] != '\0' &&
         (rc = eligibility_check_code(call, "programme_code", req->programme_code)) !=
             TH_OK) ||
        (req->ags[0] != '\0' && (rc = th_field_ags(call, "ags", req->ags)) != TH_OK))
        return rc;
    /* since: a date (from its first moment, Germany's time zone being the
     * database's business) or an RFC 3339 time. */
    if (req->since[0] != '\0' && !th_date_valid(req->since) &&
        !(strlen(req->since) >= 20 && strlen(req->since) <= 35 && req->since[10] == 'T' &&
          th_date_valid(th_call_printf(call, "%.10s", req->since))))
        return th_answer_invalid(call, "since",
                                 "must be a date (YYYY-MM-DD) or an RFC 3339 time "
                                 "(2026-12-06T08:00:00Z)");
    const char *lang = eligibility_lang(call, req->lang, &rc);
    if (lang == NULL)
        return rc;
    char ags_land[3];
    const char *land = NULL;
    if (req->ags[0] != '\0') {
        snprintf(ags_land, sizeof ags_land, "%.2s", req->ags);
        land = ags_land;
    } else if (th_auth_land(p)[0] != '\0') {
        land = th_auth_land(p);
    }
    if (!s_reads(p, land))
        return s_denied(call, land);
    const char *filters[] = {req->programme_code, req->ags, land != NULL ? land : "",
                             req->since, req->changed_only ? "1" : "0"};
    const th_page_request_t pr = {.list = "ListDecisions",
                                  .page_size = req->page_size,
                                  .default_size = ELIGIBILITY_PAGE_DEFAULT,
                                  .max_size = ELIGIBILITY_PAGE_MAX,
                                  .page_token = req->page_token,
                                  .filters = filters,
                                  .n_filters = 5,
                                  .n_keys = 2};
    th_page_t page;
    if ((rc = th_page_begin(call, &pr, &page)) != TH_OK)
        return rc;
    if (page.after[0] != NULL && (strlen(page.after[0]) > 40 || strlen(page.after[1]) > 64))
        return th_page_invalid(call);
    Teilhabe__Eligibility__V1__ListDecisionsResponse *resp =
        th_call_alloc(call, sizeof *resp);
    teilhabe__eligibility__v1__list_decisions_response__init(resp);
    const eligibility_filter_t filter = {
        .programme_code = req->programme_code[0] ? req->programme_code : NULL,
        .ags = req->ags[0] ? req->ags : NULL,
        .state_code = land,
        .since = req->since[0] ? req->since : NULL,
        .changed_only = req->changed_only,
        .after_a = page.after[0],
        .after_b = page.after[1],
        .lang = lang,
        .limit = page.size + 1,
    };
    if (eligibility_store_decisions(call, &filter, &resp->decisions, &resp->n_decisions) !=
        0)
        return th_answer_db_failure(call, "list the decisions");
    if (resp->n_decisions > (size_t) page.size) {
        resp->n_decisions = (size_t) page.size;
        const decision_t *last = resp->decisions[page.size - 1];
        const char *key[] = {last->decide_time, last->id};
        resp->next_page_token = th_page_token(call, &page, key);
    }
    *response = &resp->base;
    return TH_OK;
}

/* The facts of a stored decision (packed FactSet) as the engine takes them;
 * NULL with INTERNAL recorded. */
static rules_facts_t *
s_unpack_facts(th_call_t *call, const char *id, const uint8_t *packed, size_t len, int *rc)
{
    Teilhabe__Eligibility__V1__FactSet *set =
        teilhabe__eligibility__v1__fact_set__unpack(NULL, len, packed);
    char err[256] = "the stored facts do not unpack";
    rules_facts_t *facts =
        set != NULL ? eligibility_facts_from_set(set, err, sizeof err) : NULL;
    if (set != NULL)
        teilhabe__eligibility__v1__fact_set__free_unpacked(set, NULL);
    if (facts == NULL) {
        th_log_error(th_call_id(call), "a stored decision cannot be read", "id=%s", id);
        *rc = th_call_error(call, TH_INTERNAL, "decision %s cannot be read back: %s", id,
                            err);
    }
    return facts;
}

ELIGIBILITY_HANDLER(eligibility_get_decision)
{
    const Teilhabe__Eligibility__V1__GetDecisionRequest *req = (const void *) request;
    const th_principal_t *p = th_call_principal(call);
    int rc;
    if ((rc = th_auth_need_principal(call)) != TH_OK)
        return rc;
    if (!th_check_uuid(req->id))
        return th_answer_invalid(call, "id", "must be a decision id (a UUID)");
    const char *lang = eligibility_lang(call, req->lang, &rc);
    if (lang == NULL)
        return rc;
    decision_t *d = NULL;
    uint8_t *packed = NULL;
    size_t len = 0;
    char *run_id = NULL;
    rc = eligibility_store_decision(call, req->id, lang, &d, &packed, &len, &run_id);
    if (rc == TH_ENOTFOUND)
        return th_call_error(call, TH_NOT_FOUND, "no decision has the id \"%s\"", req->id);
    if (rc != 0)
        return th_answer_db_failure(call, "read the decision");
    char land[3];
    snprintf(land, sizeof land, "%.2s", d->ags);
    if (!s_reads(p, land))
        return s_denied(call, land);
    eligibility_version_t ver = {0};
    if ((rc = eligibility_version_number(call, d->programme_code, d->rule_version, &ver)) !=
        TH_OK) {
        eligibility_version_clear(&ver);
        return rc;
    }
    const char *hash = ver.hash;
    rules_set_t *rules = ver.rules;
    ver.rules = NULL;
    /* The decision and, for an allocation, the rest of its run. */
    char **ags = &d->ags;
    uint8_t **facts_packed = &packed;
    size_t *lens = &len, n = 1, self = 0;
    if (rules_allocates(rules) && run_id[0] != '\0') {
        if (eligibility_store_run_facts(call, run_id, &ags, &facts_packed, &lens, &n) !=
            0) {
            rules_set_destroy(&rules);
            return th_answer_db_failure(call, "read the decision's run");
        }
        for (size_t i = 0; i < n; i++)
            if (strcmp(ags[i], d->ags) == 0)
                self = i;
    }
    rules_result_t **results = calloc(n, sizeof *results);
    eligibility_district_t *districts = calloc(n, sizeof *districts);
    if (results == NULL || districts == NULL) {
        rc = th_call_error(call, TH_RESOURCE_EXHAUSTED, "out of memory; try again");
        goto cleanup;
    }
    char err[512] = "";
    for (size_t i = 0; i < n; i++) {
        snprintf(districts[i].ags, sizeof districts[i].ags, "%s", ags[i]);
        districts[i].name = d->district_name;
        districts[i].facts = s_unpack_facts(call, req->id, facts_packed[i], lens[i], &rc);
        if (districts[i].facts == NULL)
            goto cleanup;
        results[i] = rules_evaluate(rules, ags[i], d->as_of, districts[i].facts, lang, err,
                                    sizeof err);
        if (results[i] == NULL) {
            rc = th_call_error(call, TH_INTERNAL,
                               "decision %s cannot be evaluated again: %s", req->id, err);
            goto cleanup;
        }
    }
    if (rules_allocates(rules) && rules_allocate(rules, results, n, err, sizeof err) != 0) {
        rc = th_call_error(call, TH_INTERNAL, "decision %s cannot be allocated again: %s",
                           req->id, err);
        goto cleanup;
    }
    decision_t *again =
        eligibility_decision_message(call, results[self], &districts[self], true);
    /* What was stored stays what is answered; the trace, parts and facts
     * come from the evaluation. */
    const bool same = again->outcome == d->outcome &&
                      again->entitlement_cents == d->entitlement_cents &&
                      strcmp(hash, d->rule_hash) == 0;
    d->trace = again->trace;
    d->n_trace = again->n_trace;
    d->parts = again->parts;
    d->n_parts = again->n_parts;
    d->facts = again->facts;
    d->n_facts = again->n_facts;
    if (req->verify) {
        d->verified = same;
        if (!same)
            th_log_error(th_call_id(call), "a stored decision does not reproduce",
                         "id=%s stored_cents=%lld again_cents=%lld", req->id,
                         (long long) d->entitlement_cents,
                         (long long) again->entitlement_cents);
    }
    *response = &d->base;
    rc = TH_OK;
cleanup:
    for (size_t i = 0; results != NULL && districts != NULL && i < n; i++) {
        rules_result_destroy(&results[i]);
        rules_facts_destroy(&districts[i].facts);
    }
    free(results);
    free(districts);
    rules_set_destroy(&rules);
    return rc;
}
