/* sink.c - buffered output of formatted records to a file or descriptor. */
#include "sink.h"

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
sink_open(struct sink *s, const char *path, int fd, enum fmt_kind format)
{
	memset(s, 0, sizeof(*s));
	s->format = format;
	s->min_sev = 7;
	if (path == NULL || strcmp(path, "-") == 0) {
		s->fd = fd;
		return 0;
	}
	s->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (s->fd == -1)
		return -1;
	s->owned = 1;
	s->path = strdup(path);
	return 0;
}

void
sink_put(struct sink *s, const struct fmt_record *r)
{
	if (r->severity > s->min_sev)
		return;
	if (s->buf.len > SINK_BUF_MAX) {
		s->lost++;
		return;
	}
	if (fmt_record(&s->buf, s->format, r) == -1) {
		s->lost++;
		return;
	}
	s->written++;
	if (s->buf.len >= SINK_FLUSH_BYTES)
		sink_flush(s);
}

int
sink_flush(struct sink *s)
{
	while (s->buf.len > 0) {
		ssize_t n = write(s->fd, s->buf.data, s->buf.len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!s->failing)
				warn("%s", s->path != NULL ? s->path : "output");
			s->failing = 1;
			return -1;
		}
		if (s->failing)
			warnx("%s: writing again", s->path != NULL ? s->path : "output");
		s->failing = 0;
		fmt_buf_consume(&s->buf, (size_t)n);
	}
	return 0;
}

void
sink_close(struct sink *s)
{
	sink_flush(s);
	if (s->owned)
		close(s->fd);
	fmt_buf_free(&s->buf);
	free(s->path);
	s->path = NULL;
}
