/*
 * hook_stdio.c - stdio output to a stream whose descriptor is stderr
 * (errout.h): the printf family, fputs, fputc, putc, fwrite and their
 * _unlocked forms, the fortified __*_chk entry points, __overflow (where
 * an inlined putc_unlocked lands), stdout's own functions (for when fd 1
 * is a copy of stderr), dprintf, and the calls that flush a stream or
 * close its descriptor. Everything else passes straight through.
 */
/* This file defines functions the headers inline when optimising. */
#include <features.h>
#undef __USE_EXTERN_INLINES

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "errout.h"
#include "fdset.h"
#include "hook.h"
#include "real.h"

/* The _IO_ names older binaries still call. */
#define HOOK_ALIAS(name, target) \
	__typeof__(target) name __attribute__((alias(#target), visibility("default")));

/* The printf family: one body for every entry point. */
static int
hook_vfprintf(FILE *fp, int flag, const char *fmt, va_list ap)
{
	int r;

	if (errout_hvprintf(fp, flag, fmt, ap, &r))
		return r;
	return flag < 0 ? REAL(vfprintf)(fp, fmt, ap) : REAL(__vfprintf_chk)(fp, flag, fmt, ap);
}

HOOK_EXPORT int
vfprintf(FILE *fp, const char *fmt, va_list ap)
{
	return hook_vfprintf(fp, -1, fmt, ap);
}

HOOK_EXPORT int
__vfprintf_chk(FILE *fp, int flag, const char *fmt, va_list ap)
{
	return hook_vfprintf(fp, flag, fmt, ap);
}

HOOK_EXPORT int
vprintf(const char *fmt, va_list ap)
{
	return hook_vfprintf(stdout, -1, fmt, ap);
}

HOOK_EXPORT int
__vprintf_chk(int flag, const char *fmt, va_list ap)
{
	return hook_vfprintf(stdout, flag, fmt, ap);
}

HOOK_VA(fprintf, (FILE *fp, const char *fmt, ...), fmt, hook_vfprintf(fp, -1, fmt, ap))
HOOK_VA(__fprintf_chk, (FILE *fp, int flag, const char *fmt, ...), fmt,
    hook_vfprintf(fp, flag, fmt, ap))
HOOK_VA(printf, (const char *fmt, ...), fmt, hook_vfprintf(stdout, -1, fmt, ap))
HOOK_VA(__printf_chk, (int flag, const char *fmt, ...), fmt,
    hook_vfprintf(stdout, flag, fmt, ap))
HOOK_ALIAS(_IO_fprintf, fprintf)
HOOK_ALIAS(_IO_vfprintf, vfprintf)
HOOK_ALIAS(_IO_printf, printf)

/* dprintf: formatted output to a descriptor. */
static int
hook_vdprintf(int fd, int flag, const char *fmt, va_list ap)
{
	int r;

	if (errout_hvdprintf(fd, flag, fmt, ap, &r))
		return r;
	return flag < 0 ? REAL(vdprintf)(fd, fmt, ap) : REAL(__vdprintf_chk)(fd, flag, fmt, ap);
}

HOOK_EXPORT int
vdprintf(int fd, const char *fmt, va_list ap)
{
	return hook_vdprintf(fd, -1, fmt, ap);
}

HOOK_EXPORT int
__vdprintf_chk(int fd, int flag, const char *fmt, va_list ap)
{
	return hook_vdprintf(fd, flag, fmt, ap);
}

HOOK_VA(dprintf, (int fd, const char *fmt, ...), fmt, hook_vdprintf(fd, -1, fmt, ap))
HOOK_VA(__dprintf_chk, (int fd, int flag, const char *fmt, ...), fmt,
    hook_vdprintf(fd, flag, fmt, ap))

/* Strings and blocks. */
#define HOOK_FPUTS(name)						\
HOOK_EXPORT int								\
name(const char *s, FILE *fp)						\
{									\
	int r;								\
									\
	if (errout_hput(fp, s, strlen(s), 1, &r))			\
		return r == 0 ? 1 : EOF;				\
	return REAL(name)(s, fp);					\
}

HOOK_FPUTS(fputs)
HOOK_FPUTS(fputs_unlocked)
HOOK_ALIAS(_IO_fputs, fputs)

HOOK_EXPORT int
puts(const char *s)
{
	size_t n = strlen(s);
	int r;

	if (!errout_hput(stdout, s, n, 1, &r))
		return REAL(puts)(s);
	if (r == 0 && !errout_hput(stdout, "\n", 1, 1, &r))
		r = REAL(fputc)('\n', stdout) == EOF ? EOF : 0;
	return r == 0 ? (n < INT_MAX ? (int)n + 1 : INT_MAX) : EOF;
}
HOOK_ALIAS(_IO_puts, puts)

#define HOOK_FWRITE(name)						\
HOOK_EXPORT size_t							\
name(const void *p, size_t size, size_t nmemb, FILE *fp)		\
{									\
	int r;								\
									\
	if (size != 0 && nmemb != 0 && nmemb <= SIZE_MAX / size &&	\
	    errout_hput(fp, p, size * nmemb, 1, &r))			\
		return r == 0 ? nmemb : 0;				\
	return REAL(name)(p, size, nmemb, fp);				\
}

HOOK_FWRITE(fwrite)
HOOK_FWRITE(fwrite_unlocked)
HOOK_ALIAS(_IO_fwrite, fwrite)

/* Characters: these never check the stream's orientation. */
#define HOOK_FPUTC(name)						\
HOOK_EXPORT int								\
name(int c, FILE *fp)							\
{									\
	unsigned char ch = (unsigned char)c;				\
	int r;								\
									\
	if (errout_hput(fp, &ch, 1, 0, &r))				\
		return r == 0 ? ch : EOF;				\
	return REAL(name)(c, fp);					\
}

HOOK_FPUTC(fputc)
HOOK_FPUTC(fputc_unlocked)
HOOK_FPUTC(putc)
HOOK_FPUTC(putc_unlocked)
HOOK_ALIAS(_IO_putc, putc)

#define HOOK_PUTCHAR(name)						\
HOOK_EXPORT int								\
name(int c)								\
{									\
	unsigned char ch = (unsigned char)c;				\
	int r;								\
									\
	if (errout_hput(stdout, &ch, 1, 0, &r))				\
		return r == 0 ? ch : EOF;				\
	return REAL(name)(c);						\
}

HOOK_PUTCHAR(putchar)
HOOK_PUTCHAR(putchar_unlocked)

/* An inlined putc_unlocked found the buffer full (or absent). */
HOOK_EXPORT int
__overflow(FILE *fp, int c)
{
	unsigned char ch = (unsigned char)c;
	int r;

	if (errout_hput(fp, &ch, c == EOF ? 0 : 1, 0, &r))
		return r == 0 ? (c == EOF ? 0 : ch) : EOF;
	return REAL(__overflow)(fp, c);
}

/* Flushing: what the buffer holds is captured first. fflush(NULL) also
 * flushes stderr and stdout. */
static void
hook_flush_std(FILE *fp)
{
	int r;

	if (fp != NULL) {
		errout_hput(fp, NULL, 0, 0, &r);
		return;
	}
	errout_hput(stderr, NULL, 0, 0, &r);
	errout_hput(stdout, NULL, 0, 0, &r);
}

HOOK_EXPORT int
fflush(FILE *fp)
{
	hook_flush_std(fp);
	return REAL(fflush)(fp);
}
HOOK_ALIAS(_IO_fflush, fflush)

HOOK_EXPORT int
fflush_unlocked(FILE *fp)
{
	hook_flush_std(fp);
	return REAL(fflush_unlocked)(fp);
}

/* Closing a stream closes its descriptor inside the C library. */
HOOK_EXPORT int
fclose(FILE *fp)
{
	int fd = errout_file(fp) ? fp->_fileno : -1, r, saved;

	hook_flush_std(fp);
	r = REAL(fclose)(fp);
	saved = errno;
	fdset_clear(fd);
	errno = saved;
	return r;
}
HOOK_ALIAS(_IO_fclose, fclose)

HOOK_EXPORT int
fcloseall(void)
{
	int r, saved;

	hook_flush_std(NULL);
	r = REAL(fcloseall)();
	saved = errno;
	fdset_prune();
	errno = saved;
	return r;
}

/* freopen with a path replaces the descriptor; without one it keeps it. */
static FILE *
hook_freopen_done(const char *path, int fd, FILE *r)
{
	int saved = errno;

	if (path != NULL) {
		int std = fdset_std_name(path);

		fdset_clear(fd);
		if (r != NULL && std != -1)
			fdset_copy(std, r->_fileno);
		else if (r != NULL)
			fdset_clear(r->_fileno);
	}
	errno = saved;
	return r;
}

HOOK_EXPORT FILE *
freopen(const char *path, const char *mode, FILE *fp)
{
	int fd = fp != NULL ? fp->_fileno : -1;

	hook_flush_std(fp);
	return hook_freopen_done(path, fd, REAL(freopen)(path, mode, fp));
}

HOOK_EXPORT FILE *
freopen64(const char *path, const char *mode, FILE *fp)
{
	int fd = fp != NULL ? fp->_fileno : -1;

	hook_flush_std(fp);
	return hook_freopen_done(path, fd, REAL(freopen64)(path, mode, fp));
}
