/*
 * rotate.h - the rotated files of a file sink: FILE.1 (the newest) to
 * FILE.KEEP, each maybe compressed (FILE.N.gz, FILE.N.zst), by size or
 * by time, and their compression, done by a thread of its own so that
 * mplogd's reading of lanes never waits for it.
 *
 * rotate_shift renames FILE.N-1 to FILE.N ... FILE to FILE.1, with any
 * compressed suffix, removes what falls past FILE.KEEP, and, when asked,
 * queues FILE.1 for compression. The compressor reads the file through a
 * descriptor, so later shifts may rename it meanwhile; it writes into a
 * temporary file beside it, and the thread that shifts (rotate_poll, at
 * every flush) gives the result its final name, FILE.N.gz for wherever
 * the file is by then, and removes the uncompressed one. A file shifted
 * past KEEP before its compression ends is dropped with it.
 *
 * rotate_shift and rotate_poll are mplogd's main thread's; the
 * compressor thread touches only its job's descriptors and buffers.
 */
#ifndef MPLOG_ROTATE_H
#define MPLOG_ROTATE_H

#include <stdint.h>
#include <time.h>

#define ROTATE_JOBS_MAX  16                 /* compressions queued at once */
#define ROTATE_CHUNK     (256 * 1024)       /* bytes read per step */
#define ROTATE_FINISH_NS (5000 * 1000000LL) /* at exit, wait this long at most */

enum rotate_every {
	ROTATE_NEVER = 0,
	ROTATE_HOURLY = 1,
	ROTATE_DAILY = 2,
};

enum rotate_compress {
	ROTATE_PLAIN = 0,
	ROTATE_GZIP = 1,
	ROTATE_ZSTD = 2,
};

/* The start of the period after the one holding t, in local time: the
 * next full hour, or the next midnight. */
time_t rotate_next(time_t t, enum rotate_every every);

/* Shift the rotated files of path (see above), keeping keep of them, and
 * queue FILE.1 for compression c. 0, or -1 with errno when a rename
 * failed (what was renamed stays so). */
int rotate_shift(const char *path, unsigned keep, enum rotate_compress c);

/* Name the compressions that are done; drop those that failed (the
 * uncompressed file stays), saying why. */
void rotate_poll(void);

/* At exit: wait up to ROTATE_FINISH_NS for the queued compressions, name
 * them, and stop the thread; an unfinished one leaves its file plain. */
void rotate_finish(void);

#endif
