/* wfc.c - severe records wait, bounded, until they are delivered. */
#include "wfc.h"

#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "pipeline.h"
#include "pri.h"
#include "shim.h"

static int wfc_level = LOG_CRIT;        /* -1: never wait */
static int wfc_sink;                    /* wait for the sink, not the segment */

void
wfc_init(void)
{
	const char *level = secure_getenv("MPLOG_WFC");
	const char *point = secure_getenv("MPLOG_WFC_POINT");

	if (level != NULL && strcmp(level, "none") == 0) {
		wfc_level = -1;
	} else if (level != NULL && (wfc_level = pri_severity_parse(level)) == -1) {
		shim_debug("MPLOG_WFC: unknown severity, using crit", level, 0);
		wfc_level = LOG_CRIT;
	}
	if (point != NULL && strcmp(point, "sink") == 0)
		wfc_sink = 1;
	else if (point != NULL && strcmp(point, "segment") != 0)
		shim_debug("MPLOG_WFC_POINT: unknown point, using segment", point, 0);
}

void
wfc_wait(unsigned sev, int depth)
{
	struct seg *s = shim_seg();

	if ((int)sev > wfc_level || depth > 1 || s == NULL ||
	    s->policy == SEG_POLICY_DROP || !shim_ours())
		return;
	pipeline_publish_sync();
	if (wfc_sink)
		pipeline_wait_delivered(WFC_SINK_NS);
}
