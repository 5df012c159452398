/* ---------------------------------------------------------------------------
 * th_answer.h: the answers every handler gives the same way.
 *
 * Each records the status and message on the call (and a violation naming
 * the field where there is one) and returns the status, so a handler
 * writes `return th_answer_invalid(call, "ags", "...")`.
 * ---------------------------------------------------------------------------
 */
#ifndef TH_ANSWER_H
#define TH_ANSWER_H

#include "th_call.h"

/* INVALID_ARGUMENT with one violation naming field; the message repeats it
 * ("invalid ags: \"1606\" is not an AGS of 5 digits"), so a person reading
 * only the message knows what to fix. */
int th_answer_invalid(th_call_t *call, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A status other than INVALID_ARGUMENT caused by one field (NOT_FOUND for
 * a district that ended, OUT_OF_RANGE for a date before the data begins,
 * ALREADY_EXISTS for a taken id): code with message, and a violation
 * naming field with why. docs/PROTOCOL.md 4.2: violations may come with
 * any status. */
int th_answer_field(th_call_t *call, int code, const char *field, const char *why,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Answers a failure of the database with its own status (UNAVAILABLE,
 * DEADLINE_EXCEEDED, ...) and "could not <what>: <why>", without SQL; the
 * details go to the log with the call id (a deadline that passed in the
 * database at info level: the caller chose it, so it is no failure of the
 * service and no client can fill the error log with it). */
int th_answer_db_failure(th_call_t *call, const char *what);

#endif /* TH_ANSWER_H */
