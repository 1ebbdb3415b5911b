/*
 * hook_syslog.c - openlog, closelog, setlogmask and the syslog family.
 *
 * The shim mirrors the program's syslog settings (shim.h). The mask,
 * facility and options are single words read and written relaxed: a call
 * sees the latest store or the one before, as with glibc's unlocked
 * reads. The ident index and the tag are release/acquire because each
 * stands for text written before it (see openlog).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <syslog.h>
#include <unistd.h>

#include "errout.h"
#include "heapring.h"
#include "hook.h"
#include "idents.h"
#include "real.h"
#include "capture.h"
#include "shim.h"
#include "wfc.h"

/* Write "tag[pid]: msg" and a newline unless msg ends in one, to fd 2. */
static void
hook_perror_write(const char *tag, const char *pid, const char *msg, size_t n)
{
	struct iovec iov[5] = {
		{ (void *)tag, strlen(tag) }, { (void *)pid, strlen(pid) },
		{ ": ", 2 }, { (void *)msg, n }, { "\n", 1 },
	};

	real_writev(2, iov, n > 0 && msg[n - 1] == '\n' ? 4 : 5);
}

/*
 * The copy LOG_PERROR asks for, written as glibc writes it ("ident[pid]:
 * message"), when mplog took the record. In capture mode the record
 * stands for both and the copy is not written, unless the program has
 * pointed fd 2 elsewhere.
 */
static void
hook_perror_copy(int saved, const char *fmt, va_list ap)
{
	struct errout_text t;
	/* Pairs with the release in openlog(): the tag's text is visible. */
	const char *tag = atomic_load_explicit(&shim.logtag, memory_order_acquire);
	int opt = atomic_load_explicit(&shim.logopt, memory_order_relaxed), n;
	char pid[16] = "";
	va_list copy;

	if (!(opt & LOG_PERROR) ||
	    (shim.stderr_mode == SHIM_CAPTURE && errout_fd(2) == HEAPRING_STDERR))
		return;
	if (opt & LOG_PID)
		snprintf(pid, sizeof(pid), "[%d]", (int)getpid());
	va_copy(copy, ap);
	errno = saved;
	n = errout_format(&t, -1, fmt, copy);
	va_end(copy);
	if (n >= 0)
		hook_perror_write(tag != NULL ? tag : program_invocation_short_name, pid,
		    t.p, (size_t)n);
	errout_text_free(&t);
}

/* Capture one syslog call, or hand it to the real syslog. */
static void
hook_vsyslog(int pri, int flag, int chk, const char *fmt, va_list ap)
{
	int saved = errno, w, got = -1, depth;
	va_list copy;

	if (pri & ~(LOG_PRIMASK | LOG_FACMASK))
		goto pass;      /* the real syslog reports the bad priority */
	if ((pri & LOG_FACMASK) == 0)
		pri |= atomic_load_explicit(&shim.facility, memory_order_relaxed);
	if ((atomic_load_explicit(&shim.logmask, memory_order_relaxed) &
	    LOG_MASK(LOG_PRI(pri))) == 0)
		return;         /* the program's own setlogmask */
	depth = shim_enter();
	w = shim_wants(LOG_PRI(pri));
	if (w == 1) {
		va_copy(copy, ap);
		errno = saved;
		/* Pairs with the release in openlog(): the ident's name is
		 * ready before its index reaches the pipeline. */
		got = capture_fmt(HEAPRING_SYSLOG, (uint8_t)pri,
		    (uint16_t)atomic_load_explicit(&shim.ident, memory_order_acquire),
		    fmt, copy);
		va_end(copy);
		if (got == 0)
			wfc_wait(LOG_PRI(pri), depth);
	}
	shim_leave();
	if (w == 0 || got == 0) {
		hook_perror_copy(saved, fmt, ap);
		errno = saved;
		return;
	}
pass:
	errno = saved;
	if (chk && REAL(__vsyslog_chk) != NULL)
		REAL(__vsyslog_chk)(pri, flag, fmt, ap);
	else if (REAL(vsyslog) != NULL)
		REAL(vsyslog)(pri, fmt, ap);
}

HOOK_EXPORT void
syslog(int pri, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	hook_vsyslog(pri, 0, 0, fmt, ap);
	va_end(ap);
}

HOOK_EXPORT void
vsyslog(int pri, const char *fmt, va_list ap)
{
	hook_vsyslog(pri, 0, 0, fmt, ap);
}

HOOK_EXPORT void
__syslog_chk(int pri, int flag, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	hook_vsyslog(pri, flag, 1, fmt, ap);
	va_end(ap);
}

HOOK_EXPORT void
__vsyslog_chk(int pri, int flag, const char *fmt, va_list ap)
{
	hook_vsyslog(pri, flag, 1, fmt, ap);
}

HOOK_EXPORT void
openlog(const char *ident, int option, int facility)
{
	int saved;

	if (REAL(openlog) != NULL)
		REAL(openlog)(ident, option, facility);
	saved = errno;
	/* As in glibc, a NULL ident keeps the one set before. */
	if (ident != NULL) {
		/*
		 * Release pairs with the acquire in hook_vsyslog(): a record
		 * carries the index only after idents_add() marked its
		 * name ready, so the pipeline never takes the index for one
		 * without a name. Likewise for the tag and hook_perror_copy().
		 */
		atomic_store_explicit(&shim.ident, idents_add(ident), memory_order_release);
		atomic_store_explicit(&shim.logtag, ident, memory_order_release);
	}
	atomic_store_explicit(&shim.logopt, option, memory_order_relaxed);
	/* The same rule as glibc: only a valid facility replaces the default. */
	if (facility != 0 && (facility & ~LOG_FACMASK) == 0)
		atomic_store_explicit(&shim.facility, facility, memory_order_relaxed);
	errno = saved;
}

HOOK_EXPORT void
closelog(void)
{
	if (REAL(closelog) != NULL)
		REAL(closelog)();
	/* Relaxed: 0 and NULL stand for no text. */
	atomic_store_explicit(&shim.ident, 0, memory_order_relaxed);
	atomic_store_explicit(&shim.logtag, NULL, memory_order_relaxed);
}

HOOK_EXPORT int
setlogmask(int mask)
{
	__typeof__(setlogmask) *f = REAL(setlogmask);
	int old = f != NULL ? f(mask) : atomic_load_explicit(&shim.logmask, memory_order_relaxed);

	if (mask != 0)
		atomic_store_explicit(&shim.logmask, mask, memory_order_relaxed);
	return old;
}
