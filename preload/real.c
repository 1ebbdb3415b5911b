/* real.c - the libc functions behind the hooks. */
#include "real.h"

#include <dlfcn.h>
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

struct real_fns real;

void *
real_resolve(void **slot, const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (p == NULL)
		p = REAL_ABSENT;
	/* Release pairs with the acquire in real_get(). Two threads may
	 * both look it up: they store the same value. */
	__atomic_store_n(slot, p, __ATOMIC_RELEASE);
	return p;
}

void
real_init(void)
{
#define REAL_SYM(f) real_get((void **)&real.f, #f);
	REAL_EAGER(REAL_SYM)
#undef REAL_SYM
}

/* The function in *slot if it was resolved, else NULL; never resolves:
 * real_write may run in a signal handler before the constructor, where
 * dlsym is not safe. */
static void *
real_loaded(void **slot)
{
	/* Acquire pairs with the release store in real_resolve(). */
	void *p = __atomic_load_n(slot, __ATOMIC_ACQUIRE);

	return p == REAL_ABSENT ? NULL : p;
}

ssize_t
real_write(int fd, const void *buf, size_t n)
{
	__typeof__(write) *w = (__typeof__(write) *)real_loaded((void **)&real.write);

	return w != NULL ? w(fd, buf, n) : syscall(SYS_write, fd, buf, n);
}

ssize_t
real_writev(int fd, const struct iovec *iov, int n)
{
	__typeof__(writev) *w = (__typeof__(writev) *)real_loaded((void **)&real.writev);

	return w != NULL ? w(fd, iov, n) : syscall(SYS_writev, fd, iov, n);
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
	__typeof__(vsyslog) *f = REAL(vsyslog);
	va_list ap;

	if (f == NULL)
		return;
	va_start(ap, fmt);
	f(pri, fmt, ap);
	va_end(ap);
}
