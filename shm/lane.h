/*
 * lane.h - one process's lane of the segment: a byte ring of
 * variable-length records with one writer (the process's pipeline thread)
 * and one reader (mplogd).
 *
 * Positions are 64-bit byte counts that only grow; a position's offset in
 * the ring is pos % size. Records are 8-byte aligned. A record that would
 * run past the end of the ring is preceded by a PAD record filling the end.
 *
 * Ordering (every pair is named again at the code):
 *  - The writer fills records, then stores head with release; the reader
 *    loads head with acquire before reading records below it.
 *  - The reader reads a record, then advances tail with a compare-and-swap
 *    (acq_rel); the writer loads tail with acquire before reusing the space.
 *  - tail is only ever advanced by compare-and-swap, so when mplogd is gone
 *    the writer itself may take back records mplogd never consumed (to pass
 *    them through) without any record being delivered twice.
 *  - A writer that waits for room sets waiting (seq_cst) and re-reads tail;
 *    the reader, after advancing tail (seq_cst), reads waiting and wakes it.
 *
 * Leases: owner is 0 for a free lane, else procid_pack(pid, start). A
 * process claims a free lane with compare-and-swap, reuses the lane it
 * already owns (after exec), and gives it back at exit; mplogd takes back
 * lanes whose owner died, once drained.
 *
 * Nothing a writer leaves in the lane is trusted by the reader: lane_peek
 * checks every length and offset, and reports damage instead of reading
 * outside the ring. All functions are lock-free and async-signal-safe.
 */
#ifndef MPLOG_LANE_H
#define MPLOG_LANE_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "seg.h"

#define LANE_MSG_MAX  65536u  /* message bytes one record carries */

enum lane_rec_type {
	LANE_REC_PAD = 1,
	LANE_REC_LOG = 2,
};

enum lane_source {
	LANE_SRC_STDERR = 0,
	LANE_SRC_SYSLOG = 1,
	LANE_SRC_MPLOG = 2,     /* records about capture itself (drops) */
};

#define LANE_F_SPLIT  0x1u  /* a piece of a longer line; more follows */

struct lane_hdr {
	/* Written by the owning producer. */
	_Atomic uint64_t owner;
	_Atomic uint64_t records;
	_Atomic uint64_t bytes;
	_Atomic uint64_t drops;
	_Atomic uint32_t waiting;
	uint32_t reserved;
	/* Written by the producer, read by the consumer. */
	alignas(SEG_CACHELINE) _Atomic uint64_t head;
	/* Written by the consumer (or by the producer taking records back). */
	alignas(SEG_CACHELINE) _Atomic uint64_t tail;
	_Atomic uint32_t room;  /* futex word, bumped when waiting is seen */
};

_Static_assert(sizeof(struct lane_hdr) == 3 * SEG_CACHELINE, "lane header");

struct lane_rec {
	uint32_t size;          /* header plus message, unaligned */
	uint8_t type;           /* enum lane_rec_type */
	uint8_t source;         /* enum lane_source */
	uint8_t pri;            /* facility << 3 | severity */
	uint8_t flags;          /* LANE_F_* */
	int32_t pid;
	uint32_t reserved;
	uint64_t ts_ns;         /* CLOCK_REALTIME at the call */
	int32_t tid;
	uint16_t proc_id;       /* names id, 0 for none */
	uint16_t ident_id;      /* names id, 0 for none */
	/* the message follows: lane_rec_msg() */
};

_Static_assert(sizeof(struct lane_rec) == 32, "lane record header");
_Static_assert(offsetof(struct lane_rec, ts_ns) == 16, "lane record ts");

#define LANE_REC_MAX  (sizeof(struct lane_rec) + LANE_MSG_MAX)

/*
 * An emptied lane must take the largest record at any offset, or a writer
 * could wait for room that never comes. Worst case: the record just misses
 * the end of the ring, so a PAD of its span less 8 bytes comes first.
 */
_Static_assert(2 * (((uint64_t)LANE_REC_MAX + 7) & ~(uint64_t)7) - 8 <= SEG_LANE_SIZE_MIN,
    "the smallest lane takes a PAD and the largest record");

/* The message bytes that follow a record's header. */
static inline char *
lane_rec_msg(struct lane_rec *rec)
{
	return (char *)(rec + 1);
}

/* The producer's side of a leased lane, private to the producer. */
struct lane_writer {
	struct lane_hdr *hdr;
	char *data;
	uint32_t size;
	uint64_t head;          /* next write position, published or not */
};

/* A record the reader found at tail, its header checked and copied. */
struct lane_view {
	struct lane_rec rec;
	const char *msg;        /* inside the ring: copy before consuming */
	uint32_t msg_len;
	uint64_t pos, next;     /* tail before and after this record */
};

/* Total ring bytes a record of msg_len message bytes takes (no padding). */
static inline uint32_t
lane_rec_span(uint32_t msg_len)
{
	return ((uint32_t)sizeof(struct lane_rec) + msg_len + 7u) & ~7u;
}

/*
 * Lease a lane for the process named by me: the one it already owns, else
 * a free one. -1 with errno EAGAIN when every lane is taken.
 */
int lane_lease(struct seg *seg, uint64_t me, struct lane_writer *w);

/* Give the lane back; call after the last lane_publish. */
void lane_unlease(struct lane_writer *w, uint64_t me);

/*
 * Reserve room for a record of msg_len bytes and return its header, to be
 * filled and then passed to lane_commit. NULL when the ring lacks room.
 */
struct lane_rec *lane_reserve(struct lane_writer *w, uint32_t msg_len);

/* Account the reserved record; it becomes visible at lane_publish. */
void lane_commit(struct lane_writer *w, struct lane_rec *rec);

/* Make every committed record visible to the reader. */
void lane_publish(struct lane_writer *w);

/*
 * Wait up to timeout_ns for the reader to free room for a record of
 * msg_len bytes. Returns when room may have appeared; the caller retries
 * lane_reserve.
 */
void lane_wait_room(struct lane_writer *w, uint32_t msg_len, int64_t timeout_ns);

/*
 * Look at the record at tail. Returns 1 and fills v when there is one,
 * 0 when the lane is empty, -1 when the lane is damaged (v->pos and v->next
 * then say where the damage starts and the head to resume from).
 */
int lane_peek(struct lane_hdr *hdr, const char *data, uint32_t size, struct lane_view *v);

/*
 * Advance tail from v->pos to v->next. 0 on success, -1 when another party
 * took the record first (it must then not be delivered).
 */
int lane_consume(struct lane_hdr *hdr, const struct lane_view *v);

/* Bytes published but not yet consumed; exact only for the reader (it
 * owns tail); others may see tail pass the head they loaded, and get 0. */
uint64_t lane_used(const struct lane_hdr *hdr);

#endif
