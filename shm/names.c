/* names.c - race-free registration of names in the shared tables. */
#include "names.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

static uint32_t
names_hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s != '\0')
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

/* Find a published entry holding name; return its 1-based id or 0. */
static uint32_t
names_find(struct names_entry *tab, uint32_t count, const char *name, uint32_t hash)
{
	for (uint32_t i = 0; i < count; i++) {
		/* Pairs with the release in names_register(): name is written. */
		uint32_t st = atomic_load_explicit(&tab[i].state, memory_order_acquire);

		if (st == NAMES_FREE)
			return 0;   /* entries are claimed in order */
		if (st == NAMES_PUBLISHED && tab[i].hash == hash &&
		    strncmp(tab[i].name, name, SEG_NAME_MAX) == 0)
			return i + 1;
	}
	return 0;
}

uint32_t
names_register(struct seg *seg, int kind, const char *name)
{
	char cut[SEG_NAME_MAX];
	uint32_t count, id, hash;
	struct names_entry *tab = seg_names(seg, kind, &count);

	if (tab == NULL)
		return 0;
	strncpy(cut, name, sizeof(cut) - 1);
	cut[sizeof(cut) - 1] = '\0';
	hash = names_hash(cut);
	id = names_find(tab, count, cut, hash);
	if (id != 0)
		return id;
	for (uint32_t i = 0; i < count; i++) {
		uint32_t expect = NAMES_FREE;

		/* Acquire on failure pairs with the release below: on
		 * PUBLISHED we read the entry's hash and name next. (The
		 * claim itself needs no order, but C11 wants success at
		 * least as strong as failure.) */
		if (!atomic_compare_exchange_strong_explicit(&tab[i].state,
		    &expect, NAMES_CLAIMED, memory_order_acquire,
		    memory_order_acquire)) {
			if (expect == NAMES_PUBLISHED && tab[i].hash == hash &&
			    strncmp(tab[i].name, cut, SEG_NAME_MAX) == 0)
				return i + 1;
			continue;
		}
		tab[i].claimer = (int32_t)getpid();
		tab[i].hash = hash;
		memcpy(tab[i].name, cut, sizeof(cut));
		/* Pairs with the acquire in names_find() and names_lookup(). */
		atomic_store_explicit(&tab[i].state, NAMES_PUBLISHED, memory_order_release);
		return i + 1;
	}
	return 0;
}

int
names_lookup(const struct seg *seg, int kind, uint32_t id, char out[SEG_NAME_MAX])
{
	uint32_t count;
	struct names_entry *tab = seg_names(seg, kind, &count);

	if (tab == NULL || id == 0 || id > count)
		goto none;
	/* Pairs with the release in names_register(). */
	if (atomic_load_explicit(&tab[id - 1].state, memory_order_acquire) != NAMES_PUBLISHED)
		goto none;
	memcpy(out, tab[id - 1].name, SEG_NAME_MAX);
	out[SEG_NAME_MAX - 1] = '\0';
	return 0;
none:
	out[0] = '\0';
	errno = ENOENT;
	return -1;
}
