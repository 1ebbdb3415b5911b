/*
 * test_catchall.c - run mode's --catch-all and --stderr-severity, end to
 * end: tests/hosts/rawerr writes to descriptor 2 with raw system calls
 * (which no hook sees) and with write(2) (which the shim hooks), under
 * the real mplog-run and mplogd of $MPLOG_BUILD. Each test checks what
 * the program saw (status, stdout, the real stderr) and every record of
 * the log: exactly the lines written, each once, with the pid (and tid)
 * of its writer.
 *
 * Who wrote is read from rawerr's stdout; expected lines follow from the
 * directives given (the rules are in rawerr's opening comment).
 * Processes are synchronised through pipes and exit; nothing sleeps in
 * place of an event.
 */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "hosts/checksum.h"

TestSuite(catchall, .init = harness_setup, .fini = harness_teardown);

/* Who rawerr says it is: from its stdout. */
struct ca_ids {
	long pid, tid;          /* the command */
	long child;             /* p:N's child */
	long thread;            /* m:N's second thread */
	long late;              /* b:'s child */
	long holder;            /* z:'s child */
	long long mono;         /* t:'s time, ns */
	int sock, tty;          /* s:, -1 when not asked */
};

/* The tid a record carries: the pid (all the socket knows of a writer),
 * or the command's thread id (a hooked write through the segment). */
enum ca_tid { CA_PID, CA_TID };

/* One record of the command as a test expects it; found by its message,
 * in any order. */
struct ca_want {
	const char *msg;
	enum ca_tid tid;
	const char *facility, *severity;
};

/* Parse rawerr's stdout; a FAIL line or an unknown one fails the test. */
static void
ca_ids_parse(const char *out, struct ca_ids *ids)
{
	memset(ids, 0, sizeof(*ids));
	ids->sock = ids->tty = -1;
	for (const char *s = out; *s != '\0';) {
		const char *nl = strchr(s, '\n');
		int len = (int)(nl != NULL ? nl - s : (long)strlen(s));

		cr_assert(strncmp(s, "FAIL", 4) != 0, "rawerr reports: %.*s", len, s);
		if (sscanf(s, "rawerr pid=%ld tid=%ld", &ids->pid, &ids->tid) != 2 &&
		    sscanf(s, "child pid=%ld", &ids->child) != 1 &&
		    sscanf(s, "thread tid=%ld", &ids->thread) != 1 &&
		    sscanf(s, "late pid=%ld", &ids->late) != 1 &&
		    sscanf(s, "holder pid=%ld", &ids->holder) != 1 &&
		    sscanf(s, "mono ns=%lld", &ids->mono) != 1 &&
		    sscanf(s, "fd2 socket=%d tty=%d", &ids->sock, &ids->tty) != 2)
			cr_assert_fail("unexpected rawerr stdout line: %.*s", len, s);
		if (nl == NULL)
			break;
		s = nl + 1;
	}
	cr_assert(ids->pid > 0, "rawerr did not report its pid: %s", out);
}

/* Run "mplog-run --format json -o LOG OPTS -- rawerr ARGS" (mplogd
 * --preload SHIM ... when !script); lists NULL-ended. */
static struct harness_result
ca_run(int script, const char *const *opts, const char *const *args, char **log)
{
	return harness_run_host(script, "json", opts, "rawerr", args, log);
}

/* The checks every stderr record passes: source, no ident, valid JSON. */
static void
ca_check_stderr(const struct harness_rec *r)
{
	cr_assert(strcmp(r->source, "stderr") == 0 && !r->has_ident,
	    "line %zu: source %s ident %s: %s", r->line, r->source,
	    r->has_ident ? r->ident : "null", r->msg);
}

/* The log holds exactly want[0..n), each once, in any order, from the
 * command ids names. */
static void
ca_expect(const struct harness_rec *recs, size_t nrecs, const struct ca_ids *ids,
    const struct ca_want *want, size_t n)
{
	unsigned char *seen = calloc(n, 1);

	cr_assert(seen != NULL);
	for (size_t i = 0; i < nrecs; i++) {
		const struct harness_rec *r = &recs[i];
		size_t k = 0;
		long tid;

		while (k < n && !(strlen(want[k].msg) == r->msg_len &&
		    memcmp(want[k].msg, r->msg, r->msg_len) == 0))
			k++;
		cr_assert(k < n, "line %zu: unexpected record: %s", r->line, r->msg);
		cr_assert(!seen[k], "line %zu: delivered twice: %s", r->line, r->msg);
		seen[k] = 1;
		ca_check_stderr(r);
		tid = want[k].tid == CA_TID ? ids->tid : ids->pid;
		cr_assert(r->pid == ids->pid && r->tid == tid,
		    "%s: pid/tid %ld/%ld, expected %ld/%ld", r->msg, r->pid, r->tid,
		    ids->pid, tid);
		cr_assert(strcmp(r->facility, want[k].facility) == 0 &&
		    strcmp(r->severity, want[k].severity) == 0,
		    "%s: %s.%s, expected %s.%s", r->msg, r->facility, r->severity,
		    want[k].facility, want[k].severity);
		cr_assert(strcmp(r->proc, "rawerr") == 0, "%s: proc %s", r->msg, r->proc);
	}
	for (size_t k = 0; k < n; k++)
		cr_assert(seen[k], "never delivered: %s", want[k].msg);
	free(seen);
}

/* Run rawerr ARGS under OPTS (ca_run): it exits 0, writes nothing to the
 * real stderr, and the log holds exactly want[0..n). */
static void
ca_run_expect(int script, const char *const *opts, const char *const *args,
    const struct ca_want *want, size_t n)
{
	char *log;
	struct harness_result r = ca_run(script, opts, args, &log);
	struct ca_ids ids;
	size_t nrecs;

	ca_ids_parse(r.out, &ids);
	cr_assert(r.code == 0 && r.err_len == 0, "status %d: %s", r.code, r.err);
	struct harness_rec *recs = harness_json_load(log, &nrecs);
	ca_expect(recs, nrecs, &ids, want, n);
}

/*
 * Check a p:N log: each of the 2N lines once, intact (checksum), in
 * order per writer, under its writer's pid with tid = pid, info. The
 * parent is the command, which mplogd reaps only after reading its
 * socket to the end, so its name is known; the child may be gone (its
 * parent reaps it) before mplogd reads its last bytes and looks up
 * /proc/PID/comm, so "?" is allowed for it.
 */
static void
ca_check_turns(const struct harness_rec *recs, size_t nrecs, const struct ca_ids *ids,
    long n, const char *severity)
{
	long next[2] = { 0, 0 };

	cr_assert(ids->child > 0, "the child did not report its pid");
	for (size_t i = 0; i < nrecs; i++) {
		const struct harness_rec *r = &recs[i];
		char who[16];
		long seq;
		unsigned sum;
		int len;

		cr_assert(sscanf(r->msg, "rawerr %15s seq=%ld %n", who, &seq, &len) == 2,
		    "line %zu: not a p:N line: %s", r->line, r->msg);
		int c = strcmp(who, "child") == 0;
		cr_assert(c || strcmp(who, "parent") == 0, "line %zu: %s", r->line, r->msg);
		cr_assert(sscanf(r->msg + len, "sum=%8x", &sum) == 1 &&
		    (size_t)len + 12 == r->msg_len && sum == checksum_fnv(r->msg, (size_t)len),
		    "line %zu: damaged: %s", r->line, r->msg);
		cr_assert(seq == next[c], "line %zu: %s seq %ld, expected %ld (lost, repeated "
		    "or out of order)", r->line, who, seq, next[c]);
		next[c]++;
		ca_check_stderr(r);
		long pid = c ? ids->child : ids->pid;
		cr_assert(r->pid == pid && r->tid == pid, "line %zu: pid/tid %ld/%ld, the %s is %ld",
		    r->line, r->pid, r->tid, who, pid);
		cr_assert(strcmp(r->facility, "user") == 0 && strcmp(r->severity, severity) == 0,
		    "line %zu: %s.%s", r->line, r->facility, r->severity);
		cr_assert(strcmp(r->proc, "rawerr") == 0 || (c && strcmp(r->proc, "?") == 0),
		    "line %zu: proc %s", r->line, r->proc);
	}
	cr_assert(next[0] == n && next[1] == n, "parent %ld and child %ld lines of %ld",
	    next[0], next[1], n);
}

/*
 * Raw writes from the command and its forked child, whose pieces
 * alternate on fd 2, arrive as whole lines, each once, under the pid of
 * the process that wrote it, as stderr info lines; nothing reaches the
 * real stderr.
 */
Test(catchall, raw_lines_of_parent_and_child_arrive_once_under_the_writers_pid, .timeout = TEST_TIMEOUT(60))
{
	const char *opts[] = { "--catch-all", NULL };
	const char *args[] = { "p:300", NULL };
	char *log;
	struct harness_result r = ca_run(1, opts, args, &log);
	struct ca_ids ids;
	size_t n;

	ca_ids_parse(r.out, &ids);
	cr_assert(r.code == 0, "status %d: %s", r.code, r.err);
	cr_assert(r.err_len == 0, "the real stderr got %zu bytes: %.300s", r.err_len, r.err);
	struct harness_rec *recs = harness_json_load(log, &n);
	ca_check_turns(recs, n, &ids, 300, "info");
}

/*
 * With --catch-all, write(2) from a second thread still takes the shim's
 * path through the segment: its lines carry that thread's id (the socket
 * knows only the pid), while the main thread's raw lines, written at the
 * same time, carry the pid. Each line arrives once, in order per writer.
 */
Test(catchall, hooked_writes_keep_their_thread_id_beside_raw_ones, .timeout = TEST_TIMEOUT(60))
{
	const char *opts[] = { "--catch-all", NULL };
	const char *args[] = { "m:500", NULL };
	char *log;
	struct harness_result r = ca_run(0, opts, args, &log);
	struct ca_ids ids;
	long next[2] = { 0, 0 };
	size_t n;

	ca_ids_parse(r.out, &ids);
	cr_assert(r.code == 0 && r.err_len == 0, "status %d: %s", r.code, r.err);
	cr_assert(ids.thread > 0 && ids.thread != ids.pid, "thread tid %ld, pid %ld",
	    ids.thread, ids.pid);
	struct harness_rec *recs = harness_json_load(log, &n);
	for (size_t i = 0; i < n; i++) {
		char how[16];
		long seq;
		int end = 0;

		cr_assert(sscanf(recs[i].msg, "rawerr %15s seq=%ld%n", how, &seq, &end) == 2 &&
		    (size_t)end == recs[i].msg_len, "line %zu: %s", recs[i].line, recs[i].msg);
		int hooked = strcmp(how, "hooked") == 0;
		cr_assert(hooked || strcmp(how, "raw") == 0, "line %zu: %s", recs[i].line, recs[i].msg);
		cr_assert(seq == next[hooked], "line %zu: %s seq %ld, expected %ld",
		    recs[i].line, how, seq, next[hooked]);
		next[hooked]++;
		ca_check_stderr(&recs[i]);
		cr_assert(recs[i].pid == ids.pid && recs[i].tid == (hooked ? ids.thread : ids.pid),
		    "line %zu (%s): pid/tid %ld/%ld, expected %ld/%ld", recs[i].line, recs[i].msg,
		    recs[i].pid, recs[i].tid, ids.pid, hooked ? ids.thread : ids.pid);
		cr_assert(strcmp(recs[i].severity, "info") == 0 && strcmp(recs[i].proc, "rawerr") == 0,
		    "line %zu: %s %s", recs[i].line, recs[i].severity, recs[i].proc);
	}
	cr_assert(next[0] == 500 && next[1] == 500, "%ld raw and %ld hooked lines of 500",
	    next[0], next[1]);
}

/*
 * A "<N>" prefix on a raw line sets its priority (severity, and the
 * facility when N carries one) and is removed; unprefixed raw lines are
 * info; a raw line without a newline is delivered at the end.
 */
Test(catchall, prefix_sets_the_priority_of_a_raw_line_and_is_removed, .timeout = TEST_TIMEOUT(60))
{
	const char *opts[] = { "--catch-all", NULL };
	const char *args[] = { "r:<3>raw err\\n", "r:raw plain\\n", "r:<131>raw local0 err\\n",
	    "r:<7", "r:>split prefix\\n", "r:<x>not a prefix\\n", "r:no newline", NULL };
	const struct ca_want want[] = {
		{ "raw err", CA_PID, "user", "err" },
		{ "raw plain", CA_PID, "user", "info" },
		{ "raw local0 err", CA_PID, "local0", "err" },
		{ "split prefix", CA_PID, "user", "debug" },
		{ "<x>not a prefix", CA_PID, "user", "info" },
		{ "no newline", CA_PID, "user", "info" },
	};

	ca_run_expect(1, opts, args, want, sizeof(want) / sizeof(want[0]));
}

/*
 * --stderr-severity warning makes unprefixed lines warning, raw and hooked
 * alike (the shim reads it from MPLOG_STDERR_SEVERITY), while a "<N>"
 * prefix still wins; hooked lines keep their thread id.
 */
Test(catchall, stderr_severity_sets_raw_and_hooked_lines_and_a_prefix_wins, .timeout = TEST_TIMEOUT(60))
{
	const char *opts[] = { "--catch-all", "--stderr-severity", "warning", NULL };
	const char *args[] = { "r:<3>raw err\\n", "r:raw plain\\n", "w:<3>hooked err\\n",
	    "w:hooked plain\\n", NULL };
	const struct ca_want want[] = {
		{ "raw err", CA_PID, "user", "err" },
		{ "raw plain", CA_PID, "user", "warning" },
		{ "hooked err", CA_TID, "user", "err" },
		{ "hooked plain", CA_TID, "user", "warning" },
	};

	ca_run_expect(1, opts, args, want, sizeof(want) / sizeof(want[0]));
}

/* --stderr-severity without --catch-all, through mplogd directly: the
 * shim's lines take it (a digit is a severity too). */
Test(catchall, stderr_severity_without_catch_all_sets_hooked_lines, .timeout = TEST_TIMEOUT(60))
{
	const char *opts[] = { "--stderr-severity", "5", NULL };
	const char *args[] = { "w:hooked plain\\n", "w:<2>hooked crit\\n", NULL };
	const struct ca_want want[] = {
		{ "hooked plain", CA_TID, "user", "notice" },
		{ "hooked crit", CA_TID, "user", "crit" },
	};

	ca_run_expect(0, opts, args, want, sizeof(want) / sizeof(want[0]));
}

/* Raw lines less severe than --level are discarded; the others kept. */
Test(catchall, raw_lines_below_the_level_are_discarded, .timeout = TEST_TIMEOUT(60))
{
	const char *opts[] = { "--catch-all", "--level", "warning", NULL };
	const char *args[] = { "r:raw info\\n", "r:<4>raw warning\\n", "r:<5>raw notice\\n",
	    "r:<0>raw emerg\\n", NULL };
	const struct ca_want want[] = {
		{ "raw warning", CA_PID, "user", "warning" },
		{ "raw emerg", CA_PID, "user", "emerg" },
	};

	ca_run_expect(1, opts, args, want, sizeof(want) / sizeof(want[0]));
}

/*
 * glibc reports a double free with a raw write to fd 2 and aborts: with
 * --catch-all its message is in the log, under the command's pid, and the
 * status is 128 + SIGABRT; nothing reaches the real stderr.
 */
Test(catchall, glibc_double_free_message_is_logged_and_status_is_134, .timeout = TEST_TIMEOUT(60))
{
	const char *opts[] = { "--catch-all", NULL };
	const char *args[] = { "d:", NULL };
	char *log;
	struct harness_result r = ca_run(1, opts, args, &log);
	struct ca_ids ids;
	size_t n;

	ca_ids_parse(r.out, &ids);
	cr_assert(r.code == 128 + SIGABRT, "status %d, expected %d: %s", r.code,
	    128 + SIGABRT, r.err);
	cr_assert(r.err_len == 0, "the real stderr got: %s", r.err);
	const struct ca_want want[] = {
		{ "free(): double free detected in tcache 2", CA_PID, "user", "info" },
	};
	struct harness_rec *recs = harness_json_load(log, &n);
	ca_expect(recs, n, &ids, want, 1);
}

/* The bytes p:N puts on fd 2, in order: the pieces alternate. */
static char *
ca_turns_bytes(long n)
{
	size_t cap = (size_t)n * 2 * 64 + 1, len = 0;
	char *s = malloc(cap);

	cr_assert(s != NULL);
	for (long seq = 0; seq < n; seq++) {
		for (int b = 0; b < 2; b++) {
			for (int c = 0; c < 2; c++) {
				char a[64];
				int k = snprintf(a, sizeof(a), "rawerr %s seq=%ld ",
				    c ? "child" : "parent", seq);

				if (b)
					k = snprintf(a, sizeof(a), "sum=%08x\n",
					    checksum_fnv(a, (size_t)k));
				memcpy(s + len, a, (size_t)k);
				len += (size_t)k;
			}
		}
	}
	s[len] = '\0';
	return s;
}

/*
 * --stderr tee with --catch-all: the real stderr gets exactly the bytes
 * written to fd 2, raw and hooked, in the order written; the log has each
 * line once. Hooked writes come through the socket too in tee mode (the
 * shim passes them), so every line carries tid = pid.
 */
Test(catchall, tee_copies_every_byte_to_the_real_stderr_and_logs_each_line_once, .timeout = TEST_TIMEOUT(60))
{
	const char *opts[] = { "--stderr", "tee", "--catch-all", NULL };
	const char *args[] = { "p:100", "r:raw one\\n", "w:hooked two\\n", "r:raw pa", "w:rt\\n",
	    "r:no newline", NULL };
	char *log;
	struct harness_result r = ca_run(1, opts, args, &log);
	struct ca_ids ids;
	size_t n;

	ca_ids_parse(r.out, &ids);
	cr_assert(r.code == 0, "status %d: %s", r.code, r.err);
	char *want_err = harness_fmt("%sraw one\nhooked two\nraw part\nno newline",
	    ca_turns_bytes(100));
	cr_assert(r.err_len == strlen(want_err) && memcmp(r.err, want_err, r.err_len) == 0,
	    "the real stderr (%zu bytes) is not the %zu bytes written: ...%s", r.err_len,
	    strlen(want_err), r.err_len > 200 ? r.err + r.err_len - 200 : r.err);
	struct harness_rec *recs = harness_json_load(log, &n);
	cr_assert(n == 204, "%zu records, expected 204", n);
	ca_check_turns(recs, 200, &ids, 100, "info");
	const struct ca_want want[] = {
		{ "raw one", CA_PID, "user", "info" },
		{ "hooked two", CA_PID, "user", "info" },
		{ "raw part", CA_PID, "user", "info" },
		{ "no newline", CA_PID, "user", "info" },
	};
	ca_expect(recs + 200, 4, &ids, want, 4);
}

/*
 * A line longer than one read of the socket (64 KiB and its newline,
 * read in more than one piece) arrives as one record, byte for byte.
 */
Test(catchall, line_of_64_kib_read_in_pieces_is_one_record, .timeout = TEST_TIMEOUT(60))
{
	const char *opts[] = { "--catch-all", NULL };
	const char *args[] = { "l:65536", "r:after\\n", NULL };
	char *log;
	struct harness_result r = ca_run(1, opts, args, &log);
	struct ca_ids ids;
	size_t n;

	ca_ids_parse(r.out, &ids);
	cr_assert(r.code == 0 && r.err_len == 0, "status %d: %s", r.code, r.err);
	struct harness_rec *recs = harness_json_load(log, &n);
	cr_assert(n == 2, "%zu records, expected 2", n);
	cr_assert(recs[0].msg_len == 65536, "%zu bytes, expected 65536", recs[0].msg_len);
	for (size_t k = 0; k < 65536; k++)
		cr_assert(recs[0].msg[k] == 'a' + (char)(k % 26), "byte %zu is %d", k, recs[0].msg[k]);
	cr_assert(strcmp(recs[1].msg, "after") == 0, "second record: %s", recs[1].msg);
	for (size_t i = 0; i < n; i++) {
		ca_check_stderr(&recs[i]);
		cr_assert(recs[i].pid == ids.pid && recs[i].tid == ids.pid);
	}
}

/*
 * A process that outlives the command and writes to the inherited fd 2
 * after the command has exited is still read: mplogd waits for the end
 * of the socket (every holder closed it) before its final drain, and the
 * exit status is the command's.
 */
Test(catchall, descendant_writing_after_the_command_exited_is_logged, .timeout = TEST_TIMEOUT(60))
{
	const char *opts[] = { "--catch-all", NULL };
	const char *args[] = { "r:first\\n", "b:late line\\n", NULL };
	char *log;
	struct harness_result r = ca_run(1, opts, args, &log);
	struct ca_ids ids;
	size_t n;

	ca_ids_parse(r.out, &ids);
	cr_assert(r.code == 0 && r.err_len == 0, "status %d: %s", r.code, r.err);
	cr_assert(ids.late > 0, "the late writer did not report");
	struct harness_rec *recs = harness_json_load(log, &n);
	cr_assert(n == 2, "%zu records, expected 2", n);
	cr_assert(strcmp(recs[0].msg, "first") == 0 && recs[0].pid == ids.pid,
	    "first record: %ld %s", recs[0].pid, recs[0].msg);
	/* The late writer may be reaped (by init) before mplogd reads its
	 * name: "?" is allowed. */
	cr_assert(strcmp(recs[1].msg, "late line") == 0 && recs[1].pid == ids.late &&
	    recs[1].tid == ids.late, "second record: %ld/%ld %s", recs[1].pid, recs[1].tid,
	    recs[1].msg);
	ca_check_stderr(&recs[1]);
}

/* Nanoseconds of CLOCK_MONOTONIC. */
static long long
ca_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

#define CA_EXIT_BOUND_NS  (2000000000LL)   /* the final drain's bound */
#define CA_EXIT_MARGIN_NS (1000000000LL * TEST_SLOW)   /* the drain itself, reaping */

/*
 * A descendant that keeps fd 2 open for ever does not keep mplog-run
 * running: it returns with the command's status within the final-drain
 * bound (2 s) and a margin for the drain, counted from the command's
 * last act (it says the time then), with what the command wrote in the
 * log.
 */
Test(catchall, descendant_holding_fd_2_delays_the_exit_only_by_the_bound, .timeout = TEST_TIMEOUT(60))
{
	const char *opts[] = { "--catch-all", NULL };
	const char *args[] = { "z:", "r:bye\\n", "t:", NULL };
	char *log;
	struct harness_result r = ca_run(1, opts, args, &log);
	long long took, end = ca_mono_ns();
	struct ca_ids ids;
	size_t n;

	ca_ids_parse(r.out, &ids);
	cr_assert(ids.holder > 0 && ids.mono > 0, "the holder or the time did not report");
	cr_assert(r.code == 0 && r.err_len == 0, "status %d: %s", r.code, r.err);
	took = end - ids.mono;
	cr_assert(took < CA_EXIT_BOUND_NS + CA_EXIT_MARGIN_NS,
	    "mplog-run returned %lld ms after the command's end", took / 1000000);
	const struct ca_want want[] = { { "bye", CA_PID, "user", "info" } };
	struct harness_rec *recs = harness_json_load(log, &n);
	ca_expect(recs, n, &ids, want, 1);
	kill((pid_t)ids.holder, SIGKILL);
}

/*
 * An unfinished line is delivered once its writer has been quiet for a
 * while, not only at the end: the writer still runs (it waits for its
 * stdin to close) when the line reaches the log, read here from mplogd's
 * stdout as it is written.
 */
Test(catchall, unfinished_line_is_delivered_while_its_writer_still_runs, .timeout = TEST_TIMEOUT(60))
{
	char *argv[] = { harness_build("mplogd"), "--preload", harness_shim(), "--catch-all",
	    "--format", "json", "-o", "-", "--", harness_build("hosts/rawerr"),
	    "r:no newline yet", "h:", NULL };
	int in[2], out[2];
	char line[4096], why[128];
	struct harness_rec rec;
	long pid, tid;

	cr_assert(pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0);
	struct harness_io io = { in[0], out[1], -1, -1, -1 };
	pid_t mplogd = harness_spawn(argv, NULL, &io);
	close(in[0]);
	close(out[1]);
	cr_assert(harness_read_line(out[0], line, sizeof(line), 20000) > 0);
	cr_assert(sscanf(line, "rawerr pid=%ld tid=%ld", &pid, &tid) == 2, "stdout: %s", line);
	ssize_t len = harness_read_line(out[0], line, sizeof(line), 20000);
	cr_assert(len > 0, "no record while the writer runs");
	cr_assert(harness_json_parse(line, (size_t)len, &rec, why, sizeof(why)) == 0,
	    "%s: %s", why, line);
	cr_assert(strcmp(rec.msg, "no newline yet") == 0 && rec.pid == pid && rec.tid == pid,
	    "record %ld/%ld %s", rec.pid, rec.tid, rec.msg);
	ca_check_stderr(&rec);
	close(in[1]);           /* the writer may end now */
	cr_assert(harness_read_line(out[0], line, sizeof(line), 20000) == -1,
	    "more output: %s", line);
	cr_assert(harness_wait(mplogd, HARNESS_WAIT_MS) == 0);
	close(out[0]);
}

/*
 * A copy of fd 2 made before an exec (a shell's "/bin/echo x >&2") is not
 * stderr to the shim in the exec'd program, so its writes go to the
 * socket: the line is logged once, as a stderr line of the process that
 * wrote it (whose pid the test does not know; nor its name, if the shell
 * reaped it before mplogd read its comm).
 */
Test(catchall, copy_of_fd_2_made_before_exec_is_logged_through_the_socket, .timeout = TEST_TIMEOUT(60))
{
	char *log = harness_file("echo.json");
	char *argv[] = { harness_repo("scripts/mplog-run"), "--catch-all", "--format", "json",
	    "-o", log, "--", "/bin/sh", "-c", "/bin/echo via a copy of fd 2 >&2", NULL };
	struct harness_result r;
	size_t n;

	harness_run(argv, NULL, NULL, &r);
	cr_assert(r.code == 0 && r.err_len == 0 && r.out_len == 0, "status %d: %s%s",
	    r.code, r.out, r.err);
	struct harness_rec *recs = harness_json_load(log, &n);
	cr_assert(n == 1, "%zu records, expected 1", n);
	cr_assert(strcmp(recs[0].msg, "via a copy of fd 2") == 0, "record: %s", recs[0].msg);
	ca_check_stderr(&recs[0]);
	cr_assert(recs[0].pid > 0 && recs[0].tid == recs[0].pid &&
	    strcmp(recs[0].severity, "info") == 0, "record: %ld/%ld %s", recs[0].pid,
	    recs[0].tid, recs[0].severity);
	cr_assert(strcmp(recs[0].proc, "echo") == 0 || strcmp(recs[0].proc, "?") == 0,
	    "proc %s", recs[0].proc);
}

/* Run argv (NULL-ended) under "mplog-run --catch-all --format json -o
 * LOG --": it exits 0 with nothing on stdout or stderr, and the log holds
 * exactly the lines want (NULL-ended), in order, each once. */
static void
ca_run_lines(const char *const *argv, const char *const *want)
{
	static int runs;
	char *log = harness_file(harness_fmt("opened%d.json", runs++)), *av[24];
	int n = 0;
	struct harness_result r;
	size_t nrec, k = 0;

	av[n++] = harness_repo("scripts/mplog-run");
	av[n++] = "--catch-all";
	av[n++] = "--format";
	av[n++] = "json";
	av[n++] = "-o";
	av[n++] = log;
	av[n++] = "--";
	for (int i = 0; argv[i] != NULL && n < 23; i++)
		av[n++] = (char *)argv[i];
	av[n] = NULL;
	harness_run(av, NULL, NULL, &r);
	cr_assert(r.code == 0 && r.err_len == 0, "%s: status %d: %s", argv[0], r.code, r.err);
	struct harness_rec *recs = harness_json_load(log, &nrec);
	for (; want[k] != NULL; k++) {
		cr_assert(k < nrec, "%s: never delivered: %s", argv[0], want[k]);
		cr_assert_str_eq(recs[k].msg, want[k], "%s: record %zu", argv[0], k);
		ca_check_stderr(&recs[k]);
	}
	cr_assert_eq(nrec, k, "%s: %zu records, expected %zu", argv[0], nrec, k);
}

/*
 * Under --catch-all, fd 2 is a socket, which Linux does not open by a
 * /proc name: without the shim, ">/dev/stderr" fails with ENXIO there.
 * With it, the open gives a copy of fd 2, as it would with a terminal or
 * a file as fd 2: bash's redirection, python's open() and the C calls
 * (open, open64, openat, fopen) of each name succeed, and every line
 * arrives once.
 */
Test(catchall, opening_dev_stderr_succeeds_and_is_logged, .timeout = TEST_TIMEOUT(60))
{
	ca_run_lines((const char *const[]){ "/usr/bin/bash", "-c",
	    "echo a >/dev/stderr && echo b >/dev/fd/2 && echo c >/proc/self/fd/2 && "
	    "echo d >/proc/$$/fd/2 && echo e >>/dev/stderr", NULL },
	    (const char *const[]){ "a", "b", "c", "d", "e", NULL });
	ca_run_lines((const char *const[]){ "/usr/bin/python3", "-c",
	    "f = open('/dev/stderr', 'w'); f.write('py\\n'); f.close()", NULL },
	    (const char *const[]){ "py", NULL });
	ca_run_lines((const char *const[]){ harness_build("hosts/paths"), "open-dev-stderr",
	    "open64-dev-fd-2", "openat-proc-self", "open-proc-pid", "fopen-dev-stderr", NULL },
	    (const char *const[]){ "@open-dev-stderr@ write", "@open64-dev-fd-2@ write",
	    "@openat-proc-self@ write", "@open-proc-pid@ write", "@fopen-dev-stderr@ opened",
	    NULL });
}

/* Without the shim (a static program is the same), the open fails as it
 * does under any socket as fd 2; the README says what to do instead. */
Test(catchall, opening_dev_stderr_without_the_shim_fails_with_enxio, .timeout = TEST_TIMEOUT(60))
{
	char *log = harness_file("noshim.json");
	char *argv[] = { harness_repo("scripts/mplog-run"), "--catch-all", "--format", "json",
	    "-o", log, "--", "/usr/bin/env", "-u", "LD_PRELOAD", "/usr/bin/bash", "-c",
	    "echo a >/dev/stderr", NULL };
	struct harness_result r;

	harness_run(argv, NULL, NULL, &r);
	cr_assert(r.code == 1, "status %d", r.code);
	cr_assert(harness_contains(harness_read_file(log, NULL), "No such device or address"),
	    "log: %s", harness_read_file(log, NULL));
}

/* What --catch-all changes for the program: its fd 2 is a socket, not a
 * terminal (and without it, here, a plain file). */
Test(catchall, command_sees_a_socket_as_fd_2, .timeout = TEST_TIMEOUT(60))
{
	const char *with[] = { "--catch-all", NULL };
	const char *args[] = { "s:", NULL };
	char *log;
	struct ca_ids ids;

	for (int on = 0; on < 2; on++) {
		struct harness_result r = ca_run(1, on ? with : NULL, args, &log);

		ca_ids_parse(r.out, &ids);
		cr_assert(r.code == 0 && r.err_len == 0, "status %d: %s", r.code, r.err);
		cr_assert(ids.sock == on && ids.tty == 0, "catch-all %d: fd2 socket=%d tty=%d",
		    on, ids.sock, ids.tty);
	}
}

/*
 * Usage errors exit 2 with a message naming the option, and start
 * nothing: an unknown --stderr-severity (mplog-run and mplogd), the new
 * options without a COMMAND, --catch-all with --stderr pass or --shm.
 */
Test(catchall, usage_errors_exit_2_naming_the_option, .timeout = TEST_TIMEOUT(60))
{
	char *run = harness_repo("scripts/mplog-run"), *mplogd = harness_build("mplogd");
	char *shim = harness_shim(), *host = harness_build("hosts/rawerr");
	struct {
		char *argv[10];
		const char *names;
	} cases[] = {
		{ { run, "--stderr-severity", "loud", "--", host, NULL }, "--stderr-severity" },
		{ { run, "--stderr-severity=", "--", host, NULL }, "--stderr-severity" },
		{ { mplogd, "--preload", shim, "--stderr-severity", "8", "--", host, NULL },
		    "--stderr-severity" },
		{ { mplogd, "--stderr-severity", "info", NULL }, "COMMAND" },
		{ { mplogd, "--catch-all", NULL }, "COMMAND" },
		{ { run, "--catch-all", "--stderr", "pass", "--", host, NULL }, "--catch-all" },
		{ { mplogd, "--preload", shim, "--catch-all", "--stderr", "pass", "--", host, NULL },
		    "--catch-all" },
		{ { run, "--shm", "/mplog-test-usage", "--catch-all", "--", host, NULL }, "--catch-all" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct harness_result r;

		harness_run(cases[i].argv, NULL, NULL, &r);
		cr_assert(r.code == 2, "case %zu (%s): status %d: %s", i, cases[i].argv[1],
		    r.code, r.err);
		cr_assert(harness_contains(r.err, cases[i].names), "case %zu: message \"%s\" "
		    "does not name %s", i, r.err, cases[i].names);
		cr_assert(!harness_contains(r.out, "rawerr pid="), "case %zu: the command ran", i);
	}
}
