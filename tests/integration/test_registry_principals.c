/* ---------------------------------------------------------------------------
 * test_registry_principals.c: principals through the real stack
 *
 * Only admin creates, lists and revokes; every bad input is refused naming
 * its field; a principal created in the registry can call through the
 * broker without a restart (the broker reads registry.principals), and once
 * revoked it is refused at the broker within 5 seconds. The broker does not
 * poll the table: idle, it sends its database nothing; it reads the table
 * when PostgreSQL announces a change, so a new key is accepted and a
 * revoked one refused within moments.
 * ---------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <czmq.h>

#include "registry_env.h"
#include "th_wire.h"

typedef Teilhabe__Registry__V1__Principal s_principal_t;

typedef struct {
    registry_env_t env;
    th_client_t *admin;
    th_client_t *ministry;
} s_fixture_t;

static int
s_setup(void **state)
{
    s_fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    *state = f;
    if (registry_env_start(&f->env, "regprin") != 0)
        return -1;
    f->admin = reg_client(&f->env, "admin");
    f->ministry = reg_client(&f->env, "ministry-th");
    return f->admin != NULL && f->ministry != NULL ? 0 : -1;
}

static int
s_teardown(void **state)
{
    s_fixture_t *f = *state;
    th_client_destroy(&f->admin);
    th_client_destroy(&f->ministry);
    const int status = registry_env_stop(&f->env);
    free(f);
    return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int
s_create(th_client_t *c, const char *id, const char *name, const char *role,
         const char *state, char **districts, size_t n_districts, const char *key,
         th_result_t *r)
{
    Teilhabe__Registry__V1__CreatePrincipalRequest req =
        TEILHABE__REGISTRY__V1__CREATE_PRINCIPAL_REQUEST__INIT;
    s_principal_t p = TEILHABE__REGISTRY__V1__PRINCIPAL__INIT;
    p.id = (char *) id;
    p.name = (char *) name;
    p.role = (char *) role;
    p.state_scope = (char *) state;
    p.district_scope = districts;
    p.n_district_scope = n_districts;
    p.public_key = (char *) key;
    req.principal = &p;
    reg_call(c, REG_METHOD("CreatePrincipal"), &req.base,
             &teilhabe__registry__v1__principal__descriptor, r);
    return r->code;
}

static void
s_expect_bad(s_fixture_t *f, const char *id, const char *name, const char *role,
             const char *state, char **districts, size_t n, const char *key,
             const char *field)
{
    th_result_t r;
    assert_int_equal(s_create(f->admin, id, name, role, state, districts, n, key, &r),
                     TH_INVALID_ARGUMENT);
    if (!reg_has_violation(&r, field))
        fail_msg("no violation for %s: %s", field, r.message);
    th_result_clear(&r);
}

static void
test_create_rules_and_bad_input(void **state)
{
    s_fixture_t *f = *state;
    th_result_t r;
    zcert_t *cert = zcert_new();
    assert_non_null(cert);
    const char *key = zcert_public_txt(cert);

    /* Only admin. */
    assert_int_equal(s_create(f->ministry, "x1", "X", "analyst", "", NULL, 0, key, &r),
                     TH_PERMISSION_DENIED);
    assert_non_null(strstr(r.message, "admin"));
    th_result_clear(&r);

    char *th_districts[] = {"16068", "16070"};
    char *bad_ags[] = {"1606"};
    char *foreign[] = {"09162"};
    char *twice[] = {"16068", "16068"};
    s_expect_bad(f, "x1", "", "analyst", "", NULL, 0, key, "principal.name");
    s_expect_bad(f, "X 1", "X", "analyst", "", NULL, 0, key, "principal.id");
    /* Seeding's id in the audit trail, also when derived from a name. */
    s_expect_bad(f, "seed", "X", "analyst", "", NULL, 0, key, "principal.id");
    s_expect_bad(f, "", "Seed", "analyst", "", NULL, 0, key, "principal.id");
    s_expect_bad(f, "x1", "X", "root", "", NULL, 0, key, "principal.role");
    s_expect_bad(f, "x1", "X", "worker", "", NULL, 0, key, "principal.role");
    s_expect_bad(f, "x1", "X", "ministry", "", NULL, 0, key, "principal.state_scope");
    s_expect_bad(f, "x1", "X", "ministry", "17", NULL, 0, key, "principal.state_scope");
    s_expect_bad(f, "x1", "X", "manager", "16", bad_ags, 1, key,
                 "principal.district_scope");
    s_expect_bad(f, "x1", "X", "manager", "16", foreign, 1, key,
                 "principal.district_scope");
    s_expect_bad(f, "x1", "X", "manager", "16", twice, 2, key, "principal.district_scope");
    s_expect_bad(f, "x1", "X", "analyst", "", th_districts, 2, key,
                 "principal.district_scope");
    s_expect_bad(f, "x1", "X", "analyst", "", NULL, 0, "too-short", "principal.public_key");
    s_expect_bad(f, "x1", "X", "analyst", "", NULL, 0,
                 "0123456789012345678901234567890123456789\"", "principal.public_key");

    /* A manager with districts; the id derived from the name. */
    assert_int_equal(s_create(f->admin, "", "Kreis Sömmerda Team", "manager", "16",
                              th_districts, 2, key, &r),
                     TH_OK);
    const s_principal_t *p = (const s_principal_t *) r.response;
    assert_string_equal(p->id, "kreis-soemmerda-team");
    assert_string_equal(p->role, "manager");
    assert_int_equal(p->n_district_scope, 2);
    assert_string_equal(p->public_key, key);
    assert_string_equal(p->revoke_time, "");
    assert_true(strlen(p->create_time) > 10);
    th_result_clear(&r);
    /* The same id, and the same key, again. */
    zcert_t *other = zcert_new();
    assert_int_equal(s_create(f->admin, "kreis-soemmerda-team", "Y", "analyst", "", NULL, 0,
                              zcert_public_txt(other), &r),
                     TH_ALREADY_EXISTS);
    assert_true(reg_has_violation(&r, "principal.id"));
    th_result_clear(&r);
    assert_int_equal(s_create(f->admin, "another", "Y", "analyst", "", NULL, 0, key, &r),
                     TH_ALREADY_EXISTS);
    assert_true(reg_has_violation(&r, "principal.public_key"));
    th_result_clear(&r);
    zcert_destroy(&other);
    zcert_destroy(&cert);

    /* The broker's own query sees exactly this row. */
    assert_int_equal(
        reg_sql_count(f->env.db_url,
                      "SELECT count(*) FROM (SELECT id, name, role, state_scope, "
                      "district_scope, public_key FROM registry.principals WHERE "
                      "revoked_at IS NULL) p WHERE id = 'kreis-soemmerda-team' AND "
                      "district_scope = '{16068,16070}'"),
        1);

    /* ListPrincipals: admin only. */
    Teilhabe__Registry__V1__ListPrincipalsRequest list =
        TEILHABE__REGISTRY__V1__LIST_PRINCIPALS_REQUEST__INIT;
    reg_call(f->ministry, REG_METHOD("ListPrincipals"), &list.base,
             &teilhabe__registry__v1__list_principals_response__descriptor, &r);
    assert_int_equal(r.code, TH_PERMISSION_DENIED);
    th_result_clear(&r);
    list.role = "manager";
    reg_call(f->admin, REG_METHOD("ListPrincipals"), &list.base,
             &teilhabe__registry__v1__list_principals_response__descriptor, &r);
    assert_int_equal(r.code, TH_OK);
    const Teilhabe__Registry__V1__ListPrincipalsResponse *l = (const void *) r.response;
    assert_int_equal(l->n_principals, 1);
    assert_string_equal(l->principals[0]->id, "kreis-soemmerda-team");
    th_result_clear(&r);
    list.role = "superuser";
    reg_call(f->admin, REG_METHOD("ListPrincipals"), &list.base,
             &teilhabe__registry__v1__list_principals_response__descriptor, &r);
    assert_int_equal(r.code, TH_INVALID_ARGUMENT);
    th_result_clear(&r);
}

/* What one connection with cert gets from the broker. */
typedef enum {
    S_SERVED = 1,  /* the handshake succeeded and GetDistrict answered OK */
    S_REFUSED = 0, /* the broker's ZAP handler refused the key */
    S_NEITHER = -1 /* no verdict within the time allowed */
} s_verdict_t;

/* Connects a bare DEALER with cert's keys to the broker and watches the
 * handshake through a socket monitor, so a refusal is seen as such (a
 * refused DEALER has no peer and would only block a sender). */
static s_verdict_t
s_probe(registry_env_t *env, zcert_t *cert)
{
    s_verdict_t verdict = S_NEITHER;
    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    zsock_t *monitor = NULL;
    zmsg_t *reply = NULL;
    char endpoint[64];
    assert_non_null(dealer);
    snprintf(endpoint, sizeof endpoint, "inproc://probe-%p", (void *) dealer);
    zcert_apply(cert, dealer);
    zsock_set_curve_serverkey(dealer, env->broker_key);
    zsock_set_linger(dealer, 0);
    zsock_set_sndtimeo(dealer, 1000);
    zsock_set_rcvtimeo(dealer, 3000);
    assert_int_equal(
        zmq_socket_monitor(zsock_resolve(dealer), endpoint,
                           ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH),
        0);
    monitor = zsock_new(ZMQ_PAIR);
    assert_non_null(monitor);
    assert_int_equal(zsock_connect(monitor, "%s", endpoint), 0);
    zsock_set_rcvtimeo(monitor, 3000);
    assert_int_equal(zsock_connect(dealer, "%s", env->broker.frontend), 0);

    zmsg_t *event = zmsg_recv(monitor);
    if (event == NULL)
        goto cleanup;
    zframe_t *first = zmsg_first(event);
    uint16_t kind = 0;
    if (first != NULL && zframe_size(first) >= 2)
        memcpy(&kind, zframe_data(first), 2);
    zmsg_destroy(&event);
    if (kind == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
        verdict = S_REFUSED;
        goto cleanup;
    }
    if (kind != ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
        goto cleanup;

    /* Accepted: one real call over the wire protocol. */
    Teilhabe__Registry__V1__GetDistrictRequest req =
        TEILHABE__REGISTRY__V1__GET_DISTRICT_REQUEST__INIT;
    req.ags = "16068";
    th_request_header_t header = TEILHABE__RPC__V1__REQUEST_HEADER__INIT;
    header.call_id = 7;
    header.method = REG_METHOD("GetDistrict");
    header.timeout_ms = 2000;
    zmsg_t *request = zmsg_new();
    zmsg_addstr(request, TH_WIRE_CLIENT_SIG);
    zframe_t *head = th_wire_pack(&header.base);
    zframe_t *body = th_wire_pack(&req.base);
    zmsg_append(request, &head);
    zmsg_append(request, &body);
    if (zmsg_send(&request, dealer) != 0) {
        zmsg_destroy(&request);
        goto cleanup;
    }
    reply = zmsg_recv(dealer);
    if (reply == NULL || zmsg_size(reply) != 3)
        goto cleanup;
    zmsg_first(reply);
    ProtobufCMessage *decoded = NULL;
    if (th_wire_unpack(&teilhabe__rpc__v1__response_header__descriptor, zmsg_next(reply),
                       TH_WIRE_HEADER_MAX, &decoded) == 0) {
        if (((th_response_header_t *) decoded)->code == TEILHABE__RPC__V1__STATUS_CODE__OK)
            verdict = S_SERVED;
        protobuf_c_message_free_unpacked(decoded, NULL);
    }

cleanup:
    zmsg_destroy(&reply);
    zsock_destroy(&monitor);
    zsock_destroy(&dealer);
    return verdict;
}

static void
test_revoked_principal_refused_at_broker(void **state)
{
    s_fixture_t *f = *state;
    th_result_t r;
    /* A new analyst, known only to the registry (no certificate file in the
     * broker's certs_dir). */
    zcert_t *cert = zcert_new();
    assert_non_null(cert);
    zcert_set_meta(cert, "name", "%s", "Landesamt Statistik");
    char path[1200];
    snprintf(path, sizeof path, "%s/statistik.cert_secret", f->env.tmp);
    assert_int_equal(zcert_save_secret(cert, path), 0);
    assert_int_equal(s_create(f->admin, "statistik", "Landesamt Statistik", "analyst", "16",
                              NULL, 0, zcert_public_txt(cert), &r),
                     TH_OK);
    th_result_clear(&r);

    /* It can call once the broker has read the principals (no restart). */
    s_verdict_t verdict = S_NEITHER;
    const int64_t created_at = zclock_mono();
    while (verdict != S_SERVED && zclock_mono() - created_at < 10000) {
        verdict = s_probe(&f->env, cert);
        if (verdict != S_SERVED)
            reg_sleep_ms(200);
    }
    if (verdict != S_SERVED)
        fail_msg("a principal created in the registry was not served within 10 s (see %s)",
                 f->env.broker.log_path);
    th_client_t *client = reg_client_cert(&f->env, path);
    assert_non_null(client);
    /* The registry saw it as the principal from the registry row. */
    Teilhabe__Events__V1__ListEventsRequest ev =
        TEILHABE__EVENTS__V1__LIST_EVENTS_REQUEST__INIT;
    reg_call(client, REG_METHOD("ListEvents"), &ev.base,
             &teilhabe__events__v1__list_events_response__descriptor, &r);
    assert_int_equal(r.code, TH_OK);
    th_result_clear(&r);
    /* An analyst may not revoke, or create. */
    Teilhabe__Registry__V1__RevokePrincipalRequest rev =
        TEILHABE__REGISTRY__V1__REVOKE_PRINCIPAL_REQUEST__INIT;
    rev.id = "statistik";
    reg_call(client, REG_METHOD("RevokePrincipal"), &rev.base,
             &teilhabe__registry__v1__principal__descriptor, &r);
    assert_int_equal(r.code, TH_PERMISSION_DENIED);
    th_result_clear(&r);

    /* Revoke: refused at the broker within 5 seconds. */
    reg_call(f->admin, REG_METHOD("RevokePrincipal"), &rev.base,
             &teilhabe__registry__v1__principal__descriptor, &r);
    assert_int_equal(r.code, TH_OK);
    assert_true(strlen(((const s_principal_t *) r.response)->revoke_time) > 10);
    th_result_clear(&r);
    const int64_t revoked_at = zclock_mono();
    th_client_destroy(&client);
    /* A fresh connection each time: the handshake is where the broker
     * refuses. Within 5 seconds it must say no. */
    verdict = S_SERVED;
    while (verdict != S_REFUSED && zclock_mono() - revoked_at < 5000) {
        verdict = s_probe(&f->env, cert);
        if (verdict != S_REFUSED)
            reg_sleep_ms(200);
    }
    const int64_t took = zclock_mono() - revoked_at;
    if (verdict != S_REFUSED)
        fail_msg("revoked principal not refused at the broker after %lld ms (verdict %d)",
                 (long long) took, (int) verdict);
    /* The client library reports the refusal (and does not hang). */
    client = reg_client_cert(&f->env, path);
    assert_non_null(client);
    Teilhabe__Registry__V1__GetDistrictRequest get =
        TEILHABE__REGISTRY__V1__GET_DISTRICT_REQUEST__INIT;
    get.ags = "16068";
    memset(&r, 0, sizeof r);
    th_client_call(client, REG_METHOD("GetDistrict"), &get.base,
                   &teilhabe__registry__v1__district__descriptor, 3000, NULL, &r);
    assert_int_equal(r.code, TH_UNAUTHENTICATED);
    th_result_clear(&r);
    th_client_destroy(&client);

    /* Revoking again, or an unknown id. */
    reg_call(f->admin, REG_METHOD("RevokePrincipal"), &rev.base,
             &teilhabe__registry__v1__principal__descriptor, &r);
    assert_int_equal(r.code, TH_FAILED_PRECONDITION);
    th_result_clear(&r);
    rev.id = "nobody";
    reg_call(f->admin, REG_METHOD("RevokePrincipal"), &rev.base,
             &teilhabe__registry__v1__principal__descriptor, &r);
    assert_int_equal(r.code, TH_NOT_FOUND);
    th_result_clear(&r);
    rev.id = "Bad Id";
    reg_call(f->admin, REG_METHOD("RevokePrincipal"), &rev.base,
             &teilhabe__registry__v1__principal__descriptor, &r);
    assert_int_equal(r.code, TH_INVALID_ARGUMENT);
    assert_true(reg_has_violation(&r, "id"));
    th_result_clear(&r);
    /* Revoked principals are listed only on request. */
    Teilhabe__Registry__V1__ListPrincipalsRequest list =
        TEILHABE__REGISTRY__V1__LIST_PRINCIPALS_REQUEST__INIT;
    list.role = "analyst";
    reg_call(f->admin, REG_METHOD("ListPrincipals"), &list.base,
             &teilhabe__registry__v1__list_principals_response__descriptor, &r);
    assert_int_equal(r.code, TH_OK);
    assert_int_equal(
        ((const Teilhabe__Registry__V1__ListPrincipalsResponse *) r.response)->n_principals,
        0);
    th_result_clear(&r);
    list.include_revoked = true;
    reg_call(f->admin, REG_METHOD("ListPrincipals"), &list.base,
             &teilhabe__registry__v1__list_principals_response__descriptor, &r);
    assert_int_equal(r.code, TH_OK);
    assert_int_equal(
        ((const Teilhabe__Registry__V1__ListPrincipalsResponse *) r.response)->n_principals,
        1);
    th_result_clear(&r);
    assert_int_equal(reg_sql_count(f->env.db_url,
                                   "SELECT count(*) FROM registry.events WHERE "
                                   "topic = 'principal.revoked'"),
                     1);
    zcert_destroy(&cert);
}

/* When the broker's database session last changed state (a statement
 * began or ended), as the broker's role sees it (pg_stat_activity shows the
 * details of a role's own sessions only); "" when there is none. */
static char *
s_broker_session_changed(registry_env_t *env)
{
    char *v = reg_sql_value(env->broker_db_url,
                            "SELECT coalesce(max(state_change)::text, '') FROM "
                            "pg_stat_activity WHERE application_name = 'teilhabe-broker' "
                            "AND datname = current_database()");
    return v != NULL ? v : strdup("");
}

/* Milliseconds until the broker says want for cert, probing again and
 * again; -1 when it did not within limit_ms. */
static int64_t
s_until(registry_env_t *env, zcert_t *cert, s_verdict_t want, int64_t limit_ms)
{
    const int64_t start = zclock_mono();
    while (zclock_mono() - start < limit_ms) {
        if (s_probe(env, cert) == want)
            return zclock_mono() - start;
        reg_sleep_ms(20);
    }
    return -1;
}

static void
test_broker_waits_for_changes(void **state)
{
    s_fixture_t *f = *state;
    /* Idle: no statement for longer than the old polling period (2 s). */
    char *before = s_broker_session_changed(&f->env);
    assert_string_not_equal(before, "");
    reg_sleep_ms(4500);
    char *after = s_broker_session_changed(&f->env);
    if (strcmp(before, after) != 0)
        fail_msg("the idle broker ran statements on its database (session changed at %s, "
                 "then at %s)",
                 before, after);
    free(before);
    free(after);

    /* A new key is accepted within a few seconds ... */
    zcert_t *cert = zcert_new();
    assert_non_null(cert);
    th_result_t r;
    assert_int_equal(s_create(f->admin, "pruefdienst", "Prüfdienst", "service", "", NULL, 0,
                              zcert_public_txt(cert), &r),
                     TH_OK);
    th_result_clear(&r);
    const int64_t accepted = s_until(&f->env, cert, S_SERVED, 10000);
    /* ... and a revoked one refused within 5 seconds. */
    Teilhabe__Registry__V1__RevokePrincipalRequest rev =
        TEILHABE__REGISTRY__V1__REVOKE_PRINCIPAL_REQUEST__INIT;
    rev.id = "pruefdienst";
    reg_call(f->admin, REG_METHOD("RevokePrincipal"), &rev.base,
             &teilhabe__registry__v1__principal__descriptor, &r);
    assert_int_equal(r.code, TH_OK);
    th_result_clear(&r);
    const int64_t refused = s_until(&f->env, cert, S_REFUSED, 10000);
    zcert_destroy(&cert);
    printf("new key accepted after %lld ms, revoked key refused after %lld ms\n",
           (long long) accepted, (long long) refused);
    if (accepted < 0 || accepted > 3000)
        fail_msg("a new principal was accepted after %lld ms (expected within 3 s)",
                 (long long) accepted);
    if (refused < 0 || refused > 5000)
        fail_msg("a revoked principal was refused after %lld ms (expected within 5 s)",
                 (long long) refused);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_rules_and_bad_input),
        cmocka_unit_test(test_revoked_principal_refused_at_broker),
        cmocka_unit_test(test_broker_waits_for_changes),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
