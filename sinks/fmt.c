/*
 * fmt.c - one record as one line of text or JSON.
 *
 * Both formats walk the bytes with one strict UTF-8 decoder (fmt_utf8) and
 * never depend on the locale. Text copies printable ASCII, tabs and
 * printable UTF-8 as they are and hands every other byte to libbsd's
 * vis(3) with VIS_NOLOCALE. Left to its locale, libbsd 0.11 in C.UTF-8
 * keeps UTF-8 but copies invalid bytes raw, and one invalid byte makes it
 * write the valid characters before it as Latin-1.
 */
#define LIBBSD_NETBSD_VIS	/* only silences <bsd/vis.h>; strnvis is unused */
#include "fmt.h"

#include <bsd/vis.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "lane.h"
#include "pri.h"

#define FMT_VIS_FLAGS  (VIS_CSTYLE | VIS_OCTAL | VIS_NL | VIS_NOLOCALE)
#define FMT_VIS_RUN    4096   /* bytes per strnvisx call; keeps its int small */
#define FMT_VIS_GROW   4      /* "\ooo": output bytes per escaped byte */
#define FMT_JSON_GROW  6      /* "\u00XX": output bytes per escaped byte */

/* Grow b to room for n more bytes after b->len. */
static int
fmt_grow(struct fmt_buf *b, size_t n)
{
	size_t cap;
	char *p;

	if (n > SIZE_MAX - b->len) {
		errno = ENOMEM;
		return -1;
	}
	cap = b->cap > 0 ? b->cap : 256;
	while (cap - b->len < n)
		cap = cap > SIZE_MAX / 2 ? b->len + n : cap * 2;
	if ((p = realloc(b->data, cap)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

/* Make room for n more bytes after b->len. Inline, as fmt_put: a line
 * is some twenty pieces, most of a few bytes. */
static inline int
fmt_reserve(struct fmt_buf *b, size_t n)
{
	return b->cap - b->len >= n ? 0 : fmt_grow(b, n);
}

static inline int
fmt_put(struct fmt_buf *b, const char *s, size_t n)
{
	if (fmt_reserve(b, n) == -1)
		return -1;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	return 0;
}

int
fmt_buf_put(struct fmt_buf *b, const char *s, size_t n)
{
	return fmt_put(b, s, n);
}

/* A string literal, measured by the compiler. */
#define fmt_lit(b, s) fmt_put(b, s, sizeof(s) - 1)

/* A keyword: a name of ours that needs no escaping. */
static int
fmt_word(struct fmt_buf *b, const char *s)
{
	return fmt_put(b, s, strlen(s));
}

/* Append a short printf-formatted piece (numbers, keywords, times). */
int
fmt_printf(struct fmt_buf *b, const char *fmt, ...)
{
	char s[192];
	va_list ap;
	int w;

	va_start(ap, fmt);
	w = vsnprintf(s, sizeof(s), fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t)w >= sizeof(s)) {
		errno = EOVERFLOW;
		return -1;
	}
	return fmt_put(b, s, (size_t)w);
}

/* Reserve room for a field of n input bytes growing at most grow-fold. */
static int
fmt_reserve_field(struct fmt_buf *b, size_t n, size_t grow, size_t extra)
{
	if (n > (SIZE_MAX - extra) / grow) {
		errno = ENOMEM;
		return -1;
	}
	return fmt_reserve(b, n * grow + extra);
}

/*
 * Length of the valid UTF-8 character at s (1 for ASCII) and its code
 * point in *cp; 0 when s starts no valid character: a stray continuation
 * byte, an overlong form, a surrogate, a value past U+10FFFF or a
 * truncated sequence.
 */
static size_t
fmt_utf8(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char lo = 0x80, hi = 0xbf;
	uint32_t c;
	size_t len, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	len = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	c = s[0] & (0x7f >> len);
	if (s[0] == 0xe0 || s[0] == 0xf0)
		lo = s[0] == 0xe0 ? 0xa0 : 0x90;	/* overlong */
	else if (s[0] == 0xed)
		hi = 0x9f;			/* surrogates */
	else if (s[0] == 0xf4)
		hi = 0x8f;			/* past U+10FFFF */
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 1; i < len; i++) {
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	*cp = c;
	return len;
}

/*
 * Whether a non-ASCII character may be shown as it is: not a C1 control
 * (0x9b is a terminal's CSI), not a line or paragraph separator, and not a
 * bidirectional embedding, override or isolate, which reorder what a
 * reader sees of the rest of the line.
 */
static int
fmt_text_shows(uint32_t cp)
{
	if (cp < 0xa0 || cp == 0x2028 || cp == 0x2029)
		return 0;
	if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
		return 0;
	return 1;
}

/* Bytes at s that text copies as they are, or 0 if s[0] needs escaping. */
static size_t
fmt_text_keep(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t k;

	if (s[0] == '\\')
		return 0;
	if (s[0] == '\t' || (s[0] >= 0x20 && s[0] < 0x7f))
		return 1;
	k = fmt_utf8(s, n, &cp);
	return k > 1 && fmt_text_shows(cp) ? k : 0;
}

/*
 * Escape s[0..n) with vis(3); next is the byte after it, or NUL. Given
 * one byte, strnvisx() reads the byte after it for its look-ahead, so a
 * single byte goes to nvis() with next instead.
 */
static int
fmt_text_vis(struct fmt_buf *b, const char *s, size_t n, unsigned char next)
{
	char *dst = b->data + b->len, *end;
	int w;

	if (n == 1) {
		end = nvis(dst, b->cap - b->len, (unsigned char)s[0],
		    FMT_VIS_FLAGS, next);
		if (end == NULL)
			return -1;
		b->len += (size_t)(end - dst);
		return 0;
	}
	if ((w = strnvisx(dst, b->cap - b->len, s, n, FMT_VIS_FLAGS)) == -1)
		return -1;
	b->len += (size_t)w;
	/* strnvisx() saw NUL after s; "\0" then a digit must be "\000". */
	if (s[n - 1] == '\0' && next >= '0' && next <= '7')
		return fmt_lit(b, "00");
	return 0;
}

/*
 * Where the run of printable ASCII (0x20..0x7e) other than the backslash
 * and quote that starts at s[i] ends (n at most): 16 bytes a step where
 * SSE2 is there, the rest byte by byte. Nearly every byte of a log is in
 * such a run; both formats copy a run at once.
 */
static size_t
fmt_ascii_run(const unsigned char *s, size_t i, size_t n, unsigned char quote)
{
#ifdef __SSE2__
	const __m128i space = _mm_set1_epi8(0x20), del = _mm_set1_epi8(0x7f);
	const __m128i bs = _mm_set1_epi8('\\'), q = _mm_set1_epi8((char)quote);

	for (; n - i >= 16; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
		/* Signed: bytes from 0x80 are negative, so below the space. */
		__m128i odd = _mm_or_si128(_mm_cmplt_epi8(v, space),
		    _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, del), _mm_cmpeq_epi8(v, bs)),
		    _mm_cmpeq_epi8(v, q)));
		unsigned m = (unsigned)_mm_movemask_epi8(odd);

		if (m != 0)
			return i + (unsigned)__builtin_ctz(m);
	}
#endif
	while (i < n && s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\' && s[i] != quote)
		i++;
	return i;
}

/* Append s[0..n) for text: printable UTF-8 as it is, the rest escaped.
 * Runs of plain ASCII, nearly every byte of a log, are found with a
 * tight loop and copied at once. */
static int
fmt_text_str(struct fmt_buf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, j, k;

	if (fmt_reserve_field(b, n, FMT_VIS_GROW, 3) == -1)
		return -1;
	while (i < n) {
		/* A run goes on over a tab, which text keeps as it is. */
		for (j = fmt_ascii_run(u, i, n, '\\'); j < n && u[j] == '\t';
		    j = fmt_ascii_run(u, j + 1, n, '\\'))
			;
		if (j > i) {
			memcpy(b->data + b->len, s + i, j - i);
			b->len += j - i;
			i = j;
			continue;
		}
		if ((k = fmt_text_keep(u + i, n - i)) > 0) {
			memcpy(b->data + b->len, s + i, k);
			b->len += k;
			i += k;
			continue;
		}
		for (j = i + 1; j < n && j - i < FMT_VIS_RUN; j++)
			if (fmt_text_keep(u + j, n - j) > 0)
				break;
		if (fmt_text_vis(b, s + i, j - i, j < n ? u[j] : '\0') == -1)
			return -1;
		i = j;
	}
	return 0;
}

/* "00" to "99": two digits a step, half the divisions. */
static const char fmt_pairs[] =
    "00010203040506070809101112131415161718192021222324"
    "25262728293031323334353637383940414243444546474849"
    "50515253545556575859606162636465666768697071727374"
    "75767778798081828384858687888990919293949596979899";

/* v as width decimal digits, zero-padded, ending at end; the start. */
static char *
fmt_digits(char *end, unsigned long v, int width)
{
	for (; width >= 2; width -= 2) {
		end -= 2;
		memcpy(end, fmt_pairs + (v % 100) * 2, 2);
		v /= 100;
	}
	if (width > 0)
		*--end = (char)('0' + v % 10);
	return end;
}

/* A signed decimal number. */
static int
fmt_int(struct fmt_buf *b, long v)
{
	char s[24], *end = s + sizeof(s), *p = end;
	unsigned long u = v < 0 ? 0 - (unsigned long)v : (unsigned long)v;

	for (; u >= 100; u /= 100) {
		p -= 2;
		memcpy(p, fmt_pairs + (u % 100) * 2, 2);
	}
	if (u >= 10) {
		p -= 2;
		memcpy(p, fmt_pairs + u * 2, 2);
	} else {
		*--p = (char)('0' + u);
	}
	if (v < 0)
		*--p = '-';
	return fmt_put(b, p, (size_t)(end - p));
}

/*
 * A time's second, "YYYY-MM-DDTHH:MM:SS", and for local time its UTC
 * offset "+HH:MM": made once per second of each kind (the records of a
 * log mostly share it), per thread.
 */
struct fmt_second {
	time_t t;
	long zone;              /* local: timezone and tzname, as tzset set */
	const char *name0, *name1;
	int valid;
	char head[64];          /* 19 bytes but for years past 9999 */
	char off[32];
	size_t head_len, off_len;
};

static int
fmt_second(struct fmt_second *c, time_t t, int local)
{
	struct tm tm;
	long off;

	/* A new tzset (TZ changed) makes it again too. */
	if (c->valid && c->t == t && (!local || (c->zone == timezone &&
	    c->name0 == tzname[0] && c->name1 == tzname[1])))
		return 0;
	if ((local ? localtime_r(&t, &tm) : gmtime_r(&t, &tm)) == NULL)
		return -1;
	c->head_len = (size_t)snprintf(c->head, sizeof(c->head), "%04d-%02d-%02dT%02d:%02d:%02d",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	off = labs(tm.tm_gmtoff) / 60;
	c->off_len = (size_t)snprintf(c->off, sizeof(c->off), "%c%02ld:%02ld",
	    tm.tm_gmtoff < 0 ? '-' : '+', off / 60, off % 60);
	c->t = t;
	c->zone = timezone;
	c->name0 = tzname[0];
	c->name1 = tzname[1];
	c->valid = 1;
	return 0;
}

/* The length of a name of r: the one given, else measured. */
static size_t
fmt_len(const char *s, size_t given)
{
	return given != 0 ? given : strlen(s);
}

/* The time ts_ns: its second, then frac digits of the fraction, then
 * after, a literal (the local offset first when local). */
#define fmt_time(b, ts_ns, local, frac, after) \
	fmt_time_n(b, ts_ns, local, frac, after, sizeof(after) - 1)

static inline int
fmt_time_n(struct fmt_buf *b, uint64_t ts_ns, int local, int frac, const char *after,
    size_t after_len)
{
	static _Thread_local struct fmt_second utc, here;
	struct fmt_second *c = local ? &here : &utc;
	char digits[10], *end = digits + sizeof(digits);
	unsigned long ns = (unsigned long)(ts_ns % 1000000000u);

	if (fmt_second(c, (time_t)(ts_ns / 1000000000u), local) == -1)
		return -1;
	for (int i = frac; i < 9; i++)
		ns /= 10;
	end[-frac - 1] = '.';
	fmt_digits(end, ns, frac);
	return fmt_put(b, c->head, c->head_len) == -1 ||
	    fmt_put(b, end - frac - 1, (size_t)frac + 1) == -1 ||
	    (local && fmt_put(b, c->off, c->off_len) == -1) ? -1 :
	    fmt_put(b, after, after_len);
}

/* Is the thread's name worth showing beside the process name? Not when
 * it is that name, or that name cut to the kernel's 15 bytes (the main
 * thread's comm). */
static int
fmt_thread_differs(const struct fmt_record *r, size_t n)
{
	if (r->thread == NULL)
		return 0;
	return !(strncmp(r->thread, r->proc, n) == 0 &&
	    (r->proc[n] == '\0' || n == FMT_COMM_MAX));
}

/*
 * The message of r, the record's line having started at start in b: a
 * record of several lines gives each further line a line of its own,
 * indented to where the message starts, as journalctl shows them (each
 * line escaped: nothing in it can start a line of its own).
 */
static int
fmt_text_msg(struct fmt_buf *b, const struct fmt_record *r, size_t start)
{
	static const char spaces[] = "                                                                ";
	size_t indent = b->len - start, n = r->msg_len;
	const char *p = r->msg, *nl;

	if (!r->multiline)
		return fmt_text_str(b, p, n);
	while ((nl = memchr(p, '\n', n)) != NULL) {
		if (fmt_text_str(b, p, (size_t)(nl - p)) == -1 || fmt_lit(b, "\n") == -1)
			return -1;
		n -= (size_t)(nl + 1 - p);
		p = nl + 1;
		if (n == 0 || *p == '\n')
			continue;       /* an empty line: no trailing spaces */
		for (size_t k = indent; k > 0; k -= k < sizeof(spaces) - 1 ? k : sizeof(spaces) - 1)
			if (fmt_put(b, spaces, k < sizeof(spaces) - 1 ? k : sizeof(spaces) - 1) == -1)
				return -1;
	}
	return fmt_text_str(b, p, n);
}

static int
fmt_text(struct fmt_buf *b, const struct fmt_record *r)
{
	const char *sev = pri_severity_name(r->severity);
	size_t start = b->len, thread_len = r->thread == NULL ? 0 :
	    fmt_len(r->thread, r->thread_len);

	/* Local time to the microsecond with its UTC offset. */
	if (fmt_time(b, r->ts_ns, 1, 6, " ") == -1 ||
	    fmt_text_str(b, r->proc, fmt_len(r->proc, r->proc_len)) == -1 ||
	    (fmt_thread_differs(r, thread_len) && (fmt_lit(b, "/") == -1 ||
	    fmt_text_str(b, r->thread, thread_len) == -1)) ||
	    fmt_lit(b, "[") == -1 || fmt_int(b, r->pid) == -1 ||
	    fmt_lit(b, "] ") == -1 || fmt_word(b, sev) == -1)
		return -1;
	if (r->ident != NULL && (fmt_lit(b, " ") == -1 ||
	    fmt_text_str(b, r->ident, fmt_len(r->ident, r->ident_len)) == -1))
		return -1;
	if (fmt_lit(b, ": ") == -1 || fmt_text_msg(b, r, start) == -1 ||
	    (r->continued && fmt_lit(b, " [continued]") == -1))
		return -1;
	return fmt_lit(b, "\n");
}

/* Write the ASCII character c as JSON string content; return the end. */
static char *
fmt_json_ascii(char *p, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	char e;

	switch (c) {
	case '"':  e = '"'; break;
	case '\\': e = '\\'; break;
	case '\b': e = 'b'; break;
	case '\f': e = 'f'; break;
	case '\n': e = 'n'; break;
	case '\r': e = 'r'; break;
	case '\t': e = 't'; break;
	default:
		if (c >= 0x20 && c != 0x7f) {
			*p++ = (char)c;
			return p;
		}
		memcpy(p, "\\u00", 4);
		p[4] = hex[c >> 4];
		p[5] = hex[c & 0xf];
		return p + 6;
	}
	*p++ = '\\';
	*p++ = e;
	return p;
}

/* Append s[0..n) as a quoted JSON string, each invalid byte as U+FFFD. */
int
fmt_json_str(struct fmt_buf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	char *p;
	uint32_t cp;
	size_t i, k;

	if (fmt_reserve_field(b, n, FMT_JSON_GROW, 2) == -1)
		return -1;
	p = b->data + b->len;
	*p++ = '"';
	for (i = 0; i < n; i += k) {
		if ((k = fmt_ascii_run(u, i, n, '"') - i) > 0) {
			memcpy(p, s + i, k);
			p += k;
			continue;
		}
		k = fmt_utf8(u + i, n - i, &cp);
		if (k == 0) {
			memcpy(p, "\xef\xbf\xbd", 3);
			p += 3;
			k = 1;
		} else if (k == 1)
			p = fmt_json_ascii(p, u[i]);
		else {
			memcpy(p, s + i, k);
			p += k;
		}
	}
	*p++ = '"';
	b->len = (size_t)(p - b->data);
	return 0;
}

static int
fmt_json(struct fmt_buf *b, const struct fmt_record *r)
{
	/* ts: UTC to the nanosecond, quoted. */
	if (fmt_lit(b, "{\"ts\":\"") == -1 ||
	    fmt_time(b, r->ts_ns, 0, 9, "Z\",\"pid\":") == -1 || fmt_int(b, r->pid) == -1 ||
	    fmt_lit(b, ",\"tid\":") == -1 || fmt_int(b, r->tid) == -1 ||
	    fmt_lit(b, ",\"proc\":") == -1 ||
	    fmt_json_str(b, r->proc, fmt_len(r->proc, r->proc_len)) == -1 ||
	    fmt_lit(b, ",\"source\":\"") == -1 || fmt_word(b, fmt_source_name(r->source)) == -1 ||
	    fmt_lit(b, "\",\"facility\":\"") == -1 ||
	    fmt_word(b, pri_facility_name(r->facility)) == -1 ||
	    fmt_lit(b, "\",\"severity\":\"") == -1 ||
	    fmt_word(b, pri_severity_name(r->severity)) == -1 || fmt_lit(b, "\",\"ident\":") == -1)
		return -1;
	if (r->ident == NULL ? fmt_lit(b, "null") == -1 :
	    fmt_json_str(b, r->ident, fmt_len(r->ident, r->ident_len)) == -1)
		return -1;
	if (fmt_lit(b, ",\"msg\":") == -1 ||
	    fmt_json_str(b, r->msg, r->msg_len) == -1 ||
	    (r->continued && fmt_lit(b, ",\"continued\":true") == -1) ||
	    fmt_lit(b, ",\"thread\":") == -1)
		return -1;
	if (r->thread == NULL ? fmt_lit(b, "null") == -1 :
	    fmt_json_str(b, r->thread, fmt_len(r->thread, r->thread_len)) == -1)
		return -1;
	if (r->has_cred && (fmt_lit(b, ",\"uid\":") == -1 || fmt_int(b, (long)r->uid) == -1 ||
	    fmt_lit(b, ",\"gid\":") == -1 || fmt_int(b, (long)r->gid) == -1))
		return -1;
	return fmt_lit(b, "}\n");
}

/* Append one formatted line; on failure the buffer keeps its old length. */
int
fmt_record(struct fmt_buf *b, enum fmt_kind kind, const struct fmt_record *r)
{
	size_t len = b->len;
	int rc;

	if (kind == FMT_TEXT)
		rc = fmt_text(b, r);
	else if (kind == FMT_JSON)
		rc = fmt_json(b, r);
	else {
		errno = EINVAL;
		rc = -1;
	}
	if (rc == -1)
		b->len = len;
	return rc;
}

/* Map a format name to its kind. */
int
fmt_parse(const char *name)
{
	if (strcmp(name, "text") == 0)
		return FMT_TEXT;
	if (strcmp(name, "json") == 0)
		return FMT_JSON;
	return -1;
}

/* Name a record's source. */
const char *
fmt_source_name(unsigned source)
{
	switch (source) {
	case LANE_SRC_STDERR:
		return "stderr";
	case LANE_SRC_SYSLOG:
		return "syslog";
	case LANE_SRC_MPLOG:
		return "mplog";
	case LANE_SRC_STDOUT:
		return "stdout";
	default:
		return "?";
	}
}

/* Drop the first n bytes of the buffer. */
void
fmt_buf_consume(struct fmt_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}

/* Free the buffer and leave it empty. */
void
fmt_buf_free(struct fmt_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}
