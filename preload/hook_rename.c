/*
 * hook_rename.c - a thread renamed (prctl(PR_SET_NAME),
 * pthread_setname_np): the records pushed before carry the old name, so
 * the pipeline first takes every one of them (pipeline_publish_sync,
 * bounded, and at once when nothing is pending); once the rename is
 * made, every thread learns its name again at its next capture
 * (threadname.h). Other prctl options pass straight through. errno is as
 * the real call left it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/prctl.h>

#include "hook.h"
#include "pipeline.h"
#include "real.h"
#include "threadname.h"

HOOK_EXPORT int
prctl(int option, ...)
{
	unsigned long a2, a3, a4, a5;
	va_list ap;
	int r, saved;

	/* As glibc's own prctl: four more words, whatever the option. */
	va_start(ap, option);
	a2 = va_arg(ap, unsigned long);
	a3 = va_arg(ap, unsigned long);
	a4 = va_arg(ap, unsigned long);
	a5 = va_arg(ap, unsigned long);
	va_end(ap);
	if (option == PR_SET_NAME)
		pipeline_publish_sync();
	r = REAL(prctl)(option, a2, a3, a4, a5);
	saved = errno;
	if (option == PR_SET_NAME && r == 0)
		threadname_renamed();
	errno = saved;
	return r;
}

HOOK_EXPORT int
pthread_setname_np(pthread_t thread, const char *name)
{
	int r;

	pipeline_publish_sync();
	r = REAL(pthread_setname_np)(thread, name);
	if (r == 0)
		threadname_renamed();
	return r;
}
