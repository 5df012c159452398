/* ---------------------------------------------------------------------------
 * th_error.c: descriptions of teilhabe's error numbers
 * ---------------------------------------------------------------------------
 */
#include "th_error.h"

const char *
th_strerror(int err)
{
    switch (err) {
    case 0: return "success";
    case TH_EINVAL: return "invalid argument";
    case TH_ENOMEM: return "out of memory";
    case TH_EIO: return "input/output error";
    case TH_ETIMEDOUT: return "timed out";
    case TH_EPROTO: return "protocol error";
    case TH_ENOTFOUND: return "not found";
    case TH_EDB: return "database error";
    case TH_ETOOBIG: return "too large";
    case TH_ESTATE: return "wrong state";
    case TH_EAUTH: return "authentication failed";
    default: return "unknown error";
    }
}
