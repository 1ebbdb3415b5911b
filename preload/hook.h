/*
 * hook.h - attributes shared by the interposed libc functions.
 *
 * The hooks are the only symbols the shim exports (see exports.map); each
 * returns what the real function returns, with errno as it left it, and
 * passes straight through whenever mplog is not capturing.
 */
#ifndef MPLOG_HOOK_H
#define MPLOG_HOOK_H

#define HOOK_EXPORT __attribute__((visibility("default")))

/*
 * A variadic entry point returning int, made of its va_list form: `call`
 * sees the arguments after `last` as ap (fprintf is
 * HOOK_VA(fprintf, (FILE *fp, const char *fmt, ...), fmt, body(fp, fmt, ap))).
 */
#define HOOK_VA(name, params, last, call)				\
HOOK_EXPORT int								\
name params								\
{									\
	va_list ap;							\
	int r;								\
									\
	va_start(ap, last);						\
	r = call;							\
	va_end(ap);							\
	return r;							\
}

#endif
