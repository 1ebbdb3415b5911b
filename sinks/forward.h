/*
 * forward.h - send records to a syslog server, over UDP, TCP or a local
 * datagram socket, as RFC 5424 or RFC 3164 messages.
 *
 * Used by mplogd's single thread only: nothing here is thread-safe or
 * async-signal-safe. Nothing blocks, except forward_open, which resolves
 * the host name, and forward_close, for at most its timeout.
 *
 * URLs: udp://HOST[:PORT] and tcp://HOST[:PORT] (PORT defaults to 514; an
 * IPv6 address goes in brackets), unix:///PATH (a datagram socket, as
 * /dev/log; no stream fallback, as a stream socket at that path is not a
 * syslog socket we could frame for), relp://HOST[:PORT] (RELP, 2514 by
 * default: each message kept until the server acknowledged it; relp.h),
 * tls://HOST[:PORT] (RFC 5425, 6514 by default; tlsout.h), and journal
 * (journald's own socket, /run/systemd/journal/socket) or journal:///PATH
 * (another journald's, as a journal namespace's), which speak journald's
 * native protocol (journal.h) and are never cut.
 *
 * RFC 5424: <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID - SD MSG
 *   PRI is facility * 8 + severity of the record; TIMESTAMP is UTC to the
 *   microsecond ("2026-11-25T07:36:53.631494Z"); HOSTNAME is gethostname's
 *   (no DNS lookup); APP-NAME is the ident, else the process name, at most
 *   48 characters; PROCID is the pid; no MSGID; SD is one element,
 *   FORWARD_SD_ID with the thread's id and name and the source. MSG is
 *   the record's bytes unchanged and without a BOM: they are whatever the
 *   program wrote, not known to be UTF-8, so they are sent as MSG-ANY (a
 *   BOM would claim UTF-8, and receivers keep it as part of the text).
 * RFC 3164: <PRI>Mmm dd hh:mm:ss HOSTNAME TAG[PID]: MSG
 *   local time (the process's TZ), the host name up to its first dot, TAG
 *   the ident or process name, at most 32 characters.
 * In both, HOSTNAME, APP-NAME and TAG keep printable US-ASCII only (any
 * other byte, and '[', ']', ':' in a TAG, becomes '_'); an empty one is
 * "-". A message never ends in a newline; newlines inside it are sent as
 * they are, which the framing below carries safely (rsyslog shows them
 * as #012).
 *
 * Framing: one message per datagram over UDP (cut to FORWARD_UDP_MAX
 * bytes, RFC 5426's recommended size) and unix:// (cut to
 * FORWARD_UNIX_MAX); over TCP, octet counting (RFC 6587: "LEN SP MSG"),
 * so a message may hold any byte. Cut messages are counted and reported
 * at close. A piece of a longer line (r->continued) is sent as a message
 * of its own, unmarked; the next piece follows under the same PROCID.
 *
 * Queue and failures: forward_put formats a record and appends it to a
 * queue of at most FORWARD_QUEUE_MAX bytes; a record that does not fit is
 * dropped and counted. forward_flush sends what the socket takes without
 * blocking. A TCP connection is made without blocking and made again
 * when it fails or the server closes it, with a delay that starts at
 * FORWARD_RETRY_MIN_NS and doubles to FORWARD_RETRY_MAX_NS, back to the
 * minimum once connected; a message cut short by a lost connection is
 * sent again whole on the next one (a receiver discards an incomplete
 * octet-counted frame). A datagram that cannot be sent (no server at the
 * path) is retried the same way; one that finds the receiver's queue full
 * waits for the next flush. An outage is reported once on stderr, naming
 * the URL, and its end with the count of records dropped meanwhile; so is
 * a queue that overflows while connected (a server that stopped reading).
 * UDP gives no sign of a server that is down: its datagrams are lost
 * unseen.
 *
 * Spool (forward_spool): a record the memory queue cannot take goes to a
 * queue on disk instead (spool.h), and so does every later one while the
 * spool holds any, so that order is kept; once the memory queue is sent
 * empty, the next batch of the spool is taken into it. At close, records
 * still queued in memory go to the front of the spool.
 */
#ifndef MPLOG_FORWARD_H
#define MPLOG_FORWARD_H

#include <stdint.h>

#include "fmt.h"

/*
 * The SD-ID of the structured data RFC 5424 messages carry,
 * [mplog@32473 tid="..." thread="..." source="..."]: a name of our own
 * ("name@number", RFC 5424 section 7.2.2) under 32473, the private
 * enterprise number RFC 5612 sets aside for documentation and examples.
 */
#define FORWARD_SD_ID         "mplog@32473"

#define FORWARD_QUEUE_MAX     (4 * 1024 * 1024)    /* queued bytes; then records are dropped */
#define FORWARD_UDP_MAX       2048                 /* bytes per UDP datagram */
#define FORWARD_UNIX_MAX      8192                 /* bytes per unix:// datagram */
#define FORWARD_RETRY_MIN_NS  (100 * 1000000LL)    /* first delay before a retry */
#define FORWARD_RETRY_MAX_NS  (5000 * 1000000LL)   /* longest delay before a retry */
#define FORWARD_CONNECT_NS    (5000 * 1000000LL)   /* a TCP connect that takes longer fails */

enum forward_proto {
	FORWARD_RFC5424 = 0,
	FORWARD_RFC3164 = 1,
	FORWARD_LOCAL = 2,      /* <PRI>Mmm dd hh:mm:ss TAG[PID]: MSG, as glibc's
	                         * syslog(3) sends it to /dev/log: no host */
	FORWARD_JOURNAL = 3,    /* journald's native protocol (journal.h) */
};

struct forward;

/*
 * Parse url and set up the forwarder (the socket; a TCP connection is
 * started at the first flush). NULL on a bad URL, an unresolvable host or
 * no socket, with *why pointing to a one-line message naming the URL and
 * the problem, in static storage overwritten by the next call (do not
 * free it). A server that is down is not an error here.
 */
struct forward *forward_open(const char *url, enum forward_proto proto, const char **why);

struct tls_conf;

/* forward_open, with TLS settings for relp:// (NULL: plain) and tls://
 * (required); see tlsout.h. */
struct forward *forward_open_tls(const char *url, enum forward_proto proto,
    const struct tls_conf *tls, const char **why);

/* Format r as one message and queue it; drops and counts it when the
 * queue is full. Never blocks. */
void forward_put(struct forward *f, const struct fmt_record *r);

/* Send what can be sent now, (re)connecting when it is time. 0, or -1
 * while queued records wait for the server. Call at least every 100 ms. */
int forward_flush(struct forward *f);

/* 1 when the queue holds bytes not yet sent. */
int forward_pending(const struct forward *f);

/* Records queued and not yet sent (relp://, tls://: handed over). */
size_t forward_backlog(const struct forward *f);

/* Spool to dir (spool.h) what the queue cannot hold, up to max bytes,
 * and send it once the server takes records again, oldest first. 0, or
 * -1 with *why naming dir and the problem. */
int forward_spool(struct forward *f, const char *dir, uint64_t max, const char **why);

/* Flush for at most timeout_ns, report the records lost (dropped or still
 * queued; with a spool, those queued go into it), close and free
 * everything. */
void forward_close(struct forward *f, int64_t timeout_ns);

/* Append r as one message of proto, without framing, to b, with host as
 * the HOSTNAME (sanitised here; the 3164 form is cut at its first dot).
 * 0, or -1 (ENOMEM). Pure: what forward_put sends, for tests. */
int forward_format(struct fmt_buf *b, enum forward_proto proto, const char *host,
    const struct fmt_record *r);

#endif
