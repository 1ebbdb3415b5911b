/*
 * hook_sigaction.c - the functions that set signal dispositions, so that
 * the program sees and gets exactly what it sets although the shim's
 * handler (fatal.h, sigdisp.h) sits where it has SIG_DFL: sigaction (__sigaction),
 * signal (ssignal, bsd_signal), sysv_signal (__sysv_signal), sigset and
 * siginterrupt. glibc's signal, sysv_signal, sigset and siginterrupt
 * reach its sigaction without the PLT, so each has its own hook.
 *
 * For a watched signal, the real call runs between sigdisp_enter and
 * sigdisp_leave. An old action that is the shim's handler is reported as
 * the program's own SIG_DFL action; a handler or SIG_IGN the program sets
 * replaces the shim's handler; a SIG_DFL it sets is taken back by it
 * (sigdisp_adopt). sigset, which also changes the signal mask, is built as
 * glibc 2.36 builds it, on the hooked sigaction, so that the mask it sets
 * is not undone by sigdisp_leave. Other signals go straight to the C
 * library. Return values and errno are the real functions'.
 *
 * As async-signal-safe as the functions they stand in for.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "sigdisp.h"
#include "hook.h"
#include "real.h"

/* sigaction for a watched signal. */
static int
hook_sigaction_watched(int sig, const struct sigaction *act, struct sigaction *oact)
{
	struct sigaction want, old;
	sigset_t mask;
	int saved = errno, r, err;

	if (act != NULL) {
		want = *act;    /* act may be oact */
		if (sigdisp_is_handler(want.sa_handler))
			want.sa_handler = SIG_DFL;
	}
	memset(&old, 0, sizeof(old));
	sigdisp_enter(&mask);
	r = REAL(sigaction)(sig, act != NULL ? &want : NULL, &old);
	err = errno;
	if (r == 0) {
		sigdisp_view(sig, &old);
		if (act != NULL)
			sigdisp_adopt(sig);
	}
	sigdisp_leave(&mask);
	if (r == 0 && oact != NULL)
		*oact = old;
	errno = r == 0 ? saved : err;
	return r;
}

HOOK_EXPORT int
sigaction(int sig, const struct sigaction *act, struct sigaction *oact)
{
	if (!sigdisp_watched(sig))
		return REAL(sigaction)(sig, act, oact);
	return hook_sigaction_watched(sig, act, oact);
}

HOOK_EXPORT __typeof__(sigaction) __sigaction
    __attribute__((alias("sigaction"), copy(sigaction)));

/* signal or sysv_signal (real) for sig: the real call, its old handler
 * as the program sees it, and SIG_DFL taken back. */
static __sighandler_t
hook_signal_via(__sighandler_t (*real_fn)(int, __sighandler_t), int sig, __sighandler_t h)
{
	__sighandler_t old;
	sigset_t mask;
	int saved = errno, err;

	if (!sigdisp_watched(sig))
		return real_fn(sig, h);
	if (sigdisp_is_handler(h))
		h = SIG_DFL;
	sigdisp_enter(&mask);
	old = real_fn(sig, h);
	err = errno;
	if (old != SIG_ERR) {
		if (sigdisp_is_handler(old))
			old = SIG_DFL;
		sigdisp_adopt(sig);
	}
	sigdisp_leave(&mask);
	errno = old == SIG_ERR ? err : saved;
	return old;
}

HOOK_EXPORT __sighandler_t
signal(int sig, __sighandler_t h)
{
	return hook_signal_via(REAL(signal), sig, h);
}

HOOK_EXPORT __typeof__(signal) ssignal __attribute__((alias("signal")));
HOOK_EXPORT __typeof__(signal) bsd_signal
    __attribute__((alias("signal"), copy(signal)));

HOOK_EXPORT __sighandler_t
sysv_signal(int sig, __sighandler_t h)
{
	return hook_signal_via(REAL(sysv_signal), sig, h);
}

HOOK_EXPORT __typeof__(sysv_signal) __sysv_signal __attribute__((alias("sysv_signal")));

HOOK_EXPORT __sighandler_t
sigset(int sig, __sighandler_t disp)
{
	struct sigaction act, oact;
	sigset_t set, oset;

	if (!sigdisp_watched(sig))
		return REAL(sigset)(sig, disp);
	sigemptyset(&set);
	sigaddset(&set, sig);
	if (disp == SIG_HOLD) {
		if (sigprocmask(SIG_BLOCK, &set, &oset) < 0)
			return SIG_ERR;
		if (sigismember(&oset, sig))
			return SIG_HOLD;        /* it was blocked already */
		if (hook_sigaction_watched(sig, NULL, &oact) < 0)
			return SIG_ERR;
		return oact.sa_handler;
	}
	memset(&act, 0, sizeof(act));
	act.sa_handler = disp;
	if (hook_sigaction_watched(sig, &act, &oact) < 0 ||
	    sigprocmask(SIG_UNBLOCK, &set, &oset) < 0)
		return SIG_ERR;
	return sigismember(&oset, sig) ? SIG_HOLD : oact.sa_handler;
}

HOOK_EXPORT int
siginterrupt(int sig, int interrupt)
{
	sigset_t mask;
	int saved = errno, r, err;

	if (!sigdisp_watched(sig))
		return REAL(siginterrupt)(sig, interrupt);
	sigdisp_enter(&mask);
	r = REAL(siginterrupt)(sig, interrupt);
	err = errno;
	if (r == 0)
		sigdisp_interrupt(sig, interrupt);
	sigdisp_leave(&mask);
	errno = r == 0 ? saved : err;
	return r;
}
