/* ---------------------------------------------------------------------------
 * model.h: the mapping of the official district kinds of the source data
 * onto the registry's DistrictKind. Enum values as text come from the
 * descriptors (th_enum.h); the settlement type derives from a district's
 * kind and figures in SQL (registry.settlement_type, migration 0003), so
 * that it follows the figures a district answers with on each date.
 * ---------------------------------------------------------------------------
 */
#ifndef REGISTRY_MODEL_H
#define REGISTRY_MODEL_H

/* "landkreis" for Landkreis, Kreis and Regionalverband, "kreisfreie_stadt"
 * for Kreisfreie Stadt and Stadtkreis (the tokens of DistrictKind), NULL
 * for anything else. */
const char *registry_kind_of_official(const char *official_kind);

#endif /* REGISTRY_MODEL_H */
