/* ---------------------------------------------------------------------------
 * th_worker_int.h: what the worker runtime's two halves share (th_worker.c:
 * the broker link, dispatch and handler threads; th_call.c: the call API
 * handlers use). Not for services: they see th_worker.h and th_call.h.
 * ---------------------------------------------------------------------------
 */
#ifndef TH_WORKER_INT_H
#define TH_WORKER_INT_H

#include "th_call.h"
#include "th_worker.h"

#include <stddef.h>
#include <stdint.h>

/* A registered service */
typedef struct {
    const ProtobufCServiceDescriptor *desc;
    th_method_fn *handlers; /* desc->n_methods entries */
    void *state;
} th_worker_service_t;

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

#endif /* TH_WORKER_INT_H */
