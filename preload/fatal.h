/*
 * fatal.h - the end of a process image: the flush that exec, _exit,
 * abort and daemon share, and the shim's handler for the watched signals
 * (sigdisp.h: every signal whose default action ends the process, from
 * whoever sends it: the kernel, another process, or the process itself
 * with kill, raise, tgkill, pthread_kill, sigqueue or killpg).
 *
 * The handler delivers the queued lines, puts SIG_DFL back and lets the
 * signal kill the process as it would have: a fault is returned to, so
 * the instruction faults again; any other signal is raised again at the
 * same thread. The program never sees the handler (sigdisp.h).
 *
 * Everything here is async-signal-safe, once the shim is initialised.
 */
#ifndef MPLOG_FATAL_H
#define MPLOG_FATAL_H

#include <signal.h>

#define FATAL_WAIT_NS  (5000 * 1000000LL)  /* for another thread's flush */

/* Deliver every line pushed so far (pipeline_flush_sync: bounded), as
 * the process image is about to end without destructors. Nothing in a
 * vfork child, which shares our queue but is not us. errno is kept. */
void fatal_flush(void);

/* In a child made by fork or _Fork: no thread holds the disposition
 * lock or is delivering. */
void fatal_atfork_child(void);

#endif
