/* ---------------------------------------------------------------------------
 * test_wire.c: frame codec, method names, UTF-8, status names
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "th_error.h"
#include "th_status.h"
#include "th_wire.h"

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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_round_trip),
        cmocka_unit_test(test_unpack_rejects_garbage_and_oversize),
        cmocka_unit_test(test_response_header_every_status),
        cmocka_unit_test(test_split_method),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_id_frame),
        cmocka_unit_test(test_check_request_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
