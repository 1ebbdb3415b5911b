/*
 * checksum.h - the checksum self-checking test lines carry: FNV-1a, 32
 * bits. Shared by the host programs that write such lines and the tests
 * that verify them, so both agree on it by construction.
 */
#ifndef MPLOG_TEST_CHECKSUM_H
#define MPLOG_TEST_CHECKSUM_H

#include <stddef.h>

static inline unsigned
checksum_fnv(const char *s, size_t n)
{
	unsigned h = 2166136261u;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

#endif
