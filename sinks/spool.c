/* spool.c - a forwarding sink's queue on disk. */
#include "spool.h"

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

struct spool {
	char *dir;
	int lockfd;
	uint64_t max;
	uint64_t first, last;   /* numbers of the oldest and newest files, when nfiles */
	int nfiles;
	uint64_t next;          /* number of the next new file */
	uint64_t rd_file, rd_off;       /* first entry not known to be sent */
	uint64_t bt_file, bt_off;       /* end of the batch handed out */
	int batch;              /* a batch is out, not yet known to be sent */
	int wfd;                /* appends to file last, or -1 */
	uint64_t wsize;         /* size of file last */
	uint64_t bytes;         /* of all the files */
	int ffd;                /* the front file being written, or -1 */
	uint64_t fsize;
	char *buf;              /* SPOOL_ENTRY_MAX bytes, for reading */
};

/* DIR/spool.N, or DIR/spool.pos when pos; in a new string. */
static char *
spool_path(const struct spool *sp, uint64_t n, int pos)
{
	char *s;

	if ((pos ? asprintf(&s, "%s/spool.pos", sp->dir) :
	    asprintf(&s, "%s/spool.%" PRIu64, sp->dir, n)) == -1)
		return NULL;
	return s;
}

/* Open file n with flags; -1 with errno. */
static int
spool_file(const struct spool *sp, uint64_t n, int flags)
{
	char *p = spool_path(sp, n, 0);
	int fd = p != NULL ? open(p, flags | O_CLOEXEC, 0600) : -1;

	free(p);
	return fd;
}

static void
spool_unlink(const struct spool *sp, uint64_t n)
{
	char *p = spool_path(sp, n, 0);

	if (p != NULL)
		unlink(p);
	free(p);
}

/* Size of file n, or 0. */
static uint64_t
spool_size(const struct spool *sp, uint64_t n)
{
	char *p = spool_path(sp, n, 0);
	struct stat st;
	uint64_t size = p != NULL && stat(p, &st) == 0 ? (uint64_t)st.st_size : 0;

	free(p);
	return size;
}

/* Write the first unsent position to spool.pos (a new file renamed over
 * the old, so that it is always whole). */
static void
spool_save_pos(const struct spool *sp)
{
	char *pos = spool_path(sp, 0, 1), *tmp = NULL, line[64];
	int fd, n = snprintf(line, sizeof(line), "%" PRIu64 " %" PRIu64 "\n", sp->rd_file,
	    sp->rd_off);

	if (pos == NULL || asprintf(&tmp, "%s.new", pos) == -1) {
		free(pos);
		return;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1 || write(fd, line, (size_t)n) != n || close(fd) == -1 ||
	    rename(tmp, pos) == -1)
		warn("%s: cannot record the spool's position", pos);
	free(pos);
	free(tmp);
}

/* Forget every file: all was sent. */
static void
spool_reset(struct spool *sp)
{
	if (sp->wfd != -1)
		close(sp->wfd);
	sp->wfd = -1;
	for (uint64_t n = sp->first; sp->nfiles > 0 && n <= sp->last; n++)
		spool_unlink(sp, n);
	sp->nfiles = 0;
	sp->bytes = sp->wsize = 0;
	sp->rd_file = sp->next;
	sp->rd_off = 0;
	spool_save_pos(sp);
}

/*
 * The length of the valid entries of file n from its start: a crash may
 * have left a torn entry at the end of the newest file, which is cut off
 * there (appends go on from a whole entry).
 */
static uint64_t
spool_valid_end(const struct spool *sp, uint64_t n)
{
	int fd = spool_file(sp, n, O_RDONLY);
	uint64_t off = 0, size = spool_size(sp, n);
	uint32_t len;

	if (fd == -1)
		return 0;
	while (off + sizeof(len) <= size && pread(fd, &len, sizeof(len), (off_t)off) ==
	    (ssize_t)sizeof(len) && len <= SPOOL_ENTRY_MAX && off + sizeof(len) + len <= size)
		off += sizeof(len) + len;
	close(fd);
	return off;
}

/* Find the files in the directory, and where sending is to go on. */
static int
spool_scan(struct spool *sp)
{
	DIR *d = opendir(sp->dir);
	struct dirent *e;
	char *pos;
	FILE *f;
	uint64_t pf, po;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		char *end;
		uint64_t n;

		if (strncmp(e->d_name, "spool.", 6) != 0 || e->d_name[6] < '0' || e->d_name[6] > '9')
			continue;
		n = strtoull(e->d_name + 6, &end, 10);
		if (*end != '\0')
			continue;
		if (sp->nfiles == 0 || n < sp->first)
			sp->first = n;
		if (sp->nfiles == 0 || n > sp->last)
			sp->last = n;
		sp->nfiles++;
	}
	closedir(d);
	sp->next = sp->nfiles > 0 ? sp->last + 1 : SPOOL_FIRST;
	sp->rd_file = sp->nfiles > 0 ? sp->first : sp->next;
	if ((pos = spool_path(sp, 0, 1)) != NULL && (f = fopen(pos, "re")) != NULL) {
		if (fscanf(f, "%" SCNu64 " %" SCNu64, &pf, &po) == 2 && sp->nfiles > 0 &&
		    pf >= sp->first && pf <= sp->last) {
			sp->rd_file = pf;
			sp->rd_off = po;
		}
		fclose(f);
	}
	free(pos);
	for (; sp->nfiles > 0 && sp->first < sp->rd_file; sp->first++)
		spool_unlink(sp, sp->first);    /* sent before the restart */
	sp->nfiles = sp->nfiles > 0 ? (int)(sp->last - sp->first + 1) : 0;
	return 0;
}

/* Open the newest file for appending, its torn end cut off. */
static int
spool_open_last(struct spool *sp)
{
	char *p = spool_path(sp, sp->last, 0);
	uint64_t end = spool_valid_end(sp, sp->last);
	int rc = p != NULL ? truncate(p, (off_t)end) : -1;

	free(p);
	if (rc == -1 || (sp->wfd = spool_file(sp, sp->last, O_WRONLY | O_APPEND)) == -1)
		return -1;
	sp->wsize = end;
	for (uint64_t n = sp->first; n <= sp->last; n++)
		sp->bytes += spool_size(sp, n);
	return 0;
}

struct spool *
spool_open(const char *dir, uint64_t max, char *why, size_t len)
{
	struct spool *sp = calloc(1, sizeof(*sp));
	char *lock = NULL;

	if (sp == NULL || (sp->dir = strdup(dir)) == NULL ||
	    (sp->buf = malloc(SPOOL_ENTRY_MAX)) == NULL) {
		snprintf(why, len, "spool %s: out of memory", dir);
		goto fail;
	}
	sp->max = max;
	sp->wfd = sp->ffd = sp->lockfd = -1;
	if ((mkdir(dir, 0700) == -1 && errno != EEXIST) || asprintf(&lock, "%s/spool.lock", dir) == -1 ||
	    (sp->lockfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1) {
		snprintf(why, len, "spool %s: %s", dir, strerror(errno));
		goto fail;
	}
	if (flock(sp->lockfd, LOCK_EX | LOCK_NB) == -1) {
		snprintf(why, len, "spool %s: in use by another sink or mplogd", dir);
		goto fail;
	}
	if (spool_scan(sp) == -1 || (sp->nfiles > 0 && spool_open_last(sp) == -1)) {
		snprintf(why, len, "spool %s: %s", dir, strerror(errno));
		goto fail;
	}
	free(lock);
	return sp;
fail:
	free(lock);
	if (sp != NULL) {
		if (sp->lockfd != -1)
			close(sp->lockfd);
		free(sp->dir);
		free(sp->buf);
		free(sp);
	}
	return NULL;
}

/* 1 when an entry lies at or past (file, off). */
static int
spool_more(const struct spool *sp, uint64_t file, uint64_t off)
{
	return sp->nfiles > 0 && (file < sp->last || (file == sp->last && off < sp->wsize));
}

int
spool_active(const struct spool *sp)
{
	return sp->batch || spool_more(sp, sp->rd_file, sp->rd_off);
}

/* Append entry p to fd (header, then bytes). */
static int
spool_append(int fd, const char *p, size_t n)
{
	uint32_t len = (uint32_t)n;
	struct iovec iov[2] = { { &len, sizeof(len) }, { (void *)p, n } };
	ssize_t w = writev(fd, iov, 2);

	if (w == (ssize_t)(sizeof(len) + n))
		return 0;
	if (w >= 0)
		errno = ENOSPC;
	return -1;
}

int
spool_put(struct spool *sp, const char *p, size_t n)
{
	if (n > SPOOL_ENTRY_MAX || sp->bytes + sizeof(uint32_t) + n > sp->max) {
		errno = ENOSPC;
		return -1;
	}
	if (sp->wfd == -1 || sp->wsize + sizeof(uint32_t) + n > SPOOL_FILE_MAX) {
		int fd = spool_file(sp, sp->next, O_WRONLY | O_CREAT | O_EXCL | O_APPEND);

		if (fd == -1)
			return -1;
		if (sp->wfd != -1)
			close(sp->wfd);
		sp->wfd = fd;
		if (sp->nfiles++ == 0)
			sp->first = sp->next;
		sp->last = sp->next++;
		sp->wsize = 0;
	}
	if (spool_append(sp->wfd, p, n) == -1)
		return -1;
	sp->wsize += sizeof(uint32_t) + n;
	sp->bytes += sizeof(uint32_t) + n;
	return 0;
}

int
spool_front_begin(struct spool *sp)
{
	uint64_t n = sp->nfiles > 0 ? sp->first - 1 : sp->next;

	if (sp->batch || sp->rd_off != 0)
		return -1;      /* not in front of everything: see the header */
	sp->ffd = spool_file(sp, n, O_WRONLY | O_CREAT | O_EXCL | O_APPEND);
	sp->fsize = 0;
	if (sp->ffd == -1)
		return -1;
	if (sp->nfiles == 0) {
		sp->next++;
		sp->last = n;
	}
	sp->first = n;
	sp->rd_file = n;
	sp->nfiles++;
	return 0;
}

int
spool_put_front(struct spool *sp, const char *p, size_t n)
{
	if (n > SPOOL_ENTRY_MAX || spool_append(sp->ffd, p, n) == -1)
		return -1;
	sp->fsize += sizeof(uint32_t) + n;
	sp->bytes += sizeof(uint32_t) + n;
	return 0;
}

void
spool_front_end(struct spool *sp)
{
	close(sp->ffd);
	sp->ffd = -1;
	if (sp->first == sp->last) {    /* it is the only file */
		sp->wfd = spool_file(sp, sp->last, O_WRONLY | O_APPEND);
		sp->wsize = sp->fsize;
	}
	spool_save_pos(sp);
}

/* The batch handed out was sent: it is where sending goes on. */
static void
spool_commit(struct spool *sp)
{
	if (!sp->batch)
		return;
	sp->batch = 0;
	for (; sp->nfiles > 0 && sp->first < sp->bt_file; sp->first++, sp->nfiles--) {
		sp->bytes -= spool_size(sp, sp->first);
		spool_unlink(sp, sp->first);
	}
	sp->rd_file = sp->bt_file;
	sp->rd_off = sp->bt_off;
	if (spool_more(sp, sp->rd_file, sp->rd_off))
		spool_save_pos(sp);
	else
		spool_reset(sp);
}

size_t
spool_take(struct spool *sp, size_t max, int (*fn)(void *arg, const char *p, size_t n),
    void *arg)
{
	uint64_t file, off;
	size_t given = 0, bytes = 0;
	int fd = -1;

	spool_commit(sp);
	file = sp->rd_file;
	off = sp->rd_off;
	while (bytes < max && spool_more(sp, file, off)) {
		uint64_t size = file == sp->last ? sp->wsize : spool_size(sp, file);
		uint32_t len;

		if (off >= size) {      /* this file is done: the next one */
			file++;
			off = 0;
			if (fd != -1)
				close(fd);
			fd = -1;
			continue;
		}
		if (fd == -1 && (fd = spool_file(sp, file, O_RDONLY)) == -1)
			break;
		if (pread(fd, &len, sizeof(len), (off_t)off) != (ssize_t)sizeof(len) ||
		    len > SPOOL_ENTRY_MAX || off + sizeof(len) + len > size ||
		    pread(fd, sp->buf, len, (off_t)(off + sizeof(len))) != (ssize_t)len) {
			warnx("spool %s: file %" PRIu64 " is damaged from byte %" PRIu64
			    "; going on with the next", sp->dir, file, off);
			off = size;
			continue;
		}
		if (fn(arg, sp->buf, len) == -1)
			break;
		off += sizeof(len) + len;
		bytes += len;
		given++;
	}
	if (fd != -1)
		close(fd);
	sp->bt_file = file;
	sp->bt_off = off;
	sp->batch = given > 0 || file != sp->rd_file || off != sp->rd_off;
	return given;
}

uint64_t
spool_bytes(const struct spool *sp)
{
	return sp->bytes;
}

void
spool_close(struct spool *sp, int sent)
{
	if (sent)
		spool_commit(sp);
	if (sp->wfd != -1)
		close(sp->wfd);
	close(sp->lockfd);
	free(sp->dir);
	free(sp->buf);
	free(sp);
}
