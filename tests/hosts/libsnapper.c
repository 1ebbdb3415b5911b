/*
 * libsnapper.so - the library snapper loads with dlopen: its syslog
 * calls have their formats in its own read-only data, and snapper
 * unloads it right after the last one.
 */
#include <stdio.h>
#include <syslog.h>

void snapper_lib_log(int n, void (*unused)(const char *));

void
snapper_lib_log(int n, void (*unused)(const char *))
{
	(void)unused;
	for (int i = 0; i < n; i++) {
		printf("want library line %d of %d: %s\n", i, n, "from its rodata");
		fflush(stdout);
		syslog(LOG_INFO, "library line %d of %d: %s", i, n, "from its rodata");
	}
}
