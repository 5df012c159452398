/* ---------------------------------------------------------------------------
 * th_config.h: configuration from a file, the environment and flags.
 *
 * Keys are lowercase words joined by underscores ("broker_endpoint").
 * Precedence, lowest first: built-in defaults < config file < environment
 * (TEILHABE_BROKER_ENDPOINT) < command-line flags (--broker-endpoint X or
 * --broker-endpoint=X). A program builds one th_config_t at start-up and
 * treats it as read-only afterwards.
 *
 * File format: one "key = value" per line; '#' starts a comment line; blank
 * lines are ignored; values may be wrapped in double quotes.
 * ---------------------------------------------------------------------------
 */
#ifndef TH_CONFIG_H
#define TH_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

typedef struct th_config_t th_config_t;

/* Returns an empty configuration, or NULL when out of memory. */
th_config_t *th_config_new(void);

/* Accepts NULL; sets *self_p to NULL. */
void th_config_destroy(th_config_t **self_p);

/* Sets key to a copy of value, replacing any earlier value. 0 or TH_EINVAL
 * (key not of [a-z0-9_]) or TH_ENOMEM. */
int th_config_set(th_config_t *self, const char *key, const char *value);

/* Sets key only if it has no value yet (for defaults applied last). */
int th_config_set_default(th_config_t *self, const char *key, const char *value);

/* Reads a config file. TH_ENOTFOUND when it does not exist, TH_EIO when it
 * cannot be read, TH_EINVAL on a malformed line; errbuf (may be NULL) then
 * holds a message naming the file and line. */
int th_config_load_file(th_config_t *self, const char *path, char *errbuf, size_t errlen);

/* Takes every TEILHABE_<KEY> environment variable as key (lowercased). */
int th_config_load_env(th_config_t *self);

/* Takes flags of the form --key value / --key=value (dashes in key become
 * underscores) from argv[1..]. Stops at "--" or at the first argument that
 * is not a flag; *first_arg receives its index (argc when none). Flags listed
 * in bool_flags (NULL-terminated, may be NULL) take no value and are set to
 * "true". TH_EINVAL when a flag lacks its value (errbuf says which). */
int th_config_load_args(th_config_t *self, int argc, char *const argv[],
                        const char *const *bool_flags, int *first_arg,
                        char *errbuf, size_t errlen);

/* Layers a program's configuration into self: the file named by flags'
 * "config" key or else by the TEILHABE_CONFIG variable (if any), then the
 * TEILHABE_<KEY> environment, then flags (already parsed with
 * th_config_load_args). Returns 0, or the file error of th_config_load_file
 * with its message in errbuf. */
int th_config_load_layers(th_config_t *self, const th_config_t *flags, char *errbuf,
                          size_t errlen);

/* Copies every key of src into self (src wins). */
int th_config_merge(th_config_t *self, const th_config_t *src);

/* The value, or fallback when unset. Borrowed: valid until the key changes. */
const char *th_config_get(const th_config_t *self, const char *key, const char *fallback);

/* Parses the value as a decimal integer in [min, max]; fallback when unset.
 * TH_EINVAL when set but not a number in range. */
int th_config_get_long(const th_config_t *self, const char *key, long fallback, long min,
                       long max, long *out);

/* "1", "true", "yes", "on" are true; "0", "false", "no", "off" false. */
int th_config_get_bool(const th_config_t *self, const char *key, bool fallback, bool *out);

#endif /* TH_CONFIG_H */
