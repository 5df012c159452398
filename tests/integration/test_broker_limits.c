/* ---------------------------------------------------------------------------
 * test_broker_limits.c: the broker's tables stay bounded
 *
 * Issue 6, failure 5: a service announced once kept whole-network Health
 * NOT_SERVING until the broker restarted, and 300 READYs grew ListServices
 * to 19,208 services in one 6.9 MB reply. Each test starts its own broker
 * (the limits under test are its flags): services without workers are
 * forgotten after service_forget_ms, max_services and
 * max_methods_per_service refuse a READY that would go beyond them, the
 * methods listed are those of live workers, ListServices comes in pages
 * bounded in count and bytes, and `teilhabe services` fetches every page.
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_broker_peers.h"

#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define HEALTH_SERVING TEILHABE__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
#define HEALTH_NOT_SERVING                                                                 \
    TEILHABE__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING
#define HEALTH_UNKNOWN                                                                     \
    TEILHABE__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN

#define GONE "teilhabe.gone.v1.Gone"
#define METHODS "teilhabe.methods.v1.M"
#define PAGE_SERVICES 64 /* per worker key in the paging tests */

typedef struct {
    char *dir;
    th_test_broker_t broker;
} fixture_t;

/* "teilhabe.<group>.v1.S<first>,..." for count services. */
static void
s_names(char *out, size_t size, const char *group, int first, int count)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = first; i < first + count && used < size; i++)
        used += (size_t) snprintf(out + used, size - used, "%steilhabe.%s.v1.S%03d",
                                  i > first ? "," : "", group, i);
}

static int
s_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fx->dir = th_test_tmpdir("th-broker-limits");
    assert_non_null(fx->dir);
    assert_int_equal(th_test_keys_init(fx->dir), 0);
    assert_int_equal(th_test_keys_client(fx->dir, "admin", "admin", "", ""), 0);
    char names[4096], services[4200];
    s_names(names, sizeof names, "limits", 0, 12);
    snprintf(services, sizeof services, "%s,%s,%s", GONE, METHODS, names);
    assert_int_equal(th_test_keys_worker(fx->dir, "wa", services), 0);
    assert_int_equal(th_test_keys_worker(fx->dir, "wb", services), 0);
    s_names(names, sizeof names, "page", 0, PAGE_SERVICES);
    assert_int_equal(th_test_keys_worker(fx->dir, "page1", names), 0);
    s_names(names, sizeof names, "page", PAGE_SERVICES, PAGE_SERVICES);
    assert_int_equal(th_test_keys_worker(fx->dir, "page2", names), 0);
    *state = fx;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *fx = *state;
    bool clean = th_proc_stop_clean(&fx->broker.proc, "the broker", fx->broker.log_path);
    if (clean && getenv("TH_TEST_KEEP") == NULL)
        th_test_rmtree(fx->dir);
    free(fx->dir);
    free(fx);
    return clean ? 0 : -1;
}

/* Starts this test's broker with extra flags (NULL-terminated pairs). */
static void
s_start(fixture_t *fx, const char *const *extra)
{
    th_test_broker_opts_t opts = {.keys_dir = fx->dir, .extra_args = extra};
    if (th_test_broker_start(&opts, fx->dir, &fx->broker) != 0)
        fail_msg("could not start the broker; see %s", fx->broker.log_path);
}

static zsock_t *
s_client(fixture_t *fx)
{
    zsock_t *client = peer_connect(fx->broker.frontend, fx->dir, "admin", NULL);
    assert_non_null(client);
    return client;
}

/* Registers a worker and waits for the broker's verdict: true when it was
 * accepted (no DISCONNECT within 300 ms). */
static bool
s_worker(fixture_t *fx, peer_worker_t *worker, const char *key, const char *services,
         const char *methods)
{
    assert_int_equal(
        worker_start(worker, fx->broker.backend, fx->dir, key, services, methods, 1), 0);
    worker_idle(worker, 300);
    return worker->disconnects == 0;
}

/* One ListServices page: the response (free it) and the reply code. */
static Teilhabe__Broker__V1__ListServicesResponse *
s_list(zsock_t *client, uint64_t call_id, int32_t page_size, const char *token, int *code,
       char *message, size_t message_size)
{
    Teilhabe__Broker__V1__ListServicesRequest request =
        TEILHABE__BROKER__V1__LIST_SERVICES_REQUEST__INIT;
    request.page_size = page_size;
    request.page_token = (char *) token;
    assert_int_equal(client_send(client, call_id, "teilhabe.broker.v1.Broker/ListServices",
                                 2000, &request.base, NULL, 0, NULL, NULL),
                     0);
    peer_reply_t reply;
    client_recv(client, 2000, &reply);
    assert_true(reply.well_formed);
    assert_int_equal(reply.call_id, call_id);
    *code = reply.code;
    if (message != NULL)
        snprintf(message, message_size, "%s", reply.message);
    ProtobufCMessage *unpacked = NULL;
    if (reply.code == TH_OK)
        assert_int_equal(
            th_wire_unpack(&teilhabe__broker__v1__list_services_response__descriptor,
                           reply.body, 1 << 24, &unpacked),
            0);
    reply_clear(&reply);
    return (Teilhabe__Broker__V1__ListServicesResponse *) unpacked;
}

static void
s_list_free(Teilhabe__Broker__V1__ListServicesResponse **list_p)
{
    if (*list_p != NULL)
        protobuf_c_message_free_unpacked(&(*list_p)->base, NULL);
    *list_p = NULL;
}

/* The ServiceInfo of name in list, or NULL. */
static const Teilhabe__Broker__V1__ServiceInfo *
s_find(const Teilhabe__Broker__V1__ListServicesResponse *list, const char *name)
{
    for (size_t i = 0; i < list->n_services; i++)
        if (strcmp(list->services[i]->name, name) == 0)
            return list->services[i];
    return NULL;
}

/* --- forgetting --------------------------------------------------------- */

/* A service whose last worker left counts as down (NOT_SERVING, also for
 * the whole network) for service_forget_ms, then it is forgotten: the
 * network is SERVING again and the name SERVICE_UNKNOWN, until a worker
 * registers it anew. */
static void
test_service_forgotten_after_grace(void **state)
{
    fixture_t *fx = *state;
    static const char *const extra[] = {"--service-forget-ms", "1000", NULL};
    s_start(fx, extra);
    zsock_t *client = s_client(fx);
    peer_worker_t worker;
    assert_true(s_worker(fx, &worker, "wa", GONE, "Echo"));
    assert_int_equal(client_health(client, 1, "", 2000), HEALTH_SERVING);
    worker_stop(&worker, true);
    zclock_sleep(100);
    assert_int_equal(client_health(client, 2, GONE, 2000), HEALTH_NOT_SERVING);
    assert_int_equal(client_health(client, 3, "", 2000), HEALTH_NOT_SERVING);

    int status = -1;
    int64_t until = zclock_mono() + 4000;
    for (uint64_t id = 10; zclock_mono() < until && status != HEALTH_SERVING; id++) {
        status = client_health(client, id, "", 2000);
        if (status != HEALTH_SERVING)
            zclock_sleep(100);
    }
    assert_int_equal(status, HEALTH_SERVING);
    assert_int_equal(client_health(client, 100, GONE, 2000), HEALTH_UNKNOWN);
    int code = -1;
    Teilhabe__Broker__V1__ListServicesResponse *list =
        s_list(client, 101, 0, "", &code, NULL, 0);
    assert_int_equal(code, TH_OK);
    assert_null(s_find(list, GONE));
    s_list_free(&list);
    assert_true(th_test_count_in_file(fx->broker.log_path, "service forgotten") >= 1);

    /* Forgotten is not banned: a worker registers it again. */
    assert_true(s_worker(fx, &worker, "wa", GONE, "Echo"));
    assert_int_equal(client_health(client, 102, GONE, 2000), HEALTH_SERVING);
    worker_stop(&worker, true);
    zsock_destroy(&client);
}

/* --- limits of the tables -------------------------------------------------- */

/* max_services is 3: a READY that would register a fourth is refused; one
 * naming services already registered is not, even without live workers. */
static void
test_max_services(void **state)
{
    fixture_t *fx = *state;
    static const char *const extra[] = {"--max-services", "3", NULL};
    s_start(fx, extra);
    zsock_t *client = s_client(fx);
    peer_worker_t a, b, c;
    assert_true(
        s_worker(fx, &a, "wa", "teilhabe.limits.v1.S000,teilhabe.limits.v1.S001", "Do"));
    assert_true(
        s_worker(fx, &b, "wb", "teilhabe.limits.v1.S001,teilhabe.limits.v1.S002", "Do"));
    assert_false(s_worker(fx, &c, "wb", "teilhabe.limits.v1.S003", "Do"));
    worker_stop(&c, false);
    assert_int_equal(client_health(client, 1, "teilhabe.limits.v1.S003", 2000),
                     HEALTH_UNKNOWN);
    /* S000 loses its worker but stays registered (not yet forgotten), so
     * it still counts; a worker for it is welcome. */
    worker_stop(&a, true);
    assert_false(s_worker(fx, &c, "wa", "teilhabe.limits.v1.S004", "Do"));
    worker_stop(&c, false);
    assert_true(s_worker(fx, &c, "wa", "teilhabe.limits.v1.S000", "Do"));
    assert_int_equal(client_health(client, 2, "teilhabe.limits.v1.S000", 2000),
                     HEALTH_SERVING);
    assert_true(
        th_test_count_in_file(fx->broker.log_path, "more services than max_services") >= 1);
    worker_stop(&b, true);
    worker_stop(&c, true);
    zsock_destroy(&client);
}

/* max_methods_per_service is 4: no READY may give one service more methods
 * than that, alone or together with the other live workers' methods. */
static void
test_max_methods_per_service(void **state)
{
    fixture_t *fx = *state;
    static const char *const extra[] = {"--max-methods-per-service", "4", NULL};
    s_start(fx, extra);
    peer_worker_t a, b;
    assert_false(s_worker(fx, &a, "wa", METHODS, "A,B,C,D,E"));
    worker_stop(&a, false);
    assert_true(s_worker(fx, &a, "wa", METHODS, "A,B,C,D"));
    assert_false(s_worker(fx, &b, "wb", METHODS, "A,E"));
    worker_stop(&b, false);
    assert_true(s_worker(fx, &b, "wb", METHODS, "A,B"));
    assert_true(th_test_count_in_file(fx->broker.log_path,
                                      "more methods than max_methods_per_service") >= 1);
    worker_stop(&a, true);
    worker_stop(&b, true);
}

/* The methods of a service are those its live workers announce: when the
 * only worker with Sleep leaves, Sleep is no longer listed and is
 * UNIMPLEMENTED at once, while Echo still reaches the other worker. */
static void
test_methods_follow_live_workers(void **state)
{
    fixture_t *fx = *state;
    s_start(fx, NULL);
    zsock_t *client = s_client(fx);
    peer_worker_t a, b;
    assert_true(s_worker(fx, &a, "wa", METHODS, "Echo,Sleep"));
    assert_true(s_worker(fx, &b, "wb", METHODS, "Echo"));
    int code = -1;
    Teilhabe__Broker__V1__ListServicesResponse *list =
        s_list(client, 1, 0, "", &code, NULL, 0);
    const Teilhabe__Broker__V1__ServiceInfo *info = s_find(list, METHODS);
    assert_non_null(info);
    assert_int_equal(info->n_methods, 2);
    s_list_free(&list);
    worker_stop(&a, true);
    zclock_sleep(100);
    list = s_list(client, 2, 0, "", &code, NULL, 0);
    info = s_find(list, METHODS);
    assert_non_null(info);
    assert_int_equal(info->workers, 1);
    assert_int_equal(info->n_methods, 1);
    assert_string_equal(info->methods[0], "Echo");
    s_list_free(&list);

    Teilhabe__Testing__V1__EchoRequest request = TEILHABE__TESTING__V1__ECHO_REQUEST__INIT;
    assert_int_equal(
        client_send(client, 3, METHODS "/Sleep", 3000, &request.base, NULL, 0, NULL, NULL),
        0);
    peer_reply_t reply;
    client_recv(client, 1000, &reply);
    assert_int_equal(reply.call_id, 3);
    assert_int_equal(reply.code, TH_UNIMPLEMENTED);
    reply_clear(&reply);
    assert_int_equal(
        client_send(client, 4, METHODS "/Echo", 3000, &request.base, NULL, 0, NULL, NULL),
        0);
    peer_request_t got;
    assert_true(worker_recv_request(&b, 2000, &got));
    assert_int_equal(worker_echo(&b, &got, "b"), 0);
    request_clear(&got);
    client_recv(client, 2000, &reply);
    assert_int_equal(reply.code, TH_OK);
    reply_clear(&reply);
    worker_stop(&b, true);
    zsock_destroy(&client);
}

/* --- ListServices in pages -------------------------------------------------- */

/* Twelve services, five to a page: 5 + 5 + 2 in name order, each token
 * leading to the next page and the last page without one; bad page sizes
 * and tokens are INVALID_ARGUMENT. */
static void
test_list_services_pages(void **state)
{
    fixture_t *fx = *state;
    s_start(fx, NULL);
    zsock_t *client = s_client(fx);
    char names[4096];
    peer_worker_t a, b;
    s_names(names, sizeof names, "limits", 0, 6);
    assert_true(s_worker(fx, &a, "wa", names, "Do"));
    s_names(names, sizeof names, "limits", 6, 6);
    assert_true(s_worker(fx, &b, "wb", names, "Do"));

    static const size_t expect[] = {5, 5, 2};
    char token[300] = "";
    char last[300] = "";
    int code = -1;
    for (size_t page = 0; page < 3; page++) {
        Teilhabe__Broker__V1__ListServicesResponse *list =
            s_list(client, 10 + page, 5, token, &code, NULL, 0);
        assert_int_equal(code, TH_OK);
        assert_int_equal(list->n_services, expect[page]);
        for (size_t i = 0; i < list->n_services; i++) {
            assert_true(strcmp(list->services[i]->name, last) > 0);
            snprintf(last, sizeof last, "%s", list->services[i]->name);
        }
        if (page < 2)
            assert_string_not_equal(list->next_page_token, "");
        else
            assert_string_equal(list->next_page_token, "");
        snprintf(token, sizeof token, "%s", list->next_page_token);
        s_list_free(&list);
    }
    assert_string_equal(last, "teilhabe.limits.v1.S011");
    /* The default page takes them all. */
    Teilhabe__Broker__V1__ListServicesResponse *list =
        s_list(client, 20, 0, "", &code, NULL, 0);
    assert_int_equal(code, TH_OK);
    assert_int_equal(list->n_services, 12);
    assert_string_equal(list->next_page_token, "");
    s_list_free(&list);

    char message[512];
    list = s_list(client, 21, -1, "", &code, message, sizeof message);
    assert_int_equal(code, TH_INVALID_ARGUMENT);
    assert_non_null(strstr(message, "page_size"));
    list = s_list(client, 22, 501, "", &code, message, sizeof message);
    assert_int_equal(code, TH_INVALID_ARGUMENT);
    assert_non_null(strstr(message, "page_size"));
    list = s_list(client, 23, 5, "not a token!", &code, message, sizeof message);
    assert_int_equal(code, TH_INVALID_ARGUMENT);
    assert_non_null(strstr(message, "page_token"));
    worker_stop(&a, true);
    worker_stop(&b, true);
    zsock_destroy(&client);
}

/* Runs the CLI with args (NULL-terminated) and its config; stdout into a
 * string the caller frees. The exit status, or -1. */
static int
s_run_cli(fixture_t *fx, const char *config, const char *const *args, char **out)
{
    char out_path[700];
    snprintf(out_path, sizeof out_path, "%s/cli.out", fx->dir);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (freopen(out_path, "w", stdout) == NULL)
            _exit(127);
        setenv("TEILHABE_CONFIG", config, 1);
        const char *argv[16] = {"teilhabe"};
        size_t n = 1;
        for (size_t i = 0; args[i] != NULL && n < 15; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        execv(TH_TEST_CLI_BIN, (char *const *) argv);
        _exit(127);
    }
    int status = 0;
    int64_t until = zclock_mono() + 20000;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (zclock_mono() > until) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            fail_msg("the CLI did not finish within 20 s");
        }
        zclock_sleep(10);
    }
    FILE *file = fopen(out_path, "r");
    assert_non_null(file);
    size_t size = 0;
    *out = NULL;
    assert_true(getdelim(out, &size, '\0', file) >= 0);
    fclose(file);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* 128 services and pages bounded to about 1 KiB (max_message_size): the
 * broker's first page stops short of the default 100 services, and
 * `teilhabe services` still lists all 128, fetching every page. */
static void
test_cli_lists_every_page(void **state)
{
    fixture_t *fx = *state;
    static const char *const extra[] = {"--max-message-size", "1024", NULL};
    s_start(fx, extra);
    zsock_t *client = s_client(fx);
    char names[4096];
    peer_worker_t a, b;
    s_names(names, sizeof names, "page", 0, PAGE_SERVICES);
    assert_true(s_worker(fx, &a, "page1", names, "Do"));
    s_names(names, sizeof names, "page", PAGE_SERVICES, PAGE_SERVICES);
    assert_true(s_worker(fx, &b, "page2", names, "Do"));
    int code = -1;
    Teilhabe__Broker__V1__ListServicesResponse *list =
        s_list(client, 1, 0, "", &code, NULL, 0);
    assert_int_equal(code, TH_OK);
    assert_true(list->n_services > 0 && list->n_services < 100);
    assert_string_not_equal(list->next_page_token, "");
    s_list_free(&list);

    char config[700];
    snprintf(config, sizeof config, "%s/admin.conf", fx->dir);
    FILE *file = fopen(config, "w");
    assert_non_null(file);
    fprintf(file,
            "endpoint = %s\nbroker_cert_public = %s/broker.cert\n"
            "cert = %s/private/admin.cert_secret\n",
            fx->broker.frontend, fx->dir, fx->dir);
    fclose(file);
    static const char *const args[] = {"--format", "json", "services", NULL};
    char *out = NULL;
    assert_int_equal(s_run_cli(fx, config, args, &out), 0);
    json_error_t error;
    json_t *json = json_loads(out, 0, &error);
    free(out);
    assert_non_null(json);
    assert_true(json_is_array(json));
    assert_int_equal(json_array_size(json), 2 * PAGE_SERVICES);
    const char *previous = "";
    for (size_t i = 0; i < json_array_size(json); i++) {
        const char *name =
            json_string_value(json_object_get(json_array_get(json, i), "name"));
        assert_non_null(name);
        assert_true(strcmp(name, previous) > 0);
        previous = name;
    }
    assert_string_equal(previous, "teilhabe.page.v1.S127");
    json_decref(json);
    worker_stop(&a, true);
    worker_stop(&b, true);
    zsock_destroy(&client);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_service_forgotten_after_grace, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_max_services, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_max_methods_per_service, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_methods_follow_live_workers, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_list_services_pages, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_cli_lists_every_page, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
