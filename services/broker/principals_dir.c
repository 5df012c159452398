/* ---------------------------------------------------------------------------
 * principals_dir.c: principals from the public certificate files in
 * certs_dir (metadata id, name, role, state, districts, and services for a
 * worker key), read again when the directory's listing changes
 * ---------------------------------------------------------------------------
 */
#include "principals_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "th_error.h"
#include "th_log.h"

/* Certificates are a few hundred bytes; a larger file is not one. */
#define CERT_FILE_MAX 65536

enum {
    DIR_OK,
    DIR_GONE,
    DIR_UNREADABLE
};

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
        h = principals__fnv(h, entry->d_name, strlen(entry->d_name));
        h = principals__fnv(h, &st.st_size, sizeof st.st_size);
        h = principals__fnv(h, &st.st_mtim, sizeof st.st_mtim);
        h = principals__fnv(h, &st.st_ino, sizeof st.st_ino);
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
    zframe_t *frame = principals__frame(
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
s_dir_problem(principals_poller_t *self, int problem, int err)
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
bool
principals__poll_dir(principals_poller_t *self)
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
    zhashx_t *set = principals__frame_set_new();
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
