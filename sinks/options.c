/* options.c - mplogd's command-line parsing. */
#include "options.h"

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "pri.h"
#include "sinkspec.h"

enum {
	OPT_SHM = 256, OPT_LANES, OPT_LANE_SIZE, OPT_LEVEL, OPT_POLICY,
	OPT_WINDOW, OPT_READY_FD, OPT_PRELOAD, OPT_STDERR, OPT_STDOUT, OPT_VERSION,
	OPT_STDERR_SEVERITY, OPT_CATCH_ALL, OPT_MULTILINE, OPT_GROUP,
	OPT_FORWARD, OPT_ROTATE_SIZE, OPT_ROTATE_KEEP, OPT_FLUSH, OPT_RATE,
	OPT_DAEMON, OPT_PIDFILE, OPT_SYSTEM, OPT_SOCKET, OPT_PER_UID,
};

static const struct option options_long[] = {
	{ "shm", required_argument, NULL, OPT_SHM },
	{ "output", required_argument, NULL, 'o' },
	{ "format", required_argument, NULL, 'f' },
	{ "forward", required_argument, NULL, OPT_FORWARD },
	{ "rotate-size", required_argument, NULL, OPT_ROTATE_SIZE },
	{ "rotate-keep", required_argument, NULL, OPT_ROTATE_KEEP },
	{ "flush-interval", required_argument, NULL, OPT_FLUSH },
	{ "rate-limit", required_argument, NULL, OPT_RATE },
	{ "lanes", required_argument, NULL, OPT_LANES },
	{ "lane-size", required_argument, NULL, OPT_LANE_SIZE },
	{ "level", required_argument, NULL, OPT_LEVEL },
	{ "policy", required_argument, NULL, OPT_POLICY },
	{ "reorder-window", required_argument, NULL, OPT_WINDOW },
	{ "ready-fd", required_argument, NULL, OPT_READY_FD },
	{ "preload", required_argument, NULL, OPT_PRELOAD },
	{ "stderr", required_argument, NULL, OPT_STDERR },
	{ "stdout", required_argument, NULL, OPT_STDOUT },
	{ "stderr-severity", required_argument, NULL, OPT_STDERR_SEVERITY },
	{ "catch-all", no_argument, NULL, OPT_CATCH_ALL },
	{ "multiline", no_argument, NULL, OPT_MULTILINE },
	{ "group", required_argument, NULL, OPT_GROUP },
	{ "daemon", no_argument, NULL, OPT_DAEMON },
	{ "pidfile", required_argument, NULL, OPT_PIDFILE },
	{ "system", no_argument, NULL, OPT_SYSTEM },
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "lanes-per-uid", required_argument, NULL, OPT_PER_UID },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

/* Print the usage text to stdout. */
static void
options_usage(void)
{
	printf(
"usage: mplogd [options]                     collect logs from every process\n"
"       mplogd [options] -- COMMAND [ARG...]  run COMMAND under a private mplogd\n"
"\n"
"  --shm NAME            segment name (default: a private one with COMMAND,\n"
"                        else $MPLOG_SHM, else /mplog-UID)\n"
"  -o, --output FILE[,KEY=VALUE...]\n"
"                        append the log to FILE (default: standard output;\n"
"                        standard error when running a COMMAND); - for stdout;\n"
"                        may be given again; keys: format=text|json,\n"
"                        level=LEVEL (least severe written), rotate-size=BYTES,\n"
"                        rotate-keep=N, color=auto|always|never,\n"
"                        rotate-every=hourly|daily, compress=gzip|zstd\n"
"  --forward URL[,KEY=VALUE...]\n"
"                        send the log to a syslog server: udp://HOST:PORT,\n"
"                        tcp://HOST:PORT, relp://HOST:PORT, tls://HOST:PORT or\n"
"                        unix:///PATH, or to journald: journal or\n"
"                        journal:///PATH; may be given again; keys:\n"
"                        format=rfc5424|rfc3164|local, level=LEVEL, spool=DIR,\n"
"                        spool-max=BYTES, ca=FILE, cert=FILE, key=FILE, name=HOST\n"
"  -f, --format FORMAT   text or json: files' default (default text)\n"
"  --rotate-size BYTES   files' default: rotate before a file passes BYTES\n"
"                        (K/M/G suffix; default: never)\n"
"  --rotate-keep N       files' default: rotated files kept (default %d)\n"
"  --flush-interval MS   longest time a line waits in mplogd's buffers when\n"
"                        mplogd is busy (default %d; it writes at once when idle)\n"
"  --level LEVEL         most verbose severity kept: emerg alert crit err\n"
"                        warning notice info debug (default debug)\n"
"  --lanes N             processes that can log at once (default %d)\n"
"  --lane-size BYTES     ring bytes per process, power of two, K/M/G suffix\n"
"                        (default 1M, at least 256K)\n"
"  --policy POLICY       block (default: producers wait, nothing is lost)\n"
"                        or drop (producers never wait; drops are counted)\n"
"  --rate-limit N[/S]    deliver at most N lines of a process in S seconds\n"
"                        (default 1), then one line saying how many were\n"
"                        suppressed (default: no limit)\n"
"  --reorder-window MS   how long a record may wait for older ones from\n"
"                        other processes (default %d)\n"
"  --group GROUP         let the members of GROUP (a name or number) log\n"
"                        too: the segment gets mode 0660 and that group\n"
"                        (default: mode 0600, this user only)\n"
"  --system              serve every user of the machine: listen on\n"
"                        %s (mode 0666), segment /mplog-system\n"
"                        unless --shm; each process gets a lane of its own\n"
"  --socket PATH         listen on PATH (@NAME: an abstract name) for\n"
"                        processes to ask for a lane of their own\n"
"                        (MPLOG_SOCKET); with --system, instead of its path\n"
"  --lanes-per-uid N     lanes one user may hold over the socket (default %d)\n"
"  --ready-fd FD         write \"ready\\n\" to FD once producers can attach\n"
"  --daemon              detach once producers can attach (fork, new session,\n"
"                        stdio to /dev/null); needs -o FILE; not with COMMAND\n"
"  --pidfile PATH        lock PATH and write the pid in it, removed at exit\n"
"                        (--daemon's default: /run/mplogd.pid for root, else\n"
"                        $XDG_RUNTIME_DIR/mplogd.pid, else /tmp/mplogd-UID.pid)\n"
"  --preload PATH        with COMMAND: the shim to preload\n"
"  --stderr MODE         with COMMAND: capture, tee or pass (MPLOG_STDERR)\n"
"  --stdout MODE         with COMMAND: capture, tee or pass (default pass:\n"
"                        stdout is left alone; MPLOG_STDOUT)\n"
"  --stderr-severity LEVEL\n"
"                        with COMMAND: severity of stderr lines without a\n"
"                        <N> prefix (default info; MPLOG_STDERR_SEVERITY)\n"
"  --catch-all           with COMMAND: its fd 2 becomes a socket read by\n"
"                        mplogd, so bytes no hook sees (static programs,\n"
"                        glibc's fatal messages) are logged too; fd 2 is then\n"
"                        no terminal; not with --stderr pass\n"
"  --multiline           with COMMAND: a thread's continuation lines (stack\n"
"                        traces, tracebacks, diagnostics) join the record\n"
"                        they continue (MPLOG_MULTILINE=1)\n"
"  -h, --help            this text\n"
"  --version             print the version\n"
"\n"
"exit status: 0 done; 1 the segment or output could not be set up;\n"
"2 bad usage; 3 a live mplogd already owns the segment or the pidfile.\n"
"With COMMAND: COMMAND's exit status, or 128+N when it was killed by\n"
"signal N.\n",
	    SINKSPEC_KEEP_DEFAULT, OPTIONS_FLUSH_DEFAULT_MS, SEG_LANES_DEFAULT,
	    OPTIONS_WINDOW_DEFAULT_MS, LANESOCK_SYSTEM_PATH, LANESRV_PER_UID_DEFAULT);
}

/* A whole number in [lo, hi] for option name, or exit with usage. */
static long
options_number(const char *name, const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		errx(MPLOGD_EXIT_USAGE, "%s: '%s' is not a number from %ld to %ld", name, s, lo, hi);
	return v;
}

/*
 * The group id of --group: a group name, else a number. An unknown name
 * is a usage error; a number need not name a group in the group file.
 */
static gid_t
options_group(const char *s)
{
	struct group gr, *found = NULL;
	char buf[16384], *end;
	unsigned long v;
	int rc;

	rc = getgrnam_r(s, &gr, buf, sizeof(buf), &found);
	if (rc == 0 && found != NULL)
		return found->gr_gid;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (s[0] >= '0' && s[0] <= '9' && *end == '\0' && errno == 0 &&
	    v < (unsigned long)(gid_t)-1)
		return (gid_t)v;
	/* Not found is 0 with no entry, or one of these (getgrnam_r(3)). */
	if (rc != 0 && rc != ENOENT && rc != ESRCH && rc != EBADF && rc != EPERM)
		errx(MPLOGD_EXIT_USAGE, "--group: cannot look up group '%s': %s", s, strerror(rc));
	errx(MPLOGD_EXIT_USAGE, "--group: unknown group '%s' (a group name or number)", s);
}

static struct sink_spec options_sinks[OPTIONS_SINKS_MAX];

/* -o or --forward: add a sink, or exit naming the problem. */
static void
options_sink(struct mplogd_opts *o, enum sink_kind kind, const char *arg)
{
	const char *name = kind == SINK_FILE ? "--output" : "--forward";
	char why[256];

	if (o->nsinks == OPTIONS_SINKS_MAX)
		errx(MPLOGD_EXIT_USAGE, "%s: more than %d sinks", name, OPTIONS_SINKS_MAX);
	if (sinkspec_parse(&o->sinks[o->nsinks], kind, arg, why, sizeof(why)) == -1)
		errx(MPLOGD_EXIT_USAGE, "%s %s: %s", name, arg, why);
	o->nsinks++;
}

/* The file sinks' defaults, for the keys each did not give; no sink at
 * all: standard output (standard error in run mode). */
static void
options_sink_defaults(struct mplogd_opts *o)
{
	if (o->nsinks == 0) {
		options_sink(o, SINK_FILE, "-");
		o->default_output = 1;
	}
	for (size_t i = 0; i < o->nsinks; i++) {
		struct sink_spec *s = &o->sinks[i];

		if (s->kind != SINK_FILE)
			continue;
		if (!(s->set & SINKSPEC_SET_FORMAT))
			s->format = o->format;
		if (!(s->set & SINKSPEC_SET_SIZE))
			s->rotate_size = o->rotate_size;
		if (!(s->set & SINKSPEC_SET_KEEP))
			s->rotate_keep = o->rotate_keep;
		if (s->rotate_size != 0 && strcmp(s->target, "-") == 0)
			errx(MPLOGD_EXIT_USAGE, "--rotate-size: standard output cannot be rotated");
	}
}

/* --rate-limit N[/S]. */
static void
options_rate(struct mplogd_opts *o, const char *arg)
{
	const char *slash = strchr(arg, '/');
	char n[32];

	snprintf(n, sizeof(n), "%.*s", slash != NULL ? (int)(slash - arg) : (int)strlen(arg), arg);
	o->rate_burst = (uint32_t)options_number("--rate-limit", n, 1, 1000000000);
	o->rate_ns = 1000000000LL;
	if (slash != NULL)
		o->rate_ns *= options_number("--rate-limit", slash + 1, 1, 86400);
}

/* Handle one option with a value. */
/* The capture mode arg names for option opt, or exit saying it is none. */
static const char *
options_mode(const char *opt, const char *arg)
{
	if (strcmp(arg, "capture") != 0 && strcmp(arg, "tee") != 0 && strcmp(arg, "pass") != 0)
		errx(MPLOGD_EXIT_USAGE, "%s: unknown mode '%s' (capture, tee, pass)", opt, arg);
	return arg;
}

static void
options_one(int c, const char *arg, struct mplogd_opts *o)
{
	uint64_t size;
	int v;

	switch (c) {
	case OPT_SHM:
		if (!seg_name_valid(arg))
			errx(MPLOGD_EXIT_USAGE, "--shm: '%s' is not a segment name (like /mplog-app)", arg);
		snprintf(o->shm, sizeof(o->shm), "%s", arg);
		break;
	case 'o':
	case OPT_FORWARD:
		options_sink(o, c == 'o' ? SINK_FILE : SINK_FORWARD, arg);
		break;
	case OPT_ROTATE_SIZE:
		if (sinkspec_size(arg, &o->rotate_size) == -1 || o->rotate_size == 0)
			errx(MPLOGD_EXIT_USAGE, "--rotate-size: '%s' is not a size above 0 "
			    "(K, M, G suffixes)", arg);
		break;
	case OPT_ROTATE_KEEP:
		o->rotate_keep = (unsigned)options_number("--rotate-keep", arg, 1,
		    SINKSPEC_KEEP_MAX);
		break;
	case OPT_RATE:
		options_rate(o, arg);
		break;
	case OPT_FLUSH:
		o->flush_ns = options_number("--flush-interval", arg, 0, 60000) * 1000000LL;
		break;
	case 'f':
		if ((v = fmt_parse(arg)) == -1)
			errx(MPLOGD_EXIT_USAGE, "--format: unknown format '%s' (text, json)", arg);
		o->format = (enum fmt_kind)v;
		break;
	case OPT_SYSTEM:
		o->system = 1;
		break;
	case OPT_SOCKET:
		if (strlen(arg) < 2 || strlen(arg) >= sizeof(o->socket))
			errx(MPLOGD_EXIT_USAGE, "--socket: '%s' is not a socket path (a path, "
			    "or @NAME, under %zu bytes)", arg, sizeof(o->socket));
		snprintf(o->socket, sizeof(o->socket), "%s", arg);
		break;
	case OPT_PER_UID:
		o->lanes_per_uid = (uint32_t)options_number("--lanes-per-uid", arg, 1,
		    LANESRV_LANES_MAX);
		break;
	case OPT_LANES:
		o->params.lane_count = (uint32_t)options_number("--lanes", arg, 1, SEG_LANES_MAX);
		break;
	case OPT_LANE_SIZE:
		if (sinkspec_size(arg, &size) == -1 || size < SEG_LANE_SIZE_MIN ||
		    size > SEG_LANE_SIZE_MAX || (size & (size - 1)) != 0)
			errx(MPLOGD_EXIT_USAGE, "--lane-size: '%s' is not a power of two from 256K to 1G", arg);
		o->params.lane_size = (uint32_t)size;
		break;
	case OPT_LEVEL:
		if ((v = pri_severity_parse(arg)) == -1)
			errx(MPLOGD_EXIT_USAGE, "--level: unknown level '%s' (emerg alert crit err warning notice info debug)", arg);
		o->params.level = (uint32_t)v;
		break;
	case OPT_POLICY:
		if (strcmp(arg, "block") == 0)
			o->params.policy = SEG_POLICY_BLOCK;
		else if (strcmp(arg, "drop") == 0)
			o->params.policy = SEG_POLICY_DROP;
		else
			errx(MPLOGD_EXIT_USAGE, "--policy: unknown policy '%s' (block, drop)", arg);
		break;
	case OPT_WINDOW:
		o->window_ns = options_number("--reorder-window", arg, 0, 60000) * 1000000LL;
		break;
	case OPT_READY_FD:
		o->ready_fd = (int)options_number("--ready-fd", arg, 3, 1 << 20);
		break;
	case OPT_PRELOAD:
		o->preload = arg;
		break;
	case OPT_STDERR:
		o->stderr_mode = options_mode("--stderr", arg);
		break;
	case OPT_STDOUT:
		o->stdout_mode = options_mode("--stdout", arg);
		break;
	case OPT_STDERR_SEVERITY:
		if ((v = pri_severity_parse(arg)) == -1)
			errx(MPLOGD_EXIT_USAGE, "--stderr-severity: unknown severity '%s' "
			    "(emerg alert crit err warning notice info debug, or 0-7)", arg);
		o->stderr_severity = v;
		o->stderr_severity_name = pri_severity_name((unsigned)v);
		break;
	case OPT_CATCH_ALL:
		o->catch_all = 1;
		break;
	case OPT_MULTILINE:
		o->multiline = 1;
		break;
	case OPT_DAEMON:
		o->daemon = 1;
		break;
	case OPT_PIDFILE:
		o->pidfile = arg;
		break;
	case OPT_GROUP:
		o->params.group = options_group(arg);
		o->params.mode = 0660;
		break;
	}
}

/* Defaults before parsing: environment, then built-in values. */
static void
options_defaults(struct mplogd_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->params.level = 7;
	o->window_ns = OPTIONS_WINDOW_DEFAULT_MS * 1000000LL;
	o->ready_fd = -1;
	o->stderr_severity = -1;
	o->rotate_keep = SINKSPEC_KEEP_DEFAULT;
	o->flush_ns = OPTIONS_FLUSH_DEFAULT_MS * 1000000LL;
	o->sinks = options_sinks;
}

/* The segment name: --shm; with a COMMAND and no --shm, a private one;
 * with --system, /mplog-system; else $MPLOG_SHM; else /mplog-UID. */
static void
options_segment(struct mplogd_opts *o, int have_shm)
{
	if (have_shm)
		return;
	if (o->system) {
		snprintf(o->shm, sizeof(o->shm), "%s", LANESOCK_SYSTEM_SHM);
	} else if (o->command != NULL) {
		snprintf(o->shm, sizeof(o->shm), "/mplog-run-%d", (int)getpid());
		o->private_shm = 1;
	} else if (seg_env_name(o->shm, sizeof(o->shm)) == -1) {
		errx(MPLOGD_EXIT_USAGE, "MPLOG_SHM: '%s' is not a segment name (like /mplog-app)",
		    secure_getenv("MPLOG_SHM"));
	}
}

/*
 * The severity of stderr lines without --stderr-severity: what the
 * command's shim will take from an inherited MPLOG_STDERR_SEVERITY, else
 * info, so that catch-all lines agree with hooked ones.
 */
static int
options_inherited_severity(void)
{
	const char *s = getenv("MPLOG_STDERR_SEVERITY");
	int v = s != NULL ? pri_severity_parse(s) : -1;

	return v == -1 ? LOG_INFO : v;
}

/* Check --daemon and --pidfile: a standalone mplogd, with an output
 * other than standard output, which becomes /dev/null. */
static void
options_daemon(const struct mplogd_opts *o)
{
	if (o->command != NULL && (o->daemon || o->pidfile != NULL))
		errx(MPLOGD_EXIT_USAGE, "--daemon and --pidfile are for a standalone "
		    "mplogd: not with a COMMAND");
	if (!o->daemon)
		return;
	for (size_t i = 0; i < o->nsinks; i++)
		if (o->sinks[i].kind == SINK_FILE && strcmp(o->sinks[i].target, "-") == 0)
			errx(MPLOGD_EXIT_USAGE, "--daemon: standard output becomes /dev/null; "
			    "name an output with -o FILE");
}

/* The socket of --system and --socket, and its mode: every user may
 * connect to the system instance's; else the segment's users. */
static void
options_socket(struct mplogd_opts *o)
{
	if (o->system && o->command != NULL)
		errx(MPLOGD_EXIT_USAGE, "--system serves the machine: not with a COMMAND");
	if (o->system && o->socket[0] == '\0')
		snprintf(o->socket, sizeof(o->socket), "%s", LANESOCK_SYSTEM_PATH);
	else if (o->socket[0] == '\0')
		lanesock_instance_path(o->shm, o->socket, sizeof(o->socket));
	o->socket_mode = o->system ? 0666 : o->params.mode != 0 ? o->params.mode & 0660 : 0600;
}

/* Check the options that only make sense with a COMMAND. */
static void
options_run(struct mplogd_opts *o)
{
	if (o->command == NULL && (o->preload != NULL || o->stderr_mode != NULL ||
	    o->stdout_mode != NULL || o->stderr_severity != -1 || o->catch_all || o->multiline))
		errx(MPLOGD_EXIT_USAGE, "--preload, --stderr, --stdout, --stderr-severity, "
		    "--catch-all and --multiline need a COMMAND");
	if (o->catch_all && o->stderr_mode != NULL && strcmp(o->stderr_mode, "pass") == 0)
		errx(MPLOGD_EXIT_USAGE, "--catch-all captures the command's stderr: "
		    "it cannot be used with --stderr pass");
	if (o->stderr_severity == -1)
		o->stderr_severity = options_inherited_severity();
}

void
options_parse(int argc, char **argv, struct mplogd_opts *o)
{
	int c, have_shm;

	options_defaults(o);
	have_shm = 0;
	while ((c = getopt_long(argc, argv, "+o:f:hV", options_long, NULL)) != -1) {
		if (c == 'h') {
			options_usage();
			exit(MPLOGD_EXIT_OK);
		}
		if (c == OPT_VERSION || c == 'V') {
			printf("mplogd 0.1\n");
			exit(MPLOGD_EXIT_OK);
		}
		if (c == '?')
			errx(MPLOGD_EXIT_USAGE, "try 'mplogd --help'");
		if (c == OPT_SHM)
			have_shm = 1;
		options_one(c, optarg, o);
	}
	if (optind < argc)
		o->command = argv + optind;
	options_segment(o, have_shm);
	options_socket(o);
	options_run(o);
	options_sink_defaults(o);
	options_daemon(o);
}
