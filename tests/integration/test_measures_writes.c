/* ---------------------------------------------------------------------------
 * test_measures_writes.c: UpdateMeasure, TransitionMeasure and
 * DeleteMeasure through the real stack: rights, every transition allowed
 * and refused, stale versions, two managers updating one measure at once
 * (one wins, the other gets FAILED_PRECONDITION), idempotent retries, and
 * the audit row and event of every write.
 *
 * The measures are inserted by the test itself (measures_env.h,
 * meas_seed_measure). A write that needs the registry's answer (a new
 * start date; a manager the key does not name the district of) asks it
 * over the broker; a manager the registry does not know as assigned is
 * refused PERMISSION_DENIED and nothing changes.
 * ---------------------------------------------------------------------------
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "measures_env.h"

typedef Teilhabe__Measures__V1__Measure s_measure_t;

#define S_PLANNED TEILHABE__MEASURES__V1__MEASURE_STATUS__MEASURE_STATUS_PLANNED
#define S_ACTIVE TEILHABE__MEASURES__V1__MEASURE_STATUS__MEASURE_STATUS_ACTIVE
#define S_COMPLETED TEILHABE__MEASURES__V1__MEASURE_STATUS__MEASURE_STATUS_COMPLETED
#define S_CANCELLED TEILHABE__MEASURES__V1__MEASURE_STATUS__MEASURE_STATUS_CANCELLED

typedef struct {
    measures_env_t env;
    th_client_t *ministry;    /* ministry of Thüringen */
    th_client_t *ministry_by; /* ministry of Bayern */
    th_client_t *analyst;
    th_client_t *manager_by;  /* a manager of Bayern */
    th_client_t *gotha;       /* manager-gotha: 16067 in its key */
    th_client_t *soemmerda;   /* manager-soemmerda: 16068 in its key */
    th_client_t *admin;
} s_fixture_t;

static int
s_setup(void **state)
{
    s_fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    *state = f;
    if (measures_env_start(&f->env, "measwr") != 0)
        return -1;
    f->ministry = meas_client(&f->env, "ministry-th");
    f->ministry_by = meas_client(&f->env, "ministry-by");
    f->analyst = meas_client(&f->env, "analyst");
    f->manager_by = meas_client(&f->env, "manager-by");
    f->gotha = meas_client(&f->env, "manager-gotha");
    f->soemmerda = meas_client(&f->env, "manager-soemmerda");
    f->admin = meas_client(&f->env, "admin");
    return f->ministry && f->ministry_by && f->analyst && f->manager_by && f->gotha &&
                   f->soemmerda && f->admin
               ? 0
               : -1;
}

static int
s_teardown(void **state)
{
    s_fixture_t *f = *state;
    th_client_t **clients[] = {&f->ministry, &f->ministry_by, &f->analyst, &f->manager_by,
                               &f->gotha,    &f->soemmerda,   &f->admin};
    for (size_t i = 0; i < sizeof clients / sizeof clients[0]; i++)
        th_client_destroy(clients[i]);
    const bool clean = measures_env_stop(&f->env);
    free(f);
    return clean ? 0 : -1;
}

/* An update request of the measure id at version, writing the fields named
 * in mask (a comma list) from m. */
typedef struct {
    Teilhabe__Measures__V1__UpdateMeasureRequest req;
    s_measure_t m;
    char *mask[12];
    char mask_text[256];
} s_update_t;

static void
s_update_init(s_update_t *u, const char *id, int64_t version, const char *mask)
{
    teilhabe__measures__v1__update_measure_request__init(&u->req);
    teilhabe__measures__v1__measure__init(&u->m);
    u->req.measure = &u->m;
    u->req.version = version;
    u->m.id = (char *) id;
    snprintf(u->mask_text, sizeof u->mask_text, "%s", mask);
    u->req.update_mask = u->mask;
    u->req.n_update_mask = 0;
    char *save = NULL;
    for (char *t = strtok_r(u->mask_text, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save))
        u->mask[u->req.n_update_mask++] = t;
}

static int
s_update(th_client_t *c, s_update_t *u, const th_call_opts_t *opts, int timeout_ms,
         th_result_t *r)
{
    memset(r, 0, sizeof *r);
    th_client_call(c, MEAS_METHOD("UpdateMeasure"), &u->req.base,
                   &teilhabe__measures__v1__measure__descriptor, timeout_ms, opts, r);
    return r->code;
}

static int
s_transition(th_client_t *c, const char *id, int64_t version, int status, th_result_t *r)
{
    Teilhabe__Measures__V1__TransitionMeasureRequest req =
        TEILHABE__MEASURES__V1__TRANSITION_MEASURE_REQUEST__INIT;
    req.id = (char *) id;
    req.version = version;
    req.status = status;
    return meas_call(c, MEAS_METHOD("TransitionMeasure"), &req.base,
                     &teilhabe__measures__v1__measure__descriptor, 5000, r);
}

static int
s_delete(th_client_t *c, const char *id, int64_t version, th_result_t *r)
{
    Teilhabe__Measures__V1__DeleteMeasureRequest req =
        TEILHABE__MEASURES__V1__DELETE_MEASURE_REQUEST__INIT;
    req.id = (char *) id;
    req.version = version;
    return meas_call(c, MEAS_METHOD("DeleteMeasure"), &req.base,
                     &teilhabe__measures__v1__measure__descriptor, 5000, r);
}

/* The measure's version as stored (owner's view). */
static long long
s_version(s_fixture_t *f, const char *id)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT version FROM measures.measures WHERE id = '%s'", id);
    return meas_count(&f->env, sql);
}

static long long
s_audit_rows(s_fixture_t *f, const char *id)
{
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM audit.log WHERE resource LIKE '%%/measures/%s'",
             id);
    return meas_count(&f->env, sql);
}

static void
test_update_fields_by_mask(void **state)
{
    s_fixture_t *f = *state;
    char id[37];
    th_result_t r;
    s_update_t u;
    assert_int_equal(meas_seed_measure(&f->env, "16068", "Sprachcafé", "language", "planned",
                                       id),
                     0);

    /* The ministry changes title, budget and target group; the rest stays. */
    s_update_init(&u, id, 1, "title,budget_cents,target_group,target_group_name");
    u.m.title = "Sprachcafé für Frauen";
    u.m.budget_cents = 5700000;
    u.m.target_group = TEILHABE__MEASURES__V1__TARGET_GROUP__TARGET_GROUP_GROUP;
    u.m.target_group_name = "Frauen";
    u.m.description = "not in the mask: ignored";
    assert_int_equal(s_update(f->ministry, &u, NULL, 5000, &r), TH_OK);
    const s_measure_t *m = (const s_measure_t *) r.response;
    assert_int_equal(m->version, 2);
    assert_string_equal(m->title, "Sprachcafé für Frauen");
    assert_int_equal(m->budget_cents, 5700000);
    assert_string_equal(m->target_group_name, "Frauen");
    assert_string_equal(m->description, "");
    assert_string_equal(m->start_date, "2024-01-01");
    assert_string_equal(m->updated_by, "ministry-th");
    assert_string_equal(m->created_by, "fixture");
    th_result_clear(&r);
    /* Its audit row holds before and after; its event the measure. */
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM audit.log WHERE resource = 'districts/16068/measures/%s' AND "
             "method = 'teilhabe.measures.v1.Measures/UpdateMeasure' AND principal_id = "
             "'ministry-th' AND before->>'title' = 'Sprachcafé' AND after->>'title' = "
             "'Sprachcafé für Frauen' AND after->>'budget_cents' IN ('5700000')",
             id);
    assert_int_equal(meas_count(&f->env, sql), 1);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM measures.events WHERE topic = 'measure.updated' AND "
             "resource = 'districts/16068/measures/%s' AND length(payload) > 0",
             id);
    assert_int_equal(meas_count(&f->env, sql), 1);

    /* Stale version: FAILED_PRECONDITION naming the current one. */
    assert_int_equal(s_update(f->ministry, &u, NULL, 5000, &r), TH_FAILED_PRECONDITION);
    assert_non_null(strstr(r.message, "version 2, not 1"));
    th_result_clear(&r);
    /* A manager whose key names Sömmerda. An empty mask writes every field. */
    s_update_init(&u, id, 2, "");
    u.m.title = "Sprachcafé";
    u.m.field = TEILHABE__COMMON__V1__FIELD_OF_ACTION__FIELD_OF_ACTION_LANGUAGE;
    u.m.target_group = TEILHABE__MEASURES__V1__TARGET_GROUP__TARGET_GROUP_ALL_RESIDENTS;
    u.m.start_date = "2024-01-01";
    u.m.end_date = "2024-12-31";
    assert_int_equal(s_update(f->soemmerda, &u, NULL, 5000, &r), TH_OK);
    m = (const s_measure_t *) r.response;
    assert_int_equal(m->version, 3);
    assert_int_equal(m->budget_cents, 0);
    assert_string_equal(m->end_date, "2024-12-31");
    assert_string_equal(m->target_group_name, "");
    th_result_clear(&r);

    /* Bad input, each refused and nothing changed. */
    s_update_init(&u, id, 3, "end_date");
    u.m.end_date = "2023-12-31"; /* before the start */
    assert_int_equal(s_update(f->ministry, &u, NULL, 5000, &r), TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "measure.end_date"));
    th_result_clear(&r);
    s_update_init(&u, id, 3, "budget_cents");
    u.m.budget_cents = -100;
    assert_int_equal(s_update(f->ministry, &u, NULL, 5000, &r), TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "measure.budget_cents"));
    th_result_clear(&r);
    s_update_init(&u, id, 3, "status");
    assert_int_equal(s_update(f->ministry, &u, NULL, 5000, &r), TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "update_mask"));
    th_result_clear(&r);
    s_update_init(&u, id, 3, "title,title");
    assert_int_equal(s_update(f->ministry, &u, NULL, 5000, &r), TH_INVALID_ARGUMENT);
    th_result_clear(&r);
    s_update_init(&u, id, 0, "title");
    u.m.title = "x";
    assert_int_equal(s_update(f->ministry, &u, NULL, 5000, &r), TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "version"));
    th_result_clear(&r);
    s_update_init(&u, "00000000-0000-4000-8000-000000000000", 1, "title");
    u.m.title = "x";
    assert_int_equal(s_update(f->ministry, &u, NULL, 5000, &r), TH_NOT_FOUND);
    th_result_clear(&r);
    s_update_init(&u, id, 3, "title");
    u.m.title = "Sprach\xc3"; /* cut in the middle of a character */
    assert_int_equal(s_update(f->ministry, &u, NULL, 5000, &r), TH_INVALID_ARGUMENT);
    th_result_clear(&r);

    /* A new start date is one the district must exist on: the registry
     * is asked, and says yes. */
    s_update_init(&u, id, 3, "start_date");
    u.m.start_date = "2024-02-01";
    assert_int_equal(s_update(f->ministry, &u, NULL, 5000, &r), TH_OK);
    assert_int_equal(((const s_measure_t *) r.response)->version, 4);
    th_result_clear(&r);

    /* Who may not: another Land's ministry and manager, an analyst (at
     * once, without the registry); a manager of Gotha is not named for
     * Sömmerda by its key, and the registry does not know it as assigned
     * there. */
    s_update_init(&u, id, 4, "title");
    u.m.title = "fremd";
    assert_int_equal(s_update(f->ministry_by, &u, NULL, 5000, &r), TH_PERMISSION_DENIED);
    assert_non_null(strstr(r.message, "ministry of Land 16"));
    th_result_clear(&r);
    assert_int_equal(s_update(f->manager_by, &u, NULL, 5000, &r), TH_PERMISSION_DENIED);
    th_result_clear(&r);
    assert_int_equal(s_update(f->analyst, &u, NULL, 5000, &r), TH_PERMISSION_DENIED);
    th_result_clear(&r);
    assert_int_equal(s_update(f->gotha, &u, NULL, 5000, &r), TH_PERMISSION_DENIED);
    assert_non_null(strstr(r.message, "a manager assigned to 16068"));
    th_result_clear(&r);
    assert_int_equal(s_version(f, id), 4);
    assert_int_equal(s_audit_rows(f, id), 3);
}

static void
test_idempotent_retry_applies_once(void **state)
{
    s_fixture_t *f = *state;
    char id[37];
    th_result_t r;
    s_update_t u;
    assert_int_equal(meas_seed_measure(&f->env, "16068", "Beratung", "housing", "planned", id),
                     0);
    const th_call_opts_t opts = {.idempotency_key = "measures-retry-1"};
    s_update_init(&u, id, 1, "title");
    u.m.title = "Wohnberatung";
    assert_int_equal(s_update(f->ministry, &u, &opts, 5000, &r), TH_OK);
    assert_int_equal(((const s_measure_t *) r.response)->version, 2);
    th_result_clear(&r);
    /* The same request with the same key: the first reply, nothing twice
     * (without the key, version 1 would be stale now). */
    assert_int_equal(s_update(f->ministry, &u, &opts, 5000, &r), TH_OK);
    assert_int_equal(((const s_measure_t *) r.response)->version, 2);
    th_result_clear(&r);
    assert_int_equal(s_version(f, id), 2);
    assert_int_equal(s_audit_rows(f, id), 1);
    /* The key used for another request is refused. */
    u.m.title = "anders";
    assert_int_equal(s_update(f->ministry, &u, &opts, 5000, &r), TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "idempotency_key"));
    th_result_clear(&r);
    /* A transition repeated with its key: the first reply again, not
     * "planned cannot move to active" or "stale version". */
    Teilhabe__Measures__V1__TransitionMeasureRequest move =
        TEILHABE__MEASURES__V1__TRANSITION_MEASURE_REQUEST__INIT;
    move.id = id;
    move.version = 2;
    move.status = S_ACTIVE;
    const th_call_opts_t move_opts = {.idempotency_key = "measures-retry-2"};
    for (int i = 0; i < 2; i++) {
        memset(&r, 0, sizeof r);
        th_client_call(f->ministry, MEAS_METHOD("TransitionMeasure"), &move.base,
                       &teilhabe__measures__v1__measure__descriptor, 5000, &move_opts, &r);
        assert_int_equal(r.code, TH_OK);
        assert_int_equal(((const s_measure_t *) r.response)->version, 3);
        th_result_clear(&r);
    }
    assert_int_equal(s_version(f, id), 3);
    assert_int_equal(s_audit_rows(f, id), 2);
}

static void
test_transitions(void **state)
{
    s_fixture_t *f = *state;
    char a[37], b[37];
    th_result_t r;
    assert_int_equal(meas_seed_measure(&f->env, "16068", "A", "education", "planned", a), 0);
    assert_int_equal(meas_seed_measure(&f->env, "16068", "B", "education", "planned", b), 0);

    /* planned -> completed skips active: refused, naming the moves allowed. */
    assert_int_equal(s_transition(f->ministry, a, 1, S_COMPLETED, &r), TH_FAILED_PRECONDITION);
    assert_non_null(strstr(r.message, "from planned it may move to active or cancelled"));
    assert_true(reg_has_violation(&r, "status"));
    th_result_clear(&r);
    assert_int_equal(s_transition(f->ministry, a, 1, S_PLANNED, &r), TH_FAILED_PRECONDITION);
    th_result_clear(&r);
    /* planned -> active -> completed. */
    assert_int_equal(s_transition(f->soemmerda, a, 1, S_ACTIVE, &r), TH_OK);
    const s_measure_t *m = (const s_measure_t *) r.response;
    assert_int_equal(m->status, S_ACTIVE);
    assert_int_equal(m->version, 2);
    assert_string_equal(m->updated_by, "manager-soemmerda");
    th_result_clear(&r);
    assert_int_equal(s_transition(f->ministry, a, 2, S_PLANNED, &r), TH_FAILED_PRECONDITION);
    assert_non_null(strstr(r.message, "from active it may move to completed or cancelled"));
    th_result_clear(&r);
    assert_int_equal(s_transition(f->ministry, a, 1, S_COMPLETED, &r), TH_FAILED_PRECONDITION);
    assert_non_null(strstr(r.message, "version 2, not 1"));
    th_result_clear(&r);
    assert_int_equal(s_transition(f->ministry, a, 2, S_COMPLETED, &r), TH_OK);
    th_result_clear(&r);
    /* completed is final. */
    assert_int_equal(s_transition(f->ministry, a, 3, S_CANCELLED, &r), TH_FAILED_PRECONDITION);
    assert_non_null(strstr(r.message, "final"));
    th_result_clear(&r);
    assert_int_equal(s_transition(f->ministry, a, 3, S_ACTIVE, &r), TH_FAILED_PRECONDITION);
    th_result_clear(&r);
    /* planned -> cancelled; cancelled is final too. */
    assert_int_equal(s_transition(f->ministry, b, 1, S_CANCELLED, &r), TH_OK);
    th_result_clear(&r);
    assert_int_equal(s_transition(f->ministry, b, 2, S_ACTIVE, &r), TH_FAILED_PRECONDITION);
    assert_non_null(strstr(r.message, "final"));
    th_result_clear(&r);
    /* active -> cancelled. */
    char c[37];
    assert_int_equal(meas_seed_measure(&f->env, "16068", "C", "education", "active", c), 0);
    assert_int_equal(s_transition(f->ministry, c, 1, S_CANCELLED, &r), TH_OK);
    th_result_clear(&r);
    /* Bad input and rights. */
    assert_int_equal(s_transition(f->ministry, c, 2, 0, &r), TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "status"));
    th_result_clear(&r);
    assert_int_equal(s_transition(f->ministry, c, 2, 9, &r), TH_INVALID_ARGUMENT);
    th_result_clear(&r);
    assert_int_equal(s_transition(f->ministry, "c", 2, S_ACTIVE, &r), TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "id"));
    th_result_clear(&r);
    assert_int_equal(s_transition(f->ministry_by, c, 2, S_ACTIVE, &r), TH_PERMISSION_DENIED);
    th_result_clear(&r);
    assert_int_equal(s_transition(f->admin, c, 2, S_ACTIVE, &r), TH_PERMISSION_DENIED);
    th_result_clear(&r);
    /* Each allowed move left one audit row and one event. */
    assert_int_equal(s_audit_rows(f, a), 2);
    assert_int_equal(s_audit_rows(f, b), 1);
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM measures.events WHERE topic = 'measure.transitioned' AND "
             "(resource LIKE '%%%s' OR resource LIKE '%%%s' OR resource LIKE '%%%s')",
             a, b, c);
    assert_int_equal(meas_count(&f->env, sql), 4);
}

static void
test_delete_only_while_planned(void **state)
{
    s_fixture_t *f = *state;
    char planned[37], active[37];
    th_result_t r;
    assert_int_equal(meas_seed_measure(&f->env, "16067", "P", "health", "planned", planned), 0);
    assert_int_equal(meas_seed_measure(&f->env, "16067", "Q", "health", "active", active), 0);
    assert_int_equal(s_delete(f->gotha, active, 1, &r), TH_FAILED_PRECONDITION);
    assert_non_null(strstr(r.message, "only a planned measure can be deleted; cancel it"));
    th_result_clear(&r);
    assert_int_equal(s_delete(f->gotha, planned, 2, &r), TH_FAILED_PRECONDITION);
    th_result_clear(&r);
    /* A manager of Sömmerda is not named for Gotha by its key, and the
     * registry does not know it as assigned there. */
    Teilhabe__Measures__V1__DeleteMeasureRequest del =
        TEILHABE__MEASURES__V1__DELETE_MEASURE_REQUEST__INIT;
    del.id = planned;
    del.version = 1;
    assert_int_equal(meas_call(f->soemmerda, MEAS_METHOD("DeleteMeasure"), &del.base,
                               &teilhabe__measures__v1__measure__descriptor, 5000, &r),
                     TH_PERMISSION_DENIED);
    th_result_clear(&r);
    assert_int_equal(s_delete(f->ministry_by, planned, 1, &r), TH_PERMISSION_DENIED);
    th_result_clear(&r);
    /* The manager of Gotha deletes it: the reply is the measure as it was. */
    assert_int_equal(s_delete(f->gotha, planned, 1, &r), TH_OK);
    assert_string_equal(((const s_measure_t *) r.response)->title, "P");
    th_result_clear(&r);
    Teilhabe__Measures__V1__GetMeasureRequest get =
        TEILHABE__MEASURES__V1__GET_MEASURE_REQUEST__INIT;
    get.id = planned;
    assert_int_equal(meas_call(f->ministry, MEAS_METHOD("GetMeasure"), &get.base,
                               &teilhabe__measures__v1__measure__descriptor, 5000, &r),
                     TH_NOT_FOUND);
    th_result_clear(&r);
    assert_int_equal(s_delete(f->gotha, planned, 1, &r), TH_NOT_FOUND);
    th_result_clear(&r);
    /* The audit row keeps what was deleted; the event carries it. */
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM audit.log WHERE resource = 'districts/16067/measures/%s' AND "
             "before->>'title' = 'P' AND after IS NULL",
             planned);
    assert_int_equal(meas_count(&f->env, sql), 1);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM measures.events WHERE topic = 'measure.deleted' AND resource "
             "= 'districts/16067/measures/%s'",
             planned);
    assert_int_equal(meas_count(&f->env, sql), 1);
}

/* --- two managers at once ---------------------------------------------------- */

typedef struct {
    measures_env_t *env;
    const char *name;
    const char *id;
    const char *title;
    pthread_barrier_t *barrier;
    int code;
} s_racer_t;

static void *
s_race(void *arg)
{
    s_racer_t *racer = arg;
    th_client_t *c = meas_client(racer->env, racer->name);
    s_update_t u;
    s_update_init(&u, racer->id, 1, "title");
    u.m.title = (char *) racer->title;
    th_result_t r;
    memset(&r, 0, sizeof r);
    pthread_barrier_wait(racer->barrier);
    racer->code = c != NULL ? s_update(c, &u, NULL, 10000, &r) : -1;
    th_result_clear(&r);
    th_client_destroy(&c);
    return NULL;
}

/* Two managers of Sömmerda (both named for it by their keys) update one
 * measure from the same version 1. To be sure both are under way at once,
 * the test holds the measure's row lock while they start: both read
 * version 1 without a lock, both begin their transaction and wait for the
 * row. When the test lets go, one updates it to version 2; the other then
 * finds version 2 and gets FAILED_PRECONDITION. */
static void
test_two_managers_one_wins(void **state)
{
    s_fixture_t *f = *state;
    char id[37];
    assert_int_equal(meas_seed_measure(&f->env, "16068", "Start", "language", "planned", id),
                     0);
    PGconn *holder = PQconnectdb(f->env.reg.db_url);
    assert_int_equal(PQstatus(holder), CONNECTION_OK);
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT 1 FROM measures.measures WHERE id = '%s' FOR UPDATE", id);
    PGresult *res = PQexec(holder, "BEGIN");
    PQclear(res);
    res = PQexec(holder, sql);
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    PQclear(res);

    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, 2);
    s_racer_t racers[2] = {
        {.env = &f->env, .name = "manager-soemmerda", .id = id, .title = "Erste",
         .barrier = &barrier},
        {.env = &f->env, .name = "manager-soemmerda2", .id = id, .title = "Zweite",
         .barrier = &barrier},
    };
    pthread_t threads[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, s_race, &racers[i]), 0);
    /* Both wait for the row (bounded). */
    long long waiting = 0;
    for (int i = 0; i < 100 && waiting < 2; i++) {
        reg_sleep_ms(50);
        waiting = meas_count(&f->env, "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a "
                                      "ON a.pid = l.pid WHERE NOT l.granted AND "
                                      "a.usename = 'teilhabe_measures'");
    }
    res = PQexec(holder, "COMMIT");
    PQclear(res);
    PQfinish(holder);
    for (int i = 0; i < 2; i++)
        pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&barrier);
    assert_int_equal(waiting, 2);
    const int ok = (racers[0].code == TH_OK) + (racers[1].code == TH_OK);
    const int stale = (racers[0].code == TH_FAILED_PRECONDITION) +
                      (racers[1].code == TH_FAILED_PRECONDITION);
    if (ok != 1 || stale != 1)
        fail_msg("codes %d and %d, expected one OK and one FAILED_PRECONDITION",
                 racers[0].code, racers[1].code);
    assert_int_equal(s_version(f, id), 2);
    assert_int_equal(s_audit_rows(f, id), 1);
    /* And in rounds without the held lock: one wins each round. */
    for (int round = 0; round < 4; round++) {
        char next[37];
        assert_int_equal(meas_seed_measure(&f->env, "16068", "Runde", "language", "planned",
                                           next),
                         0);
        pthread_barrier_init(&barrier, NULL, 2);
        racers[0].id = racers[1].id = next;
        for (int i = 0; i < 2; i++)
            assert_int_equal(pthread_create(&threads[i], NULL, s_race, &racers[i]), 0);
        for (int i = 0; i < 2; i++)
            pthread_join(threads[i], NULL);
        pthread_barrier_destroy(&barrier);
        if ((racers[0].code == TH_OK) + (racers[1].code == TH_OK) != 1 ||
            (racers[0].code == TH_FAILED_PRECONDITION) +
                    (racers[1].code == TH_FAILED_PRECONDITION) !=
                1)
            fail_msg("round %d: codes %d and %d, expected one OK and one "
                     "FAILED_PRECONDITION",
                     round, racers[0].code, racers[1].code);
        assert_int_equal(s_version(f, next), 2);
    }
}

/* --- events ------------------------------------------------------------------ */

/* The events caller reads: how many, and how many of them about Land 16. */
static void
s_events(th_client_t *c, size_t *n, size_t *of_16)
{
    Teilhabe__Events__V1__ListEventsRequest req = TEILHABE__EVENTS__V1__LIST_EVENTS_REQUEST__INIT;
    req.limit = 1000;
    th_result_t r;
    assert_int_equal(meas_call(c, MEAS_METHOD("ListEvents"), &req.base,
                               &teilhabe__events__v1__list_events_response__descriptor, 5000,
                               &r),
                     TH_OK);
    const Teilhabe__Events__V1__ListEventsResponse *resp = (const void *) r.response;
    *of_16 = 0;
    *n = 0;
    for (size_t i = 0; i < resp->n_events; i++) {
        const Teilhabe__Events__V1__Event *e = resp->events[i];
        if (strncmp(e->topic, "measure.", 8) != 0)
            continue; /* the catalogue's: everyone reads them */
        (*n)++;
        *of_16 += strncmp(e->resource, "districts/16", 12) == 0;
        assert_string_equal(e->payload_type, "teilhabe.measures.v1.Measure");
        s_measure_t *m = teilhabe__measures__v1__measure__unpack(NULL, e->payload.len,
                                                                 e->payload.data);
        assert_non_null(m);
        assert_non_null(strstr(e->resource, m->id));
        teilhabe__measures__v1__measure__free_unpacked(m, NULL);
    }
    th_result_clear(&r);
}

static void
test_events_follow_the_read_rule(void **state)
{
    s_fixture_t *f = *state;
    char id[37];
    th_result_t r;
    /* One event about Bayern, by Bayern's ministry. */
    assert_int_equal(meas_seed_measure(&f->env, "09162", "München", "health", "planned", id),
                     0);
    assert_int_equal(s_transition(f->ministry_by, id, 1, S_ACTIVE, &r), TH_OK);
    th_result_clear(&r);
    const long long total = meas_count(&f->env, "SELECT count(*) FROM measures.events WHERE "
                                                "topic LIKE 'measure.%'");
    const long long of_16 = meas_count(&f->env, "SELECT count(*) FROM measures.events WHERE "
                                                "resource LIKE 'districts/16%'");
    assert_true(total > of_16 && of_16 > 0);
    size_t n = 0, own = 0;
    s_events(f->admin, &n, &own);
    assert_int_equal(n, total);
    s_events(f->ministry, &n, &own);
    assert_int_equal(n, of_16);
    assert_int_equal(own, of_16);
    s_events(f->soemmerda, &n, &own);
    assert_int_equal(n, of_16);
    s_events(f->ministry_by, &n, &own);
    assert_int_equal(n, total - of_16);
    assert_int_equal(own, 0);
    s_events(f->analyst, &n, &own);
    assert_int_equal(n, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_update_fields_by_mask),
        cmocka_unit_test(test_idempotent_retry_applies_once),
        cmocka_unit_test(test_transitions),
        cmocka_unit_test(test_delete_only_while_planned),
        cmocka_unit_test(test_two_managers_one_wins),
        cmocka_unit_test(test_events_follow_the_read_rule),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
