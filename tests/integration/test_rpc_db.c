/* ---------------------------------------------------------------------------
 * test_rpc_db.c: the worker runtime's write path against the real broker and
 * a real PostgreSQL: one transaction with audit row, outbox event and
 * idempotency record; replays; rollback on failure; the deadline as
 * statement_timeout; a service without a database
 *
 * The worker runs in this process (a thread running th_worker_run) with
 * handlers written here for the teilhabe.testing.v1.Echo service, so the
 * test can watch what the handlers did. Broker and database are real.
 * Needs TEILHABE_TEST_DB_URL (set by ./ops/test).
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "th_client.h"
#include "th_db.h"
#include "th_error.h"
#include "th_status.h"
#include "th_test.h"
#include "th_worker.h"

#include "test_broker_peers.h"

#include "teilhabe/v1/health.pb-c.h"
#include "teilhabe/v1/testing.pb-c.h"

#include <czmq.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define STORE "teilhabe.testing.v1.Store"
#define WRITE STORE "/Write"
#define SLEEP STORE "/Sleep"
#define SLEEP_WRITE STORE "/SleepWrite"

typedef struct {
    atomic_int executions;     /* write handler bodies that ran (not replays) */
    atomic_int first_remaining_ms; /* time left that the first execution saw */
    atomic_int replays;
    atomic_int last_db_status; /* of the Sleep handler's statement, -1 before */
} handler_state_t;

typedef struct {
    char *dir;
    char broker_key[41];
    th_test_broker_t broker;
    th_db_t *db;            /* the test's own connection, for checks */
    char suffix[32];        /* makes this run's rows unique */
    handler_state_t handlers;
    th_worker_t *worker;
    int64_t keep_ms;        /* the worker's idempotency_keep_ms (0 = its default) */
    pthread_t thread;
    bool running;
    int run_rc;
} env_t;

/* --- handlers ------------------------------------------------------------ */

static int
s_write(th_call_t *call, const ProtobufCMessage *message, ProtobufCMessage **response)
{
    const Teilhabe__Testing__V1__EchoRequest *request =
        (const Teilhabe__Testing__V1__EchoRequest *) message;
    handler_state_t *state = th_call_state(call);
    /* the runtime's write API, as every service uses it (th_call.h) */
    int rc = th_call_begin_write(call);
    if (rc == TH_CALL_REPLAY) {
        atomic_fetch_add(&state->replays, 1);
        return TH_OK;
    }
    if (rc != TH_OK)
        return rc;
    int n = atomic_fetch_add(&state->executions, 1) + 1;
    if (n == 1)
        atomic_store(&state->first_remaining_ms, (int) th_call_remaining_ms(call));
    /* sleep_ms: a write that takes its time inside its transaction */
    if (request->sleep_ms > 0)
        zclock_sleep((int) request->sleep_ms);
    Teilhabe__Testing__V1__EchoResponse *reply = th_call_alloc(call, sizeof *reply);
    teilhabe__testing__v1__echo_response__init(reply);
    reply->text = th_call_printf(call, "%s#%d", request->text, n);
    reply->idempotency_key = th_call_strdup(call, th_call_idempotency_key(call));
    const char *resource = th_call_printf(call, "echo/%s", request->text);
    if ((rc = th_call_record(call, resource, NULL, &reply->base, "echo.written", message)) !=
        TH_OK)
        return rc;
    if (request->fail_code > 0)
        return th_call_error(call, request->fail_code, "failing after the writes, as asked");
    *response = &reply->base;
    return TH_OK;
}

/* pg_sleep(sleep_ms) in the database, in a write transaction or not */
static int
s_db_sleep(th_call_t *call, const Teilhabe__Testing__V1__EchoRequest *request, bool write,
           ProtobufCMessage **response)
{
    handler_state_t *state = th_call_state(call);
    if (write)
        TH_CALL_BEGIN_WRITE(call);
    th_db_t *db = th_call_db(call);
    if (db == NULL)
        return th_call_error(call, TH_UNAVAILABLE, "no database");
    char ms[16];
    snprintf(ms, sizeof ms, "%u", request->sleep_ms);
    const char *const params[] = {ms};
    PGresult *res = th_db_exec(db, "SELECT pg_sleep($1::float8 / 1000)", 1, params);
    if (res == NULL) {
        atomic_store(&state->last_db_status, th_db_status(db));
        return th_call_error(call, th_db_status(db), "sleeping in the database failed");
    }
    PQclear(res);
    atomic_store(&state->last_db_status, TH_OK);
    Teilhabe__Testing__V1__EchoResponse *reply = th_call_alloc(call, sizeof *reply);
    teilhabe__testing__v1__echo_response__init(reply);
    reply->text = th_call_strdup(call, request->text);
    *response = &reply->base;
    return TH_OK;
}

static int
s_sleep(th_call_t *call, const ProtobufCMessage *message, ProtobufCMessage **response)
{
    return s_db_sleep(call, (const Teilhabe__Testing__V1__EchoRequest *) message, false,
                      response);
}

static int
s_sleep_write(th_call_t *call, const ProtobufCMessage *message, ProtobufCMessage **response)
{
    return s_db_sleep(call, (const Teilhabe__Testing__V1__EchoRequest *) message, true,
                      response);
}

/* --- fixture ------------------------------------------------------------- */

static void *
s_worker_thread(void *arg)
{
    env_t *env = arg;
    env->run_rc = th_worker_run(env->worker);
    return NULL;
}

/* Starts the in-process worker, with the database when db_url != NULL. */
static void
s_start_worker(env_t *env, const char *db_url)
{
    char cert[600], errbuf[512];
    snprintf(cert, sizeof cert, "%s/private/worker.cert_secret", env->dir);
    th_worker_config_t config = {
        .broker_endpoint = env->broker.backend,
        .broker_public_key = env->broker_key,
        .cert_path = cert,
        .db_url = db_url,
        .capacity = 2,
        .heartbeat_ms = 250,
        .instance = "in-process",
        .idempotency_keep_ms = env->keep_ms,
    };
    env->worker = th_worker_new(&config, errbuf, sizeof errbuf);
    if (env->worker == NULL)
        fail_msg("could not create the worker: %s", errbuf);
    static const th_method_fn handlers[] = {s_write, s_sleep, s_sleep_write};
    assert_int_equal(th_worker_add_service(env->worker, &teilhabe__testing__v1__store__descriptor,
                                           handlers, &env->handlers),
                     0);
    /* the same service twice is a programmer error */
    assert_int_equal(th_worker_add_service(env->worker, &teilhabe__testing__v1__store__descriptor,
                                           handlers, &env->handlers),
                     TH_EINVAL);
    assert_int_equal(pthread_create(&env->thread, NULL, s_worker_thread, env), 0);
    env->running = true;
}

static void
s_stop_worker(env_t *env)
{
    if (!env->running)
        return;
    th_worker_stop(env->worker);
    pthread_join(env->thread, NULL);
    env->running = false;
    assert_int_equal(env->run_rc, 0);
    th_worker_destroy(&env->worker);
}

static th_client_t *
s_client(env_t *env)
{
    char cert[600], errbuf[256];
    snprintf(cert, sizeof cert, "%s/private/admin.cert_secret", env->dir);
    th_client_config_t config = {
        .endpoints = env->broker.frontend,
        .broker_public_key = env->broker_key,
        .client_cert_path = cert,
    };
    th_client_t *client = th_client_new(&config, errbuf, sizeof errbuf);
    if (client == NULL)
        fail_msg("could not create a client: %s", errbuf);
    /* until the worker has registered */
    for (int i = 0; i < 100; i++) {
        Teilhabe__Health__V1__HealthCheckRequest request =
            TEILHABE__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
        request.service = STORE;
        th_result_t result;
        th_client_call(client, "teilhabe.health.v1.Health/Check", &request.base,
                       &teilhabe__health__v1__health_check_response__descriptor, 1000, NULL,
                       &result);
        bool serving = result.code == TH_OK &&
                       ((Teilhabe__Health__V1__HealthCheckResponse *) result.response)->status ==
                           TEILHABE__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
        th_result_clear(&result);
        if (serving)
            return client;
        zclock_sleep(50);
    }
    fail_msg("the in-process worker did not register");
    return NULL;
}

static int
s_setup(void **state)
{
    const char *url = th_test_require_db_url();
    env_t *env = calloc(1, sizeof *env);
    assert_non_null(env);
    atomic_init(&env->handlers.executions, 0);
    atomic_init(&env->handlers.replays, 0);
    atomic_init(&env->handlers.first_remaining_ms, -1);
    atomic_init(&env->handlers.last_db_status, -1);
    snprintf(env->suffix, sizeof env->suffix, "%d-%lld", (int) getpid(),
             (long long) zclock_mono());
    char errbuf[512];
    env->db = th_db_new(url, errbuf, sizeof errbuf);
    if (env->db == NULL)
        fail_msg("could not connect to TEILHABE_TEST_DB_URL: %s", errbuf);
    if (th_db_migrate(env->db, "common", TH_COMMON_MIGRATIONS_DIR, NULL, errbuf,
                      sizeof errbuf) != 0)
        fail_msg("could not apply the common migrations: %s", errbuf);
    static const char *const ddl[] = {
        "CREATE SCHEMA IF NOT EXISTS testing",
        "CREATE TABLE IF NOT EXISTS testing.events ("
        " sequence bigserial PRIMARY KEY, topic text NOT NULL,"
        " resource text NOT NULL, payload bytea NOT NULL,"
        " created_at timestamptz DEFAULT now())",
    };
    for (size_t i = 0; i < 2; i++) {
        PGresult *res = th_db_exec(env->db, ddl[i], 0, NULL);
        if (res == NULL)
            fail_msg("could not create testing.events: %s", th_db_error(env->db));
        PQclear(res);
    }

    env->dir = th_test_tmpdir("th-rpc-db");
    assert_int_equal(th_test_keys_init(env->dir), 0);
    assert_int_equal(th_test_keys_client(env->dir, "admin", "admin", "", ""), 0);
    assert_int_equal(th_test_keys_worker(env->dir, "worker", STORE), 0);
    assert_int_equal(th_test_keys_broker_public(env->dir, env->broker_key), 0);
    th_test_broker_opts_t opts = {.keys_dir = env->dir, .heartbeat_ms = 250, .grace_ms = 300};
    if (th_test_broker_start(&opts, env->dir, &env->broker) != 0)
        fail_msg("could not start the broker; see %s", env->broker.log_path);
    *state = env;
    return 0;
}

static int
s_teardown(void **state)
{
    env_t *env = *state;
    if (env->running) {
        th_worker_stop(env->worker);
        pthread_join(env->thread, NULL);
        th_worker_destroy(&env->worker);
    }
    /* The broker is expected healthy: SIGTERM, exit 0 */
    bool clean = th_proc_stop_clean(&env->broker.proc, "the broker", env->broker.log_path);
    th_db_destroy(&env->db);
    if (clean)
        th_test_rmtree(env->dir);
    free(env->dir);
    free(env);
    return clean ? 0 : -1;
}

/* Number of rows the query (one text parameter) counts. */
static long
s_count(env_t *env, const char *sql, const char *param)
{
    const char *const params[] = {param};
    PGresult *res = th_db_exec(env->db, sql, 1, params);
    if (res == NULL)
        fail_msg("count failed: %s", th_db_error(env->db));
    long n = PQntuples(res) == 1 ? strtol(PQgetvalue(res, 0, 0), NULL, 10) : -1;
    PQclear(res);
    return n;
}

static int
s_call(th_client_t *client, const char *method, const char *text, int32_t fail_code,
       uint32_t sleep_ms, int timeout_ms, const th_call_opts_t *opts, th_result_t *out)
{
    Teilhabe__Testing__V1__EchoRequest request = TEILHABE__TESTING__V1__ECHO_REQUEST__INIT;
    request.text = (char *) text;
    request.fail_code = fail_code;
    request.sleep_ms = sleep_ms;
    return th_client_call(client, method, &request.base,
                          &teilhabe__testing__v1__echo_response__descriptor, timeout_ms, opts,
                          out);
}

/* --- tests --------------------------------------------------------------- */

static void
test_write_commits_audit_outbox_idempotency(void **state)
{
    env_t *env = *state;
    s_start_worker(env, th_test_db_url());
    th_client_t *client = s_client(env);
    char text[64], resource[80], key[64];
    snprintf(text, sizeof text, "w-%s", env->suffix);
    snprintf(resource, sizeof resource, "echo/%s", text);
    snprintf(key, sizeof key, "key-%s", env->suffix);
    th_call_opts_t opts = {.idempotency_key = key};

    th_result_t result;
    assert_int_equal(s_call(client, WRITE, text, 0, 0, 5000, &opts, &result), 0);
    if (result.code != TH_OK)
        fail_msg("write failed: %s: %s", th_status_name(result.code), result.message);
    char expected[80];
    snprintf(expected, sizeof expected, "%s#1", text);
    const Teilhabe__Testing__V1__EchoResponse *reply =
        (const Teilhabe__Testing__V1__EchoResponse *) result.response;
    assert_string_equal(reply->text, expected);
    th_result_clear(&result);

    assert_int_equal(s_count(env,
                             "SELECT count(*) FROM audit.log WHERE resource = $1 AND"
                             " principal_id = 'admin' AND principal_role = 'admin' AND"
                             " method = 'teilhabe.testing.v1.Store/Write' AND before IS NULL AND"
                             " after->>'text' = substr($1, 6) || '#1' AND"
                             " after->>'idempotency_key' LIKE 'key-%'",
                             resource),
                     1);
    assert_int_equal(
        s_count(env,
                "SELECT count(*) FROM testing.events WHERE resource = $1 AND"
                " topic = 'echo.written'",
                resource),
        1);
    assert_int_equal(s_count(env,
                             "SELECT count(*) FROM audit.idempotency WHERE key = $1 AND"
                             " principal_id = 'admin'",
                             key),
                     1);

    /* The same key and request again: the first reply, nothing written */
    assert_int_equal(s_call(client, WRITE, text, 0, 0, 5000, &opts, &result), 0);
    assert_int_equal(result.code, TH_OK);
    reply = (const Teilhabe__Testing__V1__EchoResponse *) result.response;
    assert_string_equal(reply->text, expected);
    assert_string_equal(reply->idempotency_key, key);
    th_result_clear(&result);
    assert_int_equal(atomic_load(&env->handlers.executions), 1);
    assert_int_equal(atomic_load(&env->handlers.replays), 1);
    assert_int_equal(
        s_count(env, "SELECT count(*) FROM audit.log WHERE resource = $1", resource), 1);
    assert_int_equal(
        s_count(env, "SELECT count(*) FROM testing.events WHERE resource = $1", resource), 1);

    /* The same key for a different request is refused */
    assert_int_equal(s_call(client, WRITE, "something else", 0, 0, 5000, &opts, &result), 0);
    assert_int_equal(result.code, TH_INVALID_ARGUMENT);
    assert_int_equal(result.n_violations, 1);
    assert_string_equal(result.violations[0].field, "idempotency_key");
    th_result_clear(&result);
    assert_int_equal(atomic_load(&env->handlers.executions), 1);

    th_client_destroy(&client);
    s_stop_worker(env);
}

/* A write whose first attempt commits after that attempt's deadline but
 * inside the call's budget (issue 6, 11): the broker answers the attempt
 * DEADLINE_EXCEEDED while the handler is still at work; the client library
 * sends the call again with the same idempotency key; the retry waits on
 * the key's lock until the first attempt commits and then returns its
 * reply. The write is made once. */
static void
test_write_committed_after_its_deadline_is_retried(void **state)
{
    env_t *env = *state;
    s_start_worker(env, th_test_db_url());
    th_client_t *client = s_client(env);
    char text[64], resource[80], key[64], expected[80];
    snprintf(text, sizeof text, "late-%s", env->suffix);
    snprintf(resource, sizeof resource, "echo/%s", text);
    snprintf(key, sizeof key, "late-key-%s", env->suffix);
    snprintf(expected, sizeof expected, "%s#1", text);
    th_call_opts_t opts = {.idempotency_key = key};

    /* Budget 4 s: the first attempt is sent with 3 s (1 s kept back), the
     * handler commits after 3.3 s */
    th_result_t result;
    int64_t start = zclock_mono();
    assert_int_equal(s_call(client, WRITE, text, 0, 3300, 4000, &opts, &result), 0);
    int64_t took = zclock_mono() - start;
    if (result.code != TH_OK)
        fail_msg("the write ended %s: %s", th_status_name(result.code), result.message);
    assert_string_equal(((const Teilhabe__Testing__V1__EchoResponse *) result.response)->text,
                        expected);
    assert_int_equal(result.attempts, 2);
    assert_string_equal(result.idempotency_key, key);
    th_result_clear(&result);
    assert_true(took >= 3300 && took < 4100);
    int first = atomic_load(&env->handlers.first_remaining_ms);
    printf("# first attempt saw %d ms of a 4000 ms budget; done after %lld ms\n", first,
           (long long) took);
    assert_true(first > 2500 && first <= 3000);

    /* Once: one execution, one replay, one audit row, event and key */
    assert_int_equal(atomic_load(&env->handlers.executions), 1);
    assert_int_equal(atomic_load(&env->handlers.replays), 1);
    assert_int_equal(
        s_count(env, "SELECT count(*) FROM audit.log WHERE resource = $1", resource), 1);
    assert_int_equal(
        s_count(env, "SELECT count(*) FROM testing.events WHERE resource = $1", resource), 1);
    assert_int_equal(s_count(env, "SELECT count(*) FROM audit.idempotency WHERE key = $1", key),
                     1);
    th_client_destroy(&client);
    s_stop_worker(env);
}

static void
test_failure_rolls_everything_back(void **state)
{
    env_t *env = *state;
    s_start_worker(env, th_test_db_url());
    th_client_t *client = s_client(env);
    char text[64], resource[80], key[64];
    snprintf(text, sizeof text, "f-%s", env->suffix);
    snprintf(resource, sizeof resource, "echo/%s", text);
    snprintf(key, sizeof key, "fkey-%s", env->suffix);
    th_call_opts_t opts = {.idempotency_key = key};
    th_result_t result;
    assert_int_equal(s_call(client, WRITE, text, TH_ABORTED, 0, 5000, &opts, &result), 0);
    assert_int_equal(result.code, TH_ABORTED);
    th_result_clear(&result);
    assert_int_equal(atomic_load(&env->handlers.executions), 1); /* it did write */
    assert_int_equal(
        s_count(env, "SELECT count(*) FROM audit.log WHERE resource = $1", resource), 0);
    assert_int_equal(
        s_count(env, "SELECT count(*) FROM testing.events WHERE resource = $1", resource), 0);
    assert_int_equal(s_count(env, "SELECT count(*) FROM audit.idempotency WHERE key = $1", key),
                     0);
    /* A failed write's reply is not stored: the same request with the same
     * key runs again (and fails again), it is not answered from a record */
    assert_int_equal(s_call(client, WRITE, text, TH_ABORTED, 0, 5000, &opts, &result), 0);
    assert_int_equal(result.code, TH_ABORTED);
    th_result_clear(&result);
    assert_int_equal(atomic_load(&env->handlers.executions), 2);
    assert_int_equal(atomic_load(&env->handlers.replays), 0);
    /* The key was not used up: the corrected request may use it */
    assert_int_equal(s_call(client, WRITE, text, 0, 0, 5000, &opts, &result), 0);
    assert_int_equal(result.code, TH_OK);
    th_result_clear(&result);
    assert_int_equal(
        s_count(env, "SELECT count(*) FROM audit.log WHERE resource = $1", resource), 1);
    th_client_destroy(&client);
    s_stop_worker(env);
}

/* A write that comes without an idempotency key is refused before its
 * handler runs (INVALID_ARGUMENT naming the key: its retry could write
 * twice); a read's key is ignored. Raw frames: the client library always
 * sends a key with a write. */
static void
test_write_without_key_refused(void **state)
{
    env_t *env = *state;
    s_start_worker(env, th_test_db_url());
    th_client_t *client = s_client(env); /* waits until the worker serves */
    th_client_destroy(&client);
    zsock_t *raw = peer_connect(env->broker.frontend, env->dir, "admin", NULL);
    assert_non_null(raw);
    Teilhabe__Testing__V1__EchoRequest request = TEILHABE__TESTING__V1__ECHO_REQUEST__INIT;
    request.text = "keyless";
    peer_reply_t reply;
    for (uint64_t id = 1; id <= 2; id++) {
        /* no key, and an empty one: the same */
        assert_int_equal(client_send(raw, id, WRITE, 5000, &request.base, NULL, 0, NULL,
                                     id == 1 ? NULL : ""),
                         0);
        client_recv(raw, 5000, &reply);
        assert_true(reply.well_formed);
        assert_int_equal(reply.code, TH_INVALID_ARGUMENT);
        assert_non_null(strstr(reply.message, "needs an idempotency key"));
        reply_clear(&reply);
    }
    assert_int_equal(atomic_load(&env->handlers.executions), 0);

    /* A read with a key: answered, and nothing stored under the key */
    char key[64];
    snprintf(key, sizeof key, "read-%s", env->suffix);
    assert_int_equal(client_send(raw, 3, SLEEP, 5000, &request.base, NULL, 0, NULL, key), 0);
    client_recv(raw, 5000, &reply);
    assert_int_equal(reply.code, TH_OK);
    reply_clear(&reply);
    assert_int_equal(s_count(env, "SELECT count(*) FROM audit.idempotency WHERE key = $1", key),
                     0);
    zsock_destroy(&raw);
    s_stop_worker(env);
}

/* Inserts a key of method, made age_s seconds ago. */
static void
s_old_key(env_t *env, const char *key, const char *method, int age_s)
{
    char age[16];
    snprintf(age, sizeof age, "%d", age_s);
    const char *const params[] = {key, method, age};
    PGresult *res = th_db_exec(env->db,
                               "INSERT INTO audit.idempotency (principal_id, key, method,"
                               " request_hash, reply, created_at) VALUES ('admin', $1, $2, 'h',"
                               " '', now() - $3::int * interval '1 second')",
                               3, params);
    if (res == NULL)
        fail_msg("could not insert a key: %s", th_db_error(env->db));
    PQclear(res);
}

/* The service prunes its own keys once they are older than its keep time
 * (here an hour), soon after it starts: not younger ones, not those of
 * another service's methods. */
static void
test_keys_pruned_by_the_service(void **state)
{
    env_t *env = *state;
    char old_key[64], young_key[64], other_key[64];
    snprintf(old_key, sizeof old_key, "old-%s", env->suffix);
    snprintf(young_key, sizeof young_key, "young-%s", env->suffix);
    snprintf(other_key, sizeof other_key, "other-%s", env->suffix);
    s_old_key(env, old_key, WRITE, 2 * 3600);
    s_old_key(env, young_key, WRITE, 1800);
    s_old_key(env, other_key, "teilhabe.registry.v1.Registry/SetConcept", 2 * 3600);
    env->keep_ms = 3600 * 1000;
    s_start_worker(env, th_test_db_url());
    const char *count = "SELECT count(*) FROM audit.idempotency WHERE key = $1";
    for (int i = 0; i < 100 && s_count(env, count, old_key) != 0; i++)
        zclock_sleep(50);
    assert_int_equal(s_count(env, count, old_key), 0);
    assert_int_equal(s_count(env, count, young_key), 1);
    assert_int_equal(s_count(env, count, other_key), 1);
    s_stop_worker(env);
    const char *const params[] = {other_key};
    PGresult *res = th_db_exec(env->db, "DELETE FROM audit.idempotency WHERE key = $1", 1, params);
    PQclear(res);
}

static void
test_deadline_becomes_statement_timeout(void **state)
{
    env_t *env = *state;
    s_start_worker(env, th_test_db_url());
    th_client_t *client = s_client(env);
    th_result_t result;
    /* quick enough: commits */
    assert_int_equal(s_call(client, SLEEP_WRITE, "short", 0, 10, 5000, NULL, &result), 0);
    assert_int_equal(result.code, TH_OK);
    th_result_clear(&result);
    assert_int_equal(atomic_load(&env->handlers.last_db_status), TH_OK);

    /* 5 s of pg_sleep under a 600 ms deadline: PostgreSQL cancels it */
    th_call_opts_t once = {.no_retry = true};
    assert_int_equal(s_call(client, SLEEP_WRITE, "long", 0, 5000, 600, &once, &result), 0);
    assert_int_equal(result.code, TH_DEADLINE_EXCEEDED);
    th_result_clear(&result);
    int64_t until = zclock_mono() + 3000;
    while (atomic_load(&env->handlers.last_db_status) == TH_OK && zclock_mono() < until)
        zclock_sleep(20);
    assert_int_equal(atomic_load(&env->handlers.last_db_status), TH_DEADLINE_EXCEEDED);
    th_client_destroy(&client);
    s_stop_worker(env);
}

/* A read outside a transaction gets the deadline too, as the session's
 * statement_timeout: PostgreSQL cancels the statement, the worker's thread is
 * free again, and a following quick read on the same connection works. */
static void
test_deadline_reaches_plain_reads(void **state)
{
    env_t *env = *state;
    s_start_worker(env, th_test_db_url());
    th_client_t *client = s_client(env);
    th_result_t result;
    th_call_opts_t once = {.no_retry = true};
    assert_int_equal(s_call(client, SLEEP, "read-long", 0, 5000, 600, &once, &result), 0);
    assert_int_equal(result.code, TH_DEADLINE_EXCEEDED);
    th_result_clear(&result);
    int64_t until = zclock_mono() + 3000;
    while (atomic_load(&env->handlers.last_db_status) == TH_OK && zclock_mono() < until)
        zclock_sleep(20);
    assert_int_equal(atomic_load(&env->handlers.last_db_status), TH_DEADLINE_EXCEEDED);
    for (int i = 0; i < 8; i++) { /* every handler thread, whichever one slept */
        assert_int_equal(s_call(client, SLEEP, "read-short", 0, 1, 5000, NULL, &result), 0);
        assert_int_equal(result.code, TH_OK);
        th_result_clear(&result);
    }
    th_client_destroy(&client);
    s_stop_worker(env);
}

static void
test_without_database_unavailable(void **state)
{
    env_t *env = *state;
    s_start_worker(env, NULL);
    th_client_t *client = s_client(env);
    th_call_opts_t once = {.no_retry = true};
    th_result_t result;
    assert_int_equal(s_call(client, WRITE, "no db", 0, 0, 3000, &once, &result), 0);
    assert_int_equal(result.code, TH_UNAVAILABLE);
    assert_string_equal(result.message, "this service runs without a database");
    th_result_clear(&result);
    assert_int_equal(atomic_load(&env->handlers.executions), 0);
    th_client_destroy(&client);
    s_stop_worker(env);
}

static void
test_database_down_unavailable(void **state)
{
    env_t *env = *state;
    /* Nothing listens there: the service starts anyway and answers writes
     * with UNAVAILABLE until the database is back */
    char url[128];
    snprintf(url, sizeof url, "host=127.0.0.1 port=%d user=teilhabe dbname=teilhabe",
             th_test_free_port());
    s_start_worker(env, url);
    th_client_t *client = s_client(env);
    th_call_opts_t once = {.no_retry = true};
    th_result_t result;
    assert_int_equal(s_call(client, WRITE, "db down", 0, 0, 3000, &once, &result), 0);
    assert_int_equal(result.code, TH_UNAVAILABLE);
    assert_non_null(strstr(result.message, "database"));
    th_result_clear(&result);
    assert_int_equal(atomic_load(&env->handlers.executions), 0);
    th_client_destroy(&client);
    s_stop_worker(env);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_commits_audit_outbox_idempotency, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_write_committed_after_its_deadline_is_retried,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_failure_rolls_everything_back, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_write_without_key_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_keys_pruned_by_the_service, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_deadline_becomes_statement_timeout, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_deadline_reaches_plain_reads, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_without_database_unavailable, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_database_down_unavailable, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
