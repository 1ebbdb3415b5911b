/*
 * hook_report.c - glibc's reporting functions, which write to stderr
 * through internal calls that no other hook sees: perror, the err and
 * warn families, error and error_at_line, psignal, psiginfo, and the
 * assert failures (__assert_fail, __assert_perror_fail).
 *
 * When mplog captures stderr, a hook builds exactly the text glibc 2.36
 * would write (its translations come from glibc's own message domain,
 * "libc", as glibc looks them up), captures it under stderr's lock
 * (errout_put), and then does the function's other effects itself: the
 * flushes, error_message_count, exit, abort. The real function is then
 * not called, so nothing is printed twice. Otherwise the real function
 * runs. A captured call leaves errno as it was at the call.
 *
 * On a wide-oriented stderr glibc formats through wide printf, whose
 * field widths and precisions count characters, not bytes: such a call
 * is captured only when its text is plain ASCII (then both agree), and
 * passed through otherwise.
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
#include <libintl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "errout.h"
#include "hook.h"
#include "pipeline.h"
#include "real.h"

#define REPORT_DOMAIN   "libc"          /* glibc's message catalogue */
#define REPORT_ERRBUF   1024            /* glibc's strerror buffers */
#define REPORT_SIGINFO  512             /* psiginfo's fmemopen buffer */

/* glibc's translation of msgid, looked up as glibc's _() does. */
static const char *report_tr(const char *msgid) __attribute__((format_arg(1)));

static const char *
report_tr(const char *msgid)
{
	return dgettext(REPORT_DOMAIN, msgid);
}

/* Format into t (errout_format): the length, or -1. */
static int report_format(struct errout_text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
report_format(struct errout_text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = errout_format(t, -1, fmt, ap);
	va_end(ap);
	return n;
}

/* 1 when output to stderr is captured now; errno is kept. */
static int
report_wants(void)
{
	int saved = errno, w = errout_file(stderr) && errout_live();

	errno = saved;
	return w;
}

/* 1 when n bytes of p are all ASCII. */
static int
report_ascii(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] >= 0x80)
			return 0;
	return 1;
}

/* 1 when glibc writes text to stderr as these bytes, whatever its
 * orientation (see the opening comment). stderr is locked. */
static int
report_same_bytes(const char *p, size_t n)
{
	return fwide(stderr, 0) <= 0 || report_ascii(p, n);
}

/*
 * Capture n bytes for stderr, which the caller has locked: 1, or 0 when
 * the real function must write them instead. orient: give an unoriented
 * stderr byte orientation, as glibc's formatted output does.
 */
static int
report_put_locked(const char *p, size_t n, int orient)
{
	if (!report_same_bytes(p, n))
		return 0;
	if (orient && fwide(stderr, 0) == 0)
		fwide(stderr, -1);
	errout_put(stderr, p, n);
	return 1;
}

/* Lock stderr and capture n bytes for it: 1, or 0 (report_put_locked). */
static int
report_put(const char *p, size_t n, int orient)
{
	int r;

	flockfile(stderr);
	r = report_put_locked(p, n, orient);
	funlockfile(stderr);
	return r;
}

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

	if (!report_wants())
		return 0;
	if (s == NULL || *s == '\0')
		s = colon = "";
	else
		colon = ": ";
	n = report_format(&t, "%s%s%s\n", s, colon, strerror_r(saved, buf, sizeof(buf)));
	done = n >= 0 && report_put(t.p, (size_t)n, report_perror_orients());
	errout_text_free(&t);
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

	if (!report_wants())
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
		done = len >= 0 && report_put(line.p, (size_t)len, 1);
		errout_text_free(&line);
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

	if (!report_wants())
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

/* ---- psignal ---------------------------------------------------------- */

/* psignal's line: "S: DESCRIPTION\n", or glibc's "Unknown signal N". */
static int
report_psignal(int sig, const char *s)
{
	struct errout_text t;
	const char *colon, *desc;
	int saved = errno, n, done;

	if (!report_wants())
		return 0;
	if (s == NULL || *s == '\0')
		s = colon = "";
	else
		colon = ": ";
	if (sig >= 0 && sig < NSIG && (desc = sigdescr_np(sig)) != NULL)
		n = report_format(&t, "%s%s%s\n", s, colon, report_tr(desc));
	else
		n = report_format(&t, report_tr("%s%sUnknown signal %d\n"), s, colon, sig);
	done = n >= 0 && report_put(t.p, (size_t)n, 1);
	errout_text_free(&t);
	errno = saved;
	return done;
}

HOOK_EXPORT void
psignal(int sig, const char *s)
{
	if (!report_psignal(sig, s))
		REAL(psignal)(sig, s);
}

/* ---- psiginfo --------------------------------------------------------- */

/* glibc's descriptions of si_code 1, 2, ... (psiginfo-data.h). */
static const char *const report_ill[] = {
	"Illegal opcode", "Illegal operand", "Illegal addressing mode", "Illegal trap",
	"Privileged opcode", "Privileged register", "Coprocessor error",
	"Internal stack error",
};
static const char *const report_fpe[] = {
	"Integer divide by zero", "Integer overflow", "Floating-point divide by zero",
	"Floating-point overflow", "Floating-point underflow",
	"Floating-poing inexact result",        /* sic: glibc's msgid */
	"Invalid floating-point operation", "Subscript out of range",
};
static const char *const report_segv[] = {
	"Address not mapped to object", "Invalid permissions for mapped object",
};
static const char *const report_bus[] = {
	"Invalid address alignment", "Nonexisting physical address",
	"Object-specific hardware error",
};
static const char *const report_trap[] = {
	"Process breakpoint", "Process trace trap",
};
static const char *const report_chld[] = {
	"Child has exited",
	"Child has terminated abnormally and did not create a core file",
	"Child has terminated abnormally and created a core file",
	"Traced child has trapped", "Child has stopped", "Stopped child has continued",
};
static const char *const report_poll[] = {
	"Data input available", "Output buffers available", "Input message available",
	"I/O error", "High priority input available", "Device disconnected",
};

#define REPORT_CODES(sig, tab) { sig, tab, sizeof(tab) / sizeof(tab[0]) }

static const struct report_codes {
	int sig;
	const char *const *str;
	int n;
} report_codes[] = {
	REPORT_CODES(SIGILL, report_ill), REPORT_CODES(SIGFPE, report_fpe),
	REPORT_CODES(SIGSEGV, report_segv), REPORT_CODES(SIGBUS, report_bus),
	REPORT_CODES(SIGTRAP, report_trap), REPORT_CODES(SIGCHLD, report_chld),
	REPORT_CODES(SIGPOLL, report_poll),
};

/* glibc's untranslated description of si->si_code, or NULL. */
static const char *
report_si_code(const siginfo_t *si)
{
	for (size_t i = 0; i < sizeof(report_codes) / sizeof(report_codes[0]); i++)
		if (report_codes[i].sig == si->si_signo && si->si_code >= 1 &&
		    si->si_code <= report_codes[i].n)
			return report_codes[i].str[si->si_code - 1];
	switch (si->si_code) {
	case SI_USER:   return "Signal sent by kill()";
	case SI_QUEUE:  return "Signal sent by sigqueue()";
	case SI_TIMER:  return "Signal generated by the expiration of a timer";
	case SI_ASYNCIO:
		return "Signal generated by the completion of an asynchronous I/O request";
	case SI_MESGQ:
		return "Signal generated by the arrival of a message on an empty message queue";
	case SI_TKILL:  return "Signal sent by tkill()";
	case SI_ASYNCNL:
		return "Signal generated by the completion of an asynchronous name lookup request";
	case SI_SIGIO:
		return "Signal generated by the completion of an I/O request";
	case SI_KERNEL: return "Signal sent by the kernel";
	}
	return NULL;
}

/* psiginfo's text is printed into a fixed buffer (glibc's fmemopen of
 * REPORT_SIGINFO bytes): what does not fit is cut off. */
struct report_mem {
	char buf[REPORT_SIGINFO];
	size_t len;
};

static void report_mem_add(struct report_mem *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
report_mem_add(struct report_mem *m, const char *fmt, ...)
{
	size_t room = sizeof(m->buf) - m->len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(m->buf + m->len, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		m->len += (size_t)n < room ? (size_t)n : room - 1;
}

/* The signal's name and " (", as psiginfo starts its description. */
static void
report_siginfo_name(struct report_mem *m, int sig, const char *desc)
{
	if (desc != NULL)
		report_mem_add(m, "%s (", report_tr(desc));
	else if (sig - SIGRTMIN < SIGRTMAX - sig)
		report_mem_add(m, sig == SIGRTMIN ? "SIGRTMIN (" : "SIGRTMIN+%d (", sig - SIGRTMIN);
	else
		report_mem_add(m, sig == SIGRTMAX ? "SIGRTMAX (" : "SIGRTMAX-%d (", SIGRTMAX - sig);
}

/* Everything psiginfo writes for si, after "S: ". */
static void
report_siginfo_text(struct report_mem *m, const siginfo_t *si)
{
	int sig = si->si_signo;
	const char *desc = sig >= 0 && sig < NSIG ? sigdescr_np(sig) : NULL;
	const char *code;

	if (sig < 0 || sig >= NSIG || (desc == NULL && (sig < SIGRTMIN || sig >= SIGRTMAX))) {
		report_mem_add(m, report_tr("Unknown signal %d\n"), sig);
		return;
	}
	report_siginfo_name(m, sig, desc);
	if ((code = report_si_code(si)) != NULL)
		report_mem_add(m, "%s ", report_tr(code));
	else
		report_mem_add(m, "%d ", si->si_code);
	if (sig == SIGILL || sig == SIGFPE || sig == SIGSEGV || sig == SIGBUS)
		report_mem_add(m, "[%p])\n", si->si_addr);
	else if (sig == SIGCHLD)
		report_mem_add(m, "%ld %d %ld)\n", (long)si->si_pid, si->si_status,
		    (long)si->si_uid);
	else if (sig == SIGPOLL)
		report_mem_add(m, "%ld)\n", (long)si->si_band);
	else
		report_mem_add(m, "%ld %ld)\n", (long)si->si_pid, (long)si->si_uid);
}

/* Capture bytes bound for descriptor 2 (errout_hvdprintf): 1 when done. */
static int report_dput(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
report_dput(const char *fmt, ...)
{
	va_list ap;
	int r, done;

	va_start(ap, fmt);
	done = errout_hvdprintf(STDERR_FILENO, -1, fmt, ap, &r);
	va_end(ap);
	return done;
}

/* psiginfo writes with one write(2) to descriptor 2, not through stderr. */
static int
report_psiginfo(const siginfo_t *si, const char *s)
{
	struct report_mem m = { .len = 0 };
	int saved = errno, done;

	m.buf[0] = '\0';
	if (s != NULL && *s != '\0')
		report_mem_add(&m, "%s: ", s);
	report_siginfo_text(&m, si);
	errno = saved;
	done = report_dput("%s", m.buf);
	errno = saved;
	return done;
}

HOOK_EXPORT void
psiginfo(const siginfo_t *si, const char *s)
{
	if (!report_psiginfo(si, s))
		REAL(psiginfo)(si, s);
}

/* ---- assert ----------------------------------------------------------- */

/*
 * Capture an assertion's message, flush stderr as glibc does, deliver
 * the line before the process dies, and abort. Returns only when the
 * message could not be captured.
 */
static void
report_abort(struct errout_text *t, int n)
{
	if (n >= 0 && report_wants() && report_put(t->p, (size_t)n, 1)) {
		fflush(stderr);
		pipeline_flush_sync();
		abort();
	}
	errout_text_free(t);
}

HOOK_EXPORT void
__assert_fail(const char *assertion, const char *file, unsigned int line,
    const char *function)
{
	const char *prog = program_invocation_short_name;
	struct errout_text t;
	int total, n;

	n = report_format(&t, report_tr("%s%s%s:%u: %s%sAssertion `%s' failed.\n%n"),
	    prog, prog[0] != '\0' ? ": " : "", file, line, function != NULL ? function : "",
	    function != NULL ? ": " : "", assertion, &total);
	report_abort(&t, n);
	REAL(__assert_fail)(assertion, file, line, function);
	abort();
}

HOOK_EXPORT void
__assert_perror_fail(int errnum, const char *file, unsigned int line, const char *function)
{
	const char *prog = program_invocation_short_name;
	char buf[REPORT_ERRBUF];
	struct errout_text t;
	int total, n;

	n = report_format(&t, report_tr("%s%s%s:%u: %s%sUnexpected error: %s.\n%n"),
	    prog, prog[0] != '\0' ? ": " : "", file, line, function != NULL ? function : "",
	    function != NULL ? ": " : "", strerror_r(errnum, buf, sizeof(buf)), &total);
	report_abort(&t, n);
	REAL(__assert_perror_fail)(errnum, file, line, function);
	abort();
}

/* The old BSD entry point: glibc's calls __assert_fail internally. */
HOOK_EXPORT void
__assert(const char *assertion, const char *file, int line)
{
	__assert_fail(assertion, file, (unsigned int)line, NULL);
}
