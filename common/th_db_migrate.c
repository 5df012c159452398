/* ---------------------------------------------------------------------------
 * th_db_migrate.c: the migrations runner (th_db_migrate, see th_db.h):
 * numbered forward-only SQL files per service, each in its own
 * transaction, under a session advisory lock, recorded in
 * public.teilhabe_migrations.
 * ---------------------------------------------------------------------------
 */
#include "th_db.h"

#include "th_db_int.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "th_error.h"
#include "th_log.h"
#include "th_status.h"

/* File names carry four digits, so versions are 1..9999. */
#define S_MIGRATION_VERSION_MAX 9999
#define S_MIGRATION_FILE_MAX (16 * 1024 * 1024)
#define S_MIGRATION_NAME_MAX 200
/* How long a starting service waits for another one that is migrating. */
#define S_MIGRATION_LOCK_WAIT_MS (5 * 60 * 1000)
#define S_MIGRATION_LOCK_POLL_MS 100
/* The session advisory lock key: the first 64 bits of md5("teilhabe.migrations"),
 * computed by the server so that every client derives the same key. */
#define S_MIGRATION_LOCK_NAME "teilhabe.migrations"
#define S_MIGRATION_LOCK_KEY "('x' || left(md5($1), 16))::bit(64)::bigint"

typedef struct {
    int version;
    char file[S_MIGRATION_NAME_MAX + 16];
    char name[S_MIGRATION_NAME_MAX + 1];
} s_migration_t;

static void s_errbuf(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
s_errbuf(char *errbuf, size_t errlen, const char *fmt, ...)
{
    if (errbuf == NULL || errlen == 0)
        return;
    va_list args;
    va_start(args, fmt);
    vsnprintf(errbuf, errlen, fmt, args);
    va_end(args);
}

/* --- migrations ---------------------------------------------------------- */

static bool
s_is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* Parses "NNNN_name.sql" (four digits, version >= 1, name of lowercase
 * letters, digits and underscores). */
static bool
s_parse_migration_file(const char *file, s_migration_t *out)
{
    const size_t len = strlen(file);
    if (len < 10 || len - 9 > S_MIGRATION_NAME_MAX)
        return false;
    if (strcmp(file + len - 4, ".sql") != 0 || file[4] != '_')
        return false;
    int version = 0;
    for (int i = 0; i < 4; i++) {
        if (file[i] < '0' || file[i] > '9')
            return false;
        version = version * 10 + (file[i] - '0');
    }
    if (version < 1)
        return false;
    for (size_t i = 5; i < len - 4; i++)
        if (!s_is_name_char(file[i]))
            return false;
    out->version = version;
    snprintf(out->file, sizeof out->file, "%s", file);
    snprintf(out->name, sizeof out->name, "%.*s", (int) (len - 9), file + 5);
    return true;
}

static int
s_compare_migrations(const void *a, const void *b)
{
    const s_migration_t *x = a;
    const s_migration_t *y = b;
    return (x->version > y->version) - (x->version < y->version);
}

/* Lists the migration files of dir, sorted by version. Files not ending in
 * ".sql" and hidden files are ignored; a ".sql" file with another name shape
 * is an error, because a typo would otherwise silently skip a migration. */
static int
s_list_migrations(const char *dir, s_migration_t **files_p, size_t *count_p, char *errbuf,
                  size_t errlen)
{
    int rc = 0;
    s_migration_t *files = NULL;
    size_t count = 0;
    size_t capacity = 0;
    DIR *handle = opendir(dir);
    if (handle == NULL) {
        s_errbuf(errbuf, errlen, "could not open migrations directory \"%s\": %s", dir,
                 strerror(errno));
        return TH_EIO;
    }
    struct dirent *entry;
    while ((entry = readdir(handle)) != NULL) {
        const char *file = entry->d_name;
        const size_t len = strlen(file);
        if (file[0] == '.' || len < 4 || strcmp(file + len - 4, ".sql") != 0)
            continue;
        s_migration_t migration;
        if (!s_parse_migration_file(file, &migration)) {
            s_errbuf(errbuf, errlen,
                     "invalid migration file name \"%s\" in \"%s\": expected NNNN_name.sql "
                     "(four digits from 0001, then lowercase letters, digits, underscores)",
                     file, dir);
            rc = TH_EINVAL;
            goto cleanup;
        }
        if (count == capacity) {
            const size_t grown = capacity == 0 ? 16 : capacity * 2;
            s_migration_t *bigger = realloc(files, grown * sizeof *files);
            if (bigger == NULL) {
                s_errbuf(errbuf, errlen, "out of memory");
                rc = TH_ENOMEM;
                goto cleanup;
            }
            files = bigger;
            capacity = grown;
        }
        files[count++] = migration;
    }
    if (count > 1)
        qsort(files, count, sizeof *files, s_compare_migrations);
    for (size_t i = 1; i < count; i++)
        if (files[i].version == files[i - 1].version) {
            s_errbuf(errbuf, errlen, "duplicate migration version %04d in \"%s\": \"%s\" and \"%s\"",
                     files[i].version, dir, files[i - 1].file, files[i].file);
            rc = TH_EINVAL;
            goto cleanup;
        }
cleanup:
    closedir(handle);
    if (rc != 0) {
        free(files);
        files = NULL;
        count = 0;
    }
    *files_p = files;
    *count_p = count;
    return rc;
}

/* Reads a whole migration file into a NUL-terminated string (caller frees). */
static int
s_read_file(const char *path, char **text_p, char *errbuf, size_t errlen)
{
    int rc = 0;
    char *text = NULL;
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        s_errbuf(errbuf, errlen, "could not open migration file \"%s\": %s", path,
                 strerror(errno));
        return TH_EIO;
    }
    struct stat st;
    if (fstat(fileno(file), &st) != 0 || !S_ISREG(st.st_mode)) {
        s_errbuf(errbuf, errlen, "migration \"%s\" is not a regular file", path);
        rc = TH_EIO;
        goto cleanup;
    }
    if (st.st_size > S_MIGRATION_FILE_MAX) {
        s_errbuf(errbuf, errlen, "migration file \"%s\" is larger than %d bytes", path,
                 S_MIGRATION_FILE_MAX);
        rc = TH_ETOOBIG;
        goto cleanup;
    }
    const size_t size = (size_t) st.st_size;
    text = malloc(size + 1);
    if (text == NULL) {
        s_errbuf(errbuf, errlen, "out of memory");
        rc = TH_ENOMEM;
        goto cleanup;
    }
    if (fread(text, 1, size, file) != size) {
        s_errbuf(errbuf, errlen, "could not read migration file \"%s\"", path);
        rc = TH_EIO;
        goto cleanup;
    }
    text[size] = '\0';
    if (strlen(text) != size) {
        s_errbuf(errbuf, errlen, "migration file \"%s\" contains a NUL byte", path);
        rc = TH_EINVAL;
        goto cleanup;
    }
cleanup:
    fclose(file);
    if (rc != 0) {
        free(text);
        text = NULL;
    }
    *text_p = text;
    return rc;
}

static void
s_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Takes the session-level migrations lock, waiting a bounded time for a
 * concurrent starter to finish. */
static int
s_lock_migrations(th_db_t *self, char *errbuf, size_t errlen)
{
    const char *const params[] = {S_MIGRATION_LOCK_NAME};
    for (long waited = 0;; waited += S_MIGRATION_LOCK_POLL_MS) {
        PGresult *res = th_db_exec(self, "SELECT pg_try_advisory_lock(" S_MIGRATION_LOCK_KEY ")",
                                   1, params);
        if (res == NULL) {
            s_errbuf(errbuf, errlen, "could not take the migrations lock: %s", self->error);
            return TH_EDB;
        }
        const bool locked = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
        PQclear(res);
        if (locked)
            return 0;
        if (waited >= S_MIGRATION_LOCK_WAIT_MS) {
            s_errbuf(errbuf, errlen,
                     "timed out after %d s waiting for the migrations lock held by another "
                     "process",
                     S_MIGRATION_LOCK_WAIT_MS / 1000);
            return TH_ETIMEDOUT;
        }
        s_sleep_ms(S_MIGRATION_LOCK_POLL_MS);
    }
}

/* Releases the lock if the connection that took it still exists (a lost
 * connection released it already). Leaves the recorded error alone. */
static void
s_unlock_migrations(th_db_t *self, int locked_pid)
{
    if (self->conn == NULL || PQstatus(self->conn) != CONNECTION_OK ||
        PQbackendPID(self->conn) != locked_pid)
        return;
    const char *const params[] = {S_MIGRATION_LOCK_NAME};
    PGresult *res = PQexecParams(self->conn,
                                 "SELECT pg_advisory_unlock(" S_MIGRATION_LOCK_KEY ")", 1,
                                 NULL, params, NULL, NULL, 0);
    PQclear(res);
}

/* The session lock belongs to one server process: if we reconnected since
 * taking it, another starter may be migrating too, so stop. */
static int
s_check_lock_held(const th_db_t *self, int locked_pid, char *errbuf, size_t errlen)
{
    if (self->conn != NULL && PQstatus(self->conn) == CONNECTION_OK &&
        PQbackendPID(self->conn) == locked_pid)
        return 0;
    s_errbuf(errbuf, errlen, "lost the database connection that held the migrations lock");
    return TH_EDB;
}

static int
s_apply_migration(th_db_t *self, const char *service, const char *dir,
                  const s_migration_t *migration, int locked_pid, char *errbuf, size_t errlen)
{
    int rc = 0;
    char *sql = NULL;
    PGresult *res = NULL;
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, migration->file) >= (int) sizeof path) {
        s_errbuf(errbuf, errlen, "migration path in \"%s\" is too long", dir);
        return TH_EINVAL;
    }
    rc = s_read_file(path, &sql, errbuf, errlen);
    if (rc != 0)
        goto cleanup;
    rc = th_db_begin(self, 0);
    if (rc != 0) {
        s_errbuf(errbuf, errlen, "could not begin transaction for migration \"%s\": %s", path,
                 self->error);
        goto cleanup;
    }
    rc = s_check_lock_held(self, locked_pid, errbuf, errlen);
    if (rc != 0)
        goto cleanup;
    /* The simple query protocol runs a file of many statements at once; the
     * result is that of the last statement or of the first failure. */
    res = PQexec(self->conn, sql);
    const ExecStatusType status = PQresultStatus(res);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK &&
        status != PGRES_EMPTY_QUERY) {
        th_db__record_failure(self, res);
        th_db__leave_copy(self->conn, status);
        s_errbuf(errbuf, errlen, "could not apply migration \"%s\": %s", path, self->error);
        rc = TH_EDB;
        goto cleanup;
    }
    if (PQtransactionStatus(self->conn) != PQTRANS_INTRANS) {
        s_errbuf(errbuf, errlen,
                 "migration \"%s\" ended its transaction: migration files must not contain "
                 "COMMIT or ROLLBACK",
                 path);
        rc = TH_EINVAL;
        goto cleanup;
    }
    PQclear(res);
    char version[16];
    snprintf(version, sizeof version, "%d", migration->version);
    const char *const params[] = {service, version, migration->name};
    res = th_db_exec(self,
                     "INSERT INTO public.teilhabe_migrations (service, version, name) "
                     "VALUES ($1, $2, $3)",
                     3, params);
    if (res == NULL) {
        s_errbuf(errbuf, errlen, "could not record migration \"%s\": %s", path, self->error);
        rc = TH_EDB;
        goto cleanup;
    }
    rc = th_db_commit(self);
    if (rc != 0) {
        s_errbuf(errbuf, errlen, "could not commit migration \"%s\": %s", path, self->error);
        goto cleanup;
    }
    th_log_info(0, "applied migration", "migrations=%s version=%d name=%s", service,
                migration->version, migration->name);
cleanup:
    PQclear(res);
    th_db__rollback(self);
    free(sql);
    return rc;
}

static bool
s_valid_service(const char *service)
{
    const size_t len = strlen(service);
    if (len == 0 || len > 63)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!s_is_name_char(service[i]))
            return false;
    return true;
}

int
th_db_migrate(th_db_t *self, const char *service, const char *dir, int *applied, char *errbuf,
              size_t errlen)
{
    int rc = 0;
    s_migration_t *files = NULL;
    size_t nfiles = 0;
    bool *recorded = NULL;
    PGresult *res = NULL;
    int locked_pid = 0;
    int count = 0;

    if (applied != NULL)
        *applied = 0;
    s_errbuf(errbuf, errlen, "%s", "");
    if (self == NULL || service == NULL || dir == NULL) {
        s_errbuf(errbuf, errlen, "migrations need a database, a service name and a directory");
        return TH_EINVAL;
    }
    if (!s_valid_service(service)) {
        s_errbuf(errbuf, errlen,
                 "invalid service name \"%s\" for migrations: expected lowercase letters, "
                 "digits and underscores",
                 service);
        return TH_EINVAL;
    }
    if (self->in_tx) {
        s_errbuf(errbuf, errlen, "migrations cannot run inside an open transaction");
        return TH_ESTATE;
    }
    rc = s_list_migrations(dir, &files, &nfiles, errbuf, errlen);
    if (rc != 0)
        goto cleanup;
    recorded = calloc(S_MIGRATION_VERSION_MAX + 1, sizeof *recorded);
    if (recorded == NULL) {
        s_errbuf(errbuf, errlen, "out of memory");
        rc = TH_ENOMEM;
        goto cleanup;
    }

    rc = s_lock_migrations(self, errbuf, errlen);
    if (rc != 0)
        goto cleanup;
    locked_pid = PQbackendPID(self->conn);

    /* Created under the lock: concurrent CREATE TABLE IF NOT EXISTS can
     * still collide on the catalog. */
    res = th_db_exec(self,
                     "CREATE TABLE IF NOT EXISTS public.teilhabe_migrations ("
                     " service text NOT NULL,"
                     " version int NOT NULL,"
                     " name text NOT NULL,"
                     " applied_at timestamptz NOT NULL DEFAULT now(),"
                     " PRIMARY KEY (service, version))",
                     0, NULL);
    if (res == NULL) {
        s_errbuf(errbuf, errlen, "could not create the migrations table: %s", self->error);
        rc = TH_EDB;
        goto cleanup;
    }
    PQclear(res);
    rc = s_check_lock_held(self, locked_pid, errbuf, errlen);
    if (rc != 0)
        goto cleanup;
    const char *const params[] = {service};
    res = th_db_exec(self,
                     "SELECT version FROM public.teilhabe_migrations WHERE service = $1 "
                     "ORDER BY version",
                     1, params);
    if (res == NULL) {
        s_errbuf(errbuf, errlen, "could not read applied migrations of \"%s\": %s", service,
                 self->error);
        rc = TH_EDB;
        goto cleanup;
    }
    long newest_recorded = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        const long version = strtol(PQgetvalue(res, i, 0), NULL, 10);
        if (version > newest_recorded)
            newest_recorded = version;
        if (version >= 1 && version <= S_MIGRATION_VERSION_MAX)
            recorded[version] = true;
    }
    PQclear(res);
    res = NULL;
    const int newest_file = nfiles > 0 ? files[nfiles - 1].version : 0;
    if (newest_recorded > newest_file) {
        s_errbuf(errbuf, errlen,
                 "database schema of service \"%s\" is at version %ld, newer than the newest "
                 "migration %04d in \"%s\": refusing to run against a schema this program does "
                 "not know (upgrade the program)",
                 service, newest_recorded, newest_file, dir);
        rc = TH_ESTATE;
        goto cleanup;
    }
    for (size_t i = 0; i < nfiles; i++) {
        if (recorded[files[i].version])
            continue;
        rc = s_apply_migration(self, service, dir, &files[i], locked_pid, errbuf, errlen);
        if (rc != 0)
            goto cleanup;
        count++;
    }
cleanup:
    PQclear(res);
    if (locked_pid != 0)
        s_unlock_migrations(self, locked_pid);
    free(recorded);
    free(files);
    if (applied != NULL)
        *applied = count;
    return rc;
}
