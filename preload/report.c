/* report.c - helpers shared by the hooks of glibc's reporting functions. */
#include "report.h"

#include <errno.h>
#include <libintl.h>
#include <stdarg.h>
#include <stdio.h>

#define REPORT_DOMAIN   "libc"          /* glibc's message catalogue */

const char *
report_tr(const char *msgid)
{
	return dgettext(REPORT_DOMAIN, msgid);
}

int
report_format(struct errout_text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = errout_format(t, -1, fmt, ap);
	va_end(ap);
	return n;
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

int
report_same_bytes(const char *p, size_t n)
{
	return fwide(stderr, 0) <= 0 || report_ascii(p, n);
}

int
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

int
report_put_text(struct errout_text *t, int n, int orient)
{
	int done = n >= 0 && report_put(t->p, (size_t)n, orient);

	errout_text_free(t);
	return done;
}

const char *
report_colon(const char **s)
{
	if (*s == NULL || **s == '\0') {
		*s = "";
		return "";
	}
	return ": ";
}
