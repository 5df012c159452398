/* ---------------------------------------------------------------------------
 * seed.c: parse and check the reference CSV files (libcsv), then insert
 * ---------------------------------------------------------------------------
 */
#include "seed.h"

#include <csv.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "registry.h"
#include "th_pbjson.h"
#include "store.h"
#include "teilhabe/v1/registry.pb-c.h"
#include "th_check.h"
#include "th_date.h"
#include "th_enum.h"
#include "th_error.h"
#include "th_text.h"
#include "th_wire.h"

#define S_MAX_FILE_SIZE (4 * 1024 * 1024)
#define S_MAX_FIELDS 16
#define S_MAX_ROWS 10000

/* One parsed file: rows of fields, each row remembering its line. */
typedef struct {
    char **fields; /* n_fields strings per row, malloc'ed */
    size_t n_fields;
    int line;
} s_row_t;

typedef struct {
    s_row_t *rows;
    size_t n_rows;
    size_t cap_rows;
    char *pending[S_MAX_FIELDS];
    size_t n_pending;
    bool too_many_fields;
    bool out_of_memory;
    int line;
} s_table_t;

static void
s_table_clear(s_table_t *t)
{
    for (size_t i = 0; i < t->n_rows; i++) {
        for (size_t f = 0; f < t->rows[i].n_fields; f++)
            free(t->rows[i].fields[f]);
        free(t->rows[i].fields);
    }
    free(t->rows);
    for (size_t f = 0; f < t->n_pending; f++)
        free(t->pending[f]);
    memset(t, 0, sizeof *t);
}

static void
s_on_field(void *data, size_t len, void *ctx)
{
    s_table_t *t = ctx;
    if (t->n_pending >= S_MAX_FIELDS) {
        t->too_many_fields = true;
        return;
    }
    char *copy = malloc(len + 1);
    if (copy == NULL) {
        t->out_of_memory = true;
        return;
    }
    if (len)
        memcpy(copy, data, len);
    copy[len] = '\0';
    t->pending[t->n_pending++] = copy;
}

static void
s_on_row(int terminator, void *ctx)
{
    s_table_t *t = ctx;
    t->line++;
    if (t->n_rows == t->cap_rows) {
        const size_t cap = t->cap_rows ? t->cap_rows * 2 : 64;
        s_row_t *rows = cap <= S_MAX_ROWS ? realloc(t->rows, cap * sizeof *rows) : NULL;
        if (rows == NULL) {
            t->out_of_memory = true;
            goto drop;
        }
        t->rows = rows;
        t->cap_rows = cap;
    }
    s_row_t *row = &t->rows[t->n_rows];
    row->fields = malloc((t->n_pending ? t->n_pending : 1) * sizeof(char *));
    if (row->fields == NULL) {
        t->out_of_memory = true;
        goto drop;
    }
    memcpy(row->fields, t->pending, t->n_pending * sizeof(char *));
    row->n_fields = t->n_pending;
    row->line = t->line;
    t->n_rows++;
    t->n_pending = 0;
    return;
drop:
    for (size_t f = 0; f < t->n_pending; f++)
        free(t->pending[f]);
    t->n_pending = 0;
}

/* Reads and parses path into t. TH_EIO / TH_EINVAL with a message. */
static int
s_read_table(const char *path, s_table_t *t, char *errbuf, size_t errlen)
{
    int rc = 0;
    char *buf = NULL;
    struct csv_parser parser;
    bool parser_ready = false;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(errbuf, errlen, "could not open data file \"%s\": %s", path,
                 strerror(errno));
        return TH_EIO;
    }
    buf = malloc(S_MAX_FILE_SIZE + 1);
    if (buf == NULL) {
        rc = TH_ENOMEM;
        snprintf(errbuf, errlen, "out of memory reading \"%s\"", path);
        goto cleanup;
    }
    const size_t len = fread(buf, 1, S_MAX_FILE_SIZE + 1, f);
    if (ferror(f)) {
        snprintf(errbuf, errlen, "could not read data file \"%s\"", path);
        rc = TH_EIO;
        goto cleanup;
    }
    if (len > S_MAX_FILE_SIZE) {
        snprintf(errbuf, errlen, "data file \"%s\" is larger than %d bytes", path,
                 S_MAX_FILE_SIZE);
        rc = TH_EINVAL;
        goto cleanup;
    }
    if (!th_wire_utf8_valid(buf, len)) {
        snprintf(errbuf, errlen, "data file \"%s\" is not valid UTF-8", path);
        rc = TH_EINVAL;
        goto cleanup;
    }
    size_t start = 0;
    if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
        start = 3; /* a byte-order mark some editors write */
    if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI) != 0) {
        rc = TH_ENOMEM;
        snprintf(errbuf, errlen, "out of memory reading \"%s\"", path);
        goto cleanup;
    }
    parser_ready = true;
    csv_set_delim(&parser, ';');
    if (csv_parse(&parser, buf + start, len - start, s_on_field, s_on_row, t) !=
            len - start ||
        csv_fini(&parser, s_on_field, s_on_row, t) != 0) {
        snprintf(errbuf, errlen, "malformed CSV in \"%s\" near line %d: %s", path,
                 t->line + 1, csv_strerror(csv_error(&parser)));
        rc = TH_EINVAL;
        goto cleanup;
    }
    if (t->too_many_fields || t->out_of_memory) {
        snprintf(errbuf, errlen, "%s in \"%s\"",
                 t->out_of_memory ? "out of memory or too many rows" : "too many fields",
                 path);
        rc = TH_EINVAL;
        goto cleanup;
    }

cleanup:
    if (parser_ready)
        csv_free(&parser);
    free(buf);
    fclose(f);
    return rc;
}

/* Checks the header row and the field count of every row. */
static int
s_check_shape(const char *path, const s_table_t *t, const char *const *header, size_t n,
              char *errbuf, size_t errlen)
{
    if (t->n_rows == 0) {
        snprintf(errbuf, errlen, "data file \"%s\" is empty", path);
        return TH_EINVAL;
    }
    for (size_t r = 0; r < t->n_rows; r++) {
        const s_row_t *row = &t->rows[r];
        if (row->n_fields != n) {
            snprintf(errbuf, errlen,
                     "%s:%d: expected %zu fields separated by ';', found %zu", path,
                     row->line, n, row->n_fields);
            return TH_EINVAL;
        }
        if (r == 0) {
            for (size_t f = 0; f < n; f++) {
                if (strcmp(row->fields[f], header[f]) != 0) {
                    snprintf(errbuf, errlen,
                             "%s:%d: header field %zu is \"%s\", expected \"%s\"", path,
                             row->line, f + 1, row->fields[f], header[f]);
                    return TH_EINVAL;
                }
            }
        }
    }
    return 0;
}

/* A positive decimal with at most two places ("806.86"). */
static bool
s_area(const char *s)
{
    size_t i = 0, before = 0, after = 0;
    while (s[i] >= '0' && s[i] <= '9') {
        i++;
        before++;
    }
    if (s[i] == '.') {
        i++;
        while (s[i] >= '0' && s[i] <= '9') {
            i++;
            after++;
        }
        if (after == 0)
            return false;
    }
    return s[i] == '\0' && before >= 1 && before <= 7 && after <= 2 && strtod(s, NULL) > 0;
}

static bool
s_nuts3(const char *s)
{
    if (strlen(s) != 5 || s[0] != 'D' || s[1] != 'E')
        return false;
    for (size_t i = 2; i < 5; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z')))
            return false;
    }
    return true;
}

/* --- audit rows and events ---------------------------------------------- */

/* Appends event (topic, resource) to the outbox. 0, or the error in errbuf. */
static int
s_emit(th_db_t *db, const char *resource, const char *topic, const ProtobufCMessage *event,
       char *errbuf, size_t errlen)
{
    const size_t len = protobuf_c_message_get_packed_size(event);
    uint8_t *bytes = malloc(len > 0 ? len : 1);
    if (bytes == NULL) {
        snprintf(errbuf, errlen, "out of memory writing the event of %s", resource);
        return TH_ENOMEM;
    }
    protobuf_c_message_pack(event, bytes);
    int rc = th_db_outbox_append(db, REGISTRY_SCHEMA, topic, resource, bytes, len, NULL);
    if (rc != 0)
        snprintf(errbuf, errlen, "could not write the event of %s: %s", resource,
                 th_db_error(db));
    free(bytes);
    return rc;
}

/* The audit row (before NULL for a creation) and the event of a change that
 * seeding made, as the seed principal. 0, or the error in errbuf. */
static int
s_record(th_db_t *db, const char *resource, const ProtobufCMessage *before,
         const ProtobufCMessage *after, const char *topic, char *errbuf, size_t errlen)
{
    int rc = 0;
    char *before_json = th_pbjson_text(before);
    char *after_json = th_pbjson_text(after);
    if ((before != NULL && before_json == NULL) || after_json == NULL) {
        snprintf(errbuf, errlen, "out of memory writing the audit row of %s", resource);
        rc = TH_ENOMEM;
        goto cleanup;
    }
    const th_audit_entry_t entry = {
        .principal_id = REGISTRY_SEED_PRINCIPAL,
        .principal_role = "system",
        .call_id = 0,
        .method = "seed",
        .resource = resource,
        .before_json = before_json,
        .after_json = after_json,
    };
    if ((rc = th_db_audit(db, &entry)) != 0) {
        snprintf(errbuf, errlen, "could not write the audit row of %s: %s", resource,
                 th_db_error(db));
        goto cleanup;
    }
    rc = s_emit(db, resource, topic, after, errbuf, errlen);

cleanup:
    free(before_json);
    free(after_json);
    return rc;
}

#define S_BAD(...)                                                                         \
    do {                                                                                   \
        snprintf(errbuf, errlen, __VA_ARGS__);                                             \
        rc = TH_EINVAL;                                                                    \
        goto cleanup;                                                                      \
    } while (0)

static int
s_load_states(th_db_t *db, const char *path, const s_table_t *t, int *inserted_count,
              char *errbuf, size_t errlen)
{
    int rc = 0;
    for (size_t r = 1; r < t->n_rows; r++) {
        const s_row_t *row = &t->rows[r];
        const char *code = row->fields[0], *name = row->fields[1];
        if (!th_check_land(code))
            S_BAD("%s:%d: Land code \"%s\" is not two digits from 01 to 16", path,
                  row->line, code);
        if (!th_text_is_line(name, 1, 100))
            S_BAD("%s:%d: Land name must be 1 to 100 characters on one line", path,
                  row->line);
        bool inserted = false;
        rc = registry_store_seed_state(db, code, name, &inserted);
        if (rc != 0) {
            snprintf(errbuf, errlen, "could not insert Land %s: %s", code, th_db_error(db));
            goto cleanup;
        }
        if (!inserted)
            continue;
        Teilhabe__Registry__V1__State state = TEILHABE__REGISTRY__V1__STATE__INIT;
        state.code = (char *) code;
        state.name = (char *) name;
        char resource[32];
        snprintf(resource, sizeof resource, "states/%s", code);
        if ((rc = s_record(db, resource, NULL, &state.base, "state.created", errbuf,
                           errlen)) != 0)
            goto cleanup;
        (*inserted_count)++;
    }
cleanup:
    return rc;
}

static int
s_load_districts(th_db_t *db, const char *path, const s_table_t *t, const s_table_t *states,
                 int *inserted_count, char *errbuf, size_t errlen)
{
    int rc = 0;
    char *key = NULL, *key_expanded = NULL;
    PGresult *result = NULL;
    for (size_t r = 1; r < t->n_rows; r++) {
        const s_row_t *row = &t->rows[r];
        char *const *f = row->fields;
        const char *ags = f[0], *official = f[1], *name = f[2], *nuts3 = f[3], *area = f[4];
        if (!th_check_ags(ags))
            S_BAD("%s:%d: AGS \"%s\" is not 5 digits", path, row->line, ags);
        for (size_t p = 1; p < r; p++) {
            if (strcmp(t->rows[p].fields[0], ags) == 0)
                S_BAD("%s:%d: AGS %s appears twice (first on line %d)", path, row->line,
                      ags, t->rows[p].line);
        }
        bool state_known = false;
        for (size_t s = 1; s < states->n_rows; s++)
            state_known |= strncmp(states->rows[s].fields[0], ags, 2) == 0;
        if (!state_known)
            S_BAD("%s:%d: AGS %s belongs to no Land in states.csv", path, row->line, ags);
        const char *kind = registry_kind_of_official(official);
        if (kind == NULL)
            S_BAD("%s:%d: type \"%s\" is not one of Landkreis, Kreis, Kreisfreie Stadt, "
                  "Stadtkreis, Regionalverband",
                  path, row->line, official);
        if (!th_text_is_line(name, 1, 200))
            S_BAD("%s:%d: name must be 1 to 200 characters on one line", path, row->line);
        if (!s_nuts3(nuts3))
            S_BAD("%s:%d: NUTS3 \"%s\" is not DE followed by 3 letters or digits", path,
                  row->line, nuts3);
        if (!s_area(area))
            S_BAD("%s:%d: area_km2 \"%s\" is not a positive number with at most 2 decimals",
                  path, row->line, area);
        int64_t pop, male, female, density;
        if (!th_check_count(f[5], 12, &pop))
            S_BAD("%s:%d: population \"%s\" is not a whole number", path, row->line, f[5]);
        if (!th_check_count(f[6], 12, &male))
            S_BAD("%s:%d: population_male \"%s\" is not a whole number", path, row->line,
                  f[6]);
        if (!th_check_count(f[7], 12, &female))
            S_BAD("%s:%d: population_female \"%s\" is not a whole number", path, row->line,
                  f[7]);
        if (male + female != pop)
            S_BAD("%s:%d: population %s is not population_male + population_female", path,
                  row->line, f[5]);
        if (!th_check_count(f[8], 12, &density))
            S_BAD("%s:%d: population_per_km2 \"%s\" is not a whole number", path, row->line,
                  f[8]);
        free(key);
        free(key_expanded);
        key = th_text_fold(name, false);
        key_expanded = th_text_fold(name, true);
        if (key == NULL || key_expanded == NULL)
            S_BAD("%s:%d: could not fold name \"%s\"", path, row->line, name);
        char state[3] = {ags[0], ags[1], '\0'};
        const registry_seed_district_t d = {
            .ags = ags,
            .state_code = state,
            .name = name,
            .official_kind = official,
            .kind = kind,
            .nuts3 = nuts3,
            .area_km2 = area,
            .population = pop,
            .population_male = male,
            .population_female = female,
            .population_per_km2 = density,
            .population_date = REGISTRY_SEED_REFERENCE_DATE,
            .valid_from = REGISTRY_SEED_REFERENCE_DATE,
            .search_key = key,
            .search_key_expanded = key_expanded,
        };
        bool inserted = false;
        rc = registry_store_seed_district(db, &d, &inserted);
        if (rc != 0) {
            snprintf(errbuf, errlen, "could not insert district %s: %s", ags,
                     th_db_error(db));
            goto cleanup;
        }
        if (!inserted)
            continue;
        /* The event carries the district as GetDistrict answers it. */
        registry_district_t created;
        rc = registry_store_seed_read_district(db, ags, NULL, &created, &result);
        if (rc != 0) {
            snprintf(errbuf, errlen, "could not read district %s back: %s", ags,
                     th_db_error(db));
            goto cleanup;
        }
        char resource[32];
        snprintf(resource, sizeof resource, "districts/%s", ags);
        if ((rc = s_record(db, resource, NULL, &created.base, "district.created", errbuf,
                           errlen)) != 0)
            goto cleanup;
        PQclear(result);
        result = NULL;
        (*inserted_count)++;
    }
cleanup:
    PQclear(result);
    free(key);
    free(key_expanded);
    return rc;
}

/* Reads ags with its figures of as_of (NULL = the latest) into out, its
 * strings in *result. TH_EINVAL naming the line when ags is unknown. */
static int
s_read_district(th_db_t *db, const char *path, int line, const char *ags, const char *as_of,
                registry_district_t *out, PGresult **result, char *errbuf, size_t errlen)
{
    const int rc = registry_store_seed_read_district(db, ags, as_of, out, result);
    if (rc == TH_ENOTFOUND) {
        snprintf(errbuf, errlen, "%s:%d: district %s is not in the district file", path,
                 line, ags);
        return TH_EINVAL;
    }
    if (rc != 0)
        snprintf(errbuf, errlen, "could not read district %s: %s", ags, th_db_error(db));
    return rc;
}

/* Records one change of the file unless it was recorded before, with the
 * audit rows and events RecordTerritorialChange writes: the district that
 * ends, the change, and the successor whose figures grow. */
static int
s_load_change(th_db_t *db, const char *path, const s_row_t *row, bool *inserted,
              char *errbuf, size_t errlen)
{
    char *const *f = row->fields;
    const char *effective = f[0], *kind = f[1], *ags = f[2], *successor = f[3],
               *note = f[4];
    /* The rows the messages below point into, cleared at the end. */
    enum {
        BEFORE,
        SUCC_BEFORE,
        CHANGE,
        AFTER,
        SUCC_AFTER,
        N_RESULTS
    };
    PGresult *results[N_RESULTS] = {NULL};
    registry_district_t before, succ_before, after, succ_after;
    registry_change_t change;
    char resource[32];
    int rc;
    *inserted = false;
    if ((rc = s_read_district(db, path, row->line, ags, NULL, &before, &results[BEFORE],
                              errbuf, errlen)) != 0 ||
        (rc = s_read_district(db, path, row->line, successor, effective, &succ_before,
                              &results[SUCC_BEFORE], errbuf, errlen)) != 0)
        goto cleanup;
    rc = registry_store_seed_change(db, effective, kind, ags, successor, note, &change,
                                    &results[CHANGE]);
    if (rc != 0) {
        snprintf(errbuf, errlen, "could not record the change of %s: %s", ags,
                 rc == TH_ESTATE ? "it has ended already" : th_db_error(db));
        rc = rc == TH_ESTATE ? TH_EINVAL : rc;
        goto cleanup;
    }
    if (results[CHANGE] == NULL)
        goto cleanup; /* recorded before */
    if ((rc = s_read_district(db, path, row->line, ags, NULL, &after, &results[AFTER],
                              errbuf, errlen)) != 0 ||
        (rc = s_read_district(db, path, row->line, successor, effective, &succ_after,
                              &results[SUCC_AFTER], errbuf, errlen)) != 0)
        goto cleanup;
    snprintf(resource, sizeof resource, "districts/%s", ags);
    if ((rc = s_record(db, resource, &before.base, &after.base, "district.changed", errbuf,
                       errlen)) != 0 ||
        (rc = s_emit(db, resource, "territorial_change.recorded", &change.base, errbuf,
                     errlen)) != 0)
        goto cleanup;
    snprintf(resource, sizeof resource, "districts/%s", successor);
    if ((rc = s_record(db, resource, &succ_before.base, &succ_after.base,
                       "district.changed", errbuf, errlen)) != 0)
        goto cleanup;
    *inserted = true;

cleanup:
    for (size_t i = 0; i < N_RESULTS; i++)
        PQclear(results[i]);
    return rc;
}

static int
s_load_changes(th_db_t *db, const char *path, const s_table_t *t, int *inserted_count,
               char *errbuf, size_t errlen)
{
    int rc = 0;
    for (size_t r = 1; r < t->n_rows; r++) {
        const s_row_t *row = &t->rows[r];
        char *const *f = row->fields;
        const char *effective = f[0], *kind = f[1], *ags = f[2], *successor = f[3],
                   *note = f[4];
        if (!th_date_valid(effective) ||
            strcmp(effective, REGISTRY_SEED_REFERENCE_DATE) <= 0)
            S_BAD("%s:%d: effective \"%s\" is not a date YYYY-MM-DD after %s", path,
                  row->line, effective, REGISTRY_SEED_REFERENCE_DATE);
        if (th_enum_from_token(&teilhabe__registry__v1__territorial_change_kind__descriptor, kind) == 0)
            S_BAD("%s:%d: kind \"%s\" is not \"merge\"", path, row->line, kind);
        if (!th_check_ags(ags))
            S_BAD("%s:%d: ags \"%s\" is not 5 digits", path, row->line, ags);
        if (!th_check_ags(successor) || strcmp(successor, ags) == 0)
            S_BAD("%s:%d: successor_ags \"%s\" is not 5 digits different from ags", path,
                  row->line, successor);
        if (!th_text_is_line(note, 0, 1000))
            S_BAD("%s:%d: note must be at most 1000 characters on one line", path,
                  row->line);
        bool inserted = false;
        if ((rc = s_load_change(db, path, row, &inserted, errbuf, errlen)) != 0)
            goto cleanup;
        *inserted_count += inserted;
    }
cleanup:
    return rc;
}

int
registry_seed(th_db_t *db, const char *dir, registry_seed_report_t *report, char *errbuf,
              size_t errlen)
{
    static const char *const states_header[] = {"code", "name"};
    static const char *const districts_header[] = {"AGS",
                                                   "type",
                                                   "name",
                                                   "NUTS3",
                                                   "area_km2",
                                                   "population",
                                                   "population_male",
                                                   "population_female",
                                                   "population_per_km2"};
    static const char *const changes_header[] = {"effective", "kind", "ags",
                                                 "successor_ags", "note"};
    s_table_t states = {0}, districts = {0}, changes = {0};
    char states_path[1024], districts_path[1024], changes_path[1024];
    int rc = 0;
    memset(report, 0, sizeof *report);
    snprintf(states_path, sizeof states_path, "%s/states.csv", dir);
    snprintf(districts_path, sizeof districts_path, "%s/districts-2018.csv", dir);
    snprintf(changes_path, sizeof changes_path, "%s/territorial-changes.csv", dir);

    /* Parse and check the shapes of all three files before touching the
     * database, so a broken file never leaves half a load behind. */
    if ((rc = s_read_table(states_path, &states, errbuf, errlen)) != 0 ||
        (rc = s_check_shape(states_path, &states, states_header, 2, errbuf, errlen)) != 0 ||
        (rc = s_read_table(districts_path, &districts, errbuf, errlen)) != 0 ||
        (rc = s_check_shape(districts_path, &districts, districts_header, 9, errbuf,
                            errlen)) != 0 ||
        (rc = s_read_table(changes_path, &changes, errbuf, errlen)) != 0 ||
        (rc = s_check_shape(changes_path, &changes, changes_header, 5, errbuf, errlen)) !=
            0)
        goto cleanup;

    if (th_db_begin(db, 0) != 0) {
        snprintf(errbuf, errlen, "could not begin the seed transaction: %s",
                 th_db_error(db));
        rc = TH_EDB;
        goto cleanup;
    }
    if ((rc = s_load_states(db, states_path, &states, &report->states, errbuf, errlen)) !=
            0 ||
        (rc = s_load_districts(db, districts_path, &districts, &states, &report->districts,
                               errbuf, errlen)) != 0 ||
        (rc = s_load_changes(db, changes_path, &changes, &report->changes, errbuf,
                             errlen)) != 0)
        goto cleanup;
    if (th_db_commit(db) != 0) {
        snprintf(errbuf, errlen, "could not commit the seed transaction: %s",
                 th_db_error(db));
        rc = TH_EDB;
        goto cleanup;
    }

cleanup:
    if (rc != 0)
        th_db_rollback(db);
    s_table_clear(&states);
    s_table_clear(&districts);
    s_table_clear(&changes);
    return rc;
}
