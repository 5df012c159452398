/* ---------------------------------------------------------------------------
 * th_row.c: PostgreSQL rows into protobuf messages (see th_row.h)
 * ---------------------------------------------------------------------------
 */
#include "th_row.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "th_enum.h"
#include "th_error.h"

/* The field each column of r fills (NULL: none), in call memory. */
static const ProtobufCFieldDescriptor **
s_map(th_call_t *call, const ProtobufCMessageDescriptor *desc, const PGresult *r,
      const ProtobufCFieldDescriptor **small, int n_small)
{
    const int cols = PQnfields(r);
    const ProtobufCFieldDescriptor **map =
        cols <= n_small ? small : th_call_alloc(call, (size_t) cols * sizeof *map);
    for (int c = 0; c < cols; c++) {
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field_by_name(desc, PQfname(r, c));
        map[c] = f != NULL && f->type != PROTOBUF_C_TYPE_MESSAGE ? f : NULL;
    }
    return map;
}

int
th_row_split_array(const char *text, char *buf, char **items, size_t max, size_t *n)
{
    *n = 0;
    const size_t len = text != NULL ? strlen(text) : 0;
    if (len < 2 || text[0] != '{' || text[len - 1] != '}')
        return TH_EINVAL;
    size_t count = 0, o = 0;
    const char *p = text + 1;
    const char *end = text + len - 1;
    while (p < end) {
        char *item = buf + o;
        bool null = false;
        if (*p == '"') {
            p++;
            while (p < end && *p != '"') {
                if (*p == '\\' && p + 1 < end)
                    p++;
                buf[o++] = *p++;
            }
            if (p >= end)
                return TH_EINVAL;
            p++; /* the closing quote */
        } else {
            const char *start = p;
            while (p < end && *p != ',')
                buf[o++] = *p++;
            null = p - start == 4 && strncmp(start, "NULL", 4) == 0;
        }
        buf[o++] = '\0';
        if (!null) {
            if (count == max)
                return TH_ETOOBIG;
            items[count++] = item;
        }
        if (p < end) {
            if (*p != ',' || p + 1 == end)
                return TH_EINVAL;
            p++;
        }
    }
    *n = count;
    return 0;
}

int
th_row_parse_array(th_call_t *call, const char *text, char ***items, size_t *n)
{
    *items = NULL;
    *n = 0;
    const size_t len = text != NULL ? strlen(text) : 0;
    /* At most one element per comma, plus one; no more bytes than text. */
    size_t max = 1;
    for (size_t i = 0; i < len; i++)
        max += text[i] == ',';
    char **list = th_call_alloc(call, max * sizeof *list);
    char *buf = th_call_alloc(call, len + 1);
    const int rc = th_row_split_array(text, buf, list, max, n);
    if (rc == 0 && *n > 0)
        *items = list;
    return rc;
}

char *
th_row_array_literal(th_call_t *call, char *const *items, size_t n)
{
    size_t len = 3;
    for (size_t i = 0; i < n; i++)
        len += strlen(items[i]) * 2 + 3;
    char *out = th_call_alloc(call, len);
    size_t o = 0;
    out[o++] = '{';
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            out[o++] = ',';
        out[o++] = '"';
        for (const char *c = items[i]; *c != '\0'; c++) {
            if (*c == '"' || *c == '\\')
                out[o++] = '\\';
            out[o++] = *c;
        }
        out[o++] = '"';
    }
    out[o++] = '}';
    out[o] = '\0';
    return out;
}

/* One scalar value of field's type from text into p. */
static void
s_scalar(th_call_t *call, const ProtobufCFieldDescriptor *f, const char *text, bool null,
         void *p)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32: {
        const int32_t v = null ? 0 : (int32_t) strtol(text, NULL, 10);
        memcpy(p, &v, sizeof v);
        break;
    }
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: {
        const uint32_t v = null ? 0 : (uint32_t) strtoul(text, NULL, 10);
        memcpy(p, &v, sizeof v);
        break;
    }
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: {
        const int64_t v = null ? 0 : (int64_t) strtoll(text, NULL, 10);
        memcpy(p, &v, sizeof v);
        break;
    }
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: {
        const uint64_t v = null ? 0 : (uint64_t) strtoull(text, NULL, 10);
        memcpy(p, &v, sizeof v);
        break;
    }
    case PROTOBUF_C_TYPE_FLOAT: {
        const float v = null ? 0.0f : strtof(text, NULL);
        memcpy(p, &v, sizeof v);
        break;
    }
    case PROTOBUF_C_TYPE_DOUBLE: {
        const double v = null ? 0.0 : strtod(text, NULL);
        memcpy(p, &v, sizeof v);
        break;
    }
    case PROTOBUF_C_TYPE_BOOL: {
        const protobuf_c_boolean v = !null && (text[0] == 't' || text[0] == '1');
        memcpy(p, &v, sizeof v);
        break;
    }
    case PROTOBUF_C_TYPE_ENUM: {
        const int32_t v = null ? 0 : th_enum_from_token(f->descriptor, text);
        memcpy(p, &v, sizeof v);
        break;
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = null ? "" : call != NULL ? th_call_strdup(call, text) : text;
        memcpy(p, &s, sizeof s);
        break;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        ProtobufCBinaryData data = {0, NULL};
        if (!null && call != NULL) {
            size_t len = 0;
            unsigned char *raw = PQunescapeBytea((const unsigned char *) text, &len);
            if (raw != NULL) {
                data.data = len > 0 ? th_call_alloc(call, len) : NULL;
                if (len > 0)
                    memcpy(data.data, raw, len);
                data.len = len;
                PQfreemem(raw);
            }
        }
        memcpy(p, &data, sizeof data);
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE:
        break;
    }
}

/* The size of one element of a repeated field. */
static size_t
s_element_size(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return 8;
    case PROTOBUF_C_TYPE_DOUBLE:
        return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    default:
        return 4;
    }
}

static void
s_fill(th_call_t *call, const ProtobufCFieldDescriptor *const *map, const PGresult *r, int row,
       int first_col, int n_cols, ProtobufCMessage *msg)
{
    char *base = (char *) msg;
    const int all = PQnfields(r);
    const int cols = n_cols > 0 && first_col + n_cols < all ? first_col + n_cols : all;
    for (int c = first_col; c < cols; c++) {
        const ProtobufCFieldDescriptor *f = map[c];
        if (f == NULL)
            continue;
        const bool null = PQgetisnull(r, row, c);
        const char *text = PQgetvalue(r, row, c);
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            char **items = NULL;
            size_t n = 0;
            if (call == NULL || null || th_row_parse_array(call, text, &items, &n) != 0)
                n = 0;
            const size_t size = s_element_size(f->type);
            char *values = n > 0 ? th_call_alloc(call, n * size) : NULL;
            for (size_t i = 0; i < n; i++)
                s_scalar(call, f, items[i], false, values + i * size);
            memcpy(base + f->quantifier_offset, &n, sizeof n);
            memcpy(base + f->offset, &values, sizeof values);
            continue;
        }
        s_scalar(call, f, text, null, base + f->offset);
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            const uint32_t which = f->id;
            memcpy(base + f->quantifier_offset, &which, sizeof which);
        }
    }
}

void
th_row_fill(th_call_t *call, const PGresult *r, int row, int first_col, int n_cols,
            ProtobufCMessage *msg)
{
    const ProtobufCFieldDescriptor *small[32];
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    /* Without a call there is no memory for a map of more columns. */
    if (call == NULL && PQnfields(r) > 32)
        return;
    s_fill(call, s_map(call, desc, r, small, 32), r, row, first_col, n_cols, msg);
}

void *
th_row_new(th_call_t *call, const ProtobufCMessageDescriptor *desc, const PGresult *r, int row)
{
    ProtobufCMessage *msg = th_call_alloc(call, desc->sizeof_message);
    desc->message_init(msg);
    th_row_fill(call, r, row, 0, 0, msg);
    return msg;
}

void **
th_row_all(th_call_t *call, const ProtobufCMessageDescriptor *desc, const PGresult *r,
           size_t *n)
{
    const size_t rows = (size_t) PQntuples(r);
    *n = rows;
    if (rows == 0)
        return NULL;
    const ProtobufCFieldDescriptor *small[32];
    const ProtobufCFieldDescriptor *const *map = s_map(call, desc, r, small, 32);
    void **list = th_call_alloc(call, rows * sizeof *list);
    for (size_t i = 0; i < rows; i++) {
        ProtobufCMessage *msg = th_call_alloc(call, desc->sizeof_message);
        desc->message_init(msg);
        s_fill(call, map, r, (int) i, 0, 0, msg);
        list[i] = msg;
    }
    return list;
}

const char *
th_row_enum_param(th_call_t *call, const ProtobufCEnumDescriptor *desc, int value)
{
    char token[TH_ENUM_TEXT_SIZE];
    if (th_enum_token(desc, value, token, sizeof token) == NULL)
        return NULL;
    return th_call_strdup(call, token);
}

/* --- a store's statements --------------------------------------------------- */

PGresult *
th_row_exec(th_call_t *call, const char *sql, int nparams, const char *const *params)
{
    th_db_t *db = th_call_db(call);
    if (db == NULL)
        return NULL;
    return th_db_exec(db, sql, nparams, params);
}

PGresult *
th_row_exec_stmt(th_call_t *call, const th_db_stmt_t *stmt, const char *const *params)
{
    th_db_t *db = th_call_db(call);
    if (db == NULL)
        return NULL;
    return th_db_exec_stmt(db, stmt, params, NULL, NULL, 0);
}

int
th_row_take_all(th_call_t *call, const ProtobufCMessageDescriptor *desc, PGresult *r,
                void ***out, size_t *n)
{
    if (r == NULL)
        return TH_EDB;
    *out = th_row_all(call, desc, r, n);
    PQclear(r);
    return 0;
}

int
th_row_take_one(th_call_t *call, const ProtobufCMessageDescriptor *desc, PGresult *r, int none,
                void **out)
{
    if (r == NULL)
        return TH_EDB;
    int rc = none;
    if (PQntuples(r) == 1) {
        *out = th_row_new(call, desc, r, 0);
        rc = 0;
    }
    PQclear(r);
    return rc;
}
