/*
 * shim.h - the shim's process-wide state, and the one way a hook hands a
 * line to mplog.
 *
 * Configuration is read once, in the constructor, with secure_getenv; in a
 * secure-execution (setuid) process, or in mplog's own programs, the shim
 * is off and every hook passes straight through. mplogd is attached
 * lazily, on the first line, by the thread that writes it: a lane of its
 * own from MPLOG_SOCKET, else from its instance's socket, else its
 * instance's segment, else the system instance (lanesock.h). A process
 * that never logs maps nothing and starts nothing. Attaching makes system
 * calls (connect, mmap, close; no descriptor stays open) and waits at
 * most LANESOCK_REPLY_NS for mplogd's answer; a vfork child attaches
 * nothing.
 *
 * States: UNINIT -> ATTACHING -> LIVE, or -> PASS when there is no live
 * mplogd; PASS retries after SHIM_RETRY_NS, or every SHIM_RECONNECT_NS
 * for SHIM_RECONNECT_FOR_NS after a loss. The pipeline thread moves
 * LIVE -> PASS when mplogd goes away.
 *
 * Everything here is lock-free; all but the attachment is
 * async-signal-safe. The capture of a
 * line itself is capture.h's; start.c runs the constructor and the exit
 * flush.
 */
#ifndef MPLOG_SHIM_H
#define MPLOG_SHIM_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <unistd.h>

#include "heapring.h"
#include "lanesock.h"
#include "seg.h"

#define SHIM_RETRY_NS     (1000 * 1000000LL)  /* between attach attempts */
#define SHIM_RECONNECT_NS (10 * 1000000LL)    /* the same, just after a loss */
#define SHIM_RECONNECT_FOR_NS (5000 * 1000000LL) /* how long "just after" */
/* Wait for another thread's attachment: as long as it may take, its
 * handshake with mplogd included (its reply waited for up to
 * LANESOCK_REPLY_NS), or a line written meanwhile would be passed through. */
#define SHIM_ATTACH_NS    (LANESOCK_REPLY_NS + 100 * 1000000LL)
#define SHIM_BLOCK_NS     (1000 * 1000000LL)  /* block policy: no progress */
#define SHIM_SNAP_MAX     1024  /* a snapshot taken on the stack */
#define SHIM_ESNAP_TEXT_MAX 65536 /* longest text a stderr snapshot makes */
#define SHIM_STDOUT_PRI   (LOG_USER | LOG_INFO) /* of a stdout line without <N> */

enum shim_state {
	SHIM_UNINIT = 0,
	SHIM_ATTACHING = 1,
	SHIM_LIVE = 2,
	SHIM_PASS = 3,
	SHIM_OFF = 4,           /* disabled for the life of the process */
};

/* What becomes of a captured stream (MPLOG_STDERR, MPLOG_STDOUT). */
enum shim_mode {
	SHIM_CAPTURE = 0,       /* into the log only */
	SHIM_TEE = 1,           /* into the log and where it was going */
	SHIM_PASS_THROUGH = 2,  /* left alone */
};

struct shim {
	_Atomic int state;              /* enum shim_state */
	_Atomic int64_t retry_ns;       /* PASS: next attach attempt */
	_Atomic int32_t lost_pid;       /* PASS: the mplogd that went away */
	_Atomic int64_t lost_ns;        /* CLOCK_MONOTONIC of that, 0 never */
	int stderr_mode;                /* enum shim_mode */
	int stdout_mode;                /* enum shim_mode; default pass */
	_Atomic int pid;                /* this process (not a vfork child) */
	uint8_t stderr_pri;             /* facility << 3 | severity */
	int debug;
	char shm_name[SEG_PATH_MAX];
	char sock_path[108];            /* MPLOG_SOCKET, or "" */
	char name[SEG_NAME_MAX];
	struct seg seg;                 /* valid from LIVE on; never unmapped */
	_Atomic(struct heapring *) ring;
	/* syslog state mirrored from the program's calls */
	_Atomic int logmask;
	_Atomic int facility;
	_Atomic int logopt;             /* openlog's option */
	_Atomic(const char *) logtag;   /* openlog's ident, kept as glibc does */
	_Atomic uint32_t ident;         /* idents.h index, 0: program name */
	_Atomic int printf_changed;     /* register_printf_*: no snapshots */
	int multiline;                  /* MPLOG_MULTILINE=1: multiline.h */
	unsigned long long catchall_ino; /* MPLOG_CATCHALL: the inode of mplogd's
	                                  * catch-all socket, or 0 */
};

extern struct shim shim;

/* Read the environment and resolve libc; run from the constructor. */
void shim_init(void);

/* 1 when mplog captures now, attaching first if due; 0: the caller
 * passes through. Call between shim_enter and shim_leave. */
int shim_live(void);

/* shim_live, then the level: 1 capture a record of severity sev, 0 below
 * the level (discard), -1 pass through. */
int shim_wants(unsigned sev);

extern _Atomic(struct seg *) shim_segp;

/* The segment attached now, or NULL before the first attachment. Inline:
 * every captured call reads it. */
static inline struct seg *
shim_seg(void)
{
	/* Pairs with the release in shim_attach_now(). */
	return atomic_load_explicit(&shim_segp, memory_order_acquire);
}

/* CLOCK_REALTIME now, for a record: from the TSC on the line of the
 * attached mplogd (shm/tsc.h), else from the vDSO. Inline: every captured
 * call takes one. */
static inline uint64_t
shim_now_real(void)
{
	struct seg *s = shim_seg();

	return tsc_now_real(s != NULL ? &s->config->tsc : NULL);
}

/* Move from LIVE to PASS: mplogd (pid gone) went away; retry attaching
 * later, or as soon as another mplogd takes over the segment. */
void shim_lost(pid_t gone);

/* Stop capturing for the life of the process. */
void shim_off(void);

/* 1 in this process; 0 in a vfork child, which shares our memory but not
 * our threads or descriptor table. Signal-safe (one system call). */
int shim_ours(void);

extern __thread int32_t shim_tid_cached;

/* The calling thread's id, cached. Signal-safe. */
static inline int32_t
shim_tid(void)
{
	if (shim_tid_cached == 0)
		shim_tid_cached = (int32_t)syscall(SYS_gettid);
	return shim_tid_cached;
}

/* The calling thread's nesting of hooks (shim_enter): above 1 in a
 * signal handler that interrupted a hook. */
extern __thread int shim_depth;

/* 1 on the pipeline thread, whose own calls are never captured. */
extern __thread int shim_on_pipeline;

/* Enter and leave a hook; shim_enter returns the nesting depth. */
int shim_enter(void);
void shim_leave(void);


/* A diagnostic on the original stderr, only when MPLOG_DEBUG is set. */
void shim_debug(const char *what, const char *detail, int err);

/* Forget the calling thread's cached id (forked child). */
void shim_forget_tid(void);

#endif
