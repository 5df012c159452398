/* ---------------------------------------------------------------------------
 * store.c: the SQL of the eligibility service (see store.h).
 * ---------------------------------------------------------------------------
 */
#include "store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "th_error.h"
#include "th_row.h"

#define S_DATE(col) TH_ROW_SQL_DATE(col)
#define S_TS(col) TH_ROW_SQL_TS(col)

/* --- programmes and rule sets ------------------------------------------------ */

/* Columns of a Programme in lang ($1: "de" or "en"). */
#define S_PROGRAMME_COLUMNS                                                                \
    "p.code, p.state_code, CASE WHEN $1 = 'en' THEN p.name_en ELSE p.name_de END AS "      \
    "name, "                                                                               \
    "CASE WHEN $1 = 'en' THEN p.description_en ELSE p.description_de END AS description, " \
    "(SELECT " S_DATE(                                                                     \
        "min(r.valid_from)") " FROM eligibility.rule_sets r "                              \
                             "WHERE r.programme_code = p.code) AS valid_from"

int
eligibility_store_programmes(th_call_t *call, const char *state_code, const char *lang,
                             programme_t ***out, size_t *n)
{
    const char *params[] = {lang, state_code};
    PGresult *r =
        th_row_exec(call,
                    "SELECT " S_PROGRAMME_COLUMNS " FROM eligibility.programmes p "
                    "WHERE ($2::text IS NULL OR p.state_code = $2) ORDER BY p.code",
                    2, params);
    return th_row_take_all(call, &teilhabe__eligibility__v1__programme__descriptor, r,
                           (void ***) out, n);
}

int
eligibility_store_programme(th_call_t *call, const char *code, const char *lang,
                            bool include_text, programme_t **out)
{
    const char *params[] = {lang, code};
    PGresult *r =
        th_row_exec(call,
                    "SELECT " S_PROGRAMME_COLUMNS " FROM eligibility.programmes p "
                    "WHERE p.code = $2",
                    2, params);
    int rc = th_row_take_one(call, &teilhabe__eligibility__v1__programme__descriptor, r,
                             TH_ENOTFOUND, (void **) out);
    if (rc != 0)
        return rc;
    const char *vparams[] = {code, include_text ? "true" : "false"};
    r = th_row_exec(
        call,
        "SELECT r.version, " S_DATE("r.valid_from") " AS valid_from, " S_DATE(
            "r.valid_to") " AS valid_to, r.hash, r.published_by, " S_TS("r.published_"
                                                                        "at") " AS "
                                                                              "publish_"
                                                                              "time, "
                                                                              "CASE "
                                                                              "WHEN "
                                                                              "$2::"
                                                                              "boolean "
                                                                              "THEN "
                                                                              "r.text "
                                                                              "ELSE '' "
                                                                              "END AS "
                                                                              "text, "
                                                                              "r."
                                                                              "source "
                                                                              "FROM "
                                                                              "eligibil"
                                                                              "ity."
                                                                              "rule_"
                                                                              "sets r "
                                                                              "WHERE "
                                                                              "r."
                                                                              "programm"
                                                                              "e_code "
                                                                              "= $1 "
                                                                              "ORDER "
                                                                              "BY "
                                                                              "r.valid_"
                                                                              "from, "
                                                                              "r."
                                                                              "version",
        2, vparams);
    return th_row_take_all(call, &teilhabe__eligibility__v1__rule_set_version__descriptor,
                           r, (void ***) &(*out)->versions, &(*out)->n_versions);
}

int
eligibility_store_version_at(th_call_t *call, const char *code, const char *as_of,
                             int32_t *version, char **hash, char **text, char **state_code,
                             char first[TH_DATE_LEN + 1])
{
    first[0] = '\0';
    const char *params[] = {code, as_of};
    PGresult *r = th_row_exec(
        call,
        "SELECT r.version, r.hash, r.text, p.state_code, "
        "(SELECT " S_DATE(
            "min(f.valid_from)") " FROM eligibility.rule_sets f "
                                 "WHERE f.programme_code = p.code) "
                                 "FROM eligibility.programmes p LEFT JOIN "
                                 "eligibility.rule_sets r "
                                 "ON r.programme_code = p.code AND r.valid_from <= "
                                 "$2::date "
                                 "AND (r.valid_to IS NULL OR r.valid_to >= $2::date) "
                                 "WHERE p.code = $1 ORDER BY r.version DESC LIMIT 1",
        2, params);
    if (r == NULL)
        return TH_EDB;
    int rc = 0;
    if (PQntuples(r) == 0) {
        rc = TH_ENOTFOUND;
    } else {
        snprintf(first, TH_DATE_LEN + 1, "%s", PQgetvalue(r, 0, 4));
        if (PQgetisnull(r, 0, 0)) {
            rc = TH_ENOTFOUND;
        } else {
            *version = (int32_t) strtol(PQgetvalue(r, 0, 0), NULL, 10);
            *hash = th_call_strdup(call, PQgetvalue(r, 0, 1));
            *text = th_call_strdup(call, PQgetvalue(r, 0, 2));
            *state_code = th_call_strdup(call, PQgetvalue(r, 0, 3));
        }
    }
    PQclear(r);
    return rc;
}

int
eligibility_store_version(th_call_t *call, const char *code, int32_t version, char **hash,
                          char **text)
{
    char v[16];
    snprintf(v, sizeof v, "%" PRId32, version);
    const char *params[] = {code, v};
    PGresult *r = th_row_exec(call,
                              "SELECT r.hash, r.text FROM eligibility.rule_sets r "
                              "WHERE r.programme_code = $1 AND r.version = $2::int",
                              2, params);
    if (r == NULL)
        return TH_EDB;
    int rc = PQntuples(r) == 1 ? 0 : TH_ENOTFOUND;
    if (rc == 0) {
        *hash = th_call_strdup(call, PQgetvalue(r, 0, 0));
        *text = th_call_strdup(call, PQgetvalue(r, 0, 1));
    }
    PQclear(r);
    return rc;
}

/* Runs sql on db and clears the result: 0 or TH_EDB. */
static int
s_run(th_db_t *db, const char *sql, int n, const char *const *params)
{
    PGresult *r = th_db_exec(db, sql, n, params);
    if (r == NULL)
        return TH_EDB;
    PQclear(r);
    return 0;
}

static const char s_overlap_sql[] =
    "SELECT r.version, to_char(r.valid_from, 'YYYY-MM-DD'), "
    "coalesce(to_char(r.valid_to, 'YYYY-MM-DD'), ''), r.hash = $4 "
    "FROM eligibility.rule_sets r WHERE r.programme_code = $1 AND (r.hash = $4 OR "
    "(daterange(r.valid_from, r.valid_to, '[]') && daterange($2::date, $3::date, '[]') "
    "AND NOT (r.valid_to IS NULL AND r.valid_from < $2::date))) "
    "ORDER BY r.hash = $4 DESC, r.version";

static const char s_insert_version_sql[] =
    "INSERT INTO eligibility.rule_sets (programme_code, version, valid_from, valid_to, text, "
    "hash, published_by, source) SELECT $1, coalesce(max(r.version), 0) + 1, $2::date, "
    "$3::date, $4, $5, $6, $7 FROM eligibility.rule_sets r WHERE r.programme_code = $1 "
    "RETURNING version";

int
eligibility_store_publish(th_db_t *db, const rules_set_t *rules, const char *text,
                          const char *by, int32_t *version, bool *same, char *why,
                          size_t len)
{
    *same = false;
    why[0] = '\0';
    const char *code = rules_programme_code(rules);
    const char *to = rules_valid_to(rules);
    const char *pparams[] = {code,
                             rules_programme_state(rules),
                             rules_programme_name(rules, "de"),
                             rules_programme_name(rules, "en"),
                             rules_programme_description(rules, "de"),
                             rules_programme_description(rules, "en")};
    if (s_run(db,
              "INSERT INTO eligibility.programmes (code, state_code, name_de, name_en, "
              "description_de, description_en) VALUES ($1, $2, $3, $4, $5, $6) "
              "ON CONFLICT (code) DO NOTHING",
              6, pparams) != 0)
        return TH_EDB;
    /* The programme's row locked: publications of one programme queue here,
     * so the overlap check below sees every version published before. */
    PGresult *r = th_db_exec(db,
                             "SELECT p.state_code FROM eligibility.programmes p "
                             "WHERE p.code = $1 FOR UPDATE",
                             1, pparams);
    if (r == NULL)
        return TH_EDB;
    if (PQntuples(r) != 1 || strcmp(PQgetvalue(r, 0, 0), pparams[1]) != 0) {
        snprintf(why, len,
                 "programme %s belongs to Land %s; a rule set for Land %s cannot "
                 "be published under its code",
                 code, PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "?", pparams[1]);
        PQclear(r);
        return TH_ESTATE;
    }
    PQclear(r);
    const char *oparams[] = {code, rules_valid_from(rules), to[0] != '\0' ? to : NULL,
                             rules_hash(rules)};
    /* The same text, or a version whose dates overlap, other than the
     * open-ended version in force before this one starts: that one is
     * succeeded (it ends the day before, below). */
    r = th_db_exec(db, s_overlap_sql, 4, oparams);
    if (r == NULL)
        return TH_EDB;
    if (PQntuples(r) > 0) {
        *same = strcmp(PQgetvalue(r, 0, 3), "t") == 0;
        if (*same)
            snprintf(why, len, "this rule set is published already as version %s of %s",
                     PQgetvalue(r, 0, 0), code);
        else
            snprintf(why, len,
                     "its dates (%s to %s) overlap version %s of %s (valid %s to %s); a new "
                     "version starts after the one before it, which then ends the day before",
                     oparams[1], to[0] != '\0' ? to : "open end", PQgetvalue(r, 0, 0), code,
                     PQgetvalue(r, 0, 1),
                     PQgetvalue(r, 0, 2)[0] != '\0' ? PQgetvalue(r, 0, 2) : "open end");
        PQclear(r);
        return TH_ESTATE;
    }
    PQclear(r);
    const char *iparams[] = {
        code, oparams[1], oparams[2], text, oparams[3], by, rules_version_source(rules)};
    r = th_db_exec(db, s_insert_version_sql, 7, iparams);
    if (r == NULL)
        return TH_EDB;
    *version = (int32_t) strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    /* The open-ended version before it ends the day before it starts: the
     * only change a published version ever sees (its text never changes). */
    char v[16];
    snprintf(v, sizeof v, "%" PRId32, *version);
    const char *sparams[] = {code, oparams[1], v};
    if (s_run(db,
              "UPDATE eligibility.rule_sets SET valid_to = $2::date - 1 "
              "WHERE programme_code = $1 AND valid_to IS NULL AND valid_from < $2::date "
              "AND version <> $3::int",
              3, sparams) != 0)
        return TH_EDB;
    /* The newest version's names and texts are the programme's. */
    return s_run(db,
                 "UPDATE eligibility.programmes SET name_de = $3, name_en = $4, "
                 "description_de = $5, description_en = $6 WHERE code = $1 AND $2 = $2",
                 6, pparams);
}

/* --- applications ------------------------------------------------------------ */

#define S_APPLICATION_COLUMNS                                                              \
    "a.programme_code, a.ags, " S_DATE(                                                    \
        "a.council_decision") " AS council_decision, "                                     \
                              "a.work_plan, a.version, a.updated_by, " S_TS(               \
                                  "a.updated_at") " AS update_time"

int
eligibility_store_application(th_call_t *call, const char *code, const char *ags,
                              bool for_update, application_t **out)
{
    const char *params[] = {code, ags};
    PGresult *r = th_row_exec(
        call,
        for_update ? "SELECT " S_APPLICATION_COLUMNS " FROM eligibility.applications a "
                     "WHERE a.programme_code = $1 AND a.ags = $2 "
                     "FOR UPDATE"
                   : "SELECT " S_APPLICATION_COLUMNS " FROM eligibility.applications a "
                     "WHERE a.programme_code = $1 AND a.ags = $2",
        2, params);
    return th_row_take_one(call, &teilhabe__eligibility__v1__application__descriptor, r,
                           TH_ENOTFOUND, (void **) out);
}

int
eligibility_store_set_application(th_call_t *call, const application_t *a, int64_t version,
                                  const char *by, application_t **out)
{
    char v[24];
    snprintf(v, sizeof v, "%" PRId64, version);
    const char *params[] = {a->programme_code,
                            a->ags,
                            a->council_decision[0] != '\0' ? a->council_decision : NULL,
                            a->work_plan ? "true" : "false",
                            v,
                            by};
    /* Version 0: the first; a concurrent first writer makes the INSERT
     * find a row and the ON CONFLICT's WHERE refuse it, so no row returns
     * (stale, as a version that moved). */
    PGresult *r = th_row_exec(
        call,
        "INSERT INTO eligibility.applications AS a (programme_code, ags, council_decision, "
        "work_plan, version, updated_by) VALUES ($1, $2, $3::date, $4::boolean, 1, $6) "
        "ON CONFLICT (programme_code, ags) DO UPDATE SET council_decision = "
        "EXCLUDED.council_decision, work_plan = EXCLUDED.work_plan, version = a.version + "
        "1, "
        "updated_by = EXCLUDED.updated_by, updated_at = now() "
        "WHERE a.version = $5::bigint AND $5::bigint > 0 "
        "RETURNING " S_APPLICATION_COLUMNS,
        6, params);
    if (r != NULL && version > 0 && PQntuples(r) == 1 &&
        strcmp(PQgetvalue(r, 0, 4), "1") == 0) {
        /* Version > 0 asked, but the row was new: someone deleted it? Never
         * happens (no deletes); treat as stale all the same. */
        PQclear(r);
        return TH_ESTATE;
    }
    return th_row_take_one(call, &teilhabe__eligibility__v1__application__descriptor, r,
                           TH_ESTATE, (void **) out);
}

int
eligibility_store_applications(th_call_t *call, const char *code, const char *state_code,
                               application_t ***out, size_t *n)
{
    const char *params[] = {code, state_code};
    PGresult *r =
        th_row_exec(call,
                    "SELECT " S_APPLICATION_COLUMNS
                    " FROM eligibility.applications a WHERE a.programme_code = $1 "
                    "AND ($2::text IS NULL OR a.state_code = $2) ORDER BY a.ags",
                    2, params);
    return th_row_take_all(call, &teilhabe__eligibility__v1__application__descriptor, r,
                           (void ***) out, n);
}

/* --- decisions ----------------------------------------------------------------- */

int
eligibility_store_previous(th_call_t *call, const char *code, char *const *ags, size_t n,
                           const char ***outcomes, int64_t **cents)
{
    *outcomes = th_call_alloc(call, (n > 0 ? n : 1) * sizeof **outcomes);
    *cents = th_call_alloc(call, (n > 0 ? n : 1) * sizeof **cents);
    for (size_t i = 0; i < n; i++) {
        (*outcomes)[i] = NULL;
        (*cents)[i] = 0;
    }
    if (n == 0)
        return 0;
    const char *params[] = {code, th_row_array_literal(call, ags, n)};
    PGresult *r =
        th_row_exec(call,
                    "SELECT DISTINCT ON (d.ags) d.ags, d.outcome, d.entitlement_cents "
                    "FROM eligibility.decisions d WHERE d.programme_code = $1 "
                    "AND d.ags = ANY($2::text[]) "
                    "ORDER BY d.ags, d.decided_at DESC, d.id DESC",
                    2, params);
    if (r == NULL)
        return TH_EDB;
    /* ags is sorted, and so are the rows: one merge pass. */
    size_t i = 0;
    for (int row = 0; row < PQntuples(r); row++) {
        const char *a = PQgetvalue(r, row, 0);
        while (i < n && strcmp(ags[i], a) < 0)
            i++;
        if (i < n && strcmp(ags[i], a) == 0) {
            (*outcomes)[i] = th_call_strdup(call, PQgetvalue(r, row, 1));
            (*cents)[i] = strtoll(PQgetvalue(r, row, 2), NULL, 10);
        }
    }
    PQclear(r);
    return 0;
}

static const th_db_stmt_t s_insert_decision = {
    "eligibility_insert_decision",
    "INSERT INTO eligibility.decisions (programme_code, rule_version, rule_hash, ags, "
    "district_name, as_of, outcome, entitlement_cents, illustrative, attainable, "
    "summary_de, "
    "summary_en, facts, trigger, run_id, changed, previous_outcome, decided_by) "
    "VALUES ($1, $2::int, $3, $4, $5, $6::date, $7, $8::bigint, $9::boolean, $10::boolean, "
    "$11, $12, $13::bytea, $14, $15, $16::boolean, $17, $18) "
    "RETURNING id, " TH_ROW_SQL_TS("decided_at"),
    18,
};

int
eligibility_store_insert_decision(th_call_t *call, decision_t *d, const char *summary_de,
                                  const char *summary_en, const uint8_t *facts,
                                  size_t facts_len, const char *trigger, const char *run_id,
                                  const char *previous, const char *by)
{
    char version[16], cents[24];
    snprintf(version, sizeof version, "%" PRId32, d->rule_version);
    snprintf(cents, sizeof cents, "%" PRId64, d->entitlement_cents);
    /* bytea as hex text: the statement's parameters are all text. */
    char *hex = th_call_alloc(call, 2 * facts_len + 3);
    hex[0] = '\\';
    hex[1] = 'x';
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < facts_len; i++) {
        hex[2 + 2 * i] = digits[facts[i] >> 4];
        hex[3 + 2 * i] = digits[facts[i] & 0x0f];
    }
    hex[2 + 2 * facts_len] = '\0';
    const char *outcome =
        d->outcome == TEILHABE__ELIGIBILITY__V1__OUTCOME__OUTCOME_ELIGIBLE ? "eligible"
        : d->outcome == TEILHABE__ELIGIBILITY__V1__OUTCOME__OUTCOME_NOT_ELIGIBLE
            ? "not_eligible"
            : "not_applicable";
    const char *params[] = {d->programme_code,
                            version,
                            d->rule_hash,
                            d->ags,
                            d->district_name,
                            d->as_of,
                            outcome,
                            cents,
                            d->illustrative ? "true" : "false",
                            d->attainable ? "true" : "false",
                            summary_de,
                            summary_en,
                            hex,
                            trigger,
                            run_id,
                            d->changed ? "true" : "false",
                            previous,
                            by};
    PGresult *r = th_row_exec_stmt(call, &s_insert_decision, params);
    if (r == NULL)
        return TH_EDB;
    d->id = th_call_strdup(call, PQgetvalue(r, 0, 0));
    d->decide_time = th_call_strdup(call, PQgetvalue(r, 0, 1));
    d->decided_by = th_call_strdup(call, by);
    PQclear(r);
    return 0;
}

#define S_DECISION_COLUMNS                                                                 \
    "d.id, d.programme_code, d.rule_version, d.rule_hash, d.ags, "                         \
    "d.district_name, " S_DATE(                                                            \
        "d.as_of") " AS as_of, d.outcome, d.entitlement_cents, d.illustrative, "           \
                   "d.attainable, CASE WHEN $1 = 'en' THEN d.summary_en ELSE "             \
                   "d.summary_de END AS summary, "                                         \
                   "d.trigger, d.decided_by, " S_TS(                                       \
                       "d.decided_at") " AS decide_time, d.previous_outcome, "             \
                                       "d.changed"

int
eligibility_store_decisions(th_call_t *call, const eligibility_filter_t *f,
                            decision_t ***out, size_t *n)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", f->limit);
    PGresult *r;
    if (f->run_id != NULL) {
        const char *params[] = {f->lang, f->run_id, f->after_a, lim};
        r = th_row_exec(call,
                        "SELECT " S_DECISION_COLUMNS " FROM eligibility.decisions d "
                        "WHERE d.run_id = $2 AND ($3::text IS NULL OR d.ags > $3) "
                        "ORDER BY d.ags LIMIT $4::int",
                        4, params);
    } else {
        const char *params[] = {
            f->lang,       f->programme_code, f->ags,
            f->state_code, f->since,          f->changed_only ? "true" : "false",
            f->after_a,    f->after_b,        lim};
        r = th_row_exec(
            call,
            "SELECT " S_DECISION_COLUMNS " FROM eligibility.decisions d "
            "WHERE ($2::text IS NULL OR d.programme_code = $2) "
            "AND ($3::text IS NULL OR d.ags = $3) AND ($4::text IS NULL OR d.state_code = "
            "$4) "
            "AND ($5::timestamptz IS NULL OR d.decided_at >= $5::timestamptz) "
            "AND (NOT $6::boolean OR d.changed) "
            "AND ($7::text IS NULL OR (d.decided_at, d.id) < ($7::timestamptz, $8::text)) "
            "ORDER BY d.decided_at DESC, d.id DESC LIMIT $9::int",
            9, params);
    }
    return th_row_take_all(call, &teilhabe__eligibility__v1__decision__descriptor, r,
                           (void ***) out, n);
}

int
eligibility_store_decision(th_call_t *call, const char *id, const char *lang,
                           decision_t **out, uint8_t **facts, size_t *facts_len,
                           char **run_id)
{
    const char *params[] = {lang, id};
    PGresult *r =
        th_row_exec(call,
                    "SELECT " S_DECISION_COLUMNS ", coalesce(d.run_id, ''), d.facts "
                    "FROM eligibility.decisions d WHERE d.id = $2",
                    2, params);
    if (r == NULL)
        return TH_EDB;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return TH_ENOTFOUND;
    }
    const int n_cols = PQnfields(r);
    *out = th_row_new(call, &teilhabe__eligibility__v1__decision__descriptor, r, 0);
    *run_id = th_call_strdup(call, PQgetvalue(r, 0, n_cols - 2));
    size_t len = 0;
    unsigned char *raw =
        PQunescapeBytea((const unsigned char *) PQgetvalue(r, 0, n_cols - 1), &len);
    PQclear(r);
    if (raw == NULL)
        return TH_ENOMEM;
    *facts = th_call_alloc(call, len > 0 ? len : 1);
    memcpy(*facts, raw, len);
    *facts_len = len;
    PQfreemem(raw);
    return 0;
}

int
eligibility_store_run_summary(th_call_t *call, const char *run_id,
                              Teilhabe__Eligibility__V1__EvaluateBatchResponse *out)
{
    const char *params[] = {run_id};
    PGresult *r =
        th_row_exec(call,
                    "SELECT count(*), count(*) FILTER (WHERE outcome = 'eligible'), "
                    "count(*) FILTER (WHERE outcome = 'not_eligible'), "
                    "count(*) FILTER (WHERE outcome = 'not_applicable'), "
                    "coalesce(sum(entitlement_cents), 0), coalesce(bool_or("
                    "illustrative AND entitlement_cents > 0), false), "
                    "count(*) FILTER (WHERE changed) "
                    "FROM eligibility.decisions WHERE run_id = $1",
                    1, params);
    if (r == NULL)
        return TH_EDB;
    out->districts = (int32_t) strtol(PQgetvalue(r, 0, 0), NULL, 10);
    out->eligible = (int32_t) strtol(PQgetvalue(r, 0, 1), NULL, 10);
    out->not_eligible = (int32_t) strtol(PQgetvalue(r, 0, 2), NULL, 10);
    out->not_applicable = (int32_t) strtol(PQgetvalue(r, 0, 3), NULL, 10);
    out->total_cents = strtoll(PQgetvalue(r, 0, 4), NULL, 10);
    out->illustrative = strcmp(PQgetvalue(r, 0, 5), "t") == 0;
    out->changed = (int32_t) strtol(PQgetvalue(r, 0, 6), NULL, 10);
    PQclear(r);
    return out->districts > 0 ? 0 : TH_ENOTFOUND;
}

int
eligibility_store_run_facts(th_call_t *call, const char *run_id, char ***ags,
                            uint8_t ***facts, size_t **lens, size_t *n)
{
    const char *params[] = {run_id};
    PGresult *r = th_row_exec(call,
                              "SELECT d.ags, d.facts FROM eligibility.decisions d "
                              "WHERE d.run_id = $1 ORDER BY d.ags",
                              1, params);
    if (r == NULL)
        return TH_EDB;
    const size_t rows = (size_t) PQntuples(r);
    *n = rows;
    *ags = th_call_alloc(call, (rows > 0 ? rows : 1) * sizeof **ags);
    *facts = th_call_alloc(call, (rows > 0 ? rows : 1) * sizeof **facts);
    *lens = th_call_alloc(call, (rows > 0 ? rows : 1) * sizeof **lens);
    int rc = 0;
    for (size_t i = 0; i < rows; i++) {
        (*ags)[i] = th_call_strdup(call, PQgetvalue(r, (int) i, 0));
        size_t len = 0;
        unsigned char *raw =
            PQunescapeBytea((const unsigned char *) PQgetvalue(r, (int) i, 1), &len);
        if (raw == NULL) {
            rc = TH_ENOMEM;
            break;
        }
        (*facts)[i] = th_call_alloc(call, len > 0 ? len : 1);
        memcpy((*facts)[i], raw, len);
        (*lens)[i] = len;
        PQfreemem(raw);
    }
    PQclear(r);
    return rc;
}

/* --- re-checks ---------------------------------------------------------------- */

int
eligibility_store_checkpoints(th_call_t *call, bool for_update, int64_t seq[3],
                              char date[TH_DATE_LEN + 1])
{
    PGresult *r = th_row_exec(
        call,
        for_update ? "SELECT source, last_sequence, coalesce(" S_DATE(
                         "last_date") ", '') "
                                      "FROM eligibility.checkpoints ORDER BY source "
                                      "FOR UPDATE"
                   : "SELECT source, last_sequence, coalesce(" S_DATE(
                         "last_date") ", '') "
                                      "FROM eligibility.checkpoints ORDER BY source",
        0, NULL);
    if (r == NULL)
        return TH_EDB;
    static const char *const sources[] = {"registry", "measures", "eligibility"};
    seq[0] = seq[1] = seq[2] = 0;
    date[0] = '\0';
    for (int row = 0; row < PQntuples(r); row++) {
        const char *source = PQgetvalue(r, row, 0);
        for (int i = 0; i < 3; i++)
            if (strcmp(source, sources[i]) == 0)
                seq[i] = strtoll(PQgetvalue(r, row, 1), NULL, 10);
        if (strcmp(source, "schedule") == 0)
            snprintf(date, TH_DATE_LEN + 1, "%s", PQgetvalue(r, row, 2));
    }
    PQclear(r);
    return 0;
}

int
eligibility_store_set_checkpoints(th_call_t *call, const int64_t seq[3], const char *date)
{
    char a[24], b[24], c[24];
    snprintf(a, sizeof a, "%" PRId64, seq[0]);
    snprintf(b, sizeof b, "%" PRId64, seq[1]);
    snprintf(c, sizeof c, "%" PRId64, seq[2]);
    const char *params[] = {a, b, c, date};
    PGresult *r = th_row_exec(
        call,
        "UPDATE eligibility.checkpoints SET updated_at = now(), "
        "last_sequence = CASE source WHEN 'registry' THEN $1::bigint "
        "WHEN 'measures' THEN $2::bigint WHEN 'eligibility' THEN $3::bigint ELSE 0 END, "
        "last_date = CASE WHEN source = 'schedule' AND $4::date IS NOT NULL THEN $4::date "
        "ELSE last_date END",
        4, params);
    if (r == NULL)
        return TH_EDB;
    PQclear(r);
    return 0;
}

int
eligibility_store_own_events(th_call_t *call, int64_t after, int limit, char ***topics,
                             char ***resources, size_t *n, int64_t *last)
{
    char a[24], l[16];
    snprintf(a, sizeof a, "%" PRId64, after);
    snprintf(l, sizeof l, "%d", limit);
    const char *params[] = {a, l};
    PGresult *r = th_row_exec(call,
                              "SELECT sequence, topic, resource FROM eligibility.events "
                              "WHERE sequence > $1::bigint ORDER BY sequence LIMIT $2::int",
                              2, params);
    if (r == NULL)
        return TH_EDB;
    const size_t rows = (size_t) PQntuples(r);
    *n = rows;
    *last = after;
    *topics = th_call_alloc(call, (rows > 0 ? rows : 1) * sizeof **topics);
    *resources = th_call_alloc(call, (rows > 0 ? rows : 1) * sizeof **resources);
    for (size_t i = 0; i < rows; i++) {
        *last = strtoll(PQgetvalue(r, (int) i, 0), NULL, 10);
        (*topics)[i] = th_call_strdup(call, PQgetvalue(r, (int) i, 1));
        (*resources)[i] = th_call_strdup(call, PQgetvalue(r, (int) i, 2));
    }
    PQclear(r);
    return 0;
}

int
eligibility_store_decided(th_call_t *call, char *const *ags, size_t n, char *const *codes,
                          size_t n_codes, bool all, char ***out_codes, char ***out_ags,
                          size_t *n_out)
{
    const char *params[] = {th_row_array_literal(call, ags, n),
                            th_row_array_literal(call, codes, n_codes),
                            all ? "true" : "false"};
    PGresult *r = th_row_exec(call,
                              "SELECT DISTINCT d.programme_code, d.ags "
                              "FROM eligibility.decisions d "
                              "WHERE $3::boolean OR d.ags = ANY($1::text[]) "
                              "OR d.programme_code = ANY($2::text[]) "
                              "ORDER BY d.programme_code, d.ags",
                              3, params);
    if (r == NULL)
        return TH_EDB;
    const size_t rows = (size_t) PQntuples(r);
    *n_out = rows;
    *out_codes = th_call_alloc(call, (rows > 0 ? rows : 1) * sizeof **out_codes);
    *out_ags = th_call_alloc(call, (rows > 0 ? rows : 1) * sizeof **out_ags);
    for (size_t i = 0; i < rows; i++) {
        (*out_codes)[i] = th_call_strdup(call, PQgetvalue(r, (int) i, 0));
        (*out_ags)[i] = th_call_strdup(call, PQgetvalue(r, (int) i, 1));
    }
    PQclear(r);
    return 0;
}

void
eligibility_store_event_filter(bool all, const char *land, th_events_filter_t *out)
{
    /* substr(resource, 11, 2) is the Land of "districts/16068/...". */
    out->sql = "(e.resource LIKE 'programmes/%' OR (e.resource LIKE 'districts/%' "
               "AND ($3::boolean OR substr(e.resource, 11, 2) = $4::text)))";
    out->params[0] = all ? "true" : "false";
    out->params[1] = land;
    out->n_params = 2;
}
