/* ---------------------------------------------------------------------------
 * main.c: teilhabe-broker, configuration and start-up
 *
 *   teilhabe-broker [--config FILE] [--key value ...]
 *
 * Options are parsed by getopt_long (th_args): --key value, --key=value, an
 * unambiguous abbreviation; --insecure alone means true.
 *
 * Configuration comes from built-in defaults < the config file (--config or
 * TEILHABE_CONFIG) < TEILHABE_<KEY> environment variables < flags. The broker
 * refuses to start without a certificate and a principal source unless
 * --insecure is given, because CURVE without a ZAP handler lets anyone in.
 * ---------------------------------------------------------------------------
 */
#include "broker.h"

#include "th_args.h"
#include "th_config.h"
#include "th_error.h"
#include "th_log.h"
#include "th_sys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const s_usage =
    "usage: teilhabe-broker [--config FILE] [--key value ...]\n"
    "\n"
    "Routes teilhabe calls from clients (frontend) to workers (backend); see\n"
    "docs/PROTOCOL.md. Every key can be set in the config file (key = value),\n"
    "as environment variable TEILHABE_<KEY>, or as flag --key value with dashes\n"
    "for underscores, e.g. --grace-ms 500 (flags win).\n"
    "\n"
    "  frontend_endpoint      clients connect here (tcp://127.0.0.1:5555)\n"
    "  backend_endpoint       workers connect here (tcp://127.0.0.1:5556)\n"
    "  broker_cert            the broker's secret certificate file (required)\n"
    "  certs_dir              directory of the principals' public *.cert files\n"
    "  db_url                 libpq conninfo: also take principals from\n"
    "                         registry.principals (polled every 2 s)\n"
    "  insecure               true = no CURVE, no authentication, every client is\n"
    "                         admin (local experiments only; default false)\n"
    "  heartbeat_ms           heartbeat interval both ways (1000)\n"
    "  liveness               missed heartbeats before a worker is dead (3)\n"
    "  max_message_size       request body limit, RESOURCE_EXHAUSTED above (1048576)\n"
    "  hard_max_message_size  ZMQ_MAXMSGSIZE, connection dropped above (16777216)\n"
    "  default_timeout_ms     deadline of a call without timeout_ms (5000)\n"
    "  max_timeout_ms         longest deadline a call gets; a larger timeout_ms\n"
    "                         (or default_timeout_ms) is cut to it (300000)\n"
    "  grace_ms               wait for a worker of a service with none (2000)\n"
    "  queue_max              calls waiting per service (10000)\n"
    "  queue_max_per_principal  calls one principal may have waiting per service;\n"
    "                         more get RESOURCE_EXHAUSTED with a retry hint (100)\n"
    "  queue_max_bytes        bytes of requests (header + body) waiting in all\n"
    "                         queues together; a call that would exceed it gets\n"
    "                         RESOURCE_EXHAUSTED with a retry hint (268435456)\n"
    "  handshake_timeout_ms   a connection that has not finished its CURVE\n"
    "                         handshake after this long is closed (5000)\n"
    "  max_connections        client connections open at once; each one\n"
    "                         accepted beyond it is closed at once (0 = derived\n"
    "                         from the open file limit, see OPERATIONS.md)\n"
    "  max_worker_connections the same for worker connections (0 = derived)\n"
    "  worker_capacity_max    the most calls one worker is given at once; a\n"
    "                         larger capacity in its READY is capped (256)\n"
    "  service_forget_ms      a service without a live worker for this long is\n"
    "                         forgotten: no longer listed, no longer counted by\n"
    "                         Health (600000)\n"
    "  max_services           services registered at once; a READY that would\n"
    "                         add more is refused (1024)\n"
    "  max_methods_per_service  methods the live workers of one service may\n"
    "                         announce together; a READY beyond is refused (1024)\n"
    "  log_level              debug | info | warn | error (info)\n"
    "\n"
    "Without --insecure, broker_cert and at least one of certs_dir or db_url are\n"
    "required. Exit status: 0 after SIGTERM/SIGINT, 1 on a start-up error.\n";

/* The broker's options: one per configuration key (--heartbeat-ms for
 * heartbeat_ms), so a mistyped key is refused instead of ignored. */
static const th_arg_t s_options[] = {
    {"config", TH_ARG_VALUE, NULL, 0},
    {"frontend-endpoint", TH_ARG_VALUE, NULL, 0},
    {"backend-endpoint", TH_ARG_VALUE, NULL, 0},
    {"broker-cert", TH_ARG_VALUE, NULL, 0},
    {"certs-dir", TH_ARG_VALUE, NULL, 0},
    {"db-url", TH_ARG_VALUE, NULL, 0},
    {"insecure", TH_ARG_BOOL, NULL, 0},
    {"heartbeat-ms", TH_ARG_VALUE, NULL, 0},
    {"liveness", TH_ARG_VALUE, NULL, 0},
    {"max-message-size", TH_ARG_VALUE, NULL, 0},
    {"hard-max-message-size", TH_ARG_VALUE, NULL, 0},
    {"default-timeout-ms", TH_ARG_VALUE, NULL, 0},
    {"max-timeout-ms", TH_ARG_VALUE, NULL, 0},
    {"grace-ms", TH_ARG_VALUE, NULL, 0},
    {"queue-max", TH_ARG_VALUE, NULL, 0},
    {"queue-max-per-principal", TH_ARG_VALUE, NULL, 0},
    {"queue-max-bytes", TH_ARG_VALUE, NULL, 0},
    {"handshake-timeout-ms", TH_ARG_VALUE, NULL, 0},
    {"max-connections", TH_ARG_VALUE, NULL, 0},
    {"max-worker-connections", TH_ARG_VALUE, NULL, 0},
    {"worker-capacity-max", TH_ARG_VALUE, NULL, 0},
    {"service-forget-ms", TH_ARG_VALUE, NULL, 0},
    {"max-services", TH_ARG_VALUE, NULL, 0},
    {"max-methods-per-service", TH_ARG_VALUE, NULL, 0},
    {"log-level", TH_ARG_VALUE, NULL, 0},
    {"help", TH_ARG_SWITCH, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int
s_get_int(const th_config_t *config, const char *key, long fallback, long min, long max,
          long *out)
{
    if (th_config_get_long(config, key, fallback, min, max, out) != 0) {
        fprintf(stderr,
                "teilhabe-broker: invalid value \"%s\" for %s: expected a number from "
                "%ld to %ld\n",
                th_config_get(config, key, ""), key, min, max);
        return TH_EINVAL;
    }
    return 0;
}

/* Fills in the connection caps left at 0 from the open file limit: of the
 * descriptors beyond BROKER_FD_RESERVE, an eighth for workers (a few per
 * service instance are plenty) and the rest for clients. Caps given
 * explicitly are kept, with a warning when together they exceed what the
 * limit allows: then libzmq fails to accept before the cap is reached. */
static void
s_derive_connection_caps(broker_config_t *bc, uint64_t nofile)
{
    if (nofile == 0)
        nofile = 1024; /* unknown: assume the usual soft limit */
    size_t budget =
        nofile > BROKER_FD_RESERVE + 16 ? (size_t) nofile - BROKER_FD_RESERVE : 16;
    if (bc->max_worker_connections == 0)
        bc->max_worker_connections = budget / 8 > 8 ? budget / 8 : 8;
    if (bc->max_connections == 0)
        bc->max_connections = budget > bc->max_worker_connections + 8
                                  ? budget - bc->max_worker_connections
                                  : 8;
    if (bc->max_connections + bc->max_worker_connections > budget)
        th_log_warn(0,
                    "the connection caps exceed what the open file limit allows; beyond it "
                    "connections wait in the kernel's backlog",
                    "max_connections=%zu max_worker_connections=%zu open_file_limit=%llu "
                    "reserve=%d",
                    bc->max_connections, bc->max_worker_connections,
                    (unsigned long long) nofile, BROKER_FD_RESERVE);
}

int
main(int argc, char **argv)
{
    int status = 1;
    char errbuf[1024];
    th_config_t *flags = th_config_new();
    th_config_t *config = th_config_new();
    char **positional = NULL;
    int n_positional = 0;
    broker_t *broker = NULL;
    if (flags == NULL || config == NULL) {
        fprintf(stderr, "teilhabe-broker: out of memory\n");
        goto cleanup;
    }
    const th_arg_group_t group = {.args = s_options, .into = flags};
    if (th_args_parse(argc, argv, &group, 1, false, &positional, &n_positional, errbuf,
                      sizeof errbuf) != 0) {
        fprintf(stderr, "teilhabe-broker: %s\n%s", errbuf, s_usage);
        goto cleanup;
    }
    bool help = false;
    th_config_get_bool(flags, "help", false, &help);
    if (help) {
        fputs(s_usage, stdout);
        status = 0;
        goto cleanup;
    }
    if (n_positional > 0) {
        fprintf(stderr, "teilhabe-broker: unexpected argument \"%s\"\n%s", positional[0],
                s_usage);
        goto cleanup;
    }
    if (th_config_load_layers(config, flags, errbuf, sizeof errbuf) != 0) {
        fprintf(stderr, "teilhabe-broker: %s\n", errbuf);
        goto cleanup;
    }

    th_log_level_t level = TH_LOG_INFO;
    if (th_log_level_parse(th_config_get(config, "log_level", "info"), &level) != 0) {
        fprintf(stderr,
                "teilhabe-broker: invalid log_level \"%s\": expected debug, info, warn "
                "or error\n",
                th_config_get(config, "log_level", ""));
        goto cleanup;
    }
    th_log_init("broker", level);
    /* Every connection is a descriptor: take all the process may have. */
    uint64_t nofile = 0;
    th_sys_raise_nofile(&nofile);

    broker_config_t bc = {0};
    bc.frontend_endpoint =
        th_config_get(config, "frontend_endpoint", "tcp://127.0.0.1:5555");
    bc.backend_endpoint = th_config_get(config, "backend_endpoint", "tcp://127.0.0.1:5556");
    bc.broker_cert = th_config_get(config, "broker_cert", NULL);
    bc.certs_dir = th_config_get(config, "certs_dir", NULL);
    bc.db_url = th_config_get(config, "db_url", NULL);
    if (bc.broker_cert != NULL && bc.broker_cert[0] == '\0')
        bc.broker_cert = NULL;
    if (bc.certs_dir != NULL && bc.certs_dir[0] == '\0')
        bc.certs_dir = NULL;
    if (bc.db_url != NULL && bc.db_url[0] == '\0')
        bc.db_url = NULL;
    if (th_config_get_bool(config, "insecure", false, &bc.insecure) != 0) {
        fprintf(stderr,
                "teilhabe-broker: invalid value \"%s\" for insecure: expected true or "
                "false\n",
                th_config_get(config, "insecure", ""));
        goto cleanup;
    }
    long heartbeat, liveness, soft, hard, timeout, max_timeout, grace, queue_max,
        queue_max_bytes, handshake, max_connections, max_worker_connections, capacity_max,
        forget, max_services, max_methods, queue_max_per_principal;
    if (s_get_int(config, "heartbeat_ms", 1000, 10, 600000, &heartbeat) != 0 ||
        s_get_int(config, "liveness", 3, 1, 1000, &liveness) != 0 ||
        s_get_int(config, "hard_max_message_size", 16777216, 4096, 1L << 30, &hard) != 0 ||
        s_get_int(config, "max_message_size", 1048576, 1024, hard, &soft) != 0 ||
        s_get_int(config, "default_timeout_ms", 5000, 1, 86400000, &timeout) != 0 ||
        s_get_int(config, "max_timeout_ms", 300000, 1, 86400000, &max_timeout) != 0 ||
        s_get_int(config, "grace_ms", 2000, 0, 3600000, &grace) != 0 ||
        s_get_int(config, "queue_max", 10000, 1, 10000000, &queue_max) != 0 ||
        s_get_int(config, "queue_max_bytes", 268435456, 1024, 1L << 40, &queue_max_bytes) !=
            0 ||
        s_get_int(config, "handshake_timeout_ms", 5000, 100, 600000, &handshake) != 0 ||
        s_get_int(config, "max_connections", 0, 0, 10000000, &max_connections) != 0 ||
        s_get_int(config, "max_worker_connections", 0, 0, 10000000,
                  &max_worker_connections) != 0 ||
        s_get_int(config, "worker_capacity_max", 256, 1, 10000, &capacity_max) != 0 ||
        s_get_int(config, "service_forget_ms", 600000, 0, 86400000, &forget) != 0 ||
        s_get_int(config, "max_services", 1024, 1, 100000, &max_services) != 0 ||
        s_get_int(config, "max_methods_per_service", 1024, 1, 100000, &max_methods) != 0 ||
        s_get_int(config, "queue_max_per_principal", 100, 1, 10000000,
                  &queue_max_per_principal) != 0)
        goto cleanup;
    bc.heartbeat_ms = (int) heartbeat;
    bc.liveness = (int) liveness;
    bc.max_message_size = (size_t) soft;
    bc.hard_max_message_size = (size_t) hard;
    bc.default_timeout_ms = (int) timeout;
    bc.grace_ms = (int) grace;
    bc.max_timeout_ms = (int) max_timeout;
    bc.queue_max = (size_t) queue_max;
    bc.queue_max_bytes = (size_t) queue_max_bytes;
    bc.handshake_timeout_ms = (int) handshake;
    bc.max_connections = (size_t) max_connections;
    bc.max_worker_connections = (size_t) max_worker_connections;
    bc.worker_capacity_max = (uint32_t) capacity_max;
    bc.service_forget_ms = (int) forget;
    bc.max_services = (size_t) max_services;
    bc.max_methods_per_service = (size_t) max_methods;
    bc.queue_max_per_principal = (size_t) queue_max_per_principal;
    s_derive_connection_caps(&bc, nofile);

    if (!bc.insecure) {
        if (bc.broker_cert == NULL || (bc.certs_dir == NULL && bc.db_url == NULL)) {
            fprintf(stderr,
                    "teilhabe-broker: refusing to start without authentication: give "
                    "--broker-cert (the broker's secret certificate) and --certs-dir (the "
                    "principals' public certificates) or --db-url\n"
                    "HINT: ops/keys creates both under var/keys; for a local experiment "
                    "without any security, --insecure starts the broker unauthenticated\n");
            goto cleanup;
        }
        struct stat st;
        if (bc.certs_dir != NULL &&
            (stat(bc.certs_dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
            fprintf(stderr, "teilhabe-broker: certs_dir \"%s\" is not a directory\n",
                    bc.certs_dir);
            goto cleanup;
        }
    }
    broker = broker_new(&bc, errbuf, sizeof errbuf);
    if (broker == NULL) {
        th_log_error(0, errbuf, NULL);
        goto cleanup;
    }
    status = broker_run(broker) == 0 ? 0 : 1;
    th_log_info(0, "broker stopped", "status=%d", status);
cleanup:
    broker_destroy(&broker);
    free(positional);
    th_config_destroy(&flags);
    th_config_destroy(&config);
    return status;
}
