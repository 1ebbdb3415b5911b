/*
 * fdset.h - which descriptors are the program's stderr, and, when stdout
 * is captured (MPLOG_STDOUT capture or tee), which are its stdout.
 *
 * Descriptor 2, when it is open at load time, is stderr; so is every
 * descriptor the program makes from one of them with dup, dup2, dup3 or
 * fcntl(F_DUPFD, F_DUPFD_CLOEXEC), or opens by one of its names (open,
 * fopen, freopen of "/dev/stderr" and the like), until it is closed or
 * replaced. When fd
 * 1 becomes such a copy (the shell's `echo x >&2`), writes to stdout are
 * stderr output. Descriptor 1 is stdout in the same way, only when stdout
 * is captured; a descriptor is at most one of the two, the one it was made
 * from. Descriptors from FDSET_MAX on are neither to mplog.
 *
 * Lookups are one relaxed load and async-signal-safe. Changes made in a
 * vfork child, which shares our memory but not our descriptor table, are
 * ignored.
 */
#ifndef MPLOG_FDSET_H
#define MPLOG_FDSET_H

#include <stdatomic.h>
#include <stdint.h>

#define FDSET_MAX 1024

enum fdset_stream {
	FDSET_ERR = 0,          /* stderr */
	FDSET_OUT = 1,          /* stdout, when captured */
	FDSET_STREAMS = 2,
};

extern _Atomic uint64_t fdset_bits[FDSET_STREAMS][FDSET_MAX / 64];

/* 1 when fd is of stream s (enum fdset_stream). */
static inline int
fdset_is(int fd, int s)
{
	if ((unsigned)fd >= FDSET_MAX)
		return 0;
	/* Relaxed: one word; a change applies from the next call. */
	return (atomic_load_explicit(&fdset_bits[s][fd / 64], memory_order_relaxed) >>
	    (fd % 64)) & 1;
}

/* 1 when fd is stderr. */
static inline int
fdset_has(int fd)
{
	return fdset_is(fd, FDSET_ERR);
}

/* The standard descriptor (1 or 2) that path is one of the absolute names
 * of, or -1: "/dev/stderr", "/dev/fd/2", "/proc/self/fd/2",
 * "/proc/thread-self/fd/2" or "/proc/PID/fd/2" with PID its own, and the
 * same names of stdout. What is opened by such a name is what a dup of
 * that descriptor is (hook_open.c). */
int fdset_std_name(const char *path);

/* Start with fd 2, if it is open, and with fd 1 when out (stdout is
 * captured) and it is open. */
void fdset_init(int out);

/* fd to now refers to what fd from does (dup and friends). */
void fdset_copy(int from, int to);

/* fd was closed (or replaced by something that is neither). */
void fdset_clear(int fd);

/* Every fd in [first, last] was closed. */
void fdset_clear_range(unsigned first, unsigned last);

/* Forget the descriptors that are no longer open (after fcloseall). */
void fdset_prune(void);

#endif
