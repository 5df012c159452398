/* ---------------------------------------------------------------------------
 * bench_rpc.c: round trips through the broker next to a raw libzmq echo.
 *
 * Measures, in one run and on loopback:
 *   raw      a DEALER -> ROUTER echo in one hop, frames identical in size to
 *            a Health/Check request (the baseline);
 *   health   teilhabe.health.v1.Health/Check answered by the broker itself
 *            (client -> broker -> client);
 *   echo     teilhabe.testing.v1.Echo/Echo answered by a teilhabe-testworker
 *            (client -> broker -> worker -> broker -> client: two hops).
 * Each sequentially with one client and with 8 concurrent clients (threads),
 * reporting calls/s, p50 and p99 latency, each line next to the raw echo
 * with as many clients, measured in the same run, and the ratio
 * (bench_table.h). CURVE is on for all three unless --plain is given, so
 * the comparison is like for like. Goals (issue 7): echo via a worker >= 45%
 * of raw with 1 and with 8 clients, p99 < 1 ms with 1 client; the verdict
 * lines say met or NOT met, nothing fails on a miss.
 *
 * Then fairness (issue 6): a victim client's sequential Echo latency alone,
 * and again while another principal floods the same worker (its own key,
 * 64 calls always outstanding, ignoring every RESOURCE_EXHAUSTED): p50 and
 * p99 of both and their ratio. With fair queueing the victim waits for a
 * turn, not for the flooder's whole queue.
 *
 * Usage: bench_rpc [--calls N] [--plain] [--echo-only]
 * (--echo-only runs just the sequential echo line, for a profiler.)
 * ---------------------------------------------------------------------------
 */
#include <czmq.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_table.h"
#include "teilhabe/v1/health.pb-c.h"
#include "teilhabe/v1/testing.pb-c.h"
#include "th_client.h"
#include "th_status.h"
#include "th_test.h"
#include "th_wire.h"

#define TH_BENCH_THREADS 8
#define TH_BENCH_FLOOD_WINDOW 64 /* calls the flooder keeps outstanding */

typedef bench_line_t bench_result_t;

typedef struct {
    /* what to run */
    int kind; /* 0 raw, 1 health, 2 echo */
    int calls;
    const char *endpoint;
    const char *broker_public;
    const char *client_cert;
    /* raw only */
    zframe_t *const *frames;
    /* results */
    int64_t *latencies_us;
    int failures;
} bench_job_t;

static int
s_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return (x > y) - (x < y);
}

/* The raw baseline's server: a ROUTER echoing every message back. */
static void
s_echo_actor(zsock_t *pipe, void *args)
{
    const char *const *cfg = args; /* endpoint, secret cert path or NULL */
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    zcert_t *cert = cfg[1] != NULL ? zcert_load(cfg[1]) : NULL;
    if (cert != NULL) {
        zcert_apply(cert, router);
        zsock_set_curve_server(router, 1);
    }
    zsock_bind(router, "%s", cfg[0]);
    zsock_signal(pipe, 0);
    zpoller_t *poller = zpoller_new(pipe, router, NULL);
    while (true) {
        void *which = zpoller_wait(poller, -1);
        if (which == pipe || which == NULL)
            break;
        zmsg_t *msg = zmsg_recv(router);
        if (msg != NULL)
            zmsg_send(&msg, router);
    }
    zpoller_destroy(&poller);
    zcert_destroy(&cert);
    zsock_destroy(&router);
}

static void *
s_run_job(void *arg)
{
    bench_job_t *job = arg;
    if (job->kind == 0) {
        zsock_t *dealer = zsock_new(ZMQ_DEALER);
        zcert_t *cert = job->client_cert != NULL ? zcert_load(job->client_cert) : NULL;
        if (cert != NULL) {
            zcert_apply(cert, dealer);
            zsock_set_curve_serverkey(dealer, job->broker_public);
        }
        zsock_connect(dealer, "%s", job->endpoint);
        for (int i = 0; i < job->calls; i++) {
            int64_t start = zclock_usecs();
            zmsg_t *msg = zmsg_new();
            for (int f = 0; f < 3; f++)
                zmsg_append(msg, &(zframe_t *){zframe_dup(job->frames[f])});
            zmsg_send(&msg, dealer);
            zmsg_t *reply = zmsg_recv(dealer);
            if (reply == NULL)
                job->failures++;
            zmsg_destroy(&reply);
            job->latencies_us[i] = zclock_usecs() - start;
        }
        zcert_destroy(&cert);
        zsock_destroy(&dealer);
        return NULL;
    }
    th_client_config_t config = {
        .endpoints = job->endpoint,
        .broker_public_key = job->broker_public,
        .client_cert_path = job->client_cert,
        .default_timeout_ms = 5000,
    };
    char err[256];
    th_client_t *client = th_client_new(&config, err, sizeof err);
    if (client == NULL) {
        fprintf(stderr, "bench: could not create client: %s\n", err);
        job->failures = job->calls;
        return NULL;
    }
    Teilhabe__Health__V1__HealthCheckRequest health =
        TEILHABE__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    Teilhabe__Testing__V1__EchoRequest echo = TEILHABE__TESTING__V1__ECHO_REQUEST__INIT;
    echo.text = "bench";
    for (int i = 0; i < job->calls; i++) {
        th_result_t result = {0};
        int64_t start = zclock_usecs();
        int rc;
        if (job->kind == 1)
            rc = th_client_call(client, "teilhabe.health.v1.Health/Check", &health.base,
                                &teilhabe__health__v1__health_check_response__descriptor,
                                5000, NULL, &result);
        else
            rc = th_client_call(client, "teilhabe.testing.v1.Echo/Echo", &echo.base,
                                &teilhabe__testing__v1__echo_response__descriptor, 5000,
                                NULL, &result);
        job->latencies_us[i] = zclock_usecs() - start;
        if (rc != 0 || result.code != TH_OK)
            job->failures++;
        th_result_clear(&result);
    }
    th_client_destroy(&client);
    return NULL;
}

/* The flooder: a raw DEALER with its own key keeping TH_BENCH_FLOOD_WINDOW
 * Echo calls outstanding until told to stop, whatever the answers. */
typedef struct {
    const char *endpoint;
    const char *broker_public;
    const char *cert; /* NULL = plain */
    atomic_bool stop;
    long ok;
    long exhausted;
} bench_flood_t;

static void *
s_flood(void *arg)
{
    bench_flood_t *flood = arg;
    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    zcert_t *cert = flood->cert != NULL ? zcert_load(flood->cert) : NULL;
    if (dealer == NULL || (flood->cert != NULL && cert == NULL)) {
        zcert_destroy(&cert);
        zsock_destroy(&dealer);
        return NULL;
    }
    if (cert != NULL) {
        zcert_apply(cert, dealer);
        zsock_set_curve_serverkey(dealer, flood->broker_public);
    }
    zsock_set_linger(dealer, 0);
    zsock_connect(dealer, "%s", flood->endpoint);
    Teilhabe__Testing__V1__EchoRequest echo = TEILHABE__TESTING__V1__ECHO_REQUEST__INIT;
    echo.text = "flood";
    zframe_t *body = th_wire_pack(&echo.base);
    th_request_header_t header = TEILHABE__RPC__V1__REQUEST_HEADER__INIT;
    header.method = "teilhabe.testing.v1.Echo/Echo";
    header.timeout_ms = 5000;
    int outstanding = 0;
    while (!atomic_load(&flood->stop)) {
        while (outstanding < TH_BENCH_FLOOD_WINDOW) {
            header.call_id++;
            zmsg_t *msg = zmsg_new();
            zmsg_addstr(msg, TH_WIRE_CLIENT_SIG);
            zframe_t *head = th_wire_pack(&header.base);
            zmsg_append(msg, &head);
            zmsg_addmem(msg, zframe_data(body), zframe_size(body));
            if (zmsg_send(&msg, dealer) != 0) {
                zmsg_destroy(&msg);
                break;
            }
            outstanding++;
        }
        zmq_pollitem_t item = {zsock_resolve(dealer), 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 10) <= 0)
            continue;
        zmsg_t *reply;
        while ((zsock_events(dealer) & ZMQ_POLLIN) && (reply = zmsg_recv(dealer)) != NULL) {
            outstanding--;
            zmsg_first(reply);
            ProtobufCMessage *unpacked = NULL;
            if (th_wire_unpack(&teilhabe__rpc__v1__response_header__descriptor,
                               zmsg_next(reply), 65536, &unpacked) == 0) {
                int code = ((th_response_header_t *) unpacked)->code;
                flood->ok += code == TH_OK;
                flood->exhausted += code == TH_RESOURCE_EXHAUSTED;
                protobuf_c_message_free_unpacked(unpacked, NULL);
            }
            zmsg_destroy(&reply);
        }
    }
    zframe_destroy(&body);
    zcert_destroy(&cert);
    zsock_destroy(&dealer);
    return NULL;
}

/* Runs `threads` jobs of kind concurrently, `calls` calls in all. */
static bench_result_t
s_measure(const char *name, int kind, int threads, int calls, const bench_job_t *tmpl)
{
    bench_job_t jobs[TH_BENCH_THREADS];
    pthread_t tids[TH_BENCH_THREADS];
    int per = calls / threads;
    int64_t *all = calloc((size_t) per * (size_t) threads, sizeof *all);
    int64_t start = zclock_usecs();
    for (int t = 0; t < threads; t++) {
        jobs[t] = *tmpl;
        jobs[t].kind = kind;
        jobs[t].calls = per;
        jobs[t].latencies_us = all + (size_t) t * (size_t) per;
        jobs[t].failures = 0;
        pthread_create(&tids[t], NULL, s_run_job, &jobs[t]);
    }
    bench_result_t result = {.name = name};
    for (int t = 0; t < threads; t++) {
        pthread_join(tids[t], NULL);
        result.failures += jobs[t].failures;
    }
    int64_t elapsed = zclock_usecs() - start;
    size_t n = (size_t) per * (size_t) threads;
    qsort(all, n, sizeof *all, s_cmp_i64);
    result.calls_per_s = elapsed > 0 ? (double) n * 1e6 / (double) elapsed : 0;
    result.p50_us = (double) all[n / 2];
    result.p99_us = (double) all[(n * 99) / 100];
    free(all);
    return result;
}

/* One line judging a path against issue 7's goal. */
static void
s_verdict(const char *path, const bench_result_t *r, const bench_result_t *raw, bool p99)
{
    const double ratio = bench_ratio(r, raw);
    printf("goal, %s: >= 45%% of raw %s (%.1f%%)", path, ratio >= 0.45 ? "met" : "NOT met",
           100 * ratio);
    if (p99)
        printf("; p99 < 1 ms %s (%.1f us)", r->p99_us < 1000 ? "met" : "NOT met", r->p99_us);
    printf("\n");
}

int
main(int argc, char **argv)
{
    int calls = 20000;
    bool plain = false;
    bool echo_only = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--calls") == 0 && i + 1 < argc)
            calls = atoi(argv[++i]);
        else if (strcmp(argv[i], "--plain") == 0)
            plain = true;
        else if (strcmp(argv[i], "--echo-only") == 0)
            echo_only = true;
        else {
            fprintf(stderr, "usage: bench_rpc [--calls N] [--plain] [--echo-only]\n");
            return 2;
        }
    }
    if (calls < TH_BENCH_THREADS * 10)
        calls = TH_BENCH_THREADS * 10;
    zsys_init();
    zsys_set_logstream(NULL);

    int rc = 1;
    char *dir = th_test_tmpdir("th-bench");
    th_test_broker_t broker = {0};
    th_proc_t *worker = NULL;
    zactor_t *echo = NULL;
    char broker_public[41] = "";
    char client_cert[1024], worker_cert[1024], broker_secret[1024], flood_cert[1024];
    snprintf(client_cert, sizeof client_cert, "%s/private/bench.cert_secret", dir);
    snprintf(flood_cert, sizeof flood_cert, "%s/private/flooder.cert_secret", dir);
    snprintf(worker_cert, sizeof worker_cert, "%s/private/worker.cert_secret", dir);
    snprintf(broker_secret, sizeof broker_secret, "%s/broker.cert_secret", dir);
    if (th_test_keys_init(dir) != 0 ||
        th_test_keys_client(dir, "bench", "analyst", "", "") != 0 ||
        th_test_keys_client(dir, "flooder", "analyst", "", "") != 0 ||
        th_test_keys_worker(dir, "worker", "teilhabe.testing.v1.Echo") != 0 ||
        th_test_keys_broker_public(dir, broker_public) != 0) {
        fprintf(stderr, "bench: could not create certificates in %s\n", dir);
        goto cleanup;
    }
    th_test_broker_opts_t opts = {.keys_dir = plain ? NULL : dir,
                                  .heartbeat_ms = 1000,
                                  .grace_ms = 2000,
                                  .extra_args =
                                      (const char *const[]){"--log-level", "warn", NULL}};
    if (th_test_broker_start(&opts, dir, &broker) != 0) {
        fprintf(stderr, "bench: the broker did not start; see %s\n", broker.log_path);
        goto cleanup;
    }
    char worker_log[1024];
    snprintf(worker_log, sizeof worker_log, "%s/worker.log", dir);
    if (plain)
        worker = th_proc_start(TH_TEST_TESTWORKER_BIN,
                               (char *const[]){"teilhabe-testworker", "--broker-endpoint",
                                               broker.backend, "--insecure", "true",
                                               "--log-level", "warn", NULL},
                               worker_log);
    else
        worker = th_proc_start(TH_TEST_TESTWORKER_BIN,
                               (char *const[]){"teilhabe-testworker", "--broker-endpoint",
                                               broker.backend, "--broker-public-key",
                                               broker_public, "--cert", worker_cert,
                                               "--log-level", "warn", NULL},
                               worker_log);

    /* the raw baseline: same frame sizes as a Health/Check request */
    int raw_port = th_test_free_port();
    char raw_endpoint[64];
    snprintf(raw_endpoint, sizeof raw_endpoint, "tcp://127.0.0.1:%d", raw_port);
    const char *echo_cfg[2] = {raw_endpoint, plain ? NULL : broker_secret};
    echo = zactor_new(s_echo_actor, (void *) echo_cfg);

    th_request_header_t header = TEILHABE__RPC__V1__REQUEST_HEADER__INIT;
    header.call_id = 123456;
    header.method = "teilhabe.health.v1.Health/Check";
    header.timeout_ms = 5000;
    header.idempotency_key = "01234567-89ab-cdef-0123-456789abcdef";
    zframe_t *frames[3] = {zframe_new(TH_WIRE_CLIENT_SIG, TH_WIRE_SIG_LEN),
                           th_wire_pack(&header.base), zframe_new_empty()};

    bench_job_t tmpl = {.endpoint = broker.frontend,
                        .broker_public = plain ? NULL : broker_public,
                        .client_cert = plain ? NULL : client_cert,
                        .frames = frames};
    /* wait until the test worker has registered */
    bench_job_t warm = tmpl;
    int64_t warm_lat[50];
    warm.kind = 2;
    warm.calls = 50;
    warm.latencies_us = warm_lat;
    for (int tries = 0; tries < 50; tries++) {
        warm.failures = 0;
        s_run_job(&warm);
        if (warm.failures == 0)
            break;
        zclock_sleep(100);
    }
    if (warm.failures != 0) {
        fprintf(stderr, "bench: the test worker did not answer; see %s\n", worker_log);
        goto cleanup_frames;
    }

    printf("bench_rpc: %d calls per line, loopback, %s\n", calls,
           plain ? "no CURVE" : "CURVE on every socket");
    bench_job_t raw_tmpl = tmpl;
    raw_tmpl.endpoint = raw_endpoint;
    if (echo_only) {
        bench_result_t only = s_measure("echo via worker, 1 client", 2, 1, calls, &tmpl);
        bench_table_line(&only, NULL);
        rc = only.failures > 0;
        goto cleanup_frames;
    }
    bench_result_t raw1 = s_measure("raw echo, 1 client", 0, 1, calls, &raw_tmpl);
    bench_result_t health1 = s_measure("health via broker, 1 client", 1, 1, calls, &tmpl);
    bench_result_t echo1 = s_measure("echo via worker, 1 client", 2, 1, calls, &tmpl);
    bench_result_t raw8 =
        s_measure("raw echo, 8 clients", 0, TH_BENCH_THREADS, calls, &raw_tmpl);
    bench_result_t health8 =
        s_measure("health via broker, 8 clients", 1, TH_BENCH_THREADS, calls, &tmpl);
    bench_result_t echo8 =
        s_measure("echo via worker, 8 clients", 2, TH_BENCH_THREADS, calls, &tmpl);
    bench_table_head();
    bench_table_line(&health1, &raw1);
    bench_table_line(&echo1, &raw1);
    bench_table_line(&health8, &raw8);
    bench_table_line(&echo8, &raw8);
    /* Issue 7's goal: round trips through a worker (two hops) >= 45% of the
     * raw one-hop echo with 1 and with 8 clients, p99 < 1 ms with 1 client.
     * Health is answered by the broker itself (one hop). */
    s_verdict("health, 1 client (broker-answered, one hop)", &health1, &raw1, true);
    s_verdict("echo, 1 client (two hops through a worker)", &echo1, &raw1, true);
    s_verdict("echo, 8 clients (two hops through a worker)", &echo8, &raw8, false);

    /* Fairness: the victim alone, then next to a flooding principal. */
    int victim_calls = calls / 4 > 1000 ? calls / 4 : 1000;
    bench_result_t alone = s_measure("victim alone", 2, 1, victim_calls, &tmpl);
    bench_flood_t flood = {.endpoint = broker.frontend,
                           .broker_public = plain ? NULL : broker_public,
                           .cert = plain ? NULL : flood_cert};
    atomic_init(&flood.stop, false);
    pthread_t flooder;
    pthread_create(&flooder, NULL, s_flood, &flood);
    zclock_sleep(300); /* until the flood has filled the queue */
    bench_result_t flooded = s_measure("victim with a flooder", 2, 1, victim_calls, &tmpl);
    atomic_store(&flood.stop, true);
    pthread_join(flooder, NULL);
    printf("fairness, victim alone:        p50 %7.1f us  p99 %7.1f us%s\n", alone.p50_us,
           alone.p99_us, alone.failures > 0 ? "  (FAILURES)" : "");
    printf("fairness, victim with flooder: p50 %7.1f us  p99 %7.1f us%s  (flooder: %ld "
           "served, %ld told RESOURCE_EXHAUSTED)\n",
           flooded.p50_us, flooded.p99_us, flooded.failures > 0 ? "  (FAILURES)" : "",
           flood.ok, flood.exhausted);
    printf("fairness, ratio with/alone:    p50 %.2fx  p99 %.2fx\n",
           alone.p50_us > 0 ? flooded.p50_us / alone.p50_us : 0,
           alone.p99_us > 0 ? flooded.p99_us / alone.p99_us : 0);
    rc = (raw1.failures + health1.failures + echo1.failures + raw8.failures +
          health8.failures + echo8.failures + alone.failures + flooded.failures) > 0;

cleanup_frames:
    for (int f = 0; f < 3; f++)
        zframe_destroy(&frames[f]);
cleanup:
    zactor_destroy(&echo);
    th_proc_stop(&worker, SIGTERM, 5000);
    if (broker.proc != NULL)
        th_test_broker_stop(&broker);
    th_test_rmtree(dir);
    free(dir);
    return rc;
}
