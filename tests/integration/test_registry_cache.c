/* ---------------------------------------------------------------------------
 * test_registry_cache.c: the territorial cache of two registry instances on
 * one database (services/registry/cache.h, docs/registry.md, "The
 * territorial cache").
 *
 * Instance A runs behind broker A, instance B behind broker B, both on the
 * same PostgreSQL database, so the test knows which instance answers:
 * - B answers districts from memory: with registry.districts locked by
 *   another transaction, GetDistrict through B still answers at once.
 * - A RecordTerritorialChange acknowledged by A is answered by B (GetDistrict
 *   NOT_FOUND naming the successor, ListDistricts one district fewer)
 *   within the bound docs/registry.md states, and by A itself at once; the
 *   delays are printed.
 * - B's cache recovers after its listening connection is killed
 *   (pg_terminate_backend): a change made meanwhile reaches B, B answers
 *   from memory again once it listens again, and later changes reach it.
 * - The cache answers exactly what the database does: instance C runs
 *   without it (territory_cache = false, behind broker C), and every
 *   territorial read, over dates around the mergers, filters, pages and
 *   searches, gets byte for byte the same reply (status, message, body)
 *   from B and from C.
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <czmq.h>

#include "registry_env.h"
#include "th_wire.h"

#define S_MERGE                                                                            \
    TEILHABE__REGISTRY__V1__TERRITORIAL_CHANGE_KIND__TERRITORIAL_CHANGE_KIND_MERGE
/* The bound docs/registry.md states, with room for a loaded machine and
 * the sanitizers: B answers a change acknowledged by A within it. */
#define S_BOUND_MS 1000
#define S_EFFECTIVE "2030-01-01"

typedef struct {
    registry_env_t env;        /* broker A and instance A */
    th_test_broker_t broker_b; /* broker B */
    th_proc_t *registry_b;     /* instance B */
    char log_b[1200];
    th_test_broker_t broker_c; /* broker C */
    th_proc_t *registry_c;     /* instance C: without the cache */
    char log_c[1200];
    th_client_t *admin_a; /* through broker A */
    th_client_t *analyst_a;
    th_client_t *analyst_b; /* through broker B */
    th_client_t *analyst_c; /* through broker C */
} s_fixture_t;

static th_client_t *
s_client(s_fixture_t *f, const char *frontend, const char *name)
{
    char cert[1200], err[512] = "";
    snprintf(cert, sizeof cert, "%s/private/%s.cert_secret", f->env.keys, name);
    const th_client_config_t cfg = {.endpoints = frontend,
                                    .broker_public_key = f->env.broker_key,
                                    .client_cert_path = cert,
                                    .default_timeout_ms = 5000,
                                    .attempt_timeout_ms = 2000};
    th_client_t *client = th_client_new(&cfg, err, sizeof err);
    if (client == NULL)
        fprintf(stderr, "client %s: %s\n", name, err);
    return client;
}

/* Starts a broker and a registry instance behind it in dir (below the
 * test's directory), with the flags extra (NULL-ended) besides A's. */
static int
s_start_instance(s_fixture_t *f, const char *dir, const char *const *extra,
                 th_test_broker_t *broker, th_proc_t **registry, char *log, size_t log_size)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", f->env.tmp, dir);
    if (mkdir(path, 0700) != 0)
        return -1;
    const th_test_broker_opts_t opts = {.keys_dir = f->env.keys,
                                        .db_url = f->env.broker_db_url};
    if (th_test_broker_start(&opts, path, broker) != 0)
        return -1;
    char cert[1100], broker_cert[1100];
    snprintf(cert, sizeof cert, "%s/private/registry.cert_secret", f->env.keys);
    snprintf(broker_cert, sizeof broker_cert, "%s/broker.cert", f->env.keys);
    snprintf(log, log_size, "%s/registry.log", path);
    const char *argv[24] = {"teilhabe-registry",
                            "--db-url",
                            f->env.registry_db_url,
                            "--migrate-db-url",
                            f->env.db_url,
                            "--broker-endpoint",
                            broker->backend,
                            "--broker-cert-public",
                            broker_cert,
                            "--cert",
                            cert,
                            "--heartbeat-ms",
                            "250",
                            "--log-level",
                            "info",
                            NULL};
    size_t argc = 15;
    for (size_t i = 0; extra != NULL && extra[i] != NULL && argc + 1 < 24; i++)
        argv[argc++] = extra[i];
    argv[argc] = NULL;
    *registry = th_proc_start(TH_TEST_REGISTRY_BIN, (char *const *) argv, log);
    return *registry != NULL ? 0 : -1;
}

/* GetDistrict of ags as of date through client; the status code. */
static int
s_get(th_client_t *client, const char *ags, const char *date, int timeout_ms)
{
    Teilhabe__Registry__V1__GetDistrictRequest req =
        TEILHABE__REGISTRY__V1__GET_DISTRICT_REQUEST__INIT;
    req.ags = (char *) ags;
    req.as_of = (char *) date;
    th_result_t r;
    memset(&r, 0, sizeof r);
    const th_call_opts_t once = {.no_retry = true};
    th_client_call(client, REG_METHOD("GetDistrict"), &req.base,
                   &teilhabe__registry__v1__district__descriptor, timeout_ms, &once, &r);
    const int code = r.code;
    th_result_clear(&r);
    return code;
}

/* total_size of ListDistricts of Land 16 as of date through client, or
 * -1 when the call failed. */
static int
s_count_th(th_client_t *client, const char *date)
{
    Teilhabe__Registry__V1__ListDistrictsRequest req =
        TEILHABE__REGISTRY__V1__LIST_DISTRICTS_REQUEST__INIT;
    req.state_code = "16";
    req.as_of = (char *) date;
    th_result_t r;
    reg_call(client, REG_METHOD("ListDistricts"), &req.base,
             &teilhabe__registry__v1__list_districts_response__descriptor, &r);
    const int total =
        r.code == TH_OK
            ? ((const Teilhabe__Registry__V1__ListDistrictsResponse *) r.response)
                  ->total_size
            : -1;
    th_result_clear(&r);
    return total;
}

/* RecordTerritorialChange through A: ags into successor from S_EFFECTIVE. */
static int
s_merge(s_fixture_t *f, const char *ags, const char *successor)
{
    Teilhabe__Registry__V1__RecordTerritorialChangeRequest req =
        TEILHABE__REGISTRY__V1__RECORD_TERRITORIAL_CHANGE_REQUEST__INIT;
    req.effective = S_EFFECTIVE;
    req.kind = S_MERGE;
    req.ags = (char *) ags;
    req.successor_ags = (char *) successor;
    th_result_t r;
    reg_call(f->admin_a, REG_METHOD("RecordTerritorialChange"), &req.base,
             &teilhabe__registry__v1__territorial_change__descriptor, &r);
    const int code = r.code;
    if (code != TH_OK)
        fprintf(stderr, "RecordTerritorialChange %s: %s %s\n", ags, th_status_name(code),
                r.message);
    th_result_clear(&r);
    return code;
}

/* Milliseconds until GetDistrict of ags on S_EFFECTIVE through client says
 * NOT_FOUND (the district ended), asking again and again; -1 when it did
 * not within limit_ms. *first is true when the first answer already did. */
static int64_t
s_until_ended(th_client_t *client, const char *ags, int64_t limit_ms, bool *first)
{
    const int64_t start = zclock_usecs();
    *first = false;
    for (int i = 0;; i++) {
        const int code = s_get(client, ags, S_EFFECTIVE, 2000);
        const int64_t us = zclock_usecs() - start;
        if (code == TH_NOT_FOUND) {
            *first = i == 0;
            return us / 1000;
        }
        if (us / 1000 > limit_ms)
            return -1;
    }
}

/* How many lines of the file at path contain needle. */
static int
s_file_count(const char *path, const char *needle)
{
    FILE *in = fopen(path, "r");
    if (in == NULL)
        return 0;
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, in) != NULL)
        n += strstr(line, needle) != NULL;
    fclose(in);
    return n;
}

static PGconn *
s_connect(const char *url)
{
    PGconn *conn = PQconnectdb(url);
    PQsetNoticeProcessor(conn, reg_quiet_notice, NULL);
    return conn;
}

static bool
s_exec(PGconn *conn, const char *sql)
{
    PGresult *r = PQexec(conn, sql);
    const bool ok =
        PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok)
        fprintf(stderr, "%s: %s", sql, PQerrorMessage(conn));
    PQclear(r);
    return ok;
}

/* With registry.districts locked by another transaction, what GetDistrict
 * through client answers within timeout_ms: OK only from memory (a read of
 * the database waits for the lock until the deadline). */
static int
s_get_while_locked(s_fixture_t *f, th_client_t *client, const char *ags, int timeout_ms)
{
    PGconn *holder = s_connect(f->env.db_url);
    int code = -1;
    if (s_exec(holder, "BEGIN") &&
        s_exec(holder, "LOCK TABLE registry.districts, registry.district_figures IN ACCESS "
                       "EXCLUSIVE MODE"))
        code = s_get(client, ags, "", timeout_ms);
    s_exec(holder, "ROLLBACK");
    PQfinish(holder);
    return code;
}

static int
s_setup(void **state)
{
    s_fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    *state = f;
    static const char *const no_cache[] = {"--territory-cache", "false", NULL};
    if (registry_env_start(&f->env, "regcache") != 0 ||
        s_start_instance(f, "b", NULL, &f->broker_b, &f->registry_b, f->log_b,
                         sizeof f->log_b) != 0 ||
        s_start_instance(f, "c", no_cache, &f->broker_c, &f->registry_c, f->log_c,
                         sizeof f->log_c) != 0)
        return -1;
    f->admin_a = s_client(f, f->env.broker.frontend, "admin");
    f->analyst_a = s_client(f, f->env.broker.frontend, "analyst");
    f->analyst_b = s_client(f, f->broker_b.frontend, "analyst");
    f->analyst_c = s_client(f, f->broker_c.frontend, "analyst");
    if (f->admin_a == NULL || f->analyst_a == NULL || f->analyst_b == NULL ||
        f->analyst_c == NULL)
        return -1;
    if (!reg_wait_ready(&f->env, f->analyst_c)) {
        fprintf(stderr, "instance C did not come up, see %s\n", f->log_c);
        return -1;
    }
    /* B is up, and its cache loaded (its log says so). */
    for (int i = 0; i < 100; i++) {
        if (s_get(f->analyst_b, "16068", "", 2000) == TH_OK &&
            s_file_count(f->log_b, "territory loaded into the cache") > 0)
            return 0;
        reg_sleep_ms(100);
    }
    fprintf(stderr, "instance B did not come up, see %s\n", f->log_b);
    return -1;
}

static int
s_teardown(void **state)
{
    s_fixture_t *f = *state;
    if (f == NULL)
        return 0;
    th_client_destroy(&f->admin_a);
    th_client_destroy(&f->analyst_a);
    th_client_destroy(&f->analyst_b);
    th_client_destroy(&f->analyst_c);
    if (f->registry_b != NULL)
        th_proc_stop(&f->registry_b, SIGTERM, 5000);
    if (f->registry_c != NULL)
        th_proc_stop(&f->registry_c, SIGTERM, 5000);
    if (f->broker_b.proc != NULL)
        th_test_broker_stop(&f->broker_b);
    if (f->broker_c.proc != NULL)
        th_test_broker_stop(&f->broker_c);
    registry_env_stop(&f->env);
    free(f);
    return 0;
}

/* B answers districts from memory, not from the database: a lock on the
 * tables does not hold it up. */
static void
test_reads_come_from_memory(void **state)
{
    s_fixture_t *f = *state;
    assert_int_equal(s_get_while_locked(f, f->analyst_b, "16068", 3000), TH_OK);
    assert_int_equal(s_get_while_locked(f, f->analyst_a, "16068", 3000), TH_OK);
}

/* Changes acknowledged by A reach B within the bound, and A at once. */
static void
test_change_reaches_the_other_instance(void **state)
{
    s_fixture_t *f = *state;
    static const char *const merges[][2] = {
        {"16054", "16066"}, {"16055", "16071"}, {"16053", "16074"},
        {"16052", "16076"}, {"16072", "16069"},
    };
    const int before = s_count_th(f->analyst_b, S_EFFECTIVE);
    assert_int_equal(before, 22);
    int64_t worst = 0;
    int first_b = 0;
    printf("delay until instance B answers a change acknowledged by A:");
    for (size_t i = 0; i < sizeof merges / sizeof *merges; i++) {
        assert_int_equal(s_get(f->analyst_b, merges[i][0], S_EFFECTIVE, 2000), TH_OK);
        assert_int_equal(s_merge(f, merges[i][0], merges[i][1]), TH_OK);
        bool first = false;
        const int64_t ms = s_until_ended(f->analyst_b, merges[i][0], 5000, &first);
        printf(" %lld ms%s", (long long) ms, first ? " (first call)" : "");
        if (ms < 0)
            fail_msg("instance B never answered the merger of %s", merges[i][0]);
        worst = ms > worst ? ms : worst;
        first_b += first;
        /* The instance that wrote answers its own change at once. */
        bool first_a = false;
        assert_true(s_until_ended(f->analyst_a, merges[i][0], 5000, &first_a) >= 0);
        if (!first_a)
            fail_msg("instance A answered its own merger of %s late", merges[i][0]);
        assert_int_equal(s_count_th(f->analyst_b, S_EFFECTIVE), before - (int) i - 1);
    }
    printf("; %d of 5 at the first call\n", first_b);
    if (worst > S_BOUND_MS)
        fail_msg(
            "instance B answered a change %lld ms after A acknowledged it (bound %d ms)",
            (long long) worst, S_BOUND_MS);
    /* And B still answers from memory afterwards. */
    assert_int_equal(s_get_while_locked(f, f->analyst_b, "16068", 3000), TH_OK);
}

/* Killing B's listening connection: B reads the database meanwhile, so a
 * change made then reaches it; it listens again, answers from memory again,
 * and later changes reach it. */
static void
test_cache_recovers_after_its_connection_is_killed(void **state)
{
    s_fixture_t *f = *state;
    const int again_before = s_file_count(f->log_b, "territory cache: listening again");
    /* Both instances' listening connections: pg_stat_activity does not say
     * which is B's, and A's loss must not matter either. */
    char *killed = reg_sql_value(
        f->env.db_url, "SELECT count(pg_terminate_backend(pid)) FROM "
                       "pg_stat_activity WHERE application_name = "
                       "'teilhabe-registry-cache' AND datname = current_database()");
    assert_non_null(killed);
    assert_string_equal(killed, "2");
    free(killed);
    /* At once, while B may still be away: its notification may be lost. */
    assert_int_equal(s_merge(f, "16077", "16076"), TH_OK);
    bool first = false;
    const int64_t ms = s_until_ended(f->analyst_b, "16077", 5000, &first);
    if (ms < 0 || ms > S_BOUND_MS)
        fail_msg("instance B answered the change made while it was not listening after "
                 "%lld ms (bound %d ms)",
                 (long long) ms, S_BOUND_MS);
    /* B listens again (its log says so, after it loaded what changed). */
    bool again = false;
    for (int i = 0; i < 100 && !again; i++) {
        again = s_file_count(f->log_b, "territory cache: listening again") > again_before;
        if (!again)
            reg_sleep_ms(100);
    }
    if (!again)
        fail_msg("instance B's cache did not listen again, see %s", f->log_b);
    /* Answering from memory again (a moment after its log line). */
    int code = -1;
    for (int i = 0; i < 20 && code != TH_OK; i++)
        code = s_get_while_locked(f, f->analyst_b, "16068", 500);
    assert_int_equal(code, TH_OK);
    /* And listening: the next change reaches it within the bound. */
    assert_int_equal(s_merge(f, "16075", "16073"), TH_OK);
    const int64_t later = s_until_ended(f->analyst_b, "16075", 5000, &first);
    if (later < 0 || later > S_BOUND_MS)
        fail_msg("instance B answered a change after it listened again after %lld ms "
                 "(bound %d ms)",
                 (long long) later, S_BOUND_MS);
    assert_int_equal(s_get_while_locked(f, f->analyst_b, "16068", 3000), TH_OK);
}

/* One call's outcome: code, message and the packed reply. */
typedef struct {
    int code;
    char *message;
    zframe_t *body;
} s_outcome_t;

static s_outcome_t
s_ask(th_client_t *client, const char *method, const ProtobufCMessage *req,
      const ProtobufCMessageDescriptor *desc)
{
    th_result_t r;
    reg_call(client, method, req, desc, &r);
    s_outcome_t o = {r.code, strdup(r.message != NULL ? r.message : ""),
                     r.response != NULL ? th_wire_pack(r.response) : zframe_new_empty()};
    th_result_clear(&r);
    return o;
}

static void
s_outcome_clear(s_outcome_t *o)
{
    free(o->message);
    zframe_destroy(&o->body);
}

/* Asks B (cache) and C (database) the same; fails unless both answer
 * alike. Returns B's outcome (the caller clears it). */
static s_outcome_t
s_same(s_fixture_t *f, const char *what, const char *method, const ProtobufCMessage *req,
       const ProtobufCMessageDescriptor *desc)
{
    s_outcome_t b = s_ask(f->analyst_b, method, req, desc);
    s_outcome_t c = s_ask(f->analyst_c, method, req, desc);
    if (b.code != c.code || strcmp(b.message, c.message) != 0 || !zframe_eq(b.body, c.body))
        fail_msg("%s: the cache answered %s \"%s\" (%zu bytes), the database %s \"%s\" "
                 "(%zu bytes)",
                 what, th_status_name(b.code), b.message, zframe_size(b.body),
                 th_status_name(c.code), c.message, zframe_size(c.body));
    s_outcome_clear(&c);
    return b;
}

static void
test_cache_answers_as_the_database(void **state)
{
    s_fixture_t *f = *state;
    static const char *const dates[] = {"",           "2018-12-30", "2018-12-31",
                                        "2021-06-30", "2021-07-01", "2029-12-31",
                                        "2030-01-01", "bad"};
    const size_t n_dates = sizeof dates / sizeof *dates;
    char what[160];
    /* GetDistrict and the history: Thüringen (every merger is there), and a
     * sample of the rest. */
    PGconn *conn = s_connect(f->env.db_url);
    PGresult *all = PQexec(conn, "SELECT ags FROM registry.districts WHERE ags LIKE '16%' "
                                 "OR ags::int % 13 = 0 ORDER BY ags");
    assert_int_equal(PQresultStatus(all), PGRES_TUPLES_OK);
    assert_true(PQntuples(all) > 40);
    for (int i = 0; i <= PQntuples(all); i++) {
        const char *ags = i < PQntuples(all) ? PQgetvalue(all, i, 0) : "99999";
        for (size_t d = 0; d < n_dates; d++) {
            Teilhabe__Registry__V1__GetDistrictRequest get =
                TEILHABE__REGISTRY__V1__GET_DISTRICT_REQUEST__INIT;
            get.ags = (char *) ags;
            get.as_of = (char *) dates[d];
            snprintf(what, sizeof what, "GetDistrict %s as of \"%s\"", ags, dates[d]);
            s_outcome_t o = s_same(f, what, REG_METHOD("GetDistrict"), &get.base,
                                   &teilhabe__registry__v1__district__descriptor);
            s_outcome_clear(&o);
        }
        Teilhabe__Registry__V1__GetTerritorialHistoryRequest history =
            TEILHABE__REGISTRY__V1__GET_TERRITORIAL_HISTORY_REQUEST__INIT;
        history.ags = (char *) ags;
        snprintf(what, sizeof what, "GetTerritorialHistory %s", ags);
        s_outcome_t o =
            s_same(f, what, REG_METHOD("GetTerritorialHistory"), &history.base,
                   &teilhabe__registry__v1__get_territorial_history_response__descriptor);
        s_outcome_clear(&o);
    }
    PQclear(all);
    PQfinish(conn);
    /* ListStates, and ListDistricts with each filter, page by page. */
    static const char *const states[] = {"", "16", "09", "17"};
    for (size_t d = 0; d < n_dates; d++) {
        Teilhabe__Registry__V1__ListStatesRequest ls =
            TEILHABE__REGISTRY__V1__LIST_STATES_REQUEST__INIT;
        ls.as_of = (char *) dates[d];
        snprintf(what, sizeof what, "ListStates as of \"%s\"", dates[d]);
        s_outcome_t o = s_same(f, what, REG_METHOD("ListStates"), &ls.base,
                               &teilhabe__registry__v1__list_states_response__descriptor);
        s_outcome_clear(&o);
        for (size_t st = 0; st < sizeof states / sizeof *states; st++) {
            for (int kind = 0; kind <= 2; kind++) {
                for (int type = 0; type <= 4; type += kind == 0 ? 1 : 4) {
                    Teilhabe__Registry__V1__ListDistrictsRequest list =
                        TEILHABE__REGISTRY__V1__LIST_DISTRICTS_REQUEST__INIT;
                    list.as_of = (char *) dates[d];
                    list.state_code = (char *) states[st];
                    list.kind = kind;
                    list.settlement_type = type;
                    list.page_size = st == 0 ? 150 : 7;
                    char token[512] = "";
                    for (int page = 0; page < 10; page++) {
                        list.page_token = token;
                        snprintf(what, sizeof what,
                                 "ListDistricts of \"%s\" kind %d type %d as of \"%s\" "
                                 "page %d",
                                 states[st], kind, type, dates[d], page);
                        s_outcome_t p = s_same(
                            f, what, REG_METHOD("ListDistricts"), &list.base,
                            &teilhabe__registry__v1__list_districts_response__descriptor);
                        ProtobufCMessage *unpacked = NULL;
                        const char *next = "";
                        if (p.code == TH_OK &&
                            th_wire_unpack(
                                &teilhabe__registry__v1__list_districts_response__descriptor,
                                p.body, SIZE_MAX, &unpacked) == 0)
                            next = ((const Teilhabe__Registry__V1__ListDistrictsResponse *)
                                        unpacked)
                                       ->next_page_token;
                        snprintf(token, sizeof token, "%s", next);
                        if (unpacked != NULL)
                            protobuf_c_message_free_unpacked(unpacked, NULL);
                        s_outcome_clear(&p);
                        if (token[0] == '\0')
                            break;
                    }
                }
            }
        }
    }
    /* SearchDistricts. */
    static const char *const texts[] = {"soemmerda", "SÖMMERDA", "sommerda", "stadt",
                                        "kreis",     "eisenach", "16",       "0916",
                                        "a",         "greiz",    "zzz"};
    for (size_t t = 0; t < sizeof texts / sizeof *texts; t++) {
        for (size_t d = 0; d < n_dates; d++) {
            for (int ended = 0; ended <= 1; ended++) {
                Teilhabe__Registry__V1__SearchDistrictsRequest search =
                    TEILHABE__REGISTRY__V1__SEARCH_DISTRICTS_REQUEST__INIT;
                search.text = (char *) texts[t];
                search.as_of = (char *) dates[d];
                search.include_ended = ended;
                search.page_size = ended ? 100 : 5;
                snprintf(what, sizeof what, "SearchDistricts \"%s\" as of \"%s\" ended %d",
                         texts[t], dates[d], ended);
                s_outcome_t o =
                    s_same(f, what, REG_METHOD("SearchDistricts"), &search.base,
                           &teilhabe__registry__v1__search_districts_response__descriptor);
                s_outcome_clear(&o);
            }
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_come_from_memory),
        cmocka_unit_test(test_change_reaches_the_other_instance),
        cmocka_unit_test(test_cache_recovers_after_its_connection_is_killed),
        cmocka_unit_test(test_cache_answers_as_the_database),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
