/* start.c - what the shim does when a program loads and when it exits. */
#include <pthread.h>

#include "pipeline.h"
#include "rodata.h"
#include "shim.h"

/* Load time: read the environment; nothing is mapped or started yet. */
__attribute__((constructor)) static void
start_ctor(void)
{
	shim_init();
	rodata_build();
	/* Before a fork, the lines queued so far go into the lane (bounded):
	 * the child's first line, newer, is then never listed before them. */
	pthread_atfork(pipeline_publish_sync, NULL, pipeline_atfork_child);
}

/* Exit: deliver every line written so far before the process goes. */
__attribute__((destructor)) static void
start_dtor(void)
{
	pipeline_flush_sync();
}
