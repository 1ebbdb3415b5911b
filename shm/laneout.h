/*
 * laneout.h - writing records into a leased lane in batches, the one way
 * both producers of lanes do it: the shim's pipeline thread, and the
 * catch-all reader of mplogd's run mode.
 *
 * Records are reserved, filled and committed one by one (lane.h) and
 * published in batches of LANEOUT_BATCH, or when the writer says so; a
 * publication wakes the consumer if it sleeps. Under the block policy a
 * writer whose lane is full publishes and waits for room, bounded: it
 * asks its own stop function between waits (the consumer is gone, a
 * deadline passed). Under the drop policy it never waits: the record is
 * counted in the lane's drops and not written.
 *
 * One thread writes a laneout; lock-free and async-signal-safe, as lane.h
 * is, except that laneout_reserve may wait (LANEOUT_WAIT_NS at a time).
 */
#ifndef MPLOG_LANEOUT_H
#define MPLOG_LANEOUT_H

#include <stdint.h>

#include "lane.h"
#include "seg.h"

#define LANEOUT_BATCH   64                  /* records between publications */
#define LANEOUT_WAIT_NS (10 * 1000000LL)    /* one wait for room */

struct laneout {
	struct lane_writer w;   /* the leased lane */
	struct seg *seg;        /* its segment: policy, consumer to wake */
	uint32_t unpublished;   /* committed since the last publication */
};

/* Make what was committed visible and wake the consumer if it sleeps. */
void laneout_publish(struct laneout *o);

/*
 * Room for a record of len payload bytes (message and names, lane.h):
 * its header, to fill with
 * laneout_put. NULL when the record is not to be written: dropped and
 * counted (drop policy), or stop(arg) returned nonzero while waiting for
 * room (block policy; what was committed is published first).
 */
struct lane_rec *laneout_reserve(struct laneout *o, uint32_t len, int (*stop)(void *),
    void *arg);

/* Give the reserved rec the header fields of head (all but size, type
 * and the name lengths), len message bytes of msg (NULL: already in
 * place) and the names of nm, and commit it; a full batch is published. */
void laneout_put(struct laneout *o, struct lane_rec *rec, const struct lane_rec *head,
    const void *msg, uint32_t len, const struct lane_names *nm);

#endif
