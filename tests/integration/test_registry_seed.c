/* ---------------------------------------------------------------------------
 * test_registry_seed.c: loading the reference data into a real PostgreSQL
 *
 * Runs the real `teilhabe-registry --seed-only` against a fresh database and
 * checks the result with SQL: 16 Länder, 401 districts, Eisenach ended on
 * 2021-06-30 with successor 16063, the population sum, that a second load
 * changes nothing, and that a broken file is refused naming file and line
 * without writing anything.
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "registry_env.h"

typedef struct {
    registry_env_t env;
    char log[1200];
} s_fixture_t;

static int
s_setup(void **state)
{
    s_fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    f->env.tmp = th_test_tmpdir("regseed");
    if (f->env.tmp == NULL || reg_create_db(&f->env, "regseed") != 0) {
        free(f->env.tmp);
        free(f);
        return -1;
    }
    snprintf(f->log, sizeof f->log, "%s/seed.log", f->env.tmp);
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    s_fixture_t *f = *state;
    registry_env_stop(&f->env);
    free(f);
    return 0;
}

static void s_copy_data(const char *dir, int line, const char *replacement);

/* Everything that a load must produce, in one digest per table. */
static char *
s_digest(const char *db_url)
{
    return reg_sql_value(
        db_url,
        "SELECT md5((SELECT string_agg(s::text, '|' ORDER BY code) FROM registry.states s)"
        " || (SELECT string_agg(d::text, '|' ORDER BY ags) FROM registry.districts d)"
        " || (SELECT string_agg(f::text, '|' ORDER BY ags, valid_from) FROM "
        "registry.district_figures f)"
        " || (SELECT string_agg(c::text, '|' ORDER BY id) FROM "
        "registry.territorial_changes c))");
}

static bool
s_file_contains(const char *path, const char *needle)
{
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return false;
    char line[4096];
    bool found = false;
    while (!found && fgets(line, sizeof line, fp) != NULL)
        found = strstr(line, needle) != NULL;
    fclose(fp);
    return found;
}

static void
test_seed_loads_reference_data_once(void **state)
{
    s_fixture_t *f = *state;
    const char *db = f->env.db_url;
    assert_int_equal(reg_seed_only(db, TH_SOURCE_DIR "/data", f->log), 0);

    assert_int_equal(reg_sql_count(db, "SELECT count(*) FROM registry.states"), 16);
    assert_int_equal(reg_sql_count(db, "SELECT count(*) FROM registry.districts"), 401);
    /* The 2018 figures, and those of 16063 from the merger on. */
    char *v = NULL;
    assert_int_equal(reg_sql_count(db,
                                   "SELECT sum(population) FROM registry.district_figures "
                                   "WHERE valid_from = '2018-12-31'"),
                     83019213);
    assert_int_equal(reg_sql_count(db, "SELECT count(*) FROM registry.district_figures"),
                     402);
    v = reg_sql_value(db,
                      "SELECT valid_from || ' ' || population || ' ' || area_km2 || ' ' || "
                      "population_per_km2 FROM registry.district_figures WHERE ags = "
                      "'16063' ORDER BY valid_from");
    assert_non_null(v);
    assert_string_equal(v, "2018-12-31 123025 1307.44 94");
    free(v);
    v = reg_sql_value(db,
                      "SELECT valid_to || ' ' || population FROM registry.district_figures "
                      "WHERE ags = '16063' ORDER BY valid_from");
    assert_non_null(v);
    assert_string_equal(v, "2021-06-30 123025");
    free(v);
    v = reg_sql_value(db,
                      "SELECT valid_from || ' ' || coalesce(valid_to::text, 'open') || ' ' "
                      "|| population || ' ' || area_km2 || ' ' || population_per_km2 "
                      "FROM registry.district_figures WHERE ags = '16063' "
                      "ORDER BY valid_from DESC");
    assert_non_null(v);
    assert_string_equal(v, "2021-07-01 open 165395 1411.61 117");
    free(v);
    v = reg_sql_value(db, "SELECT name FROM registry.states WHERE code = '16'");
    assert_non_null(v);
    assert_string_equal(v, "Thüringen");
    free(v);
    v = reg_sql_value(db, "SELECT valid_to || ' ' || successor_ags FROM registry.districts "
                          "WHERE ags = '16056'");
    assert_non_null(v);
    assert_string_equal(v, "2021-06-30 16063");
    free(v);
    assert_int_equal(reg_sql_count(db,
                                   "SELECT count(*) FROM registry.districts WHERE "
                                   "state_code = '16' AND valid_from <= '2021-06-30' AND "
                                   "(valid_to IS NULL OR valid_to >= '2021-06-30')"),
                     23);
    assert_int_equal(reg_sql_count(db,
                                   "SELECT count(*) FROM registry.districts WHERE "
                                   "state_code = '16' AND valid_from <= '2021-07-01' AND "
                                   "(valid_to IS NULL OR valid_to >= '2021-07-01')"),
                     22);
    /* Kinds: Kreis and Regionalverband are Landkreise, Stadtkreise kreisfrei. */
    v = reg_sql_value(db, "SELECT kind FROM registry.districts WHERE ags = '10041'");
    assert_non_null(v);
    assert_string_equal(v, "landkreis");
    free(v);
    v = reg_sql_value(db, "SELECT kind FROM registry.districts WHERE ags = '08111'");
    assert_non_null(v);
    assert_string_equal(v, "kreisfreie_stadt");
    free(v);
    /* Settlement types by the documented thresholds. */
    v = reg_sql_value(
        db, "SELECT string_agg(registry.settlement_type(d.kind, f.population, "
            "f.population_per_km2), ',' ORDER BY d.ags) FROM registry.districts d "
            "JOIN registry.district_figures f USING (ags) WHERE d.ags IN "
            "('16051', '16055', '16068', '16066')");
    assert_non_null(v);
    /* Erfurt (Großstadt), Weimar (small kreisfreie Stadt), Schmalkalden-Meiningen
     * (101/km2), Sömmerda (86/km2). */
    assert_string_equal(v, "kreisfreie_grossstadt,staedtischer_kreis,"
                           "laendlicher_kreis_verdichtung,duenn_besiedelt");
    free(v);
    v = reg_sql_value(db, "SELECT search_key || '|' || search_key_expanded FROM "
                          "registry.districts WHERE ags = '16068'");
    assert_non_null(v);
    assert_string_equal(v, "sommerda|soemmerda");
    free(v);

    /* Seeding is a change like any other: an audit row per resource it
     * created or changed (16 Länder, 401 districts, and the two districts
     * of the merger), by the principal "seed", and an event each (and the
     * territorial change's own). */
    assert_int_equal(reg_sql_count(db, "SELECT count(*) FROM audit.log"), 16 + 401 + 2);
    assert_int_equal(reg_sql_count(db, "SELECT count(*) FROM audit.log WHERE principal_id "
                                       "= 'seed' AND principal_role = 'system' AND "
                                       "method = 'seed' AND call_id = 0"),
                     16 + 401 + 2);
    assert_int_equal(reg_sql_count(db, "SELECT count(*) FROM audit.log WHERE resource = "
                                       "'states/16' AND before IS NULL AND "
                                       "after->>'name' = 'Thüringen'"),
                     1);
    assert_int_equal(reg_sql_count(db, "SELECT count(*) FROM audit.log WHERE resource = "
                                       "'districts/16068' AND before IS NULL AND "
                                       "after->>'name' = 'Sömmerda'"),
                     1);
    /* 16063: created, then changed by the merger (its figures from
     * 2021-07-01 hold Eisenach's people). */
    assert_int_equal(reg_sql_count(db, "SELECT (after->>'population')::bigint FROM "
                                       "audit.log WHERE resource = 'districts/16063' AND "
                                       "before IS NOT NULL"),
                     165395);
    assert_int_equal(reg_sql_count(db, "SELECT count(*) FROM registry.events"),
                     16 + 401 + 1 + 2);
    assert_int_equal(reg_sql_count(db, "SELECT count(*) FROM registry.events WHERE "
                                       "topic = 'state.created'"),
                     16);
    assert_int_equal(reg_sql_count(db, "SELECT count(*) FROM registry.events WHERE "
                                       "topic = 'district.created'"),
                     401);
    assert_int_equal(reg_sql_count(db, "SELECT count(*) FROM registry.events WHERE "
                                       "topic = 'territorial_change.recorded' AND "
                                       "resource = 'districts/16056'"),
                     1);
    assert_int_equal(reg_sql_count(db, "SELECT count(*) FROM registry.events WHERE "
                                       "topic = 'district.changed' AND resource IN "
                                       "('districts/16056', 'districts/16063')"),
                     2);

    char *first = s_digest(db);
    assert_non_null(first);
    assert_int_equal(reg_seed_only(db, TH_SOURCE_DIR "/data", f->log), 0);
    char *second = s_digest(db);
    assert_non_null(second);
    assert_string_equal(first, second);
    free(first);
    free(second);
    assert_true(s_file_contains(f->log, "inserted_districts=0"));
    assert_int_equal(reg_sql_count(db, "SELECT count(*) FROM registry.territorial_changes"),
                     1);
    /* A load that changes nothing writes nothing. */
    assert_int_equal(reg_sql_count(db, "SELECT count(*) FROM audit.log"), 16 + 401 + 2);
    assert_int_equal(reg_sql_count(db, "SELECT count(*) FROM registry.events"),
                     16 + 401 + 1 + 2);
}

/* A load that adds one district writes one audit row and one event. */
static void
test_seed_audits_what_it_adds(void **state)
{
    s_fixture_t *f = *state;
    const char *db = f->env.db_url;
    assert_int_equal(reg_seed_only(db, TH_SOURCE_DIR "/data", f->log), 0);
    const long long audits = reg_sql_count(db, "SELECT count(*) FROM audit.log");
    const long long events = reg_sql_count(db, "SELECT count(*) FROM registry.events");
    assert_true(audits > 0);
    assert_true(events > 0);
    /* The last line (16077, Altenburger Land) again, then a new district. */
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/data-more", f->env.tmp);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    assert_int_equal(system(cmd), 0);
    s_copy_data(dir, 402,
                "16077;Landkreis;Altenburger Land;DEG0M;569.40;90118;44138;45980;158\n"
                "16099;Landkreis;Testkreis;DEG0Z;100.00;1000;500;500;10\n");
    assert_int_equal(reg_seed_only(db, dir, f->log), 0);
    assert_int_equal(reg_sql_count(db, "SELECT count(*) FROM audit.log"), audits + 1);
    assert_int_equal(reg_sql_count(db, "SELECT count(*) FROM audit.log WHERE resource = "
                                       "'districts/16099' AND principal_id = 'seed'"),
                     1);
    assert_int_equal(reg_sql_count(db, "SELECT count(*) FROM registry.events"), events + 1);
    assert_int_equal(reg_sql_count(db, "SELECT count(*) FROM registry.events WHERE "
                                       "resource = 'districts/16099' AND "
                                       "topic = 'district.created'"),
                     1);
}

/* teilhabe-registry --seed-only with migrations from migrations_dir and no
 * reference data; its exit status. */
static int
s_migrate_only(s_fixture_t *f, const char *migrations_dir)
{
    const char *argv[] = {"teilhabe-registry", "--db-url",    f->env.db_url,
                          "--data-dir",        "none",        "--migrations-dir",
                          migrations_dir,      "--seed-only", NULL};
    th_proc_t *proc = th_proc_start(TH_TEST_REGISTRY_BIN, (char *const *) argv, f->log);
    if (proc == NULL)
        return -1;
    const int status = th_proc_wait(proc, 60000);
    th_proc_stop(&proc, status == -1 ? SIGKILL : SIGTERM, 1000);
    return status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A database seeded before the figures were dated (migration 0001 only,
 * Eisenach merged with the old columns) answers after migration 0003 as one
 * seeded after it: the Wartburgkreis holds Eisenach's people from
 * 2021-07-01 on. */
static void
test_migration_dates_existing_figures(void **state)
{
    s_fixture_t *f = *state;
    const char *db = f->env.db_url;
    char dir[1100], cmd[2400];
    snprintf(dir, sizeof dir, "%s/migrations-0001", f->env.tmp);
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s' && cp '%s/services/registry/migrations/"
             "0001_registry.sql' '%s/'",
             dir, TH_SOURCE_DIR, dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(s_migrate_only(f, dir), 0);
    char *ok = reg_sql_value(
        db,
        "INSERT INTO registry.states VALUES ('16', 'Thüringen');"
        "INSERT INTO registry.districts (ags, state_code, name, official_kind, kind, "
        "nuts3, area_km2, population, population_male, population_female, "
        "population_per_km2, population_date, settlement_type, valid_from, valid_to, "
        "successor_ags, search_key, search_key_expanded) VALUES "
        "('16063', '16', 'Wartburgkreis', 'Landkreis', 'landkreis', 'DEG0P', 1307.44, "
        "123025, 61525, 61500, 94, '2018-12-31', 'duenn_besiedelt', '2018-12-31', NULL, "
        "NULL, 'wartburgkreis', 'wartburgkreis'), "
        "('16056', '16', 'Eisenach, Stadt', 'Kreisfreie Stadt', 'kreisfreie_stadt', "
        "'DEG0N', 104.17, 42370, 20874, 21496, 407, '2018-12-31', 'staedtischer_kreis', "
        "'2018-12-31', '2021-06-30', '16063', 'eisenach stadt', 'eisenach stadt');"
        "INSERT INTO registry.territorial_changes (effective, kind, ags, successor_ags, "
        "recorded_by) VALUES ('2021-07-01', 'merge', '16056', '16063', 'seed')");
    assert_non_null(ok);
    free(ok);
    assert_int_equal(s_migrate_only(f, TH_SOURCE_DIR "/services/registry/migrations"), 0);
    char *v = reg_sql_value(
        db,
        "SELECT string_agg(ags || ' ' || valid_from || '..' || coalesce(valid_to::text, "
        "'') || ' ' || population || ' ' || population_male || ' ' || population_female "
        "|| ' ' || area_km2 || ' ' || population_per_km2 || ' ' || population_date, "
        "', ' ORDER BY ags, valid_from) FROM registry.district_figures");
    assert_non_null(v);
    assert_string_equal(v, "16056 2018-12-31..2021-06-30 42370 20874 21496 104.17 407 "
                           "2018-12-31, "
                           "16063 2018-12-31..2021-06-30 123025 61525 61500 1307.44 94 "
                           "2018-12-31, "
                           "16063 2021-07-01.. 165395 82399 82996 1411.61 117 2018-12-31");
    free(v);
    /* The figures live in one place now. */
    assert_int_equal(reg_sql_count(db, "SELECT count(*) FROM information_schema.columns "
                                       "WHERE table_schema = 'registry' AND table_name = "
                                       "'districts' AND column_name IN ('population', "
                                       "'area_km2', 'settlement_type')"),
                     0);
    /* Both settlement types from the rule: dünn besiedelt before, with
     * Verdichtungsansätzen (117/km²) after. */
    v = reg_sql_value(db,
                      "SELECT string_agg(registry.settlement_type(d.kind, f.population, "
                      "f.population_per_km2), ',' ORDER BY f.valid_from) FROM "
                      "registry.districts d JOIN registry.district_figures f USING (ags) "
                      "WHERE d.ags = '16063'");
    assert_non_null(v);
    assert_string_equal(v, "duenn_besiedelt,laendlicher_kreis_verdichtung");
    free(v);
}

/* Copies the shipped data into dir, replacing line `line` (1-based) of
 * districts-2018.csv with replacement (NULL = copy unchanged). */
static void
s_copy_data(const char *dir, int line, const char *replacement)
{
    const char *files[] = {"states.csv", "districts-2018.csv", "territorial-changes.csv"};
    for (size_t i = 0; i < 3; i++) {
        char src[2048], dst[2048];
        snprintf(src, sizeof src, "%s/data/%s", TH_SOURCE_DIR, files[i]);
        snprintf(dst, sizeof dst, "%s/%s", dir, files[i]);
        FILE *in = fopen(src, "r");
        FILE *out = fopen(dst, "w");
        assert_non_null(in);
        assert_non_null(out);
        char buf[4096];
        int n = 0;
        while (fgets(buf, sizeof buf, in) != NULL) {
            n++;
            if (i == 1 && n == line && replacement != NULL)
                fputs(replacement, out);
            else
                fputs(buf, out);
        }
        fclose(in);
        fclose(out);
    }
}

static void
s_expect_refused(s_fixture_t *f, int line, const char *replacement, const char *message)
{
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/data-%d", f->env.tmp, line);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    assert_int_equal(system(cmd), 0);
    s_copy_data(dir, line, replacement);
    FILE *truncated = fopen(f->log, "w");
    if (truncated != NULL)
        fclose(truncated);
    assert_int_not_equal(reg_seed_only(f->env.db_url, dir, f->log), 0);
    if (!s_file_contains(f->log, message))
        fail_msg("seed log %s lacks \"%s\"", f->log, message);
}

static void
test_seed_refuses_bad_files_and_writes_nothing(void **state)
{
    s_fixture_t *f = *state;
    const char *db = f->env.db_url;
    /* Line 2 is Flensburg; line 300 some district in the middle. */
    s_expect_refused(
        f, 2,
        "0100X;Kreisfreie Stadt;Flensburg, Stadt;DEF01;56.73;89504;44599;44905;1578\n",
        "districts-2018.csv:2: AGS \"0100X\" is not 5 digits");
    s_expect_refused(f, 300, "09999;Landkreis;Nowhere;DE999;1.00;10;5;5;1;extra\n",
                     "districts-2018.csv:300: expected 9 fields");
    s_expect_refused(
        f, 3,
        "01002;Bezirk;Kiel, Landeshauptstadt;DEF02;118.65;247548;120566;126982;2086\n",
        "districts-2018.csv:3: type \"Bezirk\"");
    s_expect_refused(f, 4,
                     "01003;Kreisfreie Stadt;Lübeck, "
                     "Hansestadt;DEF03;-214.19;217198;104371;112827;1014\n",
                     "districts-2018.csv:4: area_km2");
    s_expect_refused(
        f, 5,
        "01004;Kreisfreie Stadt;Neumünster, Stadt;DEF04;71.66;79487;39241;40000;1109\n",
        "districts-2018.csv:5: population 79487 is not population_male");
    s_expect_refused(
        f, 6,
        "01001;Kreisfreie Stadt;Flensburg, Stadt;DEF01;56.73;89504;44599;44905;1578\n",
        "districts-2018.csv:6: AGS 01001 appears twice");
    s_expect_refused(f, 7, "17001;Landkreis;Atlantis;DEF07;10.00;10;5;5;1\n",
                     "belongs to no Land");
    s_expect_refused(f, 1,
                     "AGS;typ;name;NUTS3;area_km2;population;population_male;population_"
                     "female;population_per_km2\n",
                     "header field 2");
    /* A refused load leaves the database untouched: not even the Länder of
     * the valid first file are there. */
    assert_int_equal(reg_sql_count(db, "SELECT count(*) FROM registry.districts"), 0);
    assert_int_equal(reg_sql_count(db, "SELECT count(*) FROM registry.states"), 0);

    char missing[1100];
    snprintf(missing, sizeof missing, "%s/no-such-dir", f->env.tmp);
    assert_int_not_equal(reg_seed_only(db, missing, f->log), 0);
    assert_true(s_file_contains(f->log, "could not open data file"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_seed_refuses_bad_files_and_writes_nothing,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_seed_loads_reference_data_once, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_seed_audits_what_it_adds, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_migration_dates_existing_figures, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
