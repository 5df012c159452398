/* ---------------------------------------------------------------------------
 * test_args.c: command-line options through getopt_long (th_args.h)
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "th_args.h"
#include "th_config.h"
#include "th_error.h"

static const th_arg_t s_command[] = {
    {"as-of", TH_ARG_VALUE, NULL, 0},   {"state", TH_ARG_VALUE, NULL, 0},
    {"district", TH_ARG_LIST, NULL, 0}, {"include-ended", TH_ARG_SWITCH, NULL, 0},
    {"format", TH_ARG_VALUE, "own_format", 0}, {"comment", TH_ARG_MULTI, NULL, 0},
    {NULL, 0, NULL, 0},
};
static const th_arg_t s_global[] = {
    {"format", TH_ARG_VALUE, NULL, 0},  {"insecure", TH_ARG_BOOL, NULL, 0},
    {"timeout", TH_ARG_VALUE, NULL, 0}, {"help", TH_ARG_SWITCH, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

typedef struct {
    th_config_t *own, *global;
    char **pos;
    int n;
    char err[256];
} s_run_t;

static int
s_parse(s_run_t *run, bool in_order, int argc, char **argv)
{
    memset(run, 0, sizeof *run);
    run->own = th_config_new();
    run->global = th_config_new();
    const th_arg_group_t groups[] = {{s_command, run->own}, {s_global, run->global}};
    return th_args_parse(argc, argv, groups, 2, in_order, &run->pos, &run->n, run->err,
                         sizeof run->err);
}

static void
s_done(s_run_t *run)
{
    free(run->pos);
    th_config_destroy(&run->own);
    th_config_destroy(&run->global);
}

static void
test_anywhere_and_groups(void **state)
{
    char *argv[] = {"list", "--state", "16", "extra", "--as-of=2021-06-30", "--insecure",
                    "true", "--include-ended", "--district", "16068", "--district=16063,16067",
                    "--timeout", "900", "--", "--not-an-option", NULL};
    s_run_t r;
    assert_int_equal(s_parse(&r, false, 15, argv), 0);
    assert_string_equal(th_config_get(r.own, "state", ""), "16");
    assert_string_equal(th_config_get(r.own, "as_of", ""), "2021-06-30");
    assert_string_equal(th_config_get(r.own, "include_ended", ""), "true");
    assert_string_equal(th_config_get(r.own, "district", ""), "16068,16063,16067");
    assert_string_equal(th_config_get(r.global, "insecure", ""), "true");
    assert_string_equal(th_config_get(r.global, "timeout", ""), "900");
    assert_int_equal(r.n, 2);
    assert_string_equal(r.pos[0], "extra");
    assert_string_equal(r.pos[1], "--not-an-option");
    s_done(&r);
}

static void
test_first_group_wins_and_bool_forms(void **state)
{
    char *argv[] = {"x", "--format", "csv", "--insecure", "-h", NULL};
    s_run_t r;
    assert_int_equal(s_parse(&r, false, 5, argv), 0);
    assert_string_equal(th_config_get(r.own, "own_format", ""), "csv");
    assert_null(th_config_get(r.global, "format", NULL));
    assert_string_equal(th_config_get(r.global, "insecure", ""), "true");
    assert_string_equal(th_config_get(r.global, "help", ""), "true");
    s_done(&r);
    char *argv2[] = {"x", "--insecure=false", NULL};
    assert_int_equal(s_parse(&r, false, 2, argv2), 0);
    assert_string_equal(th_config_get(r.global, "insecure", ""), "false");
    s_done(&r);
}

static void
test_in_order_stops_at_the_command(void **state)
{
    char *argv[] = {"teilhabe", "--timeout", "900", "district", "list", "--state", "16", NULL};
    s_run_t r;
    assert_int_equal(s_parse(&r, true, 7, argv), 0);
    assert_string_equal(th_config_get(r.global, "timeout", ""), "900");
    assert_null(th_config_get(r.own, "state", NULL));
    assert_int_equal(r.n, 4);
    assert_string_equal(r.pos[0], "district");
    assert_string_equal(r.pos[2], "--state");
    s_done(&r);
}

/* Free text repeats with its commas intact, an empty value counting too. */
static void
test_multi_keeps_commas(void **state)
{
    char *argv[] = {"x", "--comment", "a=yes, but", "--comment=b=", "--comment", "c=no", NULL};
    s_run_t r;
    assert_int_equal(s_parse(&r, false, 6, argv), 0);
    assert_string_equal(th_config_get(r.own, "comment", ""), "a=yes, but\x1f" "b=\x1f" "c=no");
    s_done(&r);
    char *one[] = {"x", "--comment", "", NULL};
    assert_int_equal(s_parse(&r, false, 3, one), 0);
    assert_string_equal(th_config_get(r.own, "comment", "unset"), "");
    s_done(&r);
    char *two[] = {"x", "--comment", "", "--comment", "d", NULL};
    assert_int_equal(s_parse(&r, false, 5, two), 0);
    assert_string_equal(th_config_get(r.own, "comment", ""), "\x1f" "d");
    s_done(&r);
    /* The separator inside a value would make it two: refused. */
    char *sep[] = {"x", "--comment", "a=x\x1f" "b=y", NULL};
    assert_int_not_equal(s_parse(&r, false, 3, sep), 0);
    assert_non_null(strstr(r.err, "0x1f"));
    s_done(&r);
    char *last[] = {"x", "--comment", NULL};
    assert_int_not_equal(s_parse(&r, false, 2, last), 0);
    s_done(&r);
}

static void
test_errors(void **state)
{
    s_run_t r;
    char *unknown[] = {"x", "--bogus", NULL};
    assert_int_equal(s_parse(&r, false, 2, unknown), TH_EINVAL);
    assert_non_null(strstr(r.err, "unknown flag \"--bogus\""));
    s_done(&r);
    char *missing[] = {"x", "--state", NULL};
    assert_int_equal(s_parse(&r, false, 2, missing), TH_EINVAL);
    assert_non_null(strstr(r.err, "flag --state needs a value"));
    s_done(&r);
    char *valued[] = {"x", "--include-ended=yes", NULL};
    assert_int_equal(s_parse(&r, false, 2, valued), TH_EINVAL);
    assert_non_null(strstr(r.err, "flag --include-ended takes no value"));
    s_done(&r);
    char *notbool[] = {"x", "--insecure=maybe", NULL};
    assert_int_equal(s_parse(&r, false, 2, notbool), TH_EINVAL);
    s_done(&r);
    char *letter[] = {"x", "-q", NULL};
    assert_int_equal(s_parse(&r, false, 2, letter), TH_EINVAL);
    assert_non_null(strstr(r.err, "-q"));
    s_done(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_anywhere_and_groups),
        cmocka_unit_test(test_first_group_wins_and_bool_forms),
        cmocka_unit_test(test_in_order_stops_at_the_command),
        cmocka_unit_test(test_multi_keeps_commas),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
