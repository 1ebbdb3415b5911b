/*
 * sink.h - one destination of mplogd's output: a file or descriptor in
 * text or JSON, or a syslog server (forward.h), each with the least
 * severe severity it takes (sinkspec.h names them).
 *
 * Records are formatted into a buffer that sink_flush writes out. mplogd
 * flushes whenever it has nothing more to read, whenever a sink holds
 * SINK_FLUSH_BYTES (sink_full), and at the latest the flush interval
 * after a sink's oldest buffered byte (sink_age; --flush-interval). A
 * write error is reported once and retried at the next flush; a failing
 * sink never stops another, and never blocks producers. Records dropped
 * meanwhile (the buffer past SINK_BUF_MAX) are counted and the count is
 * reported when writing resumes or at close.
 *
 * A file sink whose path was removed, or now names another file (renamed
 * away), is opened again under its path: every flush with bytes to write
 * checks (one stat(2)). sink_reopen (SIGHUP) opens it again in any case.
 * With a rotation size, a write that would take the file past it first
 * renames FILE.N-1 to FILE.N ... FILE to FILE.1, keeping rotate_keep of
 * them, and starts a new FILE; with rotate-every, so does the first write
 * of a new hour or day to a file that holds lines; with compress, FILE.1
 * is then compressed by another thread (rotate.h). A terminal gets colour by severity (text
 * format, colour auto, NO_COLOR unset). Used by mplogd's single thread.
 */
#ifndef MPLOG_SINK_H
#define MPLOG_SINK_H

#include <stdint.h>

#include "fmt.h"
#include "sinkspec.h"

#define SINK_FLUSH_BYTES (64 * 1024)
#define SINK_BUF_MAX     (16 * 1024 * 1024)  /* then records are dropped */
#define SINK_FORWARD_HEAD 100   /* a message's bytes besides its text, about */

struct forward;

struct sink {
	struct sink_spec spec;
	int fd;                 /* SINK_FILE */
	int owned;              /* fd was opened here, from spec.target */
	int color;              /* escape sequences by severity */
	uint64_t size;          /* bytes in the file, for rotation */
	struct forward *fwd;    /* SINK_FORWARD */
	struct fmt_buf buf;
	size_t unflushed;       /* bytes put since the last flush (about, for
	                         * a server) */
	int64_t since_ns;       /* CLOCK_MONOTONIC of the first of them */
	uint64_t lost;          /* records dropped since last reported */
	int failing;            /* the last write failed */
	int orphaned;           /* the path is gone and cannot be created */
	time_t rotate_at;       /* rotate-every: the end of the current period */
	int64_t renamed_ns;     /* CLOCK_MONOTONIC when the file was first
	                         * seen renamed away, or 0 */
};

/*
 * Open the sink spec names (its target is taken over; "-" is fd). 0, or
 * -1 with a one-line message naming the target in why.
 */
int sink_open(struct sink *s, struct sink_spec *spec, int fd, char *why, size_t len);

/* Format r into the sink, if its severity is one the sink takes. */
void sink_put(struct sink *s, const struct fmt_record *r);

/* 1 when the buffer holds enough to be written out now. */
int sink_full(const struct sink *s);

/* Nanoseconds the oldest buffered byte has waited (0 when none). */
int64_t sink_age(const struct sink *s, int64_t now_mono);

/* Write out what is buffered; 0, or -1 when bytes remain after an error. */
int sink_flush(struct sink *s);

/* A file sink: open its path again (SIGHUP, after logrotate). */
void sink_reopen(struct sink *s);

/* Flush (a server: for at most SINK_CLOSE_NS), report losses, close. */
void sink_close(struct sink *s);

#define SINK_CLOSE_NS (2000 * 1000000LL)

/*
 * A file renamed away with nothing at its name is written on for this
 * long before a new one is made: logrotate's create mode makes the new
 * file right after its rename, with O_EXCL, and would set aside one made
 * first. A removed file (no name left at all) is replaced at once.
 */
#define SINK_RENAMED_NS (500 * 1000000LL)

#endif
