/*
 * load - a logging load for the throughput benchmark, from a program that
 * knows nothing of mplog.
 *
 *   load -r RUN [-p PROCS] [-t THREADS] [-n LINES] [-m write|syslog] [-s SIZE]
 *
 * The main process forks PROCS children (default 1); each runs THREADS
 * threads (default 1), and each thread writes LINES lines (default 1000)
 * back to back, each SIZE bytes with its newline (default 64, at least
 * 48):
 *
 *   load r=RUN p=P t=T s=SEQ xxxx...
 *
 * with write(2, ...) (one call per line) or syslog(LOG_INFO, "%s", line)
 * without the newline. RUN is a word that tells this run's lines from any
 * other's, so that the driver counts exactly this run's lines.
 *
 * Exits 0 once every child exited 0; 1 when a write fell short or a child
 * failed (reported on stdout); 2 on bad usage.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "opt.h"

struct load_opts {
	const char *run;
	int procs, threads, lines, syslog, size;
};

struct load_thread {
	const struct load_opts *o;
	int p, t, failed;
	pthread_t th;
};

/* A thread: its lines, back to back. */
static void *
load_thread_run(void *arg)
{
	struct load_thread *th = arg;
	const struct load_opts *o = th->o;
	char *buf = malloc((size_t)o->size);

	if (buf == NULL) {
		th->failed = 1;
		return NULL;
	}
	for (int i = 0; i < o->lines; i++) {
		int n = snprintf(buf, (size_t)o->size, "load r=%s p=%d t=%d s=%d ",
		    o->run, th->p, th->t, i);

		if (n > o->size - 1)
			n = o->size - 1;
		memset(buf + n, 'x', (size_t)(o->size - 1 - n));
		if (o->syslog) {
			buf[o->size - 1] = '\0';
			syslog(LOG_INFO, "%s", buf);
		} else {
			buf[o->size - 1] = '\n';
			if (write(2, buf, (size_t)o->size) != o->size)
				th->failed = 1;
		}
	}
	free(buf);
	return NULL;
}

/* A child: its threads; exits 0 when every line was written whole. */
static void
load_child(const struct load_opts *o, int p)
{
	struct load_thread *ths = calloc((size_t)o->threads, sizeof(*ths));
	int failed = 0;

	if (ths == NULL)
		_exit(1);
	for (int t = 0; t < o->threads; t++) {
		ths[t] = (struct load_thread){ o, p, t, 0, 0 };
		if (pthread_create(&ths[t].th, NULL, load_thread_run, &ths[t]) != 0) {
			printf("FAIL p=%d: pthread_create\n", p);
			exit(1);
		}
	}
	for (int t = 0; t < o->threads; t++) {
		pthread_join(ths[t].th, NULL);
		if (ths[t].failed) {
			printf("FAIL p=%d t=%d: a write fell short\n", p, t);
			failed = 1;
		}
	}
	exit(failed);
}

static const char load_usage[] = "load -r RUN [-p PROCS] [-t THREADS] [-n LINES] "
    "[-m write|syslog] [-s SIZE]";

int
main(int argc, char **argv)
{
	struct load_opts o = { NULL, 1, 1, 1000, 0, 64 };
	int c, status, failed = 0;

	while ((c = getopt(argc, argv, "r:p:t:n:m:s:")) != -1) {
		switch (c) {
		case 'r': o.run = optarg; break;
		case 'p': o.procs = opt_num(optarg, 1, load_usage); break;
		case 't': o.threads = opt_num(optarg, 1, load_usage); break;
		case 'n': o.lines = opt_num(optarg, 1, load_usage); break;
		case 'm':
			if (strcmp(optarg, "syslog") == 0)
				o.syslog = 1;
			else if (strcmp(optarg, "write") != 0)
				opt_usage(load_usage);
			break;
		case 's': o.size = opt_num(optarg, 48, load_usage); break;
		default: opt_usage(load_usage);
		}
	}
	if (o.run == NULL || strlen(o.run) > 16)
		opt_usage(load_usage);
	fflush(stdout);
	for (int p = 0; p < o.procs; p++) {
		pid_t pid = fork();

		if (pid == -1) {
			perror("load: fork");
			return 1;
		}
		if (pid == 0)
			load_child(&o, p);
	}
	while (wait(&status) != -1)
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed = 1;
	if (failed)
		printf("FAIL: a child failed\n");
	return failed;
}
