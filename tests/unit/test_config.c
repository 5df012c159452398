/* ---------------------------------------------------------------------------
 * test_config.c: configuration precedence (file < environment < flags),
 * malformed files, and typed getters
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "th_config.h"
#include "th_error.h"
#include "th_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Writes text to DIR/name and returns the path (caller frees). */
static char *
s_write_file(const char *dir, const char *name, const char *text)
{
    char *path = NULL;
    assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs(text, file);
    fclose(file);
    return path;
}

static void
test_precedence_file_env_flags(void **state)
{
    char *dir = th_test_tmpdir("th-config");
    assert_non_null(dir);
    char *path = s_write_file(dir, "a.conf",
                              "# a comment\n"
                              "\n"
                              "endpoint = tcp://file:1\n"
                              "timeout = 100\n"
                              "format = \"csv\"\n"
                              "  cert   =   /from/file  \n");
    setenv("TEILHABE_TIMEOUT", "200", 1);
    setenv("TEILHABE_CERT", "/from/env", 1);
    setenv("TEILHABE_CONFIG", "/not/a/setting", 1);

    th_config_t *flags = th_config_new();
    char *argv[] = {"prog", "--cert", "/from/flag", "--log-level=debug", "health", "--x", NULL};
    int first = 0;
    char errbuf[256];
    assert_int_equal(th_config_load_args(flags, 6, argv, NULL, &first, errbuf, sizeof errbuf),
                     0);
    assert_int_equal(first, 4); /* "health": flags stop at the first word */

    th_config_t *config = th_config_new();
    assert_int_equal(th_config_load_file(config, path, errbuf, sizeof errbuf), 0);
    assert_int_equal(th_config_load_env(config), 0);
    assert_int_equal(th_config_merge(config, flags), 0);

    assert_string_equal(th_config_get(config, "endpoint", NULL), "tcp://file:1"); /* file */
    assert_string_equal(th_config_get(config, "format", NULL), "csv");   /* quotes gone */
    assert_string_equal(th_config_get(config, "timeout", NULL), "200");  /* env > file */
    assert_string_equal(th_config_get(config, "cert", NULL), "/from/flag"); /* flag > env */
    assert_string_equal(th_config_get(config, "log_level", NULL), "debug"); /* dash, = form */
    assert_null(th_config_get(config, "config", NULL)); /* TEILHABE_CONFIG names the file */
    assert_string_equal(th_config_get(config, "missing", "fallback"), "fallback");

    /* a default never overrides what is set */
    assert_int_equal(th_config_set_default(config, "cert", "/default"), 0);
    assert_string_equal(th_config_get(config, "cert", NULL), "/from/flag");
    assert_int_equal(th_config_set_default(config, "capacity", "4"), 0);
    assert_string_equal(th_config_get(config, "capacity", NULL), "4");

    unsetenv("TEILHABE_TIMEOUT");
    unsetenv("TEILHABE_CERT");
    unsetenv("TEILHABE_CONFIG");
    th_config_destroy(&config);
    th_config_destroy(&flags);
    assert_null(flags);
    th_config_destroy(&flags); /* twice is fine */
    th_test_rmtree(dir);
    free(path);
    free(dir);
}

/* th_config_load_layers: the file comes from TEILHABE_CONFIG unless --config
 * names another, and env and flags still win over it. */
static void
test_layers_find_the_file(void **state)
{
    char *dir = th_test_tmpdir("th-config");
    assert_non_null(dir);
    char *env_file = s_write_file(dir, "env.conf", "endpoint = tcp://env-file:1\nformat = csv\n");
    char *flag_file = s_write_file(dir, "flag.conf", "endpoint = tcp://flag-file:1\n");
    char errbuf[256];
    setenv("TEILHABE_CONFIG", env_file, 1);
    setenv("TEILHABE_FORMAT", "json", 1);

    th_config_t *flags = th_config_new();
    char *argv_none[] = {"prog", NULL};
    assert_int_equal(th_config_load_args(flags, 1, argv_none, NULL, NULL, errbuf, sizeof errbuf), 0);
    th_config_t *config = th_config_new();
    assert_int_equal(th_config_load_layers(config, flags, errbuf, sizeof errbuf), 0);
    assert_string_equal(th_config_get(config, "endpoint", NULL), "tcp://env-file:1");
    assert_string_equal(th_config_get(config, "format", NULL), "json"); /* env > file */
    th_config_destroy(&config);
    th_config_destroy(&flags);

    flags = th_config_new();
    char *argv_flag[] = {"prog", "--config", flag_file, NULL};
    assert_int_equal(th_config_load_args(flags, 3, argv_flag, NULL, NULL, errbuf, sizeof errbuf), 0);
    config = th_config_new();
    assert_int_equal(th_config_load_layers(config, flags, errbuf, sizeof errbuf), 0);
    assert_string_equal(th_config_get(config, "endpoint", NULL), "tcp://flag-file:1");
    th_config_destroy(&config);
    th_config_destroy(&flags);

    /* a named file that does not exist is an error, not an empty config */
    setenv("TEILHABE_CONFIG", "/nonexistent/teilhabe.conf", 1);
    flags = th_config_new();
    assert_int_equal(th_config_load_args(flags, 1, argv_none, NULL, NULL, errbuf, sizeof errbuf), 0);
    config = th_config_new();
    assert_int_equal(th_config_load_layers(config, flags, errbuf, sizeof errbuf), TH_ENOTFOUND);
    assert_non_null(strstr(errbuf, "/nonexistent/teilhabe.conf"));
    th_config_destroy(&config);
    th_config_destroy(&flags);

    unsetenv("TEILHABE_CONFIG");
    unsetenv("TEILHABE_FORMAT");
    th_test_rmtree(dir);
    free(env_file);
    free(flag_file);
    free(dir);
}

static void
test_malformed_file_lines(void **state)
{
    char *dir = th_test_tmpdir("th-config");
    char errbuf[256];
    th_config_t *config = th_config_new();

    char *no_eq = s_write_file(dir, "noeq.conf", "endpoint = ok\njust words\n");
    assert_int_equal(th_config_load_file(config, no_eq, errbuf, sizeof errbuf), TH_EINVAL);
    assert_non_null(strstr(errbuf, "line 2"));
    assert_non_null(strstr(errbuf, "noeq.conf"));

    char *bad_key = s_write_file(dir, "badkey.conf", "Bad-Key = 1\n");
    assert_int_equal(th_config_load_file(config, bad_key, errbuf, sizeof errbuf), TH_EINVAL);
    assert_non_null(strstr(errbuf, "line 1"));

    char *missing = NULL;
    assert_true(asprintf(&missing, "%s/does-not-exist.conf", dir) > 0);
    assert_int_equal(th_config_load_file(config, missing, errbuf, sizeof errbuf),
                     TH_ENOTFOUND);
    assert_non_null(strstr(errbuf, "does-not-exist.conf"));

    /* a line too long for the reader is refused, not cut in two */
    char *long_text = malloc(5000 + 32);
    assert_non_null(long_text);
    strcpy(long_text, "db_url = ");
    memset(long_text + 9, 'x', 5000);
    strcpy(long_text + 5009, "\nlog_level = info\n");
    char *too_long = s_write_file(dir, "long.conf", long_text);
    assert_int_equal(th_config_load_file(config, too_long, errbuf, sizeof errbuf), TH_EINVAL);
    assert_non_null(strstr(errbuf, "line 1 is longer than 4094 bytes"));
    free(long_text);
    free(too_long);
    /* ... while the longest line it takes, without a final newline, is read */
    char *longest_text = calloc(1, 4095);
    assert_non_null(longest_text);
    strcpy(longest_text, "db_url = ");
    memset(longest_text + 9, 'y', 4094 - 9);
    char *longest = s_write_file(dir, "longest.conf", longest_text);
    assert_int_equal(th_config_load_file(config, longest, errbuf, sizeof errbuf), 0);
    assert_int_equal(strlen(th_config_get(config, "db_url", "")), 4094 - 9);
    free(longest_text);
    free(longest);

    /* an empty value is a value */
    char *empty = s_write_file(dir, "empty.conf", "db_url =\n");
    assert_int_equal(th_config_load_file(config, empty, errbuf, sizeof errbuf), 0);
    assert_string_equal(th_config_get(config, "db_url", "unset"), "");

    th_config_destroy(&config);
    th_test_rmtree(dir);
    free(no_eq);
    free(bad_key);
    free(missing);
    free(empty);
    free(dir);
}

static void
test_flags_errors_and_bools(void **state)
{
    char errbuf[256];
    int first = 0;
    th_config_t *config = th_config_new();
    char *missing_value[] = {"prog", "--timeout", NULL};
    assert_int_equal(
        th_config_load_args(config, 2, missing_value, NULL, &first, errbuf, sizeof errbuf),
        TH_EINVAL);
    assert_non_null(strstr(errbuf, "--timeout"));

    static const char *const bools[] = {"help", NULL};
    char *with_bool[] = {"prog", "--help", "--format", "json", "--", "--not-a-flag", NULL};
    assert_int_equal(
        th_config_load_args(config, 6, with_bool, bools, &first, errbuf, sizeof errbuf), 0);
    assert_int_equal(first, 5); /* after "--" */
    assert_string_equal(th_config_get(config, "help", NULL), "true");
    assert_string_equal(th_config_get(config, "format", NULL), "json");

    char *bad_key[] = {"prog", "--Upper", "x", NULL};
    assert_int_equal(th_config_load_args(config, 3, bad_key, NULL, &first, errbuf, sizeof errbuf),
                     TH_EINVAL);
    th_config_destroy(&config);
}

static void
test_typed_getters(void **state)
{
    th_config_t *config = th_config_new();
    long n = 0;
    bool b = false;

    assert_int_equal(th_config_get_long(config, "capacity", 4, 1, 64, &n), 0);
    assert_int_equal(n, 4); /* fallback */
    th_config_set(config, "capacity", "16");
    assert_int_equal(th_config_get_long(config, "capacity", 4, 1, 64, &n), 0);
    assert_int_equal(n, 16);
    th_config_set(config, "capacity", "65");
    assert_int_equal(th_config_get_long(config, "capacity", 4, 1, 64, &n), TH_EINVAL);
    th_config_set(config, "capacity", "12abc");
    assert_int_equal(th_config_get_long(config, "capacity", 4, 1, 64, &n), TH_EINVAL);
    th_config_set(config, "capacity", "");
    assert_int_equal(th_config_get_long(config, "capacity", 4, 1, 64, &n), TH_EINVAL);
    th_config_set(config, "capacity", "99999999999999999999999");
    assert_int_equal(th_config_get_long(config, "capacity", 4, 1, 64, &n), TH_EINVAL);
    th_config_set(config, "capacity", "-3");
    assert_int_equal(th_config_get_long(config, "capacity", 0, -5, 5, &n), 0);
    assert_int_equal(n, -3);

    static const char *const truths[] = {"1", "true", "YES", "On"};
    static const char *const lies[] = {"0", "false", "No", "OFF"};
    for (size_t i = 0; i < 4; i++) {
        th_config_set(config, "insecure", truths[i]);
        assert_int_equal(th_config_get_bool(config, "insecure", false, &b), 0);
        assert_true(b);
        th_config_set(config, "insecure", lies[i]);
        assert_int_equal(th_config_get_bool(config, "insecure", true, &b), 0);
        assert_false(b);
    }
    th_config_set(config, "insecure", "maybe");
    assert_int_equal(th_config_get_bool(config, "insecure", false, &b), TH_EINVAL);
    assert_int_equal(th_config_get_bool(config, "unset_flag", true, &b), 0);
    assert_true(b);

    assert_int_equal(th_config_set(config, "Bad", "x"), TH_EINVAL);
    assert_int_equal(th_config_set(config, "", "x"), TH_EINVAL);
    th_config_destroy(&config);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_precedence_file_env_flags),
        cmocka_unit_test(test_layers_find_the_file),
        cmocka_unit_test(test_malformed_file_lines),
        cmocka_unit_test(test_flags_errors_and_bools),
        cmocka_unit_test(test_typed_getters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
