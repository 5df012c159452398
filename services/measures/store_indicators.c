/* ---------------------------------------------------------------------------
 * store_indicators.c: the SQL of the indicator catalogue and the indicator
 * values (parameterized statements only). A write of many values is three
 * statements however many there are: their keys, numbers and texts travel
 * as arrays and are unnested in the database.
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
#include "th_enum.h"
#include "th_error.h"
#include "th_row.h"

/* Named after the fields of Indicator (th_row). */
#define S_INDICATOR_COLUMNS                                                                    \
    "i.code, i.name_de, i.name_en, i.unit, i.field, i.numerator, i.denominator, i.factor, "    \
    "i.direction, i.disaggregations, i.source, i.illustrative, i.created_by, "                 \
    TH_ROW_SQL_TS("i.created_at") " AS create_time"

/* Named after the fields of IndicatorValue; the value is computed here,
 * never stored: numerator x factor / denominator, or the plain count. */
#define S_VALUE_COLUMNS                                                                        \
    "v.ags, v.indicator_code, v.period, v.disaggregation, v.numerator, v.denominator, "        \
    "CASE WHEN v.denominator = 0 THEN v.numerator::numeric "                                   \
    "ELSE round(v.numerator::numeric * i.factor / v.denominator, 6) END AS value, "            \
    "v.source, v.note, v.updated_by, " TH_ROW_SQL_TS("v.updated_at") " AS update_time"

/* The texts of an indicator's columns as statement parameters, $1 to
 * $12 (created_by, $13, is the caller's); the buffers hold what is made
 * here. Enum values are validated, so their tokens need no quoting in the
 * array literal. */
#define S_INDICATOR_PARAMS 12
typedef struct {
    char factor[24];
    char field[TH_ENUM_TEXT_SIZE];
    char direction[TH_ENUM_TEXT_SIZE];
    char disaggregations[4 * TH_ENUM_TEXT_SIZE];
} s_indicator_text_t;

static void
s_indicator_params(const indicator_t *ind, s_indicator_text_t *t, const char **out)
{
    snprintf(t->factor, sizeof t->factor, "%" PRId64, ind->factor);
    size_t o = 0;
    t->disaggregations[o++] = '{';
    for (size_t i = 0; i < ind->n_disaggregations && i < 3; i++) {
        char token[TH_ENUM_TEXT_SIZE];
        if (th_enum_token(&teilhabe__measures__v1__disaggregation__descriptor,
                          (int) ind->disaggregations[i], token, sizeof token) == NULL)
            continue;
        o += (size_t) snprintf(t->disaggregations + o, sizeof t->disaggregations - o, "%s%s",
                               o > 1 ? "," : "", token);
    }
    snprintf(t->disaggregations + o, sizeof t->disaggregations - o, "}");
    out[0] = ind->code;
    out[1] = ind->name_de;
    out[2] = ind->name_en;
    out[3] = ind->unit;
    out[4] = th_enum_token(&teilhabe__common__v1__field_of_action__descriptor, (int) ind->field,
                           t->field, sizeof t->field);
    out[5] = ind->numerator;
    out[6] = ind->denominator;
    out[7] = t->factor;
    out[8] = th_enum_token(&teilhabe__measures__v1__direction__descriptor, (int) ind->direction,
                           t->direction, sizeof t->direction);
    out[9] = t->disaggregations;
    out[10] = ind->source;
    out[11] = ind->illustrative ? "true" : "false";
}

#define S_INSERT_INDICATOR                                                                     \
    "INSERT INTO measures.indicators AS i (code, name_de, name_en, unit, field, numerator, "   \
    "denominator, factor, direction, disaggregations, source, illustrative, created_by) "      \
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8::bigint, $9, $10::text[], $11, $12::boolean, "     \
    "$13) ON CONFLICT (code) DO NOTHING "

int
measures_store_seed_indicator(th_db_t *db, const indicator_t *ind, bool *inserted,
                              char create_time[40])
{
    s_indicator_text_t t;
    const char *params[S_INDICATOR_PARAMS + 1];
    s_indicator_params(ind, &t, params);
    params[S_INDICATOR_PARAMS] = "seed";
    PGresult *r = th_db_exec(db, S_INSERT_INDICATOR "RETURNING " TH_ROW_SQL_TS("i.created_at"),
                             S_INDICATOR_PARAMS + 1, params);
    if (r == NULL)
        return TH_EDB;
    *inserted = PQntuples(r) == 1;
    snprintf(create_time, 40, "%s", *inserted ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
    return 0;
}

int
measures_store_create_indicator(th_call_t *call, const indicator_t *ind, const char *by,
                                indicator_t **out)
{
    s_indicator_text_t t;
    const char *params[S_INDICATOR_PARAMS + 1];
    s_indicator_params(ind, &t, params);
    params[S_INDICATOR_PARAMS] = by;
    PGresult *r = th_row_exec(call, S_INSERT_INDICATOR "RETURNING " S_INDICATOR_COLUMNS,
                                       S_INDICATOR_PARAMS + 1, params);
    return th_row_take_one(call, &teilhabe__measures__v1__indicator__descriptor, r, TH_ESTATE,
                           (void **) out);
}

int
measures_store_get_indicator(th_call_t *call, const char *code, indicator_t **out)
{
    const char *params[] = {code};
    PGresult *r = th_row_exec(call,
        "SELECT " S_INDICATOR_COLUMNS " FROM measures.indicators i WHERE i.code = $1",
        1, params);
    return th_row_take_one(call, &teilhabe__measures__v1__indicator__descriptor, r, TH_ENOTFOUND,
                           (void **) out);
}

int
measures_store_list_indicators(th_call_t *call, const char *field, const char *after, int limit,
                               indicator_t ***out, size_t *n)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit);
    const char *params[] = {field, after, lim};
    PGresult *r = th_row_exec(call,
        "SELECT " S_INDICATOR_COLUMNS " FROM measures.indicators i "
        "WHERE ($1::text IS NULL OR i.field = $1) AND ($2::text IS NULL OR i.code > $2) "
        "ORDER BY i.code LIMIT $3::int",
        3, params);
    return th_row_take_all(call, &teilhabe__measures__v1__indicator__descriptor,
                           r, (void ***) out, n);
}

int
measures_store_indicators_named(th_call_t *call, char *const *codes, size_t n,
                                indicator_t ***out, size_t *n_out)
{
    const char *params[] = {th_row_array_literal(call, codes, n)};
    PGresult *r = th_row_exec(call,
        "SELECT " S_INDICATOR_COLUMNS " FROM measures.indicators i "
        "WHERE i.code = ANY ($1::text[])",
        1, params);
    return th_row_take_all(call, &teilhabe__measures__v1__indicator__descriptor,
                           r, (void ***) out, n_out);
}

/* --- values ------------------------------------------------------------------ */

/* The four key arrays of rows as literals ($1 to $4). */
static void
s_key_params(th_call_t *call, const measures_value_rows_t *rows, const char **out)
{
    out[0] = th_row_array_literal(call, rows->ags, rows->n);
    out[1] = th_row_array_literal(call, rows->code, rows->n);
    out[2] = th_row_array_literal(call, rows->period, rows->n);
    out[3] = th_row_array_literal(call, rows->disaggregation, rows->n);
}

#define S_KEYS                                                                                 \
    "unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY "                  \
    "AS k(ags, indicator_code, period, disaggregation, n)"
#define S_KEY_JOIN                                                                             \
    "JOIN measures.indicator_values v ON v.ags = k.ags AND v.indicator_code = "                \
    "k.indicator_code AND v.period = k.period AND v.disaggregation = k.disaggregation "        \
    "JOIN measures.indicators i ON i.code = v.indicator_code "

int
measures_store_lock_values(th_call_t *call, const measures_value_rows_t *rows, value_t ***out,
                           size_t *n)
{
    const char *params[4];
    s_key_params(call, rows, params);
    /* Locked in key order, so two writers of overlapping values cannot
     * deadlock on each other's rows. */
    PGresult *r = th_row_exec(call,
        "SELECT " S_VALUE_COLUMNS " FROM " S_KEYS " " S_KEY_JOIN
        "ORDER BY v.ags, v.indicator_code, v.period, v.disaggregation FOR UPDATE OF v",
        4, params);
    return th_row_take_all(call, &teilhabe__measures__v1__indicator_value__descriptor,
                           r, (void ***) out, n);
}

int
measures_store_put_values(th_call_t *call, const measures_value_rows_t *rows, const char *by,
                          int **changed)
{
    const char *params[11];
    s_key_params(call, rows, params);
    params[4] = th_row_array_literal(call, rows->period_start, rows->n);
    params[5] = th_row_array_literal(call, rows->period_end, rows->n);
    params[6] = th_row_array_literal(call, rows->numerator, rows->n);
    params[7] = th_row_array_literal(call, rows->denominator, rows->n);
    params[8] = th_row_array_literal(call, rows->source, rows->n);
    params[9] = th_row_array_literal(call, rows->note, rows->n);
    params[10] = by;
    /* A value given again as stored is left alone (no row version, no
     * audit): the WHERE of DO UPDATE skips it, and RETURNING leaves it out. */
    PGresult *r = th_row_exec(call,
        "INSERT INTO measures.indicator_values AS v (ags, indicator_code, period, "
        "disaggregation, period_start, period_end, numerator, denominator, source, note, "
        "updated_by) SELECT k.ags, k.indicator_code, k.period, k.disaggregation, k.ps, k.pe, "
        "k.num, k.den, k.source, k.note, $11 FROM unnest($1::text[], $2::text[], $3::text[], "
        "$4::text[], $5::date[], $6::date[], $7::bigint[], $8::bigint[], $9::text[], $10::text[]) "
        "WITH ORDINALITY AS k(ags, indicator_code, period, disaggregation, ps, pe, num, den, "
        "source, note, n) ORDER BY k.n "
        "ON CONFLICT (ags, indicator_code, period, disaggregation) DO UPDATE SET "
        "numerator = excluded.numerator, denominator = excluded.denominator, "
        "source = excluded.source, note = excluded.note, updated_by = excluded.updated_by, "
        "updated_at = now() WHERE (v.numerator, v.denominator, v.source, v.note) IS DISTINCT "
        "FROM (excluded.numerator, excluded.denominator, excluded.source, excluded.note) "
        "RETURNING v.ags, v.indicator_code, v.period, v.disaggregation, (v.xmax = 0) AS created",
        11, params);
    if (r == NULL)
        return TH_EDB;
    int *flags = th_call_alloc(call, (rows->n > 0 ? rows->n : 1) * sizeof *flags);
    /* Each returned key marks its value (at most 1000: a plain search). */
    for (int row = 0; row < PQntuples(r); row++) {
        for (size_t i = 0; i < rows->n; i++) {
            if (flags[i] == 0 && strcmp(PQgetvalue(r, row, 0), rows->ags[i]) == 0 &&
                strcmp(PQgetvalue(r, row, 1), rows->code[i]) == 0 &&
                strcmp(PQgetvalue(r, row, 2), rows->period[i]) == 0 &&
                strcmp(PQgetvalue(r, row, 3), rows->disaggregation[i]) == 0) {
                flags[i] = strcmp(PQgetvalue(r, row, 4), "t") == 0 ? 1 : 2;
                break;
            }
        }
    }
    PQclear(r);
    *changed = flags;
    return 0;
}

int
measures_store_read_values(th_call_t *call, const measures_value_rows_t *rows, value_t ***out,
                           size_t *n)
{
    const char *params[4];
    s_key_params(call, rows, params);
    PGresult *r = th_row_exec(call,
        "SELECT " S_VALUE_COLUMNS " FROM " S_KEYS " " S_KEY_JOIN "ORDER BY k.n", 4, params);
    return th_row_take_all(call, &teilhabe__measures__v1__indicator_value__descriptor,
                           r, (void ***) out, n);
}

int
measures_store_list_values(th_call_t *call, const measures_value_filter_t *f, value_t ***out,
                           size_t *n)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", f->limit);
    const char *params[] = {f->ags,         f->state_code,  f->code,
                            f->disaggregation, f->from_day, f->to_day,
                            f->after_ags,   f->after_code,  f->after_start,
                            f->after_end,   f->after_disaggregation, lim};
    PGresult *r = th_row_exec(call,
        "SELECT " S_VALUE_COLUMNS " FROM measures.indicator_values v "
        "JOIN measures.indicators i ON i.code = v.indicator_code "
        "WHERE ($1::text IS NULL OR v.ags = $1) AND ($2::text IS NULL OR v.state_code = $2) "
        "AND ($3::text IS NULL OR v.indicator_code = $3) "
        "AND ($4::text IS NULL OR v.disaggregation = $4) "
        "AND ($5::date IS NULL OR v.period_start >= $5::date) "
        "AND ($6::date IS NULL OR v.period_end <= $6::date) "
        "AND ($7::text IS NULL OR (v.ags, v.indicator_code, v.period_start, v.period_end, "
        "v.disaggregation) > ($7::text, $8::text, $9::date, $10::date, $11::text)) "
        "ORDER BY v.ags, v.indicator_code, v.period_start, v.period_end, v.disaggregation "
        "LIMIT $12::int",
        12, params);
    return th_row_take_all(call, &teilhabe__measures__v1__indicator_value__descriptor,
                           r, (void ***) out, n);
}
