/*
 * lanefeed.h - lay bytes out as the lanes of a segment, and read them
 * with mplogd's own consumer (sinks/consumer.c): the merge across lanes,
 * the reorder window, the rate limit, snapshots, damage, and both output
 * formats through real sinks. The one reading function shared by the
 * fuzz targets (tests/fuzz/fuzz_feed.c), the test suite's replay of the
 * regression inputs (tests/test_hostile.c) and the seed generator
 * (tests/fuzz/lanefeed_seed.c).
 *
 * An input is one to LANEFEED_LANES sections, each a lane; all integers
 * little-endian:
 *
 *   offset  size  field
 *   0       1     shift: every lane holds 1 << (LANEFEED_SHIFT_MIN +
 *                 shift % LANEFEED_SHIFTS) bytes (256 KiB to 1 MiB, the
 *                 sizes mplogd makes); the first section's counts
 *   1       1     flags: LANEFEED_HELD, the consumer already holds the
 *                 lane (reader is its procid: tail stays); clear, nobody
 *                 does and the consumer seizes it (tail goes back to done).
 *                 The first section's LANEFEED_RATE turns the rate limit
 *                 on (LANEFEED_RATE_BURST a second a process), and its
 *                 LANEFEED_DRAIN skips the step inside the reorder window
 *   2       2     reserved, ignored
 *   4       4     image: bytes of ring image that follow (0: all the rest)
 *   8       8     tail
 *   16      8     ahead: head is tail + ahead (mod 2^64)
 *   24      8     behind: done is tail - behind (mod 2^64)
 *   32      ...   the ring image: copied into the ring from offset
 *                 done % size on, wrapping, at most size bytes; the rest
 *                 of the ring is zero
 *
 * Every input is valid: a short one is padded with zeros. The segment is
 * a real one (consumer_open), kept between reads for each lane size, its
 * lanes zeroed again.
 *
 * lanefeed_read then runs the consumer as mplogd's loop does: a step
 * inside the reorder window, steps that drain, the flush that gives the
 * bytes back (consumer_step, consumer_flush), writing to a text sink and
 * a JSON sink on memory files. It checks what must hold whatever the
 * bytes: reading ends within a bound, every lane is read to its head and
 * given back, every text line is one line of printable UTF-8 and every
 * JSON line one valid JSON object, and each record delivered is one line
 * of each. A failed check is returned, never asserted, so that the
 * caller chooses how to fail.
 *
 * Not thread-safe: lanefeed_read keeps a segment of each size between
 * calls. Allocates; not for signal handlers.
 */
#ifndef MPLOG_LANEFEED_H
#define MPLOG_LANEFEED_H

#include <stddef.h>
#include <stdint.h>

#include "lane.h"

#define LANEFEED_SHIFT_MIN  18       /* SEG_LANE_SIZE_MIN */
#define LANEFEED_SHIFTS     3        /* shifts 18..20: 256 KiB to 1 MiB rings */
#define LANEFEED_LANES      4        /* sections an input lays out */
#define LANEFEED_HEAD       32       /* bytes before a section's ring image */
#define LANEFEED_HELD       0x1u     /* flags: the consumer holds the lane */
#define LANEFEED_RATE       0x2u     /* flags: the rate limit is on */
#define LANEFEED_DRAIN      0x4u     /* flags: no step inside the window */
#define LANEFEED_ME         UINT64_C(0x6d706c6f67640001) /* a builder's holder:
                                      * packed as LANEFEED_HELD */

/* What a read found. */
struct lanefeed_stats {
	uint64_t records;       /* delivered, reports of damage not counted */
	uint64_t damaged;       /* damage reports */
	uint64_t text_bytes;    /* formatted output */
	const char *json;       /* the JSON output, valid until the next read */
	size_t json_len;
	uint32_t lane_size;     /* the geometry the input chose */
	uint32_t lanes;
};

/*
 * Read the input as described above. 0 when every check held, else -1
 * with the broken check described in why.
 */
int lanefeed_read(const uint8_t *in, size_t n, struct lanefeed_stats *st, char *why,
    size_t whylen);

/*
 * Send the input through mplogd's catch-all reader (sinks/catchall.c) as
 * the bytes a command writes to its descriptor 2: byte 0 is the severity
 * of a line without a "<N>" prefix (low 3 bits), byte 1 the size of each
 * write (times 64, plus 1), the rest the bytes. Then the consumer reads
 * the reader's lane, and the output is checked as by lanefeed_read.
 */
int lanefeed_catchall(const uint8_t *in, size_t n, struct lanefeed_stats *st, char *why,
    size_t whylen);

/* A lane being built for an input (lanefeed_pack). */
struct lanefeed_build {
	struct lane_hdr *hdr;           /* then the ring, as in the segment */
	struct lane_writer w;
	uint32_t shift;
	uint32_t flags;                 /* LANEFEED_RATE, LANEFEED_DRAIN: packed */
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
 * The section that lays out b as it now is (published head, tail, done,
 * whether LANEFEED_ME holds it, b->flags, and the ring bytes from done to
 * head) in a new buffer; its length in *n. Sections put one after the
 * other make an input of several lanes. NULL with errno when out of
 * memory.
 */
uint8_t *lanefeed_pack(const struct lanefeed_build *b, size_t *n);

/* Free what lanefeed_build_open allocated. */
void lanefeed_build_close(struct lanefeed_build *b);

#endif
