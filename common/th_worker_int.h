/* ---------------------------------------------------------------------------
 * th_worker_int.h: what the parts of the worker runtime share (th_worker.c:
 * the worker, its start and stop, the keeper and the start-up work;
 * th_worker_link.c: one connection to the broker; th_handler.c: the handler
 * threads; th_call.c: the call API handlers use). Not for services: they see
 * th_worker.h and th_call.h.
 * ---------------------------------------------------------------------------
 */
#ifndef TH_WORKER_INT_H
#define TH_WORKER_INT_H

#include "th_call.h"
#include "th_client.h"
#include "th_worker.h"

#include <czmq.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TH_WORKER_MAX_SERVICES 32

/* A registered service */
typedef struct {
    const ProtobufCServiceDescriptor *desc;
    th_method_fn *handlers; /* desc->n_methods entries */
    void *state;
} th_worker_service_t;

typedef struct th_worker_slot_t th_worker_slot_t;

/* A worker: its configuration, services, start-up state and threads. */
struct th_worker_t {
    char *endpoint;
    char *broker_public_key;
    char *db_url;
    char *instance;
    zcert_t *cert;
    int capacity;
    int heartbeat_ms;
    int liveness;
    size_t max_message_size;
    th_worker_service_t services[TH_WORKER_MAX_SERVICES];
    size_t n_services;
    atomic_bool stop_requested;
    th_worker_prepare_fn prepare;
    void *prepare_arg;
    atomic_bool prepared;        /* the start-up work is done (or there is none) */
    atomic_bool prepare_failed;  /* its last attempt failed */
    atomic_int prepare_retry_ms; /* the wait before its next attempt */
    /* Stopping: set once by th_worker_run's thread, which then makes
     * stop_fd readable so that every handler thread wakes at once. */
    atomic_bool draining;
    int stop_fd;                 /* read end of the stop pipe; -1 outside run */
    int64_t idempotency_keep_ms; /* < 0: never pruned here */
    char *frontend;              /* for th_call_invoke; NULL = calls no other service */
    char *client_cert;           /* this service's client key (role service) */
};

/* One connection to the broker's backend, owned by one handler thread (see
 * th_worker_slot_t.lock for the one exception, the keeper's heartbeat). */
typedef struct {
    th_worker_t *worker;
    uint32_t slot;
    zsock_t *socket;      /* NULL while down */
    int64_t last_heard;   /* the broker's last message, or the connect */
    bool heard;           /* the broker has said something on this socket */
    int64_t last_sent;    /* the last message this side sent (mono ms) */
    int64_t reconnect_at; /* > 0: no socket, connect then */
    int reconnect_backoff;
    unsigned int seed;    /* rand_r state for the backoff's jitter */
} th_worker_link_t;

/* A handler thread with its broker connection. */
struct th_worker_slot_t {
    th_worker_t *worker;
    uint32_t index;
    pthread_t thread;
    bool started;            /* thread is running and must be joined */
    /* Guards link. The thread holds it at all times but while a handler
     * runs; then the keeper (th_worker_run's thread) may take it to send a
     * heartbeat on the link, so a long call does not make the broker think
     * this connection dead. Taking the mutex is the full memory barrier
     * libzmq asks for when a socket moves between threads. */
    pthread_mutex_t lock;
    bool lock_ready;         /* lock was initialised */
    atomic_bool busy;        /* a handler runs: link is the keeper's to heartbeat */
    atomic_bool done;        /* the thread has ended */
    th_worker_link_t link;
};

/* What a handler thread owns besides its link. */
typedef struct {
    th_worker_t *worker;
    th_worker_slot_t *slot;
    const char *db_url;  /* the worker's; NULL = no database */
    th_db_t *db;
    int64_t db_retry_at; /* no new connection attempt before this (mono ms) */
    int64_t prune_at;    /* next pruning of idempotency keys (mono ms; 0 = never) */
    th_client_t *client; /* calls to other services (th_invoke.c); NULL until the first */
} th_worker_thread_t;

/* Call-scoped memory: a chain of blocks freed after the reply. */
typedef struct th_call_block_t {
    struct th_call_block_t *next;
    max_align_t data[]; /* aligned for anything a handler stores */
} th_call_block_t;

typedef struct th_call_violation_t {
    struct th_call_violation_t *next;
    char *field;
    char *description;
} th_call_violation_t;

/* A result of th_call_invoke, kept until the call ends. */
typedef struct th_call_result_t {
    struct th_call_result_t *next;
    th_result_t result;
} th_call_result_t;

struct th_call_t {
    th_worker_thread_t *thread;
    const th_worker_service_t *service;
    const ProtobufCMethodDescriptor *method;
    const th_request_header_t *header;
    const zframe_t *body;
    int64_t deadline;
    th_call_block_t *arena;
    char *message; /* arena */
    th_call_violation_t *violations;
    th_call_violation_t **violations_tail;
    size_t n_violations;
    bool in_write;
    bool replay;
    uint8_t *replay_reply; /* malloc'ed by th_db */
    size_t replay_len;
    unsigned n_invoked;          /* calls made to other services (th_invoke.c) */
    th_call_result_t *results;   /* their results (arena), cleared at the end */
};

/* --- th_call.c ------------------------------------------------------------ */

/* Finishes the call's write transaction according to code (commit with the
 * idempotency record on OK, else roll back); returns the final code (a
 * failed COMMIT turns OK into the database's status). reply is the packed
 * response stored under the idempotency key. */
int th_call__finish_write(th_call_t *call, int code, const zframe_t *reply);

/* Releases what the call holds (its memory, a replayed reply). */
void th_call__release(th_call_t *call);

/* Prunes the idempotency keys of the worker's methods that are older than
 * its idempotency_keep_ms, on the thread's own connection, a bounded number
 * per call of this. Logs what it did; failures are retried next time. */
void th_call__prune_keys(th_worker_thread_t *thread);

/* --- th_worker_link.c ------------------------------------------------------ */

/* Sets up link for slot (no socket yet: the first th_worker__link_poll
 * connects). */
void th_worker__link_init(th_worker_link_t *link, th_worker_t *worker, uint32_t slot);

/* Sends command with the frames of *body_p (taken; NULL = none). On a failed
 * send the link counts as broken: its socket is closed and a new one
 * planned after backoff. 0, TH_ESTATE while down, TH_EIO, TH_ENOMEM. */
int th_worker__link_send(th_worker_link_t *link, th_wire_cmd_t cmd, zmsg_t **body_p);

/* The periodic work of a link at time now: connect when due, heartbeat when
 * nothing was sent for an interval. Returns how long (ms) the caller may
 * wait before calling again. */
int64_t th_worker__link_tick(th_worker_link_t *link, int64_t now);

/* The broker has been silent too long: reconnect (call only when no message
 * is waiting on the socket). */
bool th_worker__link_overdue(const th_worker_link_t *link, int64_t now);

/* Closes the socket and plans a new one after backoff (why is logged). */
void th_worker__link_reconnect(th_worker_link_t *link, const char *why);

/* Notes a message from the broker (liveness, backoff reset). */
void th_worker__link_heard(th_worker_link_t *link);

/* Says DISCONNECT and closes the socket, letting the last messages leave
 * only towards a broker heard lately. */
void th_worker__link_close(th_worker_link_t *link);

/* --- th_handler.c ---------------------------------------------------------- */

/* A handler thread (pthread start routine; arg is its th_worker_slot_t).
 * Signals go to th_worker_run's thread only, so a handler's sleep or
 * database wait is never cut short by SIGTERM. It owns its link to the
 * broker, registers with capacity 1, answers the calls that arrive on it
 * and heartbeats while idle, until the worker drains. */
void *th_worker__handler_thread(void *arg);

/* Builds the REPLY frames [id | ResponseHeader | body], taking *id_p and
 * *body_p (NULL: an empty body). call (may be NULL) adds its violations.
 * NULL when out of memory. */
zmsg_t *th_worker__reply_frames(zframe_t **id_p, uint64_t call_id, int code,
                                const char *message, uint32_t retry_after_ms, th_call_t *call,
                                zframe_t **body_p);

#endif /* TH_WORKER_INT_H */
