/* ---------------------------------------------------------------------------
 * recheck.c: the automated re-checks (Recheck, and the periodic job that
 * calls it; docs/eligibility.md, "Automated re-checks").
 *
 * A Recheck reads the events after its checkpoints: the registry's
 * (concept.*, district.*, territorial_change.*, manager.assigned /
 * unassigned: the district they name), the measures service's (every event
 * about a district's data: "districts/<ags>/..."), and its own
 * (application.set: the district; ruleset.published: every district
 * decided under the programme). It re-evaluates, as of today, every
 * (programme, district) pair among them that has a decision already (a
 * district never decided has nothing to re-check), and once a day every
 * decided pair (a concept grows older without any event). The facts are
 * gathered before the transaction; in it the checkpoints are locked and
 * compared with those read (another instance that moved them first makes
 * this one ABORTED, storing nothing), the decisions stored, the
 * checkpoints moved: all or nothing.
 * ---------------------------------------------------------------------------
 */
#include "eligibility.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "teilhabe/v1/events.pb-c.h"
#include "teilhabe/v1/registry.pb-c.h"
#include "th_answer.h"
#include "th_auth.h"
#include "th_check.h"
#include "th_error.h"
#include "th_field.h"
#include "th_log.h"
#include "th_status.h"

/* Events read per source and call (ListEvents' maximum). */
#define S_EVENTS 1000
/* Districts and programmes one call collects at most. */
#define S_AFFECTED_MAX 4096

typedef struct {
    char **ags;
    size_t n_ags;
    char **codes;
    size_t n_codes;
} s_affected_t;

static void
s_add(th_call_t *call, char **list, size_t *n, const char *item, size_t len)
{
    if (*n >= S_AFFECTED_MAX)
        return;
    for (size_t i = 0; i < *n; i++)
        if (strncmp(list[i], item, len) == 0 && list[i][len] == '\0')
            return;
    list[*n] = th_call_printf(call, "%.*s", (int) len, item);
    (*n)++;
}

/* The AGS right after prefix in resource ("districts/16068/..."), if any. */
static void
s_add_ags_after(th_call_t *call, s_affected_t *a, const char *resource, const char *prefix)
{
    const size_t p = strlen(prefix);
    if (strncmp(resource, prefix, p) != 0 || strlen(resource) < p + 5)
        return;
    char ags[6];
    snprintf(ags, sizeof ags, "%.5s", resource + p);
    if (th_check_ags(ags) && (resource[p + 5] == '\0' || resource[p + 5] == '/'))
        s_add(call, a->ags, &a->n_ags, ags, 5);
}

static void
s_registry_event(th_call_t *call, s_affected_t *a, const Teilhabe__Events__V1__Event *e)
{
    if (strncmp(e->topic, "concept.", 8) == 0) {
        s_add_ags_after(call, a, e->resource, "concepts/");
    } else if (strncmp(e->topic, "district.", 9) == 0 ||
               strncmp(e->topic, "territorial_change.", 19) == 0) {
        s_add_ags_after(call, a, e->resource, "districts/");
    } else if (strcmp(e->topic, "manager.assigned") == 0 ||
               strcmp(e->topic, "manager.unassigned") == 0) {
        Teilhabe__Registry__V1__Assignment *as = teilhabe__registry__v1__assignment__unpack(
            NULL, e->payload.len, e->payload.data);
        if (as != NULL && th_check_ags(as->ags))
            s_add(call, a->ags, &a->n_ags, as->ags, 5);
        if (as != NULL)
            teilhabe__registry__v1__assignment__free_unpacked(as, NULL);
    }
}

/* ListEvents of service (method) after *seq: affected districts added,
 * *seq moved, *events counted, *more when a full page came. */
static int
s_read_source(th_call_t *call, const char *method, bool registry, int64_t *seq, int *events,
              bool *more, s_affected_t *a)
{
    Teilhabe__Events__V1__ListEventsRequest req =
        TEILHABE__EVENTS__V1__LIST_EVENTS_REQUEST__INIT;
    req.after_sequence = *seq;
    req.limit = S_EVENTS;
    const th_result_t *r = NULL;
    int rc = th_call_invoke(call, method, &req.base,
                            &teilhabe__events__v1__list_events_response__descriptor, &r);
    if (rc != TH_OK)
        return rc;
    const Teilhabe__Events__V1__ListEventsResponse *resp = (const void *) r->response;
    for (size_t i = 0; i < resp->n_events; i++) {
        if (registry)
            s_registry_event(call, a, resp->events[i]);
        else
            s_add_ags_after(call, a, resp->events[i]->resource, "districts/");
    }
    *events += (int) resp->n_events;
    *more |= resp->n_events >= S_EVENTS;
    if (resp->last_sequence > *seq)
        *seq = resp->last_sequence;
    return TH_OK;
}

/* One programme's share of the work. */
typedef struct {
    eligibility_version_t ver;
    eligibility_land_t land;
    eligibility_run_t run;
    bool *evented; /* land.items[d] concerned by an event (else only the daily run) */
} s_work_t;

/* True when ags, or programme code, is among what the events concerned. */
static bool
s_concerned(const s_affected_t *a, const char *code, const char *ags)
{
    for (size_t i = 0; i < a->n_ags; i++)
        if (strcmp(a->ags[i], ags) == 0)
            return true;
    for (size_t i = 0; i < a->n_codes; i++)
        if (strcmp(a->codes[i], code) == 0)
            return true;
    return false;
}

/* Stores the decisions of w with trigger: "event" for the districts an
 * event concerned, "schedule" for those only the daily run re-decided (an
 * allocation's run is stored whole, as "event" when any of it was). */
static int
s_store_work(th_call_t *call, s_work_t *w, const char *as_of, bool daily,
             Teilhabe__Eligibility__V1__RecheckResponse *resp)
{
    const size_t n = w->land.n;
    decision_t **stored = th_call_alloc(call, (n > 0 ? n : 1) * sizeof *stored);
    if (rules_allocates(w->ver.rules)) {
        bool any = !daily;
        for (size_t d = 0; d < n; d++)
            any |= w->evented[d];
        int rc = eligibility_store_run(call, &w->ver, &w->land, &w->run, as_of, "de",
                                       any ? "event" : "schedule", eligibility_run_id(call),
                                       stored, &resp->changed);
        for (size_t d = 0; rc == TH_OK && d < n; d++)
            resp->decisions += stored[d] != NULL;
        return rc;
    }
    /* Two views of the run, each holding the results of its trigger. */
    for (int pass = 0; pass < 2; pass++) {
        const bool event_pass = pass == 0;
        eligibility_run_t view = {
            .de = th_call_alloc(call, (n > 0 ? n : 1) * sizeof *view.de),
            .en = th_call_alloc(call, (n > 0 ? n : 1) * sizeof *view.en),
            .n = n,
        };
        for (size_t d = 0; d < n; d++) {
            const bool mine = (w->evented[d] || !daily) == event_pass;
            view.de[d] = mine ? w->run.de[d] : NULL;
            view.en[d] = mine ? w->run.en[d] : NULL;
        }
        int rc = eligibility_store_run(call, &w->ver, &w->land, &view, as_of, "de",
                                       event_pass ? "event" : "schedule", NULL, stored,
                                       &resp->changed);
        if (rc != TH_OK)
            return rc;
        for (size_t d = 0; d < n; d++)
            resp->decisions += stored[d] != NULL;
    }
    return TH_OK;
}

ELIGIBILITY_HANDLER(eligibility_recheck)
{
    const Teilhabe__Eligibility__V1__RecheckRequest *req = (const void *) request;
    const th_principal_t *p = th_call_principal(call);
    int rc;
    if ((rc = th_auth_need_principal(call)) != TH_OK)
        return rc;
    if (!th_auth_has_role(p, "admin") &&
        !(th_auth_has_role(p, "service") && th_auth_land(p)[0] == '\0'))
        return th_auth_deny(call, "running the automated re-check",
                            "role admin, or a service without a Land (the eligibility "
                            "service's own key)");
    if ((rc = th_field_date(call, "as_of", req->as_of, true)) != TH_OK)
        return rc;
    char as_of[TH_DATE_LEN + 1];
    if (req->as_of[0] == '\0')
        th_date_today(as_of);
    else
        snprintf(as_of, sizeof as_of, "%s", req->as_of);

    int64_t seq[3], next[3];
    char last_date[TH_DATE_LEN + 1];
    if (eligibility_store_checkpoints(call, false, seq, last_date) != 0)
        return th_answer_db_failure(call, "read the checkpoints");
    memcpy(next, seq, sizeof next);
    s_affected_t a = {0};
    a.ags = th_call_alloc(call, S_AFFECTED_MAX * sizeof *a.ags);
    a.codes = th_call_alloc(call, S_AFFECTED_MAX * sizeof *a.codes);
    Teilhabe__Eligibility__V1__RecheckResponse *resp = th_call_alloc(call, sizeof *resp);
    teilhabe__eligibility__v1__recheck_response__init(resp);
    bool more = false;
    if ((rc = s_read_source(call, "teilhabe.registry.v1.Registry/ListEvents", true,
                            &next[0], &resp->events, &more, &a)) != TH_OK ||
        (rc = s_read_source(call, "teilhabe.measures.v1.Measures/ListEvents", false,
                            &next[1], &resp->events, &more, &a)) != TH_OK)
        return rc;
    char **topics = NULL, **resources = NULL;
    size_t n_own = 0;
    if (eligibility_store_own_events(call, seq[2], S_EVENTS, &topics, &resources, &n_own,
                                     &next[2]) != 0)
        return th_answer_db_failure(call, "read the service's own events");
    for (size_t i = 0; i < n_own; i++) {
        if (strcmp(topics[i], "application.set") == 0) {
            s_add_ags_after(call, &a, resources[i], "districts/");
        } else if (strcmp(topics[i], "ruleset.published") == 0 &&
                   strncmp(resources[i], "programmes/", 11) == 0) {
            const char *code = resources[i] + 11;
            const char *slash = strchr(code, '/');
            s_add(call, a.codes, &a.n_codes, code,
                  slash != NULL ? (size_t) (slash - code) : strlen(code));
        }
    }
    resp->events += (int) n_own;
    more |= n_own >= S_EVENTS;
    const bool daily = req->daily || last_date[0] == '\0' || strcmp(last_date, as_of) < 0;

    char **codes = NULL, **ags = NULL;
    size_t n_pairs = 0;
    if (eligibility_store_decided(call, a.ags, a.n_ags, a.codes, a.n_codes, daily, &codes,
                                  &ags, &n_pairs) != 0)
        return th_answer_db_failure(call, "read the decided districts");

    /* Per programme: its rule set, its Land's facts, the pairs decided. */
    size_t n_work = 0;
    s_work_t *work = calloc(n_pairs > 0 ? n_pairs : 1, sizeof *work);
    if (work == NULL)
        return th_call_error(call, TH_RESOURCE_EXHAUSTED, "out of memory; try again");
    for (size_t i = 0; i < n_pairs && rc == TH_OK;) {
        size_t end = i;
        while (end < n_pairs && strcmp(codes[end], codes[i]) == 0)
            end++;
        s_work_t *w = &work[n_work];
        bool found = false;
        char first[TH_DATE_LEN + 1];
        /* A programme ended or not begun on as_of: nothing to re-check. */
        if ((rc = eligibility_version_at(call, codes[i], as_of, &w->ver, &found, first)) !=
                TH_OK ||
            !found) {
            i = end;
            continue;
        }
        n_work++;
        if ((rc = eligibility_gather(call, w->ver.rules, w->ver.state_code, as_of, NULL,
                                     &w->land)) != TH_OK)
            break;
        bool *only = th_call_alloc(call, (w->land.n > 0 ? w->land.n : 1) * sizeof *only);
        for (size_t d = 0; d < w->land.n; d++) {
            only[d] = false;
            for (size_t k = i; k < end && !only[d]; k++)
                only[d] = strcmp(ags[k], w->land.items[d].ags) == 0;
        }
        w->evented =
            th_call_alloc(call, (w->land.n > 0 ? w->land.n : 1) * sizeof *w->evented);
        for (size_t d = 0; d < w->land.n; d++)
            w->evented[d] = only[d] && s_concerned(&a, codes[i], w->land.items[d].ags);
        rc = eligibility_decide(call, &w->ver, &w->land, as_of, only, &w->run);
        i = end;
    }
    if (rc != TH_OK)
        goto cleanup;
    /* Nothing read and nothing due: no transaction, no audit row. */
    if (memcmp(seq, next, sizeof seq) == 0 && !daily) {
        resp->caught_up = !more;
        goto answer;
    }
    {
        const int begin = th_call_begin_write(call);
        if (begin == TH_CALL_REPLAY) {
            rc = TH_OK;
            goto cleanup;
        }
        if ((rc = begin) != TH_OK)
            goto cleanup;
    }
    int64_t locked[3];
    char locked_date[TH_DATE_LEN + 1];
    if (eligibility_store_checkpoints(call, true, locked, locked_date) != 0) {
        rc = th_answer_db_failure(call, "lock the checkpoints");
        goto cleanup;
    }
    if (memcmp(locked, seq, sizeof seq) != 0 || strcmp(locked_date, last_date) != 0) {
        rc = th_call_error(
            call, TH_ABORTED,
            "another instance re-checked at the same time; nothing was stored, "
            "the next re-check goes on from its checkpoints");
        goto cleanup;
    }
    for (size_t w = 0; w < n_work; w++)
        if ((rc = s_store_work(call, &work[w], as_of, daily, resp)) != TH_OK)
            goto cleanup;
    if (eligibility_store_set_checkpoints(call, next, daily ? as_of : NULL) != 0) {
        rc = th_answer_db_failure(call, "move the checkpoints");
        goto cleanup;
    }
    resp->daily = daily;
    resp->caught_up = !more;
    resp->registry_sequence = next[0];
    resp->measures_sequence = next[1];
    resp->eligibility_sequence = next[2];
    if ((rc = th_call_record(call, "rechecks", NULL, &resp->base, NULL, NULL)) != TH_OK)
        goto cleanup;
answer:
    resp->registry_sequence = next[0];
    resp->measures_sequence = next[1];
    resp->eligibility_sequence = next[2];
    *response = &resp->base;
    rc = TH_OK;
cleanup:
    for (size_t w = 0; w < n_work; w++) {
        eligibility_run_clear(&work[w].run);
        eligibility_land_clear(&work[w].land);
        eligibility_version_clear(&work[w].ver);
    }
    free(work);
    return rc;
}

/* --- the periodic job ------------------------------------------------------------ */

int
eligibility_recheck_job(th_client_t *client, const th_config_t *config, void *state)
{
    (void) config;
    (void) state;
    /* A backlog (a long downtime) is worked off in a few calls at once;
     * none once the service is stopping (its own worker takes no more
     * calls, so a new one would wait for its deadline). */
    for (int round = 0; round < 10 && !zsys_interrupted; round++) {
        Teilhabe__Eligibility__V1__RecheckRequest req =
            TEILHABE__ELIGIBILITY__V1__RECHECK_REQUEST__INIT;
        th_result_t r;
        memset(&r, 0, sizeof r);
        th_client_call(client, "teilhabe.eligibility.v1.Eligibility/Recheck", &req.base,
                       &teilhabe__eligibility__v1__recheck_response__descriptor, 30000,
                       NULL, &r);
        if (r.code != TH_OK) {
            /* UNAVAILABLE while the service or another one starts: the
             * next interval tries again, from the same checkpoints. */
            if (r.code == TH_UNAVAILABLE || r.code == TH_ABORTED)
                th_log_debug(0, "re-check deferred", "status=%s", th_status_name(r.code));
            else
                th_log_warn(0, "re-check failed", "status=%s", th_status_name(r.code));
            th_result_clear(&r);
            return TH_EIO;
        }
        const Teilhabe__Eligibility__V1__RecheckResponse *resp = (const void *) r.response;
        if (resp->decisions > 0 || resp->daily)
            th_log_info(0, "re-checked", "events=%d decisions=%d changed=%d daily=%s",
                        (int) resp->events, (int) resp->decisions, (int) resp->changed,
                        resp->daily ? "yes" : "no");
        const bool done = resp->caught_up;
        th_result_clear(&r);
        if (done)
            break;
    }
    return 0;
}
