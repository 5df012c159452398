/* ---------------------------------------------------------------------------
 * checks.c: the answers, field checks and write record the Registry handler
 * files share (see checks.h).
 * ---------------------------------------------------------------------------
 */
#include "checks.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "th_auth.h"
#include "th_error.h"
#include "th_log.h"
#include "th_status.h"
#include "th_text.h"

/* --- answers ------------------------------------------------------------ */

/* INVALID_ARGUMENT with one field violation; the message repeats it so a
 * person reading only the message knows what to fix. */
int
registry_invalid(th_call_t *call, const char *field, const char *fmt, ...)
{
    char desc[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(desc, sizeof desc, fmt, ap);
    va_end(ap);
    th_call_violation(call, field, "%s", desc);
    return th_call_error(call, TH_INVALID_ARGUMENT, "invalid %s: %s", field, desc);
}

/* Answers a store failure: the database's own status (UNAVAILABLE,
 * DEADLINE_EXCEEDED, ...) and a message without SQL in it; the details go
 * to the log with the call id. */
int
registry_db_fail(th_call_t *call, const char *what)
{
    th_db_t *db = th_call_db(call);
    int code = db != NULL ? th_db_status(db) : TH_UNAVAILABLE;
    if (code == TH_OK)
        code = TH_INTERNAL;
    /* A deadline that passed in the database (57014) is the caller's budget
     * running out, and the caller chose it (1 ms is allowed): not a failure
     * of this service, so it is logged below error, and no client can fill
     * the error log with it. */
    const th_log_level_t level = code == TH_DEADLINE_EXCEEDED ? TH_LOG_INFO : TH_LOG_ERROR;
    th_log(level, th_call_id(call), "database failure", "what=\"%s\" sqlstate=%s code=%s",
           what, db != NULL ? th_db_sqlstate(db) : "", th_status_name(code));
    if (db != NULL)
        th_log_debug(th_call_id(call), th_db_error(db), "what=\"%s\"", what);
    const char *why = code == TH_UNAVAILABLE ? "the database is unavailable, try again"
                      : code == TH_DEADLINE_EXCEEDED ? "the deadline passed"
                                                     : "a database error occurred";
    return th_call_error(call, code, "could not %s: %s", what, why);
}

int
registry_need_principal(th_call_t *call)
{
    if (!th_auth_authenticated(th_call_principal(call)))
        return th_call_error(call, TH_UNAUTHENTICATED,
                             "the call carries no authenticated principal; connect through "
                             "the broker with a registered key");
    return TH_OK;
}

int
registry_need_admin(th_call_t *call, const char *right)
{
    const th_principal_t *p = th_call_principal(call);
    int rc = registry_need_principal(call);
    if (rc != TH_OK)
        return rc;
    if (!th_auth_has_role(p, "admin"))
        return th_call_error(call, TH_PERMISSION_DENIED,
                             "permission denied: %s needs role admin; principal \"%s\" has "
                             "role %s",
                             right, p->id, p->role);
    return TH_OK;
}

/* The ministry of Land state_code (and only it) writes there. */
int
registry_need_ministry_of(th_call_t *call, const char *state_code, const char *right)
{
    const th_principal_t *p = th_call_principal(call);
    if (th_auth_has_role(p, "ministry") && p->state_scope != NULL &&
        p->state_scope[0] != '\0' && strcmp(p->state_scope, state_code) == 0)
        return TH_OK;
    return th_call_error(call, TH_PERMISSION_DENIED,
                         "permission denied: %s needs role ministry of Land %s; principal "
                         "\"%s\" has role %s%s%s",
                         right, state_code, p->id, p->role,
                         p->state_scope[0] != '\0' ? " of Land " : "", p->state_scope);
}

/* --- checks ------------------------------------------------------------- */

bool
registry_digits(const char *s, size_t n)
{
    if (s == NULL || strlen(s) != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
    }
    return true;
}

int
registry_check_ags(th_call_t *call, const char *field, const char *ags)
{
    if (ags == NULL || ags[0] == '\0')
        return registry_invalid(call, field, "an AGS (5 digits, e.g. 16068) is required");
    if (!registry_digits(ags, 5))
        return registry_invalid(call, field, "\"%.32s\" is not an AGS of 5 digits", ags);
    return TH_OK;
}

/* A Land code that exists; "" is accepted when allow_empty. */
int
registry_check_state(th_call_t *call, const char *field, const char *code, bool allow_empty)
{
    if (code == NULL || code[0] == '\0') {
        if (allow_empty)
            return TH_OK;
        return registry_invalid(call, field, "a Land code (2 digits, e.g. 16) is required");
    }
    if (!registry_digits(code, 2))
        return registry_invalid(call, field, "\"%.32s\" is not a Land code of 2 digits",
                                code);
    bool exists = false;
    if (registry_store_state_exists(call, code, &exists) != 0)
        return registry_db_fail(call, "read the Länder");
    if (!exists)
        return registry_invalid(call, field, "no Land has the code %s (01 to 16)", code);
    return TH_OK;
}

int
registry_check_date(th_call_t *call, const char *field, const char *date, bool allow_empty)
{
    if (date == NULL || date[0] == '\0') {
        if (allow_empty)
            return TH_OK;
        return registry_invalid(call, field, "a date YYYY-MM-DD is required");
    }
    if (!th_date_valid(date))
        return registry_invalid(call, field, "\"%.32s\" is not a date YYYY-MM-DD", date);
    return TH_OK;
}

/* Resolves as_of ("" = today) into out and refuses dates before the oldest
 * territorial status the registry holds: a list for such a date would be
 * silently wrong. */
int
registry_as_of(th_call_t *call, const char *field, const char *as_of,
               char out[TH_DATE_LEN + 1])
{
    if (as_of == NULL || as_of[0] == '\0') {
        th_date_today(out);
        return TH_OK;
    }
    int rc = registry_check_date(call, field, as_of, false);
    if (rc != TH_OK)
        return rc;
    char earliest[TH_DATE_LEN + 1];
    const registry_handlers_state_t *state = th_call_state(call);
    if (state != NULL && state->earliest[0] != '\0') {
        /* Territorial changes never move valid_from, so the value read at
         * start-up stays true; it saves a query per call. */
        snprintf(earliest, sizeof earliest, "%s", state->earliest);
        rc = 0;
    } else {
        rc = registry_store_earliest_date(th_call_db(call), earliest);
    }
    if (rc == TH_ENOTFOUND)
        return th_call_error(
            call, TH_FAILED_PRECONDITION,
            "the registry holds no districts yet; load the reference data");
    if (rc != 0)
        return registry_db_fail(call, "read the oldest territorial status");
    if (strcmp(as_of, earliest) < 0) {
        th_call_violation(call, field,
                          "the earliest date the registry can answer for is %s", earliest);
        return th_call_error(
            call, TH_OUT_OF_RANGE,
            "%s %s is before %s, the oldest territorial status the registry "
            "holds; ask for %s or later",
            field, as_of, earliest, earliest);
    }
    snprintf(out, TH_DATE_LEN + 1, "%s", as_of);
    return TH_OK;
}

int
registry_page_size(th_call_t *call, const char *field, int32_t value, int def, int max,
                   int *out)
{
    if (value < 0 || value > max)
        return registry_invalid(call, field, "%d is outside 0 to %d (0 = the default %d)",
                                value, max, def);
    *out = value == 0 ? def : value;
    return TH_OK;
}

/* Page tokens are "<kind>:<value>"; opaque to clients. *value (call memory)
 * is NULL for the first page. */
int
registry_token_decode(th_call_t *call, const char *token, char kind, char **value)
{
    *value = NULL;
    if (token == NULL || token[0] == '\0')
        return TH_OK;
    const size_t len = strlen(token);
    bool ok = len >= 3 && len <= 80 && token[0] == kind && token[1] == ':';
    for (size_t i = 2; ok && i < len; i++) {
        const char c = token[i];
        ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-' || c == '.' ||
             c == '_';
    }
    if (!ok)
        return registry_invalid(call, "page_token",
                                "not a token this method returned; pass "
                                "next_page_token unchanged");
    *value = th_call_strdup(call, token + 2);
    return TH_OK;
}

char *
registry_token(th_call_t *call, char kind, const char *value)
{
    return th_call_printf(call, "%c:%s", kind, value);
}

/* A single line of min to max characters (code points). */
int
registry_check_line(th_call_t *call, const char *field, const char *s, size_t min,
                    size_t max)
{
    if (!th_text_is_line(s != NULL ? s : "", min, max)) {
        if (min > 0 && (s == NULL || s[0] == '\0'))
            return registry_invalid(call, field, "must not be empty");
        return registry_invalid(call, field, "must be %zu to %zu characters on one line",
                                min, max);
    }
    return TH_OK;
}

/* The district ags must be known (else INVALID_ARGUMENT) and exist on date
 * (else NOT_FOUND, naming the successor when it has one). */
int
registry_district_on(th_call_t *call, const char *field, const char *ags, const char *date,
                     registry_district_t **out)
{
    registry_district_t *d = NULL;
    int rc = registry_store_get_district(call, ags, date, &d);
    if (rc == TH_ENOTFOUND)
        return registry_invalid(call, field, "no district with AGS %s is known", ags);
    if (rc != 0)
        return registry_db_fail(call, "read the district");
    if (strcmp(date, d->valid_from) < 0) {
        th_call_violation(call, field, "the registry knows %s from %s", ags, d->valid_from);
        return th_call_error(call, TH_NOT_FOUND,
                             "district %s (%s) does not exist on %s: the registry knows it "
                             "from %s",
                             ags, d->name, date, d->valid_from);
    }
    if (d->valid_to[0] != '\0' && strcmp(date, d->valid_to) > 0) {
        registry_district_t *succ = NULL;
        const char *succ_name = "";
        if (d->successor_ags[0] != '\0' &&
            registry_store_get_district(call, d->successor_ags, NULL, &succ) == 0)
            succ_name = succ->name;
        th_call_violation(call, field, "ended on %s; successor %s", d->valid_to,
                          d->successor_ags);
        return th_call_error(
            call, TH_NOT_FOUND,
            "district %s (%s) does not exist on %s: it ended on %s and became "
            "part of %s (%s)",
            ags, d->name, date, d->valid_to, d->successor_ags, succ_name);
    }
    *out = d;
    return TH_OK;
}

bool
registry_in_mask(char *const *mask, size_t n, const char *field)
{
    if (n == 0)
        return true;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(mask[i], field) == 0)
            return true;
    }
    return false;
}

/* Every name in mask is one of allowed, each at most once. */
int
registry_check_mask(th_call_t *call, char *const *mask, size_t n,
                    const char *const *allowed, size_t n_allowed)
{
    for (size_t i = 0; i < n; i++) {
        bool known = false;
        for (size_t k = 0; k < n_allowed; k++)
            known |= strcmp(mask[i], allowed[k]) == 0;
        if (!known)
            return registry_invalid(call, "update_mask",
                                    "\"%.64s\" is not a writable field", mask[i]);
        for (size_t k = 0; k < i; k++) {
            if (strcmp(mask[i], mask[k]) == 0)
                return registry_invalid(call, "update_mask", "\"%s\" is named twice",
                                        mask[i]);
        }
    }
    return TH_OK;
}

bool
registry_principal_id_valid(const char *id)
{
    const size_t len = strlen(id);
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
