/*
 * pipeline.h - the pipeline thread: pops the heap ring, assembles lines,
 * and copies them into this process's lane of the segment, adding the pid
 * and name ids. When mplogd is gone it passes lines through to where they
 * would have gone without mplog, taking back from its lane whatever mplogd
 * did not consume.
 *
 * The thread starts on the first record (pipeline_ensure, called by the
 * hooks after a push) with every signal blocked, and again in a forked
 * child. Creating it is the one step of capture that is not
 * async-signal-safe: if a program's very first captured line is written
 * from a signal handler that interrupted the C library's thread creation,
 * the behaviour is undefined, as for any pthread_create from a handler.
 */
#ifndef MPLOG_PIPELINE_H
#define MPLOG_PIPELINE_H

#include <stdint.h>

#define PIPELINE_IDLE_NS     (100 * 1000000LL)  /* sleep between checks */
#define PIPELINE_PARTIAL_NS  (1000 * 1000000LL) /* unfinished line held */
#define PIPELINE_STUCK_NS    (10 * 1000000LL)   /* between stuck checks */
#define PIPELINE_STUCK_CHECKS 100              /* and ... */
#define PIPELINE_ABANDON_NS  (1000 * 1000000LL) /* ... then a claim is abandoned */
#define PIPELINE_LEASE_NS    (1000 * 1000000LL) /* wait for a free lane */
#define PIPELINE_LINGER_NS   (50 * 1000LL)      /* poll before sleeping */
#define PIPELINE_GAP_NS      (5 * 1000LL)       /* between two polls */
#define PIPELINE_NAP_NS      (2 * 1000000LL)    /* a nap no push ends */
#define PIPELINE_PROBE_NS    (10 * 1000000LL)   /* kill(mplogd, 0) at most */
#define PIPELINE_ACTIVE_NS   (20 * 1000000LL)   /* naps this long after a record */
#define PIPELINE_FLUSH_NS    (2000 * 1000000LL) /* exit: no progress */
#define PIPELINE_ORPHAN_NS   (1000 * 1000000LL) /* exit: a closing mplogd */
#define PIPELINE_HANDBACK_NS (2000 * 1000000LL) /* a killed mplogd's lane
                                                 * waits for the next one */
#define PIPELINE_REPORT_NS   (1000 * 1000000LL) /* flush: room for a drop report */

/* Start the thread if it does not run; cheap when it does. */
void pipeline_ensure(void);


/* Deliver everything pushed so far, waiting while progress is made. */
void pipeline_flush_sync(void);

/* The same for the whole records pushed so far, leaving unfinished lines
 * to be finished (wait for completion of one syslog record). */
void pipeline_publish_sync(void);

/* Wait up to bound_ns, after pipeline_flush_sync, until mplogd has
 * delivered everything in our lane (written it to its sinks). */
void pipeline_wait_delivered(int64_t bound_ns);

/* In a forked child: forget the parent's thread, lane and pending lines. */
void pipeline_atfork_child(void);

#endif
