/* ---------------------------------------------------------------------------
 * store_concepts.c: the SQL of integration concepts (every version kept,
 * one of them current)
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

#include "teilhabe/v1/fields.pb-c.h"
#include "th_error.h"
#include "th_row.h"

/* Named after the fields of Concept (th_row); fields is the text[] of
 * tokens of FieldOfAction. */
#define S_CONCEPT_COLUMNS                                                                      \
    "c.ags, c.title, " S_DATE("c.adopted_on") " AS adopted_on, "                               \
    S_DATE("c.last_updated_on") " AS last_updated_on, c.orientation, c.fields, c.link, "        \
    "c.version, c.created_by AS updated_by, " S_TS("c.created_at") " AS update_time"

int
registry_store_get_concept(th_call_t *call, const char *ags, int64_t version,
                           registry_concept_t **out)
{
    char v[24];
    snprintf(v, sizeof v, "%" PRId64, version);
    const char *params[] = {ags, v};
    PGresult *r = th_row_exec(call,
                         "SELECT " S_CONCEPT_COLUMNS " FROM registry.concepts c WHERE c.ags = $1 "
                         "AND CASE WHEN $2::bigint = 0 THEN c.is_current ELSE c.version = $2::bigint END",
                         2, params);
    return th_row_take_one(call, &teilhabe__registry__v1__concept__descriptor, r, TH_ENOTFOUND,
                           (void **) out);
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
    PGresult *r = th_row_exec(call,
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
        tokens[i] = (char *) th_row_enum_param(
            call, &teilhabe__common__v1__field_of_action__descriptor, (int) c->fields[i]);
    const char *fields = th_row_array_literal(call, tokens, c->n_fields);
    const char *params[] = {c->ags,
                            v,
                            c->title,
                            c->adopted_on,
                            c->last_updated_on[0] != '\0' ? c->last_updated_on : NULL,
                            th_row_enum_param(call, &teilhabe__registry__v1__orientation__descriptor,
                                              (int) c->orientation),
                            fields,
                            c->link,
                            by};
    PGresult *r = th_row_exec(call,
                         "INSERT INTO registry.concepts AS c (ags, version, title, adopted_on, "
                         "last_updated_on, orientation, fields, link, is_current, created_by) "
                         "VALUES ($1, $2::bigint, $3, $4::date, $5::date, $6, $7::text[], $8, "
                         "true, $9) ON CONFLICT DO NOTHING RETURNING " S_CONCEPT_COLUMNS,
                         9, params);
    return th_row_take_one(call, &teilhabe__registry__v1__concept__descriptor, r, TH_ESTATE,
                           (void **) out);
}

int
registry_store_list_concepts(th_call_t *call, const char *state_code, const char *orientation,
                             const char *as_of, const char *after_ags, int limit,
                             registry_concept_t ***out, size_t *n)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit);
    const char *params[] = {state_code, orientation, after_ags, lim, as_of};
    /* With as_of: per district the latest version adopted on or before it
     * (DISTINCT ON keeps the first row of each ags in version order). */
    PGresult *r = th_row_exec(call,
                         as_of == NULL
                             ? "SELECT " S_CONCEPT_COLUMNS " FROM registry.concepts c "
                               "WHERE c.is_current "
                               "AND ($1::text IS NULL OR substr(c.ags, 1, 2) = $1) "
                               "AND ($2::text IS NULL OR c.orientation = $2) "
                               "AND ($3::text IS NULL OR c.ags > $3) "
                               "AND $5::date IS NULL ORDER BY c.ags LIMIT $4::int"
                             : "SELECT * FROM (SELECT DISTINCT ON (c.ags) " S_CONCEPT_COLUMNS
                               " FROM registry.concepts c "
                               "WHERE c.adopted_on <= $5::date "
                               "AND ($1::text IS NULL OR substr(c.ags, 1, 2) = $1) "
                               "AND ($3::text IS NULL OR c.ags > $3) "
                               "ORDER BY c.ags, c.version DESC) v "
                               "WHERE ($2::text IS NULL OR v.orientation = $2) "
                               "ORDER BY v.ags LIMIT $4::int",
                         5, params);
    return th_row_take_all(call, &teilhabe__registry__v1__concept__descriptor,
                           r, (void ***) out, n);
}

int
registry_store_list_concept_versions(th_call_t *call, const char *ags, int64_t before_version,
                                     int limit, registry_concept_t ***out, size_t *n)
{
    char before[24], lim[16];
    snprintf(before, sizeof before, "%" PRId64, before_version);
    snprintf(lim, sizeof lim, "%d", limit);
    const char *params[] = {ags, before, lim};
    PGresult *r = th_row_exec(call,
                         "SELECT " S_CONCEPT_COLUMNS " FROM registry.concepts c WHERE c.ags = $1 "
                         "AND ($2::bigint = 0 OR c.version < $2::bigint) "
                         "ORDER BY c.version DESC LIMIT $3::int",
                         3, params);
    return th_row_take_all(call, &teilhabe__registry__v1__concept__descriptor,
                           r, (void ***) out, n);
}
