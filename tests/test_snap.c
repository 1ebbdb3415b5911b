/*
 * test_snap.c - snapshots of printf calls (shm/snap.c): what mplogd
 * formats from a snapshot is byte for byte what vsnprintf(3) makes at
 * the call, over a generated corpus (tests/snapgen.py); calls the
 * snapshot does not take are refused; damaged snapshots are refused
 * without reading outside them.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <locale.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snap.h"
#include "need.h"
#include "snapt.h"

#define SNAPT_CAP   65536
#define SNAPT_SHOWN 8           /* mismatches printed in full */

int snapt_anchor;

static long snapt_cases, snapt_wrong, snapt_refused, snapt_counted, snapt_miscounted;

/* The snapshot of fmt/ap, by pointer (resolved) or by copy. */
static int
snapt_snapshot(char *snap, size_t cap, int by_ptr, int err, const char *fmt, va_list ap)
{
	char raw[SNAPT_CAP];
	int n = snap_take(by_ptr ? raw : snap, by_ptr ? sizeof(raw) : cap, fmt, by_ptr, err, ap,
	    NULL);

	if (n == -1 || !by_ptr)
		return n;
	cr_assert_eq(snap_resolved_size(raw, (size_t)n), (int)(n - sizeof(char *) + strlen(fmt)));
	return snap_resolve(raw, (size_t)n, snap, cap);
}

/* The length of fmt/ap's text as snap_take counts it: the length
 * fprintf's hook returns, which must be vsnprintf's (w). */
static void
snapt_count(int line, int err, int w, const char *fmt, va_list ap)
{
	static char snap[SNAPT_CAP];
	int len = -1;

	if (snap_take(snap, sizeof(snap), fmt, 0, err, ap, &len) == -1)
		return;
	snapt_counted++;
	if (len == w)
		return;
	if (++snapt_miscounted <= SNAPT_SHOWN)
		cr_log_error("corpus line %d: \"%s\": vsnprintf made %d bytes, counted %d",
		    line, fmt, w, len);
}

void
snapt_check(int line, int err, const char *fmt, ...)
{
	static char want[SNAPT_CAP], got[SNAPT_CAP], snap[SNAPT_CAP];
	va_list ap, again, count;
	int w, g, n;

	va_start(ap, fmt);
	va_copy(again, ap);
	va_copy(count, ap);
	errno = err;
	w = vsnprintf(want, sizeof(want), fmt, ap);
	n = snapt_snapshot(snap, sizeof(snap), line % 2, err, fmt, again);
	snapt_count(line, err, w, fmt, count);
	va_end(count);
	va_end(again);
	va_end(ap);
	snapt_cases++;
	if (n == -1) {
		snapt_refused++;
		if (snapt_refused <= SNAPT_SHOWN)
			cr_log_error("corpus line %d: refused \"%s\"", line, fmt);
		return;
	}
	g = snap_format(snap, (size_t)n, got, sizeof(got));
	if (w >= 0 && g == (w < (int)sizeof(want) ? w : (int)sizeof(want) - 1) &&
	    memcmp(want, got, (size_t)g) == 0)
		return;
	if (++snapt_wrong <= SNAPT_SHOWN)
		cr_log_error("corpus line %d: \"%s\"\n  vsnprintf: %d \"%s\"\n  snapshot:  %d \"%s\"",
		    line, fmt, w, want, g, g < 0 ? "" : got);
}

/*
 * Every call of the generated corpus (20,000, every conversion, flag,
 * width, precision, length and positional form) comes out of the
 * snapshot as vsnprintf makes it, and none is refused. Other seeds:
 * python3 tests/snapgen.py build/gen/snapcases.c 20000 SEED, then make.
 */
Test(snap, corpus_formats_as_vsnprintf_does)
{
	snapt_corpus();
	cr_assert_gt(snapt_cases, 19999);
	cr_assert_eq(snapt_refused, 0, "%ld of %ld calls refused (the first are logged above)",
	    snapt_refused, snapt_cases);
	cr_assert_eq(snapt_wrong, 0, "%ld of %ld calls differ (the first are logged above)",
	    snapt_wrong, snapt_cases);
}

/*
 * For every call of the corpus without a floating conversion, the length
 * snap_take counts (fprintf's hook returns it) is vsnprintf's.
 */
Test(snap, corpus_lengths_are_counted_as_vsnprintf_returns)
{
	snapt_corpus();
	cr_log_info("%ld of %ld calls counted", snapt_counted, snapt_cases);
	cr_assert_gt(snapt_counted, snapt_cases / 10, "%ld of %ld calls counted",
	    snapt_counted, snapt_cases);
	cr_assert_eq(snapt_miscounted, 0, "%ld of %ld lengths differ (the first are logged above)",
	    snapt_miscounted, snapt_counted);
}

/* snap_take of fmt and its arguments: 0 taken, -1 refused. */
static int
snapt_takes(const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = snap_take(buf, sizeof(buf), fmt, 0, 0, ap, NULL);
	va_end(ap);
	return n == -1 ? -1 : 0;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-extra-args"
Test(snap, calls_it_cannot_reproduce_are_refused)
{
	int count = 0;

	cr_assert_eq(snapt_takes("%d%n", 1, &count), -1, "%%n writes");
	cr_assert_eq(snapt_takes("%ls", L"wide"), -1, "wide strings");
	cr_assert_eq(snapt_takes("%lc", (wint_t)'w'), -1, "wide characters");
	cr_assert_eq(snapt_takes("%S", L"wide"), -1);
	cr_assert_eq(snapt_takes("%'d", 1234567), -1, "locale grouping");
	cr_assert_eq(snapt_takes("%Id", 12), -1, "locale digits");
	cr_assert_eq(snapt_takes("%1$d %d", 1, 2), -1, "positional and plain mixed");
	cr_assert_eq(snapt_takes("%2$d", 1, 2), -1, "a position left unused");
	cr_assert_eq(snapt_takes("%1$d %1$s", 1), -1, "one position, two types");
	cr_assert_eq(snapt_takes("%65$d", 1), -1, "past SNAP_ARGS_MAX");
	cr_assert_eq(snapt_takes("%y", 1), -1, "an unknown conversion");
	cr_assert_eq(snapt_takes("%"), -1, "a lone %%");
	cr_assert_eq(snapt_takes("%hhs", "x"), -1, "a length on %%s");
	cr_assert_eq(snapt_takes("%Ld", 1LL), -1, "L on an integer");
	cr_assert_eq(snapt_takes("%d %s %f %m %%", 1, "x", 1.5), 0, "the plain kinds are taken");
	cr_assert_eq(count, 0, "%%n wrote");
}
#pragma GCC diagnostic pop

/* Floating conversions under a decimal comma are the caller's to make. */
Test(snap, floats_under_a_decimal_comma_are_refused)
{
	TEST_NEED(setlocale(LC_NUMERIC, "de_DE.UTF-8") != NULL &&
	    strcmp(localeconv()->decimal_point, ",") == 0, "the de_DE.UTF-8 locale");
	cr_assert_eq(snapt_takes("%f", 1.5), -1);
	cr_assert_eq(snapt_takes("%d", 1), 0, "integers do not depend on it");
}

/* Take a snapshot of fmt and its arguments and format it into out. */
static int
snapt_both(char *out, size_t cap, const char *fmt, ...)
{
	char snap[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = snap_take(snap, sizeof(snap), fmt, 0, 0, ap, NULL);
	va_end(ap);
	cr_assert_gt(n, 0, "\"%s\" refused", fmt);
	return snap_format(snap, (size_t)n, out, cap);
}

/*
 * A string read with a precision is read no further than the precision:
 * the call may pass an array without a NUL (the sanitizer runs check).
 */
Test(snap, string_with_a_precision_is_read_only_that_far)
{
	const char unterminated[4] = { 'a', 'b', 'c', 'd' };
	char out[64];

	cr_assert_eq(snapt_both(out, sizeof(out), "%.4s|%.*s|%-6.3s|", unterminated, 2,
	    unterminated, unterminated), 15);
	cr_assert_str_eq(out, "abcd|ab|abc   |");
}

/* A valid snapshot of a call with every kind of argument. */
static int
snapt_sample(char *buf, size_t cap, ...)
{
	va_list ap;
	int n;

	va_start(ap, cap);
	n = snap_take(buf, cap, "%s %d %lld %f %Lf %p %m %5.2s %%", 0, ENOENT, ap, NULL);
	va_end(ap);
	return n;
}

/*
 * Damaged snapshots: every truncation and every single byte changed (to
 * several values) is either formatted within the output's bounds or
 * refused; never read outside the snapshot (the sanitizer runs check).
 */
Test(snap, damaged_snapshots_are_refused_or_formatted_within_bounds)
{
	char good[512], bad[512], out[256];
	int n = snapt_sample(good, sizeof(good), "str", 42, -7LL, 2.5, 1.25L, (void *)good,
	    "xyz");

	cr_assert_gt(n, 0);
	cr_assert_gt(snap_format(good, (size_t)n, out, sizeof(out)), 0);
	for (int len = 0; len < n; len++) {
		char *cut = malloc((size_t)len + 1);

		memcpy(cut, good, (size_t)len);
		cr_assert_eq(snap_format(cut, (size_t)len, out, sizeof(out)), -1,
		    "cut to %d of %d bytes: formatted", len, n);
		free(cut);
	}
	static const unsigned char values[] = { 0x00, 0x01, 0x25, 0x2a, 0x7f, 0x80, 0xff };
	for (int i = 0; i < n; i++)
		for (size_t k = 0; k < sizeof(values); k++) {
			int r;

			memcpy(bad, good, (size_t)n);
			bad[i] = (char)values[k];
			r = snap_format(bad, (size_t)n, out, sizeof(out));
			cr_assert(r >= -1 && r < (int)sizeof(out), "byte %d = %#x: %d", i,
			    values[k], r);
		}
}

/* Output longer than the buffer is cut there, as vsnprintf cuts it,
 * literal text and conversions alike. */
Test(snap, long_output_is_cut_at_the_buffer)
{
	char out[16];

	cr_assert_eq(snapt_both(out, sizeof(out), "%s", "a much longer string than sixteen"), 15);
	cr_assert_str_eq(out, "a much longer s");
	cr_assert_eq(snapt_both(out, sizeof(out), "0123456789abcdef%d", 1), 15);
	cr_assert_str_eq(out, "0123456789abcde");
	cr_assert_eq(snapt_both(out, sizeof(out), "%40d|", 7), 15);
	cr_assert_str_eq(out, "               ");
}

/*
 * A width or precision far past what a record keeps (a program's own
 * %*d of 2^31 - 1, or a scribbled snapshot's) is formatted at once, and
 * the text kept is the one vsnprintf makes: padding, or the value and
 * its zeros, up to the buffer.
 */
Test(snap, huge_widths_and_precisions_keep_the_text_and_take_no_time, .timeout = 10)
{
	static char out[65537], want[131072];
	int n;

	n = snapt_both(out, sizeof(out), "%*d|", INT_MAX, 7);
	cr_assert_eq(n, (int)sizeof(out) - 1);
	memset(want, ' ', sizeof(out) - 1);
	cr_assert_eq(memcmp(out, want, sizeof(out) - 1), 0, "not all padding");
	n = snapt_both(out, sizeof(out), "%-*d|", -INT_MAX, 7);
	cr_assert_eq(n, (int)sizeof(out) - 1);
	cr_assert(out[0] == '7' && out[1] == ' ' && out[sizeof(out) - 2] == ' ');
	n = snapt_both(out, sizeof(out), "%.*d", INT_MAX, 42);
	cr_assert_eq(n, (int)sizeof(out) - 1);
	snprintf(want, sizeof(want), "%.*d", 100000, 42);
	cr_assert_eq(memcmp(out, want, sizeof(out) - 1), 0, "not the zeros vsnprintf makes");
	n = snapt_both(out, sizeof(out), "%.*f", INT_MAX, 0.1);
	snprintf(want, sizeof(want), "%.*f", 70000, 0.1);
	cr_assert_eq(n, (int)sizeof(out) - 1);
	cr_assert_eq(memcmp(out, want, sizeof(out) - 1), 0, "not the digits vsnprintf makes");
}
