/* ---------------------------------------------------------------------------
 * test_registry_read_rules.c: who reads what, through the real stack.
 *
 * Names and contacts of integration managers are personal data: the admin,
 * the ministry of the manager's Land and the manager itself see them; other
 * principals of that Land and services see the record without them; an
 * analyst (aggregates only) and a principal of another Land see none.
 * Principal records are the admin's alone, also through the outbox, and
 * events carry ids, not contacts, also for rows written into the outbox
 * before the registry withheld them. Every role of docs/registry.md's table
 * is asked here: admin, ministry of the Land and of another, the manager
 * itself, another manager of the Land, a manager of another Land, analysts
 * federal and of the Land, a service.
 * ---------------------------------------------------------------------------
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <czmq.h>

#include "registry_env.h"

typedef Teilhabe__Registry__V1__Manager s_manager_t;

/* The expected answer for one caller and one record. */
typedef enum {
    S_DENIED,
    S_WITHHELD,
    S_FULL
} s_expect_t;

enum {
    S_ADMIN,
    S_MINISTRY_TH,
    S_MINISTRY_BY,
    S_MANAGER_TH,     /* linked to manager A: the manager itself */
    S_MANAGER_SCOPED, /* another manager principal of Thüringen */
    S_MANAGER_BY,
    S_ANALYST,    /* federal */
    S_ANALYST_TH, /* of Thüringen */
    S_SERVICE,
    S_ROLES
};

static const char *const s_keys[S_ROLES] = {"admin",      "ministry-th",    "ministry-by",
                                            "manager-th", "manager-scoped", "manager-by",
                                            "analyst",    "analyst-th",     "service"};

/* What no event payload and no withheld record may contain. */
static const char *const s_personal[] = {"example.org", "Erika Muster",  "Max Beispiel",
                                         "Anna Bayer",  "Legacy Person", "+49 361"};

typedef struct {
    registry_env_t env;
    th_client_t *c[S_ROLES];
    char a[64];    /* Thüringen, linked to principal manager-th, assigned to 16068 */
    char b[64];    /* Thüringen, no principal */
    char c_by[64]; /* Bayern */
} s_fixture_t;

static int
s_create(th_client_t *c, const char *state, const char *name, const char *email,
         const char *principal_id, char id[64])
{
    Teilhabe__Registry__V1__CreateManagerRequest req =
        TEILHABE__REGISTRY__V1__CREATE_MANAGER_REQUEST__INIT;
    s_manager_t m = TEILHABE__REGISTRY__V1__MANAGER__INIT;
    m.state_code = (char *) state;
    m.name = (char *) name;
    m.email = (char *) email;
    m.phone = "+49 361 1234";
    m.organisation = "Landratsamt";
    m.funding_programme = "Landesprogramm Integration";
    m.principal_id = (char *) principal_id;
    req.manager = &m;
    th_result_t r;
    reg_call(c, REG_METHOD("CreateManager"), &req.base,
             &teilhabe__registry__v1__manager__descriptor, &r);
    int code = r.code;
    if (code == TH_OK) {
        const s_manager_t *out = (const void *) r.response;
        /* The writer (ministry of the Land) gets the whole record back. */
        if (strcmp(out->name, name) != 0 || out->personal_data_withheld)
            code = -1;
        snprintf(id, 64, "%s", out->id);
    } else {
        fprintf(stderr, "CreateManager %s: %s\n", name, r.message);
    }
    th_result_clear(&r);
    return code;
}

static int
s_assign(th_client_t *c, const char *id, const char *ags)
{
    Teilhabe__Registry__V1__AssignManagerRequest req =
        TEILHABE__REGISTRY__V1__ASSIGN_MANAGER_REQUEST__INIT;
    req.manager_id = (char *) id;
    req.ags = (char *) ags;
    req.valid_from = "2024-01-01";
    th_result_t r;
    reg_call(c, REG_METHOD("AssignManager"), &req.base,
             &teilhabe__registry__v1__assignment__descriptor, &r);
    const int code = r.code;
    th_result_clear(&r);
    return code;
}

/* An outbox row as the registry wrote it before it withheld contacts from
 * events: a whole Manager, straight into registry.events. */
static int
s_insert_legacy_event(const char *db_url, const char *manager_id)
{
    s_manager_t m = TEILHABE__REGISTRY__V1__MANAGER__INIT;
    m.id = (char *) manager_id;
    m.state_code = "16";
    m.name = "Legacy Person";
    m.email = "legacy.person@example.org";
    m.phone = "+49 361 9999";
    m.principal_id = "manager-th";
    m.version = 1;
    uint8_t buf[512];
    const size_t len = teilhabe__registry__v1__manager__get_packed_size(&m);
    if (len > sizeof buf)
        return -1;
    teilhabe__registry__v1__manager__pack(&m, buf);
    char resource[80];
    snprintf(resource, sizeof resource, "managers/%s", manager_id);
    const char *values[] = {resource, (const char *) buf};
    const int lengths[] = {0, (int) len};
    const int formats[] = {0, 1};
    PGconn *conn = PQconnectdb(db_url);
    int rc = -1;
    if (PQstatus(conn) == CONNECTION_OK) {
        PGresult *r = PQexecParams(conn,
                                   "INSERT INTO registry.events (topic, resource, payload) "
                                   "VALUES ('manager.created', $1, $2::bytea)",
                                   2, NULL, values, lengths, formats, 0);
        rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
        if (rc != 0)
            fprintf(stderr, "legacy event: %s", PQerrorMessage(conn));
        PQclear(r);
    }
    PQfinish(conn);
    return rc;
}

static int
s_setup(void **state)
{
    s_fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    *state = f;
    if (registry_env_start(&f->env, "regread") != 0)
        return -1;
    for (int i = 0; i < S_ROLES; i++) {
        f->c[i] = reg_client(&f->env, s_keys[i]);
        if (f->c[i] == NULL)
            return -1;
    }
    th_client_t *th = f->c[S_MINISTRY_TH], *by = f->c[S_MINISTRY_BY];
    if (s_create(th, "16", "Erika Muster", "erika.muster@example.org", "manager-th",
                 f->a) != TH_OK ||
        s_create(th, "16", "Max Beispiel", "max.beispiel@example.org", "", f->b) != TH_OK ||
        s_create(by, "09", "Anna Bayer", "anna.bayer@example.org", "", f->c_by) != TH_OK ||
        s_assign(th, f->a, "16068") != TH_OK || s_assign(by, f->c_by, "09162") != TH_OK)
        return -1;

    /* An update (manager.updated), a concept (concept.set), a principal
     * (principal.created) and a row from before the change. */
    Teilhabe__Registry__V1__UpdateManagerRequest up =
        TEILHABE__REGISTRY__V1__UPDATE_MANAGER_REQUEST__INIT;
    s_manager_t changes = TEILHABE__REGISTRY__V1__MANAGER__INIT;
    char *mask[] = {"phone"};
    changes.id = f->a;
    changes.phone = "+49 361 5678";
    up.manager = &changes;
    up.version = 1;
    up.update_mask = mask;
    up.n_update_mask = 1;
    th_result_t r;
    reg_call(th, REG_METHOD("UpdateManager"), &up.base,
             &teilhabe__registry__v1__manager__descriptor, &r);
    int code = r.code;
    th_result_clear(&r);
    if (code != TH_OK)
        return -1;

    Teilhabe__Registry__V1__SetConceptRequest set =
        TEILHABE__REGISTRY__V1__SET_CONCEPT_REQUEST__INIT;
    Teilhabe__Registry__V1__Concept concept = TEILHABE__REGISTRY__V1__CONCEPT__INIT;
    Teilhabe__Common__V1__FieldOfAction fields[] = {
        TEILHABE__COMMON__V1__FIELD_OF_ACTION__FIELD_OF_ACTION_LANGUAGE};
    concept.ags = "16068";
    concept.title = "Integrationskonzept";
    concept.adopted_on = "2019-05-15";
    concept.orientation = TEILHABE__REGISTRY__V1__ORIENTATION__ORIENTATION_PARTICIPATION;
    concept.fields = fields;
    concept.n_fields = 1;
    set.concept = &concept;
    reg_call(th, REG_METHOD("SetConcept"), &set.base,
             &teilhabe__registry__v1__concept__descriptor, &r);
    code = r.code;
    th_result_clear(&r);
    if (code != TH_OK)
        return -1;

    zcert_t *cert = zcert_new();
    if (cert == NULL)
        return -1;
    Teilhabe__Registry__V1__CreatePrincipalRequest cp =
        TEILHABE__REGISTRY__V1__CREATE_PRINCIPAL_REQUEST__INIT;
    Teilhabe__Registry__V1__Principal p = TEILHABE__REGISTRY__V1__PRINCIPAL__INIT;
    p.id = "zugang-soemmerda";
    p.name = "Zugang Landratsamt Sömmerda";
    p.role = "manager";
    p.state_scope = "16";
    p.public_key = (char *) zcert_public_txt(cert);
    cp.principal = &p;
    reg_call(f->c[S_ADMIN], REG_METHOD("CreatePrincipal"), &cp.base,
             &teilhabe__registry__v1__principal__descriptor, &r);
    code = r.code;
    th_result_clear(&r);
    zcert_destroy(&cert);
    if (code != TH_OK)
        return -1;
    return s_insert_legacy_event(f->env.db_url, f->a);
}

static int
s_teardown(void **state)
{
    s_fixture_t *f = *state;
    for (int i = 0; i < S_ROLES; i++)
        th_client_destroy(&f->c[i]);
    const int status = registry_env_stop(&f->env);
    free(f);
    return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* Fails when any personal value appears in len bytes at data. */
static void
s_assert_no_personal(const void *data, size_t len, const char *what)
{
    for (size_t i = 0; i < sizeof s_personal / sizeof s_personal[0]; i++) {
        if (len > 0 && memmem(data, len, s_personal[i], strlen(s_personal[i])) != NULL)
            fail_msg("%s holds \"%s\"", what, s_personal[i]);
    }
}

/* Checks one manager record against what the caller should have seen. */
static void
s_assert_record(const s_manager_t *m, s_expect_t expect, const char *name, const char *who)
{
    assert_true(strlen(m->id) == 36);
    assert_true(strlen(m->state_code) == 2);
    assert_string_equal(m->organisation, "Landratsamt");
    assert_string_equal(m->funding_programme, "Landesprogramm Integration");
    if (expect == S_FULL) {
        if (strcmp(m->name, name) != 0 || m->personal_data_withheld)
            fail_msg("%s should see %s whole, got name \"%s\"", who, name, m->name);
        assert_true(strstr(m->email, "@example.org") != NULL);
        assert_true(strncmp(m->phone, "+49 361", 7) == 0);
        return;
    }
    if (!m->personal_data_withheld || m->name[0] != '\0')
        fail_msg("%s should not see the name of %s, got \"%s\"", who, name, m->name);
    assert_string_equal(m->email, "");
    assert_string_equal(m->phone, "");
    assert_string_equal(m->principal_id, "");
}

static void
s_expect_get(s_fixture_t *f, int role, const char *id, const char *name, s_expect_t expect)
{
    Teilhabe__Registry__V1__GetManagerRequest req =
        TEILHABE__REGISTRY__V1__GET_MANAGER_REQUEST__INIT;
    req.id = (char *) id;
    th_result_t r;
    reg_call(f->c[role], REG_METHOD("GetManager"), &req.base,
             &teilhabe__registry__v1__manager__descriptor, &r);
    if (expect == S_DENIED) {
        if (r.code != TH_PERMISSION_DENIED)
            fail_msg("GetManager %s by %s: %s, expected PERMISSION_DENIED", name,
                     s_keys[role], th_status_name(r.code));
        assert_non_null(strstr(r.message, "permission denied"));
        assert_non_null(strstr(r.message, s_keys[role]));
    } else {
        if (r.code != TH_OK)
            fail_msg("GetManager %s by %s: %s (%s)", name, s_keys[role],
                     th_status_name(r.code), r.message);
        const s_manager_t *m = (const void *) r.response;
        s_assert_record(m, expect, name, s_keys[role]);
        assert_int_equal(m->n_assignments, strcmp(name, "Max Beispiel") == 0 ? 0 : 1);
    }
    th_result_clear(&r);
}

static void
test_get_manager_per_role(void **state)
{
    s_fixture_t *f = *state;
    static const s_expect_t a[S_ROLES] = {[S_ADMIN] = S_FULL,
                                          [S_MINISTRY_TH] = S_FULL,
                                          [S_MINISTRY_BY] = S_DENIED,
                                          [S_MANAGER_TH] = S_FULL,
                                          [S_MANAGER_SCOPED] = S_WITHHELD,
                                          [S_MANAGER_BY] = S_DENIED,
                                          [S_ANALYST] = S_DENIED,
                                          [S_ANALYST_TH] = S_DENIED,
                                          [S_SERVICE] = S_WITHHELD};
    static const s_expect_t b[S_ROLES] = {[S_ADMIN] = S_FULL,
                                          [S_MINISTRY_TH] = S_FULL,
                                          [S_MINISTRY_BY] = S_DENIED,
                                          [S_MANAGER_TH] = S_WITHHELD,
                                          [S_MANAGER_SCOPED] = S_WITHHELD,
                                          [S_MANAGER_BY] = S_DENIED,
                                          [S_ANALYST] = S_DENIED,
                                          [S_ANALYST_TH] = S_DENIED,
                                          [S_SERVICE] = S_WITHHELD};
    static const s_expect_t c[S_ROLES] = {[S_ADMIN] = S_FULL,
                                          [S_MINISTRY_TH] = S_DENIED,
                                          [S_MINISTRY_BY] = S_FULL,
                                          [S_MANAGER_TH] = S_DENIED,
                                          [S_MANAGER_SCOPED] = S_DENIED,
                                          [S_MANAGER_BY] = S_WITHHELD,
                                          [S_ANALYST] = S_DENIED,
                                          [S_ANALYST_TH] = S_DENIED,
                                          [S_SERVICE] = S_WITHHELD};
    for (int role = 0; role < S_ROLES; role++) {
        s_expect_get(f, role, f->a, "Erika Muster", a[role]);
        s_expect_get(f, role, f->b, "Max Beispiel", b[role]);
        s_expect_get(f, role, f->c_by, "Anna Bayer", c[role]);
    }
    /* An unknown id is NOT_FOUND for those who may read managers, and the
     * analyst is refused before anything is read. */
    Teilhabe__Registry__V1__GetManagerRequest req =
        TEILHABE__REGISTRY__V1__GET_MANAGER_REQUEST__INIT;
    req.id = "no-such-manager";
    th_result_t r;
    reg_call(f->c[S_SERVICE], REG_METHOD("GetManager"), &req.base,
             &teilhabe__registry__v1__manager__descriptor, &r);
    assert_int_equal(r.code, TH_NOT_FOUND);
    th_result_clear(&r);
    reg_call(f->c[S_ANALYST], REG_METHOD("GetManager"), &req.base,
             &teilhabe__registry__v1__manager__descriptor, &r);
    assert_int_equal(r.code, TH_PERMISSION_DENIED);
    assert_non_null(strstr(r.message, "aggregates only"));
    th_result_clear(&r);
}

/* ListManagers by Land (state), by district (ags) or of every Land (both
 * ""); returns the code and leaves the response in r. */
static int
s_list(s_fixture_t *f, int role, const char *state, const char *ags, th_result_t *r)
{
    Teilhabe__Registry__V1__ListManagersRequest req =
        TEILHABE__REGISTRY__V1__LIST_MANAGERS_REQUEST__INIT;
    req.state_code = (char *) state;
    req.ags = (char *) ags;
    reg_call(f->c[role], REG_METHOD("ListManagers"), &req.base,
             &teilhabe__registry__v1__list_managers_response__descriptor, r);
    return r->code;
}

static void
s_expect_list_denied(s_fixture_t *f, int role, const char *state, const char *ags)
{
    th_result_t r;
    const int code = s_list(f, role, state, ags, &r);
    if (code != TH_PERMISSION_DENIED)
        fail_msg("ListManagers state=%s ags=%s by %s: %s, expected PERMISSION_DENIED",
                 state, ags, s_keys[role], th_status_name(code));
    assert_non_null(strstr(r.message, s_keys[role]));
    th_result_clear(&r);
}

/* Checks a list: n records, a, b and c each as expected for the caller
 * (S_DENIED: not in this list). */
static void
s_expect_list(s_fixture_t *f, int role, const char *state, const char *ags, size_t n,
              s_expect_t a, s_expect_t b, s_expect_t c)
{
    th_result_t r;
    const int code = s_list(f, role, state, ags, &r);
    if (code != TH_OK)
        fail_msg("ListManagers state=%s ags=%s by %s: %s (%s)", state, ags, s_keys[role],
                 th_status_name(code), r.message);
    const Teilhabe__Registry__V1__ListManagersResponse *resp = (const void *) r.response;
    assert_int_equal(resp->n_managers, n);
    for (size_t i = 0; i < resp->n_managers; i++) {
        const s_manager_t *m = resp->managers[i];
        if (strcmp(m->id, f->a) == 0 && a != S_DENIED)
            s_assert_record(m, a, "Erika Muster", s_keys[role]);
        else if (strcmp(m->id, f->b) == 0 && b != S_DENIED)
            s_assert_record(m, b, "Max Beispiel", s_keys[role]);
        else if (strcmp(m->id, f->c_by) == 0 && c != S_DENIED)
            s_assert_record(m, c, "Anna Bayer", s_keys[role]);
        else
            fail_msg("manager %s should not be in this list", m->id);
    }
    th_result_clear(&r);
}

static void
test_list_managers_per_role(void **state)
{
    s_fixture_t *f = *state;
    const s_expect_t D = S_DENIED, W = S_WITHHELD, F = S_FULL;
    /* Thüringen's managers (a and b). */
    s_expect_list(f, S_ADMIN, "16", "", 2, F, F, D);
    s_expect_list(f, S_MINISTRY_TH, "16", "", 2, F, F, D);
    s_expect_list_denied(f, S_MINISTRY_BY, "16", "");
    s_expect_list(f, S_MANAGER_TH, "16", "", 2, F, W, D);
    s_expect_list(f, S_MANAGER_SCOPED, "16", "", 2, W, W, D);
    s_expect_list_denied(f, S_MANAGER_BY, "16", "");
    s_expect_list_denied(f, S_ANALYST, "16", "");
    s_expect_list_denied(f, S_ANALYST_TH, "16", "");
    s_expect_list(f, S_SERVICE, "16", "", 2, W, W, D);
    /* Who covers Sömmerda: the district's Land decides. */
    s_expect_list(f, S_MANAGER_TH, "", "16068", 1, F, D, D);
    s_expect_list(f, S_MINISTRY_TH, "", "16068", 1, F, D, D);
    s_expect_list(f, S_SERVICE, "", "16068", 1, W, D, D);
    s_expect_list_denied(f, S_MINISTRY_BY, "", "16068");
    s_expect_list_denied(f, S_ANALYST_TH, "", "16068");
    s_expect_list(f, S_MANAGER_BY, "", "09162", 1, D, D, W);
    s_expect_list(f, S_MINISTRY_BY, "09", "", 1, D, D, F);
    /* Every Land: the admin and a service without a Land. */
    s_expect_list(f, S_ADMIN, "", "", 3, F, F, F);
    s_expect_list(f, S_SERVICE, "", "", 3, W, W, W);
    for (int role = S_MINISTRY_TH; role <= S_ANALYST_TH; role++)
        s_expect_list_denied(f, role, "", "");
    /* The refusal names the way out. */
    th_result_t r;
    assert_int_equal(s_list(f, S_MINISTRY_TH, "", "", &r), TH_PERMISSION_DENIED);
    assert_non_null(strstr(r.message, "state_code 16"));
    th_result_clear(&r);
    assert_int_equal(s_list(f, S_MINISTRY_BY, "16", "", &r), TH_PERMISSION_DENIED);
    assert_non_null(strstr(r.message, "of Land 16"));
    assert_non_null(strstr(r.message, "of Land 09"));
    th_result_clear(&r);
}

static void
test_principals_admin_only(void **state)
{
    s_fixture_t *f = *state;
    for (int role = 0; role < S_ROLES; role++) {
        Teilhabe__Registry__V1__ListPrincipalsRequest req =
            TEILHABE__REGISTRY__V1__LIST_PRINCIPALS_REQUEST__INIT;
        th_result_t r;
        reg_call(f->c[role], REG_METHOD("ListPrincipals"), &req.base,
                 &teilhabe__registry__v1__list_principals_response__descriptor, &r);
        assert_int_equal(r.code, role == S_ADMIN ? TH_OK : TH_PERMISSION_DENIED);
        th_result_clear(&r);
    }
}

/* The Land of a manager event, from its resource "managers/<id>". */
static const char *
s_event_land(const s_fixture_t *f, const char *resource)
{
    const char *id = resource + strlen("managers/");
    if (strncmp(resource, "managers/", 9) != 0)
        return "";
    if (strcmp(id, f->a) == 0 || strcmp(id, f->b) == 0)
        return "16";
    if (strcmp(id, f->c_by) == 0)
        return "09";
    return "??";
}

static void
test_events_per_role(void **state)
{
    s_fixture_t *f = *state;
    /* Which Lands' manager events each role reads ("" = none, "*" = all). */
    static const char *const lands[S_ROLES] = {
        [S_ADMIN] = "*",       [S_MINISTRY_TH] = "16",    [S_MINISTRY_BY] = "09",
        [S_MANAGER_TH] = "16", [S_MANAGER_SCOPED] = "16", [S_MANAGER_BY] = "09",
        [S_ANALYST] = "",      [S_ANALYST_TH] = "",       [S_SERVICE] = "*"};
    for (int role = 0; role < S_ROLES; role++) {
        Teilhabe__Events__V1__ListEventsRequest req =
            TEILHABE__EVENTS__V1__LIST_EVENTS_REQUEST__INIT;
        req.limit = 1000;
        th_result_t r;
        reg_call(f->c[role], REG_METHOD("ListEvents"), &req.base,
                 &teilhabe__events__v1__list_events_response__descriptor, &r);
        assert_int_equal(r.code, TH_OK);
        const Teilhabe__Events__V1__ListEventsResponse *ev = (const void *) r.response;
        int principals = 0, concepts = 0, th = 0, by = 0, legacy = 0;
        for (size_t i = 0; i < ev->n_events; i++) {
            const Teilhabe__Events__V1__Event *e = ev->events[i];
            char what[128];
            snprintf(what, sizeof what, "event %s read by %s", e->topic, s_keys[role]);
            s_assert_no_personal(e->payload.data, e->payload.len, what);
            principals += strncmp(e->topic, "principal.", 10) == 0;
            concepts += strcmp(e->topic, "concept.set") == 0;
            if (strncmp(e->topic, "manager.", 8) != 0)
                continue;
            const char *land = s_event_land(f, e->resource);
            th += strcmp(land, "16") == 0;
            by += strcmp(land, "09") == 0;
            if (strcmp(e->topic, "manager.created") != 0 &&
                strcmp(e->topic, "manager.updated") != 0)
                continue;
            s_manager_t *m = teilhabe__registry__v1__manager__unpack(NULL, e->payload.len,
                                                                     e->payload.data);
            assert_non_null(m);
            assert_true(m->personal_data_withheld);
            assert_string_equal(m->name, "");
            assert_string_equal(m->principal_id, "");
            assert_true(strlen(m->id) == 36);
            legacy += strcmp(m->phone, "") == 0 && m->version == 1 &&
                      strcmp(m->organisation, "") == 0;
            teilhabe__registry__v1__manager__free_unpacked(m, NULL);
        }
        /* Principal records reach the admin only: the analyst that
         * ListPrincipals refuses read them here before. */
        if (principals != (role == S_ADMIN ? 1 : 0))
            fail_msg("%s read %d principal events", s_keys[role], principals);
        /* District-level facts are everyone's. */
        assert_int_equal(concepts, 1);
        /* Land 16: a (created, assigned, updated, legacy), b (created);
         * Land 09: c (created, assigned). */
        const bool all = strcmp(lands[role], "*") == 0;
        const int want_th = all || strcmp(lands[role], "16") == 0 ? 5 : 0;
        const int want_by = all || strcmp(lands[role], "09") == 0 ? 2 : 0;
        if (th != want_th || by != want_by)
            fail_msg("%s read %d manager events of Land 16 and %d of Land 09, expected %d "
                     "and %d",
                     s_keys[role], th, by, want_th, want_by);
        /* The row from before the change went out withheld too. */
        assert_int_equal(legacy, want_th > 0 ? 1 : 0);
        th_result_clear(&r);
    }
}

/* CheckAssignment: which login is assigned where is personal data, read
 * whole by the admin, the ministry of the Land, a service and the person
 * itself; a manager of the Land, who reads other managers without their
 * logins, may not ask it. manager-th is linked to manager A, assigned to
 * 16068 from 2024-01-01. */
static int
s_check(s_fixture_t *f, int who, const char *principal, const char *ags, const char *as_of,
        bool *assigned)
{
    Teilhabe__Registry__V1__CheckAssignmentRequest req =
        TEILHABE__REGISTRY__V1__CHECK_ASSIGNMENT_REQUEST__INIT;
    req.principal_id = (char *) principal;
    req.ags = (char *) ags;
    req.as_of = (char *) as_of;
    th_result_t r;
    reg_call(f->c[who], REG_METHOD("CheckAssignment"), &req.base,
             &teilhabe__registry__v1__check_assignment_response__descriptor, &r);
    const int code = r.code;
    if (code == TH_OK)
        *assigned = ((const Teilhabe__Registry__V1__CheckAssignmentResponse *) r.response)
                        ->assigned;
    else if (code == TH_PERMISSION_DENIED)
        assert_non_null(strstr(r.message, "checking a manager's assignment needs role admin"));
    th_result_clear(&r);
    return code;
}

static void
test_check_assignment_per_role(void **state)
{
    s_fixture_t *f = *state;
    const int expect[S_ROLES] = {
        [S_ADMIN] = TH_OK,
        [S_MINISTRY_TH] = TH_OK,
        [S_MINISTRY_BY] = TH_PERMISSION_DENIED,
        [S_MANAGER_TH] = TH_OK,
        [S_MANAGER_SCOPED] = TH_PERMISSION_DENIED,
        [S_MANAGER_BY] = TH_PERMISSION_DENIED,
        [S_ANALYST] = TH_PERMISSION_DENIED,
        [S_ANALYST_TH] = TH_PERMISSION_DENIED,
        [S_SERVICE] = TH_OK,
    };
    for (int who = 0; who < S_ROLES; who++) {
        bool assigned = false;
        const int code = s_check(f, who, "manager-th", "16068", "2024-06-01", &assigned);
        if (code != expect[who])
            fail_msg("CheckAssignment as %s: status %d, expected %d", s_keys[who], code,
                     expect[who]);
        if (code == TH_OK)
            assert_true(assigned);
    }
    bool assigned = true;
    /* Before the assignment began, in another district, an unknown login. */
    assert_int_equal(s_check(f, S_SERVICE, "manager-th", "16068", "2023-12-31", &assigned),
                     TH_OK);
    assert_false(assigned);
    assigned = true;
    assert_int_equal(s_check(f, S_SERVICE, "manager-th", "16067", "", &assigned), TH_OK);
    assert_false(assigned);
    assigned = true;
    assert_int_equal(s_check(f, S_ADMIN, "nobody", "16068", "", &assigned), TH_OK);
    assert_false(assigned);
    /* Bad input. */
    assert_int_equal(s_check(f, S_SERVICE, "manager-th", "1606", "", &assigned),
                     TH_INVALID_ARGUMENT);
    assert_int_equal(s_check(f, S_SERVICE, "manager-th", "16099", "", &assigned),
                     TH_INVALID_ARGUMENT);
    assert_int_equal(s_check(f, S_SERVICE, "Manager TH", "16068", "", &assigned),
                     TH_INVALID_ARGUMENT);
    assert_int_equal(s_check(f, S_SERVICE, "manager-th", "16068", "2024-13-01", &assigned),
                     TH_INVALID_ARGUMENT);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_manager_per_role),
        cmocka_unit_test(test_list_managers_per_role),
        cmocka_unit_test(test_principals_admin_only),
        cmocka_unit_test(test_events_per_role),
        cmocka_unit_test(test_check_assignment_per_role),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
