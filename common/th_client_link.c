/* ---------------------------------------------------------------------------
 * th_client_link.c: the client library's connection to the broker in use
 *
 * One DEALER socket with CURVE, a libzmq socket monitor that tells whether
 * the handshake succeeded, was refused, or the connection went down, ZMTP
 * heartbeats, and the receive side that files each reply with its call.
 * The socket never blocks: sends use ZMQ_SNDTIMEO 0 (th_client.c), reads
 * follow a poll. A socket whose handshake was refused never connects again
 * in libzmq 4.3, so th_client.c opens a new one for the next attempt.
 * ---------------------------------------------------------------------------
 */
#include "th_client_int.h"

#include "th_error.h"
#include "th_log.h"
#include "th_wire.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

/* ZMTP heartbeats: a broker silent this long counts as disconnected. */
#define S_ZMTP_HEARTBEAT_IVL_MS 1000
#define S_ZMTP_HEARTBEAT_TIMEOUT_MS 3000

void
th_client__socket_close(th_client_t *self)
{
    /* Stopping the monitor fails only for a socket that is not one; the
     * socket goes right after either way. */
    if (self->socket != NULL)
        (void) zmq_socket_monitor(zsock_resolve(self->socket), NULL, 0);
    zsock_destroy(&self->monitor);
    zsock_destroy(&self->socket);
    self->connected = false;
    self->auth_refused = false;
    self->generation++;
}

int
th_client__socket_open(th_client_t *self)
{
    th_client__socket_close(self);
    const char *endpoint = self->endpoints[self->current];
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    if (sock == NULL)
        return TH_EIO;
    zsock_set_linger(sock, 0);
    zsock_set_sndhwm(sock, 10000);
    zsock_set_rcvhwm(sock, 10000);
    zsock_set_sndtimeo(sock, 0);
    zsock_set_rcvtimeo(sock, 0);
    zsock_set_reconnect_ivl(sock, 100);
    zsock_set_reconnect_ivl_max(sock, 1000);
    zsock_set_heartbeat_ivl(sock, S_ZMTP_HEARTBEAT_IVL_MS);
    zsock_set_heartbeat_timeout(sock, S_ZMTP_HEARTBEAT_TIMEOUT_MS);
    size_t hard = TH_WIRE_HARD_MAX_DEFAULT + TH_WIRE_CURVE_OVERHEAD;
    if (self->max_message_size + TH_WIRE_HEADER_MAX + 64 > hard)
        hard = self->max_message_size + TH_WIRE_HEADER_MAX + 64;
    zsock_set_maxmsgsize(sock, hard > INT32_MAX ? INT32_MAX : (int) hard);
    if (self->cert != NULL) {
        zcert_apply(self->cert, sock);
        zsock_set_curve_serverkey(sock, self->broker_public_key);
    }

    /* A fresh name every time: libzmq closes sockets asynchronously, so a
     * name built from the client's address could still be bound by the
     * monitor of a client that was just destroyed at the same address. */
    uuid_t uuid;
    char uuid_text[37];
    uuid_generate_random(uuid);
    uuid_unparse_lower(uuid, uuid_text);
    char monitor_endpoint[96];
    snprintf(monitor_endpoint, sizeof monitor_endpoint, "inproc://th-client-monitor-%s",
             uuid_text);
    if (zmq_socket_monitor(zsock_resolve(sock), monitor_endpoint,
                           ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED |
                               ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0) {
        zsock_destroy(&sock);
        return TH_EIO;
    }
    zsock_t *monitor = zsock_new(ZMQ_PAIR);
    if (monitor != NULL)
        zsock_set_rcvtimeo(monitor, 0); /* read only after a poll */
    if (monitor == NULL || zsock_connect(monitor, "%s", monitor_endpoint) != 0) {
        (void) zmq_socket_monitor(zsock_resolve(sock), NULL, 0);
        zsock_destroy(&monitor);
        zsock_destroy(&sock);
        return TH_EIO;
    }
    if (zsock_connect(sock, "%s", endpoint) != 0) {
        th_log_warn(0, "could not connect to broker endpoint", "endpoint=\"%s\"", endpoint);
        (void) zmq_socket_monitor(zsock_resolve(sock), NULL, 0);
        zsock_destroy(&monitor);
        zsock_destroy(&sock);
        return TH_EIO;
    }
    self->socket = sock;
    self->monitor = monitor;
    self->connected = false;
    self->generation++;
    return 0;
}

/* Reads the monitor events that are waiting. */
static void
s_monitor_drain(th_client_t *self)
{
    while (self->monitor != NULL && (zsock_events(self->monitor) & ZMQ_POLLIN)) {
        zmsg_t *event = zmsg_recv(self->monitor);
        if (event == NULL)
            return;
        zframe_t *first = zmsg_first(event);
        if (first != NULL && zframe_size(first) >= 2) {
            uint16_t id;
            memcpy(&id, zframe_data(first), sizeof id);
            if (id == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
                self->connected = true;
                self->auth_refused = false;
                self->refusals = 0;
            } else if (id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
                self->auth_refused = true;
            } else if (id == ZMQ_EVENT_DISCONNECTED) {
                /* Whatever was sent on the old connection is lost */
                self->connected = false;
                self->generation++;
            }
        }
        zmsg_destroy(&event);
    }
}

/* --- receiving ----------------------------------------------------------- */

/* Takes one message off the socket and files it with its call. Anything
 * malformed is dropped: a broker or an impostor must not crash a client. */
static void
s_receive_one(th_client_t *self)
{
    zmsg_t *msg = zmsg_recv(self->socket);
    if (msg == NULL)
        return;
    th_response_header_t *header = NULL;
    if (zmsg_size(msg) != 3 || !th_wire_is_sig(zmsg_first(msg), TH_WIRE_CLIENT_SIG)) {
        th_log_debug(0, "dropping a malformed reply", "frames=%zu", zmsg_size(msg));
        goto cleanup;
    }
    ProtobufCMessage *unpacked = NULL;
    if (th_wire_unpack(&teilhabe__rpc__v1__response_header__descriptor, zmsg_next(msg),
                       TH_WIRE_HEADER_MAX, &unpacked) != 0) {
        th_log_debug(0, "dropping a reply with an undecodable header", NULL);
        goto cleanup;
    }
    header = (th_response_header_t *) unpacked;
    th_client_call_t *call = th_client__call_find(self, header->call_id);
    if (call == NULL || call->reply_header != NULL || call->resend_at > 0) {
        th_log_debug(header->call_id, "dropping a reply for no waiting call", NULL);
        goto cleanup;
    }
    call->reply_header = header;
    header = NULL;
    call->reply_body = zmsg_next(msg);
    zmsg_remove(msg, call->reply_body);
cleanup:
    if (header != NULL)
        protobuf_c_message_free_unpacked(&header->base, NULL);
    zmsg_destroy(&msg);
}

void
th_client__poll(th_client_t *self, int64_t timeout_ms)
{
    if (timeout_ms < 0)
        timeout_ms = 0;
    if (self->socket == NULL || self->monitor == NULL) {
        zclock_sleep((int) timeout_ms);
        return;
    }
    zmq_pollitem_t items[2] = {
        {zsock_resolve(self->socket), 0, ZMQ_POLLIN, 0},
        {zsock_resolve(self->monitor), 0, ZMQ_POLLIN, 0},
    };
    if (zmq_poll(items, 2, (long) timeout_ms) <= 0)
        return;
    /* Only the sockets poll named, one message each: asking a socket
     * whether it has more costs libzmq a system call, and the caller's
     * next poll returns at once while anything is still queued. */
    if (items[1].revents & ZMQ_POLLIN)
        s_monitor_drain(self);
    if ((items[0].revents & ZMQ_POLLIN) && self->socket != NULL)
        s_receive_one(self);
}
