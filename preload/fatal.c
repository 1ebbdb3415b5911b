/* fatal.c - the flush before a process image ends, and the handler that
 * gives a fatal signal that flush without changing how it kills. */
#include "fatal.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "futex.h"
#include "guard.h"
#include "pipeline.h"
#include "real.h"
#include "seg.h"
#include "shim.h"
#include "sigdisp.h"

static _Atomic uint32_t fatal_busy;             /* tid of the thread delivering, or 0 */

void
fatal_flush(void)
{
	int saved = errno;

	if (shim_ours())
		pipeline_flush_sync();
	errno = saved;
}

/*
 * 1 when returning from the handler executes the faulting instruction
 * again, so the signal comes back by itself with its own siginfo (and a
 * core dump shows it). Signals sent by kill, tgkill, raise or sigqueue
 * (si_code <= 0) do not come back, nor does a trap (the instruction is
 * behind), a seccomp SIGSYS (the call was skipped) or an action-optional
 * machine-check SIGBUS.
 */
static int
fatal_refaults(int sig, const siginfo_t *si)
{
	if (si == NULL || si->si_code <= 0)
		return 0;
	switch (sig) {
	case SIGSEGV: case SIGILL: case SIGFPE:
		return 1;
	case SIGBUS:
		return si->si_code != BUS_MCEERR_AO;
	default:
		return 0;
	}
}

/*
 * Deliver the queue from the handler, one thread at a time: a second
 * thread killed at once waits (bounded) for the first, whose signal then
 * normally ends the process before it has flushed again.
 */
static void
fatal_deliver(void)
{
	uint32_t me = (uint32_t)shim_tid(), owner;
	int64_t until = seg_now_mono() + FATAL_WAIT_NS, left;

	for (;;) {
		owner = 0;
		/* Acquire pairs with the release below: the previous
		 * deliverer's flush is over before ours starts. */
		if (atomic_compare_exchange_strong_explicit(&fatal_busy, &owner, me,
		    memory_order_acquire, memory_order_relaxed))
			break;
		if (owner == me || (left = until - seg_now_mono()) <= 0)
			return;
		futex_wait(&fatal_busy, owner, left);
	}
	fatal_flush();
	/* Release pairs with the acquire above. */
	atomic_store_explicit(&fatal_busy, 0, memory_order_release);
	futex_wake(&fatal_busy);
}

/*
 * The handler that sits where the program has SIG_DFL: deliver the
 * queue (not in a vfork child), then let the signal kill the process as
 * SIG_DFL would, with the same signal, status and core dump. The
 * process dies before the program's code runs again, so the SIG_DFL put
 * back is a plain one.
 */
static void
fatal_handler(int sig, siginfo_t *si, void *ctx)
{
	struct sigaction dfl;
	int saved = errno;

	guard_fault(sig, si, ctx);      /* a hook's copy of a bad buffer */
	if (shim_ours())
		fatal_deliver();
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	REAL(sigaction)(sig, &dfl, NULL);
	if (!fatal_refaults(sig, si))
		syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), sig);
	errno = saved;  /* the signal is pending, or comes back: never seen */
}

void
fatal_atfork_child(void)
{
	/* One thread in the child: the parent's others are gone. */
	atomic_store_explicit(&fatal_busy, 0, memory_order_relaxed);
	sigdisp_atfork_child();
}

/* Load time: arm the faults, unless the shim is off for the life of the
 * process (the pipeline arms the other watched signals when it starts). */
__attribute__((constructor)) static void
fatal_ctor(void)
{
	shim_init();
	pthread_atfork(NULL, NULL, fatal_atfork_child);
	sigdisp_init(fatal_handler);
	/* Relaxed: shim_init has just decided it, in this thread. A line
	 * captured before this constructor ran (by another one) found no
	 * handler to arm the others with: they are armed here. Acquire on
	 * the ring pairs with its publication in capture_ring(). */
	if (atomic_load_explicit(&shim.state, memory_order_relaxed) != SHIM_OFF)
		sigdisp_arm(SIGDISP_FAULT | (atomic_load_explicit(&shim.ring,
		    memory_order_acquire) != NULL ? SIGDISP_END : 0));
}
