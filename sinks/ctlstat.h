/*
 * ctlstat.h - what `mplogctl status` reports, read from an attached
 * segment: the daemon, the segment, and every lane in use, with rates
 * from two samples of the lane counters taken an interval apart.
 *
 * Called by mplogctl only. Not thread-safe (one caller), not
 * async-signal-safe (reads /proc, allocates, sleeps).
 *
 * Every number read from the segment is untrusted: producers write the
 * lane counters, and a hostile one can write anything. ctlstat copies
 * them as they are (any 64-bit value prints) and marks as unknown every
 * value it would derive from numbers that do not add up: a fill above the
 * lane size, a counter that went backwards between the samples, a lane
 * that changed owner, a level above 7, a heartbeat in the future. The
 * printers (ctlshow.h) show unknown values as "?" or null, never garbage.
 */
#ifndef MPLOG_CTLSTAT_H
#define MPLOG_CTLSTAT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "seg.h"

/* The interval between the two samples the rates come from. */
#define CTLSTAT_INTERVAL_MS 200

/* What the daemon recorded in the segment is doing. */
enum ctlstat_daemon_state {
	CTLSTAT_ALIVE = 0,      /* serving: running, its heartbeat fresh */
	CTLSTAT_STARTING,       /* exists, the segment not yet open to producers */
	CTLSTAT_STOPPED,        /* exists, heartbeat stale: stopped or stuck */
	CTLSTAT_GONE,           /* no such process, or it closed the segment */
};

struct ctlstat_daemon {
	pid_t pid;                      /* 0: none recorded */
	enum ctlstat_daemon_state state;
	uint32_t seg_state;             /* enum seg_state as found, maybe bad */
	int64_t heartbeat_age_ns;       /* -1: never beat, or in the future */
	int64_t uptime_s;               /* -1: unknown (not alive, no /proc) */
	uint64_t damaged;               /* records it skipped */
};

struct ctlstat_segment {
	const char *name;
	uint64_t size;
	uint32_t lanes_total, lanes_used, lane_size;
	uint32_t lanes_socket;          /* handed over mplogd's socket, in use */
	uint32_t policy;                /* enum seg_policy, checked at attach */
	int level;                      /* 0-7, -1 when the word is not */
	int mode;                       /* permission bits, -1 unknown */
	gid_t gid;                      /* valid when mode is known */
	char group[SEG_NAME_MAX];       /* group name, "" when unknown */
};

struct ctlstat_lane {
	uint32_t index;
	pid_t pid;                      /* owner, 0 none, -1 not a pid */
	int alive;                      /* the owner still runs */
	char name[SEG_NAME_MAX];        /* its /proc comm, raw; "" unknown */
	int fill_known;                 /* 0: head and tail do not add up */
	uint64_t fill;                  /* bytes written, not yet read */
	uint64_t records, bytes, drops; /* the producer's totals */
	int rate_known;                 /* 0: owner changed, or counters fell */
	double records_rate, bytes_rate; /* per second over the interval */
};

struct ctlstat {
	struct ctlstat_daemon daemon;
	struct ctlstat_segment segment;
	struct ctlstat_lane *lanes;     /* in use: leased or holding bytes */
	size_t nlanes;
	int64_t interval_ns;            /* between the samples, as measured */
};

/*
 * Sample seg twice, interval_ms apart, and fill st; with sock (not NULL),
 * also the lanes the mplogd listening there handed out (lanesock_status),
 * listed after the segment's with the index lane_count + their number.
 * 0, or -1 with errno ENOMEM. Release st with ctlstat_free.
 */
int ctlstat_read(struct ctlstat *st, const struct seg *seg, const char *sock,
    int interval_ms);

/* Release what ctlstat_read allocated. */
void ctlstat_free(struct ctlstat *st);

/* "alive", "starting", "stopped" or "gone". */
const char *ctlstat_daemon_state_name(enum ctlstat_daemon_state s);

/* "starting", "running", "closed", or "unknown" for a scribbled word. */
const char *ctlstat_seg_state_name(uint32_t s);

#endif
