/*
 * ratelimit.h - mplogd's per-process rate limit (--rate-limit N/S), off
 * unless asked for: of the records one process writes in a window of S
 * seconds, the first N are delivered and the rest suppressed and counted.
 * The count is then delivered in their place, as a record of the process
 * from mplog ("N lines suppressed by the rate limit"), once the window is
 * over: before the process's next record, or at the next sweep when it
 * has gone quiet. Windows run on mplogd's monotonic clock, not on the
 * records' timestamps, which producers write. State is kept per lane (a
 * process has one lane) and starts again when another process has the
 * lane. Records of mplog's own are never limited. Single-threaded.
 */
#ifndef MPLOG_RATELIMIT_H
#define MPLOG_RATELIMIT_H

#include <stdint.h>

#include "seg.h"

struct ratelimit_lane {
	int32_t pid;            /* the process counted, 0 none */
	int64_t start;          /* CLOCK_MONOTONIC: its window began */
	uint32_t count;         /* records in the window */
	uint64_t suppressed;    /* of them, not delivered */
	char proc[SEG_NAME_MAX];/* its name, for the report */
};

struct ratelimit {
	uint32_t burst;         /* 0: off */
	int64_t interval_ns;
	uint32_t nlanes;
	struct ratelimit_lane *lanes;
};

/* A count of suppressed records to deliver, from pid named proc. */
struct ratelimit_report {
	int32_t pid;
	const char *proc;
	uint64_t suppressed;
};

/* Set up for nlanes lanes; burst 0 turns it off. 0, or -1 (ENOMEM). */
int ratelimit_init(struct ratelimit *rl, uint32_t nlanes, uint32_t burst, int64_t interval_ns);

/*
 * A record of pid (named proc) read from lane at now: 1 to deliver it, 0
 * to suppress it. When a window of that lane ended with records
 * suppressed, *rep gets their count first (rep->suppressed > 0): deliver
 * the report before the record.
 */
int ratelimit_take(struct ratelimit *rl, uint32_t lane, int32_t pid, const char *proc,
    int64_t now, struct ratelimit_report *rep);

/* The next lane, from *lane on, whose window ended at now with records
 * suppressed: 1 and *rep, its count then cleared; 0 when none is left. */
int ratelimit_sweep(struct ratelimit *rl, uint32_t *lane, int64_t now,
    struct ratelimit_report *rep);

void ratelimit_free(struct ratelimit *rl);

#endif
