/* ---------------------------------------------------------------------------
 * territory.h: one immutable snapshot of the territorial data: the Länder,
 * every district with each of its dated figures, the territorial changes,
 * and the territory version they were read at.
 *
 * Built once from the rows the store read in one database snapshot
 * (registry_store_territory_load), then only read, by any number of threads
 * at once, without a lock: nothing in it changes until the last reference
 * is gone. The cache (cache.h) swaps in a new one when the territory
 * changed. The lookups answer exactly what the store's statements answer
 * (store_districts.c): the same "as of" rules, filters, order and limits.
 * They return messages borrowed from the snapshot, valid while the caller
 * holds its reference; reads.c copies them into the call's memory.
 * ---------------------------------------------------------------------------
 */
#ifndef REGISTRY_TERRITORY_H
#define REGISTRY_TERRITORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

typedef struct registry_territory_t registry_territory_t;

/* A snapshot of rows, which it takes over (rows is emptied, also on
 * failure). Its one reference belongs to the caller. NULL when out of
 * memory or a row does not fit (errbuf says which). */
registry_territory_t *registry_territory_new(registry_territory_rows_t *rows, char *errbuf,
                                             size_t errlen);

/* Another reference to self (for another holder). */
const registry_territory_t *registry_territory_ref(const registry_territory_t *self);

/* Drops the reference in *self_p and sets it to NULL; the last one frees
 * the snapshot. Accepts NULL. Safe from any thread. */
void registry_territory_unref(const registry_territory_t **self_p);

/* The territory version these rows were read at. */
int64_t registry_territory_version(const registry_territory_t *self);

size_t registry_territory_district_count(const registry_territory_t *self);

/* The district ags with its figures of as_of (NULL = its latest), as
 * registry_store_get_district: those valid then, for a district that ended
 * before as_of its last, for one that began after it its first. NULL when
 * no district has that AGS. */
const registry_district_t *registry_territory_district(const registry_territory_t *self,
                                                       const char *ags, const char *as_of);

/* Districts existing on filter->as_of with their figures of that day, by
 * AGS, after filter->after_ags, at most filter->limit into out (room for
 * filter->limit); returns how many. *total counts every match, as if no
 * page token. kind and settlement_type are the enum tokens of the filter
 * ("landkreis"); an unknown token matches nothing. */
size_t registry_territory_list(const registry_territory_t *self,
                               const registry_district_filter_t *filter,
                               const registry_district_t **out, int *total);

/* As registry_store_search_districts: districts whose folded name contains
 * key, or whose AGS starts with it; existing on as_of unless
 * include_ended; names that start with key first, then by AGS; at most
 * limit into out. Returns how many. */
size_t registry_territory_search(const registry_territory_t *self, const char *key,
                                 const char *as_of, bool include_ended, int limit,
                                 const registry_district_t **out);

/* Every Land, by code, with its districts on as_of (count, population and
 * the oldest reference date, "" when it has none) into out, room for
 * registry_territory_state_count. Strings are borrowed. Returns how many. */
size_t registry_territory_states(const registry_territory_t *self, const char *as_of,
                                 registry_state_t *out);
size_t registry_territory_state_count(const registry_territory_t *self);
bool registry_territory_state_exists(const registry_territory_t *self, const char *code);

/* Changes where ags ended or that merged into ags, by effective date and
 * id, into out (room for registry_territory_change_count). Returns how
 * many. */
size_t registry_territory_changes(const registry_territory_t *self, const char *ags,
                                  const registry_change_t **out);
size_t registry_territory_change_count(const registry_territory_t *self);

#endif /* REGISTRY_TERRITORY_H */
