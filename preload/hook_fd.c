/*
 * hook_fd.c - follow the program when it closes descriptor 2 or points it
 * elsewhere: from then on its writes to fd 2 are its own business and go
 * where it sent them. Covers close, dup2, dup3, close_range and closefrom
 * (a stdio-level freopen or fclose of stderr goes through the C library's
 * internal calls and is not seen).
 */
#include <errno.h>
#include <linux/close_range.h>
#include <unistd.h>

#include "hook.h"
#include "real.h"
#include "shim.h"

int close_range(unsigned int first, unsigned int last, int flags);
void closefrom(int lowfd);

/* fd 2 no longer is the stderr the program started with. */
static void
hook_fd_lost2(void)
{
	atomic_store_explicit(&shim.fd2_stderr, 0, memory_order_relaxed);
}

HOOK_EXPORT int
close(int fd)
{
	int r;

	real_init();
	r = real.close(fd);
	if (fd == 2 && (r == 0 || errno != EBADF))
		hook_fd_lost2();       /* Linux frees the number even on EINTR */
	return r;
}

HOOK_EXPORT int
dup2(int oldfd, int newfd)
{
	int r;

	real_init();
	r = real.dup2(oldfd, newfd);
	if (r == 2 && oldfd != 2)
		hook_fd_lost2();
	return r;
}

HOOK_EXPORT int
dup3(int oldfd, int newfd, int flags)
{
	int r;

	real_init();
	r = real.dup3(oldfd, newfd, flags);
	if (r == 2)
		hook_fd_lost2();
	return r;
}

HOOK_EXPORT int
close_range(unsigned int first, unsigned int last, int flags)
{
	int r;

	real_init();
	r = real.close_range(first, last, flags);
	if (r == 0 && first <= 2 && last >= 2 && (flags & CLOSE_RANGE_CLOEXEC) == 0)
		hook_fd_lost2();
	return r;
}

HOOK_EXPORT void
closefrom(int lowfd)
{
	real_init();
	real.closefrom(lowfd);
	if (lowfd <= 2)
		hook_fd_lost2();
}
