/* ---------------------------------------------------------------------------
 * store_import.c: the SQL of ImportValues (parameterized statements and one
 * COPY): the chunks of a file staged until its last arrives, and the checked
 * lines of the file COPYed into measures.import_rows and written from there
 * into measures.indicator_values in one statement (migrations/0004_import.sql).
 * ---------------------------------------------------------------------------
 */
/* The SQL is laid out by hand, which clang-format would break apart. */
/* clang-format off */
#include "store.h"

#include <libpq-fe.h>

#include "th_row.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "th_error.h"

int
measures_store_import_purge(th_call_t *call)
{
    PGresult *r = th_row_exec(call,
        "DELETE FROM measures.import_chunks WHERE created_at < now() - interval '1 hour'", 0,
        NULL);
    if (r == NULL)
        return TH_EDB;
    PQclear(r);
    return 0;
}

int
measures_store_import_staged(th_call_t *call, const char *by, const char *import_id,
                             int *n_chunks, int64_t *bytes, int *max_chunk)
{
    const char *params[] = {by, import_id};
    PGresult *r = th_row_exec(call,
        "SELECT count(*), coalesce(sum(length(data)), 0), coalesce(max(chunk), -1) "
        "FROM measures.import_chunks WHERE principal_id = $1 AND import_id = $2::uuid "
        "AND created_at >= now() - interval '1 hour'",
        2, params);
    if (r == NULL)
        return TH_EDB;
    *n_chunks = atoi(PQgetvalue(r, 0, 0));
    *bytes = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    *max_chunk = atoi(PQgetvalue(r, 0, 2));
    PQclear(r);
    return 0;
}

int
measures_store_import_stage(th_call_t *call, const char *by, const char *import_id, int chunk,
                            const uint8_t *data, size_t len)
{
    char number[16];
    snprintf(number, sizeof number, "%d", chunk);
    const char *values[] = {by, import_id, number, (const char *) data};
    const int lengths[] = {0, 0, 0, (int) len};
    const int formats[] = {0, 0, 0, 1};
    /* A chunk sent again (a retry under a new key) replaces the first. */
    PGresult *r = th_db_exec_bin(th_call_db(call),
        "INSERT INTO measures.import_chunks (principal_id, import_id, chunk, data) "
        "VALUES ($1, $2::uuid, $3::int, $4::bytea) ON CONFLICT (principal_id, import_id, chunk) "
        "DO UPDATE SET data = excluded.data",
        4, values, lengths, formats, 0);
    if (r == NULL)
        return TH_EDB;
    PQclear(r);
    return 0;
}

int
measures_store_import_read(th_call_t *call, const char *by, const char *import_id,
                           char **out, size_t *len)
{
    const char *values[] = {by, import_id};
    /* Binary results: the bytes as they were sent, without hex. */
    PGresult *r = th_db_exec_bin(th_call_db(call),
        "SELECT data FROM measures.import_chunks WHERE principal_id = $1 "
        "AND import_id = $2::uuid ORDER BY chunk",
        2, values, NULL, NULL, 1);
    if (r == NULL)
        return TH_EDB;
    const int n = PQntuples(r);
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += (size_t) PQgetlength(r, i, 0);
    char *buf = malloc(total + 1);
    if (buf == NULL) {
        PQclear(r);
        return TH_ENOMEM;
    }
    size_t pos = 0;
    for (int i = 0; i < n; i++) {
        memcpy(buf + pos, PQgetvalue(r, i, 0), (size_t) PQgetlength(r, i, 0));
        pos += (size_t) PQgetlength(r, i, 0);
    }
    buf[pos] = '\0';
    PQclear(r);
    *out = buf;
    *len = pos;
    return 0;
}

int
measures_store_import_drop(th_call_t *call, const char *by, const char *import_id)
{
    const char *params[] = {by, import_id};
    PGresult *r = th_row_exec(call,
        "DELETE FROM measures.import_chunks WHERE principal_id = $1 AND import_id = $2::uuid",
        2, params);
    if (r == NULL)
        return TH_EDB;
    PQclear(r);
    return 0;
}

int
measures_store_import_copy(th_call_t *call, const char *rows, size_t len)
{
    th_db_t *db = th_call_db(call);
    if (db == NULL)
        return TH_EDB;
    if (th_db_copy_in(db,
            "COPY measures.import_rows (import_id, line, ags, indicator_code, period, "
            "disaggregation, period_start, period_end, numerator, denominator, source, note) "
            "FROM STDIN", rows, len) != 0)
        return TH_EDB;
    return 0;
}

/* The key of a value, for the joins with the stored ones. */
#define S_KEY_MATCH                                                                            \
    "v.ags = r.ags AND v.indicator_code = r.indicator_code AND v.period = r.period "           \
    "AND v.disaggregation = r.disaggregation"

int
measures_store_import_apply(th_call_t *call, const char *import_id, const char *by,
                            bool dry_run, measures_import_count_t **out, size_t *n)
{
    const char *params[] = {import_id, by};
    /* A dry run counts what the write would do; the write counts what it
     * did (xmax = 0: inserted; a value given as stored is skipped by the
     * WHERE of DO UPDATE, so RETURNING leaves it out, as in PutValues).
     * In key order, like PutValues, so two writers cannot deadlock. */
    PGresult *r = dry_run
        ? th_row_exec(call,
            "SELECT r.ags, count(*) FILTER (WHERE v.ags IS NULL), "
            "count(*) FILTER (WHERE v.ags IS NOT NULL AND (v.numerator, v.denominator, "
            "v.source, v.note) IS DISTINCT FROM (r.numerator, r.denominator, r.source, r.note)) "
            "FROM measures.import_rows r LEFT JOIN measures.indicator_values v ON " S_KEY_MATCH
            " WHERE r.import_id = $1::uuid AND $2::text IS NOT NULL GROUP BY r.ags ORDER BY r.ags",
            2, params)
        : th_row_exec(call,
            "WITH w AS (INSERT INTO measures.indicator_values AS v (ags, indicator_code, period, "
            "disaggregation, period_start, period_end, numerator, denominator, source, note, "
            "updated_by) SELECT r.ags, r.indicator_code, r.period, r.disaggregation, "
            "r.period_start, r.period_end, r.numerator, r.denominator, r.source, r.note, $2 "
            "FROM measures.import_rows r WHERE r.import_id = $1::uuid "
            "ORDER BY r.ags, r.indicator_code, r.period, r.disaggregation "
            "ON CONFLICT (ags, indicator_code, period, disaggregation) DO UPDATE SET "
            "numerator = excluded.numerator, denominator = excluded.denominator, "
            "source = excluded.source, note = excluded.note, updated_by = excluded.updated_by, "
            "updated_at = now() WHERE (v.numerator, v.denominator, v.source, v.note) IS DISTINCT "
            "FROM (excluded.numerator, excluded.denominator, excluded.source, excluded.note) "
            "RETURNING v.ags, (v.xmax = 0) AS created) "
            "SELECT ags, count(*) FILTER (WHERE created), count(*) FILTER (WHERE NOT created) "
            "FROM w GROUP BY ags ORDER BY ags",
            2, params);
    if (r == NULL)
        return TH_EDB;
    const int rows = PQntuples(r);
    measures_import_count_t *counts =
        th_call_alloc(call, (size_t) (rows > 0 ? rows : 1) * sizeof *counts);
    for (int i = 0; i < rows; i++) {
        snprintf(counts[i].ags, sizeof counts[i].ags, "%s", PQgetvalue(r, i, 0));
        counts[i].created = strtoll(PQgetvalue(r, i, 1), NULL, 10);
        counts[i].updated = strtoll(PQgetvalue(r, i, 2), NULL, 10);
    }
    PQclear(r);
    /* The lines are on their way through: gone before the commit. */
    const char *id[] = {import_id};
    r = th_row_exec(call, "DELETE FROM measures.import_rows WHERE import_id = $1::uuid",
                             1, id);
    if (r == NULL)
        return TH_EDB;
    PQclear(r);
    *out = counts;
    *n = (size_t) rows;
    return 0;
}
