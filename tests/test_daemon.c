/*
 * test_daemon.c - mplogd --daemon and --pidfile, run as a user runs them.
 * The parent exits 0 once the daemon serves; the pidfile holds the pid of
 * the daemon, which is the consumer mplogctl sees; a producer started
 * after is captured; a second daemon on the same pidfile is refused with
 * exit 3 and one line naming the pidfile and the running pid; SIGTERM
 * stops the daemon, which writes what it read and removes its pidfile.
 * Bad combinations are usage errors (exit 2).
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harness.h"

/* The detached daemon of the test, killed at teardown if still there:
 * it left the harness's process group, so the harness cannot. */
static pid_t daemont_pid;

static void
daemont_teardown(void)
{
	if (daemont_pid > 0)
		kill(daemont_pid, SIGKILL);
	harness_teardown();
}

TestSuite(daemon, .init = harness_setup, .fini = daemont_teardown);

/* The pid written in the pidfile path. */
static pid_t
daemont_read_pid(const char *path)
{
	char *text = harness_read_file(path, NULL), *end;
	long pid = strtol(text, &end, 10);

	cr_assert(pid > 0 && (*end == '\0' || *end == '\n'), "%s holds '%s'", path, text);
	return (pid_t)pid;
}

/* Run mplogd --daemon with the options opts (NULL-ended); returns what
 * the process the shell would wait for did. */
static struct harness_result
daemont_start(const char *pidfile, const char *shm, const char *log)
{
	char *argv[] = { harness_build("mplogd"), "--daemon", "--pidfile", (char *)pidfile,
	    "--shm", (char *)shm, "-o", (char *)log, "--format", "json", NULL };
	struct harness_result r;

	harness_run(argv, NULL, NULL, &r);
	return r;
}

/* Wait up to timeout_ms for pid, not a child of ours, to end. */
static void
daemont_wait_gone(pid_t pid, int timeout_ms)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct pollfd p = { fd, POLLIN, 0 };

	if (fd == -1 && errno == ESRCH)
		return;
	cr_assert(fd != -1, "pidfd_open %d: %s", (int)pid, strerror(errno));
	cr_assert_eq(poll(&p, 1, timeout_ms), 1, "mplogd %d did not exit within %d ms",
	    (int)pid, timeout_ms);
	close(fd);
}

Test(daemon, detaches_once_serving_refuses_a_second_and_stops_on_sigterm,
    .timeout = TEST_TIMEOUT(60))
{
	const char *shm = harness_shm_name();
	char *pidfile = harness_file("mplogd.pid"), *log = harness_file("daemon.log");
	char *ctl[] = { harness_build("mplogctl"), "--shm", (char *)shm, "--json", "status", NULL };
	char *say[] = { harness_build("hosts/say"), "w:captured by the daemon\\n", NULL };
	char *want;
	struct harness_result r;
	struct harness_rec *recs;
	size_t n;

	r = daemont_start(pidfile, shm, log);
	cr_assert_eq(r.code, 0, "mplogd --daemon: %s", r.err);
	cr_assert_str_empty(r.err);
	daemont_pid = daemont_read_pid(pidfile);
	cr_assert_neq(daemont_pid, r.pid, "the pidfile names the parent, which exited");
	cr_assert_eq(kill(daemont_pid, 0), 0, "the daemon %d is not running", (int)daemont_pid);

	/* It serves the segment: mplogctl sees it as its live consumer. */
	cr_assert_eq(harness_run(ctl, NULL, NULL, &r), 0, "%s", r.err);
	want = harness_fmt("{\"daemon\":{\"pid\":%d,\"state\":\"alive\",", (int)daemont_pid);
	cr_assert(harness_contains(r.out, want), "want %s in %s", want, r.out);

	/* A producer started now is captured. */
	cr_assert_eq(harness_run(say, harness_env(harness_fmt("LD_PRELOAD=%s", harness_shim()),
	    harness_fmt("MPLOG_SHM=%s", shm), NULL), NULL, &r), 0, "say: %s", r.err);
	cr_assert_str_empty(r.err, "the line was not captured: %s", r.err);

	/* A second daemon on the same pidfile is refused, naming it and the pid. */
	r = daemont_start(pidfile, harness_shm_name(), harness_file("second.log"));
	cr_assert_eq(r.code, 3, "second mplogd --daemon: exit %d, %s", r.code, r.err);
	want = harness_fmt("mplogd: %s: held by a running mplogd (pid %d)\n", pidfile,
	    (int)daemont_pid);
	cr_assert_str_eq(r.err, want);
	cr_assert_eq(daemont_read_pid(pidfile), daemont_pid);

	/* SIGTERM: it writes what it read, exits and removes the pidfile. */
	cr_assert_eq(kill(daemont_pid, SIGTERM), 0);
	daemont_wait_gone(daemont_pid, 10000);
	daemont_pid = 0;
	cr_assert_eq(access(pidfile, F_OK), -1, "the pidfile outlived the daemon");
	cr_assert_eq(errno, ENOENT);
	recs = harness_json_load(log, &n);
	cr_assert_eq(n, 1, "%zu records in %s", n, log);
	cr_assert_str_eq(recs[0].msg, "captured by the daemon");
	cr_assert_str_eq(recs[0].source, "stderr");
}

Test(daemon, foreground_pidfile_holds_the_pid_until_exit, .timeout = TEST_TIMEOUT(30))
{
	char *pidfile = harness_file("fg.pid");
	const char *extra[] = { "--pidfile", pidfile, NULL };
	struct harness_daemon d;

	harness_daemon_start(&d, "json", extra);
	cr_assert_eq(daemont_read_pid(pidfile), d.pid);
	cr_assert_eq(harness_daemon_stop(&d), 0);
	cr_assert_eq(access(pidfile, F_OK), -1, "the pidfile outlived mplogd");
}

Test(daemon, a_failure_before_serving_reaches_the_terminal_with_its_code, .timeout = TEST_TIMEOUT(30))
{
	char *pidfile = harness_file("fail.pid");
	struct harness_result r;

	/* The output cannot be opened: the child says so on the terminal
	 * and the parent exits with the child's status. */
	r = daemont_start(pidfile, harness_shm_name(), "/nonexistent/dir/log");
	cr_assert_eq(r.code, 1, "exit %d: %s", r.code, r.err);
	cr_assert(harness_contains(r.err, "/nonexistent/dir/log"), "%s", r.err);
	cr_assert_eq(access(pidfile, F_OK), -1, "a pidfile was left behind");
}

Test(daemon, daemon_with_a_command_or_without_an_output_is_a_usage_error, .timeout = TEST_TIMEOUT(30))
{
	char *bin = harness_build("mplogd");
	char *with_cmd[] = { bin, "--daemon", "-o", harness_file("x.log"), "--", "/bin/true", NULL };
	char *pid_cmd[] = { bin, "--pidfile", harness_file("x.pid"), "--", "/bin/true", NULL };
	char *no_out[] = { bin, "--daemon", "--pidfile", harness_file("y.pid"), NULL };
	struct harness_result r;

	cr_assert_eq(harness_run(with_cmd, NULL, NULL, &r), 2);
	cr_assert(harness_contains(r.err, "not with a COMMAND"), "%s", r.err);
	cr_assert_eq(harness_run(pid_cmd, NULL, NULL, &r), 2);
	cr_assert(harness_contains(r.err, "not with a COMMAND"), "%s", r.err);
	cr_assert_eq(harness_run(no_out, NULL, NULL, &r), 2);
	cr_assert(harness_contains(r.err, "name an output with -o FILE"), "%s", r.err);
	cr_assert_eq(access(harness_file("y.pid"), F_OK), -1);
}

/* The times mplogd takes in milliseconds are checked: past their range,
 * negative or not a number, each is a usage error naming the option and
 * its range, before anything is created. */
Test(daemon, times_out_of_range_are_usage_errors_naming_the_option, .timeout = TEST_TIMEOUT(30))
{
	static const struct { const char *opt, *arg, *want; } bad[] = {
		{ "--flush-interval", "60001", "--flush-interval: '60001' is not a number from 0 to 60000" },
		{ "--flush-interval", "-1", "--flush-interval: '-1' is not a number from 0 to 60000" },
		{ "--flush-interval", "10ms", "--flush-interval: '10ms' is not a number from 0 to 60000" },
		{ "--reorder-window", "60001", "--reorder-window: '60001' is not a number from 0 to 60000" },
		{ "--reorder-window", "", "--reorder-window: '' is not a number from 0 to 60000" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *argv[] = { harness_build("mplogd"), "-o", harness_file("t.log"),
		    (char *)bad[i].opt, (char *)bad[i].arg, "--", "/bin/true", NULL };
		struct harness_result r;

		cr_assert_eq(harness_run(argv, NULL, NULL, &r), 2, "%s %s: exit %d", bad[i].opt,
		    bad[i].arg, r.code);
		cr_assert(harness_contains(r.err, bad[i].want), "%s", r.err);
		cr_assert_eq(access(harness_file("t.log"), F_OK), -1, "%s %s: a log was made",
		    bad[i].opt, bad[i].arg);
	}
}
