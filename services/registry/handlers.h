/* ---------------------------------------------------------------------------
 * handlers.h: the methods of teilhabe.registry.v1.Registry.
 *
 * Every handler authenticates and authorizes the caller first, validates the
 * request (INVALID_ARGUMENT with a field violation per bad field), then
 * calls the store. Writes run in the call's write transaction together with
 * their audit row, outbox event and idempotency record (th_call_begin_write).
 * ---------------------------------------------------------------------------
 */
#ifndef REGISTRY_HANDLERS_H
#define REGISTRY_HANDLERS_H

#include <protobuf-c/protobuf-c.h>

#include "th_worker.h"

/* Read-only state shared by the handler threads (th_call_state). */
typedef struct {
    /* The oldest date the registry can answer for ("2018-12-31"), read once
     * at start-up after seeding; "" = not known then (empty database), so
     * every as_of check asks the database. */
    char earliest[11];
} registry_handlers_state_t;

/* Fills out (desc->n_methods entries) with the handler of each method of
 * desc, matched by name. 0, or TH_EINVAL when a method has no handler (the
 * .proto and this file disagree). */
int registry_handlers_fill(const ProtobufCServiceDescriptor *desc, th_method_fn *out);

#endif /* REGISTRY_HANDLERS_H */
