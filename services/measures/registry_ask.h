/* ---------------------------------------------------------------------------
 * registry_ask.h: the two questions the measures service asks the registry.
 *
 * Whether a district exists on a date, and whether a manager is assigned
 * to it on a date, are the registry's truths: the measures service asks
 * them over the broker, as a call between services (issue 7 §2: with the
 * remaining deadline of its own call, under its own key, on behalf of its
 * caller), and never reads the registry's schema (its database role may
 * not). Both are asked before the write's transaction begins, so no lock
 * is held while the registry answers.
 *
 * Both go out as calls between services (th_call_invoke): with what is
 * left of the caller's deadline, under the service's own key
 * (`measures-client`, role service), on behalf of the caller, whose
 * principal id the registry writes into any audit row.
 * ---------------------------------------------------------------------------
 */
#ifndef MEASURES_REGISTRY_ASK_H
#define MEASURES_REGISTRY_ASK_H

#include <stdbool.h>

#include "th_call.h"

typedef struct {
    const char *ags;   /* the district (5 digits, checked) */
    const char *field; /* the request field that named it, for violations */
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
