/*
 * test_promises.c - what the README and the man pages promise, each
 * checked as a user would meet it: the waits of MPLOG_WFC and
 * MPLOG_WFC_POINT, the bounds of a full queue and of a stopped mplogd,
 * MPLOG_NAME, MPLOG_DEBUG, descriptors from 1024 on, the _IO_ names, and
 * mplog-run's exit bound.
 *
 * Bounds are measured from the program's own clock (tests/hosts/say's
 * "m:" prints CLOCK_MONOTONIC, which every process shares) at the point
 * the promise starts, never from before a program starts, and asserted
 * with the margin PROMISE_SLACK_MS that a loaded machine and a sanitizer
 * build still meet.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "timeout.h"

#define PROMISE_SLACK_MS  (1500 * TEST_SLOW)   /* on top of a promised bound */
#define PROMISE_LINE_MS   20000                /* one line from a host */
#define PROMISE_RUN_MS    30000                /* one host's run */
#define PROMISE_QUICK_MS  (500 * TEST_SLOW)    /* a call that must not wait */

TestSuite(promises, .init = harness_setup, .fini = harness_teardown);

/* CLOCK_MONOTONIC now, in nanoseconds: the clock say's "m:" prints. */
static long long
promise_mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* A say run whose stdout the test reads line by line. */
struct promise_host {
	pid_t pid;
	int out;                /* its stdout */
	char *err;              /* file holding its stderr */
};

/* Start say with the directives args (NULL-ended) and the environment
 * words env_words (NULL-ended), attached to d's mplogd. */
static void
promise_start(struct promise_host *h, struct harness_daemon *d, const char *const *env_words,
    const char *const *args)
{
	static int serial;
	char *argv[64], *env[8] = { 0 };
	int n = 0, e = 0, out[2];

	argv[n++] = harness_build("hosts/say");
	for (; args[n - 1] != NULL; n++)
		argv[n] = (char *)args[n - 1];
	argv[n] = NULL;
	env[e++] = harness_fmt("LD_PRELOAD=%s", harness_shim());
	env[e++] = harness_fmt("MPLOG_SHM=%s", d->shm);
	for (; env_words != NULL && env_words[e - 2] != NULL; e++)
		env[e] = (char *)env_words[e - 2];
	env[e] = NULL;
	cr_assert(pipe(out) == 0);
	h->err = harness_file(harness_fmt("say-%d.err", serial++));
	int errfd = open(h->err, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
	cr_assert(errfd != -1);
	struct harness_io io = { -1, out[1], errfd, -1, -1 };
	h->pid = harness_spawn(argv, harness_env(env[0], env[1], env[2], env[3], env[4],
	    env[5], env[6], NULL), &io);
	close(out[1]);
	close(errfd);
	h->out = out[0];
}

/* The next line of the host's stdout that starts with prefix: the
 * number after it. Fails the test at end of output or on a FAIL line. */
static long long
promise_read(struct promise_host *h, const char *prefix)
{
	char line[512];

	while (harness_read_line(h->out, line, sizeof(line), PROMISE_LINE_MS) != -1) {
		cr_assert(strncmp(line, "FAIL", 4) != 0, "say: %s", line);
		if (strncmp(line, prefix, strlen(prefix)) == 0)
			return atoll(line + strlen(prefix));
	}
	cr_assert_fail("say ended before a line \"%s\"", prefix);
	return 0;
}

/* Wait for the host; it must exit 0 (or die of SIGKILL when killed). */
static void
promise_end(struct promise_host *h, int killed)
{
	int code = harness_wait(h->pid, PROMISE_RUN_MS);

	cr_assert_eq(code, killed ? 128 + SIGKILL : 0, "say exited %d", code);
	close(h->out);
}

/* The daemon's log as it is now (NULL-terminated). */
static char *
promise_log(const struct harness_daemon *d)
{
	return harness_read_file(d->log, NULL);
}

/*
 * MPLOG_WFC_POINT=sink: a severe syslog record returns only once mplogd
 * has written it. The log is read the moment the program says syslog
 * returned, inside the reorder window (50 ms) a record waits out before
 * it is written: the record is there only because syslog waited for it.
 */
Test(promises, wfc_point_sink_returns_once_mplogd_has_written_the_record,
    .timeout = TEST_TIMEOUT(60))
{
	struct harness_daemon d;
	struct promise_host h;
	char *log;

	harness_daemon_start(&d, "json", NULL);
	promise_start(&h, &d, (const char *[]){ "MPLOG_WFC_POINT=sink", NULL },
	    (const char *[]){ "w:attached\\n", "s:2:written before syslog returned", "m:", NULL });
	promise_read(&h, "mono=");
	log = promise_log(&d);
	cr_assert(harness_contains(log, "written before syslog returned"),
	    "syslog returned before mplogd wrote its record: %s", log);
	free(log);
	promise_end(&h, 0);
	cr_assert_eq(harness_daemon_stop(&d), 0);
}

/*
 * A severe syslog call with mplogd stopped: under MPLOG_WFC=none and the
 * default point (segment) it returns at once; under MPLOG_WFC_POINT=sink
 * it waits for mplogd, at most about a second. A record that reached the
 * segment before the program was killed is delivered once mplogd runs.
 */
static void
promise_wfc_stopped(const char *env_word, int delivered, long long min_ms, long long max_ms)
{
	struct harness_daemon d;
	struct promise_host h;
	long long t0, t1;
	char *log;

	harness_daemon_start(&d, "json", NULL);
	promise_start(&h, &d, (const char *[]){ env_word, NULL },
	    (const char *[]){ "w:attached\\n", "m:", "s:2:severe while mplogd is stopped", "m:",
	    "k:9", NULL });
	/* The first line attaches: mplogd is stopped once it has read it. */
	t0 = promise_read(&h, "mono=");
	cr_assert_eq(kill(d.pid, SIGSTOP), 0);
	t1 = promise_read(&h, "mono=");
	promise_end(&h, 1);
	cr_assert_eq(kill(d.pid, SIGCONT), 0);
	cr_assert_geq((t1 - t0) / 1000000, min_ms, "%s: syslog took %lld ms", env_word,
	    (t1 - t0) / 1000000);
	cr_assert_leq((t1 - t0) / 1000000, max_ms, "%s: syslog took %lld ms", env_word,
	    (t1 - t0) / 1000000);
	cr_assert_eq(harness_daemon_stop(&d), 0);
	log = promise_log(&d);
	if (delivered)
		cr_assert(harness_contains(log, "severe while mplogd is stopped"),
		    "%s: the record in the segment was lost: %s", env_word, log);
	free(log);
}

Test(promises, wfc_none_does_not_wait_for_a_stopped_mplogd, .timeout = TEST_TIMEOUT(60))
{
	promise_wfc_stopped("MPLOG_WFC=none", 0, 0, PROMISE_QUICK_MS);
}

Test(promises, wfc_at_the_segment_returns_at_once_and_the_record_survives_a_kill,
    .timeout = TEST_TIMEOUT(60))
{
	promise_wfc_stopped("MPLOG_WFC_POINT=segment", 1, 0, PROMISE_QUICK_MS);
}

/* The record is in the segment at once: the wait for mplogd to write it
 * is the promised second more, no less (less would mean it never
 * waited) and not much more. */
Test(promises, wfc_at_the_sink_waits_about_a_second_for_a_stopped_mplogd,
    .timeout = TEST_TIMEOUT(60))
{
	promise_wfc_stopped("MPLOG_WFC_POINT=sink", 1, 900, 1000 + PROMISE_SLACK_MS);
}

/*
 * Under the block policy a call whose queue is full waits for room, and
 * writes its line through after about a second without progress: with
 * mplogd stopped and its lanes small, 20,000 writes of 100 bytes fill
 * the lane and the queue, and no single write takes much more than that.
 */
Test(promises, a_full_queue_holds_a_call_about_a_second_at_most, .timeout = TEST_TIMEOUT(120))
{
	static const char *const opts[] = { "--lane-size", "256K", NULL };
	struct harness_daemon d;
	struct promise_host h;
	long long longest;

	harness_daemon_start(&d, "json", opts);
	promise_start(&h, &d, NULL, (const char *[]){ "w:attached\\n", "m:",
	    "L:20000:a line of about a hundred bytes, written over and over until the queue "
	    "is full ....\\n", NULL });
	promise_read(&h, "mono=");
	cr_assert_eq(kill(d.pid, SIGSTOP), 0);
	longest = promise_read(&h, "longest=") / 1000000;
	cr_assert_eq(kill(d.pid, SIGCONT), 0);
	promise_end(&h, 0);
	cr_assert_eq(harness_daemon_stop(&d), 0);
	cr_assert_leq(longest, 1000 + PROMISE_SLACK_MS, "a write took %lld ms", longest);
}

/*
 * A program that ends while mplogd is stopped waits for its lines at
 * most about 2 s (mplogd's heartbeat goes stale), then writes them
 * through itself: measured from its last action to its end. Its line
 * is then on its stderr or in the log once mplogd runs, exactly once.
 */
Test(promises, a_stopped_mplogd_holds_an_ending_program_about_two_seconds_at_most,
    .timeout = TEST_TIMEOUT(60))
{
	struct harness_daemon d;
	struct promise_host h;
	long long last, waited;
	char *log, *err;

	harness_daemon_start(&d, "json", NULL);
	promise_start(&h, &d, NULL, (const char *[]){ "w:attached\\n", "m:",
	    "w:the last line\\n", "m:", NULL });
	promise_read(&h, "mono=");
	cr_assert_eq(kill(d.pid, SIGSTOP), 0);
	last = promise_read(&h, "mono=");
	promise_end(&h, 0);
	waited = (promise_mono() - last) / 1000000;
	cr_assert_eq(kill(d.pid, SIGCONT), 0);
	cr_assert_eq(harness_daemon_stop(&d), 0);
	cr_assert_leq(waited, 2000 + PROMISE_SLACK_MS, "the program ended %lld ms after its "
	    "last line", waited);
	log = promise_log(&d);
	err = harness_read_file(h.err, NULL);
	cr_assert_eq(harness_count(log, "the last line") + harness_count(err, "the last line"), 1,
	    "log: %s\nstderr: %s", log, err);
	free(log);
	free(err);
}

/* Run say under mplog-run with JSON output and the environment words
 * given; its records in *recs. */
static struct harness_result
promise_run(const char *const *args, struct harness_rec **recs, size_t *n)
{
	char *log;
	struct harness_result r = harness_run_host(1, "json", NULL, "say", args, &log);

	*recs = harness_json_load(log, n);
	return r;
}

/*
 * MPLOG_NAME names the process in the log, cut to 31 bytes, and leaves
 * the syslog ident the program's name.
 */
Test(promises, mplog_name_names_the_process_cut_to_31_bytes_and_keeps_the_ident,
    .timeout = TEST_TIMEOUT(60))
{
	static const char *const names[] = { "worker-7",
	    "a-name-longer-than-thirty-one-bytes-is-cut" };
	static const char *const want[] = { "worker-7", "a-name-longer-than-thirty-one-b" };

	for (int i = 0; i < 2; i++) {
		struct harness_daemon d;
		struct promise_host h;
		struct harness_rec *recs;
		char *word = harness_fmt("MPLOG_NAME=%s", names[i]);
		size_t n;

		harness_daemon_start(&d, "json", NULL);
		promise_start(&h, &d, (const char *[]){ word, NULL },
		    (const char *[]){ "w:on stderr\\n", "s:6:through syslog", NULL });
		promise_end(&h, 0);
		cr_assert_eq(harness_daemon_stop(&d), 0);
		recs = harness_json_load(d.log, &n);
		cr_assert_str_eq(harness_find(recs, n, "on stderr")->proc, want[i]);
		cr_assert_str_eq(harness_find(recs, n, "through syslog")->proc, want[i]);
		cr_assert_eq(harness_find(recs, n, "through syslog")->has_ident, 1);
		cr_assert_str_eq(harness_find(recs, n, "through syslog")->ident, "say");
		cr_assert_str_eq(harness_find(recs, n, "on stderr")->source, "stderr");
		free(word);
	}
}

/*
 * MPLOG_DEBUG makes the shim say why it is not capturing (here: no
 * segment of that name), on the original stderr; without it, nothing
 * but the program's own line is there.
 */
Test(promises, mplog_debug_says_why_the_shim_does_not_capture, .timeout = TEST_TIMEOUT(60))
{
	for (int debug = 0; debug < 2; debug++) {
		char *say[] = { harness_build("hosts/say"), "w:passed through\\n", NULL };
		struct harness_result r;

		cr_assert_eq(harness_run(say, harness_env(harness_fmt("LD_PRELOAD=%s",
		    harness_shim()), harness_fmt("MPLOG_SHM=/mplog-none-%d", (int)getpid()),
		    debug ? "MPLOG_DEBUG=1" : NULL, NULL), NULL, &r), 0, "say: %s", r.err);
		cr_assert(harness_contains(r.err, "passed through\n"), "%s", r.err);
		if (debug)
			cr_assert(harness_contains(r.err, "mplog: cannot attach: /mplog-none-"),
			    "no reason given: %s", r.err);
		else
			cr_assert_str_eq(r.err, "passed through\n");
	}
}

/*
 * A copy of stderr numbered 1023 is stderr; one numbered 1024 or more
 * never is: its line goes to the real stderr.
 */
Test(promises, descriptors_from_1024_on_are_never_stderr, .timeout = TEST_TIMEOUT(60))
{
	struct harness_rec *recs;
	size_t n;
	struct harness_result r = promise_run((const char *[]){ "d:1023:by fd 1023\\n",
	    "d:1024:by fd 1024\\n", "d:4000:by fd 4000\\n", NULL }, &recs, &n);

	cr_assert_eq(r.code, 0, "%s", r.err);
	harness_find(recs, n, "by fd 1023");
	cr_assert(!harness_contains(r.err, "by fd 1023"), "%s", r.err);
	for (size_t i = 0; i < n; i++)
		cr_assert(strncmp(recs[i].msg, "by fd 1023", 10) == 0 ||
		    strstr(recs[i].msg, "by fd") == NULL, "captured: %s", recs[i].msg);
	cr_assert(harness_contains(r.err, "by fd 1024\n"), "%s", r.err);
	cr_assert(harness_contains(r.err, "by fd 4000\n"), "%s", r.err);
}

/* The _IO_ names old binaries call (_IO_fputs, _IO_putc, _IO_fprintf,
 * _IO_fwrite) are captured, with the values glibc returns. */
Test(promises, the_old_io_names_are_captured, .timeout = TEST_TIMEOUT(60))
{
	struct harness_rec *recs;
	size_t n, found = 0;
	struct harness_result r = promise_run((const char *[]){ "I:through an old name",
	    NULL }, &recs, &n);

	cr_assert_eq(r.code, 0, "%s", r.err);
	cr_assert(!harness_contains(r.out, "FAIL"), "%s", r.out);
	for (size_t i = 0; i < n; i++)
		found += strcmp(recs[i].msg, "through an old name") == 0;
	cr_assert_eq(found, 3, "%zu records of the 3 lines", found);
	cr_assert(!harness_contains(r.err, "through an old name"), "%s", r.err);
}

/*
 * mplog-run returns about 2 s at most after its command exits, while a
 * process the command started goes on logging: measured from the
 * command's last action.
 */
Test(promises, mplog_run_returns_about_two_seconds_after_its_command_at_most,
    .timeout = TEST_TIMEOUT(60))
{
	char *argv[32], line[256], *log = harness_file("run.log");
	char *script = harness_fmt("(while :; do echo still logging >&2; sleep 0.05; done) & "
	    "exec %s m:", harness_build("hosts/say"));
	int n = 0, out[2];
	long long cmd_end, waited;
	pid_t pid;

	harness_mplog_argv(argv, &n, 1, "json", log, NULL);
	argv[n++] = "/bin/sh";
	argv[n++] = "-c";
	argv[n++] = script;
	argv[n] = NULL;
	cr_assert(pipe(out) == 0);
	struct harness_io io = { -1, out[1], -1, -1, -1 };
	pid = harness_spawn(argv, harness_env(NULL), &io);
	close(out[1]);
	for (cmd_end = 0; cmd_end == 0 &&
	    harness_read_line(out[0], line, sizeof(line), PROMISE_LINE_MS) != -1;)
		if (strncmp(line, "mono=", 5) == 0)
			cmd_end = atoll(line + 5);
	cr_assert_neq(cmd_end, 0, "the command said nothing");
	cr_assert_eq(harness_wait(pid, PROMISE_RUN_MS), 0);
	waited = (promise_mono() - cmd_end) / 1000000;
	kill(-pid, SIGKILL);            /* the loop left behind */
	close(out[0]);
	cr_assert_leq(waited, 2000 + PROMISE_SLACK_MS, "mplog-run returned %lld ms after its "
	    "command", waited);
}
