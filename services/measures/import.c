/* ---------------------------------------------------------------------------
 * import.c: ImportValues, the bulk import of indicator values from a CSV
 * file (docs/measures.md, "Bulk import").
 *
 * A file travels in chunks of at most 512 KiB (a request may have 1 MiB),
 * staged in measures.import_chunks until the last one arrives. That one
 * reads the whole file (import_read.c: every line checked as PutValues
 * checks a value, against the catalogue), asks the registry about each
 * district the file names once, as PutValues does, and only then begins
 * the one transaction that writes: the checked lines are COPYed into
 * measures.import_rows and written from there in one INSERT ... ON
 * CONFLICT, with one audit row and one values.put event per district whose
 * values changed. A line with a fault writes nothing at all: the report
 * lists it, and the transaction only drops the staged chunks. A dry run
 * goes the same way and counts instead of writing.
 * ---------------------------------------------------------------------------
 */
#include "import.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "th_answer.h"
#include "th_auth.h"
#include "th_error.h"
#include "th_log.h"
#include "th_status.h"

/* An import id: a UUID (8-4-4-4-12 hex digits, either case). */
static int
s_check_import_id(th_call_t *call, const char *id)
{
    static const char pattern[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
    bool ok = id != NULL && strlen(id) == sizeof pattern - 1;
    for (size_t i = 0; ok && i < sizeof pattern - 1; i++)
        ok = pattern[i] == '-' ? id[i] == '-'
                               : (id[i] >= '0' && id[i] <= '9') ||
                                     (id[i] >= 'a' && id[i] <= 'f') ||
                                     (id[i] >= 'A' && id[i] <= 'F');
    if (ok)
        return TH_OK;
    return th_answer_invalid(call, "import_id",
                             "\"%.40s\" is not an import id: a UUID the client chooses, "
                             "the same for every chunk of one file",
                             id != NULL ? id : "");
}

static int
s_by_ags(const void *a, const void *b)
{
    const measures_import_district_t *const *x = a, *const *y = b;
    return strcmp((*x)->ags, (*y)->ags);
}

/* The audit row and the values.put event of one district an import
 * changed: a summary (the import and its counts), not the values. */
static int
s_record_district(th_call_t *call, const char *import_id, const measures_import_count_t *c,
                  int64_t lines)
{
    const char *resource = th_call_printf(call, "districts/%s/values", c->ags);
    const char *after = th_call_printf(
        call,
        "{\"import_id\": \"%s\", \"lines\": %" PRId64 ", \"created\": %" PRId64
        ", \"updated\": %" PRId64 "}",
        import_id, lines, c->created, c->updated);
    Teilhabe__Measures__V1__DistrictValues event =
        TEILHABE__MEASURES__V1__DISTRICT_VALUES__INIT;
    event.ags = (char *) c->ags;
    event.import_id = (char *) import_id;
    event.created = c->created;
    event.updated = c->updated;
    if (th_call_audit(call, resource, NULL, after) != 0 ||
        th_call_emit(call, MEASURES_SCHEMA, "values.put", resource, &event.base) != 0)
        return th_answer_db_failure(call, "record the import");
    return TH_OK;
}

/* A chunk that is not the last: staged. */
static int
s_stage(th_call_t *call, const Teilhabe__Measures__V1__ImportValuesRequest *req,
        int n_staged, int64_t staged_bytes, ProtobufCMessage **response)
{
    const char *by = th_call_principal(call)->id;
    TH_CALL_BEGIN_WRITE(call);
    if (req->chunk == 0 && measures_store_import_purge(call) != 0)
        return th_answer_db_failure(call, "delete the chunks of old imports");
    if (measures_store_import_stage(call, by, req->import_id, req->chunk, req->csv.data,
                                    req->csv.len) != 0)
        return th_answer_db_failure(call, "stage the chunk");
    Teilhabe__Measures__V1__ImportValuesResponse *resp = th_call_alloc(call, sizeof *resp);
    teilhabe__measures__v1__import_values_response__init(resp);
    resp->import_id = req->import_id;
    const bool again = req->chunk < n_staged;
    resp->chunks = again ? n_staged : n_staged + 1;
    resp->bytes = staged_bytes + (int64_t) req->csv.len;
    *response = &resp->base;
    return TH_OK;
}

MEASURES_HANDLER(measures_values_import)
{
    static const char right[] = "importing indicator values";
    const Teilhabe__Measures__V1__ImportValuesRequest *req = (const void *) request;
    int rc;
    if ((rc = measures_need_writer(call, right)) != TH_OK ||
        (rc = s_check_import_id(call, req->import_id)) != TH_OK)
        return rc;
    if (req->chunk < 0 || req->chunk >= MEASURES_IMPORT_CHUNKS_MAX)
        return th_answer_invalid(call, "chunk",
                                 "%d is outside 0 to %d (a file has at most %d chunks of "
                                 "%d bytes)",
                                 req->chunk, MEASURES_IMPORT_CHUNKS_MAX - 1,
                                 MEASURES_IMPORT_CHUNKS_MAX, MEASURES_IMPORT_CHUNK_MAX);
    if (req->csv.len > MEASURES_IMPORT_CHUNK_MAX)
        return th_answer_invalid(call, "csv",
                                 "has %zu bytes, at most %d in one chunk: send the file "
                                 "in chunks",
                                 req->csv.len, MEASURES_IMPORT_CHUNK_MAX);
    const char *by = th_call_principal(call)->id;
    /* The chunks come in order: 0 to chunk - 1 are staged (within the
     * hour); a chunk that is not the last may be sent again. */
    int n_staged = 0, max_chunk = -1;
    int64_t staged_bytes = 0;
    if (req->chunk > 0 || !req->last) {
        if (measures_store_import_staged(call, by, req->import_id, &n_staged, &staged_bytes,
                                         &max_chunk) != 0)
            return th_answer_db_failure(call, "read the staged chunks");
        if (req->chunk > n_staged || (req->last && req->chunk != n_staged))
            return th_answer_field(
                call, TH_FAILED_PRECONDITION, "chunk", "out of order",
                "import %s has %d chunks staged (within the hour), so chunk %d cannot come "
                "%s: send the chunks 0, 1, 2, ... in order, the last one marked last, or "
                "begin again with a new import id",
                req->import_id, n_staged, req->chunk, req->last ? "last" : "now");
    }
    if (!req->last)
        return s_stage(call, req, n_staged, staged_bytes, response);

    /* The last chunk: the whole file, read and checked before anything is
     * locked. */
    char *joined = NULL;
    size_t len = req->csv.len;
    const char *text = (const char *) req->csv.data;
    if (req->chunk > 0) {
        size_t staged_len = 0;
        rc = measures_store_import_read(call, by, req->import_id, &joined, &staged_len);
        if (rc == TH_ENOMEM)
            return th_call_error(call, TH_RESOURCE_EXHAUSTED,
                                 "the service has no memory for the file now; try later");
        if (rc != 0)
            return th_answer_db_failure(call, "read the staged chunks");
        char *all = realloc(joined, staged_len + req->csv.len + 1);
        if (all == NULL) {
            free(joined);
            return th_call_error(call, TH_RESOURCE_EXHAUSTED,
                                 "the service has no memory for the file now; try later");
        }
        joined = all;
        if (req->csv.len > 0)
            memcpy(joined + staged_len, req->csv.data, req->csv.len);
        len = staged_len + req->csv.len;
        joined[len] = '\0';
        text = joined;
    }
    measures_import_t imp = {.call = call, .import_id = req->import_id};
    measures_import_district_t **districts = NULL;
    size_t n_districts = 0;
    if (measures_store_list_indicators(call, NULL, NULL, 1000000, &imp.indicators,
                                       &imp.n_indicators) != 0) {
        rc = th_answer_db_failure(call, "read the indicators");
        goto cleanup;
    }
    if (measures_import_read(&imp, text, len) != 0) {
        rc = th_call_error(call, TH_RESOURCE_EXHAUSTED,
                           "the service has no memory for the file now; try later");
        goto cleanup;
    }
    free(joined);
    joined = NULL;
    /* Each district once, in AGS order, only for a file without faults:
     * the right to write there and that it exists on the last day of its
     * latest period (what PutValues asks). */
    n_districts = zhashx_size(imp.districts);
    districts = calloc(n_districts > 0 ? n_districts : 1, sizeof *districts);
    if (districts == NULL) {
        rc = th_call_error(call, TH_RESOURCE_EXHAUSTED, "out of memory");
        goto cleanup;
    }
    size_t k = 0;
    for (measures_import_district_t *d = zhashx_first(imp.districts); d != NULL;
         d = zhashx_next(imp.districts))
        districts[k++] = d;
    qsort(districts, n_districts, sizeof *districts, s_by_ags);
    for (size_t i = 0; imp.rejected == 0 && i < n_districts; i++) {
        const measures_import_district_t *d = districts[i];
        if ((rc = measures_check_write(
                 call, th_call_printf(call, "lines[%d].ags", d->first_line), d->ags, d->latest,
                 th_call_printf(call, "importing the indicator values of district %s (line %d)",
                                d->ags, d->first_line))) != TH_OK)
            goto cleanup;
    }

    rc = th_call_begin_write(call);
    if (rc == TH_CALL_REPLAY) {
        rc = TH_OK;
        goto cleanup;
    }
    if (rc != TH_OK)
        goto cleanup;
    if (req->chunk > 0 && measures_store_import_drop(call, by, req->import_id) != 0) {
        rc = th_answer_db_failure(call, "drop the staged chunks");
        goto cleanup;
    }
    Teilhabe__Measures__V1__ImportValuesResponse *resp = th_call_alloc(call, sizeof *resp);
    teilhabe__measures__v1__import_values_response__init(resp);
    resp->import_id = req->import_id;
    resp->chunks = req->chunk + 1;
    resp->bytes = (int64_t) len;
    resp->done = true;
    resp->dry_run = req->dry_run;
    resp->lines = imp.lines;
    resp->rejected = imp.rejected;
    resp->rejections = imp.rejections;
    resp->n_rejections = imp.n_rejections;
    resp->districts = (int32_t) n_districts;
    if (imp.rejected == 0 && imp.lines > 0) {
        measures_import_count_t *counts = NULL;
        size_t n_counts = 0;
        submission_t *approved = NULL;
        if (measures_store_import_copy(call, imp.copy, imp.copy_len) != 0 ||
            measures_store_import_lock(call, req->import_id, &approved) != 0) {
            rc = th_answer_db_failure(call, "write the values");
            goto cleanup;
        }
        /* An approved period locks its values, in a dry run too: the
         * report says what the import would do. */
        if ((rc = measures_locked_answer(call, approved)) != TH_OK)
            goto cleanup;
        if (measures_store_import_apply(call, req->import_id, by, req->dry_run, &counts,
                                        &n_counts) != 0) {
            rc = th_answer_db_failure(call, "write the values");
            goto cleanup;
        }
        for (size_t i = 0; i < n_counts; i++) {
            resp->created += counts[i].created;
            resp->updated += counts[i].updated;
            if (req->dry_run || counts[i].created + counts[i].updated == 0)
                continue;
            const measures_import_district_t *d = zhashx_lookup(imp.districts, counts[i].ags);
            if ((rc = s_record_district(call, req->import_id, &counts[i],
                                        d != NULL ? d->lines : 0)) != TH_OK)
                goto cleanup;
        }
        resp->unchanged = imp.lines - resp->created - resp->updated;
    }
    resp->applied = !req->dry_run && imp.rejected == 0;
    th_log_info(th_call_id(call), "import read",
                "import_id=%s lines=%" PRId64 " rejected=%" PRId64 " created=%" PRId64
                " updated=%" PRId64 " dry_run=%d",
                req->import_id, imp.lines, imp.rejected, resp->created, resp->updated,
                (int) req->dry_run);
    *response = &resp->base;
    rc = TH_OK;
cleanup:
    free(districts);
    free(joined);
    measures_import_clear(&imp);
    return rc;
}
