/*
 * libcmsg - the C library's own messages to stderr, which it writes
 * through internal paths, for tests/test_conform.c.
 *
 *   libcmsg WHAT [ARG...]
 *
 *   getopt ARG...     getopt_long over "libcmsg ARG..." with options -a
 *                     and --alpha: prints each result and optopt, then
 *                     "libcmsg after getopt" to stderr by fputs
 *   getopt-only ARG...  the same with getopt_long_only
 *   posix ARG...      the same with getopt (a POSIX optstring, "+a")
 *   argp ARG...       argp_parse with option -a/--alpha; an unknown option
 *                     makes argp print its error and exit 64
 *   argp-error        argp_parse whose parser calls argp_error(state,
 *                     "bad value %d", 42) for -a: argp exits 64
 *   argp-reopen FILE ARG...
 *                     argp_parse whose parser, for -a, reopens stderr on
 *                     FILE (appending) with freopen: what argp writes
 *                     after that goes to FILE
 *   argp-failure      argp_failure(NULL, 0, ENOENT, "failed %s", "here"),
 *                     which returns
 *   fmtmsg            fmtmsg(MM_PRINT, "libcmsg:fmt", MM_ERROR, "text",
 *                     "act", "tag")
 *   herror            herror("lookup") with h_errno HOST_NOT_FOUND
 *
 * After each, stdout gets "state fileno=N unbuffered=N linebuf=N wide=N
 * errno=N": stderr's descriptor, buffering (a buffer of at most one byte:
 * whether glibc has allocated that byte yet is not compared), line
 * buffering and orientation, and errno (set to LIBCMSG_ERRNO before the
 * call), which must be those of a run without mplog. Exits 0 unless argp
 * exits.
 */
#include <argp.h>
#include <errno.h>
#include <fmtmsg.h>
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>

#define LIBCMSG_ERRNO 4242

static const struct option libcmsg_long[] = {
	{ "alpha", no_argument, NULL, 'a' },
	{ NULL, 0, NULL, 0 },
};

/* Print stderr's state and errno. */
static void
libcmsg_state(void)
{
	int e = errno;

	printf("state fileno=%d unbuffered=%d linebuf=%d wide=%d errno=%d\n", fileno(stderr),
	    __fbufsize(stderr) <= 1, __flbf(stderr), fwide(stderr, 0), e);
}

/* Every result of one getopt form over argv. */
static void
libcmsg_getopt(int argc, char **argv, int which)
{
	int c;

	for (;;) {
		errno = LIBCMSG_ERRNO;
		c = which == 0 ? getopt_long(argc, argv, "a", libcmsg_long, NULL) :
		    which == 1 ? getopt_long_only(argc, argv, "a", libcmsg_long, NULL) :
		    getopt(argc, argv, "+a");
		printf("getopt %d optopt %d optind %d\n", c, optopt, optind);
		libcmsg_state();
		if (c == -1)
			break;
	}
	fputs("libcmsg after getopt\n", stderr);
}

static const char *libcmsg_reopen;      /* argp-reopen's FILE */

static error_t
libcmsg_parser(int key, char *arg, struct argp_state *state)
{
	(void)arg;
	if (key == 'a' && *(int *)state->input)
		argp_error(state, "bad value %d", 42);
	if (key == 'a' && libcmsg_reopen != NULL && freopen(libcmsg_reopen, "a", stderr) == NULL)
		printf("FAIL freopen %s\n", libcmsg_reopen);
	return key == 'a' ? 0 : ARGP_ERR_UNKNOWN;
}

static const struct argp_option libcmsg_argp_options[] = {
	{ "alpha", 'a', NULL, 0, "the first letter", 0 },
	{ NULL, 0, NULL, 0, NULL, 0 },
};

static const struct argp libcmsg_argp = {
	libcmsg_argp_options, libcmsg_parser, NULL, "libcmsg's test of argp", NULL, NULL, NULL,
};

int
main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";
	int erroring = strcmp(what, "argp-error") == 0;

	setvbuf(stdout, NULL, _IOFBF, BUFSIZ);
	if (strcmp(what, "getopt") == 0 || strcmp(what, "getopt-only") == 0 ||
	    strcmp(what, "posix") == 0) {
		libcmsg_getopt(argc - 1, argv + 1, what[0] == 'p' ? 2 : what[6] == '-');
	} else if (strcmp(what, "argp-reopen") == 0 && argc > 2) {
		libcmsg_reopen = argv[2];
		argv[2] = argv[1];
		errno = LIBCMSG_ERRNO;
		printf("argp %d\n", argp_parse(&libcmsg_argp, argc - 2, argv + 2, 0, NULL,
		    &erroring));
		fflush(stdout);
	} else if (strcmp(what, "argp") == 0 || erroring) {
		errno = LIBCMSG_ERRNO;
		printf("argp %d\n", argp_parse(&libcmsg_argp, argc - 1, argv + 1, 0, NULL,
		    &erroring));
		fflush(stdout);
	} else if (strcmp(what, "argp-failure") == 0) {
		errno = LIBCMSG_ERRNO;
		argp_failure(NULL, 0, ENOENT, "failed %s", "here");
	} else if (strcmp(what, "fmtmsg") == 0) {
		errno = LIBCMSG_ERRNO;
		printf("fmtmsg %d\n", fmtmsg(MM_PRINT, "libcmsg:fmt", MM_ERROR, "text", "act",
		    "tag"));
	} else if (strcmp(what, "herror") == 0) {
		h_errno = HOST_NOT_FOUND;
		errno = LIBCMSG_ERRNO;
		herror("lookup");
	} else {
		return 2;
	}
	libcmsg_state();
	return 0;
}
