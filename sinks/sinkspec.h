/*
 * sinkspec.h - one sink as the command line names it.
 *
 *   -o TARGET[,KEY=VALUE...]      a file, or - for standard output
 *   --forward URL[,KEY=VALUE...]  a syslog server (sinks/forward.h)
 *
 * Keys, each at most once: format (text or json for a file; rfc5424,
 * rfc3164 or local for a server: local is the default of a unix://
 * socket, rfc5424 of the others; a journal URL speaks journald's native
 * protocol and takes no format), level (the least severe severity written:
 * emerg ... debug or 0-7), rotate-size (a file: rotate once it would
 * pass this many bytes, K/M/G suffix), rotate-keep (rotated files kept,
 * 1-999), color (a file: auto, always or never; auto colours a terminal
 * unless NO_COLOR is set), rotate-every (a file: never, hourly or daily:
 * rotate too at the first write of a new local hour or day), compress (a
 * file: none, gzip or zstd, of the files rotated; rotate.h), spool (a
 * server: a folder for what its queue cannot hold; spool.h), spool-max
 * (its size at most, K/M/G suffix; default 1 GiB), ca, cert, key and name
 * (a relp:// or tls:// server: the CA file, our certificate and key, the
 * name the server's certificate carries; tlsout.h). The options --format, --rotate-size and
 * --rotate-keep give the defaults of every file sink. Keys are split off
 * from the end of the argument at commas; a final ",word=value" whose word
 * is no key is an error naming the keys. A final comma ends a target that
 * takes no keys (and is dropped): that is how a path ending in ",KEY=..."
 * is named.
 */
#ifndef MPLOG_SINKSPEC_H
#define MPLOG_SINKSPEC_H

#include <stdint.h>

#include "fmt.h"
#include "rotate.h"

enum sink_kind {
	SINK_FILE = 0,
	SINK_FORWARD = 1,
};

enum sink_color {
	SINK_COLOR_AUTO = 0,
	SINK_COLOR_NEVER = 1,
	SINK_COLOR_ALWAYS = 2,
};

enum sink_proto {
	SINK_RFC5424 = 0,
	SINK_RFC3164 = 1,
	SINK_LOCAL = 2,         /* what syslog(3) sends to /dev/log */
	SINK_JOURNAL = 3,       /* journald's native protocol: journal URLs */
};

#define SINKSPEC_KEEP_DEFAULT 5
#define SINKSPEC_KEEP_MAX     999

struct sink_spec {
	enum sink_kind kind;
	char *target;           /* path, "-", or URL (malloc'd) */
	enum fmt_kind format;   /* SINK_FILE */
	enum sink_proto proto;  /* SINK_FORWARD */
	int level;              /* least severe severity written, 0-7 */
	uint64_t rotate_size;   /* SINK_FILE: 0 never */
	unsigned rotate_keep;
	enum sink_color color;
	enum rotate_every rotate_every; /* SINK_FILE: also rotate by time */
	enum rotate_compress compress;  /* SINK_FILE: of rotated files */
	char *spool;            /* SINK_FORWARD: spool folder (malloc'd), or NULL */
	char *ca, *cert, *key;  /* SINK_FORWARD: TLS files (malloc'd), or NULL */
	char *name;             /* SINK_FORWARD: the name the server's certificate
	                         * carries, or NULL: the URL's host */
	uint64_t spool_max;     /* its bytes at most; 0: SPOOL_MAX_DEFAULT */
	unsigned set;           /* SINKSPEC_SET_*: keys the argument gave */
};

#define SINKSPEC_SET_FORMAT  0x1u
#define SINKSPEC_SET_SIZE    0x2u
#define SINKSPEC_SET_KEEP    0x4u

/*
 * Parse arg of a sink of kind into *s (target and keys; the rest at
 * their defaults: text or rfc5424, level debug, no rotation, colour
 * auto). 0, or -1 with a one-line message naming the problem in why
 * (len bytes).
 */
int sinkspec_parse(struct sink_spec *s, enum sink_kind kind, const char *arg, char *why,
    size_t len);

/* A byte count with an optional K, M or G suffix; -1 on error. */
int sinkspec_size(const char *s, uint64_t *out);

/* Free what sinkspec_parse allocated. */
void sinkspec_free(struct sink_spec *s);

#endif
