/* ---------------------------------------------------------------------------
 * th_answer.c: the answers every handler gives the same way
 * ---------------------------------------------------------------------------
 */
#include "th_answer.h"

#include <stdarg.h>
#include <stdio.h>

#include "th_db.h"
#include "th_log.h"
#include "th_status.h"

int
th_answer_invalid(th_call_t *call, const char *field, const char *fmt, ...)
{
    char desc[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(desc, sizeof desc, fmt, ap);
    va_end(ap);
    th_call_violation(call, field, "%s", desc);
    return th_call_error(call, TH_INVALID_ARGUMENT, "invalid %s: %s", field, desc);
}

int
th_answer_field(th_call_t *call, int code, const char *field, const char *why,
                const char *fmt, ...)
{
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    th_call_violation(call, field, "%s", why);
    return th_call_error(call, code, "%s", message);
}

int
th_answer_db_failure(th_call_t *call, const char *what)
{
    th_db_t *db = th_call_db(call);
    int code = db != NULL ? th_db_status(db) : TH_UNAVAILABLE;
    if (code == TH_OK)
        code = TH_INTERNAL;
    const th_log_level_t level = code == TH_DEADLINE_EXCEEDED ? TH_LOG_INFO : TH_LOG_ERROR;
    th_log(level, th_call_id(call), "database failure", "what=\"%s\" sqlstate=%s code=%s",
           what, db != NULL ? th_db_sqlstate(db) : "", th_status_name(code));
    if (db != NULL)
        th_log_debug(th_call_id(call), th_db_error(db), "what=\"%s\"", what);
    const char *why = code == TH_UNAVAILABLE ? "the database is unavailable, try again"
                      : code == TH_DEADLINE_EXCEEDED ? "the deadline passed"
                                                     : "a database error occurred";
    return th_call_error(call, code, "could not %s: %s", what, why);
}
