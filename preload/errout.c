/* errout.c - stderr (and captured stdout) text from every hook into the pipeline. */
#include "errout.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "fdset.h"
#include "heapring.h"
#include "real.h"
#include "capture.h"
#include "shim.h"

/* Flags of glibc's struct _IO_FILE (libio.h). */
#define ERROUT_IO_ERR_SEEN   0x0020
#define ERROUT_IO_IS_FILEBUF 0x2000

#define ERROUT_WIDE_MAX (1u << 20)      /* wide characters formatted at most */

int
errout_fd(int fd)
{
	int kind = fdset_has(fd) ? (shim.stderr_mode != SHIM_PASS_THROUGH ? HEAPRING_STDERR : 0) :
	    fdset_is(fd, FDSET_OUT) ? HEAPRING_STDOUT : 0;

	return kind != 0 &&
	    atomic_load_explicit(&shim.state, memory_order_relaxed) != SHIM_OFF ? kind : 0;
}

int
errout_mode(int kind)
{
	return kind == HEAPRING_STDOUT ? shim.stdout_mode : shim.stderr_mode;
}

int
errout_file(FILE *fp)
{
	/* The descriptor is read from the structure: fileno() sets errno. */
	return fp != NULL && (fp->_flags & ERROUT_IO_IS_FILEBUF) != 0 &&
	    errout_fd(fp->_fileno);
}

int
errout_live(void)
{
	int w;

	shim_enter();
	w = shim_live();
	shim_leave();
	return w;
}

size_t
errout_capture(int kind, const void *buf, size_t n)
{
	size_t taken;

	shim_enter();
	taken = capture_bytes((uint8_t)kind, kind == HEAPRING_STDOUT ? SHIM_STDOUT_PRI :
	    shim.stderr_pri, 0, buf, n);
	shim_leave();
	return taken;
}

static void
errout_unlock_stream(void *fp)
{
	funlockfile(fp);
}

/*
 * Write n bytes to fd. held: the stream whose lock the caller holds, or
 * NULL. The write is a cancellation point: a thread cancelled in it
 * releases that lock, as glibc's stdio does (pthread_cleanup_push, whose
 * setjmp is paid only here, next to a system call).
 */
static int
errout_write_through(FILE *held, int fd, const char *buf, size_t n)
{
	int r;

	if (held == NULL)
		return real_write_all(fd, buf, n);
	pthread_cleanup_push(errout_unlock_stream, held);
	r = real_write_all(fd, buf, n);
	pthread_cleanup_pop(0);
	return r;
}

/* Capture all of buf as output of kind (errout_fd's; 0: not captured);
 * what mplog did not take, and everything in tee mode, is written to fd
 * (errout_write_through). 0 with errno kept, or -1 with errno when that
 * write failed. */
static int
errout_take(FILE *held, int kind, int fd, const char *buf, size_t n)
{
	int saved = errno;
	size_t taken = kind != 0 ? errout_capture(kind, buf, n) : 0;

	if (errout_mode(kind) == SHIM_TEE)
		taken = 0;
	if (taken < n && errout_write_through(held, fd, buf + taken, n - taken) == -1)
		return -1;
	errno = saved;
	return 0;
}

/*
 * The end of what stdout's buffer holds that was captured already, in tee
 * mode (errout_put_buffered); read and written only with stdout locked,
 * which orders it. Relaxed atomic: that lock is glibc's own, which
 * ThreadSanitizer does not see. Bytes past it got there without a hook
 * (the inline putc_unlocked).
 */
static _Atomic(char *) errout_out_mark;

/*
 * Tee to stdout keeping the stream's own buffering: capture what its
 * buffer holds past the mark and buf, with the time of this call, then
 * hand buf to the real stream (n == 0: flush it). 0, or EOF with errno
 * and the stream's error flag set as the real call left them.
 */
static int
errout_put_buffered(FILE *fp, const void *buf, size_t n)
{
	char *base = fp->_IO_write_base, *ptr = fp->_IO_write_ptr, *from = base;
	char *mark = atomic_load_explicit(&errout_out_mark, memory_order_relaxed);
	int saved = errno, r;

	if (mark >= base && mark <= ptr)
		from = mark;
	if (ptr > from)
		errout_capture(HEAPRING_STDOUT, from, (size_t)(ptr - from));
	if (n > 0)
		errout_capture(HEAPRING_STDOUT, buf, n);
	errno = saved;
	r = n == 0 ? REAL(fflush_unlocked)(fp) :
	    REAL(fwrite_unlocked)(buf, 1, n, fp) == n ? 0 : EOF;
	atomic_store_explicit(&errout_out_mark, fp->_IO_write_ptr, memory_order_relaxed);
	return r;
}

int
errout_put(FILE *fp, const void *buf, size_t n)
{
	char *base = fp->_IO_write_base, *ptr = fp->_IO_write_ptr;
	int kind = errout_fd(fp->_fileno);

	if (fp == stdout && kind == HEAPRING_STDOUT && shim.stdout_mode == SHIM_TEE &&
	    fwide(fp, 0) <= 0)
		return errout_put_buffered(fp, buf, n);
	if (ptr > base)
		fp->_IO_write_ptr = base;
	if ((ptr > base && errout_take(fp, kind, fp->_fileno, base, (size_t)(ptr - base)) == -1) ||
	    (n > 0 && errout_take(fp, kind, fp->_fileno, buf, n) == -1)) {
		fp->_flags |= ERROUT_IO_ERR_SEEN;
		return EOF;
	}
	return 0;
}

/* 1 when output to fd is to be captured now; errno is kept. */
static int
errout_wants_fd(int fd)
{
	int saved = errno, w = errout_fd(fd) && errout_live();

	errno = saved;
	return w;
}

int
errout_wants(FILE *fp)
{
	return errout_file(fp) && errout_wants_fd(fp->_fileno);
}

static void
errout_unlock(FILE **fp)
{
	funlockfile(*fp);
}

/*
 * Lock fp until the end of the enclosing block. A thread cancelled while
 * it holds the lock can be so only in the write through, which releases
 * it (errout_write_through); text a hook formatted on the heap is then
 * not freed.
 */
#define ERROUT_LOCK(fp) \
	FILE *errout_held __attribute__((cleanup(errout_unlock))) = (flockfile(fp), (fp))

int
errout_hput(FILE *fp, const void *buf, size_t n, int strict, int *ret)
{
	int o;

	if (!errout_wants(fp))
		return 0;
	ERROUT_LOCK(fp);
	o = fwide(fp, 0);
	if (o > 0 && strict)
		return 0;
	if (o == 0 && n > 0)
		fwide(fp, -1);  /* a flush orients nothing */
	*ret = errout_put(fp, buf, n);
	return 1;
}

int
errout_format(struct errout_text *t, int flag, const char *fmt, va_list ap)
{
	int saved = errno, n;
	va_list again;

	va_copy(again, ap);
	t->p = t->small;
	n = flag < 0 ? vsnprintf(t->small, sizeof(t->small), fmt, ap) :
	    __vsnprintf_chk(t->small, sizeof(t->small), flag, sizeof(t->small), fmt, ap);
	if (n >= (int)sizeof(t->small)) {
		if ((t->p = malloc((size_t)n + 1)) == NULL) {
			t->p = t->small;
			n = -1;
		} else {
			errno = saved;  /* %m reads errno at the call */
			n = flag < 0 ? vsnprintf(t->p, (size_t)n + 1, fmt, again) :
			    __vsnprintf_chk(t->p, (size_t)n + 1, flag, (size_t)n + 1, fmt, again);
		}
	}
	va_end(again);
	return n;
}

void
errout_text_free(struct errout_text *t)
{
	if (t->p != t->small)
		free(t->p);
	t->p = t->small;
}

/* errout_hvprintf on a locked stream oriented to bytes. */
static int
errout_vprintf_locked(FILE *fp, int flag, const char *fmt, va_list ap, int *ret)
{
	struct errout_text t __attribute__((cleanup(errout_text_free)));
	va_list copy;
	int saved = errno, n;

	va_copy(copy, ap);
	n = errout_format(&t, flag, fmt, copy);
	va_end(copy);
	if (n >= 0)
		*ret = errout_put(fp, t.p, (size_t)n) == 0 ? n : EOF;
	else
		errno = saved;  /* a format error: the real call reports it */
	return n >= 0;
}

/*
 * In capture mode, hand the call over as a snapshot, formatted later by
 * the pipeline thread rather than here: 1 when taken, with the length of
 * its text in *len; 0 when the caller formats it (tee mode, a call a
 * snapshot does not take, a signal handler that interrupted a hook).
 * errno is kept.
 */
static int
errout_snap(int kind, const char *fmt, va_list ap, int *len)
{
	int saved = errno, taken;

	if (kind != HEAPRING_STDERR || shim.stderr_mode != SHIM_CAPTURE)
		return 0;
	shim_enter();
	taken = capture_esnap(fmt, ap, len) == 0;     /* ap is copied there */
	shim_leave();
	errno = saved;  /* a wait for room may have been interrupted */
	return taken;
}

int
errout_hvprintf(FILE *fp, int flag, const char *fmt, va_list ap, int *ret)
{
	int n;

	if (!errout_wants(fp))
		return 0;
	ERROUT_LOCK(fp);
	if (fwide(fp, -1) > 0)
		return 0;       /* wide: the real one fails */
	/* What the stream's buffer holds goes first. */
	if (fp->_IO_write_ptr > fp->_IO_write_base && errout_put(fp, NULL, 0) == EOF) {
		*ret = EOF;
		return 1;
	}
	if (errout_snap(errout_fd(fp->_fileno), fmt, ap, &n)) {
		*ret = n;
		return 1;
	}
	return errout_vprintf_locked(fp, flag, fmt, ap, ret);
}

int
errout_hvdprintf(int fd, int flag, const char *fmt, va_list ap, int *ret)
{
	struct errout_text t;
	va_list copy;
	int saved = errno, n, kind;

	if (!errout_wants_fd(fd))
		return 0;
	kind = errout_fd(fd);
	if (errout_snap(kind, fmt, ap, &n)) {
		*ret = n;
		return 1;
	}
	va_copy(copy, ap);
	n = errout_format(&t, flag, fmt, copy);
	va_end(copy);
	if (n >= 0)
		*ret = errout_take(NULL, kind, fd, t.p, (size_t)n) == 0 ? n : -1;
	else
		errno = saved;  /* a format error: the real call reports it */
	errout_text_free(&t);
	return n >= 0;
}

int
errout_hdprintf(int fd, int *ret, const char *fmt, ...)
{
	va_list ap;
	int done;

	va_start(ap, fmt);
	done = errout_hvdprintf(fd, -1, fmt, ap, ret);
	va_end(ap);
	return done;
}

/* The multibyte form of n wide characters in t; its length, or -1. */
static int
errout_narrow(struct errout_text *t, const wchar_t *ws, size_t n)
{
	mbstate_t st;
	size_t len = 0, cap = n * MB_CUR_MAX + 1;

	t->p = t->small;
	if (cap > sizeof(t->small) && (t->p = malloc(cap)) == NULL) {
		t->p = t->small;
		return -1;
	}
	memset(&st, 0, sizeof(st));
	for (size_t i = 0; i < n; i++) {
		size_t k = wcrtomb(t->p + len, ws[i], &st);

		if (k == (size_t)-1)
			return -1;
		len += k;
	}
	return (int)len;
}

/* Put n wide characters to a locked, wide stream: 0 or EOF; -2 when they
 * have no multibyte form (the real call reports it). */
static int
errout_wput_locked(FILE *fp, const wchar_t *ws, size_t n)
{
	struct errout_text t __attribute__((cleanup(errout_text_free)));
	int len = errout_narrow(&t, ws, n);

	return len < 0 ? -2 : errout_put(fp, t.p, (size_t)len);
}

int
errout_hwput(FILE *fp, const wchar_t *ws, size_t n, int *ret)
{
	int saved = errno, r;

	if (!errout_wants(fp))
		return 0;
	ERROUT_LOCK(fp);
	if (fwide(fp, 1) <= 0)
		return 0;       /* byte-oriented: the real one fails */
	r = errout_wput_locked(fp, ws, n);
	if (r == -2) {
		errno = saved;
		return 0;
	}
	*ret = r;
	return 1;
}

/* Format wide text into *out (malloc'd); its length, or -1. */
static int
errout_wformat(wchar_t **out, int flag, const wchar_t *fmt, va_list ap)
{
	int saved = errno, n = -1;

	for (size_t cap = 256; n < 0 && cap <= ERROUT_WIDE_MAX; cap *= 4) {
		wchar_t *w = realloc(*out, cap * sizeof(wchar_t));
		va_list copy;

		if (w == NULL)
			return -1;
		*out = w;
		va_copy(copy, ap);
		errno = saved;  /* %m reads errno at the call */
		n = flag < 0 ? vswprintf(w, cap, fmt, copy) :
		    __vswprintf_chk(w, cap, flag, cap, fmt, copy);
		va_end(copy);
	}
	return n;
}

static void
errout_wfree(wchar_t **w)
{
	free(*w);
}

int
errout_hvwprintf(FILE *fp, int flag, const wchar_t *fmt, va_list ap, int *ret)
{
	wchar_t *w __attribute__((cleanup(errout_wfree))) = NULL;
	int saved = errno, n, r = -2;

	if (!errout_wants(fp))
		return 0;
	ERROUT_LOCK(fp);
	if (fwide(fp, 1) > 0 && (n = errout_wformat(&w, flag, fmt, ap)) >= 0 &&
	    (r = errout_wput_locked(fp, w, (size_t)n)) != -2)
		*ret = r == 0 ? n : -1;
	if (r == -2)
		errno = saved;
	return r != -2;
}
