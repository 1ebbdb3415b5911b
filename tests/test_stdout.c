/*
 * test_stdout.c - a program's standard output under --stdout capture, tee
 * and pass: every way a C program, bash, python3 and perl write to stdout,
 * in the order of the calls beside stderr, with stdout's buffering kept in
 * tee mode and the tree's own pipes left alone.
 *
 * Each case first runs plainly, without mplog: what it writes there is the
 * reference its expectations are checked against.
 */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "need.h"
#include "timeout.h"

TestSuite(stdout, .init = harness_setup, .fini = harness_teardown);

#define SO_ARGS 48

/* One line the log must hold, in this order among the lines listed. */
struct so_want {
	const char *source;
	const char *msg;
	const char *severity;   /* NULL: info */
};

/* argv under mplog-run --stdout MODE (NULL: no --stdout) and --stderr
 * ERRMODE (NULL: none), JSON to a new log whose path goes to *log. */
static char **
so_argv(const char *mode, const char *errmode, const char *const *cmd, char **log)
{
	static char *argv[SO_ARGS];
	static int runs;
	const char *opts[5] = { NULL };
	int k = 0, o = 0;

	if (mode != NULL) {
		opts[o++] = "--stdout";
		opts[o++] = mode;
	}
	if (errmode != NULL) {
		opts[o++] = "--stderr";
		opts[o++] = errmode;
	}
	*log = harness_file(harness_fmt("out-%d.json", runs++));
	harness_mplog_argv(argv, &k, 1, "json", *log, opts);
	for (int i = 0; cmd[i] != NULL && k < SO_ARGS - 1; i++)
		argv[k++] = (char *)cmd[i];
	argv[k] = NULL;
	return argv;
}

/* Run cmd under mplog-run --stdout mode; its records and what it wrote. */
static struct harness_rec *
so_run(const char *mode, const char *const *cmd, size_t *n, struct harness_result *r)
{
	char *log;

	harness_run(so_argv(mode, NULL, cmd, &log), harness_env(NULL), NULL, r);
	return harness_json_load(log, n);
}

/* The records are exactly want (nwant of them), in order, stdout ones
 * with severity info and facility user. */
static void
so_expect(const struct harness_rec *recs, size_t n, const struct so_want *want, size_t nwant)
{
	cr_assert_eq(n, nwant, "%zu records, %zu expected (first: %s)", n, nwant,
	    n > 0 ? recs[0].msg : "none");
	for (size_t i = 0; i < n; i++) {
		cr_expect_str_eq(recs[i].msg, want[i].msg, "record %zu", i);
		cr_expect_str_eq(recs[i].source, want[i].source, "record %zu: %s", i, want[i].msg);
		cr_expect_str_eq(recs[i].severity, want[i].severity ? want[i].severity : "info",
		    "record %zu", i);
		cr_expect_str_eq(recs[i].facility, "user", "record %zu", i);
	}
}

/* The text of the stdout lines of want, each with its newline. */
static char *
so_text(const struct so_want *want, size_t nwant, const char *source)
{
	char *s = calloc(4096, 1);

	cr_assert_not_null(s);
	for (size_t i = 0; i < nwant; i++)
		if (strcmp(want[i].source, source) == 0)
			strcat(strcat(s, want[i].msg), "\n");
	return s;
}

/*
 * Every stdout path with stderr between. The inline putc_unlocked of "s:"
 * finds no room in a buffer capture mode keeps empty, and so reaches
 * __overflow; in tee mode the buffer has room and the byte is captured
 * at the next hooked call only (README, "Limits"), so the tee run leaves
 * "s:" out (tee).
 */
static const char *const so_mix[] = {
	"", "p:o1 printf", "e:e1", "u:o2 puts", "f:o3 fwrite", "e:e2", "c:o4 putchar",
	"s:o5 fputs and the inline putc_unlocked", "w:o6 write", "F:", "p:<3>o7 with a prefix",
	"e:e3", NULL,
};

static const struct so_want so_mix_want[] = {
	{ "stdout", "o1 printf", NULL }, { "stderr", "e1", NULL }, { "stdout", "o2 puts", NULL },
	{ "stdout", "o3 fwrite", NULL }, { "stderr", "e2", NULL }, { "stdout", "o4 putchar", NULL },
	{ "stdout", "o5 fputs and the inline putc_unlocked", NULL }, { "stdout", "o6 write", NULL },
	{ "stdout", "o7 with a prefix", "err" }, { "stderr", "e3", NULL },
};
#define SO_MIX_N (sizeof(so_mix_want) / sizeof(so_mix_want[0]))
#define SO_MIX_S 7      /* the "s:" directive in so_mix */

/* so_mix with the host's path first, without "s:" when tee. */
static const char *const *
so_mix_cmd(int tee)
{
	static const char *cmd[sizeof(so_mix) / sizeof(so_mix[0])];
	size_t k = 0;

	for (size_t i = 0; i < sizeof(so_mix) / sizeof(so_mix[0]); i++)
		if (!tee || i != SO_MIX_S)
			cmd[k++] = so_mix[i];
	cmd[0] = harness_build("hosts/outmix");
	return cmd;
}

/* so_mix_want without the line of "s:". */
static size_t
so_mix_want_tee(struct so_want *out)
{
	size_t k = 0;

	for (size_t i = 0; i < SO_MIX_N; i++)
		if (strncmp(so_mix_want[i].msg, "o5 ", 3) != 0)
			out[k++] = so_mix_want[i];
	return k;
}

/* The C host's stdout is a file, so fully buffered: the log still holds
 * its lines in the order of the calls, between its stderr lines, and the
 * real stdout gets nothing. A "<N>" prefix sets the severity, as on
 * stderr. */
Test(stdout, capture_logs_every_stdio_path_in_the_order_of_the_calls, .timeout = TEST_TIMEOUT(60))
{
	const char *const *cmd = so_mix_cmd(0);
	struct harness_result plain, r;
	struct harness_rec *recs;
	size_t n;

	cr_assert_eq(harness_run((char *const *)cmd, harness_env(NULL), NULL, &plain), 0);
	/* Buffered: the write(2) of o6 reaches the file before o1-o5. */
	cr_assert_str_eq(plain.out, "o6 write\no1 printf\no2 puts\no3 fwrite\no4 putchar\n"
	    "o5 fputs and the inline putc_unlocked\n<3>o7 with a prefix\n",
	    "the plain run");
	recs = so_run("capture", cmd, &n, &r);
	cr_assert_eq(r.code, 0, "every call returned what it would: %s", r.err);
	cr_expect_str_eq(r.out, "", "nothing on the real stdout");
	so_expect(recs, n, so_mix_want, SO_MIX_N);
	for (size_t i = 1; i < n; i++)
		cr_expect_leq(strcmp(recs[i - 1].ts, recs[i].ts), 0, "time of the call, in order");
}

/*
 * Tee: stdout and stderr of the command are one file, as with `>f 2>&1`.
 * The plain run writes its stderr lines at once and its stdout at exit
 * (full buffering); under mplog the file must be the same byte for byte,
 * which it is only when stdout keeps its buffering, and the log holds
 * every line in the order of the calls.
 */
Test(stdout, tee_keeps_stdout_byte_for_byte_with_its_buffering, .timeout = TEST_TIMEOUT(60))
{
	const char *const *cmd = so_mix_cmd(1);
	struct so_want want[SO_MIX_N];
	size_t nwant = so_mix_want_tee(want);
	char *plain_path = harness_file("tee-plain.txt"), *tee_path = harness_file("tee.txt");
	char *log, *plain, *teed;
	struct harness_rec *recs;
	size_t n, plain_len, tee_len;
	int fd;

	fd = open(plain_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert_geq(fd, 0);
	struct harness_io io = { .in = -1, .out = fd, .err = fd, .extra_fd = -1 };
	cr_assert_eq(harness_wait(harness_spawn((char *const *)cmd, harness_env(NULL), &io),
	    HARNESS_WAIT_MS), 0);
	close(fd);
	plain = harness_read_file(plain_path, &plain_len);
	cr_assert(strncmp(plain, "e1\ne2\n", 6) == 0, "stderr first, stdout at exit: %s", plain);

	fd = open(tee_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert_geq(fd, 0);
	io.out = io.err = fd;
	cr_assert_eq(harness_wait(harness_spawn(so_argv("tee", "tee", cmd, &log),
	    harness_env(NULL), &io), HARNESS_WAIT_MS), 0);
	close(fd);
	teed = harness_read_file(tee_path, &tee_len);
	cr_expect_eq(tee_len, plain_len);
	cr_expect(memcmp(teed, plain, plain_len < tee_len ? plain_len : tee_len) == 0,
	    "tee:\n%s\nplain:\n%s", teed, plain);
	recs = harness_json_load(log, &n);
	so_expect(recs, n, want, nwant);
}

/* Pass, given or by default: stdout as without mplog, none of it logged. */
Test(stdout, pass_and_the_default_leave_stdout_alone, .timeout = TEST_TIMEOUT(60))
{
	const char *const *cmd = so_mix_cmd(0);
	static const char *const modes[] = { "pass", NULL };
	struct harness_result plain, r;
	struct harness_rec *recs;
	size_t n;

	harness_run((char *const *)cmd, harness_env(NULL), NULL, &plain);
	for (size_t m = 0; m < 2; m++) {
		recs = so_run(modes[m], cmd, &n, &r);
		cr_assert_eq(r.code, 0);
		cr_expect_str_eq(r.out, plain.out, "mode %s", modes[m] ? modes[m] : "default");
		for (size_t i = 0; i < n; i++)
			cr_expect_str_eq(recs[i].source, "stderr", "%s", recs[i].msg);
		cr_expect_eq(n, 3, "the three stderr lines");
	}
}

/* bash: echo, printf, a redirection to /dev/stdout (appending: stdout is
 * a file here, which ">" would truncate, with mplog or without), and the
 * last command
 * of a pipeline are the tree's stdout; a command substitution and the
 * inside of a pipeline are data between programs and stay so. */
Test(stdout, bash_logs_its_stdout_but_not_its_own_pipes, .timeout = TEST_TIMEOUT(60))
{
	static const char *const cmd[] = { "/bin/bash", "-c",
	    "x=$(echo inner); echo \"got $x\"; echo e1 >&2; printf 'p %s\\n' 1;"
	    " echo via >>/dev/stdout; echo piped | tr a-z A-Z", NULL };
	static const struct so_want want[] = {
		{ "stdout", "got inner", NULL }, { "stderr", "e1", NULL }, { "stdout", "p 1", NULL },
		{ "stdout", "via", NULL }, { "stdout", "PIPED", NULL },
	};
	struct harness_result plain, r;
	struct harness_rec *recs;
	size_t n;

	harness_run((char *const *)cmd, harness_env(NULL), NULL, &plain);
	cr_assert_str_eq(plain.out, so_text(want, 5, "stdout"));
	recs = so_run("capture", cmd, &n, &r);
	cr_assert_eq(r.code, 0, "%s", r.err);
	cr_expect_str_eq(r.out, "");
	so_expect(recs, n, want, 5);
	cr_expect_str_eq(recs[4].proc, "tr", "the pipeline's last command wrote it");
	recs = so_run("tee", cmd, &n, &r);
	cr_expect_str_eq(r.out, plain.out);
	so_expect(recs, n, want, 5);
}

/* python3 and perl keep their own buffers; flushed at each line, their
 * lines interleave with stderr's in the order written, in capture and in
 * tee mode; pass leaves their stdout alone. */
Test(stdout, python3_and_perl_lines_interleave_with_stderr, .timeout = TEST_TIMEOUT(60))
{
	static const char *const py[] = { "/usr/bin/python3", "-c",
	    "import sys\nfor i in range(3):\n"
	    "  print('out', i, flush=True)\n  print('err', i, file=sys.stderr, flush=True)\n", NULL };
	static const char *const pl[] = { "/usr/bin/perl", "-e",
	    "$| = 1; for my $i (0..2) { print \"out $i\\n\"; print STDERR \"err $i\\n\"; }", NULL };
	static const struct so_want want[] = {
		{ "stdout", "out 0", NULL }, { "stderr", "err 0", NULL }, { "stdout", "out 1", NULL },
		{ "stderr", "err 1", NULL }, { "stdout", "out 2", NULL }, { "stderr", "err 2", NULL },
	};
	const char *const *cmds[] = { py, pl };
	struct harness_result plain, r;
	struct harness_rec *recs;
	size_t n;

	TEST_NEED(access(py[0], X_OK) == 0 && access(pl[0], X_OK) == 0, "python3 and perl");
	for (int c = 0; c < 2; c++) {
		harness_run((char *const *)cmds[c], harness_env(NULL), NULL, &plain);
		cr_assert_str_eq(plain.out, so_text(want, 6, "stdout"));
		cr_assert_str_eq(plain.err, so_text(want, 6, "stderr"));
		recs = so_run("capture", cmds[c], &n, &r);
		cr_assert_eq(r.code, 0, "%s", r.err);
		cr_expect_str_eq(r.out, "");
		so_expect(recs, n, want, 6);
		/* Tee: the same records, and stdout as without mplog. */
		recs = so_run("tee", cmds[c], &n, &r);
		cr_expect_str_eq(r.out, plain.out);
		so_expect(recs, n, want, 6);
		/* Pass: stdout as without mplog, only stderr logged. */
		recs = so_run("pass", cmds[c], &n, &r);
		cr_expect_str_eq(r.out, plain.out);
		cr_expect_eq(n, 3, "the stderr lines alone");
		for (size_t i = 0; i < n; i++)
			cr_expect_str_eq(recs[i].source, "stderr");
	}
}
