/*
 * test_tsc.c - checks shm/tsc: the line mplogd makes from its samples of
 * the TSC and CLOCK_REALTIME (made here from samples the test chooses, so
 * that every expected time follows from the line's definition), the
 * reading of a published line by a producer, its ageing and withdrawal,
 * and, end to end, that the times of a program's records under mplogd
 * are the wall clock's.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "timeout.h"
#include "tsc.h"

TestSuite(tsc, .init = harness_setup, .fini = harness_teardown);

/* A TSC of 2.5 GHz: 2.5 ticks a nanosecond. */
#define TT_HZ_NUM   5u
#define TT_HZ_DEN   2u
#define TT_T0       UINT64_C(1000000)
#define TT_R0       UINT64_C(1795598186000000000)   /* 2026-11-25T09:16:26Z */

static uint64_t
tt_ticks(uint64_t ns)
{
	return ns * TT_HZ_NUM / TT_HZ_DEN;
}

static uint64_t
tt_abs(int64_t v)
{
	return v < 0 ? (uint64_t)-v : (uint64_t)v;
}

/* A clock fed two exact samples TSC_FIRST_NS apart: it has its first line. */
static struct tsc_clock
tt_first_line(void)
{
	struct tsc_clock k = { .usable = 1 };

	cr_assert_eq(tsc_clock_feed(&k, TT_T0, TT_R0, 0), 0, "one sample makes no line");
	cr_assert_eq(tsc_clock_feed(&k, TT_T0 + tt_ticks(TSC_FIRST_NS), TT_R0 + TSC_FIRST_NS,
	    TSC_FIRST_NS), 1, "the second sample makes the first line");
	return k;
}

Test(tsc, the_first_line_runs_through_the_second_sample_at_the_measured_rate)
{
	struct tsc_clock k = tt_first_line();
	uint64_t base = TT_T0 + tt_ticks(TSC_FIRST_NS);

	cr_assert_eq(k.base_tsc, base);
	cr_assert_eq(tsc_clock_at(&k, base), TT_R0 + TSC_FIRST_NS);
	/* A second on, the line is the clock to within the rounding of its
	 * rate (2^-32 ns a tick). */
	cr_assert_leq(tt_abs((int64_t)(tsc_clock_at(&k, base + tt_ticks(1000000000)) -
	    (TT_R0 + TSC_FIRST_NS + 1000000000))), 2);
	/* It is valid for TSC_VALID_NS (to the rounding of its rate: a tick
	 * in 2^32 ns). */
	cr_assert_leq(tt_abs((int64_t)(k.until_tsc - base - tt_ticks(TSC_VALID_NS))), 10);
	/* And the next sample is due TSC_GROWTH times later. */
	cr_assert_eq(k.next_ns, TSC_FIRST_NS + TSC_FIRST_NS * TSC_GROWTH);
}

/*
 * The clock runs 200 ppm fast, or slow, from the first line on (a slew):
 * the next line starts where the old one is at the sample, with no step,
 * and meets the clock, running on at that rate, at the sample after.
 */
Test(tsc, a_slewed_clock_is_met_by_the_next_sample_without_a_step)
{
	for (int64_t ppm = -200; ppm <= 200; ppm += 400) {
		struct tsc_clock k = tt_first_line(), old;
		int64_t first = TSC_FIRST_NS * TSC_GROWTH;
		int64_t next = TSC_FIRST_NS * TSC_GROWTH * TSC_GROWTH;
		uint64_t t1 = k.base_tsc + tt_ticks((uint64_t)first);
		uint64_t r1 = TT_R0 + TSC_FIRST_NS + (uint64_t)(first + first / 1000000 * ppm);
		uint64_t want = r1 + (uint64_t)(next + next / 1000000 * ppm), at;

		old = k;
		cr_assert_eq(tsc_clock_feed(&k, t1, r1, k.next_ns), 1);
		cr_assert_eq(tsc_clock_at(&k, t1), tsc_clock_at(&old, t1), "the new line steps");
		cr_assert_neq(tsc_clock_at(&old, t1), r1, "the old line was not off: no test");
		at = tsc_clock_at(&k, t1 + tt_ticks((uint64_t)next));
		cr_assert_leq(tt_abs((int64_t)(at - want)), 10, "%lld ppm: %llu ns off at the next "
		    "sample", (long long)ppm, (unsigned long long)tt_abs((int64_t)(at - want)));
	}
}

Test(tsc, a_clock_set_forward_past_the_step_bound_is_followed_at_once)
{
	struct tsc_clock k = tt_first_line();
	uint64_t t1 = k.base_tsc + tt_ticks(TSC_FIRST_NS * TSC_GROWTH);
	uint64_t r1 = TT_R0 + TSC_FIRST_NS + TSC_FIRST_NS * TSC_GROWTH + 2 * TSC_STEP_NS;

	cr_assert_eq(tsc_clock_feed(&k, t1, r1, k.next_ns), 1);
	cr_assert_eq(tsc_clock_at(&k, t1), r1);
	/* At the rate it had: ten milliseconds on is ten milliseconds on. */
	cr_assert_leq(tt_abs((int64_t)(tsc_clock_at(&k, t1 + tt_ticks(10000000)) -
	    (r1 + 10000000))), 2);
}

Test(tsc, a_clock_set_back_is_followed_at_once)
{
	struct tsc_clock k = tt_first_line();
	uint64_t t1 = k.base_tsc + tt_ticks(TSC_FIRST_NS * TSC_GROWTH);
	uint64_t r1 = TT_R0 - 1000000000;

	cr_assert_eq(tsc_clock_feed(&k, t1, r1, k.next_ns), 1);
	cr_assert_eq(tsc_clock_at(&k, t1), r1);
}

Test(tsc, a_tsc_that_did_not_move_on_starts_the_calibration_again)
{
	struct tsc_clock k = tt_first_line();

	cr_assert_eq(tsc_clock_feed(&k, k.base_tsc - 1, TT_R0 + 5 * TSC_FIRST_NS, k.next_ns), 0);
	cr_assert_eq(k.mult, 0, "a line from a TSC that went back");
	cr_assert_eq(tsc_clock_feed(&k, k.tsc + tt_ticks(TSC_FIRST_NS),
	    TT_R0 + 6 * TSC_FIRST_NS, k.next_ns), 1, "a new first line");
}

#if defined(__x86_64__)
/* CLOCK_REALTIME from the vDSO, the reference. */
static uint64_t
tt_real(void)
{
	return tsc_vdso_real();
}

/* A line on this machine's TSC, published into l; skips when the
 * clocksource is not the TSC. */
static void
tt_live_line(struct tsc_line *l, struct tsc_clock *k)
{
	int64_t now = 0;

	tsc_clock_init(k);
	if (!k->usable)
		cr_skip_test("the kernel's clocksource is not the TSC: "
		    "records take clock_gettime's time");
	cr_assert_eq(tsc_clock_tick(k, now), 0);
	/* The samples must be TSC_FIRST_NS apart in real time: the ticks in
	 * between are what is measured. */
	for (uint64_t start = tt_real(); tt_real() - start < 2 * TSC_FIRST_NS;)
		;
	now += TSC_FIRST_NS;
	cr_assert_eq(tsc_clock_tick(k, now), 1);
	memset(l, 0, sizeof(*l));
	tsc_publish(l, k);
}

/* Each read lies between the vDSO's reads around it, to within bound ns. */
static void
tt_reads_between(const struct tsc_line *l, uint64_t bound, int rounds)
{
	uint64_t last = 0;

	for (int i = 0; i < rounds; i++) {
		uint64_t before = tt_real(), t = tsc_now_real(l), after = tt_real();

		cr_assert(t + bound >= before && t <= after + bound,
		    "read %llu ns outside [%llu, %llu]", (unsigned long long)t,
		    (unsigned long long)before, (unsigned long long)after);
		cr_assert_geq(t, last, "went back by %llu ns", (unsigned long long)(last - t));
		last = t;
	}
}

Test(tsc, a_published_line_reads_the_wall_clock_and_never_goes_back)
{
	struct tsc_line l;
	struct tsc_clock k;
	int64_t now = TSC_FIRST_NS;

	tt_live_line(&l, &k);
	tt_reads_between(&l, 50000, 100000);
	/* Through new lines, made as soon as the clock allows. */
	for (int i = 0; i < 3; i++) {
		for (uint64_t start = tt_real(); tt_real() - start < 2 * TSC_FIRST_NS;)
			;
		now = k.next_ns;
		cr_assert_eq(tsc_clock_tick(&k, now), 1);
		tsc_publish(&l, &k);
		tt_reads_between(&l, 50000, 20000);
	}
}

/* A valid line is what a read uses: one moved an hour on reads an hour on. */
Test(tsc, a_read_takes_the_published_line_while_it_is_valid)
{
	struct tsc_line l;
	struct tsc_clock k;
	uint64_t hour = UINT64_C(3600000000000), before, t;

	tt_live_line(&l, &k);
	k.base_ns += hour;
	tsc_publish(&l, &k);
	before = tt_real();
	t = tsc_now_real(&l);
	cr_assert(t >= before + hour - 50000 && t <= tt_real() + hour + 50000);
}

Test(tsc, an_aged_or_withdrawn_line_leaves_reads_to_the_vdso)
{
	struct tsc_line l;
	struct tsc_clock k;
	uint64_t hour = UINT64_C(3600000000000);

	tt_live_line(&l, &k);
	k.base_ns += hour;              /* so that a read of the line shows */
	k.until_tsc = k.base_tsc + 1;   /* long past */
	tsc_publish(&l, &k);
	cr_assert_lt(tsc_now_real(&l), tt_real() + hour / 2, "an aged line was read");
	k.until_tsc = UINT64_MAX;
	tsc_publish(&l, &k);
	cr_assert_gt(tsc_now_real(&l), tt_real() + hour / 2, "no test: the line is not read");
	tsc_publish(&l, NULL);
	cr_assert_eq(atomic_load(&l.seq), 0);
	cr_assert_lt(tsc_now_real(&l), tt_real() + hour / 2, "a withdrawn line was read");
	tt_reads_between(NULL, 0, 1000);
}
#endif

#define TT_LINES 20     /* harness_run_host takes some 50 words */

/* "2026-11-25T09:16:26.123456789Z" in nanoseconds. */
static uint64_t
tt_parse_ts(const char *ts)
{
	struct tm tm = { 0 };
	unsigned long ns;

	cr_assert_eq(sscanf(ts, "%d-%d-%dT%d:%d:%d.%9luZ", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ns), 7, "ts %s", ts);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (uint64_t)timegm(&tm) * 1000000000u + ns;
}

/*
 * A program writes a line every 15 ms for 0.3 s under mplogd, through its
 * first lines (the vDSO's) and its first calibrations: each record's time
 * lies within the run, as the wall clock saw it, and never goes back.
 */
Test(tsc, a_programs_records_carry_the_wall_clock_through_the_calibrations,
    .timeout = TEST_TIMEOUT(30))
{
	const char *args[2 * TT_LINES + 1];
	struct harness_result r;
	struct harness_rec *recs;
	size_t n, seen = 0;
	uint64_t start, end, last = 0;
	char *log;

	for (int i = 0; i < TT_LINES; i++) {
		args[2 * i] = harness_fmt("w:tick %03d\\n", i);
		args[2 * i + 1] = "z:15";
	}
	args[2 * TT_LINES] = NULL;
	start = tsc_vdso_real();
	r = harness_run_host(0, "json", NULL, "say", args, &log);
	end = tsc_vdso_real();
	cr_assert_eq(r.code, 0, "%s", r.err);
	recs = harness_json_load(log, &n);
	for (size_t i = 0; i < n; i++) {
		uint64_t t;

		if (strncmp(recs[i].msg, "tick ", 5) != 0)
			continue;
		t = tt_parse_ts(recs[i].ts);
		cr_assert(t >= start && t <= end, "%s outside the run", recs[i].ts);
		cr_assert_geq(t, last, "%s before the line above it", recs[i].ts);
		last = t;
		seen++;
	}
	cr_assert_eq(seen, TT_LINES, "%zu of %d lines", seen, TT_LINES);
}
