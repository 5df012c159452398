/* ---------------------------------------------------------------------------
 * principals_db.c: principals from registry.principals, read when
 * PostgreSQL says the table changed
 *
 * The connection LISTENs on registry_principals, which a trigger on the
 * table notifies in every transaction that changes it (the registry's
 * migration 0005), so the broker reads the table once at start, once per
 * change, once after every reconnect and once a minute, and otherwise
 * waits: an idle network costs the database one read a minute. A registry whose table has
 * no such trigger yet, and a table that does not exist yet, are read every DB_POLL_MS as
 * before. A database that hangs (host gone, server stopped, table locked) must not stall
 * the thread or the broker's shutdown that waits for it: the server gives up on a statement
 * after DB_STATEMENT_TIMEOUT, the thread on a connection attempt after DB_CONNECT_MS and on
 * a query after DB_QUERY_MS, and every wait also watches the pipe, so a stop request ends
 * it at once.
 * ---------------------------------------------------------------------------
 */
#include "principals_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "th_error.h"
#include "th_log.h"

#define DB_POLL_MS 2000
/* Read once a minute all the same: a trigger dropped by hand, or a
 * notification lost in a way nobody foresaw, then costs at most a minute
 * of a stale map, not the broker's lifetime. */
#define DB_SAFETY_MS 60000
#define DB_STATEMENT_TIMEOUT "-c statement_timeout=2000"
#define DB_CONNECT_MS 3000
#define DB_QUERY_MS 4000
/* The channel the table's trigger notifies (registry migration 0005). */
#define DB_CHANNEL "registry_principals"

/* Revoked rows are read too: a key revoked in the registry must be refused
 * even when a certificate file for it is still in certs_dir. */
static const char *const s_principals_sql =
    "SELECT id::text, name, role, coalesce(state_scope, ''), "
    "coalesce(district_scope::text, ''), public_key, revoked_at IS NOT NULL "
    "FROM registry.principals ORDER BY public_key";

/* The trigger, by names only: the catalogs are readable by every role. */
static const char *const s_trigger_sql =
    "SELECT EXISTS (SELECT 1 FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'registry' "
    "AND c.relname = 'principals' AND t.tgname = 'principals_changed')";

/* Waits until the database socket is ready for events (ZMQ_POLLIN or
 * ZMQ_POLLOUT), watching the pipe meanwhile. 0 when ready, TH_ETIMEDOUT
 * at deadline, TH_ESTATE when the broker asked the thread to stop, TH_EIO
 * when polling failed. */
static int
s_db_wait(principals_poller_t *self, PGconn *conn, short events, int64_t deadline)
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
            principals__read_command(self);
            if (self->terminated)
                return TH_ESTATE;
        }
        if (items[1].revents != 0)
            return 0;
    }
}

/* Opens self->conn without blocking past DB_CONNECT_MS or a stop request.
 * Keepalives notice a server that vanished without closing the
 * connection, on which no notification would ever come.
 * 0, or < 0 with the reason in errbuf (self->conn is NULL then). */
static int
s_db_connect(principals_poller_t *self, char *errbuf, size_t errlen)
{
    /* Defaults first, the URL last: libpq lets later settings win, so a URL
     * that sets its own options keeps them. */
    const char *const keys[] = {
        "connect_timeout",     "application_name", "options", "keepalives_idle",
        "keepalives_interval", "keepalives_count", "dbname",  NULL};
    const char *const values[] = {
        "3", "teilhabe-broker", DB_STATEMENT_TIMEOUT, "10", "5", "3", self->db_url, NULL};
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
s_db_query(principals_poller_t *self, const char *sql, char *errbuf, size_t errlen)
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

/* Connects, LISTENs and looks for the table's trigger, unless connected.
 * 0, or < 0 with the reason in errbuf (no connection then). */
static int
s_db_ensure(principals_poller_t *self, char *errbuf, size_t errlen)
{
    if (self->conn != NULL && PQstatus(self->conn) == CONNECTION_OK)
        return 0;
    principals__db_close(self);
    int rc = s_db_connect(self, errbuf, errlen);
    if (rc != 0)
        return rc;
    /* LISTEN before the first read: a change committed after it is
     * announced, one before it is in the read. */
    PGresult *res = s_db_query(self, "LISTEN " DB_CHANNEL, errbuf, errlen);
    if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
        if (res != NULL)
            snprintf(errbuf, errlen, "%s", PQresultErrorMessage(res));
        PQclear(res);
        principals__db_close(self);
        return TH_EDB;
    }
    PQclear(res);
    return 0;
}

/* Whether registry.principals has the trigger that announces its changes
 * (a registry without its migration 0005 has none; then the
 * broker reads the table every DB_POLL_MS, as before). False when it could
 * not tell. */
static bool
s_db_trigger(principals_poller_t *self)
{
    char errbuf[256];
    PGresult *res = s_db_query(self, s_trigger_sql, errbuf, sizeof errbuf);
    const bool found = res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK &&
                       PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return found;
}

/* Drops the notifications libpq holds; true when there were any. */
static bool
s_db_take_notifications(PGconn *conn)
{
    bool any = false;
    PGnotify *note;
    while ((note = PQnotifies(conn)) != NULL) {
        any = true;
        PQfreemem(note);
    }
    return any;
}

int
principals__db_socket(const principals_poller_t *self)
{
    return self->conn != NULL ? PQsocket(self->conn) : -1;
}

void
principals__db_close(principals_poller_t *self)
{
    PQfinish(self->conn);
    self->conn = NULL;
    self->db_trigger = false;
}

void
principals__db_input(principals_poller_t *self)
{
    if (self->conn == NULL)
        return;
    if (!PQconsumeInput(self->conn) || PQstatus(self->conn) != CONNECTION_OK) {
        if (!self->db_down_logged && !self->terminated) {
            char error_text[TH_LOG_QUOTE_SIZE * 2];
            char first_line[512];
            const char *message = PQerrorMessage(self->conn);
            snprintf(first_line, sizeof first_line, "%.*s", (int) strcspn(message, "\n"),
                     message);
            th_log_warn(0,
                        "lost the connection to the principal database; keeping the last "
                        "known principals",
                        "error=%s",
                        th_log_quote(error_text, sizeof error_text, first_line));
        }
        self->db_down_logged = true;
        principals__db_close(self);
        self->db_next = zclock_mono(); /* connect again at once, then every DB_POLL_MS */
        return;
    }
    if (s_db_take_notifications(self->conn))
        self->db_next = zclock_mono();
}

/* Reads registry.principals. True when the set changed. On errors the last
 * known set stays in force: a database restart must not lock everyone out.
 * Sets self->db_next: DB_SAFETY_MS from now, or sooner when told (the
 * table announces its changes), or DB_POLL_MS from now (no connection, no
 * table yet, or no trigger). */
bool
principals__poll_db(principals_poller_t *self)
{
    self->db_next = INT64_MAX;
    if (self->db_url == NULL)
        return false;
    self->db_next = zclock_mono() + DB_POLL_MS;
    bool changed = false;
    bool table = false;
    PGresult *res = NULL;
    zhashx_t *set = NULL;
    zhashx_t *revoked = NULL;
    char errbuf[512];
    char error_text[TH_LOG_QUOTE_SIZE * 2];
    if (self->conn == NULL || PQstatus(self->conn) != CONNECTION_OK) {
        if (s_db_ensure(self, errbuf, sizeof errbuf) != 0) {
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
    /* What was announced until now is in this read. */
    s_db_take_notifications(self->conn);
    if (!self->db_trigger)
        self->db_trigger = s_db_trigger(self);
    res = s_db_query(self, s_principals_sql, errbuf, sizeof errbuf);
    if (res == NULL) {
        if (!self->db_down_logged && !self->terminated)
            th_log_warn(0,
                        "could not read registry.principals; keeping the last known "
                        "principals",
                        "error=%s", th_log_quote(error_text, sizeof error_text, errbuf));
        self->db_down_logged = true;
        principals__db_close(self);
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
            if (PQstatus(self->conn) != CONNECTION_OK)
                principals__db_close(self);
            goto cleanup;
        }
    } else {
        table = true;
        self->db_missing_logged = false;
        /* The rows come sorted by key, so the signature changes only when
         * the content does, not when PostgreSQL returns rows in another
         * physical order (every UPDATE moves a row). */
        int rows = PQntuples(res);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < 7; c++) {
                const char *v = PQgetvalue(res, r, c);
                sig = principals__fnv(sig, v, strlen(v) + 1);
            }
        sig = principals__fnv(sig, &rows, sizeof rows);
    }
    if (self->db_down_logged)
        th_log_info(0, "registry.principals readable again", NULL);
    self->db_down_logged = false;
    if (table && self->db_trigger) {
        /* Read again when PostgreSQL says the table changed; at once if it
         * did during this read (the change may have missed it). */
        self->db_next =
            zclock_mono() + (s_db_take_notifications(self->conn) ? 0 : DB_SAFETY_MS);
        self->db_polling_logged = false;
    } else if (table && !self->db_polling_logged) {
        th_log_warn(0,
                    "registry.principals does not announce its changes (the registry's "
                    "migration 0005 is missing); reading it every 2 s",
                    NULL);
        self->db_polling_logged = true;
    }
    if (self->db_loaded && sig == self->db_signature)
        goto cleanup;
    set = principals__frame_set_new();
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
        zframe_t *frame = principals__frame(PQgetvalue(res, r, 0), PQgetvalue(res, r, 1),
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