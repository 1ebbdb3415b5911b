/*
 * decode.h - the C-like escapes test hosts take in their arguments:
 * \n \r \t, \xHH (any byte, NUL included), and a backslash before any
 * other character stands for that character.
 */
#ifndef MPLOG_TEST_DECODE_H
#define MPLOG_TEST_DECODE_H

#include <stdlib.h>
#include <string.h>

/* Decode s into a new buffer (exit 98 without memory); *len gets its
 * length. */
static inline char *
decode_escapes(const char *s, size_t *len)
{
	char *out = malloc(strlen(s) + 1), *p = out;

	if (out == NULL)
		exit(98);
	while (*s != '\0') {
		if (*s != '\\' || s[1] == '\0') {
			*p++ = *s++;
			continue;
		}
		s++;
		switch (*s) {
		case 'n': *p++ = '\n'; s++; break;
		case 'r': *p++ = '\r'; s++; break;
		case 't': *p++ = '\t'; s++; break;
		case 'x': {
			char hex[3] = { s[1], s[1] ? s[2] : '\0', '\0' };

			*p++ = (char)strtoul(hex, NULL, 16);
			s += s[1] == '\0' ? 1 : s[2] == '\0' ? 2 : 3;
			break;
		}
		default: *p++ = *s++; break;
		}
	}
	*p = '\0';
	*len = (size_t)(p - out);
	return out;
}

#endif
