/*
 * hook_open.c - descriptors and streams opened on stderr by name: a
 * successful open, openat, creat (and their 64-bit names), the fortified
 * __open_2 and __openat_2, fopen and fopen64 of "/dev/stderr",
 * "/dev/fd/2", "/proc/self/fd/2", "/proc/thread-self/fd/2" or
 * "/proc/PID/fd/2" (PID this process's) gives a descriptor that is
 * stderr exactly when descriptor 2 is (fdset.h), as a dup of it would be.
 * The open itself is the real one: its flags (O_TRUNC, O_APPEND), return
 * value and errno are unchanged. Only those absolute names count: another
 * path to the same file is not stderr.
 *
 * Under mplogd's --catch-all, descriptor 2 is a socket, which Linux does
 * not open by a /proc name (ENXIO). When it is the catch-all socket
 * itself (its inode is in MPLOG_CATCHALL), such an open is given a
 * duplicate of descriptor 2 instead, close-on-exec when asked, as the
 * open would have given without mplog. freopen is left as it is there
 * (it has closed the stream when the open fails).
 *
 * The descriptor hooks are async-signal-safe, as open is; the stream
 * hooks are as thread-safe as fopen.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdset.h"
#include "hook.h"
#include "real.h"
#include "shim.h"

/* A duplicate of descriptor 2 when it is mplogd's catch-all socket, or -1. */
static int
hook_open_catchall(int cloexec)
{
	struct stat st;
	int fd;

	/* Relaxed: OFF is decided once, by the constructor, before main. */
	if (shim.catchall_ino == 0 ||
	    atomic_load_explicit(&shim.state, memory_order_relaxed) == SHIM_OFF ||
	    fstat(STDERR_FILENO, &st) == -1 || !S_ISSOCK(st.st_mode) ||
	    (unsigned long long)st.st_ino != shim.catchall_ino)
		return -1;
	fd = REAL(fcntl)(STDERR_FILENO, cloexec ? F_DUPFD_CLOEXEC : F_DUPFD, 0);
	if (fd != -1)
		fdset_copy(STDERR_FILENO, fd);
	return fd;
}

/* After an open of path with flags returned fd: follow stderr. before:
 * errno at the call, which a duplicate given in place of a failed open
 * leaves as a successful open would. */
static int
hook_open_done(const char *path, int flags, int fd, int before)
{
	int saved = errno, std = fdset_std_name(path), dup;

	if (std == -1)
		return fd;
	if (fd != -1)
		fdset_copy(std, fd);
	else if (std == STDERR_FILENO && saved == ENXIO &&
	    (dup = hook_open_catchall(flags & O_CLOEXEC)) != -1)
		fd = dup, saved = before;
	errno = saved;
	return fd;
}

/* The mode argument: present when the flags create a file. */
#define HOOK_OPEN_MODE(flags, last, mode)				\
	do {								\
		va_list ap;						\
									\
		mode = 0;						\
		if (((flags) & O_CREAT) || ((flags) & O_TMPFILE) == O_TMPFILE) { \
			va_start(ap, last);				\
			mode = (mode_t)va_arg(ap, int);			\
			va_end(ap);					\
		}							\
	} while (0)

HOOK_EXPORT int
open(const char *path, int flags, ...)
{
	int before = errno;
	mode_t mode;

	HOOK_OPEN_MODE(flags, flags, mode);
	return hook_open_done(path, flags, REAL(open)(path, flags, mode), before);
}

HOOK_EXPORT __typeof__(open) open64 __attribute__((alias("open")));

HOOK_EXPORT int
openat(int dirfd, const char *path, int flags, ...)
{
	int before = errno;
	mode_t mode;

	HOOK_OPEN_MODE(flags, flags, mode);
	return hook_open_done(path, flags, REAL(openat)(dirfd, path, flags, mode), before);
}

HOOK_EXPORT __typeof__(openat) openat64 __attribute__((alias("openat")));

HOOK_EXPORT int
creat(const char *path, mode_t mode)
{
	int before = errno;

	return hook_open_done(path, O_CREAT | O_WRONLY | O_TRUNC, REAL(creat)(path, mode),
	    before);
}

HOOK_EXPORT __typeof__(creat) creat64 __attribute__((alias("creat")));

/* The fortified forms check that a creating open has its mode (and fail
 * the program as glibc's do, through them); the rest is open's. */
HOOK_EXPORT int
__open_2(const char *path, int flags)
{
	int before = errno;

	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
		return REAL(__open_2)(path, flags);
	return hook_open_done(path, flags, REAL(open)(path, flags), before);
}

HOOK_EXPORT __typeof__(__open_2) __open64_2 __attribute__((alias("__open_2")));

HOOK_EXPORT int
__openat_2(int dirfd, const char *path, int flags)
{
	int before = errno;

	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
		return REAL(__openat_2)(dirfd, path, flags);
	return hook_open_done(path, flags, REAL(openat)(dirfd, path, flags), before);
}

HOOK_EXPORT __typeof__(__openat_2) __openat64_2 __attribute__((alias("__openat_2")));

/* fopen's result for path and mode: the stream's descriptor follows
 * stderr; under --catch-all a stream on a duplicate of it. before: errno
 * at the call. */
static FILE *
hook_fopen_done(const char *path, const char *mode, FILE *fp, int before)
{
	int saved = errno, std = fdset_std_name(path), fd;

	if (std == -1)
		return fp;
	if (fp != NULL) {
		fdset_copy(std, fileno(fp));
	} else if (std == STDERR_FILENO && saved == ENXIO &&
	    (fd = hook_open_catchall(strchr(mode, 'e') != NULL)) != -1) {
		if ((fp = fdopen(fd, mode)) != NULL) {
			saved = before;
		} else {
			fdset_clear(fd);
			REAL(close)(fd);
		}
	}
	errno = saved;
	return fp;
}

HOOK_EXPORT FILE *
fopen(const char *path, const char *mode)
{
	int before = errno;

	return hook_fopen_done(path, mode, REAL(fopen)(path, mode), before);
}

HOOK_EXPORT __typeof__(fopen) fopen64 __attribute__((alias("fopen")));
