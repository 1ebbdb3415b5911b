/*
 * journal.h - records in systemd-journald's native protocol.
 *
 * An entry is a run of fields, each "NAME=VALUE\n", or, when the value
 * holds a newline (a multi-line record), "NAME\n", the value's length as
 * a 64-bit little-endian number, the value and "\n"; journald takes it as
 * one datagram on its socket (/run/systemd/journal/socket). An entry too
 * large for a datagram is written to a memfd, sealed against every
 * change, and the memfd alone is passed (SCM_RIGHTS, no payload), as
 * journald's protocol asks.
 *
 * Fields of a record: MESSAGE, PRIORITY, SYSLOG_FACILITY,
 * SYSLOG_IDENTIFIER (the ident, else the process name), SYSLOG_PID, TID,
 * SYSLOG_TIMESTAMP (the record's own time, RFC 3339 in UTC: journald
 * stamps the entry with the time it received it), MPLOG_TIME_USEC (the
 * same in microseconds since the epoch), MPLOG_SOURCE (stderr, stdout,
 * syslog or mplog), MPLOG_THREAD (the thread's name, when known), and,
 * when asked (mplogd runs as root), OBJECT_PID: journald then adds the
 * OBJECT_* fields of the process that wrote (its command line, unit,
 * user), which `journalctl OBJECT_PID=` and `_PID=`-style queries use.
 * journald honours OBJECT_PID from privileged senders only; the entry's
 * own _PID, _UID and _COMM are always mplogd's, vouched for by the kernel.
 *
 * Pure and single-threaded, except journal_send, which makes one system
 * call or four (the memfd).
 */
#ifndef MPLOG_JOURNAL_H
#define MPLOG_JOURNAL_H

#include <stddef.h>
#include <sys/socket.h>

#include "fmt.h"

#define JOURNAL_SOCKET    "/run/systemd/journal/socket"
#define JOURNAL_DGRAM_MAX (32 * 1024)   /* larger entries go by memfd */

/* Append r as one native entry to b; with object_pid, name the record's
 * process in OBJECT_PID. 0, or -1 (ENOMEM). */
int journal_format(struct fmt_buf *b, const struct fmt_record *r, int object_pid);

/* Send the n-byte entry p to journald at addr on the datagram socket fd:
 * as a datagram up to JOURNAL_DGRAM_MAX bytes, else as a sealed memfd.
 * What sendto or sendmsg returned, with errno. */
ssize_t journal_send(int fd, const struct sockaddr *addr, socklen_t addrlen,
    const char *p, size_t n);

#endif
