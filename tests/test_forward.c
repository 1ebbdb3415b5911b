/*
 * test_forward.c - sinks/forward.c: messages built by hand from RFC 5424
 * and RFC 3164, URLs refused with a reason, and records sent to a real
 * rsyslogd over UDP, TCP and a unix datagram socket, each arriving once
 * with its priority, time, host, app name and pid as rsyslogd parsed
 * them. Over TCP the server is stopped (SIGSTOP) and killed and started
 * again on its port: what was queued meanwhile arrives once, and the
 * records dropped on overflow are reported with their count.
 *
 * Each test starts its own rsyslogd (rsyslogd -n with a private config:
 * loopback ports found free, a socket in the scratch folder, one output
 * file showing every field): /usr/sbin/rsyslogd, or $MPLOG_RSYSLOGD. A
 * missing rsyslogd fails the test: CI installs it (scripts/setup-deps). Nothing sleeps in place of an event:
 * the output file is polled with a deadline.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "forward.h"
#include "harness.h"
#include "lane.h"
#include "need.h"
#include "sinkspec.h"

TestSuite(forward, .init = harness_setup, .fini = harness_teardown);

#define FW_WAIT_MS    (30000 * TEST_SLOW)     /* bound on any condition polled for */

/* CLOCK_REALTIME nanoseconds of a UTC date and time. */
static uint64_t
fw_utc(int y, int mo, int d, int h, int mi, int s, uint32_t ns)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
	    .tm_hour = h, .tm_min = mi, .tm_sec = s };

	return (uint64_t)timegm(&tm) * 1000000000u + ns;
}

/* The message forward_format makes of r, NUL-terminated, on the heap. */
static char *
fw_format(enum forward_proto proto, const char *host, const struct fmt_record *r)
{
	struct fmt_buf b = { 0 };

	cr_assert(forward_format(&b, proto, host, r) == 0, "forward_format failed");
	cr_assert(fmt_buf_put(&b, "", 1) == 0);
	return b.data;
}

/* A record with the fields the format tests vary. */
static struct fmt_record
fw_rec(uint64_t ts, int pid, int fac, int sev, const char *proc, const char *ident,
    const char *msg)
{
	struct fmt_record r = { .ts_ns = ts, .pid = pid, .tid = pid, .source = 1,
	    .facility = (uint8_t)fac, .severity = (uint8_t)sev, .proc = proc,
	    .ident = ident, .msg = msg, .msg_len = strlen(msg) };

	return r;
}

#define FW_EXPECT_FORMAT(proto, host, rec, want) do {                           \
		struct fmt_record fw_r_ = (rec);                                \
		char *fw_got_ = fw_format((proto), (host), &fw_r_);             \
		cr_expect_str_eq(fw_got_, (want));                              \
		free(fw_got_);                                                  \
	} while (0)

/* RFC 5424 section 6: <PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP
 * PROCID SP MSGID SP STRUCTURED-DATA [SP MSG]; PRI = facility * 8 +
 * severity; TIME-SECFRAC at most 6 digits; NILVALUE "-". */
Test(forward, formats_rfc5424_from_the_rfc)
{
	uint64_t t = fw_utc(2023, 11, 14, 22, 13, 20, 123456789);
	char app49[50], want[200];

	/* local0.err = 16 * 8 + 3 = 131; the ident is the APP-NAME. */
	FW_EXPECT_FORMAT(FORWARD_RFC5424, "build01.example.org",
	    fw_rec(t, 4242, 16, 3, "proc", "myapp", "disk full"),
	    "<131>1 2023-11-14T22:13:20.123456Z build01.example.org myapp 4242 - [mplog@32473 tid=\"4242\" source=\"syslog\"] disk full");
	/* kern.emerg = 0; no ident: the process name; nanoseconds cut, not
	 * rounded; an empty message: no space after the structured data,
	 * which names the thread and the source (section 6.3, an SD-ID of
	 * our own). */
	FW_EXPECT_FORMAT(FORWARD_RFC5424, "h",
	    fw_rec(fw_utc(2024, 2, 29, 0, 0, 0, 999999999), 1, 0, 0, "init", NULL, ""),
	    "<0>1 2024-02-29T00:00:00.999999Z h init 1 - [mplog@32473 tid=\"1\" source=\"syslog\"]");
	/* local7.debug = 23 * 8 + 7 = 191; an empty ident counts as none;
	 * no pid, no host, no name: NILVALUE each. */
	FW_EXPECT_FORMAT(FORWARD_RFC5424, "",
	    fw_rec(t, 0, 23, 7, "", "", "x"),
	    "<191>1 2023-11-14T22:13:20.123456Z - - - - [mplog@32473 source=\"syslog\"] x");
	/* APP-NAME: PRINTUSASCII only (space, control and non-ASCII bytes
	 * become '_'); newlines at the end go, newlines inside stay. */
	FW_EXPECT_FORMAT(FORWARD_RFC5424, "host name",
	    fw_rec(t, 7, 1, 6, "p", "my app\t\xc3\xa9", "one\ntwo\n\n"),
	    "<14>1 2023-11-14T22:13:20.123456Z host_name my_app___ 7 - [mplog@32473 tid=\"7\" source=\"syslog\"] one\ntwo");
	/* APP-NAME is at most 48 characters. */
	memset(app49, 'a', 49);
	app49[49] = '\0';
	snprintf(want, sizeof(want), "<13>1 2023-11-14T22:13:20.123456Z h %.48s 9 - [mplog@32473 tid=\"9\" source=\"syslog\"] m", app49);
	FW_EXPECT_FORMAT(FORWARD_RFC5424, "h", fw_rec(t, 9, 1, 5, "p", app49, "m"), want);
	/* The message bytes go as they are: no BOM, invalid UTF-8 kept. */
	FW_EXPECT_FORMAT(FORWARD_RFC5424, "h",
	    fw_rec(t, 9, 1, 5, "p", NULL, "\xff\xfe bytes"),
	    "<13>1 2023-11-14T22:13:20.123456Z h p 9 - [mplog@32473 tid=\"9\" source=\"syslog\"] \xff\xfe bytes");
	/* The thread's name, its '"', '\\' and ']' escaped (section 6.3.3),
	 * control bytes made '?'. */
	struct fmt_record named = fw_rec(t, 9, 1, 5, "p", NULL, "m");
	named.tid = 10;
	named.thread = "w\"o\\r]k\ter";
	FW_EXPECT_FORMAT(FORWARD_RFC5424, "h", named,
	    "<13>1 2023-11-14T22:13:20.123456Z h p 9 - "
	    "[mplog@32473 tid=\"10\" thread=\"w\\\"o\\\\r\\]k?er\" source=\"syslog\"] m");
	/* Captured stdout says so. */
	named.source = LANE_SRC_STDOUT;
	FW_EXPECT_FORMAT(FORWARD_RFC5424, "h", named,
	    "<13>1 2023-11-14T22:13:20.123456Z h p 9 - "
	    "[mplog@32473 tid=\"10\" thread=\"w\\\"o\\\\r\\]k?er\" source=\"stdout\"] m");
}

/* RFC 3164 section 4.1: <PRI>TIMESTAMP SP HOSTNAME SP TAG[PID]: MSG;
 * TIMESTAMP "Mmm dd hh:mm:ss" in local time, a day below 10 padded with a
 * space; HOSTNAME without its domain; TAG at most 32 characters. */
Test(forward, formats_rfc3164_from_the_rfc_and_the_local_form)
{
	uint64_t t = fw_utc(2023, 11, 14, 22, 13, 20, 123456789);
	char tag33[34], want[200];

	/* UTC+05:30: 22:13:20 UTC on the 14th is 03:43:20 on the 15th. */
	setenv("TZ", "XST-5:30", 1);
	tzset();
	/* Each in both forms: the local one (what glibc's syslog(3) sends to
	 * /dev/log) is the same without the host name. */
	for (int local = 0; local < 2; local++) {
		enum forward_proto p = local ? FORWARD_LOCAL : FORWARD_RFC3164;

		FW_EXPECT_FORMAT(p, "build01.example.org",
		    fw_rec(t, 4242, 16, 3, "proc", "myapp", "disk full"),
		    local ? "<131>Nov 15 03:43:20 myapp[4242]: disk full" :
		    "<131>Nov 15 03:43:20 build01 myapp[4242]: disk full");
		/* 00:10:20 UTC on March 5th is 05:40:20 there: "Mar  5". */
		FW_EXPECT_FORMAT(p, "h",
		    fw_rec(fw_utc(2024, 3, 5, 0, 10, 20, 0), 77, 1, 6, "daemon-x", NULL, "hello"),
		    local ? "<14>Mar  5 05:40:20 daemon-x[77]: hello" :
		    "<14>Mar  5 05:40:20 h daemon-x[77]: hello");
		/* No pid: no [PID]; '[', ']' and ':' would end the TAG: '_'. */
		FW_EXPECT_FORMAT(p, "h",
		    fw_rec(fw_utc(2024, 12, 31, 18, 29, 59, 0), 0, 3, 4, "p", "a[b]:c", "m"),
		    local ? "<28>Dec 31 23:59:59 a_b__c: m" : "<28>Dec 31 23:59:59 h a_b__c: m");
	}
	memset(tag33, 't', 33);
	tag33[33] = '\0';
	snprintf(want, sizeof(want), "<13>Nov 15 03:43:20 h %.32s[5]: m", tag33);
	FW_EXPECT_FORMAT(FORWARD_RFC3164, "h", fw_rec(t, 5, 1, 5, tag33, NULL, "m"), want);
}

/* A unix:// sink speaks that form unless its format says otherwise;
 * "local" is a format of every server sink. */
Test(forward, a_local_socket_gets_the_syslog_form_by_default)
{
	static const struct { const char *arg; enum sink_proto want; } cases[] = {
		{ "unix:///dev/log", SINK_LOCAL },
		{ "unix:///dev/log,format=rfc5424", SINK_RFC5424 },
		{ "unix:///dev/log,format=rfc3164", SINK_RFC3164 },
		{ "udp://127.0.0.1", SINK_RFC5424 },
		{ "tcp://127.0.0.1:601,format=local", SINK_LOCAL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sink_spec spec;
		char why[256];

		cr_assert_eq(sinkspec_parse(&spec, SINK_FORWARD, cases[i].arg, why, sizeof(why)), 0,
		    "%s: %s", cases[i].arg, why);
		cr_expect_eq(spec.proto, cases[i].want, "%s", cases[i].arg);
		sinkspec_free(&spec);
	}
}

/* forward_open's reason for a URL it refuses, "" when it takes it. */
static char *
fw_refusal(const char *url)
{
	const char *why = NULL;
	struct forward *f = forward_open(url, FORWARD_RFC5424, &why);

	if (f != NULL) {
		forward_close(f, 0);
		return strdup("");
	}
	cr_assert(why != NULL && strchr(why, '\n') == NULL, "%s: no one-line reason", url);
	cr_assert(strncmp(why, url, strlen(url)) == 0, "%s: reason does not name it: %s", url, why);
	return strdup(why);
}

Test(forward, refuses_bad_urls_with_a_reason, .timeout = TEST_TIMEOUT(30))
{
	static const char *const bad[] = {
		"syslog://127.0.0.1:514", "udp://", "tcp://:514", "udp://127.0.0.1:0",
		"udp://127.0.0.1:65536", "tcp://127.0.0.1:51x", "tcp://::1:514",
		"tcp://[::1", "unix://relative/path", "unix://", "udp://no-such-host.invalid:514",
	};
	static const char *const good[] = {
		"udp://127.0.0.1", "tcp://127.0.0.1:6514", "tcp://[::1]:514",
		"unix:///nonexistent/log", "udp://localhost:514",
	};
	char *why;

	harness_capture_stderr();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = fw_refusal(bad[i]);
		cr_expect(why[0] != '\0', "%s was accepted", bad[i]);
		free(why);
	}
	why = fw_refusal("udp://no-such-host.invalid:514");
	cr_expect(harness_contains(why, "cannot resolve no-such-host.invalid"), "%s", why);
	free(why);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		why = fw_refusal(good[i]);
		cr_expect_str_eq(why, "", "%s refused: %s", good[i], why);
		free(why);
	}
}

/* ---- a real rsyslogd ------------------------------------------------ */

/* rsyslogd's template: every field forward sets, the message last. */
#define FW_TEMPLATE "%pri% %timereported:::date-rfc3339% %hostname% %app-name% " \
	"%procid% %msgid% {%structured-data%} [%msg%]\\n"

/* One rsyslogd, and what arrived in its output file. */
struct fw_rs {
	pid_t pid;
	int udp, tcp;                   /* its loopback ports */
	char *sock, *conf, *out, *pidfile, *log, *work;
	char *lsock;                    /* imuxsock with its defaults, as /dev/log */
	/* The output file, read as it grows. */
	int fd;
	char *buf;
	size_t len, cap;
	/* The records of the batch being checked. */
	enum forward_proto proto;
	int nseq;
	unsigned char *count;           /* per seq: times it arrived */
	int got;                        /* records of the batch that arrived */
	int probes;                     /* bit per transport: a probe arrived */
	int ends;                       /* end markers that arrived */
	int last_seq;                   /* of the batch, the last that arrived */
	int disorder;                   /* records that came after a later one */
	char host[256];
};

/* Write the private config: the three inputs, one ruleset, one file. */
static void
fw_rs_config(struct fw_rs *rs)
{
	FILE *c = fopen(rs->conf, "w");

	cr_assert(c != NULL, "%s: %s", rs->conf, strerror(errno));
	fprintf(c,
	    "global(workDirectory=\"%s\" maxMessageSize=\"128k\" net.enableDNS=\"off\")\n"
	    "module(load=\"imudp\")\n"
	    "module(load=\"imtcp\")\n"
	    "module(load=\"imuxsock\" sysSock.use=\"off\")\n"
	    "template(name=\"fwall\" type=\"string\" string=\"%s\")\n"
	    "ruleset(name=\"fw\") { action(type=\"omfile\" file=\"%s\" template=\"fwall\") }\n"
	    "input(type=\"imudp\" address=\"127.0.0.1\" port=\"%d\" ruleset=\"fw\"\n"
	    "    rcvbufSize=\"8m\")\n"
	    "input(type=\"imtcp\" address=\"127.0.0.1\" port=\"%d\" ruleset=\"fw\")\n"
	    "input(type=\"imuxsock\" socket=\"%s\" ruleset=\"fw\" useSpecialParser=\"off\"\n"
	    "    parseHostname=\"on\" useSysTimeStamp=\"off\" ignoreTimestamp=\"off\"\n"
	    "    ratelimit.interval=\"0\")\n"
	    "input(type=\"imuxsock\" socket=\"%s\" ruleset=\"fw\" ratelimit.interval=\"0\")\n",
	    rs->work, FW_TEMPLATE, rs->out, rs->udp, rs->tcp, rs->sock, rs->lsock);
	cr_assert(fclose(c) == 0);
}

/* 1 when pid has exited (a zombie, or gone). */
static int
fw_dead(pid_t pid)
{
	char path[64], stat[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 1;
	n = fread(stat, 1, sizeof(stat) - 1, f);
	fclose(f);
	stat[n] = '\0';
	p = strrchr(stat, ')');
	return p == NULL || p[1] == '\0' || p[2] == 'Z' || p[2] == 'X';
}

/* Bits of rs->probes. */
#define FW_PROBE_UDP  1
#define FW_PROBE_TCP  2
#define FW_PROBE_UNIX 4
#define FW_PROBE_LOCAL 8
#define FW_PROBE_ALL  15

static void fw_rs_read(struct fw_rs *rs);

/* Send one probe message over each input not yet seen to work. */
static void
fw_rs_probe(struct fw_rs *rs)
{
	static const char udp[] = "<13>1 - - probe - - - udp", ux[] = "<13>1 - - probe - - - unix";
	static const char local[] = "<13>Jan  1 00:00:00 probe: local";
	static const char tcp[] = "25 <13>1 - - probe - - - tcp";
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	int fd;

	if (!(rs->probes & FW_PROBE_UDP) && (fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) != -1) {
		in.sin_port = htons((uint16_t)rs->udp);
		sendto(fd, udp, sizeof(udp) - 1, 0, (struct sockaddr *)&in, sizeof(in));
		close(fd);
	}
	if (!(rs->probes & FW_PROBE_UNIX) && (fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) != -1) {
		snprintf(un.sun_path, sizeof(un.sun_path), "%s", rs->sock);
		sendto(fd, ux, sizeof(ux) - 1, MSG_DONTWAIT, (struct sockaddr *)&un, sizeof(un));
		close(fd);
	}
	if (!(rs->probes & FW_PROBE_LOCAL) && (fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) != -1) {
		snprintf(un.sun_path, sizeof(un.sun_path), "%s", rs->lsock);
		sendto(fd, local, sizeof(local) - 1, MSG_DONTWAIT, (struct sockaddr *)&un, sizeof(un));
		close(fd);
	}
	if (!(rs->probes & FW_PROBE_TCP) && (fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) != -1) {
		in.sin_port = htons((uint16_t)rs->tcp);
		if (connect(fd, (struct sockaddr *)&in, sizeof(in)) == 0)
			send(fd, tcp, sizeof(tcp) - 1, MSG_NOSIGNAL);
		close(fd);
	}
}

/* Start rsyslogd on rs's config and wait until a probe came through each
 * of its inputs. */
static void
fw_rs_start(struct fw_rs *rs)
{
	long long deadline = harness_now_ms() + FW_WAIT_MS;

	rs->pid = harness_rsyslogd(rs->conf, rs->pidfile, rs->log);
	rs->probes = 0;
	while (rs->probes != FW_PROBE_ALL) {
		if (fw_dead(rs->pid))
			cr_assert_fail("rsyslogd exited at start:\n%s", harness_read_file(rs->log, NULL));
		cr_assert(harness_now_ms() < deadline, "rsyslogd not ready after %d ms (probes 0x%x):\n%s",
		    FW_WAIT_MS, rs->probes, harness_read_file(rs->log, NULL));
		fw_rs_probe(rs);
		harness_tick();
		fw_rs_read(rs);
	}
}

/* Set up rs (ports, paths, config) for batches of up to nseq records,
 * and start rsyslogd. */
static void
fw_rs_init(struct fw_rs *rs, int nseq)
{
	memset(rs, 0, sizeof(*rs));
	rs->udp = harness_free_port(SOCK_DGRAM);
	rs->tcp = harness_free_port(SOCK_STREAM);
	rs->sock = harness_file("log.sock");
	rs->lsock = harness_file("local.sock");
	rs->conf = harness_file("rsyslog.conf");
	rs->out = harness_file("rsyslog.out");
	rs->pidfile = harness_file("rsyslog.pid");
	rs->log = harness_file("rsyslog.log");
	rs->work = harness_file("rsyslog-work");
	cr_assert(mkdir(rs->work, 0700) == 0, "%s: %s", rs->work, strerror(errno));
	rs->fd = -1;
	rs->nseq = nseq;
	rs->count = calloc((size_t)nseq, 1);
	cr_assert(rs->count != NULL);
	cr_assert(gethostname(rs->host, sizeof(rs->host)) == 0);
	fw_rs_config(rs);
	fw_rs_start(rs);
}

/* The URL of one of rs's inputs: "udp", "tcp", "unix" or "local" (a unix
 * socket as /dev/log is: imuxsock with its default parser). */
static char *
fw_url(const struct fw_rs *rs, const char *kind)
{
	if (strcmp(kind, "unix") == 0)
		return harness_fmt("unix://%s", rs->sock);
	if (strcmp(kind, "local") == 0)
		return harness_fmt("unix://%s", rs->lsock);
	return harness_fmt("%s://127.0.0.1:%d", kind, strcmp(kind, "udp") == 0 ? rs->udp : rs->tcp);
}

/* ---- the records of a batch ---------------------------------------- */

static const char *const fw_idents[] = { NULL, "fwapp", "fw.app-2", "fw_app/3" };

/* Record seq of a batch with pad bytes of text (at least); msg is its
 * buffer, of pad + 64 bytes. Facility, severity, pid, ident, time and
 * a newline inside vary with seq. */
/* Thread names of the batch: none, one that needs escaping, a plain one. */
static const char *const fw_threads[] = { NULL, "w\"o]k\\er", "worker" };

static struct fmt_record
fw_batch_rec(int seq, size_t pad, char *msg)
{
	static uint64_t base;
	struct fmt_record r = { 0 };
	int n;

	if (base == 0) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		base = (uint64_t)ts.tv_sec * 1000000000u;
	}
	n = snprintf(msg, 64, "fw seq=%d%s", seq, seq % 7 == 0 ? "\nsecond line " : " ");
	for (size_t i = 0; i < pad; i++)
		msg[n + (int)i] = (char)('a' + (seq + (int)i) % 26);
	r.ts_ns = base + (uint64_t)seq * 1234567u;
	r.pid = r.tid = 100 + seq % 30000;
	r.source = (uint8_t)(seq % 4);
	r.thread = fw_threads[seq % 3];
	r.facility = (uint8_t)(seq % 24);
	r.severity = (uint8_t)(seq % 8);
	r.proc = "fwproc";
	r.ident = fw_idents[seq % 4];
	r.msg = msg;
	r.msg_len = (size_t)n + pad;
	r.continued = seq % 10 == 9;    /* a piece: a message of its own */
	return r;
}

/* How rsyslogd shows a message's bytes: control characters as #ooo. */
static char *
fw_escaped(const char *s, size_t n)
{
	char *out = malloc(n * 4 + 1), *p = out;

	cr_assert(out != NULL);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20)
			p += sprintf(p, "#%03o", (unsigned char)s[i]);
		else
			*p++ = s[i];
	*p = '\0';
	return out;
}

/* The pad of each batch record: rs->pad, or big for every 100th. */
struct fw_batch {
	size_t pad;
	size_t big;             /* 0: none */
	size_t cut;             /* 0, or the datagram size the message is cut to */
};

static struct fw_batch fw_cur;

/* The pad of record seq in the current batch. */
static size_t
fw_pad(int seq)
{
	return fw_cur.big != 0 && seq % 100 == 50 ? fw_cur.big : fw_cur.pad;
}

/* The structured data of r as RFC 5424 section 6.3 writes it, built
 * here from the record ('"', '\\' and ']' escaped in a value), which
 * rsyslogd's %structured-data% must give back as it arrived; "-" for
 * the forms without any. */
static void
fw_check_sd(const struct fw_rs *rs, int seq, const struct fmt_record *r, const char *sd)
{
	static const char *const sources[] = { "stderr", "syslog", "mplog", "stdout" };
	char want[256];
	int n;

	if (rs->proto != FORWARD_RFC5424) {
		cr_expect_str_eq(sd, "-", "seq %d", seq);
		return;
	}
	n = snprintf(want, sizeof(want), "[mplog@32473 tid=\"%d\"", (int)r->tid);
	if (r->thread != NULL) {
		n += snprintf(want + n, sizeof(want) - (size_t)n, " thread=\"");
		for (const char *p = r->thread; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\' || *p == ']')
				want[n++] = '\\';
			want[n++] = *p;
		}
		want[n++] = '"';
	}
	snprintf(want + n, sizeof(want) - (size_t)n, " source=\"%s\"]", sources[r->source]);
	cr_expect_str_eq(sd, want, "seq %d: structured data", seq);
}

/* Check one record line of the output against record seq. */
static void
fw_check_line(struct fw_rs *rs, int seq, int pri, const char *ts, const char *host,
    const char *app, const char *procid, const char *msgid, const char *sd, const char *msg)
{
	size_t pad = fw_pad(seq);
	char *buf = malloc(pad + 64), want_ts[40], want_host[256], want_app[64], *want_msg;
	struct fmt_record r = fw_batch_rec(seq, pad, buf);
	size_t keep = r.msg_len;
	time_t t = (time_t)(r.ts_ns / 1000000000u);
	struct tm tm;

	cr_assert(buf != NULL);
	cr_expect_eq(pri, r.facility * 8 + r.severity, "seq %d: pri %d", seq, pri);
	snprintf(want_host, sizeof(want_host), "%s", rs->host);
	if (rs->proto == FORWARD_LOCAL) {
		/* imuxsock stamps what it receives with its own clock, and
		 * names its own host. */
		want_host[strcspn(want_host, ".")] = '\0';
		if (msg[0] == ' ')
			msg++;
	} else if (rs->proto == FORWARD_RFC3164) {
		/* rsyslogd adds the year and its offset to "Mmm dd hh:mm:ss". */
		localtime_r(&t, &tm);
		strftime(want_ts, sizeof(want_ts), "%Y-%m-%dT%H:%M:%S", &tm);
		cr_expect(strncmp(ts, want_ts, 19) == 0, "seq %d: time %s, not %s", seq, ts, want_ts);
		want_host[strcspn(want_host, ".")] = '\0';
		if (msg[0] == ' ')      /* rsyslogd keeps the space after "TAG:" */
			msg++;
	} else {
		gmtime_r(&t, &tm);
		strftime(want_ts, 21, "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(want_ts + 19, sizeof(want_ts) - 19, ".%06uZ",
		    (unsigned)(r.ts_ns % 1000000000u / 1000u));
		cr_expect(strcmp(ts, want_ts) == 0, "seq %d: time %s, not %s", seq, ts, want_ts);
	}
	snprintf(want_app, sizeof(want_app), "%s", r.ident != NULL ? r.ident : r.proc);
	/* rsyslogd takes a 3164 TAG's APP-NAME up to a '/' ("postfix/smtpd"). */
	if (rs->proto == FORWARD_RFC3164 || rs->proto == FORWARD_LOCAL)
		want_app[strcspn(want_app, "/")] = '\0';
	cr_expect(strcmp(host, want_host) == 0, "seq %d: host %s, not %s", seq, host, want_host);
	cr_expect(strcmp(app, want_app) == 0, "seq %d: app name %s, not %s", seq, app, want_app);
	cr_expect_eq(atoi(procid), r.pid, "seq %d: procid %s", seq, procid);
	cr_expect(strcmp(msgid, "-") == 0, "seq %d: msgid %s", seq, msgid);
	fw_check_sd(rs, seq, &r, sd);
	if (fw_cur.cut != 0) {
		struct fmt_buf b = { 0 };

		cr_assert(forward_format(&b, rs->proto, rs->host, &r) == 0);
		if (b.len > fw_cur.cut)
			keep -= b.len - fw_cur.cut;
		fmt_buf_free(&b);
	}
	want_msg = fw_escaped(r.msg, keep);
	cr_expect(strcmp(msg, want_msg) == 0, "seq %d: message of %zu bytes, not %zu:\n%.200s",
	    seq, strlen(msg), strlen(want_msg), msg);
	free(want_msg);
	free(buf);
}

/* Take one line of the output file: a probe, an end marker or a record. */
static void
fw_rs_line(struct fw_rs *rs, char *line)
{
	char ts[64], host[300], app[64], procid[32], msgid[64];
	char *msg, *end, *sd;
	int pri, seq, off = 0;

	cr_assert(sscanf(line, "%d %63s %299s %63s %31s %63s {%n", &pri, ts, host, app,
	    procid, msgid, &off) == 6 && off > 0, "not a line of the template: %s", line);
	sd = line + off;
	msg = strstr(sd, "} [");
	cr_assert(msg != NULL, "not a line of the template: %s", line);
	*msg = '\0';
	msg += 3;
	end = strrchr(msg, ']');
	cr_assert(end != NULL && end[1] == '\0', "not a line of the template: %s", line);
	*end = '\0';
	if (strcmp(app, "probe") == 0) {
		rs->probes |= harness_contains(msg, "udp") ? FW_PROBE_UDP :
		    harness_contains(msg, "tcp") ? FW_PROBE_TCP :
		    harness_contains(msg, "local") ? FW_PROBE_LOCAL : FW_PROBE_UNIX;
		return;
	}
	if (strstr(msg, "fw end") != NULL) {
		rs->ends++;
		return;
	}
	cr_assert(sscanf(msg + (msg[0] == ' '), "fw seq=%d", &seq) == 1, "a stray line: %s", line);
	cr_assert(seq >= 0 && seq < rs->nseq, "seq %d out of range", seq);
	cr_assert(rs->count[seq] == 0, "seq %d arrived twice", seq);
	rs->count[seq]++;
	rs->got++;
	rs->disorder += seq < rs->last_seq;
	rs->last_seq = seq;
	fw_check_line(rs, seq, pri, ts, host, app, procid, msgid, sd, msg);
}

/* Read what rsyslogd has written since the last call; take whole lines. */
static void
fw_rs_read(struct fw_rs *rs)
{
	ssize_t n;
	char *nl, *p;

	if (rs->fd == -1 && (rs->fd = open(rs->out, O_RDONLY | O_CLOEXEC)) == -1)
		return;         /* not written yet */
	for (;;) {
		if (rs->cap - rs->len < 65536) {
			rs->cap = rs->cap * 2 + 65536;
			rs->buf = realloc(rs->buf, rs->cap);
			cr_assert(rs->buf != NULL);
		}
		n = read(rs->fd, rs->buf + rs->len, rs->cap - rs->len - 1);
		cr_assert(n != -1, "%s: %s", rs->out, strerror(errno));
		if (n == 0)
			break;
		rs->len += (size_t)n;
	}
	p = rs->buf;
	while ((nl = memchr(p, '\n', rs->len - (size_t)(p - rs->buf))) != NULL) {
		*nl = '\0';
		fw_rs_line(rs, p);
		p = nl + 1;
	}
	rs->len -= (size_t)(p - rs->buf);
	memmove(rs->buf, p, rs->len);
}

/* Wait until `got` records of the batch arrived. */
static void
fw_rs_wait(struct fw_rs *rs, int got)
{
	long long deadline = harness_now_ms() + FW_WAIT_MS;

	for (fw_rs_read(rs); rs->got < got; fw_rs_read(rs)) {
		cr_assert(harness_now_ms() < deadline, "%d of %d records arrived in %d ms",
		    rs->got, got, FW_WAIT_MS);
		harness_tick();
	}
}

/* Flush f until nothing is queued. */
static void
fw_drain(struct forward *f)
{
	long long deadline = harness_now_ms() + FW_WAIT_MS;

	while (forward_flush(f) == -1) {
		cr_assert(harness_now_ms() < deadline, "records still queued after %d ms", FW_WAIT_MS);
		harness_tick();
	}
}

/* Send an end marker through f and wait for it: every record sent
 * before it has arrived, so rs->got is final. */
static void
fw_rs_end(struct fw_rs *rs, struct forward *f)
{
	struct fmt_record r = { .pid = 1, .proc = "fwproc", .msg = "fw end", .msg_len = 6 };
	long long deadline = harness_now_ms() + FW_WAIT_MS;
	int ends = rs->ends;

	r.ts_ns = (uint64_t)time(NULL) * 1000000000u;
	forward_put(f, &r);
	fw_drain(f);
	for (fw_rs_read(rs); rs->ends == ends; fw_rs_read(rs)) {
		cr_assert(harness_now_ms() < deadline, "the end marker did not arrive in %d ms", FW_WAIT_MS);
		harness_tick();
	}
}

/* Start a batch of records [0, nseq) of proto. */
static void
fw_rs_batch(struct fw_rs *rs, enum forward_proto proto, struct fw_batch b)
{
	rs->proto = proto;
	memset(rs->count, 0, (size_t)rs->nseq);
	rs->got = 0;
	rs->last_seq = -1;
	rs->disorder = 0;
	fw_cur = b;
}

/* Put record seq of the current batch to f. */
static void
fw_put(struct forward *f, int seq)
{
	size_t pad = fw_pad(seq);
	char *buf = malloc(pad + 64);
	struct fmt_record r;

	cr_assert(buf != NULL);
	r = fw_batch_rec(seq, pad, buf);
	forward_put(f, &r);
	free(buf);
}

/* Send records [0, n) through a new forwarder to rs's input kind, and
 * check that each arrived exactly once, intact. */
static void
fw_deliver(struct fw_rs *rs, const char *kind, enum forward_proto proto, int n,
    struct fw_batch b)
{
	char *url = fw_url(rs, kind);
	const char *why;
	struct forward *f = forward_open(url, proto, &why);

	cr_assert(f != NULL, "%s", why);
	fw_rs_batch(rs, proto, b);
	for (int seq = 0; seq < n; seq++) {
		fw_put(f, seq);
		if (seq % 64 == 63)
			forward_flush(f);
	}
	fw_drain(f);
	fw_rs_wait(rs, n);
	fw_rs_end(rs, f);
	cr_expect_eq(rs->got, n, "%s: %d records arrived, not %d", url, rs->got, n);
	forward_close(f, 1000000000LL);
	free(url);
}

Test(forward, udp_delivers_every_record_once, .timeout = TEST_TIMEOUT(60))
{
	struct fw_rs rs;

	fw_rs_init(&rs, 1000);
	fw_deliver(&rs, "udp", FORWARD_RFC5424, 500, (struct fw_batch){ .pad = 40 });
}

Test(forward, tcp_delivers_every_record_once, .timeout = TEST_TIMEOUT(60))
{
	struct fw_rs rs;

	/* Every 100th message is 60000 bytes: partial writes. */
	fw_rs_init(&rs, 3000);
	fw_deliver(&rs, "tcp", FORWARD_RFC5424, 3000,
	    (struct fw_batch){ .pad = 100, .big = 60000 });
}

Test(forward, unix_delivers_every_record_once, .timeout = TEST_TIMEOUT(60))
{
	struct fw_rs rs;

	fw_rs_init(&rs, 2000);
	fw_deliver(&rs, "unix", FORWARD_RFC5424, 2000, (struct fw_batch){ .pad = 60 });
}

/* A local socket read as /dev/log is, by imuxsock with its default
 * parser: every record once, with its priority, program and pid. */
Test(forward, the_syslog_form_reaches_imuxsock_default_parser_intact, .timeout = TEST_TIMEOUT(60))
{
	struct fw_rs rs;

	fw_rs_init(&rs, 2000);
	fw_deliver(&rs, "local", FORWARD_LOCAL, 2000, (struct fw_batch){ .pad = 60 });
}

Test(forward, rfc3164_over_each_transport, .timeout = TEST_TIMEOUT(60))
{
	struct fw_rs rs;

	fw_rs_init(&rs, 300);
	fw_deliver(&rs, "udp", FORWARD_RFC3164, 300, (struct fw_batch){ .pad = 30 });
	fw_deliver(&rs, "tcp", FORWARD_RFC3164, 300, (struct fw_batch){ .pad = 30 });
	fw_deliver(&rs, "unix", FORWARD_RFC3164, 300, (struct fw_batch){ .pad = 30 });
}

Test(forward, datagrams_are_cut_and_counted, .timeout = TEST_TIMEOUT(60))
{
	char *err = harness_capture_stderr(), *text;
	struct fw_rs rs;

	fw_rs_init(&rs, 200);
	fw_deliver(&rs, "udp", FORWARD_RFC5424, 200,
	    (struct fw_batch){ .pad = 20, .big = 5000, .cut = FORWARD_UDP_MAX });
	fw_deliver(&rs, "unix", FORWARD_RFC5424, 200,
	    (struct fw_batch){ .pad = 20, .big = 20000, .cut = FORWARD_UNIX_MAX });
	text = harness_read_file(err, NULL);
	cr_expect(harness_contains(text, "messages longer than 2048 bytes are cut"), "%s", text);
	cr_expect(harness_contains(text, "2 messages cut to 2048 bytes"), "%s", text);
	cr_expect(harness_contains(text, "2 messages cut to 8192 bytes"), "%s", text);
}

/* The sum of the counts N in every "PHRASE N" of text; fails when there
 * is none. */
static unsigned long long
fw_reported(const char *text, const char *phrase)
{
	unsigned long long n, sum = 0;
	const char *p = text;
	int seen = 0;

	while ((p = strstr(p, phrase)) != NULL) {
		p += strlen(phrase);
		cr_assert(sscanf(p, "%llu", &n) == 1, "no count after \"%s\":\n%s", phrase, text);
		sum += n;
		seen++;
	}
	cr_assert(seen > 0, "no \"%s N\" in stderr:\n%s", phrase, text);
	return sum;
}

/* After an outage with no server at all: the first put - dropped records
 * of the batch arrived, each once, and nothing else (records beyond the
 * queue are dropped from its tail). */
static void
fw_expect_head(struct fw_rs *rs, struct forward *f, int put, unsigned long long dropped)
{
	int want = put - (int)dropped;

	fw_rs_wait(rs, want);
	fw_rs_end(rs, f);
	cr_expect_eq(rs->got, want, "%d records arrived, not %d", rs->got, want);
	for (int seq = 0; seq < want; seq++)
		cr_assert_eq(rs->count[seq], 1, "seq %d did not arrive", seq);
}

/* Open a TCP forwarder to rs and deliver records [0, 100) through it. */
static struct forward *
fw_tcp_start(struct fw_rs *rs)
{
	char *url = fw_url(rs, "tcp");
	const char *why;
	struct forward *f = forward_open(url, FORWARD_RFC5424, &why);

	cr_assert(f != NULL, "%s", why);
	fw_rs_batch(rs, FORWARD_RFC5424, (struct fw_batch){ .pad = 300 });
	for (int seq = 0; seq < 100; seq++)
		fw_put(f, seq);
	fw_drain(f);
	fw_rs_wait(rs, 100);
	return f;
}

Test(forward, tcp_queues_while_the_server_is_stopped, .timeout = TEST_TIMEOUT(120))
{
	char *err = harness_capture_stderr(), *text = NULL;
	unsigned long long dropped;
	struct fw_rs rs;
	struct forward *f;
	int seq, full_at = -1;

	fw_rs_init(&rs, 400000);
	f = fw_tcp_start(&rs);
	cr_assert(kill(rs.pid, SIGSTOP) == 0);
	/* Fill the socket buffers and the queue, then put 2000 more. */
	for (seq = 100; full_at == -1 || seq < full_at + 2000; seq++) {
		cr_assert(seq < rs.nseq, "the queue never overflowed in %d records", seq);
		fw_put(f, seq);
		if (seq % 256 == 0) {
			cr_assert(forward_flush(f) == -1 || full_at == -1,
			    "records do not wait for the stopped server");
			text = harness_read_file(err, NULL);
			if (full_at == -1 && harness_contains(text, "queue full (4 MiB): dropping"))
				full_at = seq;
		}
	}
	cr_assert(kill(rs.pid, SIGCONT) == 0);
	fw_drain(f);
	text = harness_read_file(err, NULL);
	/* Each overflow is reported with its count once the queue drains.
	 * The kernel may take a little more even from a stopped reader
	 * (it compacts its receive queue), so drops need not be the tail. */
	dropped = fw_reported(text, "sending again; ");
	cr_expect(dropped > 0, "no record dropped:\n%s", text);
	cr_expect(harness_contains(text, "records dropped: queue full"), "%s", text);
	fw_rs_wait(&rs, seq - (int)dropped);
	fw_rs_end(&rs, f);
	cr_expect_eq(rs.got, seq - (int)dropped, "%d records arrived, %llu dropped, of %d",
	    rs.got, dropped, seq);
	/* Everything queued before the first drop arrived. */
	for (int i = 0; i < full_at - 256; i++)
		cr_assert_eq(rs.count[i], 1, "seq %d did not arrive", i);
	forward_close(f, 1000000000LL);
	text = harness_read_file(err, NULL);
	cr_expect(!harness_contains(text, "lost"), "%s", text);
}

Test(forward, tcp_resends_after_the_server_restarts, .timeout = TEST_TIMEOUT(120))
{
	char *err = harness_capture_stderr(), *text;
	unsigned long long dropped;
	struct fw_rs rs;
	struct forward *f;
	int seq;

	fw_rs_init(&rs, 100000);
	f = fw_tcp_start(&rs);
	cr_assert(kill(rs.pid, SIGKILL) == 0);
	harness_wait(rs.pid, FW_WAIT_MS);
	/* The next flush sees the connection closed; records then queue,
	 * more than the queue holds (about 400 bytes each). */
	forward_flush(f);
	text = harness_read_file(err, NULL);
	cr_expect(harness_contains(text, "the server closed the connection; queueing records"),
	    "%s", text);
	for (seq = 100; seq < 100 + 16000; seq++) {
		fw_put(f, seq);
		if (seq % 256 == 0)
			cr_expect(forward_flush(f) == -1, "records wait for the server");
	}
	cr_expect(forward_pending(f));
	fw_rs_start(&rs);               /* the same ports, socket and file */
	fw_drain(f);
	text = harness_read_file(err, NULL);
	dropped = fw_reported(text, "sending again; ");
	cr_expect(harness_contains(text, "records dropped meanwhile"), "%s", text);
	cr_expect(dropped > 1000, "only %llu records dropped", dropped);
	cr_expect(!harness_contains(text, "queue full"), "an outage, not an overflow:\n%s", text);
	fw_expect_head(&rs, f, seq, dropped);
	forward_close(f, 1000000000LL);
}

/* Kill rs's rsyslogd, let f see it, then put records [100, end) (about
 * 400 bytes each) through f, flushing as mplogd does. */
static void
fw_outage(struct fw_rs *rs, struct forward *f, int end)
{
	cr_assert(kill(rs->pid, SIGKILL) == 0);
	harness_wait(rs->pid, FW_WAIT_MS);
	forward_flush(f);
	for (int seq = 100; seq < end; seq++) {
		fw_put(f, seq);
		if (seq % 256 == 0)
			cr_expect(forward_flush(f) == -1, "records wait for the server");
	}
}

/* Start rsyslogd and a TCP forwarder to it spooling to dir (max bytes),
 * then an outage of records [100, end). */
static struct forward *
fw_spool_start(struct fw_rs *rs, int end, const char *dir, uint64_t max)
{
	const char *why;
	struct forward *f;

	fw_rs_init(rs, end + 10);
	f = fw_tcp_start(rs);
	cr_assert_eq(forward_spool(f, dir, max, &why), 0, "%s", why);
	fw_outage(rs, f, end);
	return f;
}

/* The spool files in dir. */
static size_t
fw_spool_files(const char *dir)
{
	char *sh[] = { "/bin/sh", "-c", harness_fmt("ls '%s' | grep -c '^spool\\.[0-9]'", dir),
	    NULL };
	struct harness_result r;

	harness_run(sh, NULL, NULL, &r);
	return (size_t)atoi(r.out);
}

/*
 * spool=DIR: rsyslogd is down for longer than the 4 MiB memory queue
 * lasts (16,000 records of about 400 bytes); what the queue cannot hold
 * goes to disk, and once the server is back every record arrives, exactly
 * once and in the order it was put, oldest first; the spool is left
 * empty, and nothing is reported lost or dropped.
 */
Test(forward, tcp_spools_an_outage_longer_than_the_queue_and_sends_it_in_order,
    .timeout = TEST_TIMEOUT(120))
{
	char *err = harness_capture_stderr(), *text, *dir = harness_file("spool");
	struct fw_rs rs;
	const int end = 100 + 16000;
	struct forward *f = fw_spool_start(&rs, end, dir, 64u << 20);

	cr_assert_geq(fw_spool_files(dir), 1, "nothing was spooled");
	fw_rs_start(&rs);
	fw_drain(f);
	fw_expect_head(&rs, f, end, 0);
	cr_expect_eq(rs.disorder, 0, "%d records came after a later one", rs.disorder);
	forward_close(f, 1000000000LL);
	text = harness_read_file(err, NULL);
	cr_expect(!harness_contains(text, "lost") && !harness_contains(text, "dropping"), "%s",
	    text);
	cr_expect_eq(fw_spool_files(dir), 0, "the spool is not empty");
}

/*
 * The spool survives mplogd: a forwarder closed while the server is down
 * puts what its memory queue holds in front of the spool, and a new one
 * on the same folder sends all of it, in order, once the server is back.
 * A second forwarder on a spool in use is refused, naming it.
 */
Test(forward, the_spool_outlives_its_forwarder_and_a_new_one_sends_it,
    .timeout = TEST_TIMEOUT(120))
{
	char *err = harness_capture_stderr(), *text, *dir = harness_file("spool");
	const char *why;
	struct fw_rs rs;
	struct forward *f, *g;
	const int end = 100 + 16000;

	fw_rs_init(&rs, end + 10);
	f = fw_tcp_start(&rs);
	cr_assert_eq(forward_spool(f, dir, 64u << 20, &why), 0, "%s", why);
	g = forward_open(fw_url(&rs, "tcp"), FORWARD_RFC5424, &why);
	cr_assert_not_null(g, "%s", why);
	cr_assert_eq(forward_spool(g, dir, 64u << 20, &why), -1);
	cr_expect(harness_contains(why, "in use"), "%s", why);
	forward_close(g, 0);
	fw_outage(&rs, f, end);
	forward_close(f, 100000000LL);
	text = harness_read_file(err, NULL);
	cr_expect(harness_contains(text, "wait in the spool for the next start"), "%s", text);
	cr_expect(!harness_contains(text, "lost"), "%s", text);

	f = forward_open(fw_url(&rs, "tcp"), FORWARD_RFC5424, &why);
	cr_assert_not_null(f, "%s", why);
	cr_assert_eq(forward_spool(f, dir, 64u << 20, &why), 0, "%s", why);
	cr_expect(forward_pending(f), "the spool waits to be sent");
	fw_rs_start(&rs);
	fw_drain(f);
	/* The first 100 went before the outage. */
	fw_rs_wait(&rs, end);
	fw_rs_end(&rs, f);
	cr_expect_eq(rs.got, end, "%d of %d records arrived", rs.got, end);
	for (int seq = 0; seq < end; seq++)
		cr_assert_eq(rs.count[seq], 1, "seq %d arrived %d times", seq, rs.count[seq]);
	cr_expect_eq(rs.disorder, 0, "%d records came after a later one", rs.disorder);
	forward_close(f, 1000000000LL);
}

/* spool-max: past it, the newest records are dropped and counted; those
 * before arrive. */
Test(forward, past_spool_max_the_newest_records_are_dropped_and_counted,
    .timeout = TEST_TIMEOUT(120))
{
	char *err = harness_capture_stderr(), *text, *dir = harness_file("spool");
	unsigned long long dropped;
	struct fw_rs rs;
	const int end = 100 + 16000;
	struct forward *f = fw_spool_start(&rs, end, dir, 1u << 20);

	text = harness_read_file(err, NULL);
	cr_expect(harness_contains(text, "its maximum: dropping records"), "%s", text);
	fw_rs_start(&rs);
	fw_drain(f);
	text = harness_read_file(err, NULL);
	dropped = fw_reported(text, "sending again; ");
	cr_expect(dropped > 1000 && dropped < 10000, "%llu records dropped", dropped);
	fw_expect_head(&rs, f, end, dropped);
	cr_expect_eq(rs.disorder, 0);
	forward_close(f, 1000000000LL);
}

Test(forward, close_reports_what_could_not_be_sent, .timeout = TEST_TIMEOUT(30))
{
	char *err = harness_capture_stderr(), *text, *url;
	const char *why;
	struct forward *f;
	char buf[128];

	/* A port nobody listens on, and a socket path that does not exist. */
	url = harness_fmt("tcp://127.0.0.1:%d", harness_free_port(SOCK_STREAM));
	f = forward_open(url, FORWARD_RFC5424, &why);
	cr_assert(f != NULL, "%s", why);
	fw_cur = (struct fw_batch){ .pad = 10 };
	for (int seq = 0; seq < 10; seq++)
		fw_put(f, seq);
	cr_expect(forward_flush(f) == -1);
	cr_expect(forward_pending(f));
	forward_close(f, 200000000LL);
	f = forward_open("unix:///nonexistent/fw.sock", FORWARD_RFC3164, &why);
	cr_assert(f != NULL, "%s", why);
	for (int seq = 0; seq < 3; seq++)
		fw_put(f, seq);
	cr_expect(forward_flush(f) == -1);
	forward_close(f, 0);
	text = harness_read_file(err, NULL);
	snprintf(buf, sizeof(buf), "%s: connect: Connection refused; queueing records", url);
	cr_expect(harness_contains(text, buf), "%s", text);
	snprintf(buf, sizeof(buf), "%s: 10 records lost", url);
	cr_expect(harness_contains(text, buf), "%s", text);
	cr_expect(harness_contains(text,
	    "unix:///nonexistent/fw.sock: send: No such file or directory; queueing records"), "%s", text);
	cr_expect(harness_contains(text, "unix:///nonexistent/fw.sock: 3 records lost"), "%s", text);
}

/* ---- through mplogd --------------------------------------------------- */

/* Lines of rsyslogd's output that hold PREFIX and end "[MSG]" (rsyslogd
 * may keep the space before the message: "[ MSG]"). */
static size_t
fw_count_msg(const char *out, const char *prefix, const char *msg)
{
	char *a = harness_fmt("[%s]", msg), *b = harness_fmt("[ %s]", msg);
	size_t count = 0, na = strlen(a), nb = strlen(b);

	for (const char *l = out, *nl; *l != '\0'; l = nl + 1) {
		size_t n;

		if ((nl = strchr(l, '\n')) == NULL)
			break;
		n = (size_t)(nl - l);
		if (memmem(l, n, prefix, strlen(prefix)) != NULL &&
		    ((n >= na && memcmp(nl - na, a, na) == 0) ||
		    (n >= nb && memcmp(nl - nb, b, nb) == 0)))
			count++;
	}
	return count;
}

/* 1 for a severity the UDP sink of the test below takes (warning or worse
 * among logmix's crit .. debug). */
static int
fw_warn(const char *sev)
{
	return strcmp(sev, "crit") == 0 || strcmp(sev, "err") == 0 ||
	    strcmp(sev, "warning") == 0;
}

/*
 * mplogd with four sinks at once: a JSON file, and rsyslogd over TCP,
 * UDP and its unix socket (RFC 3164 on the socket, a level on UDP).
 * logmix's 2 x 2 x 300 syslog lines (crit .. debug) are each in the file
 * once, once over TCP and the socket, and over UDP only when warning or
 * worse; each as rsyslogd parsed it: its priority, logmix as app name,
 * the writer's pid as procid.
 */
Test(forward, mplogd_feeds_a_file_and_rsyslogd_over_every_transport_at_once, .timeout = TEST_TIMEOUT(90))
{
	struct fw_rs rs;
	char *log, *out, *tcp, *udp, *sock, *want;
	size_t n;

	fw_rs_init(&rs, 1);
	tcp = fw_url(&rs, "tcp");
	udp = harness_fmt("%s,level=warning", fw_url(&rs, "udp"));
	sock = harness_fmt("%s,format=rfc3164", fw_url(&rs, "unix"));
	const char *const opts[] = { "--forward", tcp, "--forward", udp, "--forward", sock, NULL };
	const char *const args[] = { "-p", "2", "-t", "2", "-n", "300", "-m", "syslog", NULL };
	struct harness_result r = harness_run_host(0, "json", opts, "logmix", args, &log);

	cr_assert_eq(r.code, 0, "mplogd -- logmix: %d: %s", r.code, r.err);
	cr_assert(!harness_contains(r.err, "records lost"), "%s", r.err);
	struct harness_rec *recs = harness_json_load(log, &n);
	size_t lines = 0, expect = 0;

	/* Every logmix line, over TCP and the socket, and over UDP when
	 * warning or worse; and the main process's exit, over TCP and the
	 * socket (an info line: not for UDP). UDP is read by its own input of
	 * rsyslogd, so its lines may come after the others': wait for all. */
	for (size_t i = 0; i < n; i++)
		if (strncmp(recs[i].msg, "logmix p=", 9) == 0)
			expect += 2 + fw_warn(recs[i].severity);
	long long deadline = harness_now_ms() + FW_WAIT_MS;

	while ((fw_count_msg(out = harness_read_file(rs.out, NULL), "", "logmix exit=0") < 2 ||
	    harness_count(out, "logmix p=") < expect) && harness_now_ms() < deadline)
		harness_tick();
	cr_assert_eq(fw_count_msg(out, "", "logmix exit=0"), 2, "rsyslogd got %zu exit lines",
	    fw_count_msg(out, "", "logmix exit=0"));
	for (size_t i = 0; i < n; i++) {
		int warn = fw_warn(recs[i].severity);

		if (strncmp(recs[i].msg, "logmix p=", 9) != 0)
			continue;
		lines++;
		/* "PRI TS HOST logmix PID - {SD} [MSG]", over each transport. */
		want = harness_fmt(" logmix %ld - {", recs[i].pid);
		cr_assert_eq(fw_count_msg(out, want, recs[i].msg), (size_t)(2 + warn),
		    "%s:%zu: %s not once over TCP, the socket%s", log, recs[i].line,
		    recs[i].msg, warn ? " and UDP" : "");
	}
	cr_assert_eq(lines, 2 * 2 * 300);
	cr_assert(kill(rs.pid, SIGTERM) == 0);
	harness_wait(rs.pid, FW_WAIT_MS);
}

/* ---- a real systemd-journald ---------------------------------------- */

#define FW_JOURNALD "/lib/systemd/systemd-journald"

/* The journal namespace of this test, and its journald. */
static char fw_ns[64];
static pid_t fw_journald;

/* Stop journald, remove the namespace's journal and sockets, then the
 * rest of the test's things. */
static void
fw_journald_fini(void)
{
	char *mid = harness_read_file("/etc/machine-id", NULL);
	char *argv[] = { "/bin/rm", "-rf", NULL, NULL, NULL };
	struct harness_result r;

	mid[strcspn(mid, "\n")] = '\0';
	if (fw_journald > 0) {
		kill(fw_journald, SIGTERM);
		harness_wait(fw_journald, FW_WAIT_MS);
	}
	if (fw_ns[0] != '\0') {
		argv[2] = harness_fmt("/var/log/journal/%s.%s", mid, fw_ns);
		argv[3] = harness_fmt("/run/systemd/journal.%s", fw_ns);
		harness_run(argv, NULL, NULL, &r);
	}
	free(mid);
	harness_teardown();
}

/* Start a journald of its own namespace; the path of its syslog socket
 * once it is there. */
static char *
fw_journald_start(void)
{
	char *argv[] = { FW_JOURNALD, fw_ns, NULL };
	char *sock;
	long long deadline = harness_now_ms() + FW_WAIT_MS;
	struct stat st;

	snprintf(fw_ns, sizeof(fw_ns), "mplogtest%d", (int)getpid());
	sock = harness_fmt("/run/systemd/journal.%s/dev-log", fw_ns);
	fw_journald = harness_spawn(argv, NULL, NULL);
	while (stat(sock, &st) != 0 || !S_ISSOCK(st.st_mode)) {
		cr_assert(harness_now_ms() < deadline, "journald made no %s in %d ms", sock,
		    FW_WAIT_MS);
		harness_tick();
	}
	return sock;
}

/* The journal's records of the batch as "PRIORITY FACILITY IDENTIFIER
 * PID MESSAGE" lines (jq's @tsv: a newline in MESSAGE is "\n"). */
static char *
fw_journal_read(void)
{
	/* journald keeps no SYSLOG_FACILITY for facility 0 (kern). */
	char *sh[] = { "/bin/sh", "-c", harness_fmt("journalctl --namespace=%s -o json "
	    "--no-pager | jq -r 'select(.MESSAGE | type == \"string\") | "
	    "select(.MESSAGE | startswith(\"fw seq=\")) | [.PRIORITY, (.SYSLOG_FACILITY // \"0\"), "
	    ".SYSLOG_IDENTIFIER, .SYSLOG_PID, .MESSAGE] | @tsv'",
	    fw_ns), NULL };
	struct harness_result r;

	cr_assert_eq(harness_run(sh, NULL, NULL, &r), 0, "journalctl: %s", r.err);
	return strdup(r.out);
}

/*
 * systemd-journald's syslog socket, sent the local form: every record
 * once, with its priority, facility, identifier (the ident, else the
 * process name), pid and message, read back with journalctl.
 */
Test(forward, the_syslog_form_reaches_journald_intact, .init = harness_setup,
    .fini = fw_journald_fini, .timeout = TEST_TIMEOUT(60))
{
	const int n = 300;
	char *url, *got = NULL, *line, *save;
	unsigned char *seen = calloc((size_t)n, 1);
	long long deadline;
	const char *why;
	struct forward *f;
	int count = 0;

	if (geteuid() != 0)
		cr_skip_test("needs root to run systemd-journald");
	TEST_NEED(access(FW_JOURNALD, X_OK) == 0, "systemd-journald");
	TEST_NEED(access("/usr/bin/jq", X_OK) == 0, "jq");
	cr_assert_not_null(seen);
	url = harness_fmt("unix://%s", fw_journald_start());
	f = forward_open(url, FORWARD_LOCAL, &why);
	cr_assert(f != NULL, "%s", why);
	fw_cur = (struct fw_batch){ .pad = 40 };
	for (int seq = 0; seq < n; seq++)
		fw_put(f, seq);
	fw_drain(f);
	forward_close(f, 1000000000LL);
	for (deadline = harness_now_ms() + FW_WAIT_MS; count < n; harness_tick()) {
		cr_assert(harness_now_ms() < deadline, "%d of %d records in the journal", count, n);
		free(got);
		got = fw_journal_read();
		count = (int)harness_count_lines(got, "");
	}
	cr_assert_eq(count, n, "%s", got);
	for (line = strtok_r(got, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char ident[64], msgtext[512], want[512] = "", *buf = malloc(128);
		int pri, fac, pid, seq, k;
		struct fmt_record r;

		cr_assert_eq(sscanf(line, "%d\t%d\t%63[^\t]\t%d\t%n", &pri, &fac, ident, &pid, &k), 4,
		    "%s", line);
		snprintf(msgtext, sizeof(msgtext), "%s", line + k);
		cr_assert_eq(sscanf(msgtext, "fw seq=%d", &seq), 1, "%s", line);
		cr_assert(seq >= 0 && seq < n && !seen[seq], "seq %d again or out of range", seq);
		seen[seq] = 1;
		r = fw_batch_rec(seq, fw_pad(seq), buf);
		cr_expect_eq(pri, r.severity, "seq %d: priority %d", seq, pri);
		cr_expect_eq(fac, r.facility, "seq %d: facility %d", seq, fac);
		cr_expect_str_eq(ident, r.ident != NULL ? r.ident : r.proc, "seq %d", seq);
		cr_expect_eq(pid, r.pid, "seq %d: pid %d", seq, pid);
		/* jq's @tsv writes a newline as \\n. */
		for (size_t i = 0, o = 0; i < r.msg_len && o + 2 < sizeof(want); i++)
			o += (size_t)snprintf(want + o, sizeof(want) - o, "%s",
			    r.msg[i] == '\n' ? "\\n" : (char[]){ r.msg[i], '\0' });
		cr_expect_str_eq(msgtext, want, "seq %d", seq);
		free(buf);
	}
	free(got);
	free(seen);
}

/* The journal's entries of the native test as JSON lines with the fields
 * it checks. */
static char *
fw_journal_native_read(void)
{
	/* --all: journalctl shows a field past 4096 bytes as null without it. */
	char *sh[] = { "/bin/sh", "-c", harness_fmt("journalctl --namespace=%s -o json --all "
	    "--no-pager | jq -c 'select(.MPLOG_SOURCE != null) | {m: .MESSAGE, p: .PRIORITY, "
	    "f: .SYSLOG_FACILITY, i: .SYSLOG_IDENTIFIER, pid: .SYSLOG_PID, tid: .TID, "
	    "th: .MPLOG_THREAD, s: .MPLOG_SOURCE, ts: .SYSLOG_TIMESTAMP, us: .MPLOG_TIME_USEC, "
	    "op: .OBJECT_PID, oc: .OBJECT_COMM}'", fw_ns), NULL };
	struct harness_result r;

	cr_assert_eq(harness_run(sh, NULL, NULL, &r), 0, "journalctl: %s", r.err);
	return strdup(r.out);
}

/*
 * journald's native protocol, to a real systemd-journald: every field of
 * a record arrives as itself, a multi-line message intact, a 40 KiB one
 * (past JOURNAL_DGRAM_MAX: a sealed memfd) whole, and OBJECT_PID names
 * the writer (this test's own process, whose command journald then adds
 * as OBJECT_COMM), as mplogd runs as root here.
 */
Test(forward, the_native_protocol_reaches_journald_field_by_field, .init = harness_setup,
    .fini = fw_journald_fini, .timeout = TEST_TIMEOUT(60))
{
	uint64_t t = fw_utc(2026, 3, 4, 5, 6, 7, 890123456);
	size_t big_len = 40 * 1024;
	char *big = malloc(big_len + 1), *got = NULL, *url;
	long long deadline;
	const char *why;
	struct forward *f;

	if (geteuid() != 0)
		cr_skip_test("needs root to run systemd-journald");
	TEST_NEED(access(FW_JOURNALD, X_OK) == 0, "systemd-journald");
	TEST_NEED(access("/usr/bin/jq", X_OK) == 0, "jq");
	cr_assert_not_null(big);
	for (size_t i = 0; i < big_len; i++)
		big[i] = (char)('a' + i % 26);
	big[big_len] = '\0';
	fw_journald_start();
	url = harness_fmt("journal:///run/systemd/journal.%s/socket", fw_ns);
	f = forward_open(url, FORWARD_RFC5424, &why);
	cr_assert(f != NULL, "%s", why);

	struct fmt_record one = fw_rec(t, getpid(), 16, 3, "proc", "myapp", "disk full");
	one.tid = 4243;
	one.thread = "worker-1";
	one.source = LANE_SRC_STDERR;
	struct fmt_record two = fw_rec(t + 1000, 77, 1, 6, "pyapp", NULL,
	    "Traceback (most recent call last):\n  File \"x\", line 1\nValueError: boom\n");
	two.source = LANE_SRC_STDOUT;
	struct fmt_record three = fw_rec(t + 2000, 78, 1, 7, "bigapp", NULL, big);
	forward_put(f, &one);
	forward_put(f, &two);
	forward_put(f, &three);
	fw_drain(f);
	forward_close(f, 1000000000LL);
	for (deadline = harness_now_ms() + FW_WAIT_MS; ; harness_tick()) {
		free(got);
		got = fw_journal_native_read();
		if (harness_count_lines(got, "") >= 3)
			break;
		cr_assert(harness_now_ms() < deadline, "entries in the journal: %s", got);
	}
	cr_assert_eq(harness_count_lines(got, ""), 3, "%s", got);
	cr_expect(harness_contains(got, harness_fmt("{\"m\":\"disk full\",\"p\":\"3\",\"f\":\"16\","
	    "\"i\":\"myapp\",\"pid\":\"%d\",\"tid\":\"4243\",\"th\":\"worker-1\",\"s\":\"stderr\","
	    "\"ts\":\"2026-03-04T05:06:07.890123Z\",\"us\":\"1772600767890123\",\"op\":\"%d\","
	    "\"oc\":\"mplog-tests\"}", (int)getpid(), (int)getpid())), "%s", got);
	cr_expect(harness_contains(got, "{\"m\":\"Traceback (most recent call last):\\n"
	    "  File \\\"x\\\", line 1\\nValueError: boom\",\"p\":\"6\",\"f\":\"1\",\"i\":\"pyapp\","
	    "\"pid\":\"77\",\"tid\":\"77\",\"th\":null,\"s\":\"stdout\""), "%s", got);
	cr_expect(harness_contains(got, harness_fmt("{\"m\":\"%s\",\"p\":\"7\"", big)),
	    "the 40 KiB message, whole");
	free(got);
	free(big);
}

/* A journal URL takes no format, and names an absolute path. */
Test(forward, journal_urls_are_checked)
{
	struct sink_spec s;
	char why[256];
	const char *w;

	cr_assert_eq(sinkspec_parse(&s, SINK_FORWARD, "journal", why, sizeof(why)), 0, "%s", why);
	cr_expect_eq(s.proto, SINK_JOURNAL);
	sinkspec_free(&s);
	cr_assert_eq(sinkspec_parse(&s, SINK_FORWARD, "journal:///run/j/socket,level=err", why,
	    sizeof(why)), 0, "%s", why);
	cr_expect_eq(s.proto, SINK_JOURNAL);
	cr_expect_eq(s.level, 3);
	sinkspec_free(&s);
	cr_expect_eq(sinkspec_parse(&s, SINK_FORWARD, "journal,format=rfc5424", why,
	    sizeof(why)), -1);
	cr_expect(harness_contains(why, "takes no format"), "%s", why);
	cr_expect_null(forward_open("journal://relative", FORWARD_JOURNAL, &w));
	cr_expect(harness_contains(w, "absolute"), "%s", w);
}
