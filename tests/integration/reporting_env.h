/* ---------------------------------------------------------------------------
 * reporting_env.h: the real stack for the reporting integration tests.
 *
 * Included by tests/integration/test_reporting*.c (header-only, on top of
 * eligibility_env.h): the registry, measures and eligibility stack, then
 * the reporting worker (it migrates the views of schema reporting once the
 * others have migrated theirs, then runs as teilhabe_reporting, which may
 * read those views and nothing else).
 *
 * Fixtures are written as the schema owner, straight into the services'
 * tables (rep_sql): the reports only read, and the tests compare what they
 * show with SQL of their own over the same tables.
 * ---------------------------------------------------------------------------
 */
#ifndef REPORTING_ENV_H
#define REPORTING_ENV_H

#include "eligibility_env.h"
#include "teilhabe/v1/reporting.pb-c.h"

#define REP_METHOD(name) "teilhabe.reporting.v1.Reporting/" name

typedef struct {
    eligibility_env_t elig;
    char reporting_db_url[2048];
    th_proc_t *reporting;
    char reporting_log[1100];
} reporting_env_t;

typedef Teilhabe__Reporting__V1__Report rep_report_t;

static inline bool
rep_wait_ready(reporting_env_t *env, th_client_t *client)
{
    for (int i = 0; i < 150; i++) {
        Teilhabe__Reporting__V1__ConceptMonitorRequest req =
            TEILHABE__REPORTING__V1__CONCEPT_MONITOR_REQUEST__INIT;
        th_result_t r;
        reg_call(client, REP_METHOD("ConceptMonitor"), &req.base,
                 &teilhabe__reporting__v1__report__descriptor, &r);
        const bool ok = r.code == TH_OK;
        th_result_clear(&r);
        if (ok)
            return true;
        if (!th_proc_alive(env->reporting))
            return false;
        reg_sleep_ms(200);
    }
    return false;
}

static inline int
reporting_env_start(reporting_env_t *env, const char *prefix)
{
    memset(env, 0, sizeof *env);
    if (eligibility_env_start(&env->elig, prefix, "0") != 0)
        return -1;
    registry_env_t *reg = &env->elig.meas.reg;
    if (th_test_keys_worker(reg->keys, "reporting", "teilhabe.reporting.v1.Reporting") != 0 ||
        th_test_keys_client(reg->keys, "reporting-client", "service", NULL, NULL) != 0 ||
        th_test_keys_client(reg->keys, "manager-gotha", "manager", "16", "16067") != 0 ||
        th_test_conninfo_set(reg->db_url, "user", "teilhabe_reporting", env->reporting_db_url,
                             sizeof env->reporting_db_url) != 0)
        return -1;
    if (meas_start_worker(&env->elig.meas, "reporting", TH_TEST_REPORTING_BIN,
                          env->reporting_db_url, NULL, &env->reporting, env->reporting_log,
                          sizeof env->reporting_log) != 0)
        return -1;
    th_client_t *admin = reg_client(reg, "admin");
    const bool ready = admin != NULL && rep_wait_ready(env, admin);
    th_client_destroy(&admin);
    if (!ready)
        fprintf(stderr, "the reporting service did not answer, see %s\n", env->reporting_log);
    return ready ? 0 : -1;
}

static inline bool
reporting_env_stop(reporting_env_t *env)
{
    const bool clean =
        th_proc_stop_clean(&env->reporting, "teilhabe-reporting", env->reporting_log);
    return eligibility_env_stop(&env->elig) && clean;
}

static inline th_client_t *
rep_client(reporting_env_t *env, const char *name)
{
    return reg_client(&env->elig.meas.reg, name);
}

/* Runs sql as the owner; 0 or -1 (printed). */
static inline int
rep_sql(reporting_env_t *env, const char *sql)
{
    char *v = reg_sql_value(env->elig.meas.reg.db_url, sql);
    const int rc = v != NULL ? 0 : -1;
    free(v);
    return rc;
}

static inline long long
rep_count(reporting_env_t *env, const char *sql)
{
    return reg_sql_count(env->elig.meas.reg.db_url, sql);
}

/* Calls method with req as c; the report (unpacked) in r->response. */
static inline int
rep_call(th_client_t *c, const char *method, const ProtobufCMessage *req, th_result_t *r)
{
    return meas_call(c, method, req, &teilhabe__reporting__v1__report__descriptor, 20000, r);
}

/* The section with id of a report, or NULL. */
static inline const Teilhabe__Reporting__V1__Section *
rep_section(const rep_report_t *rep, const char *id)
{
    for (size_t i = 0; i < rep->n_sections; i++)
        if (strcmp(rep->sections[i]->id, id) == 0)
            return rep->sections[i];
    return NULL;
}

/* The row with key of a section's table, or NULL. */
static inline const Teilhabe__Reporting__V1__Row *
rep_row(const Teilhabe__Reporting__V1__Section *s, const char *key)
{
    for (size_t i = 0; s != NULL && s->table != NULL && i < s->table->n_rows; i++)
        if (strcmp(s->table->rows[i]->key, key) == 0)
            return s->table->rows[i];
    return NULL;
}

/* The index of column id in a section's table, or -1. */
static inline int
rep_col(const Teilhabe__Reporting__V1__Section *s, const char *id)
{
    for (size_t i = 0; s != NULL && s->table != NULL && i < s->table->n_columns; i++)
        if (strcmp(s->table->columns[i]->id, id) == 0)
            return (int) i;
    return -1;
}

/* The cell of row key, column id in section sid; NULL when absent. */
static inline const Teilhabe__Reporting__V1__Cell *
rep_cell(const rep_report_t *rep, const char *sid, const char *key, const char *col)
{
    const Teilhabe__Reporting__V1__Section *s = rep_section(rep, sid);
    const Teilhabe__Reporting__V1__Row *row = rep_row(s, key);
    const int c = rep_col(s, col);
    if (row == NULL || c < 0 || (size_t) c >= row->n_cells)
        return NULL;
    return row->cells[c];
}

/* The number of that cell, or -999999 when absent (fails any count). */
static inline long long
rep_number(const rep_report_t *rep, const char *sid, const char *key, const char *col)
{
    const Teilhabe__Reporting__V1__Cell *c = rep_cell(rep, sid, key, col);
    return c != NULL ? (long long) c->number : -999999;
}

#endif /* REPORTING_ENV_H */
