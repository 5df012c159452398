/* ---------------------------------------------------------------------------
 * th_worker_link.c: one connection of the worker runtime to the broker
 *
 * Every handler thread owns one: a DEALER to the broker's backend that
 * registers with READY (all the worker's services, capacity 1), sends a
 * HEARTBEAT when nothing else went out for an interval, watches the broker's
 * liveness and reconnects with a new socket (so a restarted broker sees a
 * fresh peer and gets READY again), after a backoff of 100 ms doubling to
 * 2 s with jitter, so that the threads of one worker do not knock in step.
 *
 * No send or receive blocks: the DEALER sends with ZMQ_SNDTIMEO 0 and a
 * send that fails counts as a broken link (new socket after backoff), as
 * does a broker silent for `liveness` heartbeats. That matters after a
 * refused CURVE handshake: libzmq 4.3 ends the session for good then
 * (src/session_base.cpp, session_base_t::engine_error: a protocol_error,
 * which src/stream_engine_base.cpp raises for a CURVE ERROR command, calls
 * terminate(), never reconnect()), so the DEALER has no pipe left and a
 * blocking send would wait forever. Only a new socket connects again.
 * ---------------------------------------------------------------------------
 */
#include "th_worker_int.h"

#include "th_error.h"
#include "th_log.h"

#include "teilhabe/v1/broker.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_RECONNECT_MIN_MS 100
#define S_RECONNECT_MAX_MS 2000
/* How long the final replies and DISCONNECT may take to leave. */
#define S_LINGER_MS 1000
/* A capacity-1 connection holds one call and a few heartbeats; the bound
 * only keeps a misbehaving broker from filling this process's memory. */
#define S_HWM 1000

/* The first connection of a worker speaks at info level, the others (they
 * say the same thing at the same moment) at debug. */
static th_log_level_t
s_level(const th_worker_link_t *link, th_log_level_t level)
{
    return link->slot == 0 ? level : TH_LOG_DEBUG;
}

void
th_worker__link_init(th_worker_link_t *link, th_worker_t *worker, uint32_t slot)
{
    *link = (th_worker_link_t){
        .worker = worker,
        .slot = slot,
        .reconnect_at = zclock_mono(),
        .reconnect_backoff = S_RECONNECT_MIN_MS,
    };
    zuuid_t *uuid = zuuid_new();
    if (uuid != NULL) {
        memcpy(&link->seed, zuuid_data(uuid), sizeof link->seed);
        zuuid_destroy(&uuid);
    }
    link->seed ^= slot;
}

int
th_worker__link_send(th_worker_link_t *link, th_wire_cmd_t cmd, zmsg_t **body_p)
{
    zmsg_t *msg = body_p != NULL && *body_p != NULL ? *body_p : zmsg_new();
    if (body_p != NULL)
        *body_p = NULL;
    if (msg == NULL)
        return TH_ENOMEM;
    if (link->socket == NULL) {
        zmsg_destroy(&msg);
        return TH_ESTATE;
    }
    byte command = (byte) cmd;
    if (zmsg_pushmem(msg, &command, 1) != 0 || zmsg_pushstr(msg, TH_WIRE_WORKER_SIG) != 0) {
        zmsg_destroy(&msg);
        return TH_ENOMEM;
    }
    /* ZMQ_SNDTIMEO 0: a send that cannot be queued at once means no pipe to
     * the broker (a refused handshake ended it) or a broker that does not
     * read; either way the link is broken. */
    if (zmsg_send(&msg, link->socket) != 0) {
        zmsg_destroy(&msg);
        th_worker__link_reconnect(link, "could not send to the broker");
        return TH_EIO;
    }
    link->last_sent = zclock_mono();
    return 0;
}

static int
s_send_ready(th_worker_link_t *link)
{
    th_worker_t *self = link->worker;
    Teilhabe__Broker__V1__WorkerReady ready = TEILHABE__BROKER__V1__WORKER_READY__INIT;
    Teilhabe__Broker__V1__ServiceInfo infos[TH_WORKER_MAX_SERVICES];
    Teilhabe__Broker__V1__ServiceInfo *info_ptrs[TH_WORKER_MAX_SERVICES];
    char **names[TH_WORKER_MAX_SERVICES] = {NULL};
    char instance[300];
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
    /* One call at a time: the thread that reads this socket handles it. */
    ready.capacity = 1;
    /* host:pid/slot, so the broker's log tells the threads apart */
    snprintf(instance, sizeof instance, "%s/%u", self->instance, (unsigned) link->slot);
    ready.instance = instance;
    zframe_t *frame = th_wire_pack(&ready.base);
    zmsg_t *msg = zmsg_new();
    if (frame == NULL || msg == NULL) {
        zframe_destroy(&frame);
        zmsg_destroy(&msg);
        goto cleanup;
    }
    if (zmsg_append(msg, &frame) != 0) {
        zframe_destroy(&frame);
        zmsg_destroy(&msg);
        goto cleanup;
    }
    rc = th_worker__link_send(link, TH_CMD_READY, &msg);
cleanup:
    for (size_t i = 0; i < self->n_services; i++)
        free(names[i]);
    return rc;
}

/* A new socket to the broker, then READY. A new socket (not a reconnect of
 * the old one) makes the broker see a new peer identity, so nothing of the
 * old registration lingers on either side. */
static int
s_connect(th_worker_link_t *link)
{
    th_worker_t *self = link->worker;
    zsock_destroy(&link->socket);
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    if (sock == NULL)
        return TH_EIO;
    zsock_set_linger(sock, 0);
    zsock_set_sndhwm(sock, S_HWM);
    zsock_set_rcvhwm(sock, S_HWM);
    /* Never block on the broker (see the top of this file); receives only
     * follow a poll that said a message is there. */
    zsock_set_sndtimeo(sock, 0);
    zsock_set_rcvtimeo(sock, 0);
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
    link->socket = sock;
    int64_t now = zclock_mono();
    link->last_heard = now;
    link->heard = false;
    link->last_sent = now;
    link->reconnect_at = 0;
    th_log(s_level(link, TH_LOG_INFO), 0, "registering with the broker",
           "endpoint=\"%s\" instance=\"%s\" slot=%u connections=%d", self->endpoint,
           self->instance, (unsigned) link->slot, self->capacity);
    /* A READY that cannot be queued has planned the next attempt */
    int rc = s_send_ready(link);
    return rc == TH_EIO ? 0 : rc;
}

void
th_worker__link_reconnect(th_worker_link_t *link, const char *why)
{
    zsock_destroy(&link->socket);
    if (atomic_load(&link->worker->draining)) {
        /* Stopping: nothing to register with any more */
        th_log(s_level(link, TH_LOG_INFO), 0, "the link to the broker broke while stopping",
               "reason=\"%s\" slot=%u", why, (unsigned) link->slot);
        link->reconnect_at = 0;
        return;
    }
    th_log(s_level(link, TH_LOG_WARN), 0, "reconnecting to the broker",
           "reason=\"%s\" endpoint=\"%s\" slot=%u", why, link->worker->endpoint,
           (unsigned) link->slot);
    int backoff = link->reconnect_backoff;
    int wait = backoff / 2 + (int) (rand_r(&link->seed) % (unsigned) (backoff / 2 + 1));
    link->reconnect_at = zclock_mono() + wait;
    link->reconnect_backoff = backoff * 2 > S_RECONNECT_MAX_MS ? S_RECONNECT_MAX_MS : backoff * 2;
}

void
th_worker__link_heard(th_worker_link_t *link)
{
    link->last_heard = zclock_mono();
    link->heard = true;
    link->reconnect_backoff = S_RECONNECT_MIN_MS;
}

bool
th_worker__link_overdue(const th_worker_link_t *link, int64_t now)
{
    const th_worker_t *self = link->worker;
    return link->socket != NULL &&
           now - link->last_heard > (int64_t) self->liveness * self->heartbeat_ms;
}

int64_t
th_worker__link_tick(th_worker_link_t *link, int64_t now)
{
    const th_worker_t *self = link->worker;
    if (link->socket == NULL && link->reconnect_at > 0 && now >= link->reconnect_at &&
        s_connect(link) != 0)
        th_worker__link_reconnect(link, "could not open a socket");
    if (link->socket == NULL)
        return link->reconnect_at > now ? link->reconnect_at - now : 100;
    /* Any message is a sign of life to the broker: a heartbeat only when
     * nothing else went out for an interval. A failed send plans the
     * reconnect itself. */
    if (now - link->last_sent >= self->heartbeat_ms)
        (void) th_worker__link_send(link, TH_CMD_HEARTBEAT, NULL);
    if (link->socket == NULL)
        return link->reconnect_at > now ? link->reconnect_at - now : 100;
    int64_t next = link->last_sent + self->heartbeat_ms - now;
    int64_t silent = link->last_heard + (int64_t) self->liveness * self->heartbeat_ms + 1 - now;
    if (silent < next)
        next = silent;
    return next > 0 ? next : 0;
}

void
th_worker__link_close(th_worker_link_t *link)
{
    const th_worker_t *self = link->worker;
    if (link->socket != NULL && th_worker__link_send(link, TH_CMD_DISCONNECT, NULL) == 0 &&
        link->socket != NULL && link->heard &&
        zclock_mono() - link->last_heard <= (int64_t) self->liveness * self->heartbeat_ms) {
        /* Let the last replies and DISCONNECT leave before the socket goes,
         * but only towards a broker that was heard lately: for one that is
         * gone or refuses us, nothing would leave, and the process would
         * wait out the linger at exit for nothing. */
        zsock_set_linger(link->socket, S_LINGER_MS);
    }
    zsock_destroy(&link->socket);
}
