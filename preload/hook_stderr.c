/* hook_stderr.c - write(2) and writev(2) on descriptor 2. */
#include <errno.h>
#include <limits.h>
#include <sys/uio.h>
#include <syslog.h>
#include <unistd.h>

#include "heapring.h"
#include "hook.h"
#include "real.h"
#include "shim.h"

enum hook_verdict {
	HOOK_PASS = -1,     /* mplog is not capturing: write as usual */
	HOOK_FILTERED = 0,  /* below the level: discarded */
	HOOK_TAKEN = 1,     /* queued for mplogd */
};

/* Capture one piece of stderr output; decides pass, filter or take. */
static int
hook_stderr_take(const void *buf, size_t n)
{
	int w;

	shim_enter();
	w = shim_wants(LOG_PRI(shim.stderr_pri));
	if (w == 1 && shim_capture(HEAPRING_STDERR, shim.stderr_pri, 0, buf, n) == -1)
		w = HOOK_PASS;
	shim_leave();
	return w;
}

/* 1 when writes to fd should be looked at by the shim at all. */
static int
hook_stderr_fd(int fd)
{
	return fd == 2 && shim.stderr_mode != SHIM_STDERR_PASS &&
	    atomic_load_explicit(&shim.state, memory_order_relaxed) != SHIM_OFF;
}

HOOK_EXPORT ssize_t
write(int fd, const void *buf, size_t n)
{
	int saved = errno, w;

	if (n == 0 || !hook_stderr_fd(fd))
		return real_write(fd, buf, n);
	w = hook_stderr_take(buf, n);
	errno = saved;
	if (w == HOOK_PASS || shim.stderr_mode == SHIM_STDERR_TEE)
		return real_write(fd, buf, n);
	return (ssize_t)n;
}

HOOK_EXPORT ssize_t
writev(int fd, const struct iovec *iov, int iovcnt)
{
	int saved = errno, w = HOOK_FILTERED;
	size_t total = 0;

	if (!hook_stderr_fd(fd) || iovcnt <= 0 || iovcnt > IOV_MAX)
		return real_writev(fd, iov, iovcnt);
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > SSIZE_MAX - total)
			return real_writev(fd, iov, iovcnt);    /* EINVAL */
		total += iov[i].iov_len;
	}
	for (int i = 0; i < iovcnt && w != HOOK_PASS; i++)
		if (iov[i].iov_len > 0)
			w = hook_stderr_take(iov[i].iov_base, iov[i].iov_len);
	errno = saved;
	if (w == HOOK_PASS || shim.stderr_mode == SHIM_STDERR_TEE)
		return real_writev(fd, iov, iovcnt);
	return (ssize_t)total;
}
