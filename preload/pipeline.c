/* pipeline.c - the thread that moves records from the heap ring to the lane. */
#include "pipeline.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "futex.h"
#include "lane.h"
#include "laneout.h"
#include "lines.h"
#include "multiline.h"
#include "idents.h"
#include "threadname.h"
#include "procid.h"
#include "real.h"
#include "shim.h"
#include "sigdisp.h"
#include "snap.h"

#define PIPELINE_DRAIN (4 * LANEOUT_BATCH)      /* records popped at a time */

#if defined(__x86_64__) || defined(__i386__)
#define pipeline_relax() __builtin_ia32_pause()
#else
#define pipeline_relax() atomic_signal_fence(memory_order_seq_cst)
#endif

struct pipeline {
	_Atomic int started;
	_Atomic uint32_t flush_req;     /* bumped by pipeline_flush_sync */
	_Atomic uint32_t flush_done;    /* flush_req value last completed */
	_Atomic uint32_t whole_req;     /* requests that end unfinished lines */
	uint32_t whole_done;            /* whole_req value last honoured */
	struct lines lines;
	struct multiline ml;            /* records held for their next lines */
	struct laneout out;             /* the leased lane, its segment, its batch */
	_Atomic(struct lane_hdr *) shown;       /* the leased lane, for waiters */
	int leased;
	int lost;                       /* mplogd went away: to pass mode */
	pid_t lost_pid;                 /* the mplogd judged gone */
	int unfinished;                 /* emitting unfinished lines */
	int64_t lease_retry;            /* no lane free: retry after this */
	int64_t probe_next;             /* ask whether mplogd's pid exists */
	uint64_t me;                    /* procid of this process */
	uint64_t start;                 /* its start time, read before the thread */
	pid_t pid;
	_Atomic uint64_t synced;        /* ring position below which every record
	                                 * is in the lane, passed, or held as an
	                                 * unfinished line */
	uint64_t drops_reported;        /* of the ring's drop count */
	uint64_t drops_pending;         /* dropped lines not yet reported */
	struct seg *orphan_seg;         /* a lane left with records that */
	struct lane_writer orphan;      /* nobody could take yet, or NULL */
	struct lane_writer handback;    /* a lane of a dead mplogd's socket,
	                                 * for the next mplogd (hdr NULL: none) */
	struct seg *handback_seg;       /* its control page */
	int64_t handback_until;         /* CLOCK_MONOTONIC: else pass it through */
	uint32_t stuck_checks;          /* drains that found the tail stuck */
	int64_t stuck_since;            /* CLOCK_MONOTONIC of the first */
};

static struct pipeline pl;

static void pipeline_flush(int whole);
static int pipeline_gone(void *arg);
/* The lane source of a heap-ring record kind. */
static uint8_t
pipeline_source(uint8_t kind)
{
	return kind == HEAPRING_SYSLOG || kind == HEAPRING_SNAP ? LANE_SRC_SYSLOG :
	    kind == HEAPRING_MPLOG ? LANE_SRC_MPLOG :
	    kind == HEAPRING_STDOUT ? LANE_SRC_STDOUT : LANE_SRC_STDERR;
}

/* Where a snapshot is formatted here, when it cannot go to mplogd or is
 * stderr's: used by the pipeline thread, or by the one thread that found
 * none could be made (pipeline_inline). The text is the data of a
 * record, for line assembly. */
static char pipeline_snap_res[LANE_MSG_MAX + 1];
static union {
	struct heapring_rec rec;
	char bytes[sizeof(struct heapring_rec) + LANE_MSG_MAX + 1];
} pipeline_snap_out;

_Static_assert(SHIM_ESNAP_TEXT_MAX <= LANE_MSG_MAX, "a stderr snapshot's text fits");

/* The text of snapshot snap (len bytes; resolved: its format is copied
 * in); for syslog (strip) without a trailing newline, as syslog(3) would
 * send it. Its length in *n, or NULL when it does not add up. */
static const char *
pipeline_snap_format(const char *snap, uint32_t len, int resolved, int strip, uint32_t *n)
{
	char *text = pipeline_snap_out.rec.data;
	int size = resolved ? (int)len : snap_resolve(snap, len, pipeline_snap_res,
	    sizeof(pipeline_snap_res));
	int k;

	if (size == -1 || (k = snap_format(resolved ? snap : pipeline_snap_res, (size_t)size,
	    text, sizeof(pipeline_snap_out) - sizeof(struct heapring_rec))) == -1)
		return NULL;
	if (strip && k > 0 && text[k - 1] == '\n')
		k--;
	*n = (uint32_t)k;
	return text;
}

/* Write a line (of a lane source) where it would have gone without mplog. */
static void
pipeline_pass(uint8_t source, uint8_t pri, uint8_t split, const char *data, uint32_t len)
{
	struct iovec iov[2] = { { (void *)data, len }, { "\n", 1 } };

	if (source == LANE_SRC_SYSLOG) {
		real_syslog(pri, "%.*s", (int)len, data);
		return;
	}
	if (source == LANE_SRC_STDOUT) {
		if (shim.stdout_mode != SHIM_TEE)
			real_writev(1, iov, split ? 1 : 2);
		return;         /* in tee mode the hook already wrote it */
	}
	if (source == LANE_SRC_STDERR && shim.stderr_mode == SHIM_TEE)
		return;         /* the hook already wrote it */
	real_writev(2, iov, split ? 1 : 2);
}

/*
 * Is the party r, the reader of a lane of seg, gone? A control page's
 * robust mutex says so of its mplogd even while it is a zombie (its
 * records would otherwise wait for it to be reaped); else kill(2) does.
 * Both open nothing: this thread must not take an fd.
 */
static int
pipeline_reader_gone(struct seg *seg, uint64_t r)
{
	/* Relaxed: the pid the control page names is compared, not used. */
	if (seg != NULL && seg->alive != NULL && !seg_holder_lives(seg) &&
	    procid_pid(r) == atomic_load_explicit(&seg->meta->consumer_pid, memory_order_relaxed))
		return 1;
	return !procid_exists(r);
}

/*
 * Pass through what nobody delivered from our lane w: possible once its
 * reading side is ours, free, or held by a party that no longer exists
 * (a dead mplogd's claimed records are read again). 0 when done, -1 when
 * a live holder (a stopped mplogd, or one still closing) keeps it.
 */
static int
pipeline_take_back(struct seg *seg, struct lane_writer *w)
{
	uint64_t r = lane_reader(w->hdr);
	struct lane_view v;
	int got;

	if (r != pl.me && r != 0 && !pipeline_reader_gone(seg, r))
		return -1;
	if (r != pl.me && lane_seize(w->hdr, r, pl.me) == -1)
		return -1;
	while ((got = lane_peek(w->hdr, w->data, w->size, &v)) != 0) {
		const char *text = v.msg;
		uint32_t n = v.msg_len;

		if (lane_consume(w->hdr, &v) == -1)
			break;  /* only a scribbled lane moves tail under us */
		if (got == 1 && (v.rec.flags & LANE_F_SNAP))
			text = pipeline_snap_format(v.msg, v.msg_len, 1, 1, &n);
		if (got == 1 && text != NULL)
			pipeline_pass(v.rec.source, v.rec.pri, v.rec.flags & LANE_F_SPLIT, text, n);
	}
	lane_release(w->hdr, pl.me);
	return 0;
}

/*
 * Try again to deliver an orphaned lane: done once a consumer serves its
 * segment again (it reads the lane) or we could take its records back.
 * At exit, a closing mplogd is waited for, bounded, as it lets go of its
 * lanes at once; a stopped one is not.
 */
static void
pipeline_orphan_retry(int at_exit)
{
	int64_t until = seg_now_mono() + PIPELINE_ORPHAN_NS;
	const struct timespec ms = { 0, 1000000 };

	while (pl.orphan_seg != NULL) {
		if (seg_consumer_live(pl.orphan_seg) ||
		    pipeline_take_back(pl.orphan_seg, &pl.orphan) == 0) {
			pl.orphan_seg = NULL;
			return;
		}
		/* Acquire pairs with the seq_cst store in seg_consumer_close(). */
		if (!at_exit || seg_now_mono() > until ||
		    atomic_load_explicit(&pl.orphan_seg->meta->state, memory_order_acquire) !=
		    SEG_STATE_CLOSED)
			return;
		nanosleep(&ms, NULL);
	}
}

/* mplogd is gone: keep a lane a killed mplogd handed over its socket for
 * the next mplogd, or take back what it did not deliver; pipeline_to_pass
 * then stops capturing. */
static void
pipeline_lost(pid_t gone)
{
	lane_publish(&pl.out.w);
	/* Acquire pairs with the seq_cst store in seg_consumer_close(): an
	 * mplogd that closed delivered what it could; one that died did not. */
	if (pl.out.seg->own_lane != NULL && pl.handback.hdr == NULL &&
	    atomic_load_explicit(&pl.out.seg->meta->state, memory_order_acquire) !=
	    SEG_STATE_CLOSED) {
		pl.handback = pl.out.w;
		pl.handback_seg = pl.out.seg;
		pl.handback_until = seg_now_mono() + PIPELINE_HANDBACK_NS;
	} else if (pipeline_take_back(pl.out.seg, &pl.out.w) == -1) {
		pl.orphan_seg = pl.out.seg;
		pl.orphan = pl.out.w;
	}
	pl.leased = 0;
	pl.out.unpublished = 0;
	pl.lease_retry = seg_now_mono() + PIPELINE_LEASE_NS;
	pl.lost = 1;
	pl.lost_pid = gone;
}

/*
 * If mplogd is gone, take back our lane and stop capturing; 1 if gone.
 * Its state and heartbeat are read every time (a closing mplogd is seen
 * at once); whether its pid still exists, a system call, is asked at most
 * every PIPELINE_PROBE_NS: a killed mplogd is seen that much later, and
 * what we published meanwhile is taken back the same.
 */
static int
pipeline_check_live(void)
{
	int64_t now = seg_now_mono();
	pid_t pid;

	if (!pl.leased)
		return 1;
	/* The pid before the check: one that took over meanwhile is live,
	 * or is not the one judged gone. */
	pid = atomic_load_explicit(&pl.out.seg->meta->consumer_pid, memory_order_relaxed);
	if (seg_consumer_running(pl.out.seg) && now < pl.probe_next)
		return 0;
	pl.probe_next = now + PIPELINE_PROBE_NS;
	if (seg_consumer_live(pl.out.seg))
		return 0;
	pipeline_lost(pid);
	return 1;
}

/*
 * Copy what a dead mplogd left unread in the lane of pl.handback into our
 * new lane, oldest first, before any record of ours: the new mplogd
 * delivers it. Records the dead one had claimed but not marked delivered
 * are read again (lane_seize rewinds to done): at most its last write
 * twice. What the new lane will not take (its mplogd gone too, or full
 * under the drop policy) is left for pipeline_handback_expire.
 */
static void
pipeline_hand_back(void)
{
	struct lane_writer *old = &pl.handback;
	uint64_t r = lane_reader(old->hdr);
	struct lane_view v;
	int got;

	if (r != pl.me && (r == 0 || pipeline_reader_gone(pl.handback_seg, r)) &&
	    lane_seize(old->hdr, r, pl.me) == -1)
		return;
	if (lane_reader(old->hdr) != pl.me)
		return;         /* a stopped mplogd holds it: it may come back */
	while ((got = lane_peek(old->hdr, old->data, old->size, &v)) != 0) {
		if (got == 1) {
			struct lane_names nm = {
				.name = v.msg + v.msg_len, .name_len = v.rec.name_len,
				.ident = v.msg + v.msg_len + v.rec.name_len,
				.ident_len = v.rec.ident_len,
				.thread = v.msg + v.msg_len + v.rec.name_len + v.rec.ident_len,
				.thread_len = v.rec.thread_len,
			};
			struct lane_rec *rec = laneout_reserve(&pl.out,
			    v.msg_len + lane_names_size(&nm), pipeline_gone, NULL);

			if (rec == NULL)
				break;
			laneout_put(&pl.out, rec, &v.rec, v.msg, v.msg_len, &nm);
		}
		if (lane_consume(old->hdr, &v) == -1)
			break;  /* only a scribbled lane moves tail under us */
	}
	laneout_publish(&pl.out);
	if (got == 0) {
		lane_release(old->hdr, pl.me);
		pl.handback.hdr = NULL;
	}
}

/* A lane kept for the next mplogd that none came for in time (or the
 * process ends): write what it holds where it would have gone. */
static void
pipeline_handback_expire(int at_exit)
{
	if (pl.handback.hdr == NULL || (!at_exit && seg_now_mono() < pl.handback_until))
		return;
	if (pipeline_take_back(pl.handback_seg, &pl.handback) == 0)
		pl.handback.hdr = NULL;
}

/* Lease a lane in the current segment; 0 when capture should go on. */
static int
pipeline_lease(void)
{
	struct seg *seg = shim_seg();

	if (pl.leased && pl.out.seg == seg) {
		if (pl.handback.hdr != NULL)
			pipeline_hand_back();   /* its reader was not gone yet */
		return 0;
	}
	/* Not LIVE: mplogd went away and no hook has found a new one yet. */
	if (seg == NULL || seg_now_mono() < pl.lease_retry ||
	    atomic_load_explicit(&shim.state, memory_order_acquire) != SHIM_LIVE)
		return -1;
	pl.leased = 0;
	pl.pid = getpid();
	pl.me = procid_pack(pl.pid, pl.start);
	for (int64_t until = seg_now_mono() + PIPELINE_LEASE_NS;;) {
		if (lane_lease(seg, pl.me, &pl.out.w) == 0)
			break;
		if (seg_now_mono() > until || !seg_consumer_live(seg)) {
			pl.lease_retry = seg_now_mono() + PIPELINE_LEASE_NS;
			return -1;
		}
		usleep(10000);  /* lanes free up as mplogd reaps dead owners */
	}
	if (pl.orphan_seg == seg && pl.orphan.hdr == pl.out.w.hdr)
		pl.orphan_seg = NULL;   /* mplogd is back: it reads them */
	pl.out.seg = seg;
	pl.leased = 1;
	memset(pl.out.w.hdr->name, 0, SEG_NAME_MAX);      /* after an exec: the new name */
	memcpy(pl.out.w.hdr->name, shim.name, strnlen(shim.name, SEG_NAME_MAX - 1));
	if (pl.handback.hdr != NULL)
		pipeline_hand_back();
	/* Release pairs with the acquire in pipeline_wait_delivered(). */
	atomic_store_explicit(&pl.shown, pl.out.w.hdr, memory_order_release);
	return 0;
}

/* The names a record of kind (a heapring kind), ident index and thread
 * tid carries: the process name, for syslog the ident (the program's
 * name when openlog gave none), and the thread's name. */
static struct lane_names
pipeline_names(uint8_t kind, uint16_t ident, int32_t tid)
{
	struct lane_names n;
	const char *id = NULL;

	if (pipeline_source(kind) == LANE_SRC_SYSLOG &&
	    (id = idents_get(ident)) == NULL)
		id = program_invocation_short_name;
	lane_names_set(&n, shim.name, id, threadname_get(tid));
	return n;
}

/* Make committed records visible and wake mplogd if it sleeps. */
static void
pipeline_publish(void)
{
	if (pl.leased)
		laneout_publish(&pl.out);
}

/*
 * Publish, then check mplogd is still there; 1 if it is gone (the lane
 * was taken back). seg_wake_consumer's seq_cst fence orders the check
 * after the publication: pairs with seg_consumer_close().
 */
static int
pipeline_sync(void)
{
	pipeline_publish();
	return pipeline_check_live();
}

/* laneout_reserve's stop: mplogd is gone (the lane was taken back). */
static int
pipeline_gone(void *arg)
{
	(void)arg;
	return pipeline_check_live();
}

/* Reserve lane room for len message bytes and the names nm, waiting
 * under the block policy while mplogd lives; a line dropped under the
 * drop policy is to be reported. */
static struct lane_rec *
pipeline_reserve(uint32_t len, const struct lane_names *nm)
{
	struct lane_rec *rec = laneout_reserve(&pl.out, len + lane_names_size(nm),
	    pipeline_gone, NULL);

	if (rec == NULL && pl.out.seg->policy == SEG_POLICY_DROP)
		pl.drops_pending++;
	return rec;
}

/* A stderr or stdout line below the level in force when it was written
 * is discarded here, once its "<N>" prefix has given its severity; syslog
 * records were checked in the hook. */
static int
pipeline_below_level(const struct lines_line *l)
{
	return heapring_is_stream(l->kind) && LOG_PRI(l->pri) > l->level;
}

/* The lane record header of line l. */
static struct lane_rec
pipeline_head(const struct lines_line *l)
{
	struct lane_rec h = {
		.source = pipeline_source(l->kind), .pri = l->pri,
		.flags = ((l->flags & LINES_F_SPLIT) ? LANE_F_SPLIT : 0) |
		    ((l->flags & LINES_F_MULTI) ? LANE_F_MULTI : 0), .pid = pl.pid,
		.ts_ns = l->ts_ns, .tid = l->tid,
	};

	return h;
}

/* Fill a reserved lane record with line l and its names nm, and commit. */
static void
pipeline_commit(struct lane_rec *rec, const struct lines_line *l, const struct lane_names *nm)
{
	struct lane_rec h = pipeline_head(l);

	laneout_put(&pl.out, rec, &h, l->data, l->len, nm);
}

/*
 * Report the lines dropped so far (by the hooks, the ring being full, or
 * by pipeline_reserve, the lane being full) as a record of their own,
 * ahead of the next line. Under the drop policy no line waits for room,
 * and neither does the report, except at a flush (wait), where a count
 * left unreported would be lost with the process. Without a lane, the
 * report goes where the lines would have gone.
 */
static void
pipeline_report_drops(int wait)
{
	struct heapring *r = atomic_load_explicit(&shim.ring, memory_order_acquire);
	uint64_t drops = r != NULL ? atomic_load_explicit(&r->drops, memory_order_relaxed) : 0;
	int64_t until = seg_now_mono() + PIPELINE_REPORT_NS;
	struct lane_rec *rec = NULL;
	char msg[96];
	int n;

	if (drops != pl.drops_reported) {
		pl.drops_pending += drops - pl.drops_reported;
		if (pl.leased)
			atomic_fetch_add_explicit(&pl.out.w.hdr->drops, drops - pl.drops_reported,
			    memory_order_relaxed);
		pl.drops_reported = drops;
	}
	if (pl.drops_pending == 0)
		return;
	n = snprintf(msg, sizeof(msg), "mplog: %llu lines dropped: queue full",
	    (unsigned long long)pl.drops_pending);
	struct lines_line l = { .ts_ns = shim_now_real(), .tid = shim_tid(),
	    .kind = HEAPRING_MPLOG, .pri = LOG_USER | LOG_WARNING,
	    .data = msg, .len = (uint32_t)n };
	struct lane_names nm = pipeline_names(l.kind, 0, l.tid);
	uint32_t need = l.len + lane_names_size(&nm);

	while (pl.leased && (rec = lane_reserve(&pl.out.w, need)) == NULL && wait &&
	    seg_now_mono() < until && !pipeline_sync())
		lane_wait_room(&pl.out.w, need, LANEOUT_WAIT_NS);
	if (rec != NULL)
		pipeline_commit(rec, &l, &nm);
	else if (!pl.leased)
		pipeline_pass(LANE_SRC_MPLOG, l.pri, 0, msg, l.len);
	else
		return;         /* still pending: reported with a later line */
	pl.drops_pending = 0;
}

/* lines_emit_fn: copy one line into the lane, or pass it through. */
static void
pipeline_emit(void *arg, const struct lines_line *l)
{
	struct lane_rec *rec;
	struct lane_names nm = pipeline_names(l->kind, l->ident, l->tid);
	int leased;

	(void)arg;
	leased = pipeline_lease() == 0;
	if (leased && pipeline_below_level(l))
		return;
	if (leased && pl.drops_pending != 0)
		pipeline_report_drops(0);
	if (!leased || (rec = pipeline_reserve(l->len, &nm)) == NULL) {
		if (!pl.leased || pl.out.seg->policy != SEG_POLICY_DROP)
			pipeline_pass(pipeline_source(l->kind), l->pri,
			    (l->flags & LINES_F_SPLIT) || pl.unfinished, l->data, l->len);
		return;
	}
	pipeline_commit(rec, l, &nm);
}

/* lines_emit_fn of lines.c: a line, or a piece of one, into the lane;
 * under MPLOG_MULTILINE by way of its thread's held record. */
static void
pipeline_line(void *arg, const struct lines_line *l)
{
	if (shim.multiline)
		multiline_add(&pl.ml, l, pipeline_emit, arg);
	else
		pipeline_emit(arg, l);
}

/* lines_emit_fn for an unfinished line let go: after its thread's held
 * record, never held itself (nothing follows it yet). */
static void
pipeline_unfinished(void *arg, const struct lines_line *l)
{
	multiline_flush(&pl.ml, 0, l->tid, pipeline_emit, NULL);
	pipeline_emit(arg, l);
}

/* Records held since before held_ns, then unfinished lines last added
 * to before partial_ns, go out (UINT64_MAX: all of them). */
static void
pipeline_lines_out(uint64_t partial_ns, uint64_t held_ns)
{
	multiline_flush(&pl.ml, held_ns, 0, pipeline_emit, NULL);
	lines_flush(&pl.lines, partial_ns, pipeline_unfinished, NULL);
}

/*
 * A syslog snapshot: into the lane with its format copied in, for mplogd
 * to format; when it cannot go there (no lane, no room, too big),
 * formatted here and handled as any syslog line.
 */
static void
pipeline_emit_snap(const struct heapring_rec *hr)
{
	struct lines_line l = { .ts_ns = hr->ts_ns, .tid = hr->tid, .kind = HEAPRING_SNAP,
	    .pri = hr->pri, .level = hr->level, .ident = hr->ident };
	int size = snap_resolved_size(hr->data, hr->len);
	struct lane_rec *rec;

	if (shim.multiline)     /* its thread's held lines first */
		multiline_flush(&pl.ml, 0, hr->tid, pipeline_emit, NULL);
	if (size != -1 && size <= (int)LANE_MSG_MAX && pipeline_lease() == 0) {
		if (pl.drops_pending != 0)
			pipeline_report_drops(0);
		struct lane_names nm = pipeline_names(l.kind, l.ident, l.tid);

		if ((rec = pipeline_reserve((uint32_t)size, &nm)) != NULL) {
			struct lane_rec h = pipeline_head(&l);

			h.flags |= LANE_F_SNAP;
			snap_resolve(hr->data, hr->len, lane_rec_msg(rec), (size_t)size);
			laneout_put(&pl.out, rec, &h, NULL, (uint32_t)size, &nm);
			return;
		}
		if (pl.out.seg->policy == SEG_POLICY_DROP)
			return;         /* dropped and counted */
	}
	if ((l.data = pipeline_snap_format(hr->data, hr->len, 0, 1, &l.len)) != NULL)
		pipeline_emit(NULL, &l);
}

/* A stderr snapshot: formatted here, its text then stderr text as any. */
static void
pipeline_feed_esnap(const struct heapring_rec *hr)
{
	struct heapring_rec *text = &pipeline_snap_out.rec;
	uint32_t n;

	if (pipeline_snap_format(hr->data, hr->len, 0, 0, &n) == NULL)
		return;         /* not one the hook took: never so */
	memcpy(text, hr, sizeof(*text));
	text->kind = HEAPRING_STDERR;
	text->len = n;
	lines_feed(&pl.lines, text, pipeline_line, NULL);
}

/* Hand one heap-ring record on: lines to line assembly, a syslog
 * snapshot to the lane. */
static void
pipeline_feed(const struct heapring_rec *rec)
{
	if (rec->kind == HEAPRING_SNAP)
		pipeline_emit_snap(rec);
	else if (rec->kind == HEAPRING_ESNAP)
		pipeline_feed_esnap(rec);
	else
		lines_feed(&pl.lines, rec, pipeline_line, NULL);
}

/* Pop up to a batch of records; returns how many. */
static int
pipeline_drain(struct heapring *r)
{
	const struct heapring_rec *rec;
	int n = 0, stuck;

	while (n < PIPELINE_DRAIN && (rec = heapring_peek(r, &stuck)) != NULL) {
		pipeline_feed(rec);
		heapring_pop(r, rec);
		n++;
	}
	/* A claim is abandoned after PIPELINE_ABANDON_NS of wall time and
	 * PIPELINE_STUCK_CHECKS checks: the count keeps a process that was
	 * stopped (SIGSTOP, a debugger) with a thread between claim and
	 * publish from abandoning that claim as soon as it resumes. */
	if (n > 0 || !stuck) {
		pl.stuck_checks = 0;
	} else if (pl.stuck_checks++ == 0) {
		pl.stuck_since = seg_now_mono();
	} else if (pl.stuck_checks > PIPELINE_STUCK_CHECKS &&
	    seg_now_mono() - pl.stuck_since > PIPELINE_ABANDON_NS) {
		heapring_abandon(r);
		pl.stuck_checks = 0;
	}
	return n;
}

/*
 * After pipeline_lost: pass through what is queued, then let the hooks
 * write straight to stderr. No unfinished line may stay here, or it
 * would be joined to one written much later: it goes out without a
 * newline, for the program's next piece to finish it. Not called from
 * within lines_feed (pipeline_lost may be).
 */
static void
pipeline_to_pass(struct heapring *r)
{
	const struct heapring_rec *rec;
	int n = 0, stuck;

	if (!pl.lost)
		return;
	while (n++ < 16 * LANEOUT_BATCH && (rec = heapring_peek(r, &stuck)) != NULL) {
		pipeline_feed(rec);
		heapring_pop(r, rec);
	}
	multiline_flush(&pl.ml, UINT64_MAX, 0, pipeline_emit, NULL);
	pl.unfinished = 1;
	lines_flush(&pl.lines, UINT64_MAX, pipeline_unfinished, NULL);
	pl.unfinished = 0;
	pl.lost = 0;
	shim_lost(pl.lost_pid);
	pl.lease_retry = 0;     /* lease again as soon as the hooks attach */
}

/* Everything drained from the ring is in the lane (or passed through):
 * say how far, so that pipeline_publish_sync need not ask. Release pairs
 * with the acquire there. */
static void
pipeline_mark_synced(struct heapring *r)
{
	if (pl.out.unpublished == 0)
		atomic_store_explicit(&pl.synced, r->tail, memory_order_release);
}

/* Finish a flush request once everything before it is in the lane. */
static void
pipeline_flush_check(struct heapring *r)
{
	uint32_t req = atomic_load_explicit(&pl.flush_req, memory_order_acquire), whole;
	int ending;

	if (req == atomic_load_explicit(&pl.flush_done, memory_order_relaxed) ||
	    !heapring_empty(r))
		return;
	/* Relaxed after the acquire of flush_req above, which pairs with
	 * the release bump that follows the whole_req bump in
	 * pipeline_flush(). */
	whole = atomic_load_explicit(&pl.whole_req, memory_order_relaxed);
	ending = whole != pl.whole_done;
	if (ending) {
		pipeline_lines_out(UINT64_MAX, UINT64_MAX);
		pl.whole_done = whole;
	}
	pipeline_report_drops(1);
	pl.probe_next = 0;      /* whoever waits must know mplogd is there */
	pipeline_sync();
	pipeline_to_pass(r);
	pipeline_mark_synced(r);
	pipeline_orphan_retry(1);
	pipeline_handback_expire(ending);
	/* Release pairs with the acquire in pipeline_flush_sync(). */
	atomic_store_explicit(&pl.flush_done, req, memory_order_release);
	futex_wake(&pl.flush_done);
}

/* Work done when the ring is idle. */
static void
pipeline_idle(struct heapring *r)
{
	uint64_t now = shim_now_real();

	pipeline_report_drops(0);
	pipeline_lines_out(now - PIPELINE_PARTIAL_NS, now - MULTILINE_GAP_NS);
	pipeline_sync();
	pipeline_to_pass(r);
	pipeline_orphan_retry(0);
	pipeline_handback_expire(0);
}

/*
 * Poll the ring for a short while before sleeping: a program that logs in
 * bursts then finds the pipeline awake, and its hooks make no wake-up
 * system call. The ring is looked at only every PIPELINE_GAP_NS: a reader
 * that peeks right behind a pushing thread pulls to its own CPU the cache
 * lines that thread writes next, and every push then waits for them to
 * come back. Returns 1 when a record arrived.
 */
static int
pipeline_linger(struct heapring *r)
{
	int64_t now = seg_now_mono(), until = now + PIPELINE_LINGER_NS;
	int stuck;

	do {
		int64_t next = now + PIPELINE_GAP_NS;

		while ((now = seg_now_mono()) < next)
			pipeline_relax();
		if (heapring_peek(r, &stuck) != NULL)
			return 1;
	} while (now < until);
	return 0;
}

/*
 * The pipeline thread. While records come (one in the last
 * PIPELINE_ACTIVE_NS) it naps between batches, PIPELINE_NAP_NS at a
 * time, without asking pushers to wake it: a hooked call then makes no
 * system call, and a line waits at most a nap. Once idle, it sleeps until
 * a push wakes it (one system call, for the first line after the pause)
 * or PIPELINE_IDLE_NS passes.
 */
static void *
pipeline_main(void *arg)
{
	struct heapring *r = arg;
	int64_t last = seg_now_mono();

	shim_on_pipeline = 1;
	/* Named from inside: naming another thread opens a file in /proc. */
	pthread_setname_np(pthread_self(), "mplog-pipeline");
	for (;;) {
		int n = pipeline_drain(r);

		pipeline_sync();
		pipeline_to_pass(r);
		pipeline_mark_synced(r);
		pipeline_flush_check(r);
		if (shim.multiline && multiline_pending(&pl.ml))
			multiline_flush(&pl.ml, shim_now_real() - MULTILINE_GAP_NS, 0,
			    pipeline_emit, NULL);
		if (n > 0)
			last = seg_now_mono();
		/* A full drain: records are waiting, go on at once. Fewer: we
		 * caught up with the pushers; let them get ahead first. */
		if (n == PIPELINE_DRAIN || pipeline_linger(r))
			continue;
		if (pl.stuck_checks == 0 && seg_now_mono() - last < PIPELINE_ACTIVE_NS) {
			heapring_nap(r, PIPELINE_NAP_NS);
			continue;
		}
		pipeline_idle(r);
		heapring_sleep(r, pl.stuck_checks != 0 ? PIPELINE_STUCK_NS :
		    shim.multiline && multiline_pending(&pl.ml) ? MULTILINE_GAP_NS :
		    PIPELINE_IDLE_NS);
	}
	return NULL;
}

/* No thread could be made: pass everything queued through, here, and
 * stop capturing (nobody would read the ring). */
static void
pipeline_inline(struct heapring *r)
{
	const struct heapring_rec *rec;
	int stuck;

	shim_off();
	while ((rec = heapring_peek(r, &stuck)) != NULL) {
		const char *text = rec->data;
		uint32_t n = rec->len;

		if (rec->kind == HEAPRING_SNAP || rec->kind == HEAPRING_ESNAP)
			text = pipeline_snap_format(rec->data, rec->len, 0,
			    rec->kind == HEAPRING_SNAP, &n);
		if (text != NULL)
			pipeline_pass(pipeline_source(rec->kind), rec->pri, 1, text, n);
		heapring_pop(r, rec);
	}
}

void
pipeline_ensure(void)
{
	struct heapring *r;
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t t;
	int expect = 0, rc;

	/* Every push comes here: one relaxed load when the thread runs (the
	 * caller reads nothing the thread wrote). */
	if (atomic_load_explicit(&pl.started, memory_order_relaxed))
		return;
	/* Pairs with the CAS that published the ring in capture_ring(). */
	r = atomic_load_explicit(&shim.ring, memory_order_acquire);
	if (r == NULL)
		return;
	/* A vfork child shares our memory but not our threads: a thread it
	 * started would die with it, leaving the parent's ring unread. */
	if (!shim_ours())
		return;
	if (!atomic_compare_exchange_strong_explicit(&pl.started, &expect, 1,
	    memory_order_acq_rel, memory_order_relaxed))
		return;
	/* From now on the process has lines to lose: let every signal that
	 * would end it deliver them first (sigdisp.h). In the caller's
	 * thread, so that the first line is covered when the hook returns. */
	sigdisp_arm(SIGDISP_END);
	/*
	 * Read in the caller's thread, where it cannot race the program: the
	 * thread must open no descriptor, or it could take the number of one
	 * the program has just closed (fd 2) before the program reopens it.
	 */
	pl.start = procid_start(getpid());
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	rc = pthread_create(&t, &attr, pipeline_main, r);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		shim_debug("cannot start the pipeline thread", NULL, rc);
		pipeline_inline(r);
		return;
	}
}

void
pipeline_flush_sync(void)
{
	pipeline_flush(1);
}

void
pipeline_publish_sync(void)
{
	struct heapring *r = atomic_load_explicit(&shim.ring, memory_order_acquire);

	/* Nothing pushed since the pipeline last had everything in the
	 * lane: no round trip (fork asks at every call). Acquire on synced
	 * pairs with the release in pipeline_mark_synced(); head is relaxed,
	 * as a record claimed after the load is not ours to wait for. */
	if (r == NULL || atomic_load_explicit(&r->head, memory_order_relaxed) ==
	    atomic_load_explicit(&pl.synced, memory_order_acquire))
		return;
	pipeline_flush(0);
}

static void pipeline_flush_wait(int whole);

/* Wait, bounded, until everything pushed so far is in the lane; whole:
 * unfinished lines too (the process is ending). Called from hooks (exit,
 * exec, fork, dlclose, a severe syslog record): errno is kept. */
static void
pipeline_flush(int whole)
{
	int saved = errno;

	pipeline_flush_wait(whole);
	errno = saved;
}

static void
pipeline_flush_wait(int whole)
{
	struct heapring *r = atomic_load_explicit(&shim.ring, memory_order_acquire);
	uint32_t req, done;
	uint64_t freed;
	int64_t since;

	if (r == NULL || !atomic_load_explicit(&pl.started, memory_order_acquire) ||
	    shim_on_pipeline)
		return;
	if (whole)
		atomic_fetch_add_explicit(&pl.whole_req, 1, memory_order_relaxed);
	req = atomic_fetch_add_explicit(&pl.flush_req, 1, memory_order_release) + 1;
	freed = atomic_load_explicit(&r->freed, memory_order_relaxed);
	since = seg_now_mono();
	heapring_wake(r);
	/* Pairs with the release in pipeline_flush_check(). */
	/* Until a flush at or after ours is done: another thread's later
	 * request may complete ours. */
	while ((int32_t)((done = atomic_load_explicit(&pl.flush_done, memory_order_acquire)) -
	    req) < 0) {
		futex_wait(&pl.flush_done, done, 10 * 1000000LL);
		uint64_t f = atomic_load_explicit(&r->freed, memory_order_relaxed);
		if (f != freed) {
			freed = f;
			since = seg_now_mono();
		} else if (seg_now_mono() - since > PIPELINE_FLUSH_NS) {
			return;
		}
	}
}

void
pipeline_wait_delivered(int64_t bound_ns)
{
	/* Pairs with the release in pipeline_lease(). */
	struct lane_hdr *h = atomic_load_explicit(&pl.shown, memory_order_acquire);
	struct seg *s = shim_seg();
	int64_t until = seg_now_mono() + bound_ns;
	uint64_t want;

	if (h == NULL || s == NULL || shim_on_pipeline)
		return;
	/* Acquire pairs with the release in lane_publish(). */
	want = atomic_load_explicit(&h->head, memory_order_acquire);
	while (seg_now_mono() < until && seg_consumer_live(s)) {
		uint32_t room = atomic_load_explicit(&h->room, memory_order_relaxed);

		/* seq_cst store then load, as in lane_wait_room(): pairs with
		 * lane_done(), which wakes every waiter once it sees waiting. */
		atomic_fetch_or_explicit(&h->waiting, LANE_WAIT_DONE, memory_order_seq_cst);
		if (atomic_load_explicit(&h->done, memory_order_seq_cst) >= want)
			return;
		futex_wait(&h->room, room, 10 * 1000000LL);
	}
}

void
pipeline_atfork_child(void)
{
	struct heapring *r = atomic_load_explicit(&shim.ring, memory_order_relaxed);
	int attaching = SHIM_ATTACHING;

	/* The parent's thread does not exist here, and the parent delivers
	 * its own pending records: start from an empty ring and no lane. The
	 * child has one thread, so plain zeroing is safe. Unfinished lines are
	 * forgotten, not freed: the parent's thread may have been changing the
	 * table when fork() copied it. */
	memset(&pl, 0, sizeof(pl));
	if (r != NULL)
		heapring_reset(r);
	atomic_store_explicit(&shim.pid, getpid(), memory_order_relaxed);
	shim_forget_tid();
	atomic_compare_exchange_strong_explicit(&shim.state, &attaching, SHIM_UNINIT,
	    memory_order_relaxed, memory_order_relaxed);
	/* A lane handed over the socket is the parent's alone: the child asks
	 * for its own at its first line. */
	if (shim_seg() != NULL && shim_seg()->own_lane != NULL)
		atomic_store_explicit(&shim.state, SHIM_UNINIT, memory_order_relaxed);
}
