/* ---------------------------------------------------------------------------
 * th_curve.h: the CURVE identity of a peer that connects to a broker.
 *
 * Clients and workers both need the same checks before they open a socket:
 * the broker's public key must be a 40-character Z85 key, and their own
 * certificate must be readable and hold a secret key (a ".cert" file holds
 * only the public half; the ".cert_secret" file is the one to give).
 * ---------------------------------------------------------------------------
 */
#ifndef TH_CURVE_H
#define TH_CURVE_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>

/* Checks broker_public_key and loads the secret certificate at cert_path.
 * who names the peer in messages ("client", "worker"). Returns the
 * certificate (the caller destroys it with zcert_destroy), or NULL with a
 * message in errbuf saying what is wrong and what to give instead. */
zcert_t *th_curve_load_identity(const char *broker_public_key, const char *cert_path,
                                const char *who, char *errbuf, size_t errlen);

#endif /* TH_CURVE_H */
