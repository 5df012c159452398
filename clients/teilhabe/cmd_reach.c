/* ---------------------------------------------------------------------------
 * cmd_reach.c: `teilhabe reach set|list`
 *
 * Whom a measure reached in a period: participants in total, and of them
 * how many are known to have a migration history and how many known not
 * to (counts only, never data about a person). set without --version finds
 * the version stored for the measure and period with ListReach (0 when the
 * period has no figures yet).
 * ---------------------------------------------------------------------------
 */
#include "cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "teilhabe/v1/measures.pb-c.h"

#define S_METHOD(name) "teilhabe.measures.v1.Measures/" name
/* The most participants a figure may count (measures.proto). */
#define S_COUNT_MAX 1000000000

/* The columns a person needs within 120 characters (--wide: the version
 * and who wrote it too). */
static const char *const s_columns[] = {"measure_id",
                                        "period",
                                        "participants_total",
                                        "with_migration_history",
                                        "without_migration_history",
                                        NULL};

/* Calls ListReach for the measure or the district (the other ""), in
 * period ("" = every period), into *out (the caller clears it). The exit
 * code. */
static int
s_list_reach(cli_t *cli, const char *measure_id, const char *ags, const char *period,
             th_result_t *out)
{
    Teilhabe__Measures__V1__ListReachRequest req =
        TEILHABE__MEASURES__V1__LIST_REACH_REQUEST__INIT;
    req.measure_id = (char *) measure_id;
    req.ags = (char *) ags;
    req.period = (char *) period;
    return cli_call(cli, S_METHOD("ListReach"), &req.base,
                    &teilhabe__measures__v1__list_reach_response__descriptor, NULL, out);
}

/* The version stored for the measure and period of arg (a Reach), 0 when
 * none is (cli_version_read_fn). */
static int
s_stored_version(cli_t *cli, void *arg, int64_t *version)
{
    const Teilhabe__Measures__V1__Reach *reach = arg;
    th_result_t r;
    int rc = s_list_reach(cli, reach->measure_id, "", reach->period, &r);
    if (rc == 0) {
        const Teilhabe__Measures__V1__ListReachResponse *resp = (const void *) r.response;
        *version = 0;
        for (size_t i = 0; i < resp->n_reach; i++)
            if (strcmp(resp->reach[i]->period, reach->period) == 0)
                *version = resp->reach[i]->version;
    }
    th_result_clear(&r);
    return rc;
}

static int
s_set(cli_t *cli, int argc, char **argv)
{
    static const char who[] = "reach set";
    static const th_arg_t options[] = {{"total", TH_ARG_VALUE, NULL, 0},
                                       {"with-history", TH_ARG_VALUE, NULL, 0},
                                       {"without-history", TH_ARG_VALUE, NULL, 0},
                                       {"version", TH_ARG_VALUE, NULL, 0},
                                       {NULL, 0, NULL, 0}};
    cli_args_t a;
    th_result_t r = {0};
    int rc = cli_parse(cli, who, argc, argv, options, 2, 2, &a);
    if (rc != 0)
        goto cleanup;
    Teilhabe__Measures__V1__SetReachRequest req =
        TEILHABE__MEASURES__V1__SET_REACH_REQUEST__INIT;
    Teilhabe__Measures__V1__Reach reach = TEILHABE__MEASURES__V1__REACH__INIT;
    const struct {
        const char *flag, *key;
        int64_t *into;
    } counts[] = {
        {"total", "total", &reach.participants_total},
        {"with-history", "with_history", &reach.with_migration_history},
        {"without-history", "without_history", &reach.without_migration_history},
    };
    /* All three: a part left out would be written as 0, "known to be none". */
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        const char *v = cli_flag(&a, counts[i].key);
        if (v == NULL) {
            rc = cli_usage_error(cli,
                                 "%s: --%s N is missing; give --total, --with-history and "
                                 "--without-history (0 for a part not known)",
                                 who, counts[i].flag);
            goto cleanup;
        }
        if ((rc = cli_int(cli, who, counts[i].flag, v, 0, S_COUNT_MAX, counts[i].into)) !=
            0)
            goto cleanup;
    }
    reach.measure_id = a.pos[0];
    reach.period = a.pos[1];
    req.reach = &reach;
    if ((rc = cli_version(cli, who, &a, 0, s_stored_version, &reach, &req.version)) != 0)
        goto cleanup;
    rc = cli_call(cli, S_METHOD("SetReach"), &req.base,
                  &teilhabe__measures__v1__reach__descriptor, NULL, &r);
    if (rc == 0)
        rc = cli_print_one(cli, r.response);
cleanup:
    th_result_clear(&r);
    cli_args_clear(&a);
    return rc;
}

static int
s_list(cli_t *cli, int argc, char **argv)
{
    static const char who[] = "reach list";
    static const th_arg_t options[] = {{"measure", TH_ARG_VALUE, NULL, 0},
                                       {"district", TH_ARG_VALUE, NULL, 0},
                                       {"period", TH_ARG_VALUE, NULL, 0},
                                       {NULL, 0, NULL, 0}};
    cli_args_t a;
    th_result_t r = {0};
    int rc = cli_parse(cli, who, argc, argv, options, 0, 0, &a);
    if (rc != 0)
        goto cleanup;
    const char *measure = th_config_get(a.flags, "measure", "");
    const char *district = th_config_get(a.flags, "district", "");
    if ((measure[0] == '\0') == (district[0] == '\0')) {
        rc = cli_usage_error(cli,
                             "%s: name a measure (--measure ID) or a district "
                             "(--district AGS), one of them",
                             who);
        goto cleanup;
    }
    rc = s_list_reach(cli, measure, district, th_config_get(a.flags, "period", ""), &r);
    if (rc != 0)
        goto cleanup;
    const Teilhabe__Measures__V1__ListReachResponse *resp = (const void *) r.response;
    rc = cli_print_list(cli, &teilhabe__measures__v1__reach__descriptor,
                        (const ProtobufCMessage *const *) resp->reach, resp->n_reach,
                        s_columns);
cleanup:
    th_result_clear(&r);
    cli_args_clear(&a);
    return rc;
}

static int
s_reach(cli_t *cli, int argc, char **argv)
{
    const char *action = argc > 1 ? argv[1] : "";
    if (strcmp(action, "set") == 0)
        return s_set(cli, argc - 1, argv + 1);
    if (strcmp(action, "list") == 0)
        return s_list(cli, argc - 1, argv + 1);
    return cli_usage_error(cli,
                           "reach: say set MEASURE_ID PERIOD --total N --with-history N "
                           "--without-history N [--version V], or list (--measure ID | "
                           "--district AGS) [--period P]");
}

const cli_command_t cli_reach_commands[] = {
    {"measures", "reach",
     "set MEASURE_ID PERIOD --total N ... | list (--measure ID | --district AGS)", s_reach},
    {NULL, NULL, NULL, NULL},
};
