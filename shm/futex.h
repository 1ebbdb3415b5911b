/*
 * futex.h - wait on and wake a 32-bit word that may live in shared memory.
 *
 * Used by both sides of the segment. Both calls are async-signal-safe: they
 * are single system calls. futex_wait returns 0 when woken or when the word
 * no longer holds the expected value, -1 with errno ETIMEDOUT or EINTR
 * otherwise. The words are shared across processes, so the private flag is
 * never used.
 */
#ifndef MPLOG_FUTEX_H
#define MPLOG_FUTEX_H

#include <errno.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Sleep while *word == expect, for at most timeout_ns nanoseconds. */
static inline int
futex_wait(_Atomic uint32_t *word, uint32_t expect, int64_t timeout_ns)
{
	struct timespec ts = {
		.tv_sec = timeout_ns / 1000000000,
		.tv_nsec = timeout_ns % 1000000000,
	};

	if (syscall(SYS_futex, word, FUTEX_WAIT, expect, &ts, NULL, 0) == -1) {
		if (errno == EAGAIN)
			return 0;
		return -1;
	}
	return 0;
}

/* Wake every waiter sleeping on word. */
static inline void
futex_wake(_Atomic uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
}

/*
 * Sleep while *w[0] == v[0] and *w[1] == v[1], for at most timeout_ns
 * (futex_waitv, Linux 5.16). As futex_wait, and -1 with ENOSYS when the
 * kernel has no futex_waitv.
 */
static inline int
futex_wait2(_Atomic uint32_t *const w[2], const uint32_t v[2], int64_t timeout_ns)
{
	struct futex_waitv fw[2];
	struct timespec ts;

	for (int i = 0; i < 2; i++)
		fw[i] = (struct futex_waitv){ .val = v[i], .uaddr = (uintptr_t)w[i],
		    .flags = FUTEX_32 };
	/* futex_waitv's timeout is absolute, on CLOCK_MONOTONIC. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += timeout_ns / 1000000000 + (ts.tv_nsec + timeout_ns % 1000000000) / 1000000000;
	ts.tv_nsec = (ts.tv_nsec + timeout_ns % 1000000000) % 1000000000;
	if (syscall(SYS_futex_waitv, fw, 2, 0, &ts, CLOCK_MONOTONIC) == -1) {
		if (errno == EAGAIN)
			return 0;
		return -1;
	}
	return 0;
}

#endif
