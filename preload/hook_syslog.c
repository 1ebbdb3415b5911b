/* hook_syslog.c - openlog, closelog, setlogmask and the syslog family. */
#include <errno.h>
#include <stdarg.h>
#include <syslog.h>

#include "heapring.h"
#include "hook.h"
#include "real.h"
#include "shim.h"

void __syslog_chk(int pri, int flag, const char *fmt, ...);
void __vsyslog_chk(int pri, int flag, const char *fmt, va_list ap);

/* Capture one syslog call, or hand it to the real syslog. */
static void
hook_vsyslog(int pri, int flag, int chk, const char *fmt, va_list ap)
{
	int saved = errno, w, got = -1;
	va_list copy;

	if (pri & ~(LOG_PRIMASK | LOG_FACMASK))
		goto pass;      /* the real syslog reports the bad priority */
	if ((pri & LOG_FACMASK) == 0)
		pri |= atomic_load_explicit(&shim.facility, memory_order_relaxed);
	if ((atomic_load_explicit(&shim.logmask, memory_order_relaxed) &
	    LOG_MASK(LOG_PRI(pri))) == 0)
		return;         /* the program's own setlogmask */
	shim_enter();
	w = shim_wants(LOG_PRI(pri));
	if (w == 1) {
		va_copy(copy, ap);
		errno = saved;
		got = shim_capture_fmt(HEAPRING_SYSLOG, (uint8_t)pri,
		    (uint16_t)atomic_load_explicit(&shim.ident, memory_order_relaxed),
		    fmt, copy);
		va_end(copy);
	}
	shim_leave();
	if (w == 0 || got == 0) {
		errno = saved;
		return;
	}
pass:
	errno = saved;
	real_init();
	if (chk && real.vsyslog_chk != NULL)
		real.vsyslog_chk(pri, flag, fmt, ap);
	else if (real.vsyslog != NULL)
		real.vsyslog(pri, fmt, ap);
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

	real_init();
	if (real.openlog != NULL)
		real.openlog(ident, option, facility);
	saved = errno;
	/* As in glibc, a NULL ident keeps the one set before. */
	if (ident != NULL)
		atomic_store_explicit(&shim.ident, shim_ident_add(ident), memory_order_relaxed);
	/* The same rule as glibc: only a valid facility replaces the default. */
	if (facility != 0 && (facility & ~LOG_FACMASK) == 0)
		atomic_store_explicit(&shim.facility, facility, memory_order_relaxed);
	errno = saved;
}

HOOK_EXPORT void
closelog(void)
{
	real_init();
	if (real.closelog != NULL)
		real.closelog();
	atomic_store_explicit(&shim.ident, 0, memory_order_relaxed);
}

HOOK_EXPORT int
setlogmask(int mask)
{
	int old;

	real_init();
	old = real.setlogmask != NULL ? real.setlogmask(mask) :
	    atomic_load_explicit(&shim.logmask, memory_order_relaxed);
	if (mask != 0)
		atomic_store_explicit(&shim.logmask, mask, memory_order_relaxed);
	return old;
}
