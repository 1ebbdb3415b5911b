/*
 * capture.h - the one way a hook hands a line to mplog: a record in the
 * process's heap ring (heapring.h), mapped on the first record, which
 * also starts the pipeline thread (pipeline.h).
 *
 * Called by the hooks between shim_enter and shim_leave, once shim_live
 * or shim_wants said mplog captures. Lock-free and async-signal-safe,
 * with one exception documented in pipeline.h (the thread is created on
 * the first line). Under the block policy a full ring is waited for
 * (bounded, SHIM_BLOCK_NS without progress), never from a signal handler
 * that interrupted a hook.
 */
#ifndef MPLOG_CAPTURE_H
#define MPLOG_CAPTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Hand bytes to the pipeline (in records of at most HEAPRING_DATA_MAX).
 * Returns how many leading bytes mplog took responsibility for (queued,
 * or dropped and counted under the drop policy); the caller passes the
 * rest through.
 */
size_t capture_bytes(uint8_t kind, uint8_t pri, uint16_t ident, const void *data, size_t len);

/* Hand fmt and ap over as one record: for syslog, a snapshot that mplogd
 * formats (shm/snap.h) when the call is one a snapshot takes, else the
 * text formatted here. 0 when taken, -1 when the caller must pass the
 * call through. */
int capture_fmt(uint8_t kind, uint8_t pri, uint16_t ident, const char *fmt, va_list ap);

/*
 * Hand a printf call to stderr over as a snapshot (HEAPRING_ESNAP) that
 * the pipeline formats: 0 when taken (queued, or dropped and counted),
 * with the text's length, what the call returns, in *text_len; -1 when
 * it was not (in a signal handler that interrupted a hook, among others),
 * and the caller formats the call itself. Call between shim_enter and
 * shim_leave.
 */
int capture_esnap(const char *fmt, va_list ap, int *text_len);

#endif
