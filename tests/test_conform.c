/*
 * test_conform.c - stderr conformance: every way a program writes to
 * stderr, and real Debian programs, under mplog.
 *
 * Each case is a command and the lines it must log. The command first
 * runs plainly, without mplog: its stderr is the reference, and each
 * expected line is checked against it, so the expectations (derived from
 * what the host was told to write: see the opening comment of
 * tests/hosts/paths.c) are proven right before mplog is judged. Then it
 * runs under "mplogd --preload SHIM --format json -o LOG --stderr MODE --
 * COMMAND", which is what scripts/mplog-run execs, in each mode:
 *
 *   capture  every expected line is in the log exactly once, whole, with
 *            its source, facility, severity, ident, process and thread;
 *            no other record; nothing on the real stderr
 *   tee      the same log, and the real stderr byte for byte the plain
 *            run's
 *   pass     the real stderr byte for byte the plain run's; only the
 *            syslog lines in the log
 *
 * and in every mode the exit status and stdout are the plain run's. A
 * case's failures are gathered and reported together, so one run names
 * every path that misbehaves. Runs are synchronised by their exit only.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "hosts/paths.h"

TestSuite(conform, .init = harness_setup, .fini = harness_teardown);

#define CONFORM_LINE_MAX 65536  /* LINES_MAX: longer lines are split */
#define CONFORM_WANTS    64
#define CONFORM_ARGS     48

/* One line a case must log. */
struct conform_want {
	const char *mark;       /* in exactly one record; NULL: not checked */
	const char *source, *facility, *severity;
	const char *ident;      /* NULL: "ident":null */
	char *msg;              /* the whole line, without its newline */
	size_t len;
	char *errline;          /* the plain run's stderr line ("[PID]" for the
	                         * pid); NULL: msg; "": not a line of its own */
	int thread;             /* 0: main thread, 1 or 2: thread-a, thread-b */
};

/* A command, what it must log, and how it must end. */
struct conform_case {
	char *argv[CONFORM_ARGS];       /* NULL-ended; "redirect" gets a file */
	const char *proc;               /* its process name in the log */
	const char *prog;               /* its short name (err(3), assert) */
	int code;                       /* its exit status */
	int ids;                        /* it writes "id pid=" lines (the hosts) */
	char *where;                    /* assert's FILE:LINE, from the plain run */
	struct conform_want want[CONFORM_WANTS];
	size_t nwant;
};

/* One run of a case. */
struct conform_run {
	const char *mode;               /* plain, capture, tee or pass */
	struct harness_result r;
	struct harness_rec *recs;
	size_t n;
	long pid, tid[3];               /* from the "id" lines; 0: unknown */
	char *redirect;                 /* the file given to "redirect" */
};

/* Every failure of the test, reported at its end. */
static struct {
	char buf[24576];
	size_t len;
	int n;
} conform_report;

static void __attribute__((format(printf, 1, 2)))
conform_fail(const char *fmt, ...)
{
	size_t room = sizeof(conform_report.buf) - conform_report.len;
	va_list ap;
	int k;

	conform_report.n++;
	if (room < 8)
		return;
	k = snprintf(conform_report.buf + conform_report.len, room, "\n  - ");
	va_start(ap, fmt);
	k += vsnprintf(conform_report.buf + conform_report.len + (size_t)k, room - (size_t)k,
	    fmt, ap);
	va_end(ap);
	conform_report.len += (size_t)k < room ? (size_t)k : room - 1;
}

/* Fail the test with everything gathered. */
static void
conform_done(const char *what)
{
	cr_assert(conform_report.n == 0, "%s: %d failures:%s", what, conform_report.n,
	    conform_report.buf);
}

/* strerror and strsignal in the C locale, as the children run. */
static void
conform_c_locale(void)
{
	locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);

	cr_assert(c != (locale_t)0);
	uselocale(c);
}

/* ---- expected lines ------------------------------------------------- */

/*
 * The record text of each path of the paths host (tests/hosts/paths.c,
 * whose comment they follow): %M the mark "@PATH@", %P the short
 * program name, %A argv[0], %E strerror(ENOENT), %S strsignal(SIGUSR1),
 * %W assert's FILE:LINE.
 */
static const struct {
	const char *path, *text;
} conform_texts[] = {
	{ "fprintf", "%M formatted 1" },
	{ "vfprintf", "%M formatted 2" },
	{ "fputs", "%M string" },
	{ "fputs_unlocked", "%M string" },
	{ "fputc", "%M chars" },
	{ "putc", "%M chars" },
	{ "fputc_unlocked", "%M chars" },
	{ "putc_unlocked", "%M chars" },
	{ "fwrite", "%M block" },
	{ "fwrite_unlocked", "%M block" },
	{ "fflush", "%M buffered" },
	{ "printf", "%M formatted 3" },
	{ "vprintf", "%M formatted 4" },
	{ "puts", "%M string" },
	{ "putchar", "%M chars" },
	{ "dprintf", "%M formatted 5" },
	{ "vdprintf", "%M formatted 6" },
	{ "dup", "%M write" },
	{ "dup3", "%M write" },
	{ "fcntl-dupfd", "%M write" },
	{ "fcntl-dupfd-cloexec", "%M write" },
	{ "fdopen", "%M formatted 7" },
	{ "open-dev-stderr", "%M write" },
	{ "open64-dev-fd-2", "%M write" },
	{ "openat-proc-self", "%M write" },
	{ "open-proc-pid", "%M write" },
	{ "fopen-dev-stderr", "%M opened" },
	{ "freopen-dev-fd-2", "%M opened" },
	{ "redirect", "%M restored" },
	{ "perror", "%M: %E" },
	{ "warn", "%P: %M formatted 9: %E" },
	{ "warnx", "%P: %M formatted 10" },
	{ "vwarn", "%P: %M formatted 11: %E" },
	{ "vwarnx", "%P: %M formatted 12" },
	{ "error", "%A: %M formatted 13: %E" },
	{ "error_at_line", "%A:" PATHS_AT_FILE ":42: %M formatted 14: %E" },
	{ "psignal", "%M: %S" },
	{ "psiginfo", "%M: %S (Signal sent by kill() 4242 77)" },
	{ "err", "%P: %M formatted 15: %E" },
	{ "errx", "%P: %M formatted 16" },
	{ "verr", "%P: %M formatted 17: %E" },
	{ "verrx", "%P: %M formatted 18" },
	{ "error-exit", "%A: %M formatted 19: %E" },
	{ "assert", "%P: %W: paths_assert: Assertion `!\"@assert@\"' failed." },
	{ "assert-perror", "%P: %W: paths_assert_perror: Unexpected error: %E." },
	{ "fwprintf", "%M \xc3\xa9 20" },
	{ "vfwprintf", "%M \xc3\xa9 21" },
	{ "fputws", "%M \xc3\xa9" },
	{ "fputws_unlocked", "%M \xc3\xa9" },
	{ "fputwc", "%M \xc3\xa9" },
	{ "putwc", "%M \xc3\xa9" },
	{ "fputwc_unlocked", "%M \xc3\xa9" },
	{ "putwc_unlocked", "%M \xc3\xa9" },
	{ "cerr", "%M streamed 21" },
	{ "clog", "%M streamed 22" },
	{ "wcerr", "%M \xc3\xa9 23" },
};

/* Expand a conform_texts template for path in case c. */
static char *
conform_expand(const struct conform_case *c, const char *path, const char *t)
{
	size_t cap = 1024, n = 0;
	char *out = malloc(cap);

	cr_assert(out != NULL);
	for (; *t != '\0'; t++) {
		const char *s = NULL;
		char one[2] = { *t, '\0' };

		if (*t == '%') {
			switch (*++t) {
			case 'M': s = harness_fmt("@%s@", path); break;
			case 'P': s = c->prog; break;
			case 'A': s = c->argv[0]; break;
			case 'E': s = strerror(ENOENT); break;
			case 'S': s = strsignal(SIGUSR1); break;
			case 'W': s = c->where; break;
			default: cr_assert_fail("bad template %s", t);
			}
			cr_assert(s != NULL, "%s: %%%c is unknown here", path, *t);
		} else {
			s = one;
		}
		cr_assert(n + strlen(s) < cap, "template too long");
		memcpy(out + n, s, strlen(s));
		n += strlen(s);
	}
	out[n] = '\0';
	return out;
}

/* A want with every field given; returns it for adjustments. */
static struct conform_want *
conform_want(struct conform_case *c, const char *mark, const char *source,
    const char *severity, char *msg, size_t len)
{
	struct conform_want *w;

	cr_assert(c->nwant < CONFORM_WANTS, "too many expected lines");
	w = &c->want[c->nwant++];
	memset(w, 0, sizeof(*w));
	w->mark = mark;
	w->source = source;
	w->facility = "user";
	w->severity = severity;
	w->msg = msg;
	w->len = len;
	return w;
}

/* The long line of path (65536 or 150000 bytes), as paths writes it. */
static void
conform_want_long(struct conform_case *c, const char *path, size_t len)
{
	char *mark = harness_fmt("@%s@", path), *msg = malloc(len + 1);

	cr_assert(msg != NULL);
	for (size_t i = 0; i < len; i++)
		msg[i] = paths_long_byte(mark, strlen(mark), i);
	msg[len] = '\0';
	conform_want(c, mark, "stderr", "info", msg, len);
}

/* The two lines of the "threads" path. */
static void
conform_want_threads(struct conform_case *c)
{
	for (int t = 1; t <= 2; t++) {
		char *mark = harness_fmt("@thread-%c@", 'a' + t - 1);
		char *msg = harness_fmt("%s", mark);

		for (int i = 0; i < PATHS_PIECES; i++) {
			char *more = harness_fmt("%s p%02d", msg, i);

			free(msg);
			msg = more;
		}
		/* The plain run interleaves the two: no line of its own. */
		conform_want(c, mark, "stderr", "info", msg, strlen(msg))->errline = "";
		c->want[c->nwant - 1].thread = t;
	}
}

/* Add the expected line of one path of the paths hosts. */
static void
conform_want_path(struct conform_case *c, const char *path)
{
	struct conform_want *w;
	char *mark = harness_fmt("@%s@", path), *msg;

	if (strcmp(path, "long64k") == 0) {
		conform_want_long(c, path, 65536);
		return;
	}
	if (strcmp(path, "long150k") == 0) {
		conform_want_long(c, path, 150000);
		return;
	}
	if (strcmp(path, "threads") == 0) {
		conform_want_threads(c);
		return;
	}
	if (strcmp(path, "pri3") == 0) {
		msg = harness_fmt("%s severe", mark);
		w = conform_want(c, mark, "stderr", "err", msg, strlen(msg));
		w->errline = harness_fmt("<3>%s", msg);
		return;
	}
	if (strcmp(path, "syslog") == 0) {
		msg = harness_fmt("%s formatted 8", mark);
		w = conform_want(c, mark, "syslog", "warning", msg, strlen(msg));
		w->facility = "local2";
		w->ident = "paths-id";
		w->errline = harness_fmt("paths-id[PID]: %s", msg);
		return;
	}
	for (size_t i = 0; i < sizeof(conform_texts) / sizeof(conform_texts[0]); i++) {
		if (strcmp(conform_texts[i].path, path) == 0) {
			msg = conform_expand(c, path, conform_texts[i].text);
			/* assert's text has no mark of its own: the function's name */
			if (strcmp(path, "assert-perror") == 0)
				mark = "paths_assert_perror:";
			conform_want(c, mark, "stderr", "info", msg, strlen(msg));
			return;
		}
	}
	cr_assert_fail("no expected text for path %s", path);
}

/* ---- running -------------------------------------------------------- */

/* The environment of every run: the C locale, a plain PATH. */
static char **
conform_env(void)
{
	return harness_env("LC_ALL=C", "PATH=/usr/bin:/bin", NULL);
}

/* Read the hosts' "id" lines; a "FAIL" line is a failure of the run. */
static void
conform_ids(const struct conform_case *c, struct conform_run *run)
{
	for (const char *s = run->r.out; *s != '\0';) {
		const char *nl = strchr(s, '\n');
		int len = (int)(nl != NULL ? nl - s : (long)strlen(s));

		if (strncmp(s, "FAIL", 4) == 0)
			conform_fail("[%s] the host reports: %.*s", run->mode, len, s);
		else if (sscanf(s, "id pid=%ld", &run->pid) != 1 &&
		    sscanf(s, "id thread-a tid=%ld", &run->tid[1]) != 1)
			sscanf(s, "id thread-b tid=%ld", &run->tid[2]);
		if (nl == NULL)
			break;
		s = nl + 1;
	}
	run->tid[0] = run->pid;
	if (c->ids && run->pid <= 0)
		cr_assert_fail("[%s] %s did not report its pid: %s", run->mode, c->argv[0],
		    run->r.out);
}

/* Run case c in mode ("plain": without mplog). */
static void
conform_run(const struct conform_case *c, const char *mode, struct conform_run *run)
{
	static int runs;
	char *argv[CONFORM_ARGS + 16], *log = NULL;
	int n = 0;

	memset(run, 0, sizeof(*run));
	run->mode = mode;
	if (strcmp(mode, "plain") != 0) {
		const char *opts[] = { "--stderr", mode, NULL };

		/* What scripts/mplog-run execs, from $MPLOG_BUILD (the script
		 * itself always takes the checkout's build/). */
		log = harness_file(harness_fmt("conform%d.json", runs));
		harness_mplog_argv(argv, &n, 0, "json", log, opts);
	}
	for (int i = 0; c->argv[i] != NULL; i++) {
		if (strcmp(c->argv[i], "redirect") == 0) {
			run->redirect = harness_file(harness_fmt("redirect%d.txt", runs));
			argv[n++] = harness_fmt("redirect=%s", run->redirect);
		} else {
			argv[n++] = c->argv[i];
		}
	}
	argv[n] = NULL;
	harness_run(argv, conform_env(), NULL, &run->r);
	if (log != NULL)
		run->recs = harness_json_load(log, &run->n);
	conform_ids(c, run);
	runs++;
}

/* s (n bytes) with every "[pid]" replaced by "[PID]". */
static char *
conform_norm(const char *s, size_t n, long pid, size_t *outlen)
{
	char tag[32], *out = malloc(n + 1), *o = out;
	size_t k = (size_t)snprintf(tag, sizeof(tag), "[%ld]", pid);

	cr_assert(out != NULL);
	for (size_t i = 0; i < n;) {
		if (pid > 0 && n - i >= k && memcmp(s + i, tag, k) == 0) {
			memcpy(o, "[PID]", 5);  /* never longer than the pid's tag */
			o += 5;
			i += k;
		} else {
			*o++ = s[i++];
		}
	}
	*o = '\0';
	*outlen = (size_t)(o - out);
	return out;
}

/* stdout without the "id" lines, which differ from run to run. */
static char *
conform_stdout(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(n + 1), *o = out;

	cr_assert(out != NULL);
	while (*s != '\0') {
		const char *nl = strchr(s, '\n');
		size_t len = nl != NULL ? (size_t)(nl - s) + 1 : strlen(s);

		if (strncmp(s, "id ", 3) != 0) {
			memcpy(o, s, len);
			o += len;
		}
		s += len;
	}
	*o = '\0';
	return out;
}

/* The number of lines of s (n bytes) equal to line (len bytes). */
static size_t
conform_count_line(const char *s, size_t n, const char *line, size_t len)
{
	size_t count = 0;

	for (size_t i = 0; i < n;) {
		const char *nl = memchr(s + i, '\n', n - i);
		size_t k = nl != NULL ? (size_t)(nl - (s + i)) : n - i;

		if (k == len && memcmp(s + i, line, len) == 0)
			count++;
		i += k + 1;
	}
	return count;
}

/* The plain run proves the expectations: every expected line is a line of
 * its stderr, once, and it ended as the case says. */
static void
conform_check_plain(const struct conform_case *c, const struct conform_run *p)
{
	size_t n;
	char *err = conform_norm(p->r.err, p->r.err_len, p->pid, &n);

	if (p->r.code != c->code)
		conform_fail("[plain] exit status %d, expected %d; stderr: %.300s",
		    p->r.code, c->code, p->r.err);
	for (size_t i = 0; i < c->nwant; i++) {
		const struct conform_want *w = &c->want[i];
		const char *line = w->errline != NULL ? w->errline : w->msg;
		size_t len = w->errline != NULL ? strlen(w->errline) : w->len;

		if (line[0] == '\0' || (strcmp(w->source, "stderr") != 0 && w->errline == NULL))
			continue;
		if (conform_count_line(err, n, line, len) != 1)
			conform_fail("[plain] the expected line \"%.200s\" is %zu times in the "
			    "stderr of the plain run (the test's expectation is wrong): %.400s",
			    line, conform_count_line(err, n, line, len), err);
	}
	if (p->redirect != NULL) {
		char *got = harness_read_file(p->redirect, NULL);

		if (strcmp(got, "@redirect@ to file\n") != 0)
			conform_fail("[plain] the redirect file holds \"%s\"", got);
	}
}

/* Does record r carry the metadata of w, from the process of run? */
static void
conform_check_meta(const struct conform_case *c, const struct conform_run *run,
    const struct harness_rec *r, const struct conform_want *w)
{
	long tid = run->tid[w->thread];

	if (strcmp(r->source, w->source) != 0 || strcmp(r->facility, w->facility) != 0 ||
	    strcmp(r->severity, w->severity) != 0)
		conform_fail("[%s] log line %zu (%.60s): %s %s %s, expected %s %s %s", run->mode,
		    r->line, r->msg, r->source, r->facility, r->severity, w->source,
		    w->facility, w->severity);
	if (w->ident == NULL ? r->has_ident : !r->has_ident || strcmp(r->ident, w->ident) != 0)
		conform_fail("[%s] log line %zu (%.60s): ident %s, expected %s", run->mode,
		    r->line, r->msg, r->has_ident ? r->ident : "null",
		    w->ident != NULL ? w->ident : "null");
	if (strcmp(r->proc, c->proc) != 0)
		conform_fail("[%s] log line %zu (%.60s): proc %s, expected %s", run->mode,
		    r->line, r->msg, r->proc, c->proc);
	if (run->pid > 0 && (r->pid != run->pid || (tid > 0 && r->tid != tid)))
		conform_fail("[%s] log line %zu (%.60s): pid/tid %ld/%ld, the writer is %ld/%ld",
		    run->mode, r->line, r->msg, r->pid, r->tid, run->pid, tid);
	if (run->pid <= 0 && (r->pid != run->recs[0].pid || r->tid != r->pid))
		conform_fail("[%s] log line %zu (%.60s): pid/tid %ld/%ld, expected %ld/%ld (one "
		    "single-threaded process)", run->mode, r->line, r->msg, r->pid, r->tid,
		    run->recs[0].pid, run->recs[0].pid);
}

/* Piece j of w's line as it must be delivered: LINES_MAX bytes at most. */
static size_t
conform_piece(const struct conform_want *w, size_t j, const char **p)
{
	size_t off = j * CONFORM_LINE_MAX;

	*p = w->msg + off;
	return w->len - off < CONFORM_LINE_MAX ? w->len - off : CONFORM_LINE_MAX;
}

/* Pieces w's line is delivered in. */
static size_t
conform_npieces(const struct conform_want *w)
{
	return w->len == 0 ? 1 : (w->len + CONFORM_LINE_MAX - 1) / CONFORM_LINE_MAX;
}

/* Every piece of a split line but the last is marked continued. */
static void
conform_check_continued(const struct conform_run *run, const struct harness_rec *r,
    const struct conform_want *w, size_t j)
{
	int want = j + 1 < conform_npieces(w);

	if (r->continued != want)
		conform_fail("[%s] log line %zu, piece %zu of %zu of %s: continued is %d, "
		    "expected %d", run->mode, r->line, j + 1, conform_npieces(w), w->mark,
		    r->continued, want);
}

/*
 * Check run's log against c: each wanted line (only those not from stderr
 * when stderr_too is 0) exactly once, in its pieces, consecutive, with its
 * metadata, and nothing else.
 */
static void
conform_check_log(const struct conform_case *c, const struct conform_run *run, int stderr_too)
{
	size_t seen[CONFORM_WANTS] = { 0 }, cont = SIZE_MAX;

	for (size_t i = 0; i < run->n; i++) {
		const struct harness_rec *r = &run->recs[i];
		const char *piece;
		size_t k, w;

		if (cont != SIZE_MAX) {
			k = conform_piece(&c->want[cont], seen[cont], &piece);
			if (r->msg_len == k && memcmp(r->msg, piece, k) == 0) {
				conform_check_meta(c, run, r, &c->want[cont]);
				conform_check_continued(run, r, &c->want[cont], seen[cont]);
				if (++seen[cont] == conform_npieces(&c->want[cont]))
					cont = SIZE_MAX;
				continue;
			}
			conform_fail("[%s] log line %zu: expected piece %zu of %zu of the "
			    "%zu-byte line %s, got %zu bytes: %.80s", run->mode, r->line,
			    seen[cont] + 1, conform_npieces(&c->want[cont]), c->want[cont].len,
			    c->want[cont].mark, r->msg_len, r->msg);
			cont = SIZE_MAX;
		}
		for (w = 0; w < c->nwant; w++) {
			k = conform_piece(&c->want[w], 0, &piece);
			if (r->msg_len == k && memcmp(r->msg, piece, k) == 0 &&
			    (stderr_too || strcmp(c->want[w].source, "stderr") != 0))
				break;
		}
		if (w == c->nwant) {
			conform_fail("[%s] log line %zu: unexpected record %s %s (%zu bytes): %.200s",
			    run->mode, r->line, r->source, r->severity, r->msg_len, r->msg);
			continue;
		}
		if (seen[w] != 0) {
			conform_fail("[%s] log line %zu: delivered again: %.200s", run->mode,
			    r->line, r->msg);
			continue;
		}
		conform_check_meta(c, run, r, &c->want[w]);
		conform_check_continued(run, r, &c->want[w], 0);
		if (++seen[w] < conform_npieces(&c->want[w]))
			cont = w;
	}
	for (size_t w = 0; w < c->nwant; w++) {
		const struct conform_want *x = &c->want[w];
		size_t marked = 0;

		if (!stderr_too && strcmp(x->source, "stderr") == 0)
			continue;
		if (seen[w] == 0)
			conform_fail("[%s] missing from the log: %.200s", run->mode, x->msg);
		else if (seen[w] != conform_npieces(x))
			conform_fail("[%s] the %zu-byte line %s: %zu of its %zu pieces in the log",
			    run->mode, x->len, x->mark, seen[w], conform_npieces(x));
		for (size_t i = 0; x->mark != NULL && i < run->n; i++)
			marked += strstr(run->recs[i].msg, x->mark) != NULL;
		if (x->mark != NULL && marked != 1)
			conform_fail("[%s] %s is in %zu records", run->mode, x->mark, marked);
	}
}

/* The checks common to the runs under mplog: status, stdout, the redirect
 * file, and the real stderr against the plain run's (unless captured). */
static void
conform_check_run(const struct conform_run *p, const struct conform_run *run)
{
	char *po = conform_stdout(p->r.out), *ro = conform_stdout(run->r.out);
	size_t pn, rn;
	char *pe = conform_norm(p->r.err, p->r.err_len, p->pid, &pn);
	char *re = conform_norm(run->r.err, run->r.err_len, run->pid, &rn);

	if (run->r.code != p->r.code)
		conform_fail("[%s] exit status %d, the plain run's %d; stderr: %.300s",
		    run->mode, run->r.code, p->r.code, run->r.err);
	if (strcmp(po, ro) != 0)
		conform_fail("[%s] stdout differs from the plain run's:\n%.400s\n-- plain:\n%.400s",
		    run->mode, ro, po);
	if (run->redirect != NULL) {
		char *got = harness_read_file(run->redirect, NULL);

		if (strcmp(got, "@redirect@ to file\n") != 0)
			conform_fail("[%s] the redirect file holds \"%s\", expected \"@redirect@ "
			    "to file\\n\"", run->mode, got);
	}
	if (strcmp(run->mode, "capture") == 0) {
		if (run->r.err_len != 0)
			conform_fail("[capture] %zu bytes on the real stderr: %.400s",
			    run->r.err_len, run->r.err);
	} else if (rn != pn || memcmp(re, pe, pn) != 0) {
		size_t at = 0;

		while (at < rn && at < pn && re[at] == pe[at])
			at++;
		conform_fail("[%s] the real stderr (%zu bytes) differs from the plain run's "
		    "(%zu bytes) at byte %zu: \"%.120s\" instead of \"%.120s\"", run->mode, rn,
		    pn, at, re + at, pe + at);
	}
}

/* Run c plainly and in the three modes; late, when given, completes the
 * expected lines from the plain run. Failures are gathered. */
static void
conform_case_check(struct conform_case *c,
    void (*late)(struct conform_case *, const struct conform_run *))
{
	struct conform_run plain, run;
	static const char *const modes[] = { "capture", "tee", "pass" };

	conform_run(c, "plain", &plain);
	if (late != NULL)
		late(c, &plain);
	conform_check_plain(c, &plain);
	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		conform_run(c, modes[m], &run);
		conform_check_run(&plain, &run);
		conform_check_log(c, &run, strcmp(modes[m], "pass") != 0);
	}
}

/* ---- the paths hosts ------------------------------------------------ */

/* The stdio, descriptor and syslog paths: one run does them all. */
static const char *const conform_byte_paths[] = {
	"fprintf", "vfprintf", "fputs", "fputs_unlocked", "fputc", "putc",
	"fputc_unlocked", "putc_unlocked", "fwrite", "fwrite_unlocked", "fflush",
	"printf", "vprintf", "puts", "putchar", "dprintf", "vdprintf", "dup", "dup3",
	"fcntl-dupfd", "fcntl-dupfd-cloexec", "fdopen", "open-dev-stderr", "open64-dev-fd-2",
	"openat-proc-self", "open-proc-pid", "fopen-dev-stderr",
	"freopen-dev-fd-2", "pri3", "syslog", "long64k",
	"long150k", "threads", "redirect", NULL,
};

/* The reporting functions that return. */
static const char *const conform_report_paths[] = {
	"perror", "warn", "warnx", "vwarn", "vwarnx", "error", "error_at_line",
	"psignal", "psiginfo", NULL,
};

/* The wide paths, after "wide". */
static const char *const conform_wide_paths[] = {
	"wide", "fwprintf", "vfwprintf", "fputws", "fputws_unlocked", "fputwc", "putwc",
	"fputwc_unlocked", "putwc_unlocked", NULL,
};

/* A case running host (paths or paths-fortify) with the paths given. */
static void
conform_host_case(struct conform_case *c, const char *host, const char *const *paths)
{
	int n = 0;

	conform_c_locale();
	memset(c, 0, sizeof(*c));
	c->argv[n++] = harness_build(harness_fmt("hosts/%s", host));
	c->proc = host;
	c->prog = host;
	c->ids = 1;
	for (int i = 0; paths[i] != NULL; i++) {
		cr_assert(n < CONFORM_ARGS - 1);
		c->argv[n++] = (char *)paths[i];
		if (strcmp(paths[i], "wide") != 0)
			conform_want_path(c, paths[i]);
	}
	c->argv[n] = NULL;
}

/* Every path of a list in one run of host. */
static void
conform_host_paths(const char *host, const char *const *paths, const char *what)
{
	struct conform_case c;

	conform_host_case(&c, host, paths);
	conform_case_check(&c, NULL);
	conform_done(what);
}

/* For assert: its FILE:LINE, which the host says on stdout, then its line. */
static void
conform_late_where(struct conform_case *c, const struct conform_run *plain)
{
	const char *w = strstr(plain->r.out, "where ");

	cr_assert(w != NULL, "the host did not say where it asserts: %s", plain->r.out);
	c->where = strndup(w + 6, strcspn(w + 6, "\n"));
	conform_want_path(c, c->argv[1]);
}

/* The paths that end the process: one run each; status is their exit. */
static void
conform_host_exits(const char *host, const char *what)
{
	static const struct {
		const char *path;
		int code;
	} ends[] = {
		{ "err", 3 }, { "errx", 4 }, { "verr", 5 }, { "verrx", 6 },
		{ "error-exit", 7 }, { "assert", 128 + SIGABRT },
		{ "assert-perror", 128 + SIGABRT },
	};

	static const char *const none[] = { NULL };

	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
		int is_assert = strncmp(ends[i].path, "assert", 6) == 0;
		struct conform_case c;

		conform_host_case(&c, host, none);
		c.argv[1] = (char *)ends[i].path;
		c.argv[2] = NULL;
		c.code = ends[i].code;
		/* assert's line needs the plain run's "where": added late */
		if (!is_assert)
			conform_want_path(&c, ends[i].path);
		conform_case_check(&c, is_assert ? conform_late_where : NULL);
	}
	conform_done(what);
}

/* 1 if nm's list of undefined symbols names sym: "U sym@VERSION", or
 * "U sym" when a sanitizer's runtime (unversioned) defines it. */
static int
conform_imports(const char *nm, const char *sym)
{
	return harness_contains(nm, harness_fmt(" %s@", sym)) ||
	    harness_contains(nm, harness_fmt(" %s\n", sym));
}

/*
 * The fortified build really calls the fortified entry points (and the
 * inlined putc_unlocked's __overflow), and the plain build the plain ones:
 * otherwise the two builds would test the same thing.
 */
Test(conform, fortified_host_imports_the_chk_entry_points, .timeout = TEST_TIMEOUT(60))
{
	static const char *const fortified[] = {
		"__fprintf_chk", "__vfprintf_chk", "__printf_chk", "__dprintf_chk",
		"__vdprintf_chk", "__fwprintf_chk", "__vfwprintf_chk", "__syslog_chk",
		"__overflow",
	};
	static const char *const plain[] = {
		"fprintf", "vfprintf", "printf", "dprintf", "vdprintf", "fwprintf",
		"vfwprintf", "syslog", "putc_unlocked", "fputc_unlocked", "vprintf",
		"putchar",
	};
	struct harness_result f, p;
	char *nmf[] = { "/usr/bin/nm", "-D", "--undefined-only",
	    harness_build("hosts/paths-fortify"), NULL };
	char *nmp[] = { "/usr/bin/nm", "-D", "--undefined-only",
	    harness_build("hosts/paths"), NULL };

	cr_assert(harness_run(nmf, NULL, NULL, &f) == 0, "nm: %s", f.err);
	cr_assert(harness_run(nmp, NULL, NULL, &p) == 0, "nm: %s", p.err);
	for (size_t i = 0; i < sizeof(fortified) / sizeof(fortified[0]); i++) {
		cr_expect(conform_imports(f.out, fortified[i]), "paths-fortify does not import %s",
		    fortified[i]);
		cr_expect(!conform_imports(p.out, fortified[i]), "paths imports %s", fortified[i]);
	}
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		cr_expect(conform_imports(p.out, plain[i]), "paths does not import %s", plain[i]);
}

/*
 * stdio (fprintf, vfprintf, fputs, fputc, putc, fwrite and the _unlocked
 * forms, fflush), stdout's printf, vprintf, puts and putchar while fd 1
 * is a copy of stderr (and stdout again afterwards), dprintf, vdprintf,
 * writes to dup, dup3 and fcntl copies, a stream fdopen'd on a copy, a
 * "<3>" line, syslog with LOG_PERROR, lines of 64 KiB and 150000 bytes
 * written in pieces, two threads' interleaved pieces, and writes after
 * fd 2 went to /dev/null, was closed, reopened on a file and restored:
 * -O0 build, where every call is a call.
 */
Test(conform, stdio_fd_syslog_paths_of_the_plain_build, .timeout = TEST_TIMEOUT(120))
{
	conform_host_paths("paths", conform_byte_paths, "paths (-O0)");
}

/* The same with -O2 -D_FORTIFY_SOURCE=2: __fprintf_chk, __vfprintf_chk,
 * __printf_chk, __dprintf_chk, __vdprintf_chk, __syslog_chk, and
 * putc_unlocked and fputc_unlocked inlined (__overflow). */
Test(conform, stdio_fd_syslog_paths_of_the_fortified_build, .timeout = TEST_TIMEOUT(120))
{
	conform_host_paths("paths-fortify", conform_byte_paths, "paths-fortify");
}

/* perror, warn, warnx, vwarn, vwarnx, error, error_at_line, psignal and
 * psiginfo, in one run. */
Test(conform, reporting_functions_of_the_plain_build, .timeout = TEST_TIMEOUT(120))
{
	conform_host_paths("paths", conform_report_paths, "paths (-O0)");
}

Test(conform, reporting_functions_of_the_fortified_build, .timeout = TEST_TIMEOUT(120))
{
	conform_host_paths("paths-fortify", conform_report_paths, "paths-fortify");
}

/* err, errx, verr, verrx and error with a status, each in its own run
 * with its own exit status; a failing assert and assert_perror (SIGABRT). */
Test(conform, exiting_reporting_functions_of_the_plain_build, .timeout = TEST_TIMEOUT(120))
{
	conform_host_exits("paths", "paths (-O0)");
}

Test(conform, exiting_reporting_functions_of_the_fortified_build, .timeout = TEST_TIMEOUT(120))
{
	conform_host_exits("paths-fortify", "paths-fortify");
}

/* fwprintf, vfwprintf, fputws, fputwc, putwc and the _unlocked forms to a
 * wide stderr in C.UTF-8: the record holds the UTF-8 text ("é"). */
Test(conform, wide_paths_of_the_plain_build, .timeout = TEST_TIMEOUT(120))
{
	conform_host_paths("paths", conform_wide_paths, "paths (-O0)");
}

/* The same through __fwprintf_chk and __vfwprintf_chk. */
Test(conform, wide_paths_of_the_fortified_build, .timeout = TEST_TIMEOUT(120))
{
	conform_host_paths("paths-fortify", conform_wide_paths, "paths-fortify");
}

/* ---- C++ ------------------------------------------------------------ */

/* paths-cxx with the arguments given ("wide", "nosync" and streams). */
static void
conform_cxx(const char *const *args, const char *what)
{
	struct conform_case c;
	int n = 0;

	conform_c_locale();
	memset(&c, 0, sizeof(c));
	c.argv[n++] = harness_build("hosts/paths-cxx");
	c.proc = "paths-cxx";
	c.prog = "paths-cxx";
	c.ids = 1;
	for (int i = 0; args[i] != NULL; i++) {
		c.argv[n++] = (char *)args[i];
		if (strcmp(args[i], "wide") != 0 && strcmp(args[i], "nosync") != 0)
			conform_want_path(&c, args[i]);
	}
	c.argv[n] = NULL;
	conform_case_check(&c, NULL);
	conform_done(what);
}

/* std::cerr and std::clog synchronised with stdio (the default): they
 * write through stderr's FILE. */
Test(conform, cxx_cerr_and_clog_synced_with_stdio, .timeout = TEST_TIMEOUT(60))
{
	conform_cxx((const char *const[]){ "cerr", "clog", NULL }, "paths-cxx");
}

/* After std::ios::sync_with_stdio(false) they write to fd 2 themselves. */
Test(conform, cxx_cerr_and_clog_after_sync_with_stdio_false, .timeout = TEST_TIMEOUT(60))
{
	conform_cxx((const char *const[]){ "nosync", "cerr", "clog", NULL }, "paths-cxx");
}

/* std::wcerr in C.UTF-8, synchronised (putwc on stderr) and not (its own
 * conversion, then write). */
Test(conform, cxx_wcerr_synced_and_not, .timeout = TEST_TIMEOUT(60))
{
	conform_cxx((const char *const[]){ "wide", "wcerr", NULL }, "paths-cxx wide");
	conform_cxx((const char *const[]){ "wide", "nosync", "wcerr", NULL },
	    "paths-cxx wide nosync");
}

/* ---- real Debian programs ------------------------------------------- */

/* A case running argv (NULL-ended), process name proc, ending with code. */
static void
conform_prog_case(struct conform_case *c, const char *const *argv, const char *proc, int code)
{
	int n = 0;

	conform_c_locale();
	memset(c, 0, sizeof(*c));
	for (; argv[n] != NULL; n++)
		c->argv[n] = (char *)argv[n];
	c->argv[n] = NULL;
	c->proc = proc;
	c->code = code;
}

/* One expected stderr line, also the mark. */
static void
conform_prog_line(struct conform_case *c, const char *line)
{
	conform_want(c, line, "stderr", "info", (char *)line, strlen(line));
}

/* A program (argv, named proc) that writes one stderr line and exits with
 * code; line is a template (%E: strerror(ENOENT) in the C locale). */
static void
conform_prog_one(const char *const *argv, const char *proc, int code, const char *line,
    const char *what)
{
	struct conform_case c;

	conform_prog_case(&c, argv, proc, code);
	conform_prog_line(&c, conform_expand(&c, what, line));
	conform_case_check(&c, NULL);
	conform_done(what);
}

/* coreutils ls reports a missing file with error(3) and exits 2. */
Test(conform, debian_ls_of_a_missing_path, .timeout = TEST_TIMEOUT(60))
{
	conform_prog_one((const char *const[]){ "/usr/bin/env", "ls", "/nonexistent-path", NULL },
	    "ls", 2, "ls: cannot access '/nonexistent-path': %E", "ls");
}

/* coreutils cat likewise, exit 1. */
Test(conform, debian_cat_of_a_missing_file, .timeout = TEST_TIMEOUT(60))
{
	conform_prog_one((const char *const[]){ "/usr/bin/env", "cat", "/nonexistent", NULL },
	    "cat", 1, "cat: /nonexistent: %E", "cat");
}

/* The lines of the plain run's stderr, each expected once, in order;
 * the first must be first and the last last. */
static void
conform_late_lines(struct conform_case *c, const struct conform_run *plain, const char *first,
    const char *last)
{
	const char *s = plain->r.err;
	size_t fl = strlen(first), ll = strlen(last);

	cr_assert(plain->r.err_len > fl + ll && strncmp(s, first, fl) == 0 &&
	    strcmp(s + plain->r.err_len - ll, last) == 0,
	    "not the expected output, from \"%s\" to \"%s\": %s", first, last, s);
	while (*s != '\0') {
		size_t len = strcspn(s, "\n");

		conform_prog_line(c, strndup(s, len));
		s += len + (s[len] == '\n');
	}
}

#define CONFORM_TRACEBACK "Traceback (most recent call last):\n"

/* Python's traceback of 1/0. */
static void
conform_late_traceback(struct conform_case *c, const struct conform_run *plain)
{
	conform_late_lines(c, plain, CONFORM_TRACEBACK, "ZeroDivisionError: division by zero\n");
}

/* Python's traceback of a KeyboardInterrupt. */
static void
conform_late_interrupt(struct conform_case *c, const struct conform_run *plain)
{
	conform_late_lines(c, plain, CONFORM_TRACEBACK, "\nKeyboardInterrupt\n");
}

/* Python's traceback of 1/0 (exit 1): each of its lines once. */
Test(conform, debian_python_traceback, .timeout = TEST_TIMEOUT(60))
{
	struct conform_case c;

	conform_prog_case(&c, (const char *const[]){ "/usr/bin/python3", "-c", "1/0", NULL },
	    "python3", 1);
	conform_case_check(&c, conform_late_traceback);
	cr_assert(c.nwant >= 3, "a traceback of %zu lines", c.nwant);
	conform_done("python3 -c 1/0");
}

#define CONFORM_KI_RUNS 100     /* runs of the KeyboardInterrupt in capture mode */

/*
 * An unhandled KeyboardInterrupt: Python writes the traceback, restores
 * SIGINT's default and sends SIGINT to itself, so it ends by SIGINT
 * (status 130) right after its last lines. In every mode, and then
 * CONFORM_KI_RUNS times more in capture mode, where a line not delivered
 * is nowhere: every line of the traceback arrives once, every time.
 */
Test(conform, debian_python_keyboard_interrupt_delivers_its_traceback_every_time,
    .timeout = TEST_TIMEOUT(300))
{
	struct conform_case c;
	struct conform_run run;

	conform_prog_case(&c, (const char *const[]){ "/usr/bin/python3", "-c",
	    "raise KeyboardInterrupt", NULL }, "python3", 128 + SIGINT);
	conform_case_check(&c, conform_late_interrupt);
	for (int i = 0; i < CONFORM_KI_RUNS && conform_report.n == 0; i++) {
		conform_run(&c, "capture", &run);
		if (run.r.code != c.code)
			conform_fail("[capture] run %d: exit status %d", i, run.r.code);
		conform_check_log(&c, &run, 1);
	}
	conform_done("python3 KeyboardInterrupt");
}

/* dash ending itself with SIGTERM right after a line: the line arrives,
 * and the status is the signal's (143). */
Test(conform, debian_dash_line_before_kill_term_of_itself, .timeout = TEST_TIMEOUT(120))
{
	struct conform_case c;
	struct conform_run run;

	conform_prog_case(&c, (const char *const[]){ "/bin/sh", "-c",
	    "echo @before-term@ >&2; kill -TERM $$", NULL }, "sh", 128 + SIGTERM);
	conform_prog_line(&c, "@before-term@");
	conform_case_check(&c, NULL);
	for (int i = 0; i < 20 && conform_report.n == 0; i++) {
		conform_run(&c, "capture", &run);
		conform_check_log(&c, &run, 1);
	}
	conform_done("sh kill -TERM $$");
}

/*
 * Python's syslog module: severity warning, facility user, and the ident
 * CPython's syslog.syslog gives when openlog was not called: the last
 * component of sys.argv[0], "-c" here. Nothing on stderr.
 */
Test(conform, debian_python_syslog_module, .timeout = TEST_TIMEOUT(60))
{
	struct conform_case c;

	conform_prog_case(&c, (const char *const[]){ "/usr/bin/python3", "-c",
	    "import syslog; syslog.syslog(syslog.LOG_WARNING, '@pysyslog@')", NULL },
	    "python3", 0);
	conform_want(&c, "@pysyslog@", "syslog", "warning", "@pysyslog@", 10)->ident = "-c";
	conform_case_check(&c, NULL);
	conform_done("python3 syslog");
}

/* Perl's warn. */
Test(conform, debian_perl_warn, .timeout = TEST_TIMEOUT(60))
{
	conform_prog_one((const char *const[]){ "/usr/bin/perl", "-e", "warn qq{=perl-warn=\\n}",
	    NULL }, "perl", 0, "=perl-warn=", "perl warn");
}

/* bash's echo >&2: fd 1 made a copy of fd 2 for the builtin. */
Test(conform, debian_bash_echo_to_stderr, .timeout = TEST_TIMEOUT(60))
{
	conform_prog_one((const char *const[]){ "/usr/bin/bash", "-c", "echo @bash@ >&2", NULL },
	    "bash", 0, "@bash@", "bash");
}

/* A program (argv, named proc) that writes lines (NULL-ended, templates
 * as conform_prog_one's) and exits with code; in every mode. */
static void
conform_prog_lines(const char *const *argv, const char *proc, int code,
    const char *const *lines, const char *what)
{
	struct conform_case c;

	conform_prog_case(&c, argv, proc, code);
	for (size_t i = 0; lines[i] != NULL; i++)
		conform_prog_line(&c, conform_expand(&c, what, lines[i]));
	conform_case_check(&c, NULL);
	conform_done(what);
}

/* coreutils' option errors come from glibc's getopt, which writes them
 * through its internal stream calls; "Try ..." is the program's own. */
Test(conform, debian_coreutils_bad_options_from_getopt, .timeout = TEST_TIMEOUT(60))
{
	conform_prog_lines((const char *const[]){ "/usr/bin/sort", "--badflag", NULL }, "sort",
	    2, (const char *const[]){ "/usr/bin/sort: unrecognized option '--badflag'",
	    "Try '/usr/bin/sort --help' for more information.", NULL }, "sort --badflag");
	conform_prog_lines((const char *const[]){ "/usr/bin/ls", "-y", NULL }, "ls", 2,
	    (const char *const[]){ "/usr/bin/ls: invalid option -- 'y'",
	    "Try '/usr/bin/ls --help' for more information.", NULL }, "ls -y");
}

/* The libcmsg host (tests/hosts/libcmsg.c), WHAT and ARGS, exiting with
 * code: its lines, and stdout (return values, errno and stderr's state
 * after each call) as in a plain run. */
static void
conform_libcmsg(const char *const *args, int code, const char *const *lines)
{
	const char *argv[8] = { harness_build("hosts/libcmsg") };
	size_t n = 1;

	for (; args[n - 1] != NULL && n < 7; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	conform_prog_lines(argv, "libcmsg", code, lines, args[0]);
}

/* getopt_long, getopt_long_only and getopt: glibc's own messages. */
Test(conform, getopt_messages_of_every_form, .timeout = TEST_TIMEOUT(60))
{
	conform_libcmsg((const char *const[]){ "getopt", "-a", "--bogus", "-z", "x", NULL }, 0,
	    (const char *const[]){ "getopt: unrecognized option '--bogus'",
	    "getopt: invalid option -- 'z'", "libcmsg after getopt", NULL });
	conform_libcmsg((const char *const[]){ "getopt-only", "-bogus", NULL }, 0,
	    (const char *const[]){ "getopt-only: unrecognized option '-bogus'",
	    "libcmsg after getopt", NULL });
	conform_libcmsg((const char *const[]){ "posix", "-q", NULL }, 0,
	    (const char *const[]){ "posix: invalid option -- 'q'", "libcmsg after getopt",
	    NULL });
}

/* argp: an unknown option and argp_error from a parser (both exit 64
 * inside argp_parse), and argp_failure, which returns. */
Test(conform, argp_errors_including_those_that_exit, .timeout = TEST_TIMEOUT(60))
{
	conform_libcmsg((const char *const[]){ "argp", "--bogus", NULL }, 64,
	    (const char *const[]){ "argp: unrecognized option '--bogus'",
	    "Try `argp --help' or `argp --usage' for more information.", NULL });
	conform_libcmsg((const char *const[]){ "argp-error", "-a", NULL }, 64,
	    (const char *const[]){ "argp-error: bad value 42",
	    "Try `argp-error --help' or `argp-error --usage' for more information.", NULL });
	conform_libcmsg((const char *const[]){ "argp-failure", NULL }, 0,
	    (const char *const[]){ "libcmsg: failed here: %E", NULL });
}

/* fmtmsg's two lines and herror's one. */
Test(conform, fmtmsg_and_herror, .timeout = TEST_TIMEOUT(60))
{
	conform_libcmsg((const char *const[]){ "fmtmsg", NULL }, 0,
	    (const char *const[]){ "libcmsg:fmt: ERROR: text", "TO FIX: act  tag", NULL });
	conform_libcmsg((const char *const[]){ "herror", NULL }, 0,
	    (const char *const[]){ "lookup: Unknown host", NULL });
}

/* bash's redirections to stderr's names: each opens it again. */
Test(conform, debian_bash_redirect_to_dev_stderr, .timeout = TEST_TIMEOUT(60))
{
	struct conform_case c;

	conform_prog_case(&c, (const char *const[]){ "/usr/bin/bash", "-c",
	    "echo @bash-dev-stderr@ >>/dev/stderr; echo @bash-dev-fd-2@ >>/dev/fd/2; "
	    "echo @bash-proc-self@ >>/proc/self/fd/2", NULL }, "bash", 0);
	conform_prog_line(&c, "@bash-dev-stderr@");
	conform_prog_line(&c, "@bash-dev-fd-2@");
	conform_prog_line(&c, "@bash-proc-self@");
	conform_case_check(&c, NULL);
	conform_done("bash >>/dev/stderr");
}

/* The same in sh, which on Debian is dash. */
Test(conform, debian_dash_echo_to_stderr, .timeout = TEST_TIMEOUT(60))
{
	conform_prog_one((const char *const[]){ "/bin/sh", "-c", "echo @dash@ >&2", NULL },
	    "sh", 0, "@dash@", "sh (dash)");
}
