/*
 * test_seg.c - the shared segment (shm/seg.c) and process identity
 * (shm/procid.c).
 *
 * Checks that a created segment is attached with the same parameters, that
 * zero parameters take the defaults, and that bad parameters and bad names
 * are EINVAL and create nothing; that creation is exclusive (EEXIST) and
 * attaching to nothing is ENOENT; that the mode is what was asked whatever
 * the umask, never world-accessible; that attaching rejects a foreign magic
 * or layout version (EPROTO), a truncated or grown segment and scribbled
 * sizes or offsets (EBADMSG), a foreign owner and a world-accessible mode,
 * and leaves nothing mapped when it does; that the parts of the segment
 * lie inside it without overlapping, and the geometry an attacher keeps
 * does not follow later scribbles; the consumer's states, heartbeat and
 * existence (a dead or reused pid is not the consumer); that procid reads
 * start times through odd command names, sees zombies as dead and, when
 * /proc cannot tell, a running process as alive; and that
 * a consumer asleep in seg_consumer_sleep is woken by seg_wake_consumer
 * after a publish, from a thread or another process, and otherwise sleeps
 * its full timeout.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lane.h"
#include "procid.h"
#include "seg.h"
#include "timeout.h"

#define SEGT_SEC INT64_C(1000000000)

/* The segment name of the running test; .fini unlinks it. */
static char segt_name[SEG_PATH_MAX];

/* A segment name private to this test process; any leftover is removed. */
static const char *
segt_new_name(const char *tag)
{
	snprintf(segt_name, sizeof(segt_name), "/mplog-test-%d-seg-%s",
	    (int)getpid(), tag);
	shm_unlink(segt_name);
	return segt_name;
}

static void
segt_unlink(void)
{
	if (segt_name[0] != '\0')
		shm_unlink(segt_name);
}

/* Small parameters, distinct enough that a mix-up shows. */
static struct seg_params
segt_params(void)
{
	struct seg_params p = {
		.lane_count = 3, .lane_size = SEG_LANE_SIZE_MIN * 2, .policy = SEG_POLICY_DROP,
		.level = 4, .mode = 0600,
	};

	return p;
}

/* Does /proc/self/maps hold a mapping of the shm object name? */
static int
segt_mapped(const char *name)
{
	char line[4096], path[SEG_PATH_MAX + 16], deleted[SEG_PATH_MAX + 32];
	FILE *f = fopen("/proc/self/maps", "r");
	int found = 0;

	cr_assert_not_null(f);
	snprintf(path, sizeof(path), "/dev/shm%s", name);
	snprintf(deleted, sizeof(deleted), "%s (deleted)", path);
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t n = strcspn(line, "\n");

		line[n] = '\0';
		if ((n >= strlen(path) && strcmp(line + n - strlen(path), path) == 0) ||
		    (n >= strlen(deleted) && strcmp(line + n - strlen(deleted), deleted) == 0))
			found = 1;
	}
	fclose(f);
	return found;
}

/* Mode bits and owner of the shm object name. */
static struct stat
segt_stat(const char *name)
{
	struct stat st;
	int fd = shm_open(name, O_RDONLY, 0);

	cr_assert_neq(fd, -1, "shm_open %s: %s", name, strerror(errno));
	cr_assert_eq(fstat(fd, &st), 0);
	close(fd);
	return st;
}

/* Require that attaching to name fails with errno want, mapping nothing. */
static void
segt_attach_fails(const char *name, int want, const char *what)
{
	struct seg a;
	int got;

	memset(&a, 0, sizeof(a));
	errno = ENOTTY;         /* nothing in seg_attach sets this one */
	got = seg_attach(&a, name);
	cr_assert_eq(got, -1, "%s: attached", what);
	cr_assert_eq(errno, want, "%s: errno %d (%s), not %d (%s)", what, errno,
	    strerror(errno), want, strerror(want));
	cr_assert(!segt_mapped(name), "%s: left mapped", what);
}

Test(seg, create_then_attach_sees_the_same_parameters, .fini = segt_unlink)
{
	const char *name = segt_new_name("same");
	struct seg_params p = segt_params();
	struct seg c, a;

	cr_assert_eq(seg_create(&c, name, &p), 0, "seg_create: %s", strerror(errno));
	cr_assert_eq(seg_attach(&a, name), 0, "seg_attach: %s", strerror(errno));
	cr_assert_neq(a.meta, c.meta, "two mappings");
	cr_assert_eq(a.size, c.size);
	cr_assert_str_eq(a.name, name);
	cr_assert_eq(a.meta->magic, SEG_MAGIC);
	cr_assert_eq(a.meta->layout_version, SEG_LAYOUT_VERSION);
	cr_assert_eq(a.meta->total_size, a.size);
	cr_assert_eq(a.meta->lane_count, 3);
	cr_assert_eq(a.meta->lane_size, SEG_LANE_SIZE_MIN * 2);
	cr_assert_eq(a.meta->policy, SEG_POLICY_DROP);
	cr_assert_eq(a.meta->owner_uid, geteuid());
	cr_assert_eq(a.lane_count, 3);
	cr_assert_eq(a.lane_size, SEG_LANE_SIZE_MIN * 2);
	cr_assert_eq(a.policy, SEG_POLICY_DROP);
	cr_assert_eq(atomic_load(&a.config->level), 4);
	cr_assert_eq(atomic_load(&a.meta->state), SEG_STATE_STARTING);

	/* Both mappings are the same memory, part by part. */
	atomic_store(&seg_lane(&c, 2)->head, 12345);
	cr_assert_eq(atomic_load(&seg_lane(&a, 2)->head), 12345);
	atomic_store(&c.config->level, 6);
	cr_assert_eq(atomic_load(&a.config->level), 6);
	memcpy(seg_lane(&c, 1)->name, "shared", 7);
	cr_assert_str_eq(seg_lane(&a, 1)->name, "shared");
	seg_detach(&a);
	cr_assert_null(a.meta);
	seg_detach(&c);
	cr_assert(!segt_mapped(name));
}

Test(seg, zero_parameters_take_the_defaults, .fini = segt_unlink)
{
	const char *name = segt_new_name("defaults");
	struct seg_params p;
	struct seg c;
	struct stat st;

	memset(&p, 0, sizeof(p));
	cr_assert_eq(seg_create(&c, name, &p), 0, "seg_create: %s", strerror(errno));
	cr_assert_eq(c.meta->lane_count, SEG_LANES_DEFAULT);
	cr_assert_eq(c.meta->lane_size, SEG_LANE_SIZE_DEFAULT);
	cr_assert_eq(c.meta->policy, SEG_POLICY_BLOCK);
	cr_assert_eq(atomic_load(&c.config->level), 0);
	cr_assert_eq(atomic_load(&c.config->mask), SEG_MASK_TID);
	cr_assert_eq(atomic_load(&c.config->version), 0);
	cr_assert_eq(atomic_load(&c.meta->state), SEG_STATE_STARTING);
	cr_assert_eq(atomic_load(&c.meta->consumer_pid), getpid());
	st = segt_stat(name);
	cr_assert_eq(st.st_mode & 07777, 0600);
	cr_assert_eq((uint64_t)st.st_size, c.meta->total_size);
	cr_assert_eq(c.size, c.meta->total_size);
	seg_detach(&c);
}

Test(seg, bad_parameters_are_einval_and_create_nothing, .fini = segt_unlink)
{
	const char *name = segt_new_name("badparams");
	struct {
		const char *what;
		struct seg_params p;
	} bad[] = {
		{ "lane size not a power of two", { .lane_size = 3u << 16 } },
		{ "lane size one short of a power of two", { .lane_size = SEG_LANE_SIZE_MIN * 2 - 8 } },
		{ "lane size under the minimum", { .lane_size = SEG_LANE_SIZE_MIN / 2 } },
		{ "lane size of 8", { .lane_size = 8 } },
		{ "lane size over the maximum", { .lane_size = SEG_LANE_SIZE_MAX * 2u } },
		{ "too many lanes", { .lane_count = SEG_LANES_MAX + 1 } },
		{ "2^32-1 lanes", { .lane_count = UINT32_MAX } },
		{ "unknown policy", { .policy = SEG_POLICY_DROP + 1 } },
		{ "level beyond debug", { .level = 8 } },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct seg c;

		errno = 0;
		cr_assert_eq(seg_create(&c, name, &bad[i].p), -1, "%s: created", bad[i].what);
		cr_assert_eq(errno, EINVAL, "%s: errno %s", bad[i].what, strerror(errno));
		cr_assert_eq(shm_open(name, O_RDONLY, 0), -1, "%s: left a segment", bad[i].what);
		cr_assert_eq(errno, ENOENT);
	}
}

Test(seg, bad_names_are_einval)
{
	char longest[SEG_PATH_MAX], too_long[SEG_PATH_MAX + 1];
	const char *bad[] = { "", "/", "noslash", "/a/b", "/trailing/", "//", too_long };
	struct seg s;

	memset(too_long, 'x', sizeof(too_long) - 1);
	too_long[0] = '/';
	too_long[sizeof(too_long) - 1] = '\0';          /* 64 bytes and a NUL */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct seg_params p = segt_params();

		errno = 0;
		cr_assert_eq(seg_name_valid(bad[i]), 0, "'%s' valid", bad[i]);
		cr_assert_eq(seg_create(&s, bad[i], &p), -1, "created '%s'", bad[i]);
		cr_assert_eq(errno, EINVAL, "create '%s': %s", bad[i], strerror(errno));
		errno = 0;
		cr_assert_eq(seg_attach(&s, bad[i]), -1);
		cr_assert_eq(errno, EINVAL, "attach '%s': %s", bad[i], strerror(errno));
	}

	/* The longest name that fits, NUL included, is fine. */
	snprintf(longest, sizeof(longest), "/mplog-test-%d-seg-", (int)getpid());
	memset(longest + strlen(longest), 'L', sizeof(longest) - 1 - strlen(longest));
	longest[sizeof(longest) - 1] = '\0';
	cr_assert_eq(seg_name_valid(longest), 1);
	struct seg_params p = segt_params();
	shm_unlink(longest);
	cr_assert_eq(seg_create(&s, longest, &p), 0, "63-byte name: %s", strerror(errno));
	cr_assert_str_eq(s.name, longest);
	seg_detach(&s);
	cr_assert_eq(shm_unlink(longest), 0);

	char def[SEG_PATH_MAX], want[SEG_PATH_MAX];
	seg_default_name(def, sizeof(def));
	snprintf(want, sizeof(want), "/mplog-%u", (unsigned)geteuid());
	cr_assert_str_eq(def, want);
	cr_assert_eq(seg_name_valid(def), 1);
}

Test(seg, second_create_is_eexist_and_leaves_the_first_intact, .fini = segt_unlink)
{
	const char *name = segt_new_name("excl");
	struct seg_params p = segt_params(), q = segt_params();
	struct seg c, d, a;

	cr_assert_eq(seg_create(&c, name, &p), 0);
	seg_consumer_start(&c);
	q.lane_count = 9;
	errno = 0;
	cr_assert_eq(seg_create(&d, name, &q), -1);
	cr_assert_eq(errno, EEXIST);
	cr_assert_eq(seg_attach(&a, name), 0, "the first segment: %s", strerror(errno));
	cr_assert_eq(a.lane_count, 3);
	cr_assert_eq(atomic_load(&a.meta->state), SEG_STATE_RUNNING);
	cr_assert_eq(atomic_load(&a.meta->consumer_pid), getpid());
	seg_detach(&a);
	seg_detach(&c);
}

Test(seg, attach_to_a_missing_segment_is_enoent)
{
	segt_attach_fails(segt_new_name("missing"), ENOENT, "missing segment");
}

Test(seg, mode_is_what_was_asked_whatever_the_umask, .fini = segt_unlink)
{
	static const mode_t masks[] = { 0, 0022, 0077, 0777 };
	const char *name = segt_new_name("mode");

	for (size_t i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
		struct seg_params p = segt_params();
		mode_t old = umask(masks[i]);
		struct seg c;
		struct stat st;

		p.mode = 0;
		cr_assert_eq(seg_create(&c, name, &p), 0, "umask %03o: %s",
		    masks[i], strerror(errno));
		umask(old);
		st = segt_stat(name);
		cr_assert_eq(st.st_mode & 07777, 0600, "umask %03o: mode %03o",
		    masks[i], st.st_mode & 07777);
		cr_assert_eq(st.st_uid, geteuid());
		seg_detach(&c);
		cr_assert_eq(shm_unlink(name), 0);

		/* A group segment: the group bits and the group asked for,
		 * never any bit for others. */
		p.mode = 0666;
		p.group = getegid();
		umask(masks[i]);
		cr_assert_eq(seg_create(&c, name, &p), 0, "umask %03o, 0666: %s",
		    masks[i], strerror(errno));
		umask(old);
		st = segt_stat(name);
		cr_assert_eq(st.st_mode & 07777, 0660, "umask %03o: mode %03o for 0666",
		    masks[i], st.st_mode & 07777);
		cr_assert_eq(st.st_gid, getegid());
		seg_detach(&c);
		cr_assert_eq(shm_unlink(name), 0);
	}
}

/* Create a segment, apply scribble to its metadata, and expect want. */
static void
segt_scribbled(const char *what, void (*scribble)(struct seg_meta *), int want)
{
	const char *name = segt_name;
	struct seg_params p = segt_params();
	struct seg_meta saved;
	struct seg c, a;

	cr_assert_eq(seg_create(&c, name, &p), 0, "%s: create: %s", what, strerror(errno));
	memcpy(&saved, c.meta, sizeof(saved));
	scribble(c.meta);
	seg_detach(&c);
	segt_attach_fails(name, want, what);

	/* Undo it, and the same segment attaches: the scribble was the cause. */
	{
		int fd = shm_open(name, O_RDWR, 0);
		void *m;

		cr_assert_neq(fd, -1);
		m = mmap(NULL, sizeof(saved), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		cr_assert_neq(m, MAP_FAILED);
		memcpy(m, &saved, sizeof(saved));
		munmap(m, sizeof(saved));
		close(fd);
	}
	cr_assert_eq(seg_attach(&a, name), 0, "%s: restored: %s", what, strerror(errno));
	seg_detach(&a);
	cr_assert_eq(shm_unlink(name), 0);
}

static void segt_bad_magic(struct seg_meta *m) { m->magic ^= 1; }
static void segt_zero_magic(struct seg_meta *m) { m->magic = 0; }
static void segt_next_version(struct seg_meta *m) { m->layout_version++; }
static void segt_old_version(struct seg_meta *m) { m->layout_version = 0; }
static void segt_meta_size(struct seg_meta *m) { m->meta_size += 64; }
static void segt_total_size(struct seg_meta *m) { m->total_size += 4096; }
static void segt_config_off(struct seg_meta *m) { m->config_off += 64; }
static void segt_lanes_off(struct seg_meta *m) { m->lanes_off += 4096; }
static void segt_lanes_off_huge(struct seg_meta *m) { m->lanes_off = UINT64_MAX - 100; }
static void segt_lane_stride(struct seg_meta *m) { m->lane_stride += 64; }
static void segt_lane_size(struct seg_meta *m) { m->lane_size += 8; }
static void segt_lane_size_half(struct seg_meta *m) { m->lane_size /= 2; }
static void segt_lane_count(struct seg_meta *m) { m->lane_count++; }
static void segt_lane_count_zero(struct seg_meta *m) { m->lane_count = 0; }
static void segt_policy(struct seg_meta *m) { m->policy = 7; }
static void segt_owner(struct seg_meta *m) { m->owner_uid = m->owner_uid + 1; }

Test(seg, attach_rejects_a_foreign_magic_or_layout_version, .fini = segt_unlink)
{
	segt_new_name("proto");
	segt_scribbled("magic off by a bit", segt_bad_magic, EPROTO);
	segt_scribbled("no magic", segt_zero_magic, EPROTO);
	segt_scribbled("next layout version", segt_next_version, EPROTO);
	segt_scribbled("layout version 0", segt_old_version, EPROTO);
}

Test(seg, attach_rejects_scribbled_sizes_and_offsets, .fini = segt_unlink)
{
	static const struct {
		const char *what;
		void (*scribble)(struct seg_meta *);
	} cases[] = {
		{ "meta_size", segt_meta_size },
		{ "total_size", segt_total_size },
		{ "config_off", segt_config_off },
		{ "lanes_off", segt_lanes_off },
		{ "lanes_off near 2^64", segt_lanes_off_huge },
		{ "lane_stride", segt_lane_stride },
		{ "lane_size not a power of two", segt_lane_size },
		{ "lane_size halved", segt_lane_size_half },
		{ "lane_count one more", segt_lane_count },
		{ "lane_count 0", segt_lane_count_zero },
		{ "policy", segt_policy },
		{ "owner_uid", segt_owner },
	};

	segt_new_name("badmsg");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		segt_scribbled(cases[i].what, cases[i].scribble, EBADMSG);
}

Test(seg, attach_rejects_a_truncated_or_grown_segment, .fini = segt_unlink)
{
	const char *name = segt_new_name("resized");
	struct seg_params p = segt_params();
	struct seg c;
	off_t sizes[4];
	int fd;

	cr_assert_eq(seg_create(&c, name, &p), 0);
	sizes[0] = (off_t)c.size - 4096;        /* a lane's tail cut off */
	sizes[1] = (off_t)c.size - 8;
	sizes[2] = (off_t)c.size + 4096;        /* grown */
	sizes[3] = (off_t)sizeof(struct seg_meta);
	seg_detach(&c);
	fd = shm_open(name, O_RDWR, 0);
	cr_assert_neq(fd, -1);
	for (size_t i = 0; i < 4; i++) {
		char what[64];

		snprintf(what, sizeof(what), "size %lld", (long long)sizes[i]);
		cr_assert_eq(ftruncate(fd, sizes[i]), 0);
		segt_attach_fails(name, EBADMSG, what);
	}
	/* Too short to hold even the metadata: not an mplog segment. */
	cr_assert_eq(ftruncate(fd, (off_t)sizeof(struct seg_meta) - 8), 0);
	segt_attach_fails(name, EPROTO, "shorter than the metadata");
	cr_assert_eq(ftruncate(fd, 0), 0);
	segt_attach_fails(name, EPROTO, "empty");
	close(fd);
}

Test(seg, attach_rejects_a_world_accessible_segment, .fini = segt_unlink)
{
	const char *name = segt_new_name("world");
	struct seg_params p = segt_params();
	struct seg c;
	int fd;

	cr_assert_eq(seg_create(&c, name, &p), 0);
	seg_detach(&c);
	fd = shm_open(name, O_RDWR, 0);
	cr_assert_neq(fd, -1);
	cr_assert_eq(fchmod(fd, 0604), 0);
	segt_attach_fails(name, EPERM, "mode 0604");
	cr_assert_eq(fchmod(fd, 0602), 0);
	segt_attach_fails(name, EPERM, "mode 0602");
	cr_assert_eq(fchmod(fd, 0600), 0);
	close(fd);
	cr_assert_eq(seg_attach(&c, name), 0);
	seg_detach(&c);
}

Test(seg, parts_lie_inside_the_segment_without_overlap, .fini = segt_unlink)
{
	const char *name = segt_new_name("parts");
	struct seg_params p = segt_params();
	struct seg c;
	char *base, *end;

	cr_assert_eq(seg_create(&c, name, &p), 0);
	base = (char *)c.meta;
	end = base + c.size;
	cr_assert_geq((char *)c.config, base + sizeof(struct seg_meta));
	cr_assert_leq((char *)c.config + sizeof(struct seg_config), (char *)seg_lane(&c, 0));
	cr_assert_eq((uintptr_t)seg_lane(&c, 0) % 4096, 0, "lanes start on a page");
	for (uint32_t i = 0; i < 3; i++) {
		char *lane = (char *)seg_lane(&c, i);

		cr_assert_eq((uintptr_t)lane % SEG_CACHELINE, 0, "lane %u aligned", i);
		cr_assert_eq(lane + sizeof(struct lane_hdr) + c.lane_size,
		    i + 1 < 3 ? (char *)seg_lane(&c, i + 1) : end,
		    "lane %u does not end where the next part begins", i);
	}
	cr_assert_eq((uintptr_t)c.config % SEG_CACHELINE, 0);
	/* Every byte of the last lane can be written. */
	memset((char *)(seg_lane(&c, 2) + 1), 0xa5, c.lane_size);
	seg_detach(&c);
}

Test(seg, kept_geometry_ignores_later_scribbles, .fini = segt_unlink)
{
	const char *name = segt_new_name("keep");
	struct seg_params p = segt_params();
	struct seg c, a;
	struct lane_hdr *lane2;

	cr_assert_eq(seg_create(&c, name, &p), 0);
	cr_assert_eq(seg_attach(&a, name), 0);
	lane2 = seg_lane(&a, 2);
	c.meta->lane_count = 4000;
	c.meta->lane_size = 1u << 30;
	c.meta->lanes_off = UINT64_C(1) << 40;
	c.meta->lane_stride = 64;
	c.meta->config_off = UINT64_C(1) << 40;
	cr_assert_eq(a.lane_count, 3);
	cr_assert_eq(a.lane_size, SEG_LANE_SIZE_MIN * 2);
	cr_assert_eq(seg_lane(&a, 2), lane2);
	cr_assert((char *)a.config > (char *)a.meta &&
	    (char *)(a.config + 1) < (char *)a.meta + a.size);
	seg_detach(&a);
	seg_detach(&c);
}

Test(seg, consumer_goes_starting_running_closed, .fini = segt_unlink)
{
	const char *name = segt_new_name("states");
	struct seg_params p = segt_params();
	struct seg c, a;

	cr_assert_eq(seg_create(&c, name, &p), 0);
	cr_assert_eq(seg_attach(&a, name), 0);
	cr_assert_eq(atomic_load(&a.meta->state), SEG_STATE_STARTING);
	cr_assert_eq(seg_consumer_live(&a), 0, "live before it starts");
	/* The creator is named from creation on, so a second mplogd takes a
	 * segment still being built for a busy one, not a stale one. */
	cr_assert_eq(seg_consumer_exists(&a), 1, "the creator is named while STARTING");

	seg_consumer_start(&c);
	cr_assert_eq(atomic_load(&a.meta->state), SEG_STATE_RUNNING);
	cr_assert_eq(atomic_load(&a.meta->consumer_pid), getpid());
	cr_assert_eq(atomic_load(&a.meta->consumer_start), procid_start(getpid()));
	cr_assert_neq(atomic_load(&a.meta->consumer_start), 0);
	cr_assert_eq(seg_consumer_live(&a), 1);
	cr_assert_eq(seg_consumer_exists(&a), 1);

	/* A heartbeat older than SEG_STALE_NS: running, but not live. */
	atomic_store(&c.meta->heartbeat_ns, (uint64_t)(seg_now_mono() - SEG_STALE_NS - SEGT_SEC));
	cr_assert_eq(seg_consumer_live(&a), 0, "live with a stale heartbeat");
	cr_assert_eq(seg_consumer_exists(&a), 1);
	seg_heartbeat(&c);
	cr_assert_eq(seg_consumer_live(&a), 1, "a fresh heartbeat");
	cr_assert_leq(atomic_load(&a.meta->heartbeat_ns), (uint64_t)seg_now_mono());

	seg_consumer_close(&c);
	cr_assert_eq(atomic_load(&a.meta->state), SEG_STATE_CLOSED);
	cr_assert_eq(seg_consumer_live(&a), 0);
	cr_assert_eq(atomic_load(&a.meta->consumer_pid), 0);
	cr_assert_eq(seg_consumer_exists(&a), 0);
	seg_heartbeat(&c);
	cr_assert_eq(seg_consumer_live(&a), 0, "a heartbeat does not reopen");
	seg_detach(&a);
	seg_detach(&c);
}

Test(seg, consumer_exists_is_false_for_a_dead_or_reused_pid, .fini = segt_unlink, .timeout = TEST_TIMEOUT(10))
{
	const char *name = segt_new_name("deadpid");
	struct seg_params p = segt_params();
	struct seg c;
	int go[2], status;
	uint64_t start;
	pid_t child;
	char b;

	cr_assert_eq(seg_create(&c, name, &p), 0);
	seg_consumer_start(&c);
	cr_assert_eq(pipe(go), 0);
	child = fork();
	cr_assert_neq(child, -1);
	if (child == 0) {
		close(go[1]);
		_exit(read(go[0], &b, 1) == 0 ? 0 : 1);     /* wait for EOF */
	}
	close(go[0]);
	start = procid_start(child);
	cr_assert_neq(start, 0);
	atomic_store(&c.meta->consumer_pid, child);
	atomic_store(&c.meta->consumer_start, start);
	cr_assert_eq(seg_consumer_exists(&c), 1, "the running child");

	/* Same pid, another start time: the pid was reused. */
	atomic_store(&c.meta->consumer_start, start + 1);
	cr_assert_eq(seg_consumer_exists(&c), 0, "a reused pid");
	atomic_store(&c.meta->consumer_start, start);

	close(go[1]);
	cr_assert_eq(waitpid(child, &status, 0), child);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	cr_assert_eq(seg_consumer_exists(&c), 0, "a dead pid");
	cr_assert_eq(procid_alive(procid_pack(child, start)), 0);
	atomic_store(&c.meta->consumer_pid, -5);
	cr_assert_eq(seg_consumer_exists(&c), 0, "a negative pid");
	seg_detach(&c);
}

Test(procid, start_time_is_read_past_odd_command_names, .timeout = TEST_TIMEOUT(10))
{
	int fds[2];
	pid_t child;
	uint64_t got[2] = { 0, 0 };
	int status;

	cr_assert_eq(pipe(fds), 0);
	child = fork();
	cr_assert_neq(child, -1);
	if (child == 0) {
		uint64_t s[2];

		s[0] = procid_start(getpid());
		prctl(PR_SET_NAME, ") x ) 1 2 (", 0, 0, 0);
		s[1] = procid_start(getpid());
		_exit(write(fds[1], s, sizeof(s)) == sizeof(s) ? 0 : 1);
	}
	close(fds[1]);
	cr_assert_eq(read(fds[0], got, sizeof(got)), (ssize_t)sizeof(got));
	close(fds[0]);
	cr_assert_eq(waitpid(child, &status, 0), child);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	cr_assert_neq(got[0], 0);
	cr_assert_eq(got[1], got[0], "start time moved with the command name");
	cr_assert_eq(procid_start(child), 0, "a reaped child has no start time");
	/* Our own start time is no later than our child's. */
	cr_assert_leq(procid_start(getpid()), got[0]);
}

Test(procid, a_zombie_is_not_alive, .timeout = TEST_TIMEOUT(10))
{
	int fds[2];
	pid_t child;
	uint64_t me, packed;
	char b;
	int status;

	me = procid_pack(getpid(), procid_start(getpid()));
	cr_assert_neq(me, 0);
	cr_assert_eq(procid_pid(me), getpid());
	cr_assert_eq(procid_alive(me), 1);
	cr_assert_eq(procid_alive(0), 0);
	cr_assert_eq(procid_alive(procid_pack(getpid(), procid_start(getpid()) + 1)), 0);

	cr_assert_eq(pipe(fds), 0);
	child = fork();
	cr_assert_neq(child, -1);
	if (child == 0) {
		close(fds[0]);
		_exit(0);       /* closes fds[1]: our EOF */
	}
	close(fds[1]);
	packed = procid_pack(child, procid_start(child));
	cr_assert_eq(read(fds[0], &b, 1), 0);
	close(fds[0]);
	/* Exited, not yet reaped: wait for the zombie state, not for time. */
	siginfo_t si;
	cr_assert_eq(waitid(P_PID, (id_t)child, &si, WEXITED | WNOWAIT), 0);
	cr_assert_eq(procid_alive(packed), 0, "a zombie counted as alive");
	cr_assert_eq(waitpid(child, &status, 0), child);
	cr_assert_eq(procid_alive(packed), 0);
}

/* In a child with /proc hidden: what procid says; the exit status is the answer. */
static void __attribute__((noreturn))
segt_procless_child(void)
{
	pid_t gone;
	int status;

	/* Private first, so the mount below never reaches the host. */
	if (unshare(CLONE_NEWNS) == -1 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1 ||
	    mount("none", "/proc", "tmpfs", 0, NULL) == -1)
		_exit(77);
	if (procid_start(getpid()) != 0)
		_exit(1);       /* /proc is not hidden after all */
	if (procid_alive(procid_pack(getpid(), 12345)) != 1)
		_exit(2);       /* running, start time unknown: alive */
	gone = fork();
	if (gone == 0)
		_exit(0);
	if (gone == -1 || waitpid(gone, &status, 0) != gone)
		_exit(3);
	if (procid_alive(procid_pack(gone, 0)) != 0)
		_exit(4);       /* no such pid: dead, /proc or not */
	_exit(0);
}

Test(procid, a_running_process_is_alive_when_proc_cannot_tell, .timeout = TEST_TIMEOUT(10))
{
	pid_t child = fork();
	int status;

	cr_assert_neq(child, -1);
	if (child == 0)
		segt_procless_child();
	cr_assert_eq(waitpid(child, &status, 0), child);
	cr_assert(WIFEXITED(status), "signal %d", WTERMSIG(status));
	if (WEXITSTATUS(status) == 77)
		cr_skip_test("cannot hide /proc here (needs CAP_SYS_ADMIN)");
	cr_assert_eq(WEXITSTATUS(status), 0, "check %d failed (2: a running "
	    "process said dead, 4: a dead one said alive)", WEXITSTATUS(status));
}

/* -------------------------------------------------------------------- */
/* Sleeping and waking the consumer. */

/* A consumer thread: reads lane 0, sleeping when it is empty. */
struct segt_sleeper {
	struct seg *seg;
	_Atomic pid_t tid;
	_Atomic uint32_t seen;      /* records consumed */
	_Atomic uint32_t stop;
	int bad;
};

/* seg_consumer_sleep's test: a record in lane 0, or told to stop. */
static int
segt_pending(void *arg)
{
	struct segt_sleeper *s = arg;

	return atomic_load(&s->stop) != 0 || lane_used(seg_lane(s->seg, 0)) != 0;
}

static void *
segt_sleeper_main(void *arg)
{
	struct segt_sleeper *s = arg;
	struct lane_hdr *hdr = seg_lane(s->seg, 0);
	struct lane_view v;

	atomic_store(&s->tid, (pid_t)syscall(SYS_gettid));
	while (atomic_load(&s->stop) == 0) {
		int got = lane_peek(hdr, (const char *)(hdr + 1), s->seg->lane_size, &v);

		if (got == 1) {
			if (v.rec.ts_ns != atomic_load(&s->seen) || lane_consume(hdr, &v) != 0)
				s->bad = 1;
			atomic_fetch_add(&s->seen, 1);
			continue;
		}
		if (got == -1)
			s->bad = 1;
		/* Longer than the test's timeout: only a wake-up ends it. */
		seg_consumer_sleep(s->seg, 60 * SEGT_SEC, segt_pending, s);
	}
	return NULL;
}

/* State letter of thread tid of process pid, from /proc; '?' if unknown. */
static char
segt_task_state(pid_t pid, pid_t tid)
{
	char path[96], buf[512];
	const char *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	fd = open(path, O_RDONLY);
	if (fd == -1)
		return '?';
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return '?';
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p != NULL && p[1] == ' ' ? p[2] : '?';
}

/* Wait until the consumer of seg (thread tid of pid) is asleep in the futex. */
static void
segt_wait_asleep(struct seg *seg, pid_t pid, pid_t tid)
{
	while (atomic_load(&seg->config->sleeping) == 0 || segt_task_state(pid, tid) != 'S')
		sched_yield();
}

/* Publish one record with ts_ns = seq into w and wake the consumer. */
static void
segt_publish(struct seg *seg, struct lane_writer *w, uint64_t seq)
{
	struct lane_rec *rec = lane_reserve(w, 8);

	cr_assert_not_null(rec);
	rec->ts_ns = seq;
	memcpy(lane_rec_msg(rec), "wake up!", 8);
	lane_commit(w, rec);
	lane_publish(w);
	seg_wake_consumer(seg);
}

Test(seg, sleeping_consumer_is_woken_by_a_publish, .fini = segt_unlink, .timeout = TEST_TIMEOUT(20))
{
	const char *name = segt_new_name("wake");
	struct seg_params p = segt_params();
	struct segt_sleeper s;
	struct lane_writer w;
	struct seg c;
	pthread_t th;

	cr_assert_eq(seg_create(&c, name, &p), 0);
	seg_consumer_start(&c);
	cr_assert_eq(lane_lease(&c, procid_pack(getpid(), 1), &w), 0);
	memset(&s, 0, sizeof(s));
	s.seg = &c;
	cr_assert_eq(pthread_create(&th, NULL, segt_sleeper_main, &s), 0);
	while (atomic_load(&s.tid) == 0)
		sched_yield();

	for (uint32_t round = 0; round < 50; round++) {
		uint32_t wake = atomic_load(&c.config->wake);

		segt_wait_asleep(&c, getpid(), atomic_load(&s.tid));
		segt_publish(&c, &w, round);
		cr_assert_neq(atomic_load(&c.config->wake), wake, "round %u: no wake-up", round);
		while (atomic_load(&s.seen) != round + 1)
			sched_yield();
	}
	/* Also a wake-up that finds the consumer not yet in the futex. */
	for (uint32_t round = 50; round < 2000; round++) {
		segt_publish(&c, &w, round);
		while (atomic_load(&s.seen) != round + 1)
			sched_yield();
	}
	atomic_store(&s.stop, 1);
	seg_wake_consumer(&c);
	cr_assert_eq(pthread_join(th, NULL), 0);
	cr_assert_eq(s.bad, 0, "the consumer saw a wrong record");
	cr_assert_eq(atomic_load(&c.config->sleeping), 0);
	seg_detach(&c);
}

Test(seg, sleeping_consumer_is_woken_from_another_process, .fini = segt_unlink, .timeout = TEST_TIMEOUT(20))
{
	const char *name = segt_new_name("wakeproc");
	struct seg_params p = segt_params();
	struct segt_sleeper s;
	struct seg c;
	pid_t parent = getpid(), tid = (pid_t)syscall(SYS_gettid), child;
	int status;

	cr_assert_eq(seg_create(&c, name, &p), 0);
	seg_consumer_start(&c);
	memset(&s, 0, sizeof(s));
	s.seg = &c;
	child = fork();
	cr_assert_neq(child, -1);
	if (child == 0) {
		/* A producer of its own attachment, waking us 20 times. */
		struct seg a;
		struct lane_writer w;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (seg_attach(&a, name) == -1 ||
		    lane_lease(&a, procid_pack(getpid(), procid_start(getpid())), &w) == -1)
			_exit(1);
		for (uint32_t round = 0; round < 20; round++) {
			struct lane_rec *rec;

			segt_wait_asleep(&a, parent, tid);
			if ((rec = lane_reserve(&w, 0)) == NULL)
				_exit(2);
			rec->ts_ns = round;
			lane_commit(&w, rec);
			lane_publish(&w);
			seg_wake_consumer(&a);
			/* Wait until the parent took it, so it sleeps anew. */
			while (lane_used(w.hdr) != 0)
				sched_yield();
		}
		_exit(0);
	}
	/* This thread is the consumer: the child watches its state. */
	s.tid = tid;
	while (atomic_load(&s.seen) < 20 && s.bad == 0) {
		struct lane_hdr *hdr = seg_lane(&c, 0);
		struct lane_view v;
		int got = lane_peek(hdr, (const char *)(hdr + 1), c.lane_size, &v);

		if (got == 1) {
			cr_assert_eq(v.rec.ts_ns, atomic_load(&s.seen));
			cr_assert_eq(lane_consume(hdr, &v), 0);
			atomic_fetch_add(&s.seen, 1);
			continue;
		}
		cr_assert_eq(got, 0);
		seg_consumer_sleep(&c, 60 * SEGT_SEC, segt_pending, &s);
	}
	cr_assert_eq(waitpid(child, &status, 0), child);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "producer failed");
	seg_detach(&c);
}

static int
segt_always(void *arg)
{
	(void)arg;
	return 1;
}

static int
segt_never(void *arg)
{
	(void)arg;
	return 0;
}

Test(seg, consumer_does_not_sleep_when_work_is_pending, .fini = segt_unlink, .timeout = TEST_TIMEOUT(10))
{
	const char *name = segt_new_name("pending");
	struct seg_params p = segt_params();
	struct seg c;

	cr_assert_eq(seg_create(&c, name, &p), 0);
	/* A minute's sleep would outlast the test's timeout. */
	for (int i = 0; i < 1000; i++)
		seg_consumer_sleep(&c, 60 * SEGT_SEC, segt_always, NULL);
	cr_assert_eq(atomic_load(&c.config->sleeping), 0);
	seg_detach(&c);
}

Test(seg, consumer_sleeps_its_timeout_when_nobody_wakes_it, .fini = segt_unlink, .timeout = TEST_TIMEOUT(10))
{
	const char *name = segt_new_name("timeout");
	struct seg_params p = segt_params();
	struct seg c;
	int64_t t0, slept;
	uint32_t wake;

	cr_assert_eq(seg_create(&c, name, &p), 0);
	wake = atomic_load(&c.config->wake);
	seg_wake_consumer(&c);
	cr_assert_eq(atomic_load(&c.config->wake), wake, "woke nobody, yet counted");
	t0 = seg_now_mono();
	seg_consumer_sleep(&c, 50 * 1000000LL, segt_never, NULL);
	slept = seg_now_mono() - t0;
	/* A futex wait never times out early; only an upper bound is loose. */
	cr_assert_geq(slept, 50 * 1000000LL, "slept only %lld ns", (long long)slept);
	cr_assert_eq(atomic_load(&c.config->sleeping), 0);
	cr_assert_eq(atomic_load(&c.config->wake), wake);
	seg_detach(&c);
}

/*
 * An exiting mplogd unlinks its segment's name only while the name still
 * refers to its own object: a newer mplogd that replaced it keeps its.
 */
Test(seg, unlink_own_leaves_a_replacement_alone, .fini = segt_unlink)
{
	const char *name = segt_new_name("replaced");
	struct seg_params p = segt_params();
	struct seg old, new;

	cr_assert_eq(seg_create(&old, name, &p), 0);
	cr_assert_eq(shm_unlink(name), 0);
	cr_assert_eq(seg_create(&new, name, &p), 0);
	errno = 0;
	cr_assert_eq(seg_unlink_own(&old), -1);
	cr_assert_eq(errno, ESTALE);
	cr_assert_eq(seg_attach(&old, name), 0, "the replacement is still there");
	cr_assert_eq(seg_unlink_own(&new), 0);
	cr_assert_eq(seg_attach(&old, name), -1);
	cr_assert_eq(errno, ENOENT);
}
