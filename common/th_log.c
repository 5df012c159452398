/* ---------------------------------------------------------------------------
 * th_log.c: structured key=value logging
 * ---------------------------------------------------------------------------
 */
#include "th_log.h"

#include "th_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* The logger's configuration: written once by th_log_init before threads
 * start, read-only afterwards. */
static char s_service[32] = "teilhabe";
static th_log_level_t s_level = TH_LOG_INFO;

static const char *const s_level_names[] = {"debug", "info", "warn", "error"};

void
th_log_init(const char *service, th_log_level_t level)
{
    if (service != NULL)
        snprintf(s_service, sizeof s_service, "%s", service);
    s_level = level;
}

int
th_log_level_parse(const char *text, th_log_level_t *out)
{
    if (text == NULL)
        return TH_EINVAL;
    if (strcasecmp(text, "debug") == 0)
        *out = TH_LOG_DEBUG;
    else if (strcasecmp(text, "info") == 0)
        *out = TH_LOG_INFO;
    else if (strcasecmp(text, "warn") == 0 || strcasecmp(text, "warning") == 0)
        *out = TH_LOG_WARN;
    else if (strcasecmp(text, "error") == 0)
        *out = TH_LOG_ERROR;
    else
        return TH_EINVAL;
    return 0;
}

/* Copies msg into out with quotes and newlines escaped, so one event stays
 * one line whatever a peer sent us. */
static void
s_quote(char *out, size_t size, const char *msg)
{
    size_t o = 0;
    for (const char *p = msg; *p != '\0' && o + 3 < size; p++) {
        if (*p == '"' || *p == '\\') {
            out[o++] = '\\';
            out[o++] = *p;
        } else if (*p == '\n' || *p == '\r' || *p == '\t') {
            out[o++] = ' ';
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
}

const char *
th_log_quote(char *buf, size_t size, const char *value)
{
    static const char hex[] = "0123456789abcdef";
    if (buf == NULL || size < 3 || value == NULL)
        return "\"\"";
    size_t o = 0;
    buf[o++] = '"';
    for (const unsigned char *p = (const unsigned char *) value; *p != '\0'; p++) {
        char escaped[4];
        size_t n = 0;
        if (*p == '"' || *p == '\\') {
            escaped[n++] = '\\';
            escaped[n++] = (char) *p;
        } else if (*p == '\n' || *p == '\r' || *p == '\t') {
            escaped[n++] = '\\';
            escaped[n++] = *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't';
        } else if (*p < 0x20 || *p == 0x7f) {
            escaped[n++] = '\\';
            escaped[n++] = 'x';
            escaped[n++] = hex[*p >> 4];
            escaped[n++] = hex[*p & 0x0f];
        } else {
            escaped[n++] = (char) *p;
        }
        /* Room must stay for the closing quote and the terminator. */
        if (o + n + 2 > size)
            break;
        memcpy(buf + o, escaped, n);
        o += n;
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

void
th_log(th_log_level_t level, uint64_t call_id, const char *msg, const char *fields, ...)
{
    if (level < s_level || level > TH_LOG_ERROR)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[40];
    size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof when - n, ".%03ldZ", ts.tv_nsec / 1000000L);

    char quoted[1024];
    s_quote(quoted, sizeof quoted, msg != NULL ? msg : "");

    char extra[2048] = "";
    if (fields != NULL) {
        va_list args;
        va_start(args, fields);
        vsnprintf(extra, sizeof extra, fields, args);
        va_end(args);
        for (char *p = extra; *p != '\0'; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
    }
    char line[4096];
    if (call_id != 0)
        snprintf(line, sizeof line, "ts=%s level=%s service=%s call=%llu msg=\"%s\"%s%s\n",
                 when, s_level_names[level], s_service, (unsigned long long) call_id,
                 quoted, extra[0] != '\0' ? " " : "", extra);
    else
        snprintf(line, sizeof line, "ts=%s level=%s service=%s msg=\"%s\"%s%s\n", when,
                 s_level_names[level], s_service, quoted, extra[0] != '\0' ? " " : "",
                 extra);
    /* One fputs per line: stdio locks the stream, so lines from threads do
     * not interleave. */
    fputs(line, stderr);
}
