/*
 * test_lanesock.c - a lane of its own for every process, over mplogd's
 * socket (mplogd --system, --socket; MPLOG_SOCKET): attribution from the
 * kernel, isolation between users, bounds, hostile handshakes.
 *
 * The system instance is started on a private socket path and segment, as
 * root; the second user is nobody (65534), which a forked child becomes
 * before it runs anything.
 */
#include <criterion/criterion.h>
#include <linux/futex.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "lane.h"
#include "lanesock.h"
#include "lanesrv.h"
#include "procid.h"

#define LST_NOBODY 65534

static struct harness_daemon lst_d;
static char *lst_sock;
static int lst_serial;          /* names say's stderr files */

/* The first record whose message holds needle, or NULL. */
static const struct harness_rec *
lst_note(const struct harness_rec *r, size_t n, const char *needle)
{
	for (size_t i = 0; i < n; i++)
		if (harness_contains(r[i].msg, needle))
			return &r[i];
	return NULL;
}

/* Start the system instance on a private socket, with extra options. */
static void
lst_start(const char *per_uid)
{
	/* Nobody may reach the socket (mode 0666) through the scratch
	 * folder; the folder made for it is mplogd's (0755). */
	cr_assert(chmod(harness_file(""), 0711) == 0);
	lst_sock = harness_fmt("%s/run/mplogd.sock", harness_file(""));
	const char *extra[] = { "--system", "--socket", lst_sock,
	    per_uid != NULL ? "--lanes-per-uid" : NULL, per_uid, NULL };

	harness_daemon_start(&lst_d, "json", extra);
}

/* Stop it and load its log. */
static struct harness_rec *
lst_stop(size_t *n)
{
	cr_assert(harness_daemon_stop(&lst_d) == 0, "mplogd: %s",
	    harness_read_file(lst_d.err, NULL));
	return harness_json_load(lst_d.log, n);
}

/* In a forked child: become uid nobody with primary group gid only, or
 * exit 99. */
static void
lst_become(gid_t gid)
{
	if (setgroups(0, NULL) == -1 || setgid(gid) == -1 || setuid(LST_NOBODY) == -1)
		_exit(99);
}

/* In a forked child: become nobody, or exit 99. */
static void
lst_become_nobody(void)
{
	lst_become(LST_NOBODY);
}

/* Run say with directives as uid 0 or nobody, with MPLOG_SOCKET set; its
 * stderr into *err (a file's text) when err is not NULL. Its pid. */
static pid_t
lst_say(int nobody, const char *const *directives, char **err)
{
	char *path = harness_file(harness_fmt("say-%d.err", lst_serial++));
	char **env = harness_env(harness_fmt("LD_PRELOAD=%s", harness_shim()),
	    harness_fmt("MPLOG_SOCKET=%s", lst_sock), "MPLOG_SHM=/mplog-none-at-all", NULL);
	char *argv[16];
	int n = 0, status;
	pid_t pid;

	argv[n++] = harness_build("hosts/say");
	for (int i = 0; directives[i] != NULL && n < 15; i++)
		argv[n++] = (char *)directives[i];
	argv[n] = NULL;
	pid = fork();
	cr_assert(pid != -1);
	if (pid == 0) {
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);

		if (fd == -1 || dup2(fd, 2) == -1)
			_exit(98);
		if (nobody)
			lst_become_nobody();
		execve(argv[0], argv, env);
		_exit(97);
	}
	cr_assert(waitpid(pid, &status, 0) == pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "say as %s ended with status %#x", nobody ? "nobody" : "root", status);
	if (err != NULL)
		*err = harness_read_file(path, NULL);
	return pid;
}

/* The record whose message is msg; fails the test when there is none or
 * more than one. */
static const struct harness_rec *
lst_find(const struct harness_rec *r, size_t n, const char *msg)
{
	const struct harness_rec *hit = NULL;

	for (size_t i = 0; i < n; i++) {
		if (strcmp(r[i].msg, msg) != 0)
			continue;
		cr_assert(hit == NULL, "\"%s\" logged twice", msg);
		hit = &r[i];
	}
	cr_assert(hit != NULL, "\"%s\" is not in the log", msg);
	return hit;
}

/* Check that rec was written by pid as uid/gid, all three the kernel's. */
static void
lst_check_cred(const struct harness_rec *rec, pid_t pid, long id)
{
	cr_assert(rec->pid == pid, "\"%s\": pid %ld, not %d", rec->msg, rec->pid, (int)pid);
	cr_assert(rec->has_cred, "\"%s\" has no uid and gid", rec->msg);
	cr_assert(rec->uid == id && rec->gid == id, "\"%s\": uid %ld gid %ld, not %ld",
	    rec->msg, rec->uid, rec->gid, id);
}

TestSuite(lanesock, .init = harness_setup, .fini = harness_teardown);

Test(lanesock, processes_of_two_users_get_pid_uid_and_gid_from_the_kernel,
    .timeout = TEST_TIMEOUT(60))
{
	const char *root_says[] = { "w:from root\\n", "s:3:root syslog", NULL };
	const char *nobody_says[] = { "w:from nobody\\n", "s:4:nobody syslog", NULL };
	size_t n;

	lst_start(NULL);
	pid_t root = lst_say(0, root_says, NULL);
	pid_t nobody = lst_say(1, nobody_says, NULL);
	struct harness_rec *r = lst_stop(&n);

	lst_check_cred(lst_find(r, n, "from root"), root, 0);
	lst_check_cred(lst_find(r, n, "root syslog"), root, 0);
	lst_check_cred(lst_find(r, n, "from nobody"), nobody, LST_NOBODY);
	lst_check_cred(lst_find(r, n, "nobody syslog"), nobody, LST_NOBODY);
	cr_assert_str_eq(lst_find(r, n, "from nobody")->proc, "say");
}

/* A forked child asks for a lane of its own (it never writes its
 * parent's); an exec'd image asks again, with the same pid. */
Test(lanesock, a_forked_child_and_an_exec_each_get_a_lane_and_keep_their_pid,
    .timeout = TEST_TIMEOUT(60))
{
	const char *says[] = { "w:parent\\n", "f:", "w:child\\n", "e:", "w:after exec\\n", NULL };
	size_t n;

	lst_start(NULL);
	pid_t parent = lst_say(0, says, NULL);
	struct harness_rec *r = lst_stop(&n);
	const struct harness_rec *child = lst_find(r, n, "child");

	lst_check_cred(lst_find(r, n, "parent"), parent, 0);
	cr_assert(child->pid != parent, "the child's line has its parent's pid");
	lst_check_cred(child, (pid_t)child->pid, 0);
	lst_check_cred(lst_find(r, n, "after exec"), (pid_t)child->pid, 0);
}

/* Write one record claiming pid into w, and publish it. */
static void
lst_put(struct seg *s, struct lane_writer *w, int32_t pid, const char *msg)
{
	uint32_t len = (uint32_t)strlen(msg);
	struct lane_rec *rec = lane_reserve(w, len);

	cr_assert(rec != NULL);
	rec->source = LANE_SRC_STDERR;
	rec->pri = 6 | (1 << 3);
	rec->pid = pid;
	rec->tid = getpid();
	rec->ts_ns = (uint64_t)seg_now_real();
	memcpy(lane_rec_msg(rec), msg, len);
	lane_commit(w, rec);
	lane_publish(w);
	seg_wake_consumer(s);
}

/*
 * Records in a lane claim pids: their own process's is kept, a child's
 * (the vfork case) is kept, any other (init's, a stranger's) is replaced
 * by the lane's process, as the kernel named it.
 */
Test(lanesock, a_record_claiming_another_pid_is_attributed_to_its_lanes_process,
    .timeout = TEST_TIMEOUT(60))
{
	struct lane_writer w;
	struct seg s;
	int p[2];
	size_t n;

	lst_start(NULL);
	cr_assert(lanesock_attach(&s, lst_sock) == 0, "attach: %s", strerror(errno));
	cr_assert(lane_lease(&s, procid_pack(getpid(), procid_start(getpid())), &w) == 0);
	cr_assert(pipe(p) == 0);
	pid_t child = fork();
	if (child == 0) {
		char c;

		close(p[1]);
		_exit(read(p[0], &c, 1) == 0 ? 0 : 1);
	}
	close(p[0]);
	lst_put(&s, &w, getpid(), "own pid");
	lst_put(&s, &w, child, "a child's pid");
	lst_put(&s, &w, 1, "init's pid");
	lst_put(&s, &w, getppid(), "the parent's pid");
	lst_put(&s, &w, -5, "a negative pid");
	/* The consumer reads the lane only while the child lives: it is
	 * asked once the last record is in the log. */
	for (int i = 0; i < 10000 && !harness_contains(harness_read_file(lst_d.log, NULL),
	    "a negative pid"); i++)
		harness_tick();
	close(p[1]);
	waitpid(child, NULL, 0);
	struct harness_rec *r = lst_stop(&n);

	lanesock_detach(&s);
	lst_check_cred(lst_find(r, n, "own pid"), getpid(), 0);
	lst_check_cred(lst_find(r, n, "a child's pid"), child, 0);
	lst_check_cred(lst_find(r, n, "init's pid"), getpid(), 0);
	lst_check_cred(lst_find(r, n, "the parent's pid"), getpid(), 0);
	lst_check_cred(lst_find(r, n, "a negative pid"), getpid(), 0);
}

/* Does any readable byte of the len bytes at p hold needle? */
static int
lst_holds(const void *p, size_t len, const char *needle)
{
	return memmem(p, len, needle, strlen(needle)) != NULL;
}

/* Can this process open any descriptor of process pid, or any object in
 * /dev/shm holding needle? Returns what it could, as bits. */
static int
lst_peek_around(pid_t pid, const char *shm, const char *needle)
{
	char path[128];
	struct dirent *e;
	int found = 0;
	DIR *d;

	if (shm_open(shm, O_RDONLY, 0) != -1 || errno != EACCES)
		found |= 1;
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if ((d = opendir(path)) != NULL) {
		while ((e = readdir(d)) != NULL)
			if (e->d_name[0] != '.' && openat(dirfd(d), e->d_name, O_RDONLY) != -1)
				found |= 2;
		closedir(d);
	}
	snprintf(path, sizeof(path), "/proc/%d/map_files", (int)pid);
	if ((d = opendir(path)) != NULL) {
		found |= 4;
		closedir(d);
	}
	if ((d = opendir("/dev/shm")) != NULL) {
		while ((e = readdir(d)) != NULL) {
			char buf[1 << 16];
			int fd = openat(dirfd(d), e->d_name, O_RDONLY);
			ssize_t got = fd == -1 ? 0 : read(fd, buf, sizeof(buf));

			if (got > 0 && lst_holds(buf, (size_t)got, needle))
				found |= 8;
			if (fd != -1)
				close(fd);
		}
		closedir(d);
	}
	return found;
}

/* As nobody: get a lane, and look for needle in all it was handed and
 * around it. The exit status says what was found (0: nothing). */
static void __attribute__((noreturn))
lst_snoop(pid_t mplogd, pid_t owner, const char *shm, const char *needle)
{
	struct seg s;
	int found;

	lst_become_nobody();
	if (lanesock_attach(&s, lst_sock) == -1)
		_exit(90);
	found = lst_peek_around(mplogd, shm, needle) | lst_peek_around(owner, shm, needle) << 4;
	if (lst_holds(s.meta, s.size, needle) || lst_holds((void *)s.wake, LANESOCK_WAKE_SIZE,
	    needle) || lst_holds(s.own_lane, sizeof(struct lane_hdr) + s.lane_size, needle))
		found |= 0x100;
	_exit(found);
}

/*
 * A root process's line sits in its lane (read or not, the bytes stay in
 * the ring). Nobody, with a lane of its own, finds it in nothing it was handed, and
 * can open neither the segment, nor any descriptor of mplogd or of the
 * root process, nor anything in /dev/shm that holds it.
 */
Test(lanesock, another_user_can_neither_open_nor_read_a_lane_it_was_not_handed,
    .timeout = TEST_TIMEOUT(60))
{
	static const char secret[] = "root's secret 7f3a9c";
	struct lane_writer w;
	struct seg s;
	int status;

	lst_start(NULL);
	cr_assert(lanesock_attach(&s, lst_sock) == 0, "attach: %s", strerror(errno));
	cr_assert(lane_lease(&s, procid_pack(getpid(), procid_start(getpid())), &w) == 0);
	lst_put(&s, &w, getpid(), secret);
	pid_t self = getpid(), snoop = fork();
	if (snoop == 0)
		lst_snoop(lst_d.pid, self, lst_d.shm, secret);
	cr_assert(waitpid(snoop, &status, 0) == snoop);
	cr_assert(WIFEXITED(status), "the snooper died: %#x", status);
	cr_assert(WEXITSTATUS(status) != 90, "nobody got no lane");
	cr_assert(WEXITSTATUS(status) == 0, "nobody could see: %#x (1 the segment, 2 a "
	    "descriptor, 4 map_files, 8 /dev/shm; << 4 the root process's; 0x100 the lane)",
	    WEXITSTATUS(status));
	lanesock_detach(&s);
	lst_stop(&(size_t){ 0 });
}

/* Run the handshake by hand; the reply's status, the fds in fds. */
static int
lst_handshake(const void *hello, size_t len, int send_fd, int fds[LANESOCK_FDS])
{
	struct sockaddr_un a;
	struct lanesock_reply r;
	socklen_t alen;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0), nfds;

	cr_assert(lanesock_addr(lst_sock, &a, &alen) == 0);
	cr_assert(connect(fd, (struct sockaddr *)&a, alen) == 0, "connect: %s", strerror(errno));
	cr_assert(lanesock_send(fd, hello, len, send_fd >= 0 ? &send_fd : NULL,
	    send_fd >= 0) == 0);
	struct timeval tv = { 5, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ssize_t got = recv(fd, NULL, 0, MSG_PEEK);
	cr_assert(got != -1, "no reply: %s", strerror(errno));
	cr_assert(lanesock_recv(fd, &r, sizeof(r), fds, &nfds) == (ssize_t)sizeof(r));
	close(fd);
	cr_assert(r.magic == LANESOCK_MAGIC && r.version == LANESOCK_VERSION);
	cr_assert((r.status == 0) == (nfds == LANESOCK_FDS), "status %d with %d fds",
	    r.status, nfds);
	return r.status;
}

/*
 * What is handed over is sealed: no descriptor can shrink or grow the
 * pages (which would fault every process that maps them), and the
 * control page cannot be mapped or written for writing.
 */
Test(lanesock, handed_pages_cannot_shrink_or_grow_and_the_control_page_stays_read_only,
    .timeout = TEST_TIMEOUT(60))
{
	struct lanesock_hello h = { LANESOCK_MAGIC, LANESOCK_VERSION, 0, 0 };
	int fds[LANESOCK_FDS];

	lst_start(NULL);
	cr_assert(lst_handshake(&h, sizeof(h), -1, fds) == 0);
	for (int i = 0; i < LANESOCK_FDS; i++) {
		cr_assert(ftruncate(fds[i], 0) == -1 && errno == EPERM, "fd %d shrinks", i);
		cr_assert(ftruncate(fds[i], 1 << 30) == -1 && errno == EPERM, "fd %d grows", i);
	}
	cr_assert(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0) ==
	    MAP_FAILED && errno == EPERM, "the control page maps writable");
	cr_assert(pwrite(fds[0], "x", 1, 0) == -1 && errno == EPERM, "the control page is written");
	for (int i = 0; i < LANESOCK_FDS; i++)
		close(fds[i]);
	const char *says[] = { "w:still served\\n", NULL };
	pid_t pid = lst_say(0, says, NULL);
	size_t n;
	struct harness_rec *r = lst_stop(&n);

	lst_check_cred(lst_find(r, n, "still served"), pid, 0);
}

/* As nobody: open count connections that never say hello, tell the
 * parent on ready, and hold them until told on done. */
static void __attribute__((noreturn))
lst_silent_flood(int count, int ready, int done)
{
	struct sockaddr_un a;
	socklen_t alen;
	char c;

	lst_become_nobody();
	lanesock_addr(lst_sock, &a, &alen);
	for (int i = 0; i < count; i++) {
		int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0);

		connect(fd, (struct sockaddr *)&a, alen);
	}
	if (write(ready, "r", 1) != 1 || read(done, &c, 1) != 1)
		_exit(1);
	_exit(0);
}

/*
 * Bogus hellos (another magic, another version, cut short, carrying a
 * descriptor, an unknown flag set) are refused with EPROTO and no descriptor; a
 * flood of connections from another user that never say hello delays
 * nobody else: root's process is served while they are held open.
 */
Test(lanesock, bogus_partial_and_silent_handshakes_leave_mplogd_serving_everyone_else,
    .timeout = TEST_TIMEOUT(60))
{
	struct lanesock_hello good = { LANESOCK_MAGIC, LANESOCK_VERSION, 0, 0 };
	struct lanesock_hello magic = good, version = good, flags = good;
	int fds[LANESOCK_FDS], ready[2], done[2];
	char c, *err;
	size_t n;

	magic.magic ^= 1;
	version.version = 2;
	flags.flags = LANESOCK_F_STATUS << 1;
	lst_start(NULL);
	cr_assert(lst_handshake(&magic, sizeof(magic), -1, fds) == EPROTO);
	cr_assert(lst_handshake(&version, sizeof(version), -1, fds) == EPROTO);
	cr_assert(lst_handshake(&flags, sizeof(flags), -1, fds) == EPROTO);
	cr_assert(lst_handshake(&good, sizeof(good) - 1, -1, fds) == EPROTO);
	cr_assert(lst_handshake(&good, sizeof(good), 0, fds) == EPROTO);
	cr_assert(pipe(ready) == 0 && pipe(done) == 0);
	pid_t flood = fork();
	if (flood == 0)
		lst_silent_flood(LANESRV_PENDING_MAX + LANESRV_BACKLOG, ready[1], done[0]);
	cr_assert(read(ready[0], &c, 1) == 1, "the flood did not start");
	const char *says[] = { "w:served through the flood\\n", NULL };
	pid_t pid = lst_say(0, says, &err);
	cr_assert(write(done[1], "d", 1) == 1);
	waitpid(flood, NULL, 0);
	struct harness_rec *r = lst_stop(&n);

	lst_check_cred(lst_find(r, n, "served through the flood"), pid, 0);
	cr_assert_str_eq(err, "", "root's process passed its line through: %s", err);
	cr_assert(lst_note(r, n, "refused a lane") != NULL, "the refusals are not reported");
}

/* As nobody: take a lane, tell the parent, hold it until told on done. */
static void __attribute__((noreturn))
lst_hold_lane(int ready, int done)
{
	struct seg s;
	char c;

	lst_become_nobody();
	if (lanesock_attach(&s, lst_sock) == -1)
		_exit(1);
	if (write(ready, "r", 1) != 1 || read(done, &c, 1) != 1)
		_exit(1);
	_exit(0);
}

/*
 * --lanes-per-uid 2: nobody's two live processes hold two lanes; a third
 * is refused, says so in the log, and passes its line through to its own
 * stderr, while root is still served. Once one of the two exits, nobody
 * is served again.
 */
Test(lanesock, a_user_past_its_lane_cap_is_refused_and_reported_and_passes_its_lines_through,
    .timeout = TEST_TIMEOUT(60))
{
	int ready[2], done[2][2];
	pid_t holder[2];
	char c, *err;
	size_t n;

	lst_start("2");
	cr_assert(pipe(ready) == 0);
	for (int i = 0; i < 2; i++) {
		cr_assert(pipe(done[i]) == 0);
		if ((holder[i] = fork()) == 0)
			lst_hold_lane(ready[1], done[i][0]);
		close(done[i][0]);
		cr_assert(read(ready[0], &c, 1) == 1, "holder %d got no lane", i);
	}
	const char *refused[] = { "w:nobody past the cap\\n", NULL };
	const char *rooted[] = { "w:root unaffected\\n", NULL };
	const char *again[] = { "w:nobody served again\\n", NULL };
	lst_say(1, refused, &err);
	cr_assert_str_eq(err, "nobody past the cap\n");
	pid_t root = lst_say(0, rooted, NULL);
	cr_assert(write(done[0][1], "d", 1) == 1);
	waitpid(holder[0], NULL, 0);
	pid_t later = lst_say(1, again, NULL);
	cr_assert(write(done[1][1], "d", 1) == 1);
	waitpid(holder[1], NULL, 0);
	struct harness_rec *r = lst_stop(&n);
	const struct harness_rec *note = lst_note(r, n, "refused a lane");

	cr_assert(lst_note(r, n, "nobody past the cap") == NULL);
	lst_check_cred(lst_find(r, n, "root unaffected"), root, 0);
	lst_check_cred(lst_find(r, n, "nobody served again"), later, LST_NOBODY);
	cr_assert(note != NULL, "the refusal is not in the log");
	cr_assert(harness_contains(note->msg, "uid 65534") &&
	    harness_contains(note->msg, "all the lanes one user may have"), "%s", note->msg);
}

/* mplogd's open descriptors. */
static int
lst_fds(pid_t pid)
{
	DIR *d = opendir(harness_fmt("/proc/%d/fd", (int)pid));
	int n = 0;

	cr_assert(d != NULL);
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

/*
 * With one lane per user, 40 processes run one after another are all
 * served: an exited process's lane is no longer counted, and once
 * drained it is given back, its pidfd closed (mplogd's descriptors come
 * back to what they were).
 */
Test(lanesock, lanes_of_processes_that_exited_are_given_back, .timeout = TEST_TIMEOUT(120))
{
	char msg[32], dir[32];
	const char *says[] = { dir, NULL };
	pid_t pid[40];
	int before, after = 0;
	size_t n;

	lst_start("1");
	before = lst_fds(lst_d.pid);
	for (int i = 0; i < 40; i++) {
		snprintf(dir, sizeof(dir), "w:run %d\\n", i);
		pid[i] = lst_say(i % 2, says, NULL);
	}
	/* Polled: lanes go back as mplogd drains them. */
	for (int i = 0; i < 10000 && (after = lst_fds(lst_d.pid)) > before; i++)
		harness_tick();
	struct harness_rec *r = lst_stop(&n);

	cr_assert(after <= before, "mplogd holds %d descriptors, %d before", after, before);
	for (int i = 0; i < 40; i++) {
		snprintf(msg, sizeof(msg), "run %d", i);
		lst_check_cred(lst_find(r, n, msg), pid[i], i % 2 ? LST_NOBODY : 0);
	}
}

/*
 * A process that scribbles its own lane (its head a terabyte past its
 * tail) harms nobody else: mplogd skips the lane to its head and says so,
 * another process is served meanwhile, and what the scribbler writes
 * after the skip arrives.
 */
Test(lanesock, a_lane_scribbled_by_its_own_process_harms_nobody_else,
    .timeout = TEST_TIMEOUT(60))
{
	const char *bystander[] = { "w:a bystander\\n", NULL };
	struct lane_writer w;
	struct seg s, seg;
	size_t n;

	lst_start(NULL);
	cr_assert(seg_attach(&seg, lst_d.shm) == 0);
	cr_assert(lanesock_attach(&s, lst_sock) == 0, "attach: %s", strerror(errno));
	cr_assert(lane_lease(&s, procid_pack(getpid(), procid_start(getpid())), &w) == 0);
	lst_put(&s, &w, getpid(), "before the scribble");
	/* Relaxed: a scribbler orders nothing. */
	uint64_t damaged = atomic_load_explicit(&seg.meta->damaged, memory_order_relaxed);
	atomic_store_explicit(&w.hdr->head, atomic_load_explicit(&w.hdr->tail,
	    memory_order_relaxed) + (UINT64_C(1) << 40), memory_order_relaxed);
	seg_wake_consumer(&s);
	/* Polled: mplogd reports the damage when it next reads the lane. */
	for (int i = 0; i < 10000 && atomic_load_explicit(&seg.meta->damaged,
	    memory_order_relaxed) == damaged; i++)
		harness_tick();
	cr_assert(atomic_load_explicit(&seg.meta->damaged, memory_order_relaxed) > damaged,
	    "no damage counted");
	pid_t other = lst_say(0, bystander, NULL);
	for (int i = 0; i < 3; i++)
		lst_put(&s, &w, getpid(), harness_fmt("after the scribble %d", i));
	for (int i = 0; i < 10000 && !harness_contains(harness_read_file(lst_d.log, NULL),
	    "after the scribble 2"); i++)
		harness_tick();
	struct harness_rec *r = lst_stop(&n);
	const struct harness_rec *note = lst_note(r, n, "damaged");

	lanesock_detach(&s);
	seg_detach(&seg);
	cr_assert(note != NULL && strcmp(note->source, "mplog") == 0, "the damage is not reported");
	lst_check_cred(lst_find(r, n, "a bystander"), other, 0);
	for (int i = 0; i < 3; i++)
		lst_check_cred(lst_find(r, n, harness_fmt("after the scribble %d", i)), getpid(), 0);
}

/*
 * mplogctl shows the lanes handed over the socket, after the segment's:
 * status counts them and lists each with the kernel's pid, and names
 * lists its process name; a user other than mplogd's and root is told
 * nothing about them.
 */
Test(lanesock, mplogctl_status_and_names_list_the_lanes_handed_over_the_socket,
    .timeout = TEST_TIMEOUT(60))
{
	struct harness_result st, names;
	struct lanesock_stat *stats;
	int ready[2], done[2];
	size_t n;
	char c;

	lst_start(NULL);
	cr_assert(pipe(ready) == 0 && pipe(done) == 0);
	pid_t holder = fork();
	if (holder == 0)
		lst_hold_lane(ready[1], done[0]);
	cr_assert(read(ready[0], &c, 1) == 1, "the holder got no lane");
	char *status[] = { harness_build("mplogctl"), "--shm", lst_d.shm, "--socket", lst_sock,
	    "status", "--json", NULL };
	char *listing[] = { harness_build("mplogctl"), "--shm", lst_d.shm, "--socket", lst_sock,
	    "names", NULL };
	harness_run(status, NULL, NULL, &st);
	harness_run(listing, NULL, NULL, &names);
	pid_t denied = fork();
	if (denied == 0) {
		lst_become_nobody();
		_exit(lanesock_status(lst_sock, &stats, &n) == -1 && errno == EACCES ? 0 : 1);
	}
	int code;
	cr_assert(waitpid(denied, &code, 0) == denied);
	cr_assert(write(done[1], "d", 1) == 1);
	waitpid(holder, NULL, 0);
	lst_stop(&n);

	cr_assert(st.code == 0 && names.code == 0, "mplogctl: %s%s", st.err, names.err);
	cr_assert(harness_contains(st.out, "\"lanes_socket\":1,"), "%s", st.out);
	cr_assert(harness_contains(st.out, harness_fmt("\"pid\":%d,", (int)holder)), "%s", st.out);
	cr_assert(harness_contains(names.out, harness_fmt("  %7d  mplog-tests\n", (int)holder)),
	    "%s", names.out);
	cr_assert(WIFEXITED(code) && WEXITSTATUS(code) == 0, "nobody got the status");
}

/* The lines of log (a file) whose message is msg. */
static size_t
lst_count(const char *log, const char *msg)
{
	size_t n, k = 0;
	struct harness_rec *r = harness_json_load(log, &n);

	for (size_t i = 0; i < n; i++)
		k += strcmp(r[i].msg, msg) == 0;
	return k;
}

/*
 * mplogd is killed (SIGKILL) with lines of a process unread in its lane
 * (it was stopped when they were written, and the process made sure they
 * were in the lane with a crit syslog record, which waits for that). A
 * new mplogd on the same socket delivers them: the process copies what
 * its old lane holds into the lane the new one hands it, before any new
 * line. The lines it writes meanwhile arrive once, in the new log or on
 * its stderr.
 */
Test(lanesock, a_new_mplogd_delivers_what_a_killed_one_left_unread, .timeout = TEST_TIMEOUT(60))
{
	const char *extra[] = { "--system", "--socket", NULL, NULL };
	char *argv[32], *err = harness_file("handback.err"), line[64];
	struct harness_daemon next;
	int in[2], out[2], n = 0, code;

	lst_start(NULL);
	extra[2] = lst_sock;
	argv[n++] = harness_build("hosts/say");
	for (const char *d = "w:first\\n g: r:50:unread\\n s:2:synced m: g:"; *d != '\0'; ) {
		size_t k = strcspn(d, " ");

		argv[n++] = harness_fmt("%.*s", (int)k, d);
		d += k + (d[k] == ' ');
	}
	for (int i = 0; i < 10; i++) {
		argv[n++] = harness_fmt("w:after %d\\n", i);
		argv[n++] = "z:100";
	}
	argv[n] = NULL;
	cr_assert(pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0);
	struct harness_io io = { in[0], out[1],
	    open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), -1, -1 };
	pid_t pid = harness_spawn(argv, harness_env(harness_fmt("LD_PRELOAD=%s", harness_shim()),
	    harness_fmt("MPLOG_SOCKET=%s", lst_sock), NULL), &io);
	close(in[0]);
	close(out[1]);
	close(io.err);
	for (int i = 0; i < 10000 && lst_count(lst_d.log, "first") == 0; i++)
		harness_tick();
	cr_assert(lst_count(lst_d.log, "first") == 1, "the first line never arrived");
	cr_assert(kill(lst_d.pid, SIGSTOP) == 0);
	cr_assert(write(in[1], "g", 1) == 1);
	/* say's first line gives its pid; the next says it got past the crit
	 * record. */
	for (int i = 0; i < 2 && harness_read_line(out[0], line, sizeof(line), 10000) > 0 &&
	    strncmp(line, "mono=", 5) != 0; i++)
		;
	cr_assert(strncmp(line, "mono=", 5) == 0, "say did not get past its crit record: %s",
	    line);
	cr_assert(kill(lst_d.pid, SIGKILL) == 0);
	cr_assert(harness_wait(lst_d.pid, HARNESS_WAIT_MS) == 128 + SIGKILL);
	harness_daemon_start_on(&next, lst_d.shm, "json", extra);
	cr_assert(write(in[1], "g", 1) == 1);
	close(in[1]);
	code = harness_wait(pid, HARNESS_WAIT_MS);
	close(out[0]);
	cr_assert(harness_daemon_stop(&next) == 0, "%s", harness_read_file(next.err, NULL));
	char *said = harness_read_file(err, NULL);

	cr_assert(code == 0, "say: status %d", code);
	cr_assert(lst_count(lst_d.log, "unread") == 0, "the stopped mplogd read a line");
	cr_assert(lst_count(next.log, "unread") == 50, "%zu of 50 unread lines in the new log, "
	    "%zu on stderr", lst_count(next.log, "unread"), harness_count_lines(said, "unread"));
	cr_assert(lst_count(next.log, "synced") == 1);
	cr_assert(!harness_contains(said, "unread") && !harness_contains(said, "synced"), "%s",
	    said);
	for (int i = 0; i < 10; i++) {
		char *msg = harness_fmt("after %d", i);

		cr_assert(lst_count(next.log, msg) + harness_count_lines(said, msg) == 1,
		    "\"%s\": %zu in the log, %zu on stderr", msg, lst_count(next.log, msg),
		    harness_count_lines(said, msg));
	}
}

/*
 * A process learns that its mplogd died from the kernel, without asking
 * whether a pid exists: the robust mutex mplogd holds in the control
 * page is marked FUTEX_OWNER_DIED when it is killed, while its heartbeat
 * is still fresh.
 */
Test(lanesock, a_killed_mplogds_death_is_marked_in_the_control_page_by_the_kernel,
    .timeout = TEST_TIMEOUT(60))
{
	struct seg s;
	uint32_t w;

	lst_start(NULL);
	cr_assert(lanesock_attach(&s, lst_sock) == 0, "attach: %s", strerror(errno));
	cr_assert(s.alive != NULL);
	w = atomic_load(s.alive);
	cr_assert((w & FUTEX_TID_MASK) == (uint32_t)lst_d.pid && (w & FUTEX_OWNER_DIED) == 0,
	    "the word is %#x, mplogd's pid %d", w, (int)lst_d.pid);
	cr_assert(seg_consumer_running(&s) && seg_consumer_live(&s));
	cr_assert(kill(lst_d.pid, SIGKILL) == 0);
	cr_assert(harness_wait(lst_d.pid, HARNESS_WAIT_MS) == 128 + SIGKILL);
	w = atomic_load(s.alive);
	cr_assert((w & FUTEX_OWNER_DIED) != 0, "the word is %#x", w);
	cr_assert(seg_now_mono() - (int64_t)atomic_load(&s.meta->heartbeat_ns) < SEG_STALE_NS,
	    "too slow to tell the mark from the heartbeat");
	cr_assert(!seg_consumer_running(&s), "a dead mplogd is running");
	cr_assert(!seg_consumer_live(&s), "a dead mplogd is alive");
	lanesock_detach(&s);
}

/* In a forked child: the errno of asking sock for a lane as nobody with
 * group gid, 0 when one was handed over. */
static int
lst_ask_as(gid_t gid)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		struct seg s;

		lst_become(gid);
		_exit(lanesock_attach(&s, lst_sock) == 0 ? 0 : errno & 0xff);
	}
	cr_assert(waitpid(pid, &status, 0) == pid && WIFEXITED(status));
	return WEXITSTATUS(status);
}

/*
 * A per-user mplogd hands lanes to its own user and root, and with
 * --group to that group's members; anyone else is refused (EACCES), and
 * the refusal is reported.
 */
Test(lanesock, a_per_user_instance_serves_its_user_root_and_its_group_only,
    .timeout = TEST_TIMEOUT(60))
{
	struct harness_daemon d;
	size_t n;
	const char *extra[] = { "--group", "65534", "--socket", NULL, NULL };

	cr_assert(chmod(harness_file(""), 0711) == 0);
	lst_sock = harness_fmt("@mplog-test-group-%d", (int)getpid());
	extra[3] = lst_sock;
	harness_daemon_start(&d, "json", extra);
	int member = lst_ask_as(LST_NOBODY), stranger = lst_ask_as(1);
	struct seg s;
	int root = lanesock_attach(&s, lst_sock);

	if (root == 0)
		lanesock_detach(&s);
	cr_assert(harness_daemon_stop(&d) == 0);
	struct harness_rec *r = harness_json_load(d.log, &n);
	const struct harness_rec *note = lst_note(r, n, "refused a lane");

	cr_assert(member == 0, "a member of the group got no lane: %s", strerror(member));
	cr_assert(stranger == EACCES, "a stranger: %s", strerror(stranger));
	cr_assert(root == 0, "root got no lane: %s", strerror(errno));
	cr_assert(note != NULL && harness_contains(note->msg, "uid 65534") &&
	    harness_contains(note->msg, "serves another user"), "%s", note ? note->msg : "none");
}

/*
 * mplog-run needs no root: run by nobody, its private mplogd hands the
 * command a lane over an abstract socket, and the line arrives with
 * nobody's uid and gid.
 */
Test(lanesock, mplog_run_by_another_user_needs_no_root, .timeout = TEST_TIMEOUT(60))
{
	char *dir = harness_file("nobody"), *log = harness_fmt("%s/run.log", dir);
	char *argv[] = { harness_repo("scripts/mplog-run"), "--format", "json", "-o", log, "--",
	    harness_build("hosts/say"), "w:from nobody's run\\n", NULL };
	char **env = harness_env(NULL);
	int status;
	size_t n;

	cr_assert(chmod(harness_file(""), 0711) == 0);
	cr_assert(mkdir(dir, 0700) == 0 && chown(dir, LST_NOBODY, LST_NOBODY) == 0);
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null == -1 || dup2(null, 1) == -1)
			_exit(98);
		lst_become_nobody();
		execve(argv[0], argv, env);
		_exit(97);
	}
	cr_assert(waitpid(pid, &status, 0) == pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "mplog-run: status %#x", status);
	struct harness_rec *r = harness_json_load(log, &n);

	lst_check_cred(lst_find(r, n, "from nobody's run"), (pid_t)lst_find(r, n,
	    "from nobody's run")->pid, LST_NOBODY);
}
