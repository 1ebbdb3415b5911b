/*
 * stress.c - mplog's concurrency core as threads of one process, for
 * make tsan: ThreadSanitizer sees no race between processes, and
 * Criterion, which runs the unit tests, cannot run under it. The same
 * parts as test_heapring.c and test_lane.c, and the shim's ident table,
 * race here, with
 * the real protocols of the shim, its pipeline thread and mplogd.
 *
 * Every record is self-checking: writer id, length, sequence number, a
 * pattern drawn from them and an FNV-1a checksum of all before it. Each
 * part's one reader verifies every record, and that each arrives exactly
 * once and in order per writer:
 *
 *   heapring  four pusher threads (the application's) and the pipeline's
 *             reader on one heap ring. Pushers meet a full ring and wait
 *             for room; the reader sleeps when the ring is empty and is
 *             woken by pushes. One pusher now and then waits between claim
 *             and publish, and the reader abandons a claim it finds stuck
 *             at the tail, as the pipeline does: that publish then fails,
 *             and exactly the records whose publish failed never arrive.
 *   lane      a writer thread (the pipeline) and a reader thread (mplogd,
 *             holding the reading side) on a lane of a private segment.
 *             The writer waits for room, the reader sleeps as the consumer
 *             and is woken by publishes, and gives bytes back (lane_done)
 *             only once it has copied a record, a batch at a time.
 *   idents    four threads add the idents of one pool (openlog) while a
 *             fifth looks every index up (the pipeline): an index, once it
 *             has a name, holds a whole ident of the pool, always the same
 *             one; each ident gets one index, whoever adds it.
 *
 * Exit status 0 when everything holds, 1 with the failures on stderr; a
 * sanitizer report fails the run through the sanitizer's own exit code.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "heapring.h"
#include "idents.h"
#include "lane.h"
#include "procid.h"
#include "seg.h"
#include "hosts/checksum.h"
#include "prng.h"

#define STRESS_MS       INT64_C(1000000)
#define STRESS_WRITERS  4

static _Atomic int stress_failures;

/* Report a failure; the run goes on, to report every part. */
static void __attribute__((format(printf, 1, 2)))
stress_fail(const char *fmt, ...)
{
	va_list ap;

	atomic_fetch_add_explicit(&stress_failures, 1, memory_order_relaxed);
	fputs("stress: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
stress_sleep_ns(int64_t ns)
{
	struct timespec ts = { ns / 1000000000, ns % 1000000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* ---- self-checking records ----------------------------------------- */

struct stress_head {
	uint32_t writer;
	uint32_t len;
	uint64_t seq;
};

#define STRESS_MIN_LEN  ((uint32_t)sizeof(struct stress_head) + 4)

/* Length of record seq of writer: mostly short, now and then long. */
static uint32_t
stress_len(uint32_t writer, uint64_t seq, uint32_t max)
{
	uint64_t x = prng_mix((uint64_t)writer << 48 ^ seq);

	if (x % 61 == 0)
		return STRESS_MIN_LEN + (uint32_t)(x >> 8) % (max - STRESS_MIN_LEN + 1);
	return STRESS_MIN_LEN + (uint32_t)(x >> 8) % 200;
}

/* Write record seq of writer, len bytes, into p. */
static void
stress_fill(unsigned char *p, uint32_t writer, uint64_t seq, uint32_t len)
{
	struct stress_head h = { writer, len, seq };
	uint64_t x = prng_mix(seq ^ (uint64_t)writer << 32);
	unsigned sum;

	memcpy(p, &h, sizeof(h));
	for (uint32_t i = sizeof(h); i < len - 4; i++)
		p[i] = (unsigned char)(x + i * 131u);
	sum = checksum_fnv((const char *)p, len - 4);
	memcpy(p + len - 4, &sum, 4);
}

/* Check a record of len bytes as written by stress_fill; NULL when good,
 * else what is wrong. *h gets its header. */
static const char *
stress_check(const unsigned char *p, uint32_t len, struct stress_head *h)
{
	uint64_t x;
	unsigned sum;

	if (len < STRESS_MIN_LEN)
		return "too short";
	memcpy(h, p, sizeof(*h));
	if (h->len != len)
		return "length field";
	memcpy(&sum, p + len - 4, 4);
	if (sum != checksum_fnv((const char *)p, len - 4))
		return "checksum";
	x = prng_mix(h->seq ^ (uint64_t)h->writer << 32);
	for (uint32_t i = sizeof(*h); i < len - 4; i++)
		if (p[i] != (unsigned char)(x + i * 131u))
			return "pattern";
	return NULL;
}

/* ---- heapring ------------------------------------------------------- */

#define HR_PER_WRITER  60000
#define HR_SLOW        (STRESS_WRITERS - 1)     /* the writer slow to publish */
#define HR_STUCK_NS    (2 * STRESS_MS)          /* the reader abandons after */

struct hr_state {
	struct heapring *r;
	_Atomic uint32_t done;                  /* pushers finished */
	_Atomic uint8_t failed[STRESS_WRITERS][HR_PER_WRITER];  /* publishes that failed */
	uint64_t published[STRESS_WRITERS];     /* each pusher's own count */
	uint64_t eagain;                        /* full-ring retries (pushers) */
	uint64_t abandons;                      /* claims the reader gave up */
};

struct hr_pusher {
	struct hr_state *st;
	uint32_t writer;
};

static void *
hr_pusher_main(void *arg)
{
	struct hr_pusher *p = arg;
	struct hr_state *st = p->st;
	struct heapring *r = st->r;
	uint64_t eagain = 0;

	for (uint64_t seq = 0; seq < HR_PER_WRITER; seq++) {
		uint32_t len = stress_len(p->writer, seq, 12000);
		struct heapring_claim c;

		while (heapring_claim(r, len, &c) == -1) {
			if (errno != EAGAIN) {
				stress_fail("heapring: claim: %s", strerror(errno));
				goto out;
			}
			eagain++;
			heapring_wait_room(r, STRESS_MS);
		}
		stress_fill((unsigned char *)c.rec->data, p->writer, seq, len);
		c.rec->tid = (int32_t)p->writer;
		if (p->writer == HR_SLOW && seq % 500 == 499)
			stress_sleep_ns(2 * HR_STUCK_NS);
		if (heapring_publish(r, &c) == -1) {
			/* The reader gave the claim up (any pusher's, if it was
			 * descheduled long enough). Marked before our next
			 * publish, which the reader acquires: it sees the mark
			 * when it sees the gap. */
			atomic_store_explicit(&st->failed[p->writer][seq], 1, memory_order_relaxed);
			continue;
		}
		st->published[p->writer]++;
		if (heapring_reader_sleeps(r))
			heapring_wake(r);
	}
out:
	__atomic_fetch_add(&st->eagain, eagain, __ATOMIC_RELAXED);
	/* Release pairs with the reader's acquire: once it counts every
	 * pusher done, an empty ring is the end. The wake saves a reader
	 * that fell asleep just before from sleeping out its timeout. */
	atomic_fetch_add_explicit(&st->done, 1, memory_order_release);
	heapring_wake(r);
	return NULL;
}

/* The pipeline thread's side: verify and pop until every pusher is done. */
static void
hr_reader(struct hr_state *st)
{
	uint64_t next[STRESS_WRITERS] = { 0 }, got = 0, stuck_since = 0;
	struct heapring *r = st->r;

	for (;;) {
		uint32_t done = atomic_load_explicit(&st->done, memory_order_acquire);
		const struct heapring_rec *rec;
		struct stress_head h;
		const char *why;
		int stuck;

		rec = heapring_peek(r, &stuck);
		if (rec == NULL) {
			if (!stuck) {
				stuck_since = 0;
				if (done == STRESS_WRITERS)
					break;
				heapring_sleep(r, 10 * STRESS_MS);
				continue;
			}
			/* A claim at the tail is unpublished while later ones
			 * are: give it up once it stays so. */
			if (stuck_since == 0) {
				stuck_since = (uint64_t)seg_now_mono();
			} else if ((uint64_t)seg_now_mono() - stuck_since > HR_STUCK_NS) {
				heapring_abandon(r);
				st->abandons++;
				stuck_since = 0;
			}
			sched_yield();
			continue;
		}
		stuck_since = 0;
		why = stress_check((const unsigned char *)rec->data, rec->len, &h);
		if (why == NULL && (h.writer >= STRESS_WRITERS || rec->tid != (int32_t)h.writer))
			why = "writer";
		if (why != NULL) {
			stress_fail("heapring: record %" PRIu64 ": bad %s", got, why);
			return;
		}
		/* Records whose publish failed never come. */
		while (next[h.writer] < h.seq && atomic_load_explicit(
		    &st->failed[h.writer][next[h.writer]], memory_order_relaxed))
			next[h.writer]++;
		if (h.seq != next[h.writer]) {
			stress_fail("heapring: writer %u: record %" PRIu64 " where %" PRIu64
			    " was due", h.writer, h.seq, next[h.writer]);
			return;
		}
		next[h.writer]++;
		got++;
		heapring_pop(r, rec);
	}
	if (!heapring_empty(r))
		stress_fail("heapring: claims left after the pushers ended");
	for (uint32_t w = 0; w < STRESS_WRITERS; w++) {
		uint64_t failed = 0;

		for (uint64_t s = 0; s < HR_PER_WRITER; s++)
			failed += atomic_load_explicit(&st->failed[w][s], memory_order_relaxed);
		if (st->published[w] + failed != HR_PER_WRITER)
			stress_fail("heapring: writer %u published %" PRIu64 " and failed %"
			    PRIu64 " of %d", w, st->published[w], failed, HR_PER_WRITER);
	}
	printf("stress: heapring: %" PRIu64 " records, %" PRIu64 " full-ring retries, %"
	    PRIu64 " claims abandoned\n", got, st->eagain, st->abandons);
}

static void
stress_heapring(void)
{
	static struct hr_state st;
	struct hr_pusher p[STRESS_WRITERS];
	pthread_t t[STRESS_WRITERS];

	st.r = heapring_new();
	if (st.r == NULL) {
		stress_fail("heapring_new: %s", strerror(errno));
		return;
	}
	for (uint32_t i = 0; i < STRESS_WRITERS; i++) {
		p[i] = (struct hr_pusher){ &st, i };
		if (pthread_create(&t[i], NULL, hr_pusher_main, &p[i]) != 0) {
			stress_fail("pthread_create failed");
			exit(1);
		}
	}
	hr_reader(&st);
	for (uint32_t i = 0; i < STRESS_WRITERS; i++)
		pthread_join(t[i], NULL);
	if (st.abandons == 0)
		stress_fail("heapring: no claim was ever abandoned");
	if (st.eagain == 0)
		stress_fail("heapring: the ring was never full");
}

/* ---- lane ----------------------------------------------------------- */

#define LN_RECORDS  150000
#define LN_BATCH    16          /* records the reader holds before lane_done */

struct ln_state {
	struct seg seg;
	struct lane_hdr *hdr;
	uint64_t waits;                 /* the writer waited for room */
	uint64_t sleeps;                /* the reader slept */
};

/* seg_consumer_sleep's question: is anything published? */
static int
ln_pending(void *arg)
{
	struct ln_state *st = arg;

	return lane_used(st->hdr) != 0;
}

static void *
ln_writer_main(void *arg)
{
	struct ln_state *st = arg;
	uint64_t me = procid_pack(getpid(), procid_start(getpid()));
	struct lane_writer w;
	uint64_t waits = 0;

	if (lane_lease(&st->seg, me, &w) == -1) {
		stress_fail("lane: lease: %s", strerror(errno));
		return NULL;
	}
	for (uint64_t seq = 0; seq < LN_RECORDS; seq++) {
		uint32_t len = stress_len(0, seq, LANE_MSG_MAX);
		struct lane_rec *rec;

		while ((rec = lane_reserve(&w, len)) == NULL) {
			lane_publish(&w);
			seg_wake_consumer(&st->seg);
			lane_wait_room(&w, len, 10 * STRESS_MS);
			waits++;
		}
		rec->pid = (int32_t)getpid();
		rec->ts_ns = seq;
		stress_fill((unsigned char *)lane_rec_msg(rec), 0, seq, len);
		lane_commit(&w, rec);
		if (seq % 7 == 0) {
			lane_publish(&w);
			seg_wake_consumer(&st->seg);
		}
	}
	lane_publish(&w);
	seg_wake_consumer(&st->seg);
	st->waits = waits;
	return NULL;
}

/* mplogd's side: hold the reading side, copy each record, and give the
 * bytes back a batch at a time. */
static void *
ln_reader_main(void *arg)
{
	struct ln_state *st = arg;
	uint64_t me = procid_pack(getpid(), procid_start(getpid())) + 1;
	unsigned char *copy = malloc(LANE_MSG_MAX);
	uint64_t next = 0, held = 0, sleeps = 0;

	if (copy == NULL || lane_seize(st->hdr, 0, me) == -1) {
		stress_fail("lane: cannot hold the reading side");
		free(copy);
		return NULL;
	}
	while (next < LN_RECORDS) {
		struct lane_view v;
		struct stress_head h;
		const char *why;
		int got = lane_peek(st->hdr, (const char *)(st->hdr + 1), st->seg.lane_size, &v);

		if (got == 0) {
			if (held != 0) {
				lane_done(st->hdr, atomic_load_explicit(&st->hdr->tail,
				    memory_order_relaxed));
				held = 0;
			}
			seg_consumer_sleep(&st->seg, 10 * STRESS_MS, ln_pending, st);
			sleeps++;
			continue;
		}
		if (got == -1) {
			stress_fail("lane: damage at %" PRIu64 " after record %" PRIu64, v.pos, next);
			break;
		}
		if (v.msg_len > LANE_MSG_MAX) {
			stress_fail("lane: record %" PRIu64 ": %u bytes", next, v.msg_len);
			break;
		}
		memcpy(copy, v.msg, v.msg_len);
		if (lane_claim(st->hdr, &v) == -1) {
			stress_fail("lane: record %" PRIu64 " claimed by another", next);
			break;
		}
		why = stress_check(copy, v.msg_len, &h);
		if (why == NULL && (h.writer != 0 || v.rec.ts_ns != h.seq))
			why = "header";
		if (why != NULL || h.seq != next) {
			stress_fail("lane: record %" PRIu64 ": %s (seq %" PRIu64 ")", next,
			    why != NULL ? why : "out of order", h.seq);
			break;
		}
		next++;
		if (++held == LN_BATCH) {
			lane_done(st->hdr, v.next);
			held = 0;
		}
	}
	lane_done(st->hdr, atomic_load_explicit(&st->hdr->tail, memory_order_relaxed));
	lane_release(st->hdr, me);
	st->sleeps = sleeps;
	free(copy);
	return NULL;
}

static void
stress_lane(void)
{
	static struct ln_state st;
	struct seg_params p = { .lane_count = 1, .lane_size = SEG_LANE_SIZE_MIN };
	char name[SEG_PATH_MAX];
	pthread_t tw, tr;

	snprintf(name, sizeof(name), "/mplog-stress-%d-lane", (int)getpid());
	if (seg_create(&st.seg, name, &p) == -1) {
		stress_fail("seg_create %s: %s", name, strerror(errno));
		return;
	}
	shm_unlink(name);
	st.hdr = seg_lane(&st.seg, 0);
	if (pthread_create(&tr, NULL, ln_reader_main, &st) != 0 ||
	    pthread_create(&tw, NULL, ln_writer_main, &st) != 0) {
		stress_fail("pthread_create failed");
		exit(1);
	}
	pthread_join(tw, NULL);
	pthread_join(tr, NULL);
	if (lane_used(st.hdr) != 0)
		stress_fail("lane: records left unread");
	if (st.waits == 0)
		stress_fail("lane: the writer never waited for room");
	printf("stress: lane: %d records, the writer waited %" PRIu64 " times, the "
	    "reader slept %" PRIu64 " times\n", LN_RECORDS, st.waits, st.sleeps);
	seg_detach(&st.seg);
}

/* ---- idents -------------------------------------------------------- */

#define ID_POOL     12          /* each thread adds the whole pool */
#define ID_ROUNDS   200

struct id_state {
	_Atomic uint32_t done;
	_Atomic uint32_t seen[IDENTS_MAX];      /* index -> pool entry + 1 */
	uint64_t lookups;
};

static void
id_name(uint32_t i, char *buf, size_t len)
{
	snprintf(buf, len, "ident-%02u-%0*u", i, (int)(i % 20), i);
}

/* One pool entry per index, whoever added it. */
static void
id_note(struct id_state *st, uint16_t idx, uint32_t entry)
{
	uint32_t expect = 0;

	if (!atomic_compare_exchange_strong(&st->seen[idx], &expect, entry + 1) &&
	    expect != entry + 1)
		stress_fail("idents: index %u holds entries %u and %u", idx, expect - 1, entry);
}

static void *
id_adder_main(void *arg)
{
	struct id_state *st = arg;
	char want[SEG_NAME_MAX];
	const char *got;

	for (uint32_t round = 0; round < ID_ROUNDS; round++)
		for (uint32_t i = 0; i < ID_POOL; i++) {
			uint16_t idx;

			id_name(i, want, sizeof(want));
			idx = idents_add(want);
			if (idx == 0 || (got = idents_get(idx)) == NULL || strcmp(got, want) != 0) {
				stress_fail("idents: %s got index %u", want, idx);
				continue;
			}
			id_note(st, idx, i);
		}
	atomic_fetch_add(&st->done, 1);
	return NULL;
}

/* Look every index up while the adders run: a name, when there is one,
 * is a whole name of the pool. */
static void *
id_looker_main(void *arg)
{
	struct id_state *st = arg;
	char want[SEG_NAME_MAX];
	int last;

	do {
		last = atomic_load(&st->done) == STRESS_WRITERS;
		for (uint32_t idx = 1; idx < 4 * ID_POOL * STRESS_WRITERS; idx++) {
			const char *got = idents_get((uint16_t)idx);
			uint32_t i;

			if (got == NULL)
				continue;
			if (sscanf(got, "ident-%02u-", &i) != 1 || i >= ID_POOL ||
			    (id_name(i, want, sizeof(want)), strcmp(got, want) != 0))
				stress_fail("idents: index %u holds '%s'", idx, got);
			st->lookups++;
		}
	} while (!last);
	return NULL;
}

static void
stress_idents(void)
{
	static struct id_state st;
	pthread_t t[STRESS_WRITERS], tl;

	if (pthread_create(&tl, NULL, id_looker_main, &st) != 0) {
		stress_fail("pthread_create failed");
		exit(1);
	}
	for (uint32_t k = 0; k < STRESS_WRITERS; k++)
		if (pthread_create(&t[k], NULL, id_adder_main, &st) != 0) {
			stress_fail("pthread_create failed");
			exit(1);
		}
	for (uint32_t k = 0; k < STRESS_WRITERS; k++)
		pthread_join(t[k], NULL);
	pthread_join(tl, NULL);
	printf("stress: idents: %d threads x %d rounds of %d idents, %" PRIu64
	    " lookups meanwhile\n", STRESS_WRITERS, ID_ROUNDS, ID_POOL, st.lookups);
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	stress_heapring();
	stress_lane();
	stress_idents();
	if (atomic_load(&stress_failures) != 0) {
		fprintf(stderr, "stress: %d failures\n", atomic_load(&stress_failures));
		return 1;
	}
	printf("stress: all parts hold\n");
	return 0;
}
