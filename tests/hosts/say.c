/*
 * say - write exactly the bytes a test asks for, to stderr or syslog(3).
 *
 *   say DIRECTIVE...
 *
 * Each directive is one call, done in order; TEXT is decoded from C-like
 * escapes first: \n \r \t \\ and \xHH (any byte, NUL included).
 *   w:TEXT         one write(2, TEXT)
 *   r:N:TEXT       one write(2, ...) of TEXT repeated N times
 *   s:SEV:TEXT     syslog(SEV, "%s", TEXT), SEV a number 0-7
 *   o:IDENT        openlog(IDENT, 0, LOG_USER), IDENT decoded too
 *   F:             write(2, ...) and writev(2, ...) of 10 bytes from an
 *                  unmapped address: each must return -1 with errno EFAULT
 *   _:CODE         _exit(CODE): no atexit handlers, no destructors
 *   k:SIG          raise(SIG)
 *   f:             fork: the child goes on with the directives after this
 *                  one and exits; the parent waits for it and exits 0
 *   e:             execv itself (argv[0]) with the directives after this one
 *   c:PATH         close(2), check that write(2, ...) then fails with EBADF,
 *                  and open PATH (created, truncated), which must get fd 2
 *   v:TEXT         vfork: the child writes TEXT to fd 2 and _exits; the
 *                  parent waits for it and goes on
 *   p:TEXT         fwrite(TEXT, stderr): through stdio
 *   P:N:TEXT       fprintf(stderr, "%*s\n", N, TEXT): TEXT right-aligned in
 *                  N columns, and a newline; it must return their length
 *   R:PATH         freopen(PATH, "w", stderr), which must keep fd 2
 *   m:             print "mono=NS", CLOCK_MONOTONIC now, to stdout
 *   d:FD:TEXT      dup2(2, FD), one write(FD, TEXT), close(FD); the soft
 *                  limit on descriptors is raised to the hard one first
 *                  when FD is past it
 *   L:N:TEXT       N write(2, TEXT) calls; print "longest=NS", the longest
 *   z:MS           pause MS milliseconds (a pause the test is about, not a
 *                  wait for anything)
 *   g:             wait for the test: read one byte from stdin (or its end)
 *   n:NAME         prctl(PR_SET_NAME, NAME): the main thread's name
 *   N:NAME:TEXT    a thread, named NAME by the main thread with
 *                  pthread_setname_np before it starts, writes TEXT with
 *                  one write(2); the main thread waits for it
 *   I:TEXT         TEXT through the old names: _IO_fputs(TEXT, stderr),
 *                  _IO_putc('\n', stderr), _IO_fprintf(stderr, "%s\n", TEXT)
 *                  and _IO_fwrite(TEXT) plus _IO_putc('\n'), each found with
 *                  dlsym (a program built against old glibc binds them so)
 * First it writes "say pid=PID tid=TID\n" to stdout; a write or writev
 * that returns the wrong count or changes errno prints a line starting
 * "FAIL" to stdout. Exits 0, or 2 for a directive it does not know.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <time.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "decode.h"

#define SAY_ERRNO 4242
#define SAY_IDENTS 4096       /* openlog idents kept reachable */

static char *say_idents[SAY_IDENTS];
static unsigned say_nidents;

/* One write(2) of n bytes, checked. */
static void
say_write(const char *buf, size_t n)
{
	ssize_t w;

	errno = SAY_ERRNO;
	w = write(2, buf, n);
	if (w != (ssize_t)n || errno != SAY_ERRNO)
		printf("FAIL write %zu bytes: returned %zd, errno %d\n", n, w, errno);
}

/* Writes from an address that is not mapped fail with EFAULT. */
static void
say_efault(void)
{
	const char *volatile bad = (const char *)16;   /* hide it from -Wstringop */
	struct iovec iov = { (void *)bad, 10 };
	ssize_t w;

	errno = 0;
	w = write(2, bad, 10);
	if (w != -1 || errno != EFAULT)
		printf("FAIL write from a bad address: returned %zd, errno %d\n", w, errno);
	errno = 0;
	w = writev(2, &iov, 1);
	if (w != -1 || errno != EFAULT)
		printf("FAIL writev from a bad address: returned %zd, errno %d\n", w, errno);
	fflush(stdout);
}

/* Close fd 2; a write to it must fail as it would without the shim; then
 * fd 2 becomes the file path. */
static void
say_close2(const char *path)
{
	ssize_t w;
	int fd;

	close(2);
	errno = 0;
	w = write(2, "closed\n", 7);
	if (w != -1 || errno != EBADF)
		printf("FAIL write to closed fd 2: returned %zd, errno %d\n", w, errno);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd != 2)
		printf("FAIL open %s gave fd %d, not 2\n", path, fd);
}

/* The stdio directives p and R; 0, or 2 for another one. */
static int
say_stdio(const char *a)
{
	char *text;
	size_t n;

	if (a[0] == 'p') {
		text = decode_escapes(a + 2, &n);
		if (fwrite(text, 1, n, stderr) != n)
			printf("FAIL fwrite\n");
		free(text);
		return 0;
	}
	if (a[0] == 'P') {
		char *end;
		long w = strtol(a + 2, &end, 10);

		if (*end != ':' || w < 0 || w > 1 << 20)
			return 2;
		text = decode_escapes(end + 1, &n);
		if (fprintf(stderr, "%*s\n", (int)w, text) != (int)((size_t)w > n ? (size_t)w : n) + 1)
			printf("FAIL fprintf\n");
		free(text);
		return 0;
	}
	if (a[0] != 'R')
		return 2;
	if (freopen(a + 2, "w", stderr) == NULL || fileno(stderr) != 2)
		printf("FAIL freopen %s\n", a + 2);
	return 0;
}

/* A vfork child writes text to stderr and leaves; the parent goes on. */
static void
say_vfork(const char *text, size_t n)
{
	pid_t pid;

	fflush(stdout);
	if ((pid = vfork()) == 0) {
		write(2, text, n);
		_exit(0);
	}
	while (pid > 0 && waitpid(pid, NULL, 0) == -1)
		;
}

/* CLOCK_MONOTONIC now, in nanoseconds. */
static int64_t
say_mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* dup2(2, fd), one write of text to fd, close it. */
static int
say_dup_write(const char *arg)
{
	char *end, *text;
	long fd = strtol(arg, &end, 10);
	struct rlimit lim;
	size_t n;

	if (*end != ':' || fd < 3 || fd > 65535)
		return 2;
	text = decode_escapes(end + 1, &n);
	if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && (rlim_t)fd >= lim.rlim_cur) {
		lim.rlim_cur = lim.rlim_max;    /* descriptors that high exist only so */
		setrlimit(RLIMIT_NOFILE, &lim);
	}
	if (dup2(2, (int)fd) != fd || write((int)fd, text, n) != (ssize_t)n)
		printf("FAIL dup2 to %ld and write: %s\n", fd, strerror(errno));
	close((int)fd);
	free(text);
	return 0;
}

/* n writes of text; the longest one's duration to stdout. */
static int
say_longest(const char *arg)
{
	char *end, *text;
	long v = strtol(arg, &end, 10);
	int64_t longest = 0;
	size_t n;

	if (*end != ':' || v < 1)
		return 2;
	text = decode_escapes(end + 1, &n);
	for (long k = 0; k < v; k++) {
		int64_t t0 = say_mono(), t;

		say_write(text, n);
		if ((t = say_mono() - t0) > longest)
			longest = t;
	}
	printf("longest=%lld\n", (long long)longest);
	fflush(stdout);
	free(text);
	return 0;
}

/* A thread that writes its text once the main thread has named it. */
struct say_named {
	sem_t named;
	char *text;
	size_t n;
};

static void *
say_named_main(void *arg)
{
	struct say_named *t = arg;

	while (sem_wait(&t->named) == -1)
		;
	say_write(t->text, t->n);
	return NULL;
}

/* N:NAME:TEXT */
static int
say_named_thread(const char *arg)
{
	const char *colon = strchr(arg, ':');
	struct say_named t;
	char name[16];
	pthread_t th;

	if (colon == NULL || (size_t)(colon - arg) >= sizeof(name))
		return 2;
	memcpy(name, arg, (size_t)(colon - arg));
	name[colon - arg] = '\0';
	t.text = decode_escapes(colon + 1, &t.n);
	sem_init(&t.named, 0, 0);
	if (pthread_create(&th, NULL, say_named_main, &t) != 0)
		return 98;
	if (pthread_setname_np(th, name) != 0)
		printf("FAIL pthread_setname_np %s\n", name);
	sem_post(&t.named);
	pthread_join(th, NULL);
	sem_destroy(&t.named);
	free(t.text);
	return 0;
}

/* text through the _IO_ names old binaries call. */
static int
say_old_names(const char *arg)
{
	int (*io_fputs)(const char *, FILE *) = (int (*)(const char *, FILE *))
	    dlsym(RTLD_DEFAULT, "_IO_fputs");
	int (*io_putc)(int, FILE *) = (int (*)(int, FILE *))dlsym(RTLD_DEFAULT, "_IO_putc");
	int (*io_fprintf)(FILE *, const char *, ...) = (int (*)(FILE *, const char *, ...))
	    dlsym(RTLD_DEFAULT, "_IO_fprintf");
	size_t (*io_fwrite)(const void *, size_t, size_t, FILE *) =
	    (size_t (*)(const void *, size_t, size_t, FILE *))dlsym(RTLD_DEFAULT, "_IO_fwrite");
	size_t n;
	char *text = decode_escapes(arg, &n);

	if (io_fputs == NULL || io_putc == NULL || io_fprintf == NULL || io_fwrite == NULL) {
		printf("FAIL an _IO_ name is not defined\n");
		free(text);
		return 0;
	}
	if (io_fputs(text, stderr) < 0 || io_putc('\n', stderr) != '\n' ||
	    io_fprintf(stderr, "%s\n", text) != (int)n + 1 ||
	    io_fwrite(text, 1, n, stderr) != n || io_putc('\n', stderr) != '\n')
		printf("FAIL an _IO_ call returned the wrong value\n");
	free(text);
	return 0;
}

int
main(int argc, char **argv)
{
	printf("say pid=%d tid=%d\n", (int)getpid(), (int)syscall(SYS_gettid));
	fflush(stdout);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		char *text, *end;
		size_t n;
		long v;

		if (a[0] == '\0' || a[1] != ':')
			return 2;
		switch (a[0]) {
		case 'w':
			text = decode_escapes(a + 2, &n);
			say_write(text, n);
			free(text);
			break;
		case 'r': {
			v = strtol(a + 2, &end, 10);
			if (*end != ':' || v < 1)
				return 2;
			text = decode_escapes(end + 1, &n);
			char *big = malloc(n * (size_t)v);
			if (big == NULL)
				return 98;
			for (long k = 0; k < v; k++)
				memcpy(big + (size_t)k * n, text, n);
			say_write(big, n * (size_t)v);
			free(big);
			free(text);
			break;
		}
		case 's':
			v = strtol(a + 2, &end, 10);
			if (*end != ':' || v < 0 || v > 7)
				return 2;
			text = decode_escapes(end + 1, &n);
			syslog((int)v, "%s", text);
			free(text);
			break;
		case 'F':
			say_efault();
			break;
		case '_':
			fflush(stdout);
			_exit(atoi(a + 2));
		case 'k':
			fflush(stdout);
			raise(atoi(a + 2));
			break;
		case 'f': {
			pid_t pid;

			fflush(stdout);
			if ((pid = fork()) == -1)
				return 98;
			if (pid == 0)
				break;
			while (waitpid(pid, NULL, 0) == -1)
				;
			return 0;
		}
		case 'e':
			fflush(stdout);
			argv[i] = argv[0];
			execv(argv[0], argv + i);
			printf("FAIL exec %s\n", argv[0]);
			return 1;
		case 'c':
			say_close2(a + 2);
			break;
		case 'v':
			text = decode_escapes(a + 2, &n);
			say_vfork(text, n);
			free(text);
			break;
		case 'o':
			/* openlog keeps the pointer: the ident is never freed,
			 * and kept reachable (a leak checker would say so). */
			say_idents[say_nidents % SAY_IDENTS] = decode_escapes(a + 2, &n);
			openlog(say_idents[say_nidents++ % SAY_IDENTS], 0, LOG_USER);
			break;
		case 'm':
			printf("mono=%lld\n", (long long)say_mono());
			fflush(stdout);
			break;
		case 'd':
			if (say_dup_write(a + 2) != 0)
				return 2;
			break;
		case 'L':
			if (say_longest(a + 2) != 0)
				return 2;
			break;
		case 'I':
			say_old_names(a + 2);
			break;
		case 'g': {
			char c;

			/* Wait for the test: a byte on stdin, or its end. */
			if (read(0, &c, 1) == -1)
				printf("FAIL read stdin\n");
			break;
		}
		case 'z': {
			struct timespec ms = { atoi(a + 2) / 1000, (long)(atoi(a + 2) % 1000) * 1000000 };

			nanosleep(&ms, NULL);
			break;
		}
		case 'n':
			if (prctl(PR_SET_NAME, a + 2, 0, 0, 0) != 0)
				printf("FAIL prctl PR_SET_NAME %s\n", a + 2);
			break;
		case 'N':
			if (say_named_thread(a + 2) != 0)
				return 2;
			break;
		default:
			if (say_stdio(a) != 0)
				return 2;
		}
	}
	fflush(stdout);
	return 0;
}
