/* ---------------------------------------------------------------------------
 * store_principals.c: the SQL of principals (who may call teilhabe; the
 * broker reads registry.principals itself)
 * ---------------------------------------------------------------------------
 */
/* The SQL is laid out by hand (string pieces joined with column macros),
 * which clang-format would break apart. */
/* clang-format off */
#include "store.h"

#include "store_int.h"

#include <stdio.h>
#include <string.h>

#include "th_error.h"
#include "th_row.h"

/* Named after the fields of Principal (th_row). */
#define S_PRINCIPAL_COLUMNS                                                                    \
    "p.id, p.name, p.role, p.state_scope, p.district_scope, p.public_key, "                    \
    S_TS("p.created_at") " AS create_time, " S_TS("p.revoked_at") " AS revoke_time"

int
registry_store_principal_conflict(th_call_t *call, const char *id, const char *public_key,
                                  const char **conflict)
{
    const char *params[] = {id, public_key};
    PGresult *r = th_row_exec(call,
                         "SELECT CASE WHEN id = $1 THEN 'id' ELSE 'public_key' END "
                         "FROM registry.principals WHERE id = $1 OR public_key = $2 "
                         "ORDER BY id = $1 DESC LIMIT 1",
                         2, params);
    if (r == NULL)
        return TH_EDB;
    *conflict = NULL;
    if (PQntuples(r) == 1)
        *conflict = strcmp(PQgetvalue(r, 0, 0), "id") == 0 ? "id" : "public_key";
    PQclear(r);
    return 0;
}

int
registry_store_create_principal(th_call_t *call, const registry_principal_t *p,
                                registry_principal_t **out)
{
    const char *scope = th_row_array_literal(call, p->district_scope, p->n_district_scope);
    const char *params[] = {p->id, p->name, p->role, p->state_scope, scope, p->public_key};
    PGresult *r = th_row_exec(call,
                         "INSERT INTO registry.principals AS p (id, name, role, state_scope, "
                         "district_scope, public_key) VALUES ($1, $2, $3, $4, $5::text[], $6) "
                         "RETURNING " S_PRINCIPAL_COLUMNS,
                         6, params);
    if (r == NULL)
        return TH_EDB;
    *out = th_row_new(call, &teilhabe__registry__v1__principal__descriptor, r, 0);
    PQclear(r);
    return 0;
}

int
registry_store_get_principal(th_call_t *call, const char *id, registry_principal_t **out)
{
    const char *params[] = {id};
    PGresult *r = th_row_exec(call,
                         "SELECT " S_PRINCIPAL_COLUMNS " FROM registry.principals p WHERE p.id = $1",
                         1, params);
    return th_row_take_one(call, &teilhabe__registry__v1__principal__descriptor, r, TH_ENOTFOUND,
                           (void **) out);
}

int
registry_store_list_principals(th_call_t *call, bool include_revoked, const char *role,
                               const char *after_id, int limit, registry_principal_t ***out,
                               size_t *n)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit);
    const char *params[] = {include_revoked ? "true" : "false", role, after_id, lim};
    PGresult *r = th_row_exec(call,
                         "SELECT " S_PRINCIPAL_COLUMNS " FROM registry.principals p "
                         "WHERE ($1::boolean OR p.revoked_at IS NULL) "
                         "AND ($2::text IS NULL OR p.role = $2) "
                         "AND ($3::text IS NULL OR p.id > $3) ORDER BY p.id LIMIT $4::int",
                         4, params);
    return th_row_take_all(call, &teilhabe__registry__v1__principal__descriptor,
                           r, (void ***) out, n);
}

int
registry_store_revoke_principal(th_call_t *call, const char *id, registry_principal_t **out)
{
    const char *params[] = {id};
    PGresult *r = th_row_exec(call,
                         "UPDATE registry.principals AS p SET revoked_at = now() "
                         "WHERE p.id = $1 AND p.revoked_at IS NULL RETURNING " S_PRINCIPAL_COLUMNS,
                         1, params);
    if (r == NULL)
        return TH_EDB;
    int rc = 0;
    if (PQntuples(r) == 1) {
        *out = th_row_new(call, &teilhabe__registry__v1__principal__descriptor, r, 0);
    } else {
        rc = registry_store_get_principal(call, id, out);
        if (rc == 0)
            rc = TH_ESTATE;
    }
    PQclear(r);
    return rc;
}
