/*
 * fmt.h - turn one record into one line of text or JSON.
 *
 * Called by mplogd's sinks with records it has already checked; the message
 * is arbitrary bytes (any value, not NUL-terminated, maybe invalid UTF-8).
 * Thread-safe (no shared state); not async-signal-safe (allocates).
 *
 * Text:  2026-11-25T09:16:26.123456+00:00 PROC[PID] SEVERITY IDENT: MSG
 *        (": MSG" directly after SEVERITY when there is no ident);
 *        PROC/THREAD[PID] when the thread's name is known and is neither
 *        the process name nor that name cut to FMT_COMM_MAX bytes. Local
 *        time with its UTC offset, to the microsecond. Control characters,
 *        escape sequences and backslashes in any field are made harmless
 *        with strvis(3) C-style escapes; printable UTF-8 is kept as it is
 *        (C1 controls, line separators and bidi overrides are escaped).
 *        A record of several lines (multiline) shows each further line
 *        on a line of its own, indented to where the message starts.
 *        A piece of a line too long for one record ends in " [continued]";
 *        the rest of the line follows in the next record of the thread.
 *        Text uses the process's TZ (mplogd calls tzset at start).
 * JSON:  one object per line with exactly the keys, in order,
 *        ts pid tid proc source facility severity ident msg, where ts is
 *        UTC with nanoseconds ("2026-11-25T07:36:53.631494123Z"), source
 *        is "stderr", "syslog" or "mplog", ident is a string or null.
 *        Always valid JSON: invalid UTF-8 bytes become U+FFFD, control
 *        characters are escaped. A piece of a longer line has one more
 *        key, "continued":true. Then, last, thread: the writing thread's
 *        name as it was when it wrote, or null when unknown.
 */
#ifndef MPLOG_FMT_H
#define MPLOG_FMT_H

#include <stddef.h>
#include <stdint.h>

enum fmt_kind {
	FMT_TEXT = 0,
	FMT_JSON = 1,
};

#define FMT_COMM_MAX 15  /* bytes of a thread's name the kernel keeps */

struct fmt_record {
	uint64_t ts_ns;         /* CLOCK_REALTIME, nanoseconds */
	int32_t pid;
	int32_t tid;
	uint8_t source;         /* enum lane_source */
	uint8_t facility;       /* 0..23 */
	uint8_t severity;       /* 0..7 */
	const char *proc;       /* process name, never NULL ("" if unknown) */
	const char *ident;      /* NULL when there is none */
	const char *msg;        /* arbitrary bytes */
	size_t msg_len;
	uint8_t continued;      /* a piece of a longer line; more follows */
	const char *thread;     /* the writing thread's name; NULL if unknown */
	uint8_t multiline;      /* lines of one thread joined by "\n": text
	                         * shows each on a line of its own, indented */
	uint8_t has_cred;       /* uid and gid are the kernel's word (a lane
	                         * handed over mplogd's socket, lanesrv.h) */
	uint32_t uid, gid;
	/* The lengths of proc, ident and thread when the caller knows them;
	 * 0: fmt measures them. */
	size_t proc_len, ident_len, thread_len;
};

/* A growable output buffer; zero-initialise, release with fmt_buf_free. */
struct fmt_buf {
	char *data;
	size_t len;
	size_t cap;
};

/* Append one formatted line, newline included. 0, or -1 (ENOMEM). */
int fmt_record(struct fmt_buf *b, enum fmt_kind kind, const struct fmt_record *r);

/* FMT_TEXT or FMT_JSON for "text" or "json"; -1 otherwise. */
int fmt_parse(const char *name);

/* Name of a source: "stderr", "syslog", "mplog" ("?" otherwise). */
const char *fmt_source_name(unsigned source);

/* Append s[0..n) as a quoted JSON string, each invalid UTF-8 byte as
 * U+FFFD, control characters escaped. 0, or -1 (ENOMEM). */
int fmt_json_str(struct fmt_buf *b, const char *s, size_t n);

/* Append printf-formatted text of under 192 bytes (numbers, keywords).
 * 0, or -1 (ENOMEM, or EOVERFLOW when it is longer). */
int fmt_printf(struct fmt_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Append n bytes. 0, or -1 (ENOMEM). */
int fmt_buf_put(struct fmt_buf *b, const char *s, size_t n);

/* Drop the first n bytes of the buffer (they were written). */
void fmt_buf_consume(struct fmt_buf *b, size_t n);

/* Release the buffer's memory. */
void fmt_buf_free(struct fmt_buf *b);

#endif
