/* ---------------------------------------------------------------------------
 * cli.c: the helpers every `teilhabe` command uses (options, client, calls,
 * errors, every page of a list, output)
 * ---------------------------------------------------------------------------
 */
#include "cli.h"

#include "th_enum.h"
#include "th_error.h"
#include "th_log.h"
#include "th_methods.h"
#include "th_status.h"
#include "th_text.h"

#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const th_arg_t cli_global_options[] = {
    {"config", TH_ARG_VALUE, NULL, 0},
    {"endpoint", TH_ARG_VALUE, NULL, 0},
    {"format", TH_ARG_VALUE, NULL, 0},
    {"timeout", TH_ARG_VALUE, NULL, 0},
    {"cert", TH_ARG_VALUE, NULL, 0},
    {"broker-public-key", TH_ARG_VALUE, NULL, 0},
    {"broker-cert-public", TH_ARG_VALUE, NULL, 0},
    {"insecure", TH_ARG_BOOL, NULL, 0},
    {"attempt-timeout", TH_ARG_VALUE, NULL, 0},
    {"log-level", TH_ARG_VALUE, NULL, 0},
    {"idempotency-key", TH_ARG_VALUE, NULL, 0},
    {"wide", TH_ARG_SWITCH, NULL, 0},
    {"page-size", TH_ARG_VALUE, NULL, 0},
    {"help", TH_ARG_SWITCH, NULL, 'h'},
    {"version", TH_ARG_SWITCH, NULL, 0},
    {NULL, 0, NULL, 0},
};

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
    long timeout = 0, page_size = 0;
    if (th_config_get_long(config, "timeout", 5000, 1, 3600000, &timeout) != 0)
        return cli_usage_error(cli,
                               "timeout must be a number of milliseconds (1-3600000), not "
                               "\"%s\"",
                               th_config_get(config, "timeout", ""));
    if (th_config_get_long(config, "page_size", 0, 0, 100000, &page_size) != 0)
        return cli_usage_error(cli, "page_size must be a number of items (0 = the maximum)");
    if (th_config_get_bool(config, "wide", false, &cli->wide) != 0)
        return cli_usage_error(cli, "wide must be true or false");
    cli->timeout_ms = (int) timeout;
    cli->page_size = (int) page_size;
    return 0;
}

/* --- options -------------------------------------------------------------- */

void
cli_args_clear(cli_args_t *args)
{
    free(args->pos);
    args->pos = NULL;
    args->n_pos = 0;
    th_config_destroy(&args->flags);
}

int
cli_parse(cli_t *cli, const char *who, int argc, char **argv, const th_arg_t *options,
          int min_pos, int max_pos, cli_args_t *out)
{
    char errbuf[256];
    memset(out, 0, sizeof *out);
    out->flags = th_config_new();
    if (out->flags == NULL) {
        fprintf(stderr, "%s: out of memory\n", cli->prog);
        return CLI_EXIT_LOCAL;
    }
    const th_arg_group_t groups[] = {{options, out->flags},
                                     {cli_global_options, cli->global_flags}};
    const int rc = th_args_parse(argc, argv, groups, 2, false, &out->pos, &out->n_pos, errbuf,
                                 sizeof errbuf);
    if (rc != 0)
        return rc == TH_EINVAL ? cli_usage_error(cli, "%s: %s", who, errbuf) : CLI_EXIT_LOCAL;
    /* Global options after the command words count as if given before. */
    int configured = cli_configure(cli);
    if (configured != 0)
        return configured;
    bool help = false;
    if (th_config_get_bool(cli->global_flags, "help", false, &help) == 0 && help) {
        cli_help(stdout);
        return CLI_DONE;
    }
    if (out->n_pos < min_pos)
        return cli_usage_error(cli, "%s: missing argument (see teilhabe --help)", who);
    if (out->n_pos > max_pos)
        return cli_usage_error(cli, "%s: unexpected argument \"%s\"", who, out->pos[max_pos]);
    return 0;
}

int
cli_lang(cli_t *cli, const char *who, const cli_args_t *a, const char **lang)
{
    const char *v = th_config_get(a->flags, "lang", "");
    if (v[0] != '\0' && strcmp(v, "de") != 0 && strcmp(v, "en") != 0)
        return cli_usage_error(cli, "%s: --lang must be de or en, not \"%s\"", who, v);
    *lang = v;
    return 0;
}

int
cli_write_file(const char *path, const void *data, size_t len)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", path) >= (int) sizeof tmp) {
        fprintf(stderr, "error: the file name \"%.64s...\" is too long\n", path);
        return CLI_EXIT_LOCAL;
    }
    int fd = mkstemp(tmp);
    if (fd < 0) {
        fprintf(stderr, "error: cannot write next to %s: %s\n", path, strerror(errno));
        return CLI_EXIT_LOCAL;
    }
    /* mkstemp makes 0600; a report is no secret: what the umask allows. */
    const mode_t mask = umask(0);
    umask(mask);
    const char *p = data;
    size_t left = len;
    bool ok = fchmod(fd, 0644 & ~mask) == 0;
    while (ok && left > 0) {
        const ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        ok = n > 0;
        if (ok) {
            p += n;
            left -= (size_t) n;
        }
    }
    ok = ok && fsync(fd) == 0;
    const int saved = errno;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        fprintf(stderr, "error: cannot write %s: %s\n", path, strerror(ok ? errno : saved));
        unlink(tmp);
        return CLI_EXIT_LOCAL;
    }
    return 0;
}

const char *
cli_flag(const cli_args_t *args, const char *key)
{
    return th_config_get(args->flags, key, NULL);
}

int
cli_int(cli_t *cli, const char *who, const char *flag, const char *text, int64_t min,
        int64_t max, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    const long long v = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < min || v > max)
        return cli_usage_error(cli,
                               "%s: --%s must be a whole number from %" PRId64 " to %" PRId64
                               ", not \"%s\"",
                               who, flag, min, max, text);
    *out = v;
    return 0;
}

int
cli_enum(cli_t *cli, const char *who, const char *flag, const ProtobufCEnumDescriptor *desc,
         const char *text, int *value)
{
    *value = th_enum_from_token(desc, text);
    if (*value != 0)
        return 0;
    char tokens[512];
    return cli_usage_error(cli, "%s: --%s \"%s\" is not one of: %s", who, flag, text,
                           th_enum_tokens(desc, tokens, sizeof tokens));
}

int
cli_read_file(const char *path, size_t max, const char *too_large, char **text, size_t *len)
{
    const bool is_stdin = strcmp(path, "-") == 0;
    const char *name = is_stdin ? "standard input" : path;
    FILE *fp = is_stdin ? stdin : fopen(path, "rb");
    if (fp == NULL) {
        fprintf(stderr, "error: could not open \"%s\": %s\n", path, strerror(errno));
        return CLI_EXIT_LOCAL;
    }
    /* One byte more than allowed tells a file at the limit from a larger
     * one without asking its size (stdin has none). */
    char *buf = max < SIZE_MAX - 1 ? malloc(max + 2) : NULL;
    const size_t n = buf != NULL ? fread(buf, 1, max + 1, fp) : 0;
    const bool failed = buf == NULL || ferror(fp);
    if (!is_stdin)
        fclose(fp);
    if (failed) {
        fprintf(stderr, "error: could not read \"%s\"\n", name);
        free(buf);
        return CLI_EXIT_LOCAL;
    }
    if (n > max) {
        fprintf(stderr, "error: \"%s\" is larger than %s\n", name, too_large);
        free(buf);
        return CLI_EXIT_LOCAL;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 0;
}

bool
cli_show_progress(void)
{
    const char *ci = getenv("CI");
    return isatty(STDERR_FILENO) && (ci == NULL || strcmp(ci, "true") != 0);
}

/* The client configuration from cli's configuration into out (key holds
 * the broker's key when it came from a certificate file). 0, or the exit
 * code after saying what is wrong. */
static int
s_client_config(cli_t *cli, th_client_config_t *out, char key[41])
{
    const th_config_t *config = cli->config;
    const char *public_key = th_config_get(config, "broker_public_key", "");
    const char *cert_public = th_config_get(config, "broker_cert_public", "");
    bool insecure = false;
    if (th_config_get_bool(config, "insecure", false, &insecure) != 0)
        return cli_usage_error(cli, "insecure must be true or false");
    if (public_key[0] == '\0' && cert_public[0] != '\0') {
        zcert_t *cert = zcert_load(cert_public);
        if (cert == NULL) {
            fprintf(stderr,
                    "error: could not load the broker's public certificate \"%s\"\n"
                    "hint: broker_cert_public must name the broker.cert file made by "
                    "ops/keys (var/keys/broker.cert)\n",
                    cert_public);
            return CLI_EXIT_LOCAL;
        }
        snprintf(key, 41, "%s", zcert_public_txt(cert));
        zcert_destroy(&cert);
        public_key = key;
    }
    if (public_key[0] == '\0' && !insecure) {
        fprintf(
            stderr,
            "error: no broker key configured, so the connection cannot be encrypted\n"
            "hint: point TEILHABE_CONFIG (or --config) at a client config such as the "
            "one ./ops/up prints (var/keys/admin.conf), or give --broker-cert-public FILE "
            "and --cert FILE; --insecure true only works against a broker started with "
            "--insecure\n");
        return CLI_EXIT_USAGE;
    }
    long attempt_timeout = 0;
    if (th_config_get_long(config, "attempt_timeout", 0, 0, 3600000, &attempt_timeout) != 0)
        return cli_usage_error(cli, "attempt_timeout must be a number of ms");
    *out = (th_client_config_t){
        .endpoints = th_config_get(config, "endpoint", "tcp://127.0.0.1:5555"),
        .broker_public_key = insecure ? NULL : public_key,
        .client_cert_path = th_config_get(config, "cert", NULL),
        .default_timeout_ms = cli->timeout_ms,
        .attempt_timeout_ms = (int) attempt_timeout,
    };
    return 0;
}

th_client_t *
cli_client(cli_t *cli)
{
    if (cli->client != NULL)
        return cli->client;
    char key[41] = "";
    th_client_config_t client_config;
    if ((cli->client_exit = s_client_config(cli, &client_config, key)) != 0)
        return NULL;
    char errbuf[512];
    cli->client = th_client_new(&client_config, errbuf, sizeof errbuf);
    if (cli->client == NULL) {
        fprintf(stderr, "error: %s\n", errbuf);
        cli->client_exit = CLI_EXIT_LOCAL;
    }
    return cli->client;
}

th_client_t *
cli_client_as(cli_t *cli, const char *cert_path)
{
    char key[41] = "";
    th_client_config_t client_config;
    if (s_client_config(cli, &client_config, key) != 0)
        return NULL;
    client_config.client_cert_path = cert_path;
    char errbuf[512];
    th_client_t *client = th_client_new(&client_config, errbuf, sizeof errbuf);
    if (client == NULL)
        fprintf(stderr, "error: %s\n", errbuf);
    return client;
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
        return "the resource is not in the state this needs: if it changed meanwhile, "
               "get it again and retry with its current version; if the message names an "
               "approved period, its ministry must reopen it first (teilhabe submission "
               "reopen AGS PERIOD)";
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
        result->idempotency_key != NULL && result->idempotency_key[0] != '\0') {
        /* The client library already retried inside --timeout with this
         * key; the person may go on retrying with it (docs/PROTOCOL.md 5.3),
         * naming the version the write named, if it named one */
        char version[40] = "";
        if (cli->write_version >= 0)
            snprintf(version, sizeof version, " --version %lld", (long long) cli->write_version);
        fprintf(stderr,
                "note: if this command changes something, the change may have been made all "
                "the same; to repeat it without making it twice, run it again with "
                "--idempotency-key %s%s\n",
                result->idempotency_key, version);
    }
    return th_status_exit_code(result->code);
}

int
cli_paragraphs(cli_t *cli, const char *who, const char *flag, char *text, size_t max)
{
    char *to = text;
    for (const char *from = text; *from != '\0'; from++)
        if (!(from[0] == '\r' && from[1] == '\n'))
            *to++ = *from;
    *to = '\0';
    if (th_text_is_paragraphs(text, 0, max))
        return 0;
    return cli_usage_error(cli,
                           "%s: %s: must be valid UTF-8 (is the terminal or the file in "
                           "another encoding?), at most %zu characters, and without control "
                           "characters other than line breaks and tabs",
                           who, flag, max);
}

int
cli_version(cli_t *cli, const char *who, const cli_args_t *a, int64_t min,
            cli_version_read_fn read, void *arg, int64_t *version)
{
    const char *v = cli_flag(a, "version");
    int rc;
    if (v != NULL) {
        rc = cli_int(cli, who, "version", v, min, INT64_MAX, version);
    } else if (th_config_get(cli->config, "idempotency_key", "")[0] != '\0') {
        return cli_usage_error(cli,
                               "%s: --idempotency-key repeats a write: give it the --version "
                               "the first attempt named (the note after it says which)",
                               who);
    } else {
        rc = read(cli, arg, version);
        if (rc != 0)
            fprintf(stderr, "(%s: that was reading the current version before the write)\n",
                    who);
    }
    if (rc == 0)
        cli->write_version = *version;
    return rc;
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

/* --- lists ---------------------------------------------------------------- */

/* The field of desc called name if it has the type and label given. */
static const ProtobufCFieldDescriptor *
s_field(const ProtobufCMessageDescriptor *desc, const char *name, ProtobufCType type,
        ProtobufCLabel label)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(desc, name);
    return f != NULL && f->type == type && f->label == label ? f : NULL;
}

int
cli_pages_add(cli_pages_t *pages, th_result_t *page, const char *items_field)
{
    const ProtobufCMessage *resp = page->response;
    const ProtobufCFieldDescriptor *f =
        s_field(resp->descriptor, items_field, PROTOBUF_C_TYPE_MESSAGE, PROTOBUF_C_LABEL_REPEATED);
    if (f == NULL) {
        fprintf(stderr, "error: %s has no list %s\n", resp->descriptor->name, items_field);
        return CLI_EXIT_LOCAL;
    }
    size_t n;
    ProtobufCMessage **items;
    memcpy(&n, (const char *) resp + f->quantifier_offset, sizeof n);
    memcpy(&items, (const char *) resp + f->offset, sizeof items);
    th_result_t *grown_pages = realloc(pages->pages, (pages->n_pages + 1) * sizeof *grown_pages);
    if (grown_pages == NULL)
        return CLI_EXIT_LOCAL;
    pages->pages = grown_pages;
    const ProtobufCMessage **grown =
        realloc(pages->items, (pages->n_items + n + 1) * sizeof *grown);
    if (grown == NULL)
        return CLI_EXIT_LOCAL;
    pages->items = grown;
    for (size_t i = 0; i < n; i++)
        pages->items[pages->n_items++] = items[i];
    pages->pages[pages->n_pages++] = *page;
    memset(page, 0, sizeof *page);
    return 0;
}

void
cli_pages_clear(cli_pages_t *pages)
{
    for (size_t i = 0; i < pages->n_pages; i++)
        th_result_clear(&pages->pages[i]);
    free(pages->pages);
    free(pages->items);
    memset(pages, 0, sizeof *pages);
}

int
cli_fetch_all(cli_t *cli, const char *method, ProtobufCMessage *request, int max_page_size,
              const ProtobufCMessageDescriptor *response_desc, const char *items_field,
              cli_pages_t *out)
{
    return cli_fetch_all_progress(cli, method, request, max_page_size, response_desc,
                                  items_field, NULL, NULL, out);
}

int
cli_fetch_all_progress(cli_t *cli, const char *method, ProtobufCMessage *request,
                       int max_page_size, const ProtobufCMessageDescriptor *response_desc,
                       const char *items_field, cli_page_progress_fn progress, void *arg,
                       cli_pages_t *out)
{
    memset(out, 0, sizeof *out);
    const ProtobufCFieldDescriptor *size_f = s_field(
        request->descriptor, "page_size", PROTOBUF_C_TYPE_INT32, PROTOBUF_C_LABEL_NONE);
    const ProtobufCFieldDescriptor *token_f = s_field(
        request->descriptor, "page_token", PROTOBUF_C_TYPE_STRING, PROTOBUF_C_LABEL_NONE);
    const ProtobufCFieldDescriptor *next_f = s_field(
        response_desc, "next_page_token", PROTOBUF_C_TYPE_STRING, PROTOBUF_C_LABEL_NONE);
    if (size_f == NULL || token_f == NULL || next_f == NULL) {
        fprintf(stderr, "error: %s is not a paged list\n", method);
        return CLI_EXIT_LOCAL;
    }
    const int32_t size = cli->page_size > 0 ? cli->page_size : max_page_size;
    memcpy((char *) request + size_f->offset, &size, sizeof size);
    char *token = strdup("");
    int rc = token == NULL ? CLI_EXIT_LOCAL : 0;
    while (rc == 0) {
        memcpy((char *) request + token_f->offset, &token, sizeof token);
        /* A paged write (EvaluateBatch) repeated with --idempotency-key:
         * each page is a request of its own, so each gets a key of its own
         * made from the one given (the first page the key itself). */
        const char *key = th_config_get(cli->config, "idempotency_key", "");
        char page_key[160];
        th_call_opts_t opts = {0};
        if (key[0] != '\0' && out->n_pages > 0 &&
            th_method_kind(method) == TH_METHOD_WRITE) {
            snprintf(page_key, sizeof page_key, "%.128s/%zu", key, out->n_pages + 1);
            opts.idempotency_key = page_key;
        }
        th_result_t page;
        rc = cli_call(cli, method, request, response_desc,
                      opts.idempotency_key != NULL ? &opts : NULL, &page);
        if (rc != 0) {
            th_result_clear(&page);
            break;
        }
        const char *next;
        memcpy(&next, (const char *) page.response + next_f->offset, sizeof next);
        char *copy = strdup(next != NULL ? next : "");
        if (copy == NULL || (rc = cli_pages_add(out, &page, items_field)) != 0) {
            free(copy);
            th_result_clear(&page);
            rc = CLI_EXIT_LOCAL;
            break;
        }
        if (progress != NULL)
            progress(cli, arg, out->pages[out->n_pages - 1].response, out->n_items);
        const bool same = copy[0] != '\0' && strcmp(copy, token) == 0;
        free(token);
        token = copy;
        if (same) {
            fprintf(stderr, "error: %s returned the same page token twice; the list stops "
                            "here\n",
                    method);
            rc = th_status_exit_code(TH_INTERNAL);
        }
        if (token[0] == '\0')
            break;
    }
    /* The request must not keep a pointer to the token freed here. */
    char *none = (char *) "";
    memcpy((char *) request + token_f->offset, &none, sizeof none);
    free(token);
    return rc;
}

/* --- output --------------------------------------------------------------- */

int
cli_print_list(cli_t *cli, const ProtobufCMessageDescriptor *desc,
               const ProtobufCMessage *const *msgs, size_t n, const char *const *columns)
{
    const th_format_view_t view = {.columns = cli->wide ? NULL : columns,
                                   .width = cli->wide ? 0 : CLI_TABLE_WIDTH};
    if (th_format_write_list_view(stdout, cli->format, desc, msgs, n, &view) != 0 ||
        fflush(stdout) != 0) {
        fprintf(stderr, "error: could not write the output\n");
        return CLI_EXIT_LOCAL;
    }
    return 0;
}

int
cli_print_one(cli_t *cli, const ProtobufCMessage *msg)
{
    const th_format_view_t view = {.columns = NULL, .width = cli->wide ? 0 : CLI_TABLE_WIDTH};
    if (th_format_write_one_view(stdout, cli->format, msg, &view) != 0 ||
        fflush(stdout) != 0) {
        fprintf(stderr, "error: could not write the output\n");
        return CLI_EXIT_LOCAL;
    }
    return 0;
}

int
cli_print_cells(cli_t *cli, const char *const *header, size_t columns,
                const char *const *cells, size_t rows)
{
    if (th_format_write_cells(stdout, header, columns, cells, rows,
                              cli->wide ? 0 : CLI_TABLE_WIDTH) != 0 ||
        fflush(stdout) != 0) {
        fprintf(stderr, "error: could not write the output\n");
        return CLI_EXIT_LOCAL;
    }
    return 0;
}
