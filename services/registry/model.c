/* ---------------------------------------------------------------------------
 * model.c: official district kinds (the settlement-type rule is the SQL
 * function registry.settlement_type, migration 0003)
 * ---------------------------------------------------------------------------
 */
#include "model.h"

#include <stddef.h>
#include <string.h>

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
