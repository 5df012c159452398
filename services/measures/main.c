/* ---------------------------------------------------------------------------
 * main.c: teilhabe-measures, the measures and indicators service: its
 * methods and its migrations, run by the service main of the kit
 * (th_service.h: configuration, log, worker, migrations, signals).
 * ---------------------------------------------------------------------------
 */
#include "measures.h"
#include "teilhabe/v1/measures.pb-c.h"
#include "th_service.h"

static const th_service_method_t s_methods[] = {
    {"CreateMeasure", measures_create},
    {"GetMeasure", measures_get},
    {"ListMeasures", measures_list},
    {"UpdateMeasure", measures_update},
    {"TransitionMeasure", measures_transition},
    {"DeleteMeasure", measures_delete},
    {"ListEvents", measures_events_list},
    {NULL, NULL},
};

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
        .keys = NULL,
        .prepare = NULL,
    };
    return th_service_main(&service, argc, argv);
}
