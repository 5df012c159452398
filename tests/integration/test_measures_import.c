/* ---------------------------------------------------------------------------
 * test_measures_import.c: ImportValues, the bulk import of indicator values
 * from CSV, through the real stack, and `teilhabe indicator import`.
 *
 * Counts of created / updated / unchanged values; a dry run that reports
 * the same and writes nothing; rejected lines with their numbers, fields
 * and reasons (unknown indicator, malformed period, negative counts,
 * denominator 0, a value twice, wrong columns, invalid UTF-8, a header that
 * is not the one documented, 100,000 lines of garbage), and nothing written
 * when any line is rejected, also for a file of 100,000 lines in chunks
 * whose line 70,000 is bad; chunks out of order; a manager of Gotha cannot
 * import for Sömmerda; the CLI with its exit codes.
 * ---------------------------------------------------------------------------
 */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "measures_csv.h"
#include "measures_env.h"

typedef Teilhabe__Measures__V1__ImportValuesResponse s_report_t;

typedef struct {
    measures_env_t env;
    th_client_t *ministry; /* Thüringen */
    th_client_t *gotha;    /* manager-gotha */
    th_client_t *analyst;
    char conf[1200];       /* the CLI as ministry-th */
} s_fixture_t;

static int
s_setup(void **state)
{
    s_fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    *state = f;
    if (measures_env_start(&f->env, "measimp") != 0)
        return -1;
    f->ministry = meas_client(&f->env, "ministry-th");
    f->gotha = meas_client(&f->env, "manager-gotha");
    f->analyst = meas_client(&f->env, "analyst");
    snprintf(f->conf, sizeof f->conf, "%s/ministry.conf", f->env.reg.tmp);
    FILE *fp = fopen(f->conf, "w");
    if (fp == NULL)
        return -1;
    fprintf(fp, "endpoint = %s\nbroker_cert_public = %s/broker.cert\ncert = "
                "%s/private/ministry-th.cert_secret\n",
            f->env.reg.broker.frontend, f->env.reg.keys, f->env.reg.keys);
    fclose(fp);
    return f->ministry && f->gotha && f->analyst ? 0 : -1;
}

static int
s_teardown(void **state)
{
    s_fixture_t *f = *state;
    th_client_destroy(&f->ministry);
    th_client_destroy(&f->gotha);
    th_client_destroy(&f->analyst);
    const bool clean = measures_env_stop(&f->env);
    free(f);
    return clean ? 0 : -1;
}

static long long
s_values(s_fixture_t *f)
{
    return meas_count(&f->env, "SELECT count(*) FROM measures.indicator_values");
}

static void
s_clear_values(s_fixture_t *f)
{
    free(reg_sql_value(f->env.reg.db_url, "DELETE FROM measures.indicator_values"));
}

static int
s_import(s_fixture_t *f, th_client_t *c, const char *text, bool dry_run, th_result_t *r)
{
    return meas_import(c, text, strlen(text), dry_run, 60000, r);
}

/* The rejection of line, or NULL. */
static const Teilhabe__Measures__V1__ImportRejection *
s_rejection(const s_report_t *rep, int line)
{
    for (size_t i = 0; i < rep->n_rejections; i++)
        if (rep->rejections[i]->line == line)
            return rep->rejections[i];
    return NULL;
}

static void
s_expect_rejected(const s_report_t *rep, int line, const char *field, const char *words)
{
    const Teilhabe__Measures__V1__ImportRejection *rej = s_rejection(rep, line);
    if (rej == NULL)
        fail_msg("line %d was not rejected", line);
    if (strcmp(rej->field, field) != 0 || strstr(rej->reason, words) == NULL)
        fail_msg("line %d: field \"%s\", reason \"%s\"; expected field \"%s\" and \"%s\"",
                 line, rej->field, rej->reason, field, words);
}

static void
test_import_counts_and_dry_run(void **state)
{
    s_fixture_t *f = *state;
    s_clear_values(f);
    th_result_t r;
    const char *first = MEAS_CSV_HEADER
        "16068,sgb2_share,2024,total,4200,60000,BA,\n"
        "16068,language_course_participants,2024Q3,total,85,,BAMF,\"a note, with a comma\"\n"
        "16067,sgb2_share,2024,with,900,8000,BA,\n"
        "16067,naturalisations,2024,total,120,9000,,\n";
    assert_int_equal(s_import(f, f->ministry, first, false, &r), TH_OK);
    const s_report_t *rep = (const void *) r.response;
    assert_true(rep->done && rep->applied);
    assert_int_equal(rep->lines, 4);
    assert_int_equal(rep->created, 4);
    assert_int_equal(rep->updated + rep->unchanged + rep->rejected, 0);
    assert_int_equal(rep->districts, 2);
    th_result_clear(&r);
    assert_int_equal(s_values(f), 4);
    assert_int_equal(meas_count(&f->env, "SELECT count(*) FROM measures.indicator_values "
                                         "WHERE note = 'a note, with a comma' AND "
                                         "denominator = 0 AND numerator = 85"),
                     1);
    /* One audit row and one event per district, the import named. */
    assert_int_equal(meas_count(&f->env, "SELECT count(*) FROM audit.log WHERE method LIKE "
                                         "'%ImportValues' AND resource LIKE 'districts/%/values' "
                                         "AND (after->>'created')::int = 2"),
                     2);
    assert_int_equal(meas_count(&f->env, "SELECT count(*) FROM measures.events WHERE topic = "
                                         "'values.put'"),
                     2);

    /* Again with one value changed, one new and two as they are: a dry
     * run says so and changes nothing, the import does the same. */
    const char *second = "\xef\xbb\xbf" MEAS_CSV_HEADER
        "16068,sgb2_share,2024,total,4300,60000,BA,\r\n"
        "16068,language_course_participants,2024Q3,total,85,,BAMF,\"a note, with a comma\"\r\n"
        "16067,sgb2_share,2024,with,900,8000,BA,\r\n"
        "\r\n"
        "16067,naturalisations,2024,total,120,9000,,\r\n"
        "16067,naturalisations,2023,total,110,9000,,\r\n";
    for (int dry = 1; dry >= 0; dry--) {
        assert_int_equal(s_import(f, f->ministry, second, dry == 1, &r), TH_OK);
        rep = (const void *) r.response;
        assert_int_equal(rep->lines, 5);
        assert_int_equal(rep->created, 1);
        assert_int_equal(rep->updated, 1);
        assert_int_equal(rep->unchanged, 3);
        assert_int_equal(rep->rejected, 0);
        assert_int_equal(rep->applied, dry == 0);
        assert_int_equal(rep->dry_run, dry == 1);
        th_result_clear(&r);
        assert_int_equal(s_values(f), dry ? 4 : 5);
        assert_int_equal(meas_count(&f->env, "SELECT count(*) FROM measures.indicator_values "
                                             "WHERE numerator = 4300"),
                         dry ? 0 : 1);
    }
    /* Both districts changed: one more audit row each. */
    assert_int_equal(meas_count(&f->env, "SELECT count(*) FROM measures.events WHERE topic = "
                                         "'values.put'"),
                     4);
    /* Nothing stays staged. */
    assert_int_equal(meas_count(&f->env, "SELECT count(*) FROM measures.import_rows"), 0);
}

static void
test_import_rejected_lines(void **state)
{
    s_fixture_t *f = *state;
    s_clear_values(f);
    const long long audited =
        meas_count(&f->env, "SELECT count(*) FROM audit.log WHERE method LIKE '%ImportValues'");
    th_result_t r;
    const char *text = MEAS_CSV_HEADER
        "16068,sgb2_share,2024,total,4200,60000,BA,\n"                 /* 2 fine */
        "16068,no_such_indicator,2024,total,1,1,,\n"                   /* 3 */
        "16068,sgb2_share,2024Q5,total,1,1,,\n"                        /* 4 */
        "16068,sgb2_share,2023,total,-5,100,,\n"                       /* 5 */
        "16068,sgb2_share,2022,total,5,0,,\n"                          /* 6 */
        "16068,sgb2_share,2021,total,5\n"                              /* 7 */
        "16068,sgb2_share,2024,total,4200,60000,BA,\n"                 /* 8 twice */
        "16068,naturalisations,2024,with,1,100,,\n"                    /* 9 */
        "16068,language_course_participants,2024,total,5,10,,\n"       /* 10 */
        "1606,sgb2_share,2024,total,1,1,,\n"                           /* 11 */
        "16068,sgb2_share,2020,total,1\xff,100,,\n"                    /* 12 */
        "16068,sgb2_share,2019,total,abc,100,,\n"                      /* 13 */
        "16068,sgb2_share,2019,some,1,100,,\n"                         /* 14 */
        "16068,sgb2_share,2018,total,1,100,\"a \"quote\",\n"           /* 15 */
        "16068,sgb2_share,2017,total,1,100,,\n";                       /* 16 fine */
    assert_int_equal(s_import(f, f->ministry, text, false, &r), TH_OK);
    const s_report_t *rep = (const void *) r.response;
    assert_false(rep->applied);
    assert_int_equal(rep->lines, 15);
    assert_int_equal(rep->rejected, 13);
    assert_int_equal(rep->n_rejections, 13);
    assert_int_equal(rep->created + rep->updated + rep->unchanged, 0);
    assert_null(s_rejection(rep, 2));
    s_expect_rejected(rep, 3, "indicator_code", "no indicator has the code");
    s_expect_rejected(rep, 4, "period", "is not a period");
    s_expect_rejected(rep, 5, "numerator", "-5 is outside 0 to");
    s_expect_rejected(rep, 6, "denominator", "must be above 0");
    s_expect_rejected(rep, 7, "", "has 5 fields, not the 8");
    s_expect_rejected(rep, 8, "", "a second time (first on line 2)");
    s_expect_rejected(rep, 9, "disaggregation", "has no values with_migration_history");
    s_expect_rejected(rep, 10, "denominator", "must be 0");
    s_expect_rejected(rep, 11, "ags", "is not an AGS");
    s_expect_rejected(rep, 12, "", "not valid UTF-8");
    s_expect_rejected(rep, 13, "numerator", "is not a whole number");
    s_expect_rejected(rep, 14, "disaggregation", "is not a disaggregation");
    s_expect_rejected(rep, 15, "", "not well-formed CSV");
    assert_null(s_rejection(rep, 16));
    th_result_clear(&r);
    /* All or nothing: lines 2 and 16 were fine, and are not written. */
    assert_int_equal(s_values(f), 0);
    assert_int_equal(meas_count(&f->env, "SELECT count(*) FROM audit.log WHERE method LIKE "
                                         "'%ImportValues'"),
                     audited);

    /* Wrong columns: the header names them; nothing after it is read. */
    assert_int_equal(s_import(f, f->ministry,
                              "ags;indicator;period;value\n16068;sgb2_share;2024;4\n", false,
                              &r),
                     TH_OK);
    rep = (const void *) r.response;
    assert_int_equal(rep->rejected, 1);
    s_expect_rejected(rep, 1, "", "must be the header ags,indicator_code,period");
    assert_false(rep->applied);
    th_result_clear(&r);
    /* Not UTF-8 (Latin-1 "Gemeinde Sömmerda" in a note): the line named. */
    assert_int_equal(s_import(f, f->ministry,
                              MEAS_CSV_HEADER "16068,sgb2_share,2024,total,1,100,,ok\n"
                                              "16068,sgb2_share,2023,total,1,100,,S\xf6mmerda\n",
                              false, &r),
                     TH_OK);
    rep = (const void *) r.response;
    assert_int_equal(rep->rejected, 1);
    s_expect_rejected(rep, 3, "", "not valid UTF-8");
    th_result_clear(&r);
    /* An empty file. */
    assert_int_equal(s_import(f, f->ministry, "", false, &r), TH_OK);
    rep = (const void *) r.response;
    assert_int_equal(rep->rejected, 1);
    s_expect_rejected(rep, 1, "", "the file is empty");
    th_result_clear(&r);
    assert_int_equal(s_values(f), 0);
}

static void
test_import_garbage(void **state)
{
    s_fixture_t *f = *state;
    s_clear_values(f);
    /* 100,000 lines of random bytes (no line breaks, no double quotes)
     * after the header: each its own fault, the first 1000 listed. */
    const size_t lines = 100000;
    char *text = malloc(strlen(MEAS_CSV_HEADER) + lines * 41 + 1);
    assert_non_null(text);
    size_t pos = (size_t) sprintf(text, "%s", MEAS_CSV_HEADER);
    unsigned seed = 8;
    for (size_t i = 0; i < lines; i++) {
        for (int k = 0; k < 40; k++) {
            seed = seed * 1103515245u + 12345u;
            char c = (char) (1 + (seed >> 16) % 255);
            if (c == '\n' || c == '\r' || c == '"')
                c = ',';
            text[pos++] = c;
        }
        text[pos++] = '\n';
    }
    text[pos] = '\0';
    th_result_t r;
    assert_int_equal(meas_import(f->ministry, text, pos, false, 60000, &r), TH_OK);
    const s_report_t *rep = (const void *) r.response;
    assert_int_equal(rep->lines, (int64_t) lines);
    assert_int_equal(rep->rejected, (int64_t) lines);
    assert_int_equal(rep->n_rejections, 1000);
    assert_int_equal(rep->rejections[0]->line, 2);
    assert_int_equal(rep->rejections[999]->line, 1001);
    assert_true(rep->chunks > 1);
    assert_false(rep->applied);
    th_result_clear(&r);
    /* A file that is all garbage: its first line is no header. */
    assert_int_equal(meas_import(f->ministry, text + strlen(MEAS_CSV_HEADER),
                                 pos - strlen(MEAS_CSV_HEADER), false, 60000, &r),
                     TH_OK);
    rep = (const void *) r.response;
    assert_int_equal(rep->rejected, 1);
    s_expect_rejected(rep, 1, "", "must be the header");
    th_result_clear(&r);
    free(text);
    assert_int_equal(s_values(f), 0);
    assert_int_equal(meas_count(&f->env, "SELECT count(*) FROM measures.import_chunks"), 0);
    /* The service is still there. */
    assert_int_equal(s_import(f, f->ministry,
                              MEAS_CSV_HEADER "16068,sgb2_share,2024,total,1,100,,\n", true, &r),
                     TH_OK);
    th_result_clear(&r);
}

static void
test_import_100000_lines_all_or_nothing(void **state)
{
    s_fixture_t *f = *state;
    s_clear_values(f);
    size_t len = 0;
    char *text = meas_csv_values(100000, 0, &len);
    assert_non_null(text);
    /* Line 70,000 (the header is line 1) gets a quarter that is none. */
    char *line = text;
    for (int i = 1; i < 70000; i++)
        line = strchr(line, '\n') + 1;
    char *period = strchr(strchr(line, ',') + 1, ',') + 1;
    assert_memory_equal(period + 4, "-", 1); /* a month */
    char saved[3];
    memcpy(saved, period + 4, 3);
    memcpy(period + 4, "Q05", 3);
    th_result_t r;
    assert_int_equal(meas_import(f->ministry, text, len, false, 120000, &r), TH_OK);
    const s_report_t *rep = (const void *) r.response;
    assert_int_equal(rep->lines, 100000);
    assert_int_equal(rep->rejected, 1);
    s_expect_rejected(rep, 70000, "period", "is not a period");
    assert_false(rep->applied);
    th_result_clear(&r);
    assert_int_equal(s_values(f), 0);
    /* Mended, the whole file goes in; again, nothing changes. */
    memcpy(period + 4, saved, 3);
    assert_int_equal(meas_import(f->ministry, text, len, false, 120000, &r), TH_OK);
    rep = (const void *) r.response;
    assert_true(rep->applied);
    assert_int_equal(rep->created, 100000);
    assert_int_equal(rep->districts, 22);
    th_result_clear(&r);
    assert_int_equal(s_values(f), 100000);
    assert_int_equal(meas_import(f->ministry, text, len, true, 120000, &r), TH_OK);
    rep = (const void *) r.response;
    assert_int_equal(rep->unchanged, 100000);
    th_result_clear(&r);
    free(text);
    assert_int_equal(meas_count(&f->env, "SELECT count(*) FROM measures.import_rows"), 0);
}

static void
test_import_rights_and_chunks(void **state)
{
    s_fixture_t *f = *state;
    s_clear_values(f);
    th_result_t r;
    /* A manager of Gotha imports for Gotha, not for Sömmerda. */
    const char *both = MEAS_CSV_HEADER "16067,sgb2_share,2024,total,1,100,,\n"
                                       "16068,sgb2_share,2024,total,1,100,,\n";
    assert_int_equal(s_import(f, f->gotha, both, false, &r), TH_PERMISSION_DENIED);
    assert_non_null(strstr(r.message, "16068"));
    assert_non_null(strstr(r.message, "line 3"));
    th_result_clear(&r);
    assert_int_equal(s_import(f, f->gotha, both, true, &r), TH_PERMISSION_DENIED);
    th_result_clear(&r);
    assert_int_equal(s_values(f), 0);
    assert_int_equal(
        s_import(f, f->gotha, MEAS_CSV_HEADER "16067,sgb2_share,2024,total,1,100,,\n", false,
                 &r),
        TH_OK);
    assert_int_equal(((const s_report_t *) r.response)->created, 1);
    th_result_clear(&r);
    /* An analyst imports nothing; a district that ended is the
     * registry's NOT_FOUND, naming the line. */
    assert_int_equal(s_import(f, f->analyst, both, true, &r), TH_PERMISSION_DENIED);
    th_result_clear(&r);
    assert_int_equal(s_import(f, f->ministry,
                              MEAS_CSV_HEADER "16056,sgb2_share,2024,total,1,100,,\n", false,
                              &r),
                     TH_NOT_FOUND);
    assert_true(reg_has_violation(&r, "lines[2].ags"));
    th_result_clear(&r);

    /* Chunks in order only; a chunk above 512 KiB; an id that is none. */
    Teilhabe__Measures__V1__ImportValuesRequest req =
        TEILHABE__MEASURES__V1__IMPORT_VALUES_REQUEST__INIT;
    req.import_id = "0b7e2b6c-1d5a-4c1e-9a59-6f1f0e2a7c11";
    req.chunk = 1;
    req.csv.data = (uint8_t *) "x";
    req.csv.len = 1;
    assert_int_equal(meas_call(f->ministry, MEAS_METHOD("ImportValues"), &req.base,
                               &teilhabe__measures__v1__import_values_response__descriptor,
                               10000, &r),
                     TH_FAILED_PRECONDITION);
    assert_true(reg_has_violation(&r, "chunk"));
    th_result_clear(&r);
    uint8_t *big = calloc(1, MEAS_CHUNK + 1);
    assert_non_null(big);
    req.chunk = 0;
    req.csv.data = big;
    req.csv.len = MEAS_CHUNK + 1;
    assert_int_equal(meas_call(f->ministry, MEAS_METHOD("ImportValues"), &req.base,
                               &teilhabe__measures__v1__import_values_response__descriptor,
                               10000, &r),
                     TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "csv"));
    th_result_clear(&r);
    free(big);
    req.import_id = "import-1";
    req.csv.data = (uint8_t *) "x";
    req.csv.len = 1;
    assert_int_equal(meas_call(f->ministry, MEAS_METHOD("ImportValues"), &req.base,
                               &teilhabe__measures__v1__import_values_response__descriptor,
                               10000, &r),
                     TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "import_id"));
    th_result_clear(&r);
    /* A staged chunk is the stager's: another principal cannot finish it. */
    req.import_id = "0b7e2b6c-1d5a-4c1e-9a59-6f1f0e2a7c12";
    req.csv.data = (uint8_t *) MEAS_CSV_HEADER;
    req.csv.len = strlen(MEAS_CSV_HEADER);
    assert_int_equal(meas_call(f->ministry, MEAS_METHOD("ImportValues"), &req.base,
                               &teilhabe__measures__v1__import_values_response__descriptor,
                               10000, &r),
                     TH_OK);
    assert_false(((const s_report_t *) r.response)->done);
    assert_int_equal(((const s_report_t *) r.response)->chunks, 1);
    th_result_clear(&r);
    req.chunk = 1;
    req.last = true;
    req.csv.data = (uint8_t *) "16067,sgb2_share,2023,total,1,100,,\n";
    req.csv.len = strlen((const char *) req.csv.data);
    assert_int_equal(meas_call(f->gotha, MEAS_METHOD("ImportValues"), &req.base,
                               &teilhabe__measures__v1__import_values_response__descriptor,
                               10000, &r),
                     TH_FAILED_PRECONDITION);
    th_result_clear(&r);
    assert_int_equal(meas_call(f->ministry, MEAS_METHOD("ImportValues"), &req.base,
                               &teilhabe__measures__v1__import_values_response__descriptor,
                               10000, &r),
                     TH_OK);
    assert_int_equal(((const s_report_t *) r.response)->created, 1);
    assert_int_equal(((const s_report_t *) r.response)->chunks, 2);
    th_result_clear(&r);
    assert_int_equal(s_values(f), 2);
}

/* Runs the CLI as ministry-th with args; its stdout (and stderr, when
 * with_stderr) into *out (malloc'ed). Returns the exit code. */
static int
s_cli(s_fixture_t *f, char **out, bool with_stderr, const char *args)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "CI=true timeout -k 5 120 '%s' --config '%s' %s %s",
             TH_TEST_CLI_BIN, f->conf, args, with_stderr ? "2>&1" : "2>/dev/null");
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 1 << 16, len = 0, got;
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
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
test_cli_import(void **state)
{
    s_fixture_t *f = *state;
    s_clear_values(f);
    char path[1200], args[1400];
    snprintf(path, sizeof path, "%s/values.csv", f->env.reg.tmp);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(MEAS_CSV_HEADER "16068,sgb2_share,2024,total,4200,60000,BA,\n"
                          "16067,sgb2_share,2024,total,900,8000,BA,\n",
          fp);
    fclose(fp);
    char *out = NULL;
    /* A dry run: the report, nothing written, exit 0. */
    snprintf(args, sizeof args, "indicator import '%s' --dry-run", path);
    const int dry = s_cli(f, &out, true, args);
    if (dry != 0 || strstr(out, "dry run") == NULL)
        fail_msg("exit %d: %s", dry, out);
    assert_non_null(strstr(out, "created"));
    /* CI=true: no progress bar. */
    assert_null(strstr(out, "\r"));
    free(out);
    assert_int_equal(s_values(f), 0);
    snprintf(args, sizeof args, "--format json indicator import '%s'", path);
    assert_int_equal(s_cli(f, &out, false, args), 0);
    json_error_t err;
    json_t *rep = json_loads(out, 0, &err);
    if (rep == NULL)
        fail_msg("not JSON: %s\n%s", err.text, out);
    const json_t *created = json_object_get(rep, "created");
    /* int64 fields are JSON strings (proto3 JSON mapping) */
    assert_true(json_is_string(created) ? strcmp(json_string_value(created), "2") == 0
                                        : json_integer_value(created) == 2);
    assert_true(json_is_true(json_object_get(rep, "applied")));
    json_decref(rep);
    free(out);
    assert_int_equal(s_values(f), 2);
    /* A bad line: the report names it, exit 13 (INVALID_ARGUMENT). */
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(MEAS_CSV_HEADER "16068,sgb2_share,2024Q5,total,4200,60000,BA,\n", fp);
    fclose(fp);
    snprintf(args, sizeof args, "indicator import '%s'", path);
    assert_int_equal(s_cli(f, &out, true, args), 13);
    assert_non_null(strstr(out, "is not a period"));
    free(out);
    /* A file that is not there; no file at all. */
    snprintf(args, sizeof args, "indicator import '%s/none.csv'", f->env.reg.tmp);
    assert_int_equal(s_cli(f, &out, true, args), 1);
    free(out);
    assert_int_equal(s_cli(f, &out, true, "indicator import"), 2);
    free(out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_import_counts_and_dry_run),
        cmocka_unit_test(test_import_rejected_lines),
        cmocka_unit_test(test_import_garbage),
        cmocka_unit_test(test_import_100000_lines_all_or_nothing),
        cmocka_unit_test(test_import_rights_and_chunks),
        cmocka_unit_test(test_cli_import),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
