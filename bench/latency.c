/*
 * latency - per-call latency of one logging call, measured from inside a
 * program that knows nothing of mplog.
 *
 *   latency -m syslog|fprintf|write|none [-t THREADS] [-n CALLS] [-s SIZE]
 *           [-g GAP_US] [-w WARMUP]
 *
 * Each of THREADS threads (default 1) makes WARMUP untimed calls (default
 * 200), then CALLS timed ones (default 3000), sleeping GAP_US microseconds
 * (default 100; clock_nanosleep, so a bit more; 0: no sleep) before each:
 * a program that logs often, not one that does nothing else. Each call is timed with
 * CLOCK_MONOTONIC into a preallocated array:
 *   syslog   syslog(LOG_INFO, "%s", msg)
 *   fprintf  fprintf(stderr, "%s\n", msg)
 *   write    write(2, msg "\n", SIZE)
 *   none     a call to an empty function that the compiler can neither
 *            inline nor drop: what the two clock reads around each call
 *            cost, the floor under every other mode's numbers; logs nothing
 * The line is SIZE bytes with its newline (default 64, at least 16):
 * "lat t=T s=SEQ " padded with 'x'.
 *
 * Prints one line to stdout, in nanoseconds over every thread's calls:
 *   p50=N p99=N p999=N max=N calls=N
 * Exits 1 when a write returned less than SIZE, 2 on bad usage.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "opt.h"
#include "pct.h"

enum lat_mode { LAT_SYSLOG, LAT_FPRINTF, LAT_WRITE, LAT_NONE };

struct lat_opts {
	enum lat_mode mode;
	int threads, calls, size, gap_us, warmup;
};

struct lat_thread {
	const struct lat_opts *o;
	int t, failed;
	uint64_t *ns;           /* o->calls timings */
	pthread_t th;
};

static pthread_barrier_t lat_barrier;

/* Fill buf with line seq of thread t: SIZE - 1 bytes, then a newline. */
static void
lat_line(char *buf, int size, int t, int seq)
{
	int n = snprintf(buf, (size_t)size, "lat t=%d s=%d ", t, seq);

	if (n > size - 1)
		n = size - 1;
	memset(buf + n, 'x', (size_t)(size - 1 - n));
	buf[size - 1] = '\n';
}

/* Nothing, as a real call: not inlined, and the barrier tells the compiler
 * that it may read buf and write any memory, so the call stays. */
static __attribute__((noinline)) void
lat_empty(char *buf)
{
	__asm__ volatile("" : : "r"(buf) : "memory");
}

/* One logging call of the chosen kind; returns 0, or -1 if it fell short. */
static int
lat_call(const struct lat_opts *o, char *buf)
{
	int r = 0;

	switch (o->mode) {
	case LAT_SYSLOG:
		buf[o->size - 1] = '\0';
		syslog(LOG_INFO, "%s", buf);
		break;
	case LAT_FPRINTF:
		buf[o->size - 1] = '\0';
		r = fprintf(stderr, "%s\n", buf) == o->size ? 0 : -1;
		break;
	case LAT_WRITE:
		r = write(2, buf, (size_t)o->size) == o->size ? 0 : -1;
		break;
	case LAT_NONE:
		lat_empty(buf);
		break;
	}
	return r;
}

/* Sleep the gap between two calls. */
static void
lat_pause(const struct lat_opts *o)
{
	struct timespec ts = { 0, (long)o->gap_us * 1000 };

	if (o->gap_us > 0)
		clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
}

/* A thread: the untimed calls, then the timed ones. */
static void *
lat_run(void *arg)
{
	struct lat_thread *th = arg;
	const struct lat_opts *o = th->o;
	char *buf = malloc((size_t)o->size);

	if (buf == NULL) {
		th->failed = 1;
		return NULL;
	}
	pthread_barrier_wait(&lat_barrier);
	for (int i = 0; i < o->warmup + o->calls; i++) {
		uint64_t t0, t1;

		lat_line(buf, o->size, th->t, i);
		lat_pause(o);
		t0 = pct_now_ns();
		if (lat_call(o, buf) == -1)
			th->failed = 1;
		t1 = pct_now_ns();
		if (i >= o->warmup)
			th->ns[i - o->warmup] = t1 - t0;
	}
	free(buf);
	return NULL;
}

static const char lat_usage[] = "latency -m syslog|fprintf|write|none [-t THREADS] "
    "[-n CALLS] [-s SIZE] [-g GAP_US] [-w WARMUP]";

int
main(int argc, char **argv)
{
	struct lat_opts o = { LAT_WRITE, 1, 3000, 64, 100, 200 };
	struct lat_thread *ths;
	uint64_t *all;
	int c, failed = 0;

	while ((c = getopt(argc, argv, "m:t:n:s:g:w:")) != -1) {
		switch (c) {
		case 'm':
			if (strcmp(optarg, "syslog") == 0)
				o.mode = LAT_SYSLOG;
			else if (strcmp(optarg, "fprintf") == 0)
				o.mode = LAT_FPRINTF;
			else if (strcmp(optarg, "write") == 0)
				o.mode = LAT_WRITE;
			else if (strcmp(optarg, "none") == 0)
				o.mode = LAT_NONE;
			else
				opt_usage(lat_usage);
			break;
		case 't': o.threads = opt_num(optarg, 1, lat_usage); break;
		case 'n': o.calls = opt_num(optarg, 1, lat_usage); break;
		case 's': o.size = opt_num(optarg, 16, lat_usage); break;
		case 'g': o.gap_us = opt_num(optarg, 0, lat_usage); break;
		case 'w': o.warmup = opt_num(optarg, 0, lat_usage); break;
		default: opt_usage(lat_usage);
		}
	}
	ths = calloc((size_t)o.threads, sizeof(*ths));
	all = calloc((size_t)o.threads * (size_t)o.calls, sizeof(*all));
	if (ths == NULL || all == NULL) {
		perror("latency");
		return 1;
	}
	pthread_barrier_init(&lat_barrier, NULL, (unsigned)o.threads);
	for (int t = 0; t < o.threads; t++) {
		ths[t] = (struct lat_thread){ &o, t, 0, all + (size_t)t * (size_t)o.calls, 0 };
		if (pthread_create(&ths[t].th, NULL, lat_run, &ths[t]) != 0) {
			perror("latency: pthread_create");
			return 1;
		}
	}
	for (int t = 0; t < o.threads; t++) {
		pthread_join(ths[t].th, NULL);
		failed |= ths[t].failed;
	}
	size_t n = (size_t)o.threads * (size_t)o.calls;
	pct_sort(all, n);
	printf("p50=%llu p99=%llu p999=%llu max=%llu calls=%zu\n",
	    (unsigned long long)pct_of(all, n, 500), (unsigned long long)pct_of(all, n, 990),
	    (unsigned long long)pct_of(all, n, 999), (unsigned long long)all[n - 1], n);
	return failed;
}
