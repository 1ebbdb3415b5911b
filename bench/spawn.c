/*
 * spawn - how long a program takes to start and exit: runs it COUNT times
 * in a row and reports the median.
 *
 *   spawn [-n COUNT] [-e NAME=VALUE]... -- PROG [ARG...]
 *
 * Each run is posix_spawn(3) of PROG with this environment plus the -e
 * variables, then waitpid(2); it is timed with CLOCK_MONOTONIC from just
 * before the spawn to just after the wait. Standard output and error are
 * the program's own. COUNT defaults to 200.
 *
 * Prints one line to stdout, in nanoseconds:
 *   p50=N p10=N p90=N runs=N
 * Exits 1 when a run could not be started or did not exit 0, 2 on bad
 * usage.
 */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "opt.h"
#include "pct.h"

extern char **environ;

static const char spawn_usage[] = "spawn [-n COUNT] [-e NAME=VALUE]... -- PROG [ARG...]";

int
main(int argc, char **argv)
{
	int count = 200, c, nenv = 0, nextra = 0;
	char **env, **extra = calloc((size_t)argc, sizeof(char *));
	uint64_t *ns;

	if (extra == NULL)
		return 1;
	while ((c = getopt(argc, argv, "n:e:")) != -1) {
		switch (c) {
		case 'n':
			count = opt_num(optarg, 1, spawn_usage);
			break;
		case 'e':
			if (strchr(optarg, '=') == NULL)
				opt_usage(spawn_usage);
			extra[nextra++] = optarg;
			break;
		default:
			opt_usage(spawn_usage);
		}
	}
	if (optind >= argc)
		opt_usage(spawn_usage);
	while (environ[nenv] != NULL)
		nenv++;
	env = calloc((size_t)(nenv + nextra + 1), sizeof(char *));
	ns = calloc((size_t)count, sizeof(*ns));
	if (env == NULL || ns == NULL)
		return 1;
	memcpy(env, environ, (size_t)nenv * sizeof(char *));
	memcpy(env + nenv, extra, (size_t)nextra * sizeof(char *));
	for (int i = 0; i < count; i++) {
		uint64_t t0 = pct_now_ns();
		pid_t pid;
		int st;

		if (posix_spawn(&pid, argv[optind], NULL, NULL, argv + optind, env) != 0 ||
		    waitpid(pid, &st, 0) == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "spawn: %s did not run and exit 0\n", argv[optind]);
			return 1;
		}
		ns[i] = pct_now_ns() - t0;
	}
	pct_print_spread(ns, (size_t)count);
	return 0;
}
