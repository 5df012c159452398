/* ---------------------------------------------------------------------------
 * measures_write.c: the changes of a measure after its creation:
 * UpdateMeasure (its fields, by update mask), TransitionMeasure (its
 * status: planned -> active -> completed, planned | active -> cancelled)
 * and DeleteMeasure (only while planned). Each names the version it read
 * (optimistic concurrency: another is FAILED_PRECONDITION).
 *
 * Each write reads the measure without a lock, decides the right on it
 * (asking the registry what only the registry knows), and only then opens
 * its transaction (where a repeated idempotency key gets its first reply),
 * locks the row and decides everything that depends on it: the version,
 * the status, the fields as they will be. A caller without the right never
 * takes a lock, and none is held while another service is asked. The
 * district of a measure never changes, so the right decided on the
 * unlocked read holds for the locked row.
 * ---------------------------------------------------------------------------
 */
#include "measures.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "teilhabe/v1/measures.pb-c.h"
#include "th_answer.h"
#include "th_auth.h"
#include "th_check.h"
#include "th_date.h"
#include "th_enum.h"
#include "th_error.h"
#include "th_field.h"
#include "th_status.h"

static const char *const s_mask_fields[] = {
    "municipality",  "municipality_key",  "title",      "description", "field",
    "target_group",  "target_group_name", "start_date", "end_date",    "budget_cents",
    "funding_source"};

/* The measure a write is about (unlocked, or locked inside the write);
 * NOT_FOUND names the id. */
static int
s_measure(th_call_t *call, const char *id, bool for_update, measure_t **out)
{
    int rc = measures_store_get(call, id, for_update, out);
    if (rc == TH_ENOTFOUND)
        return th_call_error(call, TH_NOT_FOUND, "no measure has the id \"%s\"", id);
    if (rc != 0)
        return th_answer_db_failure(call, "read the measure");
    return TH_OK;
}

static int
s_stale(th_call_t *call, const measure_t *m, int64_t version)
{
    return th_call_error(call, TH_FAILED_PRECONDITION,
                         "measure %s is at version %" PRId64 ", not %" PRId64
                         "; read it again and retry",
                         m->id, m->version, version);
}

/* The common start of a write of an existing measure: the caller may write
 * measures at all, id and version are well-formed; then the measure,
 * unlocked, its version, and the right to write in its district. */
static int
s_begin(th_call_t *call, const char *id, int64_t version, const char *right,
        measure_t **current)
{
    int rc;
    if ((rc = measures_need_writer(call, right)) != TH_OK ||
        (rc = measures_check_id(call, "id", id)) != TH_OK)
        return rc;
    if (version < 1)
        return th_answer_invalid(call, "version",
                                 "must be the version last read (1 or more)");
    return s_measure(call, id, false, current);
}

MEASURES_HANDLER(measures_update)
{
    static const char right[] = "updating a measure";
    const Teilhabe__Measures__V1__UpdateMeasureRequest *req = (const void *) request;
    int rc;
    if ((rc = measures_need_writer(call, right)) != TH_OK)
        return rc;
    if (req->measure == NULL)
        return th_answer_invalid(call, "measure", "is required");
    const measure_t *in = req->measure;
    if ((rc = measures_check_id(call, "measure.id", in->id)) != TH_OK ||
        (rc = th_field_mask(call, req->update_mask, req->n_update_mask, s_mask_fields,
                            sizeof s_mask_fields / sizeof s_mask_fields[0])) != TH_OK)
        return rc;
    if (req->version < 1)
        return th_answer_invalid(call, "version",
                                 "must be the version last read (1 or more)");
    measure_t *current = NULL;
    char *const *mask = req->update_mask;
    const size_t n = req->n_update_mask;
    const bool new_start = th_check_mask_has(mask, n, "start_date");
    if ((new_start &&
         (rc = th_field_date(call, "measure.start_date", in->start_date, true)) != TH_OK) ||
        (rc = s_measure(call, in->id, false, &current)) != TH_OK)
        return rc;
    /* A new start date is one the district must exist on (today while
     * there is none): asked of the registry with the right, before the
     * transaction. */
    char today[TH_DATE_LEN + 1];
    th_date_today(today);
    const char *exists_on = NULL;
    if (new_start && strcmp(in->start_date, current->start_date) != 0)
        exists_on = in->start_date[0] != '\0' ? in->start_date : today;
    if ((rc = measures_check_write(call, "measure.id", current->ags, exists_on,
                                   th_call_printf(call, "updating a measure of district %s",
                                                  current->ags))) != TH_OK)
        return rc;

    /* Everything that depends on the row is decided on the locked row,
     * after the idempotency key was looked up: a repeated request gets its
     * first reply, not "stale version". With the version the client read,
     * the locked row is the one read above (versions only grow). */
    TH_CALL_BEGIN_WRITE(call);
    measure_t *locked = NULL;
    if ((rc = s_measure(call, in->id, true, &locked)) != TH_OK)
        return rc;
    if (locked->version != req->version)
        return s_stale(call, locked, req->version);
    /* The measure as it will be: the fields named in the mask from the
     * request, the rest as stored. */
    measure_t *merged = th_call_alloc(call, sizeof *merged);
    *merged = *locked;
    if (th_check_mask_has(mask, n, "municipality"))
        merged->municipality = in->municipality;
    if (th_check_mask_has(mask, n, "municipality_key"))
        merged->municipality_key = in->municipality_key;
    if (th_check_mask_has(mask, n, "title"))
        merged->title = in->title;
    if (th_check_mask_has(mask, n, "description"))
        merged->description = in->description;
    if (th_check_mask_has(mask, n, "field"))
        merged->field = in->field;
    if (th_check_mask_has(mask, n, "target_group"))
        merged->target_group = in->target_group;
    if (th_check_mask_has(mask, n, "target_group_name"))
        merged->target_group_name = in->target_group_name;
    if (new_start)
        merged->start_date = in->start_date;
    if (th_check_mask_has(mask, n, "end_date"))
        merged->end_date = in->end_date;
    if (th_check_mask_has(mask, n, "budget_cents"))
        merged->budget_cents = in->budget_cents;
    if (th_check_mask_has(mask, n, "funding_source"))
        merged->funding_source = in->funding_source;
    if ((rc = measures_check_measure(call, merged)) != TH_OK)
        return rc;
    measure_t *updated = NULL;
    rc = measures_store_update(call, merged, req->version, th_call_principal(call)->id,
                               &updated);
    if (rc == TH_ESTATE)
        return th_call_error(call, TH_FAILED_PRECONDITION,
                             "measure %s changed meanwhile; read it again and retry",
                             in->id);
    if (rc != 0)
        return th_answer_db_failure(call, "update the measure");
    if ((rc = th_call_record(call, measures_resource(call, updated), &locked->base,
                             &updated->base, "measure.updated", &updated->base)) != TH_OK)
        return rc;
    *response = &updated->base;
    return TH_OK;
}

/* --- status ---------------------------------------------------------------- */

#define S_PLANNED TEILHABE__MEASURES__V1__MEASURE_STATUS__MEASURE_STATUS_PLANNED
#define S_ACTIVE TEILHABE__MEASURES__V1__MEASURE_STATUS__MEASURE_STATUS_ACTIVE
#define S_COMPLETED TEILHABE__MEASURES__V1__MEASURE_STATUS__MEASURE_STATUS_COMPLETED
#define S_CANCELLED TEILHABE__MEASURES__V1__MEASURE_STATUS__MEASURE_STATUS_CANCELLED

/* The moves allowed from status, as text for a message ("active or
 * cancelled"); NULL when none (completed and cancelled are final). */
static const char *
s_moves_from(int status)
{
    switch (status) {
    case S_PLANNED: return "active or cancelled";
    case S_ACTIVE: return "completed or cancelled";
    default: return NULL;
    }
}

static bool
s_move_allowed(int from, int to)
{
    return (from == S_PLANNED && (to == S_ACTIVE || to == S_CANCELLED)) ||
           (from == S_ACTIVE && (to == S_COMPLETED || to == S_CANCELLED));
}

/* FAILED_PRECONDITION naming the moves that are allowed from m's status. */
static int
s_move_refused(th_call_t *call, const measure_t *m, int to)
{
    const ProtobufCEnumDescriptor *desc =
        &teilhabe__measures__v1__measure_status__descriptor;
    char from_text[TH_ENUM_TEXT_SIZE], to_text[TH_ENUM_TEXT_SIZE];
    th_enum_token(desc, (int) m->status, from_text, sizeof from_text);
    th_enum_token(desc, to, to_text, sizeof to_text);
    const char *moves = s_moves_from((int) m->status);
    th_call_violation(call, "status", "%s is not allowed from %s", to_text, from_text);
    if (moves == NULL)
        return th_call_error(
            call, TH_FAILED_PRECONDITION,
            "measure %s is %s, which is final: it cannot move to %s (allowed "
            "moves: planned -> active -> completed, planned or active -> "
            "cancelled)",
            m->id, from_text, to_text);
    return th_call_error(
        call, TH_FAILED_PRECONDITION,
        "measure %s is %s and cannot move to %s: from %s it may move to %s", m->id,
        from_text, to_text, from_text, moves);
}

MEASURES_HANDLER(measures_transition)
{
    static const char right[] = "changing the status of a measure";
    const Teilhabe__Measures__V1__TransitionMeasureRequest *req = (const void *) request;
    measure_t *current = NULL;
    int rc;
    if ((rc = s_begin(call, req->id, req->version, right, &current)) != TH_OK ||
        (rc = th_field_enum(call, "status",
                            &teilhabe__measures__v1__measure_status__descriptor,
                            (int) req->status, true)) != TH_OK ||
        (rc = measures_check_write(
             call, "id", current->ags, NULL,
             th_call_printf(call, "changing the status of a measure of district %s",
                            current->ags))) != TH_OK)
        return rc;

    TH_CALL_BEGIN_WRITE(call);
    measure_t *locked = NULL;
    if ((rc = s_measure(call, req->id, true, &locked)) != TH_OK)
        return rc;
    if (locked->version != req->version)
        return s_stale(call, locked, req->version);
    if (!s_move_allowed((int) locked->status, (int) req->status))
        return s_move_refused(call, locked, (int) req->status);
    char to_text[TH_ENUM_TEXT_SIZE];
    th_enum_token(&teilhabe__measures__v1__measure_status__descriptor, (int) req->status,
                  to_text, sizeof to_text);
    measure_t *moved = NULL;
    rc = measures_store_set_status(call, req->id, req->version, to_text,
                                   th_call_principal(call)->id, &moved);
    if (rc == TH_ESTATE)
        return th_call_error(call, TH_FAILED_PRECONDITION,
                             "measure %s changed meanwhile; read it again and retry",
                             req->id);
    if (rc != 0)
        return th_answer_db_failure(call, "change the status of the measure");
    if ((rc = th_call_record(call, measures_resource(call, moved), &locked->base,
                             &moved->base, "measure.transitioned", &moved->base)) != TH_OK)
        return rc;
    *response = &moved->base;
    return TH_OK;
}

MEASURES_HANDLER(measures_delete)
{
    static const char right[] = "deleting a measure";
    const Teilhabe__Measures__V1__DeleteMeasureRequest *req = (const void *) request;
    measure_t *current = NULL;
    int rc;
    if ((rc = s_begin(call, req->id, req->version, right, &current)) != TH_OK ||
        (rc = measures_check_write(call, "id", current->ags, NULL,
                                   th_call_printf(call, "deleting a measure of district %s",
                                                  current->ags))) != TH_OK)
        return rc;

    TH_CALL_BEGIN_WRITE(call);
    measure_t *locked = NULL;
    if ((rc = s_measure(call, req->id, true, &locked)) != TH_OK)
        return rc;
    if (locked->version != req->version)
        return s_stale(call, locked, req->version);
    const ProtobufCEnumDescriptor *desc =
        &teilhabe__measures__v1__measure_status__descriptor;
    char status[TH_ENUM_TEXT_SIZE];
    if (locked->status != S_PLANNED)
        return th_call_error(
            call, TH_FAILED_PRECONDITION,
            "measure %s is %s: only a planned measure can be deleted%s", locked->id,
            th_enum_token(desc, (int) locked->status, status, sizeof status),
            locked->status == S_ACTIVE
                ? "; cancel it with TransitionMeasure instead, so what ran "
                  "stays on record"
                : "");
    rc = measures_store_delete(call, req->id, req->version);
    if (rc == TH_ESTATE)
        return th_call_error(call, TH_FAILED_PRECONDITION,
                             "measure %s changed meanwhile; read it again and retry",
                             req->id);
    if (rc != 0)
        return th_answer_db_failure(call, "delete the measure");
    if ((rc = th_call_record(call, measures_resource(call, locked), &locked->base, NULL,
                             "measure.deleted", &locked->base)) != TH_OK)
        return rc;
    *response = &locked->base;
    return TH_OK;
}
