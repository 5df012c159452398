/* ---------------------------------------------------------------------------
 * test_measures_cli.c: `teilhabe measure ...` and `teilhabe indicator ...`
 * of the real binary against the real stack
 *
 * The catalogue as table and JSON, an indicator added by a ministry,
 * `measure add` (the registry asked over the broker; a district that ended
 * is NOT_FOUND, exit 15), list/show/update/transition/delete on a measure
 * the test inserts (the version read by the CLI itself), `indicator values` with
 * the rates computed, and usage errors (exit 2) that never reach the
 * network. The periods of Sömmerda: a manager rates the process
 * (`assessment set` / `show`), records whom a measure reached (`reach`),
 * submits 2024, which the ministry returns, approves (locking the figures)
 * and reopens, and `submission list` shows the Land with its drafts.
 * ---------------------------------------------------------------------------
 */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "measures_env.h"

typedef struct {
    measures_env_t env;
    char conf[3][1200]; /* admin, ministry-th, manager-soemmerda */
} s_fixture_t;

enum { S_ADMIN, S_MINISTRY, S_MANAGER };

static int
s_setup(void **state)
{
    s_fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    *state = f;
    if (measures_env_start(&f->env, "meascli") != 0)
        return -1;
    const char *names[] = {"admin", "ministry-th", "manager-soemmerda"};
    for (int i = 0; i < 3; i++) {
        snprintf(f->conf[i], sizeof f->conf[i], "%s/%s.conf", f->env.reg.tmp, names[i]);
        FILE *fp = fopen(f->conf[i], "w");
        if (fp == NULL)
            return -1;
        fprintf(fp, "endpoint = %s\nbroker_cert_public = %s/broker.cert\ncert = "
                    "%s/private/%s.cert_secret\n",
                f->env.reg.broker.frontend, f->env.reg.keys, f->env.reg.keys, names[i]);
        fclose(fp);
    }
    return 0;
}

static int
s_teardown(void **state)
{
    s_fixture_t *f = *state;
    const bool clean = measures_env_stop(&f->env);
    free(f);
    return clean ? 0 : -1;
}

/* Runs the CLI as who with args (shell-safe, made by the test); stdout and
 * stderr into *out (malloc'ed). Returns the exit code. */
static int
s_vcli(s_fixture_t *f, int who, char **out, const char *fmt, va_list ap)
{
    char args[2048], cmd[4096];
    vsnprintf(args, sizeof args, fmt, ap);
    snprintf(cmd, sizeof cmd, "timeout -k 5 60 '%s' --config '%s' %s 2>&1", TH_TEST_CLI_BIN,
             f->conf[who], args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 8192, len = 0, got;
    char *buf = malloc(cap);
    assert_non_null(buf);
    while ((got = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += got;
        if (cap - len < 1024) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    buf[len] = '\0';
    const int status = pclose(p);
    *out = buf;
    if (WIFEXITED(status) && (WEXITSTATUS(status) == 124 || WEXITSTATUS(status) == 137))
        fail_msg("the CLI did not end within 60 s: %s", args);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int s_cli(s_fixture_t *f, int who, char **out, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
s_cli(s_fixture_t *f, int who, char **out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const int rc = s_vcli(f, who, out, fmt, ap);
    va_end(ap);
    return rc;
}

/* s_cli that must end with exit code want; when it does not, the test
 * fails showing what the CLI printed. */
static void s_run(s_fixture_t *f, int who, int want, char **out, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
s_run(s_fixture_t *f, int who, int want, char **out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const int rc = s_vcli(f, who, out, fmt, ap);
    va_end(ap);
    if (rc != want)
        fail_msg("exit %d, not %d, after \"%s\":\n%s", rc, want, fmt, *out);
}

static void
test_indicators(void **state)
{
    s_fixture_t *f = *state;
    char *out = NULL;
    assert_int_equal(s_cli(f, S_MANAGER, &out, "indicator list"), 0);
    assert_non_null(strstr(out, "sgb2_share"));
    assert_non_null(strstr(out, "Lower is better"));
    free(out);
    assert_int_equal(s_cli(f, S_MANAGER, &out, "--format json indicator list --field language"),
                     0);
    json_error_t err;
    json_t *list = json_loads(out, 0, &err);
    if (list == NULL)
        fail_msg("not JSON: %s\n%s", err.text, out);
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "code")),
                        "language_course_participants");
    json_decref(list);
    free(out);
    assert_int_equal(s_cli(f, S_ADMIN, &out, "indicator show naturalisations"), 0);
    assert_non_null(strstr(out, "Ausländerzentralregister"));
    free(out);
    assert_int_equal(s_cli(f, S_ADMIN, &out, "indicator show no_such_code"), 15);
    free(out);
    /* A ministry adds one; the admin may not. */
    const char *add = "indicator add --code volunteering_rate --name-de Ehrenamtsquote "
                      "--name-en 'Volunteering rate' --unit % --field neighbourhood_life "
                      "--numerator 'Residents doing voluntary work' --denominator "
                      "'Residents aged 14 and over' --direction higher --disaggregations "
                      "total,with,without --source 'Landesstatistik' --illustrative";
    assert_int_equal(s_cli(f, S_ADMIN, &out, "%s", add), 17);
    assert_non_null(strstr(out, "PERMISSION_DENIED"));
    free(out);
    assert_int_equal(s_cli(f, S_MINISTRY, &out, "%s", add), 0);
    assert_non_null(strstr(out, "volunteering_rate"));
    free(out);
    assert_int_equal(s_cli(f, S_MINISTRY, &out, "%s", add), 16); /* ALREADY_EXISTS */
    free(out);
    assert_int_equal(s_cli(f, S_MINISTRY, &out, "indicator add --code x --direction sideways"),
                     2);
    assert_non_null(strstr(out, "higher_is_better"));
    free(out);
}

static void
test_measures(void **state)
{
    s_fixture_t *f = *state;
    char *out = NULL;
    /* add: the registry is asked whether Sömmerda exists on the start
     * date, and the measure is created; Eisenach on that date is not. */
    assert_int_equal(s_cli(f, S_MINISTRY, &out,
                           "--format json measure add --district 16068 --title Sprachcafé "
                           "--field language --target group:Frauen --start 2024-05-01 "
                           "--budget-eur 12500.50 --municipality Sömmerda"),
                     0);
    json_t *added = json_loads(out, 0, NULL);
    assert_non_null(added);
    assert_string_equal(json_string_value(json_object_get(added, "title")), "Sprachcafé");
    assert_string_equal(json_string_value(json_object_get(added, "target_group_name")),
                        "Frauen");
    json_decref(added);
    free(out);
    assert_int_equal(s_cli(f, S_MINISTRY, &out,
                           "measure add --district 16056 --title T --field language --target "
                           "all --start 2024-05-01"),
                     15);
    assert_non_null(strstr(out, "16063"));
    free(out);
    /* Usage errors stop before the network. */
    assert_int_equal(s_cli(f, S_MINISTRY, &out, "measure add --district 16068 --target some"),
                     2);
    assert_non_null(strstr(out, "group:NAME"));
    free(out);
    assert_int_equal(s_cli(f, S_MINISTRY, &out, "measure add --budget-eur 1.500,00"), 2);
    free(out);
    assert_int_equal(s_cli(f, S_MINISTRY, &out, "measure frobnicate"), 2);
    free(out);
    /* Bad input answered by the service: end before start. */
    assert_int_equal(s_cli(f, S_MINISTRY, &out,
                           "measure add --district 16068 --title T --field language --target "
                           "all --start 2024-05-01 --end 2024-04-01"),
                     13);
    assert_non_null(strstr(out, "measure.end_date"));
    free(out);

    char id[37];
    assert_int_equal(meas_seed_measure(&f->env, "16068", "Lotsen", "education", "planned", id),
                     0);
    assert_int_equal(s_cli(f, S_MANAGER, &out, "measure list --district 16068"), 0);
    assert_non_null(strstr(out, id));
    assert_non_null(strstr(out, "Planned"));
    free(out);
    assert_int_equal(s_cli(f, S_MANAGER, &out, "measure show %s", id), 0);
    assert_non_null(strstr(out, "Lotsen"));
    free(out);
    /* update reads the version itself; the budget goes in as cents. */
    assert_int_equal(s_cli(f, S_MANAGER, &out,
                           "--format json measure update %s --title 'Lotsen für alle' "
                           "--budget-eur 57000 --target all",
                           id),
                     0);
    json_t *m = json_loads(out, 0, NULL);
    assert_non_null(m);
    assert_string_equal(json_string_value(json_object_get(m, "title")), "Lotsen für alle");
    const json_t *cents = json_object_get(m, "budget_cents");
    assert_true(json_is_integer(cents) ? json_integer_value(cents) == 5700000
                                       : strcmp(json_string_value(cents), "5700000") == 0);
    json_decref(m);
    free(out);
    /* transitions, one refused naming the allowed moves. */
    assert_int_equal(s_cli(f, S_MANAGER, &out, "measure transition %s completed", id), 19);
    assert_non_null(strstr(out, "active or cancelled"));
    free(out);
    assert_int_equal(s_cli(f, S_MANAGER, &out, "measure transition %s active", id), 0);
    free(out);
    assert_int_equal(s_cli(f, S_MANAGER, &out, "measure transition %s active --version 1", id),
                     19);
    free(out);
    assert_int_equal(s_cli(f, S_MANAGER, &out, "measure delete %s", id), 19);
    assert_non_null(strstr(out, "cancel it"));
    free(out);
    assert_int_equal(s_cli(f, S_MANAGER, &out, "measure transition %s cancelled", id), 0);
    free(out);
    char planned[37];
    assert_int_equal(meas_seed_measure(&f->env, "16068", "Entwurf", "health", "planned",
                                       planned),
                     0);
    assert_int_equal(s_cli(f, S_MINISTRY, &out, "measure delete %s", planned), 0);
    free(out);
    assert_int_equal(s_cli(f, S_MINISTRY, &out, "measure show %s", planned), 15);
    free(out);
}

static void
test_values(void **state)
{
    s_fixture_t *f = *state;
    char *out = NULL;
    free(reg_sql_value(f->env.reg.db_url,
                       "INSERT INTO measures.indicator_values (ags, indicator_code, period, "
                       "period_start, period_end, disaggregation, numerator, denominator, "
                       "updated_by) VALUES ('16068', 'sgb2_share', '2024', '2024-01-01', "
                       "'2024-12-31', 'total', 4200, 56000, 'fixture'), ('16068', 'sgb2_share', "
                       "'2024', '2024-01-01', '2024-12-31', 'with_migration_history', 900, 4000, "
                       "'fixture')"));
    assert_int_equal(s_cli(f, S_MANAGER, &out,
                           "--format csv indicator values --district 16068 --from 2024 --to "
                           "2024 --disaggregation with"),
                     0);
    assert_non_null(strstr(out, "16068,sgb2_share,2024,"));
    assert_non_null(strstr(out, "22.5"));
    assert_null(strstr(out, "7.5"));
    free(out);
    assert_int_equal(s_cli(f, S_MANAGER, &out, "indicator values --from 2024Q5"), 13);
    assert_non_null(strstr(out, "from_period"));
    free(out);
}

/* The line of out that holds needle (malloc'ed), or NULL. */
static char *
s_line(const char *out, const char *needle)
{
    const char *at = strstr(out, needle);
    if (at == NULL)
        return NULL;
    const char *start = at;
    while (start > out && start[-1] != '\n')
        start--;
    const size_t len = strcspn(start, "\n");
    char *line = malloc(len + 1);
    assert_non_null(line);
    memcpy(line, start, len);
    line[len] = '\0';
    return line;
}

/* out's line with needle holds also. */
static void
s_assert_line(const char *out, const char *needle, const char *also)
{
    char *line = s_line(out, needle);
    if (line == NULL || strstr(line, also) == NULL)
        fail_msg("no line with \"%s\" and \"%s\" in:\n%s", needle, also, out);
    free(line);
}

static json_t *
s_json(const char *out)
{
    json_error_t err;
    json_t *j = json_loads(out, 0, &err);
    if (j == NULL)
        fail_msg("not JSON: %s\n%s", err.text, out);
    return j;
}

static void
test_assessment(void **state)
{
    s_fixture_t *f = *state;
    char *out = NULL;
    s_run(f, S_MANAGER, 0, &out, "assessment questions");
    assert_non_null(strstr(out, "shared_understanding"));
    assert_non_null(strstr(out, "4 = trifft voll zu"));
    free(out);
    s_run(f, S_MANAGER, 0, &out, "--format json assessment questions");
    json_t *q = s_json(out);
    assert_true(json_array_size(json_object_get(q, "questions")) >= 2);
    assert_int_equal(json_array_size(json_object_get(q, "scale_en")), 4);
    assert_non_null(json_string_value(
        json_object_get(json_array_get(json_object_get(q, "questions"), 0), "text_en")));
    json_decref(q);
    free(out);
    s_run(f, S_MANAGER, 0, &out, "assessment show 16068 2024");
    assert_non_null(strstr(out, "no self-assessment stored"));
    free(out);
    /* The first set reads version 0 itself; a comment keeps its comma. */
    const char *rate = "assessment set 16068 2024 --rate shared_understanding=3 "
                       "--rate concept_in_use=2 "
                       "--comment 'concept_in_use=Im Jugendamt, noch nicht im Jobcenter'";
    s_run(f, S_MANAGER, 0, &out, "%s", rate);
    assert_non_null(strstr(out, "version 1"));
    s_assert_line(out, "shared_understanding", "3");
    free(out);
    s_run(f, S_MANAGER, 0, &out, "--format json assessment show 16068 2024");
    json_t *a = s_json(out);
    assert_int_equal(json_integer_value(json_object_get(a, "version")), 1);
    json_t *answers = json_object_get(a, "answers");
    assert_int_equal(json_array_size(answers), 2);
    for (size_t i = 0; i < 2; i++) {
        const json_t *an = json_array_get(answers, i);
        const char *code = json_string_value(json_object_get(an, "question_code"));
        if (strcmp(code, "concept_in_use") == 0) {
            assert_int_equal(json_integer_value(json_object_get(an, "rating")), 2);
            assert_string_equal(json_string_value(json_object_get(an, "comment")),
                                "Im Jugendamt, noch nicht im Jobcenter");
        } else {
            assert_string_equal(code, "shared_understanding");
            assert_int_equal(json_integer_value(json_object_get(an, "rating")), 3);
        }
    }
    json_decref(a);
    free(out);
    /* Leaving out a stored rating without --version would delete it
     * unseen: the CLI refuses, naming it (exit 2), unless --replace. */
    s_run(f, S_MINISTRY, 2, &out, "assessment set 16068 2024 --rate shared_understanding=4");
    assert_non_null(strstr(out, "also rates concept_in_use"));
    assert_non_null(strstr(out, "--replace"));
    free(out);
    /* A repeated write names the version its first attempt named. */
    s_run(f, S_MINISTRY, 2, &out,
          "--idempotency-key k1 assessment set 16068 2024 --rate shared_understanding=4");
    assert_non_null(strstr(out, "--version"));
    free(out);
    /* The ministry rates it again (the CLI reads version 1); a stale
     * --version is refused. */
    s_run(f, S_MINISTRY, 0, &out,
          "--format csv assessment set 16068 2024 --rate shared_understanding=4 --replace");
    assert_non_null(strstr(out, "16068,2024,2,"));
    assert_non_null(strstr(out, ",shared_understanding,4,"));
    free(out);
    s_run(f, S_MANAGER, 19, &out,
          "assessment set 16068 2024 --rate concept_in_use=1 --version 1");
    assert_non_null(strstr(out, "version 2"));
    free(out);
    /* What the service refuses (exit 13), and what the CLI refuses itself. */
    s_run(f, S_MANAGER, 13, &out, "assessment set 16068 2024 --rate no_such=1 --replace");
    assert_non_null(strstr(out, "answers[0].question_code"));
    free(out);
    s_run(f, S_MANAGER, 2, &out,
          "assessment set 16068 2024 --rate shared_understanding=3 "
          "--comment concept_in_use=x");
    assert_non_null(strstr(out, "--comment concept_in_use"));
    free(out);
    s_run(f, S_MANAGER, 2, &out, "assessment set 16068 2024 --rate a=5");
    assert_non_null(strstr(out, "1, 2, 3 or 4"));
    free(out);
    /* Text from a Latin-1 terminal is refused before the network, naming
     * the flag. */
    s_run(f, S_MANAGER, 2, &out,
          "assessment set 16068 2024 --replace --rate concept_in_use=2 "
          "--comment \"concept_in_use=Gr$(printf '\\374')n\"");
    assert_non_null(strstr(out, "--comment concept_in_use"));
    assert_non_null(strstr(out, "UTF-8"));
    free(out);
    s_run(f, S_MINISTRY, 2, &out, "submission submit 16068 2024 --reason x");
    assert_non_null(strstr(out, "no --reason"));
    free(out);
    /* A set replaces the whole assessment: the ministry's one answer is left. */
    assert_int_equal(meas_count(&f->env, "SELECT count(*) FROM measures.assessment_answers "
                                         "WHERE ags = '16068' AND period = '2024'"),
                     1);
}

static void
test_reach(void **state)
{
    s_fixture_t *f = *state;
    char *out = NULL;
    char id[37];
    assert_int_equal(
        meas_seed_measure(&f->env, "16068", "Elterncafé", "education", "active", id), 0);
    s_run(f, S_MANAGER, 0, &out,
          "--format json reach set %s 2024 --total 120 --with-history 70 "
          "--without-history 40",
          id);
    json_t *r = s_json(out);
    assert_int_equal(json_integer_value(json_object_get(r, "version")), 1);
    assert_string_equal(json_string_value(json_object_get(r, "ags")), "16068");
    json_decref(r);
    free(out);
    /* Corrected: the CLI finds version 1 with ListReach. */
    s_run(f, S_MANAGER, 0, &out,
          "reach set %s 2024 --total 130 --with-history 75 --without-history 45", id);
    free(out);
    s_run(f, S_MANAGER, 0, &out, "reach list --measure %s", id);
    s_assert_line(out, id, "130");
    s_assert_line(out, id, "75");
    free(out);
    s_run(f, S_MANAGER, 0, &out, "--format csv reach list --district 16068 --period 2024");
    assert_non_null(strstr(out, id));
    assert_non_null(strstr(out, ",130,75,45,2,"));
    free(out);
    /* The parts are more than the total: the service names the field. */
    s_run(f, S_MANAGER, 13, &out,
          "reach set %s 2024 --total 10 --with-history 8 --without-history 8", id);
    assert_non_null(strstr(out, "reach.without_migration_history"));
    free(out);
    s_run(f, S_MANAGER, 2, &out, "reach list --period 2024");
    assert_non_null(strstr(out, "--measure"));
    free(out);
}

static void
test_submission(void **state)
{
    s_fixture_t *f = *state;
    char *out = NULL;
    s_run(f, S_MANAGER, 0, &out, "submission show 16068 2024");
    assert_non_null(strstr(out, "Draft"));
    free(out);
    /* A draft is not approved; the manager submits, and may not approve. */
    s_run(f, S_MINISTRY, 19, &out, "submission approve 16068 2024");
    assert_non_null(strstr(out, "cannot move to approved"));
    free(out);
    s_run(f, S_MANAGER, 0, &out, "submission submit 16068 2024");
    assert_non_null(strstr(out, "Submitted"));
    free(out);
    s_run(f, S_MANAGER, 17, &out, "submission approve 16068 2024");
    free(out);
    /* return needs a reason: refused before the network. */
    s_run(f, S_MINISTRY, 2, &out, "submission return 16068 2024");
    assert_non_null(strstr(out, "--reason"));
    free(out);
    s_run(f, S_MINISTRY, 0, &out,
          "submission return 16068 2024 --reason 'Reichweite fehlt, bitte ergänzen'");
    assert_non_null(strstr(out, "Returned"));
    assert_non_null(strstr(out, "Reichweite fehlt, bitte"));
    free(out);
    s_run(f, S_MANAGER, 0, &out, "submission submit 16068 2024");
    free(out);
    s_run(f, S_MINISTRY, 0, &out, "submission approve 16068 2024");
    assert_non_null(strstr(out, "Approved"));
    free(out);

    /* The Land: Sömmerda approved, the rest drafts. */
    s_run(f, S_MINISTRY, 0, &out, "submission list --state 16 --period 2024");
    s_assert_line(out, "16068", "Approved");
    s_assert_line(out, "16067", "Draft");
    s_assert_line(out, "Land 16, 2024:", " 1 approved,");
    free(out);
    s_run(f, S_MINISTRY, 0, &out, "--format json submission list --state 16 --period 2024");
    json_t *l = s_json(out);
    const size_t n = json_array_size(json_object_get(l, "submissions"));
    assert_true(n > 2);
    assert_int_equal(json_integer_value(json_object_get(l, "approved")), 1);
    assert_int_equal((size_t) json_integer_value(json_object_get(l, "drafts")), n - 1);
    json_decref(l);
    free(out);
    s_run(f, S_MINISTRY, 0, &out,
          "submission list --state 16 --period 2024 --status approved");
    assert_non_null(strstr(out, "16068"));
    assert_null(strstr(out, "16067"));
    free(out);

    /* Approved, the figures are locked; reopened, they are not. */
    s_run(f, S_MANAGER, 19, &out,
          "assessment set 16068 2024 --rate shared_understanding=1 --replace");
    assert_non_null(strstr(out, "approved"));
    free(out);
    s_run(f, S_MINISTRY, 0, &out, "submission reopen 16068 2024");
    assert_non_null(strstr(out, "Reopened"));
    free(out);
    s_run(f, S_MANAGER, 0, &out,
          "--format json assessment set 16068 2024 --rate shared_understanding=1 --replace");
    json_t *after = s_json(out);
    assert_int_equal(json_integer_value(json_object_get(after, "version")), 3);
    json_t *only = json_array_get(json_object_get(after, "answers"), 0);
    assert_int_equal(json_integer_value(json_object_get(only, "rating")), 1);
    json_decref(after);
    free(out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_indicators),
        cmocka_unit_test(test_measures),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_assessment),
        cmocka_unit_test(test_reach),
        cmocka_unit_test(test_submission),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
