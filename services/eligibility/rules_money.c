/* ---------------------------------------------------------------------------
 * rules_money.c: the entitlement of an eligible district in euro cents,
 * from fixed components or as a share of a budget.
 *
 * Everything is integer arithmetic: a parameter in cents times a number of
 * posts in millionths, the product in __int128 and rounded half up to the
 * cent once per component. Shares of a budget are floored to the cent and
 * the cents left over handed out one each by largest remainder, so the
 * shares add up to the budget exactly.
 * ---------------------------------------------------------------------------
 */
#include "rules_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "th_error.h"
#include "th_money.h"

/* Floor division of a by a positive b. */
static __int128
s_floor_div(__int128 a, __int128 b)
{
    __int128 q = a / b;
    if ((a % b != 0) && (a < 0))
        q--;
    return q;
}

/* cents x micro / 10^6, rounded half up. */
static __int128
s_times(int64_t cents, int64_t micro)
{
    return s_floor_div((__int128) cents * micro + RULES_MICRO / 2, RULES_MICRO);
}

/* The posts of component c for the district, in micro; -1 with why in
 * errbuf when district.kind is not one the component names. */
static int64_t
s_posts(const rules_set_t *set, const rules_component_t *c, const rules_facts_t *facts,
        char *errbuf, size_t errlen)
{
    if (c->posts >= 0)
        return set->params[c->posts].value;
    if (c->posts_kreis < 0)
        return RULES_MICRO;
    const rules_fact_t *kind = rules_facts_find(facts, "district.kind");
    if (kind != NULL && kind->value.type == RULES_TEXT) {
        if (strcmp(kind->value.text, "landkreis") == 0)
            return set->params[c->posts_kreis].value;
        if (strcmp(kind->value.text, "kreisfreie_stadt") == 0)
            return set->params[c->posts_stadt].value;
    }
    snprintf(errbuf, errlen,
             "component %s: district.kind is not landkreis or kreisfreie_stadt", c->id);
    return -1;
}

static bool
s_ill(const rules_set_t *set, int param)
{
    return param >= 0 && set->params[param].illustrative;
}

/* Clamps *cents to [floor, cap] (either -1 for none); appends what it did
 * to how. */
static void
s_clamp(const rules_set_t *set, int floor, int cap, int64_t *cents, bool en, char *how,
        size_t size)
{
    char eur[32];
    const size_t used = strlen(how);
    if (floor >= 0 && *cents < set->params[floor].value) {
        *cents = set->params[floor].value;
        th_money_format_eur(*cents, eur, sizeof eur);
        snprintf(how + used, size - used,
                 en ? ", raised to the floor of %s EUR"
                    : ", angehoben auf die Untergrenze von %s EUR",
                 eur);
    } else if (cap >= 0 && *cents > set->params[cap].value) {
        *cents = set->params[cap].value;
        th_money_format_eur(*cents, eur, sizeof eur);
        snprintf(how + used, size - used,
                 en ? ", capped at %s EUR" : ", begrenzt auf %s EUR", eur);
    }
}

int
rules__entitlement(const rules_set_t *set, rules_result_t *self, const rules_facts_t *facts,
                   char *errbuf, size_t errlen)
{
    int64_t total = 0;
    for (size_t i = 0; i < set->n_components; i++) {
        const rules_component_t *c = &set->components[i];
        const int64_t posts = s_posts(set, c, facts, errbuf, errlen);
        if (posts < 0)
            return TH_EINVAL;
        const int64_t amount = set->params[c->amount].value;
        const __int128 product = s_times(amount, posts);
        if (product > TH_MONEY_MAX_CENTS || product < -TH_MONEY_MAX_CENTS) {
            snprintf(errbuf, errlen, "component %s: the amount is too large", c->id);
            return TH_EINVAL;
        }
        int64_t cents = (int64_t) product;
        char how[256], n[32], eur[32];
        rules__format_micro(posts, n, sizeof n);
        th_money_format_eur(amount, eur, sizeof eur);
        if (c->posts < 0 && c->posts_kreis < 0)
            snprintf(how, sizeof how, "%s EUR", eur);
        else if (posts == RULES_MICRO) /* one post: no plural */
            snprintf(how, sizeof how, self->en ? "1 post x %s EUR" : "1 Stelle x %s EUR", eur);
        else
            snprintf(how, sizeof how,
                     self->en ? "%s posts x %s EUR" : "%s Stellen x %s EUR", n, eur);
        s_clamp(set, c->floor, c->cap, &cents, self->en, how, sizeof how);
        const int posts_param = c->posts >= 0        ? c->posts
                                : c->posts_kreis < 0 ? -1
                                : posts == set->params[c->posts_kreis].value
                                    ? c->posts_kreis
                                    : c->posts_stadt;
        rules_part_t part = {
            .id = rules__keeps(self, c->id),
            .text = rules__keeps(self, self->en ? c->text_en : c->text_de),
            .cents = cents,
            .how = rules__keepf(self, "%s", how),
            .illustrative = s_ill(set, c->amount) || s_ill(set, posts_param) ||
                            s_ill(set, c->cap) || s_ill(set, c->floor),
            .source = rules__keeps(self, set->params[c->amount].source),
        };
        if (part.id == NULL || part.text == NULL || part.how == NULL ||
            part.source == NULL || rules__add_part(self, &part) != 0)
            return TH_ENOMEM;
        total += cents;
        self->illustrative = self->illustrative || part.illustrative;
    }
    /* A total cap or floor is a part of its own (the difference), so the
     * parts always add up to the entitlement. */
    int64_t clamped = total;
    char how[256] = "";
    s_clamp(set, set->floor, set->cap, &clamped, self->en, how, sizeof how);
    if (clamped != total) {
        const bool up = clamped > total;
        const int param = up ? set->floor : set->cap;
        rules_part_t part = {
            .id = up ? "_floor" : "_cap",
            .text = up ? (self->en ? "floor of the total" : "Untergrenze der Summe")
                       : (self->en ? "cap of the total" : "Obergrenze der Summe"),
            .cents = clamped - total,
            .how = rules__keepf(self, "%s", how + 2),
            .illustrative = s_ill(set, param),
            .source = rules__keeps(self, set->params[param].source),
        };
        if (part.how == NULL || part.source == NULL || rules__add_part(self, &part) != 0)
            return TH_ENOMEM;
        self->illustrative = self->illustrative || part.illustrative;
    }
    self->cents = clamped;
    return 0;
}

/* --- allocation ---------------------------------------------------------------------- */

typedef struct {
    rules_result_t *result;
    __int128 weight;
    __int128 share;
    __int128 remainder;
} s_share_t;

/* Largest remainder first, then AGS ascending: who gets a leftover cent. */
static int
s_by_remainder(const void *a, const void *b)
{
    const s_share_t *x = a, *y = b;
    if (x->remainder != y->remainder)
        return x->remainder > y->remainder ? -1 : 1;
    return strcmp(x->result->ags, y->result->ags);
}

int
rules_allocate(const rules_set_t *self, rules_result_t *const *results, size_t n,
               char *errbuf, size_t errlen)
{
    char scratch[8];
    if (errbuf == NULL || errlen == 0) {
        errbuf = scratch;
        errlen = sizeof scratch;
    }
    errbuf[0] = '\0';
    if (self == NULL || !self->allocates || (n > 0 && results == NULL)) {
        snprintf(errbuf, errlen, "the rule set does not allocate a budget");
        return TH_EINVAL;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        rules_result_t *r = results[i];
        if (r == NULL || r->outcome != RULES_ELIGIBLE)
            continue;
        if (!r->has_weight || r->weight < 0) {
            snprintf(errbuf, errlen, "district %s: %s is %s", r->ags, self->indicator.key,
                     r->has_weight ? "negative" : "missing");
            return TH_EINVAL;
        }
        k++;
    }
    if (k == 0)
        return 0;
    s_share_t *shares = calloc(k, sizeof *shares);
    if (shares == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        return TH_ENOMEM;
    }
    const int64_t budget = self->params[self->budget].value;
    const int64_t minimum = self->minimum >= 0 ? self->params[self->minimum].value : 0;
    /* With room for every minimum, each gets it and the rest is shared by
     * weight; without, the budget is shared equally (a minimum that cannot
     * be paid to all is paid to none, rather than to an arbitrary few). */
    const bool room = (__int128) minimum * (__int128) k <= budget;
    const int64_t base = room ? minimum : 0;
    const __int128 rest = (__int128) budget - (__int128) base * (__int128) k;
    __int128 sum_w = 0;
    size_t j = 0;
    for (size_t i = 0; i < n; i++)
        if (results[i] != NULL && results[i]->outcome == RULES_ELIGIBLE) {
            shares[j].result = results[i];
            shares[j].weight = room ? results[i]->weight : 1;
            sum_w += shares[j].weight;
            j++;
        }
    if (sum_w == 0) { /* every weight zero: equal shares */
        for (j = 0; j < k; j++)
            shares[j].weight = 1;
        sum_w = (__int128) k;
    }
    __int128 handed = 0;
    for (j = 0; j < k; j++) {
        shares[j].share = rest * shares[j].weight / sum_w;
        shares[j].remainder = rest * shares[j].weight % sum_w;
        handed += shares[j].share;
    }
    qsort(shares, k, sizeof *shares, s_by_remainder);
    const __int128 leftover = rest - handed; /* < k */
    const bool ill = s_ill(self, self->budget) || s_ill(self, self->minimum);
    char b_eur[32], m_eur[32];
    th_money_format_eur(budget, b_eur, sizeof b_eur);
    th_money_format_eur(base, m_eur, sizeof m_eur);
    int rc = 0;
    for (j = 0; j < k; j++) {
        rules_result_t *r = shares[j].result;
        const int64_t cents = base + (int64_t) shares[j].share + ((__int128) j < leftover);
        char w[32];
        rules__format_micro(r->weight, w, sizeof w);
        r->n_parts = 0;
        rules_part_t part = {
            .id = "allocation",
            .text = r->en ? "share of the budget" : "Anteil am Budget",
            .cents = cents,
            .how = !room
                       ? rules__keepf(r,
                                      r->en ? "%s EUR shared equally by %zu districts "
                                              "(the minimum does not fit)"
                                            : "%s EUR zu gleichen Teilen auf %zu Kreise "
                                              "(der Mindestbetrag passt nicht)",
                                      b_eur, k)
                       : rules__keepf(r,
                                      r->en ? "minimum %s EUR + share by %s = %s of %s EUR"
                                            : "Mindestbetrag %s EUR + Anteil nach %s = %s "
                                              "an %s EUR",
                                      m_eur, self->indicator.key, w, b_eur),
            .illustrative = ill,
            .source = rules__keeps(r, self->params[self->budget].source),
        };
        if (part.how == NULL || part.source == NULL || rules__add_part(r, &part) != 0) {
            rc = TH_ENOMEM;
            snprintf(errbuf, errlen, "out of memory");
            break;
        }
        r->cents = cents;
        r->illustrative = ill;
    }
    free(shares);
    return rc;
}
