/* ---------------------------------------------------------------------------
 * th_check.c: checks of the values teilhabe exchanges
 * ---------------------------------------------------------------------------
 */
#include "th_check.h"

#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "th_error.h"

bool
th_check_digits(const char *s, size_t n)
{
    if (s == NULL || strlen(s) != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
    }
    return true;
}

bool
th_check_ags(const char *s)
{
    return th_check_digits(s, 5);
}

bool
th_check_land(const char *s)
{
    return th_check_digits(s, 2) && strcmp(s, "01") >= 0 && strcmp(s, "16") <= 0;
}

bool
th_check_municipality(const char *s)
{
    return th_check_digits(s, 8);
}

bool
th_check_count(const char *s, size_t max_digits, int64_t *out)
{
    const size_t len = s != NULL ? strlen(s) : 0;
    if (len == 0 || len > max_digits || max_digits > 18 || !th_check_digits(s, len))
        return false;
    *out = strtoll(s, NULL, 10);
    return true;
}

bool
th_check_z85_key(const char *s)
{
    uint8_t decoded[32];
    return s != NULL && strlen(s) == 40 && zmq_z85_decode(decoded, s) != NULL;
}

const char *const th_check_roles[] = {"admin", "ministry", "manager", "analyst", "service",
                                      NULL};

bool
th_check_role(const char *role)
{
    if (role == NULL)
        return false;
    for (size_t i = 0; th_check_roles[i] != NULL; i++) {
        if (strcmp(role, th_check_roles[i]) == 0)
            return true;
    }
    return false;
}

bool
th_check_uuid(const char *id)
{
    static const char pattern[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
    if (id == NULL || strlen(id) != sizeof pattern - 1)
        return false;
    for (size_t i = 0; i < sizeof pattern - 1; i++) {
        const bool ok = pattern[i] == '-' ? id[i] == '-'
                                          : (id[i] >= '0' && id[i] <= '9') ||
                                                (id[i] >= 'a' && id[i] <= 'f');
        if (!ok)
            return false;
    }
    return true;
}

bool
th_check_principal_id(const char *id)
{
    const size_t len = id != NULL ? strlen(id) : 0;
    if (len == 0 || len > 64)
        return false;
    for (size_t i = 0; i < len; i++) {
        const char c = id[i];
        const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!(alnum || (i > 0 && (c == '.' || c == '_' || c == '-'))))
            return false;
    }
    return true;
}

/* True when s holds a byte <= 0x20 (space, control) or DEL. */
static bool
s_has_space_or_control(const char *s)
{
    for (const unsigned char *p = (const unsigned char *) s; *p != '\0'; p++) {
        if (*p <= 0x20 || *p == 0x7f)
            return true;
    }
    return false;
}

bool
th_check_email(const char *s, size_t max)
{
    if (s == NULL || strlen(s) > max || s_has_space_or_control(s))
        return false;
    const char *at = strchr(s, '@');
    return at != NULL && at != s && at[1] != '\0' && strchr(at + 1, '@') == NULL;
}

const char *
th_check_link(const char *s, size_t max)
{
    if (s == NULL || s[0] == '\0')
        return NULL;
    if (strlen(s) > max)
        return "is too long";
    size_t scheme = 0;
    if (strncmp(s, "https://", 8) == 0)
        scheme = 8;
    else if (strncmp(s, "http://", 7) == 0)
        scheme = 7;
    else
        return "must start with https:// or http://";
    if (s_has_space_or_control(s))
        return "must not contain spaces or control characters";
    if (s[scheme] == '\0' || s[scheme] == '/' || s[scheme] == '?' || s[scheme] == '#')
        return "must name a host after the scheme";
    return NULL;
}

bool
th_check_mask_has(char *const *mask, size_t n, const char *field)
{
    if (n == 0)
        return true;
    for (size_t i = 0; i < n; i++) {
        if (mask[i] != NULL && strcmp(mask[i], field) == 0)
            return true;
    }
    return false;
}

int
th_check_mask(char *const *mask, size_t n, const char *const *allowed, size_t n_allowed,
              size_t *bad)
{
    for (size_t i = 0; i < n; i++) {
        *bad = i;
        bool known = false;
        for (size_t k = 0; mask[i] != NULL && k < n_allowed; k++)
            known |= strcmp(mask[i], allowed[k]) == 0;
        if (!known)
            return TH_EINVAL;
        for (size_t k = 0; k < i; k++) {
            if (strcmp(mask[i], mask[k]) == 0)
                return TH_ESTATE;
        }
    }
    return 0;
}
