/* ---------------------------------------------------------------------------
 * th_enum.c: enum tokens and labels from protoc-c's descriptors
 * ---------------------------------------------------------------------------
 */
#include "th_enum.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Length of the prefix every value name of desc shares: the zero value's
 * name up to "UNSPECIFIED" when it is so named, else the longest common
 * prefix of all names cut back to its last '_'. */
static size_t
s_prefix_len(const ProtobufCEnumDescriptor *desc)
{
    const ProtobufCEnumValue *zero = protobuf_c_enum_descriptor_get_value(desc, 0);
    static const char unspecified[] = "UNSPECIFIED";
    if (zero != NULL) {
        const size_t len = strlen(zero->name);
        const size_t tail = sizeof unspecified - 1;
        if (len > tail && strcmp(zero->name + len - tail, unspecified) == 0)
            return len - tail;
    }
    if (desc->n_values == 0)
        return 0;
    size_t common = strlen(desc->values[0].name);
    for (unsigned i = 1; i < desc->n_values; i++) {
        size_t k = 0;
        while (k < common && desc->values[i].name[k] == desc->values[0].name[k])
            k++;
        common = k;
    }
    while (common > 0 && desc->values[0].name[common - 1] != '_')
        common--;
    return common;
}

bool
th_enum_valid(const ProtobufCEnumDescriptor *desc, int value, bool allow_zero)
{
    if (value == 0 && !allow_zero)
        return false;
    return protobuf_c_enum_descriptor_get_value(desc, value) != NULL;
}

const char *
th_enum_token(const ProtobufCEnumDescriptor *desc, int value, char *buf, size_t size)
{
    if (value == 0 || size == 0)
        return NULL;
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(desc, value);
    if (v == NULL)
        return NULL;
    const char *name = v->name + s_prefix_len(desc);
    const size_t len = strlen(name);
    if (len + 1 > size)
        return NULL;
    for (size_t i = 0; i <= len; i++)
        buf[i] = (char) tolower((unsigned char) name[i]);
    return buf;
}

int
th_enum_from_token(const ProtobufCEnumDescriptor *desc, const char *text)
{
    if (text == NULL || text[0] == '\0')
        return 0;
    const size_t prefix = s_prefix_len(desc);
    const size_t len = strlen(text);
    for (unsigned i = 0; i < desc->n_values; i++) {
        const ProtobufCEnumValue *v = &desc->values[i];
        if (v->value == 0)
            continue;
        const char *name = v->name + prefix;
        if (strlen(name) != len)
            continue;
        size_t k = 0;
        for (; k < len; k++) {
            const char c = text[k] == '-' ? '_' : text[k];
            if (toupper((unsigned char) c) != name[k])
                break;
        }
        if (k == len)
            return v->value;
    }
    return 0;
}

const char *
th_enum_label(const ProtobufCEnumDescriptor *desc, int value, char *buf, size_t size)
{
    if (size == 0)
        return buf;
    buf[0] = '\0';
    if (value == 0)
        return buf;
    if (th_enum_token(desc, value, buf, size) == NULL) {
        snprintf(buf, size, "%d", value);
        return buf;
    }
    for (char *p = buf; *p != '\0'; p++) {
        if (*p == '_')
            *p = ' ';
    }
    buf[0] = (char) toupper((unsigned char) buf[0]);
    return buf;
}

const char *
th_enum_tokens(const ProtobufCEnumDescriptor *desc, char *buf, size_t size)
{
    size_t used = 0;
    if (size == 0)
        return buf;
    buf[0] = '\0';
    for (unsigned i = 0; i < desc->n_values; i++) {
        char token[TH_ENUM_TEXT_SIZE];
        if (th_enum_token(desc, desc->values[i].value, token, sizeof token) == NULL)
            continue;
        const int n = snprintf(buf + used, size - used, "%s%s", used > 0 ? ", " : "", token);
        if (n < 0 || (size_t) n >= size - used)
            break;
        used += (size_t) n;
    }
    return buf;
}
