/* ---------------------------------------------------------------------------
 * th_methods.c: the read and write tables proto/methods.cmake generates,
 * looked up by binary search (they are sorted)
 * ---------------------------------------------------------------------------
 */
#include "th_methods.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Generated into the build tree (th_proto_methods.c), NULL-terminated */
extern const char *const th_proto_writes[];
extern const char *const th_proto_reads[];

static int
s_compare(const void *key, const void *item)
{
    return strcmp(key, *(const char *const *) item);
}

static bool
s_in(const char *const *table, const char *method)
{
    size_t n = 0;
    while (table[n] != NULL)
        n++;
    return bsearch(method, table, n, sizeof *table, s_compare) != NULL;
}

th_method_kind_t
th_method_kind(const char *method)
{
    if (method == NULL)
        return TH_METHOD_UNKNOWN;
    if (s_in(th_proto_writes, method))
        return TH_METHOD_WRITE;
    if (s_in(th_proto_reads, method))
        return TH_METHOD_READ;
    return TH_METHOD_UNKNOWN;
}
