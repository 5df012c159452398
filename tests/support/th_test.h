/* ---------------------------------------------------------------------------
 * th_test.h: helpers shared by the tests.
 *
 * Integration tests run the real programs: th_proc_* spawns and stops them,
 * th_test_keys_* makes CURVE certificates in the same layout as ops/keys
 * (DIR/broker.cert, DIR/broker.cert_secret, DIR/public/NAME.cert,
 * DIR/private/NAME.cert_secret), th_test_free_port picks loopback ports.
 * Nothing here is mocked: what a test talks to is the real thing.
 * ---------------------------------------------------------------------------
 */
#ifndef TH_TEST_H
#define TH_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Paths of the built programs (this build tree). */
#define TH_TEST_BROKER_BIN TH_BINARY_DIR "/services/broker/teilhabe-broker"
#define TH_TEST_TESTWORKER_BIN TH_BINARY_DIR "/services/testworker/teilhabe-testworker"
#define TH_TEST_REGISTRY_BIN TH_BINARY_DIR "/services/registry/teilhabe-registry"
#define TH_TEST_MEASURES_BIN TH_BINARY_DIR "/services/measures/teilhabe-measures"
#define TH_TEST_ELIGIBILITY_BIN TH_BINARY_DIR "/services/eligibility/teilhabe-eligibility"
#define TH_TEST_REPORTING_BIN TH_BINARY_DIR "/services/reporting/teilhabe-reporting"
#define TH_TEST_KEYS_BIN TH_BINARY_DIR "/services/keys/teilhabe-keys"
#define TH_TEST_CLI_BIN TH_BINARY_DIR "/clients/teilhabe/teilhabe"

/* The database URL ops/test exported as TEILHABE_TEST_DB_URL, or NULL. */
const char *th_test_db_url(void);

/* Like th_test_db_url, but fails the running cmocka test with a message
 * telling how to run it when the variable is not set. */
const char *th_test_require_db_url(void);

/* TEILHABE_TEST_DB_URL is the conninfo of the owner role (teilhabe_owner,
 * made by ops/pg, passwords in the passfile the conninfo names). The same
 * conninfo for another role, e.g. a service's runtime role
 * ("teilhabe_registry"): malloc'ed, caller frees; NULL when the variable is
 * not set or does not parse. */
char *th_test_db_url_as(const char *role);

/* Writes conninfo (keyword/value string or URI) into out as a keyword/value
 * string with keyword set to value (added when missing). 0, or -1 when it
 * does not parse or does not fit. */
int th_test_conninfo_set(const char *conninfo, const char *keyword, const char *value,
                         char *out, size_t outlen);

/* A TCP port on 127.0.0.1 that was free a moment ago. */
int th_test_free_port(void);

/* Creates a fresh directory under $TMPDIR (or /tmp). Caller frees the path. */
char *th_test_tmpdir(const char *prefix);

/* Removes a directory tree (used on test temp dirs only). */
void th_test_rmtree(const char *path);

/* Lines of the file at path that contain needle (0 when it cannot be
 * read). For checking what a process logged. */
size_t th_test_count_in_file(const char *path, const char *needle);

/* Waits until a TCP connect to 127.0.0.1:port succeeds; false on timeout. */
bool th_test_wait_port(int port, int timeout_ms);

/* --- processes ---------------------------------------------------------- */

typedef struct th_proc_t th_proc_t;

/* Starts path with argv (argv[0] included, NULL-terminated), stdout and
 * stderr appended to log_path (NULL = inherit). NULL when fork/exec fails. */
th_proc_t *th_proc_start(const char *path, char *const argv[], const char *log_path);

/* Like th_proc_start, with the child's open file limit (soft and hard, so
 * the program cannot raise it again) set to nofile before exec; 0 = the
 * test's own limit. */
th_proc_t *th_proc_start_nofile(const char *path, char *const argv[], const char *log_path,
                                unsigned long nofile);

/* Sends sig and waits up to timeout_ms for the process to exit; then
 * SIGKILLs it. Returns the exit status as from waitpid (decode with
 * WIFEXITED/WEXITSTATUS), or -1 when it had to be killed. Frees the handle
 * and sets *self_p to NULL. Accepts NULL. */
int th_proc_stop(th_proc_t **self_p, int sig, int timeout_ms);

/* Stops a process that is expected to be healthy: SIGTERM, then true when
 * it exited by itself with status 0 within 10 s. Under ASan a leak makes the
 * exit status non-zero, so this is where the sanitizer's verdict on a child
 * is heard. Otherwise prints why (naming what and its log_path) and returns
 * false. NULL *self_p counts as clean. */
bool th_proc_stop_clean(th_proc_t **self_p, const char *what, const char *log_path);

/* True while the process runs (reaps it when it has ended). */
bool th_proc_alive(th_proc_t *self);

pid_t th_proc_pid(const th_proc_t *self);

/* Sends a signal without waiting (e.g. SIGSTOP/SIGCONT/SIGKILL). */
int th_proc_signal(th_proc_t *self, int sig);

/* Waits up to timeout_ms for the process to exit by itself; returns the
 * waitpid status, or -1 on timeout (the process keeps running). */
int th_proc_wait(th_proc_t *self, int timeout_ms);

/* --- keys ---------------------------------------------------------------- */

/* Creates DIR/broker.cert(+_secret), DIR/public, DIR/private. 0 or < 0. */
int th_test_keys_init(const char *dir);

/* Creates a principal certificate NAME with metadata id=NAME, name, role,
 * state (may be NULL/""), districts (comma list, may be NULL). Writes
 * DIR/public/NAME.cert and DIR/private/NAME.cert_secret. 0 or < 0. */
int th_test_keys_client(const char *dir, const char *name, const char *role,
                        const char *state, const char *districts);

/* Creates a worker certificate NAME (role worker) that may serve the given
 * services (comma-separated full names, e.g. "teilhabe.testing.v1.Echo";
 * metadata "services", as teilhabe-keys client --services writes it). A
 * worker key without services serves nothing. 0 or < 0. */
int th_test_keys_worker(const char *dir, const char *name, const char *services);

/* The Z85 public key of the broker in DIR (static buffer per call site is
 * not used: writes into out, 41 bytes). 0 or < 0. */
int th_test_keys_broker_public(const char *dir, char out[41]);

/* --- the broker ---------------------------------------------------------- */

typedef struct {
    const char *keys_dir;   /* NULL = --insecure */
    int heartbeat_ms;       /* 0 = 250 for tests */
    int grace_ms;           /* 0 = 500 for tests */
    const char *db_url;     /* NULL = none */
    const char *const *extra_args; /* NULL-terminated "--key", "value" pairs */
    unsigned long nofile;   /* open file limit of the broker; 0 = the test's */
} th_test_broker_opts_t;

typedef struct {
    th_proc_t *proc;
    int frontend_port;
    int backend_port;
    char frontend[64];  /* "tcp://127.0.0.1:PORT" */
    char backend[64];
    char log_path[512];
} th_test_broker_t;

/* Starts teilhabe-broker on two free ports and waits until both listen.
 * frontend_port/backend_port > 0 in *out on entry are reused (restarts).
 * Returns 0 or < 0 (the log path tells why). */
int th_test_broker_start(const th_test_broker_opts_t *opts, const char *log_dir,
                         th_test_broker_t *out);

/* SIGTERM, bounded wait. Returns the waitpid status or -1. */
int th_test_broker_stop(th_test_broker_t *broker);

#endif /* TH_TEST_H */
