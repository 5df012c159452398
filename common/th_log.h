/* ---------------------------------------------------------------------------
 * th_log.h: structured key=value log lines on stderr.
 *
 * One line per event:
 *   ts=2026-11-22T01:02:03.456Z level=info service=broker call=42 msg="..." k=v
 * The logger is the one piece of process-wide mutable state teilhabe allows:
 * th_log_init sets it once at start-up, before any thread is started.
 * ---------------------------------------------------------------------------
 */
#ifndef TH_LOG_H
#define TH_LOG_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    TH_LOG_DEBUG = 0,
    TH_LOG_INFO = 1,
    TH_LOG_WARN = 2,
    TH_LOG_ERROR = 3,
} th_log_level_t;

/* Sets the service name shown in every line and the lowest level printed. */
void th_log_init(const char *service, th_log_level_t level);

/* Parses "debug", "info", "warn"/"warning", "error". 0 or TH_EINVAL. */
int th_log_level_parse(const char *text, th_log_level_t *out);

/* Logs one line. call_id 0 means "not about a call". msg is free text (it is
 * quoted); fields, if not NULL, is a printf format producing further
 * key=value pairs. */
void th_log(th_log_level_t level, uint64_t call_id, const char *msg,
            const char *fields, ...)
    __attribute__((format(printf, 4, 5)));

/* A buffer size for th_log_quote that fits a Z85 key, a file path or an
 * instance name; longer values are cut. */
#define TH_LOG_QUOTE_SIZE 256

/* Writes value into buf as one quoted log value: '"' and '\\' are
 * backslash-escaped, newline, carriage return and tab become \n, \r, \t,
 * other control bytes \xNN. The result is always closed by '"', also when
 * value had to be cut to fit (an escape is never split). Use it for every
 * value a peer, a file or the database chose, with a plain %s in the
 * fields format ("key=%s", not "key=\"%s\""), so that such a value can
 * neither end its field early nor forge further key=value pairs or lines.
 * Returns buf, or a constant "\"\"" when value is NULL or buf is too small
 * (size < 3); never NULL. */
const char *th_log_quote(char *buf, size_t size, const char *value);

#define th_log_debug(call, msg, ...) th_log(TH_LOG_DEBUG, (call), (msg), __VA_ARGS__)
#define th_log_info(call, msg, ...) th_log(TH_LOG_INFO, (call), (msg), __VA_ARGS__)
#define th_log_warn(call, msg, ...) th_log(TH_LOG_WARN, (call), (msg), __VA_ARGS__)
#define th_log_error(call, msg, ...) th_log(TH_LOG_ERROR, (call), (msg), __VA_ARGS__)

#endif /* TH_LOG_H */
