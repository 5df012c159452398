/* ---------------------------------------------------------------------------
 * test_eligibility_golden.c: the shipped rule sets (data/programmes/) against
 * their golden cases (tests/eligibility/<code>.yaml), in the spirit of
 * OpenFisca's YAML tests: a case gives a district's facts and the decision
 * the programme must reach, so a change to a rule set that changes a
 * decision shows up here by the case's name.
 *
 * A golden file:
 *
 *   programme: nrw-ki            # data/programmes/nrw-ki.yaml
 *   cases:
 *     - name: a Kreis with everything
 *       ags: "05158"
 *       as_of: 2024-06-01
 *       lang: de                 # optional
 *       facts: {district.exists: true, concept.adopted_on: 2021-06-01, ...}
 *       outcome: eligible        # eligible | not_eligible | not_applicable
 *       failed: []               # ids of the failed trace lines, in order
 *       cents: 49450000
 *       illustrative: false
 *     - name: a Land              # an allocation: the districts together
 *       as_of: 2024-06-01
 *       districts: [{ags: ..., facts: ..., outcome: ..., failed: ..., cents: ...}]
 *
 * A fact's value is read by the catalogue's type of its key; null is an
 * absent fact, a list a list. concept.adopted_on without
 * concept.age_years gives the age on as_of, as the service computes it.
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "rules.h"

typedef struct {
    yaml_document_t doc;
    const char *file;
    const char *as_of;
    const char *name;
    int failures;
} s_golden_t;

static char *
s_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = malloc(RULES_TEXT_MAX + 1);
    assert_non_null(buf);
    *len = fread(buf, 1, RULES_TEXT_MAX + 1, f);
    fclose(f);
    buf[*len] = '\0';
    return buf;
}

static yaml_node_t *
s_get(yaml_document_t *doc, const yaml_node_t *map, const char *key)
{
    if (map == NULL || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
         p < map->data.mapping.pairs.top; p++) {
        const yaml_node_t *k = yaml_document_get_node(doc, p->key);
        if (k->type == YAML_SCALAR_NODE &&
            strcmp((const char *) k->data.scalar.value, key) == 0)
            return yaml_document_get_node(doc, p->value);
    }
    return NULL;
}

static const char *
s_str(yaml_document_t *doc, const yaml_node_t *map, const char *key)
{
    const yaml_node_t *n = s_get(doc, map, key);
    return n && n->type == YAML_SCALAR_NODE ? (const char *) n->data.scalar.value : NULL;
}

static void s_fail(s_golden_t *g, const char *ags, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
s_fail(s_golden_t *g, const char *ags, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: case \"%s\"%s%s: ", g->file, g->name ? g->name : "?",
            ags ? " district " : "", ags ? ags : "");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    g->failures++;
}

/* The facts of a case's facts mapping; NULL (reported) when one is bad. */
static rules_facts_t *
s_facts(s_golden_t *g, const yaml_node_t *map, const char *ags)
{
    rules_facts_t *facts = rules_facts_new();
    assert_non_null(facts);
    if (map == NULL || map->type != YAML_MAPPING_NODE) {
        s_fail(g, ags, "facts is not a mapping");
        goto fail;
    }
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
         p < map->data.mapping.pairs.top; p++) {
        const yaml_node_t *k = yaml_document_get_node(&g->doc, p->key);
        const yaml_node_t *v = yaml_document_get_node(&g->doc, p->value);
        const char *key = (const char *) k->data.scalar.value;
        rules_type_t type;
        if (rules_fact_type(key, &type) != 0) {
            s_fail(g, ags, "fact %s is not in the catalogue", key);
            goto fail;
        }
        int rc = 0;
        if (v->type == YAML_SEQUENCE_NODE) {
            const char *items[32];
            size_t n = 0;
            for (yaml_node_item_t *it = v->data.sequence.items.start;
                 it < v->data.sequence.items.top && n < 32; it++)
                items[n++] =
                    (const char *) yaml_document_get_node(&g->doc, *it)->data.scalar.value;
            rc = rules_facts_set_list(facts, key, items, n, "golden");
        } else {
            const char *s = (const char *) v->data.scalar.value;
            int64_t micro;
            if (v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                (strcmp(s, "null") == 0 || strcmp(s, "~") == 0))
                rc = rules_facts_set_absent(facts, key, "golden");
            else if (type == RULES_BOOL)
                rc =
                    strcmp(s, "true") == 0 || strcmp(s, "false") == 0
                        ? rules_facts_set_bool(facts, key, strcmp(s, "true") == 0, "golden")
                        : -1;
            else if (type == RULES_NUMBER)
                rc = rules_parse_micro(s, &micro) == 0
                         ? rules_facts_set_number(facts, key, micro, "golden")
                         : -1;
            else if (type == RULES_DATE)
                rc = rules_facts_set_date(facts, key, s, "golden");
            else
                rc = rules_facts_set_text(facts, key, s, "golden");
        }
        if (rc != 0) {
            s_fail(g, ags, "fact %s: cannot read its value", key);
            goto fail;
        }
    }
    /* The service derives the concept's age from its adoption date. */
    const rules_fact_t *on = rules_facts_find(facts, "concept.adopted_on");
    if (on != NULL && on->value.type == RULES_DATE &&
        rules_facts_find(facts, "concept.age_years") == NULL) {
        int64_t age;
        if (rules_age_years(on->value.text, g->as_of, &age) != 0) {
            s_fail(g, ags, "concept.adopted_on %s is after as_of %s", on->value.text,
                   g->as_of);
            goto fail;
        }
        assert_int_equal(rules_facts_set_number(facts, "concept.age_years", age, "golden"),
                         0);
    }
    return facts;
fail:
    rules_facts_destroy(&facts);
    return NULL;
}

/* Compares a result with what the case (or district) entry expects. */
static void
s_expect(s_golden_t *g, const yaml_node_t *entry, const char *ags, const rules_result_t *r)
{
    static const char *const outcomes[] = {"not_applicable", "eligible", "not_eligible"};
    const char *outcome = s_str(&g->doc, entry, "outcome");
    if (outcome == NULL || strcmp(outcome, outcomes[rules_result_outcome(r)]) != 0)
        s_fail(g, ags, "outcome %s, expected %s (%s)", outcomes[rules_result_outcome(r)],
               outcome ? outcome : "(none)", rules_result_summary(r));
    /* failed: the failed trace lines' ids, in order. */
    char got[512] = "", want[512] = "";
    for (size_t i = 0; i < rules_result_trace_count(r); i++)
        if (!rules_result_trace(r, i)->passed)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", got[0] ? "," : "",
                     rules_result_trace(r, i)->id);
    const yaml_node_t *failed = s_get(&g->doc, entry, "failed");
    if (failed != NULL && failed->type == YAML_SEQUENCE_NODE)
        for (yaml_node_item_t *it = failed->data.sequence.items.start;
             it < failed->data.sequence.items.top; it++)
            snprintf(
                want + strlen(want), sizeof want - strlen(want), "%s%s", want[0] ? "," : "",
                (const char *) yaml_document_get_node(&g->doc, *it)->data.scalar.value);
    if (strcmp(got, want) != 0)
        s_fail(g, ags, "failed [%s], expected [%s]", got, want);
    const char *cents = s_str(&g->doc, entry, "cents");
    if (cents == NULL || strtoll(cents, NULL, 10) != rules_result_cents(r))
        s_fail(g, ags, "cents %lld, expected %s", (long long) rules_result_cents(r),
               cents ? cents : "(none)");
    const char *ill = s_str(&g->doc, entry, "illustrative");
    if (ill != NULL && (strcmp(ill, "true") == 0) != rules_result_illustrative(r))
        s_fail(g, ags, "illustrative %s, expected %s",
               rules_result_illustrative(r) ? "true" : "false", ill);
}

static rules_result_t *
s_evaluate(s_golden_t *g, const rules_set_t *set, const yaml_node_t *entry,
           const char *lang)
{
    const char *ags = s_str(&g->doc, entry, "ags");
    if (ags == NULL) {
        s_fail(g, NULL, "no ags");
        return NULL;
    }
    rules_facts_t *facts = s_facts(g, s_get(&g->doc, entry, "facts"), ags);
    if (facts == NULL)
        return NULL;
    char err[256];
    rules_result_t *r = rules_evaluate(set, ags, g->as_of, facts, lang, err, sizeof err);
    if (r == NULL)
        s_fail(g, ags, "cannot evaluate: %s", err);
    rules_facts_destroy(&facts);
    return r;
}

static void
s_case(s_golden_t *g, const rules_set_t *set, const yaml_node_t *c)
{
    g->name = s_str(&g->doc, c, "name");
    g->as_of = s_str(&g->doc, c, "as_of");
    const char *lang = s_str(&g->doc, c, "lang");
    if (g->name == NULL || g->as_of == NULL) {
        s_fail(g, NULL, "a case needs name and as_of");
        return;
    }
    const yaml_node_t *districts = s_get(&g->doc, c, "districts");
    if (districts == NULL) {
        rules_result_t *r = s_evaluate(g, set, c, lang);
        if (r != NULL)
            s_expect(g, c, s_str(&g->doc, c, "ags"), r);
        rules_result_destroy(&r);
        return;
    }
    /* An allocation: every district first, then the budget shared. */
    rules_result_t *results[64] = {NULL};
    size_t n = 0;
    for (yaml_node_item_t *it = districts->data.sequence.items.start;
         it < districts->data.sequence.items.top && n < 64; it++) {
        results[n] = s_evaluate(g, set, yaml_document_get_node(&g->doc, *it), lang);
        if (results[n] == NULL)
            goto cleanup;
        n++;
    }
    char err[256];
    if (rules_allocate(set, results, n, err, sizeof err) != 0) {
        s_fail(g, NULL, "cannot allocate: %s", err);
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *entry =
            yaml_document_get_node(&g->doc, districts->data.sequence.items.start[i]);
        s_expect(g, entry, s_str(&g->doc, entry, "ags"), results[i]);
    }
cleanup:
    for (size_t i = 0; i < n; i++)
        rules_result_destroy(&results[i]);
}

static rules_set_t *
s_programme(const char *code, int *failures)
{
    char path[512];
    snprintf(path, sizeof path, "%s/data/programmes/%s.yaml", TH_SOURCE_DIR, code);
    size_t len = 0;
    char *text = s_read(path, &len);
    if (text == NULL) {
        fprintf(stderr, "%s: missing\n", path);
        (*failures)++;
        return NULL;
    }
    rules_error_t errors[RULES_ERRORS_MAX];
    size_t n = 0;
    rules_set_t *set = rules_parse(text, len, errors, RULES_ERRORS_MAX, &n);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "%s:%d:%d: %s: %s\n", path, errors[i].line, errors[i].column,
                errors[i].field, errors[i].message);
    if (set == NULL)
        (*failures)++;
    else if (strcmp(rules_programme_code(set), code) != 0) {
        fprintf(stderr, "%s: its code is %s\n", path, rules_programme_code(set));
        (*failures)++;
    }
    free(text);
    return set;
}

static int
s_golden_file(const char *dir, const char *file)
{
    s_golden_t g = {.file = file};
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    size_t len = 0;
    char *text = s_read(path, &len);
    assert_non_null(text);
    yaml_parser_t parser;
    assert_true(yaml_parser_initialize(&parser));
    yaml_parser_set_input_string(&parser, (const unsigned char *) text, len);
    if (!yaml_parser_load(&parser, &g.doc)) {
        fprintf(stderr, "%s:%zu: %s\n", file, parser.problem_mark.line + 1, parser.problem);
        yaml_parser_delete(&parser);
        free(text);
        return 1;
    }
    yaml_parser_delete(&parser);
    const yaml_node_t *root = yaml_document_get_root_node(&g.doc);
    const char *code = s_str(&g.doc, root, "programme");
    const yaml_node_t *cases = s_get(&g.doc, root, "cases");
    rules_set_t *set = code ? s_programme(code, &g.failures) : NULL;
    if (code == NULL || cases == NULL || cases->type != YAML_SEQUENCE_NODE) {
        fprintf(stderr, "%s: needs programme and a list of cases\n", file);
        g.failures++;
    } else if (set != NULL) {
        for (yaml_node_item_t *it = cases->data.sequence.items.start;
             it < cases->data.sequence.items.top; it++)
            s_case(&g, set, yaml_document_get_node(&g.doc, *it));
        printf(
            "%s: %zu cases\n", file,
            (size_t) (cases->data.sequence.items.top - cases->data.sequence.items.start));
    }
    rules_set_destroy(&set);
    yaml_document_delete(&g.doc);
    free(text);
    return g.failures;
}

static bool
s_yaml_name(const char *name)
{
    const size_t n = strlen(name);
    return n > 5 && strcmp(name + n - 5, ".yaml") == 0;
}

static void
test_golden_cases(void **state)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/tests/eligibility", TH_SOURCE_DIR);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int failures = 0, files = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!s_yaml_name(e->d_name))
            continue;
        files++;
        failures += s_golden_file(dir, e->d_name);
    }
    closedir(d);
    assert_true(files >= 3);
    assert_int_equal(failures, 0);
}

/* Every shipped rule set parses, and every one has golden cases. */
static void
test_shipped_rule_sets(void **state)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/data/programmes", TH_SOURCE_DIR);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int failures = 0, files = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!s_yaml_name(e->d_name))
            continue;
        files++;
        char code[256];
        snprintf(code, sizeof code, "%.*s", (int) (strlen(e->d_name) - 5), e->d_name);
        rules_set_t *set = s_programme(code, &failures);
        rules_set_destroy(&set);
        char golden[1024];
        snprintf(golden, sizeof golden, "%s/tests/eligibility/%s", TH_SOURCE_DIR,
                 e->d_name);
        FILE *f = fopen(golden, "r");
        if (f == NULL) {
            fprintf(stderr, "%s: no golden cases\n", golden);
            failures++;
        } else {
            fclose(f);
        }
    }
    closedir(d);
    assert_true(files >= 3);
    assert_int_equal(failures, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_rule_sets),
        cmocka_unit_test(test_golden_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
