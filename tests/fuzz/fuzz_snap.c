/*
 * fuzz_snap.c - libFuzzer target: any bytes as a snapshot (shm/snap.h)
 * formatted by snap_format, as mplogd formats a syslog record and the
 * pipeline a stderr one. A crash, an out-of-bounds access, undefined
 * behaviour, or a broken check is a finding: the length is -1 or within
 * the buffer, and a smaller buffer gets a prefix of the same text, cut
 * at its end or a byte before.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lane.h"
#include "snap.h"

#define FUZZ_SNAP_SMALL 17      /* the smaller buffer: cuts most texts */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[LANE_MSG_MAX + 1], small[FUZZ_SNAP_SMALL];
	int n = snap_format((const char *)data, size, out, sizeof(out));
	int m = snap_format((const char *)data, size, small, sizeof(small));

	if (n < -1 || n > (int)sizeof(out)) {
		fprintf(stderr, "snap_format: %d bytes into %zu\n", n, sizeof(out));
		abort();
	}
	int want = n < (int)sizeof(small) ? n : (int)sizeof(small);

	/* The text is cut at the buffer's end, or a byte before it (a
	 * conversion made by snprintf keeps room for its NUL). */
	if ((n == -1) != (m == -1) || (n != -1 && (m > want || m < want - 1 ||
	    memcmp(out, small, (size_t)m) != 0))) {
		fprintf(stderr, "snap_format: %d bytes, %d into %zu, not a prefix\n", n, m,
		    sizeof(small));
		abort();
	}
	return 0;
}
