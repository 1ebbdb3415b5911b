/*
 * lanefeed_seed.c - write the fuzz target's inputs made from real lanes.
 *
 *   lanefeed-seed CORPUS REGRESS
 *
 * CORPUS gets the seed corpus: lanes written with lane_reserve,
 * lane_names_put, lane_commit and lane_publish, as the shim writes them
 * (every geometry from the smallest ring to 1 MiB, wrapped rings with a PAD, stderr and syslog records, split lines,
 * escapes and UTF-8). REGRESS gets the hostile cases the test suite
 * replays, each a real lane with one thing made wrong, named gen-*: absurd
 * record sizes, name lengths past the maximum or the record, head far
 * past or behind tail, names with NULs and bytes that are not UTF-8,
 * out-of-range header fields, a PAD in the wrong place, a misaligned
 * tail. Inputs the fuzzer found are kept there too, under
 * other names. Exits 0, or 1 with a message when a file cannot be written.
 */
#include <err.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lanefeed.h"
#include "snap.h"

/* One record written as the shim writes it. */
struct seed_rec {
	const char *msg;
	size_t len;             /* 0: strlen(msg) */
	uint8_t source, pri, flags;
	const char *proc, *ident;
};

static const char *seed_dir;
static const char *seed_snap_dir;      /* raw snapshots go there too */
static int seed_nsnaps;

/* Write n bytes as file name of dir. */
static void
seed_file(const char *dir, const char *name, const uint8_t *data, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "wb")) == NULL || fwrite(data, 1, n, f) != n || fclose(f) != 0)
		err(1, "%s", path);
}

/* The name of the i-th raw snapshot, in a static buffer. */
static const char *
seed_snap_name(int i)
{
	static char name[64];

	snprintf(name, sizeof(name), "snap-%02d", i);
	return name;
}

/* Write the nb built lanes, one section each, as input name in seed_dir. */
static void
seed_write_lanes(const struct lanefeed_build *b, size_t nb, const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", seed_dir, name);
	if ((f = fopen(path, "wb")) == NULL)
		err(1, "%s", path);
	for (size_t i = 0; i < nb; i++) {
		size_t n;
		uint8_t *in = lanefeed_pack(&b[i], &n);

		if (in == NULL || fwrite(in, 1, n, f) != n)
			err(1, "%s", path);
		free(in);
	}
	if (fclose(f) != 0)
		err(1, "%s", path);
}

/* Write the built lane as input name in seed_dir. */
static void
seed_write(const struct lanefeed_build *b, const char *name)
{
	seed_write_lanes(b, 1, name);
}

/* Reserve, fill and commit one record; its header, still writable, or
 * NULL when the lane is full. */
static struct lane_rec *
seed_try_put(struct lanefeed_build *b, const struct seed_rec *r, uint64_t ts)
{
	size_t len = r->len != 0 ? r->len : strlen(r->msg);
	struct lane_names nm;
	struct lane_rec *rec;

	lane_names_set(&nm, r->proc, r->ident, NULL);
	rec = lane_reserve(&b->w, (uint32_t)len + lane_names_size(&nm));

	if (rec == NULL)
		return NULL;
	rec->source = r->source;
	rec->pri = r->pri;
	rec->flags = r->flags;
	rec->pid = 4242;
	rec->ts_ns = ts;
	rec->tid = 4243;
	memcpy(lane_rec_msg(rec), r->msg, len);
	lane_names_put(rec, (uint32_t)len, &nm);
	lane_commit(&b->w, rec);
	return rec;
}

/* seed_try_put, where the record must fit. */
static struct lane_rec *
seed_put(struct lanefeed_build *b, const struct seed_rec *r, uint64_t ts)
{
	struct lane_rec *rec = seed_try_put(b, r, ts);

	if (rec == NULL)
		errx(1, "a record does not fit in its seed lane");
	return rec;
}

/* A lane of 1 << shift bytes from tail on. */
static void
seed_open(struct lanefeed_build *b, uint32_t shift, uint64_t tail)
{
	if (lanefeed_build_open(b, shift, tail) == -1)
		err(1, "lane of shift %u", shift);
}

#define SEED_RING (UINT64_C(1) << 18)  /* the smallest lane, seeds' ring */
#define SEED_P1 "demo"
#define SEED_P2 "build-worker"
#define SEED_I1 "demo-worker"
#define SEED_I2 "cron\xc3\xa9"

static const struct seed_rec seed_lines[] = {
	{ "worker 2 counter: opening the till", 0, 0, 1 << 3 | 6, 0, SEED_P1, NULL },
	{ "oven: flour is running low", 0, 1, 1 << 3 | 4, 0, SEED_P1, SEED_I1 },
	{ "tab\there, escape \x1b[31mred\x1b[0m, backslash \\", 0, 0, 1 << 3 | 3, 0, SEED_P2, NULL },
	{ "caf\xc3\xa9 \xe2\x80\xae bidi \xc2\x9b csi \xff\xfe bad", 0, 1, 16 << 3 | 2, 0, SEED_P2, SEED_I2 },
	{ "nul\0inside", 11, 0, 1 << 3 | 6, 0, SEED_P1, NULL },
	{ "first piece of a long line", 0, 0, 1 << 3 | 6, LANE_F_SPLIT, SEED_P1, NULL },
	{ "mplog: 3 lines dropped: queue full", 0, 2, 1 << 3 | 4, 0, NULL, NULL },
	{ "Traceback (most recent call last):\n  File \"x\", line 1\n\n\x1b[2JError: x", 0, 0,
	  1 << 3 | 3, LANE_F_MULTI, SEED_P1, NULL },
};
#define SEED_NLINES (sizeof(seed_lines) / sizeof(seed_lines[0]))

/* A syslog record of printf-style call fmt, as the shim sends it: a
 * snapshot (shm/snap.h) with its format copied in, for mplogd to format. */
static void
seed_snap(struct lanefeed_build *b, uint64_t ts, const char *fmt, ...)
{
	char snap[4096];
	struct lane_names nm;
	struct lane_rec *rec;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = snap_take(snap, sizeof(snap), fmt, 0, ENOENT, ap, NULL);
	va_end(ap);
	if (n < 0)
		errx(1, "no snapshot of \"%s\"", fmt);
	seed_file(seed_snap_dir, seed_snap_name(seed_nsnaps++), (const uint8_t *)snap,
	    (size_t)n);
	lane_names_set(&nm, SEED_P1, SEED_I2, NULL);
	if ((rec = lane_reserve(&b->w, (uint32_t)n + lane_names_size(&nm))) == NULL)
		errx(1, "a snapshot does not fit in its seed lane");
	rec->source = LANE_SRC_SYSLOG;
	rec->pri = 3 << 3 | 5;
	rec->flags = LANE_F_SNAP;
	rec->pid = 4242;
	rec->ts_ns = ts;
	rec->tid = 4243;
	memcpy(lane_rec_msg(rec), snap, (size_t)n);
	lane_names_put(rec, (uint32_t)n, &nm);
	lane_commit(&b->w, rec);
}

/* Snapshots of every conversion snap_take takes, with flags, widths,
 * precisions, lengths and positions. */
static void
seed_snaps(void)
{
	struct lanefeed_build b;
	uint64_t ts = UINT64_C(1795000000000000000);

	seed_open(&b, 18, 4096);
	seed_snap(&b, ts++, "ints %d %i %u %o %x %X %c %%", -42, 7, 42u, 8u, 255u, 255u, 'z');
	seed_snap(&b, ts++, "lengths %hhd %hd %ld %lld %jd %zu %td %hhu %lu",
	    (signed char)-1, (short)-2, -3L, -4LL, (intmax_t)-5, (size_t)6, (ptrdiff_t)7,
	    (unsigned char)200, 9UL);
	seed_snap(&b, ts++, "flags [%-6d] [%+d] [% d] [%#o] [%#x] [%06d] [%-+8.3d]",
	    1, 2, 3, 8u, 255u, 4, 5);
	seed_snap(&b, ts++, "stars [%*d] [%-*d] [%.*s] [%*.*s]", 6, 1, 6, 2, 3, "abcdef",
	    8, 2, "xyz");
	seed_snap(&b, ts++, "floats %f %e %E %g %G %a %A %.3f %10.2e %Lf", 3.25, 1e-9,
	    2e300, 0.0001, 1e20, 1.5, -2.5, 2.0 / 3, 12345.678, (long double)1.25);
	seed_snap(&b, ts++, "strings [%s] [%10s] [%-10s] [%.2s] [%s]", "plain", "right",
	    "left", "cut", "caf\xc3\xa9 \x1b[31m");
	seed_snap(&b, ts++, "pointer %p and null %p", (void *)(uintptr_t)0x7ffd1234, (void *)NULL);
	seed_snap(&b, ts++, "errno %m, then %d", 5);
	seed_snap(&b, ts++, "positions %2$s %1$d %3$c", 10, "two", 'c');
	seed_snap(&b, ts++, "no conversion at all, a newline\n");
	lane_publish(&b.w);
	seed_write(&b, "seed-snapshots");
	lanefeed_build_close(&b);
}

/* What a command writes to the catch-all socket: severity, write size,
 * bytes (tests/fuzz/lanefeed.h, lanefeed_catchall). */
static void
seed_catchall(void)
{
#define SEED_IN(name, bytes) { name, bytes, sizeof(bytes) - 1 }
	static const struct { const char *name; const char *bytes; size_t len; } in[] = {
		SEED_IN("lines", "\x06\x00one line\nanother line\n"),
		SEED_IN("prefixed", "\x06\x01<3>an error\n<7>debug\n<x>not a prefix\n"),
		SEED_IN("unfinished", "\x04\x00no newline at the end"),
		SEED_IN("one-byte-writes", "\x06\x00w\nr\ni\nt\ne\ns\n"),
		SEED_IN("escapes", "\x06\x02tab\there \x1b[31mred\x1b[0m caf\xc3\xa9 \xff\n"),
		SEED_IN("empty-lines", "\x06\x00\n\n\nafter three empty\n"),
		SEED_IN("nul", "\x06\x00nul\0inside\n"),
	};
#undef SEED_IN

	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		seed_file(seed_dir, in[i].name, (const uint8_t *)in[i].bytes, in[i].len);
}

/* Three lanes whose records interleave in time: the merge orders them;
 * once with the rate limit on. */
static void
seed_lanes(void)
{
	struct lanefeed_build b[3];
	uint64_t ts = UINT64_C(1795000000000000000);

	for (int rate = 0; rate < 2; rate++) {
		for (uint32_t l = 0; l < 3; l++) {
			seed_open(&b[l], 18, (uint64_t)l * 4096 * 5 + 64 * l);
			for (uint32_t i = 0; i < SEED_NLINES; i++)
				seed_put(&b[l], &seed_lines[(i + l) % SEED_NLINES], ts + 3 * i + l);
			lane_publish(&b[l].w);
		}
		b[1].flags = LANEFEED_HELD;
		b[0].flags = rate ? LANEFEED_RATE : LANEFEED_DRAIN;
		seed_write_lanes(b, 3, rate ? "seed-three-lanes-rate-limited" : "seed-three-lanes");
		for (uint32_t l = 0; l < 3; l++)
			lanefeed_build_close(&b[l]);
	}
}

/* The real lanes of the seed corpus. */
static void
seed_corpus(void)
{
	struct lanefeed_build b;
	uint64_t ts = UINT64_C(1795000000000000000);
	char big[8192];

	seed_open(&b, 18, 3 * 4096 + 128);
	for (size_t i = 0; i < SEED_NLINES; i++)
		seed_put(&b, &seed_lines[i], ts + i);
	lane_publish(&b.w);
	seed_write(&b, "seed-mixed");
	lanefeed_build_close(&b);

	/* Near the end of the ring: the second record goes after a PAD. */
	seed_open(&b, 18, 8 * SEED_RING - 48);
	for (size_t i = 0; i < 3; i++)
		seed_put(&b, &seed_lines[i], ts + i);
	lane_publish(&b.w);
	seed_write(&b, "seed-wrapped");
	lanefeed_build_close(&b);

	seed_open(&b, 19, 64 * 1000);
	seed_put(&b, &(struct seed_rec){ "tiny ring record", 0, 0, 14, 0, SEED_P1, NULL }, ts);
	lane_publish(&b.w);
	seed_write(&b, "seed-512k-one-record");
	lanefeed_build_close(&b);

	seed_open(&b, 18, 0);
	for (size_t i = 0; i < SEED_RING / 32; i++)
		if (seed_try_put(&b, &seed_lines[i % 3], ts + i) == NULL)
			break;
	lane_publish(&b.w);
	seed_write(&b, "seed-full");
	lanefeed_build_close(&b);

	/* The real geometries: the smallest lane mplogd makes, and 1 MiB. */
	seed_open(&b, 18, (UINT64_C(1) << 18) * 11 - 40);
	for (size_t i = 0; i < SEED_NLINES; i++)
		seed_put(&b, &seed_lines[SEED_NLINES - 1 - i], ts + i);
	lane_publish(&b.w);
	seed_write(&b, "seed-syslog-256k");
	lanefeed_build_close(&b);

	seed_open(&b, 20, 5 * 8);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	seed_put(&b, &(struct seed_rec){ big, sizeof(big), 0, 14, LANE_F_SPLIT, SEED_P2, NULL }, ts);
	seed_put(&b, &(struct seed_rec){ "end of the long line", 0, 0, 14, 0, SEED_P2, NULL }, ts + 1);
	lane_publish(&b.w);
	seed_write(&b, "seed-long-1m");
	lanefeed_build_close(&b);

	/* Committed but unpublished records: the reader sees none. */
	seed_open(&b, 18, 4096);
	seed_put(&b, &seed_lines[0], ts);
	lane_publish(&b.w);
	seed_put(&b, &seed_lines[1], ts + 1);
	seed_write(&b, "seed-unpublished-tail");
	lanefeed_build_close(&b);

	seed_open(&b, 18, 0);
	seed_write(&b, "seed-empty");
	lanefeed_build_close(&b);
}

/* A real lane of three records; the second one's header in *mid. */
static void
seed_three(struct lanefeed_build *b, struct lane_rec **mid)
{
	seed_open(b, 18, 2 * 4096 + 256);
	seed_put(b, &seed_lines[0], 1);
	*mid = seed_put(b, &seed_lines[1], 2);
	seed_put(b, &seed_lines[2], 3);
}

/* Set the published head, whatever the records say. */
static void
seed_head_at(struct lanefeed_build *b, uint64_t head)
{
	/* Relaxed: the builder's own lane. */
	atomic_store_explicit(&b->hdr->head, head, memory_order_relaxed);
}

/* The hostile cases the test suite replays. */
static void
seed_regress(void)
{
	struct lanefeed_build b;
	struct lane_rec *mid;

	static const uint32_t sizes[] = { 0, 8, 31, 33, (uint32_t)LANE_REC_MAX + 1,
	    UINT32_MAX, UINT32_MAX - 7, 4096 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char name[64];

		seed_three(&b, &mid);
		mid->size = sizes[i];
		lane_publish(&b.w);
		snprintf(name, sizeof(name), "gen-record-size-%u", sizes[i]);
		seed_write(&b, name);
		lanefeed_build_close(&b);
	}

	/* Names longer than a name may be: damage. */
	seed_three(&b, &mid);
	mid->name_len = LANE_NAME_MAX + 1;
	lane_publish(&b.w);
	seed_write(&b, "gen-name-length-past-the-maximum");
	lanefeed_build_close(&b);

	/* Names of the longest length, longer than what the record holds
	 * after its header: damage. */
	seed_three(&b, &mid);
	mid->name_len = LANE_NAME_MAX;
	mid->ident_len = LANE_NAME_MAX;
	mid->size = (uint32_t)sizeof(*mid) + LANE_NAME_MAX;
	lane_publish(&b.w);
	seed_write(&b, "gen-names-longer-than-the-record");
	lanefeed_build_close(&b);

	/* Names of NULs and bytes that are not UTF-8: read, escaped. */
	seed_three(&b, &mid);
	memset(lane_rec_msg(mid) + mid->size - sizeof(*mid) - mid->name_len - mid->ident_len,
	    0xff, mid->name_len);
	lane_rec_msg(mid)[mid->size - sizeof(*mid) - 1] = '\0';
	lane_publish(&b.w);
	seed_write(&b, "gen-names-with-nul-and-bad-bytes");
	lanefeed_build_close(&b);

	seed_three(&b, &mid);
	mid->source = 0xff;
	mid->pri = 0xff;
	mid->flags = 0xff;
	mid->pid = INT32_MIN;
	mid->tid = -1;
	mid->ts_ns = UINT64_MAX;
	lane_publish(&b.w);
	seed_write(&b, "gen-header-fields-out-of-range");
	lanefeed_build_close(&b);

	seed_three(&b, &mid);
	lane_publish(&b.w);
	seed_head_at(&b, b.w.head + (UINT64_C(1) << 40));
	seed_write(&b, "gen-head-far-past-tail");
	lanefeed_build_close(&b);

	seed_three(&b, &mid);
	lane_publish(&b.w);
	seed_head_at(&b, 2 * 4096 + 256 - 64);
	seed_write(&b, "gen-head-behind-tail");
	lanefeed_build_close(&b);

	seed_three(&b, &mid);
	lane_publish(&b.w);
	seed_head_at(&b, b.w.head - 4);
	seed_write(&b, "gen-head-inside-a-record");
	lanefeed_build_close(&b);

	seed_three(&b, &mid);
	mid->type = LANE_REC_PAD;
	lane_publish(&b.w);
	seed_write(&b, "gen-pad-in-the-middle");
	lanefeed_build_close(&b);

	seed_three(&b, &mid);
	mid->type = 0;
	lane_publish(&b.w);
	seed_write(&b, "gen-record-of-type-0");
	lanefeed_build_close(&b);

	/* Reading side states: records claimed by a dead holder but not
	 * delivered (done behind tail: read again after seizing, even all
	 * of them with nothing published since), the same
	 * lane still held (not read again), and done past tail and head. */
	seed_three(&b, &mid);
	lane_publish(&b.w);
	/* Relaxed: the builder's own lane. */
	atomic_store_explicit(&b.hdr->tail,
	    2 * 4096 + 256 + lane_rec_span((uint32_t)(strlen(seed_lines[0].msg) +
	    strlen(seed_lines[0].proc))), memory_order_relaxed);
	seed_write(&b, "gen-claimed-not-delivered");
	/* All of them claimed, none delivered, nothing published since. */
	uint64_t claimed = atomic_load_explicit(&b.hdr->tail, memory_order_relaxed);
	atomic_store_explicit(&b.hdr->tail, b.w.head, memory_order_relaxed);
	seed_write(&b, "gen-all-claimed-none-delivered");
	atomic_store_explicit(&b.hdr->tail, claimed, memory_order_relaxed);
	atomic_store_explicit(&b.hdr->reader, LANEFEED_ME, memory_order_relaxed);
	seed_write(&b, "gen-claimed-not-delivered-held");
	atomic_store_explicit(&b.hdr->reader, 0, memory_order_relaxed);
	atomic_store_explicit(&b.hdr->done, b.w.head + 4096, memory_order_relaxed);
	seed_write(&b, "gen-done-past-head");
	lanefeed_build_close(&b);

	/* A LOG record that fits what is published but runs past the end
	 * of the ring (a writer puts a PAD there instead). */
	if (lanefeed_build_open(&b, 18, 3 * SEED_RING - 32) == -1)
		err(1, "lane past the end");
	mid = (struct lane_rec *)(b.w.data + SEED_RING - 32);
	mid->size = 64;
	mid->type = LANE_REC_LOG;
	seed_head_at(&b, 3 * SEED_RING + 32);
	seed_write(&b, "gen-record-past-the-ring-end");
	lanefeed_build_close(&b);

	/* A tail that is not 8-byte aligned. */
	if (lanefeed_build_open(&b, 18, 4096 + 3) == -1)
		err(1, "misaligned lane");
	seed_put(&b, &seed_lines[0], 1);
	lane_publish(&b.w);
	seed_write(&b, "gen-misaligned-tail");
	lanefeed_build_close(&b);

	/* A record header in the last 8 bytes of the ring, where only a PAD
	 * fits: the PAD before a wrapped record made a LOG record. */
	if (lanefeed_build_open(&b, 18, SEED_RING - 8) == -1)
		err(1, "lane at the end");
	seed_put(&b, &(struct seed_rec){ "x", 0, 0, 14, 0, NULL, NULL }, 1);
	lane_publish(&b.w);
	((struct lane_rec *)(b.w.data + SEED_RING - 8))->type = LANE_REC_LOG;
	seed_write(&b, "gen-header-across-the-end");
	lanefeed_build_close(&b);
}

int
main(int argc, char **argv)
{
	if (argc != 5)
		errx(2, "usage: lanefeed-seed CORPUS REGRESS SNAPS CATCHALL");
	seed_dir = argv[1];
	seed_snap_dir = argv[3];
	seed_corpus();
	seed_snaps();
	seed_lanes();
	seed_dir = argv[2];
	seed_regress();
	seed_dir = argv[4];
	seed_catchall();
	return 0;
}
