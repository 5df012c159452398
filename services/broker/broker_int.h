/* ---------------------------------------------------------------------------
 * broker_int.h: the broker's internal types, shared by its source files.
 *
 * Not an interface: everything declared here runs on the broker's one
 * thread and reaches into the same structures. The files:
 *   broker.c   set-up, the poll loop, timers, the expiry heap, sending, and
 *              the bookkeeping of services and calls
 *   route.c    the client side: checks, principal injection, routing,
 *              queueing and dispatch to workers
 *   workers.c  the worker side: READY, REPLY, heartbeats, removal
 *   builtin.c  the methods the broker answers itself (Health, ListServices)
 * Internal functions are named broker__verb (two underscores), static ones
 * s_verb as everywhere.
 *
 * The objects:
 *   service_t  a service name ("teilhabe.registry.v1.Registry"), the methods
 *              its live workers announced, its live workers and the calls
 *              waiting for a free worker: a fair queue (fairq.h) with a FIFO
 *              lane per principal, served round-robin. A service nobody has
 *              registered yet exists only while calls for it wait out the
 *              grace period; a registered one without workers is forgotten
 *              service_forget_ms after its last worker left.
 *   worker_t   one worker connection (keyed by its ROUTER routing id): its
 *              capacity, calls in flight and liveness expiry.
 *   call_t     one client call from arrival to its reply; keyed by the
 *              broker's own request id (the client's call ids are only
 *              unique per client). Every live call sits in a min-heap
 *              ordered by the moment it must be answered (deadline, or end
 *              of the grace period), which gives the poll timeout directly.
 * ---------------------------------------------------------------------------
 */
#ifndef TH_BROKER_INT_H
#define TH_BROKER_INT_H

#include "broker.h"

#include "conns.h"
#include "fairq.h"
#include "principals.h"
#include "th_wire.h"
#include "zap.h"

#include "teilhabe/v1/broker.pb-c.h"

#include <czmq.h>

#define HEALTH_SERVICE "teilhabe.health.v1.Health"
#define BROKER_SERVICE "teilhabe.broker.v1.Broker"
#define HEALTH_CHECK HEALTH_SERVICE "/Check"
#define LIST_SERVICES BROKER_SERVICE "/ListServices"
#define RESERVED_METADATA_PREFIX TH_WIRE_RESERVED_PREFIX

#define HEALTH_SERVING TEILHABE__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
#define HEALTH_NOT_SERVING                                                                 \
    TEILHABE__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING
#define HEALTH_SERVICE_UNKNOWN                                                             \
    TEILHABE__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN

#define READY_MAX (256 * 1024)    /* a WorkerReady frame */
#define CAPACITY_MAX 10000        /* the largest worker_capacity_max */
#define WORKER_SERVICES_MAX 64    /* services one worker may serve */
#define PENDING_SERVICES_MAX 1024 /* never-registered names with calls waiting */
#define INSECURE_WARN_MS 60000
#define RECV_BATCH 64 /* messages taken from one socket per wake-up */
#define QUEUE_FULL_RETRY_MS 250
#define DROP_LOG_MS 1000
#define REFUSED_KEYS_MAX 4096 /* keys whose refused READY was logged */
#define PROBE_AGAIN_MS 50     /* the second probe after a worker connection ended */
#define PROBE_MIN_MS 10       /* probes are at least this far apart */

typedef struct service_t service_t;
typedef struct worker_t worker_t;
typedef struct call_t call_t;

struct call_t {
    uint64_t id;      /* the broker's request id, key of broker->calls */
    uint64_t call_id; /* the client's, restored in the reply */
    zframe_t *client; /* routing id of the client connection */
    zframe_t *header; /* packed RequestHeader to forward (principal set) */
    zframe_t *body;
    service_t *service;
    worker_t *worker; /* handling it; NULL while queued */
    void *handle;     /* in service->queue or worker->calls */
    int64_t deadline;
    int64_t expires; /* heap key: deadline, or the end of the grace period */
    size_t heap_index;
    size_t queued_bytes; /* counted in broker->queued_bytes while queued */
    bool grace;          /* expires is the end of the grace period */
    bool waited;         /* was queued: timeout_ms in header is stale */
};

struct worker_t {
    zframe_t *identity;
    char label[24]; /* routing id in hex, for logs */
    char *instance;
    char key[41]; /* Z85 public key it connected with ("" when insecure) */
    uint32_t capacity;
    uint32_t in_flight;
    int64_t expires; /* dead when silent past this */
    uint64_t last_used;
    size_t n_services;
    service_t *services[WORKER_SERVICES_MAX];
    void *service_handles[WORKER_SERVICES_MAX];
    /* The READY it registered with (owned), and for each of its services
     * the ServiceInfo in it whose methods it announced. */
    Teilhabe__Broker__V1__WorkerReady *ready;
    const Teilhabe__Broker__V1__ServiceInfo *service_infos[WORKER_SERVICES_MAX];
    zlistx_t *calls; /* call_t * in flight (not owned) */
};

struct service_t {
    char *name;
    bool registered;    /* some worker has announced it */
    size_t any_method;  /* live workers that announced no method list: forward all */
    zhashx_t *methods;  /* method name -> live workers announcing it (a count) */
    int64_t down_since; /* registered, without live worker since then */
    zlistx_t *workers;  /* live worker_t * (not owned) */
    fairq_t *queue;     /* call_t * waiting, a lane per principal (not owned) */
};

struct broker_t {
    broker_config_t config;
    principals_t *principals;
    zap_t *zap;
    zsock_t *frontend;
    zsock_t *backend;
    conns_t *frontend_conns; /* connection count and cap of each socket */
    conns_t *backend_conns;
    zhashx_t *services; /* name -> service_t (owned) */
    zhashx_t *workers;  /* identity frame -> worker_t (owned, freed by hand) */
    zhashx_t *calls;    /* &call->id -> call_t (owned, freed by hand) */
    call_t **heap;
    size_t heap_size;
    size_t heap_cap;
    size_t pending_services;
    size_t services_registered; /* registered services (the max_services cap) */
    size_t services_down;       /* registered services without a live worker */
    size_t queued_bytes;        /* header + body bytes of all queued calls */
    uint64_t next_id;
    uint64_t use_counter;
    int64_t next_heartbeat;
    int64_t probe_at;   /* probe the workers then (0 = no probe due) */
    int64_t last_probe; /* when the workers were last probed */
    bool probe_again;   /* after the next probe, one more PROBE_AGAIN_MS later */
    int64_t next_insecure_warn;
    int64_t drop_log_at;
    size_t dropped;
    int64_t unauth_log_at;
    size_t unauth_unlogged;
    th_principal_t insecure_principal;
    zhashx_t *refused_keys; /* worker keys whose refused READY was logged */
};

/* --- broker.c ------------------------------------------------------------- */

/* The expiry heap: push a new call (0 or TH_ENOMEM), or move a call after
 * its expires changed. */
int broker__heap_push(broker_t *self, call_t *call);
void broker__heap_update(broker_t *self, call_t *call);

/* Sends the routing-id part of a message on a ROUTER without blocking.
 * TH_EIO when the peer is gone or not reading; then nothing was sent. */
int broker__send_identity(zsock_t *socket, zframe_t *identity);

/* Sends a reply [client | "THC01" | ResponseHeader | body] built here. body
 * may be NULL. The client frame is borrowed. */
void broker__send_reply(broker_t *self, zframe_t *client, uint64_t call_id, int code,
                        const char *message, uint32_t retry_after_ms, const void *body,
                        size_t body_size);

/* Sends INVALID_ARGUMENT with message and one field violation (field,
 * message). */
void broker__send_invalid(broker_t *self, zframe_t *client, uint64_t call_id,
                          const char *field, const char *message);

/* Sends a bodiless worker command (HEARTBEAT, DISCONNECT). 0, or TH_EIO
 * when the worker's connection is gone or it does not read (nothing was
 * sent then). */
int broker__send_command(broker_t *self, zframe_t *identity, byte command);

/* Counts input that cannot be answered; logs at most once a second. */
void broker__note_drop(broker_t *self, const char *socket, const char *why);

/* The service of that name; with create, a new never-registered one when
 * it does not exist. NULL when absent or out of memory. */
service_t *broker__service_get(broker_t *self, const char *name, bool create);

/* Forgets a never-registered service once nothing waits for it. */
void broker__service_release(broker_t *self, service_t *service);

/* Forgets registered services that have had no live worker for
 * service_forget_ms and have no calls waiting. */
void broker__services_forget(broker_t *self, int64_t now);

/* Removes a call from every structure and frees it (the caller answered
 * the client, or decided not to). Does not dispatch. */
void broker__call_finish(broker_t *self, call_t *call);

/* Answers the client with code and message, then finishes the call. */
void broker__fail_call(broker_t *self, call_t *call, int code, uint32_t retry_after_ms,
                       const char *message);

/* --- route.c ---------------------------------------------------------------- */

/* One message from the frontend. Takes ownership of msg. */
void broker__frontend_message(broker_t *self, zmsg_t *msg);

/* Hands queued calls of service to free workers. */
void broker__dispatch(broker_t *self, service_t *service);

/* After worker got free capacity: serves what waits for its services. */
void broker__worker_dispatch(broker_t *self, worker_t *worker);

/* --- workers.c -------------------------------------------------------------- */

/* One message from the backend. Takes ownership of msg. */
void broker__backend_message(broker_t *self, zmsg_t *msg);

/* Removes worker, failing its calls in flight with UNAVAILABLE; with
 * say_disconnect, tells it DISCONNECT first. Frees it. */
void broker__worker_remove(broker_t *self, worker_t *worker, const char *reason,
                           bool say_disconnect);

/* Frees a worker that is in no table any more. */
void broker__worker_free(worker_t *worker);

/* After the principal map changed: removes the workers whose key no
 * longer allows what they serve. */
void broker__workers_recheck(broker_t *self);

/* Sends heartbeats, removes workers that fell silent and, at once, those
 * a heartbeat cannot reach. */
void broker__heartbeat(broker_t *self, int64_t now);

/* Sends every worker a HEARTBEAT now; a worker it cannot reach (its
 * connection is gone) is removed at once, its calls failed UNAVAILABLE. */
void broker__probe_workers(broker_t *self);

/* --- builtin.c -------------------------------------------------------------- */

/* Health/Check and ListServices, answered at once. body is borrowed. */
void broker__health_check(broker_t *self, zframe_t *client, uint64_t call_id,
                          zframe_t *body);
void broker__list_services(broker_t *self, zframe_t *client, uint64_t call_id,
                           zframe_t *body);

#endif /* TH_BROKER_INT_H */
