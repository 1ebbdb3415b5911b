/*
 * forward.c - records to a syslog server: formatting, a bounded queue,
 * and non-blocking sending with reconnection.
 *
 * The queue is one buffer of entries, each a 4-byte length and the bytes
 * to send: a whole datagram, or for TCP the frame "LEN SP MSG". Entries
 * are taken from the front (qhead) and the buffer is compacted when an
 * append would have to grow it, so each byte is moved a bounded number of
 * times. Over TCP, qsent counts the bytes of the front entry already sent.
 */
#include "forward.h"
#include "journal.h"
#include "relp.h"
#include "sender.h"
#include "spool.h"
#include "tlsout.h"

#include <err.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "seg.h"

#define FORWARD_ADDRS_MAX  8      /* addresses of a name tried in turn */
#define FORWARD_IOV        64     /* TCP frames per sendmsg */
#define FORWARD_APP_MAX    48     /* RFC 5424 APP-NAME */
#define FORWARD_TAG_MAX    32     /* RFC 3164 TAG */
#define FORWARD_HOST_MAX   255    /* RFC 5424 HOSTNAME */
#define FORWARD_SD_MAX     (2 * SEG_NAME_MAX + 96)   /* the thread's id and name, escaped, and the source */
#define FORWARD_ENTRY_HDR  sizeof(uint32_t)

enum forward_transport {
	FORWARD_UDP,
	FORWARD_TCP,
	FORWARD_UNIX,
	FORWARD_RELP,           /* sender.h and relp.h */
	FORWARD_TLS,            /* sender.h and tlsout.h */
};

/* Of the TCP connection; datagram sockets stay FORWARD_UP. */
enum forward_state {
	FORWARD_IDLE,           /* no connection: make one at retry_at */
	FORWARD_CONNECTING,     /* non-blocking connect in progress */
	FORWARD_UP,
};

struct forward {
	char *url;
	enum forward_transport transport;
	enum forward_proto proto;
	struct sockaddr_storage addr[FORWARD_ADDRS_MAX];
	socklen_t addrlen[FORWARD_ADDRS_MAX];
	int naddr, cur;         /* addresses; the one used now */
	int fd;                 /* -1 while FORWARD_IDLE */
	enum forward_state state;
	int64_t connect_start;  /* CLOCK_MONOTONIC ns */
	int64_t retry_at;       /* no attempt before this after a failure */
	int64_t retry_delay;
	int down;               /* an outage was reported, its end not yet */
	int overflowing;        /* the queue overflowed while up; reported */
	int cut_reported;
	uint64_t dropped;       /* records dropped since last reported */
	uint64_t cut;           /* datagrams cut to max_dgram */
	size_t max_dgram;
	char host[FORWARD_HOST_MAX + 1];
	struct fmt_buf msg;     /* one message being formatted */
	struct fmt_buf q;       /* entries from q.data + qhead to q.len */
	size_t qhead, qsent, qcount;
	struct sender *sender;  /* RELP, TLS: the thread that sends */
	struct spool *spool;    /* spool=DIR, or NULL */
	int q_spooled;          /* the queue holds a batch from the spool */
	int spool_full;         /* said so */
};

static char forward_why[512];

static const char forward_months[12][4] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

/*
 * Copy at most max bytes of s into out as a header field: printable
 * US-ASCII only, any other byte becomes '_' (and '[', ']', ':' in a 3164
 * TAG, where they would end it). "-" for an empty field. The length.
 */
static size_t
forward_field(char *out, size_t max, const char *s, int tag)
{
	size_t n = 0;

	for (; s != NULL && s[n] != '\0' && n < max; n++) {
		unsigned char c = (unsigned char)s[n];

		out[n] = c > ' ' && c < 0x7f &&
		    !(tag && (c == '[' || c == ']' || c == ':')) ? (char)c : '_';
	}
	if (n == 0)
		out[n++] = '-';
	out[n] = '\0';
	return n;
}

/*
 * RFC 5424 structured data of r into out: the thread's id and name (each
 * when known) and the record's source as
 * [mplog@32473 tid="..." thread="..." source="..."] (32473: the
 * enterprise number RFC 5612 sets aside for examples). In a value, '"',
 * '\\' and ']' are escaped and control bytes become '?'.
 */
static void
forward_sd(char *out, size_t cap, const struct fmt_record *r)
{
	size_t n = 0;

	n += (size_t)snprintf(out, cap, "[" FORWARD_SD_ID);
	if (r->tid > 0)
		n += (size_t)snprintf(out + n, cap - n, " tid=\"%d\"", (int)r->tid);
	if (r->thread != NULL) {
		n += (size_t)snprintf(out + n, cap - n, " thread=\"");
		for (const char *p = r->thread; *p != '\0' && n + 4 < cap; p++) {
			unsigned char c = (unsigned char)*p;

			if (c == '"' || c == '\\' || c == ']')
				out[n++] = '\\';
			out[n++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
		}
		out[n++] = '"';
	}
	snprintf(out + n, cap - n, " source=\"%s\"]", fmt_source_name(r->source));
}

int
forward_format(struct fmt_buf *b, enum forward_proto proto, const char *host,
    const struct fmt_record *r)
{
	/* Records come checked; a facility out of range is sent as user. */
	unsigned pri = (r->facility <= 23 ? r->facility : 1u) * 8u + (r->severity & 7u);
	const char *app = r->ident != NULL && r->ident[0] != '\0' ? r->ident : r->proc;
	char name[FORWARD_APP_MAX + 1], hostf[FORWARD_HOST_MAX + 1], procid[16] = "-";
	char head[FORWARD_HOST_MAX + FORWARD_APP_MAX + FORWARD_SD_MAX + 128];
	time_t t = (time_t)(r->ts_ns / 1000000000u);
	size_t len = r->msg_len;
	struct tm tm;
	int w;

	if (proto == FORWARD_JOURNAL)
		return journal_format(b, r, geteuid() == 0);
	while (len > 0 && r->msg[len - 1] == '\n')
		len--;
	if (r->pid > 0)
		snprintf(procid, sizeof(procid), "%d", (int)r->pid);
	forward_field(hostf, FORWARD_HOST_MAX, host, 0);
	if (proto == FORWARD_RFC3164 || proto == FORWARD_LOCAL) {
		char *dot = strchr(hostf, '.');

		if (dot != NULL && dot != hostf)
			*dot = '\0';
		forward_field(name, FORWARD_TAG_MAX, app, 1);
		if (localtime_r(&t, &tm) == NULL)
			return -1;
		/* The local form is the same without the host name. */
		w = snprintf(head, sizeof(head), "<%u>%s %2d %02d:%02d:%02d %s%s%s%s%s%s: ", pri,
		    forward_months[tm.tm_mon], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		    proto == FORWARD_LOCAL ? "" : hostf, proto == FORWARD_LOCAL ? "" : " ",
		    name, r->pid > 0 ? "[" : "", r->pid > 0 ? procid : "", r->pid > 0 ? "]" : "");
	} else {
		char sd[FORWARD_SD_MAX];

		forward_field(name, FORWARD_APP_MAX, app, 0);
		forward_sd(sd, sizeof(sd), r);
		if (gmtime_r(&t, &tm) == NULL)
			return -1;
		w = snprintf(head, sizeof(head), "<%u>1 %04d-%02d-%02dT%02d:%02d:%02d.%06uZ %s %s %s - %s%s",
		    pri, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec, (unsigned)(r->ts_ns % 1000000000u / 1000u),
		    hostf, name, procid, sd, len > 0 ? " " : "");
	}
	if (w < 0 || (size_t)w >= sizeof(head)) {
		errno = EOVERFLOW;
		return -1;
	}
	if (fmt_buf_put(b, head, (size_t)w) == -1)
		return -1;
	return fmt_buf_put(b, r->msg, len);
}

/* Free what forward_open made and, unless fmt is NULL (already set),
 * fill forward_why with the URL and the problem. NULL, for the caller. */
static struct forward *__attribute__((format(printf, 2, 3)))
forward_fail_open(struct forward *f, const char *fmt, ...)
{
	va_list ap;

	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(forward_why, sizeof(forward_why), fmt, ap);
		va_end(ap);
	}
	if (f != NULL) {
		free(f->url);
		free(f);
	}
	return NULL;
}

/* Resolve host and port into f->addr. 0, or -1 with forward_why set. */
static int
forward_resolve(struct forward *f, const char *host, const char *port)
{
	struct addrinfo hints = { 0 }, *res, *ai;
	int e;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = f->transport == FORWARD_TCP ? SOCK_STREAM : SOCK_DGRAM;
	if ((e = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(forward_why, sizeof(forward_why), "%s: cannot resolve %s: %s",
		    f->url, host, e == EAI_SYSTEM ? strerror(errno) : gai_strerror(e));
		return -1;
	}
	for (ai = res; ai != NULL && f->naddr < FORWARD_ADDRS_MAX; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(f->addr[0]))
			continue;
		memcpy(&f->addr[f->naddr], ai->ai_addr, ai->ai_addrlen);
		f->addrlen[f->naddr++] = ai->ai_addrlen;
	}
	freeaddrinfo(res);
	if (f->naddr == 0) {
		snprintf(forward_why, sizeof(forward_why), "%s: no address for %s", f->url, host);
		return -1;
	}
	return 0;
}

/* Split rest, "HOST[:PORT]" (an IPv6 address in brackets), into host and
 * port (dport when none). 0, or -1 with forward_why set; scheme names
 * the URL's kind in the message. */
static int
forward_split(struct forward *f, const char *rest, const char *scheme, const char *dport,
    char *host, size_t hostlen, char port[8])
{
	const char *end, *colon;
	size_t n;

	if (rest[0] == '[') {
		if ((end = strchr(rest, ']')) == NULL)
			goto bad;
		n = (size_t)(end - rest - 1);
		rest++;
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && colon == NULL)
			goto bad;
	} else {
		colon = strchr(rest, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL) {
			snprintf(forward_why, sizeof(forward_why),
			    "%s: an IPv6 address goes in brackets: [ADDRESS]:PORT", f->url);
			return -1;
		}
		n = colon != NULL ? (size_t)(colon - rest) : strlen(rest);
	}
	if (n == 0 || n >= hostlen)
		goto bad;
	memcpy(host, rest, n);
	host[n] = '\0';
	snprintf(port, 8, "%s", dport);
	if (colon != NULL) {
		char *stop;
		unsigned long p = strtoul(colon + 1, &stop, 10);

		if (colon[1] < '0' || colon[1] > '9' || *stop != '\0' || p == 0 || p > 65535) {
			snprintf(forward_why, sizeof(forward_why),
			    "%s: the port must be a number from 1 to 65535", f->url);
			return -1;
		}
		snprintf(port, 8, "%lu", p);
	}
	return 0;
bad:
	snprintf(forward_why, sizeof(forward_why), "%s: expected %s://HOST[:PORT]", f->url,
	    scheme);
	return -1;
}

/* The HOST[:PORT] of a udp:// or tcp:// URL, resolved. 0, or -1 with
 * forward_why set. */
static int
forward_parse_inet(struct forward *f, const char *rest)
{
	char host[256], port[8];

	if (forward_split(f, rest, f->transport == FORWARD_TCP ? "tcp" : "udp", "514", host,
	    sizeof(host), port) == -1)
		return -1;
	return forward_resolve(f, host, port);
}

/* The /PATH of a unix:// URL. 0, or -1 with forward_why set. */
static int
forward_parse_unix(struct forward *f, const char *path)
{
	struct sockaddr_un *sa = (struct sockaddr_un *)&f->addr[0];
	size_t n = strlen(path);

	if (path[0] != '/' || n >= sizeof(sa->sun_path)) {
		snprintf(forward_why, sizeof(forward_why),
		    "%s: expected SCHEME:///PATH, an absolute socket path of at most %zu bytes",
		    f->url, sizeof(sa->sun_path) - 1);
		return -1;
	}
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, n + 1);
	f->addrlen[0] = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	f->naddr = 1;
	return 0;
}

/*
 * relp://HOST[:PORT] (2514 by default; over TLS when tls is given) or
 * tls://HOST[:PORT] (6514; tls required): a transport of sender.h in a
 * thread of its own. 0, or -1 with forward_why set.
 */
static int
forward_open_sender(struct forward *f, const char *rest, const struct tls_conf *tls)
{
	int relp = f->transport == FORWARD_RELP;
	char host[256], port[8];
	const struct sender_ops *ops;
	struct tls_conf named;
	void *ctx;

	if (forward_split(f, rest, relp ? "relp" : "tls", relp ? "2514" : "6514", host,
	    sizeof(host), port) == -1)
		return -1;
	/* tls:// is always TLS; relp:// when TLS settings are given. */
	if ((!relp || tls != NULL) && (tls == NULL || tls->ca == NULL)) {
		snprintf(forward_why, sizeof(forward_why), "%s: TLS needs ca=FILE, the CA the "
		    "server's certificate must chain to", f->url);
		return -1;
	}
	for (int i = 0; tls != NULL && i < 3; i++) {
		const char *file = i == 0 ? tls->ca : i == 1 ? tls->cert : tls->key;

		if (file != NULL && access(file, R_OK) == -1) {
			snprintf(forward_why, sizeof(forward_why), "%s: %s=%s: %s", f->url,
			    i == 0 ? "ca" : i == 1 ? "cert" : "key", file, strerror(errno));
			return -1;
		}
	}
	if (tls != NULL) {
		named = *tls;
		if (named.name == NULL)
			named.name = host;      /* the certificate must carry the URL's host */
		tls = &named;
	}
	if ((relp ? relp_transport(f->url, host, port, tls, &ops, &ctx, forward_why,
	    sizeof(forward_why)) : tlsout_transport(f->url, host, port, tls, &ops, &ctx,
	    forward_why, sizeof(forward_why))) == -1)
		return -1;
	f->sender = sender_start(f->url, ops, ctx, forward_why, sizeof(forward_why));
	return f->sender != NULL ? 0 : -1;
}

struct forward *
forward_open(const char *url, enum forward_proto proto, const char **why)
{
	return forward_open_tls(url, proto, NULL, why);
}

struct forward *
forward_open_tls(const char *url, enum forward_proto proto, const struct tls_conf *tls,
    const char **why)
{
	struct forward *f = calloc(1, sizeof(*f));
	int rc;

	*why = forward_why;
	if (f == NULL || (f->url = strdup(url)) == NULL)
		return forward_fail_open(f, "%s: out of memory", url);
	f->proto = proto;
	f->fd = -1;
	f->retry_delay = FORWARD_RETRY_MIN_NS;
	if (strncmp(url, "udp://", 6) == 0) {
		f->transport = FORWARD_UDP;
		f->max_dgram = FORWARD_UDP_MAX;
		rc = forward_parse_inet(f, url + 6);
	} else if (strncmp(url, "tcp://", 6) == 0) {
		f->transport = FORWARD_TCP;
		rc = forward_parse_inet(f, url + 6);
	} else if (strncmp(url, "unix://", 7) == 0) {
		f->transport = FORWARD_UNIX;
		f->max_dgram = FORWARD_UNIX_MAX;
		rc = forward_parse_unix(f, url + 7);
	} else if (strcmp(url, "journal") == 0 || strncmp(url, "journal://", 10) == 0) {
		f->transport = FORWARD_UNIX;
		f->max_dgram = SIZE_MAX;        /* big entries go by memfd */
		f->proto = FORWARD_JOURNAL;
		rc = forward_parse_unix(f, url[7] == '\0' ? JOURNAL_SOCKET : url + 10);
	} else if (strncmp(url, "relp://", 7) == 0 || strncmp(url, "tls://", 6) == 0) {
		f->transport = url[0] == 'r' ? FORWARD_RELP : FORWARD_TLS;
		f->state = FORWARD_UP;
		rc = forward_open_sender(f, url + (url[0] == 'r' ? 7 : 6), tls);
	} else {
		return forward_fail_open(f, "%s: expected udp://HOST[:PORT], tcp://HOST[:PORT], "
		    "relp://HOST[:PORT], tls://HOST[:PORT], unix:///PATH, journal or "
		    "journal:///PATH", url);
	}
	if (rc == -1)
		return forward_fail_open(f, NULL);
	if (tls != NULL && f->sender == NULL)
		return forward_fail_open(f, "%s: ca, cert, key and name are for relp:// and "
		    "tls:// servers", url);
	if (f->transport != FORWARD_TCP && f->sender == NULL) {
		f->fd = socket(f->addr[0].ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (f->fd == -1)
			return forward_fail_open(f, "%s: socket: %s", url, strerror(errno));
		f->state = FORWARD_UP;
	}
	if (gethostname(f->host, sizeof(f->host)) == -1)
		f->host[0] = '\0';
	f->host[sizeof(f->host) - 1] = '\0';
	return f;
}

/* Bytes queued and not yet sent. */
static size_t
forward_queued(const struct forward *f)
{
	return f->q.len - f->qhead;
}

/* The entry at offset off of the queue: its length, its bytes in *p. */
static size_t
forward_entry(const struct forward *f, size_t off, const char **p)
{
	uint32_t len;

	memcpy(&len, f->q.data + off, sizeof(len));
	*p = f->q.data + off + FORWARD_ENTRY_HDR;
	return len;
}

/* Remove the front entry: it was sent, or cannot be. */
static void
forward_pop(struct forward *f)
{
	const char *p;

	f->qhead += FORWARD_ENTRY_HDR + forward_entry(f, f->qhead, &p);
	f->qcount--;
	f->qsent = 0;
	if (f->qhead == f->q.len)
		f->qhead = f->q.len = 0;
}

/* Queue pre and p as one entry. 0, or -1 when it does not fit (ENOBUFS)
 * or memory is short (ENOMEM). */
static int
forward_enqueue(struct forward *f, const char *pre, size_t npre, const char *p, size_t n)
{
	uint32_t len = (uint32_t)(npre + n);
	size_t old = f->q.len;

	if (forward_queued(f) + FORWARD_ENTRY_HDR + len > FORWARD_QUEUE_MAX) {
		errno = ENOBUFS;
		return -1;
	}
	/* Compact once the sent front is as large as what remains: each
	 * byte is moved at most about once per time it is queued. */
	if (f->qhead > 0 && f->qhead >= forward_queued(f)) {
		memmove(f->q.data, f->q.data + f->qhead, forward_queued(f));
		f->q.len -= f->qhead;
		f->qhead = 0;
		old = f->q.len;
	}
	if (fmt_buf_put(&f->q, (const char *)&len, sizeof(len)) == -1 ||
	    fmt_buf_put(&f->q, pre, npre) == -1 || fmt_buf_put(&f->q, p, n) == -1) {
		f->q.len = old;
		return -1;
	}
	f->qcount++;
	return 0;
}

/* Count a record dropped; while the server is up, say once that the
 * queue overflows (an outage is reported on its own). */
static void
forward_drop(struct forward *f)
{
	f->dropped++;
	if (f->down || f->overflowing)
		return;
	warnx("%s: queue full (%d MiB): dropping records", f->url, FORWARD_QUEUE_MAX >> 20);
	f->overflowing = 1;
}

/* A record the memory queue cannot take goes to the spool, after every
 * one there; past the spool's maximum it is dropped and counted. */
static void
forward_spool_put(struct forward *f, const char *p, size_t n)
{
	if (spool_put(f->spool, p, n) == 0)
		return;
	if (!f->spool_full)
		warnx("%s: the spool holds %llu bytes, its maximum: dropping records", f->url,
		    (unsigned long long)spool_bytes(f->spool));
	f->spool_full = 1;
	f->overflowing = 1;     /* forward_drop says nothing more */
	forward_drop(f);
}

/* spool_take's function: queue one spooled message, framed. */
static int
forward_unspool(void *arg, const char *p, size_t n)
{
	struct forward *f = arg;
	char pre[24];
	size_t npre = f->transport == FORWARD_TCP ?
	    (size_t)snprintf(pre, sizeof(pre), "%zu ", n) : 0;

	return forward_enqueue(f, pre, npre, p, n);
}

/* Once the queue is empty (all it held was sent), take the next batch of
 * the spool into it. */
static void
forward_refill(struct forward *f)
{
	if (f->spool == NULL || forward_queued(f) > 0 || !spool_active(f->spool))
		return;
	f->q_spooled = spool_take(f->spool, FORWARD_QUEUE_MAX / 2, forward_unspool, f) > 0;
}

void
forward_put(struct forward *f, const struct fmt_record *r)
{
	char pre[24];
	size_t npre = 0, n;

	f->msg.len = 0;
	if (forward_format(&f->msg, f->proto, f->host, r) == -1) {
		forward_drop(f);
		return;
	}
	n = f->msg.len;
	if (f->sender != NULL) {
		if (sender_put(f->sender, f->msg.data, n) == -1)
			forward_drop(f);
		return;
	}
	if (f->transport == FORWARD_TCP) {
		npre = (size_t)snprintf(pre, sizeof(pre), "%zu ", n);
	} else if (n > f->max_dgram) {
		n = f->max_dgram;
		if (f->cut++ == 0)
			warnx("%s: messages longer than %zu bytes are cut", f->url, f->max_dgram);
	}
	if (f->spool != NULL && (spool_active(f->spool) ||
	    forward_queued(f) + FORWARD_ENTRY_HDR + npre + n > FORWARD_QUEUE_MAX)) {
		forward_spool_put(f, f->msg.data, n);
		return;
	}
	if (forward_enqueue(f, pre, npre, f->msg.data, n) == -1)
		forward_drop(f);
}

/* The server cannot be reached: report the outage once, drop a TCP
 * connection (the next one starts with the front message whole, on the
 * next address), and wait before trying again. e: an errno, or 0. */
static void
forward_fail(struct forward *f, const char *what, int e)
{
	if (!f->down) {
		warnx("%s: %s%s%s; queueing records", f->url, what, e != 0 ? ": " : "",
		    e != 0 ? strerror(e) : "");
		f->down = 1;
	}
	if (f->transport == FORWARD_TCP) {
		if (f->fd != -1)
			close(f->fd);
		f->fd = -1;
		f->state = FORWARD_IDLE;
		f->qsent = 0;
		f->cur = (f->cur + 1) % f->naddr;
	}
	f->retry_at = seg_now_mono() + f->retry_delay;
	f->retry_delay = f->retry_delay * 2 < FORWARD_RETRY_MAX_NS ?
	    f->retry_delay * 2 : FORWARD_RETRY_MAX_NS;
}

/* The server takes messages again: end an outage, with its count. */
static void
forward_up(struct forward *f)
{
	f->retry_delay = FORWARD_RETRY_MIN_NS;
	if (!f->down)
		return;
	warnx("%s: sending again; %llu records dropped meanwhile", f->url,
	    (unsigned long long)f->dropped);
	f->down = 0;
	f->overflowing = 0;
	f->dropped = 0;
}

/* Start or finish a TCP connect, when it is time. 0 once connected. */
static int
forward_connect(struct forward *f, int64_t now)
{
	if (f->state == FORWARD_IDLE) {
		if (now < f->retry_at)
			return -1;
		f->fd = socket(f->addr[f->cur].ss_family,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (f->fd == -1) {
			forward_fail(f, "socket", errno);
			return -1;
		}
		f->state = FORWARD_CONNECTING;
		f->connect_start = now;
		if (connect(f->fd, (struct sockaddr *)&f->addr[f->cur], f->addrlen[f->cur]) == -1 &&
		    errno != EINPROGRESS) {
			forward_fail(f, "connect", errno);
			return -1;
		}
	}
	if (f->state == FORWARD_CONNECTING) {
		struct pollfd p = { f->fd, POLLOUT, 0 };
		socklen_t len = sizeof(int);
		int e = 0;

		if (poll(&p, 1, 0) <= 0) {        /* not yet (or interrupted) */
			if (now - f->connect_start >= FORWARD_CONNECT_NS)
				forward_fail(f, "connect", ETIMEDOUT);
			return -1;
		}
		if (getsockopt(f->fd, SOL_SOCKET, SO_ERROR, &e, &len) == -1)
			e = errno;
		if (e != 0) {
			forward_fail(f, "connect", e);
			return -1;
		}
		f->state = FORWARD_UP;
		forward_up(f);
	}
	return 0;
}

/* A syslog server sends nothing: anything to read on the connection is
 * its end (or is discarded). 0 while the connection stands. */
static int
forward_check_peer(struct forward *f)
{
	char buf[512];

	for (int i = 0; i < 16; i++) {
		ssize_t n = recv(f->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n > 0 || (n == -1 && errno == EINTR))
			continue;
		if (n == 0) {
			forward_fail(f, "the server closed the connection", 0);
			return -1;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		forward_fail(f, "connection lost", errno);
		return -1;
	}
	return 0;
}

/* Count w bytes of TCP frames as sent. */
static void
forward_advance(struct forward *f, size_t w)
{
	while (w > 0) {
		const char *p;
		size_t left = forward_entry(f, f->qhead, &p) - f->qsent;

		if (w < left) {
			f->qsent += w;
			return;
		}
		w -= left;
		forward_pop(f);
	}
}

/* Send queued TCP frames until the socket is full. */
static void
forward_send_stream(struct forward *f)
{
	while (forward_queued(f) > 0) {
		struct iovec iov[FORWARD_IOV];
		struct msghdr mh = { 0 };
		size_t off = f->qhead;
		int n = 0;
		ssize_t w;

		for (; off < f->q.len && n < FORWARD_IOV; n++) {
			const char *p;
			size_t len = forward_entry(f, off, &p), skip = n == 0 ? f->qsent : 0;

			iov[n].iov_base = (char *)p + skip;
			iov[n].iov_len = len - skip;
			off += FORWARD_ENTRY_HDR + len;
		}
		mh.msg_iov = iov;
		mh.msg_iovlen = (size_t)n;
		w = sendmsg(f->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				forward_fail(f, "send", errno);
			return;
		}
		forward_advance(f, (size_t)w);
	}
}

/* Send queued datagrams until the socket or the receiver is full. */
static void
forward_send_dgram(struct forward *f, int64_t now)
{
	if (f->down && now < f->retry_at)
		return;
	while (forward_queued(f) > 0) {
		const char *p;
		size_t len = forward_entry(f, f->qhead, &p);

		if ((f->proto == FORWARD_JOURNAL ?
		    journal_send(f->fd, (struct sockaddr *)&f->addr[0], f->addrlen[0], p, len) :
		    sendto(f->fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL,
		    (struct sockaddr *)&f->addr[0], f->addrlen[0])) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
				return;
			if (errno == EMSGSIZE) {        /* never fits: drop it */
				f->dropped++;
				forward_pop(f);
				continue;
			}
			forward_fail(f, "send", errno);
			return;
		}
		forward_up(f);
		forward_pop(f);
	}
}

int
forward_flush(struct forward *f)
{
	int64_t now = seg_now_mono();

	if (f->sender != NULL)
		return sender_queued(f->sender) > 0 ? -1 : 0;

	if (f->transport == FORWARD_TCP) {
		if (f->state == FORWARD_UP)
			forward_check_peer(f);
		if (f->state == FORWARD_UP || forward_connect(f, now) == 0)
			forward_send_stream(f);
	} else {
		forward_send_dgram(f, now);
	}
	forward_refill(f);
	if (f->overflowing && !f->down && forward_queued(f) <= FORWARD_QUEUE_MAX / 2) {
		warnx("%s: sending again; %llu records dropped: queue full", f->url,
		    (unsigned long long)f->dropped);
		f->overflowing = 0;
		f->dropped = 0;
	}
	return forward_queued(f) > 0 ? -1 : 0;
}

int
forward_pending(const struct forward *f)
{
	return forward_queued(f) > 0 || (f->spool != NULL && spool_active(f->spool)) ||
	    (f->sender != NULL && sender_queued(f->sender) > 0);
}

size_t
forward_backlog(const struct forward *f)
{
	return f->sender != NULL ? sender_queued(f->sender) : f->qcount;
}

int
forward_spool(struct forward *f, const char *dir, uint64_t max, const char **why)
{
	*why = forward_why;
	if (f->sender != NULL) {
		snprintf(forward_why, sizeof(forward_why), "%s: spool is for udp://, tcp:// "
		    "and local sockets; relp:// and tls:// queue in memory", f->url);
		return -1;
	}
	f->spool = spool_open(dir, max, forward_why, sizeof(forward_why));
	return f->spool != NULL ? 0 : -1;
}

/* The message of a queued entry, without its TCP framing ("LEN "). */
static size_t
forward_entry_msg(const struct forward *f, size_t off, const char **p)
{
	size_t len = forward_entry(f, off, p), k = 0;

	if (f->transport != FORWARD_TCP)
		return len;
	while (k < len && (*p)[k] != ' ')
		k++;
	*p += k + 1;
	return len - k - 1;
}

/* Keep the queue's records, older than any in the spool, in front of
 * them there, for the next mplogd; the number kept. */
static size_t
forward_spool_queue(struct forward *f)
{
	size_t kept = 0;

	if (f->spool == NULL || f->q_spooled || forward_queued(f) == 0 ||
	    spool_front_begin(f->spool) == -1)
		return 0;
	for (size_t off = f->qhead; off < f->q.len; kept++) {
		const char *p;
		size_t n = forward_entry_msg(f, off, &p);

		if (spool_put_front(f->spool, p, n) == -1)
			break;
		off += FORWARD_ENTRY_HDR + forward_entry(f, off, &p);
	}
	spool_front_end(f->spool);
	return kept;
}

void
forward_close(struct forward *f, int64_t timeout_ns)
{
	int64_t deadline = seg_now_mono() + timeout_ns, left;
	uint64_t lost;

	if (f->sender != NULL)
		f->dropped += sender_stop(f->sender, timeout_ns);
	f->retry_at = 0;                /* one more attempt now, whatever the delay */
	while (f->sender == NULL && forward_pending(f) && forward_flush(f) == -1 &&
	    (left = deadline - seg_now_mono()) > 0) {
		/* Room in the socket or a connect done wakes us; a server
		 * that is down is tried again at retry_at, checked each 10 ms. */
		struct pollfd p = { f->fd, POLLOUT, 0 };
		int wait_fd = f->fd != -1 && !(f->transport != FORWARD_TCP && f->down);
		long ms = left / 1000000 + 1;

		poll(&p, wait_fd ? 1 : 0, ms < 10 ? (int)ms : 10);
	}
	lost = f->dropped + f->qcount;
	if (f->spool != NULL) {
		/* A batch from the spool that is not all sent is sent again. */
		lost = f->dropped + (f->q_spooled ? 0 : f->qcount - forward_spool_queue(f));
		if (spool_active(f->spool) || forward_queued(f) > 0)
			warnx("%s: %llu bytes of records wait in the spool for the next start",
			    f->url, (unsigned long long)spool_bytes(f->spool));
		spool_close(f->spool, forward_queued(f) == 0);
	}
	if (lost > 0)
		warnx("%s: %llu records lost", f->url, (unsigned long long)lost);
	if (f->cut > 0)
		warnx("%s: %llu messages cut to %zu bytes", f->url,
		    (unsigned long long)f->cut, f->max_dgram);
	if (f->fd != -1)
		close(f->fd);
	fmt_buf_free(&f->msg);
	fmt_buf_free(&f->q);
	free(f->url);
	free(f);
}
