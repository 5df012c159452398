/* ---------------------------------------------------------------------------
 * cmd_core.c: `teilhabe health` and `teilhabe services`, answered by the
 * broker itself
 * ---------------------------------------------------------------------------
 */
#include "cli.h"

#include "th_status.h"

#include "teilhabe/v1/broker.pb-c.h"
#include "teilhabe/v1/health.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_HEALTH_CHECK "teilhabe.health.v1.Health/Check"
#define S_LIST_SERVICES "teilhabe.broker.v1.Broker/ListServices"
#define S_SERVICES_PAGE_MAX 500 /* ListServices page_size limit (broker.proto) */

static int
s_health(cli_t *cli, int argc, char **argv)
{
    static const th_arg_t options[] = {{"service", TH_ARG_VALUE, NULL, 0}, {NULL, 0, NULL, 0}};
    cli_args_t a;
    int rc = cli_parse(cli, "health", argc, argv, options, 0, 0, &a);
    if (rc != 0) {
        cli_args_clear(&a);
        return rc;
    }
    Teilhabe__Health__V1__HealthCheckRequest request =
        TEILHABE__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    request.service = (char *) th_config_get(a.flags, "service", "");
    th_result_t result;
    rc = cli_call(cli, S_HEALTH_CHECK, &request.base,
                      &teilhabe__health__v1__health_check_response__descriptor, NULL, &result);
    if (rc == 0) {
        const Teilhabe__Health__V1__HealthCheckResponse *response =
            (const Teilhabe__Health__V1__HealthCheckResponse *) result.response;
        const ProtobufCEnumValue *value = protobuf_c_enum_descriptor_get_value(
            &teilhabe__health__v1__health_check_response__serving_status__descriptor,
            response->status);
        const char *name = value != NULL ? value->name : "UNKNOWN";
        if (cli->format == TH_FORMAT_TABLE)
            printf("%s\n", name);
        else
            rc = cli_print_one(cli, result.response);
        if (rc == 0 && response->status != TEILHABE__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING) {
            if (response->status ==
                TEILHABE__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN) {
                fprintf(stderr, "hint: no service named \"%s\" has registered with the broker; "
                                "\"teilhabe services\" lists those that have\n",
                        request.service);
                rc = th_status_exit_code(TH_NOT_FOUND);
            } else {
                fprintf(stderr, "hint: the broker runs, but %s has no live worker: start the "
                                "services (./ops/up) and check their logs\n",
                        request.service[0] != '\0' ? request.service : "some service");
                rc = th_status_exit_code(TH_UNAVAILABLE);
            }
        }
    }
    th_result_clear(&result);
    cli_args_clear(&a);
    return rc;
}

/* The broker lists its services in pages (of its default size, 100); the
 * output is one table of all of them, so every page is fetched. */
static int
s_services(cli_t *cli, int argc, char **argv)
{
    static const th_arg_t options[] = {{NULL, 0, NULL, 0}};
    cli_args_t a;
    int rc = cli_parse(cli, "services", argc, argv, options, 0, 0, &a);
    cli_args_clear(&a);
    if (rc != 0)
        return rc;
    Teilhabe__Broker__V1__ListServicesRequest request =
        TEILHABE__BROKER__V1__LIST_SERVICES_REQUEST__INIT;
    cli_pages_t all = {0};
    rc = cli_fetch_all(cli, S_LIST_SERVICES, &request.base, S_SERVICES_PAGE_MAX,
                       &teilhabe__broker__v1__list_services_response__descriptor, "services",
                       &all);
    if (rc == 0)
        rc = cli_print_list(cli, &teilhabe__broker__v1__service_info__descriptor, all.items,
                            all.n_items, NULL);
    cli_pages_clear(&all);
    return rc;
}

const cli_command_t cli_core_commands[] = {
    {"network", "health",
     "is the network serving? [--service NAME] (exit 0 only when SERVING)", s_health},
    {"network", "services",
     "live services, methods, load (workers: one per handler thread)",
     s_services},
    {NULL, NULL, NULL, NULL},
};
