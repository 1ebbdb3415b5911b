/*
 * divert.h - catching what the C library writes to stderr through its
 * own internal paths (getopt's and argp's messages, malloc_stats,
 * fmtmsg), which call no hooked function: for the length of such a call
 * the stream gets a buffer of the shim's, so every byte the call writes
 * to it lands there; when the call returns, the stream is given back as
 * it was and the bytes are handed to errout (captured, teed, or written
 * through when mplog does not capture), in order, before anything written
 * to the stream afterwards.
 *
 * Only a byte stream whose descriptor is captured (errout_file) and whose
 * buffer is empty is diverted, one at a time in the process (a second
 * call meanwhile, from any thread, runs as it is). A hooked write to the
 * stream during the call takes the diverted bytes first, as it takes any
 * buffered bytes. A call that ends the process (argp's exit after an
 * error or --help) leaves its bytes to an exit handler, which hands them
 * over before the shim's last flush. A call that outgrows the buffer
 * (DIVERT_MAX) has the C library write the excess itself, to the
 * descriptor. If the program closes the stream or sets its buffer during
 * the call, the stream is left as the program made it.
 *
 * Thread-safe; not async-signal-safe (the functions it serves are not).
 * errno is kept.
 */
#ifndef MPLOG_DIVERT_H
#define MPLOG_DIVERT_H

#include <stdio.h>

#define DIVERT_MAX 65536        /* bytes one diverted call may write */

/* Lend fp a buffer of the shim's: 1 when done (call divert_end after
 * the libc call), 0 when fp stays as it is. */
int divert_begin(FILE *fp);

/* Give the stream back and hand over what was written to it. */
void divert_end(void);

#endif
