/* ---------------------------------------------------------------------------
 * test_refusal.c: a key the broker refuses for a while, and then accepts
 * again, against the real broker and teilhabe-testworker over CURVE
 *
 * libzmq 4.3 never reconnects a socket whose CURVE handshake the server
 * refused (the session ends with a protocol error), and a DEALER without a
 * connection blocks in a send without a timeout. So a worker whose key was
 * refused once used to hang for good in its next heartbeat, and SIGTERM hung
 * in its DISCONNECT; a long-lived client hung in the send of its next call.
 * Here the certificate file leaves the broker's certs_dir for a few seconds
 * and comes back: the worker must serve again by itself, stop on SIGTERM in
 * time while it is refused, and the client must succeed on a later call.
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "th_client.h"
#include "th_status.h"
#include "th_test.h"

#include "teilhabe/v1/health.pb-c.h"
#include "teilhabe/v1/testing.pb-c.h"

#include <czmq.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define ECHO "teilhabe.testing.v1.Echo/Echo"
#define ECHO_SERVICE "teilhabe.testing.v1.Echo"
/* How long a worker may take to stop on SIGTERM with no call in flight,
 * also while the broker refuses it (docs/OPERATIONS.md, "Stopping") */
#define STOP_WITHOUT_CALLS_MS 2000

typedef struct {
    char *dir;
    char broker_key[41];
    th_test_broker_t broker;
    th_proc_t *worker;
    char worker_log[600];
} env_t;

static int
s_setup(void **state)
{
    env_t *env = calloc(1, sizeof *env);
    assert_non_null(env);
    env->dir = th_test_tmpdir("th-refusal");
    assert_non_null(env->dir);
    assert_int_equal(th_test_keys_init(env->dir), 0);
    assert_int_equal(th_test_keys_client(env->dir, "admin", "admin", "", ""), 0);
    assert_int_equal(th_test_keys_client(env->dir, "analyst", "analyst", "", ""), 0);
    assert_int_equal(th_test_keys_worker(env->dir, "worker", "teilhabe.testing.v1.Echo"), 0);
    assert_int_equal(th_test_keys_broker_public(env->dir, env->broker_key), 0);
    th_test_broker_opts_t opts = {.keys_dir = env->dir, .heartbeat_ms = 250, .grace_ms = 500};
    if (th_test_broker_start(&opts, env->dir, &env->broker) != 0)
        fail_msg("could not start the broker; see %s", env->broker.log_path);
    *state = env;
    return 0;
}

static int
s_teardown(void **state)
{
    env_t *env = *state;
    bool clean = th_proc_stop_clean(&env->worker, "the test worker", env->worker_log);
    clean &= th_proc_stop_clean(&env->broker.proc, "the broker", env->broker.log_path);
    if (clean)
        th_test_rmtree(env->dir);
    free(env->dir);
    free(env);
    return clean ? 0 : -1;
}

static void
s_start_worker(env_t *env)
{
    char cert_public[600], cert[600];
    snprintf(cert_public, sizeof cert_public, "%s/broker.cert", env->dir);
    snprintf(cert, sizeof cert, "%s/private/worker.cert_secret", env->dir);
    snprintf(env->worker_log, sizeof env->worker_log, "%s/worker.log", env->dir);
    const char *argv[] = {"teilhabe-testworker", "--broker-endpoint", env->broker.backend,
                          "--broker-cert-public", cert_public, "--cert", cert,
                          "--heartbeat-ms", "250", "--capacity", "2", "--instance", "w0",
                          "--log-level", "debug", NULL};
    env->worker = th_proc_start(TH_TEST_TESTWORKER_BIN, (char *const *) argv, env->worker_log);
    assert_non_null(env->worker);
}

static th_client_t *
s_client(env_t *env, const char *principal)
{
    char cert[600], errbuf[256];
    snprintf(cert, sizeof cert, "%s/private/%s.cert_secret", env->dir, principal);
    th_client_config_t config = {
        .endpoints = env->broker.frontend,
        .broker_public_key = env->broker_key,
        .client_cert_path = cert,
    };
    th_client_t *client = th_client_new(&config, errbuf, sizeof errbuf);
    if (client == NULL)
        fail_msg("could not create a client: %s", errbuf);
    return client;
}

/* Moves public/NAME.cert out of the broker's certs_dir (away = true) or
 * back; the broker notices within about a second. */
static void
s_move_cert(env_t *env, const char *name, bool away)
{
    char in[700], out[700];
    snprintf(in, sizeof in, "%s/public/%s.cert", env->dir, name);
    snprintf(out, sizeof out, "%s/%s.cert.away", env->dir, name);
    if (rename(away ? in : out, away ? out : in) != 0)
        fail_msg("could not move the certificate of %s", name);
}

static int
s_echo(th_client_t *client, const char *text, int timeout_ms, th_result_t *out)
{
    Teilhabe__Testing__V1__EchoRequest request = TEILHABE__TESTING__V1__ECHO_REQUEST__INIT;
    request.text = (char *) text;
    return th_client_call(client, ECHO, &request.base,
                          &teilhabe__testing__v1__echo_response__descriptor, timeout_ms, NULL,
                          out);
}

/* Echo until it succeeds or timeout_ms pass; returns the time it took, or
 * fails the test. */
static int64_t
s_echo_until_served(th_client_t *client, int timeout_ms)
{
    int64_t start = zclock_mono();
    while (zclock_mono() - start < timeout_ms) {
        th_result_t result;
        assert_int_equal(s_echo(client, "again?", 1000, &result), 0);
        bool ok = result.code == TH_OK;
        if (ok)
            assert_string_equal(
                ((const Teilhabe__Testing__V1__EchoResponse *) result.response)->instance, "w0");
        th_result_clear(&result);
        if (ok)
            return zclock_mono() - start;
        zclock_sleep(100);
    }
    fail_msg("the worker did not serve again within %d ms", timeout_ms);
    return -1;
}

static void
test_worker_serves_again_after_its_key_was_refused(void **state)
{
    env_t *env = *state;
    s_start_worker(env);
    th_client_t *client = s_client(env, "admin");
    s_echo_until_served(client, 5000);
    pid_t pid = th_proc_pid(env->worker);

    /* Refused for 4 s: the broker drops the worker, and every handshake of
     * its new sockets is refused meanwhile */
    s_move_cert(env, "worker", true);
    zclock_sleep(4000);
    th_result_t result;
    assert_int_equal(s_echo(client, "refused", 500, &result), 0);
    assert_true(result.code != TH_OK);
    th_result_clear(&result);
    s_move_cert(env, "worker", false);

    /* Back within a few seconds: the broker re-reads its certs_dir within a
     * second, the worker opens a new socket within its backoff (at most 2 s)
     * or liveness (3 x 250 ms) */
    int64_t took = s_echo_until_served(client, 6000);
    printf("# served again %lld ms after the key was accepted again\n", (long long) took);
    assert_true(th_proc_alive(env->worker));
    assert_int_equal(th_proc_pid(env->worker), pid); /* no restart */
    th_client_destroy(&client);
}

static void
test_sigterm_while_refused_exits_in_time(void **state)
{
    env_t *env = *state;
    s_start_worker(env);
    th_client_t *client = s_client(env, "admin");
    s_echo_until_served(client, 5000);
    th_client_destroy(&client);
    s_move_cert(env, "worker", true);
    zclock_sleep(2500); /* dropped, and refused on its new sockets */
    int64_t start = zclock_mono();
    assert_int_equal(th_proc_signal(env->worker, SIGTERM), 0);
    int status = th_proc_wait(env->worker, STOP_WITHOUT_CALLS_MS);
    int64_t took = zclock_mono() - start;
    s_move_cert(env, "worker", false);
    if (status == -1)
        fail_msg("the refused worker did not stop within %d ms of SIGTERM; see %s",
                 STOP_WITHOUT_CALLS_MS, env->worker_log);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    printf("# stopped %lld ms after SIGTERM\n", (long long) took);
    th_proc_stop(&env->worker, SIGKILL, 100); /* reaped already: frees the handle */
}

/* No broker at all (not started yet, or gone): SIGTERM ends the worker at
 * once too, without waiting for anything queued towards it to leave. */
static void
test_sigterm_without_broker_exits_in_time(void **state)
{
    env_t *env = *state;
    char cert_public[600], cert[600], endpoint[64];
    snprintf(cert_public, sizeof cert_public, "%s/broker.cert", env->dir);
    snprintf(cert, sizeof cert, "%s/private/worker.cert_secret", env->dir);
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", th_test_free_port());
    snprintf(env->worker_log, sizeof env->worker_log, "%s/worker.log", env->dir);
    const char *argv[] = {"teilhabe-testworker", "--broker-endpoint", endpoint,
                          "--broker-cert-public", cert_public, "--cert", cert,
                          "--heartbeat-ms", "250", "--log-level", "debug", NULL};
    env->worker = th_proc_start(TH_TEST_TESTWORKER_BIN, (char *const *) argv, env->worker_log);
    assert_non_null(env->worker);
    zclock_sleep(1500); /* heartbeats queued, reconnects tried */
    int64_t start = zclock_mono();
    assert_int_equal(th_proc_signal(env->worker, SIGTERM), 0);
    int status = th_proc_wait(env->worker, STOP_WITHOUT_CALLS_MS);
    if (status == -1)
        fail_msg("the worker without a broker did not stop within %d ms of SIGTERM; see %s",
                 STOP_WITHOUT_CALLS_MS, env->worker_log);
    int64_t took = zclock_mono() - start;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    printf("# stopped %lld ms after SIGTERM\n", (long long) took);
    assert_true(took < 500); /* nothing lingers towards a broker never heard */
    th_proc_stop(&env->worker, SIGKILL, 100);
}

static void
test_client_refused_then_accepted_succeeds_later(void **state)
{
    env_t *env = *state;
    s_start_worker(env);
    th_client_t *admin = s_client(env, "admin");
    s_echo_until_served(admin, 5000);
    th_client_destroy(&admin);

    s_move_cert(env, "analyst", true);
    zclock_sleep(1500); /* the broker has forgotten the key */
    th_client_t *client = s_client(env, "analyst");
    th_result_t result;
    int64_t start = zclock_mono();
    assert_int_equal(s_echo(client, "let me in", 3000, &result), 0);
    assert_int_equal(result.code, TH_UNAUTHENTICATED);
    assert_true(zclock_mono() - start < 2000); /* at once, not at the deadline */
    th_result_clear(&result);

    s_move_cert(env, "analyst", false);
    zclock_sleep(1500); /* the broker knows the key again */
    /* The same client: its refused socket is dead for good in libzmq, so
     * this call must go out on a new one (it used to block in the send) */
    start = zclock_mono();
    assert_int_equal(s_echo(client, "now?", 3000, &result), 0);
    if (result.code != TH_OK)
        fail_msg("the call after the key was accepted again failed: %s: %s",
                 th_status_name(result.code), result.message);
    assert_true(zclock_mono() - start < 3000);
    th_result_clear(&result);
    th_client_destroy(&client);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_worker_serves_again_after_its_key_was_refused,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_sigterm_while_refused_exits_in_time, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_sigterm_without_broker_exits_in_time, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_client_refused_then_accepted_succeeds_later,
                                        s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
