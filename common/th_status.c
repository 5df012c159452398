/* ---------------------------------------------------------------------------
 * th_status.c: names and mappings of the canonical status codes
 * ---------------------------------------------------------------------------
 */
#include "th_status.h"

#include <stddef.h>
#include <strings.h>

static const char *const s_names[TH_STATUS_MAX + 1] = {
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
    "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
};

const char *
th_status_name(int code)
{
    if (code < 0 || code > TH_STATUS_MAX)
        return "UNKNOWN";
    return s_names[code];
}

int
th_status_from_name(const char *name)
{
    if (name == NULL)
        return -1;
    for (int i = 0; i <= TH_STATUS_MAX; i++)
        if (strcasecmp(name, s_names[i]) == 0)
            return i;
    return -1;
}

bool
th_status_is_retryable(int code)
{
    return code == TH_UNAVAILABLE;
}

int
th_status_exit_code(int code)
{
    if (code == TH_OK)
        return 0;
    if (code < 0 || code > TH_STATUS_MAX)
        return 10 + TH_UNKNOWN;
    return 10 + code;
}
