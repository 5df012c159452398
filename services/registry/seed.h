/* ---------------------------------------------------------------------------
 * seed.h: loading the shipped reference data into an empty registry.
 *
 * Reads DIR/states.csv, DIR/districts-2018.csv and DIR/territorial-changes.csv
 * (data/README.md describes them), checks every field, and inserts what is
 * missing in one transaction: rows that exist are left as they are, so a
 * second load changes nothing and a change recorded since (for example a
 * territorial change) is never overwritten.
 *
 * Seeding is a change like any other: every Land, district and territorial
 * change it adds gets its audit row and its event in that transaction, as
 * principal REGISTRY_SEED_PRINCIPAL (role "system", method "seed", call id
 * 0): one audit row per resource it creates or changes (a merger changes
 * two districts), so the trail of a resource starts with its seeding. A load
 * that adds nothing writes nothing.
 * ---------------------------------------------------------------------------
 */
#ifndef REGISTRY_SEED_H
#define REGISTRY_SEED_H

#include <stddef.h>

#include "th_db.h"

/* The territorial status of the shipped district file. */
#define REGISTRY_SEED_REFERENCE_DATE "2018-12-31"

/* Who seeding is in the audit trail, the events and recorded_by of a
 * territorial change; CreatePrincipal refuses this id. */
#define REGISTRY_SEED_PRINCIPAL "seed"

typedef struct {
    int states; /* rows inserted now */
    int districts;
    int changes;
} registry_seed_report_t;

/* Loads the files in dir. 0; TH_EIO when a file cannot be read; TH_EINVAL
 * when a file is malformed (errbuf names file, line and field); TH_EDB when
 * the database failed. Nothing is written unless everything loads. */
int registry_seed(th_db_t *db, const char *dir, registry_seed_report_t *report,
                  char *errbuf, size_t errlen);

#endif /* REGISTRY_SEED_H */
