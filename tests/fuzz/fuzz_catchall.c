/*
 * fuzz_catchall.c - libFuzzer target: any bytes written to the socket of
 * mplogd's catch-all reader (sinks/catchall.c), as a command writes to
 * its descriptor 2, then read by mplogd's consumer into text and JSON
 * (tests/fuzz/lanefeed.h, lanefeed_catchall). A crash, an out-of-bounds
 * access, undefined behaviour, a hang, or a broken check is a finding.
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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lanefeed_stats st;
	char why[512];

	if (lanefeed_catchall(data, size, &st, why, sizeof(why)) == -1) {
		fprintf(stderr, "lanefeed: %s\n", why);
		abort();
	}
	return 0;
}
