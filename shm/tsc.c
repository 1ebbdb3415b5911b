/* tsc.c - mplogd's calibration of the TSC against CLOCK_REALTIME. */
#include "tsc.h"

#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TSC_CLOCKSOURCE "/sys/devices/system/clocksource/clocksource0/current_clocksource"

uint64_t
tsc_vdso_real(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void
tsc_clock_init(struct tsc_clock *k)
{
	char buf[16] = "";
	int fd = open(TSC_CLOCKSOURCE, O_RDONLY | O_CLOEXEC);

	memset(k, 0, sizeof(*k));
	if (fd == -1)
		return;
	if (read(fd, buf, sizeof(buf) - 1) > 0)
		k->usable = strcmp(buf, "tsc\n") == 0;
	close(fd);
#if !defined(__x86_64__)
	k->usable = 0;
#endif
}

uint64_t
tsc_clock_at(const struct tsc_clock *k, uint64_t tsc)
{
	return k->base_ns + (uint64_t)(((unsigned __int128)(tsc - k->base_tsc) * k->mult) >> 32);
}

/* Ticks in ns nanoseconds at rate mult (ns per tick, times 2^32). */
static uint64_t
tsc_ticks(uint64_t mult, int64_t ns)
{
	return (uint64_t)(((unsigned __int128)ns << 32) / mult);
}

/* The interval after the current one. */
static int64_t
tsc_next_interval(const struct tsc_clock *k)
{
	return k->interval_ns >= TSC_PERIOD_NS / TSC_GROWTH ? TSC_PERIOD_NS :
	    k->interval_ns * TSC_GROWTH;
}

/* Nanoseconds a tick, times 2^32, from (tsc0, real0) to (tsc, real); 0
 * when the clock did not move on. */
static uint64_t
tsc_rate(uint64_t tsc0, uint64_t real0, uint64_t tsc, uint64_t real)
{
	if (real <= real0)
		return 0;
	return (uint64_t)(((unsigned __int128)(real - real0) << 32) / (tsc - tsc0));
}

/* mult made steeper (err > 0) or flatter so that the line gains err ns
 * over the next interval_ns. A product, not a shift: err may be negative. */
static uint64_t
tsc_slew(uint64_t mult, int64_t err, int64_t interval_ns)
{
	__int128 ticks = (__int128)tsc_ticks(mult, interval_ns);

	return (uint64_t)((__int128)mult + (__int128)err * ((__int128)1 << 32) / ticks);
}

/* Start again from this sample: it anchors the rate, and the next one,
 * TSC_FIRST_NS later, makes a line from scratch. The line in force stays
 * until it ages out. */
static int
tsc_restart(struct tsc_clock *k, uint64_t tsc, uint64_t real, int64_t now_mono)
{
	k->tsc = k->tsc0 = tsc;
	k->real = k->real0 = real;
	k->sampled = 1;
	k->base_tsc = k->base_ns = k->mult = k->until_tsc = 0;
	k->interval_ns = TSC_FIRST_NS;
	k->next_ns = now_mono + k->interval_ns;
	return 0;
}

/*
 * The rate of the clock at the sample (tsc, real): over the last interval
 * when it is within TSC_SLEW of the rate since the anchor (NTP slews by
 * 500 ppm at most), else since the anchor (a small step of the clock in
 * the last interval would make its rate wrong for the whole next one).
 */
static uint64_t
tsc_clock_rate(const struct tsc_clock *k, uint64_t tsc, uint64_t real)
{
	uint64_t last = tsc_rate(k->tsc, k->real, tsc, real);
	uint64_t whole = tsc_rate(k->tsc0, k->real0, tsc, real);

	return last > whole - whole / TSC_SLEW && last < whole + whole / TSC_SLEW ? last : whole;
}

int
tsc_clock_feed(struct tsc_clock *k, uint64_t tsc, uint64_t real, int64_t now_mono)
{
	uint64_t at;
	int64_t err;

	/* No earlier sample, a TSC that did not move on, or (without a line
	 * to keep) a clock set back: no rate to be had from this pair. */
	if (!k->sampled || (int64_t)(tsc - k->tsc) <= 0 || (k->mult == 0 && real <= k->real))
		return tsc_restart(k, tsc, real, now_mono);
	if (k->mult == 0) {
		k->base_ns = real;
		k->mult = tsc_rate(k->tsc, k->real, tsc, real);
	} else {
		at = tsc_clock_at(k, tsc);
		err = (int64_t)(real - at);
		if (err > TSC_STEP_NS || err < -TSC_STEP_NS) {
			/* The clock was set: step with it, at the rate we had,
			 * and anchor the rate here. */
			k->base_ns = real;
			k->tsc0 = tsc;
			k->real0 = real;
		} else {
			/* Go on from where the line is now, at the clock's
			 * rate, and take up the error by the next sample. */
			k->base_ns = at;
			k->mult = tsc_clock_rate(k, tsc, real);
			if (k->mult != 0)
				k->mult = tsc_slew(k->mult, err, tsc_next_interval(k));
		}
	}
	if (k->mult == 0)
		return tsc_restart(k, tsc, real, now_mono);
	k->base_tsc = tsc;
	k->until_tsc = tsc + tsc_ticks(k->mult, TSC_VALID_NS);
	k->tsc = tsc;
	k->real = real;
	k->interval_ns = tsc_next_interval(k);
	k->next_ns = now_mono + k->interval_ns;
	return 1;
}

#if defined(__x86_64__)
/* One sample: the tightest of TSC_SAMPLES pairs of TSC reads around a
 * clock_gettime, the TSC read as the middle of the pair. Fenced here:
 * the calibration must not be off by where the CPU ran ahead. */
static void
tsc_sample(uint64_t *tsc, uint64_t *real)
{
	uint64_t best = UINT64_MAX;

	for (int i = 0; i < TSC_SAMPLES; i++) {
		uint64_t t0, t1, r;

		_mm_lfence();
		t0 = __rdtsc();
		_mm_lfence();
		r = tsc_vdso_real();
		_mm_lfence();
		t1 = __rdtsc();
		if (t1 - t0 < best) {
			best = t1 - t0;
			*tsc = t0 + (t1 - t0) / 2;
			*real = r;
		}
	}
}
#endif

int
tsc_clock_tick(struct tsc_clock *k, int64_t now_mono)
{
#if defined(__x86_64__)
	uint64_t tsc = 0, real = 0;

	if (!k->usable || (k->sampled && now_mono < k->next_ns))
		return 0;
	tsc_sample(&tsc, &real);
	return tsc_clock_feed(k, tsc, real, now_mono);
#else
	(void)k;
	(void)now_mono;
	return 0;
#endif
}

void
tsc_publish(struct tsc_line *l, const struct tsc_clock *k)
{
	uint32_t seq = atomic_load_explicit(&l->seq, memory_order_relaxed);
	uint32_t odd = (seq | 1) == seq ? seq + 2 : seq + 1;

	/* Odd first: a reader that loads any field below sees seq move. The
	 * release fence keeps the odd store before the fields' stores; pairs
	 * with the acquire fence in tsc_now_real(). */
	atomic_store_explicit(&l->seq, odd, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&l->base_tsc, k != NULL ? k->base_tsc : 0, memory_order_relaxed);
	atomic_store_explicit(&l->base_ns, k != NULL ? k->base_ns : 0, memory_order_relaxed);
	atomic_store_explicit(&l->mult, k != NULL ? k->mult : 0, memory_order_relaxed);
	atomic_store_explicit(&l->until_tsc, k != NULL ? k->until_tsc : 0, memory_order_relaxed);
	/* Release pairs with the acquire load of seq in tsc_now_real(). 0
	 * says there is no line; a wrapped count skips it. */
	atomic_store_explicit(&l->seq, k == NULL || k->mult == 0 ? 0 : odd + 1 == 0 ? 2 : odd + 1,
	    memory_order_release);
}
