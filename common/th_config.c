/* ---------------------------------------------------------------------------
 * th_config.c: layered key=value configuration
 * ---------------------------------------------------------------------------
 */
#include "th_config.h"

#include "th_error.h"

#include <czmq.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

extern char **environ;

struct th_config_t {
    zhash_t *values; /* key -> malloc'ed value string */
};

th_config_t *
th_config_new(void)
{
    th_config_t *self = calloc(1, sizeof *self);
    if (self == NULL)
        return NULL;
    self->values = zhash_new();
    if (self->values == NULL) {
        free(self);
        return NULL;
    }
    zhash_autofree(self->values);
    return self;
}

void
th_config_destroy(th_config_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    zhash_destroy(&(*self_p)->values);
    free(*self_p);
    *self_p = NULL;
}

static bool
s_valid_key(const char *key)
{
    if (key == NULL || *key == '\0' || strlen(key) > 64)
        return false;
    for (const char *p = key; *p; p++)
        if (!(islower((unsigned char) *p) || isdigit((unsigned char) *p) || *p == '_'))
            return false;
    return true;
}

int
th_config_set(th_config_t *self, const char *key, const char *value)
{
    if (!s_valid_key(key) || value == NULL)
        return TH_EINVAL;
    /* zhash_update with autofree duplicates the string */
    zhash_update(self->values, key, (void *) value);
    return zhash_lookup(self->values, key) != NULL ? 0 : TH_ENOMEM;
}

int
th_config_set_default(th_config_t *self, const char *key, const char *value)
{
    if (zhash_lookup(self->values, key) != NULL)
        return 0;
    return th_config_set(self, key, value);
}

static char *
s_trim(char *s)
{
    while (isspace((unsigned char) *s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char) end[-1]))
        *--end = '\0';
    return s;
}

int
th_config_load_file(th_config_t *self, const char *path, char *errbuf, size_t errlen)
{
    FILE *file = fopen(path, "r");
    if (file == NULL) {
        int saved = errno;
        if (errbuf != NULL)
            snprintf(errbuf, errlen, "could not open config file \"%s\": %s", path,
                     strerror(saved));
        return saved == ENOENT ? TH_ENOTFOUND : TH_EIO;
    }
    int rc = 0;
    char line[4096];
    int lineno = 0;
    while (fgets(line, sizeof line, file) != NULL) {
        lineno++;
        if (strchr(line, '\n') == NULL && !feof(file)) {
            /* Its rest would be read as a line of its own */
            if (errbuf != NULL)
                snprintf(errbuf, errlen, "config file \"%s\" line %d is longer than %zu bytes",
                         path, lineno, sizeof line - 2);
            rc = TH_EINVAL;
            break;
        }
        char *text = s_trim(line);
        if (*text == '\0' || *text == '#')
            continue;
        char *eq = strchr(text, '=');
        if (eq == NULL) {
            if (errbuf != NULL)
                snprintf(errbuf, errlen, "config file \"%s\" line %d has no '='", path,
                         lineno);
            rc = TH_EINVAL;
            break;
        }
        *eq = '\0';
        char *key = s_trim(text);
        char *value = s_trim(eq + 1);
        size_t vlen = strlen(value);
        if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') {
            value[vlen - 1] = '\0';
            value++;
        }
        if (th_config_set(self, key, value) != 0) {
            if (errbuf != NULL)
                snprintf(errbuf, errlen,
                         "config file \"%s\" line %d: key \"%s\" is not of the form "
                         "lowercase_words",
                         path, lineno, key);
            rc = TH_EINVAL;
            break;
        }
    }
    fclose(file);
    return rc;
}

int
th_config_load_env(th_config_t *self)
{
    static const char prefix[] = "TEILHABE_";
    for (char **env = environ; env != NULL && *env != NULL; env++) {
        if (strncmp(*env, prefix, sizeof prefix - 1) != 0)
            continue;
        const char *name = *env + sizeof prefix - 1;
        const char *eq = strchr(name, '=');
        if (eq == NULL || eq == name || (size_t) (eq - name) > 64)
            continue;
        char key[65];
        size_t len = (size_t) (eq - name);
        for (size_t i = 0; i < len; i++)
            key[i] = (char) tolower((unsigned char) name[i]);
        key[len] = '\0';
        if (strcmp(key, "config") == 0)
            continue; /* TEILHABE_CONFIG names the file, it is no setting */
        th_config_set(self, key, eq + 1); /* ignore keys of other shapes */
    }
    return 0;
}

static bool
s_in_list(const char *const *list, const char *key)
{
    for (; list != NULL && *list != NULL; list++)
        if (strcmp(*list, key) == 0)
            return true;
    return false;
}

int
th_config_load_args(th_config_t *self, int argc, char *const argv[],
                    const char *const *bool_flags, int *first_arg, char *errbuf,
                    size_t errlen)
{
    int i = 1;
    for (; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--") == 0) {
            i++;
            break;
        }
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
            break;
        char key[65];
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq != NULL ? (size_t) (eq - name) : strlen(name);
        if (len >= sizeof key) {
            if (errbuf != NULL)
                snprintf(errbuf, errlen, "unknown flag \"%s\"", arg);
            return TH_EINVAL;
        }
        for (size_t k = 0; k < len; k++)
            key[k] = name[k] == '-' ? '_' : name[k];
        key[len] = '\0';
        const char *value;
        if (eq != NULL)
            value = eq + 1;
        else if (s_in_list(bool_flags, key))
            value = "true";
        else if (i + 1 < argc)
            value = argv[++i];
        else {
            if (errbuf != NULL)
                snprintf(errbuf, errlen, "flag \"%s\" needs a value", arg);
            return TH_EINVAL;
        }
        if (th_config_set(self, key, value) != 0) {
            if (errbuf != NULL)
                snprintf(errbuf, errlen, "flag \"%s\" is not of the form --lowercase-words",
                         arg);
            return TH_EINVAL;
        }
    }
    if (first_arg != NULL)
        *first_arg = i;
    return 0;
}

int
th_config_merge(th_config_t *self, const th_config_t *src)
{
    zlist_t *keys = zhash_keys(src->values);
    if (keys == NULL)
        return TH_ENOMEM;
    int rc = 0;
    for (const char *key = zlist_first(keys); key != NULL; key = zlist_next(keys)) {
        rc = th_config_set(self, key, zhash_lookup(src->values, key));
        if (rc != 0)
            break;
    }
    zlist_destroy(&keys);
    return rc;
}

int
th_config_load_layers(th_config_t *self, const th_config_t *flags, char *errbuf,
                      size_t errlen)
{
    const char *file = th_config_get(flags, "config", getenv("TEILHABE_CONFIG"));
    if (file != NULL && file[0] != '\0') {
        int rc = th_config_load_file(self, file, errbuf, errlen);
        if (rc != 0)
            return rc;
    }
    th_config_load_env(self);
    return th_config_merge(self, flags);
}

const char *
th_config_get(const th_config_t *self, const char *key, const char *fallback)
{
    const char *value = zhash_lookup(self->values, key);
    return value != NULL ? value : fallback;
}

int
th_config_get_long(const th_config_t *self, const char *key, long fallback, long min,
                   long max, long *out)
{
    const char *value = zhash_lookup(self->values, key);
    if (value == NULL) {
        *out = fallback;
        return 0;
    }
    errno = 0;
    char *end = NULL;
    long n = strtol(value, &end, 10);
    if (errno != 0 || end == value || *end != '\0' || n < min || n > max)
        return TH_EINVAL;
    *out = n;
    return 0;
}

int
th_config_get_bool(const th_config_t *self, const char *key, bool fallback, bool *out)
{
    const char *value = zhash_lookup(self->values, key);
    if (value == NULL) {
        *out = fallback;
        return 0;
    }
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(value, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(value, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return TH_EINVAL;
}
