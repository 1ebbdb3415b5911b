/* shim.c - process state, configuration, and lazy attachment. */
#include "shim.h"

#include "lanesock.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "fdset.h"
#include "lanesock.h"
#include "pri.h"
#include "real.h"
#include "wfc.h"

struct shim shim = {
	.logmask = 0xff,
	.facility = LOG_USER,
	.stderr_pri = LOG_USER | LOG_INFO,
	.stdout_mode = SHIM_PASS_THROUGH,
};

static _Atomic int shim_inited;         /* 0 no, 1 running, 2 done */
_Atomic(struct seg *) shim_segp;        /* the current segment */

__thread int32_t shim_tid_cached __attribute__((tls_model("initial-exec")));
__thread int shim_depth __attribute__((tls_model("initial-exec")));
__thread int shim_on_pipeline __attribute__((tls_model("initial-exec")));

/* The mode the variable var names (capture, tee, pass), else dflt, which
 * an unknown value keeps, saying so in debug. */
static int
shim_init_mode(const char *var, int dflt, const char *unknown)
{
	const char *mode = secure_getenv(var);

	if (mode == NULL)
		return dflt;
	if (strcmp(mode, "capture") == 0)
		return SHIM_CAPTURE;
	if (strcmp(mode, "tee") == 0)
		return SHIM_TEE;
	if (strcmp(mode, "pass") == 0)
		return SHIM_PASS_THROUGH;
	shim_debug(unknown, mode, 0);
	return dflt;
}

/*
 * 1 when descriptor 1 is the stdout to capture: MPLOG_STDOUT_ID, when set,
 * names it as "DEV:INO" (mplog-run sets it to its own stdout), so that a
 * process whose stdout is a pipe inside the tree (`$(cmd)`, `cmd | grep`)
 * keeps it: that output is data for another program, not its log.
 */
static int
shim_stdout_is_the_one(void)
{
	const char *id = secure_getenv("MPLOG_STDOUT_ID");
	unsigned long long dev, ino;
	struct stat st;

	if (id == NULL || id[0] == '\0')
		return 1;
	if (sscanf(id, "%llu:%llu", &dev, &ino) != 2) {
		shim_debug("MPLOG_STDOUT_ID: not DEV:INO, capturing fd 1", id, 0);
		return 1;
	}
	return fstat(1, &st) == 0 && (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

/* Parse MPLOG_STDERR, MPLOG_STDOUT and MPLOG_STDERR_SEVERITY; unknown
 * values keep the defaults and say so in debug. */
static void
shim_init_streams(void)
{
	const char *mode;
	int sev;

	shim.stderr_mode = shim_init_mode("MPLOG_STDERR", SHIM_CAPTURE,
	    "MPLOG_STDERR: unknown mode, using capture");
	shim.stdout_mode = shim_init_mode("MPLOG_STDOUT", SHIM_PASS_THROUGH,
	    "MPLOG_STDOUT: unknown mode, using pass");
	if (shim.stdout_mode != SHIM_PASS_THROUGH && !shim_stdout_is_the_one())
		shim.stdout_mode = SHIM_PASS_THROUGH;
	if ((mode = secure_getenv("MPLOG_STDERR_SEVERITY")) == NULL)
		return;
	if ((sev = pri_severity_parse(mode)) == -1)
		shim_debug("MPLOG_STDERR_SEVERITY: unknown severity, using info", mode, 0);
	else
		shim.stderr_pri = (uint8_t)(LOG_USER | sev);
}

/* Work out the segment and process names. */
static void
shim_init_names(void)
{
	const char *name = secure_getenv("MPLOG_NAME");
	const char *sock = secure_getenv("MPLOG_SOCKET");

	if (seg_env_name(shim.shm_name, sizeof(shim.shm_name)) == -1)
		shim_debug("MPLOG_SHM: not a segment name, using the default",
		    secure_getenv("MPLOG_SHM"), 0);
	if (sock != NULL && sock[0] != '\0')
		snprintf(shim.sock_path, sizeof(shim.sock_path), "%s", sock);
	if (name == NULL || name[0] == '\0')
		name = program_invocation_short_name;
	strncpy(shim.name, name, sizeof(shim.name) - 1);
	name = secure_getenv("MPLOG_MULTILINE");
	shim.multiline = name != NULL && strcmp(name, "1") == 0;
	if ((name = secure_getenv("MPLOG_CATCHALL")) != NULL)
		shim.catchall_ino = strtoull(name, NULL, 10);
}

void
shim_init(void)
{
	int expect = 0;

	if (!atomic_compare_exchange_strong_explicit(&shim_inited, &expect, 1,
	    memory_order_acquire, memory_order_relaxed))
		return;
	real_init();
	atomic_store_explicit(&shim.pid, getpid(), memory_order_relaxed);
	shim.debug = secure_getenv("MPLOG_DEBUG") != NULL;
	if (getauxval(AT_SECURE) != 0 || dlsym(RTLD_DEFAULT, "mplog_no_capture") != NULL) {
		atomic_store_explicit(&shim.state, SHIM_OFF, memory_order_relaxed);
	} else {
		shim_init_streams();
		shim_init_names();
		wfc_init();
		fdset_init(shim.stdout_mode != SHIM_PASS_THROUGH);
	}
	/* Release pairs with the acquire in shim_ready(). */
	atomic_store_explicit(&shim_inited, 2, memory_order_release);
}

/* 1 once shim_init has finished (running it if nobody has). */
static int
shim_ready(void)
{
	if (atomic_load_explicit(&shim_inited, memory_order_acquire) == 2)
		return 1;
	shim_init();
	return atomic_load_explicit(&shim_inited, memory_order_acquire) == 2;
}

/* Map a struct seg for a new attachment; never freed (hooks may read it). */
static struct seg *
shim_seg_alloc(void)
{
	void *p = mmap(NULL, sizeof(struct seg), PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Make sp, a live mplogd's segment or control page, the current one. */
static void
shim_go_live(struct seg *sp)
{
	/* Release pairs with the acquire in shim_seg(). */
	atomic_store_explicit(&shim_segp, sp, memory_order_release);
	atomic_store_explicit(&shim.state, SHIM_LIVE, memory_order_release);
}

/* Attach to the segment of our instance; 1 when its mplogd is live. */
static int
shim_attach_shm(void)
{
	struct seg s, *sp;

	if (seg_attach(&s, shim.shm_name) == 0) {
		struct seg *cur = shim_seg();
		/* The segment we had, taken over by a new mplogd: keep its
		 * mapping (and the lane the pipeline holds in it). Our mapping
		 * keeps the object, so its inode number is not reused. */
		int same = cur != NULL && cur->own_lane == NULL && cur->dev == s.dev &&
		    cur->ino == s.ino;

		if (same) {
			seg_detach(&s);
			s = *cur;
		}
		if (seg_consumer_live(&s) && (sp = same ? cur : shim_seg_alloc()) != NULL) {
			if (!same)
				*sp = s;
			shim_go_live(sp);
			return 1;
		}
		if (!same)
			seg_detach(&s);
		else            /* not this one again until another comes */
			atomic_store_explicit(&shim.lost_pid, atomic_load_explicit(
			    &cur->meta->consumer_pid, memory_order_relaxed), memory_order_relaxed);
		shim_debug("no live mplogd on", shim.shm_name, 0);
	} else {
		shim_debug("cannot attach", shim.shm_name, errno);
	}
	return 0;
}

/* Ask the mplogd listening at path for a lane of our own; 1 when live.
 * Every attachment is a new lane: a forked child never writes its
 * parent's. */
static int
shim_attach_socket(const char *path)
{
	struct seg s, *sp;

	if (lanesock_attach(&s, path) == -1) {
		shim_debug("no lane from", path, errno);
		return 0;
	}
	if (!seg_consumer_live(&s) || (sp = shim_seg_alloc()) == NULL) {
		lanesock_detach(&s);
		shim_debug("no live mplogd at", path, 0);
		return 0;
	}
	*sp = s;
	shim_go_live(sp);
	return 1;
}

/* Our instance: a lane of our own from its socket, else its segment
 * (an mplogd that does not listen). */
static int
shim_attach_instance(void)
{
	char path[sizeof(shim.sock_path)];

	lanesock_instance_path(shim.shm_name, path, sizeof(path));
	return shim_attach_socket(path) || shim_attach_shm();
}

/*
 * When to try again, now that no live mplogd was found: soon while a
 * lost mplogd may be being replaced (SHIM_RECONNECT_NS for
 * SHIM_RECONNECT_FOR_NS after the loss), else after SHIM_RETRY_NS.
 */
static int64_t
shim_next_try(int64_t now)
{
	int64_t lost = atomic_load_explicit(&shim.lost_ns, memory_order_relaxed);

	return now + (lost != 0 && now - lost < SHIM_RECONNECT_FOR_NS ? SHIM_RECONNECT_NS :
	    SHIM_RETRY_NS);
}

/*
 * Try to attach to a live mplogd; LIVE or PASS afterwards. MPLOG_SOCKET
 * names the one; else our instance, else the system instance.
 */
static int
shim_attach_now(void)
{
	if (shim.sock_path[0] != '\0' ? shim_attach_socket(shim.sock_path) :
	    shim_attach_instance() || shim_attach_socket(LANESOCK_SYSTEM_PATH))
		return 1;
	atomic_store_explicit(&shim.retry_ns, shim_next_try(seg_now_mono()), memory_order_relaxed);
	atomic_store_explicit(&shim.state, SHIM_PASS, memory_order_release);
	return 0;
}

/* Wait, bounded, for another thread's attachment to finish. */
static int
shim_attach_wait(void)
{
	int64_t until = seg_now_mono() + SHIM_ATTACH_NS;

	if (shim_depth > 1)
		return 0;       /* we may have interrupted the attacher */
	while (atomic_load_explicit(&shim.state, memory_order_acquire) == SHIM_ATTACHING) {
		if (seg_now_mono() > until)
			return 0;
		sched_yield();
	}
	return atomic_load_explicit(&shim.state, memory_order_acquire) == SHIM_LIVE;
}

/*
 * Has another mplogd taken over the segment we lost? Loads only, so that
 * a program writing while mplogd is away pays no system call: a new
 * consumer pid in a RUNNING segment. Attaching then checks it properly.
 */
static int
shim_taken_over(void)
{
	struct seg *s = shim_seg();

	/* Acquire pairs with the release in seg_consumer_start(): the pid
	 * read next is the new consumer's. */
	return s != NULL &&
	    atomic_load_explicit(&s->meta->state, memory_order_acquire) == SEG_STATE_RUNNING &&
	    atomic_load_explicit(&s->meta->consumer_pid, memory_order_relaxed) !=
	    atomic_load_explicit(&shim.lost_pid, memory_order_relaxed);
}

/* 1 when capturing into a live segment, attaching first if due. */
static int
shim_attach(void)
{
	for (;;) {
		int st = atomic_load_explicit(&shim.state, memory_order_acquire);

		if (st == SHIM_LIVE)
			return 1;
		if (st == SHIM_OFF)
			return 0;
		/* A vfork child attaches nothing: the lane it would be handed
		 * would be its own pid's, in its parent's memory. */
		if (!shim_ours())
			return 0;
		if (st == SHIM_ATTACHING)
			return shim_attach_wait();
		if (st == SHIM_PASS && seg_now_mono() <
		    atomic_load_explicit(&shim.retry_ns, memory_order_relaxed) &&
		    !shim_taken_over())
			return 0;
		if (atomic_compare_exchange_strong_explicit(&shim.state, &st,
		    SHIM_ATTACHING, memory_order_acquire, memory_order_relaxed))
			return shim_attach_now();
	}
}

int
shim_live(void)
{
	return shim_ready() && !shim_on_pipeline && shim_attach();
}

int
shim_wants(unsigned sev)
{
	struct seg *s;

	if (!shim_live())
		return -1;
	s = shim_seg();
	/* Relaxed: the level is a single word; a change applies from the
	 * next call that loads it. */
	return sev <= atomic_load_explicit(&s->config->level, memory_order_relaxed);
}

int
shim_ours(void)
{
	/* Relaxed: shim.pid changes only in a forked child, before it runs
	 * anything else. */
	return getpid() == atomic_load_explicit(&shim.pid, memory_order_relaxed);
}

void
shim_forget_tid(void)
{
	shim_tid_cached = 0;
}

int
shim_enter(void)
{
	return ++shim_depth;
}

void
shim_leave(void)
{
	shim_depth--;
}

void
shim_debug(const char *what, const char *detail, int err)
{
	struct iovec iov[7];
	int n = 0;

	if (!shim.debug)
		return;
	iov[n++] = (struct iovec){ "mplog: ", 7 };
	iov[n++] = (struct iovec){ (void *)what, strlen(what) };
	if (detail != NULL) {
		iov[n++] = (struct iovec){ ": ", 2 };
		iov[n++] = (struct iovec){ (void *)detail, strlen(detail) };
	}
	if (err != 0) {
		const char *e = strerrordesc_np(err);
		iov[n++] = (struct iovec){ ": ", 2 };
		iov[n++] = (struct iovec){ (void *)(e ? e : "error"), strlen(e ? e : "error") };
	}
	iov[n++] = (struct iovec){ "\n", 1 };
	real_writev(2, iov, n);
}

void
shim_lost(pid_t gone)
{
	int live = SHIM_LIVE;
	int64_t now = seg_now_mono();

	atomic_store_explicit(&shim.lost_pid, gone, memory_order_relaxed);
	atomic_store_explicit(&shim.lost_ns, now, memory_order_relaxed);
	atomic_store_explicit(&shim.retry_ns, shim_next_try(now), memory_order_relaxed);
	atomic_compare_exchange_strong_explicit(&shim.state, &live, SHIM_PASS,
	    memory_order_release, memory_order_relaxed);
}

void
shim_off(void)
{
	atomic_store_explicit(&shim.state, SHIM_OFF, memory_order_release);
}
