/* ---------------------------------------------------------------------------
 * th_error.h: negative error numbers returned by teilhabe's modules.
 *
 * Functions return 0 on success and one of these on failure; errno is never
 * used to pass errors between modules. RPC handlers speak status codes
 * (th_status.h) instead, because those travel to the client.
 * ---------------------------------------------------------------------------
 */
#ifndef TH_ERROR_H
#define TH_ERROR_H

enum {
    TH_EINVAL = -1,    /* invalid argument or malformed input */
    TH_ENOMEM = -2,    /* out of memory */
    TH_EIO = -3,       /* socket, file or process I/O failed */
    TH_ETIMEDOUT = -4, /* a deadline passed */
    TH_EPROTO = -5,    /* a peer broke the wire protocol */
    TH_ENOTFOUND = -6, /* a file, key or row does not exist */
    TH_EDB = -7,       /* the database reported an error */
    TH_ETOOBIG = -8,   /* a message or value exceeds its limit */
    TH_ESTATE = -9,    /* the object is in the wrong state for this call */
    TH_EAUTH = -10,    /* credentials missing or refused */
};

/* Returns a static, lowercase description of a th error number. */
const char *th_strerror(int err);

#endif /* TH_ERROR_H */
