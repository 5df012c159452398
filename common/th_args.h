/* ---------------------------------------------------------------------------
 * th_args.h: command-line options through getopt_long.
 *
 * Every teilhabe program takes long options (--as-of DATE, --as-of=DATE,
 * --include-ended) described by a table, and puts their values into a
 * th_config_t under their configuration key (as-of -> as_of), where they
 * take their place in the layers of th_config.h (file < environment <
 * flags). The option parsing itself is glibc's getopt_long: unambiguous
 * abbreviations, "--" ending the options, options anywhere among the
 * positional arguments (or only before them, for a command word). What
 * this module adds: several tables with a config each (a command's own
 * options and the global ones of the CLI), repeatable options, boolean
 * options that also take "true"/"false" after a space, and error messages
 * in teilhabe's style instead of getopt's.
 *
 * getopt_long keeps its state in globals (optind, optarg): parse in the
 * main thread, before any other thread starts.
 * ---------------------------------------------------------------------------
 */
#ifndef TH_ARGS_H
#define TH_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#include "th_config.h"

typedef enum {
    TH_ARG_VALUE = 0,  /* --name VALUE or --name=VALUE */
    TH_ARG_SWITCH = 1, /* --name alone: "true" */
    TH_ARG_LIST = 2,   /* a value that may repeat; the values are joined with ',' */
    TH_ARG_BOOL = 3,   /* --name alone ("true"), or --name=V, or --name V when V is
                          true/false/yes/no/on/off/1/0 */
    TH_ARG_MULTI = 4,  /* a value that may repeat, kept apart by TH_ARGS_SEP: for free
                          text, where a comma is part of a value */
} th_arg_kind_t;

/* What the values of a TH_ARG_MULTI option are joined with: the ASCII unit
 * separator, which no text a person types holds. */
#define TH_ARGS_SEP '\x1f'

typedef struct {
    const char *name;   /* as typed after "--" ("as-of"); NULL ends a table */
    th_arg_kind_t kind;
    const char *key;    /* config key; NULL = name with '-' as '_' */
    char letter;        /* a short form (-h), or 0 */
} th_arg_t;

/* Options and the configuration their values go into. */
typedef struct {
    const th_arg_t *args; /* ends with {NULL} */
    th_config_t *into;
} th_arg_group_t;

/* Parses argv[1..] against the options of groups (where two name the same
 * option, the first group's counts). in_order: the first positional
 * argument ends the options (it is a command word whose own options
 * follow); else options may stand anywhere. On success *positional (the
 * caller frees the array, not the strings, which are argv's) holds the
 * positional arguments in order and *n_positional their number. 0, or
 * TH_EINVAL with a message in errbuf ("unknown flag \"--stae\"",
 * "flag --state needs a value", "flag --wide takes no value"), or
 * TH_ENOMEM. */
int th_args_parse(int argc, char *const argv[], const th_arg_group_t *groups, size_t n_groups,
                  bool in_order, char ***positional, int *n_positional, char *errbuf,
                  size_t errlen);

/* The config key of an option into key (size 65): a->key, or its name
 * with '-' as '_'. */
void th_args_key(const th_arg_t *a, char key[65]);

#endif /* TH_ARGS_H */
