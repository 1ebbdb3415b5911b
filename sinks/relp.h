/*
 * relp.h - acknowledged delivery with RELP (librelp), plain or over TLS,
 * as a transport of sender.h.
 *
 * librelp keeps each message it was handed until the server acknowledged
 * it (at most RELP_WINDOW at once; its hand-over blocks while the window
 * is full) and, when it connects again after a broken connection, sends
 * again every one not acknowledged. With sender.h's own retry of a
 * message whose hand-over failed, every message is delivered at least
 * once across a restart of the server; those in flight when it died may
 * arrive twice. At close librelp ends the session, waiting up to
 * RELP_TIMEOUT_S for the server to acknowledge what it holds.
 */
#ifndef MPLOG_RELP_H
#define MPLOG_RELP_H

#include "sender.h"
#include "tlsout.h"

#define RELP_WINDOW    128      /* messages unacknowledged at most */
#define RELP_TIMEOUT_S 5        /* librelp's wait for an acknowledgement, or a connect */

/* The transport for host:port, over TLS when tls is not NULL (then its
 * ca is required: the server's certificate must chain to it and carry
 * tls->name). Its ctx in *ctx; 0, or -1 with why. */
int relp_transport(const char *url, const char *host, const char *port,
    const struct tls_conf *tls, const struct sender_ops **ops, void **ctx, char *why, size_t len);

#endif
