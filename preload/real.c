/* real.c - the libc functions behind the hooks. */
#include "real.h"

#include <dlfcn.h>
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

struct real_fns real;

void
real_init(void)
{
	if (real.write != NULL)
		return;
	real.writev = (ssize_t (*)(int, const struct iovec *, int))dlsym(RTLD_NEXT, "writev");
	real.openlog = (void (*)(const char *, int, int))dlsym(RTLD_NEXT, "openlog");
	real.closelog = (void (*)(void))dlsym(RTLD_NEXT, "closelog");
	real.setlogmask = (int (*)(int))dlsym(RTLD_NEXT, "setlogmask");
	real.vsyslog = (void (*)(int, const char *, va_list))dlsym(RTLD_NEXT, "vsyslog");
	real.vsyslog_chk = (void (*)(int, int, const char *, va_list))dlsym(RTLD_NEXT, "__vsyslog_chk");
	real.close = (int (*)(int))dlsym(RTLD_NEXT, "close");
	real.dup2 = (int (*)(int, int))dlsym(RTLD_NEXT, "dup2");
	real.dup3 = (int (*)(int, int, int))dlsym(RTLD_NEXT, "dup3");
	real.close_range = (int (*)(unsigned int, unsigned int, int))dlsym(RTLD_NEXT, "close_range");
	real.closefrom = (void (*)(int))dlsym(RTLD_NEXT, "closefrom");
	/* write last: it is what the other users test for. */
	real.write = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
}

ssize_t
real_write(int fd, const void *buf, size_t n)
{
	if (real.write != NULL)
		return real.write(fd, buf, n);
	return syscall(SYS_write, fd, buf, n);
}

ssize_t
real_writev(int fd, const struct iovec *iov, int n)
{
	if (real.writev != NULL)
		return real.writev(fd, iov, n);
	return syscall(SYS_writev, fd, iov, n);
}

int
real_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = real_write(fd, p, n);

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

void
real_syslog(int pri, const char *fmt, ...)
{
	va_list ap;

	real_init();
	if (real.vsyslog == NULL)
		return;
	va_start(ap, fmt);
	real.vsyslog(pri, fmt, ap);
	va_end(ap);
}
