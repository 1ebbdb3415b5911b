/* sink.c - buffered output of formatted records to files, descriptors
 * and syslog servers. */
#include "sink.h"
#include "spool.h"
#include "tlsout.h"

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "forward.h"
#include "seg.h"

/* Escape sequences by severity (emerg ... debug), and the reset. */
static const char *const sink_colors[8] = {
	"\033[1;31m", "\033[1;31m", "\033[1;31m", "\033[31m",
	"\033[33m", "\033[1m", "", "\033[2m",
};
#define SINK_COLOR_RESET "\033[0m"

/* Open a file sink's path for appending. */
static int
sink_open_path(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

/* Colour a terminal? (auto: unless NO_COLOR is set and not empty.) */
static int
sink_wants_color(const struct sink *s)
{
	const char *no = getenv("NO_COLOR");

	if (s->spec.format != FMT_TEXT || s->spec.color == SINK_COLOR_NEVER)
		return 0;
	if (s->spec.color == SINK_COLOR_ALWAYS)
		return 1;
	return isatty(s->fd) && (no == NULL || no[0] == '\0');
}

_Static_assert((int)SINK_RFC5424 == (int)FORWARD_RFC5424 &&
    (int)SINK_RFC3164 == (int)FORWARD_RFC3164 && (int)SINK_LOCAL == (int)FORWARD_LOCAL &&
    (int)SINK_JOURNAL == (int)FORWARD_JOURNAL,
    "a sink's protocol is its forwarder's");

/* A server sink: set up its forwarder. */
static int
sink_open_forward(struct sink *s, char *why, size_t len)
{
	const char *msg = NULL;

	struct tls_conf tls = { s->spec.ca, s->spec.cert, s->spec.key, s->spec.name };
	int want_tls = tls.ca != NULL || tls.cert != NULL || tls.name != NULL;

	s->fwd = forward_open_tls(s->spec.target, (enum forward_proto)s->spec.proto,
	    want_tls ? &tls : NULL, &msg);
	if (s->fwd != NULL && (s->spec.spool == NULL || forward_spool(s->fwd, s->spec.spool,
	    s->spec.spool_max != 0 ? s->spec.spool_max : SPOOL_MAX_DEFAULT, &msg) == 0))
		return 0;
	snprintf(why, len, "%s", msg);
	if (s->fwd != NULL)
		forward_close(s->fwd, 0);
	s->fwd = NULL;
	sinkspec_free(&s->spec);
	return -1;
}

int
sink_open(struct sink *s, struct sink_spec *spec, int fd, char *why, size_t len)
{
	struct stat st;

	memset(s, 0, sizeof(*s));
	s->spec = *spec;
	spec->target = NULL;    /* taken over */
	spec->spool = spec->ca = spec->cert = spec->key = spec->name = NULL;
	s->fd = -1;
	if (s->spec.kind == SINK_FORWARD)
		return sink_open_forward(s, why, len);
	s->fd = fd;
	if (strcmp(s->spec.target, "-") != 0) {
		s->fd = sink_open_path(s->spec.target);
		if (s->fd == -1) {
			snprintf(why, len, "%s: %s", s->spec.target, strerror(errno));
			sinkspec_free(&s->spec);
			return -1;
		}
		s->owned = 1;
		if (fstat(s->fd, &st) == 0)
			s->size = (uint64_t)st.st_size;
		s->rotate_at = rotate_next(time(NULL), s->spec.rotate_every);
	}
	s->color = sink_wants_color(s);
	return 0;
}

/* The sink's name in messages. */
static const char *
sink_name(const struct sink *s)
{
	return s->owned ? s->spec.target : "output";
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

/* Format r into the buffer, in its severity's colour on a terminal. */
static int
sink_format(struct sink *s, const struct fmt_record *r)
{
	const char *on = s->color ? sink_colors[r->severity & 7] : "";
	size_t start = s->buf.len, n = strlen(on);

	if (n > 0 && fmt_buf_put(&s->buf, on, n) == -1)
		return -1;
	if (fmt_record(&s->buf, s->spec.format, r) == -1) {
		s->buf.len = start;
		return -1;
	}
	if (n == 0)
		return 0;
	s->buf.len--;   /* the newline goes after the reset */
	return fmt_buf_put(&s->buf, SINK_COLOR_RESET "\n", sizeof(SINK_COLOR_RESET));
}

void
sink_put(struct sink *s, const struct fmt_record *r)
{
	size_t before = s->buf.len;

	if (r->severity > s->spec.level)
		return;
	if (s->unflushed == 0)
		s->since_ns = seg_now_mono();
	if (s->fwd != NULL) {
		forward_put(s->fwd, r);
		s->unflushed += r->msg_len + SINK_FORWARD_HEAD;
	} else if (s->buf.len > SINK_BUF_MAX || sink_format(s, r) == -1) {
		s->lost++;
	} else {
		s->unflushed += s->buf.len - before;
	}
}

int
sink_full(const struct sink *s)
{
	return s->unflushed >= SINK_FLUSH_BYTES;
}

int64_t
sink_age(const struct sink *s, int64_t now_mono)
{
	return s->unflushed == 0 ? 0 : now_mono - s->since_ns;
}

/* Is the file we write the one the path names? 1 when it is, or when
 * that cannot be told (the path's folder unreadable), or while it was
 * renamed away less than SINK_RENAMED_NS ago with nothing new at its
 * name: we keep it. Our file's size is taken again (another program may
 * have truncated it). */
static int
sink_same_file(struct sink *s)
{
	struct stat ours, named;
	int64_t now;

	if (fstat(s->fd, &ours) == -1)
		return 1;
	s->size = (uint64_t)ours.st_size;
	if (stat(s->spec.target, &named) == 0) {
		s->renamed_ns = 0;
		return ours.st_dev == named.st_dev && ours.st_ino == named.st_ino;
	}
	if (errno != ENOENT || ours.st_nlink == 0)
		return errno != ENOENT;         /* removed: a new file now */
	now = seg_now_mono();
	if (s->renamed_ns == 0)
		s->renamed_ns = now;
	return now - s->renamed_ns < SINK_RENAMED_NS;
}

/* Write to a new file of the sink's path from now on. */
static int
sink_switch(struct sink *s)
{
	int fd = sink_open_path(s->spec.target);
	struct stat st;

	if (fd == -1)
		return -1;
	close(s->fd);
	s->fd = fd;
	s->size = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	return 0;
}

/* A file sink whose path was removed or renamed away: open it again. */
static void
sink_check(struct sink *s)
{
	if (!s->owned || s->buf.len == 0 || sink_same_file(s))
		return;
	if (sink_switch(s) == -1) {
		if (!s->orphaned)
			warn("%s: removed, and cannot be created again; writing on to the "
			    "removed file", s->spec.target);
		s->orphaned = 1;
		return;
	}
	warnx("%s: removed or renamed; writing to a new file of that name", s->spec.target);
	s->orphaned = 0;
	s->renamed_ns = 0;
}

void
sink_reopen(struct sink *s)
{
	if (s->owned && sink_switch(s) == -1)
		warn("%s: cannot open it again; writing on to the file open before",
		    s->spec.target);
}

/* Rename FILE.N-1 to FILE.N ... FILE to FILE.1, queue FILE.1 for its
 * compression, and start a new FILE (rotate.h). */
static int
sink_rotate(struct sink *s)
{
	if (rotate_shift(s->spec.target, s->spec.rotate_keep, s->spec.compress) == -1 ||
	    sink_switch(s) == -1) {
		warn("%s: cannot rotate; writing on to it", s->spec.target);
		return -1;
	}
	return 0;
}

/* Rotate a file that holds lines of a period that has ended
 * (rotate-every), and see when the current one ends. */
static void
sink_rotate_by_time(struct sink *s)
{
	time_t now;

	if (s->spec.rotate_every == ROTATE_NEVER || !s->owned || (now = time(NULL)) < s->rotate_at)
		return;
	if (s->size > 0)
		sink_rotate(s);
	s->rotate_at = rotate_next(now, s->spec.rotate_every);
}

/*
 * How much of the buffer goes into the file now: all of it, or the whole
 * lines that keep the file within its rotation size (a line longer than
 * the size goes alone into a file of its own). 0: rotate first.
 */
static size_t
sink_fits(const struct sink *s)
{
	uint64_t max = s->spec.rotate_size, room;
	const char *nl = NULL;

	if (max == 0 || !s->owned || s->size + s->buf.len <= max)
		return s->buf.len;
	room = s->size < max ? max - s->size : 0;
	if (room > 0)
		nl = memrchr(s->buf.data, '\n', room);
	if (nl == NULL && s->size == 0)
		nl = memchr(s->buf.data, '\n', s->buf.len);
	if (nl != NULL)
		return (size_t)(nl - s->buf.data) + 1;
	return s->size == 0 ? s->buf.len : 0;
}

int
sink_flush(struct sink *s)
{
	s->unflushed = 0;
	if (s->fwd != NULL)
		return forward_flush(s->fwd);
	if (s->spec.compress != ROTATE_PLAIN)
		rotate_poll();
	sink_check(s);
	sink_rotate_by_time(s);
	while (s->buf.len > 0) {
		size_t n = sink_fits(s);
		ssize_t w;

		if (n == 0) {
			if (sink_rotate(s) == -1)
				s->size = 0;    /* write on into it, as if new */
			continue;
		}
		w = write(s->fd, s->buf.data, n);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
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
		s->size += (uint64_t)w;
		fmt_buf_consume(&s->buf, (size_t)w);
	}
	return 0;
}

void
sink_close(struct sink *s)
{
	if (s->fwd != NULL)
		forward_close(s->fwd, SINK_CLOSE_NS);
	else
		sink_flush(s);
	sink_report_lost(s);
	if (s->owned)
		close(s->fd);
	if (s->spec.compress != ROTATE_PLAIN)
		rotate_finish();
	fmt_buf_free(&s->buf);
	sinkspec_free(&s->spec);
}
