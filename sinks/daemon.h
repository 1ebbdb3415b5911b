/*
 * daemon.h - mplogd --daemon and --pidfile: one daemon per pidfile, and
 * leaving the terminal only once the daemon serves.
 *
 * Called from mplogd's main thread, twice: daemon_begin right after the
 * options are parsed, before anything else is opened, and daemon_serving
 * once producers can attach. Between the two, errors still reach the
 * terminal, and the process that returns from daemon_begin is the one
 * that serves (its pid is the one recorded in the segment and the
 * pidfile). Not thread-safe, not async-signal-safe.
 *
 * Exit codes are mplogd's (options.h): MPLOGD_EXIT_BUSY when another
 * process holds the pidfile, MPLOGD_EXIT_FAIL when it cannot be made or
 * the fork fails. The pidfile is removed when the process that wrote it
 * exits through exit(3) or a return from main.
 */
#ifndef MPLOG_DAEMON_H
#define MPLOG_DAEMON_H

#include <stddef.h>

/* The pidfile of a root mplogd --daemon without --pidfile. */
#define DAEMON_PIDFILE_ROOT "/run/mplogd.pid"

/*
 * The pidfile of --daemon without --pidfile into buf: DAEMON_PIDFILE_ROOT
 * for root, else $XDG_RUNTIME_DIR/mplogd.pid when that is an absolute
 * path, else /tmp/mplogd-UID.pid. -1 (ENAMETOOLONG) when it does not fit.
 */
int daemon_pidfile_default(char *buf, size_t len);

/*
 * Lock the pidfile (NULL: none, unless detach, which takes the default),
 * or exit saying who holds it. With detach, fork: the parent waits until
 * the child calls daemon_serving, then exits 0, or, when the child dies
 * first, exits with its status; the child starts a new session and
 * returns.
 */
void daemon_begin(const char *pidfile, int detach);

/*
 * The daemon serves: write its pid into the pidfile; when detached, point
 * standard input, output and error at /dev/null and let the parent exit.
 */
void daemon_serving(void);

#endif
