/* ---------------------------------------------------------------------------
 * cmd_application.c: `teilhabe application set`
 *
 * What a district hands in for a programme of teilhabe-eligibility and
 * neither the registry nor the measures service holds: the date of the
 * council's decision and whether a work plan was handed in. The service
 * stores both together and has no method that reads them back, so both
 * flags are required (a missing one would be stored as "none") and the
 * version is --version, 0 for the first, never read first (cli_version
 * needs a read).
 * ---------------------------------------------------------------------------
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#include "teilhabe/v1/eligibility.pb-c.h"
#include "th_status.h"

#define S_METHOD(name) "teilhabe.eligibility.v1.Eligibility/" name

static int
s_application_set(cli_t *cli, int argc, char **argv)
{
    static const char who[] = "application set";
    static const th_arg_t options[] = {{"council-decision", TH_ARG_VALUE, NULL, 0},
                                       {"work-plan", TH_ARG_BOOL, NULL, 0},
                                       {"version", TH_ARG_VALUE, NULL, 0},
                                       {NULL, 0, NULL, 0}};
    cli_args_t a;
    th_result_t r = {0};
    int rc = cli_parse(cli, who, argc, argv, options, 2, 2, &a);
    if (rc != 0)
        goto cleanup;
    const char *council = cli_flag(&a, "council_decision");
    bool work_plan = false;
    if (council == NULL || cli_flag(&a, "work_plan") == NULL) {
        rc = cli_usage_error(cli,
                             "%s: give both --council-decision DATE|none and --work-plan "
                             "yes|no: the application is stored as a whole, so a flag left "
                             "out would be stored as \"none\"",
                             who);
        goto cleanup;
    }
    if (th_config_get_bool(a.flags, "work_plan", false, &work_plan) != 0) {
        rc = cli_usage_error(cli, "%s: --work-plan must be yes or no", who);
        goto cleanup;
    }
    Teilhabe__Eligibility__V1__Application app =
        TEILHABE__ELIGIBILITY__V1__APPLICATION__INIT;
    app.programme_code = a.pos[0];
    app.ags = a.pos[1];
    app.council_decision = strcmp(council, "none") == 0 ? "" : (char *) council;
    app.work_plan = work_plan;
    Teilhabe__Eligibility__V1__SetApplicationFactsRequest req =
        TEILHABE__ELIGIBILITY__V1__SET_APPLICATION_FACTS_REQUEST__INIT;
    req.application = &app;
    /* No method reads an application back, so the version is not read
     * first (cli_version): 0 for the first, else the one the last set
     * printed or the refusal names. */
    const char *v = cli_flag(&a, "version");
    if (v != NULL &&
        (rc = cli_int(cli, who, "version", v, 0, INT64_MAX, &req.version)) != 0)
        goto cleanup;
    cli->write_version = req.version;
    rc = cli_call(cli, S_METHOD("SetApplicationFacts"), &req.base,
                  &teilhabe__eligibility__v1__application__descriptor, NULL, &r);
    if (rc == th_status_exit_code(TH_FAILED_PRECONDITION) &&
        strstr(r.message, "version") != NULL)
        fprintf(stderr,
                "note: repeat with --version set to the version stored, as the message "
                "says\n");
    if (rc == 0)
        rc = cli_print_one(cli, r.response);
cleanup:
    th_result_clear(&r);
    cli_args_clear(&a);
    return rc;
}

static int
s_application(cli_t *cli, int argc, char **argv)
{
    const char *action = argc > 1 ? argv[1] : "";
    if (strcmp(action, "set") == 0)
        return s_application_set(cli, argc - 1, argv + 1);
    return cli_usage_error(cli, "application: say set PROGRAMME AGS --council-decision "
                                "DATE|none --work-plan yes|no [--version V]");
}

const cli_command_t cli_application_commands[] = {
    {"eligibility", "application",
     "set P AGS --council-decision DATE|none --work-plan yes|no [--version V]",
     s_application},
    {NULL, NULL, NULL, NULL},
};
