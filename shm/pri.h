/*
 * pri.h - syslog severities and facilities by name.
 *
 * Used by the shim (MPLOG_* variables), mplogd (options, formats) and
 * mplogctl. Pure functions on constant tables: thread-safe and
 * async-signal-safe.
 *
 * Severity names are the syslog keywords emerg alert crit err warning
 * notice info debug; parsing also takes panic, error, warn and the digits
 * 0-7, in any case. Facility names: kern user mail daemon auth syslog lpr
 * news uucp cron authpriv ftp ntp security console solaris-cron
 * local0..local7 (facility codes 0..23, i.e. LOG_FAC values).
 */
#ifndef MPLOG_PRI_H
#define MPLOG_PRI_H

#include <stddef.h>
#include <stdint.h>

/* The largest priority a "<N>" prefix may carry: local7.debug. */
#define PRI_PREFIX_MAX 191

/* Keyword for severity 0..7; "?" outside that range. */
const char *pri_severity_name(unsigned sev);

/* Severity 0..7 for a name or digit; -1 if unknown. */
int pri_severity_parse(const char *s);

/* Keyword for facility code 0..23 (LOG_FAC of a priority); "?" outside. */
const char *pri_facility_name(unsigned fac);

/* Facility code 0..23 for a keyword; -1 if unknown. */
int pri_facility_parse(const char *s);

/*
 * A line that starts with a priority prefix "<N>" (as sd-daemon(3) defines
 * it; N is 1 to 3 digits, at most PRI_PREFIX_MAX) takes that priority:
 * its severity always, its facility when N carries one (N >= 8). Returns
 * the prefix length and updates *pri, or 0 when s has no such prefix.
 */
size_t pri_prefix(const char *s, size_t n, uint8_t *pri);

#endif
