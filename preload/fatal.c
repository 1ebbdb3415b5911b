/* fatal.c - the flush before a process image ends, and the handler that
 * gives a fatal signal that flush without changing how it kills. */
#include "fatal.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
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

/* The handler's own flags: its mask blocks every signal while it runs. */
#define FATAL_FLAGS (SA_SIGINFO | SA_ONSTACK | SA_RESTART)

static void fatal_handler(int sig, siginfo_t *si, void *ctx);

static struct sigaction fatal_act;              /* the handler, as installed */
static struct sigaction fatal_dfl[SIGSYS + 1];  /* the program's SIG_DFL actions;
                                                 * SIGSYS is the highest watched */
static int fatal_armed;                         /* fatal_arm has run */
static _Atomic uint32_t fatal_lock;             /* tid of the thread changing a
                                                 * disposition, or 0 */
static int fatal_depth;                         /* its nested fatal_enter calls */
static _Atomic uint32_t fatal_busy;             /* tid of the thread delivering, or 0 */

void
fatal_flush(void)
{
	int saved = errno;

	if (shim_ours())
		pipeline_flush_sync();
	errno = saved;
}

int
fatal_watched(int sig)
{
	switch (sig) {
	case SIGSEGV: case SIGBUS: case SIGILL: case SIGFPE:
	case SIGABRT: case SIGTRAP: case SIGSYS:
		return 1;
	default:
		return 0;
	}
}

int
fatal_is_handler(__sighandler_t h)
{
	return h == (__sighandler_t)(void (*)(void))fatal_handler;
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

/*
 * The holder may enter again: the real signal() a hook calls with the
 * lock held may itself call sigaction() through the shim's (the
 * ThreadSanitizer runtime's does), which would otherwise wait for itself.
 */
void
fatal_enter(sigset_t *saved)
{
	uint32_t me = (uint32_t)syscall(SYS_gettid), expect = 0;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, saved);
	/* Relaxed: only this thread ever stores its own tid there. */
	if (atomic_load_explicit(&fatal_lock, memory_order_relaxed) == me) {
		fatal_depth++;
		return;
	}
	/* Acquire pairs with the release in fatal_leave(): the previous
	 * holder's fatal_dfl writes are visible. */
	while (!atomic_compare_exchange_weak_explicit(&fatal_lock, &expect, me,
	    memory_order_acquire, memory_order_relaxed)) {
		expect = 0;
		sched_yield();
	}
}

void
fatal_leave(const sigset_t *saved)
{
	if (fatal_depth > 0)
		fatal_depth--;
	else
		/* Release pairs with the acquire in fatal_enter(). */
		atomic_store_explicit(&fatal_lock, 0, memory_order_release);
	pthread_sigmask(SIG_SETMASK, saved, NULL);
}

void
fatal_view(int sig, struct sigaction *sa)
{
	if (fatal_watched(sig) && fatal_is_handler(sa->sa_handler))
		*sa = fatal_dfl[sig];
}

void
fatal_adopt(int sig)
{
	struct sigaction now;
	int saved = errno;

	if (!fatal_armed || !fatal_watched(sig) || !shim_ours())
		return;
	memset(&now, 0, sizeof(now));
	if (REAL(sigaction)(sig, NULL, &now) == 0 && now.sa_handler == SIG_DFL) {
		fatal_dfl[sig] = now;
		REAL(sigaction)(sig, &fatal_act, NULL);
	}
	errno = saved;
}

void
fatal_interrupt(int sig, int interrupt)
{
	struct sigaction now;
	int saved = errno;

	/* siginterrupt read the handler's action as the program's, changed
	 * SA_RESTART and set it back, adding what the C library adds to
	 * every action it sets (SA_RESTORER and its restorer on x86). */
	memset(&now, 0, sizeof(now));
	if (fatal_watched(sig) && shim_ours() && REAL(sigaction)(sig, NULL, &now) == 0 &&
	    fatal_is_handler(now.sa_handler)) {
		struct sigaction *dfl = &fatal_dfl[sig];

		dfl->sa_flags = (dfl->sa_flags & ~SA_RESTART) | (interrupt ? 0 : SA_RESTART) |
		    (now.sa_flags & ~FATAL_FLAGS);
		dfl->sa_restorer = now.sa_restorer;
	}
	errno = saved;
}

int
fatal_sits(int sig)
{
	struct sigaction now;
	int saved = errno, sits;

	memset(&now, 0, sizeof(now));
	sits = REAL(sigaction)(sig, NULL, &now) == 0 && fatal_is_handler(now.sa_handler);
	errno = saved;
	return sits;
}

void
fatal_arm(void)
{
	sigset_t saved;

	fatal_enter(&saved);
	if (!fatal_armed) {
		fatal_act.sa_sigaction = fatal_handler;
		fatal_act.sa_flags = FATAL_FLAGS;
		sigfillset(&fatal_act.sa_mask);
		fatal_armed = 1;
		for (int sig = 1; sig <= SIGSYS; sig++)
			fatal_adopt(sig);       /* watched ones only */
	}
	fatal_leave(&saved);
}

void
fatal_atfork_child(void)
{
	/* One thread in the child: the parent's others are gone. */
	atomic_store_explicit(&fatal_lock, 0, memory_order_relaxed);
	fatal_depth = 0;
	atomic_store_explicit(&fatal_busy, 0, memory_order_relaxed);
}

/* Load time: arm, unless the shim is off for the life of the process. */
__attribute__((constructor)) static void
fatal_ctor(void)
{
	shim_init();
	pthread_atfork(NULL, NULL, fatal_atfork_child);
	/* Relaxed: shim_init has just decided it, in this thread. */
	if (atomic_load_explicit(&shim.state, memory_order_relaxed) != SHIM_OFF)
		fatal_arm();
}
