/* sinkspec.c - parse a sink's command-line argument. */
#include "sinkspec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pri.h"

/* The keys, by their index in sinkspec_keys. */
enum sinkspec_key {
	KEY_FORMAT, KEY_LEVEL, KEY_ROTATE_SIZE, KEY_ROTATE_KEEP, KEY_COLOR,
	KEY_ROTATE_EVERY, KEY_COMPRESS, KEY_SPOOL, KEY_SPOOL_MAX, KEY_CA, KEY_CERT, KEY_KEY,
	KEY_NAME,
};

static const char *const sinkspec_keys[] = {
	"format", "level", "rotate-size", "rotate-keep", "color", "rotate-every", "compress",
	"spool", "spool-max", "ca", "cert", "key", "name",
};

int
sinkspec_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	switch (*end) {
	case 'G': case 'g': shift = 30; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'K': case 'k': shift = 10; end++; break;
	default: break;
	}
	if (*end != '\0' || v > (~0ULL >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

/* The index in sinkspec_keys of the key that "KEY=..." at s starts with,
 * or -1. */
static int
sinkspec_key(const char *s)
{
	for (size_t i = 0; i < sizeof(sinkspec_keys) / sizeof(sinkspec_keys[0]); i++) {
		size_t n = strlen(sinkspec_keys[i]);

		if (strncmp(s, sinkspec_keys[i], n) == 0 && s[n] == '=')
			return (int)i;
	}
	return -1;
}

/* The protocol named v, or -1. */
static int
sinkspec_proto(const char *v)
{
	return strcmp(v, "rfc5424") == 0 ? SINK_RFC5424 : strcmp(v, "rfc3164") == 0 ?
	    SINK_RFC3164 : strcmp(v, "local") == 0 ? SINK_LOCAL : -1;
}

/* The values of rotate-every and compress, by their enum's value. */
static const char *const sinkspec_every[] = { "never", "hourly", "daily", NULL };
static const char *const sinkspec_compress[] = { "none", "gzip", "zstd", NULL };

/* Which of names (NULL-ended) the value v of key of a file sink is, in
 * *out; 0, or -1 with why naming them. */
static int
sinkspec_choice(const struct sink_spec *s, const char *v, const char *key,
    const char *const *names, int *out, char *why, size_t len)
{
	int n;

	for (int i = 0; names[i] != NULL; i++)
		if (s->kind == SINK_FILE && strcmp(v, names[i]) == 0) {
			*out = i;
			return 0;
		}
	n = snprintf(why, len, "%s '%s' is not", key, v);
	for (int i = 0; names[i] != NULL && n >= 0 && (size_t)n < len; i++)
		n += snprintf(why + n, len - (size_t)n, "%s %s", i == 0 ? "" :
		    names[i + 1] == NULL ? " or" : ",", names[i]);
	if (n >= 0 && (size_t)n < len)
		snprintf(why + n, len - (size_t)n, " of a file");
	return -1;
}

/* Set *out to a copy of v, the text of key of a server; 0, or -1 with
 * why. */
static int
sinkspec_text(const struct sink_spec *s, char **out, const char *key, const char *v,
    char *why, size_t len)
{
	if (s->kind != SINK_FORWARD || v[0] == '\0') {
		snprintf(why, len, "%s '%s' is not a file, folder or name of a server", key, v);
		return -1;
	}
	if ((*out = strdup(v)) == NULL) {
		snprintf(why, len, "%s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Set key k of s to value v; 0, or -1 with why. */
static int
sinkspec_set(struct sink_spec *s, int k, const char *v, char *why, size_t len)
{
	int n;

	switch (k) {
	case KEY_FORMAT:
		if (s->kind == SINK_FORWARD && (n = sinkspec_proto(v)) != -1) {
			s->proto = (enum sink_proto)n;
		} else if (s->kind == SINK_FILE && (n = fmt_parse(v)) != -1) {
			s->format = (enum fmt_kind)n;
		} else {
			snprintf(why, len, "unknown format '%s' (%s)", v,
			    s->kind == SINK_FILE ? "text, json" : "rfc5424, rfc3164, local");
			return -1;
		}
		s->set |= SINKSPEC_SET_FORMAT;
		return 0;
	case KEY_LEVEL:
		if ((n = pri_severity_parse(v)) == -1) {
			snprintf(why, len, "unknown level '%s' (emerg alert crit err warning "
			    "notice info debug, or 0-7)", v);
			return -1;
		}
		s->level = n;
		return 0;
	case KEY_ROTATE_SIZE:
		if (s->kind != SINK_FILE || sinkspec_size(v, &s->rotate_size) == -1 ||
		    s->rotate_size == 0) {
			snprintf(why, len, "rotate-size '%s' is not a size above 0 (K, M, G "
			    "suffixes) of a file", v);
			return -1;
		}
		s->set |= SINKSPEC_SET_SIZE;
		return 0;
	case KEY_ROTATE_KEEP: {
		char *end;
		long keep = strtol(v, &end, 10);

		if (s->kind != SINK_FILE || end == v || *end != '\0' || keep < 1 ||
		    keep > SINKSPEC_KEEP_MAX) {
			snprintf(why, len, "rotate-keep '%s' is not a number from 1 to %d of a file",
			    v, SINKSPEC_KEEP_MAX);
			return -1;
		}
		s->rotate_keep = (unsigned)keep;
		s->set |= SINKSPEC_SET_KEEP;
		return 0;
	}
	case KEY_SPOOL:
		return sinkspec_text(s, &s->spool, "spool", v, why, len);
	case KEY_CA:
		return sinkspec_text(s, &s->ca, "ca", v, why, len);
	case KEY_CERT:
		return sinkspec_text(s, &s->cert, "cert", v, why, len);
	case KEY_KEY:
		return sinkspec_text(s, &s->key, "key", v, why, len);
	case KEY_NAME:
		return sinkspec_text(s, &s->name, "name", v, why, len);
	case KEY_SPOOL_MAX:
		if (s->kind != SINK_FORWARD || sinkspec_size(v, &s->spool_max) == -1 ||
		    s->spool_max == 0) {
			snprintf(why, len, "spool-max '%s' is not a size above 0 (K, M, G "
			    "suffixes) of a server", v);
			return -1;
		}
		return 0;
	case KEY_ROTATE_EVERY:
		return sinkspec_choice(s, v, "rotate-every", sinkspec_every, &n, why, len) == -1 ?
		    -1 : (s->rotate_every = (enum rotate_every)n, 0);
	case KEY_COMPRESS:
		return sinkspec_choice(s, v, "compress", sinkspec_compress, &n, why, len) == -1 ?
		    -1 : (s->compress = (enum rotate_compress)n, 0);
	default:
		if (s->kind == SINK_FILE && strcmp(v, "auto") == 0)
			s->color = SINK_COLOR_AUTO;
		else if (s->kind == SINK_FILE && strcmp(v, "never") == 0)
			s->color = SINK_COLOR_NEVER;
		else if (s->kind == SINK_FILE && strcmp(v, "always") == 0)
			s->color = SINK_COLOR_ALWAYS;
		else {
			snprintf(why, len, "color '%s' is not auto, always or never of a file", v);
			return -1;
		}
		return 0;
	}
}

/* 1 when s has the form of a key and its value, "word=...": a lower-case
 * letter, then lower-case letters, digits and '-'. */
static int
sinkspec_looks_like_key(const char *s)
{
	size_t n = 0;

	if (s[0] < 'a' || s[0] > 'z')
		return 0;
	while ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '-')
		n++;
	return s[n] == '=';
}

/* Say in why that the key of "word=..." at s is none we know, and list
 * those we do. */
static void
sinkspec_unknown(const char *s, char *why, size_t len)
{
	int n = snprintf(why, len, "unknown key '%.*s' (keys:", (int)strcspn(s, "="), s);

	for (size_t i = 0; i < sizeof(sinkspec_keys) / sizeof(sinkspec_keys[0]); i++)
		if (n >= 0 && (size_t)n < len)
			n += snprintf(why + n, len - (size_t)n, "%s %s", i > 0 ? "," : "",
			    sinkspec_keys[i]);
	if (n >= 0 && (size_t)n < len)
		snprintf(why + n, len - (size_t)n, "); a path that really ends in such a "
		    "suffix is written with a final comma");
}

static int sinkspec_finish(struct sink_spec *s, enum sink_kind kind, char *why, size_t len);

int
sinkspec_parse(struct sink_spec *s, enum sink_kind kind, const char *arg, char *why,
    size_t len)
{
	unsigned seen = 0;
	char *comma;

	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->level = 7;
	s->rotate_keep = SINKSPEC_KEEP_DEFAULT;
	if ((s->target = strdup(arg)) == NULL) {
		snprintf(why, len, "%s", strerror(errno));
		return -1;
	}
	/* A final comma ends a path that takes no keys: it is dropped, and
	 * whatever comes before it is the path. */
	size_t n = strlen(s->target);

	if (n > 0 && s->target[n - 1] == ',') {
		s->target[n - 1] = '\0';
		return sinkspec_finish(s, kind, why, len);
	}
	/* Keys from the end: the target keeps any comma not followed by one. */
	while ((comma = strrchr(s->target, ',')) != NULL) {
		int k = sinkspec_key(comma + 1);

		if (k == -1 && sinkspec_looks_like_key(comma + 1)) {
			sinkspec_unknown(comma + 1, why, len);
			return -1;
		}
		if (k == -1)
			break;
		if (seen & (1u << k)) {
			snprintf(why, len, "%s given twice", sinkspec_keys[k]);
			return -1;
		}
		seen |= 1u << k;
		if (sinkspec_set(s, k, comma + 1 + strlen(sinkspec_keys[k]) + 1, why, len) == -1)
			return -1;
		*comma = '\0';
	}
	return sinkspec_finish(s, kind, why, len);
}

/* Check the target and set the protocol its URL implies. */
static int
sinkspec_finish(struct sink_spec *s, enum sink_kind kind, char *why, size_t len)
{
	if ((s->cert == NULL) != (s->key == NULL)) {
		snprintf(why, len, "cert and key go together");
		return -1;
	}
	if (s->target[0] == '\0') {
		snprintf(why, len, "no %s before the options", kind == SINK_FILE ? "file" : "URL");
		return -1;
	}
	/* A local socket (/dev/log) takes what syslog(3) sends it; journald's
	 * own socket its native protocol, and nothing else. */
	if (kind == SINK_FORWARD && (strcmp(s->target, "journal") == 0 ||
	    strncmp(s->target, "journal://", 10) == 0)) {
		if (s->set & SINKSPEC_SET_FORMAT) {
			snprintf(why, len, "a journal URL takes no format: it speaks "
			    "journald's native protocol");
			return -1;
		}
		s->proto = SINK_JOURNAL;
	} else if (kind == SINK_FORWARD && !(s->set & SINKSPEC_SET_FORMAT) &&
	    strncmp(s->target, "unix://", 7) == 0) {
		s->proto = SINK_LOCAL;
	}
	return 0;
}

void
sinkspec_free(struct sink_spec *s)
{
	free(s->target);
	free(s->spool);
	free(s->ca);
	free(s->cert);
	free(s->key);
	free(s->name);
	s->target = s->spool = s->ca = s->cert = s->key = s->name = NULL;
}
