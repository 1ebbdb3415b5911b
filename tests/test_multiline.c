/*
 * test_multiline.c - preload/multiline.c: which lines of a thread join
 * the record they continue, under which bounds, and in what order held
 * records go out. Lines are fed as lines.c hands them to the pipeline,
 * with the times of their calls; what goes out is collected and compared
 * with the records a reader of the log would expect.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "harness.h"
#include "heapring.h"
#include "multiline.h"
#include "need.h"
#include "timeout.h"

#define MLT_MS   1000000ULL     /* a millisecond, in ns */
#define MLT_OUT  64             /* records collected at most */

/* What went out. */
struct mlt_out {
	int n;
	char *text[MLT_OUT];
	int32_t tid[MLT_OUT];
	uint8_t flags[MLT_OUT];
	uint64_t ts[MLT_OUT];
};

static struct multiline mlt;
static struct mlt_out out;

static void
mlt_emit(void *arg, const struct lines_line *l)
{
	(void)arg;
	cr_assert_lt(out.n, MLT_OUT);
	out.text[out.n] = strndup(l->data, l->len);
	out.tid[out.n] = l->tid;
	out.flags[out.n] = l->flags;
	out.ts[out.n] = l->ts_ns;
	out.n++;
}

static void
mlt_setup(void)
{
	memset(&mlt, 0, sizeof(mlt));
	memset(&out, 0, sizeof(out));
}

TestSuite(multiline, .init = mlt_setup);

/* Feed a stderr line of thread tid written at ms milliseconds. */
static void
mlt_line(int32_t tid, uint64_t ms, const char *text)
{
	struct lines_line l = { .ts_ns = ms * MLT_MS, .tid = tid, .kind = HEAPRING_STDERR,
	    .pri = 14, .level = 7, .data = text, .len = (uint32_t)strlen(text) };

	multiline_add(&mlt, &l, mlt_emit, NULL);
}

/* Feed each line of lines (NULL-ended) 1 ms apart from thread tid, from
 * ms on; then let everything out. */
static void
mlt_feed(int32_t tid, uint64_t ms, const char *const *lines)
{
	for (int i = 0; lines[i] != NULL; i++)
		mlt_line(tid, ms + (uint64_t)i, lines[i]);
	multiline_flush(&mlt, UINT64_MAX, 0, mlt_emit, NULL);
}

/* The records that went out must be want (NULL-ended), in order. */
static void
mlt_expect(const char *const *want)
{
	int i;

	for (i = 0; want[i] != NULL; i++) {
		cr_assert_lt(i, out.n, "record %d missing: %s", i, want[i]);
		cr_assert_str_eq(out.text[i], want[i], "record %d", i);
		cr_assert_eq(out.flags[i] & LINES_F_MULTI, strchr(want[i], '\n') ? LINES_F_MULTI : 0,
		    "record %d", i);
	}
	cr_assert_eq(out.n, i, "%d records, not %d", out.n, i);
}

Test(multiline, a_python_traceback_with_its_chain_is_one_record)
{
	mlt_feed(7, 100, (const char *[]){ "before",
	    "Traceback (most recent call last):", "  File \"x.py\", line 3, in <module>",
	    "    {}[\"x\"]", "KeyError: 'x'", "",
	    "During handling of the above exception, another exception occurred:", "",
	    "Traceback (most recent call last):", "  File \"x.py\", line 5, in <module>",
	    "ValueError: boom", "after", NULL });
	mlt_expect((const char *[]){ "before",
	    "Traceback (most recent call last):\n  File \"x.py\", line 3, in <module>\n"
	    "    {}[\"x\"]\nKeyError: 'x'\n\nDuring handling of the above exception, another "
	    "exception occurred:\n\nTraceback (most recent call last):\n  File \"x.py\", line "
	    "5, in <module>\nValueError: boom", "after", NULL });
}

Test(multiline, a_java_trace_with_its_causes_is_one_record)
{
	mlt_feed(7, 100, (const char *[]){
	    "Exception in thread \"main\" java.lang.RuntimeException: outer",
	    "\tat A.b(A.java:10)", "\tat A.main(A.java:3)", "Caused by: java.io.IOException: inner",
	    "\tat C.d(C.java:7)", "\t... 1 more", "next", NULL });
	mlt_expect((const char *[]){
	    "Exception in thread \"main\" java.lang.RuntimeException: outer\n\tat A.b(A.java:10)\n"
	    "\tat A.main(A.java:3)\nCaused by: java.io.IOException: inner\n\tat C.d(C.java:7)\n"
	    "\t... 1 more", "next", NULL });
}

Test(multiline, a_gcc_diagnostic_joins_its_context_excerpt_and_caret)
{
	mlt_feed(7, 100, (const char *[]){ "In file included from a.c:1:", "                 from b.c:2:",
	    "x.h:3:5: error: expected ';'", "    3 |   int x", "      |        ^",
	    "b.c: In function \xe2\x80\x98main\xe2\x80\x99:", "b.c:4:1: warning: unused", "    4 | y",
	    "b.c:9:1: note: other", NULL });
	mlt_expect((const char *[]){
	    "In file included from a.c:1:\n                 from b.c:2:\nx.h:3:5: error: expected "
	    "';'\n    3 |   int x\n      |        ^",
	    "b.c: In function \xe2\x80\x98main\xe2\x80\x99:\nb.c:4:1: warning: unused\n    4 | y",
	    "b.c:9:1: note: other", NULL });
}

Test(multiline, a_perl_carp_trace_is_one_record)
{
	mlt_feed(7, 100, (const char *[]){ "boom at t.pl line 2.", "\tmain::f() called at t.pl line 4",
	    "\tmain::g() called at t.pl line 6", NULL });
	mlt_expect((const char *[]){ "boom at t.pl line 2.\n\tmain::f() called at t.pl line 4\n"
	    "\tmain::g() called at t.pl line 6", NULL });
}

/* Lines that continue nothing stay records of their own. */
Test(multiline, plain_lines_stay_apart)
{
	mlt_feed(7, 100, (const char *[]){ "one", "two", "", "three", NULL });
	mlt_expect((const char *[]){ "one", "two", "", "three", NULL });
}

/* An indented line more than MULTILINE_GAP_NS after the last one starts
 * a record of its own; exactly the gap still joins. */
Test(multiline, a_pause_longer_than_the_gap_ends_the_record)
{
	uint64_t gap = MULTILINE_GAP_NS / MLT_MS;

	mlt_line(7, 100, "first");
	mlt_line(7, 100 + gap, "  within the gap");
	mlt_line(7, 100 + 2 * gap + 1, "  after a longer pause");
	multiline_flush(&mlt, UINT64_MAX, 0, mlt_emit, NULL);
	mlt_expect((const char *[]){ "first\n  within the gap", "  after a longer pause", NULL });
}

/* Each thread has its own record: interleaved threads do not mix, and a
 * record goes out with its first line's time. */
Test(multiline, threads_group_apart)
{
	mlt_line(1, 100, "Traceback (most recent call last):");
	mlt_line(2, 101, "line of thread 2");
	mlt_line(1, 102, "  File \"a\", line 1");
	mlt_line(2, 103, "  continued in thread 2");
	mlt_line(1, 104, "E: e");
	multiline_flush(&mlt, UINT64_MAX, 0, mlt_emit, NULL);
	cr_assert_eq(out.n, 2);
	for (int i = 0; i < 2; i++) {
		if (out.tid[i] == 1) {
			cr_assert_str_eq(out.text[i], "Traceback (most recent call last):\n  File \"a\", "
			    "line 1\nE: e");
			cr_assert_eq(out.ts[i], 100 * MLT_MS);
		} else {
			cr_assert_str_eq(out.text[i], "line of thread 2\n  continued in thread 2");
			cr_assert_eq(out.ts[i], 101 * MLT_MS);
		}
	}
}

/* A syslog line, and a piece of a split line, are never held: each goes
 * out after its thread's held record. */
Test(multiline, other_kinds_and_pieces_go_out_after_the_held_record)
{
	struct lines_line sys = { .ts_ns = 101 * MLT_MS, .tid = 7, .kind = HEAPRING_SYSLOG,
	    .data = "syslog", .len = 6 };
	struct lines_line piece = { .ts_ns = 102 * MLT_MS, .tid = 7, .kind = HEAPRING_STDERR,
	    .flags = LINES_F_SPLIT, .data = "  piece", .len = 7 };

	mlt_line(7, 100, "held");
	multiline_add(&mlt, &sys, mlt_emit, NULL);
	cr_assert_eq(out.n, 2, "the syslog line waited");
	mlt_line(7, 101, "held again");
	multiline_add(&mlt, &piece, mlt_emit, NULL);
	cr_assert_eq(multiline_pending(&mlt), 0);
	mlt_expect((const char *[]){ "held", "syslog", "held again", "  piece", NULL });
	cr_assert_eq(out.flags[3], LINES_F_SPLIT, "a piece keeps its flag");
}

/* Held records go out once their last line is older than the time
 * given, or for their thread. */
Test(multiline, held_records_go_out_by_age_or_by_thread)
{
	mlt_line(1, 100, "one");
	mlt_line(2, 130, "two");
	mlt_line(3, 140, "three");
	multiline_flush(&mlt, 120 * MLT_MS, 0, mlt_emit, NULL);
	cr_assert_eq(out.n, 1);
	cr_assert_str_eq(out.text[0], "one");
	multiline_flush(&mlt, 0, 3, mlt_emit, NULL);
	cr_assert_eq(out.n, 2);
	cr_assert_str_eq(out.text[1], "three");
	cr_assert(multiline_pending(&mlt));
	multiline_flush(&mlt, UINT64_MAX, 0, mlt_emit, NULL);
	cr_assert_eq(multiline_pending(&mlt), 0);
	cr_assert_str_eq(out.text[2], "two");
}

/* A record never passes LINES_MAX: the line that would is a record of
 * its own. */
Test(multiline, a_record_stays_within_the_line_bound)
{
	char *big = malloc(LINES_MAX);
	size_t first;

	cr_assert_not_null(big);
	memset(big, 'x', LINES_MAX - 1);
	big[0] = ' ';
	big[LINES_MAX / 2] = '\0';
	mlt_line(7, 100, "start");
	mlt_line(7, 101, big);          /* joins: about 32 KiB */
	mlt_line(7, 102, big);          /* would pass 64 KiB */
	multiline_flush(&mlt, UINT64_MAX, 0, mlt_emit, NULL);
	cr_assert_eq(out.n, 2);
	first = strlen(out.text[0]);
	cr_assert_eq(first, 5 + 1 + LINES_MAX / 2);
	cr_assert_str_eq(out.text[1], big);
	free(big);
}

/* More threads holding a line than there are slots: the oldest record
 * goes out to make room; nothing is lost. */
Test(multiline, more_threads_than_slots_lose_nothing)
{
	char text[32];

	for (int t = 1; t <= MULTILINE_GROUPS + 5; t++) {
		snprintf(text, sizeof(text), "thread %d", t);
		mlt_line(t, 100 + (uint64_t)t, text);
	}
	cr_assert_eq(out.n, 5);
	multiline_flush(&mlt, UINT64_MAX, 0, mlt_emit, NULL);
	cr_assert_eq(out.n, MULTILINE_GROUPS + 5);
	for (int i = 0; i < 5; i++) {
		snprintf(text, sizeof(text), "thread %d", i + 1);
		cr_assert_str_eq(out.text[i], text, "the oldest goes first");
	}
}

/* ---- real programs under mplog-run --multiline --------------------- */

TestSuite(multiline_run, .init = harness_setup, .fini = harness_teardown);

#define MLR_RUN_MS 60000

/* Run argv (NULL-ended) under mplog-run, JSON, with --multiline when
 * multi; its records. */
static struct harness_rec *
mlr_run(const char *const *cmd, int multi, size_t *n, struct harness_result *r)
{
	static const char *const opts[] = { "--multiline", NULL };
	char *argv[32], *log = harness_file(harness_fmt("ml-%d.json", multi));
	int k = 0;

	harness_mplog_argv(argv, &k, 1, "json", log, multi ? opts : NULL);
	for (int i = 0; cmd[i] != NULL; i++)
		argv[k++] = (char *)cmd[i];
	argv[k] = NULL;
	harness_run(argv, harness_env(NULL), NULL, r);
	return harness_json_load(log, n);
}

/* The records from stderr, their messages in order, one per line of the
 * returned string, "\n" inside one shown as "|". */
static char *
mlr_messages(const struct harness_rec *recs, size_t n)
{
	size_t cap = 1, len = 0;
	char *s;

	for (size_t i = 0; i < n; i++)
		cap += recs[i].msg_len + 1;
	s = calloc(cap, 1);
	cr_assert_not_null(s);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(recs[i].source, "stderr") != 0)
			continue;
		for (size_t j = 0; j < recs[i].msg_len; j++)
			s[len++] = recs[i].msg[j] == '\n' ? '|' : recs[i].msg[j];
		s[len++] = '\n';
	}
	return s;
}

/* What the program writes to its stderr without mplog, lines joined as
 * mlr_messages shows a record of several. */
static char *
mlr_plain(const char *const *cmd, struct harness_result *r)
{
	harness_run((char *const *)cmd, harness_env(NULL), NULL, r);
	return strdup(r->err);
}

/* python3, a chained exception: one record, the whole traceback, its
 * lines exactly what python3 writes; without --multiline, a record each. */
Test(multiline_run, a_python_traceback_is_one_record_of_exactly_its_lines,
    .timeout = TEST_TIMEOUT(60))
{
	static const char *const cmd[] = { "/usr/bin/python3", "-c",
	    "import sys\nprint('before', file=sys.stderr, flush=True)\ntry:\n  {}['x']\n"
	    "except KeyError:\n  raise ValueError('boom')\n", NULL };
	struct harness_result r;
	struct harness_rec *recs;
	size_t n;
	char *want, *got, *trace;

	TEST_NEED(access(cmd[0], X_OK) == 0, "python3");
	want = mlr_plain(cmd, &r);
	cr_assert_eq(r.code, 1);
	trace = strstr(want, "Traceback");
	cr_assert_not_null(trace, "%s", want);
	for (char *p = trace; *p != '\0'; p++)
		if (*p == '\n' && p[1] != '\0')
			*p = '|';
	recs = mlr_run(cmd, 1, &n, &r);
	cr_assert_eq(r.code, 1, "%s", r.err);
	got = mlr_messages(recs, n);
	cr_assert_str_eq(got, harness_fmt("before\n%s", trace));
	free(got);
	recs = mlr_run(cmd, 0, &n, &r);
	got = mlr_messages(recs, n);
	cr_assert_null(strchr(got, '|'), "grouped without --multiline: %s", got);
	cr_assert_gt(harness_count_lines(got, ""), 8);
	free(got);
	free(want);
}

/* gcc: the error joins its function's context, its source excerpt and
 * its caret. */
Test(multiline_run, a_gcc_error_is_one_record_with_its_excerpt_and_caret,
    .timeout = TEST_TIMEOUT(60))
{
	char *src = harness_file("bad.c");
	FILE *f = fopen(src, "w");
	const char *const cmd[] = { "/usr/bin/gcc", "-c", src, "-o", harness_file("bad.o"), NULL };
	struct harness_result r;
	struct harness_rec *recs;
	size_t n;
	char *got;

	TEST_NEED(access(cmd[0], X_OK) == 0, "gcc");
	cr_assert(f != NULL && fputs("int main(void)\n{\n\tint x = ;\n\treturn 0;\n}\n", f) >= 0 &&
	    fclose(f) == 0);
	recs = mlr_run(cmd, 1, &n, &r);
	cr_assert_neq(r.code, 0);
	got = mlr_messages(recs, n);
	cr_assert_eq(harness_count_lines(got, ""), 1, "%s", got);
	cr_assert(harness_contains(got, ": In function ") &&
	    harness_contains(got, "|") && harness_contains(got, ":3:") &&
	    harness_contains(got, "error: expected expression") &&
	    harness_contains(got, "int x = ;") && harness_contains(got, "^"), "%s", got);
	free(got);
}

/* perl's Carp::confess: the message and its call frames, one record. */
Test(multiline_run, a_perl_carp_trace_is_one_record, .timeout = TEST_TIMEOUT(60))
{
	static const char *const cmd[] = { "/usr/bin/perl", "-MCarp", "-e",
	    "sub f { Carp::confess('boom') } sub g { f() } g()", NULL };
	struct harness_result r;
	struct harness_rec *recs;
	size_t n;
	char *got;

	TEST_NEED(access(cmd[0], X_OK) == 0, "perl");
	recs = mlr_run(cmd, 1, &n, &r);
	cr_assert_neq(r.code, 0);
	got = mlr_messages(recs, n);
	cr_assert_str_eq(got, "boom at -e line 1.|\tmain::f() called at -e line 1|"
	    "\tmain::g() called at -e line 1\n");
	free(got);
}

/* A C host writes a Java trace line by line, then a line after a pause
 * longer than the gap: the trace is one record, the late line its own. */
Test(multiline_run, a_trace_is_one_record_and_a_late_line_its_own, .timeout = TEST_TIMEOUT(60))
{
	static const char *const args[] = { "w:Exception in thread \"main\" java.lang.Error: x\\n",
	    "w:\\tat A.b(A.java:1)\\n", "w:Caused by: java.io.IOException: y\\n",
	    "w:\\t... 1 more\\n", "z:200", "w:  indented, but late\\n", NULL };
	char *argv[32], *log = harness_file("host.json");
	struct harness_result r;
	struct harness_rec *recs;
	int k = 0;
	size_t n;
	char *got;

	harness_mplog_argv(argv, &k, 1, "json", log, (const char *[]){ "--multiline", NULL });
	argv[k++] = harness_build("hosts/say");
	for (int i = 0; args[i] != NULL; i++)
		argv[k++] = (char *)args[i];
	argv[k] = NULL;
	cr_assert_eq(harness_run(argv, harness_env(NULL), NULL, &r), 0, "%s", r.err);
	recs = harness_json_load(log, &n);
	got = mlr_messages(recs, n);
	cr_assert_str_eq(got, "Exception in thread \"main\" java.lang.Error: x|\tat A.b(A.java:1)|"
	    "Caused by: java.io.IOException: y|\t... 1 more\n  indented, but late\n");
	free(got);
}

/* In text, a record's further lines stand under its first, indented to
 * where the message starts. */
Test(multiline_run, text_shows_further_lines_indented_under_the_first, .timeout = TEST_TIMEOUT(60))
{
	static const char *const opts[] = { "--multiline", NULL };
	char *argv[32], *log = harness_file("host.txt"), *text, *first, *msg, *line, *pad;
	struct harness_result r;
	int k = 0;
	size_t indent;

	harness_mplog_argv(argv, &k, 1, NULL, log, opts);
	argv[k++] = harness_build("hosts/say");
	argv[k++] = "w:first\\n  second\\n\\tthird\\n";
	argv[k] = NULL;
	cr_assert_eq(harness_run(argv, harness_env(NULL), NULL, &r), 0, "%s", r.err);
	text = harness_read_file(log, NULL);
	first = strstr(text, "info: first\n");
	cr_assert_not_null(first, "%s", text);
	msg = first + strlen("info: ");
	line = first;
	while (line > text && line[-1] != '\n')
		line--;
	indent = (size_t)(msg - line);
	pad = harness_fmt("%*s", (int)indent, "");
	cr_assert(harness_contains(text, harness_fmt("info: first\n%s  second\n%s\tthird\n",
	    pad, pad)), "not indented by %zu: %s", indent, text);
	free(text);
}
