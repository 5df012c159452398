/* ---------------------------------------------------------------------------
 * main.c: teilhabe-reporting, the ministry's reports: its methods, its
 * migrations (the read-only views of schema reporting) and its one key of
 * its own, run by the service main of the kit (th_service.h).
 * ---------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reporting.h"
#include "teilhabe/v1/reporting.pb-c.h"
#include "th_config.h"
#include "th_error.h"
#include "th_service.h"

static const th_service_method_t s_methods[] = {
    {"LandOverview", reporting_land_overview},
    {"DistrictProfile", reporting_district_profile},
    {"ConceptMonitor", reporting_concept_monitor},
    {"IndicatorReport", reporting_indicator_report},
    {"EligibilityReport", reporting_eligibility_report},
    {NULL, NULL},
};

static const th_service_key_t s_keys[] = {
    {"suppression_threshold",
     "counts of people below this are suppressed in every report (default 3,\n"
     "at least 2; a request may raise it, never lower it; docs/reporting.md)"},
    {NULL, NULL},
};

static reporting_state_t s_state = {.suppression_threshold = REPORTING_THRESHOLD_DEFAULT};

/* Reads the service's own key once, before any call. */
static int
s_prepare(th_db_t *db, const th_config_t *config, void *arg, char *errbuf, size_t errlen)
{
    (void) db;
    reporting_state_t *state = arg;
    const char *text = th_config_get(config, "suppression_threshold", "3");
    char *end = NULL;
    const long v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || v < 2 || v > 100) {
        snprintf(errbuf, errlen,
                 "suppression_threshold \"%s\" is not a whole number from 2 to 100", text);
        return TH_EINVAL;
    }
    state->suppression_threshold = (int) v;
    return 0;
}

int
main(int argc, char *argv[])
{
    const th_service_t service = {
        .name = "reporting",
        .summary = "Serves teilhabe.reporting.v1.Reporting behind a teilhabe-broker.",
        .service = &teilhabe__reporting__v1__reporting__descriptor,
        .methods = s_methods,
        .state = &s_state,
        .migrations_dir = TH_SOURCE_DIR "/services/reporting/migrations",
        .keys = s_keys,
        .prepare = s_prepare,
    };
    return th_service_main(&service, argc, argv);
}
