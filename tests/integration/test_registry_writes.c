/* ---------------------------------------------------------------------------
 * test_registry_writes.c: integration concepts and managers through the real
 * stack: who may write what, every bad input, optimistic concurrency (two
 * concurrent writers with one version: exactly one wins), kept versions,
 * idempotent retries, and the audit rows and events every write leaves.
 * ---------------------------------------------------------------------------
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "registry_env.h"
#include "th_date.h"

typedef Teilhabe__Registry__V1__Concept s_concept_t;
typedef Teilhabe__Registry__V1__Manager s_manager_t;
typedef Teilhabe__Common__V1__FieldOfAction s_field_t;

#define S_WORK TEILHABE__COMMON__V1__FIELD_OF_ACTION__FIELD_OF_ACTION_WORK_AND_TRAINING
#define S_LANGUAGE TEILHABE__COMMON__V1__FIELD_OF_ACTION__FIELD_OF_ACTION_LANGUAGE
#define S_HOUSING TEILHABE__COMMON__V1__FIELD_OF_ACTION__FIELD_OF_ACTION_HOUSING
#define S_PARTICIPATION TEILHABE__REGISTRY__V1__ORIENTATION__ORIENTATION_PARTICIPATION
#define S_NEWCOMERS TEILHABE__REGISTRY__V1__ORIENTATION__ORIENTATION_NEWCOMERS

typedef struct {
    registry_env_t env;
    th_client_t *ministry;    /* ministry of Thüringen (16) */
    th_client_t *ministry_by; /* ministry of Bayern (09) */
    th_client_t *analyst;
    th_client_t *manager; /* manager-th, linked to a manager record below */
    th_client_t *scoped;  /* manager-scoped: district scope 16069 in its key */
    th_client_t *admin;
} s_fixture_t;

static int
s_setup(void **state)
{
    s_fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    *state = f;
    if (registry_env_start(&f->env, "regwrite") != 0)
        return -1;
    f->ministry = reg_client(&f->env, "ministry-th");
    f->ministry_by = reg_client(&f->env, "ministry-by");
    f->analyst = reg_client(&f->env, "analyst");
    f->manager = reg_client(&f->env, "manager-th");
    f->scoped = reg_client(&f->env, "manager-scoped");
    f->admin = reg_client(&f->env, "admin");
    return f->ministry && f->ministry_by && f->analyst && f->manager && f->scoped &&
                   f->admin
               ? 0
               : -1;
}

static int
s_teardown(void **state)
{
    s_fixture_t *f = *state;
    th_client_destroy(&f->ministry);
    th_client_destroy(&f->ministry_by);
    th_client_destroy(&f->analyst);
    th_client_destroy(&f->manager);
    th_client_destroy(&f->scoped);
    th_client_destroy(&f->admin);
    const int status = registry_env_stop(&f->env);
    free(f);
    return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* A concept request; fields are copied into the request's own storage. */
typedef struct {
    Teilhabe__Registry__V1__SetConceptRequest req;
    s_concept_t concept;
    s_field_t fields[12];
    char *mask[8];
} s_set_t;

static void
s_set_init(s_set_t *s, const char *ags, int64_t version)
{
    teilhabe__registry__v1__set_concept_request__init(&s->req);
    teilhabe__registry__v1__concept__init(&s->concept);
    s->req.concept = &s->concept;
    s->req.version = version;
    s->concept.ags = (char *) ags;
    s->concept.title = "Integrationskonzept";
    s->concept.adopted_on = "2019-05-15";
    s->concept.orientation = S_PARTICIPATION;
    s->fields[0] = S_WORK;
    s->fields[1] = S_LANGUAGE;
    s->concept.fields = s->fields;
    s->concept.n_fields = 2;
    s->req.update_mask = s->mask;
}

static int
s_set(th_client_t *c, s_set_t *s, const th_call_opts_t *opts, th_result_t *r)
{
    memset(r, 0, sizeof *r);
    th_client_call(c, REG_METHOD("SetConcept"), &s->req.base,
                   &teilhabe__registry__v1__concept__descriptor, 10000, opts, r);
    return r->code;
}

static int64_t
s_current_version(th_client_t *c, const char *ags)
{
    Teilhabe__Registry__V1__GetConceptRequest req =
        TEILHABE__REGISTRY__V1__GET_CONCEPT_REQUEST__INIT;
    req.ags = (char *) ags;
    th_result_t r;
    reg_call(c, REG_METHOD("GetConcept"), &req.base,
             &teilhabe__registry__v1__concept__descriptor, &r);
    const int64_t v = r.code == TH_OK ? ((const s_concept_t *) r.response)->version : 0;
    th_result_clear(&r);
    return v;
}

static void
test_concept_versions_and_rights(void **state)
{
    s_fixture_t *f = *state;
    th_result_t r;
    s_set_t s;

    /* No concept yet. */
    Teilhabe__Registry__V1__GetConceptRequest get =
        TEILHABE__REGISTRY__V1__GET_CONCEPT_REQUEST__INIT;
    get.ags = "16068";
    reg_call(f->analyst, REG_METHOD("GetConcept"), &get.base,
             &teilhabe__registry__v1__concept__descriptor, &r);
    assert_int_equal(r.code, TH_NOT_FOUND);
    th_result_clear(&r);

    /* Who may not write: analyst, the ministry of another Land, admin. */
    s_set_init(&s, "16068", 0);
    assert_int_equal(s_set(f->analyst, &s, NULL, &r), TH_PERMISSION_DENIED);
    th_result_clear(&r);
    assert_int_equal(s_set(f->ministry_by, &s, NULL, &r), TH_PERMISSION_DENIED);
    assert_non_null(strstr(r.message, "ministry of Land 16"));
    th_result_clear(&r);
    assert_int_equal(s_set(f->admin, &s, NULL, &r), TH_PERMISSION_DENIED);
    th_result_clear(&r);
    /* A manager not assigned to 16068 may not either. */
    assert_int_equal(s_set(f->manager, &s, NULL, &r), TH_PERMISSION_DENIED);
    th_result_clear(&r);

    /* Create (version 0) by the ministry of Thüringen. */
    assert_int_equal(s_set(f->ministry, &s, NULL, &r), TH_OK);
    const s_concept_t *c = (const s_concept_t *) r.response;
    assert_int_equal(c->version, 1);
    assert_string_equal(c->title, "Integrationskonzept");
    assert_string_equal(c->adopted_on, "2019-05-15");
    assert_string_equal(c->last_updated_on, "");
    assert_int_equal(c->n_fields, 2);
    assert_int_equal(c->fields[0], S_WORK);
    assert_string_equal(c->updated_by, "ministry-th");
    th_result_clear(&r);
    /* Creating again with version 0 is stale. */
    assert_int_equal(s_set(f->ministry, &s, NULL, &r), TH_FAILED_PRECONDITION);
    assert_non_null(strstr(r.message, "version 1"));
    th_result_clear(&r);

    /* Update only the title (mask); the rest stays. */
    s_set_init(&s, "16068", 1);
    s.concept.title = "Teilhabe für alle";
    s.concept.orientation = 0; /* not in the mask: ignored */
    s.mask[0] = "title";
    s.req.n_update_mask = 1;
    assert_int_equal(s_set(f->ministry, &s, NULL, &r), TH_OK);
    c = (const s_concept_t *) r.response;
    assert_int_equal(c->version, 2);
    assert_string_equal(c->title, "Teilhabe für alle");
    assert_int_equal(c->orientation, S_PARTICIPATION);
    assert_int_equal(c->n_fields, 2);
    th_result_clear(&r);
    /* Stale version. */
    assert_int_equal(s_set(f->ministry, &s, NULL, &r), TH_FAILED_PRECONDITION);
    th_result_clear(&r);
    /* Unknown mask entry. */
    s_set_init(&s, "16068", 2);
    s.mask[0] = "version";
    s.req.n_update_mask = 1;
    assert_int_equal(s_set(f->ministry, &s, NULL, &r), TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "update_mask"));
    th_result_clear(&r);

    /* Earlier versions are kept and listable. */
    get.version = 1;
    reg_call(f->analyst, REG_METHOD("GetConcept"), &get.base,
             &teilhabe__registry__v1__concept__descriptor, &r);
    assert_int_equal(r.code, TH_OK);
    assert_string_equal(((const s_concept_t *) r.response)->title, "Integrationskonzept");
    th_result_clear(&r);
    get.version = 7;
    reg_call(f->analyst, REG_METHOD("GetConcept"), &get.base,
             &teilhabe__registry__v1__concept__descriptor, &r);
    assert_int_equal(r.code, TH_NOT_FOUND);
    th_result_clear(&r);
    Teilhabe__Registry__V1__ListConceptVersionsRequest lv =
        TEILHABE__REGISTRY__V1__LIST_CONCEPT_VERSIONS_REQUEST__INIT;
    lv.ags = "16068";
    lv.page_size = 1;
    reg_call(f->analyst, REG_METHOD("ListConceptVersions"), &lv.base,
             &teilhabe__registry__v1__list_concept_versions_response__descriptor, &r);
    assert_int_equal(r.code, TH_OK);
    const Teilhabe__Registry__V1__ListConceptVersionsResponse *versions =
        (const void *) r.response;
    assert_int_equal(versions->n_concepts, 1);
    assert_int_equal(versions->concepts[0]->version, 2);
    char token[64];
    snprintf(token, sizeof token, "%s", versions->next_page_token);
    assert_true(token[0] != '\0');
    th_result_clear(&r);
    lv.page_token = token;
    reg_call(f->analyst, REG_METHOD("ListConceptVersions"), &lv.base,
             &teilhabe__registry__v1__list_concept_versions_response__descriptor, &r);
    assert_int_equal(r.code, TH_OK);
    versions = (const void *) r.response;
    assert_int_equal(versions->n_concepts, 1);
    assert_int_equal(versions->concepts[0]->version, 1);
    assert_string_equal(versions->next_page_token, "");
    th_result_clear(&r);

    /* ListConcepts per Land. */
    Teilhabe__Registry__V1__ListConceptsRequest lc =
        TEILHABE__REGISTRY__V1__LIST_CONCEPTS_REQUEST__INIT;
    lc.state_code = "16";
    reg_call(f->analyst, REG_METHOD("ListConcepts"), &lc.base,
             &teilhabe__registry__v1__list_concepts_response__descriptor, &r);
    assert_int_equal(r.code, TH_OK);
    const Teilhabe__Registry__V1__ListConceptsResponse *lr = (const void *) r.response;
    assert_int_equal(lr->n_concepts, 1);
    assert_int_equal(lr->concepts[0]->version, 2);
    th_result_clear(&r);
    lc.state_code = "09";
    reg_call(f->analyst, REG_METHOD("ListConcepts"), &lc.base,
             &teilhabe__registry__v1__list_concepts_response__descriptor, &r);
    assert_int_equal(r.code, TH_OK);
    assert_int_equal(
        ((const Teilhabe__Registry__V1__ListConceptsResponse *) r.response)->n_concepts, 0);
    th_result_clear(&r);
    lc.state_code = "00";
    reg_call(f->analyst, REG_METHOD("ListConcepts"), &lc.base,
             &teilhabe__registry__v1__list_concepts_response__descriptor, &r);
    assert_int_equal(r.code, TH_INVALID_ARGUMENT);
    th_result_clear(&r);

    /* Each write left one audit row and one event. */
    assert_int_equal(reg_sql_count(f->env.db_url, "SELECT count(*) FROM audit.log WHERE "
                                                  "resource = 'concepts/16068'"),
                     2);
    assert_int_equal(reg_sql_count(f->env.db_url,
                                   "SELECT count(*) FROM registry.events WHERE "
                                   "topic = 'concept.set' AND resource = "
                                   "'concepts/16068'"),
                     2);
    /* The audit row holds before and after of the update. */
    char *audit = reg_sql_value(
        f->env.db_url, "SELECT (before->>'version') || '|' || (after->>'version') || '|' "
                       "|| (after->>'title') || '|' || principal_id || '|' || method "
                       "FROM audit.log WHERE resource = 'concepts/16068' "
                       "ORDER BY id DESC LIMIT 1");
    assert_non_null(audit);
    assert_string_equal(audit, "1|2|Teilhabe für alle|ministry-th|"
                               "teilhabe.registry.v1.Registry/SetConcept");
    free(audit);
}

static void
s_expect_bad(s_fixture_t *f, s_set_t *s, const char *field)
{
    th_result_t r;
    assert_int_equal(s_set(f->ministry, s, NULL, &r), TH_INVALID_ARGUMENT);
    if (!reg_has_violation(&r, field))
        fail_msg("no violation for %s: %s", field, r.message);
    th_result_clear(&r);
}

static void
test_concept_bad_input(void **state)
{
    s_fixture_t *f = *state;
    s_set_t s;
    static char big[10 * 1024 + 1];
    memset(big, 'x', sizeof big - 1);

    s_set_init(&s, "16066", 0);
    s.concept.title = "";
    s_expect_bad(f, &s, "concept.title");
    s_set_init(&s, "16066", 0);
    s.concept.title = big;
    s_expect_bad(f, &s, "concept.title");
    s_set_init(&s, "16066", 0);
    s.concept.title = "Zeile\nzwei";
    s_expect_bad(f, &s, "concept.title");
    s_set_init(&s, "16066", 0);
    s.concept.adopted_on = "15.05.2019";
    s_expect_bad(f, &s, "concept.adopted_on");
    s_set_init(&s, "16066", 0);
    s.concept.last_updated_on = "2019-01-01"; /* before adopted_on */
    s_expect_bad(f, &s, "concept.last_updated_on");
    s_set_init(&s, "16066", 0);
    s.concept.orientation = 0;
    s_expect_bad(f, &s, "concept.orientation");
    s_set_init(&s, "16066", 0);
    s.concept.orientation = 42;
    s_expect_bad(f, &s, "concept.orientation");
    s_set_init(&s, "16066", 0);
    s.concept.n_fields = 0;
    s_expect_bad(f, &s, "concept.fields");
    s_set_init(&s, "16066", 0);
    s.fields[1] = 77;
    s_expect_bad(f, &s, "concept.fields");
    s_set_init(&s, "16066", 0);
    s.fields[1] = S_WORK; /* twice */
    s_expect_bad(f, &s, "concept.fields");
    s_set_init(&s, "16066", 0);
    s.concept.link = "ftp://example.org/konzept.pdf";
    s_expect_bad(f, &s, "concept.link");
    s_set_init(&s, "16066", 0);
    s.concept.ags = "1606";
    s_expect_bad(f, &s, "concept.ags");
    s_set_init(&s, "16066", 0);
    s.concept.ags = "16999";
    s_expect_bad(f, &s, "concept.ags");
    s_set_init(&s, "16066", -1);
    s_expect_bad(f, &s, "version");

    /* Invalid UTF-8 is refused (by the runtime, before the handler). */
    th_result_t r;
    s_set_init(&s, "16066", 0);
    s.concept.title = "Konzept \xff\xfe";
    assert_int_equal(s_set(f->ministry, &s, NULL, &r), TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "concept.title"));
    th_result_clear(&r);
    /* A concept for Eisenach today: NOT_FOUND naming the successor. */
    s_set_init(&s, "16056", 0);
    assert_int_equal(s_set(f->ministry, &s, NULL, &r), TH_NOT_FOUND);
    assert_non_null(strstr(r.message, "16063"));
    th_result_clear(&r);
    /* No concept was stored by any of these. */
    assert_int_equal(reg_sql_count(f->env.db_url,
                                   "SELECT count(*) FROM registry.concepts WHERE "
                                   "ags IN ('16066', '16056')"),
                     0);
}

typedef struct {
    registry_env_t *env;
    const char *name;
    int64_t version;
    pthread_barrier_t *barrier;
    int code;
    char title[32];
} s_racer_t;

static void *
s_race(void *arg)
{
    s_racer_t *racer = arg;
    th_client_t *c = reg_client(racer->env, racer->name);
    s_set_t s;
    s_set_init(&s, "16061", racer->version);
    s.concept.title = racer->title;
    th_result_t r;
    memset(&r, 0, sizeof r);
    pthread_barrier_wait(racer->barrier);
    if (c != NULL) {
        s_set(c, &s, NULL, &r);
        racer->code = r.code;
    } else {
        racer->code = -1;
    }
    th_result_clear(&r);
    th_client_destroy(&c);
    return NULL;
}

static void
test_concurrent_updates_one_wins(void **state)
{
    s_fixture_t *f = *state;
    th_result_t r;
    s_set_t s;
    s_set_init(&s, "16061", 0);
    assert_int_equal(s_set(f->ministry, &s, NULL, &r), TH_OK);
    th_result_clear(&r);

    /* Rounds of two writers holding the same version: one wins each round. */
    int64_t version = 1;
    for (int round = 0; round < 6; round++) {
        pthread_barrier_t barrier;
        pthread_barrier_init(&barrier, NULL, 2);
        s_racer_t racers[2] = {
            {.env = &f->env,
             .name = "ministry-th",
             .version = version,
             .barrier = &barrier},
            {.env = &f->env,
             .name = "ministry-th",
             .version = version,
             .barrier = &barrier},
        };
        snprintf(racers[0].title, sizeof racers[0].title, "round %d a", round);
        snprintf(racers[1].title, sizeof racers[1].title, "round %d b", round);
        pthread_t threads[2];
        for (int i = 0; i < 2; i++)
            assert_int_equal(pthread_create(&threads[i], NULL, s_race, &racers[i]), 0);
        for (int i = 0; i < 2; i++)
            pthread_join(threads[i], NULL);
        pthread_barrier_destroy(&barrier);
        const int ok = (racers[0].code == TH_OK) + (racers[1].code == TH_OK);
        const int stale = (racers[0].code == TH_FAILED_PRECONDITION) +
                          (racers[1].code == TH_FAILED_PRECONDITION);
        if (ok != 1 || stale != 1)
            fail_msg(
                "round %d: codes %d and %d, expected one OK and one FAILED_PRECONDITION",
                round, racers[0].code, racers[1].code);
        version++;
        assert_int_equal(s_current_version(f->analyst, "16061"), version);
    }
    /* Nothing lost: every version 1..7 is kept, exactly one current. */
    assert_int_equal(reg_sql_count(f->env.db_url, "SELECT count(*) FROM registry.concepts "
                                                  "WHERE ags = '16061'"),
                     7);
    assert_int_equal(reg_sql_count(f->env.db_url, "SELECT count(*) FROM registry.concepts "
                                                  "WHERE ags = '16061' AND is_current"),
                     1);
    assert_int_equal(reg_sql_count(f->env.db_url, "SELECT count(*) FROM audit.log WHERE "
                                                  "resource = 'concepts/16061'"),
                     7);
}

static void
test_idempotent_retry_applies_once(void **state)
{
    s_fixture_t *f = *state;
    th_result_t r;
    s_set_t s;
    s_set_init(&s, "16062", 0);
    const th_call_opts_t opts = {.idempotency_key = "set-16062-once"};
    assert_int_equal(s_set(f->ministry, &s, &opts, &r), TH_OK);
    assert_int_equal(((const s_concept_t *) r.response)->version, 1);
    th_result_clear(&r);
    /* The same request with the same key: the first reply again. */
    assert_int_equal(s_set(f->ministry, &s, &opts, &r), TH_OK);
    assert_int_equal(((const s_concept_t *) r.response)->version, 1);
    th_result_clear(&r);
    assert_int_equal(reg_sql_count(f->env.db_url,
                                   "SELECT count(*) FROM registry.concepts WHERE "
                                   "ags = '16062'"),
                     1);
    assert_int_equal(reg_sql_count(f->env.db_url, "SELECT count(*) FROM audit.log WHERE "
                                                  "resource = 'concepts/16062'"),
                     1);
    /* The key used for a different request is refused. */
    s.concept.title = "anders";
    assert_int_equal(s_set(f->ministry, &s, &opts, &r), TH_INVALID_ARGUMENT);
    th_result_clear(&r);
}

/* --- managers ----------------------------------------------------------- */

static int
s_create_manager(th_client_t *c, const char *state_code, const char *name,
                 const char *principal_id, th_result_t *r)
{
    Teilhabe__Registry__V1__CreateManagerRequest req =
        TEILHABE__REGISTRY__V1__CREATE_MANAGER_REQUEST__INIT;
    s_manager_t m = TEILHABE__REGISTRY__V1__MANAGER__INIT;
    m.state_code = (char *) state_code;
    m.name = (char *) name;
    m.email = "integration@example.org";
    m.funding_programme = "Landesprogramm Integration";
    m.principal_id = (char *) principal_id;
    req.manager = &m;
    reg_call(c, REG_METHOD("CreateManager"), &req.base,
             &teilhabe__registry__v1__manager__descriptor, r);
    return r->code;
}

static int
s_assign(th_client_t *c, const char *id, const char *ags, const char *from, const char *to,
         th_result_t *r)
{
    Teilhabe__Registry__V1__AssignManagerRequest req =
        TEILHABE__REGISTRY__V1__ASSIGN_MANAGER_REQUEST__INIT;
    req.manager_id = (char *) id;
    req.ags = (char *) ags;
    req.valid_from = (char *) from;
    req.valid_to = (char *) to;
    reg_call(c, REG_METHOD("AssignManager"), &req.base,
             &teilhabe__registry__v1__assignment__descriptor, r);
    return r->code;
}

static int
s_list_managers(th_client_t *c, const char *state_code, const char *ags, const char *as_of,
                th_result_t *r)
{
    Teilhabe__Registry__V1__ListManagersRequest req =
        TEILHABE__REGISTRY__V1__LIST_MANAGERS_REQUEST__INIT;
    req.state_code = (char *) state_code;
    req.ags = (char *) ags;
    req.as_of = (char *) as_of;
    reg_call(c, REG_METHOD("ListManagers"), &req.base,
             &teilhabe__registry__v1__list_managers_response__descriptor, r);
    return r->code;
}

static void
test_managers_and_manager_rights(void **state)
{
    s_fixture_t *f = *state;
    th_result_t r;
    char id[64];
    char yesterday[TH_DATE_LEN + 1], today[TH_DATE_LEN + 1];
    th_date_today(today);
    assert_int_equal(th_date_add_days(today, -1, yesterday), 0);

    /* Only the ministry of the manager's Land creates. */
    assert_int_equal(
        s_create_manager(f->ministry_by, "16", "Erika Muster", "manager-th", &r),
        TH_PERMISSION_DENIED);
    th_result_clear(&r);
    assert_int_equal(s_create_manager(f->analyst, "16", "Erika Muster", "manager-th", &r),
                     TH_PERMISSION_DENIED);
    th_result_clear(&r);
    assert_int_equal(s_create_manager(f->ministry, "16", "", "manager-th", &r),
                     TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "manager.name"));
    th_result_clear(&r);
    assert_int_equal(s_create_manager(f->ministry, "19", "Erika Muster", "manager-th", &r),
                     TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "manager.state_code"));
    th_result_clear(&r);
    assert_int_equal(s_create_manager(f->ministry, "16", "Erika Muster", "Not An Id", &r),
                     TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "manager.principal_id"));
    th_result_clear(&r);
    assert_int_equal(s_create_manager(f->ministry, "16", "Erika Muster", "manager-th", &r),
                     TH_OK);
    const s_manager_t *m = (const s_manager_t *) r.response;
    assert_int_equal(m->version, 1);
    assert_int_equal(strlen(m->id), 36);
    snprintf(id, sizeof id, "%s", m->id);
    th_result_clear(&r);

    /* Assign: bad input first. */
    assert_int_equal(s_assign(f->ministry, id, "09162", "2024-01-01", "", &r),
                     TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "ags"));
    th_result_clear(&r);
    assert_int_equal(s_assign(f->ministry, id, "16068", "2024-01-01", "2023-12-31", &r),
                     TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "valid_to"));
    th_result_clear(&r);
    assert_int_equal(s_assign(f->ministry, id, "16068", "2024-02-30", "", &r),
                     TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "valid_from"));
    th_result_clear(&r);
    assert_int_equal(s_assign(f->ministry, id, "16056", "2022-01-01", "", &r),
                     TH_NOT_FOUND);
    assert_non_null(strstr(r.message, "16063"));
    th_result_clear(&r);
    assert_int_equal(s_assign(f->ministry, id, "16056", "2020-01-01", "", &r),
                     TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "valid_to")); /* must end when Eisenach ended */
    th_result_clear(&r);
    assert_int_equal(
        s_assign(f->ministry, "no-such-manager", "16068", "2024-01-01", "", &r),
        TH_NOT_FOUND);
    th_result_clear(&r);
    assert_int_equal(s_assign(f->ministry_by, id, "16068", "2024-01-01", "", &r),
                     TH_PERMISSION_DENIED);
    th_result_clear(&r);

    /* Before the assignment, the linked manager principal may not write. */
    s_set_t s;
    s_set_init(&s, "16068", 0);
    const int64_t v = s_current_version(f->analyst, "16068");
    s.req.version = v;
    assert_int_equal(s_set(f->manager, &s, NULL, &r), TH_PERMISSION_DENIED);
    th_result_clear(&r);

    assert_int_equal(s_assign(f->ministry, id, "16068", "2024-01-01", "", &r), TH_OK);
    assert_string_equal(((const Teilhabe__Registry__V1__Assignment *) r.response)->ags,
                        "16068");
    th_result_clear(&r);
    assert_int_equal(s_assign(f->ministry, id, "16068", "2025-01-01", "2025-12-31", &r),
                     TH_ALREADY_EXISTS);
    th_result_clear(&r);
    assert_int_equal(s_assign(f->ministry, id, "16070", "2024-01-01", "", &r), TH_OK);
    th_result_clear(&r);

    /* A second manager on the same district. */
    assert_int_equal(s_create_manager(f->ministry, "16", "Max Beispiel", "", &r), TH_OK);
    char id2[64];
    snprintf(id2, sizeof id2, "%s", ((const s_manager_t *) r.response)->id);
    th_result_clear(&r);
    assert_int_equal(s_assign(f->ministry, id2, "16068", "2020-01-01", "2023-12-31", &r),
                     TH_OK);
    th_result_clear(&r);

    /* ListManagers by district and date, and by Land. */
    assert_int_equal(s_list_managers(f->admin, "", "16068", "", &r), TH_OK);
    const Teilhabe__Registry__V1__ListManagersResponse *lm = (const void *) r.response;
    assert_int_equal(lm->n_managers, 1);
    assert_string_equal(lm->managers[0]->id, id);
    assert_int_equal(lm->managers[0]->n_assignments, 2);
    th_result_clear(&r);
    assert_int_equal(s_list_managers(f->admin, "", "16068", "2022-06-01", &r), TH_OK);
    lm = (const void *) r.response;
    assert_int_equal(lm->n_managers, 1);
    assert_string_equal(lm->managers[0]->id, id2);
    th_result_clear(&r);
    assert_int_equal(s_list_managers(f->admin, "16", "", "", &r), TH_OK);
    assert_int_equal(
        ((const Teilhabe__Registry__V1__ListManagersResponse *) r.response)->n_managers, 2);
    th_result_clear(&r);
    assert_int_equal(s_list_managers(f->admin, "09", "", "", &r), TH_OK);
    assert_int_equal(
        ((const Teilhabe__Registry__V1__ListManagersResponse *) r.response)->n_managers, 0);
    th_result_clear(&r);
    assert_int_equal(s_list_managers(f->admin, "", "1606", "", &r), TH_INVALID_ARGUMENT);
    th_result_clear(&r);
    assert_int_equal(s_list_managers(f->admin, "", "16068", "2010-01-01", &r),
                     TH_OUT_OF_RANGE);
    th_result_clear(&r);

    /* Assigned today: the manager principal writes the concept of 16068 ... */
    assert_int_equal(s_set(f->manager, &s, NULL, &r), TH_OK);
    assert_string_equal(((const s_concept_t *) r.response)->updated_by, "manager-th");
    th_result_clear(&r);
    /* ... but not of a district it is not assigned to. */
    s_set_t other;
    s_set_init(&other, "16069", 0);
    assert_int_equal(s_set(f->manager, &other, NULL, &r), TH_PERMISSION_DENIED);
    th_result_clear(&r);
    /* The scoped manager key (district scope 16069) may. */
    assert_int_equal(s_set(f->scoped, &other, NULL, &r), TH_OK);
    th_result_clear(&r);

    /* Unassign as of yesterday: the right ends with it. */
    Teilhabe__Registry__V1__UnassignManagerRequest un =
        TEILHABE__REGISTRY__V1__UNASSIGN_MANAGER_REQUEST__INIT;
    un.manager_id = id;
    un.ags = "16068";
    un.end_date = yesterday;
    reg_call(f->ministry, REG_METHOD("UnassignManager"), &un.base,
             &teilhabe__registry__v1__assignment__descriptor, &r);
    assert_int_equal(r.code, TH_OK);
    assert_string_equal(((const Teilhabe__Registry__V1__Assignment *) r.response)->valid_to,
                        yesterday);
    th_result_clear(&r);
    /* Nothing is active today any more. */
    un.end_date = today;
    reg_call(f->ministry, REG_METHOD("UnassignManager"), &un.base,
             &teilhabe__registry__v1__assignment__descriptor, &r);
    assert_int_equal(r.code, TH_NOT_FOUND);
    th_result_clear(&r);
    s.req.version = s_current_version(f->analyst, "16068");
    assert_int_equal(s_set(f->manager, &s, NULL, &r), TH_PERMISSION_DENIED);
    th_result_clear(&r);

    /* GetManager lists every assignment, including the ended one. */
    Teilhabe__Registry__V1__GetManagerRequest gm =
        TEILHABE__REGISTRY__V1__GET_MANAGER_REQUEST__INIT;
    gm.id = id;
    reg_call(f->admin, REG_METHOD("GetManager"), &gm.base,
             &teilhabe__registry__v1__manager__descriptor, &r);
    assert_int_equal(r.code, TH_OK);
    assert_int_equal(((const s_manager_t *) r.response)->n_assignments, 2);
    th_result_clear(&r);

    /* UpdateManager with version and mask. */
    Teilhabe__Registry__V1__UpdateManagerRequest up =
        TEILHABE__REGISTRY__V1__UPDATE_MANAGER_REQUEST__INIT;
    s_manager_t changes = TEILHABE__REGISTRY__V1__MANAGER__INIT;
    char *mask[] = {"email"};
    changes.id = id;
    changes.email = "erika.muster@example.org";
    up.manager = &changes;
    up.version = 1;
    up.update_mask = mask;
    up.n_update_mask = 1;
    reg_call(f->ministry_by, REG_METHOD("UpdateManager"), &up.base,
             &teilhabe__registry__v1__manager__descriptor, &r);
    assert_int_equal(r.code, TH_PERMISSION_DENIED);
    th_result_clear(&r);
    reg_call(f->ministry, REG_METHOD("UpdateManager"), &up.base,
             &teilhabe__registry__v1__manager__descriptor, &r);
    assert_int_equal(r.code, TH_OK);
    m = (const s_manager_t *) r.response;
    assert_int_equal(m->version, 2);
    assert_string_equal(m->email, "erika.muster@example.org");
    assert_string_equal(m->name, "Erika Muster");
    th_result_clear(&r);
    reg_call(f->ministry, REG_METHOD("UpdateManager"), &up.base,
             &teilhabe__registry__v1__manager__descriptor, &r);
    assert_int_equal(r.code, TH_FAILED_PRECONDITION);
    th_result_clear(&r);
    changes.email = "not-an-address";
    up.version = 2;
    reg_call(f->ministry, REG_METHOD("UpdateManager"), &up.base,
             &teilhabe__registry__v1__manager__descriptor, &r);
    assert_int_equal(r.code, TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "manager.email"));
    th_result_clear(&r);
}

static void
test_events_carry_every_change(void **state)
{
    s_fixture_t *f = *state;
    th_result_t r;
    Teilhabe__Events__V1__ListEventsRequest req =
        TEILHABE__EVENTS__V1__LIST_EVENTS_REQUEST__INIT;
    req.limit = 1000;
    reg_call(f->admin, REG_METHOD("ListEvents"), &req.base,
             &teilhabe__events__v1__list_events_response__descriptor, &r);
    assert_int_equal(r.code, TH_OK);
    const Teilhabe__Events__V1__ListEventsResponse *ev = (const void *) r.response;
    assert_true(ev->n_events > 5);
    bool concept = false, assigned = false, unassigned = false, created = false;
    int64_t previous = 0;
    for (size_t i = 0; i < ev->n_events; i++) {
        const Teilhabe__Events__V1__Event *e = ev->events[i];
        assert_true(e->sequence > previous);
        previous = e->sequence;
        assert_true(strlen(e->create_time) > 10);
        if (strcmp(e->topic, "concept.set") == 0 && !concept) {
            assert_string_equal(e->payload_type, "teilhabe.registry.v1.Concept");
            s_concept_t *c = teilhabe__registry__v1__concept__unpack(NULL, e->payload.len,
                                                                     e->payload.data);
            assert_non_null(c);
            assert_true(c->version >= 1);
            assert_string_equal(e->resource + strlen("concepts/"), c->ags);
            teilhabe__registry__v1__concept__free_unpacked(c, NULL);
            concept = true;
        }
        assigned |= strcmp(e->topic, "manager.assigned") == 0;
        unassigned |= strcmp(e->topic, "manager.unassigned") == 0;
        created |= strcmp(e->topic, "manager.created") == 0;
    }
    assert_true(concept && assigned && unassigned && created);
    assert_int_equal(ev->last_sequence, previous);
    th_result_clear(&r);

    /* After the last one: nothing, and the checkpoint stays. */
    req.after_sequence = previous;
    reg_call(f->admin, REG_METHOD("ListEvents"), &req.base,
             &teilhabe__events__v1__list_events_response__descriptor, &r);
    assert_int_equal(r.code, TH_OK);
    ev = (const void *) r.response;
    assert_int_equal(ev->n_events, 0);
    assert_int_equal(ev->last_sequence, previous);
    th_result_clear(&r);
    /* limit 2 pages. */
    req.after_sequence = 0;
    req.limit = 2;
    reg_call(f->admin, REG_METHOD("ListEvents"), &req.base,
             &teilhabe__events__v1__list_events_response__descriptor, &r);
    assert_int_equal(r.code, TH_OK);
    assert_int_equal(
        ((const Teilhabe__Events__V1__ListEventsResponse *) r.response)->n_events, 2);
    th_result_clear(&r);
    req.limit = 1001;
    reg_call(f->admin, REG_METHOD("ListEvents"), &req.base,
             &teilhabe__events__v1__list_events_response__descriptor, &r);
    assert_int_equal(r.code, TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "limit"));
    th_result_clear(&r);
    req.limit = 0;
    req.after_sequence = -5;
    reg_call(f->admin, REG_METHOD("ListEvents"), &req.base,
             &teilhabe__events__v1__list_events_response__descriptor, &r);
    assert_int_equal(r.code, TH_INVALID_ARGUMENT);
    th_result_clear(&r);
}

int
main(void)
{
    /* German dates need the zone (as every program sets it up in main). */
    if (th_date_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concept_versions_and_rights),
        cmocka_unit_test(test_concept_bad_input),
        cmocka_unit_test(test_concurrent_updates_one_wins),
        cmocka_unit_test(test_idempotent_retry_applies_once),
        cmocka_unit_test(test_managers_and_manager_rights),
        cmocka_unit_test(test_events_carry_every_change),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
