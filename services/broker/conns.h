/* ---------------------------------------------------------------------------
 * conns.h: counts the connections of one of the broker's ROUTER sockets and
 * keeps their number under a cap.
 *
 * libzmq accepts every TCP connection it can and has no option to stop: a
 * peer needs no key to open one, since the CURVE handshake only follows.
 * Each connection holds a file descriptor, and a broker without free
 * descriptors can neither read its certificate folder nor take a worker's
 * reconnect. A socket monitor (zmq_socket_monitor) reports each accepted
 * connection with its descriptor and each connection that ended; conns
 * counts them and shuts down (shutdown(2)) every connection accepted while
 * `max` are already open, so that the descriptors beyond the caps stay free
 * for the broker's own work. libzmq sees such a connection end as if the
 * peer had gone and cleans it up as usual; the peer's libzmq reconnects
 * later by itself. Connections that never finish their handshake are closed
 * by libzmq after ZMQ_HANDSHAKE_IVL, so idle ones cannot keep the slots.
 *
 * The cap applies to TCP endpoints only (the one a broker is meant for);
 * on other transports the connections are counted but never shut down.
 * ---------------------------------------------------------------------------
 */
#ifndef TH_CONNS_H
#define TH_CONNS_H

#include <czmq.h>
#include <stddef.h>

typedef struct conns_t conns_t;

/* Starts watching socket, a bound ROUTER (borrowed; it must outlive the
 * watcher). name is for logs ("frontend"). max is the most connections open
 * at once, 0 = no cap. NULL on failure with a message in errbuf. */
conns_t *conns_new(zsock_t *socket, const char *name, size_t max, char *errbuf,
                   size_t errlen);

/* Stops the monitor. Call it before the watched socket is destroyed.
 * Accepts NULL; sets *self_p to NULL. */
void conns_destroy(conns_t **self_p);

/* The socket to poll: readable when events wait. */
void *conns_socket(conns_t *self);

/* Handles the events waiting (a bounded batch). Returns how many
 * connections ended meanwhile. */
size_t conns_handle(conns_t *self);

/* Connections open now (accepted and not yet ended). */
size_t conns_count(const conns_t *self);

#endif /* TH_CONNS_H */
