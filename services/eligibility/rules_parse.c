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
s_param_ref(rules_reader_t *ctx, const yaml_node_t *map, const char *key, const char *path,
            bool required, bool want_eur)
{
    const char *name = rules__scalar(ctx, map, key, path, required);
    if (name == NULL)
        return -1;
    char field[128];
    snprintf(field, sizeof field, "%s%s%s", path, path[0] ? "." : "", key);
    const yaml_node_t *n = rules__yaml_get(ctx->doc, map, key);
    const int i = s_param_find(ctx->set, name);
    if (i < 0) {
        rules__err(ctx, n, field, "unknown parameter \"%s\"", name);
        return -1;
    }
    if (ctx->set->params[i].eur != want_eur) {
        rules__err(ctx, n, field, "parameter \"%s\" is of kind %s, %s is needed here", name,
                   want_eur ? "number" : "eur", want_eur ? "eur" : "number");
        return -1;
    }
    return i;
}

/* --- the header: format, programme, version ----------------------------------- */

static void
s_programme(rules_reader_t *ctx, const yaml_node_t *root)
{
    static const char *const allowed[] = {"code", "state", "name", "description", NULL};
    rules_set_t *set = ctx->set;
    const yaml_node_t *p = rules__yaml_get(ctx->doc, root, "programme");
    if (p == NULL) {
        rules__err(ctx, root, "programme", "missing required key \"programme\"");
        return;
    }
    if (!rules__keys(ctx, p, "programme", allowed))
        return;
    set->code = rules__text(ctx, p, "code", "programme");
    if (set->code != NULL) {
        size_t n = strlen(set->code);
        bool ok = n >= 2 && n <= 40;
        for (size_t i = 0; ok && i < n; i++)
            ok = (set->code[i] >= 'a' && set->code[i] <= 'z') ||
                 (set->code[i] >= '0' && set->code[i] <= '9') || set->code[i] == '-';
        if (!ok)
            rules__err(ctx, rules__yaml_get(ctx->doc, p, "code"), "programme.code",
                       "a programme code is 2 to 40 of a-z, 0-9 and -");
    }
    set->state = rules__text(ctx, p, "state", "programme");
    if (set->state != NULL &&
        !(strlen(set->state) == 2 && set->state[0] >= '0' && set->state[0] <= '1' &&
          set->state[1] >= '0' && set->state[1] <= '9'))
        rules__err(ctx, rules__yaml_get(ctx->doc, p, "state"), "programme.state",
                   "a Land is its two-digit code, quoted (\"05\")");
    rules__lang(ctx, p, "name", "programme", &set->name_de, &set->name_en);
    rules__lang(ctx, p, "description", "programme", &set->description_de,
                &set->description_en);
}

static void
s_version(rules_reader_t *ctx, const yaml_node_t *root)
{
    static const char *const allowed[] = {"valid_from", "valid_to", "source", NULL};
    rules_set_t *set = ctx->set;
    const yaml_node_t *v = rules__yaml_get(ctx->doc, root, "version");
    if (v == NULL) {
        rules__err(ctx, root, "version", "missing required key \"version\"");
        return;
    }
    if (!rules__keys(ctx, v, "version", allowed))
        return;
    set->valid_from = rules__text(ctx, v, "valid_from", "version");
    if (set->valid_from != NULL && !th_date_valid(set->valid_from))
        rules__err(ctx, rules__yaml_get(ctx->doc, v, "valid_from"), "version.valid_from",
                   "\"%s\" is not a date YYYY-MM-DD", set->valid_from);
    const char *to = rules__scalar(ctx, v, "valid_to", "version", false);
    const yaml_node_t *to_node = rules__yaml_get(ctx->doc, v, "valid_to");
    set->valid_to = rules__dup(ctx, to == NULL || rules__yaml_null(to_node) ? "" : to);
    if (set->valid_to != NULL && set->valid_to[0] != '\0') {
        if (!th_date_valid(set->valid_to))
            rules__err(ctx, to_node, "version.valid_to", "\"%s\" is not a date YYYY-MM-DD",
                       set->valid_to);
        else if (set->valid_from != NULL && th_date_valid(set->valid_from) &&
                 strcmp(set->valid_from, set->valid_to) > 0)
            rules__err(ctx, to_node, "version.valid_to",
                       "valid_to %s is before valid_from %s", set->valid_to,
                       set->valid_from);
    }
    set->version_source = rules__text(ctx, v, "source", "version");
}

/* --- parameters ------------------------------------------------------------------ */

static void
s_parameters(rules_reader_t *ctx, const yaml_node_t *root)
{
    static const char *const allowed[] = {"value", "kind", "source", "illustrative", NULL};
    rules_set_t *set = ctx->set;
    const yaml_node_t *ps = rules__yaml_get(ctx->doc, root, "parameters");
    if (ps == NULL)
        return; /* a rule set without an entitlement needs none */
    if (ps->type != YAML_MAPPING_NODE) {
        rules__err(ctx, ps, "parameters", "expected a mapping of parameter names");
        return;
    }
    for (yaml_node_pair_t *p = ps->data.mapping.pairs.start; p < ps->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *k = yaml_document_get_node(ctx->doc, p->key);
        const yaml_node_t *v = yaml_document_get_node(ctx->doc, p->value);
        const char *name = rules__yaml_scalar(k);
        char path[128];
        snprintf(path, sizeof path, "parameters.%s", name ? name : "?");
        if (name == NULL || !rules__ident(name)) {
            rules__err(ctx, k, path, "a parameter name is [a-z][a-z0-9_]{0,39}");
            continue;
        }
        if (s_param_find(set, name) >= 0) {
            rules__err(ctx, k, path, "parameter \"%s\" given twice", name);
            continue;
        }
        if (set->n_params == RULES_PARAMETERS_MAX) {
            rules__err(ctx, k, path, "more than %d parameters", RULES_PARAMETERS_MAX);
            return;
        }
        if (!rules__keys(ctx, v, path, allowed))
            continue;
        rules_param_t *param = &set->params[set->n_params++];
        param->name = rules__dup(ctx, name);
        param->source = rules__text(ctx, v, "source", path);
        const char *kind = rules__scalar(ctx, v, "kind", path, true);
        const char *value = rules__scalar(ctx, v, "value", path, true);
        const char *ill = rules__scalar(ctx, v, "illustrative", path, true);
        char field[160];
        if (ill != NULL && strcmp(ill, "true") != 0 && strcmp(ill, "false") != 0) {
            snprintf(field, sizeof field, "%s.illustrative", path);
            rules__err(ctx, rules__yaml_get(ctx->doc, v, "illustrative"), field,
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
                rules__err(ctx, vn, field,
                           "\"%s\" is not an amount in euros (digits, at most 2 decimals)",
                           value);
        } else if (strcmp(kind, "number") == 0) {
            const int rc = rules_parse_micro(value, &param->value);
            if (rc == TH_ETOOBIG)
                rules__err(ctx, vn, field, "\"%s\" has more than 6 decimals", value);
            else if (rc != 0)
                rules__err(ctx, vn, field, "\"%s\" is not a number", value);
        } else {
            snprintf(field, sizeof field, "%s.kind", path);
            rules__err(ctx, rules__yaml_get(ctx->doc, v, "kind"), field,
                       "kind is eur or number, not \"%s\"", kind);
        }
    }
}

/* --- entitlement ---------------------------------------------------------------------- */

static void
s_components(rules_reader_t *ctx, const yaml_node_t *cs)
{
    static const char *const allowed[] = {"id",  "text",  "amount", "posts",
                                          "cap", "floor", NULL};
    static const char *const post_keys[] = {"landkreis", "kreisfreie_stadt", NULL};
    rules_set_t *set = ctx->set;
    if (cs->type != YAML_SEQUENCE_NODE ||
        cs->data.sequence.items.top == cs->data.sequence.items.start) {
        rules__err(ctx, cs, "entitlement.components",
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
            rules__err(ctx, m, path, "more than %d components", RULES_COMPONENTS_MAX);
            return;
        }
        if (!rules__keys(ctx, m, path, allowed))
            continue;
        rules_component_t *c = &set->components[set->n_components++];
        c->posts = c->posts_kreis = c->posts_stadt = c->cap = c->floor = -1;
        c->id = rules__text(ctx, m, "id", path);
        if (rules__yaml_get(ctx->doc, m, "text") != NULL) {
            rules__lang(ctx, m, "text", path, &c->text_de, &c->text_en);
        } else if (c->id != NULL) {
            c->text_de = rules__dup(ctx, c->id);
            c->text_en = rules__dup(ctx, c->id);
        }
        c->amount = s_param_ref(ctx, m, "amount", path, true, true);
        c->cap = s_param_ref(ctx, m, "cap", path, false, true);
        c->floor = s_param_ref(ctx, m, "floor", path, false, true);
        const yaml_node_t *posts = rules__yaml_get(ctx->doc, m, "posts");
        char field[96];
        snprintf(field, sizeof field, "%s.posts", path);
        if (posts != NULL && posts->type == YAML_MAPPING_NODE) {
            if (rules__keys(ctx, posts, field, post_keys)) {
                c->posts_kreis = s_param_ref(ctx, posts, "landkreis", field, true, false);
                c->posts_stadt =
                    s_param_ref(ctx, posts, "kreisfreie_stadt", field, true, false);
            }
        } else if (posts != NULL) {
            c->posts = s_param_ref(ctx, m, "posts", path, true, false);
        }
        if (c->cap >= 0 && c->floor >= 0 &&
            set->params[c->floor].value > set->params[c->cap].value)
            rules__err(ctx, rules__yaml_get(ctx->doc, m, "floor"), path,
                       "the component's floor is above its cap");
    }
}

static void
s_entitlement(rules_reader_t *ctx, const yaml_node_t *root)
{
    static const char *const allowed[] = {"components", "cap", "floor", "allocation", NULL};
    static const char *const alloc_keys[] = {"budget", "indicator", "minimum", NULL};
    static const char *const ind_keys[] = {"fact", "period", "disaggregation", NULL};
    rules_set_t *set = ctx->set;
    set->cap = set->floor = set->budget = set->minimum = -1;
    const yaml_node_t *e = rules__yaml_get(ctx->doc, root, "entitlement");
    if (e == NULL) {
        rules__err(ctx, root, "entitlement", "missing required key \"entitlement\"");
        return;
    }
    if (!rules__keys(ctx, e, "entitlement", allowed))
        return;
    const yaml_node_t *cs = rules__yaml_get(ctx->doc, e, "components");
    const yaml_node_t *a = rules__yaml_get(ctx->doc, e, "allocation");
    if ((cs == NULL) == (a == NULL)) {
        rules__err(ctx, e, "entitlement", "an entitlement has components or an allocation");
        return;
    }
    if (cs != NULL) {
        s_components(ctx, cs);
        set->cap = s_param_ref(ctx, e, "cap", "entitlement", false, true);
        set->floor = s_param_ref(ctx, e, "floor", "entitlement", false, true);
        if (set->cap >= 0 && set->floor >= 0 &&
            set->params[set->floor].value > set->params[set->cap].value)
            rules__err(ctx, rules__yaml_get(ctx->doc, e, "floor"), "entitlement.floor",
                       "the floor is above the cap");
        return;
    }
    set->allocates = true;
    if (rules__yaml_get(ctx->doc, e, "cap") || rules__yaml_get(ctx->doc, e, "floor"))
        rules__err(ctx, e, "entitlement",
                   "cap and floor belong to components; an allocation "
                   "has a minimum");
    if (!rules__keys(ctx, a, "entitlement.allocation", alloc_keys))
        return;
    set->budget = s_param_ref(ctx, a, "budget", "entitlement.allocation", true, true);
    set->minimum = s_param_ref(ctx, a, "minimum", "entitlement.allocation", false, true);
    const yaml_node_t *ind = rules__yaml_get(ctx->doc, a, "indicator");
    if (ind == NULL) {
        rules__err(ctx, a, "entitlement.allocation.indicator",
                   "missing required key \"indicator\"");
        return;
    }
    if (!rules__keys(ctx, ind, "entitlement.allocation.indicator", ind_keys))
        return;
    if (rules__factref(ctx, ind, "entitlement.allocation.indicator", &set->indicator) &&
        strncmp(set->indicator.name, "indicator.", 10) != 0)
        rules__err(ctx, rules__yaml_get(ctx->doc, ind, "fact"),
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
    rules_reader_t *ctx = calloc(1, sizeof *ctx);
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
    *ctx = (rules_reader_t){.doc = &doc, .errors = errors, .max = max, .set = set};
    if (text == NULL || len > RULES_TEXT_MAX) {
        rules__err(ctx, NULL, "", "a rule set is at most %d bytes", RULES_TEXT_MAX);
        goto cleanup;
    }
    if (rules__yaml_load(text, len, &doc, &errors[0]) != 0) {
        ctx->n = 1;
        goto cleanup;
    }
    loaded = true;
    const yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!rules__keys(ctx, root, "", allowed))
        goto cleanup;
    const char *format = rules__scalar(ctx, root, "format", "", true);
    if (format != NULL && strcmp(format, "teilhabe-rules/1") != 0)
        rules__err(ctx, rules__yaml_get(&doc, root, "format"), "format",
                   "format is teilhabe-rules/1, not \"%s\"", format);
    s_programme(ctx, root);
    s_version(ctx, root);
    s_parameters(ctx, root);
    rules__criteria(ctx, root);
    rules__references(ctx, root);
    if (ctx->n == 0)
        rules__graph(ctx);
    s_entitlement(ctx, root);
    if (ctx->n == 0 && !ctx->nomem && (s_needs(set) != 0 || s_hash(set, text, len) != 0))
        ctx->nomem = true;
cleanup:
    if (ctx->nomem && ctx->n == 0)
        rules__err(ctx, NULL, "", "out of memory");
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

const char *
rules_version_source(const rules_set_t *self)
{
    return self->version_source != NULL ? self->version_source : "";
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
