/* ---------------------------------------------------------------------------
 * th_curve.c: loading and checking CURVE identities
 * ---------------------------------------------------------------------------
 */
#include "th_curve.h"

#include "th_check.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

zcert_t *
th_curve_load_identity(const char *broker_public_key, const char *cert_path, const char *who,
                       char *errbuf, size_t errlen)
{
    if (!th_check_z85_key(broker_public_key)) {
        snprintf(errbuf, errlen,
                 "broker public key \"%s\" is not a 40-character Z85 CURVE key",
                 broker_public_key != NULL ? broker_public_key : "");
        return NULL;
    }
    if (cert_path == NULL || cert_path[0] == '\0') {
        snprintf(errbuf, errlen,
                 "no %s certificate given: CURVE needs the path of this %s's secret "
                 "certificate (cert)",
                 who, who);
        return NULL;
    }
    if (access(cert_path, R_OK) != 0) {
        snprintf(errbuf, errlen, "could not read %s certificate \"%s\": %s", who, cert_path,
                 strerror(errno));
        return NULL;
    }
    zcert_t *cert = zcert_load(cert_path);
    if (cert == NULL) {
        snprintf(errbuf, errlen, "could not load %s certificate \"%s\"", who, cert_path);
        return NULL;
    }
    /* A public-only certificate loads with an all-zero secret key */
    static const char zero_key[41] = "0000000000000000000000000000000000000000";
    if (strcmp(zcert_secret_txt(cert), zero_key) == 0) {
        snprintf(errbuf, errlen,
                 "%s certificate \"%s\" holds no secret key (give the .cert_secret file)", who,
                 cert_path);
        zcert_destroy(&cert);
        return NULL;
    }
    return cert;
}
