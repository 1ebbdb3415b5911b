/* hook_stderr.c - write(2) and writev(2) on a descriptor that is stderr,
 * or stdout when it is captured. */
#include <errno.h>
#include <limits.h>
#include <sys/uio.h>
#include <unistd.h>

#include "errout.h"
#include "hook.h"
#include "real.h"
#include "shim.h"

HOOK_EXPORT ssize_t
write(int fd, const void *buf, size_t n)
{
	int saved = errno, live, kind;
	size_t taken;
	ssize_t rest;

	if (n == 0 || (kind = errout_fd(fd)) == 0)
		return real_write(fd, buf, n);
	live = errout_live();
	errno = saved;          /* attaching may have set it */
	if (!live)
		return real_write(fd, buf, n);
	taken = errout_capture(kind, buf, n);
	errno = saved;
	if (errout_mode(kind) == SHIM_TEE)
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
	int saved = errno, live, kind;
	size_t total = 0, taken = 0, part = 0;
	ssize_t rest;
	int i;

	if ((kind = errout_fd(fd)) == 0 || iovcnt <= 0 || iovcnt > IOV_MAX)
		return real_writev(fd, iov, iovcnt);
	for (i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > SSIZE_MAX - total)
			return real_writev(fd, iov, iovcnt);    /* EINVAL */
		total += iov[i].iov_len;
	}
	if (total == 0)
		return real_writev(fd, iov, iovcnt);
	live = errout_live();
	errno = saved;          /* attaching may have set it */
	if (!live)
		return real_writev(fd, iov, iovcnt);
	for (i = 0; i < iovcnt; i++) {
		size_t t = iov[i].iov_len == 0 ? 0 :
		    errout_capture(kind, iov[i].iov_base, iov[i].iov_len);

		taken += t;
		if (t < iov[i].iov_len) {
			part = t;       /* iov[i] was taken up to here */
			break;
		}
	}
	errno = saved;
	if (errout_mode(kind) == SHIM_TEE)
		return real_writev(fd, iov, iovcnt);
	if (taken == total)
		return (ssize_t)total;
	rest = hook_writev_rest(fd, iov, iovcnt, i, part);
	return rest == -1 ? (taken > 0 ? (ssize_t)taken : -1) : (ssize_t)(taken + (size_t)rest);
}
