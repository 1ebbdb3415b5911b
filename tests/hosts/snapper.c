/*
 * snapper - syslog(3) calls of every kind deferred formatting meets, for
 * tests/test_e2e.c; with a second argument "stderr", the same calls as
 * vfprintf(3) to stderr, each followed by fputc of a newline (and a
 * line "bad return R for N" on stdout when vfprintf does not return what
 * vsnprintf did). For each call it writes to stdout, first, the line
 *
 *   want TEXT
 *
 * where TEXT is what vsnprintf makes of the same format and arguments at
 * the call (errno as the call sees it), so the test can compare the log
 * with glibc's own formatting:
 *   - formats in the program's read-only data, and copies of them on the
 *     heap and the stack (then overwritten at once);
 *   - %m, strings, characters, integers of each length, floats, long
 *     double, %p, %%, widths and precisions given by '*', positional
 *     arguments;
 *   - a string longer than a snapshot taken on the stack;
 *   - the syslog calls of a library loaded with dlopen (libsnapper.so,
 *     its formats in its own read-only data), unloaded with dlclose right
 *     after its last call;
 *   - after register_printf_specifier, a call whose %W only the program
 *     knows (formatted at the call from then on).
 *
 *   snapper [LIBRARY [stderr]]
 *
 * Exits 0, or 1 when the library cannot be loaded.
 */
#include <dlfcn.h>
#include <errno.h>
#include <printf.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

static int to_stderr;   /* vfprintf to stderr rather than syslog */

/* syslog the call, or print it to stderr, after printing what vsnprintf
 * makes of it. */
static void __attribute__((format(printf, 1, 2)))
say(const char *fmt, ...)
{
	char want[8192];
	va_list ap;
	int saved = errno, n, r;

	va_start(ap, fmt);
	n = vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	printf("want %s\n", want);
	fflush(stdout);
	errno = saved;
	va_start(ap, fmt);
	if (!to_stderr) {
		vsyslog(LOG_INFO, fmt, ap);
	} else if ((r = vfprintf(stderr, fmt, ap)) != n || fputc('\n', stderr) != '\n') {
		printf("bad return %d for %d\n", r, n);
		fflush(stdout);
	}
	va_end(ap);
}

/* %W: a conversion only this program knows. */
static int
snapper_w(FILE *fp, const struct printf_info *info, const void *const *args)
{
	(void)info;
	return fprintf(fp, "<w%d>", *(const int *)args[0]);
}

static int
snapper_w_info(const struct printf_info *info, size_t n, int *types, int *size)
{
	(void)info;
	(void)size;
	if (n > 0)
		types[0] = PA_INT;
	return 1;
}

/* The calls of the library, and its unloading right after. */
static int
snapper_library(const char *path)
{
	void *h = dlopen(path, RTLD_NOW);
	void (*lib_log)(int, int);

	if (h == NULL) {
		fprintf(stderr, "snapper: %s\n", dlerror());
		return 1;
	}
	*(void **)&lib_log = dlsym(h, "snapper_lib_log");
	if (lib_log == NULL)
		return 1;
	lib_log(50, to_stderr);
	dlclose(h);
	return 0;
}

int
main(int argc, char **argv)
{
	char *heap = strdup("heap %s %d"), stack[32], big[3000];

	to_stderr = argc > 2 && strcmp(argv[2], "stderr") == 0;
	openlog("snapper", 0, LOG_LOCAL1);
	say("plain %d %s %c %%", 42, "text", 'x');
	errno = ENOENT;
	say("errno: %m (%d)", ENOENT);
	say("%hhd %hd %ld %lld %jd %zu %td %u %o %x %X", (signed char)-1, (short)-2, -3L,
	    -4LL, (intmax_t)-5, (size_t)6, (ptrdiff_t)-7, 8u, 9u, 10u, 11u);
	say("%f %.3e %g %a %10.4Lf %-8.2f|", 3.25, 1e-10, 2.5e7, 1.0, 1.0L / 3, -2.5);
	say("%p %p %*d %-*.*s| %.0f", (void *)0, (void *)&argc, 6, 7, 10, 3, "precision", 0.5);
	say("%2$s %1$d %2$.2s %3$*4$d", 12, "positional", 5, 4);
	/* Formats that are not literals, on purpose. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	say(heap, "copied", 1);
	strcpy(heap, "gone");
	snprintf(stack, sizeof(stack), "stack %%s %%u");
	say(stack, "copied", 2u);
#pragma GCC diagnostic pop
	memset(stack, 'x', sizeof(stack) - 1);
	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	say("long %s end", big);
	say("%s", "");
	if (argc > 1 && snapper_library(argv[1]) != 0)
		return 1;
	register_printf_specifier('W', snapper_w, snapper_w_info);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-extra-args"
	say("registered %W and %d", 5, 6);
#pragma GCC diagnostic pop
	free(heap);
	return 0;
}
