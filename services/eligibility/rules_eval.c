/* ---------------------------------------------------------------------------
 * rules_eval.c: one district's decision under a rule set: the
 * applicability checks, the criteria as a trace, what-if texts for what
 * failed, the summary line. The money is rules_money.c's.
 *
 * Every child of a combinator is evaluated, even when the outcome is
 * already known, so the trace shows everything a district lacks, not just
 * the first thing.
 * ---------------------------------------------------------------------------
 */
#include "rules_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "th_error.h"

typedef struct {
    const rules_set_t *set;
    rules_result_t *result;
    const rules_facts_t *facts;
    const char *as_of;
    char *errbuf;
    size_t errlen;
    int rc;
} s_eval_t;

/* --- the result's storage ----------------------------------------------------- */

const char *
rules__keep(rules_result_t *self, char *s)
{
    if (s == NULL)
        return NULL;
    if (self->n_pool == self->cap_pool) {
        const size_t cap = self->cap_pool ? self->cap_pool * 2 : 32;
        char **grown = realloc(self->pool, cap * sizeof *grown);
        if (grown == NULL) {
            free(s);
            return NULL;
        }
        self->pool = grown;
        self->cap_pool = cap;
    }
    self->pool[self->n_pool++] = s;
    return s;
}

const char *
rules__keeps(rules_result_t *self, const char *s)
{
    return s == NULL ? NULL : rules__keep(self, strdup(s));
}

const char *
rules__keepf(rules_result_t *self, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    const int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    return n < 0 ? NULL : rules__keep(self, s);
}

int
rules__add_part(rules_result_t *self, const rules_part_t *part)
{
    if (self->n_parts == self->cap_parts) {
        const size_t cap = self->cap_parts ? self->cap_parts * 2 : 8;
        rules_part_t *grown = realloc(self->parts, cap * sizeof *grown);
        if (grown == NULL)
            return TH_ENOMEM;
        self->parts = grown;
        self->cap_parts = cap;
    }
    self->parts[self->n_parts++] = *part;
    return 0;
}

/* A new trace line (zeroed but for "" strings); its index, or -1. */
static long
s_line(rules_result_t *self)
{
    if (self->n_trace == self->cap_trace) {
        const size_t cap = self->cap_trace ? self->cap_trace * 2 : 16;
        rules_trace_t *grown = realloc(self->trace, cap * sizeof *grown);
        if (grown == NULL)
            return -1;
        self->trace = grown;
        self->cap_trace = cap;
    }
    self->trace[self->n_trace] = (rules_trace_t){.id = "",
                                                 .text = "",
                                                 .source = "",
                                                 .fact = "",
                                                 .value = "",
                                                 .value_source = "",
                                                 .expected = "",
                                                 .whatif = ""};
    return (long) self->n_trace++;
}

/* --- comparing --------------------------------------------------------------------- */

static const char *const s_op_signs[] = {"=",  "!=", "<",       "<=",     ">",
                                         ">=", "in", "between", "exists", "contains"};

static int
s_cmp(const rules_value_t *a, const rules_value_t *b)
{
    switch (a->type) {
    case RULES_BOOL: return (int) a->b - (int) b->b;
    case RULES_NUMBER: return a->micro < b->micro ? -1 : a->micro > b->micro;
    default: return strcmp(a->text ? a->text : "", b->text ? b->text : "");
    }
}

static bool
s_holds(const rules_criterion_t *c, const rules_value_t *v)
{
    if (c->op == RULES_OP_EXISTS)
        return v->type != RULES_ABSENT;
    if (v->type == RULES_ABSENT)
        return false;
    switch (c->op) {
    case RULES_OP_EQ: return s_cmp(v, &c->values[0]) == 0;
    case RULES_OP_NE: return s_cmp(v, &c->values[0]) != 0;
    case RULES_OP_LT: return s_cmp(v, &c->values[0]) < 0;
    case RULES_OP_LE: return s_cmp(v, &c->values[0]) <= 0;
    case RULES_OP_GT: return s_cmp(v, &c->values[0]) > 0;
    case RULES_OP_GE: return s_cmp(v, &c->values[0]) >= 0;
    case RULES_OP_BETWEEN:
        return s_cmp(v, &c->values[0]) >= 0 && s_cmp(v, &c->values[1]) <= 0;
    case RULES_OP_IN:
        for (size_t i = 0; i < c->n_values; i++)
            if (s_cmp(v, &c->values[i]) == 0)
                return true;
        return false;
    case RULES_OP_CONTAINS:
        for (size_t i = 0; i < c->n_values; i++) {
            bool found = false;
            for (size_t k = 0; k < v->n_items && !found; k++)
                found = strcmp(v->items[k], c->values[i].text) == 0;
            if (!found)
                return false;
        }
        return true;
    default: return false;
    }
}

/* "<= 3", "in [a, b]", "exists". */
static const char *
s_expected(rules_result_t *r, const rules_criterion_t *c)
{
    if (c->op == RULES_OP_EXISTS)
        return "exists";
    size_t len = 16;
    char *texts[RULES_CRITERIA_MAX];
    const size_t n = c->n_values < RULES_CRITERIA_MAX ? c->n_values : RULES_CRITERIA_MAX;
    for (size_t i = 0; i < n; i++) {
        texts[i] = rules__value_text(&c->values[i]);
        len += texts[i] ? strlen(texts[i]) + 2 : 2;
    }
    char *s = malloc(len);
    if (s != NULL) {
        const bool list =
            c->op == RULES_OP_IN || c->op == RULES_OP_BETWEEN || c->op == RULES_OP_CONTAINS;
        char *p = s + sprintf(s, "%s %s", s_op_signs[c->op], list ? "[" : "");
        for (size_t i = 0; i < n; i++)
            p += sprintf(p, "%s%s", i ? ", " : "", texts[i] ? texts[i] : "");
        sprintf(p, "%s", list ? "]" : "");
    }
    for (size_t i = 0; i < n; i++)
        free(texts[i]);
    return rules__keep(r, s);
}

/* --- what-if ------------------------------------------------------------------------- */

/* What would make the failed leaf c pass, in the result's language. */
static const char *
s_whatif(s_eval_t *e, const rules_criterion_t *c, const char *value, const char *expected)
{
    rules_result_t *r = e->result;
    const bool en = r->en;
    const char *fact = c->fact.name;
    const rules_value_t *v = c->n_values > 0 ? &c->values[0] : NULL;
    if (strcmp(fact, "concept.age_years") == 0 && c->op == RULES_OP_LE &&
        v->micro % RULES_MICRO == 0) {
        char date[11];
        if (rules__date_add_years(e->as_of, (int) -(v->micro / RULES_MICRO), date) == 0)
            return rules__keepf(r,
                                en ? "an integration concept adopted by the council on or "
                                     "after %s"
                                   : "ein Integrationskonzept, vom Rat beschlossen am oder "
                                     "nach %s",
                                date);
    }
    if (strcmp(fact, "concept.adopted") == 0 && c->op == RULES_OP_EQ && v->b)
        return en ? "an integration concept adopted by the council"
                  : "ein vom Rat beschlossenes Integrationskonzept";
    if (strcmp(fact, "application.council_decision") == 0 && c->op == RULES_OP_EXISTS)
        return en ? "a decision of the council (application set … --council-decision DATE)"
                  : "ein Ratsbeschluss (application set … --council-decision DATUM)";
    if (strcmp(fact, "application.work_plan") == 0 && c->op == RULES_OP_EQ && v->b)
        return en ? "a work plan (application set … --work-plan)"
                  : "ein Arbeitsplan (application set … --work-plan)";
    if (strcmp(fact, "submission.approved") == 0 && c->op == RULES_OP_EQ && v->b)
        return rules__keepf(
            r, en ? "an approved submission for %s" : "eine genehmigte Einreichung für %s",
            c->fact.period);
    if (strcmp(fact, "managers.count") == 0 && c->op == RULES_OP_GE) {
        char n[32];
        rules__format_micro(v->micro, n, sizeof n);
        return rules__keepf(
            r,
            en ? "at least %s assigned integration manager(s) (now %s)"
               : "mindestens %s zugeordnete:r Integrationsmanager:in (heute %s)",
            n, value[0] ? value : "0");
    }
    return rules__keepf(r, en ? "%s %s (now %s)" : "%s %s (heute %s)", c->fact.key,
                        expected, value[0] ? value : (en ? "no value" : "kein Wert"));
}

/* --- the walk ------------------------------------------------------------------------ */

/* Evaluates criterion i and its children into the trace; *attainable says
 * whether anything could make it pass. */
static bool
s_walk(s_eval_t *e, size_t i, int depth, bool *attainable)
{
    const rules_criterion_t *c = &e->set->criteria[i];
    rules_result_t *r = e->result;
    *attainable = false; /* also when the walk stops early, out of memory */
    const long at = s_line(r);
    if (at < 0) {
        e->rc = TH_ENOMEM;
        return false;
    }
    rules_trace_t line = r->trace[at];
    /* The result outlives the rule set: it keeps copies. */
    line.id = rules__keeps(r, c->id);
    line.depth = depth;
    line.text = rules__keeps(r, r->en ? c->text_en : c->text_de);
    line.source = rules__keeps(r, c->source);
    bool passed, can;
    if (c->op >= RULES_OP_ALL) {
        size_t n_passed = 0, n_can = 0;
        for (size_t k = 0; k < c->n_children; k++) {
            bool child_can = false;
            n_passed += s_walk(e, c->children[k], depth + 1, &child_can);
            n_can += child_can;
        }
        if (c->op == RULES_OP_ALL) {
            passed = n_passed == c->n_children;
            can = n_can == c->n_children;
            line.expected = rules__keepf(r, "all of %zu", c->n_children);
        } else if (c->op == RULES_OP_ANY) {
            passed = n_passed > 0;
            can = n_can > 0;
            line.expected = rules__keepf(r, "any of %zu", c->n_children);
        } else {
            /* not passes when its child fails; a passing child could be
             * made to fail only by changing a fixable fact. */
            const rules_criterion_t *child = &e->set->criteria[c->children[0]];
            passed = n_passed == 0;
            can = passed || child->op >= RULES_OP_ALL || child->fact.def->fixable;
            line.expected = "not";
        }
        line.fixable = can;
    } else {
        const rules_fact_t *f = rules_facts_find(e->facts, c->fact.key);
        const rules_value_t absent = {.type = RULES_ABSENT};
        const rules_value_t *v = f ? &f->value : &absent;
        passed = s_holds(c, v);
        can = passed || c->fact.def->fixable;
        line.fact = rules__keeps(r, c->fact.key);
        line.value = rules__keep(r, rules__value_text(v));
        line.value_source = rules__keeps(r, f && f->source ? f->source : "");
        line.expected = s_expected(r, c);
        line.fixable = c->fact.def->fixable;
        if (!passed && line.fixable && line.value != NULL && line.expected != NULL)
            line.whatif = s_whatif(e, c, line.value, line.expected);
    }
    line.passed = passed;
    if (line.id == NULL || line.text == NULL || line.source == NULL || line.fact == NULL ||
        line.value_source == NULL || line.expected == NULL || line.value == NULL ||
        line.whatif == NULL)
        e->rc = TH_ENOMEM;
    r->trace[at] = line;
    *attainable = can;
    return passed;
}

/* A needed fact that is not in facts at all is the service's mistake, and
 * so is one of the wrong type. */
static int
s_check_fact(s_eval_t *e, const char *key)
{
    const rules_fact_t *f = rules_facts_find(e->facts, key);
    rules_type_t type;
    if (f == NULL) {
        snprintf(e->errbuf, e->errlen, "fact %s is missing", key);
        return TH_EINVAL;
    }
    if (rules_fact_type(key, &type) == 0 && f->value.type != RULES_ABSENT &&
        f->value.type != type) {
        snprintf(e->errbuf, e->errlen, "fact %s has the wrong type", key);
        return TH_EINVAL;
    }
    return 0;
}

/* The built-in checks _exists and _state; false when the district is not
 * one the programme applies to (the summary then says why). */
static bool
s_applicable(s_eval_t *e, const char *ags)
{
    rules_result_t *r = e->result;
    const rules_fact_t *exists = rules_facts_find(e->facts, "district.exists");
    const rules_fact_t *state = rules_facts_find(e->facts, "district.state");
    const bool ok_exists = exists->value.type == RULES_BOOL && exists->value.b;
    const bool ok_state =
        state->value.type == RULES_TEXT && strcmp(state->value.text, e->set->state) == 0;
    const long a = s_line(r), b = a < 0 ? -1 : s_line(r);
    if (b < 0) {
        e->rc = TH_ENOMEM;
        return false;
    }
    rules_trace_t *t = &r->trace[a];
    t->id = "_exists";
    t->text =
        r->en ? "the district exists on the date asked" : "der Kreis besteht am Stichtag";
    t->source = r->en ? "territorial status (registry)" : "Gebietsstand (Register)";
    t->fact = "district.exists";
    t->value = rules__keep(r, rules__value_text(&exists->value));
    t->value_source = rules__keeps(r, exists->source ? exists->source : "");
    t->expected = "= true";
    t->passed = ok_exists;
    t = &r->trace[b];
    t->id = "_state";
    t->text = r->en ? "the district lies in the programme's Land"
                    : "der Kreis liegt im Land des Programms";
    t->source = r->en ? "territorial status (registry)" : "Gebietsstand (Register)";
    t->fact = "district.state";
    t->value = rules__keep(r, rules__value_text(&state->value));
    t->value_source = rules__keeps(r, state->source ? state->source : "");
    t->expected = rules__keepf(r, "= %s", e->set->state);
    t->passed = ok_state;
    if (r->trace[a].value == NULL || r->trace[a].value_source == NULL || t->value == NULL ||
        t->value_source == NULL || t->expected == NULL)
        e->rc = TH_ENOMEM;
    if (!ok_exists)
        r->summary = rules__keepf(r,
                                  r->en ? "not applicable: district %s does not exist on %s"
                                        : "nicht anwendbar: Kreis %s besteht am %s nicht",
                                  ags, e->as_of);
    else if (!ok_state)
        r->summary =
            rules__keepf(r,
                         r->en ? "not applicable: district %s is not in Land %s"
                               : "nicht anwendbar: Kreis %s liegt nicht im Land %s",
                         ags, e->set->state);
    return ok_exists && ok_state;
}

rules_result_t *
rules_evaluate(const rules_set_t *self, const char *ags, const char *as_of,
               const rules_facts_t *facts, const char *lang, char *errbuf, size_t errlen)
{
    char scratch[8];
    if (errbuf == NULL || errlen == 0) {
        errbuf = scratch;
        errlen = sizeof scratch;
    }
    errbuf[0] = '\0';
    if (self == NULL || ags == NULL || as_of == NULL || facts == NULL) {
        snprintf(errbuf, errlen, "rule set, district, date and facts are required");
        return NULL;
    }
    char shifted[11];
    if (rules__date_add_years(as_of, 0, shifted) != 0) {
        snprintf(errbuf, errlen, "\"%s\" is not a date YYYY-MM-DD", as_of);
        return NULL;
    }
    rules_result_t *r = calloc(1, sizeof *r);
    if (r == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    r->en = lang != NULL && strcmp(lang, "en") == 0;
    r->ags = strdup(ags);
    s_eval_t e = {.set = self,
                  .result = r,
                  .facts = facts,
                  .as_of = as_of,
                  .errbuf = errbuf,
                  .errlen = errlen,
                  .rc = r->ags ? 0 : TH_ENOMEM};
    if (e.rc != 0)
        goto cleanup;
    if ((e.rc = s_check_fact(&e, "district.exists")) != 0 ||
        (e.rc = s_check_fact(&e, "district.state")) != 0)
        goto cleanup;
    if (!s_applicable(&e, ags)) {
        r->outcome = RULES_NOT_APPLICABLE;
        goto cleanup;
    }
    /* Only an applicable district must have the rest of its facts. */
    for (size_t i = 0; i < self->n_needs; i++)
        if ((e.rc = s_check_fact(&e, self->needs[i].key)) != 0)
            goto cleanup;
    bool eligible = true;
    r->attainable = true;
    const rules_criterion_t *first_failed = NULL;
    for (size_t k = 0; k < self->n_eligible_if && e.rc == 0; k++) {
        bool can = false;
        if (!s_walk(&e, self->eligible_if[k], 0, &can)) {
            eligible = false;
            if (first_failed == NULL)
                first_failed = &self->criteria[self->eligible_if[k]];
        }
        r->attainable = r->attainable && can;
    }
    if (e.rc != 0)
        goto cleanup;
    if (self->allocates) {
        const rules_fact_t *w = rules_facts_find(facts, self->indicator.key);
        r->has_weight = w->value.type == RULES_NUMBER;
        r->weight = w->value.micro;
    }
    if (!eligible) {
        r->outcome = RULES_NOT_ELIGIBLE;
        r->summary = rules__keepf(r, r->en ? "not eligible: %s" : "nicht förderfähig: %s",
                                  r->en ? first_failed->text_en : first_failed->text_de);
        goto cleanup;
    }
    r->outcome = RULES_ELIGIBLE;
    r->summary = (r->en ? "eligible" : "förderfähig");
    if (!self->allocates)
        e.rc = rules__entitlement(self, r, facts, errbuf, errlen);
cleanup:
    if (e.rc == 0 && r->summary == NULL && r->outcome != RULES_ELIGIBLE)
        e.rc = TH_ENOMEM;
    if (e.rc != 0) {
        if (e.rc == TH_ENOMEM)
            snprintf(errbuf, errlen, "out of memory");
        rules_result_destroy(&r);
        return NULL;
    }
    if (r->outcome == RULES_NOT_APPLICABLE)
        r->attainable = false;
    return r;
}

void
rules_result_destroy(rules_result_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    rules_result_t *self = *self_p;
    for (size_t i = 0; i < self->n_pool; i++)
        free(self->pool[i]);
    free(self->pool);
    free(self->trace);
    free(self->parts);
    free(self->ags);
    free(self);
    *self_p = NULL;
}

rules_outcome_t
rules_result_outcome(const rules_result_t *self)
{
    return self->outcome;
}

int64_t
rules_result_cents(const rules_result_t *self)
{
    return self->cents;
}

bool
rules_result_illustrative(const rules_result_t *self)
{
    return self->illustrative;
}

bool
rules_result_attainable(const rules_result_t *self)
{
    return self->attainable;
}

const char *
rules_result_summary(const rules_result_t *self)
{
    return self->summary;
}

size_t
rules_result_trace_count(const rules_result_t *self)
{
    return self->n_trace;
}

const rules_trace_t *
rules_result_trace(const rules_result_t *self, size_t i)
{
    return i < self->n_trace ? &self->trace[i] : NULL;
}

size_t
rules_result_part_count(const rules_result_t *self)
{
    return self->n_parts;
}

const rules_part_t *
rules_result_part(const rules_result_t *self, size_t i)
{
    return i < self->n_parts ? &self->parts[i] : NULL;
}
