/*
 * tsc.h - the time of a record, from the CPU's time-stamp counter.
 *
 * A record carries CLOCK_REALTIME at its call. The vDSO's clock_gettime
 * costs some 23 ns on a virtual machine, a quarter of a hooked call; the
 * TSC is read in under 10. So mplogd calibrates the TSC against
 * CLOCK_REALTIME and publishes a line, ns = base_ns + (tsc - base_tsc) *
 * mult / 2^32, in the configuration every producer maps (seg_config.tsc,
 * read-only in a control page); producers read the TSC and apply it.
 *
 * When: only on x86-64, and only when the kernel's own clocksource is
 * "tsc" (it then trusts the TSC to run at one constant rate, in step on
 * every CPU: the same reads order its CLOCK_REALTIME). Else mplogd
 * publishes nothing, and producers call clock_gettime, as they also do
 * before they attach, and after the line's until_tsc: a line is valid for
 * TSC_VALID_NS, so a dead or stopped mplogd's line ages out.
 *
 * Order across processes: every producer of an mplogd applies one line,
 * so two records compare as their TSC reads do. The first line is made
 * from two samples TSC_FIRST_NS apart (mplogd starts no slower for it),
 * the next ones TSC_GROWTH times further apart each, up to TSC_PERIOD_NS.
 * A new line starts where the old one is at its base (no step), and its
 * slope takes up the error against CLOCK_REALTIME by the next sample;
 * only an error past
 * TSC_STEP_NS (the clock was set) is taken at once, a step as the clock
 * made. The TSC is read without a fence (a fence costs what it saves): a
 * read may run a few tens of nanoseconds ahead of the code before it.
 *
 * Ordering of the line: a sequence lock with one writer (mplogd's main
 * thread). seq is odd while the line changes and 0 while there is none.
 * The writer stores seq odd, a release fence, the fields, then seq even
 * with release; a reader loads seq with acquire, the fields, an acquire
 * fence, and seq again, and uses the fields only when both reads are the
 * same even, non-zero value. Reading is async-signal-safe and lock-free.
 */
#ifndef MPLOG_TSC_H
#define MPLOG_TSC_H

#include <stdatomic.h>
#include <stdint.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#define TSC_PERIOD_NS  (1000 * 1000000LL)   /* between two calibrations, at most */
#define TSC_FIRST_NS   (1000000LL)          /* from the first sample to the first line */
#define TSC_GROWTH     10                   /* each interval that much longer, up to the period */
#define TSC_VALID_NS   (4 * TSC_PERIOD_NS)  /* a line's life without a new one */
#define TSC_STEP_NS    (1000000LL)          /* an error taken at once, not slewed */
#define TSC_SAMPLES    5                    /* reads per sample; the tightest is kept */
#define TSC_SLEW       1000                 /* 1/1000: a rate change taken as a slew */

/* The line, in shared memory. */
struct tsc_line {
	_Atomic uint32_t seq;
	uint32_t spare;
	_Atomic uint64_t base_tsc;
	_Atomic uint64_t base_ns;       /* CLOCK_REALTIME at base_tsc */
	_Atomic uint64_t mult;          /* ns per tick, times 2^32 */
	_Atomic uint64_t until_tsc;     /* valid below this */
};

/* mplogd's calibration, private. */
struct tsc_clock {
	int usable;                     /* the clocksource is the TSC */
	int sampled;                    /* tsc and real hold a sample */
	uint64_t tsc, real;             /* the last sample */
	uint64_t tsc0, real0;           /* the anchor: the first sample, or the
	                                 * last step of the clock */
	int64_t next_ns;                /* CLOCK_MONOTONIC of the next sample */
	int64_t interval_ns;            /* from the last sample to the next */
	uint64_t base_tsc, base_ns, mult, until_tsc;    /* the line; mult 0: none */
};

/* Start calibrating: usable when the clocksource is the TSC. */
void tsc_clock_init(struct tsc_clock *k);

/* Sample when due (now_mono past next_ns) and make the next line; 1 when
 * there is a new line to publish. */
int tsc_clock_tick(struct tsc_clock *k, int64_t now_mono);

/* Make the next line from a sample (tsc, real) taken at now_mono; 1 when
 * there is a new line. (tsc_clock_tick's arithmetic, for the tests.) */
int tsc_clock_feed(struct tsc_clock *k, uint64_t tsc, uint64_t real, int64_t now_mono);

/* The time at tsc on k's line (which must exist). */
uint64_t tsc_clock_at(const struct tsc_clock *k, uint64_t tsc);

/* Publish k's line, or withdraw any (k NULL or without a line). */
void tsc_publish(struct tsc_line *l, const struct tsc_clock *k);

/* CLOCK_REALTIME in nanoseconds from the vDSO. */
uint64_t tsc_vdso_real(void);

/*
 * CLOCK_REALTIME now in nanoseconds: from the TSC on line l (NULL: none)
 * while it is there and valid, else from the vDSO. Inline: every
 * captured call takes one.
 */
static inline uint64_t
tsc_now_real(const struct tsc_line *l)
{
#if defined(__x86_64__)
	uint32_t seq;

	/* Acquire pairs with the release of the even seq in tsc_publish(). */
	if (l != NULL && (seq = atomic_load_explicit(&l->seq, memory_order_acquire)) != 0 &&
	    (seq & 1) == 0) {
		uint64_t base_tsc = atomic_load_explicit(&l->base_tsc, memory_order_relaxed);
		uint64_t base_ns = atomic_load_explicit(&l->base_ns, memory_order_relaxed);
		uint64_t mult = atomic_load_explicit(&l->mult, memory_order_relaxed);
		uint64_t until = atomic_load_explicit(&l->until_tsc, memory_order_relaxed);
		uint64_t t;

		/* Pairs with the release fence in tsc_publish(): fields of a
		 * newer line make seq differ here. */
		atomic_thread_fence(memory_order_acquire);
		t = __rdtsc();
		/* Unsigned: a TSC below base (another CPU a tick behind) is
		 * out of range too. */
		if (atomic_load_explicit(&l->seq, memory_order_relaxed) == seq &&
		    t - base_tsc < until - base_tsc)
			return base_ns +
			    (uint64_t)(((unsigned __int128)(t - base_tsc) * mult) >> 32);
	}
#else
	(void)l;
#endif
	return tsc_vdso_real();
}

#endif
