/*
 * test_lane.c - the lane record ring of the shared segment (shm/lane.c).
 *
 * Checks that one record's every header field and message byte survive the
 * trip through a lane; that an empty lane, and committed but unpublished
 * records, show nothing; that records of random sizes up to LANE_MSG_MAX
 * wrap around the ring behind PAD records over many laps, and an emptied
 * lane always takes a record of any size; that a full lane refuses a
 * reservation until the reader consumes; that a view cannot be consumed
 * twice; that lane_peek reports damaged lanes (bad positions, sizes, types,
 * PADs, random bytes) without reading outside the ring, which is fenced by
 * PROT_NONE pages; that leases give each owner its own lane and come back;
 * that a writer waiting for room is woken by the reader; that a forked
 * writer's 2,000,000 self-checking records, and four forked writers'
 * records on four lanes, reach one reader in order, exactly once; and that
 * when the reader and the writer (taking records back) both consume, every
 * record is taken by exactly one of them. And that a laneout (shm/laneout.c)
 * publishes in batches and on request, and on a full lane drops and counts
 * or asks its writer whether to stop, by policy.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lane.h"
#include "laneout.h"
#include "procid.h"
#include "seg.h"
#include "hosts/checksum.h"
#include "prng.h"
#include "timeout.h"

#define LANET_SEC   INT64_C(1000000000)

/* A reader's view of lane i: what mplogd passes to lane_peek. */
struct lanet_reader {
	struct lane_hdr *hdr;
	const char *data;
	uint32_t size;
};

/* Create a segment private to this test and unlink its name at once. */
static void
lanet_create(struct seg *seg, const char *tag, uint32_t lanes, uint32_t lane_size)
{
	char name[SEG_PATH_MAX];
	struct seg_params p = {
		.lane_count = lanes, .lane_size = lane_size,
	};

	snprintf(name, sizeof(name), "/mplog-test-%d-lane-%s", (int)getpid(), tag);
	cr_assert_eq(seg_create(seg, name, &p), 0, "seg_create %s: %s", name,
	    strerror(errno));
	/* Mappings (ours and forked children's) outlive the name. */
	cr_assert_eq(shm_unlink(name), 0);
}

static struct lanet_reader
lanet_reader(const struct seg *seg, uint32_t i)
{
	struct lanet_reader r;

	r.hdr = seg_lane(seg, i);
	r.data = (const char *)(r.hdr + 1);
	r.size = seg->lane_size;
	return r;
}

static int
lanet_peek(const struct lanet_reader *r, struct lane_view *v)
{
	return lane_peek(r->hdr, r->data, r->size, v);
}

/* This process's owner word. */
static uint64_t
lanet_me(void)
{
	return procid_pack(getpid(), procid_start(getpid()));
}

/* A segment (lanet_create) with the given number of lanes of the smallest
 * size; this process's lease on the first free lane in *w, and the reader
 * of lane 0 in *r. */
static void
lanet_open(struct seg *seg, const char *tag, uint32_t lanes, struct lane_writer *w,
    struct lanet_reader *r)
{
	lanet_create(seg, tag, lanes, SEG_LANE_SIZE_MIN);
	cr_assert_eq(lane_lease(seg, lanet_me(), w), 0);
	*r = lanet_reader(seg, 0);
}

/*
 * Self-checking records. The message is
 *   [writer u32][len u32][seq u64][pattern ...][fnv-1a of all before, u32]
 * and its length, the pattern and every header field follow from writer
 * and seq, so the reader can check a record knowing only what it expects.
 */
struct lanet_head {
	uint32_t writer;
	uint32_t len;
	uint64_t seq;
};

#define LANET_MIN_LEN  ((uint32_t)sizeof(struct lanet_head) + 4)

/* Message length of record seq of writer: mostly short, some up to the max. */
static uint32_t
lanet_len(uint32_t writer, uint64_t seq)
{
	uint64_t h = prng_mix(seq * 8 + writer);

	if (seq % 50021 == 17)
		return LANE_MSG_MAX;
	if (h % 1024 == 0)
		return LANET_MIN_LEN + (uint32_t)((h >> 16) % (LANE_MSG_MAX - LANET_MIN_LEN + 1));
	return LANET_MIN_LEN + (uint32_t)((h >> 16) % 237);
}

static uint8_t
lanet_byte(uint32_t writer, uint64_t seq, uint32_t i)
{
	return (uint8_t)(seq * 13 + i * 7 + (i >> 8) + writer * 101);
}

/* Fill a reserved record with record seq of writer. */
static void
lanet_fill(struct lane_rec *rec, uint32_t writer, uint64_t seq, uint32_t len, pid_t pid)
{
	unsigned char *m = (unsigned char *)lane_rec_msg(rec);
	struct lanet_head h = { .writer = writer, .len = len, .seq = seq };
	uint32_t sum;

	rec->source = (uint8_t)(seq % 3);
	rec->pri = (uint8_t)(seq * 5);
	rec->flags = (uint8_t)(seq & LANE_F_SPLIT);
	rec->pid = pid;
	rec->ts_ns = seq ^ ((uint64_t)writer << 56);
	rec->tid = (int32_t)writer;
	memcpy(m, &h, sizeof(h));
	for (uint32_t i = sizeof(h); i < len - 4; i++)
		m[i] = lanet_byte(writer, seq, i);
	sum = checksum_fnv((const char *)m, len - 4);
	memcpy(m + len - 4, &sum, 4);
}

/*
 * Check a record (its header copy and message bytes) against record seq of
 * writer from process pid. NULL when it matches, else what is wrong.
 */
static const char *
lanet_check(const struct lane_rec *rec, const unsigned char *m, uint32_t msg_len,
    uint32_t writer, uint64_t seq, pid_t pid)
{
	uint32_t len = lanet_len(writer, seq), sum;
	struct lanet_head h;

	if (rec->type != LANE_REC_LOG)
		return "type";
	if (msg_len != len || rec->size != sizeof(*rec) + len)
		return "length";
	if (rec->source != seq % 3 || rec->pri != (uint8_t)(seq * 5) ||
	    rec->flags != (seq & LANE_F_SPLIT) || rec->pid != pid ||
	    rec->ts_ns != (seq ^ ((uint64_t)writer << 56)) ||
	    rec->tid != (int32_t)writer || rec->name_len != 0 || rec->ident_len != 0)
		return "header field";
	memcpy(&h, m, sizeof(h));
	if (h.writer != writer || h.len != len || h.seq != seq)
		return "writer, length or sequence number in the message";
	for (uint32_t i = sizeof(h); i < len - 4; i++)
		if (m[i] != lanet_byte(writer, seq, i))
			return "payload byte";
	memcpy(&sum, m + len - 4, 4);
	if (sum != checksum_fnv((const char *)m, len - 4))
		return "checksum";
	return NULL;
}

/* Writer id and sequence number a message claims, or -1 if it is too short. */
static int
lanet_claims(const struct lane_view *v, uint32_t *writer, uint64_t *seq)
{
	struct lanet_head h;

	if (v->msg_len < LANET_MIN_LEN)
		return -1;
	memcpy(&h, v->msg, sizeof(h));
	*writer = h.writer;
	*seq = h.seq;
	return 0;
}

/* Reserve and commit record seq of writer; 0, or -1 when the lane is full. */
static int
lanet_put(struct lane_writer *w, uint32_t writer, uint64_t seq)
{
	uint32_t len = lanet_len(writer, seq);
	struct lane_rec *rec = lane_reserve(w, len);

	if (rec == NULL)
		return -1;
	lanet_fill(rec, writer, seq, len, getpid());
	lane_commit(w, rec);
	return 0;
}

/* Start a child that dies with the test process; returns its pid. */
static pid_t
lanet_fork(void)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	cr_assert_neq(pid, -1, "fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(99);
	}
	return pid;
}

/* Wait for child pid and require that it exited with status 0. */
static void
lanet_reap(pid_t pid, const char *what)
{
	int status;

	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "%s (pid %d) failed: %s %d", what, (int)pid,
	    WIFEXITED(status) ? "exit status" : "signal",
	    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

/* Scheduler state letter of thread tid of this process, or '?'. */
static char
lanet_thread_state(pid_t tid)
{
	char path[64], buf[512];
	const char *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	f = fopen(path, "r");
	if (f == NULL)
		return '?';
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p != NULL && p[1] == ' ' ? p[2] : '?';
}

/* -------------------------------------------------------------------- */

Test(lane, one_record_round_trips_every_field_and_byte)
{
	static const char msg[] = "hello, \0lane\n\xff";
	struct seg seg;
	struct lane_writer w;
	struct lane_view v;
	struct lane_rec *rec;
	struct lanet_reader r;
	uint32_t len = sizeof(msg);      /* includes the NUL inside and after */
	struct lane_names nm;

	lanet_open(&seg, "roundtrip", 2, &w, &r);
	cr_assert_eq(w.hdr, r.hdr, "the first free lane is lane 0");

	lane_names_set(&nm, "a-process-name-cut-at-31-bytes-exactly-here", "cron", NULL);
	cr_assert_eq(nm.name_len, LANE_NAME_MAX);
	rec = lane_reserve(&w, len + lane_names_size(&nm));
	cr_assert_not_null(rec);
	cr_assert_eq(rec->size, sizeof(*rec) + len + LANE_NAME_MAX + 4);
	cr_assert_eq(rec->type, LANE_REC_LOG);
	rec->source = LANE_SRC_SYSLOG;
	rec->pri = (3 << 3) | 6;
	rec->flags = LANE_F_SPLIT;
	rec->pid = 4242;
	rec->ts_ns = UINT64_C(0x0123456789abcdef);
	rec->tid = -7;
	memcpy(lane_rec_msg(rec), msg, len);
	lane_names_put(rec, len, &nm);
	lane_commit(&w, rec);
	lane_publish(&w);

	cr_assert_eq(lanet_peek(&r, &v), 1);
	cr_assert_eq(v.rec.size, sizeof(struct lane_rec) + len + LANE_NAME_MAX + 4);
	cr_assert_eq(v.rec.type, LANE_REC_LOG);
	cr_assert_eq(v.rec.source, LANE_SRC_SYSLOG);
	cr_assert_eq(v.rec.pri, (3 << 3) | 6);
	cr_assert_eq(v.rec.flags, LANE_F_SPLIT);
	cr_assert_eq(v.rec.pid, 4242);
	cr_assert_eq(v.rec.ts_ns, UINT64_C(0x0123456789abcdef));
	cr_assert_eq(v.rec.tid, -7);
	cr_assert_eq(v.rec.name_len, LANE_NAME_MAX);
	cr_assert_eq(v.rec.ident_len, 4);
	cr_assert_eq(v.msg_len, len);
	cr_assert_eq(memcmp(v.msg, msg, len), 0);
	cr_assert_eq(memcmp(v.msg + len, "a-process-name-cut-at-31-bytes-cron", LANE_NAME_MAX + 4), 0);
	cr_assert_eq(v.pos, 0);
	cr_assert_eq(v.next, lane_rec_span(len + LANE_NAME_MAX + 4));
	cr_assert_eq(v.next % 8, 0);
	cr_assert(v.msg >= r.data && v.msg + v.msg_len + LANE_NAME_MAX + 4 <= r.data + r.size);
	cr_assert_eq(atomic_load(&r.hdr->records), 1);
	cr_assert_eq(atomic_load(&r.hdr->bytes), sizeof(struct lane_rec) + len + LANE_NAME_MAX + 4);
	cr_assert_eq(lane_used(r.hdr), lane_rec_span(len + LANE_NAME_MAX + 4));

	/* Peeking does not consume: the same record is there again. */
	cr_assert_eq(lanet_peek(&r, &v), 1);
	cr_assert_eq(v.pos, 0);
	cr_assert_eq(lane_consume(r.hdr, &v), 0);
	cr_assert_eq(lane_used(r.hdr), 0);
	cr_assert_eq(lanet_peek(&r, &v), 0);
	seg_detach(&seg);
}

Test(lane, empty_message_round_trips)
{
	struct seg seg;
	struct lane_writer w;
	struct lane_view v;
	struct lane_rec *rec;
	struct lanet_reader r;

	lanet_open(&seg, "emptymsg", 1, &w, &r);
	rec = lane_reserve(&w, 0);
	cr_assert_not_null(rec);
	rec->pid = 1;
	lane_commit(&w, rec);
	lane_publish(&w);
	cr_assert_eq(lanet_peek(&r, &v), 1);
	cr_assert_eq(v.msg_len, 0);
	cr_assert_eq(v.rec.size, sizeof(struct lane_rec));
	cr_assert_eq(v.next, sizeof(struct lane_rec));
	cr_assert_eq(v.rec.pid, 1);
	seg_detach(&seg);
}

Test(lane, empty_lane_peeks_nothing)
{
	struct seg seg;
	struct lane_view v;
	struct lanet_reader r;

	lanet_create(&seg, "empty", 3, SEG_LANE_SIZE_MIN);
	for (uint32_t i = 0; i < 3; i++) {
		r = lanet_reader(&seg, i);
		cr_assert_eq(lanet_peek(&r, &v), 0, "lane %u", i);
		cr_assert_eq(lane_used(r.hdr), 0);
	}
	seg_detach(&seg);
}

Test(lane, committed_records_stay_invisible_until_published)
{
	struct seg seg;
	struct lane_writer w;
	struct lane_view v;
	struct lanet_reader r;

	lanet_open(&seg, "unpub", 1, &w, &r);
	for (uint64_t seq = 0; seq < 10; seq++)
		cr_assert_eq(lanet_put(&w, 0, seq), 0);
	cr_assert_eq(lanet_peek(&r, &v), 0, "committed is not published");
	cr_assert_eq(lane_used(r.hdr), 0);
	lane_publish(&w);
	for (uint64_t seq = 0; seq < 10; seq++) {
		cr_assert_eq(lanet_peek(&r, &v), 1, "record %" PRIu64, seq);
		cr_assert_null(lanet_check(&v.rec, (const unsigned char *)v.msg,
		    v.msg_len, 0, seq, getpid()));
		cr_assert_eq(lane_consume(r.hdr, &v), 0);
	}
	cr_assert_eq(lanet_peek(&r, &v), 0);
	seg_detach(&seg);
}

/* Message bytes of record seq in the wrap test. */
static uint8_t
lanet_wrap_byte(uint64_t seq, uint32_t i)
{
	return (uint8_t)((seq * 0x9e37u) ^ (i * 31u) ^ (i >> 9));
}

/* Random message length for the wrap test: 0..LANE_MSG_MAX, ends included. */
static uint32_t
lanet_wrap_len(uint64_t *rng)
{
	uint64_t x = prng_next(rng);

	switch (x % 8) {
	case 0:
		return LANE_MSG_MAX;
	case 1:
		return 0;
	case 2:
	case 3:
		return (uint32_t)((x >> 8) % 256);
	default:
		return (uint32_t)((x >> 8) % (LANE_MSG_MAX + 1));
	}
}

Test(lane, random_sizes_wrap_with_pad_over_many_laps)
{
	struct seg seg;
	struct lane_writer w;
	struct lane_view v;
	struct lanet_reader r;
	uint64_t rng = UINT64_C(0x5eed0123456789ab);
	uint64_t wseq = 0, rseq = 0, pos = 0, pads = 0, maxes = 0;
	uint32_t lens[4096];      /* lengths of records in flight, by seq */
	uint32_t next_len = lanet_wrap_len(&rng);

	lanet_open(&seg, "wrap", 1, &w, &r);

	while (pos < UINT64_C(200) * r.size) {
		/* Write a random burst, or until the lane is full. */
		unsigned burst = 1 + (unsigned)(prng_next(&rng) % 12);
		for (unsigned k = 0; k < burst; k++) {
			int empty = lane_used(r.hdr) == 0 &&
			    w.head == atomic_load(&r.hdr->head);
			struct lane_rec *rec = lane_reserve(&w, next_len);

			if (rec == NULL) {
				/* An emptied lane must take any record, else a
				 * writer could wait for room that never comes. */
				cr_assert(!empty, "an empty lane refuses a %u-byte "
				    "record at offset %" PRIu64, next_len,
				    w.head % r.size);
				break;
			}
			for (uint32_t i = 0; i < next_len; i++)
				lane_rec_msg(rec)[i] = (char)lanet_wrap_byte(wseq, i);
			rec->ts_ns = wseq;
			lane_commit(&w, rec);
			lens[wseq % 4096] = next_len;
			maxes += next_len == LANE_MSG_MAX;
			wseq++;
			next_len = lanet_wrap_len(&rng);
		}
		lane_publish(&w);
		cr_assert_lt(wseq - rseq, 4096);

		/* Read a random number of records, or drain, checking each. */
		unsigned take = (unsigned)(prng_next(&rng) % 16);
		if (prng_next(&rng) % 4 == 0)
			take = UINT32_MAX;
		for (unsigned k = 0; k < take; k++) {
			int got = lanet_peek(&r, &v);
			uint32_t len = lens[rseq % 4096];

			cr_assert_neq(got, -1, "damage reported at %" PRIu64, v.pos);
			if (got == 0) {
				cr_assert_eq(rseq, wseq, "records published but not seen");
				break;
			}
			cr_assert_geq(v.pos, pos);
			if (v.pos != pos) {
				/* A PAD was skipped: it fills the end of the ring,
				 * and only when the record did not fit there. */
				cr_assert_eq(v.pos % r.size, 0, "record %" PRIu64
				    " not where the previous one ended", rseq);
				cr_assert_eq(v.pos - pos, r.size - pos % r.size);
				cr_assert_gt(pos % r.size + lane_rec_span(len), r.size,
				    "a PAD where record %" PRIu64 " would have fit", rseq);
				pads++;
			}
			cr_assert_eq(v.rec.ts_ns, rseq);
			cr_assert_eq(v.msg_len, len, "record %" PRIu64, rseq);
			cr_assert_eq(v.next - v.pos, lane_rec_span(len));
			cr_assert_leq(v.pos % r.size + lane_rec_span(len), r.size,
			    "record %" PRIu64 " runs past the end of the ring", rseq);
			for (uint32_t i = 0; i < len; i++)
				if ((uint8_t)v.msg[i] != lanet_wrap_byte(rseq, i))
					cr_assert_fail("record %" PRIu64 " byte %u", rseq, i);
			cr_assert_eq(lane_consume(r.hdr, &v), 0);
			pos = v.next;
			rseq++;
		}
	}
	cr_assert_gt(pads, 100, "only %" PRIu64 " PADs in %" PRIu64 " records",
	    pads, rseq);
	cr_assert_gt(maxes, 100, "only %" PRIu64 " records of LANE_MSG_MAX", maxes);
	seg_detach(&seg);
}

Test(lane, emptied_lane_takes_any_record_at_any_offset)
{
	static const uint32_t lens[] = {
		0, 1, 4096, LANE_MSG_MAX - 1, LANE_MSG_MAX,
	};
	struct seg seg;
	struct lane_writer w;
	struct lane_view v;
	struct lanet_reader r;

	lanet_open(&seg, "anyoffset", 1, &w, &r);
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		for (uint32_t off = 0; off < r.size; off += 8) {
			/* An empty lane whose head and tail stand at off,
			 * three laps in: a state the lane reaches in use. */
			uint64_t at = UINT64_C(3) * r.size + off;
			struct lane_rec *rec;

			atomic_store(&r.hdr->head, at);
			atomic_store(&r.hdr->tail, at);
			atomic_store(&r.hdr->done, at);
			w.head = at;
			rec = lane_reserve(&w, lens[k]);
			cr_assert_not_null(rec, "empty lane refuses a %u-byte "
			    "record at offset %u", lens[k], off);
			rec->ts_ns = off;
			lane_commit(&w, rec);
			lane_publish(&w);
			cr_assert_eq(lanet_peek(&r, &v), 1);
			cr_assert_eq(v.msg_len, lens[k]);
			cr_assert_eq(v.rec.ts_ns, off);
			cr_assert_eq(lane_consume(r.hdr, &v), 0);
			cr_assert_eq(lanet_peek(&r, &v), 0);
		}
	}
	seg_detach(&seg);
}

Test(lane, full_lane_refuses_until_the_reader_consumes)
{
	struct seg seg;
	struct lane_writer w;
	struct lane_view v;
	struct lanet_reader r;
	struct lane_rec *rec;
	uint64_t n = 0;

	lanet_open(&seg, "full", 1, &w, &r);
	cr_assert_null(lane_reserve(&w, LANE_PAYLOAD_MAX + 1), "over LANE_PAYLOAD_MAX");

	/* 32-byte messages take 64 bytes: the ring holds exactly size/64. */
	while ((rec = lane_reserve(&w, 32)) != NULL) {
		rec->ts_ns = n++;
		lane_commit(&w, rec);
		cr_assert_leq(n, r.size / 64, "more records than fit");
	}
	cr_assert_eq(n, r.size / 64);
	lane_publish(&w);
	cr_assert_eq(lane_used(r.hdr), r.size);
	cr_assert_null(lane_reserve(&w, 0), "a full lane takes even an empty message");

	cr_assert_eq(lanet_peek(&r, &v), 1);
	cr_assert_eq(v.rec.ts_ns, 0);
	cr_assert_eq(lane_consume(r.hdr, &v), 0);
	rec = lane_reserve(&w, 32);
	cr_assert_not_null(rec, "room after consuming one record");
	rec->ts_ns = n++;
	lane_commit(&w, rec);
	cr_assert_null(lane_reserve(&w, 32), "full again");
	lane_publish(&w);

	/* The records come out in order, the new one last. */
	for (uint64_t i = 1; i < n; i++) {
		cr_assert_eq(lanet_peek(&r, &v), 1);
		cr_assert_eq(v.rec.ts_ns, i);
		cr_assert_eq(lane_consume(r.hdr, &v), 0);
	}
	cr_assert_eq(lanet_peek(&r, &v), 0);
	seg_detach(&seg);
}

/*
 * A claimed record keeps its bytes until it is marked delivered: the
 * writer's room counts from done, not tail. A party that seizes the
 * reading side from a holder that died with claimed records reads them
 * again (tail rewinds to done); seizing from any other holder than the
 * one named fails, and a release gives the lane back to nobody.
 */
Test(lane, claimed_records_keep_their_room_and_a_dead_readers_are_read_again)
{
	const uint64_t dead = procid_pack(1 << 22, 1), me = lanet_me();
	struct seg seg;
	struct lane_writer w;
	struct lane_view v;
	struct lanet_reader r;
	struct lane_rec *rec;
	uint64_t n = 0, third = 0;

	lanet_open(&seg, "seize", 1, &w, &r);
	while ((rec = lane_reserve(&w, 32)) != NULL) {
		rec->ts_ns = n++;
		lane_commit(&w, rec);
	}
	lane_publish(&w);
	cr_assert_eq(lane_reader(r.hdr), 0);
	cr_assert_eq(lane_seize(r.hdr, 0, dead), 0, "nobody held it");
	cr_assert_eq(lane_reader(r.hdr), dead);
	for (uint64_t i = 0; i < 3; i++) {
		cr_assert_eq(lanet_peek(&r, &v), 1);
		cr_assert_eq(v.rec.ts_ns, i);
		cr_assert_eq(lane_claim(r.hdr, &v), 0);
		third = v.next;
	}
	cr_assert_null(lane_reserve(&w, 32), "claimed but not delivered: no room yet");
	cr_assert_eq(lane_seize(r.hdr, 0, me), -1, "held by another than the one named");
	cr_assert_eq(lane_seize(r.hdr, dead, me), 0, "the holder named is dead");
	for (uint64_t i = 0; i < 2; i++) {
		cr_assert_eq(lanet_peek(&r, &v), 1);
		cr_assert_eq(v.rec.ts_ns, i, "record %" PRIu64 " read again", i);
		cr_assert_eq(lane_consume(r.hdr, &v), 0);
	}
	rec = lane_reserve(&w, 32);
	cr_assert_not_null(rec, "room once two records are delivered");
	rec->ts_ns = n++;
	lane_commit(&w, rec);
	rec = lane_reserve(&w, 32);
	cr_assert_not_null(rec);
	rec->ts_ns = n++;
	lane_commit(&w, rec);
	cr_assert_null(lane_reserve(&w, 32), "only what was delivered came back");
	lane_publish(&w);
	lane_done(r.hdr, third - 64);   /* an older position changes nothing */
	cr_assert_null(lane_reserve(&w, 32));
	for (uint64_t i = 2; i < n; i++) {
		cr_assert_eq(lanet_peek(&r, &v), 1);
		cr_assert_eq(v.rec.ts_ns, i);
		cr_assert_eq(lane_consume(r.hdr, &v), 0);
	}
	cr_assert_eq(lanet_peek(&r, &v), 0);
	lane_release(r.hdr, dead);
	cr_assert_eq(lane_reader(r.hdr), me, "only the holder releases");
	lane_release(r.hdr, me);
	cr_assert_eq(lane_reader(r.hdr), 0);
	seg_detach(&seg);
}

/*
 * A head scribbled far past the writer's own (and past a record boundary)
 * is damage: the reader skips to it; the writer's next record goes in
 * where the reader resumes, the first aligned position at or after it,
 * and is read whole.
 */
Test(lane, writer_goes_on_where_the_reader_resumed_after_a_scribbled_head)
{
	const uint64_t scribble = (UINT64_C(1) << 40) + 3;
	struct seg seg;
	struct lane_writer w;
	struct lane_view v;
	struct lanet_reader r;
	uint64_t before;

	lanet_open(&seg, "resync", 1, &w, &r);
	cr_assert_eq(lanet_put(&w, 0, 0), 0);
	lane_publish(&w);
	before = w.head;
	atomic_store(&r.hdr->head, before + scribble);
	cr_assert_eq(lanet_peek(&r, &v), -1, "a head past the ring's size is damage");
	cr_assert_eq(v.next, before + scribble);
	cr_assert_eq(lane_consume(r.hdr, &v), 0);
	cr_assert_eq(lanet_put(&w, 1, 1), 0, "the writer finds room past the skip");
	cr_assert_eq(w.head % 8, 0, "records stay aligned");
	cr_assert_geq(w.head, before + scribble, "written below the reader");
	lane_publish(&w);
	/* The record there is lost with the second skip. */
	cr_assert_eq(lanet_peek(&r, &v), -1, "the skip's unaligned tail is damage too");
	cr_assert_eq(lane_consume(r.hdr, &v), 0);
	cr_assert_eq(lanet_put(&w, 1, 2), 0);
	lane_publish(&w);
	uint32_t writer;
	uint64_t seq;

	cr_assert_eq(lanet_peek(&r, &v), 1, "the record written after the skip is read");
	cr_assert_eq(lanet_claims(&v, &writer, &seq), 0);
	cr_assert_eq(seq, 2);
	cr_assert_eq(lane_consume(r.hdr, &v), 0);
	cr_assert_eq(lanet_peek(&r, &v), 0);
	seg_detach(&seg);
}

Test(lane, consumed_view_cannot_be_consumed_again)
{
	struct seg seg;
	struct lane_writer w;
	struct lane_view v1, v2, stale;
	struct lanet_reader r;

	lanet_open(&seg, "twice", 1, &w, &r);
	for (uint64_t seq = 0; seq < 3; seq++)
		cr_assert_eq(lanet_put(&w, 0, seq), 0);
	lane_publish(&w);

	cr_assert_eq(lanet_peek(&r, &v1), 1);
	stale = v1;
	cr_assert_eq(lane_consume(r.hdr, &v1), 0);
	cr_assert_eq(lane_consume(r.hdr, &v1), -1, "the same view twice");
	cr_assert_eq(atomic_load(&r.hdr->tail), v1.next, "tail moved once");
	cr_assert_eq(lanet_peek(&r, &v2), 1);
	cr_assert_eq(v2.pos, v1.next);
	cr_assert_null(lanet_check(&v2.rec, (const unsigned char *)v2.msg,
	    v2.msg_len, 0, 1, getpid()));
	/* A copy of the first view, from before it was consumed. */
	cr_assert_eq(lane_consume(r.hdr, &stale), -1, "a stale copy");
	cr_assert_eq(atomic_load(&r.hdr->tail), v1.next);
	cr_assert_eq(lane_consume(r.hdr, &v2), 0);
	cr_assert_eq(lane_consume(r.hdr, &v2), -1);
	seg_detach(&seg);
}

/* A ring outside any segment, fenced by PROT_NONE pages on both sides. */
struct lanet_guarded {
	char *map;
	size_t map_len;
	char *data;
	uint32_t size;
	struct lane_hdr *hdr;
};

static void
lanet_guard(struct lanet_guarded *g, uint32_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	g->map_len = size + 2 * page;
	g->map = mmap(NULL, g->map_len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(g->map, MAP_FAILED);
	cr_assert_eq(mprotect(g->map, page, PROT_NONE), 0);
	cr_assert_eq(mprotect(g->map + page + size, page, PROT_NONE), 0);
	g->data = g->map + page;
	g->size = size;
	g->hdr = aligned_alloc(SEG_CACHELINE, sizeof(*g->hdr));
	cr_assert_not_null(g->hdr);
	memset(g->hdr, 0, sizeof(*g->hdr));
}

static void
lanet_unguard(struct lanet_guarded *g)
{
	munmap(g->map, g->map_len);
	free(g->hdr);
}

/* Write a record header of size and type at ring offset off (clipped). */
static void
lanet_plant(struct lanet_guarded *g, uint32_t off, uint32_t size, uint8_t type)
{
	struct lane_rec rec;
	size_t n = sizeof(rec);

	memset(&rec, 0, sizeof(rec));
	rec.size = size;
	rec.type = type;
	if (off + n > g->size)
		n = g->size - off;
	memcpy(g->data + off, &rec, n);
}

/*
 * Set tail and head, and require lane_peek to report damage at pos (tail,
 * or past the PADs before the damage) with head to resume from; then
 * resume there and find the lane empty.
 */
static void
lanet_expect_damage(struct lanet_guarded *g, uint64_t tail, uint64_t head,
    uint64_t pos, const char *what)
{
	struct lane_view v;
	int got;

	atomic_store(&g->hdr->tail, tail);
	atomic_store(&g->hdr->head, head);
	memset(&v, 0, sizeof(v));
	got = lane_peek(g->hdr, g->data, g->size, &v);
	cr_assert_eq(got, -1, "%s: lane_peek returned %d, not -1", what, got);
	cr_assert_eq(v.pos, pos, "%s: damage at %" PRIu64 ", not %" PRIu64,
	    what, v.pos, pos);
	cr_assert_eq(v.next, head, "%s: resume point", what);
	cr_assert_eq(atomic_load(&g->hdr->tail), pos, "%s: tail moved", what);
	cr_assert_eq(lane_consume(g->hdr, &v), 0, "%s: skipping the damage", what);
	cr_assert_eq(lane_peek(g->hdr, g->data, g->size, &v), 0,
	    "%s: empty after skipping", what);
}

Test(lane, damaged_lane_is_reported_without_reading_outside_the_ring)
{
	struct lanet_guarded g;
	uint32_t S = SEG_LANE_SIZE_MIN;
	uint64_t L = UINT64_C(5) * S;    /* some laps in */

	lanet_guard(&g, S);
	/* Plausible records everywhere, so only the damage is at fault. */
	for (uint32_t off = 0; off < S; off += 64)
		lanet_plant(&g, off, 64, LANE_REC_LOG);

	lanet_expect_damage(&g, L, L + S + 8, L, "head more than a ring ahead");
	lanet_expect_damage(&g, L + 64, L, L + 64, "head behind tail");
	lanet_expect_damage(&g, L + 4, L + 68, L + 4, "misaligned tail");
	lanet_expect_damage(&g, L, L + 4, L, "less than 8 bytes published");

	lanet_plant(&g, 0, 16, LANE_REC_LOG);
	lanet_expect_damage(&g, L, L + 64, L, "record smaller than its header");
	lanet_plant(&g, 0, 0, LANE_REC_LOG);
	lanet_expect_damage(&g, L, L + 64, L, "record of size 0");
	lanet_plant(&g, 0, (uint32_t)LANE_REC_MAX + 1, LANE_REC_LOG);
	lanet_expect_damage(&g, L, L + S, L, "record over LANE_REC_MAX");
	lanet_plant(&g, 0, UINT32_MAX - 3, LANE_REC_LOG);
	lanet_expect_damage(&g, L, L + S, L, "record size whose span wraps");
	lanet_plant(&g, 0, 64, LANE_REC_LOG);
	lanet_expect_damage(&g, L, L + 32, L, "record reaching past head");
	lanet_plant(&g, S - 32, 64, LANE_REC_LOG);
	lanet_expect_damage(&g, L + S - 32, L + S + 32, L + S - 32,
	    "record running past the end of the ring");
	lanet_plant(&g, S - 8, 32, LANE_REC_LOG);
	lanet_expect_damage(&g, L + S - 8, L + S + 32, L + S - 8,
	    "header in the last 8 bytes");
	lanet_plant(&g, S - 8, (uint32_t)LANE_REC_MAX, LANE_REC_LOG);
	lanet_expect_damage(&g, L + S - 8, L + 2 * S - 8, L + S - 8,
	    "largest record in the last 8 bytes");

	static const uint8_t bad_types[] = { 0, 3, 4, 0x7f, 0xff };
	for (size_t i = 0; i < sizeof(bad_types); i++) {
		char what[64];

		snprintf(what, sizeof(what), "record of type %u", bad_types[i]);
		lanet_plant(&g, 0, 40, bad_types[i]);
		lanet_expect_damage(&g, L, L + 64, L, what);
	}

	lanet_plant(&g, 0, 64, LANE_REC_PAD);
	lanet_expect_damage(&g, L, L + S, L, "PAD short of the end of the ring");
	lanet_plant(&g, 0, 0, LANE_REC_PAD);
	lanet_expect_damage(&g, L, L + S, L, "PAD of size 0");
	lanet_plant(&g, S - 64, 128, LANE_REC_PAD);
	lanet_expect_damage(&g, L + S - 64, L + S + 256, L + S - 64,
	    "PAD past the end of the ring");
	lanet_plant(&g, S - 64, 32, LANE_REC_PAD);
	lanet_expect_damage(&g, L + S - 64, L + S + 256, L + S - 64,
	    "PAD short of the end, before it");
	lanet_plant(&g, S - 64, 64, LANE_REC_PAD);
	lanet_expect_damage(&g, L + S - 64, L + S - 32, L + S - 64,
	    "PAD reaching past head");
	lanet_plant(&g, S - 8, UINT32_MAX, LANE_REC_PAD);
	lanet_expect_damage(&g, L + S - 8, L + S + 64, L + S - 8,
	    "PAD of size 2^32-1");

	/* A good PAD is skipped; the damage is reported after it. */
	lanet_plant(&g, S - 64, 64, LANE_REC_PAD);
	lanet_plant(&g, 0, 8, LANE_REC_LOG);
	lanet_expect_damage(&g, L + S - 64, L + S + 64, L + S,
	    "bad record after a good PAD");
	lanet_unguard(&g);
}

Test(lane, random_bytes_never_make_peek_read_outside_the_ring)
{
	struct lanet_guarded g;
	uint64_t rng = UINT64_C(0x0ddba11cafe5eed);
	uint64_t ones = 0, damages = 0, empties = 0;
	uint32_t S = 4096;

	lanet_guard(&g, S);
	for (unsigned iter = 0; iter < 20000; iter++) {
		uint64_t tail = (prng_next(&rng) % (64 * S)) & ~UINT64_C(7);
		uint64_t pos = tail, head;

		if (prng_next(&rng) % 16 == 0)
			tail |= prng_next(&rng) % 8;
		/* A chain of mostly plausible records from tail on. */
		for (unsigned k = 0; k < 40; k++) {
			uint64_t x = prng_next(&rng);
			uint32_t off = (uint32_t)(pos % S), size;
			uint8_t type = LANE_REC_LOG;

			switch (x % 10) {
			case 0:
				type = LANE_REC_PAD;
				size = S - off;
				break;
			case 1:
				type = LANE_REC_PAD;
				size = (uint32_t)(x >> 32);
				break;
			case 2:
				type = (uint8_t)(x >> 8);
				size = (uint32_t)(x >> 32);
				break;
			case 3:
				size = (uint32_t)(x >> 32);
				break;
			default:
				size = 32 + (uint32_t)((x >> 16) % (S / 2));
				break;
			}
			lanet_plant(&g, off, size, type);
			pos += (size + 7u) & ~UINT64_C(7);
			if ((size + 7u) < 8 || pos - tail > 2 * (uint64_t)S)
				break;
		}
		head = tail + prng_next(&rng) % (S + 16);
		if (prng_next(&rng) % 8 == 0)
			head = tail + (uint64_t)((int64_t)(prng_next(&rng) % 64) - 32);
		atomic_store(&g.hdr->tail, tail);
		atomic_store(&g.hdr->head, head);

		for (unsigned step = 0; step < 64; step++) {
			struct lane_view v;
			uint64_t t0 = atomic_load(&g.hdr->tail);
			int got = lane_peek(g.hdr, g.data, g.size, &v);
			uint64_t t1 = atomic_load(&g.hdr->tail);

			cr_assert(got >= -1 && got <= 1);
			cr_assert(t1 >= t0 && t1 - t0 <= S, "peek moved tail "
			    "from %" PRIu64 " to %" PRIu64, t0, t1);
			if (got == 0) {
				cr_assert_eq(head, t1, "empty while head %" PRIu64
				    " != tail %" PRIu64, head, t1);
				empties++;
				break;
			}
			if (got == -1) {
				cr_assert_eq(v.pos, t1);
				cr_assert_eq(v.next, head);
				damages++;
				break;
			}
			ones++;
			cr_assert_eq(v.pos, t1, "view not at tail");
			cr_assert_eq(v.rec.type, LANE_REC_LOG);
			cr_assert_geq(v.rec.size, sizeof(struct lane_rec));
			cr_assert_leq(v.rec.size, LANE_REC_MAX);
			cr_assert_leq(v.rec.name_len, LANE_NAME_MAX);
			cr_assert_leq(v.rec.ident_len, LANE_NAME_MAX);
			cr_assert_leq(v.msg_len, LANE_MSG_MAX);
			cr_assert_eq(v.msg_len + v.rec.name_len + v.rec.ident_len,
			    v.rec.size - sizeof(struct lane_rec));
			cr_assert_eq(v.next - v.pos, lane_rec_span(v.msg_len + v.rec.name_len +
			    v.rec.ident_len));
			cr_assert_leq(v.next - t0, head - t0, "view past head");
			cr_assert(v.msg >= g.data && v.msg + v.msg_len + v.rec.name_len +
			    v.rec.ident_len <= g.data + S,
			    "message outside the ring");
			cr_assert_eq(lane_consume(g.hdr, &v), 0);
		}
	}
	cr_log_info("lane fuzz: %" PRIu64 " records, %" PRIu64 " damages, %"
	    PRIu64 " empties", ones, damages, empties);
	cr_assert_gt(ones, 1000);
	cr_assert_gt(damages, 1000);
	lanet_unguard(&g);
}

Test(lane, leases_give_each_owner_its_own_lane_and_come_back)
{
	struct seg seg;
	struct lane_writer wa, wb, wc, wd, again;
	struct lane_view v;
	struct lanet_reader r;
	uint64_t a = procid_pack(1000001, 11), b = procid_pack(1000002, 12);
	uint64_t c = procid_pack(1000003, 13), d = procid_pack(1000004, 14);

	lanet_create(&seg, "lease", 3, SEG_LANE_SIZE_MIN);
	cr_assert_eq(lane_lease(&seg, a, &wa), 0);
	cr_assert_eq(lane_lease(&seg, b, &wb), 0);
	cr_assert_neq(wa.hdr, wb.hdr, "two owners, one lane");
	cr_assert_eq(atomic_load(&wa.hdr->owner), a);
	cr_assert_eq(atomic_load(&wb.hdr->owner), b);
	cr_assert_eq(wa.size, seg.lane_size);
	cr_assert_eq(wa.data, (char *)(wa.hdr + 1));

	cr_assert_eq(lane_lease(&seg, a, &again), 0);
	cr_assert_eq(again.hdr, wa.hdr, "the same owner gets its lane back");

	cr_assert_eq(lane_lease(&seg, c, &wc), 0);
	cr_assert(wc.hdr != wa.hdr && wc.hdr != wb.hdr);
	errno = 0;
	cr_assert_eq(lane_lease(&seg, d, &wd), -1, "a fourth owner, three lanes");
	cr_assert_eq(errno, EAGAIN);

	/* b leaves records behind; only b can give its lane back. */
	for (uint64_t seq = 0; seq < 3; seq++)
		cr_assert_eq(lanet_put(&wb, 0, seq), 0);
	lane_publish(&wb);
	lane_unlease(&wb, d);
	cr_assert_eq(atomic_load(&wb.hdr->owner), b, "unlease by a non-owner");
	lane_unlease(&wb, b);
	cr_assert_eq(atomic_load(&wb.hdr->owner), 0);

	cr_assert_eq(lane_lease(&seg, d, &wd), 0);
	cr_assert_eq(wd.hdr, wb.hdr, "the freed lane");
	cr_assert_eq(wd.head, wb.head, "the new owner writes after b's records");
	for (uint64_t seq = 3; seq < 5; seq++)
		cr_assert_eq(lanet_put(&wd, 0, seq), 0);
	lane_publish(&wd);
	r.hdr = wd.hdr;
	r.data = wd.data;
	r.size = wd.size;
	for (uint64_t seq = 0; seq < 5; seq++) {
		cr_assert_eq(lanet_peek(&r, &v), 1);
		cr_assert_null(lanet_check(&v.rec, (const unsigned char *)v.msg,
		    v.msg_len, 0, seq, getpid()), "record %" PRIu64, seq);
		cr_assert_eq(lane_consume(r.hdr, &v), 0);
	}
	cr_assert_eq(lanet_peek(&r, &v), 0);
	seg_detach(&seg);
}

/* The writer thread of the wait-for-room test. */
struct lanet_waiter {
	struct lane_writer w;
	_Atomic pid_t tid;
	_Atomic int full;           /* 1 once the lane is full and published */
	uint64_t wrote;
};

static void *
lanet_waiter_main(void *arg)
{
	struct lanet_waiter *t = arg;
	struct lane_rec *rec;

	atomic_store(&t->tid, (pid_t)syscall(SYS_gettid));
	while ((rec = lane_reserve(&t->w, 32)) != NULL) {
		rec->ts_ns = t->wrote++;
		lane_commit(&t->w, rec);
	}
	lane_publish(&t->w);
	atomic_store(&t->full, 1);
	/* Far longer than the test's timeout: only a wake-up ends it. */
	while ((rec = lane_reserve(&t->w, 32)) == NULL)
		lane_wait_room(&t->w, 32, 30 * LANET_SEC);
	rec->ts_ns = t->wrote++;
	lane_commit(&t->w, rec);
	lane_publish(&t->w);
	return NULL;
}

/* A new segment of one minimal lane, whose writer thread t has filled it
 * and sleeps in lane_wait_room; its reader. */
static struct lanet_reader
lanet_waiter_asleep(struct seg *seg, const char *tag, struct lanet_waiter *t, pthread_t *th)
{
	struct lanet_reader r;

	lanet_create(seg, tag, 1, SEG_LANE_SIZE_MIN);
	memset(t, 0, sizeof(*t));
	cr_assert_eq(lane_lease(seg, lanet_me(), &t->w), 0);
	r = lanet_reader(seg, 0);
	cr_assert_eq(pthread_create(th, NULL, lanet_waiter_main, t), 0);
	while (atomic_load(&t->full) == 0 || atomic_load(&r.hdr->waiting) == 0 ||
	    lanet_thread_state(atomic_load(&t->tid)) != 'S')
		sched_yield();
	return r;
}

Test(lane, writer_waiting_for_room_is_woken_by_the_reader, .timeout = TEST_TIMEOUT(10))
{
	struct seg seg;
	struct lanet_waiter t;
	struct lane_view v;
	struct lanet_reader r;
	pthread_t th;

	r = lanet_waiter_asleep(&seg, "waitroom", &t, &th);
	cr_assert_eq(lanet_peek(&r, &v), 1);
	cr_assert_eq(v.rec.ts_ns, 0);
	cr_assert_eq(lane_consume(r.hdr, &v), 0);
	cr_assert_eq(pthread_join(th, NULL), 0);

	cr_assert_eq(t.wrote, r.size / 64 + 1);
	for (uint64_t i = 1; i < t.wrote; i++) {
		cr_assert_eq(lanet_peek(&r, &v), 1);
		cr_assert_eq(v.rec.ts_ns, i);
		cr_assert_eq(lane_consume(r.hdr, &v), 0);
	}
	cr_assert_eq(lanet_peek(&r, &v), 0);
	seg_detach(&seg);
}

/*
 * mplogd gives bytes back at every flush with lane_done_lazy: a writer
 * waiting for room is woken only once the room it wants and a quarter of
 * the lane more are free, not at the first record delivered; one waiting
 * for delivery is woken at once.
 */
Test(lane, a_lazy_reader_wakes_a_writer_once_a_quarter_of_the_lane_is_free,
    .timeout = TEST_TIMEOUT(10))
{
	struct seg seg;
	struct lanet_waiter t;
	struct lane_view v;
	struct lanet_reader r;
	pthread_t th;
	uint32_t room, wake_at;

	r = lanet_waiter_asleep(&seg, "lazy", &t, &th);
	cr_assert_eq(atomic_load(&r.hdr->waiting), LANE_WAIT_ROOM);
	cr_assert_eq(atomic_load(&r.hdr->want), 64, "a 32-byte message takes 64 bytes");

	/* 64 bytes a record: the wake is due at the record that frees 64
	 * bytes more than a quarter of the lane. */
	wake_at = 1 + r.size / 4 / 64;
	room = atomic_load(&r.hdr->room);
	for (uint32_t k = 1; k < wake_at; k++) {
		cr_assert_eq(lanet_peek(&r, &v), 1);
		cr_assert_eq(lane_claim(r.hdr, &v), 0);
		lane_done_lazy(r.hdr, v.next, r.size);
		cr_assert_eq(atomic_load(&r.hdr->room), room, "woken with %u records free", k);
		cr_assert_eq(atomic_load(&r.hdr->waiting), LANE_WAIT_ROOM);
	}
	cr_assert_eq(lanet_peek(&r, &v), 1);
	cr_assert_eq(lane_claim(r.hdr, &v), 0);
	lane_done_lazy(r.hdr, v.next, r.size);
	cr_assert_neq(atomic_load(&r.hdr->room), room, "not woken with %u records free", wake_at);
	cr_assert_eq(atomic_load(&r.hdr->waiting), 0);
	cr_assert_eq(pthread_join(th, NULL), 0);

	/* One waiting for delivery is woken by the next record delivered. */
	atomic_fetch_or(&r.hdr->waiting, LANE_WAIT_DONE);
	room = atomic_load(&r.hdr->room);
	cr_assert_eq(lanet_peek(&r, &v), 1);
	cr_assert_eq(lane_claim(r.hdr, &v), 0);
	lane_done_lazy(r.hdr, v.next, r.size);
	cr_assert_neq(atomic_load(&r.hdr->room), room);
	cr_assert_eq(atomic_load(&r.hdr->waiting), 0);
	seg_detach(&seg);
}

/* -------------------------------------------------------------------- */
/* Stress: forked writers, one reader. */

#define LANET_STRESS_N    2000000
#define LANET_LOST_WAKE   (5 * LANET_SEC)

/*
 * Body of a writer child: lease a lane and write records 0..n-1 of writer,
 * publishing every batch and waiting for room when full. The exit status
 * says what went wrong (never returns).
 */
static void __attribute__((noreturn))
lanet_writer_child(struct seg *seg, uint32_t writer, uint64_t n, uint32_t batch)
{
	uint64_t me = lanet_me();
	struct lane_writer w;
	uint32_t unpublished = 0;

	if (lane_lease(seg, me, &w) == -1)
		_exit(10);
	for (uint64_t seq = 0; seq < n; seq++) {
		while (lanet_put(&w, writer, seq) == -1) {
			int64_t t0;

			/* Full: what we hold must be visible to be consumed. */
			lane_publish(&w);
			seg_wake_consumer(seg);
			unpublished = 0;
			t0 = seg_now_mono();
			lane_wait_room(&w, lanet_len(writer, seq), 2 * LANET_LOST_WAKE);
			if (seg_now_mono() - t0 >= LANET_LOST_WAKE)
				_exit(11);      /* the reader never woke us */
		}
		if (++unpublished == batch) {
			lane_publish(&w);
			seg_wake_consumer(seg);
			unpublished = 0;
		}
	}
	lane_publish(&w);
	seg_wake_consumer(seg);
	lane_unlease(&w, me);
	_exit(0);
}

struct lanet_lanes {
	const struct seg *seg;
	uint32_t count;
};

/* seg_consumer_sleep's test: does any lane hold records? */
static int
lanet_pending(void *arg)
{
	const struct lanet_lanes *l = arg;

	for (uint32_t i = 0; i < l->count; i++)
		if (lane_used(seg_lane(l->seg, i)) != 0)
			return 1;
	return 0;
}

/* Sleep as the consumer; fail if no publish woke us in time. */
static void
lanet_consumer_sleep(struct seg *seg, struct lanet_lanes *l)
{
	int64_t t0 = seg_now_mono();

	seg_consumer_sleep(seg, 2 * LANET_LOST_WAKE, lanet_pending, l);
	cr_assert_lt(seg_now_mono() - t0, LANET_LOST_WAKE,
	    "the consumer slept through a publish (or a writer died)");
}

/* 1 when child pid has exited; it stays to be reaped (WNOWAIT). */
static int
lanet_exited(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	cr_assert_eq(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT), 0);
	return si.si_pid == pid;
}

/*
 * The reader found no record while some are still expected from the
 * writers pids: fail if one has ended and no lane holds a record. A
 * writer that published its last batch and exited since the reader
 * looked has left those records in its lane: they are read next.
 */
static void
lanet_writers_alive(const pid_t *pids, uint32_t n, struct lanet_lanes *lanes)
{
	for (uint32_t i = 0; i < n; i++)
		cr_assert(!lanet_exited(pids[i]) || lanet_pending(lanes),
		    "writer %u (pid %d) ended early", i, (int)pids[i]);
}

Test(lane, forked_writer_2m_records_arrive_in_order_exactly_once, .timeout = TEST_TIMEOUT(60))
{
	struct seg seg;
	struct lane_view v;
	struct lanet_reader r;
	struct lanet_lanes lanes = { &seg, 1 };
	uint64_t seq = 0, bytes = 0;
	int64_t t0;
	pid_t pid;

	lanet_create(&seg, "stress1", 1, SEG_LANE_SIZE_DEFAULT);
	seg_consumer_start(&seg);
	r = lanet_reader(&seg, 0);
	t0 = seg_now_mono();
	pid = lanet_fork();
	if (pid == 0)
		lanet_writer_child(&seg, 0, LANET_STRESS_N, 64);

	while (seq < LANET_STRESS_N) {
		int got = lanet_peek(&r, &v);
		const char *err;

		if (got == 1) {
			err = lanet_check(&v.rec, (const unsigned char *)v.msg,
			    v.msg_len, 0, seq, pid);
			if (err != NULL)
				cr_assert_fail("record %" PRIu64 ": bad %s", seq, err);
			bytes += v.msg_len;
			cr_assert_eq(lane_consume(r.hdr, &v), 0);
			seq++;
			continue;
		}
		cr_assert_eq(got, 0, "damage reported at %" PRIu64 " (record %"
		    PRIu64 ")", v.pos, seq);
		lanet_writers_alive(&pid, 1, &lanes);
		lanet_consumer_sleep(&seg, &lanes);
	}
	lanet_reap(pid, "writer");
	cr_assert_eq(lanet_peek(&r, &v), 0, "a record beyond the last");
	cr_assert_eq(atomic_load(&r.hdr->records), LANET_STRESS_N);
	cr_assert_eq(atomic_load(&r.hdr->owner), 0, "the writer gave its lane back");

	double s = (double)(seg_now_mono() - t0) / 1e9;
	cr_log_info("lane stress, 1 writer: %d records, %.0f MB in %.2f s: "
	    "%.2f M records/s, %.0f MB/s", LANET_STRESS_N, (double)bytes / 1e6, s,
	    LANET_STRESS_N / s / 1e6, (double)bytes / 1e6 / s);
	seg_detach(&seg);
}

#define LANET_WRITERS 4

Test(lane, four_writers_on_four_lanes_each_arrive_in_order_exactly_once, .timeout = TEST_TIMEOUT(60))
{
	const uint64_t n = LANET_STRESS_N / LANET_WRITERS;
	struct seg seg;
	struct lane_view v;
	struct lanet_reader r[LANET_WRITERS];
	struct lanet_lanes lanes = { &seg, LANET_WRITERS };
	uint64_t next[LANET_WRITERS] = { 0 }, total = 0, bytes = 0;
	int lane_of[LANET_WRITERS], writer_of[LANET_WRITERS];
	pid_t pids[LANET_WRITERS];
	int64_t t0;

	lanet_create(&seg, "stress4", LANET_WRITERS, SEG_LANE_SIZE_DEFAULT);
	seg_consumer_start(&seg);
	for (uint32_t i = 0; i < LANET_WRITERS; i++) {
		r[i] = lanet_reader(&seg, i);
		lane_of[i] = writer_of[i] = -1;
	}
	t0 = seg_now_mono();
	for (uint32_t k = 0; k < LANET_WRITERS; k++) {
		pids[k] = lanet_fork();
		if (pids[k] == 0)
			lanet_writer_child(&seg, k, n, 32);
	}

	while (total < n * LANET_WRITERS) {
		uint64_t found = 0;

		for (uint32_t i = 0; i < LANET_WRITERS; i++) {
			for (int k = 0; k < 256; k++) {
				uint32_t wr = UINT32_MAX;
				uint64_t seq = 0;
				const char *err;
				int got = lanet_peek(&r[i], &v);

				cr_assert_neq(got, -1, "lane %u: damage at %" PRIu64, i, v.pos);
				if (got == 0)
					break;
				cr_assert_eq(lanet_claims(&v, &wr, &seq), 0,
				    "lane %u: short record", i);
				cr_assert_lt(wr, LANET_WRITERS, "lane %u: writer %u", i, wr);
				if (lane_of[wr] == -1) {
					/* First record of this writer: its lane is its own. */
					cr_assert_eq(writer_of[i], -1, "writers %d and %u "
					    "share lane %u", writer_of[i], wr, i);
					cr_assert_eq(procid_pid(atomic_load(&r[i].hdr->owner)),
					    pids[wr], "lane %u is not leased by writer %u", i, wr);
					lane_of[wr] = (int)i;
					writer_of[i] = (int)wr;
				}
				cr_assert_eq(lane_of[wr], (int)i, "writer %u on lanes %d "
				    "and %u", wr, lane_of[wr], i);
				cr_assert_eq(seq, next[wr], "writer %u: record %" PRIu64
				    " where %" PRIu64 " was due", wr, seq, next[wr]);
				err = lanet_check(&v.rec, (const unsigned char *)v.msg,
				    v.msg_len, wr, seq, pids[wr]);
				if (err != NULL)
					cr_assert_fail("writer %u record %" PRIu64 ": bad %s",
					    wr, seq, err);
				bytes += v.msg_len;
				cr_assert_eq(lane_consume(r[i].hdr, &v), 0);
				next[wr]++;
				total++;
				found++;
			}
		}
		if (found == 0 && total < n * LANET_WRITERS) {
			uint32_t left = 0;
			pid_t busy[LANET_WRITERS];

			for (uint32_t k = 0; k < LANET_WRITERS; k++)
				if (next[k] < n)
					busy[left++] = pids[k];
			lanet_writers_alive(busy, left, &lanes);
			lanet_consumer_sleep(&seg, &lanes);
		}
	}
	for (uint32_t k = 0; k < LANET_WRITERS; k++) {
		lanet_reap(pids[k], "writer");
		cr_assert_eq(next[k], n);
	}
	for (uint32_t i = 0; i < LANET_WRITERS; i++) {
		cr_assert_eq(lanet_peek(&r[i], &v), 0, "lane %u: a record beyond the last", i);
		cr_assert_eq(atomic_load(&r[i].hdr->owner), 0);
		cr_assert_eq(atomic_load(&r[i].hdr->records), n);
	}
	double s = (double)(seg_now_mono() - t0) / 1e9;
	cr_log_info("lane stress, %d writers: %" PRIu64 " records, %.0f MB in %.2f s: "
	    "%.2f M records/s, %.0f MB/s", LANET_WRITERS, total, (double)bytes / 1e6,
	    s, (double)total / s / 1e6, (double)bytes / 1e6 / s);
	seg_detach(&seg);
}

/* -------------------------------------------------------------------- */
/* Races: the reader and the writer taking records back both consume. */

#define LANET_RACE_N  400000

struct lanet_race {
	_Atomic uint32_t done;          /* the writer published its last */
	_Atomic uint8_t taken[LANET_RACE_N];
};

/* One party of the race: its tallies and the order it took records in. */
struct lanet_party {
	uint64_t took, lost, damaged, last;
	pid_t writer_pid;
	unsigned char *buf;
};

/*
 * Take up to max records as party p: copy each, then consume; count the
 * record only if the consume succeeded, and then check the copy.
 * 0 when done or empty, or a nonzero code saying what was wrong.
 */
static int
lanet_take(const struct lanet_reader *r, struct lanet_race *sh,
    struct lanet_party *p, unsigned max)
{
	for (unsigned k = 0; k < max; k++) {
		struct lane_view v;
		struct lane_rec rec;
		struct lanet_head h;
		uint32_t len;
		int got = lanet_peek(r, &v);

		if (got == 0)
			return 0;
		if (got == -1) {
			/* A healthy lane must never say this. Skip to head as
			 * mplogd does, so the harm it would do shows too. */
			p->damaged++;
			lane_consume(r->hdr, &v);
			return 0;
		}
		rec = v.rec;
		len = v.msg_len;
		if (len > LANE_MSG_MAX)
			return 1;
		memcpy(p->buf, v.msg, len);
		if (lane_consume(r->hdr, &v) == -1) {
			p->lost++;      /* the other party had it: not ours */
			continue;
		}
		if (len < LANET_MIN_LEN)
			return 2;
		memcpy(&h, p->buf, sizeof(h));
		if (h.seq >= LANET_RACE_N)
			return 3;
		if (lanet_check(&rec, p->buf, len, 0, h.seq, p->writer_pid) != NULL)
			return 4;
		if (p->took != 0 && h.seq <= p->last)
			return 5;       /* out of order */
		p->last = h.seq;
		p->took++;
		atomic_fetch_add_explicit(&sh->taken[h.seq], 1, memory_order_relaxed);
	}
	return 0;
}

static const char *
lanet_take_error(int code)
{
	static const char *const why[] = {
		"ok", "message too long", "message too short",
		"sequence number out of range", "record does not check",
		"records out of order",
	};

	return code >= 0 && code <= 5 ? why[code] : "?";
}

/* Body of the writer child of the race: writes, and takes records back. */
static void __attribute__((noreturn))
lanet_race_writer(struct seg *seg, struct lanet_race *sh)
{
	uint64_t me = lanet_me();
	struct lane_writer w;
	struct lanet_reader r;
	struct lanet_party p = { .writer_pid = getpid() };
	int err;

	p.buf = malloc(LANE_MSG_MAX);
	if (p.buf == NULL || lane_lease(seg, me, &w) == -1)
		_exit(20);
	r.hdr = w.hdr;
	r.data = w.data;
	r.size = w.size;
	for (uint64_t seq = 0; seq < LANET_RACE_N; seq++) {
		while (lanet_put(&w, 0, seq) == -1) {
			lane_publish(&w);
			if ((err = lanet_take(&r, sh, &p, 64)) != 0)
				_exit(20 + err);
		}
		if (seq % 61 == 0) {
			lane_publish(&w);
			if ((err = lanet_take(&r, sh, &p, 1 + (unsigned)(seq % 7))) != 0)
				_exit(20 + err);
		}
	}
	lane_publish(&w);
	/* Release pairs with the reader's acquire: the last head is visible. */
	atomic_store_explicit(&sh->done, 1, memory_order_release);
	if (p.damaged != 0)
		_exit(30);
	_exit(0);
}

Test(lane, reader_and_writer_taking_back_never_take_one_record_twice, .timeout = TEST_TIMEOUT(60))
{
	struct seg seg;
	struct lanet_race *sh;
	struct lanet_reader r;
	struct lanet_party p = { 0 };
	uint64_t writer_took = 0;
	pid_t pid;
	int err;

	lanet_create(&seg, "race", 1, SEG_LANE_SIZE_MIN);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(sh, MAP_FAILED);
	p.buf = malloc(LANE_MSG_MAX);
	cr_assert_not_null(p.buf);
	r = lanet_reader(&seg, 0);
	pid = lanet_fork();
	if (pid == 0)
		lanet_race_writer(&seg, sh);
	p.writer_pid = pid;

	for (;;) {
		/* Acquire pairs with the writer's release of done. */
		int done = atomic_load_explicit(&sh->done, memory_order_acquire) != 0;

		err = lanet_take(&r, sh, &p, 128);
		cr_assert_eq(err, 0, "reader: %s", lanet_take_error(err));
		if (done && lane_used(r.hdr) == 0)
			break;
		/* A writer that ended has set done first (its release store
		 * is seen after its exit): the next round then ends the loop. */
		if (lane_used(r.hdr) == 0) {
			cr_assert(!lanet_exited(pid) ||
			    atomic_load_explicit(&sh->done, memory_order_acquire),
			    "writer ended early");
			sched_yield();
		}
	}
	lanet_reap(pid, "writer (exit 2x: bad record taken back, 30: damage seen)");
	for (uint64_t seq = 0; seq < LANET_RACE_N; seq++) {
		uint8_t t = atomic_load(&sh->taken[seq]);

		cr_assert_eq(t, 1, "record %" PRIu64 " taken %u times", seq, t);
	}
	writer_took = LANET_RACE_N - p.took;
	cr_assert_eq(p.damaged, 0, "the reader saw damage %" PRIu64 " times", p.damaged);
	cr_log_info("lane race: reader took %" PRIu64 " (lost %" PRIu64 " races), "
	    "writer took %" PRIu64, p.took, p.lost, writer_took);
	free(p.buf);
	munmap(sh, sizeof(*sh));
	seg_detach(&seg);
}

/* Threads version, in rounds, so that it runs under ThreadSanitizer. */
#define LANET_ROUNDS     1500
#define LANET_ROUND_MAX  300

struct lanet_rounds {
	struct seg *seg;
	struct lanet_race *sh;
	pthread_barrier_t start, end;
	struct lanet_party writer;
	uint64_t written;
	int err;
};

static void *
lanet_rounds_writer(void *arg)
{
	struct lanet_rounds *t = arg;
	struct lane_writer w;
	struct lanet_reader r;

	if (lane_lease(t->seg, lanet_me(), &w) == -1) {
		t->err = 99;
		return NULL;
	}
	r.hdr = w.hdr;
	r.data = w.data;
	r.size = w.size;
	for (unsigned round = 0; round < LANET_ROUNDS; round++) {
		unsigned n = 1 + round % LANET_ROUND_MAX;

		for (unsigned k = 0; k < n && t->written < LANET_RACE_N; k++) {
			if (lanet_put(&w, 0, t->written) == -1)
				break;
			t->written++;
		}
		lane_publish(&w);
		pthread_barrier_wait(&t->start);
		while (lane_used(r.hdr) != 0 && t->err == 0)
			t->err = lanet_take(&r, t->sh, &t->writer, 1 + round % 3);
		pthread_barrier_wait(&t->end);
	}
	return NULL;
}

Test(lane, reader_and_writer_thread_taking_back_never_take_one_record_twice, .timeout = TEST_TIMEOUT(60))
{
	struct seg seg;
	struct lanet_rounds t;
	struct lanet_reader r;
	struct lanet_party p = { 0 };
	pthread_t th;
	int err = 0;

	lanet_create(&seg, "racethr", 1, SEG_LANE_SIZE_MIN);
	memset(&t, 0, sizeof(t));
	t.seg = &seg;
	t.sh = calloc(1, sizeof(*t.sh));
	cr_assert_not_null(t.sh);
	t.writer.writer_pid = getpid();
	t.writer.buf = malloc(LANE_MSG_MAX);
	p.writer_pid = getpid();
	p.buf = malloc(LANE_MSG_MAX);
	cr_assert(t.writer.buf != NULL && p.buf != NULL);
	cr_assert_eq(pthread_barrier_init(&t.start, NULL, 2), 0);
	cr_assert_eq(pthread_barrier_init(&t.end, NULL, 2), 0);
	r = lanet_reader(&seg, 0);
	cr_assert_eq(pthread_create(&th, NULL, lanet_rounds_writer, &t), 0);

	for (unsigned round = 0; round < LANET_ROUNDS; round++) {
		pthread_barrier_wait(&t.start);
		while (lane_used(r.hdr) != 0 && err == 0)
			err = lanet_take(&r, t.sh, &p, 4);
		pthread_barrier_wait(&t.end);
		if (err != 0 || t.err != 0)
			break;
	}
	cr_assert_eq(pthread_join(th, NULL), 0);
	cr_assert_eq(err, 0, "reader: %s", lanet_take_error(err));
	cr_assert_eq(t.err, 0, "writer: %s", lanet_take_error(t.err));
	cr_assert_eq(p.damaged + t.writer.damaged, 0);
	cr_assert_eq(p.took + t.writer.took, t.written);
	for (uint64_t seq = 0; seq < t.written; seq++) {
		uint8_t n = atomic_load(&t.sh->taken[seq]);

		cr_assert_eq(n, 1, "record %" PRIu64 " taken %u times", seq, n);
	}
	cr_log_info("lane race (threads): %" PRIu64 " records; reader took %" PRIu64
	    " and lost %" PRIu64 " races, writer took %" PRIu64 " and lost %" PRIu64,
	    t.written, p.took, p.lost, t.writer.took, t.writer.lost);
	pthread_barrier_destroy(&t.start);
	pthread_barrier_destroy(&t.end);
	free(t.writer.buf);
	free(p.buf);
	free(t.sh);
	seg_detach(&seg);
}

/* ---- laneout: batches, drops, and giving up ------------------------------- */

/* laneout_reserve's stop for the tests: counts its calls, says stop. */
static int
lanet_stop(void *arg)
{
	int *calls = arg;

	return ++*calls > 0;
}

/* A laneout on a fresh segment (lanet_open) under the given policy. */
static void
lanet_out(struct seg *seg, const char *tag, uint32_t policy, struct laneout *o,
    struct lanet_reader *r)
{
	char name[SEG_PATH_MAX];
	struct seg_params p = {
		.lane_count = 1, .lane_size = SEG_LANE_SIZE_MIN, .policy = policy,
	};

	snprintf(name, sizeof(name), "/mplog-test-%d-laneout-%s", (int)getpid(), tag);
	cr_assert_eq(seg_create(seg, name, &p), 0, "seg_create: %s", strerror(errno));
	cr_assert_eq(shm_unlink(name), 0);
	memset(o, 0, sizeof(*o));
	cr_assert_eq(lane_lease(seg, lanet_me(), &o->w), 0);
	o->seg = seg;
	*r = lanet_reader(seg, 0);
}

/* Records put through a laneout carry the header given and the message;
 * they become visible a whole batch at a time, or at laneout_publish. */
Test(lane, laneout_publishes_a_full_batch_and_on_request)
{
	struct seg seg;
	struct laneout o;
	struct lanet_reader r;
	struct lane_view v;
	struct lane_rec head = { .source = LANE_SRC_SYSLOG, .pri = 13, .flags = LANE_F_SPLIT,
	    .pid = 4242, .ts_ns = 77, .tid = 4343 };
	uint32_t n = LANEOUT_BATCH + 3;
	struct lane_names nm;

	lane_names_set(&nm, "proc", "id", NULL);

	lanet_out(&seg, "batch", SEG_POLICY_BLOCK, &o, &r);
	for (uint32_t i = 0; i < n; i++) {
		int calls = 0;
		struct lane_rec *rec = laneout_reserve(&o, 4 + lane_names_size(&nm), lanet_stop, &calls);

		cr_assert_not_null(rec);
		head.tid = (int32_t)i;
		laneout_put(&o, rec, &head, "abcd", 4, &nm);
		cr_assert_eq(calls, 0, "stop asked with room left");
	}
	cr_assert_eq(lane_used(r.hdr) > 0, 1, "a full batch is published");
	for (uint32_t i = 0; i < LANEOUT_BATCH; i++) {
		cr_assert_eq(lanet_peek(&r, &v), 1, "record %u", i);
		cr_assert(v.rec.source == LANE_SRC_SYSLOG && v.rec.pri == 13 &&
		    v.rec.flags == LANE_F_SPLIT && v.rec.pid == 4242 && v.rec.ts_ns == 77 &&
		    v.rec.tid == (int32_t)i && v.rec.name_len == 4 && v.rec.ident_len == 2 &&
		    v.msg_len == 4 && memcmp(v.msg, "abcdprocid", 10) == 0, "record %u", i);
		cr_assert_eq(lane_consume(r.hdr, &v), 0);
	}
	cr_assert_eq(lanet_peek(&r, &v), 0, "the last 3 wait for a publication");
	laneout_publish(&o);
	for (uint32_t i = LANEOUT_BATCH; i < n; i++) {
		cr_assert_eq(lanet_peek(&r, &v), 1, "record %u", i);
		cr_assert_eq(v.rec.tid, (int32_t)i);
		cr_assert_eq(lane_consume(r.hdr, &v), 0);
	}
	seg_detach(&seg);
}

/* Under the drop policy a full lane drops and counts without asking to
 * stop; under block it publishes what it holds, asks, and gives up. */
Test(lane, laneout_full_lane_drops_and_counts_or_asks_to_stop)
{
	static char big[LANE_MSG_MAX];
	uint32_t policies[2] = { SEG_POLICY_DROP, SEG_POLICY_BLOCK };

	for (int k = 0; k < 2; k++) {
		struct seg seg;
		struct laneout o;
		struct lanet_reader r;
		struct lane_rec head = { .pid = 1 }, *rec;
		int calls = 0;
		uint32_t put = 0;

		lanet_out(&seg, k ? "block" : "drop", policies[k], &o, &r);
		while ((rec = laneout_reserve(&o, sizeof(big), lanet_stop, &calls)) != NULL) {
			laneout_put(&o, rec, &head, big, sizeof(big), &(struct lane_names){ 0 });
			put++;
		}
		cr_assert(put >= 2, "%u records fit", put);
		if (k == 0) {
			cr_assert_eq(calls, 0, "drop: stop asked");
			cr_assert_eq(atomic_load(&o.w.hdr->drops), 1, "drop: not counted");
			cr_assert_eq(lane_used(r.hdr), 0, "drop: published without a batch");
		} else {
			cr_assert_eq(calls, 1, "block: stop asked %d times", calls);
			cr_assert_eq(atomic_load(&o.w.hdr->drops), 0, "block: counted a drop");
			cr_assert(lane_used(r.hdr) > 0, "block: not published before asking");
		}
		seg_detach(&seg);
	}
}
