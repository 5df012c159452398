/* ---------------------------------------------------------------------------
 * conns.c: connection counting and the connection cap of one ROUTER socket
 *
 * A monitor event is [ event (2 bytes) + value (4 bytes), host order |
 * endpoint ]; for ZMQ_EVENT_ACCEPTED and ZMQ_EVENT_DISCONNECTED the value
 * is the connection's descriptor. libzmq queues DISCONNECTED before it
 * closes the descriptor, so a descriptor whose DISCONNECTED has not arrived
 * yet may still be the connection it was, or (if the close raced us) a
 * descriptor the process reused for something else. conns therefore reads a
 * whole batch of events before it acts on any, skips a descriptor that
 * ended later in the batch, and checks before shutting one down that it is
 * still a connected TCP socket on this socket's port.
 * ---------------------------------------------------------------------------
 */
#include "conns.h"

#include "th_log.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define S_BATCH 256        /* events read before acting on them */
#define S_ROUNDS 16        /* batches per conns_handle */
#define S_FD_MAX (1 << 24) /* larger descriptor values are not tracked */
#define S_LOG_MS 1000      /* sheds and accept failures: one line a second */

typedef struct {
    uint16_t event;
    uint32_t value;
} s_event_t;

struct conns_t {
    void *socket;     /* the watched ROUTER (borrowed) */
    zsock_t *monitor; /* PAIR receiving its events */
    char name[16];
    size_t max;
    int port;   /* bound TCP port; 0 = not TCP, no cap */
    bool *open; /* open[fd]: a connection on fd is open */
    size_t open_size;
    size_t count;
    int64_t log_at;
    size_t shed_unlogged;
    size_t accept_failed_unlogged;
    int accept_errno;
};

/* The port of a "tcp://host:port" endpoint, else 0. */
static int
s_tcp_port(const char *endpoint)
{
    if (endpoint == NULL || strncmp(endpoint, "tcp://", 6) != 0)
        return 0;
    const char *colon = strrchr(endpoint, ':');
    if (colon == NULL)
        return 0;
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    return end != colon + 1 && *end == '\0' && port > 0 && port < 65536 ? (int) port : 0;
}

conns_t *
conns_new(zsock_t *socket, const char *name, size_t max, char *errbuf, size_t errlen)
{
    conns_t *self = calloc(1, sizeof *self);
    if (self == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    self->socket = zsock_resolve(socket);
    snprintf(self->name, sizeof self->name, "%s", name);
    self->max = max;
    char *endpoint = zsock_last_endpoint(socket);
    self->port = s_tcp_port(endpoint);
    zstr_free(&endpoint);
    char monitor_endpoint[96];
    snprintf(monitor_endpoint, sizeof monitor_endpoint, "inproc://th-broker-conns-%s-%p",
             self->name, (void *) self);
    if (zmq_socket_monitor(self->socket, monitor_endpoint,
                           ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED |
                               ZMQ_EVENT_ACCEPT_FAILED) != 0) {
        snprintf(errbuf, errlen, "could not monitor the %s socket: %s", self->name,
                 zmq_strerror(zmq_errno()));
        self->socket = NULL;
        conns_destroy(&self);
        return NULL;
    }
    self->monitor = zsock_new(ZMQ_PAIR);
    if (self->monitor == NULL ||
        zsock_connect(self->monitor, "%s", monitor_endpoint) != 0) {
        snprintf(errbuf, errlen, "could not connect to the monitor of the %s socket",
                 self->name);
        conns_destroy(&self);
        return NULL;
    }
    /* Events are taken in batches until none waits: never block. */
    zsock_set_rcvtimeo(self->monitor, 0);
    return self;
}

void
conns_destroy(conns_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    conns_t *self = *self_p;
    if (self->socket != NULL)
        zmq_socket_monitor(self->socket, NULL, 0);
    zsock_destroy(&self->monitor);
    free(self->open);
    free(self);
    *self_p = NULL;
}

void *
conns_socket(conns_t *self)
{
    return zsock_resolve(self->monitor);
}

size_t
conns_count(const conns_t *self)
{
    return self->count;
}

/* Marks fd open. False when it cannot be tracked (then it is not counted:
 * a cap that cannot count must not shut down what it does not know). */
static bool
s_track(conns_t *self, uint32_t fd)
{
    if (fd >= S_FD_MAX)
        return false;
    if (fd >= self->open_size) {
        size_t size = self->open_size > 0 ? self->open_size : 1024;
        while (size <= fd)
            size *= 2;
        bool *open = realloc(self->open, size * sizeof *open);
        if (open == NULL)
            return false;
        memset(open + self->open_size, 0, (size - self->open_size) * sizeof *open);
        self->open = open;
        self->open_size = size;
    }
    if (!self->open[fd]) {
        self->open[fd] = true;
        self->count++;
    }
    return true;
}

static void
s_untrack(conns_t *self, uint32_t fd)
{
    if (fd < self->open_size && self->open[fd]) {
        self->open[fd] = false;
        self->count--;
    }
}

/* True when fd is a connected TCP socket (not a listener) whose local port
 * is this socket's: then it is one of its connections. */
static bool
s_is_our_connection(const conns_t *self, int fd)
{
    struct sockaddr_storage addr;
    socklen_t len = sizeof addr;
    if (getsockname(fd, (struct sockaddr *) &addr, &len) != 0)
        return false;
    int port = 0;
    if (addr.ss_family == AF_INET)
        port = ntohs(((const struct sockaddr_in *) &addr)->sin_port);
    else if (addr.ss_family == AF_INET6)
        port = ntohs(((const struct sockaddr_in6 *) &addr)->sin6_port);
    if (port == 0 || port != self->port)
        return false;
    int listening = 0;
    socklen_t optlen = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &optlen) != 0 || listening)
        return false;
    len = sizeof addr;
    return getpeername(fd, (struct sockaddr *) &addr, &len) == 0;
}

/* Logs sheds and failed accepts, at most once a second. */
static void
s_log(conns_t *self)
{
    int64_t now = zclock_mono();
    if (now < self->log_at)
        return;
    if (self->shed_unlogged > 0)
        th_log_warn(0, "closed connections over the connection cap",
                    "socket=%s closed=%zu open=%zu max=%zu", self->name,
                    self->shed_unlogged, self->count, self->max);
    if (self->accept_failed_unlogged > 0)
        th_log_warn(0, "could not accept connections", "socket=%s failed=%zu error=\"%s\"",
                    self->name, self->accept_failed_unlogged, strerror(self->accept_errno));
    if (self->shed_unlogged > 0 || self->accept_failed_unlogged > 0)
        self->log_at = now + S_LOG_MS;
    self->shed_unlogged = 0;
    self->accept_failed_unlogged = 0;
}

/* Reads up to S_BATCH waiting events. */
static size_t
s_read_batch(conns_t *self, s_event_t *events)
{
    size_t n = 0;
    while (n < S_BATCH) {
        zmsg_t *msg = zmsg_recv(self->monitor);
        if (msg == NULL)
            break;
        zframe_t *head = zmsg_first(msg);
        if (head != NULL && zframe_size(head) == 6) {
            memcpy(&events[n].event, zframe_data(head), 2);
            memcpy(&events[n].value, zframe_data(head) + 2, 4);
            n++;
        }
        zmsg_destroy(&msg);
    }
    return n;
}

/* True when fd ends later in the batch (after index i). */
static bool
s_ends_later(const s_event_t *events, size_t n, size_t i, uint32_t fd)
{
    for (size_t k = i + 1; k < n; k++)
        if (events[k].event == ZMQ_EVENT_DISCONNECTED && events[k].value == fd)
            return true;
    return false;
}

size_t
conns_handle(conns_t *self)
{
    size_t ended = 0;
    s_event_t events[S_BATCH];
    for (int round = 0; round < S_ROUNDS; round++) {
        size_t n = s_read_batch(self, events);
        for (size_t i = 0; i < n; i++) {
            uint32_t fd = events[i].value;
            switch (events[i].event) {
            case ZMQ_EVENT_ACCEPTED:
                if (!s_track(self, fd))
                    break;
                if (self->max > 0 && self->port > 0 && self->count > self->max &&
                    !s_ends_later(events, n, i, fd) &&
                    s_is_our_connection(self, (int) fd) &&
                    shutdown((int) fd, SHUT_RDWR) == 0)
                    self->shed_unlogged++;
                break;
            case ZMQ_EVENT_DISCONNECTED:
                s_untrack(self, fd);
                ended++;
                break;
            case ZMQ_EVENT_ACCEPT_FAILED:
                self->accept_failed_unlogged++;
                self->accept_errno = (int) fd;
                break;
            default: break;
            }
        }
        if (n < S_BATCH)
            break;
    }
    s_log(self);
    return ended;
}
