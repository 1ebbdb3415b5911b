/*
 * mplogd - the companion consumer: creates the shared segment, reads every
 * process's lane, and writes one time-ordered log to its sinks. With a
 * COMMAND, runs it under a private segment and exits with its status.
 */
#include <err.h>
#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "catchall.h"
#include "consumer.h"
#include "daemon.h"
#include "options.h"
#include "run.h"
#include "segguard.h"

/* Looked up by the shim: mplog's own programs are never captured. */
__attribute__((visibility("default"))) int mplog_no_capture = 1;

static volatile sig_atomic_t mplogd_stop;
static volatile sig_atomic_t mplogd_hup;    /* reopen the files */
static struct run mplogd_run;
static struct seg *mplogd_seg;
static struct catchall *mplogd_catchall;   /* run mode with --catch-all */
static int mplogd_draining;                 /* the catch-all reader was told */

/*
 * Wake the main loop from a signal handler (seg_wake_consumer is atomics
 * and a futex call: signal-safe). A signal that comes after the loop's
 * last check but before it marks itself sleeping is seen at the next
 * check, at most one heartbeat later.
 */
static void
mplogd_wake(void)
{
	if (mplogd_seg != NULL)
		seg_wake_consumer(mplogd_seg);
}

static void
mplogd_on_signal(int sig, siginfo_t *si, void *ctx)
{
	int saved = errno;

	(void)ctx;
	if (sig == SIGHUP)
		mplogd_hup = 1;
	if (mplogd_run.child > 0)
		run_signal(&mplogd_run, sig, si);
	else if (sig != SIGHUP)
		mplogd_stop = 1;
	mplogd_wake();
	errno = saved;
}

static void
mplogd_on_child(int sig)
{
	int saved = errno;

	(void)sig;
	mplogd_wake();
	errno = saved;
}

/* The signals of RUN_RESET ignored when mplogd started. */
static sigset_t mplogd_ignored;

/* Install the handlers; SIGPIPE is ignored (a closed output is reported),
 * and SIGXFSZ (a file sink past RLIMIT_FSIZE fails with EFBIG, reported
 * and retried like any other failing write).
 * A signal that was ignored when mplogd started (nohup, a background job)
 * stays ignored, and so stays ignored for the command too. */
static void
mplogd_signals(void)
{
	static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa, old;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = mplogd_on_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		if (sigaction(forwarded[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
			sigaction(forwarded[i], &sa, NULL);
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sa.sa_handler = mplogd_on_child;
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);
}

/* Create the segment or exit with a message saying why not. */
static void
mplogd_open(struct consumer *c, const struct mplogd_opts *o)
{
	pid_t owner = 0;

	/* A private name holds our own pid: whatever is under it was left by
	 * a dead process that had this pid before, and is not taken over. */
	if (o->private_shm)
		shm_unlink(o->shm);
	if (consumer_open(c, o->shm, &o->params, &owner) == 0)
		return;
	if (errno == EBUSY)
		errx(MPLOGD_EXIT_BUSY, "%s: already served by a running mplogd (pid %d)",
		    o->shm, (int)owner);
	if (errno == EEXIST)
		errx(MPLOGD_EXIT_FAIL, "%s: exists but is not an mplog segment of this "
		    "version; remove /dev/shm%s if nothing uses it", o->shm, o->shm);
	err(MPLOGD_EXIT_FAIL, "%s: cannot create the segment", o->shm);
}

/* --system, --socket: hand lanes over a socket, or exit saying why not. */
static void
mplogd_listen(struct consumer *c, const struct mplogd_opts *o)
{
	int saved;

	struct lanesrv_who who = { .everyone = o->system, .owner = geteuid(),
	    .has_group = (o->params.mode & 0060) != 0, .group = o->params.group };

	if (consumer_listen(c, o->socket, o->socket_mode, o->lanes_per_uid, &who) == 0)
		return;
	saved = errno;
	consumer_close(c);
	if (saved == EADDRINUSE)
		errx(MPLOGD_EXIT_BUSY, "%s: another mplogd listens there", o->socket);
	errno = saved;
	err(MPLOGD_EXIT_FAIL, "%s: cannot listen", o->socket);
}

/* Tell whoever waits on --ready-fd that producers can attach. */
static void
mplogd_ready(int fd)
{
	if (fd < 0)
		return;
	if (write(fd, "ready\n", 6) != 6)
		warn("--ready-fd %d", fd);
	close(fd);
}

/*
 * Run mode: 1 once the command has exited and, with --catch-all, the
 * reader has read its socket to the end (or to the final-drain bound)
 * and published everything. Until then the command stays a zombie, so
 * that /proc/PID/comm still names what it wrote last.
 */
static int
mplogd_command_over(void)
{
	if (mplogd_catchall != NULL) {
		if (!mplogd_draining) {
			if (!run_peek(&mplogd_run))
				return 0;
			catchall_stop(mplogd_catchall, seg_now_mono() + CONSUMER_DRAIN_NS);
			mplogd_draining = 1;
		}
		if (!catchall_done(mplogd_catchall))
			return 0;
		catchall_close(mplogd_catchall);
		mplogd_catchall = NULL;
	}
	return run_poll(&mplogd_run);
}

/* Open every sink of o, or exit naming the one that cannot be. */
static struct sink *
mplogd_open_sinks(struct mplogd_opts *o)
{
	/* "-" is standard output; without -o, in run mode, standard error. */
	int fd = o->command != NULL && o->default_output ? 2 : 1;
	struct sink *sinks = calloc(o->nsinks, sizeof(*sinks));
	char why[512];

	if (sinks == NULL)
		err(MPLOGD_EXIT_FAIL, "sinks");
	for (size_t i = 0; i < o->nsinks; i++)
		if (sink_open(&sinks[i], &o->sinks[i], fd, why, sizeof(why)) == -1)
			errx(MPLOGD_EXIT_FAIL, "%s", why);
	return sinks;
}

static void
mplogd_close_sinks(struct consumer *c)
{
	for (size_t i = 0; i < c->nsinks; i++)
		sink_close(&c->sinks[i]);
	free(c->sinks);
	c->sinks = NULL;
	c->nsinks = 0;
}

/*
 * The segment was truncated under us, and segguard made the lost part
 * read as zeroes: replace the segment, unless the catch-all reader writes
 * into the old mapping (then go on with it). With no new segment there is
 * nothing left to serve: exit 1; in run mode, wait for the command, whose
 * processes then pass their lines through.
 */
static void
mplogd_truncated(struct consumer *c, const struct mplogd_opts *o)
{
	if (segguard_recover(c, o->shm, &o->params, mplogd_catchall == NULL) == 0 ||
	    o->command != NULL)
		return;
	mplogd_close_sinks(c);
	segguard_disarm();
	consumer_close(c);
	exit(MPLOGD_EXIT_FAIL);
}

/* Read and deliver until told to stop or the command is over. */
static void
mplogd_loop(struct consumer *c, const struct mplogd_opts *o)
{
	int running = o->command != NULL;

	for (;;) {
		size_t n = consumer_step(c, 0);

		consumer_beat(c);
		if (segguard_pending())
			mplogd_truncated(c, o);
		if (mplogd_hup) {
			mplogd_hup = 0;
			consumer_reopen(c);
		}
		if (mplogd_stop || (running && mplogd_command_over()))
			return;
		if (n == 0)
			consumer_sleep(c);
	}
}

/*
 * --catch-all: the socket, its lane and its reader thread, made before
 * the fork. The reader then sits in poll(2) on a socket nobody has
 * written to, holding no lock, so the child may still use malloc and
 * setenv before its exec. In tee mode the command's shim leaves stderr
 * alone (pass) and every byte comes through the socket to be copied to
 * our stderr; else the shim captures as usual (capture, whatever the
 * caller's MPLOG_STDERR says) and only unhooked bytes come this way.
 */
static void
mplogd_catch_all(struct consumer *c, const struct mplogd_opts *o, struct run_spec *spec)
{
	int tee = o->stderr_mode != NULL && strcmp(o->stderr_mode, "tee") == 0;

	mplogd_catchall = catchall_open(&c->seg, tee, o->stderr_severity);
	if (mplogd_catchall == NULL) {
		int saved = errno;

		consumer_close(c);
		errno = saved;
		err(MPLOGD_EXIT_FAIL, "--catch-all: cannot set up the stderr socket");
	}
	spec->stderr_fd = catchall_child_fd(mplogd_catchall);
	spec->stderr_mode = tee ? "pass" : "capture";
}

/* Start the command of run mode, or exit saying why not. */
static void
mplogd_start_command(struct consumer *c, const struct mplogd_opts *o)
{
	if (o->preload == NULL)
		errx(MPLOGD_EXIT_USAGE, "a COMMAND needs --preload PATH (mplog-run passes it)");
	struct run_spec spec = {
		.argv = o->command, .preload = o->preload, .shm = o->shm,
		.stderr_mode = o->stderr_mode, .stdout_mode = o->stdout_mode,
		.stderr_severity = o->stderr_severity_name,
		.multiline = o->multiline,
		.stderr_fd = -1, .ignored = mplogd_ignored,
	};
	sigset_t block, old;

	if (access(o->preload, R_OK) == -1)
		err(MPLOGD_EXIT_FAIL, "--preload %s", o->preload);
	/* A signal before the child's pid is known would stop mplogd and
	 * leave the command unattended: hold them until it is. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old);
	if (o->catch_all)
		mplogd_catch_all(c, o, &spec);
	if (run_start(&mplogd_run, &spec) == -1) {
		int saved = errno;

		if (mplogd_catchall != NULL)
			catchall_close(mplogd_catchall);
		consumer_close(c);
		errno = saved;
		err(MPLOGD_EXIT_FAIL, "cannot start %s", o->command[0]);
	}
	if (mplogd_catchall != NULL)
		catchall_forked(mplogd_catchall);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

int
main(int argc, char **argv)
{
	struct mplogd_opts o;
	struct consumer c;
	int code = MPLOGD_EXIT_OK;

	setlocale(LC_CTYPE, "C.UTF-8");
	tzset();
	run_ignored_now(&mplogd_ignored);
	options_parse(argc, argv, &o);
	daemon_begin(o.pidfile, o.daemon);
	struct sink *sinks = mplogd_open_sinks(&o);

	mplogd_open(&c, &o);
	c.sinks = sinks;
	c.nsinks = o.nsinks;
	c.window_ns = o.window_ns;
	c.flush_ns = o.flush_ns;
	mplogd_listen(&c, &o);
	if (ratelimit_init(&c.rate, consumer_lanes_max(&c), o.rate_burst, o.rate_ns) == -1)
		err(MPLOGD_EXIT_FAIL, "--rate-limit");
	if (c.adopted)
		consumer_note(&c, LOG_NOTICE, "took over %s from mplogd pid %d, which died",
		    o.shm, (int)c.adopted_from);
	mplogd_seg = &c.seg;
	if (segguard_arm(c.seg.meta, c.seg.size) == -1)
		warn("%s: cannot guard the segment against SIGBUS", o.shm);
	mplogd_signals();
	if (o.command != NULL)
		mplogd_start_command(&c, &o);
	daemon_serving();
	mplogd_ready(o.ready_fd);
	mplogd_loop(&c, &o);
	/* Everything the catch-all reader published goes in the final drain. */
	if (mplogd_catchall != NULL)
		catchall_close(mplogd_catchall);
	consumer_finish(&c);
	if (o.command != NULL)
		code = run_exit_code(&mplogd_run);
	mplogd_close_sinks(&c);
	segguard_disarm();
	consumer_close(&c);
	ratelimit_free(&c.rate);
	return code;
}
