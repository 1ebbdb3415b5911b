/*
 * multiline.h - group the continuation lines of one thread's stderr (or
 * captured stdout) into the record they continue (MPLOG_MULTILINE=1; off
 * by default): a Python traceback, a Java stack trace, a gcc diagnostic
 * with its source excerpt and caret, a Perl Carp trace arrive as one
 * record each.
 *
 * A line continues the last line its thread wrote when it came at most
 * MULTILINE_GAP_NS after it (by the time of the calls), both are lines of
 * the same stream (stderr, or stdout when captured), the record stays
 * within LINES_MAX, and it is one of:
 *  - indented: it starts with a space or a tab (stack frames, "\tat ...",
 *    source excerpts and carets, Carp's "\t... called at" lines);
 *  - a Java "Caused by: " or "Suppressed: " line;
 *  - in a Python traceback (from "Traceback (most recent call last):"):
 *    an empty line, the first line that is not indented (the exception),
 *    and after it the chaining lines ("During handling of the above
 *    exception, ...", "The above exception was the direct cause ...") and
 *    the next "Traceback" line;
 *  - the line after a gcc or clang context line ("FILE: In function
 *    'f':", in the locale's quotes; "In file included from FILE:N",
 *    "FILE: At top level:").
 * Each thread's last line is held until its next line, or until it is
 * MULTILINE_GAP_NS old (multiline_flush), so every line reaches mplogd up
 * to that much later. A record of more than one line is flagged
 * LINES_F_MULTI; its lines are joined with "\n". Pieces of lines longer
 * than LINES_MAX (LINES_F_SPLIT), and lines of other kinds, are never
 * grouped: they go out after their thread's held line.
 *
 * Used by the pipeline thread alone; not thread-safe. Held text lives in
 * anonymous memory mapped at the first use; no malloc.
 */
#ifndef MPLOG_MULTILINE_H
#define MPLOG_MULTILINE_H

#include <stdint.h>

#include "lines.h"

#define MULTILINE_GAP_NS  (20 * 1000000LL)  /* longest pause inside a record */
#define MULTILINE_GROUPS  32                /* threads holding a line at once */

struct multiline_group {
	int32_t tid;            /* 0: free */
	uint8_t kind, pri, level, state;
	uint16_t ident;
	uint16_t lines;
	uint64_t ts;            /* the first line's */
	uint64_t last_ts;       /* the last line's */
	uint32_t len;
	char *buf;              /* LINES_MAX bytes of the arena */
};

struct multiline {
	struct multiline_group g[MULTILINE_GROUPS];
	char *arena;            /* MULTILINE_GROUPS buffers, mapped at first use */
};

/* Take line l (of any kind): it joins its thread's held record, or that
 * record goes out (emit) and l is held in its place, or, not groupable,
 * goes out itself after it. */
void multiline_add(struct multiline *m, const struct lines_line *l, lines_emit_fn emit,
    void *arg);

/* Send out every held record whose last line is older than before_ns
 * (CLOCK_REALTIME; UINT64_MAX: all), and that of thread tid if tid != 0. */
void multiline_flush(struct multiline *m, uint64_t before_ns, int32_t tid, lines_emit_fn emit,
    void *arg);

/* 1 while a record is held. */
int multiline_pending(const struct multiline *m);

#endif
