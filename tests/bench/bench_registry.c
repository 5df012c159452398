/* ---------------------------------------------------------------------------
 * bench_registry.c: GetDistrict and ListDistricts through the broker next to
 * a one-hop reference server, measured in the same run.
 *
 * Starts its own stack (fresh database on TEILHABE_TEST_DB_URL's server,
 * teilhabe-broker with CURVE, teilhabe-registry with 4 handler threads) and,
 * in this process, the reference: one thread with a ZeroMQ ROUTER (CURVE on,
 * the broker's key pair, so the same client reaches it) that for each call
 * unpacks the RequestHeader and the request with protobuf-c, runs one
 * prepared statement on its own PostgreSQL connection (the district by its
 * primary key with the same columns and join the registry answers with; for
 * ListDistricts the districts of the date) and packs ResponseHeader and
 * reply. That is the least any server must do for the call over ZeroMQ,
 * protobuf and PostgreSQL, in one hop; the registry's path has two hops
 * (client -> broker -> worker and back) and everything a service does
 * (authentication, checks, deadlines).
 *
 * Measured on loopback, each with the same client library (th_client):
 *   GetDistrict   via broker + registry / one-hop reference, 1 client
 *                 sequentially and 8 concurrent clients;
 *   ListDistricts all 401 (as of 2018-12-31), 1 client, both.
 * Each line names its path next to its reference with the ratio
 * (bench_table.h). Goals (issue 7): GetDistrict via the broker >= 60% of
 * the one-hop reference with 1 and with 8 clients; ListDistricts of all 401
 * p50 < 2 ms. Misses are reported, not failed; errors exit 1.
 *
 * Usage: bench_registry [--calls N]
 * ---------------------------------------------------------------------------
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <czmq.h>

#include "../integration/registry_env.h"
#include "bench_table.h"
#include "th_row.h"
#include "th_wire.h"

#define S_THREADS 8
/* The registry's district columns (store_districts.c), named after the
 * fields of District so th_row fills it. */
#define S_DISTRICT_COLUMNS                                                                 \
    "d.ags, d.name, d.official_kind, d.kind, d.state_code, s.name AS state_name, "         \
    "d.nuts3, "                                                                            \
    "f.area_km2, f.population, f.population_male, f.population_female, "                   \
    "to_char(f.population_date, 'YYYY-MM-DD') AS population_date, f.population_per_km2, "  \
    "registry.settlement_type(d.kind, f.population, f.population_per_km2) AS "             \
    "settlement_type, to_char(d.valid_from, 'YYYY-MM-DD') AS valid_from, "                 \
    "to_char(d.valid_to, 'YYYY-MM-DD') AS valid_to, d.successor_ags, "                     \
    "to_char(f.valid_from, 'YYYY-MM-DD') AS figures_valid_from "
/* GetDistrict: the district with its figures of the date asked for ($2). */
#define S_GET_SQL                                                                          \
    "SELECT " S_DISTRICT_COLUMNS                                                           \
    "FROM registry.districts d JOIN registry.states s ON s.code = d.state_code "           \
    "JOIN LATERAL (SELECT * FROM registry.district_figures x WHERE x.ags = d.ags AND "     \
    "x.valid_from <= greatest(coalesce($2::date, 'infinity'), d.valid_from) "              \
    "ORDER BY x.valid_from DESC LIMIT 1) f ON true WHERE d.ags = $1"
/* ListDistricts: every district existing on $1 with its figures then. */
#define S_LIST_SQL                                                                         \
    "SELECT " S_DISTRICT_COLUMNS                                                           \
    "FROM registry.districts d JOIN registry.states s ON s.code = d.state_code "           \
    "JOIN registry.district_figures f ON f.ags = d.ags AND f.valid_from <= $1::date AND "  \
    "(f.valid_to IS NULL OR f.valid_to >= $1::date) WHERE d.valid_from <= $1::date AND "   \
    "(d.valid_to IS NULL OR d.valid_to >= $1::date) ORDER BY d.ags LIMIT 500"

/* --- the one-hop reference server ------------------------------------------ */

typedef struct {
    const char *endpoint;
    const char *cert_secret; /* the broker's key pair: clients already trust it */
    const char *db_url;
} s_ref_config_t;

/* One call: [identity | sig | header | body] in, the reply frames out, or
 * NULL when the message is not a call (dropped). */
static zmsg_t *
s_ref_handle(PGconn *conn, zmsg_t *msg)
{
    if (zmsg_size(msg) != 4)
        return NULL;
    zframe_t *identity = zmsg_pop(msg);
    zframe_t *sig = zmsg_pop(msg);
    zframe_t *head = zmsg_pop(msg);
    zframe_t *body = zmsg_pop(msg);
    zmsg_t *reply = NULL;
    ProtobufCMessage *header = NULL, *request = NULL;
    PGresult *r = NULL;
    Teilhabe__Rpc__V1__ResponseHeader rh = TEILHABE__RPC__V1__RESPONSE_HEADER__INIT;
    Teilhabe__Registry__V1__District one = TEILHABE__REGISTRY__V1__DISTRICT__INIT;
    Teilhabe__Registry__V1__ListDistrictsResponse list =
        TEILHABE__REGISTRY__V1__LIST_DISTRICTS_RESPONSE__INIT;
    Teilhabe__Registry__V1__District *rows = NULL;
    Teilhabe__Registry__V1__District **row_list = NULL;
    const ProtobufCMessage *answer = NULL;
    if (!th_wire_is_sig(sig, TH_WIRE_CLIENT_SIG) ||
        th_wire_unpack(&teilhabe__rpc__v1__request_header__descriptor, head, 65536,
                       &header) != 0)
        goto cleanup;
    const th_request_header_t *h = (const th_request_header_t *) header;
    rh.call_id = h->call_id;
    rh.code = (Teilhabe__Rpc__V1__StatusCode) TH_INTERNAL;
    rh.message = "";
    if (strcmp(h->method, REG_METHOD("GetDistrict")) == 0) {
        if (th_wire_unpack(&teilhabe__registry__v1__get_district_request__descriptor, body,
                           65536, &request) != 0)
            goto answer;
        const Teilhabe__Registry__V1__GetDistrictRequest *req = (const void *) request;
        const char *params[] = {req->ags, req->as_of[0] != '\0' ? req->as_of : NULL};
        r = PQexecPrepared(conn, "get", 2, params, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
            goto answer;
        th_row_fill(NULL, r, 0, 0, 0, &one.base);
        answer = &one.base;
    } else if (strcmp(h->method, REG_METHOD("ListDistricts")) == 0) {
        if (th_wire_unpack(&teilhabe__registry__v1__list_districts_request__descriptor,
                           body, 65536, &request) != 0)
            goto answer;
        const Teilhabe__Registry__V1__ListDistrictsRequest *req = (const void *) request;
        const char *params[] = {req->as_of};
        r = PQexecPrepared(conn, "list", 1, params, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK)
            goto answer;
        const int n = PQntuples(r);
        rows = calloc((size_t) n + 1, sizeof *rows);
        row_list = calloc((size_t) n + 1, sizeof *row_list);
        if (rows == NULL || row_list == NULL)
            goto answer;
        for (int i = 0; i < n; i++) {
            teilhabe__registry__v1__district__init(&rows[i]);
            th_row_fill(NULL, r, i, 0, 0, &rows[i].base);
            row_list[i] = &rows[i];
        }
        list.districts = row_list;
        list.n_districts = (size_t) n;
        list.total_size = n;
        answer = &list.base;
    }
answer:
    if (answer != NULL)
        rh.code = (Teilhabe__Rpc__V1__StatusCode) TH_OK;
    reply = zmsg_new();
    zmsg_append(reply, &identity);
    zmsg_addstr(reply, TH_WIRE_CLIENT_SIG);
    zframe_t *packed = th_wire_pack(&rh.base);
    zmsg_append(reply, &packed);
    zframe_t *out = answer != NULL ? th_wire_pack(answer) : zframe_new_empty();
    zmsg_append(reply, &out);
cleanup:
    free(row_list);
    free(rows);
    PQclear(r);
    if (request != NULL)
        protobuf_c_message_free_unpacked(request, NULL);
    if (header != NULL)
        protobuf_c_message_free_unpacked(header, NULL);
    zframe_destroy(&identity);
    zframe_destroy(&sig);
    zframe_destroy(&head);
    zframe_destroy(&body);
    return reply;
}

/* The reference server's thread: after zactor_new's handshake it signals
 * once more, 0 when it serves, 1 when it could not start. */
static void
s_ref_actor(zsock_t *pipe, void *arg)
{
    const s_ref_config_t *cfg = arg;
    zsock_t *router = NULL;
    zcert_t *cert = zcert_load(cfg->cert_secret);
    PGconn *conn = PQconnectdb(cfg->db_url);
    PGresult *get = PQprepare(conn, "get", S_GET_SQL, 2, NULL);
    PGresult *list = PQprepare(conn, "list", S_LIST_SQL, 1, NULL);
    const bool db_ok = PQstatus(conn) == CONNECTION_OK &&
                       PQresultStatus(get) == PGRES_COMMAND_OK &&
                       PQresultStatus(list) == PGRES_COMMAND_OK;
    if (!db_ok)
        fprintf(stderr, "bench_registry: reference server: %s", PQerrorMessage(conn));
    PQclear(get);
    PQclear(list);
    if (db_ok && cert != NULL && (router = zsock_new(ZMQ_ROUTER)) != NULL) {
        zcert_apply(cert, router);
        zsock_set_curve_server(router, 1);
        zsock_set_linger(router, 0);
        if (zsock_bind(router, "%s", cfg->endpoint) < 0)
            zsock_destroy(&router);
    }
    zsock_signal(pipe, 0); /* zactor_new waits for this one */
    zsock_signal(pipe, router != NULL ? 0 : 1);
    zpoller_t *poller = router != NULL ? zpoller_new(pipe, router, NULL) : NULL;
    while (poller != NULL) {
        void *which = zpoller_wait(poller, -1);
        if (which != router)
            break; /* $TERM, or interrupted */
        zmsg_t *msg = zmsg_recv(router);
        zmsg_t *reply = msg != NULL ? s_ref_handle(conn, msg) : NULL;
        zmsg_destroy(&msg);
        if (reply != NULL && zmsg_send(&reply, router) != 0)
            zmsg_destroy(&reply);
    }
    zpoller_destroy(&poller);
    zsock_destroy(&router);
    zcert_destroy(&cert);
    PQfinish(conn);
}

/* --- the clients ------------------------------------------------------------ */

typedef struct {
    bool list;            /* ListDistricts of all 401, else GetDistrict */
    const char *endpoint; /* the broker's frontend, or the reference's */
    registry_env_t *env;
    const char *const *ags;
    size_t n_ags;
    int calls;
    int64_t *latencies_us;
    int failures;
} s_job_t;

static int
s_cmp(const void *a, const void *b)
{
    const int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return (x > y) - (x < y);
}

static void *
s_run(void *arg)
{
    s_job_t *job = arg;
    char cert[1200], err[512] = "";
    snprintf(cert, sizeof cert, "%s/private/analyst.cert_secret", job->env->keys);
    const th_client_config_t cfg = {.endpoints = job->endpoint,
                                    .broker_public_key = job->env->broker_key,
                                    .client_cert_path = cert,
                                    .default_timeout_ms = 5000,
                                    .attempt_timeout_ms = 2000};
    th_client_t *client = th_client_new(&cfg, err, sizeof err);
    if (client == NULL) {
        fprintf(stderr, "bench_registry: client: %s\n", err);
        job->failures = job->calls;
        return NULL;
    }
    for (int i = 0; i < job->calls; i++) {
        const char *ags = job->ags[(size_t) i % job->n_ags];
        th_result_t r;
        memset(&r, 0, sizeof r);
        const int64_t start = zclock_usecs();
        bool ok;
        if (!job->list) {
            Teilhabe__Registry__V1__GetDistrictRequest req =
                TEILHABE__REGISTRY__V1__GET_DISTRICT_REQUEST__INIT;
            req.ags = (char *) ags;
            req.as_of = "2018-12-31";
            th_client_call(client, REG_METHOD("GetDistrict"), &req.base,
                           &teilhabe__registry__v1__district__descriptor, 5000, NULL, &r);
            ok = r.code == TH_OK &&
                 strcmp(((const Teilhabe__Registry__V1__District *) r.response)->ags,
                        ags) == 0;
        } else {
            Teilhabe__Registry__V1__ListDistrictsRequest req =
                TEILHABE__REGISTRY__V1__LIST_DISTRICTS_REQUEST__INIT;
            req.as_of = "2018-12-31";
            req.page_size = 500;
            th_client_call(client, REG_METHOD("ListDistricts"), &req.base,
                           &teilhabe__registry__v1__list_districts_response__descriptor,
                           5000, NULL, &r);
            ok = r.code == TH_OK &&
                 ((const Teilhabe__Registry__V1__ListDistrictsResponse *) r.response)
                         ->n_districts == 401;
        }
        job->latencies_us[i] = zclock_usecs() - start;
        job->failures += !ok;
        th_result_clear(&r);
    }
    th_client_destroy(&client);
    return NULL;
}

/* Runs threads clients of calls each against endpoint; fills *out. */
static int
s_measure(registry_env_t *env, const char *name, const char *endpoint, bool list,
          int threads, int calls, const char *const *ags, size_t n_ags, bench_line_t *out)
{
    s_job_t jobs[S_THREADS];
    pthread_t tids[S_THREADS];
    int64_t *all = calloc((size_t) threads * (size_t) calls, sizeof *all);
    if (all == NULL)
        return -1;
    const int64_t start = zclock_usecs();
    for (int t = 0; t < threads; t++) {
        jobs[t] = (s_job_t){.list = list,
                            .endpoint = endpoint,
                            .env = env,
                            .ags = ags + (size_t) t % n_ags,
                            .n_ags = n_ags - (size_t) t % n_ags,
                            .calls = calls,
                            .latencies_us = all + (size_t) t * (size_t) calls};
        if (pthread_create(&tids[t], NULL, s_run, &jobs[t]) != 0) {
            free(all);
            return -1;
        }
    }
    int failures = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(tids[t], NULL);
        failures += jobs[t].failures;
    }
    const double seconds = (double) (zclock_usecs() - start) / 1e6;
    const size_t n = (size_t) threads * (size_t) calls;
    qsort(all, n, sizeof *all, s_cmp);
    *out = (bench_line_t){.name = name,
                          .calls_per_s = (double) n / seconds,
                          .p50_us = (double) all[n / 2],
                          .p99_us = (double) all[(n * 99) / 100],
                          .failures = failures};
    free(all);
    return 0;
}

static void
s_goal(const char *what, const bench_line_t *path, const bench_line_t *ref)
{
    const double ratio = bench_ratio(path, ref);
    printf("goal, %s: >= 60%% of the one-hop reference %s (%.1f%%)\n", what,
           ratio >= 0.6 ? "met" : "NOT met", 100.0 * ratio);
}

int
main(int argc, char **argv)
{
    int calls = 4000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--calls") == 0 && i + 1 < argc)
            calls = atoi(argv[++i]);
    }
    if (calls < 100)
        calls = 100;
    if (th_test_db_url() == NULL) {
        fprintf(
            stderr,
            "bench_registry: TEILHABE_TEST_DB_URL is not set (run it with ops/bench)\n");
        return 1;
    }
    zsys_init();
    zsys_set_logstream(NULL);
    registry_env_t env;
    int rc = 1;
    zactor_t *ref = NULL;
    if (registry_env_start(&env, "benchreg") != 0) {
        fprintf(stderr, "bench_registry: could not start the stack\n");
        registry_env_stop(&env);
        return 1;
    }
    /* Every AGS of the reference date, so lookups spread over the table. */
    static char ags_store[401][6];
    const char *ags[401];
    size_t n_ags = 0;
    PGconn *conn = PQconnectdb(env.db_url);
    PGresult *r = PQexec(conn, "SELECT ags FROM registry.districts ORDER BY ags");
    for (int i = 0; PQresultStatus(r) == PGRES_TUPLES_OK && i < PQntuples(r) && n_ags < 401;
         i++) {
        snprintf(ags_store[n_ags], sizeof ags_store[n_ags], "%s", PQgetvalue(r, i, 0));
        ags[n_ags] = ags_store[n_ags];
        n_ags++;
    }
    PQclear(r);
    PQfinish(conn);
    if (n_ags != 401) {
        fprintf(stderr, "bench_registry: expected 401 districts, found %zu\n", n_ags);
        goto cleanup;
    }

    /* The reference has the broker's key pair, so the same client (which
     * trusts that key) reaches it; it reads the database as the owner. */
    char ref_endpoint[64], broker_secret[1200];
    snprintf(ref_endpoint, sizeof ref_endpoint, "tcp://127.0.0.1:%d", th_test_free_port());
    snprintf(broker_secret, sizeof broker_secret, "%s/broker.cert_secret", env.keys);
    const s_ref_config_t ref_cfg = {
        .endpoint = ref_endpoint, .cert_secret = broker_secret, .db_url = env.db_url};
    ref = zactor_new(s_ref_actor, (void *) &ref_cfg);
    if (ref == NULL || zsock_wait(ref) != 0) {
        fprintf(stderr, "bench_registry: the one-hop reference server did not start\n");
        goto cleanup;
    }

    const char *broker = env.broker.frontend;
    bench_line_t warm, ref1, reg1, ref8, reg8, ref_list, reg_list;
    /* Warm-up: connections, plans, caches; then path and reference in
     * turn, so both see the same machine. */
    if (s_measure(&env, "warm", broker, false, 1, 200, ags, n_ags, &warm) != 0 ||
        s_measure(&env, "warm", ref_endpoint, false, 1, 200, ags, n_ags, &warm) != 0 ||
        s_measure(&env, "warm", broker, true, 1, 20, ags, n_ags, &warm) != 0 ||
        s_measure(&env, "warm", ref_endpoint, true, 1, 20, ags, n_ags, &warm) != 0 ||
        s_measure(&env, "one-hop server, 1 client", ref_endpoint, false, 1, calls, ags,
                  n_ags, &ref1) != 0 ||
        s_measure(&env, "GetDistrict, 1 client", broker, false, 1, calls, ags, n_ags,
                  &reg1) != 0 ||
        s_measure(&env, "one-hop server, 8 clients", ref_endpoint, false, S_THREADS,
                  calls / S_THREADS, ags, n_ags, &ref8) != 0 ||
        s_measure(&env, "GetDistrict, 8 clients", broker, false, S_THREADS,
                  calls / S_THREADS, ags, n_ags, &reg8) != 0 ||
        s_measure(&env, "one-hop server, all 401", ref_endpoint, true, 1, 200, ags, n_ags,
                  &ref_list) != 0 ||
        s_measure(&env, "ListDistricts, all 401", broker, true, 1, 200, ags, n_ags,
                  &reg_list) != 0)
        goto cleanup;

    printf("bench_registry: %d calls per GetDistrict line, 200 per ListDistricts line, "
           "loopback, CURVE on; paths via broker + registry\n",
           calls);
    bench_table_head();
    bench_table_line(&reg1, &ref1);
    bench_table_line(&reg8, &ref8);
    bench_table_line(&reg_list, &ref_list);
    s_goal("GetDistrict, 1 client", &reg1, &ref1);
    s_goal("GetDistrict, 8 clients", &reg8, &ref8);
    printf("goal, ListDistricts of all 401: p50 < 2 ms %s (%.2f ms)\n",
           reg_list.p50_us < 2000.0 ? "met" : "NOT met", reg_list.p50_us / 1000.0);
    rc = ref1.failures || reg1.failures || ref8.failures || reg8.failures ||
                 ref_list.failures || reg_list.failures
             ? 1
             : 0;
    if (rc != 0)
        fprintf(stderr, "bench_registry: some calls failed (logs in %s)\n", env.tmp);

cleanup:
    zactor_destroy(&ref);
    registry_env_stop(&env);
    return rc;
}
