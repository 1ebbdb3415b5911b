/* real.c - the libc functions behind the hooks. */
#include "real.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

struct real_fns real;

_Atomic int real_done;

void
real_init(void)
{
	if (real_ready())
		return;
#define REAL_SYM(f) real.f = (__typeof__(f) *)dlsym(RTLD_NEXT, #f);
	REAL_DEPRECATED_OK(REAL_FNS(REAL_SYM))
#undef REAL_SYM
	atomic_store_explicit(&real_done, 1, memory_order_release);
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
