/*
 * hook_report.c - glibc's reporting functions that write to stderr
 * through internal calls no other hook sees: perror, the err and warn
 * families, error and error_at_line, and the assert failures
 * (__assert_fail, __assert_perror_fail, __assert). psignal and psiginfo
 * are in hook_signal.c; what both share is in report.h.
 *
 * When mplog captures stderr, a hook builds exactly the text glibc 2.36
 * would write (its translations come from glibc's own message domain,
 * "libc", as glibc looks them up), captures it under stderr's lock
 * (errout_put), and then does the function's other effects itself: the
 * flushes, error_message_count, exit, abort. The real function is then
 * not called, so nothing is printed twice. Otherwise the real function
 * runs, as it does for a wide-oriented stderr and text that is not
 * plain ASCII (report.h). A captured call leaves errno as it was at the
 * call.
 *
 * Unlike the rest of the shim, these hooks exit and abort: the functions
 * they stand in for do. Thread-safe as glibc's are (error_one_per_line's
 * memory of the last file and line is unlocked in both); not
 * async-signal-safe, like glibc's.
 */
/* This file defines functions the headers may declare inline. */
#include <features.h>
#undef __USE_EXTERN_INLINES

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "errout.h"
#include "hook.h"
#include "real.h"
#include "report.h"

#define REPORT_ERRBUF   1024            /* glibc's strerror buffers */

/* ---- perror ----------------------------------------------------------- */

/*
 * Whether perror orients stderr. glibc's perror leaves an unoriented
 * stderr as it is by writing through fdopen(dup(fd), "w+"), which only
 * works when the descriptor is open for reading and writing; otherwise it
 * writes through stderr, which orients it.
 */
static int
report_perror_orients(void)
{
	int fl = fcntl(stderr->_fileno, F_GETFL);

	return fl == -1 || (fl & O_ACCMODE) != O_RDWR;
}

/* perror's line: "S: strerror(errno)\n", "strerror(errno)\n" without S.
 * 1 when captured. */
static int
report_perror(const char *s)
{
	struct errout_text t;
	char buf[REPORT_ERRBUF];
	const char *colon;
	int saved = errno, n, done;

	if (!errout_wants(stderr))
		return 0;
	colon = report_colon(&s);
	n = report_format(&t, "%s%s%s\n", s, colon, strerror_r(saved, buf, sizeof(buf)));
	done = report_put_text(&t, n, report_perror_orients());
	errno = saved;
	return done;
}

HOOK_EXPORT void
perror(const char *s)
{
	if (!report_perror(s))
		REAL(perror)(s);
}

/* ---- err, warn and friends ------------------------------------------- */

/*
 * vwarn's line (with_errno) or vwarnx's: "PROG: MSG: strerror(errno)\n",
 * "PROG: MSG\n", and without a format "PROG: strerror(errno)\n" and
 * "PROG: \n". PROG is program_invocation_short_name (__progname). 1 when
 * captured; 0 also when the format fails, for the real call to report.
 */
static int
report_warn(int with_errno, const char *fmt, va_list ap)
{
	struct errout_text msg, line;
	char buf[REPORT_ERRBUF];
	const char *err = "", *sep = "";
	va_list copy;
	int saved = errno, n = 0, len, done = 0;

	if (!errout_wants(stderr))
		return 0;
	msg.p = msg.small;
	msg.small[0] = '\0';
	if (fmt != NULL) {
		va_copy(copy, ap);
		n = errout_format(&msg, -1, fmt, copy);         /* %m: errno at the call */
		va_end(copy);
	}
	if (with_errno) {
		err = strerror_r(saved, buf, sizeof(buf));
		sep = fmt != NULL ? ": " : "";
	}
	if (n >= 0) {
		len = report_format(&line, "%s: %.*s%s%s\n", program_invocation_short_name,
		    n, msg.p, sep, err);
		done = report_put_text(&line, len, 1);
	}
	errout_text_free(&msg);
	errno = saved;
	return done;
}

/* vwarn (with_errno) or vwarnx: captured, or the real one. */
static void
report_vwarn(int with_errno, const char *fmt, va_list ap)
{
	if (report_warn(with_errno, fmt, ap))
		return;
	if (with_errno)
		REAL(vwarn)(fmt, ap);
	else
		REAL(vwarnx)(fmt, ap);
}

/* verr (with_errno) or verrx: vwarn or vwarnx, then exit(status). */
static void __attribute__((noreturn))
report_verr(int with_errno, int status, const char *fmt, va_list ap)
{
	if (!report_warn(with_errno, fmt, ap)) {
		if (with_errno)
			REAL(verr)(status, fmt, ap);
		else
			REAL(verrx)(status, fmt, ap);
	}
	exit(status);
}

HOOK_EXPORT void
vwarn(const char *fmt, va_list ap)
{
	report_vwarn(1, fmt, ap);
}

HOOK_EXPORT void
vwarnx(const char *fmt, va_list ap)
{
	report_vwarn(0, fmt, ap);
}

HOOK_EXPORT void
verr(int status, const char *fmt, va_list ap)
{
	report_verr(1, status, fmt, ap);
}

HOOK_EXPORT void
verrx(int status, const char *fmt, va_list ap)
{
	report_verr(0, status, fmt, ap);
}

/* Define a variadic entry point in terms of one body. */
#define REPORT_VA(name, params, call)					\
HOOK_EXPORT void							\
name params								\
{									\
	va_list ap;							\
									\
	va_start(ap, fmt);						\
	call;								\
	va_end(ap);							\
}

REPORT_VA(warn, (const char *fmt, ...), report_vwarn(1, fmt, ap))
REPORT_VA(warnx, (const char *fmt, ...), report_vwarn(0, fmt, ap))
REPORT_VA(err, (int status, const char *fmt, ...), report_verr(1, status, fmt, ap))
REPORT_VA(errx, (int status, const char *fmt, ...), report_verr(0, status, fmt, ap))

/* ---- error and error_at_line ----------------------------------------- */

/* Where error_at_line says the error is; file may be NULL. */
struct report_at {
	const char *file;
	unsigned int line;
};

/* error_one_per_line: 1 when at repeats the previous call's file and
 * line. Like glibc, it keeps the caller's pointer to the file name. */
static int
report_repeat(const struct report_at *at)
{
	static const char *last_file;
	static unsigned int last_line;

	if (last_line == at->line && (at->file == last_file ||
	    (last_file != NULL && at->file != NULL && strcmp(last_file, at->file) == 0)))
		return 1;
	last_file = at->file;
	last_line = at->line;
	return 0;
}

/* What error writes after the program name: [FILE:LINE: ]MSG[: ERR]\n. */
static int
report_error_tail(struct errout_text *t, int errnum, const struct report_at *at,
    const char *msg, int n)
{
	char buf[REPORT_ERRBUF];
	const char *err = errnum != 0 ? strerror_r(errnum, buf, sizeof(buf)) : "";
	const char *sep = errnum != 0 ? ": " : "";

	if (at == NULL)
		return report_format(t, "%.*s%s%s\n", n, msg, sep, err);
	if (at->file == NULL)
		return report_format(t, " %.*s%s%s\n", n, msg, sep, err);
	return report_format(t, "%s:%d: %.*s%s%s\n", at->file, (int)at->line, n, msg,
	    sep, err);
}

/*
 * Capture error's output, as glibc writes it under stderr's lock: the
 * program name (or whatever error_print_progname writes), the tail, then
 * ++error_message_count, a flush of stderr, and exit(status) when status
 * is not 0, still under the lock as in glibc. 1 when captured.
 */
static int
report_error_put(int status, int errnum, const struct report_at *at, const char *msg, int n)
{
	void (*progname)(void) = error_print_progname;
	struct errout_text head, tail;
	int hn = 0, tn, done = 0;

	if (!errout_wants(stderr))
		return 0;
	head.p = head.small;
	if (progname == NULL)
		hn = report_format(&head, at != NULL ? "%s:" : "%s: ", program_invocation_name);
	tn = report_error_tail(&tail, errnum, at, msg, n);
	flockfile(stderr);
	if (hn >= 0 && tn >= 0 && report_same_bytes(head.p, (size_t)hn) &&
	    report_same_bytes(tail.p, (size_t)tn)) {
		if (progname != NULL)
			progname();
		else
			report_put_locked(head.p, (size_t)hn, 1);
		++error_message_count;
		report_put_locked(tail.p, (size_t)tn, 1);
		fflush(stderr);
		if (status != 0)
			exit(status);
		done = 1;
	}
	funlockfile(stderr);
	errout_text_free(&head);
	errout_text_free(&tail);
	return done;
}

/*
 * error (at NULL) and error_at_line. glibc formats the message after it
 * flushed stdout, so %m sees what that flush left in errno; so does this.
 * glibc has no va_list form of either: the real one is given the message
 * already formatted. A format error leaves what was formatted before it.
 */
static void
report_error(int status, int errnum, const struct report_at *at, const char *fmt, va_list ap)
{
	struct errout_text msg;
	va_list copy;
	int saved = errno, state, n;

	if (at != NULL && error_one_per_line && report_repeat(at))
		return;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &state);
	fflush(stdout);
	va_copy(copy, ap);
	n = errout_format(&msg, -1, fmt, copy);
	va_end(copy);
	if (n < 0)
		n = (int)strlen(msg.p);
	if (!report_error_put(status, errnum, at, msg.p, n)) {
		errno = saved;
		if (at == NULL)
			REAL(error)(status, errnum, "%s", msg.p);
		else
			REAL(error_at_line)(status, errnum, at->file, at->line, "%s", msg.p);
	}
	errout_text_free(&msg);
	pthread_setcancelstate(state, NULL);
	errno = saved;
}

HOOK_EXPORT void
error(int status, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report_error(status, errnum, NULL, fmt, ap);
	va_end(ap);
}

HOOK_EXPORT void
error_at_line(int status, int errnum, const char *file, unsigned int line,
    const char *fmt, ...)
{
	struct report_at at = { file, line };
	va_list ap;

	va_start(ap, fmt);
	report_error(status, errnum, &at, fmt, ap);
	va_end(ap);
}

/* ---- assert ----------------------------------------------------------- */

/*
 * Fail as glibc's assert does: "PROG: FILE:LINE: FUNCTION: " and then
 * "Assertion `WHAT' failed.", or with unexpected (__assert_perror_fail)
 * "Unexpected error: WHAT.", in glibc's translation. The message is
 * captured, stderr flushed and the line delivered before the abort.
 * Returns only when the message could not be captured.
 */
static void
report_assert(int unexpected, const char *what, const char *file, unsigned int line,
    const char *function)
{
	const char *prog = program_invocation_short_name;
	struct errout_text t;
	int total, n;   /* total: the %n that ends glibc's msgids; unused */

	if (!errout_wants(stderr))
		return;
	n = report_format(&t, unexpected ?
	    report_tr("%s%s%s:%u: %s%sUnexpected error: %s.\n%n") :
	    report_tr("%s%s%s:%u: %s%sAssertion `%s' failed.\n%n"),
	    prog, prog[0] != '\0' ? ": " : "", file, line, function != NULL ? function : "",
	    function != NULL ? ": " : "", what, &total);
	if (report_put_text(&t, n, 1)) {
		fflush(stderr);
		abort();        /* the hook, or the SIGABRT handler, delivers first */
	}
}

HOOK_EXPORT void
__assert_fail(const char *assertion, const char *file, unsigned int line,
    const char *function)
{
	report_assert(0, assertion, file, line, function);
	REAL(__assert_fail)(assertion, file, line, function);
	abort();
}

HOOK_EXPORT void
__assert_perror_fail(int errnum, const char *file, unsigned int line, const char *function)
{
	char buf[REPORT_ERRBUF];

	report_assert(1, strerror_r(errnum, buf, sizeof(buf)), file, line, function);
	REAL(__assert_perror_fail)(errnum, file, line, function);
	abort();
}

/* The old BSD entry point: glibc's calls __assert_fail internally. */
HOOK_EXPORT void
__assert(const char *assertion, const char *file, int line)
{
	__assert_fail(assertion, file, (unsigned int)line, NULL);
}
