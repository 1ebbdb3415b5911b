/*
 * plain - a deterministic program whose output must be the same with and
 * without the shim when no mplogd runs, and whose log is known exactly
 * when one does.
 *
 * To stderr, in this order (the message of each record under mplogd in
 * brackets, source stderr unless said otherwise):
 *   write    "plain: one\n"                          [plain: one]
 *   writev   "plain: " "two" "\n"                    [plain: two]
 *   write    "plain: three part", then "ial\n"       [plain: three partial]
 *   write    "plain: four\nplain: five\n"            [plain: four] [plain: five]
 *   syslog   warning "plain: syslog 42 six", openlog("plain-id", LOG_PERROR,
 *            LOG_LOCAL1): glibc copies it to stderr when not captured
 *                                                    [syslog local1 warning plain-id]
 *   syslog   info, masked by setlogmask(LOG_UPTO(LOG_NOTICE)): nowhere
 *   syslog   notice "plain: notice %m" with errno ENOENT
 *                                                    [plain: notice No such file or directory]
 *   closelog, then syslog err "plain: after closelog"
 *                                                    [syslog, ident plain]
 *   write    "plain: errno\n" with errno 1234 set before; checked after
 *   writev   "plain: " "errnov\n" likewise
 *   write    "plain: no newline" (no newline; the last thing written)
 *                                                    [plain: no newline]
 * To stdout (one write each): "plain: stdout\n" at the start, a line
 * starting "FAIL" for any hooked call that returned the wrong value or
 * changed errno, and "plain: done\n" at the end. Exits with status 3.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <syslog.h>
#include <unistd.h>

#define PLAIN_ERRNO  1234
#define PLAIN_STATUS 3

/* A string to stdout in one write. */
static void
plain_out(const char *s)
{
	if (write(1, s, strlen(s)) != (ssize_t)strlen(s))
		_exit(99);
}

/* write(2, s) with errno set to the sentinel first, and both checked. */
static void
plain_write(const char *s)
{
	size_t n = strlen(s);
	ssize_t w;
	char msg[128];

	errno = PLAIN_ERRNO;
	w = write(2, s, n);
	if (w != (ssize_t)n || errno != PLAIN_ERRNO) {
		snprintf(msg, sizeof(msg), "FAIL write %zu bytes: returned %zd, errno %d\n",
		    n, w, errno);
		plain_out(msg);
	}
}

/* writev(2) of the given pieces, checked like plain_write. */
static void
plain_writev(const char *a, const char *b, const char *c)
{
	struct iovec iov[3] = {
		{ (void *)a, strlen(a) }, { (void *)b, strlen(b) }, { (void *)c, strlen(c) },
	};
	size_t n = iov[0].iov_len + iov[1].iov_len + iov[2].iov_len;
	ssize_t w;
	char msg[128];

	errno = PLAIN_ERRNO;
	w = writev(2, iov, 3);
	if (w != (ssize_t)n || errno != PLAIN_ERRNO) {
		snprintf(msg, sizeof(msg), "FAIL writev %zu bytes: returned %zd, errno %d\n",
		    n, w, errno);
		plain_out(msg);
	}
}

int
main(void)
{
	plain_out("plain: stdout\n");
	plain_write("plain: one\n");
	plain_writev("plain: ", "two", "\n");
	plain_write("plain: three part");
	plain_write("ial\n");
	plain_write("plain: four\nplain: five\n");
	openlog("plain-id", LOG_PERROR, LOG_LOCAL1);
	syslog(LOG_WARNING, "plain: syslog %d %s", 42, "six");
	setlogmask(LOG_UPTO(LOG_NOTICE));
	syslog(LOG_INFO, "plain: masked");
	errno = ENOENT;
	syslog(LOG_NOTICE, "plain: notice %m");
	closelog();
	syslog(LOG_ERR, "plain: after closelog");
	plain_write("plain: errno\n");
	plain_writev("plain: ", "errnov", "\n");
	plain_write("plain: no newline");
	plain_out("plain: done\n");
	return PLAIN_STATUS;
}
