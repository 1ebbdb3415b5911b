/*
 * handshake - what asking mplogd for a lane of its own costs a process:
 * the connect, the hello, the reply with its three memory files, and
 * mapping them (lanesock_attach), timed COUNT times in a row, each lane
 * given up before the next is asked for.
 *
 *   handshake [-n COUNT] SOCKET
 *
 * Prints one line to stdout, in nanoseconds:
 *   p50=N p10=N p90=N runs=N
 * Exits 1 when a handshake fails, 2 on bad usage. COUNT defaults to 200.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "lanesock.h"
#include "opt.h"
#include "pct.h"

static const char handshake_usage[] = "handshake [-n COUNT] SOCKET";

int
main(int argc, char **argv)
{
	int count = 200, c;
	uint64_t *ns;

	while ((c = getopt(argc, argv, "n:")) != -1) {
		if (c != 'n')
			opt_usage(handshake_usage);
		count = opt_num(optarg, 1, handshake_usage);
	}
	if (optind != argc - 1)
		opt_usage(handshake_usage);
	if ((ns = calloc((size_t)count, sizeof(*ns))) == NULL)
		return 1;
	for (int i = 0; i < count; i++) {
		struct seg s;
		uint64_t t0 = pct_now_ns();

		if (lanesock_attach(&s, argv[optind]) == -1) {
			perror(argv[optind]);
			return 1;
		}
		ns[i] = pct_now_ns() - t0;
		lanesock_detach(&s);
	}
	pct_print_spread(ns, (size_t)count);
	return 0;
}
