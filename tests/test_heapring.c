/*
 * test_heapring.c - the per-process heap ring (preload/heapring.c).
 *
 * Checks that every header field and payload byte of a record survives
 * claim, publish, peek and pop, and that a record takes the slots its size
 * says; that a record of HEAPRING_DATA_MAX bytes fits, also where it starts
 * in the last slot of the array and runs into the overhang, and one byte
 * more is refused with EMSGSIZE; that over many laps of random sizes the
 * ring refuses a claim with EAGAIN exactly when the record does not fit
 * behind the reader, and takes it again once the reader pops; that peek
 * shows nothing on an empty ring, reports a stuck ring when the claim at
 * the tail is unpublished, and never shows a later record before it; that
 * heapring_abandon skips unpublished claims (whose publish then fails),
 * still delivers the published record after them, frees their slots, and
 * races cleanly with a publish; that heapring_reset empties the ring; that
 * a pusher waiting for room and a sleeping reader are woken; that four
 * producer threads' 500,000 self-checking records each reach one sleeping
 * consumer exactly once and in order; and that with records pushed from
 * signal handlers (nested, and interrupting a thread between its claim and
 * its publish) nothing deadlocks and every published record arrives once.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "heapring.h"
#include "hosts/checksum.h"
#include "prng.h"
#include "timeout.h"

#define HRT_N          HEAPRING_SLOTS
#define HRT_MS         INT64_C(1000000)
#define HRT_SEC        INT64_C(1000000000)
/* A reader sleep that lasts this long while producers push lost a wakeup. */
#define HRT_SLEEP_NS   (2 * HRT_SEC)
#define HRT_WRITERS    16

/* Slots a record of len payload bytes takes: header and payload rounded up. */
static uint32_t
hrt_slots(uint32_t len)
{
	return (uint32_t)((sizeof(struct heapring_rec) + len + HEAPRING_SLOT - 1) /
	    HEAPRING_SLOT);
}

static int64_t
hrt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * HRT_SEC + ts.tv_nsec;
}

static struct heapring *
hrt_new(void)
{
	struct heapring *r = heapring_new();

	cr_assert_not_null(r, "heapring_new: %s", strerror(errno));
	return r;
}

static void
hrt_free(struct heapring *r)
{
	munmap(r, sizeof(*r));
}

/*
 * Self-checking records. A payload of HRT_MIN_LEN bytes or more is
 *   [writer u32][len u32][seq u64][pattern ...][fnv-1a of all before, u32]
 * and a shorter one is pattern only. Every header field follows from writer
 * and seq, so the reader checks a record knowing only what it expects.
 */
struct hrt_head {
	uint32_t writer;
	uint32_t len;
	uint64_t seq;
};

#define HRT_MIN_LEN  ((uint32_t)sizeof(struct hrt_head) + 4)

/* Payload length of record seq of writer in the threaded tests. */
static uint32_t
hrt_len(uint32_t writer, uint64_t seq)
{
	uint64_t h = prng_mix(seq * HRT_WRITERS + writer);

	if (h % 4096 == 0)
		return HRT_MIN_LEN + (uint32_t)((h >> 20) % (HEAPRING_DATA_MAX - HRT_MIN_LEN + 1));
	if (h % 64 == 1)
		return HRT_MIN_LEN + (uint32_t)((h >> 20) % 2000);
	return HRT_MIN_LEN + (uint32_t)((h >> 20) % 200);
}

static uint8_t
hrt_byte(uint32_t writer, uint64_t seq, uint32_t i)
{
	return (uint8_t)(seq * 13 + i * 7 + (i >> 8) + writer * 101);
}

/* Fill a claimed record (of the length it was claimed with) as seq of writer. */
static void
hrt_fill(struct heapring_rec *rec, uint32_t writer, uint64_t seq)
{
	unsigned char *m = (unsigned char *)rec->data;
	uint32_t len = rec->len, sum;
	struct hrt_head h = { .writer = writer, .len = len, .seq = seq };

	rec->kind = (uint8_t)(1 + seq % 3);
	rec->pri = (uint8_t)(seq * 5 + writer);
	rec->ts_ns = seq ^ ((uint64_t)writer << 48);
	rec->tid = (int32_t)writer + 1000;
	rec->ident = (uint16_t)(seq >> 2);
	if (len < HRT_MIN_LEN) {
		for (uint32_t i = 0; i < len; i++)
			m[i] = hrt_byte(writer, seq, i);
		return;
	}
	memcpy(m, &h, sizeof(h));
	for (uint32_t i = sizeof(h); i < len - 4; i++)
		m[i] = hrt_byte(writer, seq, i);
	sum = checksum_fnv((const char *)m, len - 4);
	memcpy(m + len - 4, &sum, 4);
}

/* NULL when rec is record seq of writer with len payload bytes, else what differs. */
static const char *
hrt_check(const struct heapring_rec *rec, uint32_t writer, uint64_t seq, uint32_t len)
{
	const unsigned char *m = (const unsigned char *)rec->data;
	struct hrt_head h;
	uint32_t sum;

	if (rec->len != len)
		return "length";
	if (rec->nslots != hrt_slots(len))
		return "slot count";
	if (rec->kind != 1 + seq % 3 || rec->pri != (uint8_t)(seq * 5 + writer) ||
	    rec->ts_ns != (seq ^ ((uint64_t)writer << 48)) ||
	    rec->tid != (int32_t)writer + 1000 || rec->ident != (uint16_t)(seq >> 2) ||
	    rec->level != 0)
		return "header field";
	if (len < HRT_MIN_LEN) {
		for (uint32_t i = 0; i < len; i++)
			if (m[i] != hrt_byte(writer, seq, i))
				return "payload byte";
		return NULL;
	}
	memcpy(&h, m, sizeof(h));
	if (h.writer != writer || h.len != len || h.seq != seq)
		return "writer, length or sequence number in the payload";
	for (uint32_t i = sizeof(h); i < len - 4; i++)
		if (m[i] != hrt_byte(writer, seq, i))
			return "payload byte";
	memcpy(&sum, m + len - 4, 4);
	if (sum != checksum_fnv((const char *)m, len - 4))
		return "checksum";
	return NULL;
}

/* Claim, fill and publish record seq of writer with len bytes; the claim's position. */
static uint64_t
hrt_push(struct heapring *r, uint32_t writer, uint64_t seq, uint32_t len)
{
	struct heapring_claim c;

	cr_assert_eq(heapring_claim(r, len, &c), 0, "claim of %" PRIu32 " bytes: %s",
	    len, strerror(errno));
	hrt_fill(c.rec, writer, seq);
	cr_assert_eq(heapring_publish(r, &c), 0, "publish at %" PRIu64, c.pos);
	return c.pos;
}

/* Peek, check and pop the record seq of writer with len bytes. */
static void
hrt_pop_expect(struct heapring *r, uint32_t writer, uint64_t seq, uint32_t len)
{
	const struct heapring_rec *rec;
	const char *why;
	int stuck = -1;

	rec = heapring_peek(r, &stuck);
	cr_assert_not_null(rec, "no record where %" PRIu32 "/%" PRIu64 " was due", writer, seq);
	cr_assert_eq(stuck, 0);
	why = hrt_check(rec, writer, seq, len);
	cr_assert_null(why, "record %" PRIu32 "/%" PRIu64 ": %s", writer, seq, why);
	heapring_pop(r, rec);
}

/* The ring shows nothing and nothing is claimed. */
static void
hrt_expect_empty(struct heapring *r)
{
	int stuck = -1;

	cr_assert_null(heapring_peek(r, &stuck));
	cr_assert_eq(stuck, 0);
	cr_assert_eq(heapring_empty(r), 1);
}

Test(heapring, round_trip_keeps_header_fields_payload_and_slot_counts)
{
	static const uint32_t lens[] = { 0, 1, 19, 20, 39, 40, 41, 104, 105, 1000, 4096 };
	const size_t n = sizeof(lens) / sizeof(lens[0]);
	struct heapring *r = hrt_new();
	uint64_t pos = 0;

	hrt_expect_empty(r);
	/* All claimed first, then all read: records sit side by side. */
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(hrt_push(r, 1, i, lens[i]), pos, "record %zu at the wrong position", i);
		pos += hrt_slots(lens[i]);
	}
	cr_assert_eq(atomic_load(&r->head), pos);
	cr_assert_eq(heapring_empty(r), 0);
	for (size_t i = 0; i < n; i++)
		hrt_pop_expect(r, 1, i, lens[i]);
	hrt_expect_empty(r);
	cr_assert_eq(atomic_load(&r->freed), pos, "freed does not follow the tail");
	/* One at a time. */
	for (size_t i = 0; i < n; i++) {
		hrt_push(r, 2, i, lens[i]);
		hrt_pop_expect(r, 2, i, lens[i]);
		hrt_expect_empty(r);
	}
	hrt_free(r);
}

Test(heapring, claim_sets_length_and_slots_and_clears_flags_and_ident)
{
	struct heapring *r = hrt_new();
	struct heapring_claim c;

	/* Leave garbage where the record will go. */
	memset(r->slots, 0xa5, 4 * HEAPRING_SLOT);
	cr_assert_eq(heapring_claim(r, 70, &c), 0);
	cr_assert_eq(c.pos, 0);
	cr_assert_eq((char *)c.rec, r->slots);
	cr_assert_eq(c.rec->len, 70);
	cr_assert_eq(c.rec->nslots, hrt_slots(70));
	cr_assert_eq(c.rec->level, 0);
	cr_assert_eq(c.rec->ident, 0);
	hrt_free(r);
}

Test(heapring, record_of_data_max_bytes_fits_also_from_the_last_slot_into_the_overhang)
{
	struct heapring *r = hrt_new();
	const char *end = r->slots + sizeof(r->slots);
	struct heapring_claim c;
	uint64_t pos;

	/* At the start of the array. */
	pos = hrt_push(r, 3, 0, HEAPRING_DATA_MAX);
	cr_assert_eq(pos, 0);
	hrt_pop_expect(r, 3, 0, HEAPRING_DATA_MAX);
	/* Walk the ring with one-slot records until the next one starts in
	 * the last slot of the array. */
	pos = hrt_slots(HEAPRING_DATA_MAX);
	while (pos % HRT_N != HRT_N - 1) {
		hrt_push(r, 4, pos, 0);
		hrt_pop_expect(r, 4, pos, 0);
		pos++;
	}
	cr_assert_eq(heapring_claim(r, HEAPRING_DATA_MAX, &c), 0, "%s", strerror(errno));
	cr_assert_eq(c.pos, pos);
	cr_assert_eq((char *)c.rec, r->slots + (HRT_N - 1) * HEAPRING_SLOT);
	cr_assert_leq((const char *)c.rec->data + HEAPRING_DATA_MAX, end,
	    "the record runs past the overhang");
	hrt_fill(c.rec, 5, 1);
	cr_assert_eq(heapring_publish(r, &c), 0);
	/* A second one behind it while the first is still held. */
	pos = hrt_push(r, 5, 2, HEAPRING_DATA_MAX);
	cr_assert_eq(pos, c.pos + hrt_slots(HEAPRING_DATA_MAX));
	hrt_pop_expect(r, 5, 1, HEAPRING_DATA_MAX);
	hrt_pop_expect(r, 5, 2, HEAPRING_DATA_MAX);
	hrt_expect_empty(r);
	hrt_free(r);
}

Test(heapring, claim_past_data_max_fails_with_emsgsize_and_changes_nothing)
{
	static const uint32_t lens[] = { HEAPRING_DATA_MAX + 1, HEAPRING_DATA_MAX * 2,
	    UINT32_MAX - 30, UINT32_MAX };
	struct heapring *r = hrt_new();
	struct heapring_claim c;

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		errno = 0;
		cr_assert_eq(heapring_claim(r, lens[i], &c), -1, "claim of %" PRIu32 " bytes", lens[i]);
		cr_assert_eq(errno, EMSGSIZE, "claim of %" PRIu32 " bytes: %s", lens[i],
		    strerror(errno));
		cr_assert_eq(atomic_load(&r->head), 0);
		hrt_expect_empty(r);
	}
	hrt_push(r, 6, 0, HEAPRING_DATA_MAX);
	hrt_pop_expect(r, 6, 0, HEAPRING_DATA_MAX);
	hrt_free(r);
}

/* Random record length for the lap test: many small, some large, a few huge. */
static uint32_t
hrt_lap_len(uint64_t *rng)
{
	uint64_t x = prng_next(rng);

	switch (x % 10) {
	case 0:
		return (uint32_t)((x >> 8) % (HEAPRING_DATA_MAX + 1));
	case 1: case 2: case 3:
		return (uint32_t)((x >> 8) % 5000);
	default:
		return (uint32_t)((x >> 8) % 150);
	}
}

Test(heapring, fills_exactly_and_frees_after_pops_over_many_laps_of_random_sizes)
{
	struct heapring *r = hrt_new();
	const char *end = r->slots + sizeof(r->slots);
	/* The model: records in the ring, oldest first. */
	static struct { uint64_t pos, seq; uint32_t len; } q[HRT_N];
	uint32_t qh = 0, qn = 0;
	uint64_t head = 0, tail = 0, seq = 0, rng = 0x5eed0f4ea9f1ULL;
	uint64_t fulls = 0, overhangs = 0, records = 0;

	while (tail < 60ull * HRT_N) {
		uint32_t len = hrt_lap_len(&rng), k = hrt_slots(len);
		struct heapring_claim c;
		int rc;

		errno = 0;
		rc = heapring_claim(r, len, &c);
		if (head + k <= tail + HRT_N) {
			cr_assert_eq(rc, 0, "%" PRIu32 " slots refused with %" PRIu64
			    " of %u free: %s", k, tail + HRT_N - head, HRT_N, strerror(errno));
			cr_assert_eq(c.pos, head);
			cr_assert_eq((char *)c.rec, r->slots + (head % HRT_N) * HEAPRING_SLOT);
			cr_assert_leq((const char *)c.rec->data + len, end);
			if (head % HRT_N + k > HRT_N)
				overhangs++;
			hrt_fill(c.rec, 7, seq);
			cr_assert_eq(heapring_publish(r, &c), 0);
			q[(qh + qn) % HRT_N].pos = head;
			q[(qh + qn) % HRT_N].seq = seq;
			q[(qh + qn) % HRT_N].len = len;
			qn++;
			seq++;
			head += k;
			/* Mostly fill up before the reader pops. */
			if (prng_next(&rng) % 32 != 0)
				continue;
		} else {
			cr_assert_eq(rc, -1, "%" PRIu32 " slots granted with only %" PRIu64
			    " free", k, tail + HRT_N - head);
			cr_assert_eq(errno, EAGAIN, "%s", strerror(errno));
			cr_assert_eq(atomic_load(&r->head), head, "a refused claim moved head");
			fulls++;
		}
		/* The reader pops some, sometimes all. */
		uint32_t pops = prng_next(&rng) % 8 == 0 ? qn : 1 + (uint32_t)(prng_next(&rng) % (qn / 4 + 1));
		while (pops-- > 0) {
			const struct heapring_rec *rec;
			const char *why;
			int stuck = -1;

			rec = heapring_peek(r, &stuck);
			cr_assert_not_null(rec, "record %" PRIu64 " missing", q[qh].seq);
			cr_assert_eq((const char *)rec, r->slots + (q[qh].pos % HRT_N) * HEAPRING_SLOT);
			why = hrt_check(rec, 7, q[qh].seq, q[qh].len);
			cr_assert_null(why, "record %" PRIu64 ": %s", q[qh].seq, why);
			heapring_pop(r, rec);
			tail += hrt_slots(q[qh].len);
			qh = (qh + 1) % HRT_N;
			qn--;
			records++;
			cr_assert_eq(atomic_load(&r->freed), tail);
		}
		if (qn == 0)
			hrt_expect_empty(r);
	}
	cr_log_info("%" PRIu64 " records, %" PRIu64 " full, %" PRIu64 " into the overhang",
	    records, fulls, overhangs);
	cr_assert_gt(fulls, 50, "the ring was seldom full");
	cr_assert_gt(overhangs, 30, "few records ran into the overhang");
	hrt_free(r);
}

Test(heapring, peek_is_empty_then_stuck_on_an_unpublished_claim_and_keeps_order)
{
	struct heapring *r = hrt_new();
	struct heapring_claim a, b;
	int stuck = -1;

	hrt_expect_empty(r);
	cr_assert_eq(heapring_claim(r, 100, &a), 0);
	cr_assert_null(heapring_peek(r, &stuck));
	cr_assert_eq(stuck, 1, "an unpublished claim at the tail is not reported");
	cr_assert_eq(heapring_empty(r), 0);
	/* A later record published first waits for the one before it. */
	cr_assert_eq(heapring_claim(r, 10, &b), 0);
	hrt_fill(b.rec, 8, 1);
	cr_assert_eq(heapring_publish(r, &b), 0);
	stuck = -1;
	cr_assert_null(heapring_peek(r, &stuck), "a later record overtook an unpublished one");
	cr_assert_eq(stuck, 1);
	hrt_fill(a.rec, 8, 0);
	cr_assert_eq(heapring_publish(r, &a), 0);
	hrt_pop_expect(r, 8, 0, 100);
	hrt_pop_expect(r, 8, 1, 10);
	hrt_expect_empty(r);
	hrt_free(r);
}

Test(heapring, abandon_skips_unpublished_claims_whose_publish_then_fails)
{
	struct heapring *r = hrt_new();
	struct heapring_claim a, b, c, d;
	const struct heapring_rec *rec;
	uint32_t n = 0;
	int stuck = -1;

	/* a (two slots) and b unpublished, c published behind them. */
	cr_assert_eq(heapring_claim(r, 100, &a), 0);
	cr_assert_eq(heapring_claim(r, 10, &b), 0);
	cr_assert_eq(heapring_claim(r, 300, &c), 0);
	hrt_fill(c.rec, 9, 2);
	cr_assert_eq(heapring_publish(r, &c), 0);
	cr_assert_null(heapring_peek(r, &stuck));
	cr_assert_eq(stuck, 1);
	heapring_abandon(r);
	rec = heapring_peek(r, &stuck);
	cr_assert_eq(rec, c.rec, "abandon did not resume at the published record");
	cr_assert_eq(stuck, 0);
	cr_assert_eq(atomic_load(&r->freed), c.pos);
	/* Abandon at a published record changes nothing. */
	heapring_abandon(r);
	hrt_pop_expect(r, 9, 2, 300);
	hrt_fill(a.rec, 9, 0);
	hrt_fill(b.rec, 9, 1);
	cr_assert_eq(heapring_publish(r, &a), -1, "publish of an abandoned claim succeeded");
	cr_assert_eq(heapring_publish(r, &b), -1, "publish of an abandoned claim succeeded");
	hrt_expect_empty(r);

	/* Nothing published up to head: abandon empties the ring. */
	cr_assert_eq(heapring_claim(r, 5000, &d), 0);
	heapring_abandon(r);
	hrt_expect_empty(r);
	cr_assert_eq(heapring_publish(r, &d), -1);

	/* The abandoned slots came back: the ring takes a whole lap of
	 * one-slot records, and not one more. */
	for (;;) {
		struct heapring_claim e;

		if (heapring_claim(r, 0, &e) == -1) {
			cr_assert_eq(errno, EAGAIN);
			break;
		}
		hrt_fill(e.rec, 10, n);
		cr_assert_eq(heapring_publish(r, &e), 0);
		n++;
	}
	cr_assert_eq(n, HRT_N, "the ring took %" PRIu32 " one-slot records", n);
	for (uint32_t i = 0; i < n; i++)
		hrt_pop_expect(r, 10, i, 0);
	hrt_expect_empty(r);
	hrt_free(r);
}

Test(heapring, reset_empties_the_ring)
{
	struct heapring *r = hrt_new();
	struct heapring_claim c;
	uint32_t n = 0;

	for (uint64_t i = 0; i < 5; i++)
		hrt_push(r, 11, i, 1000);
	hrt_pop_expect(r, 11, 0, 1000);
	cr_assert_eq(heapring_claim(r, 64, &c), 0);
	atomic_store(&r->drops, 7);
	heapring_reset(r);
	hrt_expect_empty(r);
	cr_assert_eq(atomic_load(&r->freed), atomic_load(&r->head), "freed is not at the tail");
	cr_assert_eq(atomic_load(&r->drops), 0);
	while (heapring_claim(r, 0, &c) == 0) {
		hrt_fill(c.rec, 12, n);
		cr_assert_eq(heapring_publish(r, &c), 0);
		n++;
	}
	cr_assert_eq(errno, EAGAIN);
	cr_assert_eq(n, HRT_N, "a reset ring took %" PRIu32 " one-slot records", n);
	for (uint32_t i = 0; i < n; i++)
		hrt_pop_expect(r, 12, i, 0);
	hrt_expect_empty(r);
	hrt_free(r);
}

/* A pusher that waits for room once, then claims. */
struct hrt_waiter {
	struct heapring *r;
	int first_errno, second_rc;
	int64_t waited_ns;
	_Atomic int finished;
};

static void *
hrt_wait_room_main(void *arg)
{
	struct hrt_waiter *w = arg;
	struct heapring_claim c;
	int64_t t0;

	if (heapring_claim(w->r, 0, &c) == 0) {
		w->first_errno = 0;
		atomic_store(&w->finished, 1);
		return NULL;
	}
	w->first_errno = errno;
	t0 = hrt_now();
	heapring_wait_room(w->r, 20 * HRT_SEC);
	w->waited_ns = hrt_now() - t0;
	w->second_rc = heapring_claim(w->r, 0, &c);
	if (w->second_rc == 0) {
		hrt_fill(c.rec, 13, HRT_N);
		w->second_rc = heapring_publish(w->r, &c);
	}
	atomic_store(&w->finished, 1);
	return NULL;
}

/*
 * A pusher that waits for room in a full ring is woken once the reader
 * has freed an eighth of it, not at every pop: (ring / 8) - 1 pops leave
 * it waiting, the next one wakes it.
 */
Test(heapring, pusher_waiting_for_room_is_woken_by_an_eighth_of_the_ring,
    .timeout = TEST_TIMEOUT(30))
{
	struct heapring *r = hrt_new();
	struct hrt_waiter w = { .r = r, .second_rc = -2 };
	pthread_t t;
	uint64_t i;

	for (i = 0; i < HRT_N; i++)
		hrt_push(r, 13, i, 0);
	cr_assert_eq(pthread_create(&t, NULL, hrt_wait_room_main, &w), 0);
	/* Pop only once the pusher has announced that it waits: a pop
	 * between its failed claim and then may cost it its timeout. */
	while (atomic_load(&r->waiters) == 0 && !atomic_load(&w.finished))
		sched_yield();
	for (i = 0; i < HRT_N / 8 - 1; i++)
		hrt_pop_expect(r, 13, i, 0);
	cr_assert_eq(atomic_load(&r->room), 0, "woken before an eighth was free");
	hrt_pop_expect(r, 13, i++, 0);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(w.first_errno, EAGAIN, "a full ring took a record: %s", strerror(w.first_errno));
	cr_assert_lt(w.waited_ns, 10 * HRT_SEC, "the pusher slept through the pops");
	cr_assert_eq(w.second_rc, 0, "no room after the pops");
	cr_assert_eq(atomic_load(&r->waiters), 0);
	for (; i <= HRT_N; i++)
		hrt_pop_expect(r, 13, i, 0);
	hrt_expect_empty(r);
	hrt_free(r);
}

/* The reader that finds the ring empty wakes a waiting pusher too. */
Test(heapring, pusher_waiting_for_room_is_woken_when_the_reader_finds_it_empty,
    .timeout = TEST_TIMEOUT(30))
{
	struct heapring *r = hrt_new();
	struct heapring_claim c;
	uint32_t room;
	int stuck;

	cr_assert_eq(heapring_claim(r, 0, &c), 0);
	hrt_fill(c.rec, 14, 0);
	cr_assert_eq(heapring_publish(r, &c), 0);
	atomic_store(&r->waiters, 1);   /* as a pusher waiting would */
	room = atomic_load(&r->room);
	hrt_pop_expect(r, 14, 0, 0);
	cr_assert_eq(atomic_load(&r->room), room, "one pop woke the waiters");
	cr_assert_null(heapring_peek(r, &stuck));
	cr_assert_eq(atomic_load(&r->room), room + 1, "the empty ring did not wake them");
	atomic_store(&r->waiters, 0);
	hrt_free(r);
}

struct hrt_sleeper {
	struct heapring *r;
	int64_t slept_ns;
};

static void *
hrt_sleep_main(void *arg)
{
	struct hrt_sleeper *s = arg;
	int64_t t0 = hrt_now();

	heapring_sleep(s->r, 20 * HRT_SEC);
	s->slept_ns = hrt_now() - t0;
	return NULL;
}

Test(heapring, sleeping_reader_is_woken_by_a_publish_that_sees_it_sleep, .timeout = TEST_TIMEOUT(30))
{
	struct heapring *r = hrt_new();
	struct hrt_sleeper s = { .r = r };
	pthread_t t;
	int64_t t0;

	cr_assert_eq(heapring_reader_sleeps(r), 0);
	cr_assert_eq(pthread_create(&t, NULL, hrt_sleep_main, &s), 0);
	while (atomic_load(&r->sleeping) == 0)
		sched_yield();
	hrt_push(r, 14, 0, 33);
	cr_assert_eq(heapring_reader_sleeps(r), 1, "the pusher does not see the reader sleep");
	cr_assert_eq(heapring_reader_sleeps(r), 0, "a second pusher is told to wake it too");
	heapring_wake(r);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_lt(s.slept_ns, 10 * HRT_SEC, "the reader slept through the wake");
	cr_assert_eq(atomic_load(&r->sleeping), 0);
	/* With a record already published, sleep returns at once. */
	t0 = hrt_now();
	heapring_sleep(r, 20 * HRT_SEC);
	cr_assert_lt(hrt_now() - t0, 10 * HRT_SEC);
	hrt_pop_expect(r, 14, 0, 33);
	hrt_free(r);
}

/* ---- Threads: producers and one consumer ---- */

struct hrt_stress {
	struct heapring *r;
	uint32_t producers;             /* threads pushing at main level */
	uint32_t writers;               /* writer ids 0..writers-1 */
	uint64_t per_producer;
	_Atomic uint32_t producers_done;
	_Atomic uint32_t full_seen;     /* a producer met a full ring */
	_Atomic uint64_t eagain;
	char perr[HRT_WRITERS][128];    /* a producer's first error */
	/* Consumer results. */
	uint64_t got[HRT_WRITERS];
	uint64_t records, sleeps, long_sleeps;
	char error[256];
};

/* Check the record at the tail as the next one of its writer. */
static void
hrt_verify(struct hrt_stress *st, const struct heapring_rec *rec)
{
	struct hrt_head h;
	const char *why;

	st->records++;
	if (st->error[0] != '\0')
		return;
	if (rec->len < HRT_MIN_LEN || rec->len > HEAPRING_DATA_MAX) {
		snprintf(st->error, sizeof(st->error), "record %" PRIu64 ": length %" PRIu32,
		    st->records, rec->len);
		return;
	}
	memcpy(&h, rec->data, sizeof(h));
	if (h.writer >= st->writers) {
		snprintf(st->error, sizeof(st->error), "record %" PRIu64 ": writer %" PRIu32,
		    st->records, h.writer);
		return;
	}
	if (h.seq != st->got[h.writer]) {
		snprintf(st->error, sizeof(st->error), "writer %" PRIu32 ": record %" PRIu64
		    " where %" PRIu64 " was due", h.writer, h.seq, st->got[h.writer]);
		return;
	}
	why = hrt_check(rec, h.writer, h.seq, hrt_len(h.writer, h.seq));
	if (why != NULL) {
		snprintf(st->error, sizeof(st->error), "writer %" PRIu32 " record %" PRIu64
		    ": %s", h.writer, h.seq, why);
		return;
	}
	st->got[h.writer]++;
}

static void *
hrt_consumer_main(void *arg)
{
	struct hrt_stress *st = arg;
	struct heapring *r = st->r;

	/* Start late, so that producers meet a full ring and wait for room. */
	while (atomic_load_explicit(&st->full_seen, memory_order_relaxed) == 0 &&
	    atomic_load_explicit(&st->producers_done, memory_order_relaxed) < st->producers)
		sched_yield();
	for (;;) {
		/* Acquire pairs with the producers' release: once all are done,
		 * all their records are published, so an empty peek is the end. */
		uint32_t done = atomic_load_explicit(&st->producers_done, memory_order_acquire);
		const struct heapring_rec *rec;
		int stuck;

		rec = heapring_peek(r, &stuck);
		if (rec == NULL) {
			int64_t t0;

			if (done == st->producers)
				break;
			t0 = hrt_now();
			heapring_sleep(r, HRT_SLEEP_NS);
			st->sleeps++;
			/* A producer that ends publishes nothing to wake us: only
			 * a full sleep while none ended is a lost wakeup. */
			if (hrt_now() - t0 >= HRT_SLEEP_NS &&
			    atomic_load_explicit(&st->producers_done, memory_order_acquire) == done)
				st->long_sleeps++;
			continue;
		}
		hrt_verify(st, rec);
		heapring_pop(r, rec);
	}
	if (!heapring_empty(r) && st->error[0] == '\0')
		snprintf(st->error, sizeof(st->error), "claims left after the producers ended");
	return NULL;
}

/* Push record seq of writer, waiting for room as long as it takes. */
static int
hrt_push_wait(struct hrt_stress *st, uint32_t writer, uint64_t seq)
{
	struct heapring *r = st->r;
	struct heapring_claim c;

	while (heapring_claim(r, hrt_len(writer, seq), &c) == -1) {
		if (errno != EAGAIN) {
			snprintf(st->perr[writer], sizeof(st->perr[0]), "claim: %s", strerror(errno));
			return -1;
		}
		atomic_store_explicit(&st->full_seen, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&st->eagain, 1, memory_order_relaxed);
		heapring_wait_room(r, HRT_MS);
	}
	hrt_fill(c.rec, writer, seq);
	if (heapring_publish(r, &c) == -1) {
		snprintf(st->perr[writer], sizeof(st->perr[0]), "publish of %" PRIu64 " failed", seq);
		return -1;
	}
	if (heapring_reader_sleeps(r))
		heapring_wake(r);
	return 0;
}

struct hrt_producer {
	struct hrt_stress *st;
	uint32_t writer;
};

static void *
hrt_producer_main(void *arg)
{
	struct hrt_producer *p = arg;
	struct hrt_stress *st = p->st;

	for (uint64_t seq = 0; seq < st->per_producer; seq++)
		if (hrt_push_wait(st, p->writer, seq) == -1)
			break;
	/* Release pairs with the consumer's acquire. The wake saves a
	 * consumer that fell asleep just before this from sleeping out its
	 * timeout. */
	atomic_fetch_add_explicit(&st->producers_done, 1, memory_order_release);
	heapring_wake(st->r);
	return NULL;
}

/* Check what the consumer found against what each writer published. */
static void
hrt_stress_report(struct hrt_stress *st, const uint64_t *published)
{
	for (uint32_t w = 0; w < st->writers; w++)
		cr_assert_str_empty(st->perr[w], "writer %" PRIu32 ": %s", w, st->perr[w]);
	cr_assert_str_empty(st->error, "%s", st->error);
	for (uint32_t w = 0; w < st->writers; w++)
		cr_assert_eq(st->got[w], published[w], "writer %" PRIu32 ": %" PRIu64
		    " records arrived of %" PRIu64, w, st->got[w], published[w]);
	cr_assert_eq(st->long_sleeps, 0, "%" PRIu64 " reader sleeps ran their full "
	    "timeout while producers pushed: a lost wakeup", st->long_sleeps);
	cr_assert_gt(atomic_load(&st->eagain), 0, "the ring was never full");
	hrt_expect_empty(st->r);
}

Test(heapring, four_producers_500000_records_each_arrive_once_in_order, .timeout = TEST_TIMEOUT(30))
{
	static struct hrt_stress st;
	struct hrt_producer p[4];
	pthread_t pt[4], ct;
	uint64_t published[HRT_WRITERS] = { 0 };

	st.r = hrt_new();
	st.producers = 4;
	st.writers = 4;
	st.per_producer = 500000;
	cr_assert_eq(pthread_create(&ct, NULL, hrt_consumer_main, &st), 0);
	for (uint32_t i = 0; i < 4; i++) {
		p[i].st = &st;
		p[i].writer = i;
		cr_assert_eq(pthread_create(&pt[i], NULL, hrt_producer_main, &p[i]), 0);
	}
	for (uint32_t i = 0; i < 4; i++)
		cr_assert_eq(pthread_join(pt[i], NULL), 0);
	cr_assert_eq(pthread_join(ct, NULL), 0);
	for (uint32_t i = 0; i < 4; i++)
		published[i] = st.per_producer;
	cr_log_info("%" PRIu64 " records, %" PRIu64 " full-ring retries, %" PRIu64
	    " reader sleeps", st.records, atomic_load(&st.eagain), st.sleeps);
	hrt_stress_report(&st, published);
	hrt_free(st.r);
}

/* ---- Producers in signal handlers ---- */

/*
 * Each producer thread i is three writers: 3i at main level, 3i+1 in its
 * SIGUSR1 handler, 3i+2 in its SIGUSR2 handler. A signal is blocked while
 * its handler runs, so no writer's counters are ever re-entered. A handler
 * never waits for room: the code it interrupted may hold the claim at the
 * tail, so waiting could be forever. A full ring drops its record.
 */
#define HRT_SIG_THREADS  4
#define HRT_SIG_LEVELS   3

struct hrt_sig_writer {
	uint64_t published;
	uint64_t dropped;
	uint64_t failed;        /* claim or publish failures other than EAGAIN */
	uint64_t over_claim;    /* ran while its thread held an unpublished claim */
};

static struct hrt_stress hrt_sig_st;
static struct hrt_sig_writer hrt_sig_w[HRT_SIG_THREADS * HRT_SIG_LEVELS];
static _Atomic uint64_t hrt_sig_entered[HRT_SIG_THREADS];
static _Atomic uint32_t hrt_sig_finished[HRT_SIG_THREADS];
static _Thread_local int hrt_sig_self = -1;
static _Thread_local volatile sig_atomic_t hrt_sig_held;

static void
hrt_sig_handler(int sig)
{
	int saved = errno, self = hrt_sig_self;
	struct heapring *r = hrt_sig_st.r;
	struct heapring_claim c;
	struct hrt_sig_writer *w;
	uint32_t writer;
	uint64_t seq;

	if (self < 0)
		return;
	atomic_fetch_add_explicit(&hrt_sig_entered[self], 1, memory_order_relaxed);
	writer = (uint32_t)self * HRT_SIG_LEVELS + (sig == SIGUSR1 ? 1 : 2);
	w = &hrt_sig_w[writer];
	seq = w->published;
	if (hrt_sig_held > 0)
		w->over_claim++;
	if (heapring_claim(r, hrt_len(writer, seq), &c) == -1) {
		if (errno == EAGAIN)
			w->dropped++;
		else
			w->failed++;
		errno = saved;
		return;
	}
	hrt_sig_held++;
	hrt_fill(c.rec, writer, seq);
	/* Nest: the SIGUSR2 handler runs while this claim is unpublished. */
	if (sig == SIGUSR1 && seq % 4 == 0)
		raise(SIGUSR2);
	if (heapring_publish(r, &c) == 0)
		w->published++;
	else
		w->failed++;
	hrt_sig_held--;
	if (heapring_reader_sleeps(r))
		heapring_wake(r);
	errno = saved;
}

static void *
hrt_sig_producer_main(void *arg)
{
	struct hrt_producer *p = arg;
	struct hrt_stress *st = p->st;
	struct heapring *r = st->r;
	uint32_t writer = p->writer;
	struct hrt_sig_writer *w = &hrt_sig_w[writer];
	sigset_t sigs;

	hrt_sig_self = (int)(writer / HRT_SIG_LEVELS);
	for (uint64_t seq = 0; seq < st->per_producer; seq++) {
		struct heapring_claim c;

		while (heapring_claim(r, hrt_len(writer, seq), &c) == -1) {
			if (errno != EAGAIN) {
				w->failed++;
				goto out;
			}
			atomic_store_explicit(&st->full_seen, 1, memory_order_relaxed);
			atomic_fetch_add_explicit(&st->eagain, 1, memory_order_relaxed);
			heapring_wait_room(r, HRT_MS);
		}
		hrt_sig_held++;
		hrt_fill(c.rec, writer, seq);
		/* A handler that pushes while this claim is unpublished. */
		if (seq % 64 == 0)
			raise(SIGUSR1);
		if (heapring_publish(r, &c) == -1) {
			w->failed++;
			goto out;
		}
		hrt_sig_held--;
		w->published++;
		if (heapring_reader_sleeps(r))
			heapring_wake(r);
	}
out:
	/* Late signals stay pending and die with the thread. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGUSR1);
	sigaddset(&sigs, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	atomic_store_explicit(&hrt_sig_finished[hrt_sig_self], 1, memory_order_release);
	/* Release pairs with the consumer's acquire; see hrt_producer_main. */
	atomic_fetch_add_explicit(&st->producers_done, 1, memory_order_release);
	heapring_wake(r);
	return NULL;
}

/* Signal the producers in turn at any point, one signal in flight at a time. */
static void *
hrt_signaller_main(void *arg)
{
	pthread_t *pt = arg;
	uint64_t sent = 0;

	for (;;) {
		uint32_t live = 0;

		for (uint32_t i = 0; i < HRT_SIG_THREADS; i++) {
			uint64_t before = atomic_load_explicit(&hrt_sig_entered[i], memory_order_relaxed);

			if (atomic_load_explicit(&hrt_sig_finished[i], memory_order_acquire))
				continue;
			live++;
			if (pthread_kill(pt[i], sent++ % 3 == 0 ? SIGUSR2 : SIGUSR1) != 0)
				continue;
			/* Wait for the handler to start, or the thread to finish
			 * with the signal blocked. */
			while (atomic_load_explicit(&hrt_sig_entered[i], memory_order_relaxed) == before &&
			    !atomic_load_explicit(&hrt_sig_finished[i], memory_order_acquire))
				sched_yield();
		}
		if (live == 0)
			break;
	}
	return NULL;
}

Test(heapring, records_pushed_from_signal_handlers_mid_claim_arrive_once_without_deadlock,
    .timeout = TEST_TIMEOUT(30))
{
	struct hrt_stress *st = &hrt_sig_st;
	struct hrt_producer p[HRT_SIG_THREADS];
	pthread_t pt[HRT_SIG_THREADS], ct, sigt;
	uint64_t published[HRT_WRITERS] = { 0 }, over_claim = 0, nested = 0, dropped = 0;
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = hrt_sig_handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	cr_assert_eq(sigaction(SIGUSR1, &sa, NULL), 0);
	cr_assert_eq(sigaction(SIGUSR2, &sa, NULL), 0);
	st->r = hrt_new();
	st->producers = HRT_SIG_THREADS;
	st->writers = HRT_SIG_THREADS * HRT_SIG_LEVELS;
	st->per_producer = 200000;
	cr_assert_eq(pthread_create(&ct, NULL, hrt_consumer_main, st), 0);
	for (uint32_t i = 0; i < HRT_SIG_THREADS; i++) {
		p[i].st = st;
		p[i].writer = i * HRT_SIG_LEVELS;
		cr_assert_eq(pthread_create(&pt[i], NULL, hrt_sig_producer_main, &p[i]), 0);
	}
	cr_assert_eq(pthread_create(&sigt, NULL, hrt_signaller_main, pt), 0);
	/* The signaller first: it must not signal a joined thread. */
	cr_assert_eq(pthread_join(sigt, NULL), 0);
	for (uint32_t i = 0; i < HRT_SIG_THREADS; i++)
		cr_assert_eq(pthread_join(pt[i], NULL), 0);
	cr_assert_eq(pthread_join(ct, NULL), 0);

	for (uint32_t w = 0; w < st->writers; w++) {
		cr_assert_eq(hrt_sig_w[w].failed, 0, "writer %" PRIu32 ": %" PRIu64
		    " failed claims or publishes", w, hrt_sig_w[w].failed);
		published[w] = hrt_sig_w[w].published;
		dropped += hrt_sig_w[w].dropped;
		over_claim += hrt_sig_w[w].over_claim;
		if (w % HRT_SIG_LEVELS == 2)
			nested += hrt_sig_w[w].over_claim;
	}
	for (uint32_t i = 0; i < HRT_SIG_THREADS; i++)
		cr_assert_eq(published[i * HRT_SIG_LEVELS], st->per_producer,
		    "producer %" PRIu32 " published %" PRIu64, i, published[i * HRT_SIG_LEVELS]);
	cr_log_info("%" PRIu64 " records, %" PRIu64 " pushed over a held claim, %" PRIu64
	    " of them nested, %" PRIu64 " dropped in handlers for room", st->records,
	    over_claim, nested, dropped);
	/* Every 64th main-level record raises SIGUSR1 between its claim and its
	 * publish; every SIGUSR1 handler record 0 mod 4 raises SIGUSR2. */
	cr_assert_geq(over_claim, HRT_SIG_THREADS * st->per_producer / 64);
	cr_assert_gt(nested, 0, "no handler ran over a handler's claim");
	hrt_stress_report(st, published);
	hrt_free(st->r);
}

/*
 * An abandoned claim's slots stay its writer's until its publish fails:
 * a lap later the ring is full there, and the bytes the stalled writer
 * goes on writing land in its own slots, never in a later record. Then
 * the ring goes round again.
 */
Test(heapring, abandoned_slots_stay_their_writers_until_it_gives_up)
{
	struct heapring *r = hrt_new();
	struct heapring_claim a, e;
	uint32_t n = 0;
	int stuck;

	cr_assert_eq(heapring_claim(r, 100, &a), 0);            /* two slots */
	hrt_push(r, 1, 0, 10);
	cr_assert_null(heapring_peek(r, &stuck));
	heapring_abandon(r);
	hrt_pop_expect(r, 1, 0, 10);
	/* The ring goes round up to a's slots, which it still holds. */
	while (heapring_claim(r, 0, &e) == 0) {
		hrt_fill(e.rec, 2, n++);
		cr_assert_eq(heapring_publish(r, &e), 0);
	}
	cr_assert_eq(errno, EAGAIN);
	cr_assert_eq(n, HRT_N - 3, "the ring took %" PRIu32 " one-slot records", n);
	hrt_fill(a.rec, 3, 0);          /* the stalled writer writes on */
	for (uint32_t i = 0; i < n; i++)
		hrt_pop_expect(r, 2, i, 0);
	hrt_expect_empty(r);
	cr_assert_eq(heapring_claim(r, 0, &e), -1, "a's slots handed out while it holds them");
	cr_assert_eq(heapring_publish(r, &a), -1, "publish of an abandoned claim succeeded");
	n = 0;
	while (heapring_claim(r, 0, &e) == 0) {
		hrt_fill(e.rec, 4, n++);
		cr_assert_eq(heapring_publish(r, &e), 0);
	}
	cr_assert_eq(n, HRT_N, "after a gave up, the ring took %" PRIu32 " records", n);
	for (uint32_t i = 0; i < n; i++)
		hrt_pop_expect(r, 4, i, 0);
	hrt_free(r);
}

/* ---- abandon racing publish ---- */

struct hrt_racer {
	struct heapring *r;
	uint64_t records;
	_Atomic uint32_t done;
	uint8_t *published;     /* per record, by the pusher: publish succeeded */
	char error[128];
};

static void *
hrt_racer_main(void *arg)
{
	struct hrt_racer *x = arg;

	for (uint64_t seq = 0; seq < x->records; seq++) {
		struct heapring_claim c;

		while (heapring_claim(x->r, hrt_len(0, seq), &c) == -1) {
			if (errno != EAGAIN) {
				snprintf(x->error, sizeof(x->error), "claim: %s", strerror(errno));
				goto out;
			}
			heapring_wait_room(x->r, HRT_MS);
		}
		hrt_fill(c.rec, 0, seq);
		x->published[seq] = heapring_publish(x->r, &c) == 0;
	}
out:
	/* Release pairs with the reader's acquire: every publish is done. */
	atomic_store_explicit(&x->done, 1, memory_order_release);
	return NULL;
}

Test(heapring, abandon_racing_a_publish_delivers_exactly_the_records_that_published,
    .timeout = TEST_TIMEOUT(30))
{
	struct hrt_racer x = { .records = 100000 };
	uint64_t next = 0, abandons = 0, delivered = 0, lost = 0;
	uint8_t *seen;          /* per record, by the reader: delivered */
	pthread_t t;

	x.r = hrt_new();
	x.published = calloc(x.records, 1);
	seen = calloc(x.records, 1);
	cr_assert_not_null(x.published);
	cr_assert_not_null(seen);
	cr_assert_eq(pthread_create(&t, NULL, hrt_racer_main, &x), 0);
	/* An impatient reader: it abandons whenever the tail is unpublished. */
	for (;;) {
		uint32_t done = atomic_load_explicit(&x.done, memory_order_acquire);
		const struct heapring_rec *rec;
		struct hrt_head h;
		const char *why;
		int stuck;

		rec = heapring_peek(x.r, &stuck);
		if (rec == NULL) {
			if (stuck) {
				heapring_abandon(x.r);
				abandons++;
			} else if (done) {
				break;
			} else {
				sched_yield();
			}
			continue;
		}
		cr_assert_geq(rec->len, HRT_MIN_LEN);
		memcpy(&h, rec->data, sizeof(h));
		cr_assert_geq(h.seq, next, "record %" PRIu64 " again or out of order", h.seq);
		why = hrt_check(rec, 0, h.seq, hrt_len(0, h.seq));
		cr_assert_null(why, "record %" PRIu64 ": %s", h.seq, why);
		seen[h.seq] = 1;
		next = h.seq + 1;
		delivered++;
		heapring_pop(x.r, rec);
	}
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_str_empty(x.error, "%s", x.error);
	/* Delivered exactly when its publish succeeded. */
	for (uint64_t i = 0; i < x.records; i++) {
		cr_assert_eq(seen[i], x.published[i], "record %" PRIu64 ": publish %s, %s",
		    i, x.published[i] ? "succeeded" : "failed",
		    seen[i] ? "delivered" : "not delivered");
		lost += !x.published[i];
	}
	cr_log_info("%" PRIu64 " delivered, %" PRIu64 " abandoned in %" PRIu64 " calls",
	    delivered, lost, abandons);
	hrt_expect_empty(x.r);
	free(seen);
	free(x.published);
	hrt_free(x.r);
}
