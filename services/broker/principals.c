/* ---------------------------------------------------------------------------
 * principals.c: the principal map, the thread that keeps it current, and the
 * checks every principal passes, whichever source it comes from
 *
 * The thread never touches the map: it sends the whole merged set as one
 * message ["SET" | packed Principal | ...] over the actor pipe, and the
 * broker's thread swaps its map when it reads that message. A set of a few
 * thousand principals is a few hundred kilobytes, sent only when something
 * changed, so copying beats sharing memory across threads. The thread waits
 * in one poll on the pipe and the database connection: the certificate
 * files are looked at every DIR_POLL_MS (principals_dir.c), the database
 * when it announces a change (principals_db.c).
 * ---------------------------------------------------------------------------
 */
#include "principals.h"

#include "principals_int.h"
#include "th_check.h"
#include "th_error.h"
#include "th_log.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#define DIR_POLL_MS 1000
/* Services one worker key may name: as many as one READY may announce. */
#define PRINCIPAL_SERVICES_MAX 64

struct principals_t {
    zactor_t *actor;
    char *certs_dir;
    char *db_url;
    zhashx_t *map; /* Z85 key -> th_principal_t * (unpacked, owned) */
};

/* --- validation shared by both sources ---------------------------------- */

bool
principals_role_is_user(const char *role)
{
    return th_check_role(role);
}

static bool
s_role_valid(const char *role)
{
    return principals_role_is_user(role) || (role != NULL && strcmp(role, "worker") == 0);
}

/* Splits a worker key's comma list of services into services (at most
 * PRINCIPAL_SERVICES_MAX; the strings point into list, which is changed).
 * 0, or TH_EINVAL with a reason in why. */
static int
s_split_services(char *list, char **services, size_t *n_services, const char **why)
{
    char *save = NULL;
    *n_services = 0;
    for (char *tok = strtok_r(list, ", ", &save); tok != NULL;
         tok = strtok_r(NULL, ", ", &save)) {
        if (!th_wire_service_name_valid(tok)) {
            *why = "services is not a comma list of full service names (pkg.v1.Service)";
            return TH_EINVAL;
        }
        if (*n_services == PRINCIPAL_SERVICES_MAX) {
            *why = "services names more than 64 services";
            return TH_EINVAL;
        }
        services[(*n_services)++] = tok;
    }
    return 0;
}

/* Builds a packed Principal from the given fields, splitting districts (a
 * comma list, or PostgreSQL's "{a,b}" array text) and, for a worker key,
 * services (a comma list; NULL or "" = none). NULL with a reason in why when
 * a field is invalid. */
zframe_t *
principals__frame(const char *id, const char *name, const char *role, const char *state,
                  const char *districts, const char *services, const char *key,
                  const char **why)
{
    zframe_t *frame = NULL;
    char *list = NULL;
    char **items = NULL;
    size_t n_items = 0;
    char *service_list = NULL;
    char *service_items[PRINCIPAL_SERVICES_MAX];
    size_t n_services = 0;
    *why = NULL;
    if (!th_check_z85_key(key)) {
        *why = "public key is not a 40-character Z85 CURVE key";
        goto cleanup;
    }
    if (!s_role_valid(role)) {
        *why = "role is not one of admin, ministry, manager, analyst, service, worker";
        goto cleanup;
    }
    if (state == NULL)
        state = "";
    if (state[0] != '\0' && !th_check_digits(state, 2)) {
        *why = "state is not a 2-digit Land code";
        goto cleanup;
    }
    if (id == NULL || id[0] == '\0')
        id = name;
    if (id == NULL || id[0] == '\0' || !th_wire_utf8_valid(id, strlen(id)) ||
        (name != NULL && !th_wire_utf8_valid(name, strlen(name)))) {
        *why = "id or name is missing or not UTF-8";
        goto cleanup;
    }
    list = strdup(districts != NULL ? districts : "");
    if (list == NULL)
        goto cleanup;
    size_t len = strlen(list);
    items = calloc(len / 2 + 2, sizeof *items);
    if (items == NULL)
        goto cleanup;
    char *save = NULL;
    for (char *tok = strtok_r(list, "{},\" ", &save); tok != NULL;
         tok = strtok_r(NULL, "{},\" ", &save)) {
        if (!th_check_ags(tok)) {
            *why = "districts is not a comma list of 5-digit AGS";
            goto cleanup;
        }
        items[n_items++] = tok;
    }
    /* Only a worker key serves services; on any other key the list means
     * nothing and is not carried. */
    if (strcmp(role, "worker") == 0 && services != NULL) {
        service_list = strdup(services);
        if (service_list == NULL ||
            s_split_services(service_list, service_items, &n_services, why) != 0)
            goto cleanup;
    }
    th_principal_t principal = TEILHABE__RPC__V1__PRINCIPAL__INIT;
    principal.id = (char *) id;
    principal.name = (char *) (name != NULL ? name : id);
    principal.role = (char *) role;
    principal.state_scope = (char *) state;
    principal.n_district_scope = n_items;
    principal.district_scope = items;
    principal.public_key = (char *) key;
    principal.n_services = n_services;
    principal.services = service_items;
    frame = th_wire_pack(&principal.base);
cleanup:
    free(service_list);
    free(items);
    free(list);
    return frame;
}

/* --- the thread's sets -------------------------------------------------------- */

static void
s_frame_free(void **item_p)
{
    zframe_destroy((zframe_t **) item_p);
}

zhashx_t *
principals__frame_set_new(void)
{
    zhashx_t *set = zhashx_new();
    if (set != NULL)
        zhashx_set_destructor(set, s_frame_free);
    return set;
}

uint64_t
principals__fnv(uint64_t hash, const void *data, size_t len)
{
    const byte *p = data;
    for (size_t i = 0; i < len; i++) {
        hash ^= p[i];
        hash *= 1099511628211ULL;
    }
    return hash;
}

/* Takes one command from the pipe; the only one the broker sends is $TERM
 * (a NULL read means the pipe is gone, which is as good as $TERM). */
void
principals__read_command(principals_poller_t *self)
{
    char *command = zstr_recv(self->pipe);
    if (command == NULL || strcmp(command, "$TERM") == 0)
        self->terminated = true;
    zstr_free(&command);
}

/* Sends the merged set to the broker's thread. 0, or < 0 when the message
 * could not be built or sent whole: then nothing was sent (a partial set
 * would drop keys), and the caller tries again at its next tick. */
static int
principals__send_set(principals_poller_t *self, zsock_t *pipe)
{
    zmsg_t *msg = zmsg_new();
    if (msg == NULL || zmsg_addstr(msg, "SET") != 0)
        goto fail;
    for (zframe_t *frame = zhashx_first(self->db_set); frame != NULL;
         frame = zhashx_next(self->db_set))
        if (zmsg_addmem(msg, zframe_data(frame), zframe_size(frame)) != 0)
            goto fail;
    /* A file counts only for keys the database does not know: a row wins
     * over a file, and a revoked row drops the file's key. */
    for (zframe_t *frame = zhashx_first(self->dir_set); frame != NULL;
         frame = zhashx_next(self->dir_set)) {
        const char *key = zhashx_cursor(self->dir_set);
        if (zhashx_lookup(self->db_revoked, key) != NULL) {
            char key_text[TH_LOG_QUOTE_SIZE];
            th_log_warn(0,
                        "certificate file ignored: its key is revoked in "
                        "registry.principals",
                        "key=%s", th_log_quote(key_text, sizeof key_text, key));
            continue;
        }
        if (zhashx_lookup(self->db_set, key) == NULL &&
            zmsg_addmem(msg, zframe_data(frame), zframe_size(frame)) != 0)
            goto fail;
    }
    if (zmsg_send(&msg, pipe) != 0)
        goto fail;
    return 0;
fail:
    zmsg_destroy(&msg);
    return TH_ENOMEM;
}

/* --- the thread -------------------------------------------------------------- */

static void
s_actor(zsock_t *pipe, void *arg)
{
    const principals_t *owner = arg;
    principals_poller_t self = {
        .pipe = pipe, .certs_dir = owner->certs_dir, .db_url = owner->db_url};
    self.dir_set = principals__frame_set_new();
    self.db_set = principals__frame_set_new();
    self.db_revoked = zhashx_new();
    /* Without the signal zactor_new would not return; if it cannot be sent
     * the pipe is broken and the thread has nothing to do. */
    if (zsock_signal(pipe, 0) != 0)
        goto cleanup;
    if (self.dir_set == NULL || self.db_set == NULL || self.db_revoked == NULL)
        goto cleanup;
    principals__poll_dir(&self);
    principals__poll_db(&self);
    if (self.terminated)
        goto cleanup;
    bool unsent = principals__send_set(&self, pipe) != 0;
    int64_t next_dir = zclock_mono() + DIR_POLL_MS;
    while (!self.terminated) {
        int64_t now = zclock_mono();
        const int64_t next = next_dir < self.db_next ? next_dir : self.db_next;
        const long timeout = next > now ? (long) (next - now) : 0;
        zmq_pollitem_t items[2] = {
            {zsock_resolve(pipe), 0, ZMQ_POLLIN, 0},
            {NULL, principals__db_socket(&self), ZMQ_POLLIN, 0},
        };
        const int rc = zmq_poll(items, items[1].fd >= 0 ? 2 : 1, timeout);
        if (rc < 0 && errno != EINTR)
            break;
        if (rc > 0 && (items[0].revents & ZMQ_POLLIN)) {
            principals__read_command(&self);
            if (self.terminated)
                break;
        }
        if (rc > 0 && items[1].fd >= 0 && items[1].revents != 0)
            principals__db_input(&self);
        now = zclock_mono();
        bool changed = false;
        if (now >= next_dir) {
            changed |= principals__poll_dir(&self);
            next_dir = now + DIR_POLL_MS;
        }
        if (now >= self.db_next)
            changed |= principals__poll_db(&self);
        if ((changed || unsent) && !self.terminated)
            unsent = principals__send_set(&self, pipe) != 0;
    }
cleanup:
    principals__db_close(&self);
    zhashx_destroy(&self.dir_set);
    zhashx_destroy(&self.db_set);
    zhashx_destroy(&self.db_revoked);
}

/* --- the broker's side ----------------------------------------------------- */

static void
s_principal_free(void **item_p)
{
    if (item_p != NULL && *item_p != NULL) {
        protobuf_c_message_free_unpacked((ProtobufCMessage *) *item_p, NULL);
        *item_p = NULL;
    }
}

principals_t *
principals_new(const char *certs_dir, const char *db_url, int timeout_ms, char *errbuf,
               size_t errlen)
{
    principals_t *self = calloc(1, sizeof *self);
    if (self == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    self->certs_dir = certs_dir != NULL && *certs_dir ? strdup(certs_dir) : NULL;
    self->db_url = db_url != NULL && *db_url ? strdup(db_url) : NULL;
    self->map = zhashx_new();
    if (self->map == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        goto fail;
    }
    zhashx_set_destructor(self->map, s_principal_free);
    /* The polling thread must not take SIGINT/SIGTERM: the broker's thread
     * sees them and stops everything in order. */
    sigset_t block, saved;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    if (pthread_sigmask(SIG_BLOCK, &block, &saved) != 0) {
        snprintf(errbuf, errlen,
                 "could not block signals for the principal polling thread");
        goto fail;
    }
    self->actor = zactor_new(s_actor, self);
    int restored = pthread_sigmask(SIG_SETMASK, &saved, NULL);
    if (self->actor == NULL || restored != 0) {
        snprintf(errbuf, errlen, "could not start the principal polling thread");
        goto fail;
    }
    /* The thread sends its first set after reading the directory and trying
     * the database once; wait for it, bounded. */
    zsock_set_rcvtimeo(self->actor, timeout_ms);
    int rc = principals_update(self);
    zsock_set_rcvtimeo(self->actor, -1);
    if (rc != 0) {
        snprintf(errbuf, errlen, "principals were not loaded within %d ms", timeout_ms);
        goto fail;
    }
    return self;
fail:
    principals_destroy(&self);
    return NULL;
}

void
principals_destroy(principals_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    principals_t *self = *self_p;
    zactor_destroy(&self->actor);
    zhashx_destroy(&self->map);
    free(self->certs_dir);
    free(self->db_url);
    free(self);
    *self_p = NULL;
}

void *
principals_socket(principals_t *self)
{
    return zsock_resolve(self->actor);
}

int
principals_update(principals_t *self)
{
    zmsg_t *msg = zmsg_recv(self->actor);
    if (msg == NULL)
        return TH_EIO;
    int rc = 0;
    zhashx_t *map = NULL;
    char *tag = zmsg_popstr(msg);
    if (tag == NULL || strcmp(tag, "SET") != 0) {
        rc = TH_EPROTO;
        goto cleanup;
    }
    map = zhashx_new();
    if (map == NULL) {
        rc = TH_ENOMEM;
        goto cleanup;
    }
    zhashx_set_destructor(map, s_principal_free);
    for (zframe_t *frame = zmsg_first(msg); frame != NULL; frame = zmsg_next(msg)) {
        ProtobufCMessage *unpacked = NULL;
        if (th_wire_unpack(&teilhabe__rpc__v1__principal__descriptor, frame, SIZE_MAX,
                           &unpacked) != 0)
            continue;
        th_principal_t *p = (th_principal_t *) unpacked;
        if (zhashx_insert(map, p->public_key, p) != 0)
            protobuf_c_message_free_unpacked(unpacked, NULL);
    }
    size_t before = zhashx_size(self->map);
    zhashx_destroy(&self->map);
    self->map = map;
    map = NULL;
    th_log_info(0, "principal map updated", "principals=%zu before=%zu",
                zhashx_size(self->map), before);
cleanup:
    zhashx_destroy(&map);
    zstr_free(&tag);
    zmsg_destroy(&msg);
    return rc;
}

const th_principal_t *
principals_lookup(const principals_t *self, const char *public_key)
{
    if (public_key == NULL)
        return NULL;
    return zhashx_lookup(self->map, public_key);
}

size_t
principals_size(const principals_t *self)
{
    return zhashx_size(self->map);
}
