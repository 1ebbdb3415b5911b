/*
 * lanefeed.h - lay bytes out as one lane, and read
 * them as mplogd does. The one reading function shared by the fuzz target
 * (tests/fuzz/fuzz_lane.c), the test suite's replay of the regression
 * inputs (tests/test_hostile.c) and the seed generator
 * (tests/fuzz/lanefeed_seed.c).
 *
 * An input is, all integers little-endian:
 *
 *   offset  size  field
 *   0       1     shift: the ring holds 1 << (LANEFEED_SHIFT_MIN +
 *                 shift % LANEFEED_SHIFTS) bytes (64 B to 1 MiB)
 *   1       2     reserved, ignored
 *   3       1     flags: bit 0 set, the reader already holds the lane
 *                 (reader is LANEFEED_ME: tail stays); clear, nobody does
 *                 and the reader seizes it (lane_seize: tail goes back to
 *                 done); other bits ignored
 *   4       4     reserved, ignored
 *   8       8     tail
 *   16      8     ahead: head is tail + ahead (mod 2^64)
 *   24      8     behind: done is tail - behind (mod 2^64)
 *   32      ...   the ring image: copied into the ring from offset
 *                 done % size on, wrapping, at most size bytes; the rest
 *                 of the ring is zero
 *
 * Every input is valid: a short one is padded with zeros. The lane header
 * and the ring are one allocation, and each message copy is one of its own, sized exactly, so an address sanitizer sees any
 * read past them. The lanes are kept for the next read, zeroed again.
 *
 * lanefeed_read then does what mplogd's consumer does with a lane: hold
 * its reading side (lane_reader, lane_seize); while lane_used says there
 * is something, peek (lane_peek) and claim (lane_claim) records, skipping
 * damage to head as the consumer does; copy each record's message and the
 * names it carries (process name, ident); format each record as text and as JSON
 * (fmt_record); and at the end mark everything claimed delivered
 * (lane_done), as the consumer's flush does. It checks what must hold whatever the
 * bytes: a view lies inside the ring and below head, nothing is consumed
 * twice, the lane is empty once damage is skipped, reading ends within a
 * bound, names are terminated, a text line is one line of printable UTF-8
 * and a JSON line is one valid JSON object. A failed check is returned,
 * never asserted, so that the caller chooses how to fail.
 *
 * Not thread-safe: lanefeed_read keeps one lane of each size between
 * calls. Allocates; not for signal handlers.
 */
#ifndef MPLOG_LANEFEED_H
#define MPLOG_LANEFEED_H

#include <stddef.h>
#include <stdint.h>

#include "fmt.h"
#include "lane.h"

#define LANEFEED_SHIFT_MIN  6
#define LANEFEED_SHIFTS     15       /* shifts 6..20: 64 B to 1 MiB rings */
#define LANEFEED_HEAD       32       /* bytes before the ring image */
#define LANEFEED_HELD       0x1u     /* flags: the reader holds the lane */
#define LANEFEED_ME         UINT64_C(0x6d706c6f67640001) /* the reader's procid */

/* What a read found. */
struct lanefeed_stats {
	uint64_t records;       /* delivered */
	uint64_t damaged;       /* damage reports (skips to head) */
	uint64_t text_bytes;    /* formatted output, both formats */
	uint64_t json_bytes;
	uint32_t lane_size;     /* the geometry the input chose */
};

/* Called with each delivered record, as the sinks would get it. */
typedef void lanefeed_each_fn(const struct fmt_record *r, void *arg);

/*
 * Read the input as described above. 0 when every check held, else -1
 * with the broken check described in why. each (may be NULL) sees every
 * delivered record.
 */
int lanefeed_read(const uint8_t *in, size_t n, struct lanefeed_stats *st,
    lanefeed_each_fn *each, void *arg, char *why, size_t whylen);

/* A lane being built for an input (lanefeed_pack). */
struct lanefeed_build {
	struct lane_hdr *hdr;           /* then the ring, as in the segment */
	struct lane_writer w;
	uint32_t shift;
};

/*
 * Make an empty lane of 1 << shift bytes (LANEFEED_SHIFT_MIN to
 * LANEFEED_SHIFT_MIN + LANEFEED_SHIFTS - 1) whose done, tail and head are
 * tail, with no reader. Write records with lane_reserve, lane_names_put,
 * lane_commit and lane_publish on b->w. -1 with errno on bad arguments or
 * no memory.
 */
int lanefeed_build_open(struct lanefeed_build *b, uint32_t shift, uint64_t tail);

/*
 * The input that lays out b as it now is (published head, tail, done,
 * whether LANEFEED_ME holds it, and the ring bytes from done to
 * head) in a new buffer; its length in
 * *n. NULL with errno when out of memory.
 */
uint8_t *lanefeed_pack(const struct lanefeed_build *b, size_t *n);

/* Free what lanefeed_build_open allocated. */
void lanefeed_build_close(struct lanefeed_build *b);

#endif
