/* ---------------------------------------------------------------------------
 * keys.h: the key store behind teilhabe-keys (CURVE certificates for the
 * broker, its clients and its workers).
 *
 * A key store is one directory:
 *   DIR/broker.cert          the broker's public certificate (clients need it)
 *   DIR/broker.cert_secret   the broker's secret certificate (mode 0600)
 *   DIR/public/NAME.cert     one public certificate per principal; this is the
 *                            broker's certs_dir, so only public files live here
 *   DIR/private/NAME.cert_secret
 *                            the secret certificate of each principal (0600)
 * Files are CZMQ zcert files. A principal's certificate carries the metadata
 * id, name, role, state and districts (and, for a worker key, services: the
 * services it may serve), which the broker maps to a principal.
 *
 * Every function returns 0 or a negative th error (th_error.h); errbuf then
 * holds a message for the operator (PostgreSQL style, lowercase).
 * ---------------------------------------------------------------------------
 */
#ifndef TH_KEYS_H
#define TH_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Longest principal name or id we accept: names become file names. */
#define KEYS_NAME_MAX 64
/* Longest full service name in a worker's services list. */
#define KEYS_SERVICE_MAX 128

/* Most districts one certificate may name (a Land has at most 96 Kreise). */
#define KEYS_DISTRICTS_MAX 128

/* Most services one worker key may serve (as many as one READY names). */
#define KEYS_SERVICES_MAX 64

/* Certificates are a few hundred bytes; anything much larger is not one. */
#define KEYS_CERT_FILE_MAX 65536

/* A principal to be written into a certificate. Strings are borrowed. */
typedef struct {
    const char *name;      /* file name and "name" metadata */
    const char *id;        /* principal id; NULL or "" means the name */
    const char *role;      /* admin|ministry|manager|analyst|service|worker */
    const char *state;     /* 2-digit Land code, NULL or "" for federal scope */
    const char *districts; /* comma-separated 5-digit AGS, NULL or "" for none */
    const char *services;  /* role worker only, and required there: comma-separated
                              full service names it may serve */
} keys_principal_t;

/* Validators for what an operator types. Each returns 0 or TH_EINVAL with a
 * message in errbuf. */
int keys_check_name(const char *name, const char *what, char *errbuf, size_t errlen);
int keys_check_role(const char *role, char *errbuf, size_t errlen);
int keys_check_state(const char *state, char *errbuf, size_t errlen);
int keys_check_ags(const char *ags, const char *state, char *errbuf, size_t errlen);

/* Checks a comma list of full service names ("teilhabe.registry.v1.Registry")
 * as a worker key's services. */
int keys_check_services(const char *services, char *errbuf, size_t errlen);

/* Validates a whole principal: name, id, role, state, every district, the
 * services, and the rules between them (a ministry needs a Land; districts
 * must lie in the Land given; a worker key names its services, no other key
 * does). */
int keys_check_principal(const keys_principal_t *principal, char *errbuf, size_t errlen);

/* Creates DIR, DIR/public, DIR/private and the broker's key pair unless they
 * exist. Never replaces an existing key. *created (may be NULL) is set to
 * true when a new broker key was made. */
int keys_init(const char *dir, bool *created, char *errbuf, size_t errlen);

/* Creates a principal's key pair in the store made by keys_init. Refuses
 * (TH_ESTATE) when the name exists, unless force is set. */
int keys_client(const char *dir, const keys_principal_t *principal, bool force,
                char *errbuf, size_t errlen);

/* Prints the public key and the metadata of a certificate file to out as
 * "key = value" lines. Never prints a secret key. */
int keys_show(const char *path, FILE *out, char *errbuf, size_t errlen);

/* Writes a CLI configuration file for principal name: endpoint, the broker's
 * public certificate and the principal's secret certificate, with absolute
 * paths so the file works from any directory. Replaces an existing file. */
int keys_config(const char *dir, const char *name, const char *endpoint,
                const char *out_path, char *errbuf, size_t errlen);

#endif /* TH_KEYS_H */
