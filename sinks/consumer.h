/*
 * consumer.h - mplogd's reading side: create the segment, read every lane,
 * merge the lanes by timestamp, and hand each record to the sinks.
 *
 * Order: within a lane, records leave in the order they were written.
 * Across lanes, the record with the oldest timestamp among the lanes'
 * first records goes first, once it is older than the reorder window (an
 * older record may still be on its way from another process). A lane more
 * than half full is not held back.
 *
 * Lanes are untrusted: a damaged lane is skipped to its head and the loss
 * reported as a record of mplogd's own. Lanes of dead owners are drained,
 * then given back. Single-threaded; not async-signal-safe.
 */
#ifndef MPLOG_CONSUMER_H
#define MPLOG_CONSUMER_H

#include <stddef.h>
#include <stdint.h>

#include "lane.h"
#include "lanesrv.h"
#include "ratelimit.h"
#include "seg.h"
#include "sink.h"
#include "tsc.h"

#define CONSUMER_REAP_NS   (200 * 1000000LL)
#define CONSUMER_STEP_MAX  4096    /* records per step, between heartbeats and
                                    * flush checks: a slow (sanitizer) build must
                                    * not look stuck to producers (2 s) */
#define CONSUMER_DRAIN_NS  (2000 * 1000000LL)  /* final drain at most */
#define CONSUMER_NAP_NS    (1 * 1000000LL)     /* a nap no producer ends */
#define CONSUMER_ACTIVE_NS (20 * 1000000LL)    /* naps this long after a record */

struct consumer_cand {
	uint32_t lane;
	struct lane_view view;
};

struct consumer {
	struct seg seg;
	struct lanesrv *srv;            /* lanes handed over a socket, or NULL;
	                                 * lane i >= seg.lane_count is the
	                                 * server's lane i - seg.lane_count */
	struct sink *sinks;
	size_t nsinks;
	int64_t window_ns;
	int64_t flush_ns;               /* longest a sink holds a byte when busy */
	struct ratelimit rate;          /* --rate-limit; set after consumer_open */
	struct consumer_cand *cands;    /* consumer_lanes_max entries */
	uint64_t *seen_head;            /* consumer_lanes_max entries */
	uint64_t refusals;              /* of the server, reported so far */
	char *msg;                      /* LANE_MSG_MAX bytes */
	char *text;                     /* LANE_MSG_MAX + 1: a snapshot's text */
	int64_t next_reap;
	int64_t active;                 /* CLOCK_MONOTONIC of the last delivery */
	int64_t wait_until;             /* CLOCK_REALTIME: held record due */
	uint64_t me;                    /* our procid: the lanes' reader */
	struct tsc_clock clock;         /* the TSC's line producers apply */
	int adopted;                    /* took over a dead mplogd's segment */
	pid_t adopted_from;             /* its pid */
	uint64_t records;               /* delivered */
	uint64_t damaged;               /* damage reports */
};

/*
 * Create the segment name with params. A stale one left by a dead mplogd
 * is taken over when it is laid out as params ask (c->adopted: the
 * records it left in the lanes, delivered or not, are read again from
 * the last delivered one, and attached producers go on), else replaced.
 * -1 with errno EBUSY (a live mplogd owns it; *owner is its
 * pid), EEXIST (the name holds something that is not a segment of this
 * version), or what seg_create set.
 */
int consumer_open(struct consumer *c, const char *name, const struct seg_params *params,
    pid_t *owner);

/* How many lanes c may read: the segment's and a server's. */
uint32_t consumer_lanes_max(const struct consumer *c);

/*
 * Serve lanes over a socket at path (lanesrv_open) besides the segment's.
 * Their records carry the pid, uid and gid the kernel gave for the
 * connection. -1 with errno as lanesrv_open.
 */
int consumer_listen(struct consumer *c, const char *path, mode_t mode, uint32_t per_uid,
    const struct lanesrv_who *who);

/*
 * Replace c's segment, truncated under it, with a new one of params under
 * name: what the old one holds that can be read is delivered, its
 * producers are told it closed, and the new one is started. Lanes handed
 * over the socket, the sinks and every setting go on. -1 with errno of
 * seg_create (c then keeps the old segment, closed).
 */
int consumer_replace_segment(struct consumer *c, const char *name,
    const struct seg_params *params);

/* Refresh the heartbeat (and the control page of the server's lanes). */
void consumer_beat(struct consumer *c);

/* Write a record of mplogd's own (source "mplog", facility daemon) to
 * every sink. */
void consumer_note(struct consumer *c, unsigned sev, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Merge and deliver what is ready; drain delivers everything. Returns
 * the number of records delivered. */
size_t consumer_step(struct consumer *c, int drain);

/* Sleep until a producer wakes us, a held record is due, or the next
 * heartbeat; while records came in the last CONSUMER_ACTIVE_NS, nap
 * CONSUMER_NAP_NS instead, without asking producers to wake us: under
 * load they then make no wake-up system call. */
void consumer_sleep(struct consumer *c);

/* Write out every sink, then give the bytes of every record claimed so
 * far back to the writers (each is written, or held by a failing sink). */
void consumer_flush(struct consumer *c);

/* SIGHUP: open every file sink again (logrotate's create mode). */
void consumer_reopen(struct consumer *c);

/* Drain every lane, mark the segment closed, drain again, flush; for at
 * most CONSUMER_DRAIN_NS while producers keep writing. */
void consumer_finish(struct consumer *c);

/* Unmap and unlink the segment; free memory (not the rate limit's). */
void consumer_close(struct consumer *c);

#endif
