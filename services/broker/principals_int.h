/* ---------------------------------------------------------------------------
 * principals_int.h: what the three files of the principal map share (not
 * for the rest of the broker, which sees principals.h):
 *   principals.c       the map on the broker's side, the thread that feeds
 *                      it, and the checks of a principal's fields;
 *   principals_dir.c   the public certificate files in certs_dir;
 *   principals_db.c    registry.principals, read when PostgreSQL says it
 *                      changed (LISTEN registry_principals).
 * Everything in the thread's state belongs to that thread.
 * ---------------------------------------------------------------------------
 */
#ifndef TH_PRINCIPALS_INT_H
#define TH_PRINCIPALS_INT_H

#include <czmq.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "principals.h"

/* The state of the thread that reads both sources. */
typedef struct {
    zsock_t *pipe;
    bool terminated; /* the broker asked the thread to stop */
    const char *certs_dir;
    const char *db_url;
    /* certificate files (principals_dir.c) */
    zhashx_t *dir_set; /* key -> packed principal frame */
    uint64_t dir_signature;
    bool dir_loaded;
    int dir_problem; /* logged once per episode */
    /* registry.principals (principals_db.c) */
    zhashx_t *db_set;
    zhashx_t *db_revoked; /* keys revoked in registry.principals (set) */
    PGconn *conn;
    bool db_trigger; /* the table announces its changes (migration 0005) */
    int64_t db_next; /* when to read the table next (sooner when told; INT64_MAX: never, no
                        db_url) */
    uint64_t db_signature;
    bool db_loaded;
    bool db_down_logged;
    bool db_missing_logged;
    bool db_polling_logged;
} principals_poller_t;

/* A packed Principal from the given fields (districts: a comma list or
 * PostgreSQL's "{a,b}"; services: a worker key's comma list, NULL or "" =
 * none). NULL with a reason in why when a field is invalid. */
zframe_t *principals__frame(const char *id, const char *name, const char *role,
                            const char *state, const char *districts, const char *services,
                            const char *key, const char **why);

/* A set of packed principal frames by key (frees its frames). */
zhashx_t *principals__frame_set_new(void);

/* FNV-1a over data, continuing from hash. */
uint64_t principals__fnv(uint64_t hash, const void *data, size_t len);

/* Takes one command from the pipe ($TERM, or a gone pipe: terminated). */
void principals__read_command(principals_poller_t *self);

/* Reloads the certificate files when the directory changed. True when the
 * set changed. */
bool principals__poll_dir(principals_poller_t *self);

/* Reads registry.principals (connecting and LISTENing first when needed)
 * and sets self->db_next, when to read it again unless told sooner. True
 * when the set changed. */
bool principals__poll_db(principals_poller_t *self);

/* The database socket to wait on for notifications, or -1. */
int principals__db_socket(const principals_poller_t *self);

/* The socket is readable: takes what came (notifications, or the news that
 * the connection is gone) and sets self->db_next to now when the table must
 * be read. */
void principals__db_input(principals_poller_t *self);

/* Closes the database connection. */
void principals__db_close(principals_poller_t *self);

#endif /* TH_PRINCIPALS_INT_H */
