/*
 * errout.h - the one way text bound for stderr, or for stdout when it is
 * captured, reaches mplog, whichever hook it came through: write(2), a
 * stdio stream, dprintf, a reporting function like err(3).
 *
 * A descriptor is captured when it is stderr (fdset.h) and MPLOG_STDERR is
 * not pass, or stdout and MPLOG_STDOUT is not pass; a stream when its
 * descriptor is. Captured text is handed to the pipeline as it is; in tee
 * mode it is also written to the descriptor, and whatever mplog cannot
 * take is written there too, so every byte ends in the log or where it was
 * going. Stream hooks never call the real stdio function for text they
 * captured: the bytes the stream's buffer already held go first, and the
 * buffer is left empty. The one exception is the stdout stream in tee
 * mode: its text is captured at the call and then given to the real
 * stream, so what reaches stdout keeps the program's buffering.
 *
 * Each errout_h* function returns 1 when it handled the call (its result
 * in *ret) and 0 when the caller must make the real call, with its
 * arguments untouched (mplog is not capturing, or the stream's orientation
 * makes the real function fail). errno is preserved, except where the real
 * function would have set it.
 */
#ifndef MPLOG_ERROUT_H
#define MPLOG_ERROUT_H

#include <stdarg.h>
#include <stdio.h>
#include <sys/types.h>
#include <wchar.h>

/* The heap-ring kind of output to fd mplog looks at: HEAPRING_STDERR,
 * HEAPRING_STDOUT, or 0 when it is not captured. Signal-safe. */
int errout_fd(int fd);

/* The mode (enum shim_mode) of output of kind (errout_fd's). */
int errout_mode(int kind);

/* Nonzero when output to the stream fp is captured (its descriptor is). */
int errout_file(FILE *fp);

/* 1 when mplog captures now (attaching first if due). Sets errno. */
int errout_live(void);

/* errout_file and errout_live together, with errno kept. */
int errout_wants(FILE *fp);

/* Hand n bytes to the pipeline as output of kind (errout_fd's); how many
 * it took. */
size_t errout_capture(int kind, const void *buf, size_t n);

/*
 * With mplog live, capture n bytes bound for the stream fp (the caller
 * holds its lock): first what its buffer holds, then buf. Orientation is
 * not touched. 0, or EOF with errno and the stream's error flag set when a
 * needed write to the descriptor failed.
 */
int errout_put(FILE *fp, const void *buf, size_t n);

/* Byte output to a stream: fputs and friends. strict: fail, as the real
 * function does, on a wide-oriented stream. *ret: 0 or EOF. */
int errout_hput(FILE *fp, const void *buf, size_t n, int strict, int *ret);

/* vfprintf (flag < 0) or __vfprintf_chk (flag >= 0) to a stream. */
int errout_hvprintf(FILE *fp, int flag, const char *fmt, va_list ap, int *ret);

/* vdprintf or __vdprintf_chk to a descriptor. */
int errout_hvdprintf(int fd, int flag, const char *fmt, va_list ap, int *ret);

/* dprintf to a descriptor, for the hooks that build a function's text
 * themselves (psiginfo, herror). */
int errout_hdprintf(int fd, int *ret, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Wide output: n wide characters to a stream. *ret: 0 or EOF (errno
 * EILSEQ when one has no multibyte form). */
int errout_hwput(FILE *fp, const wchar_t *ws, size_t n, int *ret);

/* vfwprintf or __vfwprintf_chk to a stream. */
int errout_hvwprintf(FILE *fp, int flag, const wchar_t *fmt, va_list ap, int *ret);

/*
 * Text formatted in the hook: small outputs on the stack, larger ones on
 * the heap. errout_format returns the length, or -1 with errno as
 * vsnprintf left it.
 */
struct errout_text {
	char *p;
	char small[512];
};

int errout_format(struct errout_text *t, int flag, const char *fmt, va_list ap);
void errout_text_free(struct errout_text *t);

#endif
