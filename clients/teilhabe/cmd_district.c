/* ---------------------------------------------------------------------------
 * cmd_district.c: `teilhabe district show|list|search|history|merge` and
 * `teilhabe state list`
 *
 * Each top-level word is one command of the table (cli.h); its first
 * argument names the action. Enum values are typed as their tokens
 * (landkreis, duenn_besiedelt) and shown by their labels (th_enum.h), from
 * the proto's descriptors: the CLI keeps no copy of a vocabulary.
 * ---------------------------------------------------------------------------
 */
#include "cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "teilhabe/v1/registry.pb-c.h"

#define S_METHOD(name) "teilhabe.registry.v1.Registry/" name
#define S_PAGE_MAX 500

/* The columns a person needs (--wide: all). */
static const char *const s_district_columns[] = {
    "ags", "name", "kind", "state_code", "population", "area_km2", "settlement_type",
    NULL};
static const char *const s_change_columns[] = {
    "effective", "kind", "ags", "successor_ags", "note", "recorded_by", NULL};

static int
s_district_show(cli_t *cli, int argc, char **argv)
{
    static const th_arg_t options[] = {{"as-of", TH_ARG_VALUE, NULL, 0}, {NULL, 0, NULL, 0}};
    cli_args_t a;
    int rc = cli_parse(cli, "district show", argc, argv, options, 1, 1, &a);
    if (rc == 0) {
        Teilhabe__Registry__V1__GetDistrictRequest req =
            TEILHABE__REGISTRY__V1__GET_DISTRICT_REQUEST__INIT;
        req.ags = a.pos[0];
        req.as_of = (char *) th_config_get(a.flags, "as_of", "");
        th_result_t r;
        rc = cli_call(cli, S_METHOD("GetDistrict"), &req.base,
                      &teilhabe__registry__v1__district__descriptor, NULL, &r);
        if (rc == 0)
            rc = cli_print_one(cli, r.response);
        th_result_clear(&r);
    }
    cli_args_clear(&a);
    return rc;
}

static int
s_district_list(cli_t *cli, int argc, char **argv)
{
    static const char who[] = "district list";
    static const th_arg_t options[] = {
        {"state", TH_ARG_VALUE, NULL, 0},      {"kind", TH_ARG_VALUE, NULL, 0},
        {"settlement", TH_ARG_VALUE, NULL, 0}, {"as-of", TH_ARG_VALUE, NULL, 0},
        {NULL, 0, NULL, 0}};
    cli_args_t a;
    cli_pages_t pages = {0};
    int rc = cli_parse(cli, who, argc, argv, options, 0, 0, &a);
    if (rc != 0)
        goto cleanup;
    Teilhabe__Registry__V1__ListDistrictsRequest req =
        TEILHABE__REGISTRY__V1__LIST_DISTRICTS_REQUEST__INIT;
    req.state_code = (char *) th_config_get(a.flags, "state", "");
    req.as_of = (char *) th_config_get(a.flags, "as_of", "");
    const char *kind = cli_flag(&a, "kind");
    const char *settlement = cli_flag(&a, "settlement");
    int value = 0;
    if (kind != NULL) {
        if ((rc = cli_enum(cli, who, "kind", &teilhabe__registry__v1__district_kind__descriptor,
                           kind, &value)) != 0)
            goto cleanup;
        req.kind = value;
    }
    if (settlement != NULL) {
        if ((rc = cli_enum(cli, who, "settlement",
                           &teilhabe__registry__v1__settlement_type__descriptor, settlement,
                           &value)) != 0)
            goto cleanup;
        req.settlement_type = value;
    }
    /* Every page into one list: the output is one table / array. */
    rc = cli_fetch_all(cli, S_METHOD("ListDistricts"), &req.base, S_PAGE_MAX,
                       &teilhabe__registry__v1__list_districts_response__descriptor,
                       "districts", &pages);
    if (rc == 0)
        rc = cli_print_list(cli, &teilhabe__registry__v1__district__descriptor, pages.items,
                            pages.n_items, s_district_columns);
cleanup:
    cli_pages_clear(&pages);
    cli_args_clear(&a);
    return rc;
}

static int
s_district_search(cli_t *cli, int argc, char **argv)
{
    static const char who[] = "district search";
    static const th_arg_t options[] = {{"as-of", TH_ARG_VALUE, NULL, 0},
                                       {"limit", TH_ARG_VALUE, NULL, 0},
                                       {"include-ended", TH_ARG_SWITCH, NULL, 0},
                                       {NULL, 0, NULL, 0}};
    cli_args_t a;
    int rc = cli_parse(cli, who, argc, argv, options, 1, 1, &a);
    if (rc != 0)
        goto cleanup;
    Teilhabe__Registry__V1__SearchDistrictsRequest req =
        TEILHABE__REGISTRY__V1__SEARCH_DISTRICTS_REQUEST__INIT;
    req.text = a.pos[0];
    req.as_of = (char *) th_config_get(a.flags, "as_of", "");
    bool ended = false;
    th_config_get_bool(a.flags, "include_ended", false, &ended);
    req.include_ended = ended;
    int64_t limit = 0;
    if (cli_flag(&a, "limit") != NULL &&
        (rc = cli_int(cli, who, "limit", cli_flag(&a, "limit"), 1, 100, &limit)) != 0)
        goto cleanup;
    req.page_size = (int32_t) limit;
    th_result_t r;
    rc = cli_call(cli, S_METHOD("SearchDistricts"), &req.base,
                  &teilhabe__registry__v1__search_districts_response__descriptor, NULL, &r);
    if (rc == 0) {
        const Teilhabe__Registry__V1__SearchDistrictsResponse *resp = (const void *) r.response;
        rc = cli_print_list(cli, &teilhabe__registry__v1__district__descriptor,
                            (const ProtobufCMessage *const *) resp->districts,
                            resp->n_districts, s_district_columns);
    }
    th_result_clear(&r);
cleanup:
    cli_args_clear(&a);
    return rc;
}

static int
s_district_history(cli_t *cli, int argc, char **argv)
{
    static const th_arg_t options[] = {{NULL, 0, NULL, 0}};
    cli_args_t a;
    int rc = cli_parse(cli, "district history", argc, argv, options, 1, 1, &a);
    if (rc != 0) {
        cli_args_clear(&a);
        return rc;
    }
    Teilhabe__Registry__V1__GetTerritorialHistoryRequest req =
        TEILHABE__REGISTRY__V1__GET_TERRITORIAL_HISTORY_REQUEST__INIT;
    req.ags = a.pos[0];
    th_result_t r;
    rc = cli_call(cli, S_METHOD("GetTerritorialHistory"), &req.base,
                  &teilhabe__registry__v1__get_territorial_history_response__descriptor, NULL,
                  &r);
    if (rc == 0) {
        const Teilhabe__Registry__V1__GetTerritorialHistoryResponse *resp =
            (const void *) r.response;
        if (cli->format == TH_FORMAT_JSON) {
            rc = cli_print_one(cli, r.response);
        } else {
            /* For people: the district, then its changes. CSV: the changes. */
            if (cli->format == TH_FORMAT_TABLE && resp->district != NULL) {
                rc = cli_print_one(cli, &resp->district->base);
                printf("\n");
            }
            if (rc == 0)
                rc = cli_print_list(cli, &teilhabe__registry__v1__territorial_change__descriptor,
                                    (const ProtobufCMessage *const *) resp->changes,
                                    resp->n_changes, s_change_columns);
        }
    }
    th_result_clear(&r);
    cli_args_clear(&a);
    return rc;
}

static int
s_district_merge(cli_t *cli, int argc, char **argv)
{
    static const th_arg_t options[] = {{"into", TH_ARG_VALUE, NULL, 0},
                                       {"effective", TH_ARG_VALUE, NULL, 0},
                                       {"note", TH_ARG_VALUE, NULL, 0},
                                       {NULL, 0, NULL, 0}};
    cli_args_t a;
    int rc = cli_parse(cli, "district merge", argc, argv, options, 1, 1, &a);
    if (rc != 0)
        goto cleanup;
    Teilhabe__Registry__V1__RecordTerritorialChangeRequest req =
        TEILHABE__REGISTRY__V1__RECORD_TERRITORIAL_CHANGE_REQUEST__INIT;
    req.ags = a.pos[0];
    req.successor_ags = (char *) th_config_get(a.flags, "into", "");
    req.effective = (char *) th_config_get(a.flags, "effective", "");
    req.note = (char *) th_config_get(a.flags, "note", "");
    req.kind = TEILHABE__REGISTRY__V1__TERRITORIAL_CHANGE_KIND__TERRITORIAL_CHANGE_KIND_MERGE;
    if (req.successor_ags[0] == '\0' || req.effective[0] == '\0') {
        rc = cli_usage_error(cli, "district merge: --into AGS and --effective DATE are "
                                  "required");
        goto cleanup;
    }
    th_result_t r;
    rc = cli_call(cli, S_METHOD("RecordTerritorialChange"), &req.base,
                  &teilhabe__registry__v1__territorial_change__descriptor, NULL, &r);
    if (rc == 0)
        rc = cli_print_one(cli, r.response);
    th_result_clear(&r);
cleanup:
    cli_args_clear(&a);
    return rc;
}

static int
s_district(cli_t *cli, int argc, char **argv)
{
    const char *action = argc > 1 ? argv[1] : "";
    if (strcmp(action, "show") == 0)
        return s_district_show(cli, argc - 1, argv + 1);
    if (strcmp(action, "list") == 0)
        return s_district_list(cli, argc - 1, argv + 1);
    if (strcmp(action, "search") == 0)
        return s_district_search(cli, argc - 1, argv + 1);
    if (strcmp(action, "history") == 0)
        return s_district_history(cli, argc - 1, argv + 1);
    if (strcmp(action, "merge") == 0)
        return s_district_merge(cli, argc - 1, argv + 1);
    return cli_usage_error(cli,
                           "district: say show AGS [--as-of DATE], list [--state CODE] "
                           "[--kind K] [--settlement T] [--as-of DATE], search TEXT, "
                           "history AGS or merge AGS --into AGS --effective DATE "
                           "[--note TEXT] (admin)");
}

static int
s_state(cli_t *cli, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "list") != 0)
        return cli_usage_error(cli, "state: say list [--as-of DATE]");
    static const th_arg_t options[] = {{"as-of", TH_ARG_VALUE, NULL, 0}, {NULL, 0, NULL, 0}};
    cli_args_t a;
    int rc = cli_parse(cli, "state list", argc - 1, argv + 1, options, 0, 0, &a);
    if (rc != 0) {
        cli_args_clear(&a);
        return rc;
    }
    Teilhabe__Registry__V1__ListStatesRequest req =
        TEILHABE__REGISTRY__V1__LIST_STATES_REQUEST__INIT;
    req.as_of = (char *) th_config_get(a.flags, "as_of", "");
    th_result_t r;
    rc = cli_call(cli, S_METHOD("ListStates"), &req.base,
                  &teilhabe__registry__v1__list_states_response__descriptor, NULL, &r);
    if (rc == 0) {
        const Teilhabe__Registry__V1__ListStatesResponse *resp = (const void *) r.response;
        rc = cli_print_list(cli, &teilhabe__registry__v1__state__descriptor,
                            (const ProtobufCMessage *const *) resp->states, resp->n_states,
                            NULL);
        if (rc == 0 && cli->format == TH_FORMAT_TABLE)
            printf("\n%u districts on %s, population %" PRId64 " (counted on %s)\n",
                   resp->total_districts, resp->as_of, resp->total_population,
                   resp->population_date[0] != '\0' ? resp->population_date : "-");
    }
    th_result_clear(&r);
    cli_args_clear(&a);
    return rc;
}

const cli_command_t cli_district_commands[] = {
    {"registry", "district",
     "show AGS | list | search TEXT | history AGS | merge AGS (admin)", s_district},
    {"registry", "state", "list [--as-of DATE]: the Länder with their district counts",
     s_state},
    {NULL, NULL, NULL, NULL},
};
