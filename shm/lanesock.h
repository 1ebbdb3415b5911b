/*
 * lanesock.h - how a process gets a lane of its own from mplogd's socket.
 *
 * mplogd listens on a unix SOCK_SEQPACKET socket. A process connects and
 * sends a hello; mplogd learns the peer's pid, uid and gid from the kernel
 * (SO_PEERCRED, and a pidfd from SO_PEERPIDFD), and answers with a reply
 * and three descriptors (SCM_RIGHTS):
 *
 *   0  the control page: the instance's meta and config (seg.h, no
 *      lanes), sealed against writes (F_SEAL_FUTURE_WRITE): mapped
 *      read-only, so that no process can change the level or the
 *      consumer's state for the others;
 *   1  the wake page: the one word producers bump to wake a sleeping
 *      mplogd (seg_wake_consumer), shared read-write by every producer of
 *      the instance. Scribbling it costs mplogd a spurious wake-up, no
 *      more: whether mplogd sleeps is read from the control page;
 *   2  the lane: a lane header and lane_size bytes of ring (lane.h),
 *      mapped by this process and by mplogd alone.
 *
 * Every memfd is sealed against shrinking and growing, so that nothing a
 * process does to what it was handed can fault another process or mplogd.
 * The process closes every descriptor once it has mapped them: a program
 * keeps the descriptor table it would have without mplog.
 *
 * Messages are fixed structures, checked field by field by the receiver
 * (lanesock_hello_check, lanesock_attach); a wrong size, magic or version
 * is refused.
 *
 * Addresses: a path, or "@name" for the abstract name "name". The per-user
 * instance NAME (a segment name, seg.h) listens on "@mplog" NAME; the
 * system instance on LANESOCK_SYSTEM_PATH. A process checks that the
 * listener runs as root or as its own user (SO_PEERCRED) before it trusts
 * what it is handed: nobody can pose as another user's mplogd by taking an
 * abstract name first.
 *
 * Not async-signal-safe: these functions open, map and close descriptors.
 */
#ifndef MPLOG_LANESOCK_H
#define MPLOG_LANESOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include "seg.h"

#define LANESOCK_SYSTEM_PATH "/run/mplog/mplogd.sock"
#define LANESOCK_SYSTEM_SHM  "/mplog-system"   /* the system instance's segment */
#define LANESOCK_MAGIC   UINT32_C(0x4b534c4d)   /* "MLSK" */
#define LANESOCK_VERSION 1
#define LANESOCK_FDS     3                      /* control, wake, lane */
#define LANESOCK_REPLY_NS (500 * 1000000LL)     /* a reply waited for at most */
#define LANESOCK_WAKE_SIZE 4096                 /* the wake page */

/* Seals every handed memfd carries; the control page also
 * F_SEAL_FUTURE_WRITE. */
#define LANESOCK_SEALS   (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

#define LANESOCK_F_STATUS 0x1u   /* not a lane: the lanes' status */

struct lanesock_hello {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;         /* 0, or LANESOCK_F_STATUS */
	uint32_t reserved;      /* must be 0 */
};

/*
 * One lane in the answer to LANESOCK_F_STATUS (mplogctl), which mplogd
 * gives the instance's own user and root only: a sealed memfd of these,
 * one per lane handed out and not yet given back. pid, uid and gid are
 * the kernel's; the counters and positions are copied from the lane as
 * its process wrote them (untrusted, as in a segment: ctlstat.h).
 */
struct lanesock_stat {
	uint32_t index;         /* the server's lane number */
	int32_t pid;
	uint32_t uid, gid;
	uint32_t live;          /* 1: its process runs; 0: it is being drained */
	uint32_t reserved;
	uint64_t head, tail, records, bytes, drops;
	char name[SEG_NAME_MAX];        /* as the process wrote it */
};

#define LANESOCK_STATS_MAX 65536        /* entries an answer may hold */

struct lanesock_reply {
	uint32_t magic;
	uint32_t version;
	int32_t status;         /* 0, or why there is no lane (an errno):
	                         * EDQUOT the user's lanes are all taken,
	                         * EAGAIN every lane is taken, EPROTO a bad hello */
	uint32_t lane_size;     /* bytes of the lane's ring */
};

/*
 * Where, in the control page, mplogd keeps a robust, process-shared
 * pthread mutex locked for its life (lanesrv_open). Its word holds the
 * holder's tid; when mplogd dies, however it dies, the kernel sets
 * FUTEX_OWNER_DIED in it (robust futexes): a producer learns of the death
 * from a load, with no system call, no descriptor, and no pid that could
 * have been reused (seg->alive).
 */
#define LANESOCK_ALIVE_OFF 2048

/* The wake page's layout: the word, alone on its cache line. */
struct lanesock_wake {
	_Atomic uint32_t word;
};

/*
 * The address of path ("@name": abstract) in a and its length in *len;
 * -1 with EINVAL when it is empty or too long.
 */
int lanesock_addr(const char *path, struct sockaddr_un *a, socklen_t *len);

/* The socket address of the per-user instance named by segment name shm
 * ("@mplog/mplog-1000" for "/mplog-1000"), into buf. */
void lanesock_instance_path(const char *shm, char *buf, size_t len);

/* Send len bytes and nfds descriptors (at most LANESOCK_FDS) as one
 * message; -1 with errno on failure. */
int lanesock_send(int fd, const void *buf, size_t len, const int *fds, int nfds);

/*
 * Receive one message of at most len bytes into buf and at most
 * LANESOCK_FDS descriptors (close-on-exec) into fds, their count in
 * *nfds. Returns the message's length, -1 with errno on failure (EMSGSIZE
 * for a message or a descriptor list cut short: whatever came is closed).
 */
ssize_t lanesock_recv(int fd, void *buf, size_t len, int *fds, int *nfds);

/* 0 when buf (len bytes) is a hello this mplogd serves, else the errno
 * to refuse it with. */
int lanesock_hello_check(const void *buf, size_t len);

/*
 * Connect to the mplogd at path, run the handshake, and map what it hands
 * over into seg: the control page read-only, seg->wake in the wake page,
 * seg->own_lane the lane. No descriptor stays open. -1 with errno:
 * ENOENT/ECONNREFUSED nobody listens, EAGAIN its backlog is full,
 * EPERM the listener is neither root nor our user, ETIMEDOUT no reply
 * within LANESOCK_REPLY_NS, the reply's status, EPROTO/EBADMSG a reply
 * or a page that does not add up.
 */
int lanesock_attach(struct seg *seg, const char *path);

/*
 * Ask the mplogd at path for the status of the lanes it handed out: a
 * malloc'd array in *out (free it), its length in *n. -1 with errno as
 * lanesock_attach, EACCES when mplogd serves another user.
 */
int lanesock_status(const char *path, struct lanesock_stat **out, size_t *n);

/* Unmap what lanesock_attach mapped. */
void lanesock_detach(struct seg *seg);

#endif
