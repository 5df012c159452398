/* ---------------------------------------------------------------------------
 * main.c: teilhabe-keys, the command-line tool that makes CURVE keys for the
 * broker, its users and its workers (see keys.h for the directory layout).
 *
 * Exit status: 0 success, 1 the command failed, 2 the command line is wrong.
 * ---------------------------------------------------------------------------
 */
#include "keys.h"

#include "th_error.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
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
    const char *positional[3];
    int positional_count;
    const char *role;
    const char *state;
    const char *id;
    const char *endpoint;
    const char *out;
    const char *services;
    bool force;
    char districts[KEYS_DISTRICTS_MAX * 6 + 1];
} s_args_t;

/* Appends one --district value (itself possibly a comma list). */
static int
s_add_districts(s_args_t *args, const char *value)
{
    const size_t used = strlen(args->districts);
    const size_t extra = strlen(value) + (used > 0 ? 1 : 0);
    if (used + extra >= sizeof args->districts)
        return s_usage_error("too many districts (at most %d)", KEYS_DISTRICTS_MAX);
    if (used > 0)
        strcat(args->districts, ",");
    strcat(args->districts, value);
    return 0;
}

/* Parses argv[2..]; returns 0 or an exit status. */
static int
s_parse(int argc, char *argv[], s_args_t *args)
{
    memset(args, 0, sizeof *args);
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0) {
            if (args->positional_count == 3)
                return s_usage_error("unexpected argument \"%s\"", arg);
            args->positional[args->positional_count++] = arg;
            continue;
        }
        if (strcmp(arg, "--force") == 0) {
            args->force = true;
            continue;
        }
        /* Every other option takes a value: --name VALUE or --name=VALUE. */
        char name[32];
        const char *value = NULL;
        const char *eq = strchr(arg, '=');
        const size_t len = eq != NULL ? (size_t) (eq - arg) : strlen(arg);
        if (len >= sizeof name)
            return s_usage_error("unknown option \"%s\"", arg);
        memcpy(name, arg, len);
        name[len] = '\0';
        if (eq != NULL)
            value = eq + 1;
        else if (i + 1 < argc)
            value = argv[++i];
        else
            return s_usage_error("option %s needs a value", name);

        if (strcmp(name, "--role") == 0)
            args->role = value;
        else if (strcmp(name, "--state") == 0)
            args->state = value;
        else if (strcmp(name, "--id") == 0)
            args->id = value;
        else if (strcmp(name, "--endpoint") == 0)
            args->endpoint = value;
        else if (strcmp(name, "--out") == 0)
            args->out = value;
        else if (strcmp(name, "--services") == 0)
            args->services = value;
        else if (strcmp(name, "--district") == 0 || strcmp(name, "--districts") == 0) {
            const int rc = s_add_districts(args, value);
            if (rc != 0)
                return rc;
        } else
            return s_usage_error("unknown option \"%s\"", name);
    }
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
    if (rc != 0)
        return rc;

    if (strcmp(command, "init") == 0) {
        rc = s_only(&args, command, 1, false, false);
        if (rc != 0)
            return rc;
        bool created = false;
        if (keys_init(args.positional[0], &created, err, sizeof err) != 0)
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
        if (keys_client(args.positional[0], &principal, args.force, err, sizeof err) != 0)
            return s_failed(err);
        printf("created principal %s (role %s) in %s\n", principal.name, principal.role,
               args.positional[0]);
        return 0;
    }
    if (strcmp(command, "show") == 0) {
        rc = s_only(&args, command, 1, false, false);
        if (rc != 0)
            return rc;
        if (keys_show(args.positional[0], stdout, err, sizeof err) != 0)
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
                        err, sizeof err) != 0)
            return s_failed(err);
        printf("wrote %s\n", args.out);
        return 0;
    }
    return s_usage_error("unknown command \"%s\" (init, client, show, config)", command);
}
