/* ---------------------------------------------------------------------------
 * th_enum.h: protobuf enum values as text, from the enum's descriptor.
 *
 * Every enum of teilhabe's .proto files names its values with a common
 * prefix and has UNSPECIFIED as 0 (DISTRICT_KIND_UNSPECIFIED,
 * DISTRICT_KIND_LANDKREIS, ...). Without the prefix, in lowercase, a value
 * is its token: "landkreis", "kreisfreie_stadt", "work_and_training". The
 * token is what the database stores, what the CLI accepts and what a
 * person types; the label ("Landkreis", "Kreisfreie stadt") is what a
 * table shows. JSON and CSV keep the full value names of the proto.
 *
 * Derived from the descriptor protoc-c generates, so no service or client
 * keeps its own copy of a vocabulary, and a value added to a .proto is
 * known everywhere at the next build.
 * ---------------------------------------------------------------------------
 */
#ifndef TH_ENUM_H
#define TH_ENUM_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>

/* Large enough for any token or label of teilhabe's enums. */
#define TH_ENUM_TEXT_SIZE 64

/* True when value is a value of desc; the zero value (UNSPECIFIED) only
 * when allow_zero. */
bool th_enum_valid(const ProtobufCEnumDescriptor *desc, int value, bool allow_zero);

/* The token of value into buf ("landkreis"); NULL when value is not a
 * value of desc or is its zero value, or buf is too small. */
const char *th_enum_token(const ProtobufCEnumDescriptor *desc, int value, char *buf,
                          size_t size);

/* The value whose token is text, compared without case and with '-' read
 * as '_' ("Kreisfreie-Stadt" = "kreisfreie_stadt"); 0 when none matches
 * (or text is NULL), so an unknown token reads as UNSPECIFIED. */
int th_enum_from_token(const ProtobufCEnumDescriptor *desc, const char *text);

/* A short label for a person into buf: the token with spaces for
 * underscores, its first letter capitalised ("Landkreis", "Work and
 * training"); "" for the zero value; the number for a value desc does not
 * know (a newer peer's). Returns buf. */
const char *th_enum_label(const ProtobufCEnumDescriptor *desc, int value, char *buf,
                          size_t size);

/* The tokens of every value but zero, joined by ", " ("landkreis,
 * kreisfreie_stadt"), into buf, for messages that say what is allowed.
 * Returns buf. */
const char *th_enum_tokens(const ProtobufCEnumDescriptor *desc, char *buf, size_t size);

#endif /* TH_ENUM_H */
