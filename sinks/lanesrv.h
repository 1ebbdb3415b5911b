/*
 * lanesrv.h - mplogd's socket: a lane of its own for every process that
 * asks (lanesock.h), with pid, uid and gid from the kernel.
 *
 * A thread of its own accepts connections, answers each handshake,
 * creates the lane (a sealed memfd that only mplogd and the peer map), and
 * watches the peer's pidfd: exit is an event, not a probe. The consumer
 * reads the lanes (lanesrv_lane) next to the segment's own.
 *
 * Bounds: at most LANESRV_LANES_MAX lanes at once, per_uid of them held
 * by one user's live processes (so one user's memory is at most per_uid
 * lanes of lane_size bytes, and others keep the rest); at most LANESRV_PENDING_MAX handshakes in progress, each given
 * LANESRV_HELLO_NS to say hello, and LANESRV_PENDING_PER_UID of them for
 * one user (a connection past that is closed at once: one user's flood of
 * connects delays that user alone); past those, connections wait in the
 * listen backlog, and a full backlog refuses the connect (the process then
 * passes its lines through, as without mplog). A refused lane is counted
 * and its last refusal kept, for the consumer to report.
 *
 * A lane's life (state, written with release, read with acquire):
 *   FREE -> LIVE      this thread, once the lane is made and its peer set
 *   LIVE -> GONE      this thread: the peer exited, or exec'd and asked for
 *                     a new lane
 *   GONE -> RETIRED   the consumer, once it has delivered everything in it
 *   RETIRED -> FREE   this thread unmaps it (within LANESRV_SWEEP_NS)
 * Fields of a lane other than state are written only while it is FREE.
 */
#ifndef MPLOG_LANESRV_H
#define MPLOG_LANESRV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "lane.h"
#include "lanesock.h"
#include "seg.h"

#define LANESRV_LANES_MAX    4096   /* lanes handed out at once */
#define LANESRV_PER_UID_DEFAULT 256    /* held by one user's live processes */
#define LANESRV_PENDING_MAX  64     /* handshakes in progress */
#define LANESRV_PENDING_PER_UID 8   /* of them, one user's */
#define LANESRV_BACKLOG      128    /* connections waiting past those */
#define LANESRV_HELLO_NS     (100 * 1000000LL)   /* a hello awaited at most: a
                                                 * process sends it at once */
#define LANESRV_SWEEP_NS     (100 * 1000000LL)   /* retired lanes unmapped */
#define LANESRV_POOL         4      /* lanes made ahead of the handshakes
                                     * that take them: not on a first
                                     * line's path */

enum lanesrv_state {
	LANESRV_FREE = 0,
	LANESRV_LIVE = 1,
	LANESRV_GONE = 2,
	LANESRV_RETIRED = 3,
};

struct lanesrv_lane {
	_Atomic uint32_t state;         /* enum lanesrv_state */
	struct lane_hdr *hdr;           /* our mapping of it */
	pid_t pid;                      /* the peer, from the kernel */
	uid_t uid;
	gid_t gid;
	int pidfd;
};

/* A lane made ahead: its memfd, sealed, and our mapping of it. */
struct lanesrv_ready {
	int fd;
	void *map;
};

struct lanesrv_pending {
	int fd;                         /* -1: a free slot */
	uid_t uid;                      /* the peer's */
	int64_t until;                  /* CLOCK_MONOTONIC: hello due */
};

/* Why a lane was last refused: lanesrv_refusal. */
struct lanesrv_refusal {
	uint64_t count;                 /* refusals so far */
	pid_t pid;                      /* the last one's peer */
	uid_t uid;
	int why;                        /* EDQUOT, EAGAIN, EPROTO, EACCES, or
	                                 * why the lane could not be made */
};

/* Who may have a lane: everyone (the system instance), or the instance's
 * own user, root, and with has_group the members of group. */
struct lanesrv_who {
	int everyone;
	uid_t owner;
	int has_group;
	gid_t group;
};

struct lanesrv {
	struct lanesrv_who who;
	struct seg ctl;                 /* the control page, our mapping */
	struct lanesock_wake *wake;     /* the wake page, our mapping */
	int ctl_fd, wake_fd, listen_fd, ep, stop_fd;
	uint32_t lane_size, per_uid;
	struct lanesrv_lane *lanes;     /* LANESRV_LANES_MAX */
	_Atomic uint32_t hi;            /* lanes[0, hi) have been used */
	struct lanesrv_pending pending[LANESRV_PENDING_MAX];
	struct lanesrv_ready pool[LANESRV_POOL];
	int npool;
	int listening;                  /* listen_fd is in the epoll set */
	pthread_mutex_t refusal_lock;
	struct lanesrv_refusal refusal;
	_Atomic uint64_t refused;       /* refusal.count, without the lock */
	pthread_mutex_t *alive;         /* held for our life (lanesock.h) */
	pthread_t thread;
	int started;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

/*
 * Listen on path (lanesock_addr's form) with the socket mode (a path
 * only; its directory is made 0755 when missing), for the peers who
 * names (others are refused with EACCES), and start the thread.
 * seg is the instance's segment: the control page mirrors it. per_uid 0
 * takes the default. -1 with errno: EADDRINUSE another mplogd listens
 * there, or what socket, bind or memfd_create set.
 */
int lanesrv_open(struct lanesrv *s, const char *path, mode_t mode, const struct seg *seg,
    uint32_t per_uid, const struct lanesrv_who *who);

/* Stop the thread, unmap every lane and remove the socket. Call after the
 * consumer's last look at the lanes, from the thread that called
 * lanesrv_open (it holds the control page's robust mutex). */
void lanesrv_close(struct lanesrv *s);

/* The lane at index i, i < hi, while LIVE or GONE; else NULL. */
struct lanesrv_lane *lanesrv_lane(struct lanesrv *s, uint32_t i);

/* Lanes the consumer may have to look at: lanes[0, n). */
uint32_t lanesrv_count(const struct lanesrv *s);

/* The consumer has delivered everything in lane i, which is GONE: give
 * it back. */
void lanesrv_retire(struct lanesrv *s, uint32_t i);

/* How many lanes were refused so far: a load, for the consumer to ask
 * every step. */
uint64_t lanesrv_refused(struct lanesrv *s);

/* The refusals so far, and the last one. */
struct lanesrv_refusal lanesrv_refusals(struct lanesrv *s);

#endif
