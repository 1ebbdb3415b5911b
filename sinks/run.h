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
	int exited;             /* reaped */
};

/* What to start, and how. */
struct run_spec {
	char **argv;
	const char *preload;            /* appended to LD_PRELOAD */
	const char *shm;                /* MPLOG_SHM */
	const char *stderr_mode;        /* MPLOG_STDERR, or NULL to leave it */
	const char *stdout_mode;        /* MPLOG_STDOUT, or NULL to leave it */
	const char *stderr_severity;    /* MPLOG_STDERR_SEVERITY, or NULL */
	int multiline;                  /* MPLOG_MULTILINE=1 */
	int stderr_fd;                  /* becomes the command's fd 2; -1: keep ours */
	sigset_t ignored;               /* of RUN_RESET, those ignored when mplogd
	                                 * started: they stay ignored in the command */
};

/* The signals mplogd ignores or catches for itself (SIGPIPE, SIGXFSZ: a
 * failing output is reported, not fatal; SIGBUS: segguard). The command
 * gets each back as mplogd found it. */
#define RUN_RESET { SIGPIPE, SIGXFSZ, SIGBUS }

/* Fill *set with the signals of RUN_RESET ignored now. */
void run_ignored_now(sigset_t *set);

/*
 * Fork and exec s->argv with its environment and descriptor 2 set as s
 * says. -1 with errno if the fork fails; an exec failure shows as exit
 * status 127 (126 when the file is not executable), with a message on
 * mplogd's own stderr.
 */
int run_start(struct run *r, const struct run_spec *s);

/* 1 once the command has exited, without reaping it: as a zombie its pid
 * and /proc/PID/comm stay readable until run_poll. */
int run_peek(struct run *r);

/* Reap the command if it has exited; 1 once it has. */
int run_poll(struct run *r);

/* The exit status mplogd should return: the command's, or 128+N. */
int run_exit_code(const struct run *r);

/* From a signal handler: pass sig on to the command when it came from
 * another process. */
void run_signal(struct run *r, int sig, const siginfo_t *si);

#endif
