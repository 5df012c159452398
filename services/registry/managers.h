/* ---------------------------------------------------------------------------
 * managers.h: the integration manager methods of the Registry, and the one
 * read rule for manager records that every read of them asks (GetManager,
 * ListManagers, ListEvents).
 *
 * Names and contacts of integration managers are personal data: the manager
 * itself, the ministry of its Land and the admin see them; analysts read
 * aggregates only, so no manager record at all; events carry ids, not
 * contacts. docs/registry.md ("Who reads what") has the table.
 * ---------------------------------------------------------------------------
 */
#ifndef REGISTRY_MANAGERS_H
#define REGISTRY_MANAGERS_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>

#include "store.h"
#include "th_wire.h"
#include "th_worker.h"

/* What a caller may read of a manager record. */
typedef enum {
    REGISTRY_MANAGER_DENIED = 0,   /* nothing: PERMISSION_DENIED */
    REGISTRY_MANAGER_WITHHELD = 1, /* the record without name, email, phone, principal_id */
    REGISTRY_MANAGER_FULL = 2,     /* the whole record */
} registry_manager_read_t;

/* False when p may read no manager record whatever its Land (unauthenticated,
 * or an analyst): the part of the rule that needs no data, so handlers ask
 * it before they read anything. */
bool registry_managers_readable(const th_principal_t *p);

/* What p may read of the manager records of Land state_code (NULL = of
 * every Land, as a list without a Land asks) that are linked to the
 * principal principal_id (NULL or "" = not about one record: a list, whose
 * own record the caller may still see whole). The read rule, in one place:
 *   not readable (above)                     DENIED
 *   admin                                    FULL
 *   the manager itself (principal_id = p)    FULL
 *   ministry of the Land                     FULL      (other Land: DENIED)
 *   manager of the Land                      WITHHELD  (other Land: DENIED)
 *   service without a Land, or of the Land   WITHHELD  (other Land: DENIED)
 *   anything else                            DENIED */
registry_manager_read_t registry_managers_read(const th_principal_t *p,
                                               const char *state_code,
                                               const char *principal_id);

/* Clears name, email, phone and principal_id of m (call memory or borrowed
 * strings: the pointers are replaced, nothing is freed) and sets
 * personal_data_withheld. */
void registry_managers_withhold(registry_manager_t *m);

/* The handlers (th_method_fn). */
int registry_managers_create(th_call_t *call, const ProtobufCMessage *request,
                             ProtobufCMessage **response);
int registry_managers_update(th_call_t *call, const ProtobufCMessage *request,
                             ProtobufCMessage **response);
int registry_managers_get(th_call_t *call, const ProtobufCMessage *request,
                          ProtobufCMessage **response);
int registry_managers_assign(th_call_t *call, const ProtobufCMessage *request,
                             ProtobufCMessage **response);
int registry_managers_unassign(th_call_t *call, const ProtobufCMessage *request,
                               ProtobufCMessage **response);
int registry_managers_list(th_call_t *call, const ProtobufCMessage *request,
                           ProtobufCMessage **response);

#endif /* REGISTRY_MANAGERS_H */
