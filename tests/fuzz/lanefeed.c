/* lanefeed.c - lanes from bytes, read by mplogd's own consumer. */
#include "lanefeed.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "catchall.h"
#include "consumer.h"

#define LANEFEED_WINDOW_NS (50 * 1000000LL)      /* the consumer's reorder window */
#define LANEFEED_RATE_BURST 3                      /* with LANEFEED_RATE */
#define LANEFEED_CATCHALL_NS (10 * 1000000000LL)   /* a catch-all run's bound */

/* One consumer per ring size, kept between reads: creating a segment
 * for every input would cost more than reading it. Only the bytes the
 * last input wrote are zeroed again (the consumer writes no ring byte). */
static struct lanefeed_kept {
	struct consumer c;
	int open;
	size_t off[LANEFEED_LANES], len[LANEFEED_LANES];  /* last images, wrapping */
} lanefeed_kept[LANEFEED_SHIFTS];

/* The two sinks' descriptors (text, JSON): memory files read back. */
static int lanefeed_fds[2] = { -1, -1 };
static struct lanefeed_out {
	char *data;
	size_t len, cap;
} lanefeed_out[2];

/* Everything one read needs. */
struct lanefeed_run {
	struct lanefeed_kept *k;
	uint32_t size;
	uint32_t flags;         /* the first section's */
	uint32_t lanes;         /* sections laid out */
	uint64_t head[LANEFEED_LANES];
	char *why;
	size_t whylen;
};

/* Record the broken check in why; returns -1. */
static int __attribute__((format(printf, 2, 3)))
lanefeed_fail(struct lanefeed_run *run, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(run->why, run->whylen, fmt, ap);
	va_end(ap);
	return -1;
}

static uint64_t
lanefeed_get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t
lanefeed_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void
lanefeed_put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
lanefeed_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A lane header and its ring of size bytes in one allocation, zeroed. */
static struct lane_hdr *
lanefeed_lane(uint32_t size)
{
	size_t len = sizeof(struct lane_hdr) + size;
	struct lane_hdr *hdr = aligned_alloc(SEG_CACHELINE, len);

	if (hdr != NULL)
		memset(hdr, 0, len);
	return hdr;
}

/* A sink of format kind writing to a memory file; 0 or -1. */
static int
lanefeed_sink(struct sink *s, enum fmt_kind kind, int *fd)
{
	struct sink_spec spec = { .kind = SINK_FILE, .format = kind, .level = 7,
	    .color = SINK_COLOR_NEVER, .target = strdup("-") };
	char why[256];

	if (*fd == -1)
		*fd = memfd_create(kind == FMT_TEXT ? "lanefeed-text" : "lanefeed-json", MFD_CLOEXEC);
	if (*fd == -1 || spec.target == NULL)
		return -1;
	return sink_open(s, &spec, *fd, why, sizeof(why));
}

/* The kept consumer of ring size 1 << (LANEFEED_SHIFT_MIN + k), its
 * lanes zero again; NULL when it cannot be made. */
static struct lanefeed_kept *
lanefeed_consumer(uint32_t k)
{
	struct lanefeed_kept *kept = &lanefeed_kept[k];
	uint32_t size = UINT32_C(1) << (LANEFEED_SHIFT_MIN + k);
	struct seg_params p = { .lane_count = LANEFEED_LANES, .lane_size = size, .level = 7 };
	char name[SEG_PATH_MAX];
	pid_t owner;

	if (!kept->open) {
		snprintf(name, sizeof(name), "/mplog-lanefeed-%d-%u", (int)getpid(), k);
		if (consumer_open(&kept->c, name, &p, &owner) == -1)
			return NULL;
		shm_unlink(name);
		kept->c.sinks = calloc(2, sizeof(struct sink));
		if (kept->c.sinks == NULL || lanefeed_sink(&kept->c.sinks[0], FMT_TEXT,
		    &lanefeed_fds[0]) == -1 || lanefeed_sink(&kept->c.sinks[1], FMT_JSON,
		    &lanefeed_fds[1]) == -1)
			return NULL;
		kept->c.nsinks = 2;
		kept->c.window_ns = LANEFEED_WINDOW_NS;
		kept->c.flush_ns = INT64_MAX;
		kept->open = 1;
	}
	for (uint32_t i = 0; i < LANEFEED_LANES; i++) {
		struct lane_hdr *hdr = seg_lane(&kept->c.seg, i);
		char *data = (char *)(hdr + 1);
		size_t first = kept->len[i] < size - kept->off[i] ? kept->len[i] : size - kept->off[i];

		memset(hdr, 0, sizeof(*hdr));
		memset(data + kept->off[i], 0, first);
		memset(data, 0, kept->len[i] - first);
		kept->len[i] = 0;
	}
	return kept;
}

/*
 * Strict UTF-8: length of the character at s and its code point, or 0
 * for an invalid or truncated sequence. Written apart from fmt.c's, so
 * that a mistake in one is not repeated in the check.
 */
static size_t
lanefeed_utf8(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c, min;
	size_t len;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2; c = s[0] & 0x1f; min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3; c = s[0] & 0x0f; min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4; c = s[0] & 0x07; min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* What is wrong with a text line, or NULL: one line, printable UTF-8 and
 * tabs only (no controls, C1 controls, line separators or bidi marks). */
static const char *
lanefeed_text_bad(const char *line, size_t n)
{
	const unsigned char *s = (const unsigned char *)line;
	uint32_t cp;
	size_t k;

	if (n == 0 || s[n - 1] != '\n')
		return "does not end with a newline";
	for (size_t i = 0; i < n - 1; i += k) {
		if ((k = lanefeed_utf8(s + i, n - 1 - i, &cp)) == 0)
			return "holds invalid UTF-8";
		if ((cp < 0x20 && cp != '\t') || (cp >= 0x7f && cp < 0xa0))
			return "holds a control character";
		if (cp == 0x2028 || cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) ||
		    (cp >= 0x2066 && cp <= 0x2069))
			return "holds a line separator or bidi control";
	}
	return NULL;
}

/* A cursor over one JSON line. */
struct lanefeed_json {
	const unsigned char *p, *end;
	int depth;
};

static void
lanefeed_json_ws(struct lanefeed_json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\r'))
		j->p++;
}

static int
lanefeed_json_lit(struct lanefeed_json *j, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
		return -1;
	j->p += n;
	return 0;
}

static int
lanefeed_json_string(struct lanefeed_json *j)
{
	uint32_t cp;
	size_t k;

	if (j->p >= j->end || *j->p++ != '"')
		return -1;
	while (j->p < j->end) {
		unsigned char c = *j->p;

		if (c == '"') {
			j->p++;
			return 0;
		}
		if (c < 0x20)
			return -1;
		if (c == '\\') {
			if (j->end - j->p < 2)
				return -1;
			c = j->p[1];
			j->p += 2;
			if (c == 'u') {
				if (j->end - j->p < 4)
					return -1;
				for (int i = 0; i < 4; i++, j->p++)
					if (!((*j->p >= '0' && *j->p <= '9') ||
					    (*j->p >= 'a' && *j->p <= 'f') ||
					    (*j->p >= 'A' && *j->p <= 'F')))
						return -1;
			} else if (strchr("\"\\/bfnrt", c) == NULL || c == '\0') {
				return -1;
			}
			continue;
		}
		if ((k = lanefeed_utf8(j->p, (size_t)(j->end - j->p), &cp)) == 0)
			return -1;
		j->p += k;
	}
	return -1;
}

static int
lanefeed_json_number(struct lanefeed_json *j)
{
	const unsigned char *start;

	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p >= j->end || *j->p < '0' || *j->p > '9')
		return -1;
	start = j->p;
	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	if (*start == '0' && j->p - start > 1)
		return -1;      /* a leading zero */
	return 0;       /* fractions and exponents: mplogd writes none */
}

static int lanefeed_json_value(struct lanefeed_json *j);

static int
lanefeed_json_object(struct lanefeed_json *j)
{
	if (++j->depth > 4 || j->p >= j->end || *j->p++ != '{')
		return -1;
	lanefeed_json_ws(j);
	if (j->p < j->end && *j->p == '}') {
		j->p++;
		j->depth--;
		return 0;
	}
	for (;;) {
		lanefeed_json_ws(j);
		if (lanefeed_json_string(j) == -1)
			return -1;
		lanefeed_json_ws(j);
		if (j->p >= j->end || *j->p++ != ':')
			return -1;
		lanefeed_json_ws(j);
		if (lanefeed_json_value(j) == -1)
			return -1;
		lanefeed_json_ws(j);
		if (j->p >= j->end)
			return -1;
		if (*j->p == '}') {
			j->p++;
			j->depth--;
			return 0;
		}
		if (*j->p++ != ',')
			return -1;
	}
}

static int
lanefeed_json_value(struct lanefeed_json *j)
{
	if (j->p >= j->end)
		return -1;
	switch (*j->p) {
	case '"': return lanefeed_json_string(j);
	case '{': return lanefeed_json_object(j);
	case 'n': return lanefeed_json_lit(j, "null");
	case 't': return lanefeed_json_lit(j, "true");
	case 'f': return lanefeed_json_lit(j, "false");
	default: return lanefeed_json_number(j);
	}
}

/* What is wrong with a JSON line, or NULL: one object, then a newline. */
static const char *
lanefeed_json_bad(const char *line, size_t n)
{
	struct lanefeed_json j = {
		(const unsigned char *)line, (const unsigned char *)line + n, 0,
	};

	if (n == 0 || line[n - 1] != '\n')
		return "does not end with a newline";
	j.end--;
	if (lanefeed_json_object(&j) == -1)
		return "is not a valid JSON object";
	lanefeed_json_ws(&j);
	return j.p == j.end ? NULL : "has bytes after the object";
}

/* Lay one section out as lane i; the bytes it took, or 0 at the end. */
static size_t
lanefeed_section(struct lanefeed_run *run, uint32_t i, const uint8_t *in, size_t n)
{
	uint8_t h[LANEFEED_HEAD] = { 0 };
	struct lane_hdr *hdr = seg_lane(&run->k->c.seg, i);
	char *data = (char *)(hdr + 1);
	size_t img, off, first, took;
	uint64_t tail, done;

	memcpy(h, in, n < sizeof(h) ? n : sizeof(h));
	took = n < sizeof(h) ? n : sizeof(h);
	img = lanefeed_get32(h + 4);
	if (img == 0 || img > n - took)
		img = n - took;
	took += img;
	if (img > run->size)
		img = run->size;
	tail = lanefeed_get64(h + 8);
	run->head[i] = tail + lanefeed_get64(h + 16);
	done = tail - lanefeed_get64(h + 24);
	off = done & (run->size - 1);
	first = img < run->size - off ? img : run->size - off;
	memcpy(data + off, in + LANEFEED_HEAD, first);
	memcpy(data, in + LANEFEED_HEAD + first, img - first);
	run->k->off[i] = off;
	run->k->len[i] = img;
	/* Relaxed: nobody else maps the segment. */
	atomic_store_explicit(&hdr->tail, tail, memory_order_relaxed);
	atomic_store_explicit(&hdr->head, run->head[i], memory_order_relaxed);
	atomic_store_explicit(&hdr->done, done, memory_order_relaxed);
	atomic_store_explicit(&hdr->reader, (h[1] & LANEFEED_HELD) ? run->k->c.me : 0,
	    memory_order_relaxed);
	return took;
}

/* Lay the input out (see lanefeed.h for the layout). */
static int
lanefeed_layout(struct lanefeed_run *run, const uint8_t *in, size_t n)
{
	uint32_t k = (n > 0 ? in[0] : 0) % LANEFEED_SHIFTS;
	size_t took;

	run->size = UINT32_C(1) << (LANEFEED_SHIFT_MIN + k);
	run->flags = n > 1 ? in[1] : 0;
	if ((run->k = lanefeed_consumer(k)) == NULL)
		return lanefeed_fail(run, "no consumer: %s", strerror(errno));
	do {
		took = lanefeed_section(run, run->lanes, in, n);
		in += took;
		n -= took;
		run->lanes++;
	} while (n > 0 && run->lanes < LANEFEED_LANES);
	return 0;
}

/* Check every line the sink of fd wrote with bad; the records in
 * *lines (lines that are neither empty nor indented); the bytes kept in
 * out. */
static int
lanefeed_lines(struct lanefeed_run *run, int fd, struct lanefeed_out *out,
    const char *(*bad)(const char *, size_t), const char *what, uint64_t *lines)
{
	off_t len = lseek(fd, 0, SEEK_END);
	const char *p, *end, *nl, *why;

	*lines = 0;
	out->len = 0;
	if (len >= 0 && (size_t)len + 1 > out->cap) {
		free(out->data);
		out->cap = (size_t)len + 1;
		if ((out->data = malloc(out->cap)) == NULL)
			out->cap = 0;
	}
	if (len < 0 || out->data == NULL ||
	    pread(fd, out->data, (size_t)len, 0) != len || ftruncate(fd, 0) == -1 ||
	    lseek(fd, 0, SEEK_SET) != 0)
		return lanefeed_fail(run, "reading the %s sink back: %s", what, strerror(errno));
	out->len = (size_t)len;
	out->data[len] = '\0';
	for (p = out->data, end = p + len; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return lanefeed_fail(run, "%s output ends without a newline", what);
		if ((why = bad(p, (size_t)(nl + 1 - p))) != NULL)
			return lanefeed_fail(run, "%s line %s: %.*s", what, why,
			    (int)(nl - p > 200 ? 200 : nl - p), p);
		/* A record's further lines (a multi-line record in text) are
		 * indented or empty: only its first line starts otherwise. */
		*lines += nl > p && *p != ' ';
	}
	return 0;
}

/* Run the consumer as mplogd's loop does, with a bound: a step inside
 * the reorder window unless the input asks to drain only, then steps
 * that drain, then the flush that gives the bytes back. */
static int
lanefeed_consume(struct lanefeed_run *run)
{
	struct consumer *c = &run->k->c;
	/* Every record and PAD moves tail on by 8 bytes at least, within one
	 * ring's worth of published bytes per lane; damage moves it to head
	 * (a retry at most four times a look). */
	uint64_t bound = (uint64_t)LANEFEED_LANES * run->size / 8 / CONSUMER_STEP_MAX + 8;
	uint64_t steps = 0;

	ratelimit_free(&c->rate);
	if ((run->flags & LANEFEED_RATE) &&
	    ratelimit_init(&c->rate, LANEFEED_LANES, LANEFEED_RATE_BURST, 1000000000LL) == -1)
		return lanefeed_fail(run, "rate limit: %s", strerror(errno));
	if (!(run->flags & LANEFEED_DRAIN))
		consumer_step(c, 0);
	while (consumer_step(c, 1) > 0)
		if (++steps > bound)
			return lanefeed_fail(run, "still reading after %llu steps",
			    (unsigned long long)steps);
	consumer_flush(c);
	for (uint32_t i = 0; i < run->lanes; i++) {
		struct lane_hdr *hdr = seg_lane(&c->seg, i);

		if (lane_used(hdr) != 0)
			return lanefeed_fail(run, "lane %u: %llu bytes left unread", i,
			    (unsigned long long)lane_used(hdr));
		/* Relaxed: this thread alone touches the segment. done only
		 * grows: it stays past tail when the input put it there. */
		if (atomic_load_explicit(&hdr->done, memory_order_relaxed) <
		    atomic_load_explicit(&hdr->tail, memory_order_relaxed))
			return lanefeed_fail(run, "lane %u: claimed but not given back", i);
	}
	return 0;
}

/* Zero every lane of kept (after a run that wrote where no image says). */
static void
lanefeed_zero_all(struct lanefeed_kept *kept)
{
	for (uint32_t i = 0; i < LANEFEED_LANES; i++) {
		struct lane_hdr *hdr = seg_lane(&kept->c.seg, i);

		memset(hdr, 0, sizeof(*hdr) + kept->c.seg.lane_size);
		kept->len[i] = 0;
	}
}

/* Write n bytes of data to fd (non-blocking) in pieces of at most piece
 * bytes, running the consumer whenever the socket is full (the reader
 * may be waiting for lane room). -1 when it never drains. */
static int
lanefeed_send(struct lanefeed_run *run, int fd, const uint8_t *data, size_t n, size_t piece)
{
	int64_t until = seg_now_mono() + LANEFEED_CATCHALL_NS;

	while (n > 0) {
		ssize_t w = write(fd, data, n < piece ? n : piece);

		if (w > 0) {
			data += w;
			n -= (size_t)w;
			continue;
		}
		if (w == -1 && errno != EAGAIN && errno != EINTR)
			return lanefeed_fail(run, "writing to the catch-all socket: %s",
			    strerror(errno));
		if (seg_now_mono() > until)
			return lanefeed_fail(run, "the catch-all reader stopped reading");
		consumer_step(&run->k->c, 1);
		sched_yield();
	}
	return 0;
}

/* Read with the consumer until the catch-all reader is done. */
static int
lanefeed_catchall_wait(struct lanefeed_run *run, struct catchall *ca)
{
	int64_t until = seg_now_mono() + LANEFEED_CATCHALL_NS;

	catchall_stop(ca, until);
	while (!catchall_done(ca)) {
		if (seg_now_mono() > until + LANEFEED_CATCHALL_NS)
			return lanefeed_fail(run, "the catch-all reader never finished");
		consumer_step(&run->k->c, 1);
		sched_yield();
	}
	return 0;
}

/* Check what the sinks got, and count it in st; records delivered since
 * records were, damaged since damaged. */
static int
lanefeed_check_out(struct lanefeed_run *run, struct lanefeed_stats *st, uint64_t records,
    uint64_t damaged)
{
	uint64_t text_lines, json_lines;

	if (lanefeed_lines(run, lanefeed_fds[0], &lanefeed_out[0], lanefeed_text_bad, "text",
	    &text_lines) == -1 ||
	    lanefeed_lines(run, lanefeed_fds[1], &lanefeed_out[1], lanefeed_json_bad, "JSON",
	    &json_lines) == -1)
		return -1;
	st->damaged = run->k->c.damaged - damaged;
	/* Each damage report is a record of mplogd's own. */
	st->records = run->k->c.records - records - st->damaged;
	st->lane_size = run->size;
	st->lanes = run->lanes;
	st->text_bytes = lanefeed_out[0].len;
	st->json = lanefeed_out[1].data;
	st->json_len = lanefeed_out[1].len;
	if (text_lines != json_lines || text_lines != run->k->c.records - records)
		return lanefeed_fail(run, "%llu records delivered, %llu text lines, %llu JSON lines",
		    (unsigned long long)(run->k->c.records - records),
		    (unsigned long long)text_lines, (unsigned long long)json_lines);
	return 0;
}

int
lanefeed_catchall(const uint8_t *in, size_t n, struct lanefeed_stats *st, char *why,
    size_t whylen)
{
	struct lanefeed_run run = { .why = why, .whylen = whylen, .size = UINT32_C(1) <<
	    LANEFEED_SHIFT_MIN };
	size_t piece = n > 1 ? (size_t)in[1] * 64 + 1 : 1;
	uint64_t records, damaged;
	struct catchall *ca;
	int wfd, rc;

	memset(st, 0, sizeof(*st));
	if (whylen > 0)
		why[0] = '\0';
	if ((run.k = lanefeed_consumer(0)) == NULL)
		return lanefeed_fail(&run, "no consumer: %s", strerror(errno));
	seg_heartbeat(&run.k->c.seg);   /* the reader waits only for a live one */
	records = run.k->c.records;
	damaged = run.k->c.damaged;
	if ((ca = catchall_open(&run.k->c.seg, 0, n > 0 ? in[0] & 7 : 6)) == NULL)
		return lanefeed_fail(&run, "catchall_open: %s", strerror(errno));
	wfd = dup(catchall_child_fd(ca));
	catchall_forked(ca);
	if (wfd == -1 || fcntl(wfd, F_SETFL, O_NONBLOCK) == -1)
		rc = lanefeed_fail(&run, "the command's end: %s", strerror(errno));
	else
		rc = lanefeed_send(&run, wfd, in + (n > 2 ? 2 : n), n > 2 ? n - 2 : 0, piece);
	if (wfd != -1)
		close(wfd);
	if (rc == 0)
		rc = lanefeed_catchall_wait(&run, ca);
	catchall_close(ca);
	run.lanes = 1;
	if (rc == 0)
		rc = lanefeed_consume(&run);
	if (rc == 0)
		rc = lanefeed_check_out(&run, st, records, damaged);
	lanefeed_zero_all(run.k);
	return rc;
}

int
lanefeed_read(const uint8_t *in, size_t n, struct lanefeed_stats *st, char *why, size_t whylen)
{
	struct lanefeed_run run = { .why = why, .whylen = whylen };
	uint64_t records, damaged;

	memset(st, 0, sizeof(*st));
	if (whylen > 0)
		why[0] = '\0';
	if (lanefeed_layout(&run, in, n) == -1)
		return -1;
	records = run.k->c.records;
	damaged = run.k->c.damaged;
	if (lanefeed_consume(&run) == -1)
		return -1;
	return lanefeed_check_out(&run, st, records, damaged);
}

/* Start an empty lane to write an input with. */
int
lanefeed_build_open(struct lanefeed_build *b, uint32_t shift, uint64_t tail)
{
	memset(b, 0, sizeof(*b));
	if (shift < LANEFEED_SHIFT_MIN || shift >= LANEFEED_SHIFT_MIN + LANEFEED_SHIFTS) {
		errno = EINVAL;
		return -1;
	}
	b->shift = shift;
	if ((b->hdr = lanefeed_lane(UINT32_C(1) << shift)) == NULL)
		return -1;
	/* Relaxed: nobody else sees the lane while it is built. */
	atomic_store_explicit(&b->hdr->tail, tail, memory_order_relaxed);
	atomic_store_explicit(&b->hdr->head, tail, memory_order_relaxed);
	atomic_store_explicit(&b->hdr->done, tail, memory_order_relaxed);
	b->w.hdr = b->hdr;
	b->w.data = (char *)(b->hdr + 1);
	b->w.size = UINT32_C(1) << shift;
	b->w.head = tail;
	return 0;
}

/* The input that lays out what was built. */
uint8_t *
lanefeed_pack(const struct lanefeed_build *b, size_t *n)
{
	uint32_t size = b->w.size;
	/* Relaxed: the builder's own lane, in the builder's thread. */
	uint64_t tail = atomic_load_explicit(&b->hdr->tail, memory_order_relaxed);
	uint64_t head = atomic_load_explicit(&b->hdr->head, memory_order_relaxed);
	uint64_t done = atomic_load_explicit(&b->hdr->done, memory_order_relaxed);
	uint64_t reader = atomic_load_explicit(&b->hdr->reader, memory_order_relaxed);
	size_t img_len = head - done < size ? (size_t)(head - done) : size;
	size_t off = done & (size - 1), first = img_len < size - off ? img_len : size - off;
	uint8_t *out = calloc(1, LANEFEED_HEAD + img_len);

	if (out == NULL)
		return NULL;
	out[0] = (uint8_t)(b->shift - LANEFEED_SHIFT_MIN);
	out[1] = (uint8_t)((reader == LANEFEED_ME ? LANEFEED_HELD : 0) | b->flags);
	lanefeed_put32(out + 4, (uint32_t)img_len);
	lanefeed_put64(out + 8, tail);
	lanefeed_put64(out + 16, head - tail);
	lanefeed_put64(out + 24, tail - done);
	memcpy(out + LANEFEED_HEAD, b->w.data + off, first);
	memcpy(out + LANEFEED_HEAD + first, b->w.data, img_len - first);
	*n = LANEFEED_HEAD + img_len;
	return out;
}

/* Free what was built. */
void
lanefeed_build_close(struct lanefeed_build *b)
{
	free(b->hdr);
	b->hdr = NULL;
}
