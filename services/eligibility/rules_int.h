/* ---------------------------------------------------------------------------
 * rules_int.h: what the engine's files (rules_*.c) share and nothing else
 * sees: the parsed rule set, the result, the fact catalogue and the YAML
 * helpers. The service includes rules.h only.
 * ---------------------------------------------------------------------------
 */
#ifndef RULES_INT_H
#define RULES_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "rules.h"

/* --- the fact catalogue (rules_facts.c) ------------------------------------- */

enum {
    RULES_ARG_PERIOD = 1,
    RULES_ARG_FIELD = 2,
    RULES_ARG_TARGET = 4,
    RULES_ARG_DISAGGREGATION = 8,
};

typedef struct {
    const char *name; /* "indicator." stands for the family indicator.<code> */
    rules_type_t type;
    rules_source_t source;
    bool fixable;
    unsigned args;             /* RULES_ARG_* the fact takes */
    unsigned required;         /* of those, the ones it must be given */
    const char *const *values; /* the only texts (list items) it takes, or NULL */
} rules_fact_def_t;

/* The catalogue entry of a fact name ("concept.age_years",
 * "indicator.protection_seekers"), or NULL when there is none. */
const rules_fact_def_t *rules__fact_def(const char *name);

/* The values an argument may take, NULL-terminated, or NULL when any
 * period id is allowed (period). */
const char *const *rules__arg_values(unsigned arg);

/* True when s is one of the NULL-terminated values. */
bool rules__one_of(const char *s, const char *const *values);

/* Formats micro as a decimal without trailing zeros ("3", "0.25",
 * "-1.5") into out. */
void rules__format_micro(int64_t micro, char *out, size_t size);

/* A value's text for the trace ("true", "3", "2024-01-10", "[a, b]", ""
 * when absent): allocated, the caller frees it; NULL when out of memory. */
char *rules__value_text(const rules_value_t *v);

/* Frees what v owns and makes it ABSENT. */
void rules__value_clear(rules_value_t *v);

/* The date years after (negative: before) date, 29 Feb becoming 28 Feb in a
 * common year. 0, or TH_EINVAL. */
int rules__date_add_years(const char *date, int years, char out[11]);

/* --- the parsed rule set (rules_parse.c) ----------------------------------- */

typedef enum {
    RULES_OP_EQ = 0,
    RULES_OP_NE,
    RULES_OP_LT,
    RULES_OP_LE,
    RULES_OP_GT,
    RULES_OP_GE,
    RULES_OP_IN,
    RULES_OP_BETWEEN,
    RULES_OP_EXISTS,
    RULES_OP_CONTAINS,
    RULES_OP_ALL,
    RULES_OP_ANY,
    RULES_OP_NOT,
} rules_op_t;

/* A fact as a rule set names it: its name, its arguments (NULL when not
 * given) and the canonical key built from them. */
typedef struct {
    const rules_fact_def_t *def;
    char *name; /* "concept.age_years" */
    char *key;
    char *disaggregation;
    char *field;
    char *period;
    char *target;
} rules_factref_t;

typedef struct {
    char *id;
    char *text_de;
    char *text_en;
    char *source;
    int line;
    int column;
    rules_op_t op;
    /* a leaf */
    rules_factref_t fact;
    rules_value_t *values; /* 1 for eq..ge, 2 for between, n for in and contains */
    size_t n_values;
    /* a combinator: indices into criteria */
    size_t *children;
    size_t n_children;
} rules_criterion_t;

typedef struct {
    char *name;
    bool eur; /* value in cents; else micro */
    int64_t value;
    char *source;
    bool illustrative;
} rules_param_t;

typedef struct {
    char *id;
    char *text_de;
    char *text_en;
    int amount;      /* parameter index */
    int posts;       /* parameter index for a single number, -1 */
    int posts_kreis; /* parameter indices by district.kind, -1 */
    int posts_stadt;
    int cap; /* -1 when none */
    int floor;
} rules_component_t;

struct rules_set_t {
    char *code;
    char *state;
    char *name_de;
    char *name_en;
    char *description_de;
    char *description_en;
    char *valid_from;
    char *valid_to;
    char *version_source;
    char hash[65];
    rules_param_t params[RULES_PARAMETERS_MAX];
    size_t n_params;
    rules_criterion_t criteria[RULES_CRITERIA_MAX];
    size_t n_criteria;
    size_t eligible_if[RULES_CRITERIA_MAX];
    size_t n_eligible_if;
    rules_component_t components[RULES_COMPONENTS_MAX];
    size_t n_components;
    int cap; /* total, parameter index or -1 */
    int floor;
    bool allocates;
    int budget;
    int minimum;               /* -1: none */
    rules_factref_t indicator; /* the allocation's weight */
    rules_need_t *needs;       /* strings borrowed from criteria and indicator */
    size_t n_needs;
};

/* --- reading a rule set (rules_read.c, rules_criteria.c, rules_parse.c) --- */

/* The parse in progress: the document, the errors so far (n may exceed
 * max: the caller sees max of them), the set being filled. */
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
} rules_reader_t;

/* Reports a problem at node (NULL: no position) / at line and column. */
void rules__err(rules_reader_t *ctx, const yaml_node_t *node, const char *field,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void rules__err_line(rules_reader_t *ctx, int line, int column, const char *field,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* strdup that notes running out of memory in ctx. */
char *rules__dup(rules_reader_t *ctx, const char *s);
/* [a-z][a-z0-9_]{0,39}: criterion ids and parameter names. */
bool rules__ident(const char *s);
/* Reports every key of map not in allowed (NULL-terminated) and every key
 * given twice; false (reported) when map is not a mapping. */
bool rules__keys(rules_reader_t *ctx, const yaml_node_t *map, const char *path,
                 const char *const *allowed);
/* The text of the scalar map[key], borrowed from the document, or NULL:
 * reported when required and missing, or when not a scalar. */
const char *rules__scalar(rules_reader_t *ctx, const yaml_node_t *map, const char *key,
                          const char *path, bool required);
/* A required non-empty text, copied. */
char *rules__text(rules_reader_t *ctx, const yaml_node_t *map, const char *key,
                  const char *path);
/* map[key] as {de: ..., en: ...}, both required, copied. */
void rules__lang(rules_reader_t *ctx, const yaml_node_t *map, const char *key,
                 const char *path, char **de, char **en);
/* The fact a mapping names (fact: and its argument keys) into ref, with its
 * canonical key; false when reported. */
bool rules__factref(rules_reader_t *ctx, const yaml_node_t *map, const char *path,
                    rules_factref_t *ref);
/* The criteria list; then the references of combinators and eligible_if;
 * then the graph (cycles, unused criteria), once the rest is clean. */
void rules__criteria(rules_reader_t *ctx, const yaml_node_t *root);
void rules__references(rules_reader_t *ctx, const yaml_node_t *root);
void rules__graph(rules_reader_t *ctx);

/* --- results (rules_eval.c, rules_money.c) --------------------------------- */

struct rules_result_t {
    char *ags;
    bool en;
    rules_outcome_t outcome;
    int64_t cents;
    bool illustrative;
    bool attainable;
    const char *summary;
    rules_trace_t *trace;
    size_t n_trace;
    size_t cap_trace;
    rules_part_t *parts;
    size_t n_parts;
    size_t cap_parts;
    char **pool; /* every string the trace and parts point to */
    size_t n_pool;
    size_t cap_pool;
    bool has_weight; /* the allocation's indicator value, for rules_allocate */
    int64_t weight;
};

/* Keeps s (allocated, may be NULL) in the result's pool and returns it, or
 * NULL when s is NULL or the pool cannot grow (then s is freed). */
const char *rules__keep(rules_result_t *self, char *s);
/* rules__keep of a copy of s (NULL: NULL). */
const char *rules__keeps(rules_result_t *self, const char *s);
/* rules__keep of a formatted string. */
const char *rules__keepf(rules_result_t *self, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends a part (its strings must be kept already). 0, or TH_ENOMEM. */
int rules__add_part(rules_result_t *self, const rules_part_t *part);

/* Computes the entitlement of an eligible district into self (components,
 * caps, floors). 0, or TH_EINVAL (an amount too large) with why in errbuf. */
int rules__entitlement(const rules_set_t *set, rules_result_t *self,
                       const rules_facts_t *facts, char *errbuf, size_t errlen);

/* --- YAML (rules_yaml.c) --------------------------------------------------- */

/* Loads the first document of text into doc. 0, or TH_EINVAL with the
 * syntax error (line, column, message) in err. */
int rules__yaml_load(const char *text, size_t len, yaml_document_t *doc,
                     rules_error_t *err);
/* The value of key in the mapping node map, or NULL. */
yaml_node_t *rules__yaml_get(yaml_document_t *doc, const yaml_node_t *map, const char *key);
/* The scalar's text, or NULL when node is not a scalar. */
const char *rules__yaml_scalar(const yaml_node_t *node);
/* True when node is a plain (unquoted) scalar whose text is one of YAML's
 * nulls ("", "~", "null"). */
bool rules__yaml_null(const yaml_node_t *node);
/* 1-based line and column of a node (0 when node is NULL). */
int rules__yaml_line(const yaml_node_t *node);
int rules__yaml_column(const yaml_node_t *node);

#endif /* RULES_INT_H */
