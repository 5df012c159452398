/* ---------------------------------------------------------------------------
 * builtin.c: the methods the broker answers itself:
 * teilhabe.health.v1.Health/Check and teilhabe.broker.v1.Broker/ListServices
 * (docs/PROTOCOL.md section 8)
 * ---------------------------------------------------------------------------
 */
#include "broker_int.h"

#include "th_error.h"
#include "th_status.h"

#include "teilhabe/v1/broker.pb-c.h"
#include "teilhabe/v1/health.pb-c.h"

#include <stdlib.h>
#include <string.h>

#define LIST_PAGE_DEFAULT 100
#define LIST_PAGE_MAX 500

void
broker__health_check(broker_t *self, zframe_t *client, uint64_t call_id, zframe_t *body)
{
    ProtobufCMessage *unpacked = NULL;
    if (th_wire_unpack(&teilhabe__health__v1__health_check_request__descriptor, body,
                       self->config.max_message_size, &unpacked) != 0) {
        broker__send_reply(
            self, client, call_id, TH_INVALID_ARGUMENT,
            "request body is not a valid teilhabe.health.v1.HealthCheckRequest", 0, NULL,
            0);
        return;
    }
    const Teilhabe__Health__V1__HealthCheckRequest *request =
        (const Teilhabe__Health__V1__HealthCheckRequest *) unpacked;
    Teilhabe__Health__V1__HealthCheckResponse response =
        TEILHABE__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    const char *name = request->service != NULL ? request->service : "";
    if (name[0] == '\0') {
        response.status = self->services_down == 0 ? HEALTH_SERVING : HEALTH_NOT_SERVING;
    } else if (strcmp(name, HEALTH_SERVICE) == 0 || strcmp(name, BROKER_SERVICE) == 0) {
        response.status = HEALTH_SERVING;
    } else {
        const service_t *service = zhashx_lookup(self->services, name);
        if (service == NULL || !service->registered)
            response.status = HEALTH_SERVICE_UNKNOWN;
        else if (zlistx_size(service->workers) == 0)
            response.status = HEALTH_NOT_SERVING;
        else
            response.status = HEALTH_SERVING;
    }
    uint8_t packed[16];
    size_t size = protobuf_c_message_pack(&response.base, packed);
    broker__send_reply(self, client, call_id, TH_OK, "", 0, packed, size);
    protobuf_c_message_free_unpacked(unpacked, NULL);
}

static int
s_compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static int
s_compare_services(const void *a, const void *b)
{
    return strcmp((*(service_t *const *) a)->name, (*(service_t *const *) b)->name);
}

/* Fills info with service's name, load and sorted methods (borrowed from
 * the service's table; *methods_p is allocated and the caller frees it).
 * 0 or TH_ENOMEM. */
static int
s_service_info(const service_t *service, Teilhabe__Broker__V1__ServiceInfo *info,
               char ***methods_p)
{
    teilhabe__broker__v1__service_info__init(info);
    info->name = service->name;
    size_t n = zhashx_size(service->methods);
    char **methods = calloc(n + 1, sizeof *methods);
    if (methods == NULL)
        return TH_ENOMEM;
    size_t m = 0;
    for (void *it = zhashx_first(service->methods); it != NULL && m < n;
         it = zhashx_next(service->methods))
        methods[m++] = (char *) zhashx_cursor(service->methods);
    qsort(methods, m, sizeof *methods, s_compare_strings);
    info->methods = methods;
    info->n_methods = m;
    for (worker_t *worker = zlistx_first(service->workers); worker != NULL;
         worker = zlistx_next(service->workers)) {
        info->workers++;
        info->capacity += worker->capacity;
        info->in_flight += worker->in_flight;
    }
    *methods_p = methods;
    return 0;
}

/* ListServices, one page at a time (AIP-158): the registered services
 * sorted by name, those after page_token, at most page_size of them and no
 * more than about max_message_size bytes (at least one service per page).
 * The token is the last name of the page before: pages stay consistent
 * while services come and go, and a token costs the broker no memory. */
void
broker__list_services(broker_t *self, zframe_t *client, uint64_t call_id, zframe_t *body)
{
    ProtobufCMessage *unpacked = NULL;
    service_t **sorted = NULL;
    Teilhabe__Broker__V1__ServiceInfo *infos = NULL;
    Teilhabe__Broker__V1__ServiceInfo **info_ptrs = NULL;
    char ***methods = NULL;
    size_t n_page = 0;
    uint8_t *packed = NULL;
    if (th_wire_unpack(&teilhabe__broker__v1__list_services_request__descriptor, body,
                       self->config.max_message_size, &unpacked) != 0) {
        broker__send_reply(
            self, client, call_id, TH_INVALID_ARGUMENT,
            "request body is not a valid teilhabe.broker.v1.ListServicesRequest", 0, NULL,
            0);
        goto cleanup;
    }
    const Teilhabe__Broker__V1__ListServicesRequest *request =
        (const Teilhabe__Broker__V1__ListServicesRequest *) unpacked;
    if (request->page_size < 0 || request->page_size > LIST_PAGE_MAX) {
        broker__send_invalid(self, client, call_id, "page_size",
                             "page_size must be 0 (the default, 100) to 500");
        goto cleanup;
    }
    const char *token = request->page_token != NULL ? request->page_token : "";
    if (token[0] != '\0' && !th_wire_service_name_valid(token)) {
        broker__send_invalid(self, client, call_id, "page_token",
                             "page_token is not one this broker gave out; start again with "
                             "an empty page_token");
        goto cleanup;
    }
    size_t page_size =
        request->page_size > 0 ? (size_t) request->page_size : LIST_PAGE_DEFAULT;

    size_t n_sorted = 0;
    sorted = calloc(zhashx_size(self->services) + 1, sizeof *sorted);
    infos = calloc(page_size, sizeof *infos);
    info_ptrs = calloc(page_size, sizeof *info_ptrs);
    methods = calloc(page_size, sizeof *methods);
    if (sorted == NULL || infos == NULL || info_ptrs == NULL || methods == NULL)
        goto out_of_memory;
    for (service_t *service = zhashx_first(self->services); service != NULL;
         service = zhashx_next(self->services))
        if (service->registered && (token[0] == '\0' || strcmp(service->name, token) > 0))
            sorted[n_sorted++] = service;
    qsort(sorted, n_sorted, sizeof *sorted, s_compare_services);
    size_t bytes = 0;
    while (n_page < n_sorted && n_page < page_size) {
        if (s_service_info(sorted[n_page], &infos[n_page], &methods[n_page]) != 0)
            goto out_of_memory;
        /* The packed size of an entry plus its tag and length prefix. */
        size_t size = protobuf_c_message_get_packed_size(&infos[n_page].base) + 8;
        if (n_page > 0 && bytes + size > self->config.max_message_size) {
            free(methods[n_page]);
            methods[n_page] = NULL;
            break;
        }
        bytes += size;
        info_ptrs[n_page] = &infos[n_page];
        n_page++;
    }
    Teilhabe__Broker__V1__ListServicesResponse response =
        TEILHABE__BROKER__V1__LIST_SERVICES_RESPONSE__INIT;
    response.n_services = n_page;
    response.services = info_ptrs;
    response.next_page_token = n_page < n_sorted ? sorted[n_page - 1]->name : (char *) "";
    size_t size = protobuf_c_message_get_packed_size(&response.base);
    packed = malloc(size + 1);
    if (packed == NULL)
        goto out_of_memory;
    protobuf_c_message_pack(&response.base, packed);
    broker__send_reply(self, client, call_id, TH_OK, "", 0, packed, size);
    goto cleanup;
out_of_memory:
    broker__send_reply(self, client, call_id, TH_RESOURCE_EXHAUSTED, "broker out of memory",
                       1000, NULL, 0);
cleanup:
    free(packed);
    for (size_t i = 0; methods != NULL && i < page_size; i++)
        free(methods[i]);
    free(methods);
    free(info_ptrs);
    free(infos);
    free(sorted);
    if (unpacked != NULL)
        protobuf_c_message_free_unpacked(unpacked, NULL);
}
