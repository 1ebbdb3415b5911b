/*
 * opt.h - the command-line numbers of the bench programs. Single-threaded;
 * exits the program on bad usage.
 */
#ifndef MPLOG_BENCH_OPT_H
#define MPLOG_BENCH_OPT_H

#include <stdio.h>
#include <stdlib.h>

/* Print the usage line to stderr and exit 2. */
static inline void __attribute__((noreturn))
opt_usage(const char *usage)
{
	fprintf(stderr, "usage: %s\n", usage);
	exit(2);
}

/* The decimal number s, from min to 100000000, or usage. */
static inline int
opt_num(const char *s, int min, const char *usage)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < min || v > 100000000)
		opt_usage(usage);
	return (int)v;
}

#endif
