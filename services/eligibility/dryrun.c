/* ---------------------------------------------------------------------------
 * dryrun.c: DryRunRuleSet: how a rule set would decide every district of a
 * Land on a date, next to the version in force then, before anyone
 * publishes it. The facts are gathered for each of the two rule sets (they
 * may read different facts) exactly as a decision gathers them; nothing is
 * stored. Who may: as for EvaluateBatch under the rule set's Land.
 * ---------------------------------------------------------------------------
 */
#include "eligibility.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "th_answer.h"
#include "th_auth.h"
#include "th_error.h"
#include "th_field.h"
#include "th_status.h"

static Teilhabe__Eligibility__V1__Outcome
s_outcome(const rules_result_t *r)
{
    if (r == NULL)
        return TEILHABE__ELIGIBILITY__V1__OUTCOME__OUTCOME_UNSPECIFIED;
    switch (rules_result_outcome(r)) {
    case RULES_ELIGIBLE: return TEILHABE__ELIGIBILITY__V1__OUTCOME__OUTCOME_ELIGIBLE;
    case RULES_NOT_ELIGIBLE:
        return TEILHABE__ELIGIBILITY__V1__OUTCOME__OUTCOME_NOT_ELIGIBLE;
    default: return TEILHABE__ELIGIBILITY__V1__OUTCOME__OUTCOME_NOT_APPLICABLE;
    }
}

/* The result of district ags in run over land, or NULL. */
static const rules_result_t *
s_find(const eligibility_land_t *land, const eligibility_run_t *run, const char *lang,
       const char *ags)
{
    for (size_t i = 0; i < land->n; i++)
        if (strcmp(land->items[i].ags, ags) == 0)
            return strcmp(lang, "en") == 0 ? run->en[i] : run->de[i];
    return NULL;
}

ELIGIBILITY_HANDLER(eligibility_dry_run)
{
    const Teilhabe__Eligibility__V1__DryRunRuleSetRequest *req = (const void *) request;
    int rc;
    if ((rc = th_auth_need_principal(call)) != TH_OK)
        return rc;
    const bool all = strcmp(req->state_code, "all") == 0;
    if ((!all &&
         (rc = th_field_land(call, "state_code", req->state_code, true)) != TH_OK) ||
        (rc = th_field_date(call, "as_of", req->as_of, true)) != TH_OK)
        return rc;
    const char *lang = eligibility_lang(call, req->lang, &rc);
    if (lang == NULL)
        return rc;
    char as_of[TH_DATE_LEN + 1];
    if (req->as_of[0] == '\0')
        th_date_today(as_of);
    else
        snprintf(as_of, sizeof as_of, "%s", req->as_of);
    eligibility_version_t proposed = {0}, current = {0};
    eligibility_land_t land_new = {0}, land_cur = {0};
    eligibility_run_t run_new = {0}, run_cur = {0};
    if ((rc = eligibility_parse_text(call, req->text, &proposed.rules)) != TH_OK)
        return rc;
    proposed.programme_code = th_call_strdup(call, rules_programme_code(proposed.rules));
    proposed.state_code = th_call_strdup(call, rules_programme_state(proposed.rules));
    proposed.hash = th_call_strdup(call, rules_hash(proposed.rules));
    if ((rc = eligibility_need_decider(call, proposed.state_code, NULL)) != TH_OK)
        goto cleanup;
    const char *state = all                          ? NULL
                        : req->state_code[0] != '\0' ? req->state_code
                                                     : proposed.state_code;
    Teilhabe__Eligibility__V1__DryRunRuleSetResponse *resp =
        th_call_alloc(call, sizeof *resp);
    teilhabe__eligibility__v1__dry_run_rule_set_response__init(resp);
    resp->programme_code = proposed.programme_code;
    resp->as_of = th_call_strdup(call, as_of);
    /* The version in force, when there is one: a new programme has none. */
    char first[TH_DATE_LEN + 1];
    bool found = false;
    if ((rc = eligibility_version_at(call, proposed.programme_code, as_of, &current, &found,
                                     first)) != TH_OK)
        goto cleanup;
    resp->current_version = found ? current.version : 0;
    if ((rc = eligibility_gather(call, proposed.rules, state, as_of, NULL, &land_new)) !=
            TH_OK ||
        (rc = eligibility_decide(call, &proposed, &land_new, as_of, NULL, &run_new)) !=
            TH_OK)
        goto cleanup;
    if (current.rules != NULL &&
        ((rc = eligibility_gather(call, current.rules, state, as_of, NULL, &land_cur)) !=
             TH_OK ||
         (rc = eligibility_decide(call, &current, &land_cur, as_of, NULL, &run_cur)) !=
             TH_OK))
        goto cleanup;
    resp->districts =
        th_call_alloc(call, (land_new.n > 0 ? land_new.n : 1) * sizeof *resp->districts);
    for (size_t i = 0; i < land_new.n; i++) {
        const rules_result_t *now = strcmp(lang, "en") == 0 ? run_new.en[i] : run_new.de[i];
        const rules_result_t *before =
            current.rules != NULL ? s_find(&land_cur, &run_cur, lang, land_new.items[i].ags)
                                  : NULL;
        Teilhabe__Eligibility__V1__DryRunLine *l = th_call_alloc(call, sizeof *l);
        teilhabe__eligibility__v1__dry_run_line__init(l);
        l->ags = th_call_strdup(call, land_new.items[i].ags);
        l->district_name = th_call_strdup(call, land_new.items[i].name);
        l->new_outcome = s_outcome(now);
        l->new_cents = rules_result_cents(now);
        l->new_illustrative = rules_result_illustrative(now) && l->new_cents > 0;
        l->new_summary = th_call_strdup(call, rules_result_summary(now));
        l->current_outcome = s_outcome(before);
        l->current_cents = before != NULL ? rules_result_cents(before) : 0;
        l->current_illustrative =
            before != NULL && rules_result_illustrative(before) && l->current_cents > 0;
        l->changed =
            l->current_outcome != l->new_outcome || l->current_cents != l->new_cents;
        resp->current_eligible +=
            l->current_outcome == TEILHABE__ELIGIBILITY__V1__OUTCOME__OUTCOME_ELIGIBLE;
        resp->new_eligible +=
            l->new_outcome == TEILHABE__ELIGIBILITY__V1__OUTCOME__OUTCOME_ELIGIBLE;
        resp->current_total_cents += l->current_cents;
        resp->new_total_cents += l->new_cents;
        resp->changed += l->changed;
        resp->new_illustrative |= l->new_illustrative;
        resp->current_illustrative |= l->current_illustrative;
        resp->districts[resp->n_districts++] = l;
    }
    *response = &resp->base;
    rc = TH_OK;
cleanup:
    eligibility_run_clear(&run_new);
    eligibility_run_clear(&run_cur);
    eligibility_land_clear(&land_new);
    eligibility_land_clear(&land_cur);
    eligibility_version_clear(&proposed);
    eligibility_version_clear(&current);
    return rc;
}
