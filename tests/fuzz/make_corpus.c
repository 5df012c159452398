/* ---------------------------------------------------------------------------
 * make_corpus.c: writes the seed corpus of the fuzz harnesses.
 *
 *   build/tests/fuzz/fuzz_make_corpus tests/fuzz/corpus
 *
 * (after `cmake --build build --target fuzz_make_corpus`). It replaces
 * corpus/frames/ and corpus/requests/ with small, valid encodings:
 *   frames/    the messages of docs/PROTOCOL.md: client requests (a
 *              registry call, Health, ListServices, a write with an
 *              idempotency key and metadata), a worker's READY, REPLY
 *              (OK and with a field violation) and HEARTBEAT, and the
 *              REQUEST a worker receives;
 *   requests/  one input per method of every service (and WireProbe): the
 *              selector byte, then the request with every field set (one
 *              element in a list, the first member of a oneof, nested
 *              messages two levels deep) to a plausible value.
 * Run it again after adding a service or a method: the selector byte of
 * each request input is its index in th_fuzz_request_type's order, which a
 * new service can shift. Commit what it writes.
 * ---------------------------------------------------------------------------
 */
#include "th_fuzz.h"

#include "teilhabe/v1/broker.pb-c.h"
#include "teilhabe/v1/health.pb-c.h"
#include "teilhabe/v1/registry.pb-c.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define S_BUF_MAX 65536
#define S_DEPTH_MAX 2

/* Every allocation of one filled message, freed together. */
typedef struct s_block {
    struct s_block *next;
    max_align_t data[];
} s_block_t;

static void *
s_alloc(s_block_t **arena, size_t size)
{
    s_block_t *block = calloc(1, sizeof *block + size);
    th_fuzz_require(block != NULL, "out of memory");
    block->next = *arena;
    *arena = block;
    return block->data;
}

static void
s_arena_free(s_block_t **arena)
{
    while (*arena != NULL) {
        s_block_t *next = (*arena)->next;
        free(*arena);
        *arena = next;
    }
}

static bool
s_ends_with(const char *s, const char *suffix)
{
    size_t len = strlen(s);
    size_t n = strlen(suffix);
    return len >= n && strcmp(s + len - n, suffix) == 0;
}

/* A plausible value for a string field, by its name. */
static const char *
s_sample_string(const char *name)
{
    if (s_ends_with(name, "ags"))
        return "16068";
    if (strcmp(name, "as_of") == 0 || s_ends_with(name, "_from") ||
        s_ends_with(name, "_to") || s_ends_with(name, "date") || s_ends_with(name, "_on"))
        return "2024-01-01";
    if (strcmp(name, "state") == 0 || s_ends_with(name, "state_code") ||
        s_ends_with(name, "state_scope"))
        return "16";
    if (strcmp(name, "email") == 0)
        return "erika.muster@example.org";
    if (strcmp(name, "public_key") == 0)
        return "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
    if (strcmp(name, "page_token") == 0)
        return "";
    return "Sömmerda";
}

static ProtobufCMessage *s_fill(const ProtobufCMessageDescriptor *desc, int depth,
                                s_block_t **arena);

static size_t
s_element_size(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE: return 8;
    case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING: return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE: return sizeof(ProtobufCMessage *);
    default: return 4; /* the 32-bit numbers, float, enum */
    }
}

/* Writes a sample value of field's type at member. */
static void
s_set_value(const ProtobufCFieldDescriptor *field, void *member, int depth, s_block_t **arena)
{
    switch (field->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: {
        uint32_t value = strcmp(field->name, "page_size") == 0 ? 50 : 1;
        memcpy(member, &value, sizeof value);
        break;
    }
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: {
        uint64_t value = 1;
        memcpy(member, &value, sizeof value);
        break;
    }
    case PROTOBUF_C_TYPE_FLOAT: *(float *) member = 1.5f; break;
    case PROTOBUF_C_TYPE_DOUBLE: *(double *) member = 1.5; break;
    case PROTOBUF_C_TYPE_BOOL: *(protobuf_c_boolean *) member = 1; break;
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumDescriptor *e = field->descriptor;
        int value = e->n_values > 1 ? e->values[1].value : e->values[0].value;
        memcpy(member, &value, sizeof value);
        break;
    }
    case PROTOBUF_C_TYPE_STRING:
        *(const char **) member = s_sample_string(field->name);
        break;
    case PROTOBUF_C_TYPE_BYTES: {
        static const uint8_t bytes[] = {0x00, 0xff, 0x10};
        ProtobufCBinaryData *data = member;
        data->data = (uint8_t *) bytes;
        data->len = sizeof bytes;
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE:
        *(ProtobufCMessage **) member = s_fill(field->descriptor, depth + 1, arena);
        break;
    }
}

/* A message of type desc with every field set (see the banner). */
static ProtobufCMessage *
s_fill(const ProtobufCMessageDescriptor *desc, int depth, s_block_t **arena)
{
    ProtobufCMessage *msg = s_alloc(arena, desc->sizeof_message);
    protobuf_c_message_init(desc, msg);
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &desc->fields[i];
        uint8_t *base = (uint8_t *) msg;
        if (field->type == PROTOBUF_C_TYPE_MESSAGE && depth >= S_DEPTH_MAX)
            continue;
        if (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            uint32_t *which = (uint32_t *) (base + field->quantifier_offset);
            if (*which != 0)
                continue; /* another member of the oneof is set */
            *which = field->id;
        }
        void *member = base + field->offset;
        if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            void *array = s_alloc(arena, s_element_size(field->type));
            s_set_value(field, array, depth, arena);
            *(void **) member = array;
            *(size_t *) (base + field->quantifier_offset) = 1;
            continue;
        }
        if (field->label == PROTOBUF_C_LABEL_OPTIONAL && field->quantifier_offset != 0 &&
            !(field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            field->type != PROTOBUF_C_TYPE_STRING && field->type != PROTOBUF_C_TYPE_MESSAGE)
            *(protobuf_c_boolean *) (base + field->quantifier_offset) = 1;
        s_set_value(field, member, depth, arena);
    }
    return msg;
}

/* Appends msg packed as one frame. */
static void
s_append_message(uint8_t *buf, size_t *len, const ProtobufCMessage *msg)
{
    size_t size = protobuf_c_message_get_packed_size(msg);
    uint8_t *packed = malloc(size + 1);
    th_fuzz_require(packed != NULL, "out of memory");
    protobuf_c_message_pack(msg, packed);
    th_fuzz_require(th_fuzz_frame_append(buf, S_BUF_MAX, len, packed, size) == 0,
                    "seed too large");
    free(packed);
}

static void
s_append(uint8_t *buf, size_t *len, const void *data, size_t size)
{
    th_fuzz_require(th_fuzz_frame_append(buf, S_BUF_MAX, len, data, size) == 0,
                    "seed too large");
}

static int
s_write(const char *dir, const char *name, const uint8_t *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *file = fopen(path, "wb");
    if (file == NULL || fwrite(data, 1, len, file) != len || fclose(file) != 0) {
        fprintf(stderr, "make_corpus: could not write \"%s\": %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Makes dir, or empties it of regular files when it exists. */
static int
s_fresh_dir(const char *dir)
{
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "make_corpus: could not create \"%s\": %s\n", dir, strerror(errno));
        return -1;
    }
    DIR *handle = opendir(dir);
    if (handle == NULL)
        return -1;
    struct dirent *entry;
    while ((entry = readdir(handle)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, entry->d_name);
        remove(path);
    }
    closedir(handle);
    return 0;
}

/* A client request [THC01 | header | body] for method, body filled. */
static int
s_client_seed(const char *dir, const char *name, const char *method,
              const ProtobufCMessageDescriptor *body_type, const char *idempotency_key)
{
    s_block_t *arena = NULL;
    uint8_t buf[S_BUF_MAX];
    size_t len = 0;
    Teilhabe__Rpc__V1__MetadataEntry trace = TEILHABE__RPC__V1__METADATA_ENTRY__INIT;
    trace.key = "x-trace";
    trace.value = "walk-through";
    Teilhabe__Rpc__V1__MetadataEntry reserved = TEILHABE__RPC__V1__METADATA_ENTRY__INIT;
    reserved.key = "teilhabe-on-behalf-of"; /* the broker strips it */
    reserved.value = "admin";
    Teilhabe__Rpc__V1__MetadataEntry *metadata[] = {&trace, &reserved};
    th_request_header_t header = TEILHABE__RPC__V1__REQUEST_HEADER__INIT;
    header.call_id = 7;
    header.method = (char *) method;
    header.timeout_ms = 5000;
    header.idempotency_key = (char *) idempotency_key;
    if (idempotency_key[0] != '\0') {
        header.n_metadata = 2;
        header.metadata = metadata;
    }
    s_append(buf, &len, TH_WIRE_CLIENT_SIG, TH_WIRE_SIG_LEN);
    s_append_message(buf, &len, &header.base);
    if (body_type != NULL)
        s_append_message(buf, &len, s_fill(body_type, 0, &arena));
    else
        s_append(buf, &len, "", 0);
    s_arena_free(&arena);
    return s_write(dir, name, buf, len);
}

static int
s_frames(const char *root)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/frames", root);
    if (s_fresh_dir(dir) != 0)
        return -1;
    int rc = 0;
    rc |= s_client_seed(dir, "client-get-district",
                        "teilhabe.registry.v1.Registry/GetDistrict",
                        &teilhabe__registry__v1__get_district_request__descriptor, "");
    rc |= s_client_seed(dir, "client-create-manager",
                        "teilhabe.registry.v1.Registry/CreateManager",
                        &teilhabe__registry__v1__create_manager_request__descriptor,
                        "create-manager-erika-1");
    rc |= s_client_seed(dir, "client-health", "teilhabe.health.v1.Health/Check",
                        &teilhabe__health__v1__health_check_request__descriptor, "");
    rc |= s_client_seed(dir, "client-list-services", "teilhabe.broker.v1.Broker/ListServices",
                        NULL, "");

    uint8_t buf[S_BUF_MAX];
    size_t len = 0;
    const uint8_t ready_cmd = TH_CMD_READY;
    char *methods[] = {"GetDistrict", "ListDistricts"};
    Teilhabe__Broker__V1__ServiceInfo info = TEILHABE__BROKER__V1__SERVICE_INFO__INIT;
    info.name = "teilhabe.registry.v1.Registry";
    info.n_methods = 2;
    info.methods = methods;
    Teilhabe__Broker__V1__ServiceInfo *infos[] = {&info};
    Teilhabe__Broker__V1__WorkerReady ready = TEILHABE__BROKER__V1__WORKER_READY__INIT;
    ready.n_services = 1;
    ready.services = infos;
    ready.capacity = 4;
    ready.instance = "registry-host:4242";
    s_append(buf, &len, TH_WIRE_WORKER_SIG, TH_WIRE_SIG_LEN);
    s_append(buf, &len, &ready_cmd, 1);
    s_append_message(buf, &len, &ready.base);
    rc |= s_write(dir, "worker-ready", buf, len);

    const uint8_t id[8] = {0, 0, 0, 0, 0, 0, 0, 1};
    const uint8_t reply_cmd = TH_CMD_REPLY;
    th_response_header_t ok = TEILHABE__RPC__V1__RESPONSE_HEADER__INIT;
    ok.call_id = 7;
    ok.message = "";
    s_block_t *arena = NULL;
    len = 0;
    s_append(buf, &len, TH_WIRE_WORKER_SIG, TH_WIRE_SIG_LEN);
    s_append(buf, &len, &reply_cmd, 1);
    s_append(buf, &len, id, sizeof id);
    s_append_message(buf, &len, &ok.base);
    s_append_message(buf, &len, s_fill(&teilhabe__registry__v1__district__descriptor, 0, &arena));
    s_arena_free(&arena);
    rc |= s_write(dir, "worker-reply-ok", buf, len);

    Teilhabe__Rpc__V1__FieldViolation violation = TEILHABE__RPC__V1__FIELD_VIOLATION__INIT;
    violation.field = "ags";
    violation.description = "must be 5 digits, the Amtlicher Gemeindeschlüssel of a district";
    Teilhabe__Rpc__V1__FieldViolation *violations[] = {&violation};
    th_response_header_t bad = TEILHABE__RPC__V1__RESPONSE_HEADER__INIT;
    bad.call_id = 7;
    bad.code = TEILHABE__RPC__V1__STATUS_CODE__INVALID_ARGUMENT;
    bad.message = "ags \"1606\" is not a district key";
    bad.n_violations = 1;
    bad.violations = violations;
    len = 0;
    s_append(buf, &len, TH_WIRE_WORKER_SIG, TH_WIRE_SIG_LEN);
    s_append(buf, &len, &reply_cmd, 1);
    s_append(buf, &len, id, sizeof id);
    s_append_message(buf, &len, &bad.base);
    s_append(buf, &len, "", 0);
    rc |= s_write(dir, "worker-reply-invalid-argument", buf, len);

    const uint8_t heartbeat_cmd = TH_CMD_HEARTBEAT;
    len = 0;
    s_append(buf, &len, TH_WIRE_WORKER_SIG, TH_WIRE_SIG_LEN);
    s_append(buf, &len, &heartbeat_cmd, 1);
    rc |= s_write(dir, "worker-heartbeat", buf, len);

    /* What a worker receives: the header as the broker forwards it */
    const uint8_t request_cmd = TH_CMD_REQUEST;
    char *districts[] = {"16068"};
    th_principal_t principal = TEILHABE__RPC__V1__PRINCIPAL__INIT;
    principal.id = "manager-th-1";
    principal.name = "Erika Muster";
    principal.role = "manager";
    principal.state_scope = "16";
    principal.n_district_scope = 1;
    principal.district_scope = districts;
    th_request_header_t forwarded = TEILHABE__RPC__V1__REQUEST_HEADER__INIT;
    forwarded.call_id = 7;
    forwarded.method = "teilhabe.registry.v1.Registry/GetDistrict";
    forwarded.timeout_ms = 4990;
    forwarded.principal = &principal;
    len = 0;
    s_append(buf, &len, TH_WIRE_WORKER_SIG, TH_WIRE_SIG_LEN);
    s_append(buf, &len, &request_cmd, 1);
    s_append(buf, &len, id, sizeof id);
    s_append_message(buf, &len, &forwarded.base);
    s_append_message(buf, &len, s_fill(&teilhabe__registry__v1__get_district_request__descriptor,
                                       0, &arena));
    s_arena_free(&arena);
    rc |= s_write(dir, "worker-request", buf, len);
    return rc;
}

static int
s_requests(const char *root)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/requests", root);
    if (s_fresh_dir(dir) != 0)
        return -1;
    int rc = 0;
    size_t types = th_fuzz_request_types();
    th_fuzz_require(types <= 256, "%zu request types: one selector byte is too few", types);
    for (size_t k = 0; k < types; k++) {
        const char *service;
        const char *method;
        const ProtobufCMessageDescriptor *input = th_fuzz_request_type(k, &service, &method);
        s_block_t *arena = NULL;
        ProtobufCMessage *msg = s_fill(input, 0, &arena);
        size_t size = protobuf_c_message_get_packed_size(msg);
        uint8_t *buf = malloc(size + 1);
        th_fuzz_require(buf != NULL, "out of memory");
        buf[0] = (uint8_t) k;
        protobuf_c_message_pack(msg, buf + 1);
        char name[256];
        snprintf(name, sizeof name, "%03zu-%s.%s", k, service, method);
        rc |= s_write(dir, name, buf, size + 1);
        free(buf);
        s_arena_free(&arena);
    }
    return rc;
}

int
main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS-DIRECTORY (tests/fuzz/corpus)\n", argv[0]);
        return 1;
    }
    if (s_frames(argv[1]) != 0 || s_requests(argv[1]) != 0)
        return 1;
    printf("make_corpus: wrote %s/frames and %s/requests\n", argv[1], argv[1]);
    return 0;
}
