/* ---------------------------------------------------------------------------
 * cli.h: what the commands of the `teilhabe` tool share.
 *
 * A command is a row in a table: group, name, one-line summary and a run
 * function that gets the command's own arguments (argv[0] is the command
 * name) and returns the process exit code. Each cmd_*.c file defines one
 * NULL-terminated table; main.c lists the tables, one line each (see
 * CLI_COMMAND_TABLES there), so adding a file of commands is a one-line
 * change.
 *
 * Exit codes: 0 success, 1 a local failure that never reached the network,
 * 2 a usage error, 10 + status code for a call that failed with that status
 * (th_status_exit_code).
 * ---------------------------------------------------------------------------
 */
#ifndef TH_CLI_H
#define TH_CLI_H

#include "th_client.h"
#include "th_config.h"
#include "th_format.h"

#include <protobuf-c/protobuf-c.h>

#define CLI_EXIT_LOCAL 1
#define CLI_EXIT_USAGE 2

typedef struct cli_t {
    const char *prog;     /* "teilhabe" */
    th_config_t *config;  /* file < env < flags; read-only for commands */
    th_config_t *global_flags; /* the global flags, before or after the command */
    th_format_t format;
    int timeout_ms;
    th_client_t *client;  /* made by cli_client on first use */
    int client_exit;      /* exit code when cli_client failed */
} cli_t;

typedef struct {
    const char *group;
    const char *name;
    const char *summary;
    int (*run)(cli_t *cli, int argc, char **argv);
} cli_command_t;

/* Prints "teilhabe: <message>" and a pointer to --help on stderr; returns
 * CLI_EXIT_USAGE. */
int cli_usage_error(cli_t *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The global flags that take a value (NULL-terminated). */
extern const char *const cli_global_flags[];

/* (Re)builds cli->config from file < environment < cli->global_flags and
 * sets the format, timeout and log level from it. 0, or the exit code after
 * printing why. */
int cli_configure(cli_t *cli);

/* Parses a command's flags (--key value / --key=value) into a new config;
 * allowed is the NULL-terminated list of keys it takes, bool_flags those
 * without a value. A global flag the command does not take itself is
 * accepted among them too: it is moved to the front of argv (right after
 * argv[0], as getopt permutes) and applied as if given before the command.
 * Returns NULL after printing a usage error; *first_arg gets the index of
 * the first positional argument. */
th_config_t *cli_parse_flags(cli_t *cli, int argc, char **argv, const char *const *allowed,
                             const char *const *bool_flags, int *first_arg);

/* The same with who ("" for the global flags) in front of error messages. */
th_config_t *cli_parse_flags_as(cli_t *cli, const char *who, int argc, char **argv,
                                const char *const *allowed, const char *const *bool_flags,
                                int *first_arg);

/* The client, connected per configuration. NULL after printing why, with
 * the exit code in cli->client_exit (2 for a configuration mistake, 1 for
 * an unreadable certificate). */
th_client_t *cli_client(cli_t *cli);

/* Calls method and, when the status is not OK, prints it with
 * cli_print_status. Returns the exit code (0 on OK: then out->response
 * holds the reply; the caller clears *out either way). */
int cli_call(cli_t *cli, const char *method, const ProtobufCMessage *request,
             const ProtobufCMessageDescriptor *response_desc, const th_call_opts_t *opts,
             th_result_t *out);

/* Prints "error: STATUS: message", the field violations and a hint on
 * stderr. Returns th_status_exit_code(result->code). */
int cli_print_status(cli_t *cli, const char *method, const th_result_t *result);

/* Writes messages in the chosen --format. Returns 0 or CLI_EXIT_LOCAL. */
int cli_print_list(cli_t *cli, const ProtobufCMessageDescriptor *desc,
                   const ProtobufCMessage *const *msgs, size_t n);
int cli_print_one(cli_t *cli, const ProtobufCMessage *msg);

#endif /* TH_CLI_H */
