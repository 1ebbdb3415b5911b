/*
 * fuzz_lane.c - libFuzzer target: any bytes, laid out as the lanes of a
 * segment (tests/fuzz/lanefeed.h), read by mplogd's own consumer. Built
 * with AddressSanitizer and UndefinedBehaviorSanitizer by `make fuzz`; a
 * crash, an out-of-bounds read, undefined behaviour, a timeout (a loop) or
 * a broken check of lanefeed_read is a finding.
 */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "lanefeed.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* As mplogd's main: the text format's locale and time zone. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setlocale(LC_CTYPE, "C.UTF-8");
	tzset();
	return 0;
}

/* One input: read it; a broken check aborts, which libFuzzer reports. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lanefeed_stats st;
	char why[512];

	if (lanefeed_read(data, size, &st, why, sizeof(why)) == -1) {
		fprintf(stderr, "lanefeed: %s\n", why);
		abort();
	}
	return 0;
}
