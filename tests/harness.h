/*
 * harness.h - helpers for the end-to-end tests: run the programs of
 * $MPLOG_BUILD as black boxes and read what they leave behind.
 *
 * Called from Criterion tests only, one test per process (Criterion forks
 * a worker per test); nothing here is thread-safe. A failed step fails the
 * test with a message (cr_assert) instead of returning an error, so tests
 * read as the scenario they check. harness_setup and harness_teardown are
 * the suite's .init and .fini: every process, segment and file a test
 * makes through the harness is killed, unlinked or removed afterwards,
 * even when the test failed.
 */
#ifndef MPLOG_HARNESS_H
#define MPLOG_HARNESS_H

#include <stddef.h>
#include <sys/types.h>

#include "timeout.h"

#define HARNESS_WAIT_MS  30000  /* default bound on a process's run */

/* Where a spawned process's 0, 1 and 2 come from; -1 means /dev/null. One
 * more descriptor, extra_fd, may be passed on as descriptor extra_as. */
struct harness_io {
	int in, out, err;
	int extra_fd, extra_as;
};

/* What harness_run collected: exit code (128+N for signal N), output. */
struct harness_result {
	pid_t pid;
	int code;
	char *out, *err;        /* NUL-terminated */
	size_t out_len, err_len;
};

/* One line of mplogd's JSON output, checked and decoded. */
struct harness_rec {
	size_t line;            /* 1-based line number in the file */
	char ts[40];
	long pid, tid;
	char proc[64];
	char source[16];
	char facility[16];
	char severity[16];
	int has_ident;          /* 0: "ident":null */
	char ident[64];
	char *msg;              /* decoded bytes, NUL-terminated */
	size_t msg_len;
	int continued;          /* "continued":true: more of the line follows */
	int has_thread;         /* 0: "thread":null */
	char thread[64];
	int has_cred;           /* uid and gid given: the kernel's word */
	long uid, gid;
};

/* A standalone mplogd serving its own segment. */
struct harness_daemon {
	pid_t pid;
	char shm[64];
	char *log;              /* its -o file */
	char *err;              /* file holding its stderr */
};

/* Start rsyslogd (MPLOG_RSYSLOGD, else /usr/sbin/rsyslogd) in the
 * foreground on conf, its pid in pidfile, its own messages appended to
 * log; its pid. Fails the test when it is not installed. */
pid_t harness_rsyslogd(const char *conf, const char *pidfile, const char *log);

/* A loopback port of type (SOCK_STREAM, SOCK_DGRAM) that is free now. */
int harness_free_port(int type);

/* From now on this process's stderr goes to a file of the scratch folder:
 * its path. */
char *harness_capture_stderr(void);

/* Suite fixtures: make the test's scratch folder; clean everything up. */
void harness_setup(void);
void harness_teardown(void);

/* A formatted string on the heap. */
char *harness_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* $MPLOG_BUILD/rel (skips the test when MPLOG_BUILD is unset). */
char *harness_build(const char *rel);

/* The shim's absolute path. */
char *harness_shim(void);

/* A path in the source tree: $MPLOG_SRC/rel, else rel beside $MPLOG_BUILD
 * when it exists there, else rel from the current folder. */
char *harness_repo(const char *rel);

/* A path in the test's scratch folder. */
char *harness_file(const char *name);

/* A segment name no other test or process uses; unlinked at teardown. */
const char *harness_shm_name(void);

/*
 * "LD_PRELOAD=libs" (libs a colon-separated list, or NULL), with
 * $MPLOG_TEST_PRELOAD first when it is set: the sanitizer builds set it to
 * their runtime, which must come first in the initial library list of
 * every process that loads the sanitized shim, uninstrumented programs
 * included. NULL when that leaves nothing to preload. Every LD_PRELOAD a
 * test gives a program is made here; harness_env and harness_spawn see to
 * those given to them.
 */
char *harness_preload(const char *libs);

/*
 * The environment for a spawned program: this process's, without
 * LD_PRELOAD and MPLOG_*, plus the NAME=VALUE strings given (NULL-ended),
 * plus MPLOG_BUILD, from which scripts/mplog-run takes its programs. Its
 * LD_PRELOAD, given or not, is made by harness_preload.
 */
char **harness_env(const char *first, ...);

/* Start argv[0] (a path) with the environment and descriptors given. The
 * process leads its own process group and is tracked for teardown. Its
 * LD_PRELOAD, given or not, is made by harness_preload. */
pid_t harness_spawn(char *const argv[], char **env, const struct harness_io *io);

/* Wait at most timeout_ms (scaled by TEST_SLOW, as every bound of a
 * test is) for pid; fails the test (after killing its group) when it
 * does not end. Returns the exit code, 128+N for signal N. */
int harness_wait(pid_t pid, int timeout_ms);

/*
 * Put at argv[*n] on the words that run a command under mplog, as a user
 * would: scripts/mplog-run when script, else "mplogd --preload SHIM"; then
 * "--format FORMAT" (none when format is NULL), "-o LOG", the options opts
 * (NULL-ended, or NULL) and "--". The command's words go on at *n.
 */
void harness_mplog_argv(char **argv, int *n, int script, const char *format,
    const char *log, const char *const *opts);

/*
 * Run $MPLOG_BUILD/hosts/HOST with the words args (NULL-ended) under mplog
 * as harness_mplog_argv puts it, the log in a new file of the scratch
 * folder whose path goes to *log. Returns what harness_run collected.
 */
struct harness_result harness_run_host(int script, const char *format,
    const char *const *opts, const char *host, const char *const *args, char **log);

/* Run argv to completion with stdin from in_text (NULL: /dev/null),
 * stdout and stderr collected. Returns r->code. */
int harness_run(char *const argv[], char **env, const char *in_text,
    struct harness_result *r);

/* The whole file (NUL-terminated); fails the test when it cannot be read. */
char *harness_read_file(const char *path, size_t *len);

/* Read one line from fd within timeout_ms (scaled by TEST_SLOW), without
 * its newline. Returns its length, or -1 at end of file; fails the test
 * on timeout. */
ssize_t harness_read_line(int fd, char *buf, size_t len, int timeout_ms);

/* Start a standalone mplogd on a fresh segment, writing format to a file,
 * and wait for its --ready-fd; extra is NULL or a NULL-ended option list. */
void harness_daemon_start(struct harness_daemon *d, const char *format,
    const char *const *extra);

/* The same on the segment shm (a name harness_shm_name gave), which a
 * killed mplogd may have left behind. */
void harness_daemon_start_on(struct harness_daemon *d, const char *shm, const char *format,
    const char *const *extra);

/* SIGTERM the daemon and wait: returns its exit code. */
int harness_daemon_stop(struct harness_daemon *d);

/*
 * Parse one line of mplogd's JSON output (without its newline), strictly:
 * the keys in their order, each value of its type and vocabulary, strings
 * of valid UTF-8 and valid escapes. 0, or -1 with the reason in why.
 */
int harness_json_parse(const char *s, size_t n, struct harness_rec *r,
    char *why, size_t whylen);

/* Every line of a JSON log, each checked with harness_json_parse (a line
 * that fails fails the test); *count gets the number of records. */
struct harness_rec *harness_json_load(const char *path, size_t *count);

/* The first of the n records whose message is msg; fails the test when
 * there is none. */
const struct harness_rec *harness_find(const struct harness_rec *recs, size_t n,
    const char *msg);

/* Milliseconds of CLOCK_MONOTONIC, for deadlines of conditions polled. */
long long harness_now_ms(void);

/* One step of a polling loop: a millisecond. */
void harness_tick(void);

/* 1 if s holds the NUL-terminated string needle. */
int harness_contains(const char *s, const char *needle);

/* Times s holds needle (overlapping ones too). */
size_t harness_count(const char *s, const char *needle);

/* Number of lines in s that start with prefix. */
size_t harness_count_lines(const char *s, const char *prefix);

#endif
