/* ---------------------------------------------------------------------------
 * cmd_registry.c: the registry commands of the `teilhabe` tool
 *
 *   district show|list|search|history|merge     state list
 *   concept set|show|list|history         manager add|update|show|assign|unassign|list
 *   principal add|list|revoke             events
 *
 * Each top-level word is one command of the table (cli.h); its first
 * argument names the action. Flags may come before or after the positional
 * arguments. Enum values are typed as lowercase tokens (landkreis,
 * participation, work_and_training, ...) and mapped through the proto's
 * enum descriptors, so the CLI never keeps its own copy of a vocabulary.
 * ---------------------------------------------------------------------------
 */
#include "cli.h"

#include <ctype.h>
#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "teilhabe/v1/fields.pb-c.h"
#include "teilhabe/v1/events.pb-c.h"
#include "teilhabe/v1/registry.pb-c.h"
#include "th_status.h"

#define S_METHOD(name) "teilhabe.registry.v1.Registry/" name
#define S_MAX_ARGS 64

/* --- arguments ---------------------------------------------------------- */

/* The parsed arguments of one action: flags (config) and positionals. */
typedef struct {
    th_config_t *flags;
    char *pos[S_MAX_ARGS];
    int n_pos;
    char *district[S_MAX_ARGS]; /* repeated --district values (principal add) */
    int n_district;
} s_args_t;

static void
s_args_clear(s_args_t *a)
{
    th_config_destroy(&a->flags);
}

static bool
s_listed(const char *const *list, const char *key)
{
    for (size_t i = 0; list != NULL && list[i] != NULL; i++) {
        if (strcmp(list[i], key) == 0)
            return true;
    }
    return false;
}

/* Splits argv (argv[0] = action) into flags and positionals, wherever they
 * stand, and parses the flags with cli_parse_flags_as (unknown flags are
 * usage errors). Returns 0 or CLI_EXIT_USAGE (message printed). */
static int
s_parse(cli_t *cli, const char *who, int argc, char **argv, const char *const *allowed,
        const char *const *bools, int min_pos, int max_pos, s_args_t *a)
{
    memset(a, 0, sizeof *a);
    char *flag_argv[S_MAX_ARGS * 2 + 1];
    int n = 0;
    flag_argv[n++] = argv[0];
    bool only_pos = false;
    for (int i = 1; i < argc; i++) {
        char *arg = argv[i];
        if (!only_pos && strcmp(arg, "--") == 0) {
            only_pos = true;
            continue;
        }
        if (only_pos || strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            if (a->n_pos >= S_MAX_ARGS)
                return cli_usage_error(cli, "%s: too many arguments", who);
            a->pos[a->n_pos++] = arg;
            continue;
        }
        char key[65];
        size_t len = strcspn(arg + 2, "=");
        if (len >= sizeof key)
            len = sizeof key - 1;
        for (size_t k = 0; k < len; k++)
            key[k] = arg[2 + k] == '-' ? '_' : arg[2 + k];
        key[len] = '\0';
        const bool has_value = strchr(arg, '=') != NULL;
        /* --district may be repeated: collected here, not in the config. */
        if (strcmp(key, "district") == 0 && s_listed(allowed, "district")) {
            char *value =
                has_value ? strchr(arg, '=') + 1 : (i + 1 < argc ? argv[++i] : NULL);
            if (value == NULL)
                return cli_usage_error(cli, "%s: --district needs an AGS", who);
            if (a->n_district >= S_MAX_ARGS)
                return cli_usage_error(cli, "%s: too many --district flags", who);
            a->district[a->n_district++] = value;
            continue;
        }
        if (n + 2 >= (int) (sizeof flag_argv / sizeof flag_argv[0]))
            return cli_usage_error(cli, "%s: too many flags", who);
        flag_argv[n++] = arg;
        if (!has_value && !s_listed(bools, key) && i + 1 < argc)
            flag_argv[n++] = argv[++i];
    }
    flag_argv[n] = NULL;
    char prefix[96];
    snprintf(prefix, sizeof prefix, "%s: ", who);
    int first = 0;
    a->flags = cli_parse_flags_as(cli, prefix, n, flag_argv, allowed, bools, &first);
    if (a->flags == NULL)
        return CLI_EXIT_USAGE;
    if (a->n_pos < min_pos || a->n_pos > max_pos) {
        s_args_clear(a);
        if (a->n_pos < min_pos)
            return cli_usage_error(cli, "%s: missing argument (see teilhabe --help)", who);
        return cli_usage_error(cli, "%s: unexpected argument \"%s\"", who, a->pos[max_pos]);
    }
    return 0;
}

static const char *
s_flag(const s_args_t *a, const char *key)
{
    return th_config_get(a->flags, key, NULL);
}

/* An enum value from a lowercase token: prefix + uppercased token names a
 * value of desc ("participation" -> ORIENTATION_PARTICIPATION). 0 when
 * unknown (every enum's 0 is UNSPECIFIED). */
static int
s_enum(const ProtobufCEnumDescriptor *desc, const char *prefix, const char *token)
{
    char name[128];
    size_t o = (size_t) snprintf(name, sizeof name, "%s", prefix);
    for (const char *c = token; *c != '\0' && o + 1 < sizeof name; c++)
        name[o++] = *c == '-' ? '_' : (char) toupper((unsigned char) *c);
    name[o] = '\0';
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value_by_name(desc, name);
    return v != NULL ? v->value : 0;
}

/* "work_and_training, language" -> tokens of `what` for a usage message. */
static void
s_enum_tokens(const ProtobufCEnumDescriptor *desc, const char *prefix, char *out,
              size_t outlen)
{
    size_t o = 0;
    out[0] = '\0';
    const size_t skip = strlen(prefix);
    for (unsigned i = 0; i < desc->n_values; i++) {
        if (desc->values[i].value == 0)
            continue;
        o += (size_t) snprintf(out + o, o < outlen ? outlen - o : 0, "%s", o ? ", " : "");
        for (const char *c = desc->values[i].name + skip; *c != '\0' && o + 1 < outlen; c++)
            out[o++] = (char) tolower((unsigned char) *c);
        if (o < outlen)
            out[o] = '\0';
    }
}

static int
s_bad_enum(cli_t *cli, const char *who, const char *flag, const char *value,
           const ProtobufCEnumDescriptor *desc, const char *prefix)
{
    char tokens[512];
    s_enum_tokens(desc, prefix, tokens, sizeof tokens);
    return cli_usage_error(cli, "%s: --%s \"%s\" is not one of: %s", who, flag, value,
                           tokens);
}

static int
s_parse_int(cli_t *cli, const char *who, const char *flag, const char *text, int64_t min,
            int64_t max, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    const long long v = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < min || v > max)
        return cli_usage_error(cli,
                               "%s: --%s must be a whole number from %" PRId64
                               " to %" PRId64 ", not \"%s\"",
                               who, flag, min, max, text);
    *out = v;
    return 0;
}

static int
s_print_list(cli_t *cli, const ProtobufCMessageDescriptor *desc, void *const *items,
             size_t n)
{
    return cli_print_list(cli, desc, (const ProtobufCMessage *const *) items, n);
}

/* --- district ----------------------------------------------------------- */

static int
s_district_show(cli_t *cli, int argc, char **argv)
{
    static const char *const allowed[] = {"as_of", NULL};
    s_args_t a;
    int rc = s_parse(cli, "district show", argc, argv, allowed, NULL, 1, 1, &a);
    if (rc != 0)
        return rc;
    Teilhabe__Registry__V1__GetDistrictRequest req =
        TEILHABE__REGISTRY__V1__GET_DISTRICT_REQUEST__INIT;
    req.ags = a.pos[0];
    req.as_of = (char *) th_config_get(a.flags, "as_of", "");
    th_result_t r;
    rc = cli_call(cli, S_METHOD("GetDistrict"), &req.base,
                  &teilhabe__registry__v1__district__descriptor, NULL, &r);
    if (rc == 0)
        rc = cli_print_one(cli, r.response);
    th_result_clear(&r);
    s_args_clear(&a);
    return rc;
}

static int
s_district_list(cli_t *cli, int argc, char **argv)
{
    static const char *const allowed[] = {"state", "kind", "settlement", "as_of", NULL};
    s_args_t a;
    int rc = s_parse(cli, "district list", argc, argv, allowed, NULL, 0, 0, &a);
    if (rc != 0)
        return rc;
    Teilhabe__Registry__V1__ListDistrictsRequest req =
        TEILHABE__REGISTRY__V1__LIST_DISTRICTS_REQUEST__INIT;
    req.state_code = (char *) th_config_get(a.flags, "state", "");
    req.as_of = (char *) th_config_get(a.flags, "as_of", "");
    req.page_size = 500;
    const char *kind = s_flag(&a, "kind");
    const char *settlement = s_flag(&a, "settlement");
    if (kind != NULL &&
        (req.kind = s_enum(&teilhabe__registry__v1__district_kind__descriptor,
                           "DISTRICT_KIND_", kind)) == 0)
        rc = s_bad_enum(cli, "district list", "kind", kind,
                        &teilhabe__registry__v1__district_kind__descriptor,
                        "DISTRICT_KIND_");
    else if (settlement != NULL &&
             (req.settlement_type =
                  s_enum(&teilhabe__registry__v1__settlement_type__descriptor,
                         "SETTLEMENT_TYPE_", settlement)) == 0)
        rc = s_bad_enum(cli, "district list", "settlement", settlement,
                        &teilhabe__registry__v1__settlement_type__descriptor,
                        "SETTLEMENT_TYPE_");
    if (rc != 0) {
        s_args_clear(&a);
        return rc;
    }
    /* All pages into one list: the output is one table / array. */
    Teilhabe__Registry__V1__District **all = NULL;
    size_t n_all = 0;
    th_result_t pages[8];
    size_t n_pages = 0;
    char *token = "";
    while (rc == 0 && n_pages < sizeof pages / sizeof pages[0]) {
        req.page_token = token;
        rc = cli_call(cli, S_METHOD("ListDistricts"), &req.base,
                      &teilhabe__registry__v1__list_districts_response__descriptor, NULL,
                      &pages[n_pages]);
        if (rc != 0) {
            th_result_clear(&pages[n_pages]);
            break;
        }
        const Teilhabe__Registry__V1__ListDistrictsResponse *resp =
            (const void *) pages[n_pages++].response;
        Teilhabe__Registry__V1__District **grown =
            realloc(all, (n_all + resp->n_districts + 1) * sizeof *all);
        if (grown == NULL) {
            rc = CLI_EXIT_LOCAL;
            break;
        }
        all = grown;
        memcpy(all + n_all, resp->districts, resp->n_districts * sizeof *all);
        n_all += resp->n_districts;
        token = resp->next_page_token;
        if (token[0] == '\0')
            break;
    }
    if (rc == 0)
        rc = s_print_list(cli, &teilhabe__registry__v1__district__descriptor,
                          (void *const *) all, n_all);
    free(all);
    for (size_t i = 0; i < n_pages; i++)
        th_result_clear(&pages[i]);
    s_args_clear(&a);
    return rc;
}

static int
s_district_search(cli_t *cli, int argc, char **argv)
{
    static const char *const allowed[] = {"as_of", "limit", NULL};
    static const char *const bools[] = {"include_ended", NULL};
    s_args_t a;
    int rc = s_parse(cli, "district search", argc, argv, allowed, bools, 1, 1, &a);
    if (rc != 0)
        return rc;
    Teilhabe__Registry__V1__SearchDistrictsRequest req =
        TEILHABE__REGISTRY__V1__SEARCH_DISTRICTS_REQUEST__INIT;
    req.text = a.pos[0];
    req.as_of = (char *) th_config_get(a.flags, "as_of", "");
    bool ended = false;
    th_config_get_bool(a.flags, "include_ended", false, &ended);
    req.include_ended = ended;
    int64_t limit = 0;
    if (s_flag(&a, "limit") != NULL &&
        (rc = s_parse_int(cli, "district search", "limit", s_flag(&a, "limit"), 1, 100,
                          &limit)) != 0) {
        s_args_clear(&a);
        return rc;
    }
    req.page_size = (int32_t) limit;
    th_result_t r;
    rc = cli_call(cli, S_METHOD("SearchDistricts"), &req.base,
                  &teilhabe__registry__v1__search_districts_response__descriptor, NULL, &r);
    if (rc == 0) {
        const Teilhabe__Registry__V1__SearchDistrictsResponse *resp =
            (const void *) r.response;
        rc = s_print_list(cli, &teilhabe__registry__v1__district__descriptor,
                          (void *const *) resp->districts, resp->n_districts);
    }
    th_result_clear(&r);
    s_args_clear(&a);
    return rc;
}

static int
s_district_history(cli_t *cli, int argc, char **argv)
{
    s_args_t a;
    int rc = s_parse(cli, "district history", argc, argv, NULL, NULL, 1, 1, &a);
    if (rc != 0)
        return rc;
    Teilhabe__Registry__V1__GetTerritorialHistoryRequest req =
        TEILHABE__REGISTRY__V1__GET_TERRITORIAL_HISTORY_REQUEST__INIT;
    req.ags = a.pos[0];
    th_result_t r;
    rc = cli_call(cli, S_METHOD("GetTerritorialHistory"), &req.base,
                  &teilhabe__registry__v1__get_territorial_history_response__descriptor,
                  NULL, &r);
    if (rc == 0) {
        const Teilhabe__Registry__V1__GetTerritorialHistoryResponse *resp =
            (const void *) r.response;
        if (cli->format == TH_FORMAT_JSON) {
            rc = cli_print_one(cli, r.response);
        } else {
            /* For people: the district, then its changes. CSV: the changes. */
            if (cli->format == TH_FORMAT_TABLE && resp->district != NULL) {
                rc = cli_print_one(cli, &resp->district->base);
                printf("\n");
            }
            if (rc == 0)
                rc = s_print_list(cli,
                                  &teilhabe__registry__v1__territorial_change__descriptor,
                                  (void *const *) resp->changes, resp->n_changes);
        }
    }
    th_result_clear(&r);
    s_args_clear(&a);
    return rc;
}

static int
s_district_merge(cli_t *cli, int argc, char **argv)
{
    static const char *const allowed[] = {"into", "effective", "note", NULL};
    s_args_t a;
    int rc = s_parse(cli, "district merge", argc, argv, allowed, NULL, 1, 1, &a);
    if (rc != 0)
        return rc;
    Teilhabe__Registry__V1__RecordTerritorialChangeRequest req =
        TEILHABE__REGISTRY__V1__RECORD_TERRITORIAL_CHANGE_REQUEST__INIT;
    req.ags = a.pos[0];
    req.successor_ags = (char *) th_config_get(a.flags, "into", "");
    req.effective = (char *) th_config_get(a.flags, "effective", "");
    req.note = (char *) th_config_get(a.flags, "note", "");
    req.kind =
        TEILHABE__REGISTRY__V1__TERRITORIAL_CHANGE_KIND__TERRITORIAL_CHANGE_KIND_MERGE;
    if (req.successor_ags[0] == '\0' || req.effective[0] == '\0') {
        s_args_clear(&a);
        return cli_usage_error(cli, "district merge: --into AGS and --effective DATE are "
                                    "required");
    }
    th_result_t r;
    rc = cli_call(cli, S_METHOD("RecordTerritorialChange"), &req.base,
                  &teilhabe__registry__v1__territorial_change__descriptor, NULL, &r);
    if (rc == 0)
        rc = cli_print_one(cli, r.response);
    th_result_clear(&r);
    s_args_clear(&a);
    return rc;
}

static int
s_district(cli_t *cli, int argc, char **argv)
{
    const char *action = argc > 1 ? argv[1] : "";
    if (strcmp(action, "show") == 0)
        return s_district_show(cli, argc - 1, argv + 1);
    if (strcmp(action, "list") == 0)
        return s_district_list(cli, argc - 1, argv + 1);
    if (strcmp(action, "search") == 0)
        return s_district_search(cli, argc - 1, argv + 1);
    if (strcmp(action, "history") == 0)
        return s_district_history(cli, argc - 1, argv + 1);
    if (strcmp(action, "merge") == 0)
        return s_district_merge(cli, argc - 1, argv + 1);
    return cli_usage_error(cli,
                           "district: say show AGS [--as-of DATE], list [--state CODE] "
                           "[--kind K] [--settlement T] [--as-of DATE], search TEXT, "
                           "history AGS or merge AGS --into AGS --effective DATE "
                           "[--note TEXT] (admin)");
}

static int
s_state(cli_t *cli, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "list") != 0)
        return cli_usage_error(cli, "state: say list [--as-of DATE]");
    static const char *const allowed[] = {"as_of", NULL};
    s_args_t a;
    int rc = s_parse(cli, "state list", argc - 1, argv + 1, allowed, NULL, 0, 0, &a);
    if (rc != 0)
        return rc;
    Teilhabe__Registry__V1__ListStatesRequest req =
        TEILHABE__REGISTRY__V1__LIST_STATES_REQUEST__INIT;
    req.as_of = (char *) th_config_get(a.flags, "as_of", "");
    th_result_t r;
    rc = cli_call(cli, S_METHOD("ListStates"), &req.base,
                  &teilhabe__registry__v1__list_states_response__descriptor, NULL, &r);
    if (rc == 0) {
        const Teilhabe__Registry__V1__ListStatesResponse *resp = (const void *) r.response;
        rc = s_print_list(cli, &teilhabe__registry__v1__state__descriptor,
                          (void *const *) resp->states, resp->n_states);
        if (rc == 0 && cli->format == TH_FORMAT_TABLE)
            printf("\n%u districts on %s, population %" PRId64 " (counted on %s)\n",
                   resp->total_districts, resp->as_of, resp->total_population,
                   resp->population_date[0] != '\0' ? resp->population_date : "-");
    }
    th_result_clear(&r);
    s_args_clear(&a);
    return rc;
}

/* --- concept ------------------------------------------------------------ */

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
        const int v = s_enum(&teilhabe__common__v1__field_of_action__descriptor,
                             "FIELD_OF_ACTION_", tok);
        if (v == 0)
            return s_bad_enum(cli, "concept set", "fields", tok,
                              &teilhabe__common__v1__field_of_action__descriptor,
                              "FIELD_OF_ACTION_");
        if (*n >= max)
            return cli_usage_error(cli, "concept set: at most %zu fields", max);
        fields[(*n)++] = (Teilhabe__Common__V1__FieldOfAction) v;
    }
    return 0;
}

static int
s_concept_set(cli_t *cli, int argc, char **argv)
{
    static const char *const allowed[] = {"adopted", "updated", "orientation", "fields",
                                          "title",   "link",    "version",     NULL};
    s_args_t a;
    int rc = s_parse(cli, "concept set", argc, argv, allowed, NULL, 1, 1, &a);
    if (rc != 0)
        return rc;
    Teilhabe__Registry__V1__SetConceptRequest req =
        TEILHABE__REGISTRY__V1__SET_CONCEPT_REQUEST__INIT;
    Teilhabe__Registry__V1__Concept c = TEILHABE__REGISTRY__V1__CONCEPT__INIT;
    Teilhabe__Common__V1__FieldOfAction fields[16];
    char fields_copy[512];
    char *mask[8];
    size_t n_mask = 0;
    th_result_t current;
    memset(&current, 0, sizeof current);
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
        const char *v = s_flag(&a, texts[i].flag);
        if (v != NULL) {
            *texts[i].target = (char *) v;
            mask[n_mask++] = (char *) texts[i].field;
        }
    }
    const char *orientation = s_flag(&a, "orientation");
    if (orientation != NULL) {
        c.orientation = s_enum(&teilhabe__registry__v1__orientation__descriptor,
                               "ORIENTATION_", orientation);
        if (c.orientation == 0) {
            rc = s_bad_enum(cli, "concept set", "orientation", orientation,
                            &teilhabe__registry__v1__orientation__descriptor,
                            "ORIENTATION_");
            goto cleanup;
        }
        mask[n_mask++] = "orientation";
    }
    const char *field_list = s_flag(&a, "fields");
    if (field_list != NULL) {
        if ((rc = s_parse_fields(cli, field_list, fields, 16, &c.n_fields, fields_copy,
                                 sizeof fields_copy)) != 0)
            goto cleanup;
        c.fields = fields;
        mask[n_mask++] = "fields";
    }
    const char *version = s_flag(&a, "version");
    if (version != NULL) {
        int64_t v = 0;
        if ((rc = s_parse_int(cli, "concept set", "version", version, 0, INT64_MAX, &v)) !=
            0)
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
            req.version =
                ((const Teilhabe__Registry__V1__Concept *) current.response)->version;
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
    s_args_clear(&a);
    return rc;
}

static int
s_concept_show(cli_t *cli, int argc, char **argv)
{
    static const char *const allowed[] = {"version", NULL};
    s_args_t a;
    int rc = s_parse(cli, "concept show", argc, argv, allowed, NULL, 1, 1, &a);
    if (rc != 0)
        return rc;
    Teilhabe__Registry__V1__GetConceptRequest req =
        TEILHABE__REGISTRY__V1__GET_CONCEPT_REQUEST__INIT;
    req.ags = a.pos[0];
    int64_t v = 0;
    if (s_flag(&a, "version") != NULL &&
        (rc = s_parse_int(cli, "concept show", "version", s_flag(&a, "version"), 1,
                          INT64_MAX, &v)) != 0) {
        s_args_clear(&a);
        return rc;
    }
    req.version = v;
    th_result_t r;
    rc = cli_call(cli, S_METHOD("GetConcept"), &req.base,
                  &teilhabe__registry__v1__concept__descriptor, NULL, &r);
    if (rc == 0)
        rc = cli_print_one(cli, r.response);
    th_result_clear(&r);
    s_args_clear(&a);
    return rc;
}

static int
s_concept_list(cli_t *cli, int argc, char **argv)
{
    static const char *const allowed[] = {"state", "orientation", NULL};
    s_args_t a;
    int rc = s_parse(cli, "concept list", argc, argv, allowed, NULL, 0, 0, &a);
    if (rc != 0)
        return rc;
    Teilhabe__Registry__V1__ListConceptsRequest req =
        TEILHABE__REGISTRY__V1__LIST_CONCEPTS_REQUEST__INIT;
    req.state_code = (char *) th_config_get(a.flags, "state", "");
    req.page_size = 500;
    const char *orientation = s_flag(&a, "orientation");
    if (orientation != NULL &&
        (req.orientation = s_enum(&teilhabe__registry__v1__orientation__descriptor,
                                  "ORIENTATION_", orientation)) == 0) {
        rc = s_bad_enum(cli, "concept list", "orientation", orientation,
                        &teilhabe__registry__v1__orientation__descriptor, "ORIENTATION_");
        s_args_clear(&a);
        return rc;
    }
    th_result_t r;
    rc = cli_call(cli, S_METHOD("ListConcepts"), &req.base,
                  &teilhabe__registry__v1__list_concepts_response__descriptor, NULL, &r);
    if (rc == 0) {
        const Teilhabe__Registry__V1__ListConceptsResponse *resp =
            (const void *) r.response;
        rc = s_print_list(cli, &teilhabe__registry__v1__concept__descriptor,
                          (void *const *) resp->concepts, resp->n_concepts);
        if (rc == 0 && resp->next_page_token[0] != '\0')
            fprintf(stderr, "note: more than %d concepts; narrow with --state\n",
                    req.page_size);
    }
    th_result_clear(&r);
    s_args_clear(&a);
    return rc;
}

static int
s_concept_history(cli_t *cli, int argc, char **argv)
{
    s_args_t a;
    int rc = s_parse(cli, "concept history", argc, argv, NULL, NULL, 1, 1, &a);
    if (rc != 0)
        return rc;
    Teilhabe__Registry__V1__ListConceptVersionsRequest req =
        TEILHABE__REGISTRY__V1__LIST_CONCEPT_VERSIONS_REQUEST__INIT;
    req.ags = a.pos[0];
    req.page_size = 500;
    th_result_t r;
    rc = cli_call(cli, S_METHOD("ListConceptVersions"), &req.base,
                  &teilhabe__registry__v1__list_concept_versions_response__descriptor, NULL,
                  &r);
    if (rc == 0) {
        const Teilhabe__Registry__V1__ListConceptVersionsResponse *resp =
            (const void *) r.response;
        rc = s_print_list(cli, &teilhabe__registry__v1__concept__descriptor,
                          (void *const *) resp->concepts, resp->n_concepts);
    }
    th_result_clear(&r);
    s_args_clear(&a);
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
                           "show AGS [--version V], list [--state CODE] or history AGS");
}

/* --- manager ------------------------------------------------------------ */

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
s_manager_fields(const s_args_t *a, Teilhabe__Registry__V1__Manager *m, char **mask)
{
    size_t n = 0;
    for (size_t i = 0; i < sizeof s_manager_flags / sizeof s_manager_flags[0]; i++) {
        const char *v = s_flag(a, s_manager_flags[i].flag);
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
    static const char *const allowed[] = {"state",        "name",      "email",     "phone",
                                          "organisation", "programme", "principal", NULL};
    s_args_t a;
    int rc = s_parse(cli, "manager add", argc, argv, allowed, NULL, 0, 0, &a);
    if (rc != 0)
        return rc;
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
    s_args_clear(&a);
    return rc;
}

static int
s_manager_update(cli_t *cli, int argc, char **argv)
{
    static const char *const allowed[] = {"name",         "email",     "phone",
                                          "organisation", "programme", "principal",
                                          "version",      NULL};
    s_args_t a;
    int rc = s_parse(cli, "manager update", argc, argv, allowed, NULL, 1, 1, &a);
    if (rc != 0)
        return rc;
    Teilhabe__Registry__V1__UpdateManagerRequest req =
        TEILHABE__REGISTRY__V1__UPDATE_MANAGER_REQUEST__INIT;
    Teilhabe__Registry__V1__Manager m = TEILHABE__REGISTRY__V1__MANAGER__INIT;
    char *mask[8];
    th_result_t current;
    memset(&current, 0, sizeof current);
    req.n_update_mask = s_manager_fields(&a, &m, mask);
    if (req.n_update_mask == 0) {
        s_args_clear(&a);
        return cli_usage_error(cli, "manager update: name at least one of --name, --email, "
                                    "--phone, --organisation, --programme, --principal");
    }
    req.update_mask = mask;
    m.id = a.pos[0];
    req.manager = &m;
    const char *version = s_flag(&a, "version");
    if (version != NULL) {
        int64_t v = 0;
        if ((rc = s_parse_int(cli, "manager update", "version", version, 1, INT64_MAX,
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
    s_args_clear(&a);
    return rc;
}

static int
s_manager_show(cli_t *cli, int argc, char **argv)
{
    s_args_t a;
    int rc = s_parse(cli, "manager show", argc, argv, NULL, NULL, 1, 1, &a);
    if (rc != 0)
        return rc;
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
                rc = s_print_list(cli, &teilhabe__registry__v1__assignment__descriptor,
                                  (void *const *) m->assignments, m->n_assignments);
        } else {
            rc = cli_print_one(cli, r.response);
        }
    }
    th_result_clear(&r);
    s_args_clear(&a);
    return rc;
}

static int
s_manager_assign(cli_t *cli, int argc, char **argv)
{
    static const char *const allowed[] = {"from", "to", NULL};
    s_args_t a;
    int rc = s_parse(cli, "manager assign", argc, argv, allowed, NULL, 2, 2, &a);
    if (rc != 0)
        return rc;
    Teilhabe__Registry__V1__AssignManagerRequest req =
        TEILHABE__REGISTRY__V1__ASSIGN_MANAGER_REQUEST__INIT;
    req.manager_id = a.pos[0];
    req.ags = a.pos[1];
    req.valid_from = (char *) th_config_get(a.flags, "from", "");
    req.valid_to = (char *) th_config_get(a.flags, "to", "");
    if (req.valid_from[0] == '\0') {
        s_args_clear(&a);
        return cli_usage_error(cli, "manager assign: --from DATE is required");
    }
    th_result_t r;
    rc = cli_call(cli, S_METHOD("AssignManager"), &req.base,
                  &teilhabe__registry__v1__assignment__descriptor, NULL, &r);
    if (rc == 0)
        rc = cli_print_one(cli, r.response);
    th_result_clear(&r);
    s_args_clear(&a);
    return rc;
}

static int
s_manager_unassign(cli_t *cli, int argc, char **argv)
{
    static const char *const allowed[] = {"end", NULL};
    s_args_t a;
    int rc = s_parse(cli, "manager unassign", argc, argv, allowed, NULL, 2, 2, &a);
    if (rc != 0)
        return rc;
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
    s_args_clear(&a);
    return rc;
}

static int
s_manager_list(cli_t *cli, int argc, char **argv)
{
    static const char *const allowed[] = {"state", "district", "as_of", NULL};
    s_args_t a;
    int rc = s_parse(cli, "manager list", argc, argv, allowed, NULL, 0, 0, &a);
    if (rc != 0)
        return rc;
    Teilhabe__Registry__V1__ListManagersRequest req =
        TEILHABE__REGISTRY__V1__LIST_MANAGERS_REQUEST__INIT;
    req.state_code = (char *) th_config_get(a.flags, "state", "");
    req.ags = a.n_district > 0 ? a.district[a.n_district - 1] : "";
    req.as_of = (char *) th_config_get(a.flags, "as_of", "");
    req.page_size = 500;
    th_result_t r;
    rc = cli_call(cli, S_METHOD("ListManagers"), &req.base,
                  &teilhabe__registry__v1__list_managers_response__descriptor, NULL, &r);
    if (rc == 0) {
        const Teilhabe__Registry__V1__ListManagersResponse *resp =
            (const void *) r.response;
        rc = s_print_list(cli, &teilhabe__registry__v1__manager__descriptor,
                          (void *const *) resp->managers, resp->n_managers);
    }
    th_result_clear(&r);
    s_args_clear(&a);
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

/* --- principal ---------------------------------------------------------- */

static int
s_principal_add(cli_t *cli, int argc, char **argv)
{
    static const char *const allowed[] = {"name",     "role", "id", "state",
                                          "district", "out",  NULL};
    s_args_t a;
    int rc = s_parse(cli, "principal add", argc, argv, allowed, NULL, 0, 0, &a);
    if (rc != 0)
        return rc;
    zcert_t *cert = NULL;
    bool written = false;
    const char *name = th_config_get(a.flags, "name", "");
    const char *role = th_config_get(a.flags, "role", "");
    const char *out = th_config_get(a.flags, "out", "");
    const char *state = th_config_get(a.flags, "state", "");
    const char *id = th_config_get(a.flags, "id", "");
    if (name[0] == '\0' || role[0] == '\0' || out[0] == '\0') {
        rc = cli_usage_error(cli,
                             "principal add: --name, --role and --out FILE are required");
        goto cleanup;
    }
    /* Never overwrite a key file: it may be the only copy of someone's
     * secret. */
    if (access(out, F_OK) == 0) {
        rc = cli_usage_error(cli, "principal add: \"%s\" exists; choose another --out file",
                             out);
        goto cleanup;
    }
    /* --district AGS may repeat and each may be a comma list. */
    char *districts[S_MAX_ARGS];
    size_t n_districts = 0;
    char district_buf[S_MAX_ARGS * 8];
    size_t used = 0;
    for (int i = 0; i < a.n_district; i++) {
        char *save = NULL;
        char *copy = district_buf + used;
        const size_t len = strlen(a.district[i]) + 1;
        if (used + len > sizeof district_buf) {
            rc = cli_usage_error(cli, "principal add: too many --district values");
            goto cleanup;
        }
        memcpy(copy, a.district[i], len);
        used += len;
        for (char *tok = strtok_r(copy, ",", &save);
             tok != NULL && n_districts < S_MAX_ARGS; tok = strtok_r(NULL, ",", &save))
            districts[n_districts++] = tok;
    }

    /* The key pair is made here: the secret never leaves this machine. */
    cert = zcert_new();
    if (cert == NULL) {
        fprintf(stderr, "error: could not generate a key pair\n");
        rc = CLI_EXIT_LOCAL;
        goto cleanup;
    }
    zcert_set_meta(cert, "id", "%s", id[0] != '\0' ? id : name);
    zcert_set_meta(cert, "name", "%s", name);
    zcert_set_meta(cert, "role", "%s", role);
    zcert_set_meta(cert, "state", "%s", state);
    char joined[S_MAX_ARGS * 8] = "";
    for (size_t i = 0; i < n_districts; i++) {
        strncat(joined, i ? "," : "", sizeof joined - strlen(joined) - 1);
        strncat(joined, districts[i], sizeof joined - strlen(joined) - 1);
    }
    zcert_set_meta(cert, "districts", "%s", joined);
    /* Write the secret first (mode 0600), so a registered key always has
     * its secret saved; removed again when the registry refuses. */
    const mode_t old_umask = umask(077);
    const int saved = zcert_save_secret(cert, out);
    umask(old_umask);
    if (saved != 0 || chmod(out, 0600) != 0) {
        fprintf(stderr, "error: could not write the certificate \"%s\": %s\n", out,
                strerror(errno));
        rc = CLI_EXIT_LOCAL;
        goto cleanup;
    }
    written = true;

    Teilhabe__Registry__V1__CreatePrincipalRequest req =
        TEILHABE__REGISTRY__V1__CREATE_PRINCIPAL_REQUEST__INIT;
    Teilhabe__Registry__V1__Principal p = TEILHABE__REGISTRY__V1__PRINCIPAL__INIT;
    p.id = (char *) id;
    p.name = (char *) name;
    p.role = (char *) role;
    p.state_scope = (char *) state;
    p.district_scope = districts;
    p.n_district_scope = n_districts;
    p.public_key = (char *) zcert_public_txt(cert);
    req.principal = &p;
    th_result_t r;
    rc = cli_call(cli, S_METHOD("CreatePrincipal"), &req.base,
                  &teilhabe__registry__v1__principal__descriptor, NULL, &r);
    if (rc == 0) {
        written = false; /* keep it */
        rc = cli_print_one(cli, r.response);
        fprintf(stderr, "wrote %s (secret key, mode 0600); use it with --cert %s\n", out,
                out);
    }
    th_result_clear(&r);
cleanup:
    if (written)
        unlink(out);
    zcert_destroy(&cert);
    s_args_clear(&a);
    return rc;
}

static int
s_principal_list(cli_t *cli, int argc, char **argv)
{
    static const char *const allowed[] = {"role", NULL};
    static const char *const bools[] = {"include_revoked", NULL};
    s_args_t a;
    int rc = s_parse(cli, "principal list", argc, argv, allowed, bools, 0, 0, &a);
    if (rc != 0)
        return rc;
    Teilhabe__Registry__V1__ListPrincipalsRequest req =
        TEILHABE__REGISTRY__V1__LIST_PRINCIPALS_REQUEST__INIT;
    req.role = (char *) th_config_get(a.flags, "role", "");
    bool revoked = false;
    th_config_get_bool(a.flags, "include_revoked", false, &revoked);
    req.include_revoked = revoked;
    req.page_size = 500;
    th_result_t r;
    rc = cli_call(cli, S_METHOD("ListPrincipals"), &req.base,
                  &teilhabe__registry__v1__list_principals_response__descriptor, NULL, &r);
    if (rc == 0) {
        const Teilhabe__Registry__V1__ListPrincipalsResponse *resp =
            (const void *) r.response;
        rc = s_print_list(cli, &teilhabe__registry__v1__principal__descriptor,
                          (void *const *) resp->principals, resp->n_principals);
    }
    th_result_clear(&r);
    s_args_clear(&a);
    return rc;
}

static int
s_principal_revoke(cli_t *cli, int argc, char **argv)
{
    s_args_t a;
    int rc = s_parse(cli, "principal revoke", argc, argv, NULL, NULL, 1, 1, &a);
    if (rc != 0)
        return rc;
    Teilhabe__Registry__V1__RevokePrincipalRequest req =
        TEILHABE__REGISTRY__V1__REVOKE_PRINCIPAL_REQUEST__INIT;
    req.id = a.pos[0];
    th_result_t r;
    rc = cli_call(cli, S_METHOD("RevokePrincipal"), &req.base,
                  &teilhabe__registry__v1__principal__descriptor, NULL, &r);
    if (rc == 0)
        rc = cli_print_one(cli, r.response);
    th_result_clear(&r);
    s_args_clear(&a);
    return rc;
}

static int
s_principal(cli_t *cli, int argc, char **argv)
{
    const char *action = argc > 1 ? argv[1] : "";
    if (strcmp(action, "add") == 0)
        return s_principal_add(cli, argc - 1, argv + 1);
    if (strcmp(action, "list") == 0)
        return s_principal_list(cli, argc - 1, argv + 1);
    if (strcmp(action, "revoke") == 0)
        return s_principal_revoke(cli, argc - 1, argv + 1);
    return cli_usage_error(cli,
                           "principal: say add --name N --role R [--id ID] [--state CODE] "
                           "[--district AGS]... --out FILE, list [--role R] "
                           "[--include-revoked] or revoke ID");
}

/* --- events ------------------------------------------------------------- */

static int
s_events(cli_t *cli, int argc, char **argv)
{
    static const char *const allowed[] = {"after", "limit", NULL};
    s_args_t a;
    int rc = s_parse(cli, "events", argc, argv, allowed, NULL, 0, 0, &a);
    if (rc != 0)
        return rc;
    Teilhabe__Events__V1__ListEventsRequest req =
        TEILHABE__EVENTS__V1__LIST_EVENTS_REQUEST__INIT;
    int64_t after = 0, limit = 0;
    if ((s_flag(&a, "after") != NULL &&
         (rc = s_parse_int(cli, "events", "after", s_flag(&a, "after"), 0, INT64_MAX,
                           &after)) != 0) ||
        (s_flag(&a, "limit") != NULL &&
         (rc = s_parse_int(cli, "events", "limit", s_flag(&a, "limit"), 1, 1000, &limit)) !=
             0)) {
        s_args_clear(&a);
        return rc;
    }
    req.after_sequence = after;
    req.limit = (int32_t) limit;
    th_result_t r;
    rc = cli_call(cli, S_METHOD("ListEvents"), &req.base,
                  &teilhabe__events__v1__list_events_response__descriptor, NULL, &r);
    if (rc == 0) {
        const Teilhabe__Events__V1__ListEventsResponse *resp = (const void *) r.response;
        rc = s_print_list(cli, &teilhabe__events__v1__event__descriptor,
                          (void *const *) resp->events, resp->n_events);
    }
    th_result_clear(&r);
    s_args_clear(&a);
    return rc;
}

const cli_command_t cli_registry_commands[] = {
    {"registry", "district",
     "show AGS | list | search TEXT | history AGS | merge AGS (admin)", s_district},
    {"registry", "state", "list [--as-of DATE]: the Länder with their district counts",
     s_state},
    {"registry", "concept", "set AGS ... | show AGS | list [--state] | history AGS",
     s_concept},
    {"registry", "manager",
     "add | update ID | show ID | assign ID AGS | unassign ID AGS | list", s_manager},
    {"registry", "principal", "add --name --role --out FILE | list | revoke ID (admin)",
     s_principal},
    {"registry", "events", "the registry's change events [--after SEQ] [--limit N]",
     s_events},
    {NULL, NULL, NULL, NULL},
};
