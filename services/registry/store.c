/* ---------------------------------------------------------------------------
 * store.c: the registry's SQL (parameterized statements only)
 *
 * Dates leave the database as to_char(..., 'YYYY-MM-DD') and timestamps as
 * RFC 3339 in UTC, so the output never depends on the session's DateStyle or
 * TimeZone.
 * ---------------------------------------------------------------------------
 */
/* The SQL is laid out by hand (string pieces joined with column macros),
 * which clang-format would break apart. */
/* clang-format off */
#include "store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "seed.h"
#include "th_error.h"

#define S_DATE(col) "to_char(" col ", 'YYYY-MM-DD')"
#define S_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
/* A row valid on the date in parameter p. */
#define S_VALID_ON(alias, p)                                                                   \
    "(" alias ".valid_from <= " p "::date AND (" alias ".valid_to IS NULL OR " alias           \
    ".valid_to >= " p "::date))"

/* --- small helpers ------------------------------------------------------ */

/* The value as a string in call memory; with call NULL the result's own
 * (valid until it is cleared: seeding, which has no call). */
static char *
s_str(th_call_t *call, const PGresult *r, int row, int col)
{
    if (call == NULL)
        return PQgetvalue(r, row, col);
    return th_call_strdup(call, PQgetvalue(r, row, col));
}

static int64_t
s_i64(const PGresult *r, int row, int col)
{
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static void **
s_array(th_call_t *call, size_t n)
{
    return n == 0 ? NULL : th_call_alloc(call, n * sizeof(void *));
}

/* Runs sql and returns the result, or NULL (the error stays on db). */
static PGresult *
s_exec(th_call_t *call, const char *sql, int nparams, const char *const *params)
{
    th_db_t *db = th_call_db(call);
    if (db == NULL)
        return NULL;
    return th_db_exec(db, sql, nparams, params);
}

/* The hot reads (GetDistrict, ListDistricts, ListStates, search) as named
 * prepared statements: parsing and planning the district query costs more
 * than executing it. Only outside a transaction, so a failed EXECUTE cannot
 * abort a write.
 *
 * Another try is made for one reason only: the statement itself is missing
 * or stale, so nothing ran. A connection that does not know it yet (new, or
 * reconnected) answers 26000 and the store prepares it; after a migration
 * changed a table's columns PostgreSQL answers 0A000 "cached plan must not
 * change result type" and the store prepares it afresh. Every other failure
 * is the answer, above all 57014: the statement was cancelled because the
 * call's deadline passed, and running it again would run past that
 * deadline. */
static bool
s_plan_stale(th_db_t *db)
{
    return strcmp(th_db_sqlstate(db), "0A000") == 0 &&
           strncmp(th_db_error(db), "cached plan must not change result type", 39) == 0;
}

static PGresult *
s_exec_hot(th_call_t *call, const char *name, const char *sql, int nparams,
           const char *const *params)
{
    th_db_t *db = th_call_db(call);
    if (db == NULL || th_db_in_transaction(db))
        return s_exec(call, sql, nparams, params);
    for (int attempt = 0;; attempt++) {
        PGresult *r = th_db_exec_prepared(db, name, nparams, params);
        if (r != NULL)
            return r;
        const bool unknown = strcmp(th_db_sqlstate(db), "26000") == 0;
        const bool stale = s_plan_stale(db);
        if ((!unknown && !stale) || attempt > 0)
            return NULL;
        if (stale) {
            /* name is a fixed identifier from this file. */
            char sql_deallocate[96];
            snprintf(sql_deallocate, sizeof sql_deallocate, "DEALLOCATE %s", name);
            PGresult *done = th_db_exec(db, sql_deallocate, 0, NULL);
            if (done == NULL)
                return NULL;
            PQclear(done);
        }
        if (th_db_prepare(db, name, sql, nparams) != 0)
            return NULL;
    }
}

/* --- rows to messages --------------------------------------------------- */

/* A district with the figures (area, population) of one territorial status,
 * joined as f; its settlement type derives from kind and those figures. */
#define S_DISTRICT_COLUMNS                                                                     \
    "d.ags, d.name, d.official_kind, d.kind, d.state_code, s.name, d.nuts3, "                  \
    "f.area_km2::text, f.population, f.population_male, f.population_female, "                 \
    S_DATE("f.population_date") ", f.population_per_km2, "                                     \
    "registry.settlement_type(d.kind, f.population, f.population_per_km2), "                   \
    S_DATE("d.valid_from") ", coalesce(" S_DATE("d.valid_to") ", ''), "                        \
    "coalesce(d.successor_ags, ''), " S_DATE("f.valid_from")
#define S_DISTRICT_SETTLEMENT "registry.settlement_type(d.kind, f.population, f.population_per_km2)"
/* Districts with their figures valid on the date in parameter p (lists:
 * every district valid on a date has figures valid on it). */
#define S_DISTRICT_FROM_ON(p)                                                                  \
    " FROM registry.districts d JOIN registry.states s ON s.code = d.state_code "              \
    "JOIN registry.district_figures f ON f.ags = d.ags AND " S_VALID_ON("f", p) " "
/* Districts with the figures of the date in parameter p (NULL = the latest),
 * also for a district that ended before it (its last figures) or that began
 * after it (its first). */
#define S_DISTRICT_FROM_NEAR(p)                                                                \
    " FROM registry.districts d JOIN registry.states s ON s.code = d.state_code "              \
    "JOIN LATERAL (SELECT * FROM registry.district_figures x WHERE x.ags = d.ags AND "         \
    "x.valid_from <= greatest(coalesce(" p "::date, 'infinity'), d.valid_from) "               \
    "ORDER BY x.valid_from DESC LIMIT 1) f ON true "
#define S_DISTRICT_GET "SELECT " S_DISTRICT_COLUMNS S_DISTRICT_FROM_NEAR("$2") "WHERE d.ags = $1"

/* Fills d from row (strings in call memory, or the result's with call NULL). */
static void
s_district_fill(th_call_t *call, const PGresult *r, int row, registry_district_t *d)
{
    teilhabe__registry__v1__district__init(d);
    d->ags = s_str(call, r, row, 0);
    d->name = s_str(call, r, row, 1);
    d->official_kind = s_str(call, r, row, 2);
    d->kind = registry_kind_from_text(PQgetvalue(r, row, 3));
    d->state_code = s_str(call, r, row, 4);
    d->state_name = s_str(call, r, row, 5);
    d->nuts3 = s_str(call, r, row, 6);
    d->area_km2 = strtod(PQgetvalue(r, row, 7), NULL);
    d->population = s_i64(r, row, 8);
    d->population_male = s_i64(r, row, 9);
    d->population_female = s_i64(r, row, 10);
    d->population_date = s_str(call, r, row, 11);
    d->population_per_km2 = s_i64(r, row, 12);
    d->settlement_type = registry_settlement_from_text(PQgetvalue(r, row, 13));
    d->valid_from = s_str(call, r, row, 14);
    d->valid_to = s_str(call, r, row, 15);
    d->successor_ags = s_str(call, r, row, 16);
    d->figures_valid_from = s_str(call, r, row, 17);
}

static registry_district_t *
s_district(th_call_t *call, const PGresult *r, int row)
{
    registry_district_t *d = th_call_alloc(call, sizeof *d);
    s_district_fill(call, r, row, d);
    return d;
}

static int
s_districts(th_call_t *call, const PGresult *r, registry_district_t ***out, size_t *n)
{
    const size_t rows = (size_t) PQntuples(r);
    registry_district_t **list = (registry_district_t **) s_array(call, rows);
    for (size_t i = 0; i < rows; i++)
        list[i] = s_district(call, r, (int) i);
    *out = list;
    *n = rows;
    return 0;
}

#define S_CHANGE_COLUMNS                                                                       \
    "c.id, " S_DATE("c.effective") ", c.kind, c.ags, c.successor_ags, c.note, c.recorded_by, " \
    S_TS("c.recorded_at")

static void
s_change_fill(th_call_t *call, const PGresult *r, int row, registry_change_t *c)
{
    teilhabe__registry__v1__territorial_change__init(c);
    c->id = s_i64(r, row, 0);
    c->effective = s_str(call, r, row, 1);
    c->kind = registry_change_kind_from_text(PQgetvalue(r, row, 2));
    c->ags = s_str(call, r, row, 3);
    c->successor_ags = s_str(call, r, row, 4);
    c->note = s_str(call, r, row, 5);
    c->recorded_by = s_str(call, r, row, 6);
    c->record_time = s_str(call, r, row, 7);
}

static registry_change_t *
s_change(th_call_t *call, const PGresult *r, int row)
{
    registry_change_t *c = th_call_alloc(call, sizeof *c);
    s_change_fill(call, r, row, c);
    return c;
}

#define S_CONCEPT_COLUMNS                                                                      \
    "c.ags, c.title, " S_DATE("c.adopted_on") ", coalesce(" S_DATE("c.last_updated_on")       \
    ", ''), c.orientation, array_to_string(c.fields, ','), c.link, c.version, c.created_by, "  \
    S_TS("c.created_at")

static registry_concept_t *
s_concept(th_call_t *call, const PGresult *r, int row)
{
    registry_concept_t *c = th_call_alloc(call, sizeof *c);
    teilhabe__registry__v1__concept__init(c);
    c->ags = s_str(call, r, row, 0);
    c->title = s_str(call, r, row, 1);
    c->adopted_on = s_str(call, r, row, 2);
    c->last_updated_on = s_str(call, r, row, 3);
    c->orientation = registry_orientation_from_text(PQgetvalue(r, row, 4));
    /* fields: "work_and_training,language" -> enum values */
    const char *fields = PQgetvalue(r, row, 5);
    size_t count = fields[0] != '\0' ? 1 : 0;
    for (const char *p = fields; *p != '\0'; p++)
        count += *p == ',';
    c->fields = count ? th_call_alloc(call, count * sizeof *c->fields) : NULL;
    c->n_fields = 0;
    char *copy = th_call_strdup(call, fields);
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok != NULL && c->n_fields < count;
         tok = strtok_r(NULL, ",", &save))
        c->fields[c->n_fields++] = (Teilhabe__Common__V1__FieldOfAction) registry_field_from_text(tok);
    c->link = s_str(call, r, row, 6);
    c->version = s_i64(r, row, 7);
    c->updated_by = s_str(call, r, row, 8);
    c->update_time = s_str(call, r, row, 9);
    return c;
}

static int
s_concepts(th_call_t *call, const PGresult *r, registry_concept_t ***out, size_t *n)
{
    const size_t rows = (size_t) PQntuples(r);
    registry_concept_t **list = (registry_concept_t **) s_array(call, rows);
    for (size_t i = 0; i < rows; i++)
        list[i] = s_concept(call, r, (int) i);
    *out = list;
    *n = rows;
    return 0;
}

#define S_MANAGER_COLUMNS                                                                      \
    "m.id, m.state_code, m.name, m.email, m.phone, m.organisation, m.funding_programme, "      \
    "m.principal_id, m.version"

static registry_manager_t *
s_manager(th_call_t *call, const PGresult *r, int row)
{
    registry_manager_t *m = th_call_alloc(call, sizeof *m);
    teilhabe__registry__v1__manager__init(m);
    m->id = s_str(call, r, row, 0);
    m->state_code = s_str(call, r, row, 1);
    m->name = s_str(call, r, row, 2);
    m->email = s_str(call, r, row, 3);
    m->phone = s_str(call, r, row, 4);
    m->organisation = s_str(call, r, row, 5);
    m->funding_programme = s_str(call, r, row, 6);
    m->principal_id = s_str(call, r, row, 7);
    m->version = s_i64(r, row, 8);
    return m;
}

#define S_ASSIGNMENT_COLUMNS                                                                   \
    "a.id, a.manager_id, a.ags, " S_DATE("a.valid_from") ", coalesce(" S_DATE("a.valid_to")   \
    ", '')"

/* The assignment in the columns from col on (S_ASSIGNMENT_COLUMNS). */
static registry_assignment_t *
s_assignment_at(th_call_t *call, const PGresult *r, int row, int col)
{
    registry_assignment_t *a = th_call_alloc(call, sizeof *a);
    teilhabe__registry__v1__assignment__init(a);
    a->id = s_i64(r, row, col);
    a->manager_id = s_str(call, r, row, col + 1);
    a->ags = s_str(call, r, row, col + 2);
    a->valid_from = s_str(call, r, row, col + 3);
    a->valid_to = s_str(call, r, row, col + 4);
    return a;
}

static registry_assignment_t *
s_assignment(th_call_t *call, const PGresult *r, int row)
{
    return s_assignment_at(call, r, row, 0);
}

#define S_PRINCIPAL_COLUMNS                                                                    \
    "p.id, p.name, p.role, p.state_scope, array_to_string(p.district_scope, ','), "            \
    "p.public_key, " S_TS("p.created_at") ", coalesce(" S_TS("p.revoked_at") ", '')"

static registry_principal_t *
s_principal(th_call_t *call, const PGresult *r, int row)
{
    registry_principal_t *p = th_call_alloc(call, sizeof *p);
    teilhabe__registry__v1__principal__init(p);
    p->id = s_str(call, r, row, 0);
    p->name = s_str(call, r, row, 1);
    p->role = s_str(call, r, row, 2);
    p->state_scope = s_str(call, r, row, 3);
    const char *scope = PQgetvalue(r, row, 4);
    size_t count = scope[0] != '\0' ? 1 : 0;
    for (const char *c = scope; *c != '\0'; c++)
        count += *c == ',';
    p->district_scope = count ? th_call_alloc(call, count * sizeof(char *)) : NULL;
    p->n_district_scope = 0;
    char *copy = th_call_strdup(call, scope);
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok != NULL && p->n_district_scope < count;
         tok = strtok_r(NULL, ",", &save))
        p->district_scope[p->n_district_scope++] = tok;
    p->public_key = s_str(call, r, row, 5);
    p->create_time = s_str(call, r, row, 6);
    p->revoke_time = s_str(call, r, row, 7);
    return p;
}

/* Renders a list of strings as a PostgreSQL array literal ({"a","b"}); the
 * items are AGS validated by the caller, quoted anyway. */
static char *
s_array_literal(th_call_t *call, char *const *items, size_t n)
{
    size_t len = 3;
    for (size_t i = 0; i < n; i++)
        len += strlen(items[i]) * 2 + 3;
    char *out = th_call_alloc(call, len);
    size_t o = 0;
    out[o++] = '{';
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            out[o++] = ',';
        out[o++] = '"';
        for (const char *c = items[i]; *c != '\0'; c++) {
            if (*c == '"' || *c == '\\')
                out[o++] = '\\';
            out[o++] = *c;
        }
        out[o++] = '"';
    }
    out[o++] = '}';
    out[o] = '\0';
    return out;
}

/* Ends ags on the day before effective with successor and moves its figures
 * into the successor's from effective on (registry.merge_district_figures,
 * migration 0003), in the caller's transaction. TH_ESTATE when ags has
 * ended already. */
static int
s_apply_change(th_db_t *db, const char *effective, const char *ags, const char *successor_ags)
{
    const char *params[] = {ags, effective, successor_ags};
    PGresult *r = th_db_exec(db,
                             "UPDATE registry.districts SET valid_to = $2::date - 1, "
                             "successor_ags = $3, updated_at = now() "
                             "WHERE ags = $1 AND valid_to IS NULL",
                             3, params);
    if (r == NULL)
        return TH_EDB;
    const bool ended = strcmp(PQcmdTuples(r), "1") == 0;
    PQclear(r);
    if (!ended)
        return TH_ESTATE;
    r = th_db_exec(db, "SELECT registry.merge_district_figures($1, $3, $2::date)", 3, params);
    if (r == NULL)
        return TH_EDB;
    PQclear(r);
    return 0;
}

/* --- seeding ------------------------------------------------------------ */

int
registry_store_seed_state(th_db_t *db, const char *code, const char *name, bool *inserted)
{
    const char *params[] = {code, name};
    PGresult *r = th_db_exec(db,
                             "INSERT INTO registry.states (code, name) VALUES ($1, $2) "
                             "ON CONFLICT (code) DO NOTHING",
                             2, params);
    if (r == NULL)
        return TH_EDB;
    *inserted = strcmp(PQcmdTuples(r), "1") == 0;
    PQclear(r);
    return 0;
}

int
registry_store_seed_district(th_db_t *db, const registry_seed_district_t *d, bool *inserted)
{
    char pop[24], male[24], female[24], density[24];
    snprintf(pop, sizeof pop, "%" PRId64, d->population);
    snprintf(male, sizeof male, "%" PRId64, d->population_male);
    snprintf(female, sizeof female, "%" PRId64, d->population_female);
    snprintf(density, sizeof density, "%" PRId64, d->population_per_km2);
    const char *params[] = {d->ags,         d->state_code, d->name,       d->official_kind,
                            d->kind,        d->nuts3,      d->valid_from, d->search_key,
                            d->search_key_expanded};
    *inserted = false;
    PGresult *r = th_db_exec(
        db,
        "INSERT INTO registry.districts (ags, state_code, name, official_kind, kind, nuts3, "
        "valid_from, search_key, search_key_expanded) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7::date, $8, $9) ON CONFLICT (ags) DO NOTHING",
        9, params);
    if (r == NULL)
        return TH_EDB;
    const bool added = strcmp(PQcmdTuples(r), "1") == 0;
    PQclear(r);
    if (!added)
        return 0; /* known before: its figures are what changes made them */
    const char *figures[] = {d->ags, d->valid_from, d->area_km2, pop, male, female, density,
                             d->population_date};
    r = th_db_exec(db,
                   "INSERT INTO registry.district_figures (ags, valid_from, area_km2, "
                   "population, population_male, population_female, population_per_km2, "
                   "population_date) VALUES ($1, $2::date, $3::numeric, $4::bigint, "
                   "$5::bigint, $6::bigint, $7::bigint, $8::date)",
                   8, figures);
    if (r == NULL)
        return TH_EDB;
    PQclear(r);
    *inserted = true;
    return 0;
}

int
registry_store_seed_read_district(th_db_t *db, const char *ags, const char *as_of,
                                  registry_district_t *out, PGresult **result)
{
    const char *params[] = {ags, as_of};
    *result = th_db_exec(db, S_DISTRICT_GET, 2, params);
    if (*result == NULL)
        return TH_EDB;
    if (PQntuples(*result) != 1) {
        PQclear(*result);
        *result = NULL;
        return TH_ENOTFOUND;
    }
    s_district_fill(NULL, *result, 0, out);
    return 0;
}

int
registry_store_seed_change(th_db_t *db, const char *effective, const char *kind,
                           const char *ags, const char *successor_ags, const char *note,
                           registry_change_t *out, PGresult **result)
{
    int rc = 0;
    PGresult *r = NULL;
    *result = NULL;
    const char *params[] = {effective, kind, ags, successor_ags, note, REGISTRY_SEED_PRINCIPAL};
    r = th_db_exec(db,
                   "INSERT INTO registry.territorial_changes AS c "
                   "(effective, kind, ags, successor_ags, note, recorded_by) "
                   "VALUES ($1::date, $2, $3, $4, $5, $6) ON CONFLICT (ags) DO NOTHING "
                   "RETURNING " S_CHANGE_COLUMNS,
                   6, params);
    if (r == NULL)
        return TH_EDB;
    if (PQntuples(r) == 0)
        goto cleanup; /* recorded before: leave everything as it is */
    if ((rc = s_apply_change(db, effective, ags, successor_ags)) != 0)
        goto cleanup;
    s_change_fill(NULL, r, 0, out);
    *result = r;
    r = NULL;

cleanup:
    PQclear(r);
    return rc;
}

int
registry_store_earliest_date(th_db_t *db, char out[11])
{
    PGresult *r = th_db_exec(
        db, "SELECT coalesce(" S_DATE("min(valid_from)") ", '') FROM registry.districts", 0,
        NULL);
    if (r == NULL)
        return TH_EDB;
    const char *v = PQgetvalue(r, 0, 0);
    const int rc = v[0] == '\0' ? TH_ENOTFOUND : 0;
    snprintf(out, 11, "%s", v);
    PQclear(r);
    return rc;
}

int
registry_store_counts(th_db_t *db, int64_t *states, int64_t *districts, int64_t *changes)
{
    PGresult *r = th_db_exec(db,
                             "SELECT (SELECT count(*) FROM registry.states), "
                             "(SELECT count(*) FROM registry.districts), "
                             "(SELECT count(*) FROM registry.territorial_changes)",
                             0, NULL);
    if (r == NULL)
        return TH_EDB;
    *states = s_i64(r, 0, 0);
    *districts = s_i64(r, 0, 1);
    *changes = s_i64(r, 0, 2);
    PQclear(r);
    return 0;
}

/* --- districts and states ----------------------------------------------- */

int
registry_store_get_district(th_call_t *call, const char *ags, const char *as_of,
                            registry_district_t **out)
{
    const char *params[] = {ags, as_of};
    PGresult *r = s_exec_hot(call, "registry_get_district", S_DISTRICT_GET, 2, params);
    if (r == NULL)
        return TH_EDB;
    int rc = TH_ENOTFOUND;
    if (PQntuples(r) == 1) {
        *out = s_district(call, r, 0);
        rc = 0;
    }
    PQclear(r);
    return rc;
}

#define S_DISTRICT_FILTER                                                                      \
    "WHERE " S_VALID_ON("d", "$1") " AND ($2::text IS NULL OR d.state_code = $2) "            \
    "AND ($3::text IS NULL OR d.kind = $3) "                                                   \
    "AND ($4::text IS NULL OR " S_DISTRICT_SETTLEMENT " = $4) "

int
registry_store_list_districts(th_call_t *call, const registry_district_filter_t *f,
                              registry_district_t ***out, size_t *n, int *total)
{
    char limit[16];
    snprintf(limit, sizeof limit, "%d", f->limit);
    const char *params[] = {f->as_of, f->state_code, f->kind, f->settlement_type, f->after_ags,
                            limit};
    PGresult *r = s_exec_hot(call, "registry_list_districts",
                             "SELECT " S_DISTRICT_COLUMNS S_DISTRICT_FROM_ON("$1")
                             S_DISTRICT_FILTER
                             "AND ($5::text IS NULL OR d.ags > $5) ORDER BY d.ags LIMIT $6::int",
                             6, params);
    if (r == NULL)
        return TH_EDB;
    s_districts(call, r, out, n);
    PQclear(r);
    r = s_exec_hot(call, "registry_count_districts",
                   "SELECT count(*)" S_DISTRICT_FROM_ON("$1") S_DISTRICT_FILTER, 4, params);
    if (r == NULL)
        return TH_EDB;
    *total = (int) s_i64(r, 0, 0);
    PQclear(r);
    return 0;
}

int
registry_store_search_districts(th_call_t *call, const char *key, const char *as_of,
                                bool include_ended, int limit, registry_district_t ***out,
                                size_t *n)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit);
    const char *params[] = {key, as_of, include_ended ? "true" : "false", lim};
    /* Names that start with the query come first, then the rest, each by AGS. */
    PGresult *r = s_exec_hot(
        call, "registry_search_districts",
        "SELECT " S_DISTRICT_COLUMNS S_DISTRICT_FROM_NEAR("$2")
        "WHERE (strpos(d.search_key, $1) > 0 OR strpos(d.search_key_expanded, $1) > 0 "
        "OR starts_with(d.ags, $1)) "
        "AND ($3::boolean OR " S_VALID_ON("d", "$2") ") "
        "ORDER BY NOT (starts_with(d.search_key, $1) OR starts_with(d.search_key_expanded, $1)), "
        "d.ags LIMIT $4::int",
        4, params);
    if (r == NULL)
        return TH_EDB;
    s_districts(call, r, out, n);
    PQclear(r);
    return 0;
}

int
registry_store_list_states(th_call_t *call, const char *as_of, registry_state_t ***out,
                           size_t *n)
{
    const char *params[] = {as_of};
    PGresult *r = s_exec_hot(call, "registry_list_states",
                         "SELECT s.code, s.name, count(d.ags), coalesce(sum(f.population), 0), "
                         "coalesce(" S_DATE("min(f.population_date)") ", '') "
                         "FROM registry.states s LEFT JOIN (registry.districts d "
                         "JOIN registry.district_figures f ON f.ags = d.ags AND "
                         S_VALID_ON("f", "$1") ") ON d.state_code = s.code AND "
                         S_VALID_ON("d", "$1") " GROUP BY s.code, s.name ORDER BY s.code",
                         1, params);
    if (r == NULL)
        return TH_EDB;
    const size_t rows = (size_t) PQntuples(r);
    registry_state_t **list = (registry_state_t **) s_array(call, rows);
    for (size_t i = 0; i < rows; i++) {
        registry_state_t *s = th_call_alloc(call, sizeof *s);
        teilhabe__registry__v1__state__init(s);
        s->code = s_str(call, r, (int) i, 0);
        s->name = s_str(call, r, (int) i, 1);
        s->district_count = (uint32_t) s_i64(r, (int) i, 2);
        s->population = s_i64(r, (int) i, 3);
        s->population_date = s_str(call, r, (int) i, 4);
        list[i] = s;
    }
    *out = list;
    *n = rows;
    PQclear(r);
    return 0;
}

int
registry_store_state_exists(th_call_t *call, const char *code, bool *exists)
{
    const char *params[] = {code};
    PGresult *r = s_exec(call, "SELECT 1 FROM registry.states WHERE code = $1", 1, params);
    if (r == NULL)
        return TH_EDB;
    *exists = PQntuples(r) == 1;
    PQclear(r);
    return 0;
}

int
registry_store_list_changes(th_call_t *call, const char *ags, registry_change_t ***out,
                            size_t *n)
{
    const char *params[] = {ags};
    PGresult *r = s_exec(call,
                         "SELECT " S_CHANGE_COLUMNS " FROM registry.territorial_changes c "
                         "WHERE c.ags = $1 OR c.successor_ags = $1 ORDER BY c.effective, c.id",
                         1, params);
    if (r == NULL)
        return TH_EDB;
    const size_t rows = (size_t) PQntuples(r);
    registry_change_t **list = (registry_change_t **) s_array(call, rows);
    for (size_t i = 0; i < rows; i++)
        list[i] = s_change(call, r, (int) i);
    *out = list;
    *n = rows;
    PQclear(r);
    return 0;
}

int
registry_store_lock_districts(th_call_t *call, const char *a, const char *b)
{
    const char *params[] = {a, b};
    PGresult *r = s_exec(call,
                         "SELECT ags FROM registry.districts WHERE ags IN ($1, $2) "
                         "ORDER BY ags FOR UPDATE",
                         2, params);
    if (r == NULL)
        return TH_EDB;
    const int rc = PQntuples(r) == (strcmp(a, b) == 0 ? 1 : 2) ? 0 : TH_ENOTFOUND;
    PQclear(r);
    return rc;
}

int
registry_store_record_change(th_call_t *call, const char *effective, const char *kind,
                             const char *ags, const char *successor_ags, const char *note,
                             const char *by, registry_change_t **out)
{
    th_db_t *db = th_call_db(call);
    if (db == NULL)
        return TH_EDB;
    const int rc = s_apply_change(db, effective, ags, successor_ags);
    if (rc != 0)
        return rc;
    const char *params[] = {effective, kind, ags, successor_ags, note, by};
    PGresult *r = s_exec(call,
                         "INSERT INTO registry.territorial_changes AS c "
                         "(effective, kind, ags, successor_ags, note, recorded_by) "
                         "VALUES ($1::date, $2, $3, $4, $5, $6) RETURNING " S_CHANGE_COLUMNS,
                         6, params);
    if (r == NULL)
        return TH_EDB;
    *out = s_change(call, r, 0);
    PQclear(r);
    return 0;
}

/* --- concepts ----------------------------------------------------------- */

int
registry_store_get_concept(th_call_t *call, const char *ags, int64_t version,
                           registry_concept_t **out)
{
    char v[24];
    snprintf(v, sizeof v, "%" PRId64, version);
    const char *params[] = {ags, v};
    PGresult *r = s_exec(call,
                         "SELECT " S_CONCEPT_COLUMNS " FROM registry.concepts c WHERE c.ags = $1 "
                         "AND CASE WHEN $2::bigint = 0 THEN c.is_current ELSE c.version = $2::bigint END",
                         2, params);
    if (r == NULL)
        return TH_EDB;
    int rc = TH_ENOTFOUND;
    if (PQntuples(r) == 1) {
        *out = s_concept(call, r, 0);
        rc = 0;
    }
    PQclear(r);
    return rc;
}

int
registry_store_retire_concept(th_call_t *call, const char *ags, int64_t version)
{
    char v[24];
    snprintf(v, sizeof v, "%" PRId64, version);
    const char *params[] = {ags, v};
    /* Under READ COMMITTED a second writer blocks on the row lock here and
     * then re-checks is_current, which the first writer cleared: it updates
     * nothing and gets TH_ESTATE. */
    PGresult *r = s_exec(call,
                         "UPDATE registry.concepts SET is_current = false "
                         "WHERE ags = $1 AND version = $2::bigint AND is_current",
                         2, params);
    if (r == NULL)
        return TH_EDB;
    const int rc = strcmp(PQcmdTuples(r), "1") == 0 ? 0 : TH_ESTATE;
    PQclear(r);
    return rc;
}

int
registry_store_insert_concept(th_call_t *call, const registry_concept_t *c, int64_t version,
                              const char *by, registry_concept_t **out)
{
    char v[24];
    snprintf(v, sizeof v, "%" PRId64, version);
    /* fields as an array literal of tokens (validated enum values). */
    char **tokens = c->n_fields ? th_call_alloc(call, c->n_fields * sizeof(char *)) : NULL;
    for (size_t i = 0; i < c->n_fields; i++)
        tokens[i] = (char *) registry_field_text((int) c->fields[i]);
    const char *fields = s_array_literal(call, tokens, c->n_fields);
    const char *params[] = {c->ags,
                            v,
                            c->title,
                            c->adopted_on,
                            c->last_updated_on[0] != '\0' ? c->last_updated_on : NULL,
                            registry_orientation_text((int) c->orientation),
                            fields,
                            c->link,
                            by};
    PGresult *r = s_exec(call,
                         "INSERT INTO registry.concepts AS c (ags, version, title, adopted_on, "
                         "last_updated_on, orientation, fields, link, is_current, created_by) "
                         "VALUES ($1, $2::bigint, $3, $4::date, $5::date, $6, $7::text[], $8, "
                         "true, $9) ON CONFLICT DO NOTHING RETURNING " S_CONCEPT_COLUMNS,
                         9, params);
    if (r == NULL)
        return TH_EDB;
    int rc = TH_ESTATE;
    if (PQntuples(r) == 1) {
        *out = s_concept(call, r, 0);
        rc = 0;
    }
    PQclear(r);
    return rc;
}

int
registry_store_list_concepts(th_call_t *call, const char *state_code, const char *orientation,
                             const char *after_ags, int limit, registry_concept_t ***out,
                             size_t *n)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit);
    const char *params[] = {state_code, orientation, after_ags, lim};
    PGresult *r = s_exec(call,
                         "SELECT " S_CONCEPT_COLUMNS " FROM registry.concepts c "
                         "WHERE c.is_current AND ($1::text IS NULL OR substr(c.ags, 1, 2) = $1) "
                         "AND ($2::text IS NULL OR c.orientation = $2) "
                         "AND ($3::text IS NULL OR c.ags > $3) ORDER BY c.ags LIMIT $4::int",
                         4, params);
    if (r == NULL)
        return TH_EDB;
    s_concepts(call, r, out, n);
    PQclear(r);
    return 0;
}

int
registry_store_list_concept_versions(th_call_t *call, const char *ags, int64_t before_version,
                                     int limit, registry_concept_t ***out, size_t *n)
{
    char before[24], lim[16];
    snprintf(before, sizeof before, "%" PRId64, before_version);
    snprintf(lim, sizeof lim, "%d", limit);
    const char *params[] = {ags, before, lim};
    PGresult *r = s_exec(call,
                         "SELECT " S_CONCEPT_COLUMNS " FROM registry.concepts c WHERE c.ags = $1 "
                         "AND ($2::bigint = 0 OR c.version < $2::bigint) "
                         "ORDER BY c.version DESC LIMIT $3::int",
                         3, params);
    if (r == NULL)
        return TH_EDB;
    s_concepts(call, r, out, n);
    PQclear(r);
    return 0;
}

/* --- managers ----------------------------------------------------------- */

int
registry_store_create_manager(th_call_t *call, const registry_manager_t *m,
                              registry_manager_t **out)
{
    const char *params[] = {m->state_code, m->name,  m->email,
                            m->phone,      m->organisation, m->funding_programme,
                            m->principal_id};
    PGresult *r = s_exec(call,
                         "INSERT INTO registry.managers AS m (state_code, name, email, phone, "
                         "organisation, funding_programme, principal_id) "
                         "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING " S_MANAGER_COLUMNS,
                         7, params);
    if (r == NULL)
        return TH_EDB;
    *out = s_manager(call, r, 0);
    PQclear(r);
    return 0;
}

int
registry_store_get_manager(th_call_t *call, const char *id, bool for_update,
                           registry_manager_t **out)
{
    const char *params[] = {id};
    PGresult *r = s_exec(call,
                         for_update ? "SELECT " S_MANAGER_COLUMNS
                                      " FROM registry.managers m WHERE m.id = $1 FOR UPDATE"
                                    : "SELECT " S_MANAGER_COLUMNS
                                      " FROM registry.managers m WHERE m.id = $1",
                         1, params);
    if (r == NULL)
        return TH_EDB;
    int rc = TH_ENOTFOUND;
    if (PQntuples(r) == 1) {
        *out = s_manager(call, r, 0);
        rc = 0;
    }
    PQclear(r);
    return rc;
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
    PGresult *r = s_exec(call,
                         "UPDATE registry.managers AS m SET name = $2, email = $3, phone = $4, "
                         "organisation = $5, funding_programme = $6, principal_id = $7, "
                         "version = m.version + 1, updated_at = now() "
                         "WHERE m.id = $1 AND m.version = $8::bigint RETURNING " S_MANAGER_COLUMNS,
                         8, params);
    if (r == NULL)
        return TH_EDB;
    int rc = 0;
    if (PQntuples(r) == 1) {
        *out = s_manager(call, r, 0);
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
    PGresult *r = s_exec(call,
                         "SELECT " S_ASSIGNMENT_COLUMNS " FROM registry.manager_assignments a "
                         "WHERE a.manager_id = $1 AND ($2::date IS NULL OR " S_VALID_ON("a", "$2")
                         ") ORDER BY a.ags, a.valid_from, a.id",
                         2, params);
    if (r == NULL)
        return TH_EDB;
    const size_t rows = (size_t) PQntuples(r);
    registry_assignment_t **list = (registry_assignment_t **) s_array(call, rows);
    for (size_t i = 0; i < rows; i++)
        list[i] = s_assignment(call, r, (int) i);
    *out = list;
    *n = rows;
    PQclear(r);
    return 0;
}

int
registry_store_assignment_overlaps(th_call_t *call, const char *manager_id, const char *ags,
                                   const char *from, const char *to, bool *overlaps)
{
    const char *params[] = {manager_id, ags, from, to};
    PGresult *r = s_exec(call,
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
    PGresult *r = s_exec(call,
                         "INSERT INTO registry.manager_assignments AS a "
                         "(manager_id, ags, valid_from, valid_to) "
                         "VALUES ($1, $2, $3::date, $4::date) RETURNING " S_ASSIGNMENT_COLUMNS,
                         4, params);
    if (r == NULL)
        return TH_EDB;
    *out = s_assignment(call, r, 0);
    PQclear(r);
    return 0;
}

int
registry_store_active_assignment(th_call_t *call, const char *manager_id, const char *ags,
                                 const char *date, registry_assignment_t **out)
{
    const char *params[] = {manager_id, ags, date};
    PGresult *r = s_exec(call,
                         "SELECT " S_ASSIGNMENT_COLUMNS " FROM registry.manager_assignments a "
                         "WHERE a.manager_id = $1 AND a.ags = $2 AND " S_VALID_ON("a", "$3")
                         " ORDER BY a.valid_from LIMIT 1 FOR UPDATE",
                         3, params);
    if (r == NULL)
        return TH_EDB;
    int rc = TH_ENOTFOUND;
    if (PQntuples(r) == 1) {
        *out = s_assignment(call, r, 0);
        rc = 0;
    }
    PQclear(r);
    return rc;
}

int
registry_store_end_assignment(th_call_t *call, int64_t id, const char *end_date,
                              registry_assignment_t **out)
{
    char idbuf[24];
    snprintf(idbuf, sizeof idbuf, "%" PRId64, id);
    const char *params[] = {idbuf, end_date};
    PGresult *r = s_exec(call,
                         "UPDATE registry.manager_assignments AS a SET valid_to = $2::date "
                         "WHERE a.id = $1::bigint RETURNING " S_ASSIGNMENT_COLUMNS,
                         2, params);
    if (r == NULL)
        return TH_EDB;
    int rc = TH_ENOTFOUND;
    if (PQntuples(r) == 1) {
        *out = s_assignment(call, r, 0);
        rc = 0;
    }
    PQclear(r);
    return rc;
}

int
registry_store_list_managers(th_call_t *call, const char *state_code, const char *ags,
                             const char *as_of, int64_t offset, int limit,
                             registry_manager_t ***out, size_t *n)
{
    char off[24], lim[16];
    snprintf(off, sizeof off, "%" PRId64, offset);
    snprintf(lim, sizeof lim, "%d", limit);
    const char *params[] = {state_code, ags, as_of, off, lim};
    /* One statement for the page: the managers, each joined with its
     * assignments active on as_of (none: one row with NULLs), in the order
     * of the page, so the rows of one manager follow each other. */
    PGresult *r = s_exec(
        call,
        "SELECT " S_MANAGER_COLUMNS ", " S_ASSIGNMENT_COLUMNS " FROM (SELECT m.* FROM "
        "registry.managers m WHERE CASE WHEN $2::text IS NOT NULL THEN EXISTS (SELECT 1 FROM "
        "registry.manager_assignments a WHERE a.manager_id = m.id AND a.ags = $2 AND "
        S_VALID_ON("a", "$3") ") ELSE ($1::text IS NULL OR m.state_code = $1) END "
        "ORDER BY m.name, m.id OFFSET $4::bigint LIMIT $5::int) m "
        "LEFT JOIN registry.manager_assignments a ON a.manager_id = m.id AND "
        S_VALID_ON("a", "$3") " ORDER BY m.name, m.id, a.ags, a.valid_from, a.id",
        5, params);
    if (r == NULL)
        return TH_EDB;
    enum { S_FIRST_ASSIGNMENT_COLUMN = 9 };
    const int rows = PQntuples(r);
    size_t managers = 0;
    for (int i = 0; i < rows; i++)
        managers += i == 0 || strcmp(PQgetvalue(r, i, 0), PQgetvalue(r, i - 1, 0)) != 0;
    registry_manager_t **list = (registry_manager_t **) s_array(call, managers);
    size_t k = 0;
    for (int i = 0; i < rows;) {
        registry_manager_t *m = s_manager(call, r, i);
        int end = i + 1;
        while (end < rows && strcmp(PQgetvalue(r, end, 0), PQgetvalue(r, i, 0)) == 0)
            end++;
        const size_t count = PQgetisnull(r, i, S_FIRST_ASSIGNMENT_COLUMN) ? 0 : (size_t) (end - i);
        m->assignments = (registry_assignment_t **) s_array(call, count);
        m->n_assignments = count;
        for (size_t a = 0; a < count; a++)
            m->assignments[a] = s_assignment_at(call, r, i + (int) a, S_FIRST_ASSIGNMENT_COLUMN);
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
    PGresult *r = s_exec(call,
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

/* --- principals --------------------------------------------------------- */

int
registry_store_principal_conflict(th_call_t *call, const char *id, const char *public_key,
                                  const char **conflict)
{
    const char *params[] = {id, public_key};
    PGresult *r = s_exec(call,
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
    const char *scope = s_array_literal(call, p->district_scope, p->n_district_scope);
    const char *params[] = {p->id, p->name, p->role, p->state_scope, scope, p->public_key};
    PGresult *r = s_exec(call,
                         "INSERT INTO registry.principals AS p (id, name, role, state_scope, "
                         "district_scope, public_key) VALUES ($1, $2, $3, $4, $5::text[], $6) "
                         "RETURNING " S_PRINCIPAL_COLUMNS,
                         6, params);
    if (r == NULL)
        return TH_EDB;
    *out = s_principal(call, r, 0);
    PQclear(r);
    return 0;
}

int
registry_store_get_principal(th_call_t *call, const char *id, registry_principal_t **out)
{
    const char *params[] = {id};
    PGresult *r = s_exec(call,
                         "SELECT " S_PRINCIPAL_COLUMNS " FROM registry.principals p WHERE p.id = $1",
                         1, params);
    if (r == NULL)
        return TH_EDB;
    int rc = TH_ENOTFOUND;
    if (PQntuples(r) == 1) {
        *out = s_principal(call, r, 0);
        rc = 0;
    }
    PQclear(r);
    return rc;
}

int
registry_store_list_principals(th_call_t *call, bool include_revoked, const char *role,
                               const char *after_id, int limit, registry_principal_t ***out,
                               size_t *n)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit);
    const char *params[] = {include_revoked ? "true" : "false", role, after_id, lim};
    PGresult *r = s_exec(call,
                         "SELECT " S_PRINCIPAL_COLUMNS " FROM registry.principals p "
                         "WHERE ($1::boolean OR p.revoked_at IS NULL) "
                         "AND ($2::text IS NULL OR p.role = $2) "
                         "AND ($3::text IS NULL OR p.id > $3) ORDER BY p.id LIMIT $4::int",
                         4, params);
    if (r == NULL)
        return TH_EDB;
    const size_t rows = (size_t) PQntuples(r);
    registry_principal_t **list = (registry_principal_t **) s_array(call, rows);
    for (size_t i = 0; i < rows; i++)
        list[i] = s_principal(call, r, (int) i);
    *out = list;
    *n = rows;
    PQclear(r);
    return 0;
}

int
registry_store_revoke_principal(th_call_t *call, const char *id, registry_principal_t **out)
{
    const char *params[] = {id};
    PGresult *r = s_exec(call,
                         "UPDATE registry.principals AS p SET revoked_at = now() "
                         "WHERE p.id = $1 AND p.revoked_at IS NULL RETURNING " S_PRINCIPAL_COLUMNS,
                         1, params);
    if (r == NULL)
        return TH_EDB;
    int rc = 0;
    if (PQntuples(r) == 1) {
        *out = s_principal(call, r, 0);
    } else {
        rc = registry_store_get_principal(call, id, out);
        if (rc == 0)
            rc = TH_ESTATE;
    }
    PQclear(r);
    return rc;
}

/* --- events ------------------------------------------------------------- */

int
registry_store_list_events(th_call_t *call, int64_t after_sequence, int limit,
                           const registry_event_filter_t *filter, registry_event_t ***out,
                           size_t *n)
{
    char after[24], lim[16];
    snprintf(after, sizeof after, "%" PRId64, after_sequence);
    snprintf(lim, sizeof lim, "%d", limit);
    /* Filtered here rather than after the read, so a page holds `limit`
     * visible events whenever that many exist and an empty page still means
     * "caught up". A manager event's Land is its manager's (resource
     * "managers/<id>"; a manager never changes Land). */
    const char *params[] = {after, lim, filter->principals ? "true" : "false",
                            filter->managers_all ? "true" : "false", filter->managers_land};
    PGresult *r = s_exec(call,
                         "SELECT e.sequence, e.topic, e.resource, " S_TS("e.created_at")
                         ", e.payload FROM registry.events e WHERE e.sequence > $1::bigint "
                         "AND ($3::boolean OR e.topic NOT LIKE 'principal.%') "
                         "AND ($4::boolean OR e.topic NOT LIKE 'manager.%' OR EXISTS ("
                         "SELECT 1 FROM registry.managers m WHERE e.resource LIKE 'managers/%' "
                         "AND m.id = substr(e.resource, 10) AND m.state_code = $5::text)) "
                         "ORDER BY e.sequence LIMIT $2::int",
                         5, params);
    if (r == NULL)
        return TH_EDB;
    const size_t rows = (size_t) PQntuples(r);
    registry_event_t **list = (registry_event_t **) s_array(call, rows);
    for (size_t i = 0; i < rows; i++) {
        registry_event_t *e = th_call_alloc(call, sizeof *e);
        teilhabe__registry__v1__event__init(e);
        e->sequence = s_i64(r, (int) i, 0);
        e->topic = s_str(call, r, (int) i, 1);
        e->resource = s_str(call, r, (int) i, 2);
        e->create_time = s_str(call, r, (int) i, 3);
        size_t len = 0;
        unsigned char *raw =
            PQunescapeBytea((const unsigned char *) PQgetvalue(r, (int) i, 4), &len);
        if (raw != NULL) {
            e->payload.data = len ? th_call_alloc(call, len) : NULL;
            if (len)
                memcpy(e->payload.data, raw, len);
            e->payload.len = len;
            PQfreemem(raw);
        }
        list[i] = e;
    }
    *out = list;
    *n = rows;
    PQclear(r);
    return 0;
}
