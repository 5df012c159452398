/* ---------------------------------------------------------------------------
 * test_rpc.c: the client library and the worker runtime against the real
 * broker and real teilhabe-testworker processes over CURVE on loopback
 *
 * Each test starts its own broker (heartbeat 250 ms) and workers, so a test
 * that kills or stops processes cannot disturb the next one.
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "th_client.h"
#include "th_error.h"
#include "th_status.h"
#include "th_test.h"
#include "th_wire.h"
#include "th_worker.h"

#include "teilhabe/v1/broker.pb-c.h"
#include "teilhabe/v1/health.pb-c.h"
#include "teilhabe/v1/testing.pb-c.h"

#include <czmq.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define ECHO "teilhabe.testing.v1.Echo/Echo"
#define SLEEP "teilhabe.testing.v1.Echo/Sleep"
#define ECHO_SERVICE "teilhabe.testing.v1.Echo"
#define MAX_WORKERS 4

typedef struct {
    char *dir;
    char broker_key[41];
    th_test_broker_t broker;
    th_test_broker_t broker2; /* a second broker, for tests that need one */
    th_proc_t *workers[MAX_WORKERS];
    char worker_logs[MAX_WORKERS][600];
} env_t;

/* --- fixture helpers ----------------------------------------------------- */

static void
s_start_broker(env_t *env)
{
    th_test_broker_opts_t opts = {.keys_dir = env->dir, .heartbeat_ms = 250, .grace_ms = 500};
    int rc = th_test_broker_start(&opts, env->dir, &env->broker);
    if (rc != 0)
        fail_msg("could not start the broker (%d); see %s", rc, env->broker.log_path);
}

static int
s_setup(void **state)
{
    env_t *env = calloc(1, sizeof *env);
    assert_non_null(env);
    env->dir = th_test_tmpdir("th-rpc");
    assert_non_null(env->dir);
    assert_int_equal(th_test_keys_init(env->dir), 0);
    assert_int_equal(th_test_keys_client(env->dir, "admin", "admin", "", ""), 0);
    assert_int_equal(th_test_keys_client(env->dir, "manager1", "manager", "16", "16056"), 0);
    assert_int_equal(
        th_test_keys_worker(env->dir, "worker", ECHO_SERVICE ",teilhabe.rpctest.v1.Nested"), 0);
    assert_int_equal(th_test_keys_broker_public(env->dir, env->broker_key), 0);
    s_start_broker(env);
    *state = env;
    return 0;
}

/* Every process still running is expected to be healthy: it gets SIGTERM
 * and must exit 0. Processes a test kills on purpose are gone by now. On a
 * failure the directory with the logs is kept. */
static int
s_teardown(void **state)
{
    env_t *env = *state;
    bool clean = true;
    for (int i = 0; i < MAX_WORKERS; i++)
        clean &= th_proc_stop_clean(&env->workers[i], "a test worker", env->worker_logs[i]);
    clean &= th_proc_stop_clean(&env->broker.proc, "the broker", env->broker.log_path);
    clean &= th_proc_stop_clean(&env->broker2.proc, "the second broker", env->broker2.log_path);
    if (clean)
        th_test_rmtree(env->dir);
    free(env->dir);
    free(env);
    return clean ? 0 : -1;
}

/* Starts testworker slot i named "w<i>" with the given capacity and extra
 * "--key", "value" pairs (NULL-terminated, may be NULL). */
static void
s_start_worker(env_t *env, int i, int capacity, const char *const *extra)
{
    char cert_public[600], cert[600], cap[16], instance[16];
    snprintf(cert_public, sizeof cert_public, "%s/broker.cert", env->dir);
    snprintf(cert, sizeof cert, "%s/private/worker.cert_secret", env->dir);
    snprintf(cap, sizeof cap, "%d", capacity);
    snprintf(instance, sizeof instance, "w%d", i);
    snprintf(env->worker_logs[i], sizeof env->worker_logs[i], "%s/worker%d.log", env->dir, i);
    const char *argv[32] = {
        "teilhabe-testworker", "--broker-endpoint", env->broker.backend,
        "--broker-cert-public", cert_public, "--cert", cert, "--heartbeat-ms", "250",
        "--capacity", cap, "--instance", instance, "--log-level", "debug",
    };
    size_t n = 15;
    for (size_t k = 0; extra != NULL && extra[k] != NULL && n < 30; k++)
        argv[n++] = extra[k];
    argv[n] = NULL;
    env->workers[i] =
        th_proc_start(TH_TEST_TESTWORKER_BIN, (char *const *) argv, env->worker_logs[i]);
    assert_non_null(env->workers[i]);
}

static th_client_t *
s_client_for(env_t *env, const char *principal, const char *endpoints, int attempt_timeout_ms)
{
    char cert[600], errbuf[256];
    snprintf(cert, sizeof cert, "%s/private/%s.cert_secret", env->dir, principal);
    th_client_config_t config = {
        .endpoints = endpoints != NULL ? endpoints : env->broker.frontend,
        .broker_public_key = env->broker_key,
        .client_cert_path = cert,
        .default_timeout_ms = 5000,
        .attempt_timeout_ms = attempt_timeout_ms,
    };
    th_client_t *client = th_client_new(&config, errbuf, sizeof errbuf);
    if (client == NULL)
        fail_msg("could not create a client: %s", errbuf);
    return client;
}

static th_client_t *
s_client(env_t *env)
{
    return s_client_for(env, "admin", NULL, 0);
}

/* Waits until the broker reports service as SERVING; fails the test after
 * timeout_ms. */
static void
s_wait_serving(th_client_t *client, const char *service, int timeout_ms)
{
    int64_t until = zclock_mono() + timeout_ms;
    while (zclock_mono() < until) {
        Teilhabe__Health__V1__HealthCheckRequest request =
            TEILHABE__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
        request.service = (char *) service;
        th_result_t result;
        assert_int_equal(th_client_call(client, "teilhabe.health.v1.Health/Check", &request.base,
                                        &teilhabe__health__v1__health_check_response__descriptor,
                                        1000, NULL, &result),
                         0);
        bool serving =
            result.code == TH_OK &&
            ((Teilhabe__Health__V1__HealthCheckResponse *) result.response)->status ==
                TEILHABE__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
        th_result_clear(&result);
        if (serving)
            return;
        zclock_sleep(50);
    }
    fail_msg("%s did not become SERVING within %d ms", service, timeout_ms);
}

static int
s_echo(th_client_t *client, const char *method, const char *text, uint32_t sleep_ms,
       int timeout_ms, const th_call_opts_t *opts, th_result_t *out)
{
    Teilhabe__Testing__V1__EchoRequest request = TEILHABE__TESTING__V1__ECHO_REQUEST__INIT;
    request.text = (char *) text;
    request.sleep_ms = sleep_ms;
    return th_client_call(client, method, &request.base,
                          &teilhabe__testing__v1__echo_response__descriptor, timeout_ms, opts,
                          out);
}

static const Teilhabe__Testing__V1__EchoResponse *
s_reply(const th_result_t *result)
{
    if (result->code != TH_OK)
        fail_msg("call failed: %s: %s", th_status_name(result->code), result->message);
    assert_non_null(result->response);
    return (const Teilhabe__Testing__V1__EchoResponse *) result->response;
}

/* Sends raw frames [sig | header | body] as client "admin" (or another
 * principal) over CURVE and returns the reply's ResponseHeader (caller
 * frees), or NULL when nothing came within timeout_ms. */
static th_response_header_t *
s_raw_call(env_t *env, const char *principal, const th_request_header_t *header,
           const void *body, size_t body_len, int timeout_ms)
{
    char cert_path[600];
    snprintf(cert_path, sizeof cert_path, "%s/private/%s.cert_secret", env->dir, principal);
    zcert_t *cert = zcert_load(cert_path);
    assert_non_null(cert);
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    assert_non_null(sock);
    zsock_set_linger(sock, 0);
    zcert_apply(cert, sock);
    zsock_set_curve_serverkey(sock, env->broker_key);
    assert_int_equal(zsock_connect(sock, "%s", env->broker.frontend), 0);
    zmsg_t *msg = zmsg_new();
    zmsg_addstr(msg, TH_WIRE_CLIENT_SIG);
    zframe_t *head = th_wire_pack(&header->base);
    zmsg_append(msg, &head);
    zmsg_addmem(msg, body, body_len);
    assert_int_equal(zmsg_send(&msg, sock), 0);
    th_response_header_t *reply = NULL;
    zpoller_t *poller = zpoller_new(sock, NULL);
    if (zpoller_wait(poller, timeout_ms) == sock) {
        zmsg_t *in = zmsg_recv(sock);
        if (in != NULL && zmsg_size(in) == 3) {
            ProtobufCMessage *unpacked = NULL;
            zmsg_first(in);
            if (th_wire_unpack(&teilhabe__rpc__v1__response_header__descriptor, zmsg_next(in),
                               TH_WIRE_HEADER_MAX, &unpacked) == 0)
                reply = (th_response_header_t *) unpacked;
        }
        zmsg_destroy(&in);
    }
    zpoller_destroy(&poller);
    zsock_destroy(&sock);
    zcert_destroy(&cert);
    return reply;
}

/* --- tests --------------------------------------------------------------- */

static void
test_round_trip(void **state)
{
    env_t *env = *state;
    s_start_worker(env, 0, 4, NULL);
    th_client_t *client = s_client(env);
    s_wait_serving(client, ECHO_SERVICE, 5000);

    Teilhabe__Testing__V1__EchoRequest request = TEILHABE__TESTING__V1__ECHO_REQUEST__INIT;
    request.text = "Grüße aus Erfurt";
    request.payload.data = (uint8_t *) "\x00\x01\x02";
    request.payload.len = 3;
    th_result_t result;
    assert_int_equal(th_client_call(client, ECHO, &request.base,
                                    &teilhabe__testing__v1__echo_response__descriptor, 3000, NULL,
                                    &result),
                     0);
    const Teilhabe__Testing__V1__EchoResponse *reply = s_reply(&result);
    assert_string_equal(reply->text, "Grüße aus Erfurt");
    assert_int_equal(reply->payload.len, 3);
    assert_memory_equal(reply->payload.data, "\x00\x01\x02", 3);
    assert_string_equal(reply->instance, "w0");
    assert_non_null(reply->principal);
    assert_string_equal(reply->principal->id, "admin");
    assert_string_equal(reply->principal->role, "admin");
    /* Echo is a read (testing.proto): the client library sends no key */
    assert_string_equal(reply->idempotency_key, "");
    /* the worker saw the remaining time, less than the timeout */
    assert_true(reply->timeout_ms > 0 && reply->timeout_ms <= 3000);
    assert_int_equal(result.attempts, 1);
    assert_string_equal(result.message, "");
    th_result_clear(&result);
    assert_null(result.response);
    th_result_clear(&result); /* twice is harmless */

    /* a status a handler chose travels back with message and violation */
    request.fail_code = TH_NOT_FOUND;
    assert_int_equal(th_client_call(client, ECHO, &request.base,
                                    &teilhabe__testing__v1__echo_response__descriptor, 3000, NULL,
                                    &result),
                     0);
    assert_int_equal(result.code, TH_NOT_FOUND);
    assert_null(result.response);
    assert_non_null(strstr(result.message, "NOT_FOUND"));
    assert_int_equal(result.n_violations, 1);
    assert_string_equal(result.violations[0].field, "fail_code");
    th_result_clear(&result);
    th_client_destroy(&client);
}

static void
test_calls_in_flight_out_of_order(void **state)
{
    env_t *env = *state;
    s_start_worker(env, 0, 4, NULL);
    th_client_t *client = s_client(env);
    s_wait_serving(client, ECHO_SERVICE, 5000);

    Teilhabe__Testing__V1__EchoRequest slow = TEILHABE__TESTING__V1__ECHO_REQUEST__INIT;
    slow.text = "slow";
    slow.sleep_ms = 1500;
    Teilhabe__Testing__V1__EchoRequest fast = TEILHABE__TESTING__V1__ECHO_REQUEST__INIT;
    fast.text = "fast";
    fast.sleep_ms = 10;
    Teilhabe__Testing__V1__EchoRequest medium = TEILHABE__TESTING__V1__ECHO_REQUEST__INIT;
    medium.text = "medium";
    medium.sleep_ms = 200;
    uint64_t id_slow, id_fast, id_medium;
    int64_t start = zclock_mono();
    assert_int_equal(th_client_send(client, SLEEP, &slow.base, 5000, NULL, &id_slow), 0);
    assert_int_equal(th_client_send(client, SLEEP, &medium.base, 5000, NULL, &id_medium), 0);
    assert_int_equal(th_client_send(client, SLEEP, &fast.base, 5000, NULL, &id_fast), 0);
    assert_true(id_slow != id_fast && id_fast != id_medium && id_slow != id_medium);

    th_result_t result;
    /* The fast call's reply comes long before the slow one's */
    assert_int_equal(
        th_client_wait(client, id_fast, &teilhabe__testing__v1__echo_response__descriptor,
                       &result),
        0);
    assert_string_equal(s_reply(&result)->text, "fast");
    th_result_clear(&result);
    assert_true(zclock_mono() - start < 1200);

    /* Waiting for the slow call files the medium reply meanwhile */
    assert_int_equal(
        th_client_wait(client, id_slow, &teilhabe__testing__v1__echo_response__descriptor,
                       &result),
        0);
    assert_string_equal(s_reply(&result)->text, "slow");
    th_result_clear(&result);
    int64_t before_medium = zclock_mono();
    assert_int_equal(
        th_client_wait(client, id_medium, &teilhabe__testing__v1__echo_response__descriptor,
                       &result),
        0);
    assert_string_equal(s_reply(&result)->text, "medium");
    th_result_clear(&result);
    assert_true(zclock_mono() - before_medium < 100); /* it was already there */

    /* A finished call cannot be waited for again */
    assert_int_equal(th_client_wait(client, id_medium,
                                    &teilhabe__testing__v1__echo_response__descriptor, &result),
                     TH_EINVAL);
    th_client_destroy(&client);
}

static void
test_unknown_method_unimplemented(void **state)
{
    env_t *env = *state;
    s_start_worker(env, 0, 2, NULL);
    th_client_t *client = s_client(env);
    s_wait_serving(client, ECHO_SERVICE, 5000);
    th_result_t result;
    assert_int_equal(s_echo(client, "teilhabe.testing.v1.Echo/Shout", "x", 0, 3000, NULL, &result),
                     0);
    assert_int_equal(result.code, TH_UNIMPLEMENTED);
    assert_null(result.response);
    assert_true(strlen(result.message) > 0);
    th_result_clear(&result);
    /* and the worker still serves */
    assert_int_equal(s_echo(client, ECHO, "still here", 0, 3000, NULL, &result), 0);
    assert_string_equal(s_reply(&result)->text, "still here");
    th_result_clear(&result);
    th_client_destroy(&client);
}

static void
test_bad_bodies_invalid_argument(void **state)
{
    env_t *env = *state;
    s_start_worker(env, 0, 2, NULL);
    th_client_t *client = s_client(env);
    s_wait_serving(client, ECHO_SERVICE, 5000);

    /* A string that is not UTF-8: protobuf-c packs it, the worker refuses
     * it and names the field */
    th_result_t result;
    assert_int_equal(s_echo(client, ECHO, "ok then \xff\xfe broken", 0, 3000, NULL, &result), 0);
    assert_int_equal(result.code, TH_INVALID_ARGUMENT);
    assert_int_equal(result.n_violations, 1);
    assert_string_equal(result.violations[0].field, "text");
    assert_non_null(strstr(result.message, "text"));
    th_result_clear(&result);

    /* Bytes that are no EchoRequest at all */
    th_request_header_t header = TEILHABE__RPC__V1__REQUEST_HEADER__INIT;
    header.call_id = 77;
    header.method = ECHO;
    header.timeout_ms = 3000;
    static const uint8_t garbage[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01};
    th_response_header_t *reply = s_raw_call(env, "admin", &header, garbage, sizeof garbage, 3000);
    assert_non_null(reply);
    assert_int_equal(reply->call_id, 77);
    assert_int_equal(reply->code, TH_INVALID_ARGUMENT);
    assert_non_null(strstr(reply->message, "EchoRequest"));
    protobuf_c_message_free_unpacked(&reply->base, NULL);

    /* The worker survived both */
    assert_int_equal(s_echo(client, ECHO, "fine", 0, 3000, NULL, &result), 0);
    assert_string_equal(s_reply(&result)->text, "fine");
    th_result_clear(&result);
    th_client_destroy(&client);
}

/* A header of exactly TH_WIRE_HEADER_MAX bytes passes the broker; with the
 * principal the broker writes in, it is larger when it reaches the worker,
 * which used to refuse it ("the request header could not be decoded").
 * Found by tests/fuzz/fuzz_frames.c (regressions/frames/). */
static void
test_header_at_limit_reaches_worker(void **state)
{
    env_t *env = *state;
    s_start_worker(env, 0, 2, NULL);
    th_client_t *client = s_client(env);
    s_wait_serving(client, ECHO_SERVICE, 5000);
    th_client_destroy(&client);

    static char value[TH_WIRE_METADATA_VALUE_MAX + 1];
    memset(value, 'v', TH_WIRE_METADATA_VALUE_MAX);
    char keys[TH_WIRE_METADATA_MAX][16];
    Teilhabe__Rpc__V1__MetadataEntry entries[TH_WIRE_METADATA_MAX];
    Teilhabe__Rpc__V1__MetadataEntry *list[TH_WIRE_METADATA_MAX];
    th_request_header_t header = TEILHABE__RPC__V1__REQUEST_HEADER__INIT;
    header.call_id = 78;
    header.method = ECHO;
    header.timeout_ms = 3000;
    header.metadata = list;
    size_t n = 0;
    while (protobuf_c_message_get_packed_size(&header.base) < TH_WIRE_HEADER_MAX) {
        assert_true(n < TH_WIRE_METADATA_MAX);
        teilhabe__rpc__v1__metadata_entry__init(&entries[n]);
        snprintf(keys[n], sizeof keys[n], "x-pad-%02zu", n);
        entries[n].key = keys[n];
        entries[n].value = value;
        list[n] = &entries[n];
        header.n_metadata = ++n;
    }
    /* Shorten the last value until the header is exactly at the limit */
    size_t len = TH_WIRE_METADATA_VALUE_MAX;
    while (protobuf_c_message_get_packed_size(&header.base) > TH_WIRE_HEADER_MAX)
        entries[n - 1].value = value + (TH_WIRE_METADATA_VALUE_MAX - --len);
    assert_int_equal(protobuf_c_message_get_packed_size(&header.base), TH_WIRE_HEADER_MAX);

    th_response_header_t *reply = s_raw_call(env, "admin", &header, "", 0, 3000);
    assert_non_null(reply);
    assert_int_equal(reply->call_id, 78);
    if (reply->code != TEILHABE__RPC__V1__STATUS_CODE__OK)
        fail_msg("a header of %d bytes: %s \"%s\"", TH_WIRE_HEADER_MAX,
                 th_status_name((int) reply->code), reply->message);
    protobuf_c_message_free_unpacked(&reply->base, NULL);
}

static void
test_oversized_resource_exhausted(void **state)
{
    env_t *env = *state;
    /* This worker's limit (4 KiB) is below the broker's (1 MiB), so the
     * worker's own check answers the 10 KB request */
    static const char *const small[] = {"--max-message-size", "4096", NULL};
    s_start_worker(env, 0, 2, small);
    th_client_t *client = s_client(env);
    s_wait_serving(client, ECHO_SERVICE, 5000);

    size_t size = 10000;
    uint8_t *payload = calloc(1, size);
    Teilhabe__Testing__V1__EchoRequest request = TEILHABE__TESTING__V1__ECHO_REQUEST__INIT;
    request.payload.data = payload;
    request.payload.len = size;
    th_result_t result;
    assert_int_equal(th_client_call(client, ECHO, &request.base,
                                    &teilhabe__testing__v1__echo_response__descriptor, 3000, NULL,
                                    &result),
                     0);
    assert_int_equal(result.code, TH_RESOURCE_EXHAUSTED);
    assert_non_null(strstr(result.message, "4096"));
    th_result_clear(&result);

    /* Above the broker's soft limit the broker answers itself */
    free(payload);
    size = 2 * 1024 * 1024;
    payload = calloc(1, size);
    request.payload.data = payload;
    request.payload.len = size;
    assert_int_equal(th_client_call(client, ECHO, &request.base,
                                    &teilhabe__testing__v1__echo_response__descriptor, 3000, NULL,
                                    &result),
                     0);
    assert_int_equal(result.code, TH_RESOURCE_EXHAUSTED);
    th_result_clear(&result);
    free(payload);

    /* A small call still goes through */
    assert_int_equal(s_echo(client, ECHO, "small", 0, 3000, NULL, &result), 0);
    assert_string_equal(s_reply(&result)->text, "small");
    th_result_clear(&result);
    th_client_destroy(&client);
}

static void
test_slow_worker_deadline_exceeded(void **state)
{
    env_t *env = *state;
    s_start_worker(env, 0, 2, NULL);
    th_client_t *client = s_client(env);
    s_wait_serving(client, ECHO_SERVICE, 5000);
    th_result_t result;
    int64_t start = zclock_mono();
    assert_int_equal(s_echo(client, SLEEP, "late", 2000, 500, NULL, &result), 0);
    int64_t elapsed = zclock_mono() - start;
    assert_int_equal(result.code, TH_DEADLINE_EXCEEDED);
    assert_null(result.response);
    assert_true(elapsed >= 450 && elapsed < 1800);
    /* The first attempt was sent with 3/4 of the budget; the one retry its
     * DEADLINE_EXCEEDED allows (same key) used the rest, and no more came */
    assert_int_equal(result.attempts, 2);
    th_result_clear(&result);

    /* no_retry: one attempt with the whole budget */
    th_call_opts_t once = {.no_retry = true};
    start = zclock_mono();
    assert_int_equal(s_echo(client, SLEEP, "late", 2000, 500, &once, &result), 0);
    elapsed = zclock_mono() - start;
    assert_int_equal(result.code, TH_DEADLINE_EXCEEDED);
    assert_int_equal(result.attempts, 1);
    assert_true(elapsed >= 450 && elapsed < 1800);
    th_result_clear(&result);
    th_client_destroy(&client);
}

/* Each handler thread is a connection of its own to the broker (capacity 1).
 * A thread inside a long handler cannot heartbeat; the worker's main thread
 * does it for it, so calls far longer than liveness x heartbeat (3 x 250 ms
 * here) end OK on both threads at once, and neither connection is dropped. */
static void
test_long_calls_keep_their_connections(void **state)
{
    env_t *env = *state;
    s_start_worker(env, 0, 2, NULL);
    th_client_t *client = s_client(env);
    s_wait_serving(client, ECHO_SERVICE, 5000);

    Teilhabe__Testing__V1__EchoRequest request = TEILHABE__TESTING__V1__ECHO_REQUEST__INIT;
    request.text = "long";
    request.sleep_ms = 2000;
    th_call_opts_t once = {.no_retry = true};
    uint64_t ids[2];
    int64_t start = zclock_mono();
    for (int i = 0; i < 2; i++)
        assert_int_equal(th_client_send(client, SLEEP, &request.base, 6000, &once, &ids[i]), 0);
    for (int i = 0; i < 2; i++) {
        th_result_t result;
        assert_int_equal(th_client_wait(client, ids[i],
                                        &teilhabe__testing__v1__echo_response__descriptor,
                                        &result),
                         0);
        assert_string_equal(s_reply(&result)->text, "long");
        th_result_clear(&result);
    }
    /* side by side, one per thread: not one after the other */
    int64_t elapsed = zclock_mono() - start;
    assert_true(elapsed >= 1950 && elapsed < 3500);

    /* The broker still counts both connections, each with capacity 1 */
    Teilhabe__Broker__V1__ListServicesRequest list =
        TEILHABE__BROKER__V1__LIST_SERVICES_REQUEST__INIT;
    th_result_t result;
    assert_int_equal(th_client_call(client, "teilhabe.broker.v1.Broker/ListServices", &list.base,
                                    &teilhabe__broker__v1__list_services_response__descriptor,
                                    3000, NULL, &result),
                     0);
    assert_int_equal(result.code, TH_OK);
    const Teilhabe__Broker__V1__ListServicesResponse *services =
        (const Teilhabe__Broker__V1__ListServicesResponse *) result.response;
    bool found = false;
    for (size_t i = 0; i < services->n_services; i++) {
        if (strcmp(services->services[i]->name, ECHO_SERVICE) != 0)
            continue;
        found = true;
        assert_int_equal(services->services[i]->workers, 2);
        assert_int_equal(services->services[i]->capacity, 2);
        assert_int_equal(services->services[i]->in_flight, 0);
    }
    assert_true(found);
    th_result_clear(&result);
    th_client_destroy(&client);
}

static void
test_worker_killed_mid_call(void **state)
{
    env_t *env = *state;
    s_start_worker(env, 0, 1, NULL);
    th_client_t *client = s_client(env);
    s_wait_serving(client, ECHO_SERVICE, 5000);

    Teilhabe__Testing__V1__EchoRequest request = TEILHABE__TESTING__V1__ECHO_REQUEST__INIT;
    request.text = "doomed";
    request.sleep_ms = 5000;
    th_call_opts_t once = {.no_retry = true};
    uint64_t id;
    assert_int_equal(th_client_send(client, SLEEP, &request.base, 8000, &once, &id), 0);
    zclock_sleep(300); /* the call is in the worker now */
    assert_int_equal(th_proc_signal(env->workers[0], SIGKILL), 0);
    int64_t killed = zclock_mono();
    th_result_t result;
    assert_int_equal(th_client_wait(client, id, &teilhabe__testing__v1__echo_response__descriptor,
                                    &result),
                     0);
    int64_t elapsed = zclock_mono() - killed;
    assert_int_equal(result.code, TH_UNAVAILABLE);
    /* heartbeat expiry is 3 x 250 ms; allow for the broker's timer */
    assert_true(elapsed < 2000);
    th_result_clear(&result);
    th_proc_stop(&env->workers[0], SIGKILL, 1000);

    /* A new worker takes over */
    s_start_worker(env, 1, 1, NULL);
    s_wait_serving(client, ECHO_SERVICE, 5000);
    assert_int_equal(s_echo(client, ECHO, "after", 0, 3000, NULL, &result), 0);
    assert_string_equal(s_reply(&result)->instance, "w1");
    th_result_clear(&result);
    th_client_destroy(&client);
}

static void
test_two_workers_share_load(void **state)
{
    env_t *env = *state;
    s_start_worker(env, 0, 1, NULL);
    s_start_worker(env, 1, 1, NULL);
    th_client_t *client = s_client(env);
    s_wait_serving(client, ECHO_SERVICE, 5000);
    /* until both have registered */
    int64_t until = zclock_mono() + 5000;
    bool seen[2] = {false, false};
    while (!(seen[0] && seen[1]) && zclock_mono() < until) {
        Teilhabe__Testing__V1__EchoRequest request = TEILHABE__TESTING__V1__ECHO_REQUEST__INIT;
        request.sleep_ms = 150;
        uint64_t ids[4];
        for (int i = 0; i < 4; i++)
            assert_int_equal(th_client_send(client, SLEEP, &request.base, 5000, NULL, &ids[i]),
                             0);
        for (int i = 0; i < 4; i++) {
            th_result_t result;
            assert_int_equal(th_client_wait(client, ids[i],
                                            &teilhabe__testing__v1__echo_response__descriptor,
                                            &result),
                             0);
            const char *instance = s_reply(&result)->instance;
            if (strcmp(instance, "w0") == 0)
                seen[0] = true;
            else if (strcmp(instance, "w1") == 0)
                seen[1] = true;
            else
                fail_msg("unexpected instance \"%s\"", instance);
            th_result_clear(&result);
        }
    }
    assert_true(seen[0]);
    assert_true(seen[1]);
    th_client_destroy(&client);
}

static void
test_failover_keeps_idempotency_key(void **state)
{
    env_t *env = *state;
    s_start_worker(env, 0, 2, NULL);
    th_client_t *direct = s_client(env);
    s_wait_serving(direct, ECHO_SERVICE, 5000);
    th_client_destroy(&direct);

    /* The first endpoint has no broker behind it */
    char endpoints[200];
    snprintf(endpoints, sizeof endpoints, "tcp://127.0.0.1:%d,%s", th_test_free_port(),
             env->broker.frontend);
    th_client_t *client = s_client_for(env, "admin", endpoints, 300);
    th_call_opts_t opts = {.idempotency_key = "key-fixed-42"};
    th_result_t result;
    assert_int_equal(s_echo(client, ECHO, "via the second", 0, 5000, &opts, &result), 0);
    const Teilhabe__Testing__V1__EchoResponse *reply = s_reply(&result);
    assert_string_equal(reply->text, "via the second");
    assert_string_equal(reply->idempotency_key, "key-fixed-42");
    assert_true(result.attempts >= 2);
    assert_string_equal(th_client_endpoint(client), env->broker.frontend);
    th_result_clear(&result);

    /* Stays on the working broker afterwards */
    assert_int_equal(s_echo(client, ECHO, "again", 0, 3000, NULL, &result), 0);
    assert_int_equal(result.attempts, 1);
    th_result_clear(&result);
    th_client_destroy(&client);
}

static void
test_no_broker_deadline_message(void **state)
{
    env_t *env = *state;
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", th_test_free_port());
    th_client_t *client = s_client_for(env, "admin", endpoint, 200);
    th_result_t result;
    int64_t start = zclock_mono();
    assert_int_equal(s_echo(client, ECHO, "anyone?", 0, 700, NULL, &result), 0);
    assert_int_equal(result.code, TH_DEADLINE_EXCEEDED);
    assert_non_null(strstr(result.message, endpoint));
    assert_non_null(strstr(result.message, "is it running?"));
    assert_true(result.attempts >= 2); /* it kept trying */
    assert_true(zclock_mono() - start < 1500);
    th_result_clear(&result);
    th_client_destroy(&client);
}

static void
test_unknown_key_unauthenticated(void **state)
{
    env_t *env = *state;
    /* A certificate the broker has never seen */
    char *other = th_test_tmpdir("th-rpc-stranger");
    assert_int_equal(th_test_keys_init(other), 0);
    assert_int_equal(th_test_keys_client(other, "stranger", "admin", "", ""), 0);
    char cert[600], errbuf[256];
    snprintf(cert, sizeof cert, "%s/private/stranger.cert_secret", other);
    th_client_config_t config = {
        .endpoints = env->broker.frontend,
        .broker_public_key = env->broker_key,
        .client_cert_path = cert,
    };
    th_client_t *client = th_client_new(&config, errbuf, sizeof errbuf);
    assert_non_null(client);
    th_result_t result;
    assert_int_equal(s_echo(client, ECHO, "let me in", 0, 2000, NULL, &result), 0);
    assert_int_equal(result.code, TH_UNAUTHENTICATED);
    assert_non_null(strstr(result.message, "refused"));
    assert_null(result.response);
    th_result_clear(&result);
    th_client_destroy(&client);
    th_test_rmtree(other);
    free(other);
}

/* Brokers need not know the same principals: a key the first broker of the
 * list refuses is tried on the next before the call gives up. */
static void
test_refused_key_tries_next_broker(void **state)
{
    env_t *env = *state;
    /* A second broker with the same broker key but its own principals:
     * only "roamer" (and no one the first broker knows) */
    char *other = th_test_tmpdir("th-rpc-second");
    assert_non_null(other);
    assert_int_equal(th_test_keys_init(other), 0);
    char path[600];
    snprintf(path, sizeof path, "%s/broker.cert_secret", env->dir);
    zcert_t *broker_cert = zcert_load(path);
    assert_non_null(broker_cert);
    snprintf(path, sizeof path, "%s/broker.cert", other);
    assert_int_equal(zcert_save(broker_cert, path), 0);
    zcert_destroy(&broker_cert);
    assert_int_equal(th_test_keys_client(other, "roamer", "analyst", "", ""), 0);
    assert_int_equal(th_test_keys_client(other, "nobody", "analyst", "", ""), 0);
    snprintf(path, sizeof path, "%s/public/nobody.cert", other);
    assert_int_equal(unlink(path), 0); /* known to neither broker */
    th_test_broker_opts_t opts = {.keys_dir = other, .heartbeat_ms = 250, .grace_ms = 500};
    if (th_test_broker_start(&opts, other, &env->broker2) != 0)
        fail_msg("could not start the second broker; see %s", env->broker2.log_path);

    char endpoints[160], cert[600], errbuf[256];
    snprintf(endpoints, sizeof endpoints, "%s,%s", env->broker.frontend,
             env->broker2.frontend);
    snprintf(cert, sizeof cert, "%s/private/roamer.cert_secret", other);
    th_client_config_t config = {
        .endpoints = endpoints,
        .broker_public_key = env->broker_key,
        .client_cert_path = cert,
    };
    th_client_t *client = th_client_new(&config, errbuf, sizeof errbuf);
    assert_non_null(client);
    Teilhabe__Health__V1__HealthCheckRequest check =
        TEILHABE__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    th_result_t result;
    assert_int_equal(th_client_call(client, "teilhabe.health.v1.Health/Check", &check.base,
                                    &teilhabe__health__v1__health_check_response__descriptor,
                                    3000, NULL, &result),
                     0);
    assert_int_equal(result.code, TH_OK);
    assert_non_null(result.response);
    assert_int_equal(result.attempts, 2); /* refused by the first, served by the second */
    assert_string_equal(th_client_endpoint(client), env->broker2.frontend);
    th_result_clear(&result);
    th_client_destroy(&client);

    /* A key no broker knows still ends in UNAUTHENTICATED, long before the
     * deadline */
    snprintf(cert, sizeof cert, "%s/private/nobody.cert_secret", other);
    client = th_client_new(&config, errbuf, sizeof errbuf);
    assert_non_null(client);
    int64_t start = zclock_mono();
    assert_int_equal(th_client_call(client, "teilhabe.health.v1.Health/Check", &check.base,
                                    &teilhabe__health__v1__health_check_response__descriptor,
                                    5000, NULL, &result),
                     0);
    assert_int_equal(result.code, TH_UNAUTHENTICATED);
    assert_non_null(strstr(result.message, "refused"));
    assert_true(zclock_mono() - start < 4000);
    th_result_clear(&result);
    th_client_destroy(&client);
    assert_true(th_proc_stop_clean(&env->broker2.proc, "the second broker", env->broker2.log_path));
    th_test_rmtree(other);
    free(other);
}

static void
test_broker_restart_worker_reregisters(void **state)
{
    env_t *env = *state;
    s_start_worker(env, 0, 2, NULL);
    th_client_t *client = s_client(env);
    s_wait_serving(client, ECHO_SERVICE, 5000);
    th_result_t result;
    assert_int_equal(s_echo(client, ECHO, "before", 0, 3000, NULL, &result), 0);
    th_result_clear(&result);

    int status = th_test_broker_stop(&env->broker);
    assert_true(status != -1);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    zclock_sleep(300);
    s_start_broker(env); /* same ports */

    /* The next call succeeds once the worker has registered again: the
     * client retries the UNAVAILABLE of the grace period itself */
    assert_int_equal(s_echo(client, ECHO, "after", 0, 8000, NULL, &result), 0);
    assert_string_equal(s_reply(&result)->text, "after");
    assert_string_equal(s_reply(&result)->instance, "w0");
    th_result_clear(&result);
    assert_true(th_proc_alive(env->workers[0]));
    th_client_destroy(&client);
}

static void
test_sigterm_finishes_call_in_flight(void **state)
{
    env_t *env = *state;
    s_start_worker(env, 0, 2, NULL);
    th_client_t *client = s_client(env);
    s_wait_serving(client, ECHO_SERVICE, 5000);
    Teilhabe__Testing__V1__EchoRequest request = TEILHABE__TESTING__V1__ECHO_REQUEST__INIT;
    request.text = "finish me";
    request.sleep_ms = 1000;
    uint64_t id;
    th_call_opts_t once = {.no_retry = true};
    assert_int_equal(th_client_send(client, SLEEP, &request.base, 5000, &once, &id), 0);
    zclock_sleep(300);
    assert_int_equal(th_proc_signal(env->workers[0], SIGTERM), 0);
    th_result_t result;
    assert_int_equal(th_client_wait(client, id, &teilhabe__testing__v1__echo_response__descriptor,
                                    &result),
                     0);
    assert_string_equal(s_reply(&result)->text, "finish me");
    th_result_clear(&result);
    int wstatus = th_proc_wait(env->workers[0], 5000);
    assert_true(wstatus != -1);
    assert_true(WIFEXITED(wstatus));
    assert_int_equal(WEXITSTATUS(wstatus), 0);
    th_proc_stop(&env->workers[0], SIGKILL, 100);
    th_client_destroy(&client);
}

static void
test_claimed_identity_ignored(void **state)
{
    env_t *env = *state;
    s_start_worker(env, 0, 2, NULL);
    th_client_t *client = s_client_for(env, "manager1", NULL, 0);
    s_wait_serving(client, ECHO_SERVICE, 5000);

    /* Metadata claiming to be someone else changes nothing */
    static const char *const metadata[] = {"teilhabe-principal", "admin", "teilhabe-role",
                                           "admin", "x-trace", "t-1", NULL};
    th_call_opts_t opts = {.metadata = metadata};
    th_result_t result;
    assert_int_equal(s_echo(client, ECHO, "who am i", 0, 3000, &opts, &result), 0);
    const Teilhabe__Testing__V1__EchoResponse *reply = s_reply(&result);
    assert_non_null(reply->principal);
    assert_string_equal(reply->principal->id, "manager1");
    assert_string_equal(reply->principal->role, "manager");
    assert_int_equal(reply->principal->n_district_scope, 1);
    assert_string_equal(reply->principal->district_scope[0], "16056");
    th_result_clear(&result);
    th_client_destroy(&client);

    /* A principal written into the header by a client is replaced */
    Teilhabe__Rpc__V1__Principal forged = TEILHABE__RPC__V1__PRINCIPAL__INIT;
    forged.id = "admin";
    forged.role = "admin";
    th_request_header_t header = TEILHABE__RPC__V1__REQUEST_HEADER__INIT;
    header.call_id = 5;
    header.method = ECHO;
    header.timeout_ms = 3000;
    header.principal = &forged;
    Teilhabe__Testing__V1__EchoRequest request = TEILHABE__TESTING__V1__ECHO_REQUEST__INIT;
    request.text = "forged";
    uint8_t body[64];
    size_t len = protobuf_c_message_pack(&request.base, body);
    char cert_path[600];
    snprintf(cert_path, sizeof cert_path, "%s/private/manager1.cert_secret", env->dir);
    zcert_t *cert = zcert_load(cert_path);
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    zsock_set_linger(sock, 0);
    zcert_apply(cert, sock);
    zsock_set_curve_serverkey(sock, env->broker_key);
    assert_int_equal(zsock_connect(sock, "%s", env->broker.frontend), 0);
    zmsg_t *msg = zmsg_new();
    zmsg_addstr(msg, TH_WIRE_CLIENT_SIG);
    zframe_t *head = th_wire_pack(&header.base);
    zmsg_append(msg, &head);
    zmsg_addmem(msg, body, len);
    assert_int_equal(zmsg_send(&msg, sock), 0);
    zpoller_t *poller = zpoller_new(sock, NULL);
    assert_true(zpoller_wait(poller, 3000) == sock);
    zmsg_t *in = zmsg_recv(sock);
    assert_non_null(in);
    assert_int_equal(zmsg_size(in), 3);
    zframe_t *sig = zmsg_first(in);
    assert_true(th_wire_is_sig(sig, TH_WIRE_CLIENT_SIG));
    ProtobufCMessage *unpacked = NULL;
    assert_int_equal(th_wire_unpack(&teilhabe__rpc__v1__response_header__descriptor,
                                    zmsg_next(in), TH_WIRE_HEADER_MAX, &unpacked),
                     0);
    assert_int_equal(((th_response_header_t *) unpacked)->code, TH_OK);
    protobuf_c_message_free_unpacked(unpacked, NULL);
    assert_int_equal(th_wire_unpack(&teilhabe__testing__v1__echo_response__descriptor,
                                    zmsg_next(in), TH_WIRE_SOFT_MAX_DEFAULT, &unpacked),
                     0);
    const Teilhabe__Testing__V1__EchoResponse *echoed =
        (const Teilhabe__Testing__V1__EchoResponse *) unpacked;
    assert_string_equal(echoed->text, "forged");
    assert_string_equal(echoed->principal->id, "manager1");
    assert_string_equal(echoed->principal->role, "manager");
    protobuf_c_message_free_unpacked(unpacked, NULL);
    zmsg_destroy(&in);
    zpoller_destroy(&poller);
    zsock_destroy(&sock);
    zcert_destroy(&cert);
}

/* --- an in-process worker with a service made here ------------------------ */

/* A service whose request type (RequestHeader) has nested and repeated
 * strings, to see the runtime's UTF-8 check name the exact field; and
 * methods that misbehave, to see the runtime catch them. Method names are
 * in sorted order, as protoc-c sorts them for method_indices_by_name. */
static const ProtobufCMethodDescriptor s_nested_methods[] = {
    {"BadStatus", &teilhabe__rpc__v1__request_header__descriptor,
     &teilhabe__testing__v1__echo_response__descriptor},
    {"Check", &teilhabe__rpc__v1__request_header__descriptor,
     &teilhabe__testing__v1__echo_response__descriptor},
    {"Missing", &teilhabe__rpc__v1__request_header__descriptor,
     &teilhabe__testing__v1__echo_response__descriptor},
    {"WrongType", &teilhabe__rpc__v1__request_header__descriptor,
     &teilhabe__testing__v1__echo_response__descriptor},
};
static const unsigned s_nested_index[] = {0, 1, 2, 3};
static const ProtobufCServiceDescriptor s_nested_service = {
    PROTOBUF_C__SERVICE_DESCRIPTOR_MAGIC,
    "teilhabe.rpctest.v1.Nested",
    "Nested",
    "Teilhabe__Rpctest__V1__Nested",
    "teilhabe.rpctest.v1",
    4,
    s_nested_methods,
    s_nested_index,
};

static int
s_nested_check(th_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **response)
{
    const th_request_header_t *header = (const th_request_header_t *) request;
    Teilhabe__Testing__V1__EchoResponse *reply = th_call_alloc(call, sizeof *reply);
    teilhabe__testing__v1__echo_response__init(reply);
    reply->text = th_call_printf(call, "%zu metadata, %s", header->n_metadata,
                                 th_call_metadata(call, "x-who") != NULL
                                     ? th_call_metadata(call, "x-who")
                                     : "nobody");
    reply->instance = th_call_strdup(call, "in-process");
    *response = &reply->base;
    return TH_OK;
}

static int
s_nested_bad_status(th_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **response)
{
    return 99;
}

static int
s_nested_wrong_type(th_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **response)
{
    Teilhabe__Health__V1__HealthCheckResponse *reply = th_call_alloc(call, sizeof *reply);
    teilhabe__health__v1__health_check_response__init(reply);
    *response = &reply->base;
    return TH_OK;
}

static void *
s_run_worker(void *arg)
{
    th_worker_run(arg);
    return NULL;
}

static void
test_runtime_checks_nested_strings_and_handlers(void **state)
{
    env_t *env = *state;
    char cert[600], errbuf[256];
    snprintf(cert, sizeof cert, "%s/private/worker.cert_secret", env->dir);
    th_worker_config_t config = {
        .broker_endpoint = env->broker.backend,
        .broker_public_key = env->broker_key,
        .cert_path = cert,
        .capacity = 1,
        .heartbeat_ms = 250,
    };
    th_worker_t *worker = th_worker_new(&config, errbuf, sizeof errbuf);
    assert_non_null(worker);
    static const th_method_fn handlers[] = {s_nested_bad_status, s_nested_check, NULL,
                                            s_nested_wrong_type};
    assert_int_equal(th_worker_add_service(worker, &s_nested_service, handlers, NULL), 0);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, s_run_worker, worker), 0);
    th_client_t *client = s_client(env);
    s_wait_serving(client, "teilhabe.rpctest.v1.Nested", 5000);

    Teilhabe__Rpc__V1__MetadataEntry entries[2];
    Teilhabe__Rpc__V1__MetadataEntry *entry_ptrs[2] = {&entries[0], &entries[1]};
    for (int i = 0; i < 2; i++)
        teilhabe__rpc__v1__metadata_entry__init(&entries[i]);
    entries[0].key = "a";
    entries[0].value = "fine";
    entries[1].key = "b";
    entries[1].value = "also fine";
    char *scope[] = {"16056", "16063"};
    Teilhabe__Rpc__V1__Principal principal = TEILHABE__RPC__V1__PRINCIPAL__INIT;
    principal.n_district_scope = 2;
    principal.district_scope = scope;
    th_request_header_t body = TEILHABE__RPC__V1__REQUEST_HEADER__INIT;
    body.method = "x.v1.Y/Z";
    body.n_metadata = 2;
    body.metadata = entry_ptrs;
    body.principal = &principal;
    static const char *const metadata[] = {"x-who", "tester", NULL};
    th_call_opts_t opts = {.metadata = metadata};

    th_result_t result;
    assert_int_equal(th_client_call(client, "teilhabe.rpctest.v1.Nested/Check", &body.base,
                                    &teilhabe__testing__v1__echo_response__descriptor, 3000,
                                    &opts, &result),
                     0);
    assert_string_equal(s_reply(&result)->text, "2 metadata, tester");
    th_result_clear(&result);

    /* a repeated nested string */
    entries[1].value = "bro\xc3ken";
    assert_int_equal(th_client_call(client, "teilhabe.rpctest.v1.Nested/Check", &body.base,
                                    &teilhabe__testing__v1__echo_response__descriptor, 3000,
                                    NULL, &result),
                     0);
    assert_int_equal(result.code, TH_INVALID_ARGUMENT);
    assert_int_equal(result.n_violations, 1);
    assert_string_equal(result.violations[0].field, "metadata[1].value");
    th_result_clear(&result);

    /* a repeated string inside a nested message */
    entries[1].value = "fine again";
    scope[1] = "\xed\xa0\x80"; /* a UTF-16 surrogate, not UTF-8 */
    assert_int_equal(th_client_call(client, "teilhabe.rpctest.v1.Nested/Check", &body.base,
                                    &teilhabe__testing__v1__echo_response__descriptor, 3000,
                                    NULL, &result),
                     0);
    assert_int_equal(result.code, TH_INVALID_ARGUMENT);
    assert_int_equal(result.n_violations, 1);
    assert_string_equal(result.violations[0].field, "principal.district_scope[1]");
    assert_non_null(strstr(result.message, "principal.district_scope[1]"));
    th_result_clear(&result);
    scope[1] = "16063";

    /* a method declared without a handler */
    assert_int_equal(th_client_call(client, "teilhabe.rpctest.v1.Nested/Missing", &body.base,
                                    &teilhabe__testing__v1__echo_response__descriptor, 3000,
                                    NULL, &result),
                     0);
    assert_int_equal(result.code, TH_UNIMPLEMENTED);
    th_result_clear(&result);

    /* handlers that break their contract are caught, never trusted */
    assert_int_equal(th_client_call(client, "teilhabe.rpctest.v1.Nested/WrongType", &body.base,
                                    &teilhabe__testing__v1__echo_response__descriptor, 3000,
                                    NULL, &result),
                     0);
    assert_int_equal(result.code, TH_INTERNAL);
    assert_null(result.response);
    th_result_clear(&result);
    assert_int_equal(th_client_call(client, "teilhabe.rpctest.v1.Nested/BadStatus", &body.base,
                                    &teilhabe__testing__v1__echo_response__descriptor, 3000,
                                    NULL, &result),
                     0);
    assert_int_equal(result.code, TH_INTERNAL);
    th_result_clear(&result);

    /* and it still serves */
    assert_int_equal(th_client_call(client, "teilhabe.rpctest.v1.Nested/Check", &body.base,
                                    &teilhabe__testing__v1__echo_response__descriptor, 3000,
                                    NULL, &result),
                     0);
    assert_string_equal(s_reply(&result)->text, "2 metadata, nobody");
    th_result_clear(&result);

    th_client_destroy(&client);
    th_worker_stop(worker);
    assert_int_equal(pthread_join(thread, NULL), 0);
    th_worker_destroy(&worker);
    th_worker_destroy(&worker); /* twice is harmless */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_calls_in_flight_out_of_order, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_method_unimplemented, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bad_bodies_invalid_argument, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_header_at_limit_reaches_worker, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_oversized_resource_exhausted, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_slow_worker_deadline_exceeded, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_long_calls_keep_their_connections, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_worker_killed_mid_call, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_two_workers_share_load, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_failover_keeps_idempotency_key, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_no_broker_deadline_message, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_key_unauthenticated, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_refused_key_tries_next_broker, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_broker_restart_worker_reregisters, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_sigterm_finishes_call_in_flight, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_claimed_identity_ignored, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_runtime_checks_nested_strings_and_handlers, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
