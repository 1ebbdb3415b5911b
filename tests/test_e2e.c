/*
 * test_e2e.c - mplog end to end: the hosts of tests/hosts run under the
 * real shim and the real mplogd of $MPLOG_BUILD, and each test checks
 * both sides: what the program itself saw (exit status, return values
 * and errno, its own stdout and stderr) and what reached the log.
 *
 * Expected log contents are derived from what a host was told to write
 * (the rules are in each host's opening comment), never copied from an
 * output. The real pid and tid of every writer come from the host's own
 * stdout. Processes are synchronised through pipes, --ready-fd and exit;
 * nothing sleeps in place of an event.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "need.h"
#include "hosts/checksum.h"

TestSuite(e2e, .init = harness_setup, .fini = harness_teardown);

/* ---- logmix: what it was told, and the rules it writes by ---------- */

enum e2e_via { E2E_WRITE, E2E_WRITEV, E2E_PIECES, E2E_MULTI, E2E_SYSLOG, E2E_ALL };

static const char *const e2e_vias[] = {
	"write", "writev", "pieces", "multi", "syslog", "all",
};

static const char *const e2e_sevs[] = {
	"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

/* What a logmix run was told to do, and what the log must then hold. */
struct e2e_mix {
	int procs, threads, lines;      /* -p -t -n */
	int mix;                        /* -m */
	int wait;                       /* -w: two phases */
	int level2;                     /* -w: level during phase 2, 0-7 */
	int code;                       /* -x; the exit line is expected */
	int sig;                        /* -k; no exit line */
	int lossy1;                     /* phase 1 may be lost (mplogd killed) */
	int drops;                      /* lines may be dropped, if accounted */
	int fallback;                   /* lines may reach the real stderr */
	const char *const *opts;        /* more mplogd options, NULL-ended */
};

/* Who wrote: logmix's stdout map of (p, t) to pid and tid. */
struct e2e_map {
	long main_pid;
	long *pid, *tid;                /* [p * threads + t] */
	int phase1;                     /* "phase1" lines seen */
};

/* logmix's rule: how line seq of thread t is written. */
static int
e2e_via_of(int mix, int t, int seq)
{
	static const int cycle[8] = {
		E2E_WRITE, E2E_WRITEV, E2E_PIECES, E2E_MULTI,
		E2E_MULTI, E2E_MULTI, E2E_SYSLOG, E2E_SYSLOG,
	};

	return mix == E2E_ALL ? cycle[(seq + 3 * t) % 8] : mix;
}

/* logmix's rule: the severity of a line (stderr lines are info). */
static int
e2e_sev_of(int via, int seq)
{
	return via == E2E_SYSLOG ? 2 + seq % 6 : 6;
}

/* The exact text of logmix line (p, t, seq) written via via. */
static int
e2e_line(char *buf, size_t len, int p, int t, int seq, int via)
{
	int n = snprintf(buf, len, "logmix p=%d t=%d seq=%d via=%s", p, t, seq, e2e_vias[via]);

	return n + snprintf(buf + n, len - (size_t)n, " sum=%08x", checksum_fnv(buf, (size_t)n));
}

/* The argv of logmix for m; strings live in bufs. */
static void
e2e_mix_args(const struct e2e_mix *m, char **argv, int *argc, char bufs[5][16])
{
	snprintf(bufs[0], 16, "%d", m->procs);
	snprintf(bufs[1], 16, "%d", m->threads);
	snprintf(bufs[2], 16, "%d", m->lines);
	argv[(*argc)++] = harness_build("hosts/logmix");
	argv[(*argc)++] = "-p";
	argv[(*argc)++] = bufs[0];
	argv[(*argc)++] = "-t";
	argv[(*argc)++] = bufs[1];
	argv[(*argc)++] = "-n";
	argv[(*argc)++] = bufs[2];
	argv[(*argc)++] = "-m";
	argv[(*argc)++] = (char *)e2e_vias[m->mix];
	if (m->sig != 0) {
		snprintf(bufs[3], 16, "%d", m->sig);
		argv[(*argc)++] = "-k";
		argv[(*argc)++] = bufs[3];
	} else {
		snprintf(bufs[3], 16, "%d", m->code);
		argv[(*argc)++] = "-x";
		argv[(*argc)++] = bufs[3];
	}
	if (m->wait)
		argv[(*argc)++] = "-w";
	argv[*argc] = NULL;
}

/* Read logmix's stdout: the writers' map; any FAIL line fails the test. */
static void
e2e_map_parse(const struct e2e_mix *m, const char *out, struct e2e_map *map)
{
	size_t n = (size_t)(m->procs * m->threads);

	memset(map, 0, sizeof(*map));
	map->pid = calloc(n, sizeof(long));
	map->tid = calloc(n, sizeof(long));
	cr_assert(map->pid != NULL && map->tid != NULL);
	for (const char *s = out; *s != '\0';) {
		const char *nl = strchr(s, '\n');
		int p, t;
		long pid, tid;

		cr_assert(strncmp(s, "FAIL", 4) != 0, "logmix reports: %.*s",
		    (int)(nl ? nl - s : (long)strlen(s)), s);
		if (sscanf(s, "main pid=%ld", &pid) == 1) {
			cr_assert(map->main_pid == 0, "two main lines");
			map->main_pid = pid;
		} else if (sscanf(s, "thread p=%d t=%d pid=%ld tid=%ld", &p, &t, &pid, &tid) == 4) {
			cr_assert(p >= 0 && p < m->procs && t >= 0 && t < m->threads,
			    "thread line out of range: p=%d t=%d", p, t);
			cr_assert(map->pid[p * m->threads + t] == 0, "thread p=%d t=%d twice", p, t);
			map->pid[p * m->threads + t] = pid;
			map->tid[p * m->threads + t] = tid;
		} else if (strncmp(s, "phase1 p=", 9) == 0) {
			map->phase1++;
		} else {
			cr_assert_fail("unexpected logmix stdout line: %.*s",
			    (int)(nl ? nl - s : (long)strlen(s)), s);
		}
		if (nl == NULL)
			break;
		s = nl + 1;
	}
	cr_assert(map->main_pid > 0, "logmix did not report its pid");
	cr_assert(map->phase1 == (m->wait ? m->procs : 0), "%d phase1 lines", map->phase1);
	for (size_t i = 0; i < n; i++)
		cr_assert(map->pid[i] > 0, "logmix thread p=%zu t=%zu did not report",
		    i / (size_t)m->threads, i % (size_t)m->threads);
}

/* Must line seq of a thread be in the log? */
static int
e2e_expected(const struct e2e_mix *m, int t, int seq)
{
	int via = e2e_via_of(m->mix, t, seq);

	return seq < m->lines || e2e_sev_of(via, seq) <= m->level2;
}

/* Check that a record's metadata is that of a logmix line sent via via. */
static void
e2e_check_meta(const struct harness_rec *r, int via, int seq, long pid, long tid)
{
	cr_assert(strcmp(r->proc, "logmix") == 0, "line %zu: proc %s", r->line, r->proc);
	cr_assert(r->pid == pid && r->tid == tid,
	    "line %zu: pid/tid %ld/%ld, the writer is %ld/%ld: %s",
	    r->line, r->pid, r->tid, pid, tid, r->msg);
	if (via == E2E_SYSLOG) {
		cr_assert(strcmp(r->source, "syslog") == 0 && strcmp(r->facility, "local3") == 0 &&
		    strcmp(r->severity, e2e_sevs[e2e_sev_of(via, seq)]) == 0 &&
		    r->has_ident && strcmp(r->ident, "logmix") == 0,
		    "line %zu: syslog line with source %s facility %s severity %s ident %s: %s",
		    r->line, r->source, r->facility, r->severity,
		    r->has_ident ? r->ident : "null", r->msg);
	} else {
		cr_assert(strcmp(r->source, "stderr") == 0 && strcmp(r->facility, "user") == 0 &&
		    strcmp(r->severity, "info") == 0 && !r->has_ident,
		    "line %zu: stderr line with source %s facility %s severity %s ident %s: %s",
		    r->line, r->source, r->facility, r->severity,
		    r->has_ident ? r->ident : "null", r->msg);
	}
}

/* Account one delivered logmix line (p, t, seq), failing on a duplicate. */
static void
e2e_seen(unsigned char *seen, int per, int w, int seq, const char *where, const char *msg)
{
	cr_assert(!seen[(size_t)w * (size_t)per + (size_t)seq],
	    "%s: delivered twice: %s", where, msg);
	seen[(size_t)w * (size_t)per + (size_t)seq] = 1;
}

/* Parse a logmix line into its writer and seq and check its text; the
 * writer index goes to *w. */
static int
e2e_parse_line(const struct e2e_mix *m, const char *msg, size_t len, int *w,
    const char *where)
{
	int per = m->lines * (m->wait ? 2 : 1), p, t, seq, n;
	char text[160];

	cr_assert(sscanf(msg, "logmix p=%d t=%d seq=%d ", &p, &t, &seq) == 3,
	    "%s: not a logmix line: %s", where, msg);
	cr_assert(p >= 0 && p < m->procs && t >= 0 && t < m->threads &&
	    seq >= 0 && seq < per, "%s: out of range: %s", where, msg);
	n = e2e_line(text, sizeof(text), p, t, seq, e2e_via_of(m->mix, t, seq));
	cr_assert(len == (size_t)n && memcmp(msg, text, (size_t)n) == 0,
	    "%s: damaged: \"%s\", expected \"%s\"", where, msg, text);
	cr_assert(e2e_expected(m, t, seq),
	    "%s: should have been filtered out by the level: %s", where, msg);
	*w = p * m->threads + t;
	return seq;
}

/*
 * Check a JSON log against what logmix was told: every expected line
 * exactly once, intact, in order per thread, from the right pid and tid,
 * with the right metadata; nothing else but logmix's exit line. Lines
 * that fell back to the real stderr (passed) count as delivered too; they
 * carry no metadata to check.
 */
static void
e2e_check_logmix(const struct e2e_mix *m, const struct e2e_map *map,
    const struct harness_rec *recs, size_t n, const char *passed)
{
	int writers = m->procs * m->threads, per = m->lines * (m->wait ? 2 : 1);
	unsigned char *seen = calloc((size_t)writers * (size_t)per, 1);
	int *last = malloc((size_t)writers * sizeof(int));
	size_t want = 0, got = 0, exits = 0, starts = 0, line = 0, missing = 0;
	unsigned long long dropped = 0;
	char text[160], exitmsg[64], where[64];

	cr_assert(seen != NULL && last != NULL);
	for (int w = 0; w < writers; w++)
		last[w] = -1;
	snprintf(exitmsg, sizeof(exitmsg), "logmix exit=%d", m->code);
	for (size_t i = 0; i < n; i++) {
		const struct harness_rec *r = &recs[i];
		int w, seq;

		if (strcmp(r->msg, exitmsg) == 0 || strcmp(r->msg, "logmix start") == 0) {
			e2e_check_meta(r, E2E_WRITE, 0, map->main_pid, map->main_pid);
			if (strcmp(r->msg, exitmsg) == 0)
				exits++;
			else
				starts++;
			continue;
		}
		if (m->drops && strcmp(r->source, "mplog") == 0) {
			unsigned long long k;

			cr_assert(sscanf(r->msg, "mplog: %llu lines dropped", &k) == 1,
			    "log line %zu: unexpected mplog record: %s", r->line, r->msg);
			dropped += k;
			continue;
		}
		snprintf(where, sizeof(where), "log line %zu", r->line);
		seq = e2e_parse_line(m, r->msg, r->msg_len, &w, where);
		e2e_seen(seen, per, w, seq, where, r->msg);
		cr_assert(seq > last[w], "%s: out of order: seq %d after seq %d of p=%d t=%d",
		    where, seq, last[w], w / m->threads, w % m->threads);
		e2e_check_meta(r, e2e_via_of(m->mix, w % m->threads, seq), seq,
		    map->pid[w], map->tid[w]);
		last[w] = seq;
		got++;
	}
	for (const char *s = passed; s != NULL && *s != '\0';) {
		const char *nl = strchr(s, '\n');
		size_t len = nl != NULL ? (size_t)(nl - s) : strlen(s);
		char *msg = strndup(s, len);
		int w, seq;

		snprintf(where, sizeof(where), "real stderr line %zu", ++line);
		cr_assert(nl != NULL, "%s: no newline: %s", where, msg);
		if (strcmp(msg, exitmsg) == 0) {
			exits++;
		} else if (strcmp(msg, "logmix start") == 0) {
			starts++;
		} else {
			seq = e2e_parse_line(m, msg, len, &w, where);
			e2e_seen(seen, per, w, seq, where, msg);
			got++;
		}
		free(msg);
		s = nl + 1;
	}
	for (int w = 0; w < writers; w++) {
		for (int seq = 0; seq < per; seq++) {
			if (!e2e_expected(m, w % m->threads, seq) ||
			    (m->lossy1 && seq < m->lines))
				continue;
			want++;
			if (!seen[(size_t)w * (size_t)per + (size_t)seq]) {
				missing++;
				e2e_line(text, sizeof(text), w / m->threads, w % m->threads, seq,
				    e2e_via_of(m->mix, w % m->threads, seq));
				cr_assert(m->drops, "missing (%zu lines delivered): %s", got, text);
			}
		}
	}
	if (m->drops) {
		cr_assert(dropped == missing, "%zu lines missing, the log accounts for %llu "
		    "dropped (%zu delivered)", missing, dropped, got);
		cr_assert(missing > 0, "the load was meant to overflow the lanes: nothing dropped");
	} else if (!m->lossy1) {
		cr_assert(got == want, "%zu lines, expected %zu", got, want);
	}
	/* The exit line is info: filtered when phase 2 runs below info. A
	 * process killed by a signal may lose what it had not published. */
	size_t want_exit = m->sig == 0 && (!m->wait || m->level2 >= 6) ? 1 : 0;
	cr_assert(exits == want_exit, "logmix's exit line seen %zu times, expected %zu",
	    exits, want_exit);
	if (m->sig != 0 || m->lossy1 || m->drops)
		cr_assert(starts <= 1, "logmix's start line seen %zu times", starts);
	else
		cr_assert(starts == 1, "logmix's start line seen %zu times, expected once", starts);
	free(seen);
	free(last);
}

/*
 * Run logmix under "mplogd --format json -o LOG [m->opts] -- logmix ..."
 * (or scripts/mplog-run when via_script), check its status, its stdout,
 * that nothing reached the real stderr (what did counts as delivered
 * with m->fallback), and the whole log.
 */
static void
e2e_logmix_run(const struct e2e_mix *m, int via_script)
{
	static int runs;
	char *log = harness_file(harness_fmt("logmix%d.json", runs++));
	char *argv[32], bufs[5][16];
	int argc = 0;
	struct harness_result r;
	struct e2e_map map;
	size_t n;

	harness_mplog_argv(argv, &argc, via_script, "json", log, m->opts);
	e2e_mix_args(m, argv, &argc, bufs);
	harness_run(argv, NULL, NULL, &r);
	e2e_map_parse(m, r.out, &map);
	cr_assert(r.code == (m->sig != 0 ? 128 + m->sig : m->code),
	    "exit status %d, expected %d; stderr: %.300s", r.code,
	    m->sig != 0 ? 128 + m->sig : m->code, r.err);
	if (!m->fallback)
		cr_assert(r.err_len == 0, "the real stderr got %zu bytes: %.300s", r.err_len,
		    r.err);
	struct harness_rec *recs = harness_json_load(log, &n);
	e2e_check_logmix(m, &map, recs, n, m->fallback ? r.err : NULL);
}

/* ---- say and plain: exact records ---------------------------------- */

/* One record as a test expects it; ident NULL means "ident":null. */
struct e2e_want {
	const char *source, *facility, *severity, *ident;
	const char *msg;
	size_t msg_len;         /* 0: strlen(msg) */
};

/* Check that the log holds exactly want[0..n), in order, from pid/tid
 * (tid -1: the same as pid, a single-threaded process) and proc. */
static void
e2e_check_exact(const struct harness_rec *recs, size_t nrecs, const struct e2e_want *want,
    size_t n, const char *proc, long pid, long tid)
{
	for (size_t i = 0; i < n && i < nrecs; i++) {
		const struct harness_rec *r = &recs[i];
		const struct e2e_want *w = &want[i];
		size_t len = w->msg_len != 0 ? w->msg_len : strlen(w->msg);

		cr_assert(r->msg_len == len && memcmp(r->msg, w->msg, len) == 0,
		    "record %zu: message \"%s\" (%zu bytes), expected \"%s\" (%zu bytes)",
		    i + 1, r->msg, r->msg_len, w->msg, len);
		cr_assert(strcmp(r->source, w->source) == 0 &&
		    strcmp(r->facility, w->facility) == 0 &&
		    strcmp(r->severity, w->severity) == 0,
		    "record %zu (%s): %s %s %s, expected %s %s %s", i + 1, w->msg,
		    r->source, r->facility, r->severity, w->source, w->facility, w->severity);
		cr_assert(w->ident == NULL ? !r->has_ident :
		    r->has_ident && strcmp(r->ident, w->ident) == 0,
		    "record %zu (%s): ident %s, expected %s", i + 1, w->msg,
		    r->has_ident ? r->ident : "null", w->ident ? w->ident : "null");
		cr_assert(strcmp(r->proc, proc) == 0, "record %zu: proc %s, expected %s",
		    i + 1, r->proc, proc);
		cr_assert(r->pid == pid && r->tid == (tid == -1 ? pid : tid),
		    "record %zu: pid/tid %ld/%ld, expected %ld/%ld", i + 1, r->pid, r->tid,
		    pid, tid == -1 ? pid : tid);
	}
	cr_assert(nrecs == n, "%zu records, expected %zu (first extra: %s)", nrecs, n,
	    nrecs > n ? recs[n].msg : "-");
}

/* say's pid and tid from its first stdout line; FAIL lines fail the test. */
static void
e2e_say_ids(const char *out, long *pid, long *tid)
{
	cr_assert(sscanf(out, "say pid=%ld tid=%ld", pid, tid) == 2,
	    "say did not report its pid: %s", out);
	cr_assert(!harness_contains(out, "FAIL"), "say reports: %s", out);
}

/* Run "mplogd --format FORMAT -o LOG [OPTS] -- say ARGS" (or mplog-run when
 * script); both lists NULL-ended. Returns the result; *log gets the path. */
static struct harness_result
e2e_say_run(int script, const char *format, const char *const *opts,
    const char *const *args, char **log)
{
	return harness_run_host(script, format, opts, "say", args, log);
}

/*
 * Run say with args twenty times, so that a line which survives only by
 * luck of timing fails too: every run exits with code (and writes nothing
 * to the real stderr when quiet) and logs exactly want[0..n).
 */
static void
e2e_say_twenty(const char *const *args, const struct e2e_want *want, size_t n, int code,
    int quiet)
{
	for (int run = 0; run < 20; run++) {
		char *log;
		struct harness_result r = e2e_say_run(0, "json", NULL, args, &log);
		size_t nrecs;
		long pid, tid;

		e2e_say_ids(r.out, &pid, &tid);
		cr_assert(r.code == code && (!quiet || r.err_len == 0), "status %d, stderr: %s",
		    r.code, r.err);
		struct harness_rec *recs = harness_json_load(log, &nrecs);
		e2e_check_exact(recs, nrecs, want, n, "say", pid, tid);
	}
}

/* Nanoseconds since the epoch, CLOCK_REALTIME. */
static long long
e2e_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The instant an RFC 3339 UTC time with nanoseconds names, in ns. */
static long long
e2e_ts_ns(const char *ts)
{
	struct tm tm;
	long ns;

	memset(&tm, 0, sizeof(tm));
	cr_assert(sscanf(ts, "%4d-%2d-%2dT%2d:%2d:%2d.%9ldZ", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ns) == 7, "bad ts %s", ts);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (long long)timegm(&tm) * 1000000000LL + ns;
}

/* ---- the tests ------------------------------------------------------ */

/*
 * 4 processes x 2 threads, each line one write(2): every line reaches the
 * log exactly once, intact, in order per thread, with the pid and tid of
 * the thread that wrote it; nothing reaches the command's real stderr.
 */
Test(e2e, write_lines_of_4_procs_x_2_threads_arrive_once_in_order, .timeout = TEST_TIMEOUT(60))
{
	struct e2e_mix m = { .procs = 4, .threads = 2, .lines = 500, .mix = E2E_WRITE };

	e2e_logmix_run(&m, 0);
}

/*
 * The same through syslog(3) (__syslog_chk, logmix is fortified): every
 * line once, in order, with source syslog, the openlog ident and facility,
 * and the severity each line was sent with.
 */
Test(e2e, syslog_lines_of_4_procs_x_2_threads_keep_ident_facility_severity, .timeout = TEST_TIMEOUT(60))
{
	struct e2e_mix m = { .procs = 4, .threads = 2, .lines = 500, .mix = E2E_SYSLOG };

	e2e_logmix_run(&m, 0);
}

/* A line written with one writev(2) of three pieces is one record. */
Test(e2e, writev_pieces_join_into_one_record, .timeout = TEST_TIMEOUT(60))
{
	struct e2e_mix m = { .procs = 4, .threads = 2, .lines = 300, .mix = E2E_WRITEV };

	e2e_logmix_run(&m, 0);
}

/*
 * A line written in two or three write(2) calls by one thread, while
 * other threads and processes write theirs, joins into one record.
 */
Test(e2e, line_written_in_pieces_joins_into_one_record, .timeout = TEST_TIMEOUT(60))
{
	struct e2e_mix m = { .procs = 4, .threads = 2, .lines = 300, .mix = E2E_PIECES };

	e2e_logmix_run(&m, 0);
}

/* One write(2) holding several lines gives one record per line. */
Test(e2e, write_of_several_lines_gives_one_record_each, .timeout = TEST_TIMEOUT(60))
{
	struct e2e_mix m = { .procs = 4, .threads = 2, .lines = 300, .mix = E2E_MULTI };

	e2e_logmix_run(&m, 0);
}

/*
 * Load: 4 processes x 4 threads x 20000 lines, every way of writing mixed,
 * all verified exactly once, in order, with their metadata.
 */
Test(e2e, mixed_load_4_procs_x_4_threads_x_20000_lines_arrives_once, .timeout = TEST_TIMEOUT(60))
{
	struct e2e_mix m = { .procs = 4, .threads = 4, .lines = 20000, .mix = E2E_ALL };

	e2e_logmix_run(&m, 0);
}

/*
 * plain under mplogd: its records are exactly those its header lists, in
 * order: pieces joined, several lines split, the syslog ident, facility
 * and severity (and %m) kept, the program's own setlogmask obeyed, the
 * program name as ident after closelog, and the final line that has no
 * newline delivered at exit. Its stdout and status are its own.
 */
Test(e2e, plain_host_log_is_exact_including_unterminated_last_line, .timeout = TEST_TIMEOUT(60))
{
	char *log = harness_file("plain.json");
	char *argv[] = { harness_build("mplogd"), "--preload", harness_shim(), "--format",
	    "json", "-o", log, "--", harness_build("hosts/plain"), NULL };
	struct harness_result r;
	size_t n;
	char notice[128];

	snprintf(notice, sizeof(notice), "plain: notice %s", strerror(ENOENT));
	const struct e2e_want want[] = {
		{ "stderr", "user", "info", NULL, "plain: one", 0 },
		{ "stderr", "user", "info", NULL, "plain: two", 0 },
		{ "stderr", "user", "info", NULL, "plain: three partial", 0 },
		{ "stderr", "user", "info", NULL, "plain: four", 0 },
		{ "stderr", "user", "info", NULL, "plain: five", 0 },
		{ "syslog", "local1", "warning", "plain-id", "plain: syslog 42 six", 0 },
		{ "syslog", "local1", "notice", "plain-id", notice, 0 },
		{ "syslog", "local1", "err", "plain", "plain: after closelog", 0 },
		{ "stderr", "user", "info", NULL, "plain: errno", 0 },
		{ "stderr", "user", "info", NULL, "plain: errnov", 0 },
		{ "stderr", "user", "info", NULL, "plain: no newline", 0 },
	};

	harness_run(argv, NULL, NULL, &r);
	cr_assert(r.code == 3, "exit status %d, expected 3: %s", r.code, r.err);
	cr_assert(strcmp(r.out, "plain: stdout\nplain: done\n") == 0, "stdout: %s", r.out);
	cr_assert(r.err_len == 0, "the real stderr got: %s", r.err);
	struct harness_rec *recs = harness_json_load(log, &n);
	cr_assert(n > 0, "empty log");
	e2e_check_exact(recs, n, want, sizeof(want) / sizeof(want[0]), "plain",
	    recs[0].pid, -1);
}

/*
 * A line longer than a record can hold (150000 bytes in one write, its
 * newline in a second write) arrives whole and in order, as consecutive
 * records whose messages put together are the line.
 */
Test(e2e, line_longer_than_a_record_arrives_whole_in_consecutive_records, .timeout = TEST_TIMEOUT(60))
{
	const char *unit = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN";   /* 50 */
	const char *args[] = { "r:3000:0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN",
	    "w:\\n", "w:after\\n", NULL };
	char *log;
	struct harness_result r = e2e_say_run(0, "json", NULL, args, &log);
	size_t n, total = 0, i;
	long pid, tid;

	e2e_say_ids(r.out, &pid, &tid);
	cr_assert(r.code == 0 && r.err_len == 0, "status %d, stderr: %s", r.code, r.err);
	struct harness_rec *recs = harness_json_load(log, &n);
	cr_assert(n >= 2, "%zu records", n);
	for (i = 0; i + 1 < n; i++) {
		const struct harness_rec *x = &recs[i];

		cr_assert(x->pid == pid && x->tid == tid && strcmp(x->source, "stderr") == 0,
		    "record %zu: %ld/%ld %s", i + 1, x->pid, x->tid, x->source);
		cr_assert(x->continued == (i + 2 < n), "record %zu: continued is %d", i + 1,
		    x->continued);
		for (size_t k = 0; k < x->msg_len; k++)
			cr_assert(x->msg[k] == unit[(total + k) % 50],
			    "record %zu: byte %zu of the line is wrong", i + 1, total + k);
		total += x->msg_len;
	}
	cr_assert(total == 150000, "the long line has %zu bytes in %zu records, expected 150000",
	    total, n - 1);
	cr_assert(strcmp(recs[n - 1].msg, "after") == 0, "last record: %s", recs[n - 1].msg);
}

/*
 * fprintf of the longest text a stderr snapshot takes (65535 columns and
 * a newline: 64 KiB) arrives as that one line, its newline included, and
 * the next line stays apart; fprintf returns the whole length (say
 * checks).
 */
Test(e2e, fprintf_of_64_kib_formatted_later_keeps_its_newline, .timeout = TEST_TIMEOUT(60))
{
	const char *args[] = { "P:65535:x", "w:after\\n", NULL };
	char *log;
	struct harness_result r = e2e_say_run(0, "json", NULL, args, &log);
	size_t n;
	long pid, tid;

	e2e_say_ids(r.out, &pid, &tid);
	cr_assert(r.code == 0 && r.err_len == 0, "status %d, stderr: %s", r.code, r.err);
	struct harness_rec *recs = harness_json_load(log, &n);
	cr_assert(n == 2, "%zu records, expected 2", n);
	cr_assert(recs[0].msg_len == 65535 && recs[0].msg[65534] == 'x' &&
	    strspn(recs[0].msg, " ") == 65534, "first record: %zu bytes", recs[0].msg_len);
	cr_assert(strcmp(recs[1].msg, "after") == 0, "second record: %s", recs[1].msg);
}

/*
 * Run logmix -w attached to the standalone mplogd d (started here, JSON):
 * call during(d) (when not NULL) as soon as logmix runs, wait until every
 * child has written phase 1, call between(d), let phase 2 run, and wait
 * for logmix (it must exit 0). Fills the writers' map and returns what
 * reached logmix's real stderr.
 */
static char *
e2e_logmix_phases(const struct e2e_mix *m, struct harness_daemon *d,
    void (*during)(struct harness_daemon *), void (*between)(struct harness_daemon *),
    struct e2e_map *map)
{
	char *argv[32], bufs[5][16], line[256], *err = harness_file("logmix.err");
	int argc = 0, in[2], out[2];
	size_t outlen = 0, outcap = 65536;
	char *outbuf = calloc(1, outcap);

	cr_assert(outbuf != NULL);
	harness_daemon_start(d, "json", NULL);
	e2e_mix_args(m, argv, &argc, bufs);
	cr_assert(pipe(in) == 0 && pipe(out) == 0);
	int errfd = open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert(errfd != -1);
	struct harness_io io = { in[0], out[1], errfd, -1, -1 };
	pid_t pid = harness_spawn(argv, harness_env(harness_fmt("LD_PRELOAD=%s", harness_shim()),
	    harness_fmt("MPLOG_SHM=%s", d->shm), NULL), &io);
	close(in[0]);
	close(out[1]);
	close(errfd);
	if (during != NULL)
		during(d);
	/* Phase 1 is written once every child said so. */
	while (harness_read_line(out[0], line, sizeof(line), 20000) != -1) {
		outlen += (size_t)snprintf(outbuf + outlen, outcap - outlen, "%s\n", line);
		if (harness_count_lines(outbuf, "phase1 ") == (size_t)m->procs)
			break;
	}
	cr_assert(harness_count_lines(outbuf, "phase1 ") == (size_t)m->procs,
	    "logmix ended before phase 2: %s", outbuf);
	if (between != NULL)
		between(d);
	cr_assert(write(in[1], "go\n", 3) == 3);
	close(in[1]);
	while (harness_read_line(out[0], line, sizeof(line), 20000) != -1)
		outlen += (size_t)snprintf(outbuf + outlen, outcap - outlen, "%s\n", line);
	close(out[0]);
	cr_assert(harness_wait(pid, HARNESS_WAIT_MS) == 0, "logmix failed: %s", outbuf);
	e2e_map_parse(m, outbuf, map);
	return harness_read_file(err, NULL);
}

/* Between the phases: mplogctl level warning (and it reads back). */
static void
e2e_set_warning(struct harness_daemon *d)
{
	struct harness_result ctl;
	char *set[] = { harness_build("mplogctl"), "--shm", d->shm, "level", "warning", NULL };
	char *get[] = { harness_build("mplogctl"), "--shm", d->shm, "level", NULL };

	cr_assert(harness_run(set, NULL, NULL, &ctl) == 0, "mplogctl level warning: %s", ctl.err);
	cr_assert(harness_run(get, NULL, NULL, &ctl) == 0, "mplogctl level: %s", ctl.err);
	cr_assert(strcmp(ctl.out, "warning\n") == 0, "mplogctl level prints %s", ctl.out);
}

/* Between the phases: stop mplogd as a user would (SIGTERM). */
static void
e2e_stop(struct harness_daemon *d)
{
	cr_assert(harness_daemon_stop(d) == 0, "mplogd: %s", harness_read_file(d->err, NULL));
}

/* Between the phases: mplogd dies without a chance to close (SIGKILL). */
static void
e2e_kill(struct harness_daemon *d)
{
	cr_assert(kill(d->pid, SIGKILL) == 0);
	cr_assert(harness_wait(d->pid, HARNESS_WAIT_MS) == 128 + SIGKILL);
}

/*
 * mplogctl changes the level of a running mplogd for processes already
 * attached: logmix (2 x 2, every way of writing) writes phase 1 at level
 * debug, the level goes to warning, then phase 2: all of phase 1 arrives,
 * of phase 2 only the syslog lines at warning or above, and the filtered
 * lines do not leak to the program's real stderr either.
 */
Test(e2e, level_change_by_mplogctl_applies_to_running_processes, .timeout = TEST_TIMEOUT(60))
{
	struct e2e_mix m = { .procs = 2, .threads = 2, .lines = 64, .mix = E2E_ALL,
	    .wait = 1, .level2 = 4 };
	struct harness_daemon d;
	struct e2e_map map;
	size_t n;
	char *err = e2e_logmix_phases(&m, &d, NULL, e2e_set_warning, &map);

	e2e_stop(&d);
	cr_assert(strcmp(harness_read_file(d.err, NULL), "") == 0, "mplogd said: %s",
	    harness_read_file(d.err, NULL));
	cr_assert(strcmp(err, "") == 0,
	    "filtered or captured lines reached logmix's real stderr: %.300s", err);
	struct harness_rec *recs = harness_json_load(d.log, &n);
	e2e_check_logmix(&m, &map, recs, n, NULL);
}

/*
 * Lines written after mplogd stopped are not lost: logmix (2 x 2, one or
 * several whole lines per write) writes phase 1, mplogd is stopped
 * (SIGTERM: it drains and leaves), then phase 2. Every line is delivered
 * exactly once, to the log or, after mplogd left, to the real stderr.
 */
Test(e2e, lines_written_after_mplogd_stops_reach_the_real_stderr, .timeout = TEST_TIMEOUT(60))
{
	struct e2e_mix m = { .procs = 2, .threads = 2, .lines = 200, .mix = E2E_MULTI,
	    .wait = 1, .level2 = 7 };
	struct harness_daemon d;
	struct e2e_map map;
	size_t n;
	char *err = e2e_logmix_phases(&m, &d, NULL, e2e_stop, &map);
	struct harness_rec *recs = harness_json_load(d.log, &n);

	e2e_check_logmix(&m, &map, recs, n, err);
}

/*
 * Likewise when mplogd is killed (SIGKILL) between the phases: what it had
 * taken of phase 1 may die with it, but every line of phase 2, written
 * after its death, must reach the real stderr - none may vanish into the
 * orphaned segment.
 * Producers check mplogd's pid as well as its heartbeat, so a killed
 * mplogd is noticed at once.
 */
Test(e2e, lines_written_after_mplogd_is_killed_reach_the_real_stderr, .timeout = TEST_TIMEOUT(60))
{
	struct e2e_mix m = { .procs = 2, .threads = 2, .lines = 200, .mix = E2E_MULTI,
	    .wait = 1, .level2 = 7, .lossy1 = 1 };
	struct harness_daemon d;
	struct e2e_map map;
	size_t n;
	char *err = e2e_logmix_phases(&m, &d, NULL, e2e_kill, &map);
	struct harness_rec *recs = harness_json_load(d.log, &n);

	e2e_check_logmix(&m, &map, recs, n, err);
}

/* The mplogd that takes over from a killed one (e2e_kill_and_replace). */
static struct harness_daemon e2e_successor;

/* While logmix writes: once mplogd has written some of it, kill mplogd
 * (SIGKILL) and start another on the same segment. */
static void
e2e_kill_and_replace(struct harness_daemon *d)
{
	struct timespec ms = { 0, 1000000 };
	struct stat st;

	/* Polled, not slept: mplogd has begun writing the load. */
	for (int i = 0; i < 20000 && (stat(d->log, &st) == -1 || st.st_size == 0); i++)
		nanosleep(&ms, NULL);
	cr_assert(stat(d->log, &st) == 0 && st.st_size > 0, "mplogd wrote nothing");
	e2e_kill(d);
	harness_daemon_start_on(&e2e_successor, d->shm, "json", NULL);
}

/* Mark the logmix line msg as delivered in bits; 0 for another line. */
static int
e2e_mark(const struct e2e_mix *m, unsigned char *bits, const char *msg, size_t len,
    const char *where)
{
	int per = m->lines * (m->wait ? 2 : 1), w, seq;

	if (strncmp(msg, "logmix p=", 9) != 0)
		return 0;
	seq = e2e_parse_line(m, msg, len, &w, where);
	bits[(size_t)w * (size_t)per + (size_t)seq] = 1;
	return 1;
}

/* Is the logmix line msg marked in bits? */
static int
e2e_marked(const struct e2e_mix *m, const unsigned char *bits, const char *msg, size_t len)
{
	int per = m->lines * (m->wait ? 2 : 1), w, seq;

	if (strncmp(msg, "logmix p=", 9) != 0)
		return 0;
	seq = e2e_parse_line(m, msg, len, &w, "log");
	return bits[(size_t)w * (size_t)per + (size_t)seq];
}

/*
 * The first mplogd was killed: it may have written records whose bytes it
 * had not yet given back to the lanes, and these are delivered again, by
 * its successor or by their producer. Only the records of its last write
 * may be, at most two flushes' bytes. It gives a lane's bytes back in the
 * order it read them, but lane after lane (a kill between two lanes keeps
 * some of the last write's records and not others): of each process (one
 * lane), the lines of log1 found again later (in log2 or on the real
 * stderr) must all come after its last line of log1 that is not. The
 * main process's start line may be delivered again too. Copies log1
 * without them into out; returns how many records it copied.
 */
static size_t
e2e_without_redelivered(const struct e2e_mix *m, const struct harness_rec *log1, size_t n1,
    const struct harness_rec *log2, size_t n2, const char *passed, struct harness_rec *out)
{
	size_t writers = (size_t)(m->procs * m->threads), per = (size_t)m->lines * 2;
	unsigned char *later = calloc(writers * per, 1);
	size_t *first = calloc((size_t)m->procs, sizeof(*first));      /* line + 1 */
	size_t k = 0, bytes = 0;

	cr_assert(later != NULL && first != NULL);
	for (size_t i = 0; i < n2; i++)
		e2e_mark(m, later, log2[i].msg, log2[i].msg_len, "second log");
	for (const char *s = passed; *s != '\0';) {
		const char *nl = strchr(s, '\n');

		cr_assert(nl != NULL, "real stderr: no newline: %s", s);
		e2e_mark(m, later, s, (size_t)(nl - s), "real stderr");
		s = nl + 1;
	}
	/* The main process's start line is delivered again when the kill
	 * came before mplogd gave its bytes back. */
	int start_again = harness_contains(passed, "logmix start\n");

	for (size_t i = 0; i < n2; i++)
		start_again |= strcmp(log2[i].msg, "logmix start") == 0;
	for (size_t i = 0; i < n1; i++) {
		int p = -1, w;

		if (start_again && strcmp(log1[i].msg, "logmix start") == 0) {
			bytes += log1[i].msg_len + 200;
			continue;
		}
		if (strncmp(log1[i].msg, "logmix p=", 9) == 0) {
			e2e_parse_line(m, log1[i].msg, log1[i].msg_len, &w, "first log");
			p = w / m->threads;
		}
		if (!e2e_marked(m, later, log1[i].msg, log1[i].msg_len)) {
			out[k++] = log1[i];
			cr_assert(p == -1 || first[p] == 0,
			    "first log line %zu is delivered again, yet line %zu of the same "
			    "process after it is not: %s", log1[first[p] - 1].line, log1[i].line,
			    log1[first[p] - 1].msg);
		} else {
			if (first[p] == 0)
				first[p] = i + 1;
			bytes += log1[i].msg_len + 200;
		}
	}
	cr_assert(bytes <= 2 * 65536 + 4096, "%zu records (about %zu bytes) of the first log "
	    "delivered again: more than its last write", n1 - k, bytes);
	free(first);
	free(later);
	return k;
}

/* A JSON log a killed mplogd left: a last line cut short by the kill is
 * removed (its record is delivered again); the rest is loaded. */
static struct harness_rec *
e2e_json_load_killed(const char *path, size_t *n)
{
	size_t len;
	char *text = harness_read_file(path, &len);

	if (len > 0 && text[len - 1] != '\n') {
		char *nl = strrchr(text, '\n');

		cr_assert(truncate(path, nl != NULL ? (off_t)(nl - text + 1) : 0) == 0);
	}
	return harness_json_load(path, n);
}

/*
 * mplogd is killed (SIGKILL) while logmix (4 x 2, whole lines, so that
 * lines passed through are checkable) writes phase 1, and a new mplogd starts on the same segment. Nothing
 * published is lost: every line of both phases is delivered exactly once
 * across the two logs and the real stderr (where lines go while no mplogd
 * runs), but for the records of the killed mplogd's last write, which may
 * be delivered again. The new mplogd takes the segment over (it says so),
 * and the producers go back to capturing without restarting: every line
 * of phase 2 is in the second log.
 */
Test(e2e, mplogd_killed_under_load_is_taken_over_and_loses_nothing, .timeout = TEST_TIMEOUT(120))
{
	struct e2e_mix m = { .procs = 4, .threads = 2, .lines = 20000, .mix = E2E_MULTI,
	    .wait = 1, .level2 = 7, .fallback = 1 };
	struct harness_daemon d;
	struct e2e_map map;
	size_t n1, n2, k, notes = 0;
	char *err = e2e_logmix_phases(&m, &d, e2e_kill_and_replace, NULL, &map);

	cr_assert(harness_daemon_stop(&e2e_successor) == 0, "second mplogd: %s",
	    harness_read_file(e2e_successor.err, NULL));
	struct harness_rec *log1 = e2e_json_load_killed(d.log, &n1);
	struct harness_rec *log2 = harness_json_load(e2e_successor.log, &n2);
	struct harness_rec *all = calloc(n1 + n2 + 1, sizeof(*all));

	cr_assert(all != NULL);
	k = e2e_without_redelivered(&m, log1, n1, log2, n2, err, all);
	for (size_t i = 0; i < n2; i++) {
		if (strcmp(log2[i].source, "mplog") == 0) {
			cr_assert(harness_contains(log2[i].msg, "took over"),
			    "second log line %zu: %s", log2[i].line, log2[i].msg);
			notes++;
			continue;
		}
		all[k++] = log2[i];
	}
	cr_assert(notes == 1, "the second mplogd said %zu times that it took over", notes);
	e2e_check_logmix(&m, &map, all, k, err);
	for (const char *s = err; *s != '\0'; s = strchr(s, '\n') + 1) {
		int p, t, seq;

		if (sscanf(s, "logmix p=%d t=%d seq=%d ", &p, &t, &seq) == 3)
			cr_assert(seq < m.lines, "a phase 2 line reached the real stderr: "
			    "capture did not resume: %.60s", s);
	}
}

/* Run the plain host without the shim (bare) and with it, attached to shm. */
static void
e2e_plain_twice(const char *shm, struct harness_result *bare, struct harness_result *shim)
{
	char *argv[] = { harness_build("hosts/plain"), NULL };

	harness_run(argv, harness_env(NULL), NULL, bare);
	harness_run(argv, harness_env(harness_fmt("LD_PRELOAD=%s", harness_shim()),
	    harness_fmt("MPLOG_SHM=%s", shm), NULL), NULL, shim);
}

/* The run with the shim ended as the bare run did, and wrote the same
 * bytes to stdout and to stderr. */
static void
e2e_check_same_run(const struct harness_result *bare, const struct harness_result *shim)
{
	cr_assert(shim->code == bare->code, "status %d with the shim, %d without",
	    shim->code, bare->code);
	cr_assert(shim->out_len == bare->out_len &&
	    memcmp(shim->out, bare->out, bare->out_len) == 0,
	    "stdout with the shim:\n%s\nwithout:\n%s", shim->out, bare->out);
	cr_assert(shim->err_len == bare->err_len &&
	    memcmp(shim->err, bare->err, bare->err_len) == 0,
	    "stderr with the shim (%zu bytes):\n%s\nwithout (%zu bytes):\n%s",
	    shim->err_len, shim->err, bare->err_len, bare->err);
}

/*
 * With no mplogd (MPLOG_SHM names a segment that does not exist), the
 * preloaded plain host's stdout, stderr and exit status are byte for byte
 * those of the run without the shim (syslog's LOG_PERROR copy included).
 */
Test(e2e, without_mplogd_preloaded_program_output_is_byte_identical, .timeout = TEST_TIMEOUT(60))
{
	struct harness_result bare, shim;

	e2e_plain_twice(harness_shm_name(), &bare, &shim);
	cr_assert(bare.code == 3 && strcmp(bare.out, "plain: stdout\nplain: done\n") == 0,
	    "plain itself misbehaves: status %d, stdout %s", bare.code, bare.out);
	e2e_check_same_run(&bare, &shim);
}

/*
 * Likewise when the segment exists but its mplogd was killed (SIGKILL: no
 * chance to close it): the preloaded program behaves as without the shim,
 * and in particular none of its lines is lost in the orphaned segment.
 * Producers check mplogd's pid as well as its heartbeat, so a killed
 * mplogd is noticed at once.
 */
Test(e2e, with_a_killed_mplogd_preloaded_program_output_is_byte_identical, .timeout = TEST_TIMEOUT(60))
{
	struct harness_result bare, shim;
	struct harness_daemon d;

	harness_daemon_start(&d, "json", NULL);
	cr_assert(kill(d.pid, SIGKILL) == 0);
	cr_assert(harness_wait(d.pid, HARNESS_WAIT_MS) == 128 + SIGKILL);
	e2e_plain_twice(d.shm, &bare, &shim);
	e2e_check_same_run(&bare, &shim);
}

/*
 * With no mplogd, the lines of many writers (logmix 2 x 2, one line per
 * write, then several lines per write) all reach the real stderr exactly
 * once, and every hooked call returned what it should with errno kept.
 */
Test(e2e, without_mplogd_lines_of_many_writers_reach_real_stderr_once, .timeout = TEST_TIMEOUT(60))
{
	static const int mixes[] = { E2E_WRITE, E2E_WRITEV, E2E_MULTI };

	for (size_t i = 0; i < sizeof(mixes) / sizeof(mixes[0]); i++) {
		struct e2e_mix m = { .procs = 2, .threads = 2, .lines = 300, .mix = mixes[i] };
		char *argv[32], bufs[5][16];
		int argc = 0;
		struct harness_result r;
		struct e2e_map map;

		e2e_mix_args(&m, argv, &argc, bufs);
		harness_run(argv, harness_env(harness_fmt("LD_PRELOAD=%s", harness_shim()),
		    harness_fmt("MPLOG_SHM=%s", harness_shm_name()), NULL), NULL, &r);
		cr_assert(r.code == 0, "%s: status %d", e2e_vias[m.mix], r.code);
		e2e_map_parse(&m, r.out, &map);
		e2e_check_logmix(&m, &map, NULL, 0, r.err);
	}
}

/* logmix (2 x 2, every way of writing) exiting 0, exiting 7 and killed by
 * SIGTERM, under mplogd or (via_script) mplog-run: each run checked whole. */
static void
e2e_logmix_statuses(int via_script)
{
	struct e2e_mix ok = { .procs = 2, .threads = 2, .lines = 50, .mix = E2E_ALL };
	struct e2e_mix seven = { .procs = 2, .threads = 2, .lines = 50, .mix = E2E_ALL, .code = 7 };
	struct e2e_mix term = { .procs = 2, .threads = 2, .lines = 50, .mix = E2E_ALL,
	    .sig = SIGTERM };

	e2e_logmix_run(&ok, via_script);
	e2e_logmix_run(&seven, via_script);
	e2e_logmix_run(&term, via_script);
}

/* The exit status of a command is mplogd's, in run mode: 0, 7, and 143
 * when it is killed by SIGTERM; its children's lines all arrive. */
Test(e2e, mplogd_run_mode_exits_with_the_command_status, .timeout = TEST_TIMEOUT(60))
{
	e2e_logmix_statuses(0);
}

/* The same through scripts/mplog-run, the user's wrapper. */
Test(e2e, mplog_run_exits_with_the_command_status, .timeout = TEST_TIMEOUT(60))
{
	e2e_logmix_statuses(1);
}

/*
 * A command that cannot be run: 127 when it does not exist, 126 when it
 * is not executable, with a message naming it, through mplogd and
 * mplog-run; mplogd's private segment is gone afterwards.
 */
Test(e2e, command_that_cannot_run_exits_127_or_126_naming_it, .timeout = TEST_TIMEOUT(60))
{
	char *missing = harness_file("no-such-command");
	char *noexec = harness_file("not-executable");
	struct harness_result r;
	char seg[64];

	close(open(noexec, O_WRONLY | O_CREAT, 0644));
	for (int script = 0; script < 2; script++) {
		for (int k = 0; k < 2; k++) {
			char *cmd = k == 0 ? missing : noexec;
			char *direct[] = { harness_build("mplogd"), "--preload", harness_shim(),
			    "--", cmd, NULL };
			char *wrapped[] = { harness_repo("scripts/mplog-run"), "--", cmd, NULL };

			harness_run(script ? wrapped : direct, NULL, NULL, &r);
			cr_assert(r.code == (k == 0 ? 127 : 126), "%s %s: status %d, stderr %s",
			    script ? "mplog-run" : "mplogd", cmd, r.code, r.err);
			cr_assert(harness_contains(r.err, cmd), "the message does not name %s: %s",
			    cmd, r.err);
			snprintf(seg, sizeof(seg), "/dev/shm/mplog-run-%d", (int)r.pid);
			cr_assert(access(seg, F_OK) == -1 && errno == ENOENT, "%s left behind", seg);
		}
	}
}

/*
 * A signal sent to mplogd in run mode goes on to the command: SIGTERM to
 * mplogd while logmix waits on its stdin ends logmix, and mplogd exits 143.
 * The signal is sent once logmix's first line is in the log, so that it
 * finds the shim's handler in place (the path a real program takes), not
 * the default action of a process that has not logged yet.
 */
Test(e2e, sigterm_to_mplogd_in_run_mode_reaches_the_command, .timeout = TEST_TIMEOUT(60))
{
	char *log = harness_file("log.json");
	char *argv[] = { harness_build("mplogd"), "--preload", harness_shim(), "--format",
	    "json", "-o", log, "--", harness_build("hosts/logmix"), "-p", "0", "-w", NULL };
	int in[2], out[2];
	char line[128];
	long child;

	cr_assert(pipe(in) == 0 && pipe(out) == 0);
	struct harness_io io = { in[0], out[1], -1, -1, -1 };
	pid_t pid = harness_spawn(argv, NULL, &io);
	close(in[0]);
	close(out[1]);
	cr_assert(harness_read_line(out[0], line, sizeof(line), 20000) != -1);
	cr_assert(sscanf(line, "main pid=%ld", &child) == 1, "logmix says %s", line);
	/* Polled: the first line reaches the log once mplogd has read it. */
	for (int i = 0; i < 20000 && !harness_contains(harness_read_file(log, NULL),
	    "logmix start"); i++)
		harness_tick();
	cr_assert(harness_contains(harness_read_file(log, NULL), "logmix start"),
	    "logmix's first line never arrived");
	cr_assert(kill(pid, SIGTERM) == 0);
	cr_assert(harness_wait(pid, HARNESS_WAIT_MS) == 128 + SIGTERM);
	cr_assert(kill((pid_t)child, 0) == -1 && errno == ESRCH, "logmix still runs");
	close(in[1]);
	close(out[0]);
}

/*
 * JSON lines stay valid whatever a program writes: quotes, backslashes,
 * control characters, NUL, valid UTF-8 (kept as is), invalid UTF-8 (each
 * bad byte one U+FFFD), a newline inside a syslog message, and an ident
 * with quotes. Each line passes the strict parser and jq, decodes to what
 * was written, and carries a time taken during the run.
 */
Test(e2e, json_output_is_valid_for_any_bytes_a_program_writes, .timeout = TEST_TIMEOUT(60))
{
	const char *args[] = {
		"w:quote \" back\\\\slash / end\\n",
		"w:controls \\x01\\x02\\x1b[31m\\x7f\\t\\r\\x08\\x0c end\\n",
		"w:nul \\x00 inside\\n",
		"w:utf8 caf\\xc3\\xa9 \\xe2\\x82\\xac \\xf0\\x9f\\x98\\x80 \\xe2\\x80\\xae end\\n",
		"w:bad \\xff \\xc3 \\xc0\\xaf \\xed\\xa0\\x80 \\xf4\\x90\\x80\\x80 \\xe2\\x82 end\\n",
		"s:3:multi\\nline \"syslog\" \\\\",
		"o:id\"q\\\\",
		"s:4:ident with quotes",
		NULL,
	};
	static const char fffd[] = "\xef\xbf\xbd";
	char bad[256];
	char *log;
	long long before = e2e_now_ns();
	struct harness_result r = e2e_say_run(0, "json", NULL, args, &log);
	long long after = e2e_now_ns();
	size_t n;
	long pid, tid;

	snprintf(bad, sizeof(bad), "bad %s %s %s%s %s%s%s %s%s%s%s %s%s end", fffd, fffd,
	    fffd, fffd, fffd, fffd, fffd, fffd, fffd, fffd, fffd, fffd, fffd);
	const struct e2e_want want[] = {
		{ "stderr", "user", "info", NULL, "quote \" back\\slash / end", 0 },
		{ "stderr", "user", "info", NULL, "controls \x01\x02\x1b[31m\x7f\t\r\b\f end", 0 },
		{ "stderr", "user", "info", NULL, "nul \0 inside", sizeof("nul \0 inside") - 1 },
		{ "stderr", "user", "info", NULL,
		    "utf8 caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xe2\x80\xae end", 0 },
		{ "stderr", "user", "info", NULL, bad, 0 },
		{ "syslog", "user", "err", "say", "multi\nline \"syslog\" \\", 0 },
		{ "syslog", "user", "warning", "id\"q\\", "ident with quotes", 0 },
	};

	e2e_say_ids(r.out, &pid, &tid);
	cr_assert(r.code == 0 && r.err_len == 0, "status %d, stderr: %s", r.code, r.err);
	struct harness_rec *recs = harness_json_load(log, &n);
	e2e_check_exact(recs, n, want, sizeof(want) / sizeof(want[0]), "say", pid, tid);
	for (size_t i = 0; i < n; i++) {
		long long ts = e2e_ts_ns(recs[i].ts);

		cr_assert(ts >= before && ts <= after, "record %zu: ts %s is not during the run",
		    i + 1, recs[i].ts);
	}
	char *jq[] = { "/usr/bin/jq", "-e", ".", log, NULL };
	struct harness_result j;

	TEST_NEED(access(jq[0], X_OK) == 0, "jq");
	harness_run(jq, NULL, NULL, &j);
	cr_assert(j.code == 0, "jq rejects the log: %s", j.err);
	cr_assert(harness_count_lines(j.out, "{") == n, "jq read %zu objects, not %zu",
	    harness_count_lines(j.out, "{"), n);
}

/*
 * The text format: "TIME PROC[PID] SEVERITY[ IDENT]: MESSAGE", TIME local
 * (here TZ=UTC0) to the microsecond with its offset, during the run;
 * backslashes, controls and invalid bytes escaped (vis(3) C style, octal).
 */
Test(e2e, text_output_line_has_time_proc_pid_severity_and_message, .timeout = TEST_TIMEOUT(60))
{
	const char *args[] = { "w:hello text\\n", "o:tident", "s:4:warned",
	    "w:esc \\x1b[1m back\\\\slash \\xff\\ttab\\n", NULL };
	char *log, *argv[16], *text;
	int n = 0;
	long pid, tid;
	regex_t re;
	struct harness_result r;
	long long before = e2e_now_ns(), after;

	log = harness_file("log.txt");
	harness_mplog_argv(argv, &n, 0, NULL, log, NULL);
	argv[n++] = harness_build("hosts/say");
	for (int i = 0; args[i] != NULL; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	harness_run(argv, harness_env("TZ=UTC0", NULL), NULL, &r);
	after = e2e_now_ns();
	e2e_say_ids(r.out, &pid, &tid);
	cr_assert(r.code == 0 && r.err_len == 0, "status %d, stderr: %s", r.code, r.err);
	text = harness_read_file(log, NULL);

	char l1[128], l2[128], l3[128];
	snprintf(l1, sizeof(l1), "say[%ld] info: hello text", pid);
	snprintf(l2, sizeof(l2), "say[%ld] warning tident: warned", pid);
	snprintf(l3, sizeof(l3), "say[%ld] info: esc \\033[1m back\\\\slash \\377\ttab", pid);
	const char *want[] = { l1, l2, l3 };
	cr_assert(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
	    "\\.[0-9]{6}\\+00:00 $", REG_EXTENDED | REG_NOSUB) == 0);
	const char *s = text;
	for (size_t i = 0; i < 3; i++) {
		const char *nl = strchr(s, '\n');
		char ts[40];
		struct tm tm;
		long us;

		cr_assert(nl != NULL, "line %zu missing; log:\n%s", i + 1, text);
		cr_assert(nl - s > 33, "line %zu too short: %.*s", i + 1, (int)(nl - s), s);
		memcpy(ts, s, 33);
		ts[33] = '\0';
		cr_assert(regexec(&re, ts, 0, NULL, 0) == 0, "line %zu: time %s", i + 1, ts);
		cr_assert((size_t)(nl - s - 33) == strlen(want[i]) &&
		    memcmp(s + 33, want[i], strlen(want[i])) == 0,
		    "line %zu: \"%.*s\", expected \"%s\"", i + 1, (int)(nl - s - 33), s + 33, want[i]);
		memset(&tm, 0, sizeof(tm));
		sscanf(ts, "%4d-%2d-%2dT%2d:%2d:%2d.%6ld", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		    &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &us);
		tm.tm_year -= 1900;
		tm.tm_mon -= 1;
		long long t = (long long)timegm(&tm) * 1000000000LL + us * 1000;
		cr_assert(t >= before / 1000 * 1000 && t <= after, "line %zu: time %s not during the run",
		    i + 1, ts);
		s = nl + 1;
	}
	cr_assert(*s == '\0', "more lines than expected: %s", s);
	regfree(&re);
}

/*
 * mplog-run -o FILE --stderr tee: the stderr lines are in the file and
 * also, unchanged, on the command's real stderr; syslog goes to the file
 * only.
 */
Test(e2e, mplog_run_tee_puts_lines_in_the_file_and_on_real_stderr, .timeout = TEST_TIMEOUT(60))
{
	const char *opts[] = { "--stderr", "tee", NULL };
	const char *args[] = { "w:tee one\\n", "w:tee ", "w:two\\n", "s:4:tee syslog", NULL };
	const struct e2e_want want[] = {
		{ "stderr", "user", "info", NULL, "tee one", 0 },
		{ "stderr", "user", "info", NULL, "tee two", 0 },
		{ "syslog", "user", "warning", "say", "tee syslog", 0 },
	};
	char *log;
	struct harness_result r = e2e_say_run(1, "json", opts, args, &log);
	size_t n;
	long pid, tid;

	e2e_say_ids(r.out, &pid, &tid);
	cr_assert(r.code == 0, "status %d: %s", r.code, r.err);
	cr_assert(strcmp(r.err, "tee one\ntee two\n") == 0, "real stderr: \"%s\"", r.err);
	struct harness_rec *recs = harness_json_load(log, &n);
	e2e_check_exact(recs, n, want, 3, "say", pid, tid);
}

/*
 * mplog-run --stderr pass: stderr is left alone (all of it on the real
 * stderr, none in the file) while syslog is still captured.
 */
Test(e2e, mplog_run_pass_leaves_stderr_alone_and_captures_syslog, .timeout = TEST_TIMEOUT(60))
{
	const char *opts[] = { "--stderr", "pass", NULL };
	const char *args[] = { "w:pass one\\n", "w:pass ", "w:two\\n", "s:4:pass syslog", NULL };
	const struct e2e_want want[] = {
		{ "syslog", "user", "warning", "say", "pass syslog", 0 },
	};
	char *log;
	struct harness_result r = e2e_say_run(1, "json", opts, args, &log);
	size_t n;
	long pid, tid;

	e2e_say_ids(r.out, &pid, &tid);
	cr_assert(r.code == 0, "status %d: %s", r.code, r.err);
	cr_assert(strcmp(r.err, "pass one\npass two\n") == 0, "real stderr: \"%s\"", r.err);
	struct harness_rec *recs = harness_json_load(log, &n);
	e2e_check_exact(recs, n, want, 1, "say", pid, tid);
}

/* mplog-run --level warning keeps warning and above only. */
Test(e2e, mplog_run_level_keeps_only_lines_at_or_above_it, .timeout = TEST_TIMEOUT(60))
{
	const char *opts[] = { "--level", "warning", NULL };
	const char *args[] = { "w:info line\\n", "s:7:debug", "s:5:notice", "s:4:warning",
	    "s:3:err", "s:0:emerg", NULL };
	const struct e2e_want want[] = {
		{ "syslog", "user", "warning", "say", "warning", 0 },
		{ "syslog", "user", "err", "say", "err", 0 },
		{ "syslog", "user", "emerg", "say", "emerg", 0 },
	};
	char *log;
	struct harness_result r = e2e_say_run(1, "json", opts, args, &log);
	size_t n;
	long pid, tid;

	e2e_say_ids(r.out, &pid, &tid);
	cr_assert(r.code == 0 && r.err_len == 0, "status %d: %s", r.code, r.err);
	struct harness_rec *recs = harness_json_load(log, &n);
	e2e_check_exact(recs, n, want, 3, "say", pid, tid);
}

/*
 * The level applies to a stderr line once its "<N>" prefix is known: at
 * level warning, "<3>" and "<4>" lines are kept (prefix removed, severity
 * from it), a plain line (info) and a "<7>" one are dropped, and a prefix
 * split across two writes still counts.
 */
Test(e2e, level_applies_to_stderr_lines_by_their_priority_prefix, .timeout = TEST_TIMEOUT(60))
{
	const char *opts[] = { "--level", "warning", NULL };
	const char *args[] = { "w:plain info\n", "w:<3>an err\n", "w:<7>a debug\n",
	    "w:<", "w:4>split prefix\n", "w:<30>daemon info\n", "w:<26>daemon crit\n", NULL };
	const struct e2e_want want[] = {
		{ "stderr", "user", "err", NULL, "an err", 0 },
		{ "stderr", "user", "warning", NULL, "split prefix", 0 },
		{ "stderr", "daemon", "crit", NULL, "daemon crit", 0 },
	};
	char *log;
	struct harness_result r = e2e_say_run(1, "json", opts, args, &log);
	size_t n;
	long pid, tid;

	e2e_say_ids(r.out, &pid, &tid);
	cr_assert(r.code == 0 && r.err_len == 0, "status %d: %s", r.code, r.err);
	struct harness_rec *recs = harness_json_load(log, &n);
	e2e_check_exact(recs, n, want, 3, "say", pid, tid);
}

/*
 * freopen(stderr) onto a file ends capture of fd 2: stdio and write(2)
 * output after it is in the file, byte for byte as in a run without
 * mplog (the reopened stream is fully buffered, so the raw write comes
 * first), and not in the log; what came before it is in the log only.
 */
Test(e2e, freopen_of_stderr_sends_later_writes_to_the_new_file, .timeout = TEST_TIMEOUT(60))
{
	char *path = harness_file("reopened");
	char *redir = harness_fmt("R:%s", path);
	const char *args[] = { "p:before\\n", redir, "p:after\\n", "w:raw after\\n", NULL };
	const struct e2e_want want[] = { { "stderr", "user", "info", NULL, "before", 0 } };
	char *plain_path = harness_file("reopened-plain");
	char *plain_argv[] = { harness_build("hosts/say"), "p:before\\n",
	    harness_fmt("R:%s", plain_path), "p:after\\n", "w:raw after\\n", NULL };
	char *log, *got, *want_file;
	struct harness_result r = e2e_say_run(1, "json", NULL, args, &log), plain;
	size_t n, want_len;
	long pid, tid;

	e2e_say_ids(r.out, &pid, &tid);
	cr_assert(r.code == 0 && r.err_len == 0, "status %d: %s", r.code, r.err);
	cr_assert(!harness_contains(r.out, "FAIL"), "%s", r.out);
	struct harness_rec *recs = harness_json_load(log, &n);
	e2e_check_exact(recs, n, want, 1, "say", pid, tid);
	cr_assert_eq(harness_run(plain_argv, NULL, NULL, &plain), 0);
	cr_assert_str_eq(plain.err, "before\n");
	want_file = harness_read_file(plain_path, &want_len);
	got = harness_read_file(path, &n);
	cr_assert(n == want_len && memcmp(got, want_file, n) == 0,
	    "file under mplog:\n%s\nwithout:\n%s", got, want_file);
}

/*
 * A second mplogd on the segment of a running one exits 3 with a message
 * naming the segment, and leaves the first one serving: a program
 * attached afterwards (mplog-run --shm) still gets its lines logged.
 */
Test(e2e, second_mplogd_on_a_served_segment_exits_3_naming_it, .timeout = TEST_TIMEOUT(60))
{
	struct harness_daemon d;
	struct harness_result second, prog;
	size_t n;
	long pid, tid;

	harness_daemon_start(&d, "json", NULL);
	char *argv[] = { harness_build("mplogd"), "--shm", d.shm, "-o",
	    harness_file("second.json"), "--format", "json", NULL };
	harness_run(argv, NULL, NULL, &second);
	cr_assert(second.code == 3, "second mplogd: status %d, stderr %s", second.code, second.err);
	cr_assert(harness_contains(second.err, d.shm), "the message does not name %s: %s",
	    d.shm, second.err);

	char *run[] = { harness_repo("scripts/mplog-run"), "--shm", d.shm, "--",
	    harness_build("hosts/say"), "w:still served\\n", NULL };
	harness_run(run, NULL, NULL, &prog);
	e2e_say_ids(prog.out, &pid, &tid);
	cr_assert(prog.code == 0 && prog.err_len == 0, "status %d: %s", prog.code, prog.err);
	cr_assert(harness_daemon_stop(&d) == 0);
	const struct e2e_want want[] = { { "stderr", "user", "info", NULL, "still served", 0 } };
	struct harness_rec *recs = harness_json_load(d.log, &n);
	e2e_check_exact(recs, n, want, 1, "say", pid, tid);
}

/*
 * A line written just before execve(2) is delivered: say writes a line
 * and at once execs itself to write a second one. The log holds both, in
 * order, from the one pid - as the real stderr would without the shim.
 * Twenty runs, so a line that only survives by luck of timing fails too.
 */
Test(e2e, line_written_just_before_exec_is_delivered, .timeout = TEST_TIMEOUT(60))
{
	const char *args[] = { "w:before exec\\n", "e:", "w:after exec\\n", NULL };
	const struct e2e_want want[] = {
		{ "stderr", "user", "info", NULL, "before exec", 0 },
		{ "stderr", "user", "info", NULL, "after exec", 0 },
	};

	e2e_say_twenty(args, want, 2, 0, 1);
}

/*
 * A line written just before _exit(2) is delivered: no destructor runs
 * there, yet without the shim the line would be on stderr. Twenty runs.
 */
Test(e2e, line_written_just_before__exit_is_delivered, .timeout = TEST_TIMEOUT(60))
{
	const char *args[] = { "w:before _exit\\n", "_:4", NULL };
	const struct e2e_want want[] = {
		{ "stderr", "user", "info", NULL, "before _exit", 0 },
	};

	e2e_say_twenty(args, want, 1, 4, 1);
}

/*
 * A severe syslog record (crit) sent just before the process aborts is
 * delivered: the abort path flushes, and the record waited anyway (wait
 * for completion holds severe records until they are in the segment).
 * Twenty runs.
 */
Test(e2e, crit_syslog_just_before_abort_is_delivered, .timeout = TEST_TIMEOUT(60))
{
	const char *args[] = { "s:2:crit before abort", "k:6", NULL };
	const struct e2e_want want[] = {
		{ "syslog", "user", "crit", "say", "crit before abort", 0 },
	};

	e2e_say_twenty(args, want, 1, 128 + SIGABRT, 0);
}

/*
 * A crit syslog record sent just before the process is SIGKILLed, which
 * no flush can follow, is delivered: wait for completion returned from
 * syslog() only once the record was in the segment, where mplogd finds
 * it after the process is gone. Twenty runs.
 */
Test(e2e, crit_syslog_just_before_sigkill_is_delivered, .timeout = TEST_TIMEOUT(60))
{
	const char *args[] = { "s:2:crit before kill", "k:9", NULL };
	const struct e2e_want want[] = {
		{ "syslog", "user", "crit", "say", "crit before kill", 0 },
	};

	e2e_say_twenty(args, want, 1, 128 + SIGKILL, 0);
}

/*
 * write(2) and writev(2) on stderr from an unmapped address fail with
 * EFAULT under mplogd, as they do without it, in capture and in tee
 * mode - the hook must not crash the program by reading the buffer.
 */
Test(e2e, write_from_a_bad_address_fails_with_efault_instead_of_crashing, .timeout = TEST_TIMEOUT(60))
{
	const char *args[] = { "F:", "w:still alive\\n", NULL };
	const struct e2e_want want[] = {
		{ "stderr", "user", "info", NULL, "still alive", 0 },
	};
	char *log;
	char *bare[] = { harness_build("hosts/say"), "F:", NULL };
	struct harness_result b, r;
	size_t n;
	long pid, tid;

	harness_run(bare, NULL, NULL, &b);
	cr_assert(b.code == 0 && !harness_contains(b.out, "FAIL"),
	    "say F: misbehaves without the shim: %d %s", b.code, b.out);
	for (int tee = 0; tee < 2; tee++) {
		static const char *const tee_opts[] = { "--stderr", "tee", NULL };

		r = e2e_say_run(0, "json", tee ? tee_opts : NULL, args, &log);
		cr_assert(r.code == 0 && !harness_contains(r.out, "FAIL"),
		    "say F: under mplogd%s: status %d (stdout %s)", tee ? " in tee mode" : "",
		    r.code, r.out);
		cr_assert_eq(harness_count_lines(r.err, "still alive"), (size_t)tee,
		    "stderr: %s", r.err);
		e2e_say_ids(r.out, &pid, &tid);
		struct harness_rec *recs = harness_json_load(log, &n);
		e2e_check_exact(recs, n, want, 1, "say", pid, tid);
	}
}

/*
 * Under --policy drop with small lanes and a heavy load (4 x 4 x 20000),
 * lines may be dropped, but never silently: every line that is missing
 * from the log is counted by a record of source "mplog" ("mplog: N lines
 * dropped ..."); every line that is there is intact, once, in order.
 */
Test(e2e, drop_policy_accounts_in_the_log_for_every_dropped_line, .timeout = TEST_TIMEOUT(60))
{
	static const char *const opts[] = { "--policy", "drop", "--lane-size", "256K", NULL };
	struct e2e_mix m = { .procs = 4, .threads = 4, .lines = 20000, .mix = E2E_WRITE,
	    .drops = 1, .opts = opts };

	e2e_logmix_run(&m, 0);
}

/*
 * More processes than lanes (--lanes 2, logmix 6 x 2): processes wait for
 * a lane or fall back, and every line is delivered exactly once, to the
 * log or to the real stderr.
 */
Test(e2e, more_processes_than_lanes_lose_no_line, .timeout = TEST_TIMEOUT(60))
{
	static const char *const opts[] = { "--lanes", "2", NULL };
	struct e2e_mix m = { .procs = 6, .threads = 2, .lines = 2000, .mix = E2E_MULTI,
	    .fallback = 1, .opts = opts };

	e2e_logmix_run(&m, 0);
}

/*
 * write(2) from a signal handler that interrupts write(2): sigmix writes
 * 50000 lines while a 20 us timer's handler writes its own. Every line of
 * both kinds is delivered exactly once (to the log or, where the shim had
 * to fall back, to the real stderr), each kind in order in the log, with
 * the main thread's tid; every call returned its length with errno kept.
 */
Test(e2e, writes_from_a_signal_handler_interrupting_write_arrive_once, .timeout = TEST_TIMEOUT(60))
{
	char *log = harness_file("sig.json");
	char *argv[] = { harness_build("mplogd"), "--preload", harness_shim(), "--format",
	    "json", "-o", log, "--", harness_build("hosts/sigmix"), "-n", "50000", "-u", "20",
	    NULL };
	struct harness_result r;
	long pid, signals, lines = 50000;
	size_t n;

	harness_run(argv, NULL, NULL, &r);
	cr_assert(r.code == 0 && !harness_contains(r.out, "FAIL"), "status %d: %s", r.code, r.out);
	cr_assert(sscanf(r.out, "sigmix pid=%ld signals=%ld", &pid, &signals) == 2, "%s", r.out);
	cr_assert(signals > 0, "no signal arrived");
	unsigned char *seen[2] = { calloc((size_t)lines, 1), calloc((size_t)signals, 1) };
	long last[2] = { -1, -1 }, count[2] = { 0, 0 }, total[2] = { lines, signals };
	struct harness_rec *recs = harness_json_load(log, &n);

	for (size_t i = 0; i < n; i++) {
		char who[8];
		long seq;
		int k;

		cr_assert(sscanf(recs[i].msg, "sigmix %7s seq=%ld", who, &seq) == 2,
		    "log line %zu: %s", recs[i].line, recs[i].msg);
		k = strcmp(who, "sig") == 0;
		cr_assert(seq >= 0 && seq < total[k] && !seen[k][seq] && seq > last[k],
		    "log line %zu: duplicate, out of order or out of range: %s",
		    recs[i].line, recs[i].msg);
		cr_assert(recs[i].pid == pid && recs[i].tid == pid &&
		    strcmp(recs[i].source, "stderr") == 0, "log line %zu: %ld/%ld %s",
		    recs[i].line, recs[i].pid, recs[i].tid, recs[i].source);
		seen[k][seq] = 1;
		last[k] = seq;
		count[k]++;
	}
	for (const char *s = r.err; *s != '\0';) {
		const char *nl = strchr(s, '\n');
		char who[8];
		long seq;
		int k;

		cr_assert(nl != NULL && sscanf(s, "sigmix %7s seq=%ld", who, &seq) == 2,
		    "real stderr: %.80s", s);
		k = strcmp(who, "sig") == 0;
		cr_assert(seq >= 0 && seq < total[k] && !seen[k][seq],
		    "real stderr: duplicate or out of range: %.*s", (int)(nl - s), s);
		seen[k][seq] = 1;
		count[k]++;
		s = nl + 1;
	}
	cr_assert(count[0] == lines && count[1] == signals,
	    "%ld of %ld main lines, %ld of %ld handler lines", count[0], lines, count[1], signals);
}

/*
 * The log is in time order across processes: say writes a line, then
 * forks a child that writes another, so the parent's line is older (and
 * happened before). mplogd must list it first; the child's record may
 * wait up to the reorder window (50 ms) for it. E2E_FORK_RUNS runs, as
 * the wrong order needs a particular timing. fork puts the parent's queued
 * lines into its lane first, so the window is not what orders them.
 */
#define E2E_FORK_RUNS (100 / TEST_SLOW)  /* a sanitized run takes 2 s under TSan */

Test(e2e, line_written_before_fork_precedes_the_childs_line, .timeout = TEST_TIMEOUT(60))
{
	const char *args[] = { "w:parent\\n", "f:", "w:child\\n", NULL };

	for (int run = 0; run < E2E_FORK_RUNS; run++) {
		char *log;
		struct harness_result r = e2e_say_run(0, "json", NULL, args, &log);
		size_t n;
		long pid, tid;

		e2e_say_ids(r.out, &pid, &tid);
		cr_assert(r.code == 0 && r.err_len == 0, "status %d, stderr: %s", r.code, r.err);
		struct harness_rec *recs = harness_json_load(log, &n);
		cr_assert(n == 2, "run %d: %zu records", run, n);
		cr_assert(strcmp(recs[0].msg, "parent") == 0 && strcmp(recs[1].msg, "child") == 0,
		    "run %d: \"%s\" (pid %ld, %s) is listed before \"%s\" (pid %ld, %s)", run,
		    recs[0].msg, recs[0].pid, recs[0].ts, recs[1].msg, recs[1].pid, recs[1].ts);
		cr_assert(recs[0].pid == pid && recs[1].pid != pid, "run %d: pids %ld %ld",
		    run, recs[0].pid, recs[1].pid);
	}
}

/*
 * Usage errors exit 2 with a message, and start nothing: mplog-run with an
 * unknown option, no command, a bad --stderr or --stdout mode, or -o with
 * --shm; mplogd with an unknown level, --stderr or --stdout without a
 * command, or a bad --stdout mode.
 */
Test(e2e, usage_errors_exit_2_with_a_message, .timeout = TEST_TIMEOUT(60))
{
	char *run = harness_repo("scripts/mplog-run"), *mplogd = harness_build("mplogd");
	char *say = harness_build("hosts/say");
	char *const cases[][8] = {
		{ run, "--bogus", "--", say, NULL },
		{ run, NULL },
		{ run, "--stderr", "sideways", "--", say, NULL },
		{ run, "--stdout", "sideways", "--", say, NULL },
		{ run, "--shm", "/mplog-test-usage", "-o", "x.log", "--", say, NULL },
		{ mplogd, "--level", "loud", NULL },
		{ mplogd, "--stderr", "tee", NULL },
		{ mplogd, "--stdout", "capture", NULL },
		{ mplogd, "--preload", say, "--stdout", "everything", "--", say, NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct harness_result r;

		harness_run(cases[i], NULL, NULL, &r);
		cr_assert(r.code == 2, "case %zu (%s %s): status %d", i, cases[i][0],
		    cases[i][1] ? cases[i][1] : "", r.code);
		cr_assert(r.err_len > 0, "case %zu: no message", i);
		cr_assert(!harness_contains(r.out, "say pid="), "case %zu: the command ran", i);
	}
}

/*
 * A program that closes fd 2 and opens a file, which gets descriptor 2,
 * is followed: the write to the closed descriptor fails with EBADF as it
 * would without the shim, and what it then writes to fd 2 lands in its
 * file, not in the log.
 */
Test(e2e, closed_fd2_is_followed_and_its_new_file_gets_the_writes, .timeout = TEST_TIMEOUT(60))
{
	char *path = harness_file("fd2.txt");
	const char *args[] = { "w:before close\\n", harness_fmt("c:%s", path),
	    "w:DATA for the file\\n", NULL };
	char *log, *file;
	struct harness_result r = e2e_say_run(0, "json", NULL, args, &log);
	size_t n;

	cr_assert_eq(r.code, 0, "exit %d, stderr: %s", r.code, r.err);
	cr_assert(!harness_contains(r.out, "FAIL"), "host reports: %s", r.out);
	file = harness_read_file(path, &n);
	cr_assert_str_eq(file, "DATA for the file\n");
	struct harness_rec *recs = harness_json_load(log, &n);
	cr_assert_eq(n, 1, "%zu records in the log", n);
	cr_assert_str_eq(recs[0].msg, "before close");
}

/*
 * A vfork child that writes to stderr before it leaves does not stop the
 * parent's capture (the child must not start the parent's pipeline
 * thread, which would die with it): every parent line is in the log, and
 * the child's line is delivered once, in the log or on the real stderr.
 */
Test(e2e, vfork_child_writing_to_stderr_leaves_parent_capture_working, .timeout = TEST_TIMEOUT(60))
{
	const char *args[] = { "v:child line\\n", "w:parent 0\\n", "w:parent 1\\n",
	    "w:parent 2\\n", NULL };
	char *log;
	struct harness_result r = e2e_say_run(0, "json", NULL, args, &log);
	size_t n, parent = 0, child = 0;

	cr_assert_eq(r.code, 0, "exit %d, stderr: %s", r.code, r.err);
	cr_assert(!harness_contains(r.out, "FAIL"), "host reports: %s", r.out);
	struct harness_rec *recs = harness_json_load(log, &n);
	for (size_t i = 0; i < n; i++) {
		parent += strncmp(recs[i].msg, "parent ", 7) == 0;
		child += strcmp(recs[i].msg, "child line") == 0;
	}
	child += harness_count_lines(r.err, "child line");
	cr_assert_eq(parent, 3, "%zu parent lines in the log", parent);
	cr_assert_eq(child, 1, "child line delivered %zu times", child);
}

/* The SigIgn mask of /bin/grep run under mplog-run by a shell that
 * ignores the signals named in traps first (the harness sets SIGPIPE back
 * to its default in the programs it starts). */
static unsigned long long
e2e_command_sigign(const char *traps)
{
	char *argv[] = { "/bin/sh", "-c", harness_fmt("trap '' %s; exec %s -- /bin/grep SigIgn "
	    "/proc/self/status", traps, harness_repo("scripts/mplog-run")), NULL };
	struct harness_result r;
	unsigned long long mask;

	harness_run(argv, NULL, NULL, &r);
	cr_assert_eq(r.code, 0, "exit %d, stderr: %s", r.code, r.err);
	cr_assert_eq(sscanf(r.out, "SigIgn: %llx", &mask), 1, "output: %s", r.out);
	return mask;
}

#define E2E_SIGBIT(sig) (1ULL << ((sig) - 1))

/*
 * A signal ignored when mplog-run starts (nohup, a background job of a
 * shell script) stays ignored in the command, as it would without mplog;
 * those mplogd ignores or catches for itself (SIGPIPE, SIGXFSZ, SIGBUS)
 * reach the command as mplog-run found them, ignored or not.
 */
Test(e2e, signals_ignored_by_the_caller_stay_ignored_in_the_command, .timeout = TEST_TIMEOUT(60))
{
	const unsigned long long all = E2E_SIGBIT(SIGPIPE) | E2E_SIGBIT(SIGXFSZ) |
	    E2E_SIGBIT(SIGBUS) | E2E_SIGBIT(SIGHUP) | E2E_SIGBIT(SIGINT);
	unsigned long long mask = e2e_command_sigign("USR1");

	cr_assert_eq(mask & all, 0, "ignored in the command, not by the caller: mask %llx", mask);
	cr_assert_eq(mask & E2E_SIGBIT(SIGUSR1), E2E_SIGBIT(SIGUSR1), "mask %llx", mask);
	mask = e2e_command_sigign("PIPE XFSZ BUS HUP INT");
	cr_assert_eq(mask & all, all, "not all of the caller's ignored signals: mask %llx", mask);
}

/*
 * One write(2) of 3.2 MB (400,000 lines, far more than the queue holds)
 * while mplogd is stopped: mplog takes what fits, and the rest goes to the
 * real stderr once the bounded wait ends. Every line is delivered exactly
 * once, across the log and the real stderr, and write returns the whole
 * length.
 */
Test(e2e, huge_write_while_mplogd_is_stopped_loses_and_repeats_nothing, .timeout = TEST_TIMEOUT(60))
{
	char *argv[] = { harness_build("hosts/say"), "r:400000:0123456\\n", NULL };
	struct harness_daemon d;
	struct harness_result r;
	size_t n, logged = 0;

	harness_daemon_start(&d, "json", NULL);
	cr_assert(kill(d.pid, SIGSTOP) == 0);
	harness_run(argv, harness_env(harness_fmt("LD_PRELOAD=%s", harness_shim()),
	    harness_fmt("MPLOG_SHM=%s", d.shm), NULL), NULL, &r);
	cr_assert(kill(d.pid, SIGCONT) == 0);
	cr_assert_eq(harness_daemon_stop(&d), 0);
	cr_assert_eq(r.code, 0, "exit %d", r.code);
	cr_assert(!harness_contains(r.out, "FAIL"), "host reports: %s", r.out);
	struct harness_rec *recs = harness_json_load(d.log, &n);
	for (size_t i = 0; i < n; i++)
		logged += strcmp(recs[i].msg, "0123456") == 0;
	size_t passed = harness_count_lines(r.err, "0123456");
	cr_assert_eq(logged + passed, 400000, "%zu in the log + %zu on stderr", logged, passed);
}

/*
 * Run snapper (to: "syslog" or "stderr") and check that every call
 * reached the log as exactly the text vsnprintf made of it at the call,
 * in order, from source to with the given ident and facility.
 */
static void
e2e_snapper(const char *to, const char *ident, const char *facility)
{
	const char *const args[] = { harness_build("hosts/libsnapper.so"), to, NULL };
	char *log, *want = NULL;
	size_t n, k = 0;
	struct harness_result r = harness_run_host(0, "json", NULL, "snapper", args, &log);

	cr_assert_eq(r.code, 0, "snapper: exit %d: %s", r.code, r.err);
	struct harness_rec *recs = harness_json_load(log, &n);

	for (char *line = r.out, *nl; *line != '\0'; line = nl + 1, k++) {
		nl = strchr(line, '\n');
		cr_assert(nl != NULL && strncmp(line, "want ", 5) == 0, "snapper: %s", line);
		*nl = '\0';
		want = line + 5;
		cr_assert(k < n, "%zu records in the log; the next should be: %s", n, want);
		cr_assert_str_eq(recs[k].msg, want, "log line %zu", recs[k].line);
		cr_assert(strcmp(recs[k].source, to) == 0 && strcmp(recs[k].ident, ident) == 0 &&
		    strcmp(recs[k].facility, facility) == 0, "log line %zu: %s %s %s",
		    recs[k].line, recs[k].source, recs[k].ident, recs[k].facility);
	}
	cr_assert_eq(k, 61, "snapper said %zu lines", k);
	cr_assert_eq(n, k, "%zu records in the log for %zu calls", n, k);
	cr_assert(harness_contains(want, "registered <w5> and 6"), "last: %s", want);
}

/*
 * Deferred formatting: every syslog call of snapper (formats in read-only
 * data, on the heap and the stack, %m, every kind of argument, positional
 * ones, a string longer than a snapshot on the stack, the calls of a
 * library unloaded right after, a conversion the program registered)
 * reaches the log as exactly the text vsnprintf made of it at the call,
 * in order, with snapper's ident and facility.
 */
Test(e2e, syslog_formatted_later_reads_as_formatted_at_the_call, .timeout = TEST_TIMEOUT(60))
{
	e2e_snapper("syslog", "snapper", "local1");
}

/*
 * The same calls as vfprintf to stderr, each line ended by an fputc (the
 * pipeline joins the pieces): the same text, and vfprintf returns what
 * vsnprintf did (snapper says so otherwise), whether the hook took a
 * snapshot or formatted (floats, the long string, %W).
 */
Test(e2e, fprintf_formatted_later_reads_as_formatted_at_the_call, .timeout = TEST_TIMEOUT(60))
{
	e2e_snapper("stderr", "", "user");
}

/*
 * The private segment of run mode is named after mplogd's pid: what a
 * dead process that had the same pid left under that name (here junk)
 * is replaced, never taken over or refused. The shell writes it, then
 * becomes mplogd with exec (same pid).
 */
Test(e2e, private_segment_left_by_a_dead_process_of_the_same_pid_is_replaced,
    .timeout = TEST_TIMEOUT(60))
{
	char *log = harness_file("private.json");
	char *argv[] = { "/bin/sh", "-c", harness_fmt("printf junk > /dev/shm/mplog-run-$$ && "
	    "exec %s --preload %s --format json -o %s -- %s 'w:after the junk\\n'",
	    harness_build("mplogd"), harness_shim(), log, harness_build("hosts/say")), NULL };
	struct harness_result r;
	size_t n;

	harness_run(argv, NULL, NULL, &r);
	cr_assert_eq(r.code, 0, "exit %d: %s", r.code, r.err);
	struct harness_rec *recs = harness_json_load(log, &n);

	cr_assert(n == 1 && strcmp(recs[0].msg, "after the junk") == 0,
	    "%zu records, the first: %s", n, n > 0 ? recs[0].msg : "-");
}

/* ---- descriptors opened on stderr by name ------------------------------- */

/*
 * bash with a file F as stderr, as "2>F" gives it: "echo one >&2", then
 * "echo two >/dev/stderr" (which truncates F and writes at its start, a
 * file description of its own), then "echo three >>F" (the same file by
 * another path: not stderr). Run plainly, and under mplogd in each mode
 * (mode NULL: plainly); the log in *log. Returns F's contents.
 */
static char *
e2e_opened_run(const char *mode, char **log)
{
	char *f = harness_file(harness_fmt("opened-%s.err", mode != NULL ? mode : "plain"));
	char *cmd = harness_fmt("echo one >&2; echo two >/dev/stderr; echo three >>%s", f);
	char *argv[24];
	int n = 0, fd = open(f, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	struct harness_io io = { -1, -1, fd, -1, -1 };

	cr_assert(fd != -1);
	*log = harness_file(harness_fmt("opened-%s.json", mode != NULL ? mode : "plain"));
	if (mode != NULL) {
		harness_mplog_argv(argv, &n, 0, "json", *log,
		    (const char *const[]){ "--stderr", mode, NULL });
	}
	argv[n++] = "/usr/bin/bash";
	argv[n++] = "-c";
	argv[n++] = cmd;
	argv[n] = NULL;
	int code = harness_wait(harness_spawn(argv, harness_env(NULL), &io), HARNESS_WAIT_MS);
	close(fd);
	cr_assert(code == 0, "%s: status %d", mode != NULL ? mode : "plain", code);
	return harness_read_file(f, NULL);
}

/*
 * What is opened by a name of stderr is stderr, and nothing else is: in
 * capture and tee modes "one" and "two" are logged and "three" is not;
 * the open keeps its semantics (O_TRUNC truncates the real file; the new
 * descriptor writes at its own offset), so in tee and pass modes the file
 * holds what a plain run leaves, and in capture mode only "three".
 */
Test(e2e, stderr_opened_by_name_is_stderr_and_the_same_file_by_another_path_is_not,
    .timeout = TEST_TIMEOUT(60))
{
	static const char *const modes[] = { "capture", "tee", "pass" };
	char *log, *plain = e2e_opened_run(NULL, &log);

	cr_assert_str_eq(plain, "two\nthree\n", "the plain run's file");
	for (size_t m = 0; m < 3; m++) {
		char *file = e2e_opened_run(modes[m], &log);
		size_t n;
		struct harness_rec *recs = harness_json_load(log, &n);

		cr_assert_str_eq(file, m == 0 ? "three\n" : plain, "%s: the file", modes[m]);
		if (m == 2) {
			cr_assert_eq(n, 0, "pass: %zu records", n);
			continue;
		}
		cr_assert(n == 2 && strcmp(recs[0].msg, "one") == 0 &&
		    strcmp(recs[1].msg, "two") == 0, "%s: %zu records, first %s", modes[m], n,
		    n > 0 ? recs[0].msg : "-");
	}
}

/*
 * A program that reopens stderr on a file in the middle of argp_parse
 * (from its option parser), whose error then goes to that file: under
 * mplog in capture mode the file holds exactly what a plain run leaves
 * there, the log nothing of it, and the status is argp's 64.
 */
Test(e2e, stderr_reopened_during_argp_parse_gets_argps_error, .timeout = TEST_TIMEOUT(60))
{
	for (int shim = 0; shim < 2; shim++) {
		char *file = harness_file(harness_fmt("reopen-%d.err", shim));
		char *log = harness_file(harness_fmt("reopen-%d.json", shim)), *argv[24];
		int n = 0;
		struct harness_result r;
		size_t nrec;

		if (shim)
			harness_mplog_argv(argv, &n, 0, "json", log, NULL);
		argv[n++] = harness_build("hosts/libcmsg");
		argv[n++] = "argp-reopen";
		argv[n++] = file;
		argv[n++] = "-a";
		argv[n++] = "--bogus";
		argv[n] = NULL;
		harness_run(argv, NULL, NULL, &r);
		cr_assert(r.code == 64 && r.err_len == 0, "shim %d: status %d, stderr %s", shim,
		    r.code, r.err);
		cr_assert_str_eq(harness_read_file(file, NULL), "argp-reopen: unrecognized option "
		    "'--bogus'\nTry `argp-reopen --help' or `argp-reopen --usage' for more "
		    "information.\n", "shim %d: the file", shim);
		if (shim) {
			harness_json_load(log, &nrec);
			cr_assert_eq(nrec, 0, "%zu records", nrec);
		}
	}
}
