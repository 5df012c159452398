/* ---------------------------------------------------------------------------
 * store_periods.c: the SQL of what a district records per period besides
 * indicator values: the self-assessment, the reach of its measures, and
 * the submission of the period (parameterized statements only).
 * ---------------------------------------------------------------------------
 */
/* The SQL is laid out by hand (string pieces joined with column macros),
 * which clang-format would break apart. */
/* clang-format off */
#include "store.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "th_error.h"
#include "th_row.h"

/* Named after the fields of Submission (th_row). */
#define S_SUBMISSION_COLUMNS                                                                   \
    "s.ags, s.state_code, s.period, s.status, s.version, s.reason, s.submitted_by, "           \
    TH_ROW_SQL_TS("s.submitted_at") " AS submit_time, s.decided_by, "                          \
    TH_ROW_SQL_TS("s.decided_at") " AS decide_time"

/* Named after the fields of Reach. */
#define S_REACH_COLUMNS                                                                        \
    "r.measure_id, m.ags, r.period, r.participants_total, r.with_migration_history, "          \
    "r.without_migration_history, r.version, r.updated_by, "                                   \
    TH_ROW_SQL_TS("r.updated_at") " AS update_time"

/* Named after the fields of Assessment (the answers are read apart). */
#define S_ASSESSMENT_COLUMNS                                                                   \
    "a.ags, a.period, a.version, a.updated_by, " TH_ROW_SQL_TS("a.updated_at") " AS update_time"

/* --- the lock of approved periods ------------------------------------------ */

/* The key of a district's period lock: a transaction-scoped advisory lock
 * that every write of the district's figures holds shared and an Approve
 * holds exclusively, so an approval never commits while a write that did
 * not see it is still running (also when the period had no submission row
 * to lock when the write began). */
#define S_PERIOD_LOCK(ags) "hashtextextended('teilhabe.measures.periods/' || " ags ", 0)"

int
measures_store_lock_district(th_call_t *call, const char *ags)
{
    const char *params[] = {ags};
    PGresult *r = th_row_exec(call,
        "SELECT pg_advisory_xact_lock(" S_PERIOD_LOCK("$1::text") ")", 1, params);
    if (r == NULL)
        return TH_EDB;
    PQclear(r);
    return 0;
}

/* Takes the period locks of the districts sql names (one column "a"), in
 * AGS order, shared; clears nothing on failure but returns TH_EDB. */
static int
s_lock_shared(th_call_t *call, const char *districts_sql, int nparams,
              const char *const *params)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT count(pg_advisory_xact_lock_shared(" S_PERIOD_LOCK("d.a") ")) "
             "FROM (%s ORDER BY 1) d", districts_sql);
    PGresult *r = th_row_exec(call, sql, nparams, params);
    if (r == NULL)
        return TH_EDB;
    PQclear(r);
    return 0;
}

/* The first approved submission among the rows of r (NULL when none);
 * clears r. */
static int
s_first_approved(th_call_t *call, PGresult *r, submission_t **approved)
{
    if (r == NULL)
        return TH_EDB;
    const int status = PQfnumber(r, "status");
    for (int i = 0; i < PQntuples(r) && *approved == NULL; i++)
        if (strcmp(PQgetvalue(r, i, status), "approved") == 0)
            *approved = th_row_new(call, &teilhabe__measures__v1__submission__descriptor, r, i);
    PQclear(r);
    return 0;
}

int
measures_store_lock_periods(th_call_t *call, char *const *ags, char *const *first,
                            char *const *last, size_t n, submission_t **approved)
{
    *approved = NULL;
    const char *params[] = {th_row_array_literal(call, ags, n),
                            th_row_array_literal(call, first, n),
                            th_row_array_literal(call, last, n)};
    /* The districts' period locks first; the next statement's snapshot,
     * taken once they are held, sees every approval committed before. */
    if (s_lock_shared(call, "SELECT DISTINCT unnest($1::text[]) AS a", 1, params) != 0)
        return TH_EDB;
    PGresult *r = th_row_exec(call,
        "SELECT " S_SUBMISSION_COLUMNS " FROM measures.submissions s "
        "WHERE s.status = 'approved' AND EXISTS (SELECT 1 FROM unnest($1::text[], $2::date[], "
        "$3::date[]) AS v(ags, ps, pe) "
        "WHERE s.ags = v.ags AND s.period_start <= v.pe AND s.period_end >= v.ps) "
        "ORDER BY s.ags, s.period",
        3, params);
    return s_first_approved(call, r, approved);
}

int
measures_store_import_lock(th_call_t *call, const char *import_id, submission_t **approved)
{
    *approved = NULL;
    const char *params[] = {import_id};
    if (s_lock_shared(call,
                      "SELECT DISTINCT ags AS a FROM measures.import_rows "
                      "WHERE import_id = $1::uuid",
                      1, params) != 0)
        return TH_EDB;
    PGresult *r = th_row_exec(call,
        "SELECT " S_SUBMISSION_COLUMNS " FROM measures.submissions s "
        "WHERE s.status = 'approved' AND EXISTS (SELECT 1 FROM measures.import_rows v "
        "WHERE v.import_id = $1::uuid AND s.ags = v.ags AND s.period_start <= v.period_end "
        "AND s.period_end >= v.period_start) ORDER BY s.ags, s.period",
        1, params);
    return s_first_approved(call, r, approved);
}

/* --- self-assessment ------------------------------------------------------- */

int
measures_store_questions(th_call_t *call, question_t ***out, size_t *n)
{
    PGresult *r = th_row_exec(call,
        "SELECT code, mark, text_de, text_en, position FROM measures.assessment_questions "
        "ORDER BY position",
        0, NULL);
    return th_row_take_all(call, &teilhabe__measures__v1__assessment_question__descriptor,
                           r, (void ***) out, n);
}

int
measures_store_get_assessment(th_call_t *call, const char *ags, const char *period,
                              bool for_update, assessment_t **out)
{
    const char *params[] = {ags, period};
    PGresult *r = th_row_exec(call,
        for_update ? "SELECT " S_ASSESSMENT_COLUMNS " FROM measures.assessments a "
                     "WHERE a.ags = $1 AND a.period = $2 FOR UPDATE"
                   : "SELECT " S_ASSESSMENT_COLUMNS " FROM measures.assessments a "
                     "WHERE a.ags = $1 AND a.period = $2",
        2, params);
    int rc = th_row_take_one(call, &teilhabe__measures__v1__assessment__descriptor, r, TH_ENOTFOUND,
                   (void **) out);
    if (rc != 0)
        return rc;
    r = th_row_exec(call,
        "SELECT x.question_code, x.rating, x.comment FROM measures.assessment_answers x "
        "JOIN measures.assessment_questions q ON q.code = x.question_code "
        "WHERE x.ags = $1 AND x.period = $2 ORDER BY q.position",
        2, params);
    return th_row_take_all(call, &teilhabe__measures__v1__assessment_answer__descriptor,
                           r, (void ***) &(*out)->answers, &(*out)->n_answers);
}

int
measures_store_set_assessment(th_call_t *call, const measures_assessment_rows_t *rows,
                              const char *by)
{
    char v[24];
    snprintf(v, sizeof v, "%" PRId64, rows->version);
    const char *head[] = {rows->ags, rows->period, rows->first, rows->last, v, by};
    PGresult *r = th_row_exec(call,
        "INSERT INTO measures.assessments AS a (ags, period, period_start, period_end, version, "
        "updated_by) VALUES ($1, $2, $3::date, $4::date, $5::bigint, $6) "
        "ON CONFLICT (ags, period) DO UPDATE SET version = EXCLUDED.version, "
        "updated_by = EXCLUDED.updated_by, updated_at = now() "
        "WHERE a.version = EXCLUDED.version - 1",
        6, head);
    if (r == NULL)
        return TH_EDB;
    /* No row: another writer stored this version first (two first
     * assessments at once find no row to lock). */
    const bool written = strcmp(PQcmdTuples(r), "1") == 0;
    PQclear(r);
    if (!written)
        return TH_ESTATE;
    const char *answers[] = {rows->ags, rows->period,
                             th_row_array_literal(call, rows->codes, rows->n),
                             th_row_array_literal(call, rows->ratings, rows->n),
                             th_row_array_literal(call, rows->comments, rows->n)};
    r = th_row_exec(call,
        "DELETE FROM measures.assessment_answers WHERE ags = $1 AND period = $2", 2, answers);
    if (r == NULL)
        return TH_EDB;
    PQclear(r);
    r = th_row_exec(call,
        "INSERT INTO measures.assessment_answers (ags, period, question_code, rating, comment) "
        "SELECT $1, $2, x.code, x.rating, x.comment "
        "FROM unnest($3::text[], $4::int[], $5::text[]) AS x(code, rating, comment)",
        5, answers);
    if (r == NULL)
        return TH_EDB;
    PQclear(r);
    return 0;
}

/* --- reach ----------------------------------------------------------------- */

int
measures_store_get_reach(th_call_t *call, const char *measure_id, const char *period,
                         bool for_update, reach_t **out)
{
    const char *params[] = {measure_id, period};
    PGresult *r = th_row_exec(call,
        for_update ? "SELECT " S_REACH_COLUMNS " FROM measures.reach r "
                     "JOIN measures.measures m ON m.id = r.measure_id "
                     "WHERE r.measure_id = $1 AND r.period = $2 FOR UPDATE OF r"
                   : "SELECT " S_REACH_COLUMNS " FROM measures.reach r "
                     "JOIN measures.measures m ON m.id = r.measure_id "
                     "WHERE r.measure_id = $1 AND r.period = $2",
        2, params);
    return th_row_take_one(call, &teilhabe__measures__v1__reach__descriptor, r, TH_ENOTFOUND,
                 (void **) out);
}

int
measures_store_set_reach(th_call_t *call, const reach_t *in, const char *first,
                         const char *last, int64_t version, const char *by, reach_t **out)
{
    char total[24], with[24], without[24], v[24];
    snprintf(total, sizeof total, "%" PRId64, in->participants_total);
    snprintf(with, sizeof with, "%" PRId64, in->with_migration_history);
    snprintf(without, sizeof without, "%" PRId64, in->without_migration_history);
    snprintf(v, sizeof v, "%" PRId64, version);
    const char *params[] = {in->measure_id, in->period, first, last, total, with, without, v, by};
    PGresult *r = th_row_exec(call,
        "WITH r AS (INSERT INTO measures.reach AS r (measure_id, period, period_start, "
        "period_end, participants_total, with_migration_history, without_migration_history, "
        "version, updated_by) VALUES ($1, $2, $3::date, $4::date, $5::bigint, $6::bigint, "
        "$7::bigint, $8::bigint, $9) ON CONFLICT (measure_id, period) DO UPDATE SET "
        "participants_total = EXCLUDED.participants_total, "
        "with_migration_history = EXCLUDED.with_migration_history, "
        "without_migration_history = EXCLUDED.without_migration_history, "
        "version = EXCLUDED.version, updated_by = EXCLUDED.updated_by, updated_at = now() "
        "WHERE r.version = EXCLUDED.version - 1 RETURNING *) "
        "SELECT " S_REACH_COLUMNS " FROM r JOIN measures.measures m ON m.id = r.measure_id",
        9, params);
    return th_row_take_one(call, &teilhabe__measures__v1__reach__descriptor,
                           r, TH_ESTATE, (void **) out);
}

int
measures_store_list_reach(th_call_t *call, const char *measure_id, const char *ags,
                          const char *period, int limit, reach_t ***out, size_t *n)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit);
    const char *params[] = {measure_id, ags, period, lim};
    PGresult *r = th_row_exec(call,
        "SELECT " S_REACH_COLUMNS " FROM measures.reach r "
        "JOIN measures.measures m ON m.id = r.measure_id "
        "WHERE ($1::text IS NULL OR r.measure_id = $1) AND ($2::text IS NULL OR m.ags = $2) "
        "AND ($3::text IS NULL OR r.period = $3) "
        "ORDER BY r.measure_id, r.period_start, r.period_end LIMIT $4::int",
        4, params);
    return th_row_take_all(call, &teilhabe__measures__v1__reach__descriptor, r, (void ***) out, n);
}

/* --- submissions ------------------------------------------------------------ */

int
measures_store_get_submission(th_call_t *call, const char *ags, const char *period,
                              bool for_update, submission_t **out)
{
    const char *params[] = {ags, period};
    PGresult *r = th_row_exec(call,
        for_update ? "SELECT " S_SUBMISSION_COLUMNS " FROM measures.submissions s "
                     "WHERE s.ags = $1 AND s.period = $2 FOR UPDATE"
                   : "SELECT " S_SUBMISSION_COLUMNS " FROM measures.submissions s "
                     "WHERE s.ags = $1 AND s.period = $2",
        2, params);
    return th_row_take_one(call, &teilhabe__measures__v1__submission__descriptor, r, TH_ENOTFOUND,
                 (void **) out);
}

int
measures_store_move_submission(th_call_t *call, const measures_move_t *mv, submission_t **out)
{
    char v[24];
    snprintf(v, sizeof v, "%" PRId64, mv->version);
    const char *params[] = {mv->ags,    mv->period, mv->first, mv->last,
                            mv->status, mv->reason, mv->by,    v};
    /* A submission records who submitted; an approval, a return or a
     * reopening who decided. The version moves on only from the one read
     * ($8; 0 = no row yet): a concurrent writer makes this return no row. */
    PGresult *r = th_row_exec(call,
        "INSERT INTO measures.submissions AS s (ags, period, period_start, period_end, status, "
        "version, reason, submitted_by, submitted_at, decided_by, decided_at) "
        "VALUES ($1, $2, $3::date, $4::date, $5, 1, $6, "
        "CASE WHEN $5 = 'submitted' THEN $7 ELSE '' END, "
        "CASE WHEN $5 = 'submitted' THEN now() END, "
        "CASE WHEN $5 <> 'submitted' THEN $7 ELSE '' END, "
        "CASE WHEN $5 <> 'submitted' THEN now() END) "
        "ON CONFLICT (ags, period) DO UPDATE SET status = EXCLUDED.status, "
        "version = s.version + 1, reason = EXCLUDED.reason, "
        "submitted_by = CASE WHEN EXCLUDED.status = 'submitted' THEN EXCLUDED.submitted_by "
        "ELSE s.submitted_by END, "
        "submitted_at = COALESCE(EXCLUDED.submitted_at, s.submitted_at), "
        "decided_by = CASE WHEN EXCLUDED.status = 'submitted' THEN s.decided_by "
        "ELSE EXCLUDED.decided_by END, "
        "decided_at = COALESCE(EXCLUDED.decided_at, s.decided_at) "
        "WHERE s.version = $8::bigint "
        "RETURNING " S_SUBMISSION_COLUMNS,
        8, params);
    return th_row_take_one(call, &teilhabe__measures__v1__submission__descriptor, r, TH_ESTATE,
                 (void **) out);
}

int
measures_store_list_submissions(th_call_t *call, const char *state_code, const char *period,
                                submission_t ***out, size_t *n)
{
    const char *params[] = {state_code, period};
    PGresult *r = th_row_exec(call,
        "SELECT " S_SUBMISSION_COLUMNS " FROM measures.submissions s "
        "WHERE s.state_code = $1 AND s.period = $2 ORDER BY s.ags",
        2, params);
    return th_row_take_all(call, &teilhabe__measures__v1__submission__descriptor,
                           r, (void ***) out, n);
}
