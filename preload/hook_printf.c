/*
 * hook_printf.c - what syslog snapshots (shm/snap.h) depend on outside
 * the call: the objects whose formats they point to (dlclose), and the
 * conversions glibc knows (register_printf_*).
 *
 * dlclose: before the object may go, the pipeline copies in the format
 * of every snapshot pushed so far (pipeline_publish_sync, bounded), and
 * lookups of the read-only table say no; the table is made again after.
 * register_printf_specifier and its kin: from the first one on, no call
 * is taken as a snapshot, as the program may have changed a conversion.
 */
#include <dlfcn.h>
#include <errno.h>
#include <printf.h>
#include <stdatomic.h>

#include "hook.h"
#include "pipeline.h"
#include "real.h"
#include "rodata.h"
#include "shim.h"

HOOK_EXPORT int
dlclose(void *handle)
{
	int r, saved;

	rodata_changing();
	pipeline_publish_sync();        /* keeps errno */
	r = REAL(dlclose)(handle);
	saved = errno;
	rodata_build();
	errno = saved;
	return r;
}

/* The program changes printf: snapshots stop for good. Relaxed: a call
 * racing the registration may still be taken, as it would be formatted
 * by the conversion it raced anyway. */
static void
hook_printf_changed(void)
{
	atomic_store_explicit(&shim.printf_changed, 1, memory_order_relaxed);
}

HOOK_EXPORT int
register_printf_specifier(int spec, printf_function fn, printf_arginfo_size_function arginfo)
{
	hook_printf_changed();
	return REAL(register_printf_specifier)(spec, fn, arginfo);
}

HOOK_EXPORT int
register_printf_function(int spec, printf_function fn, printf_arginfo_function arginfo)
{
	hook_printf_changed();
	return REAL(register_printf_function)(spec, fn, arginfo);
}

HOOK_EXPORT int
register_printf_modifier(const wchar_t *str)
{
	hook_printf_changed();
	return REAL(register_printf_modifier)(str);
}

HOOK_EXPORT int
register_printf_type(printf_va_arg_function fn)
{
	hook_printf_changed();
	return REAL(register_printf_type)(fn);
}
