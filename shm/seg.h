/*
 * seg.h - the shared segment: layout, creation, attachment, validation.
 *
 * mplogd creates the segment (seg_create) and is its only consumer; the
 * shim and mplogctl attach to it (seg_attach), which checks every size and
 * offset against the mapping before anything is trusted. The segment holds
 * no pointers: every part is found from offsets in the metadata, which an
 * attacher recomputes from the parameters and compares.
 *
 *   [ seg_meta | seg_config | pad to 4 KiB | lanes ]
 *
 * Thread-safety: seg_create, seg_attach and seg_detach are not
 * async-signal-safe (they open and map). The accessors are plain pointer
 * arithmetic on a validated segment and are safe anywhere.
 *
 * Liveness: the consumer writes its pid, start time and a heartbeat
 * (CLOCK_MONOTONIC, refreshed at least every SEG_HEARTBEAT_NS). A producer
 * treats the consumer as gone once state is not RUNNING, its pid no longer
 * exists, or the heartbeat is older than SEG_STALE_NS (a stopped or stuck
 * consumer).
 */
#ifndef MPLOG_SEG_H
#define MPLOG_SEG_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tsc.h"

#define SEG_MAGIC          UINT64_C(0x31474553474f4c4d) /* "MLOGSEG1" */
#define SEG_LAYOUT_VERSION 3
#define SEG_CACHELINE      64
#define SEG_NAME_MAX       32   /* bytes of a name, NUL included */
#define SEG_PATH_MAX       64   /* bytes of a shm name, NUL included */

#define SEG_HEARTBEAT_NS   (100 * 1000000LL)
#define SEG_STALE_NS       (2000 * 1000000LL)
#define SEG_WAITV_SLICE_NS (10 * 1000000LL)   /* see seg_consumer_sleep2 */

/* Limits on the parameters, checked at creation and at attachment. */
#define SEG_LANES_DEFAULT      64
#define SEG_LANES_MAX          4096
#define SEG_LANE_SIZE_DEFAULT  (1u << 20)
#define SEG_LANE_SIZE_MIN      (1u << 18)   /* see the assertion in lane.h */
#define SEG_LANE_SIZE_MAX      (1u << 30)

enum seg_policy {
	SEG_POLICY_BLOCK = 0,   /* producers wait, bounded, for room */
	SEG_POLICY_DROP = 1,    /* producers never wait; drops are counted */
};

enum seg_state {
	SEG_STATE_STARTING = 0, /* being built; not yet for producers */
	SEG_STATE_RUNNING = 1,  /* a consumer reads the lanes */
	SEG_STATE_CLOSED = 2,   /* the consumer drained and left */
};

/* Which metadata producers must capture (seg_config.mask). */
#define SEG_MASK_TID 0x1u

struct seg_meta {
	uint64_t magic;
	uint32_t layout_version;
	uint32_t meta_size;
	uint64_t total_size;
	uint64_t config_off;
	uint64_t lanes_off;
	uint32_t lane_count;
	uint32_t lane_size;     /* data bytes per lane, a power of two */
	uint32_t lane_stride;   /* header plus data */
	uint32_t policy;        /* enum seg_policy */
	uint32_t owner_uid;
	uint32_t reserved;
	/* Written by the consumer, read by everyone. */
	alignas(SEG_CACHELINE) _Atomic uint32_t state;  /* enum seg_state */
	_Atomic int32_t consumer_pid;
	_Atomic uint64_t consumer_start;
	_Atomic uint64_t heartbeat_ns;
	_Atomic uint64_t damaged;   /* records the consumer skipped */
};

struct seg_config {
	_Atomic uint32_t level;     /* most verbose severity kept, 0..7 */
	_Atomic uint32_t version;   /* bumped after every change */
	_Atomic uint32_t mask;      /* SEG_MASK_* */
	_Atomic uint32_t mirrored;  /* the version the control page holds
	                             * (seg_ctl_mirror); 0 in a control page */
	struct tsc_line tsc;        /* the TSC's line to CLOCK_REALTIME (tsc.h):
	                             * read at every call, as level is */
	/* Wake-up of a sleeping consumer; see seg_wake_consumer(). */
	alignas(SEG_CACHELINE) _Atomic uint32_t wake;
	_Atomic uint32_t sleeping;
};

_Static_assert(sizeof(struct seg_meta) == 2 * SEG_CACHELINE, "meta size");
_Static_assert(sizeof(struct seg_config) == 2 * SEG_CACHELINE, "config size");
_Static_assert(offsetof(struct seg_meta, state) == SEG_CACHELINE, "meta: consumer fields on their own line");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "lock-free 32-bit atomics");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "lock-free 64-bit atomics");

/* What the creator chooses; zero fields take the defaults. */
struct seg_params {
	uint32_t lane_count;
	uint32_t lane_size;
	uint32_t policy;
	uint32_t level;         /* 0..7; no default: 0 is emerg */
	mode_t mode;            /* default 0600 */
	gid_t group;            /* with mode & 0060, the group let in */
};

/*
 * A mapped segment, private to the process that mapped it. The geometry
 * is copied out of the metadata once it is validated, so that nothing
 * written into the segment later can send an accessor outside the mapping.
 */
struct seg {
	struct seg_meta *meta;
	struct seg_config *config;
	size_t size;
	uint64_t lanes_off;
	uint32_t lane_count, lane_size, lane_stride;
	uint32_t policy;
	/* The word producers bump to wake the consumer: the config's, or
	 * for a control page (seg_ctl_attach) the instance's wake page. */
	_Atomic uint32_t *wake;
	/* A control page's one lane, handed to this process alone
	 * (lanesock.h); NULL for a segment with lanes of its own. */
	struct lane_hdr *own_lane;
	/* In a control page: the word of the robust mutex mplogd holds for
	 * its life (lanesock.h): its tid while it lives, the kernel's
	 * FUTEX_OWNER_DIED once it died. NULL: ask kill(2) instead. */
	const _Atomic uint32_t *alive;
	dev_t dev;              /* the object mapped, to unlink only our own */
	ino_t ino;
	char name[SEG_PATH_MAX];
};

/* Write the default segment name for this user ("/mplog-UID") into buf. */
void seg_default_name(char *buf, size_t len);

/*
 * The segment name from $MPLOG_SHM (read with secure_getenv; empty counts
 * as unset), else the default. -1 with EINVAL when MPLOG_SHM is not a
 * valid name; buf then holds the default.
 */
int seg_env_name(char *buf, size_t len);

/* Check a segment name: a leading "/", no other "/", short enough. */
int seg_name_valid(const char *name);

/*
 * Create the segment name exclusively, lay it out, and map it. On -1,
 * errno is EEXIST when the name is taken (see seg_attach to ask by whom),
 * EINVAL for a bad name or parameters, or what shm_open, ftruncate or mmap
 * set.
 */
int seg_create(struct seg *seg, const char *name, const struct seg_params *p);

/*
 * Attach to the segment name and validate it. On -1 nothing stays mapped
 * and errno says why: ENOENT no segment, EPROTO not an mplog segment or
 * another layout version, EBADMSG sizes or offsets do not add up, EPERM
 * owned by another user, or what shm_open, fstat or mmap set.
 */
int seg_attach(struct seg *seg, const char *name);

/*
 * Take over an attached segment left by a dead consumer, when it is laid
 * out as p asks (lanes, policy, mode); its level becomes p's. -1 with
 * errno ESTALE when it differs (it should then be replaced).
 */
int seg_adopt(struct seg *seg, const struct seg_params *p);

/*
 * Unlink the segment's name if it still names the object we mapped (a
 * newer mplogd may have replaced it). -1 with errno ESTALE when it does
 * not, or what shm_open or shm_unlink set.
 */
int seg_unlink_own(const struct seg *seg);

/* Unmap the segment (it stays in the system). */
void seg_detach(struct seg *seg);

/* Mark this process the running consumer and start the heartbeat. */
void seg_consumer_start(struct seg *seg);

/* Refresh the heartbeat; the consumer calls it every loop. */
void seg_heartbeat(struct seg *seg);

/* Mark the consumer gone; producers then pass lines through. */
void seg_consumer_close(struct seg *seg);

/* 1 while a consumer runs, its pid exists and its heartbeat is fresh.
 * Signal-safe (one kill(pid, 0), or loads only with an alive word). */
int seg_consumer_live(const struct seg *seg);

/* seg_consumer_live without asking whether the pid exists: loads only. */
int seg_consumer_running(const struct seg *seg);

/* 0 once the robust mutex of a control page says the mplogd that holds
 * it died (or let it go), even while it is a zombie; 1 without one.
 * Loads only. */
int seg_holder_lives(const struct seg *seg);

/* 1 if the segment's recorded consumer process still exists. */
int seg_consumer_exists(const struct seg *seg);

/* Wake the consumer if it sleeps; producers call it after publishing. */
void seg_wake_consumer(struct seg *seg);

/* Sleep as the consumer until woken or timeout_ns passes. */
void seg_consumer_sleep(struct seg *seg, int64_t timeout_ns, int (*pending)(void *), void *arg);

/*
 * seg_consumer_sleep on two segments at once: seg, and ctl, the control
 * page whose producers wake the consumer through their wake page.
 */
void seg_consumer_sleep2(struct seg *seg, struct seg *ctl, int64_t timeout_ns,
    int (*pending)(void *), void *arg);

/* Sleep timeout_ns as the consumer without asking producers to wake us
 * (they make no system call meanwhile). */
void seg_consumer_nap(struct seg *seg, int64_t timeout_ns);

/*
 * A control page: the meta and config of a segment without lanes, in a
 * memfd of its own (fd), laid out as from and mirroring it. mplogd hands
 * it, sealed, to the processes it gives lanes over its socket; they map
 * it read-only (seg_ctl_attach). Not async-signal-safe.
 */
int seg_ctl_create(struct seg *ctl, int fd, const struct seg *from);

/* Copy from's consumer state, heartbeat, level and mask into ctl. */
void seg_ctl_mirror(struct seg *ctl, const struct seg *from);

/* Say that the control page holds version of seg's config (read, with
 * acquire, before the mirror): mplogctl waits for it. */
void seg_set_mirrored(struct seg *seg, uint32_t version);

/*
 * Map the control page fd read-only into seg and validate it as
 * seg_attach does, lanes excepted: -1 with errno EPROTO, EBADMSG, or
 * what fstat or mmap set. seg->wake must then be set by the caller.
 */
int seg_ctl_attach(struct seg *seg, int fd);

/* The lane at index i, i < lane_count. */
struct lane_hdr *seg_lane(const struct seg *seg, uint32_t i);

/* CLOCK_MONOTONIC now, in nanoseconds. Signal-safe. */
int64_t seg_now_mono(void);

/* CLOCK_REALTIME now, in nanoseconds, from the vDSO (tsc_vdso_real):
 * mplogd's clock. Records carry the TSC's reading of it where there is a
 * line (tsc_now_real). Signal-safe. */
int64_t seg_now_real(void);

#endif
