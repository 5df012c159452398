/* ---------------------------------------------------------------------------
 * store.h: every SQL statement of the measures service, in one place.
 *
 * The handlers validate and authorize; the store reads and writes the
 * measures schema with parameterized statements only. Its columns are named
 * after the fields of the messages they fill (th_row.h maps them).
 * Functions that build messages for a reply take the call and allocate from
 * its memory (th_call_alloc), so nothing they return needs freeing.
 *
 * Files: store.c (what they share, the event filter), store_measures.c.
 *
 * Returns: 0; TH_ENOTFOUND when the row does not exist; TH_ESTATE when a
 * conditional write found the row changed (stale version); TH_EDB when the
 * database failed (th_db_status then says how).
 * ---------------------------------------------------------------------------
 */
#ifndef MEASURES_STORE_H
#define MEASURES_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "teilhabe/v1/measures.pb-c.h"
#include "th_call.h"
#include "th_events.h"

typedef Teilhabe__Measures__V1__Measure measure_t;

/* --- measures ----------------------------------------------------------- */

/* Inserts m (status planned, version 1) as created by `by`. */
int measures_store_create(th_call_t *call, const measure_t *m, const char *by,
                          measure_t **out);

/* The measure id; for_update locks its row. TH_ENOTFOUND when unknown. */
int measures_store_get(th_call_t *call, const char *id, bool for_update, measure_t **out);

typedef struct {
    const char *ags;          /* NULL = any */
    const char *state_code;   /* NULL = any */
    const char *field;        /* token; NULL = any */
    const char *target_group; /* token; NULL = any */
    const char *status;       /* token; NULL = any */
    const char *after_ags;    /* the page key (ags, id); NULL = from the start */
    const char *after_id;
    int limit;
} measures_filter_t;

/* The measures that pass filter, by ags and id. */
int measures_store_list(th_call_t *call, const measures_filter_t *filter, measure_t ***out,
                        size_t *n);

/* Writes every writable field of m when the stored version is version.
 * TH_ESTATE when it is not (a concurrent writer won). */
int measures_store_update(th_call_t *call, const measure_t *m, int64_t version,
                          const char *by, measure_t **out);

/* Sets the status (token) when the stored version is version. TH_ESTATE
 * when it is not. */
int measures_store_set_status(th_call_t *call, const char *id, int64_t version,
                              const char *status, const char *by, measure_t **out);

/* Deletes the measure when it is at version and still planned. TH_ESTATE
 * when it is not. */
int measures_store_delete(th_call_t *call, const char *id, int64_t version);

/* --- events ------------------------------------------------------------- */

/* The condition ListEvents reads the outbox with (th_events.h): events
 * about the catalogue (resource "indicators/...") for everyone; events
 * about a district's measures (topic measure.*, resource
 * "districts/<ags>/...") of every Land when records_all, else of
 * records_land (NULL = none); events about its indicator values (topic
 * values.*) likewise with aggregates_all and aggregates_land. */
void measures_store_event_filter(bool records_all, const char *records_land,
                                 bool aggregates_all, const char *aggregates_land,
                                 th_events_filter_t *out);

#endif /* MEASURES_STORE_H */
