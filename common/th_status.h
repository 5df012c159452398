/* ---------------------------------------------------------------------------
 * th_status.h: gRPC canonical status codes (0-16) as teilhabe uses them.
 *
 * The numbers are those of teilhabe.rpc.v1.StatusCode and of gRPC. The
 * command-line tool maps each to an exit code (th_status_exit_code).
 * ---------------------------------------------------------------------------
 */
#ifndef TH_STATUS_H
#define TH_STATUS_H

#include <stdbool.h>

typedef enum {
    TH_OK = 0,
    TH_CANCELLED = 1,
    TH_UNKNOWN = 2,
    TH_INVALID_ARGUMENT = 3,
    TH_DEADLINE_EXCEEDED = 4,
    TH_NOT_FOUND = 5,
    TH_ALREADY_EXISTS = 6,
    TH_PERMISSION_DENIED = 7,
    TH_RESOURCE_EXHAUSTED = 8,
    TH_FAILED_PRECONDITION = 9,
    TH_ABORTED = 10,
    TH_OUT_OF_RANGE = 11,
    TH_UNIMPLEMENTED = 12,
    TH_INTERNAL = 13,
    TH_UNAVAILABLE = 14,
    TH_DATA_LOSS = 15,
    TH_UNAUTHENTICATED = 16,
} th_status_t;

#define TH_STATUS_MAX 16

/* "NOT_FOUND" for 5; "UNKNOWN" for a number outside 0-16. Static string. */
const char *th_status_name(int code);

/* The code for a name such as "NOT_FOUND" (case-insensitive), or -1. */
int th_status_from_name(const char *name);

/* True for codes a client may retry unchanged (UNAVAILABLE only: ABORTED and
 * RESOURCE_EXHAUSTED need the caller's judgement). */
bool th_status_is_retryable(int code);

/* Exit code of the command-line tool for a status: 0 for OK, 10 + code for
 * the others (so NOT_FOUND exits 15), 2 is kept for usage errors and 1 for
 * local failures that never reached the network. */
int th_status_exit_code(int code);

#endif /* TH_STATUS_H */
