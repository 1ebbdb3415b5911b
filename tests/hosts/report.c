/*
 * report - call one of glibc's reporting functions, so that a test can
 * compare what glibc itself writes (a run without mplog) with what mplog
 * captures of the same call.
 *
 *   report CASE
 *
 * CASE names the calls made (see report_cases below); every message
 * starts with "report" so that it is recognisable. The program first
 * calls setlocale(LC_ALL, ""), so LANGUAGE and LC_ALL select glibc's
 * translations. Before each call errno is set to a known value
 * (REPORT_ERRNO unless the case needs another).
 *
 * To stdout, in single writes: "report pid=PID\n" first; after the case
 * (also when it exits through exit(3)), "errno=kept" or "errno=N" (errno
 * after the last call, compared with the value set before it),
 * "fwide=N" (stderr's orientation: -1, 0, 1) and "count=N"
 * (error_message_count); "FAIL ..." for anything the host checks itself.
 * The error cases also leave "stdout before error\n" in stdout's buffer
 * before the call, which error() flushes first. Exits 0, or the status
 * the case's err/error call exits with, or dies of SIGABRT (assert), or 2
 * for an unknown CASE.
 */
#include <assert.h>
#include <err.h>
#include <errno.h>
#include <error.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>

#define REPORT_ERRNO EACCES

static int report_expect = REPORT_ERRNO;        /* errno set before the call */

/* Set errno for the next call, remembering it. */
static void
report_errno(int e)
{
	report_expect = e;
	errno = e;
}

/* The status lines, also on exit(3): errno, orientation, count. */
static void
report_status(void)
{
	int e = errno;

	if (e == report_expect)
		dprintf(STDOUT_FILENO, "errno=kept\n");
	else
		dprintf(STDOUT_FILENO, "errno=%d\n", e);
	dprintf(STDOUT_FILENO, "fwide=%d\ncount=%u\n", fwide(stderr, 0), error_message_count);
}

/* Leave a line in stdout's buffer: error() must flush it first. */
static void
report_stdout(void)
{
	fputs("stdout before error\n", stdout);
}

static void
report_vwarn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
}

static void
report_vwarnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarnx(fmt, ap);
	va_end(ap);
}

static void
report_verr(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr(status, fmt, ap);
}

static void
report_verrx(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verrx(status, fmt, ap);
}

static void
case_perror(void)
{
	report_errno(ENOENT);
	perror("report perror");
}

static void
case_perror_null(void)
{
	report_errno(EPERM);
	perror(NULL);
	report_errno(EIO);
	perror("");
}

static void
case_warn(void)
{
	warn("report warn %d %s", 42, "forty-two");
}

static void
case_warn_m(void)
{
	warn("report warn %%m says %m");
}

static void
case_warn_nofmt(void)
{
	warn(NULL);
}

static void
case_warnx(void)
{
	warnx("report warnx %s", "text");
	warnx(NULL);
}

static void
case_vwarn(void)
{
	report_vwarn("report vwarn %d", 7);
	report_vwarnx("report vwarnx %d", 8);
}

static void
case_err(void)
{
	report_errno(ENOENT);
	err(3, "report err %d", 3);
}

static void
case_errx(void)
{
	errx(4, "report errx %s", "four");
}

static void
case_verr(void)
{
	report_errno(ENOTDIR);
	report_verr(5, "report verr %d", 5);
}

static void
case_verrx(void)
{
	report_verrx(6, "report verrx %d", 6);
}

static void
case_error(void)
{
	report_stdout();
	error(0, 0, "report error %d", 1);
}

static void
case_error_errnum(void)
{
	report_stdout();
	error(0, EPERM, "report error with errnum");
	error(0, 9999, "report error with an unknown errnum, %%m says %m");
}

static void
case_error_status(void)
{
	report_stdout();
	error(7, ENOENT, "report error exits with %d", 7);
}

static void
case_error_at_line(void)
{
	report_stdout();
	error_at_line(0, EIO, "report.c", 42, "report error_at_line %s", "here");
	error_at_line(0, 0, NULL, 0, "report error_at_line without a file");
}

static void
case_error_one_per_line(void)
{
	char again[] = "a.c";

	error_one_per_line = 1;
	error_at_line(0, 0, "a.c", 1, "report first at a.c:1");
	error_at_line(0, 0, again, 1, "report second at a.c:1 (not printed)");
	error_at_line(0, 0, "a.c", 2, "report at a.c:2");
	error_at_line(0, 0, "b.c", 2, "report at b.c:2");
	error_at_line(0, 0, "a.c", 2, "report at a.c:2 again");
	error_at_line(0, 0, "a.c", 2, "report at a.c:2 a third time (not printed)");
}

/* error_print_progname: writes its own prefix through stdio. */
static void
report_progname(void)
{
	fprintf(stderr, "%s (custom): ", program_invocation_short_name);
}

static void
case_error_print_progname(void)
{
	error_print_progname = report_progname;
	error(0, EINVAL, "report error with a custom program name");
	error_at_line(0, 0, "c.c", 3, "report error_at_line with it");
}

static void
case_psignal(void)
{
	psignal(SIGINT, "report psignal");
	psignal(SIGTERM, NULL);
	psignal(SIGRTMIN + 2, "");
}

static void
case_psignal_unknown(void)
{
	psignal(99, "report psignal");
	psignal(-1, NULL);
	psignal(0, "report psignal 0");
}

static void
case_psignal_all(void)
{
	for (int sig = -2; sig <= NSIG + 1; sig++)
		psignal(sig, "report psignal all");
}

static volatile sig_atomic_t report_got;
static siginfo_t report_si;

static void
report_handler(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)ctx;
	report_si = *si;
	report_got = 1;
}

/* psiginfo of a SIGUSR1 this process sent itself with kill(2); the pid
 * is then replaced by 1 so that the text is the same in every run. */
static void
case_psiginfo(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = report_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) == -1 || kill(getpid(), SIGUSR1) == -1)
		dprintf(STDOUT_FILENO, "FAIL cannot send SIGUSR1\n");
	if (!report_got || report_si.si_code != SI_USER || report_si.si_pid != getpid())
		dprintf(STDOUT_FILENO, "FAIL no SI_USER siginfo from kill\n");
	report_si.si_pid = 1;
	report_errno(REPORT_ERRNO);
	psiginfo(&report_si, "report psiginfo");
	psiginfo(&report_si, NULL);
}

/* psiginfo for every signal glibc tells apart, with every si_code it
 * names and a few it does not. */
static void
case_psiginfo_all(void)
{
	const int sigs[] = {
		SIGILL, SIGFPE, SIGSEGV, SIGBUS, SIGTRAP, SIGCHLD, SIGPOLL, SIGUSR1,
		SIGKILL, SIGRTMIN, SIGRTMIN + 1, SIGRTMAX - 1, SIGRTMAX, 32, 33, 0,
		NSIG, -1,
	};
	const int codes[] = {
		SI_ASYNCNL, SI_TKILL, SI_SIGIO, SI_ASYNCIO, SI_MESGQ, SI_TIMER,
		SI_QUEUE, SI_USER, 1, 2, 3, 4, 5, 6, 7, 8, 9, 14, SI_KERNEL, 1000,
	};

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		for (size_t j = 0; j < sizeof(codes) / sizeof(codes[0]); j++) {
			siginfo_t si;

			memset(&si, 0, sizeof(si));
			si.si_signo = sigs[i];
			si.si_code = codes[j];
			if (sigs[i] == SIGCHLD) {
				si.si_pid = 123;
				si.si_uid = 456;
				si.si_status = 7;
			} else if (sigs[i] == SIGPOLL) {
				si.si_band = 0x41;
			} else if (sigs[i] == SIGSEGV || sigs[i] == SIGBUS ||
			    sigs[i] == SIGILL || sigs[i] == SIGFPE) {
				si.si_addr = j % 2 == 0 ? NULL : (void *)0xdeadbeef;
			} else {
				si.si_pid = 321;
				si.si_uid = 654;
			}
			psiginfo(&si, j % 3 == 0 ? NULL : "report psiginfo all");
		}
	}
}

/* A prefix longer than psiginfo's buffer: the text is cut off at 511
 * bytes, without a newline. */
static void
case_psiginfo_long(void)
{
	char s[700];
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	si.si_signo = SIGUSR2;
	si.si_code = SI_QUEUE;
	memset(s, 'r', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	psiginfo(&si, s);
	s[500] = '\0';
	psiginfo(&si, s);
	psiginfo(&si, "report psiginfo after");
}

static void
case_assert(void)
{
	int two = 2;

	assert(two + 2 == 5);
}

static void
case_assert_perror(void)
{
	assert_perror(ENOENT);
}

/* Text already in a fully buffered stderr: glibc's warnx and perror
 * write it out first, then their own. */
static void
case_buffered(void)
{
	static char buf[BUFSIZ];

	setvbuf(stderr, buf, _IOFBF, sizeof(buf));
	fputs("report held in the buffer, ", stderr);
	warnx("report warnx after it");
	fputs("report held again, ", stderr);
	perror("report perror after it");
	fputs("report held to the end\n", stderr);
}

/* A wide-oriented stderr with plain ASCII text: the bytes are the same. */
static void
case_wide(void)
{
	fwide(stderr, 1);
	fputws(L"report wide fputws\n", stderr);
	warnx("report wide warnx %d", 1);
	report_errno(ENOENT);
	perror("report wide perror");
	error(0, EPERM, "report wide error");
	psignal(SIGINT, "report wide psignal");
}

/* A wide-oriented stderr and text that is not ASCII: glibc's wide printf
 * counts precision in characters ("%.3s" keeps three of them). */
static void
case_wide_utf8(void)
{
	fwide(stderr, 1);
	warnx("report wide %.3s|%5s|", "h\xc3\xa9llo", "\xc3\xa9t\xc3\xa9");
	error(0, 0, "report wide error \xc3\xa9");
}

/* The shapes of every message in one run (for the translated runs). */
static void
case_all(void)
{
	report_errno(ENOENT);
	perror("report all perror");
	report_errno(ENOENT);   /* glibc's perror may leave EINVAL */
	warn("report all warn");
	error(0, ENOENT, "report all error");
	error_at_line(0, EISDIR, "all.c", 9, "report all error_at_line");
	psignal(SIGSEGV, "report all psignal");
	psignal(77, "report all psignal");
	case_psiginfo();
}

static const struct report_case {
	const char *name;
	void (*fn)(void);
} report_cases[] = {
	{ "perror", case_perror },
	{ "perror_null", case_perror_null },
	{ "warn", case_warn },
	{ "warn_m", case_warn_m },
	{ "warn_nofmt", case_warn_nofmt },
	{ "warnx", case_warnx },
	{ "vwarn", case_vwarn },
	{ "err", case_err },
	{ "errx", case_errx },
	{ "verr", case_verr },
	{ "verrx", case_verrx },
	{ "error", case_error },
	{ "error_errnum", case_error_errnum },
	{ "error_status", case_error_status },
	{ "error_at_line", case_error_at_line },
	{ "error_one_per_line", case_error_one_per_line },
	{ "error_print_progname", case_error_print_progname },
	{ "psignal", case_psignal },
	{ "psignal_unknown", case_psignal_unknown },
	{ "psignal_all", case_psignal_all },
	{ "psiginfo", case_psiginfo },
	{ "psiginfo_all", case_psiginfo_all },
	{ "psiginfo_long", case_psiginfo_long },
	{ "assert", case_assert },
	{ "assert_perror", case_assert_perror },
	{ "buffered", case_buffered },
	{ "wide", case_wide },
	{ "wide_utf8", case_wide_utf8 },
	{ "all", case_all },
};

int
main(int argc, char **argv)
{
	setlocale(LC_ALL, "");
	dprintf(STDOUT_FILENO, "report pid=%d\n", (int)getpid());
	if (argc != 2)
		return 2;
	for (size_t i = 0; i < sizeof(report_cases) / sizeof(report_cases[0]); i++) {
		if (strcmp(argv[1], report_cases[i].name) != 0)
			continue;
		atexit(report_status);
		report_errno(REPORT_ERRNO);
		report_cases[i].fn();
		return 0;
	}
	dprintf(STDOUT_FILENO, "FAIL unknown case %s\n", argv[1]);
	return 2;
}
