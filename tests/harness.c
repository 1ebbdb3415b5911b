/* harness.c - processes, files, segments and JSON for the end-to-end tests. */
#include "harness.h"

#include <criterion/criterion.h>

#include <dirent.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define HARNESS_MAX_PROCS 256
#define HARNESS_MAX_SHMS  64

static struct {
	char dir[64];                   /* scratch folder, "" before setup */
	pid_t procs[HARNESS_MAX_PROCS]; /* spawned, not yet reaped: > 0 */
	int nprocs;
	char shms[HARNESS_MAX_SHMS][64];
	int nshms;
	int serial;
} harness;

/* The test's process frees these at exit: each test is its own process. */
char *
harness_fmt(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	cr_assert(n != -1, "out of memory");
	return s;
}

/* 1 if a process with this pid exists. */
static int
harness_alive(pid_t pid)
{
	return kill(pid, 0) == 0 || errno == EPERM;
}

/* Unlink /dev/shm/mplog-test-PID-* segments whose test process is gone. */
static void
harness_unlink_stale(void)
{
	DIR *d = opendir("/dev/shm");
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char name[300];
		int pid;

		if (sscanf(e->d_name, "mplog-test-%d-", &pid) != 1 || pid <= 0 ||
		    harness_alive((pid_t)pid))
			continue;
		snprintf(name, sizeof(name), "/%s", e->d_name);
		shm_unlink(name);
	}
	closedir(d);
}

void
harness_setup(void)
{
	const char *build = getenv("MPLOG_BUILD");

	/* The test will skip (harness_build): make nothing, as a skipped
	 * test's .fini does not run. */
	if (build == NULL || build[0] == '\0')
		return;
	snprintf(harness.dir, sizeof(harness.dir), "/tmp/mplog-e2e-XXXXXX");
	if (mkdtemp(harness.dir) == NULL)
		cr_assert_fail("mkdtemp %s: %s", harness.dir, strerror(errno));
	harness_unlink_stale();
}

/* nftw callback: remove one entry. */
static int
harness_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* Kill pid's process group and reap pid; its private segment goes too. */
static void
harness_kill(int slot)
{
	pid_t pid = harness.procs[slot];
	char name[64];

	killpg(pid, SIGKILL);
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
		;
	harness.procs[slot] = 0;
	/* An mplogd in run mode that was killed left its segment behind. */
	snprintf(name, sizeof(name), "/mplog-run-%d", (int)pid);
	shm_unlink(name);
}

void
harness_teardown(void)
{
	for (int i = 0; i < harness.nprocs; i++)
		if (harness.procs[i] > 0)
			harness_kill(i);
	for (int i = 0; i < harness.nshms; i++)
		shm_unlink(harness.shms[i]);
	if (harness.dir[0] != '\0' && getenv("MPLOG_KEEP") == NULL)
		nftw(harness.dir, harness_rm, 16, FTW_DEPTH | FTW_PHYS);
}

char *
harness_build(const char *rel)
{
	const char *build = getenv("MPLOG_BUILD");

	if (build == NULL || build[0] == '\0')
		cr_skip_test("MPLOG_BUILD is not set");
	cr_assert(build[0] == '/', "MPLOG_BUILD must be absolute: %s", build);
	return harness_fmt("%s/%s", build, rel);
}

char *
harness_shim(void)
{
	return harness_build("libmplog_preload.so");
}

char *
harness_repo(const char *rel)
{
	const char *src = getenv("MPLOG_SRC");
	char *beside = harness_build("../");
	char *path;

	if (src != NULL && src[0] != '\0')
		return harness_fmt("%s/%s", src, rel);
	path = harness_fmt("%s%s", beside, rel);
	free(beside);
	if (access(path, F_OK) == 0)
		return path;
	free(path);
	return harness_fmt("%s", rel);
}

char *
harness_file(const char *name)
{
	if (harness.dir[0] == '\0')
		free(harness_build(""));        /* skips when MPLOG_BUILD is unset */
	cr_assert(harness.dir[0] != '\0', "harness_setup did not run");
	return harness_fmt("%s/%s", harness.dir, name);
}

const char *
harness_shm_name(void)
{
	cr_assert(harness.nshms < HARNESS_MAX_SHMS, "too many segments");
	snprintf(harness.shms[harness.nshms], sizeof(harness.shms[0]),
	    "/mplog-test-%d-%d", (int)getpid(), harness.serial++);
	return harness.shms[harness.nshms++];
}

/* 1 if env entry e sets a variable that one of the NULL-ended list sets. */
static int
harness_env_overridden(const char *e, const char *const *extra, size_t n)
{
	size_t k = strcspn(e, "=");

	for (size_t i = 0; i < n; i++)
		if (strncmp(e, extra[i], k + 1) == 0)
			return 1;
	return 0;
}

char *
harness_preload(const char *libs)
{
	const char *rt = getenv("MPLOG_TEST_PRELOAD");
	size_t k = rt != NULL ? strlen(rt) : 0;

	if (libs == NULL || libs[0] == '\0')
		return k == 0 ? NULL : harness_fmt("LD_PRELOAD=%s", rt);
	/* Already first (an environment that went through here before). */
	if (k == 0 || (strncmp(libs, rt, k) == 0 && (libs[k] == '\0' || libs[k] == ':')))
		return harness_fmt("LD_PRELOAD=%s", libs);
	return harness_fmt("LD_PRELOAD=%s:%s", rt, libs);
}

/*
 * env with its LD_PRELOAD made by harness_preload: the runtime of a
 * sanitizer build put first, or as the whole LD_PRELOAD when env has none
 * (mplogd and mplog-run append the shim to it). Edits env in place when
 * it has an LD_PRELOAD, else returns a copy with one more entry.
 */
static char **
harness_env_preload(char **env)
{
	char *var = harness_preload(NULL);
	size_t n = 0;
	char **out;

	for (; env[n] != NULL; n++)
		if (strncmp(env[n], "LD_PRELOAD=", 11) == 0) {
			char *v = harness_preload(env[n] + 11);

			env[n] = v != NULL ? v : env[n];
			var = NULL;
		}
	if (var == NULL)
		return env;
	out = calloc(n + 2, sizeof(*out));
	cr_assert(out != NULL, "out of memory");
	memcpy(out, env, n * sizeof(*out));
	out[n] = var;
	return out;
}

char **
harness_env(const char *first, ...)
{
	const char *extra[32], *build = getenv("MPLOG_BUILD");
	size_t n = 0, nextra = 0, k = 0;
	const char *s;
	va_list ap;
	char **env;

	va_start(ap, first);
	for (s = first; s != NULL; s = va_arg(ap, const char *)) {
		cr_assert(nextra < 32, "too many variables");
		extra[nextra++] = s;
	}
	va_end(ap);
	while (environ[n] != NULL)
		n++;
	env = calloc(n + nextra + 2, sizeof(*env));
	cr_assert(env != NULL, "out of memory");
	for (size_t i = 0; environ[i] != NULL; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0 &&
		    strncmp(environ[i], "MPLOG_", 6) != 0 &&
		    !harness_env_overridden(environ[i], extra, nextra))
			env[k++] = environ[i];
	for (size_t i = 0; i < nextra; i++)
		env[k++] = (char *)extra[i];
	/* scripts/mplog-run takes mplogd and the shim from there. */
	if (build != NULL && build[0] != '\0' &&
	    !harness_env_overridden("MPLOG_BUILD=", extra, nextra))
		env[k++] = harness_fmt("MPLOG_BUILD=%s", build);
	env[k] = NULL;
	/* Also for the tests that exec it themselves (test_hostile.c). */
	return harness_env_preload(env);
}

/* In the child: put the descriptors in place (only syscalls here). */
static void
harness_child_fds(const struct harness_io *io)
{
	int src[3] = { io->in, io->out, io->err }, extra = -1;

	for (int i = 0; i < 3; i++) {
		if (src[i] == -1)
			src[i] = open("/dev/null", i == 0 ? O_RDONLY : O_WRONLY);
		src[i] = fcntl(src[i], F_DUPFD, 10);
		if (src[i] == -1)
			_exit(127);
	}
	if (io->extra_fd >= 0 && (extra = fcntl(io->extra_fd, F_DUPFD, 10)) == -1)
		_exit(127);
	for (int i = 0; i < 3; i++)
		if (dup2(src[i], i) == -1)
			_exit(127);
	if (extra != -1) {
		if (io->extra_as < 3 || dup2(extra, io->extra_as) == -1)
			_exit(127);
		if (io->extra_as > 3)
			close_range(3, (unsigned)io->extra_as - 1, 0);
		close_range((unsigned)io->extra_as + 1, ~0u, 0);
	} else {
		close_range(3, ~0u, 0);
	}
}

/* The tracking slot of pid, or -1. */
static int
harness_slot(pid_t pid)
{
	for (int i = 0; i < harness.nprocs; i++)
		if (harness.procs[i] == pid)
			return i;
	return -1;
}

pid_t
harness_spawn(char *const argv[], char **env, const struct harness_io *io)
{
	struct harness_io none = { -1, -1, -1, -1, -1 };
	int slot = harness_slot(0);     /* one a reaped process left */
	pid_t pid;

	if (slot == -1) {
		cr_assert(harness.nprocs < HARNESS_MAX_PROCS, "too many processes");
		slot = harness.nprocs++;
	}
	if (env == NULL)
		env = harness_env(NULL);
	if (io == NULL)
		io = &none;
	env = harness_env_preload(env);
	fflush(NULL);
	pid = fork();
	cr_assert(pid != -1, "fork: %s", strerror(errno));
	if (pid == 0) {
		sigset_t empty;

		setpgid(0, 0);
		/* A test killed on timeout takes what it started along. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		sigemptyset(&empty);
		sigprocmask(SIG_SETMASK, &empty, NULL);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		harness_child_fds(io);
		execve(argv[0], argv, env);
		_exit(127);
	}
	setpgid(pid, pid);      /* also here: no race with a kill of the group */
	harness.procs[slot] = pid;
	return pid;
}

/* Wait for pid's exit status without blocking past deadline (ms, monotonic);
 * 1 when it exited (*status set), 0 on timeout. */
static int
harness_wait_until(pid_t pid, int timeout_ms, int *status)
{
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct timespec t0, t;
	pid_t got;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		while ((got = waitpid(pid, status, WNOHANG)) == -1 && errno == EINTR)
			;
		cr_assert(got != -1, "waitpid %d: %s", (int)pid, strerror(errno));
		if (got == pid) {
			if (pfd != -1)
				close(pfd);
			return 1;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		long left = timeout_ms - ((t.tv_sec - t0.tv_sec) * 1000 +
		    (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0) {
			if (pfd != -1)
				close(pfd);
			return 0;
		}
		if (pfd != -1) {
			struct pollfd p = { pfd, POLLIN, 0 };
			poll(&p, 1, (int)left);
		} else {
			/* No pidfd: poll the status (a bound, not synchronisation). */
			struct timespec ms = { 0, 2000000 };
			nanosleep(&ms, NULL);
		}
	}
}

int
harness_wait(pid_t pid, int timeout_ms)
{
	timeout_ms *= TEST_SLOW;
	int slot = harness_slot(pid), status;

	cr_assert(slot != -1, "pid %d was not spawned by the harness", (int)pid);
	if (!harness_wait_until(pid, timeout_ms, &status)) {
		harness_kill(slot);
		cr_assert_fail("pid %d did not exit within %d ms (killed)", (int)pid, timeout_ms);
	}
	harness.procs[slot] = 0;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

/* Open a new file for appending in the scratch folder: as with the
 * shell's 2>>, a program that opens /dev/stderr again writes at its end. */
static int
harness_create(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);

	cr_assert(fd != -1, "%s: %s", path, strerror(errno));
	return fd;
}

void
harness_mplog_argv(char **argv, int *n, int script, const char *format, const char *log,
    const char *const *opts)
{
	if (script) {
		argv[(*n)++] = harness_repo("scripts/mplog-run");
	} else {
		argv[(*n)++] = harness_build("mplogd");
		argv[(*n)++] = "--preload";
		argv[(*n)++] = harness_shim();
	}
	if (format != NULL) {
		argv[(*n)++] = "--format";
		argv[(*n)++] = (char *)format;
	}
	argv[(*n)++] = "-o";
	argv[(*n)++] = (char *)log;
	for (int i = 0; opts != NULL && opts[i] != NULL; i++)
		argv[(*n)++] = (char *)opts[i];
	argv[(*n)++] = "--";
}

struct harness_result
harness_run_host(int script, const char *format, const char *const *opts, const char *host,
    const char *const *args, char **log)
{
	char *argv[64];
	int n = 0;
	struct harness_result r;

	*log = harness_file(harness_fmt("%s%d.%s", host, harness.serial++,
	    format != NULL ? format : "text"));
	harness_mplog_argv(argv, &n, script, format, *log, opts);
	argv[n++] = harness_build(harness_fmt("hosts/%s", host));
	for (int i = 0; args[i] != NULL && n < 63; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	harness_run(argv, NULL, NULL, &r);
	return r;
}

int
harness_run(char *const argv[], char **env, const char *in_text, struct harness_result *r)
{
	int n = harness.serial++;
	char *in = harness_fmt("%s/run%d.in", harness.dir, n);
	char *out = harness_fmt("%s/run%d.out", harness.dir, n);
	char *err = harness_fmt("%s/run%d.err", harness.dir, n);
	struct harness_io io = { -1, harness_create(out), harness_create(err), -1, -1 };

	if (in_text != NULL) {
		int fd = harness_create(in);

		cr_assert(write(fd, in_text, strlen(in_text)) == (ssize_t)strlen(in_text));
		close(fd);
		io.in = open(in, O_RDONLY | O_CLOEXEC);
		cr_assert(io.in != -1, "%s: %s", in, strerror(errno));
	}
	r->pid = harness_spawn(argv, env, &io);
	close(io.out);
	close(io.err);
	if (io.in != -1)
		close(io.in);
	r->code = harness_wait(r->pid, HARNESS_WAIT_MS);
	r->out = harness_read_file(out, &r->out_len);
	r->err = harness_read_file(err, &r->err_len);
	return r->code;
}

char *
harness_read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 65536, n = 0;
	char *buf;
	ssize_t got;

	cr_assert(fd != -1, "%s: %s", path, strerror(errno));
	buf = malloc(cap + 1);
	cr_assert(buf != NULL, "out of memory");
	while ((got = read(fd, buf + n, cap - n)) != 0) {
		if (got == -1 && errno == EINTR)
			continue;
		cr_assert(got > 0, "read %s: %s", path, strerror(errno));
		n += (size_t)got;
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
			cr_assert(buf != NULL, "out of memory");
		}
	}
	close(fd);
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
}

ssize_t
harness_read_line(int fd, char *buf, size_t len, int timeout_ms)
{
	timeout_ms *= TEST_SLOW;
	size_t n = 0;
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (n + 1 < len) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t got;
		char c;

		clock_gettime(CLOCK_MONOTONIC, &t);
		long left = timeout_ms - ((t.tv_sec - t0.tv_sec) * 1000 +
		    (t.tv_nsec - t0.tv_nsec) / 1000000);
		cr_assert(left > 0, "no line on fd %d within %d ms (have \"%.*s\")",
		    fd, timeout_ms, (int)n, buf);
		if (poll(&p, 1, (int)left) == -1) {
			cr_assert(errno == EINTR, "poll: %s", strerror(errno));
			continue;
		}
		if (p.revents == 0)
			continue;
		got = read(fd, &c, 1);
		if (got == -1 && errno == EINTR)
			continue;
		cr_assert(got != -1, "read: %s", strerror(errno));
		if (got == 0) {
			buf[n] = '\0';
			return n == 0 ? -1 : (ssize_t)n;
		}
		if (c == '\n')
			break;
		buf[n++] = c;
	}
	buf[n] = '\0';
	return (ssize_t)n;
}

void
harness_daemon_start(struct harness_daemon *d, const char *format, const char *const *extra)
{
	harness_daemon_start_on(d, harness_shm_name(), format, extra);
}

void
harness_daemon_start_on(struct harness_daemon *d, const char *shm, const char *format,
    const char *const *extra)
{
	char *argv[32];
	int n = 0, p[2];
	char line[64];

	memset(d, 0, sizeof(*d));
	snprintf(d->shm, sizeof(d->shm), "%s", shm);
	d->log = harness_fmt("%s/daemon%d.log", harness.dir, harness.serial);
	d->err = harness_fmt("%s/daemon%d.err", harness.dir, harness.serial++);
	argv[n++] = harness_build("mplogd");
	argv[n++] = "--shm";
	argv[n++] = d->shm;
	argv[n++] = "-o";
	argv[n++] = d->log;
	argv[n++] = "--format";
	argv[n++] = (char *)format;
	argv[n++] = "--ready-fd";
	argv[n++] = "3";
	for (int i = 0; extra != NULL && extra[i] != NULL && n < 31; i++)
		argv[n++] = (char *)extra[i];
	argv[n] = NULL;
	cr_assert(pipe2(p, O_CLOEXEC) == 0, "pipe: %s", strerror(errno));
	struct harness_io io = { -1, -1, harness_create(d->err), p[1], 3 };
	d->pid = harness_spawn(argv, NULL, &io);
	close(p[1]);
	close(io.err);
	ssize_t got = harness_read_line(p[0], line, sizeof(line), 10000);
	close(p[0]);
	cr_assert(got != -1 && strcmp(line, "ready") == 0,
	    "mplogd did not get ready on %s: %s", d->shm, harness_read_file(d->err, NULL));
}

int
harness_daemon_stop(struct harness_daemon *d)
{
	cr_assert(kill(d->pid, SIGTERM) == 0, "kill mplogd: %s", strerror(errno));
	return harness_wait(d->pid, HARNESS_WAIT_MS);
}

/* ---- JSON ---------------------------------------------------------- */

struct harness_json {
	const unsigned char *s, *p, *end;
	char *why;
	size_t whylen;
};

/* Record why parsing failed, with the offset; returns -1. */
static int
harness_json_fail(struct harness_json *j, const char *what)
{
	snprintf(j->why, j->whylen, "%s at byte %zu", what, (size_t)(j->p - j->s));
	return -1;
}

static void
harness_json_ws(struct harness_json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\r'))
		j->p++;
}

/* Expect the byte c, after optional whitespace. */
static int
harness_json_expect(struct harness_json *j, char c)
{
	char what[32];

	harness_json_ws(j);
	if (j->p < j->end && *j->p == (unsigned char)c) {
		j->p++;
		return 0;
	}
	snprintf(what, sizeof(what), "expected '%c'", c);
	return harness_json_fail(j, what);
}

/* Length of the valid UTF-8 character at s, or 0 (strict: no overlong
 * forms, no surrogates, nothing past U+10FFFF). */
static size_t
harness_utf8(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	len = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/* Four hex digits of a \u escape. */
static int
harness_json_hex4(struct harness_json *j, unsigned *v)
{
	*v = 0;
	if (j->end - j->p < 4)
		return harness_json_fail(j, "short \\u escape");
	for (int i = 0; i < 4; i++) {
		unsigned char c = *j->p++;
		unsigned d = c >= '0' && c <= '9' ? c - '0' + 0u : c >= 'a' && c <= 'f' ?
		    c - 'a' + 10u : c >= 'A' && c <= 'F' ? c - 'A' + 10u : 16u;

		if (d == 16)
			return harness_json_fail(j, "bad hex digit in \\u escape");
		*v = *v << 4 | d;
	}
	return 0;
}

/* Append code point cp as UTF-8. */
static char *
harness_put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		*o++ = (char)cp;
	} else if (cp < 0x800) {
		*o++ = (char)(0xc0 | cp >> 6);
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*o++ = (char)(0xe0 | cp >> 12);
		*o++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*o++ = (char)(0xf0 | cp >> 18);
		*o++ = (char)(0x80 | (cp >> 12 & 0x3f));
		*o++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	}
	return o;
}

/* One escape after the backslash; appends the decoded bytes at *o. */
static int
harness_json_escape(struct harness_json *j, char **o)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *k;
	unsigned cp, lo;

	if (j->p >= j->end)
		return harness_json_fail(j, "backslash at the end");
	if (*j->p != 'u') {
		if (*j->p == '\0' || (k = strchr(from, *j->p)) == NULL)
			return harness_json_fail(j, "unknown escape");
		*(*o)++ = to[k - from];
		j->p++;
		return 0;
	}
	j->p++;
	if (harness_json_hex4(j, &cp) == -1)
		return -1;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return harness_json_fail(j, "lone low surrogate");
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (j->end - j->p < 2 || j->p[0] != '\\' || j->p[1] != 'u')
			return harness_json_fail(j, "high surrogate without a low one");
		j->p += 2;
		if (harness_json_hex4(j, &lo) == -1)
			return -1;
		if (lo < 0xdc00 || lo > 0xdfff)
			return harness_json_fail(j, "high surrogate without a low one");
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	*o = harness_put_utf8(*o, cp);
	return 0;
}

/* A string; its decoded bytes go to a new NUL-terminated buffer. */
static int
harness_json_string(struct harness_json *j, char **out, size_t *outlen)
{
	char *buf, *o;

	if (harness_json_expect(j, '"') == -1)
		return -1;
	buf = malloc((size_t)(j->end - j->p) + 1);
	cr_assert(buf != NULL, "out of memory");
	o = buf;
	for (;;) {
		size_t k;

		if (j->p >= j->end) {
			free(buf);
			return harness_json_fail(j, "unterminated string");
		}
		if (*j->p == '"')
			break;
		if (*j->p < 0x20) {
			free(buf);
			return harness_json_fail(j, "raw control character in a string");
		}
		if (*j->p == '\\') {
			j->p++;
			if (harness_json_escape(j, &o) == -1) {
				free(buf);
				return -1;
			}
			continue;
		}
		if ((k = harness_utf8(j->p, (size_t)(j->end - j->p))) == 0) {
			free(buf);
			return harness_json_fail(j, "invalid UTF-8 in a string");
		}
		memcpy(o, j->p, k);
		o += k;
		j->p += k;
	}
	j->p++;
	*o = '\0';
	*out = buf;
	*outlen = (size_t)(o - buf);
	return 0;
}

/* A string copied into a fixed field; too long, or holding NUL, fails. */
static int
harness_json_field(struct harness_json *j, char *dst, size_t dstlen)
{
	char *s;
	size_t n;

	if (harness_json_string(j, &s, &n) == -1)
		return -1;
	if (n >= dstlen || strlen(s) != n) {
		free(s);
		return harness_json_fail(j, "string too long for its field, or holding NUL");
	}
	memcpy(dst, s, n + 1);
	free(s);
	return 0;
}

/* A JSON integer (no fraction, no exponent) of at least min. */
static int
harness_json_int(struct harness_json *j, long *v, long min)
{
	const unsigned char *start;
	char digits[24];

	harness_json_ws(j);
	start = j->p;
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p < j->end && *j->p == '0')
		j->p++;
	else if (j->p < j->end && *j->p >= '1' && *j->p <= '9')
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	else
		return harness_json_fail(j, "expected an integer");
	if (j->p < j->end && (*j->p == '.' || *j->p == 'e' || *j->p == 'E'))
		return harness_json_fail(j, "expected an integer, got a fraction");
	if ((size_t)(j->p - start) >= sizeof(digits))
		return harness_json_fail(j, "integer too long");
	memcpy(digits, start, (size_t)(j->p - start));
	digits[j->p - start] = '\0';
	*v = strtol(digits, NULL, 10);
	if (*v < min)
		return harness_json_fail(j, min > 0 ? "pid and tid must be positive" :
		    "uid and gid must not be negative");
	return 0;
}

/* A field (harness_json_field) that must be one of the NULL-ended words;
 * another word fails with the reason unknown. */
static int
harness_json_word(struct harness_json *j, char *dst, size_t dstlen,
    const char *const *words, const char *unknown)
{
	if (harness_json_field(j, dst, dstlen) == -1)
		return -1;
	for (; *words != NULL; words++)
		if (strcmp(dst, *words) == 0)
			return 0;
	return harness_json_fail(j, unknown);
}

/* RFC 3339 UTC with nanoseconds: YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ. */
static int
harness_ts_valid(const char *ts)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddddddddZ";
	int mon, day, h, m, s;

	if (strlen(ts) != sizeof(shape) - 1)
		return 0;
	for (size_t i = 0; shape[i] != '\0'; i++)
		if (shape[i] == 'd' ? ts[i] < '0' || ts[i] > '9' : ts[i] != shape[i])
			return 0;
	sscanf(ts + 5, "%2d-%2dT%2d:%2d:%2d", &mon, &day, &h, &m, &s);
	return mon >= 1 && mon <= 12 && day >= 1 && day <= 31 && h < 24 && m < 60 && s < 61;
}

/* The one optional key, after msg: ,"continued":true on a piece of a
 * line. */
static int
harness_json_continued(struct harness_json *j, struct harness_rec *r)
{
	static const char key[] = ",\"continued\":true";

	harness_json_ws(j);
	if ((size_t)(j->end - j->p) < sizeof(key) - 1 || memcmp(j->p, key, sizeof(key) - 1) != 0)
		return 0;
	j->p += sizeof(key) - 1;
	r->continued = 1;
	return 0;
}

/* The last key: ,"thread": a string or null. */
static int
harness_json_thread(struct harness_json *j, struct harness_rec *r)
{
	static const char key[] = ",\"thread\":";

	harness_json_ws(j);
	if ((size_t)(j->end - j->p) < sizeof(key) - 1 || memcmp(j->p, key, sizeof(key) - 1) != 0)
		return harness_json_fail(j, "no \"thread\" key after msg");
	j->p += sizeof(key) - 1;
	harness_json_ws(j);
	if (j->end - j->p >= 4 && memcmp(j->p, "null", 4) == 0) {
		j->p += 4;
		return 0;
	}
	r->has_thread = 1;
	return harness_json_field(j, r->thread, sizeof(r->thread));
}

/* The optional last keys, together or not at all: ,"uid":N,"gid":N. */
static int
harness_json_cred(struct harness_json *j, struct harness_rec *r)
{
	static const char uid[] = ",\"uid\":", gid[] = ",\"gid\":";

	harness_json_ws(j);
	if ((size_t)(j->end - j->p) < sizeof(uid) - 1 || memcmp(j->p, uid, sizeof(uid) - 1) != 0)
		return 0;
	j->p += sizeof(uid) - 1;
	if (harness_json_int(j, &r->uid, 0) == -1)
		return -1;
	harness_json_ws(j);
	if ((size_t)(j->end - j->p) < sizeof(gid) - 1 || memcmp(j->p, gid, sizeof(gid) - 1) != 0)
		return harness_json_fail(j, "\"uid\" without \"gid\" after it");
	j->p += sizeof(gid) - 1;
	if (harness_json_int(j, &r->gid, 0) == -1)
		return -1;
	r->has_cred = 1;
	return 0;
}

int
harness_json_parse(const char *s, size_t n, struct harness_rec *r, char *why, size_t whylen)
{
	static const char *const sources[] = { "stderr", "syslog", "mplog", "stdout", NULL };
	static const char *const severities[] = { "emerg", "alert", "crit", "err",
	    "warning", "notice", "info", "debug", NULL };
	static const char *const facilities[] = { "kern", "user", "mail", "daemon",
	    "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp", "ntp",
	    "security", "console", "solaris-cron", "local0", "local1", "local2",
	    "local3", "local4", "local5", "local6", "local7", NULL };
	static const char *const keys[] = { "ts", "pid", "tid", "proc", "source",
	    "facility", "severity", "ident", "msg" };
	struct harness_json j = { (const unsigned char *)s, (const unsigned char *)s,
	    (const unsigned char *)s + n, why, whylen };
	int rc = 0;

	memset(r, 0, sizeof(*r));
	if (harness_json_expect(&j, '{') == -1)
		return -1;
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]) && rc == 0; k++) {
		char *key;
		size_t klen;

		if (k > 0 && harness_json_expect(&j, ',') == -1)
			return -1;
		harness_json_ws(&j);
		if (harness_json_string(&j, &key, &klen) == -1)
			return -1;
		if (strcmp(key, keys[k]) != 0) {
			free(key);
			snprintf(why, whylen, "key %zu is not \"%s\"", k + 1, keys[k]);
			return -1;
		}
		free(key);
		if (harness_json_expect(&j, ':') == -1)
			return -1;
		harness_json_ws(&j);
		switch (k) {
		case 0:
			rc = harness_json_field(&j, r->ts, sizeof(r->ts));
			if (rc == 0 && !harness_ts_valid(r->ts))
				rc = harness_json_fail(&j, "ts is not RFC 3339 UTC with ns");
			break;
		case 1: rc = harness_json_int(&j, &r->pid, 1); break;
		case 2: rc = harness_json_int(&j, &r->tid, 1); break;
		case 3: rc = harness_json_field(&j, r->proc, sizeof(r->proc)); break;
		case 4:
			rc = harness_json_word(&j, r->source, sizeof(r->source), sources,
			    "unknown source");
			break;
		case 5:
			rc = harness_json_word(&j, r->facility, sizeof(r->facility), facilities,
			    "unknown facility");
			break;
		case 6:
			rc = harness_json_word(&j, r->severity, sizeof(r->severity), severities,
			    "unknown severity");
			break;
		case 7:
			if (j.end - j.p >= 4 && memcmp(j.p, "null", 4) == 0) {
				j.p += 4;
			} else {
				r->has_ident = 1;
				rc = harness_json_field(&j, r->ident, sizeof(r->ident));
			}
			break;
		case 8: rc = harness_json_string(&j, &r->msg, &r->msg_len); break;
		}
	}
	if (rc == -1 || harness_json_continued(&j, r) == -1 ||
	    harness_json_thread(&j, r) == -1 || harness_json_cred(&j, r) == -1 ||
	    harness_json_expect(&j, '}') == -1)
		return -1;
	harness_json_ws(&j);
	if (j.p != j.end)
		return harness_json_fail(&j, "bytes after the object");
	return 0;
}

struct harness_rec *
harness_json_load(const char *path, size_t *count)
{
	size_t len, n = 0, cap = 1024, line = 0;
	char *data = harness_read_file(path, &len), *p = data, *end = data + len;
	struct harness_rec *recs = malloc(cap * sizeof(*recs));
	char why[128];

	cr_assert(recs != NULL, "out of memory");
	cr_assert(len == 0 || data[len - 1] == '\n', "%s does not end with a newline", path);
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));

		line++;
		if (n == cap) {
			cap *= 2;
			recs = realloc(recs, cap * sizeof(*recs));
			cr_assert(recs != NULL, "out of memory");
		}
		if (harness_json_parse(p, (size_t)(nl - p), &recs[n], why, sizeof(why)) == -1)
			cr_assert_fail("%s line %zu is not a valid record: %s: %.*s", path,
			    line, why, (int)(nl - p > 300 ? 300 : nl - p), p);
		recs[n++].line = line;
		p = nl + 1;
	}
	free(data);
	*count = n;
	return recs;
}

size_t
harness_count(const char *s, const char *needle)
{
	size_t k = 0, n = strlen(s), m = strlen(needle);
	const char *end = s + n;

	/* memmem with the lengths measured once: a sanitizer's strstr
	 * measures the rest of s at every call. */
	for (const char *p = memmem(s, n, needle, m); p != NULL;
	    p = memmem(p + 1, (size_t)(end - p - 1), needle, m))
		k++;
	return k;
}

long long
harness_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

void
harness_tick(void)
{
	struct timespec ms = { 0, 1000000 };

	nanosleep(&ms, NULL);
}

int
harness_contains(const char *s, const char *needle)
{
	return strstr(s, needle) != NULL;
}

size_t
harness_count_lines(const char *s, const char *prefix)
{
	size_t n = 0, k = strlen(prefix);

	for (const char *p = s; *p != '\0';) {
		const char *nl = strchr(p, '\n');

		if (strncmp(p, prefix, k) == 0)
			n++;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	return n;
}

const struct harness_rec *
harness_find(const struct harness_rec *recs, size_t n, const char *msg)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(recs[i].msg, msg) == 0)
			return &recs[i];
	cr_assert_fail("no record \"%s\" in the log", msg);
	return NULL;
}

int
harness_free_port(int type)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	cr_assert(fd != -1, "socket: %s", strerror(errno));
	cr_assert(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "bind: %s", strerror(errno));
	cr_assert(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
	close(fd);
	return ntohs(a.sin_port);
}

char *
harness_capture_stderr(void)
{
	char *path = harness_file("stderr");
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);

	cr_assert(fd != -1, "%s: %s", path, strerror(errno));
	fflush(stderr);
	cr_assert(dup2(fd, 2) == 2);
	close(fd);
	return path;
}

pid_t
harness_rsyslogd(const char *conf, const char *pidfile, const char *log)
{
	const char *env = getenv("MPLOG_RSYSLOGD");
	char *rsyslogd = env != NULL && env[0] != '\0' ? (char *)env : "/usr/sbin/rsyslogd";
	char *argv[] = { rsyslogd, "-n", "-f", (char *)conf, "-i", (char *)pidfile, NULL };
	int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	struct harness_io io = { -1, fd, fd, -1, -1 };
	pid_t pid;

	cr_assert(access(rsyslogd, X_OK) == 0,
	    "%s: %s: the forwarding tests need rsyslog (apt-get install rsyslog; "
	    "scripts/setup-deps installs it)", rsyslogd, strerror(errno));
	cr_assert(fd != -1, "%s: %s", log, strerror(errno));
	unlink(pidfile);
	pid = harness_spawn(argv, NULL, &io);
	close(fd);
	return pid;
}
