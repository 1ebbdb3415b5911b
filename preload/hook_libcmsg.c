/*
 * hook_libcmsg.c - the C library's functions that write to stderr
 * through its internal paths, which reach no other hook: getopt,
 * getopt_long, getopt_long_only and __posix_getopt ("unrecognized
 * option", "invalid option"), argp_parse, argp_help, argp_state_help,
 * argp_usage, argp_error and argp_failure (argp's errors, usage and help,
 * which may end the process), malloc_stats and fmtmsg write to the stderr
 * stream: each runs with that stream diverted (divert.h). herror writes
 * to descriptor 2 with one writev: its text is built as glibc 2.36 builds
 * it and captured, as psiginfo's is (hook_signal.c).
 *
 * argp_error and argp_failure take a format: it is formatted here and
 * handed to the real function as "%s", which writes the same text (the
 * format itself, should formatting fail: the real call, with its usage
 * note and exit, is always made).
 *
 * Not hooked, and said so in the README: getpass, whose prompt must show
 * before it reads; the Sun RPC functions, which only old binaries can
 * still reach; glibc's fatal messages (malloc's checks, fortify and stack
 * protector failures), written with an internal writev to fd 2.
 *
 * Thread-safe as the functions they stand in for; none is
 * async-signal-safe. Return values and errno are the real ones.
 */
#include <argp.h>
#include <errno.h>
#include <fmtmsg.h>
#include <getopt.h>
#include <malloc.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "divert.h"
#include "errout.h"
#include "hook.h"
#include "real.h"
#include "report.h"

/* r = call, with stderr diverted around it. */
#define HOOK_DIVERTED(r, call)						\
	do {								\
		int diverted_ = divert_begin(stderr);			\
									\
		r = call;						\
		if (diverted_)						\
			divert_end();					\
	} while (0)

/* The same for a call that returns nothing, to stream fp. */
#define HOOK_DIVERTED_VOID(fp, call)					\
	do {								\
		int diverted_ = divert_begin(fp);			\
									\
		call;							\
		if (diverted_)						\
			divert_end();					\
	} while (0)

HOOK_EXPORT int
getopt(int argc, char *const *argv, const char *opts)
{
	int r;

	HOOK_DIVERTED(r, REAL(getopt)(argc, argv, opts));
	return r;
}

HOOK_EXPORT int
__posix_getopt(int argc, char *const *argv, const char *opts)
{
	int r;

	HOOK_DIVERTED(r, REAL(__posix_getopt)(argc, argv, opts));
	return r;
}

HOOK_EXPORT int
getopt_long(int argc, char *const *argv, const char *opts, const struct option *longopts,
    int *index)
{
	int r;

	HOOK_DIVERTED(r, REAL(getopt_long)(argc, argv, opts, longopts, index));
	return r;
}

HOOK_EXPORT int
getopt_long_only(int argc, char *const *argv, const char *opts,
    const struct option *longopts, int *index)
{
	int r;

	HOOK_DIVERTED(r, REAL(getopt_long_only)(argc, argv, opts, longopts, index));
	return r;
}

HOOK_EXPORT error_t
argp_parse(const struct argp *argp, int argc, char **argv, unsigned flags, int *index,
    void *input)
{
	error_t r;

	HOOK_DIVERTED(r, REAL(argp_parse)(argp, argc, argv, flags, index, input));
	return r;
}

HOOK_EXPORT void
argp_help(const struct argp *argp, FILE *fp, unsigned flags, char *name)
{
	HOOK_DIVERTED_VOID(fp, REAL(argp_help)(argp, fp, flags, name));
}

HOOK_EXPORT void
argp_state_help(const struct argp_state *state, FILE *fp, unsigned flags)
{
	HOOK_DIVERTED_VOID(fp, REAL(argp_state_help)(state, fp, flags));
}

HOOK_EXPORT void
argp_usage(const struct argp_state *state)
{
	HOOK_DIVERTED_VOID(stderr, REAL(argp_usage)(state));
}

/* The text of fmt and ap, formatted here for a real call as "%s"; fmt
 * itself when it cannot be (out of memory, a format error): the real
 * call must still be made, for the usage note and the exit it brings. */
static const char *
hook_argp_text(struct errout_text *t, const char *fmt, va_list ap)
{
	return errout_format(t, -1, fmt, ap) >= 0 ? t->p : fmt;
}

HOOK_EXPORT void
argp_error(const struct argp_state *state, const char *fmt, ...)
{
	struct errout_text t;
	const char *text;
	va_list ap;

	va_start(ap, fmt);
	text = hook_argp_text(&t, fmt, ap);
	va_end(ap);
	HOOK_DIVERTED_VOID(stderr, REAL(argp_error)(state, "%s", text));
	errout_text_free(&t);
}

HOOK_EXPORT void
argp_failure(const struct argp_state *state, int status, int errnum, const char *fmt, ...)
{
	struct errout_text t = { .p = t.small };
	const char *text = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (fmt != NULL)
		text = hook_argp_text(&t, fmt, ap);
	va_end(ap);
	HOOK_DIVERTED_VOID(stderr, REAL(argp_failure)(state, status, errnum,
	    fmt != NULL ? "%s" : NULL, text));
	errout_text_free(&t);
}

HOOK_EXPORT void
malloc_stats(void)
{
	HOOK_DIVERTED_VOID(stderr, REAL(malloc_stats)());
}

HOOK_EXPORT int
fmtmsg(long class, const char *label, int sev, const char *text, const char *action,
    const char *tag)
{
	int r;

	HOOK_DIVERTED(r, REAL(fmtmsg)(class, label, sev, text, action, tag));
	return r;
}

/* herror's line, "S: " and hstrerror(h_errno), or that alone; 1 when
 * captured. */
static int
hook_herror(const char *s)
{
	int saved = errno, r, done = 0;

	if (errout_fd(STDERR_FILENO) && errout_live()) {
		const char *colon = report_colon(&s);

		done = errout_hdprintf(STDERR_FILENO, &r, "%s%s%s\n", s, colon,
		    hstrerror(h_errno));
	}
	errno = saved;
	return done;
}

HOOK_EXPORT void
herror(const char *s)
{
	if (!hook_herror(s))
		REAL(herror)(s);
}
