/*
 * hook_exit.c - the calls that end a process image without running
 * destructors, so the shim's exit flush would not run: deliver every line
 * written so far first (fatal_flush: bounded as at exit; see
 * pipeline_flush_sync), then make the real call.
 *
 * _exit and _Exit: dash ends every script with _exit. abort: the shim's
 * SIGABRT handler delivers instead when it sits (fatal.h), so the wait is
 * not made twice; otherwise (the program ignores SIGABRT or has its own
 * handler, which abort gets past) the hook does. daemon: its parent half
 * ends in glibc's internal _exit; in the child, which daemon points at
 * /dev/null with glibc's internal dup2, descriptors 0 to 2 are no longer
 * stderr.
 *
 * A vfork child shares its parent's queue and thread and does not wait
 * for them. A call from a signal handler that interrupted a hook waits
 * like any other: the interrupted record holds the queue until the
 * pipeline abandons it, and the wait is bounded in any case.
 * Async-signal-safe, as _exit and abort are.
 */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "fatal.h"
#include "sigdisp.h"
#include "fdset.h"
#include "hook.h"
#include "real.h"

HOOK_EXPORT void
_exit(int status)
{
	fatal_flush();
	REAL(_exit)(status);
	__builtin_unreachable();
}

HOOK_EXPORT __typeof__(_exit) _Exit __attribute__((alias("_exit")));

HOOK_EXPORT void
abort(void)
{
	if (!sigdisp_sits(SIGABRT))
		fatal_flush();
	REAL(abort)();
	__builtin_unreachable();
}

HOOK_EXPORT int
daemon(int nochdir, int noclose)
{
	int r;

	fatal_flush();
	r = REAL(daemon)(nochdir, noclose);
	if (r == 0 && !noclose)
		fdset_clear_range(0, 2);
	return r;
}
