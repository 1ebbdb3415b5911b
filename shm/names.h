/*
 * names.h - the segment's name tables: process names and module names
 * (syslog idents, later thread names) mapped to small 1-based ids.
 *
 * Id 0 means "no name". Registration is race-free across processes: a free
 * entry is claimed with a compare-and-swap, written, and only then
 * published with a release store; readers look only at published entries.
 * Two processes registering the same new name at once may get two ids for
 * it; both name the same text. Entries are never freed.
 *
 * Thread-safe and async-signal-safe (no locks, no allocation). Lookups
 * treat the table as untrusted and always return a NUL-terminated name.
 */
#ifndef MPLOG_NAMES_H
#define MPLOG_NAMES_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "seg.h"

enum names_kind {
	NAMES_PROC = 0,
	NAMES_MODULE = 1,
};

enum names_state {
	NAMES_FREE = 0,
	NAMES_CLAIMED = 1,    /* being written by claimer */
	NAMES_PUBLISHED = 2,
};

struct names_entry {
	_Atomic uint32_t state;
	int32_t claimer;
	uint32_t hash;
	uint32_t reserved;
	char name[SEG_NAME_MAX];
	uint8_t pad[SEG_CACHELINE - 16 - SEG_NAME_MAX];
};

_Static_assert(sizeof(struct names_entry) == SEG_CACHELINE, "names entry");

/*
 * Return the id of name in table kind, registering it if new (names longer
 * than SEG_NAME_MAX - 1 bytes are cut). Returns 0 when the table is full.
 */
uint32_t names_register(struct seg *seg, int kind, const char *name);

/* Copy the name with id into out; -1 with errno ENOENT if there is none. */
int names_lookup(const struct seg *seg, int kind, uint32_t id, char out[SEG_NAME_MAX]);

#endif
