/*
 * sigmix - write(2) from a signal handler that interrupts write(2).
 *
 *   sigmix [-n LINES] [-u USEC]
 *
 * The main thread writes "sigmix main seq=S\n" for S = 0 .. LINES-1, one
 * write(2) each, while an interval timer (ITIMER_REAL, every USEC
 * microseconds, default 50) raises SIGALRM, whose handler writes
 * "sigmix sig seq=K\n" for K = 0, 1, ... - so handlers run in the middle
 * of the shim's hook. Every write checks its return value and that errno
 * is kept; the handler keeps errno too.
 *
 * To stdout, at the end: "sigmix pid=PID signals=K\n" (K handler lines
 * were written), and a line starting "FAIL" for each broken call (then
 * the exit status is 1, else 0).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#define SIGMIX_ERRNO 5555

static volatile sig_atomic_t sigmix_count, sigmix_failed;

/* Format "sigmix WHO seq=N\n" into buf without stdio (signal-safe). */
static size_t
sigmix_line(char *buf, const char *who, unsigned long n)
{
	char digits[24];
	size_t len = 0, k = 0;

	memcpy(buf, "sigmix ", 7);
	len = 7;
	memcpy(buf + len, who, strlen(who));
	len += strlen(who);
	memcpy(buf + len, " seq=", 5);
	len += 5;
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
sigmix_on_alarm(int sig)
{
	int saved = errno;
	char buf[64];
	size_t n = sigmix_line(buf, "sig", (unsigned long)sigmix_count);

	(void)sig;
	errno = SIGMIX_ERRNO + 1;
	if (write(2, buf, n) != (ssize_t)n || errno != SIGMIX_ERRNO + 1)
		sigmix_failed = 1;
	sigmix_count++;
	errno = saved;
}

int
main(int argc, char **argv)
{
	struct itimerval it = { { 0, 50 }, { 0, 50 } }, off = { { 0, 0 }, { 0, 0 } };
	struct sigaction sa;
	long lines = 10000;
	int c, failed = 0;
	char buf[64];

	while ((c = getopt(argc, argv, "n:u:")) != -1) {
		if (c == 'n')
			lines = atol(optarg);
		else if (c == 'u')
			it.it_interval.tv_usec = it.it_value.tv_usec = atol(optarg);
		else
			return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sigmix_on_alarm;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	for (long seq = 0; seq < lines; seq++) {
		size_t n = sigmix_line(buf, "main", (unsigned long)seq);
		ssize_t w;

		errno = SIGMIX_ERRNO;
		w = write(2, buf, n);
		if (w != (ssize_t)n || errno != SIGMIX_ERRNO) {
			printf("FAIL main seq=%ld: write returned %zd, errno %d\n", seq, w, errno);
			failed = 1;
		}
	}
	setitimer(ITIMER_REAL, &off, NULL);
	if (sigmix_failed) {
		printf("FAIL a handler's write returned the wrong value or changed errno\n");
		failed = 1;
	}
	printf("sigmix pid=%d signals=%ld\n", (int)getpid(), (long)sigmix_count);
	return failed;
}
