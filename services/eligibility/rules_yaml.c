/* ---------------------------------------------------------------------------
 * rules_yaml.c: the rule set's text as a libyaml document (the document
 * API, yaml_parser_load), so every node keeps where it started and every
 * error in a rule set can name its line and column.
 *
 * Scalars stay text: "2021-11-25" and "05" are what the author typed, and
 * the parser decides what a scalar means from where it stands, not from
 * YAML's implicit typing.
 * ---------------------------------------------------------------------------
 */
#include "rules_int.h"

#include <stdio.h>
#include <string.h>

#include "th_error.h"

int
rules__yaml_load(const char *text, size_t len, yaml_document_t *doc, rules_error_t *err)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        snprintf(err->message, sizeof err->message, "out of memory");
        return TH_ENOMEM;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *) text, len);
    int rc = 0;
    if (!yaml_parser_load(&parser, doc)) {
        /* A problem mark is where the parser gave up: the place to look. */
        err->line = (int) parser.problem_mark.line + 1;
        err->column = (int) parser.problem_mark.column + 1;
        snprintf(err->message, sizeof err->message, "syntax error: %s%s%s",
                 parser.problem ? parser.problem : "malformed YAML",
                 parser.context ? " " : "", parser.context ? parser.context : "");
        rc = TH_EINVAL;
        goto cleanup;
    }
    if (yaml_document_get_root_node(doc) == NULL) {
        yaml_document_delete(doc);
        err->line = 1;
        err->column = 1;
        snprintf(err->message, sizeof err->message, "the rule set is empty");
        rc = TH_EINVAL;
    }
cleanup:
    yaml_parser_delete(&parser);
    return rc;
}

yaml_node_t *
rules__yaml_get(yaml_document_t *doc, const yaml_node_t *map, const char *key)
{
    if (map == NULL || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
         p < map->data.mapping.pairs.top; p++) {
        const yaml_node_t *k = yaml_document_get_node(doc, p->key);
        const char *name = rules__yaml_scalar(k);
        if (name != NULL && strcmp(name, key) == 0)
            return yaml_document_get_node(doc, p->value);
    }
    return NULL;
}

const char *
rules__yaml_scalar(const yaml_node_t *node)
{
    if (node == NULL || node->type != YAML_SCALAR_NODE)
        return NULL;
    return (const char *) node->data.scalar.value;
}

bool
rules__yaml_null(const yaml_node_t *node)
{
    const char *s = rules__yaml_scalar(node);
    if (s == NULL || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
           strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

int
rules__yaml_line(const yaml_node_t *node)
{
    return node ? (int) node->start_mark.line + 1 : 0;
}

int
rules__yaml_column(const yaml_node_t *node)
{
    return node ? (int) node->start_mark.column + 1 : 0;
}
