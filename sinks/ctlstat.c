/* ctlstat.c - sample a segment for mplogctl status. */
#include "ctlstat.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lane.h"
#include "lanesock.h"
#include "procid.h"

/* The counters of one lane that the rates are computed from. */
struct ctlstat_sample {
	uint64_t owner, records, bytes;
};

const char *
ctlstat_daemon_state_name(enum ctlstat_daemon_state s)
{
	switch (s) {
	case CTLSTAT_ALIVE:
		return "alive";
	case CTLSTAT_STARTING:
		return "starting";
	case CTLSTAT_STOPPED:
		return "stopped";
	case CTLSTAT_GONE:
		break;
	}
	return "gone";
}

const char *
ctlstat_seg_state_name(uint32_t s)
{
	switch (s) {
	case SEG_STATE_STARTING:
		return "starting";
	case SEG_STATE_RUNNING:
		return "running";
	case SEG_STATE_CLOSED:
		return "closed";
	default:
		return "unknown";
	}
}

/* Seconds since a process that started start ticks after boot did; -1
 * when that start is 0 or lies in the future (a scribbled word). */
static int64_t
ctlstat_uptime(uint64_t start)
{
	long hz = sysconf(_SC_CLK_TCK);
	struct timespec now;

	if (start == 0 || hz <= 0 || clock_gettime(CLOCK_BOOTTIME, &now) == -1)
		return -1;
	if (start / (uint64_t)hz > (uint64_t)now.tv_sec)
		return -1;
	return (int64_t)((uint64_t)now.tv_sec - start / (uint64_t)hz);
}

/* The daemon recorded in the segment, and what it is doing. */
static void
ctlstat_daemon(struct ctlstat_daemon *d, const struct seg *seg)
{
	const struct seg_meta *m = seg->meta;
	/* Acquire pairs with the release in seg_consumer_start(): the pid,
	 * start time and heartbeat loaded next are the running consumer's. */
	uint32_t state = atomic_load_explicit(&m->state, memory_order_acquire);
	int32_t pid = atomic_load_explicit(&m->consumer_pid, memory_order_relaxed);
	uint64_t start = atomic_load_explicit(&m->consumer_start, memory_order_relaxed);
	uint64_t beat = atomic_load_explicit(&m->heartbeat_ns, memory_order_relaxed);
	int64_t now = seg_now_mono();

	d->seg_state = state;
	d->pid = pid > 0 ? pid : 0;
	d->damaged = atomic_load_explicit(&m->damaged, memory_order_relaxed);
	d->heartbeat_age_ns = beat != 0 && beat <= (uint64_t)now ? now - (int64_t)beat : -1;
	d->uptime_s = -1;
	if (d->pid == 0 || (state != SEG_STATE_RUNNING && state != SEG_STATE_STARTING) ||
	    !procid_alive(procid_pack(pid, start)))
		d->state = CTLSTAT_GONE;
	else if (state == SEG_STATE_STARTING)
		d->state = CTLSTAT_STARTING;
	else if (d->heartbeat_age_ns == -1 || d->heartbeat_age_ns >= SEG_STALE_NS)
		d->state = CTLSTAT_STOPPED;
	else
		d->state = CTLSTAT_ALIVE;
	if (d->state != CTLSTAT_GONE)
		d->uptime_s = ctlstat_uptime(start);
}

/* The segment's geometry, level, and the mode and group of its object
 * (unknown when its name now names another object). */
static void
ctlstat_segment(struct ctlstat_segment *s, const struct seg *seg)
{
	uint32_t level = atomic_load_explicit(&seg->config->level, memory_order_relaxed);
	struct group gr, *found = NULL;
	char buf[4096];
	struct stat st;
	int fd;

	s->name = seg->name;
	s->size = seg->size;
	s->lanes_total = seg->lane_count;
	s->lanes_used = 0;
	s->lane_size = seg->lane_size;
	s->policy = seg->policy;
	s->level = level <= 7 ? (int)level : -1;
	s->mode = -1;
	s->gid = 0;
	s->group[0] = '\0';
	if ((fd = shm_open(seg->name, O_RDONLY | O_CLOEXEC, 0)) == -1)
		return;
	if (fstat(fd, &st) == 0 && st.st_dev == seg->dev && st.st_ino == seg->ino) {
		s->mode = (int)(st.st_mode & 07777);
		s->gid = st.st_gid;
		if (getgrgid_r(st.st_gid, &gr, buf, sizeof(buf), &found) == 0 && found != NULL)
			snprintf(s->group, sizeof(s->group), "%s", found->gr_name);
	}
	close(fd);
}

/* The counters of every lane, for the first sample. */
static void
ctlstat_sample(const struct seg *seg, struct ctlstat_sample *out)
{
	for (uint32_t i = 0; i < seg->lane_count; i++) {
		const struct lane_hdr *h = seg_lane(seg, i);

		out[i].owner = atomic_load_explicit(&h->owner, memory_order_relaxed);
		out[i].records = atomic_load_explicit(&h->records, memory_order_relaxed);
		out[i].bytes = atomic_load_explicit(&h->bytes, memory_order_relaxed);
	}
}

/* Sleep ms milliseconds, whatever signals come. */
static void
ctlstat_sleep(int ms)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
		;
}

/* Per second over dt_ns, when the counter did not go backwards. */
static int
ctlstat_rate(uint64_t before, uint64_t after, int64_t dt_ns, double *rate)
{
	if (after < before || dt_ns <= 0)
		return 0;
	*rate = (double)(after - before) * 1e9 / (double)dt_ns;
	return 1;
}

/* Lane i as the second sample finds it, rated against the first; 0 when
 * the lane is free and empty (not listed). */
static int
ctlstat_lane(const struct seg *seg, uint32_t i, const struct ctlstat_sample *first,
    int64_t dt_ns, struct ctlstat_lane *l)
{
	const struct lane_hdr *h = seg_lane(seg, i);
	uint64_t owner, tail, used;

	owner = atomic_load_explicit(&h->owner, memory_order_relaxed);
	/* Tail first, with acquire: pairs with the CAS in lane_consume(),
	 * whose reader had seen a head at least that far, so the head we
	 * load next is not below it unless the lane is scribbled. */
	tail = atomic_load_explicit(&h->tail, memory_order_acquire);
	used = atomic_load_explicit(&h->head, memory_order_relaxed) - tail;
	if (owner == 0 && used == 0)
		return 0;
	memset(l, 0, sizeof(*l));
	l->index = i;
	l->pid = owner == 0 ? 0 : procid_pid(owner) > 0 ? procid_pid(owner) : -1;
	l->alive = owner != 0 && procid_alive(owner);
	if (l->alive && procid_comm(l->pid, l->name, sizeof(l->name)) == -1)
		l->name[0] = '\0';
	/* A torn read or a scribbled head: more than the ring holds. */
	l->fill_known = used <= seg->lane_size;
	l->fill = l->fill_known ? used : 0;
	l->records = atomic_load_explicit(&h->records, memory_order_relaxed);
	l->bytes = atomic_load_explicit(&h->bytes, memory_order_relaxed);
	l->drops = atomic_load_explicit(&h->drops, memory_order_relaxed);
	l->rate_known = owner != 0 && owner == first->owner &&
	    ctlstat_rate(first->records, l->records, dt_ns, &l->records_rate) &&
	    ctlstat_rate(first->bytes, l->bytes, dt_ns, &l->bytes_rate);
	if (!l->rate_known)
		l->records_rate = l->bytes_rate = 0;
	return 1;
}

/* The entry of lane index (of pid) in the first sample, or NULL. */
static const struct lanesock_stat *
ctlstat_before(const struct lanesock_stat *a, size_t na, uint32_t index, int32_t pid)
{
	for (size_t i = 0; i < na; i++)
		if (a[i].index == index && a[i].pid == pid)
			return &a[i];
	return NULL;
}

/* A lane handed over the socket, as the second sample b finds it, rated
 * against the first (before, or NULL). */
static void
ctlstat_socket_lane(const struct seg *seg, const struct lanesock_stat *b,
    const struct lanesock_stat *before, int64_t dt_ns, struct ctlstat_lane *l)
{
	uint64_t used = b->head - b->tail;

	memset(l, 0, sizeof(*l));
	l->index = seg->lane_count + b->index;
	l->pid = b->pid > 0 ? b->pid : -1;
	l->alive = b->live != 0;
	if (!l->alive || procid_comm(l->pid, l->name, sizeof(l->name)) == -1) {
		memcpy(l->name, b->name, sizeof(l->name) - 1);
		l->name[sizeof(l->name) - 1] = '\0';
	}
	l->fill_known = used <= seg->lane_size;
	l->fill = l->fill_known ? used : 0;
	l->records = b->records;
	l->bytes = b->bytes;
	l->drops = b->drops;
	l->rate_known = before != NULL &&
	    ctlstat_rate(before->records, l->records, dt_ns, &l->records_rate) &&
	    ctlstat_rate(before->bytes, l->bytes, dt_ns, &l->bytes_rate);
	if (!l->rate_known)
		l->records_rate = l->bytes_rate = 0;
}

/* Append the lanes of the second sample b (nb of them) to st. */
static int
ctlstat_socket(struct ctlstat *st, const struct seg *seg, const struct lanesock_stat *a,
    size_t na, const struct lanesock_stat *b, size_t nb)
{
	struct ctlstat_lane *more = realloc(st->lanes, (st->nlanes + nb + 1) * sizeof(*more));

	if (more == NULL)
		return -1;
	st->lanes = more;
	for (size_t j = 0; j < nb; j++) {
		ctlstat_socket_lane(seg, &b[j], ctlstat_before(a, na, b[j].index, b[j].pid),
		    st->interval_ns, &st->lanes[st->nlanes++]);
		st->segment.lanes_socket++;
	}
	return 0;
}

int
ctlstat_read(struct ctlstat *st, const struct seg *seg, const char *sock, int interval_ms)
{
	struct lanesock_stat *a = NULL, *b = NULL;
	size_t na = 0, nb = 0;
	int have = sock != NULL && lanesock_status(sock, &a, &na) == 0, rc = 0;
	struct ctlstat_sample *first;
	int64_t t0;

	memset(st, 0, sizeof(*st));
	first = calloc(seg->lane_count, sizeof(*first));
	st->lanes = calloc(seg->lane_count, sizeof(*st->lanes));
	if (first == NULL || st->lanes == NULL) {
		free(a);
		free(first);
		free(st->lanes);
		st->lanes = NULL;
		errno = ENOMEM;
		return -1;
	}
	t0 = seg_now_mono();
	ctlstat_sample(seg, first);
	ctlstat_sleep(interval_ms);
	st->interval_ns = seg_now_mono() - t0;
	have = have && lanesock_status(sock, &b, &nb) == 0;
	ctlstat_daemon(&st->daemon, seg);
	ctlstat_segment(&st->segment, seg);
	for (uint32_t i = 0; i < seg->lane_count; i++) {
		struct ctlstat_lane *l = &st->lanes[st->nlanes];

		if (!ctlstat_lane(seg, i, &first[i], st->interval_ns, l))
			continue;
		st->nlanes++;
		if (l->pid != 0)
			st->segment.lanes_used++;
	}
	free(first);
	if (have && ctlstat_socket(st, seg, a, na, b, nb) == -1) {
		errno = ENOMEM;
		rc = -1;
	}
	free(a);
	free(b);
	return rc;
}

void
ctlstat_free(struct ctlstat *st)
{
	free(st->lanes);
	st->lanes = NULL;
	st->nlanes = 0;
}
