/*
 * lines.h - turn the pieces threads write to stderr (and captured stdout)
 * into whole lines.
 *
 * Owned by the pipeline thread alone (not thread-safe; allocates). Each
 * thread's unfinished line on each stream is kept apart, so pieces of one
 * thread join into one line and never mix with another thread's, nor
 * stdout's with stderr's. A write holding several
 * lines gives several. A line longer than LINES_MAX is delivered in pieces
 * of LINES_MAX bytes, each but the last flagged LINES_F_SPLIT. A stderr
 * or stdout line that starts with a "<N>" priority prefix (pri.h) takes that
 * priority and loses the prefix. Syslog and
 * mplog records are whole messages already; one trailing newline is
 * removed from them.
 */
#ifndef MPLOG_LINES_H
#define MPLOG_LINES_H

#include <stdint.h>

#include "heapring.h"

#define LINES_MAX      65536u  /* bytes of one delivered line */
#define LINES_PARTS    64      /* threads with an unfinished line at once */
#define LINES_F_SPLIT  0x1u
#define LINES_F_MULTI  0x2u  /* several lines joined (multiline.h) */

struct lines_line {
	uint64_t ts_ns;         /* when the line's first piece was written */
	int32_t tid;
	uint8_t kind;           /* enum heapring_kind */
	uint8_t pri;
	uint8_t flags;          /* LINES_F_SPLIT */
	uint8_t level;          /* the level at its first piece's call */
	uint16_t ident;
	const char *data;
	uint32_t len;
};

typedef void (*lines_emit_fn)(void *arg, const struct lines_line *line);

struct lines_part {
	int32_t tid;
	uint8_t kind;           /* HEAPRING_STDERR or HEAPRING_STDOUT */
	uint8_t pri;
	uint8_t cont;           /* a split piece of this line has gone */
	uint8_t level;          /* of the first piece */
	uint64_t ts_ns;         /* first piece */
	uint64_t last_ns;       /* latest piece */
	char *buf;
	uint32_t len;
};

struct lines {
	struct lines_part parts[LINES_PARTS];
	uint32_t nparts;
};

/* Feed one heap-ring record; complete lines go to emit. */
void lines_feed(struct lines *ls, const struct heapring_rec *rec, lines_emit_fn emit, void *arg);

/* Deliver every unfinished line whose latest piece is at or before cutoff_ns
 * (CLOCK_REALTIME; UINT64_MAX delivers all). */
void lines_flush(struct lines *ls, uint64_t cutoff_ns, lines_emit_fn emit, void *arg);

/* Forget every unfinished line and free the buffers. */
void lines_reset(struct lines *ls);

#endif
