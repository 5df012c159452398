/* ---------------------------------------------------------------------------
 * main.c: the `teilhabe` command-line tool (global flags, command dispatch)
 *
 *   teilhabe [GLOBAL FLAGS] COMMAND [COMMAND FLAGS] [ARGS]
 *
 * Global flags may also stand among the command's flags (cli_parse), all
 * parsed by getopt_long (th_args.h).
 *
 * Configuration comes from a file (--config FILE or TEILHABE_CONFIG), the
 * environment (TEILHABE_<KEY>) and the global flags, later ones winning.
 * ---------------------------------------------------------------------------
 */
#include "cli.h"

#include "th_error.h"
#include "th_log.h"
#include "th_status.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The command tables, one line per cmd_*.c file. */
#define CLI_COMMAND_TABLES(X) \
    X(cli_core_commands) \
    X(cli_district_commands) \
    X(cli_concept_commands) \
    X(cli_manager_commands) \
    X(cli_principal_commands) \
    X(cli_measure_commands) \
    X(cli_indicator_commands) \
    X(cli_assessment_commands) \
    X(cli_reach_commands) \
    X(cli_submission_commands) \
    X(cli_eligibility_commands) \
    X(cli_application_commands) \
    X(cli_report_commands) \
    X(cli_events_commands)

#define X(table) extern const cli_command_t table[];
CLI_COMMAND_TABLES(X)
#undef X

#define X(table) table,
static const cli_command_t *const s_tables[] = {CLI_COMMAND_TABLES(X) NULL};
#undef X

void
cli_help(FILE *out)
{
    fprintf(out,
            "teilhabe: the command-line client of the teilhabe network\n"
            "\n"
            "usage: teilhabe [GLOBAL FLAGS] COMMAND [COMMAND FLAGS] [ARGS]\n"
            "Global flags may also follow the command, among its own flags (where a\n"
            "command has a flag of the same name, that one is the command's); \"--\" ends\n"
            "the flags. Unambiguous abbreviations of long flags work (getopt_long).\n"
            "\n"
            "Global flags (each also a config key, or TEILHABE_<KEY> in the environment):\n"
            "  --config FILE              config file of key = value lines (also TEILHABE_CONFIG)\n"
            "  --endpoint LIST            broker frontend endpoints, comma-separated; the\n"
            "                             client fails over along the list\n"
            "                             (default tcp://127.0.0.1:5555)\n"
            "  --format table|json|csv    output format (default table)\n"
            "  --timeout MS               time each call may take, retries included\n"
            "                             (default 5000)\n"
            "  --broker-cert-public FILE  the broker's public certificate, or\n"
            "  --broker-public-key Z85    the broker's public key itself\n"
            "  --cert FILE                this client's secret certificate\n"
            "  --insecure [true]          no CURVE (only against a broker run --insecure)\n"
            "  --attempt-timeout MS       wait per broker before failing over (default 2000)\n"
            "  --idempotency-key KEY      repeat a change that ended DEADLINE_EXCEEDED or\n"
            "                             UNAVAILABLE with the key printed then: it is made\n"
            "                             at most once\n"
            "  --log-level LEVEL          debug|info|warn|error (default warn)\n"
            "  --wide                     tables with every field and no width limit\n"
            "                             (default: the columns a person needs, within\n"
            "                             120 characters; json and csv always have all)\n"
            "  --page-size N              items per page the list commands ask for\n"
            "                             (default: the most a list allows); every page\n"
            "                             is fetched either way\n"
            "  --help, --version\n"
            "Precedence: config file < environment < flags. The config file has one\n"
            "\"key = value\" per line (keys as the flags, with _ for -; # starts a\n"
            "comment): docs/PROTOCOL.md, section 3.6.\n"
            "\n"
            "Commands:\n");
    for (size_t t = 0; s_tables[t] != NULL; t++)
        for (const cli_command_t *c = s_tables[t]; c->name != NULL; c++)
            fprintf(out, "  %-11s %-22s %s\n", c->group, c->name, c->summary);
    fprintf(out,
            "\n"
            "Exit codes:\n"
            "  0   success (health: only when SERVING)\n"
            "  1   a local failure that never reached the network (unreadable certificate,\n"
            "      output error)\n"
            "  2   usage error (unknown command or flag, bad value, no broker key configured)\n"
            "  10 + the gRPC status code of a failed call:\n");
    for (int code = 1; code <= TH_STATUS_MAX; code++)
        fprintf(out, "  %-3d %s%s\n", th_status_exit_code(code), th_status_name(code),
                code == TH_UNAVAILABLE ? " (also health: NOT_SERVING)"
                : code == TH_NOT_FOUND ? " (also health: SERVICE_UNKNOWN)"
                                       : "");
    fprintf(out, "Errors are printed on stderr as \"error: STATUS: message\", followed by the\n"
                 "fields at fault and a hint what to do.\n");
}

static const cli_command_t *
s_find(const char *name)
{
    for (size_t t = 0; s_tables[t] != NULL; t++)
        for (const cli_command_t *c = s_tables[t]; c->name != NULL; c++)
            if (strcmp(c->name, name) == 0)
                return c;
    return NULL;
}

int
main(int argc, char **argv)
{
    /* SIGINT and SIGTERM end a command at once (the default action). CZMQ
     * would otherwise catch them and let the call run to its deadline. */
    zsys_handler_set(NULL);
    cli_t cli = {
        .prog = "teilhabe", .format = TH_FORMAT_TABLE, .timeout_ms = 5000, .write_version = -1};
    int rc = CLI_EXIT_USAGE;
    char **pos = NULL;
    int n_pos = 0;
    char errbuf[256];
    cli.config = th_config_new();
    cli.global_flags = th_config_new();
    if (cli.config == NULL || cli.global_flags == NULL) {
        fprintf(stderr, "teilhabe: out of memory\n");
        rc = CLI_EXIT_LOCAL;
        goto cleanup;
    }
    /* The global flags up to the command word; the command parses the rest. */
    const th_arg_group_t global = {cli_global_options, cli.global_flags};
    if (th_args_parse(argc, argv, &global, 1, true, &pos, &n_pos, errbuf, sizeof errbuf) != 0) {
        rc = cli_usage_error(&cli, "%s", errbuf);
        goto cleanup;
    }
    bool flag = false;
    if (th_config_get_bool(cli.global_flags, "help", false, &flag) == 0 && flag) {
        cli_help(stdout);
        rc = 0;
        goto cleanup;
    }
    if (th_config_get_bool(cli.global_flags, "version", false, &flag) == 0 && flag) {
        printf("teilhabe %s\n", TH_VERSION);
        rc = 0;
        goto cleanup;
    }
    rc = cli_configure(&cli);
    if (rc != 0)
        goto cleanup;
    rc = CLI_EXIT_USAGE;
    if (n_pos == 0) {
        cli_help(stderr);
        goto cleanup;
    }
    if (strcmp(pos[0], "help") == 0) {
        cli_help(stdout);
        rc = 0;
        goto cleanup;
    }
    const cli_command_t *command = s_find(pos[0]);
    if (command == NULL) {
        rc = cli_usage_error(&cli, "unknown command \"%s\"", pos[0]);
        goto cleanup;
    }
    rc = command->run(&cli, n_pos, pos);
    if (rc == CLI_DONE)
        rc = 0;

cleanup:
    free(pos);
    th_client_destroy(&cli.client);
    th_config_destroy(&cli.global_flags);
    th_config_destroy(&cli.config);
    if (rc == th_status_exit_code(TH_UNAUTHENTICATED)) {
        /* After a broker refused our key, libzmq 4.3's context termination
         * (run by CZMQ at exit) can hang for good on a loaded machine
         * (libzmq issue #2733: a refused CURVE session does not always
         * close). Everything is flushed and released; leave without it. */
        fflush(stdout);
        fflush(stderr);
        _exit(rc);
    }
    return rc;
}
