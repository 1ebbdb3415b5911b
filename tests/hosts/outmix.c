/*
 * outmix - write lines to stdout through each way a C program does, and
 * to stderr, in the order a test gives.
 *
 *   outmix DIRECTIVE...
 *
 * Each directive is one line, written by one kind of call:
 *   p:TEXT   printf("%s\n", TEXT)
 *   u:TEXT   puts(TEXT)
 *   f:TEXT   fwrite(TEXT) and fputc('\n') on stdout
 *   c:TEXT   putchar for each byte of TEXT and the newline
 *   s:TEXT   fputs(TEXT) and putc_unlocked('\n') on stdout, under
 *            flockfile (the inline putc_unlocked reaches no function
 *            while stdout's buffer has room)
 *   w:TEXT   one write(1, ...) of TEXT and the newline
 *   e:TEXT   fprintf(stderr, "%s\n", TEXT)
 *   F:       fflush(stdout)
 * stdout keeps the buffering the C library gives it (full when it is a
 * pipe or a file). Each call's return value is checked, and errno must
 * be unchanged by a successful call; a mismatch exits 3 at once (with
 * _exit, nothing flushed). Exits 0, or 2 for a directive it does not know.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define OUTMIX_ERRNO 4242       /* a value no call sets */

/* Exit 3 unless ok and errno is still OUTMIX_ERRNO. */
static void
outmix_check(int ok)
{
	if (!ok || errno != OUTMIX_ERRNO)
		_exit(3);
}

static void
outmix_chars(const char *t)
{
	for (; *t != '\0'; t++)
		outmix_check(putchar((unsigned char)*t) == (unsigned char)*t);
	outmix_check(putchar('\n') == '\n');
}

static void
outmix_locked(const char *t)
{
	flockfile(stdout);
	outmix_check(fputs(t, stdout) >= 0);
	outmix_check(putc_unlocked('\n', stdout) == '\n');
	funlockfile(stdout);
}

/* Do one directive; -1 when it is not one. */
static int
outmix_one(const char *d)
{
	const char *t = d + 2;
	size_t n = strlen(t);

	if (strlen(d) < 2 || d[1] != ':')
		return -1;
	errno = OUTMIX_ERRNO;
	switch (d[0]) {
	case 'p':
		outmix_check(printf("%s\n", t) == (int)n + 1);
		break;
	case 'u':
		outmix_check(puts(t) >= 0);
		break;
	case 'f':
		outmix_check(fwrite(t, 1, n, stdout) == n && fputc('\n', stdout) == '\n');
		break;
	case 'c':
		outmix_chars(t);
		break;
	case 's':
		outmix_locked(t);
		break;
	case 'w': {
		char line[4096];

		if (n >= sizeof(line))
			return -1;
		memcpy(line, t, n);
		line[n] = '\n';
		outmix_check(write(1, line, n + 1) == (ssize_t)n + 1);
		break;
	}
	case 'e':
		outmix_check(fprintf(stderr, "%s\n", t) == (int)n + 1);
		break;
	case 'F':
		outmix_check(fflush(stdout) == 0);
		break;
	default:
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (outmix_one(argv[i]) == -1)
			return 2;
	return 0;
}
