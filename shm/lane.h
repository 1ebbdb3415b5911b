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
 *  - The reader claims a record by advancing tail (compare-and-swap), and
 *    once the record is delivered (written by every sink, or passed
 *    through) advances done (seq_cst). The writer computes its room from
 *    done, loaded with acquire, so a record claimed but not yet delivered
 *    is never overwritten: done <= tail <= head.
 *  - A writer that waits for room sets waiting (seq_cst) and re-reads done;
 *    the reader, after advancing done (seq_cst), reads waiting and wakes it.
 *
 * The reading side: reader names the one party allowed to claim records,
 * procid_pack(pid, start) of mplogd, or of the lane's own producer while
 * it takes back records mplogd never delivered (mplogd died or closed), or
 * 0 for nobody. A party takes it over with lane_seize, only from nobody or
 * from a holder that no longer exists, and then rewinds tail to done: the
 * records a dead mplogd claimed but never delivered are read again, by a
 * new mplogd or by the producer. A holder that is alive but stopped keeps
 * the lane: its records wait for it (or for whoever replaces it).
 *
 * Nothing a writer leaves in the lane is trusted by the reader: lane_peek
 * checks every length and offset, and reports damage instead of reading
 * outside the ring; the reader resumes at head. A writer that finds done
 * past its own head (a scribbled head was skipped to) goes on from there.
 * All functions are lock-free and async-signal-safe.
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
	LANE_SRC_STDOUT = 3,    /* captured stdout (MPLOG_STDOUT) */
};

#define LANE_F_SPLIT  0x1u  /* a piece of a longer line; more follows */
#define LANE_F_SNAP   0x2u  /* the message is a snapshot for mplogd to
                             * format (shm/snap.h), its format copied in */
#define LANE_F_MULTI  0x4u  /* several lines of one thread, joined by "\n"
                             * (MPLOG_MULTILINE) */

/* Who waits on a lane's room futex (lane_hdr.waiting). */
#define LANE_WAIT_ROOM 0x1u     /* the writer, for want bytes of room */
#define LANE_WAIT_DONE 0x2u     /* a thread, for its records' delivery */

struct lane_hdr {
	/* Written by the owning producer. */
	_Atomic uint64_t owner;
	_Atomic uint64_t records;
	_Atomic uint64_t bytes;
	_Atomic uint64_t drops;
	_Atomic uint32_t waiting;       /* LANE_WAIT_* of who waits on room */
	_Atomic uint32_t want;          /* the room a LANE_WAIT_ROOM writer needs */
	/* Written by the producer, read by the consumer. */
	alignas(SEG_CACHELINE) _Atomic uint64_t head;
	/* Written by the holder of the reading side (see reader). */
	alignas(SEG_CACHELINE) _Atomic uint64_t tail;   /* next to claim */
	_Atomic uint64_t done;  /* below it, every record is delivered */
	_Atomic uint64_t reader;        /* procid of the holder, 0 none */
	_Atomic uint32_t room;  /* futex word, bumped when waiting is seen */
	/* The owner's process name, written at lease, for mplogctl only:
	 * records carry their own (struct lane_rec). */
	alignas(SEG_CACHELINE) char name[SEG_NAME_MAX];
};

_Static_assert(sizeof(struct lane_hdr) == 4 * SEG_CACHELINE, "lane header");

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
	uint8_t name_len;       /* bytes of the process name, 0 for none */
	uint8_t ident_len;      /* bytes of the syslog ident, 0 for none */
	uint8_t thread_len;     /* bytes of the thread's name, 0 for none */
	uint8_t reserved2;
	/* the message follows (lane_rec_msg()), then the process name as
	 * the process had it when it wrote, then the ident, then the name of
	 * the thread that wrote: names travel with their records, so none
	 * runs out and none outlives them */
};

_Static_assert(sizeof(struct lane_rec) == 32, "lane record header");
_Static_assert(offsetof(struct lane_rec, ts_ns) == 16, "lane record ts");
_Static_assert(SEG_NAME_MAX - 1 <= UINT8_MAX, "a name length fits a byte");

#define LANE_NAME_MAX (SEG_NAME_MAX - 1)      /* bytes of one name */
#define LANE_PAYLOAD_MAX (LANE_MSG_MAX + 3 * LANE_NAME_MAX)
#define LANE_REC_MAX  (sizeof(struct lane_rec) + LANE_PAYLOAD_MAX)

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
	const char *msg;        /* inside the ring: copy before consuming; */
	uint32_t msg_len;       /* the names follow, lane_rec_names(&rec)
	                         * bytes, checked */
	uint64_t pos, next;     /* tail before and after this record */
	uint64_t head;          /* head as lane_peek saw it: pos..head were
	                         * published then */
};

/* The names a record carries after its message; lengths are cut to
 * LANE_NAME_MAX. */
struct lane_names {
	const char *name;
	const char *ident;
	const char *thread;
	uint8_t name_len, ident_len, thread_len;
};

/* Fill n with the process name, the ident and the thread's name (any
 * may be NULL), each cut to LANE_NAME_MAX. */
void lane_names_set(struct lane_names *n, const char *name, const char *ident,
    const char *thread);

/* Bytes the names of n take after a message. */
static inline uint32_t
lane_names_size(const struct lane_names *n)
{
	return (uint32_t)n->name_len + n->ident_len + n->thread_len;
}

/* Bytes the names of record rec take after its message. */
static inline uint32_t
lane_rec_names(const struct lane_rec *rec)
{
	return (uint32_t)rec->name_len + rec->ident_len + rec->thread_len;
}

/* Write the names of n after the len-byte message of rec, and say so in
 * rec's header; rec was reserved for len + lane_names_size(n). */
void lane_names_put(struct lane_rec *rec, uint32_t len, const struct lane_names *n);

/* Total ring bytes a record of len payload bytes takes (no padding). */
static inline uint32_t
lane_rec_span(uint32_t len)
{
	return ((uint32_t)sizeof(struct lane_rec) + len + 7u) & ~7u;
}

/*
 * Lease a lane for the process named by me: the one it already owns, else
 * a free one. -1 with errno EAGAIN when every lane is taken.
 */
int lane_lease(struct seg *seg, uint64_t me, struct lane_writer *w);

/* Give the lane back; call after the last lane_publish. */
void lane_unlease(struct lane_writer *w, uint64_t me);

/*
 * Reserve room for a record of len payload bytes (message and names) and
 * return its header, to be filled and then passed to lane_commit. NULL
 * when the ring lacks room or len is more than LANE_PAYLOAD_MAX.
 */
struct lane_rec *lane_reserve(struct lane_writer *w, uint32_t len);

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
 * then say where the damage starts and the head to resume from). PAD
 * records are claimed on the way (lane_claim).
 */
int lane_peek(struct lane_hdr *hdr, const char *data, uint32_t size, struct lane_view *v);

/*
 * Claim the record of v: advance tail from v->pos to v->next. 0 on
 * success, -1 when another party took the record first (it must then not
 * be delivered). The writer may not reuse its bytes before lane_done.
 */
int lane_claim(struct lane_hdr *hdr, const struct lane_view *v);

/* Every record below pos is delivered: give its bytes back to the writer
 * (done only grows) and wake whoever waits on the lane. */
void lane_done(struct lane_hdr *hdr, uint64_t pos);

/*
 * lane_done for a reader that gives bytes back often (mplogd at each
 * flush): one waiting for delivery is woken at once, but a writer waiting
 * for room (alone) only once the lane, of size bytes, has its want and a
 * quarter more free. A writer that outruns its reader is then woken once
 * per quarter lane, not at every flush; a reader that drains the lane
 * always wakes it.
 */
void lane_done_lazy(struct lane_hdr *hdr, uint64_t pos, uint32_t size);

/* lane_claim, then lane_done: for a reader that delivers at once. */
int lane_consume(struct lane_hdr *hdr, const struct lane_view *v);

/* The holder of the reading side, 0 for none. */
uint64_t lane_reader(const struct lane_hdr *hdr);

/*
 * Take the reading side from holder (0, or a party the caller knows is
 * dead) for me, and rewind tail to done so that records claimed but not
 * delivered are read again. 0 on success, -1 when the holder changed.
 */
int lane_seize(struct lane_hdr *hdr, uint64_t holder, uint64_t me);

/* Give the reading side up (after delivering every claimed record). */
void lane_release(struct lane_hdr *hdr, uint64_t me);

/* Bytes published but not yet claimed; exact only for the holder (it
 * owns tail); others may see tail pass the head they loaded, and get 0. */
uint64_t lane_used(const struct lane_hdr *hdr);

#endif
