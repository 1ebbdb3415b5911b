/* segguard.c - repair SIGBUS in a truncated segment, and replace it. */
#include "segguard.h"

#include <err.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

/*
 * The guarded range. segguard_arm stores len, then base with release;
 * the handler loads base with acquire, then len. Both change only in the
 * main thread, while no other thread of mplogd touches the old range
 * (segguard_recover replaces the segment only then).
 */
static _Atomic uintptr_t segguard_base;
static _Atomic size_t segguard_len;
static _Atomic uint64_t segguard_faults;        /* repaired, not yet taken */
static _Atomic size_t segguard_lowest = SIZE_MAX; /* lowest repaired offset */
static size_t segguard_page;
static int segguard_installed;
static size_t segguard_told = SIZE_MAX;         /* lowest offset reported */

/* Give SIGBUS its default action back: the next one kills. */
static void
segguard_default(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
}

/* The SIGBUS handler: repair a fault in the segment, else die of it. */
static void
segguard_on_bus(int sig, siginfo_t *si, void *ctx)
{
	int saved = errno;
	/* Acquire pairs with the release in segguard_arm(): len is base's. */
	uintptr_t base = atomic_load_explicit(&segguard_base, memory_order_acquire);
	size_t len = atomic_load_explicit(&segguard_len, memory_order_relaxed);
	uintptr_t addr = (uintptr_t)si->si_addr, page;
	size_t low;

	(void)ctx;
	if (si->si_code <= 0 || base == 0 || addr < base || addr - base >= len) {
		/* Not a fault in the segment: die of it as before. A fault
		 * happens again when we return; a sent signal is sent again,
		 * and is delivered once we return. */
		segguard_default();
		if (si->si_code <= 0)
			raise(sig);
		errno = saved;
		return;
	}
	page = addr & ~(uintptr_t)(segguard_page - 1);
	if (mmap((void *)page, base + len - page, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED) {
		segguard_default();
		errno = saved;
		return;
	}
	/* Relaxed: published by the release below. */
	low = atomic_load_explicit(&segguard_lowest, memory_order_relaxed);
	while (page - base < low && !atomic_compare_exchange_weak_explicit(&segguard_lowest,
	    &low, page - base, memory_order_relaxed, memory_order_relaxed))
		;
	/* Release pairs with the acquire in segguard_take(): the lowest
	 * offset is stored before the fault counts. */
	atomic_fetch_add_explicit(&segguard_faults, 1, memory_order_release);
	errno = saved;
}

/* Guard [base, base + len), installing the handler the first time. */
int
segguard_arm(void *base, size_t len)
{
	if (!segguard_installed) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = segguard_on_bus;
		sa.sa_flags = SA_SIGINFO;
		sigemptyset(&sa.sa_mask);
		segguard_page = (size_t)sysconf(_SC_PAGESIZE);
		if (sigaction(SIGBUS, &sa, NULL) == -1)
			return -1;
		segguard_installed = 1;
	}
	/* Relaxed: the handler reads them after base, stored with release. */
	atomic_store_explicit(&segguard_faults, 0, memory_order_relaxed);
	atomic_store_explicit(&segguard_lowest, SIZE_MAX, memory_order_relaxed);
	atomic_store_explicit(&segguard_len, len, memory_order_relaxed);
	/* Release pairs with the acquire in segguard_on_bus(). */
	atomic_store_explicit(&segguard_base, (uintptr_t)base, memory_order_release);
	segguard_told = SIZE_MAX;
	return 0;
}

/* Guard nothing from now on. */
void
segguard_disarm(void)
{
	/* Release pairs with the acquire in segguard_on_bus(): from now on
	 * a fault in the old range is not ours. */
	atomic_store_explicit(&segguard_base, 0, memory_order_release);
	/* Relaxed: the handler reads len only with a base it accepted. */
	atomic_store_explicit(&segguard_len, 0, memory_order_relaxed);
}

/* Has a fault been repaired since the last take? */
int
segguard_pending(void)
{
	/* Relaxed: only a hint; segguard_take reads with acquire. */
	return atomic_load_explicit(&segguard_faults, memory_order_relaxed) != 0;
}

/* Take the count of repaired faults and the lowest offset lost. */
uint64_t
segguard_take(size_t *lowest)
{
	/* Acquire pairs with the release in segguard_on_bus(). */
	uint64_t n = atomic_exchange_explicit(&segguard_faults, 0, memory_order_acquire);

	/* Relaxed: ordered after the acquire exchange above. */
	*lowest = atomic_load_explicit(&segguard_lowest, memory_order_relaxed);
	return n;
}

/*
 * The size of our segment now, when name still names it, or SIZE_MAX.
 * Faults come from whichever thread touches the lost part first (the
 * catch-all reader may, in its lane), not from the lowest page: the size
 * says at once where the cut is, so that it is reported once.
 */
static size_t
segguard_size_now(const struct consumer *c, const char *name)
{
	struct stat st;
	int fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0);
	int ok;

	if (fd == -1)
		return SIZE_MAX;
	ok = fstat(fd, &st) == 0 && st.st_dev == c->seg.dev && st.st_ino == c->seg.ino;
	close(fd);
	return ok ? (size_t)st.st_size : SIZE_MAX;
}

/* Report once more of the mapping reads as zeroes, and keep reading it. */
static void
segguard_keep(struct consumer *c, const char *name, size_t lowest)
{
	size_t now = segguard_size_now(c, name);

	if (now < lowest)
		lowest = now;
	if (lowest >= segguard_told)
		return;
	segguard_told = lowest;
	warnx("%s: segment truncated by another process; from byte %zu on it reads as "
	    "zeroes, and mplogd goes on with the rest", name, lowest);
	consumer_note(c, LOG_ERR, "segment %s truncated by another process: from byte %zu "
	    "on it reads as zeroes; records there are lost", name, lowest);
}

/* Report repaired faults, and replace or keep the segment. */
int
segguard_recover(struct consumer *c, const char *name, const struct seg_params *params,
    int replace)
{
	size_t lowest;

	if (segguard_take(&lowest) == 0)
		return 0;
	if (!replace) {
		segguard_keep(c, name, lowest);
		return 0;
	}
	warnx("%s: segment truncated by another process (from byte %zu on); delivering "
	    "what is left, then replacing it", name, lowest);
	consumer_note(c, LOG_ERR, "segment %s truncated by another process (from byte %zu on): "
	    "records there are lost; replacing the segment", name, lowest);
	/* The old mapping stays guarded while what is left is read. */
	if (consumer_replace_segment(c, name, params) == -1) {
		int saved = errno;

		warnx("%s: cannot create a new segment: %s", name, strerror(saved));
		consumer_note(c, LOG_ERR, "segment %s: cannot create a new one: %s", name,
		    strerror(saved));
		errno = saved;
		return -1;
	}
	segguard_disarm();
	if (segguard_arm(c->seg.meta, c->seg.size) == -1)
		warn("%s: cannot guard the new segment against SIGBUS", name);
	warnx("%s: replaced with a new segment; processes attach to it again", name);
	consumer_note(c, LOG_NOTICE, "segment %s replaced with a new one after it was truncated",
	    name);
	return 0;
}
