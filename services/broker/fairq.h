/* ---------------------------------------------------------------------------
 * fairq.h: a fair queue: FIFO per lane, round-robin between lanes.
 *
 * The broker keeps the calls waiting for a service in one of these, with a
 * lane per principal: a principal that floods a service fills only its own
 * lane, and the next free worker takes the oldest call of the lane whose
 * turn it is, so every principal with calls waiting gets an equal share of
 * the workers, however many calls (or connections) the others have. A lane
 * exists while it has items; an emptied lane loses its place in the turn
 * order, and a lane that gets a new item joins at the back.
 *
 * Items are borrowed pointers; the queue never frees them.
 * ---------------------------------------------------------------------------
 */
#ifndef TH_FAIRQ_H
#define TH_FAIRQ_H

#include <stddef.h>

typedef struct fairq_t fairq_t;

/* NULL when out of memory. */
fairq_t *fairq_new(void);

/* Accepts NULL; sets *self_p to NULL. The items are not freed. */
void fairq_destroy(fairq_t **self_p);

/* Appends item (not NULL) to the lane named lane (copied). Returns a
 * handle for fairq_remove, NULL when out of memory (nothing changed). */
void *fairq_push(fairq_t *self, const char *lane, void *item);

/* The item fairq_pop would return, or NULL when the queue is empty. */
void *fairq_peek(fairq_t *self);

/* Takes the oldest item of the lane whose turn it is; that lane goes to
 * the back of the turn order. NULL when empty. */
void *fairq_pop(fairq_t *self);

/* Takes the item of handle out, wherever it is. */
void fairq_remove(fairq_t *self, void *handle);

/* Items waiting, in all lanes / in one lane (0 for a lane not there). */
size_t fairq_size(const fairq_t *self);
size_t fairq_lane_size(const fairq_t *self, const char *lane);

/* Lanes with items waiting. */
size_t fairq_lanes(const fairq_t *self);

/* Iterates over every item, lane by lane (not in pop order); NULL at the
 * end. The queue must not change during an iteration. */
void *fairq_first(fairq_t *self);
void *fairq_next(fairq_t *self);

#endif /* TH_FAIRQ_H */
