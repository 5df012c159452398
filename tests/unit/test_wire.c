/* ---------------------------------------------------------------------------
 * test_wire.c: frame codec, method names, UTF-8, status names, and the walk
 * over raw protobuf bytes that refuses a NUL or bad UTF-8 in any string field
 * (teilhabe.testing.v1.WireProbe has every shape a string can hide in)
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "th_error.h"
#include "th_status.h"
#include "th_test_wire.h"
#include "th_wire.h"

#include "teilhabe/v1/testing.pb-c.h"

#include <stdlib.h>
#include <string.h>

#define PROBE (&teilhabe__testing__v1__wire_probe__descriptor)

static void
test_header_round_trip(void **state)
{
    th_request_header_t header = TEILHABE__RPC__V1__REQUEST_HEADER__INIT;
    header.call_id = 42;
    header.method = "teilhabe.registry.v1.Registry/GetDistrict";
    header.timeout_ms = 1500;
    header.idempotency_key = "k-1";
    zframe_t *frame = th_wire_pack(&header.base);
    assert_non_null(frame);
    ProtobufCMessage *out = NULL;
    assert_int_equal(th_wire_unpack(&teilhabe__rpc__v1__request_header__descriptor, frame,
                                    TH_WIRE_HEADER_MAX, &out),
                     0);
    th_request_header_t *decoded = (th_request_header_t *) out;
    assert_int_equal(decoded->call_id, 42);
    assert_string_equal(decoded->method, header.method);
    assert_int_equal(decoded->timeout_ms, 1500);
    assert_string_equal(decoded->idempotency_key, "k-1");
    protobuf_c_message_free_unpacked(out, NULL);
    zframe_destroy(&frame);
}

static void
test_unpack_rejects_garbage_and_oversize(void **state)
{
    ProtobufCMessage *out = NULL;
    zframe_t *garbage = zframe_new("\xff\xff\xff\xff\xff", 5);
    assert_int_equal(th_wire_unpack(&teilhabe__rpc__v1__request_header__descriptor, garbage,
                                    TH_WIRE_HEADER_MAX, &out),
                     TH_EPROTO);
    assert_null(out);
    assert_int_equal(th_wire_unpack(&teilhabe__rpc__v1__request_header__descriptor, garbage,
                                    4, &out),
                     TH_ETOOBIG);
    zframe_destroy(&garbage);
}

static void
test_response_header_every_status(void **state)
{
    for (int code = 0; code <= TH_STATUS_MAX; code++) {
        zmsg_t *msg = th_wire_client_reply(7, code, "why", 250, NULL);
        assert_non_null(msg);
        assert_int_equal(zmsg_size(msg), 3);
        zframe_t *sig = zmsg_first(msg);
        assert_true(th_wire_is_sig(sig, TH_WIRE_CLIENT_SIG));
        ProtobufCMessage *out = NULL;
        assert_int_equal(th_wire_unpack(&teilhabe__rpc__v1__response_header__descriptor,
                                        zmsg_next(msg), TH_WIRE_HEADER_MAX, &out),
                         0);
        th_response_header_t *header = (th_response_header_t *) out;
        assert_int_equal(header->code, code);
        assert_int_equal(header->call_id, 7);
        assert_string_equal(header->message, "why");
        assert_int_equal(header->retry_after_ms, 250);
        assert_int_equal(th_status_from_name(th_status_name(code)), code);
        assert_int_equal(th_status_exit_code(code), code == 0 ? 0 : 10 + code);
        protobuf_c_message_free_unpacked(out, NULL);
        zmsg_destroy(&msg);
    }
    assert_string_equal(th_status_name(17), "UNKNOWN");
    assert_string_equal(th_status_name(-1), "UNKNOWN");
    assert_int_equal(th_status_from_name("not_found"), TH_NOT_FOUND);
    assert_int_equal(th_status_from_name("NOPE"), -1);
    assert_true(th_status_is_retryable(TH_UNAVAILABLE));
    assert_false(th_status_is_retryable(TH_INVALID_ARGUMENT));
}

static void
test_split_method(void **state)
{
    char service[64];
    assert_int_equal(th_wire_split_method("teilhabe.registry.v1.Registry/GetDistrict",
                                          service, sizeof service),
                     0);
    assert_string_equal(service, "teilhabe.registry.v1.Registry");
    assert_int_equal(th_wire_split_method("Registry/GetDistrict", service, sizeof service),
                     TH_EINVAL);
    assert_int_equal(th_wire_split_method("a.b/", service, sizeof service), TH_EINVAL);
    assert_int_equal(th_wire_split_method("a..b/X", service, sizeof service), TH_EINVAL);
    assert_int_equal(th_wire_split_method("a.b/X/Y", service, sizeof service), TH_EINVAL);
    assert_int_equal(th_wire_split_method("a.b/X Y", service, sizeof service), TH_EINVAL);
    assert_int_equal(th_wire_split_method("", service, sizeof service), TH_EINVAL);
    assert_int_equal(th_wire_split_method("a.b/1X", service, sizeof service), TH_EINVAL);
    assert_int_equal(th_wire_split_method("aaaa.bbbb/X", service, 5), TH_EINVAL);
}

static void
test_utf8(void **state)
{
    assert_true(th_wire_utf8_valid("S\xc3\xb6mmerda", 9));
    assert_true(th_wire_utf8_valid("\xf0\x9f\x98\x80", 4));
    assert_false(th_wire_utf8_valid("\xc3", 1));            /* truncated */
    assert_false(th_wire_utf8_valid("\xc0\xaf", 2));        /* overlong */
    assert_false(th_wire_utf8_valid("\xed\xa0\x80", 3));    /* surrogate */
    assert_false(th_wire_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
    assert_false(th_wire_utf8_valid("\xff", 1));
    assert_false(th_wire_utf8_valid("ab\x80", 3));
    assert_false(th_wire_utf8_valid("\xe0\x80\xaf", 3));     /* overlong, 3 bytes */
    assert_true(th_wire_utf8_valid("a\0b", 3));               /* NUL is UTF-8 ... */
}

static void
test_utf8_repair(void **state)
{
    char cut[] = "S\xc3\xb6mm\xc3"; /* "%.6s" of "Sömmé" */
    th_wire_utf8_repair(cut);
    assert_string_equal(cut, "S\xc3\xb6mm?");
    char bad[] = "\xff\xfe ok \xed\xa0\x80";
    th_wire_utf8_repair(bad);
    assert_string_equal(bad, "?? ok ???");
    assert_true(th_wire_utf8_valid(bad, strlen(bad)));
    th_wire_utf8_repair(NULL);
}

/* --- the string walk -------------------------------------------------------- */

/* Checks pb as a WireProbe: returns the code, the fault in *fault. */
static int
s_check(const th_test_pb_t *pb, th_wire_fault_t *fault)
{
    return th_wire_check_strings(PROBE, pb->data, pb->len, fault);
}

static void
test_walk_accepts_every_valid_shape(void **state)
{
    Teilhabe__Testing__V1__WireProbe child = TEILHABE__TESTING__V1__WIRE_PROBE__INIT;
    child.name = "Th\xc3\xbcringen";
    Teilhabe__Testing__V1__WireProbe item = TEILHABE__TESTING__V1__WIRE_PROBE__INIT;
    item.name = "item";
    Teilhabe__Testing__V1__WireProbe *items[] = {&item, &item};
    char *tags[] = {"a", "", "\xf0\x9f\x98\x80"};
    int32_t counts[] = {1, -2, 300};
    Teilhabe__Testing__V1__WireProbe probe = TEILHABE__TESTING__V1__WIRE_PROBE__INIT;
    probe.name = "top";
    probe.child = &child;
    probe.n_items = 2;
    probe.items = items;
    probe.n_tags = 3;
    probe.tags = tags;
    probe.choice_case = TEILHABE__TESTING__V1__WIRE_PROBE__CHOICE_NODE;
    probe.node = &child;
    probe.blob.data = (uint8_t *) "\0\xff\0";
    probe.blob.len = 3;
    probe.n_counts = 3;
    probe.counts = counts;
    probe.small = 7;
    probe.large = UINT64_MAX;
    th_test_pb_t pb = {0};
    th_test_pb_message(&pb, &probe.base);
    th_wire_fault_t fault;
    assert_int_equal(s_check(&pb, &fault), 0);

    /* fields this schema does not know are skipped, whatever they hold */
    th_test_pb_bytes(&pb, 99, "x\0\xff", 3);
    th_test_pb_varint(&pb, 100, 1234567);
    th_test_pb_raw(&pb, "\xa5\x06" "1234", 6);             /* field 100, fixed32 */
    th_test_pb_raw(&pb, "\xa9\x06" "12345678", 10);        /* field 101, fixed64 */
    assert_int_equal(s_check(&pb, &fault), 0);

    zframe_t *frame = zframe_new(pb.data, pb.len);
    ProtobufCMessage *out = NULL;
    assert_int_equal(th_wire_unpack(PROBE, frame, 65536, &out), 0);
    const Teilhabe__Testing__V1__WireProbe *decoded =
        (const Teilhabe__Testing__V1__WireProbe *) out;
    assert_string_equal(decoded->child->name, "Th\xc3\xbcringen");
    assert_int_equal(decoded->n_counts, 3);
    assert_int_equal(decoded->counts[2], 300);
    assert_int_equal(decoded->blob.len, 3);
    assert_int_equal(decoded->choice_case, TEILHABE__TESTING__V1__WIRE_PROBE__CHOICE_NODE);
    protobuf_c_message_free_unpacked(out, NULL);
    zframe_destroy(&frame);
    th_test_pb_free(&pb);

    /* the empty message is valid */
    assert_int_equal(th_wire_check_strings(PROBE, NULL, 0, &fault), 0);
}

static void
test_walk_names_nul_in_flat_nested_repeated_and_oneof(void **state)
{
    th_wire_fault_t fault;
    th_test_pb_t pb = {0};
    /* the AGS: protobuf-c alone would hand "16068" to the handler */
    th_test_pb_bytes(&pb, 1, "16068\0' OR 1=1", 15);
    assert_int_equal(s_check(&pb, &fault), TH_EINVAL);
    assert_string_equal(fault.path, "name");
    assert_non_null(strstr(fault.problem, "NUL"));
    th_test_pb_free(&pb);

    /* child.child.name */
    th_test_pb_t inner = {0}, middle = {0};
    th_test_pb_bytes(&inner, 1, "ok", 2);
    th_test_pb_bytes(&inner, 1, "2024-01-01\0garbage", 18);
    th_test_pb_bytes(&middle, 1, "fine", 4);
    th_test_pb_bytes(&middle, 2, inner.data, inner.len);
    th_test_pb_bytes(&pb, 2, middle.data, middle.len);
    assert_int_equal(s_check(&pb, &fault), TH_EINVAL);
    assert_string_equal(fault.path, "child.child.name");
    th_test_pb_free(&pb);

    /* items[2].tags[1]: the index counts occurrences on the wire, also when
     * other fields lie between them */
    th_test_pb_t good = {0}, bad = {0};
    th_test_pb_bytes(&good, 4, "x", 1);
    th_test_pb_bytes(&bad, 4, "first", 5);
    th_test_pb_bytes(&bad, 1, "between", 7);
    th_test_pb_bytes(&bad, 4, "bro\xc3ken", 7);
    th_test_pb_bytes(&pb, 3, good.data, good.len);
    th_test_pb_bytes(&pb, 1, "name", 4);
    th_test_pb_bytes(&pb, 3, good.data, good.len);
    th_test_pb_bytes(&pb, 3, bad.data, bad.len);
    assert_int_equal(s_check(&pb, &fault), TH_EINVAL);
    assert_string_equal(fault.path, "items[2].tags[1]");
    assert_string_equal(fault.problem, "is not valid UTF-8");
    th_test_pb_free(&pb);

    /* repeated strings at the top */
    th_test_pb_bytes(&pb, 4, "a", 1);
    th_test_pb_bytes(&pb, 4, "16\0xx", 5);
    assert_int_equal(s_check(&pb, &fault), TH_EINVAL);
    assert_string_equal(fault.path, "tags[1]");
    th_test_pb_free(&pb);

    /* oneof members: a string, and a string inside a message member */
    th_test_pb_bytes(&pb, 5, "w\0rd", 5);
    assert_int_equal(s_check(&pb, &fault), TH_EINVAL);
    assert_string_equal(fault.path, "word");
    th_test_pb_free(&pb);
    th_test_pb_bytes(&pb, 6, inner.data, inner.len);
    assert_int_equal(s_check(&pb, &fault), TH_EINVAL);
    assert_string_equal(fault.path, "node.name");
    /* ... even when a later member of the oneof would replace it */
    th_test_pb_varint(&pb, 7, 42);
    assert_int_equal(s_check(&pb, &fault), TH_EINVAL);
    assert_string_equal(fault.path, "node.name");

    /* th_wire_unpack refuses it as well, and decodes nothing */
    zframe_t *frame = zframe_new(pb.data, pb.len);
    ProtobufCMessage *out = NULL;
    assert_int_equal(th_wire_unpack(PROBE, frame, 65536, &out), TH_EINVAL);
    assert_null(out);
    assert_int_equal(th_wire_unpack_fault(PROBE, frame, 65536, &out, &fault), TH_EINVAL);
    assert_string_equal(fault.path, "node.name");
    zframe_destroy(&frame);
    th_test_pb_free(&pb);
    th_test_pb_free(&inner);
    th_test_pb_free(&middle);
    th_test_pb_free(&good);
    th_test_pb_free(&bad);
}

static void
test_walk_refuses_truncated_and_malformed(void **state)
{
    th_wire_fault_t fault;
    static const struct {
        const char *bytes;
        size_t len;
        const char *path;
    } cases[] = {
        {"\x0a\x05" "abc", 5, ""},                 /* string longer than what is left */
        {"\x0a", 1, ""},                            /* tag without a length */
        {"\x38\x80\x80", 3, ""},                  /* varint cut short */
        {"\x38\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 11, ""}, /* > 64 bits */
        {"\x59" "1234567", 8, ""},                  /* fixed64 cut short */
        {"\x55" "123", 4, ""},                      /* fixed32 cut short */
        {"\x0b", 1, ""},                            /* group start: wire type 3 */
        {"\x0e", 1, ""},                            /* wire type 6 */
        {"\x02\x00", 2, ""},                       /* field number 0 */
        {"\x08\x01", 2, "name"},                   /* a string sent as a varint */
        {"\x12\x02\x0a\x05", 4, "child"},        /* nested message cut short */
        {"\x15" "abcd", 5, "child"},                /* a message sent as fixed32 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = th_wire_check_strings(PROBE, (const uint8_t *) cases[i].bytes, cases[i].len,
                                       &fault);
        if (rc != TH_EPROTO || strcmp(fault.path, cases[i].path) != 0)
            fail_msg("case %zu: rc %d path \"%s\", expected TH_EPROTO at \"%s\"", i, rc,
                     fault.path, cases[i].path);
        zframe_t *frame = zframe_new(cases[i].bytes, cases[i].len);
        ProtobufCMessage *out = NULL;
        assert_int_equal(th_wire_unpack(PROBE, frame, 65536, &out), TH_EPROTO);
        assert_null(out);
        zframe_destroy(&frame);
    }
}

/* name at the bottom of depth nested child messages, built from the inside
 * out at the end of one buffer (each level: tag 0x12, then its length) */
static th_test_pb_t
s_nested(int depth)
{
    size_t cap = 8 + (size_t) depth * 8;
    uint8_t *buf = malloc(cap);
    assert_non_null(buf);
    size_t start = cap - 8;
    memcpy(buf + start, "\x0a\x06" "bottom", 8);
    for (int i = 0; i < depth; i++) {
        size_t len = cap - start;
        uint8_t varint[10];
        size_t n = 0;
        do {
            varint[n++] = (uint8_t) ((len & 0x7f) | (len > 0x7f ? 0x80 : 0));
            len >>= 7;
        } while (len > 0);
        start -= n;
        memcpy(buf + start, varint, n);
        buf[--start] = 0x12; /* field 2 (child), length-delimited */
    }
    th_test_pb_t pb = {0};
    th_test_pb_raw(&pb, buf + start, cap - start);
    free(buf);
    return pb;
}

static void
test_walk_stops_depth_bombs(void **state)
{
    th_wire_fault_t fault;
    /* exactly at the limit: fine, and protobuf-c decodes it */
    th_test_pb_t pb = s_nested(TH_WIRE_DEPTH_MAX);
    assert_int_equal(s_check(&pb, &fault), 0);
    zframe_t *frame = zframe_new(pb.data, pb.len);
    ProtobufCMessage *out = NULL;
    assert_int_equal(th_wire_unpack(PROBE, frame, 65536, &out), 0);
    protobuf_c_message_free_unpacked(out, NULL);
    zframe_destroy(&frame);
    th_test_pb_free(&pb);

    pb = s_nested(TH_WIRE_DEPTH_MAX + 1);
    assert_int_equal(s_check(&pb, &fault), TH_EPROTO);
    assert_non_null(strstr(fault.problem, "levels deep"));
    assert_int_equal(strncmp(fault.path, "child.child.child.", 18), 0);
    th_test_pb_free(&pb);

    /* 100000 levels: would take protobuf-c's recursion far down the stack;
     * the walk stops at the limit, before protobuf-c runs */
    pb = s_nested(100000);
    frame = zframe_new(pb.data, pb.len);
    assert_int_equal(th_wire_unpack_fault(PROBE, frame, SIZE_MAX, &out, &fault), TH_EPROTO);
    assert_null(out);
    /* the walk went no deeper than the limit: one "child" per level */
    assert_int_equal(strlen(fault.path), (TH_WIRE_DEPTH_MAX + 1) * 6 - 1);
    zframe_destroy(&frame);
    th_test_pb_free(&pb);
}

/* Many tiny values: each costs protobuf-c an allocation and its C struct
 * however short it is on the wire (an empty WireProbe is two bytes there),
 * so more than TH_WIRE_ELEMENTS_MAX of them are refused before decoding,
 * naming where the count ran over. */
static void
test_walk_bounds_element_count(void **state)
{
    (void) state;
    th_wire_fault_t fault;
    th_test_pb_t pb = {0};
    for (int i = 0; i < TH_WIRE_ELEMENTS_MAX; i++)
        th_test_pb_bytes(&pb, 3, "", 0); /* items: an empty WireProbe */
    assert_int_equal(s_check(&pb, &fault), 0);

    th_test_pb_bytes(&pb, 4, "", 0); /* tags: one empty string more */
    assert_int_equal(s_check(&pb, &fault), TH_ETOOBIG);
    assert_string_equal(fault.path, "tags[0]");
    assert_non_null(strstr(fault.problem, "holds more than 100000"));

    char err[TH_WIRE_PATH_MAX + 256];
    ProtobufCMessage *out = NULL;
    zframe_t *frame = zframe_new(pb.data, pb.len);
    assert_int_equal(
        th_wire_decode_request(PROBE, frame, SIZE_MAX, &out, &fault, err, sizeof err),
        TH_RESOURCE_EXHAUSTED);
    assert_null(out);
    assert_non_null(strstr(err, "at field tags[0]"));
    zframe_destroy(&frame);
    th_test_pb_free(&pb);

    /* byte strings count too */
    for (int i = 0; i <= TH_WIRE_ELEMENTS_MAX; i++)
        th_test_pb_bytes(&pb, 8, "", 0);
    assert_int_equal(s_check(&pb, &fault), TH_ETOOBIG);
    assert_string_equal(fault.path, "blob");
    th_test_pb_free(&pb);
}

static void
test_header_strings_and_peek_call_id(void **state)
{
    th_request_header_t header = TEILHABE__RPC__V1__REQUEST_HEADER__INIT;
    header.call_id = 4711;
    header.timeout_ms = 2000;
    th_test_pb_t pb = {0};
    th_test_pb_message(&pb, &header.base);
    th_test_pb_bytes(&pb, 2, "teilhabe.registry.v1.Registry/GetDistrict\0junk", 46);
    zframe_t *frame = zframe_new(pb.data, pb.len);
    th_wire_fault_t fault;
    ProtobufCMessage *out = NULL;
    assert_int_equal(th_wire_unpack_fault(&teilhabe__rpc__v1__request_header__descriptor, frame,
                                          TH_WIRE_HEADER_MAX, &out, &fault),
                     TH_EINVAL);
    assert_string_equal(fault.path, "method");
    assert_true(th_wire_peek_call_id(frame) == 4711);
    zframe_destroy(&frame);
    th_test_pb_free(&pb);

    /* metadata[1].value and principal.district_scope[1] */
    th_test_pb_t entry = {0}, principal = {0};
    th_test_pb_bytes(&entry, 1, "k", 1);
    th_test_pb_bytes(&pb, 4, entry.data, entry.len);
    th_test_pb_bytes(&entry, 2, "v\0", 2);
    th_test_pb_bytes(&pb, 4, entry.data, entry.len);
    assert_int_equal(th_wire_check_strings(&teilhabe__rpc__v1__request_header__descriptor,
                                           pb.data, pb.len, &fault),
                     TH_EINVAL);
    assert_string_equal(fault.path, "metadata[1].value");
    th_test_pb_free(&pb);
    th_test_pb_bytes(&principal, 5, "16056", 5);
    th_test_pb_bytes(&principal, 5, "1606\0", 5);
    th_test_pb_bytes(&pb, 6, principal.data, principal.len);
    assert_int_equal(th_wire_check_strings(&teilhabe__rpc__v1__request_header__descriptor,
                                           pb.data, pb.len, &fault),
                     TH_EINVAL);
    assert_string_equal(fault.path, "principal.district_scope[1]");
    th_test_pb_free(&pb);
    th_test_pb_free(&entry);
    th_test_pb_free(&principal);

    /* the last call_id wins; garbage has none */
    th_test_pb_varint(&pb, 1, 1);
    th_test_pb_varint(&pb, 1, 2);
    frame = zframe_new(pb.data, pb.len);
    assert_true(th_wire_peek_call_id(frame) == 2);
    zframe_destroy(&frame);
    th_test_pb_free(&pb);
    frame = zframe_new("\xff\xff", 2);
    assert_true(th_wire_peek_call_id(frame) == 0);
    zframe_destroy(&frame);
    assert_true(th_wire_peek_call_id(NULL) == 0);
}

static void
test_id_frame(void **state)
{
    zframe_t *frame = th_wire_id_frame(0x0102030405060708ULL);
    uint64_t id = 0;
    assert_int_equal(th_wire_id_decode(frame, &id), 0);
    assert_true(id == 0x0102030405060708ULL);
    assert_memory_equal(zframe_data(frame), "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    zframe_destroy(&frame);
    zframe_t *short_frame = zframe_new("abc", 3);
    assert_int_equal(th_wire_id_decode(short_frame, &id), TH_EPROTO);
    zframe_destroy(&short_frame);
}

static void
test_check_request_header(void **state)
{
    char err[256];
    th_request_header_t header = TEILHABE__RPC__V1__REQUEST_HEADER__INIT;
    header.method = "teilhabe.x.v1.X/Y";
    assert_int_equal(th_wire_check_request_header(&header, err, sizeof err), TH_OK);
    header.idempotency_key = "\xff";
    assert_int_equal(th_wire_check_request_header(&header, err, sizeof err),
                     TH_INVALID_ARGUMENT);
    header.idempotency_key = "";
    header.method = "nope";
    assert_int_equal(th_wire_check_request_header(&header, err, sizeof err),
                     TH_INVALID_ARGUMENT);
}

/* What the worker runtime answers for a body, before any handler runs */
static void
test_decode_request(void **state)
{
    const ProtobufCMessageDescriptor *echo = &teilhabe__testing__v1__echo_request__descriptor;
    char err[TH_WIRE_PATH_MAX + 256];
    th_wire_fault_t fault;
    ProtobufCMessage *out = NULL;

    Teilhabe__Testing__V1__EchoRequest request = TEILHABE__TESTING__V1__ECHO_REQUEST__INIT;
    request.text = "Sömmerda";
    zframe_t *frame = th_wire_pack(&request.base);
    assert_int_equal(th_wire_decode_request(echo, frame, 1024, &out, &fault, err, sizeof err),
                     TH_OK);
    assert_non_null(out);
    assert_string_equal(((Teilhabe__Testing__V1__EchoRequest *) out)->text, "Sömmerda");
    protobuf_c_message_free_unpacked(out, NULL);

    /* Too large: RESOURCE_EXHAUSTED, no field to blame */
    assert_int_equal(th_wire_decode_request(echo, frame, 3, &out, &fault, err, sizeof err),
                     TH_RESOURCE_EXHAUSTED);
    assert_null(out);
    assert_string_equal(fault.path, "");
    assert_non_null(strstr(err, "exceeds the limit of 3 bytes"));
    zframe_destroy(&frame);

    /* A NUL in a string: INVALID_ARGUMENT naming the field */
    th_test_pb_t pb = {0};
    th_test_pb_bytes(&pb, 1, "16068\0' OR 1=1", 15);
    frame = zframe_new(pb.data, pb.len);
    assert_int_equal(th_wire_decode_request(echo, frame, 1024, &out, &fault, err, sizeof err),
                     TH_INVALID_ARGUMENT);
    assert_null(out);
    assert_string_equal(fault.path, "text");
    assert_non_null(strstr(err, "field text of the request contains a NUL byte"));
    zframe_destroy(&frame);
    th_test_pb_free(&pb);

    /* Not protobuf at all: INVALID_ARGUMENT naming the type, no field */
    frame = zframe_new("\xff\xff\xff", 3);
    assert_int_equal(th_wire_decode_request(echo, frame, 1024, &out, &fault, err, sizeof err),
                     TH_INVALID_ARGUMENT);
    assert_null(out);
    assert_string_equal(fault.path, "");
    assert_string_equal(err, "request is not a valid teilhabe.testing.v1.EchoRequest message");
    zframe_destroy(&frame);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_round_trip),
        cmocka_unit_test(test_unpack_rejects_garbage_and_oversize),
        cmocka_unit_test(test_response_header_every_status),
        cmocka_unit_test(test_split_method),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_utf8_repair),
        cmocka_unit_test(test_walk_accepts_every_valid_shape),
        cmocka_unit_test(test_walk_names_nul_in_flat_nested_repeated_and_oneof),
        cmocka_unit_test(test_walk_refuses_truncated_and_malformed),
        cmocka_unit_test(test_walk_stops_depth_bombs),
        cmocka_unit_test(test_walk_bounds_element_count),
        cmocka_unit_test(test_header_strings_and_peek_call_id),
        cmocka_unit_test(test_id_frame),
        cmocka_unit_test(test_check_request_header),
        cmocka_unit_test(test_decode_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
