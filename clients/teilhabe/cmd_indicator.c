/* ---------------------------------------------------------------------------
 * cmd_indicator.c: `teilhabe indicator list|show|add|values|import`
 *
 * The catalogue (list, show, add: a ministry) and a district's or Land's
 * indicator values with their rates (values). Directions may be typed
 * short (higher, lower), disaggregations too (total, with, without).
 * import sends a CSV file to ImportValues in chunks of 512 KiB (a request
 * may have 1 MiB) and prints the report.
 * ---------------------------------------------------------------------------
 */
#include "cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <czmq.h>

#include "teilhabe/v1/fields.pb-c.h"
#include "teilhabe/v1/measures.pb-c.h"
#include "th_status.h"

#define S_METHOD(name) "teilhabe.measures.v1.Measures/" name
#define S_PAGE_MAX 500
#define S_VALUES_PAGE_MAX 1000
/* ImportValues: chunks of 512 KiB, at most 64 of them (docs/measures.md). */
#define S_CHUNK (512 * 1024)
#define S_FILE_MAX (64 * S_CHUNK)
/* The last chunk reads and writes the whole file: it gets at least this
 * long (ms), whatever --timeout says. */
#define S_IMPORT_TIMEOUT 300000

static const char *const s_indicator_columns[] = {"code", "name_en", "unit", "field",
                                                  "direction", "illustrative", NULL};
static const char *const s_value_columns[] = {"ags",         "indicator_code", "period",
                                              "disaggregation", "numerator", "denominator",
                                              "value",       "source",         NULL};

/* "with" / "without" / "total" or the full token into *value. */
static int
s_disaggregation(cli_t *cli, const char *who, const char *flag, const char *text, int *value)
{
    if (strcmp(text, "with") == 0)
        text = "with_migration_history";
    else if (strcmp(text, "without") == 0)
        text = "without_migration_history";
    return cli_enum(cli, who, flag, &teilhabe__measures__v1__disaggregation__descriptor, text,
                    value);
}

static int
s_list(cli_t *cli, int argc, char **argv)
{
    static const char who[] = "indicator list";
    static const th_arg_t options[] = {{"field", TH_ARG_VALUE, NULL, 0}, {NULL, 0, NULL, 0}};
    cli_args_t a;
    cli_pages_t pages = {0};
    int rc = cli_parse(cli, who, argc, argv, options, 0, 0, &a);
    if (rc != 0)
        goto cleanup;
    Teilhabe__Measures__V1__ListIndicatorsRequest req =
        TEILHABE__MEASURES__V1__LIST_INDICATORS_REQUEST__INIT;
    const char *field = cli_flag(&a, "field");
    if (field != NULL) {
        int value = 0;
        if ((rc = cli_enum(cli, who, "field", &teilhabe__common__v1__field_of_action__descriptor,
                           field, &value)) != 0)
            goto cleanup;
        req.field = value;
    }
    rc = cli_fetch_all(cli, S_METHOD("ListIndicators"), &req.base, S_PAGE_MAX,
                       &teilhabe__measures__v1__list_indicators_response__descriptor,
                       "indicators", &pages);
    if (rc == 0)
        rc = cli_print_list(cli, &teilhabe__measures__v1__indicator__descriptor, pages.items,
                            pages.n_items, s_indicator_columns);
cleanup:
    cli_pages_clear(&pages);
    cli_args_clear(&a);
    return rc;
}

static int
s_show(cli_t *cli, int argc, char **argv)
{
    static const th_arg_t options[] = {{NULL, 0, NULL, 0}};
    cli_args_t a;
    int rc = cli_parse(cli, "indicator show", argc, argv, options, 1, 1, &a);
    if (rc == 0) {
        Teilhabe__Measures__V1__GetIndicatorRequest req =
            TEILHABE__MEASURES__V1__GET_INDICATOR_REQUEST__INIT;
        req.code = a.pos[0];
        th_result_t r;
        rc = cli_call(cli, S_METHOD("GetIndicator"), &req.base,
                      &teilhabe__measures__v1__indicator__descriptor, NULL, &r);
        if (rc == 0)
            rc = cli_print_one(cli, r.response);
        th_result_clear(&r);
    }
    cli_args_clear(&a);
    return rc;
}

static int
s_add(cli_t *cli, int argc, char **argv)
{
    static const char who[] = "indicator add";
    static const th_arg_t options[] = {
        {"code", TH_ARG_VALUE, NULL, 0},        {"name-de", TH_ARG_VALUE, NULL, 0},
        {"name-en", TH_ARG_VALUE, NULL, 0},     {"unit", TH_ARG_VALUE, NULL, 0},
        {"field", TH_ARG_VALUE, NULL, 0},       {"numerator", TH_ARG_VALUE, NULL, 0},
        {"denominator", TH_ARG_VALUE, NULL, 0}, {"factor", TH_ARG_VALUE, NULL, 0},
        {"direction", TH_ARG_VALUE, NULL, 0},   {"disaggregations", TH_ARG_VALUE, NULL, 0},
        {"source", TH_ARG_VALUE, NULL, 0},      {"illustrative", TH_ARG_SWITCH, NULL, 0},
        {NULL, 0, NULL, 0}};
    cli_args_t a;
    int rc = cli_parse(cli, who, argc, argv, options, 0, 0, &a);
    if (rc != 0)
        goto cleanup;
    Teilhabe__Measures__V1__CreateIndicatorRequest req =
        TEILHABE__MEASURES__V1__CREATE_INDICATOR_REQUEST__INIT;
    Teilhabe__Measures__V1__Indicator ind = TEILHABE__MEASURES__V1__INDICATOR__INIT;
    Teilhabe__Measures__V1__Disaggregation dis[4];
    req.indicator = &ind;
    ind.code = (char *) th_config_get(a.flags, "code", "");
    ind.name_de = (char *) th_config_get(a.flags, "name_de", "");
    ind.name_en = (char *) th_config_get(a.flags, "name_en", "");
    ind.unit = (char *) th_config_get(a.flags, "unit", "");
    ind.numerator = (char *) th_config_get(a.flags, "numerator", "");
    ind.denominator = (char *) th_config_get(a.flags, "denominator", "");
    ind.source = (char *) th_config_get(a.flags, "source", "");
    bool illustrative = false;
    th_config_get_bool(a.flags, "illustrative", false, &illustrative);
    ind.illustrative = illustrative;
    int value = 0;
    const char *v;
    if ((v = cli_flag(&a, "field")) != NULL) {
        if ((rc = cli_enum(cli, who, "field", &teilhabe__common__v1__field_of_action__descriptor,
                           v, &value)) != 0)
            goto cleanup;
        ind.field = value;
    }
    /* Without --factor: a percentage when there is a denominator, else a
     * plain count. */
    int64_t factor = ind.denominator[0] != '\0' ? 100 : 1;
    if ((v = cli_flag(&a, "factor")) != NULL &&
        (rc = cli_int(cli, who, "factor", v, 1, 100000, &factor)) != 0)
        goto cleanup;
    ind.factor = factor;
    if ((v = cli_flag(&a, "direction")) != NULL) {
        const char *token = strcmp(v, "higher") == 0  ? "higher_is_better"
                            : strcmp(v, "lower") == 0 ? "lower_is_better"
                                                      : v;
        if ((rc = cli_enum(cli, who, "direction", &teilhabe__measures__v1__direction__descriptor,
                           token, &value)) != 0)
            goto cleanup;
        ind.direction = value;
    }
    char list[128];
    snprintf(list, sizeof list, "%s", th_config_get(a.flags, "disaggregations", "total"));
    char *save = NULL;
    for (char *t = strtok_r(list, ", ", &save); t != NULL; t = strtok_r(NULL, ", ", &save)) {
        if (ind.n_disaggregations == 4) {
            rc = cli_usage_error(cli, "%s: --disaggregations names at most 3", who);
            goto cleanup;
        }
        if ((rc = s_disaggregation(cli, who, "disaggregations", t, &value)) != 0)
            goto cleanup;
        dis[ind.n_disaggregations++] = value;
    }
    ind.disaggregations = dis;
    th_result_t r;
    rc = cli_call(cli, S_METHOD("CreateIndicator"), &req.base,
                  &teilhabe__measures__v1__indicator__descriptor, NULL, &r);
    if (rc == 0)
        rc = cli_print_one(cli, r.response);
    th_result_clear(&r);
cleanup:
    cli_args_clear(&a);
    return rc;
}

static int
s_values(cli_t *cli, int argc, char **argv)
{
    static const char who[] = "indicator values";
    static const th_arg_t options[] = {
        {"district", TH_ARG_VALUE, NULL, 0}, {"state", TH_ARG_VALUE, NULL, 0},
        {"indicator", TH_ARG_VALUE, NULL, 0}, {"disaggregation", TH_ARG_VALUE, NULL, 0},
        {"from", TH_ARG_VALUE, NULL, 0},     {"to", TH_ARG_VALUE, NULL, 0},
        {NULL, 0, NULL, 0}};
    cli_args_t a;
    cli_pages_t pages = {0};
    int rc = cli_parse(cli, who, argc, argv, options, 0, 0, &a);
    if (rc != 0)
        goto cleanup;
    Teilhabe__Measures__V1__ListValuesRequest req =
        TEILHABE__MEASURES__V1__LIST_VALUES_REQUEST__INIT;
    req.ags = (char *) th_config_get(a.flags, "district", "");
    req.state_code = (char *) th_config_get(a.flags, "state", "");
    req.indicator_code = (char *) th_config_get(a.flags, "indicator", "");
    req.from_period = (char *) th_config_get(a.flags, "from", "");
    req.to_period = (char *) th_config_get(a.flags, "to", "");
    const char *v = cli_flag(&a, "disaggregation");
    int value = 0;
    if (v != NULL) {
        if ((rc = s_disaggregation(cli, who, "disaggregation", v, &value)) != 0)
            goto cleanup;
        req.disaggregation = value;
    }
    rc = cli_fetch_all(cli, S_METHOD("ListValues"), &req.base, S_VALUES_PAGE_MAX,
                       &teilhabe__measures__v1__list_values_response__descriptor, "values",
                       &pages);
    if (rc == 0)
        rc = cli_print_list(cli, &teilhabe__measures__v1__indicator_value__descriptor,
                            pages.items, pages.n_items, s_value_columns);
cleanup:
    cli_pages_clear(&pages);
    cli_args_clear(&a);
    return rc;
}


/* The progress bar: on a terminal only, and not when CI=true. */
static void
s_progress(bool show, size_t done, size_t total)
{
    if (!show)
        return;
    const int width = 30;
    const int filled = total > 0 ? (int) ((double) done / (double) total * width) : width;
    fprintf(stderr, "\rimporting [%.*s%*s] %3d%% of %.1f MB", filled,
            "##############################", width - filled, "",
            total > 0 ? (int) (100.0 * (double) done / (double) total) : 100,
            (double) total / 1e6);
    fflush(stderr);
}

static const char *const s_rejection_columns[] = {"line", "field", "reason", NULL};

static int
s_import(cli_t *cli, int argc, char **argv)
{
    static const char who[] = "indicator import";
    static const th_arg_t options[] = {{"dry-run", TH_ARG_SWITCH, NULL, 0}, {NULL, 0, NULL, 0}};
    cli_args_t a;
    char *text = NULL;
    th_result_t r = {0};
    int rc = cli_parse(cli, who, argc, argv, options, 1, 1, &a);
    if (rc != 0)
        goto cleanup;
    size_t len = 0;
    if ((rc = cli_read_file(a.pos[0], S_FILE_MAX,
                            "32 MiB, the most one import takes: split it", &text, &len)) !=
        0)
        goto cleanup;
    const bool bar = cli_show_progress();
    zuuid_t *uuid = zuuid_new();
    char id[37];
    snprintf(id, sizeof id, "%s", uuid != NULL ? zuuid_str_canonical(uuid) : "");
    zuuid_destroy(&uuid);
    const int timeout = cli->timeout_ms;
    size_t pos = 0;
    for (int chunk = 0;; chunk++) {
        const size_t n = len - pos < S_CHUNK ? len - pos : S_CHUNK;
        Teilhabe__Measures__V1__ImportValuesRequest req =
            TEILHABE__MEASURES__V1__IMPORT_VALUES_REQUEST__INIT;
        req.import_id = id;
        req.chunk = chunk;
        req.csv.data = (uint8_t *) text + pos;
        req.csv.len = n;
        req.last = pos + n >= len;
        req.dry_run = cli_flag(&a, "dry_run") != NULL;
        if (req.last && cli->timeout_ms < S_IMPORT_TIMEOUT)
            cli->timeout_ms = S_IMPORT_TIMEOUT;
        th_result_clear(&r);
        rc = cli_call(cli, S_METHOD("ImportValues"), &req.base,
                      &teilhabe__measures__v1__import_values_response__descriptor, NULL, &r);
        cli->timeout_ms = timeout;
        pos += n;
        s_progress(bar && rc == 0, pos, len);
        if (rc != 0 || req.last)
            break;
    }
    if (bar)
        fputc('\n', stderr);
    if (rc != 0)
        goto cleanup;
    const Teilhabe__Measures__V1__ImportValuesResponse *rep = (const void *) r.response;
    if (cli->format == TH_FORMAT_TABLE) {
        printf("%s %s: %" PRId64 " lines, %d districts%s\n", rep->dry_run ? "dry run of" : "import",
               rep->import_id, rep->lines, (int) rep->districts,
               rep->applied      ? ""
               : rep->dry_run    ? " (nothing written)"
                                 : " (nothing written: every line must pass)");
        printf("created %" PRId64 ", updated %" PRId64 ", unchanged %" PRId64
               ", rejected %" PRId64 "\n",
               rep->created, rep->updated, rep->unchanged, rep->rejected);
        if (rep->n_rejections > 0)
            rc = cli_print_list(cli, &teilhabe__measures__v1__import_rejection__descriptor,
                                (const ProtobufCMessage *const *) rep->rejections,
                                rep->n_rejections, s_rejection_columns);
        if (rep->rejected > (int64_t) rep->n_rejections)
            printf("... and %" PRId64 " more rejected lines\n",
                   rep->rejected - (int64_t) rep->n_rejections);
    } else {
        rc = cli_print_one(cli, r.response);
    }
    if (rc == 0 && rep->rejected > 0) {
        fprintf(stderr, "error: %" PRId64 " lines rejected; nothing was written\n",
                rep->rejected);
        rc = th_status_exit_code(TH_INVALID_ARGUMENT);
    }
cleanup:
    th_result_clear(&r);
    free(text);
    cli_args_clear(&a);
    return rc;
}

static int
s_indicator(cli_t *cli, int argc, char **argv)
{
    const char *action = argc > 1 ? argv[1] : "";
    if (strcmp(action, "list") == 0)
        return s_list(cli, argc - 1, argv + 1);
    if (strcmp(action, "show") == 0)
        return s_show(cli, argc - 1, argv + 1);
    if (strcmp(action, "add") == 0)
        return s_add(cli, argc - 1, argv + 1);
    if (strcmp(action, "values") == 0)
        return s_values(cli, argc - 1, argv + 1);
    if (strcmp(action, "import") == 0)
        return s_import(cli, argc - 1, argv + 1);
    return cli_usage_error(
        cli, "indicator: say list [--field F], show CODE, add --code C --name-de N --name-en N "
             "--unit U --field F --numerator TEXT [--denominator TEXT] [--factor N] "
             "--direction higher|lower [--disaggregations total,with,without] --source TEXT "
             "[--illustrative], or values [--district AGS | --state CODE] [--indicator CODE] "
             "[--disaggregation total|with|without] [--from PERIOD] [--to PERIOD], or "
             "import FILE.csv [--dry-run]");
}

const cli_command_t cli_indicator_commands[] = {
    {"measures", "indicator",
     "list | show CODE | add ... | values [--district AGS] | import FILE.csv [--dry-run]",
     s_indicator},
    {NULL, NULL, NULL, NULL},
};
