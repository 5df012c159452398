/* ---------------------------------------------------------------------------
 * decide.c: Evaluate and EvaluateBatch: the rule set in force on the date
 * asked, the facts gathered (facts.c), the engine's decision (rules.h), and
 * the decisions stored with their facts in one transaction, with an audit
 * row and, for every decision whose outcome or amount differs from the
 * district's previous one for the programme, a decision.changed event.
 *
 * Who may: the admin; the ministry of the programme's Land; a service (of
 * that Land, or federal); for Evaluate also a manager, for the districts
 * assigned to it. An allocating programme's amounts depend on every
 * district of the Land, so its Evaluate decides the whole Land as one run
 * and answers the district asked about.
 * ---------------------------------------------------------------------------
 */
#include "eligibility.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "store.h"
#include "teilhabe/v1/registry.pb-c.h"
#include "th_answer.h"
#include "th_auth.h"
#include "th_enum.h"
#include "th_error.h"
#include "th_field.h"
#include "th_log.h"
#include "th_page.h"
#include "th_status.h"

const char *
eligibility_lang(th_call_t *call, const char *lang, int *rc)
{
    return th_field_lang(call, "lang", lang, rc);
}

const char *
eligibility_outcome_token(rules_outcome_t outcome)
{
    switch (outcome) {
    case RULES_ELIGIBLE: return "eligible";
    case RULES_NOT_ELIGIBLE: return "not_eligible";
    default: return "not_applicable";
    }
}

static Teilhabe__Eligibility__V1__Outcome
s_outcome(rules_outcome_t outcome)
{
    switch (outcome) {
    case RULES_ELIGIBLE: return TEILHABE__ELIGIBILITY__V1__OUTCOME__OUTCOME_ELIGIBLE;
    case RULES_NOT_ELIGIBLE:
        return TEILHABE__ELIGIBILITY__V1__OUTCOME__OUTCOME_NOT_ELIGIBLE;
    default: return TEILHABE__ELIGIBILITY__V1__OUTCOME__OUTCOME_NOT_APPLICABLE;
    }
}

static Teilhabe__Eligibility__V1__Outcome
s_outcome_of_token(const char *token)
{
    if (strcmp(token, "eligible") == 0)
        return TEILHABE__ELIGIBILITY__V1__OUTCOME__OUTCOME_ELIGIBLE;
    if (strcmp(token, "not_eligible") == 0)
        return TEILHABE__ELIGIBILITY__V1__OUTCOME__OUTCOME_NOT_ELIGIBLE;
    return TEILHABE__ELIGIBILITY__V1__OUTCOME__OUTCOME_NOT_APPLICABLE;
}

/* s in call memory ("" for NULL). */
static char *
s_dup(th_call_t *call, const char *s)
{
    return th_call_strdup(call, s != NULL ? s : "");
}

decision_t *
eligibility_decision_message(th_call_t *call, const rules_result_t *result,
                             const eligibility_district_t *district, bool with_facts)
{
    decision_t *d = th_call_alloc(call, sizeof *d);
    teilhabe__eligibility__v1__decision__init(d);
    d->ags = th_call_strdup(call, district->ags);
    d->district_name = s_dup(call, district->name);
    d->outcome = s_outcome(rules_result_outcome(result));
    d->entitlement_cents = rules_result_cents(result);
    d->illustrative = rules_result_illustrative(result) && d->entitlement_cents > 0;
    d->attainable = rules_result_attainable(result);
    d->summary = s_dup(call, rules_result_summary(result));
    const size_t n_trace = rules_result_trace_count(result);
    d->trace = th_call_alloc(call, (n_trace > 0 ? n_trace : 1) * sizeof *d->trace);
    d->n_trace = n_trace;
    for (size_t i = 0; i < n_trace; i++) {
        const rules_trace_t *t = rules_result_trace(result, i);
        Teilhabe__Eligibility__V1__TraceLine *l = th_call_alloc(call, sizeof *l);
        teilhabe__eligibility__v1__trace_line__init(l);
        l->criterion = s_dup(call, t->id);
        l->depth = t->depth;
        l->text = s_dup(call, t->text);
        l->legal_source = s_dup(call, t->source);
        l->fact = s_dup(call, t->fact);
        l->value = s_dup(call, t->value);
        l->value_source = s_dup(call, t->value_source);
        l->expected = s_dup(call, t->expected);
        l->passed = t->passed;
        l->what_if = s_dup(call, t->whatif);
        l->fixable = t->fixable;
        d->trace[i] = l;
    }
    const size_t n_parts = rules_result_part_count(result);
    d->parts = th_call_alloc(call, (n_parts > 0 ? n_parts : 1) * sizeof *d->parts);
    d->n_parts = n_parts;
    for (size_t i = 0; i < n_parts; i++) {
        const rules_part_t *p = rules_result_part(result, i);
        Teilhabe__Eligibility__V1__EntitlementPart *m = th_call_alloc(call, sizeof *m);
        teilhabe__eligibility__v1__entitlement_part__init(m);
        m->id = s_dup(call, p->id);
        m->text = s_dup(call, p->text);
        m->cents = p->cents;
        m->how = s_dup(call, p->how);
        m->illustrative = p->illustrative;
        m->source = s_dup(call, p->source);
        d->parts[i] = m;
    }
    if (with_facts) {
        Teilhabe__Eligibility__V1__FactSet *set =
            eligibility_facts_to_set(call, district->facts);
        d->facts = set->facts;
        d->n_facts = set->n_facts;
    }
    return d;
}

/* --- a run: every district's results in both languages --------------------- */

void
eligibility_run_clear(eligibility_run_t *run)
{
    for (size_t i = 0; i < run->n; i++) {
        rules_result_destroy(&run->de[i]);
        rules_result_destroy(&run->en[i]);
    }
    free(run->de);
    free(run->en);
    memset(run, 0, sizeof *run);
}

int
eligibility_decide(th_call_t *call, const eligibility_version_t *ver,
                   const eligibility_land_t *land, const char *as_of, const bool *only,
                   eligibility_run_t *run)
{
    memset(run, 0, sizeof *run);
    run->de = calloc(land->n > 0 ? land->n : 1, sizeof *run->de);
    run->en = calloc(land->n > 0 ? land->n : 1, sizeof *run->en);
    if (run->de == NULL || run->en == NULL) {
        eligibility_run_clear(run);
        return th_call_error(call, TH_RESOURCE_EXHAUSTED,
                             "the service ran out of memory deciding; try again");
    }
    run->n = land->n;
    const bool allocates = rules_allocates(ver->rules);
    char err[512] = "";
    for (size_t i = 0; i < land->n; i++) {
        if (only != NULL && !allocates && !only[i])
            continue;
        run->de[i] = rules_evaluate(ver->rules, land->items[i].ags, as_of,
                                    land->items[i].facts, "de", err, sizeof err);
        if (run->de[i] != NULL)
            run->en[i] = rules_evaluate(ver->rules, land->items[i].ags, as_of,
                                        land->items[i].facts, "en", err, sizeof err);
        if (run->de[i] == NULL || run->en[i] == NULL) {
            eligibility_run_clear(run);
            th_log_error(0, "could not evaluate", "programme=%s ags=%s reason=\"%s\"",
                         ver->programme_code, land->items[i].ags, err);
            return th_call_error(call, TH_INTERNAL, "could not decide %s under %s: %s",
                                 land->items[i].ags, ver->programme_code, err);
        }
    }
    if (allocates) {
        /* Only the districts of the programme's Land share its budget. */
        for (int lang = 0; lang < 2; lang++) {
            rules_result_t **results = lang == 0 ? run->de : run->en;
            if (rules_allocate(ver->rules, results, run->n, err, sizeof err) != 0) {
                eligibility_run_clear(run);
                return th_call_error(call, TH_FAILED_PRECONDITION,
                                     "cannot allocate the budget of %s: %s",
                                     ver->programme_code, err);
            }
        }
    }
    return TH_OK;
}

/* "05111 no longer eligible for nrw-ki: <summary>" and its kin (German
 * and English share the AGS and code; the words are English, as the log
 * and the events are). */
static char *
s_change_line(th_call_t *call, const decision_t *d, const char *previous)
{
    const char *what;
    if (d->outcome == TEILHABE__ELIGIBILITY__V1__OUTCOME__OUTCOME_ELIGIBLE)
        what = strcmp(previous, "eligible") == 0 ? "eligible with another amount"
                                                 : "now eligible";
    else if (d->outcome == TEILHABE__ELIGIBILITY__V1__OUTCOME__OUTCOME_NOT_ELIGIBLE)
        what = strcmp(previous, "eligible") == 0 ? "no longer eligible" : "not eligible";
    else
        what = "no longer applicable";
    return th_call_printf(call, "%s %s for %s: %s", d->ags, what, d->programme_code,
                          d->summary);
}

int
eligibility_store_run(th_call_t *call, const eligibility_version_t *ver,
                      const eligibility_land_t *land, const eligibility_run_t *run,
                      const char *as_of, const char *lang, const char *trigger,
                      const char *run_id, decision_t **out, int *changed)
{
    const char *by = th_call_principal(call)->id;
    char **ags = th_call_alloc(call, (land->n > 0 ? land->n : 1) * sizeof *ags);
    size_t n = 0;
    for (size_t i = 0; i < land->n; i++)
        if (run->de[i] != NULL)
            ags[n++] = (char *) land->items[i].ags;
    const char **prev = NULL;
    int64_t *prev_cents = NULL;
    if (eligibility_store_previous(call, ver->programme_code, ags, n, &prev, &prev_cents) !=
        0)
        return th_answer_db_failure(call, "read the previous decisions");
    const bool automated = (strcmp(trigger, "event") == 0 || strcmp(trigger, "schedule") == 0) &&
                           !rules_allocates(ver->rules);
    size_t k = 0;
    for (size_t i = 0; i < land->n; i++) {
        out[i] = NULL;
        if (run->de[i] == NULL)
            continue;
        const rules_result_t *res = strcmp(lang, "en") == 0 ? run->en[i] : run->de[i];
        decision_t *d = eligibility_decision_message(call, res, &land->items[i], true);
        d->programme_code = ver->programme_code;
        d->rule_version = ver->version;
        d->rule_hash = ver->hash;
        d->as_of = th_call_strdup(call, as_of);
        d->trigger = (Teilhabe__Eligibility__V1__Trigger) th_enum_from_token(
            &teilhabe__eligibility__v1__trigger__descriptor, trigger);
        const char *previous = prev[k];
        d->changed =
            previous != NULL &&
            (strcmp(previous, eligibility_outcome_token(rules_result_outcome(res))) != 0 ||
             prev_cents[k] != d->entitlement_cents);
        if (d->changed)
            d->previous_outcome = s_outcome_of_token(previous);
        k++;
        /* An automated re-check keeps what changed: an unchanged decision
         * stands as it was stored (an allocation's run is kept whole, its
         * amounts are verified together). */
        if (automated && previous != NULL && !d->changed)
            continue;
        Teilhabe__Eligibility__V1__FactSet set = TEILHABE__ELIGIBILITY__V1__FACT_SET__INIT;
        set.facts = d->facts;
        set.n_facts = d->n_facts;
        const size_t len = teilhabe__eligibility__v1__fact_set__get_packed_size(&set);
        uint8_t *packed = th_call_alloc(call, len > 0 ? len : 1);
        teilhabe__eligibility__v1__fact_set__pack(&set, packed);
        if (eligibility_store_insert_decision(
                call, d, rules_result_summary(run->de[i]), rules_result_summary(run->en[i]),
                packed, len, trigger, run_id, d->changed ? previous : NULL, by) != 0)
            return th_answer_db_failure(call, "store the decision");
        if (d->changed) {
            if (changed != NULL)
                (*changed)++;
            d->change = s_change_line(call, d, previous);
            /* The event carries the decision without trace and facts. */
            decision_t lean = *d;
            lean.n_trace = lean.n_facts = lean.n_parts = 0;
            lean.trace = NULL;
            lean.facts = NULL;
            lean.parts = NULL;
            const char *resource =
                th_call_printf(call, "districts/%s/decisions/%s", d->ags, d->id);
            if (th_call_emit(call, ELIGIBILITY_SCHEMA, "decision.changed", resource,
                             &lean.base) != 0)
                return th_answer_db_failure(call, "record the decision's event");
        }
        out[i] = d;
    }
    return TH_OK;
}

char *
eligibility_run_id(th_call_t *call)
{
    uuid_t u;
    char *text = th_call_alloc(call, 37);
    uuid_generate_random(u);
    uuid_unparse_lower(u, text);
    return text;
}

/* --- rights ------------------------------------------------------------------------- */

int
eligibility_need_decider(th_call_t *call, const char *state, const char *ags)
{
    const th_principal_t *p = th_call_principal(call);
    if (th_auth_has_role(p, "admin") ||
        (th_auth_has_role(p, "ministry") && th_auth_of_land(p, state)) ||
        (th_auth_has_role(p, "service") && th_auth_covers_state(p, state)))
        return TH_OK;
    if (ags != NULL && th_auth_has_role(p, "manager") && th_auth_of_land(p, state)) {
        if (th_auth_has_district(p, ags))
            return TH_OK;
        Teilhabe__Registry__V1__CheckAssignmentRequest req =
            TEILHABE__REGISTRY__V1__CHECK_ASSIGNMENT_REQUEST__INIT;
        req.principal_id = (char *) p->id;
        req.ags = (char *) ags;
        req.as_of = (char *) "";
        const th_result_t *r = NULL;
        int rc = th_call_invoke(
            call, "teilhabe.registry.v1.Registry/CheckAssignment", &req.base,
            &teilhabe__registry__v1__check_assignment_response__descriptor, &r);
        if (rc != TH_OK && rc != TH_INVALID_ARGUMENT)
            return rc;
        if (rc == TH_OK &&
            ((const Teilhabe__Registry__V1__CheckAssignmentResponse *) r->response)
                ->assigned)
            return TH_OK;
        return th_auth_deny(
            call, th_call_printf(call, "deciding for district %s", ags),
            th_call_printf(call,
                           "role admin, ministry or service of Land %s, or a "
                           "manager assigned to %s today",
                           state, ags));
    }
    return th_auth_deny(
        call,
        th_call_printf(call, "deciding under a programme of Land %s%s", state,
                       ags == NULL ? " for every district" : ""),
        th_call_printf(call, "role admin, ministry or service of Land %s%s", state,
                       ags == NULL ? "" : ", or a manager assigned to the district"));
}

/* Checks programme code, as_of ("" = today, into date) and lang. */
static int
s_check_common(th_call_t *call, const char *code, const char *as_of, const char *lang_in,
               char date[TH_DATE_LEN + 1], const char **lang)
{
    int rc;
    if ((rc = eligibility_check_code(call, "programme_code", code)) != TH_OK ||
        (rc = th_field_date(call, "as_of", as_of, true)) != TH_OK)
        return rc;
    *lang = eligibility_lang(call, lang_in, &rc);
    if (*lang == NULL)
        return rc;
    if (as_of[0] == '\0')
        th_date_today(date);
    else
        snprintf(date, TH_DATE_LEN + 1, "%s", as_of);
    return TH_OK;
}

/* --- Evaluate ---------------------------------------------------------------------- */

ELIGIBILITY_HANDLER(eligibility_evaluate)
{
    const Teilhabe__Eligibility__V1__EvaluateRequest *req = (const void *) request;
    const th_principal_t *p = th_call_principal(call);
    int rc;
    if ((rc = th_auth_need_principal(call)) != TH_OK)
        return rc;
    if (th_auth_has_role(p, "analyst"))
        return th_auth_deny(call, "evaluating a district",
                            "role admin, ministry, manager or service: analysts read "
                            "decisions (ListDecisions, GetDecision)");
    char as_of[TH_DATE_LEN + 1];
    const char *lang = NULL;
    if ((rc = s_check_common(call, req->programme_code, req->as_of, req->lang, as_of,
                             &lang)) != TH_OK ||
        (rc = th_field_ags(call, "ags", req->ags)) != TH_OK)
        return rc;
    eligibility_version_t ver = {0};
    if ((rc = eligibility_version_in_force(call, req->programme_code, as_of, &ver)) !=
        TH_OK)
        return rc;
    eligibility_land_t land = {0};
    eligibility_run_t run = {0};
    decision_t **stored = NULL;
    if ((rc = eligibility_need_decider(call, ver.state_code, req->ags)) != TH_OK)
        goto cleanup;
    /* The district's own Land (the programme's when it allocates: its
     * amount depends on every district there). */
    char land_code[3];
    snprintf(land_code, sizeof land_code, "%.2s", req->ags);
    const bool allocates = rules_allocates(ver.rules);
    if ((rc = eligibility_gather(call, ver.rules, allocates ? ver.state_code : land_code,
                                 as_of, req->ags, &land)) != TH_OK)
        goto cleanup;
    long only = -1;
    bool *mask = th_call_alloc(call, (land.n > 0 ? land.n : 1) * sizeof *mask);
    for (size_t i = 0; i < land.n; i++) {
        mask[i] = strcmp(land.items[i].ags, req->ags) == 0;
        if (mask[i])
            only = (long) i;
    }
    if (only < 0) {
        rc = th_call_error(call, TH_INTERNAL, "district %s went missing from its facts",
                           req->ags);
        goto cleanup;
    }
    if ((rc = eligibility_decide(call, &ver, &land, as_of, mask, &run)) != TH_OK)
        goto cleanup;
    /* An allocation stores the Land's run, so its amounts can be verified
     * together; anything else stores the one decision. */
    if (!allocates)
        for (size_t i = 0; i < run.n; i++)
            if ((long) i != only) {
                rules_result_destroy(&run.de[i]);
                rules_result_destroy(&run.en[i]);
            }
    const int begin = th_call_begin_write(call);
    if (begin == TH_CALL_REPLAY) {
        rc = TH_OK;
        goto cleanup;
    }
    if ((rc = begin) != TH_OK)
        goto cleanup;
    stored = th_call_alloc(call, (land.n > 0 ? land.n : 1) * sizeof *stored);
    if ((rc = eligibility_store_run(call, &ver, &land, &run, as_of, lang, "manual",
                                    allocates ? eligibility_run_id(call) : NULL, stored,
                                    NULL)) != TH_OK)
        goto cleanup;
    decision_t *d = stored[only];
    decision_t lean = *d;
    lean.n_trace = lean.n_facts = 0;
    if ((rc = th_call_record(
             call, th_call_printf(call, "districts/%s/decisions/%s", d->ags, d->id), NULL,
             &lean.base, NULL, NULL)) != TH_OK)
        goto cleanup;
    *response = &d->base;
cleanup:
    eligibility_run_clear(&run);
    eligibility_land_clear(&land);
    eligibility_version_clear(&ver);
    return rc;
}

/* --- EvaluateBatch ------------------------------------------------------------------- */

/* A later page of a run: read back, nothing decided. */
static int
s_batch_page(th_call_t *call, const th_page_t *page, const char *lang,
             Teilhabe__Eligibility__V1__EvaluateBatchResponse *resp)
{
    const eligibility_filter_t filter = {.run_id = page->after[0],
                                         .after_a = page->after[1],
                                         .lang = lang,
                                         .limit = page->size + 1};
    if (eligibility_store_decisions(call, &filter, &resp->decisions, &resp->n_decisions) !=
        0)
        return th_answer_db_failure(call, "read the run's decisions");
    int rc = eligibility_store_run_summary(call, page->after[0], resp);
    if (rc == TH_ENOTFOUND)
        return th_page_invalid(call);
    if (rc != 0)
        return th_answer_db_failure(call, "read the run's summary");
    resp->run_id = th_call_strdup(call, page->after[0]);
    if (resp->n_decisions > (size_t) page->size) {
        resp->n_decisions = (size_t) page->size;
        const char *key[] = {page->after[0], resp->decisions[page->size - 1]->ags};
        resp->next_page_token = th_page_token(call, page, key);
    }
    return TH_OK;
}

ELIGIBILITY_HANDLER(eligibility_evaluate_batch)
{
    const Teilhabe__Eligibility__V1__EvaluateBatchRequest *req = (const void *) request;
    int rc;
    if ((rc = th_auth_need_principal(call)) != TH_OK)
        return rc;
    char as_of[TH_DATE_LEN + 1];
    const char *lang = NULL;
    if ((rc = s_check_common(call, req->programme_code, req->as_of, req->lang, as_of,
                             &lang)) != TH_OK)
        return rc;
    const bool all = strcmp(req->state_code, "all") == 0;
    if (!all && (rc = th_field_land(call, "state_code", req->state_code, true)) != TH_OK)
        return rc;
    const char *filters[] = {req->programme_code, as_of, req->state_code, lang};
    const th_page_request_t pr = {.list = "EvaluateBatch",
                                  .page_size = req->page_size,
                                  .default_size = ELIGIBILITY_PAGE_DEFAULT,
                                  .max_size = ELIGIBILITY_PAGE_MAX,
                                  .page_token = req->page_token,
                                  .filters = filters,
                                  .n_filters = 4,
                                  .n_keys = 2};
    th_page_t page;
    if ((rc = th_page_begin(call, &pr, &page)) != TH_OK)
        return rc;
    eligibility_version_t ver = {0};
    if ((rc = eligibility_version_in_force(call, req->programme_code, as_of, &ver)) !=
        TH_OK)
        return rc;
    Teilhabe__Eligibility__V1__EvaluateBatchResponse *resp =
        th_call_alloc(call, sizeof *resp);
    teilhabe__eligibility__v1__evaluate_batch_response__init(resp);
    eligibility_land_t land = {0};
    eligibility_run_t run = {0};
    if ((rc = eligibility_need_decider(call, ver.state_code, NULL)) != TH_OK)
        goto cleanup;
    if (page.after[0] != NULL) {
        if ((rc = s_batch_page(call, &page, lang, resp)) == TH_OK)
            *response = &resp->base;
        goto cleanup;
    }
    const char *state = all                          ? NULL
                        : req->state_code[0] != '\0' ? req->state_code
                                                     : ver.state_code;
    if ((rc = eligibility_gather(call, ver.rules, state, as_of, NULL, &land)) != TH_OK ||
        (rc = eligibility_decide(call, &ver, &land, as_of, NULL, &run)) != TH_OK)
        goto cleanup;
    const int begin = th_call_begin_write(call);
    if (begin == TH_CALL_REPLAY) {
        rc = TH_OK;
        goto cleanup;
    }
    if ((rc = begin) != TH_OK)
        goto cleanup;
    decision_t **stored = th_call_alloc(call, (land.n > 0 ? land.n : 1) * sizeof *stored);
    resp->run_id = eligibility_run_id(call);
    if ((rc = eligibility_store_run(call, &ver, &land, &run, as_of, lang, "batch",
                                    resp->run_id, stored, NULL)) != TH_OK)
        goto cleanup;
    resp->decisions =
        th_call_alloc(call, (land.n > 0 ? land.n : 1) * sizeof *resp->decisions);
    for (size_t i = 0; i < land.n; i++) {
        decision_t *d = stored[i];
        resp->districts++;
        resp->eligible +=
            d->outcome == TEILHABE__ELIGIBILITY__V1__OUTCOME__OUTCOME_ELIGIBLE;
        resp->not_eligible +=
            d->outcome == TEILHABE__ELIGIBILITY__V1__OUTCOME__OUTCOME_NOT_ELIGIBLE;
        resp->not_applicable +=
            d->outcome == TEILHABE__ELIGIBILITY__V1__OUTCOME__OUTCOME_NOT_APPLICABLE;
        resp->total_cents += d->entitlement_cents;
        resp->illustrative |= d->illustrative;
        resp->changed += d->changed;
        /* The page carries decisions without trace and facts. */
        if (resp->n_decisions < (size_t) page.size) {
            d->n_trace = d->n_facts = d->n_parts = 0;
            resp->decisions[resp->n_decisions++] = d;
        } else if (resp->next_page_token[0] == '\0') {
            const char *key[] = {resp->run_id, stored[i - 1]->ags};
            resp->next_page_token = th_page_token(call, &page, key);
        }
    }
    Teilhabe__Eligibility__V1__EvaluateBatchResponse audit = *resp;
    audit.n_decisions = 0;
    audit.next_page_token = (char *) "";
    if ((rc = th_call_record(call,
                             th_call_printf(call, "programmes/%s/runs/%s",
                                            ver.programme_code, resp->run_id),
                             NULL, &audit.base, NULL, NULL)) != TH_OK)
        goto cleanup;
    *response = &resp->base;
cleanup:
    eligibility_run_clear(&run);
    eligibility_land_clear(&land);
    eligibility_version_clear(&ver);
    return rc;
}
