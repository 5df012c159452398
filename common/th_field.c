/* ---------------------------------------------------------------------------
 * th_field.c: checks of request fields with their INVALID_ARGUMENT
 * ---------------------------------------------------------------------------
 */
#include "th_field.h"

#include <inttypes.h>
#include <string.h>

#include "th_answer.h"
#include "th_check.h"
#include "th_date.h"
#include "th_enum.h"
#include "th_error.h"
#include "th_money.h"
#include "th_status.h"
#include "th_text.h"

static bool
s_empty(const char *s)
{
    return s == NULL || s[0] == '\0';
}

int
th_field_ags(th_call_t *call, const char *field, const char *ags)
{
    if (s_empty(ags))
        return th_answer_invalid(call, field, "an AGS (5 digits, e.g. 16068) is required");
    if (!th_check_ags(ags))
        return th_answer_invalid(call, field, "\"%.32s\" is not an AGS of 5 digits", ags);
    return TH_OK;
}

int
th_field_land(th_call_t *call, const char *field, const char *code, bool allow_empty)
{
    if (s_empty(code)) {
        if (allow_empty)
            return TH_OK;
        return th_answer_invalid(call, field, "a Land code (2 digits, e.g. 16) is required");
    }
    if (!th_check_digits(code, 2))
        return th_answer_invalid(call, field, "\"%.32s\" is not a Land code of 2 digits",
                                 code);
    if (!th_check_land(code))
        return th_answer_invalid(call, field, "no Land has the code %s (01 to 16)", code);
    return TH_OK;
}

int
th_field_municipality(th_call_t *call, const char *field, const char *key, const char *ags,
                      bool allow_empty)
{
    if (s_empty(key)) {
        if (allow_empty)
            return TH_OK;
        return th_answer_invalid(call, field,
                                 "a municipality key (8 digits, e.g. 16068001) is required");
    }
    if (!th_check_municipality(key))
        return th_answer_invalid(call, field,
                                 "\"%.32s\" is not a municipality key of 8 digits", key);
    if (ags != NULL && strncmp(key, ags, 5) != 0)
        return th_answer_invalid(call, field,
                                 "%s is not a municipality of district %s (its key begins "
                                 "with the AGS)",
                                 key, ags);
    return TH_OK;
}

int
th_field_date(th_call_t *call, const char *field, const char *date, bool allow_empty)
{
    if (s_empty(date)) {
        if (allow_empty)
            return TH_OK;
        return th_answer_invalid(call, field, "a date YYYY-MM-DD is required");
    }
    if (!th_date_valid(date))
        return th_answer_invalid(call, field, "\"%.32s\" is not a date YYYY-MM-DD", date);
    return TH_OK;
}

int
th_field_date_order(th_call_t *call, const char *to_field, const char *from, const char *to)
{
    if (!s_empty(from) && !s_empty(to) && strcmp(to, from) < 0)
        return th_answer_invalid(call, to_field, "%s is before %s", to, from);
    return TH_OK;
}

int
th_field_period(th_call_t *call, const char *field, const char *period, bool allow_empty,
                th_period_t *out)
{
    if (s_empty(period)) {
        if (allow_empty)
            return TH_OK;
        return th_answer_invalid(call, field,
                                 "a period is required (2024, 2024S1, 2024Q3 or 2024-05)");
    }
    th_period_t p;
    if (th_period_parse(period, &p) != 0)
        return th_answer_invalid(call, field,
                                 "\"%.32s\" is not a period: a year (2024), half (2024S1), "
                                 "quarter (2024Q3) or month (2024-05)",
                                 period);
    if (out != NULL)
        *out = p;
    return TH_OK;
}

const char *
th_field_lang(th_call_t *call, const char *field, const char *lang, int *rc)
{
    *rc = TH_OK;
    if (s_empty(lang) || strcmp(lang, "de") == 0)
        return "de";
    if (strcmp(lang, "en") == 0)
        return "en";
    *rc = th_answer_invalid(call, field, "must be \"de\" or \"en\", not \"%.16s\"", lang);
    return NULL;
}

int
th_field_line(th_call_t *call, const char *field, const char *s, size_t min, size_t max)
{
    if (th_text_is_line(s != NULL ? s : "", min, max))
        return TH_OK;
    if (min > 0 && s_empty(s))
        return th_answer_invalid(call, field, "must not be empty");
    return th_answer_invalid(call, field, "must be %zu to %zu characters on one line", min,
                             max);
}

int
th_field_paragraphs(th_call_t *call, const char *field, const char *s, size_t min,
                    size_t max)
{
    if (th_text_is_paragraphs(s != NULL ? s : "", min, max))
        return TH_OK;
    if (min > 0 && s_empty(s))
        return th_answer_invalid(call, field, "must not be empty");
    return th_answer_invalid(call, field,
                             "must be %zu to %zu characters without control characters "
                             "(newlines and tabs are fine)",
                             min, max);
}

int
th_field_enum(th_call_t *call, const char *field, const ProtobufCEnumDescriptor *desc,
              int value, bool required)
{
    if (th_enum_valid(desc, value, !required))
        return TH_OK;
    char tokens[512];
    th_enum_tokens(desc, tokens, sizeof tokens);
    if (value == 0)
        return th_answer_invalid(call, field, "is required: one of %s", tokens);
    return th_answer_invalid(call, field, "%d is not a %s; one of %s", value, desc->short_name,
                             tokens);
}

int
th_field_link(th_call_t *call, const char *field, const char *link, size_t max)
{
    const char *why = th_check_link(link, max);
    if (why == NULL)
        return TH_OK;
    if (strcmp(why, "is too long") == 0)
        return th_answer_invalid(call, field, "has %zu bytes, at most %zu allowed",
                                 strlen(link), max);
    return th_answer_invalid(call, field, "%s", why);
}

int
th_field_email(th_call_t *call, const char *field, const char *email, size_t max)
{
    if (s_empty(email) || th_check_email(email, max))
        return TH_OK;
    return th_answer_invalid(call, field, "\"%.64s\" is not an e-mail address (at most %zu bytes)",
                             email, max);
}

int
th_field_z85_key(th_call_t *call, const char *field, const char *key)
{
    if (th_check_z85_key(key))
        return TH_OK;
    return th_answer_invalid(call, field,
                             "must be a Z85-encoded CURVE public key of 40 characters");
}

int
th_field_principal_id(th_call_t *call, const char *field, const char *id, bool allow_empty)
{
    if (s_empty(id) && allow_empty)
        return TH_OK;
    if (th_check_principal_id(id))
        return TH_OK;
    return th_answer_invalid(call, field,
                             "\"%.64s\" is not a principal id: 1 to 64 of a-z, 0-9, '.', "
                             "'_', '-' starting with a letter or digit",
                             id != NULL ? id : "");
}

int
th_field_role(th_call_t *call, const char *field, const char *role, bool allow_empty)
{
    if ((s_empty(role) && allow_empty) || th_check_role(role))
        return TH_OK;
    return th_answer_invalid(call, field, "\"%.32s\" is not one of " TH_CHECK_ROLES_TEXT,
                             role != NULL ? role : "");
}

int
th_field_range(th_call_t *call, const char *field, int64_t value, int64_t min, int64_t max)
{
    if (value >= min && value <= max)
        return TH_OK;
    return th_answer_invalid(call, field, "%" PRId64 " is outside %" PRId64 " to %" PRId64,
                             value, min, max);
}

int
th_field_cents(th_call_t *call, const char *field, int64_t cents)
{
    if (cents >= 0 && cents <= TH_MONEY_MAX_CENTS)
        return TH_OK;
    return th_answer_invalid(call, field,
                             "%" PRId64 " is not an amount of euro cents from 0 to %lld",
                             cents, (long long) TH_MONEY_MAX_CENTS);
}

int
th_field_mask(th_call_t *call, char *const *mask, size_t n, const char *const *allowed,
              size_t n_allowed)
{
    size_t bad = 0;
    const int rc = th_check_mask(mask, n, allowed, n_allowed, &bad);
    if (rc == TH_EINVAL)
        return th_answer_invalid(call, "update_mask", "\"%.64s\" is not a writable field",
                                 mask[bad] != NULL ? mask[bad] : "");
    if (rc != 0)
        return th_answer_invalid(call, "update_mask", "\"%s\" is named twice", mask[bad]);
    return TH_OK;
}

int
th_field_list_size(th_call_t *call, const char *field, size_t n, size_t max)
{
    if (n <= max)
        return TH_OK;
    return th_answer_invalid(call, field, "has %zu entries, at most %zu allowed", n, max);
}
