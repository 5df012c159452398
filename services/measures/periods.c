/* ---------------------------------------------------------------------------
 * periods.c: what the handlers of per-period records share: a district and
 * period from a request, the read rule for them, and the lock of approved
 * periods (docs/measures.md, "Periods").
 * ---------------------------------------------------------------------------
 */
#include "measures.h"

#include <stdio.h>
#include <string.h>

#include "th_answer.h"
#include "th_auth.h"
#include "th_field.h"
#include "th_period.h"
#include "th_status.h"

int
measures_check_period(th_call_t *call, const char *ags_field, const char *ags,
                      const char *period_field, const char *period,
                      char first[TH_DATE_LEN + 1], char last[TH_DATE_LEN + 1])
{
    th_period_t p;
    int rc;
    if ((ags_field != NULL && (rc = th_field_ags(call, ags_field, ags)) != TH_OK) ||
        (rc = th_field_period(call, period_field, period, false, &p)) != TH_OK)
        return rc;
    th_period_first_day(&p, first);
    th_period_last_day(&p, last);
    return TH_OK;
}

int
measures_need_reader(th_call_t *call, const char *ags, bool records, const char *what)
{
    int rc = th_auth_need_principal(call);
    if (rc != TH_OK)
        return rc;
    const th_principal_t *p = th_call_principal(call);
    char land[3];
    snprintf(land, sizeof land, "%.2s", ags);
    if (records ? th_auth_reads_records(p, land) : th_auth_reads_aggregates(p, land))
        return TH_OK;
    return th_auth_deny(
        call, th_call_printf(call, "reading %s of district %s", what, ags),
        th_call_printf(call,
                       records ? "role admin, or ministry, manager or service of Land %s"
                               : "role admin, or ministry, manager, analyst or service of "
                                 "Land %s (or without a Land)",
                       land));
}

int
measures_check_unlocked(th_call_t *call, char *const *ags, char *const *first,
                        char *const *last, size_t n)
{
    submission_t *approved = NULL;
    if (measures_store_lock_periods(call, ags, first, last, n, &approved) != 0)
        return th_answer_db_failure(call, "read the submissions");
    return measures_locked_answer(call, approved);
}

int
measures_locked_answer(th_call_t *call, const submission_t *approved)
{
    if (approved == NULL)
        return TH_OK;
    return th_call_error(call, TH_FAILED_PRECONDITION,
                         "period %s of district %s was approved by %s on %s: its indicator "
                         "values, self-assessment and reach figures of every period that "
                         "overlaps it are locked until the ministry of Land %s reopens it "
                         "(Reopen)",
                         approved->period, approved->ags, approved->decided_by,
                         approved->decide_time, approved->state_code);
}
