/*
 * need.h - the one policy for what a test needs from the machine: a
 * program, a locale, time zone data or translations that
 * scripts/setup-deps installs. Its absence fails the test, naming it:
 * a test never passes, or skips, having checked nothing.
 */
#ifndef MPLOG_NEED_H
#define MPLOG_NEED_H

#include <criterion/criterion.h>

#define TEST_NEED(ok, what) \
	cr_assert((ok), "%s is missing: scripts/setup-deps installs it", (what))

#endif
