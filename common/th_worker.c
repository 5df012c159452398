/* ---------------------------------------------------------------------------
 * th_worker.c: the worker runtime (broker link, dispatch, handler threads)
 *
 * Threads: the thread in th_worker_run owns the DEALER to the broker's
 * backend. It sends READY and heartbeats, watches the broker's liveness and
 * reconnects (with a new socket, so a restarted broker sees a fresh peer and
 * gets READY again). Each REQUEST goes to one of `capacity` handler threads
 * (each owns its own database connection). A handler thread decodes, checks
 * and dispatches the call and returns the finished REPLY frames.
 *
 * Hand-off: the main thread binds one inproc ROUTER; every handler thread
 * connects a DEALER with a routing id naming its slot and blocks in a plain
 * receive on it. The main thread hands a call straight to an idle thread's
 * routing id and hears every reply on that one socket, so each pass of its
 * loop polls two sockets whatever the capacity (each socket polled costs
 * libzmq a system call or two), and a call wakes each thread once.
 *
 * Shutdown: SIGTERM/SIGINT (CZMQ's handler sets zsys_interrupted) or
 * th_worker_stop start draining: requests that still arrive are answered
 * UNAVAILABLE at once (the client retries elsewhere), the calls in flight
 * finish and their replies go out, then the worker says DISCONNECT, so the
 * broker never loses a reply of a call it already routed here.
 * ---------------------------------------------------------------------------
 */
#include "th_worker.h"

#include "th_curve.h"

#include "th_error.h"
#include "th_log.h"
#include "th_status.h"

#include "teilhabe/v1/broker.pb-c.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_MAX_SERVICES 32
#define S_MAX_CAPACITY 256
#define S_RECONNECT_MIN_MS 100
#define S_RECONNECT_MAX_MS 2000
/* Without a deadline in the header a call still ends some day. */
#define S_NO_DEADLINE_MS (24LL * 3600 * 1000)
/* Nested messages deeper than this are refused, whatever the schema. */
#define S_MAX_DEPTH 64
/* How long the final replies and DISCONNECT may take to leave. */
#define S_LINGER_MS 1000
/* Requests waiting for a free handler thread, at most. */
#define S_MAX_QUEUED 1024

typedef struct {
    const ProtobufCServiceDescriptor *desc;
    th_method_fn *handlers; /* desc->n_methods entries */
    void *state;
} s_service_t;

/* Routing id of a handler thread's DEALER: a tag byte (a routing id must
 * not begin with a zero byte) and the slot index. */
#define S_SLOT_TAG 'h'
#define S_SLOT_ID_LEN 5
/* An idle handler thread looks at the stop flag this often. */
#define S_HANDLER_IDLE_MS 500
/* How long the handler threads may take to connect at start-up. */
#define S_HANDLER_START_MS 5000

typedef struct {
    th_worker_t *worker;
    const char *endpoint; /* the main thread's inproc ROUTER */
    const atomic_bool *stop; /* set when the thread is to end */
    uint32_t index;
    pthread_t thread;
    bool started; /* thread is running and must be joined */
    bool busy;
} s_slot_t;

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
    s_service_t services[S_MAX_SERVICES];
    size_t n_services;
    atomic_bool stop_requested;
};

/* What a handler thread owns. */
typedef struct {
    th_worker_t *worker;
    th_db_t *db;
    int64_t db_retry_at; /* no new connection attempt before this (mono ms) */
} s_thread_t;

/* Call-scoped memory: a chain of blocks freed after the reply. */
typedef struct s_block_t {
    struct s_block_t *next;
    max_align_t data[]; /* aligned for anything a handler stores */
} s_block_t;

typedef struct s_violation_t {
    struct s_violation_t *next;
    char *field;
    char *description;
} s_violation_t;

struct th_call_t {
    s_thread_t *thread;
    const s_service_t *service;
    const ProtobufCMethodDescriptor *method;
    const th_request_header_t *header;
    const zframe_t *body;
    int64_t deadline;
    s_block_t *arena;
    char *message; /* arena */
    s_violation_t *violations;
    s_violation_t **violations_tail;
    size_t n_violations;
    bool in_write;
    bool replay;
    uint8_t *replay_reply; /* malloc'ed by th_db */
    size_t replay_len;
};

/* The caller when the broker sent none (insecure broker): all strings "" */
static const th_principal_t s_no_principal = TEILHABE__RPC__V1__PRINCIPAL__INIT;

/* --- call-scoped helpers ------------------------------------------------- */

void *
th_call_alloc(th_call_t *call, size_t size)
{
    if (size > SIZE_MAX - sizeof(s_block_t))
        abort();
    s_block_t *block = calloc(1, sizeof *block + (size > 0 ? size : 1));
    if (block == NULL)
        abort(); /* as CZMQ does on out-of-memory */
    block->next = call->arena;
    call->arena = block;
    return block->data;
}

char *
th_call_strdup(th_call_t *call, const char *s)
{
    if (s == NULL)
        s = "";
    size_t len = strlen(s);
    char *copy = th_call_alloc(call, len + 1);
    memcpy(copy, s, len + 1);
    return copy;
}

static char *
s_call_vprintf(th_call_t *call, const char *fmt, va_list args)
{
    va_list copy;
    va_copy(copy, args);
    int len = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (len < 0)
        return th_call_strdup(call, "");
    char *text = th_call_alloc(call, (size_t) len + 1);
    vsnprintf(text, (size_t) len + 1, fmt, args);
    return text;
}

char *
th_call_printf(th_call_t *call, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    char *text = s_call_vprintf(call, fmt, args);
    va_end(args);
    return text;
}

int
th_call_error(th_call_t *call, int code, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    call->message = s_call_vprintf(call, fmt, args);
    va_end(args);
    return code;
}

void
th_call_violation(th_call_t *call, const char *field, const char *fmt, ...)
{
    s_violation_t *violation = th_call_alloc(call, sizeof *violation);
    violation->field = th_call_strdup(call, field);
    va_list args;
    va_start(args, fmt);
    violation->description = s_call_vprintf(call, fmt, args);
    va_end(args);
    *call->violations_tail = violation;
    call->violations_tail = &violation->next;
    call->n_violations++;
}

uint64_t
th_call_id(const th_call_t *call)
{
    return call->header->call_id;
}

const char *
th_call_method(const th_call_t *call)
{
    return call->header->method;
}

const th_principal_t *
th_call_principal(const th_call_t *call)
{
    return call->header->principal != NULL ? call->header->principal : &s_no_principal;
}

const char *
th_call_idempotency_key(const th_call_t *call)
{
    return call->header->idempotency_key != NULL ? call->header->idempotency_key : "";
}

const char *
th_call_metadata(const th_call_t *call, const char *key)
{
    for (size_t i = 0; i < call->header->n_metadata; i++) {
        const Teilhabe__Rpc__V1__MetadataEntry *entry = call->header->metadata[i];
        if (entry != NULL && entry->key != NULL && strcmp(entry->key, key) == 0)
            return entry->value != NULL ? entry->value : "";
    }
    return NULL;
}

int64_t
th_call_remaining_ms(const th_call_t *call)
{
    return call->deadline - zclock_mono();
}

void *
th_call_state(const th_call_t *call)
{
    return call->service->state;
}

/* The thread's connection with the call's deadline handed to PostgreSQL:
 * outside a transaction as the session's statement_timeout (th_db keeps
 * this to one SET now and then), inside one by th_db_begin's SET LOCAL. */
static th_db_t *
s_call_db_with_deadline(th_call_t *call)
{
    th_db_t *db = call->thread->db;
    if (db != NULL && !th_db_in_transaction(db))
        th_db_set_statement_timeout(db, th_call_remaining_ms(call));
    return db;
}

th_db_t *
th_call_db(th_call_t *call)
{
    s_thread_t *thread = call->thread;
    if (thread->db != NULL || thread->worker->db_url == NULL)
        return s_call_db_with_deadline(call);
    /* Connect lazily: a service starts even while the database is down,
     * and a thread that failed tries again at most once a second. */
    int64_t now = zclock_mono();
    if (now < thread->db_retry_at)
        return NULL;
    char errbuf[512];
    thread->db = th_db_new(thread->worker->db_url, errbuf, sizeof errbuf);
    if (thread->db == NULL) {
        thread->db_retry_at = now + 1000;
        char quoted[TH_LOG_QUOTE_SIZE];
        th_log_warn(th_call_id(call), "could not connect to the database", "error=%s",
                    th_log_quote(quoted, sizeof quoted, errbuf));
    }
    return s_call_db_with_deadline(call);
}

bool
th_call_is_replay(const th_call_t *call)
{
    return call->replay;
}

/* The idempotency record ties a key to one request: SHA-1 (zdigest) of the
 * method and the request bytes, hex. */
static void
s_request_hash(const th_call_t *call, char out[64])
{
    zdigest_t *digest = zdigest_new();
    if (digest == NULL) {
        snprintf(out, 64, "unhashed");
        return;
    }
    const char *method = call->header->method;
    zdigest_update(digest, (const byte *) method, strlen(method) + 1);
    size_t size = zframe_size((zframe_t *) call->body);
    if (size > 0)
        zdigest_update(digest, zframe_data((zframe_t *) call->body), size);
    snprintf(out, 64, "%s", zdigest_string(digest));
    zdigest_destroy(&digest);
}

int
th_call_begin_write(th_call_t *call)
{
    if (call->in_write)
        return th_call_error(call, TH_INTERNAL, "the write transaction was already started");
    if (call->thread->worker->db_url == NULL)
        return th_call_error(call, TH_UNAVAILABLE, "this service runs without a database");
    th_db_t *db = th_call_db(call);
    if (db == NULL)
        return th_call_error(call, TH_UNAVAILABLE,
                             "the database is not reachable; try again later");
    int64_t remaining = th_call_remaining_ms(call);
    if (remaining <= 0)
        return th_call_error(call, TH_DEADLINE_EXCEEDED,
                             "the deadline passed before the write could start");
    if (th_db_begin(db, remaining) != 0) {
        int code = th_db_status(db);
        return th_call_error(call, code == TH_OK ? TH_INTERNAL : code,
                             "could not start the write transaction: %s", th_db_error(db));
    }
    call->in_write = true;
    const char *key = th_call_idempotency_key(call);
    if (key[0] == '\0')
        return TH_OK;
    char hash[64];
    s_request_hash(call, hash);
    bool found = false;
    int rc = th_db_idem_lookup(db, th_call_principal(call)->id, key, call->header->method, hash,
                               &found, &call->replay_reply, &call->replay_len);
    if (rc == TH_EINVAL) {
        th_db_rollback(db);
        call->in_write = false;
        th_call_violation(call, "idempotency_key", "was used before for a different request");
        return th_call_error(call, TH_INVALID_ARGUMENT,
                             "idempotency key \"%s\" was already used for a different request; "
                             "use a new key for a new request",
                             key);
    }
    if (rc != 0) {
        int code = th_db_status(db);
        th_call_error(call, code == TH_OK ? TH_INTERNAL : code,
                      "could not look up idempotency key \"%s\": %s", key, th_db_error(db));
        th_db_rollback(db);
        call->in_write = false;
        return code == TH_OK ? TH_INTERNAL : code;
    }
    if (found) {
        call->replay = true;
        return TH_CALL_REPLAY;
    }
    return TH_OK;
}

int
th_call_audit(th_call_t *call, const char *resource, const char *before_json,
              const char *after_json)
{
    if (!call->in_write || call->replay)
        return TH_ESTATE;
    const th_principal_t *principal = th_call_principal(call);
    th_audit_entry_t entry = {
        .principal_id = principal->id,
        .principal_role = principal->role,
        .call_id = th_call_id(call),
        .method = call->header->method,
        .resource = resource,
        .before_json = before_json,
        .after_json = after_json,
    };
    return th_db_audit(call->thread->db, &entry);
}

int
th_call_emit(th_call_t *call, const char *schema, const char *topic, const char *resource,
             const ProtobufCMessage *payload)
{
    if (!call->in_write || call->replay)
        return TH_ESTATE;
    size_t len = payload != NULL ? protobuf_c_message_get_packed_size(payload) : 0;
    uint8_t *bytes = th_call_alloc(call, len);
    if (len > 0)
        protobuf_c_message_pack(payload, bytes);
    return th_db_outbox_append(call->thread->db, schema, topic, resource, bytes, len, NULL);
}

/* --- request checks ------------------------------------------------------ */

/* Walks msg and records the first string field that is not valid UTF-8 as
 * a violation (path like "items[2].name"). Returns false then. */
static bool
s_strings_valid(th_call_t *call, const ProtobufCMessage *msg, char *path, size_t path_len,
                size_t path_size, int depth)
{
    if (depth > S_MAX_DEPTH) {
        th_call_violation(call, path_len > 0 ? path : "(request)",
                          "messages are nested more than %d levels deep", S_MAX_DEPTH);
        return false;
    }
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &desc->fields[i];
        if (field->type != PROTOBUF_C_TYPE_STRING && field->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        const char *base = (const char *) msg;
        if (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            uint32_t which;
            memcpy(&which, base + field->quantifier_offset, sizeof which);
            if (which != field->id)
                continue; /* another member of the oneof is set */
        }
        size_t count = 1;
        const void *const *items = (const void *const *) (base + field->offset);
        if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            memcpy(&count, base + field->quantifier_offset, sizeof count);
            memcpy(&items, base + field->offset, sizeof items);
            if (items == NULL)
                count = 0;
        }
        for (size_t k = 0; k < count; k++) {
            const void *item = items[k];
            if (item == NULL)
                continue;
            int n = field->label == PROTOBUF_C_LABEL_REPEATED
                        ? snprintf(path + path_len, path_size - path_len, "%s%s[%zu]",
                                   path_len > 0 ? "." : "", field->name, k)
                        : snprintf(path + path_len, path_size - path_len, "%s%s",
                                   path_len > 0 ? "." : "", field->name);
            size_t len = n > 0 && (size_t) n < path_size - path_len ? path_len + (size_t) n
                                                                    : path_size - 1;
            bool ok;
            if (field->type == PROTOBUF_C_TYPE_STRING) {
                ok = th_wire_utf8_valid(item, strlen(item));
                if (!ok)
                    th_call_violation(call, path, "must be valid UTF-8");
            } else {
                ok = s_strings_valid(call, item, path, len, path_size, depth + 1);
            }
            path[path_len] = '\0';
            if (!ok)
                return false;
        }
    }
    return true;
}

/* Finishes the call's write transaction according to code; returns the
 * final code (a failed COMMIT turns OK into the database's status). */
static int
s_finish_write(th_call_t *call, int code, const zframe_t *reply)
{
    if (!call->in_write)
        return code;
    th_db_t *db = call->thread->db;
    call->in_write = false;
    if (code != TH_OK || call->replay) {
        th_db_rollback(db);
        return code;
    }
    const char *key = th_call_idempotency_key(call);
    if (key[0] != '\0') {
        char hash[64];
        s_request_hash(call, hash);
        if (th_db_idem_store(db, th_call_principal(call)->id, key, call->header->method, hash,
                             zframe_data((zframe_t *) reply),
                             zframe_size((zframe_t *) reply)) != 0) {
            int status = th_db_status(db);
            th_call_error(call, status == TH_OK ? TH_INTERNAL : status,
                          "could not record the idempotency key: %s", th_db_error(db));
            th_db_rollback(db);
            return status == TH_OK ? TH_INTERNAL : status;
        }
    }
    if (th_db_commit(db) != 0) {
        int status = th_db_status(db);
        th_call_error(call, status == TH_OK ? TH_INTERNAL : status,
                      "could not commit the write: %s", th_db_error(db));
        th_db_rollback(db);
        return status == TH_OK ? TH_INTERNAL : status;
    }
    return TH_OK;
}

/* Decodes, checks and runs the call. Returns its status; *reply_p receives
 * the packed response on OK. */
static int
s_dispatch(th_call_t *call, zframe_t **reply_p)
{
    const th_worker_t *worker = call->thread->worker;
    const char *method = call->header->method;
    char service_name[TH_WIRE_METHOD_MAX + 1];
    if (th_wire_split_method(method, service_name, sizeof service_name) != 0)
        return th_call_error(call, TH_INVALID_ARGUMENT, "\"%s\" is not a full method name",
                             method);
    const s_service_t *service = NULL;
    for (size_t i = 0; i < worker->n_services; i++)
        if (strcmp(worker->services[i].desc->name, service_name) == 0)
            service = &worker->services[i];
    if (service == NULL)
        return th_call_error(call, TH_UNIMPLEMENTED, "service %s is not served here",
                             service_name);
    call->service = service;
    const ProtobufCServiceDescriptor *desc = service->desc;
    const ProtobufCMethodDescriptor *mdesc =
        protobuf_c_service_descriptor_get_method_by_name(desc, strchr(method, '/') + 1);
    /* protobuf-c only asserts on these; check them here */
    if (mdesc == NULL || mdesc < desc->methods || mdesc >= desc->methods + desc->n_methods)
        return th_call_error(call, TH_UNIMPLEMENTED, "method %s does not exist", method);
    size_t index = (size_t) (mdesc - desc->methods);
    th_method_fn handler = service->handlers[index];
    if (handler == NULL)
        return th_call_error(call, TH_UNIMPLEMENTED, "method %s is not implemented", method);
    call->method = mdesc;

    size_t size = zframe_size((zframe_t *) call->body);
    if (size > worker->max_message_size)
        return th_call_error(call, TH_RESOURCE_EXHAUSTED,
                             "request of %zu bytes exceeds the limit of %zu bytes", size,
                             worker->max_message_size);
    ProtobufCMessage *request = NULL;
    if (th_wire_unpack(mdesc->input, call->body, worker->max_message_size, &request) != 0)
        return th_call_error(call, TH_INVALID_ARGUMENT, "request is not a valid %s message",
                             mdesc->input->name);
    int code;
    char path[512] = "";
    if (!s_strings_valid(call, request, path, 0, sizeof path, 0)) {
        code = th_call_error(call, TH_INVALID_ARGUMENT,
                             "field %s of the request is not valid UTF-8",
                             call->violations != NULL ? call->violations->field : "?");
        goto cleanup;
    }
    if (th_call_remaining_ms(call) <= 0) {
        code = th_call_error(call, TH_DEADLINE_EXCEEDED,
                             "the deadline passed before %s started", method);
        goto cleanup;
    }

    ProtobufCMessage *response = NULL;
    code = handler(call, request, &response);
    if (code < 0 || code > TH_STATUS_MAX) {
        th_log_error(th_call_id(call), "handler returned an invalid status",
                     "method=%s status=%d", method, code);
        code = th_call_error(call, TH_INTERNAL, "%s failed inside the service", method);
    } else if (code == TH_OK && call->replay) {
        *reply_p = zframe_new(call->replay_reply, call->replay_len);
    } else if (code == TH_OK && (response == NULL || response->descriptor != mdesc->output)) {
        th_log_error(th_call_id(call), "handler returned no response of the declared type",
                     "method=%s", method);
        code = th_call_error(call, TH_INTERNAL, "%s failed inside the service", method);
    } else if (code == TH_OK) {
        *reply_p = th_wire_pack(response);
    }
    if (code == TH_OK && *reply_p == NULL)
        code = th_call_error(call, TH_INTERNAL, "out of memory packing the reply");
    code = s_finish_write(call, code, *reply_p);
    if (code != TH_OK)
        zframe_destroy(reply_p);

cleanup:
    protobuf_c_message_free_unpacked(request, NULL);
    return code;
}

/* Builds [id | ResponseHeader | body] for the main thread. */
static zmsg_t *
s_reply_frames(zframe_t **id_p, uint64_t call_id, int code, const char *message,
               th_call_t *call, zframe_t **body_p)
{
    th_response_header_t header = TEILHABE__RPC__V1__RESPONSE_HEADER__INIT;
    header.call_id = call_id;
    header.code = (Teilhabe__Rpc__V1__StatusCode) code;
    header.message = (char *) (message != NULL ? message : "");
    Teilhabe__Rpc__V1__FieldViolation **list = NULL;
    if (call != NULL && call->n_violations > 0) {
        list = th_call_alloc(call, call->n_violations * sizeof *list);
        size_t i = 0;
        for (s_violation_t *v = call->violations; v != NULL; v = v->next, i++) {
            list[i] = th_call_alloc(call, sizeof **list);
            teilhabe__rpc__v1__field_violation__init(list[i]);
            list[i]->field = v->field;
            list[i]->description = v->description;
        }
        header.n_violations = call->n_violations;
        header.violations = list;
    }
    zmsg_t *msg = zmsg_new();
    zframe_t *head = th_wire_pack(&header.base);
    zframe_t *body = body_p != NULL && *body_p != NULL ? *body_p : zframe_new_empty();
    if (body_p != NULL)
        *body_p = NULL;
    if (msg == NULL || head == NULL || body == NULL) {
        zmsg_destroy(&msg);
        zframe_destroy(&head);
        zframe_destroy(&body);
        zframe_destroy(id_p);
        return NULL;
    }
    zmsg_append(msg, id_p);
    zmsg_append(msg, &head);
    zmsg_append(msg, &body);
    return msg;
}

static int64_t
s_decode_i64(const zframe_t *frame)
{
    uint64_t value = 0;
    if (th_wire_id_decode(frame, &value) != 0)
        return zclock_mono();
    return (int64_t) value;
}

/* Handles one request [id | header | body | arrival]. Consumes msg;
 * returns the reply frames (NULL only when out of memory). */
static zmsg_t *
s_handle(s_thread_t *thread, zmsg_t **msg_p)
{
    zmsg_t *msg = *msg_p;
    *msg_p = NULL;
    zframe_t *id = zmsg_pop(msg);
    zframe_t *head = zmsg_pop(msg);
    zframe_t *body = zmsg_pop(msg);
    zframe_t *arrival = zmsg_pop(msg);
    zmsg_destroy(&msg);
    zmsg_t *reply = NULL;
    ProtobufCMessage *unpacked = NULL;
    if (th_wire_unpack(&teilhabe__rpc__v1__request_header__descriptor, head,
                       TH_WIRE_HEADER_MAX, &unpacked) != 0) {
        reply = s_reply_frames(&id, 0, TH_INVALID_ARGUMENT,
                               "the request header could not be decoded", NULL, NULL);
        goto cleanup;
    }
    th_request_header_t *header = (th_request_header_t *) unpacked;
    th_call_t call = {
        .thread = thread,
        .header = header,
        .body = body,
    };
    call.violations_tail = &call.violations;
    int64_t start = s_decode_i64(arrival);
    call.deadline = start + (header->timeout_ms > 0 ? (int64_t) header->timeout_ms
                                                    : S_NO_DEADLINE_MS);
    zframe_t *response = NULL;
    int code = s_dispatch(&call, &response);
    /* A handler that wrote without finishing must not leave its
     * transaction open for the next call on this connection. */
    if (thread->db != NULL && th_db_in_transaction(thread->db))
        th_db_rollback(thread->db);
    const char *message = code == TH_OK ? "" : call.message;
    if (code != TH_OK && (message == NULL || message[0] == '\0'))
        message = th_status_name(code);
    th_log(code == TH_OK ? TH_LOG_DEBUG : TH_LOG_INFO, header->call_id, "call done",
           "method=%s code=%s ms=%lld", header->method, th_status_name(code),
           (long long) (zclock_mono() - start));
    reply = s_reply_frames(&id, header->call_id, code, message, &call, &response);
    zframe_destroy(&response);
    free(call.replay_reply);
    while (call.arena != NULL) {
        s_block_t *next = call.arena->next;
        free(call.arena);
        call.arena = next;
    }
cleanup:
    if (unpacked != NULL)
        protobuf_c_message_free_unpacked(unpacked, NULL);
    zframe_destroy(&id);
    zframe_destroy(&head);
    zframe_destroy(&body);
    zframe_destroy(&arrival);
    return reply;
}

/* A handler thread. Signals go to the main thread only, so a handler's
 * sleep or database wait is never cut short by SIGTERM. It says hello once
 * connected (so the main thread knows its routing id is attached), then
 * answers every call it is given until the stop flag is set. */
static void *
s_handler_thread(void *args)
{
    s_slot_t *slot = args;
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    s_thread_t thread = {.worker = slot->worker};
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    if (sock == NULL)
        return NULL;
    byte routing_id[S_SLOT_ID_LEN] = {S_SLOT_TAG};
    memcpy(routing_id + 1, &slot->index, sizeof slot->index);
    zmq_setsockopt(zsock_resolve(sock), ZMQ_ROUTING_ID, routing_id, sizeof routing_id);
    zsock_set_linger(sock, 0);
    /* Bounded: an idle thread looks at the stop flag every so often, so it
     * ends even if the main thread could not reach it. */
    zsock_set_rcvtimeo(sock, S_HANDLER_IDLE_MS);
    if (zsock_connect(sock, "%s", slot->endpoint) != 0 || zstr_send(sock, "") != 0)
        goto cleanup;
    while (!atomic_load(slot->stop)) {
        zmsg_t *msg = zmsg_recv(sock);
        if (msg == NULL)
            continue; /* idle: look at the stop flag */
        if (zmsg_size(msg) != 4) {
            zmsg_destroy(&msg); /* the stop nudge, or nothing we know */
            continue;
        }
        zmsg_t *reply = s_handle(&thread, &msg);
        /* The main thread counts this thread busy until it hears back, so
         * it always hears something: an empty string when out of memory. */
        if (reply == NULL)
            zstr_send(sock, "");
        else if (zmsg_send(&reply, sock) != 0)
            zmsg_destroy(&reply);
    }
cleanup:
    zsock_destroy(&sock);
    th_db_destroy(&thread.db);
    return NULL;
}

/* --- the worker ---------------------------------------------------------- */

th_worker_t *
th_worker_new(const th_worker_config_t *config, char *errbuf, size_t errlen)
{
    if (config == NULL || config->broker_endpoint == NULL || config->broker_endpoint[0] == '\0') {
        snprintf(errbuf, errlen, "no broker endpoint given (broker_endpoint)");
        return NULL;
    }
    th_worker_t *self = calloc(1, sizeof *self);
    if (self == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    self->capacity = config->capacity > 0 ? config->capacity : 4;
    self->heartbeat_ms = config->heartbeat_ms > 0 ? config->heartbeat_ms : 1000;
    self->liveness = config->liveness > 0 ? config->liveness : 3;
    self->max_message_size =
        config->max_message_size > 0 ? config->max_message_size : TH_WIRE_SOFT_MAX_DEFAULT;
    atomic_init(&self->stop_requested, false);
    if (self->capacity > S_MAX_CAPACITY) {
        snprintf(errbuf, errlen, "capacity %d is too large; at most %d handler threads",
                 self->capacity, S_MAX_CAPACITY);
        goto failed;
    }
    self->endpoint = strdup(config->broker_endpoint);
    if (config->instance != NULL && config->instance[0] != '\0') {
        self->instance = strdup(config->instance);
    } else {
        char host[256] = "localhost";
        gethostname(host, sizeof host - 1);
        host[sizeof host - 1] = '\0';
        if (asprintf(&self->instance, "%s:%d", host, (int) getpid()) < 0)
            self->instance = NULL;
    }
    if (config->db_url != NULL && config->db_url[0] != '\0')
        self->db_url = strdup(config->db_url);
    if (self->endpoint == NULL || self->instance == NULL ||
        (config->db_url != NULL && config->db_url[0] != '\0' && self->db_url == NULL)) {
        snprintf(errbuf, errlen, "out of memory");
        goto failed;
    }
    if (config->broker_public_key != NULL && config->broker_public_key[0] != '\0') {
        self->cert = th_curve_load_identity(config->broker_public_key, config->cert_path,
                                            "worker", errbuf, errlen);
        if (self->cert == NULL)
            goto failed;
        self->broker_public_key = strdup(config->broker_public_key);
        if (self->broker_public_key == NULL) {
            snprintf(errbuf, errlen, "out of memory");
            goto failed;
        }
    }
    return self;

failed:
    th_worker_destroy(&self);
    return NULL;
}

void
th_worker_destroy(th_worker_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    th_worker_t *self = *self_p;
    for (size_t i = 0; i < self->n_services; i++)
        free(self->services[i].handlers);
    free(self->endpoint);
    free(self->broker_public_key);
    free(self->db_url);
    free(self->instance);
    zcert_destroy(&self->cert);
    free(self);
    *self_p = NULL;
}

int
th_worker_add_service(th_worker_t *self, const ProtobufCServiceDescriptor *desc,
                      const th_method_fn *handlers, void *state)
{
    if (self == NULL || desc == NULL || handlers == NULL || desc->n_methods == 0 ||
        self->n_services >= S_MAX_SERVICES)
        return TH_EINVAL;
    for (size_t i = 0; i < self->n_services; i++)
        if (strcmp(self->services[i].desc->name, desc->name) == 0)
            return TH_EINVAL;
    th_method_fn *copy = calloc(desc->n_methods, sizeof *copy);
    if (copy == NULL)
        return TH_ENOMEM;
    memcpy(copy, handlers, desc->n_methods * sizeof *copy);
    self->services[self->n_services++] = (s_service_t){desc, copy, state};
    return 0;
}

void
th_worker_stop(th_worker_t *self)
{
    if (self != NULL)
        atomic_store(&self->stop_requested, true);
}

/* --- the main loop ------------------------------------------------------- */

typedef struct {
    th_worker_t *worker;
    zsock_t *socket;
    int64_t last_heard;
    int64_t next_heartbeat;
    int64_t reconnect_at; /* > 0: no socket, connect then */
    int reconnect_backoff;
    unsigned int seed;
    s_slot_t *slots;
    int busy;
    zlist_t *queue; /* zmsg_t * waiting for a free thread */
    bool draining;
    zsock_t *handlers; /* ROUTER: one DEALER per handler thread */
    char handlers_endpoint[96];
    atomic_bool handlers_stop;
} s_loop_t;

static int
s_send_command(s_loop_t *loop, th_wire_cmd_t cmd, zmsg_t **body_p)
{
    zmsg_t *msg = body_p != NULL && *body_p != NULL ? *body_p : zmsg_new();
    if (body_p != NULL)
        *body_p = NULL;
    if (msg == NULL)
        return TH_ENOMEM;
    if (loop->socket == NULL) {
        zmsg_destroy(&msg);
        return TH_ESTATE;
    }
    byte command = (byte) cmd;
    zmsg_pushmem(msg, &command, 1);
    zmsg_pushstr(msg, TH_WIRE_WORKER_SIG);
    if (zmsg_send(&msg, loop->socket) != 0) {
        zmsg_destroy(&msg);
        return TH_EIO;
    }
    return 0;
}

static int
s_send_ready(s_loop_t *loop)
{
    th_worker_t *self = loop->worker;
    Teilhabe__Broker__V1__WorkerReady ready = TEILHABE__BROKER__V1__WORKER_READY__INIT;
    Teilhabe__Broker__V1__ServiceInfo infos[S_MAX_SERVICES];
    Teilhabe__Broker__V1__ServiceInfo *info_ptrs[S_MAX_SERVICES];
    char **names[S_MAX_SERVICES] = {NULL};
    int rc = TH_ENOMEM;
    for (size_t i = 0; i < self->n_services; i++) {
        const ProtobufCServiceDescriptor *desc = self->services[i].desc;
        teilhabe__broker__v1__service_info__init(&infos[i]);
        infos[i].name = (char *) desc->name;
        names[i] = calloc(desc->n_methods, sizeof(char *));
        if (names[i] == NULL)
            goto cleanup;
        for (unsigned m = 0; m < desc->n_methods; m++)
            names[i][m] = (char *) desc->methods[m].name;
        infos[i].n_methods = desc->n_methods;
        infos[i].methods = names[i];
        info_ptrs[i] = &infos[i];
    }
    ready.n_services = self->n_services;
    ready.services = info_ptrs;
    ready.capacity = (uint32_t) self->capacity;
    ready.instance = self->instance;
    zframe_t *frame = th_wire_pack(&ready.base);
    zmsg_t *msg = zmsg_new();
    if (frame == NULL || msg == NULL) {
        zframe_destroy(&frame);
        zmsg_destroy(&msg);
        goto cleanup;
    }
    zmsg_append(msg, &frame);
    rc = s_send_command(loop, TH_CMD_READY, &msg);
cleanup:
    for (size_t i = 0; i < self->n_services; i++)
        free(names[i]);
    return rc;
}

static void
s_disconnect_socket(s_loop_t *loop)
{
    zsock_destroy(&loop->socket);
}

/* A new socket to the broker, then READY. A new socket (not a reconnect
 * of the old one) makes the broker see a new peer identity, so nothing of
 * the old registration lingers on either side. */
static int
s_connect(s_loop_t *loop)
{
    th_worker_t *self = loop->worker;
    s_disconnect_socket(loop);
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    if (sock == NULL)
        return TH_EIO;
    zsock_set_linger(sock, 0);
    zsock_set_sndhwm(sock, 10000);
    zsock_set_rcvhwm(sock, 10000);
    zsock_set_reconnect_ivl(sock, 100);
    zsock_set_reconnect_ivl_max(sock, 1000);
    size_t hard = TH_WIRE_HARD_MAX_DEFAULT + TH_WIRE_CURVE_OVERHEAD;
    if (self->max_message_size + TH_WIRE_HEADER_MAX + 64 > hard)
        hard = self->max_message_size + TH_WIRE_HEADER_MAX + 64;
    zsock_set_maxmsgsize(sock, hard > INT32_MAX ? INT32_MAX : (int) hard);
    if (self->cert != NULL) {
        zcert_apply(self->cert, sock);
        zsock_set_curve_serverkey(sock, self->broker_public_key);
    }
    if (zsock_connect(sock, "%s", self->endpoint) != 0) {
        th_log_error(0, "could not connect to the broker", "endpoint=\"%s\"", self->endpoint);
        zsock_destroy(&sock);
        return TH_EIO;
    }
    loop->socket = sock;
    int64_t now = zclock_mono();
    loop->last_heard = now;
    loop->next_heartbeat = now + self->heartbeat_ms;
    loop->reconnect_at = 0;
    s_send_ready(loop);
    th_log_info(0, "registering with the broker", "endpoint=\"%s\" instance=\"%s\" capacity=%d",
                self->endpoint, self->instance, self->capacity);
    return 0;
}

static void
s_schedule_reconnect(s_loop_t *loop, const char *why)
{
    th_log_warn(0, "reconnecting to the broker", "reason=\"%s\" endpoint=\"%s\"", why,
                loop->worker->endpoint);
    s_disconnect_socket(loop);
    int backoff = loop->reconnect_backoff;
    int wait = backoff / 2 + (int) (rand_r(&loop->seed) % (unsigned) (backoff / 2 + 1));
    loop->reconnect_at = zclock_mono() + wait;
    loop->reconnect_backoff = backoff * 2 > S_RECONNECT_MAX_MS ? S_RECONNECT_MAX_MS : backoff * 2;
}

/* Gives queued requests to free handler threads: the routing id in front
 * takes the call straight to that thread. */
static void
s_dispatch_queued(s_loop_t *loop)
{
    th_worker_t *self = loop->worker;
    for (int i = 0; i < self->capacity && zlist_size(loop->queue) > 0; i++) {
        if (loop->slots[i].busy)
            continue;
        zmsg_t *msg = zlist_pop(loop->queue);
        byte routing_id[S_SLOT_ID_LEN] = {S_SLOT_TAG};
        memcpy(routing_id + 1, &loop->slots[i].index, sizeof loop->slots[i].index);
        if (zmsg_pushmem(msg, routing_id, sizeof routing_id) != 0 ||
            zmsg_send(&msg, loop->handlers) != 0) {
            /* Unreachable thread (it never starts late: start-up waited for
             * every one); the broker's deadline answers this call. */
            th_log_error(0, "could not hand a call to a handler thread", "slot=%d", i);
            zmsg_destroy(&msg);
            continue;
        }
        loop->slots[i].busy = true;
        loop->busy++;
    }
}

/* Answers a request at once without running it (while draining). */
static void
s_refuse(s_loop_t *loop, zframe_t **id_p, const zframe_t *head, int code, const char *message)
{
    uint64_t call_id = 0;
    ProtobufCMessage *unpacked = NULL;
    if (th_wire_unpack(&teilhabe__rpc__v1__request_header__descriptor, head,
                       TH_WIRE_HEADER_MAX, &unpacked) == 0) {
        call_id = ((th_request_header_t *) unpacked)->call_id;
        protobuf_c_message_free_unpacked(unpacked, NULL);
    }
    zmsg_t *reply = s_reply_frames(id_p, call_id, code, message, NULL, NULL);
    if (reply != NULL)
        s_send_command(loop, TH_CMD_REPLY, &reply);
}

static void
s_on_broker_message(s_loop_t *loop)
{
    zmsg_t *msg = zmsg_recv(loop->socket);
    if (msg == NULL)
        return;
    loop->last_heard = zclock_mono();
    loop->reconnect_backoff = S_RECONNECT_MIN_MS;
    zframe_t *sig = zmsg_pop(msg);
    zframe_t *cmd = zmsg_pop(msg);
    if (!th_wire_is_sig(sig, TH_WIRE_WORKER_SIG) || cmd == NULL || zframe_size(cmd) != 1) {
        th_log_debug(0, "dropping a malformed message from the broker", NULL);
        goto cleanup;
    }
    switch (zframe_data(cmd)[0]) {
    case TH_CMD_REQUEST: {
        if (zmsg_size(msg) != 3 || zframe_size(zmsg_first(msg)) != 8) {
            th_log_debug(0, "dropping a malformed REQUEST", "frames=%zu", zmsg_size(msg));
            break;
        }
        if (loop->draining) {
            zframe_t *id = zmsg_pop(msg);
            s_refuse(loop, &id, zmsg_first(msg), TH_UNAVAILABLE,
                     "this worker is shutting down; try again");
            break;
        }
        if (zlist_size(loop->queue) >= S_MAX_QUEUED) {
            /* The broker sends at most `capacity` calls; one that sends
             * far more must not make this worker grow without bound. */
            zframe_t *id = zmsg_pop(msg);
            s_refuse(loop, &id, zmsg_first(msg), TH_RESOURCE_EXHAUSTED,
                     "this worker has too many calls waiting; try again later");
            break;
        }
        /* The arrival time travels with the request, so time spent
         * waiting for a free thread counts against the deadline. */
        zframe_t *arrival = th_wire_id_frame((uint64_t) zclock_mono());
        if (arrival == NULL)
            break;
        zmsg_append(msg, &arrival);
        if (zlist_append(loop->queue, msg) != 0)
            break;
        msg = NULL;
        s_dispatch_queued(loop);
        break;
    }
    case TH_CMD_HEARTBEAT:
        break;
    case TH_CMD_DISCONNECT:
        if (!loop->draining) {
            /* The broker does not know us (it restarted, or it dropped us):
             * register again at once. */
            th_log_info(0, "the broker sent DISCONNECT; registering again", NULL);
            loop->reconnect_at = zclock_mono();
            s_disconnect_socket(loop);
        }
        break;
    default:
        th_log_debug(0, "dropping an unknown command from the broker", "command=%d",
                     (int) zframe_data(cmd)[0]);
        break;
    }
cleanup:
    zframe_destroy(&sig);
    zframe_destroy(&cmd);
    zmsg_destroy(&msg);
}

/* Which slot a message from the handlers' ROUTER came from, or NULL. */
static s_slot_t *
s_slot_of(s_loop_t *loop, const zframe_t *routing_id)
{
    if (routing_id == NULL || zframe_size((zframe_t *) routing_id) != S_SLOT_ID_LEN)
        return NULL;
    const byte *data = zframe_data((zframe_t *) routing_id);
    uint32_t index;
    memcpy(&index, data + 1, sizeof index);
    if (data[0] != S_SLOT_TAG || index >= (uint32_t) loop->worker->capacity)
        return NULL;
    return &loop->slots[index];
}

static void
s_on_thread_reply(s_loop_t *loop)
{
    zmsg_t *reply = zmsg_recv(loop->handlers);
    if (reply == NULL)
        return;
    zframe_t *routing_id = zmsg_pop(reply);
    s_slot_t *slot = s_slot_of(loop, routing_id);
    zframe_destroy(&routing_id);
    if (slot != NULL && slot->busy) {
        slot->busy = false;
        loop->busy--;
    }
    if (zmsg_size(reply) != 3) {
        zmsg_destroy(&reply); /* the thread could not build a reply */
    } else if (loop->socket == NULL) {
        /* The broker link is down: the broker has failed this call already */
        zmsg_destroy(&reply);
    } else {
        s_send_command(loop, TH_CMD_REPLY, &reply);
    }
    s_dispatch_queued(loop);
}

/* Starts the handler threads and waits until each has connected to the
 * handlers' ROUTER (its hello), so a call can go to any of them at once. */
static int
s_start_handlers(s_loop_t *loop)
{
    th_worker_t *self = loop->worker;
    zuuid_t *uuid = zuuid_new();
    if (uuid == NULL)
        return TH_ENOMEM;
    /* A fresh name: libzmq closes sockets asynchronously, so a worker run
     * just ended in this process may still hold its name for a moment. */
    snprintf(loop->handlers_endpoint, sizeof loop->handlers_endpoint, "inproc://th-worker-%s",
             zuuid_str(uuid));
    zuuid_destroy(&uuid);
    loop->handlers = zsock_new(ZMQ_ROUTER);
    if (loop->handlers == NULL)
        return TH_EIO;
    zsock_set_router_mandatory(loop->handlers, 1);
    zsock_set_linger(loop->handlers, 0);
    zsock_set_sndhwm(loop->handlers, 0);
    zsock_set_rcvhwm(loop->handlers, 0);
    if (zsock_bind(loop->handlers, "%s", loop->handlers_endpoint) != 0)
        return TH_EIO;
    for (int i = 0; i < self->capacity; i++) {
        s_slot_t *slot = &loop->slots[i];
        slot->worker = self;
        slot->endpoint = loop->handlers_endpoint;
        slot->stop = &loop->handlers_stop;
        slot->index = (uint32_t) i;
        if (pthread_create(&slot->thread, NULL, s_handler_thread, slot) != 0)
            return TH_EIO;
        slot->started = true;
    }
    zsock_set_rcvtimeo(loop->handlers, 100);
    int64_t until = zclock_mono() + S_HANDLER_START_MS;
    int hellos = 0;
    /* Bounded by the start-up time limit */
    while (hellos < self->capacity && zclock_mono() < until) {
        zmsg_t *msg = zmsg_recv(loop->handlers);
        if (msg == NULL)
            continue;
        if (zmsg_size(msg) == 2 && s_slot_of(loop, zmsg_first(msg)) != NULL)
            hellos++;
        zmsg_destroy(&msg);
    }
    zsock_set_rcvtimeo(loop->handlers, -1);
    return hellos == self->capacity ? 0 : TH_EIO;
}

/* Tells every handler thread to end and waits for it: a busy one first
 * finishes its call, an idle one sees the flag within S_HANDLER_IDLE_MS,
 * sooner when the nudge reaches it. */
static void
s_stop_handlers(s_loop_t *loop)
{
    atomic_store(&loop->handlers_stop, true);
    for (int i = 0; loop->slots != NULL && i < loop->worker->capacity; i++) {
        if (!loop->slots[i].started || loop->handlers == NULL)
            continue;
        byte routing_id[S_SLOT_ID_LEN] = {S_SLOT_TAG};
        memcpy(routing_id + 1, &loop->slots[i].index, sizeof loop->slots[i].index);
        zmsg_t *nudge = zmsg_new();
        if (nudge != NULL && (zmsg_addmem(nudge, routing_id, sizeof routing_id) != 0 ||
                              zmsg_addstr(nudge, "$TERM") != 0 ||
                              zmsg_send(&nudge, loop->handlers) != 0))
            zmsg_destroy(&nudge);
    }
    for (int i = 0; loop->slots != NULL && i < loop->worker->capacity; i++) {
        if (loop->slots[i].started)
            pthread_join(loop->slots[i].thread, NULL);
        loop->slots[i].started = false;
    }
    zsock_destroy(&loop->handlers);
}

int
th_worker_run(th_worker_t *self)
{
    if (self == NULL || self->n_services == 0)
        return TH_EINVAL;
    zsys_init(); /* installs CZMQ's SIGINT/SIGTERM handler (zsys_interrupted) */
    int rc = 0;
    s_loop_t loop = {.worker = self, .reconnect_backoff = S_RECONNECT_MIN_MS};
    uint8_t seed[16];
    zuuid_t *uuid = zuuid_new();
    if (uuid != NULL) {
        memcpy(seed, zuuid_data(uuid), sizeof seed);
        memcpy(&loop.seed, seed, sizeof loop.seed);
        zuuid_destroy(&uuid);
    }
    atomic_init(&loop.handlers_stop, false);
    loop.queue = zlist_new();
    loop.slots = calloc((size_t) self->capacity, sizeof *loop.slots);
    if (loop.queue == NULL || loop.slots == NULL) {
        rc = TH_ENOMEM;
        goto cleanup;
    }
    if (s_start_handlers(&loop) != 0) {
        th_log_error(0, "could not start the handler threads", "capacity=%d", self->capacity);
        rc = TH_EIO;
        goto cleanup;
    }
    if (s_connect(&loop) != 0) {
        rc = TH_EIO;
        goto cleanup;
    }

    /* Bounded by the stop flag: the loop wakes at least every 100 ms */
    while (true) {
        if (!loop.draining && (zsys_interrupted || atomic_load(&self->stop_requested))) {
            loop.draining = true;
            th_log_info(0, "stopping: finishing the calls in flight", "in_flight=%d queued=%zu",
                        loop.busy, zlist_size(loop.queue));
        }
        if (loop.draining && loop.busy == 0 && zlist_size(loop.queue) == 0)
            break;
        int64_t now = zclock_mono();
        if (loop.socket == NULL && loop.reconnect_at > 0 && now >= loop.reconnect_at) {
            if (loop.draining) {
                /* Nothing to hand back to a broker that is gone */
                loop.reconnect_at = 0;
            } else if (s_connect(&loop) != 0) {
                s_schedule_reconnect(&loop, "could not open a socket");
            }
        }
        if (loop.socket != NULL) {
            if (now >= loop.next_heartbeat) {
                s_send_command(&loop, TH_CMD_HEARTBEAT, NULL);
                loop.next_heartbeat = now + self->heartbeat_ms;
            }
            if (now - loop.last_heard > (int64_t) self->liveness * self->heartbeat_ms)
                s_schedule_reconnect(&loop, "the broker stopped answering");
        }
        zmq_pollitem_t items[2] = {
            {zsock_resolve(loop.handlers), 0, ZMQ_POLLIN, 0},
            {loop.socket != NULL ? zsock_resolve(loop.socket) : NULL, 0, ZMQ_POLLIN, 0},
        };
        int n = loop.socket != NULL ? 2 : 1;
        long timeout = 100;
        if (loop.socket != NULL && loop.next_heartbeat - now < timeout)
            timeout = (long) (loop.next_heartbeat - now);
        if (timeout < 0)
            timeout = 0;
        int ready = zmq_poll(items, n, timeout);
        if (ready < 0) {
            if (zmq_errno() == EINTR)
                continue; /* a signal: the top of the loop looks at it */
            th_log_error(0, "polling failed", "error=\"%s\"", zmq_strerror(zmq_errno()));
            rc = TH_EIO;
            break;
        }
        /* One message per socket and pass: the next poll returns at once
         * while more are queued, and looks at both sockets in turn. */
        if (n == 2 && (items[1].revents & ZMQ_POLLIN) && loop.socket != NULL)
            s_on_broker_message(&loop);
        if (items[0].revents & ZMQ_POLLIN)
            s_on_thread_reply(&loop);
    }
    if (loop.socket != NULL) {
        s_send_command(&loop, TH_CMD_DISCONNECT, NULL);
        /* Let the last replies and DISCONNECT leave before the socket goes */
        zsock_set_linger(loop.socket, S_LINGER_MS);
    }
    th_log_info(0, "stopped", "instance=\"%s\"", self->instance);

cleanup:
    s_disconnect_socket(&loop);
    s_stop_handlers(&loop);
    while (loop.queue != NULL && zlist_size(loop.queue) > 0) {
        zmsg_t *msg = zlist_pop(loop.queue);
        zmsg_destroy(&msg);
    }
    zlist_destroy(&loop.queue);
    free(loop.slots);
    return rc;
}
