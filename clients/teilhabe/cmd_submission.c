/* ---------------------------------------------------------------------------
 * cmd_submission.c: `teilhabe submission submit|approve|return|reopen|show|
 * list`
 *
 * The submission of a district's period and the ministry's decision on it:
 *
 *   draft -> submitted -> approved
 *   submitted -> returned (with a reason) -> submitted
 *   approved -> reopened -> submitted
 *
 * A move without --version reads the submission first (a draft is version
 * 0). return needs --reason and reopen may have one; submit and approve
 * take none, so the CLI refuses a misplaced --reason before the network.
 * list shows every district of a Land in a period, drafts included, and
 * below the table how many are in each status across the Land.
 * ---------------------------------------------------------------------------
 */
#include "cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "teilhabe/v1/measures.pb-c.h"

#define S_METHOD(name) "teilhabe.measures.v1.Measures/" name

typedef Teilhabe__Measures__V1__Submission s_submission_t;

static const char *const s_columns[] = {
    "ags",          "district_name", "status", "version",
    "submitted_by", "decided_by",    "reason", NULL};

/* The moves: the word typed, the method, whether a reason is refused (0),
 * optional (1) or required (2). */
typedef struct {
    const char *word;
    const char *method;
    int reason;
} s_move_t;

static const s_move_t s_moves[] = {
    {"submit", S_METHOD("Submit"), 0},
    {"approve", S_METHOD("Approve"), 0},
    {"return", S_METHOD("ReturnSubmission"), 2},
    {"reopen", S_METHOD("Reopen"), 1},
};

/* Gets the submission of ags and period into *out (the caller clears it).
 * The exit code. */
static int
s_get(cli_t *cli, const char *ags, const char *period, th_result_t *out)
{
    Teilhabe__Measures__V1__GetSubmissionRequest req =
        TEILHABE__MEASURES__V1__GET_SUBMISSION_REQUEST__INIT;
    req.ags = (char *) ags;
    req.period = (char *) period;
    return cli_call(cli, S_METHOD("GetSubmission"), &req.base,
                    &teilhabe__measures__v1__submission__descriptor, NULL, out);
}

/* The version stored now of the submission arg names (0 for a draft;
 * cli_version_read_fn). */
static int
s_stored_version(cli_t *cli, void *arg, int64_t *version)
{
    const Teilhabe__Measures__V1__SubmissionMoveRequest *req = arg;
    th_result_t r;
    int rc = s_get(cli, req->ags, req->period, &r);
    if (rc == 0)
        *version = ((const s_submission_t *) r.response)->version;
    th_result_clear(&r);
    return rc;
}

static int
s_move(cli_t *cli, const s_move_t *move, int argc, char **argv)
{
    static const th_arg_t options[] = {{"reason", TH_ARG_VALUE, NULL, 0},
                                       {"version", TH_ARG_VALUE, NULL, 0},
                                       {NULL, 0, NULL, 0}};
    char who[32];
    snprintf(who, sizeof who, "submission %s", move->word);
    cli_args_t a;
    th_result_t r = {0};
    char *reason = NULL;
    int rc = cli_parse(cli, who, argc, argv, options, 2, 2, &a);
    if (rc != 0)
        goto cleanup;
    reason = strdup(th_config_get(a.flags, "reason", ""));
    if (reason == NULL) {
        fprintf(stderr, "%s: out of memory\n", cli->prog);
        rc = CLI_EXIT_LOCAL;
        goto cleanup;
    }
    if ((rc = cli_paragraphs(cli, who, "--reason", reason, 2000)) != 0)
        goto cleanup;
    if (move->reason == 2 && reason[0] == '\0') {
        rc = cli_usage_error(cli,
                             "%s: --reason TEXT is required: say what the district should "
                             "correct",
                             who);
        goto cleanup;
    }
    if (move->reason == 0 && cli_flag(&a, "reason") != NULL) {
        rc = cli_usage_error(cli, "%s: takes no --reason (only return and reopen do)", who);
        goto cleanup;
    }
    Teilhabe__Measures__V1__SubmissionMoveRequest req =
        TEILHABE__MEASURES__V1__SUBMISSION_MOVE_REQUEST__INIT;
    req.ags = a.pos[0];
    req.period = a.pos[1];
    req.reason = reason;
    if ((rc = cli_version(cli, who, &a, 0, s_stored_version, &req, &req.version)) != 0)
        goto cleanup;
    rc = cli_call(cli, move->method, &req.base,
                  &teilhabe__measures__v1__submission__descriptor, NULL, &r);
    if (rc == 0)
        rc = cli_print_one(cli, r.response);
cleanup:
    free(reason);
    th_result_clear(&r);
    cli_args_clear(&a);
    return rc;
}

static int
s_show(cli_t *cli, int argc, char **argv)
{
    static const th_arg_t options[] = {{NULL, 0, NULL, 0}};
    cli_args_t a;
    th_result_t r = {0};
    int rc = cli_parse(cli, "submission show", argc, argv, options, 2, 2, &a);
    if (rc == 0)
        rc = s_get(cli, a.pos[0], a.pos[1], &r);
    if (rc == 0)
        rc = cli_print_one(cli, r.response);
    th_result_clear(&r);
    cli_args_clear(&a);
    return rc;
}

static int
s_list(cli_t *cli, int argc, char **argv)
{
    static const char who[] = "submission list";
    static const th_arg_t options[] = {{"state", TH_ARG_VALUE, NULL, 0},
                                       {"period", TH_ARG_VALUE, NULL, 0},
                                       {"status", TH_ARG_VALUE, NULL, 0},
                                       {NULL, 0, NULL, 0}};
    cli_args_t a;
    th_result_t r = {0};
    int rc = cli_parse(cli, who, argc, argv, options, 0, 0, &a);
    if (rc != 0)
        goto cleanup;
    Teilhabe__Measures__V1__ListSubmissionsRequest req =
        TEILHABE__MEASURES__V1__LIST_SUBMISSIONS_REQUEST__INIT;
    req.state_code = (char *) th_config_get(a.flags, "state", "");
    req.period = (char *) th_config_get(a.flags, "period", "");
    if (req.state_code[0] == '\0' || req.period[0] == '\0') {
        rc = cli_usage_error(cli, "%s: --%s is required (e.g. --state 16 --period 2024)",
                             who, req.state_code[0] == '\0' ? "state CODE" : "period P");
        goto cleanup;
    }
    const char *v = cli_flag(&a, "status");
    int status = 0;
    if (v != NULL && (rc = cli_enum(cli, who, "status",
                                    &teilhabe__measures__v1__submission_status__descriptor,
                                    v, &status)) != 0)
        goto cleanup;
    req.status = status;
    rc = cli_call(cli, S_METHOD("ListSubmissions"), &req.base,
                  &teilhabe__measures__v1__list_submissions_response__descriptor, NULL, &r);
    if (rc != 0)
        goto cleanup;
    const Teilhabe__Measures__V1__ListSubmissionsResponse *resp = (const void *) r.response;
    /* JSON: the list and the counts; CSV: a row per district. */
    if (cli->format == TH_FORMAT_JSON) {
        rc = cli_print_one(cli, r.response);
        goto cleanup;
    }
    rc = cli_print_list(cli, &teilhabe__measures__v1__submission__descriptor,
                        (const ProtobufCMessage *const *) resp->submissions,
                        resp->n_submissions, s_columns);
    if (rc != 0 || cli->format != TH_FORMAT_TABLE)
        goto cleanup;
    /* The counts are the whole Land's, whatever --status shows. */
    printf("Land %s, %s: %d drafts, %d submitted, %d approved, %d returned, %d reopened\n",
           req.state_code, req.period, (int) resp->drafts, (int) resp->submitted,
           (int) resp->approved, (int) resp->returned, (int) resp->reopened);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "error: could not write the output\n");
        rc = CLI_EXIT_LOCAL;
    }
cleanup:
    th_result_clear(&r);
    cli_args_clear(&a);
    return rc;
}

static int
s_submission(cli_t *cli, int argc, char **argv)
{
    const char *action = argc > 1 ? argv[1] : "";
    for (size_t i = 0; i < sizeof s_moves / sizeof s_moves[0]; i++)
        if (strcmp(action, s_moves[i].word) == 0)
            return s_move(cli, &s_moves[i], argc - 1, argv + 1);
    if (strcmp(action, "show") == 0)
        return s_show(cli, argc - 1, argv + 1);
    if (strcmp(action, "list") == 0)
        return s_list(cli, argc - 1, argv + 1);
    return cli_usage_error(
        cli,
        "submission: say submit AGS PERIOD, approve AGS PERIOD, return AGS PERIOD --reason "
        "TEXT, reopen AGS PERIOD [--reason TEXT] (each [--version V]), show AGS PERIOD, "
        "or list --state CODE --period P [--status "
        "draft|submitted|approved|returned|reopened]");
}

const cli_command_t cli_submission_commands[] = {
    {"measures", "submission",
     "submit|approve|return|reopen AGS PERIOD | show AGS PERIOD | list --state --period",
     s_submission},
    {NULL, NULL, NULL, NULL},
};
