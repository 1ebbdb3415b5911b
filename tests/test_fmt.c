/*
 * test_fmt.c - checks sinks/fmt: the text and JSON line layouts, local
 * time with its offset and UTC nanoseconds, escaping of control
 * characters, backslashes and invalid UTF-8 in every field, that any
 * bytes at all give valid JSON and reversible text, and the buffer.
 *
 * Every expected line is written by hand from the format's description.
 */
#define LIBBSD_NETBSD_VIS
#include <criterion/criterion.h>

#include <bsd/vis.h>
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fmt.h"
#include "lane.h"
#include "need.h"
#include "prng.h"

/* 2026-11-25T09:16:26Z and 2026-11-25T07:36:53Z (date -u -d ... +%s). */
#define TF_SEC_A  UINT64_C(1795598186)
#define TF_SEC_B  UINT64_C(1795592213)
#define TF_NS     UINT64_C(1000000000)

/* Text prefix of tf_rec() in UTC. */
#define TF_PFX    "2026-11-25T09:16:26.123456+00:00 app[4242] info: "

#define TF_FFFD   "\xef\xbf\xbd"

static void
tf_zone(const char *tz)
{
	cr_assert_eq(setenv("TZ", tz, 1), 0);
	tzset();
}

/* A record at 2026-11-25T09:16:26.123456789Z from app[4242], user.info. */
static struct fmt_record
tf_rec(const char *msg, size_t len)
{
	struct fmt_record r = {
		.ts_ns = TF_SEC_A * TF_NS + 123456789u,
		.pid = 4242,
		.tid = 4243,
		.source = LANE_SRC_STDERR,
		.facility = 1,
		.severity = 6,
		.proc = "app",
		.ident = NULL,
		.msg = msg,
		.msg_len = len,
	};

	return r;
}

/* Format one record into a fresh buffer; return it NUL-terminated. */
static char *
tf_line(enum fmt_kind kind, const struct fmt_record *r)
{
	struct fmt_buf b = { 0 };
	char *s;

	cr_assert_eq(fmt_record(&b, kind, r), 0, "fmt_record: %s", strerror(errno));
	cr_assert_not_null(s = malloc(b.len + 1));
	memcpy(s, b.data, b.len);
	s[b.len] = '\0';
	cr_assert_eq(strlen(s), b.len, "output holds a NUL byte");
	fmt_buf_free(&b);
	return s;
}

static void
tf_expect(enum fmt_kind kind, const struct fmt_record *r, const char *want)
{
	char *got = tf_line(kind, r);

	cr_expect_str_eq(got, want);
	free(got);
}

/* The message of tf_rec() as text, in UTC. */
static void
tf_expect_text_msg(const char *msg, size_t len, const char *want)
{
	struct fmt_record r = tf_rec(msg, len);

	tf_zone("UTC");
	tf_expect(FMT_TEXT, &r, want);
}

static void
tf_expect_json_msg(const char *msg, size_t len, const char *want_msg)
{
	struct fmt_record r = tf_rec(msg, len);
	char want[512];

	snprintf(want, sizeof(want), "{\"ts\":\"2026-11-25T09:16:26.123456789Z\","
	    "\"pid\":4242,\"tid\":4243,\"proc\":\"app\",\"source\":\"stderr\","
	    "\"facility\":\"user\",\"severity\":\"info\",\"ident\":null,"
	    "\"msg\":\"%s\",\"thread\":null}\n", want_msg);
	tf_expect(FMT_JSON, &r, want);
}

#define TF_TEXT(lit, want) tf_expect_text_msg(lit, sizeof(lit) - 1, TF_PFX want "\n")
#define TF_JSON(lit, want) tf_expect_json_msg(lit, sizeof(lit) - 1, want)

Test(fmt, text_line_without_ident)
{
	TF_TEXT("hello world", "hello world");
}

Test(fmt, text_line_with_ident)
{
	struct fmt_record r = tf_rec("connection closed", 17);

	r.ident = "sshd";
	r.source = LANE_SRC_SYSLOG;
	r.facility = 10;
	r.severity = 5;
	tf_zone("UTC");
	tf_expect(FMT_TEXT, &r, "2026-11-25T09:16:26.123456+00:00 app[4242] "
	    "notice sshd: connection closed\n");
}

Test(fmt, text_keeps_an_empty_message_and_proc)
{
	struct fmt_record r = tf_rec("", 0);

	r.proc = "";
	r.ident = "";
	tf_zone("UTC");
	tf_expect(FMT_TEXT, &r, "2026-11-25T09:16:26.123456+00:00 [4242] info : \n");
}

Test(fmt, text_truncates_to_the_microsecond)
{
	struct fmt_record r = tf_rec("m", 1);

	tf_zone("UTC");
	r.ts_ns = TF_SEC_A * TF_NS + 999999999u;
	tf_expect(FMT_TEXT, &r, "2026-11-25T09:16:26.999999+00:00 app[4242] info: m\n");
	r.ts_ns = TF_SEC_A * TF_NS + 999u;
	tf_expect(FMT_TEXT, &r, "2026-11-25T09:16:26.000000+00:00 app[4242] info: m\n");
	r.ts_ns = TF_SEC_A * TF_NS + 1000u;
	tf_expect(FMT_TEXT, &r, "2026-11-25T09:16:26.000001+00:00 app[4242] info: m\n");
}

Test(fmt, text_uses_a_positive_half_hour_zone)
{
	struct fmt_record r = tf_rec("m", 1);

	TEST_NEED(access("/usr/share/zoneinfo/Asia/Kolkata", R_OK) == 0, "tzdata (Asia/Kolkata)");
	tf_zone("Asia/Kolkata");
	tf_expect(FMT_TEXT, &r, "2026-11-25T14:46:26.123456+05:30 app[4242] info: m\n");
}

Test(fmt, text_uses_a_negative_half_hour_zone)
{
	struct fmt_record r = tf_rec("m", 1);

	TEST_NEED(access("/usr/share/zoneinfo/America/St_Johns", R_OK) == 0,
	    "tzdata (America/St_Johns)");
	/* Newfoundland standard time in November, no daylight saving. */
	tf_zone("America/St_Johns");
	tf_expect(FMT_TEXT, &r, "2026-11-25T05:46:26.123456-03:30 app[4242] info: m\n");
}

Test(fmt, text_uses_posix_zone_strings)
{
	struct fmt_record r = tf_rec("m", 1);

	/* POSIX offsets count west of Greenwich: "-5:45" is UTC+05:45. */
	tf_zone("<+0545>-5:45");
	tf_expect(FMT_TEXT, &r, "2026-11-25T15:01:26.123456+05:45 app[4242] info: m\n");
	tf_zone("<-0930>9:30");
	tf_expect(FMT_TEXT, &r, "2026-11-24T23:46:26.123456-09:30 app[4242] info: m\n");
}

Test(fmt, text_escapes_terminal_escape_sequences)
{
	TF_TEXT("\x1b[31mred\x1b[0m \x1b]0;title\x07", "\\033[31mred\\033[0m \\033]0;title\\a");
}

Test(fmt, text_escapes_cr_nl_backslash_and_del)
{
	TF_TEXT("a\rb\nc", "a\\rb\\nc");
	TF_TEXT("C:\\dir\\f", "C:\\\\dir\\\\f");
	TF_TEXT("x\x7fy", "x\\177y");
	TF_TEXT("\x01\x08\x0b\x0c\x1f", "\\001\\b\\v\\f\\037");
}

Test(fmt, text_keeps_tabs_and_spaces)
{
	TF_TEXT("a\tb  c", "a\tb  c");
}

Test(fmt, text_escapes_nul_unambiguously)
{
	TF_TEXT("a\0b", "a\\0b");
	/* "\01" would read back as one byte 001; the digit needs "\000". */
	TF_TEXT("a\0" "1", "a\\0001");
	TF_TEXT("\0\0" "7", "\\0\\0007");
}

Test(fmt, text_escapes_nul_before_a_digit_in_a_long_run)
{
	size_t n = 5000, i;
	char *msg = calloc(n + 1, 1), *want = malloc(sizeof(TF_PFX) + 2 * n + 8);
	char *p;

	cr_assert_not_null(msg);
	cr_assert_not_null(want);
	msg[n] = '5';
	p = want + strlen(strcpy(want, TF_PFX));
	for (i = 0; i < n - 1; i++, p += 2)
		memcpy(p, "\\0", 2);
	strcpy(p, "\\0005\n");
	tf_expect_text_msg(msg, n + 1, want);
	free(msg);
	free(want);
}

Test(fmt, text_escapes_proc_and_ident_too)
{
	struct fmt_record r = tf_rec("m", 1);

	r.proc = "ev\x1b[2Jil";
	r.ident = "id\nx\\";
	tf_zone("UTC");
	tf_expect(FMT_TEXT, &r, "2026-11-25T09:16:26.123456+00:00 ev\\033[2Jil[4242] "
	    "info id\\nx\\\\: m\n");
}

Test(fmt, text_keeps_utf8_in_any_locale)
{
	struct fmt_record r = tf_rec("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80", 17);
	const char *want = TF_PFX "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80\n";

	r.proc = "\xc3\xa9t\xc3\xa9";
	r.ident = "\xe6\x97\xa5";
	tf_zone("UTC");
	setlocale(LC_CTYPE, "C");
	tf_expect(FMT_TEXT, &r, "2026-11-25T09:16:26.123456+00:00 \xc3\xa9t\xc3\xa9[4242] "
	    "info \xe6\x97\xa5: caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80\n");
	cr_assert_not_null(setlocale(LC_CTYPE, "C.UTF-8"));
	r.ident = NULL;
	r.proc = "app";
	tf_expect(FMT_TEXT, &r, want);
}

Test(fmt, text_escapes_invalid_utf8_as_octal)
{
	TF_TEXT("\xff", "\\377");
	TF_TEXT("caf\xc3\xa9\xff", "caf\xc3\xa9\\377");
	TF_TEXT("\xe2\x82" "x", "\\342\\202x");
	TF_TEXT("\xc0\xaf", "\\300\\257");
	TF_TEXT("\xed\xa0\x80", "\\355\\240\\200");
	TF_TEXT("\xf4\x90\x80\x80", "\\364\\220\\200\\200");
	TF_TEXT("\x80\xc3\xa9", "\\200\xc3\xa9");
}

Test(fmt, text_escapes_c1_controls_and_bidi_overrides)
{
	TF_TEXT("a\xc2\x85z", "a\\302\\205z");
	TF_TEXT("\xc2\x9b" "31m", "\\302\\23331m");
	TF_TEXT("x\xe2\x80\xaey", "x\\342\\200\\256y");
	TF_TEXT("\xe2\x81\xa6", "\\342\\201\\246");
	TF_TEXT("\xe2\x80\xa8", "\\342\\200\\250");
	TF_TEXT("\xc2\xa0\xe2\x80\x8d", "\xc2\xa0\xe2\x80\x8d");
}

Test(fmt, json_line_has_every_key_in_order)
{
	struct fmt_record r = tf_rec("hello", 5);

	r.ts_ns = TF_SEC_B * TF_NS + 631494123u;
	r.pid = 1;
	r.tid = 2;
	r.proc = "x";
	tf_expect(FMT_JSON, &r, "{\"ts\":\"2026-11-25T07:36:53.631494123Z\",\"pid\":1,"
	    "\"tid\":2,\"proc\":\"x\",\"source\":\"stderr\",\"facility\":\"user\","
	    "\"severity\":\"info\",\"ident\":null,\"msg\":\"hello\",\"thread\":null}\n");
}

Test(fmt, json_line_with_ident_source_and_priority)
{
	struct fmt_record r = tf_rec("ok", 2);

	r.ts_ns = TF_SEC_B * TF_NS + 5u;
	r.pid = -1;
	r.source = LANE_SRC_SYSLOG;
	r.facility = 10;
	r.severity = 3;
	r.ident = "sshd";
	tf_expect(FMT_JSON, &r, "{\"ts\":\"2026-11-25T07:36:53.000000005Z\",\"pid\":-1,"
	    "\"tid\":4243,\"proc\":\"app\",\"source\":\"syslog\",\"facility\":\"authpriv\","
	    "\"severity\":\"err\",\"ident\":\"sshd\",\"msg\":\"ok\",\"thread\":null}\n");
	r.source = LANE_SRC_MPLOG;
	r.facility = 23;
	r.severity = 0;
	r.ident = "";
	tf_expect(FMT_JSON, &r, "{\"ts\":\"2026-11-25T07:36:53.000000005Z\",\"pid\":-1,"
	    "\"tid\":4243,\"proc\":\"app\",\"source\":\"mplog\",\"facility\":\"local7\","
	    "\"severity\":\"emerg\",\"ident\":\"\",\"msg\":\"ok\",\"thread\":null}\n");
}

Test(fmt, json_time_is_utc_whatever_the_zone)
{
	struct fmt_record r = tf_rec("", 0);

	tf_zone("<+0545>-5:45");
	tf_expect(FMT_JSON, &r, "{\"ts\":\"2026-11-25T09:16:26.123456789Z\",\"pid\":4242,"
	    "\"tid\":4243,\"proc\":\"app\",\"source\":\"stderr\",\"facility\":\"user\","
	    "\"severity\":\"info\",\"ident\":null,\"msg\":\"\",\"thread\":null}\n");
}

Test(fmt, json_escapes_quotes_backslashes_and_controls)
{
	TF_JSON("say \"hi\" \\ now", "say \\\"hi\\\" \\\\ now");
	TF_JSON("\n\r\t\b\f", "\\n\\r\\t\\b\\f");
	TF_JSON("\x01\x1b[0m\x1f\x7f", "\\u0001\\u001b[0m\\u001f\\u007f");
	TF_JSON("/ < > '", "/ < > '");
}

/*
 * Plain runs are scanned 16 bytes a step: a byte that needs escaping is
 * found at every offset of a long run, at either end of a step, and the
 * bytes around it are copied whole.
 */
Test(fmt, a_byte_to_escape_is_found_at_every_offset_of_a_long_run)
{
	static const struct { char c; const char *text, *json; } odd[] = {
		{ '\\', "\\\\", "\\\\" }, { '\x7f', "\\177", "\\u007f" },
		{ '\x1b', "\\033", "\\u001b" }, { '"', "\"", "\\\"" },
		{ '\t', "\t", "\\t" }, { '\xc3', "\\303", TF_FFFD },
	};
	char msg[48], text[128], json[128];

	for (size_t k = 0; k < sizeof(odd) / sizeof(odd[0]); k++)
		for (size_t at = 0; at < sizeof(msg); at++) {
			for (size_t i = 0; i < sizeof(msg); i++)
				msg[i] = (char)('a' + i % 26);
			msg[at] = odd[k].c;
			snprintf(text, sizeof(text), TF_PFX "%.*s%s%.*s\n", (int)at, msg, odd[k].text,
			    (int)(sizeof(msg) - at - 1), msg + at + 1);
			snprintf(json, sizeof(json), "%.*s%s%.*s", (int)at, msg, odd[k].json,
			    (int)(sizeof(msg) - at - 1), msg + at + 1);
			tf_expect_text_msg(msg, sizeof(msg), text);
			tf_expect_json_msg(msg, sizeof(msg), json);
		}
}

/* Numbers are written two digits a step: every width, both formats, with
 * printf as the reference. */
Test(fmt, numbers_keep_every_digit_at_every_width)
{
	static const long pids[] = { 0, 7, 10, 99, 100, 101, 999, 1000, 4194304, -5, -10 };
	char want[64];

	for (size_t i = 0; i < sizeof(pids) / sizeof(pids[0]); i++) {
		struct fmt_record r = tf_rec("m", 1);
		char *text, *json;

		r.pid = (int32_t)pids[i];
		r.tid = (int32_t)(pids[i] * 3 + 1);
		tf_zone("UTC");
		text = tf_line(FMT_TEXT, &r);
		json = tf_line(FMT_JSON, &r);
		snprintf(want, sizeof(want), "app[%ld] info: m\n", pids[i]);
		cr_expect(strstr(text, want) != NULL, "%s has no %s", text, want);
		snprintf(want, sizeof(want), "\"pid\":%ld,\"tid\":%ld,", pids[i], pids[i] * 3 + 1);
		cr_expect(strstr(json, want) != NULL, "%s has no %s", json, want);
		free(text);
		free(json);
	}
}

Test(fmt, fractions_keep_every_digit)
{
	static const struct { uint64_t ns; const char *text, *json; } t[] = {
		{ 5, ":26.000000+00:00 ", ":26.000000005Z\"" },
		{ 10000, ":26.000010+00:00 ", ":26.000010000Z\"" },
		{ 999999999, ":26.999999+00:00 ", ":26.999999999Z\"" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct fmt_record r = tf_rec("m", 1);
		char *text, *json;

		r.ts_ns = TF_SEC_A * TF_NS + t[i].ns;
		tf_zone("UTC");
		text = tf_line(FMT_TEXT, &r);
		json = tf_line(FMT_JSON, &r);
		cr_expect(strstr(text, t[i].text) != NULL, "%s has no %s", text, t[i].text);
		cr_expect(strstr(json, t[i].json) != NULL, "%s has no %s", json, t[i].json);
		free(text);
		free(json);
	}
}

Test(fmt, json_escapes_nul_bytes)
{
	TF_JSON("a\0b\0", "a\\u0000b\\u0000");
}

Test(fmt, json_escapes_proc_and_ident_too)
{
	struct fmt_record r = tf_rec("m", 1);

	r.proc = "p\"q\x01\xff";
	r.ident = "i\\\n";
	tf_expect(FMT_JSON, &r, "{\"ts\":\"2026-11-25T09:16:26.123456789Z\",\"pid\":4242,"
	    "\"tid\":4243,\"proc\":\"p\\\"q\\u0001" TF_FFFD "\",\"source\":\"stderr\","
	    "\"facility\":\"user\",\"severity\":\"info\",\"ident\":\"i\\\\\\n\","
	    "\"msg\":\"m\",\"thread\":null}\n");
}

Test(fmt, json_keeps_valid_utf8)
{
	TF_JSON("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac", "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac");
	/* U+0080, U+07FF, U+0800, U+D7FF, U+E000, U+FFFD, U+10000, U+10FFFF. */
	TF_JSON("\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbd"
	    "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf",
	    "\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbd"
	    "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf");
}

Test(fmt, json_replaces_each_invalid_byte)
{
	TF_JSON("a\xff" "b", "a" TF_FFFD "b");
	TF_JSON("\xe2\x82", TF_FFFD TF_FFFD);
	TF_JSON("\xe2\x82" "x", TF_FFFD TF_FFFD "x");
	TF_JSON("\xc0\xaf", TF_FFFD TF_FFFD);
	TF_JSON("\xe0\x80\xaf", TF_FFFD TF_FFFD TF_FFFD);
	TF_JSON("\xed\xa0\x80", TF_FFFD TF_FFFD TF_FFFD);
	TF_JSON("\xf4\x90\x80\x80", TF_FFFD TF_FFFD TF_FFFD TF_FFFD);
	TF_JSON("\xf5\xf8\xfe", TF_FFFD TF_FFFD TF_FFFD);
	TF_JSON("\x80\xc3\xa9\xbf", TF_FFFD "\xc3\xa9" TF_FFFD);
	TF_JSON("\xf0\x9f\x98", TF_FFFD TF_FFFD TF_FFFD);
}

/* Random bytes, half of them picked from UTF-8 and JSON's hard cases. */
static size_t
tf_random_msg(uint64_t *seed, char *msg, size_t cap)
{
	static const char *const pieces[] = {
		"\xc3\xa9", "\xe6\x97\xa5", "\xf0\x9f\x98\x80", "\xed\xa0\x80",
		"\xc0\xaf", "\xe2\x82", "\xf4\x90\x80\x80", "\"", "\\", "\\u",
		"\0", "\x1b[", "\x7f", "\n", "0", "\xc2\x85", "\xe2\x80\xae",
	};
	size_t n = 0, want = prng_next(seed) % cap;

	while (n < want) {
		uint64_t x = prng_next(seed);
		const char *p = pieces[x % (sizeof(pieces) / sizeof(pieces[0]))];
		size_t k = *p == '\0' ? 1 : strlen(p);

		if (x >> 63 && n + k <= want) {
			memcpy(msg + n, p, k);
			n += k;
		} else
			msg[n++] = (char)(x >> 32);
	}
	return n;
}

/* Whether s[0..n) is UTF-8 (RFC 3629, table 4 of the Unicode standard). */
static int
tf_utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i], need, min, cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0)
			need = 1, min = 0x80, cp = c & 0x1f;
		else if ((c & 0xf0) == 0xe0)
			need = 2, min = 0x800, cp = c & 0x0f;
		else if ((c & 0xf8) == 0xf0)
			need = 3, min = 0x10000, cp = c & 0x07;
		else
			return 0;
		if (n - i - 1 < need)
			return 0;
		for (unsigned k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += need + 1;
	}
	return 1;
}

/* No raw control byte except tabs (if allowed) and the final newline. */
static int
tf_no_controls(const char *s, size_t n, int tabs)
{
	for (size_t i = 0; i + 1 < n; i++)
		if (((unsigned char)s[i] < 0x20 && !(tabs && s[i] == '\t')) || s[i] == 0x7f)
			return 0;
	return n > 0 && s[n - 1] == '\n';
}

Test(fmt, json_is_valid_for_random_bytes)
{
	char path[] = "/tmp/test_fmt.XXXXXX", cmd[64], msg[300];
	struct fmt_buf b = { 0 };
	uint64_t seed = UINT64_C(0x6d706c6f67);
	long count = -1;
	FILE *f;
	int fd;

	cr_assert_neq(fd = mkstemp(path), -1);
	for (int i = 0; i < 2000; i++) {
		struct fmt_record r = tf_rec(msg, tf_random_msg(&seed, msg, sizeof(msg)));
		size_t start = b.len;

		cr_assert_eq(fmt_record(&b, FMT_JSON, &r), 0);
		cr_assert(tf_utf8_valid((unsigned char *)b.data + start, b.len - start),
		    "line %d is not UTF-8", i);
		cr_assert(tf_no_controls(b.data + start, b.len - start, 0),
		    "line %d has a raw control character", i);
	}
	cr_assert_eq(write(fd, b.data, b.len), (ssize_t)b.len);
	close(fd);
	fmt_buf_free(&b);
	/* jq -s fails unless every line parses; length counts the objects. */
	TEST_NEED(access("/usr/bin/jq", X_OK) == 0, "jq");
	snprintf(cmd, sizeof(cmd), "jq -s length %s", path);
	cr_assert_not_null(f = popen(cmd, "r"));
	cr_expect_eq(fscanf(f, "%ld", &count), 1);
	cr_expect_eq(pclose(f), 0, "jq rejected the output");
	unlink(path);
	cr_assert_eq(count, 2000);
}

Test(fmt, text_is_reversible_for_random_bytes)
{
	static const char pfx[] = "2026-11-25T09:16:26.123456+00:00 app[4242] info: ";
	char msg[300], back[300 * 4 + 1];
	uint64_t seed = UINT64_C(0x74657874);

	tf_zone("UTC");
	for (int i = 0; i < 2000; i++) {
		struct fmt_record r = tf_rec(msg, tf_random_msg(&seed, msg, sizeof(msg)));
		char *line = tf_line(FMT_TEXT, &r);
		size_t n = strlen(line);
		int got;

		cr_assert(tf_utf8_valid((unsigned char *)line, n), "line %d is not UTF-8", i);
		cr_assert(tf_no_controls(line, n, 1), "line %d has a raw control character", i);
		cr_assert_eq(strncmp(line, pfx, sizeof(pfx) - 1), 0);
		line[n - 1] = '\0';
		got = strunvis(back, line + sizeof(pfx) - 1);
		cr_assert_eq(got, (int)r.msg_len, "line %d: unvis gave %d bytes", i, got);
		cr_assert_eq(memcmp(back, msg, r.msg_len), 0, "line %d does not read back", i);
		free(line);
	}
}

Test(fmt, parse_takes_only_the_two_names)
{
	cr_expect_eq(fmt_parse("text"), FMT_TEXT);
	cr_expect_eq(fmt_parse("json"), FMT_JSON);
	cr_expect_eq(fmt_parse(""), -1);
	cr_expect_eq(fmt_parse("xml"), -1);
	cr_expect_eq(fmt_parse("texts"), -1);
	cr_expect_eq(fmt_parse("jso"), -1);
}

Test(fmt, source_names)
{
	cr_expect_str_eq(fmt_source_name(LANE_SRC_STDERR), "stderr");
	cr_expect_str_eq(fmt_source_name(LANE_SRC_SYSLOG), "syslog");
	cr_expect_str_eq(fmt_source_name(LANE_SRC_MPLOG), "mplog");
	cr_expect_str_eq(fmt_source_name(LANE_SRC_STDOUT), "stdout");
	cr_expect_str_eq(fmt_source_name(4), "?");
	cr_expect_str_eq(fmt_source_name(UINT_MAX), "?");
}

Test(fmt, records_append_and_consume_drops_the_front)
{
	struct fmt_record r = tf_rec("one", 3);
	struct fmt_buf b = { 0 };
	const char *l1 = TF_PFX "one\n", *l2 = TF_PFX "two\n";

	tf_zone("UTC");
	cr_assert_eq(fmt_record(&b, FMT_TEXT, &r), 0);
	r.msg = "two";
	cr_assert_eq(fmt_record(&b, FMT_TEXT, &r), 0);
	cr_assert_eq(b.len, strlen(l1) + strlen(l2));
	cr_assert_eq(memcmp(b.data, l1, strlen(l1)), 0);
	fmt_buf_consume(&b, 4);
	cr_assert_eq(b.len, strlen(l1) - 4 + strlen(l2));
	cr_assert_eq(memcmp(b.data, l1 + 4, strlen(l1) - 4), 0);
	fmt_buf_consume(&b, strlen(l1) - 4);
	cr_assert_eq(b.len, strlen(l2));
	cr_assert_eq(memcmp(b.data, l2, strlen(l2)), 0);
	fmt_buf_consume(&b, b.len);
	cr_assert_eq(b.len, 0);
	cr_assert_eq(fmt_record(&b, FMT_TEXT, &r), 0);
	cr_assert_eq(memcmp(b.data, l2, strlen(l2)), 0);
	fmt_buf_free(&b);
	cr_assert_null(b.data);
	cr_assert_eq(b.len, 0);
	cr_assert_eq(b.cap, 0);
}

Test(fmt, buffer_grows_for_long_messages)
{
	size_t n = 65536;
	char *msg = malloc(n), *line;

	cr_assert_not_null(msg);
	memset(msg, '\x01', n);
	struct fmt_record r = tf_rec(msg, n);
	line = tf_line(FMT_JSON, &r);
	cr_assert_eq(strlen(line), strlen("{\"ts\":\"2026-11-25T09:16:26.123456789Z\","
	    "\"pid\":4242,\"tid\":4243,\"proc\":\"app\",\"source\":\"stderr\","
	    "\"facility\":\"user\",\"severity\":\"info\",\"ident\":null,"
	    "\"msg\":\"\",\"thread\":null}\n") + 6 * n);
	free(line);
	free(msg);
}

Test(fmt, failed_record_leaves_the_buffer_as_it_was)
{
	struct fmt_record r = tf_rec("first", 5);
	struct fmt_buf b = { 0 };
	size_t len;

	tf_zone("UTC");
	cr_assert_eq(fmt_record(&b, FMT_TEXT, &r), 0);
	len = b.len;
	/* A length no buffer can hold is refused before a byte is read. */
	r.msg_len = SIZE_MAX / 2;
	errno = 0;
	cr_expect_eq(fmt_record(&b, FMT_TEXT, &r), -1);
	cr_expect_eq(errno, ENOMEM);
	cr_expect_eq(b.len, len);
	errno = 0;
	cr_expect_eq(fmt_record(&b, FMT_JSON, &r), -1);
	cr_expect_eq(errno, ENOMEM);
	cr_expect_eq(b.len, len);
	cr_expect_eq(memcmp(b.data, TF_PFX "first\n", len), 0);
	fmt_buf_free(&b);
}

Test(fmt, a_piece_of_a_longer_line_is_marked_in_both_formats)
{
	struct fmt_record r = tf_rec("first part", 10);

	r.continued = 1;
	tf_zone("UTC");
	tf_expect(FMT_TEXT, &r, "2026-11-25T09:16:26.123456+00:00 app[4242] "
	    "info: first part [continued]\n");
	tf_expect(FMT_JSON, &r, "{\"ts\":\"2026-11-25T09:16:26.123456789Z\","
	    "\"pid\":4242,\"tid\":4243,\"proc\":\"app\",\"source\":\"stderr\","
	    "\"facility\":\"user\",\"severity\":\"info\",\"ident\":null,"
	    "\"msg\":\"first part\",\"continued\":true,\"thread\":null}\n");
}

/* The writing thread's name: last in JSON (null when unknown); in text
 * after the process name as PROC/THREAD, unless it is the process name
 * or that name cut to the kernel's 15 bytes. */
Test(fmt, the_thread_name_is_last_in_json_and_shown_in_text_when_it_says_more)
{
	static const struct { const char *proc, *thread, *text_name; } cases[] = {
		{ "app", "worker-3", "app/worker-3" },
		{ "app", "app", "app" },
		{ "a-long-program-name", "a-long-program-", "a-long-program-name" },
		{ "a-long-program-name", "a-long-program", "a-long-program-name/a-long-program" },
		{ "app", "ev\033il", "app/ev\\033il" },
	};
	char want[512];

	tf_zone("UTC");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fmt_record r = tf_rec("m", 1);

		r.proc = cases[i].proc;
		r.thread = cases[i].thread;
		snprintf(want, sizeof(want), "2026-11-25T09:16:26.123456+00:00 %s[4242] info: m\n",
		    cases[i].text_name);
		tf_expect(FMT_TEXT, &r, want);
	}
	struct fmt_record r = tf_rec("m", 1);

	r.thread = "w\"k\n";
	tf_expect(FMT_JSON, &r, "{\"ts\":\"2026-11-25T09:16:26.123456789Z\","
	    "\"pid\":4242,\"tid\":4243,\"proc\":\"app\",\"source\":\"stderr\","
	    "\"facility\":\"user\",\"severity\":\"info\",\"ident\":null,"
	    "\"msg\":\"m\",\"thread\":\"w\\\"k\\n\"}\n");
}

/* A record of several lines: in text each further line stands under the
 * first, indented to where the message starts, escaped as any line (no
 * line of it can pass for a record); an empty line gets no spaces; a
 * record that is not one keeps its newlines escaped. JSON has them as
 * \n in msg either way. */
Test(fmt, a_record_of_several_lines_shows_each_under_the_first)
{
	static const char msg[] = "Traceback:\n  frame \033[2J\n\nError: x";
	struct fmt_record r = tf_rec(msg, sizeof(msg) - 1);
	char want[512];
	int w = (int)strlen(TF_PFX);    /* where the message starts */

	tf_zone("UTC");
	r.multiline = 1;
	snprintf(want, sizeof(want), TF_PFX "Traceback:\n%*s  frame \\033[2J\n\n%*sError: x\n",
	    w, "", w, "");
	tf_expect(FMT_TEXT, &r, want);
	r.multiline = 0;
	tf_expect(FMT_TEXT, &r, TF_PFX "Traceback:\\n  frame \\033[2J\\n\\nError: x\n");
	r.multiline = 1;
	tf_expect(FMT_JSON, &r, "{\"ts\":\"2026-11-25T09:16:26.123456789Z\","
	    "\"pid\":4242,\"tid\":4243,\"proc\":\"app\",\"source\":\"stderr\","
	    "\"facility\":\"user\",\"severity\":\"info\",\"ident\":null,"
	    "\"msg\":\"Traceback:\\n  frame \\u001b[2J\\n\\nError: x\",\"thread\":null}\n");
}
