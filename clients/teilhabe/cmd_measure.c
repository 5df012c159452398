/* ---------------------------------------------------------------------------
 * cmd_measure.c: `teilhabe measure add|list|show|update|transition|delete`
 *
 * Enum values are typed as their tokens (language, active) and shown by
 * their labels (th_enum.h); the target group is "all" (all residents),
 * "newcomers" or "group:NAME"; a budget is typed in euros (--budget-eur
 * 12500.50) and travels as cents. A change without --version reads the
 * measure's version first.
 * ---------------------------------------------------------------------------
 */
#include "cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "teilhabe/v1/fields.pb-c.h"
#include "teilhabe/v1/measures.pb-c.h"
#include "th_money.h"

#define S_METHOD(name) "teilhabe.measures.v1.Measures/" name
#define S_PAGE_MAX 500

typedef Teilhabe__Measures__V1__Measure s_measure_t;

/* The columns a person needs (--wide: all). */
static const char *const s_columns[] = {"id",           "ags",    "title",      "field",
                                        "target_group", "status", "start_date", "version",
                                        NULL};

/* The flags of the writable fields, with the field each writes. */
static const th_arg_t s_field_options[] = {
    {"title", TH_ARG_VALUE, NULL, 0},        {"description", TH_ARG_VALUE, NULL, 0},
    {"field", TH_ARG_VALUE, NULL, 0},        {"target", TH_ARG_VALUE, NULL, 0},
    {"start", TH_ARG_VALUE, NULL, 0},        {"end", TH_ARG_VALUE, NULL, 0},
    {"budget-eur", TH_ARG_VALUE, NULL, 0},   {"funding", TH_ARG_VALUE, NULL, 0},
    {"municipality", TH_ARG_VALUE, NULL, 0}, {"municipality-key", TH_ARG_VALUE, NULL, 0},
};
#define S_FIELD_OPTIONS (sizeof s_field_options / sizeof s_field_options[0])

/* Parses "all", "newcomers" or "group:NAME" into m (NAME points into
 * text). 0 or a usage error. */
static int
s_target(cli_t *cli, const char *who, const char *text, s_measure_t *m)
{
    if (strcmp(text, "all") == 0 || strcmp(text, "all_residents") == 0) {
        m->target_group = TEILHABE__MEASURES__V1__TARGET_GROUP__TARGET_GROUP_ALL_RESIDENTS;
        m->target_group_name = "";
        return 0;
    }
    if (strcmp(text, "newcomers") == 0) {
        m->target_group = TEILHABE__MEASURES__V1__TARGET_GROUP__TARGET_GROUP_NEWCOMERS;
        m->target_group_name = "";
        return 0;
    }
    if (strncmp(text, "group:", 6) == 0 && text[6] != '\0') {
        m->target_group = TEILHABE__MEASURES__V1__TARGET_GROUP__TARGET_GROUP_GROUP;
        m->target_group_name = (char *) text + 6;
        return 0;
    }
    return cli_usage_error(cli,
                           "%s: --target \"%s\" is not one of: all, newcomers, group:NAME "
                           "(e.g. group:Frauen)",
                           who, text);
}

/* Sets the fields of m named by the flags given; their names into mask
 * (*n). 0 or a usage error. */
static int
s_fields(cli_t *cli, const char *who, const cli_args_t *a, s_measure_t *m, char **mask,
         size_t *n)
{
    int rc;
    const char *v;
    *n = 0;
#define S_TEXT(flag, member, name)                                                         \
    if ((v = cli_flag(a, flag)) != NULL) {                                                 \
        m->member = (char *) v;                                                            \
        mask[(*n)++] = name;                                                               \
    }
    S_TEXT("title", title, "title")
    S_TEXT("description", description, "description")
    S_TEXT("start", start_date, "start_date")
    S_TEXT("end", end_date, "end_date")
    S_TEXT("funding", funding_source, "funding_source")
    S_TEXT("municipality", municipality, "municipality")
    S_TEXT("municipality_key", municipality_key, "municipality_key")
#undef S_TEXT
    if ((v = cli_flag(a, "field")) != NULL) {
        int value = 0;
        if ((rc = cli_enum(cli, who, "field", &teilhabe__common__v1__field_of_action__descriptor,
                           v, &value)) != 0)
            return rc;
        m->field = value;
        mask[(*n)++] = "field";
    }
    if ((v = cli_flag(a, "target")) != NULL) {
        if ((rc = s_target(cli, who, v, m)) != 0)
            return rc;
        mask[(*n)++] = "target_group";
        mask[(*n)++] = "target_group_name";
    }
    if ((v = cli_flag(a, "budget_eur")) != NULL) {
        if (th_money_parse_eur(v, &m->budget_cents) != 0)
            return cli_usage_error(cli,
                                   "%s: --budget-eur \"%s\" is not an amount of euros "
                                   "(digits, optionally with two decimals: 12500.50)",
                                   who, v);
        mask[(*n)++] = "budget_cents";
    }
    return 0;
}

/* The options of a command: the field flags, the extra ones, the end. */
static void
s_options(th_arg_t *out, const th_arg_t *extra, size_t n_extra)
{
    memcpy(out, s_field_options, sizeof s_field_options);
    memcpy(out + S_FIELD_OPTIONS, extra, n_extra * sizeof *extra);
    out[S_FIELD_OPTIONS + n_extra] = (th_arg_t){NULL, 0, NULL, 0};
}

static int
s_add(cli_t *cli, int argc, char **argv)
{
    static const char who[] = "measure add";
    static const th_arg_t extra[] = {{"district", TH_ARG_VALUE, NULL, 0}};
    th_arg_t options[S_FIELD_OPTIONS + 2];
    s_options(options, extra, 1);
    cli_args_t a;
    int rc = cli_parse(cli, who, argc, argv, options, 0, 0, &a);
    if (rc != 0)
        goto cleanup;
    Teilhabe__Measures__V1__CreateMeasureRequest req =
        TEILHABE__MEASURES__V1__CREATE_MEASURE_REQUEST__INIT;
    s_measure_t m = TEILHABE__MEASURES__V1__MEASURE__INIT;
    char *mask[16];
    size_t n = 0;
    if ((rc = s_fields(cli, who, &a, &m, mask, &n)) != 0)
        goto cleanup;
    m.ags = (char *) th_config_get(a.flags, "district", "");
    req.measure = &m;
    th_result_t r;
    rc = cli_call(cli, S_METHOD("CreateMeasure"), &req.base,
                  &teilhabe__measures__v1__measure__descriptor, NULL, &r);
    if (rc == 0)
        rc = cli_print_one(cli, r.response);
    th_result_clear(&r);
cleanup:
    cli_args_clear(&a);
    return rc;
}

static int
s_list(cli_t *cli, int argc, char **argv)
{
    static const char who[] = "measure list";
    static const th_arg_t options[] = {
        {"district", TH_ARG_VALUE, NULL, 0}, {"state", TH_ARG_VALUE, NULL, 0},
        {"field", TH_ARG_VALUE, NULL, 0},    {"target", TH_ARG_VALUE, NULL, 0},
        {"status", TH_ARG_VALUE, NULL, 0},   {NULL, 0, NULL, 0}};
    cli_args_t a;
    cli_pages_t pages = {0};
    int rc = cli_parse(cli, who, argc, argv, options, 0, 0, &a);
    if (rc != 0)
        goto cleanup;
    Teilhabe__Measures__V1__ListMeasuresRequest req =
        TEILHABE__MEASURES__V1__LIST_MEASURES_REQUEST__INIT;
    req.ags = (char *) th_config_get(a.flags, "district", "");
    req.state_code = (char *) th_config_get(a.flags, "state", "");
    const char *v;
    int value = 0;
    if ((v = cli_flag(&a, "field")) != NULL) {
        if ((rc = cli_enum(cli, who, "field", &teilhabe__common__v1__field_of_action__descriptor,
                           v, &value)) != 0)
            goto cleanup;
        req.field = value;
    }
    if ((v = cli_flag(&a, "target")) != NULL) {
        s_measure_t m = TEILHABE__MEASURES__V1__MEASURE__INIT;
        /* A filter by kind: "group" alone names every named group. */
        if ((rc = s_target(cli, who, strcmp(v, "group") == 0 ? "group:x" : v, &m)) != 0)
            goto cleanup;
        req.target_group = m.target_group;
    }
    if ((v = cli_flag(&a, "status")) != NULL) {
        if ((rc = cli_enum(cli, who, "status", &teilhabe__measures__v1__measure_status__descriptor,
                           v, &value)) != 0)
            goto cleanup;
        req.status = value;
    }
    rc = cli_fetch_all(cli, S_METHOD("ListMeasures"), &req.base, S_PAGE_MAX,
                       &teilhabe__measures__v1__list_measures_response__descriptor, "measures",
                       &pages);
    if (rc == 0)
        rc = cli_print_list(cli, &teilhabe__measures__v1__measure__descriptor, pages.items,
                            pages.n_items, s_columns);
cleanup:
    cli_pages_clear(&pages);
    cli_args_clear(&a);
    return rc;
}

/* Gets the measure id into *out (the caller clears it). The exit code. */
static int
s_get(cli_t *cli, const char *id, th_result_t *out)
{
    Teilhabe__Measures__V1__GetMeasureRequest req =
        TEILHABE__MEASURES__V1__GET_MEASURE_REQUEST__INIT;
    req.id = (char *) id;
    return cli_call(cli, S_METHOD("GetMeasure"), &req.base,
                    &teilhabe__measures__v1__measure__descriptor, NULL, out);
}

static int
s_show(cli_t *cli, int argc, char **argv)
{
    static const th_arg_t options[] = {{NULL, 0, NULL, 0}};
    cli_args_t a;
    int rc = cli_parse(cli, "measure show", argc, argv, options, 1, 1, &a);
    if (rc == 0) {
        th_result_t r;
        rc = s_get(cli, a.pos[0], &r);
        if (rc == 0)
            rc = cli_print_one(cli, r.response);
        th_result_clear(&r);
    }
    cli_args_clear(&a);
    return rc;
}

/* The version stored now of the measure whose id is arg
 * (cli_version_read_fn). */
static int
s_stored_version(cli_t *cli, void *arg, int64_t *version)
{
    th_result_t r;
    int rc = s_get(cli, arg, &r);
    if (rc == 0)
        *version = ((const s_measure_t *) r.response)->version;
    th_result_clear(&r);
    return rc;
}

static int
s_update(cli_t *cli, int argc, char **argv)
{
    static const char who[] = "measure update";
    static const th_arg_t extra[] = {{"version", TH_ARG_VALUE, NULL, 0}};
    th_arg_t options[S_FIELD_OPTIONS + 2];
    s_options(options, extra, 1);
    cli_args_t a;
    int rc = cli_parse(cli, who, argc, argv, options, 1, 1, &a);
    if (rc != 0)
        goto cleanup;
    Teilhabe__Measures__V1__UpdateMeasureRequest req =
        TEILHABE__MEASURES__V1__UPDATE_MEASURE_REQUEST__INIT;
    s_measure_t m = TEILHABE__MEASURES__V1__MEASURE__INIT;
    char *mask[16];
    size_t n = 0;
    if ((rc = s_fields(cli, who, &a, &m, mask, &n)) != 0)
        goto cleanup;
    if (n == 0) {
        rc = cli_usage_error(cli, "%s: name at least one field to change (--title, "
                                  "--description, --field, --target, --start, --end, "
                                  "--budget-eur, --funding, --municipality, --municipality-key)",
                             who);
        goto cleanup;
    }
    m.id = a.pos[0];
    req.measure = &m;
    req.update_mask = mask;
    req.n_update_mask = n;
    if ((rc = cli_version(cli, who, &a, 1, s_stored_version, m.id, &req.version)) != 0)
        goto cleanup;
    th_result_t r;
    rc = cli_call(cli, S_METHOD("UpdateMeasure"), &req.base,
                  &teilhabe__measures__v1__measure__descriptor, NULL, &r);
    if (rc == 0)
        rc = cli_print_one(cli, r.response);
    th_result_clear(&r);
cleanup:
    cli_args_clear(&a);
    return rc;
}

static int
s_transition(cli_t *cli, int argc, char **argv)
{
    static const char who[] = "measure transition";
    static const th_arg_t options[] = {{"version", TH_ARG_VALUE, NULL, 0}, {NULL, 0, NULL, 0}};
    cli_args_t a;
    int rc = cli_parse(cli, who, argc, argv, options, 2, 2, &a);
    if (rc != 0)
        goto cleanup;
    Teilhabe__Measures__V1__TransitionMeasureRequest req =
        TEILHABE__MEASURES__V1__TRANSITION_MEASURE_REQUEST__INIT;
    int status = 0;
    if ((rc = cli_enum(cli, who, "status", &teilhabe__measures__v1__measure_status__descriptor,
                       a.pos[1], &status)) != 0)
        goto cleanup;
    req.id = a.pos[0];
    req.status = status;
    if ((rc = cli_version(cli, who, &a, 1, s_stored_version, req.id, &req.version)) != 0)
        goto cleanup;
    th_result_t r;
    rc = cli_call(cli, S_METHOD("TransitionMeasure"), &req.base,
                  &teilhabe__measures__v1__measure__descriptor, NULL, &r);
    if (rc == 0)
        rc = cli_print_one(cli, r.response);
    th_result_clear(&r);
cleanup:
    cli_args_clear(&a);
    return rc;
}

static int
s_delete(cli_t *cli, int argc, char **argv)
{
    static const char who[] = "measure delete";
    static const th_arg_t options[] = {{"version", TH_ARG_VALUE, NULL, 0}, {NULL, 0, NULL, 0}};
    cli_args_t a;
    int rc = cli_parse(cli, who, argc, argv, options, 1, 1, &a);
    if (rc != 0)
        goto cleanup;
    Teilhabe__Measures__V1__DeleteMeasureRequest req =
        TEILHABE__MEASURES__V1__DELETE_MEASURE_REQUEST__INIT;
    req.id = a.pos[0];
    if ((rc = cli_version(cli, who, &a, 1, s_stored_version, req.id, &req.version)) != 0)
        goto cleanup;
    th_result_t r;
    rc = cli_call(cli, S_METHOD("DeleteMeasure"), &req.base,
                  &teilhabe__measures__v1__measure__descriptor, NULL, &r);
    if (rc == 0)
        rc = cli_print_one(cli, r.response);
    th_result_clear(&r);
cleanup:
    cli_args_clear(&a);
    return rc;
}

static int
s_measure(cli_t *cli, int argc, char **argv)
{
    const char *action = argc > 1 ? argv[1] : "";
    static const struct {
        const char *name;
        int (*run)(cli_t *, int, char **);
    } actions[] = {{"add", s_add},       {"list", s_list},           {"show", s_show},
                   {"update", s_update}, {"transition", s_transition}, {"delete", s_delete}};
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
        if (strcmp(action, actions[i].name) == 0)
            return actions[i].run(cli, argc - 1, argv + 1);
    return cli_usage_error(
        cli, "measure: say add --district AGS --title T --field F --target "
             "all|newcomers|group:NAME [--start D] [--end D] [--budget-eur N] "
             "[--municipality NAME] [--municipality-key KEY] [--description T] [--funding T], "
             "list [--district AGS | --state CODE] [--field F] [--target T] [--status S], "
             "show ID, update ID --FIELD VALUE ... [--version V], transition ID "
             "active|completed|cancelled [--version V] or delete ID [--version V]");
}

const cli_command_t cli_measure_commands[] = {
    {"measures", "measure", "add ... | list | show ID | update ID | transition ID S | delete ID",
     s_measure},
    {NULL, NULL, NULL, NULL},
};
