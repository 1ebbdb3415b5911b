/*
 * rawerr - write to descriptor 2 around the C library, where no hook can
 * see it, and through it, as the catch-all tests ask.
 *
 *   rawerr DIRECTIVE...
 *
 * Directives run in order; TEXT is decoded from \n, \t, \\ and \xHH first.
 *   r:TEXT   one raw write system call, syscall(SYS_write, 2, TEXT)
 *   w:TEXT   one write(2, TEXT) through the C library (the shim's hook)
 *   p:N      parent and a forked child each write N lines, raw, every line
 *            in two pieces, and take turns piece by piece (through pipes),
 *            so on fd 2 the pieces alternate: parent a, child a, parent b,
 *            child b, ... Line I of WHO (parent, child) is
 *            "rawerr WHO seq=I " then "sum=XXXXXXXX\n", XXXXXXXX the
 *            checksum_fnv of the first piece. The child prints
 *            "child pid=PID" and exits 0; the parent waits for it.
 *   m:N      the main thread writes N raw lines "rawerr raw seq=I" while a
 *            second thread writes N lines "rawerr hooked seq=I" with
 *            write(2); that thread prints "thread tid=TID"; joined after.
 *   l:N      one raw write of a line of N bytes and its newline: byte K of
 *            the line is 'a' + K % 26
 *   b:TEXT   fork a child that prints "late pid=PID", waits until this
 *            process has exited, then writes TEXT raw and exits
 *   z:       fork a child that prints "holder pid=PID" and then sleeps
 *            for ever with fd 2 open (and nothing else)
 *   d:       free the same block twice: glibc writes "free(): double free
 *            detected in tcache 2" to fd 2 with a raw system call, then
 *            aborts (exit status 134)
 *   h:       hold: read standard input until end of file
 *   s:       print "fd2 socket=S tty=T" (1 or 0): what fd 2 is
 *   t:       print "mono ns=N", CLOCK_MONOTONIC now (last, it dates the
 *            exit)
 * First it prints "rawerr pid=PID tid=TID". A write that does not write
 * everything prints a line starting "FAIL". Exits 0, or 2 for a directive
 * it does not know.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "checksum.h"
#include "decode.h"

/* A line to stdout, written at once (several processes share it). */
static void __attribute__((format(printf, 1, 2)))
rawerr_out(const char *fmt, ...)
{
	char buf[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (write(1, buf, (size_t)n) != n)
		exit(97);
}

/* One raw write system call of n bytes to fd 2: no hook sees it. */
static void
rawerr_raw(const char *buf, size_t n)
{
	long w = syscall(SYS_write, 2, buf, n);

	if (w != (long)n)
		rawerr_out("FAIL raw write returned %ld\n", w);
}

/* One write(2) of n bytes to fd 2, through the C library. */
static void
rawerr_hooked(const char *buf, size_t n)
{
	ssize_t w = write(2, buf, n);

	if (w != (ssize_t)n)
		rawerr_out("FAIL write returned %ld\n", (long)w);
}

/* Piece a or b of line seq of who. */
static size_t
rawerr_piece(char *buf, size_t len, const char *who, long seq, int b)
{
	int n = snprintf(buf, len, "rawerr %s seq=%ld ", who, seq);

	if (b)
		n = snprintf(buf, len, "sum=%08x\n", checksum_fnv(buf, (size_t)n));
	return (size_t)n;
}

/* One side of p:N: 2N pieces, each written on our turn (a token read
 * from in; the starting side's first piece needs none), then the turn is
 * handed over (a token written to out). */
static void
rawerr_turns(const char *who, long n, int in, int out, int starts)
{
	char buf[64], c = 't';

	for (long k = 0; k < 2 * n; k++) {
		if ((k > 0 || !starts) && read(in, &c, 1) != 1)
			exit(96);
		rawerr_raw(buf, rawerr_piece(buf, sizeof(buf), who, k / 2, (int)(k % 2)));
		if (write(out, &c, 1) != 1)
			exit(96);
	}
}

/* p:N - parent and child alternate raw pieces on fd 2. */
static void
rawerr_procs(long n)
{
	int p2c[2], c2p[2], status;
	pid_t pid;

	if (pipe(p2c) == -1 || pipe(c2p) == -1)
		exit(98);
	if ((pid = fork()) == -1)
		exit(98);
	if (pid == 0) {
		rawerr_out("child pid=%ld\n", (long)getpid());
		rawerr_turns("child", n, p2c[0], c2p[1], 0);
		_exit(0);
	}
	rawerr_turns("parent", n, c2p[0], p2c[1], 1);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		rawerr_out("FAIL child status %ld\n", (long)status);
	close(p2c[0]);
	close(p2c[1]);
	close(c2p[0]);
	close(c2p[1]);
}

/* m:N's second thread: hooked lines. */
static void *
rawerr_thread(void *arg)
{
	long n = *(long *)arg;
	char buf[64];

	rawerr_out("thread tid=%ld\n", (long)syscall(SYS_gettid));
	for (long seq = 0; seq < n; seq++) {
		int k = snprintf(buf, sizeof(buf), "rawerr hooked seq=%ld\n", seq);

		rawerr_hooked(buf, (size_t)k);
	}
	return NULL;
}

/* m:N - raw lines from the main thread, hooked ones from a second. */
static void
rawerr_mixed(long n)
{
	pthread_t t;
	char buf[64];

	if (pthread_create(&t, NULL, rawerr_thread, &n) != 0)
		exit(98);
	for (long seq = 0; seq < n; seq++) {
		int k = snprintf(buf, sizeof(buf), "rawerr raw seq=%ld\n", seq);

		rawerr_raw(buf, (size_t)k);
	}
	pthread_join(t, NULL);
}

/* l:N - one raw write of an N-byte line and its newline. */
static void
rawerr_long(long n)
{
	char *buf = malloc((size_t)n + 1);

	if (buf == NULL)
		exit(98);
	for (long k = 0; k < n; k++)
		buf[k] = (char)('a' + k % 26);
	buf[n] = '\n';
	rawerr_raw(buf, (size_t)n + 1);
	free(buf);
}

/* b:TEXT - a child writes text once we have exited (its pipe's other end
 * closes with us). */
static void
rawerr_late(const char *text, size_t n)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe(p) == -1 || (pid = fork()) == -1)
		exit(98);
	if (pid == 0) {
		close(p[1]);
		rawerr_out("late pid=%ld\n", (long)getpid());
		while (read(p[0], &c, 1) > 0)
			;
		rawerr_raw(text, n);
		_exit(0);
	}
	close(p[0]);
}

/* z: - a child that keeps fd 2 (a copy of the command's) open for ever. */
static void
rawerr_holder(void)
{
	pid_t pid = fork();

	if (pid == -1)
		exit(98);
	if (pid == 0) {
		rawerr_out("holder pid=%ld\n", (long)getpid());
		close(0);
		close(1);
		close_range(3, ~0u, 0);
		for (;;)
			pause();
	}
}

/* d: - a double free; glibc reports it and aborts. */
static void
rawerr_double_free(void)
{
	/* volatile: the compiler must not see (and warn about) the reuse. */
	char *volatile p = malloc(24);

	free(p);
	free(p);
	rawerr_out("FAIL the double free went unnoticed\n");
}

/* h: - read standard input to its end. */
static void
rawerr_hold(void)
{
	char buf[256];

	while (read(0, buf, sizeof(buf)) > 0)
		;
}

/* s: - what fd 2 is. */
static void
rawerr_stat(void)
{
	struct stat st;
	char buf[64];
	int sock = fstat(2, &st) == 0 && S_ISSOCK(st.st_mode);
	int n = snprintf(buf, sizeof(buf), "fd2 socket=%d tty=%d\n", sock, isatty(2));

	if (write(1, buf, (size_t)n) != n)
		exit(97);
}

/* t: - the time now, on the clock other processes read too. */
static void
rawerr_time(void)
{
	struct timespec ts;
	char buf[64];
	int n;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	n = snprintf(buf, sizeof(buf), "mono ns=%lld\n",
	    (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	if (write(1, buf, (size_t)n) != n)
		exit(97);
}

int
main(int argc, char **argv)
{
	char buf[96];
	int n = snprintf(buf, sizeof(buf), "rawerr pid=%ld tid=%ld\n", (long)getpid(),
	    (long)syscall(SYS_gettid));

	if (write(1, buf, (size_t)n) != n)
		return 97;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		char *text;
		size_t len;

		if (a[0] == '\0' || a[1] != ':')
			return 2;
		switch (a[0]) {
		case 'r':
		case 'w':
			text = decode_escapes(a + 2, &len);
			(a[0] == 'r' ? rawerr_raw : rawerr_hooked)(text, len);
			free(text);
			break;
		case 'b':
			text = decode_escapes(a + 2, &len);
			rawerr_late(text, len);
			free(text);
			break;
		case 'l':
			rawerr_long(atol(a + 2));
			break;
		case 'z':
			rawerr_holder();
			break;
		case 'p':
			rawerr_procs(atol(a + 2));
			break;
		case 'm':
			rawerr_mixed(atol(a + 2));
			break;
		case 'd':
			rawerr_double_free();
			break;
		case 'h':
			rawerr_hold();
			break;
		case 's':
			rawerr_stat();
			break;
		case 't':
			rawerr_time();
			break;
		default:
			return 2;
		}
	}
	return 0;
}
