/* fdset.c - the set of descriptors that are stderr. */
#include "fdset.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

_Atomic uint64_t fdset_bits[FDSET_MAX / 64];

/* The names of descriptor 2 that need no number. */
static const char *const fdset_names[] = {
	"/dev/stderr", "/dev/fd/2", "/proc/self/fd/2", "/proc/thread-self/fd/2",
};

/* 1 when path is "/proc/PID/fd/2" with PID this process's. */
static int
fdset_proc_pid(const char *path)
{
	long pid = 0;

	if (strncmp(path, "/proc/", 6) != 0)
		return 0;
	path += 6;
	if (*path < '1' || *path > '9')
		return 0;
	for (; *path >= '0' && *path <= '9' && pid < 1L << 31; path++)
		pid = pid * 10 + (*path - '0');
	return strcmp(path, "/fd/2") == 0 &&
	    pid == atomic_load_explicit(&shim.pid, memory_order_relaxed);
}

int
fdset_is_stderr_name(const char *path)
{
	if (path == NULL || path[0] != '/')
		return 0;
	for (size_t i = 0; i < sizeof(fdset_names) / sizeof(fdset_names[0]); i++)
		if (strcmp(path, fdset_names[i]) == 0)
			return 1;
	return fdset_proc_pid(path);
}

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
