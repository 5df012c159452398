/* ---------------------------------------------------------------------------
 * main.c: teilhabe-registry, the districts registry service.
 *
 * Start-up: configuration (file < environment < flags), then the worker
 * runtime serving teilhabe.registry.v1.Registry with `capacity` handler
 * threads until SIGTERM. The common and the registry migrations and the
 * reference data (idempotent) are its start-up work (th_worker_set_prepare):
 * while the database is unreachable the service is registered and answers
 * UNAVAILABLE, and tries again with backoff. With --seed-only it runs that
 * work once and exits (ops/up and tests use that to prepare a database).
 * ---------------------------------------------------------------------------
 */
#include <czmq.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "seed.h"
#include "store.h"
#include "teilhabe/v1/registry.pb-c.h"
#include "th_config.h"
#include "th_db.h"
#include "th_error.h"
#include "th_log.h"
#include "th_worker.h"

#define S_DEFAULT_MIGRATIONS TH_SOURCE_DIR "/services/registry/migrations"
#define S_DEFAULT_DATA TH_SOURCE_DIR "/data"

static void
s_usage(FILE *out)
{
    fprintf(
        out,
        "usage: teilhabe-registry [--config FILE] [--key value ...] [--seed-only]\n"
        "\n"
        "Serves teilhabe.registry.v1.Registry behind a teilhabe-broker.\n"
        "Keys (file < environment TEILHABE_<KEY> < flags):\n"
        "  db_url              libpq conninfo of the database (required): the\n"
        "                      service's own role, used by the handlers\n"
        "  migrate_db_url      libpq conninfo of the schema owner, used at start-up\n"
        "                      only, for the migrations and the reference data\n"
        "                      (default: db_url)\n"
        "  broker_endpoint     the broker's backend (default tcp://127.0.0.1:5556)\n"
        "  broker_public_key   Z85 public key of the broker, or\n"
        "  broker_cert_public  path of the broker's public certificate\n"
        "  cert                path of this worker's secret certificate\n"
        "  insecure            true = no CURVE (local experiments only)\n"
        "  capacity            handler threads (default 4)\n"
        "  heartbeat_ms        default 1000\n"
        "  migrations_dir      default <source>/services/registry/migrations\n"
        "  data_dir            reference data loaded at start-up (default <source>/data;\n"
        "                      \"none\" = do not load)\n"
        "  log_level           debug | info | warn | error (default info)\n"
        "  seed_only           true = migrate, load the data and exit\n");
}

/* Builds the configuration: defaults < file < environment < flags. */
static th_config_t *
s_load_config(int argc, char *argv[], char *errbuf, size_t errlen)
{
    static const char *const bool_flags[] = {"insecure", "seed_only", "help", NULL};
    th_config_t *flags = th_config_new();
    th_config_t *config = th_config_new();
    int first = 0;
    if (flags == NULL || config == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        goto fail;
    }
    if (th_config_load_args(flags, argc, argv, bool_flags, &first, errbuf, errlen) != 0)
        goto fail;
    if (first < argc) {
        snprintf(errbuf, errlen, "unexpected argument \"%s\"", argv[first]);
        goto fail;
    }
    if (th_config_load_layers(config, flags, errbuf, errlen) != 0)
        goto fail;
    th_config_destroy(&flags);
    return config;
fail:
    th_config_destroy(&flags);
    th_config_destroy(&config);
    return NULL;
}

/* Migrations and reference data, on one connection closed afterwards (the
 * worker's handler threads open their own). It connects with migrate_db_url
 * when that is set: the owner role creates and alters the schema, the
 * runtime role of db_url only reads and writes rows. */
static int
s_prepare_database(const th_config_t *config, const char *db_url,
                   registry_handlers_state_t *state)
{
    char err[512] = "";
    int rc = 0;
    const char *migrate_url = th_config_get(config, "migrate_db_url", "");
    th_db_t *db = th_db_new(migrate_url[0] != '\0' ? migrate_url : db_url, err, sizeof err);
    if (db == NULL) {
        th_log_error(0, "could not connect to the database", "error=\"%s\"", err);
        return TH_EDB;
    }
    int applied = 0;
    if ((rc = th_db_migrate(db, "common", TH_COMMON_MIGRATIONS_DIR, &applied, err,
                            sizeof err)) != 0) {
        th_log_error(0, "could not apply the common migrations", "error=\"%s\"", err);
        goto cleanup;
    }
    const char *dir = th_config_get(config, "migrations_dir", S_DEFAULT_MIGRATIONS);
    int applied_registry = 0;
    if ((rc = th_db_migrate(db, "registry", dir, &applied_registry, err, sizeof err)) !=
        0) {
        th_log_error(0, "could not apply the registry migrations",
                     "dir=\"%s\" error=\"%s\"", dir, err);
        goto cleanup;
    }
    th_log_info(0, "migrations applied", "common=%d registry=%d", applied,
                applied_registry);

    const char *data = th_config_get(config, "data_dir", S_DEFAULT_DATA);
    if (data[0] == '\0' || strcmp(data, "none") == 0) {
        th_log_info(0, "reference data not loaded (data_dir = none)", NULL);
        goto earliest;
    }
    registry_seed_report_t report;
    if ((rc = registry_seed(db, data, &report, err, sizeof err)) != 0) {
        th_log_error(0, "could not load the reference data", "error=\"%s\"", err);
        goto cleanup;
    }
    int64_t states = 0, districts = 0, changes = 0;
    if (registry_store_counts(db, &states, &districts, &changes) == 0)
        th_log_info(
            0, "reference data loaded",
            "dir=\"%s\" inserted_states=%d inserted_districts=%d inserted_changes=%d "
            "states=%lld districts=%lld changes=%lld",
            data, report.states, report.districts, report.changes, (long long) states,
            (long long) districts, (long long) changes);

earliest:
    /* An empty database leaves it "" (asked per call until data arrives). */
    if (registry_store_earliest_date(db, state->earliest) != 0)
        state->earliest[0] = '\0';

cleanup:
    th_db_destroy(&db);
    return rc;
}

/* The start-up work for th_worker_set_prepare */
typedef struct {
    const th_config_t *config;
    const char *db_url;
    registry_handlers_state_t *state;
} s_prepare_args_t;

static int
s_prepare(void *arg, char *errbuf, size_t errlen)
{
    const s_prepare_args_t *args = arg;
    int rc = s_prepare_database(args->config, args->db_url, args->state);
    if (rc != 0)
        snprintf(errbuf, errlen, "migrations or reference data not done (logged above)");
    return rc;
}

/* The broker's public key from broker_public_key or broker_cert_public, in
 * key (41 bytes). 0, or TH_EINVAL with a logged reason. */
static int
s_broker_key(const th_config_t *config, char key[41])
{
    const char *text = th_config_get(config, "broker_public_key", "");
    if (text[0] != '\0') {
        if (strlen(text) != 40) {
            th_log_error(0, "broker_public_key must be 40 Z85 characters", NULL);
            return TH_EINVAL;
        }
        memcpy(key, text, 41);
        return 0;
    }
    const char *path = th_config_get(config, "broker_cert_public", "");
    if (path[0] == '\0') {
        th_log_error(0,
                     "no broker key: set broker_public_key or broker_cert_public "
                     "(or insecure = true for local experiments)",
                     NULL);
        return TH_EINVAL;
    }
    zcert_t *cert = zcert_load(path);
    if (cert == NULL) {
        th_log_error(0, "could not read the broker certificate", "path=\"%s\"", path);
        return TH_EINVAL;
    }
    snprintf(key, 41, "%s", zcert_public_txt(cert));
    zcert_destroy(&cert);
    return 0;
}

int
main(int argc, char *argv[])
{
    char err[512] = "";
    int exit_code = 1;
    th_worker_t *worker = NULL;
    th_method_fn *handlers = NULL;
    registry_handlers_state_t state = {.earliest = ""};
    th_config_t *config = s_load_config(argc, argv, err, sizeof err);
    if (config == NULL) {
        fprintf(stderr, "teilhabe-registry: %s\n", err);
        s_usage(stderr);
        return 2;
    }
    bool help = false, seed_only = false, insecure = false;
    th_config_get_bool(config, "help", false, &help);
    if (help) {
        s_usage(stdout);
        th_config_destroy(&config);
        return 0;
    }
    th_log_level_t level = TH_LOG_INFO;
    if (th_log_level_parse(th_config_get(config, "log_level", "info"), &level) != 0) {
        fprintf(stderr,
                "teilhabe-registry: log_level must be debug, info, warn or error\n");
        goto cleanup;
    }
    th_log_init("registry", level);
    long capacity = 4, heartbeat = 1000;
    if (th_config_get_bool(config, "seed_only", false, &seed_only) != 0 ||
        th_config_get_bool(config, "insecure", false, &insecure) != 0 ||
        th_config_get_long(config, "capacity", 4, 1, 256, &capacity) != 0 ||
        th_config_get_long(config, "heartbeat_ms", 1000, 10, 60000, &heartbeat) != 0) {
        th_log_error(0,
                     "invalid configuration: seed_only and insecure are booleans, capacity "
                     "1 to 256, heartbeat_ms 10 to 60000",
                     NULL);
        goto cleanup;
    }
    const char *db_url = th_config_get(config, "db_url", "");
    if (db_url[0] == '\0') {
        th_log_error(0, "db_url is required (libpq conninfo of the teilhabe database)",
                     NULL);
        goto cleanup;
    }
    if (seed_only) {
        exit_code = s_prepare_database(config, db_url, &state) == 0 ? 0 : 1;
        goto cleanup;
    }

    char broker_key[41] = "";
    if (insecure)
        th_log_warn(0,
                    "INSECURE: connecting to the broker without CURVE; never do this "
                    "outside a local experiment",
                    NULL);
    else if (s_broker_key(config, broker_key) != 0)
        goto cleanup;
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
    };
    worker = th_worker_new(&wc, err, sizeof err);
    if (worker == NULL) {
        th_log_error(0, "could not start the worker", "error=\"%s\"", err);
        goto cleanup;
    }
    const ProtobufCServiceDescriptor *desc = &teilhabe__registry__v1__registry__descriptor;
    handlers = calloc(desc->n_methods, sizeof *handlers);
    if (handlers == NULL || registry_handlers_fill(desc, handlers) != 0 ||
        th_worker_add_service(worker, desc, handlers, &state) != 0) {
        th_log_error(0, "could not register the Registry service", NULL);
        goto cleanup;
    }
    s_prepare_args_t prepare = {.config = config, .db_url = db_url, .state = &state};
    if (th_worker_set_prepare(worker, s_prepare, &prepare) != 0)
        goto cleanup;
    th_log_info(0, "serving", "service=%s endpoint=%s capacity=%ld", desc->name,
                wc.broker_endpoint, capacity);
    exit_code = th_worker_run(worker) == 0 ? 0 : 1;

cleanup:
    /* The worker holds the handler table until it is destroyed. */
    th_worker_destroy(&worker);
    free(handlers);
    th_config_destroy(&config);
    return exit_code;
}
