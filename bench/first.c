/*
 * first - what a process's first line costs, and its second: under mplog
 * the first hooked call also attaches to mplogd (maps its segment, or
 * connects and takes a lane of its own over its socket) and starts the
 * pipeline thread.
 *
 *   first
 *
 * Times one write(2) of a 64-byte line to stderr, then a second, with
 * CLOCK_MONOTONIC, and prints one line to stdout, in nanoseconds:
 *   first=N second=N
 * Exits 1 when a write fails.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pct.h"

int
main(void)
{
	static const char line[] = "first: a line of sixty-four bytes, newline included, to stderr.\n";
	uint64_t t0, t1, t2;

	_Static_assert(sizeof(line) - 1 == 64, "a 64-byte line");
	t0 = pct_now_ns();
	if (write(2, line, sizeof(line) - 1) != (ssize_t)sizeof(line) - 1)
		return 1;
	t1 = pct_now_ns();
	if (write(2, line, sizeof(line) - 1) != (ssize_t)sizeof(line) - 1)
		return 1;
	t2 = pct_now_ns();
	printf("first=%lld second=%lld\n", (long long)(t1 - t0), (long long)(t2 - t1));
	return 0;
}
