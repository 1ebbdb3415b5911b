/* catchall.c - read the command's fd 2 from a socket into a lane of our own. */
#include "catchall.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <syslog.h>
#include <unistd.h>

#include "fdio.h"
#include "lane.h"
#include "laneout.h"
#include "lines.h"
#include "procid.h"

#define CATCHALL_BURST    16                    /* chunks read between flushes */
#define CATCHALL_NAMES    64                    /* writers whose name is kept */

/* The name last read for a pid. */
struct catchall_name {
	int32_t pid;
	char name[SEG_NAME_MAX];
};

struct catchall {
	struct seg *seg;
	int fd;                         /* mplogd's end, SO_PASSCRED */
	int child_fd;                   /* the command's end, until forked */
	int stop_fd;                    /* eventfd written by catchall_stop */
	int tee;
	uint8_t pri;                    /* of a line without a prefix */
	pthread_t thread;
	_Atomic int64_t deadline;       /* CLOCK_MONOTONIC; 0 until stopped */
	_Atomic int done;
	/* The reader thread's own from here on. */
	struct laneout out;             /* the lane, its segment, its batch */
	struct lines lines;
	int64_t last_partial;           /* CLOCK_REALTIME of the newest unfinished piece */
	struct catchall_name names[CATCHALL_NAMES];
	struct heapring_rec *rec;       /* a header and CATCHALL_CHUNK bytes */
};

/* The deadline of catchall_stop; 0 until it is called. */
static int64_t
catchall_deadline(const struct catchall *ca)
{
	/* Pairs with the release in catchall_stop(). */
	return atomic_load_explicit(&ca->deadline, memory_order_acquire);
}

/* 1 once the deadline of catchall_stop has passed. */
static int
catchall_late(const struct catchall *ca)
{
	int64_t deadline = catchall_deadline(ca);

	return deadline != 0 && seg_now_mono() >= deadline;
}

/* laneout_reserve's stop: the consumer is gone, or the deadline passed. */
static int
catchall_stop_waiting(void *arg)
{
	struct catchall *ca = arg;

	return !seg_consumer_live(ca->seg) || catchall_late(ca);
}

/* Read pid's /proc/PID/comm; keep the last name known. */
static void
catchall_name_update(struct catchall *ca, int32_t pid)
{
	struct catchall_name *n = &ca->names[(uint32_t)pid % CATCHALL_NAMES];

	/* Read at every chunk: an exec renames a process, and a pid may be
	 * reused. A writer already reaped keeps the name last seen, if any. */
	if (procid_comm(pid, n->name, sizeof(n->name)) == 0)
		n->pid = pid;
	else if (n->pid == pid)
		return;
	else
		n->pid = 0;
}

/* The name of pid; NULL (the consumer then tries /proc) if unknown. */
static const char *
catchall_name(const struct catchall *ca, int32_t pid)
{
	const struct catchall_name *n = &ca->names[(uint32_t)pid % CATCHALL_NAMES];

	return n->pid == pid ? n->name : NULL;
}

/* A line the lane cannot take under block: to where the command's
 * stderr would have gone, our own (in tee mode it is there already). */
static void
catchall_pass(struct catchall *ca, int split, const char *data, uint32_t len)
{
	if (ca->tee)
		return;
	fdio_write_all(2, data, len);     /* nowhere else to report a failure */
	if (!split)
		fdio_write_all(2, "\n", 1);
}

/* Commit one line, or piece of one, to the lane. */
static void
catchall_put(struct catchall *ca, const struct lines_line *l)
{
	int split = (l->flags & LINES_F_SPLIT) != 0;
	struct lane_names nm;
	struct lane_rec *rec;
	struct lane_rec h = {
		.source = LANE_SRC_STDERR, .pri = l->pri, .flags = split ? LANE_F_SPLIT : 0,
		.pid = l->tid, .tid = l->tid,   /* the writer's thread is not known */
		.ts_ns = l->ts_ns,
	};

	lane_names_set(&nm, catchall_name(ca, l->tid), NULL, NULL);
	rec = laneout_reserve(&ca->out, l->len + lane_names_size(&nm), catchall_stop_waiting, ca);

	if (rec == NULL) {
		if (ca->seg->policy != SEG_POLICY_DROP)
			catchall_pass(ca, split, l->data, l->len);
		return;
	}
	laneout_put(&ca->out, rec, &h, l->data, l->len, &nm);
}

/*
 * lines_emit_fn: a line, or a piece of one, is complete. lines.c has
 * already applied and removed a "<N>" prefix (for every piece of a split
 * line). Lines less severe than the level in force when their first
 * piece was read are discarded.
 */
static void
catchall_emit(void *arg, const struct lines_line *l)
{
	struct catchall *ca = arg;

	if ((l->pri & 7u) > l->level)
		return;
	catchall_put(ca, l);
}

/* Close the descriptors a writer passed with its bytes: not ours. */
static void
catchall_drop_fds(struct cmsghdr *cm)
{
	size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
	int fd;

	for (size_t i = 0; i < n; i++) {
		memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
		close(fd);
	}
}

/* One recvmsg into ca->rec: bytes of one writer, whose pid goes to *pid
 * (0 when the kernel gave none). Returns what recvmsg returned. */
static ssize_t
catchall_recv(struct catchall *ca, int32_t *pid)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(16 * sizeof(int))];
	} ctl;
	struct iovec iov = { ca->rec->data, CATCHALL_CHUNK };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	struct ucred cred;
	ssize_t n;

	*pid = 0;
	while ((n = recvmsg(ca->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC)) == -1 && errno == EINTR)
		;
	if (n <= 0)
		return n;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET)
			continue;
		if (cm->cmsg_type == SCM_CREDENTIALS && cm->cmsg_len >= CMSG_LEN(sizeof(cred))) {
			memcpy(&cred, CMSG_DATA(cm), sizeof(cred));
			*pid = cred.pid;
		} else if (cm->cmsg_type == SCM_RIGHTS) {
			catchall_drop_fds(cm);
		}
	}
	return n;
}

/* Feed n bytes that pid wrote, just read into ca->rec. */
static void
catchall_chunk(struct catchall *ca, int32_t pid, uint32_t n)
{
	struct heapring_rec *rec = ca->rec;

	if (ca->tee)
		fdio_write_all(2, rec->data, n);
	catchall_name_update(ca, pid);
	rec->len = n;
	rec->nslots = 0;
	rec->kind = HEAPRING_STDERR;
	rec->pri = ca->pri;
	rec->ts_ns = (uint64_t)seg_now_real();
	rec->tid = pid;         /* lines.c keeps each "thread" apart: each pid */
	rec->ident = 0;
	/* Relaxed, as in the shim: a level change applies from the next read. */
	rec->level = (uint8_t)atomic_load_explicit(&ca->seg->config->level, memory_order_relaxed);
	lines_feed(&ca->lines, rec, catchall_emit, ca);
	if (rec->data[n - 1] != '\n')
		ca->last_partial = (int64_t)rec->ts_ns;
	laneout_publish(&ca->out);
}

/* Read up to a burst of chunks; 1 at end of file (or a socket error). */
static int
catchall_read(struct catchall *ca)
{
	for (int i = 0; i < CATCHALL_BURST; i++) {
		int32_t pid;
		ssize_t n = catchall_recv(ca, &pid);

		if (n == -1)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : 1;
		if (n == 0)
			return 1;
		catchall_chunk(ca, pid, (uint32_t)n);
	}
	return 0;
}

/* Deliver the unfinished lines whose writer has been quiet long enough. */
static void
catchall_flush_quiet(struct catchall *ca)
{
	int64_t cutoff;

	if (ca->last_partial == 0)
		return;
	cutoff = seg_now_real() - CATCHALL_PARTIAL_NS;
	lines_flush(&ca->lines, (uint64_t)cutoff, catchall_emit, ca);
	/* Every unfinished line's latest piece is at or before last_partial. */
	if (ca->last_partial <= cutoff)
		ca->last_partial = 0;
}

/* Milliseconds to wait: until an unfinished line may be due (checked at
 * least every half quiet period), the deadline, or for ever (-1). */
static int
catchall_timeout(const struct catchall *ca, int64_t deadline)
{
	int64_t ms = -1;

	if (ca->last_partial != 0) {
		int64_t due = ca->last_partial + CATCHALL_PARTIAL_NS - seg_now_real();

		ms = due <= 0 ? 0 : due / 1000000 + 1;
		if (ms > CATCHALL_PARTIAL_NS / 2000000)
			ms = CATCHALL_PARTIAL_NS / 2000000;
	}
	if (deadline != 0) {
		int64_t left = deadline - seg_now_mono();
		int64_t left_ms = left <= 0 ? 0 : left / 1000000 + 1;

		if (ms == -1 || left_ms < ms)
			ms = left_ms;
	}
	return (int)ms;
}

/*
 * Sleep until bytes arrive, catchall_stop is called, or the timeout. With
 * no deadline and no unfinished line the timeout is infinite: the poll
 * then ends with a writer's bytes, the last holder's close, or the
 * eventfd that catchall_stop writes after it stores the deadline.
 */
static void
catchall_poll(struct catchall *ca, int64_t deadline)
{
	struct pollfd p[2] = { { ca->fd, POLLIN, 0 }, { ca->stop_fd, POLLIN, 0 } };
	uint64_t v;

	if (poll(p, 2, catchall_timeout(ca, deadline)) > 0 && (p[1].revents & POLLIN))
		(void)!read(ca->stop_fd, &v, sizeof(v));    /* re-arm */
}

static void *
catchall_main(void *arg)
{
	struct catchall *ca = arg;
	int eof = 0;

	while (!eof && !catchall_late(ca)) {
		catchall_poll(ca, catchall_deadline(ca));
		eof = catchall_read(ca);
		catchall_flush_quiet(ca);
		laneout_publish(&ca->out);
	}
	lines_flush(&ca->lines, UINT64_MAX, catchall_emit, ca);
	laneout_publish(&ca->out);
	/* Release pairs with the acquire in catchall_done(): every record is
	 * published before the consumer's final drain starts. */
	atomic_store_explicit(&ca->done, 1, memory_order_release);
	/* The consumer's sleep checks lane heads, not done: one that looked
	 * at done just before this sleeps at most one heartbeat. */
	seg_wake_consumer(ca->seg);
	return NULL;
}

/* The socket pair and the eventfd; -1 with errno. */
static int
catchall_fds(struct catchall *ca)
{
	int sv[2], on = 1;

	ca->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ca->stop_fd == -1)
		return -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		return -1;
	ca->fd = sv[0];
	ca->child_fd = sv[1];
	/* Before any byte is sent: each one then carries its sender's pid. */
	return setsockopt(ca->fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on));
}

/* Start the reader with every signal blocked: they are the main thread's. */
static int
catchall_thread(struct catchall *ca)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&ca->thread, NULL, catchall_main, ca);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		errno = rc;
		return -1;
	}
	pthread_setname_np(ca->thread, "mplogd-catchall");
	return 0;
}

/* Close whatever is open and free ca; errno is kept. */
static void
catchall_free(struct catchall *ca)
{
	int saved = errno;

	if (ca->fd != -1)
		close(ca->fd);
	if (ca->child_fd != -1)
		close(ca->child_fd);
	if (ca->stop_fd != -1)
		close(ca->stop_fd);
	lines_reset(&ca->lines);
	free(ca->rec);
	free(ca);
	errno = saved;
}

struct catchall *
catchall_open(struct seg *seg, int tee, int severity)
{
	struct catchall *ca = calloc(1, sizeof(*ca));
	uint64_t me;

	if (ca == NULL)
		return NULL;
	ca->fd = ca->child_fd = ca->stop_fd = -1;
	ca->seg = seg;
	ca->out.seg = seg;
	ca->tee = tee;
	ca->pri = (uint8_t)(LOG_USER | (severity & 7));
	ca->rec = malloc(sizeof(*ca->rec) + CATCHALL_CHUNK);
	if (ca->rec == NULL || catchall_fds(ca) == -1)
		goto fail;
	/* Our own procid: the consumer never reaps the lane of a live owner. */
	me = procid_pack(getpid(), procid_start(getpid()));
	if (lane_lease(seg, me, &ca->out.w) == -1)
		goto fail;
	if (catchall_thread(ca) == -1) {
		lane_unlease(&ca->out.w, me);
		goto fail;
	}
	return ca;
fail:
	catchall_free(ca);
	return NULL;
}

int
catchall_child_fd(const struct catchall *ca)
{
	return ca->child_fd;
}

void
catchall_forked(struct catchall *ca)
{
	if (ca->child_fd != -1)
		close(ca->child_fd);
	ca->child_fd = -1;
}

void
catchall_stop(struct catchall *ca, int64_t deadline)
{
	uint64_t one = 1;

	/* Release pairs with the acquire in catchall_deadline(): stored
	 * before the eventfd is written, so the thread that the eventfd
	 * wakes from an untimed poll finds the deadline and stops by it. */
	atomic_store_explicit(&ca->deadline, deadline != 0 ? deadline : 1, memory_order_release);
	(void)!write(ca->stop_fd, &one, sizeof(one));
}

int
catchall_done(const struct catchall *ca)
{
	/* Pairs with the release in catchall_main(). */
	return atomic_load_explicit(&ca->done, memory_order_acquire);
}

void
catchall_close(struct catchall *ca)
{
	if (catchall_deadline(ca) == 0)
		catchall_stop(ca, seg_now_mono());
	/* Ends by the deadline: every wait of the reader (poll, lane room)
	 * is bounded by it. Only a write to our own stderr (tee mode, or a
	 * line passed through) can hold it longer. */
	pthread_join(ca->thread, NULL);
	catchall_free(ca);
}
