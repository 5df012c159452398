/* ---------------------------------------------------------------------------
 * fairq.c: FIFO per lane, round-robin between lanes
 *
 * A lane is a zlistx of nodes; the turn order is a zlistx of the lanes
 * with items. A node remembers its lane, so an item can be removed by its
 * handle (the node's place in its lane) without a search. All operations
 * but fairq_lane_size's hash lookup are O(1).
 * ---------------------------------------------------------------------------
 */
#include "fairq.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

typedef struct s_lane_t s_lane_t;

typedef struct {
    s_lane_t *lane;
    void *item;
} s_node_t;

struct s_lane_t {
    char *name;
    zlistx_t *nodes; /* s_node_t *, oldest first (owned, freed by hand) */
    void *turn;      /* handle in fairq->turns */
};

struct fairq_t {
    zhashx_t *lanes; /* name -> s_lane_t * (not owned: freed by hand) */
    zlistx_t *turns; /* s_lane_t * with items, whose turn comes first first */
    size_t size;
    s_lane_t *cursor_lane; /* iteration */
};

fairq_t *
fairq_new(void)
{
    fairq_t *self = calloc(1, sizeof *self);
    if (self == NULL)
        return NULL;
    self->lanes = zhashx_new();
    self->turns = zlistx_new();
    if (self->lanes == NULL || self->turns == NULL)
        fairq_destroy(&self);
    return self;
}

static void
s_lane_free(s_lane_t *lane)
{
    for (s_node_t *node = zlistx_first(lane->nodes); node != NULL;
         node = zlistx_next(lane->nodes))
        free(node);
    zlistx_destroy(&lane->nodes);
    free(lane->name);
    free(lane);
}

void
fairq_destroy(fairq_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    fairq_t *self = *self_p;
    if (self->turns != NULL)
        for (s_lane_t *lane = zlistx_first(self->turns); lane != NULL;
             lane = zlistx_next(self->turns))
            s_lane_free(lane);
    zlistx_destroy(&self->turns);
    zhashx_destroy(&self->lanes);
    free(self);
    *self_p = NULL;
}

/* Drops an emptied lane: out of the turn order and the table. */
static void
s_lane_drop(fairq_t *self, s_lane_t *lane)
{
    zlistx_delete(self->turns, lane->turn);
    zhashx_delete(self->lanes, lane->name);
    s_lane_free(lane);
}

void *
fairq_push(fairq_t *self, const char *name, void *item)
{
    s_lane_t *lane = zhashx_lookup(self->lanes, name);
    bool created = false;
    if (lane == NULL) {
        lane = calloc(1, sizeof *lane);
        if (lane == NULL)
            return NULL;
        lane->name = strdup(name);
        lane->nodes = zlistx_new();
        if (lane->name == NULL || lane->nodes == NULL ||
            (lane->turn = zlistx_add_end(self->turns, lane)) == NULL) {
            s_lane_free(lane);
            return NULL;
        }
        if (zhashx_insert(self->lanes, name, lane) != 0) {
            zlistx_delete(self->turns, lane->turn);
            s_lane_free(lane);
            return NULL;
        }
        created = true;
    }
    s_node_t *node = calloc(1, sizeof *node);
    void *handle = node != NULL ? zlistx_add_end(lane->nodes, node) : NULL;
    if (handle == NULL) {
        free(node);
        if (created)
            s_lane_drop(self, lane);
        return NULL;
    }
    node->lane = lane;
    node->item = item;
    self->size++;
    return handle;
}

void *
fairq_peek(fairq_t *self)
{
    s_lane_t *lane = zlistx_first(self->turns);
    if (lane == NULL)
        return NULL;
    s_node_t *node = zlistx_first(lane->nodes);
    return node != NULL ? node->item : NULL;
}

void *
fairq_pop(fairq_t *self)
{
    s_lane_t *lane = zlistx_first(self->turns);
    if (lane == NULL)
        return NULL;
    s_node_t *node = zlistx_first(lane->nodes);
    if (node == NULL)
        return NULL; /* cannot happen: empty lanes are dropped */
    void *item = node->item;
    /* The lane had its turn: to the back, unless this was its last item
     * (then fairq_remove drops it). */
    if (zlistx_size(lane->nodes) > 1)
        zlistx_move_end(self->turns, lane->turn);
    fairq_remove(self, zlistx_cursor(lane->nodes));
    return item;
}

void
fairq_remove(fairq_t *self, void *handle)
{
    if (handle == NULL)
        return;
    s_node_t *node = zlistx_handle_item(handle);
    s_lane_t *lane = node->lane;
    zlistx_delete(lane->nodes, handle);
    free(node);
    self->size--;
    if (zlistx_size(lane->nodes) == 0)
        s_lane_drop(self, lane);
}

size_t
fairq_size(const fairq_t *self)
{
    return self->size;
}

size_t
fairq_lane_size(const fairq_t *self, const char *name)
{
    const s_lane_t *lane = zhashx_lookup(self->lanes, name);
    return lane != NULL ? zlistx_size(lane->nodes) : 0;
}

size_t
fairq_lanes(const fairq_t *self)
{
    return zlistx_size(self->turns);
}

void *
fairq_first(fairq_t *self)
{
    for (self->cursor_lane = zlistx_first(self->turns); self->cursor_lane != NULL;
         self->cursor_lane = zlistx_next(self->turns)) {
        s_node_t *node = zlistx_first(self->cursor_lane->nodes);
        if (node != NULL)
            return node->item;
    }
    return NULL;
}

void *
fairq_next(fairq_t *self)
{
    if (self->cursor_lane == NULL)
        return NULL;
    s_node_t *node = zlistx_next(self->cursor_lane->nodes);
    while (node == NULL) {
        self->cursor_lane = zlistx_next(self->turns);
        if (self->cursor_lane == NULL)
            return NULL;
        node = zlistx_first(self->cursor_lane->nodes);
    }
    return node->item;
}
