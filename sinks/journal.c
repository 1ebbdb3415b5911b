/* journal.c - records in systemd-journald's native protocol. */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "fdio.h"


#define JOURNAL_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL)

/* Append field name with the n-byte value v, in the binary form when v
 * holds a newline. */
static int
journal_field(struct fmt_buf *b, const char *name, const char *v, size_t n)
{
	size_t k = strlen(name);

	if (memchr(v, '\n', n) == NULL)
		return fmt_buf_put(b, name, k) == 0 && fmt_buf_put(b, "=", 1) == 0 &&
		    fmt_buf_put(b, v, n) == 0 && fmt_buf_put(b, "\n", 1) == 0 ? 0 : -1;
	unsigned char le[8];

	for (int i = 0; i < 8; i++)
		le[i] = (unsigned char)((uint64_t)n >> (8 * i));
	return fmt_buf_put(b, name, k) == 0 && fmt_buf_put(b, "\n", 1) == 0 &&
	    fmt_buf_put(b, (const char *)le, sizeof(le)) == 0 && fmt_buf_put(b, v, n) == 0 &&
	    fmt_buf_put(b, "\n", 1) == 0 ? 0 : -1;
}

/* journal_field of a string. */
static int
journal_str(struct fmt_buf *b, const char *name, const char *v)
{
	return journal_field(b, name, v, strlen(v));
}

/* journal_field of a number. */
static int
journal_num(struct fmt_buf *b, const char *name, long long v)
{
	char num[24];

	snprintf(num, sizeof(num), "%lld", v);
	return journal_str(b, name, num);
}

int
journal_format(struct fmt_buf *b, const struct fmt_record *r, int object_pid)
{
	const char *id = r->ident != NULL && r->ident[0] != '\0' ? r->ident : r->proc;
	time_t t = (time_t)(r->ts_ns / 1000000000u);
	size_t len = r->msg_len;
	char ts[64];
	struct tm tm;
	int ok;

	while (len > 0 && r->msg[len - 1] == '\n')
		len--;
	if (gmtime_r(&t, &tm) == NULL)
		return -1;
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    (unsigned)(r->ts_ns % 1000000000u / 1000u));
	ok = journal_field(b, "MESSAGE", r->msg, len) == 0 &&
	    journal_num(b, "PRIORITY", r->severity & 7) == 0 &&
	    journal_num(b, "SYSLOG_FACILITY", r->facility <= 23 ? r->facility : 1) == 0 &&
	    (id[0] == '\0' || journal_str(b, "SYSLOG_IDENTIFIER", id) == 0) &&
	    (r->pid <= 0 || journal_num(b, "SYSLOG_PID", r->pid) == 0) &&
	    (r->tid <= 0 || journal_num(b, "TID", r->tid) == 0) &&
	    journal_str(b, "SYSLOG_TIMESTAMP", ts) == 0 &&
	    journal_num(b, "MPLOG_TIME_USEC", (long long)(r->ts_ns / 1000u)) == 0 &&
	    journal_str(b, "MPLOG_SOURCE", fmt_source_name(r->source)) == 0 &&
	    (r->thread == NULL || journal_str(b, "MPLOG_THREAD", r->thread) == 0) &&
	    (!object_pid || r->pid <= 0 || journal_num(b, "OBJECT_PID", r->pid) == 0);
	return ok ? 0 : -1;
}

/* The entry in a sealed memfd, passed alone. */
static ssize_t
journal_send_memfd(int fd, const struct sockaddr *addr, socklen_t addrlen,
    const char *p, size_t n)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct msghdr mh = { 0 };
	struct cmsghdr *c;
	ssize_t r = -1;
	int mfd = memfd_create("mplog-journal", MFD_CLOEXEC | MFD_ALLOW_SEALING), saved;

	if (mfd == -1)
		return -1;
	if (fdio_write_all(mfd, p, n) == -1 || fcntl(mfd, F_ADD_SEALS, JOURNAL_SEALS) == -1)
		goto out;
	memset(&ctl, 0, sizeof(ctl));
	mh.msg_name = (void *)addr;
	mh.msg_namelen = addrlen;
	mh.msg_control = ctl.buf;
	mh.msg_controllen = sizeof(ctl.buf);
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &mfd, sizeof(int));
	r = sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
out:
	saved = errno;
	close(mfd);
	errno = saved;
	return r;
}

ssize_t
journal_send(int fd, const struct sockaddr *addr, socklen_t addrlen, const char *p, size_t n)
{
	if (n > JOURNAL_DGRAM_MAX)
		return journal_send_memfd(fd, addr, addrlen, p, n);
	return sendto(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL, addr, addrlen);
}
