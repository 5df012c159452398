/* ---------------------------------------------------------------------------
 * zap.c: ZAP (RFC 27) handler checking CURVE keys against the principal map
 *
 * Runs in the broker's own thread (a REP socket polled with the others), so
 * it reads the principal map without locks. A request is
 *   [ "1.0" | request id | domain | address | routing id | mechanism | key ]
 * and the reply
 *   [ "1.0" | request id | status code | status text | user id | metadata ].
 * ---------------------------------------------------------------------------
 */
#include "zap.h"

#include "th_log.h"

#include <string.h>

#define REFUSAL_LOG_MS 1000

struct zap_t {
    zsock_t *socket;
    const principals_t *principals;
    int64_t refusal_log_at; /* next refusal may be logged from then */
    size_t refusals_unlogged;
};

/* A refused client's libzmq reconnects every 100 ms or so and is refused
 * each time; log refusals at most once a second, with a count of those
 * left out, so the log stays readable. */
static bool
s_may_log_refusal(zap_t *self, size_t *unlogged)
{
    int64_t now = zclock_mono();
    if (now < self->refusal_log_at) {
        self->refusals_unlogged++;
        return false;
    }
    self->refusal_log_at = now + REFUSAL_LOG_MS;
    *unlogged = self->refusals_unlogged;
    self->refusals_unlogged = 0;
    return true;
}

zap_t *
zap_new(const principals_t *principals)
{
    zap_t *self = calloc(1, sizeof *self);
    if (self == NULL)
        return NULL;
    self->principals = principals;
    self->socket = zsock_new(ZMQ_REP);
    if (self->socket == NULL || zsock_bind(self->socket, "%s", ZAP_ENDPOINT) != 0) {
        zap_destroy(&self);
        return NULL;
    }
    return self;
}

void
zap_destroy(zap_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    zap_t *self = *self_p;
    zsock_destroy(&self->socket);
    free(self);
    *self_p = NULL;
}

void *
zap_socket(zap_t *self)
{
    return zsock_resolve(self->socket);
}

static bool
s_frame_is(zframe_t *frame, const char *text)
{
    size_t len = strlen(text);
    return frame != NULL && zframe_size(frame) == len &&
           memcmp(zframe_data(frame), text, len) == 0;
}

/* Answers a ZAP request. The parts go out one by one with zmq_send, which
 * needs no allocation for parts this small: a REP socket that failed to
 * answer could not take the next request, and every handshake after it
 * would hang until its timeout. */
static void
s_reply(zap_t *self, zframe_t *request_id, const char *code, const char *text,
        const char *user_id)
{
    void *socket = zsock_resolve(self->socket);
    const void *id = request_id != NULL ? zframe_data(request_id) : NULL;
    size_t id_size = request_id != NULL ? zframe_size(request_id) : 0;
    if (zmq_send(socket, "1.0", 3, ZMQ_SNDMORE) < 0 ||
        zmq_send(socket, id, id_size, ZMQ_SNDMORE) < 0 ||
        zmq_send(socket, code, strlen(code), ZMQ_SNDMORE) < 0 ||
        zmq_send(socket, text, strlen(text), ZMQ_SNDMORE) < 0 ||
        zmq_send(socket, user_id, strlen(user_id), ZMQ_SNDMORE) < 0 ||
        zmq_send(socket, NULL, 0, 0) < 0)
        th_log_error(0, "could not answer a ZAP request", "error=\"%s\"",
                     zmq_strerror(zmq_errno()));
}

void
zap_handle(zap_t *self)
{
    zmsg_t *request = zmsg_recv(self->socket);
    if (request == NULL)
        return;
    zframe_t *version = zmsg_first(request);
    zframe_t *request_id = zmsg_next(request);
    zframe_t *domain = zmsg_next(request);
    zframe_t *address = zmsg_next(request);
    zframe_t *routing_id = zmsg_next(request);
    zframe_t *mechanism = zmsg_next(request);
    zframe_t *key = zmsg_next(request);
    (void) routing_id;
    size_t unlogged = 0;
    char address_text[64] = "";
    if (address != NULL)
        snprintf(address_text, sizeof address_text, "%.*s",
                 (int) (zframe_size(address) < 60 ? zframe_size(address) : 60),
                 (const char *) zframe_data(address));
    /* Everything that reaches the log from here on is quoted: the address
     * comes from libzmq, but the key and the principal id are the peer's
     * and the registry's choice. */
    char peer[TH_LOG_QUOTE_SIZE];
    char key_text[TH_LOG_QUOTE_SIZE];
    char id_text[TH_LOG_QUOTE_SIZE];
    th_log_quote(peer, sizeof peer, address_text);

    /* A REP socket must answer whatever it received, even nonsense, or it
     * would stop reading; libzmq treats any non-200 as a refusal. */
    if (!s_frame_is(version, "1.0") || zmsg_size(request) != 7 ||
        !s_frame_is(mechanism, "CURVE") || zframe_size(key) != 32) {
        if (s_may_log_refusal(self, &unlogged))
            th_log_warn(0, "refused connection: malformed ZAP request or not CURVE",
                        "peer=%s frames=%zu refusals_not_logged=%zu", peer,
                        zmsg_size(request), unlogged);
        s_reply(self, request_id, "400", "malformed request", "");
        goto cleanup;
    }
    bool frontend = s_frame_is(domain, ZAP_DOMAIN_FRONTEND);
    bool backend = s_frame_is(domain, ZAP_DOMAIN_BACKEND);
    char z85[41];
    if (zmq_z85_encode(z85, zframe_data(key), 32) == NULL) {
        s_reply(self, request_id, "400", "malformed key", "");
        goto cleanup;
    }
    const th_principal_t *principal = principals_lookup(self->principals, z85);
    if (principal == NULL) {
        if (s_may_log_refusal(self, &unlogged))
            th_log_warn(0, "refused connection: unknown key",
                        "peer=%s key=%s domain=%s refusals_not_logged=%zu", peer,
                        th_log_quote(key_text, sizeof key_text, z85),
                        frontend  ? "frontend"
                        : backend ? "backend"
                                  : "other",
                        unlogged);
        s_reply(self, request_id, "400", "unknown key", "");
        goto cleanup;
    }
    bool role_ok = (frontend && principals_role_is_user(principal->role)) ||
                   (backend && strcmp(principal->role, "worker") == 0);
    if (!role_ok) {
        if (s_may_log_refusal(self, &unlogged))
            th_log_warn(0, "refused connection: role not allowed on this socket",
                        "peer=%s principal=%s role=%s domain=%s "
                        "refusals_not_logged=%zu",
                        peer, th_log_quote(id_text, sizeof id_text, principal->id),
                        principal->role,
                        frontend  ? "frontend"
                        : backend ? "backend"
                                  : "other",
                        unlogged);
        s_reply(self, request_id, "400", "role not allowed", "");
        goto cleanup;
    }
    th_log_debug(0, "accepted connection", "peer=%s principal=%s role=%s domain=%s", peer,
                 th_log_quote(id_text, sizeof id_text, principal->id), principal->role,
                 frontend ? "frontend" : "backend");
    s_reply(self, request_id, "200", "OK", z85);
cleanup:
    zmsg_destroy(&request);
}
