/* ---------------------------------------------------------------------------
 * th_format.c: protobuf messages as tables, JSON and CSV
 *
 * Everything goes through JSON first: a field becomes a json_t, and a table
 * or CSV cell is that value's text. One walk over the descriptors, three
 * outputs that never disagree. Tables alone show enum values by their
 * short labels (th_enum.h) and keep to a width; CSV fields are quoted by
 * libcsv.
 * ---------------------------------------------------------------------------
 */
#include "th_format.h"

#include "th_enum.h"
#include "th_error.h"
#include "th_wire.h"

#include <csv.h>

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int
th_format_parse(const char *name, th_format_t *out)
{
    if (name == NULL)
        return TH_EINVAL;
    if (strcasecmp(name, "table") == 0)
        *out = TH_FORMAT_TABLE;
    else if (strcasecmp(name, "json") == 0)
        *out = TH_FORMAT_JSON;
    else if (strcasecmp(name, "csv") == 0)
        *out = TH_FORMAT_CSV;
    else
        return TH_EINVAL;
    return 0;
}

/* --- one value ----------------------------------------------------------- */

static size_t
s_element_size(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_ENUM:
        return 4;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return 8;
    case PROTOBUF_C_TYPE_FLOAT:
        return sizeof(float);
    case PROTOBUF_C_TYPE_DOUBLE:
        return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    }
    return 0;
}

static json_t *
s_string_json(const char *s)
{
    if (s == NULL)
        return json_string("");
    json_t *value = json_string(s);
    /* Not UTF-8 (a peer's bug): show the bytes that are ASCII rather than
     * nothing at all */
    if (value == NULL) {
        char *copy = strdup(s);
        if (copy == NULL)
            return NULL;
        for (char *p = copy; *p; p++)
            if ((unsigned char) *p >= 0x80)
                *p = '?';
        value = json_string(copy);
        free(copy);
    }
    return value;
}

static json_t *
s_bytes_json(const ProtobufCBinaryData *data)
{
    if (data->len == 0)
        return json_string("");
    zarmour_t *armour = zarmour_new();
    if (armour == NULL)
        return NULL;
    zarmour_set_mode(armour, ZARMOUR_MODE_BASE64_STD);
    zarmour_set_pad(armour, true);
    zarmour_set_line_breaks(armour, false);
    char *text = zarmour_encode(armour, data->data, data->len);
    zarmour_destroy(&armour);
    if (text == NULL)
        return NULL;
    json_t *value = json_string(text);
    zstr_free(&text);
    return value;
}

/* The value at p of the field's type as JSON. */
static json_t *
s_value_json(const ProtobufCFieldDescriptor *field, const void *p)
{
    switch (field->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32: {
        int32_t v;
        memcpy(&v, p, sizeof v);
        return json_integer(v);
    }
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: {
        uint32_t v;
        memcpy(&v, p, sizeof v);
        return json_integer((json_int_t) v);
    }
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: {
        int64_t v;
        memcpy(&v, p, sizeof v);
        return json_integer((json_int_t) v);
    }
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: {
        uint64_t v;
        memcpy(&v, p, sizeof v);
        if (v <= (uint64_t) INT64_MAX)
            return json_integer((json_int_t) v);
        char text[32];
        snprintf(text, sizeof text, "%llu", (unsigned long long) v);
        return json_string(text);
    }
    case PROTOBUF_C_TYPE_FLOAT: {
        float v;
        memcpy(&v, p, sizeof v);
        return json_real(v);
    }
    case PROTOBUF_C_TYPE_DOUBLE: {
        double v;
        memcpy(&v, p, sizeof v);
        return json_real(v);
    }
    case PROTOBUF_C_TYPE_BOOL: {
        protobuf_c_boolean v;
        memcpy(&v, p, sizeof v);
        return json_boolean(v);
    }
    case PROTOBUF_C_TYPE_ENUM: {
        int32_t v;
        memcpy(&v, p, sizeof v);
        const ProtobufCEnumValue *ev =
            protobuf_c_enum_descriptor_get_value(field->descriptor, v);
        return ev != NULL ? json_string(ev->name) : json_integer(v);
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *s;
        memcpy(&s, p, sizeof s);
        return s_string_json(s);
    }
    case PROTOBUF_C_TYPE_BYTES:
        return s_bytes_json(p);
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *m;
        memcpy(&m, p, sizeof m);
        return m != NULL ? th_format_message_json(m) : json_null();
    }
    }
    return json_null();
}

/* True when the field is present in msg (oneof members that are not the
 * chosen one, and proto2 optional scalars without has_, are absent). */
static bool
s_field_present(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field)
{
    const char *base = (const char *) msg;
    if (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        uint32_t which;
        memcpy(&which, base + field->quantifier_offset, sizeof which);
        return which == field->id;
    }
    if (field->label == PROTOBUF_C_LABEL_OPTIONAL && field->quantifier_offset != 0 &&
        field->type != PROTOBUF_C_TYPE_STRING && field->type != PROTOBUF_C_TYPE_MESSAGE) {
        protobuf_c_boolean has;
        memcpy(&has, base + field->quantifier_offset, sizeof has);
        return has;
    }
    return true;
}

static json_t *
s_field_json(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field)
{
    const char *base = (const char *) msg;
    if (field->label != PROTOBUF_C_LABEL_REPEATED)
        return s_value_json(field, base + field->offset);
    size_t count;
    const char *items;
    memcpy(&count, base + field->quantifier_offset, sizeof count);
    memcpy(&items, base + field->offset, sizeof items);
    json_t *array = json_array();
    if (array == NULL)
        return NULL;
    size_t size = s_element_size(field->type);
    for (size_t i = 0; items != NULL && i < count; i++) {
        json_t *value = s_value_json(field, items + i * size);
        if (value == NULL || json_array_append_new(array, value) != 0) {
            json_decref(array);
            return NULL;
        }
    }
    return array;
}

json_t *
th_format_message_json(const ProtobufCMessage *msg)
{
    json_t *object = json_object();
    if (object == NULL)
        return NULL;
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &desc->fields[i];
        if (!s_field_present(msg, field))
            continue;
        json_t *value = s_field_json(msg, field);
        if (value == NULL || json_object_set_new(object, field->name, value) != 0) {
            json_decref(object);
            return NULL;
        }
    }
    return object;
}

/* --- cells --------------------------------------------------------------- */

/* Text of a scalar or object JSON value (strings without quotes). */
static char *
s_json_text(const json_t *value)
{
    if (json_is_string(value))
        return strdup(json_string_value(value));
    if (json_is_null(value))
        return strdup("");
    return json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(10));
}

char *
th_format_field_text(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field,
                     const char *joiner)
{
    if (!s_field_present(msg, field))
        return strdup("");
    json_t *value = s_field_json(msg, field);
    if (value == NULL)
        return NULL;
    char *text = NULL;
    if (json_is_array(value)) {
        size_t len = 0, cap = 64;
        text = malloc(cap);
        if (text == NULL)
            goto cleanup;
        text[0] = '\0';
        size_t index;
        json_t *item;
        json_array_foreach(value, index, item)
        {
            char *part = s_json_text(item);
            if (part == NULL) {
                free(text);
                text = NULL;
                goto cleanup;
            }
            size_t need = len + strlen(part) + strlen(joiner) + 1;
            if (need > cap) {
                while (cap < need)
                    cap *= 2;
                char *grown = realloc(text, cap);
                if (grown == NULL) {
                    free(part);
                    free(text);
                    text = NULL;
                    goto cleanup;
                }
                text = grown;
            }
            len += (size_t) sprintf(text + len, "%s%s", index > 0 ? joiner : "", part);
            free(part);
        }
    } else {
        text = s_json_text(value);
    }
cleanup:
    json_decref(value);
    return text;
}

void
th_format_csv_field(FILE *out, const char *s)
{
    /* Quoted only where RFC 4180 needs it, so plain values stay plain;
     * the quoting itself is libcsv's. */
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, out);
        return;
    }
    csv_fwrite(out, s, strlen(s));
}

/* --- tables --------------------------------------------------------------- */

/* Display width of a UTF-8 string: code points, which is right for the
 * Latin scripts district names are written in. */
static size_t
s_width(const char *s)
{
    size_t width = 0;
    for (const unsigned char *p = (const unsigned char *) s; *p; p++)
        if ((*p & 0xc0) != 0x80)
            width++;
    return width;
}

/* A table cell: enum values by their label, the rest as in CSV with
 * joiner between repeated values. Caller frees; NULL when out of memory. */
static char *
s_table_cell(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field)
{
    if (field->type != PROTOBUF_C_TYPE_ENUM || !s_field_present(msg, field))
        return th_format_field_text(msg, field, ", ");
    const char *base = (const char *) msg;
    const ProtobufCEnumDescriptor *desc = field->descriptor;
    char label[TH_ENUM_TEXT_SIZE];
    if (field->label != PROTOBUF_C_LABEL_REPEATED) {
        int32_t v;
        memcpy(&v, base + field->offset, sizeof v);
        return strdup(th_enum_label(desc, v, label, sizeof label));
    }
    size_t count;
    const int32_t *items;
    memcpy(&count, base + field->quantifier_offset, sizeof count);
    memcpy(&items, base + field->offset, sizeof items);
    if (count > SIZE_MAX / (TH_ENUM_TEXT_SIZE + 2) - 1)
        return NULL;
    char *text = malloc(count * (TH_ENUM_TEXT_SIZE + 2) + 1);
    if (text == NULL)
        return NULL;
    size_t len = 0;
    text[0] = '\0';
    for (size_t i = 0; items != NULL && i < count; i++)
        len += (size_t) sprintf(text + len, "%s%s", i > 0 ? ", " : "",
                                th_enum_label(desc, items[i], label, sizeof label));
    return text;
}

/* Writes text padded or cut to width code points: a cell longer than its
 * column ends in "…". Control characters become spaces (one row per
 * line). pad: fill up to width (not for the last column). */
static void
s_put_cell(FILE *out, const char *text, size_t width, bool pad)
{
    const size_t have = s_width(text);
    const size_t keep = have > width ? (width > 0 ? width - 1 : 0) : have;
    size_t points = 0;
    for (const unsigned char *p = (const unsigned char *) text; *p; p++) {
        if ((*p & 0xc0) != 0x80) {
            if (points == keep)
                break;
            points++;
        }
        fputc(*p < 0x20 ? ' ' : *p, out);
    }
    if (have > width && width > 0)
        fputs("\u2026", out);
    if (pad && width > points + (have > width && width > 0 ? 1 : 0))
        fprintf(out, "%*s", (int) (width - points - (have > width && width > 0 ? 1 : 0)), "");
}

/* The fields a table shows: view->columns that desc has, or all. n_out
 * receives their number; NULL when out of memory. */
static const ProtobufCFieldDescriptor **
s_columns(const ProtobufCMessageDescriptor *desc, const th_format_view_t *view, size_t *n_out)
{
    const ProtobufCFieldDescriptor **cols = calloc(desc->n_fields + 1, sizeof *cols);
    if (cols == NULL)
        return NULL;
    size_t n = 0;
    if (view != NULL && view->columns != NULL) {
        for (size_t i = 0; view->columns[i] != NULL && n < desc->n_fields; i++) {
            const ProtobufCFieldDescriptor *f =
                protobuf_c_message_descriptor_get_field_by_name(desc, view->columns[i]);
            if (f != NULL)
                cols[n++] = f;
        }
    } else {
        for (unsigned i = 0; i < desc->n_fields; i++)
            cols[n++] = &desc->fields[i];
    }
    *n_out = n;
    return cols;
}

/* Shrinks the widest columns, one position at a time, until the line
 * (columns and two spaces between them) fits max; no column below the
 * width of a short word. */
static void
s_fit(size_t *widths, size_t columns, size_t max)
{
    enum { S_MIN = 6 };
    if (max == 0 || columns == 0)
        return;
    for (;;) {
        size_t total = 2 * (columns - 1);
        size_t widest = 0;
        for (size_t c = 0; c < columns; c++) {
            total += widths[c];
            if (widths[c] > widths[widest])
                widest = c;
        }
        if (total <= max || widths[widest] <= S_MIN)
            return;
        widths[widest]--;
    }
}

int
th_format_write_cells(FILE *out, const char *const *header, size_t columns,
                      const char *const *cells, size_t rows, size_t width)
{
    if (columns == 0)
        return 0;
    size_t *widths = calloc(columns, sizeof *widths);
    if (widths == NULL)
        return TH_ENOMEM;
    for (size_t c = 0; c < columns; c++)
        widths[c] = s_width(header[c]);
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < columns; c++) {
            const size_t w = s_width(cells[r * columns + c]);
            if (w > widths[c])
                widths[c] = w;
        }
    s_fit(widths, columns, width);
    for (size_t r = 0; r <= rows; r++) {
        const char *const *row = r == 0 ? header : cells + (r - 1) * columns;
        for (size_t c = 0; c < columns; c++) {
            fputs(c > 0 ? "  " : "", out);
            s_put_cell(out, row[c], widths[c], c + 1 < columns);
        }
        fputc('\n', out);
    }
    free(widths);
    return ferror(out) ? TH_EIO : 0;
}

static int
s_write_table(FILE *out, const ProtobufCMessageDescriptor *desc,
              const ProtobufCMessage *const *msgs, size_t n, const th_format_view_t *view)
{
    size_t columns = 0;
    int rc = 0;
    char **cells = NULL;
    const char **header = NULL;
    const ProtobufCFieldDescriptor **cols = s_columns(desc, view, &columns);
    if (cols == NULL)
        return TH_ENOMEM;
    if (columns == 0)
        goto cleanup;
    if (n > SIZE_MAX / columns / sizeof(char *) - 1) {
        rc = TH_ENOMEM;
        goto cleanup;
    }
    cells = calloc(n * columns + 1, sizeof *cells);
    header = calloc(columns, sizeof *header);
    if (cells == NULL || header == NULL) {
        rc = TH_ENOMEM;
        goto cleanup;
    }
    for (size_t c = 0; c < columns; c++)
        header[c] = cols[c]->name;
    for (size_t r = 0; r < n; r++) {
        for (size_t c = 0; c < columns; c++) {
            char *text = s_table_cell(msgs[r], cols[c]);
            if (text == NULL) {
                rc = TH_ENOMEM;
                goto cleanup;
            }
            cells[r * columns + c] = text;
        }
    }
    rc = th_format_write_cells(out, header, columns, (const char *const *) cells, n,
                               view != NULL ? view->width : 0);
cleanup:
    if (cells != NULL)
        for (size_t i = 0; i < n * columns; i++)
            free(cells[i]);
    free(cells);
    free(header);
    free(cols);
    return rc;
}

/* One message for a person: a line per field, "name  value", the values
 * cut to the width. */
static int
s_write_record(FILE *out, const ProtobufCMessage *msg, const th_format_view_t *view)
{
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    size_t name_width = 0;
    for (unsigned i = 0; i < desc->n_fields; i++)
        if (s_width(desc->fields[i].name) > name_width)
            name_width = s_width(desc->fields[i].name);
    const size_t max = view != NULL ? view->width : 0;
    const size_t value_width = max > name_width + 8 ? max - name_width - 2 : 0;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        char *text = s_table_cell(msg, &desc->fields[i]);
        if (text == NULL)
            return TH_ENOMEM;
        s_put_cell(out, desc->fields[i].name, name_width, true);
        fputs("  ", out);
        s_put_cell(out, text, value_width > 0 ? value_width : s_width(text), false);
        fputc('\n', out);
        free(text);
    }
    return ferror(out) ? TH_EIO : 0;
}

/* --- CSV ------------------------------------------------------------------ */

static int
s_write_csv(FILE *out, const ProtobufCMessageDescriptor *desc,
            const ProtobufCMessage *const *msgs, size_t n)
{
    for (unsigned c = 0; c < desc->n_fields; c++) {
        if (c > 0)
            fputc(',', out);
        th_format_csv_field(out, desc->fields[c].name);
    }
    fputs("\r\n", out);
    for (size_t r = 0; r < n; r++) {
        for (unsigned c = 0; c < desc->n_fields; c++) {
            char *text = th_format_field_text(msgs[r], &desc->fields[c], ";");
            if (text == NULL)
                return TH_ENOMEM;
            if (c > 0)
                fputc(',', out);
            th_format_csv_field(out, text);
            free(text);
        }
        fputs("\r\n", out);
    }
    return ferror(out) ? TH_EIO : 0;
}

/* --- whole outputs ------------------------------------------------------- */

static int
s_write_json(FILE *out, json_t *value)
{
    if (value == NULL)
        return TH_ENOMEM;
    int rc = json_dumpf(value, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0 ? 0 : TH_EIO;
    fputc('\n', out);
    json_decref(value);
    return rc;
}

int
th_format_write_list_view(FILE *out, th_format_t format, const ProtobufCMessageDescriptor *desc,
                          const ProtobufCMessage *const *msgs, size_t n,
                          const th_format_view_t *view)
{
    if (format == TH_FORMAT_TABLE)
        return s_write_table(out, desc, msgs, n, view);
    if (format == TH_FORMAT_CSV)
        return s_write_csv(out, desc, msgs, n);
    json_t *array = json_array();
    if (array == NULL)
        return TH_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        json_t *object = th_format_message_json(msgs[i]);
        if (object == NULL || json_array_append_new(array, object) != 0) {
            json_decref(array);
            return TH_ENOMEM;
        }
    }
    return s_write_json(out, array);
}

int
th_format_write_list(FILE *out, th_format_t format, const ProtobufCMessageDescriptor *desc,
                     const ProtobufCMessage *const *msgs, size_t n)
{
    return th_format_write_list_view(out, format, desc, msgs, n, NULL);
}

int
th_format_write_one_view(FILE *out, th_format_t format, const ProtobufCMessage *msg,
                         const th_format_view_t *view)
{
    if (format == TH_FORMAT_TABLE)
        return s_write_record(out, msg, view);
    if (format == TH_FORMAT_CSV)
        return s_write_csv(out, msg->descriptor, &msg, 1);
    return s_write_json(out, th_format_message_json(msg));
}

int
th_format_write_one(FILE *out, th_format_t format, const ProtobufCMessage *msg)
{
    return th_format_write_one_view(out, format, msg, NULL);
}
