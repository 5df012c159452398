/* ---------------------------------------------------------------------------
 * store.h: every SQL statement of the eligibility service, in one place.
 *
 * The handlers validate and authorize; the store reads and writes the
 * eligibility schema with parameterized statements only. Messages built for
 * a reply live in the call's memory (th_call_alloc). Publishing takes the
 * connection itself (th_db_t), because the shipped rule sets are published
 * at start-up, before any call, the same way a call publishes.
 *
 * Returns: 0; TH_ENOTFOUND when the row does not exist; TH_ESTATE when a
 * conditional write found the row changed or a rule forbids the write (the
 * message says which); TH_EDB when the database failed (th_db_status then
 * says how).
 * ---------------------------------------------------------------------------
 */
#ifndef ELIGIBILITY_STORE_H
#define ELIGIBILITY_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eligibility.h"
#include "th_events.h"

/* --- programmes and rule sets -------------------------------------------- */

/* The programmes of Land state_code (NULL = all), by code, texts in lang. */
int eligibility_store_programmes(th_call_t *call, const char *state_code, const char *lang,
                                 programme_t ***out, size_t *n);

/* The programme code with its versions (texts when include_text). */
int eligibility_store_programme(th_call_t *call, const char *code, const char *lang,
                                bool include_text, programme_t **out);

/* The version of code in force on as_of: its number, hash and text (call
 * memory), and the Land. TH_ENOTFOUND when none is; *first then says the
 * programme's first day ("" for an unknown programme). */
int eligibility_store_version_at(th_call_t *call, const char *code, const char *as_of,
                                 int32_t *version, char **hash, char **text,
                                 char **state_code, char first[TH_DATE_LEN + 1]);

/* Version `version` of code (text and hash, call memory). */
int eligibility_store_version(th_call_t *call, const char *code, int32_t version,
                              char **hash, char **text);

/* Publishes rules (its text) as the next version of its programme, as
 * principal by, inside the open transaction on db: the programme is
 * created or locked; TH_ESTATE with why (len bytes) when its Land differs,
 * when the same text is published already (*same set true), or when the
 * dates overlap another version's. *version: the new number. */
int eligibility_store_publish(th_db_t *db, const rules_set_t *rules, const char *text,
                              const char *by, int32_t *version, bool *same, char *why,
                              size_t len);

/* --- applications ----------------------------------------------------------- */

/* The application of ags for code; TH_ENOTFOUND when none. */
int eligibility_store_application(th_call_t *call, const char *code, const char *ags,
                                  bool for_update, application_t **out);

/* Writes a when the stored version is version (0 = none stored yet).
 * TH_ESTATE when it is not. */
int eligibility_store_set_application(th_call_t *call, const application_t *a,
                                      int64_t version, const char *by, application_t **out);

/* The applications for code of Land state_code (NULL = all), by AGS. */
int eligibility_store_applications(th_call_t *call, const char *code,
                                   const char *state_code, application_t ***out, size_t *n);

/* --- decisions --------------------------------------------------------------- */

/* The latest decision of code for each of ags[0..n-1] before this call:
 * (*outcomes)[i] its outcome token (NULL when there is none), (*cents)[i]
 * its amount; in call memory. */
int eligibility_store_previous(th_call_t *call, const char *code, char *const *ags,
                               size_t n, const char ***outcomes, int64_t **cents);

/* Inserts d (its facts packed in facts/facts_len) with trigger, run_id
 * (NULL = none), the previous decision's outcome token when d->changed
 * (NULL otherwise) and by; sets d->id, d->decide_time, d->decided_by. */
int eligibility_store_insert_decision(th_call_t *call, decision_t *d,
                                      const char *summary_de, const char *summary_en,
                                      const uint8_t *facts, size_t facts_len,
                                      const char *trigger, const char *run_id,
                                      const char *previous, const char *by);

typedef struct {
    const char *programme_code; /* NULL = any */
    const char *ags;            /* NULL = any */
    const char *state_code;     /* NULL = any */
    const char *since;          /* timestamp or date; NULL = any */
    bool changed_only;
    const char *run_id;  /* NULL = any: a run's page is by AGS, else newest first */
    const char *after_a; /* the page key: (decide_time, id) or (ags) for a run */
    const char *after_b;
    const char *lang;
    int limit;
} eligibility_filter_t;

/* Decisions that pass filter, without trace and facts. */
int eligibility_store_decisions(th_call_t *call, const eligibility_filter_t *filter,
                                decision_t ***out, size_t *n);

/* The decision id with its facts (packed, call memory) and run id ("" =
 * none). TH_ENOTFOUND when unknown. */
int eligibility_store_decision(th_call_t *call, const char *id, const char *lang,
                               decision_t **out, uint8_t **facts, size_t *facts_len,
                               char **run_id);

/* The summary of a run: counts by outcome, total cents, any illustrative,
 * changed. */
int eligibility_store_run_summary(th_call_t *call, const char *run_id,
                                  Teilhabe__Eligibility__V1__EvaluateBatchResponse *out);

/* Every decision of run_id (ags, facts packed), by AGS, for re-allocating. */
int eligibility_store_run_facts(th_call_t *call, const char *run_id, char ***ags,
                                uint8_t ***facts, size_t **lens, size_t *n);

/* --- re-checks ---------------------------------------------------------------- */

/* The checkpoints: seq[0..2] of registry, measures, eligibility; date the
 * last daily run ("" = never). for_update locks the rows (inside a write). */
int eligibility_store_checkpoints(th_call_t *call, bool for_update, int64_t seq[3],
                                  char date[TH_DATE_LEN + 1]);

/* Moves the checkpoints (date NULL = leaves the daily one). */
int eligibility_store_set_checkpoints(th_call_t *call, const int64_t seq[3],
                                      const char *date);

/* The service's own events after `after` (at most limit): topics,
 * resources, their number, the last sequence. */
int eligibility_store_own_events(th_call_t *call, int64_t after, int limit, char ***topics,
                                 char ***resources, size_t *n, int64_t *last);

/* The (programme, district) pairs with a decision: of the districts
 * ags[0..n-1] or of the programmes codes[0..n_codes-1]; every pair when
 * all. By programme, then AGS. */
int eligibility_store_decided(th_call_t *call, char *const *ags, size_t n,
                              char *const *codes, size_t n_codes, bool all,
                              char ***out_codes, char ***out_ags, size_t *n_out);

/* The event filter of ListEvents: programme events for everyone;
 * decision.* and application.* of districts of land (NULL with all true =
 * every Land, NULL with all false = none). */
void eligibility_store_event_filter(bool all, const char *land, th_events_filter_t *out);

#endif /* ELIGIBILITY_STORE_H */
