/*
 * paths.h - the rules the conformance host (paths.c, paths_cxx.cc) writes
 * by, shared with tests/test_conform.c so both agree on them by
 * construction.
 */
#ifndef MPLOG_TEST_PATHS_H
#define MPLOG_TEST_PATHS_H

#include <stddef.h>

#define PATHS_ERRNO        4242    /* set before each call, checked after */
#define PATHS_PIECES       32      /* pieces of each thread's line */
#define PATHS_LONG_PIECE   1000    /* bytes per write of a long line */
#define PATHS_SIG_PID      4242    /* psiginfo's si_pid */
#define PATHS_SIG_UID      77      /* psiginfo's si_uid */
#define PATHS_AT_FILE      "src/at.c"      /* error_at_line's file */
#define PATHS_AT_LINE      42              /* and line */

/* Byte i of a long line that starts with mark (no newline). */
static inline char
paths_long_byte(const char *mark, size_t marklen, size_t i)
{
	static const char alphabet[] =
	    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

	return i < marklen ? mark[i] : alphabet[i % (sizeof(alphabet) - 1)];
}

#endif
