/* consumer.c - read, merge and deliver the records of every lane. */
#include "consumer.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "procid.h"
#include "snap.h"

/*
 * An existing segment at name: owned by a live mplogd (EBUSY), stale and
 * laid out as params ask (adopted into c->seg: its lanes, names and
 * waiting records are kept), or stale and different (unlinked; the
 * producers attached to it pass their records through).
 */
static int
consumer_replace_stale(struct consumer *c, const char *name,
    const struct seg_params *params, pid_t *owner)
{
	struct seg old;

	if (seg_attach(&old, name) == -1) {
		if (errno == EPROTO || errno == EBADMSG)
			errno = EEXIST;
		return -1;
	}
	/* RUNNING, or STARTING (being built): busy while its creator lives.
	 * Acquire pairs with the release in seg_consumer_start(): a RUNNING
	 * segment's consumer pid and start time are those we read next. */
	if (atomic_load_explicit(&old.meta->state, memory_order_acquire) != SEG_STATE_CLOSED &&
	    seg_consumer_exists(&old)) {
		*owner = atomic_load_explicit(&old.meta->consumer_pid, memory_order_relaxed);
		seg_detach(&old);
		errno = EBUSY;
		return -1;
	}
	if (seg_adopt(&old, params) == 0) {
		c->adopted_from = atomic_load_explicit(&old.meta->consumer_pid, memory_order_relaxed);
		c->seg = old;
		c->adopted = 1;
		return 0;
	}
	seg_detach(&old);
	return shm_unlink(name);
}

uint32_t
consumer_lanes_max(const struct consumer *c)
{
	return c->seg.lane_count + LANESRV_LANES_MAX;
}

/* The lanes to look at now: the segment's, then the server's in use. */
static uint32_t
consumer_nlanes(const struct consumer *c)
{
	return c->seg.lane_count + (c->srv != NULL ? lanesrv_count(c->srv) : 0);
}

/* The server's lane behind lane i, or NULL (a segment lane, or unused). */
static struct lanesrv_lane *
consumer_srv_lane(const struct consumer *c, uint32_t i)
{
	return i < c->seg.lane_count ? NULL : lanesrv_lane(c->srv, i - c->seg.lane_count);
}

/* Lane i's header; NULL for a server's lane that is not in use. */
static struct lane_hdr *
consumer_hdr(const struct consumer *c, uint32_t i)
{
	struct lanesrv_lane *l;

	if (i < c->seg.lane_count)
		return seg_lane(&c->seg, i);
	l = consumer_srv_lane(c, i);
	return l != NULL ? l->hdr : NULL;
}

/* Allocate the per-lane arrays. */
static int
consumer_alloc(struct consumer *c)
{
	uint32_t n = consumer_lanes_max(c);

	c->cands = calloc(n, sizeof(*c->cands));
	c->seen_head = calloc(n, sizeof(*c->seen_head));
	c->msg = malloc(LANE_PAYLOAD_MAX);
	c->text = malloc(LANE_MSG_MAX + 1);
	return c->cands && c->seen_head && c->msg && c->text ? 0 : -1;
}

int
consumer_open(struct consumer *c, const char *name, const struct seg_params *params,
    pid_t *owner)
{
	int tries = 0;

	memset(c, 0, sizeof(*c));
	while (seg_create(&c->seg, name, params) == -1) {
		if (errno != EEXIST || tries++ > 0)
			return -1;
		if (consumer_replace_stale(c, name, params, owner) == -1)
			return -1;
		if (c->adopted)
			break;
	}
	if (consumer_alloc(c) == -1) {
		consumer_close(c);
		errno = ENOMEM;
		return -1;
	}
	c->me = procid_pack(getpid(), procid_start(getpid()));
	tsc_clock_init(&c->clock);
	seg_consumer_start(&c->seg);
	return 0;
}

int
consumer_listen(struct consumer *c, const char *path, mode_t mode, uint32_t per_uid,
    const struct lanesrv_who *who)
{
	struct lanesrv *s = calloc(1, sizeof(*s));
	int saved;

	if (s == NULL)
		return -1;
	if (lanesrv_open(s, path, mode, &c->seg, per_uid, who) == 0) {
		c->srv = s;
		tsc_publish(&s->ctl.config->tsc, &c->clock);
		return 0;
	}
	saved = errno;
	free(s);
	errno = saved;
	return -1;
}

/* The TSC's line, to the segment's producers and the server's. */
static void
consumer_publish_clock(struct consumer *c)
{
	tsc_publish(&c->seg.config->tsc, &c->clock);
	if (c->srv != NULL)
		tsc_publish(&c->srv->ctl.config->tsc, &c->clock);
}

/* The heartbeat, in the segment and in the control page handed out with
 * the server's lanes; and the TSC's line when there is a new one. */
void
consumer_beat(struct consumer *c)
{
	/* Acquire pairs with the release bump in mplogctl: the level the
	 * mirror reads is at least that version's. */
	uint32_t version = atomic_load_explicit(&c->seg.config->version, memory_order_acquire);

	seg_heartbeat(&c->seg);
	if (tsc_clock_tick(&c->clock, seg_now_mono()))
		consumer_publish_clock(c);
	if (c->srv != NULL)
		seg_ctl_mirror(&c->srv->ctl, &c->seg);
	seg_set_mirrored(&c->seg, version);
}

/*
 * Each claimed record has been written, or (a sink failing) sits in that
 * sink's bounded retry buffer. Only we move tail in the lanes we hold,
 * and every record we claimed went to the sinks before this call.
 */
void
consumer_flush(struct consumer *c)
{
	for (size_t i = 0; i < c->nsinks; i++)
		sink_flush(&c->sinks[i]);
	for (uint32_t i = 0, n = consumer_nlanes(c); i < n; i++) {
		struct lane_hdr *hdr = consumer_hdr(c, i);

		if (hdr != NULL && lane_reader(hdr) == c->me)
			/* Relaxed: we are the only party moving tail. */
			lane_done_lazy(hdr, atomic_load_explicit(&hdr->tail, memory_order_relaxed),
			    c->seg.lane_size);
	}
}

/* Has a sink held a byte for the flush interval? (mplogd is busy: when
 * idle, it flushes before it sleeps.) */
static int
consumer_flush_due(const struct consumer *c)
{
	int64_t now = seg_now_mono();

	for (size_t i = 0; i < c->nsinks; i++)
		if (sink_age(&c->sinks[i], now) >= c->flush_ns)
			return 1;
	return 0;
}

void
consumer_reopen(struct consumer *c)
{
	consumer_flush(c);
	for (size_t i = 0; i < c->nsinks; i++)
		sink_reopen(&c->sinks[i]);
}

/* Deliver r to every sink; flush them all once one has enough. */
static void
consumer_deliver(struct consumer *c, const struct fmt_record *r)
{
	int full = 0;

	for (size_t i = 0; i < c->nsinks; i++) {
		sink_put(&c->sinks[i], r);
		full |= sink_full(&c->sinks[i]);
	}
	c->records++;
	if (full)
		consumer_flush(c);
}

void
consumer_note(struct consumer *c, unsigned sev, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	struct fmt_record r = {
		.ts_ns = (uint64_t)seg_now_real(), .pid = getpid(), .tid = gettid(),
		.source = LANE_SRC_MPLOG, .facility = LOG_DAEMON >> 3, .severity = (uint8_t)sev,
		.proc = "mplogd", .ident = NULL, .msg = msg,
		.msg_len = n < 0 ? 0 : (size_t)n >= sizeof(msg) ? sizeof(msg) - 1 : (size_t)n,
	};
	consumer_deliver(c, &r);
}

/* Copy len bytes of a name that came with a record into out, ending it
 * at its first NUL; 0 when it is empty. */
static size_t
consumer_name(const char *p, uint8_t len, char out[SEG_NAME_MAX])
{
	const char *nul = len > 0 ? memchr(p, '\0', len) : NULL;
	size_t n = nul != NULL ? (size_t)(nul - p) : len;

	memcpy(out, p, n);
	out[n] = '\0';
	return n;
}

/* The name of a record's process: the one it carries (at name, its copy),
 * else /proc, else "?"; its length. */
static size_t
consumer_proc_name(const struct lane_rec *rec, const char *name, char out[SEG_NAME_MAX])
{
	size_t n = consumer_name(name, rec->name_len, out);

	if (n > 0)
		return n;
	if (procid_comm(rec->pid, out, SEG_NAME_MAX) == 0)
		return strlen(out);
	return (size_t)snprintf(out, SEG_NAME_MAX, "?");
}

/* Deliver the count of a process's records the rate limit suppressed. */
static void
consumer_suppressed(struct consumer *c, const struct ratelimit_report *rep)
{
	char msg[128];
	int n = snprintf(msg, sizeof(msg), "mplog: %llu lines suppressed by the rate limit "
	    "(%u per %lld ms)", (unsigned long long)rep->suppressed, c->rate.burst,
	    (long long)(c->rate.interval_ns / 1000000));
	struct fmt_record r = {
		.ts_ns = (uint64_t)seg_now_real(), .pid = rep->pid, .tid = rep->pid,
		.source = LANE_SRC_MPLOG, .facility = LOG_DAEMON >> 3, .severity = LOG_WARNING,
		.proc = rep->proc, .msg = msg, .msg_len = (size_t)n,
	};

	consumer_deliver(c, &r);
}

/* Does the rate limit let r, read from lane i, through? (It may deliver
 * a count of suppressed records first.) */
static int
consumer_limit(struct consumer *c, uint32_t i, const struct fmt_record *r)
{
	struct ratelimit_report rep;
	int keep;

	if (c->rate.burst == 0 || r->source == LANE_SRC_MPLOG)
		return 1;
	keep = ratelimit_take(&c->rate, i, r->pid, r->proc, seg_now_mono(), &rep);
	if (rep.suppressed > 0)
		consumer_suppressed(c, &rep);
	return keep;
}

/* Deliver the counts of the rate limit's windows over at now. */
static void
consumer_limit_sweep(struct consumer *c, int64_t now)
{
	struct ratelimit_report rep;

	for (uint32_t i = 0; ratelimit_sweep(&c->rate, &i, now, &rep); i++)
		consumer_suppressed(c, &rep);
}

/* Count one damage report, ours and the segment's (mplogctl shows it).
 * Relaxed: a statistic; nothing is ordered by it. */
static void
consumer_count_damage(struct consumer *c)
{
	c->damaged++;
	atomic_fetch_add_explicit(&c->seg.meta->damaged, 1, memory_order_relaxed);
}

/* A syslog record sent as a snapshot (shm/snap.h): format it, as
 * syslog(3) would have at the call, into c->text. -1 when it does not
 * add up (a scribbled lane): counted and reported. */
static int
consumer_snap(struct consumer *c, uint32_t i, struct fmt_record *r)
{
	int n = snap_format(r->msg, r->msg_len, c->text, LANE_MSG_MAX + 1);

	if (n == -1) {
		consumer_count_damage(c);
		consumer_note(c, LOG_WARNING, "lane %u damaged: a syslog record of pid %d "
		    "skipped", i, (int)r->pid);
		return -1;
	}
	if (n > 0 && c->text[n - 1] == '\n')
		n--;
	r->msg = c->text;
	r->msg_len = (size_t)n;
	return 0;
}

/*
 * The process a record of a server's lane l speaks for: the lane's, as
 * the kernel named it, or a child of it that wrote before its exec (the
 * vfork case: the child shares its parent's memory, lane included).
 * Whatever pid else a record claims is not believed; nor a tid that
 * cannot be one.
 */
static void
consumer_vouch(const struct lanesrv_lane *l, struct lane_rec *rec)
{
	if (rec->pid != l->pid && (rec->pid <= 0 || procid_parent(rec->pid) != l->pid))
		rec->pid = l->pid;
	if (rec->tid <= 0)
		rec->tid = rec->pid;
}

/* Copy the record of v out of lane i, consume it, and deliver it. */
static void
consumer_emit(struct consumer *c, uint32_t i, const struct lane_view *v)
{
	struct lane_hdr *hdr = consumer_hdr(c, i);
	struct lanesrv_lane *l = consumer_srv_lane(c, i);
	char proc[SEG_NAME_MAX], ident[SEG_NAME_MAX], thread[SEG_NAME_MAX];
	const char *names = c->msg + v->msg_len;
	size_t proc_len, ident_len, thread_len;
	struct lane_rec rec = v->rec;

	/* The message and its names, checked by lane_peek() to fit. */
	memcpy(c->msg, v->msg, v->msg_len + lane_rec_names(&v->rec));
	if (lane_claim(hdr, v) == -1)
		return;         /* moved under us: only a scribbled lane does that */
	if (l != NULL)
		consumer_vouch(l, &rec);
	proc_len = consumer_proc_name(&rec, names, proc);
	ident_len = consumer_name(names + v->rec.name_len, v->rec.ident_len, ident);
	thread_len = consumer_name(names + v->rec.name_len + v->rec.ident_len,
	    v->rec.thread_len, thread);
	struct fmt_record r = {
		.ts_ns = v->rec.ts_ns, .pid = rec.pid, .tid = rec.tid,
		.source = v->rec.source, .facility = (uint8_t)(v->rec.pri >> 3),
		.severity = v->rec.pri & 7, .proc = proc,
		.ident = ident_len > 0 ? ident : NULL, .msg = c->msg, .msg_len = v->msg_len,
		.continued = (v->rec.flags & LANE_F_SPLIT) != 0,
		.thread = thread_len > 0 ? thread : NULL,
		.multiline = (v->rec.flags & LANE_F_MULTI) != 0,
		.proc_len = proc_len, .ident_len = ident_len, .thread_len = thread_len,
	};
	if (l != NULL) {
		r.has_cred = 1;
		r.uid = l->uid;
		r.gid = l->gid;
	}
	if ((v->rec.flags & LANE_F_SNAP) && consumer_snap(c, i, &r) == -1)
		return;
	if (consumer_limit(c, i, &r))
		consumer_deliver(c, &r);
}

/* Skip a damaged lane to its head and say so. */
static void
consumer_damaged(struct consumer *c, uint32_t i, struct lane_view *v)
{
	struct lane_hdr *hdr = consumer_hdr(c, i);
	uint64_t lost = v->next - v->pos;

	if (v->next < v->pos || v->next - v->pos > c->seg.lane_size)
		lost = 0;       /* head itself is garbage: count the lane only */
	if (lane_claim(hdr, v) == -1)
		return;
	consumer_count_damage(c);
	consumer_note(c, LOG_WARNING, "lane %u damaged: skipped %llu bytes", i,
	    (unsigned long long)lost);
}

/*
 * Hold lane i's reading side: 1 when we do. We take it from nobody, or
 * from a holder that is dead (an mplogd we replace, or a producer killed
 * while taking its records back); a live holder keeps it.
 */
static int
consumer_hold(struct consumer *c, struct lane_hdr *hdr)
{
	uint64_t r = lane_reader(hdr);

	if (r == c->me)
		return 1;
	if (r != 0 && procid_alive(r))
		return 0;
	return lane_seize(hdr, r, c->me) == 0;
}

/*
 * Did a reader that is not us claim records of hdr and not deliver them
 * (an mplogd killed between the two)? Holding the lane then rewinds tail
 * to done, and they are read again, even if nothing new is published.
 */
static int
consumer_undelivered(const struct consumer *c, struct lane_hdr *hdr)
{
	/* Relaxed: a hint; consumer_hold() and lane_peek() order what they
	 * read. */
	return lane_reader(hdr) != c->me &&
	    atomic_load_explicit(&hdr->done, memory_order_relaxed) <
	    atomic_load_explicit(&hdr->tail, memory_order_relaxed);
}

/* Look at lane i's first record; 1 when there is one in *cand. */
static int
consumer_peek(struct consumer *c, uint32_t i, struct consumer_cand *cand)
{
	struct lane_hdr *hdr = consumer_hdr(c, i);
	char *data = (char *)(hdr + 1);

	if (hdr == NULL)
		return 0;
	/* A lane we read already needs no look at its used bytes and holder:
	 * lane_peek sees an empty one. */
	if (lane_reader(hdr) != c->me && ((lane_used(hdr) == 0 &&
	    !consumer_undelivered(c, hdr)) || !consumer_hold(c, hdr)))
		return 0;
	for (int tries = 0; tries < 4; tries++) {
		int r = lane_peek(hdr, data, c->seg.lane_size, &cand->view);

		if (r == 1) {
			cand->lane = i;
			return 1;
		}
		if (r == 0)
			return 0;
		consumer_damaged(c, i, &cand->view);
	}
	return 0;
}

/* Say that the server refused lanes since we last looked. */
static void
consumer_report_refusals(struct consumer *c)
{
	struct lanesrv_refusal r;

	if (lanesrv_refused(c->srv) == c->refusals)
		return;
	r = lanesrv_refusals(c->srv);
	if (r.why == EDQUOT || r.why == EAGAIN || r.why == EACCES || r.why == EPROTO)
		consumer_note(c, LOG_WARNING, "refused a lane to %llu process(es); the last, "
		    "pid %d of uid %u: %s; its lines go where they would without mplog",
		    (unsigned long long)(r.count - c->refusals), (int)r.pid, (unsigned)r.uid,
		    r.why == EDQUOT ? "the user has all the lanes one user may have" :
		    r.why == EAGAIN ? "every lane is taken" :
		    r.why == EACCES ? "this instance serves another user" :
		    "its handshake did not add up");
	else
		consumer_note(c, LOG_WARNING, "could not make a lane for %llu process(es); the "
		    "last, pid %d of uid %u: %s; it writes into the segment if it may, else "
		    "its lines go where they would without mplog",
		    (unsigned long long)(r.count - c->refusals), (int)r.pid, (unsigned)r.uid,
		    strerror(r.why));
	c->refusals = r.count;
}

/* Give the server back the lanes of processes that are gone, once every
 * record in them is delivered. */
static void
consumer_reap_srv(struct consumer *c)
{
	for (uint32_t i = c->seg.lane_count, n = consumer_nlanes(c); i < n; i++) {
		struct lanesrv_lane *l = consumer_srv_lane(c, i);

		/* Acquire: the state GONE was stored with release after the
		 * peer's last publication could have happened (it exited). */
		if (l == NULL || atomic_load_explicit(&l->state, memory_order_acquire) !=
		    LANESRV_GONE || lane_used(l->hdr) != 0 || consumer_undelivered(c, l->hdr) ||
		    atomic_load_explicit(&l->hdr->done, memory_order_relaxed) !=
		    atomic_load_explicit(&l->hdr->head, memory_order_acquire))
			continue;
		lanesrv_retire(c->srv, i - c->seg.lane_count);
	}
}

/* Give back lanes whose owner died, once they are drained. */
static void
consumer_reap(struct consumer *c)
{
	int64_t now = seg_now_mono();

	if (now < c->next_reap)
		return;
	c->next_reap = now + CONSUMER_REAP_NS;
	consumer_limit_sweep(c, now);
	for (uint32_t i = 0; i < c->seg.lane_count; i++) {
		struct lane_hdr *hdr = seg_lane(&c->seg, i);
		uint64_t owner = atomic_load_explicit(&hdr->owner, memory_order_relaxed);

		if (owner == 0 || lane_used(hdr) != 0 || procid_alive(owner))
			continue;
		/* Release pairs with the acquire in lane_lease(). */
		atomic_compare_exchange_strong_explicit(&hdr->owner, &owner, 0,
		    memory_order_release, memory_order_relaxed);
	}
}

/* Gather each lane's first record; returns how many lanes have one. */
static uint32_t
consumer_gather(struct consumer *c)
{
	uint32_t n = 0;

	for (uint32_t i = 0, lanes = consumer_nlanes(c); i < lanes; i++) {
		struct lane_hdr *hdr = consumer_hdr(c, i);

		/* Relaxed: only compared in consumer_pending(); lane_peek()
		 * loads head again with acquire before reading records. */
		c->seen_head[i] = hdr == NULL ? 0 :
		    atomic_load_explicit(&hdr->head, memory_order_relaxed);
		if (consumer_peek(c, i, &c->cands[n]))
			n++;
	}
	return n;
}

/* Index of the candidate with the oldest timestamp. */
static uint32_t
consumer_oldest(const struct consumer *c, uint32_t n)
{
	uint32_t m = 0;

	for (uint32_t k = 1; k < n; k++)
		if (c->cands[k].view.rec.ts_ns < c->cands[m].view.rec.ts_ns)
			m = k;
	return m;
}

/*
 * May the oldest candidate go now, or must it wait for the window? An
 * older record may still be on its way in a process's heap ring, or in a
 * process that has not leased its lane yet (a parent that wrote just
 * before fork), so every record waits out the window unless its lane was
 * more than half full when it was peeked (the head lane_peek saw: no
 * second look at a line the producer writes).
 */
static int
consumer_due(const struct consumer *c, const struct consumer_cand *cand, int drain, int64_t now)
{
	return drain || (int64_t)cand->view.rec.ts_ns <= now - c->window_ns ||
	    cand->view.head - cand->view.pos > c->seg.lane_size / 2;
}

size_t
consumer_step(struct consumer *c, int drain)
{
	int64_t now = seg_now_real();
	size_t done = 0;
	uint32_t n = consumer_gather(c);

	c->wait_until = 0;
	while (n > 0 && done < CONSUMER_STEP_MAX) {
		uint32_t m = consumer_oldest(c, n);
		struct consumer_cand *cand = &c->cands[m];

		if (!consumer_due(c, cand, drain, now)) {
			/* A time near INT64_MAX (a scribbled record's) would
			 * overflow: the wait saturates. */
			int64_t ts = (int64_t)cand->view.rec.ts_ns;

			c->wait_until = ts > INT64_MAX - c->window_ns ? INT64_MAX : ts + c->window_ns;
			break;
		}
		consumer_emit(c, cand->lane, &cand->view);
		done++;
		if (!consumer_peek(c, cand->lane, cand))
			c->cands[m] = c->cands[--n];
	}
	consumer_reap(c);
	if (c->srv != NULL) {
		consumer_reap_srv(c);
		consumer_report_refusals(c);
	}
	if (consumer_flush_due(c))
		consumer_flush(c);
	if (done > 0)
		c->active = seg_now_mono();
	return done;
}

/* seg_consumer_sleep's question: did any lane move since we looked? */
static int
consumer_pending(void *arg)
{
	struct consumer *c = arg;

	for (uint32_t i = 0, n = consumer_nlanes(c); i < n; i++) {
		struct lane_hdr *hdr = consumer_hdr(c, i);

		/* Relaxed after the fence in seg_consumer_sleep(), which pairs
		 * with the one in seg_wake_consumer(): a head published before
		 * the producer saw us awake is seen here. */
		if (hdr != NULL && atomic_load_explicit(&hdr->head, memory_order_relaxed) !=
		    c->seen_head[i])
			return 1;
	}
	return 0;
}

void
consumer_sleep(struct consumer *c)
{
	int64_t timeout = SEG_HEARTBEAT_NS;
	int nap = seg_now_mono() - c->active < CONSUMER_ACTIVE_NS;

	if (nap)
		timeout = CONSUMER_NAP_NS;
	if (c->wait_until != 0) {
		int64_t due = c->wait_until - seg_now_real();

		timeout = due < 0 ? 0 : due < timeout ? due + 1000000 : timeout;
	}
	consumer_flush(c);
	if (timeout > 0 && nap)
		seg_consumer_nap(&c->seg, timeout);
	else if (timeout > 0)
		seg_consumer_sleep2(&c->seg, c->srv != NULL ? &c->srv->ctl : NULL, timeout,
		    consumer_pending, c);
	consumer_beat(c);
}

void
consumer_finish(struct consumer *c)
{
	int64_t until = seg_now_mono() + CONSUMER_DRAIN_NS;

	/* Take everything published; stop when a pass finds nothing, or at
	 * the bound, since a process that outlives the command may write on
	 * for ever: what is left it takes back and writes through itself. */
	while (consumer_step(c, 1) > 0 && seg_now_mono() < until)
		consumer_beat(c);
	seg_consumer_close(&c->seg);
	consumer_beat(c);
	/* A producer that published before it saw CLOSED: the CAS on tail
	 * decides between us and its own take-back. */
	while (consumer_step(c, 1) > 0 && seg_now_mono() < until)
		;
	consumer_limit_sweep(c, INT64_MAX);
	consumer_flush(c);
	/* Everything we claimed is delivered: producers may now take back
	 * what was published after our last look. */
	for (uint32_t i = 0, n = consumer_nlanes(c); i < n; i++)
		if (consumer_hdr(c, i) != NULL)
			lane_release(consumer_hdr(c, i), c->me);
}

int
consumer_replace_segment(struct consumer *c, const char *name, const struct seg_params *params)
{
	int64_t until = seg_now_mono() + CONSUMER_DRAIN_NS;
	struct seg fresh;

	/* Deliver what is readable; then the segment's producers pass
	 * through (CLOSED) and look for the name again, which we free: it
	 * names our object still, truncated or not. */
	while (consumer_step(c, 1) > 0 && seg_now_mono() < until)
		consumer_beat(c);
	consumer_flush(c);
	seg_consumer_close(&c->seg);
	for (uint32_t i = 0; i < c->seg.lane_count; i++)
		lane_release(seg_lane(&c->seg, i), c->me);
	seg_unlink_own(&c->seg);
	if (seg_create(&fresh, name, params) == -1)
		return -1;
	seg_detach(&c->seg);
	c->seg = fresh;
	seg_consumer_start(&c->seg);
	consumer_publish_clock(c);
	consumer_beat(c);
	return 0;
}

void
consumer_close(struct consumer *c)
{
	if (c->srv != NULL) {
		lanesrv_close(c->srv);
		free(c->srv);
		c->srv = NULL;
	}
	if (c->seg.meta != NULL) {
		seg_unlink_own(&c->seg);
		seg_detach(&c->seg);
	}
	free(c->cands);
	free(c->seen_head);
	free(c->msg);
	free(c->text);
	c->text = NULL;
	c->cands = NULL;
	c->seen_head = NULL;
	c->msg = NULL;
}
