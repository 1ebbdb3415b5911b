/* guard.c - copies from the program's buffers that survive a bad pointer. */
#include "guard.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <string.h>
#include <ucontext.h>

struct guard {
	sigjmp_buf jmp;         /* without the mask: saving it is a system call */
	const char *lo, *hi;    /* the source being copied */
};

/* The innermost copy in progress on this thread, or NULL. Initial-exec:
 * read on every hooked write and in a signal handler, where the general
 * model's __tls_get_addr may allocate. */
static __thread struct guard *guard_cur __attribute__((tls_model("initial-exec")));
/* The thread's mask when the fault came (static: not subject to what
 * setjmp leaves indeterminate). */
static __thread sigset_t guard_mask __attribute__((tls_model("initial-exec")));

int
guard_copy(void *dst, const void *src, size_t n)
{
	struct guard g, *outer = guard_cur;

	g.lo = src;
	g.hi = (const char *)src + n;
	if (sigsetjmp(g.jmp, 0) != 0) {
		guard_cur = outer;
		/* The handler ran with every signal blocked: back to the mask
		 * of the moment of the fault. */
		pthread_sigmask(SIG_SETMASK, &guard_mask, NULL);
		return -1;
	}
	guard_cur = &g;
	/* Signal fences: the copy is inside the window a handler on this
	 * thread sees, with guard_cur set. */
	atomic_signal_fence(memory_order_seq_cst);
	memcpy(dst, src, n);
	atomic_signal_fence(memory_order_seq_cst);
	guard_cur = outer;
	return 0;
}

void
guard_fault(int sig, const siginfo_t *si, void *ctx)
{
	struct guard *g = guard_cur;
	const char *at;

	if (g == NULL || (sig != SIGSEGV && sig != SIGBUS) || si == NULL || si->si_code <= 0 ||
	    ctx == NULL)
		return;
	at = si->si_addr;
	if (at < g->lo || at >= g->hi)
		return;
	guard_mask = ((const ucontext_t *)ctx)->uc_sigmask;
	siglongjmp(g->jmp, 1);
}
