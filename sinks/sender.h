/*
 * sender.h - a thread that sends queued messages over a connection that
 * may block: RELP (relp.h) and syslog over TLS (tlsout.h).
 *
 * mplogd's main thread only queues (sender_put), never waits. The thread
 * takes the front message, connects when it must (again after a failure,
 * with a delay that doubles from SENDER_RETRY_MIN_NS to
 * SENDER_RETRY_MAX_NS), and hands the message to the transport; only
 * once that succeeded is the message dropped from the queue, so a
 * message whose hand-over failed is sent again after the next connect.
 * The queue holds at most FORWARD_QUEUE_MAX bytes; a message that does
 * not fit is refused, and the caller counts it. An outage is reported on
 * stderr once, and its end. At stop, what is queued is sent for at most
 * the time given, then the transport is closed.
 *
 * The transport's functions run on the thread only (close after it
 * ended), with their own state in ctx.
 */
#ifndef MPLOG_SENDER_H
#define MPLOG_SENDER_H

#include <stddef.h>
#include <stdint.h>

#define SENDER_RETRY_MIN_NS (100 * 1000000LL)
#define SENDER_RETRY_MAX_NS (5000 * 1000000LL)

struct sender_ops {
	/* Connect (again); 0 once up, else -1 with a reason in err. */
	int (*connect)(void *ctx, char *err, size_t len);
	/* Hand one message over; 0, else -1 with a reason in err: the
	 * connection is then taken as broken. */
	int (*send)(void *ctx, const char *p, size_t n, char *err, size_t len);
	/* Close and free ctx. */
	void (*close)(void *ctx);
};

struct sender;

/* Start the thread for url over ops and ctx (which it owns from now on,
 * closing it even when this fails). NULL with why. */
struct sender *sender_start(const char *url, const struct sender_ops *ops, void *ctx,
    char *why, size_t len);

/* Queue a copy of the n-byte message. 0, or -1 when the queue is full. */
int sender_put(struct sender *s, const char *p, size_t n);

/* Messages queued, not yet handed over. */
size_t sender_queued(struct sender *s);

/* Send what is queued for at most timeout_ns, stop the thread, close the
 * transport, free everything. The number of messages not handed over. */
uint64_t sender_stop(struct sender *s, int64_t timeout_ns);

#endif
