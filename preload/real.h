/*
 * real.h - pointers to the libc functions the shim interposes.
 *
 * real_init() resolves them with dlsym(RTLD_NEXT) from the shim's
 * constructor; a hook that runs before it (another library's constructor)
 * calls real_init() itself. real_write falls back to the raw system call,
 * so a line can always reach its destination. Not async-signal-safe to
 * initialise; safe to use once initialised.
 */
#ifndef MPLOG_REAL_H
#define MPLOG_REAL_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

struct real_fns {
	ssize_t (*write)(int, const void *, size_t);
	ssize_t (*writev)(int, const struct iovec *, int);
	void (*openlog)(const char *, int, int);
	void (*closelog)(void);
	int (*setlogmask)(int);
	void (*vsyslog)(int, const char *, va_list);
	void (*vsyslog_chk)(int, int, const char *, va_list);
	int (*close)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*close_range)(unsigned int, unsigned int, int);
	void (*closefrom)(int);
};

extern struct real_fns real;

/* Resolve every pointer; idempotent. */
void real_init(void);

/* write(2) through the real function, or the system call before init. */
ssize_t real_write(int fd, const void *buf, size_t n);

/* writev(2) likewise. */
ssize_t real_writev(int fd, const struct iovec *iov, int n);

/* Write all of buf to fd, retrying short writes and EINTR; -1 on error. */
int real_write_all(int fd, const void *buf, size_t n);

/* syslog(3) through the real vsyslog, with printf-style arguments. */
void real_syslog(int pri, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
