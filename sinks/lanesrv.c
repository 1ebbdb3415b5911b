/* lanesrv.c - hand every process that asks a lane of its own (lanesrv.h). */
#include "lanesrv.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fdio.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77         /* Linux 6.5 */
#endif

/* What an epoll event is about: the kind in the high bits, an index in
 * the low ones. */
#define LANESRV_EV_LISTEN  (UINT64_C(1) << 32)
#define LANESRV_EV_STOP    (UINT64_C(2) << 32)
#define LANESRV_EV_PENDING (UINT64_C(3) << 32)
#define LANESRV_EV_PIDFD   (UINT64_C(4) << 32)
#define LANESRV_EV_KIND    (UINT64_C(0xffffffff) << 32)

/* A sealed memfd of size bytes, mapped read-write into *map. */
static int
lanesrv_memfd(const char *name, size_t size, unsigned seals, void **map)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	void *p;

	if (fd == -1)
		return -1;
	if (ftruncate(fd, (off_t)size) == -1 ||
	    (p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	if (fcntl(fd, F_ADD_SEALS, seals) == -1) {
		int saved = errno;

		munmap(p, size);
		close(fd);
		errno = saved;
		return -1;
	}
	*map = p;
	return fd;
}

#ifdef __GLIBC__
_Static_assert(offsetof(pthread_mutex_t, __data.__lock) == 0,
    "the robust futex word comes first in a pthread mutex");
#endif
_Static_assert(LANESOCK_ALIVE_OFF + sizeof(pthread_mutex_t) <= 4096,
    "the alive mutex fits in the control page");

/* Lock the robust mutex of the control page, for the life of this
 * process (lanesock.h): its death marks the word. */
static int
lanesrv_hold_alive(struct lanesrv *s)
{
	pthread_mutex_t *m = (pthread_mutex_t *)((char *)s->ctl.meta + LANESOCK_ALIVE_OFF);
	pthread_mutexattr_t a;
	int rc;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	rc = pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
	if (rc == 0 && (rc = pthread_mutex_lock(m)) == 0) {
		s->alive = m;
		return 0;
	}
	errno = rc;
	return -1;
}

/* The control page and the wake page. */
static int
lanesrv_pages(struct lanesrv *s, const struct seg *seg)
{
	void *wake;

	s->ctl_fd = memfd_create("mplog-control", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (s->ctl_fd == -1 || seg_ctl_create(&s->ctl, s->ctl_fd, seg) == -1 ||
	    lanesrv_hold_alive(s) == -1 ||
	    fcntl(s->ctl_fd, F_ADD_SEALS, LANESOCK_SEALS | F_SEAL_FUTURE_WRITE) == -1)
		return -1;
	s->wake_fd = lanesrv_memfd("mplog-wake", LANESOCK_WAKE_SIZE, LANESOCK_SEALS, &wake);
	if (s->wake_fd == -1)
		return -1;
	s->wake = wake;
	s->ctl.wake = &s->wake->word;
	return 0;
}

/* Is something listening at path? (Then it is not ours to replace.) */
static int
lanesrv_in_use(const struct sockaddr_un *a, socklen_t len)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	int used;

	if (fd == -1)
		return 0;
	used = connect(fd, (const struct sockaddr *)a, len) == 0;
	close(fd);
	return used;
}

/* Make path's directory when it is missing (/run/mplog), 0755. */
static void
lanesrv_mkdir(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0755);
	}
}

/* Bind and listen on path; a stale socket file left by a dead mplogd is
 * replaced. */
static int
lanesrv_listen(struct lanesrv *s, const char *path, mode_t mode)
{
	struct sockaddr_un a;
	socklen_t len;

	if (lanesock_addr(path, &a, &len) == -1)
		return -1;
	s->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->listen_fd == -1)
		return -1;
	if (path[0] != '@') {
		struct stat st;

		if (lanesrv_in_use(&a, len)) {
			errno = EADDRINUSE;
			return -1;
		}
		lanesrv_mkdir(path);
		if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(path);
	}
	if (bind(s->listen_fd, (struct sockaddr *)&a, len) == -1 ||
	    (path[0] != '@' && chmod(path, mode) == -1) ||
	    listen(s->listen_fd, LANESRV_BACKLOG) == -1)
		return -1;
	snprintf(s->path, sizeof(s->path), "%s", path);
	return 0;
}

static int
lanesrv_watch(struct lanesrv *s, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	return epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev);
}

static void *lanesrv_main(void *arg);
static void lanesrv_fill_pool(struct lanesrv *s);

int
lanesrv_open(struct lanesrv *s, const char *path, mode_t mode, const struct seg *seg,
    uint32_t per_uid, const struct lanesrv_who *who)
{
	sigset_t all, old;
	int rc;

	memset(s, 0, sizeof(*s));
	s->who = *who;
	s->ctl_fd = s->wake_fd = s->listen_fd = s->ep = s->stop_fd = -1;
	s->lane_size = seg->lane_size;
	s->per_uid = per_uid != 0 ? per_uid : LANESRV_PER_UID_DEFAULT;
	for (int i = 0; i < LANESRV_PENDING_MAX; i++)
		s->pending[i].fd = -1;
	pthread_mutex_init(&s->refusal_lock, NULL);
	s->lanes = calloc(LANESRV_LANES_MAX, sizeof(*s->lanes));
	if (s->lanes == NULL || lanesrv_pages(s, seg) == -1 ||
	    lanesrv_listen(s, path, mode) == -1 ||
	    (s->ep = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    (s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1 ||
	    lanesrv_watch(s, s->listen_fd, LANESRV_EV_LISTEN) == -1 ||
	    lanesrv_watch(s, s->stop_fd, LANESRV_EV_STOP) == -1)
		goto fail;
	s->listening = 1;
	lanesrv_fill_pool(s);
	/* The thread takes no signal: mplogd's main thread handles them. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&s->thread, NULL, lanesrv_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		errno = rc;
		goto fail;
	}
	s->started = 1;
	return 0;
fail:
	rc = errno;
	lanesrv_close(s);
	errno = rc;
	return -1;
}

/* Count a refusal of a lane to the peer pid, uid, for why. */
static void
lanesrv_refuse(struct lanesrv *s, pid_t pid, uid_t uid, int why)
{
	pthread_mutex_lock(&s->refusal_lock);
	s->refusal.count++;
	s->refusal.pid = pid;
	s->refusal.uid = uid;
	s->refusal.why = why;
	pthread_mutex_unlock(&s->refusal_lock);
	/* Release pairs with the acquire in lanesrv_refused(). */
	atomic_fetch_add_explicit(&s->refused, 1, memory_order_release);
	seg_wake_consumer(&s->ctl);
}

uint64_t
lanesrv_refused(struct lanesrv *s)
{
	return atomic_load_explicit(&s->refused, memory_order_acquire);
}

struct lanesrv_refusal
lanesrv_refusals(struct lanesrv *s)
{
	struct lanesrv_refusal r;

	pthread_mutex_lock(&s->refusal_lock);
	r = s->refusal;
	pthread_mutex_unlock(&s->refusal_lock);
	return r;
}

/* The peer of lane i has exited. */
static void lanesrv_exited(struct lanesrv *s, uint32_t i);

/* Has the peer of live lane i exited, though we may not have read the
 * event yet? (Then it is GONE now.) */
static int
lanesrv_peer_exited(struct lanesrv *s, uint32_t i)
{
	struct pollfd p = { .fd = s->lanes[i].pidfd, .events = POLLIN };

	if (poll(&p, 1, 0) != 1)
		return 0;
	lanesrv_exited(s, i);
	return 1;
}

/*
 * A free lane for a peer of uid, after marking GONE the lanes of a
 * previous image of pid (it exec'd); its index, or -1 with the errno to
 * refuse with: EDQUOT the user's live processes hold per_uid lanes,
 * EAGAIN none is free.
 */
static int
lanesrv_slot(struct lanesrv *s, pid_t pid, uid_t uid)
{
	uint32_t hi = atomic_load_explicit(&s->hi, memory_order_relaxed), mine = 0;
	int free_at = -1;

	for (uint32_t i = 0; i < hi; i++) {
		struct lanesrv_lane *l = &s->lanes[i];
		/* Relaxed: this thread is the one that moves lanes out of FREE
		 * and LIVE; the consumer's RETIRED only adds to what is busy. */
		uint32_t st = atomic_load_explicit(&l->state, memory_order_relaxed);

		if (st == LANESRV_FREE) {
			if (free_at == -1)
				free_at = (int)i;
			continue;
		}
		if (st == LANESRV_LIVE && l->pid == pid)
			/* Release pairs with the consumer's acquire in
			 * lanesrv_lane(): what was published is still read. */
			atomic_store_explicit(&l->state, st = LANESRV_GONE, memory_order_release);
		if (st == LANESRV_LIVE && l->uid == uid && !lanesrv_peer_exited(s, i))
			mine++;
	}
	if (mine >= s->per_uid) {
		errno = EDQUOT;
		return -1;
	}
	if (free_at == -1 && hi < LANESRV_LANES_MAX)
		free_at = (int)hi;
	if (free_at == -1)
		errno = EAGAIN;
	return free_at;
}

/* The peer's pidfd: from the kernel with the connection, else by pid. */
static int
lanesrv_pidfd(int conn, pid_t pid)
{
	int fd;
	socklen_t len = sizeof(fd);

	if (getsockopt(conn, SOL_SOCKET, SO_PEERPIDFD, &fd, &len) == 0 && fd >= 0) {
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		return fd;
	}
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* The bytes of one lane: its header and its ring. */
static size_t
lanesrv_lane_bytes(const struct lanesrv *s)
{
	return sizeof(struct lane_hdr) + s->lane_size;
}

/* A new sealed lane, mapped at *map; its memfd, or -1 with errno. */
static int
lanesrv_make_lane(const struct lanesrv *s, void **map)
{
	return lanesrv_memfd("mplog-lane", lanesrv_lane_bytes(s), LANESOCK_SEALS, map);
}

/* Make lanes ahead until the pool is full (or one cannot be made). */
static void
lanesrv_fill_pool(struct lanesrv *s)
{
	while (s->npool < LANESRV_POOL) {
		struct lanesrv_ready *r = &s->pool[s->npool];

		if ((r->fd = lanesrv_make_lane(s, &r->map)) == -1)
			return;
		s->npool++;
	}
}

/* A lane for a handshake: one made ahead, else a new one. -1 with errno. */
static int
lanesrv_take_lane(struct lanesrv *s, void **map)
{
	if (s->npool > 0) {
		struct lanesrv_ready *r = &s->pool[--s->npool];

		*map = r->map;
		return r->fd;
	}
	return lanesrv_make_lane(s, map);
}

/* Hand lane i to the peer of conn; -1 with errno. */
static int
lanesrv_hand(struct lanesrv *s, int conn, uint32_t i, const struct ucred *cred)
{
	struct lanesrv_lane *l = &s->lanes[i];
	size_t len = lanesrv_lane_bytes(s);
	struct lanesock_reply r = { LANESOCK_MAGIC, LANESOCK_VERSION, 0, s->lane_size };
	void *map;
	int fd = lanesrv_take_lane(s, &map), pidfd;

	if (fd == -1)
		return -1;
	pidfd = lanesrv_pidfd(conn, cred->pid);
	int fds[LANESOCK_FDS] = { s->ctl_fd, s->wake_fd, fd };
	/* Watched before it is sent: a lane handed out is always watched. */
	if (pidfd == -1 || lanesrv_watch(s, pidfd, LANESRV_EV_PIDFD | i) == -1 ||
	    lanesock_send(conn, &r, sizeof(r), fds, LANESOCK_FDS) == -1) {
		int saved = errno;

		if (pidfd != -1)
			close(pidfd);   /* leaves the epoll set with it */
		munmap(map, len);
		close(fd);
		errno = saved;
		return -1;
	}
	close(fd);
	l->hdr = map;
	l->pid = cred->pid;
	l->uid = cred->uid;
	l->gid = cred->gid;
	l->pidfd = pidfd;
	/* Release pairs with the acquire in lanesrv_lane(). */
	atomic_store_explicit(&l->state, LANESRV_LIVE, memory_order_release);
	if (i >= atomic_load_explicit(&s->hi, memory_order_relaxed))
		/* Release: a consumer that sees the new count sees the lane. */
		atomic_store_explicit(&s->hi, i + 1, memory_order_release);
	return 0;
}

/* Answer a refusal: a reply with status why and no descriptors. */
static void
lanesrv_say_no(int conn, int why)
{
	struct lanesock_reply r = { LANESOCK_MAGIC, LANESOCK_VERSION, why, 0 };

	lanesock_send(conn, &r, sizeof(r), NULL, 0);
}

/* Is gid one of pid's supplementary groups (/proc/PID/status)? */
static int
lanesrv_in_group(pid_t pid, gid_t gid)
{
	char path[64], line[4096];
	FILE *f;
	int in = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return 0;
	while (!in && fgets(line, sizeof(line), f) != NULL) {
		char *p = line + 7, *end;

		if (strncmp(line, "Groups:", 7) != 0)
			continue;
		for (long g; (g = strtol(p, &end, 10)), end != p; p = end)
			in |= (gid_t)g == gid;
	}
	fclose(f);
	return in;
}

/* May the peer cred have a lane of this instance? */
static int
lanesrv_allowed(const struct lanesrv *s, const struct ucred *cred)
{
	const struct lanesrv_who *w = &s->who;

	return w->everyone || cred->uid == w->owner || cred->uid == 0 ||
	    (w->has_group && (cred->gid == w->group || lanesrv_in_group(cred->pid, w->group)));
}

/* One lane's status, for LANESOCK_F_STATUS. */
static void
lanesrv_stat(const struct lanesrv_lane *l, uint32_t i, uint32_t st, struct lanesock_stat *out)
{
	const struct lane_hdr *h = l->hdr;

	memset(out, 0, sizeof(*out));
	out->index = i;
	out->pid = l->pid;
	out->uid = l->uid;
	out->gid = l->gid;
	out->live = st == LANESRV_LIVE;
	/* Relaxed: a snapshot of numbers nobody trusts (ctlstat.h). */
	out->head = atomic_load_explicit(&h->head, memory_order_relaxed);
	out->tail = atomic_load_explicit(&h->tail, memory_order_relaxed);
	out->records = atomic_load_explicit(&h->records, memory_order_relaxed);
	out->bytes = atomic_load_explicit(&h->bytes, memory_order_relaxed);
	out->drops = atomic_load_explicit(&h->drops, memory_order_relaxed);
	memcpy(out->name, h->name, sizeof(out->name) - 1);
}

/* Answer LANESOCK_F_STATUS on conn: the status of every lane handed out
 * and not given back, in a sealed memfd. -1 with errno. */
static int
lanesrv_status(struct lanesrv *s, int conn)
{
	uint32_t hi = atomic_load_explicit(&s->hi, memory_order_relaxed), n = 0;
	struct lanesock_reply r = { LANESOCK_MAGIC, LANESOCK_VERSION, 0, s->lane_size };
	struct lanesock_stat *stats = calloc(hi > 0 ? hi : 1, sizeof(*stats));
	size_t len;
	int fd, rc;

	if (stats == NULL)
		return -1;
	for (uint32_t i = 0; i < hi; i++) {
		/* Relaxed: this thread is the one that maps and unmaps. */
		uint32_t st = atomic_load_explicit(&s->lanes[i].state, memory_order_relaxed);

		if (st == LANESRV_LIVE || st == LANESRV_GONE)
			lanesrv_stat(&s->lanes[i], i, st, &stats[n++]);
	}
	len = n * sizeof(*stats);
	fd = memfd_create("mplog-status", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	rc = fd == -1 || fdio_write_all(fd, stats, len) == -1 ||
	    fcntl(fd, F_ADD_SEALS, LANESOCK_SEALS | F_SEAL_WRITE) == -1 ? -1 :
	    lanesock_send(conn, &r, sizeof(r), &fd, 1);
	free(stats);
	if (fd != -1)
		close(fd);
	return rc;
}

/* The hello on pending connection k has come (or the peer went away). */
static void
lanesrv_hello(struct lanesrv *s, int k)
{
	int conn = s->pending[k].fd, fds[LANESOCK_FDS], nfds, why, slot;
	struct lanesock_hello h;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	ssize_t n = lanesock_recv(conn, &h, sizeof(h), fds, &nfds);

	for (int i = 0; i < nfds; i++)
		close(fds[i]);  /* a hello carries none */
	if (n == -1 && errno == EAGAIN)
		return;         /* a spurious wake-up: wait on */
	s->pending[k].fd = -1;
	if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == -1 || n <= 0) {
		close(conn);
		return;
	}
	why = n == -1 || nfds > 0 ? EPROTO : lanesock_hello_check(&h, (size_t)n);
	if (why == 0 && !lanesrv_allowed(s, &cred))
		why = EACCES;
	if (why == 0 && (h.flags & LANESOCK_F_STATUS)) {
		/* The lanes of every user: for ours and root. */
		if ((cred.uid == s->who.owner || cred.uid == 0) && lanesrv_status(s, conn) == 0) {
			close(conn);
			return;
		}
		why = EACCES;
	}
	if (why == 0 && (slot = lanesrv_slot(s, cred.pid, cred.uid)) == -1)
		why = errno;
	if (why == 0 && lanesrv_hand(s, conn, (uint32_t)slot, &cred) == -1) {
		/* The peer that left (it gave up waiting, or died) is not
		 * refused; it passes its lines through already. */
		if (errno == EPIPE || errno == ECONNRESET || errno == EAGAIN) {
			close(conn);
			return;
		}
		why = errno;
	}
	if (why != 0) {
		lanesrv_say_no(conn, why);
		lanesrv_refuse(s, cred.pid, cred.uid, why);
	}
	close(conn);
}

/* A free pending slot, or -1. */
static int
lanesrv_pending_slot(const struct lanesrv *s)
{
	for (int k = 0; k < LANESRV_PENDING_MAX; k++)
		if (s->pending[k].fd == -1)
			return k;
	return -1;
}

/* May a handshake of a peer of uid start, or has that user
 * LANESRV_PENDING_PER_UID in progress already? */
static int
lanesrv_may_start(const struct lanesrv *s, uid_t uid)
{
	int n = 0;

	for (int k = 0; k < LANESRV_PENDING_MAX; k++)
		n += s->pending[k].fd != -1 && s->pending[k].uid == uid;
	return n < LANESRV_PENDING_PER_UID;
}

/* Accept while handshakes may start; stop listening when they may not. */
static void
lanesrv_accept(struct lanesrv *s)
{
	struct ucred cred;
	socklen_t clen;
	int k, conn;

	while ((k = lanesrv_pending_slot(s)) != -1) {
		conn = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (conn == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (conn == -1)
			break;  /* out of descriptors: listen again at the sweep */
		clen = sizeof(cred);
		if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == -1 ||
		    !lanesrv_may_start(s, cred.uid)) {
			close(conn);    /* the user's own flood waits, nobody else's */
			continue;
		}
		if (lanesrv_watch(s, conn, LANESRV_EV_PENDING | (uint32_t)k) == -1) {
			close(conn);
			return;
		}
		s->pending[k].fd = conn;
		s->pending[k].uid = cred.uid;
		s->pending[k].until = seg_now_mono() + LANESRV_HELLO_NS;
	}
	if (s->listening && epoll_ctl(s->ep, EPOLL_CTL_DEL, s->listen_fd, NULL) == 0)
		s->listening = 0;
}

/* Drop handshakes past their time; unmap retired lanes; listen again
 * once a handshake may start. */
static void
lanesrv_sweep(struct lanesrv *s)
{
	int64_t now = seg_now_mono();
	uint32_t hi = atomic_load_explicit(&s->hi, memory_order_relaxed);

	for (int k = 0; k < LANESRV_PENDING_MAX; k++) {
		if (s->pending[k].fd != -1 && now > s->pending[k].until) {
			close(s->pending[k].fd);
			s->pending[k].fd = -1;
		}
	}
	for (uint32_t i = 0; i < hi; i++) {
		struct lanesrv_lane *l = &s->lanes[i];

		/* Acquire pairs with the release in lanesrv_retire(): the
		 * consumer is done with the mapping. */
		if (atomic_load_explicit(&l->state, memory_order_acquire) != LANESRV_RETIRED)
			continue;
		munmap(l->hdr, lanesrv_lane_bytes(s));
		close(l->pidfd);        /* leaves the epoll set with it */
		l->hdr = NULL;
		atomic_store_explicit(&l->state, LANESRV_FREE, memory_order_relaxed);
	}
	if (!s->listening && lanesrv_pending_slot(s) != -1 &&
	    lanesrv_watch(s, s->listen_fd, LANESRV_EV_LISTEN) == 0)
		s->listening = 1;
}

static void
lanesrv_exited(struct lanesrv *s, uint32_t i)
{
	uint32_t live = LANESRV_LIVE;

	epoll_ctl(s->ep, EPOLL_CTL_DEL, s->lanes[i].pidfd, NULL);
	/* Release pairs with the acquire in lanesrv_lane(). */
	atomic_compare_exchange_strong_explicit(&s->lanes[i].state, &live, LANESRV_GONE,
	    memory_order_release, memory_order_relaxed);
	/* The consumer gives the lane back once it is drained: now, not at
	 * its next heartbeat. */
	seg_wake_consumer(&s->ctl);
}

static void *
lanesrv_main(void *arg)
{
	struct lanesrv *s = arg;
	struct epoll_event ev[32];

	for (;;) {
		int n = epoll_wait(s->ep, ev, 32, (int)(LANESRV_SWEEP_NS / 1000000));

		for (int e = 0; e < n; e++) {
			uint64_t tag = ev[e].data.u64;
			uint32_t i = (uint32_t)tag;

			switch (tag & LANESRV_EV_KIND) {
			case LANESRV_EV_STOP:
				return NULL;
			case LANESRV_EV_LISTEN:
				lanesrv_accept(s);
				break;
			case LANESRV_EV_PENDING:
				if (i < LANESRV_PENDING_MAX && s->pending[i].fd != -1)
					lanesrv_hello(s, (int)i);
				break;
			case LANESRV_EV_PIDFD:
				if (i < LANESRV_LANES_MAX)
					lanesrv_exited(s, i);
				break;
			}
		}
		lanesrv_sweep(s);
		lanesrv_fill_pool(s);
	}
}

struct lanesrv_lane *
lanesrv_lane(struct lanesrv *s, uint32_t i)
{
	struct lanesrv_lane *l = &s->lanes[i];
	/* Acquire pairs with the release in lanesrv_hand(): the fields and
	 * the mapping are set. */
	uint32_t st = atomic_load_explicit(&l->state, memory_order_acquire);

	return st == LANESRV_LIVE || st == LANESRV_GONE ? l : NULL;
}

uint32_t
lanesrv_count(const struct lanesrv *s)
{
	/* Acquire pairs with the release in lanesrv_hand(). */
	return atomic_load_explicit(&s->hi, memory_order_acquire);
}

void
lanesrv_retire(struct lanesrv *s, uint32_t i)
{
	uint32_t gone = LANESRV_GONE;

	/* Release pairs with the acquire in lanesrv_sweep(): we are done
	 * with the mapping before it is unmapped. */
	atomic_compare_exchange_strong_explicit(&s->lanes[i].state, &gone, LANESRV_RETIRED,
	    memory_order_release, memory_order_relaxed);
}

void
lanesrv_close(struct lanesrv *s)
{
	if (s->started) {
		eventfd_write(s->stop_fd, 1);
		pthread_join(s->thread, NULL);
		s->started = 0;
	}
	for (int k = 0; k < LANESRV_PENDING_MAX; k++)
		if (s->pending[k].fd != -1)
			close(s->pending[k].fd);
	for (int k = 0; k < s->npool; k++) {
		munmap(s->pool[k].map, lanesrv_lane_bytes(s));
		close(s->pool[k].fd);
	}
	for (uint32_t i = 0; s->lanes != NULL && i < LANESRV_LANES_MAX; i++) {
		if (s->lanes[i].hdr == NULL)
			continue;
		munmap(s->lanes[i].hdr, lanesrv_lane_bytes(s));
		close(s->lanes[i].pidfd);
	}
	if (s->path[0] != '\0' && s->path[0] != '@')
		unlink(s->path);
	int fds[] = { s->listen_fd, s->ep, s->stop_fd, s->ctl_fd, s->wake_fd };
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] != -1)
			close(fds[i]);
	if (s->wake != NULL)
		munmap(s->wake, LANESOCK_WAKE_SIZE);
	if (s->alive != NULL) {
		/* Out of this thread's robust list before it is unmapped. */
		pthread_mutex_unlock(s->alive);
		pthread_mutex_destroy(s->alive);
	}
	if (s->ctl.meta != NULL)
		seg_detach(&s->ctl);
	free(s->lanes);
	pthread_mutex_destroy(&s->refusal_lock);
	memset(s, 0, sizeof(*s));
	s->listen_fd = -1;
}
