/*
 * libsnapper.so - the library snapper loads with dlopen: its syslog
 * calls (fprintf to stderr calls, with to_stderr) have their formats in
 * its own read-only data, and snapper unloads it right after the last
 * one.
 */
#include <stdio.h>
#include <syslog.h>

void snapper_lib_log(int n, int to_stderr);

void
snapper_lib_log(int n, int to_stderr)
{
	for (int i = 0; i < n; i++) {
		printf("want library line %d of %d: %s\n", i, n, "from its rodata");
		fflush(stdout);
		if (to_stderr)
			fprintf(stderr, "library line %d of %d: %s\n", i, n, "from its rodata");
		else
			syslog(LOG_INFO, "library line %d of %d: %s", i, n, "from its rodata");
	}
}
