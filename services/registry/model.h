/* ---------------------------------------------------------------------------
 * model.h: the registry's vocabulary: enum values <-> the lowercase tokens
 * stored in the database and typed on the command line, the mapping of
 * official district kinds, and the settlement-type rule.
 * ---------------------------------------------------------------------------
 */
#ifndef REGISTRY_MODEL_H
#define REGISTRY_MODEL_H

#include <stdint.h>

#include "teilhabe/v1/fields.pb-c.h"
#include "teilhabe/v1/registry.pb-c.h"

/* Settlement-type thresholds (docs/registry.md explains the BBSR types they
 * approximate). */
#define REGISTRY_GROSSSTADT_MIN_POPULATION 100000
#define REGISTRY_STAEDTISCH_MIN_DENSITY 150
#define REGISTRY_VERDICHTUNG_MIN_DENSITY 100

/* Each *_text returns the token for a valid enum value, NULL otherwise
 * (UNSPECIFIED and unknown numbers included). Each *_from_text returns the
 * enum value for a token, 0 (UNSPECIFIED) for an unknown one. */
const char *registry_kind_text(int kind);
int registry_kind_from_text(const char *text);
const char *registry_settlement_text(int type);
int registry_settlement_from_text(const char *text);
const char *registry_orientation_text(int orientation);
int registry_orientation_from_text(const char *text);
const char *registry_field_text(int field);
int registry_field_from_text(const char *text);
const char *registry_change_kind_text(int kind);
int registry_change_kind_from_text(const char *text);

/* "landkreis" for Landkreis, Kreis and Regionalverband, "kreisfreie_stadt"
 * for Kreisfreie Stadt and Stadtkreis, NULL for anything else. */
const char *registry_kind_of_official(const char *official_kind);

/* The settlement-type token for a district of kind (token), population and
 * density (inhabitants per km2). */
const char *registry_settlement_derive(const char *kind, int64_t population,
                                       int64_t per_km2);

#endif /* REGISTRY_MODEL_H */
