/*
 * test_names.c - names never run out: every record carries the process
 * name its process had when it wrote, and the syslog ident it opened,
 * through one mplogd that serves thousands of differently named programs
 * over its life, and a process that opens a thousand idents.
 *
 * The programs are tests/hosts/say under many names (symbolic links: a
 * program is named after how it was run), each logging to a standalone
 * mplogd; the log is read back strictly (harness_json_load) and every
 * record compared with the name and text its process was given.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "timeout.h"

#define NAMES_PROGRAMS  (10000 / TEST_SLOW)  /* distinct program names, one mplogd
                                             * (fewer under the sanitizers: time) */
#define NAMES_AT_ONCE   4       /* run side by side */
#define NAMES_IDENTS    1000    /* idents opened by one process */
#define NAMES_RUN_MS    30000   /* one program's run, at most */
#define NAMES_RSS_KB    4096    /* mplogd's growth allowed from 1,000 names on */

TestSuite(names, .init = harness_setup, .fini = harness_teardown);

/* mplogd's resident set, in KiB, from /proc/PID/status. */
static long
namest_rss_kb(pid_t pid)
{
	char *path = harness_fmt("/proc/%d/status", (int)pid);
	char *st = harness_read_file(path, NULL);
	const char *p = strstr(st, "VmRSS:");
	long kb = -1;

	cr_assert_not_null(p, "no VmRSS in %s", path);
	cr_assert_eq(sscanf(p, "VmRSS: %ld kB", &kb), 1);
	free(st);
	free(path);
	return kb;
}

/* Run the programs first..last-1, NAMES_AT_ONCE at a time; program i is
 * say linked as DIR/prog-i and writes "line of prog-i". */
static void
namest_run(const char *dir, char **env, int first, int last)
{
	char *say = harness_build("hosts/say");

	for (int i = first; i < last; i += NAMES_AT_ONCE) {
		pid_t pids[NAMES_AT_ONCE];
		int n = 0;

		for (int k = i; k < last && k < i + NAMES_AT_ONCE; k++, n++) {
			char *link = harness_fmt("%s/prog-%05d", dir, k);
			char *argv[] = { link, harness_fmt("w:line of prog-%05d\\n", k), NULL };

			cr_assert(symlink(say, link) == 0, "%s: %s", link, strerror(errno));
			pids[n] = harness_spawn(argv, env, NULL);
			free(argv[1]);
			free(link);
		}
		for (int k = 0; k < n; k++)
			cr_assert_eq(harness_wait(pids[k], NAMES_RUN_MS), 0, "program %d", i + k);
	}
	free(say);
}

/*
 * 10,000 programs of distinct names, one after another, logging to one
 * mplogd: every record names its own program (none "?"), and mplogd's
 * memory does not grow with the names it has seen.
 */
Test(names, ten_thousand_programs_each_logged_under_its_own_name,
    .timeout = TEST_TIMEOUT(900))
{
	struct harness_daemon d;
	struct harness_rec *recs;
	char *dir = harness_file("progs");
	char **env;
	long rss_1k, rss_10k;
	size_t n, seen = 0;
	char *seen_map = calloc(NAMES_PROGRAMS, 1);

	cr_assert(seen_map != NULL && mkdir(dir, 0700) == 0);
	harness_daemon_start(&d, "json", NULL);
	env = harness_env(harness_fmt("LD_PRELOAD=%s", harness_shim()),
	    harness_fmt("MPLOG_SHM=%s", d.shm), NULL);
	namest_run(dir, env, 0, NAMES_PROGRAMS / 10);
	rss_1k = namest_rss_kb(d.pid);
	namest_run(dir, env, NAMES_PROGRAMS / 10, NAMES_PROGRAMS);
	rss_10k = namest_rss_kb(d.pid);
	cr_assert_eq(harness_daemon_stop(&d), 0);
	recs = harness_json_load(d.log, &n);
	for (size_t i = 0; i < n; i++) {
		int k;

		if (strcmp(recs[i].source, "stderr") != 0)
			continue;
		cr_assert_eq(sscanf(recs[i].msg, "line of prog-%05d", &k), 1,
		    "line %zu: %s", recs[i].line, recs[i].msg);
		cr_assert(k >= 0 && k < NAMES_PROGRAMS && !seen_map[k], "line %zu: %s again",
		    recs[i].line, recs[i].msg);
		cr_assert_str_eq(recs[i].proc, recs[i].msg + strlen("line of "),
		    "line %zu: the record of %s is named %s", recs[i].line, recs[i].msg,
		    recs[i].proc);
		seen_map[k] = 1;
		seen++;
	}
	cr_assert_eq(seen, NAMES_PROGRAMS, "%zu of %d programs' lines arrived", seen,
	    NAMES_PROGRAMS);
	cr_assert_leq(rss_10k, rss_1k + NAMES_RSS_KB,
	    "mplogd grew from %ld KiB at 1,000 names to %ld KiB at 10,000", rss_1k, rss_10k);
	free(seen_map);
	free(dir);
}

/* Run say with argv under the shim, alone with a new mplogd; its pid in
 * *pid, the log's records returned, *n of them. */
static struct harness_rec *
namest_say_alone(char **argv, pid_t *pid, size_t *n)
{
	struct harness_daemon d;

	harness_daemon_start(&d, "json", NULL);
	*pid = harness_spawn(argv, harness_env(harness_fmt("LD_PRELOAD=%s", harness_shim()),
	    harness_fmt("MPLOG_SHM=%s", d.shm), NULL), NULL);
	cr_assert_eq(harness_wait(*pid, NAMES_RUN_MS), 0);
	cr_assert_eq(harness_daemon_stop(&d), 0);
	return harness_json_load(d.log, n);
}

/*
 * One process opens 1,000 idents, logging once under each: every record
 * carries the ident open at its call, and the process's own name.
 */
Test(names, a_thousand_idents_in_one_process_each_reach_their_record,
    .timeout = TEST_TIMEOUT(120))
{
	struct harness_rec *recs;
	char **argv = calloc(2 * NAMES_IDENTS + 2, sizeof(char *));
	size_t n, seen = 0;
	pid_t pid;

	cr_assert_not_null(argv);
	argv[0] = harness_build("hosts/say");
	for (int i = 0; i < NAMES_IDENTS; i++) {
		argv[1 + 2 * i] = harness_fmt("o:ident-%04d", i);
		argv[2 + 2 * i] = harness_fmt("s:6:under ident-%04d", i);
	}
	recs = namest_say_alone(argv, &pid, &n);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(recs[i].source, "syslog") != 0)
			continue;
		cr_assert_eq(recs[i].pid, pid);
		cr_assert_str_eq(recs[i].proc, "say");
		cr_assert_eq(recs[i].has_ident, 1, "line %zu: no ident", recs[i].line);
		cr_assert_str_eq(recs[i].msg, harness_fmt("under %s", recs[i].ident),
		    "line %zu", recs[i].line);
		cr_assert_str_eq(recs[i].ident, harness_fmt("ident-%04zu", seen),
		    "line %zu: out of order", recs[i].line);
		seen++;
	}
	cr_assert_eq(seen, NAMES_IDENTS, "%zu of %d records arrived", seen, NAMES_IDENTS);
}

/*
 * Every record carries the name its thread had when it wrote: the main
 * thread's comm, then the name prctl(PR_SET_NAME) gave it (the records
 * before keep the old one), and a thread named by pthread_setname_np from
 * another thread before it wrote. Text shows a name that says more than
 * the process name.
 */
Test(names, each_record_carries_the_name_its_thread_had_when_it_wrote,
    .timeout = TEST_TIMEOUT(60))
{
	struct harness_rec *recs;
	static const char *const want[][2] = {
		{ "before the rename", "say" },
		{ "syslog before", "say" },
		{ "after the rename", "main-renamed" },
		{ "syslog after", "main-renamed" },
		{ "from a named thread", "worker-7" },
		{ "main again", "main-renamed" },
	};
	char *argv[] = { harness_build("hosts/say"), "w:before the rename\\n",
	    "s:6:syslog before", "n:main-renamed", "w:after the rename\\n", "s:6:syslog after",
	    "N:worker-7:from a named thread\\n", "w:main again\\n", NULL };
	size_t n;
	pid_t pid;

	recs = namest_say_alone(argv, &pid, &n);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct harness_rec *r = harness_find(recs, n, want[i][0]);

		cr_assert_eq(r->has_thread, 1, "%s: no thread name", want[i][0]);
		cr_assert_str_eq(r->thread, want[i][1], "%s", want[i][0]);
		cr_assert_str_eq(r->proc, "say");
	}
	cr_assert_neq(harness_find(recs, n, "from a named thread")->tid, pid);
}

/* In text, a thread's name that differs from the process name follows
 * it: PROC/THREAD[PID]. */
Test(names, text_shows_a_thread_name_that_says_more, .timeout = TEST_TIMEOUT(60))
{
	char *log;
	struct harness_result r = harness_run_host(1, NULL, NULL, "say",
	    (const char *[]){ "w:plain\\n", "N:worker-7:named\\n", NULL }, &log);
	const char *said = strstr(r.out, "say pid=");
	char *text;
	int pid;

	cr_assert_eq(r.code, 0, "%s", r.err);
	cr_assert(said != NULL && sscanf(said, "say pid=%d", &pid) == 1, "%s", r.out);
	text = harness_read_file(log, NULL);
	cr_assert(harness_contains(text, harness_fmt(" say[%d] info: plain\n", pid)),
	    "%s", text);
	cr_assert(harness_contains(text, harness_fmt(" say/worker-7[%d] info: named\n", pid)),
	    "%s", text);
	free(text);
}
