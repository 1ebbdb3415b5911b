/*
 * test_ctl.c - mplogctl, run as a black box against a segment the test
 * builds itself (no mplogd): the test process creates the segment, plays
 * the consumer and a producer, runs $MPLOG_BUILD/mplogctl and checks its
 * output, its messages and its exit status (0 ok, 1 segment, 2 usage).
 * The JSON form of status is parsed with jq(1).
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lane.h"
#include "need.h"
#include "procid.h"
#include "seg.h"
#include "timeout.h"

extern char **environ;

#define CTLT_OUT_MAX 16384

/* What one run of mplogctl left behind. */
struct ctlt_result {
	int status;             /* exit code, or -1 if it did not exit */
	char out[CTLT_OUT_MAX];
	char err[CTLT_OUT_MAX];
};

static struct seg ctlt_seg;
static char ctlt_name[SEG_PATH_MAX];
static int ctlt_serial;

/* A segment name no other test or process uses. */
static void
ctlt_unique_name(char *buf, size_t len, const char *tag)
{
	snprintf(buf, len, "/mplog-test-ctl-%d-%d%s", (int)getpid(),
	    ctlt_serial++, tag);
}

/* Path of the mplogctl under test; skips the test when it is unknown. */
static const char *
ctlt_binary(void)
{
	static char path[4096];
	const char *build = getenv("MPLOG_BUILD");

	if (build == NULL || build[0] == '\0')
		cr_skip_test("MPLOG_BUILD is not set");
	snprintf(path, sizeof(path), "%s/mplogctl", build);
	return path;
}

/* Read everything fd (a memfd) holds into buf, NUL-terminated. */
static void
ctlt_slurp(int fd, char *buf, size_t len)
{
	ssize_t n;
	size_t got = 0;

	cr_assert_neq(lseek(fd, 0, SEEK_SET), -1);
	while (got < len - 1 && (n = read(fd, buf + got, len - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(fd);
}

/* The environment less MPLOG_SHM, plus MPLOG_SHM=shm_env if not NULL. */
static char **
ctlt_env(const char *shm_env)
{
	static char var[128];
	size_t n = 0, k = 0;
	char **env;

	while (environ[n] != NULL)
		n++;
	env = calloc(n + 2, sizeof(*env));
	cr_assert_not_null(env);
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "MPLOG_SHM=", 10) != 0)
			env[k++] = environ[i];
	if (shm_env != NULL) {
		snprintf(var, sizeof(var), "MPLOG_SHM=%s", shm_env);
		env[k++] = var;
	}
	env[k] = NULL;
	return env;
}

/* Run argv (argv[0] a path, or a name looked up in PATH) with in (or
 * nothing) on its stdin, and collect what it did. */
static void
ctlt_spawn(struct ctlt_result *r, const char *const *argv, char **env, const char *in)
{
	posix_spawn_file_actions_t fa;
	int out = memfd_create("ctlt-out", MFD_CLOEXEC);
	int errfd = memfd_create("ctlt-err", MFD_CLOEXEC);
	int infd = memfd_create("ctlt-in", MFD_CLOEXEC);
	size_t inlen = in != NULL ? strlen(in) : 0;
	pid_t pid;
	int st;

	cr_assert(out != -1 && errfd != -1 && infd != -1, "memfd_create: %s", strerror(errno));
	cr_assert_eq(write(infd, in, inlen), (ssize_t)inlen);
	cr_assert_neq(lseek(infd, 0, SEEK_SET), -1);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, infd, 0);
	posix_spawn_file_actions_adddup2(&fa, out, 1);
	posix_spawn_file_actions_adddup2(&fa, errfd, 2);
	cr_assert_eq(posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, env), 0,
	    "cannot run %s", argv[0]);
	posix_spawn_file_actions_destroy(&fa);
	close(infd);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	ctlt_slurp(out, r->out, sizeof(r->out));
	ctlt_slurp(errfd, r->err, sizeof(r->err));
}

/* Run mplogctl with args (NULL-terminated) and collect what it did. */
static void
ctlt_run_env(struct ctlt_result *r, const char *shm_env, const char *const *args)
{
	const char *argv[16] = { ctlt_binary() };
	char **env = ctlt_env(shm_env);

	for (size_t i = 0; args[i] != NULL && i + 2 < 16; i++)
		argv[i + 1] = args[i];
	ctlt_spawn(r, argv, env, NULL);
	free(env);
}

/*
 * The output of jq -r filter on json, which must parse: its lines, with
 * the last newline removed, into out (of CTLT_OUT_MAX bytes).
 */
static void
ctlt_jq(const char *json, const char *filter, char *out)
{
	static struct ctlt_result r;
	const char *argv[] = { "/usr/bin/jq", "-r", filter, NULL };
	size_t n;

	TEST_NEED(access(argv[0], X_OK) == 0, "jq");
	ctlt_spawn(&r, argv, environ, json);
	cr_assert_eq(r.status, 0, "jq '%s' failed (%s) on: %s", filter, r.err, json);
	n = strlen(r.out);
	if (n > 0 && r.out[n - 1] == '\n')
		r.out[n - 1] = '\0';
	memcpy(out, r.out, CTLT_OUT_MAX);
}

/* Run mplogctl with args and no MPLOG_SHM in its environment. */
static void
ctlt_run(struct ctlt_result *r, const char *const *args)
{
	ctlt_run_env(r, NULL, args);
}

/* Write one stderr record with message msg into the lane. */
static void
ctlt_write_record(struct lane_writer *w, const char *msg)
{
	uint32_t len = (uint32_t)strlen(msg);
	struct lane_rec *rec = lane_reserve(w, len);

	cr_assert_not_null(rec);
	rec->source = LANE_SRC_STDERR;
	rec->pri = 3;
	rec->pid = (int32_t)getpid();
	rec->ts_ns = 1;
	memcpy(lane_rec_msg(rec), msg, len);
	lane_commit(w, rec);
}

/* Fixture: a fresh segment at level info, its consumer this process. */
static void
ctlt_setup(void)
{
	struct seg_params p = { .lane_count = 8, .lane_size = SEG_LANE_SIZE_MIN,
	    .level = 6 };

	(void)ctlt_binary();    /* skip before there is anything to remove */
	ctlt_unique_name(ctlt_name, sizeof(ctlt_name), "");
	shm_unlink(ctlt_name);
	cr_assert_eq(seg_create(&ctlt_seg, ctlt_name, &p), 0,
	    "seg_create %s: %s", ctlt_name, strerror(errno));
	seg_consumer_start(&ctlt_seg);
}

/* Fixture teardown: unmap and remove the segment. */
static void
ctlt_teardown(void)
{
	seg_detach(&ctlt_seg);
	shm_unlink(ctlt_name);
}

/* A lane leased by this process holding three published records. */
static void
ctlt_fill_own_lane(void)
{
	struct lane_writer w;
	uint64_t me = procid_pack(getpid(), procid_start(getpid()));

	cr_assert_eq(lane_lease(&ctlt_seg, me, &w), 0);
	ctlt_write_record(&w, "one");
	ctlt_write_record(&w, "two");
	ctlt_write_record(&w, "three");
	lane_publish(&w);
}

/* The lane row of status whose LANE column is lane; NULL if none. */
static const char *
ctlt_lane_row(const char *out, unsigned lane)
{
	const char *line = strstr(out, "\nLANE");

	while (line != NULL && (line = strchr(line + 1, '\n')) != NULL) {
		unsigned idx;

		if (sscanf(line + 1, "%u", &idx) == 1 && idx == lane)
			return line + 1;
	}
	return NULL;
}

Test(ctl, level_shows_the_keyword, .init = ctlt_setup, .fini = ctlt_teardown,
    .timeout = TEST_TIMEOUT(10))
{
	struct ctlt_result r;

	ctlt_run(&r, (const char *[]){ "--shm", ctlt_name, "level", NULL });
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_str_eq(r.out, "info\n");
	cr_assert_str_empty(r.err);
}

Test(ctl, level_set_changes_level_and_bumps_version, .init = ctlt_setup,
    .fini = ctlt_teardown, .timeout = TEST_TIMEOUT(10))
{
	struct ctlt_result r;
	uint32_t v0 = atomic_load_explicit(&ctlt_seg.config->version, memory_order_acquire);

	ctlt_run(&r, (const char *[]){ "--shm", ctlt_name, "level", "warning", NULL });
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_str_empty(r.out);
	cr_assert_eq(atomic_load_explicit(&ctlt_seg.config->level, memory_order_relaxed), 4);
	cr_assert_eq(atomic_load_explicit(&ctlt_seg.config->version, memory_order_acquire), v0 + 1);

	ctlt_run(&r, (const char *[]){ "--shm", ctlt_name, "level", "7", NULL });
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	ctlt_run(&r, (const char *[]){ "--shm", ctlt_name, "level", NULL });
	cr_assert_str_eq(r.out, "debug\n");
	cr_assert_eq(atomic_load_explicit(&ctlt_seg.config->version, memory_order_acquire), v0 + 2);
}

Test(ctl, unknown_level_is_a_usage_error_naming_it, .init = ctlt_setup,
    .fini = ctlt_teardown, .timeout = TEST_TIMEOUT(10))
{
	struct ctlt_result r;
	uint32_t v0 = atomic_load_explicit(&ctlt_seg.config->version, memory_order_acquire);

	ctlt_run(&r, (const char *[]){ "--shm", ctlt_name, "level", "loud", NULL });
	cr_assert_eq(r.status, 2);
	cr_assert_not_null(strstr(r.err, "unknown level 'loud'"), "stderr: %s", r.err);
	cr_assert_str_empty(r.out);
	cr_assert_eq(atomic_load_explicit(&ctlt_seg.config->level, memory_order_relaxed), 6);
	cr_assert_eq(atomic_load_explicit(&ctlt_seg.config->version, memory_order_acquire), v0);
}

Test(ctl, unknown_command_is_a_usage_error_naming_it, .timeout = TEST_TIMEOUT(10))
{
	struct ctlt_result r;

	ctlt_run(&r, (const char *[]){ "foo", NULL });
	cr_assert_eq(r.status, 2);
	cr_assert_not_null(strstr(r.err, "unknown command 'foo'"), "stderr: %s", r.err);

	ctlt_run(&r, (const char *[]){ "--no-such-option", "status", NULL });
	cr_assert_eq(r.status, 2);
	cr_assert_not_null(strstr(r.err, "no-such-option"), "stderr: %s", r.err);
}

Test(ctl, missing_segment_exits_1_naming_it, .timeout = TEST_TIMEOUT(10))
{
	struct ctlt_result r;
	char name[SEG_PATH_MAX];

	ctlt_unique_name(name, sizeof(name), "-missing");
	shm_unlink(name);
	ctlt_run(&r, (const char *[]){ "--shm", name, "status", NULL });
	cr_assert_eq(r.status, 1);
	cr_assert_not_null(strstr(r.err, name), "stderr: %s", r.err);
	cr_assert_not_null(strstr(r.err, "no such segment"), "stderr: %s", r.err);
	cr_assert_str_empty(r.out);
}

Test(ctl, foreign_segment_exits_1, .timeout = TEST_TIMEOUT(10))
{
	struct ctlt_result r;
	char name[SEG_PATH_MAX];
	int fd;

	(void)ctlt_binary();
	ctlt_unique_name(name, sizeof(name), "-foreign");
	fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
	cr_assert_neq(fd, -1);
	cr_assert_eq(ftruncate(fd, 65536), 0);
	close(fd);
	ctlt_run(&r, (const char *[]){ "--shm", name, "level", NULL });
	shm_unlink(name);
	cr_assert_eq(r.status, 1);
	cr_assert_not_null(strstr(r.err, "not an mplog segment"), "stderr: %s", r.err);
}

Test(ctl, mplog_shm_names_the_segment_and_shm_overrides_it, .init = ctlt_setup,
    .fini = ctlt_teardown, .timeout = TEST_TIMEOUT(10))
{
	struct ctlt_result r;
	char missing[SEG_PATH_MAX];

	ctlt_run_env(&r, ctlt_name, (const char *[]){ "level", NULL });
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_str_eq(r.out, "info\n");

	ctlt_unique_name(missing, sizeof(missing), "-missing");
	ctlt_run_env(&r, missing, (const char *[]){ "--shm", ctlt_name, "level", NULL });
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);

	ctlt_run_env(&r, "no-slash", (const char *[]){ "level", NULL });
	cr_assert_eq(r.status, 2);
	cr_assert_not_null(strstr(r.err, "MPLOG_SHM"), "stderr: %s", r.err);
}

Test(ctl, status_lists_the_leased_lane, .init = ctlt_setup, .fini = ctlt_teardown,
    .timeout = TEST_TIMEOUT(10))
{
	struct ctlt_result r;
	const char *row;
	unsigned lane;
	int pid;
	char name[64];
	unsigned long long records;

	ctlt_fill_own_lane();
	ctlt_run(&r, (const char *[]){ "--shm", ctlt_name, "status", NULL });
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_not_null(strstr(r.out, ctlt_name), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "level info"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "policy block"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, " alive "), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "\nlanes    1 of 8 in use, 0 over the socket, 256K each"), "%s", r.out);
	row = ctlt_lane_row(r.out, 0);
	cr_assert_not_null(row, "no lane 0 in:\n%s", r.out);
	cr_assert_eq(sscanf(row, "%u %d %63s %llu", &lane, &pid, name, &records), 4,
	    "row: %s", row);
	cr_assert_eq(pid, (int)getpid());
	cr_assert_eq(records, 3);
	cr_assert_null(ctlt_lane_row(r.out, 1), "free lane listed:\n%s", r.out);
}

Test(ctl, status_shows_dead_owner_without_name, .init = ctlt_setup,
    .fini = ctlt_teardown, .timeout = TEST_TIMEOUT(10))
{
	struct ctlt_result r;
	struct lane_writer w;
	pid_t child = fork();
	uint64_t owner;
	const char *row;
	char pid[16], name[64];

	cr_assert_neq(child, -1);
	if (child == 0)
		_exit(0);
	owner = procid_pack(child, procid_start(child));
	cr_assert_eq(waitpid(child, NULL, 0), child);
	cr_assert_eq(lane_lease(&ctlt_seg, owner, &w), 0);
	ctlt_write_record(&w, "left behind");
	lane_publish(&w);
	ctlt_run(&r, (const char *[]){ "--shm", ctlt_name, "status", NULL });
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	row = ctlt_lane_row(r.out, 0);
	cr_assert_not_null(row, "no lane 0 in:\n%s", r.out);
	cr_assert_eq(sscanf(row, "%*u %15s %63s", pid, name), 2, "row: %s", row);
	cr_assert_eq(atoi(pid), (int)child);
	cr_assert_str_eq(name, "-");
}

Test(ctl, status_says_when_the_daemon_is_gone, .init = ctlt_setup,
    .fini = ctlt_teardown, .timeout = TEST_TIMEOUT(10))
{
	struct ctlt_result r;

	seg_consumer_close(&ctlt_seg);
	ctlt_run(&r, (const char *[]){ "--shm", ctlt_name, "status", NULL });
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_not_null(strstr(r.out, "  gone  "), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "(segment closed)"), "%s", r.out);
}

Test(ctl, status_says_when_the_heartbeat_is_stale, .init = ctlt_setup,
    .fini = ctlt_teardown, .timeout = TEST_TIMEOUT(10))
{
	struct ctlt_result r;
	uint64_t old = (uint64_t)(seg_now_mono() - 2 * SEG_STALE_NS);

	atomic_store_explicit(&ctlt_seg.meta->heartbeat_ns, old, memory_order_relaxed);
	ctlt_run(&r, (const char *[]){ "--shm", ctlt_name, "status", NULL });
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_not_null(strstr(r.out, " stopped "), "%s", r.out);
}

/* The line of out that starts with prefix, copied without its newline. */
static void
ctlt_line(const char *out, const char *prefix, char *line, size_t len)
{
	const char *p = out;
	size_t n;

	while (p != NULL && strncmp(p, prefix, strlen(prefix)) != 0)
		p = (p = strchr(p, '\n')) != NULL ? p + 1 : NULL;
	cr_assert_not_null(p, "no line starting '%s' in:\n%s", prefix, out);
	n = strcspn(p, "\n");
	cr_assert_lt(n, len);
	memcpy(line, p, n);
	line[n] = '\0';
}

/* The cell of the row under the header column head, which is aligned
 * right: the word of row that ends where head ends. */
static void
ctlt_cell(const char *header, const char *row, const char *head, char *cell, size_t len)
{
	const char *h = strstr(header, head);
	size_t end, start;

	cr_assert_not_null(h, "no column %s in: %s", head, header);
	end = (size_t)(h - header) + strlen(head);
	cr_assert_leq(end, strlen(row), "row shorter than the header:\n%s\n%s", header, row);
	cr_assert(row[end] == '\0' || row[end] == ' ', "column %s not aligned:\n%s\n%s",
	    head, header, row);
	for (start = end; start > 0 && row[start - 1] != ' '; start--)
		;
	cr_assert_lt(end - start, len);
	memcpy(cell, row + start, end - start);
	cell[end - start] = '\0';
}

Test(ctl, status_text_aligns_the_columns_under_their_heads, .init = ctlt_setup,
    .fini = ctlt_teardown, .timeout = TEST_TIMEOUT(10))
{
	struct ctlt_result r;
	char header[256], row[256], cell[64];

	ctlt_fill_own_lane();
	ctlt_run(&r, (const char *[]){ "--shm", ctlt_name, "status", NULL });
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	ctlt_line(r.out, "LANE", header, sizeof(header));
	ctlt_line(r.out, "   0  ", row, sizeof(row));
	cr_assert_eq(strlen(header), strlen(row), "\n%s\n%s", header, row);
	/* Three records of 32 header bytes and "one", "two", "three"; in the
	 * ring each takes 40, 8-byte aligned; nothing is read; no writes. */
	static const char *const want[][2] = {
		{ "RECORDS", "3" }, { "BYTES", "107B" }, { "REC/S", "0" },
		{ "BYTES/S", "0B" }, { "DROPS", "0" }, { "FILL", "120B/256K" },
		{ "FILL%", "0.0%" },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ctlt_cell(header, row, want[i][0], cell, sizeof(cell));
		cr_assert_str_eq(cell, want[i][1], "column %s", want[i][0]);
	}
	cr_assert_not_null(strstr(r.out, "rates over 0.2"), "%s", r.out);
}

Test(ctl, status_json_holds_the_exact_values, .init = ctlt_setup, .fini = ctlt_teardown,
    .timeout = TEST_TIMEOUT(10))
{
	struct ctlt_result r;
	char got[CTLT_OUT_MAX], want[512], comm[SEG_NAME_MAX];

	ctlt_fill_own_lane();
	ctlt_run(&r, (const char *[]){ "--shm", ctlt_name, "status", "--json", NULL });
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_str_empty(r.err);
	ctlt_jq(r.out, "[.segment.name, .segment.size, .segment.lanes_total, "
	    ".segment.lanes_used, .segment.lane_size, .segment.policy, .segment.level, "
	    ".segment.mode, .daemon.state, .daemon.segment_state, .daemon.pid, "
	    ".daemon.damaged_records, (.daemon.uptime_s >= 0), (.interval_ms >= 200), "
	    "(.lanes | length), .lanes[0].lane, .lanes[0].pid, .lanes[0].alive, "
	    ".lanes[0].records, .lanes[0].bytes, .lanes[0].drops, .lanes[0].fill_bytes, "
	    ".lanes[0].records_per_s, .lanes[0].bytes_per_s] | map(tostring) | join(\" \")", got);
	snprintf(want, sizeof(want), "%s %zu 8 1 262144 block info 0600 alive running %d "
	    "0 true true 1 0 %d true 3 107 0 120 0 0", ctlt_name, ctlt_seg.size,
	    (int)getpid(), (int)getpid());
	cr_assert_str_eq(got, want);
	cr_assert_eq(procid_comm(getpid(), comm, sizeof(comm)), 0);
	ctlt_jq(r.out, ".lanes[0].name", got);
	cr_assert_str_eq(got, comm);
	/* One object on one line. */
	cr_assert_eq(strchr(r.out, '\n'), r.out + strlen(r.out) - 1, "%s", r.out);
}

Test(ctl, json_goes_before_or_after_status_only, .init = ctlt_setup,
    .fini = ctlt_teardown, .timeout = TEST_TIMEOUT(10))
{
	struct ctlt_result r;
	char got[CTLT_OUT_MAX];

	ctlt_run(&r, (const char *[]){ "--shm", ctlt_name, "--json", "status", NULL });
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	ctlt_jq(r.out, "[.segment.lanes_total, .segment.lanes_used, (.lanes | length)] | "
	    "map(tostring) | join(\" \")", got);
	cr_assert_str_eq(got, "8 0 0");

	ctlt_run(&r, (const char *[]){ "--shm", ctlt_name, "--json", "level", NULL });
	cr_assert_eq(r.status, 2);
	cr_assert_not_null(strstr(r.err, "only status"), "stderr: %s", r.err);
	cr_assert_str_empty(r.out);

	ctlt_run(&r, (const char *[]){ "--shm", ctlt_name, "status", "--json", "x", NULL });
	cr_assert_eq(r.status, 2);
	cr_assert_not_null(strstr(r.err, "too many arguments"), "stderr: %s", r.err);
}

Test(ctl, status_shows_absurd_numbers_as_unknown, .init = ctlt_setup,
    .fini = ctlt_teardown, .timeout = TEST_TIMEOUT(10))
{
	struct ctlt_result r;
	struct lane_hdr *h = seg_lane(&ctlt_seg, 0), *h1 = seg_lane(&ctlt_seg, 1);
	char got[CTLT_OUT_MAX], header[256], row[256], cell[64];

	ctlt_fill_own_lane();
	/* What a hostile producer or a scribbler can write. */
	atomic_store_explicit(&h->head, atomic_load(&h->tail) + (UINT64_C(1) << 63),
	    memory_order_relaxed);
	atomic_store_explicit(&h->records, UINT64_MAX, memory_order_relaxed);
	atomic_store_explicit(&h->bytes, UINT64_MAX, memory_order_relaxed);
	atomic_store_explicit(&h->drops, UINT64_MAX, memory_order_relaxed);
	atomic_store_explicit(&h1->owner, procid_pack(-5, 1), memory_order_relaxed);
	atomic_store_explicit(&ctlt_seg.config->level, 99, memory_order_relaxed);
	atomic_store_explicit(&ctlt_seg.meta->heartbeat_ns,
	    (uint64_t)(seg_now_mono() + 3600 * 1000000000LL), memory_order_relaxed);

	ctlt_run(&r, (const char *[]){ "--shm", ctlt_name, "status", NULL });
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_not_null(strstr(r.out, "  stopped  heartbeat never"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "  level ?"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "\nlanes    2 of 8 in use"), "%s", r.out);
	ctlt_line(r.out, "LANE", header, sizeof(header));
	ctlt_line(r.out, "   0  ", row, sizeof(row));
	ctlt_cell(header, row, "FILL", cell, sizeof(cell));
	cr_assert_str_eq(cell, "?");
	ctlt_cell(header, row, "RECORDS", cell, sizeof(cell));
	cr_assert_str_eq(cell, "9.2E");
	ctlt_line(r.out, "   1  ", row, sizeof(row));
	cr_assert_eq(sscanf(row, "%*u %63s", cell), 1);
	cr_assert_str_eq(cell, "?");

	ctlt_run(&r, (const char *[]){ "--shm", ctlt_name, "status", "--json", NULL });
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_not_null(strstr(r.out, "\"records\":18446744073709551615,"), "%s", r.out);
	ctlt_jq(r.out, "[.segment.level, .daemon.state, .daemon.heartbeat_age_ms, "
	    ".lanes[0].fill_bytes, .lanes[0].fill_percent, .lanes[0].records_per_s, "
	    ".lanes[1].pid, .lanes[1].alive, .lanes[1].name] | map(tostring) | join(\" \")", got);
	cr_assert_str_eq(got, "null stopped null null null 0 null false null");
}

Test(ctl, status_escapes_the_process_name, .init = ctlt_setup, .fini = ctlt_teardown,
    .timeout = TEST_TIMEOUT(10))
{
	struct ctlt_result r;
	char got[CTLT_OUT_MAX], c;
	int ready[2], hold[2];
	pid_t child;

	cr_assert_eq(pipe(ready), 0);
	cr_assert_eq(pipe(hold), 0);
	child = fork();
	cr_assert_neq(child, -1);
	if (child == 0) {
		struct lane_writer w;

		close(ready[0]);
		close(hold[1]);
		prctl(PR_SET_NAME, "ev\033[2Jil\a");
		if (lane_lease(&ctlt_seg, procid_pack(getpid(), procid_start(getpid())), &w) != 0)
			_exit(1);
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		(void)read(hold[0], &c, 1);     /* until the test is done */
		_exit(0);
	}
	close(ready[1]);
	close(hold[0]);
	cr_assert_eq(read(ready[0], &c, 1), 1, "the child could not lease a lane");
	ctlt_run(&r, (const char *[]){ "--shm", ctlt_name, "status", NULL });
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_null(strchr(r.out, '\033'), "raw ESC in:\n%s", r.out);
	cr_assert_null(strchr(r.out, '\a'), "raw BEL in:\n%s", r.out);
	cr_assert_not_null(strstr(r.out, " ev\\033[2Jil\\a "), "%s", r.out);
	ctlt_run(&r, (const char *[]){ "--shm", ctlt_name, "status", "--json", NULL });
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_not_null(strstr(r.out, "\"name\":\"ev\\u001b[2Jil\\u0007\""), "%s", r.out);
	ctlt_jq(r.out, ".lanes[0].name", got);
	cr_assert_str_eq(got, "ev\033[2Jil\a");
	close(hold[1]);
	cr_assert_eq(waitpid(child, NULL, 0), child);
	close(ready[0]);
}

/* Give lane i an owner (pid, any start time) and a name, as a lease does. */
static void
ctlt_name_lane(uint32_t i, pid_t pid, const char *name)
{
	struct lane_hdr *h = seg_lane(&ctlt_seg, i);

	atomic_store(&h->owner, procid_pack(pid, 1));
	memset(h->name, 0, sizeof(h->name));
	memcpy(h->name, name, strlen(name));
}

Test(ctl, names_lists_each_lane_in_use_with_its_pid, .init = ctlt_setup,
    .fini = ctlt_teardown, .timeout = TEST_TIMEOUT(10))
{
	struct ctlt_result r;

	ctlt_name_lane(0, 4242, "demo");
	ctlt_name_lane(2, 77, "worker");
	ctlt_run(&r, (const char *[]){ "--shm", ctlt_name, "names", NULL });
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_str_eq(r.out, " LANE      PID  NAME\n"
	    "    0     4242  demo\n"
	    "    2       77  worker\n");
}

Test(ctl, names_with_escapes_are_printed_escaped, .init = ctlt_setup,
    .fini = ctlt_teardown, .timeout = TEST_TIMEOUT(10))
{
	struct ctlt_result r;
	struct lane_hdr *h = seg_lane(&ctlt_seg, 1);

	ctlt_name_lane(0, 4242, "evil\033[2Jname\r");
	ctlt_name_lane(2, 4243, "bell\a");
	atomic_store(&h->owner, procid_pack(4244, 1));
	memset(h->name, 'x', sizeof(h->name));  /* no NUL at all */
	ctlt_run(&r, (const char *[]){ "--shm", ctlt_name, "names", NULL });
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_null(strchr(r.out, '\033'), "raw ESC in output");
	cr_assert_null(strchr(r.out, '\r'), "raw CR in output");
	cr_assert_not_null(strstr(r.out, "evil\\033[2Jname\\r"), "%s", r.out);
	cr_assert_null(strchr(r.out, '\a'), "raw BEL in output");
	cr_assert_not_null(strstr(r.out, "bell\\a\n"), "%s", r.out);
	/* A name is at most 31 bytes: the 32nd is never shown. */
	cr_assert_not_null(strstr(r.out, "     4244  xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"), "%s", r.out);
}

Test(ctl, help_exits_0_and_documents_exit_codes, .timeout = TEST_TIMEOUT(10))
{
	struct ctlt_result r;

	ctlt_run(&r, (const char *[]){ "--help", NULL });
	cr_assert_eq(r.status, 0);
	cr_assert_not_null(strstr(r.out, "usage: mplogctl"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "Exit status"), "%s", r.out);
	cr_assert_str_empty(r.err);

	ctlt_run(&r, (const char *[]){ "-h", NULL });
	cr_assert_eq(r.status, 0);

	ctlt_run(&r, (const char *[]){ "--version", NULL });
	cr_assert_eq(r.status, 0);
	cr_assert_str_eq(r.out, "mplogctl 0.1\n");
}
