/*
 * fuzz_feed.c - libFuzzer target over a reading function of
 * tests/fuzz/lanefeed.h, named by FUZZ_FEED when it is compiled:
 *   lanefeed_read      any bytes laid out as the lanes of a segment, read
 *                      by mplogd's own consumer (make's fuzz-lane)
 *   lanefeed_catchall  any bytes written to mplogd's catch-all reader,
 *                      its lane then read by the consumer (fuzz-catchall)
 * Built with AddressSanitizer and UndefinedBehaviorSanitizer by `make
 * fuzz`; a crash, an out-of-bounds access, undefined behaviour, a timeout
 * (a loop) or a broken check of the reading function is a finding.
 */
#include <stdio.h>
#include <stdlib.h>

#include "lanefeed.h"

#ifndef FUZZ_FEED
#error "FUZZ_FEED names the lanefeed function to fuzz"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One input: read it; a broken check aborts, which libFuzzer reports. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lanefeed_stats st;
	char why[512];

	if (FUZZ_FEED(data, size, &st, why, sizeof(why)) == -1) {
		fprintf(stderr, "lanefeed: %s\n", why);
		abort();
	}
	return 0;
}
