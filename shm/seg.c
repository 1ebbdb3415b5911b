/* seg.c - create, attach and validate the shared segment. */
#include "seg.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "futex.h"
#include "lane.h"
#include "procid.h"

struct seg_layout {
	uint64_t config_off, lanes_off;
	uint32_t lane_stride;
	uint64_t total;
};

/* Compute where every part goes; -1 with EINVAL for bad parameters. */
static int
seg_layout(uint32_t lanes, uint32_t lane_size, struct seg_layout *l)
{
	/* No lanes: a control page (seg_ctl_create), the meta and config
	 * alone. */
	if (lanes > SEG_LANES_MAX ||
	    lane_size < SEG_LANE_SIZE_MIN || lane_size > SEG_LANE_SIZE_MAX ||
	    (lane_size & (lane_size - 1)) != 0) {
		errno = EINVAL;
		return -1;
	}
	l->config_off = sizeof(struct seg_meta);
	l->lanes_off = (l->config_off + sizeof(struct seg_config) + 4095) & ~(uint64_t)4095;
	l->lane_stride = (uint32_t)sizeof(struct lane_hdr) + lane_size;
	l->total = l->lanes_off + (uint64_t)lanes * l->lane_stride;
	return 0;
}

void
seg_default_name(char *buf, size_t len)
{
	snprintf(buf, len, "/mplog-%u", (unsigned)geteuid());
}

int
seg_env_name(char *buf, size_t len)
{
	const char *env = secure_getenv("MPLOG_SHM");

	seg_default_name(buf, len);
	if (env == NULL || env[0] == '\0')
		return 0;
	if (!seg_name_valid(env) || strlen(env) >= len) {
		errno = EINVAL;
		return -1;
	}
	snprintf(buf, len, "%s", env);
	return 0;
}

int
seg_name_valid(const char *name)
{
	size_t n = strlen(name);

	return n >= 2 && n < SEG_PATH_MAX && name[0] == '/' &&
	    strchr(name + 1, '/') == NULL;
}

/* Fill a new segment's metadata and config from the parameters. */
static void
seg_init(struct seg_meta *m, const struct seg_layout *l, const struct seg_params *p)
{
	struct seg_config *c = (struct seg_config *)((char *)m + l->config_off);

	m->layout_version = SEG_LAYOUT_VERSION;
	m->meta_size = sizeof(*m);
	m->total_size = l->total;
	m->config_off = l->config_off;
	m->lanes_off = l->lanes_off;
	m->lane_count = p->lane_count;
	m->lane_size = p->lane_size;
	m->lane_stride = l->lane_stride;
	m->policy = p->policy;
	m->owner_uid = (uint32_t)geteuid();
	/* The creator is named from the start, so that a second mplogd does
	 * not take a segment still STARTING for a stale one. */
	atomic_store_explicit(&m->consumer_pid, getpid(), memory_order_relaxed);
	atomic_store_explicit(&m->consumer_start, procid_start(getpid()), memory_order_relaxed);
	atomic_store_explicit(&c->level, p->level, memory_order_relaxed);
	atomic_store_explicit(&c->mask, SEG_MASK_TID, memory_order_relaxed);
	/* Release pairs with the acquire in seg_attach(): an attacher that
	 * sees the magic sees every field above. */
	atomic_thread_fence(memory_order_release);
	m->magic = SEG_MAGIC;
}

/* Apply the defaults to zero fields of p. */
static struct seg_params
seg_defaults(const struct seg_params *p)
{
	struct seg_params d = *p;

	if (d.lane_count == 0)
		d.lane_count = SEG_LANES_DEFAULT;
	if (d.lane_size == 0)
		d.lane_size = SEG_LANE_SIZE_DEFAULT;
	if (d.mode == 0)
		d.mode = 0600;
	return d;
}

/* 1 when the object behind seg has another mode or group than p asks
 * (or cannot be checked): --group or its absence must hold after a
 * takeover too. */
static int
seg_mode_differs(const struct seg *seg, const struct seg_params *p)
{
	struct stat st;
	int fd = shm_open(seg->name, O_RDONLY | O_CLOEXEC, 0);
	int differs;

	if (fd == -1)
		return 1;
	differs = fstat(fd, &st) == -1 || st.st_dev != seg->dev || st.st_ino != seg->ino ||
	    (st.st_mode & 0777) != (p->mode & 0660) ||
	    ((p->mode & 0060) != 0 && st.st_gid != p->group);
	close(fd);
	return differs;
}

/* Copy the validated geometry out of the metadata into seg. */
static void
seg_keep_geometry(struct seg *seg)
{
	const struct seg_meta *m = seg->meta;

	seg->config = (struct seg_config *)((char *)m + m->config_off);
	seg->lanes_off = m->lanes_off;
	seg->lane_count = m->lane_count;
	seg->lane_size = m->lane_size;
	seg->lane_stride = m->lane_stride;
	seg->policy = m->policy;
	seg->wake = &seg->config->wake;
	seg->own_lane = NULL;
	seg->alive = NULL;
}

/* Map size bytes of fd into seg, read-write or (prot PROT_READ) not. */
static int
seg_map(struct seg *seg, int fd, size_t size, const char *name, int prot)
{
	void *p = mmap(NULL, size, prot, MAP_SHARED, fd, 0);
	struct stat st;

	if (p == MAP_FAILED)
		return -1;
	if (fstat(fd, &st) == 0) {
		seg->dev = st.st_dev;
		seg->ino = st.st_ino;
	}
	seg->meta = p;
	seg->size = size;
	snprintf(seg->name, sizeof(seg->name), "%s", name);
	return 0;
}

int
seg_create(struct seg *seg, const char *name, const struct seg_params *params)
{
	struct seg_params p = seg_defaults(params);
	struct seg_layout l;
	int fd, saved;

	if (!seg_name_valid(name) || p.policy > SEG_POLICY_DROP || p.level > 7 ||
	    p.lane_count == 0 || seg_layout(p.lane_count, p.lane_size, &l) == -1) {
		errno = EINVAL;
		return -1;
	}
	fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, p.mode & 0660);
	if (fd == -1)
		return -1;
	/* The umask must not narrow the mode, nor is the group inherited. */
	if (fchmod(fd, p.mode & 0660) == -1 ||
	    ((p.mode & 0060) != 0 && fchown(fd, (uid_t)-1, p.group) == -1) ||
	    ftruncate(fd, (off_t)l.total) == -1 ||
	    seg_map(seg, fd, l.total, name, PROT_READ | PROT_WRITE) == -1) {
		saved = errno;
		close(fd);
		shm_unlink(name);
		errno = saved;
		return -1;
	}
	close(fd);
	seg_init(seg->meta, &l, &p);
	seg_keep_geometry(seg);
	return 0;
}

/* Check a mapped segment's metadata against its size; errno on failure. */
static int
seg_validate(const struct seg_meta *m, size_t size)
{
	struct seg_layout l;

	if (size < sizeof(*m) || m->magic != SEG_MAGIC ||
	    m->layout_version != SEG_LAYOUT_VERSION) {
		errno = EPROTO;
		return -1;
	}
	/* Pairs with the release fence in seg_init(). */
	atomic_thread_fence(memory_order_acquire);
	if (m->meta_size != sizeof(*m) || m->policy > SEG_POLICY_DROP ||
	    seg_layout(m->lane_count, m->lane_size, &l) == -1 ||
	    m->total_size != size || l.total != size ||
	    m->config_off != l.config_off || m->lanes_off != l.lanes_off ||
	    m->lane_stride != l.lane_stride) {
		errno = EBADMSG;
		return -1;
	}
	return 0;
}

/* May this process use a segment with these attributes? Its group is
 * ours when it is our effective gid (a set-group-ID program, setgid(2)
 * without setgroups(2)) or one of our supplementary groups: group_member
 * asks only the latter. */
static int
seg_permitted(const struct stat *st)
{
	if (st->st_uid == geteuid())
		return 1;
	return (st->st_mode & 0060) == 0060 &&
	    (st->st_gid == getegid() || group_member(st->st_gid));
}

int
seg_attach(struct seg *seg, const char *name)
{
	struct stat st;
	int fd, saved;

	if (!seg_name_valid(name)) {
		errno = EINVAL;
		return -1;
	}
	fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		goto fail;
	if (!seg_permitted(&st) || (st.st_mode & 0007) != 0) {
		errno = EPERM;
		goto fail;
	}
	if ((size_t)st.st_size < sizeof(struct seg_meta)) {
		errno = EPROTO;
		goto fail;
	}
	if (seg_map(seg, fd, (size_t)st.st_size, name, PROT_READ | PROT_WRITE) == -1)
		goto fail;
	close(fd);
	if (seg_validate(seg->meta, seg->size) == -1)
		goto unmap;
	if (seg->meta->owner_uid != st.st_uid) {
		errno = EBADMSG;        /* contradicts the object's owner */
		goto unmap;
	}
	seg_keep_geometry(seg);
	return 0;
unmap:
	saved = errno;
	seg_detach(seg);
	errno = saved;
	return -1;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

void
seg_detach(struct seg *seg)
{
	if (seg->meta != NULL)
		munmap(seg->meta, seg->size);
	seg->meta = NULL;
	seg->config = NULL;
	seg->size = 0;
}

int64_t
seg_now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t
seg_now_real(void)
{
	return (int64_t)tsc_vdso_real();
}

void
seg_consumer_start(struct seg *seg)
{
	struct seg_meta *m = seg->meta;
	pid_t self = getpid();

	atomic_store_explicit(&m->consumer_pid, self, memory_order_relaxed);
	atomic_store_explicit(&m->consumer_start, procid_start(self), memory_order_relaxed);
	seg_heartbeat(seg);
	/* Release pairs with the acquire in seg_consumer_live(): a producer
	 * that sees RUNNING sees the consumer's identity and heartbeat. */
	atomic_store_explicit(&m->state, SEG_STATE_RUNNING, memory_order_release);
}

void
seg_heartbeat(struct seg *seg)
{
	atomic_store_explicit(&seg->meta->heartbeat_ns, (uint64_t)seg_now_mono(),
	    memory_order_relaxed);
}

void
seg_consumer_close(struct seg *seg)
{
	/* seq_cst pairs with the fence in the producer's fallback check:
	 * a producer that publishes after this sees CLOSED and takes its
	 * unconsumed records back itself. */
	atomic_store_explicit(&seg->meta->state, SEG_STATE_CLOSED, memory_order_seq_cst);
	atomic_store_explicit(&seg->meta->consumer_pid, 0, memory_order_relaxed);
}

int
seg_holder_lives(const struct seg *seg)
{
	uint32_t w;

	if (seg->alive == NULL)
		return 1;
	/* Relaxed: the kernel writes the word once at the holder's death;
	 * nothing else is read through it. */
	w = atomic_load_explicit(seg->alive, memory_order_relaxed);
	return (w & FUTEX_TID_MASK) != 0 && (w & FUTEX_OWNER_DIED) == 0;
}

int
seg_consumer_running(const struct seg *seg)
{
	const struct seg_meta *m = seg->meta;
	int64_t beat;

	if (!seg_holder_lives(seg))
		return 0;
	/* Pairs with the release in seg_consumer_start(). */
	if (atomic_load_explicit(&m->state, memory_order_acquire) != SEG_STATE_RUNNING)
		return 0;
	beat = (int64_t)atomic_load_explicit(&m->heartbeat_ns, memory_order_relaxed);
	return seg_now_mono() - beat < SEG_STALE_NS;
}

int
seg_consumer_live(const struct seg *seg)
{
	pid_t pid;

	if (!seg_consumer_running(seg))
		return 0;
	if (seg->alive != NULL)
		return 1;       /* its death would be in the word: no probe */
	/* A killed consumer is seen at once, not only when its heartbeat
	 * goes stale; EPERM means it exists under another user. */
	pid = atomic_load_explicit(&seg->meta->consumer_pid, memory_order_relaxed);
	return pid > 0 && (kill(pid, 0) == 0 || errno != ESRCH);
}

int
seg_consumer_exists(const struct seg *seg)
{
	const struct seg_meta *m = seg->meta;
	pid_t pid = atomic_load_explicit(&m->consumer_pid, memory_order_relaxed);
	uint64_t start = atomic_load_explicit(&m->consumer_start, memory_order_relaxed);

	return pid > 0 && procid_alive(procid_pack(pid, start));
}

void
seg_wake_consumer(struct seg *seg)
{
	/* Pairs with the fence in seg_consumer_sleep(): either the consumer
	 * sees our published head, or we see it sleeping and wake it. */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&seg->config->sleeping, memory_order_relaxed) != 0) {
		/* Release pairs with the acquire of the word in
		 * seg_consumer_sleep(): a consumer whose snapshot of it
		 * already holds this bump also sees our head. */
		atomic_fetch_add_explicit(seg->wake, 1, memory_order_release);
		futex_wake(seg->wake);
	}
}

/* Sleep on the words of up to two segments; ENOSYS (no futex_waitv,
 * before Linux 5.16) waits on the first in slices, so that a wake of the
 * second is seen within SEG_WAITV_SLICE_NS. */
static void
seg_wait_words(_Atomic uint32_t *const w[2], const uint32_t v[2], int n, int64_t timeout_ns)
{
	if (n == 2 && futex_wait2(w, v, timeout_ns) == -1 && errno == ENOSYS)
		futex_wait(w[0], v[0], timeout_ns < SEG_WAITV_SLICE_NS ? timeout_ns :
		    SEG_WAITV_SLICE_NS);
	else if (n == 1)
		futex_wait(w[0], v[0], timeout_ns);
}

void
seg_consumer_sleep2(struct seg *seg, struct seg *ctl, int64_t timeout_ns,
    int (*pending)(void *), void *arg)
{
	struct seg *s[2] = { seg, ctl };
	_Atomic uint32_t *w[2] = { NULL, NULL };
	uint32_t v[2] = { 0, 0 };
	int n = ctl != NULL ? 2 : 1;

	for (int i = 0; i < n; i++) {
		w[i] = s[i]->wake;
		/* Acquire pairs with the release bump in seg_wake_consumer():
		 * if the snapshot already holds a bump (the futex would then
		 * not see a change), pending() sees what the waker published. */
		v[i] = atomic_load_explicit(w[i], memory_order_acquire);
		atomic_store_explicit(&s[i]->config->sleeping, 1, memory_order_relaxed);
	}
	/* Pairs with the fence in seg_wake_consumer(). */
	atomic_thread_fence(memory_order_seq_cst);
	if (!pending(arg))
		seg_wait_words(w, v, n, timeout_ns);
	for (int i = 0; i < n; i++)
		atomic_store_explicit(&s[i]->config->sleeping, 0, memory_order_relaxed);
}

void
seg_consumer_sleep(struct seg *seg, int64_t timeout_ns, int (*pending)(void *), void *arg)
{
	seg_consumer_sleep2(seg, NULL, timeout_ns, pending, arg);
}

void
seg_consumer_nap(struct seg *seg, int64_t timeout_ns)
{
	uint32_t word = atomic_load_explicit(seg->wake, memory_order_relaxed);

	/* sleeping stays 0: producers do not wake us; a bump of wake does. */
	futex_wait(seg->wake, word, timeout_ns);
}

struct lane_hdr *
seg_lane(const struct seg *seg, uint32_t i)
{
	return (struct lane_hdr *)((char *)seg->meta + seg->lanes_off +
	    (uint64_t)i * seg->lane_stride);
}

int
seg_adopt(struct seg *seg, const struct seg_params *params)
{
	struct seg_params p = seg_defaults(params);
	struct seg_config *c = seg->config;

	if (seg->lane_count != p.lane_count || seg->lane_size != p.lane_size ||
	    seg->policy != p.policy || p.level > 7 || seg_mode_differs(seg, &p)) {
		errno = ESTALE;
		return -1;
	}
	/* Relaxed, then the version bump with release: pairs with the
	 * acquire of version by producers that cache the config. */
	atomic_store_explicit(&c->level, p.level, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->version, 1, memory_order_release);
	return 0;
}

int
seg_unlink_own(const struct seg *seg)
{
	struct stat st;
	int fd = shm_open(seg->name, O_RDONLY | O_CLOEXEC, 0);

	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1 || st.st_dev != seg->dev || st.st_ino != seg->ino) {
		close(fd);
		errno = ESTALE;
		return -1;
	}
	close(fd);
	return shm_unlink(seg->name);
}

int
seg_ctl_create(struct seg *ctl, int fd, const struct seg *from)
{
	struct seg_params p = { .lane_count = 0, .lane_size = from->lane_size,
	    .policy = from->policy,
	    .level = atomic_load_explicit(&from->config->level, memory_order_relaxed) };
	struct seg_layout l;

	if (seg_layout(0, p.lane_size, &l) == -1 || ftruncate(fd, (off_t)l.total) == -1 ||
	    seg_map(ctl, fd, l.total, from->name, PROT_READ | PROT_WRITE) == -1)
		return -1;
	seg_init(ctl->meta, &l, &p);
	seg_keep_geometry(ctl);
	seg_ctl_mirror(ctl, from);
	return 0;
}

/* Store v in *w (relaxed) only when it differs: *w is on the line every
 * producer reads at every call (the level, the TSC's line), and a store
 * of the same value takes that line from their caches all the same. */
static void
seg_store_changed(_Atomic uint32_t *w, uint32_t v)
{
	if (atomic_load_explicit(w, memory_order_relaxed) != v)
		atomic_store_explicit(w, v, memory_order_relaxed);
}

void
seg_ctl_mirror(struct seg *ctl, const struct seg *from)
{
	const struct seg_meta *f = from->meta;
	struct seg_meta *m = ctl->meta;
	uint32_t state = atomic_load_explicit(&f->state, memory_order_acquire);

	/* Relaxed copies, then the state with release, as seg_consumer_start()
	 * publishes them: pairs with the acquire in seg_consumer_running(). */
	atomic_store_explicit(&m->consumer_pid, atomic_load_explicit(&f->consumer_pid,
	    memory_order_relaxed), memory_order_relaxed);
	atomic_store_explicit(&m->consumer_start, atomic_load_explicit(&f->consumer_start,
	    memory_order_relaxed), memory_order_relaxed);
	atomic_store_explicit(&m->heartbeat_ns, atomic_load_explicit(&f->heartbeat_ns,
	    memory_order_relaxed), memory_order_relaxed);
	seg_store_changed(&ctl->config->level, atomic_load_explicit(&from->config->level,
	    memory_order_relaxed));
	seg_store_changed(&ctl->config->mask, atomic_load_explicit(&from->config->mask,
	    memory_order_relaxed));
	/* seq_cst as in seg_consumer_close(): a producer that publishes
	 * after a CLOSED copy sees it and takes its records back. */
	if (atomic_load_explicit(&m->state, memory_order_relaxed) != state)
		atomic_store_explicit(&m->state, state, memory_order_seq_cst);
}

void
seg_set_mirrored(struct seg *seg, uint32_t version)
{
	/* Written only when it moves: the line is the one producers read
	 * the level from. Release pairs with the acquire in mplogctl's
	 * wait: the control page's level is stored first. */
	if (atomic_load_explicit(&seg->config->mirrored, memory_order_relaxed) != version)
		atomic_store_explicit(&seg->config->mirrored, version, memory_order_release);
}

int
seg_ctl_attach(struct seg *seg, int fd)
{
	struct stat st;
	int saved;

	if (fstat(fd, &st) == -1)
		return -1;
	if ((size_t)st.st_size < sizeof(struct seg_meta) || st.st_size > 65536) {
		errno = EBADMSG;
		return -1;
	}
	if (seg_map(seg, fd, (size_t)st.st_size, "", PROT_READ) == -1)
		return -1;
	if (seg_validate(seg->meta, seg->size) == -1)
		goto fail;
	if (seg->meta->lane_count != 0) {
		errno = EBADMSG;
		goto fail;
	}
	seg_keep_geometry(seg);
	return 0;
fail:
	saved = errno;
	seg_detach(seg);
	errno = saved;
	return -1;
}
