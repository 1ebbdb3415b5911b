/*
 * mplogctl.c - inspect and steer a running mplog segment.
 *
 *   mplogctl [--shm NAME] level [LEVEL]   show or set the level
 *   mplogctl [--shm NAME] status          daemon, segment, lanes in use
 *   mplogctl [--shm NAME] names           the name tables
 *
 * The segment is attached with seg_attach(), which validates its layout
 * and copies the geometry into struct seg: counts and sizes are taken from
 * that copy, never from the metadata again. What producers write later
 * (heads, tails, names, the level) is still untrusted: names are copied
 * with a NUL and made safe for the terminal with strvis(3). Setting the level
 * is the only write: the level, then a bump of the config version.
 *
 * Exit codes are fixed (see ctl_usage): 0 success, 1 the segment cannot be
 * used (or stdout could not be written), 2 usage error.
 */
#define LIBBSD_NETBSD_VIS

#include <bsd/stdlib.h>
#include <bsd/vis.h>
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

#include "lane.h"
#include "names.h"
#include "pri.h"
#include "procid.h"
#include "seg.h"

/* Looked up by the shim: mplog's own programs are never captured. */
__attribute__((visibility("default"))) int mplog_no_capture = 1;

#define CTL_VERSION "0.1"
#define CTL_LEVELS "emerg alert crit err warning notice info debug"
#define CTL_COMMANDS "level status names"
/* strvis(3) writes at most four bytes per input byte, plus the NUL. */
#define CTL_VIS_LEN(n) (4 * (n) + 1)
/* humanize_number(3) picks the unit that fits: 5 bytes give "1.0M". */
#define CTL_SIZE_LEN 5

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
};

struct ctl_args {
	const char *shm;        /* --shm, or NULL */
	enum ctl_cmd cmd;
	int level;              /* level to set, -1 to show it */
};

/* Print the help to stdout and exit 0. */
static void __attribute__((noreturn))
ctl_usage(void)
{
	printf("usage: mplogctl [--shm NAME] level [LEVEL]\n"
	    "       mplogctl [--shm NAME] status\n"
	    "       mplogctl [--shm NAME] names\n"
	    "       mplogctl --help | --version\n"
	    "\n"
	    "Commands:\n"
	    "  level          print the level: the most verbose severity kept\n"
	    "  level LEVEL    set it, silently; every attached process follows at\n"
	    "                 its next call (" CTL_LEVELS ",\n"
	    "                 or 0-7)\n"
	    "  status         the daemon, the segment and every lane in use\n"
	    "  names          the process and module name tables\n"
	    "\n"
	    "Options:\n"
	    "  --shm NAME     the segment (default: $MPLOG_SHM, else /mplog-UID)\n"
	    "  -h, --help     print this help\n"
	    "  --version      print the version\n"
	    "\n"
	    "Exit status:\n"
	    "  0  success\n"
	    "  1  the segment cannot be used (missing, not an mplog segment,\n"
	    "     another user's, inconsistent), or stdout could not be written\n"
	    "  2  usage error (bad option, command or level)\n");
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
	if (argc > (a->cmd == CTL_CMD_LEVEL ? 2 : 1))
		errx(CTL_EXIT_USAGE, "%s: too many arguments", argv[0]);
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
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	a->shm = NULL;
	/* getopt's own messages then start "mplogctl:" as err(3)'s do. */
	argv[0] = program_invocation_short_name;
	/* "+": options stop at the command, as the synopsis says. */
	while ((ch = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (ch) {
		case CTL_OPT_SHM:
			a->shm = optarg;
			break;
		case 'h':
			ctl_usage();
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

/* Make s (at most len bytes) safe for a terminal into out. */
static void
ctl_vis(char *out, const char *s, size_t len)
{
	char tmp[SEG_NAME_MAX];

	len = len < sizeof(tmp) - 1 ? len : sizeof(tmp) - 1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	strvis(out, tmp, VIS_CSTYLE | VIS_OCTAL | VIS_TAB | VIS_NL);
}

/* A byte count in at most four characters ("64K", "1.0M") into buf. */
static const char *
ctl_size(char buf[CTL_SIZE_LEN], uint64_t n)
{
	if (humanize_number(buf, CTL_SIZE_LEN, n > INT64_MAX ? INT64_MAX : (int64_t)n,
	    "", HN_AUTOSCALE, HN_DECIMAL | HN_NOSPACE | HN_B) == -1)
		strcpy(buf, "?");
	return buf;
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
		/* Release, for a reader that loads version with acquire and
		 * then the level (none does yet: producers do not watch it). */
		atomic_fetch_add_explicit(&c->version, 1, memory_order_release);
		return;
	}
	cur = atomic_load_explicit(&c->level, memory_order_relaxed);
	if (cur > 7)
		errx(CTL_EXIT_SEGMENT, "%s: inconsistent segment (level %u, not 0-7)",
		    seg->name, cur);
	printf("%s\n", pri_severity_name(cur));
}

/* The segment line of status. */
static void
ctl_status_segment(const struct seg *seg)
{
	unsigned level = atomic_load_explicit(&seg->config->level, memory_order_relaxed);
	char lane[CTL_SIZE_LEN], total[CTL_SIZE_LEN];

	printf("segment  %s  %" PRIu32 " lanes x %s  (%s)  policy %s  level %s\n",
	    seg->name, seg->lane_count, ctl_size(lane, seg->lane_size),
	    ctl_size(total, seg->size),
	    seg->policy == SEG_POLICY_DROP ? "drop" : "block",
	    pri_severity_name(level));
}

/* Name of a consumer state for display. */
static const char *
ctl_state_name(uint32_t state)
{
	switch (state) {
	case SEG_STATE_STARTING:
		return "starting";
	case SEG_STATE_RUNNING:
		return "running";
	case SEG_STATE_CLOSED:
		return "closed";
	default:
		return "?";
	}
}

/* The daemon line of status: pid, liveness, heartbeat age. */
static void
ctl_status_daemon(const struct seg *seg)
{
	const struct seg_meta *m = seg->meta;
	uint32_t state = atomic_load_explicit(&m->state, memory_order_relaxed);
	int32_t pid = atomic_load_explicit(&m->consumer_pid, memory_order_relaxed);
	uint64_t beat = atomic_load_explicit(&m->heartbeat_ns, memory_order_relaxed);
	uint64_t damaged = atomic_load_explicit(&m->damaged, memory_order_relaxed);
	int64_t age = seg_now_mono() - (int64_t)beat;
	const char *how = "running";

	if (state != SEG_STATE_RUNNING || !seg_consumer_exists(seg))
		how = "not running";
	else if (!seg_consumer_live(seg))
		how = "stale";
	if (pid > 0)
		printf("daemon   pid %" PRId32 "  %s", pid, how);
	else
		printf("daemon   pid -  %s", how);
	if (beat == 0 || age < 0)
		printf("  heartbeat never");
	else
		printf("  heartbeat %.1fs ago", (double)age / 1e9);
	if (state != SEG_STATE_RUNNING)
		printf("  (state %s)", ctl_state_name(state));
	if (damaged != 0)
		printf("  damaged records skipped %" PRIu64, damaged);
	printf("\n");
}

/* The command name of a live pid from /proc, made safe, or "-". */
static void
ctl_comm(pid_t pid, char *out)
{
	char buf[SEG_NAME_MAX];

	if (procid_comm(pid, buf, sizeof(buf)) == -1)
		strcpy(out, "-");
	else
		ctl_vis(out, buf, strlen(buf));
}

/* The PID and NAME columns of a lane's owner: "-" where there is none. */
static void
ctl_lane_owner(uint64_t owner, char pid[16], char name[CTL_VIS_LEN(SEG_NAME_MAX)])
{
	strcpy(pid, "-");
	strcpy(name, "-");
	if (owner == 0)
		return;
	snprintf(pid, 16, "%d", (int)procid_pid(owner));
	if (procid_alive(owner))
		ctl_comm(procid_pid(owner), name);
}

/* One row of the lane table, if lane i < lane_count is in use; 1 if printed. */
static int
ctl_lane_row(const struct seg *seg, uint32_t i)
{
	const struct lane_hdr *h = seg_lane(seg, i);
	uint64_t owner, tail, used;
	char pid[16], name[CTL_VIS_LEN(SEG_NAME_MAX)], bytes[CTL_SIZE_LEN], fill[16];

	owner = atomic_load_explicit(&h->owner, memory_order_relaxed);
	/* Tail first, with acquire: pairs with the CAS in lane_consume(),
	 * whose reader had seen a head at least that far, so the head we
	 * load next is not below it and used cannot wrap. */
	tail = atomic_load_explicit(&h->tail, memory_order_acquire);
	used = atomic_load_explicit(&h->head, memory_order_relaxed) - tail;
	if (owner == 0 && used == 0)
		return 0;
	ctl_lane_owner(owner, pid, name);
	if (used > seg->lane_size)
		strcpy(fill, "bad");    /* torn read or a scribbled lane */
	else
		snprintf(fill, sizeof(fill), "%.1f%%", 100.0 * (double)used / seg->lane_size);
	printf("%4" PRIu32 "  %-7s  %-15s  %8" PRIu64 "  %5s  %6" PRIu64 "  %5s\n",
	    i, pid, name, atomic_load_explicit(&h->records, memory_order_relaxed),
	    ctl_size(bytes, atomic_load_explicit(&h->bytes, memory_order_relaxed)),
	    atomic_load_explicit(&h->drops, memory_order_relaxed), fill);
	return 1;
}

/* The lane table of status: every lane leased or holding bytes. */
static void
ctl_status_lanes(const struct seg *seg)
{
	int shown = 0;

	printf("%4s  %-7s  %-15s  %8s  %5s  %6s  %5s\n",
	    "LANE", "PID", "NAME", "RECORDS", "BYTES", "DROPS", "FILL");
	for (uint32_t i = 0; i < seg->lane_count; i++)
		shown += ctl_lane_row(seg, i);
	if (shown == 0)
		printf("(no lane in use)\n");
}

/* Print the segment, the daemon and every lane in use. */
static void
ctl_status(const struct seg *seg)
{
	ctl_status_segment(seg);
	ctl_status_daemon(seg);
	ctl_status_lanes(seg);
}

/* Print the published entries of one name table as KIND ID NAME rows. */
static void
ctl_names_table(const struct seg *seg, int kind, const char *label)
{
	uint32_t count;
	const struct names_entry *tab = seg_names(seg, kind, &count);
	char name[CTL_VIS_LEN(SEG_NAME_MAX)];

	for (uint32_t i = 0; i < count; i++) {
		/* Pairs with the release in names_register(): a published
		 * entry's name is written. */
		uint32_t st = atomic_load_explicit(&tab[i].state, memory_order_acquire);

		if (st == NAMES_FREE)
			break;      /* entries are claimed in order */
		if (st != NAMES_PUBLISHED)
			continue;
		ctl_vis(name, tab[i].name, strnlen(tab[i].name, SEG_NAME_MAX));
		printf("%-6s  %5" PRIu32 "  %s\n", label, i + 1, name);
	}
}

/* Print both name tables. */
static void
ctl_names(const struct seg *seg)
{
	printf("%-6s  %5s  %s\n", "KIND", "ID", "NAME");
	ctl_names_table(seg, NAMES_PROC, "proc");
	ctl_names_table(seg, NAMES_MODULE, "module");
}

int
main(int argc, char **argv)
{
	struct ctl_args a;
	struct seg seg;
	char defname[SEG_PATH_MAX];
	const char *name;

	/* Names in the segment may be UTF-8: keep what the locale prints. */
	setlocale(LC_CTYPE, "");
	ctl_parse(argc, argv, &a);
	name = ctl_shm_name(a.shm, defname, sizeof(defname));
	ctl_attach(&seg, name);
	switch (a.cmd) {
	case CTL_CMD_LEVEL:
		ctl_level(&seg, a.level);
		break;
	case CTL_CMD_STATUS:
		ctl_status(&seg);
		break;
	case CTL_CMD_NAMES:
		ctl_names(&seg);
		break;
	}
	seg_detach(&seg);
	if (fflush(stdout) == EOF || ferror(stdout))
		err(CTL_EXIT_SEGMENT, "stdout");
	return CTL_EXIT_OK;
}
