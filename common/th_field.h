/* ---------------------------------------------------------------------------
 * th_field.h: checks of request fields inside a handler.
 *
 * The checks of th_check.h, th_date.h, th_period.h, th_text.h and
 * th_enum.h with their answer: each returns TH_OK, or records
 * INVALID_ARGUMENT with a violation naming the field (th_answer_invalid)
 * and returns it, so a handler chains them:
 *     if ((rc = th_field_ags(call, "ags", req->ags)) != TH_OK ||
 *         (rc = th_field_date(call, "as_of", req->as_of, true)) != TH_OK)
 *         return rc;
 * field is the field's path as the client wrote it ("concept.title").
 * ---------------------------------------------------------------------------
 */
#ifndef TH_FIELD_H
#define TH_FIELD_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "th_call.h"
#include "th_period.h"

/* An AGS of 5 digits (required). */
int th_field_ags(th_call_t *call, const char *field, const char *ags);

/* A Land code 01 to 16; "" only when allow_empty. */
int th_field_land(th_call_t *call, const char *field, const char *code, bool allow_empty);

/* A municipality key of 8 digits whose first five are ags (ags NULL: any);
 * "" only when allow_empty. */
int th_field_municipality(th_call_t *call, const char *field, const char *key,
                          const char *ags, bool allow_empty);

/* A date YYYY-MM-DD; "" only when allow_empty. */
int th_field_date(th_call_t *call, const char *field, const char *date, bool allow_empty);

/* Two dates in order: to ("" = open) not before from. Names to_field. */
int th_field_date_order(th_call_t *call, const char *to_field, const char *from,
                        const char *to);

/* A period id (2024, 2024S1, 2024Q3, 2024-05) into out (may be NULL); ""
 * only when allow_empty (out untouched then). */
int th_field_period(th_call_t *call, const char *field, const char *period, bool allow_empty,
                    th_period_t *out);

/* The language of a text asked for: "de" (also for "") or "en"; NULL with
 * INVALID_ARGUMENT recorded in *rc for anything else. */
const char *th_field_lang(th_call_t *call, const char *field, const char *lang, int *rc);

/* One line of min to max characters (code points), no control
 * characters. */
int th_field_line(th_call_t *call, const char *field, const char *s, size_t min, size_t max);

/* Text of several paragraphs (newlines and tabs allowed), min to max
 * characters. */
int th_field_paragraphs(th_call_t *call, const char *field, const char *s, size_t min,
                        size_t max);

/* A value of the enum desc; UNSPECIFIED (0) only when !required. The
 * message names the tokens that are allowed. */
int th_field_enum(th_call_t *call, const char *field, const ProtobufCEnumDescriptor *desc,
                  int value, bool required);

/* "" or an http(s) URL of at most max bytes. */
int th_field_link(th_call_t *call, const char *field, const char *link, size_t max);

/* "" or an e-mail address of at most max bytes. */
int th_field_email(th_call_t *call, const char *field, const char *email, size_t max);

/* A Z85 CURVE public key of 40 characters. */
int th_field_z85_key(th_call_t *call, const char *field, const char *key);

/* A principal id [a-z0-9][a-z0-9._-]{0,63}; "" only when allow_empty. */
int th_field_principal_id(th_call_t *call, const char *field, const char *id,
                          bool allow_empty);

/* A role of th_check_roles; "" only when allow_empty. */
int th_field_role(th_call_t *call, const char *field, const char *role, bool allow_empty);

/* A whole number from min to max. */
int th_field_range(th_call_t *call, const char *field, int64_t value, int64_t min,
                   int64_t max);

/* An amount of euro cents from 0 to TH_MONEY_MAX_CENTS. */
int th_field_cents(th_call_t *call, const char *field, int64_t cents);

/* The update_mask: every name one of allowed, each at most once. */
int th_field_mask(th_call_t *call, char *const *mask, size_t n, const char *const *allowed,
                  size_t n_allowed);

/* A list of at most max entries. */
int th_field_list_size(th_call_t *call, const char *field, size_t n, size_t max);

#endif /* TH_FIELD_H */
