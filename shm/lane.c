/* lane.c - single-writer, single-reader record ring in the shared segment. */
#include "lane.h"

#include <errno.h>
#include <string.h>

#include "futex.h"

int
lane_lease(struct seg *seg, uint64_t me, struct lane_writer *w)
{
	uint32_t n = seg->lane_count;
	struct lane_hdr *hdr = seg->own_lane;

	/* A lane handed to us alone (lanesock.h): ours whatever it says. */
	if (hdr != NULL)
		atomic_store_explicit(&hdr->owner, me, memory_order_relaxed);
	/* A process that exec'd keeps its pid and start time: its lane too. */
	for (uint32_t i = 0; i < n && hdr == NULL; i++) {
		struct lane_hdr *h = seg_lane(seg, i);

		/* Acquire pairs with the release in lane_unlease() by the
		 * previous owner (its last head store is visible). */
		if (atomic_load_explicit(&h->owner, memory_order_acquire) == me)
			hdr = h;
	}
	for (uint32_t i = 0; i < n && hdr == NULL; i++) {
		struct lane_hdr *h = seg_lane(seg, i);
		uint64_t expect = 0;

		/* Acquire pairs with the release in lane_unlease() and with
		 * mplogd's reclaim: the previous owner's head is visible. */
		if (atomic_compare_exchange_strong_explicit(&h->owner, &expect, me,
		    memory_order_acquire, memory_order_relaxed)) {
			hdr = h;
			memset(hdr->name, 0, sizeof(hdr->name));  /* not the last owner's */
		}
	}
	if (hdr == NULL) {
		errno = EAGAIN;
		return -1;
	}
	w->hdr = hdr;
	w->data = (char *)(hdr + 1);
	w->size = seg->lane_size;
	w->head = atomic_load_explicit(&hdr->head, memory_order_relaxed);
	return 0;
}

void
lane_unlease(struct lane_writer *w, uint64_t me)
{
	uint64_t expect = me;

	/* Release pairs with the acquire in lane_lease() of the next owner. */
	atomic_compare_exchange_strong_explicit(&w->hdr->owner, &expect, 0,
	    memory_order_release, memory_order_relaxed);
}

/*
 * Room the writer may use, given what the reader has delivered. A reader
 * past our head skipped a damaged stretch up to a head someone else wrote
 * (lane_damaged): we go on from where it resumes, so that what we write
 * next is read; anything of ours below it is lost with the damage it was
 * counted in.
 */
static uint64_t
lane_room(struct lane_writer *w)
{
	/* Acquire pairs with the CAS in lane_done(): the reader is finished
	 * with the bytes below done before we overwrite them. seq_cst (no
	 * dearer than acquire on x86 or arm64) for lane_wait_room(): an
	 * acquire load may be satisfied before its seq_cst store of waiting
	 * is visible, and then neither side would see the other. */
	uint64_t done = atomic_load_explicit(&w->hdr->done, memory_order_seq_cst);

	if (done > w->head)
		w->head = (done + 7) & ~(uint64_t)7;
	uint64_t used = w->head - done;

	return used > w->size ? 0 : w->size - used;
}

/* Ring bytes a reservation of msg_len needs at the current head. */
static uint64_t
lane_need(const struct lane_writer *w, uint32_t msg_len)
{
	uint32_t span = lane_rec_span(msg_len);
	uint32_t off = (uint32_t)(w->head & (w->size - 1));

	return off + span > w->size ? (uint64_t)(w->size - off) + span : span;
}

/* Does a record of msg_len fit now? (lane_room first: it may move head.) */
static int
lane_fits(struct lane_writer *w, uint32_t msg_len)
{
	uint64_t room = lane_room(w);

	return room >= lane_need(w, msg_len);
}

struct lane_rec *
lane_reserve(struct lane_writer *w, uint32_t msg_len)
{
	struct lane_rec *rec;
	uint32_t off, pad;

	if (msg_len > LANE_PAYLOAD_MAX || !lane_fits(w, msg_len))
		return NULL;
	off = (uint32_t)(w->head & (w->size - 1));
	pad = off + lane_rec_span(msg_len) > w->size ? w->size - off : 0;
	if (pad != 0) {
		rec = (struct lane_rec *)(w->data + off);
		rec->size = pad;
		rec->type = LANE_REC_PAD;
		w->head += pad;
		off = 0;
	}
	rec = (struct lane_rec *)(w->data + off);
	memset(rec, 0, sizeof(*rec));
	rec->size = (uint32_t)sizeof(*rec) + msg_len;
	rec->type = LANE_REC_LOG;
	return rec;
}

void
lane_commit(struct lane_writer *w, struct lane_rec *rec)
{
	w->head += lane_rec_span(rec->size - (uint32_t)sizeof(*rec));
	/* Relaxed load and store, no read-modify-write: statistics with
	 * one writer (this one), read by mplogctl. */
	atomic_store_explicit(&w->hdr->records, atomic_load_explicit(&w->hdr->records,
	    memory_order_relaxed) + 1, memory_order_relaxed);
	atomic_store_explicit(&w->hdr->bytes, atomic_load_explicit(&w->hdr->bytes,
	    memory_order_relaxed) + rec->size, memory_order_relaxed);
}

void
lane_publish(struct lane_writer *w)
{
	/* Release pairs with the acquire in lane_peek(): the records below
	 * head are written before the reader can see head. */
	atomic_store_explicit(&w->hdr->head, w->head, memory_order_release);
}

void
lane_wait_room(struct lane_writer *w, uint32_t msg_len, int64_t timeout_ns)
{
	uint32_t room = atomic_load_explicit(&w->hdr->room, memory_order_relaxed);

	/* want first (relaxed): the seq_cst read-modify-write of waiting
	 * releases it to lane_done(), which loads waiting (seq_cst) first.
	 * seq_cst read-modify-write then load: pairs with lane_done(), which
	 * advances done (seq_cst) and then reads waiting. One of us sees the
	 * other. */
	atomic_store_explicit(&w->hdr->want, (uint32_t)lane_need(w, msg_len), memory_order_relaxed);
	atomic_fetch_or_explicit(&w->hdr->waiting, LANE_WAIT_ROOM, memory_order_seq_cst);
	if (lane_fits(w, msg_len))
		return;
	futex_wait(&w->hdr->room, room, timeout_ns);
}

uint64_t
lane_used(const struct lane_hdr *hdr)
{
	/* Acquire, tail before head, as in lane_peek(): pairs with the CAS in
	 * lane_claim() and the release in lane_publish(). */
	uint64_t tail = atomic_load_explicit(&hdr->tail, memory_order_acquire);
	uint64_t head = atomic_load_explicit(&hdr->head, memory_order_acquire);

	return head > tail ? head - tail : 0;
}

/* Report damage at pos: the reader resumes from head, and the writer
 * goes on from there (lane_room). */
static int
lane_damaged(struct lane_view *v, uint64_t pos, uint64_t head)
{
	v->pos = pos;
	v->next = head;
	return -1;
}

/*
 * Did tail move since we loaded it? Then another party (the writer taking
 * records back) consumed meanwhile, and what we read is stale: a head
 * loaded before that tail, or a record the writer has since overwritten.
 * Not damage; look again.
 */
static int
lane_tail_moved(struct lane_hdr *hdr, uint64_t tail)
{
	/* Acquire fence: our reads of the record come before this load.
	 * Tail unchanged means the writer had no room over those bytes. */
	atomic_thread_fence(memory_order_acquire);
	return atomic_load_explicit(&hdr->tail, memory_order_relaxed) != tail;
}

/* Does the record header at off, with avail bytes published, add up? */
static int
lane_rec_ok(const struct lane_rec *rec, uint32_t off, uint64_t avail, uint32_t size)
{
	uint32_t span = (rec->size + 7u) & ~7u;

	if (rec->type == LANE_REC_PAD)
		return rec->size == size - off && rec->size <= avail;
	return rec->type == LANE_REC_LOG && rec->size >= sizeof(*rec) &&
	    rec->size <= LANE_REC_MAX && span <= avail && off + span <= size &&
	    rec->name_len <= LANE_NAME_MAX && rec->ident_len <= LANE_NAME_MAX &&
	    rec->thread_len <= LANE_NAME_MAX &&
	    rec->size - sizeof(*rec) >= lane_rec_names(rec) &&
	    rec->size - sizeof(*rec) - lane_rec_names(rec) <= LANE_MSG_MAX;
}

void
lane_names_set(struct lane_names *n, const char *name, const char *ident,
    const char *thread)
{
	n->name = name;
	n->ident = ident;
	n->thread = thread;
	n->name_len = name != NULL ? (uint8_t)strnlen(name, LANE_NAME_MAX) : 0;
	n->ident_len = ident != NULL ? (uint8_t)strnlen(ident, LANE_NAME_MAX) : 0;
	n->thread_len = thread != NULL ? (uint8_t)strnlen(thread, LANE_NAME_MAX) : 0;
}

void
lane_names_put(struct lane_rec *rec, uint32_t len, const struct lane_names *n)
{
	char *p = lane_rec_msg(rec) + len;

	if (n->name_len != 0)
		memcpy(p, n->name, n->name_len);
	if (n->ident_len != 0)
		memcpy(p + n->name_len, n->ident, n->ident_len);
	if (n->thread_len != 0)
		memcpy(p + n->name_len + n->ident_len, n->thread, n->thread_len);
	rec->name_len = n->name_len;
	rec->ident_len = n->ident_len;
	rec->thread_len = n->thread_len;
}

int
lane_peek(struct lane_hdr *hdr, const char *data, uint32_t size, struct lane_view *v)
{
	for (;;) {
		/* Tail first, with acquire: pairs with the CAS in lane_claim()
		 * of whoever moved it, who had seen a head at least that far;
		 * so the head we load next is not below it. (Head first, a
		 * take-back between the loads made head < tail look like
		 * damage, and skipping it moved tail back over records already
		 * taken.) Acquire on head pairs with the release in
		 * lane_publish(). */
		uint64_t tail = atomic_load_explicit(&hdr->tail, memory_order_acquire);
		uint64_t head = atomic_load_explicit(&hdr->head, memory_order_acquire);
		uint64_t avail = head - tail;
		uint32_t off = (uint32_t)(tail & (size - 1));
		struct lane_rec rec = { 0 };
		int ok;

		if (avail == 0)
			return 0;
		ok = avail <= size && avail >= 8 && (tail & 7) == 0;
		if (ok) {
			/* A PAD may be all that fits before the end: 8 bytes. */
			memcpy(&rec, data + off, off + sizeof(rec) <= size ? sizeof(rec) : 8);
			ok = lane_rec_ok(&rec, off, avail, size);
		}
		if (!ok) {
			if (lane_tail_moved(hdr, tail))
				continue;
			return lane_damaged(v, tail, head);
		}
		v->pos = tail;
		v->next = tail + ((rec.size + 7u) & ~7u);
		if (rec.type == LANE_REC_PAD) {
			lane_claim(hdr, v);
			continue;
		}
		v->head = head;
		v->rec = rec;   /* the checked values, not a re-read */
		v->msg = data + off + sizeof(rec);
		v->msg_len = rec.size - (uint32_t)sizeof(rec) - lane_rec_names(&rec);
		return 1;
	}
}

int
lane_claim(struct lane_hdr *hdr, const struct lane_view *v)
{
	uint64_t expect = v->pos;

	/* Release: our reads of the record come before the move; pairs with
	 * the acquire of tail in lane_peek() by the next holder. */
	return atomic_compare_exchange_strong_explicit(&hdr->tail, &expect, v->next,
	    memory_order_release, memory_order_relaxed) ? 0 : -1;
}

/* Is the room a waiting writer wants free below pos, and a quarter of
 * the lane more? (A writer that scribbled head or want only delays its
 * own wake; a drained lane wakes it anyway.) */
static int
lane_room_for_waiter(const struct lane_hdr *hdr, uint64_t pos, uint32_t size)
{
	/* Relaxed: a hint; the writer's room is its own seq_cst load of
	 * done. want was released by the writer's seq_cst or of waiting,
	 * which our caller loaded (seq_cst) first. */
	uint64_t head = atomic_load_explicit(&hdr->head, memory_order_relaxed);
	uint64_t want = (uint64_t)atomic_load_explicit(&hdr->want, memory_order_relaxed) + size / 4;

	return head <= pos || (head - pos <= size && size - (head - pos) >= want);
}

/* lane_done; size 0: wake a waiting writer whatever the room. */
static void
lane_done_to(struct lane_hdr *hdr, uint64_t pos, uint32_t size)
{
	uint64_t done = atomic_load_explicit(&hdr->done, memory_order_relaxed);
	uint32_t waiting;

	/* seq_cst: releases the bytes to the writer (pairs with the load of
	 * done in lane_room()) and orders before the load of waiting below
	 * (pairs with lane_wait_room()). done only grows: a late call with
	 * an older position changes nothing. */
	while (done < pos && !atomic_compare_exchange_weak_explicit(&hdr->done, &done, pos,
	    memory_order_seq_cst, memory_order_relaxed))
		;
	/* Exchange, not a store of 0: a plain store could overwrite a
	 * waiting = 1 the writer set after our load, and the writer would
	 * then sleep its full timeout with nobody left to wake it. */
	waiting = atomic_load_explicit(&hdr->waiting, memory_order_seq_cst);
	if (size != 0 && waiting == LANE_WAIT_ROOM && !lane_room_for_waiter(hdr, pos, size))
		return; /* waiting stays: a later call wakes it */
	if (waiting != 0 && atomic_exchange_explicit(&hdr->waiting, 0, memory_order_seq_cst) != 0) {
		atomic_fetch_add_explicit(&hdr->room, 1, memory_order_relaxed);
		futex_wake(&hdr->room);
	}
}

void
lane_done(struct lane_hdr *hdr, uint64_t pos)
{
	lane_done_to(hdr, pos, 0);
}

void
lane_done_lazy(struct lane_hdr *hdr, uint64_t pos, uint32_t size)
{
	lane_done_to(hdr, pos, size);
}

int
lane_consume(struct lane_hdr *hdr, const struct lane_view *v)
{
	if (lane_claim(hdr, v) == -1)
		return -1;
	lane_done(hdr, v->next);
	return 0;
}

uint64_t
lane_reader(const struct lane_hdr *hdr)
{
	/* Acquire pairs with the release in lane_release() and lane_seize():
	 * the previous holder's tail and done are visible. */
	return atomic_load_explicit(&hdr->reader, memory_order_acquire);
}

int
lane_seize(struct lane_hdr *hdr, uint64_t holder, uint64_t me)
{
	uint64_t expect = holder, done;

	/* acq_rel: the acquire side sees the old holder's tail and done;
	 * the release side pairs with lane_reader() of the next party. */
	if (!atomic_compare_exchange_strong_explicit(&hdr->reader, &expect, me,
	    memory_order_acq_rel, memory_order_acquire))
		return -1;
	/* Nobody else moves tail now. Records between done and tail were
	 * claimed by a holder that died before delivering them: read them
	 * again. Acquire pairs with lane_done(). */
	done = atomic_load_explicit(&hdr->done, memory_order_acquire);
	/* Release pairs with the acquire of tail in lane_peek(). */
	atomic_store_explicit(&hdr->tail, done, memory_order_release);
	return 0;
}

void
lane_release(struct lane_hdr *hdr, uint64_t me)
{
	uint64_t expect = me;

	/* Release pairs with the acquire in lane_reader() and lane_seize():
	 * our last tail and done are visible to the next holder. */
	atomic_compare_exchange_strong_explicit(&hdr->reader, &expect, 0,
	    memory_order_release, memory_order_relaxed);
}
