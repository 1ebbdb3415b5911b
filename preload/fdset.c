/* fdset.c - the set of descriptors that are stderr. */
#include "fdset.h"

#include <fcntl.h>
#include <unistd.h>

#include "shim.h"

_Atomic uint64_t fdset_bits[FDSET_MAX / 64];

/* Set fd's bit to on. */
static void
fdset_put(int fd, int on)
{
	uint64_t bit;

	if ((unsigned)fd >= FDSET_MAX || fdset_has(fd) == on || !shim_ours())
		return;
	bit = UINT64_C(1) << (fd % 64);
	/* Relaxed: readers need only the word itself. */
	if (on)
		atomic_fetch_or_explicit(&fdset_bits[fd / 64], bit, memory_order_relaxed);
	else
		atomic_fetch_and_explicit(&fdset_bits[fd / 64], ~bit, memory_order_relaxed);
}

void
fdset_init(void)
{
	if (fcntl(2, F_GETFD) != -1)
		fdset_put(2, 1);
}

void
fdset_copy(int from, int to)
{
	if (from != to)
		fdset_put(to, fdset_has(from));
}

void
fdset_clear(int fd)
{
	fdset_put(fd, 0);
}

void
fdset_clear_range(unsigned first, unsigned last)
{
	for (unsigned fd = first; fd <= last && fd < FDSET_MAX; fd++)
		fdset_put((int)fd, 0);
}

void
fdset_prune(void)
{
	for (int fd = 0; fd < FDSET_MAX; fd++)
		if (fdset_has(fd) && fcntl(fd, F_GETFD) == -1)
			fdset_put(fd, 0);
}
