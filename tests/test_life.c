/*
 * test_life.c - a program's life and death under the shim, end to end:
 * fork, vfork, exec, spawn, daemons, threads that exit or are cancelled,
 * signal handlers that write, every way a process ends, and the
 * program's own signal dispositions.
 *
 * Each test runs tests/hosts/life (and say) under the real mplogd of
 * $MPLOG_BUILD with a JSON log, and checks every record exactly once
 * with its pid, tid and process name. Who wrote what is derived from what
 * the hosts say about themselves (their stdout, or the pid a line names),
 * never from the log. Where the program's own behaviour matters (exit
 * status, core flag, what sigaction reports), the same host run without
 * the shim gives the expected value. Processes end on their own or are
 * waited for; nothing sleeps in place of an event.
 */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "harness.h"

TestSuite(life, .init = harness_setup, .fini = harness_teardown);

/* ---- running the host ---------------------------------------------------- */

/* Run "life ARGS" under mplogd (JSON, more mplogd options opts); the
 * result, with its log's path in *log. */
static struct harness_result
life_run(const char *const *opts, const char *const *args, char **log)
{
	return harness_run_host(0, "json", opts, "life", args, log);
}

/* Run "life ARGS" without the shim. */
static struct harness_result
life_plain(const char *const *args)
{
	char *argv[16];
	struct harness_result r;
	int n = 0;

	argv[n++] = harness_build("hosts/life");
	for (int i = 0; args[i] != NULL && n < 15; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	harness_run(argv, NULL, NULL, &r);
	return r;
}

/* The pid and tid a "PREFIX pid=P tid=T" line of out gives (the first
 * such line from *from on; *from moves past it). */
static void
life_ids_from(const char **from, const char *prefix, long *pid, long *tid)
{
	size_t len = strlen(prefix);

	for (const char *s = *from; *s != '\0';) {
		const char *nl = strchr(s, '\n');
		const char *after = nl != NULL ? nl + 1 : s + strlen(s);

		if (strncmp(s, prefix, len) == 0 &&
		    sscanf(s + len, " pid=%ld tid=%ld", pid, tid) == 2) {
			*from = after;
			return;
		}
		s = after;
	}
	cr_assert_fail("no \"%s pid=\" line in: %s", prefix, *from);
}

/* life's own pid and tid from its stdout; a FAIL line fails the test. */
static void
life_ids(const struct harness_result *r, long *pid, long *tid)
{
	const char *s = r->out;

	cr_assert(!harness_contains(r->out, "FAIL"), "life reports: %s", r->out);
	life_ids_from(&s, "life", pid, tid);
}

/* The number after "KEY=" in s, which must be there. */
static long
life_field(const char *s, const char *key)
{
	char *k = harness_fmt("%s=", key);
	const char *p = strstr(s, k);

	cr_assert(p != NULL, "no %s in: %s", k, s);
	return strtol(p + strlen(k), NULL, 10);
}

/* The number after "KEY=" in the first record of the log whose message
 * starts with prefix: a pid or tid the writer named itself. */
static long
life_named(const struct harness_rec *recs, size_t n, const char *prefix, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strncmp(recs[i].msg, prefix, strlen(prefix)) == 0)
			return life_field(recs[i].msg, key);
	cr_assert_fail("no record starts with \"%s\"", prefix);
	return -1;
}

/* Stdout without its first line (which names the pid). */
static const char *
life_rest(const struct harness_result *r)
{
	const char *nl = strchr(r->out, '\n');

	return nl != NULL ? nl + 1 : "";
}

/* ---- what the log must hold ------------------------------------------------ */

/* One expected record. severity NULL: a stderr line (info, ident null);
 * otherwise a syslog record of that severity with ident "life". */
struct life_want {
	long pid, tid;
	const char *proc;
	const char *severity;
	char *msg;
};

struct life_wants {
	struct life_want *w;
	size_t n, cap;
};

static void
life_want(struct life_wants *ws, long pid, long tid, const char *proc, const char *severity,
    char *msg)
{
	if (ws->n == ws->cap) {
		ws->cap = ws->cap != 0 ? 2 * ws->cap : 64;
		ws->w = realloc(ws->w, ws->cap * sizeof(*ws->w));
		cr_assert(ws->w != NULL, "out of memory");
	}
	ws->w[ws->n++] = (struct life_want){ pid, tid, proc, severity, msg };
}

/* One record against its expectation. */
static void
life_match(const struct harness_rec *r, const struct life_want *w)
{
	const char *sev = w->severity != NULL ? w->severity : "info";

	cr_assert(r->tid == w->tid && strcmp(r->proc, w->proc) == 0,
	    "log line %zu (%s): tid %ld proc %s, expected tid %ld proc %s", r->line, r->msg,
	    r->tid, r->proc, w->tid, w->proc);
	cr_assert(strcmp(r->source, w->severity != NULL ? "syslog" : "stderr") == 0 &&
	    strcmp(r->facility, "user") == 0 && strcmp(r->severity, sev) == 0,
	    "log line %zu (%s): %s %s %s", r->line, r->msg, r->source, r->facility,
	    r->severity);
	cr_assert(w->severity != NULL ? r->has_ident && strcmp(r->ident, "life") == 0 :
	    !r->has_ident, "log line %zu (%s): ident %s", r->line, r->msg,
	    r->has_ident ? r->ident : "null");
}

/*
 * The log holds exactly the wanted records, each once: those of one
 * thread in the order wanted, those of different threads in any order.
 */
static void
life_check(const struct harness_rec *recs, size_t n, const struct life_wants *ws)
{
	size_t *next = calloc(ws->n + 1, sizeof(*next));     /* per want: its writer */
	long pids[16], tids[16];
	size_t nw = 0, cursor[16];

	for (size_t k = 0; k < ws->n; k++) {
		size_t p;

		for (p = 0; p < nw && (pids[p] != ws->w[k].pid || tids[p] != ws->w[k].tid); p++)
			;
		if (p == nw) {
			cr_assert(nw < 16, "too many writers");
			pids[nw] = ws->w[k].pid;
			tids[nw] = ws->w[k].tid;
			cursor[nw++] = k;
		}
		next[k] = p;
	}
	for (size_t i = 0; i < n; i++) {
		size_t p, k;

		for (p = 0; p < nw && (pids[p] != recs[i].pid || tids[p] != recs[i].tid); p++)
			;
		cr_assert(p < nw, "log line %zu: pid %ld tid %ld wrote nothing expected: %s",
		    recs[i].line, recs[i].pid, recs[i].tid, recs[i].msg);
		k = cursor[p];
		cr_assert(k < ws->n, "log line %zu: pid %ld: one record too many: %s",
		    recs[i].line, recs[i].pid, recs[i].msg);
		cr_assert(strcmp(recs[i].msg, ws->w[k].msg) == 0,
		    "log line %zu: pid %ld: \"%s\", expected \"%s\"", recs[i].line, recs[i].pid,
		    recs[i].msg, ws->w[k].msg);
		life_match(&recs[i], &ws->w[k]);
		for (k++; k < ws->n && next[k] != p; k++)
			;
		cursor[p] = k;
	}
	for (size_t p = 0; p < nw; p++)
		cr_assert(cursor[p] == ws->n, "pid %ld tid %ld: missing \"%s\" (and what follows)",
		    pids[p], tids[p], cursor[p] < ws->n ? ws->w[cursor[p]].msg : "");
	free(next);
}

/* ---- fork, spawn, exec ---------------------------------------------------- */

/*
 * A process writes 5000 lines and forks (how: fork or _Fork) at once,
 * while most are still queued: the child's lines carry the child's pid,
 * and none of the parent's queued lines is delivered twice (the child
 * does not inherit them) or lost.
 */
static void
life_fork_check(const char *how)
{
	const char *args[] = { how, "5000", NULL };
	struct life_wants ws = { 0 };
	char *log;
	struct harness_result r = life_run(NULL, args, &log);
	const char *s = r.out;
	long pid, tid, child, ctid;
	size_t n;

	cr_assert(r.code == 0 && r.err_len == 0, "status %d, stderr %s", r.code, r.err);
	life_ids(&r, &pid, &tid);
	cr_assert(strstr(s, "life child pid=") != NULL, "no child pid in: %s", s);
	child = life_field(strstr(s, "life child pid="), "pid");
	ctid = child;
	for (int i = 0; i < 5000; i++)
		life_want(&ws, pid, tid, "life", NULL, harness_fmt("fork parent seq=%d", i));
	life_want(&ws, pid, tid, "life", NULL, "fork parent done");
	for (int i = 0; i < 5000; i++)
		life_want(&ws, child, ctid, "life", NULL, harness_fmt("fork child seq=%d", i));
	cr_assert(child != pid);
	struct harness_rec *recs = harness_json_load(log, &n);
	life_check(recs, n, &ws);
}

Test(life, forked_child_has_its_pid_and_repeats_none_of_the_parents_lines, .timeout = TEST_TIMEOUT(60))
{
	life_fork_check("fork");
}

/* The same with _Fork, which runs no atfork handler. */
Test(life, _Fork_child_has_its_pid_and_repeats_none_of_the_parents_lines, .timeout = TEST_TIMEOUT(60))
{
	life_fork_check("_Fork");
}

/*
 * A process runs say through vfork and execv, posix_spawn, and system
 * (/bin/sh): its lines before and after, and say's line with say's own
 * pid and name, each arrive once. The vfork child execs without waiting
 * on its parent's pipeline.
 */
Test(life, vfork_posix_spawn_and_system_deliver_the_lines_of_both_sides, .timeout = TEST_TIMEOUT(60))
{
	static const char *const hows[] = { "vfork", "posix_spawn", "system" };

	for (size_t h = 0; h < 3; h++) {
		char *text = harness_fmt("started by %s", hows[h]);
		const char *args[] = { "spawn", hows[h], harness_build("hosts/say"),
		    harness_fmt("w:%s\\n", text), NULL };
		struct life_wants ws = { 0 };
		char *log;
		struct harness_result r = life_run(NULL, args, &log);
		const char *s = r.out;
		long pid, tid, say, saytid;
		size_t n;

		cr_assert(r.code == 0 && r.err_len == 0, "%s: status %d, stderr %s", hows[h],
		    r.code, r.err);
		life_ids(&r, &pid, &tid);
		life_ids_from(&s, "say", &say, &saytid);
		life_want(&ws, pid, tid, "life", NULL, harness_fmt("spawn %s before", hows[h]));
		life_want(&ws, say, saytid, "say", NULL, text);
		life_want(&ws, pid, tid, "life", NULL, harness_fmt("spawn %s after status=0",
		    hows[h]));
		struct harness_rec *recs = harness_json_load(log, &n);
		life_check(recs, n, &ws);
	}
}

/*
 * An exec chain: each image writes a line and at once replaces itself,
 * 18 times, through each of execv, execve, execvp, execvpe, execl,
 * execle, execlp, fexecve and execveat twice (each first called on a
 * missing file, which must fail as without the shim), and the last
 * execs say. Every line arrives, in order, with the one pid and the name
 * of the image that wrote it. Five runs: a line that survives only by
 * luck of timing fails too.
 */
Test(life, exec_chain_through_every_exec_call_delivers_each_images_line_in_order,
    .timeout = TEST_TIMEOUT(120))
{
	static const char *const calls[] = { "execv", "execve", "execvp", "execvpe", "execl",
	    "execle", "execlp", "fexecve", "execveat" };
	const char *args[] = { "chain", "18", harness_build("hosts/say"), "w:chain end\\n",
	    NULL };

	for (int run = 0; run < 5; run++) {
		struct life_wants ws = { 0 };
		char *log;
		struct harness_result r = life_run(NULL, args, &log);
		long pid, tid;
		size_t n;

		cr_assert(r.code == 0 && r.err_len == 0, "status %d, stderr %s", r.code, r.err);
		life_ids(&r, &pid, &tid);
		cr_assert_eq(harness_count_lines(r.out, "life pid="), 19, "%s", r.out);
		for (int k = 18; k > 0; k--)
			life_want(&ws, pid, tid, "life", NULL,
			    harness_fmt("chain step=%d via=%s", k, calls[k % 9]));
		life_want(&ws, pid, tid, "life", NULL, "chain step=0 via=execv");
		life_want(&ws, pid, tid, "say", NULL, "chain end");
		struct harness_rec *recs = harness_json_load(log, &n);
		life_check(recs, n, &ws);
	}
}

/* ---- daemons ---------------------------------------------------------------- */


/*
 * daemon(3): a child that writes a line and calls daemon, whose parent
 * half ends in glibc's internal _exit, and the daemon, which sends syslog
 * records and writes to stderr (by then /dev/null, or still stderr with
 * noclose). Every line arrives once with the pid of the process that
 * wrote it (the pid it names itself); lines sent to /dev/null do not.
 */
Test(life, daemon3_lines_arrive_with_the_daemons_own_pid, .timeout = TEST_TIMEOUT(60))
{
	for (int noclose = 0; noclose < 2; noclose++) {
		const char *args[] = { "daemon3", noclose ? "1" : "0", "5", NULL };
		struct life_wants ws = { 0 };
		char *log;
		struct harness_result r = life_run(NULL, args, &log);
		long pid, tid, launcher, dpid;
		size_t n;

		cr_assert(r.code == 0 && r.err_len == 0, "status %d, stderr %s", r.code, r.err);
		life_ids(&r, &pid, &tid);
		struct harness_rec *recs = harness_json_load(log, &n);
		launcher = life_named(recs, n, "daemon3 launcher", "pid");
		dpid = life_named(recs, n, "daemon3 pid=", "pid");
		cr_assert(launcher != pid && dpid != pid && dpid != launcher,
		    "pids %ld %ld %ld", pid, launcher, dpid);
		life_want(&ws, pid, tid, "life", NULL, "daemon3 main before");
		life_want(&ws, launcher, launcher, "life", NULL,
		    harness_fmt("daemon3 launcher pid=%ld", launcher));
		for (int s = 0; s < 5; s++) {
			life_want(&ws, dpid, dpid, "life", "notice",
			    harness_fmt("daemon3 pid=%ld seq=%d", dpid, s));
			if (noclose)
				life_want(&ws, dpid, dpid, "life", NULL,
				    harness_fmt("daemon3 stderr pid=%ld seq=%d", dpid, s));
		}
		life_want(&ws, pid, tid, "life", NULL, "daemon3 main after");
		life_check(recs, n, &ws);
	}
}

/*
 * A hand-made daemon: fork, setsid, fork; it closes every descriptor
 * (closefrom, close_range, or close in a loop), reopens stdin on
 * /dev/null and stdout and stderr on a file, and keeps writing to stderr
 * (write and fprintf) and calling syslog. Its syslog records arrive once
 * with its own pid; its stderr lines are in the file it chose, in order,
 * and not in the log. A daemon whose stderr is /dev/null too.
 */
Test(life, hand_made_daemon_that_closes_everything_keeps_its_lines, .timeout = TEST_TIMEOUT(60))
{
	static const char *const hows[] = { "closefrom", "close_range", "loop", "loop" };

	for (size_t h = 0; h < 4; h++) {
		char *file = h < 3 ? harness_file(harness_fmt("daemon2-%zu.txt", h)) : "/dev/null";
		const char *args[] = { "daemon2", hows[h], file, "4", NULL };
		struct life_wants ws = { 0 };
		char *log, *want = harness_fmt("%s", "");
		struct harness_result r = life_run(NULL, args, &log);
		long pid, tid, dpid;
		size_t n, len;

		cr_assert(r.code == 0 && r.err_len == 0, "%s: status %d, stderr %s", hows[h],
		    r.code, r.err);
		life_ids(&r, &pid, &tid);
		struct harness_rec *recs = harness_json_load(log, &n);
		dpid = life_named(recs, n, "daemon2 pid=", "pid");
		cr_assert(dpid != pid, "daemon pid %ld", dpid);
		life_want(&ws, pid, tid, "life", NULL, "daemon2 main before");
		for (int s = 0; s < 4; s++) {
			life_want(&ws, dpid, dpid, "life", "warning",
			    harness_fmt("daemon2 pid=%ld seq=%d", dpid, s));
			want = harness_fmt("%sdaemon2 stderr pid=%ld seq=%d\n"
			    "daemon2 stdio pid=%ld seq=%d\n", want, dpid, s, dpid, s);
		}
		life_want(&ws, pid, tid, "life", NULL, "daemon2 main after");
		life_check(recs, n, &ws);
		if (h < 3)
			cr_assert_str_eq(harness_read_file(file, &len), want, "%s: %s", hows[h], file);
	}
}

/* ---- threads ------------------------------------------------------------------ */

/* The via of line seq of thread t, as life cycles them. */
static const char *
life_via(long t, long seq)
{
	static const char *const vias[] = { "write", "fprintf", "syslog" };

	return vias[(t + seq) % 3];
}

/* Counts of one kind of thread line ("thr", "steady", "victim"). */
struct life_threads {
	long threads, first;    /* thread numbers first .. first+threads-1 */
	long *last;             /* per thread: last seq seen, -1 */
	long *count;
};

/*
 * Check one record that is a thread line of kind (returns 0 when it is
 * not one): its tid is the one the line names, its pid the process's,
 * its source and severity the via's, its seq the next of its thread.
 */
static int
life_thread_rec(const struct harness_rec *r, const char *kind, struct life_threads *th,
    long pid)
{
	size_t len = strlen(kind);
	char via[16];
	long t, tid, seq;

	if (strncmp(r->msg, kind, len) != 0 ||
	    sscanf(r->msg + len, " t=%ld tid=%ld seq=%ld via=%15s", &t, &tid, &seq, via) != 4)
		return 0;
	cr_assert(t >= th->first && t < th->first + th->threads, "log line %zu: %s", r->line,
	    r->msg);
	t -= th->first;
	cr_assert(strcmp(via, life_via(t + th->first, seq)) == 0 && r->pid == pid &&
	    r->tid == tid && strcmp(r->proc, "life") == 0,
	    "log line %zu: %s from pid %ld tid %ld proc %s", r->line, r->msg, r->pid, r->tid,
	    r->proc);
	cr_assert(strcmp(r->source, strcmp(via, "syslog") == 0 ? "syslog" : "stderr") == 0 &&
	    strcmp(r->severity, strcmp(via, "syslog") == 0 ? "notice" : "info") == 0,
	    "log line %zu: %s is %s %s", r->line, r->msg, r->source, r->severity);
	cr_assert(seq == th->last[t] + 1, "log line %zu: %s follows seq %ld of its thread",
	    r->line, r->msg, th->last[t]);
	th->last[t] = seq;
	th->count[t]++;
	return 1;
}

static void
life_threads_init(struct life_threads *th, long threads, long first)
{
	th->threads = threads;
	th->first = first;
	th->last = malloc((size_t)threads * sizeof(long));
	th->count = calloc((size_t)threads, sizeof(long));
	for (long t = 0; t < threads; t++)
		th->last[t] = -1;
}

/*
 * 64 threads start together and write 500 lines each, mixing write(2),
 * fprintf(stderr) and syslog: every line arrives once, in its thread's
 * order, with that thread's tid.
 */
Test(life, sixty_four_threads_mixing_write_fprintf_syslog_arrive_once_in_order,
    .timeout = TEST_TIMEOUT(60))
{
	const char *args[] = { "threads", "64", "500", NULL };
	struct life_threads th;
	char *log;
	struct harness_result r = life_run(NULL, args, &log);
	long pid, tid;
	size_t n;

	cr_assert(r.code == 0 && r.err_len == 0, "status %d, stderr %.300s", r.code, r.err);
	life_ids(&r, &pid, &tid);
	cr_assert(harness_contains(r.out, "life threads done"), "%s", r.out);
	life_threads_init(&th, 64, 0);
	struct harness_rec *recs = harness_json_load(log, &n);
	for (size_t i = 0; i < n; i++)
		cr_assert(life_thread_rec(&recs[i], "thr", &th, pid), "log line %zu: %s",
		    recs[i].line, recs[i].msg);
	for (long t = 0; t < 64; t++)
		cr_assert_eq(th.count[t], 500, "thread %ld: %ld lines", t, th.count[t]);
}

/*
 * 8 threads write 300 lines and end (half return, half pthread_exit)
 * while 8 others write until they are cancelled (deferred) between or
 * inside hooked calls. The process exits normally, every line of the
 * steady threads arrives once in order, and each victim's lines are
 * exactly those whose call returned (D of them), plus at most the one it
 * was cancelled in. mode is MPLOG_STDERR's.
 */
static void
life_cancel_run(const char *mode)
{
	const char *opts[] = { "--stderr", mode, NULL };
	const char *args[] = { "cancel", "8", "300", NULL };
	struct life_threads steady, victim;
	char *log;
	struct harness_result r = life_run(opts, args, &log);
	long pid, tid;
	size_t n;

	cr_assert(r.code == 0, "status %d, stderr %.300s", r.code, r.err);
	life_ids(&r, &pid, &tid);
	cr_assert(harness_contains(r.out, "life cancel ok"), "%s", r.out);
	life_threads_init(&steady, 8, 0);
	life_threads_init(&victim, 8, 8);
	struct harness_rec *recs = harness_json_load(log, &n);
	for (size_t i = 0; i < n; i++)
		cr_assert(life_thread_rec(&recs[i], "steady", &steady, pid) ||
		    life_thread_rec(&recs[i], "victim", &victim, pid),
		    "log line %zu: %s", recs[i].line, recs[i].msg);
	for (long t = 0; t < 8; t++) {
		long done = life_field(strstr(r.out, harness_fmt("victim t=%ld ", t + 8)), "done");

		cr_assert_eq(steady.count[t], 300, "steady %ld: %ld lines", t, steady.count[t]);
		cr_assert(done >= 20 && (victim.count[t] == done || victim.count[t] == done + 1),
		    "victim %ld: %ld lines in the log, %ld calls returned", t + 8,
		    victim.count[t], done);
	}
}

Test(life, cancelled_threads_lose_no_other_line_and_the_process_exits, .timeout = TEST_TIMEOUT(60))
{
	life_cancel_run("capture");
}

/*
 * The same in tee mode, where every captured stderr line is also
 * written to the real stderr, so fprintf's hook makes a cancellation
 * point while it holds stderr's lock: the lock is released as the thread
 * unwinds, and later calls on stderr go on.
 */
Test(life, cancelled_threads_in_tee_mode_leave_stderr_usable, .timeout = TEST_TIMEOUT(60))
{
	life_cancel_run("tee");
}

/* ---- signal handlers that write -------------------------------------------- */

/*
 * write(2) from a timer's handler that interrupts the same thread inside
 * the hook of fprintf (which holds stderr's lock), syslog and write: no
 * deadlock, every line of both kinds arrives exactly once - in the log,
 * or where the shim had to write a handler's line through, on the real
 * stderr - each kind in order in the log, with the one tid.
 */
Test(life, write_from_a_handler_interrupting_fprintf_syslog_write_arrives_once,
    .timeout = TEST_TIMEOUT(120))
{
	static const char *const vias[] = { "fprintf", "syslog", "write" };

	for (size_t v = 0; v < 3; v++) {
		const char *args[] = { "sigwrite", vias[v], "30000", "20", NULL };
		char *log;
		struct harness_result r = life_run(NULL, args, &log);
		long pid, tid, total[2] = { 30000, 0 }, count[2] = { 0, 0 }, last[2] = { -1, -1 };
		size_t n;

		cr_assert(r.code == 0, "%s: status %d", vias[v], r.code);
		life_ids(&r, &pid, &tid);
		total[1] = life_field(r.out, "signals");
		cr_assert(total[1] > 0, "%s: no signal arrived", vias[v]);
		unsigned char *seen[2] = { calloc((size_t)total[0], 1), calloc((size_t)total[1], 1) };
		struct harness_rec *recs = harness_json_load(log, &n);

		for (size_t i = 0; i < n; i++) {
			char who[8];
			long seq;
			int k;

			cr_assert(sscanf(recs[i].msg, "sigwrite %7s seq=%ld", who, &seq) == 2,
			    "log line %zu: %s", recs[i].line, recs[i].msg);
			k = strcmp(who, "sig") == 0;
			cr_assert(seq >= 0 && seq < total[k] && !seen[k][seq] && seq > last[k],
			    "%s: log line %zu: repeated, out of order or out of range: %s",
			    vias[v], recs[i].line, recs[i].msg);
			cr_assert(recs[i].pid == pid && recs[i].tid == tid &&
			    strcmp(recs[i].source, k == 0 && v == 1 ? "syslog" : "stderr") == 0,
			    "%s: log line %zu: %ld/%ld %s", vias[v], recs[i].line, recs[i].pid,
			    recs[i].tid, recs[i].source);
			seen[k][seq] = 1;
			last[k] = seq;
			count[k]++;
		}
		for (const char *s = r.err; *s != '\0';) {
			const char *nl = strchr(s, '\n');
			char who[8];
			long seq;
			int k;

			cr_assert(nl != NULL && sscanf(s, "sigwrite %7s seq=%ld", who, &seq) == 2,
			    "real stderr: %.80s", s);
			k = strcmp(who, "sig") == 0;
			cr_assert(seq >= 0 && seq < total[k] && !seen[k][seq],
			    "real stderr: repeated or out of range: %.*s", (int)(nl - s), s);
			seen[k][seq] = 1;
			count[k]++;
			s = nl + 1;
		}
		cr_assert(count[0] == total[0] && count[1] == total[1],
		    "%s: %ld of %ld main lines, %ld of %ld handler lines", vias[v], count[0],
		    total[0], count[1], total[1]);
	}
}

/* ---- how a process ends ---------------------------------------------------- */

/*
 * "life core DIR LIMIT end HOW": the inner process's wait status as the
 * wrapper printed it ("exited=.. code=.. signaled=.. sig=.. core=.."),
 * and its pid and tid.
 */
static char *
life_end_status(const struct harness_result *r, long *pid, long *tid)
{
	const char *s = r->out, *st = strstr(r->out, "life status pid=");
	long outer, outer_tid;

	cr_assert(!harness_contains(r->out, "FAIL"), "life reports: %s", r->out);
	cr_assert(st != NULL, "no status line in: %s", r->out);
	life_ids_from(&s, "life", &outer, &outer_tid);
	life_ids_from(&s, "life", pid, tid);
	cr_assert_eq(life_field(st, "pid"), *pid, "%s", r->out);
	st = strstr(st, "exited=");
	return harness_fmt("%.*s", (int)strcspn(st, "\n"), st);
}

/* The number of threads of life's "end how" that write a line of their
 * own before they fault. */
static int
life_faulting_threads(const char *how)
{
	return strcmp(how, "thread-segv") == 0 ? 1 : strcmp(how, "threads-segv") == 0 ? 4 : 0;
}

/* 1 when life's "end how" ends by a call to exit, _exit or _Exit; every
 * other way ends by a signal. */
static int
life_ends_by_exit(const char *how)
{
	return strcmp(how, "exit") == 0 || strcmp(how, "_exit") == 0 ||
	    strcmp(how, "_Exit") == 0;
}

/*
 * The host writes a stderr line, a crit syslog line and another stderr
 * line (which nothing waits for) and then ends by how, with RLIMIT_CORE limit, in a scratch folder (the core pattern may
 * write "core" there). The wait status - code or signal, and the core
 * flag - is the one a plain run gives. Under mplogd, runs times, both
 * lines arrive once with the pid and tid of the process that ended
 * (exactly when sure, at most once otherwise: a stack overflow without
 * an alternate stack kills before any handler can run).
 */
static void
life_end_check(const char *how, const char *limit, int runs, int sure)
{
	char *dir = harness_file(harness_fmt("plain-%s-%s", how, limit));
	const char *plain_args[] = { "core", dir, limit, "end", how, NULL };
	long pid, tid;

	cr_assert(mkdir(dir, 0700) == 0);
	struct harness_result p = life_plain(plain_args);
	char *want = life_end_status(&p, &pid, &tid);

	cr_assert(p.code == 0, "%s: plain wrapper status %d", how, p.code);
	cr_assert(harness_contains(want, "signaled=1") == !life_ends_by_exit(how),
	    "%s: the plain run did not end as the test means it to: %s", how, want);
	for (int run = 0; run < runs; run++) {
		char *d = harness_file(harness_fmt("shim-%s-%s-%d", how, limit, run)), *log;
		const char *args[] = { "core", d, limit, "end", how, NULL };
		struct life_wants ws = { 0 };
		size_t n;

		cr_assert(mkdir(d, 0700) == 0);
		struct harness_result r = life_run(NULL, args, &log);
		char *got = life_end_status(&r, &pid, &tid);

		cr_assert(r.code == 0, "%s: wrapper status %d", how, r.code);
		cr_assert_str_eq(got, want, "%s, core limit %s: status under mplog differs",
		    how, limit);
		struct harness_rec *recs = harness_json_load(log, &n);
		life_want(&ws, pid, tid, "life", NULL, harness_fmt("end %s stderr", how));
		life_want(&ws, pid, tid, "life", "crit", harness_fmt("end %s syslog", how));
		life_want(&ws, pid, tid, "life", NULL, harness_fmt("end %s last", how));
		if (strncmp(how, "blocked:", 8) == 0)
			life_want(&ws, pid, tid, "life", NULL, harness_fmt("end %s pending", how));
		for (int t = 0; t < life_faulting_threads(how); t++) {
			char *prefix = strcmp(how, "thread-segv") == 0 ? "end thread-segv tid=" :
			    harness_fmt("end %s t=%d tid=", how, t);
			long ftid = life_named(recs, n, prefix, "tid");

			cr_assert(ftid != tid, "the faulting thread's tid %ld", ftid);
			life_want(&ws, pid, ftid, "life", NULL, harness_fmt("%s%ld", prefix, ftid));
		}
		if (!sure) {
			cr_assert(n <= ws.n, "%s: %zu records", how, n);
			ws.n = n;       /* those that made it, in order */
		}
		life_check(recs, n, &ws);
	}
}

/* exit(3), _exit(2) and _Exit(2) right after a line. */
Test(life, lines_before_exit__exit__Exit_arrive_and_the_status_is_kept, .timeout = TEST_TIMEOUT(60))
{
	life_end_check("exit", "0", 3, 1);
	life_end_check("_exit", "0", 3, 1);
	life_end_check("_Exit", "0", 3, 1);
}

/* abort(3), also with a SIGABRT handler that returns and with SIGABRT
 * ignored (abort gets past both). */
Test(life, lines_before_abort_arrive_and_the_signal_and_core_flag_are_kept, .timeout = TEST_TIMEOUT(60))
{
	life_end_check("abort", "max", 5, 1);
	life_end_check("abort", "0", 2, 1);
	life_end_check("abortown", "max", 3, 1);
	life_end_check("abortign", "max", 3, 1);
}

/* Faults of a real instruction: SIGSEGV, SIGBUS, SIGILL, in a second
 * thread, and in four threads at once. */
Test(life, lines_before_a_real_fault_arrive_and_the_signal_and_core_flag_are_kept,
    .timeout = TEST_TIMEOUT(120))
{
	life_end_check("segv", "max", 5, 1);
	life_end_check("segv", "0", 2, 1);
	life_end_check("bus", "max", 3, 1);
	life_end_check("ill", "max", 3, 1);
	life_end_check("thread-segv", "max", 3, 1);
	life_end_check("threads-segv", "max", 3, 1);
}

/* SIGFPE of a real integer division by zero (on its own: the UBSan build
 * reports the division, which is undefined behaviour, instead). */
Test(life, lines_before_a_division_by_zero_arrive_and_the_signal_and_core_flag_are_kept,
    .timeout = TEST_TIMEOUT(60))
{
	life_end_check("fpe", "max", 3, 1);
}

/* Signals that do not come back by themselves: a breakpoint's SIGTRAP,
 * seccomp's SIGSYS, and fatal signals sent with raise. */
Test(life, lines_before_a_trap_seccomp_or_raised_signal_arrive_with_the_status_kept,
    .timeout = TEST_TIMEOUT(120))
{
	life_end_check("trap", "max", 3, 1);
	life_end_check("sys", "max", 3, 1);
	life_end_check("raise:11", "max", 3, 1);
	life_end_check("raise:7", "0", 2, 1);
}

/*
 * A process that sends itself a signal whose default action ends it, by
 * every call that can: its last lines arrive, and the status and core
 * flag are those of a plain run (SIGQUIT dumps core, SIGTERM does not).
 */
Test(life, lines_before_a_signal_the_process_sends_itself_arrive_with_the_status_kept,
    .timeout = TEST_TIMEOUT(180))
{
	static const char *const ways[] = {
		"raise:15", "kill:2", "tgkill:1", "tkill:10", "pthread_kill:12", "sigqueue:14",
		"killpg:15", "blocked:15", "kill:3", "raise:R1", "kill:R5",
	};

	for (size_t i = 0; i < sizeof(ways) / sizeof(ways[0]); i++)
		life_end_check(ways[i], "max", 3, 1);
	life_end_check("kill:3", "0", 2, 1);
}

/* Signals the kernel sends: SIGPIPE from a write to a pipe nobody reads,
 * SIGALRM, SIGVTALRM and SIGPROF from interval timers, SIGXFSZ and
 * SIGXCPU from resource limits. */
Test(life, lines_before_a_signal_the_kernel_sends_arrive_with_the_status_kept,
    .timeout = TEST_TIMEOUT(180))
{
	static const char *const ways[] = { "pipe", "alarm", "vtalrm", "prof", "xfsz" };

	for (size_t i = 0; i < sizeof(ways) / sizeof(ways[0]); i++)
		life_end_check(ways[i], "0", 3, 1);
	life_end_check("xcpu", "0", 1, 1);      /* a second of CPU each run */
}

/* glibc's own abort, from malloc's double-free check (its message is
 * written with a raw system call to the real stderr in both runs). */
Test(life, lines_before_glibcs_double_free_abort_arrive, .timeout = TEST_TIMEOUT(60))
{
	const char *args[] = { "end", "doublefree", NULL };
	struct harness_result p = life_plain(args);

	cr_assert(harness_contains(p.err, "double free detected"), "plain: %s", p.err);
	life_end_check("doublefree", "max", 5, 1);
}

/* Stack overflow: with an alternate signal stack the handler runs there
 * and the lines arrive; without one the kernel kills at once, the status
 * is the same and nothing is delivered twice. */
Test(life, stack_overflow_keeps_its_status_and_with_an_alternate_stack_its_lines,
    .timeout = TEST_TIMEOUT(120))
{
	life_end_check("stackalt", "0", 3, 1);
	life_end_check("stack", "0", 3, 0);
}

#define LIFE_BURST_BEFORE 2000   /* lines written before the kill */

/*
 * A process killed from outside in the middle of a burst of lines: it
 * writes "burst seq=S" for ever and counts in a shared file the lines
 * whose write has returned; once there are LIFE_BURST_BEFORE, the test
 * reads the count and sends SIGTERM (then, in a second run, SIGINT).
 * Every line counted before the signal was sent is in the log, once and
 * in order, and nothing after a gap; the status is the signal's.
 */
static void
life_burst_kill(int sig)
{
	char *file = harness_file(harness_fmt("burst-%d", sig)), *log = harness_file(
	    harness_fmt("burst-%d.json", sig)), *argv[24];
	int n = 0, fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0600), code;
	_Atomic int64_t *shared;
	long long until = harness_now_ms() + TEST_TIMEOUT(30) * 1000LL;
	int64_t counted;
	size_t nrec;

	cr_assert(fd != -1 && ftruncate(fd, 16) == 0);
	shared = mmap(NULL, 16, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	cr_assert(shared != MAP_FAILED);
	harness_mplog_argv(argv, &n, 0, "json", log, NULL);
	argv[n++] = harness_build("hosts/life");
	argv[n++] = "burst";
	argv[n++] = file;
	argv[n] = NULL;
	pid_t mplogd = harness_spawn(argv, harness_env(NULL), NULL);
	/* Acquire pairs with the host's release after each write. */
	while (atomic_load_explicit(&shared[1], memory_order_acquire) < LIFE_BURST_BEFORE) {
		cr_assert(harness_now_ms() < until, "the host wrote %lld lines",
		    (long long)atomic_load_explicit(&shared[1], memory_order_relaxed));
		harness_tick();
	}
	counted = atomic_load_explicit(&shared[1], memory_order_acquire);
	cr_assert(kill((pid_t)atomic_load_explicit(&shared[0], memory_order_relaxed), sig) == 0);
	code = harness_wait(mplogd, 30000);
	cr_assert_eq(code, 128 + sig, "mplogd's status %d", code);
	struct harness_rec *recs = harness_json_load(log, &nrec);
	cr_assert(nrec >= (size_t)counted, "%zu records, %lld lines written before the signal",
	    nrec, (long long)counted);
	for (size_t i = 0; i < nrec; i++) {
		char want[64];

		snprintf(want, sizeof(want), "burst seq=%zu", i);
		cr_assert_str_eq(recs[i].msg, want, "record %zu of %zu", i, nrec);
	}
}

Test(life, lines_before_a_kill_from_outside_mid_burst_all_arrive, .timeout = TEST_TIMEOUT(120))
{
	life_burst_kill(SIGTERM);
	life_burst_kill(SIGINT);
}

/* The SigCgt bits of sigs (0-ended). */
static unsigned long long
life_mask(const int *sigs)
{
	unsigned long long m = 0;

	for (; *sigs != 0; sigs++)
		m |= 1ull << (*sigs - 1);
	return m;
}

/*
 * A process that never logs pays nothing: under mplogd, until its first
 * line it has one thread, maps no mplog segment, and catches only the
 * faults and SIGABRT (for the guard and the flush); after it, the
 * pipeline thread runs, the segment is mapped, and the signals that end
 * a process without a fault are caught too.
 */
Test(life, a_process_maps_starts_and_catches_nothing_more_until_its_first_line,
    .timeout = TEST_TIMEOUT(60))
{
	static const int faults[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS,
	    0 };
	static const int ends[] = { SIGHUP, SIGINT, SIGQUIT, SIGPIPE, SIGALRM, SIGTERM, SIGUSR1,
	    SIGUSR2, SIGXCPU, SIGXFSZ, 0 };
	const char *args[] = { "quiet", NULL };
	char *log;
	struct harness_result r = life_run(NULL, args, &log);
	unsigned long long before, after;
	int t0, t1, m0, m1;
	const char *q = strstr(r.out, "quiet threads="), *l = strstr(r.out, "logged threads=");

	cr_assert(r.code == 0 && q != NULL && l != NULL, "status %d: %s", r.code, r.out);
	cr_assert(sscanf(q, "quiet threads=%d shm=%d sigcgt=%llx", &t0, &m0, &before) == 3 &&
	    sscanf(l, "logged threads=%d shm=%d sigcgt=%llx", &t1, &m1, &after) == 3, "%s",
	    r.out);
	cr_assert(t0 == 1 && m0 == 0, "before the first line: %d threads, %d mappings", t0, m0);
	cr_assert_eq(before, life_mask(faults), "caught before the first line: %llx", before);
	cr_assert(t1 == 2 && m1 > 0, "after it: %d threads, %d mappings", t1, m1);
	cr_assert_eq(after & life_mask(ends), life_mask(ends), "caught after it: %llx", after);
}

/* ---- the program's own dispositions ---------------------------------------- */

/*
 * A program with its own SIGSEGV handler: sigaction reports what it set
 * at every step, as without the shim; its handler runs on a real fault
 * (and jumps back); and its lines, the handler's included, arrive once.
 */
Test(life, own_sigsegv_handler_runs_and_sigaction_reports_it_unchanged, .timeout = TEST_TIMEOUT(60))
{
	const char *args[] = { "own", NULL };
	struct harness_result p = life_plain(args);
	struct life_wants ws = { 0 };
	char *log;
	struct harness_result r = life_run(NULL, args, &log);
	long pid, tid;
	size_t n;

	cr_assert(p.code == 0 && r.code == 0, "status %d plain, %d under mplog", p.code,
	    r.code);
	life_ids(&p, &pid, &tid);
	life_ids(&r, &pid, &tid);
	cr_assert_str_eq(life_rest(&r), life_rest(&p), "what the program saw differs");
	cr_assert(harness_contains(p.err, "own handler si_code=1"), "plain: %s", p.err);
	life_want(&ws, pid, tid, "life", NULL, "own before fault");
	life_want(&ws, pid, tid, "life", NULL, "own handler si_code=1");
	life_want(&ws, pid, tid, "life", NULL, "own after fault");
	struct harness_rec *recs = harness_json_load(log, &n);
	life_check(recs, n, &ws);
}

/*
 * Setting SIG_IGN, SIG_DFL and a handler back and forth on watched
 * signals of both classes (faults, and those that end a process without
 * one, real-time ones included) and on two that are not watched (SIGCHLD,
 * SIGURG), after a first line has armed them all, with sigaction,
 * signal, ssignal, bsd_signal, sysv_signal, __sysv_signal, sigset and
 * siginterrupt: every old handler,
 * flag, mask and errno the program sees is what it sees without the shim.
 */
Test(life, dispositions_set_back_and_forth_read_as_without_the_shim, .timeout = TEST_TIMEOUT(60))
{
	const char *args[] = { "dispositions", NULL };
	struct harness_result p = life_plain(args);
	char *log;
	struct harness_result r = life_run(NULL, args, &log);
	long pid, tid;
	size_t n;

	cr_assert(p.code == 0 && r.code == 0, "status %d plain, %d under mplog", p.code,
	    r.code);
	life_ids(&p, &pid, &tid);
	life_ids(&r, &pid, &tid);
	cr_assert_str_eq(life_rest(&r), life_rest(&p), "what the program saw differs");
	struct harness_rec *recs = harness_json_load(log, &n);
	cr_assert(n == 1 && strcmp(recs[0].msg, "dispositions start") == 0, "%zu records", n);
}

/*
 * Signals ignored when the program starts stay ignored: sigaction
 * reports SIG_IGN, /proc shows them ignored, and raising them does
 * nothing - as without the shim. The program runs attached to a
 * standalone mplogd, so that nothing but the shim stands between it and
 * the dispositions it inherits.
 */
Test(life, fatal_signals_ignored_at_start_stay_ignored, .timeout = TEST_TIMEOUT(60))
{
	static const int sigs[] = { SIGBUS, SIGFPE, SIGTRAP, SIGSYS, SIGINT, SIGTERM, SIGHUP };
	const char *args[] = { "ignored", NULL };
	char *argv[] = { harness_build("hosts/life"), "ignored", NULL };
	unsigned long long mask = 0, got;
	struct harness_daemon d;
	struct harness_result r;
	long pid, tid;

	harness_daemon_start(&d, "json", NULL);        /* before: it keeps ignored ones */
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		signal(sigs[i], SIG_IGN);
		mask |= 1ull << (sigs[i] - 1);
	}
	struct harness_result p = life_plain(args);

	harness_run(argv, harness_env(harness_fmt("LD_PRELOAD=%s", harness_shim()),
	    harness_fmt("MPLOG_SHM=%s", d.shm), NULL), NULL, &r);
	cr_assert(harness_daemon_stop(&d) == 0);
	cr_assert(p.code == 0 && r.code == 0, "status %d plain, %d under mplog", p.code,
	    r.code);
	life_ids(&p, &pid, &tid);
	life_ids(&r, &pid, &tid);
	cr_assert_str_eq(life_rest(&r), life_rest(&p), "what the program saw differs");
	cr_assert(sscanf(strstr(r.out, "SigIgn:"), "SigIgn: %llx", &got) == 1, "%s", r.out);
	cr_assert_eq(got & mask, mask, "SigIgn %llx", got);
	cr_assert(harness_contains(r.out, "survived"), "%s", r.out);
}
