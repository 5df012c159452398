/* ---------------------------------------------------------------------------
 * th_service.h: the main of every teilhabe service.
 *
 * A service describes itself (its protobuf service, the handler of each
 * method, its migrations, its start-up work, its own configuration keys)
 * and hands over to th_service_main, which does the rest the same way for
 * every service:
 *   - German dates (th_date_init), before any thread;
 *   - the options (getopt_long, th_args.h) and the configuration layers:
 *     defaults < file (--config or TEILHABE_CONFIG) < environment
 *     TEILHABE_<KEY> < flags; --help prints every key;
 *   - the log (log_level) and the checks of the common keys;
 *   - the broker's key (broker_public_key or broker_cert_public) and the
 *     worker's certificate, or insecure = true for local experiments;
 *   - the worker runtime with `capacity` handler threads, each with its
 *     own connection to db_url;
 *   - the start-up work, on the runtime's prepare thread so the service
 *     registers at once and answers UNAVAILABLE until it is done, tried
 *     again with backoff while the database is unreachable: one
 *     connection with migrate_db_url (the schema owner; default db_url),
 *     the common migrations, the service's own (migrations_dir), then the
 *     service's prepare hook (reference data), and the connection closed;
 *   - the service's periodic job, if it has one (th_service_job_fn), on
 *     its own thread with a client of its own key, every job_interval_ms
 *     (0 = never);
 *   - SIGTERM/SIGINT: the runtime stops taking calls, finishes those in
 *     flight, waits for the job to return and exits 0;
 *   - --seed-only: the start-up work once, then exit (0 when it worked).
 *
 * A service's main.c:
 *     int main(int argc, char **argv) {
 *         static registry_state_t state;
 *         const th_service_t service = {.name = "registry", ...};
 *         return th_service_main(&service, argc, argv);
 *     }
 * ---------------------------------------------------------------------------
 */
#ifndef TH_SERVICE_H
#define TH_SERVICE_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

#include "th_client.h"
#include "th_config.h"
#include "th_db.h"
#include "th_worker.h"

/* A method's handler, by the method's name in the .proto. */
typedef struct {
    const char *name; /* "GetDistrict"; NULL ends the table */
    th_method_fn fn;
} th_service_method_t;

/* A configuration key of the service's own, for the options and --help. */
typedef struct {
    const char *key;  /* "data_dir" (option --data-dir); NULL ends the table */
    const char *help; /* one or more lines, without the key */
} th_service_key_t;

/* Start-up work after the migrations, on the owner's connection (which it
 * must not keep): reference data, caches of data that never changes. 0,
 * or non-zero with errbuf saying why (logged; tried again with backoff). */
typedef int (*th_service_prepare_fn)(th_db_t *db, const th_config_t *config, void *state,
                                     char *errbuf, size_t errlen);

/* A periodic job of the service's own (the eligibility service's automated
 * re-checks): called on its own thread every job_interval_ms, from the
 * first interval after the start until the service stops, with a client of
 * the service's own key (client_cert, role service) on the broker's
 * frontend, so the job works through the service's methods like any other
 * caller. 0, or a negative error (the job logs why). It must return within
 * its calls' deadlines, and make no further call once the service is
 * stopping (CZMQ's zsys_interrupted is set on SIGTERM): the stop waits for
 * it. */
typedef int (*th_service_job_fn)(th_client_t *client, const th_config_t *config, void *state);

typedef struct {
    const char *name;    /* "registry": log lines, migrations, messages */
    const char *summary; /* one line for --help */
    const ProtobufCServiceDescriptor *service;
    const th_service_method_t *methods; /* every method of service needs one */
    void *state;                        /* handed to handlers (th_call_state) */
    const char *migrations_dir;         /* default of the key migrations_dir */
    const th_service_key_t *keys;       /* the service's own keys (may be NULL) */
    th_service_prepare_fn prepare;      /* may be NULL */
    th_service_job_fn job;              /* may be NULL */
    long job_interval_ms;               /* default of the key job_interval_ms */
} th_service_t;

/* The reference data a service loads at start-up (its prepare hook): the
 * directory of the service's key data_dir, default <source>/data; NULL
 * when it is "" or "none" (logged: nothing is loaded). */
const char *th_service_data_dir(const th_config_t *config);

/* Runs the service; returns the process's exit status: 0 after a clean
 * stop (or a --seed-only that worked), 1 on a failure, 2 for a wrong
 * command line or configuration. */
int th_service_main(const th_service_t *service, int argc, char **argv);

/* Fills handlers (service->n_methods entries, declaration order) from
 * methods by name. 0, or TH_EINVAL with the first method without a handler
 * named in errbuf (the .proto and the service's table disagree). */
int th_service_handlers(const ProtobufCServiceDescriptor *service,
                        const th_service_method_t *methods, th_method_fn *handlers,
                        char *errbuf, size_t errlen);

/* The broker's public key from broker_public_key or broker_cert_public
 * into key. 0, or TH_EINVAL with errbuf saying what to set. */
int th_service_broker_key(const th_config_t *config, char key[41], char *errbuf,
                          size_t errlen);

#endif /* TH_SERVICE_H */
