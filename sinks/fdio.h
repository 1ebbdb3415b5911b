/*
 * fdio.h - whole writes to a descriptor, for mplogd's modules that write
 * files and pipes of their own (the catch-all's copy to stderr, journal
 * entries in a memfd, compressed rotated files).
 *
 * Thread-safe (no state); blocks as write(2) on the descriptor does.
 */
#ifndef MPLOG_FDIO_H
#define MPLOG_FDIO_H

#include <stddef.h>

/* Write all n bytes of p to fd, again after EINTR or a short write. 0, or
 * -1 with errno (ENOSPC when write(2) took nothing without an error). */
int fdio_write_all(int fd, const void *p, size_t n);

#endif
