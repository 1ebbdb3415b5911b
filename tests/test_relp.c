/*
 * test_relp.c - relp:// and tls:// against a real rsyslogd: its imrelp,
 * plain and over TLS, and its imtcp over TLS (the gtls driver), with
 * certificates the test makes with openssl. RELP loses no line when the
 * server is killed in the middle of a load and started again; TLS checks
 * the name on the server's certificate and says clearly when it is not
 * the one asked for.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "forward.h"
#include "harness.h"
#include "need.h"
#include "relp.h"
#include "tlsout.h"
#include "timeout.h"

/* mplogd ignores SIGPIPE (a server gone mid-write): so do these tests,
 * which drive its forwarders in this process. */
static void
rl_setup(void)
{
	harness_setup();
	signal(SIGPIPE, SIG_IGN);
}

TestSuite(relp, .init = rl_setup, .fini = harness_teardown);

#define RL_WAIT_MS  (30000 * TEST_SLOW)
#define RL_LOAD     (1000000 / TEST_SLOW)   /* lines of the kill test */
#define RL_BACKLOG  20000                   /* lines queued before we wait */

/* One rsyslogd with three inputs that write every message to out. */
struct rl_server {
	pid_t pid;
	int relp, relp_tls, tls;        /* ports */
	char *conf, *out, *log, *ca, *cert, *key, *wrong_cert, *wrong_key, *work;
	char *client_cert, *client_key; /* ours, for imrelp over TLS */
};

/* Run sh -c cmd; it must succeed. */
static void
rl_sh(const char *cmd)
{
	char *argv[] = { "/bin/sh", "-c", (char *)cmd, NULL };
	struct harness_result r;

	cr_assert_eq(harness_run(argv, NULL, NULL, &r), 0, "%s: %s", cmd, r.err);
}

/* A CA, a certificate of it for localhost (and 127.0.0.1), one for
 * another name, and one for us as a client. */
static void
rl_certs(struct rl_server *s)
{
	char *dir = harness_file("pki");

	cr_assert_eq(mkdir(dir, 0700), 0);
	s->ca = harness_fmt("%s/ca.pem", dir);
	s->cert = harness_fmt("%s/server.pem", dir);
	s->key = harness_fmt("%s/server.key", dir);
	s->wrong_cert = harness_fmt("%s/wrong.pem", dir);
	s->wrong_key = harness_fmt("%s/wrong.key", dir);
	s->client_cert = harness_fmt("%s/client.pem", dir);
	s->client_key = harness_fmt("%s/client.key", dir);
	rl_sh(harness_fmt("cd '%s' && openssl req -x509 -newkey rsa:2048 -nodes -days 2 "
	    "-subj /CN=mplog-test-ca -keyout ca.key -out ca.pem 2>/dev/null", dir));
	rl_sh(harness_fmt("cd '%s' && for n in server:localhost wrong:elsewhere.example client:mplogd; do "
	    "f=${n%%%%:*}; h=${n#*:}; "
	    "openssl req -newkey rsa:2048 -nodes -subj /CN=$h -keyout $f.key -out $f.csr "
	    "2>/dev/null && printf 'subjectAltName=DNS:%%s,IP:127.0.0.1\\n' $h > $f.ext && "
	    "openssl x509 -req -in $f.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
	    "-extfile $f.ext -out $f.pem 2>/dev/null || exit 1; done", dir));
}

/* Write the config: the inputs, with cert and key as the server's. */
static void
rl_config(struct rl_server *s, const char *cert, const char *key)
{
	FILE *c = fopen(s->conf, "w");

	cr_assert_not_null(c);
	fprintf(c,
	    "global(workDirectory=\"%s\" maxMessageSize=\"128k\" net.enableDNS=\"off\"\n"
	    "    defaultNetstreamDriverCAFile=\"%s\" defaultNetstreamDriverCertFile=\"%s\"\n"
	    "    defaultNetstreamDriverKeyFile=\"%s\")\n"
	    "module(load=\"imrelp\")\n"
	    "module(load=\"imtcp\")\n"
	    "template(name=\"m\" type=\"string\" string=\"%%msg%%\\n\")\n"
	    /* Written before it is acknowledged, so that a kill loses nothing
	     * acknowledged. */
	    "ruleset(name=\"r\" queue.type=\"Direct\") {\n"
	    "    action(type=\"omfile\" file=\"%s\" template=\"m\" flushOnTXEnd=\"on\") }\n"
	    "input(type=\"imrelp\" port=\"%d\" ruleset=\"r\")\n"
	    "input(type=\"imrelp\" port=\"%d\" ruleset=\"r\" tls=\"on\" tls.caCert=\"%s\"\n"
	    "    tls.myCert=\"%s\" tls.myPrivKey=\"%s\" tls.authMode=\"certvalid\")\n"
	    "input(type=\"imtcp\" port=\"%d\" ruleset=\"r\" streamDriver.name=\"gtls\"\n"
	    "    streamDriver.mode=\"1\" streamDriver.authMode=\"anon\")\n",
	    s->work, s->ca, cert, key, s->out, s->relp, s->relp_tls, s->ca, cert, key, s->tls);
	cr_assert_eq(fclose(c), 0);
}

/* 1 when something listens on the TCP port, as /proc/net/tcp and tcp6
 * say (a connection would be a session the server reports as broken). */
static int
rl_listening(int port)
{
	static const char *const tables[] = { "/proc/net/tcp", "/proc/net/tcp6" };
	char line[512];

	for (int t = 0; t < 2; t++) {
		FILE *f = fopen(tables[t], "re");
		unsigned lport, state;

		if (f == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL) {
			/* "sl local_address rem_address st ...": ADDR:PORT in hex. */
			char *colon = strchr(line, ':');

			colon = colon != NULL ? strchr(colon + 1, ':') : NULL;
			if (colon != NULL && sscanf(colon + 1, "%x %*s %x", &lport, &state) == 2 &&
			    lport == (unsigned)port && state == 0x0a) {
				fclose(f);
				return 1;
			}
		}
		fclose(f);
	}
	return 0;
}

/* Start rsyslogd and wait until its three ports listen. */
static void
rl_start(struct rl_server *s)
{
	long long deadline = harness_now_ms() + RL_WAIT_MS;

	s->pid = harness_rsyslogd(s->conf, harness_file("rsyslog.pid"), s->log);
	while (!rl_listening(s->relp) || !rl_listening(s->relp_tls) || !rl_listening(s->tls)) {
		cr_assert(harness_now_ms() < deadline, "rsyslogd not listening:\n%s",
		    harness_read_file(s->log, NULL));
		harness_tick();
	}
}

static void
rl_init(struct rl_server *s)
{
	TEST_NEED(access("/usr/sbin/rsyslogd", X_OK) == 0, "rsyslog");
	TEST_NEED(access("/usr/lib/x86_64-linux-gnu/rsyslog/imrelp.so", R_OK) == 0 ||
	    access("/usr/lib/rsyslog/imrelp.so", R_OK) == 0, "rsyslog-relp");
	TEST_NEED(access("/usr/bin/openssl", X_OK) == 0, "openssl");
	memset(s, 0, sizeof(*s));
	s->relp = harness_free_port(SOCK_STREAM);
	s->relp_tls = harness_free_port(SOCK_STREAM);
	s->tls = harness_free_port(SOCK_STREAM);
	s->conf = harness_file("rsyslog.conf");
	s->out = harness_file("rsyslog.out");
	s->log = harness_file("rsyslog.log");
	s->work = harness_file("work");
	cr_assert_eq(mkdir(s->work, 0700), 0);
	rl_certs(s);
	rl_config(s, s->cert, s->key);
	rl_start(s);
}

static void
rl_stop(struct rl_server *s)
{
	kill(s->pid, SIGTERM);
	harness_wait(s->pid, RL_WAIT_MS);
}

/* Record seq of the tests, its message in buf. */
static struct fmt_record
rl_rec(int seq, char *buf, size_t len)
{
	struct fmt_record r = { .ts_ns = (uint64_t)time(NULL) * 1000000000u, .pid = 7, .tid = 7,
	    .source = 0, .facility = 1, .severity = 6, .proc = "rltest", .msg = buf };

	r.msg_len = (size_t)snprintf(buf, len, "rl seq=%07d", seq);
	return r;
}

/* How many times each of seq [0, n) is in the server's output, in its
 * whole lines; *other: lines that are none of them. */
static unsigned char *
rl_count(const struct rl_server *s, int n, int *other)
{
	unsigned char *count = calloc((size_t)n, 1);
	char *text = harness_read_file(s->out, NULL);
	int seq;

	cr_assert_not_null(count);
	*other = 0;
	for (char *l = text, *nl; *l != '\0'; l = nl + 1) {
		if ((nl = strchr(l, '\n')) == NULL)
			break;  /* a line rsyslogd is still writing: the next look */
		*nl = '\0';
		if (sscanf(l, " rl seq=%d", &seq) == 1 && seq >= 0 && seq < n) {
			if (count[seq] < 255)
				count[seq]++;
		} else {
			(*other)++;
		}
	}
	return count;
}

/* Wait until seq [0, n) each arrived. */
static unsigned char *
rl_await(const struct rl_server *s, int n, int *other)
{
	long long deadline = harness_now_ms() + RL_WAIT_MS;
	unsigned char *count;

	for (;;) {
		int missing = 0;

		count = rl_count(s, n, other);
		for (int seq = 0; seq < n; seq++)
			missing += count[seq] == 0;
		if (missing == 0)
			return count;
		cr_assert(harness_now_ms() < deadline, "%d of %d lines never arrived", missing, n);
		free(count);
		harness_tick();
	}
}

/* Put records [from, to) through f, waiting while the backlog is long;
 * at kill_at, kill the server and start it again. */
static void
rl_load(struct forward *f, struct rl_server *s, int from, int to, int kill_at)
{
	char buf[64];

	for (int seq = from; seq < to; seq++) {
		struct fmt_record r = rl_rec(seq, buf, sizeof(buf));
		long long deadline = harness_now_ms() + RL_WAIT_MS;

		while (forward_backlog(f) > RL_BACKLOG) {
			cr_assert(harness_now_ms() < deadline, "the backlog does not shrink");
			harness_tick();
		}
		forward_put(f, &r);
		if (seq == kill_at) {
			cr_assert_eq(kill(s->pid, SIGKILL), 0);
			harness_wait(s->pid, RL_WAIT_MS);
			rl_start(s);
		}
	}
}

/* Wait until f handed everything over, then close it. */
static void
rl_close(struct forward *f)
{
	long long deadline = harness_now_ms() + RL_WAIT_MS;

	while (forward_backlog(f) > 0) {
		cr_assert(harness_now_ms() < deadline, "%zu records still queued: %s",
		    forward_backlog(f), harness_read_file(harness_file("stderr"), NULL));
		harness_tick();
	}
	forward_close(f, 10000000000LL);
}

/*
 * RELP: rsyslogd is killed (SIGKILL) a third of the way through a load
 * of 1,000,000 lines and started again; every line arrives, and only
 * those unacknowledged when it died (at most librelp's window, and the
 * one being handed over) arrive twice.
 */
Test(relp, a_server_killed_mid_load_misses_no_line, .timeout = TEST_TIMEOUT(300))
{
	struct rl_server s;
	const char *why;
	struct forward *f;
	unsigned char *count;
	int other, twice = 0;

	harness_capture_stderr();
	rl_init(&s);
	f = forward_open(harness_fmt("relp://127.0.0.1:%d", s.relp), FORWARD_RFC5424, &why);
	cr_assert_not_null(f, "%s", why);
	rl_load(f, &s, 0, RL_LOAD, RL_LOAD / 3);
	rl_close(f);
	count = rl_await(&s, RL_LOAD, &other);
	for (int seq = 0; seq < RL_LOAD; seq++)
		twice += count[seq] > 1;
	cr_log_info("%d lines, %d of them twice", RL_LOAD, twice);
	cr_expect_leq(twice, RELP_WINDOW + 1, "%d lines arrived twice", twice);
	cr_expect_eq(other, 0, "%d stray lines", other);
	rl_stop(&s);
}

/* Send n lines to url with tls, close, and check that each arrived once. */
static void
rl_deliver_once(struct rl_server *s, const char *url, const struct tls_conf *tls, int n)
{
	const char *why;
	struct forward *f = forward_open_tls(url, FORWARD_RFC5424, tls, &why);
	unsigned char *count;
	int other;

	cr_assert_not_null(f, "%s", why);
	rl_load(f, s, 0, n, -1);
	rl_close(f);
	count = rl_await(s, n, &other);
	for (int seq = 0; seq < n; seq++)
		cr_assert_eq(count[seq], 1, "seq %d arrived %d times", seq, count[seq]);
	cr_expect_eq(other, 0, "%d stray lines", other);
	free(count);
}

/* RELP over TLS to a server whose certificate carries the name asked
 * for (the URL's host by default): every line once. imrelp over TLS
 * takes only clients with a certificate of their own (its anonymous mode
 * offers no certificate suites): cert= and key= give ours. */
Test(relp, relp_over_tls_delivers_to_the_named_server, .timeout = TEST_TIMEOUT(120))
{
	struct rl_server s;

	harness_capture_stderr();
	rl_init(&s);
	struct tls_conf tls = { s.ca, s.client_cert, s.client_key, NULL };

	rl_deliver_once(&s, harness_fmt("relp://localhost:%d", s.relp_tls), &tls, 2000);
	rl_stop(&s);
}

/* tls:// (RFC 5425): every line once, octet-counted over TLS, to the
 * server named by name= (the URL holds its address). */
Test(relp, tls_delivers_every_line_once_to_the_named_server, .timeout = TEST_TIMEOUT(120))
{
	struct rl_server s;

	harness_capture_stderr();
	rl_init(&s);
	struct tls_conf tls = { s.ca, NULL, NULL, "localhost" };

	rl_deliver_once(&s, harness_fmt("tls://127.0.0.1:%d", s.tls), &tls, 5000);
	rl_stop(&s);
}

/* A server whose certificate carries another name gets nothing, and the
 * reason says what is wrong with it; so with RELP over TLS. */
Test(relp, a_certificate_of_another_name_is_refused_clearly, .timeout = TEST_TIMEOUT(120))
{
	struct tls_conf tls = { NULL };
	struct rl_server s;
	const char *why;
	char *err, buf[64], *text;
	struct forward *f;
	struct fmt_record r = rl_rec(1, buf, sizeof(buf));
	long long deadline;

	err = harness_capture_stderr();
	rl_init(&s);
	rl_stop(&s);
	rl_config(&s, s.wrong_cert, s.wrong_key);
	rl_start(&s);
	tls.ca = s.ca;
	f = forward_open_tls(harness_fmt("tls://localhost:%d", s.tls), FORWARD_RFC5424, &tls, &why);
	cr_assert_not_null(f, "%s", why);
	forward_put(f, &r);
	for (deadline = harness_now_ms() + RL_WAIT_MS;
	    !harness_contains(text = harness_read_file(err, NULL), "queueing records");
	    harness_tick())
		cr_assert(harness_now_ms() < deadline, "no failure reported: %s", text);
	cr_expect(harness_contains(text, "the server's certificate for localhost: The "
	    "certificate is NOT trusted. The name in the certificate does not match"), "%s", text);
	forward_close(f, 0);
	tls.cert = s.client_cert;
	tls.key = s.client_key;
	f = forward_open_tls(harness_fmt("relp://localhost:%d", s.relp_tls), FORWARD_RFC5424,
	    &tls, &why);
	cr_assert_not_null(f, "%s", why);
	forward_put(f, &r);
	for (deadline = harness_now_ms() + RL_WAIT_MS;
	    harness_count(text = harness_read_file(err, NULL), "queueing records") < 2;
	    harness_tick())
		cr_assert(harness_now_ms() < deadline, "no failure reported: %s", text);
	forward_close(f, 0);
	cr_expect(access(s.out, F_OK) == -1 || harness_read_file(s.out, NULL)[0] == '\0',
	    "a line went to the wrong server");
	rl_stop(&s);
}

/* Through mplogd: logmix's lines, captured, reach rsyslogd over RELP,
 * each once, besides the JSON log. */
Test(relp, mplogd_forwards_every_captured_line_over_relp, .timeout = TEST_TIMEOUT(120))
{
	struct rl_server s;
	const char *const args[] = { "-p", "2", "-t", "2", "-n", "500", "-m", "write", NULL };
	char *log, *out, *url;
	struct harness_rec *recs;
	size_t n, lines = 0;
	long long deadline;

	rl_init(&s);
	url = harness_fmt("relp://127.0.0.1:%d", s.relp);
	const char *const opts[] = { "--forward", url, NULL };
	struct harness_result r = harness_run_host(0, "json", opts, "logmix", args, &log);

	cr_assert_eq(r.code, 0, "mplogd -- logmix: %d: %s", r.code, r.err);
	cr_assert(!harness_contains(r.err, "lost"), "%s", r.err);
	recs = harness_json_load(log, &n);
	for (deadline = harness_now_ms() + RL_WAIT_MS;
	    harness_count(out = harness_read_file(s.out, NULL), "\n") < n; harness_tick())
		cr_assert(harness_now_ms() < deadline, "%zu of %zu lines over RELP",
		    harness_count(out, "\n"), n);
	for (size_t i = 0; i < n; i++) {
		lines += strncmp(recs[i].msg, "logmix p=", 9) == 0;
		cr_assert_eq(harness_count(out, harness_fmt("%s\n", recs[i].msg)), 1,
		    "%s: not once over RELP", recs[i].msg);
	}
	cr_assert_eq(lines, 2 * 2 * 500);
	rl_stop(&s);
}

/* Settings that cannot work are refused when the sink is made, naming
 * the problem. */
Test(relp, bad_tls_settings_are_refused_naming_them, .timeout = TEST_TIMEOUT(30))
{
	struct tls_conf none = { NULL }, missing = { "/nonexistent/ca.pem", NULL, NULL, NULL };
	const char *why;

	cr_expect_null(forward_open("tls://127.0.0.1:6514", FORWARD_RFC5424, &why));
	cr_expect(harness_contains(why, "needs ca=FILE"), "%s", why);
	cr_expect_null(forward_open_tls("relp://127.0.0.1", FORWARD_RFC5424, &none, &why));
	cr_expect(harness_contains(why, "TLS needs ca=FILE"), "%s", why);
	cr_expect_null(forward_open_tls("tls://127.0.0.1", FORWARD_RFC5424, &missing, &why));
	cr_expect(harness_contains(why, "ca=/nonexistent/ca.pem: No such file"), "%s", why);
	cr_expect_null(forward_open_tls("tcp://127.0.0.1", FORWARD_RFC5424, &missing, &why));
	cr_expect(harness_contains(why, "are for relp:// and tls://"), "%s", why);
	cr_expect_null(forward_open("relp://", FORWARD_RFC5424, &why));
	cr_expect(harness_contains(why, "expected relp://HOST[:PORT]"), "%s", why);
}
