/* ---------------------------------------------------------------------------
 * cli.c: the helpers every `teilhabe` command uses (client, calls, errors,
 * output)
 * ---------------------------------------------------------------------------
 */
#include "cli.h"

#include "th_error.h"
#include "th_log.h"
#include "th_methods.h"
#include "th_status.h"

#include <czmq.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
cli_usage_error(cli_t *cli, const char *fmt, ...)
{
    fprintf(stderr, "%s: ", cli->prog);
    va_list args;
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fprintf(stderr, "\nTry \"%s --help\".\n", cli->prog);
    return CLI_EXIT_USAGE;
}

static bool
s_in_list(const char *const *list, const char *key)
{
    for (; list != NULL && *list != NULL; list++)
        if (strcmp(*list, key) == 0)
            return true;
    return false;
}

th_config_t *
cli_parse_flags(cli_t *cli, int argc, char **argv, const char *const *allowed,
                const char *const *bool_flags, int *first_arg)
{
    char who[80];
    snprintf(who, sizeof who, "%s: ", argv[0]);
    return cli_parse_flags_as(cli, who, argc, argv, allowed, bool_flags, first_arg);
}

const char *const cli_global_flags[] = {
    "config", "endpoint", "format", "timeout", "cert", "broker_public_key",
    "broker_cert_public", "insecure", "attempt_timeout", "log_level", "idempotency_key", NULL,
};

int
cli_configure(cli_t *cli)
{
    char errbuf[512];
    th_config_t *config = th_config_new();
    if (config == NULL) {
        fprintf(stderr, "%s: out of memory\n", cli->prog);
        return CLI_EXIT_LOCAL;
    }
    int loaded = th_config_load_layers(config, cli->global_flags, errbuf, sizeof errbuf);
    if (loaded != 0) {
        fprintf(stderr, "error: %s\n", errbuf);
        th_config_destroy(&config);
        return loaded == TH_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_LOCAL;
    }
    th_config_destroy(&cli->config);
    cli->config = config;
    th_log_level_t level = TH_LOG_WARN;
    if (th_log_level_parse(th_config_get(config, "log_level", "warn"), &level) != 0)
        return cli_usage_error(cli, "log_level must be debug, info, warn or error");
    th_log_init("cli", level);
    if (th_format_parse(th_config_get(config, "format", "table"), &cli->format) != 0)
        return cli_usage_error(cli, "format must be table, json or csv, not \"%s\"",
                               th_config_get(config, "format", ""));
    long timeout = 0;
    if (th_config_get_long(config, "timeout", 5000, 1, 3600000, &timeout) != 0)
        return cli_usage_error(cli,
                               "timeout must be a number of milliseconds (1-3600000), not "
                               "\"%s\"",
                               th_config_get(config, "timeout", ""));
    cli->timeout_ms = (int) timeout;
    return 0;
}

/* The key of flag argument arg ("--log-level=x" -> "log_level"). */
static void
s_flag_key(const char *arg, char key[65])
{
    size_t len = strcspn(arg + 2, "=");
    if (len >= 65)
        len = 64;
    for (size_t k = 0; k < len; k++)
        key[k] = arg[2 + k] == '-' ? '_' : arg[2 + k];
    key[len] = '\0';
}

th_config_t *
cli_parse_flags_as(cli_t *cli, const char *who, int argc, char **argv,
                   const char *const *allowed, const char *const *bool_flags, int *first_arg)
{
    /* A command's parse also takes the global flags it does not have
     * itself; its own flags win where names clash. */
    bool take_globals = allowed != cli_global_flags && cli->global_flags != NULL;
    /* Every flag given must be one this command knows; checked first, so
     * an unknown flag is reported as such and not as a flag lacking a
     * value. Global ones are moved to argv[1..n_global], keeping order. */
    int n_global = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--") == 0 || strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
            break;
        char key[65];
        s_flag_key(arg, key);
        bool is_bool = s_in_list(bool_flags, key);
        bool has_value = strchr(arg, '=') == NULL && !is_bool && i + 1 < argc;
        if (!s_in_list(allowed, key) && !is_bool) {
            if (!take_globals || !s_in_list(cli_global_flags, key)) {
                cli_usage_error(cli, "%sunknown flag \"%s\"", who, arg);
                return NULL;
            }
            /* Rotate the flag (and its value) down to the globals */
            int width = has_value ? 2 : 1;
            char *moved[2] = {argv[i], has_value ? argv[i + 1] : NULL};
            memmove(&argv[n_global + 1 + width], &argv[n_global + 1],
                    (size_t) (i - n_global - 1) * sizeof *argv);
            for (int k = 0; k < width; k++)
                argv[n_global + 1 + k] = moved[k];
            n_global += width;
            i += width - 1;
            continue;
        }
        if (has_value)
            i++; /* its value */
    }
    char errbuf[256];
    th_config_t *flags = th_config_new();
    if (flags == NULL) {
        fprintf(stderr, "%s: out of memory\n", cli->prog);
        return NULL;
    }
    if (n_global > 0) {
        th_config_t *globals = th_config_new();
        int ignored = 0;
        int rc = globals == NULL ? TH_ENOMEM
                                 : th_config_load_args(globals, n_global + 1, argv, NULL,
                                                       &ignored, errbuf, sizeof errbuf);
        if (rc == 0)
            rc = th_config_merge(cli->global_flags, globals);
        th_config_destroy(&globals);
        if (rc != 0) {
            cli_usage_error(cli, "%s%s", who, rc == TH_EINVAL ? errbuf : "out of memory");
            th_config_destroy(&flags);
            return NULL;
        }
        if (cli_configure(cli) != 0) {
            th_config_destroy(&flags);
            return NULL;
        }
    }
    /* The command's own flags follow the globals; argv[n_global] stands in
     * for the program name th_config_load_args skips. */
    int first = 0;
    if (th_config_load_args(flags, argc - n_global, argv + n_global, bool_flags, &first,
                            errbuf, sizeof errbuf) != 0) {
        cli_usage_error(cli, "%s%s", who, errbuf);
        th_config_destroy(&flags);
        return NULL;
    }
    *first_arg = first + n_global;
    return flags;
}

th_client_t *
cli_client(cli_t *cli)
{
    if (cli->client != NULL)
        return cli->client;
    const th_config_t *config = cli->config;
    char key[41] = "";
    const char *public_key = th_config_get(config, "broker_public_key", "");
    const char *cert_public = th_config_get(config, "broker_cert_public", "");
    bool insecure = false;
    if (th_config_get_bool(config, "insecure", false, &insecure) != 0) {
        cli->client_exit = cli_usage_error(cli, "insecure must be true or false");
        return NULL;
    }
    if (public_key[0] == '\0' && cert_public[0] != '\0') {
        zcert_t *cert = zcert_load(cert_public);
        if (cert == NULL) {
            fprintf(stderr,
                    "error: could not load the broker's public certificate \"%s\"\n"
                    "hint: broker_cert_public must name the broker.cert file made by "
                    "ops/keys (var/keys/broker.cert)\n",
                    cert_public);
            cli->client_exit = CLI_EXIT_LOCAL;
            return NULL;
        }
        snprintf(key, sizeof key, "%s", zcert_public_txt(cert));
        zcert_destroy(&cert);
        public_key = key;
    }
    if (public_key[0] == '\0' && !insecure) {
        fprintf(stderr,
                "error: no broker key configured, so the connection cannot be encrypted\n"
                "hint: point TEILHABE_CONFIG (or --config) at a client config such as the "
                "one ./ops/up prints (var/keys/admin.conf), or give --broker-cert-public FILE "
                "and --cert FILE; --insecure true only works against a broker started with "
                "--insecure\n");
        cli->client_exit = CLI_EXIT_USAGE;
        return NULL;
    }
    long attempt_timeout = 0;
    if (th_config_get_long(config, "attempt_timeout", 0, 0, 3600000, &attempt_timeout) != 0) {
        cli->client_exit = cli_usage_error(cli, "attempt_timeout must be a number of ms");
        return NULL;
    }
    th_client_config_t client_config = {
        .endpoints = th_config_get(config, "endpoint", "tcp://127.0.0.1:5555"),
        .broker_public_key = insecure ? NULL : public_key,
        .client_cert_path = th_config_get(config, "cert", NULL),
        .default_timeout_ms = cli->timeout_ms,
        .attempt_timeout_ms = (int) attempt_timeout,
    };
    char errbuf[512];
    cli->client = th_client_new(&client_config, errbuf, sizeof errbuf);
    if (cli->client == NULL) {
        fprintf(stderr, "error: %s\n", errbuf);
        cli->client_exit = CLI_EXIT_LOCAL;
    }
    return cli->client;
}

static const char *
s_hint(int code)
{
    switch (code) {
    case TH_INVALID_ARGUMENT:
        return "fix the fields named above and try again";
    case TH_DEADLINE_EXCEEDED:
        return "the call took too long: check \"teilhabe health\", or allow more time "
               "with --timeout MS";
    case TH_NOT_FOUND:
        return "check the name or id; the list commands show what exists";
    case TH_ALREADY_EXISTS:
        return "it exists already: get it, or update it instead of creating it";
    case TH_PERMISSION_DENIED:
        return "your principal's role or scope does not allow this; ask an admin if it "
               "should";
    case TH_RESOURCE_EXHAUSTED:
        return "the request is too large or the service is overloaded: send less, or try "
               "again later";
    case TH_FAILED_PRECONDITION:
        return "the resource is not in the state this needs (it may have changed "
               "meanwhile): get it again and retry with its current version";
    case TH_ABORTED:
        return "a concurrent change got in the way: try again";
    case TH_OUT_OF_RANGE:
        return "a value lies outside the allowed range: see the message above";
    case TH_UNIMPLEMENTED:
        return "no service here offers this method: \"teilhabe services\" lists what runs";
    case TH_UNAVAILABLE:
        return "the broker or the service behind it is not reachable: check \"teilhabe "
               "health\" and that the services run (./ops/up), then try again";
    case TH_UNAUTHENTICATED:
        return "the broker did not accept this client's key: check cert and "
               "broker_cert_public in your config (TEILHABE_CONFIG)";
    case TH_INTERNAL:
    case TH_UNKNOWN:
    case TH_DATA_LOSS:
        return "this is a fault in teilhabe, not in your request: the service's log has "
               "the details";
    case TH_CANCELLED:
        return "the call was cancelled before it finished: try again";
    default:
        return NULL;
    }
}

int
cli_print_status(cli_t *cli, const char *method, const th_result_t *result)
{
    fprintf(stderr, "error: %s: %s\n", th_status_name(result->code),
            result->message != NULL && result->message[0] != '\0' ? result->message
                                                                  : "(no message)");
    for (size_t i = 0; i < result->n_violations; i++)
        fprintf(stderr, "  %s: %s\n", result->violations[i].field,
                result->violations[i].description);
    if (result->retry_after_ms > 0)
        fprintf(stderr, "retry after: %u ms\n", result->retry_after_ms);
    const char *hint = s_hint(result->code);
    if (hint != NULL)
        fprintf(stderr, "hint: %s\n", hint);
    if ((result->code == TH_DEADLINE_EXCEEDED || result->code == TH_UNAVAILABLE) &&
        result->idempotency_key != NULL && result->idempotency_key[0] != '\0')
        /* The client library already retried inside --timeout with this
         * key; the person may go on retrying with it (docs/PROTOCOL.md 5.3) */
        fprintf(stderr,
                "note: if this command changes something, the change may have been made all "
                "the same; to repeat it without making it twice, run it again with "
                "--idempotency-key %s\n",
                result->idempotency_key);
    return th_status_exit_code(result->code);
}

int
cli_call(cli_t *cli, const char *method, const ProtobufCMessage *request,
         const ProtobufCMessageDescriptor *response_desc, const th_call_opts_t *opts,
         th_result_t *out)
{
    memset(out, 0, sizeof *out);
    th_client_t *client = cli_client(cli);
    if (client == NULL)
        return cli->client_exit;
    /* --idempotency-key repeats an earlier write that ended without a
     * verdict (DEADLINE_EXCEEDED, UNAVAILABLE): the service answers the
     * first reply if that write was made, and makes it once if not. Reads
     * carry no key (the listing calls of a write command stay keyless). */
    th_call_opts_t with_key = {0};
    const char *key = th_config_get(cli->config, "idempotency_key", "");
    if (key[0] != '\0' && th_method_kind(method) == TH_METHOD_WRITE &&
        (opts == NULL || opts->idempotency_key == NULL)) {
        if (opts != NULL)
            with_key = *opts;
        with_key.idempotency_key = key;
        opts = &with_key;
    }
    int rc = th_client_call(client, method, request, response_desc, cli->timeout_ms, opts, out);
    if (rc != 0) {
        fprintf(stderr, "error: could not call %s: %s\n", method, th_strerror(rc));
        return CLI_EXIT_LOCAL;
    }
    if (out->code != TH_OK)
        return cli_print_status(cli, method, out);
    return 0;
}

int
cli_print_list(cli_t *cli, const ProtobufCMessageDescriptor *desc,
               const ProtobufCMessage *const *msgs, size_t n)
{
    if (th_format_write_list(stdout, cli->format, desc, msgs, n) != 0 || fflush(stdout) != 0) {
        fprintf(stderr, "error: could not write the output\n");
        return CLI_EXIT_LOCAL;
    }
    return 0;
}

int
cli_print_one(cli_t *cli, const ProtobufCMessage *msg)
{
    if (th_format_write_one(stdout, cli->format, msg) != 0 || fflush(stdout) != 0) {
        fprintf(stderr, "error: could not write the output\n");
        return CLI_EXIT_LOCAL;
    }
    return 0;
}
