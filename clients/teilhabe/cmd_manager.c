/* ---------------------------------------------------------------------------
 * cmd_manager.c: `teilhabe manager add|update|show|assign|unassign|list`
 * ---------------------------------------------------------------------------
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#include "teilhabe/v1/registry.pb-c.h"
#include "th_status.h"

#define S_METHOD(name) "teilhabe.registry.v1.Registry/" name
#define S_PAGE_MAX 500

static const th_arg_t s_no_options[] = {{NULL, 0, NULL, 0}};

/* The columns a person needs (--wide: all, with the assignments). */
static const char *const s_manager_columns[] = {
    "id", "state_code", "name", "email", "organisation", "funding_programme", "version", NULL};

static const struct {
    const char *flag;
    const char *field;
} s_manager_flags[] = {
    {"name", "name"},
    {"email", "email"},
    {"phone", "phone"},
    {"organisation", "organisation"},
    {"programme", "funding_programme"},
    {"principal", "principal_id"},
};

/* Sets the fields of m named by the flags given; their names into mask. */
static size_t
s_manager_fields(const cli_args_t *a, Teilhabe__Registry__V1__Manager *m, char **mask)
{
    size_t n = 0;
    for (size_t i = 0; i < sizeof s_manager_flags / sizeof s_manager_flags[0]; i++) {
        const char *v = cli_flag(a, s_manager_flags[i].flag);
        if (v == NULL)
            continue;
        const char *field = s_manager_flags[i].field;
        if (strcmp(field, "name") == 0)
            m->name = (char *) v;
        else if (strcmp(field, "email") == 0)
            m->email = (char *) v;
        else if (strcmp(field, "phone") == 0)
            m->phone = (char *) v;
        else if (strcmp(field, "organisation") == 0)
            m->organisation = (char *) v;
        else if (strcmp(field, "funding_programme") == 0)
            m->funding_programme = (char *) v;
        else
            m->principal_id = (char *) v;
        mask[n++] = (char *) field;
    }
    return n;
}

static int
s_manager_add(cli_t *cli, int argc, char **argv)
{
    static const th_arg_t options[] = {
        {"state", TH_ARG_VALUE, NULL, 0},
        {"name", TH_ARG_VALUE, NULL, 0},
        {"email", TH_ARG_VALUE, NULL, 0},
        {"phone", TH_ARG_VALUE, NULL, 0},
        {"organisation", TH_ARG_VALUE, NULL, 0},
        {"programme", TH_ARG_VALUE, NULL, 0},
        {"principal", TH_ARG_VALUE, NULL, 0},
        {NULL, 0, NULL, 0}};
    cli_args_t a;
    int rc = cli_parse(cli, "manager add", argc, argv, options, 0, 0, &a);
    if (rc != 0) {
        cli_args_clear(&a);
        return rc;
    }
    Teilhabe__Registry__V1__CreateManagerRequest req =
        TEILHABE__REGISTRY__V1__CREATE_MANAGER_REQUEST__INIT;
    Teilhabe__Registry__V1__Manager m = TEILHABE__REGISTRY__V1__MANAGER__INIT;
    char *mask[8];
    s_manager_fields(&a, &m, mask);
    m.state_code = (char *) th_config_get(a.flags, "state", "");
    req.manager = &m;
    th_result_t r;
    rc = cli_call(cli, S_METHOD("CreateManager"), &req.base,
                  &teilhabe__registry__v1__manager__descriptor, NULL, &r);
    if (rc == 0)
        rc = cli_print_one(cli, r.response);
    th_result_clear(&r);
    cli_args_clear(&a);
    return rc;
}

static int
s_manager_update(cli_t *cli, int argc, char **argv)
{
    static const th_arg_t options[] = {
        {"name", TH_ARG_VALUE, NULL, 0},
        {"email", TH_ARG_VALUE, NULL, 0},
        {"phone", TH_ARG_VALUE, NULL, 0},
        {"organisation", TH_ARG_VALUE, NULL, 0},
        {"programme", TH_ARG_VALUE, NULL, 0},
        {"principal", TH_ARG_VALUE, NULL, 0},
        {"version", TH_ARG_VALUE, NULL, 0},
        {NULL, 0, NULL, 0}};
    cli_args_t a;
    int rc = cli_parse(cli, "manager update", argc, argv, options, 1, 1, &a);
    if (rc != 0) {
        cli_args_clear(&a);
        return rc;
    }
    Teilhabe__Registry__V1__UpdateManagerRequest req =
        TEILHABE__REGISTRY__V1__UPDATE_MANAGER_REQUEST__INIT;
    Teilhabe__Registry__V1__Manager m = TEILHABE__REGISTRY__V1__MANAGER__INIT;
    char *mask[8];
    th_result_t current;
    memset(&current, 0, sizeof current);
    req.n_update_mask = s_manager_fields(&a, &m, mask);
    if (req.n_update_mask == 0) {
        cli_args_clear(&a);
        return cli_usage_error(cli, "manager update: name at least one of --name, --email, "
                                    "--phone, --organisation, --programme, --principal");
    }
    req.update_mask = mask;
    m.id = a.pos[0];
    req.manager = &m;
    const char *version = cli_flag(&a, "version");
    if (version != NULL) {
        int64_t v = 0;
        if ((rc = cli_int(cli, "manager update", "version", version, 1, INT64_MAX,
                              &v)) != 0)
            goto cleanup;
        req.version = v;
    } else {
        Teilhabe__Registry__V1__GetManagerRequest get =
            TEILHABE__REGISTRY__V1__GET_MANAGER_REQUEST__INIT;
        get.id = m.id;
        if ((rc = cli_call(cli, S_METHOD("GetManager"), &get.base,
                           &teilhabe__registry__v1__manager__descriptor, NULL, &current)) !=
            0)
            goto cleanup;
        req.version = ((const Teilhabe__Registry__V1__Manager *) current.response)->version;
    }
    th_result_t r;
    rc = cli_call(cli, S_METHOD("UpdateManager"), &req.base,
                  &teilhabe__registry__v1__manager__descriptor, NULL, &r);
    if (rc == 0)
        rc = cli_print_one(cli, r.response);
    th_result_clear(&r);
cleanup:
    th_result_clear(&current);
    cli_args_clear(&a);
    return rc;
}

static int
s_manager_show(cli_t *cli, int argc, char **argv)
{
    cli_args_t a;
    int rc = cli_parse(cli, "manager show", argc, argv, s_no_options, 1, 1, &a);
    if (rc != 0) {
        cli_args_clear(&a);
        return rc;
    }
    Teilhabe__Registry__V1__GetManagerRequest req =
        TEILHABE__REGISTRY__V1__GET_MANAGER_REQUEST__INIT;
    req.id = a.pos[0];
    th_result_t r;
    rc = cli_call(cli, S_METHOD("GetManager"), &req.base,
                  &teilhabe__registry__v1__manager__descriptor, NULL, &r);
    if (rc == 0) {
        const Teilhabe__Registry__V1__Manager *m = (const void *) r.response;
        if (cli->format == TH_FORMAT_TABLE) {
            rc = cli_print_one(cli, r.response);
            printf("\n");
            if (rc == 0)
                rc = cli_print_list(cli, &teilhabe__registry__v1__assignment__descriptor,
                                    (const ProtobufCMessage *const *) m->assignments,
                                    m->n_assignments, NULL);
        } else {
            rc = cli_print_one(cli, r.response);
        }
    }
    th_result_clear(&r);
    cli_args_clear(&a);
    return rc;
}

static int
s_manager_assign(cli_t *cli, int argc, char **argv)
{
    static const th_arg_t options[] = {
        {"from", TH_ARG_VALUE, NULL, 0},
        {"to", TH_ARG_VALUE, NULL, 0},
        {NULL, 0, NULL, 0}};
    cli_args_t a;
    int rc = cli_parse(cli, "manager assign", argc, argv, options, 2, 2, &a);
    if (rc != 0) {
        cli_args_clear(&a);
        return rc;
    }
    Teilhabe__Registry__V1__AssignManagerRequest req =
        TEILHABE__REGISTRY__V1__ASSIGN_MANAGER_REQUEST__INIT;
    req.manager_id = a.pos[0];
    req.ags = a.pos[1];
    req.valid_from = (char *) th_config_get(a.flags, "from", "");
    req.valid_to = (char *) th_config_get(a.flags, "to", "");
    if (req.valid_from[0] == '\0') {
        cli_args_clear(&a);
        return cli_usage_error(cli, "manager assign: --from DATE is required");
    }
    th_result_t r;
    rc = cli_call(cli, S_METHOD("AssignManager"), &req.base,
                  &teilhabe__registry__v1__assignment__descriptor, NULL, &r);
    if (rc == 0)
        rc = cli_print_one(cli, r.response);
    th_result_clear(&r);
    cli_args_clear(&a);
    return rc;
}

static int
s_manager_unassign(cli_t *cli, int argc, char **argv)
{
    static const th_arg_t options[] = {
        {"end", TH_ARG_VALUE, NULL, 0},
        {NULL, 0, NULL, 0}};
    cli_args_t a;
    int rc = cli_parse(cli, "manager unassign", argc, argv, options, 2, 2, &a);
    if (rc != 0) {
        cli_args_clear(&a);
        return rc;
    }
    Teilhabe__Registry__V1__UnassignManagerRequest req =
        TEILHABE__REGISTRY__V1__UNASSIGN_MANAGER_REQUEST__INIT;
    req.manager_id = a.pos[0];
    req.ags = a.pos[1];
    req.end_date = (char *) th_config_get(a.flags, "end", "");
    th_result_t r;
    rc = cli_call(cli, S_METHOD("UnassignManager"), &req.base,
                  &teilhabe__registry__v1__assignment__descriptor, NULL, &r);
    if (rc == 0)
        rc = cli_print_one(cli, r.response);
    th_result_clear(&r);
    cli_args_clear(&a);
    return rc;
}

static int
s_manager_list(cli_t *cli, int argc, char **argv)
{
    static const th_arg_t options[] = {
        {"state", TH_ARG_VALUE, NULL, 0},
        {"district", TH_ARG_VALUE, NULL, 0},
        {"as-of", TH_ARG_VALUE, NULL, 0},
        {NULL, 0, NULL, 0}};
    cli_args_t a;
    cli_pages_t pages = {0};
    int rc = cli_parse(cli, "manager list", argc, argv, options, 0, 0, &a);
    if (rc == 0) {
        Teilhabe__Registry__V1__ListManagersRequest req =
            TEILHABE__REGISTRY__V1__LIST_MANAGERS_REQUEST__INIT;
        req.state_code = (char *) th_config_get(a.flags, "state", "");
        req.ags = (char *) th_config_get(a.flags, "district", "");
        req.as_of = (char *) th_config_get(a.flags, "as_of", "");
        rc = cli_fetch_all(cli, S_METHOD("ListManagers"), &req.base, S_PAGE_MAX,
                           &teilhabe__registry__v1__list_managers_response__descriptor,
                           "managers", &pages);
        if (rc == 0)
            rc = cli_print_list(cli, &teilhabe__registry__v1__manager__descriptor, pages.items,
                                pages.n_items, s_manager_columns);
    }
    cli_pages_clear(&pages);
    cli_args_clear(&a);
    return rc;
}

static int
s_manager(cli_t *cli, int argc, char **argv)
{
    const char *action = argc > 1 ? argv[1] : "";
    if (strcmp(action, "add") == 0)
        return s_manager_add(cli, argc - 1, argv + 1);
    if (strcmp(action, "update") == 0)
        return s_manager_update(cli, argc - 1, argv + 1);
    if (strcmp(action, "show") == 0)
        return s_manager_show(cli, argc - 1, argv + 1);
    if (strcmp(action, "assign") == 0)
        return s_manager_assign(cli, argc - 1, argv + 1);
    if (strcmp(action, "unassign") == 0)
        return s_manager_unassign(cli, argc - 1, argv + 1);
    if (strcmp(action, "list") == 0)
        return s_manager_list(cli, argc - 1, argv + 1);
    return cli_usage_error(cli,
                           "manager: say add --state CODE --name N [--email E] [--phone P] "
                           "[--organisation O] [--programme P] [--principal ID], update ID "
                           "[flags of add] [--version V], show ID, assign ID AGS --from "
                           "DATE [--to DATE], unassign ID AGS [--end DATE] or list "
                           "[--state CODE] [--district AGS] [--as-of DATE]");
}

const cli_command_t cli_manager_commands[] = {
    {"registry", "manager",
     "add | update ID | show ID | assign ID AGS | unassign ID AGS | list", s_manager},
    {NULL, NULL, NULL, NULL},
};
