/* procid.c - process identity from /proc, robust against pid reuse. */
#include "procid.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * Read /proc/PID/stat into buf and return a pointer just past the ")" that
 * closes the command name (which may itself hold spaces and parentheses).
 */
static const char *
procid_stat_fields(pid_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return NULL;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	char *close_paren = strrchr(buf, ')');
	return close_paren == NULL ? NULL : close_paren + 1;
}

uint64_t
procid_start(pid_t pid)
{
	char buf[1024];
	const char *p = procid_stat_fields(pid, buf, sizeof(buf));

	if (p == NULL)
		return 0;
	/* After ")" come fields 3 (state) .. ; start time is field 22. */
	for (int field = 3; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (p == NULL)
			return 0;
	}
	return strtoull(p + 1, NULL, 10);
}

pid_t
procid_parent(pid_t pid)
{
	char buf[1024];
	const char *p = procid_stat_fields(pid, buf, sizeof(buf));

	/* After ")" come field 3 (state), then 4 (the parent's pid). */
	if (p == NULL || (p = strchr(p + 1, ' ')) == NULL)
		return 0;
	return (pid_t)strtol(p + 1, NULL, 10);
}

uint64_t
procid_pack(pid_t pid, uint64_t start)
{
	/* Start time is kept modulo 2^32 ticks (over a year at 100 Hz). */
	return ((uint64_t)(uint32_t)pid << 32) | (uint32_t)start;
}

pid_t
procid_pid(uint64_t packed)
{
	return (pid_t)(packed >> 32);
}

int
procid_alive(uint64_t packed)
{
	pid_t pid = procid_pid(packed);
	char buf[1024];
	const char *p;

	if (pid <= 0)
		return 0;
	if (kill(pid, 0) == -1 && errno == ESRCH)
		return 0;
	p = procid_stat_fields(pid, buf, sizeof(buf));
	if (p == NULL) {
		/* No /proc, or hidepid hides another user's process: the pid
		 * exists but its start time cannot be read. Say alive: taking
		 * a running process's lane away would put two writers on it;
		 * keeping a dead one's costs a lane until the pid is gone. */
		return kill(pid, 0) == 0 || errno == EPERM;
	}
	if (p[0] == ' ' && (p[1] == 'Z' || p[1] == 'X'))
		return 0;
	return procid_pack(pid, procid_start(pid)) == packed;
}

int
procid_exists(uint64_t packed)
{
	pid_t pid = procid_pid(packed);

	return pid > 0 && (kill(pid, 0) == 0 || errno != ESRCH);
}

int
procid_comm(pid_t pid, char *out, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	if (pid <= 0 || len < 2)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, out, len - 1);
	close(fd);
	if (n <= 0)
		return -1;
	if (out[n - 1] == '\n')
		n--;
	out[n] = '\0';
	return 0;
}
