/* capture.c - a captured call into the process's heap ring. */
#include "capture.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "guard.h"
#include "pipeline.h"
#include "rodata.h"
#include "shim.h"
#include "threadname.h"
#include "snap.h"

/* The ring, mapped on the first record. */
static struct heapring *
capture_ring(void)
{
	struct heapring *r = atomic_load_explicit(&shim.ring, memory_order_acquire);
	struct heapring *expect = NULL;

	if (r != NULL)
		return r;
	r = heapring_new();
	if (r == NULL)
		return NULL;
	/* acq_rel: publishes the initialised ring; pairs with the acquire above. */
	if (!atomic_compare_exchange_strong_explicit(&shim.ring, &expect, r,
	    memory_order_acq_rel, memory_order_acquire)) {
		munmap(r, sizeof(*r));
		r = expect;
	}
	return r;
}

/* Wait, bounded, for room in the ring under the block policy. */
static int
capture_claim_wait(struct heapring *r, uint32_t len, struct heapring_claim *c)
{
	uint64_t freed = atomic_load_explicit(&r->freed, memory_order_relaxed);
	int64_t since = seg_now_mono();

	pipeline_ensure();
	for (;;) {
		if (heapring_reader_sleeps(r))
			heapring_wake(r);
		heapring_wait_room(r, 1000000);
		if (heapring_claim(r, len, c) == 0)
			return 0;
		uint64_t now_freed = atomic_load_explicit(&r->freed, memory_order_relaxed);
		if (now_freed != freed) {
			freed = now_freed;
			since = seg_now_mono();
		} else if (seg_now_mono() - since > SHIM_BLOCK_NS) {
			return -1;
		}
	}
}

/* Claim room for len bytes: 0 claimed, 1 dropped and counted, -1 pass. */
static int
capture_claim(struct heapring *r, uint32_t len, struct heapring_claim *c)
{
	struct seg *s = shim_seg();

	if (heapring_claim(r, len, c) == 0)
		return 0;
	if (errno != EAGAIN)
		return -1;
	if (s->policy == SEG_POLICY_DROP) {
		atomic_fetch_add_explicit(&r->drops, 1, memory_order_relaxed);
		return 1;
	}
	if (shim_depth > 1)
		return -1;      /* in a signal handler: never wait */
	return capture_claim_wait(r, len, c);
}

/* Fill in a claimed record's header and publish it. */
static int
capture_publish(struct heapring *r, struct heapring_claim *c, uint8_t kind,
    uint8_t pri, uint16_t ident, uint64_t ts)
{
	c->rec->kind = kind;
	c->rec->pri = pri;
	c->rec->ident = ident;
	c->rec->ts_ns = ts;
	c->rec->tid = shim_tid();
	threadname_check(c->rec->tid);
	/* Relaxed: a single word; a change applies from the next call. A
	 * stderr line's severity is known only once it is whole, so the
	 * pipeline judges it against the level of its first piece's call. */
	c->rec->level = (uint8_t)atomic_load_explicit(&shim_seg()->config->level,
	    memory_order_relaxed);
	if (heapring_publish(r, c) == -1)
		return -1;
	pipeline_ensure();
	if (heapring_reader_sleeps(r))
		heapring_wake(r);
	return 0;
}

size_t
capture_bytes(uint8_t kind, uint8_t pri, uint16_t ident, const void *data, size_t len)
{
	struct heapring *r = capture_ring();
	uint64_t ts = shim_now_real();
	size_t taken = 0;
	struct heapring_claim c;

	if (r == NULL)
		return 0;
	while (taken < len) {
		uint32_t n = len - taken > HEAPRING_DATA_MAX ? HEAPRING_DATA_MAX :
		    (uint32_t)(len - taken);
		int got = capture_claim(r, n, &c);

		if (got == -1)
			break;
		if (got == 0) {
			if (guard_copy(c.rec->data, (const char *)data + taken, n) == -1) {
				/* A bad buffer: an empty record frees the claim,
				 * and the real call fails with EFAULT. */
				c.rec->len = 0;
				capture_publish(r, &c, kind, pri, ident, ts);
				break;
			}
			if (capture_publish(r, &c, kind, pri, ident, ts) == -1)
				break;
		}
		taken += n;
	}
	return taken;
}

/*
 * Take the call as a snapshot (shm/snap.h) of the given kind: its format
 * (as a pointer when it stays mapped) and arguments, to be formatted
 * later. text_len: as snap_take's. 0 taken, -1 pass through, -2 not a
 * call a snapshot takes: format it here. Not in a signal handler that
 * interrupted a hook: a snapshot takes some 6 KiB of stack, more than an
 * alternate signal stack may have to spare.
 */
static int
capture_snap(uint8_t kind, uint8_t pri, uint16_t ident, const char *fmt, va_list ap,
    int *text_len)
{
	char buf[SHIM_SNAP_MAX];
	struct heapring *r;
	struct heapring_claim c;
	va_list copy;
	int saved = errno, n, got;

	if (shim_depth > 1 || atomic_load_explicit(&shim.printf_changed, memory_order_relaxed))
		return -2;
	va_copy(copy, ap);
	n = snap_take(buf, sizeof(buf), fmt, rodata_has(fmt), saved, copy, text_len);
	va_end(copy);
	errno = saved;
	if (n == -1 || (text_len != NULL && *text_len > SHIM_ESNAP_TEXT_MAX))
		return -2;
	if ((r = capture_ring()) == NULL || (got = capture_claim(r, (uint32_t)n, &c)) == -1)
		return -1;
	if (got == 1)
		return 0;       /* dropped and counted */
	memcpy(c.rec->data, buf, (size_t)n);
	return capture_publish(r, &c, kind, pri, ident, shim_now_real());
}

int
capture_esnap(const char *fmt, va_list ap, int *text_len)
{
	return capture_snap(HEAPRING_ESNAP, shim.stderr_pri, 0, fmt, ap, text_len) == 0 ?
	    0 : -1;
}

int
capture_fmt(uint8_t kind, uint8_t pri, uint16_t ident, const char *fmt, va_list ap)
{
	char small[256];
	struct heapring *r;
	struct heapring_claim c;
	va_list again;
	int saved = errno, n, got;

	if (kind == HEAPRING_SYSLOG &&
	    (got = capture_snap(HEAPRING_SNAP, pri, ident, fmt, ap, NULL)) != -2)
		return got;
	va_copy(again, ap);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	if (n < 0 || (size_t)n < sizeof(small)) {
		va_end(again);
		return n < 0 || capture_bytes(kind, pri, ident, small, (size_t)n) < (size_t)n ? -1 : 0;
	}
	if ((r = capture_ring()) == NULL || (got = capture_claim(r, n >= (int)HEAPRING_DATA_MAX ?
	    HEAPRING_DATA_MAX : (uint32_t)n + 1, &c)) == -1) {
		va_end(again);
		return -1;
	}
	if (got == 0) {
		errno = saved;  /* %m reads errno at the call */
		vsnprintf(c.rec->data, c.rec->len, fmt, again);
		c.rec->len = (uint32_t)strnlen(c.rec->data, c.rec->len);
		got = capture_publish(r, &c, kind, pri, ident, shim_now_real());
	}
	va_end(again);
	return got == -1 ? -1 : 0;
}

