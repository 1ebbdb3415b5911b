/*
 * rss - the memory and threads a process has before and after it logs,
 * from a program that knows nothing of mplog.
 *
 *   rss [-n LINES]
 *
 * Reads /proc/self/status three times: at the start of main, after its
 * first line to stderr (write(2)), and after LINES more (default 10000).
 * It waits 100 ms before each of the last two readings, so that a thread
 * started by the first line has started. Each reading is, in KiB, VmRSS
 * and its three parts: RssAnon (private memory: heap, stacks, written
 * data pages), RssFile (pages of mapped files: the program's and its
 * libraries', shared through the page cache) and RssShmem (shared memory,
 * such as a mapped /dev/shm segment); and Threads. Prints one line to
 * stdout, with I = 0, 1, 2 for the three readings:
 *   rssI=KIB anonI=KIB fileI=KIB shmemI=KIB thrI=N ...
 * Exits 1 when /proc/self/status cannot be read or lacks a field.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "opt.h"

/* One reading of /proc/self/status. */
struct rss_reading {
	long rss, anon, file, shmem, threads;
};

/* The value of line if it starts with the field name, into *v. */
static void
rss_field(const char *line, const char *name, long *v)
{
	size_t n = strlen(name);

	if (strncmp(line, name, n) == 0)
		*v = strtol(line + n, NULL, 10);
}

/* The memory (KiB) and threads of this process; returns 0, or -1. */
static int
rss_read(struct rss_reading *r)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return -1;
	*r = (struct rss_reading){ -1, -1, -1, -1, -1 };
	while (fgets(line, sizeof(line), f) != NULL) {
		rss_field(line, "VmRSS:", &r->rss);
		rss_field(line, "RssAnon:", &r->anon);
		rss_field(line, "RssFile:", &r->file);
		rss_field(line, "RssShmem:", &r->shmem);
		rss_field(line, "Threads:", &r->threads);
	}
	fclose(f);
	return r->rss == -1 || r->anon == -1 || r->file == -1 || r->shmem == -1 ||
	    r->threads == -1 ? -1 : 0;
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
	struct rss_reading r[3];
	int lines = 10000;

	if (argc == 3 && strcmp(argv[1], "-n") == 0)
		lines = opt_num(argv[2], 0, "rss [-n LINES]");
	else if (argc != 1)
		opt_usage("rss [-n LINES]");

	if (rss_read(&r[0]) == -1)
		return 1;
	rss_line(0);
	nanosleep(&settle, NULL);
	if (rss_read(&r[1]) == -1)
		return 1;
	for (int i = 1; i <= lines; i++)
		rss_line(i);
	nanosleep(&settle, NULL);
	if (rss_read(&r[2]) == -1)
		return 1;
	for (int i = 0; i < 3; i++)
		printf("%srss%d=%ld anon%d=%ld file%d=%ld shmem%d=%ld thr%d=%ld", i ? " " : "",
		    i, r[i].rss, i, r[i].anon, i, r[i].file, i, r[i].shmem, i, r[i].threads);
	printf("\n");
	return 0;
}
