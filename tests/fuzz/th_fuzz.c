/* ---------------------------------------------------------------------------
 * th_fuzz.c: framing, invariants and the round trip the harnesses share
 * ---------------------------------------------------------------------------
 */
#include "th_fuzz.h"

#include "fuzz_services.h"
#include "teilhabe/v1/testing.pb-c.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t
th_fuzz_split(const uint8_t *data, size_t size, zframe_t **frames, size_t max)
{
    size_t n = 0;
    size_t at = 0;
    while (at < size && n < max) {
        size_t len = data[at];
        if (at + 1 < size)
            len = (len << 8) | data[at + 1];
        at += at + 1 < size ? 2 : 1;
        if (len > size - at)
            len = size - at;
        frames[n] = zframe_new(data + at, len);
        th_fuzz_require(frames[n] != NULL, "out of memory making a frame of %zu bytes", len);
        n++;
        at += len;
    }
    return n;
}

void
th_fuzz_frames_destroy(zframe_t **frames, size_t n)
{
    for (size_t i = 0; i < n; i++)
        zframe_destroy(&frames[i]);
}

int
th_fuzz_frame_append(uint8_t *buf, size_t cap, size_t *len, const void *data, size_t size)
{
    if (size > 0xffff || cap - *len < size + 2)
        return -1;
    buf[(*len)++] = (uint8_t) (size >> 8);
    buf[(*len)++] = (uint8_t) (size & 0xff);
    if (size > 0)
        memcpy(buf + *len, data, size);
    *len += size;
    return 0;
}

void
th_fuzz_require(bool ok, const char *what, ...)
{
    if (ok)
        return;
    va_list args;
    va_start(args, what);
    fputs("fuzz: invariant broken: ", stderr);
    vfprintf(stderr, what, args);
    fputc('\n', stderr);
    va_end(args);
    abort();
}

bool
th_fuzz_utf8(const char *s)
{
    return s != NULL && th_wire_utf8_valid(s, strlen(s));
}

void
th_fuzz_round_trip(const ProtobufCMessage *msg)
{
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    th_fuzz_require(protobuf_c_message_check(msg), "%s: a decoded message fails its check",
                    desc->name);
    size_t size = protobuf_c_message_get_packed_size(msg);
    uint8_t *first = malloc(size + 1);
    uint8_t *second = malloc(size + 1);
    th_fuzz_require(first != NULL && second != NULL, "out of memory packing %zu bytes", size);
    size_t packed = protobuf_c_message_pack(msg, first);
    th_fuzz_require(packed == size, "%s: packed %zu bytes, get_packed_size said %zu",
                    desc->name, packed, size);

    /* What the runtime accepted and repacks (a handler echoing a field, the
     * broker re-packing a header) must pass its own checks again. */
    th_wire_fault_t fault;
    int rc = th_wire_check_strings(desc, first, size, &fault);
    th_fuzz_require(rc == 0, "%s: the re-packed message is refused: field %s %s", desc->name,
                    fault.path, fault.problem);
    ProtobufCMessage *again = protobuf_c_message_unpack(desc, NULL, size, first);
    th_fuzz_require(again != NULL, "%s: protobuf-c cannot unpack what it packed", desc->name);
    size_t size2 = protobuf_c_message_get_packed_size(again);
    th_fuzz_require(size2 == size, "%s: packs to %zu bytes, then to %zu", desc->name, size,
                    size2);
    protobuf_c_message_pack(again, second);
    th_fuzz_require(memcmp(first, second, size) == 0,
                    "%s: pack(unpack(pack(m))) differs from pack(m)", desc->name);
    protobuf_c_message_free_unpacked(again, NULL);
    free(second);
    free(first);
}

static const ProtobufCServiceDescriptor *const s_services[] = {TH_FUZZ_SERVICES};

/* Messages no method takes that the runtime's checks must hold for too:
 * WireProbe has every shape a string can hide in (recursion, oneof,
 * repeated and packed fields). */
static const ProtobufCMessageDescriptor *const s_extras[] = {
    &teilhabe__testing__v1__wire_probe__descriptor,
};

#define S_N_SERVICES (sizeof s_services / sizeof s_services[0])
#define S_N_EXTRAS (sizeof s_extras / sizeof s_extras[0])

size_t
th_fuzz_request_types(void)
{
    size_t total = S_N_EXTRAS;
    for (size_t i = 0; i < S_N_SERVICES; i++)
        total += s_services[i]->n_methods;
    return total;
}

const ProtobufCMessageDescriptor *
th_fuzz_request_type(size_t index, const char **service, const char **method)
{
    size_t k = index;
    for (size_t i = 0; i < S_N_SERVICES; i++) {
        if (k < s_services[i]->n_methods) {
            *service = s_services[i]->short_name;
            *method = s_services[i]->methods[k].name;
            return s_services[i]->methods[k].input;
        }
        k -= s_services[i]->n_methods;
    }
    th_fuzz_require(k < S_N_EXTRAS, "request type %zu of %zu", index, th_fuzz_request_types());
    *service = "extra";
    *method = s_extras[k]->short_name;
    return s_extras[k];
}
