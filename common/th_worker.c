/* ---------------------------------------------------------------------------
 * th_worker.c: the worker runtime (the worker, its threads, start-up work,
 * stopping)
 *
 * Threads: each of `capacity` handler threads (th_handler.c) owns its own
 * connection to the broker's backend (th_worker_link.c), registered with
 * capacity 1, and its own database connection: a call is decoded, checked,
 * run and answered by the thread whose socket it arrived on, with no relay
 * through another thread. So the broker sees `capacity` worker connections
 * per process, and balances calls over them as over separate workers.
 *
 * The thread in th_worker_run starts them and the start-up work, gets the
 * signals, and keeps the links of busy threads alive: a thread inside a
 * long handler cannot heartbeat, so this thread does it for it (see
 * th_worker_slot_t.lock); without that the broker would take a connection
 * busy for longer than `liveness` heartbeats for dead and fail its call.
 *
 * Start-up work (th_worker_set_prepare): migrations and seeding run on a
 * thread of their own, retried with backoff, while the worker is already
 * registered and answers every call UNAVAILABLE; so a service starts while
 * its database is still unreachable, and serves once it comes.
 *
 * Shutdown: SIGTERM/SIGINT (CZMQ's handler sets zsys_interrupted) or
 * th_worker_stop start draining: the stop pipe wakes every handler thread;
 * an idle one answers what already arrived UNAVAILABLE (the client retries
 * elsewhere) and says DISCONNECT, a busy one finishes its call, sends the
 * reply and then says DISCONNECT, so the broker never loses a reply of a
 * call it already routed here. Nothing of this waits on the broker:
 * DISCONNECT is sent without blocking, and a socket lingers only while the
 * broker was heard lately.
 * ---------------------------------------------------------------------------
 */
#include "th_worker.h"

#include "th_curve.h"
#include "th_worker_int.h"

#include "th_error.h"
#include "th_log.h"
#include "th_status.h"

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

#define S_MAX_CAPACITY 256
/* Start-up work is tried again after this, doubling up to the maximum */
#define S_PREPARE_RETRY_MIN_MS 500
#define S_PREPARE_RETRY_MAX_MS 10000
/* th_worker_run's thread looks at the stop flags this often. */
#define S_TICK_MS 100

/* --- the worker ---------------------------------------------------------- */

th_worker_t *
th_worker_new(const th_worker_config_t *config, char *errbuf, size_t errlen)
{
    if (config == NULL || config->broker_endpoint == NULL || config->broker_endpoint[0] == '\0') {
        snprintf(errbuf, errlen, "no broker endpoint given (broker_endpoint)");
        return NULL;
    }
    /* CZMQ's first zsys_init is not thread-safe: do it here, in the
     * caller's thread, before th_worker_run (often on a thread of its own)
     * and the caller's own sockets can race to it. */
    if (zsys_init() == NULL) {
        snprintf(errbuf, errlen, "could not create the ZeroMQ context");
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
    self->idempotency_keep_ms = config->idempotency_keep_ms != 0 ? config->idempotency_keep_ms
                                                                 : TH_WORKER_IDEMPOTENCY_KEEP_MS;
    atomic_init(&self->stop_requested, false);
    atomic_init(&self->prepared, true);
    atomic_init(&self->prepare_failed, false);
    atomic_init(&self->prepare_retry_ms, S_PREPARE_RETRY_MIN_MS);
    atomic_init(&self->draining, false);
    self->stop_fd = -1;
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
        if (gethostname(host, sizeof host - 1) != 0)
            snprintf(host, sizeof host, "localhost");
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
    if (config->frontend_endpoint != NULL && config->frontend_endpoint[0] != '\0') {
        /* The client key is checked now, so a wrong path stops the start
         * instead of failing the first call that needs it. */
        if (self->broker_public_key != NULL) {
            if (config->client_cert_path == NULL || config->client_cert_path[0] == '\0') {
                snprintf(errbuf, errlen,
                         "frontend_endpoint is set but client_cert is not: calls to other "
                         "services need this service's own client key (role service)");
                goto failed;
            }
            zcert_t *client = th_curve_load_identity(self->broker_public_key,
                                                     config->client_cert_path, "client",
                                                     errbuf, errlen);
            if (client == NULL)
                goto failed;
            zcert_destroy(&client);
            self->client_cert = strdup(config->client_cert_path);
        }
        self->frontend = strdup(config->frontend_endpoint);
        if (self->frontend == NULL ||
            (self->broker_public_key != NULL && self->client_cert == NULL)) {
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
    free(self->frontend);
    free(self->client_cert);
    zcert_destroy(&self->cert);
    free(self);
    *self_p = NULL;
}

int
th_worker_add_service(th_worker_t *self, const ProtobufCServiceDescriptor *desc,
                      const th_method_fn *handlers, void *state)
{
    if (self == NULL || desc == NULL || handlers == NULL || desc->n_methods == 0 ||
        self->n_services >= TH_WORKER_MAX_SERVICES)
        return TH_EINVAL;
    for (size_t i = 0; i < self->n_services; i++)
        if (strcmp(self->services[i].desc->name, desc->name) == 0)
            return TH_EINVAL;
    th_method_fn *copy = calloc(desc->n_methods, sizeof *copy);
    if (copy == NULL)
        return TH_ENOMEM;
    memcpy(copy, handlers, desc->n_methods * sizeof *copy);
    self->services[self->n_services++] = (th_worker_service_t){desc, copy, state};
    return 0;
}

int
th_worker_set_prepare(th_worker_t *self, th_worker_prepare_fn fn, void *arg)
{
    if (self == NULL || fn == NULL)
        return TH_EINVAL;
    self->prepare = fn;
    self->prepare_arg = arg;
    atomic_store(&self->prepared, false);
    return 0;
}

void
th_worker_stop(th_worker_t *self)
{
    if (self != NULL)
        atomic_store(&self->stop_requested, true);
}

/* --- the start-up work ---------------------------------------------------- */

typedef struct {
    th_worker_t *worker;
    th_worker_slot_t *slots;
    pthread_t prepare_thread;
    bool prepare_started;
    atomic_bool prepare_stop;
    int stop_pipe[2];
} s_run_t;

/* The start-up work: tried until it succeeds or the worker stops, with a
 * doubling wait between attempts that looks at the stop flag every 100 ms.
 * Signals go to th_worker_run's thread. */
static void *
s_prepare_thread(void *args)
{
    s_run_t *run = args;
    th_worker_t *self = run->worker;
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    int err = pthread_sigmask(SIG_BLOCK, &mask, NULL);
    if (err != 0)
        th_log_warn(0, "could not block signals in the start-up thread", "error=\"%s\"",
                    strerror(err));
    int wait = S_PREPARE_RETRY_MIN_MS;
    for (int attempt = 1; !atomic_load(&run->prepare_stop); attempt++) {
        char errbuf[512] = "";
        int64_t start = zclock_mono();
        if (self->prepare(self->prepare_arg, errbuf, sizeof errbuf) == 0) {
            atomic_store(&self->prepared, true);
            th_log_info(0, "start-up work done: serving", "attempt=%d ms=%lld", attempt,
                        (long long) (zclock_mono() - start));
            break;
        }
        atomic_store(&self->prepare_failed, true);
        atomic_store(&self->prepare_retry_ms, wait);
        char quoted[TH_LOG_QUOTE_SIZE];
        th_log_warn(0, "start-up work failed; calls are answered UNAVAILABLE until it succeeds",
                    "attempt=%d retry_ms=%d error=%s", attempt, wait,
                    th_log_quote(quoted, sizeof quoted, errbuf[0] != '\0' ? errbuf : "unknown"));
        for (int64_t until = zclock_mono() + wait;
             zclock_mono() < until && !atomic_load(&run->prepare_stop);)
            zclock_sleep(100);
        wait = wait * 2 > S_PREPARE_RETRY_MAX_MS ? S_PREPARE_RETRY_MAX_MS : wait * 2;
    }
    return NULL;
}

static int
s_start_prepare(s_run_t *run)
{
    if (run->worker->prepare == NULL)
        return 0;
    atomic_store(&run->worker->prepared, false);
    atomic_store(&run->worker->prepare_failed, false);
    if (pthread_create(&run->prepare_thread, NULL, s_prepare_thread, run) != 0)
        return TH_EIO;
    run->prepare_started = true;
    return 0;
}

/* Waits for the start-up thread: it ends within 100 ms between attempts,
 * or when the attempt under way ends. */
static void
s_stop_prepare(s_run_t *run)
{
    if (!run->prepare_started)
        return;
    atomic_store(&run->prepare_stop, true);
    if (pthread_join(run->prepare_thread, NULL) != 0)
        th_log_error(0, "could not join the start-up thread", NULL);
    run->prepare_started = false;
}

/* --- the handler threads and the keeper ------------------------------------ */

static int
s_start_handlers(s_run_t *run)
{
    th_worker_t *self = run->worker;
    for (int i = 0; i < self->capacity; i++) {
        th_worker_slot_t *slot = &run->slots[i];
        slot->worker = self;
        slot->index = (uint32_t) i;
        atomic_init(&slot->busy, false);
        atomic_init(&slot->done, false);
        th_worker__link_init(&slot->link, self, slot->index);
        if (pthread_mutex_init(&slot->lock, NULL) != 0)
            return TH_EIO;
        slot->lock_ready = true;
        if (pthread_create(&slot->thread, NULL, th_worker__handler_thread, slot) != 0)
            return TH_EIO;
        slot->started = true;
    }
    return 0;
}

/* Heartbeats on behalf of the handler threads that are running a handler,
 * so the broker does not take a connection whose thread is busy with a long
 * call for dead. The thread has released its link then; taking its lock
 * moves the socket here for one send (the memory barrier libzmq asks for),
 * and a thread that just finished waits only for that send. */
static void
s_keep_alive(s_run_t *run, int64_t now)
{
    th_worker_t *self = run->worker;
    for (int i = 0; i < self->capacity; i++) {
        th_worker_slot_t *slot = &run->slots[i];
        if (!slot->started || !atomic_load(&slot->busy))
            continue;
        if (pthread_mutex_trylock(&slot->lock) != 0)
            continue; /* the thread has it: it heartbeats itself */
        th_worker_link_t *link = &slot->link;
        if (atomic_load(&slot->busy) && link->socket != NULL &&
            now - link->last_sent >= self->heartbeat_ms)
            (void) th_worker__link_send(link, TH_CMD_HEARTBEAT, NULL);
        pthread_mutex_unlock(&slot->lock);
    }
}

/* Tells every handler thread to end (the stop pipe wakes each at once) and
 * waits for it: a busy one first finishes its call and sends the reply. */
static void
s_begin_drain(s_run_t *run)
{
    if (atomic_exchange(&run->worker->draining, true))
        return;
    if (run->stop_pipe[1] < 0)
        return;
    ssize_t written;
    do
        written = write(run->stop_pipe[1], "x", 1);
    while (written < 0 && errno == EINTR);
    if (written < 0) /* then the threads see the flag within their heartbeat */
        th_log_warn(0, "could not wake the handler threads", "error=\"%s\"", strerror(errno));
}

static void
s_stop_handlers(s_run_t *run)
{
    th_worker_t *self = run->worker;
    s_begin_drain(run);
    for (int i = 0; run->slots != NULL && i < self->capacity; i++) {
        th_worker_slot_t *slot = &run->slots[i];
        if (slot->started && pthread_join(slot->thread, NULL) != 0)
            th_log_error(0, "could not join a handler thread", "slot=%d", i);
        slot->started = false;
        if (slot->lock_ready)
            pthread_mutex_destroy(&slot->lock);
        slot->lock_ready = false;
    }
}

static int
s_running(const s_run_t *run)
{
    int running = 0;
    for (int i = 0; i < run->worker->capacity; i++)
        if (run->slots[i].started && !atomic_load(&run->slots[i].done))
            running++;
    return running;
}

int
th_worker_run(th_worker_t *self)
{
    if (self == NULL || self->n_services == 0)
        return TH_EINVAL;
    /* Installs CZMQ's SIGINT/SIGTERM handler (zsys_interrupted); done
     * already by th_worker_new, so this only fails with it */
    if (zsys_init() == NULL)
        return TH_EIO;
    int rc = 0;
    s_run_t run = {.worker = self, .stop_pipe = {-1, -1}};
    atomic_init(&run.prepare_stop, false);
    atomic_store(&self->draining, false);
    atomic_store(&self->prepare_retry_ms, S_PREPARE_RETRY_MIN_MS);
    run.slots = calloc((size_t) self->capacity, sizeof *run.slots);
    if (run.slots == NULL) {
        rc = TH_ENOMEM;
        goto cleanup;
    }
    if (pipe(run.stop_pipe) != 0) {
        th_log_error(0, "could not make the stop pipe", "error=\"%s\"", strerror(errno));
        rc = TH_EIO;
        goto cleanup;
    }
    self->stop_fd = run.stop_pipe[0];
    if (s_start_prepare(&run) != 0) {
        th_log_error(0, "could not start the start-up thread", NULL);
        rc = TH_EIO;
        goto cleanup;
    }
    if (s_start_handlers(&run) != 0) {
        th_log_error(0, "could not start the handler threads", "capacity=%d", self->capacity);
        rc = TH_EIO;
        goto cleanup;
    }

    /* This thread gets the signals; it wakes every S_TICK_MS (less with a
     * short heartbeat) to look at the stop flags and keep busy links alive. */
    int tick = self->heartbeat_ms / 2 < S_TICK_MS ? self->heartbeat_ms / 2 : S_TICK_MS;
    if (tick < 1)
        tick = 1;
    while (!zsys_interrupted && !atomic_load(&self->stop_requested)) {
        s_keep_alive(&run, zclock_mono());
        if (s_running(&run) == 0) {
            th_log_error(0, "every handler thread ended", NULL);
            rc = TH_EIO;
            break;
        }
        zclock_sleep(tick); /* a signal cuts it short */
    }
    int busy = 0;
    for (int i = 0; i < self->capacity; i++)
        busy += atomic_load(&run.slots[i].busy) ? 1 : 0;
    th_log_info(0, "stopping: finishing the calls in flight", "in_flight=%d", busy);
    /* While the busy threads finish, their links still need heartbeats */
    s_begin_drain(&run);
    while (s_running(&run) > 0) {
        s_keep_alive(&run, zclock_mono());
        zclock_sleep(tick);
    }
    th_log_info(0, "stopped", "instance=\"%s\"", self->instance);

cleanup:
    s_stop_prepare(&run);
    s_stop_handlers(&run);
    self->stop_fd = -1;
    for (int i = 0; i < 2; i++)
        if (run.stop_pipe[i] >= 0)
            close(run.stop_pipe[i]);
    free(run.slots);
    return rc;
}
