/*
 * options.h - mplogd's command line.
 *
 * options_parse fills struct mplogd_opts from argv, or prints a one-line
 * error naming the bad option or value and exits with MPLOGD_EXIT_USAGE.
 * Not thread-safe (getopt).
 */
#ifndef MPLOG_OPTIONS_H
#define MPLOG_OPTIONS_H

#include <stdint.h>

#include "fmt.h"
#include "lanesock.h"
#include "lanesrv.h"
#include "seg.h"
#include "sinkspec.h"

#define MPLOGD_EXIT_OK      0
#define MPLOGD_EXIT_FAIL    1   /* segment or output could not be set up */
#define MPLOGD_EXIT_USAGE   2   /* bad option or value */
#define MPLOGD_EXIT_BUSY    3   /* a live mplogd owns the segment or the pidfile */

#define OPTIONS_WINDOW_DEFAULT_MS 50
#define OPTIONS_FLUSH_DEFAULT_MS  100
#define OPTIONS_SINKS_MAX         32

struct mplogd_opts {
	char shm[SEG_PATH_MAX];
	struct sink_spec *sinks;    /* -o and --forward in order; none: "-" */
	size_t nsinks;
	int default_output;         /* no sink named: "-" stands for them */
	enum fmt_kind format;       /* --format: file sinks' default */
	uint64_t rotate_size;       /* --rotate-size: file sinks' default */
	unsigned rotate_keep;       /* --rotate-keep: file sinks' default */
	int64_t flush_ns;           /* --flush-interval */
	uint32_t rate_burst;        /* --rate-limit N, 0 none */
	int64_t rate_ns;            /* --rate-limit /S */
	struct seg_params params;
	int64_t window_ns;          /* reorder window */
	int ready_fd;               /* -1: none */
	const char *preload;        /* run mode: the shim to preload */
	const char *stderr_mode;    /* run mode: MPLOG_STDERR for the command */
	const char *stdout_mode;    /* run mode: MPLOG_STDOUT for the command */
	const char *stderr_severity_name; /* run mode: MPLOG_STDERR_SEVERITY, or NULL */
	int stderr_severity;        /* run mode: 0-7, of catch-all lines; default
	                             * $MPLOG_STDERR_SEVERITY, else info */
	int catch_all;              /* run mode: the command's fd 2 is read by mplogd */
	int multiline;              /* run mode: MPLOG_MULTILINE=1 for the command */
	char **command;             /* run mode when not NULL */
	int private_shm;            /* run mode without --shm */
	/* --daemon and --pidfile (daemon.h); not in run mode. */
	int daemon;                 /* --daemon: detach once serving */
	const char *pidfile;        /* --pidfile, or NULL: daemon.h's default */
	/* --system and --socket (lanesrv.h). */
	int system;                 /* --system: serve every user */
	char socket[108];           /* where to listen; "" nowhere */
	mode_t socket_mode;         /* of a socket path */
	uint32_t lanes_per_uid;     /* --lanes-per-uid; 0 the default */
};

/* Parse argv into o; exits with a message on bad usage. */
void options_parse(int argc, char **argv, struct mplogd_opts *o);

#endif
