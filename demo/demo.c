/*
 * demo - a small bakery that logs the way old programs do: plain write(2)
 * to stderr and syslog(3), from several processes and threads at once.
 *
 * The main process opens the shop and forks three workers; each worker
 * runs two threads, a counter (takes orders, mostly on stderr) and an
 * oven (bakes them, mostly through syslog with ident "demo-worker" and
 * severities from debug to err). Short pauses between lines let the
 * processes interleave. Run it under mplog-run to see one ordered log:
 *
 *   scripts/mplog-run -- build/hosts/demo
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEMO_WORKERS 3

static const char *const demo_goods[DEMO_WORKERS] = {
	"croissants", "sourdough loaves", "cinnamon rolls",
};

/* One line to stderr with a single write(2), as unbuffered C code does. */
static void __attribute__((format(printf, 1, 2)))
demo_say(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(2, buf, (size_t)n) != n)
		return;         /* nowhere to report it */
}

/* Pause for ms milliseconds. */
static void
demo_pause(int ms)
{
	struct timespec ts = { 0, (long)ms * 1000000L };

	nanosleep(&ts, NULL);
}

static void *
demo_counter(void *arg)
{
	int w = *(int *)arg, order = 100 * (w + 1);

	demo_say("worker %d counter: opening the till", w + 1);
	demo_pause(7 + 3 * w);
	demo_say("worker %d counter: order #%d, a dozen %s", w + 1, order, demo_goods[w]);
	syslog(LOG_INFO, "worker %d: order #%d accepted", w + 1, order);
	demo_pause(12);
	demo_say("worker %d counter: order #%d paid, thank you!", w + 1, order);
	return NULL;
}

static void *
demo_oven(void *arg)
{
	int w = *(int *)arg;

	syslog(LOG_DEBUG, "worker %d oven: thermostat reads 21C", w + 1);
	demo_pause(5 + 4 * w);
	syslog(LOG_NOTICE, "worker %d oven: preheated to 200C", w + 1);
	demo_pause(9);
	if (w == 1)
		syslog(LOG_WARNING, "worker %d oven: flour is running low", w + 1);
	if (w == 2)
		syslog(LOG_ERR, "worker %d oven: first batch burnt, baking it again", w + 1);
	demo_say("worker %d oven: %s are out of the oven", w + 1, demo_goods[w]);
	return NULL;
}

/* A worker process: a counter thread and an oven thread. */
static void
demo_worker(int w)
{
	pthread_t counter, oven;

	openlog("demo-worker", 0, LOG_USER);
	if (pthread_create(&counter, NULL, demo_counter, &w) != 0 ||
	    pthread_create(&oven, NULL, demo_oven, &w) != 0) {
		demo_say("worker %d: cannot start its threads", w + 1);
		exit(1);
	}
	pthread_join(counter, NULL);
	pthread_join(oven, NULL);
	exit(0);        /* exit, not _exit: lines still in flight are delivered */
}

int
main(void)
{
	int status, failed = 0;

	openlog("demo", 0, LOG_USER);
	demo_say("demo: the bakery opens with %d workers", DEMO_WORKERS);
	for (int w = 0; w < DEMO_WORKERS; w++) {
		pid_t pid = fork();

		if (pid == -1) {
			demo_say("demo: cannot fork: out of bakers");
			return 1;
		}
		if (pid == 0)
			demo_worker(w);
	}
	while (wait(&status) != -1)
		failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	syslog(LOG_INFO, "the bakery closes; every order was served");
	demo_say("demo: done");
	return failed;
}
