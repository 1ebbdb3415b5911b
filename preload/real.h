/*
 * real.h - the libc functions behind the hooks.
 *
 * Each is found with dlsym(RTLD_NEXT) once. The async-signal-safe ones
 * (REAL_EAGER: what a signal handler may call, or the shim calls from
 * one) are resolved by the shim's constructor, since dlsym is not safe
 * in a signal handler; the others on their first call through REAL(), so
 * a program that never calls them never pays their lookups (about 0.2 us
 * each) at start. A hook that runs before the constructor (another
 * library's constructor) resolves what it needs the same way.
 * real_write falls back to the raw system call, so a line can always
 * reach its destination.
 *
 * Variadic functions are reached through their va_list forms (fprintf
 * through vfprintf); the few with none (error, error_at_line) are given
 * their message already formatted.
 */
#ifndef MPLOG_REAL_H
#define MPLOG_REAL_H

#include <assert.h>
#include <dlfcn.h>
#include <err.h>
#include <error.h>
#include <argp.h>
#include <fcntl.h>
#include <fmtmsg.h>
#include <getopt.h>
#include <malloc.h>
#include <netdb.h>
#include <printf.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <syslog.h>
#include <unistd.h>
#include <wchar.h>

/* The fortified entry points; the headers declare them only under
 * _FORTIFY_SOURCE. */
int __fprintf_chk(FILE *fp, int flag, const char *fmt, ...);
int __vfprintf_chk(FILE *fp, int flag, const char *fmt, va_list ap);
int __printf_chk(int flag, const char *fmt, ...);
int __vprintf_chk(int flag, const char *fmt, va_list ap);
int __dprintf_chk(int fd, int flag, const char *fmt, ...);
int __vdprintf_chk(int fd, int flag, const char *fmt, va_list ap);
int __fwprintf_chk(FILE *fp, int flag, const wchar_t *fmt, ...);
int __vfwprintf_chk(FILE *fp, int flag, const wchar_t *fmt, va_list ap);
int __wprintf_chk(int flag, const wchar_t *fmt, ...);
int __vwprintf_chk(int flag, const wchar_t *fmt, va_list ap);
int __vsnprintf_chk(char *s, size_t n, int flag, size_t slen, const char *fmt, va_list ap);
int __vswprintf_chk(wchar_t *s, size_t n, int flag, size_t slen, const wchar_t *fmt,
    va_list ap);
void __syslog_chk(int pri, int flag, const char *fmt, ...);
void __vsyslog_chk(int pri, int flag, const char *fmt, va_list ap);
int close_range(unsigned int first, unsigned int last, int flags);
int __open_2(const char *path, int flags);
int __posix_getopt(int argc, char *const *argv, const char *opts);
int __openat_2(int dirfd, const char *path, int flags);
void closefrom(int lowfd);

/* Resolved at load: async-signal-safe, or called by the shim from a
 * signal handler (fatal.c, a hook interrupted). */
#define REAL_EAGER(X)							\
	X(_exit) X(write) X(writev) X(close) X(dup) X(dup2) X(dup3) X(fcntl)	\
	X(fcntl64) X(close_range) X(closefrom) X(execve) X(fexecve)	\
	X(execveat) X(abort) X(sigaction) X(signal) X(_Fork) X(open)	\
	X(openat) X(creat)

/* Resolved on first use. */
#define REAL_LAZY(X)							\
	X(openlog) X(closelog) X(setlogmask) X(vsyslog) X(__vsyslog_chk) \
	X(vfprintf) X(__vfprintf_chk) X(vprintf) X(__vprintf_chk)	\
	X(vdprintf) X(__vdprintf_chk) X(fputs) X(fputs_unlocked)	\
	X(fputc) X(fputc_unlocked) X(putc) X(putc_unlocked) X(fwrite)	\
	X(fwrite_unlocked) X(puts) X(putchar) X(putchar_unlocked)	\
	X(__overflow) X(fflush) X(fflush_unlocked) X(fclose) X(freopen) \
	X(freopen64) X(fcloseall)					\
	X(vfwprintf) X(__vfwprintf_chk) X(vwprintf) X(__vwprintf_chk)	\
	X(fputws) X(fputws_unlocked) X(fputwc) X(fputwc_unlocked)	\
	X(putwc) X(putwc_unlocked) X(putwchar) X(putwchar_unlocked)	\
	X(perror) X(vwarn) X(vwarnx) X(verr) X(verrx) X(error)		\
	X(error_at_line) X(psignal) X(psiginfo) X(__assert_fail)	\
	X(__assert_perror_fail)						\
	X(execv) X(execvp) X(execvpe) X(daemon) X(sysv_signal) X(sigset) \
	X(siginterrupt) X(dlclose) X(register_printf_specifier)		\
	X(register_printf_function) X(register_printf_modifier)		\
	X(register_printf_type) X(__open_2) X(__openat_2) X(fopen)	\
	X(getopt) X(__posix_getopt) X(getopt_long) X(getopt_long_only)	\
	X(argp_parse) X(argp_help) X(argp_state_help) X(argp_usage)	\
	X(argp_error) X(argp_failure) X(malloc_stats) X(fmtmsg) X(herror) \
	X(prctl) X(pthread_setname_np)

#define REAL_FNS(X) REAL_EAGER(X) REAL_LAZY(X)

/* sigset and siginterrupt are deprecated, and hooked all the same. */
#define REAL_DEPRECATED_OK(...)						\
	_Pragma("GCC diagnostic push")					\
	_Pragma("GCC diagnostic ignored \"-Wdeprecated-declarations\"")	\
	__VA_ARGS__							\
	_Pragma("GCC diagnostic pop")

#define REAL_DECL(f) __typeof__(f) *f;
REAL_DEPRECATED_OK(struct real_fns {
	REAL_FNS(REAL_DECL)
};)
#undef REAL_DECL

extern struct real_fns real;

/* A slot whose function libc does not have. */
#define REAL_ABSENT ((void *)1)

/* Resolve the eager functions; idempotent. */
void real_init(void);

/* Look name up and store it in *slot (REAL_ABSENT when libc lacks it). */
void *real_resolve(void **slot, const char *name);

/* The function in *slot, resolving it first if needed; NULL when absent. */
static inline void *
real_get(void **slot, const char *name)
{
	/* Acquire pairs with the release store in real_resolve(). */
	void *p = __atomic_load_n(slot, __ATOMIC_ACQUIRE);

	if (__builtin_expect(p == NULL, 0))
		p = real_resolve(slot, name);
	return p == REAL_ABSENT ? NULL : p;
}

/* The real f, or NULL when libc lacks it. */
#define REAL(f) ((__typeof__(real.f))real_get((void **)&real.f, #f))

/* write(2) through the real function, or the system call before init. */
ssize_t real_write(int fd, const void *buf, size_t n);

/* writev(2) likewise. */
ssize_t real_writev(int fd, const struct iovec *iov, int n);

/* Write all of buf to fd, retrying short writes and EINTR; -1 on error. */
int real_write_all(int fd, const void *buf, size_t n);

/* syslog(3) through the real vsyslog, with printf-style arguments. */
void real_syslog(int pri, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
