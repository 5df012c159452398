/* ---------------------------------------------------------------------------
 * checks.h: what every Registry handler file shares: the answers (invalid
 * argument, database failure, missing rights), the checks of common fields
 * (AGS, Land code, dates, as_of, page size and token, one-line text, update
 * masks) and the audit-and-event record of a write.
 *
 * Each check returns TH_OK, or the status it already recorded on the call
 * with th_call_error, which the handler returns as it is:
 *     if ((rc = registry_check_ags(call, "ags", req->ags)) != TH_OK)
 *         return rc;
 * ---------------------------------------------------------------------------
 */
#ifndef REGISTRY_CHECKS_H
#define REGISTRY_CHECKS_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "th_date.h"
#include "th_worker.h"

/* The schema of the registry's outbox (a fixed identifier, never input). */
#define REGISTRY_SCHEMA "registry"

/* Limits shared by several resources (registry.proto, docs/registry.md). */
#define REGISTRY_NAME_MAX 200
#define REGISTRY_PAGE_DEFAULT 100
#define REGISTRY_PAGE_MAX 500

/* --- answers ------------------------------------------------------------ */

/* INVALID_ARGUMENT with one violation naming field; the message repeats it. */
int registry_invalid(th_call_t *call, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Answers a store failure with the database's own status (UNAVAILABLE,
 * DEADLINE_EXCEEDED, ...) and "could not <what>: <why>", without SQL; the
 * details go to the log with the call id. */
int registry_db_fail(th_call_t *call, const char *what);

/* UNAUTHENTICATED unless the broker authenticated the caller. */
int registry_need_principal(th_call_t *call);

/* PERMISSION_DENIED naming right unless the caller has role admin. */
int registry_need_admin(th_call_t *call, const char *right);

/* PERMISSION_DENIED naming right unless the caller is the ministry of Land
 * state_code. */
int registry_need_ministry_of(th_call_t *call, const char *state_code, const char *right);

/* --- checks ------------------------------------------------------------- */

/* True when s is exactly n ASCII digits. */
bool registry_digits(const char *s, size_t n);

int registry_check_ags(th_call_t *call, const char *field, const char *ags);

/* A Land code that exists; "" is accepted when allow_empty. */
int registry_check_state(th_call_t *call, const char *field, const char *code,
                         bool allow_empty);

int registry_check_date(th_call_t *call, const char *field, const char *date,
                        bool allow_empty);

/* Resolves as_of ("" = today) into out; OUT_OF_RANGE before the oldest
 * territorial status the registry holds. */
int registry_as_of(th_call_t *call, const char *field, const char *as_of,
                   char out[TH_DATE_LEN + 1]);

/* 0 = def; above max (or negative) is INVALID_ARGUMENT naming field. */
int registry_page_size(th_call_t *call, const char *field, int32_t value, int def, int max,
                       int *out);

/* Page tokens are "<kind>:<value>", opaque to clients. *value (call memory)
 * is NULL for the first page. */
int registry_token_decode(th_call_t *call, const char *token, char kind, char **value);
char *registry_token(th_call_t *call, char kind, const char *value);

/* A single line of min to max characters (code points). */
int registry_check_line(th_call_t *call, const char *field, const char *s, size_t min,
                        size_t max);

/* The district ags must be known (else INVALID_ARGUMENT) and exist on date
 * (else NOT_FOUND, naming the successor when it has one); *out has its
 * figures of date. */
int registry_district_on(th_call_t *call, const char *field, const char *ags,
                         const char *date, registry_district_t **out);

/* True when field is in mask (an empty mask names every field). */
bool registry_in_mask(char *const *mask, size_t n, const char *field);

/* Every name in mask is one of allowed, each at most once. */
int registry_check_mask(th_call_t *call, char *const *mask, size_t n,
                        const char *const *allowed, size_t n_allowed);

/* [a-z0-9][a-z0-9._-]{0,63} */
bool registry_principal_id_valid(const char *id);

#endif /* REGISTRY_CHECKS_H */
