/* pri.c - syslog severity and facility keywords. */
#include "pri.h"

#include <stddef.h>
#include <stdlib.h>
#include <strings.h>

static const char *const pri_severities[] = {
	"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

static const char *const pri_facilities[] = {
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "authpriv", "ftp", "ntp", "security", "console",
	"solaris-cron", "local0", "local1", "local2", "local3", "local4",
	"local5", "local6", "local7",
};

static const struct {
	const char *name;
	int sev;
} pri_aliases[] = {
	{ "panic", 0 }, { "error", 3 }, { "warn", 4 },
};

/* Index of s in names, case-insensitively, or -1. */
static int
pri_lookup(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

const char *
pri_severity_name(unsigned sev)
{
	return sev < 8 ? pri_severities[sev] : "?";
}

int
pri_severity_parse(const char *s)
{
	int sev;

	if (s[0] >= '0' && s[0] <= '7' && s[1] == '\0')
		return s[0] - '0';
	sev = pri_lookup(pri_severities, 8, s);
	for (size_t i = 0; sev == -1 && i < sizeof(pri_aliases) / sizeof(pri_aliases[0]); i++)
		if (strcasecmp(pri_aliases[i].name, s) == 0)
			sev = pri_aliases[i].sev;
	return sev;
}

const char *
pri_facility_name(unsigned fac)
{
	return fac < 24 ? pri_facilities[fac] : "?";
}

int
pri_facility_parse(const char *s)
{
	return pri_lookup(pri_facilities, 24, s);
}

size_t
pri_prefix(const char *s, size_t n, uint8_t *pri)
{
	unsigned v = 0;
	size_t i = 1;

	if (n < 3 || s[0] != '<')
		return 0;
	for (; i < n && i <= 3 && s[i] >= '0' && s[i] <= '9'; i++)
		v = v * 10 + (unsigned)(s[i] - '0');
	if (i == 1 || i >= n || s[i] != '>' || v > PRI_PREFIX_MAX)
		return 0;
	*pri = v >= 8 ? (uint8_t)v : (uint8_t)((*pri & ~7u) | v);
	return i + 1;
}
