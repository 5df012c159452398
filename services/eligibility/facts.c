/* ---------------------------------------------------------------------------
 * facts.c: the facts of a decision, gathered from the services that hold
 * them (see eligibility.h), and their stored form.
 *
 * One batch call per source and Land (and page): ListDistricts,
 * ListConcepts, ListManagers of the registry; ListMeasures, ListValues (one
 * per indicator and period named), ListSubmissions (one per period and
 * Land) of the measures service; the applications from this service's own
 * schema. Only the sources the rule set reads are asked. Every district
 * gets every fact the rule set names: what a source does not mention takes
 * the value "none" means for it (no concept: concept.adopted false and the
 * other concept facts absent; no manager: 0; no application: no council
 * decision, no work plan), with a source saying so.
 * ---------------------------------------------------------------------------
 */
#include "eligibility.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "teilhabe/v1/fields.pb-c.h"
#include "teilhabe/v1/measures.pb-c.h"
#include "teilhabe/v1/registry.pb-c.h"
#include "th_answer.h"
#include "th_enum.h"
#include "th_error.h"
#include "th_period.h"
#include "th_status.h"

#define S_REGISTRY "teilhabe.registry.v1.Registry/"
#define S_MEASURES "teilhabe.measures.v1.Measures/"
/* Pages of the registry and measures lists (their maximum). */
#define S_PAGE 500

void
eligibility_land_clear(eligibility_land_t *land)
{
    for (size_t i = 0; i < land->n; i++)
        rules_facts_destroy(&land->items[i].facts);
    free(land->items);
    land->items = NULL;
    land->n = 0;
}

static int
s_cmp_district(const void *a, const void *b)
{
    return strcmp(((const eligibility_district_t *) a)->ags,
                  ((const eligibility_district_t *) b)->ags);
}

static eligibility_district_t *
s_find(eligibility_land_t *land, const char *ags)
{
    eligibility_district_t key;
    snprintf(key.ags, sizeof key.ags, "%s", ags);
    return bsearch(&key, land->items, land->n, sizeof *land->items, s_cmp_district);
}

/* Out of memory while adding facts: answered as the service's fault. */
static int
s_nomem(th_call_t *call)
{
    return th_call_error(call, TH_RESOURCE_EXHAUSTED,
                         "the service ran out of memory gathering the facts; try again");
}

/* --- districts -------------------------------------------------------------- */

static int
s_add_district(th_call_t *call, eligibility_land_t *land, size_t *cap, const char *ags,
               const char *name)
{
    if (land->n == *cap) {
        const size_t next = *cap > 0 ? *cap * 2 : 64;
        eligibility_district_t *items = realloc(land->items, next * sizeof *items);
        if (items == NULL)
            return s_nomem(call);
        land->items = items;
        *cap = next;
    }
    eligibility_district_t *d = &land->items[land->n];
    memset(d, 0, sizeof *d);
    snprintf(d->ags, sizeof d->ags, "%s", ags);
    d->name = th_call_strdup(call, name);
    d->facts = rules_facts_new();
    if (d->facts == NULL)
        return s_nomem(call);
    land->n++;
    return TH_OK;
}

/* The district facts of d, from the registry's District. */
static int
s_district_facts(th_call_t *call, eligibility_district_t *e,
                 const Teilhabe__Registry__V1__District *d, const char *src)
{
    char kind[TH_ENUM_TEXT_SIZE], type[TH_ENUM_TEXT_SIZE];
    const char *k = th_enum_token(&teilhabe__registry__v1__district_kind__descriptor,
                                  (int) d->kind, kind, sizeof kind);
    const char *t = th_enum_token(&teilhabe__registry__v1__settlement_type__descriptor,
                                  (int) d->settlement_type, type, sizeof type);
    rules_facts_t *f = e->facts;
    if (rules_facts_set_bool(f, "district.exists", true, src) != 0 ||
        rules_facts_set_text(f, "district.state", d->state_code, src) != 0 ||
        (k != NULL ? rules_facts_set_text(f, "district.kind", k, src)
                   : rules_facts_set_absent(f, "district.kind", src)) != 0 ||
        rules_facts_set_number(f, "district.population", d->population * RULES_MICRO,
                               src) != 0 ||
        (t != NULL ? rules_facts_set_text(f, "district.settlement_type", t, src)
                   : rules_facts_set_absent(f, "district.settlement_type", src)) != 0)
        return s_nomem(call);
    return TH_OK;
}

/* A district that does not exist on as_of (or is asked about although it
 * lies in no Land the list covered): exists false, every other fact
 * absent. */
static int
s_missing_facts(th_call_t *call, eligibility_district_t *e, const rules_need_t *needs,
                size_t n_needs, const char *src)
{
    char state[3];
    snprintf(state, sizeof state, "%.2s", e->ags);
    if (rules_facts_set_bool(e->facts, "district.exists", false, src) != 0 ||
        rules_facts_set_text(e->facts, "district.state", state,
                             "the AGS's first two digits") != 0)
        return s_nomem(call);
    for (size_t i = 0; i < n_needs; i++) {
        if (rules_facts_find(e->facts, needs[i].key) != NULL)
            continue;
        if (rules_facts_set_absent(e->facts, needs[i].key,
                                   "not gathered: the district does not apply") != 0)
            return s_nomem(call);
    }
    return TH_OK;
}

/* What the page functions below share. */
typedef struct {
    eligibility_land_t *land;
    size_t *cap;
    const char *as_of;
    const char *src;
    const rules_need_t *needs; /* s_measures: every need; s_values: the one */
    size_t n_needs;
    int64_t *counts; /* s_managers, s_measures */
    int64_t *open;   /* s_measures */
} s_ctx_t;

static int
s_districts_page(th_call_t *call, const ProtobufCMessage *response, void *arg)
{
    s_ctx_t *ctx = arg;
    const Teilhabe__Registry__V1__ListDistrictsResponse *resp = (const void *) response;
    int rc;
    for (size_t i = 0; i < resp->n_districts; i++) {
        const Teilhabe__Registry__V1__District *d = resp->districts[i];
        if ((rc = s_add_district(call, ctx->land, ctx->cap, d->ags, d->name)) != TH_OK ||
            (rc = s_district_facts(call, &ctx->land->items[ctx->land->n - 1], d,
                                   ctx->src)) != TH_OK)
            return rc;
    }
    return TH_OK;
}

static int
s_districts(th_call_t *call, const char *state_code, const char *as_of,
            eligibility_land_t *land, size_t *cap)
{
    s_ctx_t ctx = {.land = land,
                   .cap = cap,
                   .as_of = as_of,
                   .src = th_call_printf(call, "registry ListDistricts as of %s", as_of)};
    Teilhabe__Registry__V1__ListDistrictsRequest req =
        TEILHABE__REGISTRY__V1__LIST_DISTRICTS_REQUEST__INIT;
    req.state_code = (char *) (state_code != NULL ? state_code : "");
    req.as_of = (char *) as_of;
    req.page_size = S_PAGE;
    return th_call_invoke_pages(
        call, S_REGISTRY "ListDistricts", &req.base,
        &teilhabe__registry__v1__list_districts_response__descriptor, s_districts_page,
        &ctx);
}

/* only_ags, when the list did not hold it: does the registry know it? */
static int
s_only(th_call_t *call, const char *ags, const char *as_of, eligibility_land_t *land,
       size_t *cap, const rules_need_t *needs, size_t n_needs)
{
    Teilhabe__Registry__V1__GetDistrictRequest req =
        TEILHABE__REGISTRY__V1__GET_DISTRICT_REQUEST__INIT;
    req.ags = (char *) ags;
    req.as_of = (char *) as_of;
    const th_result_t *r = NULL;
    int rc = th_call_invoke(call, S_REGISTRY "GetDistrict", &req.base,
                            &teilhabe__registry__v1__district__descriptor, &r);
    if (rc == TH_INVALID_ARGUMENT)
        return th_answer_field(call, TH_INVALID_ARGUMENT, "ags", r->message, "%s",
                               r->message);
    if (rc == TH_OK) {
        /* Listed by GetDistrict but not by ListDistricts of its Land on
         * the same day: it lies in another Land than the one gathered. */
        const Teilhabe__Registry__V1__District *d = (const void *) r->response;
        const char *src = th_call_printf(call, "registry GetDistrict as of %s", as_of);
        if ((rc = s_add_district(call, land, cap, d->ags, d->name)) != TH_OK ||
            (rc = s_district_facts(call, &land->items[land->n - 1], d, src)) != TH_OK)
            return rc;
        return s_missing_facts(call, &land->items[land->n - 1], needs, n_needs, src);
    }
    if (rc != TH_NOT_FOUND)
        return rc;
    /* NOT_FOUND: it exists, but not on as_of (Eisenach after 2021-06-30). */
    if ((rc = s_add_district(call, land, cap, ags, "")) != TH_OK)
        return rc;
    return s_missing_facts(call, &land->items[land->n - 1], needs, n_needs,
                           th_call_printf(call, "registry: %s", r->message));
}

/* --- concepts, managers ------------------------------------------------------- */

/* One concept's facts. */
static int
s_concept_facts(th_call_t *call, eligibility_district_t *e,
                const Teilhabe__Registry__V1__Concept *c, const char *as_of)
{
    const char *src = th_call_printf(
        call, "registry ListConcepts as of %s: version %" PRId64 ", adopted %s", as_of,
        c->version, c->adopted_on);
    int64_t age = 0;
    char orient[TH_ENUM_TEXT_SIZE];
    const char *o = th_enum_token(&teilhabe__registry__v1__orientation__descriptor,
                                  (int) c->orientation, orient, sizeof orient);
    const char **fields = th_call_alloc(call, (c->n_fields + 1) * sizeof *fields);
    char(*tokens)[TH_ENUM_TEXT_SIZE] =
        th_call_alloc(call, (c->n_fields + 1) * sizeof *tokens);
    size_t n_fields = 0;
    for (size_t k = 0; k < c->n_fields; k++) {
        const char *t = th_enum_token(&teilhabe__common__v1__field_of_action__descriptor,
                                      (int) c->fields[k], tokens[k], sizeof tokens[k]);
        if (t != NULL)
            fields[n_fields++] = t;
    }
    rules_facts_t *f = e->facts;
    if (rules_age_years(c->adopted_on, as_of, &age) != 0)
        return th_call_error(call, TH_INTERNAL,
                             "the registry answered a concept of %s adopted on \"%s\", "
                             "which is not a date on or before %s",
                             c->ags, c->adopted_on, as_of);
    if (rules_facts_set_bool(f, "concept.adopted", true, src) != 0 ||
        rules_facts_set_date(f, "concept.adopted_on", c->adopted_on, src) != 0 ||
        rules_facts_set_number(f, "concept.age_years", age, src) != 0 ||
        (o != NULL ? rules_facts_set_text(f, "concept.orientation", o, src)
                   : rules_facts_set_absent(f, "concept.orientation", src)) != 0 ||
        rules_facts_set_list(f, "concept.fields", fields, n_fields, src) != 0)
        return s_nomem(call);
    return TH_OK;
}

static int
s_concepts_page(th_call_t *call, const ProtobufCMessage *response, void *arg)
{
    s_ctx_t *ctx = arg;
    const Teilhabe__Registry__V1__ListConceptsResponse *resp = (const void *) response;
    for (size_t i = 0; i < resp->n_concepts; i++) {
        eligibility_district_t *e = s_find(ctx->land, resp->concepts[i]->ags);
        int rc;
        if (e != NULL &&
            (rc = s_concept_facts(call, e, resp->concepts[i], ctx->as_of)) != TH_OK)
            return rc;
    }
    return TH_OK;
}

static int
s_concepts(th_call_t *call, const char *state_code, const char *as_of,
           eligibility_land_t *land)
{
    s_ctx_t ctx = {.land = land, .as_of = as_of};
    Teilhabe__Registry__V1__ListConceptsRequest req =
        TEILHABE__REGISTRY__V1__LIST_CONCEPTS_REQUEST__INIT;
    req.state_code = (char *) (state_code != NULL ? state_code : "");
    req.as_of = (char *) as_of;
    req.page_size = S_PAGE;
    return th_call_invoke_pages(call, S_REGISTRY "ListConcepts", &req.base,
                                &teilhabe__registry__v1__list_concepts_response__descriptor,
                                s_concepts_page, &ctx);
}

static int
s_managers_page(th_call_t *call, const ProtobufCMessage *response, void *arg)
{
    (void) call;
    s_ctx_t *ctx = arg;
    const Teilhabe__Registry__V1__ListManagersResponse *resp = (const void *) response;
    for (size_t i = 0; i < resp->n_managers; i++) {
        const Teilhabe__Registry__V1__Manager *m = resp->managers[i];
        for (size_t k = 0; k < m->n_assignments; k++) {
            eligibility_district_t *e = s_find(ctx->land, m->assignments[k]->ags);
            if (e != NULL)
                ctx->counts[e - ctx->land->items]++;
        }
    }
    return TH_OK;
}

static int
s_managers(th_call_t *call, const char *state_code, const char *as_of,
           eligibility_land_t *land)
{
    int64_t *counts = th_call_alloc(call, (land->n + 1) * sizeof *counts);
    memset(counts, 0, (land->n + 1) * sizeof *counts);
    Teilhabe__Registry__V1__ListManagersRequest req =
        TEILHABE__REGISTRY__V1__LIST_MANAGERS_REQUEST__INIT;
    req.state_code = (char *) (state_code != NULL ? state_code : "");
    req.as_of = (char *) as_of;
    req.page_size = S_PAGE;
    s_ctx_t ctx = {.land = land, .counts = counts};
    int rc = th_call_invoke_pages(
        call, S_REGISTRY "ListManagers", &req.base,
        &teilhabe__registry__v1__list_managers_response__descriptor, s_managers_page, &ctx);
    if (rc != TH_OK)
        return rc;
    const char *src = th_call_printf(call, "registry ListManagers as of %s", as_of);
    for (size_t i = 0; i < land->n; i++)
        if (rules_facts_set_number(land->items[i].facts, "managers.count",
                                   counts[i] * RULES_MICRO, src) != 0)
            return s_nomem(call);
    return TH_OK;
}

/* --- measures ------------------------------------------------------------------ */

/* A measure runs on as_of: active or completed, started on or before it
 * (an active one without a start date counts), not ended before it. */
static bool
s_runs(const Teilhabe__Measures__V1__Measure *m, const char *as_of)
{
    if (m->status != TEILHABE__MEASURES__V1__MEASURE_STATUS__MEASURE_STATUS_ACTIVE &&
        m->status != TEILHABE__MEASURES__V1__MEASURE_STATUS__MEASURE_STATUS_COMPLETED)
        return false;
    if (m->start_date[0] == '\0')
        return m->status == TEILHABE__MEASURES__V1__MEASURE_STATUS__MEASURE_STATUS_ACTIVE;
    if (strcmp(m->start_date, as_of) > 0)
        return false;
    return m->end_date[0] == '\0' || strcmp(m->end_date, as_of) >= 0;
}

static bool
s_measure_matches(const Teilhabe__Measures__V1__Measure *m, const rules_need_t *need)
{
    char buf[TH_ENUM_TEXT_SIZE];
    if (need->field != NULL) {
        const char *t = th_enum_token(&teilhabe__common__v1__field_of_action__descriptor,
                                      (int) m->field, buf, sizeof buf);
        if (t == NULL || strcmp(t, need->field) != 0)
            return false;
    }
    if (need->target != NULL) {
        const char *t = th_enum_token(&teilhabe__measures__v1__target_group__descriptor,
                                      (int) m->target_group, buf, sizeof buf);
        if (t == NULL || strcmp(t, need->target) != 0)
            return false;
    }
    return true;
}

static int
s_measures_page(th_call_t *call, const ProtobufCMessage *response, void *arg)
{
    (void) call;
    s_ctx_t *ctx = arg;
    /* counts[need * (n + 1) + district]: matching measures; open[...] of
     * them open to all residents. */
    const size_t n = ctx->land->n + 1;
    const Teilhabe__Measures__V1__ListMeasuresResponse *resp = (const void *) response;
    for (size_t i = 0; i < resp->n_measures; i++) {
        const Teilhabe__Measures__V1__Measure *m = resp->measures[i];
        eligibility_district_t *e = s_find(ctx->land, m->ags);
        if (e == NULL || !s_runs(m, ctx->as_of))
            continue;
        const size_t d = (size_t) (e - ctx->land->items);
        for (size_t k = 0; k < ctx->n_needs; k++) {
            if (ctx->needs[k].source != RULES_FROM_MEASURES ||
                !s_measure_matches(m, &ctx->needs[k]))
                continue;
            ctx->counts[k * n + d]++;
            if (m->target_group ==
                TEILHABE__MEASURES__V1__TARGET_GROUP__TARGET_GROUP_ALL_RESIDENTS)
                ctx->open[k * n + d]++;
        }
    }
    return TH_OK;
}

static int
s_measures(th_call_t *call, const char *state_code, const char *as_of,
           eligibility_land_t *land, const rules_need_t *needs, size_t n_needs)
{
    const size_t n = land->n + 1;
    int64_t *counts = th_call_alloc(call, n_needs * n * sizeof *counts);
    int64_t *open = th_call_alloc(call, n_needs * n * sizeof *open);
    memset(counts, 0, n_needs * n * sizeof *counts);
    memset(open, 0, n_needs * n * sizeof *open);
    Teilhabe__Measures__V1__ListMeasuresRequest req =
        TEILHABE__MEASURES__V1__LIST_MEASURES_REQUEST__INIT;
    req.state_code = (char *) (state_code != NULL ? state_code : "");
    req.page_size = S_PAGE;
    s_ctx_t ctx = {.land = land,
                   .as_of = as_of,
                   .needs = needs,
                   .n_needs = n_needs,
                   .counts = counts,
                   .open = open};
    int rc = th_call_invoke_pages(
        call, S_MEASURES "ListMeasures", &req.base,
        &teilhabe__measures__v1__list_measures_response__descriptor, s_measures_page, &ctx);
    if (rc != TH_OK)
        return rc;
    const char *src =
        th_call_printf(call, "measures ListMeasures: measures running on %s", as_of);
    for (size_t k = 0; k < n_needs; k++) {
        if (needs[k].source != RULES_FROM_MEASURES)
            continue;
        const bool share = strcmp(needs[k].name, "measures.open_to_all_share") == 0;
        for (size_t d = 0; d < land->n; d++) {
            rules_facts_t *f = land->items[d].facts;
            const int64_t c = counts[k * n + d];
            if (!share)
                rc = rules_facts_set_number(f, needs[k].key, c * RULES_MICRO, src);
            else if (c == 0)
                rc = rules_facts_set_absent(f, needs[k].key,
                                            th_call_printf(call, "%s: none", src));
            else
                rc = rules_facts_set_number(f, needs[k].key,
                                            open[k * n + d] * RULES_MICRO / c, src);
            if (rc != 0)
                return s_nomem(call);
        }
    }
    return TH_OK;
}

/* A value as the measures service answers it (a double rounded to 6
 * decimals) in micro, rounded half away from zero. */
static int64_t
s_double_micro(double v)
{
    const double scaled = v * (double) RULES_MICRO;
    return (int64_t) (scaled >= 0 ? scaled + 0.5 : scaled - 0.5);
}

static int
s_values_page(th_call_t *call, const ProtobufCMessage *response, void *arg)
{
    s_ctx_t *ctx = arg;
    const Teilhabe__Measures__V1__ListValuesResponse *resp = (const void *) response;
    for (size_t i = 0; i < resp->n_values; i++) {
        const Teilhabe__Measures__V1__IndicatorValue *v = resp->values[i];
        eligibility_district_t *e = s_find(ctx->land, v->ags);
        /* from..to includes the period's halves, quarters and months:
         * only the period itself is the fact. */
        if (e == NULL || strcmp(v->period, ctx->needs->period) != 0)
            continue;
        const char *src = th_call_printf(call, "measures ListValues %s %s: %s",
                                         v->indicator_code, v->period, v->source);
        if (rules_facts_set_number(e->facts, ctx->needs->key, s_double_micro(v->value),
                                   src) != 0)
            return s_nomem(call);
    }
    return TH_OK;
}

static int
s_values(th_call_t *call, const char *state_code, eligibility_land_t *land,
         const rules_need_t *need)
{
    const char *dis = need->disaggregation != NULL ? need->disaggregation : "total";
    const int dis_value =
        th_enum_from_token(&teilhabe__measures__v1__disaggregation__descriptor, dis);
    for (size_t d = 0; d < land->n; d++)
        if (rules_facts_set_absent(land->items[d].facts, need->key,
                                   th_call_printf(call,
                                                  "measures ListValues: no value of %s "
                                                  "for %s (%s)",
                                                  need->indicator, need->period, dis)) != 0)
            return s_nomem(call);
    Teilhabe__Measures__V1__ListValuesRequest req =
        TEILHABE__MEASURES__V1__LIST_VALUES_REQUEST__INIT;
    req.state_code = (char *) (state_code != NULL ? state_code : "");
    req.indicator_code = (char *) need->indicator;
    req.from_period = (char *) need->period;
    req.to_period = (char *) need->period;
    req.disaggregation = dis_value > 0
                             ? (Teilhabe__Measures__V1__Disaggregation) dis_value
                             : TEILHABE__MEASURES__V1__DISAGGREGATION__DISAGGREGATION_TOTAL;
    req.page_size = 1000;
    s_ctx_t ctx = {.land = land, .needs = need};
    return th_call_invoke_pages(call, S_MEASURES "ListValues", &req.base,
                                &teilhabe__measures__v1__list_values_response__descriptor,
                                s_values_page, &ctx);
}

static int
s_submissions(th_call_t *call, eligibility_land_t *land, const rules_need_t *need)
{
    const char *none =
        th_call_printf(call, "measures ListSubmissions %s: not approved", need->period);
    for (size_t d = 0; d < land->n; d++)
        if (rules_facts_set_bool(land->items[d].facts, need->key, false, none) != 0)
            return s_nomem(call);
    /* ListSubmissions takes one Land: each Land among the districts once. */
    char last[3] = "";
    for (size_t d = 0; d < land->n; d++) {
        if (strncmp(land->items[d].ags, last, 2) == 0)
            continue;
        snprintf(last, sizeof last, "%.2s", land->items[d].ags);
        Teilhabe__Measures__V1__ListSubmissionsRequest req =
            TEILHABE__MEASURES__V1__LIST_SUBMISSIONS_REQUEST__INIT;
        req.state_code = last;
        req.period = (char *) need->period;
        req.status = TEILHABE__MEASURES__V1__SUBMISSION_STATUS__SUBMISSION_STATUS_APPROVED;
        const th_result_t *r = NULL;
        int rc = th_call_invoke(
            call, S_MEASURES "ListSubmissions", &req.base,
            &teilhabe__measures__v1__list_submissions_response__descriptor, &r);
        if (rc != TH_OK)
            return rc;
        const Teilhabe__Measures__V1__ListSubmissionsResponse *resp =
            (const void *) r->response;
        for (size_t i = 0; i < resp->n_submissions; i++) {
            const Teilhabe__Measures__V1__Submission *s = resp->submissions[i];
            eligibility_district_t *e = s_find(land, s->ags);
            if (e == NULL ||
                s->status !=
                    TEILHABE__MEASURES__V1__SUBMISSION_STATUS__SUBMISSION_STATUS_APPROVED)
                continue;
            const char *src = th_call_printf(call,
                                             "measures ListSubmissions %s: approved by %s "
                                             "at %s",
                                             need->period, s->decided_by, s->decide_time);
            if (rules_facts_set_bool(e->facts, need->key, true, src) != 0)
                return s_nomem(call);
        }
    }
    return TH_OK;
}

/* --- applications (this service's own) --------------------------------------------- */

static int
s_applications(th_call_t *call, const rules_set_t *rules, const char *state_code,
               eligibility_land_t *land)
{
    const char *code = rules_programme_code(rules);
    const char *none = th_call_printf(call, "no application recorded for %s", code);
    for (size_t d = 0; d < land->n; d++) {
        rules_facts_t *f = land->items[d].facts;
        if (rules_facts_set_absent(f, "application.council_decision", none) != 0 ||
            rules_facts_set_bool(f, "application.work_plan", false, none) != 0)
            return s_nomem(call);
    }
    application_t **apps = NULL;
    size_t n = 0;
    if (eligibility_store_applications(call, code, state_code, &apps, &n) != 0)
        return th_answer_db_failure(call, "read the applications");
    for (size_t i = 0; i < n; i++) {
        eligibility_district_t *e = s_find(land, apps[i]->ags);
        if (e == NULL)
            continue;
        const char *src =
            th_call_printf(call, "application version %" PRId64 ", set by %s at %s",
                           apps[i]->version, apps[i]->updated_by, apps[i]->update_time);
        rules_facts_t *f = e->facts;
        if ((apps[i]->council_decision[0] != '\0'
                 ? rules_facts_set_date(f, "application.council_decision",
                                        apps[i]->council_decision, src)
                 : rules_facts_set_absent(f, "application.council_decision", src)) != 0 ||
            rules_facts_set_bool(f, "application.work_plan", apps[i]->work_plan, src) != 0)
            return s_nomem(call);
    }
    return TH_OK;
}

/* --- all together ----------------------------------------------------------------------
 */

int
eligibility_gather(th_call_t *call, const rules_set_t *rules, const char *state_code,
                   const char *as_of, const char *only_ags, eligibility_land_t *out)
{
    memset(out, 0, sizeof *out);
    size_t cap = 0, n_needs = 0;
    const rules_need_t *needs = rules_needs(rules, &n_needs);
    int rc = s_districts(call, state_code, as_of, out, &cap);
    if (rc != TH_OK)
        goto fail;
    bool concepts = false, managers = false, measures = false, applications = false;
    for (size_t i = 0; i < n_needs; i++) {
        concepts |= needs[i].source == RULES_FROM_CONCEPTS;
        managers |= needs[i].source == RULES_FROM_MANAGERS;
        measures |= needs[i].source == RULES_FROM_MEASURES;
        applications |= needs[i].source == RULES_FROM_APPLICATIONS;
    }
    if (concepts) {
        const char *none =
            th_call_printf(call, "registry ListConcepts as of %s: no concept", as_of);
        for (size_t d = 0; d < out->n; d++) {
            rules_facts_t *f = out->items[d].facts;
            if (rules_facts_set_bool(f, "concept.adopted", false, none) != 0 ||
                rules_facts_set_absent(f, "concept.adopted_on", none) != 0 ||
                rules_facts_set_absent(f, "concept.age_years", none) != 0 ||
                rules_facts_set_absent(f, "concept.orientation", none) != 0 ||
                rules_facts_set_absent(f, "concept.fields", none) != 0) {
                rc = s_nomem(call);
                goto fail;
            }
        }
        if ((rc = s_concepts(call, state_code, as_of, out)) != TH_OK)
            goto fail;
    }
    if (managers && (rc = s_managers(call, state_code, as_of, out)) != TH_OK)
        goto fail;
    if (measures &&
        (rc = s_measures(call, state_code, as_of, out, needs, n_needs)) != TH_OK)
        goto fail;
    for (size_t i = 0; i < n_needs; i++) {
        if (needs[i].source == RULES_FROM_VALUES &&
            (rc = s_values(call, state_code, out, &needs[i])) != TH_OK)
            goto fail;
        if (needs[i].source == RULES_FROM_SUBMISSIONS &&
            (rc = s_submissions(call, out, &needs[i])) != TH_OK)
            goto fail;
    }
    if (applications && (rc = s_applications(call, rules, state_code, out)) != TH_OK)
        goto fail;
    /* Last, so the lists above need not know it: the one district asked
     * about when the Land's list did not hold it. */
    if (only_ags != NULL && s_find(out, only_ags) == NULL) {
        if ((rc = s_only(call, only_ags, as_of, out, &cap, needs, n_needs)) != TH_OK)
            goto fail;
        qsort(out->items, out->n, sizeof *out->items, s_cmp_district);
    }
    return TH_OK;
fail:
    eligibility_land_clear(out);
    return rc;
}

/* --- stored form ------------------------------------------------------------------------
 */

static const char *const s_type_names[] = {"absent", "bool", "number",
                                           "date",   "text", "list"};

/* micro as a decimal without trailing zeros ("2.5", "-0.000001", "3"). */
static void
s_micro_text(int64_t micro, char *out, size_t size)
{
    const bool neg = micro < 0;
    const uint64_t u = neg ? (uint64_t) 0 - (uint64_t) micro : (uint64_t) micro;
    const uint64_t whole = u / (uint64_t) RULES_MICRO, frac = u % (uint64_t) RULES_MICRO;
    if (frac == 0) {
        snprintf(out, size, "%s%" PRIu64, neg ? "-" : "", whole);
        return;
    }
    char f[8];
    snprintf(f, sizeof f, "%06" PRIu64, frac);
    for (int i = 5; i > 0 && f[i] == '0'; i--)
        f[i] = '\0';
    snprintf(out, size, "%s%" PRIu64 ".%s", neg ? "-" : "", whole, f);
}

Teilhabe__Eligibility__V1__FactSet *
eligibility_facts_to_set(th_call_t *call, const rules_facts_t *facts)
{
    Teilhabe__Eligibility__V1__FactSet *set = th_call_alloc(call, sizeof *set);
    teilhabe__eligibility__v1__fact_set__init(set);
    const size_t n = rules_facts_count(facts);
    set->facts = th_call_alloc(call, (n > 0 ? n : 1) * sizeof *set->facts);
    set->n_facts = n;
    for (size_t i = 0; i < n; i++) {
        const rules_fact_t *f = rules_facts_at(facts, i);
        fact_t *m = th_call_alloc(call, sizeof *m);
        teilhabe__eligibility__v1__fact__init(m);
        /* Copies: the facts go before the reply is packed. */
        m->key = th_call_strdup(call, f->key);
        m->source = th_call_strdup(call, f->source != NULL ? f->source : "");
        m->type = (char *) s_type_names[f->value.type <= RULES_LIST ? f->value.type : 0];
        char num[32];
        switch (f->value.type) {
        case RULES_BOOL: m->value = (char *) (f->value.b ? "true" : "false"); break;
        case RULES_NUMBER:
            s_micro_text(f->value.micro, num, sizeof num);
            m->value = th_call_strdup(call, num);
            break;
        case RULES_DATE:
        case RULES_TEXT: m->value = th_call_strdup(call, f->value.text); break;
        case RULES_LIST: {
            size_t len = 1;
            for (size_t k = 0; k < f->value.n_items; k++)
                len += strlen(f->value.items[k]) + 1;
            char *joined = th_call_alloc(call, len);
            joined[0] = '\0';
            for (size_t k = 0; k < f->value.n_items; k++) {
                if (k > 0)
                    strcat(joined, ",");
                strcat(joined, f->value.items[k]);
            }
            m->value = joined;
            break;
        }
        default: m->value = (char *) "";
        }
        set->facts[i] = m;
    }
    return set;
}

rules_facts_t *
eligibility_facts_from_set(const Teilhabe__Eligibility__V1__FactSet *set, char *errbuf,
                           size_t errlen)
{
    rules_facts_t *facts = rules_facts_new();
    if (facts == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < set->n_facts; i++) {
        const fact_t *f = set->facts[i];
        int rc = -1;
        if (strcmp(f->type, "absent") == 0) {
            rc = rules_facts_set_absent(facts, f->key, f->source);
        } else if (strcmp(f->type, "bool") == 0) {
            rc = rules_facts_set_bool(facts, f->key, strcmp(f->value, "true") == 0,
                                      f->source);
        } else if (strcmp(f->type, "number") == 0) {
            int64_t micro;
            if (rules_parse_micro(f->value, &micro) == 0)
                rc = rules_facts_set_number(facts, f->key, micro, f->source);
        } else if (strcmp(f->type, "date") == 0) {
            rc = rules_facts_set_date(facts, f->key, f->value, f->source);
        } else if (strcmp(f->type, "text") == 0) {
            rc = rules_facts_set_text(facts, f->key, f->value, f->source);
        } else if (strcmp(f->type, "list") == 0) {
            /* Items are enum tokens: never a comma inside one. */
            char *copy = strdup(f->value);
            const char *items[64];
            size_t n = 0;
            if (copy != NULL) {
                for (char *save = NULL, *t = strtok_r(copy, ",", &save);
                     t != NULL && n < 64; t = strtok_r(NULL, ",", &save))
                    items[n++] = t;
                rc = rules_facts_set_list(facts, f->key, items, n, f->source);
                free(copy);
            }
        }
        if (rc != 0) {
            snprintf(errbuf, errlen,
                     "stored fact \"%s\" of type \"%s\" has the value \"%s\"", f->key,
                     f->type, f->value);
            rules_facts_destroy(&facts);
            return NULL;
        }
    }
    return facts;
}
