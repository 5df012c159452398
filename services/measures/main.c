/* ---------------------------------------------------------------------------
 * main.c: teilhabe-measures, the measures and indicators service: its
 * methods and its migrations, run by the service main of the kit
 * (th_service.h: configuration, log, worker, migrations, signals).
 * ---------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include "measures.h"
#include "teilhabe/v1/measures.pb-c.h"
#include "th_config.h"
#include "th_log.h"
#include "th_service.h"

static const th_service_method_t s_methods[] = {
    {"CreateMeasure", measures_create},
    {"GetMeasure", measures_get},
    {"ListMeasures", measures_list},
    {"UpdateMeasure", measures_update},
    {"TransitionMeasure", measures_transition},
    {"DeleteMeasure", measures_delete},
    {"ListIndicators", measures_indicators_list},
    {"GetIndicator", measures_indicators_get},
    {"CreateIndicator", measures_indicators_create},
    {"PutValues", measures_values_put},
    {"ListValues", measures_values_list},
    {"ImportValues", measures_values_import},
    {"ListAssessmentQuestions", measures_assessment_questions},
    {"SetAssessment", measures_assessment_set},
    {"GetAssessment", measures_assessment_get},
    {"SetReach", measures_reach_set},
    {"ListReach", measures_reach_list},
    {"Submit", measures_submission_submit},
    {"Approve", measures_submission_approve},
    {"ReturnSubmission", measures_submission_return},
    {"Reopen", measures_submission_reopen},
    {"GetSubmission", measures_submission_get},
    {"ListSubmissions", measures_submission_list},
    {"ListEvents", measures_events_list},
    {NULL, NULL},
};

static const th_service_key_t s_keys[] = {
    {"data_dir", "reference data loaded at start-up: the indicator catalogue's starter\n"
                 "set, indicators.csv (default <source>/data; \"none\" = do not load)"},
    {NULL, NULL},
};

/* After the migrations: the catalogue's starter set (idempotent). */
static int
s_prepare(th_db_t *db, const th_config_t *config, void *arg, char *errbuf, size_t errlen)
{
    (void) arg;
    const char *data = th_service_data_dir(config);
    if (data == NULL)
        return 0;
    char path[1024], err[512] = "";
    snprintf(path, sizeof path, "%s/indicators.csv", data);
    int inserted = 0;
    if (measures_seed_indicators(db, path, &inserted, err, sizeof err) != 0) {
        snprintf(errbuf, errlen, "could not load the indicator catalogue: %s", err);
        return -1;
    }
    th_log_info(0, "indicator catalogue loaded", "file=\"%s\" inserted=%d", path, inserted);
    return 0;
}

int
main(int argc, char *argv[])
{
    const th_service_t service = {
        .name = "measures",
        .summary = "Serves teilhabe.measures.v1.Measures behind a teilhabe-broker.",
        .service = &teilhabe__measures__v1__measures__descriptor,
        .methods = s_methods,
        .state = NULL,
        .migrations_dir = TH_SOURCE_DIR "/services/measures/migrations",
        .keys = s_keys,
        .prepare = s_prepare,
    };
    return th_service_main(&service, argc, argv);
}
