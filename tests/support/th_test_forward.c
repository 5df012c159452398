/* ---------------------------------------------------------------------------
 * th_test_forward.c: a TCP forwarder for tests (one poll() thread)
 * ---------------------------------------------------------------------------
 */
#include "th_test_forward.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define S_MAX_PAIRS 64

struct th_test_forward_t {
    int listener;
    char host[512];
    int target_port;
    int fds[S_MAX_PAIRS][2]; /* client side, target side; -1 = free */
    pthread_t thread;
    atomic_bool stop;
};

static int
s_connect_target(const th_test_forward_t *self)
{
    int fd = -1;
    if (self->host[0] == '/') {
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        if (snprintf(addr.sun_path, sizeof addr.sun_path, "%s/.s.PGSQL.%d", self->host,
                     self->target_port) >= (int) sizeof addr.sun_path)
            return -1;
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *) &addr, sizeof addr) != 0) {
            close(fd);
            fd = -1;
        }
        return fd;
    }
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(self->target_port)};
    if (inet_pton(AF_INET, strcmp(self->host, "localhost") == 0 ? "127.0.0.1" : self->host,
                  &addr.sin_addr) != 1)
        return -1;
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *) &addr, sizeof addr) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static void
s_close_pair(th_test_forward_t *self, int i)
{
    for (int k = 0; k < 2; k++) {
        if (self->fds[i][k] >= 0)
            close(self->fds[i][k]);
        self->fds[i][k] = -1;
    }
}

/* Copies what is readable on from to to; false when the pair is done. */
static bool
s_relay(int from, int to)
{
    char buf[65536];
    ssize_t n = read(from, buf, sizeof buf);
    if (n <= 0)
        return false;
    for (ssize_t done = 0; done < n;) {
        ssize_t w = write(to, buf + done, (size_t) (n - done));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        done += w;
    }
    return true;
}

static void *
s_run(void *arg)
{
    th_test_forward_t *self = arg;
    while (!atomic_load(&self->stop)) {
        struct pollfd items[1 + 2 * S_MAX_PAIRS];
        int where[1 + 2 * S_MAX_PAIRS][2];
        nfds_t n = 0;
        items[n++] = (struct pollfd){.fd = self->listener, .events = POLLIN};
        for (int i = 0; i < S_MAX_PAIRS; i++)
            for (int k = 0; k < 2 && self->fds[i][0] >= 0; k++) {
                where[n][0] = i;
                where[n][1] = k;
                items[n++] = (struct pollfd){.fd = self->fds[i][k], .events = POLLIN};
            }
        if (poll(items, n, 100) <= 0)
            continue;
        for (nfds_t j = 1; j < n; j++) {
            if (items[j].revents == 0)
                continue;
            int i = where[j][0], k = where[j][1];
            if (self->fds[i][0] < 0)
                continue; /* closed earlier in this pass */
            if (!s_relay(self->fds[i][k], self->fds[i][1 - k]))
                s_close_pair(self, i);
        }
        if (items[0].revents & POLLIN) {
            int client = accept(self->listener, NULL, NULL);
            if (client < 0)
                continue;
            int target = s_connect_target(self);
            int slot = -1;
            for (int i = 0; i < S_MAX_PAIRS && slot < 0; i++)
                if (self->fds[i][0] < 0)
                    slot = i;
            if (target < 0 || slot < 0) {
                close(client);
                if (target >= 0)
                    close(target);
                continue;
            }
            self->fds[slot][0] = client;
            self->fds[slot][1] = target;
        }
    }
    return NULL;
}

th_test_forward_t *
th_test_forward_start(int port, const char *host, int target_port)
{
    th_test_forward_t *self = calloc(1, sizeof *self);
    if (self == NULL)
        return NULL;
    snprintf(self->host, sizeof self->host, "%s", host != NULL ? host : "127.0.0.1");
    self->target_port = target_port;
    for (int i = 0; i < S_MAX_PAIRS; i++)
        self->fds[i][0] = self->fds[i][1] = -1;
    atomic_init(&self->stop, false);
    self->listener = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (self->listener < 0 ||
        setsockopt(self->listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(self->listener, (struct sockaddr *) &addr, sizeof addr) != 0 ||
        listen(self->listener, 16) != 0 ||
        pthread_create(&self->thread, NULL, s_run, self) != 0) {
        if (self->listener >= 0)
            close(self->listener);
        free(self);
        return NULL;
    }
    return self;
}

void
th_test_forward_stop(th_test_forward_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    th_test_forward_t *self = *self_p;
    atomic_store(&self->stop, true);
    pthread_join(self->thread, NULL);
    for (int i = 0; i < S_MAX_PAIRS; i++)
        s_close_pair(self, i);
    close(self->listener);
    free(self);
    *self_p = NULL;
}
