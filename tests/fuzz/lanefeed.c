/* lanefeed.c - one lane and its name tables from bytes, read as mplogd does. */
#include "lanefeed.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snap.h"

/* Everything one read allocates, freed in one place. */
struct lanefeed_run {
	struct lane_hdr *hdr;
	char *data;
	uint32_t size;
	uint64_t tail, head, done;
	uint32_t flags;
	struct fmt_buf text, json;
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

static void
lanefeed_put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
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

/*
 * One lane per ring size, kept between reads: zeroing a fresh megabyte
 * for every input would cost more than reading it. Only the bytes the
 * last input wrote are zeroed again (the reader writes no ring byte).
 */
static struct {
	struct lane_hdr *hdr;
	size_t off, len;        /* the last image: from off, len bytes, wrapping */
} lanefeed_lanes[LANEFEED_SHIFTS];

/* The kept lane of 1 << (LANEFEED_SHIFT_MIN + k) bytes, all zero. */
static struct lane_hdr *
lanefeed_lane_get(uint32_t k)
{
	uint32_t size = UINT32_C(1) << (LANEFEED_SHIFT_MIN + k);
	struct lane_hdr *hdr = lanefeed_lanes[k].hdr;
	size_t off = lanefeed_lanes[k].off, len = lanefeed_lanes[k].len;
	size_t first = len < size - off ? len : size - off;
	char *data;

	if (hdr == NULL)
		return lanefeed_lanes[k].hdr = lanefeed_lane(size);
	data = (char *)(hdr + 1);
	memset(hdr, 0, sizeof(*hdr));
	memset(data + off, 0, first);
	memset(data, 0, len - first);
	lanefeed_lanes[k].len = 0;
	return hdr;
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

/* A name the record carries (len bytes at p, its copy), cut at a NUL as
 * consumer_name does; 1 when not empty. */
static int
lanefeed_name(const char *p, uint8_t len, char out[SEG_NAME_MAX])
{
	memcpy(out, p, len);
	out[len] = '\0';
	return out[0] != '\0';
}

/* Format r in both formats and check each line. */
static int
lanefeed_format(struct lanefeed_run *run, const struct fmt_record *r,
    struct lanefeed_stats *st)
{
	const char *bad;

	run->text.len = 0;
	run->json.len = 0;
	if (fmt_record(&run->text, FMT_TEXT, r) == -1 ||
	    fmt_record(&run->json, FMT_JSON, r) == -1)
		return lanefeed_fail(run, "fmt_record failed: %s", strerror(errno));
	if ((bad = lanefeed_text_bad(run->text.data, run->text.len)) != NULL)
		return lanefeed_fail(run, "text line %s: %.*s", bad,
		    (int)(run->text.len > 200 ? 200 : run->text.len), run->text.data);
	if ((bad = lanefeed_json_bad(run->json.data, run->json.len)) != NULL)
		return lanefeed_fail(run, "JSON line %s: %.*s", bad,
		    (int)(run->json.len > 200 ? 200 : run->json.len), run->json.data);
	st->text_bytes += run->text.len;
	st->json_bytes += run->json.len;
	return 0;
}

/* The record of v: check the view, copy, consume, look up, format. */
static int
lanefeed_record(struct lanefeed_run *run, const struct lane_view *v, uint64_t t0,
    struct lanefeed_stats *st, lanefeed_each_fn *each, void *arg)
{
	char proc[SEG_NAME_MAX], ident[SEG_NAME_MAX];
	int has_proc, has_ident;
	char *msg;

	uint32_t names = (uint32_t)v->rec.name_len + v->rec.ident_len;

	if (v->rec.type != LANE_REC_LOG || v->rec.size < sizeof(struct lane_rec) + names ||
	    v->rec.name_len > LANE_NAME_MAX || v->rec.ident_len > LANE_NAME_MAX ||
	    v->msg_len != v->rec.size - sizeof(struct lane_rec) - names ||
	    v->msg_len > LANE_MSG_MAX)
		return lanefeed_fail(run, "view of type %u, size %u, length %u, names %u",
		    v->rec.type, v->rec.size, v->msg_len, names);
	if (v->msg < run->data + sizeof(struct lane_rec) || v->msg > run->data + run->size ||
	    v->msg_len + names > (size_t)(run->data + run->size - v->msg))
		return lanefeed_fail(run, "message or names outside the ring");
	if (v->next - v->pos != lane_rec_span(v->msg_len + names) ||
	    v->next - t0 > run->head - t0)
		return lanefeed_fail(run, "view from %llu to %llu, head %llu",
		    (unsigned long long)v->pos, (unsigned long long)v->next,
		    (unsigned long long)run->head);
	/* As consumer_emit: copy out of the ring, then claim. */
	if ((msg = malloc(v->msg_len + names > 0 ? v->msg_len + names : 1)) == NULL)
		return lanefeed_fail(run, "out of memory");
	memcpy(msg, v->msg, v->msg_len + names);
	if (lane_claim(run->hdr, v) == -1) {
		free(msg);
		return lanefeed_fail(run, "a record could not be claimed with nobody else reading");
	}
	has_proc = lanefeed_name(msg + v->msg_len, v->rec.name_len, proc);
	has_ident = lanefeed_name(msg + v->msg_len + v->rec.name_len, v->rec.ident_len, ident);
	/* consumer_proc_name falls back to /proc/PID/comm; a pid from the
	 * input must not make the result depend on the machine, so "?". */
	struct fmt_record r = {
		.ts_ns = v->rec.ts_ns, .pid = v->rec.pid, .tid = v->rec.tid,
		.source = v->rec.source, .facility = (uint8_t)(v->rec.pri >> 3),
		.severity = v->rec.pri & 7, .proc = has_proc ? proc : "?",
		.ident = has_ident ? ident : NULL, .msg = msg, .msg_len = v->msg_len,
		.continued = (v->rec.flags & LANE_F_SPLIT) != 0,
	};
	/* A snapshot is formatted as consumer_snap does; one that does not
	 * add up is skipped. */
	char *text = NULL;

	if (v->rec.flags & LANE_F_SNAP) {
		int n;

		if ((text = malloc(LANE_MSG_MAX + 1)) == NULL)
			return lanefeed_fail(run, "out of memory");
		n = snap_format(msg, v->msg_len, text, LANE_MSG_MAX + 1);
		if (n == -1) {
			free(text);
			free(msg);
			st->records++;
			return 0;
		}
		r.msg = text;
		r.msg_len = (size_t)n;
	}
	int rc = lanefeed_format(run, &r, st);

	if (rc == 0 && each != NULL)
		each(&r, arg);
	free(text);
	free(msg);
	st->records++;
	return rc;
}

/* Skip damage as consumer_damaged does; the lane is then empty. */
static int
lanefeed_damage(struct lanefeed_run *run, const struct lane_view *v, uint64_t t1,
    struct lanefeed_stats *st)
{
	if (v->pos != t1 || v->next != run->head)
		return lanefeed_fail(run, "damage at %llu resuming at %llu; tail %llu, head %llu",
		    (unsigned long long)v->pos, (unsigned long long)v->next,
		    (unsigned long long)t1, (unsigned long long)run->head);
	if (st->damaged > 0)
		return lanefeed_fail(run, "damage again after skipping to head");
	if (lane_claim(run->hdr, v) == -1)
		return lanefeed_fail(run, "damage could not be skipped with nobody else reading");
	st->damaged++;
	return 0;
}

/* Hold the reading side as consumer_hold does (the holder is us or
 * nobody: no /proc lookup for a holder the input names). */
static int
lanefeed_hold(struct lanefeed_run *run)
{
	uint64_t r = lane_reader(run->hdr);

	if (r == LANEFEED_ME)
		return 0;
	if (r != 0)
		return lanefeed_fail(run, "reader %llx before the read", (unsigned long long)r);
	if (lane_seize(run->hdr, 0, LANEFEED_ME) == -1 || lane_reader(run->hdr) != LANEFEED_ME)
		return lanefeed_fail(run, "could not seize a lane nobody held");
	/* Relaxed: this thread alone touches the lane. */
	if (atomic_load_explicit(&run->hdr->tail, memory_order_relaxed) != run->done)
		return lanefeed_fail(run, "seizing did not rewind tail to done");
	return 0;
}

/* Peek and claim while the lane has records; see lanefeed.h. */
static int
lanefeed_drain(struct lanefeed_run *run, struct lanefeed_stats *st,
    lanefeed_each_fn *each, void *arg)
{
	/* Every record and PAD moves tail on by 8 bytes at least, within one
	 * ring's worth of published bytes; damage moves it to head once. */
	uint64_t bound = run->size / 8 + 4;

	if (lanefeed_hold(run) == -1)
		return -1;
	for (uint64_t steps = 0;; steps++) {
		struct lane_view v;
		uint64_t t0, t1;
		int r;

		if (steps > bound)
			return lanefeed_fail(run, "still reading after %llu steps",
			    (unsigned long long)steps);
		/* As consumer_peek: nothing to do while lane_used says so. */
		if (lane_used(run->hdr) == 0)
			break;
		/* Relaxed: this thread alone touches the lane. */
		t0 = atomic_load_explicit(&run->hdr->tail, memory_order_relaxed);
		memset(&v, 0, sizeof(v));
		r = lane_peek(run->hdr, run->data, run->size, &v);
		t1 = atomic_load_explicit(&run->hdr->tail, memory_order_relaxed);
		if (t1 - t0 > run->head - t0)
			return lanefeed_fail(run, "peek moved tail past head");
		if (r == 0) {
			if (t1 != run->head)
				return lanefeed_fail(run, "empty with tail %llu, head %llu",
				    (unsigned long long)t1, (unsigned long long)run->head);
			break;
		}
		if (r == -1) {
			if (lanefeed_damage(run, &v, t1, st) == -1)
				return -1;
			continue;
		}
		if (r != 1)
			return lanefeed_fail(run, "lane_peek returned %d", r);
		if (v.pos != t1)
			return lanefeed_fail(run, "view not at tail");
		if (lanefeed_record(run, &v, t1, st, each, arg) == -1)
			return -1;
	}
	/* As consumer_flush: every claimed record is delivered. */
	lane_done(run->hdr, atomic_load_explicit(&run->hdr->tail, memory_order_relaxed));
	return 0;
}

/* Lay the input out in run (see lanefeed.h for the layout). */
static int
lanefeed_layout(struct lanefeed_run *run, const uint8_t *in, size_t n,
    struct lanefeed_stats *st)
{
	uint8_t head[LANEFEED_HEAD] = { 0 };
	size_t img_len, off, first;
	uint32_t k;

	memcpy(head, in, n < sizeof(head) ? n : sizeof(head));
	in += n < sizeof(head) ? n : sizeof(head);
	n -= n < sizeof(head) ? n : sizeof(head);
	k = head[0] % LANEFEED_SHIFTS;
	run->size = UINT32_C(1) << (LANEFEED_SHIFT_MIN + k);
	run->flags = head[3];
	run->tail = lanefeed_get64(head + 8);
	run->head = run->tail + lanefeed_get64(head + 16);
	run->done = run->tail - lanefeed_get64(head + 24);
	st->lane_size = run->size;
	if ((run->hdr = lanefeed_lane_get(k)) == NULL)
		return lanefeed_fail(run, "out of memory");
	run->data = (char *)(run->hdr + 1);
	img_len = n < run->size ? n : run->size;
	off = run->done & (run->size - 1);
	first = img_len < run->size - off ? img_len : run->size - off;
	memcpy(run->data + off, in, first);
	memcpy(run->data, in + first, img_len - first);
	lanefeed_lanes[k].off = off;
	lanefeed_lanes[k].len = img_len;
	/* Relaxed: the lane is this thread's alone. */
	atomic_store_explicit(&run->hdr->tail, run->tail, memory_order_relaxed);
	atomic_store_explicit(&run->hdr->head, run->head, memory_order_relaxed);
	atomic_store_explicit(&run->hdr->done, run->done, memory_order_relaxed);
	atomic_store_explicit(&run->hdr->reader,
	    (run->flags & LANEFEED_HELD) != 0 ? LANEFEED_ME : 0, memory_order_relaxed);
	return 0;
}

/* Lay the input out and read it as the consumer does. */
int
lanefeed_read(const uint8_t *in, size_t n, struct lanefeed_stats *st,
    lanefeed_each_fn *each, void *arg, char *why, size_t whylen)
{
	struct lanefeed_run run;
	int rc;

	memset(&run, 0, sizeof(run));
	memset(st, 0, sizeof(*st));
	run.why = why;
	run.whylen = whylen;
	if (whylen > 0)
		why[0] = '\0';
	rc = lanefeed_layout(&run, in, n, st);
	if (rc == 0)
		rc = lanefeed_drain(&run, st, each, arg);
	fmt_buf_free(&run.text);
	fmt_buf_free(&run.json);
	return rc;
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
	out[3] = reader == LANEFEED_ME ? LANEFEED_HELD : 0;
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
