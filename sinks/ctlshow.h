/*
 * ctlshow.h - print what ctlstat read: a report for people, or one JSON
 * object for scripts.
 *
 * Called by mplogctl only, writing to stdout (the caller checks it for
 * errors). Not thread-safe, not async-signal-safe (stdio, allocates).
 * Names are made safe for the terminal with strvis(3) in the text form
 * and escaped as JSON strings in the JSON form; numbers ctlstat marked
 * unknown print as "?" or null. The JSON keys are documented in
 * mplogctl(1) and only ever added to.
 */
#ifndef MPLOG_CTLSHOW_H
#define MPLOG_CTLSHOW_H

#include <stddef.h>

#include "ctlstat.h"

/* strvis(3) writes at most four bytes per input byte, plus the NUL. */
#define CTLSHOW_VIS_LEN(n) (4 * (n) + 1)

/* Make s (at most len bytes, cut to SEG_NAME_MAX - 1) safe for a
 * terminal into out, of CTLSHOW_VIS_LEN(SEG_NAME_MAX) bytes. */
void ctlshow_vis(char *out, const char *s, size_t len);

/* The report: the daemon, the segment, a table of the lanes in use. */
void ctlshow_text(const struct ctlstat *st);

/* The same as one JSON object on one line. -1 (ENOMEM), else 0. */
int ctlshow_json(const struct ctlstat *st);

#endif
