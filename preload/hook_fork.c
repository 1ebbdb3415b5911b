/*
 * hook_fork.c - _Fork, the fork without atfork handlers (glibc 2.34):
 * its child would keep a copy of the parent's queue with no thread to
 * read it and a process id the shim does not know, and every line it
 * wrote would be queued and never delivered. The child is set up as
 * fork's atfork handlers set it up: an empty queue, no lane, no lock
 * held. fork itself reaches _Fork without the PLT and runs those
 * handlers.
 *
 * Async-signal-safe, as _Fork is.
 */
#include <unistd.h>

#include "fatal.h"
#include "hook.h"
#include "pipeline.h"
#include "real.h"

HOOK_EXPORT pid_t
_Fork(void)
{
	pid_t pid = REAL(_Fork)();

	if (pid == 0) {
		pipeline_atfork_child();
		fatal_atfork_child();
	}
	return pid;
}
