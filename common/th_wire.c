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

int
th_wire_unpack(const ProtobufCMessageDescriptor *desc, const zframe_t *frame,
               size_t max_size, ProtobufCMessage **out)
{
    *out = NULL;
    if (frame == NULL)
        return TH_EPROTO;
    size_t size = zframe_size((zframe_t *) frame);
    if (size > max_size)
        return TH_ETOOBIG;
    ProtobufCMessage *msg =
        protobuf_c_message_unpack(desc, NULL, size, zframe_data((zframe_t *) frame));
    if (msg == NULL)
        return TH_EPROTO;
    *out = msg;
    return 0;
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
    const unsigned char *p = (const unsigned char *) s;
    size_t i = 0;
    while (i < len) {
        unsigned char c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (len - i <= need)
            return false;
        for (size_t k = 1; k <= need; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += need + 1;
    }
    return true;
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
