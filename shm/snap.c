/* snap.c - printf calls taken apart at the call and formatted later. */
#include "snap.h"

#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>

/* What va_arg reads for an argument, and what a snapshot stores. */
enum snap_type {
	SNAP_NONE = 0,
	SNAP_INT,               /* int: hh, h, none, c, and '*' */
	SNAP_LONG,              /* long, and the 64-bit lengths below */
	SNAP_LLONG,
	SNAP_INTMAX,
	SNAP_SIZE,
	SNAP_PTRDIFF,
	SNAP_DOUBLE,
	SNAP_LDOUBLE,
	SNAP_PTR,
	SNAP_STR,
	SNAP_STRNULL,           /* stored for a NULL string */
};

/* Flags of a conversion, as bits. */
enum {
	SNAP_F_SIGN = 1,                /* '+' or ' ': a sign even when positive */
	SNAP_F_HASH = 2,                /* '#' */
};

/* One conversion of a format. */
struct snap_spec {
	const char *start, *end;        /* from '%' to past the conversion */
	char flags[8];                  /* of "-+ #0", NUL-terminated */
	unsigned fbits;                 /* the same, as SNAP_F_* bits */
	char length[3];                 /* "", "h", "hh", "l", "ll", "L", ... */
	char conv;
	int width, prec;                /* literal values, -1 when none */
	int width_arg, prec_arg;        /* 1-based argument of a '*', 0 none */
	int arg;                        /* 1-based value argument, 0 none */
	enum snap_type type;
};

/* A format taken apart: its conversions and the type of each argument. */
struct snap_parse {
	struct snap_spec specs[SNAP_ARGS_MAX];
	int nspecs;
	enum snap_type types[SNAP_ARGS_MAX + 1];  /* by 1-based argument */
	int nargs;
	int floats;                     /* a floating conversion is used */
	int positional;                 /* arguments are taken by position */
	int errtext;                    /* %m is used */
	int percents;                   /* "%%" in the format */
};

/* An argument's value, read or stored. */
union snap_val {
	long long i;
	double d;
	long double ld;
	const void *p;
	struct {
		const char *s;
		uint32_t len;
	} str;
};

/* A place in a format that never reads past its end. */
struct snap_cur {
	const char *p, *end;
};

/* The character at c, or NUL at the end. */
static char
snap_ch(const struct snap_cur *c)
{
	return c->p < c->end ? *c->p : '\0';
}

/* Read a decimal number at c (at most 9 digits): -1 when none, -2 when
 * too long. */
static int
snap_number(struct snap_cur *c)
{
	int v = 0, n = 0;

	for (char ch; (ch = snap_ch(c)) >= '0' && ch <= '9'; c->p++) {
		if (++n > 9)
			return -2;
		v = v * 10 + (ch - '0');
	}
	return n == 0 ? -1 : v;
}

/* "N$" at c: N (and c past it), else 0 with c unchanged; -1 when
 * malformed or out of range. */
static int
snap_position(struct snap_cur *c)
{
	struct snap_cur q = *c;
	int n = snap_number(&q);

	if (n == -2)
		return -1;
	if (n < 0 || snap_ch(&q) != '$')
		return 0;
	c->p = q.p + 1;
	return n >= 1 && n <= SNAP_ARGS_MAX ? n : -1;
}

/* The type a value conversion reads, or SNAP_NONE when not taken. */
static enum snap_type
snap_conv_type(char conv, const char *len)
{
	switch (conv) {
	case 'd': case 'i': case 'o': case 'u': case 'x': case 'X':
		if (len[0] == '\0' || strcmp(len, "h") == 0 || strcmp(len, "hh") == 0)
			return SNAP_INT;
		if (strcmp(len, "l") == 0)
			return SNAP_LONG;
		if (strcmp(len, "ll") == 0 || strcmp(len, "q") == 0)
			return SNAP_LLONG;
		if (strcmp(len, "j") == 0)
			return SNAP_INTMAX;
		if (strcmp(len, "z") == 0 || strcmp(len, "Z") == 0)
			return SNAP_SIZE;
		return strcmp(len, "t") == 0 ? SNAP_PTRDIFF : SNAP_NONE;
	case 'e': case 'E': case 'f': case 'F': case 'g': case 'G': case 'a': case 'A':
		if (len[0] == '\0' || strcmp(len, "l") == 0)
			return SNAP_DOUBLE;
		return strcmp(len, "L") == 0 ? SNAP_LDOUBLE : SNAP_NONE;
	case 'c':
		return len[0] == '\0' ? SNAP_INT : SNAP_NONE;
	case 's':
		return len[0] == '\0' ? SNAP_STR : SNAP_NONE;
	case 'p':
		return len[0] == '\0' ? SNAP_PTR : SNAP_NONE;
	default:
		return SNAP_NONE;
	}
}

/* Give argument n (0: the next one, counted in *seq) type t: its number,
 * or -1 when out of range or already of another type. */
static int
snap_arg(struct snap_parse *ps, int n, int *seq, enum snap_type t)
{
	if (n == 0)
		n = ++*seq;
	if (n > SNAP_ARGS_MAX)
		return -1;
	if (n <= ps->nargs) {
		if (ps->types[n] != SNAP_NONE && ps->types[n] != t)
			return -1;
	} else {
		/* types[] is set only up to nargs: those past it are new. */
		for (int i = ps->nargs + 1; i < n; i++)
			ps->types[i] = SNAP_NONE;
		ps->nargs = n;
	}
	ps->types[n] = t;
	return n;
}

/* Width or precision at c: a literal in *lit (-1 none), or a '*'
 * argument in *arg (0 none). -1 when malformed. */
static int
snap_star(struct snap_parse *ps, struct snap_cur *c, int *seq, int positional, int *lit,
    int *arg)
{
	int n;

	*lit = -1;
	*arg = 0;
	if (snap_ch(c) != '*') {
		n = snap_number(c);
		*lit = n < 0 ? -1 : n;
		return n == -2 ? -1 : 0;
	}
	c->p++;
	n = snap_position(c);
	if (n == -1 || (n > 0) != positional)
		return -1;
	*arg = snap_arg(ps, n, seq, SNAP_INT);
	return *arg == -1 ? -1 : 0;
}

/* Whether ch is a flag ("-+ #0"), or with length, a length modifier
 * ("hlLqjzZt"). A switch: this runs for every character of every
 * conversion. */
static inline int
snap_is(char ch, int length)
{
	switch (ch) {
	case '-': case '+': case ' ': case '#': case '0':
		return !length;
	case 'h': case 'l': case 'L': case 'q': case 'j': case 'z': case 'Z': case 't':
		return length;
	default:
		return 0;
	}
}

/* Flags (or with length, the length modifier) at c: up to max of them
 * into out, NUL-terminated; how many. */
static size_t
snap_chars(struct snap_cur *c, int length, char *out, size_t max)
{
	size_t k = 0;
	char ch;

	while ((ch = snap_ch(c)) != '\0' && snap_is(ch, length) && k < max) {
		out[k++] = ch;
		c->p++;
	}
	out[k] = '\0';
	return k;
}

/*
 * The conversion at c ('%' passed) when it is a bare one, as most are:
 * a conversion letter, maybe after l or z, with no flag, width or
 * precision ("%s", "%d", "%lu", "%zu"). Parsed into sp: 1; 0 when it is
 * not bare (snap_parse_spec then parses it); -1 when it is refused.
 */
static int
snap_parse_bare(struct snap_parse *ps, struct snap_spec *sp, struct snap_cur *c, int *seq,
    int *mode)
{
	const char *q = c->p;
	char len = '\0';

	if (q < c->end && (*q == 'l' || *q == 'z'))
		len = *q++;
	if (q >= c->end)
		return 0;
	switch (*q) {
	case 'd': case 'i': case 'u': case 'x': case 'X': case 'o':
		break;
	case 's': case 'c': case 'p':
		if (len == '\0')
			break;
		return 0;
	default:
		return 0;
	}
	if (*mode == 2)
		return -1;      /* plain among positional ones */
	*mode = 1;
	sp->length[0] = len;
	sp->conv = *q;
	sp->type = snap_conv_type(*q, sp->length);
	c->p = q + 1;
	return (sp->arg = snap_arg(ps, 0, seq, sp->type)) == -1 ? -1 : 1;
}

/* Parse the conversion at c ('%' passed) into sp. 0, or -1 when it is
 * not one this takes. *mode: 0 not known yet, 1 plain, 2 positional;
 * every conversion that uses an argument must agree. */
static int
snap_parse_spec(struct snap_parse *ps, struct snap_spec *sp, struct snap_cur *c, int *seq,
    int *mode)
{
	int pos = snap_position(c), positional = pos > 0, uses;
	size_t nlen;
	char conv;

	if (pos == -1)
		return -1;
	snap_chars(c, 0, sp->flags, sizeof(sp->flags) - 1);
	for (const char *f = sp->flags; *f != '\0'; f++)
		sp->fbits |= *f == '+' || *f == ' ' ? SNAP_F_SIGN : *f == '#' ? SNAP_F_HASH : 0;
	if (snap_is(snap_ch(c), 0) || snap_ch(c) == '\'' || snap_ch(c) == 'I')
		return -1;      /* too many flags, or locale digits */
	if (snap_star(ps, c, seq, positional, &sp->width, &sp->width_arg) == -1)
		return -1;
	if (snap_ch(c) == '.') {
		c->p++;
		if (snap_star(ps, c, seq, positional, &sp->prec, &sp->prec_arg) == -1)
			return -1;
		if (sp->prec == -1 && sp->prec_arg == 0)
			sp->prec = 0;
	}
	nlen = snap_chars(c, 1, sp->length, sizeof(sp->length) - 1);
	/* conv and nlen stay in locals: reading back the bytes just stored
	 * would stall on store forwarding. */
	if ((sp->conv = conv = snap_ch(c)) == '\0')
		return -1;
	c->p++;
	uses = sp->width_arg != 0 || sp->prec_arg != 0;
	/* glibc reads %qd by position as an int, and %#m is errno's name. */
	if ((positional && nlen > 0 && strchr(sp->length, 'q') != NULL) ||
	    (conv == 'm' && (sp->fbits & SNAP_F_HASH)))
		return -1;
	if (conv == 'm' && nlen == 0 && !positional) {
		ps->errtext = 1;
	} else {
		sp->type = snap_conv_type(conv, sp->length);
		if (sp->type == SNAP_NONE || (sp->arg = snap_arg(ps, pos, seq, sp->type)) == -1)
			return -1;
		ps->floats |= sp->type == SNAP_DOUBLE || sp->type == SNAP_LDOUBLE;
		uses = 1;
	}
	if (!uses)
		return 0;
	if (*mode == 0)
		*mode = positional ? 2 : 1;
	return (*mode == 2) == positional ? 0 : -1;
}

/* Take fmt (len bytes) apart. 0, or -1 when it is not one this takes. */
static int
snap_parse(struct snap_parse *ps, const char *fmt, size_t len)
{
	struct snap_cur c = { fmt, fmt + len };
	int seq = 0, mode = 0, bare;

	ps->nspecs = ps->nargs = ps->floats = ps->errtext = ps->percents = 0;
	while ((c.p = memchr(c.p, '%', (size_t)(c.end - c.p))) != NULL) {
		struct snap_spec *sp;

		if (c.end - c.p >= 2 && c.p[1] == '%') {
			ps->percents++;
			c.p += 2;
			continue;
		}
		if (ps->nspecs == SNAP_ARGS_MAX)
			return -1;
		sp = &ps->specs[ps->nspecs++];
		*sp = (struct snap_spec){ .start = c.p++, .width = -1, .prec = -1 };
		if ((bare = snap_parse_bare(ps, sp, &c, &seq, &mode)) == -1 ||
		    (bare == 0 && snap_parse_spec(ps, sp, &c, &seq, &mode) == -1))
			return -1;
		sp->end = c.p;
	}
	for (int i = 1; i <= ps->nargs; i++)
		if (ps->types[i] == SNAP_NONE)
			return -1;      /* a position left unused */
	ps->positional = mode == 2;
	return 0;
}

/* ---- taking ------------------------------------------------------------ */

/* Read argument values from ap by their types, in order. */
static void
snap_read(const struct snap_parse *ps, union snap_val *v, va_list ap)
{
	for (int i = 1; i <= ps->nargs; i++) {
		switch (ps->types[i]) {
		case SNAP_INT: v[i].i = va_arg(ap, int); break;
		case SNAP_LONG: v[i].i = va_arg(ap, long); break;
		case SNAP_LLONG: v[i].i = va_arg(ap, long long); break;
		case SNAP_INTMAX: v[i].i = (long long)va_arg(ap, intmax_t); break;
		case SNAP_SIZE: v[i].i = (long long)va_arg(ap, size_t); break;
		case SNAP_PTRDIFF: v[i].i = (long long)va_arg(ap, ptrdiff_t); break;
		case SNAP_DOUBLE: v[i].d = va_arg(ap, double); break;
		case SNAP_LDOUBLE: v[i].ld = va_arg(ap, long double); break;
		default: v[i].p = va_arg(ap, const void *); break;
		}
	}
}

/* How many bytes of string argument a the conversions read: its length,
 * or less when every use has a precision below it. */
static uint32_t
snap_str_len(const struct snap_parse *ps, const union snap_val *v, int a)
{
	size_t most = 0;

	for (int i = 0; i < ps->nspecs; i++) {
		const struct snap_spec *sp = &ps->specs[i];
		int prec = sp->prec_arg != 0 ? (int)v[sp->prec_arg].i : sp->prec;

		if (sp->arg != a)
			continue;
		if (prec < 0)
			return (uint32_t)strnlen(v[a].p, UINT32_MAX);
		if ((size_t)prec > most)
			most = (size_t)prec;
	}
	return (uint32_t)strnlen(v[a].p, most);
}

/* Append n bytes at *p if they fit before end. */
static int
snap_put(char **p, const char *end, const void *src, size_t n)
{
	if ((size_t)(end - *p) < n)
		return -1;
	if (n == 0)
		return 0;       /* src may be NULL (no %m text) */
	memcpy(*p, src, n);
	*p += n;
	return 0;
}

/* Store argument i's type and value. */
static int
snap_store(char **p, const char *end, enum snap_type t, const union snap_val *v)
{
	uint8_t tag = (uint8_t)t;

	if (t == SNAP_STR && v->p == NULL)
		tag = SNAP_STRNULL;
	if (snap_put(p, end, &tag, 1) == -1)
		return -1;
	switch (tag) {
	case SNAP_STRNULL:
		return 0;
	case SNAP_STR:
		return snap_put(p, end, &v->str.len, 4) == -1 ? -1 :
		    snap_put(p, end, v->str.s, v->str.len);
	case SNAP_DOUBLE:
		return snap_put(p, end, &v->d, sizeof(v->d));
	case SNAP_LDOUBLE:
		return snap_put(p, end, &v->ld, sizeof(v->ld));
	case SNAP_PTR:
		return snap_put(p, end, &v->p, sizeof(v->p));
	default:
		return snap_put(p, end, &v->i, sizeof(v->i));
	}
}

/* ---- the length of the text ------------------------------------------- */

/* Digits of u in base b (8, 10 or 16), from its bit length: no loop. */
static int
snap_digits(unsigned long long u, unsigned b)
{
	static const unsigned long long pow10[20] = {
		1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
		100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL,
		1000000000000ULL, 10000000000000ULL, 100000000000000ULL,
		1000000000000000ULL, 10000000000000000ULL, 100000000000000000ULL,
		1000000000000000000ULL, 10000000000000000000ULL,
	};
	int bits = 64 - __builtin_clzll(u | 1), t;

	if (b == 16)
		return (bits + 3) / 4;
	if (b == 8)
		return (bits + 2) / 3;
	/* 1233/4096 is just above log10(2): t is the digit count, or one
	 * more when u is below 10^(t-1). */
	t = (bits * 1233 >> 12) + 1;
	return t > 1 && u < pow10[t - 1] ? t - 1 : t;
}

/* The base of integer conversion conv. */
static unsigned
snap_base(char conv)
{
	return conv == 'o' ? 8 : conv == 'x' || conv == 'X' ? 16 : 10;
}

/* An integer argument as the conversion reads it: its magnitude, and
 * whether it is negative. */
static unsigned long long
snap_magnitude(const struct snap_spec *sp, long long i, int *neg)
{
	int is_signed = sp->conv == 'd' || sp->conv == 'i';

	*neg = 0;
	if (sp->type == SNAP_INT && strcmp(sp->length, "hh") == 0)
		i = is_signed ? (long long)(signed char)i : (long long)(unsigned char)i;
	else if (sp->type == SNAP_INT && strcmp(sp->length, "h") == 0)
		i = is_signed ? (long long)(short)i : (long long)(unsigned short)i;
	else if (sp->type == SNAP_INT && !is_signed)
		i = (long long)(unsigned int)i;
	if (is_signed && i < 0) {
		*neg = 1;
		return 0ULL - (unsigned long long)i;
	}
	return (unsigned long long)i;
}

/* Length of an integer conversion (d i o u x X) before its width. */
static long long
snap_int_len(const struct snap_spec *sp, long long i, int prec)
{
	unsigned base = snap_base(sp->conv);
	int neg, hash = (sp->fbits & SNAP_F_HASH) != 0;
	unsigned long long u = snap_magnitude(sp, i, &neg);
	long long raw = prec == 0 && u == 0 ? 0 : snap_digits(u, base), n = raw;

	if (prec > n)
		n = prec;
	if (sp->conv == 'd' || sp->conv == 'i')
		return n + (neg || (sp->fbits & SNAP_F_SIGN));
	if (base == 10)
		return n;       /* %u has no sign */
	if (base == 8 && hash && n == raw && (u != 0 || raw == 0))
		n++;            /* '#': the octal text starts with a 0 */
	return base == 16 && hash && u != 0 ? n + 2 : n;
}

/* Length of conversion sp's text, width included; -1 when only
 * formatting tells (floating conversions). */
static long long
snap_spec_len(const struct snap_spec *sp, const union snap_val *v, size_t errlen)
{
	long long width = sp->width_arg != 0 ? v[sp->width_arg].i : sp->width, n;
	int prec = sp->prec_arg != 0 ? (int)v[sp->prec_arg].i : sp->prec;

	if (prec < 0)
		prec = -1;      /* a negative '*' precision is none */
	if (sp->width_arg == 0 && width < 0)
		width = 0;      /* none */
	else if (width < 0)
		width = -width; /* a negative '*' width is '-' */
	switch (sp->conv) {
	case 'm':
		n = prec >= 0 && (size_t)prec < errlen ? prec : (long long)errlen;
		break;
	case 's':
		if (v[sp->arg].p == NULL)
			n = prec == -1 || prec >= 6 ? 6 : 0;    /* "(null)" */
		else
			n = prec >= 0 && (uint32_t)prec < v[sp->arg].str.len ? prec :
			    (long long)v[sp->arg].str.len;
		break;
	case 'c':
		n = 1;
		break;
	case 'p':
		if (v[sp->arg].p == NULL) {
			n = 5;  /* "(nil)" */
			break;
		}
		n = snap_digits((uintptr_t)v[sp->arg].p, 16);
		n = 2 + (prec > n ? prec : n) + ((sp->fbits & SNAP_F_SIGN) != 0);
		break;
	case 'd': case 'i': case 'o': case 'u': case 'x': case 'X':
		n = snap_int_len(sp, v[sp->arg].i, prec);
		break;
	default:
		return -1;
	}
	return n > width ? n : width;
}

/* Length of the whole text, or -1 when only formatting tells or it is
 * past INT_MAX (vsnprintf fails). */
static int
snap_text_len(const struct snap_parse *ps, const union snap_val *v, size_t fmt_len,
    size_t errlen)
{
	long long n = (long long)fmt_len - ps->percents;

	for (int i = 0; i < ps->nspecs; i++) {
		long long k = snap_spec_len(&ps->specs[i], v, errlen);

		if (k < 0)
			return -1;
		n += k - (ps->specs[i].end - ps->specs[i].start);
	}
	return n > INT_MAX ? -1 : (int)n;
}

int
snap_take(char *buf, size_t cap, const char *fmt, int fmt_ptr, int err, va_list ap,
    int *text_len)
{
	struct snap_parse ps;
	union snap_val v[SNAP_ARGS_MAX + 1];
	struct snap_hdr h = { 0 };
	char errbuf[256], *p = buf, *end = buf + cap;
	const char *errtext = NULL;
	size_t len = strlen(fmt);

	if (len >= SNAP_FMT_PTR || snap_parse(&ps, fmt, len) == -1)
		return -1;
	if (ps.floats && strcmp(localeconv()->decimal_point, ".") != 0)
		return -1;
	snap_read(&ps, v, ap);
	for (int i = 1; i <= ps.nargs; i++) {
		const char *str = v[i].p;

		if (ps.types[i] == SNAP_STR && str != NULL) {
			uint32_t n = snap_str_len(&ps, v, i);

			v[i].str.s = str;
			v[i].str.len = n;
		}
	}
	if (ps.errtext)
		errtext = strerror_r(err, errbuf, sizeof(errbuf));
	h.fmt_len = fmt_ptr ? SNAP_FMT_PTR : (uint16_t)len;
	h.err_len = errtext != NULL ? (uint16_t)strnlen(errtext, 1024) : 0;
	h.nargs = (uint16_t)ps.nargs;
	if (text_len != NULL && (*text_len = snap_text_len(&ps, v, len, h.err_len)) == -1)
		return -1;
	if (snap_put(&p, end, &h, sizeof(h)) == -1 ||
	    (fmt_ptr ? snap_put(&p, end, &fmt, sizeof(fmt)) : snap_put(&p, end, fmt, len)) == -1 ||
	    snap_put(&p, end, errtext, h.err_len) == -1)
		return -1;
	for (int i = 1; i <= ps.nargs; i++)
		if (snap_store(&p, end, ps.types[i], &v[i]) == -1)
			return -1;
	return (int)(p - buf);
}

/* ---- resolving ---------------------------------------------------------- */

/* The header of snap, and the size of what follows the format. */
static int
snap_header(const char *snap, size_t len, struct snap_hdr *h, size_t *fmt_bytes)
{
	if (len < sizeof(*h))
		return -1;
	memcpy(h, snap, sizeof(*h));
	*fmt_bytes = h->fmt_len == SNAP_FMT_PTR ? sizeof(const char *) : h->fmt_len;
	return len - sizeof(*h) < *fmt_bytes ? -1 : 0;
}

int
snap_resolved_size(const char *snap, size_t len)
{
	struct snap_hdr h;
	const char *fmt;
	size_t fb, n;

	if (snap_header(snap, len, &h, &fb) == -1)
		return -1;
	if (h.fmt_len != SNAP_FMT_PTR)
		return (int)len;
	memcpy(&fmt, snap + sizeof(h), sizeof(fmt));
	n = strnlen(fmt, SNAP_FMT_PTR);
	return n >= SNAP_FMT_PTR ? -1 : (int)(len - fb + n);
}

int
snap_resolve(const char *snap, size_t len, char *out, size_t cap)
{
	struct snap_hdr h;
	const char *fmt;
	size_t fb, n;
	int size = snap_resolved_size(snap, len);

	if (size == -1 || (size_t)size > cap || snap_header(snap, len, &h, &fb) == -1)
		return -1;
	if (h.fmt_len != SNAP_FMT_PTR) {
		memcpy(out, snap, len);
		return (int)len;
	}
	memcpy(&fmt, snap + sizeof(h), sizeof(fmt));
	n = strnlen(fmt, SNAP_FMT_PTR);
	h.fmt_len = (uint16_t)n;
	memcpy(out, &h, sizeof(h));
	memcpy(out + sizeof(h), fmt, n);
	memcpy(out + sizeof(h) + n, snap + sizeof(h) + fb, len - sizeof(h) - fb);
	return size;
}

/* ---- formatting --------------------------------------------------------- */

/* Read the stored arguments at *p (up to end) into v, checking each
 * against the type the format gives it. -1 when they do not agree. */
static int
snap_load(const struct snap_parse *ps, const char *p, const char *end, union snap_val *v)
{
	for (int i = 1; i <= ps->nargs; i++) {
		enum snap_type want = ps->types[i];
		size_t n;
		uint8_t tag;

		if (p >= end)
			return -1;
		tag = (uint8_t)*p++;
		if (tag != want && !(want == SNAP_STR && tag == SNAP_STRNULL))
			return -1;
		if (tag == SNAP_STRNULL) {
			v[i].p = NULL;
			continue;
		}
		if (tag == SNAP_STR) {
			if (end - p < 4)
				return -1;
			memcpy(&v[i].str.len, p, 4);
			p += 4;
			if ((size_t)(end - p) < v[i].str.len)
				return -1;
			v[i].str.s = p;
			p += v[i].str.len;
			continue;
		}
		n = tag == SNAP_DOUBLE ? sizeof(double) : tag == SNAP_LDOUBLE ?
		    sizeof(long double) : tag == SNAP_PTR ? sizeof(void *) : sizeof(long long);
		if ((size_t)(end - p) < n)
			return -1;
		memcpy(tag == SNAP_DOUBLE ? (void *)&v[i].d : tag == SNAP_LDOUBLE ?
		    (void *)&v[i].ld : tag == SNAP_PTR ? (void *)&v[i].p : (void *)&v[i].i, p, n);
		p += n;
	}
	return p == end ? 0 : -1;
}

/* The output being made: text cut at cap - 1 bytes. */
struct snap_out {
	char *buf;
	size_t cap, len;
};

static void
snap_out_put(struct snap_out *o, const char *s, size_t n)
{
	size_t room = o->cap - 1 - o->len;

	memcpy(o->buf + o->len, s, n < room ? n : room);
	o->len += n < room ? n : room;
}

/* Literal text from p to end, with each %% as one % (none when the
 * format has no %%: then no search). */
static void
snap_out_literal(struct snap_out *o, const char *p, const char *end, int percents)
{
	const char *q;

	while (percents > 0 && (q = memchr(p, '%', (size_t)(end - p))) != NULL) {
		snap_out_put(o, p, (size_t)(q - p) + 1);
		p = q + 2;
	}
	snap_out_put(o, p, (size_t)(end - p));
}

/* A conversion with no flag, width or precision whose text is made here
 * (strings, %m, characters, integers), as the C library would: 1, or 0
 * when it is not one of those. No snprintf: the pipeline thread formats
 * every stderr snapshot, mostly of such conversions. */
static int
snap_out_plain(struct snap_out *o, const struct snap_spec *sp, const union snap_val *v,
    const char *errtext, size_t err_len)
{
	static const char lower[] = "0123456789abcdef", upper[] = "0123456789ABCDEF";
	char digits[24], *d = digits + sizeof(digits);
	unsigned long long u;
	unsigned base;
	int neg;

	if (sp->flags[0] != '\0' || sp->width != -1 || sp->width_arg != 0 || sp->prec != -1 ||
	    sp->prec_arg != 0)
		return 0;
	switch (sp->conv) {
	case 'm':
		snap_out_put(o, errtext, err_len);
		return 1;
	case 's':
		if (v[sp->arg].str.s == NULL)
			snap_out_put(o, "(null)", 6);
		else
			snap_out_put(o, v[sp->arg].str.s, v[sp->arg].str.len);
		return 1;
	case 'c':
		*--d = (char)(unsigned char)v[sp->arg].i;
		break;
	case 'd': case 'i': case 'u': case 'o': case 'x': case 'X':
		base = snap_base(sp->conv);
		u = snap_magnitude(sp, v[sp->arg].i, &neg);
		if (base == 10) {
			do
				*--d = (char)('0' + u % 10);
			while ((u /= 10) != 0);
		} else {
			do
				*--d = (sp->conv == 'X' ? upper : lower)[u & (base - 1)];
			while ((u >>= (base == 16 ? 4 : 3)) != 0);
		}
		if (neg)
			*--d = '-';
		break;
	default:
		return 0;
	}
	snap_out_put(o, d, (size_t)(digits + sizeof(digits) - d));
	return 1;
}

/* Bounds on a conversion's width and precision, far enough past any
 * text snap_format makes (a record's 64 KiB) that the part kept is the
 * same: a precision of SNAP_PREC_MAX shows more digits or zeros than are
 * kept, and a width of SNAP_WIDTH_MAX pads past that whole text. */
#define SNAP_PREC_MAX  (2 * 65536)
#define SNAP_WIDTH_MAX (4 * 65536)

/* Format one conversion with the C library, '*' standing for its width
 * and precision: "%FLAGS*.*LENGTHCONV" (a width of 0 is none; a negative
 * precision is none), or by position "%1$FLAGS*2$.*3$LENGTHCONV" when the
 * call's format was positional, as glibc formats those by another path
 * (a negative width there keeps the '0' padding). The format is made here
 * from checked parts. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void
snap_out_spec(struct snap_out *o, const struct snap_spec *sp, const union snap_val *v,
    int positional, const char *errtext, size_t err_len)
{
	char f[24], *s;
	int w = sp->width_arg != 0 ? (int)v[sp->width_arg].i : sp->width < 0 ? 0 : sp->width;
	int prec = sp->prec_arg != 0 ? (int)v[sp->prec_arg].i : sp->prec;
	size_t room = o->cap - o->len;
	char conv = sp->conv == 'm' ? 's' : sp->conv;
	int n;

	if (snap_out_plain(o, sp, v, errtext, err_len))
		return;
	snprintf(f, sizeof(f), positional ? "%%1$%s*2$.*3$%s%c" : "%%%s*.*%s%c", sp->flags,
	    sp->length, conv);
	if (prec < 0)
		prec = -1;
	/* A width or precision of 2^31 (a scribbled snapshot's, or a
	 * program's own) would have the C library pad or compute that far
	 * to make a text cut at the buffer: bounded, the text in the
	 * buffer is the same (see SNAP_WIDTH_MAX). */
	if (w > SNAP_WIDTH_MAX || w < -SNAP_WIDTH_MAX)
		w = w < 0 ? -SNAP_WIDTH_MAX : SNAP_WIDTH_MAX;
	if (prec > SNAP_PREC_MAX)
		prec = SNAP_PREC_MAX;
	s = o->buf + o->len;
#define SNAP_CALL(val) (positional ? snprintf(s, room, f, (val), w, prec) : \
	snprintf(s, room, f, w, prec, (val)))
	switch (sp->conv == 'm' ? SNAP_STR : sp->type) {
	case SNAP_INT: n = SNAP_CALL((int)v[sp->arg].i); break;
	case SNAP_LONG: n = SNAP_CALL((long)v[sp->arg].i); break;
	case SNAP_LLONG: n = SNAP_CALL(v[sp->arg].i); break;
	case SNAP_INTMAX: n = SNAP_CALL((intmax_t)v[sp->arg].i); break;
	case SNAP_SIZE: n = SNAP_CALL((size_t)v[sp->arg].i); break;
	case SNAP_PTRDIFF: n = SNAP_CALL((ptrdiff_t)v[sp->arg].i); break;
	case SNAP_DOUBLE: n = SNAP_CALL(v[sp->arg].d); break;
	case SNAP_LDOUBLE: n = SNAP_CALL(v[sp->arg].ld); break;
	case SNAP_PTR: n = SNAP_CALL(v[sp->arg].p); break;
	default: {
		/* A copied string, NUL-terminated by the precision. */
		const char *text = sp->conv == 'm' ? errtext : v[sp->arg].str.s;
		size_t tl = sp->conv == 'm' ? err_len : text != NULL ? v[sp->arg].str.len : 0;

		if (text == NULL) {
			n = SNAP_CALL((char *)NULL);
			break;
		}
		/* The copy is not NUL-terminated: the precision bounds the
		 * read, as the whole copy is what the call would have read. */
		if (prec < 0 || (size_t)prec > tl)
			prec = (int)tl;
		n = SNAP_CALL(text);
		break;
	}
	}
#undef SNAP_CALL
	if (n > 0)
		o->len += (size_t)n < room ? (size_t)n : room - 1;
}
#pragma GCC diagnostic pop

int
snap_format(const char *snap, size_t len, char *out, size_t cap)
{
	struct snap_parse ps;
	union snap_val v[SNAP_ARGS_MAX + 1];
	struct snap_hdr h;
	struct snap_out o = { out, cap, 0 };
	const char *fmt, *errtext, *p;
	size_t fb;

	if (cap == 0 || snap_header(snap, len, &h, &fb) == -1 || h.fmt_len == SNAP_FMT_PTR)
		return -1;
	fmt = snap + sizeof(h);
	errtext = fmt + h.fmt_len;
	if (memchr(fmt, '\0', h.fmt_len) != NULL || len - sizeof(h) - fb < h.err_len ||
	    snap_parse(&ps, fmt, h.fmt_len) == -1 || ps.nargs != h.nargs ||
	    snap_load(&ps, errtext + h.err_len, snap + len, v) == -1)
		return -1;
	p = fmt;
	for (int i = 0; i < ps.nspecs; i++) {
		const struct snap_spec *sp = &ps.specs[i];

		snap_out_literal(&o, p, sp->start, ps.percents);
		snap_out_spec(&o, sp, v, ps.positional, errtext, h.err_len);
		p = sp->end;
	}
	snap_out_literal(&o, p, fmt + h.fmt_len, ps.percents);
	out[o.len] = '\0';
	return (int)o.len;
}
