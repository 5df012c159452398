/* ---------------------------------------------------------------------------
 * test_registry_managers_list.c: ListManagers reads a page of managers and
 * their assignments with one statement, however many managers the page has
 *
 * The registry runs at log level debug, where ListManagers logs how many
 * statements its connection sent to PostgreSQL for the call (th_db counts
 * every statement it sends). Through the real stack: 3 managers, then 40,
 * by Land and by district; the answers keep every assignment active on the
 * date and the read rule (names withheld from a manager key of the Land,
 * whole for the ministry and for the manager's own record), also across
 * pages.
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "registry_env.h"

typedef Teilhabe__Registry__V1__Manager s_manager_t;
typedef Teilhabe__Registry__V1__ListManagersResponse s_list_t;

#define S_MANAGERS 40

typedef struct {
    registry_env_t env;
    th_client_t *ministry; /* ministry-th */
    th_client_t *manager;  /* manager-th: a manager key of Land 16 */
    char ids[S_MANAGERS][64];
    int n;
} s_fixture_t;

static int
s_setup(void **state)
{
    s_fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    *state = f;
    if (registry_env_start_at(&f->env, "regmlist", "debug") != 0)
        return -1;
    f->ministry = reg_client(&f->env, "ministry-th");
    f->manager = reg_client(&f->env, "manager-th");
    return f->ministry != NULL && f->manager != NULL ? 0 : -1;
}

static int
s_teardown(void **state)
{
    s_fixture_t *f = *state;
    th_client_destroy(&f->ministry);
    th_client_destroy(&f->manager);
    const int status = registry_env_stop(&f->env);
    free(f);
    return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* The AGS of Thüringen's districts of today, by AGS (22). */
static const char *const s_districts[] = {
    "16051", "16052", "16053", "16054", "16055", "16061", "16062", "16063",
    "16064", "16065", "16066", "16067", "16068", "16069", "16070", "16071",
    "16072", "16073", "16074", "16075", "16076", "16077"};
#define S_N_DISTRICTS (sizeof s_districts / sizeof s_districts[0])

static void
s_assign(s_fixture_t *f, const char *id, const char *ags, const char *from, const char *to)
{
    Teilhabe__Registry__V1__AssignManagerRequest req =
        TEILHABE__REGISTRY__V1__ASSIGN_MANAGER_REQUEST__INIT;
    req.manager_id = (char *) id;
    req.ags = (char *) ags;
    req.valid_from = (char *) from;
    req.valid_to = (char *) to;
    th_result_t r;
    reg_call(f->ministry, REG_METHOD("AssignManager"), &req.base,
             &teilhabe__registry__v1__assignment__descriptor, &r);
    if (r.code != TH_OK)
        fail_msg("AssignManager %s %s: %s \"%s\"", id, ags, th_status_name(r.code),
                 r.message);
    th_result_clear(&r);
}

/* Creates managers until there are n: manager i ("Manager 00" ...) is
 * assigned to two districts from 2020 on and to a third in 2019 only; the
 * first is linked to the principal manager-th. */
static void
s_create_managers(s_fixture_t *f, int n)
{
    for (; f->n < n; f->n++) {
        const int i = f->n;
        char name[32];
        snprintf(name, sizeof name, "Manager %02d", i);
        Teilhabe__Registry__V1__CreateManagerRequest req =
            TEILHABE__REGISTRY__V1__CREATE_MANAGER_REQUEST__INIT;
        s_manager_t m = TEILHABE__REGISTRY__V1__MANAGER__INIT;
        m.state_code = "16";
        m.name = name;
        m.email = "integration@example.org";
        m.principal_id = i == 0 ? "manager-th" : "";
        req.manager = &m;
        th_result_t r;
        reg_call(f->ministry, REG_METHOD("CreateManager"), &req.base,
                 &teilhabe__registry__v1__manager__descriptor, &r);
        assert_int_equal(r.code, TH_OK);
        snprintf(f->ids[i], sizeof f->ids[i], "%s", ((const s_manager_t *) r.response)->id);
        th_result_clear(&r);
        s_assign(f, f->ids[i], s_districts[i % S_N_DISTRICTS], "2020-01-01", "");
        s_assign(f, f->ids[i], s_districts[(i + 5) % S_N_DISTRICTS], "2020-06-01", "");
        s_assign(f, f->ids[i], s_districts[(i + 11) % S_N_DISTRICTS], "2019-01-01",
                 "2019-12-31");
    }
}

/* The statements and managers of the last "managers listed" line in the
 * registry's log; false when there is none. */
static bool
s_last_listing(const s_fixture_t *f, long *statements, long *managers)
{
    FILE *fp = fopen(f->env.registry_log, "r");
    if (fp == NULL)
        return false;
    char line[4096];
    bool found = false;
    while (fgets(line, sizeof line, fp) != NULL) {
        if (strstr(line, "msg=\"managers listed\"") == NULL)
            continue;
        const char *s = strstr(line, " statements=");
        const char *m = strstr(line, " managers=");
        if (s == NULL || m == NULL)
            continue;
        *statements = strtol(s + 12, NULL, 10);
        *managers = strtol(m + 10, NULL, 10);
        found = true;
    }
    fclose(fp);
    return found;
}

/* ListManagers; returns the code, the response in r, and the statements
 * the registry logged for it. */
static int
s_list(s_fixture_t *f, th_client_t *c, const char *state, const char *ags,
       const char *as_of, int page_size, const char *token, th_result_t *r,
       long *statements)
{
    Teilhabe__Registry__V1__ListManagersRequest req =
        TEILHABE__REGISTRY__V1__LIST_MANAGERS_REQUEST__INIT;
    req.state_code = (char *) state;
    req.ags = (char *) ags;
    req.as_of = (char *) as_of;
    req.page_size = page_size;
    req.page_token = (char *) token;
    reg_call(c, REG_METHOD("ListManagers"), &req.base,
             &teilhabe__registry__v1__list_managers_response__descriptor, r);
    long managers = -1;
    *statements = -1;
    /* The registry writes its line before it answers; the log is a file
     * another process appends to, so look until it shows (bounded). */
    const long want =
        r->code == TH_OK ? (long) ((const s_list_t *) r->response)->n_managers : -2;
    for (int i = 0; i < 50 && managers != want; i++) {
        if (!s_last_listing(f, statements, &managers) || managers != want)
            reg_sleep_ms(20);
    }
    if (managers != want)
        fail_msg("no \"managers listed\" line with managers=%ld in %s", want,
                 f->env.registry_log);
    return r->code;
}

/* The index of manager id among those created, or -1. */
static int
s_index(const s_fixture_t *f, const char *id)
{
    for (int i = 0; i < f->n; i++) {
        if (strcmp(f->ids[i], id) == 0)
            return i;
    }
    return -1;
}

/* Checks one listed record: its assignments active on as_of ("" = today)
 * and what the caller sees of it. */
static void
s_check_record(const s_fixture_t *f, const s_manager_t *m, const char *as_of, bool ministry)
{
    const int i = s_index(f, m->id);
    if (i < 0)
        fail_msg("ListManagers returned an unknown manager %s", m->id);
    const bool in_2019 = strcmp(as_of, "2019-06-01") == 0;
    const char *want[2];
    size_t n_want = 0;
    if (in_2019) {
        want[n_want++] = s_districts[(i + 11) % S_N_DISTRICTS];
    } else {
        const char *a = s_districts[i % S_N_DISTRICTS];
        const char *b = s_districts[(i + 5) % S_N_DISTRICTS];
        want[n_want++] = strcmp(a, b) < 0 ? a : b;
        want[n_want++] = strcmp(a, b) < 0 ? b : a;
    }
    if (m->n_assignments != n_want)
        fail_msg("manager %d on \"%s\": %zu assignments, expected %zu", i, as_of,
                 m->n_assignments, n_want);
    for (size_t k = 0; k < n_want; k++) {
        assert_string_equal(m->assignments[k]->ags, want[k]);
        assert_string_equal(m->assignments[k]->manager_id, m->id);
    }
    /* The read rule: the ministry and the manager itself see the name. */
    char name[32];
    snprintf(name, sizeof name, "Manager %02d", i);
    if (ministry || i == 0) {
        assert_false(m->personal_data_withheld);
        assert_string_equal(m->name, name);
    } else {
        assert_true(m->personal_data_withheld);
        assert_string_equal(m->name, "");
        assert_string_equal(m->email, "");
    }
}

/* Lists every manager of Land 16 in pages of page_size; checks each record
 * and returns the statements of the largest page. */
static long
s_list_all(s_fixture_t *f, th_client_t *c, const char *as_of, int page_size, bool ministry)
{
    char token[128] = "";
    int seen = 0;
    long most = 0;
    for (int page = 0; page < 100; page++) {
        th_result_t r;
        long statements = 0;
        assert_int_equal(s_list(f, c, "16", "", as_of, page_size, token, &r, &statements),
                         TH_OK);
        const s_list_t *resp = (const s_list_t *) r.response;
        for (size_t k = 0; k < resp->n_managers; k++)
            s_check_record(f, resp->managers[k], as_of, ministry);
        seen += (int) resp->n_managers;
        most = statements > most ? statements : most;
        snprintf(token, sizeof token, "%s", resp->next_page_token);
        th_result_clear(&r);
        if (token[0] == '\0')
            break;
    }
    assert_int_equal(seen, f->n);
    return most;
}

static void
test_list_managers_in_one_statement(void **state)
{
    s_fixture_t *f = *state;
    s_create_managers(f, 3);
    const long few = s_list_all(f, f->ministry, "", 100, true);
    s_create_managers(f, S_MANAGERS);
    const long many = s_list_all(f, f->ministry, "", 100, true);
    /* The Land check and the one query: the same for 3 managers as for 40. */
    if (many != few || many > 2)
        fail_msg("ListManagers of 3 managers took %ld statements, of %d took %ld; expected "
                 "the same, at most 2",
                 few, S_MANAGERS, many);
    /* Pages of 7 and another date: every assignment where it belongs. */
    assert_true(s_list_all(f, f->ministry, "", 7, true) <= 2);
    assert_true(s_list_all(f, f->ministry, "2019-06-01", 100, true) <= 2);
    /* A manager key of the Land: the others' names withheld, its own not. */
    assert_true(s_list_all(f, f->manager, "", 100, false) <= 2);

    /* By district: every manager assigned to 16068 today. */
    th_result_t r;
    long statements = 0;
    assert_int_equal(s_list(f, f->ministry, "", "16068", "", 100, "", &r, &statements),
                     TH_OK);
    const s_list_t *resp = (const s_list_t *) r.response;
    /* 16068 is district 12: managers 12 and 7 (+5) hold it, and 12 + 22 = 34, 29. */
    assert_int_equal(resp->n_managers, 4);
    for (size_t k = 0; k < resp->n_managers; k++)
        s_check_record(f, resp->managers[k], "", true);
    th_result_clear(&r);
    /* The district's Land (a prepared statement: on a connection's first
     * use that is a failed execute, the prepare and the execute) and the
     * one query. */
    assert_true(statements <= 4);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_managers_in_one_statement),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
