/*
 * test_hostile.c - mplogd treats its segment as hostile input.
 *
 * Checks that every seed and regression input of the fuzz target goes
 * through its reading function (tests/fuzz/lanefeed.c) with every check
 * holding, the seeds as undamaged lanes and the generated hostile cases
 * giving the records their making implies, and that the function reads
 * back field by field what a writer laid out; that the SIGBUS guard
 * turns faults in a truncated mapping into zero pages and lets every
 * other SIGBUS kill; that a live mplogd whose segment is truncated (to 0,
 * mid-lane) while logmix writes says so, replaces the segment and serves
 * again, and in run mode with --catch-all keeps it and serves on, while a
 * SIGBUS sent to it still kills it; that random bytes written into every
 * part of a live segment in rounds never stop mplogd (damage counted,
 * heartbeat moving, exit 0, its log parsed by jq), and forged records are
 * skipped and counted or printed with safe names; that another user can
 * neither read nor write the segment, nor make mplogd use an object of
 * its own, and that --group lets members in and keeps others out; and
 * that a set-user-ID program run by root is not captured, whether the
 * shim comes by LD_PRELOAD or is linked in.
 *
 * The tests that change user need root, and skip without it.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fuzz/lanefeed.h"
#include "pri.h"
#include "snap.h"
#include "harness.h"
#include "lane.h"
#include "need.h"
#include "prng.h"
#include "procid.h"
#include "segguard.h"
#include "seg.h"

TestSuite(hostile, .init = harness_setup, .fini = harness_teardown);

/* -------------------------------------------------------------------- */
/* The fuzz target's reading function, without the fuzzer. */

/* The whole file at path, its length in *n. */
static uint8_t *
hostile_slurp(const char *path, size_t *n)
{
	return (uint8_t *)harness_read_file(path, n);
}

/* Read the input in file path with lanefeed_read, which must pass. */
static struct lanefeed_stats
hostile_feed(const char *path)
{
	struct lanefeed_stats st;
	char why[512];
	size_t n;
	uint8_t *in = hostile_slurp(path, &n);

	cr_assert(lanefeed_read(in, n, &st, why, sizeof(why)) == 0,
	    "%s: %s", path, why);
	free(in);
	return st;
}

/* Call fn on every regular file of the repository folder rel; returns how
 * many there were. */
static size_t
hostile_each_file(const char *rel, void (*fn)(const char *path, const char *name))
{
	char *dir = harness_repo(rel);
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	cr_assert(d != NULL, "%s: %s", dir, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		char *path = harness_fmt("%s/%s", dir, e->d_name);
		struct stat st;

		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			fn(path, e->d_name);
			n++;
		}
		free(path);
	}
	closedir(d);
	free(dir);
	return n;
}

static void
hostile_replay(const char *path, const char *name)
{
	(void)name;
	hostile_feed(path);
}

/*
 * Every input the fuzzer was ever given as a regression (generated hostile
 * cases, and whatever it found) and every seed go through the fuzz
 * target's reading function with every check holding.
 */
Test(hostile, fuzz_regression_inputs_and_seeds_replay_cleanly, .timeout = TEST_TIMEOUT(60))
{
	size_t n = hostile_each_file("tests/fuzz/corpus-regress", hostile_replay);

	cr_assert_gt(n, 0, "no regression inputs");
	cr_assert_gt(hostile_each_file("tests/fuzz/corpus", hostile_replay), 0, "no seeds");
}

/* A snapshot input: formatted within its buffer, and a smaller buffer
 * gets a prefix of the text (as the fuzz target checks); a seed, made by
 * snap_take, formats. */
static void
hostile_snap(const char *path, const char *name)
{
	static char out[LANE_MSG_MAX + 1], small[17];
	size_t n;
	char *in = harness_read_file(path, &n);
	int full = snap_format(in, n, out, sizeof(out));
	int cut = snap_format(in, n, small, sizeof(small));
	int want = full < (int)sizeof(small) ? full : (int)sizeof(small);

	cr_assert(full >= -1 && full <= (int)sizeof(out), "%s: %d", name, full);
	if (strncmp(name, "snap-", 5) == 0)
		cr_assert_geq(full, 0, "%s: a seed does not format", name);
	if (full != -1)
		cr_assert(cut <= want && cut >= want - 1 && memcmp(out, small, (size_t)cut) == 0,
		    "%s: %d bytes, %d into %zu", name, full, cut, sizeof(small));
	free(in);
}

/* A catch-all input through mplogd's catch-all reader and consumer, with
 * every check holding; a seed with a newline gives records. */
static void
hostile_catchall(const char *path, const char *name)
{
	struct lanefeed_stats st;
	char why[512];
	size_t n;
	uint8_t *in = hostile_slurp(path, &n);

	cr_assert(lanefeed_catchall(in, n, &st, why, sizeof(why)) == 0, "%s: %s", path, why);
	if (n > 2 && memchr(in + 2, '\n', n - 2) != NULL)
		cr_assert_gt(st.records, 0, "%s: no record", name);
	cr_assert_eq(st.damaged, 0, "%s: damage", name);
	free(in);
}

/* The snapshot and catch-all targets' seeds and findings replay cleanly. */
Test(hostile, fuzz_snapshot_and_catchall_inputs_replay_cleanly, .timeout = TEST_TIMEOUT(120))
{
	cr_assert_gt(hostile_each_file("tests/fuzz/corpus-snap", hostile_snap), 0, "no snapshots");
	cr_assert_gt(hostile_each_file("tests/fuzz/corpus-catchall", hostile_catchall), 0,
	    "no catch-all inputs");
}

/* The catch-all reader, fed the seeds, logs each of their lines: the
 * text of "lines" comes out as its two records. */
Test(hostile, catchall_seed_lines_arrive_as_their_records, .timeout = TEST_TIMEOUT(60))
{
	struct lanefeed_stats st;
	char why[512];
	size_t n;
	char *path = harness_repo("tests/fuzz/corpus-catchall/lines");
	uint8_t *in = hostile_slurp(path, &n);

	cr_assert(lanefeed_catchall(in, n, &st, why, sizeof(why)) == 0, "%s", why);
	cr_assert_eq(st.records, 2, "%" PRIu64 " records: %s", st.records, st.json);
	cr_assert(harness_contains(st.json, "\"msg\":\"one line\""), "%s", st.json);
	cr_assert(harness_contains(st.json, "\"msg\":\"another line\""), "%s", st.json);
	free(in);
	free(path);
}

static void
hostile_seed_whole(const char *path, const char *name)
{
	struct lanefeed_stats st = hostile_feed(path);

	cr_assert_eq(st.damaged, 0, "%s: a real lane read as damaged", name);
	if (strstr(name, "empty") == NULL)
		cr_assert_gt(st.records, 0, "%s: no record read", name);
}

/* The seeds are real lanes: each reads without damage, and has records
 * unless it is meant to be empty. */
Test(hostile, fuzz_seeds_are_undamaged_lanes, .timeout = TEST_TIMEOUT(60))
{
	hostile_each_file("tests/fuzz/corpus", hostile_seed_whole);
}

/*
 * The generated regression inputs (tests/fuzz/lanefeed_seed.c) give the
 * records and damage their making implies: each is a lane of three
 * records (or one) with one thing made wrong.
 */
Test(hostile, generated_hostile_lanes_give_the_records_their_making_implies, .timeout = TEST_TIMEOUT(60))
{
	static const struct {
		const char *name;
		uint64_t records, damaged;
	} cases[] = {
		/* The second record's size: below a header, a span past
		 * head, past LANE_REC_MAX, wrapping: the first is read, then
		 * the rest is skipped to head. */
		{ "gen-record-size-0", 1, 1 },
		{ "gen-record-size-8", 1, 1 },
		{ "gen-record-size-31", 1, 1 },
		{ "gen-record-size-4096", 1, 1 },
		{ "gen-record-size-65662", 1, 1 },
		{ "gen-record-size-4294967288", 1, 1 },
		{ "gen-record-size-4294967295", 1, 1 },
		/* 33 bytes: one byte after the header, fewer than the
		 * names the record says it carries. */
		{ "gen-record-size-33", 1, 1 },
		{ "gen-record-of-type-0", 1, 1 },
		{ "gen-pad-in-the-middle", 1, 1 },
		/* Name lengths are checked against the maximum and the
		 * record; names with any bytes are read. */
		{ "gen-name-length-past-the-maximum", 1, 1 },
		{ "gen-names-longer-than-the-record", 1, 1 },
		{ "gen-names-with-nul-and-bad-bytes", 3, 0 },
		/* Its flags say snapshot, which its text is not: damage,
		 * and the records around it. */
		{ "gen-header-fields-out-of-range", 2, 1 },
		/* More than a ring published: damage at once. */
		{ "gen-head-far-past-tail", 0, 1 },
		/* Head behind tail: nothing to read until head passes tail. */
		{ "gen-head-behind-tail", 0, 0 },
		{ "gen-head-inside-a-record", 2, 1 },
		{ "gen-misaligned-tail", 0, 1 },
		{ "gen-header-across-the-end", 0, 1 },
		{ "gen-record-past-the-ring-end", 0, 1 },
		/* Claimed, not delivered: read again by whoever seizes the
		 * lane, not by the holder that claimed it. */
		{ "gen-claimed-not-delivered", 3, 0 },
		{ "gen-all-claimed-none-delivered", 3, 0 },
		{ "gen-claimed-not-delivered-held", 2, 0 },
		/* Done past head: seizing the lane rewinds tail there, past
		 * head, which is damage, skipped back to head. */
		{ "gen-done-past-head", 0, 1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *rel = harness_fmt("tests/fuzz/corpus-regress/%s", cases[i].name);
		char *path = harness_repo(rel);
		struct lanefeed_stats st = hostile_feed(path);

		cr_expect_eq(st.records, cases[i].records, "%s: %" PRIu64 " records, not %" PRIu64,
		    cases[i].name, st.records, cases[i].records);
		cr_expect_eq(st.damaged, cases[i].damaged, "%s: %" PRIu64 " damaged, not %" PRIu64,
		    cases[i].name, st.damaged, cases[i].damaged);
		free(path);
		free(rel);
	}
}

/* What each delivered record should be, from its sequence number. */
struct hostile_expect {
	uint64_t next;          /* sequence number of the next record */
	uint64_t count;
	const char *fail;
};

static uint32_t
hostile_len(uint64_t seq)
{
	return (uint32_t)(prng_mix(seq) % 300);
}

static void
hostile_msg(uint64_t seq, char *buf, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		buf[i] = (char)('a' + (seq + i) % 26);
}

/* Check one record of the JSON output against the next one written. */
static void
hostile_check(const struct harness_rec *r, struct hostile_expect *x)
{
	static const char *const sources[] = { "stderr", "syslog", "mplog" };
	uint64_t seq = x->next++;
	char want[300];
	uint32_t len = hostile_len(seq);

	x->count++;
	hostile_msg(seq, want, len);
	if (x->fail != NULL)
		return;
	if (r->pid != (long)(seq + 1) || r->tid != (long)(seq + 2))
		x->fail = "pid or tid";
	else if (strcmp(r->source, sources[seq % 3]) != 0 ||
	    strcmp(r->severity, pri_severity_name(seq % 8)) != 0 ||
	    strcmp(r->facility, pri_facility_name(seq % 24)) != 0)
		x->fail = "source, severity or facility";
	else if (r->msg_len != len || memcmp(r->msg, want, len) != 0)
		x->fail = "message";
	else if (strcmp(r->proc, seq % 2 == 0 ? "even" : "odd") != 0)
		x->fail = "process name";
	else if (seq % 5 == 0 ? r->has_ident : !r->has_ident || strcmp(r->ident, "id") != 0)
		x->fail = "ident";
	else if (r->continued != (seq % 7 == 0))
		x->fail = "continued";
}

/* Check every line of the JSON output of a read. */
static void
hostile_check_all(const char *json, size_t n, struct hostile_expect *x)
{
	const char *p = json, *end = json + n, *nl;

	for (; p < end; p = nl + 1) {
		struct harness_rec r;
		char why[256];

		nl = memchr(p, '\n', (size_t)(end - p));
		cr_assert_not_null(nl);
		cr_assert_eq(harness_json_parse(p, (size_t)(nl - p), &r, why, sizeof(why)), 0,
		    "%s: %.*s", why, (int)(nl - p), p);
		hostile_check(&r, x);
		free(r.msg);
	}
}

/*
 * The reading function (mplogd's consumer) reads back, in order and field
 * by field, the records a writer put in a lane with lane_reserve,
 * lane_names_put, lane_commit and lane_publish, over many laps of the
 * ring: the input format and the reading path lose and invent nothing.
 */
Test(hostile, lanefeed_reads_back_every_record_a_writer_laid_out, .timeout = TEST_TIMEOUT(60))
{
	uint64_t seq = 0;

	for (uint64_t lap = 0; lap < 20; lap++) {
		struct lanefeed_build b;
		struct hostile_expect x = { .next = seq };
		struct lanefeed_stats st;
		uint64_t start = seq;
		char why[512];
		uint8_t *in;
		size_t n;

		cr_assert_eq(lanefeed_build_open(&b, 18, lap * 1000 * 8), 0);
		for (;;) {
			uint32_t len = hostile_len(seq);
			struct lane_names nm;
			struct lane_rec *rec;

			lane_names_set(&nm, seq % 2 == 0 ? "even" : "odd", seq % 5 == 0 ? NULL : "id", NULL);
			rec = lane_reserve(&b.w, len + lane_names_size(&nm));

			if (rec == NULL)
				break;
			rec->ts_ns = 1000 + seq;
			rec->pid = (int32_t)(seq + 1);
			rec->tid = (int32_t)(seq + 2);
			rec->source = (uint8_t)(seq % 3);
			rec->pri = (uint8_t)((seq % 24) << 3 | seq % 8);
			rec->flags = seq % 7 == 0 ? LANE_F_SPLIT : 0;
			hostile_msg(seq, lane_rec_msg(rec), len);
			lane_names_put(rec, len, &nm);
			lane_commit(&b.w, rec);
			seq++;
		}
		lane_publish(&b.w);
		in = lanefeed_pack(&b, &n);
		cr_assert_not_null(in);
		cr_assert_eq(lanefeed_read(in, n, &st, why, sizeof(why)), 0,
		    "lap %" PRIu64 ": %s", lap, why);
		hostile_check_all(st.json, st.json_len, &x);
		cr_assert_null(x.fail, "lap %" PRIu64 ", record %" PRIu64 ": %s differs",
		    lap, x.next - 1, x.fail);
		cr_assert_eq(x.count, seq - start, "lap %" PRIu64 ": %" PRIu64 " records read, "
		    "%" PRIu64 " written", lap, x.count, seq - start);
		cr_assert_eq(st.damaged, 0);
		free(in);
		lanefeed_build_close(&b);
	}
	cr_assert_gt(seq, 20 * 1000);
}

/* -------------------------------------------------------------------- */
/* The SIGBUS guard (sinks/segguard.c), in the test's own process. */

#define HOSTILE_PAGES 4

/* A shared memory object of HOSTILE_PAGES pages, mapped, filled with
 * fill; its descriptor in *fd and its name unlinked. */
static char *
hostile_object(int *fd, int fill)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	char name[64];
	char *m;

	snprintf(name, sizeof(name), "/mplog-test-%d-guard-%d", (int)getpid(), fill);
	*fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
	cr_assert_neq(*fd, -1, "shm_open %s: %s", name, strerror(errno));
	cr_assert_eq(shm_unlink(name), 0);
	cr_assert_eq(ftruncate(*fd, (off_t)(HOSTILE_PAGES * page)), 0);
	m = mmap(NULL, HOSTILE_PAGES * page, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	cr_assert_neq(m, MAP_FAILED);
	memset(m, fill, HOSTILE_PAGES * page);
	return m;
}

/* A volatile read, so that the compiler keeps the access. */
static unsigned char
hostile_peek(const char *p)
{
	return *(const volatile unsigned char *)p;
}

/*
 * A fault in the guarded mapping of a truncated object is repaired: the
 * lost pages read as zeroes (and take writes, which no longer reach the
 * object), each fault is counted once with the lowest page lost, and the
 * pages still in the object are untouched and shared.
 */
Test(hostile, guard_turns_faults_in_a_truncated_mapping_into_zero_pages, .timeout = TEST_TIMEOUT(10))
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), lowest = 0;
	int fd;
	char *m = hostile_object(&fd, 0xab);
	char *again;

	cr_assert_eq(segguard_arm(m, HOSTILE_PAGES * page), 0);
	cr_assert(!segguard_pending());
	/* Cut in the middle of page 1: pages 2 and 3 are gone. */
	cr_assert_eq(ftruncate(fd, (off_t)(page + page / 2)), 0);
	cr_assert_eq(hostile_peek(m + 3 * page + 5), 0, "a lost page reads as zero");
	cr_assert(segguard_pending());
	cr_assert_eq(segguard_take(&lowest), 1);
	cr_assert_eq(lowest, 3 * page);
	cr_assert(!segguard_pending());
	m[3 * page] = 'w';
	cr_assert_eq(hostile_peek(m + 3 * page), 'w', "a repaired page takes writes");
	cr_assert_eq(hostile_peek(m + 2 * page + 100), 0);
	cr_assert_eq(segguard_take(&lowest), 1);
	cr_assert_eq(lowest, 2 * page, "the lowest page lost is %zu, not %zu", lowest, 2 * page);
	cr_assert_eq(hostile_peek(m + 3 * page), 0, "repairing page 2 zeroes the rest again");
	/* The pages before the cut are the object's still. */
	cr_assert_eq(hostile_peek(m + 10), 0xab);
	cr_assert_eq(hostile_peek(m + page + page / 2 - 1), 0xab);
	cr_assert_eq(segguard_take(&lowest), 0, "no fault on the pages still there");
	cr_assert_eq(ftruncate(fd, (off_t)(HOSTILE_PAGES * page)), 0);
	again = mmap(NULL, HOSTILE_PAGES * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	cr_assert_neq(again, MAP_FAILED);
	m[0] = 'x';
	cr_assert_eq(hostile_peek(again), 'x', "page 0 is still shared");
	cr_assert_eq(hostile_peek(again + 2 * page), 0, "writes to a repaired page stay private");
	segguard_disarm();
	munmap(again, HOSTILE_PAGES * page);
	munmap(m, HOSTILE_PAGES * page);
	close(fd);
}

/* Start a child that dies with the test; it runs fn, then exits 0. */
static int
hostile_child_status(void (*fn)(void))
{
	pid_t pid = fork();
	int status;

	cr_assert_neq(pid, -1);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		fn();
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return status;
}

/* Guard one mapping, then fault in another truncated object. */
static void
hostile_fault_elsewhere(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	int fd1, fd2;
	char *guarded = hostile_object(&fd1, 1);
	char *other = hostile_object(&fd2, 2);

	if (segguard_arm(guarded, HOSTILE_PAGES * page) == -1)
		_exit(3);
	if (ftruncate(fd2, 0) == -1)
		_exit(4);
	(void)hostile_peek(other + page);
	_exit(5);               /* survived: wrong */
}

/* Guard a mapping, then get SIGBUS from another process. */
static void
hostile_sent_bus(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	int fd;
	char *guarded = hostile_object(&fd, 3);

	if (segguard_arm(guarded, HOSTILE_PAGES * page) == -1)
		_exit(3);
	kill(getpid(), SIGBUS);
	_exit(5);
}

/* Guard a mapping, disarm, then fault in it. */
static void
hostile_fault_disarmed(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	int fd;
	char *guarded = hostile_object(&fd, 4);

	if (segguard_arm(guarded, HOSTILE_PAGES * page) == -1)
		_exit(3);
	segguard_disarm();
	if (ftruncate(fd, 0) == -1)
		_exit(4);
	(void)hostile_peek(guarded + page);
	_exit(5);
}

/*
 * What is not a fault in the guarded mapping still kills with SIGBUS: a
 * fault in another truncated mapping, a SIGBUS sent by a process, and a
 * fault in a mapping no longer guarded.
 */
Test(hostile, guard_lets_every_other_sigbus_kill, .timeout = TEST_TIMEOUT(10))
{
	static const struct {
		const char *what;
		void (*fn)(void);
	} cases[] = {
		{ "a fault outside the guarded mapping", hostile_fault_elsewhere },
		{ "a SIGBUS sent with kill", hostile_sent_bus },
		{ "a fault after segguard_disarm", hostile_fault_disarmed },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int status = hostile_child_status(cases[i].fn);

		cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS,
		    "%s: %s %d, not killed by SIGBUS", cases[i].what,
		    WIFSIGNALED(status) ? "signal" : "exit status",
		    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	}
}

/* -------------------------------------------------------------------- */
/* A live mplogd whose segment is truncated, scribbled on, or forged. */

#define HOSTILE_WAIT_MS (10000 * TEST_SLOW)   /* bound on waiting for mplogd to react */

/* Milliseconds on CLOCK_MONOTONIC. */
static int64_t
hostile_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Check cond(arg) every few milliseconds until it holds or timeout_ms
 * passes (a bound, not synchronisation); returns its last answer. */
static int
hostile_until(int (*cond)(const void *), const void *arg, int timeout_ms)
{
	int64_t end = hostile_ms() + timeout_ms;
	struct timespec pause = { 0, 5 * 1000000 };

	for (;;) {
		if (cond(arg))
			return 1;
		if (hostile_ms() >= end)
			return cond(arg);
		nanosleep(&pause, NULL);
	}
}

/* What hostile_has waits for: needle in the file path. */
struct hostile_in {
	const char *path;
	const char *needle;
};

static int
hostile_has(const void *arg)
{
	const struct hostile_in *in = arg;
	char *s;
	int found;

	if (access(in->path, F_OK) == -1)
		return 0;       /* not made yet */
	s = harness_read_file(in->path, NULL);
	found = harness_contains(s, in->needle);

	free(s);
	return found;
}

/* Wait until path holds needle; fail the test, naming what, if not. */
static void
hostile_wait_for(const char *path, const char *needle, const char *what)
{
	struct hostile_in in = { path, needle };

	cr_assert(hostile_until(hostile_has, &in, HOSTILE_WAIT_MS),
	    "%s: no \"%s\" in %s after %d ms:\n%.2000s", what, needle, path,
	    HOSTILE_WAIT_MS, harness_read_file(path, NULL));
}

/* The number of times needle occurs in the file path. */
static size_t
hostile_count(const char *path, const char *needle)
{
	char *s = harness_read_file(path, NULL);
	size_t n = 0;

	for (const char *p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	free(s);
	return n;
}

/* mplogd d is still running (not exited, not a zombie). */
static void
hostile_alive(const struct harness_daemon *d, const char *what)
{
	int status;
	pid_t got = waitpid(d->pid, &status, WNOHANG);

	cr_assert(got == 0, "%s: mplogd is gone (%s %d); it said: %s", what,
	    WIFSIGNALED(status) ? "signal" : "exit status",
	    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
	    harness_read_file(d->err, NULL));
}

/* Run hosts/say under the shim attached to shm, writing text to stderr. */
static void
hostile_say(const char *shm, const char *text)
{
	char *argv[] = { harness_build("hosts/say"), harness_fmt("w:%s\\n", text), NULL };
	struct harness_result r;

	harness_run(argv, harness_env(harness_fmt("LD_PRELOAD=%s", harness_shim()),
	    harness_fmt("MPLOG_SHM=%s", shm), NULL), NULL, &r);
	cr_assert(r.code == 0 && !harness_contains(r.out, "FAIL"),
	    "say %s: status %d, stdout %s, stderr %s", text, r.code, r.out, r.err);
}

/* The segment shm's object: its size and inode. */
static struct stat
hostile_stat(const char *shm)
{
	struct stat st;
	int fd = shm_open(shm, O_RDONLY, 0);

	cr_assert_neq(fd, -1, "shm_open %s: %s", shm, strerror(errno));
	cr_assert_eq(fstat(fd, &st), 0);
	close(fd);
	return st;
}

/* What hostile_beats waits for: a heartbeat newer than since (ns). */
struct hostile_beat {
	const struct seg_meta *meta;
	int64_t since;
};

static int
hostile_beats(const void *arg)
{
	const struct hostile_beat *b = arg;

	/* Relaxed: only the value matters; mplogd stores it relaxed. */
	return (int64_t)atomic_load_explicit(&b->meta->heartbeat_ns,
	    memory_order_relaxed) > b->since;
}

/* Require mplogd's heartbeat in the segment shm to move past now. */
static void
hostile_heartbeat_moves(const struct seg_meta *meta, const char *what)
{
	struct hostile_beat b = { meta, seg_now_mono() };

	cr_assert(hostile_until(hostile_beats, &b, HOSTILE_WAIT_MS),
	    "%s: the heartbeat did not move in %d ms", what, HOSTILE_WAIT_MS);
}

/* Truncate the object of shm to the size cut() computes from its layout. */
static void
hostile_truncate(const char *shm, off_t (*cut)(const struct seg *))
{
	struct seg s;
	off_t to;
	int fd;

	cr_assert_eq(seg_attach(&s, shm), 0, "attach %s: %s", shm, strerror(errno));
	to = cut(&s);
	seg_detach(&s);
	fd = shm_open(shm, O_RDWR, 0);
	cr_assert_neq(fd, -1);
	cr_assert_eq(ftruncate(fd, to), 0, "ftruncate: %s", strerror(errno));
	close(fd);
}

static off_t
hostile_cut_all(const struct seg *s)
{
	(void)s;
	return 0;
}

/* In the middle of the first lane's ring: the metadata, config and names
 * stay, the lanes from there on are lost. */
static off_t
hostile_cut_mid_lane(const struct seg *s)
{
	return (off_t)(s->lanes_off + sizeof(struct lane_hdr) + s->lane_size / 2);
}

/*
 * Truncate a live mplogd's segment (cut decides where) while producers
 * write: mplogd neither dies nor hangs, says so on stderr and in its log,
 * puts a new segment of the full size under the same name, keeps its
 * heartbeat there, serves new processes, and exits 0 on SIGTERM.
 */
static void
hostile_truncated(off_t (*cut)(const struct seg *))
{
	struct harness_daemon d;
	struct stat before, after;
	size_t nrec;
	struct seg s;

	harness_daemon_start(&d, "json", NULL);
	hostile_say(d.shm, "before the cut");
	hostile_wait_for(d.log, "before the cut", "the first line");
	before = hostile_stat(d.shm);
	/* Producers busy writing when the object is cut. */
	char *mix[] = { harness_build("hosts/logmix"), "-p", "2", "-t", "2", "-n", "200000", NULL };
	pid_t busy = harness_spawn(mix, harness_env(harness_fmt("LD_PRELOAD=%s", harness_shim()),
	    harness_fmt("MPLOG_SHM=%s", d.shm), NULL), NULL);
	hostile_wait_for(d.log, "logmix p=", "the busy producers");

	hostile_truncate(d.shm, cut);
	hostile_wait_for(d.err, "truncated by another process", "mplogd's warning");
	hostile_wait_for(d.err, "replaced with a new segment", "mplogd's replacement");
	hostile_alive(&d, "after the cut");
	after = hostile_stat(d.shm);
	cr_assert_neq(after.st_ino, before.st_ino, "the name still names the cut object");
	cr_assert_eq(after.st_size, before.st_size, "the new segment is %lld bytes, not %lld",
	    (long long)after.st_size, (long long)before.st_size);
	cr_assert_eq(after.st_mode & 07777, 0600);
	cr_assert_eq(seg_attach(&s, d.shm), 0, "attach the new segment: %s", strerror(errno));
	hostile_heartbeat_moves(s.meta, "the new segment");

	hostile_say(d.shm, "after the cut");
	hostile_wait_for(d.log, "after the cut", "a line through the new segment");
	hostile_alive(&d, "serving again");
	kill(-busy, SIGKILL);
	cr_assert_eq(harness_daemon_stop(&d), 0, "mplogd's exit status; it said: %s",
	    harness_read_file(d.err, NULL));
	/* Its own records say what happened, and the log is valid JSON. */
	cr_assert_eq(hostile_count(d.log, "\"source\":\"mplog\""),
	    hostile_count(d.log, "\"proc\":\"mplogd\""));
	cr_assert(hostile_count(d.log, "truncated by another process") >= 1);
	cr_assert(hostile_count(d.log, "replaced with a new one after it was truncated") == 1);
	free(harness_json_load(d.log, &nrec));
	seg_detach(&s);
}

Test(hostile, truncated_to_zero_mplogd_survives_and_serves_a_new_segment, .timeout = TEST_TIMEOUT(60))
{
	hostile_truncated(hostile_cut_all);
}

Test(hostile, truncated_mid_lane_mplogd_survives_and_serves_a_new_segment, .timeout = TEST_TIMEOUT(60))
{
	hostile_truncated(hostile_cut_mid_lane);
}

/* A SIGBUS that is no fault in the segment kills mplogd as it always did. */
Test(hostile, sigbus_sent_to_mplogd_still_kills_it, .timeout = TEST_TIMEOUT(30))
{
	struct harness_daemon d;

	harness_daemon_start(&d, "json", NULL);
	cr_assert_eq(kill(d.pid, SIGBUS), 0);
	cr_assert_eq(harness_wait(d.pid, HARNESS_WAIT_MS), 128 + SIGBUS);
}

/* Start logmix (2 processes of 2 threads, every way of writing) under the
 * shim on shm, writing for longer than any test runs; its process group
 * is killed by the test, or at teardown. */
static pid_t
hostile_busy(const char *shm)
{
	char *argv[] = { harness_build("hosts/logmix"), "-p", "2", "-t", "2", "-n", "5000000",
	    NULL };

	return harness_spawn(argv, harness_env(harness_fmt("LD_PRELOAD=%s", harness_shim()),
	    harness_fmt("MPLOG_SHM=%s", shm), NULL), NULL);
}

/* One part of the segment, for the scribbler. */
struct hostile_part {
	size_t off, len;
};

/* What hostile_damage_moves waits for: meta's damaged count above since.
 * victim: a lane whose head hostile_head_damage_moves scribbles. */
struct hostile_damage {
	const struct seg_meta *meta;
	uint64_t since;
	struct lane_hdr *victim;
};

static int
hostile_damage_moves(const void *arg)
{
	const struct hostile_damage *x = arg;

	/* Relaxed: mplogd adds to it relaxed; only the value matters. */
	return atomic_load_explicit(&x->meta->damaged, memory_order_relaxed) > x->since;
}

/*
 * hostile_damage_moves, after putting the victim lane's head far past its
 * tail again: a writer that is busy puts back its own head at its next
 * record, maybe before mplogd looked, so the scribble is made until
 * mplogd has seen one.
 */
static int
hostile_head_damage_moves(const void *arg)
{
	const struct hostile_damage *x = arg;

	if (hostile_damage_moves(x))
		return 1;
	/* Relaxed: a scribbler orders nothing. */
	atomic_store_explicit(&x->victim->head, atomic_load_explicit(&x->victim->tail,
	    memory_order_relaxed) + (UINT64_C(1) << 40), memory_order_relaxed);
	return 0;
}

/* jq parses every line of the file path. */
static void
hostile_jq_parses(const char *path)
{
	char *argv[] = { "/usr/bin/jq", "-c", ".", (char *)path, NULL };
	struct harness_result r;

	TEST_NEED(access(argv[0], X_OK) == 0, "jq");
	cr_assert_eq(harness_run(argv, NULL, NULL, &r), 0, "jq rejects %s: %.500s", path, r.err);
	cr_assert_eq(r.out_len > 0, 1, "jq found nothing in %s", path);
}

#define HOSTILE_ROUNDS 25

/*
 * Another process of the same user writes random bytes into every part
 * of a live mplogd's segment (metadata, config, name tables, lane headers
 * and rings), in rounds, while logmix writes through it. Each round also
 * puts one lane's head far past its tail (again until mplogd has seen it:
 * a busy writer puts its own head back at its next record). After every
 * round mplogd still
 * runs, counts damage in the segment (damaged moves) and its heartbeat
 * moves; at the end it exits 0 on SIGTERM, its log holds its own "lane N
 * damaged" records, and jq parses every line.
 */
Test(hostile, scribbling_on_every_part_never_stops_mplogd, .timeout = TEST_TIMEOUT(120))
{
	static const char *const opts[] = { "--lanes", "8", "--lane-size", "256K", NULL };
	struct hostile_part parts[3 + 2 * 8];
	uint64_t rng = UINT64_C(0x5c1bb1e5eed);
	struct harness_daemon d;
	size_t nparts = 0;
	struct seg s;
	char *base;
	pid_t busy;

	harness_daemon_start(&d, "json", opts);
	cr_assert_eq(seg_attach(&s, d.shm), 0, "attach: %s", strerror(errno));
	base = (char *)s.meta;
	parts[nparts++] = (struct hostile_part){ 0, sizeof(struct seg_meta) };
	parts[nparts++] = (struct hostile_part){ (size_t)((char *)s.config - base),
	    sizeof(struct seg_config) };
	parts[nparts++] = (struct hostile_part){ sizeof(struct seg_meta) + sizeof(struct seg_config),
	    s.lanes_off - sizeof(struct seg_meta) - sizeof(struct seg_config) };  /* the pad */
	for (uint32_t i = 0; i < s.lane_count; i++) {
		size_t hdr = s.lanes_off + (size_t)i * s.lane_stride;

		parts[nparts++] = (struct hostile_part){ hdr, sizeof(struct lane_hdr) };
		parts[nparts++] = (struct hostile_part){ hdr + sizeof(struct lane_hdr), s.lane_size };
	}
	busy = hostile_busy(d.shm);
	hostile_wait_for(d.log, "logmix p=", "logmix's first lines");

	for (int round = 0; round < HOSTILE_ROUNDS; round++) {
		struct lane_hdr *victim = seg_lane(&s, (uint32_t)round % s.lane_count);
		struct hostile_damage x = { s.meta, 0, victim };

		for (size_t p = 0; p < nparts; p++) {
			for (int k = 0; k < 4; k++) {
				size_t len = 1 + prng_next(&rng) % 48;
				size_t off = prng_next(&rng) % parts[p].len;

				if (len > parts[p].len - off)
					len = parts[p].len - off;
				for (size_t b = 0; b < len; b++)
					base[parts[p].off + off + b] = (char)prng_next(&rng);
			}
		}
		/* Relaxed: a scribbler orders nothing. */
		x.since = atomic_load_explicit(&s.meta->damaged, memory_order_relaxed);
		cr_assert(hostile_until(hostile_head_damage_moves, &x, HOSTILE_WAIT_MS),
		    "round %d: no damage counted in %d ms", round, HOSTILE_WAIT_MS);
		hostile_heartbeat_moves(s.meta, "scribbled");
		hostile_alive(&d, "scribbled");
	}
	kill(-busy, SIGKILL);
	cr_assert_eq(harness_daemon_stop(&d), 0, "mplogd's exit status; it said: %s",
	    harness_read_file(d.err, NULL));
	cr_assert_geq(hostile_count(d.log, "\"source\":\"mplog\""), 1);
	cr_assert_geq(hostile_count(d.log, " damaged: skipped "), 1, "no damage record in the log");
	hostile_jq_parses(d.log);
	seg_detach(&s);
}

/* What hostile_has_room waits for: a reservation of len bytes in w. */
struct hostile_room {
	struct lane_writer *w;
	uint32_t len;
	struct lane_rec *rec;
};

static int
hostile_has_room(const void *arg)
{
	struct hostile_room *r = (struct hostile_room *)arg;

	r->rec = lane_reserve(r->w, r->len);
	return r->rec != NULL;
}

/* Write one record of text into w's lane as a producer would, with the
 * names (NULL: none) and pid given, unpublished. Returns its header
 * (still ours). */
static struct lane_rec *
hostile_put(struct lane_writer *w, const char *text, const struct lane_names *names,
    int32_t pid)
{
	struct lane_names none = { 0 };
	const struct lane_names *nm = names != NULL ? names : &none;
	struct hostile_room room = { w, (uint32_t)strlen(text) + lane_names_size(nm), NULL };
	uint32_t len = (uint32_t)strlen(text);
	struct lane_rec *rec;

	/* mplogd hands room back after it has written what it read. */
	cr_assert(hostile_until(hostile_has_room, &room, HOSTILE_WAIT_MS),
	    "no room for \"%s\" in %d ms", text, HOSTILE_WAIT_MS);
	rec = room.rec;
	rec->source = LANE_SRC_STDERR;
	rec->pri = 1 << 3 | 6;          /* user.info */
	rec->pid = pid;
	rec->tid = pid;
	rec->ts_ns = (uint64_t)seg_now_real();
	memcpy(lane_rec_msg(rec), text, len);
	lane_names_put(rec, len, nm);
	lane_commit(w, rec);
	return rec;
}

/* Publish what w wrote, and wake mplogd. */
static void
hostile_publish(struct seg *s, struct lane_writer *w)
{
	lane_publish(w);
	seg_wake_consumer(s);
}

/* hostile_put, then hostile_publish. */
static void
hostile_forge(struct seg *s, struct lane_writer *w, const char *text,
    const struct lane_names *names, int32_t pid)
{
	hostile_put(w, text, names, pid);
	hostile_publish(s, w);
}

/*
 * Forged records in a lane of a live mplogd, written as a producer would
 * but with hostile contents: a name of the longest length (no NUL) is
 * printed whole; names with a NUL are cut there (an ident cut to nothing
 * is none); a record without names, of a pid that does not exist, gets
 * the process name "?"; a record of absurd length, and a head a terabyte
 * past tail, are each counted once (seg meta damaged) and reported as a
 * record of mplogd's own naming the lane and the bytes skipped (the
 * record's span; 0 when head itself is absurd); the records written
 * after each are delivered; and the log stays valid, strictly parsed.
 */
Test(hostile, forged_records_are_skipped_counted_or_delivered_with_safe_names, .timeout = TEST_TIMEOUT(60))
{
	uint64_t me = procid_pack(getpid(), procid_start(getpid()));
	const int32_t nopid = 0x7ffffff0;       /* no such process */
	struct harness_rec *recs;
	struct lane_names full, cut;
	struct lane_writer w;
	struct lane_rec *bad;
	struct harness_daemon d;
	char want_proc[SEG_NAME_MAX], *note;
	uint32_t lane = 0, span;
	uint64_t far;
	struct seg s;
	size_t n;

	harness_daemon_start(&d, "json", NULL);
	cr_assert_eq(seg_attach(&s, d.shm), 0, "attach: %s", strerror(errno));
	cr_assert_eq(lane_lease(&s, me, &w), 0, "lease: %s", strerror(errno));
	while (seg_lane(&s, lane) != w.hdr)
		lane++;
	memset(want_proc, 'N', SEG_NAME_MAX - 1);
	want_proc[SEG_NAME_MAX - 1] = '\0';
	lane_names_set(&full, want_proc, NULL, NULL);         /* the longest: no NUL */
	cut = (struct lane_names){ .name = "cut\0here", .name_len = 8,
	    .ident = "\0ident", .ident_len = 6 };

	hostile_forge(&s, &w, "name without nul", &full, nopid);
	hostile_forge(&s, &w, "names cut at a nul", &cut, nopid);
	hostile_forge(&s, &w, "no names", NULL, nopid);
	hostile_wait_for(d.log, "no names", "the forged names");

	/* A record whose size field says 4 GiB, published with head past
	 * the record's real span. */
	bad = hostile_put(&w, "absurd length", NULL, nopid);
	span = ((uint32_t)sizeof(struct lane_rec) + 13 + 7) & ~7u;
	bad->size = UINT32_MAX - 15;
	hostile_publish(&s, &w);
	note = harness_fmt("lane %u damaged: skipped %u bytes", lane, span);
	hostile_wait_for(d.log, note, "the absurd length");
	hostile_forge(&s, &w, "after the absurd length", NULL, nopid);
	hostile_wait_for(d.log, "after the absurd length", "the record after it");

	/* Head a terabyte past tail: the writer goes on from there. */
	far = w.head + (UINT64_C(1) << 40);
	w.head = far;
	hostile_publish(&s, &w);
	note = harness_fmt("lane %u damaged: skipped 0 bytes", lane);
	hostile_wait_for(d.log, note, "head far past tail");
	hostile_forge(&s, &w, "after the far head", NULL, nopid);
	hostile_wait_for(d.log, "after the far head", "the record after it");

	/* Relaxed: mplogd adds to it relaxed, long before our read. */
	cr_assert_eq(atomic_load_explicit(&s.meta->damaged, memory_order_relaxed), 2);
	lane_unlease(&w, me);
	cr_assert_eq(harness_daemon_stop(&d), 0);
	recs = harness_json_load(d.log, &n);
	cr_assert_str_eq(harness_find(recs, n, "name without nul")->proc, want_proc);
	cr_assert_eq(harness_find(recs, n, "name without nul")->has_ident, 0);
	cr_assert_str_eq(harness_find(recs, n, "names cut at a nul")->proc, "cut");
	cr_assert_eq(harness_find(recs, n, "names cut at a nul")->has_ident, 0);
	cr_assert_str_eq(harness_find(recs, n, "no names")->proc, "?");
	cr_assert_eq(harness_find(recs, n, "no names")->has_ident, 0);
	cr_assert_eq(harness_find(recs, n, "no names")->pid, nopid);
	cr_assert_eq(hostile_count(d.log, "\"msg\":\"absurd length\""), 0);
	cr_assert_eq(hostile_count(d.log, " damaged: skipped "), 2);
	harness_find(recs, n, "after the absurd length");
	harness_find(recs, n, "after the far head");
	seg_detach(&s);
}

/* -------------------------------------------------------------------- */
/* Other users. These need root, to become them (setuid in a child). */

#define HOSTILE_NOBODY  65534   /* nobody and nogroup on Debian */
#define HOSTILE_GROUP   4242    /* a group id nobody is in */

/* Who a child becomes: uid, primary gid, and one supplementary group
 * (or none when extra is (gid_t)-1). */
struct hostile_who {
	uid_t uid;
	gid_t gid, extra;
};

static void
hostile_need_root(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to run processes as other users");
}

/* In a child: become who, and die with the test. 0, or -1. */
static int
hostile_become(const struct hostile_who *who, pid_t parent)
{
	if (setgroups(who->extra == (gid_t)-1 ? 0 : 1, &who->extra) == -1 ||
	    setgid(who->gid) == -1 || setuid(who->uid) == -1)
		return -1;
	/* After setuid: a change of credentials clears it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	return getppid() == parent ? 0 : -1;
}

/* Wait for a child of ours at most HOSTILE_WAIT_MS (polling its status,
 * a bound); kill it and fail if it does not end. Exit code or 128+N. */
static int
hostile_reap(pid_t pid)
{
	int64_t end = hostile_ms() + HOSTILE_WAIT_MS;
	struct timespec pause = { 0, 2 * 1000000 };
	int status;
	pid_t got;

	while ((got = waitpid(pid, &status, WNOHANG)) == 0 && hostile_ms() < end)
		nanosleep(&pause, NULL);
	if (got == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		cr_assert_fail("child %d did not end in %d ms", (int)pid, HOSTILE_WAIT_MS);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Run fn(arg) in a child that is who; its return value is the child's
 * exit code (99: could not become who). */
static int
hostile_as(const struct hostile_who *who, int (*fn)(const void *), const void *arg)
{
	pid_t parent = getpid(), pid;

	fflush(NULL);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0)
		_exit(hostile_become(who, parent) == -1 ? 99 : fn(arg));
	return hostile_reap(pid);
}

/* What hostile_say_as collected. */
struct hostile_said {
	int code;
	char *out, *err;
};

/* Run hosts/say as who under the shim on shm, writing text to stderr. */
static struct hostile_said
hostile_say_as(const struct hostile_who *who, const char *shm, const char *text)
{
	char *argv[] = { harness_build("hosts/say"), harness_fmt("w:%s\\n", text), NULL };
	char **env = harness_env(harness_fmt("LD_PRELOAD=%s", harness_shim()),
	    harness_fmt("MPLOG_SHM=%s", shm), NULL);
	char *out = harness_file(harness_fmt("say-%u-%u.out", (unsigned)who->uid, (unsigned)who->gid));
	char *err = harness_file(harness_fmt("say-%u-%u.err", (unsigned)who->uid, (unsigned)who->gid));
	int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	pid_t parent = getpid(), pid;
	struct hostile_said r;

	cr_assert(fo != -1 && fe != -1, "%s: %s", out, strerror(errno));
	fflush(NULL);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);

		if (in == -1 || dup2(in, 0) == -1 || dup2(fo, 1) == -1 || dup2(fe, 2) == -1 ||
		    hostile_become(who, parent) == -1)
			_exit(99);
		execve(argv[0], argv, env);
		_exit(127);
	}
	close(fo);
	close(fe);
	r.code = hostile_reap(pid);
	r.out = harness_read_file(out, NULL);
	r.err = harness_read_file(err, NULL);
	return r;
}

/* The errno of opening shm with flags, 0 when it opens. */
static int
hostile_open_errno(const char *shm, int flags)
{
	int fd = shm_open(shm, flags, 0);

	if (fd == -1)
		return errno;
	close(fd);
	return 0;
}

/* In a child: 0 when shm can neither be opened for reading or writing,
 * nor attached, each with EACCES; else which step got through. */
static int
hostile_locked_out(const void *arg)
{
	const char *shm = arg;
	struct seg s;

	if (hostile_open_errno(shm, O_RDONLY) != EACCES)
		return 1;
	if (hostile_open_errno(shm, O_RDWR) != EACCES)
		return 2;
	if (seg_attach(&s, shm) != -1 || errno != EACCES)
		return 3;
	return 0;
}

/* In a child: 0 when shm attaches and a lane can be leased. */
static int
hostile_attaches(const void *arg)
{
	const char *shm = arg;
	uint64_t me = procid_pack(getpid(), procid_start(getpid()));
	struct lane_writer w;
	struct seg s;

	if (seg_attach(&s, shm) == -1)
		return 1;
	if (lane_lease(&s, me, &w) == -1)
		return 2;
	lane_unlease(&w, me);
	seg_detach(&s);
	return 0;
}

/*
 * mplogd's segment is its user's alone: mode 0600, owned by it, and a
 * process of another user can open it neither for reading nor for
 * writing, nor attach; its lines pass through to its own stderr and
 * never reach the log.
 */
Test(hostile, another_user_can_neither_read_nor_write_the_segment, .timeout = TEST_TIMEOUT(60))
{
	const struct hostile_who other = { HOSTILE_NOBODY, HOSTILE_NOBODY, (gid_t)-1 };
	struct hostile_said said;
	struct harness_daemon d;
	struct stat st;

	hostile_need_root();
	harness_daemon_start(&d, "json", NULL);
	st = hostile_stat(d.shm);
	cr_assert_eq(st.st_mode & 07777, 0600, "mode %03o", st.st_mode & 07777);
	cr_assert_eq(st.st_uid, geteuid());
	cr_assert_eq(hostile_as(&other, hostile_locked_out, d.shm), 0,
	    "another user got in (1 read, 2 write, 3 attach)");
	said = hostile_say_as(&other, d.shm, "from another user");
	cr_assert_eq(said.code, 0, "say: %s%s", said.out, said.err);
	cr_assert(harness_contains(said.err, "from another user"),
	    "the line did not pass through: %s", said.err);
	hostile_say(d.shm, "from the owner");
	hostile_wait_for(d.log, "from the owner", "the owner's line");
	cr_assert_eq(harness_daemon_stop(&d), 0);
	cr_assert_eq(hostile_count(d.log, "from another user"), 0);
}

/* In a child: make an mplog segment at the name arg, mode (0600 or 0666). */
struct hostile_plant {
	const char *shm;
	mode_t mode;
};

static int
hostile_plants(const void *arg)
{
	const struct hostile_plant *p = arg;
	struct seg_params params = { .mode = 0600 };
	struct seg s;
	int fd;

	if (seg_create(&s, p->shm, &params) == -1)
		return 1;
	seg_detach(&s);
	if ((fd = shm_open(p->shm, O_RDWR, 0)) == -1 || fchmod(fd, p->mode) == -1)
		return 2;
	close(fd);
	return 0;
}

/*
 * A name already taken by another user's object, be it a well-formed
 * segment (mode 0600, or 0666 for anyone to write), is never adopted,
 * replaced or written by mplogd, even as root: the segment is created
 * with O_EXCL, and one that exists is used only when its owner is ours.
 * mplogd exits 1 naming it; attaching to it is EPERM.
 */
Test(hostile, name_held_by_another_users_object_is_left_alone, .timeout = TEST_TIMEOUT(60))
{
	const struct hostile_who other = { HOSTILE_NOBODY, HOSTILE_NOBODY, (gid_t)-1 };
	static const mode_t modes[] = { 0600, 0666 };

	hostile_need_root();
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		const char *shm = harness_shm_name();
		struct hostile_plant plant = { shm, modes[i] };
		char *argv[] = { harness_build("mplogd"), "--shm", (char *)shm, "-o",
		    harness_file("planted.log"), NULL };
		struct harness_result r;
		struct stat before, after;
		struct seg s;

		cr_assert_eq(hostile_as(&other, hostile_plants, &plant), 0, "planting %s", shm);
		before = hostile_stat(shm);
		cr_assert_eq(before.st_uid, HOSTILE_NOBODY);
		cr_assert_eq(seg_attach(&s, shm), -1, "mode %03o: root attached", modes[i]);
		cr_assert_eq(errno, EPERM, "mode %03o: %s", modes[i], strerror(errno));
		cr_assert_eq(harness_run(argv, NULL, NULL, &r), 1, "mode %03o: mplogd: %s",
		    modes[i], r.err);
		cr_assert(harness_contains(r.err, shm), "mode %03o: %s", modes[i], r.err);
		after = hostile_stat(shm);
		cr_assert(after.st_ino == before.st_ino && after.st_uid == HOSTILE_NOBODY &&
		    after.st_size == before.st_size && after.st_mtime == before.st_mtime,
		    "mode %03o: the object was replaced or changed", modes[i]);
	}
}

/*
 * --group GROUP opens the segment to that group: mode 0660 and its gid.
 * A process of another user that is in the group (among its groups, as
 * login puts every group of a user, its primary one included) attaches
 * and logs; one outside it can neither read nor write the segment, and
 * its lines pass through.
 */
Test(hostile, group_option_lets_members_log_and_keeps_others_out, .timeout = TEST_TIMEOUT(60))
{
	static const char *const opts[] = { "--group", "4242", NULL };
	const struct hostile_who member = { HOSTILE_NOBODY, HOSTILE_GROUP, HOSTILE_GROUP };
	const struct hostile_who extra = { HOSTILE_NOBODY, HOSTILE_NOBODY, HOSTILE_GROUP };
	const struct hostile_who outsider = { HOSTILE_NOBODY, HOSTILE_NOBODY, (gid_t)-1 };
	struct hostile_said said;
	struct harness_daemon d;
	struct stat st;

	hostile_need_root();
	harness_daemon_start(&d, "json", opts);
	st = hostile_stat(d.shm);
	cr_assert_eq(st.st_mode & 07777, 0660, "mode %03o", st.st_mode & 07777);
	cr_assert_eq(st.st_gid, HOSTILE_GROUP);
	cr_assert_eq(st.st_uid, geteuid());

	cr_assert_eq(hostile_as(&member, hostile_attaches, d.shm), 0, "a member");
	cr_assert_eq(hostile_as(&extra, hostile_attaches, d.shm), 0, "a supplementary member");
	cr_assert_eq(hostile_as(&outsider, hostile_locked_out, d.shm), 0,
	    "a non-member got in (1 read, 2 write, 3 attach)");

	said = hostile_say_as(&member, d.shm, "from the group");
	cr_assert_eq(said.code, 0, "say: %s%s", said.out, said.err);
	said = hostile_say_as(&extra, d.shm, "from the group, supplementary");
	cr_assert_eq(said.code, 0, "say: %s%s", said.out, said.err);
	said = hostile_say_as(&outsider, d.shm, "from outside the group");
	cr_assert_eq(said.code, 0, "say: %s%s", said.out, said.err);
	cr_assert(harness_contains(said.err, "from outside the group"),
	    "the outsider's line did not pass through: %s", said.err);
	hostile_wait_for(d.log, "\"msg\":\"from the group\"", "the member's line");
	hostile_wait_for(d.log, "from the group, supplementary", "the supplementary member's line");
	cr_assert_eq(harness_daemon_stop(&d), 0);
	cr_assert_eq(hostile_count(d.log, "from outside the group"), 0);
}

/*
 * A process whose effective gid is the segment's group, but which does
 * not list it among its supplementary groups (setgid(2) without
 * setgroups(2), a set-group-ID program), may open the object, and should
 * attach (group_member(3) alone answers from the supplementary groups).
 */
Test(hostile, group_option_lets_a_member_by_effective_gid_alone_attach, .timeout = TEST_TIMEOUT(60))
{
	static const char *const opts[] = { "--group", "4242", NULL };
	const struct hostile_who egid_only = { HOSTILE_NOBODY, HOSTILE_GROUP, (gid_t)-1 };
	struct harness_daemon d;

	hostile_need_root();
	harness_daemon_start(&d, "json", opts);
	cr_assert_eq(hostile_as(&egid_only, hostile_attaches, d.shm), 0,
	    "a member by its effective gid alone cannot attach");
	cr_assert_eq(harness_daemon_stop(&d), 0);
}

/*
 * --group takes a group name (looked up like getgrnam(3) does) or a
 * number; an unknown name is a usage error (2) with one line naming it;
 * --help lists the option.
 */
Test(hostile, group_option_takes_a_name_or_number_and_names_an_unknown_one, .timeout = TEST_TIMEOUT(60))
{
	static const char *const opts[] = { "--group", "nogroup", NULL };
	char *bad[] = { harness_build("mplogd"), "--group", "no-such-group-here", NULL };
	char *help[] = { harness_build("mplogd"), "--help", NULL };
	struct group *gr = getgrnam("nogroup");
	struct harness_daemon d;
	struct harness_result r;

	hostile_need_root();
	cr_assert_not_null(gr, "no group nogroup on this system");
	harness_daemon_start(&d, "json", opts);
	cr_assert_eq(hostile_stat(d.shm).st_gid, gr->gr_gid);
	cr_assert_eq(hostile_stat(d.shm).st_mode & 07777, 0660);
	cr_assert_eq(harness_daemon_stop(&d), 0);

	cr_assert_eq(harness_run(bad, NULL, NULL, &r), 2);
	cr_assert_str_eq(r.err, "mplogd: --group: unknown group 'no-such-group-here' "
	    "(a group name or number)\n");
	cr_assert_eq(harness_run(help, NULL, NULL, &r), 0);
	cr_assert(harness_contains(r.out, "--group GROUP"), "%s", r.out);
}

/* -------------------------------------------------------------------- */
/* Secure execution: a set-user-ID program run by root has AT_SECURE. */

/* A copy of the build's file rel in the scratch folder (opened to other
 * users for the copy: 0711), owned by owner, with mode. */
static char *
hostile_copy(const char *rel, const char *as, uid_t owner, mode_t mode)
{
	size_t n;
	char *data = harness_read_file(harness_build(rel), &n);
	char *dst = harness_file(as), *dir = harness_file(".");
	int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700);

	cr_assert_neq(fd, -1, "%s: %s", dst, strerror(errno));
	cr_assert_eq(write(fd, data, n), (ssize_t)n);
	/* chown clears the set-user-ID bit: the mode goes last. */
	cr_assert_eq(fchown(fd, owner, (gid_t)-1), 0, "chown %s: %s", dst, strerror(errno));
	cr_assert_eq(fchmod(fd, mode), 0);
	close(fd);
	cr_assert_eq(chmod(dir, 0711), 0);
	free(data);
	return dst;
}

/* What a run of hostile_exec saw. */
struct hostile_exec {
	int code;
	long at_secure;         /* AT_SECURE of the process, -1 unknown */
	int shim_mapped;        /* the shim was among its mappings */
	char *out, *err;
};

/* AT_SECURE from /proc/PID/auxv, or -1. */
static long
hostile_at_secure(pid_t pid)
{
	size_t n;
	char *path = harness_fmt("/proc/%d/auxv", (int)pid);
	unsigned long *v = (unsigned long *)harness_read_file(path, &n);
	long got = -1;

	for (size_t i = 0; i + 1 < n / sizeof(*v); i += 2)
		if (v[i] == AT_SECURE)
			got = (long)v[i + 1];
	free(v);
	free(path);
	return got;
}

/*
 * Run path (a copy of hosts/say) as who (NULL: as we are) with env: it
 * stops itself first (k:SIGSTOP), and while it is stopped its auxiliary
 * vector and mappings are read; then it goes on and writes text to its
 * stderr.
 */
static struct hostile_exec
hostile_exec(const struct hostile_who *who, const char *path, char **env, const char *text)
{
	char *argv[] = { (char *)path, harness_fmt("k:%d", SIGSTOP),
	    harness_fmt("w:%s\\n", text), NULL };
	static int serial;
	char *out = harness_file(harness_fmt("exec-%d.out", serial));
	char *err = harness_file(harness_fmt("exec-%d.err", serial++));
	int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int64_t end = hostile_ms() + HOSTILE_WAIT_MS;
	struct timespec pause = { 0, 2 * 1000000 };
	struct hostile_exec r = { .at_secure = -1 };
	pid_t parent = getpid(), pid, got;
	int status;

	cr_assert(fo != -1 && fe != -1, "%s: %s", out, strerror(errno));
	fflush(NULL);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);

		if (in == -1 || dup2(in, 0) == -1 || dup2(fo, 1) == -1 || dup2(fe, 2) == -1)
			_exit(99);
		if (who != NULL ? hostile_become(who, parent) == -1 :
		    prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
			_exit(99);
		execve(argv[0], argv, env);
		_exit(127);
	}
	close(fo);
	close(fe);
	while ((got = waitpid(pid, &status, WNOHANG | WUNTRACED)) == 0 && hostile_ms() < end)
		nanosleep(&pause, NULL);
	if (got == pid && WIFSTOPPED(status)) {
		char *maps = harness_read_file(harness_fmt("/proc/%d/maps", (int)pid), NULL);

		r.at_secure = hostile_at_secure(pid);
		r.shim_mapped = harness_contains(maps, "libmplog_preload.so");
		free(maps);
		kill(pid, SIGCONT);
		r.code = hostile_reap(pid);
	} else {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		cr_assert_fail("%s did not stop itself", path);
	}
	r.out = harness_read_file(out, NULL);
	r.err = harness_read_file(err, NULL);
	return r;
}

/*
 * A set-user-ID copy of a host (owned by nobody), run by root under
 * LD_PRELOAD, has AT_SECURE set, and the shim is not loaded at all: glibc
 * ignores preload paths with a slash in secure-execution processes. Its
 * line goes to its stderr, not to the log. The same run of the host
 * itself, not set-user-ID, is captured.
 */
Test(hostile, setuid_program_under_ld_preload_is_not_captured, .timeout = TEST_TIMEOUT(60))
{
	struct harness_daemon d;
	struct hostile_exec r;
	char **env;
	char *copy;

	hostile_need_root();
	harness_daemon_start(&d, "json", NULL);
	env = harness_env(harness_fmt("LD_PRELOAD=%s", harness_shim()),
	    harness_fmt("MPLOG_SHM=%s", d.shm), NULL);
	copy = hostile_copy("hosts/say", "say-setuid", HOSTILE_NOBODY, 04755);

	r = hostile_exec(NULL, copy, env, "secure under LD_PRELOAD");
	cr_assert_eq(r.code, 0, "%s%s", r.out, r.err);
	cr_assert_eq(r.at_secure, 1, "AT_SECURE is %ld", r.at_secure);
	cr_assert_eq(r.shim_mapped, 0, "glibc preloaded the shim into a secure process");
	cr_assert(harness_contains(r.err, "secure under LD_PRELOAD"), "stderr: %s", r.err);

	r = hostile_exec(NULL, harness_build("hosts/say"), env, "plain under LD_PRELOAD");
	cr_assert_eq(r.code, 0, "%s%s", r.out, r.err);
	cr_assert_eq(r.at_secure, 0, "AT_SECURE is %ld", r.at_secure);
	cr_assert_eq(r.shim_mapped, 1);
	hostile_wait_for(d.log, "plain under LD_PRELOAD", "the plain run's line");
	cr_assert_eq(harness_daemon_stop(&d), 0);
	cr_assert_eq(hostile_count(d.log, "secure under LD_PRELOAD"), 0);
}

/*
 * The shim itself does nothing in a secure-execution process. A host
 * with the shim linked in (a DT_NEEDED by absolute path, which glibc
 * loads in secure mode too), set-user-ID to nobody and run by root, has
 * the shim mapped and AT_SECURE set; an mplogd serves the segment the
 * shim would then use (/mplog-65534: MPLOG_SHM is read with
 * secure_getenv, the default name follows the effective uid) and lets
 * the process in (group root, which it keeps). Its line still goes to its
 * own stderr and not to the log. The same file run by nobody itself (not
 * secure, and in group root) is captured into that log.
 */
Test(hostile, shim_linked_into_a_setuid_program_does_nothing, .timeout = TEST_TIMEOUT(60))
{
	static const char *const opts[] = { "--shm", "/mplog-65534", "--group", "0", NULL };
	const struct hostile_who nobody = { HOSTILE_NOBODY, HOSTILE_NOBODY, 0 };
	struct harness_daemon d;
	struct hostile_exec r;
	char **env = harness_env(NULL);
	char *copy;

	hostile_need_root();
	if (hostile_open_errno("/mplog-65534", O_RDONLY) != ENOENT)
		cr_skip_test("/mplog-65534 exists: a segment of user nobody is in use");
	harness_daemon_start(&d, "json", opts);
	copy = hostile_copy("hosts/say-linked", "say-linked-setuid", HOSTILE_NOBODY, 04755);

	r = hostile_exec(NULL, copy, env, "secure with the shim linked in");
	cr_assert_eq(r.code, 0, "%s%s", r.out, r.err);
	cr_assert_eq(r.at_secure, 1, "AT_SECURE is %ld", r.at_secure);
	cr_assert_eq(r.shim_mapped, 1, "the linked shim is not loaded");
	cr_assert(harness_contains(r.err, "secure with the shim linked in"), "stderr: %s", r.err);

	r = hostile_exec(&nobody, copy, env, "nobody with the shim linked in");
	cr_assert_eq(r.code, 0, "%s%s", r.out, r.err);
	cr_assert_eq(r.at_secure, 0, "AT_SECURE is %ld", r.at_secure);
	cr_assert_eq(r.shim_mapped, 1);
	hostile_wait_for(d.log, "nobody with the shim linked in", "the plain run's line");
	cr_assert_eq(harness_daemon_stop(&d), 0);
	cr_assert_eq(hostile_count(d.log, "secure with the shim linked in"), 0);
	cr_assert_eq(hostile_open_errno("/mplog-65534", O_RDONLY), ENOENT);
}

/* Lanes 0 to 3 kept (the catch-all reader's, logmix's and its child's),
 * the rest cut off. */
static off_t
hostile_cut_after_four_lanes(const struct seg *s)
{
	return (off_t)(s->lanes_off + 4 * (uint64_t)s->lane_stride);
}

/*
 * Run mode with --catch-all: the catch-all reader writes into the
 * mapping, so a truncated segment is not replaced. mplogd says from
 * which byte on the mapping reads as zeroes, and goes on: the command's
 * lines written after the cut, through lanes before it, are delivered,
 * and mplogd exits with the command's status.
 */
Test(hostile, truncated_in_run_mode_with_catch_all_is_kept_and_served, .timeout = TEST_TIMEOUT(60))
{
	static const char *const opts[] = { "--catch-all", NULL };
	char *log = harness_file("catch-all.json"), *err = harness_file("catch-all.err");
	char *argv[32];
	int n = 0, in[2];
	pid_t pid;

	harness_mplog_argv(argv, &n, 0, "json", log, opts);
	argv[n++] = harness_build("hosts/logmix");
	argv[n++] = "-w";
	argv[n++] = "-p";
	argv[n++] = "1";
	argv[n++] = "-t";
	argv[n++] = "1";
	argv[n++] = "-n";
	argv[n++] = "10";
	argv[n] = NULL;
	cr_assert_eq(pipe2(in, O_CLOEXEC), 0);
	struct harness_io io = { in[0], -1, open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600),
	    -1, -1 };
	pid = harness_spawn(argv, NULL, &io);
	close(in[0]);
	close(io.err);
	hostile_wait_for(log, " seq=9 ", "phase 1");
	hostile_truncate(harness_fmt("/mplog-run-%d", (int)pid), hostile_cut_after_four_lanes);
	hostile_wait_for(err, "reads as zeroes", "mplogd's warning");
	cr_assert_eq(write(in[1], "go\n", 3), 3);
	close(in[1]);
	hostile_wait_for(log, " seq=19 ", "phase 2, after the cut");
	cr_assert_eq(harness_wait(pid, HARNESS_WAIT_MS), 0, "mplogd said: %s",
	    harness_read_file(err, NULL));
	cr_assert_eq(hostile_count(log, "logmix exit=0"), 1);
	cr_assert_eq(hostile_count(log, "replaced with a new"), 0);
	cr_assert_eq(hostile_count(log, "on it reads as zeroes"), 1);
	hostile_jq_parses(log);
}

/*
 * After mplogd skips a lane whose head was scribbled a terabyte past its
 * tail, the lane's producer goes on writing: every line it writes later
 * reaches the log or its own stderr: mplogd's skip moves tail and done
 * past the producer's own head, and the producer goes on from there.
 * mplogd listens elsewhere, so that the producer takes a lane of the
 * segment, where the test can scribble it (lanesock/ tests the lane a
 * process scribbles itself).
 */
Test(hostile, lines_written_after_a_scribbled_head_is_skipped_are_not_lost, .timeout = TEST_TIMEOUT(60))
{
	char *argv[] = { harness_build("hosts/logmix"), "-w", "-p", "1", "-t", "1", "-n", "5",
	    NULL };
	char *out = harness_file("stuck.out"), *err = harness_file("stuck.err");
	struct harness_daemon d;
	struct harness_io io;
	struct hostile_damage x;
	struct seg s;
	int in[2];
	pid_t pid;

	const char *elsewhere[] = { "--socket", harness_fmt("@mplog-test-elsewhere-%d",
	    (int)getpid()), NULL };

	harness_daemon_start(&d, "json", elsewhere);
	cr_assert_eq(seg_attach(&s, d.shm), 0);
	cr_assert_eq(pipe2(in, O_CLOEXEC), 0);
	io = (struct harness_io){ in[0], open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600),
	    open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), -1, -1 };
	pid = harness_spawn(argv, harness_env(harness_fmt("LD_PRELOAD=%s", harness_shim()),
	    harness_fmt("MPLOG_SHM=%s", d.shm), NULL), &io);
	close(in[0]);
	close(io.out);
	close(io.err);
	hostile_wait_for(d.log, " seq=4 ", "phase 1");
	hostile_wait_for(out, "phase1 p=0", "phase 1 done");
	/* Relaxed: a scribbler orders nothing. */
	x = (struct hostile_damage){ s.meta, atomic_load_explicit(&s.meta->damaged,
	    memory_order_relaxed), NULL };
	for (uint32_t i = 0; i < s.lane_count; i++) {
		struct lane_hdr *h = seg_lane(&s, i);

		if (atomic_load_explicit(&h->owner, memory_order_relaxed) != 0)
			atomic_store_explicit(&h->head, atomic_load_explicit(&h->tail,
			    memory_order_relaxed) + (UINT64_C(1) << 40), memory_order_relaxed);
	}
	cr_assert(hostile_until(hostile_damage_moves, &x, HOSTILE_WAIT_MS), "no damage counted");
	cr_assert_eq(write(in[1], "go\n", 3), 3);
	close(in[1]);
	cr_assert_eq(harness_wait(pid, HARNESS_WAIT_MS), 0);
	cr_assert_eq(harness_daemon_stop(&d), 0);
	for (int seq = 5; seq < 10; seq++) {
		char *needle = harness_fmt(" seq=%d ", seq);

		cr_expect(hostile_count(d.log, needle) + hostile_count(err, needle) == 1,
		    "line seq=%d is in neither the log nor stderr", seq);
	}
	seg_detach(&s);
}
