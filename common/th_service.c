/* ---------------------------------------------------------------------------
 * th_service.c: the main of every teilhabe service (see th_service.h)
 * ---------------------------------------------------------------------------
 */
#include "th_service.h"

#include <czmq.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "th_args.h"
#include "th_check.h"
#include "th_date.h"
#include "th_error.h"
#include "th_log.h"

#define S_EXIT_FAILED 1
#define S_EXIT_USAGE 2
#define S_MAX_KEYS 64

/* The keys every service takes. */
static const th_service_key_t s_common_keys[] = {
    {"config", "configuration file of key = value lines (also TEILHABE_CONFIG)"},
    {"db_url", "libpq conninfo of the database (required): the service's own role,\n"
               "used by the handlers"},
    {"migrate_db_url", "libpq conninfo of the schema owner, used at start-up only, for\n"
                       "the migrations and the reference data (default: db_url)"},
    {"broker_endpoint", "the broker's backend (default tcp://127.0.0.1:5556)"},
    {"broker_public_key", "Z85 public key of the broker, or"},
    {"broker_cert_public", "path of the broker's public certificate"},
    {"cert", "path of this worker's secret certificate"},
    {"frontend_endpoint", "the broker's frontend, for calls to other services (none = the\n"
                          "service calls none)"},
    {"client_cert", "path of this service's client key (role service) for those calls"},
    {"insecure", "true = no CURVE (local experiments only)"},
    {"capacity", "handler threads, each with its own database connection (default 4)"},
    {"heartbeat_ms", "heartbeat interval towards the broker (default 1000)"},
    {"migrations_dir", "the service's migrations (default <source>/services/NAME/migrations)"},
    {"idempotency_keep_hours", "how long the service keeps its idempotency keys before it\n"
                               "prunes them itself (default 168 = 7 days; 0 = never)"},
    {"job_interval_ms", "how often the service's periodic job runs, if it has one (the\n"
                        "eligibility service's re-checks; default: the service's; 0 = never)"},
    {"log_level", "debug | info | warn | error (default info)"},
    {"seed_only", "true = migrate, do the start-up work (reference data) and exit"},
    {NULL, NULL},
};

static void
s_usage(const th_service_t *svc, FILE *out)
{
    fprintf(out,
            "usage: teilhabe-%s [--config FILE] [--KEY VALUE ...] [--seed-only]\n"
            "\n"
            "%s\n"
            "Keys (file < environment TEILHABE_<KEY> < flags --key-name VALUE):\n",
            svc->name, svc->summary != NULL ? svc->summary : "");
    const th_service_key_t *tables[] = {s_common_keys, svc->keys};
    for (size_t t = 0; t < 2; t++) {
        for (const th_service_key_t *k = tables[t]; k != NULL && k->key != NULL; k++) {
            const char *help = k->help != NULL ? k->help : "";
            fprintf(out, "  %-19s ", k->key);
            for (const char *p = help; *p != '\0'; p++) {
                fputc(*p, out);
                if (*p == '\n')
                    fprintf(out, "  %-19s ", "");
            }
            fputc('\n', out);
        }
    }
    fprintf(out, "\nExit status: 0 after SIGTERM/SIGINT (or a --seed-only that worked), 1 "
                 "on a failure,\n2 for a wrong command line or configuration.\n");
}

/* The option table of the common and the service's keys (names with
 * dashes, in call-free static storage of the caller's array). */
static int
s_options(const th_service_t *svc, th_arg_t *args, char names[][65], size_t max)
{
    size_t n = 0;
    const th_service_key_t *tables[] = {s_common_keys, svc->keys};
    for (size_t t = 0; t < 2; t++) {
        for (const th_service_key_t *k = tables[t]; k != NULL && k->key != NULL; k++) {
            if (n + 2 >= max)
                return TH_ETOOBIG;
            snprintf(names[n], 65, "%s", k->key);
            for (char *c = names[n]; *c != '\0'; c++)
                if (*c == '_')
                    *c = '-';
            const bool is_bool =
                strcmp(k->key, "insecure") == 0 || strcmp(k->key, "seed_only") == 0;
            args[n] = (th_arg_t){.name = names[n],
                                 .kind = is_bool ? TH_ARG_BOOL : TH_ARG_VALUE,
                                 .key = k->key,
                                 .letter = 0};
            n++;
        }
    }
    args[n++] = (th_arg_t){.name = "help", .kind = TH_ARG_SWITCH, .key = NULL, .letter = 'h'};
    args[n] = (th_arg_t){.name = NULL};
    return 0;
}

/* defaults < file < environment < flags. NULL after printing why. */
static th_config_t *
s_configure(const th_service_t *svc, int argc, char **argv, bool *help)
{
    th_arg_t args[S_MAX_KEYS];
    char names[S_MAX_KEYS][65];
    char errbuf[512] = "";
    char **positional = NULL;
    int n_positional = 0;
    th_config_t *flags = th_config_new();
    th_config_t *config = th_config_new();
    if (flags == NULL || config == NULL || s_options(svc, args, names, S_MAX_KEYS) != 0) {
        fprintf(stderr, "teilhabe-%s: out of memory\n", svc->name);
        goto fail;
    }
    const th_arg_group_t group = {.args = args, .into = flags};
    if (th_args_parse(argc, argv, &group, 1, false, &positional, &n_positional, errbuf,
                      sizeof errbuf) != 0) {
        fprintf(stderr, "teilhabe-%s: %s\nTry \"teilhabe-%s --help\".\n", svc->name, errbuf,
                svc->name);
        goto fail;
    }
    if (n_positional > 0) {
        fprintf(stderr, "teilhabe-%s: unexpected argument \"%s\"\nTry \"teilhabe-%s --help\".\n",
                svc->name, positional[0], svc->name);
        goto fail;
    }
    th_config_get_bool(flags, "help", false, help);
    if (!*help && th_config_load_layers(config, flags, errbuf, sizeof errbuf) != 0) {
        fprintf(stderr, "teilhabe-%s: %s\n", svc->name, errbuf);
        goto fail;
    }
    free(positional);
    th_config_destroy(&flags);
    return config;
fail:
    free(positional);
    th_config_destroy(&flags);
    th_config_destroy(&config);
    return NULL;
}

int
th_service_handlers(const ProtobufCServiceDescriptor *service,
                    const th_service_method_t *methods, th_method_fn *handlers, char *errbuf,
                    size_t errlen)
{
    for (unsigned i = 0; i < service->n_methods; i++) {
        handlers[i] = NULL;
        for (const th_service_method_t *m = methods; m != NULL && m->name != NULL; m++) {
            if (strcmp(service->methods[i].name, m->name) == 0)
                handlers[i] = m->fn;
        }
        if (handlers[i] == NULL) {
            snprintf(errbuf, errlen, "method %s of %s has no handler", service->methods[i].name,
                     service->name);
            return TH_EINVAL;
        }
    }
    return 0;
}

int
th_service_broker_key(const th_config_t *config, char key[41], char *errbuf, size_t errlen)
{
    const char *text = th_config_get(config, "broker_public_key", "");
    if (text[0] != '\0') {
        if (!th_check_z85_key(text)) {
            snprintf(errbuf, errlen, "broker_public_key must be 40 Z85 characters");
            return TH_EINVAL;
        }
        memcpy(key, text, 41);
        return 0;
    }
    const char *path = th_config_get(config, "broker_cert_public", "");
    if (path[0] == '\0') {
        snprintf(errbuf, errlen,
                 "no broker key: set broker_public_key or broker_cert_public (or insecure "
                 "= true for local experiments)");
        return TH_EINVAL;
    }
    zcert_t *cert = zcert_load(path);
    if (cert == NULL) {
        snprintf(errbuf, errlen, "could not read the broker certificate \"%s\"", path);
        return TH_EINVAL;
    }
    snprintf(key, 41, "%s", zcert_public_txt(cert));
    zcert_destroy(&cert);
    return 0;
}

/* The start-up work: migrations and the service's prepare hook on one
 * connection, closed afterwards (the handler threads open their own). */
typedef struct {
    const th_service_t *svc;
    const th_config_t *config;
    char migrations_default[512];
} s_prepare_t;

static int
s_prepare(void *arg, char *errbuf, size_t errlen)
{
    const s_prepare_t *p = arg;
    const th_service_t *svc = p->svc;
    char err[512] = "";
    int rc = 0;
    const char *db_url = th_config_get(p->config, "db_url", "");
    const char *migrate_url = th_config_get(p->config, "migrate_db_url", "");
    th_db_t *db = th_db_new(migrate_url[0] != '\0' ? migrate_url : db_url, err, sizeof err);
    if (db == NULL) {
        snprintf(errbuf, errlen, "could not connect to the database: %s", err);
        return TH_EDB;
    }
    int common = 0, own = 0;
    if ((rc = th_db_migrate(db, "common", TH_COMMON_MIGRATIONS_DIR, &common, err,
                            sizeof err)) != 0) {
        snprintf(errbuf, errlen, "could not apply the common migrations: %s", err);
        goto cleanup;
    }
    const char *dir = th_config_get(p->config, "migrations_dir", p->migrations_default);
    if ((rc = th_db_migrate(db, svc->name, dir, &own, err, sizeof err)) != 0) {
        snprintf(errbuf, errlen, "could not apply the %s migrations from \"%s\": %s",
                 svc->name, dir, err);
        goto cleanup;
    }
    th_log_info(0, "migrations applied", "common=%d %s=%d", common, svc->name, own);
    if (svc->prepare != NULL &&
        (rc = svc->prepare(db, p->config, svc->state, errbuf, errlen)) != 0)
        goto cleanup;
cleanup:
    th_db_destroy(&db);
    return rc;
}

const char *
th_service_data_dir(const th_config_t *config)
{
    const char *data = th_config_get(config, "data_dir", TH_SOURCE_DIR "/data");
    if (data[0] == '\0' || strcmp(data, "none") == 0) {
        th_log_info(0, "reference data not loaded (data_dir = none)", NULL);
        return NULL;
    }
    return data;
}

/* --- the periodic job ----------------------------------------------------- */

typedef struct {
    const th_service_t *svc;
    const th_config_t *config;
    const char *broker_key; /* "" = insecure */
    long interval_ms;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stop;
    pthread_t thread;
} s_job_t;

static void *
s_job_run(void *arg)
{
    s_job_t *job = arg;
    char err[512] = "";
    const th_client_config_t cc = {
        .endpoints = th_config_get(job->config, "frontend_endpoint", ""),
        .broker_public_key = job->broker_key,
        .client_cert_path =
            job->broker_key[0] != '\0' ? th_config_get(job->config, "client_cert", NULL) : NULL,
        .default_timeout_ms = 60000,
        .attempt_timeout_ms = 60000,
    };
    th_client_t *client = th_client_new(&cc, err, sizeof err);
    if (client == NULL)
        th_log_error(0, "the periodic job cannot run: no client", "error=\"%s\"", err);
    pthread_mutex_lock(&job->lock);
    while (!job->stop && client != NULL) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += job->interval_ms / 1000;
        until.tv_nsec += (job->interval_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        int rc = 0;
        while (!job->stop && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&job->wake, &job->lock, &until);
        /* SIGTERM (CZMQ's handler sets zsys_interrupted): no new round,
         * even before the worker has finished its calls and set stop. */
        if (job->stop || zsys_interrupted)
            break;
        pthread_mutex_unlock(&job->lock);
        job->svc->job(client, job->config, job->svc->state);
        pthread_mutex_lock(&job->lock);
    }
    pthread_mutex_unlock(&job->lock);
    th_client_destroy(&client);
    return NULL;
}

/* Starts the job's thread; 0 or TH_EIO. */
static int
s_job_start(s_job_t *job)
{
    pthread_mutex_init(&job->lock, NULL);
    pthread_cond_init(&job->wake, NULL);
    if (pthread_create(&job->thread, NULL, s_job_run, job) != 0) {
        pthread_cond_destroy(&job->wake);
        pthread_mutex_destroy(&job->lock);
        return TH_EIO;
    }
    return 0;
}

static void
s_job_stop(s_job_t *job)
{
    pthread_mutex_lock(&job->lock);
    job->stop = true;
    pthread_cond_signal(&job->wake);
    pthread_mutex_unlock(&job->lock);
    pthread_join(job->thread, NULL);
    pthread_cond_destroy(&job->wake);
    pthread_mutex_destroy(&job->lock);
}

int
th_service_main(const th_service_t *svc, int argc, char **argv)
{
    char err[512] = "";
    int exit_code = S_EXIT_FAILED;
    th_worker_t *worker = NULL;
    th_method_fn *handlers = NULL;
    bool help = false, seed_only = false, insecure = false;
    if (th_date_init() != 0) {
        fprintf(stderr,
                "teilhabe-%s: the time zone Europe/Berlin is not installed (the package "
                "tzdata): German dates cannot be told\n",
                svc->name);
        return S_EXIT_FAILED;
    }
    th_config_t *config = s_configure(svc, argc, argv, &help);
    if (config == NULL)
        return S_EXIT_USAGE;
    if (help) {
        s_usage(svc, stdout);
        th_config_destroy(&config);
        return 0;
    }
    exit_code = S_EXIT_USAGE;
    th_log_level_t level = TH_LOG_INFO;
    if (th_log_level_parse(th_config_get(config, "log_level", "info"), &level) != 0) {
        fprintf(stderr, "teilhabe-%s: log_level must be debug, info, warn or error\n",
                svc->name);
        goto cleanup;
    }
    th_log_init(svc->name, level);
    long capacity = 4, heartbeat = 1000, keep_hours = 168;
    if (th_config_get_bool(config, "seed_only", false, &seed_only) != 0 ||
        th_config_get_bool(config, "insecure", false, &insecure) != 0 ||
        th_config_get_long(config, "capacity", 4, 1, 256, &capacity) != 0 ||
        th_config_get_long(config, "heartbeat_ms", 1000, 10, 60000, &heartbeat) != 0 ||
        th_config_get_long(config, "idempotency_keep_hours", 168, 0, 87600, &keep_hours) != 0) {
        th_log_error(0,
                     "invalid configuration: seed_only and insecure are booleans, capacity "
                     "1 to 256, heartbeat_ms 10 to 60000, idempotency_keep_hours 0 to 87600",
                     NULL);
        goto cleanup;
    }
    const char *db_url = th_config_get(config, "db_url", "");
    if (db_url[0] == '\0') {
        th_log_error(0, "db_url is required (libpq conninfo of the teilhabe database)", NULL);
        goto cleanup;
    }
    s_prepare_t prepare = {.svc = svc, .config = config};
    snprintf(prepare.migrations_default, sizeof prepare.migrations_default, "%s",
             svc->migrations_dir != NULL ? svc->migrations_dir : "");
    exit_code = S_EXIT_FAILED;
    if (seed_only) {
        if (s_prepare(&prepare, err, sizeof err) != 0) {
            th_log_error(0, "start-up work failed", "error=\"%s\"", err);
            goto cleanup;
        }
        exit_code = 0;
        goto cleanup;
    }

    char broker_key[41] = "";
    if (insecure)
        th_log_warn(0,
                    "INSECURE: connecting to the broker without CURVE; never do this "
                    "outside a local experiment",
                    NULL);
    else if (th_service_broker_key(config, broker_key, err, sizeof err) != 0) {
        th_log_error(0, err, NULL);
        exit_code = S_EXIT_USAGE;
        goto cleanup;
    }
    const th_worker_config_t wc = {
        .broker_endpoint = th_config_get(config, "broker_endpoint", "tcp://127.0.0.1:5556"),
        .broker_public_key = insecure ? NULL : broker_key,
        .cert_path = insecure ? NULL : th_config_get(config, "cert", NULL),
        .db_url = db_url,
        .capacity = (int) capacity,
        .heartbeat_ms = (int) heartbeat,
        .liveness = 3,
        .max_message_size = 0,
        .instance = NULL,
        /* 0 hours: never pruned here (the operator prunes, or keeps all) */
        .idempotency_keep_ms = keep_hours > 0 ? (int64_t) keep_hours * 3600 * 1000 : -1,
        .frontend_endpoint = th_config_get(config, "frontend_endpoint", NULL),
        .client_cert_path = insecure ? NULL : th_config_get(config, "client_cert", NULL),
    };
    worker = th_worker_new(&wc, err, sizeof err);
    if (worker == NULL) {
        th_log_error(0, "could not start the worker", "error=\"%s\"", err);
        goto cleanup;
    }
    handlers = calloc(svc->service->n_methods + 1, sizeof *handlers);
    if (handlers == NULL ||
        th_service_handlers(svc->service, svc->methods, handlers, err, sizeof err) != 0 ||
        th_worker_add_service(worker, svc->service, handlers, svc->state) != 0) {
        th_log_error(0, "could not register the service", "service=%s error=\"%s\"",
                     svc->service->name, err);
        goto cleanup;
    }
    if (th_worker_set_prepare(worker, s_prepare, &prepare) != 0)
        goto cleanup;
    long job_ms = 0;
    if (svc->job != NULL &&
        th_config_get_long(config, "job_interval_ms", svc->job_interval_ms, 0, 86400000L,
                           &job_ms) != 0) {
        th_log_error(0, "invalid configuration: job_interval_ms is 0 to 86400000", NULL);
        exit_code = S_EXIT_USAGE;
        goto cleanup;
    }
    s_job_t job = {.svc = svc, .config = config, .broker_key = broker_key, .interval_ms = job_ms};
    const bool job_runs = svc->job != NULL && job_ms > 0 &&
                          th_config_get(config, "frontend_endpoint", NULL) != NULL;
    if (svc->job != NULL && job_ms > 0 && !job_runs)
        th_log_warn(0, "the periodic job does not run: no frontend_endpoint to call through",
                    NULL);
    if (job_runs && s_job_start(&job) != 0) {
        th_log_error(0, "could not start the periodic job's thread", NULL);
        goto cleanup;
    }
    th_log_info(0, "serving", "service=%s endpoint=%s capacity=%ld job_interval_ms=%ld",
                svc->service->name, wc.broker_endpoint, capacity, job_runs ? job_ms : 0L);
    exit_code = th_worker_run(worker) == 0 ? 0 : S_EXIT_FAILED;
    if (job_runs)
        s_job_stop(&job);

cleanup:
    /* The worker holds the handler table until it is destroyed. */
    th_worker_destroy(&worker);
    free(handlers);
    th_config_destroy(&config);
    return exit_code;
}
