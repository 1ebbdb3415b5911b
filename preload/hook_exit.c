/*
 * hook_exit.c - _exit and _Exit end the process without running
 * destructors, so the shim's exit flush would not run: deliver every line
 * written so far first (bounded as at exit; see pipeline_flush_sync), then
 * leave. A vfork child shares its parent's queue and thread and does not
 * wait for them; neither does a call from a signal handler that
 * interrupted a hook.
 */
#include <unistd.h>

#include "hook.h"
#include "pipeline.h"
#include "real.h"
#include "shim.h"

HOOK_EXPORT void
_exit(int status)
{
	if (shim_ours() && shim_enter() == 1)         /* never left: the process ends */
		pipeline_flush_sync();
	REAL(_exit)(status);
	__builtin_unreachable();
}

HOOK_EXPORT __typeof__(_exit) _Exit __attribute__((alias("_exit")));
