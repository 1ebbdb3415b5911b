/* run.c - run one command under this mplogd and report how it ended. */
#include "run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* In the child: restore what mplogd changed, set the environment, exec. */
static void
run_exec(char **argv, const char *preload, const char *shm, const char *stderr_mode)
{
	const char *old = getenv("LD_PRELOAD");
	sigset_t none;
	char *list;
	int code;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (old != NULL && old[0] != '\0') {
		if (asprintf(&list, "%s:%s", old, preload) == -1)
			_exit(127);
	} else {
		list = (char *)preload;
	}
	if (setenv("LD_PRELOAD", list, 1) == -1 || setenv("MPLOG_SHM", shm, 1) == -1 ||
	    (stderr_mode != NULL && setenv("MPLOG_STDERR", stderr_mode, 1) == -1))
		_exit(127);
	execvp(argv[0], argv);
	code = errno == ENOENT ? 127 : 126;
	dprintf(2, "mplog-run: %s: %s\n", argv[0], strerror(errno));
	_exit(code);
}

int
run_start(struct run *r, char **argv, const char *preload, const char *shm,
    const char *stderr_mode)
{
	memset(r, 0, sizeof(*r));
	r->child = fork();
	if (r->child == -1)
		return -1;
	if (r->child == 0)
		run_exec(argv, preload, shm, stderr_mode);
	return 0;
}

int
run_poll(struct run *r)
{
	pid_t p;

	if (r->exited || r->child <= 0)
		return r->exited;
	while ((p = waitpid(r->child, &r->status, WNOHANG)) == -1 && errno == EINTR)
		;
	if (p == r->child || (p == -1 && errno == ECHILD))
		r->exited = 1;
	return r->exited;
}

int
run_exit_code(const struct run *r)
{
	if (WIFEXITED(r->status))
		return WEXITSTATUS(r->status);
	if (WIFSIGNALED(r->status))
		return 128 + WTERMSIG(r->status);
	return 1;
}

void
run_signal(struct run *r, int sig, const siginfo_t *si)
{
	/* The kernel sends terminal signals (SI_KERNEL) to the whole
	 * foreground group, the command included. */
	if (r->child > 0 && !r->exited && si->si_code != SI_KERNEL && si->si_pid != r->child)
		kill(r->child, sig);
}
