/*
 * test_consumer.c - mplogd's merge (sinks/consumer.c) on a real segment:
 * across lanes the oldest record goes first once it is older than the
 * reorder window, whatever lane was published first; a record inside the
 * window waits, and is written when the window has passed or at a drain;
 * a lane more than half full is not held back.
 *
 * Records are written into two lanes as producers write them, with times
 * chosen around now: long past (due at once) or far ahead (due only at a
 * drain), so that nothing depends on how fast the test runs. The output
 * is a JSON sink on a memory file, read back strictly.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "consumer.h"
#include "harness.h"
#include "procid.h"

#define CONS_WINDOW_NS  (50 * 1000000LL)        /* mplogd's default window */
#define CONS_PAST_NS    (1000 * 1000000LL)      /* well older than the window */
#define CONS_AHEAD_NS   (3600 * 1000000000LL)   /* inside it for an hour */

static struct consumer cons;
static struct lane_writer cons_w[2];
static int cons_fd = -1;

/* A consumer of two small lanes writing JSON to a memory file, and a
 * writer on each lane (two owners that exist: us and our parent). */
static void
cons_setup(void)
{
	struct seg_params p = { .lane_count = 2, .lane_size = SEG_LANE_SIZE_MIN, .level = 7 };
	struct sink_spec spec = { .kind = SINK_FILE, .format = FMT_JSON, .level = 7,
	    .color = SINK_COLOR_NEVER, .target = strdup("-") };
	char name[SEG_PATH_MAX], why[256];
	pid_t owner, pids[2] = { getpid(), getppid() };

	harness_setup();
	snprintf(name, sizeof(name), "/mplog-test-%d-consumer", (int)getpid());
	cr_assert_eq(consumer_open(&cons, name, &p, &owner), 0, "%s", strerror(errno));
	cons.window_ns = CONS_WINDOW_NS;
	cons.flush_ns = INT64_MAX;
	cons.sinks = calloc(1, sizeof(struct sink));
	cons_fd = memfd_create("consumer-json", MFD_CLOEXEC);
	cr_assert(cons.sinks != NULL && cons_fd != -1);
	cr_assert_eq(sink_open(&cons.sinks[0], &spec, cons_fd, why, sizeof(why)), 0, "%s", why);
	cons.nsinks = 1;
	for (int i = 0; i < 2; i++)
		cr_assert_eq(lane_lease(&cons.seg, procid_pack(pids[i], procid_start(pids[i])),
		    &cons_w[i]), 0);
	cr_assert_neq(cons_w[0].hdr, cons_w[1].hdr);
}

static void
cons_teardown(void)
{
	consumer_close(&cons);
	close(cons_fd);
	harness_teardown();
}

TestSuite(consumer, .init = cons_setup, .fini = cons_teardown);

/* One stderr record of text at ts into lane i, published. */
static void
cons_put(int i, const char *text, int64_t ts)
{
	struct lane_names nm;
	uint32_t len = (uint32_t)strlen(text);
	struct lane_rec *rec;

	lane_names_set(&nm, "writer", NULL, NULL);
	rec = lane_reserve(&cons_w[i], len + lane_names_size(&nm));
	cr_assert_not_null(rec, "lane %d full", i);
	rec->source = LANE_SRC_STDERR;
	rec->pri = 1 << 3 | 6;
	rec->pid = getpid();
	rec->tid = getpid();
	rec->ts_ns = (uint64_t)ts;
	memcpy(lane_rec_msg(rec), text, len);
	lane_names_put(rec, len, &nm);
	lane_commit(&cons_w[i], rec);
	lane_publish(&cons_w[i]);
}

/* The messages written since the last call, in order, one per line
 * of the returned string (to free). */
static char *
cons_written(void)
{
	off_t len;
	char *json, *out, *p, *nl;
	size_t o = 0;

	consumer_flush(&cons);
	len = lseek(cons_fd, 0, SEEK_END);
	cr_assert(len >= 0);
	json = calloc(1, (size_t)len + 1);
	out = calloc(1, (size_t)len + 1);
	cr_assert(json != NULL && out != NULL);
	cr_assert_eq(pread(cons_fd, json, (size_t)len, 0), len);
	cr_assert(ftruncate(cons_fd, 0) == 0 && lseek(cons_fd, 0, SEEK_SET) == 0);
	for (p = json; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		struct harness_rec r;
		char why[256];

		cr_assert_eq(harness_json_parse(p, (size_t)(nl - p), &r, why, sizeof(why)), 0,
		    "%s", why);
		o += (size_t)sprintf(out + o, "%s\n", r.msg);
		free(r.msg);
	}
	free(json);
	return out;
}

Test(consumer, the_oldest_record_goes_first_whatever_lane_was_published_first)
{
	int64_t now = seg_now_real();
	char *got;

	cons_put(0, "second, published first", now - CONS_PAST_NS + 2000);
	cons_put(0, "fourth", now - CONS_PAST_NS + 4000);
	cons_put(1, "first, published last", now - CONS_PAST_NS + 1000);
	cons_put(1, "third", now - CONS_PAST_NS + 3000);
	cr_assert_eq(consumer_step(&cons, 0), 4);
	got = cons_written();
	cr_assert_str_eq(got, "first, published last\nsecond, published first\nthird\nfourth\n");
	free(got);
}

Test(consumer, a_record_inside_the_window_waits_for_it_or_for_a_drain)
{
	int64_t now = seg_now_real(), ahead = now + CONS_AHEAD_NS;
	char *got;

	cons_put(0, "inside the window", ahead);
	cr_assert_eq(consumer_step(&cons, 0), 0, "a record inside the window went out");
	cr_assert_eq(cons.wait_until, ahead + CONS_WINDOW_NS, "not due when its window ends");
	cons_put(1, "older than the window", now - CONS_PAST_NS);
	cr_assert_eq(consumer_step(&cons, 0), 1);
	got = cons_written();
	cr_assert_str_eq(got, "older than the window\n");
	free(got);
	cr_assert_eq(consumer_step(&cons, 1), 1, "a drain writes what waits");
	got = cons_written();
	cr_assert_str_eq(got, "inside the window\n");
	free(got);
}

Test(consumer, a_lane_more_than_half_full_is_not_held_back)
{
	int64_t ahead = seg_now_real() + CONS_AHEAD_NS;
	char text[1024];
	uint64_t half = SEG_LANE_SIZE_MIN / 2;
	size_t written = 0, put = 0;
	char *got, *p;

	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	while (lane_used(cons_w[0].hdr) <= half + 8 * sizeof(text)) {
		snprintf(text, 16, "%06zu", put);
		text[6] = 'x';
		cons_put(0, text, ahead + (int64_t)put++);
	}
	consumer_step(&cons, 0);
	cr_assert_leq(lane_used(cons_w[0].hdr), half, "the lane is still more than half full");
	cr_assert_gt(lane_used(cons_w[0].hdr), 0, "records inside the window went out "
	    "after the lane was half full");
	got = cons_written();
	for (p = got; *p != '\0'; p = strchr(p, '\n') + 1) {
		cr_assert_eq(atoi(p), (int)written, "out of order at %zu", written);
		written++;
	}
	cr_assert_gt(written, 0);
	cr_assert_lt(written, put);
	free(got);
}

/* Bytes the sink has written so far, without flushing it. */
static off_t
cons_output_size(void)
{
	off_t len = lseek(cons_fd, 0, SEEK_END);

	cr_assert(len >= 0);
	return len;
}

/*
 * --flush-interval: while mplogd is busy (no sleep, so no flush before
 * it), a step writes its sinks out once their oldest byte has waited the
 * interval, and not before.
 */
Test(consumer, a_busy_step_writes_out_once_the_flush_interval_has_passed)
{
	int64_t past = seg_now_real() - CONS_PAST_NS;
	char *got;

	cons.flush_ns = 3600 * 1000000000LL;
	cons_put(0, "held in the buffer", past);
	cr_assert_eq(consumer_step(&cons, 0), 1);
	cr_assert_eq(cons_output_size(), 0, "written before the interval passed");
	cons.flush_ns = 0;
	cons_put(1, "written with it", past + 1);
	cr_assert_eq(consumer_step(&cons, 0), 1);
	cr_assert_gt(cons_output_size(), 0, "not written once the interval passed");
	got = cons_written();
	cr_assert_str_eq(got, "held in the buffer\nwritten with it\n");
	free(got);
}
