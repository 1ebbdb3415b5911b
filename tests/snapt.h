/*
 * snapt.h - the call the generated corpus of test_snap.c makes:
 * SNAPT(err, fmt, args...) checks that snap_format makes of snap_take's
 * snapshot of the call exactly what vsnprintf makes, with errno err.
 */
#ifndef MPLOG_SNAPT_H
#define MPLOG_SNAPT_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#define SNAPT(err, ...) snapt_check(__LINE__, (err), __VA_ARGS__)

void snapt_check(int line, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* An address for %p. */
extern int snapt_anchor;

/* Every call of the corpus (build/gen/snapcases.c). */
void snapt_corpus(void);

#endif
