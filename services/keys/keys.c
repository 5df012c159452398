/* ---------------------------------------------------------------------------
 * keys.c: the key store behind teilhabe-keys
 *
 * Certificates are CZMQ zcert files. Secrets are written to a temporary file
 * with mode 0600 and renamed into place, so a crash never leaves a half
 * written key and a secret is never readable by others, not even briefly.
 * The public half goes into public/ last: once the broker can see a key,
 * its secret exists too.
 * ---------------------------------------------------------------------------
 */
#include "keys.h"

#include "th_check.h"
#include "th_error.h"
#include "th_wire.h"

#include <czmq.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Writes a message into errbuf (which may be NULL) and returns err. */
static int
s_fail(char *errbuf, size_t errlen, int err, const char *format, ...)
{
    if (errbuf != NULL && errlen > 0) {
        va_list args;
        va_start(args, format);
        vsnprintf(errbuf, errlen, format, args);
        va_end(args);
    }
    return err;
}

/* Joins dir and name into out; TH_ETOOBIG when the path does not fit. */
static int
s_path(char *out, size_t size, const char *dir, const char *name)
{
    const int n = snprintf(out, size, "%s/%s", dir, name);
    if (n < 0 || (size_t) n >= size)
        return TH_ETOOBIG;
    return 0;
}

static bool
s_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Creates a directory with mode unless it exists as a directory. */
static int
s_mkdir(const char *path, mode_t mode, char *errbuf, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            return s_fail(errbuf, errlen, TH_EINVAL, "\"%s\" exists but is not a directory",
                          path);
        return 0;
    }
    if (mkdir(path, mode) != 0 && errno != EEXIST)
        return s_fail(errbuf, errlen, TH_EIO, "could not create directory \"%s\": %s", path,
                      strerror(errno));
    /* mkdir honours the umask; a private directory must be private anyway. */
    if (chmod(path, mode) != 0)
        return s_fail(errbuf, errlen, TH_EIO, "could not set permissions of \"%s\": %s",
                      path, strerror(errno));
    return 0;
}

int
keys_check_name(const char *name, const char *what, char *errbuf, size_t errlen)
{
    if (name == NULL || name[0] == '\0')
        return s_fail(errbuf, errlen, TH_EINVAL, "%s must not be empty", what);
    const size_t len = strlen(name);
    if (len > KEYS_NAME_MAX)
        return s_fail(errbuf, errlen, TH_EINVAL, "%s is longer than %d characters", what,
                      KEYS_NAME_MAX);
    /* Names become file names and certificate metadata: a small alphabet
     * keeps both safe (no "..", no slashes, no quotes, no spaces). */
    const bool first_ok = (name[0] >= 'a' && name[0] <= 'z') ||
                          (name[0] >= 'A' && name[0] <= 'Z') ||
                          (name[0] >= '0' && name[0] <= '9');
    if (!first_ok)
        return s_fail(errbuf, errlen, TH_EINVAL,
                      "%s \"%s\" must start with a letter or a digit", what, name);
    for (size_t i = 0; i < len; i++) {
        const char c = name[i];
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
                        c == '@';
        if (!ok)
            return s_fail(errbuf, errlen, TH_EINVAL,
                          "%s \"%s\" may contain only letters, digits, \".\", \"_\", \"-\" "
                          "and \"@\"",
                          what, name);
    }
    return 0;
}

int
keys_check_role(const char *role, char *errbuf, size_t errlen)
{
    if (role == NULL || role[0] == '\0')
        return s_fail(errbuf, errlen, TH_EINVAL,
                      "role is missing (one of admin, ministry, manager, analyst, service, "
                      "worker)");
    /* The user roles, and "worker" for the keys of services. */
    if (th_check_role(role) || strcmp(role, "worker") == 0)
        return 0;
    return s_fail(errbuf, errlen, TH_EINVAL,
                  "unknown role \"%s\" (one of admin, ministry, manager, analyst, service, "
                  "worker)",
                  role);
}

int
keys_check_state(const char *state, char *errbuf, size_t errlen)
{
    if (state == NULL || state[0] == '\0')
        return 0;
    if (!th_check_digits(state, 2))
        return s_fail(errbuf, errlen, TH_EINVAL,
                      "state \"%s\" is not a 2-digit Land code (01 to 16)", state);
    if (!th_check_land(state))
        return s_fail(errbuf, errlen, TH_EINVAL,
                      "state \"%s\" is not a Land code (01 Schleswig-Holstein to 16 "
                      "Thüringen)",
                      state);
    return 0;
}

int
keys_check_ags(const char *ags, const char *state, char *errbuf, size_t errlen)
{
    if (!th_check_ags(ags))
        return s_fail(errbuf, errlen, TH_EINVAL,
                      "district \"%s\" is not a 5-digit AGS (Kreisschlüssel)",
                      ags != NULL ? ags : "");
    /* The first two digits of an AGS are its Land. */
    if (state != NULL && state[0] != '\0' && strncmp(ags, state, 2) != 0)
        return s_fail(errbuf, errlen, TH_EINVAL, "district %s does not lie in state %s",
                      ags, state);
    char land[3] = {ags[0], ags[1], '\0'};
    if (keys_check_state(land, NULL, 0) != 0)
        return s_fail(errbuf, errlen, TH_EINVAL,
                      "district %s does not belong to any Land (prefix %s)", ags, land);
    return 0;
}

/* True when name (len bytes, not terminated) is a full service name, the
 * broker's way. */
static bool
s_service_name_valid(const char *name, size_t len)
{
    char copy[TH_WIRE_METHOD_MAX + 1];
    if (len == 0 || len >= sizeof copy)
        return false;
    memcpy(copy, name, len);
    copy[len] = '\0';
    return th_wire_service_name_valid(copy);
}

int
keys_check_services(const char *services, char *errbuf, size_t errlen)
{
    if (services == NULL || services[0] == '\0')
        return s_fail(
            errbuf, errlen, TH_EINVAL,
            "a worker key needs the services it may serve (--services NAME[,NAME])");
    size_t count = 0;
    const char *p = services;
    while (true) {
        const char *comma = strchr(p, ',');
        const size_t len = comma != NULL ? (size_t) (comma - p) : strlen(p);
        if (!s_service_name_valid(p, len))
            return s_fail(errbuf, errlen, TH_EINVAL,
                          "service \"%.*s\" is not a full service name such as "
                          "teilhabe.registry.v1.Registry",
                          (int) (len < 80 ? len : 80), p);
        if (++count > KEYS_SERVICES_MAX)
            return s_fail(errbuf, errlen, TH_EINVAL, "more than %d services",
                          KEYS_SERVICES_MAX);
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    return 0;
}

int
keys_check_principal(const keys_principal_t *principal, char *errbuf, size_t errlen)
{
    int rc = keys_check_name(principal->name, "name", errbuf, errlen);
    if (rc == 0 && principal->id != NULL && principal->id[0] != '\0')
        rc = keys_check_name(principal->id, "id", errbuf, errlen);
    if (rc == 0)
        rc = keys_check_role(principal->role, errbuf, errlen);
    if (rc == 0)
        rc = keys_check_state(principal->state, errbuf, errlen);
    if (rc != 0)
        return rc;
    const bool has_state = principal->state != NULL && principal->state[0] != '\0';
    if (strcmp(principal->role, "ministry") == 0 && !has_state)
        return s_fail(errbuf, errlen, TH_EINVAL,
                      "a ministry principal needs its Land (--state CC)");
    /* A worker key serves only the services it names (none named: none). */
    if (strcmp(principal->role, "worker") == 0) {
        rc = keys_check_services(principal->services, errbuf, errlen);
        if (rc != 0)
            return rc;
    } else if (principal->services != NULL && principal->services[0] != '\0') {
        return s_fail(errbuf, errlen, TH_EINVAL,
                      "only a worker key serves services (--services needs --role worker)");
    }

    const char *list = principal->districts;
    if (list == NULL || list[0] == '\0')
        return 0;
    size_t count = 0;
    const char *p = list;
    while (true) {
        const char *comma = strchr(p, ',');
        const size_t len = comma != NULL ? (size_t) (comma - p) : strlen(p);
        char ags[16];
        if (len >= sizeof ags)
            return s_fail(
                errbuf, errlen, TH_EINVAL,
                "district list \"%.40s\" holds an entry that is not a 5-digit AGS", list);
        memcpy(ags, p, len);
        ags[len] = '\0';
        rc = keys_check_ags(ags, principal->state, errbuf, errlen);
        if (rc != 0)
            return rc;
        if (++count > KEYS_DISTRICTS_MAX)
            return s_fail(errbuf, errlen, TH_EINVAL, "more than %d districts",
                          KEYS_DISTRICTS_MAX);
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    return 0;
}

/* Saves cert's secret to secret_path (mode 0600) and, when public_path is not
 * NULL, its public half to public_path (0644). Each file is written under a
 * temporary name in tmp_dir and renamed, so readers see whole files only. */
static int
s_save(zcert_t *cert, const char *tmp_dir, const char *public_path, const char *secret_path,
       char *errbuf, size_t errlen)
{
    char tmp[PATH_MAX];
    int rc = s_path(tmp, sizeof tmp, tmp_dir, ".keys-new.tmp");
    if (rc != 0)
        return s_fail(errbuf, errlen, rc, "path \"%s\" is too long", tmp_dir);

    if (secret_path != NULL) {
        unlink(tmp);
        if (zcert_save_secret(cert, tmp) != 0) {
            rc = s_fail(errbuf, errlen, TH_EIO, "could not write secret key \"%s\"", tmp);
            goto cleanup;
        }
        if (chmod(tmp, 0600) != 0 || rename(tmp, secret_path) != 0) {
            rc = s_fail(errbuf, errlen, TH_EIO, "could not write secret key \"%s\": %s",
                        secret_path, strerror(errno));
            goto cleanup;
        }
    }
    if (public_path != NULL) {
        unlink(tmp);
        if (zcert_save_public(cert, tmp) != 0) {
            rc = s_fail(errbuf, errlen, TH_EIO, "could not write certificate \"%s\"", tmp);
            goto cleanup;
        }
        if (chmod(tmp, 0644) != 0 || rename(tmp, public_path) != 0) {
            rc = s_fail(errbuf, errlen, TH_EIO, "could not write certificate \"%s\": %s",
                        public_path, strerror(errno));
            goto cleanup;
        }
    }
    rc = 0;
cleanup:
    unlink(tmp);
    return rc;
}

int
keys_init(const char *dir, bool *created, char *errbuf, size_t errlen)
{
    char public_dir[PATH_MAX], private_dir[PATH_MAX];
    char public_path[PATH_MAX], secret_path[PATH_MAX];
    zcert_t *cert = NULL;
    int rc = 0;

    if (created != NULL)
        *created = false;
    if (dir == NULL || dir[0] == '\0')
        return s_fail(errbuf, errlen, TH_EINVAL, "key directory must not be empty");
    if (s_path(public_dir, sizeof public_dir, dir, "public") != 0 ||
        s_path(private_dir, sizeof private_dir, dir, "private") != 0 ||
        s_path(public_path, sizeof public_path, dir, "broker.cert") != 0 ||
        s_path(secret_path, sizeof secret_path, dir, "broker.cert_secret") != 0)
        return s_fail(errbuf, errlen, TH_ETOOBIG, "key directory \"%s\" is too long", dir);

    rc = s_mkdir(dir, 0700, errbuf, errlen);
    if (rc == 0)
        rc = s_mkdir(public_dir, 0755, errbuf, errlen);
    if (rc == 0)
        rc = s_mkdir(private_dir, 0700, errbuf, errlen);
    if (rc != 0)
        return rc;

    const bool has_public = s_exists(public_path);
    const bool has_secret = s_exists(secret_path);
    if (has_secret && has_public)
        return 0;
    if (has_secret) {
        /* The public half can always be derived again from the secret. */
        cert = zcert_load(secret_path);
        if (cert == NULL) {
            rc = s_fail(errbuf, errlen, TH_EINVAL,
                        "could not read broker secret key \"%s\": not a certificate file",
                        secret_path);
            goto cleanup;
        }
        rc = s_save(cert, dir, public_path, NULL, errbuf, errlen);
        goto cleanup;
    }
    if (has_public) {
        /* Making a new pair here would silently lock out every client that
         * trusts the old public key; the operator has to decide. */
        rc = s_fail(
            errbuf, errlen, TH_ESTATE,
            "broker certificate \"%s\" exists without its secret key \"%s\"; restore "
            "the secret or remove the certificate to make a new key",
            public_path, secret_path);
        goto cleanup;
    }
    cert = zcert_new();
    if (cert == NULL) {
        rc = s_fail(errbuf, errlen, TH_ENOMEM, "could not generate a key pair");
        goto cleanup;
    }
    zcert_set_meta(cert, "name", "%s", "broker");
    zcert_set_meta(cert, "role", "%s", "broker");
    rc = s_save(cert, dir, public_path, secret_path, errbuf, errlen);
    if (rc == 0 && created != NULL)
        *created = true;
cleanup:
    zcert_destroy(&cert);
    return rc;
}

int
keys_client(const char *dir, const keys_principal_t *principal, bool force, char *errbuf,
            size_t errlen)
{
    char public_path[PATH_MAX], secret_path[PATH_MAX], name[KEYS_NAME_MAX + 32];
    zcert_t *cert = NULL;
    int rc = keys_check_principal(principal, errbuf, errlen);
    if (rc != 0)
        return rc;

    snprintf(name, sizeof name, "public/%s.cert", principal->name);
    if (s_path(public_path, sizeof public_path, dir, name) != 0)
        return s_fail(errbuf, errlen, TH_ETOOBIG, "key directory \"%s\" is too long", dir);
    snprintf(name, sizeof name, "private/%s.cert_secret", principal->name);
    if (s_path(secret_path, sizeof secret_path, dir, name) != 0)
        return s_fail(errbuf, errlen, TH_ETOOBIG, "key directory \"%s\" is too long", dir);

    char probe[PATH_MAX];
    if (s_path(probe, sizeof probe, dir, "broker.cert_secret") != 0 || !s_exists(probe))
        return s_fail(
            errbuf, errlen, TH_ESTATE,
            "key directory \"%s\" has no broker key; run \"teilhabe-keys init %s\" "
            "first",
            dir, dir);
    if (!force && (s_exists(public_path) || s_exists(secret_path)))
        return s_fail(
            errbuf, errlen, TH_ESTATE,
            "principal \"%s\" already exists in \"%s\"; use --force to replace its "
            "key",
            principal->name, dir);

    cert = zcert_new();
    if (cert == NULL)
        return s_fail(errbuf, errlen, TH_ENOMEM, "could not generate a key pair");
    const char *id =
        principal->id != NULL && principal->id[0] != '\0' ? principal->id : principal->name;
    zcert_set_meta(cert, "id", "%s", id);
    zcert_set_meta(cert, "name", "%s", principal->name);
    zcert_set_meta(cert, "role", "%s", principal->role);
    zcert_set_meta(cert, "state", "%s", principal->state != NULL ? principal->state : "");
    zcert_set_meta(cert, "districts", "%s",
                   principal->districts != NULL ? principal->districts : "");
    if (strcmp(principal->role, "worker") == 0)
        zcert_set_meta(cert, "services", "%s", principal->services);
    rc = s_save(cert, dir, public_path, secret_path, errbuf, errlen);
    zcert_destroy(&cert);
    return rc;
}

int
keys_show(const char *path, FILE *out, char *errbuf, size_t errlen)
{
    struct stat st;
    if (path == NULL || path[0] == '\0')
        return s_fail(errbuf, errlen, TH_EINVAL, "certificate file name must not be empty");
    if (stat(path, &st) != 0)
        return s_fail(errbuf, errlen, TH_ENOTFOUND,
                      "could not open certificate file \"%s\": %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return s_fail(errbuf, errlen, TH_EINVAL, "\"%s\" is not a regular file", path);
    if (st.st_size > KEYS_CERT_FILE_MAX)
        return s_fail(errbuf, errlen, TH_ETOOBIG,
                      "certificate file \"%s\" is larger than %d bytes", path,
                      KEYS_CERT_FILE_MAX);
    /* zcert_load would quietly prefer "<path>_secret" when it exists; read
     * exactly the file named, so "secret_key" tells the truth about it. */
    zconfig_t *root = zconfig_load(path);
    if (root == NULL)
        return s_fail(errbuf, errlen, TH_EINVAL,
                      "could not read certificate file \"%s\": not a certificate file",
                      path);
    int rc = 0;
    const char *public_txt = zconfig_get(root, "/curve/public-key", NULL);
    const char *secret_txt = zconfig_get(root, "/curve/secret-key", NULL);
    if (!th_check_z85_key(public_txt)) {
        rc = s_fail(errbuf, errlen, TH_EINVAL,
                    "could not read certificate file \"%s\": no valid CURVE public key",
                    path);
        goto cleanup;
    }
    fprintf(out, "file = %s\n", path);
    fprintf(out, "public_key = %s\n", public_txt);
    fprintf(out, "secret_key = %s\n",
            secret_txt != NULL && secret_txt[0] != '\0' ? "present (not shown)" : "absent");

    /* The principal's keys first, in a fixed order; any others after them. */
    static const char *const known[] = {"id",    "name",      "role",
                                        "state", "districts", "services"};
    const size_t known_count = sizeof known / sizeof known[0];
    zconfig_t *metadata = zconfig_locate(root, "metadata");
    for (size_t i = 0; metadata != NULL && i < known_count; i++) {
        const zconfig_t *item = zconfig_locate(metadata, known[i]);
        if (item != NULL)
            fprintf(out, "%s = %s\n", known[i], zconfig_value((zconfig_t *) item));
    }
    for (zconfig_t *item = metadata != NULL ? zconfig_child(metadata) : NULL; item != NULL;
         item = zconfig_next(item)) {
        const char *name = zconfig_name(item);
        bool is_known = false;
        for (size_t i = 0; i < known_count; i++)
            is_known = is_known || (name != NULL && strcmp(name, known[i]) == 0);
        if (!is_known && name != NULL)
            fprintf(out, "%s = %s\n", name, zconfig_value(item) ? zconfig_value(item) : "");
    }
cleanup:
    zconfig_destroy(&root);
    return rc;
}

/* Writes "key = value", quoting the value when the config parser would
 * otherwise trim or cut it. */
static void
s_write_setting(FILE *file, const char *key, const char *value)
{
    const bool quote = strpbrk(value, " \t#") != NULL;
    fprintf(file, quote ? "%s = \"%s\"\n" : "%s = %s\n", key, value);
}

int
keys_config(const char *dir, const char *name, const char *endpoint, const char *out_path,
            char *errbuf, size_t errlen)
{
    char abs_dir[PATH_MAX], broker_public[PATH_MAX], secret[PATH_MAX], tmp[PATH_MAX];
    char rel[KEYS_NAME_MAX + 32];
    FILE *file = NULL;
    int rc = keys_check_name(name, "name", errbuf, errlen);
    if (rc != 0)
        return rc;
    if (endpoint == NULL || endpoint[0] == '\0')
        return s_fail(errbuf, errlen, TH_EINVAL,
                      "endpoint must not be empty (--endpoint E)");
    if (strpbrk(endpoint, "\"\n\r \t") != NULL)
        return s_fail(errbuf, errlen, TH_EINVAL,
                      "endpoint \"%s\" must not contain spaces or quotes", endpoint);
    if (out_path == NULL || out_path[0] == '\0')
        return s_fail(errbuf, errlen, TH_EINVAL,
                      "output file must not be empty (--out FILE)");
    if (realpath(dir, abs_dir) == NULL)
        return s_fail(errbuf, errlen, TH_ENOTFOUND,
                      "could not open key directory \"%s\": %s", dir, strerror(errno));
    if (strpbrk(abs_dir, "\"\n\r") != NULL)
        return s_fail(errbuf, errlen, TH_EINVAL,
                      "key directory \"%s\" contains a quote or a line break", abs_dir);

    snprintf(rel, sizeof rel, "private/%s.cert_secret", name);
    if (s_path(broker_public, sizeof broker_public, abs_dir, "broker.cert") != 0 ||
        s_path(secret, sizeof secret, abs_dir, rel) != 0 ||
        snprintf(tmp, sizeof tmp, "%s.tmp", out_path) >= (int) sizeof tmp)
        return s_fail(errbuf, errlen, TH_ETOOBIG, "path \"%s\" is too long", abs_dir);
    if (!s_exists(broker_public))
        return s_fail(errbuf, errlen, TH_ENOTFOUND,
                      "key directory \"%s\" has no broker certificate; run \"teilhabe-keys "
                      "init\" first",
                      abs_dir);
    if (!s_exists(secret))
        return s_fail(errbuf, errlen, TH_ENOTFOUND,
                      "principal \"%s\" has no secret key \"%s\"; create it with "
                      "\"teilhabe-keys client\" first",
                      name, secret);

    file = fopen(tmp, "w");
    if (file == NULL)
        return s_fail(errbuf, errlen, TH_EIO, "could not create file \"%s\": %s", tmp,
                      strerror(errno));
    fprintf(file,
            "# teilhabe CLI configuration for principal \"%s\" (written by "
            "teilhabe-keys config).\n",
            name);
    fprintf(file, "# Use it with: export TEILHABE_CONFIG=<this file>\n");
    s_write_setting(file, "endpoint", endpoint);
    s_write_setting(file, "broker_cert_public", broker_public);
    s_write_setting(file, "cert", secret);
    const bool write_failed = ferror(file) != 0;
    if (fclose(file) != 0 || write_failed) {
        rc = s_fail(errbuf, errlen, TH_EIO, "could not write file \"%s\"", tmp);
        goto cleanup;
    }
    if (rename(tmp, out_path) != 0) {
        rc = s_fail(errbuf, errlen, TH_EIO, "could not write file \"%s\": %s", out_path,
                    strerror(errno));
        goto cleanup;
    }
    return 0;
cleanup:
    unlink(tmp);
    return rc;
}
