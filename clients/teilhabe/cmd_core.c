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
#define S_SERVICES_PAGES_MAX 10000 /* a broker that sends more is broken */

static int
s_health(cli_t *cli, int argc, char **argv)
{
    static const char *const allowed[] = {"service", NULL};
    int first_arg = 0;
    th_config_t *flags = cli_parse_flags(cli, argc, argv, allowed, NULL, &first_arg);
    if (flags == NULL)
        return CLI_EXIT_USAGE;
    if (first_arg < argc) {
        th_config_destroy(&flags);
        return cli_usage_error(cli, "health: unexpected argument \"%s\"", argv[first_arg]);
    }
    Teilhabe__Health__V1__HealthCheckRequest request =
        TEILHABE__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    request.service = (char *) th_config_get(flags, "service", "");
    th_result_t result;
    int rc = cli_call(cli, S_HEALTH_CHECK, &request.base,
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
    th_config_destroy(&flags);
    return rc;
}

/* The broker lists its services in pages (of its default size, 100); the
 * output is one table of all of them, so every page is fetched. */
static int
s_services(cli_t *cli, int argc, char **argv)
{
    int first_arg = 0;
    th_config_t *flags = cli_parse_flags(cli, argc, argv, NULL, NULL, &first_arg);
    if (flags == NULL)
        return CLI_EXIT_USAGE;
    th_config_destroy(&flags);
    if (first_arg < argc)
        return cli_usage_error(cli, "services: unexpected argument \"%s\"", argv[first_arg]);
    Teilhabe__Broker__V1__ListServicesRequest request =
        TEILHABE__BROKER__V1__LIST_SERVICES_REQUEST__INIT;
    int rc = 0;
    th_result_t *pages = NULL;
    size_t n_pages = 0;
    const Teilhabe__Broker__V1__ServiceInfo **all = NULL;
    size_t n_all = 0;
    const char *token = "";
    while (true) {
        if (n_pages == S_SERVICES_PAGES_MAX) {
            fprintf(stderr, "%s: services: the broker sent more than %d pages; giving up\n",
                    cli->prog, S_SERVICES_PAGES_MAX);
            rc = CLI_EXIT_LOCAL;
            break;
        }
        th_result_t *grown = realloc(pages, (n_pages + 1) * sizeof *pages);
        if (grown == NULL) {
            rc = CLI_EXIT_LOCAL;
            break;
        }
        pages = grown;
        request.page_token = (char *) token;
        rc = cli_call(cli, S_LIST_SERVICES, &request.base,
                      &teilhabe__broker__v1__list_services_response__descriptor, NULL,
                      &pages[n_pages]);
        if (rc != 0) {
            th_result_clear(&pages[n_pages]);
            break;
        }
        const Teilhabe__Broker__V1__ListServicesResponse *response =
            (const Teilhabe__Broker__V1__ListServicesResponse *) pages[n_pages++].response;
        const Teilhabe__Broker__V1__ServiceInfo **more =
            realloc(all, (n_all + response->n_services + 1) * sizeof *all);
        if (more == NULL) {
            rc = CLI_EXIT_LOCAL;
            break;
        }
        all = more;
        for (size_t i = 0; i < response->n_services; i++)
            all[n_all++] = response->services[i];
        /* A token that does not move on would loop for ever. */
        if (response->next_page_token[0] == '\0' || response->n_services == 0 ||
            strcmp(response->next_page_token, token) == 0)
            break;
        token = response->next_page_token;
    }
    if (rc == 0)
        rc = cli_print_list(cli, &teilhabe__broker__v1__service_info__descriptor,
                            (const ProtobufCMessage *const *) all, n_all);
    free(all);
    for (size_t i = 0; i < n_pages; i++)
        th_result_clear(&pages[i]);
    free(pages);
    return rc;
}

const cli_command_t cli_core_commands[] = {
    {"network", "health",
     "is the network serving? [--service NAME] (exit 0 only when SERVING)", s_health},
    {"network", "services", "list the services with live workers, their methods and load",
     s_services},
    {NULL, NULL, NULL, NULL},
};
