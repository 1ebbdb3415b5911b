/*
 * run.h - mplogd's run mode: start one command with the shim preloaded
 * and attached to this mplogd, forward signals to it, and report its exit.
 *
 * Signals: SIGINT, SIGTERM and SIGHUP sent to mplogd by another process
 * are passed on to the command. Those the terminal sends reach the
 * command by itself (it shares mplogd's process group) and are not sent a
 * second time. run_signal is async-signal-safe; the rest is for mplogd's
 * main thread.
 */
#ifndef MPLOG_RUN_H
#define MPLOG_RUN_H

#include <signal.h>
#include <sys/types.h>

struct run {
	pid_t child;
	int status;             /* from waitpid, once exited */
	int exited;
};

/*
 * Fork and exec argv with LD_PRELOAD extended by preload and MPLOG_SHM set
 * to shm (and MPLOG_STDERR to stderr_mode unless NULL). -1 with errno if
 * the fork fails; an exec failure shows as exit status 127 (126 when the
 * file is not executable), with a message on stderr.
 */
int run_start(struct run *r, char **argv, const char *preload, const char *shm,
    const char *stderr_mode);

/* Reap the command if it has exited; 1 once it has. */
int run_poll(struct run *r);

/* The exit status mplogd should return: the command's, or 128+N. */
int run_exit_code(const struct run *r);

/* From a signal handler: pass sig on to the command when it came from
 * another process. */
void run_signal(struct run *r, int sig, const siginfo_t *si);

#endif
