/*
 * life - a program's life and death under the shim: fork, vfork, exec,
 * spawn, daemons, threads that exit or are cancelled, signal handlers,
 * and the ways a process ends.
 *
 *   life COMMAND [ARG...]
 *
 * First it writes "life pid=PID tid=TID cmd=COMMAND\n" to stdout. Lines
 * for the log are written to stderr (one write(2) each unless said
 * otherwise) or sent with syslog(3) (ident "life", facility user). A call
 * that returns the wrong value or changes errno prints a line starting
 * "FAIL" to stdout. Exit status 0 unless the command ends otherwise; 2
 * for a bad command line.
 *
 *   fork N                 "fork parent seq=S" for S < N, then fork at
 *                          once; the child prints "life child pid=PID" and
 *                          writes "fork child seq=S" for S < N; the parent
 *                          waits for it and writes "fork parent done".
 *   _Fork N                the same with _Fork, which runs no atfork
 *                          handler.
 *   spawn HOW PATH ARG     "spawn HOW before", then runs PATH ARG by HOW
 *                          (vfork and execv, posix_spawn, or system through
 *                          /bin/sh), waits, "spawn HOW after status=N".
 *   chain K PATH ARG       "chain step=K via=CALL", then at once becomes
 *                          "life chain K-1 PATH ARG" through the exec call
 *                          CALL (cycling through execv, execve, execvp,
 *                          execvpe, execl, execle, execlp, fexecve and
 *                          execveat with K; the p forms search PATH), or
 *                          PATH ARG by execv when K is 0. Each exec call is
 *                          first made on a missing file, which must fail as
 *                          it does without the shim.
 *   daemon3 NOCLOSE N      as a subreaper: "daemon3 main before"; a child
 *                          writes "daemon3 launcher pid=PID" and calls
 *                          daemon(0, NOCLOSE); the daemon sends N syslog
 *                          notices "daemon3 pid=PID seq=S" and writes N
 *                          "daemon3 stderr pid=PID seq=S" (to /dev/null
 *                          unless NOCLOSE); the main process waits for
 *                          every descendant, then "daemon3 main after".
 *   daemon2 HOW FILE N     as daemon3, but by hand: fork, setsid, fork;
 *                          the daemon closes every descriptor (HOW:
 *                          closefrom, close_range or loop), opens /dev/null
 *                          as 0 and FILE (appending) as 1 and 2, and for
 *                          S < N writes "daemon2 stderr pid=PID seq=S",
 *                          fprintf(stderr)s "daemon2 stdio pid=PID seq=S"
 *                          and sends the warning "daemon2 pid=PID seq=S".
 *   threads N M            N threads start together; thread T writes M
 *                          lines "thr t=T tid=TID seq=S via=V", V cycling
 *                          with T + S through write, fprintf and syslog
 *                          (notice). Prints "life threads done".
 *   cancel N M             N threads write M such lines ("steady") and
 *                          end, half by returning, half by pthread_exit;
 *                          N more ("victim") write forever until cancelled
 *                          (deferred), after at least 20 lines each. Prints
 *                          "victim t=T done=D": its lines seq < D returned.
 *   sigwrite VIA N USEC    N lines "sigwrite main seq=S" by VIA (write,
 *                          fprintf, syslog notice) while an interval timer's
 *                          handler writes "sigwrite sig seq=K" with write(2)
 *                          every USEC us. Prints "life sigwrite signals=K".
 *   end HOW                "end HOW stderr" (write), the crit syslog
 *                          "end HOW syslog" and "end HOW last" (write),
 *                          then ends by HOW: exit, _exit,
 *                          _Exit, abort, segv, bus, ill, fpe, trap, sys
 *                          (seccomp), doublefree, stack, stackalt (an
 *                          alternate signal stack first), WAY:SIG (see
 *                          life_end_signal: raise, kill, tgkill, ...),
 *                          pipe, alarm, vtalrm, prof, xfsz, xcpu,
 *                          abortown (abort with a SIGABRT handler that
 *                          returns), abortign (abort with SIGABRT ignored),
 *                          thread-segv (a thread writes "end thread-segv
 *                          tid=TID" and stores to an unmapped address),
 *                          threads-segv (4 threads write "end threads-segv
 *                          t=T tid=TID", then all store to an unmapped
 *                          address at once).
 *   core DIR LIMIT CMD...  runs "life CMD..." in DIR with RLIMIT_CORE LIMIT
 *                          (a number or max, at most the hard limit) and
 *                          prints "life status pid=PID exited=E code=C
 *                          signaled=S sig=N core=D" from its wait status.
 *   own                    a program with its own SIGSEGV handler; prints
 *                          what sigaction shows at each step, writes "own
 *                          before fault", "own handler si_code=N" (from the
 *                          handler) and "own after fault".
 *   dispositions           writes "dispositions start", then sets SIG_IGN,
 *                          SIG_DFL and a handler back and forth on signals
 *                          that end the process and some that do not
 *                          (SIGCHLD, SIGURG) with each function that can,
 *                          printing every result.
 *   ignored                writes "ignored start", prints the disposition
 *                          of signals that end the process and the SigIgn
 *                          line of /proc/self/status, then raises each
 *                          ignored one and prints "survived".
 *   quiet                  prints "quiet threads=N shm=M sigcgt=HEX" (its
 *                          threads, its mappings of /dev/shm/mplog* and of
 *                          the pages mplogd hands over (/memfd:mplog-*), and
 *                          the caught signals of /proc/self/status), writes
 *                          "quiet line", then prints the same as "logged
 *                          threads=N shm=M sigcgt=HEX"
 *   burst FILE             maps FILE (16 bytes) and stores its pid in the
 *                          first 8; then writes "burst seq=S" with
 *                          write(2) for S = 0, 1, ... for ever, storing
 *                          S + 1 in the last 8 after each write returns.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#endif

/* It calls sigset and siginterrupt on purpose: they are hooked. */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

#define LIFE_ERRNO 4747
#define LIFE_LINE  256

/* Not declared under _GNU_SOURCE; glibc exports it all the same. */
extern __sighandler_t bsd_signal(int sig, __sighandler_t h);

static const char *life_self;   /* argv[0] */

static int
life_tid(void)
{
	return (int)syscall(SYS_gettid);
}

/* One write(2) of a formatted line (a newline is added), checked. */
static void __attribute__((format(printf, 1, 2)))
life_write(const char *fmt, ...)
{
	char buf[LIFE_LINE];
	va_list ap;
	ssize_t w;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	buf[n++] = '\n';
	errno = LIFE_ERRNO;
	w = write(2, buf, (size_t)n);
	if (w != n || errno != LIFE_ERRNO)
		printf("FAIL write %d bytes: returned %zd, errno %d\n", n, w, errno);
}

/* A number from the command line, or exit 2. */
static long
life_num(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end != '\0' || v < 0)
		exit(2);
	return v;
}

/* Wait for pid; its raw status. */
static int
life_wait(pid_t pid)
{
	int st = 0;

	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	return st;
}

/* A store to an address that is not mapped. */
static void
life_fault(void)
{
	int *volatile bad = (int *)16;

	*bad = 1;
}

/* ---- fork and spawn ---------------------------------------------------- */

static int
life_fork(long n, int plain)
{
	pid_t pid;

	for (long s = 0; s < n; s++)
		life_write("fork parent seq=%ld", s);
	fflush(stdout);
	if ((pid = plain ? fork() : _Fork()) == -1)
		return 98;
	if (pid == 0) {
		printf("life child pid=%d\n", (int)getpid());
		fflush(stdout);
		for (long s = 0; s < n; s++)
			life_write("fork child seq=%ld", s);
		exit(0);
	}
	life_wait(pid);
	life_write("fork parent done");
	return 0;
}

/* "'s'" for the shell, quotes inside made '\'' ; on the heap. */
static char *
life_quote(const char *s)
{
	char *q = malloc(strlen(s) * 4 + 3), *p = q;

	if (q == NULL)
		exit(98);
	*p++ = '\'';
	for (; *s != '\0'; s++) {
		if (*s == '\'') {
			memcpy(p, "'\\''", 4);
			p += 4;
		} else {
			*p++ = *s;
		}
	}
	*p++ = '\'';
	*p = '\0';
	return q;
}

/* vfork, and execv in the child; the child's pid. */
static pid_t
life_vfork(char *path, char **argv)
{
	pid_t pid = vfork();

	if (pid == 0) {
		execv(path, argv);
		_exit(127);
	}
	return pid;
}

static int
life_spawn(const char *how, char *path, char *arg)
{
	char *argv[] = { path, arg, NULL };
	pid_t pid = -1;
	int st = -1;

	life_write("spawn %s before", how);
	fflush(stdout);
	if (strcmp(how, "vfork") == 0) {
		pid = life_vfork(path, argv);
	} else if (strcmp(how, "posix_spawn") == 0) {
		if (posix_spawn(&pid, path, NULL, NULL, argv, environ) != 0)
			pid = -1;
	} else if (strcmp(how, "system") == 0) {
		char *p = life_quote(path), *a = life_quote(arg);
		char *cmd = malloc(strlen(p) + strlen(a) + 2);

		if (cmd == NULL)
			exit(98);
		sprintf(cmd, "%s %s", p, a);
		st = system(cmd);
		free(cmd);
		free(a);
		free(p);
	} else {
		return 2;
	}
	if (pid > 0)
		st = life_wait(pid);
	else if (pid == -1 && st == -1)
		printf("FAIL %s did not start %s\n", how, path);
	life_write("spawn %s after status=%d", how, st);
	return 0;
}

/* ---- exec chains ------------------------------------------------------- */

static const char *const life_execs[] = {
	"execv", "execve", "execvp", "execvpe", "execl", "execle", "execlp",
	"fexecve", "execveat",
};

/* Exec with call (an index into life_execs) the program at path (the bare
 * name for the p forms) with argv; returns only when it fails. */
static int
life_exec_by(int call, const char *path, const char *name, char **argv)
{
	int fd;

	switch (call) {
	case 0: return execv(path, argv);
	case 1: return execve(path, argv, environ);
	case 2: return execvp(name, argv);
	case 3: return execvpe(name, argv, environ);
	case 4: return execl(path, argv[0], argv[1], argv[2], argv[3], argv[4], (char *)NULL);
	case 5: return execle(path, argv[0], argv[1], argv[2], argv[3], argv[4], (char *)NULL,
	    environ);
	case 6: return execlp(name, argv[0], argv[1], argv[2], argv[3], argv[4], (char *)NULL);
	case 7:
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			return -1;
		fexecve(fd, argv, environ);
		close(fd);
		return -1;
	default: return execveat(AT_FDCWD, path, argv, environ, 0);
	}
}

static int
life_chain(long k, char *path, char *arg)
{
	char kbuf[24], *argv[] = { (char *)life_self, "chain", kbuf, path, arg, NULL };
	char *final[] = { path, arg, NULL };
	int call = (int)(k % 9), r;
	const char *dir_end = strrchr(life_self, '/');
	char *pathvar;

	if (k == 0) {
		life_write("chain step=0 via=execv");
		execv(path, final);
		printf("FAIL execv %s: errno %d\n", path, errno);
		return 1;
	}
	/* The p forms find "life" through PATH: its folder goes first. */
	if (dir_end == NULL || asprintf(&pathvar, "%.*s:%s", (int)(dir_end - life_self),
	    life_self, getenv("PATH") != NULL ? getenv("PATH") : "/usr/bin:/bin") == -1)
		return 98;
	setenv("PATH", pathvar, 1);
	snprintf(kbuf, sizeof(kbuf), "%ld", k - 1);
	errno = LIFE_ERRNO;
	r = life_exec_by(call, "/nonexistent/life", "nonexistent-life", argv);
	if (r != -1 || errno != ENOENT)
		printf("FAIL %s of a missing file: returned %d, errno %d\n", life_execs[call], r,
		    errno);
	fflush(stdout);
	life_write("chain step=%ld via=%s", k, life_execs[call]);
	life_exec_by(call, life_self, "life", argv);
	printf("FAIL %s %s: errno %d\n", life_execs[call], life_self, errno);
	return 1;
}

/* ---- daemons ----------------------------------------------------------- */

/* Wait for every child and every orphan handed to us as subreaper. */
static void
life_reap(void)
{
	while (wait(NULL) != -1 || errno == EINTR)
		;
}

static int
life_daemon3(int noclose, long n)
{
	pid_t pid;

	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		return 98;
	life_write("daemon3 main before");
	fflush(stdout);
	if ((pid = fork()) == -1)
		return 98;
	if (pid == 0) {
		life_write("daemon3 launcher pid=%d", (int)getpid());
		if (daemon(0, noclose) == -1)
			_exit(97);
		for (long s = 0; s < n; s++) {
			syslog(LOG_NOTICE, "daemon3 pid=%d seq=%ld", (int)getpid(), s);
			life_write("daemon3 stderr pid=%d seq=%ld", (int)getpid(), s);
		}
		exit(0);
	}
	life_reap();
	life_write("daemon3 main after");
	return 0;
}

/* Close every descriptor, the way how says. */
static void
life_close_all(const char *how)
{
	if (strcmp(how, "closefrom") == 0) {
		closefrom(0);
	} else if (strcmp(how, "close_range") == 0) {
		close_range(0, ~0u, 0);
	} else {
		for (int fd = 0; fd < 1024; fd++)
			close(fd);
	}
}

static int
life_daemon2(const char *how, const char *file, long n)
{
	pid_t pid;

	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		return 98;
	life_write("daemon2 main before");
	fflush(stdout);
	if ((pid = fork()) == -1)
		return 98;
	if (pid == 0) {
		setsid();
		if (fork() != 0)
			_exit(0);
		life_close_all(how);
		if (open("/dev/null", O_RDWR) != 0 ||
		    open(file, O_WRONLY | O_CREAT | O_APPEND, 0600) != 1 || dup2(1, 2) != 2)
			_exit(97);
		for (long s = 0; s < n; s++) {
			pid_t me = getpid();

			life_write("daemon2 stderr pid=%d seq=%ld", (int)me, s);
			if (fprintf(stderr, "daemon2 stdio pid=%d seq=%ld\n", (int)me, s) < 0)
				_exit(96);
			syslog(LOG_WARNING, "daemon2 pid=%d seq=%ld", (int)me, s);
		}
		exit(0);
	}
	life_reap();
	life_write("daemon2 main after");
	return 0;
}

/* ---- threads ----------------------------------------------------------- */

/* Line seq of thread t (kind "thr", "steady" or "victim"), by the via
 * its number gives. */
static void
life_thread_line(const char *kind, int t, int tid, long seq)
{
	int via = (int)((t + seq) % 3);

	if (via == 0) {
		life_write("%s t=%d tid=%d seq=%ld via=write", kind, t, tid, seq);
	} else if (via == 1) {
		if (fprintf(stderr, "%s t=%d tid=%d seq=%ld via=fprintf\n", kind, t, tid, seq) < 0)
			printf("FAIL fprintf t=%d seq=%ld\n", t, seq);
	} else {
		syslog(LOG_NOTICE, "%s t=%d tid=%d seq=%ld via=syslog", kind, t, tid, seq);
	}
}

struct life_thr {
	pthread_t id;
	int t;
	long lines;                     /* -1: until cancelled */
	_Atomic long done;              /* lines whose call has returned */
	pthread_barrier_t *start;
	const char *kind;
};

static void *
life_thread(void *arg)
{
	struct life_thr *th = arg;
	int tid = life_tid();

	pthread_barrier_wait(th->start);
	for (long seq = 0; th->lines < 0 || seq < th->lines; seq++) {
		life_thread_line(th->kind, th->t, tid, seq);
		/* Release: main reads the count after join or while polling. */
		atomic_store_explicit(&th->done, seq + 1, memory_order_release);
		if (th->lines < 0)
			pthread_testcancel();
	}
	if (th->t % 2 == 1)
		pthread_exit(NULL);
	return NULL;
}

/* Start n threads writing lines lines each (-1: forever) of kind, t from
 * t0, all released together by start (of n + more parties). */
static void
life_start(struct life_thr *th, int n, int t0, long lines, const char *kind,
    pthread_barrier_t *start)
{
	for (int i = 0; i < n; i++) {
		th[i] = (struct life_thr){ .t = t0 + i, .lines = lines, .start = start,
		    .kind = kind };
		if (pthread_create(&th[i].id, NULL, life_thread, &th[i]) != 0)
			exit(98);
	}
}

static int
life_threads(int n, long m)
{
	struct life_thr *th = calloc((size_t)n, sizeof(*th));
	pthread_barrier_t start;

	pthread_barrier_init(&start, NULL, (unsigned)n);
	life_start(th, n, 0, m, "thr", &start);
	for (int i = 0; i < n; i++)
		pthread_join(th[i].id, NULL);
	free(th);
	printf("life threads done\n");
	return 0;
}

/* Wait (bounded) until th has written at least min lines. */
static int
life_until(struct life_thr *th, long min)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* Acquire pairs with the thread's release of its count. */
	while (atomic_load_explicit(&th->done, memory_order_acquire) < min) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > 20)
			return -1;
		sched_yield();
	}
	return 0;
}

static int
life_cancel(int n, long m)
{
	struct life_thr *steady = calloc((size_t)n, sizeof(*steady));
	struct life_thr *victim = calloc((size_t)n, sizeof(*victim));
	pthread_barrier_t start;
	void *ret;

	pthread_barrier_init(&start, NULL, (unsigned)(2 * n));
	life_start(steady, n, 0, m, "steady", &start);
	life_start(victim, n, n, -1, "victim", &start);
	for (int i = 0; i < n; i++)
		if (life_until(&victim[i], 20) == -1)
			printf("FAIL victim %d wrote too little\n", n + i);
	for (int i = 0; i < n; i++)
		pthread_cancel(victim[i].id);
	for (int i = 0; i < n; i++) {
		if (pthread_join(victim[i].id, &ret) != 0 || ret != PTHREAD_CANCELED)
			printf("FAIL victim %d was not cancelled\n", n + i);
		/* Acquire pairs with the thread's release of its count. */
		printf("victim t=%d done=%ld\n", n + i,
		    atomic_load_explicit(&victim[i].done, memory_order_acquire));
	}
	for (int i = 0; i < n; i++)
		pthread_join(steady[i].id, NULL);
	free(victim);
	free(steady);
	printf("life cancel ok\n");
	return 0;
}

/* ---- signal handlers that write ---------------------------------------- */

static volatile sig_atomic_t life_sigs, life_sig_failed;

/* "sigwrite sig seq=N\n" without stdio, for the handler. */
static size_t
life_sig_line(char *buf, unsigned long n)
{
	static const char head[] = "sigwrite sig seq=";
	char digits[24];
	size_t len = sizeof(head) - 1, k = 0;

	memcpy(buf, head, len);
	do {
		digits[k++] = (char)('0' + n % 10);
		n /= 10;
	} while (n > 0);
	while (k > 0)
		buf[len++] = digits[--k];
	buf[len++] = '\n';
	return len;
}

static void
life_on_alarm(int sig)
{
	int saved = errno;
	char buf[64];
	size_t n = life_sig_line(buf, (unsigned long)life_sigs);

	(void)sig;
	errno = LIFE_ERRNO + 1;
	if (write(2, buf, n) != (ssize_t)n || errno != LIFE_ERRNO + 1)
		life_sig_failed = 1;
	life_sigs++;
	errno = saved;
}

static int
life_sigwrite(const char *via, long n, long usec)
{
	struct itimerval it = { { 0, usec }, { 0, usec } }, off = { { 0, 0 }, { 0, 0 } };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = life_on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	for (long s = 0; s < n; s++) {
		if (strcmp(via, "write") == 0) {
			life_write("sigwrite main seq=%ld", s);
		} else if (strcmp(via, "fprintf") == 0) {
			errno = LIFE_ERRNO;
			if (fprintf(stderr, "sigwrite main seq=%ld\n", s) < 0 || errno != LIFE_ERRNO)
				printf("FAIL fprintf seq=%ld: errno %d\n", s, errno);
		} else {
			errno = LIFE_ERRNO;
			syslog(LOG_NOTICE, "sigwrite main seq=%ld", s);
			if (errno != LIFE_ERRNO)
				printf("FAIL syslog seq=%ld: errno %d\n", s, errno);
		}
	}
	setitimer(ITIMER_REAL, &off, NULL);
	if (life_sig_failed)
		printf("FAIL a handler's write returned the wrong value or changed errno\n");
	printf("life sigwrite signals=%ld\n", (long)life_sigs);
	return 0;
}

/* ---- ends ---------------------------------------------------------------- */

/* Deeper until the stack runs out. */
static unsigned __attribute__((noinline))
life_deep(unsigned n)
{
	volatile char pad[4096];

	pad[n % sizeof(pad)] = (char)n;
	if (n == UINT_MAX)
		return 0;
	return life_deep(n + 1) + (unsigned)pad[(n * 7) % sizeof(pad)];
}

/* A SIGSYS from seccomp: getppid is made to trap on this thread. */
static void
life_sigsys(void)
{
#if defined(__x86_64__)
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { (unsigned short)(sizeof(f) / sizeof(f[0])), f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == -1)
		return;
	syscall(SYS_getppid);
#endif
	raise(SIGSYS);
}

/* A SIGBUS from a real access: a page of an empty file. */
static void
life_sigbus(void)
{
	int fd = memfd_create("life", 0);
	volatile char *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		return;
	(void)p[0];
}

static void
life_on_abrt(int sig)
{
	(void)sig;
}

/* A thread that writes its line and faults; main waits for it. */
static void *
life_faulter(void *arg)
{
	(void)arg;
	life_write("end thread-segv tid=%d", life_tid());
	life_fault();
	return NULL;
}

static pthread_barrier_t life_bar;

/* One of several threads that write their line and fault together. */
static void *
life_faulters(void *arg)
{
	int t = (int)(intptr_t)arg;

	life_write("end threads-segv t=%d tid=%d", t, life_tid());
	pthread_barrier_wait(&life_bar);
	life_fault();
	return NULL;
}

/* Spin on the CPU until a signal ends the process. An atomic, not a
 * plain loop: ThreadSanitizer delivers a handled signal only at such a
 * point (or a call), and would let the loop spin for ever. */
static void
life_spin(void)
{
	static _Atomic unsigned long spins;

	for (;;)
		atomic_fetch_add_explicit(&spins, 1, memory_order_relaxed);
}

/* Arm an interval timer of 1 ms (which: ITIMER_*) and wait for it. */
static void
life_timer(int which)
{
	struct itimerval it = { .it_value = { .tv_usec = 1000 } };

	if (setitimer(which, &it, NULL) == -1)
		return;
	if (which == ITIMER_REAL)
		for (;;)
			pause();
	life_spin();
}

/* Lower the soft limit res to cur. */
static void
life_limit(int res, rlim_t cur)
{
	struct rlimit rl;

	if (getrlimit(res, &rl) == 0) {
		rl.rlim_cur = cur;
		setrlimit(res, &rl);
	}
}

/* SIGXFSZ: a write past RLIMIT_FSIZE. */
static void
life_xfsz(void)
{
	char path[] = "/tmp/life-xfsz-XXXXXX";
	int fd = mkstemp(path);

	if (fd == -1)
		return;
	unlink(path);
	life_limit(RLIMIT_FSIZE, 1);
	write(fd, "a", 1);      /* up to the limit */
	write(fd, "b", 1);      /* past it */
	life_spin();    /* where ThreadSanitizer delivers it */
}

/* SIGPIPE: a write to a pipe nobody reads. */
static void
life_pipe(void)
{
	int p[2];

	if (pipe(p) == -1)
		return;
	close(p[0]);
	write(p[1], "x", 1);
	life_spin();    /* where ThreadSanitizer delivers it */
}

/* A thread-directed signal to the calling thread from pthread_kill. */
static void
life_pthread_kill(int sig)
{
	pthread_kill(pthread_self(), sig);
}

/* A signal sent to a blocked thread, which then unblocks it. */
static void
life_blocked(int sig)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_BLOCK, &set, NULL);
	kill(getpid(), sig);
	life_write("end blocked:%d pending", sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

/*
 * The ends by a signal that is not a fault: HOW is WAY:SIG with SIG a
 * number (R+N for SIGRTMIN+N) and WAY raise, kill, tgkill, tkill,
 * pthread_kill, sigqueue, killpg (in a process group of its own) or
 * blocked; or one of pipe, alarm, vtalrm, prof, xfsz, xcpu, where the
 * kernel sends the signal. Returns -1 when HOW is none of those.
 */
static int
life_end_signal(const char *how)
{
	const char *colon = strchr(how, ':');
	size_t way = colon != NULL ? (size_t)(colon - how) : strlen(how);
	int sig = 0;

	if (colon != NULL)
		sig = colon[1] == 'R' ? SIGRTMIN + (int)life_num(colon + 2) :
		    (int)life_num(colon + 1);
#define LIFE_WAY(w) (way == sizeof(w) - 1 && strncmp(how, w, way) == 0)
	if (LIFE_WAY("raise"))
		raise(sig);
	else if (LIFE_WAY("kill"))
		kill(getpid(), sig);
	else if (LIFE_WAY("tgkill"))
		syscall(SYS_tgkill, getpid(), life_tid(), sig);
	else if (LIFE_WAY("tkill"))
		syscall(SYS_tkill, life_tid(), sig);
	else if (LIFE_WAY("pthread_kill"))
		life_pthread_kill(sig);
	else if (LIFE_WAY("sigqueue"))
		sigqueue(getpid(), sig, (union sigval){ .sival_int = 7 });
	else if (LIFE_WAY("killpg"))
		(void)(setpgid(0, 0) == 0 && killpg(0, sig) == 0);
	else if (LIFE_WAY("blocked"))
		life_blocked(sig);
	else if (LIFE_WAY("pipe"))
		life_pipe();
	else if (LIFE_WAY("alarm"))
		life_timer(ITIMER_REAL);
	else if (LIFE_WAY("vtalrm"))
		life_timer(ITIMER_VIRTUAL);
	else if (LIFE_WAY("prof"))
		life_timer(ITIMER_PROF);
	else if (LIFE_WAY("xfsz"))
		life_xfsz();
	else if (LIFE_WAY("xcpu"))
		(life_limit(RLIMIT_CPU, 1), life_spin());
	else
		return -1;
#undef LIFE_WAY
	return 0;
}

static int
life_end(const char *how)
{
	static volatile int zero, one = 1;
	void *volatile p;

	fflush(stdout);
	life_write("end %s stderr", how);
	syslog(LOG_CRIT, "end %s syslog", how);
	life_write("end %s last", how);  /* not severe: nothing waits for it */
	if (strcmp(how, "exit") == 0) {
		exit(3);
	} else if (strcmp(how, "_exit") == 0) {
		_exit(4);
	} else if (strcmp(how, "_Exit") == 0) {
		_Exit(5);
	} else if (strcmp(how, "abort") == 0) {
		abort();
	} else if (strcmp(how, "abortown") == 0 || strcmp(how, "abortign") == 0) {
		signal(SIGABRT, how[5] == 'o' ? life_on_abrt : SIG_IGN);
		abort();
	} else if (strcmp(how, "thread-segv") == 0) {
		pthread_t t;

		if (pthread_create(&t, NULL, life_faulter, NULL) != 0)
			return 98;
		pthread_join(t, NULL);
	} else if (strcmp(how, "threads-segv") == 0) {
		pthread_t t[4];

		pthread_barrier_init(&life_bar, NULL, 4);
		for (int i = 0; i < 4; i++)
			if (pthread_create(&t[i], NULL, life_faulters, (void *)(intptr_t)i) != 0)
				return 98;
		for (int i = 0; i < 4; i++)
			pthread_join(t[i], NULL);
	} else if (strcmp(how, "segv") == 0) {
		life_fault();
	} else if (strcmp(how, "bus") == 0) {
		life_sigbus();
	} else if (strcmp(how, "ill") == 0) {
		__builtin_trap();
	} else if (strcmp(how, "fpe") == 0) {
		zero = one / zero;     /* 1 / x compiles to no division */
	} else if (strcmp(how, "trap") == 0) {
#if defined(__x86_64__) || defined(__i386__)
		__asm__ volatile("int3");
#else
		raise(SIGTRAP);
#endif
	} else if (strcmp(how, "sys") == 0) {
		life_sigsys();
	} else if (strcmp(how, "doublefree") == 0) {
		p = malloc(24);
		free(p);
		free(p);
	} else if (strcmp(how, "stack") == 0 || strcmp(how, "stackalt") == 0) {
		if (how[5] == 'a') {
			stack_t ss = { .ss_sp = malloc(65536), .ss_size = 65536 };

			if (ss.ss_sp == NULL || sigaltstack(&ss, NULL) == -1)
				return 98;
		}
		return (int)life_deep(0);
	} else if (life_end_signal(how) != 0) {
		return 2;
	}
	printf("FAIL still alive after %s\n", how);
	return 1;
}

static int
life_core(const char *dir, const char *limit, char **cmd)
{
	struct rlimit rl;
	pid_t pid;
	int st;

	fflush(stdout);
	if ((pid = fork()) == -1)
		return 98;
	if (pid == 0) {
		if (chdir(dir) == -1 || getrlimit(RLIMIT_CORE, &rl) == -1)
			_exit(97);
		rl.rlim_cur = strcmp(limit, "max") == 0 ? rl.rlim_max :
		    (rlim_t)life_num(limit) < rl.rlim_max ? (rlim_t)life_num(limit) : rl.rlim_max;
		if (setrlimit(RLIMIT_CORE, &rl) == -1)
			_exit(97);
		cmd[-1] = (char *)life_self;    /* LIMIT's slot: "life CMD..." */
		execv(life_self, cmd - 1);
		_exit(127);
	}
	st = life_wait(pid);
	printf("life status pid=%d exited=%d code=%d signaled=%d sig=%d core=%d\n", (int)pid,
	    WIFEXITED(st) != 0, WIFEXITED(st) ? WEXITSTATUS(st) : 0, WIFSIGNALED(st) != 0,
	    WIFSIGNALED(st) ? WTERMSIG(st) : 0, WIFSIGNALED(st) && WCOREDUMP(st));
	return 0;
}

/* ---- dispositions -------------------------------------------------------- */

static sigjmp_buf life_jmp;

static void
life_on_segv(int sig, siginfo_t *si, void *ctx)
{
	char buf[64];
	int n;

	(void)sig;
	(void)ctx;
	/* snprintf of an int is safe here: the fault is in main's code. */
	n = snprintf(buf, sizeof(buf), "own handler si_code=%d\n", si->si_code);
	write(2, buf, (size_t)n);
	siglongjmp(life_jmp, 1);
}

static void
life_on_sig(int sig)
{
	(void)sig;
}

/* A handler as the program knows it. */
static const char *
life_handler_name(__sighandler_t h)
{
	if (h == SIG_DFL)
		return "DFL";
	if (h == SIG_IGN)
		return "IGN";
	if (h == SIG_HOLD)
		return "HOLD";
	if (h == SIG_ERR)
		return "ERR";
	if (h == life_on_sig || h == (__sighandler_t)(void (*)(void))life_on_segv)
		return "mine";
	return "other";
}

/* Print an action as sigaction gave it. */
static void
life_show(const char *what, int sig, int r, const struct sigaction *sa)
{
	if (r != 0) {
		printf("sig=%d %s -> r=%d errno=%d\n", sig, what, r, errno);
		return;
	}
	printf("sig=%d %s -> %s flags=%#x mask=%#lx restorer=%d\n", sig, what,
	    life_handler_name(sa->sa_handler), (unsigned)sa->sa_flags,
	    ((const unsigned long *)&sa->sa_mask)[0], sa->sa_restorer != NULL);
}

/* sigaction(sig, NULL, &sa), printed; errno must stay. */
static void
life_query(const char *what, int sig)
{
	struct sigaction sa;
	int r;

	memset(&sa, 0, sizeof(sa));
	errno = LIFE_ERRNO;
	r = sigaction(sig, NULL, &sa);
	if (r == 0 && errno != LIFE_ERRNO)
		printf("FAIL sigaction query changed errno to %d\n", errno);
	life_show(what, sig, r, &sa);
}

/* A signal-style call's old handler, printed; errno must stay. */
static void
life_old(const char *what, int sig, __sighandler_t old)
{
	if (old != SIG_ERR && errno != LIFE_ERRNO)
		printf("FAIL %s changed errno to %d\n", what, errno);
	printf("sig=%d %s -> %s\n", sig, what, life_handler_name(old));
}

/* Every way to set sig's disposition, back and forth. */
static void
life_dispose(int sig)
{
	struct sigaction sa, old;
	int r;

	life_query("start", sig);
	errno = LIFE_ERRNO;
	life_old("signal IGN", sig, signal(sig, SIG_IGN));
	life_query("after IGN", sig);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sa.sa_flags = SA_RESTART | SA_NODEFER;
	sigaddset(&sa.sa_mask, SIGUSR2);
	memset(&old, 0, sizeof(old));
	errno = LIFE_ERRNO;
	r = sigaction(sig, &sa, &old);
	life_show("sigaction DFL", sig, r, &old);
	life_query("after DFL", sig);
	errno = LIFE_ERRNO;
	life_old("sysv_signal mine", sig, sysv_signal(sig, life_on_sig));
	errno = LIFE_ERRNO;
	life_old("bsd_signal DFL", sig, bsd_signal(sig, SIG_DFL));
	life_query("after bsd DFL", sig);
	errno = LIFE_ERRNO;
	life_old("sigset HOLD", sig, sigset(sig, SIG_HOLD));
	errno = LIFE_ERRNO;
	life_old("sigset HOLD again", sig, sigset(sig, SIG_HOLD));
	errno = LIFE_ERRNO;
	life_old("sigset DFL", sig, sigset(sig, SIG_DFL));
	life_query("after sigset DFL", sig);
	errno = LIFE_ERRNO;
	printf("sig=%d siginterrupt 1 -> %d\n", sig, siginterrupt(sig, 1));
	life_query("after siginterrupt 1", sig);
	errno = LIFE_ERRNO;
	life_old("signal DFL after siginterrupt", sig, signal(sig, SIG_DFL));
	life_query("after signal DFL", sig);
	errno = LIFE_ERRNO;
	printf("sig=%d siginterrupt 0 -> %d\n", sig, siginterrupt(sig, 0));
	life_query("after siginterrupt 0", sig);
	sa.sa_handler = life_on_sig;
	sa.sa_flags = SA_ONSTACK;
	errno = LIFE_ERRNO;
	r = sigaction(sig, &sa, &old);
	life_show("sigaction mine", sig, r, &old);
	errno = LIFE_ERRNO;
	life_old("ssignal DFL", sig, ssignal(sig, SIG_DFL));
	errno = LIFE_ERRNO;
	life_old("__sysv_signal IGN", sig, __sysv_signal(sig, SIG_IGN));
	errno = LIFE_ERRNO;
	life_old("signal DFL", sig, signal(sig, SIG_DFL));
	life_query("end", sig);
}

static int
life_dispositions(void)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP,
	    SIGSYS, SIGUSR1, SIGINT, SIGTERM, SIGPIPE, SIGHUP, SIGCHLD, SIGURG };
	sigset_t none;

	life_write("dispositions start");       /* the shim arms them all now */
	life_dispose(SIGRTMIN + 3);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		life_dispose(sigs[i]);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);  /* sigset HOLD blocked them */
	errno = LIFE_ERRNO;
	printf("signal 0 -> %s errno=%d\n", life_handler_name(signal(0, SIG_DFL)), errno);
	errno = LIFE_ERRNO;
	printf("sigaction 65 -> %d errno=%d\n", sigaction(65, NULL, NULL), errno);
	return 0;
}

static int
life_own(void)
{
	struct sigaction sa, old;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = life_on_segv;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaddset(&sa.sa_mask, SIGUSR1);
	memset(&old, 0, sizeof(old));
	life_show("own install", SIGSEGV, sigaction(SIGSEGV, &sa, &old), &old);
	life_query("own installed", SIGSEGV);
	life_write("own before fault");
	if (sigsetjmp(life_jmp, 1) == 0) {
		life_fault();
		printf("FAIL no fault\n");
	}
	life_write("own after fault");
	life_query("own after fault", SIGSEGV);
	errno = LIFE_ERRNO;
	life_old("own signal DFL", SIGSEGV, signal(SIGSEGV, SIG_DFL));
	life_query("own end", SIGSEGV);
	return 0;
}

static int
life_ignored(void)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS,
	    SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT };
	char line[256];
	FILE *f;

	life_write("ignored start");    /* the shim arms them all now */
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		life_query("at start", sigs[i]);
	if ((f = fopen("/proc/self/status", "r")) == NULL)
		return 98;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "SigIgn:", 7) == 0)
			fputs(line, stdout);
	fclose(f);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction sa;

		if (sigaction(sigs[i], NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
			raise(sigs[i]);
	}
	printf("survived\n");
	return 0;
}

/* Print what the process holds: threads, mplog mappings, caught signals. */
static void
life_holds(const char *what)
{
	char line[512], threads[32] = "?", cgt[32] = "?";
	int shm = 0;
	FILE *f;

	if ((f = fopen("/proc/self/status", "r")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			sscanf(line, "Threads: %31s", threads);
			sscanf(line, "SigCgt: %31s", cgt);
		}
		fclose(f);
	}
	if ((f = fopen("/proc/self/maps", "r")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL)
			shm += strstr(line, "/dev/shm/mplog") != NULL ||
			    strstr(line, "/memfd:mplog-") != NULL;
		fclose(f);
	}
	printf("%s threads=%s shm=%d sigcgt=%s\n", what, threads, shm, cgt);
	fflush(stdout);
}

/* What a process holds before and after its first line. */
static int
life_quiet(void)
{
	life_holds("quiet");
	life_write("quiet line");
	life_holds("logged");
	return 0;
}

/* Lines for ever, with a count others can read of those written. */
static int
life_burst(const char *file)
{
	int fd = open(file, O_RDWR);
	_Atomic int64_t *shared;

	if (fd == -1)
		return 98;
	shared = mmap(NULL, 16, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (shared == MAP_FAILED)
		return 98;
	atomic_store_explicit(&shared[0], getpid(), memory_order_release);
	for (int64_t seq = 0;; seq++) {
		life_write("burst seq=%lld", (long long)seq);
		/* Pairs with the test's acquire: the write has returned. */
		atomic_store_explicit(&shared[1], seq + 1, memory_order_release);
	}
}

int
main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	life_self = argv[0];
	printf("life pid=%d tid=%d cmd=%s\n", (int)getpid(), life_tid(), cmd);
	fflush(stdout);
	if ((strcmp(cmd, "fork") == 0 || strcmp(cmd, "_Fork") == 0) && argc == 3)
		return life_fork(life_num(argv[2]), cmd[0] == 'f');
	if (strcmp(cmd, "spawn") == 0 && argc == 5)
		return life_spawn(argv[2], argv[3], argv[4]);
	if (strcmp(cmd, "chain") == 0 && argc == 5)
		return life_chain(life_num(argv[2]), argv[3], argv[4]);
	if (strcmp(cmd, "daemon3") == 0 && argc == 4)
		return life_daemon3((int)life_num(argv[2]), life_num(argv[3]));
	if (strcmp(cmd, "daemon2") == 0 && argc == 5)
		return life_daemon2(argv[2], argv[3], life_num(argv[4]));
	if (strcmp(cmd, "threads") == 0 && argc == 4)
		return life_threads((int)life_num(argv[2]), life_num(argv[3]));
	if (strcmp(cmd, "cancel") == 0 && argc == 4)
		return life_cancel((int)life_num(argv[2]), life_num(argv[3]));
	if (strcmp(cmd, "sigwrite") == 0 && argc == 5)
		return life_sigwrite(argv[2], life_num(argv[3]), life_num(argv[4]));
	if (strcmp(cmd, "end") == 0 && argc == 3)
		return life_end(argv[2]);
	if (strcmp(cmd, "core") == 0 && argc >= 5)
		return life_core(argv[2], argv[3], argv + 4);
	if (strcmp(cmd, "own") == 0)
		return life_own();
	if (strcmp(cmd, "dispositions") == 0)
		return life_dispositions();
	if (strcmp(cmd, "ignored") == 0)
		return life_ignored();
	if (strcmp(cmd, "quiet") == 0)
		return life_quiet();
	if (strcmp(cmd, "burst") == 0 && argc == 3)
		return life_burst(argv[2]);
	return 2;
}
