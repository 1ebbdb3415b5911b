/* fdset.c - the sets of descriptors that are stderr and stdout. */
#include "fdset.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

_Atomic uint64_t fdset_bits[FDSET_STREAMS][FDSET_MAX / 64];

/* The names of descriptors 2 and 1 that need no process id. */
static const struct {
	const char *name;
	int fd;
} fdset_names[] = {
	{ "/dev/stderr", 2 }, { "/dev/fd/2", 2 }, { "/proc/self/fd/2", 2 },
	{ "/proc/thread-self/fd/2", 2 },
	{ "/dev/stdout", 1 }, { "/dev/fd/1", 1 }, { "/proc/self/fd/1", 1 },
	{ "/proc/thread-self/fd/1", 1 },
};

/* 2 or 1 when path is "/proc/PID/fd/2" or "/proc/PID/fd/1" with PID this
 * process's, else -1. */
static int
fdset_proc_pid(const char *path)
{
	long pid = 0;

	if (strncmp(path, "/proc/", 6) != 0)
		return -1;
	path += 6;
	if (*path < '1' || *path > '9')
		return -1;
	for (; *path >= '0' && *path <= '9' && pid < 1L << 31; path++)
		pid = pid * 10 + (*path - '0');
	if (pid != atomic_load_explicit(&shim.pid, memory_order_relaxed))
		return -1;
	return strcmp(path, "/fd/2") == 0 ? 2 : strcmp(path, "/fd/1") == 0 ? 1 : -1;
}

int
fdset_std_name(const char *path)
{
	if (path == NULL || path[0] != '/')
		return -1;
	for (size_t i = 0; i < sizeof(fdset_names) / sizeof(fdset_names[0]); i++)
		if (strcmp(path, fdset_names[i].name) == 0)
			return fdset_names[i].fd;
	return fdset_proc_pid(path);
}

/* Set fd's bit of stream s to on. */
static void
fdset_put(int fd, int s, int on)
{
	uint64_t bit;

	if ((unsigned)fd >= FDSET_MAX || fdset_is(fd, s) == on || !shim_ours())
		return;
	bit = UINT64_C(1) << (fd % 64);
	/* Relaxed: readers need only the word itself. */
	if (on)
		atomic_fetch_or_explicit(&fdset_bits[s][fd / 64], bit, memory_order_relaxed);
	else
		atomic_fetch_and_explicit(&fdset_bits[s][fd / 64], ~bit, memory_order_relaxed);
}

void
fdset_init(int out)
{
	if (fcntl(2, F_GETFD) != -1)
		fdset_put(2, FDSET_ERR, 1);
	if (out && fcntl(1, F_GETFD) != -1)
		fdset_put(1, FDSET_OUT, 1);
}

void
fdset_copy(int from, int to)
{
	if (from == to)
		return;
	for (int s = 0; s < FDSET_STREAMS; s++)
		fdset_put(to, s, fdset_is(from, s));
}

void
fdset_clear(int fd)
{
	for (int s = 0; s < FDSET_STREAMS; s++)
		fdset_put(fd, s, 0);
}

void
fdset_clear_range(unsigned first, unsigned last)
{
	for (unsigned fd = first; fd <= last && fd < FDSET_MAX; fd++)
		fdset_clear((int)fd);
}

void
fdset_prune(void)
{
	for (int fd = 0; fd < FDSET_MAX; fd++)
		if ((fdset_is(fd, FDSET_ERR) || fdset_is(fd, FDSET_OUT)) &&
		    fcntl(fd, F_GETFD) == -1)
			fdset_clear(fd);
}
