/* ---------------------------------------------------------------------------
 * reach.c: whom a measure reached in a period: SetReach (with the version
 * last read) and ListReach.
 *
 * Counts only, never data about a person: participants in total, and of
 * them how many are known to have a migration history and how many known
 * not to; the parts never exceed the total (the rest: not known). Written
 * by whoever writes the measure's district's figures, once the measure is
 * active; read by whoever reads its aggregates; an approved period locks
 * it.
 * ---------------------------------------------------------------------------
 */
#include "measures.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "teilhabe/v1/measures.pb-c.h"
#include "th_answer.h"
#include "th_auth.h"
#include "th_error.h"
#include "th_field.h"
#include "th_status.h"

/* The counts of r: each 0 to MEASURES_REACH_MAX, the parts (alone and
 * together) never above the total. */
static int
s_check_counts(th_call_t *call, const reach_t *r)
{
    int rc;
    if ((rc = th_field_range(call, "reach.participants_total", r->participants_total, 0,
                             MEASURES_REACH_MAX)) != TH_OK ||
        (rc = th_field_range(call, "reach.with_migration_history",
                             r->with_migration_history, 0, MEASURES_REACH_MAX)) != TH_OK ||
        (rc = th_field_range(call, "reach.without_migration_history",
                             r->without_migration_history, 0, MEASURES_REACH_MAX)) != TH_OK)
        return rc;
    if (r->with_migration_history > r->participants_total)
        return th_answer_invalid(call, "reach.with_migration_history",
                                 "%" PRId64 " is more than the %" PRId64 " participants in total",
                                 r->with_migration_history, r->participants_total);
    if (r->without_migration_history > r->participants_total)
        return th_answer_invalid(call, "reach.without_migration_history",
                                 "%" PRId64 " is more than the %" PRId64 " participants in total",
                                 r->without_migration_history, r->participants_total);
    if (r->with_migration_history + r->without_migration_history > r->participants_total)
        return th_answer_invalid(call, "reach.without_migration_history",
                                 "with (%" PRId64 ") and without migration history (%" PRId64
                                 ") together are more than the %" PRId64
                                 " participants in total",
                                 r->with_migration_history, r->without_migration_history,
                                 r->participants_total);
    return TH_OK;
}

/* The measure a reach figure is about; NOT_FOUND names its id. */
static int
s_measure(th_call_t *call, const char *id, measure_t **out)
{
    int rc = measures_store_get(call, id, false, out);
    if (rc == TH_ENOTFOUND)
        return th_call_error(call, TH_NOT_FOUND, "no measure has the id \"%s\"", id);
    if (rc != 0)
        return th_answer_db_failure(call, "read the measure");
    return TH_OK;
}

MEASURES_HANDLER(measures_reach_set)
{
    static const char right[] = "recording the reach of a measure";
    const Teilhabe__Measures__V1__SetReachRequest *req = (const void *) request;
    const reach_t *in = req->reach;
    char first[TH_DATE_LEN + 1], last[TH_DATE_LEN + 1];
    measure_t *m = NULL;
    int rc;
    if ((rc = measures_need_writer(call, right)) != TH_OK)
        return rc;
    if (in == NULL)
        return th_answer_invalid(call, "reach", "the figures are required");
    if ((rc = measures_check_id(call, "reach.measure_id", in->measure_id)) != TH_OK ||
        (rc = measures_check_period(call, NULL, NULL, "reach.period", in->period, first,
                                    last)) != TH_OK ||
        (rc = s_check_counts(call, in)) != TH_OK ||
        (rc = th_field_range(call, "version", req->version, 0, INT64_MAX)) != TH_OK ||
        (rc = s_measure(call, in->measure_id, &m)) != TH_OK)
        return rc;
    /* The district of a measure never changes: the right decided here
     * holds inside the transaction. Decided before anything of the measure
     * is told. */
    if ((rc = measures_check_write(
             call, "reach.measure_id", m->ags, NULL,
             th_call_printf(call, "recording the reach of a measure of district %s", m->ags))) !=
        TH_OK)
        return rc;
    /* A planned measure has reached nobody yet (and DeleteMeasure, which
     * only a planned one allows, so never takes reach figures with it). */
    if (m->status == TEILHABE__MEASURES__V1__MEASURE_STATUS__MEASURE_STATUS_PLANNED)
        return th_call_error(call, TH_FAILED_PRECONDITION,
                             "measure %s is planned: its reach is recorded once it is active "
                             "(TransitionMeasure)",
                             m->id);
    /* The period must overlap the measure's run. */
    if (m->start_date[0] != '\0' && strcmp(last, m->start_date) < 0)
        return th_answer_invalid(call, "reach.period",
                                 "%s ends before measure %s starts on %s", in->period, m->id,
                                 m->start_date);
    if (m->end_date[0] != '\0' && strcmp(first, m->end_date) > 0)
        return th_answer_invalid(call, "reach.period",
                                 "%s begins after measure %s ended on %s", in->period, m->id,
                                 m->end_date);

    TH_CALL_BEGIN_WRITE(call);
    char *ags[] = {m->ags}, *firsts[] = {first}, *lasts[] = {last};
    if ((rc = measures_check_unlocked(call, ags, firsts, lasts, 1)) != TH_OK)
        return rc;
    reach_t *before = NULL, *after = NULL;
    rc = measures_store_get_reach(call, in->measure_id, in->period, true, &before);
    if (rc != 0 && rc != TH_ENOTFOUND)
        return th_answer_db_failure(call, "read the reach");
    const int64_t current = before != NULL ? before->version : 0;
    if (current != req->version)
        return th_call_error(call, TH_FAILED_PRECONDITION,
                             "the reach of measure %s in %s is at version %" PRId64
                             ", not %" PRId64 "; read it again (ListReach) and retry",
                             in->measure_id, in->period, current, req->version);
    /* The figures as they are stored: nothing to write, no new version,
     * no event (as PutValues does with a value given again). */
    if (before != NULL && before->participants_total == in->participants_total &&
        before->with_migration_history == in->with_migration_history &&
        before->without_migration_history == in->without_migration_history) {
        *response = &before->base;
        return TH_OK;
    }
    rc = measures_store_set_reach(call, in, first, last, current + 1,
                                  th_call_principal(call)->id, &after);
    if (rc == TH_ESTATE)
        return th_call_error(call, TH_FAILED_PRECONDITION,
                             "the reach of measure %s in %s was written meanwhile; read it "
                             "again (ListReach) and retry",
                             in->measure_id, in->period);
    if (rc != 0)
        return th_answer_db_failure(call, "write the reach");
    if ((rc = th_call_record(call,
                             th_call_printf(call, "districts/%s/measures/%s/reach/%s", m->ags,
                                            in->measure_id, in->period),
                             before != NULL ? &before->base : NULL, &after->base, "reach.set",
                             &after->base)) != TH_OK)
        return rc;
    *response = &after->base;
    return TH_OK;
}

MEASURES_HANDLER(measures_reach_list)
{
    const Teilhabe__Measures__V1__ListReachRequest *req = (const void *) request;
    int rc;
    if ((rc = th_auth_need_principal(call)) != TH_OK)
        return rc;
    const bool by_measure = req->measure_id[0] != '\0';
    if (!by_measure && req->ags[0] == '\0')
        return th_answer_invalid(call, "measure_id",
                                 "name a measure (measure_id) or a district (ags)");
    if (by_measure && req->ags[0] != '\0')
        return th_answer_invalid(call, "ags", "name a measure or a district, not both");
    char first[TH_DATE_LEN + 1], last[TH_DATE_LEN + 1];
    if (req->period[0] != '\0' &&
        (rc = measures_check_period(call, NULL, NULL, "period", req->period, first, last)) !=
            TH_OK)
        return rc;
    const char *ags = req->ags;
    if (by_measure) {
        measure_t *m = NULL;
        if ((rc = measures_check_id(call, "measure_id", req->measure_id)) != TH_OK ||
            (rc = s_measure(call, req->measure_id, &m)) != TH_OK)
            return rc;
        ags = m->ags;
    } else if ((rc = th_field_ags(call, "ags", ags)) != TH_OK) {
        return rc;
    }
    if ((rc = measures_need_reader(call, ags, false, "the reach of the measures")) != TH_OK)
        return rc;
    Teilhabe__Measures__V1__ListReachResponse *resp = th_call_alloc(call, sizeof *resp);
    teilhabe__measures__v1__list_reach_response__init(resp);
    if (measures_store_list_reach(call, by_measure ? req->measure_id : NULL,
                                  by_measure ? NULL : ags,
                                  req->period[0] != '\0' ? req->period : NULL,
                                  MEASURES_REACH_LIST_MAX + 1, &resp->reach,
                                  &resp->n_reach) != 0)
        return th_answer_db_failure(call, "list the reach");
    if (resp->n_reach > MEASURES_REACH_LIST_MAX)
        return th_call_error(call, TH_OUT_OF_RANGE,
                             "more than %d reach figures match; name a period%s",
                             MEASURES_REACH_LIST_MAX, by_measure ? "" : " or a measure");
    *response = &resp->base;
    return TH_OK;
}
