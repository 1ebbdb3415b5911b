/* run.c - run one command under this mplogd and report how it ended. */
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* In the child: make fd the command's fd 2; the original stays, close on
 * exec, as *saved for a message about a failed exec. */
static void
run_stderr(int fd, int *saved)
{
	*saved = 2;
	if (fd == -1)
		return;
	*saved = fcntl(2, F_DUPFD_CLOEXEC, 3);
	if (fd == 2) {
		/* dup2 onto itself would keep close-on-exec. */
		if (fcntl(2, F_SETFD, 0) == -1)
			_exit(127);
		return;
	}
	if (dup2(fd, 2) == -1)
		_exit(127);
	close(fd);
}

/* In the child, once fd 2 is the catch-all socket: name it by its inode
 * in MPLOG_CATCHALL, so that the shim can open /dev/stderr onto it (a
 * socket cannot be opened by its /proc path). */
static void
run_env_catchall(void)
{
	struct stat st;
	char ino[24];

	if (fstat(2, &st) == -1 || !S_ISSOCK(st.st_mode))
		return;
	snprintf(ino, sizeof(ino), "%llu", (unsigned long long)st.st_ino);
	if (setenv("MPLOG_CATCHALL", ino, 1) == -1)
		_exit(127);
}

/* In the child: name its stdout by device and inode in MPLOG_STDOUT_ID,
 * so that only what reaches this stdout is captured, not the pipes of
 * the command's own pipelines (see the shim's shim_stdout_is_the_one). */
static void
run_env_stdout(const struct run_spec *s)
{
	struct stat st;
	char id[48];

	if (s->stdout_mode == NULL || strcmp(s->stdout_mode, "pass") == 0 || fstat(1, &st) == -1)
		return;
	snprintf(id, sizeof(id), "%llu:%llu", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino);
	if (setenv("MPLOG_STDOUT_ID", id, 1) == -1)
		_exit(127);
}

/* In the child: set the environment the shim reads. */
static void
run_env(const struct run_spec *s)
{
	const char *old = getenv("LD_PRELOAD");
	char *list;

	if (s->stderr_fd != -1)
		run_env_catchall();
	run_env_stdout(s);

	if (old != NULL && old[0] != '\0') {
		if (asprintf(&list, "%s:%s", old, s->preload) == -1)
			_exit(127);
	} else {
		list = (char *)s->preload;
	}
	if (setenv("LD_PRELOAD", list, 1) == -1 || setenv("MPLOG_SHM", s->shm, 1) == -1 ||
	    (s->stderr_mode != NULL && setenv("MPLOG_STDERR", s->stderr_mode, 1) == -1) ||
	    (s->stdout_mode != NULL && setenv("MPLOG_STDOUT", s->stdout_mode, 1) == -1) ||
	    (s->stderr_severity != NULL &&
	    setenv("MPLOG_STDERR_SEVERITY", s->stderr_severity, 1) == -1) ||
	    (s->multiline && setenv("MPLOG_MULTILINE", "1", 1) == -1))
		_exit(127);
}

void
run_ignored_now(sigset_t *set)
{
	static const int reset[] = RUN_RESET;
	struct sigaction sa;

	sigemptyset(set);
	for (size_t i = 0; i < sizeof(reset) / sizeof(reset[0]); i++)
		if (sigaction(reset[i], NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
			sigaddset(set, reset[i]);
}

/* In the child: restore what mplogd changed, set fd 2 and the
 * environment, exec. */
static void
run_exec(const struct run_spec *s)
{
	static const int reset[] = RUN_RESET;
	sigset_t none;
	int code, saved;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (size_t i = 0; i < sizeof(reset) / sizeof(reset[0]); i++)
		signal(reset[i], sigismember(&s->ignored, reset[i]) ? SIG_IGN : SIG_DFL);
	run_stderr(s->stderr_fd, &saved);
	run_env(s);
	execvp(s->argv[0], s->argv);
	code = errno == ENOENT ? 127 : 126;
	dprintf(saved != -1 ? saved : 2, "mplog-run: %s: %s\n", s->argv[0], strerror(errno));
	_exit(code);
}

int
run_start(struct run *r, const struct run_spec *s)
{
	memset(r, 0, sizeof(*r));
	r->child = fork();
	if (r->child == -1)
		return -1;
	if (r->child == 0)
		run_exec(s);
	return 0;
}

int
run_peek(struct run *r)
{
	siginfo_t si;

	if (r->exited || r->child <= 0)
		return r->exited;
	memset(&si, 0, sizeof(si));
	while (waitid(P_PID, (id_t)r->child, &si, WEXITED | WNOHANG | WNOWAIT) == -1) {
		if (errno != EINTR)
			return errno == ECHILD;
	}
	return si.si_pid == r->child;
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
