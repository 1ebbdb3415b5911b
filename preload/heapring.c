/* heapring.c - lock-free multi-producer, single-consumer record ring. */
#include "heapring.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "futex.h"

#define N HEAPRING_SLOTS
/* seq == p + HEAPRING_ABANDONED: the reader gave up the claim at p; its
 * writer still holds the slot (no lap reaches that value). */
#define HEAPRING_ABANDONED 2
_Static_assert(N > HEAPRING_ABANDONED, "the abandoned mark is no lap's");

struct heapring *
heapring_new(void)
{
	struct heapring *r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (r == MAP_FAILED)
		return NULL;
	heapring_reset(r);
	return r;
}

void
heapring_reset(struct heapring *r)
{
	atomic_store_explicit(&r->head, 0, memory_order_relaxed);
	r->tail = 0;
	r->woke = 0;
	atomic_store_explicit(&r->freed, 0, memory_order_relaxed);
	atomic_store_explicit(&r->sleeping, 0, memory_order_relaxed);
	atomic_store_explicit(&r->waiters, 0, memory_order_relaxed);
	atomic_store_explicit(&r->drops, 0, memory_order_relaxed);
	for (uint32_t i = 0; i < N; i++)
		atomic_store_explicit(&r->seq[i], i, memory_order_relaxed);
	/* Release: a reader or pusher that follows sees the reset ring. */
	atomic_thread_fence(memory_order_release);
}

static struct heapring_rec *
heapring_at(struct heapring *r, uint64_t pos)
{
	return (struct heapring_rec *)(r->slots + (pos % N) * HEAPRING_SLOT);
}

/* Slots a record of len payload bytes takes. */
static uint32_t
heapring_slots(uint32_t len)
{
	return (uint32_t)(sizeof(struct heapring_rec) + len + HEAPRING_SLOT - 1) / HEAPRING_SLOT;
}

/*
 * The first slot of positions [p, p + k) that is not free for its
 * position, from the last (the one a full ring holds first), with its
 * sequence word in *seq; k when all are free. Each is checked: an
 * abandoned claim's slots come back when its writer gives up, out of
 * order. Acquire pairs with the release stores of heapring_give(): the
 * previous holder is done with the bytes we are about to overwrite.
 */
static uint32_t
heapring_busy(struct heapring *r, uint64_t p, uint32_t k, uint64_t *seq)
{
	for (uint32_t i = k; i-- > 0;) {
		*seq = atomic_load_explicit(&r->seq[(p + i) % N], memory_order_acquire);
		if (*seq != p + i)
			return i;
	}
	return k;
}

int
heapring_claim(struct heapring *r, uint32_t len, struct heapring_claim *c)
{
	uint32_t k = heapring_slots(len);
	uint64_t p = atomic_load_explicit(&r->head, memory_order_relaxed);

	if (len > HEAPRING_DATA_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	for (;;) {
		uint64_t seq;
		uint32_t i = heapring_busy(r, p, k, &seq);

		if (i == k) {
			/* Relaxed: the claim only moves head; the record is
			 * published by the seq_cst CAS in heapring_publish(). */
			if (atomic_compare_exchange_weak_explicit(&r->head, &p, p + k,
			    memory_order_relaxed, memory_order_relaxed))
				break;
		} else if ((int64_t)(seq - (p + i)) < 0) {
			errno = EAGAIN;         /* not given back since the last lap */
			return -1;
		} else {
			p = atomic_load_explicit(&r->head, memory_order_relaxed);
		}
	}
	c->pos = p;
	c->rec = heapring_at(r, p);
	c->rec->len = len;
	c->rec->nslots = (uint16_t)k;
	c->rec->level = 0;
	c->rec->spare = 0;
	c->rec->ident = 0;
	return 0;
}

static void heapring_give(struct heapring *r, uint64_t from, uint64_t to);

int
heapring_publish(struct heapring *r, struct heapring_claim *c)
{
	uint64_t expect = c->pos;

	/* seq_cst: releases the record to heapring_peek() (acquire), and is
	 * ordered before the load in heapring_reader_sleeps(), pairing with
	 * the seq_cst store of sleeping in heapring_sleep(). Fails only when
	 * the reader abandoned this claim: its slots are still ours, and
	 * now we give them back for the next lap. */
	if (atomic_compare_exchange_strong_explicit(&r->seq[c->pos % N], &expect,
	    c->pos + 1, memory_order_seq_cst, memory_order_relaxed))
		return 0;
	heapring_give(r, c->pos, c->pos + c->rec->nslots);
	return -1;
}

int
heapring_reader_sleeps(struct heapring *r)
{
	/* Pairs with heapring_sleep(); see heapring_publish(). */
	if (atomic_load_explicit(&r->sleeping, memory_order_seq_cst) == 0)
		return 0;
	/* Only one pusher needs to make the system call. */
	return atomic_exchange_explicit(&r->sleeping, 0, memory_order_relaxed) != 0;
}

void
heapring_wake(struct heapring *r)
{
	atomic_fetch_add_explicit(&r->wake, 1, memory_order_relaxed);
	futex_wake(&r->wake);
}

void
heapring_wait_room(struct heapring *r, int64_t timeout_ns)
{
	uint32_t v = atomic_load_explicit(&r->room, memory_order_relaxed);

	/* seq_cst pairs with the load of waiters in heapring_pop(). A wake
	 * lost between our failed claim and this point costs one timeout. */
	atomic_fetch_add_explicit(&r->waiters, 1, memory_order_seq_cst);
	futex_wait(&r->room, v, timeout_ns);
	atomic_fetch_sub_explicit(&r->waiters, 1, memory_order_relaxed);
}

/* Wake the pushers waiting for room, if any. */
static void
heapring_wake_room(struct heapring *r)
{
	/* seq_cst pairs with the increment in heapring_wait_room(). */
	if (atomic_load_explicit(&r->waiters, memory_order_seq_cst) != 0) {
		atomic_fetch_add_explicit(&r->room, 1, memory_order_relaxed);
		futex_wake(&r->room);
	}
}

/* Mark positions [from, to) claimable for the next lap. */
static void
heapring_release(struct heapring *r, uint64_t from, uint64_t to)
{
	for (uint64_t q = from; q < to; q++)
		/* Release pairs with the acquire in heapring_busy(). */
		atomic_store_explicit(&r->seq[q % N], q + N, memory_order_release);
}

/* Give positions [from, to) back for the next lap (a writer whose claim
 * was abandoned), and wake the pushers waiting for room. */
static void
heapring_give(struct heapring *r, uint64_t from, uint64_t to)
{
	heapring_release(r, from, to);
	heapring_wake_room(r);
}

/*
 * Free positions [from, to), read, and move tail to `to`. Waiting
 * pushers are woken once an eighth of the ring is free since the last
 * wake, or when the reader finds the ring empty (heapring_peek): not at
 * every record, which under load made the reader's wake-ups its main
 * cost.
 */
static void
heapring_free(struct heapring *r, uint64_t from, uint64_t to)
{
	r->tail = to;
	atomic_store_explicit(&r->freed, to, memory_order_relaxed);
	heapring_release(r, from, to);
	if (to - r->woke >= N / 8) {
		r->woke = to;
		heapring_wake_room(r);
	}
}

const struct heapring_rec *
heapring_peek(struct heapring *r, int *stuck)
{
	uint64_t t = r->tail;
	/* Acquire pairs with the seq_cst CAS in heapring_publish(). A record
	 * published there was written whole by its claimer: an abandoned
	 * claimer writes only into slots it still holds (heapring_abandon). */
	uint64_t s = atomic_load_explicit(&r->seq[t % N], memory_order_seq_cst);

	if (s == t + 1) {
		*stuck = 0;
		return heapring_at(r, t);
	}
	*stuck = atomic_load_explicit(&r->head, memory_order_relaxed) != t;
	if (r->woke != t) {
		r->woke = t;
		heapring_wake_room(r);
	}
	return NULL;
}

void
heapring_pop(struct heapring *r, const struct heapring_rec *rec)
{
	heapring_free(r, r->tail, r->tail + rec->nslots);
}

void
heapring_abandon(struct heapring *r)
{
	uint64_t t = r->tail;
	uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
	uint64_t q = t;

	/* Mark each unpublished position abandoned with a CAS, so that a
	 * pusher that publishes at the same moment wins or loses cleanly.
	 * The slots are not given back: their writer may still be writing
	 * into them, and gives them back when its publish fails. */
	while (q < head) {
		uint64_t seq = atomic_load_explicit(&r->seq[q % N], memory_order_acquire);

		if (seq == q + 1)
			break;  /* a published record: resume here */
		/* Given back already by a writer whose publish failed (and
		 * maybe claimed again a lap on), or marked now: skip it. A CAS
		 * that fails has reloaded seq: look at it again. */
		if ((int64_t)(seq - (q + N)) >= 0 || (seq == q &&
		    atomic_compare_exchange_strong_explicit(&r->seq[q % N], &seq,
		    q + HEAPRING_ABANDONED, memory_order_acq_rel, memory_order_acquire)))
			q++;
	}
	r->tail = q;
	atomic_store_explicit(&r->freed, q, memory_order_relaxed);
}

void
heapring_sleep(struct heapring *r, int64_t timeout_ns)
{
	uint32_t w = atomic_load_explicit(&r->wake, memory_order_relaxed);

	/* seq_cst store then load: pairs with heapring_publish() followed by
	 * heapring_reader_sleeps(). Either we see the new record, or the
	 * pusher sees us sleeping and wakes us. */
	atomic_store_explicit(&r->sleeping, 1, memory_order_seq_cst);
	if (atomic_load_explicit(&r->seq[r->tail % N], memory_order_seq_cst) != r->tail + 1)
		futex_wait(&r->wake, w, timeout_ns);
	atomic_store_explicit(&r->sleeping, 0, memory_order_relaxed);
}

void
heapring_nap(struct heapring *r, int64_t timeout_ns)
{
	uint32_t w = atomic_load_explicit(&r->wake, memory_order_relaxed);

	/* Acquire pairs with the seq_cst CAS in heapring_publish(). */
	if (atomic_load_explicit(&r->seq[r->tail % N], memory_order_acquire) != r->tail + 1)
		futex_wait(&r->wake, w, timeout_ns);
}

int
heapring_empty(struct heapring *r)
{
	return atomic_load_explicit(&r->head, memory_order_acquire) == r->tail;
}
