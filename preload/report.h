/*
 * report.h - what the hooks of glibc's reporting functions share
 * (hook_report.c: perror, err/warn, error, assert; hook_signal.c:
 * psignal, psiginfo): glibc's translations, formatting in the hook, and
 * capturing a finished line for stderr as glibc would have written it.
 *
 * glibc writes these lines through stderr. On a wide-oriented stderr it
 * formats through wide printf, whose field widths and precisions count
 * characters, not bytes: a line is captured only when it is plain ASCII
 * (then both agree), and the caller makes the real call otherwise.
 *
 * Thread-safe (report_put_text takes stderr's lock); not async-signal-safe,
 * like the glibc functions these serve.
 */
#ifndef MPLOG_REPORT_H
#define MPLOG_REPORT_H

#include <stddef.h>

#include "errout.h"

/* glibc's translation of msgid, looked up as glibc's _() does. */
const char *report_tr(const char *msgid) __attribute__((format_arg(1)));

/* Format into t (errout_format): the length, or -1. t is freed by the
 * caller either way. */
int report_format(struct errout_text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* 1 when glibc writes n bytes of p to stderr as these bytes, whatever
 * its orientation. stderr is locked. */
int report_same_bytes(const char *p, size_t n);

/*
 * Capture n bytes for stderr, which the caller has locked: 1, or 0 when
 * the real function must write them instead. orient: give an unoriented
 * stderr byte orientation, as glibc's formatted output does.
 */
int report_put_locked(const char *p, size_t n, int orient);

/* Lock stderr, capture the n bytes of t (report_put_locked) and free t:
 * 1, or 0 when n is -1 or the real function must write them. */
int report_put_text(struct errout_text *t, int n, int orient);

/* The separator perror and psignal write after the caller's prefix *s:
 * ": ", or "" (and *s becomes "") when *s is NULL or empty. */
const char *report_colon(const char **s);

#endif
