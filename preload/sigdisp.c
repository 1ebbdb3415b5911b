/* sigdisp.c - the shim's handler where the program has SIG_DFL, and the
 * program's own view of those dispositions. */
#include "sigdisp.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "real.h"
#include "shim.h"

static struct sigaction sigdisp_act;            /* the handler, as installed */
static struct sigaction sigdisp_dfl[_NSIG];     /* the program's SIG_DFL actions */
static _Atomic int sigdisp_armed;               /* classes armed so far */
static _Atomic uint32_t sigdisp_lock;           /* tid of the thread changing a
                                                 * disposition, or 0 */
static int sigdisp_depth;                       /* its nested sigdisp_enter calls */

void
sigdisp_init(void (*handler)(int, siginfo_t *, void *))
{
	sigdisp_act.sa_sigaction = handler;
	sigdisp_act.sa_flags = SIGDISP_FLAGS;
	sigfillset(&sigdisp_act.sa_mask);
}

int
sigdisp_class(int sig)
{
	switch (sig) {
	case SIGSEGV: case SIGBUS: case SIGILL: case SIGFPE:
	case SIGABRT: case SIGTRAP: case SIGSYS:
		return SIGDISP_FAULT;
	case SIGHUP: case SIGINT: case SIGQUIT: case SIGPIPE: case SIGALRM:
	case SIGTERM: case SIGUSR1: case SIGUSR2: case SIGSTKFLT: case SIGXCPU:
	case SIGXFSZ: case SIGVTALRM: case SIGPROF: case SIGPOLL: case SIGPWR:
		return SIGDISP_END;
	default:
		/* The real-time signals the C library leaves to programs;
		 * SIGRTMIN reads one variable, as safe in a handler as here. */
		return sig >= SIGRTMIN && sig <= SIGRTMAX ? SIGDISP_END : 0;
	}
}

int
sigdisp_watched(int sig)
{
	return sigdisp_class(sig) != 0;
}

int
sigdisp_is_handler(__sighandler_t h)
{
	return sigdisp_act.sa_sigaction != NULL &&
	    h == (__sighandler_t)(void (*)(void))sigdisp_act.sa_sigaction;
}

/*
 * The holder may enter again: the real signal() a hook calls with the
 * lock held may itself call sigaction() through the shim's (the
 * ThreadSanitizer runtime's does), which would otherwise wait for itself.
 */
void
sigdisp_enter(sigset_t *saved)
{
	uint32_t me = (uint32_t)syscall(SYS_gettid), expect = 0;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, saved);
	/* Relaxed: only this thread ever stores its own tid there. */
	if (atomic_load_explicit(&sigdisp_lock, memory_order_relaxed) == me) {
		sigdisp_depth++;
		return;
	}
	/* Acquire pairs with the release in sigdisp_leave(): the previous
	 * holder's sigdisp_dfl writes are visible. */
	while (!atomic_compare_exchange_weak_explicit(&sigdisp_lock, &expect, me,
	    memory_order_acquire, memory_order_relaxed)) {
		expect = 0;
		sched_yield();
	}
}

void
sigdisp_leave(const sigset_t *saved)
{
	if (sigdisp_depth > 0)
		sigdisp_depth--;
	else
		/* Release pairs with the acquire in sigdisp_enter(). */
		atomic_store_explicit(&sigdisp_lock, 0, memory_order_release);
	pthread_sigmask(SIG_SETMASK, saved, NULL);
}

void
sigdisp_view(int sig, struct sigaction *sa)
{
	if (sigdisp_watched(sig) && sigdisp_is_handler(sa->sa_handler))
		*sa = sigdisp_dfl[sig];
}

void
sigdisp_adopt(int sig)
{
	struct sigaction now;
	int saved = errno;

	/* Relaxed: armed classes only grow, under the lock we hold. */
	if ((atomic_load_explicit(&sigdisp_armed, memory_order_relaxed) &
	    sigdisp_class(sig)) == 0 || !shim_ours())
		return;
	memset(&now, 0, sizeof(now));
	if (REAL(sigaction)(sig, NULL, &now) == 0 && now.sa_handler == SIG_DFL) {
		sigdisp_dfl[sig] = now;
		REAL(sigaction)(sig, &sigdisp_act, NULL);
	}
	errno = saved;
}

void
sigdisp_interrupt(int sig, int interrupt)
{
	struct sigaction now;
	int saved = errno;

	/* siginterrupt read the handler's action as the program's, changed
	 * SA_RESTART and set it back, adding what the C library adds to
	 * every action it sets (SA_RESTORER and its restorer on x86). */
	memset(&now, 0, sizeof(now));
	if (sigdisp_watched(sig) && shim_ours() && REAL(sigaction)(sig, NULL, &now) == 0 &&
	    sigdisp_is_handler(now.sa_handler)) {
		struct sigaction *dfl = &sigdisp_dfl[sig];

		dfl->sa_flags = (dfl->sa_flags & ~SA_RESTART) | (interrupt ? 0 : SA_RESTART) |
		    (now.sa_flags & ~SIGDISP_FLAGS);
		dfl->sa_restorer = now.sa_restorer;
	}
	errno = saved;
}

int
sigdisp_sits(int sig)
{
	struct sigaction now;
	int saved = errno, sits;

	memset(&now, 0, sizeof(now));
	sits = REAL(sigaction)(sig, NULL, &now) == 0 && sigdisp_is_handler(now.sa_handler);
	errno = saved;
	return sits;
}

void
sigdisp_arm(int classes)
{
	sigset_t saved;
	int fresh;

	/* Relaxed: a class is armed at most once, and only under the lock;
	 * this early look only spares a caller the lock's system calls. */
	if ((atomic_load_explicit(&sigdisp_armed, memory_order_relaxed) & classes) == classes ||
	    sigdisp_act.sa_sigaction == NULL || !shim_ours())
		return;
	sigdisp_enter(&saved);
	fresh = classes & ~atomic_load_explicit(&sigdisp_armed, memory_order_relaxed);
	atomic_fetch_or_explicit(&sigdisp_armed, fresh, memory_order_relaxed);
	for (int sig = 1; fresh != 0 && sig < _NSIG; sig++)
		if (sigdisp_class(sig) & fresh)
			sigdisp_adopt(sig);
	sigdisp_leave(&saved);
}

void
sigdisp_atfork_child(void)
{
	/* One thread in the child: the parent's others are gone. */
	atomic_store_explicit(&sigdisp_lock, 0, memory_order_relaxed);
	sigdisp_depth = 0;
}
