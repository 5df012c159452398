/* ---------------------------------------------------------------------------
 * bench_table.h: how every benchmark prints a line: the path measured next
 * to its reference, measured in the same run, and the ratio between them.
 *
 * Header-only (the bench glob builds bench_*.c, each a program of its own).
 * A number on its own says little on a shared machine; the same path next
 * to a reference taken minutes apart on the same machine says how much the
 * path itself costs. So each line is:
 *
 *   path   calls/s  p50  p99 | reference   calls/s  p50  p99 | ratio
 *
 * where ratio is path throughput / reference throughput.
 * ---------------------------------------------------------------------------
 */
#ifndef BENCH_TABLE_H
#define BENCH_TABLE_H

#include <stdio.h>

typedef struct {
    const char *name;
    double calls_per_s;
    double p50_us;
    double p99_us;
    int failures;
} bench_line_t;

static inline void
bench_table_head(void)
{
    printf("%-30s %8s %8s %8s | %-26s %8s %8s %8s | %6s\n", "path", "calls/s", "p50 us",
           "p99 us", "reference (same run)", "calls/s", "p50 us", "p99 us", "ratio");
}

/* path next to ref (NULL: a reference line of its own). */
static inline void
bench_table_line(const bench_line_t *path, const bench_line_t *ref)
{
    printf("%-30s %8.0f %8.1f %8.1f", path->name, path->calls_per_s, path->p50_us,
           path->p99_us);
    if (ref != NULL)
        printf(" | %-26s %8.0f %8.1f %8.1f | %5.1f%%", ref->name, ref->calls_per_s,
               ref->p50_us, ref->p99_us,
               ref->calls_per_s > 0 ? 100.0 * path->calls_per_s / ref->calls_per_s : 0.0);
    printf("%s\n",
           path->failures > 0 || (ref != NULL && ref->failures > 0) ? "  FAILURES" : "");
}

/* The ratio of path to ref (0 without a reference). */
static inline double
bench_ratio(const bench_line_t *path, const bench_line_t *ref)
{
    return ref->calls_per_s > 0 ? path->calls_per_s / ref->calls_per_s : 0.0;
}

#endif /* BENCH_TABLE_H */
