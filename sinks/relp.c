/* relp.c - acknowledged delivery with RELP, a transport of sender.h. */
#include "relp.h"

#include <librelp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct relp {
	relpEngine_t *engine;
	relpClt_t *clt;
	char *host, *port;
	int connected_once;     /* then connect again with relpCltReconnect */
	char err[200];          /* librelp's last error */
};

/* librelp's error callbacks keep the message for the report. */
static void
relp_on_err(void *usr, char *obj, char *msg, relpRetVal code)
{
	struct relp *r = usr;

	(void)obj;
	if (r != NULL)
		snprintf(r->err, sizeof(r->err), "%s (librelp error %d)", msg, (int)code);
}

/* librelp calls its debug printer unconditionally: one that prints
 * nothing. */
static void __attribute__((format(printf, 1, 2)))
relp_dbg(char *fmt, ...)
{
	(void)fmt;
}

static void
relp_on_generic_err(char *obj, char *msg, relpRetVal code)
{
	(void)obj;
	(void)msg;
	(void)code;
}

/* The reason of a failure: librelp's message, else its code. */
static void
relp_why(struct relp *r, relpRetVal rc, char *err, size_t len)
{
	if (r->err[0] != '\0')
		snprintf(err, len, "%s", r->err);
	else
		snprintf(err, len, "librelp error %d", (int)rc);
	r->err[0] = '\0';
}

static int
relp_connect(void *ctx, char *err, size_t len)
{
	struct relp *r = ctx;
	relpRetVal rc = r->connected_once ? relpCltReconnect(r->clt) :
	    relpCltConnect(r->clt, AF_UNSPEC, (unsigned char *)r->port, (unsigned char *)r->host);

	if (rc != RELP_RET_OK) {
		relp_why(r, rc, err, len);
		return -1;
	}
	r->connected_once = 1;
	return 0;
}

static int
relp_send(void *ctx, const char *p, size_t n, char *err, size_t len)
{
	struct relp *r = ctx;
	relpRetVal rc = relpCltSendSyslog(r->clt, (unsigned char *)p, n);

	if (rc == RELP_RET_OK)
		return 0;
	relp_why(r, rc, err, len);
	return -1;
}

static void
relp_close(void *ctx)
{
	struct relp *r = ctx;

	if (r->clt != NULL)
		relpEngineCltDestruct(r->engine, &r->clt);
	if (r->engine != NULL)
		relpEngineDestruct(&r->engine);
	free(r->host);
	free(r->port);
	free(r);
}

static const struct sender_ops relp_ops = { relp_connect, relp_send, relp_close };

/* Take the TLS settings; 0 or -1. */
static int
relp_tls(struct relp *r, const struct tls_conf *tls)
{
	/* librelp's own default priority asks for compression, which GnuTLS
	 * no longer has: its handshake would never start. */
	return relpCltEnableTLS(r->clt) == RELP_RET_OK &&
	    relpCltSetGnuTLSPriString(r->clt, "NORMAL") == RELP_RET_OK &&
	    relpCltSetCACert(r->clt, (char *)tls->ca) == RELP_RET_OK &&
	    (tls->cert == NULL || relpCltSetOwnCert(r->clt, (char *)tls->cert) == RELP_RET_OK) &&
	    (tls->key == NULL || relpCltSetPrivKey(r->clt, (char *)tls->key) == RELP_RET_OK) &&
	    relpCltSetAuthMode(r->clt, "name") == RELP_RET_OK &&
	    relpCltAddPermittedPeer(r->clt, (char *)tls->name) == RELP_RET_OK ? 0 : -1;
}

int
relp_transport(const char *url, const char *host, const char *port,
    const struct tls_conf *tls, const struct sender_ops **ops, void **ctx, char *why, size_t len)
{
	struct relp *r = calloc(1, sizeof(*r));

	if (r == NULL || (r->host = strdup(host)) == NULL || (r->port = strdup(port)) == NULL) {
		snprintf(why, len, "%s: out of memory", url);
		goto fail;
	}
	if (relpEngineConstruct(&r->engine) != RELP_RET_OK ||
	    relpEngineSetDbgprint(r->engine, relp_dbg) != RELP_RET_OK ||
	    relpEngineSetEnableCmd(r->engine, (unsigned char *)"syslog",
	    eRelpCmdState_Required) != RELP_RET_OK ||
	    relpEngineSetOnErr(r->engine, relp_on_err) != RELP_RET_OK ||
	    relpEngineSetOnAuthErr(r->engine, relp_on_err) != RELP_RET_OK ||
	    relpEngineSetOnGenericErr(r->engine, relp_on_generic_err) != RELP_RET_OK ||
	    relpEngineCltConstruct(r->engine, &r->clt) != RELP_RET_OK ||
	    relpCltSetUsrPtr(r->clt, r) != RELP_RET_OK ||
	    relpCltSetTimeout(r->clt, RELP_TIMEOUT_S) != RELP_RET_OK ||
	    relpCltSetConnTimeout(r->clt, RELP_TIMEOUT_S) != RELP_RET_OK ||
	    relpCltSetWindowSize(r->clt, RELP_WINDOW) != RELP_RET_OK ||
	    (tls != NULL && relp_tls(r, tls) == -1)) {
		snprintf(why, len, "%s: cannot set up librelp%s", url, tls != NULL ?
		    " with TLS" : "");
		goto fail;
	}
	*ops = &relp_ops;
	*ctx = r;
	return 0;
fail:
	if (r != NULL)
		relp_close(r);
	return -1;
}
