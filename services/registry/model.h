/* ---------------------------------------------------------------------------
 * model.h: the registry's vocabulary: enum values <-> the lowercase tokens
 * stored in the database and typed on the command line, the mapping of
 * official district kinds. The settlement type derives from a district's
 * kind and figures in SQL (registry.settlement_type, migration 0003), so
 * that it follows the figures a district answers with on each date.
 * ---------------------------------------------------------------------------
 */
#ifndef REGISTRY_MODEL_H
#define REGISTRY_MODEL_H

#include <stdint.h>

#include "teilhabe/v1/fields.pb-c.h"
#include "teilhabe/v1/registry.pb-c.h"

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

#endif /* REGISTRY_MODEL_H */
