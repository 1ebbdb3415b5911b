/*
 * procid.h - identify a process across pid reuse.
 *
 * A process is named by its pid and its start time (clock ticks since boot,
 * field 22 of /proc/PID/stat). Used by the shim to lease a lane and by
 * mplogd to tell whether a lane's owner or a segment's consumer still runs.
 * Thread-safe; not async-signal-safe (reads /proc).
 */
#ifndef MPLOG_PROCID_H
#define MPLOG_PROCID_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Start time of pid in clock ticks since boot; 0 when it cannot be read. */
uint64_t procid_start(pid_t pid);

/* Pack pid and start time into the 64-bit owner word of a lane; never 0. */
uint64_t procid_pack(pid_t pid, uint64_t start);

/*
 * 1 if the process named by the packed word runs (and is no zombie), else
 * 0. Also 1 when the pid exists but /proc cannot say its start time (no
 * /proc, hidepid): wrongly "dead" would hand a live owner's lane to another.
 */
int procid_alive(uint64_t packed);

/* The command name of pid (/proc/PID/comm, no newline) into out; -1 when
 * it cannot be read. */
int procid_comm(pid_t pid, char *out, size_t len);

/* 0 when the pid of packed surely no longer exists (kill(2) says ESRCH),
 * else 1. Opens nothing: safe where a descriptor must not be taken. A
 * zombie or a reused pid counts as existing. */
int procid_exists(uint64_t packed);

/* The parent of pid (field 4 of /proc/PID/stat); 0 when it cannot be
 * read. */
pid_t procid_parent(pid_t pid);

/* The pid inside a packed word. */
pid_t procid_pid(uint64_t packed);

#endif
