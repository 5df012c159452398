/* ---------------------------------------------------------------------------
 * cmd_eligibility.c: `teilhabe eligibility programmes|show|check|run|
 * decisions|decision|validate|dry-run|publish`
 *
 * The funding programmes of teilhabe-eligibility (docs/eligibility.md):
 * their rule sets (show, validate, publish), a district's decision (check,
 * with --explain the trace, the what-ifs and the parts of the amount), a
 * Land's run (run: every page read, a progress line on a terminal) and the
 * stored decisions (decisions, decision ID [--verify]). Amounts are shown
 * in euros with the word "illustrativ" (--lang en: "illustrative") next to
 * any that rests on an unverified parameter; JSON and CSV carry the cents.
 * ---------------------------------------------------------------------------
 */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "teilhabe/v1/eligibility.pb-c.h"
#include "th_enum.h"
#include "th_money.h"
#include "th_status.h"

#define S_METHOD(name) "teilhabe.eligibility.v1.Eligibility/" name
#define S_PAGE_MAX 500
/* ValidateRuleSetRequest.text: at most 256 KiB (eligibility.proto). */
#define S_RULES_MAX (256 * 1024)
/* The first page of a run decides every district of the Land: it gets at
 * least this long (ms), whatever --timeout says. */
#define S_BATCH_TIMEOUT 120000
/* A rule set's hash as a table shows it. */
#define S_HASH_SHOWN 12

typedef Teilhabe__Eligibility__V1__Decision s_decision_t;
typedef Teilhabe__Eligibility__V1__Programme s_programme_t;

static const char *const s_programme_columns[] = {"code", "state_code", "name",
                                                  "valid_from", NULL};

/* --- small helpers ------------------------------------------------------- */

/* Text cells of a table, row by row; a failed allocation is remembered and
 * reported once, when the table is printed. */
typedef struct {
    char **v;
    size_t n, cap;
    bool failed;
} s_cells_t;

static void s_cell(s_cells_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
s_cell(s_cells_t *c, const char *fmt, ...)
{
    if (c->failed)
        return;
    if (c->n == c->cap) {
        const size_t cap = c->cap > 0 ? 2 * c->cap : 32;
        char **grown = realloc(c->v, cap * sizeof *grown);
        if (grown == NULL) {
            c->failed = true;
            return;
        }
        c->v = grown;
        c->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    char *text = NULL;
    if (vasprintf(&text, fmt, ap) < 0)
        c->failed = true;
    else
        c->v[c->n++] = text;
    va_end(ap);
}

static void
s_cells_clear(s_cells_t *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->v[i]);
    free(c->v);
    memset(c, 0, sizeof *c);
}

/* Prints the cells under header (columns wide) and clears them. */
static int
s_cells_print(cli_t *cli, s_cells_t *c, const char *const *header, size_t columns)
{
    int rc = 0;
    if (c->failed) {
        fprintf(stderr, "%s: out of memory\n", cli->prog);
        rc = CLI_EXIT_LOCAL;
    } else {
        rc = cli_print_cells(cli, header, columns, (const char *const *) c->v,
                             c->n / columns);
    }
    s_cells_clear(c);
    return rc;
}

/* The word next to an illustrative amount, in the language asked. */
static const char *
s_illustrative(const char *lang)
{
    return strcmp(lang, "en") == 0 ? "illustrative" : "illustrativ";
}

/* cents as "357500.00 EUR", followed by the word when illustrative. */
static void
s_amount(int64_t cents, bool illustrative, const char *lang, char *out, size_t size)
{
    char eur[32];
    th_money_format_eur(cents, eur, sizeof eur);
    snprintf(out, size, "%s EUR%s%s", eur, illustrative ? " " : "",
             illustrative ? s_illustrative(lang) : "");
}

static const char *
s_outcome(int outcome, char *buf, size_t size)
{
    return th_enum_label(&teilhabe__eligibility__v1__outcome__descriptor, outcome, buf,
                         size);
}

/* Ends a table-format output: stdout must have taken it all. */
static int
s_flush(void)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "error: could not write the output\n");
        return CLI_EXIT_LOCAL;
    }
    return 0;
}

/* Prints label and text, the text's words wrapped at width (0: one line),
 * each further line indented as far as the label. */
static void
s_print_wrapped(const char *label, const char *text, size_t width)
{
    const size_t indent = strlen(label);
    size_t col = indent;
    fputs(label, stdout);
    for (const char *p = text; *p != '\0';) {
        const size_t space = strspn(p, " \n");
        p += space;
        const size_t word = strcspn(p, " \n");
        if (word == 0)
            break;
        size_t shown = 0; /* code points: German words have umlauts */
        for (size_t i = 0; i < word; i++)
            shown += ((unsigned char) p[i] & 0xc0) != 0x80;
        if (col > indent && width > 0 && col + 1 + shown > width) {
            printf("\n%*s", (int) indent, "");
            col = indent;
        } else if (col > indent) {
            putchar(' ');
            col++;
        }
        fwrite(p, 1, word, stdout);
        col += shown;
        p += word;
    }
    putchar('\n');
}

/* --- programmes and rule sets ---------------------------------------------- */

static int
s_programmes(cli_t *cli, int argc, char **argv)
{
    static const char who[] = "eligibility programmes";
    static const th_arg_t options[] = {{"state", TH_ARG_VALUE, NULL, 0},
                                       {"lang", TH_ARG_VALUE, NULL, 0},
                                       {NULL, 0, NULL, 0}};
    cli_args_t a;
    th_result_t r = {0};
    const char *lang = "";
    int rc = cli_parse(cli, who, argc, argv, options, 0, 0, &a);
    if (rc != 0 || (rc = cli_lang(cli, who, &a, &lang)) != 0)
        goto cleanup;
    Teilhabe__Eligibility__V1__ListProgrammesRequest req =
        TEILHABE__ELIGIBILITY__V1__LIST_PROGRAMMES_REQUEST__INIT;
    req.state_code = (char *) th_config_get(a.flags, "state", "");
    req.lang = (char *) lang;
    rc = cli_call(cli, S_METHOD("ListProgrammes"), &req.base,
                  &teilhabe__eligibility__v1__list_programmes_response__descriptor, NULL,
                  &r);
    if (rc != 0)
        goto cleanup;
    const Teilhabe__Eligibility__V1__ListProgrammesResponse *resp =
        (const void *) r.response;
    rc = cli_print_list(cli, &teilhabe__eligibility__v1__programme__descriptor,
                        (const ProtobufCMessage *const *) resp->programmes,
                        resp->n_programmes, s_programme_columns);
cleanup:
    th_result_clear(&r);
    cli_args_clear(&a);
    return rc;
}

/* A programme for a person: name, description, a row per version. JSON:
 * the programme; CSV: a row per version. */
static int
s_print_programme(cli_t *cli, const s_programme_t *p)
{
    if (cli->format == TH_FORMAT_JSON)
        return cli_print_one(cli, &p->base);
    if (cli->format == TH_FORMAT_CSV)
        return cli_print_list(cli, &teilhabe__eligibility__v1__rule_set_version__descriptor,
                              (const ProtobufCMessage *const *) p->versions, p->n_versions,
                              NULL);
    printf("programme    %s (Land %s, from %s)\n", p->code, p->state_code, p->valid_from);
    printf("name         %s\n", p->name);
    s_print_wrapped("description  ", p->description, cli->wide ? 0 : CLI_TABLE_WIDTH);
    putchar('\n');
    static const char *const header[] = {"version",   "valid_from", "valid_to", "hash",
                                         "published", "by",         "source"};
    s_cells_t c = {0};
    for (size_t i = 0; i < p->n_versions; i++) {
        const Teilhabe__Eligibility__V1__RuleSetVersion *v = p->versions[i];
        s_cell(&c, "%d", (int) v->version);
        s_cell(&c, "%s", v->valid_from);
        s_cell(&c, "%s", v->valid_to[0] != '\0' ? v->valid_to : "(open)");
        s_cell(&c, "%.*s", S_HASH_SHOWN, v->hash);
        s_cell(&c, "%s", v->publish_time);
        s_cell(&c, "%s", v->published_by);
        s_cell(&c, "%s", v->source);
    }
    return s_cells_print(cli, &c, header, sizeof header / sizeof header[0]);
}

static int
s_show(cli_t *cli, int argc, char **argv)
{
    static const char who[] = "eligibility show";
    static const th_arg_t options[] = {{"lang", TH_ARG_VALUE, NULL, 0},
                                       {"text", TH_ARG_SWITCH, NULL, 0},
                                       {NULL, 0, NULL, 0}};
    cli_args_t a;
    th_result_t r = {0};
    const char *lang = "";
    int rc = cli_parse(cli, who, argc, argv, options, 1, 1, &a);
    if (rc != 0 || (rc = cli_lang(cli, who, &a, &lang)) != 0)
        goto cleanup;
    Teilhabe__Eligibility__V1__GetProgrammeRequest req =
        TEILHABE__ELIGIBILITY__V1__GET_PROGRAMME_REQUEST__INIT;
    req.code = a.pos[0];
    req.lang = (char *) lang;
    req.include_text = cli_flag(&a, "text") != NULL;
    rc = cli_call(cli, S_METHOD("GetProgramme"), &req.base,
                  &teilhabe__eligibility__v1__programme__descriptor, NULL, &r);
    if (rc != 0)
        goto cleanup;
    const s_programme_t *p = (const void *) r.response;
    /* --text in a table: the newest version's text as it is (versions come
     * by valid_from), ready to be saved and edited. */
    if (req.include_text && cli->format == TH_FORMAT_TABLE) {
        if (p->n_versions > 0)
            fputs(p->versions[p->n_versions - 1]->text, stdout);
        rc = s_flush();
        goto cleanup;
    }
    rc = s_print_programme(cli, p);
cleanup:
    th_result_clear(&r);
    cli_args_clear(&a);
    return rc;
}

/* Reads a rule set from path ("-": stdin) into *text. The exit code: a
 * NUL byte, which no rule set has, is refused as the service would refuse
 * the text. */
static int
s_read_rules(const char *path, char **text)
{
    size_t len = 0;
    int rc = cli_read_file(path, S_RULES_MAX, "256 KiB, the most a rule set may have", text,
                           &len);
    if (rc == 0 && strlen(*text) != len) {
        fprintf(stderr, "%s: contains a NUL byte at offset %zu: a rule set is UTF-8 text\n",
                path, strlen(*text));
        rc = th_status_exit_code(TH_INVALID_ARGUMENT);
    }
    return rc;
}

static int
s_validate(cli_t *cli, int argc, char **argv)
{
    static const th_arg_t options[] = {{NULL, 0, NULL, 0}};
    cli_args_t a;
    th_result_t r = {0};
    char *text = NULL;
    int rc = cli_parse(cli, "eligibility validate", argc, argv, options, 1, 1, &a);
    if (rc != 0 || (rc = s_read_rules(a.pos[0], &text)) != 0)
        goto cleanup;
    Teilhabe__Eligibility__V1__ValidateRuleSetRequest req =
        TEILHABE__ELIGIBILITY__V1__VALIDATE_RULE_SET_REQUEST__INIT;
    req.text = text;
    rc = cli_call(cli, S_METHOD("ValidateRuleSet"), &req.base,
                  &teilhabe__eligibility__v1__validate_rule_set_response__descriptor, NULL,
                  &r);
    if (rc != 0)
        goto cleanup;
    const Teilhabe__Eligibility__V1__ValidateRuleSetResponse *v = (const void *) r.response;
    if (cli->format != TH_FORMAT_TABLE) {
        rc = cli_print_one(cli, r.response);
    } else if (v->valid) {
        printf(
            "valid\nprogramme  %s\nLand       %s\nvalid      from %s to %s\nhash       %s\n"
            "facts      ",
            v->programme_code, v->state_code, v->valid_from,
            v->valid_to[0] != '\0' ? v->valid_to : "(open)", v->hash);
        for (size_t i = 0; i < v->n_facts; i++)
            printf("%s%s", i > 0 ? ", " : "", v->facts[i]);
        putchar('\n');
        rc = s_flush();
    }
    if (rc != 0 || v->valid)
        goto cleanup;
    /* As a compiler says it, so editors jump to the place. */
    const char *name = strcmp(a.pos[0], "-") == 0 ? "<stdin>" : a.pos[0];
    for (size_t i = 0; i < v->n_errors; i++) {
        const Teilhabe__Eligibility__V1__RuleSetError *e = v->errors[i];
        fprintf(stderr, "%s:", name);
        if (e->line > 0)
            fprintf(stderr, e->column > 0 ? "%d:%d:" : "%d:", (int) e->line,
                    (int) e->column);
        fprintf(stderr, " %s%s%s\n", e->field, e->field[0] != '\0' ? ": " : "", e->message);
    }
    fprintf(stderr, "%s: not a valid rule set (%zu error%s%s)\n", name, v->n_errors,
            v->n_errors == 1 ? "" : "s", v->n_errors >= 20 ? "; the first 20 shown" : "");
    rc = th_status_exit_code(TH_INVALID_ARGUMENT);
cleanup:
    free(text);
    th_result_clear(&r);
    cli_args_clear(&a);
    return rc;
}

static int
s_publish(cli_t *cli, int argc, char **argv)
{
    static const th_arg_t options[] = {{NULL, 0, NULL, 0}};
    cli_args_t a;
    th_result_t r = {0};
    char *text = NULL;
    int rc = cli_parse(cli, "eligibility publish", argc, argv, options, 1, 1, &a);
    if (rc != 0 || (rc = s_read_rules(a.pos[0], &text)) != 0)
        goto cleanup;
    Teilhabe__Eligibility__V1__PublishRuleSetRequest req =
        TEILHABE__ELIGIBILITY__V1__PUBLISH_RULE_SET_REQUEST__INIT;
    req.text = text;
    rc = cli_call(cli, S_METHOD("PublishRuleSet"), &req.base,
                  &teilhabe__eligibility__v1__programme__descriptor, NULL, &r);
    if (rc == th_status_exit_code(TH_INVALID_ARGUMENT))
        fprintf(stderr,
                "hint: \"teilhabe eligibility validate %s\" lists every error with its "
                "line\n",
                a.pos[0]);
    if (rc == 0)
        rc = s_print_programme(cli, (const s_programme_t *) r.response);
cleanup:
    free(text);
    th_result_clear(&r);
    cli_args_clear(&a);
    return rc;
}

/* How a rule set would decide, next to the version in force: the changed
 * districts (--all: every one) and the totals. */
static int
s_dry_run(cli_t *cli, int argc, char **argv)
{
    static const char who[] = "eligibility dry-run";
    static const th_arg_t options[] = {{"state", TH_ARG_VALUE, NULL, 0},
                                       {"as-of", TH_ARG_VALUE, NULL, 0},
                                       {"lang", TH_ARG_VALUE, NULL, 0},
                                       {"all", TH_ARG_SWITCH, NULL, 0},
                                       {NULL, 0, NULL, 0}};
    cli_args_t a;
    th_result_t r = {0};
    char *text = NULL;
    const char *lang = "";
    int rc = cli_parse(cli, who, argc, argv, options, 1, 1, &a);
    if (rc != 0 || (rc = cli_lang(cli, who, &a, &lang)) != 0 ||
        (rc = s_read_rules(a.pos[0], &text)) != 0)
        goto cleanup;
    Teilhabe__Eligibility__V1__DryRunRuleSetRequest req =
        TEILHABE__ELIGIBILITY__V1__DRY_RUN_RULE_SET_REQUEST__INIT;
    req.text = text;
    req.state_code = (char *) th_config_get(a.flags, "state", "");
    req.as_of = (char *) th_config_get(a.flags, "as_of", "");
    req.lang = (char *) lang;
    rc = cli_call(cli, S_METHOD("DryRunRuleSet"), &req.base,
                  &teilhabe__eligibility__v1__dry_run_rule_set_response__descriptor, NULL, &r);
    if (rc == th_status_exit_code(TH_INVALID_ARGUMENT))
        fprintf(stderr,
                "hint: \"teilhabe eligibility validate %s\" lists every error with its "
                "line\n",
                a.pos[0]);
    if (rc != 0)
        goto cleanup;
    const Teilhabe__Eligibility__V1__DryRunRuleSetResponse *d = (const void *) r.response;
    if (cli->format != TH_FORMAT_TABLE) {
        rc = cli_print_one(cli, r.response);
        goto cleanup;
    }
    char now[64], then[64];
    bool illustrative = d->new_illustrative;
    s_amount(d->current_total_cents, d->current_illustrative, lang, then, sizeof then);
    s_amount(d->new_total_cents, illustrative, lang, now, sizeof now);
    printf("programme  %s, as of %s, against %s\n", d->programme_code, d->as_of,
           d->current_version > 0 ? "the version in force" : "no version (a new programme)");
    if (d->current_version > 0)
        printf("in force   version %d: %d eligible, %s\n", (int) d->current_version,
               (int) d->current_eligible, then);
    printf("this text  %d eligible, %s\n", (int) d->new_eligible, now);
    printf("changed    %d of %zu districts\n", (int) d->changed, d->n_districts);
    static const char *const header[] = {"ags", "district", "now", "amount now",
                                         "with this text", "amount"};
    s_cells_t c = {0};
    char l1[TH_ENUM_TEXT_SIZE], l2[TH_ENUM_TEXT_SIZE];
    for (size_t i = 0; i < d->n_districts; i++) {
        const Teilhabe__Eligibility__V1__DryRunLine *l = d->districts[i];
        if (!l->changed && cli_flag(&a, "all") == NULL)
            continue;
        s_amount(l->current_cents, l->current_illustrative, lang, then, sizeof then);
        s_amount(l->new_cents, l->new_illustrative, lang, now, sizeof now);
        s_cell(&c, "%s", l->ags);
        s_cell(&c, "%s", l->district_name);
        s_cell(&c, "%s", l->current_outcome != 0 ? s_outcome(l->current_outcome, l1, sizeof l1)
                                                 : "-");
        s_cell(&c, "%s", then);
        s_cell(&c, "%s", s_outcome(l->new_outcome, l2, sizeof l2));
        s_cell(&c, "%s", now);
    }
    putchar('\n');
    rc = s_cells_print(cli, &c, header, 6);
cleanup:
    free(text);
    th_result_clear(&r);
    cli_args_clear(&a);
    return rc;
}

/* --- decisions ------------------------------------------------------------- */

/* The head of a decision: who, when, what, how much. */
static void
s_print_head(const s_decision_t *d, const char *lang)
{
    char label[TH_ENUM_TEXT_SIZE], before[TH_ENUM_TEXT_SIZE], amount[64];
    s_amount(d->entitlement_cents, d->illustrative, lang, amount, sizeof amount);
    printf("district   %s %s\n", d->ags, d->district_name);
    printf("programme  %s, rules version %d, as of %s\n", d->programme_code,
           (int) d->rule_version, d->as_of);
    printf("outcome    %s\n", s_outcome(d->outcome, label, sizeof label));
    printf("amount     %s\n", amount);
    printf("summary    %s\n", d->summary);
    if (d->changed)
        printf("changed    yes, before: %s\n",
               d->previous_outcome != 0
                   ? s_outcome(d->previous_outcome, before, sizeof before)
                   : "another amount");
    printf("decision   %s (%s, %s)\n", d->id, d->decided_by, d->decide_time);
}

/* The trace as a table (indented by depth), what would make each failed
 * criterion pass, and the parts of the amount. */
static int
s_print_explain(cli_t *cli, const s_decision_t *d, const char *lang)
{
    static const char *const trace_header[] = {"criterion", "fact", "value", "expected",
                                               "result"};
    s_cells_t c = {0};
    putchar('\n');
    for (size_t i = 0; i < d->n_trace; i++) {
        const Teilhabe__Eligibility__V1__TraceLine *t = d->trace[i];
        const int depth = t->depth > 0 && t->depth < 20 ? (int) t->depth : 0;
        s_cell(&c, "%*s%s", 2 * depth, "", t->criterion);
        s_cell(&c, "%s", t->fact);
        s_cell(&c, "%s", t->fact[0] != '\0' && t->value[0] == '\0' ? "(none)" : t->value);
        s_cell(&c, "%s", t->expected);
        s_cell(&c, "%s", t->passed ? "pass" : "fail");
    }
    int rc = s_cells_print(cli, &c, trace_header, 5);
    if (rc != 0)
        return rc;
    bool any = false;
    for (size_t i = 0; i < d->n_trace; i++) {
        const Teilhabe__Eligibility__V1__TraceLine *t = d->trace[i];
        /* A combinator fails through its children, which say it. */
        if (t->passed || t->fact[0] == '\0')
            continue;
        if (!any)
            printf("\nwhat would make it pass:\n");
        any = true;
        printf("  %s: %s\n", t->criterion,
               t->what_if[0] != '\0' ? t->what_if
               : t->fixable          ? "(no suggestion)"
                                     : "(nothing the district can change)");
    }
    if (d->outcome != TEILHABE__ELIGIBILITY__V1__OUTCOME__OUTCOME_ELIGIBLE)
        printf("\nattainable: %s\n",
               d->attainable ? "yes, if the district does what is said above" : "no");
    if (d->n_parts > 0) {
        static const char *const part_header[] = {"part", "how", "amount"};
        char amount[64];
        putchar('\n');
        for (size_t i = 0; i < d->n_parts; i++) {
            const Teilhabe__Eligibility__V1__EntitlementPart *p = d->parts[i];
            s_amount(p->cents, p->illustrative, lang, amount, sizeof amount);
            s_cell(&c, "%s", p->text[0] != '\0' ? p->text : p->id);
            s_cell(&c, "%s", p->how);
            s_cell(&c, "%s", amount);
        }
        if ((rc = s_cells_print(cli, &c, part_header, 3)) != 0)
            return rc;
    }
    return s_flush();
}

/* A decision: JSON and CSV every field; a table the head, with explain the
 * trace and parts, with facts the facts. */
static int
s_print_decision(cli_t *cli, const s_decision_t *d, const char *lang, bool explain,
                 bool facts)
{
    if (cli->format != TH_FORMAT_TABLE)
        return cli_print_one(cli, &d->base);
    s_print_head(d, lang);
    int rc = explain ? s_print_explain(cli, d, lang) : s_flush();
    if (rc != 0 || !facts || d->n_facts == 0)
        return rc;
    static const char *const header[] = {"fact", "value", "source"};
    s_cells_t c = {0};
    putchar('\n');
    for (size_t i = 0; i < d->n_facts; i++) {
        s_cell(&c, "%s", d->facts[i]->key);
        s_cell(&c, "%s",
               d->facts[i]->type[0] != '\0' && strcmp(d->facts[i]->type, "absent") == 0
                   ? "(none)"
                   : d->facts[i]->value);
        s_cell(&c, "%s", d->facts[i]->source);
    }
    return s_cells_print(cli, &c, header, 3);
}

/* Decisions as a list: JSON and CSV every field; a table a row each. */
static int
s_print_decisions(cli_t *cli, const ProtobufCMessage *const *items, size_t n,
                  const char *lang, bool with_id)
{
    if (cli->format != TH_FORMAT_TABLE)
        return cli_print_list(cli, &teilhabe__eligibility__v1__decision__descriptor, items,
                              n, NULL);
    static const char *const run_header[] = {"ags", "district", "outcome", "amount",
                                             "changed"};
    static const char *const list_header[] = {"id",      "programme", "ags",    "as_of",
                                              "outcome", "amount",    "changed"};
    s_cells_t c = {0};
    char label[TH_ENUM_TEXT_SIZE], amount[64];
    for (size_t i = 0; i < n; i++) {
        const s_decision_t *d = (const void *) items[i];
        s_amount(d->entitlement_cents, d->illustrative, lang, amount, sizeof amount);
        if (with_id) {
            s_cell(&c, "%s", d->id);
            s_cell(&c, "%s", d->programme_code);
            s_cell(&c, "%s", d->ags);
            s_cell(&c, "%s", d->as_of);
        } else {
            s_cell(&c, "%s", d->ags);
            s_cell(&c, "%s", d->district_name);
        }
        s_cell(&c, "%s", s_outcome(d->outcome, label, sizeof label));
        s_cell(&c, "%s", amount);
        s_cell(&c, "%s", d->changed ? "yes" : "");
    }
    return with_id ? s_cells_print(cli, &c, list_header, 7)
                   : s_cells_print(cli, &c, run_header, 5);
}

static int
s_check(cli_t *cli, int argc, char **argv)
{
    static const char who[] = "eligibility check";
    static const th_arg_t options[] = {{"as-of", TH_ARG_VALUE, NULL, 0},
                                       {"explain", TH_ARG_SWITCH, NULL, 0},
                                       {"lang", TH_ARG_VALUE, NULL, 0},
                                       {NULL, 0, NULL, 0}};
    cli_args_t a;
    th_result_t r = {0};
    const char *lang = "";
    int rc = cli_parse(cli, who, argc, argv, options, 2, 2, &a);
    if (rc != 0 || (rc = cli_lang(cli, who, &a, &lang)) != 0)
        goto cleanup;
    Teilhabe__Eligibility__V1__EvaluateRequest req =
        TEILHABE__ELIGIBILITY__V1__EVALUATE_REQUEST__INIT;
    req.programme_code = a.pos[0];
    req.ags = a.pos[1];
    req.as_of = (char *) th_config_get(a.flags, "as_of", "");
    req.lang = (char *) lang;
    /* A write (the decision is stored): the client library gives it an
     * idempotency key, or --idempotency-key's. */
    rc = cli_call(cli, S_METHOD("Evaluate"), &req.base,
                  &teilhabe__eligibility__v1__decision__descriptor, NULL, &r);
    if (rc == 0)
        rc = s_print_decision(cli, (const s_decision_t *) r.response, lang,
                              cli_flag(&a, "explain") != NULL, false);
cleanup:
    th_result_clear(&r);
    cli_args_clear(&a);
    return rc;
}

static int
s_decision(cli_t *cli, int argc, char **argv)
{
    static const char who[] = "eligibility decision";
    static const th_arg_t options[] = {{"verify", TH_ARG_SWITCH, NULL, 0},
                                       {"lang", TH_ARG_VALUE, NULL, 0},
                                       {NULL, 0, NULL, 0}};
    cli_args_t a;
    th_result_t r = {0};
    const char *lang = "";
    int rc = cli_parse(cli, who, argc, argv, options, 1, 1, &a);
    if (rc != 0 || (rc = cli_lang(cli, who, &a, &lang)) != 0)
        goto cleanup;
    Teilhabe__Eligibility__V1__GetDecisionRequest req =
        TEILHABE__ELIGIBILITY__V1__GET_DECISION_REQUEST__INIT;
    req.id = a.pos[0];
    req.verify = cli_flag(&a, "verify") != NULL;
    req.lang = (char *) lang;
    rc = cli_call(cli, S_METHOD("GetDecision"), &req.base,
                  &teilhabe__eligibility__v1__decision__descriptor, NULL, &r);
    if (rc != 0)
        goto cleanup;
    const s_decision_t *d = (const void *) r.response;
    rc = s_print_decision(cli, d, lang, true, true);
    if (rc == 0 && req.verify && cli->format == TH_FORMAT_TABLE) {
        printf("\nverified: %s\n",
               d->verified
                   ? "yes (the stored facts under the stored rules give the same "
                     "outcome and amount)"
                   : "no: the stored facts under the stored rules give another outcome "
                     "or amount");
        rc = s_flush();
    }
cleanup:
    th_result_clear(&r);
    cli_args_clear(&a);
    return rc;
}

/* A line on stderr after each page of a run (cli_page_progress_fn). */
static void
s_run_progress(cli_t *cli, void *arg, const ProtobufCMessage *page, size_t n_items)
{
    (void) cli;
    (void) arg;
    const Teilhabe__Eligibility__V1__EvaluateBatchResponse *b = (const void *) page;
    fprintf(stderr, "\rrun: %zu of %d decisions read", n_items, (int) b->districts);
    fflush(stderr);
}

static int
s_print_run(cli_t *cli, const cli_pages_t *pages, const char *lang)
{
    const Teilhabe__Eligibility__V1__EvaluateBatchResponse *b =
        (const void *) pages->pages[0].response;
    if (cli->format == TH_FORMAT_JSON) {
        /* The summary with every page's decisions, as if it were one reply. */
        json_t *all = th_format_message_json(&b->base);
        json_t *list = json_array();
        bool ok = all != NULL && list != NULL;
        for (size_t i = 0; ok && i < pages->n_items; i++)
            ok = json_array_append_new(list, th_format_message_json(pages->items[i])) == 0;
        ok = ok && json_object_set(all, "decisions", list) == 0 &&
             json_object_del(all, "next_page_token") == 0;
        ok = ok && json_dumpf(all, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0 &&
             putchar('\n') != EOF;
        json_decref(list);
        json_decref(all);
        if (!ok) {
            fprintf(stderr, "error: could not write the output\n");
            return CLI_EXIT_LOCAL;
        }
        return s_flush();
    }
    if (cli->format == TH_FORMAT_TABLE) {
        char amount[64];
        s_amount(b->total_cents, b->illustrative, lang, amount, sizeof amount);
        printf("run        %s\n", b->run_id);
        printf("districts  %d: %d eligible, %d not eligible, %d not applicable\n",
               (int) b->districts, (int) b->eligible, (int) b->not_eligible,
               (int) b->not_applicable);
        printf("total      %s\n", amount);
        printf("changed    %d\n\n", (int) b->changed);
    }
    return s_print_decisions(cli, pages->items, pages->n_items, lang, false);
}

static int
s_run(cli_t *cli, int argc, char **argv)
{
    static const char who[] = "eligibility run";
    static const th_arg_t options[] = {{"state", TH_ARG_VALUE, NULL, 0},
                                       {"as-of", TH_ARG_VALUE, NULL, 0},
                                       {"lang", TH_ARG_VALUE, NULL, 0},
                                       {NULL, 0, NULL, 0}};
    cli_args_t a;
    cli_pages_t pages = {0};
    const char *lang = "";
    int rc = cli_parse(cli, who, argc, argv, options, 1, 1, &a);
    if (rc != 0 || (rc = cli_lang(cli, who, &a, &lang)) != 0)
        goto cleanup;
    Teilhabe__Eligibility__V1__EvaluateBatchRequest req =
        TEILHABE__ELIGIBILITY__V1__EVALUATE_BATCH_REQUEST__INIT;
    req.programme_code = a.pos[0];
    req.state_code = (char *) th_config_get(a.flags, "state", "");
    req.as_of = (char *) th_config_get(a.flags, "as_of", "");
    req.lang = (char *) lang;
    const bool progress = cli_show_progress();
    if (progress) {
        fprintf(stderr, "run: deciding every district of %s%s%s ...", req.programme_code,
                req.state_code[0] != '\0' ? " in " : "", req.state_code);
        fflush(stderr);
    }
    const int timeout = cli->timeout_ms;
    if (cli->timeout_ms < S_BATCH_TIMEOUT)
        cli->timeout_ms = S_BATCH_TIMEOUT;
    rc = cli_fetch_all_progress(
        cli, S_METHOD("EvaluateBatch"), &req.base, S_PAGE_MAX,
        &teilhabe__eligibility__v1__evaluate_batch_response__descriptor, "decisions",
        progress ? s_run_progress : NULL, NULL, &pages);
    cli->timeout_ms = timeout;
    if (progress)
        fprintf(stderr, "\r\033[K");
    if (rc == 0)
        rc = s_print_run(cli, &pages, lang);
cleanup:
    cli_pages_clear(&pages);
    cli_args_clear(&a);
    return rc;
}

static int
s_decisions(cli_t *cli, int argc, char **argv)
{
    static const char who[] = "eligibility decisions";
    static const th_arg_t options[] = {
        {"programme", TH_ARG_VALUE, NULL, 0}, {"district", TH_ARG_VALUE, NULL, 0},
        {"since", TH_ARG_VALUE, NULL, 0},     {"changed", TH_ARG_SWITCH, NULL, 0},
        {"lang", TH_ARG_VALUE, NULL, 0},      {NULL, 0, NULL, 0}};
    cli_args_t a;
    cli_pages_t pages = {0};
    const char *lang = "";
    int rc = cli_parse(cli, who, argc, argv, options, 0, 0, &a);
    if (rc != 0 || (rc = cli_lang(cli, who, &a, &lang)) != 0)
        goto cleanup;
    Teilhabe__Eligibility__V1__ListDecisionsRequest req =
        TEILHABE__ELIGIBILITY__V1__LIST_DECISIONS_REQUEST__INIT;
    req.programme_code = (char *) th_config_get(a.flags, "programme", "");
    req.ags = (char *) th_config_get(a.flags, "district", "");
    req.since = (char *) th_config_get(a.flags, "since", "");
    req.changed_only = cli_flag(&a, "changed") != NULL;
    req.lang = (char *) lang;
    rc = cli_fetch_all(cli, S_METHOD("ListDecisions"), &req.base, S_PAGE_MAX,
                       &teilhabe__eligibility__v1__list_decisions_response__descriptor,
                       "decisions", &pages);
    if (rc == 0)
        rc = s_print_decisions(cli, pages.items, pages.n_items, lang, true);
cleanup:
    cli_pages_clear(&pages);
    cli_args_clear(&a);
    return rc;
}

static int
s_eligibility(cli_t *cli, int argc, char **argv)
{
    const char *action = argc > 1 ? argv[1] : "";
    static const struct {
        const char *name;
        int (*run)(cli_t *, int, char **);
    } actions[] = {{"programmes", s_programmes}, {"show", s_show},
                   {"check", s_check},           {"run", s_run},
                   {"decisions", s_decisions},   {"decision", s_decision},
                   {"validate", s_validate},     {"dry-run", s_dry_run},
                   {"publish", s_publish}};
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
        if (strcmp(action, actions[i].name) == 0)
            return actions[i].run(cli, argc - 1, argv + 1);
    return cli_usage_error(
        cli, "eligibility: say programmes [--state CODE], show PROGRAMME [--text], check "
             "PROGRAMME AGS [--as-of DATE] [--explain], run PROGRAMME [--state CODE|all] "
             "[--as-of DATE], decisions [--programme P] [--district AGS] [--since DATE] "
             "[--changed], decision ID [--verify], validate FILE, dry-run FILE [--state "
             "CODE|all] [--as-of DATE] [--all] or publish FILE (all but validate and publish "
             "take --lang de|en)");
}

const cli_command_t cli_eligibility_commands[] = {
    {"eligibility", "eligibility",
     "programmes | show P | check P AGS | run P | decisions | decision ID | validate F | "
     "dry-run F | publish F",
     s_eligibility},
    {NULL, NULL, NULL, NULL},
};
