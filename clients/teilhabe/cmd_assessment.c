/* ---------------------------------------------------------------------------
 * cmd_assessment.c: `teilhabe assessment questions|set|show`
 *
 * The process self-assessment of a district and period (docs/measures.md,
 * "Periods"): the questions with their scale, and a district's ratings.
 * The CLI has no language setting: a table shows the German texts (the
 * language the districts answer in), JSON and CSV carry both. set writes
 * the whole assessment at once, every rated question a --rate CODE=N and,
 * if it has one, a --comment CODE=TEXT; without --version it reads the
 * version stored first (0 when there is none).
 * ---------------------------------------------------------------------------
 */
#include "cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "teilhabe/v1/measures.pb-c.h"

#define S_METHOD(name) "teilhabe.measures.v1.Measures/" name

typedef Teilhabe__Measures__V1__Assessment s_assessment_t;
typedef Teilhabe__Measures__V1__AssessmentAnswer s_answer_t;

static const char *const s_question_columns[] = {"code", "mark", "text_de", NULL};

static int
s_questions(cli_t *cli, int argc, char **argv)
{
    static const th_arg_t options[] = {{NULL, 0, NULL, 0}};
    cli_args_t a;
    th_result_t r = {0};
    int rc = cli_parse(cli, "assessment questions", argc, argv, options, 0, 0, &a);
    if (rc != 0)
        goto cleanup;
    Teilhabe__Measures__V1__ListAssessmentQuestionsRequest req =
        TEILHABE__MEASURES__V1__LIST_ASSESSMENT_QUESTIONS_REQUEST__INIT;
    rc = cli_call(cli, S_METHOD("ListAssessmentQuestions"), &req.base,
                  &teilhabe__measures__v1__list_assessment_questions_response__descriptor,
                  NULL, &r);
    if (rc != 0)
        goto cleanup;
    const Teilhabe__Measures__V1__ListAssessmentQuestionsResponse *resp =
        (const void *) r.response;
    /* JSON: the questions and both scales; CSV: a row per question (the
     * scale is no row of it). */
    if (cli->format == TH_FORMAT_JSON) {
        rc = cli_print_one(cli, r.response);
        goto cleanup;
    }
    rc = cli_print_list(cli, &teilhabe__measures__v1__assessment_question__descriptor,
                        (const ProtobufCMessage *const *) resp->questions,
                        resp->n_questions, s_question_columns);
    if (rc != 0 || cli->format != TH_FORMAT_TABLE)
        goto cleanup;
    printf("\nscale:");
    for (size_t i = 0; i < resp->n_scale_de; i++)
        printf("%s %s", i > 0 ? "," : "", resp->scale_de[i]);
    printf("\n");
    if (fflush(stdout) != 0) {
        fprintf(stderr, "error: could not write the output\n");
        rc = CLI_EXIT_LOCAL;
    }
cleanup:
    th_result_clear(&r);
    cli_args_clear(&a);
    return rc;
}

/* Writes an assessment: JSON as it came, CSV a row per answer with the
 * assessment's own fields in front (so that it carries every field), a
 * table a line about it above its answers. Returns 0 or CLI_EXIT_LOCAL. */
static int
s_print(cli_t *cli, const s_assessment_t *as)
{
    if (cli->format == TH_FORMAT_JSON)
        return cli_print_one(cli, &as->base);
    if (cli->format == TH_FORMAT_CSV) {
        printf(
            "ags,period,version,updated_by,update_time,question_code,rating,comment\r\n");
        for (size_t i = 0; i < as->n_answers; i++) {
            const s_answer_t *an = as->answers[i];
            printf("%s,%s,%" PRId64 ",", as->ags, as->period, as->version);
            th_format_csv_field(stdout, as->updated_by);
            printf(",%s,", as->update_time);
            th_format_csv_field(stdout, an->question_code);
            printf(",%d,", (int) an->rating);
            th_format_csv_field(stdout, an->comment);
            printf("\r\n");
        }
    } else if (as->version == 0) {
        printf("district %s, period %s: no self-assessment stored\n", as->ags, as->period);
    } else {
        printf("district %s, period %s: version %" PRId64 ", updated by %s at %s\n",
               as->ags, as->period, as->version, as->updated_by, as->update_time);
        if (as->n_answers > 0)
            return cli_print_list(
                cli, &teilhabe__measures__v1__assessment_answer__descriptor,
                (const ProtobufCMessage *const *) as->answers, as->n_answers, NULL);
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "error: could not write the output\n");
        return CLI_EXIT_LOCAL;
    }
    return 0;
}

/* Gets the assessment of ags and period into *out (the caller clears it).
 * The exit code. */
static int
s_get(cli_t *cli, const char *ags, const char *period, th_result_t *out)
{
    Teilhabe__Measures__V1__GetAssessmentRequest req =
        TEILHABE__MEASURES__V1__GET_ASSESSMENT_REQUEST__INIT;
    req.ags = (char *) ags;
    req.period = (char *) period;
    return cli_call(cli, S_METHOD("GetAssessment"), &req.base,
                    &teilhabe__measures__v1__assessment__descriptor, NULL, out);
}

static int
s_show(cli_t *cli, int argc, char **argv)
{
    static const th_arg_t options[] = {{NULL, 0, NULL, 0}};
    cli_args_t a;
    th_result_t r = {0};
    int rc = cli_parse(cli, "assessment show", argc, argv, options, 2, 2, &a);
    if (rc == 0)
        rc = s_get(cli, a.pos[0], a.pos[1], &r);
    if (rc == 0)
        rc = s_print(cli, (const s_assessment_t *) r.response);
    th_result_clear(&r);
    cli_args_clear(&a);
    return rc;
}

/* What s_stored_version needs: the request about to be sent, and whether
 * the caller said that ratings it leaves out may go (--replace). */
typedef struct {
    const Teilhabe__Measures__V1__SetAssessmentRequest *req;
    bool replace;
} s_read_t;

/* The version stored now (0 when none is; cli_version_read_fn). The
 * service replaces an assessment as a whole; without --version nobody
 * compared it with what is stored, so a rating stored but left out of
 * this request is refused here unless --replace says it may go. */
static int
s_stored_version(cli_t *cli, void *arg, int64_t *version)
{
    const s_read_t *rd = arg;
    th_result_t r;
    int rc = s_get(cli, rd->req->ags, rd->req->period, &r);
    if (rc != 0) {
        th_result_clear(&r);
        return rc;
    }
    const s_assessment_t *stored = (const void *) r.response;
    *version = stored->version;
    char dropped[512] = "";
    for (size_t i = 0; i < stored->n_answers; i++) {
        bool kept = false;
        for (size_t k = 0; k < rd->req->n_answers && !kept; k++)
            kept = strcmp(rd->req->answers[k]->question_code,
                          stored->answers[i]->question_code) == 0;
        if (!kept)
            snprintf(dropped + strlen(dropped), sizeof dropped - strlen(dropped), "%s%s",
                     dropped[0] != '\0' ? ", " : "", stored->answers[i]->question_code);
    }
    if (dropped[0] != '\0' && !rd->replace)
        rc = cli_usage_error(cli,
                             "assessment set: the stored assessment of %s for %s also rates "
                             "%s; an assessment is replaced as a whole, so give those --rate "
                             "again, or add --replace to remove them",
                             rd->req->ags, rd->req->period, dropped);
    th_result_clear(&r);
    return rc;
}

/* How many values a TH_ARG_MULTI option's text holds. */
static size_t
s_count(const char *text)
{
    size_t n = 1;
    for (const char *p = text; (p = strchr(p, TH_ARGS_SEP)) != NULL; p++)
        n++;
    return n;
}

/* Splits the values of a TH_ARG_MULTI option in place: the separators
 * become ends of strings and out[] (room for s_count(text)) points at each.
 * Returns their number. */
static size_t
s_split(char *text, char **out)
{
    size_t n = 0;
    out[n++] = text;
    for (char *p = text; (p = strchr(p, TH_ARGS_SEP)) != NULL;) {
        *p++ = '\0';
        out[n++] = p;
    }
    return n;
}

/* The answers of --rate CODE=N (repeated) into answers (n of them; the
 * codes point into items, split by the caller), each with no comment yet.
 * 0 or a usage error. */
static int
s_rates(cli_t *cli, const char *who, char **items, size_t n, s_answer_t *answers)
{
    for (size_t i = 0; i < n; i++) {
        s_answer_t *an = &answers[i];
        teilhabe__measures__v1__assessment_answer__init(an);
        char *eq = strchr(items[i], '=');
        if (eq == NULL || eq == items[i])
            return cli_usage_error(
                cli, "%s: --rate takes CODE=N (e.g. shared_understanding=3), not \"%s\"",
                who, items[i]);
        *eq = '\0';
        const char *rating = eq + 1;
        if (rating[0] < '1' || rating[0] > '4' || rating[1] != '\0')
            return cli_usage_error(cli,
                                   "%s: --rate %s=%s: a rating is 1, 2, 3 or 4%s", who,
                                   items[i], rating,
                                   strchr(rating, ',') != NULL
                                       ? " (give --rate once per question, not a list)"
                                       : "");
        for (size_t k = 0; k < i; k++)
            if (strcmp(answers[k].question_code, items[i]) == 0)
                return cli_usage_error(cli, "%s: --rate rates %s twice", who, items[i]);
        an->question_code = items[i];
        an->rating = rating[0] - '0';
    }
    return 0;
}

/* Puts each --comment CODE=TEXT (items, n of them) on the answer rating
 * CODE. 0 or a usage error. */
static int
s_comments(cli_t *cli, const char *who, char **items, size_t n, s_answer_t *answers,
           size_t n_answers)
{
    bool *commented = calloc(n_answers, sizeof *commented);
    if (commented == NULL) {
        fprintf(stderr, "%s: out of memory\n", cli->prog);
        return CLI_EXIT_LOCAL;
    }
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char *eq = strchr(items[i], '=');
        if (eq == NULL || eq == items[i]) {
            rc = cli_usage_error(cli,
                                 "%s: --comment takes CODE=TEXT (e.g. 'concept_in_use=Only "
                                 "in the youth office'), not \"%s\"",
                                 who, items[i]);
            break;
        }
        *eq = '\0';
        size_t k = 0;
        while (k < n_answers && strcmp(answers[k].question_code, items[i]) != 0)
            k++;
        if (k == n_answers)
            rc = cli_usage_error(cli,
                                 "%s: --comment %s: that question has no --rate; a comment "
                                 "goes with a rating (--rate %s=N)",
                                 who, items[i], items[i]);
        else if (commented[k])
            rc = cli_usage_error(cli, "%s: --comment names %s twice", who, items[i]);
        else {
            commented[k] = true;
            answers[k].comment = eq + 1;
            char flag[96];
            snprintf(flag, sizeof flag, "--comment %.80s", items[i]);
            rc = cli_paragraphs(cli, who, flag, eq + 1, 2000);
        }
    }
    free(commented);
    return rc;
}

static int
s_set(cli_t *cli, int argc, char **argv)
{
    static const char who[] = "assessment set";
    static const th_arg_t options[] = {{"rate", TH_ARG_MULTI, NULL, 0},
                                       {"comment", TH_ARG_MULTI, NULL, 0},
                                       {"version", TH_ARG_VALUE, NULL, 0},
                                       {"replace", TH_ARG_SWITCH, NULL, 0},
                                       {NULL, 0, NULL, 0}};
    cli_args_t a;
    th_result_t r = {0};
    char *rates = NULL, *comments = NULL;
    char **rate_items = NULL, **comment_items = NULL;
    s_answer_t *answers = NULL;
    s_answer_t **list = NULL;
    int rc = cli_parse(cli, who, argc, argv, options, 2, 2, &a);
    if (rc != 0)
        goto cleanup;
    if (cli_flag(&a, "rate") == NULL) {
        rc = cli_usage_error(cli,
                             "%s: rate at least one question: --rate CODE=N, N from 1 to 4 "
                             "(\"teilhabe assessment questions\" lists the codes and the "
                             "scale)",
                             who);
        goto cleanup;
    }
    rates = strdup(cli_flag(&a, "rate"));
    comments = strdup(th_config_get(a.flags, "comment", ""));
    if (rates == NULL || comments == NULL)
        goto out_of_memory;
    const size_t n = s_count(rates);
    const size_t n_comments = cli_flag(&a, "comment") != NULL ? s_count(comments) : 0;
    rate_items = calloc(n, sizeof *rate_items);
    comment_items = calloc(n_comments + 1, sizeof *comment_items);
    answers = calloc(n, sizeof *answers);
    list = calloc(n, sizeof *list);
    if (rate_items == NULL || comment_items == NULL || answers == NULL || list == NULL)
        goto out_of_memory;
    s_split(rates, rate_items);
    if (n_comments > 0)
        s_split(comments, comment_items);
    if ((rc = s_rates(cli, who, rate_items, n, answers)) != 0 ||
        (rc = s_comments(cli, who, comment_items, n_comments, answers, n)) != 0)
        goto cleanup;
    Teilhabe__Measures__V1__SetAssessmentRequest req =
        TEILHABE__MEASURES__V1__SET_ASSESSMENT_REQUEST__INIT;
    for (size_t i = 0; i < n; i++)
        list[i] = &answers[i];
    req.ags = a.pos[0];
    req.period = a.pos[1];
    req.answers = list;
    req.n_answers = n;
    s_read_t rd = {.req = &req, .replace = cli_flag(&a, "replace") != NULL};
    if ((rc = cli_version(cli, who, &a, 0, s_stored_version, &rd, &req.version)) != 0)
        goto cleanup;
    rc = cli_call(cli, S_METHOD("SetAssessment"), &req.base,
                  &teilhabe__measures__v1__assessment__descriptor, NULL, &r);
    if (rc == 0)
        rc = s_print(cli, (const s_assessment_t *) r.response);
    goto cleanup;
out_of_memory:
    fprintf(stderr, "%s: out of memory\n", cli->prog);
    rc = CLI_EXIT_LOCAL;
cleanup:
    th_result_clear(&r);
    free(list);
    free(answers);
    free(comment_items);
    free(rate_items);
    free(comments);
    free(rates);
    cli_args_clear(&a);
    return rc;
}

static int
s_assessment(cli_t *cli, int argc, char **argv)
{
    const char *action = argc > 1 ? argv[1] : "";
    static const struct {
        const char *name;
        int (*run)(cli_t *, int, char **);
    } actions[] = {{"questions", s_questions}, {"set", s_set}, {"show", s_show}};
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
        if (strcmp(action, actions[i].name) == 0)
            return actions[i].run(cli, argc - 1, argv + 1);
    return cli_usage_error(
        cli, "assessment: say questions, set AGS PERIOD --rate CODE=N [--rate "
             "CODE=N ...] [--comment CODE=TEXT ...] [--version V] [--replace], or "
             "show AGS PERIOD");
}

const cli_command_t cli_assessment_commands[] = {
    {"measures", "assessment",
     "questions | set AGS PERIOD --rate CODE=N ... | show AGS PERIOD (self-assessment)",
     s_assessment},
    {NULL, NULL, NULL, NULL},
};
