/* ---------------------------------------------------------------------------
 * pbjson.c: generic protobuf-c -> JSON (jansson) over the field descriptors
 * ---------------------------------------------------------------------------
 */
#include "pbjson.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static json_t *s_message(const ProtobufCMessage *msg, int depth);

/* One value of field f stored at p. */
static json_t *
s_value(const ProtobufCFieldDescriptor *f, const void *p, int depth)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return json_integer(*(const int32_t *) p);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return json_integer(*(const uint32_t *) p);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return json_integer(*(const int64_t *) p);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return json_integer((json_int_t) *(const uint64_t *) p);
    case PROTOBUF_C_TYPE_FLOAT:
        return json_real(*(const float *) p);
    case PROTOBUF_C_TYPE_DOUBLE:
        return json_real(*(const double *) p);
    case PROTOBUF_C_TYPE_BOOL:
        return json_boolean(*(const protobuf_c_boolean *) p);
    case PROTOBUF_C_TYPE_ENUM: {
        const int v = *(const int *) p;
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, v);
        return ev != NULL ? json_string(ev->name) : json_integer(v);
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *) p;
        return json_string(s != NULL ? s : "");
    }
    case PROTOBUF_C_TYPE_BYTES:
        return json_integer((json_int_t) ((const ProtobufCBinaryData *) p)->len);
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *) p;
        return sub != NULL ? s_message(sub, depth + 1) : json_null();
    }
    }
    return json_null();
}

static size_t
s_size_of(ProtobufCType type)
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
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    }
    return 0;
}

static json_t *
s_message(const ProtobufCMessage *msg, int depth)
{
    json_t *obj = json_object();
    if (obj == NULL || depth > 16)
        return obj;
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *base = (const char *) msg;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            const size_t n = *(const size_t *) (base + f->quantifier_offset);
            const char *items = *(char *const *) (base + f->offset);
            json_t *arr = json_array();
            for (size_t k = 0; arr != NULL && k < n && items != NULL; k++)
                json_array_append_new(arr, s_value(f, items + k * s_size_of(f->type), depth));
            json_object_set_new(obj, f->name, arr);
        } else {
            json_object_set_new(obj, f->name, s_value(f, base + f->offset, depth));
        }
    }
    return obj;
}

const char *
registry_pbjson(th_call_t *call, const ProtobufCMessage *msg)
{
    if (msg == NULL)
        return NULL;
    json_t *obj = s_message(msg, 0);
    char *text = obj != NULL ? json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(obj);
    if (text == NULL)
        return th_call_strdup(call, "{}");
    char *copy = th_call_strdup(call, text);
    free(text);
    return copy;
}
