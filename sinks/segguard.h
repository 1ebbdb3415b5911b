/*
 * segguard.h - keep mplogd alive when its segment is truncated under it.
 *
 * Any process running as the segment's owner (or, with --group, as a
 * member of its group) can ftruncate(2) the shared memory object; a read
 * or write of a page past the new end then raises SIGBUS. segguard_arm
 * installs a SIGBUS handler that, for a fault inside the guarded range
 * (the segment's mapping), maps private zero pages (MAP_FIXED |
 * MAP_ANONYMOUS) over the range from the faulting page to its end, counts
 * the fault and returns: the access runs again and finds zeroes, which
 * the reader takes for empty lanes and unpublished names. The main loop
 * asks segguard_pending and calls segguard_recover. A SIGBUS outside the
 * range, one sent by a process, or one the handler cannot repair is not
 * ours: the handler restores the default action and the signal kills
 * mplogd as it did without the guard.
 *
 * The handler is async-signal-safe (mmap, sigaction, raise, atomics) and
 * runs in whichever thread faulted (the catch-all reader writes into the
 * segment too). Everything else is for mplogd's main thread only.
 */
#ifndef MPLOG_SEGGUARD_H
#define MPLOG_SEGGUARD_H

#include <stddef.h>
#include <stdint.h>

#include "consumer.h"

/* Guard len bytes mapped at base, installing the handler on first use.
 * 0, or -1 with errno when sigaction fails. */
int segguard_arm(void *base, size_t len);

/* Guard nothing (before the range is unmapped); faults then kill. */
void segguard_disarm(void);

/* 1 when a fault was repaired since the last segguard_take. */
int segguard_pending(void);

/*
 * Faults repaired since the last call, and in *lowest the offset in the
 * range of the lowest page repaired so far (the range is zero from there
 * on); resets the count.
 */
uint64_t segguard_take(size_t *lowest);

/*
 * React to repaired faults in c's segment name, created with params:
 * report them (warnx, and a warning record of mplogd's own). With
 * replace, the consumer replaces its segment (consumer_replace_segment:
 * what can still be read is delivered, the old object is closed,
 * unlinked and unmapped, the name gets a new one), so that processes
 * attach again; the lanes handed over the socket are not touched. The
 * guard moves to the new mapping. Without replace (another
 * thread of mplogd writes into the mapping), keep reading the damaged
 * mapping. 0, or -1 when no new segment could be made: the error is
 * reported, and c still reads the old, closed one.
 */
int segguard_recover(struct consumer *c, const char *name, const struct seg_params *params,
    int replace);

#endif
