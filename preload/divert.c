/* divert.c - a stream's buffer lent to the shim for one libc call. */
#include "divert.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "errout.h"
#include "real.h"

/* Flags of glibc's struct _IO_FILE (libio.h) that make its buffering. */
#define DIVERT_IO_USER_BUF         0x0001
#define DIVERT_IO_UNBUFFERED       0x0002
#define DIVERT_IO_LINE_BUF         0x0200
#define DIVERT_IO_CURRENTLY_PUTTING 0x0800
#define DIVERT_IO_BUFFERING (DIVERT_IO_USER_BUF | DIVERT_IO_UNBUFFERED | \
	DIVERT_IO_LINE_BUF | DIVERT_IO_CURRENTLY_PUTTING)

/* The pointers of glibc's struct _IO_FILE that make its buffer. */
#define DIVERT_PTRS(X) X(_IO_read_ptr) X(_IO_read_end) X(_IO_read_base) \
	X(_IO_write_base) X(_IO_write_ptr) X(_IO_write_end) X(_IO_buf_base) X(_IO_buf_end)

/* The stream's buffering, as divert_begin found it. */
struct divert_saved {
	int flags;
#define DIVERT_FIELD(f) char *f;
	DIVERT_PTRS(DIVERT_FIELD)
#undef DIVERT_FIELD
};

enum divert_state {
	DIVERT_FREE = 0,
	DIVERT_TAKEN = 1,       /* a thread is lending it */
	DIVERT_LENT = 2,        /* lent to divert_fp */
};

static _Atomic int divert_busy;         /* enum divert_state */
static FILE *divert_fp;                 /* to this stream */
static struct divert_saved divert_was;
static char divert_buf[DIVERT_MAX];
static _Atomic int divert_registered;   /* divert_exit is an exit handler */

static void
divert_save(FILE *fp, struct divert_saved *s)
{
	s->flags = fp->_flags & DIVERT_IO_BUFFERING;
#define DIVERT_SAVE(f) s->f = fp->f;
	DIVERT_PTRS(DIVERT_SAVE)
#undef DIVERT_SAVE
}

static void
divert_restore(FILE *fp, const struct divert_saved *s)
{
	fp->_flags = (fp->_flags & ~DIVERT_IO_BUFFERING) | s->flags;
#define DIVERT_RESTORE(f) fp->f = s->f;
	DIVERT_PTRS(DIVERT_RESTORE)
#undef DIVERT_RESTORE
}

/* Fully buffered in divert_buf, empty, ready to put. */
static void
divert_lend(FILE *fp)
{
	char *b = divert_buf;

	fp->_flags = (fp->_flags & ~(DIVERT_IO_UNBUFFERED | DIVERT_IO_LINE_BUF)) |
	    DIVERT_IO_USER_BUF | DIVERT_IO_CURRENTLY_PUTTING;
	fp->_IO_buf_base = b;
	fp->_IO_buf_end = b + sizeof(divert_buf);
	fp->_IO_read_base = fp->_IO_read_ptr = fp->_IO_read_end = b;
	fp->_IO_write_base = fp->_IO_write_ptr = b;
	fp->_IO_write_end = b + sizeof(divert_buf);
}

/* Give the locked stream back; hand over its bytes. */
static void
divert_give_back(void)
{
	FILE *fp = divert_fp;
	size_t n;

	if (fp->_IO_buf_base != divert_buf)
		return;         /* closed or set by the program meanwhile */
	n = (size_t)(fp->_IO_write_ptr - fp->_IO_write_base);
	divert_restore(fp, &divert_was);
	if (n == 0)
		return;
	/* Its own buffer is empty: only these bytes go, as the call's. */
	if (errout_wants(fp))
		errout_put(fp, divert_buf, n);
	else
		real_write_all(fp->_fileno, divert_buf, n);
}

/* At exit, before the shim's destructor flushes: a call that ended the
 * process (argp's exit) still has the buffer. glibc's own flush at exit
 * takes no lock either; a stream another thread holds is left to it. */
static void
divert_exit(void)
{
	int saved = errno;

	/* Acquire pairs with the release in divert_begin(): divert_fp and
	 * the saved stream are those of the lending thread. */
	if (atomic_load_explicit(&divert_busy, memory_order_acquire) == DIVERT_LENT &&
	    ftrylockfile(divert_fp) == 0) {
		divert_give_back();
		funlockfile(divert_fp);
	}
	errno = saved;
}

int
divert_begin(FILE *fp)
{
	int saved = errno, expect = 0;

	if (!errout_file(fp))
		return 0;
	/* Relaxed: it only elects the one thread that registers. */
	if (!atomic_exchange_explicit(&divert_registered, 1, memory_order_relaxed))
		atexit(divert_exit);
	/* Acquire pairs with the release in divert_end(): the last
	 * borrower's use of divert_buf is over. */
	if (!atomic_compare_exchange_strong_explicit(&divert_busy, &expect, DIVERT_TAKEN,
	    memory_order_acquire, memory_order_relaxed))
		return 0;
	flockfile(fp);
	if (fwide(fp, 0) > 0 || fp->_IO_write_ptr > fp->_IO_write_base) {
		funlockfile(fp);
		/* Release pairs with the acquire above: nothing was lent. */
		atomic_store_explicit(&divert_busy, DIVERT_FREE, memory_order_release);
		errno = saved;
		return 0;
	}
	divert_fp = fp;
	divert_save(fp, &divert_was);
	divert_lend(fp);
	funlockfile(fp);
	/* Release pairs with the acquire in divert_exit(). */
	atomic_store_explicit(&divert_busy, DIVERT_LENT, memory_order_release);
	errno = saved;
	return 1;
}

void
divert_end(void)
{
	int saved = errno;

	flockfile(divert_fp);
	divert_give_back();
	funlockfile(divert_fp);
	/* Release pairs with the acquire in divert_begin(): our use of
	 * divert_buf is over. */
	atomic_store_explicit(&divert_busy, DIVERT_FREE, memory_order_release);
	errno = saved;
}
