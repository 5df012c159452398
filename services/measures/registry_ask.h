/* ---------------------------------------------------------------------------
 * registry_ask.h: the two questions the measures service asks the registry.
 *
 * Whether a district exists on a date, and whether a manager is assigned
 * to it on a date, are the registry's truths: the measures service asks
 * them over the broker, as a call between services (issue 7 §2: with the
 * remaining deadline of its own call, under its own key, on behalf of its
 * caller), and never reads the registry's schema (its database role may
 * not). Both questions go out together, before the write's transaction
 * begins, so no lock is held while the registry is asked.
 *
 * NOT WIRED YET: the runtime has no API for calls between services so far
 * (th_call_invoke or the like, being built in another branch). Until it
 * lands, measures_registry_ask answers every question UNAVAILABLE
 * "registry check not wired yet ...": a write that needs the registry is
 * refused, and nothing is written; never a made-up yes. Everything that
 * needs no answer from the registry (reads, and the writes of a ministry
 * that leave the start date alone) works.
 * ---------------------------------------------------------------------------
 */
#ifndef MEASURES_REGISTRY_ASK_H
#define MEASURES_REGISTRY_ASK_H

#include <stdbool.h>

#include "th_call.h"

typedef struct {
    const char *ags;          /* the district (5 digits, checked) */
    const char *field;        /* the request field that named it, for violations */
    /* The date the district must exist on; NULL = not asked. */
    const char *exists_on;
    /* The principal id of a manager whose assignment to ags on assigned_on
     * is asked; NULL = not asked. */
    const char *manager_id;
    const char *assigned_on;
} measures_registry_question_t;

/* Asks what q asks. TH_OK when the district exists on exists_on (when
 * asked), with *assigned the answer about the manager (when asked; false
 * otherwise). Else the status, recorded on the call: INVALID_ARGUMENT
 * naming q->field when no district has that AGS; NOT_FOUND when it does
 * not exist on that date (naming the successor of a district that ended);
 * UNAVAILABLE or DEADLINE_EXCEEDED when the registry could not be asked,
 * never INTERNAL. */
int measures_registry_ask(th_call_t *call, const measures_registry_question_t *q,
                          bool *assigned);

#endif /* MEASURES_REGISTRY_ASK_H */
