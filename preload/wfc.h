/*
 * wfc.h - wait for completion: a severe syslog record (crit and above by
 * default) does not return to the program until it is in the segment, or
 * (point "sink") until mplogd has written it, so that a process that
 * crashes or is killed right after logging it still has it delivered.
 *
 *   MPLOG_WFC        a severity (emerg .. debug, or 0-7): records at it or
 *                    above wait; "none" turns waiting off. Default crit.
 *   MPLOG_WFC_POINT  "segment" (default) or "sink".
 *
 * Every wait is bounded: reaching the segment waits as the exit flush
 * does (PIPELINE_FLUSH_NS without progress), reaching the sink at most
 * WFC_SINK_NS more. Nothing waits under the drop policy, in a signal
 * handler that interrupted a hook, in a vfork child, or on the pipeline
 * thread. Called by the syslog hook, inside shim_enter/shim_leave.
 */
#ifndef MPLOG_WFC_H
#define MPLOG_WFC_H

#define WFC_SINK_NS (1000 * 1000000LL)

/* Read MPLOG_WFC and MPLOG_WFC_POINT (once, at load). */
void wfc_init(void);

/* Wait, bounded, for the record of severity sev just captured. */
void wfc_wait(unsigned sev, int depth);

#endif
