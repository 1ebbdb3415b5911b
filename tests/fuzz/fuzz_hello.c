/*
 * fuzz_hello.c - libFuzzer target: any bytes as handshakes with mplogd's
 * lane server (sinks/lanesrv.c), which runs in this process on a private
 * abstract socket.
 *
 * The input is a list of messages, each sent on a connection of its own:
 * a byte whose low two bits say how many descriptors go with it and whose
 * bit 2 says to hang up without reading the reply, a length byte, and
 * that many bytes. A finding: a crash or sanitizer report in the server,
 * a reply that is not a well-formed lanesock_reply, a lane or a status
 * handed for anything but a well-formed hello without descriptors, a
 * handed file that is not sealed, or no answer within FUZZ_HELLO_MS.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lanesock.h"
#include "lanesrv.h"
#include "seg.h"

#define FUZZ_HELLO_MS    2000   /* an answer, or the hang-up, at most */
#define FUZZ_HELLO_MSGS  8      /* messages of one input at most */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct lanesrv fuzz_srv;
static struct seg fuzz_seg;
static char fuzz_path[64];

/* The server, on a segment of one small lane, once. */
static void
fuzz_hello_start(void)
{
	struct seg_params p = { .lane_count = 1, .lane_size = SEG_LANE_SIZE_MIN, .level = 7 };
	char name[64];

	snprintf(name, sizeof(name), "/mplog-fuzz-hello-%d", (int)getpid());
	snprintf(fuzz_path, sizeof(fuzz_path), "@mplog-fuzz-hello-%d", (int)getpid());
	shm_unlink(name);
	if (seg_create(&fuzz_seg, name, &p) == -1 ||
	    lanesrv_open(&fuzz_srv, fuzz_path, 0600, &fuzz_seg, 4,
	    &(struct lanesrv_who){ .everyone = 1 }) == -1) {
		perror("fuzz_hello: start");
		abort();
	}
	shm_unlink(name);       /* the mapping is all we need */
	seg_consumer_start(&fuzz_seg);
}

static void __attribute__((noreturn))
fuzz_hello_fail(const char *what, long v)
{
	int pending = 0;

	for (int k = 0; k < LANESRV_PENDING_MAX; k++)
		pending += fuzz_srv.pending[k].fd != -1;
	fprintf(stderr, "fuzz_hello: %s (%ld); the server: %d handshakes in progress, "
	    "%slistening, %u lanes used\n", what, v, pending, fuzz_srv.listening ? "" : "not ",
	    lanesrv_count(&fuzz_srv));
	abort();
}

/* Check a reply and its descriptors to the hello of len bytes at msg,
 * sent with nfds descriptors; close them. */
static void
fuzz_hello_check(int conn, const uint8_t *msg, size_t len, int nfds)
{
	struct pollfd p = { .fd = conn, .events = POLLIN };
	struct lanesock_reply r;
	int fds[LANESOCK_FDS], got;
	ssize_t n;

	/* libFuzzer's timer (SIGALRM) interrupts the wait now and then. */
	while ((got = poll(&p, 1, FUZZ_HELLO_MS)) == -1 && errno == EINTR)
		;
	if (got != 1)
		fuzz_hello_fail("no answer", (long)len);
	n = lanesock_recv(conn, &r, sizeof(r), fds, &got);
	if (n == 0 || (n == -1 && errno == ECONNRESET))
		return;         /* hung up: for an empty message */
	if (n != (ssize_t)sizeof(r) || r.magic != LANESOCK_MAGIC || r.version != LANESOCK_VERSION)
		fuzz_hello_fail("a malformed reply", (long)n);
	int good = nfds == 0 && lanesock_hello_check(msg, len) == 0;
	struct lanesock_hello h = { 0 };

	if (good)
		memcpy(&h, msg, sizeof(h));
	/* A lane comes with LANESOCK_FDS pages, a status (we are mplogd's
	 * own user) with one file. */
	int want = (h.flags & LANESOCK_F_STATUS) ? 1 : LANESOCK_FDS;
	if ((r.status == 0) != (got == want) || (r.status == 0 && !good) ||
	    (r.status != 0 && got != 0))
		fuzz_hello_fail("a reply that does not fit its hello", r.status);
	for (int i = 0; i < got; i++) {
		int seals = fcntl(fds[i], F_GET_SEALS);

		if (seals == -1 || (seals & LANESOCK_SEALS) != LANESOCK_SEALS)
			fuzz_hello_fail("an unsealed page", i);
		close(fds[i]);
	}
}

/* Send one message with nfds descriptors on a connection of its own. */
static void
fuzz_hello_one(const uint8_t *msg, size_t len, int nfds, int hang_up)
{
	struct sockaddr_un a;
	socklen_t alen;
	int conn = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	int fds[LANESOCK_FDS] = { 0, 1, 2 };

	lanesock_addr(fuzz_path, &a, &alen);
	if (conn == -1 || connect(conn, (struct sockaddr *)&a, alen) == -1)
		fuzz_hello_fail("cannot connect", errno);
	if (lanesock_send(conn, msg, len, fds, nfds) == -1) {
		/* Closed at the door: this user has LANESRV_PENDING_PER_UID
		 * handshakes in progress (the hung-up ones, not yet seen). */
		if (errno != EPIPE && errno != ECONNRESET)
			fuzz_hello_fail("cannot send", errno);
		hang_up = 1;
	}
	if (!hang_up)
		fuzz_hello_check(conn, msg, len, nfds);
	close(conn);
}

/* Be the consumer, as mplogd's would be meanwhile: give back the lanes
 * of hellos gone before. */
static void
fuzz_hello_retire(void)
{
	for (uint32_t i = 0, n = lanesrv_count(&fuzz_srv); i < n; i++) {
		struct lanesrv_lane *l = lanesrv_lane(&fuzz_srv, i);

		if (l != NULL && atomic_load(&l->state) == LANESRV_GONE)
			lanesrv_retire(&fuzz_srv, i);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int started;
	size_t at = 0;

	if (!started++)
		fuzz_hello_start();
	for (int m = 0; m < FUZZ_HELLO_MSGS && at + 2 <= size; m++) {
		uint8_t head = data[at], len = data[at + 1];

		at += 2;
		if (len > size - at)
			len = (uint8_t)(size - at);
		fuzz_hello_retire();
		fuzz_hello_one(data + at, len, head & 3, (head >> 2) & 1);
		at += len;
	}
	return 0;
}
