/* rodata.c - the read-only segments of the objects loaded at start. */
#include "rodata.h"

#include <link.h>
#include <stdatomic.h>
#include <stdint.h>

#define RODATA_MAX 128

/* Segments [lo, hi); gen is even while the table is stable (a seqlock:
 * its one writer is rodata_build, under the dlclose hook or at load). */
static _Atomic uintptr_t rodata_lo[RODATA_MAX], rodata_hi[RODATA_MAX];
static _Atomic uint32_t rodata_n;
static _Atomic uint32_t rodata_gen = 1;

/* dl_iterate_phdr's callback: add the object's read-only loads. */
static int
rodata_add(struct dl_phdr_info *info, size_t size, void *arg)
{
	uint32_t *n = arg;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum && *n < RODATA_MAX; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD || (ph->p_flags & PF_W) || ph->p_memsz == 0)
			continue;
		/* Relaxed: published by the release of gen below. */
		atomic_store_explicit(&rodata_lo[*n], info->dlpi_addr + ph->p_vaddr,
		    memory_order_relaxed);
		atomic_store_explicit(&rodata_hi[*n], info->dlpi_addr + ph->p_vaddr + ph->p_memsz,
		    memory_order_relaxed);
		(*n)++;
	}
	return 0;
}

void
rodata_changing(void)
{
	uint32_t g = atomic_load_explicit(&rodata_gen, memory_order_relaxed);

	/* seq_cst: a lookup that starts later sees the table changing. The
	 * release fence keeps the entries' stores (rodata_add) after it: a
	 * lookup that reads a new entry reads gen changed at its second load
	 * (the acquire fence in rodata_has()). */
	if (g % 2 == 0)
		atomic_store_explicit(&rodata_gen, g + 1, memory_order_seq_cst);
	atomic_thread_fence(memory_order_release);
}

void
rodata_build(void)
{
	uint32_t n = 0, g;

	rodata_changing();
	dl_iterate_phdr(rodata_add, &n);
	atomic_store_explicit(&rodata_n, n, memory_order_relaxed);
	g = atomic_load_explicit(&rodata_gen, memory_order_relaxed);
	/* Release pairs with the acquire in rodata_has(): the entries are
	 * visible before the table reads as stable. */
	atomic_store_explicit(&rodata_gen, g + 1, memory_order_release);
}

int
rodata_has(const char *p)
{
	/* Acquire pairs with the release in rodata_build(). */
	uint32_t g = atomic_load_explicit(&rodata_gen, memory_order_acquire);
	uint32_t n = atomic_load_explicit(&rodata_n, memory_order_relaxed);
	uintptr_t a = (uintptr_t)p;
	int found = 0;

	if (g % 2 != 0)
		return 0;
	for (uint32_t i = 0; i < n && !found; i++)
		found = a >= atomic_load_explicit(&rodata_lo[i], memory_order_relaxed) &&
		    a < atomic_load_explicit(&rodata_hi[i], memory_order_relaxed);
	/* The entries were read while the table stayed as it was: the
	 * fence orders their loads before the second load of gen. */
	atomic_thread_fence(memory_order_acquire);
	return found && atomic_load_explicit(&rodata_gen, memory_order_relaxed) == g;
}
