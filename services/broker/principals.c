/* ---------------------------------------------------------------------------
 * principals.c: the principal map and the thread that keeps it current
 *
 * The polling thread never touches the map: it sends the whole merged set as
 * one message ["SET" | packed Principal | ...] over the actor pipe, and the
 * broker's thread swaps its map when it reads that message. A set of a few
 * thousand principals is a few hundred kilobytes, sent only when something
 * changed, so copying beats sharing memory across threads.
 * ---------------------------------------------------------------------------
 */
#include "principals.h"

#include "th_check.h"
#include "th_error.h"
#include "th_log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIR_POLL_MS 1000
#define DB_POLL_MS 2000
/* A database that hangs (host gone, server stopped, table locked) must not
 * stall the polling thread, or the broker's shutdown that waits for it: the
 * server gives up on a statement after DB_STATEMENT_TIMEOUT, the thread
 * gives up on a connection attempt after DB_CONNECT_MS and on a query after
 * DB_QUERY_MS, and all waits also watch the pipe, so a stop request ends
 * them at once. */
#define DB_STATEMENT_TIMEOUT "-c statement_timeout=2000"
#define DB_CONNECT_MS 3000
#define DB_QUERY_MS 4000
/* Services one worker key may name: as many as one READY may announce. */
#define PRINCIPAL_SERVICES_MAX 64
/* Certificates are a few hundred bytes; a larger file is not one. */
#define CERT_FILE_MAX 65536

enum {
    DIR_OK,
    DIR_GONE,
    DIR_UNREADABLE
};

/* Revoked rows are read too: a key revoked in the registry must be refused
 * even when a certificate file for it is still in certs_dir. */
static const char *const s_principals_sql =
    "SELECT id::text, name, role, coalesce(state_scope, ''), "
    "coalesce(district_scope::text, ''), public_key, revoked_at IS NOT NULL "
    "FROM registry.principals ORDER BY public_key";

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
static zframe_t *
s_principal_frame(const char *id, const char *name, const char *role, const char *state,
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

/* --- the polling thread --------------------------------------------------- */

typedef struct {
    zsock_t *pipe;
    bool terminated; /* the broker asked the thread to stop */
    const char *certs_dir;
    const char *db_url;
    zhashx_t *dir_set; /* key -> packed principal frame */
    zhashx_t *db_set;
    zhashx_t *db_revoked; /* keys revoked in registry.principals (set) */
    uint64_t dir_signature;
    bool dir_loaded;
    int dir_problem; /* DIR_OK, DIR_GONE or DIR_UNREADABLE: logged once each */
    PGconn *conn;
    uint64_t db_signature;
    bool db_loaded;
    bool db_down_logged;
    bool db_missing_logged;
} s_poller_t;

static void
s_frame_free(void **item_p)
{
    zframe_destroy((zframe_t **) item_p);
}

static zhashx_t *
s_frame_set_new(void)
{
    zhashx_t *set = zhashx_new();
    if (set != NULL)
        zhashx_set_destructor(set, s_frame_free);
    return set;
}

static uint64_t
s_fnv(uint64_t hash, const void *data, size_t len)
{
    const byte *p = data;
    for (size_t i = 0; i < len; i++) {
        hash ^= p[i];
        hash *= 1099511628211ULL;
    }
    return hash;
}

static bool
s_is_cert_name(const char *name)
{
    size_t len = strlen(name);
    return len > 5 && strcmp(name + len - 5, ".cert") == 0 && name[0] != '.';
}

/* A read that failed for one of these reasons says nothing about the
 * certificates: the process is out of descriptors or memory, or the disk
 * hiccuped. The next poll tries again. */
static bool
s_is_transient(int err)
{
    return err == EMFILE || err == ENFILE || err == ENOMEM || err == EIO || err == EAGAIN ||
           err == ENOBUFS || err == EINTR;
}

/* A signature of the directory listing: names, sizes and modification times
 * of the *.cert files, combined order-independently. Changes when a file is
 * added, removed, replaced or edited. TH_ENOTFOUND when the directory is
 * gone, TH_EIO when it could not be read now (*err holds errno either way). */
static int
s_dir_signature(const char *path, uint64_t *out, int *err)
{
    DIR *dir = opendir(path);
    if (dir == NULL) {
        *err = errno;
        return *err == ENOENT || *err == ENOTDIR ? TH_ENOTFOUND : TH_EIO;
    }
    int rc = 0;
    uint64_t sig = 0;
    size_t count = 0;
    struct dirent *entry;
    char file[4096];
    while (true) {
        errno = 0;
        if ((entry = readdir(dir)) == NULL) {
            if (errno != 0) {
                *err = errno;
                rc = TH_EIO;
            }
            break;
        }
        if (!s_is_cert_name(entry->d_name))
            continue;
        struct stat st;
        int n = snprintf(file, sizeof file, "%s/%s", path, entry->d_name);
        if (n < 0 || (size_t) n >= sizeof file)
            continue; /* a path this long is no file of ours (s_load_cert says so) */
        if (stat(file, &st) != 0) {
            /* Removed since the listing, or unreadable for good: either
             * way not part of the set. Anything else: try again later. */
            if (s_is_transient(errno)) {
                *err = errno;
                rc = TH_EIO;
                break;
            }
            continue;
        }
        uint64_t h = 14695981039346656037ULL;
        h = s_fnv(h, entry->d_name, strlen(entry->d_name));
        h = s_fnv(h, &st.st_size, sizeof st.st_size);
        h = s_fnv(h, &st.st_mtim, sizeof st.st_mtim);
        h = s_fnv(h, &st.st_ino, sizeof st.st_ino);
        sig += h * 2654435761ULL + (h >> 17);
        count++;
    }
    closedir(dir);
    *out = sig ^ (count * 0x9e3779b97f4a7c15ULL);
    return rc;
}

/* Reads a whole certificate file. zcert_load would do, but it hides why it
 * failed, and "out of descriptors" must not read as "no such key": that
 * reading dropped every principal when the broker ran out of descriptors.
 * 0 with *text (caller frees); TH_ENOTFOUND when the file is gone;
 * TH_EINVAL when it is not a readable regular file of sane size (for good:
 * logged by the caller); TH_EIO for a transient failure (*err = errno). */
static int
s_read_cert_file(const char *path, char **text, int *err)
{
    *text = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *err = errno;
        if (s_is_transient(*err))
            return TH_EIO;
        return *err == ENOENT ? TH_ENOTFOUND : TH_EINVAL;
    }
    int rc = 0;
    struct stat st;
    char *buf = NULL;
    if (fstat(fd, &st) != 0) {
        *err = errno;
        rc = s_is_transient(*err) ? TH_EIO : TH_EINVAL;
        goto cleanup;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > CERT_FILE_MAX) {
        rc = TH_EINVAL;
        goto cleanup;
    }
    buf = malloc((size_t) st.st_size + 1);
    if (buf == NULL) {
        *err = ENOMEM;
        rc = TH_EIO;
        goto cleanup;
    }
    size_t got = 0;
    while (got < (size_t) st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t) st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            *err = errno;
            rc = s_is_transient(*err) ? TH_EIO : TH_EINVAL;
            goto cleanup;
        }
        if (n == 0)
            break; /* shrank meanwhile: the next poll sees the new size */
        got += (size_t) n;
    }
    buf[got] = '\0';
    *text = buf;
    buf = NULL;
cleanup:
    free(buf);
    close(fd);
    return rc;
}

/* Loads one certificate file into set. 0 when it was loaded, or ignored for
 * good (logged: invalid, or gone since the listing); TH_EIO when it could
 * not be read now, and the caller keeps its last set. */
static int
s_load_cert(zhashx_t *set, const char *dir, const char *file, int *err)
{
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/%s", dir, file);
    char file_text[TH_LOG_QUOTE_SIZE];
    th_log_quote(file_text, sizeof file_text, path);
    if (n < 0 || (size_t) n >= sizeof path) {
        th_log_warn(0, "ignoring certificate file: its path is too long", "file=%s",
                    file_text);
        return 0;
    }
    char *text = NULL;
    int rc = s_read_cert_file(path, &text, err);
    if (rc == TH_EIO)
        return rc;
    if (rc == TH_ENOTFOUND)
        return 0;
    zconfig_t *root = rc == 0 ? zconfig_str_load(text) : NULL;
    free(text);
    if (root == NULL) {
        th_log_warn(0, "could not load certificate file", "file=%s", file_text);
        return 0;
    }
    /* The default id and name is the file name without ".cert". */
    char base[256];
    snprintf(base, sizeof base, "%.*s", (int) (strlen(file) - 5), file);
    const char *name = zconfig_get(root, "metadata/name", NULL);
    const char *id = zconfig_get(root, "metadata/id", NULL);
    const char *key = zconfig_get(root, "curve/public-key", NULL);
    const char *why = NULL;
    zframe_t *frame = s_principal_frame(
        id != NULL && *id ? id : (name != NULL && *name ? name : base),
        name != NULL && *name ? name : base, zconfig_get(root, "metadata/role", NULL),
        zconfig_get(root, "metadata/state", NULL),
        zconfig_get(root, "metadata/districts", NULL),
        zconfig_get(root, "metadata/services", NULL), key, &why);
    if (frame == NULL) {
        th_log_warn(0, "ignoring certificate file", "file=%s reason=\"%s\"", file_text,
                    why != NULL ? why : "out of memory");
    } else if (zhashx_insert(set, key, frame) != 0) {
        th_log_warn(0, "ignoring certificate file with a duplicate key", "file=%s",
                    file_text);
        zframe_destroy(&frame);
    }
    zconfig_destroy(&root);
    return 0;
}

/* Logs a failed read of the directory once per episode: a directory that
 * is gone (its principals are refused) at error level, one that could not
 * be read for now (the last set stays) as a warning. */
static void
s_dir_problem(s_poller_t *self, int problem, int err)
{
    if (self->dir_problem == problem)
        return;
    char dir_text[TH_LOG_QUOTE_SIZE];
    th_log_quote(dir_text, sizeof dir_text, self->certs_dir);
    if (problem == DIR_GONE)
        th_log_error(0, "certificate directory is gone; its principals are refused",
                     "certs_dir=%s error=\"%s\"", dir_text, strerror(err));
    else if (problem == DIR_UNREADABLE)
        th_log_warn(
            0, "could not read certificate directory; keeping the last known principals",
            "certs_dir=%s error=\"%s\"", dir_text, strerror(err));
    else
        th_log_info(0, "certificate directory readable again", "certs_dir=%s", dir_text);
    self->dir_problem = problem;
}

/* Reloads the directory when its signature changed. True when the set
 * changed. Only a directory that is gone empties the set (failing closed
 * is the safe reading of "the certificates are gone"); a read that failed
 * for a transient reason keeps the last set, or an attacker who exhausts
 * the broker's descriptors would lock out every client and worker. */
static bool
s_poll_dir(s_poller_t *self)
{
    if (self->certs_dir == NULL)
        return false;
    uint64_t sig = 0;
    int err = 0;
    int rc = s_dir_signature(self->certs_dir, &sig, &err);
    if (rc == TH_ENOTFOUND) {
        s_dir_problem(self, DIR_GONE, err);
        bool changed = zhashx_size(self->dir_set) > 0;
        zhashx_purge(self->dir_set);
        self->dir_loaded = false;
        return changed;
    }
    if (rc != 0) {
        s_dir_problem(self, DIR_UNREADABLE, err);
        return false;
    }
    if (self->dir_loaded && sig == self->dir_signature) {
        s_dir_problem(self, DIR_OK, 0);
        return false;
    }
    zhashx_t *set = s_frame_set_new();
    if (set == NULL) {
        s_dir_problem(self, DIR_UNREADABLE, ENOMEM);
        return false;
    }
    DIR *dir = opendir(self->certs_dir);
    if (dir == NULL) {
        err = errno;
        rc = TH_EIO;
    }
    while (dir != NULL) {
        errno = 0;
        struct dirent *entry = readdir(dir);
        if (entry == NULL) {
            if (errno != 0) {
                err = errno;
                rc = TH_EIO;
            }
            break;
        }
        if (s_is_cert_name(entry->d_name) &&
            (rc = s_load_cert(set, self->certs_dir, entry->d_name, &err)) != 0)
            break;
    }
    if (dir != NULL)
        closedir(dir);
    if (rc != 0) {
        /* Removed between the two reads (ENOENT) fails closed with the next
         * poll's signature; anything else keeps the last set. */
        s_dir_problem(self, DIR_UNREADABLE, err);
        zhashx_destroy(&set);
        return false;
    }
    s_dir_problem(self, DIR_OK, 0);
    char dir_text[TH_LOG_QUOTE_SIZE];
    th_log_info(0, "certificate directory loaded", "certs_dir=%s principals=%zu",
                th_log_quote(dir_text, sizeof dir_text, self->certs_dir), zhashx_size(set));
    zhashx_destroy(&self->dir_set);
    self->dir_set = set;
    self->dir_signature = sig;
    self->dir_loaded = true;
    return true;
}

/* Takes one command from the pipe; the only one the broker sends is $TERM
 * (a NULL read means the pipe is gone, which is as good as $TERM). */
static void
s_read_command(s_poller_t *self)
{
    char *command = zstr_recv(self->pipe);
    if (command == NULL || strcmp(command, "$TERM") == 0)
        self->terminated = true;
    zstr_free(&command);
}

/* Waits until the database socket is ready for events (ZMQ_POLLIN or
 * ZMQ_POLLOUT), watching the pipe meanwhile. 0 when ready, TH_ETIMEDOUT
 * at deadline, TH_ESTATE when the broker asked the thread to stop, TH_EIO
 * when polling failed. */
static int
s_db_wait(s_poller_t *self, PGconn *conn, short events, int64_t deadline)
{
    while (true) {
        int64_t now = zclock_mono();
        if (now >= deadline)
            return TH_ETIMEDOUT;
        zmq_pollitem_t items[2] = {
            {zsock_resolve(self->pipe), 0, ZMQ_POLLIN, 0},
            {NULL, PQsocket(conn), events, 0},
        };
        if (items[1].fd < 0)
            return TH_EIO;
        int rc = zmq_poll(items, 2, (long) (deadline - now));
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            return TH_EIO;
        }
        if (items[0].revents & ZMQ_POLLIN) {
            s_read_command(self);
            if (self->terminated)
                return TH_ESTATE;
        }
        if (items[1].revents != 0)
            return 0;
    }
}

/* Opens self->conn without blocking past DB_CONNECT_MS or a stop request.
 * 0, or < 0 with the reason in errbuf (self->conn is NULL then). */
static int
s_db_connect(s_poller_t *self, char *errbuf, size_t errlen)
{
    /* Defaults first, the URL last: libpq lets later settings win, so a URL
     * that sets its own options keeps them. */
    const char *const keys[] = {"connect_timeout", "application_name", "options", "dbname",
                                NULL};
    const char *const values[] = {"3", "teilhabe-broker", DB_STATEMENT_TIMEOUT,
                                  self->db_url, NULL};
    int rc = 0;
    PGconn *conn = PQconnectStartParams(keys, values, 1);
    if (conn == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        return TH_ENOMEM;
    }
    int64_t deadline = zclock_mono() + DB_CONNECT_MS;
    PostgresPollingStatusType state =
        PQstatus(conn) == CONNECTION_BAD ? PGRES_POLLING_FAILED : PGRES_POLLING_WRITING;
    while (state != PGRES_POLLING_OK && state != PGRES_POLLING_FAILED) {
        rc = s_db_wait(self, conn,
                       state == PGRES_POLLING_READING ? ZMQ_POLLIN : ZMQ_POLLOUT, deadline);
        if (rc != 0)
            break;
        state = PQconnectPoll(conn);
    }
    if (rc == TH_ETIMEDOUT)
        snprintf(errbuf, errlen, "no connection within %d ms", DB_CONNECT_MS);
    else if (rc != 0)
        snprintf(errbuf, errlen, "%s", rc == TH_ESTATE ? "stopping" : "could not poll");
    else if (state != PGRES_POLLING_OK || PQsetnonblocking(conn, 1) != 0) {
        snprintf(errbuf, errlen, "%s", PQerrorMessage(conn));
        rc = TH_EDB;
    }
    if (rc != 0) {
        PQfinish(conn);
        return rc;
    }
    self->conn = conn;
    return 0;
}

/* Runs sql on self->conn without blocking past DB_QUERY_MS or a stop
 * request. Returns the result (the caller clears it; its status may be an
 * error), or NULL with the reason in errbuf when no result came: then the
 * connection is unusable and the caller closes it. */
static PGresult *
s_db_query(s_poller_t *self, const char *sql, char *errbuf, size_t errlen)
{
    PGconn *conn = self->conn;
    PGresult *result = NULL;
    int64_t deadline = zclock_mono() + DB_QUERY_MS;
    int rc = 0;
    if (!PQsendQuery(conn, sql)) {
        snprintf(errbuf, errlen, "%s", PQerrorMessage(conn));
        return NULL;
    }
    int flushed;
    while ((flushed = PQflush(conn)) == 1)
        if ((rc = s_db_wait(self, conn, ZMQ_POLLOUT, deadline)) != 0)
            goto fail;
    if (flushed < 0) {
        snprintf(errbuf, errlen, "%s", PQerrorMessage(conn));
        return NULL;
    }
    while (true) {
        while (PQisBusy(conn)) {
            if ((rc = s_db_wait(self, conn, ZMQ_POLLIN, deadline)) != 0)
                goto fail;
            if (!PQconsumeInput(conn)) {
                snprintf(errbuf, errlen, "%s", PQerrorMessage(conn));
                PQclear(result);
                return NULL;
            }
        }
        PGresult *next = PQgetResult(conn);
        if (next == NULL)
            break;
        /* One statement, one result; keep the first should there be more. */
        if (result == NULL)
            result = next;
        else
            PQclear(next);
    }
    if (result == NULL)
        snprintf(errbuf, errlen, "no result");
    return result;
fail:
    if (rc == TH_ETIMEDOUT)
        snprintf(errbuf, errlen, "no answer within %d ms", DB_QUERY_MS);
    else
        snprintf(errbuf, errlen, "%s", rc == TH_ESTATE ? "stopping" : "could not poll");
    PQclear(result);
    return NULL;
}

/* Polls registry.principals. True when the set changed. On errors the last
 * known set stays in force: a database restart must not lock everyone out. */
static bool
s_poll_db(s_poller_t *self)
{
    if (self->db_url == NULL)
        return false;
    bool changed = false;
    PGresult *res = NULL;
    zhashx_t *set = NULL;
    zhashx_t *revoked = NULL;
    char errbuf[512];
    char error_text[TH_LOG_QUOTE_SIZE * 2];
    if (self->conn == NULL || PQstatus(self->conn) != CONNECTION_OK) {
        PQfinish(self->conn);
        self->conn = NULL;
        if (s_db_connect(self, errbuf, sizeof errbuf) != 0) {
            if (!self->db_down_logged && !self->terminated)
                th_log_warn(0,
                            "could not connect to the principal database; keeping the last "
                            "known principals",
                            "error=%s",
                            th_log_quote(error_text, sizeof error_text, errbuf));
            self->db_down_logged = true;
            goto cleanup;
        }
        if (self->db_down_logged)
            th_log_info(0, "principal database reachable again", NULL);
        self->db_down_logged = false;
    }
    res = s_db_query(self, s_principals_sql, errbuf, sizeof errbuf);
    if (res == NULL) {
        if (!self->db_down_logged && !self->terminated)
            th_log_warn(0,
                        "could not read registry.principals; keeping the last known "
                        "principals",
                        "error=%s", th_log_quote(error_text, sizeof error_text, errbuf));
        self->db_down_logged = true;
        PQfinish(self->conn);
        self->conn = NULL;
        goto cleanup;
    }
    uint64_t sig = 14695981039346656037ULL;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (state != NULL && (strcmp(state, "42P01") == 0 || strcmp(state, "3F000") == 0)) {
            /* The registry has not created its table yet: no principals
             * from the database, which is not an error. */
            if (!self->db_missing_logged)
                th_log_info(0,
                            "table registry.principals does not exist yet; no principals "
                            "from the database",
                            NULL);
            self->db_missing_logged = true;
        } else {
            /* E.g. the statement timed out behind a lock. */
            if (!self->db_down_logged)
                th_log_warn(
                    0,
                    "could not read registry.principals; keeping the last known "
                    "principals",
                    "error=%s",
                    th_log_quote(error_text, sizeof error_text, PQresultErrorMessage(res)));
            self->db_down_logged = true;
            if (PQstatus(self->conn) != CONNECTION_OK) {
                PQfinish(self->conn);
                self->conn = NULL;
            }
            goto cleanup;
        }
    } else {
        self->db_missing_logged = false;
        /* The rows come sorted by key, so the signature changes only when
         * the content does, not when PostgreSQL returns rows in another
         * physical order (every UPDATE moves a row). */
        int rows = PQntuples(res);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < 7; c++) {
                const char *v = PQgetvalue(res, r, c);
                sig = s_fnv(sig, v, strlen(v) + 1);
            }
        sig = s_fnv(sig, &rows, sizeof rows);
    }
    if (self->db_down_logged)
        th_log_info(0, "registry.principals readable again", NULL);
    self->db_down_logged = false;
    if (self->db_loaded && sig == self->db_signature)
        goto cleanup;
    set = s_frame_set_new();
    revoked = zhashx_new();
    if (set == NULL || revoked == NULL)
        goto cleanup;
    int rows = PQresultStatus(res) == PGRES_TUPLES_OK ? PQntuples(res) : 0;
    for (int r = 0; r < rows; r++) {
        const char *why = NULL;
        const char *key = PQgetvalue(res, r, 5);
        char id_text[TH_LOG_QUOTE_SIZE];
        if (strcmp(PQgetvalue(res, r, 6), "t") == 0) {
            if (zhashx_insert(revoked, key, (void *) "") != 0 &&
                zhashx_lookup(revoked, key) == NULL)
                goto cleanup; /* out of memory: keep the last sets */
            continue;
        }
        zframe_t *frame = s_principal_frame(PQgetvalue(res, r, 0), PQgetvalue(res, r, 1),
                                            PQgetvalue(res, r, 2), PQgetvalue(res, r, 3),
                                            PQgetvalue(res, r, 4), NULL, key, &why);
        if (frame == NULL) {
            th_log_warn(0, "ignoring row of registry.principals", "id=%s reason=\"%s\"",
                        th_log_quote(id_text, sizeof id_text, PQgetvalue(res, r, 0)),
                        why != NULL ? why : "out of memory");
            continue;
        }
        if (zhashx_insert(set, key, frame) != 0) {
            th_log_warn(0, "ignoring row of registry.principals with a duplicate key",
                        "id=%s",
                        th_log_quote(id_text, sizeof id_text, PQgetvalue(res, r, 0)));
            zframe_destroy(&frame);
        }
    }
    th_log_info(0, "principals loaded from the database", "principals=%zu revoked=%zu",
                zhashx_size(set), zhashx_size(revoked));
    zhashx_destroy(&self->db_set);
    self->db_set = set;
    set = NULL;
    zhashx_destroy(&self->db_revoked);
    self->db_revoked = revoked;
    revoked = NULL;
    self->db_signature = sig;
    self->db_loaded = true;
    changed = true;
cleanup:
    zhashx_destroy(&set);
    zhashx_destroy(&revoked);
    PQclear(res);
    return changed;
}

/* Sends the merged set to the broker's thread. 0, or < 0 when the message
 * could not be built or sent whole: then nothing was sent (a partial set
 * would drop keys), and the caller tries again at its next tick. */
static int
s_send_set(s_poller_t *self, zsock_t *pipe)
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

static void
s_actor(zsock_t *pipe, void *arg)
{
    const principals_t *owner = arg;
    s_poller_t self = {
        .pipe = pipe, .certs_dir = owner->certs_dir, .db_url = owner->db_url};
    self.dir_set = s_frame_set_new();
    self.db_set = s_frame_set_new();
    self.db_revoked = zhashx_new();
    /* Without the signal zactor_new would not return; if it cannot be sent
     * the pipe is broken and the thread has nothing to do. */
    if (zsock_signal(pipe, 0) != 0)
        goto cleanup;
    if (self.dir_set == NULL || self.db_set == NULL || self.db_revoked == NULL)
        goto cleanup;
    s_poll_dir(&self);
    s_poll_db(&self);
    if (self.terminated)
        goto cleanup;
    bool unsent = s_send_set(&self, pipe) != 0;
    int64_t next_dir = zclock_mono() + DIR_POLL_MS;
    int64_t next_db = zclock_mono() + DB_POLL_MS;
    while (!self.terminated) {
        int64_t now = zclock_mono();
        int64_t next = next_dir < next_db ? next_dir : next_db;
        long timeout = next > now ? (long) (next - now) : 0;
        zmq_pollitem_t item = {zsock_resolve(pipe), 0, ZMQ_POLLIN, 0};
        int rc = zmq_poll(&item, 1, timeout);
        if (rc < 0 && errno != EINTR)
            break;
        if (rc > 0 && (item.revents & ZMQ_POLLIN)) {
            s_read_command(&self);
            if (self.terminated)
                break;
        }
        now = zclock_mono();
        bool changed = false;
        if (now >= next_dir) {
            changed |= s_poll_dir(&self);
            next_dir = now + DIR_POLL_MS;
        }
        if (now >= next_db) {
            changed |= s_poll_db(&self);
            next_db = zclock_mono() + DB_POLL_MS;
        }
        if ((changed || unsent) && !self.terminated)
            unsent = s_send_set(&self, pipe) != 0;
    }
cleanup:
    PQfinish(self.conn);
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
