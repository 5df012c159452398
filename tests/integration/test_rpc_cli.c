/* ---------------------------------------------------------------------------
 * test_rpc_cli.c: the built `teilhabe` tool against a real broker and a real
 * teilhabe-testworker: output, formats and exit codes
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

#include "teilhabe/v1/broker.pb-c.h"
#include "teilhabe/v1/health.pb-c.h"

#include <czmq.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

typedef struct {
    char *dir;
    char broker_key[41];
    th_test_broker_t broker;
    th_proc_t *worker;
    char config[600]; /* the client config file, as ops/keys writes one */
} env_t;

typedef struct {
    int exit_code;
    char *out; /* stdout */
    char *err; /* stderr */
} run_t;

static char *
s_slurp(const char *path)
{
    FILE *file = fopen(path, "r");
    if (file == NULL)
        return strdup("");
    char *text = NULL;
    size_t size = 0;
    FILE *mem = open_memstream(&text, &size);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, file)) > 0)
        fwrite(buf, 1, n, mem);
    fclose(mem);
    fclose(file);
    return text;
}

/* Runs the CLI with args (NULL-terminated), stdout and stderr kept apart,
 * TEILHABE_CONFIG as given (NULL = unset). */
static run_t
s_run(env_t *env, const char *config_env, const char *const *args)
{
    char out_path[700], err_path[700];
    snprintf(out_path, sizeof out_path, "%s/cli.out", env->dir);
    snprintf(err_path, sizeof err_path, "%s/cli.err", env->dir);
    remove(out_path);
    remove(err_path);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        FILE *out = freopen(out_path, "w", stdout);
        FILE *err = freopen(err_path, "w", stderr);
        if (out == NULL || err == NULL)
            _exit(127);
        if (config_env != NULL)
            setenv("TEILHABE_CONFIG", config_env, 1);
        else
            unsetenv("TEILHABE_CONFIG");
        const char *argv[32] = {"teilhabe"};
        size_t n = 1;
        for (size_t i = 0; args[i] != NULL && n < 31; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        execv(TH_TEST_CLI_BIN, (char *const *) argv);
        _exit(127);
    }
    int status = 0;
    /* Bounded: the CLI's own timeouts end it; the kill is for a broken one */
    int64_t until = zclock_mono() + 20000;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (zclock_mono() > until) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            fail_msg("the CLI did not finish within 20 s");
        }
        zclock_sleep(10);
    }
    run_t run = {
        .exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1,
        .out = s_slurp(out_path),
        .err = s_slurp(err_path),
    };
    return run;
}

static void
s_run_free(run_t *run)
{
    free(run->out);
    free(run->err);
}

static int
s_setup(void **state)
{
    env_t *env = calloc(1, sizeof *env);
    assert_non_null(env);
    env->dir = th_test_tmpdir("th-cli");
    assert_non_null(env->dir);
    assert_int_equal(th_test_keys_init(env->dir), 0);
    assert_int_equal(th_test_keys_client(env->dir, "admin", "admin", "", ""), 0);
    assert_int_equal(th_test_keys_worker(env->dir, "worker", "teilhabe.testing.v1.Echo"), 0);
    assert_int_equal(th_test_keys_broker_public(env->dir, env->broker_key), 0);
    th_test_broker_opts_t opts = {.keys_dir = env->dir, .heartbeat_ms = 250, .grace_ms = 300};
    if (th_test_broker_start(&opts, env->dir, &env->broker) != 0)
        fail_msg("could not start the broker; see %s", env->broker.log_path);

    char cert_public[600], cert[600], worker_cert[600], log[600];
    snprintf(cert_public, sizeof cert_public, "%s/broker.cert", env->dir);
    snprintf(cert, sizeof cert, "%s/private/admin.cert_secret", env->dir);
    snprintf(worker_cert, sizeof worker_cert, "%s/private/worker.cert_secret", env->dir);
    snprintf(log, sizeof log, "%s/worker.log", env->dir);
    const char *argv[] = {"teilhabe-testworker", "--broker-endpoint", env->broker.backend,
                          "--broker-cert-public", cert_public, "--cert", worker_cert,
                          "--heartbeat-ms", "250", "--instance", "cli-w", NULL};
    env->worker = th_proc_start(TH_TEST_TESTWORKER_BIN, (char *const *) argv, log);
    assert_non_null(env->worker);

    snprintf(env->config, sizeof env->config, "%s/admin.conf", env->dir);
    FILE *file = fopen(env->config, "w");
    assert_non_null(file);
    fprintf(file,
            "# client config as ops/keys writes it\n"
            "endpoint = %s\n"
            "broker_cert_public = %s\n"
            "cert = %s\n"
            "timeout = 3000\n",
            env->broker.frontend, cert_public, cert);
    fclose(file);

    /* until the worker has registered */
    th_client_config_t config = {.endpoints = env->broker.frontend,
                                 .broker_public_key = env->broker_key,
                                 .client_cert_path = cert};
    char errbuf[256];
    th_client_t *client = th_client_new(&config, errbuf, sizeof errbuf);
    assert_non_null(client);
    bool serving = false;
    for (int i = 0; i < 100 && !serving; i++) {
        Teilhabe__Health__V1__HealthCheckRequest request =
            TEILHABE__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
        request.service = "teilhabe.testing.v1.Echo";
        th_result_t result;
        th_client_call(client, "teilhabe.health.v1.Health/Check", &request.base,
                       &teilhabe__health__v1__health_check_response__descriptor, 1000, NULL,
                       &result);
        serving = result.code == TH_OK &&
                  ((Teilhabe__Health__V1__HealthCheckResponse *) result.response)->status ==
                      TEILHABE__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
        th_result_clear(&result);
        if (!serving)
            zclock_sleep(50);
    }
    /* and until each of its 4 handler threads has registered its connection */
    uint32_t workers = 0;
    for (int i = 0; i < 100 && serving && workers != 4; i++) {
        Teilhabe__Broker__V1__ListServicesRequest request =
            TEILHABE__BROKER__V1__LIST_SERVICES_REQUEST__INIT;
        th_result_t result;
        th_client_call(client, "teilhabe.broker.v1.Broker/ListServices", &request.base,
                       &teilhabe__broker__v1__list_services_response__descriptor, 1000, NULL,
                       &result);
        const Teilhabe__Broker__V1__ListServicesResponse *response =
            (const Teilhabe__Broker__V1__ListServicesResponse *) result.response;
        for (size_t k = 0; result.code == TH_OK && k < response->n_services; k++)
            if (strcmp(response->services[k]->name, "teilhabe.testing.v1.Echo") == 0)
                workers = response->services[k]->workers;
        th_result_clear(&result);
        if (workers != 4)
            zclock_sleep(50);
    }
    th_client_destroy(&client);
    assert_true(serving);
    assert_int_equal(workers, 4);
    *state = env;
    return 0;
}

/* The broker and the worker are expected healthy: SIGTERM, exit 0. */
static int
s_teardown(void **state)
{
    env_t *env = *state;
    bool clean = th_proc_stop_clean(&env->worker, "the test worker", env->dir);
    clean &= th_proc_stop_clean(&env->broker.proc, "the broker", env->broker.log_path);
    if (clean)
        th_test_rmtree(env->dir);
    free(env->dir);
    free(env);
    return clean ? 0 : -1;
}

static void
test_health_serving(void **state)
{
    env_t *env = *state;
    /* config from TEILHABE_CONFIG */
    static const char *const args[] = {"health", NULL};
    run_t run = s_run(env, env->config, args);
    assert_int_equal(run.exit_code, 0);
    assert_string_equal(run.out, "SERVING\n");
    s_run_free(&run);

    /* the same from --config, for one service, as JSON */
    const char *const json_args[] = {"--config", env->config, "--format", "json", "health",
                                     "--service", "teilhabe.testing.v1.Echo", NULL};
    run = s_run(env, NULL, json_args);
    assert_int_equal(run.exit_code, 0);
    json_error_t error;
    json_t *parsed = json_loads(run.out, 0, &error);
    assert_non_null(parsed);
    assert_string_equal(json_string_value(json_object_get(parsed, "status")), "SERVING");
    json_decref(parsed);
    s_run_free(&run);
}

static void
test_health_not_serving_exit_code(void **state)
{
    env_t *env = *state;
    static const char *const args[] = {"health", "--service", "teilhabe.nothing.v1.Nobody", NULL};
    run_t run = s_run(env, env->config, args);
    assert_int_not_equal(run.exit_code, 0);
    assert_true(run.exit_code == th_status_exit_code(TH_NOT_FOUND) ||
                run.exit_code == th_status_exit_code(TH_UNAVAILABLE));
    assert_null(strstr(run.out, "\nSERVING"));
    assert_true(strncmp(run.out, "SERVING", 7) != 0);
    assert_non_null(strstr(run.err, "hint:"));
    s_run_free(&run);
}

static void
test_services_json_and_csv(void **state)
{
    env_t *env = *state;
    static const char *const args[] = {"--format", "json", "services", NULL};
    run_t run = s_run(env, env->config, args);
    assert_int_equal(run.exit_code, 0);
    json_error_t error;
    json_t *parsed = json_loads(run.out, 0, &error);
    if (parsed == NULL)
        fail_msg("services --format json is not JSON (%s): %s", error.text, run.out);
    assert_true(json_is_array(parsed));
    json_t *echo = NULL;
    size_t index;
    json_t *item;
    json_array_foreach(parsed, index, item)
    {
        assert_true(json_is_object(item));
        /* the keys are the proto field names */
        assert_non_null(json_object_get(item, "name"));
        assert_true(json_is_array(json_object_get(item, "methods")));
        assert_true(json_is_integer(json_object_get(item, "workers")));
        assert_true(json_is_integer(json_object_get(item, "capacity")));
        assert_true(json_is_integer(json_object_get(item, "in_flight")));
        if (strcmp(json_string_value(json_object_get(item, "name")),
                   "teilhabe.testing.v1.Echo") == 0)
            echo = item;
    }
    assert_non_null(echo);
    json_t *methods = json_object_get(echo, "methods");
    assert_int_equal(json_array_size(methods), 2);
    assert_string_equal(json_string_value(json_array_get(methods, 0)), "Echo");
    assert_string_equal(json_string_value(json_array_get(methods, 1)), "Sleep");
    /* one worker connection per handler thread: the test worker's capacity */
    assert_int_equal(json_integer_value(json_object_get(echo, "workers")), 4);
    json_decref(parsed);
    s_run_free(&run);

    static const char *const csv_args[] = {"--format", "csv", "services", NULL};
    run = s_run(env, env->config, csv_args);
    assert_int_equal(run.exit_code, 0);
    assert_true(strncmp(run.out, "name,methods,workers,capacity,in_flight\r\n", 41) == 0);
    assert_non_null(strstr(run.out, "teilhabe.testing.v1.Echo,Echo;Sleep,4,4,"));
    s_run_free(&run);

    static const char *const table_args[] = {"services", NULL};
    run = s_run(env, env->config, table_args);
    assert_int_equal(run.exit_code, 0);
    assert_true(strncmp(run.out, "name ", 5) == 0);
    assert_non_null(strstr(run.out, "Echo, Sleep"));
    s_run_free(&run);
}

static void
test_usage_errors_exit_2(void **state)
{
    env_t *env = *state;
    static const char *const bad_flag[] = {"--no-such-flag", "health", NULL};
    run_t run = s_run(env, env->config, bad_flag);
    assert_int_equal(run.exit_code, 2);
    assert_non_null(strstr(run.err, "--no-such-flag"));
    s_run_free(&run);

    static const char *const bad_command[] = {"frobnicate", NULL};
    run = s_run(env, env->config, bad_command);
    assert_int_equal(run.exit_code, 2);
    assert_non_null(strstr(run.err, "frobnicate"));
    s_run_free(&run);

    static const char *const bad_format[] = {"--format", "yaml", "health", NULL};
    run = s_run(env, env->config, bad_format);
    assert_int_equal(run.exit_code, 2);
    s_run_free(&run);

    static const char *const bad_timeout[] = {"--timeout", "soon", "health", NULL};
    run = s_run(env, env->config, bad_timeout);
    assert_int_equal(run.exit_code, 2);
    s_run_free(&run);

    /* no key configured at all */
    static const char *const no_config[] = {"health", NULL};
    run = s_run(env, NULL, no_config);
    assert_int_equal(run.exit_code, 2);
    assert_non_null(strstr(run.err, "TEILHABE_CONFIG"));
    s_run_free(&run);

    /* --help documents the exit codes */
    static const char *const help[] = {"--help", NULL};
    run = s_run(env, NULL, help);
    assert_int_equal(run.exit_code, 0);
    assert_non_null(strstr(run.out, "24  UNAVAILABLE"));
    assert_non_null(strstr(run.out, "15  NOT_FOUND"));
    assert_non_null(strstr(run.out, "health"));
    assert_non_null(strstr(run.out, "services"));
    s_run_free(&run);
}

static void
test_unreachable_broker(void **state)
{
    env_t *env = *state;
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", th_test_free_port());
    const char *const args[] = {"--endpoint", endpoint, "--timeout", "600", "health", NULL};
    run_t run = s_run(env, env->config, args); /* flags beat the file's endpoint */
    assert_int_equal(run.exit_code, th_status_exit_code(TH_DEADLINE_EXCEEDED));
    assert_non_null(strstr(run.err, "error: DEADLINE_EXCEEDED"));
    assert_non_null(strstr(run.err, endpoint));
    assert_non_null(strstr(run.err, "is it running?"));
    assert_non_null(strstr(run.err, "hint:"));
    /* health is a read: no key was sent, so none is offered to repeat it */
    assert_null(strstr(run.err, "--idempotency-key "));
    assert_string_equal(run.out, "");
    s_run_free(&run);

    /* an unreadable client certificate is a local failure */
    const char *const bad_cert[] = {"--cert", "/nonexistent/me.cert_secret", "health", NULL};
    run = s_run(env, env->config, bad_cert);
    assert_int_equal(run.exit_code, 1);
    assert_non_null(strstr(run.err, "/nonexistent/me.cert_secret"));
    s_run_free(&run);
}

/* SIGTERM (and Ctrl-C) end a command at once, whatever its --timeout: it
 * used to run on to its deadline (CZMQ caught the signal). */
static void
test_sigterm_ends_the_cli_at_once(void **state)
{
    env_t *env = *state;
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", th_test_free_port());
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (freopen("/dev/null", "w", stdout) == NULL || freopen("/dev/null", "w", stderr) == NULL)
            _exit(127);
        setenv("TEILHABE_CONFIG", env->config, 1);
        const char *argv[] = {"teilhabe", "--endpoint", endpoint, "--timeout", "60000",
                              "health", NULL};
        execv(TH_TEST_CLI_BIN, (char *const *) argv);
        _exit(127);
    }
    zclock_sleep(300); /* well into its call */
    int status = 0;
    assert_int_equal(waitpid(pid, &status, WNOHANG), 0);
    int64_t start = zclock_mono();
    assert_int_equal(kill(pid, SIGTERM), 0);
    while (waitpid(pid, &status, WNOHANG) == 0 && zclock_mono() - start < 2000)
        zclock_sleep(10);
    int64_t took = zclock_mono() - start;
    if (took >= 2000) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        fail_msg("the CLI was still running 2 s after SIGTERM");
    }
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGTERM);
}

/* Global flags work after the command too, mixed with its own flags, in
 * both spellings; the last one given wins; unknown flags still fail. */
static void
test_global_flags_after_command(void **state)
{
    env_t *env = *state;
    static const char *const services[] = {"services", "--format", "json", NULL};
    run_t run = s_run(env, env->config, services);
    assert_int_equal(run.exit_code, 0);
    json_error_t error;
    json_t *parsed = json_loads(run.out, 0, &error);
    if (parsed == NULL)
        fail_msg("services --format json is not JSON (%s): %s", error.text, run.out);
    assert_true(json_is_array(parsed));
    json_decref(parsed);
    s_run_free(&run);

    /* among the command's own flags, "=" form, overriding a flag given
     * before the command */
    static const char *const health[] = {"--format", "csv", "health", "--format=json",
                                         "--service", "teilhabe.testing.v1.Echo", NULL};
    run = s_run(env, env->config, health);
    assert_int_equal(run.exit_code, 0);
    parsed = json_loads(run.out, 0, &error);
    if (parsed == NULL)
        fail_msg("health --format=json is not JSON (%s): %s", error.text, run.out);
    assert_string_equal(json_string_value(json_object_get(parsed, "status")), "SERVING");
    json_decref(parsed);
    s_run_free(&run);

    /* a global flag after the command takes effect before the call */
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", th_test_free_port());
    const char *const unreachable[] = {"health", "--endpoint", endpoint, "--timeout", "400",
                                       NULL};
    run = s_run(env, env->config, unreachable);
    assert_int_equal(run.exit_code, th_status_exit_code(TH_DEADLINE_EXCEEDED));
    assert_non_null(strstr(run.err, endpoint));
    assert_non_null(strstr(run.err, "400 ms"));
    s_run_free(&run);

    /* checked like before the command */
    static const char *const bad_format[] = {"services", "--format", "yaml", NULL};
    run = s_run(env, env->config, bad_format);
    assert_int_equal(run.exit_code, 2);
    assert_non_null(strstr(run.err, "format must be"));
    s_run_free(&run);
    static const char *const bad_flag[] = {"services", "--format", "json", "--bogus", "1",
                                           NULL};
    run = s_run(env, env->config, bad_flag);
    assert_int_equal(run.exit_code, 2);
    assert_non_null(strstr(run.err, "unknown flag \"--bogus\""));
    assert_string_equal(run.out, "");
    s_run_free(&run);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_serving),
        cmocka_unit_test(test_health_not_serving_exit_code),
        cmocka_unit_test(test_services_json_and_csv),
        cmocka_unit_test(test_usage_errors_exit_2),
        cmocka_unit_test(test_unreachable_broker),
        cmocka_unit_test(test_sigterm_ends_the_cli_at_once),
        cmocka_unit_test(test_global_flags_after_command),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
