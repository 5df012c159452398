/* ---------------------------------------------------------------------------
 * rules_parse.c: a rule set's YAML text to a checked rules_set_t.
 *
 * Every check that can be made without a district is made here, so that a
 * rule set that parses can only fail at evaluation for want of a fact. The
 * parser goes on after an error where it can, so an author sees every
 * problem of a file at once (up to the caller's max), each with the line,
 * column and field path of the node at fault.
 * ---------------------------------------------------------------------------
 */
#include "rules_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "th_date.h"
#include "th_error.h"
#include "th_money.h"
#include "th_period.h"

typedef struct {
    yaml_document_t *doc;
    rules_error_t *errors;
    size_t max;
    size_t n; /* reported, may exceed max */
    bool nomem;
    rules_set_t *set;
    /* where each criterion's children are named, resolved once all are read */
    const yaml_node_t *refs[RULES_CRITERIA_MAX];
    char path[RULES_CRITERIA_MAX][32];
} s_ctx_t;

static void s_error_at(s_ctx_t *ctx, int line, int column, const char *field,
                       const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

static void
s_error_at(s_ctx_t *ctx, int line, int column, const char *field, const char *fmt,
           va_list ap)
{
    if (ctx->n < ctx->max) {
        rules_error_t *e = &ctx->errors[ctx->n];
        e->line = line;
        e->column = column;
        snprintf(e->field, sizeof e->field, "%s", field);
        vsnprintf(e->message, sizeof e->message, fmt, ap);
    }
    ctx->n++;
}

static void s_error(s_ctx_t *ctx, const yaml_node_t *node, const char *field,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Reports a problem at node (NULL: no position). */
static void
s_error(s_ctx_t *ctx, const yaml_node_t *node, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_error_at(ctx, rules__yaml_line(node), rules__yaml_column(node), field, fmt, ap);
    va_end(ap);
}

static void s_error_line(s_ctx_t *ctx, int line, int column, const char *field,
                         const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
s_error_line(s_ctx_t *ctx, int line, int column, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_error_at(ctx, line, column, field, fmt, ap);
    va_end(ap);
}

static char *
s_dup(s_ctx_t *ctx, const char *s)
{
    char *d = strdup(s);
    if (d == NULL)
        ctx->nomem = true;
    return d;
}

/* [a-z][a-z0-9_]{0,39}: criterion ids and parameter names. */
static bool
s_ident(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 40 || s[0] < 'a' || s[0] > 'z')
        return false;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

/* Reports every key of map not in allowed (NULL-terminated) and every key
 * given twice; false when map is not a mapping. */
static bool
s_keys(s_ctx_t *ctx, const yaml_node_t *map, const char *path, const char *const *allowed)
{
    if (map == NULL || map->type != YAML_MAPPING_NODE) {
        s_error(ctx, map, path, "expected a mapping");
        return false;
    }
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
         p < map->data.mapping.pairs.top; p++) {
        const yaml_node_t *k = yaml_document_get_node(ctx->doc, p->key);
        const char *name = rules__yaml_scalar(k);
        char field[128];
        snprintf(field, sizeof field, "%s%s%s", path, path[0] ? "." : "",
                 name ? name : "?");
        if (name == NULL || !rules__one_of(name, allowed)) {
            s_error(ctx, k, field, "unknown key \"%s\"", name ? name : "?");
            continue;
        }
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
            const char *other =
                rules__yaml_scalar(yaml_document_get_node(ctx->doc, q->key));
            if (other != NULL && strcmp(other, name) == 0)
                s_error(ctx, k, field, "key \"%s\" given twice", name);
        }
    }
    return true;
}

/* The text of the scalar map[key] (borrowed from the document), or NULL:
 * reported when required and missing, or when not a scalar. */
static const char *
s_scalar(s_ctx_t *ctx, const yaml_node_t *map, const char *key, const char *path,
         bool required)
{
    char field[128];
    snprintf(field, sizeof field, "%s%s%s", path, path[0] ? "." : "", key);
    const yaml_node_t *n = rules__yaml_get(ctx->doc, map, key);
    if (n == NULL) {
        if (required)
            s_error(ctx, map, field, "missing required key \"%s\"", key);
        return NULL;
    }
    const char *s = rules__yaml_scalar(n);
    if (s == NULL)
        s_error(ctx, n, field, "expected a text, not a list or mapping");
    return s;
}

/* A required non-empty text, copied. */
static char *
s_text(s_ctx_t *ctx, const yaml_node_t *map, const char *key, const char *path)
{
    const char *s = s_scalar(ctx, map, key, path, true);
    if (s == NULL)
        return NULL;
    if (s[0] == '\0') {
        char field[128];
        snprintf(field, sizeof field, "%s%s%s", path, path[0] ? "." : "", key);
        s_error(ctx, rules__yaml_get(ctx->doc, map, key), field, "\"%s\" must not be empty",
                key);
        return NULL;
    }
    return s_dup(ctx, s);
}

/* map[key] as {de: ..., en: ...}, both required. */
static void
s_lang(s_ctx_t *ctx, const yaml_node_t *map, const char *key, const char *path, char **de,
       char **en)
{
    static const char *const allowed[] = {"de", "en", NULL};
    char field[128];
    snprintf(field, sizeof field, "%s%s%s", path, path[0] ? "." : "", key);
    const yaml_node_t *n = rules__yaml_get(ctx->doc, map, key);
    if (n == NULL) {
        s_error(ctx, map, field, "missing required key \"%s\" (a mapping of de and en)",
                key);
        return;
    }
    if (!s_keys(ctx, n, field, allowed))
        return;
    *de = s_text(ctx, n, "de", field);
    *en = s_text(ctx, n, "en", field);
}

static int
s_param_find(const rules_set_t *set, const char *name)
{
    for (size_t i = 0; i < set->n_params; i++)
        if (strcmp(set->params[i].name, name) == 0)
            return (int) i;
    return -1;
}

/* The index of the parameter named by map[key] (eur or number as want_eur
 * says), -1 when not given or wrong (reported). */
static int
s_param_ref(s_ctx_t *ctx, const yaml_node_t *map, const char *key, const char *path,
            bool required, bool want_eur)
{
    const char *name = s_scalar(ctx, map, key, path, required);
    if (name == NULL)
        return -1;
    char field[128];
    snprintf(field, sizeof field, "%s%s%s", path, path[0] ? "." : "", key);
    const yaml_node_t *n = rules__yaml_get(ctx->doc, map, key);
    const int i = s_param_find(ctx->set, name);
    if (i < 0) {
        s_error(ctx, n, field, "unknown parameter \"%s\"", name);
        return -1;
    }
    if (ctx->set->params[i].eur != want_eur) {
        s_error(ctx, n, field, "parameter \"%s\" is of kind %s, %s is needed here", name,
                want_eur ? "number" : "eur", want_eur ? "eur" : "number");
        return -1;
    }
    return i;
}

/* --- the header: format, programme, version ----------------------------------- */

static void
s_programme(s_ctx_t *ctx, const yaml_node_t *root)
{
    static const char *const allowed[] = {"code", "state", "name", "description", NULL};
    rules_set_t *set = ctx->set;
    const yaml_node_t *p = rules__yaml_get(ctx->doc, root, "programme");
    if (p == NULL) {
        s_error(ctx, root, "programme", "missing required key \"programme\"");
        return;
    }
    if (!s_keys(ctx, p, "programme", allowed))
        return;
    set->code = s_text(ctx, p, "code", "programme");
    if (set->code != NULL) {
        size_t n = strlen(set->code);
        bool ok = n >= 2 && n <= 40;
        for (size_t i = 0; ok && i < n; i++)
            ok = (set->code[i] >= 'a' && set->code[i] <= 'z') ||
                 (set->code[i] >= '0' && set->code[i] <= '9') || set->code[i] == '-';
        if (!ok)
            s_error(ctx, rules__yaml_get(ctx->doc, p, "code"), "programme.code",
                    "a programme code is 2 to 40 of a-z, 0-9 and -");
    }
    set->state = s_text(ctx, p, "state", "programme");
    if (set->state != NULL &&
        !(strlen(set->state) == 2 && set->state[0] >= '0' && set->state[0] <= '1' &&
          set->state[1] >= '0' && set->state[1] <= '9'))
        s_error(ctx, rules__yaml_get(ctx->doc, p, "state"), "programme.state",
                "a Land is its two-digit code, quoted (\"05\")");
    s_lang(ctx, p, "name", "programme", &set->name_de, &set->name_en);
    s_lang(ctx, p, "description", "programme", &set->description_de, &set->description_en);
}

static void
s_version(s_ctx_t *ctx, const yaml_node_t *root)
{
    static const char *const allowed[] = {"valid_from", "valid_to", "source", NULL};
    rules_set_t *set = ctx->set;
    const yaml_node_t *v = rules__yaml_get(ctx->doc, root, "version");
    if (v == NULL) {
        s_error(ctx, root, "version", "missing required key \"version\"");
        return;
    }
    if (!s_keys(ctx, v, "version", allowed))
        return;
    set->valid_from = s_text(ctx, v, "valid_from", "version");
    if (set->valid_from != NULL && !th_date_valid(set->valid_from))
        s_error(ctx, rules__yaml_get(ctx->doc, v, "valid_from"), "version.valid_from",
                "\"%s\" is not a date YYYY-MM-DD", set->valid_from);
    const char *to = s_scalar(ctx, v, "valid_to", "version", false);
    const yaml_node_t *to_node = rules__yaml_get(ctx->doc, v, "valid_to");
    set->valid_to = s_dup(ctx, to == NULL || rules__yaml_null(to_node) ? "" : to);
    if (set->valid_to != NULL && set->valid_to[0] != '\0') {
        if (!th_date_valid(set->valid_to))
            s_error(ctx, to_node, "version.valid_to", "\"%s\" is not a date YYYY-MM-DD",
                    set->valid_to);
        else if (set->valid_from != NULL && th_date_valid(set->valid_from) &&
                 strcmp(set->valid_from, set->valid_to) > 0)
            s_error(ctx, to_node, "version.valid_to", "valid_to %s is before valid_from %s",
                    set->valid_to, set->valid_from);
    }
    set->version_source = s_text(ctx, v, "source", "version");
}

/* --- parameters ------------------------------------------------------------------ */

static void
s_parameters(s_ctx_t *ctx, const yaml_node_t *root)
{
    static const char *const allowed[] = {"value", "kind", "source", "illustrative", NULL};
    rules_set_t *set = ctx->set;
    const yaml_node_t *ps = rules__yaml_get(ctx->doc, root, "parameters");
    if (ps == NULL)
        return; /* a rule set without an entitlement needs none */
    if (ps->type != YAML_MAPPING_NODE) {
        s_error(ctx, ps, "parameters", "expected a mapping of parameter names");
        return;
    }
    for (yaml_node_pair_t *p = ps->data.mapping.pairs.start; p < ps->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *k = yaml_document_get_node(ctx->doc, p->key);
        const yaml_node_t *v = yaml_document_get_node(ctx->doc, p->value);
        const char *name = rules__yaml_scalar(k);
        char path[128];
        snprintf(path, sizeof path, "parameters.%s", name ? name : "?");
        if (name == NULL || !s_ident(name)) {
            s_error(ctx, k, path, "a parameter name is [a-z][a-z0-9_]{0,39}");
            continue;
        }
        if (s_param_find(set, name) >= 0) {
            s_error(ctx, k, path, "parameter \"%s\" given twice", name);
            continue;
        }
        if (set->n_params == RULES_PARAMETERS_MAX) {
            s_error(ctx, k, path, "more than %d parameters", RULES_PARAMETERS_MAX);
            return;
        }
        if (!s_keys(ctx, v, path, allowed))
            continue;
        rules_param_t *param = &set->params[set->n_params++];
        param->name = s_dup(ctx, name);
        param->source = s_text(ctx, v, "source", path);
        const char *kind = s_scalar(ctx, v, "kind", path, true);
        const char *value = s_scalar(ctx, v, "value", path, true);
        const char *ill = s_scalar(ctx, v, "illustrative", path, true);
        char field[160];
        if (ill != NULL && strcmp(ill, "true") != 0 && strcmp(ill, "false") != 0) {
            snprintf(field, sizeof field, "%s.illustrative", path);
            s_error(ctx, rules__yaml_get(ctx->doc, v, "illustrative"), field,
                    "illustrative is true or false");
        }
        param->illustrative = ill != NULL && strcmp(ill, "true") == 0;
        if (kind == NULL || value == NULL)
            continue;
        const yaml_node_t *vn = rules__yaml_get(ctx->doc, v, "value");
        snprintf(field, sizeof field, "%s.value", path);
        if (strcmp(kind, "eur") == 0) {
            param->eur = true;
            if (th_money_parse_eur(value, &param->value) != 0)
                s_error(ctx, vn, field,
                        "\"%s\" is not an amount in euros (digits, at most 2 decimals)",
                        value);
        } else if (strcmp(kind, "number") == 0) {
            const int rc = rules_parse_micro(value, &param->value);
            if (rc == TH_ETOOBIG)
                s_error(ctx, vn, field, "\"%s\" has more than 6 decimals", value);
            else if (rc != 0)
                s_error(ctx, vn, field, "\"%s\" is not a number", value);
        } else {
            snprintf(field, sizeof field, "%s.kind", path);
            s_error(ctx, rules__yaml_get(ctx->doc, v, "kind"), field,
                    "kind is eur or number, not \"%s\"", kind);
        }
    }
}

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
s_value(s_ctx_t *ctx, const rules_fact_def_t *def, const yaml_node_t *n, const char *field,
        rules_value_t *out)
{
    const char *s = rules__yaml_scalar(n);
    if (s == NULL) {
        s_error(ctx, n, field, "expected a single value, not a list or mapping");
        return false;
    }
    switch (def->type) {
    case RULES_BOOL:
        if (strcmp(s, "true") != 0 && strcmp(s, "false") != 0) {
            s_error(ctx, n, field, "the fact is a bool: value is true or false, not \"%s\"",
                    s);
            return false;
        }
        *out = (rules_value_t){.type = RULES_BOOL, .b = strcmp(s, "true") == 0};
        return true;
    case RULES_NUMBER: {
        int64_t micro;
        const int rc = rules_parse_micro(s, &micro);
        if (rc != 0) {
            s_error(ctx, n, field,
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
            s_error(ctx, n, field, "the fact is a date: \"%s\" is not a date YYYY-MM-DD",
                    s);
            return false;
        }
        break;
    case RULES_TEXT:
    case RULES_LIST:
        if (def->values != NULL && !rules__one_of(s, def->values)) {
            s_error(ctx, n, field, "\"%s\" is not a value the fact takes", s);
            return false;
        }
        break;
    case RULES_ABSENT: return false;
    }
    *out = (rules_value_t){.type = def->type == RULES_LIST ? RULES_TEXT : def->type,
                           .text = s_dup(ctx, s)};
    return out->text != NULL;
}

/* The fact a mapping names (fact: and its argument keys) into ref. */
static bool
s_factref(s_ctx_t *ctx, const yaml_node_t *map, const char *path, rules_factref_t *ref)
{
    static const char *const arg_keys[] = {"disaggregation", "field", "period", "target"};
    static const unsigned arg_bits[] = {RULES_ARG_DISAGGREGATION, RULES_ARG_FIELD,
                                        RULES_ARG_PERIOD, RULES_ARG_TARGET};
    char field[160];
    const char *name = s_scalar(ctx, map, "fact", path, true);
    if (name == NULL)
        return false;
    snprintf(field, sizeof field, "%s.fact", path);
    ref->def = rules__fact_def(name);
    if (ref->def == NULL) {
        s_error(ctx, rules__yaml_get(ctx->doc, map, "fact"), field,
                "unknown fact \"%s\" (docs/eligibility.md lists the catalogue)", name);
        return false;
    }
    ref->name = s_dup(ctx, name);
    char *args[4] = {NULL, NULL, NULL, NULL};
    bool ok = true;
    for (size_t i = 0; i < 4; i++) {
        const yaml_node_t *n = rules__yaml_get(ctx->doc, map, arg_keys[i]);
        snprintf(field, sizeof field, "%s.%s", path, arg_keys[i]);
        if (n == NULL) {
            if (ref->def->required & arg_bits[i]) {
                s_error(ctx, map, field, "fact %s needs the argument %s", name,
                        arg_keys[i]);
                ok = false;
            }
            continue;
        }
        if (!(ref->def->args & arg_bits[i])) {
            s_error(ctx, n, field, "fact %s takes no argument %s", name, arg_keys[i]);
            ok = false;
            continue;
        }
        const char *v = rules__yaml_scalar(n);
        const char *const *values = rules__arg_values(arg_bits[i]);
        if (v == NULL || (values != NULL && !rules__one_of(v, values)) ||
            (values == NULL && !th_period_valid(v))) {
            s_error(ctx, n, field, "\"%s\" is not a valid %s", v ? v : "?", arg_keys[i]);
            ok = false;
            continue;
        }
        args[i] = s_dup(ctx, v);
    }
    /* An indicator's disaggregation defaults to total and is always in its
     * key, so a rule set that says it and one that does not ask for the same
     * fact. */
    if ((ref->def->args & RULES_ARG_DISAGGREGATION) && args[0] == NULL)
        args[0] = s_dup(ctx, "total");
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
s_leaf(s_ctx_t *ctx, const yaml_node_t *map, const char *path, rules_criterion_t *c)
{
    char field[160];
    if (!s_factref(ctx, map, path, &c->fact))
        return;
    const char *op = s_scalar(ctx, map, "op", path, true);
    if (op == NULL)
        return;
    snprintf(field, sizeof field, "%s.op", path);
    const yaml_node_t *op_node = rules__yaml_get(ctx->doc, map, "op");
    size_t i = 0;
    while (s_op_names[i] != NULL && strcmp(s_op_names[i], op) != 0)
        i++;
    if (s_op_names[i] == NULL) {
        s_error(ctx, op_node, field, "unknown operator \"%s\"", op);
        return;
    }
    c->op = (rules_op_t) i;
    const rules_type_t t = c->fact.def->type;
    if (!s_op_fits(c->op, t)) {
        s_error(ctx, op_node, field, "operator %s does not apply to %s, a %s", op,
                c->fact.name, s_type_names[t]);
        return;
    }
    const yaml_node_t *v = rules__yaml_get(ctx->doc, map, "value");
    snprintf(field, sizeof field, "%s.value", path);
    if (c->op == RULES_OP_EXISTS) {
        if (v != NULL)
            s_error(ctx, v, field, "exists takes no value");
        return;
    }
    if (v == NULL) {
        s_error(ctx, map, field, "operator %s needs a value", op);
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
        s_error(ctx, v, field, "operator %s needs a list [a, b]", op);
        return;
    }
    const size_t n = (size_t) (v->data.sequence.items.top - v->data.sequence.items.start);
    if (n == 0 || (c->op == RULES_OP_BETWEEN && n != 2)) {
        s_error(ctx, v, field,
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
            s_error(ctx, v, field, "between's low is above its high");
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

static void
s_criteria(s_ctx_t *ctx, const yaml_node_t *root)
{
    static const char *const allowed[] = {
        "id",    "text",   "source",         "fact", "op",  "value", "period",
        "field", "target", "disaggregation", "all",  "any", "not",   NULL};
    rules_set_t *set = ctx->set;
    const yaml_node_t *cs = rules__yaml_get(ctx->doc, root, "criteria");
    if (cs == NULL || cs->type != YAML_SEQUENCE_NODE) {
        s_error(ctx, cs ? cs : root, "criteria",
                cs ? "expected a list of criteria" : "missing required key \"criteria\"");
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
            s_error(ctx, m, path, "more than %d criteria", RULES_CRITERIA_MAX);
            return;
        }
        if (!s_keys(ctx, m, path, allowed))
            continue;
        rules_criterion_t *c = &set->criteria[set->n_criteria++];
        c->line = rules__yaml_line(m);
        c->column = rules__yaml_column(m);
        snprintf(ctx->path[i], sizeof ctx->path[i], "%s", path);
        const char *id = s_scalar(ctx, m, "id", path, true);
        char field[64];
        snprintf(field, sizeof field, "%s.id", path);
        if (id != NULL && !s_ident(id))
            s_error(ctx, rules__yaml_get(ctx->doc, m, "id"), field,
                    "a criterion id is [a-z][a-z0-9_]{0,39}, not \"%s\"", id);
        else if (id != NULL && s_criterion_find(set, id) >= 0)
            s_error(ctx, rules__yaml_get(ctx->doc, m, "id"), field,
                    "criterion id \"%s\" given twice", id);
        else if (id != NULL)
            c->id = s_dup(ctx, id);
        s_lang(ctx, m, "text", path, &c->text_de, &c->text_en);
        c->source = s_text(ctx, m, "source", path);
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
            s_error(ctx, m, path, "a criterion is a fact with op, or one of all, any, not");
            ctx->refs[i] = NULL;
        } else if (n_comb == 0) {
            if (fact == NULL)
                s_error(ctx, m, path, "a criterion needs fact and op, or all, any or not");
            else
                s_leaf(ctx, m, path, c);
        } else {
            /* Leaf keys next to a combinator are mistakes, not ignored. */
            static const char *const leaf_keys[] = {"op",    "value",  "period",
                                                    "field", "target", "disaggregation"};
            for (size_t k = 0; k < sizeof leaf_keys / sizeof leaf_keys[0]; k++) {
                const yaml_node_t *n = rules__yaml_get(ctx->doc, m, leaf_keys[k]);
                if (n != NULL)
                    s_error(ctx, n, path, "%s belongs to a fact, not to a combinator",
                            leaf_keys[k]);
            }
        }
    }
}

/* Resolves the id the scalar n names; -1 when reported. */
static int
s_resolve(s_ctx_t *ctx, const yaml_node_t *n, const char *field)
{
    const char *id = rules__yaml_scalar(n);
    if (id == NULL) {
        s_error(ctx, n, field, "expected a criterion id");
        return -1;
    }
    const int j = s_criterion_find(ctx->set, id);
    if (j < 0)
        s_error(ctx, n, field, "unknown criterion \"%s\"", id);
    return j;
}

static void
s_references(s_ctx_t *ctx, const yaml_node_t *root)
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
            s_error(ctx, r, field, "expected a list of criterion ids");
            continue;
        }
        const size_t n =
            (size_t) (r->data.sequence.items.top - r->data.sequence.items.start);
        if (n == 0) {
            s_error(ctx, r, field, "an empty %s decides nothing",
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
        s_error(ctx, e ? e : root, "eligible_if",
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
s_cycle(s_ctx_t *ctx, size_t i, unsigned char *colour)
{
    const rules_criterion_t *c = &ctx->set->criteria[i];
    colour[i] = 1;
    for (size_t k = 0; k < c->n_children; k++) {
        const size_t j = c->children[k];
        if (colour[j] == 1) {
            char field[64];
            snprintf(field, sizeof field, "%s", ctx->path[i]);
            s_error(ctx, ctx->refs[i], field,
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

static void
s_graph(s_ctx_t *ctx)
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
        s_error_line(ctx, set->criteria[i].line, set->criteria[i].column, ctx->path[i],
                     "criterion \"%s\" is used neither by eligible_if nor by a combinator",
                     set->criteria[i].id);
    }
}

/* --- entitlement ---------------------------------------------------------------------- */

static void
s_components(s_ctx_t *ctx, const yaml_node_t *cs)
{
    static const char *const allowed[] = {"id",  "text",  "amount", "posts",
                                          "cap", "floor", NULL};
    static const char *const post_keys[] = {"landkreis", "kreisfreie_stadt", NULL};
    rules_set_t *set = ctx->set;
    if (cs->type != YAML_SEQUENCE_NODE ||
        cs->data.sequence.items.top == cs->data.sequence.items.start) {
        s_error(ctx, cs, "entitlement.components",
                "expected a non-empty list of components");
        return;
    }
    for (yaml_node_item_t *it = cs->data.sequence.items.start;
         it < cs->data.sequence.items.top; it++) {
        const yaml_node_t *m = yaml_document_get_node(ctx->doc, *it);
        char path[64];
        snprintf(path, sizeof path, "entitlement.components[%zu]",
                 (size_t) (it - cs->data.sequence.items.start));
        if (set->n_components == RULES_COMPONENTS_MAX) {
            s_error(ctx, m, path, "more than %d components", RULES_COMPONENTS_MAX);
            return;
        }
        if (!s_keys(ctx, m, path, allowed))
            continue;
        rules_component_t *c = &set->components[set->n_components++];
        c->posts = c->posts_kreis = c->posts_stadt = c->cap = c->floor = -1;
        c->id = s_text(ctx, m, "id", path);
        if (rules__yaml_get(ctx->doc, m, "text") != NULL) {
            s_lang(ctx, m, "text", path, &c->text_de, &c->text_en);
        } else if (c->id != NULL) {
            c->text_de = s_dup(ctx, c->id);
            c->text_en = s_dup(ctx, c->id);
        }
        c->amount = s_param_ref(ctx, m, "amount", path, true, true);
        c->cap = s_param_ref(ctx, m, "cap", path, false, true);
        c->floor = s_param_ref(ctx, m, "floor", path, false, true);
        const yaml_node_t *posts = rules__yaml_get(ctx->doc, m, "posts");
        char field[96];
        snprintf(field, sizeof field, "%s.posts", path);
        if (posts != NULL && posts->type == YAML_MAPPING_NODE) {
            if (s_keys(ctx, posts, field, post_keys)) {
                c->posts_kreis = s_param_ref(ctx, posts, "landkreis", field, true, false);
                c->posts_stadt =
                    s_param_ref(ctx, posts, "kreisfreie_stadt", field, true, false);
            }
        } else if (posts != NULL) {
            c->posts = s_param_ref(ctx, m, "posts", path, true, false);
        }
        if (c->cap >= 0 && c->floor >= 0 &&
            set->params[c->floor].value > set->params[c->cap].value)
            s_error(ctx, rules__yaml_get(ctx->doc, m, "floor"), path,
                    "the component's floor is above its cap");
    }
}

static void
s_entitlement(s_ctx_t *ctx, const yaml_node_t *root)
{
    static const char *const allowed[] = {"components", "cap", "floor", "allocation", NULL};
    static const char *const alloc_keys[] = {"budget", "indicator", "minimum", NULL};
    static const char *const ind_keys[] = {"fact", "period", "disaggregation", NULL};
    rules_set_t *set = ctx->set;
    set->cap = set->floor = set->budget = set->minimum = -1;
    const yaml_node_t *e = rules__yaml_get(ctx->doc, root, "entitlement");
    if (e == NULL) {
        s_error(ctx, root, "entitlement", "missing required key \"entitlement\"");
        return;
    }
    if (!s_keys(ctx, e, "entitlement", allowed))
        return;
    const yaml_node_t *cs = rules__yaml_get(ctx->doc, e, "components");
    const yaml_node_t *a = rules__yaml_get(ctx->doc, e, "allocation");
    if ((cs == NULL) == (a == NULL)) {
        s_error(ctx, e, "entitlement", "an entitlement has components or an allocation");
        return;
    }
    if (cs != NULL) {
        s_components(ctx, cs);
        set->cap = s_param_ref(ctx, e, "cap", "entitlement", false, true);
        set->floor = s_param_ref(ctx, e, "floor", "entitlement", false, true);
        if (set->cap >= 0 && set->floor >= 0 &&
            set->params[set->floor].value > set->params[set->cap].value)
            s_error(ctx, rules__yaml_get(ctx->doc, e, "floor"), "entitlement.floor",
                    "the floor is above the cap");
        return;
    }
    set->allocates = true;
    if (rules__yaml_get(ctx->doc, e, "cap") || rules__yaml_get(ctx->doc, e, "floor"))
        s_error(ctx, e, "entitlement",
                "cap and floor belong to components; an allocation "
                "has a minimum");
    if (!s_keys(ctx, a, "entitlement.allocation", alloc_keys))
        return;
    set->budget = s_param_ref(ctx, a, "budget", "entitlement.allocation", true, true);
    set->minimum = s_param_ref(ctx, a, "minimum", "entitlement.allocation", false, true);
    const yaml_node_t *ind = rules__yaml_get(ctx->doc, a, "indicator");
    if (ind == NULL) {
        s_error(ctx, a, "entitlement.allocation.indicator",
                "missing required key \"indicator\"");
        return;
    }
    if (!s_keys(ctx, ind, "entitlement.allocation.indicator", ind_keys))
        return;
    if (s_factref(ctx, ind, "entitlement.allocation.indicator", &set->indicator) &&
        strncmp(set->indicator.name, "indicator.", 10) != 0)
        s_error(ctx, rules__yaml_get(ctx->doc, ind, "fact"),
                "entitlement.allocation.indicator.fact",
                "an allocation is weighted by an indicator.<code> fact");
}

/* --- needs and hash ----------------------------------------------------------------------
 */

static void
s_need(rules_set_t *set, const rules_factref_t *ref, const char *key, const char *name,
       rules_source_t source)
{
    for (size_t i = 0; i < set->n_needs; i++)
        if (strcmp(set->needs[i].key, key) == 0)
            return;
    rules_need_t *n = &set->needs[set->n_needs++];
    *n = (rules_need_t){.key = key, .name = name, .source = source};
    if (ref != NULL) {
        n->indicator = strncmp(name, "indicator.", 10) == 0 ? name + 10 : NULL;
        n->period = ref->period;
        n->field = ref->field;
        n->target = ref->target;
        n->disaggregation = ref->disaggregation;
    }
}

static int
s_needs(rules_set_t *set)
{
    set->needs = calloc(set->n_criteria + 4, sizeof *set->needs);
    if (set->needs == NULL)
        return TH_ENOMEM;
    s_need(set, NULL, "district.exists", "district.exists", RULES_FROM_DISTRICTS);
    s_need(set, NULL, "district.state", "district.state", RULES_FROM_DISTRICTS);
    for (size_t i = 0; i < set->n_components; i++)
        if (set->components[i].posts_kreis >= 0)
            s_need(set, NULL, "district.kind", "district.kind", RULES_FROM_DISTRICTS);
    for (size_t i = 0; i < set->n_criteria; i++) {
        const rules_factref_t *f = &set->criteria[i].fact;
        if (f->key != NULL)
            s_need(set, f, f->key, f->name, f->def->source);
    }
    if (set->allocates)
        s_need(set, &set->indicator, set->indicator.key, set->indicator.name,
               RULES_FROM_VALUES);
    return 0;
}

static int
s_hash(rules_set_t *set, const char *text, size_t len)
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    if (sodium_init() < 0)
        return TH_ENOMEM;
    crypto_hash_sha256(digest, (const unsigned char *) text, len);
    sodium_bin2hex(set->hash, sizeof set->hash, digest, sizeof digest);
    return 0;
}

/* --- the whole
 * ----------------------------------------------------------------------------- */

rules_set_t *
rules_parse(const char *text, size_t len, rules_error_t *errors, size_t max,
            size_t *n_errors)
{
    static const char *const allowed[] = {"format",      "programme", "version",
                                          "parameters",  "criteria",  "eligible_if",
                                          "entitlement", NULL};
    rules_error_t scratch;
    if (errors == NULL || max == 0) {
        errors = &scratch;
        max = 1;
    }
    memset(errors, 0, max * sizeof *errors);
    s_ctx_t *ctx = calloc(1, sizeof *ctx);
    rules_set_t *set = calloc(1, sizeof *set);
    if (ctx == NULL || set == NULL) {
        snprintf(errors[0].message, sizeof errors[0].message, "out of memory");
        *n_errors = 1;
        free(ctx);
        free(set);
        return NULL;
    }
    yaml_document_t doc;
    bool loaded = false;
    *ctx = (s_ctx_t){.doc = &doc, .errors = errors, .max = max, .set = set};
    if (text == NULL || len > RULES_TEXT_MAX) {
        s_error(ctx, NULL, "", "a rule set is at most %d bytes", RULES_TEXT_MAX);
        goto cleanup;
    }
    if (rules__yaml_load(text, len, &doc, &errors[0]) != 0) {
        ctx->n = 1;
        goto cleanup;
    }
    loaded = true;
    const yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!s_keys(ctx, root, "", allowed))
        goto cleanup;
    const char *format = s_scalar(ctx, root, "format", "", true);
    if (format != NULL && strcmp(format, "teilhabe-rules/1") != 0)
        s_error(ctx, rules__yaml_get(&doc, root, "format"), "format",
                "format is teilhabe-rules/1, not \"%s\"", format);
    s_programme(ctx, root);
    s_version(ctx, root);
    s_parameters(ctx, root);
    s_criteria(ctx, root);
    s_references(ctx, root);
    if (ctx->n == 0)
        s_graph(ctx);
    s_entitlement(ctx, root);
    if (ctx->n == 0 && !ctx->nomem && (s_needs(set) != 0 || s_hash(set, text, len) != 0))
        ctx->nomem = true;
cleanup:
    if (ctx->nomem && ctx->n == 0)
        s_error(ctx, NULL, "", "out of memory");
    *n_errors = ctx->n < max ? ctx->n : max;
    if (ctx->n > 0)
        rules_set_destroy(&set);
    if (loaded)
        yaml_document_delete(&doc);
    free(ctx);
    return set;
}

static void
s_factref_free(rules_factref_t *f)
{
    free(f->name);
    free(f->key);
    free(f->disaggregation);
    free(f->field);
    free(f->period);
    free(f->target);
}

void
rules_set_destroy(rules_set_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    rules_set_t *self = *self_p;
    free(self->code);
    free(self->state);
    free(self->name_de);
    free(self->name_en);
    free(self->description_de);
    free(self->description_en);
    free(self->valid_from);
    free(self->valid_to);
    free(self->version_source);
    for (size_t i = 0; i < self->n_params; i++) {
        free(self->params[i].name);
        free(self->params[i].source);
    }
    for (size_t i = 0; i < self->n_criteria; i++) {
        rules_criterion_t *c = &self->criteria[i];
        free(c->id);
        free(c->text_de);
        free(c->text_en);
        free(c->source);
        s_factref_free(&c->fact);
        for (size_t k = 0; k < c->n_values; k++)
            rules__value_clear(&c->values[k]);
        free(c->values);
        free(c->children);
    }
    for (size_t i = 0; i < self->n_components; i++) {
        free(self->components[i].id);
        free(self->components[i].text_de);
        free(self->components[i].text_en);
    }
    s_factref_free(&self->indicator);
    free(self->needs);
    free(self);
    *self_p = NULL;
}

/* --- what a rule set says about itself
 * ------------------------------------------------------ */

const char *
rules_programme_code(const rules_set_t *self)
{
    return self->code;
}

const char *
rules_programme_state(const rules_set_t *self)
{
    return self->state;
}

const char *
rules_programme_name(const rules_set_t *self, const char *lang)
{
    return lang && strcmp(lang, "en") == 0 ? self->name_en : self->name_de;
}

const char *
rules_programme_description(const rules_set_t *self, const char *lang)
{
    return lang && strcmp(lang, "en") == 0 ? self->description_en : self->description_de;
}

const char *
rules_valid_from(const rules_set_t *self)
{
    return self->valid_from;
}

const char *
rules_valid_to(const rules_set_t *self)
{
    return self->valid_to;
}

bool
rules_allocates(const rules_set_t *self)
{
    return self->allocates;
}

const char *
rules_hash(const rules_set_t *self)
{
    return self->hash;
}

const rules_need_t *
rules_needs(const rules_set_t *self, size_t *n)
{
    *n = self->n_needs;
    return self->needs;
}
