/* sink.c - buffered output of formatted records to a file or descriptor. */
#include "sink.h"

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Open a file sink's path for appending. */
static int
sink_open_path(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

int
sink_open(struct sink *s, const char *path, int fd, enum fmt_kind format)
{
	memset(s, 0, sizeof(*s));
	s->format = format;
	if (path == NULL || strcmp(path, "-") == 0) {
		s->fd = fd;
		return 0;
	}
	s->fd = sink_open_path(path);
	if (s->fd == -1)
		return -1;
	s->owned = 1;
	s->path = strdup(path);
	return 0;
}

/* The sink's name in messages. */
static const char *
sink_name(const struct sink *s)
{
	return s->path != NULL ? s->path : "output";
}

/* Say how many records were dropped since the last report. */
static void
sink_report_lost(struct sink *s)
{
	if (s->lost == 0)
		return;
	warnx("%s: %llu records lost", sink_name(s), (unsigned long long)s->lost);
	s->lost = 0;
}

void
sink_put(struct sink *s, const struct fmt_record *r)
{
	if (s->buf.len > SINK_BUF_MAX || fmt_record(&s->buf, s->format, r) == -1)
		s->lost++;
}

int
sink_full(const struct sink *s)
{
	return s->buf.len >= SINK_FLUSH_BYTES;
}

/* Is the file we write the one the path names? 1 when it is, or when
 * that cannot be told (the path's folder unreadable): we keep it. */
static int
sink_same_file(const struct sink *s)
{
	struct stat ours, named;

	if (fstat(s->fd, &ours) == -1)
		return 1;
	if (stat(s->path, &named) == -1)
		return errno != ENOENT;
	return ours.st_dev == named.st_dev && ours.st_ino == named.st_ino;
}

/* A file sink whose path was removed or renamed away: open it again. */
static void
sink_check(struct sink *s)
{
	int fd;

	if (!s->owned || s->buf.len == 0 || sink_same_file(s))
		return;
	if ((fd = sink_open_path(s->path)) == -1) {
		if (!s->orphaned)
			warn("%s: removed, and cannot be created again; writing on to the "
			    "removed file", s->path);
		s->orphaned = 1;
		return;
	}
	warnx("%s: removed or renamed; writing to a new file of that name", s->path);
	s->orphaned = 0;
	close(s->fd);
	s->fd = fd;
}

int
sink_flush(struct sink *s)
{
	sink_check(s);
	while (s->buf.len > 0) {
		ssize_t n = write(s->fd, s->buf.data, s->buf.len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!s->failing)
				warn("%s", sink_name(s));
			s->failing = 1;
			return -1;
		}
		if (s->failing) {
			warnx("%s: writing again", sink_name(s));
			sink_report_lost(s);
		}
		s->failing = 0;
		fmt_buf_consume(&s->buf, (size_t)n);
	}
	return 0;
}

void
sink_close(struct sink *s)
{
	sink_flush(s);
	sink_report_lost(s);
	if (s->owned)
		close(s->fd);
	fmt_buf_free(&s->buf);
	free(s->path);
	s->path = NULL;
}
