/*
 * logmix - a self-checking load program for the end-to-end tests.
 *
 *   logmix [-p PROCS] [-t THREADS] [-n LINES] [-m MIX] [-x CODE | -k SIG] [-w]
 *
 * The main process forks PROCS children; each child runs THREADS threads,
 * and every thread logs LINES lines (2 x LINES with -w), each of the form
 *
 *   logmix p=P t=T seq=S via=VIA sum=XXXXXXXX
 *
 * where sum is the FNV-1a hash (32 bits, hex) of the text before " sum=".
 * MIX says how each line is written:
 *   write    one write(2, ...) per line
 *   writev   one writev(2, ...) of three pieces per line
 *   pieces   two or three write(2, ...) calls per line (three when S is odd)
 *   multi    up to three whole lines in one write(2, ...): the lines of one
 *            group, S / 3
 *   syslog   syslog(3) with openlog("logmix", 0, LOG_LOCAL3), severity
 *            2 + S % 6 (crit .. debug)
 *   all      by k = S + 3 * T: k % 8 is 0 write, 1 writev, 2 pieces,
 *            3-5 multi (group k / 8), 6-7 syslog
 * A multi group never spans the two phases of -w.
 *
 * To stdout (write(1), never captured) it reports, one line per write:
 *   main pid=PID                     first, from the main process
 *   thread p=P t=T pid=PID tid=TID   once per thread, before it logs
 *   phase1 p=P                       -w: child P finished phase 1
 *   FAIL ...                         a hooked call broke its contract
 * Every write and writev checks its return value and that errno is kept
 * (set to a sentinel before the call); a failure is reported as FAIL and
 * makes the child exit 1, and the main process then exits 100.
 *
 * -w: every thread writes seq 0..LINES-1, then the main process reads one
 * line from stdin and only then do the threads write seq LINES..2*LINES-1.
 *
 * Before forking, the main process writes "logmix start\n" to stderr (so
 * the children are forked from a process that logs). It waits for every
 * child, then writes
 * "logmix exit=CODE\n" to stderr and exits with CODE (-x, default 0), or,
 * with -k SIG, writes nothing and kills itself with SIG.
 */
#if defined(__OPTIMIZE__) && !defined(_FORTIFY_SOURCE)
#define _FORTIFY_SOURCE 2       /* so syslog() is __syslog_chk(), hooked too */
#endif
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "checksum.h"

#define LOGMIX_ERRNO   7919     /* sentinel errno across a hooked call */
#define LOGMIX_LINE    128

enum logmix_via {
	LOGMIX_WRITE, LOGMIX_WRITEV, LOGMIX_PIECES, LOGMIX_MULTI, LOGMIX_SYSLOG,
	LOGMIX_ALL,
};

static const char *const logmix_vias[] = {
	"write", "writev", "pieces", "multi", "syslog", "all",
};

struct logmix_opts {
	int procs, threads, lines, mix, code, sig, wait;
};

struct logmix_thread {
	const struct logmix_opts *o;
	int p, t;
	int failed;
	pthread_t th;
};

static struct logmix_opts opts = { 1, 1, 10, LOGMIX_ALL, 0, 0, 0 };
static pthread_barrier_t logmix_barrier;
static int logmix_go = -1;     /* -w: read end; EOF means phase 2 */

/* The way line seq of thread t is written, and its multi group. */
static int
logmix_via(int mix, int t, int seq, int *group)
{
	static const int cycle[8] = {
		LOGMIX_WRITE, LOGMIX_WRITEV, LOGMIX_PIECES, LOGMIX_MULTI,
		LOGMIX_MULTI, LOGMIX_MULTI, LOGMIX_SYSLOG, LOGMIX_SYSLOG,
	};
	int k = seq + 3 * t;

	*group = seq / 3;
	if (mix != LOGMIX_ALL)
		return mix;
	*group = k / 8;
	return cycle[k % 8];
}

/* Write a whole buffer to stdout in one call (never captured). */
static void __attribute__((format(printf, 1, 2)))
logmix_out(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0 && write(1, buf, (size_t)n) != n)
		_exit(99);
}

/*
 * Read one byte of fd into *c, waiting in poll(2) first: a signal that
 * arrives meanwhile is handled at once, under ThreadSanitizer too, which
 * runs a handler only when it comes during a call it knows to block
 * (poll), not during read(2). Returns what read returned.
 */
static ssize_t
logmix_read(int fd, char *c)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (poll(&p, 1, -1) == -1 && errno == EINTR)
		;
	return read(fd, c, 1);
}

/* The text of a line without its newline; returns its length. */
static int
logmix_format(char *buf, size_t len, int p, int t, int seq, int via)
{
	int n = snprintf(buf, len, "logmix p=%d t=%d seq=%d via=%s", p, t, seq,
	    logmix_vias[via]);

	return n + snprintf(buf + n, len - (size_t)n, " sum=%08x",
	    checksum_fnv(buf, (size_t)n));
}

/* Report a call (what) that returned w instead of n, or changed errno. */
static void
logmix_check(struct logmix_thread *th, int seq, const char *what, ssize_t w, size_t n)
{
	int e = errno;

	if (w != (ssize_t)n || e != LOGMIX_ERRNO) {
		logmix_out("FAIL p=%d t=%d seq=%d: %s returned %zd of %zu, errno %d\n",
		    th->p, th->t, seq, what, w, n, e);
		th->failed = 1;
	}
}

/* write(2) with the return value and errno checked. */
static void
logmix_write(struct logmix_thread *th, int seq, const char *buf, size_t n)
{
	errno = LOGMIX_ERRNO;
	logmix_check(th, seq, "write", write(2, buf, n), n);
}

/* writev(2) with the return value and errno checked. */
static void
logmix_writev(struct logmix_thread *th, int seq, const struct iovec *iov, int cnt)
{
	size_t total = 0;

	for (int i = 0; i < cnt; i++)
		total += iov[i].iov_len;
	errno = LOGMIX_ERRNO;
	logmix_check(th, seq, "writev", writev(2, iov, cnt), total);
}

/* Log line seq (and, for multi, the rest of its group before end); returns
 * the next seq. */
static int
logmix_line(struct logmix_thread *th, int seq, int end)
{
	char buf[3 * (LOGMIX_LINE + 1)];
	int group, via = logmix_via(th->o->mix, th->t, seq, &group);
	int n = logmix_format(buf, sizeof(buf) - 1, th->p, th->t, seq, via);
	int cut, g;

	switch (via) {
	case LOGMIX_WRITE:
		buf[n++] = '\n';
		logmix_write(th, seq, buf, (size_t)n);
		break;
	case LOGMIX_WRITEV: {
		cut = (int)(strstr(buf, " via=") - buf);
		struct iovec iov[3] = {
			{ buf, (size_t)cut }, { buf + cut, (size_t)(n - cut) }, { "\n", 1 },
		};
		logmix_writev(th, seq, iov, 3);
		break;
	}
	case LOGMIX_PIECES:
		cut = (int)(strstr(buf, " via=") - buf) + 1;
		buf[n++] = '\n';
		logmix_write(th, seq, buf, (size_t)cut);
		if (seq % 2 == 1) {
			logmix_write(th, seq, buf + cut, (size_t)(n - 1 - cut));
			logmix_write(th, seq, "\n", 1);
		} else {
			logmix_write(th, seq, buf + cut, (size_t)(n - cut));
		}
		break;
	case LOGMIX_MULTI: {
		int first = seq, len = n;

		buf[len++] = '\n';
		while (seq + 1 < end &&
		    logmix_via(th->o->mix, th->t, seq + 1, &g) == LOGMIX_MULTI && g == group) {
			seq++;
			len += logmix_format(buf + len, sizeof(buf) - 1 - (size_t)len,
			    th->p, th->t, seq, via);
			buf[len++] = '\n';
		}
		logmix_write(th, first, buf, (size_t)len);
		break;
	}
	case LOGMIX_SYSLOG:
		/* The format again, so the shim formats it (the deferred path). */
		cut = (int)(strstr(buf, " sum=") - buf);
		syslog(2 + seq % 6, "logmix p=%d t=%d seq=%d via=%s sum=%08x",
		    th->p, th->t, seq, "syslog", checksum_fnv(buf, (size_t)cut));
		break;
	}
	return seq + 1;
}

static void *
logmix_thread_main(void *arg)
{
	struct logmix_thread *th = arg;
	const struct logmix_opts *o = th->o;
	int seq = 0;

	logmix_out("thread p=%d t=%d pid=%d tid=%d\n", th->p, th->t, (int)getpid(),
	    (int)syscall(SYS_gettid));
	while (seq < o->lines)
		seq = logmix_line(th, seq, o->lines);
	if (o->wait) {
		if (pthread_barrier_wait(&logmix_barrier) == PTHREAD_BARRIER_SERIAL_THREAD) {
			char c;

			logmix_out("phase1 p=%d\n", th->p);
			while (logmix_read(logmix_go, &c) != 0)
				;       /* the main process closes it: phase 2 */
		}
		pthread_barrier_wait(&logmix_barrier);
		while (seq < 2 * o->lines)
			seq = logmix_line(th, seq, 2 * o->lines);
	}
	return NULL;
}

/* A child: run the threads, exit 1 if any of them saw a broken call. */
static void
logmix_child(int p)
{
	struct logmix_thread *ths = calloc((size_t)opts.threads, sizeof(*ths));
	int failed = 0;

	if (ths == NULL || (opts.wait &&
	    pthread_barrier_init(&logmix_barrier, NULL, (unsigned)opts.threads) != 0))
		exit(98);
	for (int t = 0; t < opts.threads; t++) {
		ths[t] = (struct logmix_thread){ .o = &opts, .p = p, .t = t };
		if (pthread_create(&ths[t].th, NULL, logmix_thread_main, &ths[t]) != 0)
			exit(98);
	}
	for (int t = 0; t < opts.threads; t++) {
		pthread_join(ths[t].th, NULL);
		failed |= ths[t].failed;
	}
	exit(failed ? 1 : 0);   /* exit, not _exit: the shim delivers at exit */
}

static void
logmix_usage(void)
{
	logmix_out("usage: logmix [-p PROCS] [-t THREADS] [-n LINES] "
	    "[-m write|writev|pieces|multi|syslog|all] [-x CODE | -k SIG] [-w]\n");
	exit(2);
}

/* Parse the options into opts. */
static void
logmix_options(int argc, char **argv)
{
	int c, i;

	while ((c = getopt(argc, argv, "p:t:n:m:x:k:w")) != -1) {
		switch (c) {
		case 'p': opts.procs = atoi(optarg); break;
		case 't': opts.threads = atoi(optarg); break;
		case 'n': opts.lines = atoi(optarg); break;
		case 'x': opts.code = atoi(optarg); break;
		case 'k': opts.sig = atoi(optarg); break;
		case 'w': opts.wait = 1; break;
		case 'm':
			for (i = 0; i <= LOGMIX_ALL; i++)
				if (strcmp(optarg, logmix_vias[i]) == 0)
					break;
			if (i > LOGMIX_ALL)
				logmix_usage();
			opts.mix = i;
			break;
		default:
			logmix_usage();
		}
	}
	if (optind != argc || opts.procs < 0 || opts.threads < 1 || opts.lines < 0)
		logmix_usage();
}

int
main(int argc, char **argv)
{
	int go[2] = { -1, -1 }, status, failed = 0;
	char c;

	logmix_options(argc, argv);
	logmix_out("main pid=%d\n", (int)getpid());
	openlog("logmix", 0, LOG_LOCAL3);
	errno = LOGMIX_ERRNO;
	if (write(2, "logmix start\n", 13) != 13 || errno != LOGMIX_ERRNO)
		logmix_out("FAIL main: write\n");
	if (opts.wait && pipe(go) == -1)
		return 98;
	logmix_go = go[0];
	for (int p = 0; p < opts.procs; p++) {
		pid_t pid = fork();

		if (pid == -1)
			return 98;
		if (pid == 0) {
			if (go[1] != -1)
				close(go[1]);
			logmix_child(p);
		}
	}
	if (opts.wait) {
		close(go[0]);
		while (logmix_read(0, &c) == 1 && c != '\n')
			;
		close(go[1]);
	}
	while (wait(&status) != -1) {
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			logmix_out("FAIL child status 0x%x\n", (unsigned)status);
			failed = 1;
		}
	}
	if (failed)
		return 100;
	if (opts.sig != 0) {
		signal(opts.sig, SIG_DFL);
		kill(getpid(), opts.sig);
		return 101;     /* not reached for a fatal signal */
	}
	{
		char line[64];
		int n = snprintf(line, sizeof(line), "logmix exit=%d\n", opts.code);

		errno = LOGMIX_ERRNO;
		if (write(2, line, (size_t)n) != n || errno != LOGMIX_ERRNO)
			logmix_out("FAIL main: write\n");
	}
	return opts.code;
}
