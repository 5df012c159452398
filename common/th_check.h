/* ---------------------------------------------------------------------------
 * th_check.h: checks of the values teilhabe exchanges, as pure functions.
 *
 * One place for each: an AGS, a Land code, a municipality key, a count, a
 * CURVE key, a role, a principal id, an e-mail address, a link, an update
 * mask. Services answer a failed check with INVALID_ARGUMENT naming the
 * field (th_field.h wraps these for handlers); the broker, the key tool,
 * seeding and the CLI call them directly. Dates are in th_date.h, periods
 * in th_period.h, euro amounts in th_money.h, text lengths in th_text.h,
 * enum values in th_enum.h.
 * ---------------------------------------------------------------------------
 */
#ifndef TH_CHECK_H
#define TH_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when s is exactly n ASCII digits (NULL: false). */
bool th_check_digits(const char *s, size_t n);

/* An AGS (Kreisschlüssel): exactly 5 ASCII digits ("16068"). Whether a
 * district has it is for the registry to say. */
bool th_check_ags(const char *s);

/* A Land code: 2 digits from 01 to 16 ("16"). */
bool th_check_land(const char *s);

/* A municipality key (Gemeindeschlüssel): exactly 8 digits ("16068001");
 * its first five are the AGS of its district. */
bool th_check_municipality(const char *s);

/* A count: 1 to max_digits decimal digits (no sign, no spaces) into *out.
 * max_digits is at most 18, so the value fits an int64_t. */
bool th_check_count(const char *s, size_t max_digits, int64_t *out);

/* A CURVE public key: 40 Z85 characters that decode to 32 bytes. */
bool th_check_z85_key(const char *s);

/* The user roles of DESIGN.md, NULL-terminated, and the same as text for
 * messages. "worker" is no user role: a worker key may connect to the
 * broker's backend only. */
extern const char *const th_check_roles[];
#define TH_CHECK_ROLES_TEXT "admin, ministry, manager, analyst, service"

/* True when role is one of th_check_roles. */
bool th_check_role(const char *role);

/* A principal id: [a-z0-9][a-z0-9._-]{0,63}. */
bool th_check_principal_id(const char *id);

/* An id the services make: a UUID as gen_random_uuid()::text writes it,
 * 8-4-4-4-12 lowercase hex digits. */
bool th_check_uuid(const char *id);

/* An e-mail address as teilhabe keeps one: at most max bytes, exactly one
 * '@' with something before and after it, no spaces or control
 * characters. Deliverability is not checked. */
bool th_check_email(const char *s, size_t max);

/* A link: "" (none), or an http:// or https:// URL with a host, at most
 * max bytes, without spaces or control characters. NULL when s is fine,
 * else why not, as a phrase for a message ("must start with https:// or
 * http://"). */
const char *th_check_link(const char *s, size_t max);

/* --- update masks (AIP-134) ------------------------------------------ */

/* True when field is in mask (an empty mask names every field). */
bool th_check_mask_has(char *const *mask, size_t n, const char *field);

/* Every name in mask is one of allowed, each at most once. 0, TH_EINVAL
 * when mask[*bad] is not allowed, TH_ESTATE when mask[*bad] is named
 * twice. */
int th_check_mask(char *const *mask, size_t n, const char *const *allowed, size_t n_allowed,
                  size_t *bad);

#endif /* TH_CHECK_H */
