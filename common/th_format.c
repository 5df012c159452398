/* ---------------------------------------------------------------------------
 * th_format.c: protobuf messages as tables, JSON and CSV
 *
 * Everything goes through JSON first: a field becomes a json_t, and a table
 * or CSV cell is that value's text. One walk over the descriptors, three
 * outputs that never disagree.
 * ---------------------------------------------------------------------------
 */
#include "th_format.h"

#include "th_error.h"
#include "th_wire.h"

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
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            fputc('"', out);
        fputc(*p, out);
    }
    fputc('"', out);
}

/* --- whole outputs ------------------------------------------------------- */

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

static int
s_write_table(FILE *out, const ProtobufCMessageDescriptor *desc,
              const ProtobufCMessage *const *msgs, size_t n, bool csv)
{
    size_t columns = desc->n_fields;
    if (columns == 0)
        return 0;
    if (n > SIZE_MAX / columns / sizeof(char *))
        return TH_ENOMEM;
    int rc = 0;
    char **cells = calloc(n * columns + 1, sizeof *cells);
    size_t *widths = calloc(columns, sizeof *widths);
    if (cells == NULL || widths == NULL) {
        rc = TH_ENOMEM;
        goto cleanup;
    }
    for (size_t c = 0; c < columns; c++)
        widths[c] = s_width(desc->fields[c].name);
    for (size_t r = 0; r < n; r++) {
        for (size_t c = 0; c < columns; c++) {
            char *text = th_format_field_text(msgs[r], &desc->fields[c], csv ? ";" : ", ");
            if (text == NULL) {
                rc = TH_ENOMEM;
                goto cleanup;
            }
            cells[r * columns + c] = text;
            size_t width = s_width(text);
            if (width > widths[c])
                widths[c] = width;
        }
    }
    for (size_t c = 0; c < columns; c++) {
        const char *name = desc->fields[c].name;
        if (csv) {
            if (c > 0)
                fputc(',', out);
            th_format_csv_field(out, name);
        } else {
            fprintf(out, "%s%s", c > 0 ? "  " : "", name);
            if (c + 1 < columns)
                fprintf(out, "%*s", (int) (widths[c] - s_width(name)), "");
        }
    }
    fputs(csv ? "\r\n" : "\n", out);
    for (size_t r = 0; r < n; r++) {
        for (size_t c = 0; c < columns; c++) {
            const char *text = cells[r * columns + c];
            if (csv) {
                if (c > 0)
                    fputc(',', out);
                th_format_csv_field(out, text);
            } else {
                /* One row per line: control characters would break it */
                fputs(c > 0 ? "  " : "", out);
                for (const char *p = text; *p; p++)
                    fputc((unsigned char) *p < 0x20 ? ' ' : *p, out);
                if (c + 1 < columns)
                    fprintf(out, "%*s", (int) (widths[c] - s_width(text)), "");
            }
        }
        fputs(csv ? "\r\n" : "\n", out);
    }
    if (ferror(out))
        rc = TH_EIO;
cleanup:
    if (cells != NULL)
        for (size_t i = 0; i < n * columns; i++)
            free(cells[i]);
    free(cells);
    free(widths);
    return rc;
}

int
th_format_write_list(FILE *out, th_format_t format, const ProtobufCMessageDescriptor *desc,
                     const ProtobufCMessage *const *msgs, size_t n)
{
    if (format != TH_FORMAT_JSON)
        return s_write_table(out, desc, msgs, n, format == TH_FORMAT_CSV);
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
    int rc = json_dumpf(array, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0 ? 0 : TH_EIO;
    fputc('\n', out);
    json_decref(array);
    return rc;
}

int
th_format_write_one(FILE *out, th_format_t format, const ProtobufCMessage *msg)
{
    if (format != TH_FORMAT_JSON)
        return s_write_table(out, msg->descriptor, &msg, 1, format == TH_FORMAT_CSV);
    json_t *object = th_format_message_json(msg);
    if (object == NULL)
        return TH_ENOMEM;
    int rc = json_dumpf(object, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0 ? 0 : TH_EIO;
    fputc('\n', out);
    json_decref(object);
    return rc;
}
