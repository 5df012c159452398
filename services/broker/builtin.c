/* ---------------------------------------------------------------------------
 * builtin.c: the methods the broker answers itself:
 * teilhabe.health.v1.Health/Check and teilhabe.broker.v1.Broker/ListServices
 * (docs/PROTOCOL.md section 8)
 * ---------------------------------------------------------------------------
 */
#include "broker_int.h"

#include "th_status.h"

#include "teilhabe/v1/broker.pb-c.h"
#include "teilhabe/v1/health.pb-c.h"

#include <stdlib.h>
#include <string.h>

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
s_compare_infos(const void *a, const void *b)
{
    const Teilhabe__Broker__V1__ServiceInfo *ia =
        *(Teilhabe__Broker__V1__ServiceInfo *const *) a;
    const Teilhabe__Broker__V1__ServiceInfo *ib =
        *(Teilhabe__Broker__V1__ServiceInfo *const *) b;
    return strcmp(ia->name, ib->name);
}

void
broker__list_services(broker_t *self, zframe_t *client, uint64_t call_id, zframe_t *body)
{
    ProtobufCMessage *unpacked = NULL;
    Teilhabe__Broker__V1__ServiceInfo *infos = NULL;
    Teilhabe__Broker__V1__ServiceInfo **info_ptrs = NULL;
    char **methods = NULL;
    uint8_t *packed = NULL;
    if (th_wire_unpack(&teilhabe__broker__v1__list_services_request__descriptor, body,
                       self->config.max_message_size, &unpacked) != 0) {
        broker__send_reply(
            self, client, call_id, TH_INVALID_ARGUMENT,
            "request body is not a valid teilhabe.broker.v1.ListServicesRequest", 0, NULL,
            0);
        goto cleanup;
    }
    size_t n_services = 0;
    size_t n_methods = 0;
    for (service_t *service = zhashx_first(self->services); service != NULL;
         service = zhashx_next(self->services))
        if (service->registered) {
            n_services++;
            n_methods += zhashx_size(service->methods);
        }
    infos = calloc(n_services + 1, sizeof *infos);
    info_ptrs = calloc(n_services + 1, sizeof *info_ptrs);
    methods = calloc(n_methods + 1, sizeof *methods);
    if (infos == NULL || info_ptrs == NULL || methods == NULL) {
        broker__send_reply(self, client, call_id, TH_RESOURCE_EXHAUSTED,
                           "broker out of memory", 1000, NULL, 0);
        goto cleanup;
    }
    size_t s = 0;
    size_t m = 0;
    for (service_t *service = zhashx_first(self->services); service != NULL;
         service = zhashx_next(self->services)) {
        if (!service->registered)
            continue;
        Teilhabe__Broker__V1__ServiceInfo *info = &infos[s];
        teilhabe__broker__v1__service_info__init(info);
        info->name = service->name;
        info->methods = &methods[m];
        for (void *it = zhashx_first(service->methods); it != NULL;
             it = zhashx_next(service->methods))
            methods[m++] = (char *) zhashx_cursor(service->methods);
        info->n_methods = (size_t) (&methods[m] - info->methods);
        qsort(info->methods, info->n_methods, sizeof *info->methods, s_compare_strings);
        for (worker_t *worker = zlistx_first(service->workers); worker != NULL;
             worker = zlistx_next(service->workers)) {
            info->workers++;
            info->capacity += worker->capacity;
            info->in_flight += worker->in_flight;
        }
        info_ptrs[s] = info;
        s++;
    }
    qsort(info_ptrs, n_services, sizeof *info_ptrs, s_compare_infos);
    Teilhabe__Broker__V1__ListServicesResponse response =
        TEILHABE__BROKER__V1__LIST_SERVICES_RESPONSE__INIT;
    response.n_services = n_services;
    response.services = info_ptrs;
    size_t size = protobuf_c_message_get_packed_size(&response.base);
    packed = malloc(size + 1);
    if (packed == NULL) {
        broker__send_reply(self, client, call_id, TH_RESOURCE_EXHAUSTED,
                           "broker out of memory", 1000, NULL, 0);
        goto cleanup;
    }
    protobuf_c_message_pack(&response.base, packed);
    broker__send_reply(self, client, call_id, TH_OK, "", 0, packed, size);
cleanup:
    free(packed);
    free(methods);
    free(info_ptrs);
    free(infos);
    if (unpacked != NULL)
        protobuf_c_message_free_unpacked(unpacked, NULL);
}
