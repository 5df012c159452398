/* ---------------------------------------------------------------------------
 * th_test.c: helpers shared by the tests (processes, ports, keys, broker)
 * ---------------------------------------------------------------------------
 */
#include "th_test.h"

#include <arpa/inet.h>
#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <cmocka.h>

#include "th_error.h"

const char *
th_test_db_url(void)
{
    const char *url = getenv("TEILHABE_TEST_DB_URL");
    return url != NULL && *url != '\0' ? url : NULL;
}

const char *
th_test_require_db_url(void)
{
    const char *url = th_test_db_url();
    if (url == NULL)
        fail_msg("TEILHABE_TEST_DB_URL is not set: run the tests with ./ops/test, which "
                 "starts a throwaway PostgreSQL and sets it");
    return url;
}

int
th_test_conninfo_set(const char *conninfo, const char *keyword, const char *value,
                     char *out, size_t outlen)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &err);
    if (opts == NULL) {
        PQfreemem(err);
        return -1;
    }
    size_t o = 0;
    bool seen = false;
    out[0] = '\0';
    for (PQconninfoOption *opt = opts; opt->keyword != NULL; opt++) {
        const bool match = strcmp(opt->keyword, keyword) == 0;
        const char *val = match ? value : opt->val;
        seen = seen || match;
        if (val == NULL)
            continue;
        o += (size_t) snprintf(out + o, o < outlen ? outlen - o : 0, "%s%s='", o ? " " : "",
                               opt->keyword);
        for (const char *c = val; *c != '\0' && o + 2 < outlen; c++) {
            if (*c == '\'' || *c == '\\')
                out[o++] = '\\';
            out[o++] = *c;
        }
        o += (size_t) snprintf(out + o, o < outlen ? outlen - o : 0, "'");
    }
    PQconninfoFree(opts);
    /* Every libpq keyword is in the list, so an unknown one is a mistake. */
    return seen && o < outlen ? 0 : -1;
}

char *
th_test_db_url_as(const char *role)
{
    const char *url = th_test_db_url();
    if (url == NULL || role == NULL)
        return NULL;
    const size_t size = strlen(url) * 4 + strlen(role) * 2 + 256;
    char *out = malloc(size);
    if (out != NULL && th_test_conninfo_set(url, "user", role, out, size) != 0) {
        free(out);
        out = NULL;
    }
    return out;
}

int
th_test_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    int port = -1;
    if (bind(fd, (struct sockaddr *) &addr, sizeof addr) == 0 &&
        getsockname(fd, (struct sockaddr *) &addr, &len) == 0)
        port = ntohs(addr.sin_port);
    close(fd);
    return port;
}

char *
th_test_tmpdir(const char *prefix)
{
    const char *base = getenv("TMPDIR");
    if (base == NULL || *base == '\0')
        base = "/tmp";
    char *path = NULL;
    if (asprintf(&path, "%s/%s-XXXXXX", base, prefix != NULL ? prefix : "th") < 0)
        return NULL;
    if (mkdtemp(path) == NULL) {
        free(path);
        return NULL;
    }
    return path;
}

static int
s_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

void
th_test_rmtree(const char *path)
{
    if (path != NULL && strncmp(path, "/tmp/", 5) == 0)
        nftw(path, s_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

size_t
th_test_count_in_file(const char *path, const char *needle)
{
    FILE *file = fopen(path, "r");
    if (file == NULL)
        return 0;
    size_t count = 0;
    char *line = NULL;
    size_t size = 0;
    while (getline(&line, &size, file) >= 0)
        if (strstr(line, needle) != NULL)
            count++;
    free(line);
    fclose(file);
    return count;
}

bool
th_test_wait_port(int port, int timeout_ms)
{
    int64_t until = zclock_mono() + timeout_ms;
    while (zclock_mono() < until) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0)
            return false;
        struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t) port)};
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int rc = connect(fd, (struct sockaddr *) &addr, sizeof addr);
        close(fd);
        if (rc == 0)
            return true;
        zclock_sleep(20);
    }
    return false;
}

/* --- processes ---------------------------------------------------------- */

struct th_proc_t {
    pid_t pid;
    bool exited;
    int status;
};

th_proc_t *
th_proc_start(const char *path, char *const argv[], const char *log_path)
{
    return th_proc_start_nofile(path, argv, log_path, 0);
}

th_proc_t *
th_proc_start_nofile(const char *path, char *const argv[], const char *log_path,
                     unsigned long nofile)
{
    th_proc_t *self = calloc(1, sizeof *self);
    if (self == NULL)
        return NULL;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        free(self);
        return NULL;
    }
    if (pid == 0) {
        /* A test that aborts must not leave brokers and services running:
         * they get SIGTERM when the test process dies. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() == 1)
            _exit(127);
        if (log_path != NULL) {
            int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) {
                dup2(fd, STDOUT_FILENO);
                dup2(fd, STDERR_FILENO);
                close(fd);
            }
        }
        if (nofile > 0) {
            struct rlimit limit = {.rlim_cur = nofile, .rlim_max = nofile};
            if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
                fprintf(stderr, "could not set the open file limit to %lu: %s\n", nofile,
                        strerror(errno));
                _exit(127);
            }
        }
        /* A child must not inherit the test's sanitizer exit hooks for a
         * failed exec, hence _exit. */
        execv(path, argv);
        fprintf(stderr, "could not execute \"%s\": %s\n", path, strerror(errno));
        _exit(127);
    }
    self->pid = pid;
    return self;
}

bool
th_proc_alive(th_proc_t *self)
{
    if (self == NULL || self->exited)
        return false;
    int status = 0;
    pid_t rc = waitpid(self->pid, &status, WNOHANG);
    if (rc == self->pid) {
        self->exited = true;
        self->status = status;
        return false;
    }
    return true;
}

pid_t
th_proc_pid(const th_proc_t *self)
{
    return self != NULL ? self->pid : -1;
}

int
th_proc_signal(th_proc_t *self, int sig)
{
    if (self == NULL || self->exited)
        return TH_ESTATE;
    return kill(self->pid, sig) == 0 ? 0 : TH_EIO;
}

int
th_proc_wait(th_proc_t *self, int timeout_ms)
{
    if (self == NULL)
        return -1;
    int64_t until = zclock_mono() + timeout_ms;
    do {
        if (!th_proc_alive(self))
            return self->status;
        zclock_sleep(10);
    } while (zclock_mono() < until);
    return th_proc_alive(self) ? -1 : self->status;
}

int
th_proc_stop(th_proc_t **self_p, int sig, int timeout_ms)
{
    if (self_p == NULL || *self_p == NULL)
        return -1;
    th_proc_t *self = *self_p;
    int result = -1;
    if (th_proc_alive(self))
        kill(self->pid, sig);
    int status = th_proc_wait(self, timeout_ms);
    if (status == -1 && th_proc_alive(self)) {
        kill(self->pid, SIGKILL);
        waitpid(self->pid, &status, 0);
        result = -1;
    } else {
        result = self->status;
    }
    free(self);
    *self_p = NULL;
    return result;
}

bool
th_proc_stop_clean(th_proc_t **self_p, const char *what, const char *log_path)
{
    if (self_p == NULL || *self_p == NULL)
        return true;
    int status = th_proc_stop(self_p, SIGTERM, 10000);
    if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return true;
    if (status == -1)
        print_error("%s did not stop within 10 s of SIGTERM and was killed; see %s\n", what,
                    log_path);
    else if (WIFEXITED(status))
        print_error("%s exited with status %d after SIGTERM; see %s\n", what,
                    WEXITSTATUS(status), log_path);
    else
        print_error("%s died of signal %d after SIGTERM; see %s\n", what, WTERMSIG(status),
                    log_path);
    return false;
}

/* --- keys ---------------------------------------------------------------- */

int
th_test_keys_init(const char *dir)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/public", dir);
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return TH_EIO;
    snprintf(path, sizeof path, "%s/private", dir);
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return TH_EIO;
    snprintf(path, sizeof path, "%s/broker.cert", dir);
    zcert_t *cert = zcert_new();
    if (cert == NULL)
        return TH_ENOMEM;
    zcert_set_meta(cert, "name", "%s", "broker");
    int rc = zcert_save(cert, path) == 0 ? 0 : TH_EIO;
    zcert_destroy(&cert);
    return rc;
}

static int
s_keys_save(const char *dir, const char *name, const char *role, const char *state,
            const char *districts, const char *services)
{
    zcert_t *cert = zcert_new();
    if (cert == NULL)
        return TH_ENOMEM;
    zcert_set_meta(cert, "id", "%s", name);
    zcert_set_meta(cert, "name", "%s", name);
    zcert_set_meta(cert, "role", "%s", role);
    zcert_set_meta(cert, "state", "%s", state != NULL ? state : "");
    zcert_set_meta(cert, "districts", "%s", districts != NULL ? districts : "");
    if (services != NULL)
        zcert_set_meta(cert, "services", "%s", services);
    char path[1024];
    int rc = 0;
    snprintf(path, sizeof path, "%s/public/%s.cert", dir, name);
    if (zcert_save_public(cert, path) != 0)
        rc = TH_EIO;
    snprintf(path, sizeof path, "%s/private/%s.cert_secret", dir, name);
    if (rc == 0 && zcert_save_secret(cert, path) != 0)
        rc = TH_EIO;
    zcert_destroy(&cert);
    return rc;
}

int
th_test_keys_client(const char *dir, const char *name, const char *role, const char *state,
                    const char *districts)
{
    return s_keys_save(dir, name, role, state, districts, NULL);
}

int
th_test_keys_worker(const char *dir, const char *name, const char *services)
{
    return s_keys_save(dir, name, "worker", "", "", services != NULL ? services : "");
}

int
th_test_keys_broker_public(const char *dir, char out[41])
{
    char path[1024];
    snprintf(path, sizeof path, "%s/broker.cert", dir);
    zcert_t *cert = zcert_load(path);
    if (cert == NULL)
        return TH_ENOTFOUND;
    snprintf(out, 41, "%s", zcert_public_txt(cert));
    zcert_destroy(&cert);
    return 0;
}

/* --- the broker ---------------------------------------------------------- */

int
th_test_broker_start(const th_test_broker_opts_t *opts, const char *log_dir,
                     th_test_broker_t *out)
{
    if (out->frontend_port <= 0)
        out->frontend_port = th_test_free_port();
    if (out->backend_port <= 0)
        out->backend_port = th_test_free_port();
    if (out->frontend_port <= 0 || out->backend_port <= 0)
        return TH_EIO;
    snprintf(out->frontend, sizeof out->frontend, "tcp://127.0.0.1:%d", out->frontend_port);
    snprintf(out->backend, sizeof out->backend, "tcp://127.0.0.1:%d", out->backend_port);
    snprintf(out->log_path, sizeof out->log_path, "%s/broker.log", log_dir);

    char heartbeat[16], grace[16], cert[1024], certs_dir[1024];
    snprintf(heartbeat, sizeof heartbeat, "%d", opts->heartbeat_ms > 0 ? opts->heartbeat_ms : 250);
    snprintf(grace, sizeof grace, "%d", opts->grace_ms > 0 ? opts->grace_ms : 500);
    const char *argv[64];
    size_t n = 0;
    argv[n++] = "teilhabe-broker";
    argv[n++] = "--frontend-endpoint";
    argv[n++] = out->frontend;
    argv[n++] = "--backend-endpoint";
    argv[n++] = out->backend;
    argv[n++] = "--heartbeat-ms";
    argv[n++] = heartbeat;
    argv[n++] = "--grace-ms";
    argv[n++] = grace;
    argv[n++] = "--log-level";
    argv[n++] = "debug";
    if (opts->keys_dir != NULL) {
        snprintf(cert, sizeof cert, "%s/broker.cert_secret", opts->keys_dir);
        snprintf(certs_dir, sizeof certs_dir, "%s/public", opts->keys_dir);
        argv[n++] = "--broker-cert";
        argv[n++] = cert;
        argv[n++] = "--certs-dir";
        argv[n++] = certs_dir;
    } else {
        argv[n++] = "--insecure";
        argv[n++] = "true";
    }
    if (opts->db_url != NULL) {
        argv[n++] = "--db-url";
        argv[n++] = opts->db_url;
    }
    for (size_t i = 0; opts->extra_args != NULL && opts->extra_args[i] != NULL && n < 62; i++)
        argv[n++] = opts->extra_args[i];
    argv[n] = NULL;
    out->proc = th_proc_start_nofile(TH_TEST_BROKER_BIN, (char *const *) argv, out->log_path,
                                     opts->nofile);
    if (out->proc == NULL)
        return TH_EIO;
    if (!th_test_wait_port(out->frontend_port, 5000) ||
        !th_test_wait_port(out->backend_port, 5000)) {
        th_proc_stop(&out->proc, SIGKILL, 1000);
        return TH_ETIMEDOUT;
    }
    return 0;
}

int
th_test_broker_stop(th_test_broker_t *broker)
{
    return th_proc_stop(&broker->proc, SIGTERM, 5000);
}
