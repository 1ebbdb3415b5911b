/* threadname.c - each thread's name, learnt when it logs. */
#include "threadname.h"

#include <errno.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "idents.h"

/* A slot: thread id (22 bits: pid_max is at most 2^22), generation
 * (26 bits), name index (16 bits). */
#define TN_TID_SHIFT 42
#define TN_GEN_SHIFT 16
#define TN_GEN_MASK  ((UINT64_C(1) << 26) - 1)

static _Atomic uint64_t tn_slots[THREADNAME_SLOTS];
static _Atomic uint32_t tn_gen = 1;

static _Atomic uint64_t *
tn_slot(int32_t tid)
{
	return &tn_slots[(uint32_t)tid % THREADNAME_SLOTS];
}

void
threadname_check(int32_t tid)
{
	/* Relaxed: the slot is this thread's to fill; a generation seen late
	 * only delays the new name to the next capture. */
	uint64_t s = atomic_load_explicit(tn_slot(tid), memory_order_relaxed);
	uint64_t gen = atomic_load_explicit(&tn_gen, memory_order_acquire) & TN_GEN_MASK;
	char name[16 + 1] = { 0 };

	if ((s >> TN_TID_SHIFT) == (uint64_t)tid && ((s >> TN_GEN_SHIFT) & TN_GEN_MASK) == gen)
		return;
	int saved = errno;

	/* The raw call: the prctl hook is for the program's calls. It runs
	 * inside a hook, so errno stays the program's. */
	syscall(SYS_prctl, PR_GET_NAME, name, 0, 0, 0);
	errno = saved;
	/* Release pairs with the acquire in threadname_get(): the name's
	 * entry is published before the slot names it. */
	atomic_store_explicit(tn_slot(tid), (uint64_t)tid << TN_TID_SHIFT | gen << TN_GEN_SHIFT |
	    idents_add(name), memory_order_release);
}

const char *
threadname_get(int32_t tid)
{
	uint64_t s = atomic_load_explicit(tn_slot(tid), memory_order_acquire);

	if ((s >> TN_TID_SHIFT) != (uint64_t)tid)
		return NULL;
	return idents_get((uint16_t)s);
}

void
threadname_renamed(void)
{
	/* Release pairs with the acquire in threadname_check(). */
	atomic_fetch_add_explicit(&tn_gen, 1, memory_order_release);
}
