/*
 * catchall.h - run mode's --catch-all: the command's descriptor 2 is a
 * socket read by a thread of mplogd, so bytes that reach it without any
 * hook (glibc's fatal messages, static binaries, raw system calls) are
 * logged too, each line under the pid of the process that wrote it.
 *
 * The socket is one end of an AF_UNIX stream socketpair with SO_PASSCRED
 * on mplogd's end: Linux never joins the bytes of two writers in one
 * recvmsg, and each one carries the writer's pid (SCM_CREDENTIALS). The
 * reader thread is one more producer of the segment: it leases a lane
 * under mplogd's own procid (so the consumer never reaps it while mplogd
 * runs), joins each writer's bytes into lines (preload/lines.c, keyed by
 * pid), and commits them as stderr records with pid = tid = the writer's
 * pid and the writer's /proc/PID/comm, read when the bytes arrive, as the
 * process name. A "<N>" prefix sets a line's priority and is removed (by
 * lines.c, as for hooked lines); lines less severe than the segment's
 * level are discarded. An unfinished line goes out after
 * CATCHALL_PARTIAL_NS without a new piece from its writer, and at end of
 * file. In tee mode every byte read is also written, unchanged, to
 * mplogd's own standard error.
 *
 * Use, all from mplogd's main thread (nothing here is async-signal-safe):
 *   catchall_open          before the fork: socket, lane, reader thread
 *   catchall_child_fd      the command's fd 2 (dup2'd there in the child)
 *   catchall_forked        after the fork: drop mplogd's copy of that end,
 *                          so end of file comes once every holder closed it
 *   catchall_stop          the command has exited: read on to end of file
 *                          or the deadline, then deliver unfinished lines
 *   catchall_done          poll it from the consumer's loop, which keeps
 *                          reading meanwhile (the reader may wait for room)
 *   catchall_close         join; before the consumer's final drain
 * The reader wakes the consumer after it publishes, and once it is done.
 */
#ifndef MPLOG_CATCHALL_H
#define MPLOG_CATCHALL_H

#include <stdint.h>

#include "seg.h"

#define CATCHALL_CHUNK       65536u                 /* bytes per recvmsg */
#define CATCHALL_PARTIAL_NS  (100 * 1000000LL)      /* quiet before an unfinished line goes */

struct catchall;

/*
 * Make the socket pair, lease a lane of seg and start the reader thread
 * (every signal blocked). tee: copy every byte to mplogd's standard
 * error. severity (0-7): that of a line without a "<N>" prefix. NULL with
 * errno on failure, nothing left open or leased.
 */
struct catchall *catchall_open(struct seg *seg, int tee, int severity);

/* The end the command gets as its fd 2; close-on-exec, which dup2 clears. */
int catchall_child_fd(const struct catchall *ca);

/* In mplogd after the fork: close its copy of the command's end. */
void catchall_forked(struct catchall *ca);

/* Read on until end of file or, at the latest, the CLOCK_MONOTONIC
 * deadline; then deliver every unfinished line and finish. */
void catchall_stop(struct catchall *ca, int64_t deadline);

/* 1 once the reader has published its last line (after catchall_stop). */
int catchall_done(const struct catchall *ca);

/* Stop the reader now if catchall_stop was not called, join it, and free
 * everything. Its lane stays leased to mplogd until it exits. */
void catchall_close(struct catchall *ca);

#endif
