/* rotate.c - the rotated files of a file sink, and their compression. */
#include "rotate.h"

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "fdio.h"
#include "seg.h"

#define ROTATE_GZIP_LEVEL 6     /* gzip's own default */
#define ROTATE_ZSTD_LEVEL 3     /* zstd's own default */

enum rotate_state {
	ROTATE_FREE = 0,
	ROTATE_QUEUED = 1,      /* main thread -> compressor */
	ROTATE_RUNNING = 2,     /* compressor's */
	ROTATE_DONE = 3,        /* compressor -> main thread */
	ROTATE_FAILED = 4,
};

/*
 * One compression. state hands the job over: the main thread fills it
 * and stores QUEUED (under rotate_lock); the compressor takes it
 * (RUNNING), then stores DONE or FAILED with release, which rotate_poll
 * loads with acquire before it reads err or touches the descriptors.
 * path, index and keep are the main thread's alone; cancel is set by it
 * and read by the compressor between chunks (relaxed: only a hint to
 * stop early, the result is dropped either way).
 */
struct rotate_job {
	_Atomic int state;
	_Atomic int cancel;     /* shifted past keep: the result is dropped */
	enum rotate_compress c;
	int src, dst;
	int err;
	uint64_t seq;           /* queue order */
	unsigned index, keep;
	char *path, *tmp;
};

static const char *const rotate_ext[] = { "", ".gz", ".zst" };

static struct rotate_job rotate_jobs[ROTATE_JOBS_MAX];
static pthread_mutex_t rotate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rotate_cond = PTHREAD_COND_INITIALIZER;
static pthread_t rotate_thread;
static int rotate_started, rotate_stopping, rotate_full_told;
static uint64_t rotate_seq;

time_t
rotate_next(time_t t, enum rotate_every every)
{
	struct tm tm;

	if (every == ROTATE_NEVER || localtime_r(&t, &tm) == NULL)
		return (time_t)-1;
	tm.tm_sec = 0;
	tm.tm_min = 0;
	if (every == ROTATE_HOURLY) {
		tm.tm_hour++;
	} else {
		tm.tm_hour = 0;
		tm.tm_mday++;
	}
	tm.tm_isdst = -1;       /* mktime decides, across a change of offset */
	return mktime(&tm);
}

/* path.index with the extension of compression c, in a new string. */
static char *
rotate_name(const char *path, unsigned index, enum rotate_compress c)
{
	char *s;

	if (asprintf(&s, "%s.%u%s", path, index, rotate_ext[c]) == -1)
		return NULL;
	return s;
}

/* Read up to n bytes; the count, 0 at the end, -1 on error. */
static ssize_t
rotate_read(int fd, void *p, size_t n)
{
	ssize_t r;

	while ((r = read(fd, p, n)) == -1 && errno == EINTR)
		;
	return r;
}

/* gzip src into dst. 0, or -1 with errno. */
static int
rotate_gzip(struct rotate_job *j, unsigned char *in, unsigned char *out)
{
	z_stream zs;
	int flush, rc = 0;

	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, ROTATE_GZIP_LEVEL, Z_DEFLATED, 15 + 16, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK) {
		errno = ENOMEM;
		return -1;
	}
	do {
		ssize_t n = rotate_read(j->src, in, ROTATE_CHUNK);

		/* Relaxed: cancel is only a hint to stop early (rotate_job). */
		if (n < 0 || atomic_load_explicit(&j->cancel, memory_order_relaxed)) {
			rc = -1;
			break;
		}
		flush = n == 0 ? Z_FINISH : Z_NO_FLUSH;
		zs.next_in = in;
		zs.avail_in = (uInt)n;
		do {
			zs.next_out = out;
			zs.avail_out = ROTATE_CHUNK;
			deflate(&zs, flush);
			if (fdio_write_all(j->dst, out, ROTATE_CHUNK - zs.avail_out) == -1) {
				rc = -1;
				break;
			}
		} while (zs.avail_out == 0);
	} while (rc == 0 && flush != Z_FINISH);
	deflateEnd(&zs);
	return rc;
}

/* zstd src into dst. 0, or -1 with errno. */
static int
rotate_zstd(struct rotate_job *j, unsigned char *in, unsigned char *out)
{
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	int rc = 0, last = 0;

	if (cc == NULL || ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel,
	    ROTATE_ZSTD_LEVEL))) {
		ZSTD_freeCCtx(cc);
		errno = ENOMEM;
		return -1;
	}
	while (rc == 0 && !last) {
		ssize_t n = rotate_read(j->src, in, ROTATE_CHUNK);
		ZSTD_inBuffer ib = { in, n > 0 ? (size_t)n : 0, 0 };
		size_t left;

		/* Relaxed: cancel is only a hint to stop early (rotate_job). */
		if (n < 0 || atomic_load_explicit(&j->cancel, memory_order_relaxed)) {
			rc = -1;
			break;
		}
		last = n == 0;
		do {
			ZSTD_outBuffer ob = { out, ROTATE_CHUNK, 0 };

			left = ZSTD_compressStream2(cc, &ob, &ib, last ? ZSTD_e_end : ZSTD_e_continue);
			if (ZSTD_isError(left) || fdio_write_all(j->dst, out, ob.pos) == -1) {
				if (ZSTD_isError(left))
					errno = EIO;
				rc = -1;
				break;
			}
		} while (last ? left != 0 : ib.pos < ib.size);
	}
	ZSTD_freeCCtx(cc);
	return rc;
}

/* Compress job j, whose state is RUNNING, and hand it back. */
static void
rotate_run(struct rotate_job *j, unsigned char *in, unsigned char *out)
{
	int rc = j->c == ROTATE_GZIP ? rotate_gzip(j, in, out) : rotate_zstd(j, in, out);

	if (rc == 0 && fdatasync(j->dst) == -1)
		rc = -1;
	j->err = rc == 0 ? 0 : errno;
	/* Release pairs with the acquire in rotate_poll(): err and the
	 * file are complete. */
	atomic_store_explicit(&j->state, rc == 0 ? ROTATE_DONE : ROTATE_FAILED,
	    memory_order_release);
}

/* The oldest queued job, or NULL; called with rotate_lock held. */
static struct rotate_job *
rotate_take(void)
{
	struct rotate_job *best = NULL;

	for (int i = 0; i < ROTATE_JOBS_MAX; i++) {
		struct rotate_job *j = &rotate_jobs[i];

		/* Relaxed: QUEUED is stored under rotate_lock, which we hold. */
		if (atomic_load_explicit(&j->state, memory_order_relaxed) == ROTATE_QUEUED &&
		    (best == NULL || j->seq < best->seq))
			best = j;
	}
	/* Relaxed: under rotate_lock too; the main thread only reads RUNNING
	 * as "not done" (rotate_busy). */
	if (best != NULL)
		atomic_store_explicit(&best->state, ROTATE_RUNNING, memory_order_relaxed);
	return best;
}

static void *
rotate_main(void *arg)
{
	unsigned char *in = malloc(ROTATE_CHUNK), *out = malloc(ROTATE_CHUNK);
	struct rotate_job *j;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&rotate_lock);
		while ((j = rotate_take()) == NULL && !rotate_stopping)
			pthread_cond_wait(&rotate_cond, &rotate_lock);
		pthread_mutex_unlock(&rotate_lock);
		if (j == NULL)
			break;
		if (in == NULL || out == NULL) {
			j->err = ENOMEM;
			/* Release pairs with the acquire in rotate_poll(): err. */
			atomic_store_explicit(&j->state, ROTATE_FAILED, memory_order_release);
			continue;
		}
		rotate_run(j, in, out);
	}
	free(in);
	free(out);
	return NULL;
}

/* Free job j's resources; the main thread's. */
static void
rotate_free(struct rotate_job *j)
{
	close(j->src);
	close(j->dst);
	if (j->tmp != NULL)
		unlink(j->tmp);
	free(j->tmp);
	free(j->path);
	j->tmp = j->path = NULL;
	/* Relaxed: the compressor is done with it (DONE or FAILED was read
	 * with acquire), and takes only QUEUED jobs, under the lock. */
	atomic_store_explicit(&j->state, ROTATE_FREE, memory_order_relaxed);
}

/* Give finished job j its final name, or drop it. */
static void
rotate_name_done(struct rotate_job *j, int state)
{
	char *plain = rotate_name(j->path, j->index, ROTATE_PLAIN);
	char *packed = rotate_name(j->path, j->index, j->c);

	/* Relaxed: cancel is the main thread's own store. */
	if (atomic_load_explicit(&j->cancel, memory_order_relaxed)) {
		/* Shifted past keep, or stopped at exit: nothing to name. */
	} else if (state == ROTATE_FAILED) {
		warnx("%s: cannot compress it: %s; it stays as it is", plain, strerror(j->err));
	} else if (plain == NULL || packed == NULL || rename(j->tmp, packed) == -1) {
		warn("%s: cannot name the compressed file", plain != NULL ? plain : j->path);
	} else {
		free(j->tmp);
		j->tmp = NULL;
		unlink(plain);
	}
	free(plain);
	free(packed);
	rotate_free(j);
}

void
rotate_poll(void)
{
	for (int i = 0; i < ROTATE_JOBS_MAX; i++) {
		struct rotate_job *j = &rotate_jobs[i];
		/* Acquire pairs with the release in rotate_run(). */
		int st = atomic_load_explicit(&j->state, memory_order_acquire);

		if (st == ROTATE_DONE || st == ROTATE_FAILED)
			rotate_name_done(j, st);
	}
}

/* Queue path.1 for compression c. */
static void
rotate_queue(const char *path, unsigned keep, enum rotate_compress c)
{
	struct rotate_job *j = NULL;
	char *src = rotate_name(path, 1, ROTATE_PLAIN);

	for (int i = 0; i < ROTATE_JOBS_MAX && j == NULL; i++)
		/* Relaxed: only the main thread moves a job out of FREE. */
		if (atomic_load_explicit(&rotate_jobs[i].state, memory_order_relaxed) == ROTATE_FREE)
			j = &rotate_jobs[i];
	if (j == NULL || src == NULL) {
		if (!rotate_full_told++)
			warnx("%s: %d compressions are waiting; it stays as it is", src != NULL ?
			    src : path, ROTATE_JOBS_MAX);
		free(src);
		return;
	}
	j->src = open(src, O_RDONLY | O_CLOEXEC);
	j->path = strdup(path);
	if (j->path == NULL || asprintf(&j->tmp, "%s.compressing-XXXXXX", path) == -1)
		j->tmp = NULL;
	j->dst = j->tmp != NULL ? mkostemp(j->tmp, O_CLOEXEC) : -1;
	if (j->src == -1 || j->dst == -1) {
		warn("%s: cannot compress it; it stays as it is", src);
		free(src);
		rotate_free(j);
		return;
	}
	free(src);
	j->c = c;
	j->index = 1;
	j->keep = keep;
	j->err = 0;
	j->seq = ++rotate_seq;
	/* Relaxed, as QUEUED below: the job is published to the compressor
	 * by rotate_lock, which it takes before it reads a job. */
	atomic_store_explicit(&j->cancel, 0, memory_order_relaxed);
	pthread_mutex_lock(&rotate_lock);
	if (!rotate_started)
		rotate_started = pthread_create(&rotate_thread, NULL, rotate_main, NULL) == 0;
	if (rotate_started) {
		atomic_store_explicit(&j->state, ROTATE_QUEUED, memory_order_relaxed);
		pthread_cond_signal(&rotate_cond);
	}
	pthread_mutex_unlock(&rotate_lock);
	if (!rotate_started) {
		warnx("%s.1: no thread to compress it; it stays as it is", path);
		rotate_free(j);
	}
}

/* Move the pending compressions of path up one place; drop those that
 * fall past keep. */
static void
rotate_move_jobs(const char *path, unsigned keep)
{
	for (int i = 0; i < ROTATE_JOBS_MAX; i++) {
		struct rotate_job *j = &rotate_jobs[i];

		/* Relaxed: only the main thread moves a job out of FREE, and
		 * path and index are its own. */
		if (atomic_load_explicit(&j->state, memory_order_relaxed) == ROTATE_FREE ||
		    strcmp(j->path, path) != 0)
			continue;
		/* Relaxed: a hint to the compressor; the result is dropped by
		 * rotate_name_done either way. */
		if (++j->index > keep)
			atomic_store_explicit(&j->cancel, 1, memory_order_relaxed);
	}
}

int
rotate_shift(const char *path, unsigned keep, enum rotate_compress c)
{
	rotate_poll();
	for (unsigned e = 0; e < sizeof(rotate_ext) / sizeof(rotate_ext[0]); e++) {
		char *old = rotate_name(path, keep, (enum rotate_compress)e);

		if (old != NULL)
			unlink(old);
		free(old);
	}
	rotate_move_jobs(path, keep);
	for (unsigned i = keep; i > 1; i--)
		for (unsigned e = 0; e < sizeof(rotate_ext) / sizeof(rotate_ext[0]); e++) {
			char *from = rotate_name(path, i - 1, (enum rotate_compress)e);
			char *to = rotate_name(path, i, (enum rotate_compress)e);
			int bad = from == NULL || to == NULL ||
			    (rename(from, to) == -1 && errno != ENOENT);

			free(from);
			free(to);
			if (bad)
				return -1;
		}
	char *first = rotate_name(path, 1, ROTATE_PLAIN);

	if (first == NULL || rename(path, first) == -1) {
		free(first);
		return -1;
	}
	free(first);
	if (c != ROTATE_PLAIN)
		rotate_queue(path, keep, c);
	return 0;
}

/* 1 while a job is queued or running. */
static int
rotate_busy(void)
{
	for (int i = 0; i < ROTATE_JOBS_MAX; i++) {
		/* Acquire pairs with the release in rotate_run(), as in
		 * rotate_poll(), which names what this finds done. */
		int st = atomic_load_explicit(&rotate_jobs[i].state, memory_order_acquire);

		if (st == ROTATE_QUEUED || st == ROTATE_RUNNING)
			return 1;
	}
	return 0;
}

void
rotate_finish(void)
{
	int64_t until = seg_now_mono() + ROTATE_FINISH_NS;
	const struct timespec tick = { 0, 10 * 1000000 };

	if (!rotate_started)
		return;
	while (rotate_busy() && seg_now_mono() < until) {
		rotate_poll();
		nanosleep(&tick, NULL);
	}
	rotate_poll();
	/* What is left stops at its next chunk and stays plain. Relaxed: a
	 * hint; the compressor takes every queued job before it ends, and the
	 * join below orders all it did before the last rotate_poll. */
	for (int i = 0; i < ROTATE_JOBS_MAX; i++)
		if (atomic_load_explicit(&rotate_jobs[i].state, memory_order_relaxed) != ROTATE_FREE)
			atomic_store_explicit(&rotate_jobs[i].cancel, 1, memory_order_relaxed);
	pthread_mutex_lock(&rotate_lock);
	rotate_stopping = 1;
	pthread_cond_broadcast(&rotate_cond);
	pthread_mutex_unlock(&rotate_lock);
	pthread_join(rotate_thread, NULL);
	rotate_poll();
	rotate_started = 0;
	rotate_stopping = 0;
}
