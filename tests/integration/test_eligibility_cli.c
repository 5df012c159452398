/* ---------------------------------------------------------------------------
 * test_eligibility_cli.c: `teilhabe eligibility ...` and `teilhabe
 * application set` of the real binary against the real stack (registry,
 * measures, eligibility)
 *
 * The shipped programmes (list, show); Düsseldorf's decision explained,
 * with the trace and what would make it pass, then the council's decision
 * and the work plan recorded (a stale --version refused, exit 19) and the
 * trace changed; a run over NRW with as many districts as the registry's
 * table; the stored decisions listed (table, CSV), one verified; rule sets
 * validated (a broken one compiler style, exit 13) and published once
 * (again: exit 16); usage errors (exit 2) that never reach the network.
 *
 * The tests run in order: the decisions of the first are read later.
 * ---------------------------------------------------------------------------
 */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "eligibility_env.h"

enum {
    S_MINISTRY,
    S_MANAGER,
    S_ANALYST,
    S_N
};

typedef struct {
    eligibility_env_t env;
    char conf[S_N][1200]; /* ministry-nw, manager-nw (05111), analyst */
    char decision[37];    /* a decision of 05111, from check's JSON */
} s_fixture_t;

static int
s_setup(void **state)
{
    s_fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    *state = f;
    if (eligibility_env_start(&f->env, "eligcli", "0") != 0)
        return -1;
    const registry_env_t *reg = &f->env.meas.reg;
    const char *names[S_N] = {"ministry-nw", "manager-nw", "analyst"};
    for (int i = 0; i < S_N; i++) {
        snprintf(f->conf[i], sizeof f->conf[i], "%s/%s.conf", reg->tmp, names[i]);
        FILE *fp = fopen(f->conf[i], "w");
        if (fp == NULL)
            return -1;
        fprintf(fp,
                "endpoint = %s\nbroker_cert_public = %s/broker.cert\ncert = "
                "%s/private/%s.cert_secret\ntimeout = 20000\n",
                reg->broker.frontend, reg->keys, reg->keys, names[i]);
        fclose(fp);
    }
    return 0;
}

static int
s_teardown(void **state)
{
    s_fixture_t *f = *state;
    const bool clean = eligibility_env_stop(&f->env);
    free(f);
    return clean ? 0 : -1;
}

/* Runs the CLI as who with args (shell-safe, made by the test); stdout and
 * stderr into *out (malloc'ed). Returns the exit code. */
static int
s_vcli(s_fixture_t *f, int who, char **out, const char *fmt, va_list ap)
{
    char args[4096], cmd[6144];
    vsnprintf(args, sizeof args, fmt, ap);
    snprintf(cmd, sizeof cmd, "cd '%s' && timeout -k 5 120 '%s' --config '%s' %s 2>&1",
             TH_SOURCE_DIR, TH_TEST_CLI_BIN, f->conf[who], args);
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
        fail_msg("the CLI did not end within 120 s: %s", args);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Runs the CLI, which must end with exit code want; when it does not, the
 * test fails showing what the CLI printed. */
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

/* out's line with needle holds also. */
static void
s_assert_line(const char *out, const char *needle, const char *also)
{
    const char *at = strstr(out, needle);
    while (at != NULL) {
        const char *start = at, *end = at + strcspn(at, "\n");
        while (start > out && start[-1] != '\n')
            start--;
        const char *hit = strstr(start, also);
        if (hit != NULL && hit < end)
            return;
        at = strstr(end, needle);
    }
    fail_msg("no line with \"%s\" and \"%s\" in:\n%s", needle, also, out);
}

static void
s_assert_has(const char *out, const char *needle)
{
    if (strstr(out, needle) == NULL)
        fail_msg("no \"%s\" in:\n%s", needle, out);
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

/* Writes text to a file of the test's directory; its path into path. */
static void
s_write_file(s_fixture_t *f, const char *name, const char *text, char *path, size_t size)
{
    snprintf(path, size, "%s/%s", f->env.meas.reg.tmp, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
}

/* --- programmes -------------------------------------------------------------- */

static void
test_programmes_and_show(void **state)
{
    s_fixture_t *f = *state;
    char *out = NULL;
    s_run(f, S_ANALYST, 0, &out, "eligibility programmes");
    s_assert_line(out, "nrw-ki", "05");
    s_assert_has(out, "th-integration-management");
    free(out);
    s_run(f, S_ANALYST, 0, &out, "eligibility programmes --state 05 --lang en");
    s_assert_has(out, "nrw-ki");
    assert_null(strstr(out, "th-integration-management"));
    free(out);
    /* A version's hash is shortened to 12 characters in a table. */
    s_run(f, S_ANALYST, 0, &out, "eligibility show nrw-ki");
    s_assert_line(out, "programme", "nrw-ki (Land 05");
    s_assert_line(out, "2021-11-25", "seed");
    free(out);
    s_run(f, S_ANALYST, 0, &out, "eligibility show nrw-ki --text");
    s_assert_has(out, "code: nrw-ki");
    free(out);
    s_run(f, S_ANALYST, 15, &out, "eligibility show no-such-programme");
    free(out);
    /* --help exits 0; a wrong --lang never reaches the network. */
    s_run(f, S_ANALYST, 0, &out, "eligibility check nrw-ki 05111 --help");
    free(out);
    s_run(f, S_ANALYST, 2, &out, "eligibility programmes --lang fr");
    s_assert_has(out, "de or en");
    free(out);
    s_run(f, S_ANALYST, 2, &out, "eligibility frobnicate");
    free(out);
}

/* --- one district ------------------------------------------------------------- */

static void
test_check_and_application(void **state)
{
    s_fixture_t *f = *state;
    char *out = NULL;
    /* Nothing recorded: not eligible, every failed criterion with what
     * would make it pass. */
    s_run(f, S_MANAGER, 0, &out, "eligibility check nrw-ki 05111 --explain --lang en");
    s_assert_line(out, "outcome", "Not eligible");
    s_assert_line(out, "district", "05111");
    s_assert_line(out, "concept_adopted", "fail");
    s_assert_line(out, "council_decision", "fail");
    s_assert_has(out, "what would make it pass:");
    s_assert_line(out, "  concept_adopted: ", "integration concept");
    s_assert_has(out, "attainable: yes");
    free(out);

    /* The application: both facts required; 0 is the first version. */
    s_run(f, S_MANAGER, 2, &out, "application set nrw-ki 05111 --work-plan yes");
    s_assert_has(out, "--council-decision");
    free(out);
    s_run(f, S_MANAGER, 0, &out,
          "--format json application set nrw-ki 05111 --council-decision 2024-01-15 "
          "--work-plan yes");
    json_t *app = s_json(out);
    assert_int_equal(json_integer_value(json_object_get(app, "version")), 1);
    json_decref(app);
    free(out);
    /* Stale: the service's message names the version stored. */
    s_run(f, S_MANAGER, 19, &out,
          "application set nrw-ki 05111 --council-decision none --work-plan no");
    s_assert_has(out, "version 1");
    free(out);
    s_run(f, S_MANAGER, 0, &out,
          "application set nrw-ki 05111 --council-decision 2024-01-15 --work-plan "
          "--version 1");
    free(out);

    /* The trace changed: the council's decision passes now. */
    s_run(f, S_MANAGER, 0, &out, "eligibility check nrw-ki 05111 --explain");
    s_assert_line(out, "council_decision", "pass");
    s_assert_line(out, "work_plan", "pass");
    s_assert_line(out, "concept_adopted", "fail");
    free(out);

    /* JSON: every field; the id is read by the tests below. */
    s_run(f, S_MINISTRY, 0, &out,
          "--format json eligibility check nrw-ki 05111 --as-of 2025-06-01");
    json_t *d = s_json(out);
    assert_string_equal(json_string_value(json_object_get(d, "outcome")),
                        "OUTCOME_NOT_ELIGIBLE");
    assert_true(json_array_size(json_object_get(d, "trace")) > 3);
    snprintf(f->decision, sizeof f->decision, "%s",
             json_string_value(json_object_get(d, "id")));
    assert_int_equal(strlen(f->decision), 36);
    json_decref(d);
    free(out);
    /* The analyst reads, but decides nothing. */
    s_run(f, S_ANALYST, 17, &out, "eligibility check nrw-ki 05111");
    free(out);
}

/* --- a Land ---------------------------------------------------------------------- */

static void
test_run(void **state)
{
    s_fixture_t *f = *state;
    char *out = NULL;
    const long long districts = elig_count(
        &f->env, "SELECT count(*) FROM registry.districts WHERE state_code = '05' "
                 "AND valid_from <= '2025-01-01' "
                 "AND (valid_to IS NULL OR valid_to >= '2025-01-01')");
    assert_true(districts > 40);
    char want[64];
    snprintf(want, sizeof want, "districts  %lld: 0 eligible, %lld not eligible", districts,
             districts);
    /* Pages of 20: every one read, no progress drawn (no terminal). */
    s_run(f, S_MINISTRY, 0, &out,
          "--page-size 20 eligibility run nrw-ki --state 05 --as-of 2025-01-01");
    s_assert_has(out, want);
    s_assert_line(out, "total", "0.00 EUR");
    s_assert_line(out, "05111", "Düsseldorf");
    s_assert_line(out, "05978", "Not eligible");
    assert_null(strstr(out, "\r"));
    free(out);
    s_run(f, S_MINISTRY, 0, &out,
          "--format json --page-size 25 eligibility run nrw-ki --as-of 2025-01-01");
    json_t *run = s_json(out);
    assert_int_equal(json_integer_value(json_object_get(run, "districts")), districts);
    assert_int_equal(json_array_size(json_object_get(run, "decisions")),
                     (size_t) districts);
    assert_null(json_object_get(run, "next_page_token"));
    json_decref(run);
    free(out);
    s_run(f, S_MINISTRY, 17, &out, "eligibility run th-integration-management");
    free(out);
}

/* --- stored decisions -------------------------------------------------------------- */

static void
test_decisions(void **state)
{
    s_fixture_t *f = *state;
    char *out = NULL;
    s_run(f, S_ANALYST, 0, &out, "eligibility decisions --district 05111");
    s_assert_line(out, f->decision, "Not eligible");
    s_assert_line(out, f->decision, "2025-06-01");
    free(out);
    s_run(f, S_ANALYST, 0, &out,
          "--format csv eligibility decisions --district 05111 --programme nrw-ki");
    assert_int_equal(strncmp(out, "id,programme_code,rule_version,", 31), 0);
    s_assert_has(out, f->decision);
    free(out);
    /* One decision: explained, its facts, verified from what is stored. */
    s_run(f, S_ANALYST, 0, &out, "eligibility decision %s --verify --lang en", f->decision);
    s_assert_line(out, "concept_adopted", "fail");
    s_assert_line(out, "application.council_decision", "2024-01-15");
    s_assert_has(out, "verified: yes");
    free(out);
    s_run(f, S_ANALYST, 15, &out,
          "eligibility decision 00000000-0000-4000-8000-000000000000");
    free(out);
}

/* --- rule sets -------------------------------------------------------------------------
 */

static const char s_rules[] =
    "format: teilhabe-rules/1\n"
    "programme:\n"
    "  code: test-cli\n"
    "  state: \"05\"\n"
    "  name: {de: \"Testprogramm\", en: \"Test programme\"}\n"
    "  description: {de: \"Nur für Tests\", en: \"Tests only\"}\n"
    "version:\n"
    "  valid_from: 2024-01-01\n"
    "  valid_to: \"\"\n"
    "  source: \"test\"\n"
    "parameters:\n"
    "  per_post: {value: \"1000.00\", kind: eur, source: \"test\", illustrative: true}\n"
    "criteria:\n"
    "  - id: has_manager\n"
    "    text: {de: \"Integrationsmanager:in zugeordnet\", en: \"a manager assigned\"}\n"
    "    source: \"test\"\n"
    "    fact: managers.count\n"
    "    op: %s\n"
    "    value: 1\n"
    "eligible_if: [has_manager]\n"
    "entitlement:\n"
    "  components:\n"
    "    - id: post\n"
    "      amount: per_post\n";

static void
test_rule_sets(void **state)
{
    s_fixture_t *f = *state;
    char *out = NULL;
    char text[2048], broken[1200], good[1200], want[1300];
    /* An operator that is none: compiler style, exit 13. */
    snprintf(text, sizeof text, s_rules, "about");
    s_write_file(f, "broken.yaml", text, broken, sizeof broken);
    s_run(f, S_ANALYST, 13, &out, "eligibility validate '%s'", broken);
    snprintf(want, sizeof want, "%s:18:", broken);
    s_assert_line(out, want, "op");
    free(out);
    s_run(f, S_MINISTRY, 13, &out, "eligibility publish '%s'", broken);
    s_assert_has(out, "eligibility validate");
    free(out);
    /* The shipped file, and one from stdin. */
    s_run(f, S_ANALYST, 0, &out, "eligibility validate data/programmes/nrw-ki.yaml");
    assert_int_equal(strncmp(out, "valid\n", 6), 0);
    s_assert_line(out, "programme", "nrw-ki");
    s_assert_line(out, "facts", "concept.adopted");
    free(out);
    s_run(f, S_ANALYST, 0, &out, "eligibility validate - < data/programmes/nrw-ki.yaml");
    s_assert_line(out, "Land", "05");
    free(out);
    /* Too large: refused before the network. */
    char big[1200];
    snprintf(big, sizeof big, "%s/big.yaml", f->env.meas.reg.tmp);
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "head -c 262145 /dev/zero | tr '\\0' '#' > '%s'", big);
    assert_int_equal(system(cmd), 0);
    s_run(f, S_ANALYST, 1, &out, "eligibility validate '%s'", big);
    s_assert_has(out, "256 KiB");
    free(out);

    /* Published once; the same text again exists already. */
    snprintf(text, sizeof text, s_rules, "ge");
    s_write_file(f, "good.yaml", text, good, sizeof good);
    s_run(f, S_MINISTRY, 0, &out, "eligibility publish '%s'", good);
    s_assert_line(out, "programme", "test-cli (Land 05");
    s_assert_line(out, "2024-01-01", "ministry-nw");
    free(out);
    s_run(f, S_MINISTRY, 16, &out, "eligibility publish '%s'", good);
    s_assert_has(out, "ALREADY_EXISTS");
    free(out);
    /* Decided at once: no manager in Düsseldorf. */
    s_run(f, S_MINISTRY, 0, &out, "eligibility check test-cli 05111 --explain --lang en");
    s_assert_line(out, "has_manager", "fail");
    free(out);
    /* With one, eligible: the amount rests on an illustrative parameter,
     * and says so next to it. */
    s_run(f, S_MINISTRY, 0, &out, "--format json manager add --state 05 --name 'Eva Test'");
    json_t *m = s_json(out);
    char id[64];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(m, "id")));
    json_decref(m);
    free(out);
    s_run(f, S_MINISTRY, 0, &out, "manager assign %s 05111 --from 2024-01-01", id);
    free(out);
    s_run(f, S_MINISTRY, 0, &out, "eligibility check test-cli 05111 --explain --lang en");
    s_assert_line(out, "outcome", "Eligible");
    s_assert_line(out, "amount", "1000.00 EUR illustrative");
    s_assert_line(out, "has_manager", "pass");
    s_assert_line(out, "post", "1000.00 EUR illustrative");
    free(out);
    s_run(f, S_MINISTRY, 0, &out, "eligibility check test-cli 05111");
    s_assert_line(out, "amount", "1000.00 EUR illustrativ");
    assert_null(strstr(out, "criterion"));
    free(out);
    /* Tried before publishing: more than one manager needed, so Düsseldorf
     * would no longer be eligible; only the changed districts listed. */
    char stricter[1200];
    snprintf(text, sizeof text, s_rules, "gt");
    s_write_file(f, "stricter.yaml", text, stricter, sizeof stricter);
    s_run(f, S_MINISTRY, 0, &out, "eligibility dry-run '%s' --lang en", stricter);
    s_assert_line(out, "in force", "1 eligible");
    s_assert_line(out, "this text", "0 eligible");
    s_assert_line(out, "changed", "1 of");
    s_assert_line(out, "05111", "Not eligible");
    free(out);
    s_run(f, S_ANALYST, 17, &out, "eligibility dry-run '%s'", stricter);
    free(out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_programmes_and_show),
        cmocka_unit_test(test_check_and_application),
        cmocka_unit_test(test_run),
        cmocka_unit_test(test_decisions),
        cmocka_unit_test(test_rule_sets),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
