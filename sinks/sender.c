/* sender.c - a thread that sends queued messages over a blocking connection. */
#include "sender.h"

#include <err.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "forward.h"
#include "seg.h"

struct sender_msg {
	struct sender_msg *next;
	size_t len;
	char data[];
};

/*
 * The queue, stop and deadline are shared by the main thread (puts,
 * stop) and the sender thread, under lock; the rest is the thread's.
 */
struct sender {
	char *url;
	const struct sender_ops *ops;
	void *ctx;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct sender_msg *head, *tail;
	size_t bytes, count;
	int stop;               /* stop asked */
	int64_t deadline;       /* CLOCK_MONOTONIC: then stop sending */
	int up, down_told;
	int64_t retry_delay;
	char err[256];          /* the transport's last reason */
};

/* The front message, waiting for one; NULL once stopped and done. */
static struct sender_msg *
sender_front(struct sender *s)
{
	struct sender_msg *m;

	pthread_mutex_lock(&s->lock);
	while (s->head == NULL && !s->stop)
		pthread_cond_wait(&s->cond, &s->lock);
	m = s->head;
	if (s->stop && seg_now_mono() >= s->deadline)
		m = NULL;
	pthread_mutex_unlock(&s->lock);
	return m;
}

/* Drop the front message: it was handed over. */
static void
sender_pop(struct sender *s)
{
	struct sender_msg *m;

	pthread_mutex_lock(&s->lock);
	m = s->head;
	s->head = m->next;
	if (s->head == NULL)
		s->tail = NULL;
	s->bytes -= m->len;
	s->count--;
	pthread_mutex_unlock(&s->lock);
	free(m);
}

/* Wait the retry delay (less when stop is asked), and double it. */
static void
sender_wait(struct sender *s)
{
	struct timespec until;
	int64_t ns;

	clock_gettime(CLOCK_REALTIME, &until);
	ns = until.tv_nsec + s->retry_delay % 1000000000;
	until.tv_sec += s->retry_delay / 1000000000 + ns / 1000000000;
	until.tv_nsec = ns % 1000000000;
	pthread_mutex_lock(&s->lock);
	if (!s->stop)
		pthread_cond_timedwait(&s->cond, &s->lock, &until);
	pthread_mutex_unlock(&s->lock);
	s->retry_delay = s->retry_delay * 2 < SENDER_RETRY_MAX_NS ? s->retry_delay * 2 :
	    SENDER_RETRY_MAX_NS;
}

/* The connection broke, or could not be made: say so once. */
static void
sender_down(struct sender *s, const char *what)
{
	s->up = 0;
	if (!s->down_told)
		warnx("%s: %s%s%s; queueing records", s->url, what, s->err[0] ? ": " : "", s->err);
	s->down_told = 1;
}

/* Connect when not up: 0 once up. */
static int
sender_connect(struct sender *s)
{
	if (s->up)
		return 0;
	s->err[0] = '\0';
	if (s->ops->connect(s->ctx, s->err, sizeof(s->err)) == -1) {
		sender_down(s, "cannot connect");
		sender_wait(s);
		return -1;
	}
	if (s->down_told)
		warnx("%s: sending again", s->url);
	s->up = 1;
	s->down_told = 0;
	s->retry_delay = SENDER_RETRY_MIN_NS;
	return 0;
}

static void *
sender_main(void *arg)
{
	struct sender *s = arg;
	struct sender_msg *m;

	while ((m = sender_front(s)) != NULL) {
		if (sender_connect(s) == -1)
			continue;
		s->err[0] = '\0';
		if (s->ops->send(s->ctx, m->data, m->len, s->err, sizeof(s->err)) == 0)
			sender_pop(s);
		else
			sender_down(s, "connection lost");
	}
	return NULL;
}

/* Free the queue and s. */
static void
sender_free(struct sender *s)
{
	for (struct sender_msg *m = s->head, *next; m != NULL; m = next) {
		next = m->next;
		free(m);
	}
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s->url);
	free(s);
}

struct sender *
sender_start(const char *url, const struct sender_ops *ops, void *ctx, char *why, size_t len)
{
	struct sender *s = calloc(1, sizeof(*s));

	if (s == NULL || (s->url = strdup(url)) == NULL) {
		snprintf(why, len, "%s: out of memory", url);
		free(s);
		ops->close(ctx);
		return NULL;
	}
	s->ops = ops;
	s->ctx = ctx;
	s->retry_delay = SENDER_RETRY_MIN_NS;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	if ((errno = pthread_create(&s->thread, NULL, sender_main, s)) != 0) {
		snprintf(why, len, "%s: cannot start its thread: %s", url, strerror(errno));
		ops->close(ctx);
		sender_free(s);
		return NULL;
	}
	return s;
}

int
sender_put(struct sender *s, const char *p, size_t n)
{
	struct sender_msg *m = malloc(sizeof(*m) + n);
	int rc = -1;

	if (m == NULL)
		return -1;
	m->next = NULL;
	m->len = n;
	memcpy(m->data, p, n);
	pthread_mutex_lock(&s->lock);
	if (s->bytes + n <= FORWARD_QUEUE_MAX) {
		if (s->tail != NULL)
			s->tail->next = m;
		else
			s->head = m;
		s->tail = m;
		s->bytes += n;
		s->count++;
		pthread_cond_signal(&s->cond);
		m = NULL;
		rc = 0;
	}
	pthread_mutex_unlock(&s->lock);
	free(m);
	return rc;
}

size_t
sender_queued(struct sender *s)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = s->count;
	pthread_mutex_unlock(&s->lock);
	return n;
}

uint64_t
sender_stop(struct sender *s, int64_t timeout_ns)
{
	uint64_t left;

	pthread_mutex_lock(&s->lock);
	s->stop = 1;
	s->deadline = seg_now_mono() + timeout_ns;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	s->ops->close(s->ctx);
	left = s->count;
	sender_free(s);
	return left;
}
