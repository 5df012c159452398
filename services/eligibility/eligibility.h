/* ---------------------------------------------------------------------------
 * eligibility.h: what the handler files of the Eligibility service share.
 *
 * The engine (rules.h) decides; this service finds the rule set in force,
 * gathers the facts it names from the registry and the measures service
 * over the broker (facts.c: one batch call per source and Land, never one
 * per district), stores the decisions with those facts (store.c), and
 * answers. Files in reading order: programmes.c (ListProgrammes,
 * GetProgramme, ValidateRuleSet, PublishRuleSet, and the shipped rule sets
 * published at start-up), facts.c, decide.c (Evaluate, EvaluateBatch),
 * decisions.c (ListDecisions, GetDecision with verify), applications.c
 * (SetApplicationFacts), events.c (ListEvents); main.c holds the table of
 * every method.
 *
 * Order inside a handler, as in the other services: who is calling, what
 * was asked, then the data; facts are gathered before the write
 * transaction begins, so no lock is held while another service answers,
 * and a failure to gather stores nothing (UNAVAILABLE, never a decision
 * from partial facts).
 * ---------------------------------------------------------------------------
 */
#ifndef ELIGIBILITY_H
#define ELIGIBILITY_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules.h"
#include "teilhabe/v1/eligibility.pb-c.h"
#include "th_call.h"
#include "th_date.h"
#include "th_client.h"
#include "th_config.h"
#include "th_db.h"

/* The schema of the service's outbox (a fixed identifier, never input). */
#define ELIGIBILITY_SCHEMA "eligibility"

#define ELIGIBILITY_PAGE_DEFAULT 100
#define ELIGIBILITY_PAGE_MAX 500

typedef Teilhabe__Eligibility__V1__Programme programme_t;
typedef Teilhabe__Eligibility__V1__RuleSetVersion version_t;
typedef Teilhabe__Eligibility__V1__Decision decision_t;
typedef Teilhabe__Eligibility__V1__Application application_t;
typedef Teilhabe__Eligibility__V1__Fact fact_t;

/* A rule-set version as stored, with its text parsed. */
typedef struct {
    char *programme_code;
    char *state_code;
    int32_t version;
    char *hash;
    rules_set_t *rules; /* owned: eligibility_version_clear frees it */
} eligibility_version_t;

void eligibility_version_clear(eligibility_version_t *v);

/* --- facts.c ------------------------------------------------------------- */

/* One district as the facts were gathered for it. */
typedef struct {
    char ags[6];
    char *name;           /* call memory; "" when the district does not exist */
    rules_facts_t *facts; /* owned */
} eligibility_district_t;

typedef struct {
    eligibility_district_t *items; /* by AGS */
    size_t n;
} eligibility_land_t;

void eligibility_land_clear(eligibility_land_t *land);

/* Gathers every fact rules names for the districts of Land state_code (NULL =
 * every Land) existing on as_of, plus the district only_ags when it is
 * given and not among them (then with district.exists false, or
 * INVALID_ARGUMENT naming field "ags" when the registry knows no such
 * district): one registry or measures call per source (and page), with
 * the call's remaining deadline. TH_OK, or the status recorded on the call
 * (UNAVAILABLE / DEADLINE_EXCEEDED when a service could not be asked). */
int eligibility_gather(th_call_t *call, const rules_set_t *rules, const char *state_code,
                       const char *as_of, const char *only_ags, eligibility_land_t *out);

/* The facts of a decision as stored (FactSet) and back. to_set: in call
 * memory. from_set: a new rules_facts_t, or NULL with why in errbuf. */
Teilhabe__Eligibility__V1__FactSet *eligibility_facts_to_set(th_call_t *call,
                                                             const rules_facts_t *facts);
rules_facts_t *eligibility_facts_from_set(const Teilhabe__Eligibility__V1__FactSet *set,
                                          char *errbuf, size_t errlen);

/* --- decide.c ------------------------------------------------------------ */

/* "de" for "", else lang when it is "de" or "en"; INVALID_ARGUMENT naming
 * field "lang" otherwise (NULL returned, status recorded). */
const char *eligibility_lang(th_call_t *call, const char *lang, int *rc);

/* The decision message of a result (trace, parts; facts when with_facts),
 * in call memory. */
decision_t *eligibility_decision_message(th_call_t *call, const rules_result_t *result,
                                         const eligibility_district_t *district,
                                         bool with_facts);

/* The results of one evaluation of a Land's districts, in both languages
 * (de[i], en[i] for land->items[i]; NULL where not decided). */
typedef struct {
    rules_result_t **de;
    rules_result_t **en;
    size_t n;
} eligibility_run_t;

void eligibility_run_clear(eligibility_run_t *run);

/* Decides the districts of land (those with only[i] true; every one when
 * only is NULL or the programme allocates) under ver as of as_of, both
 * languages, allocating when the rule set does. TH_OK or the status
 * recorded on the call. */
int eligibility_decide(th_call_t *call, const eligibility_version_t *ver,
                       const eligibility_land_t *land, const char *as_of, const bool *only,
                       eligibility_run_t *run);

/* Inside the call's write transaction: stores every decided district of
 * run with trigger ("manual", "batch", "event", "schedule") and run_id
 * (NULL = none), texts of the answer in lang; a decision whose outcome or
 * amount differs from the district's previous one for the programme is
 * marked changed, counted in *changed (may be NULL) and recorded as a
 * decision.changed event. With trigger "event" or "schedule" (and a
 * programme that does not allocate) only changed decisions are stored: an
 * unchanged one stands as stored before. out[i]: the stored decision of
 * land->items[i] (NULL where none). TH_OK or the status recorded on the
 * call. */
int eligibility_store_run(th_call_t *call, const eligibility_version_t *ver,
                          const eligibility_land_t *land, const eligibility_run_t *run,
                          const char *as_of, const char *lang, const char *trigger,
                          const char *run_id, decision_t **out, int *changed);

/* PERMISSION_DENIED unless the caller may decide under a programme of Land
 * state: admin, the ministry of that Land, a service covering it; for a
 * single district (ags not NULL) also a manager of the Land assigned to it
 * (its key's scope, or the registry's CheckAssignment today). */
int eligibility_need_decider(th_call_t *call, const char *state, const char *ags);

/* A new run id (UUID) in call memory. */
char *eligibility_run_id(th_call_t *call);

/* Outcome tokens as stored. */
const char *eligibility_outcome_token(rules_outcome_t outcome);

/* --- programmes.c -------------------------------------------------------- */

/* The rule-set version of programme code in force on as_of, parsed.
 * NOT_FOUND for an unknown programme, FAILED_PRECONDITION when no version
 * is in force on that date (naming the programme's first day when as_of
 * is before it). TH_OK or the status recorded on the call. */
int eligibility_version_in_force(th_call_t *call, const char *code, const char *as_of,
                                 eligibility_version_t *out);

/* The rule set text, parsed into *out (the caller destroys it);
 * INVALID_ARGUMENT with every problem a violation of field "text" ("line
 * 18, column 9, criteria[0].op: ...") when it is not valid, or empty, or
 * above RULES_TEXT_MAX. */
int eligibility_parse_text(th_call_t *call, const char *text, rules_set_t **out);

/* The same without an answer for "none": *found false when no version of
 * code is in force on as_of (first: the programme's first day, "" for an
 * unknown programme). TH_OK, or a status recorded on the call. */
int eligibility_version_at(th_call_t *call, const char *code, const char *as_of,
                           eligibility_version_t *out, bool *found,
                           char first[TH_DATE_LEN + 1]);

/* Version `version` of code, parsed (a decision's, read back). */
int eligibility_version_number(th_call_t *call, const char *code, int32_t version,
                               eligibility_version_t *out);

/* A programme code: [a-z0-9][a-z0-9-]{1,39}; INVALID_ARGUMENT naming field. */
int eligibility_check_code(th_call_t *call, const char *field, const char *code);

/* Publishes every programmes/NAME.yaml file in dir not yet published (same
 * hash), as principal "seed", on db (the owner's connection at start-up).
 * A file that overlaps a version published since is skipped with a
 * warning; a file that does not parse fails the start. 0 or negative. */
int eligibility_seed_programmes(th_db_t *db, const char *dir, int *published, char *errbuf,
                                size_t errlen);

/* --- the handlers (th_method_fn) ------------------------------------------ */

#define ELIGIBILITY_HANDLER(name)                                                          \
    int name(th_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **response)

ELIGIBILITY_HANDLER(eligibility_list_programmes);
ELIGIBILITY_HANDLER(eligibility_get_programme);
ELIGIBILITY_HANDLER(eligibility_validate);
ELIGIBILITY_HANDLER(eligibility_publish);
ELIGIBILITY_HANDLER(eligibility_dry_run);
ELIGIBILITY_HANDLER(eligibility_evaluate);
ELIGIBILITY_HANDLER(eligibility_evaluate_batch);
ELIGIBILITY_HANDLER(eligibility_list_decisions);
ELIGIBILITY_HANDLER(eligibility_get_decision);
ELIGIBILITY_HANDLER(eligibility_set_application);
ELIGIBILITY_HANDLER(eligibility_events_list);
ELIGIBILITY_HANDLER(eligibility_recheck);

/* recheck.c: the periodic job (th_service_job_fn): one Recheck call. */
int eligibility_recheck_job(th_client_t *client, const th_config_t *config, void *state);

#endif /* ELIGIBILITY_H */
