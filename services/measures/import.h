/* ---------------------------------------------------------------------------
 * import.h: reading a CSV file of indicator values for ImportValues
 * (import_read.c) and its limits (docs/measures.md, "Bulk import").
 *
 * The reader takes the whole file (the chunks joined), reads it with libcsv
 * one physical line at a time, so every fault names the line a person sees
 * in an editor, and checks each line with the checks PutValues uses
 * (measures_value_problem, measures_value_against) against the catalogue.
 * A line with a fault is rejected and the reader goes on with the next one
 * (also after a line that is not well-formed CSV), so one pass reports them
 * all. The lines that pass become COPY text for measures.import_rows.
 * ---------------------------------------------------------------------------
 */
#ifndef MEASURES_IMPORT_H
#define MEASURES_IMPORT_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "measures.h"

/* A chunk's bytes, at most: half the 1 MiB a request may have. */
#define MEASURES_IMPORT_CHUNK_MAX (512 * 1024)
/* Chunks of one import (numbers 0 to 63): a file of at most 32 MiB. */
#define MEASURES_IMPORT_CHUNKS_MAX 64
/* Data lines of one file (the header not counted). */
#define MEASURES_IMPORT_LINES_MAX 200000
/* Rejected lines the report lists (all are counted). */
#define MEASURES_IMPORT_REJECTIONS_MAX 1000
/* Bytes of one record (a quoted field may span lines): more is refused,
 * so an unclosed quote cannot swallow the rest of the file unnoticed. */
#define MEASURES_IMPORT_RECORD_MAX 16384

typedef Teilhabe__Measures__V1__ImportRejection measures_rejection_t;

/* A district the file names. */
typedef struct {
    char ags[6];
    char latest[TH_DATE_LEN + 1]; /* the last day of its latest period */
    int first_line;               /* the first line that names it */
    int64_t lines;
} measures_import_district_t;

typedef struct {
    /* in */
    th_call_t *call;           /* rejections are made in its memory */
    const char *import_id;     /* written into every COPY line */
    indicator_t **indicators;  /* the catalogue */
    size_t n_indicators;
    /* out */
    int64_t lines;             /* data lines read */
    int64_t rejected;          /* lines rejected */
    measures_rejection_t **rejections; /* the first MEASURES_IMPORT_REJECTIONS_MAX */
    size_t n_rejections;
    char *copy;                /* COPY text of the lines that passed (malloc) */
    size_t copy_len;
    size_t copy_cap;
    zhashx_t *districts;       /* ags -> measures_import_district_t */
    zhashx_t *keys;            /* "ags|code|period|disaggregation" -> first line */
} measures_import_t;

/* Reads len bytes of text (the whole file) into imp (its in fields set,
 * the rest zeroed). 0, or TH_ENOMEM. Clear imp with measures_import_clear
 * in every case. */
int measures_import_read(measures_import_t *imp, const char *text, size_t len);

void measures_import_clear(measures_import_t *imp);

#endif /* MEASURES_IMPORT_H */
