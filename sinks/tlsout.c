/* tlsout.c - syslog over TLS (RFC 5425) with GnuTLS. */
#include "tlsout.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

struct tlsout {
	gnutls_certificate_credentials_t cred;
	gnutls_session_t session;       /* NULL while not connected */
	int fd;
	char *host, *port, *name;
};

/* End the connection, if any. */
static void
tlsout_drop(struct tlsout *t)
{
	if (t->session != NULL)
		gnutls_deinit(t->session);
	t->session = NULL;
	if (t->fd != -1)
		close(t->fd);
	t->fd = -1;
}

/* A TCP connection to ai, made within TLSOUT_TIMEOUT_MS; the socket
 * then blocks, with that bound on a send. -1 with errno. */
static int
tlsout_tcp_one(const struct addrinfo *ai)
{
	struct timeval tv = { TLSOUT_TIMEOUT_MS / 1000, 0 };
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), e = 0;
	struct pollfd p = { fd, POLLOUT, 0 };
	socklen_t sl = sizeof(e);

	if (fd == -1)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
		if (errno != EINPROGRESS)
			e = errno;
		else if (poll(&p, 1, TLSOUT_TIMEOUT_MS) != 1)
			e = ETIMEDOUT;
		else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) == -1)
			e = errno;
	}
	if (e == 0 && (fcntl(fd, F_SETFL, 0) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1))
		e = errno;
	if (e != 0) {
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* A TCP connection to host:port, to the first of its addresses that
 * takes one. -1 with err. */
static int
tlsout_tcp(struct tlsout *t, char *err, size_t len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	int e = getaddrinfo(t->host, t->port, &hints, &res), fd = -1;

	if (e != 0) {
		snprintf(err, len, "cannot resolve %s: %s", t->host, gai_strerror(e));
		return -1;
	}
	for (ai = res; ai != NULL && fd == -1; ai = ai->ai_next)
		if ((fd = tlsout_tcp_one(ai)) == -1)
			snprintf(err, len, "connect: %s", strerror(errno));
	freeaddrinfo(res);
	return fd;
}

/* Why the handshake failed, in GnuTLS's words; a certificate's faults
 * are spelt out. */
static void
tlsout_why(struct tlsout *t, int rc, char *err, size_t len)
{
	gnutls_datum_t out = { NULL, 0 };
	unsigned status;

	if (rc == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR &&
	    (status = gnutls_session_get_verify_cert_status(t->session)) != 0 &&
	    gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0) == 0) {
		snprintf(err, len, "the server's certificate for %s: %s", t->name, out.data);
		gnutls_free(out.data);
		return;
	}
	snprintf(err, len, "TLS handshake: %s", gnutls_strerror(rc));
}

static int
tlsout_connect(void *ctx, char *err, size_t len)
{
	struct tlsout *t = ctx;
	int rc;

	tlsout_drop(t);
	if ((t->fd = tlsout_tcp(t, err, len)) == -1)
		return -1;
	if ((rc = gnutls_init(&t->session, GNUTLS_CLIENT)) < 0 ||
	    (rc = gnutls_set_default_priority(t->session)) < 0 ||
	    (rc = gnutls_credentials_set(t->session, GNUTLS_CRD_CERTIFICATE, t->cred)) < 0 ||
	    (rc = gnutls_server_name_set(t->session, GNUTLS_NAME_DNS, t->name,
	    strlen(t->name))) < 0) {
		snprintf(err, len, "TLS: %s", gnutls_strerror(rc));
		tlsout_drop(t);
		return -1;
	}
	gnutls_session_set_verify_cert(t->session, t->name, 0);
	gnutls_transport_set_int(t->session, t->fd);
	gnutls_handshake_set_timeout(t->session, TLSOUT_TIMEOUT_MS);
	do
		rc = gnutls_handshake(t->session);
	while (rc < 0 && gnutls_error_is_fatal(rc) == 0);
	if (rc < 0) {
		tlsout_why(t, rc, err, len);
		tlsout_drop(t);
		return -1;
	}
	return 0;
}

/* A syslog server sends nothing: something to read is its end. 0 while
 * the connection stands. */
static int
tlsout_check_peer(struct tlsout *t, char *err, size_t len)
{
	struct pollfd p = { t->fd, POLLIN, 0 };
	char buf[256];

	if (poll(&p, 1, 0) == 0)
		return 0;
	if (gnutls_record_recv(t->session, buf, sizeof(buf)) > 0)
		return 0;       /* discarded */
	snprintf(err, len, "the server closed the connection");
	tlsout_drop(t);
	return -1;
}

static int
tlsout_send(void *ctx, const char *p, size_t n, char *err, size_t len)
{
	struct tlsout *t = ctx;
	char head[24];
	int k = snprintf(head, sizeof(head), "%zu ", n);

	if (t->session == NULL || tlsout_check_peer(t, err, len) == -1)
		return -1;
	gnutls_record_cork(t->session);
	for (size_t off = 0; off < (size_t)k + n;) {
		const char *from = off < (size_t)k ? head + off : p + (off - (size_t)k);
		size_t left = off < (size_t)k ? (size_t)k - off : n - (off - (size_t)k);
		ssize_t w = gnutls_record_send(t->session, from, left);

		if (w == GNUTLS_E_AGAIN || w == GNUTLS_E_INTERRUPTED)
			continue;
		if (w < 0) {
			snprintf(err, len, "TLS: %s", gnutls_strerror((int)w));
			tlsout_drop(t);
			return -1;
		}
		off += (size_t)w;
	}
	int rc;

	while ((rc = gnutls_record_uncork(t->session, GNUTLS_RECORD_WAIT)) == GNUTLS_E_AGAIN ||
	    rc == GNUTLS_E_INTERRUPTED)
		;
	if (rc < 0) {
		snprintf(err, len, "TLS: %s", gnutls_strerror(rc));
		tlsout_drop(t);
		return -1;
	}
	return 0;
}

static void
tlsout_close(void *ctx)
{
	struct tlsout *t = ctx;

	if (t->session != NULL)
		gnutls_bye(t->session, GNUTLS_SHUT_WR);
	tlsout_drop(t);
	if (t->cred != NULL)
		gnutls_certificate_free_credentials(t->cred);
	free(t->host);
	free(t->port);
	free(t->name);
	free(t);
}

static const struct sender_ops tlsout_ops = { tlsout_connect, tlsout_send, tlsout_close };

int
tlsout_transport(const char *url, const char *host, const char *port,
    const struct tls_conf *tls, const struct sender_ops **ops, void **ctx, char *why, size_t len)
{
	struct tlsout *t = calloc(1, sizeof(*t));
	int rc;

	if (t == NULL) {
		snprintf(why, len, "%s: out of memory", url);
		return -1;
	}
	t->fd = -1;
	if ((t->host = strdup(host)) == NULL || (t->port = strdup(port)) == NULL ||
	    (t->name = strdup(tls->name)) == NULL ||
	    gnutls_certificate_allocate_credentials(&t->cred) < 0) {
		snprintf(why, len, "%s: out of memory", url);
		goto fail;
	}
	if ((rc = gnutls_certificate_set_x509_trust_file(t->cred, tls->ca,
	    GNUTLS_X509_FMT_PEM)) <= 0) {
		snprintf(why, len, "%s: ca=%s: %s", url, tls->ca, rc == 0 ?
		    "no certificate in it" : gnutls_strerror(rc));
		goto fail;
	}
	if (tls->cert != NULL && (rc = gnutls_certificate_set_x509_key_file(t->cred, tls->cert,
	    tls->key, GNUTLS_X509_FMT_PEM)) < 0) {
		snprintf(why, len, "%s: cert=%s, key=%s: %s", url, tls->cert, tls->key,
		    gnutls_strerror(rc));
		goto fail;
	}
	*ops = &tlsout_ops;
	*ctx = t;
	return 0;
fail:
	tlsout_close(t);
	return -1;
}
