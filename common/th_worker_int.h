/* ---------------------------------------------------------------------------
 * th_worker_int.h: what the parts of the worker runtime share (th_worker.c:
 * the broker link and the main loop; th_handler.c: the handler threads;
 * th_call.c: the call API handlers use). Not for services: they see
 * th_worker.h and th_call.h.
 * ---------------------------------------------------------------------------
 */
#ifndef TH_WORKER_INT_H
#define TH_WORKER_INT_H

#include "th_call.h"
#include "th_worker.h"

#include <czmq.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TH_WORKER_MAX_SERVICES 32
/* Routing id of a handler thread's DEALER: a tag byte (a routing id must
 * not begin with a zero byte) and the slot index. */
#define TH_WORKER_SLOT_TAG 'h'
#define TH_WORKER_SLOT_ID_LEN 5
/* An idle handler thread looks at the stop flag this often. */
#define TH_WORKER_HANDLER_IDLE_MS 500

/* A registered service */
typedef struct {
    const ProtobufCServiceDescriptor *desc;
    th_method_fn *handlers; /* desc->n_methods entries */
    void *state;
} th_worker_service_t;

/* A worker: its configuration, services and start-up state. */
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
};

/* A handler thread, as the main thread sees it */
typedef struct {
    th_worker_t *worker;
    const char *endpoint;    /* the main thread's inproc ROUTER */
    const atomic_bool *stop; /* set when the thread is to end */
    uint32_t index;
    pthread_t thread;
    bool started; /* thread is running and must be joined */
    bool busy;
} th_worker_slot_t;

/* What a handler thread owns. */
typedef struct {
    th_worker_t *worker;
    const char *db_url;  /* the worker's; NULL = no database */
    th_db_t *db;
    int64_t db_retry_at; /* no new connection attempt before this (mono ms) */
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
};

/* Finishes the call's write transaction according to code (commit with the
 * idempotency record on OK, else roll back); returns the final code (a
 * failed COMMIT turns OK into the database's status). reply is the packed
 * response stored under the idempotency key. */
int th_call__finish_write(th_call_t *call, int code, const zframe_t *reply);

/* Releases what the call holds (its memory, a replayed reply). */
void th_call__release(th_call_t *call);

/* A handler thread (pthread start routine; arg is its th_worker_slot_t).
 * Signals go to the main thread only, so a handler's sleep or database wait
 * is never cut short by SIGTERM. It says hello once connected (so the main
 * thread knows its routing id is attached), then answers every call
 * [id | header | body | arrival] it is given until the stop flag is set. */
void *th_worker__handler_thread(void *arg);

/* Builds the REPLY frames [id | ResponseHeader | body] for the main thread,
 * taking *id_p and *body_p (NULL: an empty body). call (may be NULL) adds
 * its violations. NULL when out of memory. */
zmsg_t *th_worker__reply_frames(zframe_t **id_p, uint64_t call_id, int code,
                                const char *message, uint32_t retry_after_ms, th_call_t *call,
                                zframe_t **body_p);

#endif /* TH_WORKER_INT_H */
