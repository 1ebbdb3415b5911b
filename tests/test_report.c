/*
 * test_report.c - glibc's reporting functions (perror, err, warn, error,
 * psignal, psiginfo, assert) under mplog. Each test runs one case of
 * tests/hosts/report (see its opening comment) five times:
 *
 *   plain    without mplog: what glibc itself writes to stderr, the exit
 *            status and stdout are the expected results, never copied
 *            from mplog's output;
 *   capture  under mplog-run --format json: the log holds exactly the
 *            lines glibc wrote, once each, from the host's pid, source
 *            stderr; nothing reaches the real stderr;
 *   tee      under mplog-run --stderr tee: the same log, and the real
 *            stderr byte-identical to the plain run;
 *   pass     under mplog-run --stderr pass: the real functions run, the
 *            real stderr is byte-identical and the log empty;
 *   alone    with the shim preloaded and no mplogd: likewise.
 *
 * Every run must end with the plain run's status and the same stdout:
 * error_message_count, stderr's orientation, what error() flushed from
 * stdout. A captured call leaves errno as it was at the call ("errno=kept")
 * where glibc may leave what its internal writes set.
 */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "need.h"

TestSuite(report, .init = harness_setup, .fini = harness_teardown);

enum report_mode { REPORT_PLAIN, REPORT_CAPTURE, REPORT_TEE, REPORT_PASS, REPORT_ALONE };

static const char *const report_modes[] = { "plain", "capture", "tee", "pass", "alone" };

/* One run of the host. */
struct report_run {
	int code;
	long pid;
	char *out, *err;        /* its stdout and real stderr */
	size_t out_len, err_len;
	char *log;              /* mplog's JSON log, or NULL */
};

/* How a case is run: its name, environment, and stderr's access mode. */
struct report_how {
	const char *name;
	char **env;
	int rdwr;               /* stderr open for reading and writing */
	int through;            /* mplog leaves it to glibc in every mode */
};

/* Open a fresh scratch file for the host's stdout or stderr. */
static int
report_open(const char *path, int rdwr)
{
	int fd = open(path, (rdwr ? O_RDWR : O_WRONLY) | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	cr_assert(fd != -1, "cannot create %s", path);
	return fd;
}

/* The command line of a run in mode m; strings are on the heap. */
static void
report_argv(const struct report_how *h, enum report_mode m, char *log, char **argv)
{
	int n = 0;

	if (m != REPORT_PLAIN && m != REPORT_ALONE) {
		const char *opts[] = { "--stderr",
		    m == REPORT_TEE ? "tee" : m == REPORT_PASS ? "pass" : "capture", NULL };

		harness_mplog_argv(argv, &n, 1, "json", log, opts);
	}
	argv[n++] = harness_build("hosts/report");
	argv[n++] = (char *)h->name;
	argv[n] = NULL;
}

/* The environment of a run in mode m: alone adds the shim and a segment
 * that no mplogd serves. */
static char **
report_env(const struct report_how *h, enum report_mode m)
{
	size_t n = 0, k = 0;
	char **env;

	if (m != REPORT_ALONE)
		return h->env;
	while (h->env[n] != NULL)
		n++;
	env = calloc(n + 3, sizeof(*env));
	cr_assert(env != NULL, "out of memory");
	/* h->env may have an LD_PRELOAD already (harness_preload's). */
	for (size_t i = 0; i < n; i++)
		if (strncmp(h->env[i], "LD_PRELOAD=", 11) != 0)
			env[k++] = h->env[i];
	env[k++] = harness_preload(harness_shim());
	env[k] = harness_fmt("MPLOG_SHM=%s", harness_shm_name());
	return env;
}

/* Run the host in mode m and collect what it left. */
static void
report_exec(const struct report_how *h, enum report_mode m, struct report_run *r)
{
	static int runs;
	int k = runs++;
	char *out = harness_file(harness_fmt("%s-%d.out", h->name, k));
	char *err = harness_file(harness_fmt("%s-%d.err", h->name, k));
	struct harness_io io = { -1, report_open(out, 0), report_open(err, h->rdwr), -1, -1 };
	char *argv[16];
	pid_t pid;

	r->log = m == REPORT_PLAIN || m == REPORT_ALONE ? NULL :
	    harness_file(harness_fmt("%s-%d.json", h->name, k));
	report_argv(h, m, r->log, argv);
	pid = harness_spawn(argv, report_env(h, m), &io);
	close(io.out);
	close(io.err);
	r->code = harness_wait(pid, HARNESS_WAIT_MS);
	r->out = harness_read_file(out, &r->out_len);
	r->err = harness_read_file(err, &r->err_len);
	cr_assert(sscanf(r->out, "report pid=%ld", &r->pid) == 1,
	    "%s %s: no pid line on stdout: %s", h->name, report_modes[m], r->out);
	cr_assert(!harness_contains(r->out, "FAIL"), "%s %s: the host reports: %s",
	    h->name, report_modes[m], r->out);
}

/* The line at *p (without its newline); *p moves past it. */
static size_t
report_line(const char **p, const char *end)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t len = nl != NULL ? (size_t)(nl - *p) : (size_t)(end - *p);

	*p += len + (nl != NULL);
	return len;
}

/* got's stdout is want's after the pid line; with kept, every errno line
 * of got must say errno was kept, whatever glibc left. */
static void
report_check_stdout(const struct report_run *want, const struct report_run *got, int kept,
    const char *what)
{
	const char *w = strchr(want->out, '\n'), *g = strchr(got->out, '\n');
	const char *wend = want->out + want->out_len, *gend = got->out + got->out_len;

	cr_assert(w != NULL && g != NULL, "%s: no pid line", what);
	for (w++, g++; w < wend && g < gend;) {
		const char *wl = w, *gl = g;
		size_t wn = report_line(&w, wend), gn = report_line(&g, gend);

		if (kept && wn > 6 && strncmp(wl, "errno=", 6) == 0)
			cr_assert(gn == 10 && strncmp(gl, "errno=kept", 10) == 0,
			    "%s: errno changed: %.*s", what, (int)gn, gl);
		else
			cr_assert(wn == gn && memcmp(wl, gl, wn) == 0,
			    "%s: stdout line \"%.*s\", glibc's run has \"%.*s\"", what,
			    (int)gn, gl, (int)wn, wl);
	}
	cr_assert(w == wend && g == gend, "%s: stdout \"%s\", glibc's run has \"%s\"",
	    what, got->out, want->out);
}

/* The log holds one stderr record from the host per line glibc wrote. */
static void
report_check_log(const struct report_run *want, const struct report_run *got, const char *what)
{
	const char *p = want->err, *end = want->err + want->err_len;
	size_t n, i = 0;
	struct harness_rec *recs = harness_json_load(got->log, &n);

	while (p < end) {
		const char *line = p;
		size_t len = report_line(&p, end);
		const struct harness_rec *r;

		cr_assert(i < n, "%s: %zu records, missing \"%.*s\"", what, n, (int)len, line);
		r = &recs[i];
		cr_assert(r->msg_len == len && memcmp(r->msg, line, len) == 0,
		    "%s: record %zu is \"%s\", glibc wrote \"%.*s\"", what, i + 1, r->msg,
		    (int)len, line);
		cr_assert(strcmp(r->source, "stderr") == 0 && strcmp(r->proc, "report") == 0 &&
		    r->pid == got->pid && r->tid == got->pid,
		    "%s: record %zu from %s %s[%ld/%ld], expected stderr report[%ld]", what,
		    i + 1, r->source, r->proc, r->pid, r->tid, got->pid);
		i++;
	}
	cr_assert(i == n, "%s: %zu records, glibc wrote %zu lines (first extra: %s)", what,
	    n, i, i < n ? recs[i].msg : "-");
}

/* One run in mode m, checked against glibc's plain run. */
static void
report_check_mode(const struct report_how *h, const struct report_run *plain,
    enum report_mode m)
{
	char *what = harness_fmt("%s under %s", h->name, report_modes[m]);
	int captured = !h->through && (m == REPORT_CAPTURE || m == REPORT_TEE);
	struct report_run r;

	report_exec(h, m, &r);
	cr_assert(r.code == plain->code, "%s: status %d, glibc's run %d", what, r.code,
	    plain->code);
	report_check_stdout(plain, &r, captured, what);
	if (captured && m == REPORT_CAPTURE)
		cr_assert(r.err_len == 0, "%s: the real stderr got \"%s\"", what, r.err);
	else
		cr_assert(r.err_len == plain->err_len && memcmp(r.err, plain->err, r.err_len) == 0,
		    "%s: the real stderr got \"%s\", glibc wrote \"%s\"", what, r.err, plain->err);
	if (captured) {
		report_check_log(plain, &r, what);
	} else if (r.log != NULL) {
		size_t n;

		harness_json_load(r.log, &n);
		cr_assert(n == 0, "%s: %zu records in the log", what, n);
	}
}

/* Run a case plainly, then in every mode, and compare. */
static void
report_check_how(const struct report_how *h)
{
	struct report_run plain;

	report_exec(h, REPORT_PLAIN, &plain);
	cr_assert(plain.err_len > 0, "%s: glibc wrote nothing", h->name);
	for (int m = REPORT_CAPTURE; m <= REPORT_ALONE; m++)
		report_check_mode(h, &plain, (enum report_mode)m);
}

/* A case in the test's own environment, stderr open for writing only. */
static void
report_check(const char *name)
{
	struct report_how h = { name, harness_env(NULL), 0, 0 };

	report_check_how(&h);
}

/* A case with glibc's German messages: the plain run must show german,
 * a phrase only glibc's translation has, or the comparison proves
 * nothing (English against English). */
static void
report_check_de(const char *name, const char *german)
{
	struct report_how h = { name, harness_env("LANGUAGE=de", "LC_ALL=C.UTF-8", NULL), 0, 0 };
	struct report_run plain;

	report_exec(&h, REPORT_PLAIN, &plain);
	TEST_NEED(harness_contains(plain.err, german), "glibc's German messages (libc-l10n)");
	report_check_how(&h);
}

Test(report, perror_writes_s_colon_strerror, .timeout = TEST_TIMEOUT(60))
{
	report_check("perror");
}

Test(report, perror_with_null_or_empty_s_writes_strerror_alone, .timeout = TEST_TIMEOUT(60))
{
	report_check("perror_null");
}

/* glibc's perror writes through a copy of an unoriented stderr when its
 * descriptor is open for reading and writing, and leaves it unoriented. */
Test(report, perror_on_a_read_write_stderr_leaves_it_unoriented, .timeout = TEST_TIMEOUT(60))
{
	struct report_how h = { "perror", harness_env(NULL), 1, 0 };

	report_check_how(&h);
}

Test(report, warn_prefixes_the_program_and_appends_strerror, .timeout = TEST_TIMEOUT(60))
{
	report_check("warn");
}

Test(report, warn_format_percent_m_reads_errno_at_the_call, .timeout = TEST_TIMEOUT(60))
{
	report_check("warn_m");
}

Test(report, warn_without_a_format_writes_program_and_strerror, .timeout = TEST_TIMEOUT(60))
{
	report_check("warn_nofmt");
}

Test(report, warnx_with_and_without_a_format, .timeout = TEST_TIMEOUT(60))
{
	report_check("warnx");
}

Test(report, vwarn_and_vwarnx_take_a_va_list, .timeout = TEST_TIMEOUT(60))
{
	report_check("vwarn");
}

Test(report, err_writes_once_and_exits_with_its_status, .timeout = TEST_TIMEOUT(60))
{
	report_check("err");
}

Test(report, errx_writes_once_and_exits_with_its_status, .timeout = TEST_TIMEOUT(60))
{
	report_check("errx");
}

Test(report, verr_writes_once_and_exits_with_its_status, .timeout = TEST_TIMEOUT(60))
{
	report_check("verr");
}

Test(report, verrx_writes_once_and_exits_with_its_status, .timeout = TEST_TIMEOUT(60))
{
	report_check("verrx");
}

Test(report, error_flushes_stdout_and_counts_the_message, .timeout = TEST_TIMEOUT(60))
{
	report_check("error");
}

Test(report, error_appends_the_errnum_text, .timeout = TEST_TIMEOUT(60))
{
	report_check("error_errnum");
}

Test(report, error_with_a_status_exits_with_it, .timeout = TEST_TIMEOUT(60))
{
	report_check("error_status");
}

Test(report, error_at_line_names_file_and_line, .timeout = TEST_TIMEOUT(60))
{
	report_check("error_at_line");
}

Test(report, error_one_per_line_drops_a_repeated_file_and_line, .timeout = TEST_TIMEOUT(60))
{
	report_check("error_one_per_line");
}

Test(report, error_print_progname_replaces_the_program_name, .timeout = TEST_TIMEOUT(60))
{
	report_check("error_print_progname");
}

Test(report, psignal_writes_the_signal_description, .timeout = TEST_TIMEOUT(60))
{
	report_check("psignal");
}

Test(report, psignal_of_an_unknown_signal_says_so, .timeout = TEST_TIMEOUT(60))
{
	report_check("psignal_unknown");
}

Test(report, psignal_of_every_signal_number_matches_glibc, .timeout = TEST_TIMEOUT(60))
{
	report_check("psignal_all");
}

Test(report, psiginfo_of_a_kill_from_the_process_itself, .timeout = TEST_TIMEOUT(60))
{
	report_check("psiginfo");
}

Test(report, psiginfo_of_every_signal_and_code_glibc_names, .timeout = TEST_TIMEOUT(60))
{
	report_check("psiginfo_all");
}

Test(report, psiginfo_cuts_its_text_at_511_bytes, .timeout = TEST_TIMEOUT(60))
{
	report_check("psiginfo_long");
}

Test(report, assert_failure_is_delivered_before_the_abort, .timeout = TEST_TIMEOUT(60))
{
	report_check("assert");
}

Test(report, assert_perror_failure_is_delivered_before_the_abort, .timeout = TEST_TIMEOUT(60))
{
	report_check("assert_perror");
}

Test(report, text_held_in_a_buffered_stderr_comes_first, .timeout = TEST_TIMEOUT(60))
{
	report_check("buffered");
}

Test(report, wide_oriented_stderr_with_ascii_text_is_captured, .timeout = TEST_TIMEOUT(60))
{
	report_check("wide");
}

/* Precision in characters, not bytes: mplog leaves these to glibc. */
Test(report, wide_oriented_stderr_with_utf8_text_is_left_to_glibc, .timeout = TEST_TIMEOUT(60))
{
	struct report_how h = { "wide_utf8", harness_env("LC_ALL=C.UTF-8", NULL), 0, 1 };

	report_check_how(&h);
}

Test(report, messages_in_german_match_glibc_translations, .timeout = TEST_TIMEOUT(60))
{
	report_check_de("all", "Datei oder Verzeichnis nicht gefunden");
}

Test(report, assert_message_in_german_matches_glibc, .timeout = TEST_TIMEOUT(60))
{
	report_check_de("assert", "nicht erf\xc3\xbcllt");
}

Test(report, unknown_signal_in_german_matches_glibc, .timeout = TEST_TIMEOUT(60))
{
	report_check_de("psignal_unknown", "Unbekanntes Signal");
}
