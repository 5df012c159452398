/* ---------------------------------------------------------------------------
 * main.c: teilhabe-eligibility, funding programmes as dated rule sets and
 * the decisions computed from them: its methods, its migrations and the
 * shipped rule sets, run by the service main of the kit (th_service.h).
 * ---------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include "eligibility.h"
#include "teilhabe/v1/eligibility.pb-c.h"
#include "th_config.h"
#include "th_log.h"
#include "th_service.h"

static const th_service_method_t s_methods[] = {
    {"ListProgrammes", eligibility_list_programmes},
    {"GetProgramme", eligibility_get_programme},
    {"ValidateRuleSet", eligibility_validate},
    {"DryRunRuleSet", eligibility_dry_run},
    {"PublishRuleSet", eligibility_publish},
    {"Evaluate", eligibility_evaluate},
    {"EvaluateBatch", eligibility_evaluate_batch},
    {"ListDecisions", eligibility_list_decisions},
    {"GetDecision", eligibility_get_decision},
    {"SetApplicationFacts", eligibility_set_application},
    {"Recheck", eligibility_recheck},
    {"ListEvents", eligibility_events_list},
    {NULL, NULL},
};

static const th_service_key_t s_keys[] = {
    {"data_dir", "reference data loaded at start-up: the shipped rule sets,\n"
                 "programmes/*.yaml (default <source>/data; \"none\" = do not load)"},
    {NULL, NULL},
};

/* After the migrations: the shipped rule sets not yet published. */
static int
s_prepare(th_db_t *db, const th_config_t *config, void *arg, char *errbuf, size_t errlen)
{
    (void) arg;
    const char *data = th_service_data_dir(config);
    if (data == NULL)
        return 0;
    char dir[1024], err[512] = "";
    snprintf(dir, sizeof dir, "%s/programmes", data);
    int published = 0;
    if (eligibility_seed_programmes(db, dir, &published, err, sizeof err) != 0) {
        snprintf(errbuf, errlen, "could not publish the shipped rule sets: %s", err);
        return -1;
    }
    th_log_info(0, "shipped rule sets checked", "published=%d", published);
    return 0;
}

int
main(int argc, char *argv[])
{
    const th_service_t service = {
        .name = "eligibility",
        .summary = "Serves teilhabe.eligibility.v1.Eligibility behind a teilhabe-broker.",
        .service = &teilhabe__eligibility__v1__eligibility__descriptor,
        .methods = s_methods,
        .state = NULL,
        .migrations_dir = TH_SOURCE_DIR "/services/eligibility/migrations",
        .keys = s_keys,
        .prepare = s_prepare,
        /* The automated re-checks: every 10 s by default (docs/eligibility.md). */
        .job = eligibility_recheck_job,
        .job_interval_ms = 10000,
    };
    return th_service_main(&service, argc, argv);
}
