/*
 * prng.h - the deterministic generators the unit tests draw their data
 * from, so that a failure replays the same way every run: xorshift64*
 * steps through a sequence, splitmix64's finaliser derives a value from a
 * number (a record's length or pattern from its sequence number).
 *
 * Header only. The state of a sequence is the caller's; nothing here is
 * shared between threads.
 */
#ifndef MPLOG_TEST_PRNG_H
#define MPLOG_TEST_PRNG_H

#include <stdint.h>

/* xorshift64*: the next value of the sequence whose state is *s (not 0). */
static inline uint64_t
prng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * UINT64_C(2685821657736338717);
}

/* splitmix64's finaliser: a well-mixed value from x. */
static inline uint64_t
prng_mix(uint64_t x)
{
	x += UINT64_C(0x9e3779b97f4a7c15);
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

#endif
