/* ---------------------------------------------------------------------------
 * test_broker_auth.c: who may talk to teilhabe-broker
 *
 * CURVE + the broker's ZAP handler: unknown keys, keys on the wrong socket
 * (worker keys on the frontend, client keys on the backend), revocation by
 * removing a certificate file while connected, the refusal to start without
 * authentication, and the loud insecure mode.
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_broker_peers.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static const int s_serving =
    TEILHABE__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;

typedef struct {
    char *dir;
    th_test_broker_t broker;
    th_test_broker_t extra; /* started by a test; stopped here if it failed */
    char *extra_dir;
} fixture_t;

static int
s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    if (fx == NULL)
        return -1;
    fx->dir = th_test_tmpdir("th-broker-auth");
    if (fx->dir == NULL || th_test_keys_init(fx->dir) != 0 ||
        th_test_keys_client(fx->dir, "admin", "admin", "", "") != 0 ||
        th_test_keys_client(fx->dir, "analyst", "analyst", "16", "") != 0 ||
        th_test_keys_client(fx->dir, "leaver", "ministry", "16", "") != 0 ||
        th_test_keys_worker(fx->dir, "worker1", "teilhabe.real.v1.Real") != 0 ||
        th_test_keys_worker(fx->dir, "echoworker", ECHO_SERVICE) != 0 ||
        th_test_keys_worker(fx->dir, "noservices", NULL) != 0 ||
        th_test_keys_worker(fx->dir, "mover",
                            "teilhabe.real.v1.Real,teilhabe.move.v1.Move") != 0 ||
        th_test_keys_client(fx->dir, "badrole", "emperor", "", "") != 0)
        return -1;
    th_test_broker_opts_t opts = {.keys_dir = fx->dir};
    if (th_test_broker_start(&opts, fx->dir, &fx->broker) != 0) {
        fprintf(stderr, "broker did not start; see %s\n", fx->broker.log_path);
        return -1;
    }
    *state = fx;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *fx = *state;
    if (fx == NULL)
        return 0;
    int status = th_test_broker_stop(&fx->broker);
    th_proc_stop(&fx->extra.proc, SIGKILL, 2000);
    if (getenv("TH_TEST_KEEP") == NULL) {
        th_test_rmtree(fx->dir);
        th_test_rmtree(fx->extra_dir);
    }
    free(fx->extra_dir);
    free(fx->dir);
    free(fx);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static void
test_known_key_connects(void **state)
{
    fixture_t *fx = *state;
    zsock_t *client = peer_connect(fx->broker.frontend, fx->dir, "analyst", NULL);
    assert_non_null(client);
    assert_int_equal(client_health(client, 1, "teilhabe.health.v1.Health", 3000),
                     s_serving);
    zsock_destroy(&client);
}

static void
test_unknown_key_refused(void **state)
{
    fixture_t *fx = *state;
    /* A valid certificate the broker has never seen. */
    char path[1024];
    snprintf(path, sizeof path, "%s/stranger.cert", fx->dir);
    zcert_t *cert = zcert_new();
    assert_non_null(cert);
    assert_int_equal(zcert_save(cert, path), 0);
    zcert_destroy(&cert);
    snprintf(path, sizeof path, "%s/stranger.cert_secret", fx->dir);
    zsock_t *client = peer_connect(fx->broker.frontend, fx->dir, NULL, path);
    assert_non_null(client);
    assert_int_equal(client_health(client, 2, "teilhabe.health.v1.Health", 1000), -1);
    zsock_destroy(&client);
    /* A certificate with a role the broker does not know is ignored. */
    client = peer_connect(fx->broker.frontend, fx->dir, "badrole", NULL);
    assert_non_null(client);
    assert_int_equal(client_health(client, 3, "teilhabe.health.v1.Health", 1000), -1);
    zsock_destroy(&client);
    /* No CURVE at all against a CURVE socket: nothing either. */
    client = peer_connect(fx->broker.frontend, NULL, NULL, NULL);
    assert_non_null(client);
    assert_int_equal(client_health(client, 4, "teilhabe.health.v1.Health", 1000), -1);
    zsock_destroy(&client);
}

static void
test_keys_on_the_wrong_socket(void **state)
{
    fixture_t *fx = *state;
    /* A worker key cannot call services. */
    zsock_t *client = peer_connect(fx->broker.frontend, fx->dir, "worker1", NULL);
    assert_non_null(client);
    assert_int_equal(client_health(client, 5, "teilhabe.health.v1.Health", 1000), -1);
    zsock_destroy(&client);

    /* A client key cannot register as a worker: the service never shows. */
    peer_worker_t impostor;
    assert_int_equal(worker_start(&impostor, fx->broker.backend, fx->dir, "admin",
                                  "teilhabe.fake.v1.Fake", "Steal", 1),
                     0);
    worker_idle(&impostor, 500);
    client = peer_connect(fx->broker.frontend, fx->dir, "admin", NULL);
    assert_non_null(client);
    assert_int_equal(
        client_health(client, 6, "teilhabe.fake.v1.Fake", 2000),
        TEILHABE__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN);
    worker_stop(&impostor, false);

    /* The real worker key registers fine. */
    peer_worker_t worker;
    assert_int_equal(worker_start(&worker, fx->broker.backend, fx->dir, "worker1",
                                  "teilhabe.real.v1.Real", "Do", 1),
                     0);
    worker_idle(&worker, 300);
    assert_int_equal(client_health(client, 7, "teilhabe.real.v1.Real", 2000), s_serving);
    worker_stop(&worker, true);
    zsock_destroy(&client);
}

static void
test_revoked_key_refused_while_connected(void **state)
{
    fixture_t *fx = *state;
    zsock_t *client = peer_connect(fx->broker.frontend, fx->dir, "leaver", NULL);
    assert_non_null(client);
    assert_int_equal(client_health(client, 10, "teilhabe.health.v1.Health", 3000),
                     s_serving);
    char path[1024];
    snprintf(path, sizeof path, "%s/public/leaver.cert", fx->dir);
    assert_int_equal(unlink(path), 0);
    /* Within a few seconds, the same connection gets UNAUTHENTICATED. */
    int64_t until = zclock_mono() + 5000;
    int code = -1;
    uint64_t call_id = 11;
    while (zclock_mono() < until) {
        Teilhabe__Health__V1__HealthCheckRequest request =
            TEILHABE__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
        assert_int_equal(client_send(client, call_id, "teilhabe.health.v1.Health/Check",
                                     1000, &request.base, NULL, 0, NULL, NULL),
                         0);
        peer_reply_t reply;
        client_recv(client, 1000, &reply);
        assert_true(reply.well_formed);
        assert_int_equal(reply.call_id, call_id);
        code = reply.code;
        if (code == TH_UNAUTHENTICATED)
            assert_non_null(strstr(reply.message, "ask the administrator"));
        reply_clear(&reply);
        call_id++;
        if (code == TH_UNAUTHENTICATED)
            break;
        zclock_sleep(200);
    }
    assert_int_equal(code, TH_UNAUTHENTICATED);
    zsock_destroy(&client);
    /* A new connection with that key is refused outright. */
    client = peer_connect(fx->broker.frontend, fx->dir, "leaver", NULL);
    assert_non_null(client);
    assert_int_equal(client_health(client, 99, "teilhabe.health.v1.Health", 1000), -1);
    zsock_destroy(&client);
    /* A certificate added later is picked up without a restart. */
    assert_int_equal(th_test_keys_client(fx->dir, "newcomer", "analyst", "", ""), 0);
    int status = -1;
    until = zclock_mono() + 5000;
    for (uint64_t id = 100; zclock_mono() < until && status != s_serving; id++) {
        client = peer_connect(fx->broker.frontend, fx->dir, "newcomer", NULL);
        assert_non_null(client);
        status = client_health(client, id, "teilhabe.health.v1.Health", 700);
        zsock_destroy(&client);
    }
    assert_int_equal(status, s_serving);
}

/* --- worker keys and their services ------------------------------------------ */

static const int s_unknown =
    TEILHABE__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN;
static const int s_not_serving =
    TEILHABE__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;

/* ListServices: the capacity listed for service, or -1 when not listed. */
static int
s_listed_capacity(zsock_t *client, uint64_t call_id, const char *service)
{
    Teilhabe__Broker__V1__ListServicesRequest request =
        TEILHABE__BROKER__V1__LIST_SERVICES_REQUEST__INIT;
    assert_int_equal(client_send(client, call_id, "teilhabe.broker.v1.Broker/ListServices",
                                 2000, &request.base, NULL, 0, NULL, NULL),
                     0);
    peer_reply_t reply;
    client_recv(client, 2000, &reply);
    assert_int_equal(reply.code, TH_OK);
    ProtobufCMessage *unpacked = NULL;
    assert_int_equal(
        th_wire_unpack(&teilhabe__broker__v1__list_services_response__descriptor,
                       reply.body, 1 << 20, &unpacked),
        0);
    const Teilhabe__Broker__V1__ListServicesResponse *list =
        (const Teilhabe__Broker__V1__ListServicesResponse *) unpacked;
    int capacity = -1;
    for (size_t i = 0; i < list->n_services; i++)
        if (strcmp(list->services[i]->name, service) == 0)
            capacity = (int) list->services[i]->capacity;
    protobuf_c_message_free_unpacked(unpacked, NULL);
    reply_clear(&reply);
    return capacity;
}

/* Issue 6, failure 4: one worker key ruled every service. Now the test
 * service's key announcing the registry is refused (DISCONNECT, logged
 * once for the key however often it tries), the registry never registers
 * and no call ever reaches that worker; the key still serves its own
 * service, with its announced capacity capped (worker_capacity_max). */
static void
test_worker_key_serves_only_its_services(void **state)
{
    fixture_t *fx = *state;
    zsock_t *client = peer_connect(fx->broker.frontend, fx->dir, "admin", NULL);
    assert_non_null(client);
    const char *registry = "teilhabe.registry.v1.Registry";
    for (int attempt = 0; attempt < 3; attempt++) {
        peer_worker_t thief;
        assert_int_equal(worker_start(&thief, fx->broker.backend, fx->dir, "echoworker",
                                      registry, "GetDistrict,RevokePrincipal", 10000),
                         0);
        worker_idle(&thief, 300);
        assert_true(thief.disconnects >= 1);
        worker_stop(&thief, false);
    }
    /* Its own service next to the registry: the whole READY is refused. */
    peer_worker_t thief;
    assert_int_equal(worker_start(&thief, fx->broker.backend, fx->dir, "echoworker",
                                  ECHO_SERVICE ","
                                               "teilhabe.registry.v1.Registry",
                                  "", 1),
                     0);
    worker_idle(&thief, 300);
    assert_true(thief.disconnects >= 1);
    assert_int_equal(client_health(client, 20, registry, 2000), s_unknown);
    assert_int_equal(client_health(client, 21, ECHO_SERVICE, 2000), s_unknown);
    /* A registry call waits out the grace period and fails: the worker
     * that asked for it never sees it. */
    Teilhabe__Testing__V1__EchoRequest body = TEILHABE__TESTING__V1__ECHO_REQUEST__INIT;
    assert_int_equal(client_send(client, 22, "teilhabe.registry.v1.Registry/GetDistrict",
                                 3000, &body.base, NULL, 0, NULL, NULL),
                     0);
    assert_int_equal(worker_idle(&thief, 1000), 0);
    peer_reply_t reply;
    client_recv(client, 2000, &reply);
    assert_int_equal(reply.call_id, 22);
    assert_int_equal(reply.code, TH_UNIMPLEMENTED);
    reply_clear(&reply);
    worker_stop(&thief, false);
    assert_int_equal(
        th_test_count_in_file(fx->broker.log_path, "may not serve this service\" key="), 1);

    /* The key's own service registers and serves, capacity capped. */
    peer_worker_t worker;
    assert_int_equal(worker_start(&worker, fx->broker.backend, fx->dir, "echoworker",
                                  ECHO_SERVICE, "Echo", 10000),
                     0);
    worker_idle(&worker, 300);
    assert_int_equal(worker.disconnects, 0);
    assert_int_equal(client_health(client, 23, ECHO_SERVICE, 2000), s_serving);
    assert_int_equal(s_listed_capacity(client, 24, ECHO_SERVICE), 256);
    assert_int_equal(
        client_send(client, 25, ECHO_METHOD, 3000, &body.base, NULL, 0, NULL, NULL), 0);
    peer_request_t got;
    assert_true(worker_recv_request(&worker, 3000, &got));
    assert_int_equal(worker_echo(&worker, &got, "echo"), 0);
    request_clear(&got);
    client_recv(client, 2000, &reply);
    assert_int_equal(reply.code, TH_OK);
    reply_clear(&reply);
    worker_stop(&worker, true);
    zsock_destroy(&client);
}

/* A worker key without a services list serves nothing (the secure
 * default): its READY is refused. */
static void
test_worker_key_without_services_serves_nothing(void **state)
{
    fixture_t *fx = *state;
    peer_worker_t worker;
    assert_int_equal(worker_start(&worker, fx->broker.backend, fx->dir, "noservices",
                                  "teilhabe.real.v1.Real", "Do", 1),
                     0);
    worker_idle(&worker, 300);
    assert_true(worker.disconnects >= 1);
    worker_stop(&worker, false);
    assert_int_equal(
        th_test_count_in_file(fx->broker.log_path, "the worker key names no services"), 1);
}

/* The services of a connected worker's key shrink: the worker is told
 * DISCONNECT and its service has no worker any more, within seconds. */
static void
test_worker_key_loses_a_service(void **state)
{
    fixture_t *fx = *state;
    zsock_t *client = peer_connect(fx->broker.frontend, fx->dir, "admin", NULL);
    assert_non_null(client);
    peer_worker_t worker;
    assert_int_equal(worker_start(&worker, fx->broker.backend, fx->dir, "mover",
                                  "teilhabe.move.v1.Move", "Do", 1),
                     0);
    worker_idle(&worker, 300);
    assert_int_equal(client_health(client, 30, "teilhabe.move.v1.Move", 2000), s_serving);
    /* The same key, now naming only the other service. */
    char path[1024];
    snprintf(path, sizeof path, "%s/private/mover.cert_secret", fx->dir);
    zcert_t *old = zcert_load(path);
    assert_non_null(old);
    zcert_t *cert = zcert_new_from(zcert_public_key(old), zcert_secret_key(old));
    assert_non_null(cert);
    zcert_set_meta(cert, "id", "%s", "mover");
    zcert_set_meta(cert, "role", "%s", "worker");
    zcert_set_meta(cert, "services", "%s", "teilhabe.real.v1.Real");
    snprintf(path, sizeof path, "%s/public/mover.cert", fx->dir);
    assert_int_equal(zcert_save_public(cert, path), 0);
    zcert_destroy(&cert);
    zcert_destroy(&old);
    int64_t until = zclock_mono() + 5000;
    while (zclock_mono() < until && worker.disconnects == 0)
        worker_idle(&worker, 100);
    assert_true(worker.disconnects >= 1);
    assert_int_equal(client_health(client, 31, "teilhabe.move.v1.Move", 2000),
                     s_not_serving);
    worker_stop(&worker, false);
    zsock_destroy(&client);
}

/* --- start-up --------------------------------------------------------------- */

static int
s_run_broker(char *const argv[], const char *log_path)
{
    th_proc_t *proc = th_proc_start(TH_TEST_BROKER_BIN, argv, log_path);
    assert_non_null(proc);
    int status = th_proc_wait(proc, 5000);
    th_proc_stop(&proc, SIGKILL, 1000);
    return status;
}

static bool
s_file_contains(const char *path, const char *text)
{
    FILE *file = fopen(path, "r");
    if (file == NULL)
        return false;
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, file);
    fclose(file);
    buf[n] = '\0';
    return strstr(buf, text) != NULL;
}

static void
test_refuses_to_start_without_auth(void **state)
{
    fixture_t *fx = *state;
    char log_path[1024], port[64];
    snprintf(log_path, sizeof log_path, "%s/noauth.log", fx->dir);
    snprintf(port, sizeof port, "tcp://127.0.0.1:%d", th_test_free_port());
    char *const bare[] = {"teilhabe-broker", "--frontend-endpoint", port, NULL};
    int status = s_run_broker(bare, log_path);
    assert_true(WIFEXITED(status));
    assert_int_not_equal(WEXITSTATUS(status), 0);
    assert_true(s_file_contains(log_path, "refusing to start without authentication"));

    /* A certificate file without its secret key is refused too. */
    char cert[1024], dir[1024];
    snprintf(cert, sizeof cert, "%s/public/admin.cert", fx->dir);
    snprintf(dir, sizeof dir, "%s/public", fx->dir);
    snprintf(log_path, sizeof log_path, "%s/nosecret.log", fx->dir);
    char *const public_only[] = {"teilhabe-broker",
                                 "--frontend-endpoint",
                                 port,
                                 "--broker-cert",
                                 cert,
                                 "--certs-dir",
                                 dir,
                                 NULL};
    /* public/admin.cert has no admin.cert_secret next to it */
    status = s_run_broker(public_only, log_path);
    assert_true(WIFEXITED(status));
    assert_int_not_equal(WEXITSTATUS(status), 0);
    assert_true(s_file_contains(log_path, "no secret key"));

    snprintf(log_path, sizeof log_path, "%s/nodir.log", fx->dir);
    snprintf(cert, sizeof cert, "%s/broker.cert_secret", fx->dir);
    char *const no_dir[] = {
        "teilhabe-broker", "--frontend-endpoint",   port, "--broker-cert", cert,
        "--certs-dir",     "/nonexistent/teilhabe", NULL};
    status = s_run_broker(no_dir, log_path);
    assert_true(WIFEXITED(status));
    assert_int_not_equal(WEXITSTATUS(status), 0);
    assert_true(s_file_contains(log_path, "is not a directory"));
}

static void
test_insecure_mode(void **state)
{
    fixture_t *fx = *state;
    fx->extra_dir = th_test_tmpdir("th-broker-insecure");
    assert_non_null(fx->extra_dir);
    th_test_broker_t *broker = &fx->extra;
    th_test_broker_opts_t opts = {.keys_dir = NULL};
    assert_int_equal(th_test_broker_start(&opts, fx->extra_dir, broker), 0);
    zsock_t *client = peer_connect(broker->frontend, NULL, NULL, NULL);
    assert_non_null(client);
    assert_int_equal(client_health(client, 1, "teilhabe.health.v1.Health", 3000),
                     s_serving);
    /* Every caller is the "insecure" admin; claims are still discarded. */
    peer_worker_t worker;
    assert_int_equal(
        worker_start(&worker, broker->backend, NULL, "plain", ECHO_SERVICE, "Echo", 1), 0);
    worker_idle(&worker, 200);
    Teilhabe__Testing__V1__EchoRequest request = TEILHABE__TESTING__V1__ECHO_REQUEST__INIT;
    assert_int_equal(client_send(client, 2, ECHO_METHOD, 3000, &request.base, NULL, 0,
                                 "someone-else", NULL),
                     0);
    peer_request_t got;
    assert_true(worker_recv_request(&worker, 3000, &got));
    assert_string_equal(got.header->principal->id, "insecure");
    assert_string_equal(got.header->principal->role, "admin");
    request_clear(&got);
    worker_stop(&worker, true);
    zsock_destroy(&client);
    assert_int_equal(th_test_broker_stop(broker), 0);
    assert_true(s_file_contains(broker->log_path, "INSECURE MODE"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_key_connects),
        cmocka_unit_test(test_unknown_key_refused),
        cmocka_unit_test(test_keys_on_the_wrong_socket),
        cmocka_unit_test(test_revoked_key_refused_while_connected),
        cmocka_unit_test(test_worker_key_serves_only_its_services),
        cmocka_unit_test(test_worker_key_without_services_serves_nothing),
        cmocka_unit_test(test_worker_key_loses_a_service),
        cmocka_unit_test(test_refuses_to_start_without_auth),
        cmocka_unit_test(test_insecure_mode),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
