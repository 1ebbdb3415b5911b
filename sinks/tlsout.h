/*
 * tlsout.h - syslog over TLS (RFC 5425) with GnuTLS, as a transport of
 * sender.h: octet-counted frames ("LEN SP MSG") in TLS records, on a TCP
 * connection to tls://HOST[:PORT] (port 6514 by default).
 *
 * The server's certificate must chain to the CA file and carry the name
 * asked for (tls_conf.name: by default the URL's host); a failure says
 * which (GnuTLS's own words: not trusted, expired, another name). With a
 * certificate and key of our own, the server may check us too. As over
 * TCP, a message counts as sent once TLS took it: only RELP (relp.h)
 * waits for the server's acknowledgement.
 */
#ifndef MPLOG_TLSOUT_H
#define MPLOG_TLSOUT_H

#include <stddef.h>

#include "sender.h"

#define TLSOUT_TIMEOUT_MS 5000  /* connect, handshake, a send that makes no progress */

/* TLS settings of a server sink (keys ca, cert, key, name). */
struct tls_conf {
	const char *ca;         /* PEM file of the CA(s) to trust; required */
	const char *cert, *key; /* PEM files of our own certificate and key, or NULL */
	const char *name;       /* the name the server's certificate carries */
};

/* The transport for host:port with tls; its ctx in *ctx. The files are
 * read now: 0, or -1 with why naming the file and the problem. */
int tlsout_transport(const char *url, const char *host, const char *port,
    const struct tls_conf *tls, const struct sender_ops **ops, void **ctx, char *why, size_t len);

#endif
