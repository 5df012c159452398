/* ---------------------------------------------------------------------------
 * broker.h: the core of teilhabe-broker: sockets, routing, workers, timers.
 *
 * One thread owns everything: the frontend ROUTER (clients), the backend
 * ROUTER (workers), the ZAP handler and the pipe from the principal poller.
 * docs/PROTOCOL.md describes what goes over the sockets; this module is its
 * reference implementation on the broker side.
 * ---------------------------------------------------------------------------
 */
#ifndef TH_BROKER_H
#define TH_BROKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *frontend_endpoint; /* clients, e.g. "tcp://127.0.0.1:5555" */
    const char *backend_endpoint;  /* workers, e.g. "tcp://127.0.0.1:5556" */
    const char *broker_cert;       /* the broker's secret certificate file */
    const char *certs_dir;         /* principals' public certificates */
    const char *db_url;            /* registry.principals source, NULL = none */
    bool insecure;                 /* no CURVE, every client is admin */
    int heartbeat_ms;
    int liveness;                 /* missed heartbeats before a worker is dead */
    size_t max_message_size;      /* soft limit of a request body */
    size_t hard_max_message_size; /* ZMQ_MAXMSGSIZE */
    int default_timeout_ms;
    int grace_ms;
    int max_timeout_ms; /* larger timeouts (also default_timeout_ms) are cut to it */
    size_t queue_max;   /* queued calls per service */
    size_t queue_max_per_principal; /* queued calls of one principal per service */
    size_t queue_max_bytes;         /* header + body bytes of all queued calls together */
    int handshake_timeout_ms;       /* ZMQ_HANDSHAKE_IVL on both sockets */
    size_t max_connections;         /* frontend connections at once; 0 = no cap */
    size_t max_worker_connections;  /* backend connections at once; 0 = no cap */
    uint32_t worker_capacity_max;   /* larger capacities announced are capped */
    int service_forget_ms;          /* a service without workers is forgotten after */
    size_t max_services;            /* registered services at once */
    size_t max_methods_per_service; /* methods the live workers of a service announce */
} broker_config_t;

/* Descriptors the broker keeps for itself when it derives its connection
 * caps from the open file limit: its sockets' internal signals and
 * listeners, the database connection, the certificate files it reads, and
 * connections accepted in the moment before they are shut down. */
#define BROKER_FD_RESERVE 64

typedef struct broker_t broker_t;

/* Sets up the ZAP handler, the principal store and both sockets (ZAP first,
 * then the CURVE sockets). NULL on failure with a message in errbuf. */
broker_t *broker_new(const broker_config_t *config, char *errbuf, size_t errlen);

/* Accepts NULL; sets *self_p to NULL. Answers nothing further: calls still
 * pending are dropped (clients time out or retry). */
void broker_destroy(broker_t **self_p);

/* Runs until SIGINT/SIGTERM. 0 after a clean stop, < 0 on a socket error. */
int broker_run(broker_t *self);

#endif /* TH_BROKER_H */
