/* ---------------------------------------------------------------------------
 * measures.h: what the handler files of the Measures service share: its
 * limits, the check of who may write for a district (asking the registry
 * what only it knows), the audit-and-event record of a write, and every
 * method's handler.
 *
 * Everything else a handler needs is the service kit in common/: the field
 * checks (th_field.h), the answers (th_answer.h), the rights and read rules
 * (th_auth.h), paging (th_page.h), ListEvents (th_events.h), the write
 * transaction (th_call.h).
 *
 * Order inside a handler (as in the registry): who is calling
 * (UNAUTHENTICATED / PERMISSION_DENIED for rights that need no data), what
 * was asked (INVALID_ARGUMENT), then the data (NOT_FOUND, rights that
 * depend on the data, FAILED_PRECONDITION). A write asks the registry and
 * checks the rights on an unlocked read before its transaction begins, so
 * a caller without the right never takes a lock and no lock is held while
 * another service is asked; inside the transaction it locks the row and
 * checks the version again.
 *
 * One file per resource: measures.c (create, get, list), measures_write.c
 * (update, transition, delete), indicators.c (the catalogue and its
 * starter set), values.c (indicator values), import.c (ImportValues),
 * assessment.c, reach.c, submissions.c (per-period records and the
 * approval; periods.c what they share), events.c (ListEvents), checks.c
 * (what they all share); main.c holds the table of every method.
 * ---------------------------------------------------------------------------
 */
#ifndef MEASURES_H
#define MEASURES_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>

#include "store.h"
#include "th_call.h"
#include "th_date.h"
#include "th_worker.h"

/* The schema of the service's outbox (a fixed identifier, never input). */
#define MEASURES_SCHEMA "measures"

/* Limits (measures.proto, docs/measures.md). */
#define MEASURES_TITLE_MAX 200
#define MEASURES_DESCRIPTION_MAX 10000
#define MEASURES_MUNICIPALITY_MAX 200
#define MEASURES_GROUP_NAME_MAX 100
#define MEASURES_FUNDING_MAX 200
#define MEASURES_PAGE_DEFAULT 100
#define MEASURES_PAGE_MAX 500
/* Values in one PutValues, and the most one page of ListValues holds. */
#define MEASURES_VALUES_MAX 1000
/* A comment of a self-assessment answer, a reason of a return or a
 * reopening (characters); the most participants one reach figure counts;
 * the most figures one ListReach answers. */
#define MEASURES_COMMENT_MAX 2000
#define MEASURES_REACH_MAX 1000000000
#define MEASURES_REACH_LIST_MAX 5000

/* --- checks ---------------------------------------------------------------- */

/* A measure id (a UUID as the service makes them); INVALID_ARGUMENT naming
 * field otherwise. */
int measures_check_id(th_call_t *call, const char *field, const char *id);

/* PERMISSION_DENIED unless the caller's role may write measures at all
 * (ministry or manager): the part of the right that needs no data. */
int measures_need_writer(th_call_t *call, const char *right);

/* The right to write for district ags (field names it in the request),
 * and, when exists_on is not NULL, that the district exists on that date.
 * The ministry of the district's Land may; a manager of that Land may when
 * its key's district scope names ags or the registry says it is assigned
 * to ags today. What only the registry knows is asked of it over the
 * broker (registry_ask.h): UNAVAILABLE when it cannot be asked. TH_OK, or the
 * status recorded on the call. */
int measures_check_write(th_call_t *call, const char *field, const char *ags,
                         const char *exists_on, const char *right);

/* periods.c: ags (when ags_field is not NULL) and period of a per-period
 * record, checked, with the period's first and last day. */
int measures_check_period(th_call_t *call, const char *ags_field, const char *ags,
                          const char *period_field, const char *period,
                          char first[TH_DATE_LEN + 1], char last[TH_DATE_LEN + 1]);

/* periods.c: PERMISSION_DENIED naming what ("the self-assessment") unless
 * the caller reads district ags's records (th_auth_reads_records) or, with
 * records false, its aggregates (th_auth_reads_aggregates). */
int measures_need_reader(th_call_t *call, const char *ags, bool records, const char *what);

/* periods.c: inside a write, locks the submissions of district ags[i]
 * overlapping first[i] to last[i] (i < n) and answers FAILED_PRECONDITION
 * naming who approved which period when one of them is approved. */
int measures_check_unlocked(th_call_t *call, char *const *ags, char *const *first,
                            char *const *last, size_t n);

/* periods.c: TH_OK for NULL, else FAILED_PRECONDITION saying that
 * approved locks the figures, who approved it and when. */
int measures_locked_answer(th_call_t *call, const submission_t *approved);

/* Writes go the kit's way (th_call.h): TH_CALL_BEGIN_WRITE, then
 * th_call_record for the audit row and the event in measures.events. */

/* --- the handlers (th_method_fn) ------------------------------------------ */

#define MEASURES_HANDLER(name)                                                             \
    int name(th_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **response)

/* measures.c */
MEASURES_HANDLER(measures_create);
MEASURES_HANDLER(measures_get);
MEASURES_HANDLER(measures_list);
/* measures_write.c */
MEASURES_HANDLER(measures_update);
MEASURES_HANDLER(measures_transition);
MEASURES_HANDLER(measures_delete);
/* indicators.c */
MEASURES_HANDLER(measures_indicators_list);
MEASURES_HANDLER(measures_indicators_get);
MEASURES_HANDLER(measures_indicators_create);
/* values.c */
MEASURES_HANDLER(measures_values_put);
MEASURES_HANDLER(measures_values_list);
/* import.c */
MEASURES_HANDLER(measures_values_import);
/* assessment.c */
MEASURES_HANDLER(measures_assessment_questions);
MEASURES_HANDLER(measures_assessment_set);
MEASURES_HANDLER(measures_assessment_get);
/* reach.c */
MEASURES_HANDLER(measures_reach_set);
MEASURES_HANDLER(measures_reach_list);
/* submissions.c */
MEASURES_HANDLER(measures_submission_submit);
MEASURES_HANDLER(measures_submission_approve);
MEASURES_HANDLER(measures_submission_return);
MEASURES_HANDLER(measures_submission_reopen);
MEASURES_HANDLER(measures_submission_get);
MEASURES_HANDLER(measures_submission_list);
/* events.c */
MEASURES_HANDLER(measures_events_list);

/* measures.c: checks every field of m a client writes (INVALID_ARGUMENT
 * naming "measure.<field>"). */
int measures_check_measure(th_call_t *call, const measure_t *m);

/* measures.c: the resource name of a measure ("districts/16068/measures/<id>"). */
const char *measures_resource(th_call_t *call, const measure_t *m);

/* indicators.c: an indicator code: [a-z][a-z0-9_]{1,63}. */
bool measures_indicator_code_valid(const char *code);

/* indicators.c: NULL when ind is a valid indicator of the catalogue, else
 * why not (a phrase for a message) with *field the field at fault ("code",
 * "factor", ...). One check for CreateIndicator and the starter set. */
const char *measures_indicator_problem(const indicator_t *ind, const char **field);

/* values.c: the checks of one value that need nothing stored (district,
 * indicator code, period, disaggregation, counts, source, note), one rule
 * for PutValues and ImportValues. NULL when v passes, with the first and
 * last day of its period in first / last; else why not (written to why,
 * len bytes, and returned) with *field the field at fault ("period"). */
const char *measures_value_problem(const value_t *v, const char **field, char *why,
                                   size_t len, char first[TH_DATE_LEN + 1],
                                   char last[TH_DATE_LEN + 1]);

/* values.c: the checks of v against its indicator ind: a disaggregation it
 * has, a denominator above 0 for a rate and 0 for a plain count. NULL, or
 * why not as measures_value_problem says it. */
const char *measures_value_against(const value_t *v, const indicator_t *ind,
                                   const char **field, char *why, size_t len);

/* indicators.c: loads the starter set from the file path (indicators.csv)
 * on db, the owner's connection at start-up: every row checked first (a
 * bad file changes nothing, errbuf names its line), then in one
 * transaction each indicator not yet in the catalogue inserted with its
 * audit row and its indicator.created event, as principal "seed".
 * *inserted: how many. 0 or a negative error. */
int measures_seed_indicators(th_db_t *db, const char *path, int *inserted, char *errbuf,
                             size_t errlen);

#endif /* MEASURES_H */
