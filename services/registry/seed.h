/* ---------------------------------------------------------------------------
 * seed.h: loading the shipped reference data into an empty registry.
 *
 * Reads DIR/states.csv, DIR/districts-2018.csv and DIR/territorial-changes.csv
 * (data/README.md describes them), checks every field, and inserts what is
 * missing in one transaction: rows that exist are left as they are, so a
 * second load changes nothing and a change recorded since (for example a
 * territorial change) is never overwritten.
 * ---------------------------------------------------------------------------
 */
#ifndef REGISTRY_SEED_H
#define REGISTRY_SEED_H

#include <stddef.h>

#include "th_db.h"

/* The territorial status of the shipped district file. */
#define REGISTRY_SEED_REFERENCE_DATE "2018-12-31"

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
