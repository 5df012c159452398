/* ---------------------------------------------------------------------------
 * store_measures.c: the SQL of measures (parameterized statements only)
 * ---------------------------------------------------------------------------
 */
/* The SQL is laid out by hand (string pieces joined with column macros),
 * which clang-format would break apart. */
/* clang-format off */
#include "store.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "teilhabe/v1/fields.pb-c.h"
#include "th_error.h"
#include "th_row.h"

/* Named after the fields of Measure (th_row). */
#define S_MEASURE_COLUMNS                                                                      \
    "m.id, m.ags, m.state_code, m.municipality, m.municipality_key, m.title, m.description, "  \
    "m.field, m.target_group, m.target_group_name, m.status, "                                 \
    TH_ROW_SQL_DATE("m.start_date") " AS start_date, "                                         \
    TH_ROW_SQL_DATE("m.end_date") " AS end_date, m.budget_cents, m.funding_source, "           \
    "m.version, m.created_by, " TH_ROW_SQL_TS("m.created_at") " AS create_time, "              \
    "m.updated_by, " TH_ROW_SQL_TS("m.updated_at") " AS update_time"

/* A measure's writable fields as statement parameters, in the order of
 * S_WRITABLE ($2 to $12): tokens for the enums, SQL NULL for no date. */
#define S_WRITABLE_COUNT 11
static void
s_writable_params(th_call_t *call, const measure_t *m, char *cents, size_t cents_len,
                  const char **out)
{
    snprintf(cents, cents_len, "%" PRId64, m->budget_cents);
    out[0] = m->municipality;
    out[1] = m->municipality_key;
    out[2] = m->title;
    out[3] = m->description;
    out[4] = th_row_enum_param(call, &teilhabe__common__v1__field_of_action__descriptor,
                               (int) m->field);
    out[5] = th_row_enum_param(call, &teilhabe__measures__v1__target_group__descriptor,
                               (int) m->target_group);
    out[6] = m->target_group_name;
    out[7] = m->start_date[0] != '\0' ? m->start_date : NULL;
    out[8] = m->end_date[0] != '\0' ? m->end_date : NULL;
    out[9] = cents;
    out[10] = m->funding_source;
}

/* One measure from the first row of r, or none (th_row_take_one). */
static int
s_one(th_call_t *call, PGresult *r, int none, measure_t **out)
{
    return th_row_take_one(call, &teilhabe__measures__v1__measure__descriptor, r, none,
                           (void **) out);
}

/* Prepared: CreateMeasure is the service's most frequent write. */
static const th_db_stmt_t s_create = {"measures_create",
    "INSERT INTO measures.measures AS m (ags, municipality, municipality_key, title, "
    "description, field, target_group, target_group_name, start_date, end_date, "
    "budget_cents, funding_source, created_by, updated_by) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::date, $10::date, $11::bigint, $12, $13, "
    "$13) RETURNING " S_MEASURE_COLUMNS,
    2 + S_WRITABLE_COUNT};

int
measures_store_create(th_call_t *call, const measure_t *m, const char *by, measure_t **out)
{
    char cents[24];
    const char *params[2 + S_WRITABLE_COUNT];
    params[0] = m->ags;
    s_writable_params(call, m, cents, sizeof cents, params + 1);
    params[1 + S_WRITABLE_COUNT] = by;
    return s_one(call, th_row_exec_stmt(call, &s_create, params), TH_EDB, out);
}

int
measures_store_get(th_call_t *call, const char *id, bool for_update, measure_t **out)
{
    const char *params[] = {id};
    PGresult *r = th_row_exec(call,
        for_update ? "SELECT " S_MEASURE_COLUMNS " FROM measures.measures m WHERE m.id = $1 "
                     "FOR UPDATE"
                   : "SELECT " S_MEASURE_COLUMNS " FROM measures.measures m WHERE m.id = $1",
        1, params);
    return s_one(call, r, TH_ENOTFOUND, out);
}

int
measures_store_list(th_call_t *call, const measures_filter_t *f, measure_t ***out, size_t *n)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", f->limit);
    const char *params[] = {f->ags,       f->state_code, f->field,    f->target_group,
                            f->status,    f->after_ags,  f->after_id, lim};
    PGresult *r = th_row_exec(call,
        "SELECT " S_MEASURE_COLUMNS " FROM measures.measures m "
        "WHERE ($1::text IS NULL OR m.ags = $1) AND ($2::text IS NULL OR m.state_code = $2) "
        "AND ($3::text IS NULL OR m.field = $3) AND ($4::text IS NULL OR m.target_group = $4) "
        "AND ($5::text IS NULL OR m.status = $5) "
        "AND ($6::text IS NULL OR (m.ags, m.id) > ($6::text, $7::text)) "
        "ORDER BY m.ags, m.id LIMIT $8::int",
        8, params);
    return th_row_take_all(call, &teilhabe__measures__v1__measure__descriptor,
                           r, (void ***) out, n);
}

int
measures_store_update(th_call_t *call, const measure_t *m, int64_t version, const char *by,
                      measure_t **out)
{
    char cents[24], v[24];
    snprintf(v, sizeof v, "%" PRId64, version);
    const char *params[3 + S_WRITABLE_COUNT];
    params[0] = m->id;
    s_writable_params(call, m, cents, sizeof cents, params + 1);
    params[1 + S_WRITABLE_COUNT] = v;
    params[2 + S_WRITABLE_COUNT] = by;
    /* Under READ COMMITTED a second writer with the same version waits for
     * the first one's row lock, then finds the version moved on: no row. */
    PGresult *r = th_row_exec(call,
        "UPDATE measures.measures AS m SET municipality = $2, municipality_key = $3, "
        "title = $4, description = $5, field = $6, target_group = $7, "
        "target_group_name = $8, start_date = $9::date, end_date = $10::date, "
        "budget_cents = $11::bigint, funding_source = $12, version = m.version + 1, "
        "updated_by = $14, updated_at = now() "
        "WHERE m.id = $1 AND m.version = $13::bigint RETURNING " S_MEASURE_COLUMNS,
        3 + S_WRITABLE_COUNT, params);
    return s_one(call, r, TH_ESTATE, out);
}

int
measures_store_set_status(th_call_t *call, const char *id, int64_t version, const char *status,
                          const char *by, measure_t **out)
{
    char v[24];
    snprintf(v, sizeof v, "%" PRId64, version);
    const char *params[] = {id, v, status, by};
    PGresult *r = th_row_exec(call,
        "UPDATE measures.measures AS m SET status = $3, version = m.version + 1, "
        "updated_by = $4, updated_at = now() "
        "WHERE m.id = $1 AND m.version = $2::bigint RETURNING " S_MEASURE_COLUMNS,
        4, params);
    return s_one(call, r, TH_ESTATE, out);
}

int
measures_store_delete(th_call_t *call, const char *id, int64_t version)
{
    char v[24];
    snprintf(v, sizeof v, "%" PRId64, version);
    const char *params[] = {id, v};
    PGresult *r = th_row_exec(call,
        "DELETE FROM measures.measures WHERE id = $1 AND version = $2::bigint "
        "AND status = 'planned'",
        2, params);
    if (r == NULL)
        return TH_EDB;
    const int rc = strcmp(PQcmdTuples(r), "1") == 0 ? 0 : TH_ESTATE;
    PQclear(r);
    return rc;
}
