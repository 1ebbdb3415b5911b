/*
 * floor - what a captured line cannot cost less than on this machine: the
 * bare work of a hook, without the hook. Each push takes a CLOCK_REALTIME
 * timestamp as the shim does (from the TSC on a line calibrated here as
 * mplogd calibrates it, shm/tsc.h, where the clocksource is the TSC; else
 * from the vDSO), claims room in a heap ring (preload/heapring.c, the
 * shim's own), copies SIZE bytes into it and publishes the record, as the
 * shim does; a second thread pops the records as the shim's pipeline thread
 * does, and looks again PIPELINE_GAP_NS after it found the ring empty, as
 * the pipeline thread does while records come. Each push is timed with
 * CLOCK_MONOTONIC as bench/latency times a call, back to back.
 *
 *   floor [-n CALLS] [-s SIZE] [-w WARMUP]
 *
 * Prints one line to stdout, in nanoseconds:
 *   p50=N p99=N p999=N max=N calls=N
 * Exits 1 when the ring cannot be made, 2 on bad usage.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "heapring.h"
#include "pipeline.h"
#include "tsc.h"
#include "opt.h"
#include "pct.h"


static const char floor_usage[] = "floor [-n CALLS] [-s SIZE] [-w WARMUP]";

static _Atomic int floor_done;
static struct tsc_line floor_line;      /* withdrawn (zero): the vDSO */

/* Calibrate a line as mplogd makes its first: two samples TSC_FIRST_NS
 * apart. Nothing when the clocksource is not the TSC. */
static void
floor_clock(void)
{
	struct tsc_clock k;
	struct timespec ts = { 0, TSC_FIRST_NS };

	tsc_clock_init(&k);
	if (tsc_clock_tick(&k, 0) == 0 && k.usable) {
		nanosleep(&ts, NULL);
		if (tsc_clock_tick(&k, TSC_FIRST_NS))
			tsc_publish(&floor_line, &k);
	}
}

/* The reader: pop every record, then look again PIPELINE_GAP_NS later,
 * as the pipeline thread lingers: a reader that peeks right behind the
 * pusher pulls to its CPU the lines the pusher writes next. */
static void *
floor_reader(void *arg)
{
	struct heapring *r = arg;
	const struct heapring_rec *rec;
	int stuck;

	for (;;) {
		while ((rec = heapring_peek(r, &stuck)) != NULL)
			heapring_pop(r, rec);
		if (atomic_load(&floor_done) && heapring_empty(r))
			return NULL;
		for (uint64_t until = pct_now_ns() + PIPELINE_GAP_NS; pct_now_ns() < until;)
			;
	}
}

/* One push of size bytes from line; spins while the ring is full. */
static void
floor_push(struct heapring *r, const char *line, uint32_t size)
{
	struct heapring_claim c;
	uint64_t ts = tsc_now_real(&floor_line);

	while (heapring_claim(r, size, &c) == -1)
		;
	memcpy(c.rec->data, line, size);
	c.rec->kind = HEAPRING_STDERR;
	c.rec->ts_ns = ts;
	heapring_publish(r, &c);
	if (heapring_reader_sleeps(r))
		heapring_wake(r);
}

int
main(int argc, char **argv)
{
	int calls = 100000, size = 64, warmup = 200, c;
	struct heapring *r;
	pthread_t reader;
	uint64_t *ns;
	char *line;

	while ((c = getopt(argc, argv, "n:s:w:")) != -1) {
		switch (c) {
		case 'n': calls = opt_num(optarg, 1, floor_usage); break;
		case 's': size = opt_num(optarg, 1, floor_usage); break;
		case 'w': warmup = opt_num(optarg, 0, floor_usage); break;
		default: opt_usage(floor_usage);
		}
	}
	if (size > (int)HEAPRING_DATA_MAX)
		opt_usage(floor_usage);
	ns = calloc((size_t)calls, sizeof(*ns));
	line = malloc((size_t)size);
	if (ns == NULL || line == NULL || (r = heapring_new()) == NULL ||
	    pthread_create(&reader, NULL, floor_reader, r) != 0)
		return 1;
	floor_clock();
	memset(line, 'x', (size_t)size);
	line[size - 1] = '\n';
	for (int i = 0; i < warmup + calls; i++) {
		uint64_t t0 = pct_now_ns();

		floor_push(r, line, (uint32_t)size);
		if (i >= warmup)
			ns[i - warmup] = pct_now_ns() - t0;
	}
	atomic_store(&floor_done, 1);
	heapring_wake(r);
	pthread_join(reader, NULL);
	pct_sort(ns, (size_t)calls);
	printf("p50=%llu p99=%llu p999=%llu max=%llu calls=%d\n",
	    (unsigned long long)pct_of(ns, (size_t)calls, 500),
	    (unsigned long long)pct_of(ns, (size_t)calls, 990),
	    (unsigned long long)pct_of(ns, (size_t)calls, 999),
	    (unsigned long long)ns[calls - 1], calls);
	return 0;
}
