/* ---------------------------------------------------------------------------
 * fuzz_requests.c: the decode step every request body passes before a
 * handler runs, for every request message of every service.
 *
 * The input's first byte picks a method (modulo th_fuzz_request_types():
 * the methods of every service declared under proto/, then WireProbe; see
 * th_fuzz.h), the rest is the body. The body goes through
 * th_wire_decode_request exactly as the worker runtime runs it (size
 * check, th_wire_unpack_fault, the answer and field violation for a bad
 * body) and the decoded message is freed; in between it must survive
 * th_fuzz_round_trip (check, get_packed_size, pack, decode again). A new
 * service, or a new method, is fuzzed as soon as its .proto is in proto/
 * (its seed comes from make_corpus.c).
 * ---------------------------------------------------------------------------
 */
#include "th_fuzz.h"

#include "th_status.h"

#include <stdio.h>
#include <string.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t types = th_fuzz_request_types();
    /* One byte picks: past 256 types some would never be fuzzed */
    th_fuzz_require(types <= 256, "%zu request types: widen the selector to two bytes",
                    types);
    const char *service;
    const char *name;
    const ProtobufCMessageDescriptor *input =
        th_fuzz_request_type(data[0] % types, &service, &name);
    zframe_t *body = zframe_new(data + 1, size - 1);
    th_fuzz_require(body != NULL, "out of memory");

    /* What common/th_worker.c s_dispatch runs before the handler */
    ProtobufCMessage *request = NULL;
    th_wire_fault_t fault;
    char message[TH_WIRE_PATH_MAX + 256];
    int code = th_wire_decode_request(input, body, TH_WIRE_SOFT_MAX_DEFAULT, &request, &fault,
                                      message, sizeof message);
    th_fuzz_require(code == TH_OK || code == TH_INVALID_ARGUMENT ||
                        code == TH_RESOURCE_EXHAUSTED,
                    "%s: decode returned status %d", name, code);
    th_fuzz_require((code == TH_OK) == (request != NULL), "%s: status %d with request %s",
                    name, code, request != NULL ? "set" : "NULL");
    if (code == TH_OK) {
        th_fuzz_require(request->descriptor == input, "%s: decoded as %s", name,
                        request->descriptor->name);
        th_fuzz_round_trip(request);
    } else {
        /* The answer (message, field violation) goes back in a
         * ResponseHeader, which the client must be able to decode. */
        Teilhabe__Rpc__V1__FieldViolation violation =
            TEILHABE__RPC__V1__FIELD_VIOLATION__INIT;
        Teilhabe__Rpc__V1__FieldViolation *violations[] = {&violation};
        th_response_header_t header = TEILHABE__RPC__V1__RESPONSE_HEADER__INIT;
        header.code = (Teilhabe__Rpc__V1__StatusCode) code;
        header.message = message;
        if (fault.path[0] != '\0') {
            violation.field = fault.path;
            violation.description = (char *) fault.problem;
            header.n_violations = 1;
            header.violations = violations;
        }
        zframe_t *packed = th_wire_pack(&header.base);
        ProtobufCMessage *decoded = NULL;
        int rc = th_wire_unpack(&teilhabe__rpc__v1__response_header__descriptor, packed,
                                TH_WIRE_HEADER_MAX, &decoded);
        th_fuzz_require(rc == 0, "%s: the client cannot decode the answer \"%s\" (%d)", name,
                        message, rc);
        protobuf_c_message_free_unpacked(decoded, NULL);
        zframe_destroy(&packed);
    }
    protobuf_c_message_free_unpacked(request, NULL);
    zframe_destroy(&body);
    return 0;
}
