/*
 * guard.h - copying from a buffer the program passed, which may be
 * invalid. write(2) of a bad pointer fails with EFAULT; the hook that
 * copies the buffer must not turn that into a SIGSEGV.
 *
 * guard_copy copies under a jump buffer of the calling thread. The shim's
 * handler of SIGSEGV and SIGBUS (fatal.c; in place while the program's
 * disposition is SIG_DFL) calls guard_fault first, which jumps back into
 * guard_copy when the fault lies in the buffer being copied, and
 * guard_copy fails. A program with a handler of its own gets the fault in
 * that handler instead. Both are async-signal-safe; copies nest (a signal
 * handler's write inside a hook's copy).
 */
#ifndef MPLOG_GUARD_H
#define MPLOG_GUARD_H

#include <signal.h>
#include <stddef.h>

/* Copy n bytes from src; 0, or -1 when reading src faulted (dst then
 * holds an unknown part of it). */
int guard_copy(void *dst, const void *src, size_t n);

/* From the handler of sig: return into the copy that faulted at
 * si->si_addr, if any; else return. ctx is the handler's ucontext. */
void guard_fault(int sig, const siginfo_t *si, void *ctx);

#endif
