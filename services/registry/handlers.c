/* ---------------------------------------------------------------------------
 * handlers.c: validation, authorization and the flow of every Registry method
 *
 * Order inside a handler: who is calling (UNAUTHENTICATED / PERMISSION_DENIED
 * for rights that need no data), what was asked (INVALID_ARGUMENT), then the
 * data (NOT_FOUND, OUT_OF_RANGE, FAILED_PRECONDITION, rights that depend on
 * the data). Writes open the call's write transaction before reading what
 * they change, so the checks and the write see the same rows.
 * ---------------------------------------------------------------------------
 */
#include "handlers.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "pbjson.h"
#include "store.h"
#include "teilhabe/v1/registry.pb-c.h"
#include "th_auth.h"
#include "th_date.h"
#include "th_error.h"
#include "th_log.h"
#include "th_status.h"
#include "th_text.h"

#define S_SCHEMA "registry"

/* Limits (documented in registry.proto and docs/registry.md). */
#define S_TITLE_MAX 200
#define S_NAME_MAX 200
#define S_NOTE_MAX 1000
#define S_LINK_MAX 2048
#define S_EMAIL_MAX 254
#define S_PHONE_MAX 64
#define S_ORGANISATION_MAX 200
#define S_PROGRAMME_MAX 100
#define S_SEARCH_MAX 100
#define S_DISTRICT_SCOPE_MAX 64
#define S_PAGE_DEFAULT 100
#define S_PAGE_MAX 500
#define S_SEARCH_PAGE_DEFAULT 20
#define S_SEARCH_PAGE_MAX 100
#define S_EVENTS_DEFAULT 100
#define S_EVENTS_MAX 1000

typedef Teilhabe__Registry__V1__GetDistrictRequest s_get_district_req_t;

/* --- answers ------------------------------------------------------------ */

static int s_invalid(th_call_t *call, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* INVALID_ARGUMENT with one field violation; the message repeats it so a
 * person reading only the message knows what to fix. */
static int
s_invalid(th_call_t *call, const char *field, const char *fmt, ...)
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
static int
s_db_fail(th_call_t *call, const char *what)
{
    th_db_t *db = th_call_db(call);
    int code = db != NULL ? th_db_status(db) : TH_UNAVAILABLE;
    if (code == TH_OK)
        code = TH_INTERNAL;
    th_log_error(th_call_id(call), "database failure", "what=\"%s\" sqlstate=%s code=%s",
                 what, db != NULL ? th_db_sqlstate(db) : "", th_status_name(code));
    if (db != NULL)
        th_log_debug(th_call_id(call), th_db_error(db), "what=\"%s\"", what);
    const char *why = code == TH_UNAVAILABLE ? "the database is unavailable, try again"
                      : code == TH_DEADLINE_EXCEEDED ? "the deadline passed"
                                                     : "a database error occurred";
    return th_call_error(call, code, "could not %s: %s", what, why);
}

static int
s_need_principal(th_call_t *call)
{
    if (!th_auth_authenticated(th_call_principal(call)))
        return th_call_error(call, TH_UNAUTHENTICATED,
                             "the call carries no authenticated principal; connect through "
                             "the broker with a registered key");
    return TH_OK;
}

static int
s_need_admin(th_call_t *call, const char *right)
{
    const th_principal_t *p = th_call_principal(call);
    int rc = s_need_principal(call);
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
static int
s_need_ministry_of(th_call_t *call, const char *state_code, const char *right)
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

static bool
s_digits(const char *s, size_t n)
{
    if (s == NULL || strlen(s) != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
    }
    return true;
}

static int
s_check_ags(th_call_t *call, const char *field, const char *ags)
{
    if (ags == NULL || ags[0] == '\0')
        return s_invalid(call, field, "an AGS (5 digits, e.g. 16068) is required");
    if (!s_digits(ags, 5))
        return s_invalid(call, field, "\"%.32s\" is not an AGS of 5 digits", ags);
    return TH_OK;
}

/* A Land code that exists; "" is accepted when allow_empty. */
static int
s_check_state(th_call_t *call, const char *field, const char *code, bool allow_empty)
{
    if (code == NULL || code[0] == '\0') {
        if (allow_empty)
            return TH_OK;
        return s_invalid(call, field, "a Land code (2 digits, e.g. 16) is required");
    }
    if (!s_digits(code, 2))
        return s_invalid(call, field, "\"%.32s\" is not a Land code of 2 digits", code);
    bool exists = false;
    if (registry_store_state_exists(call, code, &exists) != 0)
        return s_db_fail(call, "read the Länder");
    if (!exists)
        return s_invalid(call, field, "no Land has the code %s (01 to 16)", code);
    return TH_OK;
}

static int
s_check_date(th_call_t *call, const char *field, const char *date, bool allow_empty)
{
    if (date == NULL || date[0] == '\0') {
        if (allow_empty)
            return TH_OK;
        return s_invalid(call, field, "a date YYYY-MM-DD is required");
    }
    if (!th_date_valid(date))
        return s_invalid(call, field, "\"%.32s\" is not a date YYYY-MM-DD", date);
    return TH_OK;
}

/* Resolves as_of ("" = today) into out and refuses dates before the oldest
 * territorial status the registry holds: a list for such a date would be
 * silently wrong. */
static int
s_as_of(th_call_t *call, const char *field, const char *as_of, char out[TH_DATE_LEN + 1])
{
    if (as_of == NULL || as_of[0] == '\0') {
        th_date_today(out);
        return TH_OK;
    }
    int rc = s_check_date(call, field, as_of, false);
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
        return s_db_fail(call, "read the oldest territorial status");
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

static int
s_page_size(th_call_t *call, const char *field, int32_t value, int def, int max, int *out)
{
    if (value < 0 || value > max)
        return s_invalid(call, field, "%d is outside 0 to %d (0 = the default %d)", value,
                         max, def);
    *out = value == 0 ? def : value;
    return TH_OK;
}

/* Page tokens are "<kind>:<value>"; opaque to clients. *value (call memory)
 * is NULL for the first page. */
static int
s_token_decode(th_call_t *call, const char *token, char kind, char **value)
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
        return s_invalid(call, "page_token",
                         "not a token this method returned; pass "
                         "next_page_token unchanged");
    *value = th_call_strdup(call, token + 2);
    return TH_OK;
}

static char *
s_token(th_call_t *call, char kind, const char *value)
{
    return th_call_printf(call, "%c:%s", kind, value);
}

/* A single line of min to max characters (code points). */
static int
s_check_line(th_call_t *call, const char *field, const char *s, size_t min, size_t max)
{
    if (!th_text_is_line(s != NULL ? s : "", min, max)) {
        if (min > 0 && (s == NULL || s[0] == '\0'))
            return s_invalid(call, field, "must not be empty");
        return s_invalid(call, field, "must be %zu to %zu characters on one line", min,
                         max);
    }
    return TH_OK;
}

/* The district ags must be known (else INVALID_ARGUMENT) and exist on date
 * (else NOT_FOUND, naming the successor when it has one). */
static int
s_district_on(th_call_t *call, const char *field, const char *ags, const char *date,
              registry_district_t **out)
{
    registry_district_t *d = NULL;
    int rc = registry_store_get_district(call, ags, &d);
    if (rc == TH_ENOTFOUND)
        return s_invalid(call, field, "no district with AGS %s is known", ags);
    if (rc != 0)
        return s_db_fail(call, "read the district");
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
            registry_store_get_district(call, d->successor_ags, &succ) == 0)
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

/* Begins the write; returns TH_OK to go on, or what the handler returns. */
#define S_BEGIN_WRITE(call)                                                                \
    do {                                                                                   \
        const int begin_rc_ = th_call_begin_write(call);                                   \
        if (begin_rc_ == TH_CALL_REPLAY)                                                   \
            return TH_OK;                                                                  \
        if (begin_rc_ != TH_OK)                                                            \
            return begin_rc_;                                                              \
    } while (0)

/* Audit row and outbox event of a write (same transaction). */
static int
s_record(th_call_t *call, const char *resource, const ProtobufCMessage *before,
         const ProtobufCMessage *after, const char *topic)
{
    if (th_call_audit(call, resource, registry_pbjson(call, before),
                      registry_pbjson(call, after)) != 0)
        return s_db_fail(call, "write the audit row");
    if (th_call_emit(call, S_SCHEMA, topic, resource, after) != 0)
        return s_db_fail(call, "write the event");
    return TH_OK;
}

/* --- districts ---------------------------------------------------------- */

static int
s_get_district(th_call_t *call, const ProtobufCMessage *request,
               ProtobufCMessage **response)
{
    const Teilhabe__Registry__V1__GetDistrictRequest *req = (const void *) request;
    char as_of[TH_DATE_LEN + 1];
    int rc;
    if ((rc = s_need_principal(call)) != TH_OK ||
        (rc = s_check_ags(call, "ags", req->ags)) != TH_OK ||
        (rc = s_as_of(call, "as_of", req->as_of, as_of)) != TH_OK)
        return rc;
    registry_district_t *d = NULL;
    if ((rc = s_district_on(call, "ags", req->ags, as_of, &d)) != TH_OK)
        return rc;
    *response = &d->base;
    return TH_OK;
}

static int
s_list_districts(th_call_t *call, const ProtobufCMessage *request,
                 ProtobufCMessage **response)
{
    const Teilhabe__Registry__V1__ListDistrictsRequest *req = (const void *) request;
    char as_of[TH_DATE_LEN + 1];
    int limit = 0, rc;
    char *after = NULL;
    if ((rc = s_need_principal(call)) != TH_OK ||
        (rc = s_check_state(call, "state_code", req->state_code, true)) != TH_OK)
        return rc;
    if (req->kind != 0 && registry_kind_text((int) req->kind) == NULL)
        return s_invalid(call, "kind", "unknown DistrictKind %d", (int) req->kind);
    if (req->settlement_type != 0 &&
        registry_settlement_text((int) req->settlement_type) == NULL)
        return s_invalid(call, "settlement_type", "unknown SettlementType %d",
                         (int) req->settlement_type);
    if ((rc = s_page_size(call, "page_size", req->page_size, S_PAGE_DEFAULT, S_PAGE_MAX,
                          &limit)) != TH_OK ||
        (rc = s_token_decode(call, req->page_token, 'd', &after)) != TH_OK ||
        (rc = s_as_of(call, "as_of", req->as_of, as_of)) != TH_OK)
        return rc;
    if (after != NULL && !s_digits(after, 5))
        return s_invalid(call, "page_token", "not a token this method returned");
    const registry_district_filter_t filter = {
        .as_of = as_of,
        .state_code = req->state_code[0] != '\0' ? req->state_code : NULL,
        .kind = registry_kind_text((int) req->kind),
        .settlement_type = registry_settlement_text((int) req->settlement_type),
        .after_ags = after,
        .limit = limit + 1, /* one more tells whether another page follows */
    };
    Teilhabe__Registry__V1__ListDistrictsResponse *resp = th_call_alloc(call, sizeof *resp);
    teilhabe__registry__v1__list_districts_response__init(resp);
    int total = 0;
    if (registry_store_list_districts(call, &filter, &resp->districts, &resp->n_districts,
                                      &total) != 0)
        return s_db_fail(call, "list the districts");
    if (resp->n_districts > (size_t) limit) {
        resp->n_districts = (size_t) limit;
        resp->next_page_token = s_token(call, 'd', resp->districts[limit - 1]->ags);
    }
    resp->total_size = total;
    *response = &resp->base;
    return TH_OK;
}

static int
s_search_districts(th_call_t *call, const ProtobufCMessage *request,
                   ProtobufCMessage **response)
{
    const Teilhabe__Registry__V1__SearchDistrictsRequest *req = (const void *) request;
    char as_of[TH_DATE_LEN + 1];
    int limit = 0, rc;
    if ((rc = s_need_principal(call)) != TH_OK ||
        (rc = s_check_line(call, "text", req->text, 1, S_SEARCH_MAX)) != TH_OK ||
        (rc = s_page_size(call, "page_size", req->page_size, S_SEARCH_PAGE_DEFAULT,
                          S_SEARCH_PAGE_MAX, &limit)) != TH_OK ||
        (rc = s_as_of(call, "as_of", req->as_of, as_of)) != TH_OK)
        return rc;
    char *folded = th_text_fold(req->text, false);
    if (folded == NULL)
        return s_invalid(call, "text", "is not valid UTF-8");
    if (folded[0] == '\0') {
        free(folded);
        return s_invalid(call, "text", "must contain a letter or digit");
    }
    char *key = th_call_strdup(call, folded);
    free(folded);
    Teilhabe__Registry__V1__SearchDistrictsResponse *resp =
        th_call_alloc(call, sizeof *resp);
    teilhabe__registry__v1__search_districts_response__init(resp);
    if (registry_store_search_districts(call, key, as_of, req->include_ended, limit,
                                        &resp->districts, &resp->n_districts) != 0)
        return s_db_fail(call, "search the districts");
    *response = &resp->base;
    return TH_OK;
}

static int
s_list_states(th_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **response)
{
    const Teilhabe__Registry__V1__ListStatesRequest *req = (const void *) request;
    char as_of[TH_DATE_LEN + 1];
    int rc;
    if ((rc = s_need_principal(call)) != TH_OK ||
        (rc = s_as_of(call, "as_of", req->as_of, as_of)) != TH_OK)
        return rc;
    Teilhabe__Registry__V1__ListStatesResponse *resp = th_call_alloc(call, sizeof *resp);
    teilhabe__registry__v1__list_states_response__init(resp);
    if (registry_store_list_states(call, as_of, &resp->states, &resp->n_states) != 0)
        return s_db_fail(call, "list the Länder");
    for (size_t i = 0; i < resp->n_states; i++)
        resp->total_districts += resp->states[i]->district_count;
    resp->as_of = th_call_strdup(call, as_of);
    *response = &resp->base;
    return TH_OK;
}

static int
s_get_history(th_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **response)
{
    const Teilhabe__Registry__V1__GetTerritorialHistoryRequest *req =
        (const void *) request;
    int rc;
    if ((rc = s_need_principal(call)) != TH_OK ||
        (rc = s_check_ags(call, "ags", req->ags)) != TH_OK)
        return rc;
    Teilhabe__Registry__V1__GetTerritorialHistoryResponse *resp =
        th_call_alloc(call, sizeof *resp);
    teilhabe__registry__v1__get_territorial_history_response__init(resp);
    rc = registry_store_get_district(call, req->ags, &resp->district);
    if (rc == TH_ENOTFOUND)
        return s_invalid(call, "ags", "no district with AGS %s is known", req->ags);
    if (rc != 0)
        return s_db_fail(call, "read the district");
    if (registry_store_list_changes(call, req->ags, &resp->changes, &resp->n_changes) != 0)
        return s_db_fail(call, "read the territorial changes");
    *response = &resp->base;
    return TH_OK;
}

static int
s_record_change(th_call_t *call, const ProtobufCMessage *request,
                ProtobufCMessage **response)
{
    const Teilhabe__Registry__V1__RecordTerritorialChangeRequest *req =
        (const void *) request;
    int rc;
    if ((rc = s_need_admin(call, "recording a territorial change")) != TH_OK ||
        (rc = s_check_date(call, "effective", req->effective, false)) != TH_OK)
        return rc;
    const char *kind = registry_change_kind_text((int) req->kind);
    if (kind == NULL)
        return s_invalid(call, "kind", "must be TERRITORIAL_CHANGE_KIND_MERGE, got %d",
                         (int) req->kind);
    if ((rc = s_check_ags(call, "ags", req->ags)) != TH_OK ||
        (rc = s_check_ags(call, "successor_ags", req->successor_ags)) != TH_OK ||
        (rc = s_check_line(call, "note", req->note, 0, S_NOTE_MAX)) != TH_OK)
        return rc;
    if (strcmp(req->ags, req->successor_ags) == 0)
        return s_invalid(call, "successor_ags", "must differ from ags");
    char last_day[TH_DATE_LEN + 1];
    if (th_date_add_days(req->effective, -1, last_day) != 0)
        return s_invalid(call, "effective", "%s has no day before it in range",
                         req->effective);

    S_BEGIN_WRITE(call);
    rc = registry_store_lock_districts(call, req->ags, req->successor_ags);
    if (rc == TH_EDB)
        return s_db_fail(call, "lock the districts");
    registry_district_t *before = NULL, *succ = NULL;
    rc = registry_store_get_district(call, req->ags, &before);
    if (rc == TH_ENOTFOUND)
        return s_invalid(call, "ags", "no district with AGS %s is known", req->ags);
    if (rc != 0)
        return s_db_fail(call, "read the district");
    rc = registry_store_get_district(call, req->successor_ags, &succ);
    if (rc == TH_ENOTFOUND)
        return s_invalid(call, "successor_ags", "no district with AGS %s is known",
                         req->successor_ags);
    if (rc != 0)
        return s_db_fail(call, "read the successor");
    if (before->valid_to[0] != '\0')
        return th_call_error(
            call, TH_FAILED_PRECONDITION,
            "district %s (%s) already ended on %s (successor %s); a district "
            "ends once",
            before->ags, before->name, before->valid_to, before->successor_ags);
    if (strcmp(last_day, before->valid_from) < 0)
        return s_invalid(call, "effective",
                         "must be after %s, the first day the registry knows %s",
                         before->valid_from, before->ags);
    if (strcmp(last_day, succ->valid_from) < 0 ||
        (succ->valid_to[0] != '\0' && strcmp(succ->valid_to, req->effective) < 0))
        return s_invalid(call, "successor_ags",
                         "district %s does not exist on both %s and %s", succ->ags,
                         last_day, req->effective);
    if (strcmp(before->state_code, succ->state_code) != 0)
        return s_invalid(
            call, "successor_ags",
            "district %s is in Land %s, %s in Land %s; a merge stays in its Land",
            succ->ags, succ->state_code, before->ags, before->state_code);
    registry_change_t *change = NULL;
    rc = registry_store_record_change(call, req->effective, kind, req->ags,
                                      req->successor_ags, req->note,
                                      th_call_principal(call)->id, &change);
    if (rc == TH_ESTATE)
        return th_call_error(call, TH_ABORTED, "district %s changed meanwhile; try again",
                             req->ags);
    if (rc != 0)
        return s_db_fail(call, "record the territorial change");
    registry_district_t *after = NULL;
    if (registry_store_get_district(call, req->ags, &after) != 0)
        return s_db_fail(call, "read the district");
    const char *resource = th_call_printf(call, "districts/%s", req->ags);
    if ((rc = s_record(call, resource, &before->base, &after->base, "district.changed")) !=
        TH_OK)
        return rc;
    if (th_call_emit(call, S_SCHEMA, "territorial_change.recorded", resource,
                     &change->base) != 0)
        return s_db_fail(call, "write the event");
    th_log_info(th_call_id(call), "territorial change recorded",
                "ags=%s successor=%s effective=%s", req->ags, req->successor_ags,
                req->effective);
    *response = &change->base;
    return TH_OK;
}

/* --- concepts ----------------------------------------------------------- */

static const char *const s_concept_mask_fields[] = {
    "title", "adopted_on", "last_updated_on", "orientation", "fields", "link"};

static bool
s_in_mask(char *const *mask, size_t n, const char *field)
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
static int
s_check_mask(th_call_t *call, char *const *mask, size_t n, const char *const *allowed,
             size_t n_allowed)
{
    for (size_t i = 0; i < n; i++) {
        bool known = false;
        for (size_t k = 0; k < n_allowed; k++)
            known |= strcmp(mask[i], allowed[k]) == 0;
        if (!known)
            return s_invalid(call, "update_mask", "\"%.64s\" is not a writable field",
                             mask[i]);
        for (size_t k = 0; k < i; k++) {
            if (strcmp(mask[i], mask[k]) == 0)
                return s_invalid(call, "update_mask", "\"%s\" is named twice", mask[i]);
        }
    }
    return TH_OK;
}

static int
s_check_link(th_call_t *call, const char *field, const char *link)
{
    if (link == NULL || link[0] == '\0')
        return TH_OK;
    const size_t len = strlen(link);
    if (len > S_LINK_MAX)
        return s_invalid(call, field, "is %zu bytes long, at most %d allowed", len,
                         S_LINK_MAX);
    if (strncmp(link, "https://", 8) != 0 && strncmp(link, "http://", 7) != 0)
        return s_invalid(call, field, "must start with https:// or http://");
    for (size_t i = 0; i < len; i++) {
        const unsigned char c = (unsigned char) link[i];
        if (c <= 0x20 || c == 0x7f)
            return s_invalid(call, field, "must not contain spaces or control characters");
    }
    return TH_OK;
}

static int
s_check_concept(th_call_t *call, const registry_concept_t *c)
{
    int rc;
    if ((rc = s_check_line(call, "concept.title", c->title, 1, S_TITLE_MAX)) != TH_OK ||
        (rc = s_check_date(call, "concept.adopted_on", c->adopted_on, false)) != TH_OK ||
        (rc = s_check_date(call, "concept.last_updated_on", c->last_updated_on, true)) !=
            TH_OK)
        return rc;
    if (c->last_updated_on[0] != '\0' && strcmp(c->last_updated_on, c->adopted_on) < 0)
        return s_invalid(call, "concept.last_updated_on", "%s is before adopted_on %s",
                         c->last_updated_on, c->adopted_on);
    if (registry_orientation_text((int) c->orientation) == NULL)
        return s_invalid(call, "concept.orientation",
                         "must be PARTICIPATION, NEWCOMERS or UNCLEAR, got %d",
                         (int) c->orientation);
    if (c->n_fields == 0 || c->n_fields > 10)
        return s_invalid(call, "concept.fields",
                         "must name 1 to 10 fields of action, got %zu", c->n_fields);
    for (size_t i = 0; i < c->n_fields; i++) {
        if (registry_field_text((int) c->fields[i]) == NULL)
            return s_invalid(call, "concept.fields", "unknown FieldOfAction %d",
                             (int) c->fields[i]);
        for (size_t k = 0; k < i; k++) {
            if (c->fields[k] == c->fields[i])
                return s_invalid(call, "concept.fields", "%s is named twice",
                                 registry_field_text((int) c->fields[i]));
        }
    }
    return s_check_link(call, "concept.link", c->link);
}

/* Concepts of ags may be written by the ministry of its Land, and by a
 * manager who is assigned to it today (through a manager record linked to
 * the principal) or has it in the district scope of its key. */
static int
s_authorize_concept(th_call_t *call, const registry_district_t *d, const char *today)
{
    const th_principal_t *p = th_call_principal(call);
    if (th_auth_has_role(p, "ministry") && p->state_scope[0] != '\0' &&
        strcmp(p->state_scope, d->state_code) == 0)
        return TH_OK;
    if (th_auth_has_role(p, "manager")) {
        if (th_auth_has_district(p, d->ags))
            return TH_OK;
        bool covers = false;
        if (registry_store_principal_covers(call, p->id, d->ags, today, &covers) != 0)
            return s_db_fail(call, "read the manager assignments");
        if (covers)
            return TH_OK;
    }
    return th_call_error(call, TH_PERMISSION_DENIED,
                         "permission denied: writing the concept of district %s needs role "
                         "ministry of Land %s or a manager assigned to %s on %s; principal "
                         "\"%s\" has role %s",
                         d->ags, d->state_code, d->ags, today, p->id, p->role);
}

static int
s_set_concept(th_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **response)
{
    const Teilhabe__Registry__V1__SetConceptRequest *req = (const void *) request;
    int rc;
    if ((rc = s_need_principal(call)) != TH_OK)
        return rc;
    const th_principal_t *p = th_call_principal(call);
    if (!th_auth_has_role(p, "ministry") && !th_auth_has_role(p, "manager"))
        return th_call_error(call, TH_PERMISSION_DENIED,
                             "permission denied: writing concepts needs role ministry or "
                             "manager; principal \"%s\" has role %s",
                             p->id, p->role);
    if (req->concept == NULL)
        return s_invalid(call, "concept", "is required");
    const registry_concept_t *in = req->concept;
    if ((rc = s_check_ags(call, "concept.ags", in->ags)) != TH_OK)
        return rc;
    if (req->version < 0)
        return s_invalid(call, "version", "must be 0 (create) or the version last read");
    if ((rc = s_check_mask(
             call, req->update_mask, req->n_update_mask, s_concept_mask_fields,
             sizeof s_concept_mask_fields / sizeof s_concept_mask_fields[0])) != TH_OK)
        return rc;
    char today[TH_DATE_LEN + 1];
    th_date_today(today);

    S_BEGIN_WRITE(call);
    registry_district_t *d = NULL;
    if ((rc = s_district_on(call, "concept.ags", in->ags, today, &d)) != TH_OK ||
        (rc = s_authorize_concept(call, d, today)) != TH_OK)
        return rc;
    registry_concept_t *current = NULL;
    rc = registry_store_get_concept(call, in->ags, 0, &current);
    if (rc != 0 && rc != TH_ENOTFOUND)
        return s_db_fail(call, "read the concept");
    registry_concept_t *merged = th_call_alloc(call, sizeof *merged);
    if (current == NULL) {
        if (req->version != 0)
            return th_call_error(call, TH_FAILED_PRECONDITION,
                                 "district %s has no concept yet, so version %" PRId64
                                 " is stale; create it with version 0",
                                 in->ags, req->version);
        *merged = *in;
    } else {
        if (req->version != current->version)
            return th_call_error(call, TH_FAILED_PRECONDITION,
                                 "the concept of district %s is at version %" PRId64
                                 ", not %" PRId64 "; read it again and retry",
                                 in->ags, current->version, req->version);
        *merged = *current;
        char *const *mask = req->update_mask;
        const size_t n = req->n_update_mask;
        if (s_in_mask(mask, n, "title"))
            merged->title = in->title;
        if (s_in_mask(mask, n, "adopted_on"))
            merged->adopted_on = in->adopted_on;
        if (s_in_mask(mask, n, "last_updated_on"))
            merged->last_updated_on = in->last_updated_on;
        if (s_in_mask(mask, n, "orientation"))
            merged->orientation = in->orientation;
        if (s_in_mask(mask, n, "fields")) {
            merged->fields = in->fields;
            merged->n_fields = in->n_fields;
        }
        if (s_in_mask(mask, n, "link"))
            merged->link = in->link;
    }
    merged->ags = d->ags;
    if ((rc = s_check_concept(call, merged)) != TH_OK)
        return rc;
    const int64_t next = current != NULL ? current->version + 1 : 1;
    if (current != NULL) {
        rc = registry_store_retire_concept(call, in->ags, current->version);
        if (rc == TH_ESTATE)
            return th_call_error(
                call, TH_FAILED_PRECONDITION,
                "the concept of district %s changed meanwhile (version %" PRId64
                " is stale); read it again and retry",
                in->ags, current->version);
        if (rc != 0)
            return s_db_fail(call, "update the concept");
    }
    registry_concept_t *stored = NULL;
    rc = registry_store_insert_concept(call, merged, next, p->id, &stored);
    if (rc == TH_ESTATE)
        return th_call_error(
            call, TH_FAILED_PRECONDITION,
            "the concept of district %s was set meanwhile; read it again and "
            "retry",
            in->ags);
    if (rc != 0)
        return s_db_fail(call, "store the concept");
    const char *resource = th_call_printf(call, "concepts/%s", in->ags);
    if ((rc = s_record(call, resource, current != NULL ? &current->base : NULL,
                       &stored->base, "concept.set")) != TH_OK)
        return rc;
    *response = &stored->base;
    return TH_OK;
}

static int
s_get_concept(th_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **response)
{
    const Teilhabe__Registry__V1__GetConceptRequest *req = (const void *) request;
    int rc;
    if ((rc = s_need_principal(call)) != TH_OK ||
        (rc = s_check_ags(call, "ags", req->ags)) != TH_OK)
        return rc;
    if (req->version < 0)
        return s_invalid(call, "version", "must be 0 (current) or a version number");
    registry_district_t *d = NULL;
    rc = registry_store_get_district(call, req->ags, &d);
    if (rc == TH_ENOTFOUND)
        return s_invalid(call, "ags", "no district with AGS %s is known", req->ags);
    if (rc != 0)
        return s_db_fail(call, "read the district");
    registry_concept_t *c = NULL;
    rc = registry_store_get_concept(call, req->ags, req->version, &c);
    if (rc == TH_ENOTFOUND) {
        if (req->version == 0)
            return th_call_error(call, TH_NOT_FOUND,
                                 "district %s (%s) has no integration concept", d->ags,
                                 d->name);
        return th_call_error(call, TH_NOT_FOUND,
                             "the concept of district %s has no version %" PRId64, d->ags,
                             req->version);
    }
    if (rc != 0)
        return s_db_fail(call, "read the concept");
    *response = &c->base;
    return TH_OK;
}

static int
s_list_concepts(th_call_t *call, const ProtobufCMessage *request,
                ProtobufCMessage **response)
{
    const Teilhabe__Registry__V1__ListConceptsRequest *req = (const void *) request;
    int limit = 0, rc;
    char *after = NULL;
    if ((rc = s_need_principal(call)) != TH_OK ||
        (rc = s_check_state(call, "state_code", req->state_code, true)) != TH_OK)
        return rc;
    if (req->orientation != 0 && registry_orientation_text((int) req->orientation) == NULL)
        return s_invalid(call, "orientation", "unknown Orientation %d",
                         (int) req->orientation);
    if ((rc = s_page_size(call, "page_size", req->page_size, S_PAGE_DEFAULT, S_PAGE_MAX,
                          &limit)) != TH_OK ||
        (rc = s_token_decode(call, req->page_token, 'c', &after)) != TH_OK)
        return rc;
    if (after != NULL && !s_digits(after, 5))
        return s_invalid(call, "page_token", "not a token this method returned");
    Teilhabe__Registry__V1__ListConceptsResponse *resp = th_call_alloc(call, sizeof *resp);
    teilhabe__registry__v1__list_concepts_response__init(resp);
    if (registry_store_list_concepts(call, req->state_code[0] ? req->state_code : NULL,
                                     registry_orientation_text((int) req->orientation),
                                     after, limit + 1, &resp->concepts,
                                     &resp->n_concepts) != 0)
        return s_db_fail(call, "list the concepts");
    if (resp->n_concepts > (size_t) limit) {
        resp->n_concepts = (size_t) limit;
        resp->next_page_token = s_token(call, 'c', resp->concepts[limit - 1]->ags);
    }
    *response = &resp->base;
    return TH_OK;
}

static int
s_list_concept_versions(th_call_t *call, const ProtobufCMessage *request,
                        ProtobufCMessage **response)
{
    const Teilhabe__Registry__V1__ListConceptVersionsRequest *req = (const void *) request;
    int limit = 0, rc;
    char *before = NULL;
    if ((rc = s_need_principal(call)) != TH_OK ||
        (rc = s_check_ags(call, "ags", req->ags)) != TH_OK ||
        (rc = s_page_size(call, "page_size", req->page_size, S_PAGE_DEFAULT, S_PAGE_MAX,
                          &limit)) != TH_OK ||
        (rc = s_token_decode(call, req->page_token, 'v', &before)) != TH_OK)
        return rc;
    int64_t before_version = 0;
    if (before != NULL) {
        char *end = NULL;
        before_version = strtoll(before, &end, 10);
        if (end == before || *end != '\0' || before_version < 1)
            return s_invalid(call, "page_token", "not a token this method returned");
    }
    registry_district_t *d = NULL;
    rc = registry_store_get_district(call, req->ags, &d);
    if (rc == TH_ENOTFOUND)
        return s_invalid(call, "ags", "no district with AGS %s is known", req->ags);
    if (rc != 0)
        return s_db_fail(call, "read the district");
    Teilhabe__Registry__V1__ListConceptVersionsResponse *resp =
        th_call_alloc(call, sizeof *resp);
    teilhabe__registry__v1__list_concept_versions_response__init(resp);
    if (registry_store_list_concept_versions(call, req->ags, before_version, limit + 1,
                                             &resp->concepts, &resp->n_concepts) != 0)
        return s_db_fail(call, "list the concept versions");
    if (resp->n_concepts > (size_t) limit) {
        resp->n_concepts = (size_t) limit;
        resp->next_page_token =
            th_call_printf(call, "v:%" PRId64, resp->concepts[limit - 1]->version);
    }
    *response = &resp->base;
    return TH_OK;
}

/* --- managers ----------------------------------------------------------- */

static const char *const s_manager_mask_fields[] = {
    "name", "email", "phone", "organisation", "funding_programme", "principal_id"};

static bool
s_principal_id_valid(const char *id)
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

static int
s_check_manager(th_call_t *call, const registry_manager_t *m)
{
    int rc;
    if ((rc = s_check_line(call, "manager.name", m->name, 1, S_NAME_MAX)) != TH_OK ||
        (rc = s_check_line(call, "manager.email", m->email, 0, S_EMAIL_MAX)) != TH_OK ||
        (rc = s_check_line(call, "manager.phone", m->phone, 0, S_PHONE_MAX)) != TH_OK ||
        (rc = s_check_line(call, "manager.organisation", m->organisation, 0,
                           S_ORGANISATION_MAX)) != TH_OK ||
        (rc = s_check_line(call, "manager.funding_programme", m->funding_programme, 0,
                           S_PROGRAMME_MAX)) != TH_OK)
        return rc;
    if (m->email[0] != '\0') {
        const char *at = strchr(m->email, '@');
        if (at == NULL || at == m->email || at[1] == '\0' || strchr(at + 1, '@') != NULL ||
            strchr(m->email, ' ') != NULL || strlen(m->email) > S_EMAIL_MAX)
            return s_invalid(call, "manager.email", "\"%.64s\" is not an e-mail address",
                             m->email);
    }
    if (m->principal_id[0] != '\0' && !s_principal_id_valid(m->principal_id))
        return s_invalid(call, "manager.principal_id", "\"%.64s\" is not a principal id",
                         m->principal_id);
    return TH_OK;
}

/* Loads the manager (locked for writes); NOT_FOUND names the id. */
static int
s_manager(th_call_t *call, const char *field, const char *id, bool for_update,
          registry_manager_t **out)
{
    if (id == NULL || id[0] == '\0')
        return s_invalid(call, field, "a manager id is required");
    if (strlen(id) > 64)
        return s_invalid(call, field, "is longer than 64 characters");
    int rc = registry_store_get_manager(call, id, for_update, out);
    if (rc == TH_ENOTFOUND)
        return th_call_error(call, TH_NOT_FOUND, "no integration manager has the id \"%s\"",
                             id);
    if (rc != 0)
        return s_db_fail(call, "read the manager");
    return TH_OK;
}

static int
s_create_manager(th_call_t *call, const ProtobufCMessage *request,
                 ProtobufCMessage **response)
{
    const Teilhabe__Registry__V1__CreateManagerRequest *req = (const void *) request;
    int rc;
    if ((rc = s_need_principal(call)) != TH_OK)
        return rc;
    if (req->manager == NULL)
        return s_invalid(call, "manager", "is required");
    const registry_manager_t *m = req->manager;
    if ((rc = s_check_state(call, "manager.state_code", m->state_code, false)) != TH_OK ||
        (rc = s_need_ministry_of(call, m->state_code, "creating an integration manager")) !=
            TH_OK ||
        (rc = s_check_manager(call, m)) != TH_OK)
        return rc;
    S_BEGIN_WRITE(call);
    registry_manager_t *created = NULL;
    if (registry_store_create_manager(call, m, &created) != 0)
        return s_db_fail(call, "create the manager");
    const char *resource = th_call_printf(call, "managers/%s", created->id);
    if ((rc = s_record(call, resource, NULL, &created->base, "manager.created")) != TH_OK)
        return rc;
    *response = &created->base;
    return TH_OK;
}

static int
s_update_manager(th_call_t *call, const ProtobufCMessage *request,
                 ProtobufCMessage **response)
{
    const Teilhabe__Registry__V1__UpdateManagerRequest *req = (const void *) request;
    int rc;
    if ((rc = s_need_principal(call)) != TH_OK)
        return rc;
    if (req->manager == NULL)
        return s_invalid(call, "manager", "is required");
    const registry_manager_t *in = req->manager;
    if ((rc = s_check_mask(
             call, req->update_mask, req->n_update_mask, s_manager_mask_fields,
             sizeof s_manager_mask_fields / sizeof s_manager_mask_fields[0])) != TH_OK)
        return rc;
    if (req->version < 1)
        return s_invalid(call, "version", "must be the version last read (1 or more)");
    S_BEGIN_WRITE(call);
    registry_manager_t *current = NULL;
    if ((rc = s_manager(call, "manager.id", in->id, true, &current)) != TH_OK ||
        (rc = s_need_ministry_of(call, current->state_code,
                                 "updating an integration manager")) != TH_OK)
        return rc;
    if (current->version != req->version)
        return th_call_error(call, TH_FAILED_PRECONDITION,
                             "manager %s is at version %" PRId64 ", not %" PRId64
                             "; read it again and retry",
                             current->id, current->version, req->version);
    registry_manager_t *merged = th_call_alloc(call, sizeof *merged);
    *merged = *current;
    char *const *mask = req->update_mask;
    const size_t n = req->n_update_mask;
    if (s_in_mask(mask, n, "name"))
        merged->name = in->name;
    if (s_in_mask(mask, n, "email"))
        merged->email = in->email;
    if (s_in_mask(mask, n, "phone"))
        merged->phone = in->phone;
    if (s_in_mask(mask, n, "organisation"))
        merged->organisation = in->organisation;
    if (s_in_mask(mask, n, "funding_programme"))
        merged->funding_programme = in->funding_programme;
    if (s_in_mask(mask, n, "principal_id"))
        merged->principal_id = in->principal_id;
    if ((rc = s_check_manager(call, merged)) != TH_OK)
        return rc;
    registry_manager_t *updated = NULL;
    rc = registry_store_update_manager(call, merged, req->version, &updated);
    if (rc == TH_ESTATE)
        return th_call_error(call, TH_FAILED_PRECONDITION,
                             "manager %s changed meanwhile; read it again and retry",
                             current->id);
    if (rc != 0)
        return s_db_fail(call, "update the manager");
    const char *resource = th_call_printf(call, "managers/%s", updated->id);
    if ((rc = s_record(call, resource, &current->base, &updated->base,
                       "manager.updated")) != TH_OK)
        return rc;
    *response = &updated->base;
    return TH_OK;
}

static int
s_get_manager(th_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **response)
{
    const Teilhabe__Registry__V1__GetManagerRequest *req = (const void *) request;
    int rc;
    registry_manager_t *m = NULL;
    if ((rc = s_need_principal(call)) != TH_OK ||
        (rc = s_manager(call, "id", req->id, false, &m)) != TH_OK)
        return rc;
    if (registry_store_list_assignments(call, m->id, NULL, &m->assignments,
                                        &m->n_assignments) != 0)
        return s_db_fail(call, "read the assignments");
    *response = &m->base;
    return TH_OK;
}

static int
s_assign_manager(th_call_t *call, const ProtobufCMessage *request,
                 ProtobufCMessage **response)
{
    const Teilhabe__Registry__V1__AssignManagerRequest *req = (const void *) request;
    int rc;
    if ((rc = s_need_principal(call)) != TH_OK ||
        (rc = s_check_ags(call, "ags", req->ags)) != TH_OK ||
        (rc = s_check_date(call, "valid_from", req->valid_from, false)) != TH_OK ||
        (rc = s_check_date(call, "valid_to", req->valid_to, true)) != TH_OK)
        return rc;
    if (req->valid_to[0] != '\0' && strcmp(req->valid_to, req->valid_from) < 0)
        return s_invalid(call, "valid_to", "%s is before valid_from %s", req->valid_to,
                         req->valid_from);
    S_BEGIN_WRITE(call);
    registry_manager_t *m = NULL;
    if ((rc = s_manager(call, "manager_id", req->manager_id, true, &m)) != TH_OK ||
        (rc = s_need_ministry_of(call, m->state_code,
                                 "assigning an integration manager")) != TH_OK)
        return rc;
    char as_of[TH_DATE_LEN + 1];
    registry_district_t *d = NULL;
    if ((rc = s_as_of(call, "valid_from", req->valid_from, as_of)) != TH_OK ||
        (rc = s_district_on(call, "ags", req->ags, as_of, &d)) != TH_OK)
        return rc;
    if (strcmp(d->state_code, m->state_code) != 0)
        return s_invalid(call, "ags",
                         "district %s is in Land %s, the manager works for Land %s", d->ags,
                         d->state_code, m->state_code);
    if (d->valid_to[0] != '\0' &&
        (req->valid_to[0] == '\0' || strcmp(req->valid_to, d->valid_to) > 0))
        return s_invalid(call, "valid_to",
                         "district %s ends on %s; an assignment must end by then", d->ags,
                         d->valid_to);
    bool overlaps = false;
    if (registry_store_assignment_overlaps(call, m->id, d->ags, req->valid_from,
                                           req->valid_to[0] ? req->valid_to : NULL,
                                           &overlaps) != 0)
        return s_db_fail(call, "read the assignments");
    if (overlaps)
        return th_call_error(call, TH_ALREADY_EXISTS,
                             "manager %s is already assigned to %s for part of that period",
                             m->id, d->ags);
    registry_assignment_t *a = NULL;
    if (registry_store_insert_assignment(call, m->id, d->ags, req->valid_from,
                                         req->valid_to[0] ? req->valid_to : NULL, &a) != 0)
        return s_db_fail(call, "store the assignment");
    const char *resource = th_call_printf(call, "managers/%s", m->id);
    if ((rc = s_record(call, resource, NULL, &a->base, "manager.assigned")) != TH_OK)
        return rc;
    *response = &a->base;
    return TH_OK;
}

static int
s_unassign_manager(th_call_t *call, const ProtobufCMessage *request,
                   ProtobufCMessage **response)
{
    const Teilhabe__Registry__V1__UnassignManagerRequest *req = (const void *) request;
    int rc;
    if ((rc = s_need_principal(call)) != TH_OK ||
        (rc = s_check_ags(call, "ags", req->ags)) != TH_OK ||
        (rc = s_check_date(call, "end_date", req->end_date, true)) != TH_OK)
        return rc;
    char end_date[TH_DATE_LEN + 1];
    if (req->end_date[0] == '\0')
        th_date_today(end_date);
    else
        snprintf(end_date, sizeof end_date, "%s", req->end_date);
    S_BEGIN_WRITE(call);
    registry_manager_t *m = NULL;
    if ((rc = s_manager(call, "manager_id", req->manager_id, true, &m)) != TH_OK ||
        (rc = s_need_ministry_of(call, m->state_code,
                                 "unassigning an integration manager")) != TH_OK)
        return rc;
    registry_assignment_t *before = NULL, *after = NULL;
    rc = registry_store_active_assignment(call, m->id, req->ags, end_date, &before);
    if (rc == TH_ENOTFOUND)
        return th_call_error(call, TH_NOT_FOUND,
                             "manager %s has no assignment to %s active on %s", m->id,
                             req->ags, end_date);
    if (rc != 0)
        return s_db_fail(call, "read the assignment");
    if (registry_store_end_assignment(call, before->id, end_date, &after) != 0)
        return s_db_fail(call, "end the assignment");
    const char *resource = th_call_printf(call, "managers/%s", m->id);
    if ((rc = s_record(call, resource, &before->base, &after->base,
                       "manager.unassigned")) != TH_OK)
        return rc;
    *response = &after->base;
    return TH_OK;
}

static int
s_list_managers(th_call_t *call, const ProtobufCMessage *request,
                ProtobufCMessage **response)
{
    const Teilhabe__Registry__V1__ListManagersRequest *req = (const void *) request;
    char as_of[TH_DATE_LEN + 1];
    int limit = 0, rc;
    char *offset_text = NULL;
    if ((rc = s_need_principal(call)) != TH_OK ||
        (rc = s_check_state(call, "state_code", req->state_code, true)) != TH_OK)
        return rc;
    if (req->ags[0] != '\0' && (rc = s_check_ags(call, "ags", req->ags)) != TH_OK)
        return rc;
    if ((rc = s_page_size(call, "page_size", req->page_size, S_PAGE_DEFAULT, S_PAGE_MAX,
                          &limit)) != TH_OK ||
        (rc = s_token_decode(call, req->page_token, 'o', &offset_text)) != TH_OK ||
        (rc = s_as_of(call, "as_of", req->as_of, as_of)) != TH_OK)
        return rc;
    int64_t offset = 0;
    if (offset_text != NULL) {
        char *end = NULL;
        offset = strtoll(offset_text, &end, 10);
        if (end == offset_text || *end != '\0' || offset < 1)
            return s_invalid(call, "page_token", "not a token this method returned");
    }
    if (req->ags[0] != '\0') {
        registry_district_t *d = NULL;
        rc = registry_store_get_district(call, req->ags, &d);
        if (rc == TH_ENOTFOUND)
            return s_invalid(call, "ags", "no district with AGS %s is known", req->ags);
        if (rc != 0)
            return s_db_fail(call, "read the district");
    }
    Teilhabe__Registry__V1__ListManagersResponse *resp = th_call_alloc(call, sizeof *resp);
    teilhabe__registry__v1__list_managers_response__init(resp);
    if (registry_store_list_managers(call, req->state_code[0] ? req->state_code : NULL,
                                     req->ags[0] ? req->ags : NULL, as_of, offset,
                                     limit + 1, &resp->managers, &resp->n_managers) != 0)
        return s_db_fail(call, "list the managers");
    if (resp->n_managers > (size_t) limit) {
        resp->n_managers = (size_t) limit;
        resp->next_page_token = th_call_printf(call, "o:%" PRId64, offset + limit);
    }
    for (size_t i = 0; i < resp->n_managers; i++) {
        registry_manager_t *m = resp->managers[i];
        if (registry_store_list_assignments(call, m->id, as_of, &m->assignments,
                                            &m->n_assignments) != 0)
            return s_db_fail(call, "read the assignments");
    }
    *response = &resp->base;
    return TH_OK;
}

/* --- principals --------------------------------------------------------- */

static bool
s_z85_key(const char *key)
{
    static const char alphabet[] =
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
        ".-:+=^!/*?&<>()[]{}@%$#";
    if (key == NULL || strlen(key) != 40)
        return false;
    for (size_t i = 0; i < 40; i++) {
        if (strchr(alphabet, key[i]) == NULL)
            return false;
    }
    return true;
}

/* A principal id from a display name: folded, ASCII letters and digits
 * kept, everything else one '-'. */
static char *
s_id_from_name(th_call_t *call, const char *name)
{
    char *folded = th_text_fold(name, true);
    if (folded == NULL)
        return th_call_strdup(call, "");
    char *id = th_call_alloc(call, 65);
    size_t o = 0;
    for (size_t i = 0; folded[i] != '\0' && o < 64; i++) {
        const char c = folded[i];
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
            id[o++] = c;
        else if (o > 0 && id[o - 1] != '-')
            id[o++] = '-';
    }
    while (o > 0 && id[o - 1] == '-')
        o--;
    id[o] = '\0';
    free(folded);
    return id;
}

static int
s_create_principal(th_call_t *call, const ProtobufCMessage *request,
                   ProtobufCMessage **response)
{
    const Teilhabe__Registry__V1__CreatePrincipalRequest *req = (const void *) request;
    int rc;
    if ((rc = s_need_admin(call, "creating a principal")) != TH_OK)
        return rc;
    if (req->principal == NULL)
        return s_invalid(call, "principal", "is required");
    registry_principal_t *p = th_call_alloc(call, sizeof *p);
    *p = *req->principal;
    if ((rc = s_check_line(call, "principal.name", p->name, 1, S_NAME_MAX)) != TH_OK)
        return rc;
    if (p->id[0] == '\0')
        p->id = s_id_from_name(call, p->name);
    if (!s_principal_id_valid(p->id))
        return s_invalid(
            call, "principal.id",
            "\"%.64s\" must be 1 to 64 of a-z, 0-9, '.', '_', '-' starting with a "
            "letter or digit",
            p->id);
    if (!th_auth_role_valid(p->role))
        return s_invalid(
            call, "principal.role",
            "\"%.32s\" is not one of admin, ministry, manager, analyst, service", p->role);
    if ((rc = s_check_state(call, "principal.state_scope", p->state_scope, true)) != TH_OK)
        return rc;
    if ((strcmp(p->role, "ministry") == 0 || strcmp(p->role, "manager") == 0) &&
        p->state_scope[0] == '\0')
        return s_invalid(call, "principal.state_scope", "role %s needs a Land", p->role);
    if (p->n_district_scope > S_DISTRICT_SCOPE_MAX)
        return s_invalid(call, "principal.district_scope",
                         "has %zu entries, at most %d allowed", p->n_district_scope,
                         S_DISTRICT_SCOPE_MAX);
    if (p->n_district_scope > 0 && strcmp(p->role, "manager") != 0)
        return s_invalid(call, "principal.district_scope",
                         "only role manager has districts");
    for (size_t i = 0; i < p->n_district_scope; i++) {
        const char *ags = p->district_scope[i];
        if ((rc = s_check_ags(call, "principal.district_scope", ags)) != TH_OK)
            return rc;
        for (size_t k = 0; k < i; k++) {
            if (strcmp(p->district_scope[k], ags) == 0)
                return s_invalid(call, "principal.district_scope", "%s is named twice",
                                 ags);
        }
        registry_district_t *d = NULL;
        rc = registry_store_get_district(call, ags, &d);
        if (rc == TH_ENOTFOUND)
            return s_invalid(call, "principal.district_scope",
                             "no district with AGS %s is known", ags);
        if (rc != 0)
            return s_db_fail(call, "read the district");
        if (strcmp(d->state_code, p->state_scope) != 0)
            return s_invalid(call, "principal.district_scope",
                             "district %s is not in Land %s", ags, p->state_scope);
    }
    if (!s_z85_key(p->public_key))
        return s_invalid(call, "principal.public_key",
                         "must be a Z85-encoded CURVE public key of 40 characters");
    S_BEGIN_WRITE(call);
    const char *conflict = NULL;
    if (registry_store_principal_conflict(call, p->id, p->public_key, &conflict) != 0)
        return s_db_fail(call, "read the principals");
    if (conflict != NULL) {
        th_call_violation(
            call, strcmp(conflict, "id") == 0 ? "principal.id" : "principal.public_key",
            "already registered");
        return th_call_error(call, TH_ALREADY_EXISTS,
                             "a principal with this %s exists already%s%s",
                             strcmp(conflict, "id") == 0 ? "id" : "public key",
                             strcmp(conflict, "id") == 0 ? ": " : "",
                             strcmp(conflict, "id") == 0 ? p->id : "");
    }
    registry_principal_t *created = NULL;
    if (registry_store_create_principal(call, p, &created) != 0)
        return s_db_fail(call, "create the principal");
    const char *resource = th_call_printf(call, "principals/%s", created->id);
    if ((rc = s_record(call, resource, NULL, &created->base, "principal.created")) != TH_OK)
        return rc;
    th_log_info(th_call_id(call), "principal created", "id=%s role=%s", created->id,
                created->role);
    *response = &created->base;
    return TH_OK;
}

static int
s_list_principals(th_call_t *call, const ProtobufCMessage *request,
                  ProtobufCMessage **response)
{
    const Teilhabe__Registry__V1__ListPrincipalsRequest *req = (const void *) request;
    int limit = 0, rc;
    char *after = NULL;
    if ((rc = s_need_admin(call, "listing principals")) != TH_OK)
        return rc;
    if (req->role[0] != '\0' && !th_auth_role_valid(req->role))
        return s_invalid(
            call, "role",
            "\"%.32s\" is not one of admin, ministry, manager, analyst, service",
            req->role);
    if ((rc = s_page_size(call, "page_size", req->page_size, S_PAGE_DEFAULT, S_PAGE_MAX,
                          &limit)) != TH_OK ||
        (rc = s_token_decode(call, req->page_token, 'p', &after)) != TH_OK)
        return rc;
    Teilhabe__Registry__V1__ListPrincipalsResponse *resp =
        th_call_alloc(call, sizeof *resp);
    teilhabe__registry__v1__list_principals_response__init(resp);
    if (registry_store_list_principals(call, req->include_revoked,
                                       req->role[0] ? req->role : NULL, after, limit + 1,
                                       &resp->principals, &resp->n_principals) != 0)
        return s_db_fail(call, "list the principals");
    if (resp->n_principals > (size_t) limit) {
        resp->n_principals = (size_t) limit;
        resp->next_page_token = s_token(call, 'p', resp->principals[limit - 1]->id);
    }
    *response = &resp->base;
    return TH_OK;
}

static int
s_revoke_principal(th_call_t *call, const ProtobufCMessage *request,
                   ProtobufCMessage **response)
{
    const Teilhabe__Registry__V1__RevokePrincipalRequest *req = (const void *) request;
    int rc;
    if ((rc = s_need_admin(call, "revoking a principal")) != TH_OK)
        return rc;
    if (!s_principal_id_valid(req->id))
        return s_invalid(call, "id", "\"%.64s\" is not a principal id", req->id);
    S_BEGIN_WRITE(call);
    registry_principal_t *p = NULL;
    rc = registry_store_revoke_principal(call, req->id, &p);
    if (rc == TH_ENOTFOUND)
        return th_call_error(call, TH_NOT_FOUND, "no principal has the id \"%s\"", req->id);
    if (rc == TH_ESTATE)
        return th_call_error(call, TH_FAILED_PRECONDITION,
                             "principal \"%s\" was revoked at %s", req->id, p->revoke_time);
    if (rc != 0)
        return s_db_fail(call, "revoke the principal");
    registry_principal_t before = *p;
    before.revoke_time = "";
    const char *resource = th_call_printf(call, "principals/%s", p->id);
    if ((rc = s_record(call, resource, &before.base, &p->base, "principal.revoked")) !=
        TH_OK)
        return rc;
    th_log_info(th_call_id(call), "principal revoked", "id=%s", p->id);
    *response = &p->base;
    return TH_OK;
}

/* --- events ------------------------------------------------------------- */

static const char *
s_payload_type(const char *topic)
{
    if (strncmp(topic, "district.", 9) == 0)
        return "teilhabe.registry.v1.District";
    if (strncmp(topic, "territorial_change.", 19) == 0)
        return "teilhabe.registry.v1.TerritorialChange";
    if (strncmp(topic, "concept.", 8) == 0)
        return "teilhabe.registry.v1.Concept";
    if (strcmp(topic, "manager.assigned") == 0 || strcmp(topic, "manager.unassigned") == 0)
        return "teilhabe.registry.v1.Assignment";
    if (strncmp(topic, "manager.", 8) == 0)
        return "teilhabe.registry.v1.Manager";
    if (strncmp(topic, "principal.", 10) == 0)
        return "teilhabe.registry.v1.Principal";
    return "";
}

static int
s_list_events(th_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **response)
{
    const Teilhabe__Registry__V1__ListEventsRequest *req = (const void *) request;
    int limit = 0, rc;
    if ((rc = s_need_principal(call)) != TH_OK)
        return rc;
    if (req->after_sequence < 0)
        return s_invalid(call, "after_sequence", "must be 0 or a sequence number");
    if ((rc = s_page_size(call, "limit", req->limit, S_EVENTS_DEFAULT, S_EVENTS_MAX,
                          &limit)) != TH_OK)
        return rc;
    Teilhabe__Registry__V1__ListEventsResponse *resp = th_call_alloc(call, sizeof *resp);
    teilhabe__registry__v1__list_events_response__init(resp);
    if (registry_store_list_events(call, req->after_sequence, limit, &resp->events,
                                   &resp->n_events) != 0)
        return s_db_fail(call, "list the events");
    resp->last_sequence = req->after_sequence;
    for (size_t i = 0; i < resp->n_events; i++) {
        resp->events[i]->payload_type = (char *) s_payload_type(resp->events[i]->topic);
        resp->last_sequence = resp->events[i]->sequence;
    }
    *response = &resp->base;
    return TH_OK;
}

/* --- the table ---------------------------------------------------------- */

static const struct {
    const char *name;
    th_method_fn fn;
} s_table[] = {
    {"GetDistrict", s_get_district},
    {"ListDistricts", s_list_districts},
    {"SearchDistricts", s_search_districts},
    {"ListStates", s_list_states},
    {"GetTerritorialHistory", s_get_history},
    {"RecordTerritorialChange", s_record_change},
    {"SetConcept", s_set_concept},
    {"GetConcept", s_get_concept},
    {"ListConcepts", s_list_concepts},
    {"ListConceptVersions", s_list_concept_versions},
    {"CreateManager", s_create_manager},
    {"UpdateManager", s_update_manager},
    {"GetManager", s_get_manager},
    {"AssignManager", s_assign_manager},
    {"UnassignManager", s_unassign_manager},
    {"ListManagers", s_list_managers},
    {"CreatePrincipal", s_create_principal},
    {"ListPrincipals", s_list_principals},
    {"RevokePrincipal", s_revoke_principal},
    {"ListEvents", s_list_events},
};

int
registry_handlers_fill(const ProtobufCServiceDescriptor *desc, th_method_fn *out)
{
    for (unsigned i = 0; i < desc->n_methods; i++) {
        out[i] = NULL;
        for (size_t k = 0; k < sizeof s_table / sizeof s_table[0]; k++) {
            if (strcmp(desc->methods[i].name, s_table[k].name) == 0)
                out[i] = s_table[k].fn;
        }
        if (out[i] == NULL)
            return TH_EINVAL;
    }
    return 0;
}
