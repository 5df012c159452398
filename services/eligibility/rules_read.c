/* ---------------------------------------------------------------------------
 * rules_read.c: the parser's reading helpers: required and unknown keys,
 * texts in two languages, identifiers, and errors with the line, column and
 * field path of the node at fault, collected up to the caller's max.
 * ---------------------------------------------------------------------------
 */
#include "rules_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void s_error_at(rules_reader_t *ctx, int line, int column, const char *field,
                       const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

static void
s_error_at(rules_reader_t *ctx, int line, int column, const char *field, const char *fmt,
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

/* Reports a problem at node (NULL: no position). */
void
rules__err(rules_reader_t *ctx, const yaml_node_t *node, const char *field, const char *fmt,
           ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_error_at(ctx, rules__yaml_line(node), rules__yaml_column(node), field, fmt, ap);
    va_end(ap);
}

void
rules__err_line(rules_reader_t *ctx, int line, int column, const char *field,
                const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_error_at(ctx, line, column, field, fmt, ap);
    va_end(ap);
}

char *
rules__dup(rules_reader_t *ctx, const char *s)
{
    char *d = strdup(s);
    if (d == NULL)
        ctx->nomem = true;
    return d;
}

/* [a-z][a-z0-9_]{0,39}: criterion ids and parameter names. */
bool
rules__ident(const char *s)
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
bool
rules__keys(rules_reader_t *ctx, const yaml_node_t *map, const char *path,
            const char *const *allowed)
{
    if (map == NULL || map->type != YAML_MAPPING_NODE) {
        rules__err(ctx, map, path, "expected a mapping");
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
            rules__err(ctx, k, field, "unknown key \"%s\"", name ? name : "?");
            continue;
        }
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
            const char *other =
                rules__yaml_scalar(yaml_document_get_node(ctx->doc, q->key));
            if (other != NULL && strcmp(other, name) == 0)
                rules__err(ctx, k, field, "key \"%s\" given twice", name);
        }
    }
    return true;
}

/* The text of the scalar map[key] (borrowed from the document), or NULL:
 * reported when required and missing, or when not a scalar. */
const char *
rules__scalar(rules_reader_t *ctx, const yaml_node_t *map, const char *key,
              const char *path, bool required)
{
    char field[128];
    snprintf(field, sizeof field, "%s%s%s", path, path[0] ? "." : "", key);
    const yaml_node_t *n = rules__yaml_get(ctx->doc, map, key);
    if (n == NULL) {
        if (required)
            rules__err(ctx, map, field, "missing required key \"%s\"", key);
        return NULL;
    }
    const char *s = rules__yaml_scalar(n);
    if (s == NULL)
        rules__err(ctx, n, field, "expected a text, not a list or mapping");
    return s;
}

/* A required non-empty text, copied. */
char *
rules__text(rules_reader_t *ctx, const yaml_node_t *map, const char *key, const char *path)
{
    const char *s = rules__scalar(ctx, map, key, path, true);
    if (s == NULL)
        return NULL;
    if (s[0] == '\0') {
        char field[128];
        snprintf(field, sizeof field, "%s%s%s", path, path[0] ? "." : "", key);
        rules__err(ctx, rules__yaml_get(ctx->doc, map, key), field,
                   "\"%s\" must not be empty", key);
        return NULL;
    }
    return rules__dup(ctx, s);
}

/* map[key] as {de: ..., en: ...}, both required. */
void
rules__lang(rules_reader_t *ctx, const yaml_node_t *map, const char *key, const char *path,
            char **de, char **en)
{
    static const char *const allowed[] = {"de", "en", NULL};
    char field[128];
    snprintf(field, sizeof field, "%s%s%s", path, path[0] ? "." : "", key);
    const yaml_node_t *n = rules__yaml_get(ctx->doc, map, key);
    if (n == NULL) {
        rules__err(ctx, map, field, "missing required key \"%s\" (a mapping of de and en)",
                   key);
        return;
    }
    if (!rules__keys(ctx, n, field, allowed))
        return;
    *de = rules__text(ctx, n, "de", field);
    *en = rules__text(ctx, n, "en", field);
}
