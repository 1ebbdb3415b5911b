/* idents.c - a process's syslog idents, by index. */
#include "idents.h"

#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

struct idents_entry {
	char name[SEG_NAME_MAX];
	_Atomic uint32_t ready;
};

static _Atomic(struct idents_entry *) idents_chunks[IDENTS_MAX / IDENTS_CHUNK];
static _Atomic uint32_t idents_count = 1;       /* next index to give */

/* The chunk holding index i, mapped if new; NULL when memory is short. */
static struct idents_entry *
idents_chunk(uint32_t i, int create)
{
	_Atomic(struct idents_entry *) *slot = &idents_chunks[i / IDENTS_CHUNK];
	/* Acquire pairs with the release CAS below: the chunk is zeroed. */
	struct idents_entry *c = atomic_load_explicit(slot, memory_order_acquire), *expect = NULL;
	size_t len = IDENTS_CHUNK * sizeof(struct idents_entry);

	if (c != NULL || !create)
		return c;
	c = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c == MAP_FAILED)
		return NULL;
	if (!atomic_compare_exchange_strong_explicit(slot, &expect, c,
	    memory_order_release, memory_order_acquire)) {
		munmap(c, len);         /* another thread mapped it first */
		c = expect;
	}
	return c;
}

const char *
idents_get(uint16_t i)
{
	struct idents_entry *c = i != 0 ? idents_chunk(i, 0) : NULL;
	struct idents_entry *e = c != NULL ? &c[i % IDENTS_CHUNK] : NULL;

	/* Acquire pairs with the release in idents_add(): the name is written. */
	return e != NULL && atomic_load_explicit(&e->ready, memory_order_acquire) ? e->name : NULL;
}

uint16_t
idents_add(const char *ident)
{
	/* Relaxed: entries below it are looked at through their ready flag. */
	uint32_t n = atomic_load_explicit(&idents_count, memory_order_relaxed), i;
	struct idents_entry *c;
	const char *have;

	if (ident == NULL)
		return 0;
	for (i = 1; i < n && i < IDENTS_MAX; i++)
		if ((have = idents_get((uint16_t)i)) != NULL &&
		    strncmp(have, ident, SEG_NAME_MAX - 1) == 0)
			return (uint16_t)i;
	i = atomic_fetch_add_explicit(&idents_count, 1, memory_order_relaxed);
	if (i >= IDENTS_MAX || (c = idents_chunk(i, 1)) == NULL)
		return 0;
	strncpy(c[i % IDENTS_CHUNK].name, ident, SEG_NAME_MAX - 1);
	/* Release pairs with the acquire in idents_get(). */
	atomic_store_explicit(&c[i % IDENTS_CHUNK].ready, 1, memory_order_release);
	return (uint16_t)i;
}
