/* ---------------------------------------------------------------------------
 * main.c: teilhabe-keys, the command-line tool that makes CURVE keys for the
 * broker, its users and its workers (see keys.h for the directory layout).
 *
 * Exit status: 0 success, 1 the command failed, 2 the command line is wrong.
 * ---------------------------------------------------------------------------
 */
#include "keys.h"

#include "th_args.h"
#include "th_config.h"
#include "th_error.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_FAILED 1
#define EXIT_USAGE 2

static const char s_usage[] =
    "usage: teilhabe-keys init DIR\n"
    "       teilhabe-keys client DIR NAME --role ROLE [--state CC] [--district AGS]...\n"
    "                            [--services NAME[,NAME]] [--id ID] [--force]\n"
    "       teilhabe-keys show FILE\n"
    "       teilhabe-keys config DIR NAME --endpoint ENDPOINT --out FILE\n"
    "\n"
    "init    creates DIR/broker.cert, DIR/broker.cert_secret, DIR/public/ and\n"
    "        DIR/private/ unless they exist; an existing key is never replaced.\n"
    "client  creates a principal: DIR/public/NAME.cert (give DIR/public to the broker\n"
    "        as certs_dir) and DIR/private/NAME.cert_secret (mode 0600).\n"
    "        ROLE is admin, ministry, manager, analyst, service or worker (worker keys\n"
    "        may only connect to the broker's backend). --state is a 2-digit Land code\n"
    "        (01-16; none = federal), --district a 5-digit AGS (repeatable, or a\n"
    "        comma list), --id the principal id (default NAME). --force replaces an\n"
    "        existing key of that name. A worker key must name the services it may\n"
    "        serve with --services (full names, e.g. teilhabe.registry.v1.Registry);\n"
    "        the broker refuses its READY for any other service.\n"
    "show    prints a certificate's public key and metadata (never a secret).\n"
    "config  writes a configuration file for the teilhabe CLI that uses NAME's key.\n"
    "\n"
    "exit status: 0 success, 1 failure, 2 usage error\n";

static int s_usage_error(const char *format, ...) __attribute__((format(printf, 1, 2)));

static int
s_usage_error(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    fprintf(stderr, "teilhabe-keys: ");
    vfprintf(stderr, format, args);
    fprintf(stderr, "\nTry \"teilhabe-keys --help\".\n");
    va_end(args);
    return EXIT_USAGE;
}

static int
s_failed(const char *message)
{
    fprintf(stderr, "teilhabe-keys: error: %s\n", message);
    return EXIT_FAILED;
}

/* The options of all commands; a command rejects the ones it does not take. */
typedef struct {
    char **positional; /* malloc'ed array of argv's strings */
    int positional_count;
    th_config_t *flags;
    const char *role;
    const char *state;
    const char *id;
    const char *endpoint;
    const char *out;
    const char *services;
    bool force;
    const char *districts; /* every --district value, joined with ',' */
} s_args_t;

static const th_arg_t s_options[] = {
    {"role", TH_ARG_VALUE, NULL, 0},
    {"state", TH_ARG_VALUE, NULL, 0},
    {"id", TH_ARG_VALUE, NULL, 0},
    {"endpoint", TH_ARG_VALUE, NULL, 0},
    {"out", TH_ARG_VALUE, NULL, 0},
    {"services", TH_ARG_VALUE, NULL, 0},
    /* repeatable, each also a comma list */
    {"district", TH_ARG_LIST, "district", 0},
    {"districts", TH_ARG_LIST, "district", 0},
    {"force", TH_ARG_SWITCH, NULL, 0},
    {NULL, 0, NULL, 0},
};

static void
s_args_clear(s_args_t *args)
{
    free(args->positional);
    th_config_destroy(&args->flags);
}

/* Parses argv[2..] (getopt_long, th_args.h); returns 0 or an exit status. */
static int
s_parse(int argc, char *argv[], s_args_t *args)
{
    memset(args, 0, sizeof *args);
    char errbuf[256];
    args->flags = th_config_new();
    if (args->flags == NULL)
        return s_failed("out of memory");
    const th_arg_group_t group = {.args = s_options, .into = args->flags};
    /* argv[1] (the command) stands in for the program name. */
    if (th_args_parse(argc - 1, argv + 1, &group, 1, false, &args->positional,
                      &args->positional_count, errbuf, sizeof errbuf) != 0)
        return s_usage_error("%s", errbuf);
    if (args->positional_count > 3)
        return s_usage_error("unexpected argument \"%s\"", args->positional[3]);
    args->role = th_config_get(args->flags, "role", NULL);
    args->state = th_config_get(args->flags, "state", NULL);
    args->id = th_config_get(args->flags, "id", NULL);
    args->endpoint = th_config_get(args->flags, "endpoint", NULL);
    args->out = th_config_get(args->flags, "out", NULL);
    args->services = th_config_get(args->flags, "services", NULL);
    args->districts = th_config_get(args->flags, "district", "");
    th_config_get_bool(args->flags, "force", false, &args->force);
    if (strlen(args->districts) > KEYS_DISTRICTS_MAX * 6)
        return s_usage_error("too many districts (at most %d)", KEYS_DISTRICTS_MAX);
    return 0;
}

/* Rejects options that the command does not take, so a typo never goes
 * unnoticed (e.g. --role given to init). */
static int
s_only(const s_args_t *args, const char *command, int positional, bool principal,
       bool config)
{
    if (args->positional_count != positional) {
        fprintf(stderr, "teilhabe-keys: %s takes %d argument%s, got %d\n%s", command,
                positional, positional == 1 ? "" : "s", args->positional_count, s_usage);
        return EXIT_USAGE;
    }
    if (!principal && (args->role || args->state || args->id || args->districts[0] ||
                       args->services || args->force))
        return s_usage_error(
            "%s takes no --role, --state, --district, --services, --id or --force", command);
    if (!config && (args->endpoint || args->out))
        return s_usage_error("%s takes no --endpoint or --out", command);
    return 0;
}

static int s_command(const char *command, const s_args_t *args, char *err, size_t errlen);

int
main(int argc, char *argv[])
{
    char err[1024] = "";
    s_args_t args;

    if (argc < 2)
        return s_usage_error("%s", "a command is missing (init, client, show, config)");
    const char *command = argv[1];
    if (strcmp(command, "--help") == 0 || strcmp(command, "-h") == 0 ||
        strcmp(command, "help") == 0) {
        fputs(s_usage, stdout);
        return 0;
    }
    int rc = s_parse(argc, argv, &args);
    if (rc == 0)
        rc = s_command(command, &args, err, sizeof err);
    s_args_clear(&args);
    return rc;
}

/* Runs command with its parsed arguments; returns the exit status. */
static int
s_command(const char *command, const s_args_t *args_p, char *err, size_t errlen)
{
    const s_args_t args = *args_p;
    int rc = 0;

    if (strcmp(command, "init") == 0) {
        rc = s_only(&args, command, 1, false, false);
        if (rc != 0)
            return rc;
        bool created = false;
        if (keys_init(args.positional[0], &created, err, errlen) != 0)
            return s_failed(err);
        if (created)
            printf("created broker key in %s\n", args.positional[0]);
        else
            printf("broker key in %s exists; kept it\n", args.positional[0]);
        return 0;
    }
    if (strcmp(command, "client") == 0) {
        rc = s_only(&args, command, 2, true, false);
        if (rc != 0)
            return rc;
        const keys_principal_t principal = {
            .name = args.positional[1],
            .id = args.id,
            .role = args.role,
            .state = args.state,
            .districts = args.districts,
            .services = args.services,
        };
        if (keys_client(args.positional[0], &principal, args.force, err, errlen) != 0)
            return s_failed(err);
        printf("created principal %s (role %s) in %s\n", principal.name, principal.role,
               args.positional[0]);
        return 0;
    }
    if (strcmp(command, "show") == 0) {
        rc = s_only(&args, command, 1, false, false);
        if (rc != 0)
            return rc;
        if (keys_show(args.positional[0], stdout, err, errlen) != 0)
            return s_failed(err);
        return 0;
    }
    if (strcmp(command, "config") == 0) {
        rc = s_only(&args, command, 2, false, true);
        if (rc != 0)
            return rc;
        if (args.endpoint == NULL)
            return s_usage_error("%s needs --endpoint ENDPOINT", command);
        if (args.out == NULL)
            return s_usage_error("%s needs --out FILE", command);
        if (keys_config(args.positional[0], args.positional[1], args.endpoint, args.out,
                        err, errlen) != 0)
            return s_failed(err);
        printf("wrote %s\n", args.out);
        return 0;
    }
    return s_usage_error("unknown command \"%s\" (init, client, show, config)", command);
}
