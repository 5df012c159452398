/* ---------------------------------------------------------------------------
 * zap.h: the broker's ZAP handler (ZeroMQ RFC 27) for CURVE connections.
 *
 * libzmq asks the handler bound at inproc://zeromq.zap.01 about every CURVE
 * handshake. This one accepts a client key only when it maps to a known
 * principal whose role fits the socket's ZAP domain: "frontend" takes the
 * user roles (admin, ministry, manager, analyst, service), "backend" takes
 * role "worker" only. An accepted connection gets the Z85 public key as its
 * User-Id, which the broker looks up again on every message. Everything else
 * (unknown key, wrong role, unknown domain, another mechanism, a malformed
 * request) is answered 400.
 *
 * The handler must be bound before the first CURVE socket exists, and those
 * sockets must set ZMQ_ZAP_ENFORCE_DOMAIN: without a handler libzmq would
 * let every handshake through.
 * ---------------------------------------------------------------------------
 */
#ifndef TH_ZAP_H
#define TH_ZAP_H

#include "principals.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_DOMAIN_FRONTEND "frontend"
#define ZAP_DOMAIN_BACKEND "backend"

typedef struct zap_t zap_t;

/* Binds the handler. principals is borrowed and must outlive the handler.
 * NULL when the endpoint cannot be bound (e.g. another handler exists). */
zap_t *zap_new(const principals_t *principals);

/* Accepts NULL; sets *self_p to NULL. */
void zap_destroy(zap_t **self_p);

/* The socket to poll. */
void *zap_socket(zap_t *self);

/* Answers one waiting request (call when the socket is readable). */
void zap_handle(zap_t *self);

#endif /* TH_ZAP_H */
