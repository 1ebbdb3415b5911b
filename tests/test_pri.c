/*
 * test_pri.c - checks shm/pri: every severity and facility keyword maps to
 * its syslog code and back, the parser's aliases, digits and case, and
 * the answers for unknown names and codes out of range.
 */
#include <criterion/criterion.h>

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "pri.h"

static const struct {
	const char *name;
	int code;
} tp_severities[] = {
	{ "emerg", LOG_EMERG }, { "alert", LOG_ALERT }, { "crit", LOG_CRIT },
	{ "err", LOG_ERR }, { "warning", LOG_WARNING },
	{ "notice", LOG_NOTICE }, { "info", LOG_INFO }, { "debug", LOG_DEBUG },
};

/* Codes from the header's list; the ones <syslog.h> names are checked. */
static const struct {
	const char *name;
	int code;
} tp_facilities[] = {
	{ "kern", LOG_FAC(LOG_KERN) }, { "user", LOG_FAC(LOG_USER) },
	{ "mail", LOG_FAC(LOG_MAIL) }, { "daemon", LOG_FAC(LOG_DAEMON) },
	{ "auth", LOG_FAC(LOG_AUTH) }, { "syslog", LOG_FAC(LOG_SYSLOG) },
	{ "lpr", LOG_FAC(LOG_LPR) }, { "news", LOG_FAC(LOG_NEWS) },
	{ "uucp", LOG_FAC(LOG_UUCP) }, { "cron", LOG_FAC(LOG_CRON) },
	{ "authpriv", LOG_FAC(LOG_AUTHPRIV) }, { "ftp", LOG_FAC(LOG_FTP) },
	{ "ntp", 12 }, { "security", 13 }, { "console", 14 },
	{ "solaris-cron", 15 },
	{ "local0", LOG_FAC(LOG_LOCAL0) }, { "local1", LOG_FAC(LOG_LOCAL1) },
	{ "local2", LOG_FAC(LOG_LOCAL2) }, { "local3", LOG_FAC(LOG_LOCAL3) },
	{ "local4", LOG_FAC(LOG_LOCAL4) }, { "local5", LOG_FAC(LOG_LOCAL5) },
	{ "local6", LOG_FAC(LOG_LOCAL6) }, { "local7", LOG_FAC(LOG_LOCAL7) },
};

#define TP_COUNT(a) (sizeof(a) / sizeof((a)[0]))

Test(pri, every_severity_name_round_trips)
{
	cr_assert_eq(TP_COUNT(tp_severities), 8);
	for (size_t i = 0; i < TP_COUNT(tp_severities); i++) {
		cr_expect_str_eq(pri_severity_name((unsigned)tp_severities[i].code),
		    tp_severities[i].name);
		cr_expect_eq(pri_severity_parse(tp_severities[i].name),
		    tp_severities[i].code, "%s", tp_severities[i].name);
	}
}

Test(pri, every_facility_name_round_trips)
{
	cr_assert_eq(TP_COUNT(tp_facilities), 24);
	for (size_t i = 0; i < TP_COUNT(tp_facilities); i++) {
		cr_expect_eq(tp_facilities[i].code, (int)i, "table order");
		cr_expect_str_eq(pri_facility_name((unsigned)tp_facilities[i].code),
		    tp_facilities[i].name);
		cr_expect_eq(pri_facility_parse(tp_facilities[i].name),
		    tp_facilities[i].code, "%s", tp_facilities[i].name);
	}
}

Test(pri, severity_aliases)
{
	cr_expect_eq(pri_severity_parse("panic"), LOG_EMERG);
	cr_expect_eq(pri_severity_parse("error"), LOG_ERR);
	cr_expect_eq(pri_severity_parse("warn"), LOG_WARNING);
}

Test(pri, severity_digits)
{
	const char digits[][2] = { "0", "1", "2", "3", "4", "5", "6", "7" };

	for (int i = 0; i < 8; i++)
		cr_expect_eq(pri_severity_parse(digits[i]), i, "\"%s\"", digits[i]);
}

Test(pri, names_in_any_case)
{
	cr_expect_eq(pri_severity_parse("EMERG"), LOG_EMERG);
	cr_expect_eq(pri_severity_parse("Warning"), LOG_WARNING);
	cr_expect_eq(pri_severity_parse("PANIC"), LOG_EMERG);
	cr_expect_eq(pri_severity_parse("Error"), LOG_ERR);
	cr_expect_eq(pri_severity_parse("wArN"), LOG_WARNING);
	cr_expect_eq(pri_facility_parse("LOCAL7"), 23);
	cr_expect_eq(pri_facility_parse("AuthPriv"), 10);
	cr_expect_eq(pri_facility_parse("Solaris-Cron"), 15);
}

Test(pri, unknown_severities_are_refused)
{
	const char *bad[] = {
		"", "8", "9", "-1", "00", "07", " 3", "3 ", "inf", "infos",
		"warnings", "errr", "emergency", "none", "*", "user",
	};

	for (size_t i = 0; i < TP_COUNT(bad); i++)
		cr_expect_eq(pri_severity_parse(bad[i]), -1, "\"%s\"", bad[i]);
}

Test(pri, unknown_facilities_are_refused)
{
	const char *bad[] = {
		"", "local8", "local", "loc0", "kernel", "users", "mark",
		"solaris_cron", " user", "info", "*",
	};

	for (size_t i = 0; i < TP_COUNT(bad); i++)
		cr_expect_eq(pri_facility_parse(bad[i]), -1, "\"%s\"", bad[i]);
}

Test(pri, codes_out_of_range_are_named_question_mark)
{
	cr_expect_str_eq(pri_severity_name(8), "?");
	cr_expect_str_eq(pri_severity_name(UINT_MAX), "?");
	cr_expect_str_eq(pri_facility_name(24), "?");
	cr_expect_str_eq(pri_facility_name(UINT_MAX), "?");
}

/* pri_prefix: "<N>" with 1-3 digits up to PRI_PREFIX_MAX, then '>'. */
Test(pri, prefix_sets_severity_and_keeps_facility_below_eight)
{
	for (unsigned sev = 0; sev <= 7; sev++) {
		char s[8];
		uint8_t pri = LOG_DAEMON | LOG_INFO;

		snprintf(s, sizeof(s), "<%u>x", sev);
		cr_assert_eq(pri_prefix(s, strlen(s), &pri), 3, "%s", s);
		cr_assert_eq(pri, LOG_DAEMON | sev, "%s gave %u", s, pri);
	}
}

Test(pri, prefix_of_eight_and_more_is_a_whole_priority)
{
	static const struct { const char *s; size_t len; uint8_t pri; } ok[] = {
		{ "<8>", 3, LOG_USER | LOG_EMERG },
		{ "<30>a", 4, LOG_DAEMON | LOG_INFO },
		{ "<191>", 5, LOG_LOCAL7 | LOG_DEBUG },
		{ "<007>", 5, LOG_USER | LOG_DEBUG },
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		uint8_t pri = LOG_USER | LOG_INFO;

		cr_assert_eq(pri_prefix(ok[i].s, strlen(ok[i].s), &pri), ok[i].len, "%s", ok[i].s);
		cr_assert_eq(pri, ok[i].pri, "%s gave %u", ok[i].s, pri);
	}
}

Test(pri, text_that_is_not_a_prefix_is_left_alone)
{
	static const char *const bad[] = {
		"", "<", "<>", "<3", "3>", " <3>", "<192>", "<1234>", "<x>", "<-1>",
		"<3 >", "[3]",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t pri = LOG_USER | LOG_INFO;

		cr_assert_eq(pri_prefix(bad[i], strlen(bad[i]), &pri), 0, "'%s'", bad[i]);
		cr_assert_eq(pri, LOG_USER | LOG_INFO, "'%s' changed the priority", bad[i]);
	}
	/* The length given is respected: "<3>" cut before its '>'. */
	uint8_t pri = LOG_USER | LOG_INFO;
	cr_assert_eq(pri_prefix("<3>", 2, &pri), 0);
}
