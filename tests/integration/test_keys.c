/* ---------------------------------------------------------------------------
 * test_keys.c: teilhabe-keys end to end: the built binary is run on a fresh
 * temporary directory and the files it leaves are checked (layout, modes,
 * metadata, refusals, the CLI configuration it writes).
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "th_config.h"
#include "th_test.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define KEYS_BIN TH_TEST_KEYS_BIN

typedef struct {
    char dir[64];   /* the temporary directory, removed by teardown */
    char store[96]; /* dir/keys: the key store the tests make */
    char output[8192];
} fixture_t;

/* Runs teilhabe-keys with args (a shell fragment; the test controls every
 * byte of it), keeps stdout and stderr in f->output and returns the exit
 * status, or -1 when the program did not exit normally. */
static int
s_run(fixture_t *f, const char *format, ...)
{
    char args[1024], command[2048];
    va_list ap;
    va_start(ap, format);
    vsnprintf(args, sizeof args, format, ap);
    va_end(ap);
    snprintf(command, sizeof command, "'%s' %s 2>&1", KEYS_BIN, args);
    f->output[0] = '\0';
    FILE *pipe = popen(command, "r");
    assert_non_null(pipe);
    const size_t n = fread(f->output, 1, sizeof f->output - 1, pipe);
    f->output[n] = '\0';
    const int status = pclose(pipe);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char *
s_path(const fixture_t *f, const char *rel)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", f->store, rel);
    return path;
}

static int
s_mode(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    return (int) (st.st_mode & 07777);
}

static bool
s_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Reads a whole small file into buf; returns its length or -1. */
static long
s_read(const char *path, char *buf, size_t size)
{
    FILE *file = fopen(path, "rb");
    if (file == NULL)
        return -1;
    const size_t n = fread(buf, 1, size - 1, file);
    buf[n] = '\0';
    fclose(file);
    return (long) n;
}

static int
setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    struct stat st;
    if (stat(KEYS_BIN, &st) != 0) {
        print_error("teilhabe-keys is not built at %s; build the whole tree first\n",
                    KEYS_BIN);
        free(f);
        return -1;
    }
    snprintf(f->dir, sizeof f->dir, "/tmp/th-keys-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->store, sizeof f->store, "%s/keys", f->dir);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture_t *f = *state;
    char command[160];
    snprintf(command, sizeof command, "rm -rf '%s'", f->dir);
    const int rc = system(command);
    free(f);
    return rc == 0 ? 0 : -1;
}

static void
test_init_makes_layout_and_keeps_keys(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(s_run(f, "init '%s'", f->store), 0);
    assert_int_equal(s_mode(s_path(f, "broker.cert_secret")), 0600);
    assert_int_equal(s_mode(s_path(f, "broker.cert")), 0644);
    assert_int_equal(s_mode(s_path(f, "private")), 0700);
    assert_int_equal(s_mode(f->store), 0700); /* the key store is nobody else's */
    assert_true(s_exists(s_path(f, "public")));

    char before[2048], after[2048], secret_before[2048], secret_after[2048];
    assert_true(s_read(s_path(f, "broker.cert"), before, sizeof before) > 0);
    assert_true(
        s_read(s_path(f, "broker.cert_secret"), secret_before, sizeof secret_before) > 0);
    /* Idempotent: a second init says so and replaces nothing. */
    assert_int_equal(s_run(f, "init '%s'", f->store), 0);
    assert_non_null(strstr(f->output, "kept"));
    assert_true(s_read(s_path(f, "broker.cert"), after, sizeof after) > 0);
    assert_true(s_read(s_path(f, "broker.cert_secret"), secret_after, sizeof secret_after) >
                0);
    assert_string_equal(before, after);
    assert_string_equal(secret_before, secret_after);

    /* The public half is derived again from the secret when lost... */
    assert_int_equal(unlink(s_path(f, "broker.cert")), 0);
    assert_int_equal(s_run(f, "init '%s'", f->store), 0);
    assert_true(s_read(s_path(f, "broker.cert"), after, sizeof after) > 0);
    zcert_t *cert = zcert_load(s_path(f, "broker.cert_secret"));
    assert_non_null(cert);
    assert_non_null(strstr(after, zcert_public_txt(cert)));
    zcert_destroy(&cert);
    /* ...but a public key without its secret is left for the operator. */
    assert_int_equal(unlink(s_path(f, "broker.cert_secret")), 0);
    assert_int_equal(s_run(f, "init '%s'", f->store), 1);
    assert_non_null(strstr(f->output, "exists without its secret key"));
    assert_false(s_exists(s_path(f, "broker.cert_secret")));
}

static void
test_client_writes_public_and_secret_with_metadata(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(s_run(f, "init '%s'", f->store), 0);
    assert_int_equal(s_run(f,
                           "client '%s' thm-1 --role manager --state 16 --district 16051 "
                           "--district 16052,16053 --id manager-42",
                           f->store),
                     0);
    assert_int_equal(s_mode(s_path(f, "private/thm-1.cert_secret")), 0600);
    assert_int_equal(s_mode(s_path(f, "public/thm-1.cert")), 0644);
    /* Only public certificates in public/: it is the broker's certs_dir. */
    assert_false(s_exists(s_path(f, "public/thm-1.cert_secret")));
    assert_false(s_exists(s_path(f, "private/thm-1.cert")));

    char text[2048];
    assert_true(s_read(s_path(f, "public/thm-1.cert"), text, sizeof text) > 0);
    assert_null(strstr(text, "secret-key"));

    zcert_t *public_cert = zcert_load(s_path(f, "public/thm-1.cert"));
    zcert_t *secret_cert = zcert_load(s_path(f, "private/thm-1.cert_secret"));
    assert_non_null(public_cert);
    assert_non_null(secret_cert);
    assert_string_equal(zcert_public_txt(public_cert), zcert_public_txt(secret_cert));
    assert_string_equal(zcert_meta(public_cert, "id"), "manager-42");
    assert_string_equal(zcert_meta(public_cert, "name"), "thm-1");
    assert_string_equal(zcert_meta(public_cert, "role"), "manager");
    assert_string_equal(zcert_meta(public_cert, "state"), "16");
    assert_string_equal(zcert_meta(public_cert, "districts"), "16051,16052,16053");
    assert_string_equal(zcert_meta(secret_cert, "role"), "manager");

    /* A principal without --id gets its name as id; federal scope is empty.
     * A worker key names the services it may serve. */
    assert_int_equal(s_run(f,
                           "client '%s' ops-worker --role worker --services "
                           "teilhabe.registry.v1.Registry,teilhabe.testing.v1.Echo",
                           f->store),
                     0);
    zcert_t *worker = zcert_load(s_path(f, "public/ops-worker.cert"));
    assert_non_null(worker);
    assert_string_equal(zcert_meta(worker, "id"), "ops-worker");
    assert_string_equal(zcert_meta(worker, "state"), "");
    assert_string_equal(zcert_meta(worker, "districts"), "");
    assert_string_equal(zcert_meta(worker, "services"),
                        "teilhabe.registry.v1.Registry,teilhabe.testing.v1.Echo");
    assert_int_equal(s_run(f, "show '%s'", s_path(f, "public/ops-worker.cert")), 0);
    assert_non_null(strstr(
        f->output, "services = teilhabe.registry.v1.Registry,teilhabe.testing.v1.Echo\n"));
    /* Other keys carry no services line at all. */
    assert_null(zcert_meta(public_cert, "services"));

    /* show prints the public key and the metadata, never the secret. */
    assert_int_equal(s_run(f, "show '%s'", s_path(f, "private/thm-1.cert_secret")), 0);
    char expect[128];
    snprintf(expect, sizeof expect, "public_key = %s\n", zcert_public_txt(public_cert));
    assert_non_null(strstr(f->output, expect));
    assert_non_null(strstr(f->output, "role = manager\n"));
    assert_non_null(strstr(f->output, "districts = 16051,16052,16053\n"));
    assert_non_null(strstr(f->output, "secret_key = present"));
    assert_null(strstr(f->output, zcert_secret_txt(secret_cert)));
    assert_int_equal(s_run(f, "show '%s'", s_path(f, "public/thm-1.cert")), 0);
    assert_non_null(strstr(f->output, "secret_key = absent"));

    zcert_destroy(&worker);
    zcert_destroy(&public_cert);
    zcert_destroy(&secret_cert);
}

static void
test_client_refuses_existing_name_unless_forced(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(s_run(f, "init '%s'", f->store), 0);
    assert_int_equal(s_run(f, "client '%s' admin --role admin", f->store), 0);
    zcert_t *first = zcert_load(s_path(f, "public/admin.cert"));
    assert_non_null(first);

    assert_int_equal(s_run(f, "client '%s' admin --role analyst", f->store), 1);
    assert_non_null(strstr(f->output, "principal \"admin\" already exists"));
    zcert_t *kept = zcert_load(s_path(f, "public/admin.cert"));
    assert_non_null(kept);
    assert_true(zcert_eq(first, kept));
    assert_string_equal(zcert_meta(kept, "role"), "admin");

    assert_int_equal(s_run(f, "client '%s' admin --role analyst --force", f->store), 0);
    zcert_t *replaced = zcert_load(s_path(f, "public/admin.cert"));
    assert_non_null(replaced);
    assert_false(zcert_eq(first, replaced));
    assert_string_equal(zcert_meta(replaced, "role"), "analyst");

    zcert_destroy(&first);
    zcert_destroy(&kept);
    zcert_destroy(&replaced);
}

static void
test_client_rejects_bad_input(void **state)
{
    fixture_t *f = *state;
    static const struct {
        const char *args;
        const char *message;
    } cases[] = {
        {"x --role boss", "unknown role \"boss\""},
        {"x", "role is missing"},
        {"x --role manager --state 17", "state \"17\" is not a Land code"},
        {"x --role manager --state 1", "state \"1\" is not a 2-digit Land code"},
        {"x --role manager --state ab", "is not a 2-digit Land code"},
        {"x --role manager --district 1605", "district \"1605\" is not a 5-digit AGS"},
        {"x --role manager --district 16O51", "district \"16O51\" is not a 5-digit AGS"},
        {"x --role manager --state 16 --district 15001",
         "district 15001 does not lie in state 16"},
        {"x --role manager --district 99001", "does not belong to any Land"},
        {"x --role manager --district 16051,,16052", "district \"\" is not a 5-digit AGS"},
        {"x --role ministry", "a ministry principal needs its Land"},
        {"../evil --role admin", "must start with a letter or a digit"},
        {"a/b --role admin", "may contain only letters"},
        {"x --role admin --id 'a b'", "id \"a b\" may contain only letters"},
        /* A worker key without services would serve nothing: refused. */
        {"x --role worker", "a worker key needs the services it may serve"},
        {"x --role worker --services ''", "a worker key needs the services it may serve"},
        {"x --role worker --services Registry",
         "service \"Registry\" is not a full service name"},
        {"x --role worker --services teilhabe.registry.v1.Registry,",
         "service \"\" is not a full service name"},
        {"x --role worker --services 'teilhabe.registry.v1.Registry/Get'",
         "is not a full service name"},
        {"x --role admin --services teilhabe.registry.v1.Registry",
         "only a worker key serves services"},
    };
    assert_int_equal(s_run(f, "init '%s'", f->store), 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const int rc = s_run(f, "client '%s' %s", f->store, cases[i].args);
        if (rc != 1 || strstr(f->output, cases[i].message) == NULL)
            print_error("case \"%s\": exit %d, output: %s\n", cases[i].args, rc, f->output);
        assert_int_equal(rc, 1);
        assert_non_null(strstr(f->output, cases[i].message));
    }
    /* Nothing was written by any refused call. */
    assert_false(s_exists(s_path(f, "public/x.cert")));
    assert_false(s_exists(s_path(f, "private/x.cert_secret")));
}

static void
test_usage_errors_and_uninitialised_store(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(s_run(f, ""), 2);
    assert_int_equal(s_run(f, "frobnicate"), 2);
    assert_int_equal(s_run(f, "init"), 2);
    assert_int_equal(s_run(f, "init '%s' --role admin", f->store), 2);
    assert_int_equal(s_run(f, "init '%s' --services teilhabe.x.v1.Y", f->store), 2);
    assert_int_equal(s_run(f, "client '%s' x --colour blue", f->store), 2);
    assert_int_equal(s_run(f, "client '%s' x --role", f->store), 2);
    assert_int_equal(s_run(f, "--help"), 0);
    assert_non_null(strstr(f->output, "usage: teilhabe-keys"));

    /* client before init: told what to do, nothing created. */
    assert_int_equal(s_run(f, "client '%s' admin --role admin", f->store), 1);
    assert_non_null(strstr(f->output, "teilhabe-keys init"));
    assert_false(s_exists(f->store));

    assert_int_equal(s_run(f, "show '%s/missing.cert'", f->dir), 1);
    assert_non_null(strstr(f->output, "could not open certificate file"));
}

static void
test_config_points_cli_at_the_identity(void **state)
{
    fixture_t *f = *state;
    char out[160];
    snprintf(out, sizeof out, "%s/admin.conf", f->dir);
    assert_int_equal(s_run(f, "init '%s'", f->store), 0);
    /* No such principal yet. */
    assert_int_equal(s_run(f,
                           "config '%s' admin --endpoint tcp://127.0.0.1:5555 --out '%s'",
                           f->store, out),
                     1);
    assert_non_null(strstr(f->output, "has no secret key"));
    assert_false(s_exists(out));

    assert_int_equal(s_run(f, "client '%s' admin --role admin", f->store), 0);
    /* A relative key directory still yields absolute paths. */
    assert_int_equal(
        s_run(f,
              "config '%s/./keys/../keys' admin --endpoint tcp://127.0.0.1:5555 "
              "--out '%s'",
              f->dir, out),
        0);
    th_config_t *config = th_config_new();
    assert_non_null(config);
    char err[256] = "";
    assert_int_equal(th_config_load_file(config, out, err, sizeof err), 0);
    assert_string_equal(th_config_get(config, "endpoint", ""), "tcp://127.0.0.1:5555");
    char expect[256];
    snprintf(expect, sizeof expect, "%s/broker.cert", f->store);
    char resolved[256];
    assert_non_null(realpath(expect, resolved));
    assert_string_equal(th_config_get(config, "broker_cert_public", ""), resolved);
    snprintf(expect, sizeof expect, "%s/private/admin.cert_secret", f->store);
    assert_non_null(realpath(expect, resolved));
    assert_string_equal(th_config_get(config, "cert", ""), resolved);
    th_config_destroy(&config);

    assert_int_equal(s_run(f, "config '%s' admin --out '%s'", f->store, out), 2);
    assert_int_equal(
        s_run(f, "config '%s' admin --endpoint 'a b' --out '%s'", f->store, out), 1);
}

/* A worker key names the services it may serve (metadata "services"); only a
 * worker names services, and only well-formed full names. */
static void
test_client_worker_services(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(s_run(f, "init '%s'", f->store), 0);
    assert_int_equal(s_run(f,
                           "client '%s' registry --role worker --services "
                           "teilhabe.registry.v1.Registry",
                           f->store),
                     0);
    zcert_t *cert = zcert_load(s_path(f, "public/registry.cert"));
    assert_non_null(cert);
    assert_string_equal(zcert_meta(cert, "role"), "worker");
    assert_string_equal(zcert_meta(cert, "services"), "teilhabe.registry.v1.Registry");
    zcert_destroy(&cert);
    assert_int_equal(s_run(f, "show '%s'", s_path(f, "public/registry.cert")), 0);
    assert_non_null(strstr(f->output, "services = teilhabe.registry.v1.Registry\n"));

    assert_int_equal(
        s_run(f, "client '%s' two --role worker --services=a.v1.A,b.v1.B", f->store), 0);
    cert = zcert_load(s_path(f, "public/two.cert"));
    assert_non_null(cert);
    assert_string_equal(zcert_meta(cert, "services"), "a.v1.A,b.v1.B");
    zcert_destroy(&cert);

    assert_int_equal(
        s_run(f, "client '%s' x1 --role admin --services teilhabe.registry.v1.Registry",
              f->store),
        1);
    assert_non_null(strstr(f->output, "only a worker key serves services"));
    assert_int_equal(s_run(f, "client '%s' x2 --role worker --services 'a,,b'", f->store),
                     1);
    assert_int_equal(s_run(f, "client '%s' x3 --role worker --services 'a/b'", f->store),
                     1);
    assert_false(s_exists(s_path(f, "public/x1.cert")));
    assert_false(s_exists(s_path(f, "public/x2.cert")));
    assert_false(s_exists(s_path(f, "public/x3.cert")));
    assert_int_equal(s_run(f, "init '%s' --services a.v1.A", f->store), 2);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_init_makes_layout_and_keeps_keys, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_client_writes_public_and_secret_with_metadata,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_refuses_existing_name_unless_forced,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_rejects_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_usage_errors_and_uninitialised_store, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_config_points_cli_at_the_identity, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_client_worker_services, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
