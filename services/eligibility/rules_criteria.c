/* ---------------------------------------------------------------------------
 * rules_criteria.c: a rule set's criteria: each leaf's fact (checked against
 * the catalogue with its arguments), operator and value, each combinator's
 * children, and the checks on the whole graph (references resolve, no
 * cycle, nothing unused).
 * ---------------------------------------------------------------------------
 */
#include "rules_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "th_date.h"
#include "th_error.h"
#include "th_period.h"

/* --- criteria ---------------------------------------------------------------------- */

static const char *const s_op_names[] = {"eq", "ne",      "lt",     "le",       "gt", "ge",
                                         "in", "between", "exists", "contains", NULL};

static const char *const s_type_names[] = {"absent", "bool", "number",
                                           "date",   "text", "list"};

/* Whether op may compare a fact of type t. */
static bool
s_op_fits(rules_op_t op, rules_type_t t)
{
    switch (op) {
    case RULES_OP_EQ:
    case RULES_OP_NE: return t != RULES_LIST;
    case RULES_OP_LT:
    case RULES_OP_LE:
    case RULES_OP_GT:
    case RULES_OP_GE:
    case RULES_OP_BETWEEN: return t == RULES_NUMBER || t == RULES_DATE;
    case RULES_OP_IN: return t == RULES_TEXT || t == RULES_NUMBER;
    case RULES_OP_CONTAINS: return t == RULES_LIST;
    default: return true;
    }
}

/* One scalar as a value of the fact's type (a list fact's item is a text
 * among its values). false when reported. */
static bool
s_value(rules_reader_t *ctx, const rules_fact_def_t *def, const yaml_node_t *n,
        const char *field, rules_value_t *out)
{
    const char *s = rules__yaml_scalar(n);
    if (s == NULL) {
        rules__err(ctx, n, field, "expected a single value, not a list or mapping");
        return false;
    }
    switch (def->type) {
    case RULES_BOOL:
        if (strcmp(s, "true") != 0 && strcmp(s, "false") != 0) {
            rules__err(ctx, n, field,
                       "the fact is a bool: value is true or false, not \"%s\"", s);
            return false;
        }
        *out = (rules_value_t){.type = RULES_BOOL, .b = strcmp(s, "true") == 0};
        return true;
    case RULES_NUMBER: {
        int64_t micro;
        const int rc = rules_parse_micro(s, &micro);
        if (rc != 0) {
            rules__err(ctx, n, field,
                       rc == TH_ETOOBIG ? "\"%s\" has more than 6 decimals"
                                        : "the fact is a number: \"%s\" is not a number",
                       s);
            return false;
        }
        *out = (rules_value_t){.type = RULES_NUMBER, .micro = micro};
        return true;
    }
    case RULES_DATE:
        if (!th_date_valid(s)) {
            rules__err(ctx, n, field, "the fact is a date: \"%s\" is not a date YYYY-MM-DD",
                       s);
            return false;
        }
        break;
    case RULES_TEXT:
    case RULES_LIST:
        if (def->values != NULL && !rules__one_of(s, def->values)) {
            rules__err(ctx, n, field, "\"%s\" is not a value the fact takes", s);
            return false;
        }
        break;
    case RULES_ABSENT: return false;
    }
    *out = (rules_value_t){.type = def->type == RULES_LIST ? RULES_TEXT : def->type,
                           .text = rules__dup(ctx, s)};
    return out->text != NULL;
}

/* The fact a mapping names (fact: and its argument keys) into ref. */
bool
rules__factref(rules_reader_t *ctx, const yaml_node_t *map, const char *path,
               rules_factref_t *ref)
{
    static const char *const arg_keys[] = {"disaggregation", "field", "period", "target"};
    static const unsigned arg_bits[] = {RULES_ARG_DISAGGREGATION, RULES_ARG_FIELD,
                                        RULES_ARG_PERIOD, RULES_ARG_TARGET};
    char field[160];
    const char *name = rules__scalar(ctx, map, "fact", path, true);
    if (name == NULL)
        return false;
    snprintf(field, sizeof field, "%s.fact", path);
    ref->def = rules__fact_def(name);
    if (ref->def == NULL) {
        rules__err(ctx, rules__yaml_get(ctx->doc, map, "fact"), field,
                   "unknown fact \"%s\" (docs/eligibility.md lists the catalogue)", name);
        return false;
    }
    ref->name = rules__dup(ctx, name);
    char *args[4] = {NULL, NULL, NULL, NULL};
    bool ok = true;
    for (size_t i = 0; i < 4; i++) {
        const yaml_node_t *n = rules__yaml_get(ctx->doc, map, arg_keys[i]);
        snprintf(field, sizeof field, "%s.%s", path, arg_keys[i]);
        if (n == NULL) {
            if (ref->def->required & arg_bits[i]) {
                rules__err(ctx, map, field, "fact %s needs the argument %s", name,
                           arg_keys[i]);
                ok = false;
            }
            continue;
        }
        if (!(ref->def->args & arg_bits[i])) {
            rules__err(ctx, n, field, "fact %s takes no argument %s", name, arg_keys[i]);
            ok = false;
            continue;
        }
        const char *v = rules__yaml_scalar(n);
        const char *const *values = rules__arg_values(arg_bits[i]);
        if (v == NULL || (values != NULL && !rules__one_of(v, values)) ||
            (values == NULL && !th_period_valid(v))) {
            rules__err(ctx, n, field, "\"%s\" is not a valid %s", v ? v : "?", arg_keys[i]);
            ok = false;
            continue;
        }
        args[i] = rules__dup(ctx, v);
    }
    /* An indicator's disaggregation defaults to total and is always in its
     * key, so a rule set that says it and one that does not ask for the same
     * fact. */
    if ((ref->def->args & RULES_ARG_DISAGGREGATION) && args[0] == NULL)
        args[0] = rules__dup(ctx, "total");
    ref->disaggregation = args[0];
    ref->field = args[1];
    ref->period = args[2];
    ref->target = args[3];
    if (!ok || ctx->nomem)
        return false;
    size_t len = strlen(name) + 3;
    for (size_t i = 0; i < 4; i++)
        if (args[i] != NULL)
            len += strlen(arg_keys[i]) + strlen(args[i]) + 2;
    ref->key = malloc(len);
    if (ref->key == NULL) {
        ctx->nomem = true;
        return false;
    }
    char *p = ref->key;
    p += sprintf(p, "%s", name);
    bool first = true;
    for (size_t i = 0; i < 4; i++) {
        if (args[i] == NULL)
            continue;
        p += sprintf(p, "%s%s=%s", first ? "{" : ",", arg_keys[i], args[i]);
        first = false;
    }
    if (!first)
        sprintf(p, "}");
    return true;
}

static void
s_leaf(rules_reader_t *ctx, const yaml_node_t *map, const char *path, rules_criterion_t *c)
{
    char field[160];
    if (!rules__factref(ctx, map, path, &c->fact))
        return;
    const char *op = rules__scalar(ctx, map, "op", path, true);
    if (op == NULL)
        return;
    snprintf(field, sizeof field, "%s.op", path);
    const yaml_node_t *op_node = rules__yaml_get(ctx->doc, map, "op");
    size_t i = 0;
    while (s_op_names[i] != NULL && strcmp(s_op_names[i], op) != 0)
        i++;
    if (s_op_names[i] == NULL) {
        rules__err(ctx, op_node, field, "unknown operator \"%s\"", op);
        return;
    }
    c->op = (rules_op_t) i;
    const rules_type_t t = c->fact.def->type;
    if (!s_op_fits(c->op, t)) {
        rules__err(ctx, op_node, field, "operator %s does not apply to %s, a %s", op,
                   c->fact.name, s_type_names[t]);
        return;
    }
    const yaml_node_t *v = rules__yaml_get(ctx->doc, map, "value");
    snprintf(field, sizeof field, "%s.value", path);
    if (c->op == RULES_OP_EXISTS) {
        if (v != NULL)
            rules__err(ctx, v, field, "exists takes no value");
        return;
    }
    if (v == NULL) {
        rules__err(ctx, map, field, "operator %s needs a value", op);
        return;
    }
    const bool many =
        c->op == RULES_OP_IN || c->op == RULES_OP_BETWEEN || c->op == RULES_OP_CONTAINS;
    if (!many) {
        c->values = calloc(1, sizeof *c->values);
        if (c->values == NULL) {
            ctx->nomem = true;
            return;
        }
        if (s_value(ctx, c->fact.def, v, field, &c->values[0]))
            c->n_values = 1;
        return;
    }
    if (v->type != YAML_SEQUENCE_NODE) {
        rules__err(ctx, v, field, "operator %s needs a list [a, b]", op);
        return;
    }
    const size_t n = (size_t) (v->data.sequence.items.top - v->data.sequence.items.start);
    if (n == 0 || (c->op == RULES_OP_BETWEEN && n != 2)) {
        rules__err(ctx, v, field,
                   c->op == RULES_OP_BETWEEN ? "between needs [low, high]"
                                             : "the list must not be empty");
        return;
    }
    c->values = calloc(n, sizeof *c->values);
    if (c->values == NULL) {
        ctx->nomem = true;
        return;
    }
    for (size_t k = 0; k < n; k++) {
        const yaml_node_t *item =
            yaml_document_get_node(ctx->doc, v->data.sequence.items.start[k]);
        char item_field[200];
        snprintf(item_field, sizeof item_field, "%s[%zu]", field, k);
        if (!s_value(ctx, c->fact.def, item, item_field, &c->values[c->n_values]))
            return;
        c->n_values++;
    }
    if (c->op == RULES_OP_BETWEEN) {
        const rules_value_t *lo = &c->values[0], *hi = &c->values[1];
        if ((t == RULES_NUMBER && lo->micro > hi->micro) ||
            (t == RULES_DATE && strcmp(lo->text, hi->text) > 0))
            rules__err(ctx, v, field, "between's low is above its high");
    }
}

static int
s_criterion_find(const rules_set_t *set, const char *id)
{
    for (size_t i = 0; i < set->n_criteria; i++)
        if (set->criteria[i].id != NULL && strcmp(set->criteria[i].id, id) == 0)
            return (int) i;
    return -1;
}

void
rules__criteria(rules_reader_t *ctx, const yaml_node_t *root)
{
    static const char *const allowed[] = {
        "id",    "text",   "source",         "fact", "op",  "value", "period",
        "field", "target", "disaggregation", "all",  "any", "not",   NULL};
    rules_set_t *set = ctx->set;
    const yaml_node_t *cs = rules__yaml_get(ctx->doc, root, "criteria");
    if (cs == NULL || cs->type != YAML_SEQUENCE_NODE) {
        rules__err(ctx, cs ? cs : root, "criteria",
                   cs ? "expected a list of criteria"
                      : "missing required key \"criteria\"");
        return;
    }
    for (yaml_node_item_t *it = cs->data.sequence.items.start;
         it < cs->data.sequence.items.top; it++) {
        const yaml_node_t *m = yaml_document_get_node(ctx->doc, *it);
        const size_t i = set->n_criteria;
        char path[32];
        snprintf(path, sizeof path, "criteria[%zu]",
                 (size_t) (it - cs->data.sequence.items.start));
        if (i == RULES_CRITERIA_MAX) {
            rules__err(ctx, m, path, "more than %d criteria", RULES_CRITERIA_MAX);
            return;
        }
        if (!rules__keys(ctx, m, path, allowed))
            continue;
        rules_criterion_t *c = &set->criteria[set->n_criteria++];
        c->line = rules__yaml_line(m);
        c->column = rules__yaml_column(m);
        snprintf(ctx->path[i], sizeof ctx->path[i], "%s", path);
        const char *id = rules__scalar(ctx, m, "id", path, true);
        char field[64];
        snprintf(field, sizeof field, "%s.id", path);
        if (id != NULL && !rules__ident(id))
            rules__err(ctx, rules__yaml_get(ctx->doc, m, "id"), field,
                       "a criterion id is [a-z][a-z0-9_]{0,39}, not \"%s\"", id);
        else if (id != NULL && s_criterion_find(set, id) >= 0)
            rules__err(ctx, rules__yaml_get(ctx->doc, m, "id"), field,
                       "criterion id \"%s\" given twice", id);
        else if (id != NULL)
            c->id = rules__dup(ctx, id);
        rules__lang(ctx, m, "text", path, &c->text_de, &c->text_en);
        c->source = rules__text(ctx, m, "source", path);
        const char *kinds[] = {"all", "any", "not"};
        int n_comb = 0;
        for (int k = 0; k < 3; k++) {
            const yaml_node_t *n = rules__yaml_get(ctx->doc, m, kinds[k]);
            if (n == NULL)
                continue;
            n_comb++;
            c->op = RULES_OP_ALL + k;
            ctx->refs[i] = n;
        }
        const yaml_node_t *fact = rules__yaml_get(ctx->doc, m, "fact");
        if (n_comb > 1 || (n_comb == 1 && fact != NULL)) {
            rules__err(ctx, m, path,
                       "a criterion is a fact with op, or one of all, any, not");
            ctx->refs[i] = NULL;
        } else if (n_comb == 0) {
            if (fact == NULL)
                rules__err(ctx, m, path,
                           "a criterion needs fact and op, or all, any or not");
            else
                s_leaf(ctx, m, path, c);
        } else {
            /* Leaf keys next to a combinator are mistakes, not ignored. */
            static const char *const leaf_keys[] = {"op",    "value",  "period",
                                                    "field", "target", "disaggregation"};
            for (size_t k = 0; k < sizeof leaf_keys / sizeof leaf_keys[0]; k++) {
                const yaml_node_t *n = rules__yaml_get(ctx->doc, m, leaf_keys[k]);
                if (n != NULL)
                    rules__err(ctx, n, path, "%s belongs to a fact, not to a combinator",
                               leaf_keys[k]);
            }
        }
    }
}

/* Resolves the id the scalar n names; -1 when reported. */
static int
s_resolve(rules_reader_t *ctx, const yaml_node_t *n, const char *field)
{
    const char *id = rules__yaml_scalar(n);
    if (id == NULL) {
        rules__err(ctx, n, field, "expected a criterion id");
        return -1;
    }
    const int j = s_criterion_find(ctx->set, id);
    if (j < 0)
        rules__err(ctx, n, field, "unknown criterion \"%s\"", id);
    return j;
}

void
rules__references(rules_reader_t *ctx, const yaml_node_t *root)
{
    rules_set_t *set = ctx->set;
    char field[64];
    for (size_t i = 0; i < set->n_criteria; i++) {
        rules_criterion_t *c = &set->criteria[i];
        const yaml_node_t *r = ctx->refs[i];
        if (r == NULL)
            continue;
        static const char *const names[] = {"all", "any", "not"};
        snprintf(field, sizeof field, "%s.%s", ctx->path[i], names[c->op - RULES_OP_ALL]);
        if (c->op == RULES_OP_NOT) {
            c->children = calloc(1, sizeof *c->children);
            if (c->children == NULL) {
                ctx->nomem = true;
                return;
            }
            const int j = s_resolve(ctx, r, field);
            if (j >= 0)
                c->children[c->n_children++] = (size_t) j;
            continue;
        }
        if (r->type != YAML_SEQUENCE_NODE) {
            rules__err(ctx, r, field, "expected a list of criterion ids");
            continue;
        }
        const size_t n =
            (size_t) (r->data.sequence.items.top - r->data.sequence.items.start);
        if (n == 0) {
            rules__err(ctx, r, field, "an empty %s decides nothing",
                       names[c->op - RULES_OP_ALL]);
            continue;
        }
        c->children = calloc(n, sizeof *c->children);
        if (c->children == NULL) {
            ctx->nomem = true;
            return;
        }
        for (size_t k = 0; k < n; k++) {
            const int j = s_resolve(
                ctx, yaml_document_get_node(ctx->doc, r->data.sequence.items.start[k]),
                field);
            if (j >= 0)
                c->children[c->n_children++] = (size_t) j;
        }
    }
    const yaml_node_t *e = rules__yaml_get(ctx->doc, root, "eligible_if");
    if (e == NULL || e->type != YAML_SEQUENCE_NODE ||
        e->data.sequence.items.top == e->data.sequence.items.start) {
        rules__err(ctx, e ? e : root, "eligible_if",
                   "eligible_if is a non-empty list of criterion ids");
        return;
    }
    for (yaml_node_item_t *it = e->data.sequence.items.start;
         it < e->data.sequence.items.top; it++) {
        if (set->n_eligible_if == RULES_CRITERIA_MAX)
            break;
        const int j = s_resolve(ctx, yaml_document_get_node(ctx->doc, *it), "eligible_if");
        if (j >= 0)
            set->eligible_if[set->n_eligible_if++] = (size_t) j;
    }
}

/* Depth-first search for a cycle through i; colour 1 = on the path. */
static bool
s_cycle(rules_reader_t *ctx, size_t i, unsigned char *colour)
{
    const rules_criterion_t *c = &ctx->set->criteria[i];
    colour[i] = 1;
    for (size_t k = 0; k < c->n_children; k++) {
        const size_t j = c->children[k];
        if (colour[j] == 1) {
            char field[64];
            snprintf(field, sizeof field, "%s", ctx->path[i]);
            rules__err(ctx, ctx->refs[i], field,
                       "cycle: \"%s\" leads back to \"%s\", which refers to it",
                       ctx->set->criteria[j].id, c->id);
            return true;
        }
        if (colour[j] == 0 && s_cycle(ctx, j, colour))
            return true;
    }
    colour[i] = 2;
    return false;
}

static void
s_mark(const rules_set_t *set, size_t i, bool *used)
{
    if (used[i])
        return;
    used[i] = true;
    for (size_t k = 0; k < set->criteria[i].n_children; k++)
        s_mark(set, set->criteria[i].children[k], used);
}

void
rules__graph(rules_reader_t *ctx)
{
    rules_set_t *set = ctx->set;
    unsigned char colour[RULES_CRITERIA_MAX] = {0};
    for (size_t i = 0; i < set->n_criteria; i++)
        if (colour[i] == 0 && s_cycle(ctx, i, colour))
            return; /* one cycle is enough to report; the rest would repeat it */
    bool used[RULES_CRITERIA_MAX] = {false};
    for (size_t k = 0; k < set->n_eligible_if; k++)
        s_mark(set, set->eligible_if[k], used);
    for (size_t i = 0; i < set->n_criteria; i++) {
        if (used[i] || set->criteria[i].id == NULL)
            continue;
        rules__err_line(
            ctx, set->criteria[i].line, set->criteria[i].column, ctx->path[i],
            "criterion \"%s\" is used neither by eligible_if nor by a combinator",
            set->criteria[i].id);
    }
}
