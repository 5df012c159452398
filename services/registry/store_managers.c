/* ---------------------------------------------------------------------------
 * store_managers.c: the SQL of integration managers and their dated
 * assignments
 * ---------------------------------------------------------------------------
 */
/* The SQL is laid out by hand (string pieces joined with column macros),
 * which clang-format would break apart. */
/* clang-format off */
#include "store.h"

#include "store_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "th_error.h"
#include "th_row.h"

/* Named after the fields of Manager and Assignment (th_row). */
#define S_MANAGER_COLUMNS                                                                      \
    "m.id, m.state_code, m.name, m.email, m.phone, m.organisation, m.funding_programme, "      \
    "m.principal_id, m.version"
#define S_ASSIGNMENT_COLUMNS                                                                   \
    "a.id, a.manager_id, a.ags, " S_DATE("a.valid_from") " AS valid_from, "                    \
    S_DATE("a.valid_to") " AS valid_to"

int
registry_store_create_manager(th_call_t *call, const registry_manager_t *m,
                              registry_manager_t **out)
{
    const char *params[] = {m->state_code, m->name,  m->email,
                            m->phone,      m->organisation, m->funding_programme,
                            m->principal_id};
    PGresult *r = th_row_exec(call,
                         "INSERT INTO registry.managers AS m (state_code, name, email, phone, "
                         "organisation, funding_programme, principal_id) "
                         "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING " S_MANAGER_COLUMNS,
                         7, params);
    if (r == NULL)
        return TH_EDB;
    *out = th_row_new(call, &teilhabe__registry__v1__manager__descriptor, r, 0);
    PQclear(r);
    return 0;
}

int
registry_store_get_manager(th_call_t *call, const char *id, bool for_update,
                           registry_manager_t **out)
{
    const char *params[] = {id};
    PGresult *r = th_row_exec(call,
                         for_update ? "SELECT " S_MANAGER_COLUMNS
                                      " FROM registry.managers m WHERE m.id = $1 FOR UPDATE"
                                    : "SELECT " S_MANAGER_COLUMNS
                                      " FROM registry.managers m WHERE m.id = $1",
                         1, params);
    return th_row_take_one(call, &teilhabe__registry__v1__manager__descriptor, r, TH_ENOTFOUND,
                           (void **) out);
}

int
registry_store_update_manager(th_call_t *call, const registry_manager_t *m, int64_t version,
                              registry_manager_t **out)
{
    char v[24];
    snprintf(v, sizeof v, "%" PRId64, version);
    const char *params[] = {m->id,    m->name,         m->email,
                            m->phone, m->organisation, m->funding_programme,
                            m->principal_id, v};
    PGresult *r = th_row_exec(call,
                         "UPDATE registry.managers AS m SET name = $2, email = $3, phone = $4, "
                         "organisation = $5, funding_programme = $6, principal_id = $7, "
                         "version = m.version + 1, updated_at = now() "
                         "WHERE m.id = $1 AND m.version = $8::bigint RETURNING " S_MANAGER_COLUMNS,
                         8, params);
    if (r == NULL)
        return TH_EDB;
    int rc = 0;
    if (PQntuples(r) == 1) {
        *out = th_row_new(call, &teilhabe__registry__v1__manager__descriptor, r, 0);
    } else {
        registry_manager_t *existing = NULL;
        rc = registry_store_get_manager(call, m->id, false, &existing);
        if (rc == 0)
            rc = TH_ESTATE;
    }
    PQclear(r);
    return rc;
}

int
registry_store_list_assignments(th_call_t *call, const char *manager_id, const char *as_of,
                                registry_assignment_t ***out, size_t *n)
{
    const char *params[] = {manager_id, as_of};
    PGresult *r = th_row_exec(call,
                         "SELECT " S_ASSIGNMENT_COLUMNS " FROM registry.manager_assignments a "
                         "WHERE a.manager_id = $1 AND ($2::date IS NULL OR " S_VALID_ON("a", "$2")
                         ") ORDER BY a.ags, a.valid_from, a.id",
                         2, params);
    return th_row_take_all(call, &teilhabe__registry__v1__assignment__descriptor,
                           r, (void ***) out, n);
}

int
registry_store_assignment_overlaps(th_call_t *call, const char *manager_id, const char *ags,
                                   const char *from, const char *to, bool *overlaps)
{
    const char *params[] = {manager_id, ags, from, to};
    PGresult *r = th_row_exec(call,
                         "SELECT 1 FROM registry.manager_assignments a "
                         "WHERE a.manager_id = $1 AND a.ags = $2 "
                         "AND (a.valid_to IS NULL OR a.valid_to >= $3::date) "
                         "AND ($4::date IS NULL OR a.valid_from <= $4::date) LIMIT 1",
                         4, params);
    if (r == NULL)
        return TH_EDB;
    *overlaps = PQntuples(r) > 0;
    PQclear(r);
    return 0;
}

int
registry_store_insert_assignment(th_call_t *call, const char *manager_id, const char *ags,
                                 const char *from, const char *to, registry_assignment_t **out)
{
    const char *params[] = {manager_id, ags, from, to};
    PGresult *r = th_row_exec(call,
                         "INSERT INTO registry.manager_assignments AS a "
                         "(manager_id, ags, valid_from, valid_to) "
                         "VALUES ($1, $2, $3::date, $4::date) RETURNING " S_ASSIGNMENT_COLUMNS,
                         4, params);
    if (r == NULL)
        return TH_EDB;
    *out = th_row_new(call, &teilhabe__registry__v1__assignment__descriptor, r, 0);
    PQclear(r);
    return 0;
}

int
registry_store_active_assignment(th_call_t *call, const char *manager_id, const char *ags,
                                 const char *date, registry_assignment_t **out)
{
    const char *params[] = {manager_id, ags, date};
    PGresult *r = th_row_exec(call,
                         "SELECT " S_ASSIGNMENT_COLUMNS " FROM registry.manager_assignments a "
                         "WHERE a.manager_id = $1 AND a.ags = $2 AND " S_VALID_ON("a", "$3")
                         " ORDER BY a.valid_from LIMIT 1 FOR UPDATE",
                         3, params);
    return th_row_take_one(call, &teilhabe__registry__v1__assignment__descriptor, r, TH_ENOTFOUND,
                           (void **) out);
}

int
registry_store_end_assignment(th_call_t *call, int64_t id, const char *end_date,
                              registry_assignment_t **out)
{
    char idbuf[24];
    snprintf(idbuf, sizeof idbuf, "%" PRId64, id);
    const char *params[] = {idbuf, end_date};
    PGresult *r = th_row_exec(call,
                         "UPDATE registry.manager_assignments AS a SET valid_to = $2::date "
                         "WHERE a.id = $1::bigint RETURNING " S_ASSIGNMENT_COLUMNS,
                         2, params);
    return th_row_take_one(call, &teilhabe__registry__v1__assignment__descriptor, r, TH_ENOTFOUND,
                           (void **) out);
}

int
registry_store_list_managers(th_call_t *call, const registry_manager_filter_t *f,
                             registry_manager_t ***out, size_t *n)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", f->limit);
    const char *params[] = {f->state_code, f->ags, f->as_of, f->after_id, lim};
    /* One statement for the page: the managers after the key (the name and
     * id the manager after_id has now), each joined with its assignments
     * active on as_of (none: one row with NULLs), in the order of the page,
     * so the rows of one manager follow each other. */
    PGresult *r = th_row_exec(
        call,
        "SELECT " S_MANAGER_COLUMNS ", " S_ASSIGNMENT_COLUMNS " FROM (SELECT m.* FROM "
        "registry.managers m WHERE CASE WHEN $2::text IS NOT NULL THEN EXISTS (SELECT 1 FROM "
        "registry.manager_assignments a WHERE a.manager_id = m.id AND a.ags = $2 AND "
        S_VALID_ON("a", "$3") ") ELSE ($1::text IS NULL OR m.state_code = $1) END "
        "AND ($4::text IS NULL OR (m.name, m.id) > (SELECT k.name, k.id FROM "
        "registry.managers k WHERE k.id = $4)) "
        "ORDER BY m.name, m.id LIMIT $5::int) m "
        "LEFT JOIN registry.manager_assignments a ON a.manager_id = m.id AND "
        S_VALID_ON("a", "$3") " ORDER BY m.name, m.id, a.ags, a.valid_from, a.id",
        5, params);
    if (r == NULL)
        return TH_EDB;
    enum { S_MANAGER_COLUMN_COUNT = 9, S_ASSIGNMENT_COLUMN_COUNT = 5 };
    const int rows = PQntuples(r);
    size_t managers = 0;
    for (int i = 0; i < rows; i++)
        managers += i == 0 || strcmp(PQgetvalue(r, i, 0), PQgetvalue(r, i - 1, 0)) != 0;
    registry_manager_t **list =
        managers > 0 ? th_call_alloc(call, managers * sizeof *list) : NULL;
    size_t k = 0;
    for (int i = 0; i < rows;) {
        registry_manager_t *m = th_call_alloc(call, sizeof *m);
        teilhabe__registry__v1__manager__init(m);
        th_row_fill(call, r, i, 0, S_MANAGER_COLUMN_COUNT, &m->base);
        int end = i + 1;
        while (end < rows && strcmp(PQgetvalue(r, end, 0), PQgetvalue(r, i, 0)) == 0)
            end++;
        const size_t count =
            PQgetisnull(r, i, S_MANAGER_COLUMN_COUNT) ? 0 : (size_t) (end - i);
        m->assignments = count > 0 ? th_call_alloc(call, count * sizeof *m->assignments) : NULL;
        m->n_assignments = count;
        for (size_t a = 0; a < count; a++) {
            registry_assignment_t *as = th_call_alloc(call, sizeof *as);
            teilhabe__registry__v1__assignment__init(as);
            th_row_fill(call, r, i + (int) a, S_MANAGER_COLUMN_COUNT,
                        S_ASSIGNMENT_COLUMN_COUNT, &as->base);
            m->assignments[a] = as;
        }
        list[k++] = m;
        i = end;
    }
    *out = list;
    *n = managers;
    PQclear(r);
    return 0;
}

int
registry_store_principal_covers(th_call_t *call, const char *principal_id, const char *ags,
                                const char *date, bool *covers)
{
    const char *params[] = {principal_id, ags, date};
    PGresult *r = th_row_exec(call,
                         "SELECT 1 FROM registry.managers m JOIN registry.manager_assignments a "
                         "ON a.manager_id = m.id WHERE m.principal_id = $1 AND a.ags = $2 AND "
                         S_VALID_ON("a", "$3") " LIMIT 1",
                         3, params);
    if (r == NULL)
        return TH_EDB;
    *covers = PQntuples(r) > 0;
    PQclear(r);
    return 0;
}
