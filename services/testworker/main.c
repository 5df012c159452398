/* ---------------------------------------------------------------------------
 * teilhabe-testworker: serves teilhabe.testing.v1.Echo through the broker.
 *
 * Used by the integration tests and ops/bench, never in production. Echo
 * answers with what it got plus what the runtime told it (the principal the
 * broker authenticated, the idempotency key, the remaining time) and the
 * instance name, so tests can see which worker served a call; fail_code > 0
 * answers that status instead. Sleep sleeps sleep_ms first.
 *
 * Given a key to call other services with (frontend_endpoint, client_cert:
 * a key of role service), it also serves teilhabe.testing.v1.Relay, whose
 * methods call the registry from inside the handler (th_call_invoke) and
 * answer with its reply: the test of calls between services.
 *
 *   teilhabe-testworker [--config FILE] [--broker-endpoint tcp://127.0.0.1:5556]
 *       [--broker-public-key Z85 | --broker-cert-public FILE] [--cert FILE]
 *       [--frontend-endpoint tcp://127.0.0.1:5555 --client-cert FILE]
 *       [--insecure true] [--capacity 4] [--heartbeat-ms 1000] [--liveness 3]
 *       [--max-message-size 1048576] [--instance NAME] [--log-level info]
 * ---------------------------------------------------------------------------
 */
#include "th_config.h"
#include "th_error.h"
#include "th_log.h"
#include "th_status.h"
#include "th_worker.h"

#include "teilhabe/v1/registry.pb-c.h"
#include "teilhabe/v1/testing.pb-c.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *instance;
} s_echo_state_t;

static int
s_answer(th_call_t *call, const Teilhabe__Testing__V1__EchoRequest *request,
         ProtobufCMessage **response)
{
    if (request->fail_code > 0) {
        if (request->fail_code > TH_STATUS_MAX)
            return th_call_error(call, TH_INVALID_ARGUMENT,
                                 "fail_code %d is not a status code (1-%d)",
                                 (int) request->fail_code, TH_STATUS_MAX);
        th_call_violation(call, "fail_code", "asked for %s", th_status_name(request->fail_code));
        return th_call_error(call, request->fail_code, "failing with %s as asked",
                             th_status_name(request->fail_code));
    }
    const s_echo_state_t *state = th_call_state(call);
    Teilhabe__Testing__V1__EchoResponse *reply = th_call_alloc(call, sizeof *reply);
    teilhabe__testing__v1__echo_response__init(reply);
    reply->text = th_call_strdup(call, request->text);
    reply->payload = request->payload; /* packed before the request is freed */
    reply->principal = (Teilhabe__Rpc__V1__Principal *) th_call_principal(call);
    reply->instance = th_call_strdup(call, state->instance);
    reply->idempotency_key = th_call_strdup(call, th_call_idempotency_key(call));
    reply->on_behalf_of = th_call_strdup(call, th_call_on_behalf_of(call));
    int64_t remaining = th_call_remaining_ms(call);
    reply->timeout_ms = remaining > 0 ? (uint32_t) remaining : 0;
    *response = &reply->base;
    return TH_OK;
}

static int
s_echo(th_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **response)
{
    return s_answer(call, (const Teilhabe__Testing__V1__EchoRequest *) request, response);
}

static int
s_sleep(th_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **response)
{
    const Teilhabe__Testing__V1__EchoRequest *echo =
        (const Teilhabe__Testing__V1__EchoRequest *) request;
    /* At most a minute, so a careless test cannot park a thread for days */
    uint32_t ms = echo->sleep_ms > 60000 ? 60000 : echo->sleep_ms;
    zclock_sleep((int) ms);
    return s_answer(call, echo, response);
}

/* Relay: the same request to the registry, its reply as ours (the result
 * belongs to the call, so the runtime packs the reply before freeing it) */
static int
s_relay(th_call_t *call, const char *method, const ProtobufCMessage *request,
        const ProtobufCMessageDescriptor *response_desc, ProtobufCMessage **response)
{
    const th_result_t *result = NULL;
    int rc = th_call_invoke(call, method, request, response_desc, &result);
    if (rc != TH_OK)
        return rc;
    *response = result->response;
    return TH_OK;
}

static int
s_relay_get_district(th_call_t *call, const ProtobufCMessage *request,
                     ProtobufCMessage **response)
{
    return s_relay(call, "teilhabe.registry.v1.Registry/GetDistrict", request,
                   &teilhabe__registry__v1__district__descriptor, response);
}

static int
s_relay_set_concept(th_call_t *call, const ProtobufCMessage *request,
                    ProtobufCMessage **response)
{
    return s_relay(call, "teilhabe.registry.v1.Registry/SetConcept", request,
                   &teilhabe__registry__v1__concept__descriptor, response);
}

/* file < environment < flags, the file named by --config or TEILHABE_CONFIG */
static th_config_t *
s_load_config(int argc, char **argv)
{
    char errbuf[512];
    th_config_t *flags = th_config_new();
    th_config_t *config = th_config_new();
    if (flags == NULL || config == NULL)
        goto failed;
    int first_arg = 0;
    if (th_config_load_args(flags, argc, argv, NULL, &first_arg, errbuf, sizeof errbuf) != 0) {
        fprintf(stderr, "teilhabe-testworker: %s\n", errbuf);
        goto failed;
    }
    if (first_arg < argc) {
        fprintf(stderr, "teilhabe-testworker: unexpected argument \"%s\"\n", argv[first_arg]);
        goto failed;
    }
    if (th_config_load_layers(config, flags, errbuf, sizeof errbuf) != 0) {
        fprintf(stderr, "teilhabe-testworker: %s\n", errbuf);
        goto failed;
    }
    th_config_destroy(&flags);
    return config;
failed:
    th_config_destroy(&flags);
    th_config_destroy(&config);
    return NULL;
}

int
main(int argc, char **argv)
{
    int rc = 1;
    char errbuf[512];
    char broker_key[41] = "";
    th_worker_t *worker = NULL;
    th_config_t *config = s_load_config(argc, argv);
    if (config == NULL)
        return 2;

    th_log_level_t level = TH_LOG_INFO;
    if (th_log_level_parse(th_config_get(config, "log_level", "info"), &level) != 0) {
        fprintf(stderr, "teilhabe-testworker: log_level must be debug, info, warn or error\n");
        rc = 2;
        goto cleanup;
    }
    th_log_init("testworker", level);

    long capacity, heartbeat_ms, liveness, max_message_size;
    bool insecure;
    if (th_config_get_long(config, "capacity", 4, 1, 256, &capacity) != 0 ||
        th_config_get_long(config, "heartbeat_ms", 1000, 10, 60000, &heartbeat_ms) != 0 ||
        th_config_get_long(config, "liveness", 3, 1, 100, &liveness) != 0 ||
        th_config_get_long(config, "max_message_size", TH_WIRE_SOFT_MAX_DEFAULT, 1024,
                           TH_WIRE_HARD_MAX_DEFAULT, &max_message_size) != 0 ||
        th_config_get_bool(config, "insecure", false, &insecure) != 0) {
        th_log_error(0, "invalid configuration: capacity (1-256), heartbeat_ms (10-60000), "
                        "liveness (1-100), max_message_size (1024-16777216) must be numbers "
                        "and insecure a boolean",
                     NULL);
        rc = 2;
        goto cleanup;
    }

    const char *key = th_config_get(config, "broker_public_key", NULL);
    const char *key_file = th_config_get(config, "broker_cert_public", NULL);
    if ((key == NULL || key[0] == '\0') && key_file != NULL && key_file[0] != '\0') {
        zcert_t *cert = zcert_load(key_file);
        if (cert == NULL) {
            th_log_error(0, "could not load the broker's public certificate", "path=\"%s\"",
                         key_file);
            goto cleanup;
        }
        snprintf(broker_key, sizeof broker_key, "%s", zcert_public_txt(cert));
        zcert_destroy(&cert);
        key = broker_key;
    }
    if (key == NULL || key[0] == '\0') {
        if (!insecure) {
            th_log_error(0, "no broker key: set broker_public_key or broker_cert_public (and "
                            "cert), or insecure = true for a local experiment",
                         NULL);
            rc = 2;
            goto cleanup;
        }
        th_log_warn(0, "INSECURE: talking to the broker without CURVE; anyone on the "
                       "network can read and forge these calls",
                    NULL);
        key = NULL;
    }

    const char *instance = th_config_get(config, "instance", NULL);
    const char *frontend = th_config_get(config, "frontend_endpoint", NULL);
    th_worker_config_t worker_config = {
        .broker_endpoint = th_config_get(config, "broker_endpoint", "tcp://127.0.0.1:5556"),
        .broker_public_key = key,
        .cert_path = th_config_get(config, "cert", NULL),
        .db_url = NULL,
        .capacity = (int) capacity,
        .heartbeat_ms = (int) heartbeat_ms,
        .liveness = (int) liveness,
        .max_message_size = (size_t) max_message_size,
        .instance = instance,
        .frontend_endpoint = frontend,
        .client_cert_path = th_config_get(config, "client_cert", NULL),
    };
    worker = th_worker_new(&worker_config, errbuf, sizeof errbuf);
    if (worker == NULL) {
        th_log_error(0, "could not start the test worker", "error=\"%s\"", errbuf);
        goto cleanup;
    }
    char pid_name[64];
    snprintf(pid_name, sizeof pid_name, "testworker-%d", (int) getpid());
    s_echo_state_t state = {.instance = instance != NULL ? instance : pid_name};
    static const th_method_fn handlers[] = {s_echo, s_sleep};
    _Static_assert(sizeof handlers / sizeof handlers[0] == 2, "Echo has two methods");
    if (th_worker_add_service(worker, &teilhabe__testing__v1__echo__descriptor, handlers,
                              &state) != 0) {
        th_log_error(0, "could not register the Echo service", NULL);
        goto cleanup;
    }
    if (frontend != NULL && frontend[0] != '\0') {
        static const th_method_fn relay[] = {s_relay_get_district, s_relay_set_concept};
        _Static_assert(sizeof relay / sizeof relay[0] == 2, "Relay has two methods");
        if (th_worker_add_service(worker, &teilhabe__testing__v1__relay__descriptor, relay,
                                  &state) != 0) {
            th_log_error(0, "could not register the Relay service", NULL);
            goto cleanup;
        }
    }
    rc = th_worker_run(worker) == 0 ? 0 : 1;

cleanup:
    th_worker_destroy(&worker);
    th_config_destroy(&config);
    return rc;
}
