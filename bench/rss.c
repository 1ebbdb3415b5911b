/*
 * rss - the memory and threads a process has before and after it logs,
 * from a program that knows nothing of mplog.
 *
 *   rss [-n LINES]
 *
 * Reads VmRSS and Threads from /proc/self/status three times: at the start
 * of main, after its first line to stderr (write(2)), and after LINES more
 * (default 10000). It waits 100 ms before each of the last two readings,
 * so that a thread started by the first line has started. Prints one line
 * to stdout:
 *   rss0=KIB thr0=N rss1=KIB thr1=N rss2=KIB thr2=N
 * Exits 1 when /proc/self/status cannot be read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "opt.h"

/* VmRSS (KiB) and Threads of this process; returns 0, or -1. */
static int
rss_read(long *kib, long *threads)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return -1;
	*kib = *threads = -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0)
			*kib = strtol(line + 6, NULL, 10);
		else if (strncmp(line, "Threads:", 8) == 0)
			*threads = strtol(line + 8, NULL, 10);
	}
	fclose(f);
	return *kib == -1 || *threads == -1 ? -1 : 0;
}

/* One line to stderr with write(2). */
static void
rss_line(int seq)
{
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "rss line %d\n", seq);

	if (write(2, buf, (size_t)n) != n)
		exit(1);
}

int
main(int argc, char **argv)
{
	struct timespec settle = { 0, 100 * 1000 * 1000 };
	long kib[3], thr[3];
	int lines = 10000;

	if (argc == 3 && strcmp(argv[1], "-n") == 0)
		lines = opt_num(argv[2], 0, "rss [-n LINES]");
	else if (argc != 1)
		opt_usage("rss [-n LINES]");

	if (rss_read(&kib[0], &thr[0]) == -1)
		return 1;
	rss_line(0);
	nanosleep(&settle, NULL);
	if (rss_read(&kib[1], &thr[1]) == -1)
		return 1;
	for (int i = 1; i <= lines; i++)
		rss_line(i);
	nanosleep(&settle, NULL);
	if (rss_read(&kib[2], &thr[2]) == -1)
		return 1;
	printf("rss0=%ld thr0=%ld rss1=%ld thr1=%ld rss2=%ld thr2=%ld\n",
	    kib[0], thr[0], kib[1], thr[1], kib[2], thr[2]);
	return 0;
}
