/* ---------------------------------------------------------------------------
 * store.h: every SQL statement of the measures service, in one place.
 *
 * The handlers validate and authorize; the store reads and writes the
 * measures schema with parameterized statements only. Its columns are named
 * after the fields of the messages they fill (th_row.h maps them).
 * Functions that build messages for a reply take the call and allocate from
 * its memory (th_call_alloc), so nothing they return needs freeing.
 *
 * Files: store.c (what they share, the event filter).
 *
 * Returns: 0; TH_ENOTFOUND when the row does not exist; TH_ESTATE when a
 * conditional write found the row changed (stale version); TH_EDB when the
 * database failed (th_db_status then says how).
 * ---------------------------------------------------------------------------
 */
#ifndef MEASURES_STORE_H
#define MEASURES_STORE_H

#include <stdbool.h>

#include "th_events.h"

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
