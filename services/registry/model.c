/* ---------------------------------------------------------------------------
 * model.c: enum tokens and official kinds (the settlement-type rule is the
 * SQL function registry.settlement_type, migration 0003)
 * ---------------------------------------------------------------------------
 */
#include "model.h"

#include <stddef.h>
#include <string.h>

/* Token tables indexed by enum value; index 0 (UNSPECIFIED) has none. */
static const char *const s_kinds[] = {NULL, "landkreis", "kreisfreie_stadt"};
static const char *const s_settlements[] = {
    NULL, "kreisfreie_grossstadt", "staedtischer_kreis", "laendlicher_kreis_verdichtung",
    "duenn_besiedelt"};
static const char *const s_orientations[] = {NULL, "participation", "newcomers", "unclear"};
static const char *const s_fields[] = {NULL,
                                       "work_and_training",
                                       "education",
                                       "language",
                                       "housing",
                                       "health",
                                       "political_participation",
                                       "culture_sports_leisure",
                                       "intercultural_opening",
                                       "anti_discrimination",
                                       "neighbourhood_life"};
static const char *const s_change_kinds[] = {NULL, "merge"};

#define S_COUNT(a) ((int) (sizeof(a) / sizeof((a)[0])))

static const char *
s_text(const char *const *table, int count, int value)
{
    return value > 0 && value < count ? table[value] : NULL;
}

static int
s_from_text(const char *const *table, int count, const char *text)
{
    if (text == NULL)
        return 0;
    for (int i = 1; i < count; i++) {
        if (strcmp(table[i], text) == 0)
            return i;
    }
    return 0;
}

const char *
registry_kind_text(int kind)
{
    return s_text(s_kinds, S_COUNT(s_kinds), kind);
}

int
registry_kind_from_text(const char *text)
{
    return s_from_text(s_kinds, S_COUNT(s_kinds), text);
}

const char *
registry_settlement_text(int type)
{
    return s_text(s_settlements, S_COUNT(s_settlements), type);
}

int
registry_settlement_from_text(const char *text)
{
    return s_from_text(s_settlements, S_COUNT(s_settlements), text);
}

const char *
registry_orientation_text(int orientation)
{
    return s_text(s_orientations, S_COUNT(s_orientations), orientation);
}

int
registry_orientation_from_text(const char *text)
{
    return s_from_text(s_orientations, S_COUNT(s_orientations), text);
}

const char *
registry_field_text(int field)
{
    return s_text(s_fields, S_COUNT(s_fields), field);
}

int
registry_field_from_text(const char *text)
{
    return s_from_text(s_fields, S_COUNT(s_fields), text);
}

const char *
registry_change_kind_text(int kind)
{
    return s_text(s_change_kinds, S_COUNT(s_change_kinds), kind);
}

int
registry_change_kind_from_text(const char *text)
{
    return s_from_text(s_change_kinds, S_COUNT(s_change_kinds), text);
}

const char *
registry_kind_of_official(const char *official_kind)
{
    if (official_kind == NULL)
        return NULL;
    /* A "Kreis" is what Schleswig-Holstein and Nordrhein-Westfalen call a
     * Landkreis; the Regionalverband Saarbrücken is a Kreis-level
     * association of municipalities that does what a Landkreis does; a
     * Stadtkreis is Baden-Württemberg's kreisfreie Stadt. */
    if (strcmp(official_kind, "Landkreis") == 0 || strcmp(official_kind, "Kreis") == 0 ||
        strcmp(official_kind, "Regionalverband") == 0)
        return "landkreis";
    if (strcmp(official_kind, "Kreisfreie Stadt") == 0 ||
        strcmp(official_kind, "Stadtkreis") == 0)
        return "kreisfreie_stadt";
    return NULL;
}
