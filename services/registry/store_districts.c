/* ---------------------------------------------------------------------------
 * store_districts.c: the SQL of districts, Länder and territorial changes,
 * seeding's included
 * ---------------------------------------------------------------------------
 */
/* The SQL is laid out by hand (string pieces joined with column macros),
 * which clang-format would break apart. */
/* clang-format off */
#include "store.h"

#include "store_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seed.h"
#include "th_error.h"
#include "th_row.h"

/* A district with the figures (area, population) of one territorial status,
 * joined as f; its settlement type derives from kind and those figures.
 * Named after the fields of District (th_row). */
#define S_DISTRICT_COLUMNS                                                                     \
    "d.ags, d.name, d.official_kind, d.kind, d.state_code, s.name AS state_name, d.nuts3, "    \
    "f.area_km2, f.population, f.population_male, f.population_female, "                       \
    S_DATE("f.population_date") " AS population_date, f.population_per_km2, "                 \
    "registry.settlement_type(d.kind, f.population, f.population_per_km2) AS settlement_type, " \
    S_DATE("d.valid_from") " AS valid_from, " S_DATE("d.valid_to") " AS valid_to, "           \
    "d.successor_ags, " S_DATE("f.valid_from") " AS figures_valid_from"
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

#define S_CHANGE_COLUMNS                                                                       \
    "c.id, " S_DATE("c.effective") " AS effective, c.kind, c.ags, c.successor_ags, c.note, "   \
    "c.recorded_by, " S_TS("c.recorded_at") " AS record_time"

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
    teilhabe__registry__v1__district__init(out);
    th_row_fill(NULL, *result, 0, 0, 0, &out->base);
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
    teilhabe__registry__v1__territorial_change__init(out);
    th_row_fill(NULL, r, 0, 0, 0, &out->base);
    *result = r;
    r = NULL;

cleanup:
    PQclear(r);
    return rc;
}

/* --- districts and states ----------------------------------------------- */

int
registry_store_get_district(th_call_t *call, const char *ags, const char *as_of,
                            registry_district_t **out)
{
    const char *params[] = {ags, as_of};
    PGresult *r = registry_store__exec_hot(call, "registry_get_district", S_DISTRICT_GET, 2,
                                           params);
    return th_row_take_one(call, &teilhabe__registry__v1__district__descriptor, r, TH_ENOTFOUND,
                           (void **) out);
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
    PGresult *r = registry_store__exec_hot(call, "registry_list_districts",
                             "SELECT " S_DISTRICT_COLUMNS S_DISTRICT_FROM_ON("$1")
                             S_DISTRICT_FILTER
                             "AND ($5::text IS NULL OR d.ags > $5) ORDER BY d.ags LIMIT $6::int",
                             6, params);
    if (r == NULL)
        return TH_EDB;
    *out = (registry_district_t **) th_row_all(
        call, &teilhabe__registry__v1__district__descriptor, r, n);
    PQclear(r);
    r = registry_store__exec_hot(call, "registry_count_districts",
                   "SELECT count(*)" S_DISTRICT_FROM_ON("$1") S_DISTRICT_FILTER, 4, params);
    if (r == NULL)
        return TH_EDB;
    *total = (int) registry_store__i64(r, 0, 0);
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
    PGresult *r = registry_store__exec_hot(
        call, "registry_search_districts",
        "SELECT " S_DISTRICT_COLUMNS S_DISTRICT_FROM_NEAR("$2")
        "WHERE (strpos(d.search_key, $1) > 0 OR strpos(d.search_key_expanded, $1) > 0 "
        "OR starts_with(d.ags, $1)) "
        "AND ($3::boolean OR " S_VALID_ON("d", "$2") ") "
        "ORDER BY NOT (starts_with(d.search_key, $1) OR starts_with(d.search_key_expanded, $1)), "
        "d.ags LIMIT $4::int",
        4, params);
    return th_row_take_all(call, &teilhabe__registry__v1__district__descriptor,
                           r, (void ***) out, n);
}

int
registry_store_list_states(th_call_t *call, const char *as_of, registry_state_t ***out,
                           size_t *n)
{
    const char *params[] = {as_of};
    PGresult *r = registry_store__exec_hot(call, "registry_list_states",
                         "SELECT s.code, s.name, count(d.ags) AS district_count, "
                         "coalesce(sum(f.population), 0) AS population, "
                         S_DATE("min(f.population_date)") " AS population_date "
                         "FROM registry.states s LEFT JOIN (registry.districts d "
                         "JOIN registry.district_figures f ON f.ags = d.ags AND "
                         S_VALID_ON("f", "$1") ") ON d.state_code = s.code AND "
                         S_VALID_ON("d", "$1") " GROUP BY s.code, s.name ORDER BY s.code",
                         1, params);
    return th_row_take_all(call, &teilhabe__registry__v1__state__descriptor, r, (void ***) out, n);
}

int
registry_store_state_exists(th_call_t *call, const char *code, bool *exists)
{
    const char *params[] = {code};
    PGresult *r = th_row_exec(call, "SELECT 1 FROM registry.states WHERE code = $1", 1,
                                       params);
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
    PGresult *r = th_row_exec(call,
                         "SELECT " S_CHANGE_COLUMNS " FROM registry.territorial_changes c "
                         "WHERE c.ags = $1 OR c.successor_ags = $1 ORDER BY c.effective, c.id",
                         1, params);
    return th_row_take_all(call, &teilhabe__registry__v1__territorial_change__descriptor,
                           r, (void ***) out, n);
}

int
registry_store_lock_districts(th_call_t *call, const char *a, const char *b)
{
    const char *params[] = {a, b};
    PGresult *r = th_row_exec(call,
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
    PGresult *r = th_row_exec(call,
                         "INSERT INTO registry.territorial_changes AS c "
                         "(effective, kind, ags, successor_ags, note, recorded_by) "
                         "VALUES ($1::date, $2, $3, $4, $5, $6) RETURNING " S_CHANGE_COLUMNS,
                         6, params);
    if (r == NULL)
        return TH_EDB;
    *out = th_row_new(call, &teilhabe__registry__v1__territorial_change__descriptor, r, 0);
    PQclear(r);
    return 0;
}

/* --- the territory, whole, for the cache -------------------------------- */

/* One statement of the load on conn: its result, or NULL with the reason in
 * errbuf. */
static PGresult *
s_load_exec(PGconn *conn, const char *sql, ExecStatusType want, char *errbuf, size_t errlen)
{
    PGresult *r = PQexec(conn, sql);
    if (PQresultStatus(r) == want)
        return r;
    snprintf(errbuf, errlen, "%s", r != NULL ? PQresultErrorMessage(r) : PQerrorMessage(conn));
    /* libpq ends its messages with a newline; a log line must not */
    const size_t len = strlen(errbuf);
    if (len > 0 && errbuf[len - 1] == '\n')
        errbuf[len - 1] = '\0';
    PQclear(r);
    return NULL;
}

int
registry_store_territory_load(PGconn *conn, registry_territory_rows_t *rows, char *errbuf,
                              size_t errlen)
{
    *rows = (registry_territory_rows_t){0};
    PGresult *r = s_load_exec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                              PGRES_COMMAND_OK, errbuf, errlen);
    if (r == NULL)
        return TH_EDB;
    PQclear(r);
    if ((r = s_load_exec(conn, "SELECT version FROM registry.territory_version",
                         PGRES_TUPLES_OK, errbuf, errlen)) == NULL)
        goto fail;
    if (PQntuples(r) != 1) {
        snprintf(errbuf, errlen, "registry.territory_version holds %d rows, not 1",
                 PQntuples(r));
        PQclear(r);
        goto fail;
    }
    rows->version = registry_store__i64(r, 0, 0);
    PQclear(r);
    /* Ordered here too, though the cache sorts by bytes itself: a
     * collation never decides what the cache answers. */
    if ((rows->states = s_load_exec(conn, "SELECT code, name FROM registry.states ORDER BY code",
                                    PGRES_TUPLES_OK, errbuf, errlen)) == NULL ||
        (rows->districts = s_load_exec(conn,
                                "SELECT " S_DISTRICT_COLUMNS ", "
                                S_DATE("f.valid_to") " AS figures_valid_to, "
                                "d.search_key, d.search_key_expanded "
                                "FROM registry.districts d "
                                "JOIN registry.states s ON s.code = d.state_code "
                                "JOIN registry.district_figures f ON f.ags = d.ags "
                                "ORDER BY d.ags, f.valid_from",
                                PGRES_TUPLES_OK, errbuf, errlen)) == NULL ||
        (rows->changes = s_load_exec(conn,
                                "SELECT " S_CHANGE_COLUMNS " FROM registry.territorial_changes c "
                                "ORDER BY c.effective, c.id",
                                PGRES_TUPLES_OK, errbuf, errlen)) == NULL)
        goto fail;
    if ((r = s_load_exec(conn, "COMMIT", PGRES_COMMAND_OK, errbuf, errlen)) == NULL)
        goto fail;
    PQclear(r);
    return 0;
fail:
    registry_store_territory_rows_clear(rows);
    /* A failed statement aborted the transaction; a lost connection has
     * none. Either way nothing stays open. */
    PQclear(PQexec(conn, "ROLLBACK"));
    return TH_EDB;
}

void
registry_store_territory_rows_clear(registry_territory_rows_t *rows)
{
    PQclear(rows->states);
    PQclear(rows->districts);
    PQclear(rows->changes);
    *rows = (registry_territory_rows_t){0};
}

int
registry_store_territory_version(th_call_t *call, int64_t *version)
{
    PGresult *r = th_row_exec(call, "SELECT version FROM registry.territory_version",
                                       0, NULL);
    if (r == NULL)
        return TH_EDB;
    const int rc = PQntuples(r) == 1 ? 0 : TH_ENOTFOUND;
    if (rc == 0)
        *version = registry_store__i64(r, 0, 0);
    PQclear(r);
    return rc;
}
