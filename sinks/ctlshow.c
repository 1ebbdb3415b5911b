/* ctlshow.c - mplogctl status as a report or as JSON. */
#define LIBBSD_NETBSD_VIS

#include "ctlshow.h"

#include <bsd/stdlib.h>
#include <bsd/vis.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "pri.h"

/* humanize_number(3) output, NUL included: "1.0M", "999K", "12B". */
#define CTLSHOW_HUMAN_LEN 5

/* The lane table, in the order of the columns. */
enum {
	CTLSHOW_LANE, CTLSHOW_PID, CTLSHOW_NAME, CTLSHOW_RECORDS, CTLSHOW_BYTES,
	CTLSHOW_RECRATE, CTLSHOW_BYTERATE, CTLSHOW_DROPS, CTLSHOW_FILL,
	CTLSHOW_PCT, CTLSHOW_NCOLS,
};

static const struct {
	const char *head;
	int left;               /* aligned left, else right */
} ctlshow_cols[CTLSHOW_NCOLS] = {
	{ "LANE", 0 }, { "PID", 0 }, { "NAME", 1 }, { "RECORDS", 0 }, { "BYTES", 0 },
	{ "REC/S", 0 }, { "BYTES/S", 0 }, { "DROPS", 0 }, { "FILL", 0 }, { "FILL%", 0 },
};

/* The widest cell is a process name after strvis. */
#define CTLSHOW_CELL CTLSHOW_VIS_LEN(SEG_NAME_MAX)

typedef char ctlshow_row[CTLSHOW_NCOLS][CTLSHOW_CELL];

void
ctlshow_vis(char *out, const char *s, size_t len)
{
	char tmp[SEG_NAME_MAX];

	len = len < sizeof(tmp) - 1 ? len : sizeof(tmp) - 1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	strvis(out, tmp, VIS_CSTYLE | VIS_OCTAL | VIS_TAB | VIS_NL);
}

/* n in at most four characters into buf: bytes ("64K", "1.0M") when
 * bytes, else a count in thousands ("12", "1.2M"). */
static const char *
ctlshow_human(char buf[CTLSHOW_HUMAN_LEN], uint64_t n, int bytes)
{
	int flags = HN_DECIMAL | HN_NOSPACE | (bytes ? HN_B : HN_DIVISOR_1000);

	if (humanize_number(buf, CTLSHOW_HUMAN_LEN, n > INT64_MAX ? INT64_MAX : (int64_t)n,
	    "", HN_AUTOSCALE, flags) == -1)
		strcpy(buf, "?");
	return buf;
}

/* A rate, rounded to a whole number per second, as ctlshow_human does. */
static const char *
ctlshow_human_rate(char buf[CTLSHOW_HUMAN_LEN], double rate, int bytes)
{
	/* 2^63: doubles at or past it do not convert to uint64_t safely. */
	return ctlshow_human(buf, rate >= 9.2e18 ? INT64_MAX : (uint64_t)(rate + 0.5), bytes);
}

/* A duration of ns nanoseconds, as "0.3s", "42s", "5m03s", "2h13m", "3d04h". */
static const char *
ctlshow_duration(char *buf, size_t len, int64_t ns)
{
	int64_t s = ns / 1000000000;

	if (s < 10)
		snprintf(buf, len, "%.1fs", (double)ns / 1e9);
	else if (s < 60)
		snprintf(buf, len, "%" PRId64 "s", s);
	else if (s < 3600)
		snprintf(buf, len, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%" PRId64 "h%02" PRId64 "m", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%" PRId64 "d%02" PRId64 "h", s / 86400, s % 86400 / 3600);
	return buf;
}

/* The daemon line: pid, state, heartbeat age, uptime, damage. */
static void
ctlshow_text_daemon(const struct ctlstat_daemon *d)
{
	char t[32];

	printf("daemon   pid ");
	if (d->pid > 0)
		printf("%d", (int)d->pid);
	else
		printf("-");
	printf("  %s  heartbeat ", ctlstat_daemon_state_name(d->state));
	if (d->heartbeat_age_ns == -1)
		printf("never");
	else
		printf("%s ago", ctlshow_duration(t, sizeof(t), d->heartbeat_age_ns));
	if (d->uptime_s != -1)
		printf("  up %s", ctlshow_duration(t, sizeof(t), d->uptime_s * 1000000000));
	if (d->seg_state != SEG_STATE_RUNNING)
		printf("  (segment %s)", ctlstat_seg_state_name(d->seg_state));
	if (d->damaged != 0)
		printf("  damaged records skipped %" PRIu64, d->damaged);
	printf("\n");
}

/* The segment and lanes lines. */
static void
ctlshow_text_segment(const struct ctlstat_segment *s, int64_t interval_ns)
{
	char size[CTLSHOW_HUMAN_LEN], group[CTLSHOW_VIS_LEN(SEG_NAME_MAX)];
	char name[CTLSHOW_VIS_LEN(SEG_PATH_MAX)];

	/* The name passed seg_name_valid, but it comes from the command line. */
	strvisx(name, s->name, strnlen(s->name, SEG_PATH_MAX - 1), VIS_CSTYLE | VIS_OCTAL);
	printf("segment  %s  %s  policy %s  level %s", name, ctlshow_human(size, s->size, 1),
	    s->policy == SEG_POLICY_DROP ? "drop" : "block",
	    s->level == -1 ? "?" : pri_severity_name((unsigned)s->level));
	if (s->mode != -1) {
		printf("  mode %04o", (unsigned)s->mode);
		if (s->group[0] != '\0')
			ctlshow_vis(group, s->group, strlen(s->group));
		else
			snprintf(group, sizeof(group), "%u", (unsigned)s->gid);
		if ((s->mode & 0070) != 0)
			printf(" group %s", group);
	}
	printf("\nlanes    %" PRIu32 " of %" PRIu32 " in use, %" PRIu32 " over the socket, "
	    "%s each; rates over %.2fs\n", s->lanes_used, s->lanes_total, s->lanes_socket,
	    ctlshow_human(size, s->lane_size, 1), (double)interval_ns / 1e9);
}

/* The cells of one lane's row. */
static void
ctlshow_text_cells(const struct ctlstat_lane *l, uint32_t lane_size, ctlshow_row row)
{
	char a[CTLSHOW_HUMAN_LEN], b[CTLSHOW_HUMAN_LEN];

	snprintf(row[CTLSHOW_LANE], CTLSHOW_CELL, "%" PRIu32, l->index);
	if (l->pid > 0)
		snprintf(row[CTLSHOW_PID], CTLSHOW_CELL, "%d", (int)l->pid);
	else
		strcpy(row[CTLSHOW_PID], l->pid == 0 ? "-" : "?");
	if (l->name[0] != '\0')
		ctlshow_vis(row[CTLSHOW_NAME], l->name, strlen(l->name));
	else
		strcpy(row[CTLSHOW_NAME], "-");
	ctlshow_human(row[CTLSHOW_RECORDS], l->records, 0);
	ctlshow_human(row[CTLSHOW_BYTES], l->bytes, 1);
	if (l->rate_known) {
		ctlshow_human_rate(row[CTLSHOW_RECRATE], l->records_rate, 0);
		ctlshow_human_rate(row[CTLSHOW_BYTERATE], l->bytes_rate, 1);
	} else {
		strcpy(row[CTLSHOW_RECRATE], "?");
		strcpy(row[CTLSHOW_BYTERATE], "?");
	}
	ctlshow_human(row[CTLSHOW_DROPS], l->drops, 0);
	if (l->fill_known) {
		snprintf(row[CTLSHOW_FILL], CTLSHOW_CELL, "%s/%s", ctlshow_human(a, l->fill, 1),
		    ctlshow_human(b, lane_size, 1));
		snprintf(row[CTLSHOW_PCT], CTLSHOW_CELL, "%.1f%%",
		    100.0 * (double)l->fill / lane_size);
	} else {
		strcpy(row[CTLSHOW_FILL], "?");
		strcpy(row[CTLSHOW_PCT], "?");
	}
}

/* Print one row, each cell padded to its column's width. */
static void
ctlshow_text_row(const char *const cells[CTLSHOW_NCOLS], const int width[CTLSHOW_NCOLS])
{
	for (int c = 0; c < CTLSHOW_NCOLS; c++) {
		int last = c == CTLSHOW_NCOLS - 1;

		if (ctlshow_cols[c].left && !last)
			printf("%-*s", width[c], cells[c]);
		else
			printf("%*s", width[c], cells[c]);
		printf(last ? "\n" : "  ");
	}
}

/* The lane table, its columns as wide as their widest cell. */
static void
ctlshow_text_lanes(const struct ctlstat *st)
{
	ctlshow_row *rows = calloc(st->nlanes, sizeof(*rows));
	const char *cells[CTLSHOW_NCOLS];
	int width[CTLSHOW_NCOLS];

	if (st->nlanes == 0) {
		printf("(no lane in use)\n");
		free(rows);
		return;
	}
	if (rows == NULL) {
		printf("(%zu lanes in use: out of memory for the table)\n", st->nlanes);
		return;
	}
	for (int c = 0; c < CTLSHOW_NCOLS; c++) {
		width[c] = (int)strlen(ctlshow_cols[c].head);
		cells[c] = ctlshow_cols[c].head;
	}
	for (size_t i = 0; i < st->nlanes; i++) {
		ctlshow_text_cells(&st->lanes[i], st->segment.lane_size, rows[i]);
		for (int c = 0; c < CTLSHOW_NCOLS; c++)
			if ((int)strlen(rows[i][c]) > width[c])
				width[c] = (int)strlen(rows[i][c]);
	}
	ctlshow_text_row(cells, width);
	for (size_t i = 0; i < st->nlanes; i++) {
		for (int c = 0; c < CTLSHOW_NCOLS; c++)
			cells[c] = rows[i][c];
		ctlshow_text_row(cells, width);
	}
	free(rows);
}

void
ctlshow_text(const struct ctlstat *st)
{
	ctlshow_text_daemon(&st->daemon);
	ctlshow_text_segment(&st->segment, st->interval_ns);
	printf("\n");
	ctlshow_text_lanes(st);
}

/* "key": then the string s, or null when s is NULL. */
static int
ctlshow_put_str(struct fmt_buf *b, const char *key, const char *s)
{
	if (fmt_printf(b, "\"%s\":", key) == -1)
		return -1;
	return s == NULL ? fmt_buf_put(b, "null", 4) : fmt_json_str(b, s, strlen(s));
}

/* "key": then the whole number v, or null when known is 0. */
static int
ctlshow_put_u64(struct fmt_buf *b, const char *key, uint64_t v, int known)
{
	return known ? fmt_printf(b, "\"%s\":%" PRIu64, key, v) :
	    fmt_printf(b, "\"%s\":null", key);
}

/* The "daemon" object. */
static int
ctlshow_json_daemon(struct fmt_buf *b, const struct ctlstat_daemon *d)
{
	int64_t age = d->heartbeat_age_ns;

	return fmt_printf(b, "\"daemon\":{") == -1 ||
	    ctlshow_put_u64(b, "pid", (uint64_t)d->pid, d->pid > 0) == -1 ||
	    fmt_printf(b, ",\"state\":\"%s\",\"segment_state\":\"%s\",",
	    ctlstat_daemon_state_name(d->state), ctlstat_seg_state_name(d->seg_state)) == -1 ||
	    ctlshow_put_u64(b, "heartbeat_age_ms", (uint64_t)(age / 1000000), age != -1) == -1 ||
	    fmt_buf_put(b, ",", 1) == -1 ||
	    ctlshow_put_u64(b, "uptime_s", (uint64_t)d->uptime_s, d->uptime_s != -1) == -1 ||
	    fmt_printf(b, ",\"damaged_records\":%" PRIu64 "}", d->damaged) == -1 ? -1 : 0;
}

/* The "segment" object. */
static int
ctlshow_json_segment(struct fmt_buf *b, const struct ctlstat_segment *s)
{
	char mode[8];
	int known = s->mode != -1;

	snprintf(mode, sizeof(mode), "%04o", (unsigned)(known ? s->mode : 0) & 07777u);
	return fmt_printf(b, "\"segment\":{") == -1 ||
	    ctlshow_put_str(b, "name", s->name) == -1 ||
	    fmt_printf(b, ",\"size\":%" PRIu64 ",\"lanes_total\":%" PRIu32
	    ",\"lanes_used\":%" PRIu32 ",\"lanes_socket\":%" PRIu32 ",\"lane_size\":%" PRIu32
	    ",\"policy\":\"%s\",", s->size, s->lanes_total, s->lanes_used, s->lanes_socket,
	    s->lane_size,
	    s->policy == SEG_POLICY_DROP ? "drop" : "block") == -1 ||
	    ctlshow_put_str(b, "level", s->level == -1 ? NULL :
	    pri_severity_name((unsigned)s->level)) == -1 ||
	    fmt_buf_put(b, ",", 1) == -1 ||
	    ctlshow_put_str(b, "mode", known ? mode : NULL) == -1 ||
	    fmt_buf_put(b, ",", 1) == -1 ||
	    ctlshow_put_u64(b, "gid", s->gid, known) == -1 ||
	    fmt_buf_put(b, ",", 1) == -1 ||
	    ctlshow_put_str(b, "group", known && s->group[0] != '\0' ? s->group : NULL) == -1 ||
	    fmt_buf_put(b, "}", 1) == -1 ? -1 : 0;
}

/* A number with one decimal, or null. */
static int
ctlshow_put_real(struct fmt_buf *b, const char *key, double v, int known)
{
	return known ? fmt_printf(b, "\"%s\":%.1f", key, v) :
	    fmt_printf(b, "\"%s\":null", key);
}

/* One object of the "lanes" array. */
static int
ctlshow_json_lane(struct fmt_buf *b, const struct ctlstat_lane *l, uint32_t lane_size)
{
	return fmt_printf(b, "{\"lane\":%" PRIu32 ",", l->index) == -1 ||
	    ctlshow_put_u64(b, "pid", (uint64_t)l->pid, l->pid > 0) == -1 ||
	    fmt_printf(b, ",\"alive\":%s,", l->alive ? "true" : "false") == -1 ||
	    ctlshow_put_str(b, "name", l->name[0] != '\0' ? l->name : NULL) == -1 ||
	    fmt_printf(b, ",\"records\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"drops\":%"
	    PRIu64 ",", l->records, l->bytes, l->drops) == -1 ||
	    ctlshow_put_u64(b, "fill_bytes", l->fill, l->fill_known) == -1 ||
	    fmt_buf_put(b, ",", 1) == -1 ||
	    ctlshow_put_real(b, "fill_percent", 100.0 * (double)l->fill / lane_size,
	    l->fill_known) == -1 ||
	    fmt_buf_put(b, ",", 1) == -1 ||
	    ctlshow_put_real(b, "records_per_s", l->records_rate, l->rate_known) == -1 ||
	    fmt_buf_put(b, ",", 1) == -1 ||
	    ctlshow_put_real(b, "bytes_per_s", l->bytes_rate, l->rate_known) == -1 ||
	    fmt_buf_put(b, "}", 1) == -1 ? -1 : 0;
}

int
ctlshow_json(const struct ctlstat *st)
{
	struct fmt_buf b = { 0 };
	int rc = 0;

	if (fmt_buf_put(&b, "{", 1) == -1 || ctlshow_json_daemon(&b, &st->daemon) == -1 ||
	    fmt_buf_put(&b, ",", 1) == -1 || ctlshow_json_segment(&b, &st->segment) == -1 ||
	    fmt_printf(&b, ",\"interval_ms\":%" PRId64 ",\"lanes\":[",
	    st->interval_ns / 1000000) == -1)
		rc = -1;
	for (size_t i = 0; rc == 0 && i < st->nlanes; i++)
		if ((i > 0 && fmt_buf_put(&b, ",", 1) == -1) ||
		    ctlshow_json_lane(&b, &st->lanes[i], st->segment.lane_size) == -1)
			rc = -1;
	if (rc == 0 && fmt_buf_put(&b, "]}\n", 3) == -1)
		rc = -1;
	if (rc == 0)
		fwrite(b.data, 1, b.len, stdout);
	fmt_buf_free(&b);
	return rc;
}
