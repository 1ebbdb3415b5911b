/*
 * test_names.c - the segment's name tables (shm/names.c).
 *
 * Checks that a registered name is looked up again by its id, ids counting
 * from 1; that the same name gets the same id, and the two tables are
 * independent; that names longer than 31 bytes are cut and the cut name is
 * the registered one; that a full table returns 0 yet still finds the
 * names it holds; that a lookup of id 0, an id out of range, an entry not
 * published or a table that does not exist fails with ENOENT and an empty
 * name; that a lookup always returns a terminated name even when the entry
 * was scribbled; and that 8 forked processes registering overlapping sets
 * of names at once leave every name resolvable, every returned id in range
 * and naming what was registered, and no entry half-written, while a
 * ninth looking names up meanwhile never sees a partial one.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "names.h"
#include "seg.h"
#include "timeout.h"

/* A segment of procs and modules name entries, its name already unlinked. */
static void
namest_create(struct seg *seg, const char *tag, uint32_t procs, uint32_t modules)
{
	char name[SEG_PATH_MAX];
	struct seg_params p = {
		.lane_count = 1, .lane_size = SEG_LANE_SIZE_MIN,
		.proc_count = procs, .module_count = modules,
	};

	snprintf(name, sizeof(name), "/mplog-test-%d-names-%s", (int)getpid(), tag);
	cr_assert_eq(seg_create(seg, name, &p), 0, "seg_create %s: %s", name,
	    strerror(errno));
	cr_assert_eq(shm_unlink(name), 0);
}

/* Require that id in table kind names want. */
static void
namest_is(const struct seg *seg, int kind, uint32_t id, const char *want)
{
	char out[SEG_NAME_MAX];

	memset(out, 'Z', sizeof(out));
	cr_assert_eq(names_lookup(seg, kind, id, out), 0, "id %u: %s", id, strerror(errno));
	cr_assert_str_eq(out, want, "id %u", id);
}

/* Require that looking up id in table kind fails with ENOENT, name "". */
static void
namest_none(const struct seg *seg, int kind, uint32_t id, const char *what)
{
	char out[SEG_NAME_MAX];

	memset(out, 'Z', sizeof(out));
	errno = 0;
	cr_assert_eq(names_lookup(seg, kind, id, out), -1, "%s: found", what);
	cr_assert_eq(errno, ENOENT, "%s: errno %s", what, strerror(errno));
	cr_assert_eq(out[0], '\0', "%s: name not emptied", what);
}

Test(names, register_then_lookup_round_trips_with_ids_from_1)
{
	struct seg seg;

	namest_create(&seg, "roundtrip", 8, 8);
	cr_assert_eq(names_register(&seg, NAMES_PROC, "make"), 1);
	cr_assert_eq(names_register(&seg, NAMES_PROC, "cc1"), 2);
	cr_assert_eq(names_register(&seg, NAMES_PROC, "with space"), 3);
	cr_assert_eq(names_register(&seg, NAMES_PROC, ""), 4);
	namest_is(&seg, NAMES_PROC, 1, "make");
	namest_is(&seg, NAMES_PROC, 2, "cc1");
	namest_is(&seg, NAMES_PROC, 3, "with space");
	namest_is(&seg, NAMES_PROC, 4, "");
	namest_none(&seg, NAMES_PROC, 5, "the next, unregistered id");
	seg_detach(&seg);
}

Test(names, same_name_gets_the_same_id_and_tables_are_independent)
{
	struct seg seg;

	namest_create(&seg, "same", 8, 8);
	cr_assert_eq(names_register(&seg, NAMES_MODULE, "sshd"), 1);
	cr_assert_eq(names_register(&seg, NAMES_MODULE, "cron"), 2);
	cr_assert_eq(names_register(&seg, NAMES_MODULE, "sshd"), 1);
	cr_assert_eq(names_register(&seg, NAMES_MODULE, "cron"), 2);
	cr_assert_eq(names_register(&seg, NAMES_MODULE, "Sshd"), 3, "case matters");
	cr_assert_eq(names_register(&seg, NAMES_MODULE, "sshd "), 4, "so does a space");
	/* The process table knows nothing of the module table. */
	namest_none(&seg, NAMES_PROC, 1, "process table");
	cr_assert_eq(names_register(&seg, NAMES_PROC, "cron"), 1);
	cr_assert_eq(names_register(&seg, NAMES_MODULE, "cron"), 2);
	namest_is(&seg, NAMES_PROC, 1, "cron");
	namest_is(&seg, NAMES_MODULE, 1, "sshd");
	seg_detach(&seg);
}

Test(names, long_names_are_cut_to_31_bytes)
{
	static const char n31[] = "abcdefghijklmnopqrstuvwxyz01234";
	static const char n32[] = "abcdefghijklmnopqrstuvwxyz012345";
	static const char n60[] = "abcdefghijklmnopqrstuvwxyz0123456789-and-then-some-more-text";
	static const char other[] = "abcdefghijklmnopqrstuvwxyz0123X";
	struct seg seg;

	cr_assert_eq(strlen(n31), SEG_NAME_MAX - 1);
	namest_create(&seg, "long", 8, 8);
	cr_assert_eq(names_register(&seg, NAMES_PROC, n60), 1);
	namest_is(&seg, NAMES_PROC, 1, n31);
	cr_assert_eq(names_register(&seg, NAMES_PROC, n32), 1, "same first 31 bytes");
	cr_assert_eq(names_register(&seg, NAMES_PROC, n31), 1, "the cut name itself");
	cr_assert_eq(names_register(&seg, NAMES_PROC, other), 2, "differs in byte 31");
	namest_is(&seg, NAMES_PROC, 2, other);
	seg_detach(&seg);
}

Test(names, full_table_returns_0_but_still_finds_its_names)
{
	char name[16];
	struct seg seg;

	namest_create(&seg, "full", 4, 3);
	for (uint32_t i = 1; i <= 4; i++) {
		snprintf(name, sizeof(name), "p%u", i);
		cr_assert_eq(names_register(&seg, NAMES_PROC, name), i);
	}
	cr_assert_eq(names_register(&seg, NAMES_PROC, "one too many"), 0);
	cr_assert_eq(names_register(&seg, NAMES_PROC, "one too many"), 0, "still full");
	for (uint32_t i = 1; i <= 4; i++) {
		snprintf(name, sizeof(name), "p%u", i);
		cr_assert_eq(names_register(&seg, NAMES_PROC, name), i, "%s when full", name);
		namest_is(&seg, NAMES_PROC, i, name);
	}
	namest_none(&seg, NAMES_PROC, 5, "past a full table");
	/* The other table has its own room. */
	cr_assert_eq(names_register(&seg, NAMES_MODULE, "m"), 1);
	seg_detach(&seg);
}

Test(names, lookup_of_0_out_of_range_unpublished_or_no_table_is_enoent)
{
	struct seg seg;
	uint32_t count;
	struct names_entry *tab;

	namest_create(&seg, "enoent", 4, 4);
	namest_none(&seg, NAMES_PROC, 1, "an empty table");
	cr_assert_eq(names_register(&seg, NAMES_PROC, "init"), 1);
	namest_none(&seg, NAMES_PROC, 0, "id 0");
	namest_none(&seg, NAMES_PROC, 5, "one past the table");
	namest_none(&seg, NAMES_PROC, UINT32_MAX, "id 2^32-1");
	namest_none(&seg, 2, 1, "a third table");
	namest_none(&seg, -1, 1, "table -1");
	cr_assert_eq(names_register(&seg, 2, "x"), 0, "register in a third table");

	/* An entry claimed but never published, as a process killed while
	 * writing it leaves it: not found, and skipped by registration. */
	tab = seg_names(&seg, NAMES_PROC, &count);
	cr_assert_eq(count, 4);
	atomic_store(&tab[1].state, NAMES_CLAIMED);
	memcpy(tab[1].name, "half", 5);
	namest_none(&seg, NAMES_PROC, 2, "a claimed entry");
	cr_assert_eq(names_register(&seg, NAMES_PROC, "half"), 3);
	cr_assert_eq(names_register(&seg, NAMES_PROC, "next"), 4);
	namest_is(&seg, NAMES_PROC, 1, "init");
	namest_is(&seg, NAMES_PROC, 3, "half");
	namest_is(&seg, NAMES_PROC, 4, "next");
	seg_detach(&seg);
}

Test(names, lookup_returns_a_terminated_name_from_a_scribbled_entry)
{
	struct seg seg;
	uint32_t count;
	struct names_entry *tab;
	char out[SEG_NAME_MAX + 8];

	namest_create(&seg, "scribbled", 4, 4);
	cr_assert_eq(names_register(&seg, NAMES_MODULE, "fine"), 1);
	tab = seg_names(&seg, NAMES_MODULE, &count);
	memset(tab[0].name, 'A', sizeof(tab[0].name));   /* no NUL at all */
	memset(out, 'Q', sizeof(out));
	cr_assert_eq(names_lookup(&seg, NAMES_MODULE, 1, out), 0);
	cr_assert_eq(strlen(out), SEG_NAME_MAX - 1);
	cr_assert_eq(out[SEG_NAME_MAX], 'Q', "wrote past SEG_NAME_MAX bytes");
	seg_detach(&seg);
}

/* -------------------------------------------------------------------- */
/* Many processes registering at once. */

#define NAMEST_PROCS   8
#define NAMEST_POOL    600
#define NAMEST_EACH    300      /* every name is registered by 4 processes */
#define NAMEST_TABLE   4096     /* room for every name 4 times over */

struct namest_shared {
	_Atomic uint32_t ready;
	_Atomic uint32_t finished;
	_Atomic uint64_t looked_up;     /* by the reader while others registered */
	uint32_t ids[NAMEST_PROCS][NAMEST_POOL][2];     /* two registrations */
};

/* Name i of the pool; every fifth is long and is cut when registered. */
static void
namest_pool_name(uint32_t i, char *buf, size_t len)
{
	if (i % 5 == 0)
		snprintf(buf, len, "long-%03u-name-that-runs-past-31-bytes", i);
	else
		snprintf(buf, len, "n%u", i);
}

/* What registering pool name i stores: at most 31 bytes of it. */
static void
namest_pool_cut(uint32_t i, char out[SEG_NAME_MAX])
{
	char full[64] = { 0 };

	namest_pool_name(i, full, sizeof(full));
	memcpy(out, full, SEG_NAME_MAX - 1);     /* full is NUL-padded */
	out[SEG_NAME_MAX - 1] = '\0';
}

/* Child k: wait for all, then register its share of the pool twice. */
static void __attribute__((noreturn))
namest_child(struct seg *seg, struct namest_shared *sh, uint32_t k)
{
	char name[64];

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	atomic_fetch_add(&sh->ready, 1);
	while (atomic_load(&sh->ready) < NAMEST_PROCS + 1)
		sched_yield();
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t j = 0; j < NAMEST_POOL; j++) {
			/* Each child walks the pool in its own order. */
			uint32_t i = (j * 7 + k * 131 + (uint32_t)pass * 17) % NAMEST_POOL;

			if ((i + k * (NAMEST_POOL / NAMEST_PROCS)) % NAMEST_POOL >= NAMEST_EACH)
				continue;
			namest_pool_name(i, name, sizeof(name));
			sh->ids[k][i][pass] = names_register(seg, NAMES_MODULE, name);
			if (sh->ids[k][i][pass] == 0)
				_exit(1);
		}
	}
	atomic_fetch_add(&sh->finished, 1);
	_exit(0);
}

/* Is name, as looked up, the cut form of a name of the pool? */
static int
namest_in_pool(const char *name)
{
	char want[SEG_NAME_MAX];
	const char *digits = strncmp(name, "long-", 5) == 0 ? name + 5 :
	    name[0] == 'n' ? name + 1 : NULL;
	unsigned long i;

	if (digits == NULL || *digits < '0' || *digits > '9')
		return 0;
	i = strtoul(digits, NULL, 10);
	if (i >= NAMEST_POOL)
		return 0;
	namest_pool_cut((uint32_t)i, want);
	return strcmp(name, want) == 0;
}

/*
 * The reader child: while the others register, look up every id over and
 * over; a published entry must always hold a whole name of the pool. (How
 * much of it overlaps the registrations is up to the scheduler.)
 */
static void __attribute__((noreturn))
namest_reader(struct seg *seg, struct namest_shared *sh)
{
	char out[SEG_NAME_MAX];
	int last;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	atomic_fetch_add(&sh->ready, 1);
	do {
		last = atomic_load(&sh->finished) == NAMEST_PROCS;
		for (uint32_t id = 1; id <= NAMEST_TABLE; id++) {
			if (names_lookup(seg, NAMES_MODULE, id, out) == -1)
				continue;       /* claimed, not yet published */
			if (!namest_in_pool(out))
				_exit(2);
			if (!last)
				atomic_fetch_add(&sh->looked_up, 1);
		}
	} while (!last);
	_exit(0);
}

Test(names, concurrent_registration_from_8_processes_leaves_every_name_resolvable, .timeout = TEST_TIMEOUT(30))
{
	struct seg seg;
	struct namest_shared *sh;
	struct names_entry *tab;
	pid_t pids[NAMEST_PROCS], reader;
	int status;
	uint32_t count, published = 0, covered[NAMEST_POOL] = { 0 };
	char want[SEG_NAME_MAX], out[SEG_NAME_MAX];

	namest_create(&seg, "concurrent", 4, NAMEST_TABLE);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(sh, MAP_FAILED);
	for (uint32_t k = 0; k < NAMEST_PROCS; k++) {
		pids[k] = fork();
		cr_assert_neq(pids[k], -1);
		if (pids[k] == 0)
			namest_child(&seg, sh, k);
	}
	reader = fork();
	cr_assert_neq(reader, -1);
	if (reader == 0)
		namest_reader(&seg, sh);
	for (uint32_t k = 0; k < NAMEST_PROCS; k++) {
		cr_assert_eq(waitpid(pids[k], &status, 0), pids[k]);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "child %u: status %#x (1: the table filled up)", k, status);
	}
	cr_assert_eq(waitpid(reader, &status, 0), reader);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "reader: status %#x (2: a published entry held no whole name)", status);

	/* Every id a child got is in range and names what it registered. */
	for (uint32_t k = 0; k < NAMEST_PROCS; k++) {
		for (uint32_t i = 0; i < NAMEST_POOL; i++) {
			int mine = (i + k * (NAMEST_POOL / NAMEST_PROCS)) % NAMEST_POOL < NAMEST_EACH;

			namest_pool_cut(i, want);
			for (int pass = 0; pass < 2; pass++) {
				uint32_t id = sh->ids[k][i][pass];

				if (!mine) {
					cr_assert_eq(id, 0);
					continue;
				}
				cr_assert(id >= 1 && id <= NAMEST_TABLE, "child %u name %u: id %u",
				    k, i, id);
				cr_assert_eq(names_lookup(&seg, NAMES_MODULE, id, out), 0,
				    "child %u name %u: id %u unpublished", k, i, id);
				cr_assert_str_eq(out, want, "child %u: id %u", k, id);
			}
			covered[i] += mine;
		}
	}
	for (uint32_t i = 0; i < NAMEST_POOL; i++)
		cr_assert_eq(covered[i], NAMEST_EACH * NAMEST_PROCS / NAMEST_POOL);

	/* The table: published entries first, then free ones, none half
	 * written, and each name one of the pool's. */
	tab = seg_names(&seg, NAMES_MODULE, &count);
	cr_assert_eq(count, NAMEST_TABLE);
	for (uint32_t e = 0; e < count; e++) {
		uint32_t st = atomic_load(&tab[e].state);

		if (st == NAMES_FREE)
			break;
		cr_assert_eq(st, NAMES_PUBLISHED, "entry %u left in state %u", e, st);
		published++;
	}
	for (uint32_t e = published; e < count; e++)
		cr_assert_eq(atomic_load(&tab[e].state), NAMES_FREE, "entry %u after a free one", e);
	cr_assert_geq(published, NAMEST_POOL);
	for (uint32_t e = 0; e < published; e++) {
		uint32_t i;

		cr_assert_eq(names_lookup(&seg, NAMES_MODULE, e + 1, out), 0);
		for (i = 0; i < NAMEST_POOL; i++) {
			namest_pool_cut(i, want);
			if (strcmp(out, want) == 0)
				break;
		}
		cr_assert_lt(i, NAMEST_POOL, "entry %u holds '%s', no name of the pool", e, out);
	}

	/* Registering the whole pool again adds nothing: all were found. */
	for (uint32_t i = 0; i < NAMEST_POOL; i++) {
		char name[64];
		uint32_t id;

		namest_pool_name(i, name, sizeof(name));
		namest_pool_cut(i, want);
		id = names_register(&seg, NAMES_MODULE, name);
		cr_assert(id >= 1 && id <= published, "name %u: id %u", i, id);
		namest_is(&seg, NAMES_MODULE, id, want);
	}
	cr_assert_eq(atomic_load(&tab[published].state), NAMES_FREE, "a name was missing");
	cr_log_info("names: %u entries for %u names from %u processes; %llu "
	    "lookups during registration", published, NAMEST_POOL, NAMEST_PROCS,
	    (unsigned long long)atomic_load(&sh->looked_up));
	munmap(sh, sizeof(*sh));
	seg_detach(&seg);
}
