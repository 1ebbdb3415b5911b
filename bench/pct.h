/*
 * pct.h - nearest-rank percentiles of a sample of nanosecond timings, for
 * the bench programs. Single-threaded; sorts the sample in place.
 */
#ifndef MPLOG_BENCH_PCT_H
#define MPLOG_BENCH_PCT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* qsort order of two uint64_t. */
static inline int
pct_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Sort v[0..n-1] ascending. */
static inline void
pct_sort(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), pct_cmp);
}

/* The per-mille-th percentile (500 = median, 999 = p99.9) of a sorted
 * sample: the smallest value with at least that share at or below it. */
static inline uint64_t
pct_of(const uint64_t *v, size_t n, unsigned permille)
{
	size_t rank = (n * permille + 999) / 1000;

	if (n == 0)
		return 0;
	return v[rank == 0 ? 0 : rank - 1];
}

/* Sort the n timings of v and print "p50=N p10=N p90=N runs=N". */
static inline void
pct_print_spread(uint64_t *v, size_t n)
{
	pct_sort(v, n);
	printf("p50=%llu p10=%llu p90=%llu runs=%zu\n", (unsigned long long)pct_of(v, n, 500),
	    (unsigned long long)pct_of(v, n, 100), (unsigned long long)pct_of(v, n, 900), n);
}

/* CLOCK_MONOTONIC in nanoseconds. */
static inline uint64_t
pct_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
