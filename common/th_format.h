/* ---------------------------------------------------------------------------
 * th_format.h: protobuf messages as tables, JSON and CSV (for the CLI).
 *
 * Generic over protoc-c descriptors, so every command prints every message
 * type the same way:
 *   JSON   keys are the proto field names; enums are their value names;
 *          repeated fields are arrays; nested messages are objects (null when
 *          unset); bytes are base64; 64-bit integers are JSON numbers.
 *   CSV    RFC 4180: a header row of the top-level field names, CRLF line
 *          ends, fields quoted when they hold a comma, quote, CR or LF.
 *          Repeated scalars are joined with ";", nested messages are their
 *          compact JSON.
 *   table  for people: the cells of CSV, but enum values by their short
 *          label ("Landkreis", th_enum.h) and repeated values joined
 *          with ", ", left-aligned in columns under a header row. A view
 *          chooses the columns a person needs and a width the lines keep
 *          to (cells that do not fit are cut, ending in "…"). One message
 *          alone is a record: a line per field, "name  value".
 * ---------------------------------------------------------------------------
 */
#ifndef TH_FORMAT_H
#define TH_FORMAT_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdio.h>

typedef enum {
    TH_FORMAT_TABLE = 0,
    TH_FORMAT_JSON = 1,
    TH_FORMAT_CSV = 2,
} th_format_t;

/* What a table shows. */
typedef struct {
    const char *const *columns; /* field names, NULL-terminated; NULL = every field */
    size_t width;               /* the widest a line may be; 0 = no limit */
} th_format_view_t;

/* Parses "table", "json" or "csv". 0 or TH_EINVAL. */
int th_format_parse(const char *name, th_format_t *out);

/* The message as a JSON object (new reference, caller json_decref's), or
 * NULL when out of memory. */
json_t *th_format_message_json(const ProtobufCMessage *msg);

/* One field of msg as the text of a table or CSV cell (joiner between
 * repeated values). Caller frees. NULL when out of memory. */
char *th_format_field_text(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field,
                           const char *joiner);

/* Appends s to out as one CSV field (quoted by libcsv when it holds a
 * comma, quote, CR or LF). */
void th_format_csv_field(FILE *out, const char *s);

/* Writes n messages of type desc to out: JSON as an array of objects, CSV
 * and table with a header row. 0 or TH_ENOMEM / TH_EIO. */
int th_format_write_list(FILE *out, th_format_t format, const ProtobufCMessageDescriptor *desc,
                         const ProtobufCMessage *const *msgs, size_t n);

/* The same; a table shows view (NULL: every field, no width limit). JSON
 * and CSV always carry every field. */
int th_format_write_list_view(FILE *out, th_format_t format,
                              const ProtobufCMessageDescriptor *desc,
                              const ProtobufCMessage *const *msgs, size_t n,
                              const th_format_view_t *view);

/* Writes a table of text cells (rows x columns, row by row) under a header
 * row, as the tables above are written: left-aligned, cut to width (0 = no
 * limit). For output that is not one field per column (an indented trace,
 * amounts in euros). 0 or TH_ENOMEM / TH_EIO. */
int th_format_write_cells(FILE *out, const char *const *header, size_t columns,
                          const char *const *cells, size_t rows, size_t width);

/* Writes one message: JSON as an object, CSV as one row under the header,
 * table as a record (a line per field). 0 or TH_ENOMEM / TH_EIO. */
int th_format_write_one(FILE *out, th_format_t format, const ProtobufCMessage *msg);

/* The same; a record's values are cut to fit view->width (NULL: no
 * limit). */
int th_format_write_one_view(FILE *out, th_format_t format, const ProtobufCMessage *msg,
                             const th_format_view_t *view);

#endif /* TH_FORMAT_H */
