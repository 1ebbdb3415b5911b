/*
 * test_sinks.c - mplogd's file sinks: how a sink is named on the command
 * line, several sinks at once with their own format and level, rotation
 * by size, reopening after the real logrotate (create and copytruncate),
 * colour on a terminal. Every logmix line a test asks for is accounted
 * for across the files it may be in: once, whole, in order per thread.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "need.h"
#include "ratelimit.h"
#include "rotate.h"
#include "sink.h"
#include "sinkspec.h"

TestSuite(sinks, .init = harness_setup, .fini = harness_teardown);

#define SK_POLL_MS (20000 * TEST_SLOW)        /* bound on a condition polled for */
#define SK_MAX     (4 * 4 * 20000)

/* ---- how a sink is named ------------------------------------------------ */

/* Parse arg as a sink of kind, which must succeed. */
static struct sink_spec
sk_parse(enum sink_kind kind, const char *arg)
{
	struct sink_spec s;
	char why[256];

	cr_assert_eq(sinkspec_parse(&s, kind, arg, why, sizeof(why)), 0, "%s: %s", arg, why);
	return s;
}

/* Parse arg, which must fail with a message holding needle. */
static void
sk_parse_fails(enum sink_kind kind, const char *arg, const char *needle)
{
	struct sink_spec s;
	char why[256] = "";

	cr_assert_eq(sinkspec_parse(&s, kind, arg, why, sizeof(why)), -1, "%s parsed", arg);
	cr_assert(harness_contains(why, needle), "%s: \"%s\" does not say \"%s\"", arg, why,
	    needle);
	sinkspec_free(&s);
}

Test(sinks, keys_come_off_the_end_and_commas_stay_in_the_path)
{
	struct sink_spec s = sk_parse(SINK_FILE, "/var/log/a,b.log,format=json,level=warning,"
	    "rotate-size=10M,rotate-keep=3,color=never");

	cr_assert_str_eq(s.target, "/var/log/a,b.log");
	cr_assert_eq(s.format, FMT_JSON);
	cr_assert_eq(s.level, 4);
	cr_assert_eq(s.rotate_size, 10u << 20);
	cr_assert_eq(s.rotate_keep, 3);
	cr_assert_eq(s.color, SINK_COLOR_NEVER);
	cr_assert_eq(s.set, SINKSPEC_SET_FORMAT | SINKSPEC_SET_SIZE | SINKSPEC_SET_KEEP);
	sinkspec_free(&s);

	s = sk_parse(SINK_FILE, "plain.log");
	cr_assert_str_eq(s.target, "plain.log");
	cr_assert_eq(s.format, FMT_TEXT);
	cr_assert_eq(s.level, 7);
	cr_assert_eq(s.rotate_size, 0);
	cr_assert_eq(s.rotate_keep, SINKSPEC_KEEP_DEFAULT);
	cr_assert_eq(s.set, 0);
	sinkspec_free(&s);

	s = sk_parse(SINK_FORWARD, "tcp://[::1]:6514,format=rfc3164,level=3");
	cr_assert_str_eq(s.target, "tcp://[::1]:6514");
	cr_assert_eq(s.proto, SINK_RFC3164);
	cr_assert_eq(s.level, 3);
	sinkspec_free(&s);
}

Test(sinks, bad_keys_are_named)
{
	sk_parse_fails(SINK_FILE, "a.log,format=xml", "unknown format 'xml' (text, json)");
	sk_parse_fails(SINK_FORWARD, "udp://h:514,format=json", "(rfc5424, rfc3164, local)");
	sk_parse_fails(SINK_FILE, "a.log,level=loud", "unknown level 'loud'");
	sk_parse_fails(SINK_FILE, "a.log,rotate-size=0", "rotate-size '0'");
	sk_parse_fails(SINK_FILE, "a.log,rotate-size=12Q", "rotate-size '12Q'");
	sk_parse_fails(SINK_FILE, "a.log,rotate-keep=1000", "rotate-keep '1000'");
	sk_parse_fails(SINK_FORWARD, "udp://h:514,rotate-keep=2", "of a file");
	sk_parse_fails(SINK_FILE, "a.log,color=pink", "color 'pink'");
	sk_parse_fails(SINK_FILE, "a.log,level=err,level=crit", "level given twice");
	sk_parse_fails(SINK_FILE, ",format=json", "no file before the options");
	/* A typo in a key is not part of the path. */
	sk_parse_fails(SINK_FILE, "app.log,rotate-sise=10M", "unknown key 'rotate-sise' (keys: "
	    "format, level, rotate-size, rotate-keep, color, rotate-every, compress, spool, "
	    "spool-max, ca, cert, key, name)");
	sk_parse_fails(SINK_FILE, "app.log,level=err,colour=never", "unknown key 'colour'");
	sk_parse_fails(SINK_FORWARD, "tcp://h:514,leve=3", "unknown key 'leve'");
}

/* A final comma ends the path, which then takes no keys: a path that
 * really holds ",word=value" is written so. A comma before anything that
 * is not "word=" stays in the path. */
Test(sinks, a_final_comma_keeps_a_key_like_suffix_in_the_path)
{
	struct sink_spec s = sk_parse(SINK_FILE, "odd,rotate-sise=10M,");

	cr_assert_str_eq(s.target, "odd,rotate-sise=10M");
	cr_assert_eq(s.set, 0);
	sinkspec_free(&s);
	s = sk_parse(SINK_FILE, "odd,level=err,");
	cr_assert_str_eq(s.target, "odd,level=err");
	cr_assert_eq(s.level, 7, "no key taken");
	sinkspec_free(&s);
	s = sk_parse(SINK_FILE, "a,B=1,2=x,-x=y,level=err");
	cr_assert_str_eq(s.target, "a,B=1,2=x,-x=y");
	cr_assert_eq(s.level, 3);
	sinkspec_free(&s);
	sk_parse_fails(SINK_FILE, ",", "no file before the options");
}

/* mplogd with args fails with code and a one-line message holding needle. */
static void
sk_mplogd_fails(const char *const *args, int code, const char *needle)
{
	char *argv[16];
	struct harness_result r;
	int n = 0;

	argv[n++] = harness_build("mplogd");
	argv[n++] = "--shm";
	argv[n++] = (char *)harness_shm_name();
	for (; *args != NULL; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
	harness_run(argv, NULL, NULL, &r);
	cr_assert_eq(r.code, code, "%s: exit %d, not %d: %s", needle, r.code, code, r.err);
	cr_assert(harness_contains(r.err, needle), "stderr does not say \"%s\": %s", needle,
	    r.err);
	cr_assert_eq(harness_count_lines(r.err, ""), 1, "more than one line: %s", r.err);
}

Test(sinks, bad_sinks_stop_mplogd_with_a_message_naming_them, .timeout = TEST_TIMEOUT(30))
{
	const char *const unwritable[] = { "-o", "/nonexistent/dir/x.log", NULL };
	const char *const level[] = { "-o", "x.log,level=loud", NULL };
	const char *const size[] = { "--rotate-size", "0", NULL };
	const char *const stdout_rot[] = { "-o", "-,rotate-size=1M", NULL };

	sk_mplogd_fails(unwritable, 1, "/nonexistent/dir/x.log: No such file or directory");
	sk_mplogd_fails(level, 2, "--output x.log,level=loud: unknown level 'loud'");
	sk_mplogd_fails(size, 2, "--rotate-size: '0' is not a size");
	sk_mplogd_fails(stdout_rot, 2, "standard output cannot be rotated");
}

/* ---- logmix lines, across files ------------------------------------------ */

struct sk_seen {
	int procs, threads, lines;
	unsigned char *got;     /* procs x threads x lines */
	int *last;              /* procs x threads: last seq seen */
	long *pid;              /* procs: the pid that wrote p's lines */
};

static void
sk_seen_init(struct sk_seen *s, int procs, int threads, int lines)
{
	*s = (struct sk_seen){ procs, threads, lines,
	    calloc((size_t)procs * threads * lines, 1), malloc(sizeof(int) * procs * threads),
	    calloc((size_t)procs, sizeof(long)) };
	cr_assert(s->got != NULL && s->last != NULL && s->pid != NULL);
	for (int i = 0; i < procs * threads; i++)
		s->last[i] = -1;
}

/* Account one logmix line text (from pid): once, in order per thread. */
static void
sk_seen_line(struct sk_seen *s, const char *msg, long pid, const char *where)
{
	int p, t, seq;

	if (strncmp(msg, "logmix start", 12) == 0 || strncmp(msg, "logmix exit=", 12) == 0)
		return;
	cr_assert(sscanf(msg, "logmix p=%d t=%d seq=%d ", &p, &t, &seq) == 3 && p >= 0 &&
	    p < s->procs && t >= 0 && t < s->threads && seq >= 0 && seq < s->lines,
	    "%s: not a line of this run: %s", where, msg);
	cr_assert(s->pid[p] == 0 || s->pid[p] == pid, "%s: p=%d from pids %ld and %ld", where,
	    p, s->pid[p], pid);
	s->pid[p] = pid;
	size_t k = ((size_t)p * s->threads + t) * s->lines + seq;

	cr_assert(!s->got[k], "%s: twice: %s", where, msg);
	s->got[k] = 1;
	cr_assert(seq > s->last[p * s->threads + t], "%s: seq %d after %d: %s", where, seq,
	    s->last[p * s->threads + t], msg);
	s->last[p * s->threads + t] = seq;
}

/* Account every record of the JSON log at path. */
static void
sk_seen_json(struct sk_seen *s, const char *path)
{
	size_t n;
	struct harness_rec *recs = harness_json_load(path, &n);

	for (size_t i = 0; i < n; i++)
		sk_seen_line(s, recs[i].msg, recs[i].pid, harness_fmt("%s:%zu", path,
		    recs[i].line));
}

/* Every line seen (whole: the lines of every thread from its first seen
 * one on, when tail_only: a rotation dropped the oldest files). */
static void
sk_seen_all(const struct sk_seen *s, int tail_only)
{
	for (int p = 0; p < s->procs; p++)
		for (int t = 0; t < s->threads; t++) {
			const unsigned char *g = s->got + ((size_t)p * s->threads + t) * s->lines;
			int first = 0;

			if (tail_only)
				while (first < s->lines && !g[first])
					first++;
			for (int seq = first; seq < s->lines; seq++)
				cr_assert(g[seq], "p=%d t=%d seq=%d is missing", p, t, seq);
		}
}

/* Run logmix -p procs -t threads -n lines -m mix under mplogd, JSON to
 * *log, with opts; it must exit 0. */
static struct harness_result
sk_logmix(const char *const *opts, int procs, int threads, int lines, const char *mix,
    char **log)
{
	char sp[16], st[16], sn[16];
	struct harness_result r;

	snprintf(sp, sizeof(sp), "%d", procs);
	snprintf(st, sizeof(st), "%d", threads);
	snprintf(sn, sizeof(sn), "%d", lines);
	const char *const args[] = { "-p", sp, "-t", st, "-n", sn, "-m", mix, NULL };

	r = harness_run_host(0, "json", opts, "logmix", args, log);
	cr_assert_eq(r.code, 0, "mplogd -- logmix: exit %d: %s", r.code, r.err);
	cr_assert(!harness_contains(r.out, "FAIL"), "logmix: %s", r.out);
	return r;
}

/* ---- several sinks ------------------------------------------------------- */

/* The severity word of a text line "TS PROC[PID] SEVERITY ..." */
static const char *
sk_text_severity(const char *line, char *buf, size_t len)
{
	const char *sp = strchr(line, ' ');

	sp = sp != NULL ? strchr(sp + 1, ' ') : NULL;
	cr_assert_not_null(sp, "not a text line: %s", line);
	snprintf(buf, len, "%.*s", (int)strcspn(sp + 1, " :"), sp + 1);
	return buf;
}

/*
 * Two sinks of one run: all of logmix's syslog lines (crit .. debug) in
 * JSON, and in text only those of severity warning or worse - exactly the
 * lines whose seq % 6 is 0, 1 or 2 - each once.
 */
Test(sinks, two_sinks_each_get_their_format_and_level, .timeout = TEST_TIMEOUT(60))
{
	char *text = harness_file("warn.log");
	const char *const opts[] = { "-o", harness_fmt("%s,format=text,level=warning", text),
	    NULL };
	const int threads = 3, lines = 600;
	struct sk_seen all;
	char *log, sev[16];
	size_t want = 0, got = 0;

	sk_logmix(opts, 1, threads, lines, "syslog", &log);
	sk_seen_init(&all, 1, threads, lines);
	sk_seen_json(&all, log);
	sk_seen_all(&all, 0);

	for (int seq = 0; seq < lines; seq++)
		want += seq % 6 <= 2;
	want *= threads;
	char *t = harness_read_file(text, NULL);

	for (char *line = t, *nl; *line != '\0'; line = nl + 1) {
		nl = strchr(line, '\n');
		cr_assert_not_null(nl, "a line without its newline: %s", line);
		*nl = '\0';
		sk_text_severity(line, sev, sizeof(sev));
		cr_assert(strcmp(sev, "crit") == 0 || strcmp(sev, "err") == 0 ||
		    strcmp(sev, "warning") == 0, "severity %s in the warning sink: %s", sev, line);
		cr_assert(harness_contains(line, " logmix: logmix p=0 t="), "%s", line);
		got++;
	}
	cr_assert_eq(got, want, "%zu lines in the warning sink, not %zu", got, want);
}

/* ---- rotation ------------------------------------------------------------ */

/* Account path and path.1 ... path.keep, oldest first, with every file
 * within max bytes (a single longer line may stand alone); returns the
 * number of rotated files found. */
static unsigned
sk_seen_rotated(struct sk_seen *s, const char *path, unsigned keep, uint64_t max)
{
	unsigned found = 0;
	struct stat st;

	cr_assert(stat(harness_fmt("%s.%u", path, keep + 1), &st) == -1 && errno == ENOENT,
	    "%s.%u exists: more kept than %u", path, keep + 1, keep);
	for (unsigned i = keep; i >= 1; i--) {
		char *f = harness_fmt("%s.%u", path, i);

		if (stat(f, &st) == -1)
			continue;
		found++;
		cr_assert_leq((uint64_t)st.st_size, max, "%s: %lld bytes", f,
		    (long long)st.st_size);
		sk_seen_json(s, f);
	}
	cr_assert_eq(stat(path, &st), 0, "%s is gone", path);
	cr_assert_leq((uint64_t)st.st_size, max);
	sk_seen_json(s, path);
	return found;
}

/*
 * A log rotated at 64 KiB, keeping 40 files: about 700 KB of lines make
 * a dozen files, none over 64 KiB, that hold every line once, in order
 * from the oldest file to the log itself.
 */
Test(sinks, rotation_by_size_keeps_every_line_once_in_order, .timeout = TEST_TIMEOUT(60))
{
	const char *const opts[] = { "--rotate-size", "64K", "--rotate-keep", "40", NULL };
	struct sk_seen s;
	char *log;

	sk_logmix(opts, 2, 2, 800, "write", &log);
	sk_seen_init(&s, 2, 2, 800);
	unsigned n = sk_seen_rotated(&s, log, 40, 64 * 1024);

	cr_assert(n >= 8 && n < 40, "%u rotated files", n);
	sk_seen_all(&s, 0);
}

/*
 * Keeping 2: only the log and two rotated files remain, and they hold the
 * newest lines of every thread, without a gap.
 */
Test(sinks, rotation_keeps_only_the_newest_files, .timeout = TEST_TIMEOUT(60))
{
	const char *const opts[] = { "--rotate-size", "32K", "--rotate-keep", "2", NULL };
	struct sk_seen s;
	char *log;

	sk_logmix(opts, 1, 2, 1500, "write", &log);
	sk_seen_init(&s, 1, 2, 1500);
	cr_assert_eq(sk_seen_rotated(&s, log, 2, 32 * 1024), 2);
	sk_seen_all(&s, 1);
}

/* ---- ageing and compression ---------------------------------------------- */

/* The decompressed bytes of path with the real tool (zcat, zstdcat). */
static char *
sk_unpack(const char *tool, const char *path, size_t *len)
{
	char *out = harness_file(harness_fmt("unpacked-%s", strrchr(path, '/') + 1));
	char *argv[] = { "/bin/sh", "-c", harness_fmt("%s '%s' > '%s'", tool, path, out), NULL };
	struct harness_result r;

	cr_assert_eq(harness_run(argv, NULL, NULL, &r), 0, "%s %s: %s", tool, path, r.err);
	return harness_read_file(out, len);
}

/* A record of a fixed time, so that its text is known. */
static struct fmt_record
sk_rec(int seq, char *msg, size_t cap)
{
	struct fmt_record r = { .ts_ns = 1767225600000000000ull + (uint64_t)seq * 1000000u,
	    .pid = 42, .tid = 42, .source = 0, .facility = 1, .severity = 6,
	    .proc = "ager", .msg = msg };

	r.msg_len = (size_t)snprintf(msg, cap, "line %05d of a file that ages %s", seq,
	    "................................................................");
	return r;
}

/*
 * A sink rotated by size with compress=gzip, then zstd (a dozen
 * rotations, fewer than ROTATE_JOBS_MAX, so that none is left plain for
 * want of a place in the queue): every rotated
 * file is compressed (no plain one, no temporary left once mplogd's sinks
 * are closed), and the files read back with the real zcat and zstdcat,
 * oldest first, then the log, are byte for byte the text written.
 */
Test(sinks, compressed_rotations_read_back_byte_for_byte, .timeout = TEST_TIMEOUT(60))
{
	static const char *const tools[] = { NULL, "zcat", "zstdcat" };
	static const char *const ext[] = { NULL, ".gz", ".zst" };

	TEST_NEED(access("/usr/bin/zstdcat", X_OK) == 0, "zstd");
	for (int c = ROTATE_GZIP; c <= ROTATE_ZSTD; c++) {
		char *path = harness_file(harness_fmt("aged-%d.log", c)), why[256], msg[128];
		struct sink_spec spec;
		struct fmt_buf want = { 0 }, got = { 0 };
		struct sink s;
		struct stat st;
		unsigned files = 0;

		cr_assert_eq(sinkspec_parse(&spec, SINK_FILE, harness_fmt("%s,rotate-size=16K,"
		    "rotate-keep=99,compress=%s", path, c == ROTATE_GZIP ? "gzip" : "zstd"),
		    why, sizeof(why)), 0, "%s", why);
		cr_assert_eq(spec.compress, c);
		cr_assert_eq(sink_open(&s, &spec, -1, why, sizeof(why)), 0, "%s", why);
		for (int seq = 0; seq < 1200; seq++) {
			struct fmt_record r = sk_rec(seq, msg, sizeof(msg));

			cr_assert_eq(fmt_record(&want, FMT_TEXT, &r), 0);
			sink_put(&s, &r);
			if (seq % 50 == 49)
				cr_assert_eq(sink_flush(&s), 0);
		}
		sink_close(&s);
		for (unsigned i = 99; i >= 1; i--) {
			char *f = harness_fmt("%s.%u%s", path, i, ext[c]);
			size_t n;
			char *text;

			cr_assert(stat(harness_fmt("%s.%u", path, i), &st) == -1,
			    "%s.%u is left plain", path, i);
			if (stat(f, &st) == -1)
				continue;
			files++;
			text = sk_unpack(tools[c], f, &n);
			cr_assert_leq(n, 16 * 1024, "%s: %zu bytes", f, n);
			cr_assert_eq(fmt_buf_put(&got, text, n), 0);
		}
		size_t n;
		char *last = harness_read_file(path, &n);

		cr_assert_eq(fmt_buf_put(&got, last, n), 0);
		cr_assert(files >= 6 && files < ROTATE_JOBS_MAX, "%u rotated files", files);
		cr_assert_eq(got.len, want.len, "%zu bytes read back, %zu written", got.len,
		    want.len);
		cr_assert(memcmp(got.data, want.data, want.len) == 0, "the bytes differ");
		char *ls[] = { "/bin/sh", "-c", harness_fmt("ls '%s'.compressing-* 2>/dev/null",
		    path), NULL };
		struct harness_result r;

		harness_run(ls, NULL, NULL, &r);
		cr_assert_str_eq(r.out, "", "temporary files left");
		fmt_buf_free(&want);
		fmt_buf_free(&got);
	}
}

/* The next full hour, and the next midnight, in local time, also across
 * a change of the clocks (Europe/Berlin, 29 March 2026 02:00 CET becomes
 * 03:00 CEST). */
Test(sinks, rotate_every_ends_periods_at_local_hours_and_midnights)
{
	setenv("TZ", "UTC", 1);
	tzset();
	/* 2026-01-01 10:20:30 UTC */
	cr_assert_eq(rotate_next(1767262830, ROTATE_HOURLY), 1767265200);  /* 11:00 */
	cr_assert_eq(rotate_next(1767262830, ROTATE_DAILY), 1767312000);   /* 02 00:00 */
	cr_assert_eq(rotate_next(1767265200, ROTATE_HOURLY), 1767268800);  /* on the hour */
	cr_assert_eq(rotate_next(1767262830, ROTATE_NEVER), (time_t)-1);
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	/* 2026-03-29 01:30 CET (00:30 UTC): the next hour is 03:00 CEST,
	 * 01:00 UTC; that day's midnight-to-midnight is 23 hours. */
	cr_assert_eq(rotate_next(1774744200, ROTATE_HOURLY), 1774746000);
	cr_assert_eq(rotate_next(1774744200, ROTATE_DAILY), 1774821600);  /* 30th 00:00 CEST */
	/* 2026-03-28 12:00 CET: midnight is 23:00 UTC. */
	cr_assert_eq(rotate_next(1774695600, ROTATE_DAILY), 1774738800);
}

/*
 * rotate-every: once the period the sink's file began in is over (its
 * end set in the past here: rotate_next is tested above), the next write
 * rotates the file, and lines written after go to a new one. An empty
 * file is not rotated.
 */
Test(sinks, rotate_every_moves_the_last_periods_lines_aside, .timeout = TEST_TIMEOUT(30))
{
	char *path = harness_file("hourly.log"), why[256], msg[128];
	struct fmt_buf first = { 0 }, second = { 0 };
	struct sink_spec spec;
	struct sink s;
	struct stat st;
	size_t n;

	cr_assert_eq(sinkspec_parse(&spec, SINK_FILE, harness_fmt("%s,rotate-every=hourly", path),
	    why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(spec.rotate_every, ROTATE_HOURLY);
	cr_assert_eq(sink_open(&s, &spec, -1, why, sizeof(why)), 0, "%s", why);
	cr_assert_gt(s.rotate_at, time(NULL), "the period ends ahead");
	s.rotate_at = time(NULL) - 1;
	cr_assert_eq(sink_flush(&s), 0);
	cr_assert(stat(harness_fmt("%s.1", path), &st) == -1, "an empty file was rotated");
	cr_assert_gt(s.rotate_at, time(NULL), "the next period's end");
	for (int seq = 0; seq < 10; seq++) {
		struct fmt_record r = sk_rec(seq, msg, sizeof(msg));

		fmt_record(&first, FMT_TEXT, &r);
		sink_put(&s, &r);
	}
	cr_assert_eq(sink_flush(&s), 0);
	s.rotate_at = time(NULL) - 1;
	for (int seq = 10; seq < 15; seq++) {
		struct fmt_record r = sk_rec(seq, msg, sizeof(msg));

		fmt_record(&second, FMT_TEXT, &r);
		sink_put(&s, &r);
	}
	cr_assert_eq(sink_flush(&s), 0);
	sink_close(&s);
	char *old = harness_read_file(harness_fmt("%s.1", path), &n);

	cr_assert(n == first.len && memcmp(old, first.data, n) == 0, "%s.1: %s", path, old);
	char *now = harness_read_file(path, &n);

	cr_assert(n == second.len && memcmp(now, second.data, n) == 0, "%s: %s", path, now);
	fmt_buf_free(&first);
	fmt_buf_free(&second);
}

/* The keys of ageing, compression and the spool are checked. */
Test(sinks, rotate_every_and_compress_take_only_their_values)
{
	sk_parse_fails(SINK_FILE, "a.log,rotate-every=weekly",
	    "rotate-every 'weekly' is not never, hourly or daily of a file");
	sk_parse_fails(SINK_FILE, "a.log,compress=xz", "compress 'xz' is not none, gzip or zstd");
	sk_parse_fails(SINK_FORWARD, "udp://h:514,compress=gzip", "of a file");
	sk_parse_fails(SINK_FILE, "a.log,spool=/tmp/s", "spool '/tmp/s' is not a file, folder or name of a server");
	sk_parse_fails(SINK_FORWARD, "tcp://h:514,spool-max=0", "spool-max '0'");
	struct sink_spec s = sk_parse(SINK_FORWARD, "tcp://h:514,spool=/var/spool/mplog,spool-max=2G");

	cr_assert_str_eq(s.spool, "/var/spool/mplog");
	cr_assert_eq(s.spool_max, 2ull << 30);
	sinkspec_free(&s);
	s = sk_parse(SINK_FORWARD, "relp://logs:2514,ca=/etc/ca.pem,cert=/etc/c.pem,key=/etc/c.key,"
	    "name=logs.example");
	cr_assert_str_eq(s.target, "relp://logs:2514");
	cr_assert_str_eq(s.ca, "/etc/ca.pem");
	cr_assert_str_eq(s.cert, "/etc/c.pem");
	cr_assert_str_eq(s.key, "/etc/c.key");
	cr_assert_str_eq(s.name, "logs.example");
	sinkspec_free(&s);
	sk_parse_fails(SINK_FORWARD, "tls://h,ca=/c,cert=/x", "cert and key go together");
	sk_parse_fails(SINK_FILE, "a.log,ca=/c", "of a server");
}

/* ---- logrotate ----------------------------------------------------------- */

/* Run the real logrotate -f on conf; it must succeed. */
static void
sk_logrotate(const char *conf, const char *state)
{
	char *argv[] = { "/usr/sbin/logrotate", "-f", "-s", (char *)state, (char *)conf, NULL };
	struct harness_result r;

	cr_assert(access(argv[0], X_OK) == 0, "logrotate is not installed (scripts/setup-deps)");
	harness_run(argv, NULL, NULL, &r);
	cr_assert_eq(r.code, 0, "logrotate: exit %d: %s%s", r.code, r.out, r.err);
}

/* Start logmix attached to d's segment; its stdout and stderr to files. */
static pid_t
sk_spawn_logmix(const struct harness_daemon *d, const char *const *args)
{
	char *argv[16];
	int n = 0;

	argv[n++] = harness_build("hosts/logmix");
	for (; *args != NULL; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
	struct harness_io io = { -1, open(harness_file("logmix.out"), O_WRONLY | O_CREAT |
	    O_TRUNC | O_CLOEXEC, 0600), open(harness_file("logmix.err"), O_WRONLY | O_CREAT |
	    O_TRUNC | O_CLOEXEC, 0600), -1, -1 };

	return harness_spawn(argv, harness_env(harness_fmt("LD_PRELOAD=%s", harness_shim()),
	    harness_fmt("MPLOG_SHM=%s", d->shm), NULL), &io);
}

/* 1 once pid has exited; it is not reaped (harness_wait does that). */
static int
sk_exited(pid_t pid)
{
	siginfo_t si = { 0 };

	return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
	    si.si_pid == pid;
}

/*
 * The real logrotate, in its default create mode with a postrotate
 * SIGHUP, rotates the log up to three times while four threads log
 * 200,000 lines, each time once lines are in the new log and while the
 * load runs (at least once: it runs for longer than a rotation takes):
 * every line is in exactly one of the files afterwards.
 */
Test(sinks, logrotate_create_under_load_loses_and_repeats_nothing, .timeout = TEST_TIMEOUT(120))
{
	const char *const args[] = { "-p", "1", "-t", "4", "-n", "50000", "-m", "write", NULL };
	struct harness_daemon d;
	struct sk_seen s;
	char *conf = harness_file("logrotate.conf"), *state = harness_file("logrotate.state");
	unsigned rotations = 0;
	struct stat st;
	FILE *f;

	harness_daemon_start(&d, "json", NULL);
	cr_assert_not_null(f = fopen(conf, "w"));
	fprintf(f, "%s {\n\tcreate 0600\n\trotate 10\n\tpostrotate\n\t\tkill -HUP %d\n"
	    "\tendscript\n}\n", d.log, (int)d.pid);
	fclose(f);
	pid_t p = sk_spawn_logmix(&d, args);

	while (rotations < 3 && !sk_exited(p)) {
		long long end = harness_now_ms() + SK_POLL_MS;

		while ((stat(d.log, &st) == -1 || st.st_size == 0) && !sk_exited(p) &&
		    harness_now_ms() < end)
			harness_tick();
		if (stat(d.log, &st) == -1 || st.st_size == 0)
			break;  /* the load ended before more lines came */
		sk_logrotate(conf, state);
		rotations++;
	}
	cr_assert_eq(harness_wait(p, 60000), 0, "logmix: %s",
	    harness_read_file(harness_file("logmix.out"), NULL));
	cr_assert_eq(harness_daemon_stop(&d), 0, "mplogd: %s", harness_read_file(d.err, NULL));
	cr_assert_geq(rotations, 1, "the load ended before the first rotation");
	cr_log_info("%u rotations under load", rotations);
	sk_seen_init(&s, 1, 4, 50000);
	cr_assert_eq(sk_seen_rotated(&s, d.log, 10, UINT64_MAX), rotations);
	sk_seen_all(&s, 0);
}

/*
 * copytruncate: logrotate copies the log and truncates it in place,
 * without telling mplogd. Lines written while it does are at risk by
 * its design, so it runs between two loads: the first load is whole in
 * the copy, the second whole in the log, which starts at its first byte
 * (O_APPEND: no hole of zeroes where the old end was).
 */
Test(sinks, logrotate_copytruncate_between_loads_keeps_both, .timeout = TEST_TIMEOUT(120))
{
	const char *const args[] = { "-p", "1", "-t", "2", "-n", "2000", "-m", "write", NULL };
	struct harness_daemon d;
	struct sk_seen s1, s2;
	char *conf = harness_file("logrotate.conf"), *state = harness_file("logrotate.state");
	FILE *f;

	harness_daemon_start(&d, "json", NULL);
	cr_assert_not_null(f = fopen(conf, "w"));
	fprintf(f, "%s {\n\tcopytruncate\n\trotate 3\n}\n", d.log);
	fclose(f);
	for (int load = 0; load < 2; load++) {
		pid_t p = sk_spawn_logmix(&d, args);

		cr_assert_eq(harness_wait(p, 60000), 0);
		/* The exit line is the logmix's last: once it is in, all are. */
		long long end = harness_now_ms() + SK_POLL_MS;

		while (!harness_contains(harness_read_file(d.log, NULL), "logmix exit=0") &&
		    harness_now_ms() < end)
			harness_tick();
		cr_assert(harness_contains(harness_read_file(d.log, NULL), "logmix exit=0"));
		if (load == 0)
			sk_logrotate(conf, state);
	}
	cr_assert_eq(harness_daemon_stop(&d), 0, "mplogd: %s", harness_read_file(d.err, NULL));
	cr_assert_eq(harness_read_file(d.log, NULL)[0], '{', "the log does not start with a record");
	sk_seen_init(&s1, 1, 2, 2000);
	sk_seen_json(&s1, harness_fmt("%s.1", d.log));
	sk_seen_all(&s1, 0);
	sk_seen_init(&s2, 1, 2, 2000);
	sk_seen_json(&s2, d.log);
	sk_seen_all(&s2, 0);
}

/* ---- colour --------------------------------------------------------------- */

/* Run mplogd -- say "s:2:..." "s:6:..." with its stdout on a terminal (a
 * pseudo-terminal) as the text sink "-,KEYS" and env extra; returns what
 * the terminal showed. */
static char *
sk_on_terminal(const char *keys, const char *extra)
{
	char *argv[16], buf[4096];
	int n = 0, master, slave;
	size_t len = 0;
	char *shown = calloc(1, 65536);

	cr_assert_eq(openpty(&master, &slave, NULL, NULL, NULL), 0, "openpty: %s",
	    strerror(errno));
	harness_mplog_argv(argv, &n, 0, "text", harness_fmt("-%s", keys), NULL);
	argv[n++] = harness_build("hosts/say");
	argv[n++] = "s:2:in crit";
	argv[n++] = "s:6:in info";
	argv[n] = NULL;
	struct harness_io io = { -1, slave, open("/dev/null", O_WRONLY | O_CLOEXEC), -1, -1 };
	pid_t pid = harness_spawn(argv, harness_env(extra, NULL), &io);

	close(slave);
	cr_assert_eq(harness_wait(pid, 30000), 0);
	for (ssize_t r; (r = read(master, buf, sizeof(buf))) > 0 && len + (size_t)r < 65535;
	    len += (size_t)r)
		memcpy(shown + len, buf, (size_t)r);
	close(master);
	return shown;
}

/*
 * On a terminal, text is coloured by severity (crit bold red, info
 * plain) unless NO_COLOR is set or the sink says color=never; a pipe
 * gets none unless color=always.
 */
Test(sinks, terminal_gets_colour_by_severity_unless_no_color, .timeout = TEST_TIMEOUT(60))
{
	unsetenv("NO_COLOR");
	char *t = sk_on_terminal("", NULL);

	cr_assert(harness_contains(t, "\033[1;31m"), "no colour: %s", t);
	cr_assert(harness_contains(t, "in crit\033[0m"), "crit line not reset: %s", t);
	cr_assert(!harness_contains(t, "in info\033[0m"), "info coloured: %s", t);
	t = sk_on_terminal("", "NO_COLOR=1");
	cr_assert(!harness_contains(t, "\033["), "colour with NO_COLOR: %s", t);
	cr_assert(harness_contains(t, "in crit"), "%s", t);
	t = sk_on_terminal(",color=never", NULL);
	cr_assert(!harness_contains(t, "\033["), "colour with color=never: %s", t);

	const char *const opts[] = { "-o", "-,format=text,color=always", NULL };
	const char *const args[] = { "s:2:in crit", NULL };
	char *log;
	struct harness_result r = harness_run_host(0, "json", opts, "say", args, &log);

	cr_assert(harness_contains(r.out, "\033[1;31m") && harness_contains(r.out, "in crit\033[0m\n"),
	    "color=always on a pipe: %s", r.out);
	cr_assert(!harness_contains(harness_read_file(log, NULL), "\033["), "colour in JSON");
}

/* ---- the rate limit ------------------------------------------------------ */

Test(sinks, rate_limit_counts_per_window_per_process)
{
	struct ratelimit rl;
	struct ratelimit_report rep;
	const int64_t s = 1000000000LL;
	uint32_t lane = 0;
	int kept = 0;

	cr_assert_eq(ratelimit_init(&rl, 2, 3, s), 0);
	for (int i = 0; i < 10; i++) {
		kept += ratelimit_take(&rl, 0, 100, "a", i, &rep);
		cr_assert_eq(rep.suppressed, 0, "a report inside the window");
	}
	cr_assert_eq(kept, 3);
	cr_assert_eq(ratelimit_take(&rl, 1, 200, "b", 10, &rep), 1, "lanes count apart");
	cr_assert_eq(ratelimit_sweep(&rl, &lane, s - 1, &rep), 0, "the window is not over");
	lane = 0;
	cr_assert_eq(ratelimit_sweep(&rl, &lane, s, &rep), 1);
	cr_assert(lane == 0 && rep.pid == 100 && rep.suppressed == 7 && strcmp(rep.proc, "a") == 0,
	    "lane %u pid %d: %llu from %s", lane, rep.pid, (unsigned long long)rep.suppressed,
	    rep.proc);
	lane = 0;
	cr_assert_eq(ratelimit_sweep(&rl, &lane, s, &rep), 0, "reported twice");

	/* A new window: the count comes before the record that opens it. */
	for (int i = 0; i < 5; i++)
		ratelimit_take(&rl, 0, 100, "a", 2 * s + i, &rep);
	cr_assert_eq(ratelimit_take(&rl, 0, 100, "a", 3 * s, &rep), 1);
	cr_assert_eq(rep.suppressed, 2);
	/* Another process on the lane: the old one's count comes first. */
	for (int i = 0; i < 4; i++)
		ratelimit_take(&rl, 0, 100, "a", 3 * s + 1 + i, &rep);
	cr_assert_eq(ratelimit_take(&rl, 0, 300, "c", 3 * s + 9, &rep), 1);
	cr_assert(rep.pid == 100 && rep.suppressed == 2, "pid %d: %llu", rep.pid,
	    (unsigned long long)rep.suppressed);
	ratelimit_free(&rl);
}

/*
 * --rate-limit 100/60: each of logmix's two children writes 1,000 lines
 * in one window; the first 100 of each in its lane's order are delivered
 * (a prefix of every thread's lines), then one record of the child from
 * mplog says that 900 were suppressed. The main process's two lines are
 * under the limit.
 */
Test(sinks, rate_limit_replaces_a_flood_with_a_count, .timeout = TEST_TIMEOUT(60))
{
	const char *const opts[] = { "--rate-limit", "100/60", NULL };
	struct sk_seen s;
	size_t n, notes = 0, lines = 0;
	char *log;

	sk_logmix(opts, 2, 2, 500, "write", &log);
	struct harness_rec *recs = harness_json_load(log, &n);

	sk_seen_init(&s, 2, 2, 500);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(recs[i].source, "mplog") == 0) {
			cr_assert_str_eq(recs[i].msg, "mplog: 900 lines suppressed by the rate "
			    "limit (100 per 60000 ms)");
			cr_assert_str_eq(recs[i].proc, "logmix");
			cr_assert_str_eq(recs[i].severity, "warning");
			notes++;
			continue;
		}
		lines += strncmp(recs[i].msg, "logmix p=", 9) == 0;
		sk_seen_line(&s, recs[i].msg, recs[i].pid, harness_fmt("%s:%zu", log,
		    recs[i].line));
	}
	cr_assert_eq(notes, 2);
	cr_assert_eq(lines, 200);
	for (int p = 0; p < 2; p++) {
		int got = 0;

		for (int t = 0; t < 2; t++) {
			const unsigned char *g = s.got + ((size_t)p * 2 + t) * 500;
			int k = 0;

			while (k < 500 && g[k])
				k++;
			for (int seq = k; seq < 500; seq++)
				cr_assert(!g[seq], "p=%d t=%d: seq %d after a gap at %d", p, t, seq, k);
			got += k;
		}
		cr_assert_eq(got, 100, "p=%d: %d lines", p, got);
	}
	for (size_t i = 0; i < n; i++)
		if (strcmp(recs[i].source, "mplog") == 0)
			cr_assert(recs[i].pid == s.pid[0] || recs[i].pid == s.pid[1],
			    "the count is from pid %ld, no child", recs[i].pid);
}

/*
 * An output that cannot be written (here /dev/full: the disk is full)
 * holds up to SINK_BUF_MAX bytes of records; the records after that are
 * discarded and counted. Once writing works again, what was held is
 * written in order, mplogd says so and reports the count, and held plus
 * discarded is every record put.
 */
Test(sinks, a_full_disk_holds_16_mib_then_counts_what_it_discards, .timeout = TEST_TIMEOUT(60))
{
	char *path = harness_file("full.log"), *errpath = harness_file("full.err");
	char why[256], msg[128];
	struct sink_spec spec = { .kind = SINK_FILE, .format = FMT_TEXT, .level = 7,
	    .color = SINK_COLOR_NEVER, .target = strdup("-") };
	struct sink s;
	int fd = open("/dev/full", O_WRONLY | O_CLOEXEC), saved = dup(2), errfd;
	size_t put = 0, kept = 0, lost = 0, n;
	char *log, *err, *p;

	cr_assert(fd != -1 && saved != -1 && spec.target != NULL);
	errfd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert(errfd != -1 && dup2(errfd, 2) == 2);
	cr_assert_eq(sink_open(&s, &spec, fd, why, sizeof(why)), 0, "%s", why);
	/* 40 MiB of records, flushing (and failing) along the way. */
	for (put = 0; put < 40 * 1024 * 1024 / 100; put++) {
		struct fmt_record r = { .ts_ns = 1, .pid = 1, .tid = 1, .facility = 1,
		    .severity = 6, .proc = "p", .msg = msg };

		r.msg_len = (size_t)snprintf(msg, sizeof(msg), "record %09zu %060d", put, 0);
		sink_put(&s, &r);
		cr_assert_leq(s.buf.len, SINK_BUF_MAX + 200, "held past the bound");
		if (sink_full(&s))
			cr_assert_eq(sink_flush(&s), -1, "/dev/full took bytes");
	}
	cr_assert(s.failing);
	/* The disk has room again. */
	int file = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert(file != -1 && dup2(file, fd) == fd);
	close(file);
	cr_assert_eq(sink_flush(&s), 0);
	sink_close(&s);
	fflush(stderr);
	cr_assert(dup2(saved, 2) == 2);
	close(saved);
	close(errfd);
	close(fd);
	log = harness_read_file(path, &n);
	cr_assert_geq(n, SINK_BUF_MAX, "%zu bytes held", n);
	/* memmem, not strstr: a sanitizer's strstr measures the whole rest
	 * of the 16 MiB at each call. */
	for (p = log; (p = memmem(p, n - (size_t)(p - log), " record ", 8)) != NULL; p++) {
		cr_assert_eq(atol(p + 8), (long)kept, "record %zu out of order", kept);
		kept++;
	}
	err = harness_read_file(errpath, NULL);
	p = strstr(err, "output: writing again\n");
	cr_assert_not_null(p, "%s", err);
	cr_assert_not_null(strstr(err, "output: No space left on device"), "%s", err);
	cr_assert_eq(sscanf(p, "%*[^\n]\n%*[^:]: output: %zu records lost", &lost), 1, "%s", err);
	cr_assert_gt(lost, 0);
	cr_assert_eq(kept + lost, put, "%zu kept and %zu lost of %zu", kept, lost, put);
	free(log);
	free(err);
}
