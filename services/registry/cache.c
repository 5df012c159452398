/* ---------------------------------------------------------------------------
 * cache.c: the territorial cache and the thread that keeps it true (see
 * cache.h)
 *
 * The thread waits in poll() on its connection's socket and on a pipe that
 * asks it to stop, without a timeout while nothing is pending: an idle
 * registry costs nothing here. The load itself runs in blocking mode,
 * bounded by the connection's statement_timeout; a stop waits for it.
 * ---------------------------------------------------------------------------
 */
#include "cache.h"

#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "th_error.h"
#include "th_log.h"

/* Reconnecting: 100 ms doubling to 2 s. */
#define S_BACKOFF_MIN_MS 100
#define S_BACKOFF_MAX_MS 2000
#define S_CONNECT_MS 5000
/* Each statement of a load; a stop waits at most this long. */
#define S_STATEMENT_TIMEOUT "-c statement_timeout=5000"
/* How long a version this instance's own write expects may stay missing
 * before the cache takes it for rolled back. */
#define S_EXPECT_MS 1000

struct registry_cache_t {
    char *db_url;
    pthread_t thread;
    bool started;
    int wake[2]; /* a byte on wake[1] asks the thread to stop */
    atomic_bool stop;
    /* Guards current: read-locked to take a reference, write-locked to
     * swap it. Nobody holds it longer than that. */
    pthread_rwlock_t lock;
    const registry_territory_t *current;
    /* The listening connection is up and current is as new as the
     * database was when it came up. */
    atomic_bool listening;
    /* The newest version announced by a notification, and the one this
     * instance's own write will commit as (0 = none pending). */
    atomic_int_fast64_t announced;
    atomic_int_fast64_t expected;
};

/* --- what handlers call ---------------------------------------------------- */

const registry_territory_t *
registry_cache_acquire(registry_cache_t *self)
{
    if (self == NULL || !atomic_load(&self->listening))
        return NULL;
    const registry_territory_t *snapshot = NULL;
    pthread_rwlock_rdlock(&self->lock);
    if (self->current != NULL)
        snapshot = registry_territory_ref(self->current);
    pthread_rwlock_unlock(&self->lock);
    if (snapshot == NULL)
        return NULL;
    const int64_t version = registry_territory_version(snapshot);
    if (version < atomic_load(&self->announced) || version < atomic_load(&self->expected))
        registry_territory_unref(&snapshot);
    return snapshot;
}

static void
s_raise(atomic_int_fast64_t *value, int64_t to)
{
    int_fast64_t seen = atomic_load(value);
    while (seen < to && !atomic_compare_exchange_weak(value, &seen, to))
        ;
}

void
registry_cache_expect(registry_cache_t *self, int64_t version)
{
    if (self == NULL)
        return;
    s_raise(&self->expected, version);
    /* Wake the thread so it starts the clock on that version. */
    const char byte = 'e';
    ssize_t written;
    do
        written = write(self->wake[1], &byte, 1);
    while (written < 0 && errno == EINTR);
}

/* --- the thread ------------------------------------------------------------- */

static int64_t
s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits up to timeout_ms (-1 = no limit) for events on fd (-1 = none) or a
 * byte on the wake pipe. 1 when fd is ready, 0 on timeout or a wake-up
 * (the caller looks at stop and expected), -1 when poll failed. */
static int
s_wait(registry_cache_t *self, int fd, short events, int timeout_ms)
{
    struct pollfd items[2] = {{self->wake[0], POLLIN, 0}, {fd, events, 0}};
    const int rc = poll(items, fd >= 0 ? 2 : 1, timeout_ms);
    if (rc < 0)
        return errno == EINTR ? 0 : -1;
    if (items[0].revents & POLLIN) {
        char drain[64];
        while (read(self->wake[0], drain, sizeof drain) > 0)
            ;
    }
    return fd >= 0 && items[1].revents != 0 ? 1 : 0;
}

/* The first line of a libpq message (they end with a newline, and some
 * add a hint on further lines) into errbuf. */
static void
s_first_line(char *errbuf, size_t errlen, const char *message)
{
    snprintf(errbuf, errlen, "%.*s", (int) strcspn(message, "\n"), message);
}

/* Opens the connection without blocking a stop for longer than a poll.
 * NULL with the reason in errbuf. */
static PGconn *
s_connect(registry_cache_t *self, char *errbuf, size_t errlen)
{
    /* The URL may set its own options, except the name that tells the
     * cache's connection apart in pg_stat_activity. Keepalives notice a
     * peer that vanished without closing the connection. */
    const char *const keys[] = {
        "connect_timeout",  "options", "keepalives_idle",  "keepalives_interval",
        "keepalives_count", "dbname",  "application_name", NULL};
    const char *const values[] = {"5",          S_STATEMENT_TIMEOUT,        "10", "5", "3",
                                  self->db_url, REGISTRY_CACHE_APPLICATION, NULL};
    PGconn *conn = PQconnectStartParams(keys, values, 1);
    if (conn == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    const int64_t deadline = s_now_ms() + S_CONNECT_MS;
    PostgresPollingStatusType state =
        PQstatus(conn) == CONNECTION_BAD ? PGRES_POLLING_FAILED : PGRES_POLLING_WRITING;
    while (state != PGRES_POLLING_OK && state != PGRES_POLLING_FAILED) {
        const int64_t left = deadline - s_now_ms();
        if (left <= 0 || atomic_load(&self->stop)) {
            snprintf(errbuf, errlen, "%s",
                     left <= 0 ? "no connection within 5 s" : "stopping");
            PQfinish(conn);
            return NULL;
        }
        const int ready =
            s_wait(self, PQsocket(conn), state == PGRES_POLLING_READING ? POLLIN : POLLOUT,
                   (int) left);
        if (ready < 0) {
            snprintf(errbuf, errlen, "could not poll: %s", strerror(errno));
            PQfinish(conn);
            return NULL;
        }
        if (ready > 0)
            state = PQconnectPoll(conn);
    }
    if (state != PGRES_POLLING_OK) {
        s_first_line(errbuf, errlen, PQerrorMessage(conn));
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

/* Loads the territory and swaps it in. 0 or TH_EDB (errbuf says why). */
static int
s_reload(registry_cache_t *self, PGconn *conn, char *errbuf, size_t errlen)
{
    const int64_t start = s_now_ms();
    registry_territory_rows_t rows;
    if (registry_store_territory_load(conn, &rows, errbuf, errlen) != 0)
        return TH_EDB;
    const registry_territory_t *fresh = registry_territory_new(&rows, errbuf, errlen);
    if (fresh == NULL)
        return TH_EDB;
    const int64_t version = registry_territory_version(fresh);
    th_log_info(0, "territory loaded into the cache",
                "version=%lld districts=%zu changes=%zu ms=%lld", (long long) version,
                registry_territory_district_count(fresh),
                registry_territory_change_count(fresh), (long long) (s_now_ms() - start));
    pthread_rwlock_wrlock(&self->lock);
    const registry_territory_t *old = self->current;
    self->current = fresh;
    pthread_rwlock_unlock(&self->lock);
    registry_territory_unref(&old);
    return 0;
}

static int64_t
s_current_version(registry_cache_t *self)
{
    pthread_rwlock_rdlock(&self->lock);
    const int64_t version =
        self->current != NULL ? registry_territory_version(self->current) : 0;
    pthread_rwlock_unlock(&self->lock);
    return version;
}

/* Takes the notifications libpq has read (also those that came during a
 * load) into announced. */
static void
s_take_notifications(registry_cache_t *self, PGconn *conn)
{
    PGnotify *note;
    while ((note = PQnotifies(conn)) != NULL) {
        char *end = NULL;
        const long long version = strtoll(note->extra, &end, 10);
        if (strcmp(note->relname, REGISTRY_CACHE_CHANNEL) == 0 && end != note->extra &&
            *end == '\0')
            s_raise(&self->announced, version);
        PQfreemem(note);
    }
}

/* LISTENs on a new connection, then loads unless the version is that of
 * the snapshot in hand (nothing changed while the cache was away). 0 or
 * TH_EDB (errbuf says why). */
static int
s_begin_listening(registry_cache_t *self, PGconn *conn, char *errbuf, size_t errlen)
{
    PGresult *r = PQexec(conn, "LISTEN " REGISTRY_CACHE_CHANNEL);
    const bool listening = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!listening) {
        s_first_line(errbuf, errlen, PQerrorMessage(conn));
        return TH_EDB;
    }
    /* From here on every change is announced; the version read now
     * covers every change before. */
    r = PQexec(conn, "SELECT version FROM registry.territory_version");
    const bool read = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    const int64_t version = read ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
    PQclear(r);
    if (!read) {
        s_first_line(errbuf, errlen, PQerrorMessage(conn));
        return TH_EDB;
    }
    s_raise(&self->announced, version);
    if (version == s_current_version(self)) {
        th_log_info(0, "territory cache listening again; nothing changed meanwhile",
                    "version=%lld", (long long) version);
        return 0;
    }
    return s_reload(self, conn, errbuf, errlen);
}

/* Serves one connection until it is lost (returns TH_EDB with the reason
 * in errbuf) or the cache stops (0). */
static int
s_listen(registry_cache_t *self, PGconn *conn, char *errbuf, size_t errlen)
{
    int64_t expect_since = 0;
    while (!atomic_load(&self->stop)) {
        s_take_notifications(self, conn);
        const int64_t version = s_current_version(self);
        if (atomic_load(&self->announced) > version) {
            if (s_reload(self, conn, errbuf, errlen) != 0)
                return TH_EDB;
            continue; /* notifications may have come during the load */
        }
        atomic_store(&self->listening, true);
        /* An expected version that does not come within S_EXPECT_MS was
         * rolled back: trust the snapshot again (a commit that comes later
         * is announced all the same). */
        const int64_t expected = atomic_load(&self->expected);
        int timeout = -1;
        if (expected > version) {
            const int64_t now = s_now_ms();
            if (expect_since == 0)
                expect_since = now;
            if (now - expect_since >= S_EXPECT_MS) {
                if (s_reload(self, conn, errbuf, errlen) != 0)
                    return TH_EDB;
                int_fast64_t seen = expected;
                if (s_current_version(self) < expected)
                    atomic_compare_exchange_strong(&self->expected, &seen, 0);
                expect_since = 0;
                continue;
            }
            timeout = (int) (S_EXPECT_MS - (now - expect_since));
        } else {
            expect_since = 0;
        }
        const int ready = s_wait(self, PQsocket(conn), POLLIN, timeout);
        if (ready < 0) {
            snprintf(errbuf, errlen, "could not poll: %s", strerror(errno));
            return TH_EDB;
        }
        if (ready > 0 && (!PQconsumeInput(conn) || PQstatus(conn) != CONNECTION_OK)) {
            s_first_line(errbuf, errlen, PQerrorMessage(conn));
            return TH_EDB;
        }
    }
    return 0;
}

static void *
s_thread(void *arg)
{
    registry_cache_t *self = arg;
    int backoff = S_BACKOFF_MIN_MS;
    bool lost_logged = false;
    char err[512];
    while (!atomic_load(&self->stop)) {
        PGconn *conn = s_connect(self, err, sizeof err);
        int rc = conn != NULL ? s_begin_listening(self, conn, err, sizeof err) : TH_EDB;
        if (rc == 0) {
            if (lost_logged)
                th_log_info(0, "territory cache: listening again", NULL);
            lost_logged = false;
            backoff = S_BACKOFF_MIN_MS;
            rc = s_listen(self, conn, err, sizeof err);
        }
        atomic_store(&self->listening, false);
        PQfinish(conn);
        if (rc == 0 || atomic_load(&self->stop))
            break;
        if (!lost_logged) {
            char err_text[TH_LOG_QUOTE_SIZE];
            th_log_warn(0,
                        "territory cache: lost its database connection; territorial reads "
                        "go to the database until it is back",
                        "error=%s", th_log_quote(err_text, sizeof err_text, err));
        }
        lost_logged = true;
        s_wait(self, -1, 0, backoff);
        backoff = backoff * 2 < S_BACKOFF_MAX_MS ? backoff * 2 : S_BACKOFF_MAX_MS;
    }
    return NULL;
}

/* --- life cycle ---------------------------------------------------------------- */

registry_cache_t *
registry_cache_new(const char *db_url, char *errbuf, size_t errlen)
{
    registry_cache_t *self = calloc(1, sizeof *self);
    if (self == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    self->wake[0] = self->wake[1] = -1;
    atomic_init(&self->stop, false);
    atomic_init(&self->listening, false);
    atomic_init(&self->announced, 0);
    atomic_init(&self->expected, 0);
    self->db_url = strdup(db_url != NULL ? db_url : "");
    if (self->db_url == NULL || pthread_rwlock_init(&self->lock, NULL) != 0) {
        free(self->db_url);
        free(self);
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    if (pipe2(self->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        snprintf(errbuf, errlen, "could not make a pipe: %s", strerror(errno));
        goto fail;
    }
    /* The thread must not take SIGINT/SIGTERM: the service's main thread
     * handles them and stops everything in order. */
    sigset_t block, saved;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    if (pthread_sigmask(SIG_BLOCK, &block, &saved) != 0) {
        snprintf(errbuf, errlen, "could not block signals for the cache's thread");
        goto fail;
    }
    const int err = pthread_create(&self->thread, NULL, s_thread, self);
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    if (err != 0) {
        snprintf(errbuf, errlen, "could not start the cache's thread: %s", strerror(err));
        goto fail;
    }
    self->started = true;
    return self;
fail:
    registry_cache_destroy(&self);
    return NULL;
}

void
registry_cache_destroy(registry_cache_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    registry_cache_t *self = *self_p;
    *self_p = NULL;
    if (self->started) {
        atomic_store(&self->stop, true);
        const char byte = 's';
        ssize_t written;
        do
            written = write(self->wake[1], &byte, 1);
        while (written < 0 && errno == EINTR);
        pthread_join(self->thread, NULL);
    }
    registry_territory_unref(&self->current);
    if (self->wake[0] >= 0)
        close(self->wake[0]);
    if (self->wake[1] >= 0)
        close(self->wake[1]);
    pthread_rwlock_destroy(&self->lock);
    free(self->db_url);
    free(self);
}
