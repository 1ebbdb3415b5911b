/*
 * test_lines.c - line assembly for the pipeline thread (preload/lines.c).
 *
 * Checks that a line written in one piece, in three pieces, or several to a
 * record comes out whole, with the time, thread and priority of its first
 * piece; that a trailing partial line waits for the rest; that two threads'
 * interleaved pieces never mix; that empty lines are lines; that a line of
 * exactly LINES_MAX bytes is one unflagged line and one of 2*LINES_MAX+5
 * bytes is two LINES_F_SPLIT pieces and a last one, whether it arrives in
 * one record or in records no larger than the heap ring's; that syslog and
 * mplog records are whole messages losing one trailing newline and leave a
 * thread's unfinished stderr line alone; that lines_flush delivers only
 * lines whose last piece is at or before the cutoff; that a thread past
 * LINES_PARTS with unfinished lines flushes the one written to longest ago;
 * that lines_reset forgets everything; and that random lines of random
 * lengths cut into random records by several threads arrive intact.
 */
#include <criterion/criterion.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heapring.h"
#include "lines.h"
#include "prng.h"

#define LNT_PRI  ((3 << 3) | 4)         /* daemon.warning */

/* One delivered line, copied: lines_line only lends its bytes. */
struct lnt_line {
	uint64_t ts_ns;
	int32_t tid;
	uint8_t kind;
	uint8_t pri;
	uint8_t flags;
	uint16_t ident;
	char *data;
	uint32_t len;
};

struct lnt_out {
	struct lnt_line *v;
	size_t n, cap;
};

/* lines_emit_fn: append a copy of the line to the lnt_out in arg. */
static void
lnt_collect(void *arg, const struct lines_line *l)
{
	struct lnt_out *o = arg;
	struct lnt_line *d;

	if (o->n == o->cap) {
		o->cap = o->cap == 0 ? 16 : 2 * o->cap;
		o->v = realloc(o->v, o->cap * sizeof(*o->v));
		cr_assert_not_null(o->v);
	}
	d = &o->v[o->n++];
	d->ts_ns = l->ts_ns;
	d->tid = l->tid;
	d->kind = l->kind;
	d->pri = l->pri;
	d->flags = l->flags;
	d->ident = l->ident;
	d->len = l->len;
	d->data = malloc(l->len + 1);
	cr_assert_not_null(d->data);
	memcpy(d->data, l->data, l->len);
	d->data[l->len] = '\0';
}

static void
lnt_out_free(struct lnt_out *o)
{
	for (size_t i = 0; i < o->n; i++)
		free(o->v[i].data);
	free(o->v);
	memset(o, 0, sizeof(*o));
}

/* Room for the largest record fed here: bigger than the ring's, on purpose. */
#define LNT_DATA_MAX  (3 * LINES_MAX)
static _Alignas(8) unsigned char lnt_buf[sizeof(struct heapring_rec) + LNT_DATA_MAX];

/* Fill a heap-ring record in buf as a pusher would, and return it. */
static const struct heapring_rec *
lnt_rec(void *buf, uint8_t kind, int32_t tid, uint64_t ts, uint8_t pri, uint16_t ident,
    const void *data, uint32_t len)
{
	struct heapring_rec *rec = buf;

	cr_assert_leq(len, LNT_DATA_MAX);
	rec->len = len;
	rec->nslots = (uint16_t)((sizeof(*rec) + len + HEAPRING_SLOT - 1) / HEAPRING_SLOT);
	rec->kind = kind;
	rec->pri = pri;
	rec->ts_ns = ts;
	rec->tid = tid;
	rec->ident = ident;
	rec->level = 7;         /* every line passes */
	memcpy(rec->data, data, len);
	return rec;
}

/* Feed one record, then scribble over it as the ring reuses popped slots. */
static void
lnt_feed_rec(struct lines *ls, struct lnt_out *o, uint8_t kind, int32_t tid, uint64_t ts,
    uint8_t pri, uint16_t ident, const void *data, uint32_t len)
{
	lines_feed(ls, lnt_rec(lnt_buf, kind, tid, ts, pri, ident, data, len), lnt_collect, o);
	memset(lnt_buf, 0xee, sizeof(struct heapring_rec) + len);
}

/* Feed stderr bytes of thread tid. */
static void
lnt_feed(struct lines *ls, struct lnt_out *o, int32_t tid, uint64_t ts, const char *s)
{
	lnt_feed_rec(ls, o, HEAPRING_STDERR, tid, ts, LNT_PRI, 0, s, (uint32_t)strlen(s));
}

/* Line i of the output is a stderr line with these fields and bytes. */
static void
lnt_expect(const struct lnt_out *o, size_t i, int32_t tid, uint64_t ts, uint8_t flags,
    const char *data, uint32_t len)
{
	const struct lnt_line *l;

	cr_assert_lt(i, o->n, "line %zu missing: only %zu delivered", i, o->n);
	l = &o->v[i];
	cr_assert_eq(l->tid, tid, "line %zu: thread %" PRId32 ", not %" PRId32, i, l->tid, tid);
	cr_assert_eq(l->ts_ns, ts, "line %zu: time %" PRIu64 ", not %" PRIu64, i, l->ts_ns, ts);
	cr_assert_eq(l->kind, HEAPRING_STDERR, "line %zu: kind %u", i, l->kind);
	cr_assert_eq(l->pri, LNT_PRI, "line %zu: priority %u", i, l->pri);
	cr_assert_eq(l->ident, 0, "line %zu: ident %u", i, l->ident);
	cr_assert_eq(l->flags, flags, "line %zu (%" PRIu32 " bytes): flags %u, not %u", i,
	    l->len, l->flags, flags);
	cr_assert_eq(l->len, len, "line %zu: %" PRIu32 " bytes, not %" PRIu32, i, l->len, len);
	cr_assert_eq(memcmp(l->data, data, len), 0, "line %zu: wrong bytes", i);
}

/* The same for a line given as a C string. */
static void
lnt_expect_str(const struct lnt_out *o, size_t i, int32_t tid, uint64_t ts, const char *s)
{
	lnt_expect(o, i, tid, ts, 0, s, (uint32_t)strlen(s));
}

/* A line of len bytes without a newline, different at every offset. */
static char *
lnt_long_line(uint32_t len)
{
	char *s = malloc((size_t)len + 1);

	cr_assert_not_null(s);
	for (uint32_t i = 0; i < len; i++)
		s[i] = (char)('a' + (i * 7 + i / 26 + i / 4099) % 26);
	s[len] = '\n';
	return s;
}

/* Feed len bytes of thread tid in records of at most piece bytes. */
static void
lnt_feed_pieces(struct lines *ls, struct lnt_out *o, int32_t tid, uint64_t ts,
    const char *data, uint32_t len, uint32_t piece)
{
	while (len > 0) {
		uint32_t n = len < piece ? len : piece;

		lnt_feed_rec(ls, o, HEAPRING_STDERR, tid, ts, LNT_PRI, 0, data, n);
		data += n;
		len -= n;
	}
}

Test(lines, line_in_one_piece_is_delivered_with_its_fields)
{
	struct lines ls = { 0 };
	struct lnt_out o = { 0 };

	lnt_feed(&ls, &o, 7, 100, "hello, world\n");
	cr_assert_eq(o.n, 1);
	lnt_expect_str(&o, 0, 7, 100, "hello, world");
	cr_assert_eq(ls.nparts, 0, "a finished line is still held");
	lines_flush(&ls, UINT64_MAX, lnt_collect, &o);
	cr_assert_eq(o.n, 1, "flush delivered a finished line again");
	lnt_out_free(&o);
}

Test(lines, line_in_three_pieces_joins_with_the_time_of_the_first)
{
	struct lines ls = { 0 };
	struct lnt_out o = { 0 };

	lnt_feed(&ls, &o, 7, 1, "hel");
	lnt_feed(&ls, &o, 7, 2, "lo wor");
	cr_assert_eq(o.n, 0, "an unfinished line was delivered");
	lnt_feed(&ls, &o, 7, 3, "ld\n");
	cr_assert_eq(o.n, 1);
	lnt_expect_str(&o, 0, 7, 1, "hello world");
	cr_assert_eq(ls.nparts, 0);
	lnt_out_free(&o);
}

Test(lines, record_of_several_lines_gives_each_in_order)
{
	struct lines ls = { 0 };
	struct lnt_out o = { 0 };

	lnt_feed(&ls, &o, 9, 5, "a\nbb\nccc\n");
	cr_assert_eq(o.n, 3);
	lnt_expect_str(&o, 0, 9, 5, "a");
	lnt_expect_str(&o, 1, 9, 5, "bb");
	lnt_expect_str(&o, 2, 9, 5, "ccc");
	lnt_out_free(&o);
}

Test(lines, trailing_partial_line_is_completed_by_later_records)
{
	struct lines ls = { 0 };
	struct lnt_out o = { 0 };

	lnt_feed(&ls, &o, 4, 10, "one\ntw");
	cr_assert_eq(o.n, 1);
	lnt_expect_str(&o, 0, 4, 10, "one");
	lnt_feed(&ls, &o, 4, 20, "o\nthree\nfo");
	cr_assert_eq(o.n, 3);
	lnt_expect_str(&o, 1, 4, 10, "two");
	lnt_expect_str(&o, 2, 4, 20, "three");
	lnt_feed(&ls, &o, 4, 30, "ur\n");
	cr_assert_eq(o.n, 4);
	lnt_expect_str(&o, 3, 4, 20, "four");
	cr_assert_eq(ls.nparts, 0);
	lnt_out_free(&o);
}

Test(lines, interleaved_pieces_of_two_threads_never_mix)
{
	struct lines ls = { 0 };
	struct lnt_out o = { 0 };

	lnt_feed(&ls, &o, 1, 1, "A1-");
	lnt_feed(&ls, &o, 2, 2, "B1-");
	lnt_feed(&ls, &o, 1, 3, "A2-");
	lnt_feed(&ls, &o, 2, 4, "B2\nB3-");
	cr_assert_eq(o.n, 1);
	lnt_expect_str(&o, 0, 2, 2, "B1-B2");
	lnt_feed(&ls, &o, 1, 5, "A3\n");
	lnt_feed(&ls, &o, 2, 6, "B4\n");
	cr_assert_eq(o.n, 3);
	lnt_expect_str(&o, 1, 1, 1, "A1-A2-A3");
	lnt_expect_str(&o, 2, 2, 4, "B3-B4");
	cr_assert_eq(ls.nparts, 0);
	lnt_out_free(&o);
}

Test(lines, empty_lines_are_delivered_as_empty_lines)
{
	struct lines ls = { 0 };
	struct lnt_out o = { 0 };

	lnt_feed(&ls, &o, 3, 1, "\n");
	lnt_feed(&ls, &o, 3, 2, "\n\n");
	lnt_feed(&ls, &o, 3, 3, "a\n\nb\n");
	cr_assert_eq(o.n, 6);
	lnt_expect_str(&o, 0, 3, 1, "");
	lnt_expect_str(&o, 1, 3, 2, "");
	lnt_expect_str(&o, 2, 3, 2, "");
	lnt_expect_str(&o, 3, 3, 3, "a");
	lnt_expect_str(&o, 4, 3, 3, "");
	lnt_expect_str(&o, 5, 3, 3, "b");
	/* A newline that ends a partial line ends only that line. */
	lnt_feed(&ls, &o, 3, 4, "x");
	lnt_feed(&ls, &o, 3, 5, "\n");
	cr_assert_eq(o.n, 7);
	lnt_expect_str(&o, 6, 3, 4, "x");
	lines_flush(&ls, UINT64_MAX, lnt_collect, &o);
	cr_assert_eq(o.n, 7);
	lnt_out_free(&o);
}

Test(lines, line_of_exactly_lines_max_bytes_is_one_unflagged_line)
{
	struct lines ls = { 0 };
	struct lnt_out o = { 0 };
	char *s = lnt_long_line(LINES_MAX);         /* LINES_MAX bytes and '\n' */

	/* In one record. */
	lnt_feed_rec(&ls, &o, HEAPRING_STDERR, 5, 1, LNT_PRI, 0, s, LINES_MAX + 1);
	cr_assert_eq(o.n, 1);
	lnt_expect(&o, 0, 5, 1, 0, s, LINES_MAX);
	/* As the ring carries it: records of at most HEAPRING_DATA_MAX. */
	lnt_feed_pieces(&ls, &o, 5, 2, s, LINES_MAX + 1, HEAPRING_DATA_MAX);
	cr_assert_eq(o.n, 2, "%zu lines for one of LINES_MAX bytes", o.n - 1);
	lnt_expect(&o, 1, 5, 2, 0, s, LINES_MAX);
	/* The newline with the last bytes. */
	lnt_feed_pieces(&ls, &o, 5, 3, s, LINES_MAX - 6, LINES_MAX);
	lnt_feed_rec(&ls, &o, HEAPRING_STDERR, 5, 4, LNT_PRI, 0, s + LINES_MAX - 6, 7);
	cr_assert_eq(o.n, 3, "%zu lines for one of LINES_MAX bytes", o.n - 2);
	lnt_expect(&o, 2, 5, 3, 0, s, LINES_MAX);
	/* Unfinished and flushed. */
	lnt_feed_pieces(&ls, &o, 5, 5, s, LINES_MAX, 1000);
	lines_flush(&ls, UINT64_MAX, lnt_collect, &o);
	cr_assert_eq(o.n, 4, "%zu lines for one of LINES_MAX bytes", o.n - 3);
	lnt_expect(&o, 3, 5, 5, 0, s, LINES_MAX);
	cr_assert_eq(ls.nparts, 0);
	free(s);
	lnt_out_free(&o);
}

/* Lines from..from+3 are a line of 2*LINES_MAX+5 bytes of s in three pieces. */
static void
lnt_expect_2max5(const struct lnt_out *o, size_t from, uint64_t ts, const char *s)
{
	lnt_expect(o, from, 6, ts, LINES_F_SPLIT, s, LINES_MAX);
	lnt_expect(o, from + 1, 6, o->v[from + 1].ts_ns, LINES_F_SPLIT, s + LINES_MAX, LINES_MAX);
	lnt_expect(o, from + 2, 6, o->v[from + 2].ts_ns, 0, s + 2 * LINES_MAX, 5);
}

Test(lines, line_of_two_lines_max_and_5_bytes_is_two_split_pieces_and_a_last)
{
	const uint32_t len = 2 * LINES_MAX + 5;
	struct lines ls = { 0 };
	struct lnt_out o = { 0 };
	char *s = lnt_long_line(len);

	lnt_feed_rec(&ls, &o, HEAPRING_STDERR, 6, 1, LNT_PRI, 0, s, len + 1);
	cr_assert_eq(o.n, 3);
	lnt_expect_2max5(&o, 0, 1, s);
	lnt_feed_pieces(&ls, &o, 6, 2, s, len + 1, HEAPRING_DATA_MAX);
	cr_assert_eq(o.n, 6, "%zu lines for the pieces", o.n - 3);
	lnt_expect_2max5(&o, 3, 2, s);
	lnt_feed_pieces(&ls, &o, 6, 3, s, len + 1, 999);
	cr_assert_eq(o.n, 9, "%zu lines for the pieces", o.n - 6);
	lnt_expect_2max5(&o, 6, 3, s);
	cr_assert_eq(ls.nparts, 0);
	free(s);
	lnt_out_free(&o);
}

Test(lines, line_of_two_lines_max_bytes_in_pieces_is_one_split_and_one_last_piece)
{
	const uint32_t len = 2 * LINES_MAX;
	struct lines ls = { 0 };
	struct lnt_out o = { 0 };
	char *s = lnt_long_line(len);

	lnt_feed_pieces(&ls, &o, 6, 1, s, len + 1, HEAPRING_DATA_MAX);
	cr_assert_eq(o.n, 2, "%zu lines", o.n);
	lnt_expect(&o, 0, 6, 1, LINES_F_SPLIT, s, LINES_MAX);
	lnt_expect(&o, 1, 6, 1, 0, s + LINES_MAX, LINES_MAX);
	free(s);
	lnt_out_free(&o);
}

Test(lines, syslog_and_mplog_records_are_whole_messages_less_one_newline)
{
	static const struct { uint8_t kind; const char *in, *out; } cases[] = {
		{ HEAPRING_SYSLOG, "hello\n", "hello" },
		{ HEAPRING_SYSLOG, "hello", "hello" },
		{ HEAPRING_SYSLOG, "two\n\n", "two\n" },
		{ HEAPRING_SYSLOG, "a\nb", "a\nb" },
		{ HEAPRING_SYSLOG, "\n", "" },
		{ HEAPRING_SYSLOG, "", "" },
		{ HEAPRING_MPLOG, "mplog: 3 lines dropped\n", "mplog: 3 lines dropped" },
		{ HEAPRING_MPLOG, "x", "x" },
	};
	const size_t n = sizeof(cases) / sizeof(cases[0]);
	struct lines ls = { 0 };
	struct lnt_out o = { 0 };

	/* A stderr line left unfinished by the same thread meanwhile. */
	lnt_feed(&ls, &o, 8, 1, "part");
	for (size_t i = 0; i < n; i++)
		lnt_feed_rec(&ls, &o, cases[i].kind, 8, 10 + i, (uint8_t)(0x80 + i),
		    (uint16_t)(i + 1), cases[i].in, (uint32_t)strlen(cases[i].in));
	cr_assert_eq(o.n, n);
	for (size_t i = 0; i < n; i++) {
		const struct lnt_line *l = &o.v[i];

		cr_assert_eq(l->kind, cases[i].kind, "message %zu: kind %u", i, l->kind);
		cr_assert_str_eq(l->data, cases[i].out, "message %zu", i);
		cr_assert_eq(l->len, strlen(cases[i].out), "message %zu", i);
		cr_assert_eq(l->tid, 8);
		cr_assert_eq(l->ts_ns, 10 + i);
		cr_assert_eq(l->pri, 0x80 + i, "message %zu: priority %u", i, l->pri);
		cr_assert_eq(l->ident, i + 1, "message %zu: ident %u", i, l->ident);
		cr_assert_eq(l->flags, 0);
	}
	lnt_feed(&ls, &o, 8, 50, "ial\n");
	cr_assert_eq(o.n, n + 1);
	lnt_expect_str(&o, n, 8, 1, "partial");
	lnt_out_free(&o);
}

Test(lines, syslog_message_longer_than_lines_max_is_split)
{
	const uint32_t len = LINES_MAX + 10;
	struct lines ls = { 0 };
	struct lnt_out o = { 0 };
	char *s = lnt_long_line(len);

	lnt_feed_rec(&ls, &o, HEAPRING_SYSLOG, 2, 7, LNT_PRI, 3, s, len + 1);
	cr_assert_eq(o.n, 2);
	cr_assert_eq(o.v[0].flags, LINES_F_SPLIT);
	cr_assert_eq(o.v[0].len, LINES_MAX);
	cr_assert_eq(memcmp(o.v[0].data, s, LINES_MAX), 0);
	cr_assert_eq(o.v[1].flags, 0);
	cr_assert_eq(o.v[1].len, 10);
	cr_assert_eq(memcmp(o.v[1].data, s + LINES_MAX, 10), 0);
	for (size_t i = 0; i < 2; i++) {
		cr_assert_eq(o.v[i].kind, HEAPRING_SYSLOG);
		cr_assert_eq(o.v[i].ident, 3);
	}
	free(s);
	lnt_out_free(&o);
}

/* Index of the line of thread tid in o from `from` on; fails if not exactly one. */
static size_t
lnt_find_tid(const struct lnt_out *o, size_t from, int32_t tid)
{
	size_t at = SIZE_MAX;

	for (size_t i = from; i < o->n; i++) {
		if (o->v[i].tid != tid)
			continue;
		cr_assert_eq(at, SIZE_MAX, "thread %" PRId32 " has two lines", tid);
		at = i;
	}
	cr_assert_neq(at, SIZE_MAX, "thread %" PRId32 " has no line", tid);
	return at;
}

Test(lines, flush_delivers_only_lines_whose_last_piece_is_at_or_before_the_cutoff)
{
	struct lines ls = { 0 };
	struct lnt_out o = { 0 };

	lnt_feed(&ls, &o, 1, 100, "aa");
	lnt_feed(&ls, &o, 2, 200, "bb");
	lnt_feed(&ls, &o, 3, 50, "c");
	lnt_feed(&ls, &o, 3, 300, "c");     /* first piece old, last one new */
	lnt_feed(&ls, &o, 4, 201, "dd");
	lines_flush(&ls, 200, lnt_collect, &o);
	cr_assert_eq(o.n, 2, "%zu lines flushed", o.n);
	lnt_expect_str(&o, lnt_find_tid(&o, 0, 1), 1, 100, "aa");
	lnt_expect_str(&o, lnt_find_tid(&o, 0, 2), 2, 200, "bb");
	lines_flush(&ls, 200, lnt_collect, &o);
	cr_assert_eq(o.n, 2, "a flushed line was flushed again");
	/* A flushed line is gone: what its thread writes next is a new line. */
	lnt_feed(&ls, &o, 1, 400, "zz\n");
	cr_assert_eq(o.n, 3);
	lnt_expect_str(&o, 2, 1, 400, "zz");
	lines_flush(&ls, UINT64_MAX, lnt_collect, &o);
	cr_assert_eq(o.n, 5);
	lnt_expect_str(&o, lnt_find_tid(&o, 3, 3), 3, 50, "cc");
	lnt_expect_str(&o, lnt_find_tid(&o, 3, 4), 4, 201, "dd");
	cr_assert_eq(ls.nparts, 0);
	lnt_out_free(&o);
}

Test(lines, a_thread_past_lines_parts_flushes_the_line_written_to_longest_ago)
{
	struct lines ls = { 0 };
	struct lnt_out o = { 0 };
	const int oldest = 23;
	char want[32];

	/* LINES_PARTS threads with unfinished lines; thread oldest's is the
	 * one last written to longest ago. Thread 5's first piece is older
	 * still, but it wrote again last. */
	for (int i = 0; i < LINES_PARTS; i++) {
		snprintf(want, sizeof(want), "p%d", i);
		lnt_feed(&ls, &o, 1000 + i, i == 5 ? 1 :
		    1000 + (uint64_t)((i + LINES_PARTS - oldest) % LINES_PARTS) * 10, want);
	}
	lnt_feed(&ls, &o, 1005, 5000, "+more");
	cr_assert_eq(o.n, 0, "a line was flushed before the table was full");
	lnt_feed(&ls, &o, 2000, 6000, "new");
	cr_assert_eq(o.n, 1, "%zu lines flushed for one new thread", o.n);
	lnt_expect_str(&o, 0, 1000 + oldest, 1000, "p23");
	lines_flush(&ls, UINT64_MAX, lnt_collect, &o);
	cr_assert_eq(o.n, 1 + LINES_PARTS);
	for (int i = 0; i < LINES_PARTS; i++) {
		size_t at;

		if (i == oldest)
			continue;
		at = lnt_find_tid(&o, 1, 1000 + i);
		snprintf(want, sizeof(want), i == 5 ? "p%d+more" : "p%d", i);
		lnt_expect_str(&o, at, 1000 + i, o.v[at].ts_ns, want);
	}
	lnt_expect_str(&o, lnt_find_tid(&o, 1, 2000), 2000, 6000, "new");
	cr_assert_eq(o.v[lnt_find_tid(&o, 1, 1005)].ts_ns, 1, "a line keeps its first time");
	lnt_out_free(&o);
}

Test(lines, reset_forgets_every_unfinished_line)
{
	struct lines ls = { 0 };
	struct lnt_out o = { 0 };

	lnt_feed(&ls, &o, 1, 1, "old1");
	lnt_feed(&ls, &o, 2, 2, "old2");
	lnt_feed_pieces(&ls, &o, 3, 3, "0123456789", 10, 3);
	lines_reset(&ls);
	cr_assert_eq(ls.nparts, 0);
	lines_flush(&ls, UINT64_MAX, lnt_collect, &o);
	cr_assert_eq(o.n, 0, "reset lines were flushed");
	lnt_feed(&ls, &o, 1, 4, "new\n");
	cr_assert_eq(o.n, 1);
	lnt_expect_str(&o, 0, 1, 4, "new");
	/* Still usable. */
	lnt_feed(&ls, &o, 2, 5, "again");
	lines_flush(&ls, UINT64_MAX, lnt_collect, &o);
	cr_assert_eq(o.n, 2);
	lnt_expect_str(&o, 1, 2, 5, "again");
	lines_reset(&ls);
	lnt_out_free(&o);
}

/* ---- Random lines, random records, several threads ---- */

#define LNT_THREADS  5
#define LNT_LINES    60

static uint32_t
lnt_rand_len(uint64_t *rng)
{
	static const uint32_t edges[] = { LINES_MAX - 1, LINES_MAX, LINES_MAX + 1,
	    2 * LINES_MAX, 2 * LINES_MAX + 5 };
	uint64_t x = prng_next(rng);

	switch (x % 20) {
	case 0: case 1:
		return 0;
	case 2:
		return edges[(x >> 8) % 5];
	case 3: case 4: case 5:
		return 81 + (uint32_t)((x >> 8) % 3000);
	default:
		return 1 + (uint32_t)((x >> 8) % 80);
	}
}

struct lnt_stream {
	char *bytes;
	uint32_t len, off;                  /* all of it, and fed so far */
	uint32_t starts[LNT_LINES];         /* offset of each line */
	uint32_t lens[LNT_LINES];
	uint64_t ts[LNT_LINES];             /* record holding its first byte */
};

Test(lines, random_lines_in_random_records_of_several_threads_arrive_intact)
{
	static struct lnt_stream st[LNT_THREADS];
	struct lines ls = { 0 };
	struct lnt_out o = { 0 };
	uint64_t rng = 0x11e5c0ffee, ts = 1;
	uint32_t live = LNT_THREADS;

	for (int t = 0; t < LNT_THREADS; t++) {
		struct lnt_stream *s = &st[t];
		uint32_t total = 0;

		for (int j = 0; j < LNT_LINES; j++) {
			s->lens[j] = lnt_rand_len(&rng);
			s->starts[j] = total;
			total += s->lens[j] + 1;
		}
		s->bytes = malloc(total);
		cr_assert_not_null(s->bytes);
		s->len = total;
		s->off = 0;
		for (int j = 0; j < LNT_LINES; j++) {
			for (uint32_t i = 0; i < s->lens[j]; i++)
				s->bytes[s->starts[j] + i] = (char)(' ' + 1 + (t * 7 + j * 3 + i + i / 95) % 94);
			s->bytes[s->starts[j] + s->lens[j]] = '\n';
		}
	}
	/* Feed the threads' records interleaved at random. */
	while (live > 0) {
		int t = (int)(prng_next(&rng) % LNT_THREADS);
		struct lnt_stream *s = &st[t];
		uint64_t x = prng_next(&rng);
		uint32_t n = 1 + (uint32_t)((x >> 4) % (x % 4 == 0 ? HEAPRING_DATA_MAX : 300));

		if (s->off == s->len)
			continue;
		if (n > s->len - s->off)
			n = s->len - s->off;
		for (int j = 0; j < LNT_LINES; j++)
			if (s->starts[j] >= s->off && s->starts[j] < s->off + n)
				s->ts[j] = ts;
		lnt_feed_rec(&ls, &o, HEAPRING_STDERR, 100 + t, ts++, LNT_PRI, 0, s->bytes + s->off, n);
		s->off += n;
		if (s->off == s->len)
			live--;
	}
	cr_assert_eq(ls.nparts, 0, "lines held after every line ended");
	/* Each thread's pieces, in order, make its lines. */
	for (int t = 0; t < LNT_THREADS; t++) {
		struct lnt_stream *s = &st[t];
		size_t i = 0;

		for (int j = 0; j < LNT_LINES; j++) {
			uint32_t len = s->lens[j], pieces = len == 0 ? 1 : (len + LINES_MAX - 1) / LINES_MAX;

			for (uint32_t k = 0; k < pieces; k++) {
				uint32_t plen = k + 1 < pieces ? LINES_MAX : len - k * LINES_MAX;

				while (i < o.n && o.v[i].tid != 100 + t)
					i++;
				cr_assert_lt(i, o.n, "thread %d line %d (%" PRIu32 " bytes): piece %"
				    PRIu32 " of %" PRIu32 " missing", t, j, len, k + 1, pieces);
				cr_assert_eq(o.v[i].flags, k + 1 < pieces ? LINES_F_SPLIT : 0,
				    "thread %d line %d (%" PRIu32 " bytes) piece %" PRIu32 ": flags %u",
				    t, j, len, k + 1, o.v[i].flags);
				cr_assert_eq(o.v[i].len, plen, "thread %d line %d (%" PRIu32
				    " bytes) piece %" PRIu32 ": %" PRIu32 " bytes", t, j, len, k + 1,
				    o.v[i].len);
				cr_assert_eq(memcmp(o.v[i].data, s->bytes + s->starts[j] +
				    k * LINES_MAX, plen), 0, "thread %d line %d piece %" PRIu32
				    ": wrong bytes", t, j, k + 1);
				if (k == 0)
					cr_assert_eq(o.v[i].ts_ns, s->ts[j], "thread %d line %d: time",
					    t, j);
				cr_assert_eq(o.v[i].kind, HEAPRING_STDERR);
				i++;
			}
		}
		while (i < o.n && o.v[i].tid != 100 + t)
			i++;
		cr_assert_eq(i, o.n, "thread %d has lines beyond its own", t);
		free(s->bytes);
	}
	lnt_out_free(&o);
}

/* Line i is a stderr line of thread tid with priority pri and text s. */
static void
lnt_expect_pri(const struct lnt_out *o, size_t i, uint8_t pri, uint8_t flags, const char *s)
{
	cr_assert_lt(i, o->n, "line %zu missing", i);
	cr_assert_eq(o->v[i].pri, pri, "line %zu: priority %u, not %u", i, o->v[i].pri, pri);
	cr_assert_eq(o->v[i].flags, flags, "line %zu: flags %u", i, o->v[i].flags);
	cr_assert_str_eq(o->v[i].data, s, "line %zu", i);
}

Test(lines, priority_prefix_sets_the_line_priority_and_is_removed)
{
	struct lines ls = { 0 };
	struct lnt_out o = { 0 };

	lnt_feed(&ls, &o, 7, 1, "<3>one piece\nplain\n<2");
	lnt_feed(&ls, &o, 7, 2, ">in pieces\n<9>whole priority\nnot <3> here\n");
	cr_assert_eq(o.n, 5);
	lnt_expect_pri(&o, 0, (LNT_PRI & ~7) | 3, 0, "one piece");
	lnt_expect_pri(&o, 1, LNT_PRI, 0, "plain");
	lnt_expect_pri(&o, 2, (LNT_PRI & ~7) | 2, 0, "in pieces");
	lnt_expect_pri(&o, 3, 9, 0, "whole priority");
	lnt_expect_pri(&o, 4, LNT_PRI, 0, "not <3> here");
	lnt_out_free(&o);
}

Test(lines, priority_prefix_of_a_split_line_applies_to_every_piece)
{
	const uint32_t len = LINES_MAX + 10;
	struct lines ls = { 0 };
	struct lnt_out o = { 0 };
	char *s = lnt_long_line(len);

	memcpy(s, "<1>", 3);
	lnt_feed_pieces(&ls, &o, 6, 1, s, len + 1, 1000);
	cr_assert_eq(o.n, 2, "%zu lines", o.n);
	cr_assert_eq(o.v[0].flags, LINES_F_SPLIT);
	cr_assert_eq(o.v[0].len, LINES_MAX - 3, "the prefix was not removed");
	cr_assert_eq(memcmp(o.v[0].data, s + 3, LINES_MAX - 3), 0);
	cr_assert_eq(o.v[1].len, 10);
	cr_assert_eq(memcmp(o.v[1].data, s + LINES_MAX, 10), 0);
	for (size_t i = 0; i < 2; i++)
		cr_assert_eq(o.v[i].pri, (LNT_PRI & ~7) | 1, "piece %zu: %u", i, o.v[i].pri);
	/* A later line of the thread starts afresh. */
	lnt_feed(&ls, &o, 6, 2, "<1x\n");
	lnt_expect_pri(&o, 2, LNT_PRI, 0, "<1x");
	free(s);
	lnt_out_free(&o);
}

Test(lines, syslog_records_keep_a_leading_priority_prefix)
{
	struct lines ls = { 0 };
	struct lnt_out o = { 0 };

	lnt_feed_rec(&ls, &o, HEAPRING_SYSLOG, 7, 1, LNT_PRI, 0, "<3>text", 7);
	cr_assert_eq(o.n, 1);
	cr_assert_str_eq(o.v[0].data, "<3>text");
	cr_assert_eq(o.v[0].pri, LNT_PRI);
	lnt_out_free(&o);
}
