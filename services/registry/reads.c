/* ---------------------------------------------------------------------------
 * reads.c: the territorial reads every handler makes (registry.h): from the
 * cache's snapshot when it can vouch for it, else from the database
 *
 * What comes from the snapshot is copied into the call's memory, each
 * answer in one allocation, and the reference is dropped before the
 * handler returns: the reply never points into a snapshot, so a snapshot
 * lives no longer than a lookup, whatever the runtime does with the reply
 * afterwards. Both ways answer alike (territory.h repeats the store's
 * rules; tests/integration/test_registry_cache.c compares them).
 * ---------------------------------------------------------------------------
 */
#include "registry.h"

#include <assert.h>
#include <string.h>

#include "cache.h"
#include "th_error.h"

/* The snapshot for this call, or NULL: read the database. */
static const registry_territory_t *
s_snapshot(th_call_t *call)
{
    const registry_handlers_state_t *state = th_call_state(call);
    return state != NULL ? registry_cache_acquire(state->cache) : NULL;
}

/* The size of the strings of a flat message (no repeated and no message
 * fields: District, State, TerritorialChange), each with its NUL. */
static size_t
s_strings_size(const ProtobufCMessage *msg)
{
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    size_t size = 0;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        assert(f->label != PROTOBUF_C_LABEL_REPEATED && f->type != PROTOBUF_C_TYPE_MESSAGE);
        if (f->type != PROTOBUF_C_TYPE_STRING)
            continue;
        const char *s;
        memcpy(&s, (const char *) msg + f->offset, sizeof s);
        size += (s != NULL ? strlen(s) : 0) + 1;
    }
    return size;
}

/* Copies the flat messages src[0..n) into one allocation of call memory:
 * the array of n pointers, then the n messages (each struct as aligned as
 * the array before it), then their strings. NULL when n is 0. */
static void **
s_copy(th_call_t *call, const ProtobufCMessage *const *src, size_t n)
{
    if (n == 0)
        return NULL;
    const ProtobufCMessageDescriptor *desc = src[0]->descriptor;
    const size_t message_size = desc->sizeof_message;
    size_t size = n * (sizeof(void *) + message_size);
    for (size_t i = 0; i < n; i++)
        size += s_strings_size(src[i]);
    void **list = th_call_alloc(call, size);
    char *messages = (char *) (list + n);
    char *p = messages + n * message_size;
    for (size_t i = 0; i < n; i++) {
        ProtobufCMessage *msg = (ProtobufCMessage *) (messages + i * message_size);
        memcpy(msg, src[i], message_size);
        for (unsigned k = 0; k < desc->n_fields; k++) {
            const ProtobufCFieldDescriptor *f = &desc->fields[k];
            if (f->type != PROTOBUF_C_TYPE_STRING)
                continue;
            const char *s;
            memcpy(&s, (const char *) src[i] + f->offset, sizeof s);
            const size_t len = s != NULL ? strlen(s) : 0;
            memcpy(p, s != NULL ? s : "", len + 1);
            memcpy((char *) msg + f->offset, &p, sizeof p);
            p += len + 1;
        }
        list[i] = msg;
    }
    return list;
}

int
registry_read_district(th_call_t *call, const char *ags, const char *as_of,
                       registry_district_t **out)
{
    const registry_territory_t *t = s_snapshot(call);
    if (t == NULL)
        return registry_store_get_district(call, ags, as_of, out);
    const registry_district_t *d = registry_territory_district(t, ags, as_of);
    if (d != NULL)
        *out = s_copy(call, (const ProtobufCMessage *const[]){&d->base}, 1)[0];
    registry_territory_unref(&t);
    return d != NULL ? 0 : TH_ENOTFOUND;
}

int
registry_read_districts(th_call_t *call, const registry_district_filter_t *filter,
                        registry_district_t ***out, size_t *n, int *total)
{
    const registry_territory_t *t = s_snapshot(call);
    if (t == NULL)
        return registry_store_list_districts(call, filter, out, n, total);
    const size_t room = filter->limit > 0 ? (size_t) filter->limit : 1;
    const registry_district_t **found = th_call_alloc(call, room * sizeof *found);
    *n = registry_territory_list(t, filter, found, total);
    *out =
        (registry_district_t **) s_copy(call, (const ProtobufCMessage *const *) found, *n);
    registry_territory_unref(&t);
    return 0;
}

int
registry_read_search(th_call_t *call, const char *key, const char *as_of,
                     bool include_ended, int limit, registry_district_t ***out, size_t *n)
{
    const registry_territory_t *t = s_snapshot(call);
    if (t == NULL)
        return registry_store_search_districts(call, key, as_of, include_ended, limit, out,
                                               n);
    const registry_district_t **found =
        th_call_alloc(call, (limit > 0 ? (size_t) limit : 1) * sizeof *found);
    *n = registry_territory_search(t, key, as_of, include_ended, limit, found);
    *out =
        (registry_district_t **) s_copy(call, (const ProtobufCMessage *const *) found, *n);
    registry_territory_unref(&t);
    return 0;
}

int
registry_read_states(th_call_t *call, const char *as_of, registry_state_t ***out, size_t *n)
{
    const registry_territory_t *t = s_snapshot(call);
    if (t == NULL)
        return registry_store_list_states(call, as_of, out, n);
    const size_t count = registry_territory_state_count(t);
    registry_state_t *states = th_call_alloc(call, (count + 1) * sizeof *states);
    const registry_state_t **list = th_call_alloc(call, (count + 1) * sizeof *list);
    *n = registry_territory_states(t, as_of, states);
    for (size_t i = 0; i < *n; i++)
        list[i] = &states[i];
    *out = (registry_state_t **) s_copy(call, (const ProtobufCMessage *const *) list, *n);
    registry_territory_unref(&t);
    return 0;
}

int
registry_read_state_exists(th_call_t *call, const char *code, bool *exists)
{
    const registry_territory_t *t = s_snapshot(call);
    if (t == NULL)
        return registry_store_state_exists(call, code, exists);
    *exists = registry_territory_state_exists(t, code);
    registry_territory_unref(&t);
    return 0;
}

int
registry_read_changes(th_call_t *call, const char *ags, registry_change_t ***out, size_t *n)
{
    const registry_territory_t *t = s_snapshot(call);
    if (t == NULL)
        return registry_store_list_changes(call, ags, out, n);
    const size_t count = registry_territory_change_count(t);
    const registry_change_t **found = th_call_alloc(call, (count + 1) * sizeof *found);
    *n = registry_territory_changes(t, ags, found);
    *out = (registry_change_t **) s_copy(call, (const ProtobufCMessage *const *) found, *n);
    registry_territory_unref(&t);
    return 0;
}
