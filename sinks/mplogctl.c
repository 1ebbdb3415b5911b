/*
 * mplogctl.c - inspect and steer a running mplog segment.
 *
 *   mplogctl [--shm NAME] level [LEVEL]   show or set the level
 *   mplogctl [--shm NAME] [--json] status daemon, segment, lanes in use
 *   mplogctl [--shm NAME] names           each lane's process name
 *
 * The segment is attached with seg_attach(), which validates its layout
 * and copies the geometry into struct seg: counts and sizes are taken from
 * that copy, never from the metadata again. What producers write later
 * (heads, tails, names, the level) is still untrusted: names are copied
 * with a NUL and made safe for the terminal with strvis(3); status (ctlstat.c,
 * ctlshow.c) shows values that do not add up as unknown. Setting the level
 * is the only write: the level, then a bump of the config version.
 *
 * Exit codes are fixed (see ctl_usage): 0 success, 1 the segment cannot be
 * used (or stdout could not be written), 2 usage error.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <locale.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctlshow.h"
#include "ctlstat.h"
#include "futex.h"
#include "lanesock.h"
#include "lane.h"
#include "procid.h"
#include "pri.h"
#include "seg.h"

/* Looked up by the shim: mplog's own programs are never captured. */
__attribute__((visibility("default"))) int mplog_no_capture = 1;

#define CTL_VERSION "0.1"
#define CTL_MIRROR_NS (1000 * 1000000LL)  /* a level change waited for */
#define CTL_LEVELS "emerg alert crit err warning notice info debug"
#define CTL_COMMANDS "level status names"

enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_SEGMENT = 1,   /* missing, not mplog, other user, damaged */
	CTL_EXIT_USAGE = 2,     /* bad option, command or level */
};

enum ctl_cmd {
	CTL_CMD_LEVEL,
	CTL_CMD_STATUS,
	CTL_CMD_NAMES,
};

/* Long-only options, outside the range of characters. */
enum {
	CTL_OPT_SHM = 256,
	CTL_OPT_VERSION,
	CTL_OPT_JSON,
	CTL_OPT_SOCKET,
	CTL_OPT_SYSTEM,
};

struct ctl_args {
	const char *shm;        /* --shm, or NULL */
	const char *socket;     /* --socket, or NULL: the instance's */
	enum ctl_cmd cmd;
	int level;              /* level to set, -1 to show it */
	int json;               /* --json: status as one JSON object */
};

/* Print the help to stdout and exit 0. */
static void __attribute__((noreturn))
ctl_usage(void)
{
	printf("usage: mplogctl [--shm NAME | --system] [--socket PATH] level [LEVEL]\n"
	    "       mplogctl [--shm NAME | --system] [--socket PATH] [--json] status [--json]\n"
	    "       mplogctl [--shm NAME | --system] [--socket PATH] names\n"
	    "       mplogctl --help | --version\n"
	    "\n"
	    "Commands:\n"
	    "  level          print the level: the most verbose severity kept\n"
	    "  level LEVEL    set it, silently; every attached process follows at\n"
	    "                 its next call (" CTL_LEVELS ",\n"
	    "                 or 0-7)\n"
	    "  status         the daemon, the segment and every lane in use, with\n"
	    "                 rates over %d ms (status waits that long)\n"
	    "  names          the process name of each lane in use\n"
	    "\n"
	    "Options:\n"
	    "  --shm NAME     the segment (default: $MPLOG_SHM, else /mplog-UID)\n"
	    "  --system       the system instance (mplogd --system): --shm\n"
	    "                 " LANESOCK_SYSTEM_SHM " --socket " LANESOCK_SYSTEM_PATH "\n"
	    "  --socket PATH  where mplogd hands out lanes, asked for their status\n"
	    "                 (default: @mplog followed by the segment name)\n"
	    "  --json         status as one JSON object (keys: see mplogctl(1))\n"
	    "  -h, --help     print this help\n"
	    "  --version      print the version\n"
	    "\n"
	    "Exit status:\n"
	    "  0  success\n"
	    "  1  the segment cannot be used (missing, not an mplog segment,\n"
	    "     another user's, inconsistent), or stdout could not be written\n"
	    "  2  usage error (bad option, command or level)\n",
	    CTLSTAT_INTERVAL_MS);
	exit(CTL_EXIT_OK);
}

/* Parse the command and its operands into a; exits 2 on a usage error. */
static void
ctl_parse_command(int argc, char **argv, struct ctl_args *a)
{
	if (argc == 0)
		errx(CTL_EXIT_USAGE, "no command (" CTL_COMMANDS "; see --help)");
	if (strcmp(argv[0], "level") == 0)
		a->cmd = CTL_CMD_LEVEL;
	else if (strcmp(argv[0], "status") == 0)
		a->cmd = CTL_CMD_STATUS;
	else if (strcmp(argv[0], "names") == 0)
		a->cmd = CTL_CMD_NAMES;
	else
		errx(CTL_EXIT_USAGE, "unknown command '%s' (" CTL_COMMANDS ")", argv[0]);
	if (a->cmd == CTL_CMD_STATUS && argc == 2 && strcmp(argv[1], "--json") == 0) {
		a->json = 1;
		argc--;
	}
	if (argc > (a->cmd == CTL_CMD_LEVEL ? 2 : 1))
		errx(CTL_EXIT_USAGE, "%s: too many arguments", argv[0]);
	if (a->json && a->cmd != CTL_CMD_STATUS)
		errx(CTL_EXIT_USAGE, "--json: only status has a JSON form");
	a->level = -1;
	if (argc == 2 && (a->level = pri_severity_parse(argv[1])) == -1)
		errx(CTL_EXIT_USAGE, "unknown level '%s' (" CTL_LEVELS ")", argv[1]);
}

/* Parse the options, then the command; exits on --help, --version or error. */
static void
ctl_parse(int argc, char **argv, struct ctl_args *a)
{
	static const struct option longopts[] = {
		{ "shm", required_argument, NULL, CTL_OPT_SHM },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, CTL_OPT_VERSION },
		{ "json", no_argument, NULL, CTL_OPT_JSON },
		{ "socket", required_argument, NULL, CTL_OPT_SOCKET },
		{ "system", no_argument, NULL, CTL_OPT_SYSTEM },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	a->shm = NULL;
	a->socket = NULL;
	a->json = 0;
	/* getopt's own messages then start "mplogctl:" as err(3)'s do. */
	argv[0] = program_invocation_short_name;
	/* "+": options stop at the command, as the synopsis says. */
	while ((ch = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (ch) {
		case CTL_OPT_SHM:
			a->shm = optarg;
			break;
		case CTL_OPT_SOCKET:
			a->socket = optarg;
			break;
		case CTL_OPT_SYSTEM:
			a->shm = LANESOCK_SYSTEM_SHM;
			if (a->socket == NULL)
				a->socket = LANESOCK_SYSTEM_PATH;
			break;
		case 'h':
			ctl_usage();
		case CTL_OPT_JSON:
			a->json = 1;
			break;
		case CTL_OPT_VERSION:
			printf("mplogctl " CTL_VERSION "\n");
			exit(CTL_EXIT_OK);
		default:
			exit(CTL_EXIT_USAGE);   /* getopt said what was wrong */
		}
	}
	ctl_parse_command(argc - optind, argv + optind, a);
}

/* The segment name: --shm, else $MPLOG_SHM, else the default; checked. */
static const char *
ctl_shm_name(const char *opt, char *buf, size_t len)
{
	const char *from = "--shm";

	if (opt == NULL) {
		if (seg_env_name(buf, len) == 0)
			return buf;
		opt = secure_getenv("MPLOG_SHM");
		from = "MPLOG_SHM";
	}
	if (!seg_name_valid(opt))
		errx(CTL_EXIT_USAGE, "%s: invalid segment name '%s' (want /NAME, "
		    "under %d bytes, no other '/')", from, opt, SEG_PATH_MAX);
	return opt;
}

/* Attach to the segment name, or exit 1 with a message saying why not. */
static void
ctl_attach(struct seg *seg, const char *name)
{
	if (seg_attach(seg, name) == 0)
		return;
	switch (errno) {
	case ENOENT:
		errx(CTL_EXIT_SEGMENT, "%s: no such segment (is mplogd running?)", name);
	case EPROTO:
		errx(CTL_EXIT_SEGMENT, "%s: not an mplog segment, or another layout version", name);
	case EBADMSG:
		errx(CTL_EXIT_SEGMENT, "%s: inconsistent segment (sizes or offsets do not add up)", name);
	case EPERM:
		errx(CTL_EXIT_SEGMENT, "%s: not permitted (another user's segment, "
		    "or open to every user)", name);
	case EACCES:
		errx(CTL_EXIT_SEGMENT, "%s: permission denied (another user's segment)", name);
	default:
		err(CTL_EXIT_SEGMENT, "%s", name);
	}
}

/*
 * Wait, at most CTL_MIRROR_NS, until a running mplogd has put version
 * want of the config into the control page its socket's processes read:
 * when mplogctl returns, they follow the new level too. mplogd is woken
 * for it, as a producer wakes it.
 */
static void
ctl_wait_mirrored(struct seg *seg, unsigned want)
{
	int64_t until = seg_now_mono() + CTL_MIRROR_NS;
	const struct timespec ms = { 0, 1000000 };

	atomic_fetch_add_explicit(seg->wake, 1, memory_order_release);
	futex_wake(seg->wake);
	/* Acquire pairs with the release in seg_ctl_mirror(). */
	while ((int)(atomic_load_explicit(&seg->config->mirrored, memory_order_acquire) - want) < 0 &&
	    seg_consumer_running(seg) && seg_now_mono() < until)
		nanosleep(&ms, NULL);
}

/* Print the level keyword, or set the level. */
static void
ctl_level(struct seg *seg, int level)
{
	struct seg_config *c = seg->config;
	unsigned cur;

	if (level >= 0) {
		/* Relaxed: producers load the level itself (relaxed) on every
		 * call; it is a single word and carries no other data. */
		atomic_store_explicit(&c->level, (uint32_t)level, memory_order_relaxed);
		/* Release pairs with the acquire in seg_ctl_mirror(): mplogd
		 * copies this level into the control page of its socket. */
		unsigned want = atomic_fetch_add_explicit(&c->version, 1, memory_order_release) + 1;
		ctl_wait_mirrored(seg, want);
		return;
	}
	cur = atomic_load_explicit(&c->level, memory_order_relaxed);
	if (cur > 7)
		errx(CTL_EXIT_SEGMENT, "%s: inconsistent segment (level %u, not 0-7)",
		    seg->name, cur);
	printf("%s\n", pri_severity_name(cur));
}

/* Print the daemon, the segment and every lane in use, as text or JSON. */
static void
ctl_status(const struct seg *seg, const char *sock, int json)
{
	struct ctlstat st;

	if (ctlstat_read(&st, seg, sock, CTLSTAT_INTERVAL_MS) == -1)
		err(CTL_EXIT_SEGMENT, "%s", seg->name);
	if (json && ctlshow_json(&st) == -1)
		err(CTL_EXIT_SEGMENT, "%s: cannot make the JSON", seg->name);
	if (!json)
		ctlshow_text(&st);
	ctlstat_free(&st);
}

/* The same rows for the lanes handed over the socket sock. */
static void
ctl_socket_names(const struct seg *seg, const char *sock)
{
	char name[CTLSHOW_VIS_LEN(SEG_NAME_MAX)];
	struct lanesock_stat *st;
	size_t n;

	if (lanesock_status(sock, &st, &n) == -1)
		return;
	for (size_t i = 0; i < n; i++) {
		char raw[SEG_NAME_MAX];

		/* The kernel's name while it runs, else the one it wrote. */
		if (!st[i].live || procid_comm(st[i].pid, raw, sizeof(raw)) == -1)
			snprintf(raw, sizeof(raw), "%.*s", SEG_NAME_MAX - 1, st[i].name);
		ctlshow_vis(name, raw, strlen(raw));
		printf("%5" PRIu32 "  %7d  %s\n", seg->lane_count + st[i].index, (int)st[i].pid,
		    name);
	}
	free(st);
}

/* Print the process name each lane's owner gave as LANE PID NAME rows. */
static void
ctl_names(const struct seg *seg, const char *sock)
{
	char name[CTLSHOW_VIS_LEN(SEG_NAME_MAX)];

	printf("%5s  %7s  %s\n", "LANE", "PID", "NAME");
	for (uint32_t i = 0; i < seg->lane_count; i++) {
		const struct lane_hdr *h = seg_lane(seg, i);
		/* Relaxed: the owner is shown, not relied on. */
		uint64_t owner = atomic_load_explicit(&h->owner, memory_order_relaxed);
		char raw[SEG_NAME_MAX];

		if (owner == 0)
			continue;
		memcpy(raw, h->name, sizeof(raw));      /* untrusted: copied once */
		ctlshow_vis(name, raw, strnlen(raw, SEG_NAME_MAX - 1));
		printf("%5" PRIu32 "  %7d  %s\n", i, (int)procid_pid(owner), name);
	}
	ctl_socket_names(seg, sock);
}

int
main(int argc, char **argv)
{
	struct ctl_args a;
	struct seg seg;
	char defname[SEG_PATH_MAX], sock[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const char *name;

	/* Names in the segment may be UTF-8: keep what the locale prints. */
	setlocale(LC_CTYPE, "");
	ctl_parse(argc, argv, &a);
	name = ctl_shm_name(a.shm, defname, sizeof(defname));
	if (a.socket == NULL)
		lanesock_instance_path(name, sock, sizeof(sock));
	ctl_attach(&seg, name);
	switch (a.cmd) {
	case CTL_CMD_LEVEL:
		ctl_level(&seg, a.level);
		break;
	case CTL_CMD_STATUS:
		ctl_status(&seg, a.socket != NULL ? a.socket : sock, a.json);
		break;
	case CTL_CMD_NAMES:
		ctl_names(&seg, a.socket != NULL ? a.socket : sock);
		break;
	}
	seg_detach(&seg);
	if (fflush(stdout) == EOF || ferror(stdout))
		err(CTL_EXIT_SEGMENT, "stdout");
	return CTL_EXIT_OK;
}
