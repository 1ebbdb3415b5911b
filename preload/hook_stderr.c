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

/* 1 when writes to fd should be looked at by the shim at all. */
static int
hook_stderr_fd(int fd)
{
	return fd == 2 && shim.stderr_mode != SHIM_STDERR_PASS &&
	    atomic_load_explicit(&shim.fd2_stderr, memory_order_relaxed) &&
	    atomic_load_explicit(&shim.state, memory_order_relaxed) != SHIM_OFF;
}

/*
 * Decide for one call: -1 pass it through, 0 below the level (discarded
 * in capture mode), 1 capture it.
 */
static int
hook_stderr_wants(void)
{
	int w;

	shim_enter();
	w = shim_wants(LOG_PRI(shim.stderr_pri));
	shim_leave();
	return w;
}

/* Capture buf; returns how many leading bytes mplog took. */
static size_t
hook_stderr_take(const void *buf, size_t n)
{
	size_t taken;

	shim_enter();
	taken = shim_capture(HEAPRING_STDERR, shim.stderr_pri, 0, buf, n);
	shim_leave();
	return taken;
}

HOOK_EXPORT ssize_t
write(int fd, const void *buf, size_t n)
{
	int saved = errno, w;
	size_t taken;
	ssize_t rest;

	if (n == 0 || !hook_stderr_fd(fd))
		return real_write(fd, buf, n);
	w = hook_stderr_wants();
	errno = saved;          /* attaching may have set it */
	if (w == -1)
		return real_write(fd, buf, n);
	taken = w == 1 ? hook_stderr_take(buf, n) : n;
	errno = saved;
	if (shim.stderr_mode == SHIM_STDERR_TEE)
		return real_write(fd, buf, n);
	if (taken == n)
		return (ssize_t)n;
	/* What mplog could not take goes where it would have gone. */
	rest = real_write(fd, (const char *)buf + taken, n - taken);
	if (rest == -1)
		return taken > 0 ? (ssize_t)taken : -1;
	return (ssize_t)(taken + (size_t)rest);
}

/* Write iov[i..] from offset off of iov[i] through; bytes written or -1. */
static ssize_t
hook_writev_rest(int fd, const struct iovec *iov, int iovcnt, int i, size_t off)
{
	ssize_t done = 0;

	for (; i < iovcnt; i++, off = 0) {
		ssize_t w;

		if (iov[i].iov_len == off)
			continue;
		w = real_write(fd, (const char *)iov[i].iov_base + off, iov[i].iov_len - off);
		if (w == -1)
			return done > 0 ? done : -1;
		done += w;
		if ((size_t)w < iov[i].iov_len - off)
			break;
	}
	return done;
}

HOOK_EXPORT ssize_t
writev(int fd, const struct iovec *iov, int iovcnt)
{
	int saved = errno, w;
	size_t total = 0, taken = 0, part = 0;
	ssize_t rest;
	int i;

	if (!hook_stderr_fd(fd) || iovcnt <= 0 || iovcnt > IOV_MAX)
		return real_writev(fd, iov, iovcnt);
	for (i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > SSIZE_MAX - total)
			return real_writev(fd, iov, iovcnt);    /* EINVAL */
		total += iov[i].iov_len;
	}
	if (total == 0)
		return real_writev(fd, iov, iovcnt);
	w = hook_stderr_wants();
	errno = saved;          /* attaching may have set it */
	if (w == -1)
		return real_writev(fd, iov, iovcnt);
	if (w == 0)
		return shim.stderr_mode == SHIM_STDERR_TEE ? real_writev(fd, iov, iovcnt) :
		    (ssize_t)total;
	for (i = 0; i < iovcnt; i++) {
		size_t t = iov[i].iov_len == 0 ? 0 :
		    hook_stderr_take(iov[i].iov_base, iov[i].iov_len);

		taken += t;
		if (t < iov[i].iov_len) {
			part = t;       /* iov[i] was taken up to here */
			break;
		}
	}
	errno = saved;
	if (shim.stderr_mode == SHIM_STDERR_TEE)
		return real_writev(fd, iov, iovcnt);
	if (taken == total)
		return (ssize_t)total;
	rest = hook_writev_rest(fd, iov, iovcnt, i, part);
	return rest == -1 ? (taken > 0 ? (ssize_t)taken : -1) : (ssize_t)(taken + (size_t)rest);
}
