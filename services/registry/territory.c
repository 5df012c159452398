/* ---------------------------------------------------------------------------
 * territory.c: one immutable snapshot of the territorial data and its
 * lookups (see territory.h)
 *
 * The messages are filled by th_row from the loaded rows, with their
 * strings pointing into the PGresults, which the snapshot keeps: one
 * District per district and figures status, so a lookup picks a status and
 * hands out its message as it is. Everything is sorted by bytes here, so
 * the order never depends on a database collation; dates are ISO text and
 * compare as strings.
 * ---------------------------------------------------------------------------
 */
#include "territory.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "th_enum.h"
#include "th_error.h"
#include "th_row.h"

/* A district with the figures of one territorial status. */
typedef struct {
    registry_district_t msg;
    const char *figures_valid_to; /* "" = open */
    const char *search_key;
    const char *search_key_expanded;
} s_status_t;

/* A district: its statuses, by figures_valid_from. The fields of the
 * district itself (ags, name, validity, ...) are those of any status. */
typedef struct {
    const s_status_t *status;
    size_t n_status;
} s_district_t;

struct registry_territory_t {
    /* The only field that changes: references are taken and dropped by
     * any thread (the rest is written once, before the first is shared). */
    atomic_int refs;
    registry_territory_rows_t rows;
    registry_state_t *states; /* code and name, by code */
    size_t n_states;
    s_status_t *statuses; /* by ags, figures_valid_from */
    size_t n_statuses;
    s_district_t *districts; /* by ags */
    size_t n_districts;
    registry_change_t *changes; /* by effective, id */
    size_t n_changes;
};

/* --- building ------------------------------------------------------------- */

static int
s_cmp_status(const void *a, const void *b)
{
    const registry_district_t *x = &((const s_status_t *) a)->msg;
    const registry_district_t *y = &((const s_status_t *) b)->msg;
    const int c = strcmp(x->ags, y->ags);
    return c != 0 ? c : strcmp(x->figures_valid_from, y->figures_valid_from);
}

static int
s_cmp_state(const void *a, const void *b)
{
    return strcmp(((const registry_state_t *) a)->code,
                  ((const registry_state_t *) b)->code);
}

static int
s_cmp_change(const void *a, const void *b)
{
    const registry_change_t *x = a, *y = b;
    const int c = strcmp(x->effective, y->effective);
    return c != 0 ? c : (x->id > y->id) - (x->id < y->id);
}

/* The column of r named name, or -1. */
static int
s_col(const PGresult *r, const char *name)
{
    return PQfnumber(r, name);
}

registry_territory_t *
registry_territory_new(registry_territory_rows_t *rows, char *errbuf, size_t errlen)
{
    registry_territory_t *self = calloc(1, sizeof *self);
    if (self == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        registry_store_territory_rows_clear(rows);
        return NULL;
    }
    atomic_init(&self->refs, 1);
    self->rows = *rows;
    *rows = (registry_territory_rows_t){0};
    const PGresult *st = self->rows.states, *dr = self->rows.districts,
                   *ch = self->rows.changes;
    const int to_col = s_col(dr, "figures_valid_to"), key_col = s_col(dr, "search_key"),
              exp_col = s_col(dr, "search_key_expanded");
    if (st == NULL || dr == NULL || ch == NULL || to_col < 0 || key_col < 0 ||
        exp_col < 0) {
        snprintf(errbuf, errlen, "the territory rows lack a result or a column");
        goto fail;
    }
    self->n_states = (size_t) PQntuples(st);
    self->n_statuses = (size_t) PQntuples(dr);
    self->n_changes = (size_t) PQntuples(ch);
    self->states = calloc(self->n_states + 1, sizeof *self->states);
    self->statuses = calloc(self->n_statuses + 1, sizeof *self->statuses);
    self->districts = calloc(self->n_statuses + 1, sizeof *self->districts);
    self->changes = calloc(self->n_changes + 1, sizeof *self->changes);
    if (self->states == NULL || self->statuses == NULL || self->districts == NULL ||
        self->changes == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < self->n_states; i++) {
        teilhabe__registry__v1__state__init(&self->states[i]);
        th_row_fill(NULL, st, (int) i, 0, 0, &self->states[i].base);
    }
    qsort(self->states, self->n_states, sizeof *self->states, s_cmp_state);
    for (size_t i = 0; i < self->n_statuses; i++) {
        s_status_t *s = &self->statuses[i];
        teilhabe__registry__v1__district__init(&s->msg);
        th_row_fill(NULL, dr, (int) i, 0, 0, &s->msg.base);
        s->figures_valid_to = PQgetvalue(dr, (int) i, to_col);
        s->search_key = PQgetvalue(dr, (int) i, key_col);
        s->search_key_expanded = PQgetvalue(dr, (int) i, exp_col);
    }
    qsort(self->statuses, self->n_statuses, sizeof *self->statuses, s_cmp_status);
    for (size_t i = 0; i < self->n_statuses; i++) {
        if (self->n_districts > 0) {
            s_district_t *last = &self->districts[self->n_districts - 1];
            if (strcmp(last->status[0].msg.ags, self->statuses[i].msg.ags) == 0) {
                last->n_status++;
                continue;
            }
        }
        self->districts[self->n_districts++] = (s_district_t){&self->statuses[i], 1};
    }
    for (size_t i = 0; i < self->n_changes; i++) {
        teilhabe__registry__v1__territorial_change__init(&self->changes[i]);
        th_row_fill(NULL, ch, (int) i, 0, 0, &self->changes[i].base);
    }
    qsort(self->changes, self->n_changes, sizeof *self->changes, s_cmp_change);
    return self;
fail:
    registry_territory_unref((const registry_territory_t **) &self);
    return NULL;
}

const registry_territory_t *
registry_territory_ref(const registry_territory_t *self)
{
    /* The count is the one field a holder of a const snapshot may change. */
    atomic_fetch_add(&((registry_territory_t *) self)->refs, 1);
    return self;
}

void
registry_territory_unref(const registry_territory_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    registry_territory_t *self = (registry_territory_t *) *self_p;
    *self_p = NULL;
    if (atomic_fetch_sub(&self->refs, 1) != 1)
        return;
    free(self->states);
    free(self->statuses);
    free(self->districts);
    free(self->changes);
    registry_store_territory_rows_clear(&self->rows);
    free(self);
}

int64_t
registry_territory_version(const registry_territory_t *self)
{
    return self->rows.version;
}

size_t
registry_territory_district_count(const registry_territory_t *self)
{
    return self->n_districts;
}

size_t
registry_territory_state_count(const registry_territory_t *self)
{
    return self->n_states;
}

size_t
registry_territory_change_count(const registry_territory_t *self)
{
    return self->n_changes;
}

/* --- lookups ---------------------------------------------------------------- */

/* from <= date <= to, to "" = open (S_VALID_ON). */
static bool
s_valid_on(const char *from, const char *to, const char *date)
{
    return strcmp(from, date) <= 0 && (to[0] == '\0' || strcmp(to, date) >= 0);
}

static int
s_cmp_ags(const void *key, const void *elem)
{
    return strcmp(key, ((const s_district_t *) elem)->status[0].msg.ags);
}

static const s_district_t *
s_find(const registry_territory_t *self, const char *ags)
{
    return bsearch(ags, self->districts, self->n_districts, sizeof *self->districts,
                   s_cmp_ags);
}

/* The status of d "near" as_of (S_DISTRICT_FROM_NEAR): the latest whose
 * figures begin on or before as_of, or on or before the district's first
 * day when as_of is earlier; as_of NULL = the latest. NULL when none. */
static const s_status_t *
s_near(const s_district_t *d, const char *as_of)
{
    const char *first_day = d->status[0].msg.valid_from;
    const char *bound = as_of == NULL || strcmp(as_of, first_day) >= 0 ? as_of : first_day;
    const s_status_t *found = NULL;
    for (size_t i = 0; i < d->n_status; i++) {
        if (bound == NULL || strcmp(d->status[i].msg.figures_valid_from, bound) <= 0)
            found = &d->status[i];
    }
    return found;
}

/* The status of a district existing on date whose figures are valid then
 * (S_DISTRICT_FROM_ON), or NULL. */
static const s_status_t *
s_on(const s_district_t *d, const char *date)
{
    const registry_district_t *first = &d->status[0].msg;
    if (!s_valid_on(first->valid_from, first->valid_to, date))
        return NULL;
    for (size_t i = 0; i < d->n_status; i++) {
        if (s_valid_on(d->status[i].msg.figures_valid_from, d->status[i].figures_valid_to,
                       date))
            return &d->status[i];
    }
    return NULL;
}

const registry_district_t *
registry_territory_district(const registry_territory_t *self, const char *ags,
                            const char *as_of)
{
    const s_district_t *d = s_find(self, ags);
    const s_status_t *s = d != NULL ? s_near(d, as_of) : NULL;
    return s != NULL ? &s->msg : NULL;
}

size_t
registry_territory_list(const registry_territory_t *self,
                        const registry_district_filter_t *f,
                        const registry_district_t **out, int *total)
{
    const int kind = f->kind != NULL
                         ? th_enum_from_token(
                               &teilhabe__registry__v1__district_kind__descriptor, f->kind)
                         : 0;
    const int type =
        f->settlement_type != NULL
            ? th_enum_from_token(&teilhabe__registry__v1__settlement_type__descriptor,
                                 f->settlement_type)
            : 0;
    size_t n = 0;
    int matches = 0;
    for (size_t i = 0; i < self->n_districts; i++) {
        const s_status_t *s = s_on(&self->districts[i], f->as_of);
        if (s == NULL)
            continue;
        const registry_district_t *d = &s->msg;
        if ((f->state_code != NULL && strcmp(d->state_code, f->state_code) != 0) ||
            (f->kind != NULL && (int) d->kind != kind) ||
            (f->settlement_type != NULL && (int) d->settlement_type != type))
            continue;
        matches++;
        if ((f->after_ags == NULL || strcmp(d->ags, f->after_ags) > 0) &&
            n < (size_t) (f->limit > 0 ? f->limit : 0))
            out[n++] = d;
    }
    *total = matches;
    return n;
}

static bool
s_starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

size_t
registry_territory_search(const registry_territory_t *self, const char *key,
                          const char *as_of, bool include_ended, int limit,
                          const registry_district_t **out)
{
    size_t n = 0;
    /* Names that start with key first, then the rest, each by AGS. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < self->n_districts && n < (size_t) (limit > 0 ? limit : 0);
             i++) {
            const s_district_t *d = &self->districts[i];
            const s_status_t *first = &d->status[0];
            const bool prefix = s_starts_with(first->search_key, key) ||
                                s_starts_with(first->search_key_expanded, key);
            if (prefix != (pass == 0))
                continue;
            if (!prefix && strstr(first->search_key, key) == NULL &&
                strstr(first->search_key_expanded, key) == NULL &&
                !s_starts_with(first->msg.ags, key))
                continue;
            if (!include_ended &&
                !s_valid_on(first->msg.valid_from, first->msg.valid_to, as_of))
                continue;
            const s_status_t *s = s_near(d, as_of);
            if (s != NULL)
                out[n++] = &s->msg;
        }
    }
    return n;
}

size_t
registry_territory_states(const registry_territory_t *self, const char *as_of,
                          registry_state_t *out)
{
    for (size_t i = 0; i < self->n_states; i++) {
        out[i] = self->states[i];
        out[i].district_count = 0;
        out[i].population = 0;
        out[i].population_date = (char *) "";
    }
    /* Districts are by AGS, whose first two digits are the Land: one walk. */
    size_t st = 0;
    for (size_t i = 0; i < self->n_districts; i++) {
        const s_status_t *s = s_on(&self->districts[i], as_of);
        if (s == NULL)
            continue;
        const registry_district_t *d = &s->msg;
        if (st >= self->n_states || strcmp(out[st].code, d->state_code) != 0) {
            const registry_state_t key = {.code = d->state_code};
            const registry_state_t *found = bsearch(&key, self->states, self->n_states,
                                                    sizeof *self->states, s_cmp_state);
            if (found == NULL)
                continue; /* no Land: the join drops it */
            st = (size_t) (found - self->states);
        }
        registry_state_t *state = &out[st];
        state->district_count++;
        state->population += d->population;
        if (state->population_date[0] == '\0' ||
            strcmp(d->population_date, state->population_date) < 0)
            state->population_date = d->population_date;
    }
    return self->n_states;
}

bool
registry_territory_state_exists(const registry_territory_t *self, const char *code)
{
    const registry_state_t key = {.code = (char *) code};
    return bsearch(&key, self->states, self->n_states, sizeof *self->states, s_cmp_state) !=
           NULL;
}

size_t
registry_territory_changes(const registry_territory_t *self, const char *ags,
                           const registry_change_t **out)
{
    size_t n = 0;
    for (size_t i = 0; i < self->n_changes; i++) {
        const registry_change_t *c = &self->changes[i];
        if (strcmp(c->ags, ags) == 0 || strcmp(c->successor_ags, ags) == 0)
            out[n++] = c;
    }
    return n;
}
