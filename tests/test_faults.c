/*
 * test_faults.c - mplog under faults: producers killed or stopped in the
 * middle of their load, a sink whose writes fail, an mplogd killed and
 * replaced. The programs of $MPLOG_BUILD run as black boxes, as in
 * test_e2e.c, and every line a producer was told to write is accounted
 * for: delivered exactly once, intact, in order, from the right pid and
 * tid - or, for a process killed on purpose, lost only at the end.
 *
 * Faults are injected at moments drawn from a seeded generator (the seed
 * is in every failure message; MPLOG_FAULTS_SEED replays one). Nothing
 * sleeps in place of an event: conditions are polled with a deadline.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "hosts/checksum.h"
#include "prng.h"

TestSuite(faults, .init = harness_setup, .fini = harness_teardown);

#define FL_THREADS 2
#define FL_POLL_MS (20000 * TEST_SLOW)        /* bound on a condition polled for */

/* Context of failure messages: the seed of the run. */
static char fl_ctx[64] = "";

/* One logmix -p 1 -t THREADS -n LINES -m write run as its own group. */
struct fl_prod {
	pid_t pid;              /* logmix's main process, its group leader */
	int out;                /* read end of its stdout */
	char *err;              /* file holding its real stderr */
	long main_pid, cpid;    /* main process; the child that writes */
	long tid[FL_THREADS];
	int threads, lines;     /* lines: of each thread, in all */
	int go;                 /* fl_spawn_held: its stdin, to let it finish */
	int code;               /* exit code, 128+N for signal N */
};

/* The exact text of logmix line (t, seq) of a -m write run (p is 0). */
static int
fl_line(char *buf, size_t len, int t, int seq)
{
	int n = snprintf(buf, len, "logmix p=0 t=%d seq=%d via=write", t, seq);

	return n + snprintf(buf + n, len - (size_t)n, " sum=%08x", checksum_fnv(buf, (size_t)n));
}

/* Start logmix attached to segment shm; reads its ids (written before it
 * logs) into p. held: logmix -w, which writes half its lines and then
 * waits for fl_release before the other half. */
static void
fl_spawn_how(struct fl_prod *p, const char *shm, int threads, int lines, int held)
{
	static int serial;
	char n[16], t[16], line[256];
	int out[2], in[2] = { -1, -1 };
	size_t seen = 0;

	memset(p, 0, sizeof(*p));
	p->threads = threads;
	p->lines = held ? 2 * lines : lines;
	p->go = -1;
	p->err = harness_file(harness_fmt("logmix%d.err", serial++));
	snprintf(n, sizeof(n), "%d", lines);
	snprintf(t, sizeof(t), "%d", threads);
	char *argv[] = { harness_build("hosts/logmix"), "-p", "1", "-t", t, "-n", n,
	    "-m", "write", held ? "-w" : NULL, NULL };
	int errfd = open(p->err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	cr_assert(errfd != -1 && pipe2(out, O_CLOEXEC) == 0);
	cr_assert(!held || pipe2(in, O_CLOEXEC) == 0);
	struct harness_io io = { in[0], out[1], errfd, -1, -1 };
	p->pid = harness_spawn(argv, harness_env(harness_fmt("LD_PRELOAD=%s", harness_shim()),
	    harness_fmt("MPLOG_SHM=%s", shm), NULL), &io);
	close(out[1]);
	close(errfd);
	if (held) {
		close(in[0]);
		p->go = in[1];
	}
	p->out = out[0];
	while (seen < 1 + (size_t)threads) {
		long pid, tid;
		int pp, tt;

		cr_assert(harness_read_line(p->out, line, sizeof(line), FL_POLL_MS) != -1,
		    "%slogmix %d ended before it logged", fl_ctx, (int)p->pid);
		cr_assert(strncmp(line, "FAIL", 4) != 0, "%slogmix reports: %s", fl_ctx, line);
		if (sscanf(line, "main pid=%ld", &pid) == 1) {
			p->main_pid = pid;
		} else if (sscanf(line, "thread p=%d t=%d pid=%ld tid=%ld", &pp, &tt, &pid,
		    &tid) == 4) {
			cr_assert(pp == 0 && tt >= 0 && tt < threads && p->tid[tt] == 0,
			    "%sbad thread line: %s", fl_ctx, line);
			cr_assert(p->cpid == 0 || p->cpid == pid, "%stwo children: %s", fl_ctx, line);
			p->cpid = pid;
			p->tid[tt] = tid;
		} else {
			cr_assert_fail("%sunexpected logmix stdout line: %s", fl_ctx, line);
		}
		seen++;
	}
	cr_assert(p->main_pid == p->pid, "%slogmix main pid %ld, spawned %d", fl_ctx,
	    p->main_pid, (int)p->pid);
}

static void
fl_spawn(struct fl_prod *p, const char *shm, int threads, int lines)
{
	fl_spawn_how(p, shm, threads, lines, 0);
}

/* A held logmix (fl_spawn_how): wait until it has written its first half
 * (it says so on stdout), so that it is idle, waiting for its word. */
static void
fl_await_half(struct fl_prod *p)
{
	char line[256];

	cr_assert(harness_read_line(p->out, line, sizeof(line), FL_POLL_MS) != -1,
	    "%slogmix ended before its first half", fl_ctx);
	cr_assert(strcmp(line, "phase1 p=0") == 0, "%sunexpected logmix stdout line: %s",
	    fl_ctx, line);
}

/* Let a held logmix write its second half. */
static void
fl_release(struct fl_prod *p)
{
	cr_assert(write(p->go, "\n", 1) == 1);
	close(p->go);
	p->go = -1;
}

/* Wait for logmix; when it was not killed, its stdout must hold no FAIL. */
static void
fl_finish(struct fl_prod *p)
{
	char line[256];

	p->code = harness_wait(p->pid, HARNESS_WAIT_MS);
	if (p->code == 0)
		while (harness_read_line(p->out, line, sizeof(line), FL_POLL_MS) != -1)
			cr_assert(strncmp(line, "FAIL", 4) != 0, "%slogmix reports: %s", fl_ctx,
			    line);
	close(p->out);
	p->out = -1;
}

/* Check a logmix line msg (len bytes) of producer p: its writer goes to
 * *t; returns its seq. */
static int
fl_parse(const struct fl_prod *p, const char *msg, size_t len, int *t, const char *where)
{
	char text[160];
	int pp, seq, n;

	cr_assert(sscanf(msg, "logmix p=%d t=%d seq=%d ", &pp, t, &seq) == 3,
	    "%s%s: not a logmix line: %s", fl_ctx, where, msg);
	cr_assert(pp == 0 && *t >= 0 && *t < p->threads && seq >= 0 && seq < p->lines,
	    "%s%s: out of range: %s", fl_ctx, where, msg);
	n = fl_line(text, sizeof(text), *t, seq);
	cr_assert(len == (size_t)n && memcmp(msg, text, len) == 0,
	    "%s%s: damaged: \"%s\", expected \"%s\"", fl_ctx, where, msg, text);
	return seq;
}

/* Where fl_check found a line. */
#define FL_VIA_LOG    1
#define FL_VIA_STDERR 2

/*
 * Check a JSON log against the producers ps[0..np): every line once,
 * intact, in order per thread, with its writer's pid and tid; lines that
 * went to a producer's real stderr count as delivered. A producer killed
 * by SIGKILL may have lost the end of each thread's lines, nothing else
 * (but for lines its hooks wrote through to the real stderr after the
 * queue made no progress for a second, under a heavy load: those may
 * follow lines the kill lost);
 * one that exited must have everything. Besides, only logmix's start and
 * exit lines, and mplog's own records when mplog_ok. lost: lines that may
 * be missing in all, as mplogd reported. Returns the number of mplog
 * records.
 */
static size_t
fl_check(struct fl_prod *ps, int np, const struct harness_rec *recs, size_t n,
    int mplog_ok, unsigned long long lost)
{
	size_t per = 0, notes = 0;

	for (int k = 0; k < np; k++)
		per = per > (size_t)ps[k].lines * FL_THREADS ? per : (size_t)ps[k].lines * FL_THREADS;
	unsigned char *seen = calloc((size_t)np * per, 1);
	int *last = malloc((size_t)np * FL_THREADS * sizeof(int));
	int *starts = calloc((size_t)np, sizeof(int)), *exits = calloc((size_t)np, sizeof(int));
	unsigned long long missing = 0;
	char where[64];

	cr_assert(seen != NULL && last != NULL && starts != NULL && exits != NULL);
	for (int i = 0; i < np * FL_THREADS; i++)
		last[i] = -1;
	for (size_t i = 0; i < n; i++) {
		const struct harness_rec *r = &recs[i];
		int k, t, seq;

		snprintf(where, sizeof(where), "log line %zu", r->line);
		if (strcmp(r->source, "mplog") == 0) {
			cr_assert(mplog_ok, "%s%s: mplog says: %s", fl_ctx, where, r->msg);
			cr_assert(!harness_contains(r->msg, "damaged"), "%s%s: mplog says: %s",
			    fl_ctx, where, r->msg);
			notes++;
			continue;
		}
		cr_assert(strcmp(r->proc, "logmix") == 0 && strcmp(r->source, "stderr") == 0 &&
		    strcmp(r->severity, "info") == 0, "%s%s: %s %s %s: %s", fl_ctx, where,
		    r->proc, r->source, r->severity, r->msg);
		if (strcmp(r->msg, "logmix start") == 0 || strcmp(r->msg, "logmix exit=0") == 0) {
			for (k = 0; k < np && ps[k].main_pid != r->pid; k++)
				;
			cr_assert(k < np && r->tid == r->pid, "%s%s: %s from %ld/%ld, no logmix's "
			    "main process", fl_ctx, where, r->msg, r->pid, r->tid);
			(r->msg[7] == 's' ? starts : exits)[k]++;
			continue;
		}
		for (k = 0; k < np && ps[k].cpid != r->pid; k++)
			;
		cr_assert(k < np, "%s%s: pid %ld wrote no logmix line: %s", fl_ctx, where,
		    r->pid, r->msg);
		seq = fl_parse(&ps[k], r->msg, r->msg_len, &t, where);
		cr_assert(r->tid == ps[k].tid[t], "%s%s: tid %ld, the writer is %ld: %s", fl_ctx,
		    where, r->tid, ps[k].tid[t], r->msg);
		cr_assert(!seen[(size_t)k * per + (size_t)t * (size_t)ps[k].lines + (size_t)seq],
		    "%s%s: delivered twice: %s (pid %ld)", fl_ctx, where, r->msg, r->pid);
		seen[(size_t)k * per + (size_t)t * (size_t)ps[k].lines + (size_t)seq] = FL_VIA_LOG;
		cr_assert(seq > last[k * FL_THREADS + t], "%s%s: out of order: seq %d after %d "
		    "of pid %ld tid %ld", fl_ctx, where, seq, last[k * FL_THREADS + t], r->pid,
		    r->tid);
		last[k * FL_THREADS + t] = seq;
	}
	for (int k = 0; k < np; k++) {
		char *err = harness_read_file(ps[k].err, NULL);
		int killed = ps[k].code == 128 + SIGKILL, line = 0;

		cr_assert(killed || ps[k].code == 0, "%slogmix %d: exit status %d", fl_ctx,
		    (int)ps[k].pid, ps[k].code);
		for (char *s = err, *nl; *s != '\0'; s = nl + 1) {
			int t, seq;

			nl = strchr(s, '\n');
			snprintf(where, sizeof(where), "real stderr of %d, line %d",
			    (int)ps[k].pid, ++line);
			if (nl == NULL) {
				cr_assert(killed, "%s%s: no newline: %s", fl_ctx, where, s);
				break;  /* cut by the kill: that line is undelivered */
			}
			*nl = '\0';
			if (strcmp(s, "logmix start") == 0 || strcmp(s, "logmix exit=0") == 0) {
				(s[7] == 's' ? starts : exits)[k]++;
				continue;
			}
			seq = fl_parse(&ps[k], s, (size_t)(nl - s), &t, where);
			cr_assert(!seen[(size_t)k * per + (size_t)t * (size_t)ps[k].lines +
			    (size_t)seq], "%s%s: delivered twice: %s", fl_ctx, where, s);
			seen[(size_t)k * per + (size_t)t * (size_t)ps[k].lines + (size_t)seq] =
			    FL_VIA_STDERR;
		}
		for (int t = 0; t < FL_THREADS; t++) {
			const unsigned char *b = seen + (size_t)k * per + (size_t)t * (size_t)ps[k].lines;
			int got = 0;
			char text[160];

			while (got < ps[k].lines && b[got])
				got++;
			for (int seq = got; seq < ps[k].lines; seq++) {
				fl_line(text, sizeof(text), t, seq);
				/* A line the hook wrote through after a second without
				 * progress may follow lines still queued when the
				 * kill came: from the real stderr, never the log. */
				if (killed)
					cr_assert(b[seq] != FL_VIA_LOG, "%slogmix %d (killed): line "
					    "%d lost, yet a later one is in the log: %s", fl_ctx,
					    (int)ps[k].pid, got, text);
				else if (!b[seq])
					missing++;
				cr_assert(killed || lost > 0, "%slogmix %d: missing: %s", fl_ctx,
				    (int)ps[k].pid, text);
			}
		}
		cr_assert(killed ? starts[k] <= 1 && exits[k] == 0 :
		    starts[k] == 1 && exits[k] == 1, "%slogmix %d (status %d): start line "
		    "%d times, exit line %d times", fl_ctx, (int)ps[k].pid, ps[k].code,
		    starts[k], exits[k]);
	}
	cr_assert(missing == lost, "%s%llu lines missing, mplogd reported %llu lost", fl_ctx,
	    missing, lost);
	free(seen);
	free(last);
	free(starts);
	free(exits);
	return notes;
}

/* mplogctl --shm shm status, which must succeed. */
static char *
fl_status(const char *shm)
{
	struct harness_result r;
	char *argv[] = { harness_build("mplogctl"), "--shm", (char *)shm, "status", NULL };

	cr_assert(harness_run(argv, NULL, NULL, &r) == 0, "%smplogctl status: %s", fl_ctx,
	    r.err);
	return r.out;
}

/* The state letter of /proc/pid/stat, '?' when there is none. */
static char
fl_state(long pid)
{
	char path[64], buf[512], *rp;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return '?';
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	rp = strrchr(buf, ')');
	return rp != NULL && rp[1] == ' ' ? rp[2] : '?';
}

/* Does the log at path hold, from pid, a record whose message is msg? */
static int
fl_log_has(const char *path, const char *msg, long pid)
{
	char *text = harness_read_file(path, NULL), key[32], quoted[200];

	snprintf(key, sizeof(key), "\"pid\":%ld,", pid);
	snprintf(quoted, sizeof(quoted), "\"%s\"", msg);
	for (char *s = text, *nl; s != NULL && *s != '\0'; s = nl != NULL ? nl + 1 : NULL) {
		nl = strchr(s, '\n');
		if (nl == NULL)
			break;  /* a line still being written */
		*nl = '\0';
		if (strstr(s, key) != NULL && strstr(s, quoted) != NULL)
			return 1;
	}
	return 0;
}

/* ---- the tests ------------------------------------------------------ */

#define FL_STORM 12

/*
 * Kill storm: 12 logmix processes (2 threads, one write per line) log to
 * one mplogd, and a random half of them is SIGKILLed, each at a random
 * moment of its load. The survivors' lines all arrive exactly once, in
 * order, intact, with their pid and tid; a killed process loses at most
 * the end of each thread's lines (what it had not published; a line a
 * hook wrote through to the real stderr after a second without progress
 * may come after them) and nothing arrives twice. mplogd says nothing on its stderr, exits 0, and gives
 * back every dead producer's lane.
 */
Test(faults, kill_storm_loses_only_unpublished_tails_and_frees_every_lane, .timeout = TEST_TIMEOUT(120))
{
	struct harness_daemon d;
	struct fl_prod ps[FL_STORM];
	int order[FL_STORM], victim[FL_STORM] = { 0 };
	long long at[FL_STORM], t0;
	uint64_t seed, s;
	size_t n;
	const char *env = getenv("MPLOG_FAULTS_SEED");

	seed = env != NULL ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
	seed = seed != 0 ? seed : 1;
	snprintf(fl_ctx, sizeof(fl_ctx), "seed %#llx: ", (unsigned long long)seed);
	s = seed;
	for (int i = 0; i < FL_STORM; i++)
		order[i] = i;
	for (int i = FL_STORM - 1; i > 0; i--) {
		int j = (int)(prng_next(&s) % (uint64_t)(i + 1)), x = order[i];

		order[i] = order[j];
		order[j] = x;
	}
	harness_daemon_start(&d, "json", NULL);
	/* Victims log ten times more, so that they are still writing when the
	 * kill comes; survivors' loads are checked line by line. */
	for (int i = 0; i < FL_STORM / 2; i++)
		victim[order[i]] = 1;
	for (int i = 0; i < FL_STORM; i++)
		fl_spawn(&ps[i], d.shm, FL_THREADS, victim[i] ? 200000 : 20000);
	t0 = harness_now_ms();
	for (int i = 0; i < FL_STORM; i++)
		at[i] = victim[i] ? t0 + (long long)(prng_next(&s) % 300) : -1;
	/* Fault injection at the drawn moments, earliest first. */
	for (int done = 0; done < FL_STORM / 2; done++) {
		int k = -1;

		for (int i = 0; i < FL_STORM; i++)
			if (at[i] >= 0 && (k == -1 || at[i] < at[k]))
				k = i;
		while (harness_now_ms() < at[k])
			harness_tick();
		cr_assert(kill(-ps[k].pid, SIGKILL) == 0, "%skill: %s", fl_ctx, strerror(errno));
		at[k] = -1;
	}
	for (int i = 0; i < FL_STORM; i++) {
		fl_finish(&ps[i]);
		cr_assert(ps[i].code == (victim[i] ? 128 + SIGKILL : 0),
		    "%slogmix %d (%s): exit status %d", fl_ctx, (int)ps[i].pid,
		    victim[i] ? "killed" : "survivor", ps[i].code);
	}
	/* Every producer is dead and reaped: mplogd must give their lanes back. */
	char *st = fl_status(d.shm);
	long long end = harness_now_ms() + FL_POLL_MS;

	while (!harness_contains(st, "(no lane in use)") && harness_now_ms() < end) {
		harness_tick();
		st = fl_status(d.shm);
	}
	cr_assert(harness_contains(st, "(no lane in use)"),
	    "%slanes still in use after every producer died:\n%s", fl_ctx, st);
	cr_assert(harness_daemon_stop(&d) == 0, "%smplogd: %s", fl_ctx,
	    harness_read_file(d.err, NULL));
	char *derr = harness_read_file(d.err, NULL);

	cr_assert(strcmp(derr, "") == 0, "%smplogd said: %s", fl_ctx, derr);
	struct harness_rec *recs = harness_json_load(d.log, &n);

	fl_check(ps, FL_STORM, recs, n, 1, 0);
}

/*
 * A stopped producer delays no other: logmix A writes its first half of
 * lines and waits for the test's word, so that it cannot have finished
 * when it is SIGSTOPped; logmix B then writes 1000 lines and exits, and
 * B's last line reaches the log while A is still stopped (the poll's
 * deadline bounds a hang, it is no speed check). A then goes on
 * (SIGCONT, and its word) and finishes: every line of both, exactly
 * once, in order.
 */
Test(faults, sigstopped_producer_delays_no_other, .timeout = TEST_TIMEOUT(90))
{
	struct harness_daemon d;
	struct fl_prod ps[2];
	char last[160];
	long long end;
	size_t n;

	harness_daemon_start(&d, "json", NULL);
	fl_spawn_how(&ps[0], d.shm, FL_THREADS, 20000, 1);
	fl_await_half(&ps[0]);
	cr_assert(kill(-ps[0].pid, SIGSTOP) == 0);
	end = harness_now_ms() + FL_POLL_MS;
	while ((fl_state(ps[0].cpid) != 'T' || fl_state(ps[0].main_pid) != 'T') &&
	    harness_now_ms() < end)
		harness_tick();
	cr_assert(fl_state(ps[0].cpid) == 'T', "A's writer is not stopped: state %c",
	    fl_state(ps[0].cpid));

	fl_spawn(&ps[1], d.shm, FL_THREADS, 1000);
	fl_finish(&ps[1]);
	cr_assert(ps[1].code == 0, "B: exit status %d", ps[1].code);
	fl_line(last, sizeof(last), FL_THREADS - 1, 999);
	end = harness_now_ms() + FL_POLL_MS;
	while (!fl_log_has(d.log, last, ps[1].cpid) && harness_now_ms() < end)
		harness_tick();
	cr_assert(fl_log_has(d.log, last, ps[1].cpid),
	    "B's last line is not logged while A is stopped: %s", last);
	cr_assert(fl_state(ps[0].cpid) == 'T', "A was not stopped all along: state %c",
	    fl_state(ps[0].cpid));

	cr_assert(kill(-ps[0].pid, SIGCONT) == 0);
	fl_release(&ps[0]);
	fl_finish(&ps[0]);
	cr_assert(ps[0].code == 0, "A: exit status %d", ps[0].code);
	cr_assert(harness_daemon_stop(&d) == 0, "mplogd: %s", harness_read_file(d.err, NULL));
	cr_assert(strcmp(harness_read_file(d.err, NULL), "") == 0, "mplogd said: %s",
	    harness_read_file(d.err, NULL));
	struct harness_rec *recs = harness_json_load(d.log, &n);

	fl_check(ps, 2, recs, n, 0, 0);
}

/* Poll mplogd's stderr until it holds needle; fails if mplogd dies first. */
static char *
fl_await_err(const struct harness_daemon *d, const char *needle)
{
	long long end = harness_now_ms() + FL_POLL_MS;
	char *err = harness_read_file(d->err, NULL);

	while (!harness_contains(err, needle) && harness_now_ms() < end) {
		char s = fl_state(d->pid);

		cr_assert(s != 'Z' && s != '?', "mplogd died (state %c) before it said \"%s\"; "
		    "it said: %s", s, needle, err);
		harness_tick();
		err = harness_read_file(d->err, NULL);
	}
	cr_assert(harness_contains(err, needle), "mplogd never said \"%s\"; it said: %s",
	    needle, err);
	return err;
}

/* The records mplogd's stderr says were lost, in all. */
static unsigned long long
fl_lost(const char *err)
{
	unsigned long long all = 0, k;

	for (const char *s = strstr(err, " records lost"); s != NULL;
	    s = strstr(s + 1, " records lost")) {
		const char *b = s;

		while (b > err && b[-1] >= '0' && b[-1] <= '9')
			b--;
		cr_assert(sscanf(b, "%llu", &k) == 1, "no count: %s", err);
		all += k;
	}
	return all;
}

/*
 * A sink whose writes fail (the file grew past mplogd's RLIMIT_FSIZE, set
 * with prlimit: EFBIG) is reported and retried: mplogd survives (SIGXFSZ
 * must not kill it), a producer that logs meanwhile exits normally,
 * mplogd's stderr names the file and the error, and once the limit is
 * raised again every line reaches the file exactly once - or mplogd says
 * how many records it lost.
 */
Test(faults, failing_file_sink_is_reported_and_retried, .timeout = TEST_TIMEOUT(90))
{
	struct harness_daemon d;
	struct fl_prod ps[2];
	struct rlimit low, high = { RLIM_INFINITY, RLIM_INFINITY };
	char last[160];
	struct stat st;
	size_t n;

	harness_daemon_start(&d, "json", NULL);
	fl_spawn(&ps[0], d.shm, FL_THREADS, 100);
	fl_finish(&ps[0]);
	fl_line(last, sizeof(last), FL_THREADS - 1, 99);
	long long end = harness_now_ms() + FL_POLL_MS;

	while (!fl_log_has(d.log, last, ps[0].cpid) && harness_now_ms() < end)
		harness_tick();
	cr_assert(fl_log_has(d.log, last, ps[0].cpid) && stat(d.log, &st) == 0 &&
	    st.st_size > 1, "the first load never reached the log");
	/* Below the log's size, above its stderr file's (empty so far), which
	 * the limit binds too. */
	low = (struct rlimit){ (rlim_t)st.st_size - 1, RLIM_INFINITY };
	cr_assert(prlimit(d.pid, RLIMIT_FSIZE, &low, NULL) == 0, "prlimit: %s", strerror(errno));

	fl_spawn(&ps[1], d.shm, FL_THREADS, 2000);
	fl_finish(&ps[1]);
	cr_assert(ps[1].code == 0, "the producer: exit status %d", ps[1].code);
	char *err = fl_await_err(&d, strerror(EFBIG));

	cr_assert(harness_contains(err, d.log), "the message does not name %s: %s", d.log, err);
	cr_assert(prlimit(d.pid, RLIMIT_FSIZE, &high, NULL) == 0, "prlimit: %s",
	    strerror(errno));
	int code = harness_daemon_stop(&d);

	err = harness_read_file(d.err, NULL);
	cr_assert(code == 0, "mplogd: exit status %d: %s", code, err);
	struct harness_rec *recs = harness_json_load(d.log, &n);

	/* The limit binds the memory files of lanes too: the second producer
	 * gets none, says mplogd, and writes into the segment instead. */
	for (size_t i = 0; i < n; i++)
		cr_assert(strcmp(recs[i].source, "mplog") != 0 ||
		    harness_contains(recs[i].msg, "could not make a lane for "), "log line %zu: mplog says: %s", recs[i].line, recs[i].msg);
	fl_check(ps, 2, recs, n, 1, fl_lost(err));
}

/* Poll the log at path until it exists and holds p's every thread's last
 * line and its exit line. */
static void
fl_await_all(const char *path, const struct fl_prod *p)
{
	long long end = harness_now_ms() + FL_POLL_MS;
	char last[160];

	for (int t = 0; t <= p->threads; t++) {
		long pid = t < p->threads ? p->cpid : p->main_pid;

		if (t < p->threads)
			fl_line(last, sizeof(last), t, p->lines - 1);
		else
			snprintf(last, sizeof(last), "logmix exit=0");
		while ((access(path, F_OK) != 0 || !fl_log_has(path, last, pid)) &&
		    harness_now_ms() < end)
			harness_tick();
		cr_assert(access(path, F_OK) == 0 && fl_log_has(path, last, pid),
		    "%s never got \"%s\"", path, last);
	}
}

/* The records of the JSON log at path, each line checked against p. */
static void
fl_check_file(const char *path, struct fl_prod *p)
{
	size_t n;
	struct harness_rec *recs = harness_json_load(path, &n);

	fl_check(p, 1, recs, n, 0, 0);
}

/* Wait until the last line of each thread of p, and its exit line, are
 * in the file at path a or at path b (either may not exist yet). */
static void
fl_await_either(const char *a, const char *b, const struct fl_prod *p)
{
	long long end = harness_now_ms() + FL_POLL_MS;
	char last[160];

	for (int t = 0; t <= p->threads; t++) {
		long pid = t < p->threads ? p->cpid : p->main_pid;
		int found = 0;

		if (t < p->threads)
			fl_line(last, sizeof(last), t, p->lines - 1);
		else
			snprintf(last, sizeof(last), "logmix exit=0");
		while (!(found = (access(a, F_OK) == 0 && fl_log_has(a, last, pid)) ||
		    (access(b, F_OK) == 0 && fl_log_has(b, last, pid))) && harness_now_ms() < end)
			harness_tick();
		cr_assert(found, "neither %s nor %s got \"%s\"", a, b, last);
	}
}

/* The records of the JSON logs at a, then b, checked together against
 * the loads ps[0..np): each line in exactly one of them, in order. */
static void
fl_check_files(const char *a, const char *b, struct fl_prod *ps, int np)
{
	size_t na, nb;
	struct harness_rec *ra = harness_json_load(a, &na), *rb = harness_json_load(b, &nb);
	struct harness_rec *all = calloc(na + nb + 1, sizeof(*all));

	cr_assert_not_null(all);
	memcpy(all, ra, na * sizeof(*all));
	memcpy(all + na, rb, nb * sizeof(*all));
	fl_check(ps, np, all, na + nb, 0, 0);
	free(all);
}

#define FL_RENAME_LOADS 64      /* loads at most until the new file is made */

/*
 * A log file renamed away (logrotate's create mode, without a SIGHUP) is
 * written on for SINK_RENAMED_NS (logrotate's own new file is on its
 * way), then created again under its name at mplogd's next write, which
 * says so. Loads go on until the new file exists: a load written before
 * the rename is whole in the renamed file, and every line of the later
 * ones is in exactly one of the two files, in order. A file removed is
 * made again at once: a load written after that is whole in the new file.
 * Nothing is lost in between and mplogd goes on.
 */
Test(faults, log_file_renamed_or_removed_is_created_again, .timeout = TEST_TIMEOUT(120))
{
	struct harness_daemon d;
	struct fl_prod ps[FL_RENAME_LOADS + 2];
	int k = 1;
	char *old;

	harness_daemon_start(&d, "json", NULL);
	old = harness_fmt("%s.1", d.log);
	fl_spawn(&ps[0], d.shm, FL_THREADS, 300);
	fl_finish(&ps[0]);
	fl_await_all(d.log, &ps[0]);
	cr_assert(rename(d.log, old) == 0, "rename: %s", strerror(errno));

	for (; k <= FL_RENAME_LOADS && access(d.log, F_OK) != 0; k++) {
		fl_spawn(&ps[k], d.shm, FL_THREADS, 300);
		fl_finish(&ps[k]);
		fl_await_either(old, d.log, &ps[k]);
	}
	cr_assert(access(d.log, F_OK) == 0, "no new file after %d loads", FL_RENAME_LOADS);
	fl_check_files(old, d.log, ps, k);
	cr_assert(unlink(d.log) == 0, "unlink: %s", strerror(errno));

	fl_spawn(&ps[k], d.shm, FL_THREADS, 300);
	fl_finish(&ps[k]);
	fl_await_all(d.log, &ps[k]);
	int code = harness_daemon_stop(&d);
	char *err = harness_read_file(d.err, NULL);

	cr_assert(code == 0, "mplogd: exit status %d: %s", code, err);
	cr_assert(harness_count(err, "removed or renamed; writing to a new file") == 2,
	    "mplogd said: %s", err);
	fl_check_file(d.log, &ps[k]);
}

/*
 * The same with /dev/full as the output: every write fails (ENOSPC).
 * mplogd keeps running and says so once; the producer exits normally;
 * mplogd exits 0 on SIGTERM.
 */
Test(faults, output_to_dev_full_is_reported_once_and_blocks_nobody, .timeout = TEST_TIMEOUT(90))
{
	struct harness_daemon d;
	struct fl_prod p;
	const char *const out[] = { "-o", "/dev/full", NULL };

	harness_daemon_start(&d, "json", out);
	fl_spawn(&p, d.shm, FL_THREADS, 20000);
	fl_finish(&p);
	cr_assert(p.code == 0, "the producer: exit status %d", p.code);
	fl_await_err(&d, strerror(ENOSPC));
	int code = harness_daemon_stop(&d);
	char *err = harness_read_file(d.err, NULL);

	cr_assert(code == 0, "mplogd: exit status %d: %s", code, err);
	cr_assert(harness_count(err, strerror(ENOSPC)) == 1, "the error is reported %zu times: %s",
	    harness_count(err, strerror(ENOSPC)), err);
}

/*
 * A stale segment never blocks a new mplogd: mplogd is SIGKILLed, and a
 * new one on the same name with the same options gets ready and says in
 * its log that it took over; killed in turn, it is followed by one with
 * other options (--lanes 8), which gets ready on a segment of 8 lanes. A
 * producer started then is captured by it.
 */
Test(faults, stale_segment_never_blocks_a_new_mplogd, .timeout = TEST_TIMEOUT(60))
{
	struct harness_daemon d1, d2, d3;
	const char *const lanes8[] = { "--lanes", "8", NULL };
	struct fl_prod p;
	size_t n, notes;

	harness_daemon_start(&d1, "json", NULL);
	cr_assert(kill(d1.pid, SIGKILL) == 0);
	cr_assert(harness_wait(d1.pid, HARNESS_WAIT_MS) == 128 + SIGKILL);

	harness_daemon_start_on(&d2, d1.shm, "json", NULL);
	/* What it logs is buffered: let it write the note before killing it. */
	long long end = harness_now_ms() + FL_POLL_MS;

	while (!harness_contains(harness_read_file(d2.log, NULL), "}\n") && harness_now_ms() < end)
		harness_tick();
	cr_assert(kill(d2.pid, SIGKILL) == 0);
	cr_assert(harness_wait(d2.pid, HARNESS_WAIT_MS) == 128 + SIGKILL);
	struct harness_rec *recs = harness_json_load(d2.log, &n);

	cr_assert(n == 1 && strcmp(recs[0].source, "mplog") == 0 &&
	    harness_contains(recs[0].msg, "took over"),
	    "the second mplogd's log: %zu records, the first: %s", n, n > 0 ? recs[0].msg : "-");

	harness_daemon_start_on(&d3, d1.shm, "json", lanes8);
	char *st = fl_status(d1.shm);

	cr_assert(harness_contains(st, "\nlanes    0 of 8 in use,"), "not a segment of 8 lanes: %s", st);
	fl_spawn(&p, d3.shm, FL_THREADS, 1000);
	fl_finish(&p);
	cr_assert(p.code == 0, "the producer: exit status %d", p.code);
	cr_assert(harness_daemon_stop(&d3) == 0, "mplogd: %s", harness_read_file(d3.err, NULL));
	recs = harness_json_load(d3.log, &n);
	notes = fl_check(&p, 1, recs, n, 1, 0);
	cr_assert(notes <= 1, "the third mplogd wrote %zu notes", notes);
}
