/* ---------------------------------------------------------------------------
 * rules.h: the eligibility engine. A programme's rule set (a YAML file,
 * format in docs/eligibility.md) parsed and checked, and a district's
 * decision computed from facts: outcome, per-criterion trace, what-if for
 * failed criteria, entitlement in euro cents.
 *
 * The engine is pure: no database, no broker, no clock. The service gathers
 * the facts a rule set names (rules_needs) from the registry and the
 * measures service, hands them in as a rules_facts_t, and stores what comes
 * out; a stored decision re-evaluated from its stored facts and the same
 * rule-set text gives the same result (that is what GetDecision's verify
 * does).
 *
 * Numbers are fixed-point: int64 millionths ("micro", 1.5 = 1500000), so
 * every comparison and every amount is exact integer arithmetic; money is
 * int64 euro cents (th_money.h).
 *
 * Ownership: every rules_*_new / rules_parse result belongs to the caller
 * and is freed with its rules_*_destroy (NULL-safe, sets the pointer to
 * NULL). Strings inside results are owned by the result.
 * ---------------------------------------------------------------------------
 */
#ifndef RULES_H
#define RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 1.0 in the engine's fixed point. */
#define RULES_MICRO 1000000LL

/* Limits of a rule set (docs/eligibility.md): bytes of its text, criteria,
 * parameters, entitlement components, errors reported at most. */
#define RULES_TEXT_MAX (256 * 1024)
#define RULES_CRITERIA_MAX 64
#define RULES_PARAMETERS_MAX 64
#define RULES_ERRORS_MAX 20
#define RULES_COMPONENTS_MAX 16

/* --- values and facts ------------------------------------------------------ */

typedef enum {
    RULES_ABSENT = 0, /* the fact has no value (no concept, no council decision) */
    RULES_BOOL,
    RULES_NUMBER, /* micro */
    RULES_DATE,   /* text "YYYY-MM-DD" */
    RULES_TEXT,
    RULES_LIST, /* of texts (concept.fields) */
} rules_type_t;

typedef struct {
    rules_type_t type;
    bool b;
    int64_t micro;
    char *text;   /* DATE and TEXT (owned) */
    char **items; /* LIST (owned) */
    size_t n_items;
} rules_value_t;

/* One fact of one district: key is the fact's name with its arguments in
 * canonical form, sorted by argument name: "district.population",
 * "indicator.protection_seekers{disaggregation=total,period=2024}".
 * source says where the value came from, for the trace
 * ("registry ListDistricts as of 2024-07-01"). */
typedef struct {
    char *key;
    rules_value_t value;
    char *source;
} rules_fact_t;

/* The facts of one district (key order is free; keys are unique). */
typedef struct rules_facts_t rules_facts_t;

rules_facts_t *rules_facts_new(void);
void rules_facts_destroy(rules_facts_t **self_p);
/* Adds or replaces the fact key. The set_* copy their arguments. 0, or
 * TH_ENOMEM (th_error.h). */
int rules_facts_set_bool(rules_facts_t *self, const char *key, bool b, const char *source);
int rules_facts_set_number(rules_facts_t *self, const char *key, int64_t micro,
                           const char *source);
int rules_facts_set_date(rules_facts_t *self, const char *key, const char *date,
                         const char *source);
int rules_facts_set_text(rules_facts_t *self, const char *key, const char *text,
                         const char *source);
int rules_facts_set_list(rules_facts_t *self, const char *key, const char *const *items,
                         size_t n, const char *source);
int rules_facts_set_absent(rules_facts_t *self, const char *key, const char *source);
size_t rules_facts_count(const rules_facts_t *self);
/* The i-th fact (0 <= i < count), in key order. */
const rules_fact_t *rules_facts_at(const rules_facts_t *self, size_t i);
/* The fact key, or NULL. */
const rules_fact_t *rules_facts_find(const rules_facts_t *self, const char *key);

/* --- the fact catalogue ---------------------------------------------------- */

/* The type of the catalogue's fact of a canonical key ("concept.fields",
 * "indicator.x{disaggregation=total,period=2024}"): how to read a value the
 * service or a test has as text. 0, or TH_EINVAL when the fact is not in the
 * catalogue. */
int rules_fact_type(const char *key, rules_type_t *type);

/* Parses a decimal with at most 6 fraction digits ("3", "-0.25") into
 * micro. 0, TH_ETOOBIG for more fraction digits, or TH_EINVAL. */
int rules_parse_micro(const char *text, int64_t *micro);

/* concept.age_years: the years from from to to (both YYYY-MM-DD, from <=
 * to) in micro. Whole years count anniversaries (29 Feb's is 28 Feb in a
 * common year); the fraction is the days since the last anniversary over
 * the days from it to the next, floored. Adopted exactly 3 years before:
 * 3000000; a day later: 3002739 (1/365). 0, or TH_EINVAL for a bad date or
 * to < from. */
int rules_age_years(const char *from, const char *to, int64_t *micro);

/* Where the service gathers a fact from (one batch call per Land each). */
typedef enum {
    RULES_FROM_DISTRICTS = 0, /* registry ListDistricts(state, as_of) */
    RULES_FROM_CONCEPTS,      /* registry ListConcepts(state, as_of) */
    RULES_FROM_MANAGERS,      /* registry ListManagers(state, as_of) */
    RULES_FROM_MEASURES,      /* measures ListMeasures(state) */
    RULES_FROM_VALUES,        /* measures ListValues(state, indicator, period) */
    RULES_FROM_SUBMISSIONS,   /* measures ListSubmissions(state, period) */
    RULES_FROM_APPLICATIONS,  /* eligibility's own applications table */
} rules_source_t;

/* A fact a rule set needs, with its arguments resolved: what the service
 * must gather. name is the fact ("indicator.protection_seekers"), key the
 * canonical key the facts must carry it under; indicator the code after
 * "indicator." (NULL otherwise); period / field / target / disaggregation
 * the arguments (NULL when not given). */
typedef struct {
    const char *key;
    const char *name;
    rules_source_t source;
    const char *indicator;
    const char *period;
    const char *field;
    const char *target;
    const char *disaggregation;
} rules_need_t;

/* --- rule sets --------------------------------------------------------------- */

/* One problem in a rule set's text: 1-based line and column (0 when not
 * known), the path of the field at fault ("criteria[2].op",
 * "entitlement.components[0].posts"), and why, as a message a person can act
 * on. */
typedef struct {
    int line;
    int column;
    char field[128];
    char message[256];
} rules_error_t;

typedef struct rules_set_t rules_set_t;

/* Parses and checks text (len bytes, YAML 1.1 as libyaml reads it; JSON is
 * YAML too). Returns the rule set, or NULL with up to max errors written to
 * errors and their number in *n_errors (at least 1 on NULL; never more than
 * max). Checks: syntax; required and unknown keys; types; every fact in the
 * catalogue with its arguments; every operator fits its fact's type; every
 * parameter used exists and carries a source; criteria ids unique, every
 * reference resolves, no cycle, no combinator without children, no
 * criterion left unused; dates valid and valid_from <= valid_to; limits. */
rules_set_t *rules_parse(const char *text, size_t len, rules_error_t *errors, size_t max,
                         size_t *n_errors);
void rules_set_destroy(rules_set_t **self_p);

/* What the rule set says about itself (borrowed strings). */
const char *rules_programme_code(const rules_set_t *self);                   /* "nrw-ki" */
const char *rules_programme_state(const rules_set_t *self);                  /* "05" */
const char *rules_programme_name(const rules_set_t *self, const char *lang); /* "de"/"en" */
const char *rules_programme_description(const rules_set_t *self, const char *lang);
const char *rules_valid_from(const rules_set_t *self); /* "2021-11-25" */
const char *rules_valid_to(const rules_set_t *self);   /* "" = open */
/* The version's legal source (version.source). */
const char *rules_version_source(const rules_set_t *self);
/* true when the entitlement is an allocation of a budget over the Land's
 * eligible districts (rules_allocate must run after every district's
 * rules_evaluate). */
bool rules_allocates(const rules_set_t *self);
/* SHA-256 of the text, lowercase hex (64 characters): what a decision
 * records as the content hash of the rule set it used. */
const char *rules_hash(const rules_set_t *self);

/* The facts the rule set needs, each once; *n their number. Borrowed
 * (valid while self lives). */
const rules_need_t *rules_needs(const rules_set_t *self, size_t *n);

/* --- decisions --------------------------------------------------------------- */

typedef enum {
    RULES_NOT_APPLICABLE = 0, /* another Land, or no such district on that date */
    RULES_ELIGIBLE,
    RULES_NOT_ELIGIBLE,
} rules_outcome_t;

/* One line of the trace: a criterion (leaf or combinator), in evaluation
 * order (depth first, a combinator before its children; depth says how
 * deep). For a leaf: the fact key, the value used (as text, "" when
 * absent), where it came from, what was expected ("<= 3", "in [landkreis,
 * kreisfreie_stadt]"). For a failed leaf: what would make it pass on that
 * date (whatif, in the language asked) and whether anything can (false for
 * a wrong Land, a district that does not exist). */
typedef struct {
    const char *id;
    int depth;
    const char *text;   /* the criterion's text in the language asked */
    const char *source; /* its legal source */
    const char *fact;   /* "" for a combinator */
    const char *value;
    const char *value_source;
    const char *expected;
    bool passed;
    const char *whatif; /* "" when passed or nothing can */
    bool fixable;
} rules_trace_t;

/* One part of the entitlement ("specialist posts: 6 x 57,000.00"). */
typedef struct {
    const char *id;
    const char *text; /* in the language asked */
    int64_t cents;
    const char *how;   /* "6 posts x 5700000 cents", "allocation: ..." */
    bool illustrative; /* computed from an illustrative parameter */
    const char *source;
} rules_part_t;

typedef struct rules_result_t rules_result_t;

/* Decides district ags on as_of (YYYY-MM-DD) under self from facts, texts
 * in lang ("de" or "en"). Not applicable when district.exists is false or
 * district.state is not the programme's Land; else eligible when the rule
 * set's eligible_if holds. The entitlement of an eligible district is
 * computed (0 otherwise); for an allocation it is 0 until rules_allocate.
 * A fact the rule set needs that is missing from facts is an error, not a
 * failed criterion: NULL with why written to errbuf. */
rules_result_t *rules_evaluate(const rules_set_t *self, const char *ags, const char *as_of,
                               const rules_facts_t *facts, const char *lang, char *errbuf,
                               size_t errlen);
void rules_result_destroy(rules_result_t **self_p);

rules_outcome_t rules_result_outcome(const rules_result_t *self);
int64_t rules_result_cents(const rules_result_t *self);
bool rules_result_illustrative(const rules_result_t *self);
/* false when some failed criterion cannot be fixed (nothing would make the
 * district eligible on that date); true for an eligible district. */
bool rules_result_attainable(const rules_result_t *self);
/* One line per the outcome, in the language asked ("nicht förderfähig:
 * Konzept älter als 3 Jahre"). */
const char *rules_result_summary(const rules_result_t *self);
size_t rules_result_trace_count(const rules_result_t *self);
const rules_trace_t *rules_result_trace(const rules_result_t *self, size_t i);
size_t rules_result_part_count(const rules_result_t *self);
const rules_part_t *rules_result_part(const rules_result_t *self, size_t i);

/* For an allocating rule set: shares the budget over the eligible results
 * (every district of the Land, all evaluated on one date), setting their
 * cents and parts; not-eligible ones keep 0. Rounding as docs/eligibility.md
 * says (floor to the cent, leftover cents by largest remainder, ties by
 * AGS). 0, or TH_EINVAL with why in errbuf (an indicator value missing or
 * negative for an eligible district). */
int rules_allocate(const rules_set_t *self, rules_result_t *const *results, size_t n,
                   char *errbuf, size_t errlen);

#endif /* RULES_H */
