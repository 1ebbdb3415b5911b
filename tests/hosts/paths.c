/*
 * paths - one uniquely marked line through each way a C program writes to
 * stderr, for tests/test_conform.c. The Makefile builds it twice: plain
 * (-O0, every stdio call is a call) as hosts/paths, and fortified (-O2
 * -D_FORTIFY_SOURCE=2: the printf family becomes __fprintf_chk and
 * friends, putc_unlocked and fputc_unlocked are inlined and land in
 * __overflow) as hosts/paths-fortify.
 *
 *   paths [wide] PATH[=ARG]...
 *
 * The paths are done in order. "wide" first sets the locale to C.UTF-8
 * and allows only the wide paths (a wide stderr takes no byte output).
 * err, errx, verr, verrx, error-exit, assert and assert-perror end the
 * process. Below, M is "@PATH@", PROG the short program name, ARGV0 the
 * full argv[0], E strerror(ENOENT); the text written to stderr, and in
 * brackets its record under mplog when it differs (source stderr,
 * severity info, unless said):
 *
 * stdio, descriptors, syslog
 *   fprintf vfprintf       "M formatted N\n", N 1 and 2
 *   fputs fputs_unlocked   "M string\n"
 *   fputc putc fputc_unlocked putc_unlocked
 *                          "M chars\n", one call per byte
 *   fwrite fwrite_unlocked "M block\n"
 *   fflush                 "M buffered\n" put in stdout's buffer while fd
 *                          1 is stdout, flushed while fd 1 is dup2(2, 1)
 *   printf vprintf         "M formatted N\n", N 3 and 4, while fd 1 is
 *                          dup2(2, 1); then "stdout after PATH\n" to the
 *                          restored, real stdout
 *   puts                   "M string\n", likewise
 *   putchar                "M chars\n", one call per byte, likewise
 *   dprintf vdprintf       "M formatted N\n" to fd 2, N 5 and 6
 *   dup dup3 fcntl-dupfd fcntl-dupfd-cloexec
 *                          "M write\n" by write(2) to a copy of fd 2
 *   fdopen                 "M formatted 7\n" by fprintf to fdopen(dup(2)),
 *                          then fclose
 *   open-dev-stderr open64-dev-fd-2 openat-proc-self open-proc-pid
 *                          "M write\n" by write(2) to a descriptor opened
 *                          by that name of stderr for appending
 *                          (/proc/PID/fd/2 with its own pid)
 *   fopen-dev-stderr freopen-dev-fd-2
 *                          "M opened\n" by fputs to a stream opened by
 *                          that name of stderr for appending (freopen of a
 *                          stream on /dev/null), then fclose
 *   pri3                   "<3>M severe\n"             [severity err: M severe]
 *   syslog                 openlog("paths-id", LOG_PERROR | LOG_PID,
 *                          LOG_LOCAL2), syslog(LOG_WARNING, "%s formatted
 *                          %d", M, 8), closelog: glibc copies
 *                          "paths-id[PID]: M formatted 8\n" to stderr
 *                          [source syslog, local2, warning, ident paths-id]
 *   long64k long150k       one line of 65536 or 150000 bytes (no newline
 *                          counted), byte i paths_long_byte(M, i), written
 *                          in PATHS_LONG_PIECE-byte pieces by write(2) or
 *                          fwrite, then "\n" [64 KiB records]
 *   threads                two threads in lockstep write their lines in
 *                          PATHS_PIECES pieces by fputs, interleaved:
 *                          "@thread-a@" or "@thread-b@", then " pNN" for
 *                          each piece, then "\n"; "id thread-a tid=T" and
 *                          "id thread-b tid=T" go to stdout
 *   redirect=FILE          dup(2) kept; dup2(/dev/null, 2), then
 *                          "M to devnull\n" by fprintf and write; close(2)
 *                          (write and fputs must fail with EBADF); FILE
 *                          opened (must get fd 2), "M to file\n" by fprintf;
 *                          fd 2 restored, "M restored\n" by fprintf
 * reporting functions (errno ENOENT where it is used)
 *   perror                 "M: E\n"
 *   warn vwarn             "PROG: M formatted N: E\n", N 9 and 11
 *   warnx vwarnx           "PROG: M formatted N\n", N 10 and 12
 *   error                  error(0, ENOENT, ...): "ARGV0: M formatted 13: E\n"
 *   error_at_line          "ARGV0:src/at.c:42: M formatted 14: E\n"
 *   psignal                "M: " strsignal(SIGUSR1) "\n"
 *   psiginfo               "M: " strsignal(SIGUSR1) " (Signal sent by kill()
 *                          4242 77)\n"
 * ending the process
 *   err verr               "PROG: M formatted N: E\n", N 15 and 17; exit 3, 5
 *   errx verrx             "PROG: M formatted N\n", N 16 and 18; exit 4, 6
 *   error-exit             error(7, ENOENT, ...): "ARGV0: M formatted 19: E\n"
 *   assert                 "PROG: FILE:LINE: paths_assert: Assertion
 *                          `!"@assert@"' failed.\n", abort; first
 *                          "where FILE:LINE" goes to stdout
 *   assert-perror          "PROG: FILE:LINE: paths_assert_perror: Unexpected
 *                          error: E.\n", abort; "where FILE:LINE" likewise
 * wide ("wide" first; the text is "M é\n" or "M é N\n" in UTF-8)
 *   fwprintf vfwprintf     "M é N\n", N 20 and 21
 *   fputws fputws_unlocked "M é\n"
 *   fputwc putwc fputwc_unlocked putwc_unlocked
 *                          "M é\n", one call per wide character
 *
 * To stdout, fully buffered: "id pid=PID" first, the lines named above,
 * and a line starting "FAIL" whenever a call returned the wrong value or
 * changed errno (it is set to PATHS_ERRNO before each call). Exits 0,
 * the status named above, or 2 for an unknown path.
 */
#include <assert.h>
#include <err.h>
#include <errno.h>
#include <error.h>
#include <fcntl.h>
#include <locale.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <unistd.h>
#include <wchar.h>

#include "paths.h"

/* Report a call that returned got instead of want, or changed errno. */
static void
paths_check(const char *what, long got, long want)
{
	int e = errno;

	if (got != want || e != PATHS_ERRNO)
		printf("FAIL %s: returned %ld, expected %ld; errno %d\n", what, got, want, e);
}

/* Report a condition that does not hold. */
static void
paths_assume(int ok, const char *what)
{
	if (!ok)
		printf("FAIL %s (errno %d)\n", what, errno);
}

/* The length of the formatted text. */
static long __attribute__((format(printf, 1, 2)))
paths_len(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	return n;
}

/* One call of a va_list printf with the text; which: 0 vfprintf to
 * stderr, 1 vprintf, 2 vdprintf to fd 2. */
static void __attribute__((format(printf, 2, 3)))
paths_vcall(int which, const char *fmt, ...)
{
	static const char *const names[] = { "vfprintf", "vprintf", "vdprintf" };
	va_list ap;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	va_start(ap, fmt);
	errno = PATHS_ERRNO;
	switch (which) {
	case 0: r = vfprintf(stderr, fmt, ap); break;
	case 1: r = vprintf(fmt, ap); break;
	default: r = vdprintf(2, fmt, ap); break;
	}
	paths_check(names[which], r, n);
	va_end(ap);
}

static void
paths_fprintf(const char *m, const char *arg)
{
	(void)arg;
	errno = PATHS_ERRNO;
	paths_check("fprintf", fprintf(stderr, "%s formatted %d\n", m, 1),
	    paths_len("%s formatted %d\n", m, 1));
}

static void
paths_vfprintf_path(const char *m, const char *arg)
{
	(void)arg;
	paths_vcall(0, "%s formatted %d\n", m, 2);
}

/* "M suffix\n" in buf. */
static size_t
paths_text(char *buf, size_t len, const char *m, const char *suffix)
{
	return (size_t)snprintf(buf, len, "%s %s\n", m, suffix);
}

/* "M string\n" by fputs, or fputs_unlocked. */
static void
paths_string(const char *m, int unlocked)
{
	char t[128];
	int r;

	paths_text(t, sizeof(t), m, "string");
	errno = PATHS_ERRNO;
	r = unlocked ? fputs_unlocked(t, stderr) : fputs(t, stderr);
	paths_check(unlocked ? "fputs_unlocked" : "fputs", r >= 0, 1);
}

static void paths_fputs(const char *m, const char *a) { (void)a; paths_string(m, 0); }
static void paths_fputs_unlocked(const char *m, const char *a) { (void)a; paths_string(m, 1); }

/* One call per byte of "M chars\n"; which: 0 fputc, 1 putc, 2
 * fputc_unlocked, 3 putc_unlocked. */
static void
paths_chars(const char *m, int which)
{
	static const char *const names[] = { "fputc", "putc", "fputc_unlocked",
	    "putc_unlocked" };
	char t[128];
	size_t n = paths_text(t, sizeof(t), m, "chars");

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)t[i], r;

		errno = PATHS_ERRNO;
		switch (which) {
		case 0: r = fputc(c, stderr); break;
		case 1: r = putc(c, stderr); break;
		case 2: r = fputc_unlocked(c, stderr); break;
		default: r = putc_unlocked(c, stderr); break;
		}
		paths_check(names[which], r, c);
	}
}

static void paths_fputc(const char *m, const char *a) { (void)a; paths_chars(m, 0); }
static void paths_putc(const char *m, const char *a) { (void)a; paths_chars(m, 1); }
static void paths_fputc_unlocked(const char *m, const char *a) { (void)a; paths_chars(m, 2); }
static void paths_putc_unlocked(const char *m, const char *a) { (void)a; paths_chars(m, 3); }

/* "M block\n" by fwrite, or fwrite_unlocked. */
static void
paths_block(const char *m, int unlocked)
{
	char t[128];
	size_t n = paths_text(t, sizeof(t), m, "block"), r;

	errno = PATHS_ERRNO;
	r = unlocked ? fwrite_unlocked(t, 1, n, stderr) : fwrite(t, 1, n, stderr);
	paths_check(unlocked ? "fwrite_unlocked" : "fwrite", (long)r, (long)n);
}

static void paths_fwrite(const char *m, const char *a) { (void)a; paths_block(m, 0); }
static void paths_fwrite_unlocked(const char *m, const char *a) { (void)a; paths_block(m, 1); }

/* fd 1 becomes a copy of stderr until paths_out_back. */
static int paths_saved_out = -1;

static void
paths_out_to_err(void)
{
	fflush(stdout);
	paths_saved_out = dup(1);
	paths_assume(paths_saved_out != -1 && dup2(2, 1) == 1, "dup2(2, 1)");
}

/* fd 1 is stdout again; "stdout after PATH" goes there. */
static void
paths_out_back(const char *name)
{
	fflush(stdout);
	paths_assume(dup2(paths_saved_out, 1) == 1, "dup2(saved, 1)");
	close(paths_saved_out);
	printf("stdout after %s\n", name);
	fflush(stdout);
}

static void
paths_fflush(const char *m, const char *arg)
{
	char t[128];

	(void)arg;
	paths_text(t, sizeof(t), m, "buffered");
	fflush(stdout);
	errno = PATHS_ERRNO;
	paths_check("fputs to stdout", fputs(t, stdout) >= 0, 1);
	paths_saved_out = dup(1);
	paths_assume(paths_saved_out != -1 && dup2(2, 1) == 1, "dup2(2, 1)");
	errno = PATHS_ERRNO;
	paths_check("fflush", fflush(stdout), 0);
	paths_out_back("fflush");
}

static void
paths_printf(const char *m, const char *arg)
{
	(void)arg;
	paths_out_to_err();
	errno = PATHS_ERRNO;
	paths_check("printf", printf("%s formatted %d\n", m, 3),
	    paths_len("%s formatted %d\n", m, 3));
	paths_out_back("printf");
}

static void
paths_vprintf(const char *m, const char *arg)
{
	(void)arg;
	paths_out_to_err();
	paths_vcall(1, "%s formatted %d\n", m, 4);
	paths_out_back("vprintf");
}

static void
paths_puts(const char *m, const char *arg)
{
	char t[128];

	(void)arg;
	snprintf(t, sizeof(t), "%s string", m);
	paths_out_to_err();
	errno = PATHS_ERRNO;
	paths_check("puts", puts(t) >= 0, 1);
	paths_out_back("puts");
}

static void
paths_putchar(const char *m, const char *arg)
{
	char t[128];
	size_t n = paths_text(t, sizeof(t), m, "chars");

	(void)arg;
	paths_out_to_err();
	for (size_t i = 0; i < n; i++) {
		errno = PATHS_ERRNO;
		paths_check("putchar", putchar((unsigned char)t[i]), (unsigned char)t[i]);
	}
	paths_out_back("putchar");
}

static void
paths_dprintf(const char *m, const char *arg)
{
	(void)arg;
	errno = PATHS_ERRNO;
	paths_check("dprintf", dprintf(2, "%s formatted %d\n", m, 5),
	    paths_len("%s formatted %d\n", m, 5));
}

static void
paths_vdprintf(const char *m, const char *arg)
{
	(void)arg;
	paths_vcall(2, "%s formatted %d\n", m, 6);
}

/* "M write\n" by write(2) to fd, a copy of stderr, which is then closed. */
static void
paths_write_copy(const char *m, int fd, const char *what)
{
	char t[128];
	size_t n = paths_text(t, sizeof(t), m, "write");

	paths_assume(fd != -1, what);
	errno = PATHS_ERRNO;
	paths_check(what, write(fd, t, n), (long)n);
	close(fd);
}

static void paths_dup(const char *m, const char *a) { (void)a; paths_write_copy(m, dup(2), "dup"); }
static void paths_dup3(const char *m, const char *a) { (void)a; paths_write_copy(m, dup3(2, 20, O_CLOEXEC), "dup3"); }
static void paths_dupfd(const char *m, const char *a) { (void)a; paths_write_copy(m, fcntl(2, F_DUPFD, 30), "F_DUPFD"); }
static void paths_dupfd_cloexec(const char *m, const char *a) { (void)a; paths_write_copy(m, fcntl(2, F_DUPFD_CLOEXEC, 40), "F_DUPFD_CLOEXEC"); }

/* Descriptors opened on stderr by one of its names (appending: a file
 * as stderr is not written over), written and closed. */
static void paths_open_dev_stderr(const char *m, const char *a) { (void)a; paths_write_copy(m, open("/dev/stderr", O_WRONLY | O_APPEND), "open /dev/stderr"); }
static void paths_open_dev_fd(const char *m, const char *a) { (void)a; paths_write_copy(m, open64("/dev/fd/2", O_WRONLY | O_APPEND), "open64 /dev/fd/2"); }
static void paths_openat_self(const char *m, const char *a) { (void)a; paths_write_copy(m, openat(AT_FDCWD, "/proc/self/fd/2", O_WRONLY | O_APPEND | O_CLOEXEC), "openat /proc/self/fd/2"); }

static void
paths_open_proc_pid(const char *m, const char *arg)
{
	char path[64];

	(void)arg;
	snprintf(path, sizeof(path), "/proc/%ld/fd/2", (long)getpid());
	paths_write_copy(m, open(path, O_WRONLY | O_APPEND), "open /proc/PID/fd/2");
}

/* "M opened\n" by fputs to f, a stream on stderr, which is then closed. */
static void
paths_put_opened(const char *m, FILE *f, const char *what)
{
	char t[128];

	paths_text(t, sizeof(t), m, "opened");
	paths_assume(f != NULL, what);
	if (f == NULL)
		return;
	errno = PATHS_ERRNO;
	paths_check(what, fputs(t, f) >= 0, 1);
	errno = PATHS_ERRNO;
	paths_check("fclose", fclose(f), 0);
}

static void
paths_fopen_stderr(const char *m, const char *arg)
{
	(void)arg;
	paths_put_opened(m, fopen("/dev/stderr", "a"), "fopen /dev/stderr");
}

static void
paths_freopen_stderr(const char *m, const char *arg)
{
	FILE *f = fopen("/dev/null", "w");

	(void)arg;
	paths_assume(f != NULL, "fopen /dev/null");
	if (f != NULL)
		paths_put_opened(m, freopen("/dev/fd/2", "a", f), "freopen /dev/fd/2");
}

static void
paths_fdopen(const char *m, const char *arg)
{
	FILE *f = fdopen(dup(2), "w");

	(void)arg;
	paths_assume(f != NULL, "fdopen");
	if (f == NULL)
		return;
	errno = PATHS_ERRNO;
	paths_check("fprintf to fdopen", fprintf(f, "%s formatted %d\n", m, 7),
	    paths_len("%s formatted %d\n", m, 7));
	errno = PATHS_ERRNO;
	paths_check("fclose", fclose(f), 0);
}

static void
paths_pri3(const char *m, const char *arg)
{
	(void)arg;
	errno = PATHS_ERRNO;
	paths_check("fprintf <3>", fprintf(stderr, "<3>%s severe\n", m), (long)strlen(m) + 11);
}

static void
paths_syslog(const char *m, const char *arg)
{
	(void)arg;
	openlog("paths-id", LOG_PERROR | LOG_PID, LOG_LOCAL2);
	syslog(LOG_WARNING, "%s formatted %d", m, 8);
	closelog();
}

/* A line of len bytes by paths_long_byte in pieces, then its newline. */
static void
paths_long(const char *m, size_t len, int by_fwrite)
{
	char piece[PATHS_LONG_PIECE];
	size_t ml = strlen(m);

	for (size_t off = 0; off < len; off += sizeof(piece)) {
		size_t k = len - off < sizeof(piece) ? len - off : sizeof(piece);

		for (size_t j = 0; j < k; j++)
			piece[j] = paths_long_byte(m, ml, off + j);
		errno = PATHS_ERRNO;
		if (by_fwrite)
			paths_check("fwrite piece", (long)fwrite(piece, 1, k, stderr), (long)k);
		else
			paths_check("write piece", write(2, piece, k), (long)k);
	}
	errno = PATHS_ERRNO;
	paths_check("newline", write(2, "\n", 1), 1);
}

static void paths_long64k(const char *m, const char *a) { (void)a; paths_long(m, 65536, 0); }
static void paths_long150k(const char *m, const char *a) { (void)a; paths_long(m, 150000, 1); }

struct paths_thread {
	pthread_t th;
	int which;                      /* 0: writes first in each round */
	pthread_barrier_t *bar;
};

/* Write this thread's line piece by piece, in lockstep with the other. */
static void *
paths_thread_main(void *arg)
{
	struct paths_thread *t = arg;
	char piece[64];

	printf("id thread-%c tid=%ld\n", 'a' + t->which, (long)syscall(SYS_gettid));
	for (int i = 0; i < PATHS_PIECES; i++) {
		int n = snprintf(piece, sizeof(piece), "%s p%02d%s",
		    i == 0 ? (t->which == 0 ? "@thread-a@" : "@thread-b@") : "", i,
		    i == PATHS_PIECES - 1 ? "\n" : "");

		if (t->which == 1)
			pthread_barrier_wait(t->bar);
		errno = PATHS_ERRNO;
		paths_check("fputs piece", fputs(piece, stderr) >= 0 && n > 0, 1);
		if (t->which == 0)
			pthread_barrier_wait(t->bar);
		pthread_barrier_wait(t->bar);
	}
	return NULL;
}

static void
paths_threads(const char *m, const char *arg)
{
	struct paths_thread t[2];
	pthread_barrier_t bar;

	(void)m;
	(void)arg;
	pthread_barrier_init(&bar, NULL, 2);
	for (int i = 0; i < 2; i++) {
		t[i].which = i;
		t[i].bar = &bar;
		paths_assume(pthread_create(&t[i].th, NULL, paths_thread_main, &t[i]) == 0,
		    "pthread_create");
	}
	for (int i = 0; i < 2; i++)
		pthread_join(t[i].th, NULL);
	pthread_barrier_destroy(&bar);
}

static void
paths_redirect(const char *m, const char *file)
{
	int saved = dup(2), null = open("/dev/null", O_WRONLY), fd;
	char t[128];
	size_t n = paths_text(t, sizeof(t), m, "to devnull");

	paths_assume(saved != -1 && null != -1 && file != NULL, "redirect setup");
	paths_assume(dup2(null, 2) == 2, "dup2(devnull, 2)");
	close(null);
	errno = PATHS_ERRNO;
	paths_check("fprintf to devnull", fprintf(stderr, "%s", t), (long)n);
	errno = PATHS_ERRNO;
	paths_check("write to devnull", write(2, t, n), (long)n);
	paths_assume(close(2) == 0, "close(2)");
	errno = 0;
	paths_assume(write(2, t, n) == -1 && errno == EBADF, "write to closed fd 2: EBADF");
	errno = 0;
	paths_assume(fputs(t, stderr) == EOF && errno == EBADF, "fputs to closed fd 2: EBADF");
	clearerr(stderr);
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	paths_assume(fd == 2, "open FILE gets fd 2");
	errno = PATHS_ERRNO;
	paths_check("fprintf to file", fprintf(stderr, "%s to file\n", m), (long)strlen(m) + 9);
	paths_assume(dup2(saved, 2) == 2, "dup2(saved, 2)");
	close(saved);
	errno = PATHS_ERRNO;
	paths_check("fprintf restored", fprintf(stderr, "%s restored\n", m), (long)strlen(m) + 10);
}

/* ---- reporting functions ---- */

static void
paths_perror(const char *m, const char *arg)
{
	(void)arg;
	errno = ENOENT;
	perror(m);
}

static void
paths_warn(const char *m, const char *arg)
{
	(void)arg;
	errno = ENOENT;
	warn("%s formatted %d", m, 9);
}

static void
paths_warnx(const char *m, const char *arg)
{
	(void)arg;
	warnx("%s formatted %d", m, 10);
}

/* vwarn (x 0), vwarnx (x 1), verr (x 2) or verrx (x 3) with errno ENOENT. */
static void __attribute__((format(printf, 2, 3)))
paths_v(int x, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	errno = ENOENT;
	switch (x) {
	case 0: vwarn(fmt, ap); break;
	case 1: vwarnx(fmt, ap); break;
	case 2: verr(5, fmt, ap);
	default: verrx(6, fmt, ap);
	}
	va_end(ap);
}

static void paths_vwarn(const char *m, const char *a) { (void)a; paths_v(0, "%s formatted %d", m, 11); }
static void paths_vwarnx(const char *m, const char *a) { (void)a; paths_v(1, "%s formatted %d", m, 12); }

static void
paths_error(const char *m, const char *arg)
{
	(void)arg;
	error(0, ENOENT, "%s formatted %d", m, 13);
}

static void
paths_error_at_line(const char *m, const char *arg)
{
	(void)arg;
	error_at_line(0, ENOENT, PATHS_AT_FILE, PATHS_AT_LINE, "%s formatted %d", m, 14);
}

static void
paths_psignal(const char *m, const char *arg)
{
	(void)arg;
	psignal(SIGUSR1, m);
}

static void
paths_psiginfo(const char *m, const char *arg)
{
	siginfo_t si;

	(void)arg;
	memset(&si, 0, sizeof(si));
	si.si_signo = SIGUSR1;
	si.si_code = SI_USER;
	si.si_pid = PATHS_SIG_PID;
	si.si_uid = PATHS_SIG_UID;
	psiginfo(&si, m);
}

static void
paths_err(const char *m, const char *arg)
{
	(void)arg;
	errno = ENOENT;
	err(3, "%s formatted %d", m, 15);
}

static void
paths_errx(const char *m, const char *arg)
{
	(void)arg;
	errx(4, "%s formatted %d", m, 16);
}

static void paths_verr(const char *m, const char *a) { (void)a; paths_v(2, "%s formatted %d", m, 17); }
static void paths_verrx(const char *m, const char *a) { (void)a; paths_v(3, "%s formatted %d", m, 18); }

static void
paths_error_exit(const char *m, const char *arg)
{
	(void)arg;
	error(7, ENOENT, "%s formatted %d", m, 19);
}

/* Say on stdout where stmt, an assertion, stands: the same __LINE__. */
#define PATHS_WHERE(stmt) do {						\
	printf("where %s:%d\n", __FILE__, __LINE__);			\
	fflush(stdout);							\
	stmt;								\
} while (0)

static void
paths_assert(const char *m, const char *arg)
{
	(void)m;
	(void)arg;
	PATHS_WHERE(assert(!"@assert@"));
}

static void
paths_assert_perror(const char *m, const char *arg)
{
	(void)m;
	(void)arg;
	PATHS_WHERE(assert_perror(ENOENT));
}

/* ---- wide ---- */

static void
paths_fwprintf(const char *m, const char *arg)
{
	(void)arg;
	errno = PATHS_ERRNO;
	paths_check("fwprintf", fwprintf(stderr, L"%s \u00e9 %d\n", m, 20), (long)strlen(m) + 6);
}

/* vfwprintf; want is the number of wide characters it must write. */
static void
paths_vfwprintf_call(long want, const wchar_t *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	errno = PATHS_ERRNO;
	r = vfwprintf(stderr, fmt, ap);
	va_end(ap);
	paths_check("vfwprintf", r, want);
}

static void
paths_vfwprintf(const char *m, const char *arg)
{
	(void)arg;
	paths_vfwprintf_call((long)strlen(m) + 6, L"%s \u00e9 %d\n", m, 21);
}

/* "M é\n" as wide characters in w. */
static size_t
paths_wtext(wchar_t *w, size_t len, const char *m)
{
	return (size_t)swprintf(w, len, L"%s \u00e9\n", m);
}

/* "M é\n" by fputws, or fputws_unlocked. */
static void
paths_wstring(const char *m, int unlocked)
{
	wchar_t w[64];
	int r;

	paths_wtext(w, 64, m);
	errno = PATHS_ERRNO;
	r = unlocked ? fputws_unlocked(w, stderr) : fputws(w, stderr);
	paths_check(unlocked ? "fputws_unlocked" : "fputws", r >= 0, 1);
}

static void paths_fputws(const char *m, const char *a) { (void)a; paths_wstring(m, 0); }
static void paths_fputws_unlocked(const char *m, const char *a) { (void)a; paths_wstring(m, 1); }

/* One call per wide character; which: 0 fputwc, 1 putwc, 2
 * fputwc_unlocked, 3 putwc_unlocked. */
static void
paths_wchars(const char *m, int which)
{
	static const char *const names[] = { "fputwc", "putwc", "fputwc_unlocked",
	    "putwc_unlocked" };
	wchar_t w[64];
	size_t n = paths_wtext(w, 64, m);

	for (size_t i = 0; i < n; i++) {
		wint_t r;

		errno = PATHS_ERRNO;
		switch (which) {
		case 0: r = fputwc(w[i], stderr); break;
		case 1: r = putwc(w[i], stderr); break;
		case 2: r = fputwc_unlocked(w[i], stderr); break;
		default: r = putwc_unlocked(w[i], stderr); break;
		}
		paths_check(names[which], (long)r, (long)w[i]);
	}
}

static void paths_fputwc(const char *m, const char *a) { (void)a; paths_wchars(m, 0); }
static void paths_putwc(const char *m, const char *a) { (void)a; paths_wchars(m, 1); }
static void paths_fputwc_unlocked(const char *m, const char *a) { (void)a; paths_wchars(m, 2); }
static void paths_putwc_unlocked(const char *m, const char *a) { (void)a; paths_wchars(m, 3); }

/* ---- main ---- */

struct paths_path {
	const char *name;
	void (*fn)(const char *mark, const char *arg);
	int wide;
};

static const struct paths_path paths_all[] = {
	{ "fprintf", paths_fprintf, 0 },
	{ "vfprintf", paths_vfprintf_path, 0 },
	{ "fputs", paths_fputs, 0 },
	{ "fputs_unlocked", paths_fputs_unlocked, 0 },
	{ "fputc", paths_fputc, 0 },
	{ "putc", paths_putc, 0 },
	{ "fputc_unlocked", paths_fputc_unlocked, 0 },
	{ "putc_unlocked", paths_putc_unlocked, 0 },
	{ "fwrite", paths_fwrite, 0 },
	{ "fwrite_unlocked", paths_fwrite_unlocked, 0 },
	{ "fflush", paths_fflush, 0 },
	{ "printf", paths_printf, 0 },
	{ "vprintf", paths_vprintf, 0 },
	{ "puts", paths_puts, 0 },
	{ "putchar", paths_putchar, 0 },
	{ "dprintf", paths_dprintf, 0 },
	{ "vdprintf", paths_vdprintf, 0 },
	{ "dup", paths_dup, 0 },
	{ "dup3", paths_dup3, 0 },
	{ "fcntl-dupfd", paths_dupfd, 0 },
	{ "fcntl-dupfd-cloexec", paths_dupfd_cloexec, 0 },
	{ "fdopen", paths_fdopen, 0 },
	{ "open-dev-stderr", paths_open_dev_stderr, 0 },
	{ "open64-dev-fd-2", paths_open_dev_fd, 0 },
	{ "openat-proc-self", paths_openat_self, 0 },
	{ "open-proc-pid", paths_open_proc_pid, 0 },
	{ "fopen-dev-stderr", paths_fopen_stderr, 0 },
	{ "freopen-dev-fd-2", paths_freopen_stderr, 0 },
	{ "pri3", paths_pri3, 0 },
	{ "syslog", paths_syslog, 0 },
	{ "long64k", paths_long64k, 0 },
	{ "long150k", paths_long150k, 0 },
	{ "threads", paths_threads, 0 },
	{ "redirect", paths_redirect, 0 },
	{ "perror", paths_perror, 0 },
	{ "warn", paths_warn, 0 },
	{ "warnx", paths_warnx, 0 },
	{ "vwarn", paths_vwarn, 0 },
	{ "vwarnx", paths_vwarnx, 0 },
	{ "error", paths_error, 0 },
	{ "error_at_line", paths_error_at_line, 0 },
	{ "psignal", paths_psignal, 0 },
	{ "psiginfo", paths_psiginfo, 0 },
	{ "err", paths_err, 0 },
	{ "errx", paths_errx, 0 },
	{ "verr", paths_verr, 0 },
	{ "verrx", paths_verrx, 0 },
	{ "error-exit", paths_error_exit, 0 },
	{ "assert", paths_assert, 0 },
	{ "assert-perror", paths_assert_perror, 0 },
	{ "fwprintf", paths_fwprintf, 1 },
	{ "vfwprintf", paths_vfwprintf, 1 },
	{ "fputws", paths_fputws, 1 },
	{ "fputws_unlocked", paths_fputws_unlocked, 1 },
	{ "fputwc", paths_fputwc, 1 },
	{ "putwc", paths_putwc, 1 },
	{ "fputwc_unlocked", paths_fputwc_unlocked, 1 },
	{ "putwc_unlocked", paths_putwc_unlocked, 1 },
};

int
main(int argc, char **argv)
{
	static char outbuf[BUFSIZ];
	int wide = 0, i = 1;

	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
	printf("id pid=%ld\n", (long)getpid());
	if (argc > 1 && strcmp(argv[1], "wide") == 0) {
		paths_assume(setlocale(LC_ALL, "C.UTF-8") != NULL, "setlocale C.UTF-8");
		wide = 1;
		i++;
	}
	for (; i < argc; i++) {
		size_t k = strcspn(argv[i], "=");
		const struct paths_path *p = NULL;
		char mark[64];

		for (size_t j = 0; j < sizeof(paths_all) / sizeof(paths_all[0]); j++)
			if (strlen(paths_all[j].name) == k &&
			    strncmp(paths_all[j].name, argv[i], k) == 0)
				p = &paths_all[j];
		if (p == NULL || p->wide != wide || k > 40) {
			fflush(stdout);
			dprintf(2, "paths: unknown path %s\n", argv[i]);
			return 2;
		}
		snprintf(mark, sizeof(mark), "@%.*s@", (int)k, argv[i]);
		p->fn(mark, argv[i][k] == '=' ? argv[i] + k + 1 : NULL);
		fflush(stdout);
	}
	return 0;
}
