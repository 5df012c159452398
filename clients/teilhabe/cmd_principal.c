/* ---------------------------------------------------------------------------
 * cmd_principal.c: `teilhabe principal add|list|revoke` (admin)
 * ---------------------------------------------------------------------------
 */
#include "cli.h"

#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "teilhabe/v1/health.pb-c.h"
#include "teilhabe/v1/registry.pb-c.h"
#include "th_status.h"

#define S_METHOD(name) "teilhabe.registry.v1.Registry/" name
/* How long principal add waits for the broker to accept the new key. */
#define S_ACCEPT_WAIT_MS 10000
#define S_PAGE_MAX 500
#define S_MAX_DISTRICTS 64

static const th_arg_t s_no_options[] = {{NULL, 0, NULL, 0}};

/* The columns a person needs (--wide: all, with the public key). */
static const char *const s_principal_columns[] = {
    "id", "name", "role", "state_scope", "district_scope", "create_time", "revoke_time", NULL};

/* Waits until the broker accepts the key in cert_path: asks Health/Check
 * with it until the answer is not UNAUTHENTICATED, at most
 * S_ACCEPT_WAIT_MS, saying on stderr that it waits when the first answer
 * is a refusal (or no answer). The broker reads registry.principals when PostgreSQL says
 * it changed, so that is usually at once; without this, the next command
 * with --cert could come before it and get UNAUTHENTICATED. TH_OK when
 * accepted, else the last status (-1: no client). */
static int
s_wait_accepted(cli_t *cli, const char *cert_path)
{
    th_client_t *client = cli_client_as(cli, cert_path);
    if (client == NULL)
        return -1;
    const int64_t deadline = zclock_mono() + S_ACCEPT_WAIT_MS;
    bool accepted = false, said = false;
    int last = TH_DEADLINE_EXCEEDED;
    while (!accepted) {
        const int64_t left = deadline - zclock_mono();
        if (left <= 0)
            break;
        Teilhabe__Health__V1__HealthCheckRequest req =
            TEILHABE__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
        const th_call_opts_t once = {.no_retry = true};
        th_result_t r;
        memset(&r, 0, sizeof r);
        th_client_call(client, "teilhabe.health.v1.Health/Check", &req.base,
                       &teilhabe__health__v1__health_check_response__descriptor,
                       left < 2000 ? (int) left : 2000, &once, &r);
        /* Any verdict but a refusal means the broker took the key. */
        last = r.code;
        accepted = r.code != TH_UNAUTHENTICATED && r.code != TH_UNAVAILABLE &&
                   r.code != TH_DEADLINE_EXCEEDED;
        th_result_clear(&r);
        if (accepted)
            break;
        if (!said)
            fprintf(stderr,
                    "waiting for the broker to accept the new key (up to %d s) ...\n",
                    S_ACCEPT_WAIT_MS / 1000);
        said = true;
        zclock_sleep(100);
    }
    th_client_destroy(&client);
    return accepted ? TH_OK : last;
}

static int
s_principal_add(cli_t *cli, int argc, char **argv)
{
    static const th_arg_t options[] = {
        {"name", TH_ARG_VALUE, NULL, 0},     {"role", TH_ARG_VALUE, NULL, 0},
        {"id", TH_ARG_VALUE, NULL, 0},       {"state", TH_ARG_VALUE, NULL, 0},
        {"district", TH_ARG_LIST, NULL, 0},  {"out", TH_ARG_VALUE, NULL, 0},
        {NULL, 0, NULL, 0}};
    cli_args_t a;
    int rc = cli_parse(cli, "principal add", argc, argv, options, 0, 0, &a);
    if (rc != 0) {
        cli_args_clear(&a);
        return rc;
    }
    zcert_t *cert = NULL;
    bool written = false;
    const char *name = th_config_get(a.flags, "name", "");
    const char *role = th_config_get(a.flags, "role", "");
    const char *out = th_config_get(a.flags, "out", "");
    const char *state = th_config_get(a.flags, "state", "");
    const char *id = th_config_get(a.flags, "id", "");
    if (name[0] == '\0' || role[0] == '\0' || out[0] == '\0') {
        rc = cli_usage_error(cli,
                             "principal add: --name, --role and --out FILE are required");
        goto cleanup;
    }
    /* Never overwrite a key file: it may be the only copy of someone's
     * secret. */
    if (access(out, F_OK) == 0) {
        rc = cli_usage_error(cli, "principal add: \"%s\" exists; choose another --out file",
                             out);
        goto cleanup;
    }
    /* --district AGS may repeat and each may be a comma list (th_args
     * joins them with ','). */
    char *districts[S_MAX_DISTRICTS];
    size_t n_districts = 0;
    char district_buf[S_MAX_DISTRICTS * 8];
    const char *district_list = th_config_get(a.flags, "district", "");
    if (strlen(district_list) >= sizeof district_buf) {
        rc = cli_usage_error(cli, "principal add: too many --district values");
        goto cleanup;
    }
    snprintf(district_buf, sizeof district_buf, "%s", district_list);
    char *save = NULL;
    for (char *tok = strtok_r(district_buf, ",", &save);
         tok != NULL && n_districts < S_MAX_DISTRICTS; tok = strtok_r(NULL, ",", &save))
        districts[n_districts++] = tok;

    /* The key pair is made here: the secret never leaves this machine. */
    cert = zcert_new();
    if (cert == NULL) {
        fprintf(stderr, "error: could not generate a key pair\n");
        rc = CLI_EXIT_LOCAL;
        goto cleanup;
    }
    zcert_set_meta(cert, "id", "%s", id[0] != '\0' ? id : name);
    zcert_set_meta(cert, "name", "%s", name);
    zcert_set_meta(cert, "role", "%s", role);
    zcert_set_meta(cert, "state", "%s", state);
    char joined[S_MAX_DISTRICTS * 8] = "";
    for (size_t i = 0; i < n_districts; i++) {
        strncat(joined, i ? "," : "", sizeof joined - strlen(joined) - 1);
        strncat(joined, districts[i], sizeof joined - strlen(joined) - 1);
    }
    zcert_set_meta(cert, "districts", "%s", joined);
    /* Write the secret first (mode 0600), so a registered key always has
     * its secret saved; removed again when the registry refuses. */
    const mode_t old_umask = umask(077);
    const int saved = zcert_save_secret(cert, out);
    umask(old_umask);
    if (saved != 0 || chmod(out, 0600) != 0) {
        fprintf(stderr, "error: could not write the certificate \"%s\": %s\n", out,
                strerror(errno));
        rc = CLI_EXIT_LOCAL;
        goto cleanup;
    }
    written = true;

    Teilhabe__Registry__V1__CreatePrincipalRequest req =
        TEILHABE__REGISTRY__V1__CREATE_PRINCIPAL_REQUEST__INIT;
    Teilhabe__Registry__V1__Principal p = TEILHABE__REGISTRY__V1__PRINCIPAL__INIT;
    p.id = (char *) id;
    p.name = (char *) name;
    p.role = (char *) role;
    p.state_scope = (char *) state;
    p.district_scope = districts;
    p.n_district_scope = n_districts;
    p.public_key = (char *) zcert_public_txt(cert);
    req.principal = &p;
    th_result_t r;
    rc = cli_call(cli, S_METHOD("CreatePrincipal"), &req.base,
                  &teilhabe__registry__v1__principal__descriptor, NULL, &r);
    if (rc == 0) {
        written = false; /* keep it */
        rc = cli_print_one(cli, r.response);
        fprintf(stderr, "wrote %s (secret key, mode 0600); use it with --cert %s\n", out,
                out);
        const int accepted = s_wait_accepted(cli, out);
        if (accepted != TH_OK)
            fprintf(stderr,
                    "warning: the broker did not accept the new key within %d s (last "
                    "answer: %s); the principal is recorded all the same\n"
                    "hint: a broker reads registry.principals only when it has a db_url "
                    "(see its log); until it does, calls with this key get "
                    "UNAUTHENTICATED\n",
                    S_ACCEPT_WAIT_MS / 1000,
                    accepted >= 0 ? th_status_name(accepted) : "none");
    }
    th_result_clear(&r);
cleanup:
    if (written)
        unlink(out);
    zcert_destroy(&cert);
    cli_args_clear(&a);
    return rc;
}

static int
s_principal_list(cli_t *cli, int argc, char **argv)
{
    static const th_arg_t options[] = {{"role", TH_ARG_VALUE, NULL, 0},
                                       {"include-revoked", TH_ARG_SWITCH, NULL, 0},
                                       {NULL, 0, NULL, 0}};
    cli_args_t a;
    cli_pages_t pages = {0};
    int rc = cli_parse(cli, "principal list", argc, argv, options, 0, 0, &a);
    if (rc != 0) {
        cli_args_clear(&a);
        return rc;
    }
    Teilhabe__Registry__V1__ListPrincipalsRequest req =
        TEILHABE__REGISTRY__V1__LIST_PRINCIPALS_REQUEST__INIT;
    req.role = (char *) th_config_get(a.flags, "role", "");
    bool revoked = false;
    th_config_get_bool(a.flags, "include_revoked", false, &revoked);
    req.include_revoked = revoked;
    rc = cli_fetch_all(cli, S_METHOD("ListPrincipals"), &req.base, S_PAGE_MAX,
                       &teilhabe__registry__v1__list_principals_response__descriptor,
                       "principals", &pages);
    if (rc == 0)
        rc = cli_print_list(cli, &teilhabe__registry__v1__principal__descriptor, pages.items,
                            pages.n_items, s_principal_columns);
    cli_pages_clear(&pages);
    cli_args_clear(&a);
    return rc;
}

static int
s_principal_revoke(cli_t *cli, int argc, char **argv)
{
    cli_args_t a;
    int rc = cli_parse(cli, "principal revoke", argc, argv, s_no_options, 1, 1, &a);
    if (rc != 0) {
        cli_args_clear(&a);
        return rc;
    }
    Teilhabe__Registry__V1__RevokePrincipalRequest req =
        TEILHABE__REGISTRY__V1__REVOKE_PRINCIPAL_REQUEST__INIT;
    req.id = a.pos[0];
    th_result_t r;
    rc = cli_call(cli, S_METHOD("RevokePrincipal"), &req.base,
                  &teilhabe__registry__v1__principal__descriptor, NULL, &r);
    if (rc == 0)
        rc = cli_print_one(cli, r.response);
    th_result_clear(&r);
    cli_args_clear(&a);
    return rc;
}

static int
s_principal(cli_t *cli, int argc, char **argv)
{
    const char *action = argc > 1 ? argv[1] : "";
    if (strcmp(action, "add") == 0)
        return s_principal_add(cli, argc - 1, argv + 1);
    if (strcmp(action, "list") == 0)
        return s_principal_list(cli, argc - 1, argv + 1);
    if (strcmp(action, "revoke") == 0)
        return s_principal_revoke(cli, argc - 1, argv + 1);
    return cli_usage_error(cli,
                           "principal: say add --name N --role R [--id ID] [--state CODE] "
                           "[--district AGS]... --out FILE, list [--role R] "
                           "[--include-revoked] or revoke ID");
}

const cli_command_t cli_principal_commands[] = {
    {"registry", "principal", "add --name --role --out FILE | list | revoke ID (admin)",
     s_principal},
    {NULL, NULL, NULL, NULL},
};
