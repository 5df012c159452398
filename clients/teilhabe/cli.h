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
 * Options are parsed by getopt_long (th_args.h): a command's own options and
 * the global ones, anywhere among its positional arguments; "--" ends them.
 * A list command fetches every page (cli_fetch_all) and prints one table;
 * tables keep to 120 columns with the columns a person needs (--wide: every
 * field, no width limit); JSON and CSV always carry every field.
 *
 * Exit codes: 0 success, 1 a local failure that never reached the network,
 * 2 a usage error, 10 + status code for a call that failed with that status
 * (th_status_exit_code).
 * ---------------------------------------------------------------------------
 */
#ifndef TH_CLI_H
#define TH_CLI_H

#include "th_args.h"
#include "th_client.h"
#include "th_config.h"
#include "th_format.h"

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define CLI_EXIT_LOCAL 1
#define CLI_EXIT_USAGE 2
/* How wide a table is unless --wide: fits a 120-column terminal. */
#define CLI_TABLE_WIDTH 120

typedef struct cli_t {
    const char *prog;          /* "teilhabe" */
    th_config_t *config;       /* file < env < flags; read-only for commands */
    th_config_t *global_flags; /* the global flags, before or after the command */
    th_format_t format;
    int timeout_ms;
    bool wide;                 /* tables: every field, no width limit */
    int page_size;             /* asked of list methods; 0 = each list's maximum */
    th_client_t *client;       /* made by cli_client on first use */
    int client_exit;           /* exit code when cli_client failed */
    /* The version the command's write names, read before it (cli_version),
     * for the note after a write that ended without a verdict; -1 = none. */
    int64_t write_version;
} cli_t;

typedef struct {
    const char *group;
    const char *name;
    const char *summary;
    int (*run)(cli_t *cli, int argc, char **argv);
} cli_command_t;

/* The global options (each also a config key). */
extern const th_arg_t cli_global_options[];

/* A command that printed the help instead of running: the process ends
 * with 0 (main maps it). */
#define CLI_DONE (-1)

/* Prints the help of the tool (main.c). */
void cli_help(FILE *out);

/* Prints "teilhabe: <message>" and a pointer to --help on stderr; returns
 * CLI_EXIT_USAGE. */
int cli_usage_error(cli_t *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* (Re)builds cli->config from file < environment < cli->global_flags and
 * sets the format, timeout, page size and log level from it. 0, or the
 * exit code after printing why. */
int cli_configure(cli_t *cli);

/* The parsed arguments of one command. */
typedef struct {
    th_config_t *flags; /* the command's own options */
    char **pos;         /* positional arguments (argv's strings) */
    int n_pos;
} cli_args_t;

/* Parses a command's argv (argv[0] its name, used as who in messages)
 * against its options (ends with {NULL}) and the global ones, which may
 * stand among them and are applied as if given before the command. Checks
 * that min_pos to max_pos positional arguments were given. 0, or the exit
 * code after printing a usage error; clear out with cli_args_clear either
 * way. CLI_DONE after --help (printed). */
int cli_parse(cli_t *cli, const char *who, int argc, char **argv, const th_arg_t *options,
              int min_pos, int max_pos, cli_args_t *out);
void cli_args_clear(cli_args_t *args);

/* The command's --lang: "" (the service's default, German), "de" or "en";
 * otherwise a usage error (its exit code). */
int cli_lang(cli_t *cli, const char *who, const cli_args_t *a, const char **lang);

/* Writes len bytes of data to path without ever leaving a half-written
 * file: into a temporary file beside it (mode 0644 less the umask), synced,
 * then renamed over path. 0, or CLI_EXIT_LOCAL after saying why. */
int cli_write_file(const char *path, const void *data, size_t len);

/* The value of a command option, or NULL. */
const char *cli_flag(const cli_args_t *args, const char *key);

/* A free text a flag gives (a comment, a reason), checked before anything
 * is sent: the line breaks of a Windows file (CRLF) become LF in place;
 * then valid UTF-8, at most max characters, no control characters but
 * line breaks and tabs. 0, or a usage error naming flag. */
int cli_paragraphs(cli_t *cli, const char *who, const char *flag, char *text, size_t max);

/* Reads the version stored now of what a write is about (0 when nothing
 * is stored), for cli_version. 0, or the exit code after printing why. */
typedef int (*cli_version_read_fn)(cli_t *cli, void *arg, int64_t *version);

/* The version a write names (optimistic concurrency): --version (min to
 * INT64_MAX), else the one stored now (read). A write repeated with
 * --idempotency-key must name the version its first attempt named, so
 * there --version is required: the version read now may differ, and the
 * service refuses a key used for a different request. The version is kept
 * in cli->write_version for the note after a write without a verdict. 0,
 * or the exit code after printing why. */
int cli_version(cli_t *cli, const char *who, const cli_args_t *a, int64_t min,
                cli_version_read_fn read, void *arg, int64_t *version);

/* Parses an option's whole number in [min, max] into *out; a usage error
 * naming flag otherwise. */
int cli_int(cli_t *cli, const char *who, const char *flag, const char *text, int64_t min,
            int64_t max, int64_t *out);

/* Parses an enum token ("landkreis") into *value; a usage error naming the
 * tokens allowed otherwise. */
int cli_enum(cli_t *cli, const char *who, const char *flag, const ProtobufCEnumDescriptor *desc,
             const char *text, int *value);

/* The client, connected per configuration. NULL after printing why, with
 * the exit code in cli->client_exit (2 for a configuration mistake, 1 for
 * an unreadable certificate). */
th_client_t *cli_client(cli_t *cli);

/* A client configured like cli_client's but with the secret certificate
 * cert_path; the caller destroys it. NULL after printing why. */
th_client_t *cli_client_as(cli_t *cli, const char *cert_path);

/* Calls method and, when the status is not OK, prints it with
 * cli_print_status. Returns the exit code (0 on OK: then out->response
 * holds the reply; the caller clears *out either way). */
int cli_call(cli_t *cli, const char *method, const ProtobufCMessage *request,
             const ProtobufCMessageDescriptor *response_desc, const th_call_opts_t *opts,
             th_result_t *out);

/* Prints "error: STATUS: message", the field violations and a hint on
 * stderr. Returns th_status_exit_code(result->code). */
int cli_print_status(cli_t *cli, const char *method, const th_result_t *result);

/* --- lists ---------------------------------------------------------------- */

/* The items of every page of a list, and the replies that hold them. */
typedef struct {
    th_result_t *pages;
    size_t n_pages;
    const ProtobufCMessage **items;
    size_t n_items;
} cli_pages_t;

/* Takes the reply in *page (zeroed afterwards) and appends the messages of
 * its repeated field items_field. 0 or CLI_EXIT_LOCAL. */
int cli_pages_add(cli_pages_t *pages, th_result_t *page, const char *items_field);
void cli_pages_clear(cli_pages_t *pages);

/* Fetches every page of a list method: request must have page_size and
 * page_token fields (page_size is set to cli->page_size, or max_page_size),
 * the response a repeated field items_field and next_page_token. Stops at
 * the last page (an empty token); a token repeated by a faulty service is
 * an error, never an endless loop. Returns the exit code (0: every item in
 * out; clear it either way). */
int cli_fetch_all(cli_t *cli, const char *method, ProtobufCMessage *request,
                  int max_page_size, const ProtobufCMessageDescriptor *response_desc,
                  const char *items_field, cli_pages_t *out);

/* Told after each page cli_fetch_all_progress fetched: the page's reply
 * and how many items there are so far. */
typedef void (*cli_page_progress_fn)(cli_t *cli, void *arg, const ProtobufCMessage *page,
                                     size_t n_items);

/* cli_fetch_all, calling progress (may be NULL) with arg after each page.
 * A write method's pages (EvaluateBatch) repeated with --idempotency-key
 * carry that key on the first page and "KEY/N" on page N. */
int cli_fetch_all_progress(cli_t *cli, const char *method, ProtobufCMessage *request,
                           int max_page_size,
                           const ProtobufCMessageDescriptor *response_desc,
                           const char *items_field, cli_page_progress_fn progress,
                           void *arg, cli_pages_t *out);

/* --- files and the terminal ----------------------------------------------- */

/* Reads the file at path ("-": standard input) into *text (malloc'ed, NUL
 * added; the caller frees), *len bytes without the NUL. A file above max
 * bytes is refused with "error: "PATH" is larger than <too_large>" (say
 * the limit and what to do: "256 KiB, the most a rule set may have"). 0, or
 * CLI_EXIT_LOCAL after printing why. */
int cli_read_file(const char *path, size_t max, const char *too_large, char **text,
                  size_t *len);

/* Whether to draw progress on stderr: only on a terminal, and not in CI
 * (CI=true), where a log would fill with carriage returns. */
bool cli_show_progress(void);

/* --- output --------------------------------------------------------------- */

/* Writes a table of text cells (rows x columns) under header in --format
 * table's style, within CLI_TABLE_WIDTH unless --wide: for tables that are
 * not one field per column. 0 or CLI_EXIT_LOCAL. */
int cli_print_cells(cli_t *cli, const char *const *header, size_t columns,
                    const char *const *cells, size_t rows);

/* Writes messages in the chosen --format: a table shows columns
 * (NULL-terminated field names; NULL = all) within CLI_TABLE_WIDTH unless
 * --wide. Returns 0 or CLI_EXIT_LOCAL. */
int cli_print_list(cli_t *cli, const ProtobufCMessageDescriptor *desc,
                   const ProtobufCMessage *const *msgs, size_t n, const char *const *columns);
int cli_print_one(cli_t *cli, const ProtobufCMessage *msg);

#endif /* TH_CLI_H */
