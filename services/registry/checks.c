/* ---------------------------------------------------------------------------
 * checks.c: the checks that need the registry's own data (see registry.h)
 * ---------------------------------------------------------------------------
 */
#include "registry.h"

#include <stdio.h>
#include <string.h>

#include "th_answer.h"
#include "th_error.h"
#include "th_field.h"
#include "th_status.h"

int
registry_check_state(th_call_t *call, const char *field, const char *code, bool allow_empty)
{
    int rc = th_field_land(call, field, code, allow_empty);
    if (rc != TH_OK || code == NULL || code[0] == '\0')
        return rc;
    bool exists = false;
    if (registry_read_state_exists(call, code, &exists) != 0)
        return th_answer_db_failure(call, "read the Länder");
    if (!exists)
        return th_answer_invalid(call, field, "no Land has the code %s (01 to 16)", code);
    return TH_OK;
}

/* Refuses dates before the oldest territorial status the registry holds:
 * a list for such a date would be silently wrong. */
int
registry_as_of(th_call_t *call, const char *field, const char *as_of,
               char out[TH_DATE_LEN + 1])
{
    if (as_of == NULL || as_of[0] == '\0') {
        th_date_today(out);
        return TH_OK;
    }
    int rc = th_field_date(call, field, as_of, false);
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
        return th_call_error(call, TH_FAILED_PRECONDITION,
                             "the registry holds no districts yet; load the reference data");
    if (rc != 0)
        return th_answer_db_failure(call, "read the oldest territorial status");
    if (strcmp(as_of, earliest) < 0) {
        char why[96];
        snprintf(why, sizeof why, "the earliest date the registry can answer for is %s",
                 earliest);
        return th_answer_field(call, TH_OUT_OF_RANGE, field, why,
                               "%s %s is before %s, the oldest territorial status the "
                               "registry holds; ask for %s or later",
                               field, as_of, earliest, earliest);
    }
    snprintf(out, TH_DATE_LEN + 1, "%s", as_of);
    return TH_OK;
}

int
registry_district_known(th_call_t *call, const char *field, const char *ags,
                        registry_district_t **out)
{
    const int rc = registry_read_district(call, ags, NULL, out);
    if (rc == TH_ENOTFOUND)
        return th_answer_invalid(call, field, "no district with AGS %s is known", ags);
    if (rc != 0)
        return th_answer_db_failure(call, "read the district");
    return TH_OK;
}

int
registry_district_on(th_call_t *call, const char *field, const char *ags, const char *date,
                     registry_district_t **out)
{
    registry_district_t *d = NULL;
    int rc = registry_read_district(call, ags, date, &d);
    if (rc == TH_ENOTFOUND)
        return th_answer_invalid(call, field, "no district with AGS %s is known", ags);
    if (rc != 0)
        return th_answer_db_failure(call, "read the district");
    char why[128];
    if (strcmp(date, d->valid_from) < 0) {
        snprintf(why, sizeof why, "the registry knows %s from %s", ags, d->valid_from);
        return th_answer_field(call, TH_NOT_FOUND, field, why,
                               "district %s (%s) does not exist on %s: the registry knows "
                               "it from %s",
                               ags, d->name, date, d->valid_from);
    }
    if (d->valid_to[0] != '\0' && strcmp(date, d->valid_to) > 0) {
        registry_district_t *succ = NULL;
        const char *succ_name = "";
        if (d->successor_ags[0] != '\0' &&
            registry_read_district(call, d->successor_ags, NULL, &succ) == 0)
            succ_name = succ->name;
        snprintf(why, sizeof why, "ended on %s; successor %s", d->valid_to, d->successor_ags);
        return th_answer_field(call, TH_NOT_FOUND, field, why,
                               "district %s (%s) does not exist on %s: it ended on %s and "
                               "became part of %s (%s)",
                               ags, d->name, date, d->valid_to, d->successor_ags, succ_name);
    }
    *out = d;
    return TH_OK;
}
