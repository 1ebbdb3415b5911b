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

#endif
