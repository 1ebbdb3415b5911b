/*
 * replay.c - run a libFuzzer target's inputs without libFuzzer: each file
 * named on the command line goes once through LLVMFuzzerTestOneInput.
 * `make fuzz-cov` links it with the target under clang's coverage to
 * report which lines of the consumer the corpus reaches.
 */
#include <err.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define REPLAY_MAX (4u << 20)   /* bytes of one input read, at most */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
main(int argc, char **argv)
{
	uint8_t *buf = malloc(REPLAY_MAX);

	if (buf == NULL)
		err(1, "malloc");
	LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		size_t n;

		if (f == NULL)
			err(1, "%s", argv[i]);
		n = fread(buf, 1, REPLAY_MAX, f);
		fclose(f);
		LLVMFuzzerTestOneInput(buf, n);
	}
	free(buf);
	return 0;
}
