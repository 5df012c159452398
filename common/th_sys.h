/* ---------------------------------------------------------------------------
 * th_sys.h: process set-up shared by teilhabe's programs.
 *
 * Every connection a daemon holds is a file descriptor, and so is every file
 * and database connection it opens itself. The usual soft limit (1024) is
 * far below what a broker or a busy service needs, while the hard limit a
 * process may raise it to is usually much higher; th_sys_raise_nofile does
 * that once at start-up, before any thread is started.
 * ---------------------------------------------------------------------------
 */
#ifndef TH_SYS_H
#define TH_SYS_H

#include <stdint.h>

/* Raises the soft RLIMIT_NOFILE to the hard limit (when the hard limit is
 * unlimited, to the kernel's fs.nr_open) and logs the limit in force. On
 * return *limit holds the soft limit in force, raised or not (0 when it
 * could not even be read). 0, or TH_EIO when it could not be read or
 * raised (logged as a warning; the process can go on with what it has). */
int th_sys_raise_nofile(uint64_t *limit);

#endif /* TH_SYS_H */
