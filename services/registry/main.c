/* ---------------------------------------------------------------------------
 * main.c: teilhabe-registry, the districts registry service: its methods,
 * its migrations and its start-up work (the reference data), run by the
 * service main of the kit (th_service.h: configuration, log, worker,
 * migrations, signals).
 * ---------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include "cache.h"
#include "registry.h"
#include "seed.h"
#include "store.h"
#include "teilhabe/v1/registry.pb-c.h"
#include "th_config.h"
#include "th_log.h"
#include "th_service.h"

static const th_service_method_t s_methods[] = {
    {"GetDistrict", registry_get_district},
    {"ListDistricts", registry_list_districts},
    {"SearchDistricts", registry_search_districts},
    {"ListStates", registry_list_states},
    {"GetTerritorialHistory", registry_get_history},
    {"RecordTerritorialChange", registry_record_change},
    {"SetConcept", registry_set_concept},
    {"GetConcept", registry_get_concept},
    {"ListConcepts", registry_list_concepts},
    {"ListConceptVersions", registry_list_concept_versions},
    {"CreateManager", registry_managers_create},
    {"UpdateManager", registry_managers_update},
    {"GetManager", registry_managers_get},
    {"AssignManager", registry_managers_assign},
    {"UnassignManager", registry_managers_unassign},
    {"ListManagers", registry_managers_list},
    {"CheckAssignment", registry_managers_check_assignment},
    {"CreatePrincipal", registry_principals_create},
    {"ListPrincipals", registry_principals_list},
    {"RevokePrincipal", registry_principals_revoke},
    {"ListEvents", registry_events_list},
    {NULL, NULL},
};

static const th_service_key_t s_keys[] = {
    {"data_dir", "reference data loaded at start-up (default <source>/data;\n"
                 "\"none\" = do not load)"},
    {"territory_cache", "true (default) = answer territorial reads from memory, kept\n"
                        "true with LISTEN/NOTIFY on one more connection; false = read\n"
                        "the database every time (e.g. behind a pooler without LISTEN)"},
    {NULL, NULL},
};

/* After the migrations: the reference data (idempotent), the oldest date
 * the registry can answer for, and the territorial cache, whose thread
 * loads the territory on its own connection (db_url, the service's role)
 * and keeps it true from then on (cache.h). Handlers read the database
 * until it has. */
static int
s_prepare(th_db_t *db, const th_config_t *config, void *arg, char *errbuf, size_t errlen)
{
    registry_handlers_state_t *state = arg;
    bool seed_only = false, cache = true;
    if (th_config_get_bool(config, "seed_only", false, &seed_only) != 0 ||
        th_config_get_bool(config, "territory_cache", true, &cache) != 0) {
        snprintf(errbuf, errlen, "territory_cache is a boolean (true or false)");
        return -1;
    }
    const char *data = th_service_data_dir(config);
    if (data != NULL) {
        registry_seed_report_t report;
        char err[512] = "";
        if (registry_seed(db, data, &report, err, sizeof err) != 0) {
            snprintf(errbuf, errlen, "could not load the reference data: %s", err);
            return -1;
        }
        int64_t states = 0, districts = 0, changes = 0;
        if (registry_store_counts(db, &states, &districts, &changes) == 0)
            th_log_info(
                0, "reference data loaded",
                "dir=\"%s\" inserted_states=%d inserted_districts=%d inserted_changes=%d "
                "states=%lld districts=%lld changes=%lld",
                data, report.states, report.districts, report.changes, (long long) states,
                (long long) districts, (long long) changes);
    }
    /* An empty database leaves it "" (asked per call until data arrives). */
    if (registry_store_earliest_date(db, state->earliest) != 0)
        state->earliest[0] = '\0';
    if (state->cache == NULL && cache && !seed_only) {
        state->cache =
            registry_cache_new(th_config_get(config, "db_url", ""), errbuf, errlen);
        if (state->cache == NULL)
            return -1;
    }
    return 0;
}

int
main(int argc, char *argv[])
{
    static registry_handlers_state_t state = {.earliest = "", .cache = NULL};
    const th_service_t service = {
        .name = "registry",
        .summary = "Serves teilhabe.registry.v1.Registry behind a teilhabe-broker.",
        .service = &teilhabe__registry__v1__registry__descriptor,
        .methods = s_methods,
        .state = &state,
        .migrations_dir = TH_SOURCE_DIR "/services/registry/migrations",
        .keys = s_keys,
        .prepare = s_prepare,
    };
    const int rc = th_service_main(&service, argc, argv);
    /* The handlers have ended with the worker. */
    registry_cache_destroy(&state.cache);
    return rc;
}
