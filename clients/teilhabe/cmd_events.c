/* ---------------------------------------------------------------------------
 * cmd_events.c: `teilhabe events`: a service's outbox, every page of it
 *
 * Events are read after a sequence (the consumer's checkpoint), page by
 * page, until a page comes back short: then the caller has caught up.
 * --limit caps how many are printed in all.
 * ---------------------------------------------------------------------------
 */
#include "cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "teilhabe/v1/events.pb-c.h"

#define S_METHOD(name) "teilhabe.registry.v1.Registry/" name
#define S_PAGE_MAX 1000

static const char *const s_event_columns[] = {"sequence", "topic", "resource",
                                              "create_time", "payload_type", NULL};

static int
s_events(cli_t *cli, int argc, char **argv)
{
    static const char who[] = "events";
    static const th_arg_t options[] = {{"after", TH_ARG_VALUE, NULL, 0},
                                       {"limit", TH_ARG_VALUE, NULL, 0},
                                       {NULL, 0, NULL, 0}};
    cli_args_t a;
    cli_pages_t pages = {0};
    int64_t after = 0, limit = 0;
    int rc = cli_parse(cli, who, argc, argv, options, 0, 0, &a);
    if (rc != 0)
        goto cleanup;
    if ((cli_flag(&a, "after") != NULL &&
         (rc = cli_int(cli, who, "after", cli_flag(&a, "after"), 0, INT64_MAX, &after)) != 0) ||
        (cli_flag(&a, "limit") != NULL &&
         (rc = cli_int(cli, who, "limit", cli_flag(&a, "limit"), 1, INT64_MAX, &limit)) != 0))
        goto cleanup;
    const int page_size = cli->page_size > 0 && cli->page_size < S_PAGE_MAX ? cli->page_size
                                                                            : S_PAGE_MAX;
    for (;;) {
        Teilhabe__Events__V1__ListEventsRequest req =
            TEILHABE__EVENTS__V1__LIST_EVENTS_REQUEST__INIT;
        req.after_sequence = after;
        int64_t want = page_size;
        if (limit > 0 && limit - (int64_t) pages.n_items < want)
            want = limit - (int64_t) pages.n_items;
        req.limit = (int32_t) want;
        th_result_t page;
        rc = cli_call(cli, S_METHOD("ListEvents"), &req.base,
                      &teilhabe__events__v1__list_events_response__descriptor, NULL, &page);
        if (rc != 0) {
            th_result_clear(&page);
            break;
        }
        const Teilhabe__Events__V1__ListEventsResponse *resp = (const void *) page.response;
        const size_t got = resp->n_events;
        const int64_t last = resp->last_sequence;
        if ((rc = cli_pages_add(&pages, &page, "events")) != 0) {
            th_result_clear(&page);
            break;
        }
        /* A short page: caught up. A service that does not move on would
         * have us ask forever: stop. */
        if (got < (size_t) want || last <= after ||
            (limit > 0 && (int64_t) pages.n_items >= limit))
            break;
        after = last;
    }
    if (rc == 0)
        rc = cli_print_list(cli, &teilhabe__events__v1__event__descriptor, pages.items,
                            pages.n_items, s_event_columns);
cleanup:
    cli_pages_clear(&pages);
    cli_args_clear(&a);
    return rc;
}

const cli_command_t cli_events_commands[] = {
    {"registry", "events", "the registry's change events, every page [--after SEQ] [--limit N]",
     s_events},
    {NULL, NULL, NULL, NULL},
};
