/* ---------------------------------------------------------------------------
 * test_registry_start.c: teilhabe-registry started while its database is
 * unreachable (real broker, real registry, real PostgreSQL)
 *
 * The registry is pointed at a loopback port where nothing listens. It used
 * to exit 1 there. Now it starts, registers with the broker and answers
 * UNAVAILABLE "the service is starting ..." while it retries its start-up
 * work (migrations, reference data) with backoff; SIGTERM stops it at once
 * meanwhile. When a forwarder on that port starts relaying to the test's
 * PostgreSQL, it migrates, seeds and serves, without a restart.
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "registry_env.h"
#include "th_test_forward.h"

#include <czmq.h>

/* How long a service may take to stop on SIGTERM while its start-up work
 * fails fast (docs/OPERATIONS.md, "Stopping") */
#define STOP_WHILE_STARTING_MS 2000

typedef struct {
    registry_env_t env;
    char unreachable_url[2048]; /* the database, but on a port nothing serves */
    int port;
    char target_host[512];
    int target_port;
    th_test_forward_t *forward;
    th_client_t *admin;
} s_fixture_t;

/* conninfo with host, port and dbname replaced; the target's host and port
 * (defaults as libpq's) into *host / *port. */
static int
s_conninfo_at(const char *url, const char *host, int port, const char *dbname, char *out,
              size_t outlen, char *old_host, size_t old_host_len, int *old_port)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &err);
    if (opts == NULL) {
        PQfreemem(err);
        return -1;
    }
    snprintf(old_host, old_host_len, "127.0.0.1");
    *old_port = 5432;
    char port_text[16];
    snprintf(port_text, sizeof port_text, "%d", port);
    size_t o = 0;
    out[0] = '\0';
    for (PQconninfoOption *opt = opts; opt->keyword != NULL; opt++) {
        const char *val = opt->val;
        if (strcmp(opt->keyword, "host") == 0 || strcmp(opt->keyword, "hostaddr") == 0) {
            if (val != NULL && val[0] != '\0')
                snprintf(old_host, old_host_len, "%s", val);
            val = strcmp(opt->keyword, "host") == 0 ? host : NULL;
        } else if (strcmp(opt->keyword, "port") == 0) {
            if (val != NULL && val[0] != '\0')
                *old_port = atoi(val);
            val = port_text;
        } else if (strcmp(opt->keyword, "dbname") == 0) {
            val = dbname;
        }
        if (val == NULL)
            continue;
        o += (size_t) snprintf(out + o, o < outlen ? outlen - o : 0, "%s%s='", o ? " " : "",
                               opt->keyword);
        for (const char *c = val; *c != '\0' && o + 2 < outlen; c++) {
            if (*c == '\'' || *c == '\\')
                out[o++] = '\\';
            out[o++] = *c;
        }
        o += (size_t) snprintf(out + o, o < outlen ? outlen - o : 0, "'");
    }
    PQconninfoFree(opts);
    return o < outlen ? 0 : -1;
}

static int
s_setup(void **state)
{
    s_fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    *state = f;
    registry_env_t *env = &f->env;
    env->tmp = th_test_tmpdir("th-regstart");
    if (env->tmp == NULL || reg_make_keys(env) != 0 || reg_create_db(env, "regstart") != 0)
        return -1;
    f->port = th_test_free_port();
    if (s_conninfo_at(env->admin_url, "127.0.0.1", f->port, env->dbname, f->unreachable_url,
                      sizeof f->unreachable_url, f->target_host, sizeof f->target_host,
                      &f->target_port) != 0)
        return -1;
    const th_test_broker_opts_t opts = {.keys_dir = env->keys, .heartbeat_ms = 250};
    if (th_test_broker_start(&opts, env->tmp, &env->broker) != 0) {
        fprintf(stderr, "broker did not start, see %s\n", env->broker.log_path);
        return -1;
    }
    f->admin = reg_client(env, "admin");
    return f->admin != NULL ? 0 : -1;
}

static int
s_teardown(void **state)
{
    s_fixture_t *f = *state;
    th_client_destroy(&f->admin);
    bool clean = th_proc_stop_clean(&f->env.registry, "the registry", f->env.registry_log);
    f->env.registry = NULL;
    th_test_forward_stop(&f->forward);
    registry_env_stop(&f->env);
    free(f);
    return clean ? 0 : -1;
}

/* Starts teilhabe-registry against db_url. */
static void
s_start_registry(s_fixture_t *f, const char *db_url)
{
    registry_env_t *env = &f->env;
    char cert[1100], broker_cert[1100];
    snprintf(cert, sizeof cert, "%s/private/registry.cert_secret", env->keys);
    snprintf(broker_cert, sizeof broker_cert, "%s/broker.cert", env->keys);
    snprintf(env->registry_log, sizeof env->registry_log, "%s/registry.log", env->tmp);
    const char *argv[] = {"teilhabe-registry", "--db-url", db_url, "--broker-endpoint",
                          env->broker.backend, "--broker-cert-public", broker_cert, "--cert",
                          cert, "--heartbeat-ms", "250", "--log-level", "info", NULL};
    env->registry = th_proc_start(TH_TEST_REGISTRY_BIN, (char *const *) argv, env->registry_log);
    assert_non_null(env->registry);
}

/* ListStates once, no retries. */
static void
s_list_states(s_fixture_t *f, int timeout_ms, bool once, th_result_t *r)
{
    Teilhabe__Registry__V1__ListStatesRequest req =
        TEILHABE__REGISTRY__V1__LIST_STATES_REQUEST__INIT;
    th_call_opts_t opts = {.no_retry = once};
    assert_int_equal(th_client_call(f->admin, REG_METHOD("ListStates"), &req.base,
                                    &teilhabe__registry__v1__list_states_response__descriptor,
                                    timeout_ms, &opts, r),
                     0);
}

/* Waits until the registry is registered and answers "starting"; fails the
 * test when it exits or answers anything else for long. */
static void
s_expect_starting(s_fixture_t *f)
{
    int64_t until = zclock_mono() + 10000;
    while (zclock_mono() < until) {
        if (!th_proc_alive(f->env.registry))
            fail_msg("the registry exited while its database was unreachable; see %s",
                     f->env.registry_log);
        th_result_t r;
        s_list_states(f, 1000, true, &r);
        bool starting = r.code == TH_UNAVAILABLE && strstr(r.message, "starting") != NULL;
        if (starting)
            assert_true(r.retry_after_ms > 0);
        th_result_clear(&r);
        if (starting)
            return;
        zclock_sleep(100);
    }
    fail_msg("the registry never answered UNAVAILABLE \"the service is starting\"; see %s",
             f->env.registry_log);
}

static void
test_starts_without_database_then_serves(void **state)
{
    s_fixture_t *f = *state;
    /* SIGTERM while the start-up work keeps failing: exits 0 at once */
    s_start_registry(f, f->unreachable_url);
    s_expect_starting(f);
    th_result_t r;
    s_list_states(f, 1000, true, &r);
    assert_int_equal(r.code, TH_UNAVAILABLE);
    assert_non_null(strstr(r.message, "database is not reachable yet"));
    th_result_clear(&r);
    int64_t start = zclock_mono();
    assert_int_equal(th_proc_signal(f->env.registry, SIGTERM), 0);
    int status = th_proc_wait(f->env.registry, STOP_WHILE_STARTING_MS);
    if (status == -1)
        fail_msg("the starting registry did not stop within %d ms; see %s",
                 STOP_WHILE_STARTING_MS, f->env.registry_log);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    printf("# stopped %lld ms after SIGTERM\n", (long long) (zclock_mono() - start));
    th_proc_stop(&f->env.registry, SIGKILL, 100);

    /* Again, and now the database comes: migrations, seeding, serving */
    s_start_registry(f, f->unreachable_url);
    s_expect_starting(f);
    f->forward = th_test_forward_start(f->port, f->target_host, f->target_port);
    assert_non_null(f->forward);
    start = zclock_mono();
    /* The client retries UNAVAILABLE within its budget by itself */
    s_list_states(f, 30000, false, &r);
    if (r.code != TH_OK)
        fail_msg("ListStates after the database came: %s: %s; see %s",
                 th_status_name(r.code), r.message, f->env.registry_log);
    const Teilhabe__Registry__V1__ListStatesResponse *states = (const void *) r.response;
    assert_int_equal(states->n_states, 16);
    printf("# served %lld ms after the database came, after %d attempts\n",
           (long long) (zclock_mono() - start), r.attempts);
    th_result_clear(&r);
    assert_int_equal(reg_sql_count(f->env.db_url, "SELECT count(*) FROM registry.districts"),
                     401);
    assert_true(th_proc_alive(f->env.registry));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_starts_without_database_then_serves, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
