/*
 * sink.h - one destination of mplogd's output: a file or descriptor and a
 * format.
 *
 * Records are formatted into a buffer that sink_flush writes out; mplogd
 * flushes whenever it has nothing more to read and whenever a sink holds
 * SINK_FLUSH_BYTES (sink_full), so a line waits in the buffer at most as
 * long as mplogd is busy reading. A write error is reported once and retried at the
 * next flush; a failing sink never stops another. Records dropped
 * meanwhile (the buffer past SINK_BUF_MAX) are counted and the count is
 * reported when writing resumes or at close. A file sink whose path was
 * removed, or now names another file (renamed away), is opened again
 * under its path: every flush with bytes to write checks (one stat(2)).
 * Used by mplogd's single thread only.
 */
#ifndef MPLOG_SINK_H
#define MPLOG_SINK_H

#include <stdint.h>

#include "fmt.h"

#define SINK_FLUSH_BYTES (64 * 1024)
#define SINK_BUF_MAX     (16 * 1024 * 1024)  /* then records are dropped */

struct sink {
	int fd;
	int owned;              /* fd was opened here */
	enum fmt_kind format;
	char *path;             /* NULL for an inherited descriptor */
	struct fmt_buf buf;
	uint64_t lost;          /* records dropped since last reported */
	int failing;            /* the last write failed */
	int orphaned;           /* the path is gone and cannot be created */
};

/* Open path for appending ("-" or NULL: use fd). -1 with errno on failure. */
int sink_open(struct sink *s, const char *path, int fd, enum fmt_kind format);

/* Format r into the sink's buffer. */
void sink_put(struct sink *s, const struct fmt_record *r);

/* 1 when the buffer holds enough to be written out now. */
int sink_full(const struct sink *s);

/* Write out the buffer; 0, or -1 when bytes remain after an error. */
int sink_flush(struct sink *s);

/* Flush, report records lost, and close. */
void sink_close(struct sink *s);

#endif
