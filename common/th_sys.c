/* ---------------------------------------------------------------------------
 * th_sys.c: process set-up shared by teilhabe's programs
 * ---------------------------------------------------------------------------
 */
#include "th_sys.h"

#include "th_error.h"
#include "th_log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

/* Linux refuses RLIM_INFINITY for RLIMIT_NOFILE; the largest value it takes
 * is fs.nr_open (1048576 unless changed). */
#define S_NR_OPEN_DEFAULT 1048576

static rlim_t
s_nr_open(void)
{
    rlim_t value = S_NR_OPEN_DEFAULT;
    FILE *file = fopen("/proc/sys/fs/nr_open", "r");
    if (file == NULL)
        return value;
    unsigned long long read = 0;
    if (fscanf(file, "%llu", &read) == 1 && read > 0)
        value = (rlim_t) read;
    fclose(file);
    return value;
}

int
th_sys_raise_nofile(uint64_t *limit)
{
    struct rlimit rl;
    *limit = 0;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        th_log_warn(0, "could not read the open file limit", "error=\"%s\"",
                    strerror(errno));
        return TH_EIO;
    }
    const rlim_t before = rl.rlim_cur;
    rlim_t target = rl.rlim_max;
    if (target == RLIM_INFINITY)
        target = s_nr_open();
    int rc = 0;
    if (rl.rlim_cur < target) {
        struct rlimit want = {.rlim_cur = target, .rlim_max = rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &want) == 0) {
            rl.rlim_cur = target;
        } else {
            th_log_warn(0, "could not raise the open file limit; keeping the soft limit",
                        "soft=%llu hard=%llu error=\"%s\"",
                        (unsigned long long) rl.rlim_cur, (unsigned long long) rl.rlim_max,
                        strerror(errno));
            rc = TH_EIO;
        }
    }
    *limit = (uint64_t) rl.rlim_cur;
    th_log_info(0, "open file limit", "soft=%llu hard=%llu soft_before=%llu",
                (unsigned long long) rl.rlim_cur, (unsigned long long) rl.rlim_max,
                (unsigned long long) before);
    return rc;
}
