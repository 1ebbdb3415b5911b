/* laneout.c - records into a leased lane, in batches. */
#include "laneout.h"

#include <string.h>

void
laneout_publish(struct laneout *o)
{
	if (o->unpublished == 0)
		return;
	lane_publish(&o->w);
	o->unpublished = 0;
	seg_wake_consumer(o->seg);
}

struct lane_rec *
laneout_reserve(struct laneout *o, uint32_t len, int (*stop)(void *), void *arg)
{
	struct lane_rec *rec;

	while ((rec = lane_reserve(&o->w, len)) == NULL) {
		if (o->seg->policy == SEG_POLICY_DROP) {
			/* Relaxed: a statistic mplogd reads now and then. */
			atomic_fetch_add_explicit(&o->w.hdr->drops, 1, memory_order_relaxed);
			return NULL;
		}
		laneout_publish(o);
		if (stop(arg))
			return NULL;
		lane_wait_room(&o->w, len, LANEOUT_WAIT_NS);
	}
	return rec;
}

void
laneout_put(struct laneout *o, struct lane_rec *rec, const struct lane_rec *head,
    const void *msg, uint32_t len, const struct lane_names *nm)
{
	rec->source = head->source;
	rec->pri = head->pri;
	rec->flags = head->flags;
	rec->pid = head->pid;
	rec->ts_ns = head->ts_ns;
	rec->tid = head->tid;
	if (msg != NULL)
		memcpy(lane_rec_msg(rec), msg, len);
	lane_names_put(rec, len, nm);
	lane_commit(&o->w, rec);
	if (++o->unpublished >= LANEOUT_BATCH)
		laneout_publish(o);
}
