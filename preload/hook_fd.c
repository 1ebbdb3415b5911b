/*
 * hook_fd.c - follow the descriptors that are stderr (see fdset.h): dup,
 * dup2, dup3 and fcntl(F_DUPFD, F_DUPFD_CLOEXEC) make copies; close,
 * close_range and closefrom, and dup2 or dup3 onto a copy, end one. When
 * the program points fd 2 elsewhere its writes go where it sent them.
 * Stream-level closes (fclose, freopen, fcloseall) are in hook_stdio.c.
 */
#include <errno.h>
#include <linux/close_range.h>

#include "fdset.h"
#include "hook.h"
#include "real.h"

HOOK_EXPORT int
close(int fd)
{
	int r = REAL(close)(fd), saved = errno;

	if (r == 0 || errno != EBADF)
		fdset_clear(fd);        /* Linux frees the number even on EINTR */
	errno = saved;
	return r;
}

HOOK_EXPORT int
dup(int fd)
{
	int r = REAL(dup)(fd), saved = errno;

	if (r != -1)
		fdset_copy(fd, r);
	errno = saved;
	return r;
}

HOOK_EXPORT int
dup2(int oldfd, int newfd)
{
	int r = REAL(dup2)(oldfd, newfd), saved = errno;

	if (r != -1)
		fdset_copy(oldfd, r);
	errno = saved;
	return r;
}

HOOK_EXPORT int
dup3(int oldfd, int newfd, int flags)
{
	int r = REAL(dup3)(oldfd, newfd, flags), saved = errno;

	if (r != -1)
		fdset_copy(oldfd, r);
	errno = saved;
	return r;
}

/* After fcntl(fd, cmd, ...) returned r: follow a duplication. */
static int
hook_fcntl_done(int fd, int cmd, int r)
{
	int saved = errno;

	if (r != -1 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
		fdset_copy(fd, r);
	errno = saved;
	return r;
}

/* The third argument is an int or a pointer; both travel in one register
 * and are passed on unchanged, as glibc's own wrapper does. */
#define HOOK_FCNTL(name)						\
HOOK_EXPORT int								\
name(int fd, int cmd, ...)						\
{									\
	va_list ap;							\
	void *arg;							\
									\
	va_start(ap, cmd);						\
	arg = va_arg(ap, void *);					\
	va_end(ap);							\
	return hook_fcntl_done(fd, cmd, REAL(name)(fd, cmd, arg));	\
}

HOOK_FCNTL(fcntl)
HOOK_FCNTL(fcntl64)

HOOK_EXPORT int
close_range(unsigned int first, unsigned int last, int flags)
{
	int r = REAL(close_range)(first, last, flags), saved = errno;

	if (r == 0 && (flags & CLOSE_RANGE_CLOEXEC) == 0)
		fdset_clear_range(first, last);
	errno = saved;
	return r;
}

HOOK_EXPORT void
closefrom(int lowfd)
{
	int saved;

	REAL(closefrom)(lowfd);
	saved = errno;
	fdset_clear_range(lowfd < 0 ? 0 : (unsigned)lowfd, FDSET_MAX - 1);
	errno = saved;
}
