/* ---------------------------------------------------------------------------
 * test_registry_cli.c: the registry commands of the real `teilhabe` binary
 * against the real stack
 *
 * The README walk-through as a test: Thüringen's districts (JSON array with
 * the proto field names, CSV with a header row), search, a NOT_FOUND exit
 * code naming the successor, a new ministry key made by `principal add`
 * (mode 0600, usable by the very next command without a broker restart:
 * principal add waits until the broker accepts it, also from a broker that
 * reads the principals only every 2 s), setting a concept twice and listing
 * its versions, adding and assigning a manager, usage errors.
 * ---------------------------------------------------------------------------
 */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <czmq.h>

#include "registry_env.h"

typedef struct {
    registry_env_t env;
    char config[1200];
} s_fixture_t;

static int
s_setup(void **state)
{
    s_fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    *state = f;
    if (registry_env_start(&f->env, "regcli") != 0)
        return -1;
    snprintf(f->config, sizeof f->config, "%s/admin.conf", f->env.tmp);
    FILE *fp = fopen(f->config, "w");
    if (fp == NULL)
        return -1;
    fprintf(fp,
            "endpoint = %s\nbroker_cert_public = %s/broker.cert\ncert = "
            "%s/private/admin.cert_secret\n",
            f->env.broker.frontend, f->env.keys, f->env.keys);
    fclose(fp);
    return 0;
}

static int
s_teardown(void **state)
{
    s_fixture_t *f = *state;
    const int status = registry_env_stop(&f->env);
    free(f);
    return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* Runs the CLI with the admin config and args (a shell-safe string made by
 * the test); stdout (and stderr when merge) into *out (malloc'ed). Returns
 * the exit code. */
static int s_cli(s_fixture_t *f, bool merge, char **out, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
s_cli(s_fixture_t *f, bool merge, char **out, const char *fmt, ...)
{
    char args[2048], cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    /* Bounded: the CLI's own timeouts end it; coreutils' timeout is for a
     * broken one, so a hang fails this test at once instead of stalling CI */
    snprintf(cmd, sizeof cmd, "timeout -k 5 60 '%s' --config '%s' %s %s", TH_TEST_CLI_BIN,
             f->config, args, merge ? "2>&1" : "2>/dev/null");
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t got;
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

static void
test_cli_walk_through(void **state)
{
    s_fixture_t *f = *state;
    char *out = NULL;
    json_error_t jerr;

    /* Thüringen's districts as JSON: an array of objects keyed by field name. */
    assert_int_equal(s_cli(f, false, &out, "--format json district list --state 16"), 0);
    json_t *list = json_loads(out, 0, &jerr);
    if (list == NULL)
        fail_msg("not JSON: %s\n%s", jerr.text, out);
    assert_true(json_is_array(list));
    assert_int_equal(json_array_size(list), 22);
    json_t *first = json_array_get(list, 0);
    assert_string_equal(json_string_value(json_object_get(first, "ags")), "16051");
    assert_string_equal(json_string_value(json_object_get(first, "state_name")),
                        "Thüringen");
    assert_non_null(json_object_get(first, "settlement_type"));
    json_decref(list);
    free(out);

    /* Before the merger: 23. */
    assert_int_equal(
        s_cli(f, false, &out, "--format json district list --state 16 --as-of 2021-06-30"),
        0);
    list = json_loads(out, 0, &jerr);
    assert_non_null(list);
    assert_int_equal(json_array_size(list), 23);
    json_decref(list);
    free(out);

    /* CSV: RFC 4180 with a header row. */
    assert_int_equal(s_cli(f, false, &out, "--format csv state list"), 0);
    assert_true(
        strncmp(out, "code,name,district_count,population,population_date\r\n", 53) == 0);
    /* No inhabitant lost at the merger: Thüringen as counted on 2018-12-31. */
    assert_non_null(strstr(out, "16,Thüringen,22,2143145,2018-12-31\r\n"));
    free(out);

    assert_int_equal(s_cli(f, false, &out, "--format json district search soemmerda"), 0);
    assert_non_null(strstr(out, "\"16068\""));
    free(out);
    /* Global flags may also follow the command words. */
    assert_int_equal(
        s_cli(f, false, &out, "district show 16068 --format json --as-of 2021-07-01"), 0);
    assert_non_null(strstr(out, "\"name\": \"Sömmerda\""));
    free(out);

    /* Eisenach today: NOT_FOUND (exit 10 + 5), the successor named. */
    assert_int_equal(s_cli(f, true, &out, "district show 16056"), 15);
    assert_non_null(strstr(out, "NOT_FOUND"));
    assert_non_null(strstr(out, "16063"));
    free(out);
    assert_int_equal(s_cli(f, false, &out, "--format json district history 16056"), 0);
    assert_non_null(strstr(out, "\"successor_ags\": \"16063\""));
    free(out);

    /* Usage errors exit 2. */
    assert_int_equal(s_cli(f, true, &out, "district list --kind bezirk"), 2);
    assert_non_null(strstr(out, "landkreis"));
    free(out);
    assert_int_equal(s_cli(f, true, &out, "concept set 16068 --fields work,nonsense"), 2);
    free(out);

    /* A ministry key for Thüringen, made locally. */
    char key_file[1200];
    snprintf(key_file, sizeof key_file, "%s/ministry.cert_secret", f->env.tmp);
    assert_int_equal(
        s_cli(f, false, &out,
              "--format json principal add --id ministerium-th --name 'Ministerium "
              "Thüringen' --role ministry --state 16 --out '%s'",
              key_file),
        0);
    json_t *p = json_loads(out, 0, &jerr);
    assert_non_null(p);
    assert_string_equal(json_string_value(json_object_get(p, "id")), "ministerium-th");
    zcert_t *cert = zcert_load(key_file);
    assert_non_null(cert);
    assert_string_equal(json_string_value(json_object_get(p, "public_key")),
                        zcert_public_txt(cert));
    zcert_destroy(&cert);
    json_decref(p);
    free(out);
    struct stat st;
    assert_int_equal(stat(key_file, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* The same --out again is refused (never overwrite a secret). */
    assert_int_equal(
        s_cli(f, true, &out, "principal add --name x --role analyst --out '%s'", key_file),
        2);
    free(out);
    out = NULL;

    /* Setting a concept with it at once: principal add returned only after
     * the broker accepted the key, so the very next command is served. */
    const int rc =
        s_cli(f, true, &out,
              "--cert '%s' --format json concept set 16068 --title "
              "'Integrationskonzept Landkreis Sömmerda' --adopted 2019-05-15 "
              "--orientation participation --fields work_and_training,language,education",
              key_file);
    if (rc != 0)
        fail_msg("concept set right after principal add failed (%d): %s", rc, out);
    assert_non_null(strstr(out, "\"version\": 1"));
    assert_non_null(strstr(out, "FIELD_OF_ACTION_EDUCATION"));
    free(out);
    /* Without --version the CLI writes over the current version. */
    assert_int_equal(
        s_cli(f, false, &out,
              "--cert '%s' --format json concept set 16068 --updated 2024-03-01", key_file),
        0);
    assert_non_null(strstr(out, "\"version\": 2"));
    assert_non_null(strstr(out, "Integrationskonzept Landkreis Sömmerda"));
    free(out);
    /* A stale explicit version: FAILED_PRECONDITION (exit 19). */
    assert_int_equal(s_cli(f, false, &out,
                           "--cert '%s' concept set 16068 --title x --version 1", key_file),
                     19);
    free(out);
    assert_int_equal(s_cli(f, false, &out, "--format json concept history 16068"), 0);
    list = json_loads(out, 0, &jerr);
    assert_non_null(list);
    assert_int_equal(json_array_size(list), 2);
    json_decref(list);
    free(out);
    /* The admin may not write concepts: PERMISSION_DENIED (exit 17). */
    assert_int_equal(s_cli(f, false, &out, "concept set 16068 --title y"), 17);
    free(out);

    /* A manager, assigned to Sömmerda. */
    assert_int_equal(s_cli(f, false, &out,
                           "--cert '%s' --format json manager add --state 16 --name 'Erika "
                           "Muster' --email erika.muster@example.org --programme "
                           "'Landesprogramm Integration'",
                           key_file),
                     0);
    json_t *m = json_loads(out, 0, &jerr);
    assert_non_null(m);
    char id[64];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(m, "id")));
    json_decref(m);
    free(out);
    assert_int_equal(strlen(id), 36);
    assert_int_equal(s_cli(f, false, &out,
                           "--cert '%s' manager assign %s 16068 --from 2024-01-01",
                           key_file, id),
                     0);
    free(out);
    assert_int_equal(s_cli(f, false, &out, "--format json manager list --district 16068"),
                     0);
    list = json_loads(out, 0, &jerr);
    assert_non_null(list);
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "name")),
                        "Erika Muster");
    json_decref(list);
    free(out);

    /* A (fictional) merger recorded by the admin. */
    assert_int_equal(s_cli(f, false, &out,
                           "--cert '%s' district merge 16077 --into 16076 "
                           "--effective 2031-01-01",
                           key_file),
                     17);
    free(out);
    assert_int_equal(s_cli(f, false, &out,
                           "--format json district merge 16077 --into 16076 "
                           "--effective 2031-01-01 --note 'test'"),
                     0);
    assert_non_null(strstr(out, "\"successor_ags\": \"16076\""));
    free(out);
    assert_int_equal(s_cli(f, false, &out, "district merge 16077 --into 16076"), 2);
    free(out);

    /* Every change is an event: first the seeding's (16 Länder, 401
     * districts, the merger: 420), then the walk-through's. */
    assert_int_equal(s_cli(f, false, &out, "--format csv events --limit 3"), 0);
    assert_non_null(strstr(out, "state.created"));
    free(out);
    assert_int_equal(s_cli(f, false, &out, "--format csv events --after 420"), 0);
    assert_non_null(strstr(out, "concept.set"));
    assert_non_null(strstr(out, "manager.assigned"));
    assert_non_null(strstr(out, "principal.created"));
    assert_non_null(strstr(out, "territorial_change.recorded"));
    free(out);
}

/* Lines of text (CSV rows end in CRLF, tables in LF). */
static size_t
s_lines(const char *text)
{
    size_t n = 0;
    for (const char *p = text; *p != '\0'; p++)
        n += *p == '\n';
    return n;
}

/* The widest line of text, in characters (code points). */
static size_t
s_widest(const char *text)
{
    size_t widest = 0, width = 0;
    for (const unsigned char *p = (const unsigned char *) text; *p != '\0'; p++) {
        if (*p == '\n') {
            widest = width > widest ? width : widest;
            width = 0;
        } else if ((*p & 0xc0) != 0x80) {
            width++;
        }
    }
    return width > widest ? width : widest;
}

/* The list commands fetch every page: all 401 districts in pages of 7
 * (58 pages; the CLI used to stop after 8), every event of the outbox in
 * pages of 100 (it used to print one page). */
static void
test_cli_fetches_every_page(void **state)
{
    s_fixture_t *f = *state;
    char *out = NULL;
    assert_int_equal(
        s_cli(f, false, &out, "--format csv --page-size 7 district list --as-of 2021-06-30"),
        0);
    assert_int_equal(s_lines(out), 1 + 401);
    assert_non_null(strstr(out, "\r\n16056,"));
    free(out);
    /* --page-size among the command's flags, table: every row too */
    assert_int_equal(s_cli(f, false, &out, "district list --page-size 50"), 0);
    assert_int_equal(s_lines(out), 1 + 400);
    free(out);

    const long long events =
        reg_sql_count(f->env.db_url, "SELECT count(*) FROM registry.events");
    assert_true(events >= 420);
    assert_int_equal(s_cli(f, false, &out, "--format csv --page-size 100 events"), 0);
    assert_int_equal((long long) s_lines(out), 1 + events);
    free(out);
    assert_int_equal(s_cli(f, false, &out, "--format csv events --after 400 --limit 7"), 0);
    assert_int_equal(s_lines(out), 1 + 7);
    assert_non_null(strstr(out, "\r\n401,"));
    free(out);
}

/* Tables fit 120 columns, with short labels; --wide has every field;
 * JSON keeps the proto's value names. */
static void
test_cli_tables_fit(void **state)
{
    s_fixture_t *f = *state;
    char *out = NULL;
    const char *const commands[] = {"district list", "district show 16068", "state list",
                                    "district history 16056", "events --limit 30",
                                    "principal list", "services"};
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        assert_int_equal(s_cli(f, false, &out, "%s", commands[i]), 0);
        if (s_widest(out) > 120)
            fail_msg("\"%s\" is %zu columns wide:\n%s", commands[i], s_widest(out), out);
        free(out);
    }
    assert_int_equal(s_cli(f, false, &out, "district list --state 16"), 0);
    assert_non_null(strstr(out, "Landkreis"));
    assert_non_null(strstr(out, "Kreisfreie stadt"));
    assert_null(strstr(out, "DISTRICT_KIND_"));
    assert_null(strstr(out, "nuts3")); /* not a column a person needs */
    free(out);
    assert_int_equal(s_cli(f, false, &out, "--wide district list --state 16"), 0);
    assert_non_null(strstr(out, "nuts3"));
    assert_non_null(strstr(out, "figures_valid_from"));
    assert_true(s_widest(out) > 120);
    free(out);
    assert_int_equal(s_cli(f, false, &out, "--format json district show 16068"), 0);
    assert_non_null(strstr(out, "DISTRICT_KIND_LANDKREIS"));
    free(out);
}

/* A change that ended without a verdict (DEADLINE_EXCEEDED, UNAVAILABLE)
 * is repeated with the key the CLI printed: --idempotency-key makes the
 * second run answer the first one's reply, and the change is made once. */
static void
test_cli_repeats_a_change_with_its_key(void **state)
{
    s_fixture_t *f = *state;
    char *out = NULL;
    char ids[2][64];
    for (int i = 0; i < 2; i++) {
        assert_int_equal(s_cli(f, false, &out,
                               "--cert '%s/private/ministry-th.cert_secret' --format json "
                               "--idempotency-key cli-repeat-1 manager add --state 16 --name "
                               "'Max Wiederholt'",
                               f->env.keys),
                         0);
        json_error_t jerr;
        json_t *m = json_loads(out, 0, &jerr);
        assert_non_null(m);
        snprintf(ids[i], sizeof ids[i], "%s", json_string_value(json_object_get(m, "id")));
        json_decref(m);
        free(out);
    }
    assert_string_equal(ids[0], ids[1]);
    assert_int_equal(reg_sql_count(f->env.db_url, "SELECT count(*) FROM registry.managers "
                                                  "WHERE name = 'Max Wiederholt'"),
                     1);
    /* the same key for another change is refused, naming the key */
    assert_int_equal(s_cli(f, true, &out,
                           "--cert '%s/private/ministry-th.cert_secret' --idempotency-key "
                           "cli-repeat-1 manager add --state 16 --name 'Erika Anders'",
                           f->env.keys),
                     13);
    assert_non_null(strstr(out, "idempotency_key"));
    free(out);
}

/* The count of lines of the file at path that contain needle. */
static int
s_file_count(const char *path, const char *needle)
{
    FILE *in = fopen(path, "r");
    if (in == NULL)
        return 0;
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, in) != NULL)
        n += strstr(line, needle) != NULL;
    fclose(in);
    return n;
}

/* Makes the broker read registry.principals every 2 s (as against a
 * registry without its trigger), or again when told: drops or makes the
 * trigger and ends the broker's database session, so it looks again.
 * Returns once the broker's log says it reads the table again. */
static void
s_broker_announced(s_fixture_t *f, bool announced)
{
    const char *needle = announced ? "principal database reachable again"
                                   : "registry.principals does not announce its changes";
    const int before = s_file_count(f->env.broker.log_path, needle);
    char *done = reg_sql_value(
        f->env.db_url, announced
                           ? "CREATE TRIGGER principals_changed AFTER INSERT OR UPDATE "
                             "OR DELETE OR TRUNCATE ON registry.principals FOR EACH "
                             "STATEMENT EXECUTE FUNCTION registry.principals_changed()"
                           : "DROP TRIGGER principals_changed ON registry.principals");
    assert_non_null(done);
    free(done);
    char *ended = reg_sql_value(
        f->env.broker_db_url, "SELECT count(pg_terminate_backend(pid)) FROM "
                              "pg_stat_activity WHERE application_name = 'teilhabe-broker' "
                              "AND datname = current_database()");
    assert_non_null(ended);
    assert_string_equal(ended, "1");
    free(ended);
    for (int i = 0; i < 100 && s_file_count(f->env.broker.log_path, needle) == before; i++)
        reg_sleep_ms(100);
    if (s_file_count(f->env.broker.log_path, needle) == before)
        fail_msg("the broker did not read registry.principals again, see %s",
                 f->env.broker.log_path);
}

/* Against a broker that takes up to 2 s to read a new principal,
 * principal add says it waits, and returns once the key is accepted: the
 * next command with it is served at once (it got UNAUTHENTICATED before). */
static void
test_principal_add_waits_for_the_broker(void **state)
{
    s_fixture_t *f = *state;
    s_broker_announced(f, false);
    char key_file[1200];
    snprintf(key_file, sizeof key_file, "%s/ministry-by.cert_secret", f->env.tmp);
    char *out = NULL;
    const int64_t start = zclock_mono();
    assert_int_equal(s_cli(f, true, &out,
                           "principal add --id ministerium-by --name 'Ministerium Bayern' "
                           "--role ministry --state 09 --out '%s'",
                           key_file),
                     0);
    const int64_t took = zclock_mono() - start;
    printf("principal add took %lld ms against a broker reading every 2 s; it said:\n%s",
           (long long) took, out);
    if (took > 10000 + 2000)
        fail_msg("principal add waited %lld ms (at most 10 s)", (long long) took);
    free(out);
    const int rc = s_cli(f, true, &out,
                         "--cert '%s' concept set 09162 --title 'Gesamtkonzept München' "
                         "--adopted 2020-01-01 --orientation participation --fields "
                         "language",
                         key_file);
    if (rc != 0)
        fail_msg("concept set right after principal add failed (%d): %s", rc, out);
    free(out);
    s_broker_announced(f, true);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_walk_through),
        cmocka_unit_test(test_cli_repeats_a_change_with_its_key),
        cmocka_unit_test(test_cli_fetches_every_page),
        cmocka_unit_test(test_cli_tables_fit),
        cmocka_unit_test(test_principal_add_waits_for_the_broker),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
