/* ---------------------------------------------------------------------------
 * cmd_concept.c: `teilhabe concept set|show|list|history`
 * ---------------------------------------------------------------------------
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#include "teilhabe/v1/fields.pb-c.h"
#include "teilhabe/v1/registry.pb-c.h"
#include "th_status.h"

#define S_METHOD(name) "teilhabe.registry.v1.Registry/" name
#define S_PAGE_MAX 500
#define S_FIELDS_MAX 16

static const char *const s_concept_columns[] = {
    "ags", "title", "adopted_on", "last_updated_on", "orientation", "fields", "version", NULL};

/* Fills fields from "work_and_training,language". 0 or a usage error. */
static int
s_parse_fields(cli_t *cli, const char *text, Teilhabe__Common__V1__FieldOfAction *fields,
               size_t max, size_t *n, char *copy, size_t copylen)
{
    snprintf(copy, copylen, "%s", text);
    *n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ", ", &save); tok != NULL;
         tok = strtok_r(NULL, ", ", &save)) {
        int v = 0;
        const int rc = cli_enum(cli, "concept set", "fields",
                                &teilhabe__common__v1__field_of_action__descriptor, tok, &v);
        if (rc != 0)
            return rc;
        if (*n >= max)
            return cli_usage_error(cli, "concept set: at most %zu fields", max);
        fields[(*n)++] = (Teilhabe__Common__V1__FieldOfAction) v;
    }
    return 0;
}

static int
s_concept_set(cli_t *cli, int argc, char **argv)
{
    static const char who[] = "concept set";
    static const th_arg_t options[] = {
        {"adopted", TH_ARG_VALUE, NULL, 0}, {"updated", TH_ARG_VALUE, NULL, 0},
        {"orientation", TH_ARG_VALUE, NULL, 0}, {"fields", TH_ARG_VALUE, NULL, 0},
        {"title", TH_ARG_VALUE, NULL, 0},   {"link", TH_ARG_VALUE, NULL, 0},
        {"version", TH_ARG_VALUE, NULL, 0}, {NULL, 0, NULL, 0}};
    cli_args_t a;
    th_result_t current;
    memset(&current, 0, sizeof current);
    int rc = cli_parse(cli, who, argc, argv, options, 1, 1, &a);
    if (rc != 0)
        goto cleanup;
    Teilhabe__Registry__V1__SetConceptRequest req =
        TEILHABE__REGISTRY__V1__SET_CONCEPT_REQUEST__INIT;
    Teilhabe__Registry__V1__Concept c = TEILHABE__REGISTRY__V1__CONCEPT__INIT;
    Teilhabe__Common__V1__FieldOfAction fields[S_FIELDS_MAX];
    char fields_copy[512];
    char *mask[8];
    size_t n_mask = 0;
    req.concept = &c;
    c.ags = a.pos[0];
    /* Every flag given is written (the update mask); the rest stays. */
    const struct {
        const char *flag;
        const char *field;
        char **target;
    } texts[] = {
        {"title", "title", &c.title},
        {"adopted", "adopted_on", &c.adopted_on},
        {"updated", "last_updated_on", &c.last_updated_on},
        {"link", "link", &c.link},
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        const char *v = cli_flag(&a, texts[i].flag);
        if (v != NULL) {
            *texts[i].target = (char *) v;
            mask[n_mask++] = (char *) texts[i].field;
        }
    }
    const char *orientation = cli_flag(&a, "orientation");
    if (orientation != NULL) {
        int v = 0;
        if ((rc = cli_enum(cli, who, "orientation",
                           &teilhabe__registry__v1__orientation__descriptor, orientation,
                           &v)) != 0)
            goto cleanup;
        c.orientation = v;
        mask[n_mask++] = "orientation";
    }
    const char *field_list = cli_flag(&a, "fields");
    if (field_list != NULL) {
        if ((rc = s_parse_fields(cli, field_list, fields, S_FIELDS_MAX, &c.n_fields,
                                 fields_copy, sizeof fields_copy)) != 0)
            goto cleanup;
        c.fields = fields;
        mask[n_mask++] = "fields";
    }
    const char *version = cli_flag(&a, "version");
    if (version != NULL) {
        int64_t v = 0;
        if ((rc = cli_int(cli, who, "version", version, 0, INT64_MAX, &v)) != 0)
            goto cleanup;
        req.version = v;
    } else {
        /* Without --version: write over the current version (read now). */
        Teilhabe__Registry__V1__GetConceptRequest get =
            TEILHABE__REGISTRY__V1__GET_CONCEPT_REQUEST__INIT;
        get.ags = c.ags;
        th_client_t *client = cli_client(cli);
        if (client == NULL) {
            rc = cli->client_exit;
            goto cleanup;
        }
        th_client_call(client, S_METHOD("GetConcept"), &get.base,
                       &teilhabe__registry__v1__concept__descriptor, cli->timeout_ms, NULL,
                       &current);
        if (current.code == TH_OK)
            req.version = ((const Teilhabe__Registry__V1__Concept *) current.response)->version;
        else if (current.code != TH_NOT_FOUND) {
            rc = cli_print_status(cli, S_METHOD("GetConcept"), &current);
            goto cleanup;
        }
    }
    req.update_mask = mask;
    req.n_update_mask = req.version > 0 ? n_mask : 0;
    th_result_t r;
    rc = cli_call(cli, S_METHOD("SetConcept"), &req.base,
                  &teilhabe__registry__v1__concept__descriptor, NULL, &r);
    if (rc == 0)
        rc = cli_print_one(cli, r.response);
    th_result_clear(&r);
cleanup:
    th_result_clear(&current);
    cli_args_clear(&a);
    return rc;
}

static int
s_concept_show(cli_t *cli, int argc, char **argv)
{
    static const th_arg_t options[] = {{"version", TH_ARG_VALUE, NULL, 0}, {NULL, 0, NULL, 0}};
    cli_args_t a;
    int rc = cli_parse(cli, "concept show", argc, argv, options, 1, 1, &a);
    if (rc != 0)
        goto cleanup;
    Teilhabe__Registry__V1__GetConceptRequest req =
        TEILHABE__REGISTRY__V1__GET_CONCEPT_REQUEST__INIT;
    req.ags = a.pos[0];
    int64_t v = 0;
    if (cli_flag(&a, "version") != NULL &&
        (rc = cli_int(cli, "concept show", "version", cli_flag(&a, "version"), 1, INT64_MAX,
                      &v)) != 0)
        goto cleanup;
    req.version = v;
    th_result_t r;
    rc = cli_call(cli, S_METHOD("GetConcept"), &req.base,
                  &teilhabe__registry__v1__concept__descriptor, NULL, &r);
    if (rc == 0)
        rc = cli_print_one(cli, r.response);
    th_result_clear(&r);
cleanup:
    cli_args_clear(&a);
    return rc;
}

static int
s_concept_list(cli_t *cli, int argc, char **argv)
{
    static const th_arg_t options[] = {{"state", TH_ARG_VALUE, NULL, 0},
                                       {"orientation", TH_ARG_VALUE, NULL, 0},
                                       {NULL, 0, NULL, 0}};
    cli_args_t a;
    cli_pages_t pages = {0};
    int rc = cli_parse(cli, "concept list", argc, argv, options, 0, 0, &a);
    if (rc != 0)
        goto cleanup;
    Teilhabe__Registry__V1__ListConceptsRequest req =
        TEILHABE__REGISTRY__V1__LIST_CONCEPTS_REQUEST__INIT;
    req.state_code = (char *) th_config_get(a.flags, "state", "");
    const char *orientation = cli_flag(&a, "orientation");
    if (orientation != NULL) {
        int v = 0;
        if ((rc = cli_enum(cli, "concept list", "orientation",
                           &teilhabe__registry__v1__orientation__descriptor, orientation,
                           &v)) != 0)
            goto cleanup;
        req.orientation = v;
    }
    rc = cli_fetch_all(cli, S_METHOD("ListConcepts"), &req.base, S_PAGE_MAX,
                       &teilhabe__registry__v1__list_concepts_response__descriptor, "concepts",
                       &pages);
    if (rc == 0)
        rc = cli_print_list(cli, &teilhabe__registry__v1__concept__descriptor, pages.items,
                            pages.n_items, s_concept_columns);
cleanup:
    cli_pages_clear(&pages);
    cli_args_clear(&a);
    return rc;
}

static int
s_concept_history(cli_t *cli, int argc, char **argv)
{
    static const th_arg_t options[] = {{NULL, 0, NULL, 0}};
    cli_args_t a;
    cli_pages_t pages = {0};
    int rc = cli_parse(cli, "concept history", argc, argv, options, 1, 1, &a);
    if (rc != 0)
        goto cleanup;
    Teilhabe__Registry__V1__ListConceptVersionsRequest req =
        TEILHABE__REGISTRY__V1__LIST_CONCEPT_VERSIONS_REQUEST__INIT;
    req.ags = a.pos[0];
    rc = cli_fetch_all(cli, S_METHOD("ListConceptVersions"), &req.base, S_PAGE_MAX,
                       &teilhabe__registry__v1__list_concept_versions_response__descriptor,
                       "concepts", &pages);
    if (rc == 0)
        rc = cli_print_list(cli, &teilhabe__registry__v1__concept__descriptor, pages.items,
                            pages.n_items, s_concept_columns);
cleanup:
    cli_pages_clear(&pages);
    cli_args_clear(&a);
    return rc;
}

static int
s_concept(cli_t *cli, int argc, char **argv)
{
    const char *action = argc > 1 ? argv[1] : "";
    if (strcmp(action, "set") == 0)
        return s_concept_set(cli, argc - 1, argv + 1);
    if (strcmp(action, "show") == 0)
        return s_concept_show(cli, argc - 1, argv + 1);
    if (strcmp(action, "list") == 0)
        return s_concept_list(cli, argc - 1, argv + 1);
    if (strcmp(action, "history") == 0)
        return s_concept_history(cli, argc - 1, argv + 1);
    return cli_usage_error(cli,
                           "concept: say set AGS --adopted DATE --orientation O --fields "
                           "a,b,c [--title T] [--updated DATE] [--link URL] [--version V], "
                           "show AGS [--version V], list [--state CODE] [--orientation O] or "
                           "history AGS");
}

const cli_command_t cli_concept_commands[] = {
    {"registry", "concept", "set AGS ... | show AGS | list [--state] | history AGS",
     s_concept},
    {NULL, NULL, NULL, NULL},
};
