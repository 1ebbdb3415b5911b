/*
 * heapring.h - the per-process heap ring: many application threads push
 * records, one pipeline thread pops them.
 *
 * The ring is an array of 64-byte slots with one 64-bit sequence word per
 * slot. A record takes one or more consecutive slots; the slots past the
 * end of the array run on into an overhang, so every record is contiguous.
 * States of a slot, for position p (slot p % N):
 *   seq == p       free for position p (claimable)
 *   seq == p + 1   published: the record starting at p may be read
 *   seq == p + 2   abandoned by the reader; its writer still holds it
 *   seq == p + N   given back for the next lap
 * Ordering:
 *   - A pusher claims positions p..p+k-1 by checking seq of the last one
 *     (acquire, pairs with the reader's release when it freed the slot) and
 *     moving head with compare-and-swap; it writes the record and publishes
 *     it by a compare-and-swap of seq[p] from p to p+1 (seq_cst: pairs with
 *     the reader's acquire in heapring_peek, and with its seq_cst store of
 *     sleeping in heapring_sleep, so a pusher sees a sleeping reader).
 *   - The reader frees a record's slots with release stores of seq. A
 *     pusher checks every slot of a claim (acquire): an abandoned claim's
 *     slots are given back by its own writer, out of order.
 * Push is lock-free and async-signal-safe; it never waits. Pop, sleep and
 * reset are for the single reader (or a forked child) only.
 */
#ifndef MPLOG_HEAPRING_H
#define MPLOG_HEAPRING_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define HEAPRING_SLOT      64u
#define HEAPRING_SLOTS     8192u        /* 512 KiB of slots */
#define HEAPRING_DATA_MAX  65536u       /* payload bytes of one record */
#define HEAPRING_OVERHANG  ((32u + HEAPRING_DATA_MAX + HEAPRING_SLOT - 1) / HEAPRING_SLOT)

enum heapring_kind {
	HEAPRING_STDERR = 1,    /* bytes written to stderr, maybe partial lines */
	HEAPRING_SYSLOG = 2,    /* one formatted syslog message */
	HEAPRING_MPLOG = 3,     /* a message about capture itself */
	HEAPRING_SNAP = 4,      /* a syslog call as a snapshot (shm/snap.h) */
	HEAPRING_ESNAP = 5,     /* a printf call to stderr as a snapshot */
	HEAPRING_STDOUT = 6,    /* bytes written to stdout, maybe partial lines */
};

/* 1 for the kinds that arrive as bytes of a stream, to be cut into lines:
 * stderr's, and stdout's when it is captured. */
static inline int
heapring_is_stream(uint8_t kind)
{
	return kind == HEAPRING_STDERR || kind == HEAPRING_STDOUT;
}

struct heapring_rec {
	uint32_t len;           /* payload bytes */
	uint16_t nslots;
	uint8_t kind;           /* enum heapring_kind */
	uint8_t pri;            /* facility << 3 | severity */
	uint64_t ts_ns;         /* CLOCK_REALTIME at the call */
	int32_t tid;
	uint16_t ident;         /* process-local ident index, 0 for default */
	uint8_t level;          /* the level in force at the call */
	uint8_t spare;
	char data[];
};

_Static_assert(sizeof(struct heapring_rec) == 24, "heapring record header");

struct heapring {
	alignas(64) _Atomic uint64_t head;      /* next position to claim */
	/* The reader writes these at every pop. */
	alignas(64) uint64_t tail;              /* reader's next position */
	uint64_t woke;                          /* reader's: tail at its last room wake */
	_Atomic uint64_t freed;                 /* tail, for waiting pushers */
	/* Every push reads sleeping: apart from the line the reader writes
	 * at every pop, so that a push does not miss the cache on it. */
	alignas(64) _Atomic uint32_t sleeping;  /* the reader sleeps */
	_Atomic uint32_t wake;                  /* futex word for the reader */
	_Atomic uint32_t room;                  /* futex word for pushers */
	_Atomic uint32_t waiters;               /* pushers waiting for room */
	_Atomic uint64_t drops;                 /* pushes refused for room */
	alignas(64) _Atomic uint64_t seq[HEAPRING_SLOTS];
	alignas(64) char slots[(HEAPRING_SLOTS + HEAPRING_OVERHANG) * HEAPRING_SLOT];
};

/* A claimed, not yet published record. */
struct heapring_claim {
	struct heapring_rec *rec;
	uint64_t pos;
};

/* Map and initialise a ring; NULL with errno on failure. Signal-safe. */
struct heapring *heapring_new(void);

/* Reinitialise the ring to empty (in a forked child, or the owner). */
void heapring_reset(struct heapring *r);

/*
 * Claim room for a record of len payload bytes. -1 with errno EAGAIN when
 * the ring lacks room, EMSGSIZE when len is too large.
 */
int heapring_claim(struct heapring *r, uint32_t len, struct heapring_claim *c);

/* Publish a filled claim. -1 if the reader gave up on it (see below). */
int heapring_publish(struct heapring *r, struct heapring_claim *c);

/* 1 when the reader sleeps and must be woken after a push. */
int heapring_reader_sleeps(struct heapring *r);

/* Wake the reader. */
void heapring_wake(struct heapring *r);

/* Wait up to timeout_ns for the reader to free room. */
void heapring_wait_room(struct heapring *r, int64_t timeout_ns);

/*
 * The record at tail, or NULL when none is published there. *stuck is set
 * when a claim at tail is still unpublished while later positions are
 * claimed (the caller decides how long to wait before heapring_abandon).
 */
const struct heapring_rec *heapring_peek(struct heapring *r, int *stuck);

/* Free the record at tail and move past it. */
void heapring_pop(struct heapring *r, const struct heapring_rec *rec);

/*
 * Give up on an unpublished claim at tail: skip to the next published
 * record (or head), so that a thread stalled in a hook (descheduled, or in
 * a signal handler that interrupted it) holds back no other thread's
 * records. Its publish then fails, it passes the line through, and only
 * then gives its slots back: until then the next lap finds the ring full
 * there, and never hands out bytes it may still write. A thread that never
 * returns from the hook (a signal handler jumped out of it) keeps them.
 */
void heapring_abandon(struct heapring *r);

/* Sleep as the reader until a push wakes it or timeout_ns passes. */
void heapring_sleep(struct heapring *r, int64_t timeout_ns);

/* Sleep as the reader for timeout_ns, unless a record is there, without
 * telling pushers: they do not wake it (heapring_reader_sleeps stays 0);
 * heapring_wake does. */
void heapring_nap(struct heapring *r, int64_t timeout_ns);

/* 1 when nothing is claimed past tail. */
int heapring_empty(struct heapring *r);

#endif
