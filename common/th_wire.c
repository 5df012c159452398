/* ---------------------------------------------------------------------------
 * th_wire.c: encoding and validation of teilhabe frames
 * ---------------------------------------------------------------------------
 */
#include "th_wire.h"

#include "th_error.h"
#include "th_status.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <utf8proc.h>

zframe_t *
th_wire_pack(const ProtobufCMessage *msg)
{
    size_t size = protobuf_c_message_get_packed_size(msg);
    zframe_t *frame = zframe_new(NULL, size);
    if (frame == NULL)
        return NULL;
    if (size > 0)
        protobuf_c_message_pack(msg, zframe_data(frame));
    return frame;
}

/* --- the string walker ------------------------------------------------ */

/* Protobuf wire types (the low 3 bits of a tag) */
#define S_WIRE_VARINT 0
#define S_WIRE_FIXED64 1
#define S_WIRE_LENGTH 2
#define S_WIRE_FIXED32 5
#define S_FIELD_NUMBER_MAX 536870911u /* 2^29 - 1 */
#define S_STR2(x) #x
#define S_STR(x) S_STR2(x)

static int
s_fault(th_wire_fault_t *fault, int rc, const char *problem)
{
    fault->path[0] = '\0';
    fault->problem = problem;
    return rc;
}

/* Reads a varint of at most 10 bytes at *p (< end), advancing *p. */
static int
s_read_varint(const uint8_t **p, const uint8_t *end, uint64_t *value)
{
    uint64_t v = 0;
    for (int i = 0; i < 10; i++) {
        if (*p >= end)
            return TH_EPROTO;
        uint8_t b = *(*p)++;
        if (i == 9 && b > 1)
            return TH_EPROTO; /* more than 64 bits */
        v |= (uint64_t) (b & 0x7f) << (7 * i);
        if ((b & 0x80) == 0) {
            *value = v;
            return 0;
        }
    }
    return TH_EPROTO;
}

/* Reads one field at *p: its number, wire type and, for a length-delimited
 * one, where its bytes are; advances *p past it. */
static int
s_read_field(const uint8_t **p, const uint8_t *end, uint32_t *number, int *wire,
             const uint8_t **value, size_t *value_len)
{
    uint64_t tag, n;
    if (s_read_varint(p, end, &tag) != 0 || (tag >> 3) == 0 || (tag >> 3) > S_FIELD_NUMBER_MAX)
        return TH_EPROTO;
    *number = (uint32_t) (tag >> 3);
    *wire = (int) (tag & 7);
    *value = NULL;
    *value_len = 0;
    switch (*wire) {
    case S_WIRE_VARINT:
        return s_read_varint(p, end, &n);
    case S_WIRE_FIXED64:
    case S_WIRE_FIXED32: {
        size_t size = *wire == S_WIRE_FIXED64 ? 8 : 4;
        if ((size_t) (end - *p) < size)
            return TH_EPROTO;
        *p += size;
        return 0;
    }
    case S_WIRE_LENGTH:
        if (s_read_varint(p, end, &n) != 0 || n > (uint64_t) (end - *p))
            return TH_EPROTO;
        *value = *p;
        *value_len = (size_t) n;
        *p += n;
        return 0;
    default:
        return TH_EPROTO; /* groups (3, 4) and 6, 7: protobuf-c refuses them too */
    }
}

/* How often field number occurs in data before stop (data up to stop was
 * walked already, so it reads). */
static size_t
s_occurrences_before(const uint8_t *data, const uint8_t *stop, uint32_t number)
{
    size_t count = 0;
    const uint8_t *p = data;
    while (p < stop) {
        uint32_t n;
        int wire;
        const uint8_t *value;
        size_t value_len;
        if (s_read_field(&p, stop, &n, &wire, &value, &value_len) != 0)
            break;
        if (n == number)
            count++;
    }
    return count;
}

/* Puts field's name (with its index when repeated) in front of the path
 * the walk below it left in fault. */
static void
s_fault_prefix(th_wire_fault_t *fault, const ProtobufCFieldDescriptor *field,
               const uint8_t *data, const uint8_t *field_start)
{
    char segment[TH_WIRE_PATH_MAX];
    if (field->label == PROTOBUF_C_LABEL_REPEATED)
        snprintf(segment, sizeof segment, "%s[%zu]", field->name,
                 s_occurrences_before(data, field_start, field->id));
    else
        snprintf(segment, sizeof segment, "%s", field->name);
    char rest[TH_WIRE_PATH_MAX];
    memcpy(rest, fault->path, sizeof rest);
    if (snprintf(fault->path, sizeof fault->path, "%s%s%s", segment,
                 rest[0] != '\0' ? "." : "", rest) >= (int) sizeof fault->path)
        memcpy(fault->path + sizeof fault->path - 4, "...", 4); /* cut, and says so */
}

static int
s_check_string(const uint8_t *value, size_t len, th_wire_fault_t *fault)
{
    if (len > 0 && memchr(value, '\0', len) != NULL)
        return s_fault(fault, TH_EINVAL,
                       "contains a NUL byte (a string ends at its length, never at a NUL)");
    if (!th_wire_utf8_valid((const char *) value, len))
        return s_fault(fault, TH_EINVAL, "is not valid UTF-8");
    return 0;
}

/* elements counts the string, bytes and message values met so far in the
 * whole request: each costs protobuf-c a pointer and an allocation however
 * short it is on the wire (an empty submessage is two bytes there and its
 * whole C struct decoded), so a count, not the size, bounds the memory. */
static int
s_walk(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len, int depth,
       size_t *elements, th_wire_fault_t *fault)
{
    const uint8_t *p = data;
    const uint8_t *end = data + len;
    while (p < end) {
        const uint8_t *field_start = p;
        uint32_t number;
        int wire;
        const uint8_t *value;
        size_t value_len;
        if (s_read_field(&p, end, &number, &wire, &value, &value_len) != 0)
            return s_fault(fault, TH_EPROTO,
                           "is not a valid protobuf encoding (truncated or malformed)");
        const ProtobufCFieldDescriptor *field =
            protobuf_c_message_descriptor_get_field(desc, number);
        if (field == NULL)
            continue; /* protobuf-c skips unknown fields without keeping them */
        const bool counted = field->type == PROTOBUF_C_TYPE_STRING ||
                             field->type == PROTOBUF_C_TYPE_BYTES ||
                             field->type == PROTOBUF_C_TYPE_MESSAGE;
        if (!counted)
            continue; /* numbers hold no string */
        int rc;
        if (++*elements > TH_WIRE_ELEMENTS_MAX)
            rc = s_fault(fault, TH_ETOOBIG,
                         "holds more than " S_STR(TH_WIRE_ELEMENTS_MAX)
                         " strings, byte strings and messages");
        else if (field->type == PROTOBUF_C_TYPE_BYTES)
            rc = 0; /* bytes are any bytes */
        else if (wire != S_WIRE_LENGTH)
            rc = s_fault(fault, TH_EPROTO, "has the wrong wire type for its declared type");
        else if (field->type == PROTOBUF_C_TYPE_STRING)
            rc = s_check_string(value, value_len, fault);
        else if (depth >= TH_WIRE_DEPTH_MAX)
            rc = s_fault(fault, TH_EPROTO,
                         "nests messages more than " S_STR(TH_WIRE_DEPTH_MAX) " levels deep");
        else
            rc = s_walk(field->descriptor, value, value_len, depth + 1, elements, fault);
        if (rc != 0) {
            s_fault_prefix(fault, field, data, field_start);
            return rc;
        }
    }
    return 0;
}

int
th_wire_check_strings(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                      th_wire_fault_t *fault)
{
    th_wire_fault_t ignored;
    if (fault == NULL)
        fault = &ignored;
    fault->path[0] = '\0';
    fault->problem = "";
    if (desc == NULL || (data == NULL && len > 0))
        return s_fault(fault, TH_EPROTO, "is missing");
    size_t elements = 0;
    return s_walk(desc, data, len, 0, &elements, fault);
}

int
th_wire_unpack_fault(const ProtobufCMessageDescriptor *desc, const zframe_t *frame,
                     size_t max_size, ProtobufCMessage **out, th_wire_fault_t *fault)
{
    th_wire_fault_t ignored;
    if (fault == NULL)
        fault = &ignored;
    fault->path[0] = '\0';
    fault->problem = "";
    *out = NULL;
    if (frame == NULL)
        return s_fault(fault, TH_EPROTO, "is missing");
    size_t size = zframe_size((zframe_t *) frame);
    if (size > max_size)
        return s_fault(fault, TH_ETOOBIG, "is larger than its limit");
    const uint8_t *data = zframe_data((zframe_t *) frame);
    /* Before protobuf-c: it would cut a string at a NUL, and it recurses
     * into nested messages without a depth limit. */
    int rc = th_wire_check_strings(desc, data, size, fault);
    if (rc != 0)
        return rc;
    ProtobufCMessage *msg = protobuf_c_message_unpack(desc, NULL, size, data);
    if (msg == NULL)
        return s_fault(fault, TH_EPROTO, "is not a valid encoding of its message type");
    *out = msg;
    return 0;
}

int
th_wire_unpack(const ProtobufCMessageDescriptor *desc, const zframe_t *frame,
               size_t max_size, ProtobufCMessage **out)
{
    return th_wire_unpack_fault(desc, frame, max_size, out, NULL);
}

int
th_wire_decode_request(const ProtobufCMessageDescriptor *input, const zframe_t *body,
                       size_t max_size, ProtobufCMessage **out, th_wire_fault_t *fault,
                       char *errbuf, size_t errlen)
{
    size_t size = body != NULL ? zframe_size((zframe_t *) body) : 0;
    int rc = th_wire_unpack_fault(input, body, max_size, out, fault);
    if (rc == 0)
        return TH_OK;
    if (rc == TH_ETOOBIG && fault->path[0] == '\0' && size > max_size) {
        snprintf(errbuf, errlen, "request of %zu bytes exceeds the limit of %zu bytes", size,
                 max_size);
        return TH_RESOURCE_EXHAUSTED;
    }
    if (rc == TH_ETOOBIG) {
        /* Too many values: the walk stopped in the field where the count ran
         * over (fault->path names it). */
        snprintf(errbuf, errlen, "request %s (at field %s); send fewer per call", fault->problem,
                 fault->path[0] != '\0' ? fault->path : "?");
        return TH_RESOURCE_EXHAUSTED;
    }
    if (rc == TH_EINVAL || (rc == TH_EPROTO && fault->path[0] != '\0')) {
        /* A NUL or bad UTF-8 in a string field, or a field that breaks the
         * encoding, found on the raw bytes: name it */
        snprintf(errbuf, errlen, "field %s of the request %s", fault->path, fault->problem);
        return TH_INVALID_ARGUMENT;
    }
    fault->path[0] = '\0';
    snprintf(errbuf, errlen, "request is not a valid %s message", input->name);
    return TH_INVALID_ARGUMENT;
}

uint64_t
th_wire_peek_call_id(const zframe_t *frame)
{
    if (frame == NULL)
        return 0;
    const uint8_t *p = zframe_data((zframe_t *) frame);
    const uint8_t *end = p + zframe_size((zframe_t *) frame);
    uint64_t call_id = 0;
    while (p < end) {
        const uint8_t *value_at = p;
        uint32_t number;
        int wire;
        const uint8_t *value;
        size_t value_len;
        if (s_read_field(&p, end, &number, &wire, &value, &value_len) != 0)
            break;
        if (number == 1 && wire == S_WIRE_VARINT) {
            /* the last occurrence wins, as in protobuf */
            uint64_t tag;
            s_read_varint(&value_at, end, &tag);
            s_read_varint(&value_at, end, &call_id);
        }
    }
    return call_id;
}

bool
th_wire_is_sig(const zframe_t *frame, const char *sig)
{
    if (frame == NULL)
        return false;
    size_t len = strlen(sig);
    return zframe_size((zframe_t *) frame) == len &&
           memcmp(zframe_data((zframe_t *) frame), sig, len) == 0;
}

zframe_t *
th_wire_id_frame(uint64_t id)
{
    byte buf[8];
    for (int i = 7; i >= 0; i--) {
        buf[i] = (byte) (id & 0xff);
        id >>= 8;
    }
    return zframe_new(buf, sizeof buf);
}

int
th_wire_id_decode(const zframe_t *frame, uint64_t *id)
{
    if (frame == NULL || zframe_size((zframe_t *) frame) != 8)
        return TH_EPROTO;
    const byte *buf = zframe_data((zframe_t *) frame);
    uint64_t value = 0;
    for (int i = 0; i < 8; i++)
        value = (value << 8) | buf[i];
    *id = value;
    return 0;
}

int
th_wire_split_method(const char *method, char *service, size_t service_size)
{
    if (method == NULL)
        return TH_EINVAL;
    size_t len = strlen(method);
    if (len == 0 || len > TH_WIRE_METHOD_MAX)
        return TH_EINVAL;
    const char *slash = strchr(method, '/');
    if (slash == NULL || slash == method || slash[1] == '\0' || strchr(slash + 1, '/'))
        return TH_EINVAL;
    /* service: dot-separated non-empty segments of [A-Za-z0-9_] */
    bool segment_empty = true;
    int dots = 0;
    for (const char *p = method; p < slash; p++) {
        if (*p == '.') {
            if (segment_empty)
                return TH_EINVAL;
            segment_empty = true;
            dots++;
        } else if (isalnum((unsigned char) *p) || *p == '_') {
            segment_empty = false;
        } else {
            return TH_EINVAL;
        }
    }
    if (segment_empty || dots == 0)
        return TH_EINVAL;
    if (!isalpha((unsigned char) slash[1]))
        return TH_EINVAL;
    for (const char *p = slash + 1; *p; p++)
        if (!isalnum((unsigned char) *p) && *p != '_')
            return TH_EINVAL;
    size_t service_len = (size_t) (slash - method);
    if (service_len + 1 > service_size)
        return TH_EINVAL;
    memcpy(service, method, service_len);
    service[service_len] = '\0';
    return 0;
}

bool
th_wire_service_name_valid(const char *name)
{
    char method[TH_WIRE_METHOD_MAX + 3];
    char service[TH_WIRE_METHOD_MAX + 1];
    if (name == NULL || strlen(name) + 2 > TH_WIRE_METHOD_MAX)
        return false;
    snprintf(method, sizeof method, "%s/M", name);
    return th_wire_split_method(method, service, sizeof service) == 0;
}

bool
th_wire_utf8_valid(const char *s, size_t len)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *) s;
    size_t i = 0;
    while (i < len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t used = utf8proc_iterate(p + i, (utf8proc_ssize_t) (len - i), &cp);
        if (used <= 0)
            return false;
        i += (size_t) used;
    }
    return true;
}

void
th_wire_utf8_repair(char *s)
{
    if (s == NULL)
        return;
    utf8proc_uint8_t *p = (utf8proc_uint8_t *) s;
    while (*p != '\0') {
        utf8proc_int32_t cp;
        utf8proc_ssize_t used = utf8proc_iterate(p, -1, &cp);
        if (used <= 0) {
            *p++ = '?';
            continue;
        }
        p += used;
    }
}

static bool
s_str_ok(const char *s, size_t max)
{
    if (s == NULL)
        return true;
    size_t len = strlen(s);
    return len <= max && th_wire_utf8_valid(s, len);
}

int
th_wire_check_request_header(const th_request_header_t *header, char *errbuf, size_t errlen)
{
    char service[TH_WIRE_METHOD_MAX + 1];
    if (th_wire_split_method(header->method, service, sizeof service) != 0) {
        snprintf(errbuf, errlen,
                 "method must be a full name like \"teilhabe.registry.v1.Registry/"
                 "GetDistrict\" of at most %d bytes",
                 TH_WIRE_METHOD_MAX);
        return TH_INVALID_ARGUMENT;
    }
    if (header->n_metadata > TH_WIRE_METADATA_MAX) {
        snprintf(errbuf, errlen, "too many metadata entries: %zu, at most %d allowed",
                 header->n_metadata, TH_WIRE_METADATA_MAX);
        return TH_INVALID_ARGUMENT;
    }
    for (size_t i = 0; i < header->n_metadata; i++) {
        const Teilhabe__Rpc__V1__MetadataEntry *entry = header->metadata[i];
        if (entry == NULL || !s_str_ok(entry->key, TH_WIRE_METADATA_KEY_MAX) ||
            entry->key == NULL || entry->key[0] == '\0' ||
            !s_str_ok(entry->value, TH_WIRE_METADATA_VALUE_MAX)) {
            snprintf(errbuf, errlen,
                     "metadata entry %zu is invalid: keys are 1-%d bytes, values at most "
                     "%d bytes of UTF-8",
                     i, TH_WIRE_METADATA_KEY_MAX, TH_WIRE_METADATA_VALUE_MAX);
            return TH_INVALID_ARGUMENT;
        }
    }
    if (!s_str_ok(header->idempotency_key, TH_WIRE_IDEMPOTENCY_KEY_MAX)) {
        snprintf(errbuf, errlen, "idempotency_key must be at most %d bytes of UTF-8",
                 TH_WIRE_IDEMPOTENCY_KEY_MAX);
        return TH_INVALID_ARGUMENT;
    }
    return TH_OK;
}

zmsg_t *
th_wire_client_reply(uint64_t call_id, int code, const char *message,
                     uint32_t retry_after_ms, zframe_t **body_p)
{
    th_response_header_t header = TEILHABE__RPC__V1__RESPONSE_HEADER__INIT;
    header.call_id = call_id;
    header.code = (Teilhabe__Rpc__V1__StatusCode) code;
    header.message = (char *) (message != NULL ? message : "");
    header.retry_after_ms = retry_after_ms;
    zmsg_t *msg = zmsg_new();
    zframe_t *head = th_wire_pack(&header.base);
    zframe_t *body = body_p != NULL && *body_p != NULL ? *body_p : zframe_new_empty();
    if (body_p != NULL)
        *body_p = NULL;
    if (msg == NULL || head == NULL || body == NULL) {
        zmsg_destroy(&msg);
        zframe_destroy(&head);
        zframe_destroy(&body);
        return NULL;
    }
    zmsg_addstr(msg, TH_WIRE_CLIENT_SIG);
    zmsg_append(msg, &head);
    zmsg_append(msg, &body);
    return msg;
}
