/* ---------------------------------------------------------------------------
 * th_args.c: command-line options through getopt_long (see th_args.h)
 * ---------------------------------------------------------------------------
 */
#include "th_args.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "th_error.h"

/* getopt_long returns S_VAL + the option's index for long options. */
#define S_VAL 256

void
th_args_key(const th_arg_t *a, char key[65])
{
    const char *src = a->key != NULL ? a->key : a->name;
    size_t i = 0;
    for (; src[i] != '\0' && i < 64; i++)
        key[i] = src[i] == '-' ? '_' : src[i];
    key[i] = '\0';
}

static bool
s_bool_word(const char *s)
{
    static const char *const words[] = {"true", "false", "yes", "no", "on", "off", "1", "0"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (strcmp(s, words[i]) == 0)
            return true;
    }
    return false;
}

/* The options of all groups, the first of each name only. */
typedef struct {
    const th_arg_t **args;
    th_config_t **into;
    size_t n;
} s_table_t;

static const th_arg_t *
s_find_name(const s_table_t *t, const char *name, size_t len)
{
    for (size_t i = 0; i < t->n; i++) {
        if (strlen(t->args[i]->name) == len && strncmp(t->args[i]->name, name, len) == 0)
            return t->args[i];
    }
    return NULL;
}

static int
s_table(const th_arg_group_t *groups, size_t n_groups, s_table_t *t)
{
    size_t total = 0;
    for (size_t g = 0; g < n_groups; g++)
        for (const th_arg_t *a = groups[g].args; a != NULL && a->name != NULL; a++)
            total++;
    t->args = calloc(total + 1, sizeof *t->args);
    t->into = calloc(total + 1, sizeof *t->into);
    t->n = 0;
    if (t->args == NULL || t->into == NULL)
        return TH_ENOMEM;
    for (size_t g = 0; g < n_groups; g++) {
        for (const th_arg_t *a = groups[g].args; a != NULL && a->name != NULL; a++) {
            if (s_find_name(t, a->name, strlen(a->name)) != NULL)
                continue;
            t->args[t->n] = a;
            t->into[t->n] = groups[g].into;
            t->n++;
        }
    }
    return 0;
}

static bool
s_takes_value(const th_arg_t *a)
{
    return a->kind == TH_ARG_VALUE || a->kind == TH_ARG_LIST || a->kind == TH_ARG_MULTI;
}

/* Stores one option's value in its config. */
static int
s_store(const th_arg_t *a, th_config_t *into, const char *value, char *errbuf, size_t errlen)
{
    char key[65];
    th_args_key(a, key);
    if (a->kind == TH_ARG_SWITCH || (a->kind == TH_ARG_BOOL && value == NULL))
        value = "true";
    int rc;
    if (a->kind == TH_ARG_MULTI && strchr(value, TH_ARGS_SEP) != NULL) {
        /* It would read as two values. */
        snprintf(errbuf, errlen, "flag --%s: a value may not contain the control character "
                 "0x1f", a->name);
        return TH_EINVAL;
    }
    const char *before = th_config_get(into, key, NULL);
    /* A MULTI value may be empty and still count: "--comment a=" is one. */
    if ((a->kind == TH_ARG_LIST && before != NULL && before[0] != '\0') ||
        (a->kind == TH_ARG_MULTI && before != NULL)) {
        const size_t len = strlen(before) + strlen(value) + 2;
        char *joined = malloc(len);
        if (joined == NULL)
            return TH_ENOMEM;
        snprintf(joined, len, "%s%c%s", before, a->kind == TH_ARG_MULTI ? TH_ARGS_SEP : ',',
                 value);
        rc = th_config_set(into, key, joined);
        free(joined);
    } else {
        rc = th_config_set(into, key, value);
    }
    if (rc == TH_EINVAL)
        snprintf(errbuf, errlen, "flag --%s has no valid configuration key", a->name);
    return rc;
}

int
th_args_parse(int argc, char *const argv[], const th_arg_group_t *groups, size_t n_groups,
              bool in_order, char ***positional, int *n_positional, char *errbuf,
              size_t errlen)
{
    int rc = 0;
    s_table_t t = {0};
    struct option *longopts = NULL;
    char *shortopts = NULL;
    char **work = NULL;
    char **merged = NULL; /* "--name=value" strings made for TH_ARG_BOOL pairs */
    size_t n_merged = 0;
    int wargc = 0;
    *positional = NULL;
    *n_positional = 0;
    if (argc < 1) {
        snprintf(errbuf, errlen, "no program name");
        return TH_EINVAL;
    }
    if ((rc = s_table(groups, n_groups, &t)) != 0)
        goto cleanup;
    longopts = calloc(t.n + 1, sizeof *longopts);
    shortopts = calloc(3 * t.n + 3, 1);
    work = calloc((size_t) argc + 1, sizeof *work);
    merged = calloc((size_t) argc + 1, sizeof *merged);
    if (longopts == NULL || shortopts == NULL || work == NULL || merged == NULL) {
        rc = TH_ENOMEM;
        goto cleanup;
    }
    size_t s = 0;
    if (in_order)
        shortopts[s++] = '+';
    shortopts[s++] = ':'; /* ':' for a missing value, '?' for the rest */
    for (size_t i = 0; i < t.n; i++) {
        const th_arg_t *a = t.args[i];
        longopts[i].name = a->name;
        longopts[i].has_arg = s_takes_value(a)     ? required_argument
                              : a->kind == TH_ARG_BOOL ? optional_argument
                                                       : no_argument;
        longopts[i].flag = NULL;
        longopts[i].val = S_VAL + (int) i;
        if (a->letter != 0) {
            shortopts[s++] = a->letter;
            if (s_takes_value(a))
                shortopts[s++] = ':';
        }
    }

    /* "--insecure true": getopt only knows "--insecure=true" for an
     * optional value, so such a pair is joined first. The scan follows
     * what getopt will do: a value option's value is never an option, and
     * in order, the first positional argument ends the options. */
    work[wargc++] = argv[0];
    bool options = true;
    for (int i = 1; i < argc; i++) {
        const char *w = argv[i];
        if (options && strcmp(w, "--") == 0) {
            options = false;
        } else if (options && strncmp(w, "--", 2) == 0) {
            const size_t len = strcspn(w + 2, "=");
            const th_arg_t *a = s_find_name(&t, w + 2, len);
            if (a != NULL && a->kind == TH_ARG_BOOL && w[2 + len] == '\0' && i + 1 < argc &&
                s_bool_word(argv[i + 1])) {
                const size_t size = strlen(w) + strlen(argv[i + 1]) + 2;
                char *joined = malloc(size);
                if (joined == NULL) {
                    rc = TH_ENOMEM;
                    goto cleanup;
                }
                snprintf(joined, size, "%s=%s", w, argv[i + 1]);
                merged[n_merged++] = joined;
                work[wargc++] = joined;
                i++;
                continue;
            }
            if (a != NULL && s_takes_value(a) && w[2 + len] == '\0' && i + 1 < argc) {
                work[wargc++] = argv[i++];
                work[wargc++] = argv[i];
                continue;
            }
        } else if (options && in_order && (w[0] != '-' || w[1] == '\0')) {
            options = false;
        }
        work[wargc++] = argv[i];
    }
    work[wargc] = NULL;

    optind = 0; /* glibc: start afresh (another parse may have run) */
    opterr = 0;
    for (;;) {
        int index = -1;
        const int c = getopt_long(wargc, work, shortopts, longopts, &index);
        if (c == -1)
            break;
        const char *word = optind > 0 && optind <= wargc ? work[optind - 1] : "";
        if (c == '?') {
            if (optopt >= S_VAL && (size_t) (optopt - S_VAL) < t.n)
                snprintf(errbuf, errlen, "flag --%s takes no value",
                         t.args[optopt - S_VAL]->name);
            else if (optopt != 0)
                snprintf(errbuf, errlen, "unknown flag \"-%c\"", optopt);
            else
                snprintf(errbuf, errlen, "unknown flag \"%s\"", word);
            rc = TH_EINVAL;
            goto cleanup;
        }
        if (c == ':') {
            if (optopt >= S_VAL && (size_t) (optopt - S_VAL) < t.n)
                snprintf(errbuf, errlen, "flag --%s needs a value",
                         t.args[optopt - S_VAL]->name);
            else
                snprintf(errbuf, errlen, "flag -%c needs a value", optopt);
            rc = TH_EINVAL;
            goto cleanup;
        }
        size_t i = t.n;
        if (c >= S_VAL) {
            i = (size_t) (c - S_VAL);
        } else {
            for (size_t k = 0; k < t.n; k++)
                if (t.args[k]->letter == c)
                    i = k;
        }
        if (i >= t.n) {
            snprintf(errbuf, errlen, "unknown flag \"%s\"", word);
            rc = TH_EINVAL;
            goto cleanup;
        }
        const th_arg_t *a = t.args[i];
        if (a->kind == TH_ARG_BOOL && optarg != NULL && !s_bool_word(optarg)) {
            snprintf(errbuf, errlen, "flag --%s takes true or false, not \"%s\"", a->name,
                     optarg);
            rc = TH_EINVAL;
            goto cleanup;
        }
        if ((rc = s_store(a, t.into[i], optarg, errbuf, errlen)) != 0)
            goto cleanup;
    }
    const int count = wargc - optind;
    *positional = calloc((size_t) count + 1, sizeof **positional);
    if (*positional == NULL) {
        rc = TH_ENOMEM;
        goto cleanup;
    }
    for (int i = 0; i < count; i++)
        (*positional)[i] = work[optind + i];
    *n_positional = count;

cleanup:
    if (rc == TH_ENOMEM)
        snprintf(errbuf, errlen, "out of memory");
    for (size_t i = 0; i < n_merged; i++)
        free(merged[i]);
    free(merged);
    free(work);
    free(shortopts);
    free(longopts);
    free(t.args);
    free(t.into);
    return rc;
}
