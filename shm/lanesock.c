/* lanesock.c - the handshake that hands a process its lane (lanesock.h). */
#include "lanesock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lane.h"

int
lanesock_addr(const char *path, struct sockaddr_un *a, socklen_t *len)
{
	size_t n = strlen(path);

	if (n < 2 || n >= sizeof(a->sun_path)) {
		errno = EINVAL;
		return -1;
	}
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	memcpy(a->sun_path, path, n);
	if (path[0] == '@')
		a->sun_path[0] = '\0';  /* abstract: the length says where it ends */
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] != '@'));
	return 0;
}

void
lanesock_instance_path(const char *shm, char *buf, size_t len)
{
	snprintf(buf, len, "@mplog%s", shm);
}

int
lanesock_send(int fd, const void *buf, size_t len, const int *fds, int nfds)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * LANESOCK_FDS)];
	} c;
	struct iovec iov = { (void *)buf, len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (nfds < 0 || nfds > LANESOCK_FDS) {
		errno = EINVAL;
		return -1;
	}
	if (nfds > 0) {
		memset(&c, 0, sizeof(c));
		m.msg_control = c.b;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		c.h.cmsg_level = SOL_SOCKET;
		c.h.cmsg_type = SCM_RIGHTS;
		c.h.cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(&c.h), fds, sizeof(int) * (size_t)nfds);
	}
	return sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)len ? 0 : -1;
}

/* Collect the descriptors of m's SCM_RIGHTS messages into fds, closing
 * those past LANESOCK_FDS; -1 when any was past it. */
static int
lanesock_take_fds(struct msghdr *m, int *fds, int *nfds)
{
	int over = 0;

	*nfds = 0;
	for (struct cmsghdr *h = CMSG_FIRSTHDR(m); h != NULL; h = CMSG_NXTHDR(m, h)) {
		if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof(fd));
			if (*nfds < LANESOCK_FDS) {
				fds[(*nfds)++] = fd;
			} else {
				close(fd);
				over = 1;
			}
		}
	}
	return over ? -1 : 0;
}

ssize_t
lanesock_recv(int fd, void *buf, size_t len, int *fds, int *nfds)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * LANESOCK_FDS)];
	} c;
	struct iovec iov = { buf, len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.b,
	    .msg_controllen = sizeof(c.b) };
	ssize_t n = recvmsg(fd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

	*nfds = 0;
	if (n == -1)
		return -1;
	if (lanesock_take_fds(&m, fds, nfds) == -1 || (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		for (int i = 0; i < *nfds; i++)
			close(fds[i]);
		*nfds = 0;
		errno = EMSGSIZE;
		return -1;
	}
	return n;
}

int
lanesock_hello_check(const void *buf, size_t len)
{
	struct lanesock_hello h;

	if (len != sizeof(h))
		return EPROTO;
	memcpy(&h, buf, sizeof(h));
	if (h.magic != LANESOCK_MAGIC || h.version != LANESOCK_VERSION ||
	    (h.flags & ~LANESOCK_F_STATUS) != 0 || h.reserved != 0)
		return EPROTO;
	return 0;
}

/* Connect to path; the socket, or -1. The listener must be root or us. */
static int
lanesock_connect(const char *path)
{
	struct sockaddr_un a;
	struct ucred cred;
	socklen_t len, clen = sizeof(cred);
	int fd, saved;

	if (lanesock_addr(path, &a, &len) == -1)
		return -1;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, len) == -1)
		goto fail;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == -1)
		goto fail;
	if (cred.uid != 0 && cred.uid != geteuid()) {
		errno = EPERM;
		goto fail;
	}
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* Send a hello with flags on fd and wait, bounded, for the reply and its
 * want fds. */
static int
lanesock_exchange(int fd, uint32_t flags, int want, struct lanesock_reply *r,
    int fds[LANESOCK_FDS])
{
	struct lanesock_hello h = { .magic = LANESOCK_MAGIC, .version = LANESOCK_VERSION,
	    .flags = flags };
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int nfds, got;
	ssize_t n;

	if (lanesock_send(fd, &h, sizeof(h), NULL, 0) == -1)
		return -1;
	while ((got = poll(&p, 1, (int)(LANESOCK_REPLY_NS / 1000000))) == -1 && errno == EINTR)
		;
	if (got == 0)
		errno = ETIMEDOUT;
	if (got <= 0 || (n = lanesock_recv(fd, r, sizeof(*r), fds, &nfds)) == -1)
		return -1;
	if (n != (ssize_t)sizeof(*r) || r->magic != LANESOCK_MAGIC ||
	    r->version != LANESOCK_VERSION || (r->status == 0 && nfds != want)) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		errno = EPROTO;
		return -1;
	}
	if (r->status != 0) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		errno = r->status > 0 ? r->status : EPROTO;
		return -1;
	}
	return 0;
}

/* Map fd read-write if it is a memfd of exactly size bytes that can no
 * longer shrink or grow; NULL with errno otherwise. */
static void *
lanesock_map_sealed(int fd, size_t size)
{
	struct stat st;
	int seals = fcntl(fd, F_GET_SEALS);
	void *p;

	if (seals == -1 || (seals & LANESOCK_SEALS) != LANESOCK_SEALS ||
	    fstat(fd, &st) == -1 || (size_t)st.st_size != size) {
		errno = EBADMSG;
		return NULL;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* Map the three handed pages into seg; -1 with errno. */
static int
lanesock_map(struct seg *seg, const struct lanesock_reply *r, const int fds[LANESOCK_FDS])
{
	size_t lane_len = sizeof(struct lane_hdr) + (size_t)r->lane_size;
	struct lanesock_wake *wake = NULL;
	struct lane_hdr *lane = NULL;
	int saved;

	if (seg_ctl_attach(seg, fds[0]) == -1)
		return -1;
	if (seg->size < LANESOCK_ALIVE_OFF + sizeof(uint32_t)) {
		seg_detach(seg);
		errno = EBADMSG;
		return -1;
	}
	if (seg->lane_size != r->lane_size ||
	    (wake = lanesock_map_sealed(fds[1], LANESOCK_WAKE_SIZE)) == NULL ||
	    (lane = lanesock_map_sealed(fds[2], lane_len)) == NULL) {
		saved = seg->lane_size != r->lane_size ? EBADMSG : errno;
		if (wake != NULL)
			munmap(wake, LANESOCK_WAKE_SIZE);
		seg_detach(seg);
		errno = saved;
		return -1;
	}
	seg->wake = &wake->word;
	seg->own_lane = lane;
	seg->alive = (const _Atomic uint32_t *)((const char *)seg->meta + LANESOCK_ALIVE_OFF);
	return 0;
}

int
lanesock_attach(struct seg *seg, const char *path)
{
	struct lanesock_reply r;
	int fds[LANESOCK_FDS];
	int fd = lanesock_connect(path), rc = -1, saved;

	if (fd == -1)
		return -1;
	if (lanesock_exchange(fd, 0, LANESOCK_FDS, &r, fds) == 0) {
		rc = lanesock_map(seg, &r, fds);
		saved = errno;
		for (int i = 0; i < LANESOCK_FDS; i++)
			close(fds[i]);
		errno = saved;
	}
	saved = errno;
	close(fd);
	errno = saved;
	if (rc == 0)
		snprintf(seg->name, sizeof(seg->name), "%s", path);
	return rc;
}

void
lanesock_detach(struct seg *seg)
{
	if (seg->own_lane != NULL)
		munmap(seg->own_lane, sizeof(struct lane_hdr) + (size_t)seg->lane_size);
	if (seg->wake != NULL && seg->meta != NULL && seg->wake != &seg->config->wake)
		munmap((void *)seg->wake, LANESOCK_WAKE_SIZE);
	seg->own_lane = NULL;
	seg->wake = NULL;
	seg_detach(seg);
}

/* Read the status memfd fd into a malloc'd array. */
static int
lanesock_read_stats(int fd, struct lanesock_stat **out, size_t *n)
{
	struct stat st;
	void *p;

	if (fstat(fd, &st) == -1)
		return -1;
	if (st.st_size % (off_t)sizeof(**out) != 0 ||
	    st.st_size > (off_t)(LANESOCK_STATS_MAX * sizeof(**out))) {
		errno = EBADMSG;
		return -1;
	}
	*n = (size_t)st.st_size / sizeof(**out);
	*out = malloc(*n > 0 ? (size_t)st.st_size : 1);
	if (*out == NULL)
		return -1;
	if (*n == 0)
		return 0;
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		free(*out);
		return -1;
	}
	memcpy(*out, p, (size_t)st.st_size);
	munmap(p, (size_t)st.st_size);
	return 0;
}

int
lanesock_status(const char *path, struct lanesock_stat **out, size_t *n)
{
	struct lanesock_reply r;
	int fds[LANESOCK_FDS];
	int fd = lanesock_connect(path), rc = -1, saved;

	if (fd == -1)
		return -1;
	if (lanesock_exchange(fd, LANESOCK_F_STATUS, 1, &r, fds) == 0) {
		rc = lanesock_read_stats(fds[0], out, n);
		saved = errno;
		close(fds[0]);
		errno = saved;
	}
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}
