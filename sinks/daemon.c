/* daemon.c - mplogd's pidfile and detaching from the terminal. */
#include "daemon.h"

#include <bsd/libutil.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "options.h"

static struct pidfh *daemon_pfh;        /* the locked pidfile, or NULL */
static char daemon_pidfile_path[4096];
static pid_t daemon_owner;              /* the process that may remove it */
static int daemon_notify = -1;          /* detached: the pipe to the parent */

int
daemon_pidfile_default(char *buf, size_t len)
{
	const char *dir = secure_getenv("XDG_RUNTIME_DIR");
	int n;

	if (geteuid() == 0)
		n = snprintf(buf, len, "%s", DAEMON_PIDFILE_ROOT);
	else if (dir != NULL && dir[0] == '/')
		n = snprintf(buf, len, "%s/mplogd.pid", dir);
	else
		n = snprintf(buf, len, "/tmp/mplogd-%u.pid", (unsigned)geteuid());
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* At exit, in the process that wrote the pidfile: remove it. A parent
 * that only waited for its child leaves it alone. */
static void
daemon_atexit(void)
{
	if (daemon_pfh != NULL && getpid() == daemon_owner)
		pidfile_remove(daemon_pfh);
}

/* Lock path, or exit: 3 when a live process holds it, 1 when it fails. */
static void
daemon_pidfile_lock(const char *path)
{
	pid_t other = -1;

	snprintf(daemon_pidfile_path, sizeof(daemon_pidfile_path), "%s", path);
	daemon_pfh = pidfile_open(path, 0644, &other);
	if (daemon_pfh != NULL) {
		daemon_owner = getpid();
		atexit(daemon_atexit);
		return;
	}
	if (errno == EEXIST && other > 0)
		errx(MPLOGD_EXIT_BUSY, "%s: held by a running mplogd (pid %d)", path, (int)other);
	if (errno == EEXIST)
		errx(MPLOGD_EXIT_BUSY, "%s: held by an mplogd that is starting", path);
	err(MPLOGD_EXIT_FAIL, "%s: cannot create the pidfile", path);
}

/*
 * In the parent: wait until the child says it serves (exit 0) or dies
 * (exit with its status: its own message is already on the terminal).
 */
static void __attribute__((noreturn))
daemon_wait_child(pid_t child, int fd)
{
	char c;
	ssize_t n;
	int st;

	while ((n = read(fd, &c, 1)) == -1 && errno == EINTR)
		;
	if (n == 1)
		_exit(MPLOGD_EXIT_OK);
	while (waitpid(child, &st, 0) == -1)
		if (errno != EINTR)
			_exit(MPLOGD_EXIT_FAIL);
	if (WIFEXITED(st))
		_exit(WEXITSTATUS(st));
	_exit(WIFSIGNALED(st) ? 128 + WTERMSIG(st) : MPLOGD_EXIT_FAIL);
}

void
daemon_begin(const char *pidfile, int detach)
{
	char def[sizeof(daemon_pidfile_path)];
	int p[2];
	pid_t child;

	if (pidfile == NULL && detach) {
		if (daemon_pidfile_default(def, sizeof(def)) == -1)
			err(MPLOGD_EXIT_FAIL, "the default pidfile");
		pidfile = def;
	}
	if (pidfile != NULL)
		daemon_pidfile_lock(pidfile);
	if (!detach)
		return;
	if (pipe2(p, O_CLOEXEC) == -1)
		err(MPLOGD_EXIT_FAIL, "--daemon: pipe");
	fflush(NULL);
	if ((child = fork()) == -1)
		err(MPLOGD_EXIT_FAIL, "--daemon: fork");
	if (child > 0) {
		close(p[1]);
		daemon_wait_child(child, p[0]);
	}
	close(p[0]);
	daemon_notify = p[1];
	daemon_owner = getpid();
	/* Out of the terminal's session: no SIGHUP or SIGINT from it. */
	if (setsid() == -1)
		err(MPLOGD_EXIT_FAIL, "--daemon: setsid");
}

void
daemon_serving(void)
{
	int fd;

	if (daemon_pfh != NULL && pidfile_write(daemon_pfh) == -1)
		warn("%s: cannot write the pid", daemon_pidfile_path);
	if (daemon_notify == -1)
		return;
	if ((fd = open("/dev/null", O_RDWR)) == -1)
		err(MPLOGD_EXIT_FAIL, "--daemon: /dev/null");
	fflush(NULL);
	if (dup2(fd, 0) == -1 || dup2(fd, 1) == -1 || dup2(fd, 2) == -1)
		err(MPLOGD_EXIT_FAIL, "--daemon: cannot point stdio at /dev/null");
	if (fd > 2)
		close(fd);
	/* The parent exits 0 at this byte, or with our status at EOF. */
	if (write(daemon_notify, "r", 1) != 1)
		warn("--daemon: cannot tell the parent");   /* to /dev/null now */
	close(daemon_notify);
	daemon_notify = -1;
}
