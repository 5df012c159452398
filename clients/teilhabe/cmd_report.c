/* ---------------------------------------------------------------------------
 * cmd_report.c: teilhabe report land|district|concepts|indicator|eligibility,
 * the reports of teilhabe-reporting as HTML (the default), CSV or JSON, to
 * a file (-o FILE, written whole or not at all) or to standard output.
 * What the report is and how current its data are goes to standard error,
 * so a pipe gets only the file.
 * ---------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "teilhabe/v1/reporting.pb-c.h"

#define S_METHOD(name) "teilhabe.reporting.v1.Reporting/" name

typedef Teilhabe__Reporting__V1__Report s_report_t;

/* The options every report takes, then the report's own. */
#define S_COMMON_OPTIONS                                                                       \
    {"format", TH_ARG_VALUE, "report_format", 0}, {"lang", TH_ARG_VALUE, NULL, 0},             \
        {"section", TH_ARG_VALUE, NULL, 0}, {"threshold", TH_ARG_VALUE, NULL, 0},              \
        {"output", TH_ARG_VALUE, NULL, 'o'}

/* The render options from the flags; 0 or a usage error. */
static int
s_render(cli_t *cli, const char *who, const cli_args_t *a,
         Teilhabe__Reporting__V1__RenderOptions *o)
{
    static const struct {
        const char *name;
        Teilhabe__Reporting__V1__Format format;
    } formats[] = {{"html", TEILHABE__REPORTING__V1__FORMAT__FORMAT_HTML},
                   {"csv", TEILHABE__REPORTING__V1__FORMAT__FORMAT_CSV},
                   {"json", TEILHABE__REPORTING__V1__FORMAT__FORMAT_JSON}};
    const char *f = th_config_get(a->flags, "report_format", "html");
    o->format = TEILHABE__REPORTING__V1__FORMAT__FORMAT_NONE;
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (strcmp(f, formats[i].name) == 0)
            o->format = formats[i].format;
    if (o->format == TEILHABE__REPORTING__V1__FORMAT__FORMAT_NONE)
        return cli_usage_error(cli, "%s: --format must be html, csv or json, not \"%s\"", who,
                               f);
    const char *lang = "";
    int rc = cli_lang(cli, who, a, &lang);
    if (rc != 0)
        return rc;
    o->lang = (char *) lang;
    o->section = (char *) th_config_get(a->flags, "section", "");
    const char *t = th_config_get(a->flags, "threshold", "");
    if (t[0] != '\0') {
        int64_t v = 0;
        if ((rc = cli_int(cli, who, "threshold", t, 2, 100, &v)) != 0)
            return rc;
        o->suppression_threshold = (int32_t) v;
    }
    return 0;
}

/* Says on stderr what was written and how current it is. */
static void
s_describe(const s_report_t *rep, const char *where)
{
    const Teilhabe__Reporting__V1__ReportState *st = rep->state;
    fprintf(stderr, "%s: %s, %s, as of %s", where, rep->title, rep->subtitle,
            st != NULL ? st->as_of : "");
    if (st != NULL && st->period_from[0] != '\0')
        fprintf(stderr, ", period %s%s%s", st->period_from,
                strcmp(st->period_from, st->period_to) != 0 ? ".." : "",
                strcmp(st->period_from, st->period_to) != 0 ? st->period_to : "");
    fputc('\n', stderr);
    if (st == NULL)
        return;
    if (st->data_state == TEILHABE__REPORTING__V1__DATA_STATE__DATA_STATE_PROVISIONAL)
        fprintf(stderr, "  provisional: %zu district(s) have not had the period approved\n",
                st->n_open_districts);
    if (st->example_data)
        fprintf(stderr, "  contains example data (Beispieldaten)\n");
    if (st->illustrative)
        fprintf(stderr, "  contains illustrative amounts\n");
    if (st->suppressed_cells > 0)
        fprintf(stderr, "  %d value(s) suppressed (counts of people below %d)\n",
                st->suppressed_cells, st->suppression_threshold);
}

/* Calls method and writes the report's content to -o or stdout. */
static int
s_report(cli_t *cli, const char *method, const ProtobufCMessage *req, const cli_args_t *a)
{
    th_result_t r = {0};
    int rc = cli_call(cli, method, req, &teilhabe__reporting__v1__report__descriptor, NULL, &r);
    if (rc != 0) {
        th_result_clear(&r);
        return rc;
    }
    const s_report_t *rep = (const void *) r.response;
    const char *out = th_config_get(a->flags, "output", "");
    if (out[0] != '\0' && strcmp(out, "-") != 0) {
        rc = cli_write_file(out, rep->content.data, rep->content.len);
        if (rc == 0)
            s_describe(rep, out);
    } else {
        if (fwrite(rep->content.data, 1, rep->content.len, stdout) != rep->content.len ||
            fflush(stdout) != 0) {
            fprintf(stderr, "error: cannot write the report to standard output\n");
            rc = CLI_EXIT_LOCAL;
        }
    }
    th_result_clear(&r);
    return rc;
}

static int
s_land(cli_t *cli, int argc, char **argv)
{
    static const char who[] = "report land";
    static const th_arg_t options[] = {S_COMMON_OPTIONS,
                                       {"as-of", TH_ARG_VALUE, NULL, 0},
                                       {"period", TH_ARG_VALUE, NULL, 0},
                                       {NULL, 0, NULL, 0}};
    cli_args_t a;
    Teilhabe__Reporting__V1__RenderOptions o = TEILHABE__REPORTING__V1__RENDER_OPTIONS__INIT;
    int rc = cli_parse(cli, who, argc, argv, options, 1, 1, &a);
    if (rc == 0 && (rc = s_render(cli, who, &a, &o)) == 0) {
        Teilhabe__Reporting__V1__LandOverviewRequest req =
            TEILHABE__REPORTING__V1__LAND_OVERVIEW_REQUEST__INIT;
        req.state_code = a.pos[0];
        req.as_of = (char *) th_config_get(a.flags, "as_of", "");
        req.period = (char *) th_config_get(a.flags, "period", "");
        req.render = &o;
        rc = s_report(cli, S_METHOD("LandOverview"), &req.base, &a);
    }
    cli_args_clear(&a);
    return rc;
}

static int
s_district(cli_t *cli, int argc, char **argv)
{
    static const char who[] = "report district";
    static const th_arg_t options[] = {S_COMMON_OPTIONS,
                                       {"as-of", TH_ARG_VALUE, NULL, 0},
                                       {"from", TH_ARG_VALUE, NULL, 0},
                                       {"to", TH_ARG_VALUE, NULL, 0},
                                       {NULL, 0, NULL, 0}};
    cli_args_t a;
    Teilhabe__Reporting__V1__RenderOptions o = TEILHABE__REPORTING__V1__RENDER_OPTIONS__INIT;
    int rc = cli_parse(cli, who, argc, argv, options, 1, 1, &a);
    if (rc == 0 && (rc = s_render(cli, who, &a, &o)) == 0) {
        Teilhabe__Reporting__V1__DistrictProfileRequest req =
            TEILHABE__REPORTING__V1__DISTRICT_PROFILE_REQUEST__INIT;
        req.ags = a.pos[0];
        req.as_of = (char *) th_config_get(a.flags, "as_of", "");
        req.period_from = (char *) th_config_get(a.flags, "from", "");
        req.period_to = (char *) th_config_get(a.flags, "to", "");
        req.render = &o;
        rc = s_report(cli, S_METHOD("DistrictProfile"), &req.base, &a);
    }
    cli_args_clear(&a);
    return rc;
}

static int
s_concepts(cli_t *cli, int argc, char **argv)
{
    static const char who[] = "report concepts";
    static const th_arg_t options[] = {S_COMMON_OPTIONS,
                                       {"as-of", TH_ARG_VALUE, NULL, 0},
                                       {"state", TH_ARG_VALUE, NULL, 0},
                                       {NULL, 0, NULL, 0}};
    cli_args_t a;
    Teilhabe__Reporting__V1__RenderOptions o = TEILHABE__REPORTING__V1__RENDER_OPTIONS__INIT;
    int rc = cli_parse(cli, who, argc, argv, options, 0, 0, &a);
    if (rc == 0 && (rc = s_render(cli, who, &a, &o)) == 0) {
        Teilhabe__Reporting__V1__ConceptMonitorRequest req =
            TEILHABE__REPORTING__V1__CONCEPT_MONITOR_REQUEST__INIT;
        req.state_code = (char *) th_config_get(a.flags, "state", "");
        req.as_of = (char *) th_config_get(a.flags, "as_of", "");
        req.render = &o;
        rc = s_report(cli, S_METHOD("ConceptMonitor"), &req.base, &a);
    }
    cli_args_clear(&a);
    return rc;
}

static int
s_indicator(cli_t *cli, int argc, char **argv)
{
    static const char who[] = "report indicator";
    static const th_arg_t options[] = {S_COMMON_OPTIONS,
                                       {"state", TH_ARG_VALUE, NULL, 0},
                                       {"district", TH_ARG_LIST, NULL, 0},
                                       {"from", TH_ARG_VALUE, NULL, 0},
                                       {"to", TH_ARG_VALUE, NULL, 0},
                                       {"disaggregation", TH_ARG_VALUE, NULL, 0},
                                       {NULL, 0, NULL, 0}};
    cli_args_t a;
    Teilhabe__Reporting__V1__RenderOptions o = TEILHABE__REPORTING__V1__RENDER_OPTIONS__INIT;
    char *districts = NULL;
    char *ags[64];
    int rc = cli_parse(cli, who, argc, argv, options, 1, 1, &a);
    if (rc == 0 && (rc = s_render(cli, who, &a, &o)) == 0) {
        Teilhabe__Reporting__V1__IndicatorReportRequest req =
            TEILHABE__REPORTING__V1__INDICATOR_REPORT_REQUEST__INIT;
        req.indicator_code = a.pos[0];
        req.state_code = (char *) th_config_get(a.flags, "state", "");
        districts = strdup(th_config_get(a.flags, "district", ""));
        char *save = NULL;
        for (char *t = districts != NULL ? strtok_r(districts, ",", &save) : NULL;
             t != NULL && req.n_ags < 64; t = strtok_r(NULL, ",", &save))
            ags[req.n_ags++] = t;
        req.ags = ags;
        req.period_from = (char *) th_config_get(a.flags, "from", "");
        req.period_to = (char *) th_config_get(a.flags, "to", "");
        req.disaggregation = (char *) th_config_get(a.flags, "disaggregation", "");
        req.render = &o;
        rc = s_report(cli, S_METHOD("IndicatorReport"), &req.base, &a);
    }
    free(districts);
    cli_args_clear(&a);
    return rc;
}

static int
s_eligibility(cli_t *cli, int argc, char **argv)
{
    static const char who[] = "report eligibility";
    static const th_arg_t options[] = {S_COMMON_OPTIONS,
                                       {"as-of", TH_ARG_VALUE, NULL, 0},
                                       {"state", TH_ARG_VALUE, NULL, 0},
                                       {NULL, 0, NULL, 0}};
    cli_args_t a;
    Teilhabe__Reporting__V1__RenderOptions o = TEILHABE__REPORTING__V1__RENDER_OPTIONS__INIT;
    int rc = cli_parse(cli, who, argc, argv, options, 1, 1, &a);
    if (rc == 0 && (rc = s_render(cli, who, &a, &o)) == 0) {
        Teilhabe__Reporting__V1__EligibilityReportRequest req =
            TEILHABE__REPORTING__V1__ELIGIBILITY_REPORT_REQUEST__INIT;
        req.programme_code = a.pos[0];
        req.as_of = (char *) th_config_get(a.flags, "as_of", "");
        req.state_code = (char *) th_config_get(a.flags, "state", "");
        req.render = &o;
        rc = s_report(cli, S_METHOD("EligibilityReport"), &req.base, &a);
    }
    cli_args_clear(&a);
    return rc;
}

static int
s_dispatch(cli_t *cli, int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(cli_t *, int, char **);
    } reports[] = {{"land", s_land},
                   {"district", s_district},
                   {"concepts", s_concepts},
                   {"indicator", s_indicator},
                   {"eligibility", s_eligibility}};
    const char *which = argc > 1 ? argv[1] : "";
    for (size_t i = 0; i < sizeof reports / sizeof reports[0]; i++)
        if (strcmp(which, reports[i].name) == 0)
            return reports[i].run(cli, argc - 1, argv + 1);
    return cli_usage_error(
        cli, "report: say land CODE [--as-of D] [--period P], district AGS [--as-of D] "
             "[--from P --to P], concepts [--state CODE] [--as-of D], indicator CODE "
             "(--state CODE | --district AGS ...) [--from P --to P] [--disaggregation D] or "
             "eligibility PROGRAMME [--as-of D] [--state CODE]; each takes --format "
             "html|csv|json (default html), --lang de|en, --section ID (CSV), --threshold N "
             "and -o FILE");
}

const cli_command_t cli_report_commands[] = {
    {"reporting", "report",
     "land CODE | district AGS | concepts | indicator CODE | eligibility P  [--format "
     "html|csv|json] [-o FILE]",
     s_dispatch},
    {NULL, NULL, NULL, NULL},
};
